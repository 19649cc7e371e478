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

/* Each op's name and arguments: required, optional, and exactly one of. */
static const struct {
    const char *name;
    uint32_t required, optional, one_of;
} op_spec[QPROTO_OP_COUNT] = {
    [QPROTO_OP_NONE] = { "", 0, 0, 0 },
    [QPROTO_OP_SCORE_GET] = { "score.get", QPROTO_ARG_ORDER, 0, 0 },
    [QPROTO_OP_ACCOUNT_GET] = { "account.get", QPROTO_ARG_ACCOUNT, 0, 0 },
    [QPROTO_OP_LABEL] = { "label", QPROTO_ARG_FRAUD,
        QPROTO_ARG_SOURCE | QPROTO_ARG_TS,
        QPROTO_ARG_ORDER | QPROTO_ARG_ACCOUNT },
    [QPROTO_OP_REVIEW_LIST] = { "review.list", 0,
        QPROTO_ARG_LIMIT | QPROTO_ARG_AFTER, 0 },
    [QPROTO_OP_REVIEW_DECIDE] = { "review.decide", QPROTO_ARG_FRAUD,
        QPROTO_ARG_SOURCE, QPROTO_ARG_ORDER | QPROTO_ARG_REF },
    [QPROTO_OP_LINKED_GET] = { "linked.get", QPROTO_ARG_ACCOUNT, 0, 0 },
    [QPROTO_OP_EXPORT] = { "export", 0, QPROTO_ARG_LIMIT | QPROTO_ARG_AFTER,
        0 },
    [QPROTO_OP_LIST_SET] = { "list.set",
        QPROTO_ARG_ENTITY | QPROTO_ARG_VALUE | QPROTO_ARG_LIST, 0, 0 },
    [QPROTO_OP_LIST_GET] = { "list.get", QPROTO_ARG_ENTITY | QPROTO_ARG_VALUE,
        0, 0 },
    [QPROTO_OP_STATUS] = { "status", 0, 0, 0 },
    [QPROTO_OP_SUBJECT_REPORT] = { "subject.report",
        QPROTO_ARG_KIND | QPROTO_ARG_VALUE, QPROTO_ARG_FROM, 0 },
    [QPROTO_OP_SUBJECT_ERASE] = { "subject.erase",
        QPROTO_ARG_KIND | QPROTO_ARG_VALUE, 0, 0 },
    [QPROTO_OP_SUBJECT_EXPORT] = { "subject.export",
        QPROTO_ARG_KIND | QPROTO_ARG_VALUE, 0, 0 },
};

const char *
qproto_op_name(enum qproto_op op)
{
    if ((unsigned)op >= QPROTO_OP_COUNT)
        return "";
    return op_spec[op].name;
}

enum qproto_op
qproto_op_parse(const char *name)
{
    int k;

    for (k = QPROTO_OP_NONE + 1; k < QPROTO_OP_COUNT; k++)
        if (strcmp(name, op_spec[k].name) == 0)
            return (enum qproto_op)k;
    return QPROTO_OP_NONE;
}

/* ------------------------------------------------------------ requests */

/* The keys: the common ones (Q_V..Q_CASE), then one per QPROTO_ARG_ bit. */
enum {
    Q_V,
    Q_OP,
    Q_ID,
    Q_PURPOSE,
    Q_STOREFRONT,
    Q_CASE,
    Q_ORDER, /* QPROTO_ARG_ORDER, the first argument key */
    Q_ACCOUNT,
    Q_FRAUD,
    Q_SOURCE,
    Q_TS,
    Q_LIMIT,
    Q_AFTER,
    Q_REF,
    Q_ENTITY,
    Q_VALUE,
    Q_LIST,
    Q_KIND,
    Q_FROM,
    Q_COUNT
};
#define Q_FIRST_ARG  Q_ORDER
#define Q_ARG_BIT(k) (1u << ((k)-Q_FIRST_ARG))

static const struct wire_key request_keys[Q_COUNT] = { WIRE_KEY("v"),
    WIRE_KEY("op"), WIRE_KEY("id"), WIRE_KEY("purpose"), WIRE_KEY("storefront"),
    WIRE_KEY("case"), WIRE_KEY("order"), WIRE_KEY("account"), WIRE_KEY("fraud"),
    WIRE_KEY("source"), WIRE_KEY("ts"), WIRE_KEY("limit"), WIRE_KEY("after"),
    WIRE_KEY("ref"), WIRE_KEY("entity"), WIRE_KEY("value"), WIRE_KEY("list"),
    WIRE_KEY("kind"), WIRE_KEY("from") };

static const char *const field_err[Q_COUNT] = {
    "v: must be the integer 2",
    "op: must be a string naming an operation",
    "id: must be a string of 1..128 bytes of text",
    "purpose: must be a string of 1..64 bytes of [a-z0-9._-]",
    "storefront: must be a string of 1..128 bytes of [A-Za-z0-9._-]",
    "case: must be a string of 1..64 bytes of text",
    "order: must be a string of 1..128 bytes of text",
    "account: must be a string of 1..128 bytes of text",
    "fraud: must be a boolean",
    "source: must be a string of 1..32 bytes of [a-z0-9._-]",
    "ts: must be an integer of ms between 2000 and 2100",
    "limit: must be a positive integer within the op's page size",
    "after: must be a string of 1..128 bytes of [a-z0-9._-]",
    "ref: must be 32 lower-case hex digits",
    "entity: must be one of account, device, ip, card, email",
    "value: must be a string of 1..254 bytes of text",
    "list: must be one of allow, block, none",
    "kind: must be a subject kind (account, order, email, phone, ...)",
    "from: must be an unsigned integer",
};

/* The identifier kinds of the subject ops (qproto.h section 1). */
static const char *const subject_kinds[] = { "account", "order", "email",
    "phone", "name", "address", "card", "device", "ip", "storefront" };

/* True when `s` is 1..128 bytes of [A-Za-z0-9._-] (a client's name). */
static bool
name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > EVENT_ID_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The values of "entity" and "list" (list.set). */
static const char *const entity_names[] = { "account", "device", "ip", "card",
    "email", NULL };
static const char *const list_names[] = { "allow", "block", "none", NULL };

static bool
one_of(const char *s, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(s, *names) == 0)
            return true;
    return false;
}

/* True when `s` is exactly `n` lower-case hex digits. */
static bool
hex_ok(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

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
        if (WIRE_GET_STR(o, WIRE_NAME, 1, q->storefront) != 0 ||
            !name_ok(q->storefront))
            return ERR_INVAL;
        return 0;
    case Q_CASE:
        return WIRE_GET_STR(o, WIRE_NAME, 1, q->case_ref);
    case Q_ORDER:
        return WIRE_GET_STR(o, WIRE_TEXT, 1, q->order);
    case Q_ACCOUNT:
        return WIRE_GET_STR(o, WIRE_TEXT, 1, q->account);
    case Q_FRAUD:
        return wire_get_bool(o, &q->fraud);
    case Q_SOURCE:
        return WIRE_GET_STR(o, WIRE_TOKEN, 1, q->source);
    case Q_TS:
        return wire_get_uint(o, EVENT_MIN_TS, EVENT_MAX_TS, &q->ts);
    case Q_LIMIT:
        if (wire_get_uint(o, 1, QPROTO_EXPORT_MAX, &u) != 0)
            return ERR_INVAL;
        q->limit = (uint32_t)u;
        return 0;
    case Q_AFTER:
        return WIRE_GET_STR(o, WIRE_TOKEN, 1, q->after);
    case Q_REF:
        if (WIRE_GET_STR(o, WIRE_TOKEN, 1, q->ref) != 0 ||
            !hex_ok(q->ref, 2 * PSEUDO_BYTES))
            return ERR_INVAL;
        return 0;
    case Q_ENTITY:
        if (WIRE_GET_STR(o, WIRE_TOKEN, 1, q->entity) != 0 ||
            !one_of(q->entity, entity_names))
            return ERR_INVAL;
        return 0;
    case Q_VALUE:
        return WIRE_GET_STR(o, WIRE_TEXT, 1, q->value);
    case Q_LIST:
        if (WIRE_GET_STR(o, WIRE_TOKEN, 1, q->list) != 0 ||
            !one_of(q->list, list_names))
            return ERR_INVAL;
        return 0;
    case Q_KIND:
        if (WIRE_GET_STR(o, WIRE_TOKEN, 1, q->kind) != 0)
            return ERR_INVAL;
        for (size_t i = 0; i < ARRAY_LEN(subject_kinds); i++)
            if (strcmp(q->kind, subject_kinds[i]) == 0)
                return 0;
        return ERR_INVAL;
    case Q_FROM:
        return wire_get_uint(o, 0, UINT64_MAX, &q->from);
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

/* Check the arguments present against op q->op's spec. */
static int
check_args(const struct qproto_request *q, char *msg, size_t msglen)
{
    uint32_t req = op_spec[q->op].required, one = op_spec[q->op].one_of;
    uint32_t allowed = req | one | op_spec[q->op].optional;
    int k;

    for (k = Q_FIRST_ARG; k < Q_COUNT; k++) {
        uint32_t bit = Q_ARG_BIT(k);

        if ((q->args & bit) && !(allowed & bit)) {
            text_fmt(msg, msglen, "%s: not an argument of %s",
                request_keys[k].name, op_spec[q->op].name);
            return ERR_INVAL;
        }
        if ((req & bit) && !(q->args & bit)) {
            text_fmt(msg, msglen, "%s: required by %s", request_keys[k].name,
                op_spec[q->op].name);
            return ERR_INVAL;
        }
    }
    if (one != 0 && __builtin_popcount(q->args & one) != 1) {
        text_fmt(msg, msglen, "%s needs exactly one of %s", op_spec[q->op].name,
            (one & QPROTO_ARG_REF) ? "order and ref" : "order and account");
        return ERR_INVAL;
    }
    if ((q->args & QPROTO_ARG_LIMIT) && q->op == QPROTO_OP_REVIEW_LIST &&
        q->limit > QPROTO_REVIEW_PAGE) {
        text_fmt(msg, msglen, "limit: at most %d for review.list",
            QPROTO_REVIEW_PAGE);
        return ERR_INVAL;
    }
    return 0;
}

int
qproto_request_decode(struct wire_dec *d, struct qproto_request *q,
    const void *data, size_t len, char *msg, size_t msglen)
{
    const msgpack_object *v[Q_COUNT] = { NULL };
    char why[REPLY_MSG_MAX + 1];
    msgpack_object top;
    const char *wwhy;
    int k, rc;

    memset(q, 0, sizeof(*q));
    text_fmt(msg, msglen, "%s", "");
    if (len > QPROTO_MAX_BYTES) {
        text_fmt(msg, msglen, "request larger than %d bytes", QPROTO_MAX_BYTES);
        return ERR_TOOBIG;
    }
    rc = wire_decode(d, data, len, 4, &top, &wwhy);
    if (rc != 0) {
        if (strncmp(wwhy, "trailing", 8) == 0) {
            text_fmt(msg, msglen, "request: trailing bytes after the map");
            find_id(d, data, len, q);
        } else {
            text_fmt(msg, msglen, "request: not msgpack (%s)", wwhy);
        }
        return ERR_MALFORMED;
    }
    if (top.type != MSGPACK_OBJECT_MAP) {
        text_fmt(msg, msglen, "request: not a msgpack map");
        return ERR_MALFORMED;
    }
    /* The id first, so that even a refused request can be answered. */
    read_id(&top, q);

    /* A repeated key is a field error here (section 1), not malformed. */
    rc = wire_collect(&top, request_keys, Q_COUNT, "", v, why, sizeof(why));
    if (rc != 0) {
        text_fmt(msg, msglen, "request: %s", why);
        return ERR_INVAL;
    }
    for (k = 0; k < Q_COUNT; k++) {
        if (v[k] == NULL)
            continue;
        if (read_key(q, k, v[k]) != 0) {
            text_fmt(msg, msglen, "%s", field_err[k]);
            return ERR_INVAL;
        }
        if (k >= Q_FIRST_ARG)
            q->args |= Q_ARG_BIT(k);
    }
    for (k = 0; k < Q_STOREFRONT; k++) {
        if (v[k] == NULL) {
            text_fmt(msg, msglen, "%s: required", request_keys[k].name);
            return ERR_INVAL;
        }
    }
    if (q->op == QPROTO_OP_NONE) {
        text_fmt(msg, msglen, "op: unknown operation");
        return ERR_INVAL;
    }
    return check_args(q, msg, msglen);
}

/* Put key k and string `val` when it is not "". */
static void
put_opt_str(struct wire_enc *e, int k, const char *val)
{
    if (val[0] == '\0')
        return;
    wire_put_str(e, request_keys[k].name);
    wire_put_str(e, val);
}

int
qproto_request_encode(struct buf *out, const struct qproto_request *q)
{
    struct wire_enc e;
    uint32_t n = 4;
    char msg[8];

    if (q->op == QPROTO_OP_NONE || (unsigned)q->op >= QPROTO_OP_COUNT ||
        q->id[0] == '\0' || q->purpose[0] == '\0' ||
        check_args(q, msg, sizeof(msg)) != 0)
        return ERR_INVAL;
    n += q->storefront[0] != '\0';
    n += q->case_ref[0] != '\0';
    n += (uint32_t)__builtin_popcount(q->args);
    wire_enc_begin(&e, out);
    wire_put_map(&e, n);
    wire_put_str(&e, "v");
    wire_put_uint(&e, QPROTO_VERSION);
    wire_put_str(&e, "op");
    wire_put_str(&e, qproto_op_name(q->op));
    wire_put_str(&e, "id");
    WIRE_PUT_ARR(&e, q->id);
    wire_put_str(&e, "purpose");
    WIRE_PUT_ARR(&e, q->purpose);
    put_opt_str(&e, Q_STOREFRONT, q->storefront);
    put_opt_str(&e, Q_CASE, q->case_ref);
    if (q->args & QPROTO_ARG_ORDER)
        put_opt_str(&e, Q_ORDER, q->order);
    if (q->args & QPROTO_ARG_ACCOUNT)
        put_opt_str(&e, Q_ACCOUNT, q->account);
    if (q->args & QPROTO_ARG_FRAUD) {
        wire_put_str(&e, "fraud");
        wire_put_bool(&e, q->fraud);
    }
    if (q->args & QPROTO_ARG_SOURCE)
        put_opt_str(&e, Q_SOURCE, q->source);
    if (q->args & QPROTO_ARG_TS) {
        wire_put_str(&e, "ts");
        wire_put_uint(&e, q->ts);
    }
    if (q->args & QPROTO_ARG_LIMIT) {
        wire_put_str(&e, "limit");
        wire_put_uint(&e, q->limit);
    }
    if (q->args & QPROTO_ARG_AFTER)
        put_opt_str(&e, Q_AFTER, q->after);
    if (q->args & QPROTO_ARG_REF)
        put_opt_str(&e, Q_REF, q->ref);
    if (q->args & QPROTO_ARG_ENTITY)
        put_opt_str(&e, Q_ENTITY, q->entity);
    if (q->args & QPROTO_ARG_VALUE)
        put_opt_str(&e, Q_VALUE, q->value);
    if (q->args & QPROTO_ARG_LIST)
        put_opt_str(&e, Q_LIST, q->list);
    if (q->args & QPROTO_ARG_KIND)
        put_opt_str(&e, Q_KIND, q->kind);
    if (q->args & QPROTO_ARG_FROM) {
        wire_put_str(&e, "from");
        wire_put_uint(&e, q->from);
    }
    return wire_enc_end(&e);
}

/* ------------------------------------------------------------- replies */

static void
put_head(
    struct wire_enc *e, uint32_t n, const char *id, int code, const char *msg)
{
    wire_put_map(e, n);
    wire_put_str(e, "id");
    wire_put_strn(e, id, strnlen(id, EVENT_ID_MAX));
    wire_put_str(e, "ok");
    wire_put_bool(e, code == 0);
    wire_put_str(e, "code");
    wire_put_str(e, err_name(code));
    wire_put_str(e, "msg");
    wire_put_strn(e, msg, strnlen(msg, REPLY_MSG_MAX));
}

void
qproto_reply_begin(struct wire_enc *e, struct buf *out, const char *id)
{
    wire_enc_begin(e, out);
    put_head(e, 5, id, 0, "");
    wire_put_str(e, "result");
}

int
qproto_reply_error_encode(
    struct buf *out, const char *id, int code, const char *msg)
{
    struct wire_enc e;

    wire_enc_begin(&e, out);
    put_head(&e, 4, id != NULL ? id : "", code != 0 ? code : ERR_IO, msg);
    return wire_enc_end(&e);
}

int
qproto_reply_retry_encode(struct buf *out, const char *id, int code,
    const char *msg, uint32_t retry_after_ms)
{
    struct wire_enc e;

    if (retry_after_ms < 1)
        retry_after_ms = 1;
    if (retry_after_ms > REPLY_RETRY_MAX_MS)
        retry_after_ms = REPLY_RETRY_MAX_MS;
    wire_enc_begin(&e, out);
    put_head(&e, 5, id != NULL ? id : "", code != 0 ? code : ERR_IO, msg);
    wire_put_str(&e, "retry_after_ms");
    wire_put_uint(&e, retry_after_ms);
    return wire_enc_end(&e);
}

int
qproto_reply_decode(struct wire_dec *d, struct qproto_reply *r,
    const void *data, size_t len, char *msg, size_t msglen)
{
    static const struct wire_key keys[] = { WIRE_KEY("id"), WIRE_KEY("ok"),
        WIRE_KEY("code"), WIRE_KEY("msg"), WIRE_KEY("result"),
        WIRE_KEY("retry_after_ms") };
    const msgpack_object *v[6] = { NULL };
    char tmp[EVENT_SHORT_MAX + 1];
    msgpack_object top;
    const char *why = NULL;
    uint64_t retry = 0;
    bool ok = false;

    memset(r, 0, sizeof(*r));
    text_fmt(msg, msglen, "%s", "");
    if (len > QPROTO_REPLY_MAX) {
        why = "reply too big";
        goto fail;
    }
    /* reply > result > lists > items > their fields */
    if (wire_decode(d, data, len, 6, &top, &why) != 0)
        goto fail;
    if (wire_collect(&top, keys, 6, "reply.", v, NULL, 0) != 0 ||
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
    if (v[5] != NULL) {
        if (ok || wire_get_uint(v[5], 1, REPLY_RETRY_MAX_MS, &retry) != 0) {
            why = "reply: retry_after_ms out of place or range";
            goto fail;
        }
        r->retry_after_ms = (uint32_t)retry;
    }
    if (v[4] != NULL) {
        uint32_t i;

        if (v[4]->type != MSGPACK_OBJECT_MAP) {
            why = "reply: the result is not a map";
            goto fail;
        }
        for (i = 0; i < v[4]->via.map.size; i++)
            if (v[4]->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
                why = "reply: a result key is not a string";
                goto fail;
            }
        r->result = v[4];
    }
    return 0;
fail:
    memset(r, 0, sizeof(*r));
    text_fmt(msg, msglen, "%s", why != NULL ? why : "reply: malformed");
    return ERR_MALFORMED;
}
