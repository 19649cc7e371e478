/*
 * qproto.h - the query protocol: the fraud team's, auditors' and the
 *            DPO's requests to the scorer, and its replies
 *
 * The scorer's query endpoint (cfg query_endpoint, default
 * tcp://127.0.0.1:7011). This header is the specification; qproto.c
 * decodes requests (scorer) and replies (clients: vigilctl) and encodes
 * both.
 *
 * 1. Client -> scorer (the scorer binds a ROUTER; clients use REQ, or
 *    DEALER with or without the empty delimiter frame). A request is
 *    exactly ONE frame of at most QPROTO_MAX_BYTES holding one msgpack
 *    map; keys in any order, each at most once:
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
 * 2. Scorer -> client: one frame, one map:
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
 *  - qproto_request_decode() fills q->id whenever it could be read, so an
 *    error reply can still echo it.
 *  - a reply with ok false never carries `result`.
 *
 * See also: scorer/query.c (the authorization table and the handlers),
 *           tools/vigilctl.1, wire.h
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

#define QPROTO_VERSION            1
#define QPROTO_MAX_BYTES          (64 * 1024) /* one request frame */
#define QPROTO_REPLY_MAX          (16 * 1024) /* one reply frame */
#define QPROTO_OP_MAX             64
#define QPROTO_PURPOSE_MAX        64
#define QPROTO_DEFAULT_STOREFRONT "storefront"

/* The query operations. */
enum qproto_op {
    QPROTO_OP_NONE = 0,
    QPROTO_OP_SCORE_GET,   /* "score.get": order */
    QPROTO_OP_ACCOUNT_GET, /* "account.get": account */
    QPROTO_OP_COUNT
};

/* "score.get"... for an op; static; "" for QPROTO_OP_NONE or a bad value. */
const char *qproto_op_name(enum qproto_op op);

/* Parse an op name; returns QPROTO_OP_NONE when unknown. */
enum qproto_op qproto_op_parse(const char *name) NONNULL(1);

/* One decoded query request. Strings NUL-terminated; "" when absent. */
struct qproto_request {
    enum qproto_op op;
    char id[EVENT_ID_MAX + 1];
    char purpose[QPROTO_PURPOSE_MAX + 1];
    char storefront[EVENT_ID_MAX + 1]; /* defaulted on decode */
    char order[EVENT_ID_MAX + 1];      /* score.get */
    char account[EVENT_ID_MAX + 1];    /* account.get */
};

/*
 * Strictly decode one request frame of `len` bytes (section 1) into
 * `*q`, with decoder `d` (its earlier objects die). On error `msg` (size
 * `msglen`, may be 0) gets a one-line reason naming the field, and q->id holds
 * the request id if it was read. Returns 0, ERR_TOOBIG (over QPROTO_MAX_BYTES),
 * ERR_MALFORMED (not one msgpack map, trailing bytes) or ERR_INVAL (a field:
 * missing, unknown, repeated, wrong type or out of range; unknown op).
 */
int qproto_request_decode(struct wire_dec *d, struct qproto_request *q,
    const void *data, size_t len, char *msg, size_t msglen) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Append the request `q` (section 1; storefront only when it is not the
 * default) to `out`. For clients. Returns 0, ERR_INVAL (op unknown, id
 * or purpose empty) or ERR_TOOBIG.
 */
int qproto_request_encode(
    struct buf *out, const struct qproto_request *q) WARN_UNUSED NONNULL(1, 2);

/* The result of score.get (section 2). */
struct qproto_score_result {
    char order[EVENT_ID_MAX + 1];
    char storefront[EVENT_ID_MAX + 1];
    char account[EVENT_ID_MAX + 1]; /* "" when none */
    uint64_t ts;
    uint64_t amount;
    bool scored;
    uint8_t score;
    enum reply_decision decision;
    bool reasons_known;
    uint8_t nreasons;
    struct reply_reason reasons[REPLY_MAX_REASONS];
};

/* The result of account.get (section 2). */
struct qproto_account_result {
    char account[EVENT_ID_MAX + 1];
    char storefront[EVENT_ID_MAX + 1];
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
struct qproto_reply {
    char id[EVENT_ID_MAX + 1];
    int code; /* 0 or ERR_* */
    char msg[REPLY_MSG_MAX + 1];
    enum qproto_op op;
    bool has_result;                      /* code == 0 and a result follows */
    struct qproto_score_result score;     /* op == QPROTO_OP_SCORE_GET */
    struct qproto_account_result account; /* op == QPROTO_OP_ACCOUNT_GET */
};

/* Fill `r` as an error reply (no result) to request `id` (NULL: ""). */
void qproto_reply_error(struct qproto_reply *r, const char *id, int code,
    const char *msg) NONNULL(1, 4);

/*
 * Append reply `r` (section 2) to `out`; the result map is written when
 * r->code == 0 and r->has_result. Returns 0, ERR_INVAL (bad op with a
 * result) or ERR_TOOBIG.
 */
int qproto_reply_encode(
    struct buf *out, const struct qproto_reply *r) WARN_UNUSED NONNULL(1, 2);

/*
 * Strictly decode a reply frame to a request of `op` into `*r` (for
 * clients). Returns 0 or ERR_MALFORMED (`msg`, may be 0-sized, says
 * why).
 */
int qproto_reply_decode(struct wire_dec *d, struct qproto_reply *r,
    enum qproto_op op, const void *data, size_t len, char *msg,
    size_t msglen) WARN_UNUSED NONNULL(1, 2, 4);

#endif
