/*
 * qproto.c - the query protocol's codec (see qproto.h)
 *
 * Requests are decoded in the scorer (untrusted: any client that reached
 * the endpoint), replies in vigilctl. Both go through wire_decode(), so
 * the same guard and the same strict readers apply as for events.
 *
 * Invariants:
 *  - error messages name the key and the rule, never the value;
 *  - q->id is filled whenever a well-formed id was present, even when
 *    the request is refused, so the error reply can echo it.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/wire.h"

static const char *const op_names[QPROTO_OP_COUNT] = {
    [QPROTO_OP_NONE] = "",
    [QPROTO_OP_SCORE_GET] = "score.get",
    [QPROTO_OP_ACCOUNT_GET] = "account.get",
};

const char *
qproto_op_name(enum qproto_op op)
{
    if ((unsigned)op >= QPROTO_OP_COUNT)
        return "";
    return op_names[op];
}

enum qproto_op
qproto_op_parse(const char *name)
{
    int k;

    for (k = QPROTO_OP_NONE + 1; k < QPROTO_OP_COUNT; k++)
        if (strcmp(name, op_names[k]) == 0)
            return (enum qproto_op)k;
    return QPROTO_OP_NONE;
}

static void set_msg(char *msg, size_t msglen, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static void
set_msg(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    if (msg == NULL || msglen == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ requests */

enum { Q_V, Q_OP, Q_ID, Q_PURPOSE, Q_STOREFRONT, Q_ORDER, Q_ACCOUNT, Q_COUNT };
static const struct wire_key request_keys[Q_COUNT] = { WIRE_KEY("v"),
    WIRE_KEY("op"), WIRE_KEY("id"), WIRE_KEY("purpose"), WIRE_KEY("storefront"),
    WIRE_KEY("order"), WIRE_KEY("account") };

/* The argument each op takes (beyond the common keys). */
static const int op_arg[QPROTO_OP_COUNT] = {
    [QPROTO_OP_NONE] = -1,
    [QPROTO_OP_SCORE_GET] = Q_ORDER,
    [QPROTO_OP_ACCOUNT_GET] = Q_ACCOUNT,
};

/* Read request key `k` from `o` into q. Returns 0 or ERR_INVAL. */
static int
read_key(struct qproto_request *q, int k, const msgpack_object *o)
{
    char opname[QPROTO_OP_MAX + 1];
    uint64_t u = 0;

    switch (k) {
    case Q_V:
        return wire_get_uint(o, QPROTO_VERSION, QPROTO_VERSION, &u);
    case Q_OP:
        if (WIRE_GET_STR(o, WIRE_TOKEN, 1, opname) != 0)
            return ERR_INVAL;
        q->op = qproto_op_parse(opname);
        return 0;
    case Q_ID:
        return WIRE_GET_STR(o, WIRE_NAME, 1, q->id);
    case Q_PURPOSE:
        return WIRE_GET_STR(o, WIRE_TOKEN, 1, q->purpose);
    case Q_STOREFRONT:
        return WIRE_GET_STR(o, WIRE_NAME, 1, q->storefront);
    case Q_ORDER:
        return WIRE_GET_STR(o, WIRE_TEXT, 1, q->order);
    case Q_ACCOUNT:
        return WIRE_GET_STR(o, WIRE_TEXT, 1, q->account);
    default:
        return ERR_INVAL;
    }
}

/* Fill q->id from map `top` when it holds a well-formed id. */
static void
read_id(const msgpack_object *top, struct qproto_request *q)
{
    uint32_t k;

    if (top->type != MSGPACK_OBJECT_MAP)
        return;
    for (k = 0; k < top->via.map.size; k++)
        if (wire_is_str(&top->via.map.ptr[k].key, "id") &&
            WIRE_GET_STR(&top->via.map.ptr[k].val, WIRE_NAME, 1, q->id) != 0)
            q->id[0] = '\0';
}

/*
 * Best effort after trailing bytes: decode the well-formed map at the
 * start of the frame only to echo its id in the error reply.
 */
static void
find_id(
    struct wire_dec *d, const void *data, size_t len, struct qproto_request *q)
{
    msgpack_object top;
    const char *why;
    size_t used = 0;

    if (wire_scan(data, len, 4, &used, &why) == 0 &&
        wire_decode(d, data, used, 4, &top, &why) == 0)
        read_id(&top, q);
}

int
qproto_request_decode(struct wire_dec *d, struct qproto_request *q,
    const void *data, size_t len, char *msg, size_t msglen)
{
    static const char *const field_err[Q_COUNT] = {
        "v: must be the integer 1",
        "op: must be a string naming an operation",
        "id: must be a string of 1..128 bytes of text",
        "purpose: must be a string of 1..64 bytes of [a-z0-9._-]",
        "storefront: must be a string of 1..128 bytes of text",
        "order: must be a string of 1..128 bytes of text",
        "account: must be a string of 1..128 bytes of text",
    };
    const msgpack_object *v[Q_COUNT] = { NULL };
    char why[REPLY_MSG_MAX + 1];
    msgpack_object top;
    const char *wwhy;
    int k, rc, arg;

    memset(q, 0, sizeof(*q));
    set_msg(msg, msglen, "%s", "");
    if (len > QPROTO_MAX_BYTES) {
        set_msg(msg, msglen, "request larger than %d bytes", QPROTO_MAX_BYTES);
        return ERR_TOOBIG;
    }
    rc = wire_decode(d, data, len, 4, &top, &wwhy);
    if (rc != 0) {
        if (strncmp(wwhy, "trailing", 8) == 0) {
            set_msg(msg, msglen, "request: trailing bytes after the map");
            find_id(d, data, len, q);
        } else {
            set_msg(msg, msglen, "request: not msgpack (%s)", wwhy);
        }
        return ERR_MALFORMED;
    }
    if (top.type != MSGPACK_OBJECT_MAP) {
        set_msg(msg, msglen, "request: not a msgpack map");
        return ERR_MALFORMED;
    }
    /* The id first, so that even a refused request can be answered. */
    read_id(&top, q);

    /* A repeated key is a field error here (section 1), not malformed. */
    rc = wire_collect(&top, request_keys, Q_COUNT, "", v, why, sizeof(why));
    if (rc != 0) {
        set_msg(msg, msglen, "request: %s", why);
        return ERR_INVAL;
    }
    for (k = 0; k < Q_COUNT; k++) {
        if (v[k] == NULL)
            continue;
        if (read_key(q, k, v[k]) != 0) {
            set_msg(msg, msglen, "%s", field_err[k]);
            return ERR_INVAL;
        }
    }
    for (k = 0; k < Q_STOREFRONT; k++) {
        if (v[k] == NULL) {
            set_msg(msg, msglen, "%s: required", request_keys[k].name);
            return ERR_INVAL;
        }
    }
    if (q->op == QPROTO_OP_NONE) {
        set_msg(msg, msglen, "op: unknown operation");
        return ERR_INVAL;
    }
    if (v[Q_STOREFRONT] == NULL)
        TEXT_COPY(q->storefront, QPROTO_DEFAULT_STOREFRONT);
    arg = op_arg[q->op];
    for (k = Q_STOREFRONT + 1; k < Q_COUNT; k++) {
        if (k == arg && v[k] == NULL) {
            set_msg(msg, msglen, "%s: required by %s", request_keys[k].name,
                op_names[q->op]);
            return ERR_INVAL;
        }
        if (k != arg && v[k] != NULL) {
            set_msg(msg, msglen, "%s: not an argument of %s",
                request_keys[k].name, op_names[q->op]);
            return ERR_INVAL;
        }
    }
    return 0;
}

int
qproto_request_encode(struct buf *out, const struct qproto_request *q)
{
    struct wire_enc e;
    bool sf;

    if (q->op == QPROTO_OP_NONE || (unsigned)q->op >= QPROTO_OP_COUNT ||
        q->id[0] == '\0' || q->purpose[0] == '\0')
        return ERR_INVAL;
    sf = q->storefront[0] != '\0' &&
        strcmp(q->storefront, QPROTO_DEFAULT_STOREFRONT) != 0;
    wire_enc_begin(&e, out);
    wire_put_map(&e, sf ? 6 : 5);
    wire_put_str(&e, "v");
    wire_put_uint(&e, QPROTO_VERSION);
    wire_put_str(&e, "op");
    wire_put_str(&e, qproto_op_name(q->op));
    wire_put_str(&e, "id");
    WIRE_PUT_ARR(&e, q->id);
    wire_put_str(&e, "purpose");
    WIRE_PUT_ARR(&e, q->purpose);
    if (sf) {
        wire_put_str(&e, "storefront");
        WIRE_PUT_ARR(&e, q->storefront);
    }
    if (q->op == QPROTO_OP_SCORE_GET) {
        wire_put_str(&e, "order");
        WIRE_PUT_ARR(&e, q->order);
    } else {
        wire_put_str(&e, "account");
        WIRE_PUT_ARR(&e, q->account);
    }
    return wire_enc_end(&e);
}

/* ------------------------------------------------------------- replies */

void
qproto_reply_error(
    struct qproto_reply *r, const char *id, int code, const char *msg)
{
    memset(r, 0, sizeof(*r));
    if (id != NULL)
        TEXT_COPY(r->id, id);
    r->code = code;
    TEXT_COPY(r->msg, msg);
}

static void
pack_score_result(struct wire_enc *e, const struct qproto_score_result *s)
{
    uint32_t n = 6; /* order storefront ts amount scored reasons_known */

    n += s->account[0] != '\0';
    n += s->scored ? 2 : 0;
    n += s->reasons_known;
    wire_put_map(e, n);
    wire_put_str(e, "order");
    WIRE_PUT_ARR(e, s->order);
    wire_put_str(e, "storefront");
    WIRE_PUT_ARR(e, s->storefront);
    if (s->account[0] != '\0') {
        wire_put_str(e, "account");
        WIRE_PUT_ARR(e, s->account);
    }
    wire_put_str(e, "ts");
    wire_put_uint(e, s->ts);
    wire_put_str(e, "amount");
    wire_put_uint(e, s->amount);
    wire_put_str(e, "scored");
    wire_put_bool(e, s->scored);
    if (s->scored) {
        wire_put_str(e, "score");
        wire_put_uint(e, s->score);
        wire_put_str(e, "decision");
        wire_put_str(e, reply_decision_name(s->decision));
    }
    wire_put_str(e, "reasons_known");
    wire_put_bool(e, s->reasons_known);
    if (s->reasons_known) {
        wire_put_str(e, "reasons");
        reply_pack_reasons(e, s->reasons, s->nreasons);
    }
}

static void
put_u(struct wire_enc *e, const char *k, uint64_t v)
{
    wire_put_str(e, k);
    wire_put_uint(e, v);
}

static void
pack_account_result(struct wire_enc *e, const struct qproto_account_result *a)
{
    uint32_t n = 13;

    n += a->first_seen_age_ms >= 0;
    n += a->account_age_ms >= 0;
    n += a->country[0] != '\0';
    wire_put_map(e, n);
    wire_put_str(e, "account");
    WIRE_PUT_ARR(e, a->account);
    wire_put_str(e, "storefront");
    WIRE_PUT_ARR(e, a->storefront);
    put_u(e, "as_of", a->as_of);
    wire_put_str(e, "known");
    wire_put_bool(e, a->known);
    if (a->first_seen_age_ms >= 0)
        put_u(e, "first_seen_age_ms", (uint64_t)a->first_seen_age_ms);
    if (a->account_age_ms >= 0)
        put_u(e, "account_age_ms", (uint64_t)a->account_age_ms);
    put_u(e, "orders_1h", a->orders_1h);
    put_u(e, "orders_24h", a->orders_24h);
    put_u(e, "failed_payments_1h", a->failed_payments_1h);
    put_u(e, "failed_payments_24h", a->failed_payments_24h);
    put_u(e, "failed_logins_1h", a->failed_logins_1h);
    put_u(e, "orders_total", a->orders_total);
    put_u(e, "amount_mean", a->amount_mean);
    put_u(e, "amount_max", a->amount_max);
    if (a->country[0] != '\0') {
        wire_put_str(e, "country");
        WIRE_PUT_ARR(e, a->country);
    }
    wire_put_str(e, "fraud");
    wire_put_bool(e, a->fraud);
}

int
qproto_reply_encode(struct buf *out, const struct qproto_reply *r)
{
    bool res = r->code == 0 && r->has_result;
    struct wire_enc e;

    if (res && r->op != QPROTO_OP_SCORE_GET && r->op != QPROTO_OP_ACCOUNT_GET)
        return ERR_INVAL;
    wire_enc_begin(&e, out);
    wire_put_map(&e, res ? 5 : 4);
    wire_put_str(&e, "id");
    WIRE_PUT_ARR(&e, r->id);
    wire_put_str(&e, "ok");
    wire_put_bool(&e, r->code == 0);
    wire_put_str(&e, "code");
    wire_put_str(&e, err_name(r->code));
    wire_put_str(&e, "msg");
    WIRE_PUT_ARR(&e, r->msg);
    if (res) {
        wire_put_str(&e, "result");
        if (r->op == QPROTO_OP_SCORE_GET)
            pack_score_result(&e, &r->score);
        else
            pack_account_result(&e, &r->account);
    }
    return wire_enc_end(&e);
}

enum {
    S_ORDER,
    S_STOREFRONT,
    S_ACCOUNT,
    S_TS,
    S_AMOUNT,
    S_SCORED,
    S_SCORE,
    S_DECISION,
    S_REASONS_KNOWN,
    S_REASONS,
    S_COUNT
};

static int
read_score_result(const msgpack_object *o, struct qproto_score_result *s)
{
    static const struct wire_key keys[S_COUNT] = { WIRE_KEY("order"),
        WIRE_KEY("storefront"), WIRE_KEY("account"), WIRE_KEY("ts"),
        WIRE_KEY("amount"), WIRE_KEY("scored"), WIRE_KEY("score"),
        WIRE_KEY("decision"), WIRE_KEY("reasons_known"), WIRE_KEY("reasons") };
    const msgpack_object *v[S_COUNT] = { NULL };
    char tmp[EVENT_SHORT_MAX + 1];
    uint64_t u = 0;

    if (wire_collect(o, keys, S_COUNT, "result.", v, NULL, 0) != 0 ||
        v[S_ORDER] == NULL || v[S_TS] == NULL || v[S_AMOUNT] == NULL ||
        v[S_SCORED] == NULL)
        return ERR_MALFORMED;
    if (WIRE_GET_STR(v[S_ORDER], WIRE_TEXT, 1, s->order) != 0 ||
        (v[S_STOREFRONT] != NULL &&
            WIRE_GET_STR(v[S_STOREFRONT], WIRE_TEXT, 1, s->storefront) != 0) ||
        (v[S_ACCOUNT] != NULL &&
            WIRE_GET_STR(v[S_ACCOUNT], WIRE_TEXT, 1, s->account) != 0) ||
        wire_get_uint(v[S_TS], 0, UINT64_MAX, &s->ts) != 0 ||
        wire_get_uint(v[S_AMOUNT], 0, UINT64_MAX, &s->amount) != 0 ||
        wire_get_bool(v[S_SCORED], &s->scored) != 0)
        return ERR_MALFORMED;
    if ((v[S_SCORE] != NULL) != s->scored ||
        (v[S_DECISION] != NULL) != s->scored)
        return ERR_MALFORMED;
    if (s->scored) {
        if (wire_get_uint(v[S_SCORE], 0, 100, &u) != 0 ||
            WIRE_GET_STR(v[S_DECISION], WIRE_TOKEN, 1, tmp) != 0)
            return ERR_MALFORMED;
        s->score = (uint8_t)u;
        s->decision = reply_decision_parse(tmp);
        if (s->decision == REPLY_DECISION_NONE)
            return ERR_MALFORMED;
    }
    if (v[S_REASONS_KNOWN] != NULL &&
        wire_get_bool(v[S_REASONS_KNOWN], &s->reasons_known) != 0)
        return ERR_MALFORMED;
    if ((v[S_REASONS] != NULL) != s->reasons_known)
        return ERR_MALFORMED;
    if (s->reasons_known &&
        reply_read_reasons(v[S_REASONS], s->reasons, &s->nreasons) != 0)
        return ERR_MALFORMED;
    return 0;
}

static int
read_account_result(const msgpack_object *o, struct qproto_account_result *a)
{
    static const struct wire_key keys[] = { WIRE_KEY("account"),
        WIRE_KEY("storefront"), WIRE_KEY("as_of"), WIRE_KEY("known"),
        WIRE_KEY("first_seen_age_ms"), WIRE_KEY("account_age_ms"),
        WIRE_KEY("orders_1h"), WIRE_KEY("orders_24h"),
        WIRE_KEY("failed_payments_1h"), WIRE_KEY("failed_payments_24h"),
        WIRE_KEY("failed_logins_1h"), WIRE_KEY("orders_total"),
        WIRE_KEY("amount_mean"), WIRE_KEY("amount_max"), WIRE_KEY("country"),
        WIRE_KEY("fraud") };
    enum { NK = ARRAY_LEN(keys) };
    const msgpack_object *v[NK] = { NULL };
    uint32_t *u32[NK] = { NULL };
    uint64_t u = 0;
    unsigned k;

    u32[6] = &a->orders_1h;
    u32[7] = &a->orders_24h;
    u32[8] = &a->failed_payments_1h;
    u32[9] = &a->failed_payments_24h;
    u32[10] = &a->failed_logins_1h;
    u32[11] = &a->orders_total;
    a->first_seen_age_ms = -1;
    a->account_age_ms = -1;
    if (wire_collect(o, keys, NK, "result.", v, NULL, 0) != 0 || v[0] == NULL ||
        v[2] == NULL || v[3] == NULL || v[15] == NULL)
        return ERR_MALFORMED;
    for (k = 0; k < NK; k++) {
        int rc = 0;

        if (v[k] == NULL)
            continue;
        if (u32[k] != NULL) {
            rc = wire_get_uint(v[k], 0, UINT32_MAX, &u);
            *u32[k] = (uint32_t)u;
        } else if (k == 0) {
            rc = WIRE_GET_STR(v[k], WIRE_TEXT, 1, a->account);
        } else if (k == 1) {
            rc = WIRE_GET_STR(v[k], WIRE_TEXT, 1, a->storefront);
        } else if (k == 2) {
            rc = wire_get_uint(v[k], 0, UINT64_MAX, &a->as_of);
        } else if (k == 3) {
            rc = wire_get_bool(v[k], &a->known);
        } else if (k == 4 || k == 5) {
            rc = wire_get_uint(v[k], 0, INT64_MAX, &u);
            if (k == 4)
                a->first_seen_age_ms = (int64_t)u;
            else
                a->account_age_ms = (int64_t)u;
        } else if (k == 12) {
            rc = wire_get_uint(v[k], 0, UINT64_MAX, &a->amount_mean);
        } else if (k == 13) {
            rc = wire_get_uint(v[k], 0, UINT64_MAX, &a->amount_max);
        } else if (k == 14) {
            rc = WIRE_GET_STR(v[k], WIRE_TEXT, 2, a->country);
        } else {
            rc = wire_get_bool(v[k], &a->fraud);
        }
        if (rc != 0)
            return ERR_MALFORMED;
    }
    return 0;
}

int
qproto_reply_decode(struct wire_dec *d, struct qproto_reply *r,
    enum qproto_op op, const void *data, size_t len, char *msg, size_t msglen)
{
    static const struct wire_key keys[] = { WIRE_KEY("id"), WIRE_KEY("ok"),
        WIRE_KEY("code"), WIRE_KEY("msg"), WIRE_KEY("result") };
    const msgpack_object *v[5] = { NULL };
    char tmp[EVENT_SHORT_MAX + 1];
    msgpack_object top;
    const char *why = NULL;
    bool ok = false;
    int rc;

    memset(r, 0, sizeof(*r));
    r->op = op;
    set_msg(msg, msglen, "%s", "");
    if (len > QPROTO_MAX_BYTES) {
        why = "reply too big";
        goto fail;
    }
    /* reply > result > reasons > reason */
    if (wire_decode(d, data, len, 4, &top, &why) != 0)
        goto fail;
    if (wire_collect(&top, keys, 5, "reply.", v, NULL, 0) != 0 ||
        v[0] == NULL || v[1] == NULL || v[2] == NULL || v[3] == NULL) {
        why = "reply: not a map of id, ok, code, msg and result";
        goto fail;
    }
    if (WIRE_GET_STR(v[0], WIRE_TEXT, 0, r->id) != 0 ||
        wire_get_bool(v[1], &ok) != 0 ||
        WIRE_GET_STR(v[2], WIRE_TOKEN, 1, tmp) != 0 ||
        WIRE_GET_STR(v[3], WIRE_TEXT, 0, r->msg) != 0) {
        why = "reply: a key of the wrong type";
        goto fail;
    }
    r->code = reply_code_parse(tmp);
    if (r->code > 0) {
        why = "reply: unknown code";
        goto fail;
    }
    if (ok != (r->code == 0) || (v[4] != NULL && !ok)) {
        why = "reply: ok and code disagree";
        goto fail;
    }
    if (v[4] != NULL) {
        if (op == QPROTO_OP_SCORE_GET)
            rc = read_score_result(v[4], &r->score);
        else if (op == QPROTO_OP_ACCOUNT_GET)
            rc = read_account_result(v[4], &r->account);
        else
            rc = ERR_MALFORMED;
        if (rc != 0) {
            why = "reply: a malformed result";
            goto fail;
        }
        r->has_result = true;
    }
    return 0;
fail:
    set_msg(msg, msglen, "%s", why != NULL ? why : "reply: malformed");
    return ERR_MALFORMED;
}
