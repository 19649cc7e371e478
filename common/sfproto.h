/*
 * sfproto.h - the storefront protocol: event frames in, reply frames out
 *
 * The collector's public endpoint (tcp://127.0.0.1:7010, ROUTER; clients
 * use REQ or DEALER). This header is the specification; sfproto.c
 * decodes (collector) and encodes (storefront clients in C: vigil-load,
 * vigil-replay).
 *
 * 1. Storefront -> collector. One frame holding either one msgpack map
 *    (an event) or an array of 1..SFPROTO_MAX_BATCH maps (a batch). At
 *    most SFPROTO_MAX_MSG_BYTES per frame. Keys are strings; unknown
 *    keys, trailing bytes, wrong types and out-of-range values are
 *    rejected. Common fields:
 *      v        uint, must be 1                           required
 *      type     str, one of the event types below         required
 *      id       str 1..128, the storefront's event id     required
 *      ts       uint, ms since the Unix epoch,            required
 *               2000-01-01 .. 2100-01-01
 *      account  str 1..128 (storefront account id)     -> pseudonym
 *      session  str 1..128                               -> pseudonym
 *      device   str 1..128 (device id or fingerprint)   -> pseudonym
 *      ip       str, IPv4 or IPv6 text                   -> pseudonyms of
 *               the address, its /24 and /16 (IPv6: /48 and /32)
 *      ip_country str, ISO 3166 alpha-2 (e.g. from the CDN's geo header)
 *      ua       str 0..512 user agent                    -> browser family
 *      tz       str 0..64, lang str 0..35, carrier str 0..64
 *    Per type (after the common fields):
 *      device.seen      (common fields only)
 *      account.signup   email, phone, name (-> pseudonyms), source str
 *                       0..32, age uint 0..150, referrer str 0..256
 *                       (only its origin, scheme://host[:port], is kept)
 *      account.login    ok bool (required), method str 0..32
 *      account.update   field str (required: email, phone, name,
 *                       address, password), value str 0..256 (the new
 *                       value; -> pseudonym; must be absent for password)
 *      order.placed     order str 1..128 (required, -> pseudonym),
 *                       amount uint minor units 0..10^12 (required),
 *                       currency str of 3 upper-case letters (required),
 *                       items uint 1..10000, card map {fingerprint str
 *                       1..128 (the payment provider's card token),
 *                       bin str 6..8 digits | number str 12..19 digits
 *                       passing Luhn} (-> pseudonym of the fingerprint,
 *                       else of the number; the bin is kept only beside
 *                       a fingerprint, never beside a number, and "last4"
 *                       is refused: no digits of a number are kept next
 *                       to its pseudonym), billing and shipping maps
 *                       {name, street, city, postal, country (alpha-2)}
 *                       (-> one pseudonym each; the country is kept),
 *                       email
 *      payment.result   order (required, -> pseudonym), ok bool
 *                       (required), reason str
 *                       0..32
 *      label            account or order (one required), fraud bool
 *                       (required), source str 0..32
 *    A key named "password" anywhere is refused outright (ERR_DENIED):
 *    Vigil never accepts account passwords.
 *    Error codes: a frame that is not one msgpack item, has trailing
 *    bytes, nests deeper than SFPROTO_MAX_DEPTH, is an empty array or is
 *    neither map nor array is "malformed"; over SFPROTO_MAX_MSG_BYTES or
 *    SFPROTO_MAX_BATCH events is "too_big"; an event that is not a map,
 *    has a non-string or repeated key is "malformed"; a missing required
 *    field, an unknown field, a field not allowed for the type, a wrong
 *    type or an out-of-range value is "invalid"; a password is "denied".
 *
 * 2. Collector -> storefront. One frame: a reply map (reply.h), or for a
 *    batch an array of reply maps in the same order. A frame that is not
 *    decodable at all gets one reply map with id "".
 *
 * Invariants:
 *  - decoding never allocates per field: strings are copied into the
 *    fixed arrays of struct event and struct event_pii.
 *  - raw identifiers of a rejected event are wiped at once.
 *  - error messages name the field and the rule, never the value.
 *
 * See also: event.h (the decoded form), reply.h, collector/collector.8,
 *           DESIGN.md "Events"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_SFPROTO_H
#define COMMON_SFPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "common/wire.h"

#define SFPROTO_VERSION       1
#define SFPROTO_MAX_MSG_BYTES (64 * 1024) /* one frame from a storefront */
#define SFPROTO_MAX_BATCH     1000        /* events in one frame */
#define SFPROTO_MAX_DEPTH     3 /* batch array > event map > card map */
/* One reply frame: up to SFPROTO_MAX_BATCH replies with their reasons. */
#define SFPROTO_MAX_REPLY_BYTES (4 * 1024 * 1024)

/* One event of a decoded storefront frame. */
struct sfproto_item {
    int rc;                      /* 0, or the ERR_* rejecting this event */
    char msg[REPLY_MSG_MAX + 1]; /* why, naming the field and the rule */
    char id[EVENT_ID_MAX + 1];   /* the event id for the reply ("" if bad):
                                    kept when pii is wiped */
    struct event ev;             /* valid when rc == 0 (not pseudonymized) */
    struct event_pii pii;        /* raw identifiers; wipe with pseudo_apply */
};

/* A decoded storefront frame. Fields change only through this API. */
struct sfproto_batch {
    size_t n;                   /* events in the frame */
    bool is_array;              /* the frame was an array: reply with one */
    struct sfproto_item *items; /* owned, SFPROTO_MAX_BATCH entries */
    struct wire_dec dec;        /* owned decoder state */
};

/* Prepare an empty batch; allocates its item array once. */
void sfproto_batch_init(struct sfproto_batch *b) NONNULL(1);

/* Wipe the raw identifiers left in the items and free everything. */
void sfproto_batch_release(struct sfproto_batch *b) NONNULL(1);

/*
 * Decode one storefront frame of `len` bytes into `b`, replacing what it
 * held. Frame-level failures (section 1) return ERR_MALFORMED or
 * ERR_TOOBIG with a message in `msg` (size `msglen`) and b->n == 0.
 * Otherwise returns 0 and every item carries its own rc: a batch with
 * one bad event keeps the good ones. Each item's `id` is filled whenever
 * it could be read, even on error. The items' pseudonym fields are left
 * for pseudo_apply() to fill from their `pii`.
 */
int sfproto_batch_decode(struct sfproto_batch *b, const void *data, size_t len,
    char *msg, size_t msglen) WARN_UNUSED NONNULL(1);

/*
 * The field rules of "email" (local@domain: one '@', a non-empty local
 * part without spaces, a domain of letters, digits, '-' and '.' without
 * empty labels) and "phone" (digits, spaces, '+', '-', '(' and ')'),
 * lengths aside (those are GET_TEXT's): for a producer (the Shopify
 * bridge) that must not forward what the collector would refuse.
 */
bool sfproto_email_ok(const char *s) NONNULL(1);
bool sfproto_phone_ok(const char *s) NONNULL(1);

/*
 * For storefront clients: pack the event that `ev` and `pii` describe
 * as one section-1 map (the inverse of decoding: ev holds the plain
 * fields and the presence bits, pii the raw identifiers, the event id
 * included; the pseudonym fields of ev are ignored). `pii->ua` is sent
 * as the user agent, `ev->referrer` as the referrer.
 */
void sfproto_event_pack(struct wire_enc *e, const struct event *ev,
    const struct event_pii *pii) NONNULL(1, 2, 3);

/*
 * Decode a reply frame (section 2) of `len` bytes: one map, or an array
 * of at most `max` maps, into replies[]; `*n` receives the count.
 * Returns 0 or ERR_MALFORMED.
 */
int sfproto_replies_decode(struct wire_dec *d, const void *data, size_t len,
    struct reply *replies, uint32_t max, uint32_t *n) WARN_UNUSED
    NONNULL(1, 2, 4, 6);

#endif
