/*
 * proto.h - the event schema, the wire format and its strict msgpack codec
 *
 * This header is the authoritative specification of every message Vigil
 * exchanges. proto.c is the only file that calls msgpack_unpack*.
 *
 * 1. Storefront -> collector (tcp://127.0.0.1:7010, ROUTER; clients use
 *    REQ or DEALER). One frame holding either one msgpack map (an event)
 *    or an array of 1..PROTO_MAX_BATCH maps (a batch). At most
 *    PROTO_MAX_MSG_BYTES per frame. Keys are strings; unknown keys,
 *    trailing bytes, wrong types and out-of-range values are rejected.
 *    Common fields:
 *      v        uint, must be 1                           required
 *      type     str, one of the event types below         required
 *      id       str 1..128, the storefront's event id     required
 *      ts       uint, ms since the Unix epoch,            required
 *               2000-01-01 .. 2100-01-01
 *      account  str 1..128 (opaque storefront account id)
 *      session  str 1..128
 *      device   str 1..128 (device id or fingerprint)   -> pseudonym
 *      ip       str, IPv4 or IPv6 text                   -> pseudonym,
 *               plus the /24 (IPv4) or /48 (IPv6) prefix kept in clear
 *      ip_country str, ISO 3166 alpha-2 (e.g. from the CDN's geo header)
 *      ua       str 0..512 user agent                    -> browser family
 *      tz       str 0..64, lang str 0..35, carrier str 0..64
 *    Per type (after the common fields):
 *      device.seen      (common fields only)
 *      account.signup   email (-> pseudonym + domain), phone, name
 *                       (-> pseudonyms), source str 0..32, age uint
 *                       0..150, referrer str 0..256
 *      account.login    ok bool (required), method str 0..32
 *      account.update   field str (required: email, phone, name,
 *                       address, password), value str 0..256 (the new
 *                       value; -> pseudonym; must be absent for password)
 *      order.placed     order str 1..128 (required), amount uint minor
 *                       units 0..10^12 (required), currency str of 3
 *                       upper-case letters (required), items uint
 *                       1..10000, card map {number str 12..19 digits |
 *                       bin str 6..8 digits, last4 str 4 digits,
 *                       fingerprint str 1..128}, billing and shipping
 *                       maps {name, street, city, postal, country
 *                       (alpha-2)}, email
 *      payment.result   order (required), ok bool (required), reason str
 *                       0..32
 *      label            account or order (one required), fraud bool
 *                       (required), source str 0..32
 *    A key named "password" anywhere is refused outright (ERR_DENIED):
 *    Vigil never accepts account passwords.
 *
 * 2. Collector -> storefront. One frame: a reply map, or for a batch an
 *    array of reply maps in the same order:
 *      id str ("" when the id could not be read), ok bool, code str
 *      (err_name(): "ok", "invalid", "malformed", ...), msg str (names
 *      the field and the rule, never the value)
 *    and for an accepted order.placed also:
 *      score uint 0..100, decision str ("allow", "review", "block"),
 *      reasons array of {code str, text str, value float64}
 *    A frame that is not decodable at all gets one reply map with id "".
 *
 * 3. Collector -> scorer (ipc://DATA_DIR/scorer.ipc, scorer binds a
 *    ROUTER, collector connects a DEALER). One frame, msgpack array:
 *      [1, PROTO_MSG_EVENTS, tag uint64, actor str, [event, ...]]
 *    where each event is the *internal* form: a map holding only the
 *    pseudonymized fields of struct event (proto_event_encode). The same
 *    bytes are what the scorer journals.
 *    Scorer -> collector: [1, PROTO_MSG_REPLIES, tag, [reply, ...]] with
 *    one reply map per forwarded event, in order.
 *
 * Invariants:
 *  - no raw direct identifier (email, phone, name, street, postal, card
 *    number, device id, IP address) survives in struct event; raw values
 *    live only in struct event_pii until pseudo_apply() wipes them.
 *  - decoding never allocates per field: strings are copied into fixed
 *    arrays sized by the limits below.
 *
 * See also: DESIGN.md "Events", collector/collector.8, pseudo.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_PROTO_H
#define COMMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

/* ---------------------------------------------------------------- limits */

#define PROTO_VERSION       1
#define PROTO_MAX_MSG_BYTES (64 * 1024) /* one frame from a storefront */
#define PROTO_MAX_IPC_BYTES                                                    \
    (4 * 1024 * 1024)              /* one collector<->scorer frame             \
                                    */
#define PROTO_MAX_BATCH       1000 /* events in one frame */
#define PROTO_MAX_DEPTH       3 /* batch array > event map > card/address map */
#define PROTO_ID_MAX          128 /* id, account, session, order, device */
#define PROTO_SHORT_MAX       32  /* source, method, reason, browser */
#define PROTO_TZ_MAX          64
#define PROTO_LANG_MAX        35
#define PROTO_UA_MAX          512
#define PROTO_TEXT_MAX        256 /* name, street, referrer, update value */
#define PROTO_EMAIL_MAX       254
#define PROTO_DOMAIN_MAX      253
#define PROTO_PHONE_MAX       32
#define PROTO_IP_MAX          45 /* longest IPv6 text */
#define PROTO_PREFIX_MAX      50 /* "ffff:ffff:ffff::/48" or "a.b.c.0/24" */
#define PROTO_CITY_MAX        64
#define PROTO_POSTAL_MAX      16
#define PROTO_MAX_AMOUNT      1000000000000ULL /* minor units */
#define PROTO_MAX_ITEMS       10000
#define PROTO_MIN_TS          946684800000ULL  /* 2000-01-01 */
#define PROTO_MAX_TS          4102444800000ULL /* 2100-01-01 */
#define PROTO_MAX_REASONS     8
#define PROTO_REASON_CODE_MAX 32
#define PROTO_REASON_TEXT_MAX 160
#define PROTO_MSG_MAX         160 /* a reply's msg */

/* ------------------------------------------------------------- messages */

/* Every collector<->scorer message type; a frame starts [version, type]. */
enum proto_msg {
    PROTO_MSG_EVENTS = 1,  /* collector -> scorer: tag, actor, events[] */
    PROTO_MSG_REPLIES = 2, /* scorer -> collector: tag, replies[] */
};

/* --------------------------------------------------------------- events */

enum event_type {
    EVENT_NONE = 0,
    EVENT_DEVICE_SEEN,
    EVENT_ACCOUNT_SIGNUP,
    EVENT_ACCOUNT_LOGIN,
    EVENT_ACCOUNT_UPDATE,
    EVENT_ORDER_PLACED,
    EVENT_PAYMENT_RESULT,
    EVENT_LABEL,
    EVENT_TYPE_COUNT
};

enum update_field {
    UPDATE_NONE = 0,
    UPDATE_EMAIL,
    UPDATE_PHONE,
    UPDATE_NAME,
    UPDATE_ADDRESS,
    UPDATE_PASSWORD,
};

/* A keyed pseudonym: BLAKE2b-128 of a normalized identifier (pseudo.h). */
#define PSEUDO_BYTES 16
struct pseudo {
    uint8_t b[PSEUDO_BYTES];
};

/* Which optional fields of struct event are present (bit set in `has`). */
enum event_has {
    EV_ACCOUNT = 1u << 0,
    EV_SESSION = 1u << 1,
    EV_DEVICE = 1u << 2, /* device pseudonym */
    EV_IP = 1u << 3,     /* ip pseudonym and ip_prefix */
    EV_IP_COUNTRY = 1u << 4,
    EV_EMAIL = 1u << 5, /* email pseudonym and email_domain */
    EV_PHONE = 1u << 6,
    EV_NAME = 1u << 7,
    EV_AGE = 1u << 8,
    EV_CARD_BIN = 1u << 9,  /* card_bin and card_last4 */
    EV_CARD = 1u << 10,     /* card pseudonym (fingerprint or number) */
    EV_BILLING = 1u << 11,  /* billing address pseudonym; country may be set */
    EV_SHIPPING = 1u << 12, /* shipping address pseudonym */
    EV_ITEMS = 1u << 13,
    EV_VALUE = 1u << 14, /* account.update new value pseudonym */
    EV_ORDER = 1u << 15,
    EV_OK = 1u << 16, /* login / payment.result / label: `ok`/`fraud` */
};

/*
 * One event after validation. Only pseudonyms and coarse attributes:
 * this struct is what is journaled, stored and scored. Strings are
 * NUL-terminated and never longer than their array minus one.
 */
struct event {
    enum event_type type;
    uint32_t has;              /* EV_* bits */
    uint64_t ts;               /* event time, ms since epoch */
    char id[PROTO_ID_MAX + 1]; /* storefront event id */
    char account[PROTO_ID_MAX + 1];
    char session[PROTO_ID_MAX + 1];
    char order[PROTO_ID_MAX + 1];
    struct pseudo device;
    struct pseudo ip;
    char ip_prefix[PROTO_PREFIX_MAX +
        1]; /* "203.0.113.0/24", "2001:db8:1::/48" */
    char ip_country[3];
    char browser[PROTO_SHORT_MAX + 1]; /* family derived from ua */
    char tz[PROTO_TZ_MAX + 1];
    char lang[PROTO_LANG_MAX + 1];
    char carrier[PROTO_TZ_MAX + 1];
    /* account.signup, order.placed */
    struct pseudo email;
    char email_domain[PROTO_DOMAIN_MAX + 1];
    struct pseudo phone;
    struct pseudo name;
    char source[PROTO_SHORT_MAX + 1]; /* signup source / label source */
    uint32_t age;
    char referrer[PROTO_TEXT_MAX + 1];
    /* account.login, payment.result, label */
    bool ok;                          /* login ok, payment ok, label fraud */
    char method[PROTO_SHORT_MAX + 1]; /* login method / payment reason */
    /* account.update */
    enum update_field field;
    struct pseudo value;
    /* order.placed */
    uint64_t amount;
    char currency[4];
    uint32_t items;
    char card_bin[9];
    char card_last4[5];
    struct pseudo card;
    struct pseudo billing; /* whole billing address */
    char billing_country[3];
    struct pseudo shipping;
    char shipping_country[3];
};

/*
 * The raw direct identifiers of one storefront event, held only between
 * decoding and pseudo_apply(), which wipes this struct. Never logged,
 * never encoded, never stored.
 */
struct event_address_pii {
    char name[PROTO_TEXT_MAX + 1];
    char street[PROTO_TEXT_MAX + 1];
    char city[PROTO_CITY_MAX + 1];
    char postal[PROTO_POSTAL_MAX + 1];
};

struct event_pii {
    char device[PROTO_ID_MAX + 1];
    char ip[PROTO_IP_MAX + 1];
    char ua[PROTO_UA_MAX + 1];
    char email[PROTO_EMAIL_MAX + 1];
    char phone[PROTO_PHONE_MAX + 1];
    char name[PROTO_TEXT_MAX + 1];
    char value[PROTO_TEXT_MAX + 1]; /* account.update new value */
    char card_number[20];
    char card_fingerprint[PROTO_ID_MAX + 1];
    struct event_address_pii billing;
    struct event_address_pii shipping;
};

/* "device.seen" etc. for a type; static; "unknown" for a bad value. */
const char *proto_event_type_name(enum event_type t);

/* ------------------------------------------------------------- replies */

enum decision {
    DECISION_NONE = 0, /* not an order */
    DECISION_ALLOW,
    DECISION_REVIEW,
    DECISION_BLOCK,
};

/* "allow", "review", "block" or "" (static). */
const char *proto_decision_name(enum decision d);

struct reason {
    char code[PROTO_REASON_CODE_MAX + 1]; /* e.g. "device_many_accounts" */
    char text[PROTO_REASON_TEXT_MAX + 1]; /* one human sentence */
    double value;                         /* the feature's value */
};

/* One reply, storefront-visible. */
struct reply {
    char id[PROTO_ID_MAX + 1];
    int code; /* 0 or ERR_*; ok == (code == 0) */
    char msg[PROTO_MSG_MAX + 1];
    bool has_score; /* order.placed accepted */
    uint8_t score;  /* 0..100 */
    enum decision decision;
    uint8_t nreasons;
    struct reason reasons[PROTO_MAX_REASONS];
};

/* --------------------------------------------- storefront frame decode */

/* One event of a decoded storefront frame. */
struct proto_item {
    int rc;                      /* 0, or the ERR_* that rejects this event */
    char msg[PROTO_MSG_MAX + 1]; /* why, naming the field and the rule */
    struct event ev;             /* valid when rc == 0 (pii not yet applied) */
    struct event_pii pii;        /* raw identifiers; wipe with pseudo_apply */
};

/* A decoded storefront frame. Fields change only through this API. */
struct proto_batch {
    size_t n;                 /* events in the frame */
    bool is_array;            /* the frame was an array: reply with one */
    struct proto_item *items; /* owned, PROTO_MAX_BATCH entries */
    void *priv;               /* owned decoder state (msgpack zone) */
};

/* Prepare an empty batch; allocates its item array once. */
void proto_batch_init(struct proto_batch *b) NONNULL(1);

/* Wipe the raw identifiers left in the items and free everything. */
void proto_batch_release(struct proto_batch *b) NONNULL(1);

/*
 * Decode one storefront frame of `len` bytes into `b`, replacing what it
 * held. Frame-level failures (not msgpack, trailing bytes, neither map
 * nor array, empty or oversized array, more than PROTO_MAX_MSG_BYTES)
 * return ERR_MALFORMED or ERR_TOOBIG with a message in `msg` (size
 * `msglen`) and b->n == 0. Otherwise returns 0 and every item carries
 * its own rc: a batch with one bad event keeps the good ones.
 * Each item's id is filled whenever it could be read, even on error.
 */
int proto_batch_decode(struct proto_batch *b, const void *data, size_t len,
    char *msg, size_t msglen) WARN_UNUSED NONNULL(1, 4);

/* ---------------------------------------------- internal events (IPC) */

/*
 * Append the internal encoding of `ev` (pseudonymized fields only) to
 * `out`. Returns 0 or ERR_TOOBIG.
 */
int proto_event_encode(struct buf *out, const struct event *ev) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Strictly decode one internal event from exactly `len` bytes.
 * Returns 0, ERR_MALFORMED or ERR_INVAL.
 */
int proto_event_decode(
    struct event *ev, const void *data, size_t len) WARN_UNUSED NONNULL(1, 2);

/* ------------------------------------------------------ reply encoding */

/* Append one reply map. Returns 0 or ERR_TOOBIG. */
int proto_reply_encode(struct buf *out, const struct reply *r) WARN_UNUSED
    NONNULL(1, 2);

/* Append a msgpack array header for `n` elements. Returns 0 or ERR_TOOBIG. */
int proto_array_header(struct buf *out, uint32_t n) WARN_UNUSED NONNULL(1);

/* Fill `r` as an error reply for event `id` (may be NULL for ""). */
void proto_reply_error(
    struct reply *r, const char *id, int code, const char *msg) NONNULL(1, 4);

/* ----------------------------------------------- collector <-> scorer */

/*
 * Append the start of a PROTO_MSG_EVENTS frame: [1, 1, tag, actor, [ with
 * room for `nevents`; then append each event with proto_event_encode.
 */
int proto_events_begin(struct buf *out, uint64_t tag, const char *actor,
    uint32_t nevents) WARN_UNUSED NONNULL(1, 3);

/*
 * A decoded PROTO_MSG_EVENTS frame: the events keep pointers into the
 * frame (`raw`/`rawlen` are the exact internal-event bytes, for the
 * journal). Borrowed from the frame; valid while the frame is.
 */
struct proto_events_view {
    uint64_t tag;
    char actor[PROTO_ID_MAX + 1];
    uint32_t n;
    const uint8_t *raw[PROTO_MAX_BATCH];
    size_t rawlen[PROTO_MAX_BATCH];
};

/*
 * Decode the envelope of a PROTO_MSG_EVENTS frame; each event's bytes
 * are located but not decoded (decode each with proto_event_decode).
 * Returns 0 or ERR_MALFORMED.
 */
int proto_events_view(struct proto_events_view *v, const void *data,
    size_t len) WARN_UNUSED NONNULL(1, 2);

/* Append the start of a PROTO_MSG_REPLIES frame with room for `n`. */
int proto_replies_begin(struct buf *out, uint64_t tag, uint32_t n) WARN_UNUSED
    NONNULL(1);

/*
 * Decode a PROTO_MSG_REPLIES frame into `tag` and up to `max` replies.
 * `*n` receives the count. Returns 0 or ERR_MALFORMED.
 */
int proto_replies_decode(const void *data, size_t len, uint64_t *tag,
    struct reply *replies, uint32_t max, uint32_t *n) WARN_UNUSED
    NONNULL(1, 3, 4, 6);

#endif

/*
 * ======================================================================
 * QUERY PROTOCOL (version 1): fraud team -> scorer query endpoint
 * ======================================================================
 *
 * (A section of its own with its own guard, appended after the event
 * protocol; everything above is unchanged.)
 *
 * 4. Client -> scorer (cfg query_endpoint, default tcp://127.0.0.1:7011;
 *    the scorer binds a ROUTER; clients use REQ, or DEALER with or
 *    without the empty delimiter frame). A request is exactly ONE frame
 *    of at most PROTO_QUERY_MAX_BYTES holding one msgpack map; keys in
 *    any order, each at most once:
 *      v          uint, must be 1                           required
 *      op         str, one of the ops below                 required
 *      id         str 1..128, the request id (echoed)        required
 *      purpose    str 1..64 of [a-z0-9._-], the stated       required
 *                 purpose (checked against the role's row of the
 *                 authorization table in scorer/query.c)
 *      storefront str 1..128: whose order/account ids these are
 *                 (default "storefront", the collector's actor name)
 *    Per op (a key of another op is rejected as unknown):
 *      score.get    order   str 1..128                      required
 *      account.get  account str 1..128                      required
 *    Unknown keys, a repeated key, wrong types, out-of-range values, a
 *    non-map, trailing bytes -> ERR_MALFORMED (not a msgpack map) or
 *    ERR_INVAL (a field), with a message naming the field and the rule,
 *    never the value. An unknown op is ERR_INVAL ("op: unknown
 *    operation").
 *
 * 5. Scorer -> client: one frame, one map:
 *      id      str (the request id; "" when it could not be read)
 *      ok      bool
 *      code    str, err_name(): "ok", "invalid", "malformed",
 *              "too_big", "denied" (purpose not allowed for the role),
 *              "not_found", "audit" (the access could not be audited:
 *              refused, no data), "unavailable", "io", ...
 *      msg     str, one line (names the field and rule, never a value)
 *      result  map, only when ok:
 *        score.get:   order str, storefront str, account str (omitted
 *                     when the order named none), ts uint (event time,
 *                     ms), amount uint (minor units), scored bool, and
 *                     when scored: score uint 0..100, decision str;
 *                     reasons array of {code, text, value float64}
 *                     only when the reasons are known (reasons_known
 *                     bool says which).
 *        account.get: account str, storefront str, as_of uint (the
 *                     wall-clock ms the summary is computed at), known
 *                     bool, first_seen_age_ms uint (omitted when not
 *                     known), account_age_ms uint (since signup;
 *                     omitted when no signup), orders_1h, orders_24h,
 *                     failed_payments_1h, failed_payments_24h,
 *                     failed_logins_1h, orders_total uint, amount_mean,
 *                     amount_max uint (minor units), country str
 *                     (alpha-2, omitted when none), fraud bool (the
 *                     account or a linked one was labelled fraud).
 *
 * Invariants:
 *  - proto_query_decode() fills q->id whenever it could be read, so an
 *    error reply can still echo it.
 *  - a reply with ok false never carries `result`.
 */
#ifndef COMMON_PROTO_QUERY_H
#define COMMON_PROTO_QUERY_H

#define PROTO_QUERY_VERSION      1
#define PROTO_QUERY_MAX_BYTES    (64 * 1024) /* one request frame */
#define PROTO_QUERY_REPLY_MAX    (16 * 1024) /* one reply frame */
#define PROTO_OP_MAX             64
#define PROTO_PURPOSE_MAX        64
#define PROTO_DEFAULT_STOREFRONT "storefront"

/* The query operations. */
enum proto_qop {
    PROTO_QOP_NONE = 0,
    PROTO_QOP_SCORE_GET,   /* "score.get": order */
    PROTO_QOP_ACCOUNT_GET, /* "account.get": account */
    PROTO_QOP_COUNT
};

/* "score.get"... for an op; static; "" for PROTO_QOP_NONE or a bad value. */
const char *proto_qop_name(enum proto_qop op);

/* Parse an op name; returns PROTO_QOP_NONE when unknown. */
enum proto_qop proto_qop_parse(const char *name) NONNULL(1);

/* One decoded query request. Strings NUL-terminated; "" when absent. */
struct proto_query {
    enum proto_qop op;
    char id[PROTO_ID_MAX + 1];
    char purpose[PROTO_PURPOSE_MAX + 1];
    char storefront[PROTO_ID_MAX + 1]; /* defaulted on decode */
    char order[PROTO_ID_MAX + 1];      /* score.get */
    char account[PROTO_ID_MAX + 1];    /* account.get */
};

/*
 * Strictly decode one request frame of `len` bytes (section 4) into
 * `*q`. On error `msg` (size `msglen`, may be 0) gets a one-line reason
 * naming the field, and q->id holds the request id if it was read.
 * Returns 0, ERR_TOOBIG (over PROTO_QUERY_MAX_BYTES), ERR_MALFORMED (not
 * one msgpack map, trailing bytes) or ERR_INVAL (a field: missing,
 * unknown, repeated, wrong type or out of range; unknown op).
 */
int proto_query_decode(struct proto_query *q, const void *data, size_t len,
    char *msg, size_t msglen) WARN_UNUSED NONNULL(1, 4);

/*
 * Append the request `q` (section 4; storefront only when it is not the
 * default) to `out`. For clients. Returns 0, ERR_INVAL (op unknown, id
 * or purpose empty) or ERR_TOOBIG.
 */
int proto_query_encode(struct buf *out, const struct proto_query *q) WARN_UNUSED
    NONNULL(1, 2);

/* The result of score.get (section 5). */
struct proto_score_result {
    char order[PROTO_ID_MAX + 1];
    char storefront[PROTO_ID_MAX + 1];
    char account[PROTO_ID_MAX + 1]; /* "" when none */
    uint64_t ts;
    uint64_t amount;
    bool scored;
    uint8_t score;
    enum decision decision;
    bool reasons_known;
    uint8_t nreasons;
    struct reason reasons[PROTO_MAX_REASONS];
};

/* The result of account.get (section 5). */
struct proto_account_result {
    char account[PROTO_ID_MAX + 1];
    char storefront[PROTO_ID_MAX + 1];
    uint64_t as_of;
    bool known;
    int64_t first_seen_age_ms; /* -1: not known (omitted on the wire) */
    int64_t account_age_ms;    /* -1: no signup (omitted) */
    uint32_t orders_1h;
    uint32_t orders_24h;
    uint32_t failed_payments_1h;
    uint32_t failed_payments_24h;
    uint32_t failed_logins_1h;
    uint32_t orders_total;
    uint64_t amount_mean;
    uint64_t amount_max;
    char country[3]; /* "" when none */
    bool fraud;
};

/* One query reply. `op` selects the result; has_result only when ok. */
struct proto_query_reply {
    char id[PROTO_ID_MAX + 1];
    int code; /* 0 or ERR_* */
    char msg[PROTO_MSG_MAX + 1];
    enum proto_qop op;
    bool has_result;                     /* code == 0 and a result follows */
    struct proto_score_result score;     /* op == PROTO_QOP_SCORE_GET */
    struct proto_account_result account; /* op == PROTO_QOP_ACCOUNT_GET */
};

/* Fill `r` as an error reply (no result) to request `id` (NULL: ""). */
void proto_query_reply_error(struct proto_query_reply *r, const char *id,
    int code, const char *msg) NONNULL(1, 4);

/*
 * Append reply `r` (section 5) to `out`; the result map is written when
 * r->code == 0 and r->has_result. Returns 0, ERR_INVAL (bad op with a
 * result) or ERR_TOOBIG.
 */
int proto_query_reply_encode(struct buf *out,
    const struct proto_query_reply *r) WARN_UNUSED NONNULL(1, 2);

/*
 * Strictly decode a reply frame to a request of `op` into `*r` (for
 * clients). Returns 0 or ERR_MALFORMED (`msg`, may be 0-sized, says
 * why).
 */
int proto_query_reply_decode(struct proto_query_reply *r, enum proto_qop op,
    const void *data, size_t len, char *msg, size_t msglen) WARN_UNUSED
    NONNULL(1, 3);

#endif /* COMMON_PROTO_QUERY_H */
