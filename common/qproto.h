/*
 * qproto.h - the query protocol: the fraud team's, auditors' and the
 *            DPO's requests to the scorer, and its replies
 *
 * The scorer's query endpoint (cfg query_endpoint, default
 * tcp://127.0.0.1:7011, CURVE). This header is the specification;
 * qproto.c decodes requests (scorer) and replies (clients) and encodes
 * both. Who may run which op for which purpose is the authorization
 * table in scorer/query.c (and scorer.8), not this file.
 *
 * 1. Client -> scorer (the scorer binds a ROUTER; clients use REQ, or
 *    DEALER with or without the empty delimiter frame). A request is
 *    exactly ONE frame of at most QPROTO_MAX_BYTES holding one msgpack
 *    map; keys in any order, each at most once:
 *      v          uint, must be 2                            required
 *      op         str, one of the ops below                  required
 *      id         str 1..128, the request id (echoed)         required
 *      purpose    str 1..64 of [a-z0-9._-], the stated        required
 *                 purpose
 *      storefront str 1..128 of [A-Za-z0-9._-]: whose order and account
 *                 ids these are. A storefront client may leave it out
 *                 (its own name) and may name only itself.
 *      case       str 1..64 of text: the case reference (chargeback,
 *                 ticket, request number); required by the purposes
 *                 that need one (scorer.8). Audited as a keyed hash.
 *    The arguments of each op (a key of another op is refused):
 *      score.get    order str 1..128                         required
 *      account.get  account str 1..128                       required
 *      label        order or account (exactly one), fraud bool
 *                   (required), source str 1..32 of [a-z0-9._-]
 *                   (optional, default "analyst": who established it,
 *                   e.g. "chargeback", "manual-review")
 *      review.list  limit uint 1..8 (optional, default 8), after str
 *                   (optional: the `next` of the previous page);
 *                   storefront optional (absent: every storefront's)
 *      review.decide  order str or ref (32 lower-case hex: the order's
 *                   `ref` from review.list), exactly one; fraud bool
 *                   (required: true rejects, false approves); source
 *                   (optional, default "review.reject" /
 *                   "review.approve")
 *      linked.get   account str 1..128                       required
 *      list.set     entity str (account, device, ip, card, email), value
 *                   str 1..254 (the identifier: an account id of the
 *                   storefront named, which is then required; else
 *                   normalized as pseudo.h says), list str ("allow",
 *                   "block", or "none": off both)      all required
 *      list.get     entity, value (as list.set)              required
 *      status       none: the service's state (admins; storefront not
 *                   given)
 *      subject.report  kind str (required), value str (required), from
 *                   uint (optional: list records with index >= from, for
 *                   the next page)
 *      subject.erase   kind, value (required)
 *      subject.export  kind, value (required)
 *    kind is one of account, order (ids a storefront chose: storefront
 *    required), email, phone, name, address, card, device, ip, and for
 *    subject.erase only storefront (value: the storefront's client name,
 *    equal to `storefront`: all of that storefront's data); value is
 *    the identifier, 1..254 bytes of text, normalized by the scorer as
 *    common/pseudo.h says (an address is its parts, name|street|city|
 *    postal|country, joined with '|').
 *    Unknown keys, a repeated key, wrong types, out-of-range values, a
 *    non-map, trailing bytes -> ERR_MALFORMED (not a msgpack map) or
 *    ERR_INVAL (a field), with a message naming the field and the rule,
 *    never the value. An unknown op is ERR_INVAL ("op: unknown
 *    operation").
 *
 * 2. Scorer -> client: one frame, one map:
 *      id      str (the request id; "" when it could not be read)
 *      ok      bool
 *      code    str, err_name(): "ok", "invalid", "malformed",
 *              "too_big", "denied" (the role may not do this, for this
 *              purpose or on this storefront), "not_found", "audit"
 *              (the access could not be audited: refused, no data),
 *              "unavailable", "io", ...
 *      msg     str, one line (names the field and rule, never a value)
 *      retry_after_ms  uint 1..REPLY_RETRY_MAX_MS, only with code "busy"
 *              (the client is over its query quota: the request was
 *              not read) or another code worth retrying: how long to
 *              wait before sending again
 *      result  map, only when ok; its keys are the op's (scorer.8):
 *        score.get:   order, storefront, ts (event time, ms), amount
 *                     (minor units), scored bool, and when scored score
 *                     0..100 and decision; reasons_known bool and, when
 *                     true, reasons [{code, text, value}], and model
 *                     (the version of the model that made the score,
 *                     from the stored reply; absent: the rule set, or
 *                     stored before replies kept it).
 *        account.get: account, storefront, as_of (wall-clock ms), known,
 *                     first_seen_age_ms, account_age_ms (each omitted
 *                     when not known), orders_1h, orders_24h,
 *                     failed_payments_1h, failed_payments_24h,
 *                     failed_logins_1h, orders_total, amount_mean,
 *                     amount_max, country (omitted when none), fraud.
 *        label:       storefront, order or account (as sent), fraud,
 *                     source, stored bool (false: an equal label was
 *                     there already).
 *        review.list: queued (orders in the queue), dropped (orders the
 *                     full queue did not take), count, items [{storefront,
 *                     ref (the order's token, hex), account_ref (its
 *                     account's, when it named one), ts, amount, score,
 *                     reasons_known, reasons, model (as score.get)}]
 *                     oldest first, and next (str)
 *                     when there may be more.
 *        review.decide: storefront, order or ref (as sent), decision
 *                     ("approve" or "reject"), was_queued bool, fraud,
 *                     source, stored bool (as label: the decision is a
 *                     label of the order, which leaves the queue).
 *        linked.get:  account, storefront, ref (its token), label
 *                     ("fraud", "legitimate", "none"), entities {kind:
 *                     count} (its devices, IPs, ... known), linked_total,
 *                     count, linked [{storefront, ref, label, shared,
 *                     via {kind: count}}] (kinds device, ip, ip_prefix,
 *                     card, email), at most 15, labelled fraud first.
 *        list.set:    entity, storefront (account only), ref (the
 *                     entity's token, hex), list (as set), was (the list
 *                     it was on: "allow", "block", "none"), changed bool.
 *        list.get:    entity, storefront (account only), ref (absent:
 *                     Vigil holds no salt for it), list, known bool (an
 *                     event named it).
 *        status:      the service's state, keys listed in scorer.8
 *                     ("STATUS"): version, uptime, queues, rates, errors
 *                     by code and by client, LMDB and disk use, journal
 *                     and audit sizes, the last checkpoint, the model.
 *        subject.report: kind, subject (bin 16: the subject's token, the
 *                     bytes its records name) and total (records naming
 *                     it) when Vigil holds a salt for it (absent: never
 *                     seen, or erased), checkpoint (str: the signed C2SP
 *                     checkpoint note every proof is against), size (its
 *                     tree size), count, records [{index uint, raw bin
 *                     (the record's exact bytes: its Merkle leaf), proof
 *                     [bin 32, ...] (RFC 9162 inclusion path in the tree
 *                     of `size`)}], ascending by index, at most 64, and
 *                     next uint (the `from` of the next page) when there
 *                     are more. The report's own record is listed too.
 *        subject.erase: kind, erased bool (false: no salt, nothing
 *                     held), subjects (salts destroyed), entities,
 *                     links, orders, replies, index (subject index
 *                     entries), records_kept (audit records that named
 *                     it: kept, now unlinkable), journal_segments
 *                     (shredded). kind "storefront": the same counts for
 *                     every subject only that storefront's records name.
 *        subject.export: kind, as_of, subjects [{kind, token bin 16}],
 *                     accounts [{storefront, known, first_seen_age_ms,
 *                     orders_total, amount_mean, amount_max, country,
 *                     fraud}], orders [{storefront, ts, amount, scored,
 *                     [score, decision]}], entities [{kind, known,
 *                     first_seen_age_ms, orders_24h, failed_payments_24h,
 *                     accounts, fraud}].
 *    Clients read `result` as a generic msgpack map (qproto_reply.result)
 *    and show it; adding a key to a result is not a protocol change.
 *
 * Invariants:
 *  - qproto_request_decode() fills q->id whenever it could be read, so an
 *    error reply can still echo it.
 *  - a reply with ok false never carries `result`.
 *
 * See also: scorer/query.c (the authorization table and the handlers),
 *           scorer/scorer.8, tools/vigilctl/vigilctl.1, wire.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_QPROTO_H
#define COMMON_QPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "common/wire.h"

#define QPROTO_VERSION     2
#define QPROTO_MAX_BYTES   (64 * 1024)  /* one request frame */
#define QPROTO_REPLY_MAX   (256 * 1024) /* one reply frame */
#define QPROTO_OP_MAX      64
#define QPROTO_PURPOSE_MAX 64
#define QPROTO_CASE_MAX    64
#define QPROTO_SOURCE_MAX  32
#define QPROTO_KIND_MAX    16

/* The query operations. */
enum qproto_op {
    QPROTO_OP_NONE = 0,
    QPROTO_OP_SCORE_GET,     /* "score.get": order */
    QPROTO_OP_ACCOUNT_GET,   /* "account.get": account */
    QPROTO_OP_LABEL,         /* "label": order | account, fraud, [source, ts] */
    QPROTO_OP_REVIEW_LIST,   /* "review.list": [limit, after] */
    QPROTO_OP_REVIEW_DECIDE, /* "review.decide": order | ref, fraud */
    QPROTO_OP_LINKED_GET,    /* "linked.get": account */
    QPROTO_OP_EXPORT,        /* "export": [limit, after] */
    QPROTO_OP_LIST_SET,      /* "list.set": entity, value, list */
    QPROTO_OP_LIST_GET,      /* "list.get": entity, value */
    QPROTO_OP_STATUS,        /* "status": no arguments (admin) */
    QPROTO_OP_SUBJECT_REPORT, /* "subject.report": kind, value, [from] */
    QPROTO_OP_SUBJECT_ERASE,  /* "subject.erase": kind, value */
    QPROTO_OP_SUBJECT_EXPORT, /* "subject.export": kind, value */
    QPROTO_OP_COUNT
};

/* The op-specific arguments, as bits of qproto_request.args. */
enum qproto_arg {
    QPROTO_ARG_ORDER = 1u << 0,
    QPROTO_ARG_ACCOUNT = 1u << 1,
    QPROTO_ARG_FRAUD = 1u << 2,
    QPROTO_ARG_SOURCE = 1u << 3,
    QPROTO_ARG_TS = 1u << 4,
    QPROTO_ARG_LIMIT = 1u << 5,
    QPROTO_ARG_AFTER = 1u << 6,
    QPROTO_ARG_REF = 1u << 7,
    QPROTO_ARG_ENTITY = 1u << 8,
    QPROTO_ARG_VALUE = 1u << 9,
    QPROTO_ARG_LIST = 1u << 10,
    QPROTO_ARG_KIND = 1u << 11,
    QPROTO_ARG_FROM = 1u << 12,
};

#define QPROTO_CURSOR_MAX  128
#define QPROTO_REVIEW_PAGE 8    /* review.list items, at most */
#define QPROTO_EXPORT_PAGE 500  /* export rows by default */
#define QPROTO_EXPORT_MAX  1000 /* export rows, at most */
#define QPROTO_VALUE_MAX   254  /* list.set value, a DPO identifier */
#define QPROTO_ENTITY_MAX  16

/* "score.get"... for an op; static; "" for QPROTO_OP_NONE or a bad value. */
const char *qproto_op_name(enum qproto_op op);

/* Parse an op name; returns QPROTO_OP_NONE when unknown. */
enum qproto_op qproto_op_parse(const char *name) NONNULL(1);

/* One decoded query request. Strings NUL-terminated; "" when absent. */
struct qproto_request {
    enum qproto_op op;
    char id[EVENT_ID_MAX + 1];
    char purpose[QPROTO_PURPOSE_MAX + 1];
    char storefront[EVENT_ID_MAX + 1];
    char case_ref[QPROTO_CASE_MAX + 1];
    uint32_t args;                      /* QPROTO_ARG_* present */
    char order[EVENT_ID_MAX + 1];       /* QPROTO_ARG_ORDER */
    char account[EVENT_ID_MAX + 1];     /* QPROTO_ARG_ACCOUNT */
    bool fraud;                         /* QPROTO_ARG_FRAUD */
    char source[QPROTO_SOURCE_MAX + 1]; /* QPROTO_ARG_SOURCE */
    uint64_t ts;                        /* QPROTO_ARG_TS */
    uint32_t limit;                     /* QPROTO_ARG_LIMIT */
    char after[QPROTO_CURSOR_MAX + 1];  /* QPROTO_ARG_AFTER */
    char ref[2 * PSEUDO_BYTES + 1];     /* QPROTO_ARG_REF: lower-case hex */
    char entity[QPROTO_ENTITY_MAX + 1]; /* QPROTO_ARG_ENTITY */
    char value[QPROTO_VALUE_MAX + 1];   /* QPROTO_ARG_VALUE: may be a raw
                                           identifier: wipe it */
    char list[QPROTO_ENTITY_MAX + 1];   /* QPROTO_ARG_LIST */
    char kind[QPROTO_KIND_MAX + 1];     /* QPROTO_ARG_KIND */
    uint64_t from;                      /* QPROTO_ARG_FROM */
};

/*
 * Strictly decode one request frame of `len` bytes (section 1) into
 * `*q`, with decoder `d` (its earlier objects die). On error `msg` (size
 * `msglen`, may be 0) gets a one-line reason naming the field, and q->id
 * holds the request id if it was read. Returns 0, ERR_TOOBIG (over
 * QPROTO_MAX_BYTES), ERR_MALFORMED (not one msgpack map, trailing bytes)
 * or ERR_INVAL (a field: missing, unknown, repeated, wrong type or out
 * of range; unknown op).
 */
int qproto_request_decode(struct wire_dec *d, struct qproto_request *q,
    const void *data, size_t len, char *msg, size_t msglen) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Append the request `q` (section 1: the common keys that are not "",
 * and the arguments in q->args) to `out`. For clients. Returns 0,
 * ERR_INVAL (op unknown, id or purpose empty, arguments the op does not
 * take or lacks) or ERR_TOOBIG.
 */
int qproto_request_encode(
    struct buf *out, const struct qproto_request *q) WARN_UNUSED NONNULL(1, 2);

/*
 * Start a successful reply to request `id`: the map, id, ok, code, msg
 * and the key "result". The caller then puts the result map with
 * wire_put_*() and ends with wire_enc_end(e).
 */
void qproto_reply_begin(struct wire_enc *e, struct buf *out, const char *id)
    NONNULL(1, 2, 3);

/*
 * Append an error reply (`code` != 0, no result) to request `id` (NULL:
 * "") with message `msg` to `out`. Returns 0 or ERR_TOOBIG.
 */
int qproto_reply_error_encode(struct buf *out, const char *id, int code,
    const char *msg) WARN_UNUSED NONNULL(1, 4);

/*
 * Append an error reply like qproto_reply_error_encode() that also
 * carries retry_after_ms (1..REPLY_RETRY_MAX_MS, clamped). Returns 0 or
 * ERR_TOOBIG.
 */
int qproto_reply_retry_encode(struct buf *out, const char *id, int code,
    const char *msg, uint32_t retry_after_ms) WARN_UNUSED NONNULL(1, 4);

/* One decoded reply (for clients). */
struct qproto_reply {
    char id[EVENT_ID_MAX + 1];
    int code; /* 0 or ERR_* */
    char msg[REPLY_MSG_MAX + 1];
    uint32_t retry_after_ms; /* 0 when absent */
    /* The result map when ok, else NULL. Borrowed from the decoder:
     * valid until its next use. */
    const msgpack_object *result;
};

/*
 * Strictly decode a reply frame (section 2) into `*r`. The result is
 * only checked to be a map of string keys (its depth bounded); the
 * client reads what it needs from it. Returns 0 or ERR_MALFORMED (`msg`,
 * may be 0-sized, says why).
 */
int qproto_reply_decode(struct wire_dec *d, struct qproto_reply *r,
    const void *data, size_t len, char *msg, size_t msglen) WARN_UNUSED
    NONNULL(1, 2, 3);

#endif
