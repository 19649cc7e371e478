/*
 * proto.c - the strict msgpack codec of every Vigil message
 *
 * Storefront frames (untrusted, collector) are first walked byte by byte
 * by a small scanner that enforces the size, depth and declared-count
 * limits before msgpack-c ever sees them, then unpacked once into a zone
 * kept across calls and decoded field by field against the schema of
 * proto.h. Internal events, replies and the collector<->scorer envelopes
 * are encoded with msgpack_packer into a bounded stage and decoded with
 * the same scanner, without any allocation.
 *
 * Invariants:
 *  - nothing from struct event_pii is ever encoded;
 *  - msgpack_unpack only runs on bytes the scanner accepted, so no
 *    declared count can exceed the bytes present (no huge allocation);
 *  - error messages name the field and the rule, never the value.
 *
 * See also: proto.h (the wire specification), pseudo.h, DESIGN.md "Events"
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------ names */

static const char *const event_type_names[EVENT_TYPE_COUNT] = {
    [EVENT_NONE] = "unknown",
    [EVENT_DEVICE_SEEN] = "device.seen",
    [EVENT_ACCOUNT_SIGNUP] = "account.signup",
    [EVENT_ACCOUNT_LOGIN] = "account.login",
    [EVENT_ACCOUNT_UPDATE] = "account.update",
    [EVENT_ORDER_PLACED] = "order.placed",
    [EVENT_PAYMENT_RESULT] = "payment.result",
    [EVENT_LABEL] = "label",
};

static const char *const update_field_names[] = {
    [UPDATE_NONE] = "",
    [UPDATE_EMAIL] = "email",
    [UPDATE_PHONE] = "phone",
    [UPDATE_NAME] = "name",
    [UPDATE_ADDRESS] = "address",
    [UPDATE_PASSWORD] = "password",
};

const char *
proto_event_type_name(enum event_type t)
{
    if ((int)t <= (int)EVENT_NONE || (int)t >= (int)EVENT_TYPE_COUNT)
        return "unknown";
    return event_type_names[t];
}

const char *
proto_decision_name(enum decision d)
{
    switch (d) {
    case DECISION_ALLOW:
        return "allow";
    case DECISION_REVIEW:
        return "review";
    case DECISION_BLOCK:
        return "block";
    case DECISION_NONE:
        break;
    }
    return "";
}

/* ------------------------------------------------- raw msgpack scanner */

/*
 * A cursor over raw msgpack bytes. mp_next() reads one item header (and
 * for str/bin/ext also locates the body), checking every length and
 * declared count against the bytes that remain. `why` says what failed.
 */
struct mp_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
    const char *why;
};

enum mp_kind {
    MP_NIL,
    MP_BOOL,
    MP_UINT, /* any non-negative integer encoding */
    MP_NINT, /* a negative integer */
    MP_FLOAT,
    MP_STR,
    MP_BIN,
    MP_ARRAY,
    MP_MAP,
    MP_EXT,
};

struct mp_tok {
    enum mp_kind kind;
    uint64_t u;         /* bool, uint value, or str/bin/ext length, or count */
    double d;           /* float value */
    const uint8_t *ptr; /* str/bin body */
};

static void
mp_cur_init(struct mp_cur *c, const void *data, size_t len)
{
    c->p = data;
    c->len = len;
    c->off = 0;
    c->why = NULL;
}

static int
mp_bad(struct mp_cur *c, const char *why)
{
    c->why = why;
    return ERR_MALFORMED;
}

/* Read an n-byte big-endian unsigned integer (n <= 8). */
static int
mp_be(struct mp_cur *c, size_t n, uint64_t *v)
{
    size_t i;

    if (c->len - c->off < n)
        return mp_bad(c, "truncated message");
    *v = 0;
    for (i = 0; i < n; i++)
        *v = (*v << 8) | c->p[c->off + i];
    c->off += n;
    return 0;
}

/* Locate a body of `n` bytes at the cursor and step over it. */
static int
mp_body(struct mp_cur *c, uint64_t n, struct mp_tok *t)
{
    if (n > c->len - c->off)
        return mp_bad(c, "a length exceeds the bytes present");
    t->u = n;
    t->ptr = c->p + c->off;
    c->off += (size_t)n;
    return 0;
}

/* A container of n items (maps: 2n) needs at least one byte per item. */
static int
mp_count(struct mp_cur *c, uint64_t n, enum mp_kind kind, struct mp_tok *t)
{
    uint64_t left = c->len - c->off;

    if (n > left || (kind == MP_MAP && n > left / 2))
        return mp_bad(c, "a declared element count exceeds the bytes present");
    t->kind = kind;
    t->u = n;
    return 0;
}

static int
mp_next(struct mp_cur *c, struct mp_tok *t)
{
    uint64_t v;
    uint8_t b;
    int rc;

    memset(t, 0, sizeof(*t));
    if (c->off >= c->len)
        return mp_bad(c, "truncated message");
    b = c->p[c->off++];
    if (b <= 0x7f) {
        t->kind = MP_UINT;
        t->u = b;
        return 0;
    }
    if (b >= 0xe0) {
        t->kind = MP_NINT;
        return 0;
    }
    if (b <= 0x8f)
        return mp_count(c, b & 0x0f, MP_MAP, t);
    if (b <= 0x9f)
        return mp_count(c, b & 0x0f, MP_ARRAY, t);
    if (b <= 0xbf) {
        t->kind = MP_STR;
        return mp_body(c, b & 0x1f, t);
    }
    switch (b) {
    case 0xc0:
        t->kind = MP_NIL;
        return 0;
    case 0xc2:
    case 0xc3:
        t->kind = MP_BOOL;
        t->u = b == 0xc3;
        return 0;
    case 0xc4:
    case 0xc5:
    case 0xc6:
        t->kind = MP_BIN;
        rc = mp_be(c, (size_t)1 << (b - 0xc4), &v);
        if (rc != 0)
            return rc;
        return mp_body(c, v, t);
    case 0xc7:
    case 0xc8:
    case 0xc9:
        t->kind = MP_EXT;
        rc = mp_be(c, (size_t)1 << (b - 0xc7), &v);
        if (rc != 0)
            return rc;
        return mp_body(c, v + 1, t); /* the type byte, then the data */
    case 0xca: {
        uint32_t w;
        float f;

        rc = mp_be(c, 4, &v);
        if (rc != 0)
            return rc;
        w = (uint32_t)v;
        memcpy(&f, &w, sizeof(f));
        t->kind = MP_FLOAT;
        t->d = f;
        return 0;
    }
    case 0xcb:
        rc = mp_be(c, 8, &v);
        if (rc != 0)
            return rc;
        t->kind = MP_FLOAT;
        memcpy(&t->d, &v, sizeof(t->d));
        return 0;
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf:
        rc = mp_be(c, (size_t)1 << (b - 0xcc), &v);
        if (rc != 0)
            return rc;
        t->kind = MP_UINT;
        t->u = v;
        return 0;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
        size_t n = (size_t)1 << (b - 0xd0);

        rc = mp_be(c, n, &v);
        if (rc != 0)
            return rc;
        /* As msgpack-c does: a non-negative signed value is a uint. */
        if (v >> (n * 8 - 1)) {
            t->kind = MP_NINT;
        } else {
            t->kind = MP_UINT;
            t->u = v;
        }
        return 0;
    }
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        t->kind = MP_EXT;
        return mp_body(c, ((uint64_t)1 << (b - 0xd4)) + 1, t);
    case 0xd9:
    case 0xda:
    case 0xdb:
        t->kind = MP_STR;
        rc = mp_be(c, (size_t)1 << (b - 0xd9), &v);
        if (rc != 0)
            return rc;
        return mp_body(c, v, t);
    case 0xdc:
    case 0xdd:
        rc = mp_be(c, (size_t)2 << (b - 0xdc), &v);
        if (rc != 0)
            return rc;
        return mp_count(c, v, MP_ARRAY, t);
    case 0xde:
    case 0xdf:
        rc = mp_be(c, (size_t)2 << (b - 0xde), &v);
        if (rc != 0)
            return rc;
        return mp_count(c, v, MP_MAP, t);
    default: /* 0xc1 is never used */
        break;
    }
    return mp_bad(c, "not msgpack");
}

/*
 * Step over one complete item. `depth` is the number of containers
 * around it; a container deeper than `maxdepth` and any ext item are
 * refused. Recursion is bounded by maxdepth and the work by the bytes.
 */
static int
mp_skip(struct mp_cur *c, int depth, int maxdepth)
{
    struct mp_tok t;
    uint64_t i, n;
    int rc;

    rc = mp_next(c, &t);
    if (rc != 0)
        return rc;
    if (t.kind == MP_EXT)
        return mp_bad(c, "ext types are not accepted");
    if (t.kind != MP_ARRAY && t.kind != MP_MAP)
        return 0;
    if (depth + 1 > maxdepth)
        return mp_bad(c, "nesting too deep");
    n = t.kind == MP_MAP ? t.u * 2 : t.u;
    for (i = 0; i < n; i++) {
        rc = mp_skip(c, depth + 1, maxdepth);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Typed reads for the strict internal decoders. */
static int
mp_want(struct mp_cur *c, enum mp_kind kind, struct mp_tok *t)
{
    int rc;

    rc = mp_next(c, t);
    if (rc != 0)
        return rc;
    if (t->kind != kind)
        return mp_bad(c, "unexpected type");
    return 0;
}

static int
mp_read_uint(struct mp_cur *c, uint64_t min, uint64_t max, uint64_t *v)
{
    struct mp_tok t;
    int rc;

    rc = mp_want(c, MP_UINT, &t);
    if (rc != 0)
        return rc;
    if (t.u < min || t.u > max)
        return mp_bad(c, "integer out of range");
    *v = t.u;
    return 0;
}

/* Read a str of at most dstsize-1 bytes, without NUL, into dst. */
static int
mp_read_cstr(struct mp_cur *c, char *dst, size_t dstsize)
{
    struct mp_tok t;
    int rc;

    rc = mp_want(c, MP_STR, &t);
    if (rc != 0)
        return rc;
    if (t.u > dstsize - 1)
        return mp_bad(c, "string too long");
    if (t.u > 0 && memchr(t.ptr, 0, (size_t)t.u) != NULL)
        return mp_bad(c, "NUL in string");
    if (t.u > 0)
        memcpy(dst, t.ptr, (size_t)t.u);
    dst[t.u] = '\0';
    return 0;
}

/* ----------------------------------------------------------- packing */

/*
 * Every encoder packs into a bounded stage on the stack and appends it
 * to the caller's buf in one buf_append, so a failure leaves the buf
 * unchanged and the buf's cap is enforced. The stage's overflow flag is
 * sticky, so one check after packing covers every msgpack_pack_* call.
 */
#define PROTO_STAGE_MAX 4096

struct stage {
    size_t len;
    bool over;
    uint8_t b[PROTO_STAGE_MAX];
};

static int
stage_write(void *data, const char *p, size_t n)
{
    struct stage *s = data;

    if (s->over || n > sizeof(s->b) - s->len) {
        s->over = true;
        return -1;
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
    return 0;
}

static void
stage_init(struct stage *s, msgpack_packer *pk)
{
    s->len = 0;
    s->over = false;
    msgpack_packer_init(pk, s, stage_write);
}

static int
stage_flush(struct stage *s, struct buf *out)
{
    if (s->over)
        return ERR_TOOBIG;
    return buf_append(out, s->b, s->len);
}

static void
pk_str(msgpack_packer *pk, const char *s, size_t max)
{
    (void)msgpack_pack_str_with_body(pk, s, strnlen(s, max));
}

/* Pack a NUL-terminated char array field, never reading past it. */
#define PK_STR(pk, arr) pk_str((pk), (arr), sizeof(arr) - 1)

static void
pk_key(msgpack_packer *pk, const char *k)
{
    (void)msgpack_pack_str_with_body(pk, k, strlen(k));
}

static void
pk_uint(msgpack_packer *pk, uint64_t v)
{
    (void)msgpack_pack_uint64(pk, v);
}

static void
pk_bool(msgpack_packer *pk, bool v)
{
    if (v)
        (void)msgpack_pack_true(pk);
    else
        (void)msgpack_pack_false(pk);
}

static void
pk_pseudo(msgpack_packer *pk, const struct pseudo *ps)
{
    (void)msgpack_pack_bin_with_body(pk, ps->b, PSEUDO_BYTES);
}

/* ============================================== storefront decoding */

/* Decoder state kept in proto_batch.priv across calls. */
struct proto_priv {
    msgpack_zone zone;
};

#define PROTO_ZONE_CHUNK (16 * 1024)

void
proto_batch_init(struct proto_batch *b)
{
    struct proto_priv *pv;

    b->n = 0;
    b->is_array = false;
    b->items = xcalloc(PROTO_MAX_BATCH, sizeof(*b->items));
    pv = xcalloc(1, sizeof(*pv));
    if (!msgpack_zone_init(&pv->zone, PROTO_ZONE_CHUNK))
        fatalx("%s: out of memory", __func__);
    b->priv = pv;
}

void
proto_batch_release(struct proto_batch *b)
{
    struct proto_priv *pv = b->priv;

    if (b->items != NULL) {
        sodium_memzero(b->items, PROTO_MAX_BATCH * sizeof(*b->items));
        free(b->items);
        b->items = NULL;
    }
    if (pv != NULL) {
        msgpack_zone_destroy(&pv->zone);
        free(pv);
        b->priv = NULL;
    }
    b->n = 0;
    b->is_array = false;
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

static int item_fail(struct proto_item *it, int rc, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

/* Record why an event is rejected; returns rc. */
static int
item_fail(struct proto_item *it, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
    va_end(ap);
    it->rc = rc;
    return rc;
}

/*
 * True when s[0..n) is valid UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF) without C0/C1 control characters or DEL.
 */
static bool
text_ok(const uint8_t *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp;

    while (i < n) {
        uint8_t c = s[i];

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (k = 1; k <= need; k++) {
            uint8_t d = s[i + k];

            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            return false;
        if (need == 3 && (cp < 0x10000 || cp > 0x10ffff))
            return false;
        if (cp >= 0x80 && cp <= 0x9f)
            return false;
        i += need + 1;
    }
    return true;
}

static bool
obj_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
        memcmp(o->via.str.ptr, s, n) == 0;
}

/*
 * Give a printable form of a key for a message, or NULL if the key is
 * not a short plain name (then it is left out of the message).
 */
static const char *
key_name(const msgpack_object *k, char *tmp, size_t tmpsize)
{
    size_t i, n;

    if (k->type != MSGPACK_OBJECT_STR)
        return NULL;
    n = k->via.str.size;
    if (n == 0 || n > 32 || n >= tmpsize)
        return NULL;
    for (i = 0; i < n; i++) {
        char ch = k->via.str.ptr[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
                ch == '.'))
            return NULL;
    }
    memcpy(tmp, k->via.str.ptr, n);
    tmp[n] = '\0';
    return tmp;
}

/*
 * Copy a string value of min..max bytes into dst (size > max). Fails
 * with ERR_INVAL naming `name` on a wrong type, length or text.
 */
static int
get_str(struct proto_item *it, const char *name, const msgpack_object *o,
    size_t min, size_t max, char *dst)
{
    size_t n;

    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size < min ||
        o->via.str.size > max)
        return item_fail(it, ERR_INVAL,
            "field '%s': must be a string of %zu..%zu bytes", name, min, max);
    n = o->via.str.size;
    if (!text_ok((const uint8_t *)o->via.str.ptr, n))
        return item_fail(it, ERR_INVAL,
            "field '%s': must be valid UTF-8 without control characters", name);
    if (n > 0)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
    return 0;
}

/* As get_str, with the array's own size as the bound. */
#define GET_STR(it, name, o, min, dst)                                         \
    get_str((it), (name), (o), (min), sizeof(dst) - 1, (dst))

static int
get_uint(struct proto_item *it, const char *name, const msgpack_object *o,
    uint64_t min, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min ||
        o->via.u64 > max)
        return item_fail(it, ERR_INVAL,
            "field '%s': must be an unsigned integer %llu..%llu", name,
            (unsigned long long)min, (unsigned long long)max);
    *v = o->via.u64;
    return 0;
}

static int
get_bool(
    struct proto_item *it, const char *name, const msgpack_object *o, bool *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return item_fail(it, ERR_INVAL, "field '%s': must be a boolean", name);
    *v = o->via.boolean;
    return 0;
}

static bool
all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool
upper_letters(const char *s, size_t n)
{
    size_t i;

    if (strlen(s) != n)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < 'A' || s[i] > 'Z')
            return false;
    return true;
}

static bool
luhn_ok(const char *s)
{
    size_t i, n = strlen(s);
    unsigned sum = 0;

    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[n - 1 - i] - '0');

        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* Whether lower-cased `hay` contains any of `needles` (lower case). */
static bool
has_any(const char *hay, const char *const *needles)
{
    for (; *needles != NULL; needles++)
        if (strstr(hay, *needles) != NULL)
            return true;
    return false;
}

/*
 * The browser family of a user agent (needles are lower case). The agent
 * is lower-cased once, then searched with strstr: this runs for every
 * event, and a byte-by-byte case-insensitive search per needle was the
 * collector's hottest function.
 */
static const char *
ua_family(const char *ua)
{
    static const char *const bot[] = { "bot", "crawl", "spider", "slurp",
        "headless", NULL };
    static const char *const edge[] = { "edg/", "edge/", "edga/", "edgios/",
        NULL };
    static const char *const opera[] = { "opr/", "opera", NULL };
    static const char *const firefox[] = { "firefox/", "fxios/", NULL };
    static const char *const chrome[] = { "chrome/", "crios/", "chromium/",
        NULL };
    static const char *const safari[] = { "safari/", NULL };
    static const char *const ie[] = { "msie ", "trident/", NULL };
    char lc[PROTO_UA_MAX + 1];
    size_t i;

    for (i = 0; i < PROTO_UA_MAX && ua[i] != '\0'; i++)
        lc[i] = (ua[i] >= 'A' && ua[i] <= 'Z') ? (char)(ua[i] + 32) : ua[i];
    lc[i] = '\0';
    if (has_any(lc, bot))
        return "bot";
    if (has_any(lc, edge))
        return "edge";
    if (has_any(lc, opera))
        return "opera";
    if (has_any(lc, firefox))
        return "firefox";
    if (has_any(lc, chrome))
        return "chrome";
    if (has_any(lc, safari))
        return "safari";
    if (has_any(lc, ie))
        return "ie";
    return "other";
}

static void
copy_cstr(char *dst, size_t dstsize, const char *src)
{
    size_t n = strnlen(src, dstsize - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

#define COPY_STR(dst, src) copy_cstr((dst), sizeof(dst), (src))

/* ------------------------------------------------- the field table */

enum fid {
    F_V,
    F_TYPE,
    F_ID,
    F_TS,
    F_ACCOUNT,
    F_SESSION,
    F_DEVICE,
    F_IP,
    F_IP_COUNTRY,
    F_UA,
    F_TZ,
    F_LANG,
    F_CARRIER,
    F_EMAIL,
    F_PHONE,
    F_NAME,
    F_SOURCE,
    F_AGE,
    F_REFERRER,
    F_OK,
    F_METHOD,
    F_FIELD,
    F_VALUE,
    F_ORDER,
    F_AMOUNT,
    F_CURRENCY,
    F_ITEMS,
    F_CARD,
    F_BILLING,
    F_SHIPPING,
    F_REASON,
    F_FRAUD,
    F_COUNT
};

#define T(x) (1u << (x))
#define T_ALL                                                                  \
    (T(EVENT_DEVICE_SEEN) | T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_ACCOUNT_LOGIN) | \
        T(EVENT_ACCOUNT_UPDATE) | T(EVENT_ORDER_PLACED) |                      \
        T(EVENT_PAYMENT_RESULT) | T(EVENT_LABEL))

static const struct field {
    const char *name;
    unsigned types; /* T(type) for each event type that may carry it */
} fields[F_COUNT] = {
    [F_V] = { "v", T_ALL },
    [F_TYPE] = { "type", T_ALL },
    [F_ID] = { "id", T_ALL },
    [F_TS] = { "ts", T_ALL },
    [F_ACCOUNT] = { "account", T_ALL },
    [F_SESSION] = { "session", T_ALL },
    [F_DEVICE] = { "device", T_ALL },
    [F_IP] = { "ip", T_ALL },
    [F_IP_COUNTRY] = { "ip_country", T_ALL },
    [F_UA] = { "ua", T_ALL },
    [F_TZ] = { "tz", T_ALL },
    [F_LANG] = { "lang", T_ALL },
    [F_CARRIER] = { "carrier", T_ALL },
    [F_EMAIL] = { "email", T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_ORDER_PLACED) },
    [F_PHONE] = { "phone", T(EVENT_ACCOUNT_SIGNUP) },
    [F_NAME] = { "name", T(EVENT_ACCOUNT_SIGNUP) },
    [F_SOURCE] = { "source", T(EVENT_ACCOUNT_SIGNUP) | T(EVENT_LABEL) },
    [F_AGE] = { "age", T(EVENT_ACCOUNT_SIGNUP) },
    [F_REFERRER] = { "referrer", T(EVENT_ACCOUNT_SIGNUP) },
    [F_OK] = { "ok", T(EVENT_ACCOUNT_LOGIN) | T(EVENT_PAYMENT_RESULT) },
    [F_METHOD] = { "method", T(EVENT_ACCOUNT_LOGIN) },
    [F_FIELD] = { "field", T(EVENT_ACCOUNT_UPDATE) },
    [F_VALUE] = { "value", T(EVENT_ACCOUNT_UPDATE) },
    [F_ORDER] = { "order",
        T(EVENT_ORDER_PLACED) | T(EVENT_PAYMENT_RESULT) | T(EVENT_LABEL) },
    [F_AMOUNT] = { "amount", T(EVENT_ORDER_PLACED) },
    [F_CURRENCY] = { "currency", T(EVENT_ORDER_PLACED) },
    [F_ITEMS] = { "items", T(EVENT_ORDER_PLACED) },
    [F_CARD] = { "card", T(EVENT_ORDER_PLACED) },
    [F_BILLING] = { "billing", T(EVENT_ORDER_PLACED) },
    [F_SHIPPING] = { "shipping", T(EVENT_ORDER_PLACED) },
    [F_REASON] = { "reason", T(EVENT_PAYMENT_RESULT) },
    [F_FRAUD] = { "fraud", T(EVENT_LABEL) },
};

/* The field index of a key, or -1. */
static int
field_lookup(const msgpack_object *k, const char *const *names, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (obj_is_str(k, names[i]))
            return i;
    return -1;
}

static int
top_field_lookup(const msgpack_object *k)
{
    int i;

    for (i = 0; i < F_COUNT; i++)
        if (obj_is_str(k, fields[i].name))
            return i;
    return -1;
}

/*
 * Collect the values of a map by key into vals[] (indexed like names[]),
 * refusing non-string keys (ERR_MALFORMED), unknown keys (ERR_INVAL)
 * and duplicates (ERR_MALFORMED). `prefix` ("card.") goes before the key
 * in messages.
 */
static int
collect_keys(struct proto_item *it, const msgpack_object *map,
    const char *prefix, const char *const *names, int n,
    const msgpack_object **vals)
{
    const msgpack_object_kv *kv;
    char tmp[40];
    const char *kn;
    uint32_t i;
    int f;

    for (i = 0; i < map->via.map.size; i++) {
        kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return item_fail(it, ERR_MALFORMED, "field names must be strings");
        f = names != NULL ? field_lookup(&kv->key, names, n) :
                            top_field_lookup(&kv->key);
        kn = key_name(&kv->key, tmp, sizeof(tmp));
        if (f < 0) {
            if (kn == NULL)
                return item_fail(it, ERR_INVAL, "unknown field in '%s'",
                    prefix[0] != '\0' ? prefix : "event");
            return item_fail(it, ERR_INVAL, "unknown field '%s%s'", prefix, kn);
        }
        if (vals[f] != NULL)
            return item_fail(
                it, ERR_MALFORMED, "duplicate field '%s%s'", prefix, kn);
        vals[f] = &kv->val;
    }
    return 0;
}

/* True when a key named "password" appears anywhere inside `o`. */
static bool
has_password(const msgpack_object *o)
{
    uint32_t i;

    if (o->type == MSGPACK_OBJECT_MAP) {
        for (i = 0; i < o->via.map.size; i++) {
            if (obj_is_str(&o->via.map.ptr[i].key, "password") ||
                has_password(&o->via.map.ptr[i].key) ||
                has_password(&o->via.map.ptr[i].val))
                return true;
        }
    } else if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (i = 0; i < o->via.array.size; i++)
            if (has_password(&o->via.array.ptr[i]))
                return true;
    }
    return false;
}

/* ----------------------------------------------- per-field decoders */

static int
dec_ip(struct proto_item *it, const msgpack_object *o)
{
    char text[PROTO_IP_MAX + 1], masked[INET6_ADDRSTRLEN];
    struct in_addr a4;
    struct in6_addr a6;
    const uint8_t *q;
    int rc;

    rc = GET_STR(it, "ip", o, 1, text);
    if (rc != 0)
        return rc;
    if (inet_pton(AF_INET, text, &a4) == 1)
        goto v4;
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return item_fail(
            it, ERR_INVAL, "field 'ip': must be an IPv4 or IPv6 address");
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        /* One address, one pseudonym: ::ffff:a.b.c.d is a.b.c.d. */
        memcpy(&a4, &a6.s6_addr[12], 4);
        goto v4;
    }
    if (inet_ntop(AF_INET6, &a6, it->pii.ip, sizeof(it->pii.ip)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    memset(&a6.s6_addr[6], 0, 10);
    if (inet_ntop(AF_INET6, &a6, masked, sizeof(masked)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    (void)snprintf(it->ev.ip_prefix, sizeof(it->ev.ip_prefix), "%s/48", masked);
    it->ev.has |= EV_IP;
    return 0;
v4:
    if (inet_ntop(AF_INET, &a4, it->pii.ip, sizeof(it->pii.ip)) == NULL)
        return item_fail(it, ERR_INVAL, "field 'ip': cannot be formatted");
    q = (const uint8_t *)&a4;
    (void)snprintf(it->ev.ip_prefix, sizeof(it->ev.ip_prefix), "%u.%u.%u.0/24",
        q[0], q[1], q[2]);
    it->ev.has |= EV_IP;
    return 0;
}

static bool
domain_ok(const char *d)
{
    size_t i, n = strlen(d);

    if (n == 0 || n > PROTO_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
        return false;
    for (i = 0; i < n; i++) {
        char ch = d[i];

        if (ch == '.' && d[i + 1] == '.')
            return false;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static int
dec_email(struct proto_item *it, const msgpack_object *o)
{
    const char *at, *p;
    size_t i;
    int rc;

    rc = GET_STR(it, "email", o, 3, it->pii.email);
    if (rc != 0)
        return rc;
    at = strchr(it->pii.email, '@');
    if (at == NULL || at == it->pii.email || strchr(at + 1, '@') != NULL ||
        !domain_ok(at + 1))
        goto bad;
    for (p = it->pii.email; p < at; p++)
        if (*p == ' ')
            goto bad;
    for (i = 0, p = at + 1; *p != '\0'; p++, i++) {
        char ch = *p;

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        it->ev.email_domain[i] = ch;
    }
    it->ev.email_domain[i] = '\0';
    it->ev.has |= EV_EMAIL;
    return 0;
bad:
    return item_fail(it, ERR_INVAL,
        "field 'email': must be local@domain, the domain of letters, "
        "digits, '-' and '.'");
}

static int
dec_phone(struct proto_item *it, const msgpack_object *o)
{
    const char *p;
    int rc;

    rc = GET_STR(it, "phone", o, 6, it->pii.phone);
    if (rc != 0)
        return rc;
    for (p = it->pii.phone; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || *p == ' ' || *p == '+' || *p == '-' ||
                *p == '(' || *p == ')'))
            return item_fail(it, ERR_INVAL,
                "field 'phone': only digits, spaces, '+', '-', '(' and ')'");
    it->ev.has |= EV_PHONE;
    return 0;
}

static int
get_country(
    struct proto_item *it, const char *name, const msgpack_object *o, char *dst)
{
    char tmp[3];
    int rc;

    rc = GET_STR(it, name, o, 2, tmp);
    if (rc != 0)
        return rc;
    if (!upper_letters(tmp, 2))
        return item_fail(it, ERR_INVAL,
            "field '%s': must be 2 upper-case letters (ISO 3166 alpha-2)",
            name);
    memcpy(dst, tmp, 3);
    return 0;
}

enum { C_NUMBER, C_BIN, C_LAST4, C_FINGERPRINT, C_COUNT };
static const char *const card_names[C_COUNT] = { "number", "bin", "last4",
    "fingerprint" };

static int
dec_card(struct proto_item *it, const msgpack_object *o)
{
    const msgpack_object *v[C_COUNT] = { NULL };
    struct event *ev = &it->ev;
    char bin[9], last4[5];
    size_t n;
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_INVAL, "field 'card': must be a map");
    rc = collect_keys(it, o, "card.", card_names, C_COUNT, v);
    if (rc != 0)
        return rc;
    if (v[C_NUMBER] != NULL && (v[C_BIN] != NULL || v[C_LAST4] != NULL))
        return item_fail(
            it, ERR_INVAL, "field 'card': give either number or bin and last4");
    if ((v[C_BIN] != NULL) != (v[C_LAST4] != NULL))
        return item_fail(
            it, ERR_INVAL, "field 'card': bin and last4 go together");
    if (v[C_NUMBER] == NULL && v[C_BIN] == NULL && v[C_FINGERPRINT] == NULL)
        return item_fail(it, ERR_INVAL,
            "field 'card': needs number, bin and last4, or fingerprint");
    if (v[C_NUMBER] != NULL) {
        rc = GET_STR(it, "card.number", v[C_NUMBER], 12, it->pii.card_number);
        if (rc != 0)
            return rc;
        if (!all_digits(it->pii.card_number) || !luhn_ok(it->pii.card_number))
            return item_fail(it, ERR_INVAL,
                "field 'card.number': must be 12..19 digits passing the "
                "Luhn check");
        n = strlen(it->pii.card_number);
        memcpy(ev->card_bin, it->pii.card_number, 6);
        ev->card_bin[6] = '\0';
        memcpy(ev->card_last4, it->pii.card_number + n - 4, 5);
        ev->has |= EV_CARD | EV_CARD_BIN;
    }
    if (v[C_BIN] != NULL) {
        rc = GET_STR(it, "card.bin", v[C_BIN], 6, bin);
        if (rc != 0)
            return rc;
        if (!all_digits(bin))
            return item_fail(
                it, ERR_INVAL, "field 'card.bin': must be 6..8 digits");
        rc = GET_STR(it, "card.last4", v[C_LAST4], 4, last4);
        if (rc != 0)
            return rc;
        if (!all_digits(last4))
            return item_fail(
                it, ERR_INVAL, "field 'card.last4': must be 4 digits");
        COPY_STR(ev->card_bin, bin);
        COPY_STR(ev->card_last4, last4);
        ev->has |= EV_CARD_BIN;
    }
    if (v[C_FINGERPRINT] != NULL) {
        rc = GET_STR(it, "card.fingerprint", v[C_FINGERPRINT], 1,
            it->pii.card_fingerprint);
        if (rc != 0)
            return rc;
        ev->has |= EV_CARD;
    }
    return 0;
}

enum { A_NAME, A_STREET, A_CITY, A_POSTAL, A_COUNTRY, A_COUNT };
static const char *const addr_names[A_COUNT] = { "name", "street", "city",
    "postal", "country" };

/* A billing or shipping map; `which` is "billing" or "shipping". */
static int
dec_address(struct proto_item *it, const msgpack_object *o, const char *which,
    struct event_address_pii *pa, char *country, uint32_t bit)
{
    const msgpack_object *v[A_COUNT] = { NULL };
    const struct {
        char *dst;
        size_t max;
    } part[A_COUNTRY] = {
        [A_NAME] = { pa->name, sizeof(pa->name) - 1 },
        [A_STREET] = { pa->street, sizeof(pa->street) - 1 },
        [A_CITY] = { pa->city, sizeof(pa->city) - 1 },
        [A_POSTAL] = { pa->postal, sizeof(pa->postal) - 1 },
    };
    char prefix[16], name[32];
    int i, rc;

    (void)snprintf(prefix, sizeof(prefix), "%s.", which);
    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_INVAL, "field '%s': must be a map", which);
    rc = collect_keys(it, o, prefix, addr_names, A_COUNT, v);
    if (rc != 0)
        return rc;
    for (i = A_NAME; i <= A_POSTAL; i++) {
        if (v[i] == NULL)
            continue;
        (void)snprintf(name, sizeof(name), "%s.%s", which, addr_names[i]);
        rc = get_str(it, name, v[i], 1, part[i].max, part[i].dst);
        if (rc != 0)
            return rc;
        it->ev.has |= bit;
    }
    if (v[A_COUNTRY] != NULL) {
        (void)snprintf(name, sizeof(name), "%s.country", which);
        rc = get_country(it, name, v[A_COUNTRY], country);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Decode one optional field `f` (allowed for the type) into the item. */
static int
dec_field(struct proto_item *it, int f, const msgpack_object *o)
{
    struct event *ev = &it->ev;
    const char *name = fields[f].name;
    uint64_t u = 0;
    int rc = 0;
    int i;

    switch (f) {
    case F_ACCOUNT:
        rc = GET_STR(it, name, o, 1, ev->account);
        ev->has |= EV_ACCOUNT;
        break;
    case F_SESSION:
        rc = GET_STR(it, name, o, 1, ev->session);
        ev->has |= EV_SESSION;
        break;
    case F_DEVICE:
        rc = GET_STR(it, name, o, 1, it->pii.device);
        ev->has |= EV_DEVICE;
        break;
    case F_IP:
        rc = dec_ip(it, o);
        break;
    case F_IP_COUNTRY:
        rc = get_country(it, name, o, ev->ip_country);
        ev->has |= EV_IP_COUNTRY;
        break;
    case F_UA:
        rc = GET_STR(it, name, o, 0, it->pii.ua);
        if (rc == 0)
            COPY_STR(ev->browser, ua_family(it->pii.ua));
        break;
    case F_TZ:
        rc = GET_STR(it, name, o, 0, ev->tz);
        break;
    case F_LANG:
        rc = GET_STR(it, name, o, 0, ev->lang);
        break;
    case F_CARRIER:
        rc = GET_STR(it, name, o, 0, ev->carrier);
        break;
    case F_EMAIL:
        rc = dec_email(it, o);
        break;
    case F_PHONE:
        rc = dec_phone(it, o);
        break;
    case F_NAME:
        rc = GET_STR(it, name, o, 1, it->pii.name);
        ev->has |= EV_NAME;
        break;
    case F_SOURCE:
        rc = GET_STR(it, name, o, 0, ev->source);
        break;
    case F_AGE:
        rc = get_uint(it, name, o, 0, 150, &u);
        ev->age = (uint32_t)u;
        ev->has |= EV_AGE;
        break;
    case F_REFERRER:
        rc = GET_STR(it, name, o, 0, ev->referrer);
        break;
    case F_OK:
    case F_FRAUD:
        rc = get_bool(it, name, o, &ev->ok);
        ev->has |= EV_OK;
        break;
    case F_METHOD:
    case F_REASON:
        rc = GET_STR(it, name, o, 0, ev->method);
        break;
    case F_FIELD: {
        char tmp[16];

        rc = GET_STR(it, name, o, 1, tmp);
        if (rc != 0)
            break;
        for (i = UPDATE_EMAIL; i <= UPDATE_PASSWORD; i++)
            if (strcmp(tmp, update_field_names[i]) == 0)
                ev->field = (enum update_field)i;
        if (ev->field == UPDATE_NONE)
            rc = item_fail(it, ERR_INVAL,
                "field 'field': must be one of email, phone, name, "
                "address, password");
        break;
    }
    case F_VALUE:
        /* F_FIELD precedes F_VALUE, so ev->field is known here. */
        if (ev->field == UPDATE_PASSWORD)
            return item_fail(
                it, ERR_DENIED, "field 'value': passwords are never accepted");
        rc = GET_STR(it, name, o, 0, it->pii.value);
        ev->has |= EV_VALUE;
        break;
    case F_ORDER:
        rc = GET_STR(it, name, o, 1, ev->order);
        ev->has |= EV_ORDER;
        break;
    case F_AMOUNT:
        rc = get_uint(it, name, o, 0, PROTO_MAX_AMOUNT, &ev->amount);
        break;
    case F_CURRENCY:
        rc = GET_STR(it, name, o, 3, ev->currency);
        if (rc == 0 && !upper_letters(ev->currency, 3))
            rc = item_fail(it, ERR_INVAL,
                "field 'currency': must be 3 upper-case letters (ISO 4217)");
        break;
    case F_ITEMS:
        rc = get_uint(it, name, o, 1, PROTO_MAX_ITEMS, &u);
        ev->items = (uint32_t)u;
        ev->has |= EV_ITEMS;
        break;
    case F_CARD:
        rc = dec_card(it, o);
        break;
    case F_BILLING:
        rc = dec_address(it, o, "billing", &it->pii.billing,
            ev->billing_country, EV_BILLING);
        break;
    case F_SHIPPING:
        rc = dec_address(it, o, "shipping", &it->pii.shipping,
            ev->shipping_country, EV_SHIPPING);
        break;
    default:
        fatalx("%s: invariant: field %d has no decoder", __func__, f);
    }
    return rc;
}

/* The fields an event type cannot do without, beyond v/type/id/ts. */
static int
check_required(struct proto_item *it, const msgpack_object **v)
{
    static const struct {
        enum event_type type;
        int f;
    } req[] = {
        { EVENT_ACCOUNT_LOGIN, F_OK },
        { EVENT_ACCOUNT_UPDATE, F_FIELD },
        { EVENT_ORDER_PLACED, F_ORDER },
        { EVENT_ORDER_PLACED, F_AMOUNT },
        { EVENT_ORDER_PLACED, F_CURRENCY },
        { EVENT_PAYMENT_RESULT, F_ORDER },
        { EVENT_PAYMENT_RESULT, F_OK },
        { EVENT_LABEL, F_FRAUD },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(req); i++)
        if (req[i].type == it->ev.type && v[req[i].f] == NULL)
            return item_fail(it, ERR_INVAL, "missing required field '%s'",
                fields[req[i].f].name);
    if (it->ev.type == EVENT_LABEL && v[F_ACCOUNT] == NULL &&
        v[F_ORDER] == NULL)
        return item_fail(
            it, ERR_INVAL, "missing required field 'account' or 'order'");
    return 0;
}

/* Decode one storefront event map into `it` (already zeroed). */
static int
decode_event(struct proto_item *it, const msgpack_object *o)
{
    const msgpack_object *v[F_COUNT] = { NULL };
    const msgpack_object_kv *kv;
    char tmp[40];
    const char *kn;
    uint64_t u = 0;
    uint32_t i;
    int f, rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return item_fail(it, ERR_MALFORMED, "event must be a map");

    /* The id first, so that even a rejected event can be answered. */
    for (i = 0; i < o->via.map.size; i++) {
        kv = &o->via.map.ptr[i];
        if (obj_is_str(&kv->key, "id")) {
            if (kv->val.type == MSGPACK_OBJECT_STR &&
                kv->val.via.str.size >= 1 &&
                kv->val.via.str.size <= PROTO_ID_MAX &&
                text_ok((const uint8_t *)kv->val.via.str.ptr,
                    kv->val.via.str.size)) {
                memcpy(it->ev.id, kv->val.via.str.ptr, kv->val.via.str.size);
                it->ev.id[kv->val.via.str.size] = '\0';
            }
            break;
        }
    }

    /* A password is refused before anything else is looked at. */
    for (i = 0; i < o->via.map.size; i++) {
        kv = &o->via.map.ptr[i];
        if (obj_is_str(&kv->key, "password"))
            return item_fail(it, ERR_DENIED,
                "field 'password': passwords are never accepted");
        if (has_password(&kv->key) || has_password(&kv->val)) {
            kn = key_name(&kv->key, tmp, sizeof(tmp));
            return item_fail(it, ERR_DENIED,
                "field '%s.password': passwords are never accepted",
                kn != NULL ? kn : "?");
        }
    }

    rc = collect_keys(it, o, "", NULL, F_COUNT, v);
    if (rc != 0)
        return rc;

    if (v[F_V] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'v'");
    if (v[F_V]->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        v[F_V]->via.u64 != PROTO_VERSION)
        return item_fail(it, ERR_INVAL, "field 'v': must be %d", PROTO_VERSION);
    if (v[F_TYPE] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'type'");
    if (v[F_TYPE]->type != MSGPACK_OBJECT_STR)
        return item_fail(it, ERR_INVAL, "field 'type': must be a string");
    for (f = EVENT_NONE + 1; f < EVENT_TYPE_COUNT; f++)
        if (obj_is_str(v[F_TYPE], event_type_names[f]))
            it->ev.type = (enum event_type)f;
    if (it->ev.type == EVENT_NONE)
        return item_fail(it, ERR_INVAL, "field 'type': unknown event type");
    if (v[F_ID] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'id'");
    rc = GET_STR(it, "id", v[F_ID], 1, it->ev.id);
    if (rc != 0)
        return rc;
    if (v[F_TS] == NULL)
        return item_fail(it, ERR_INVAL, "missing required field 'ts'");
    rc = get_uint(it, "ts", v[F_TS], PROTO_MIN_TS, PROTO_MAX_TS - 1, &u);
    if (rc != 0)
        return rc;
    it->ev.ts = u;

    for (f = F_TS + 1; f < F_COUNT; f++) {
        if (v[f] == NULL)
            continue;
        if (!(fields[f].types & T(it->ev.type)))
            return item_fail(it, ERR_INVAL,
                "field '%s': not allowed for type '%s'", fields[f].name,
                event_type_names[it->ev.type]);
        rc = dec_field(it, f, v[f]);
        if (rc != 0)
            return rc;
    }
    return check_required(it, v);
}

int
proto_batch_decode(struct proto_batch *b, const void *data, size_t len,
    char *msg, size_t msglen)
{
    struct proto_priv *pv = b->priv;
    msgpack_unpack_return ur;
    msgpack_object top;
    struct mp_cur c;
    size_t i, off = 0;
    int rc;

    if (b->n > 0)
        sodium_memzero(b->items, b->n * sizeof(*b->items));
    b->n = 0;
    b->is_array = false;
    set_msg(msg, msglen, "ok");

    if (len == 0 || data == NULL) {
        set_msg(msg, msglen, "empty frame");
        return ERR_MALFORMED;
    }
    if (len > PROTO_MAX_MSG_BYTES) {
        set_msg(msg, msglen, "frame larger than %d bytes", PROTO_MAX_MSG_BYTES);
        return ERR_TOOBIG;
    }

    /* The byte-level pre-scan: only bytes it accepts reach msgpack-c. */
    mp_cur_init(&c, data, len);
    rc = mp_skip(&c, 0, PROTO_MAX_DEPTH);
    if (rc != 0) {
        set_msg(msg, msglen, "not a valid message: %s", c.why);
        return ERR_MALFORMED;
    }
    if (c.off != len) {
        set_msg(msg, msglen, "trailing bytes after the message");
        return ERR_MALFORMED;
    }

    msgpack_zone_clear(&pv->zone);
    ur = msgpack_unpack(data, len, &off, &pv->zone, &top);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        fatalx("%s: out of memory", __func__);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        set_msg(msg, msglen, "not a valid message");
        return ERR_MALFORMED;
    }

    if (top.type == MSGPACK_OBJECT_MAP) {
        memset(&b->items[0], 0, sizeof(b->items[0]));
        b->n = 1;
        (void)decode_event(&b->items[0], &top);
    } else if (top.type == MSGPACK_OBJECT_ARRAY) {
        if (top.via.array.size == 0) {
            set_msg(msg, msglen, "empty batch");
            return ERR_MALFORMED;
        }
        if (top.via.array.size > PROTO_MAX_BATCH) {
            set_msg(
                msg, msglen, "more than %d events in a batch", PROTO_MAX_BATCH);
            return ERR_TOOBIG;
        }
        b->is_array = true;
        b->n = top.via.array.size;
        memset(b->items, 0, b->n * sizeof(*b->items));
        for (i = 0; i < b->n; i++)
            (void)decode_event(&b->items[i], &top.via.array.ptr[i]);
    } else {
        set_msg(msg, msglen, "frame must be a map or an array of maps");
        return ERR_MALFORMED;
    }

    /* A rejected event's raw identifiers are not kept a moment longer. */
    for (i = 0; i < b->n; i++)
        if (b->items[i].rc != 0)
            sodium_memzero(&b->items[i].pii, sizeof(b->items[i].pii));
    return 0;
}

/* ================================================= internal events */

/*
 * Keys of the internal form. Gated keys are present exactly when their
 * EV_* bit is set; plain keys are present when the field is non-empty
 * (non-zero); "t", "s", "i" and "h" are always present.
 */
enum ik {
    K_TYPE,
    K_TS,
    K_ID,
    K_HAS,
    K_ACCOUNT,
    K_SESSION,
    K_ORDER,
    K_DEVICE,
    K_IP,
    K_PREFIX,
    K_IP_COUNTRY,
    K_BROWSER,
    K_TZ,
    K_LANG,
    K_CARRIER,
    K_EMAIL,
    K_EMAIL_DOMAIN,
    K_PHONE,
    K_NAME,
    K_SOURCE,
    K_AGE,
    K_REFERRER,
    K_OK,
    K_METHOD,
    K_FIELD,
    K_VALUE,
    K_AMOUNT,
    K_CURRENCY,
    K_ITEMS,
    K_CARD_BIN,
    K_CARD_LAST4,
    K_CARD,
    K_BILLING,
    K_BILLING_COUNTRY,
    K_SHIPPING,
    K_SHIPPING_COUNTRY,
    K_COUNT
};

static const struct ikey {
    const char *name;
    uint32_t bit; /* the EV_* bit gating it, or 0 */
} ikeys[K_COUNT] = {
    [K_TYPE] = { "t", 0 },
    [K_TS] = { "s", 0 },
    [K_ID] = { "i", 0 },
    [K_HAS] = { "h", 0 },
    [K_ACCOUNT] = { "a", EV_ACCOUNT },
    [K_SESSION] = { "se", EV_SESSION },
    [K_ORDER] = { "o", EV_ORDER },
    [K_DEVICE] = { "d", EV_DEVICE },
    [K_IP] = { "ip", EV_IP },
    [K_PREFIX] = { "pf", EV_IP },
    [K_IP_COUNTRY] = { "cc", EV_IP_COUNTRY },
    [K_BROWSER] = { "b", 0 },
    [K_TZ] = { "tz", 0 },
    [K_LANG] = { "la", 0 },
    [K_CARRIER] = { "ca", 0 },
    [K_EMAIL] = { "e", EV_EMAIL },
    [K_EMAIL_DOMAIN] = { "ed", EV_EMAIL },
    [K_PHONE] = { "p", EV_PHONE },
    [K_NAME] = { "n", EV_NAME },
    [K_SOURCE] = { "so", 0 },
    [K_AGE] = { "ag", EV_AGE },
    [K_REFERRER] = { "r", 0 },
    [K_OK] = { "ok", EV_OK },
    [K_METHOD] = { "m", 0 },
    [K_FIELD] = { "f", 0 },
    [K_VALUE] = { "va", EV_VALUE },
    [K_AMOUNT] = { "am", 0 },
    [K_CURRENCY] = { "cu", 0 },
    [K_ITEMS] = { "it", EV_ITEMS },
    [K_CARD_BIN] = { "cb", EV_CARD_BIN },
    [K_CARD_LAST4] = { "c4", EV_CARD_BIN },
    [K_CARD] = { "c", EV_CARD },
    [K_BILLING] = { "bi", EV_BILLING },
    [K_BILLING_COUNTRY] = { "bc", 0 },
    [K_SHIPPING] = { "sh", EV_SHIPPING },
    [K_SHIPPING_COUNTRY] = { "sc", 0 },
};

#define EV_ALL_BITS ((EV_OK << 1) - 1)

/* Whether key k is encoded for ev. */
static bool
ikey_present(const struct event *ev, int k)
{
    if (ikeys[k].bit != 0)
        return (ev->has & ikeys[k].bit) != 0;
    switch (k) {
    case K_TYPE:
    case K_TS:
    case K_ID:
    case K_HAS:
        return true;
    case K_BROWSER:
        return ev->browser[0] != '\0';
    case K_TZ:
        return ev->tz[0] != '\0';
    case K_LANG:
        return ev->lang[0] != '\0';
    case K_CARRIER:
        return ev->carrier[0] != '\0';
    case K_SOURCE:
        return ev->source[0] != '\0';
    case K_REFERRER:
        return ev->referrer[0] != '\0';
    case K_METHOD:
        return ev->method[0] != '\0';
    case K_FIELD:
        return ev->field != UPDATE_NONE;
    case K_AMOUNT:
        return ev->amount != 0;
    case K_CURRENCY:
        return ev->currency[0] != '\0';
    case K_BILLING_COUNTRY:
        return ev->billing_country[0] != '\0';
    case K_SHIPPING_COUNTRY:
        return ev->shipping_country[0] != '\0';
    default:
        break;
    }
    return false;
}

int
proto_event_encode(struct buf *out, const struct event *ev)
{
    msgpack_packer pk;
    struct stage s;
    uint32_t n = 0;
    int k;

    for (k = 0; k < K_COUNT; k++)
        if (ikey_present(ev, k))
            n++;
    stage_init(&s, &pk);
    (void)msgpack_pack_map(&pk, n);
    for (k = 0; k < K_COUNT; k++) {
        if (!ikey_present(ev, k))
            continue;
        pk_key(&pk, ikeys[k].name);
        switch (k) {
        case K_TYPE:
            pk_uint(&pk, (uint64_t)ev->type);
            break;
        case K_TS:
            pk_uint(&pk, ev->ts);
            break;
        case K_ID:
            PK_STR(&pk, ev->id);
            break;
        case K_HAS:
            pk_uint(&pk, ev->has);
            break;
        case K_ACCOUNT:
            PK_STR(&pk, ev->account);
            break;
        case K_SESSION:
            PK_STR(&pk, ev->session);
            break;
        case K_ORDER:
            PK_STR(&pk, ev->order);
            break;
        case K_DEVICE:
            pk_pseudo(&pk, &ev->device);
            break;
        case K_IP:
            pk_pseudo(&pk, &ev->ip);
            break;
        case K_PREFIX:
            PK_STR(&pk, ev->ip_prefix);
            break;
        case K_IP_COUNTRY:
            PK_STR(&pk, ev->ip_country);
            break;
        case K_BROWSER:
            PK_STR(&pk, ev->browser);
            break;
        case K_TZ:
            PK_STR(&pk, ev->tz);
            break;
        case K_LANG:
            PK_STR(&pk, ev->lang);
            break;
        case K_CARRIER:
            PK_STR(&pk, ev->carrier);
            break;
        case K_EMAIL:
            pk_pseudo(&pk, &ev->email);
            break;
        case K_EMAIL_DOMAIN:
            PK_STR(&pk, ev->email_domain);
            break;
        case K_PHONE:
            pk_pseudo(&pk, &ev->phone);
            break;
        case K_NAME:
            pk_pseudo(&pk, &ev->name);
            break;
        case K_SOURCE:
            PK_STR(&pk, ev->source);
            break;
        case K_AGE:
            pk_uint(&pk, ev->age);
            break;
        case K_REFERRER:
            PK_STR(&pk, ev->referrer);
            break;
        case K_OK:
            pk_bool(&pk, ev->ok);
            break;
        case K_METHOD:
            PK_STR(&pk, ev->method);
            break;
        case K_FIELD:
            pk_uint(&pk, (uint64_t)ev->field);
            break;
        case K_VALUE:
            pk_pseudo(&pk, &ev->value);
            break;
        case K_AMOUNT:
            pk_uint(&pk, ev->amount);
            break;
        case K_CURRENCY:
            PK_STR(&pk, ev->currency);
            break;
        case K_ITEMS:
            pk_uint(&pk, ev->items);
            break;
        case K_CARD_BIN:
            PK_STR(&pk, ev->card_bin);
            break;
        case K_CARD_LAST4:
            PK_STR(&pk, ev->card_last4);
            break;
        case K_CARD:
            pk_pseudo(&pk, &ev->card);
            break;
        case K_BILLING:
            pk_pseudo(&pk, &ev->billing);
            break;
        case K_BILLING_COUNTRY:
            PK_STR(&pk, ev->billing_country);
            break;
        case K_SHIPPING:
            pk_pseudo(&pk, &ev->shipping);
            break;
        case K_SHIPPING_COUNTRY:
            PK_STR(&pk, ev->shipping_country);
            break;
        default:
            fatalx("%s: invariant: key %d has no encoder", __func__, k);
        }
    }
    return stage_flush(&s, out);
}

static int
read_pseudo(struct mp_cur *c, struct pseudo *ps)
{
    struct mp_tok t;
    int rc;

    rc = mp_want(c, MP_BIN, &t);
    if (rc != 0)
        return rc;
    if (t.u != PSEUDO_BYTES)
        return mp_bad(c, "pseudonym of the wrong size");
    memcpy(ps->b, t.ptr, PSEUDO_BYTES);
    return 0;
}

#define READ_STR(c, arr) mp_read_cstr((c), (arr), sizeof(arr))

static int
read_ikey_value(struct mp_cur *c, struct event *ev, int k)
{
    struct mp_tok t;
    uint64_t u = 0;
    int rc;

    switch (k) {
    case K_TYPE:
        rc = mp_read_uint(c, EVENT_NONE + 1, EVENT_TYPE_COUNT - 1, &u);
        ev->type = (enum event_type)u;
        return rc;
    case K_TS:
        return mp_read_uint(c, PROTO_MIN_TS, PROTO_MAX_TS - 1, &ev->ts);
    case K_ID:
        return READ_STR(c, ev->id);
    case K_HAS:
        rc = mp_read_uint(c, 0, EV_ALL_BITS, &u);
        ev->has = (uint32_t)u;
        return rc;
    case K_ACCOUNT:
        return READ_STR(c, ev->account);
    case K_SESSION:
        return READ_STR(c, ev->session);
    case K_ORDER:
        return READ_STR(c, ev->order);
    case K_DEVICE:
        return read_pseudo(c, &ev->device);
    case K_IP:
        return read_pseudo(c, &ev->ip);
    case K_PREFIX:
        return READ_STR(c, ev->ip_prefix);
    case K_IP_COUNTRY:
        return READ_STR(c, ev->ip_country);
    case K_BROWSER:
        return READ_STR(c, ev->browser);
    case K_TZ:
        return READ_STR(c, ev->tz);
    case K_LANG:
        return READ_STR(c, ev->lang);
    case K_CARRIER:
        return READ_STR(c, ev->carrier);
    case K_EMAIL:
        return read_pseudo(c, &ev->email);
    case K_EMAIL_DOMAIN:
        return READ_STR(c, ev->email_domain);
    case K_PHONE:
        return read_pseudo(c, &ev->phone);
    case K_NAME:
        return read_pseudo(c, &ev->name);
    case K_SOURCE:
        return READ_STR(c, ev->source);
    case K_AGE:
        rc = mp_read_uint(c, 0, 150, &u);
        ev->age = (uint32_t)u;
        return rc;
    case K_REFERRER:
        return READ_STR(c, ev->referrer);
    case K_OK:
        rc = mp_want(c, MP_BOOL, &t);
        ev->ok = t.u != 0;
        return rc;
    case K_METHOD:
        return READ_STR(c, ev->method);
    case K_FIELD:
        rc = mp_read_uint(c, UPDATE_EMAIL, UPDATE_PASSWORD, &u);
        ev->field = (enum update_field)u;
        return rc;
    case K_VALUE:
        return read_pseudo(c, &ev->value);
    case K_AMOUNT:
        return mp_read_uint(c, 0, PROTO_MAX_AMOUNT, &ev->amount);
    case K_CURRENCY:
        return READ_STR(c, ev->currency);
    case K_ITEMS:
        rc = mp_read_uint(c, 1, PROTO_MAX_ITEMS, &u);
        ev->items = (uint32_t)u;
        return rc;
    case K_CARD_BIN:
        return READ_STR(c, ev->card_bin);
    case K_CARD_LAST4:
        return READ_STR(c, ev->card_last4);
    case K_CARD:
        return read_pseudo(c, &ev->card);
    case K_BILLING:
        return read_pseudo(c, &ev->billing);
    case K_BILLING_COUNTRY:
        return READ_STR(c, ev->billing_country);
    case K_SHIPPING:
        return read_pseudo(c, &ev->shipping);
    case K_SHIPPING_COUNTRY:
        return READ_STR(c, ev->shipping_country);
    default:
        break;
    }
    return mp_bad(c, "unknown key");
}

static int
ikey_lookup(const struct mp_tok *t)
{
    int k;

    for (k = 0; k < K_COUNT; k++)
        if (t->u == strlen(ikeys[k].name) &&
            memcmp(t->ptr, ikeys[k].name, (size_t)t->u) == 0)
            return k;
    return -1;
}

/* Decode one internal event map at the cursor into a zeroed ev. */
static int
event_decode_cur(struct mp_cur *c, struct event *ev)
{
    bool seen[K_COUNT] = { false };
    struct mp_tok t;
    uint64_t i, n;
    int k, rc;

    rc = mp_want(c, MP_MAP, &t);
    if (rc != 0)
        return ERR_MALFORMED;
    n = t.u;
    for (i = 0; i < n; i++) {
        rc = mp_want(c, MP_STR, &t);
        if (rc != 0)
            return ERR_MALFORMED;
        k = ikey_lookup(&t);
        if (k < 0 || seen[k])
            return ERR_MALFORMED;
        seen[k] = true;
        rc = read_ikey_value(c, ev, k);
        if (rc != 0)
            return ERR_MALFORMED;
    }
    /* Every gated key matches its bit; the fixed keys are all there. */
    for (k = 0; k < K_COUNT; k++) {
        if (ikeys[k].bit != 0) {
            if (seen[k] != ((ev->has & ikeys[k].bit) != 0))
                return ERR_INVAL;
        } else if (k <= K_HAS && !seen[k]) {
            return ERR_MALFORMED;
        }
    }
    return 0;
}

int
proto_event_decode(struct event *ev, const void *data, size_t len)
{
    struct mp_cur c;
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (len > PROTO_MAX_MSG_BYTES)
        return ERR_MALFORMED;
    mp_cur_init(&c, data, len);
    rc = event_decode_cur(&c, ev);
    if (rc == 0 && c.off != len)
        rc = ERR_MALFORMED;
    if (rc != 0)
        memset(ev, 0, sizeof(*ev));
    return rc;
}

/* ========================================================== replies */

static void
pack_reply(msgpack_packer *pk, const struct reply *r)
{
    uint8_t i, nr;

    (void)msgpack_pack_map(pk, r->has_score ? 7 : 4);
    pk_key(pk, "id");
    PK_STR(pk, r->id);
    pk_key(pk, "ok");
    pk_bool(pk, r->code == 0);
    pk_key(pk, "code");
    pk_key(pk, err_name(r->code));
    pk_key(pk, "msg");
    PK_STR(pk, r->msg);
    if (!r->has_score)
        return;
    pk_key(pk, "score");
    pk_uint(pk, r->score);
    pk_key(pk, "decision");
    pk_key(pk, proto_decision_name(r->decision));
    nr = r->nreasons <= PROTO_MAX_REASONS ? r->nreasons : PROTO_MAX_REASONS;
    pk_key(pk, "reasons");
    (void)msgpack_pack_array(pk, nr);
    for (i = 0; i < nr; i++) {
        (void)msgpack_pack_map(pk, 3);
        pk_key(pk, "code");
        PK_STR(pk, r->reasons[i].code);
        pk_key(pk, "text");
        PK_STR(pk, r->reasons[i].text);
        pk_key(pk, "value");
        (void)msgpack_pack_double(pk, r->reasons[i].value);
    }
}

int
proto_reply_encode(struct buf *out, const struct reply *r)
{
    msgpack_packer pk;
    struct stage s;

    stage_init(&s, &pk);
    pack_reply(&pk, r);
    return stage_flush(&s, out);
}

int
proto_array_header(struct buf *out, uint32_t n)
{
    msgpack_packer pk;
    struct stage s;

    stage_init(&s, &pk);
    (void)msgpack_pack_array(&pk, n);
    return stage_flush(&s, out);
}

void
proto_reply_error(struct reply *r, const char *id, int code, const char *msg)
{
    memset(r, 0, sizeof(*r));
    if (id != NULL)
        COPY_STR(r->id, id);
    r->code = code;
    COPY_STR(r->msg, msg);
}

int
proto_events_begin(
    struct buf *out, uint64_t tag, const char *actor, uint32_t nevents)
{
    msgpack_packer pk;
    struct stage s;

    stage_init(&s, &pk);
    (void)msgpack_pack_array(&pk, 5);
    pk_uint(&pk, PROTO_VERSION);
    pk_uint(&pk, PROTO_MSG_EVENTS);
    pk_uint(&pk, tag);
    pk_str(&pk, actor, PROTO_ID_MAX);
    (void)msgpack_pack_array(&pk, nevents);
    return stage_flush(&s, out);
}

int
proto_replies_begin(struct buf *out, uint64_t tag, uint32_t n)
{
    msgpack_packer pk;
    struct stage s;

    stage_init(&s, &pk);
    (void)msgpack_pack_array(&pk, 4);
    pk_uint(&pk, PROTO_VERSION);
    pk_uint(&pk, PROTO_MSG_REPLIES);
    pk_uint(&pk, tag);
    (void)msgpack_pack_array(&pk, n);
    return stage_flush(&s, out);
}

/* Read the [1, type, tag, ...] head of an IPC frame of `nelem` items. */
static int
ipc_head(struct mp_cur *c, uint64_t nelem, enum proto_msg type, uint64_t *tag)
{
    struct mp_tok t;
    uint64_t u = 0;
    int rc;

    rc = mp_want(c, MP_ARRAY, &t);
    if (rc != 0 || t.u != nelem)
        return ERR_MALFORMED;
    rc = mp_read_uint(c, PROTO_VERSION, PROTO_VERSION, &u);
    if (rc != 0)
        return ERR_MALFORMED;
    rc = mp_read_uint(c, type, type, &u);
    if (rc != 0)
        return ERR_MALFORMED;
    rc = mp_read_uint(c, 0, UINT64_MAX, tag);
    if (rc != 0)
        return ERR_MALFORMED;
    return 0;
}

int
proto_events_view(struct proto_events_view *v, const void *data, size_t len)
{
    struct mp_cur c;
    struct mp_tok t;
    uint64_t i;
    size_t start;
    int rc;

    v->tag = 0;
    v->actor[0] = '\0';
    v->n = 0;
    if (len > PROTO_MAX_IPC_BYTES)
        return ERR_MALFORMED;
    mp_cur_init(&c, data, len);
    rc = ipc_head(&c, 5, PROTO_MSG_EVENTS, &v->tag);
    if (rc != 0)
        goto fail;
    rc = READ_STR(&c, v->actor);
    if (rc != 0)
        goto fail;
    rc = mp_want(&c, MP_ARRAY, &t);
    if (rc != 0 || t.u > PROTO_MAX_BATCH)
        goto fail;
    for (i = 0; i < t.u; i++) {
        start = c.off;
        /* Each internal event is one flat map. */
        if (start >= len ||
            !((c.p[start] >= 0x80 && c.p[start] <= 0x8f) ||
                c.p[start] == 0xde || c.p[start] == 0xdf))
            goto fail;
        rc = mp_skip(&c, 0, 1);
        if (rc != 0)
            goto fail;
        v->raw[i] = c.p + start;
        v->rawlen[i] = c.off - start;
    }
    if (c.off != len)
        goto fail;
    v->n = (uint32_t)t.u;
    return 0;
fail:
    v->tag = 0;
    v->actor[0] = '\0';
    v->n = 0;
    return ERR_MALFORMED;
}

static const char *const reply_keys[] = { "id", "ok", "code", "msg", "score",
    "decision", "reasons" };
enum { R_ID, R_OK, R_CODE, R_MSG, R_SCORE, R_DECISION, R_REASONS, R_COUNT };

static int
str_key_lookup(const struct mp_tok *t, const char *const *names, int n)
{
    int k;

    for (k = 0; k < n; k++)
        if (t->u == strlen(names[k]) &&
            memcmp(t->ptr, names[k], (size_t)t->u) == 0)
            return k;
    return -1;
}

static int
read_reason(struct mp_cur *c, struct reason *rs)
{
    static const char *const keys[] = { "code", "text", "value" };
    bool seen[3] = { false };
    struct mp_tok t;
    uint64_t i;
    int k, rc;

    rc = mp_want(c, MP_MAP, &t);
    if (rc != 0 || t.u != 3)
        return ERR_MALFORMED;
    for (i = 0; i < 3; i++) {
        rc = mp_want(c, MP_STR, &t);
        if (rc != 0)
            return ERR_MALFORMED;
        k = str_key_lookup(&t, keys, 3);
        if (k < 0 || seen[k])
            return ERR_MALFORMED;
        seen[k] = true;
        if (k == 0) {
            rc = READ_STR(c, rs->code);
        } else if (k == 1) {
            rc = READ_STR(c, rs->text);
        } else {
            rc = mp_want(c, MP_FLOAT, &t);
            rs->value = t.d;
        }
        if (rc != 0)
            return ERR_MALFORMED;
    }
    return 0;
}

/* The ERR_* code of a wire name, or 1 when unknown. */
static int
code_of_name(const char *name)
{
    int rc;

    for (rc = 0; rc >= ERR_MIN; rc--)
        if (strcmp(err_name(rc), name) == 0)
            return rc;
    return 1;
}

static int
read_reply(struct mp_cur *c, struct reply *r)
{
    bool seen[R_COUNT] = { false };
    char tmp[PROTO_SHORT_MAX + 1];
    struct mp_tok t;
    uint64_t i, n, u = 0;
    bool ok = false;
    int k, rc;

    memset(r, 0, sizeof(*r));
    rc = mp_want(c, MP_MAP, &t);
    if (rc != 0 || (t.u != 4 && t.u != 7))
        return ERR_MALFORMED;
    n = t.u;
    for (i = 0; i < n; i++) {
        rc = mp_want(c, MP_STR, &t);
        if (rc != 0)
            return ERR_MALFORMED;
        k = str_key_lookup(&t, reply_keys, R_COUNT);
        if (k < 0 || seen[k])
            return ERR_MALFORMED;
        seen[k] = true;
        switch (k) {
        case R_ID:
            rc = READ_STR(c, r->id);
            break;
        case R_OK:
            rc = mp_want(c, MP_BOOL, &t);
            ok = t.u != 0;
            break;
        case R_CODE:
            rc = READ_STR(c, tmp);
            if (rc == 0) {
                r->code = code_of_name(tmp);
                if (r->code > 0)
                    rc = ERR_MALFORMED;
            }
            break;
        case R_MSG:
            rc = READ_STR(c, r->msg);
            break;
        case R_SCORE:
            rc = mp_read_uint(c, 0, 100, &u);
            r->score = (uint8_t)u;
            break;
        case R_DECISION:
            rc = READ_STR(c, tmp);
            if (rc != 0)
                break;
            for (u = DECISION_ALLOW; u <= DECISION_BLOCK; u++)
                if (strcmp(tmp, proto_decision_name((enum decision)u)) == 0)
                    r->decision = (enum decision)u;
            if (r->decision == DECISION_NONE && tmp[0] != '\0')
                rc = ERR_MALFORMED;
            break;
        case R_REASONS:
            rc = mp_want(c, MP_ARRAY, &t);
            if (rc != 0 || t.u > PROTO_MAX_REASONS) {
                rc = ERR_MALFORMED;
                break;
            }
            r->nreasons = (uint8_t)t.u;
            for (u = 0; u < r->nreasons && rc == 0; u++)
                rc = read_reason(c, &r->reasons[u]);
            break;
        default:
            rc = ERR_MALFORMED;
            break;
        }
        if (rc != 0)
            return ERR_MALFORMED;
    }
    if (!seen[R_ID] || !seen[R_OK] || !seen[R_CODE] || !seen[R_MSG])
        return ERR_MALFORMED;
    if (ok != (r->code == 0))
        return ERR_MALFORMED;
    /* A 7-key map holds exactly the three score keys. */
    r->has_score = n == 7;
    return 0;
}

int
proto_replies_decode(const void *data, size_t len, uint64_t *tag,
    struct reply *replies, uint32_t max, uint32_t *n)
{
    struct mp_cur c;
    struct mp_tok t;
    uint64_t i;
    int rc;

    *tag = 0;
    *n = 0;
    if (len > PROTO_MAX_IPC_BYTES)
        return ERR_MALFORMED;
    mp_cur_init(&c, data, len);
    rc = ipc_head(&c, 4, PROTO_MSG_REPLIES, tag);
    if (rc != 0)
        goto fail;
    rc = mp_want(&c, MP_ARRAY, &t);
    if (rc != 0 || t.u > max)
        goto fail;
    for (i = 0; i < t.u; i++) {
        rc = read_reply(&c, &replies[i]);
        if (rc != 0)
            goto fail;
    }
    if (c.off != len)
        goto fail;
    *n = (uint32_t)t.u;
    return 0;
fail:
    *tag = 0;
    *n = 0;
    return ERR_MALFORMED;
}

/* ================================================================ query */

/*
 * The query protocol of proto.h sections 4 and 5: requests from the
 * fraud team's tools to the scorer's query endpoint and their replies.
 * Decoded with the same raw scanner (mp_*) as the IPC frames.
 */

static const char *const qop_names[PROTO_QOP_COUNT] = {
    [PROTO_QOP_NONE] = "",
    [PROTO_QOP_SCORE_GET] = "score.get",
    [PROTO_QOP_ACCOUNT_GET] = "account.get",
};

const char *
proto_qop_name(enum proto_qop op)
{
    if ((unsigned)op >= PROTO_QOP_COUNT)
        return "";
    return qop_names[op];
}

enum proto_qop
proto_qop_parse(const char *name)
{
    int k;

    for (k = PROTO_QOP_NONE + 1; k < PROTO_QOP_COUNT; k++)
        if (strcmp(name, qop_names[k]) == 0)
            return (enum proto_qop)k;
    return PROTO_QOP_NONE;
}

static const char *const query_keys[] = { "v", "op", "id", "purpose",
    "storefront", "order", "account" };
enum { Q_V, Q_OP, Q_ID, Q_PURPOSE, Q_STOREFRONT, Q_ORDER, Q_ACCOUNT, Q_COUNT };

/* True when s[0..n) is 1..max bytes of [a-z0-9._-]. */
static bool
token_ok(const uint8_t *s, size_t n, size_t max)
{
    size_t i;

    if (n < 1 || n > max)
        return false;
    for (i = 0; i < n; i++) {
        uint8_t c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Copy a str token of 1..dstsize-1 bytes of text into dst. */
static int
query_str(const struct mp_tok *t, char *dst, size_t dstsize, bool token)
{
    if (t->kind != MP_STR || t->u < 1 || t->u > dstsize - 1)
        return ERR_INVAL;
    if (token ? !token_ok(t->ptr, (size_t)t->u, dstsize - 1) :
                !text_ok(t->ptr, (size_t)t->u))
        return ERR_INVAL;
    memcpy(dst, t->ptr, (size_t)t->u);
    dst[t->u] = '\0';
    return 0;
}

/*
 * Best effort after an error: find a well-formed "id" of the top map
 * so the error reply can echo it.
 */
static void
query_find_id(struct proto_query *q, const void *data, size_t len)
{
    struct mp_cur c;
    struct mp_tok t, v;
    uint64_t i, n;

    mp_cur_init(&c, data, len);
    if (mp_next(&c, &t) != 0 || t.kind != MP_MAP)
        return;
    n = t.u;
    for (i = 0; i < n; i++) {
        if (mp_next(&c, &t) != 0 || t.kind != MP_STR)
            return;
        if (t.u == 2 && memcmp(t.ptr, "id", 2) == 0) {
            if (mp_next(&c, &v) != 0)
                return;
            if (query_str(&v, q->id, sizeof(q->id), false) != 0)
                q->id[0] = '\0';
            return;
        }
        if (mp_skip(&c, 1, 4) != 0)
            return;
    }
}

static int
query_fail(struct proto_query *q, const void *data, size_t len, int rc,
    char *msg, size_t msglen, const char *why)
{
    set_msg(msg, msglen, "%s", why);
    if (q->id[0] == '\0')
        query_find_id(q, data, len);
    return rc;
}

int
proto_query_decode(struct proto_query *q, const void *data, size_t len,
    char *msg, size_t msglen)
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
    bool seen[Q_COUNT] = { false };
    char opname[PROTO_OP_MAX + 1];
    char why[PROTO_MSG_MAX + 1];
    struct mp_cur c;
    struct mp_tok t, v;
    uint64_t i, n;
    int k, rc;

    memset(q, 0, sizeof(*q));
    set_msg(msg, msglen, "%s", "");
    if (len > PROTO_QUERY_MAX_BYTES) {
        set_msg(
            msg, msglen, "request larger than %d bytes", PROTO_QUERY_MAX_BYTES);
        return ERR_TOOBIG;
    }
    if (data == NULL || len == 0)
        return query_fail(
            q, data, 0, ERR_MALFORMED, msg, msglen, "request: empty frame");
    mp_cur_init(&c, data, len);
    rc = mp_next(&c, &t);
    if (rc != 0 || t.kind != MP_MAP)
        return query_fail(q, data, len, ERR_MALFORMED, msg, msglen,
            "request: not a msgpack map");
    n = t.u;
    if (n > Q_COUNT)
        return query_fail(q, data, len, ERR_INVAL, msg, msglen,
            "request: too many keys (unknown or repeated keys)");
    for (i = 0; i < n; i++) {
        rc = mp_next(&c, &t);
        if (rc != 0)
            return query_fail(q, data, len, ERR_MALFORMED, msg, msglen,
                "request: truncated map");
        if (t.kind != MP_STR)
            return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                "request: a key is not a string");
        k = str_key_lookup(&t, query_keys, Q_COUNT);
        if (k < 0) {
            if (token_ok(t.ptr, (size_t)t.u, 32))
                snprintf(why, sizeof(why), "%.*s: unknown key", (int)t.u,
                    (const char *)t.ptr);
            else
                snprintf(why, sizeof(why), "request: unknown key");
            return query_fail(q, data, len, ERR_INVAL, msg, msglen, why);
        }
        if (seen[k]) {
            snprintf(why, sizeof(why), "%s: repeated key", query_keys[k]);
            return query_fail(q, data, len, ERR_INVAL, msg, msglen, why);
        }
        seen[k] = true;
        rc = mp_next(&c, &v);
        if (rc != 0)
            return query_fail(q, data, len, ERR_MALFORMED, msg, msglen,
                "request: truncated map");
        switch (k) {
        case Q_V:
            rc =
                v.kind == MP_UINT && v.u == PROTO_QUERY_VERSION ? 0 : ERR_INVAL;
            break;
        case Q_OP:
            rc = query_str(&v, opname, sizeof(opname), true);
            if (rc == 0) {
                q->op = proto_qop_parse(opname);
                if (q->op == PROTO_QOP_NONE)
                    return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                        "op: unknown operation");
            }
            break;
        case Q_ID:
            rc = query_str(&v, q->id, sizeof(q->id), false);
            if (rc != 0)
                q->id[0] = '\0';
            break;
        case Q_PURPOSE:
            rc = query_str(&v, q->purpose, sizeof(q->purpose), true);
            break;
        case Q_STOREFRONT:
            rc = query_str(&v, q->storefront, sizeof(q->storefront), false);
            break;
        case Q_ORDER:
            rc = query_str(&v, q->order, sizeof(q->order), false);
            break;
        default:
            rc = query_str(&v, q->account, sizeof(q->account), false);
            break;
        }
        if (rc != 0)
            return query_fail(
                q, data, len, ERR_INVAL, msg, msglen, field_err[k]);
    }
    if (c.off != len)
        return query_fail(q, data, len, ERR_MALFORMED, msg, msglen,
            "request: trailing bytes after the map");
    for (k = 0; k < Q_STOREFRONT; k++) {
        if (!seen[k]) {
            snprintf(why, sizeof(why), "%s: required", query_keys[k]);
            return query_fail(q, data, len, ERR_INVAL, msg, msglen, why);
        }
    }
    if (!seen[Q_STOREFRONT])
        COPY_STR(q->storefront, PROTO_DEFAULT_STOREFRONT);
    switch (q->op) {
    case PROTO_QOP_SCORE_GET:
        if (seen[Q_ACCOUNT])
            return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                "account: not an argument of score.get");
        if (!seen[Q_ORDER])
            return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                "order: required by score.get");
        break;
    case PROTO_QOP_ACCOUNT_GET:
        if (seen[Q_ORDER])
            return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                "order: not an argument of account.get");
        if (!seen[Q_ACCOUNT])
            return query_fail(q, data, len, ERR_INVAL, msg, msglen,
                "account: required by account.get");
        break;
    default:
        return query_fail(
            q, data, len, ERR_INVAL, msg, msglen, "op: unknown operation");
    }
    return 0;
}

int
proto_query_encode(struct buf *out, const struct proto_query *q)
{
    msgpack_packer pk;
    struct stage s;
    bool sf;
    const char *argk, *argv;
    uint32_t n;

    if (q->op == PROTO_QOP_NONE || (unsigned)q->op >= PROTO_QOP_COUNT ||
        q->id[0] == '\0' || q->purpose[0] == '\0')
        return ERR_INVAL;
    if (q->op == PROTO_QOP_SCORE_GET) {
        argk = "order";
        argv = q->order;
    } else {
        argk = "account";
        argv = q->account;
    }
    sf = q->storefront[0] != '\0' &&
        strcmp(q->storefront, PROTO_DEFAULT_STOREFRONT) != 0;
    n = sf ? 6 : 5;
    stage_init(&s, &pk);
    (void)msgpack_pack_map(&pk, n);
    pk_key(&pk, "v");
    pk_uint(&pk, PROTO_QUERY_VERSION);
    pk_key(&pk, "op");
    pk_key(&pk, proto_qop_name(q->op));
    pk_key(&pk, "id");
    PK_STR(&pk, q->id);
    pk_key(&pk, "purpose");
    PK_STR(&pk, q->purpose);
    if (sf) {
        pk_key(&pk, "storefront");
        PK_STR(&pk, q->storefront);
    }
    pk_key(&pk, argk);
    pk_str(&pk, argv, PROTO_ID_MAX);
    return stage_flush(&s, out);
}

void
proto_query_reply_error(
    struct proto_query_reply *r, const char *id, int code, const char *msg)
{
    memset(r, 0, sizeof(*r));
    if (id != NULL)
        COPY_STR(r->id, id);
    r->code = code;
    COPY_STR(r->msg, msg);
}

static void
pack_score_result(msgpack_packer *pk, const struct proto_score_result *s)
{
    uint32_t n = 6; /* order storefront ts amount scored reasons_known */
    uint8_t i, nr;

    if (s->account[0] != '\0')
        n++;
    if (s->scored)
        n += 2;
    if (s->reasons_known)
        n++;
    (void)msgpack_pack_map(pk, n);
    pk_key(pk, "order");
    PK_STR(pk, s->order);
    pk_key(pk, "storefront");
    PK_STR(pk, s->storefront);
    if (s->account[0] != '\0') {
        pk_key(pk, "account");
        PK_STR(pk, s->account);
    }
    pk_key(pk, "ts");
    pk_uint(pk, s->ts);
    pk_key(pk, "amount");
    pk_uint(pk, s->amount);
    pk_key(pk, "scored");
    pk_bool(pk, s->scored);
    if (s->scored) {
        pk_key(pk, "score");
        pk_uint(pk, s->score);
        pk_key(pk, "decision");
        pk_key(pk, proto_decision_name(s->decision));
    }
    pk_key(pk, "reasons_known");
    pk_bool(pk, s->reasons_known);
    if (!s->reasons_known)
        return;
    nr = s->nreasons <= PROTO_MAX_REASONS ? s->nreasons : PROTO_MAX_REASONS;
    pk_key(pk, "reasons");
    (void)msgpack_pack_array(pk, nr);
    for (i = 0; i < nr; i++) {
        (void)msgpack_pack_map(pk, 3);
        pk_key(pk, "code");
        PK_STR(pk, s->reasons[i].code);
        pk_key(pk, "text");
        PK_STR(pk, s->reasons[i].text);
        pk_key(pk, "value");
        (void)msgpack_pack_double(pk, s->reasons[i].value);
    }
}

static void
pack_account_result(msgpack_packer *pk, const struct proto_account_result *a)
{
    uint32_t n = 13;

    if (a->first_seen_age_ms >= 0)
        n++;
    if (a->account_age_ms >= 0)
        n++;
    if (a->country[0] != '\0')
        n++;
    (void)msgpack_pack_map(pk, n);
    pk_key(pk, "account");
    PK_STR(pk, a->account);
    pk_key(pk, "storefront");
    PK_STR(pk, a->storefront);
    pk_key(pk, "as_of");
    pk_uint(pk, a->as_of);
    pk_key(pk, "known");
    pk_bool(pk, a->known);
    if (a->first_seen_age_ms >= 0) {
        pk_key(pk, "first_seen_age_ms");
        pk_uint(pk, (uint64_t)a->first_seen_age_ms);
    }
    if (a->account_age_ms >= 0) {
        pk_key(pk, "account_age_ms");
        pk_uint(pk, (uint64_t)a->account_age_ms);
    }
    pk_key(pk, "orders_1h");
    pk_uint(pk, a->orders_1h);
    pk_key(pk, "orders_24h");
    pk_uint(pk, a->orders_24h);
    pk_key(pk, "failed_payments_1h");
    pk_uint(pk, a->failed_payments_1h);
    pk_key(pk, "failed_payments_24h");
    pk_uint(pk, a->failed_payments_24h);
    pk_key(pk, "failed_logins_1h");
    pk_uint(pk, a->failed_logins_1h);
    pk_key(pk, "orders_total");
    pk_uint(pk, a->orders_total);
    pk_key(pk, "amount_mean");
    pk_uint(pk, a->amount_mean);
    pk_key(pk, "amount_max");
    pk_uint(pk, a->amount_max);
    if (a->country[0] != '\0') {
        pk_key(pk, "country");
        PK_STR(pk, a->country);
    }
    pk_key(pk, "fraud");
    pk_bool(pk, a->fraud);
}

int
proto_query_reply_encode(struct buf *out, const struct proto_query_reply *r)
{
    msgpack_packer pk;
    struct stage *s;
    bool res = r->code == 0 && r->has_result;
    int rc;

    if (res && r->op != PROTO_QOP_SCORE_GET && r->op != PROTO_QOP_ACCOUNT_GET)
        return ERR_INVAL;
    s = xmalloc(sizeof(*s));
    stage_init(s, &pk);
    (void)msgpack_pack_map(&pk, res ? 5 : 4);
    pk_key(&pk, "id");
    PK_STR(&pk, r->id);
    pk_key(&pk, "ok");
    pk_bool(&pk, r->code == 0);
    pk_key(&pk, "code");
    pk_key(&pk, err_name(r->code));
    pk_key(&pk, "msg");
    PK_STR(&pk, r->msg);
    if (res) {
        pk_key(&pk, "result");
        if (r->op == PROTO_QOP_SCORE_GET)
            pack_score_result(&pk, &r->score);
        else
            pack_account_result(&pk, &r->account);
    }
    rc = stage_flush(s, out);
    free(s);
    return rc;
}

/* Read a bool into *b. */
static int
mp_read_bool(struct mp_cur *c, bool *b)
{
    struct mp_tok t;
    int rc;

    rc = mp_want(c, MP_BOOL, &t);
    if (rc == 0)
        *b = t.u != 0;
    return rc;
}

static int
read_score_result(struct mp_cur *c, struct proto_score_result *s)
{
    static const char *const keys[] = { "order", "storefront", "account", "ts",
        "amount", "scored", "score", "decision", "reasons_known", "reasons" };
    bool seen[10] = { false };
    char tmp[PROTO_SHORT_MAX + 1];
    struct mp_tok t;
    uint64_t i, n, u = 0;
    int k, rc;

    rc = mp_want(c, MP_MAP, &t);
    if (rc != 0 || t.u > 10)
        return mp_bad(c, "result: not a map of at most 10 keys");
    n = t.u;
    for (i = 0; i < n; i++) {
        rc = mp_want(c, MP_STR, &t);
        if (rc != 0)
            return rc;
        k = str_key_lookup(&t, keys, 10);
        if (k < 0 || seen[k])
            return mp_bad(c, "result: unknown or repeated key");
        seen[k] = true;
        switch (k) {
        case 0:
            rc = READ_STR(c, s->order);
            break;
        case 1:
            rc = READ_STR(c, s->storefront);
            break;
        case 2:
            rc = READ_STR(c, s->account);
            break;
        case 3:
            rc = mp_read_uint(c, 0, UINT64_MAX, &s->ts);
            break;
        case 4:
            rc = mp_read_uint(c, 0, UINT64_MAX, &s->amount);
            break;
        case 5:
            rc = mp_read_bool(c, &s->scored);
            break;
        case 6:
            rc = mp_read_uint(c, 0, 100, &u);
            s->score = (uint8_t)u;
            break;
        case 7:
            rc = READ_STR(c, tmp);
            if (rc != 0)
                break;
            for (u = DECISION_ALLOW; u <= DECISION_BLOCK; u++)
                if (strcmp(tmp, proto_decision_name((enum decision)u)) == 0)
                    s->decision = (enum decision)u;
            if (s->decision == DECISION_NONE)
                rc = mp_bad(c, "result: bad decision");
            break;
        case 8:
            rc = mp_read_bool(c, &s->reasons_known);
            break;
        default:
            rc = mp_want(c, MP_ARRAY, &t);
            if (rc != 0 || t.u > PROTO_MAX_REASONS) {
                rc = mp_bad(c, "result: bad reasons");
                break;
            }
            s->nreasons = (uint8_t)t.u;
            for (u = 0; u < s->nreasons && rc == 0; u++)
                rc = read_reason(c, &s->reasons[u]);
            if (rc != 0)
                rc = mp_bad(c, "result: bad reason");
            break;
        }
        if (rc != 0)
            return rc;
    }
    if (!seen[0] || !seen[3] || !seen[4] || !seen[5] || seen[6] != s->scored ||
        seen[7] != s->scored || seen[9] != (seen[8] && s->reasons_known))
        return mp_bad(c, "result: keys missing for score.get");
    return 0;
}

static int
read_account_result(struct mp_cur *c, struct proto_account_result *a)
{
    static const char *const keys[] = { "account", "storefront", "as_of",
        "known", "first_seen_age_ms", "account_age_ms", "orders_1h",
        "orders_24h", "failed_payments_1h", "failed_payments_24h",
        "failed_logins_1h", "orders_total", "amount_mean", "amount_max",
        "country", "fraud" };
    enum { NK = 16 };
    bool seen[NK] = { false };
    uint32_t *u32[NK] = { NULL };
    struct mp_tok t;
    uint64_t i, n, u = 0;
    int k, rc;

    u32[6] = &a->orders_1h;
    u32[7] = &a->orders_24h;
    u32[8] = &a->failed_payments_1h;
    u32[9] = &a->failed_payments_24h;
    u32[10] = &a->failed_logins_1h;
    u32[11] = &a->orders_total;
    a->first_seen_age_ms = -1;
    a->account_age_ms = -1;
    rc = mp_want(c, MP_MAP, &t);
    if (rc != 0 || t.u > NK)
        return mp_bad(c, "result: not a map of at most 16 keys");
    n = t.u;
    for (i = 0; i < n; i++) {
        rc = mp_want(c, MP_STR, &t);
        if (rc != 0)
            return rc;
        k = str_key_lookup(&t, keys, NK);
        if (k < 0 || seen[k])
            return mp_bad(c, "result: unknown or repeated key");
        seen[k] = true;
        if (u32[k] != NULL) {
            rc = mp_read_uint(c, 0, UINT32_MAX, &u);
            *u32[k] = (uint32_t)u;
        } else if (k == 0) {
            rc = READ_STR(c, a->account);
        } else if (k == 1) {
            rc = READ_STR(c, a->storefront);
        } else if (k == 2) {
            rc = mp_read_uint(c, 0, UINT64_MAX, &a->as_of);
        } else if (k == 3) {
            rc = mp_read_bool(c, &a->known);
        } else if (k == 4 || k == 5) {
            rc = mp_read_uint(c, 0, INT64_MAX, &u);
            if (k == 4)
                a->first_seen_age_ms = (int64_t)u;
            else
                a->account_age_ms = (int64_t)u;
        } else if (k == 12) {
            rc = mp_read_uint(c, 0, UINT64_MAX, &a->amount_mean);
        } else if (k == 13) {
            rc = mp_read_uint(c, 0, UINT64_MAX, &a->amount_max);
        } else if (k == 14) {
            rc = READ_STR(c, a->country);
        } else {
            rc = mp_read_bool(c, &a->fraud);
        }
        if (rc != 0)
            return rc;
    }
    if (!seen[0] || !seen[2] || !seen[3] || !seen[15])
        return mp_bad(c, "result: keys missing for account.get");
    return 0;
}

int
proto_query_reply_decode(struct proto_query_reply *r, enum proto_qop op,
    const void *data, size_t len, char *msg, size_t msglen)
{
    static const char *const keys[] = { "id", "ok", "code", "msg", "result" };
    bool seen[5] = { false };
    char tmp[PROTO_SHORT_MAX + 1];
    struct mp_cur c;
    struct mp_tok t;
    bool ok = false;
    uint64_t i, n;
    int k, rc = 0;

    memset(r, 0, sizeof(*r));
    r->op = op;
    set_msg(msg, msglen, "%s", "");
    mp_cur_init(&c, data, len);
    if (len > PROTO_QUERY_MAX_BYTES) {
        c.why = "reply too big";
        goto fail;
    }
    rc = mp_want(&c, MP_MAP, &t);
    if (rc != 0 || t.u < 4 || t.u > 5) {
        c.why = "reply: not a map of 4 or 5 keys";
        goto fail;
    }
    n = t.u;
    for (i = 0; i < n; i++) {
        rc = mp_want(&c, MP_STR, &t);
        if (rc != 0)
            goto fail;
        k = str_key_lookup(&t, keys, 5);
        if (k < 0 || seen[k]) {
            c.why = "reply: unknown or repeated key";
            goto fail;
        }
        seen[k] = true;
        switch (k) {
        case 0:
            rc = READ_STR(&c, r->id);
            break;
        case 1:
            rc = mp_read_bool(&c, &ok);
            break;
        case 2:
            rc = READ_STR(&c, tmp);
            if (rc == 0) {
                r->code = code_of_name(tmp);
                if (r->code > 0)
                    rc = mp_bad(&c, "reply: unknown code");
            }
            break;
        case 3:
            rc = READ_STR(&c, r->msg);
            break;
        default:
            if (op == PROTO_QOP_SCORE_GET)
                rc = read_score_result(&c, &r->score);
            else if (op == PROTO_QOP_ACCOUNT_GET)
                rc = read_account_result(&c, &r->account);
            else
                rc = mp_bad(&c, "reply: a result for an unknown op");
            r->has_result = rc == 0;
            break;
        }
        if (rc != 0)
            goto fail;
    }
    if (c.off != len) {
        c.why = "reply: trailing bytes";
        goto fail;
    }
    if (!seen[0] || !seen[1] || !seen[2] || !seen[3] || ok != (r->code == 0) ||
        (seen[4] && !ok)) {
        c.why = "reply: keys missing or ok and code disagree";
        goto fail;
    }
    return 0;
fail:
    set_msg(msg, msglen, "%s", c.why != NULL ? c.why : "reply: malformed");
    return ERR_MALFORMED;
}
