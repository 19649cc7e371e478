/*
 * wire.c - the one msgpack layer (see wire.h)
 *
 * The guard is a byte-level walk over the msgpack format (about 10 ns
 * per item); only what it accepts is handed to msgpack_unpack(), into a
 * zone that is cleared between messages. The strict readers turn
 * msgpack_object values into bounded C fields. The encoder is
 * msgpack_packer with a write callback that appends to a capped buf.
 *
 * Invariants:
 *  - msgpack_unpack() only ever sees bytes wire_scan() accepted;
 *  - every reader leaves its destination untouched when it fails.
 *
 * See also: wire.h, https://github.com/msgpack/msgpack/blob/master/spec.md
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <msgpack.h>

#include "common/err.h"
#include "common/log.h"
#include "common/text.h"
#include "common/wire.h"

/* ---------------------------------------------------------- the guard */

struct scan {
    const uint8_t *p;
    size_t len;
    size_t off;
    const char *why;
};

static int
scan_bad(struct scan *s, const char *why)
{
    s->why = why;
    return ERR_MALFORMED;
}

/* Read an n-byte big-endian length or count (n is 1, 2 or 4). */
static int
scan_be(struct scan *s, size_t n, uint64_t *v)
{
    size_t i;

    if (s->len - s->off < n)
        return scan_bad(s, "truncated message");
    *v = 0;
    for (i = 0; i < n; i++)
        *v = (*v << 8) | s->p[s->off + i];
    s->off += n;
    return 0;
}

/* Step over `n` bytes of body, which must be present. */
static int
scan_body(struct scan *s, uint64_t n)
{
    if (n > s->len - s->off)
        return scan_bad(s, "a length exceeds the bytes present");
    s->off += (size_t)n;
    return 0;
}

/*
 * Read one item's header at the cursor, stepping over its body if it
 * has one. For a container, `*count` receives the number of items that
 * follow (a map's 2n) and `*container` is set; a count larger than the
 * bytes left (each item takes at least one byte) is refused here.
 */
static int
scan_head(struct scan *s, uint64_t *count, bool *container)
{
    uint64_t v = 0;
    uint8_t b;
    int rc;

    *container = false;
    if (s->off >= s->len)
        return scan_bad(s, "truncated message");
    b = s->p[s->off++];
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f) {
        v = (uint64_t)(b & 0x0f) * 2;
        goto container;
    }
    if (b <= 0x9f) {
        v = b & 0x0f;
        goto container;
    }
    if (b <= 0xbf)
        return scan_body(s, b & 0x1f);
    switch (b) {
    case 0xc4: /* bin 8, 16, 32 */
    case 0xc5:
    case 0xc6:
        rc = scan_be(s, (size_t)1 << (b - 0xc4), &v);
        return rc != 0 ? rc : scan_body(s, v);
    case 0xd9: /* str 8, 16, 32 */
    case 0xda:
    case 0xdb:
        rc = scan_be(s, (size_t)1 << (b - 0xd9), &v);
        return rc != 0 ? rc : scan_body(s, v);
    case 0xca: /* float 32, 64 */
        return scan_body(s, 4);
    case 0xcb:
        return scan_body(s, 8);
    case 0xcc: /* uint 8..64, int 8..64 */
    case 0xcd:
    case 0xce:
    case 0xcf:
        return scan_body(s, (uint64_t)1 << (b - 0xcc));
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
        return scan_body(s, (uint64_t)1 << (b - 0xd0));
    case 0xdc: /* array 16, 32 */
    case 0xdd:
        rc = scan_be(s, (size_t)2 << (b - 0xdc), &v);
        if (rc != 0)
            return rc;
        goto container;
    case 0xde: /* map 16, 32 */
    case 0xdf:
        rc = scan_be(s, (size_t)2 << (b - 0xde), &v);
        if (rc != 0)
            return rc;
        v *= 2;
        goto container;
    case 0xc7: /* ext 8, 16, 32; fixext 1..16 */
    case 0xc8:
    case 0xc9:
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return scan_bad(s, "ext types are not accepted");
    default: /* 0xc1 is never used */
        return scan_bad(s, "not msgpack");
    }
container:
    if (v > s->len - s->off)
        return scan_bad(
            s, "a declared element count exceeds the bytes present");
    *count = v;
    *container = true;
    return 0;
}

/* Step over one complete item nested in `depth` containers. */
static int
scan_item(struct scan *s, unsigned depth, unsigned max_depth)
{
    uint64_t i, n = 0;
    bool container;
    int rc;

    rc = scan_head(s, &n, &container);
    if (rc != 0 || !container)
        return rc;
    if (depth + 1 > max_depth)
        return scan_bad(s, "nesting too deep");
    for (i = 0; i < n; i++) {
        rc = scan_item(s, depth + 1, max_depth);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
wire_scan(const void *data, size_t len, unsigned max_depth, size_t *used,
    const char **why)
{
    struct scan s = { data, len, 0, NULL };
    int rc;

    *used = 0;
    rc = scan_item(&s, 0, max_depth);
    if (rc != 0) {
        *why = s.why;
        return rc;
    }
    *used = s.off;
    *why = NULL;
    return 0;
}

/* ------------------------------------------------------------ decoding */

void
wire_dec_init(struct wire_dec *d, size_t chunk)
{
    if (!msgpack_zone_init(&d->zone, chunk))
        fatalx("%s: out of memory", __func__);
}

void
wire_dec_release(struct wire_dec *d)
{
    msgpack_zone_destroy(&d->zone);
}

int
wire_decode(struct wire_dec *d, const void *data, size_t len,
    unsigned max_depth, msgpack_object *out, const char **why)
{
    msgpack_unpack_return ur;
    size_t used = 0, off = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (data == NULL || len == 0) {
        *why = "empty message";
        return ERR_MALFORMED;
    }
    rc = wire_scan(data, len, max_depth, &used, why);
    if (rc != 0)
        return rc;
    if (used != len) {
        *why = "trailing bytes after the message";
        return ERR_MALFORMED;
    }
    msgpack_zone_clear(&d->zone);
    ur = msgpack_unpack(data, len, &off, &d->zone, out);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
        fatalx("%s: out of memory", __func__);
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        /* The guard accepted it, so msgpack-c disagrees with the spec. */
        *why = "not a valid message";
        return ERR_MALFORMED;
    }
    *why = NULL;
    return 0;
}

/* ------------------------------------------------------- strict reads */

const msgpack_object *
wire_map_get(const msgpack_object *m, const char *k)
{
    size_t n = strlen(k);

    if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object_kv *kv = &m->via.map.ptr[i];

        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
            memcmp(kv->key.via.str.ptr, k, n) == 0)
            return &kv->val;
    }
    return NULL;
}

bool
wire_map_uint(const msgpack_object *m, const char *k, uint64_t *v)
{
    const msgpack_object *o = wire_map_get(m, k);

    if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

bool
wire_is_str(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);

    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
        memcmp(o->via.str.ptr, s, n) == 0;
}

int
wire_get_str(const msgpack_object *o, enum wire_strkind kind, size_t min,
    size_t max, char *dst)
{
    const uint8_t *p;
    size_t n;
    bool ok;

    if (o->type != MSGPACK_OBJECT_STR)
        return ERR_INVAL;
    n = o->via.str.size;
    p = (const uint8_t *)o->via.str.ptr;
    if (n < min || n > max)
        return ERR_INVAL;
    switch (kind) {
    case WIRE_TOKEN:
        ok = n == 0 || text_is_token(p, n, max);
        break;
    case WIRE_NAME:
        ok = text_is_clean(p, n, TEXT_NO_BIDI);
        break;
    case WIRE_TEXT:
    default:
        ok = text_is_clean(p, n, 0);
        break;
    }
    if (!ok)
        return ERR_INVAL;
    if (n > 0)
        memcpy(dst, p, n);
    dst[n] = '\0';
    return 0;
}

int
wire_get_uint(const msgpack_object *o, uint64_t min, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min ||
        o->via.u64 > max)
        return ERR_INVAL;
    *v = o->via.u64;
    return 0;
}

int
wire_get_bool(const msgpack_object *o, bool *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return ERR_INVAL;
    *v = o->via.boolean;
    return 0;
}

int
wire_get_double(const msgpack_object *o, double *v)
{
    if ((o->type != MSGPACK_OBJECT_FLOAT64 &&
            o->type != MSGPACK_OBJECT_FLOAT32) ||
        isnan(o->via.f64))
        return ERR_INVAL;
    *v = o->via.f64;
    return 0;
}

int
wire_get_bin(const msgpack_object *o, void *dst, size_t n)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return ERR_INVAL;
    memcpy(dst, o->via.bin.ptr, n);
    return 0;
}

static bool
key_is(const msgpack_object *key, const struct wire_key *k)
{
    return k->len == key->via.str.size &&
        (k->len == 0 ||
            (k->name[0] == key->via.str.ptr[0] &&
                memcmp(k->name, key->via.str.ptr, k->len) == 0));
}

int
wire_key_index(const msgpack_object *key, const struct wire_key *keys,
    unsigned n, unsigned hint)
{
    unsigned i;

    if (key->type != MSGPACK_OBJECT_STR || key->via.str.size > UINT8_MAX)
        return -1;
    if (hint < n && key_is(key, &keys[hint]))
        return (int)hint;
    for (i = 0; i < n; i++)
        if (key_is(key, &keys[i]))
            return (int)i;
    return -1;
}

/*
 * A printable form of a key for a message, or NULL when the key is not
 * a short plain name (it is then left out: hostile bytes never reach a
 * message).
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

int
wire_collect(const msgpack_object *map, const struct wire_key *keys, unsigned n,
    const char *prefix, const msgpack_object **vals, char *why, size_t whylen)
{
    const msgpack_object_kv *kv;
    const char *kn;
    char tmp[40];
    unsigned hint = 0;
    uint32_t i;
    int f;

    if (map->type != MSGPACK_OBJECT_MAP) {
        text_fmt(why, whylen, "%s must be a map",
            prefix[0] != '\0' ? prefix : "message");
        return ERR_MALFORMED;
    }
    for (i = 0; i < map->via.map.size; i++) {
        kv = &map->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            text_fmt(why, whylen, "%s%sfield names must be strings", prefix,
                prefix[0] != '\0' ? ": " : "");
            return ERR_MALFORMED;
        }
        f = wire_key_index(&kv->key, keys, n, hint);
        if (f < 0) {
            kn = key_name(&kv->key, tmp, sizeof(tmp));
            if (kn == NULL)
                text_fmt(why, whylen, "unknown field in '%s'",
                    prefix[0] != '\0' ? prefix : "message");
            else
                text_fmt(why, whylen, "unknown field '%s%s'", prefix, kn);
            return ERR_INVAL;
        }
        if (vals[f] != NULL) {
            text_fmt(
                why, whylen, "duplicate field '%s%s'", prefix, keys[f].name);
            return ERR_MALFORMED;
        }
        vals[f] = &kv->val;
        hint = (unsigned)f + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ encoding */

static int
enc_write(void *data, const char *p, size_t n)
{
    struct wire_enc *e = data;

    if (e->over || buf_append(e->out, p, n) != 0) {
        e->over = true;
        return -1;
    }
    return 0;
}

void
wire_enc_begin(struct wire_enc *e, struct buf *out)
{
    e->out = out;
    e->start = out->len;
    e->over = false;
    msgpack_packer_init(&e->pk, e, enc_write);
}

int
wire_enc_end(struct wire_enc *e)
{
    if (!e->over)
        return 0;
    buf_truncate(e->out, e->start);
    return ERR_TOOBIG;
}

/*
 * msgpack_pack_* return -1 only when the write callback does, which
 * sets e->over: their results are deliberately ignored below.
 */
void
wire_put_map(struct wire_enc *e, uint32_t n)
{
    (void)msgpack_pack_map(&e->pk, n);
}

void
wire_put_array(struct wire_enc *e, uint32_t n)
{
    (void)msgpack_pack_array(&e->pk, n);
}

void
wire_put_uint(struct wire_enc *e, uint64_t v)
{
    (void)msgpack_pack_uint64(&e->pk, v);
}

void
wire_put_bool(struct wire_enc *e, bool v)
{
    if (v)
        (void)msgpack_pack_true(&e->pk);
    else
        (void)msgpack_pack_false(&e->pk);
}

void
wire_put_double(struct wire_enc *e, double v)
{
    (void)msgpack_pack_double(&e->pk, v);
}

void
wire_put_nil(struct wire_enc *e)
{
    (void)msgpack_pack_nil(&e->pk);
}

void
wire_put_bin(struct wire_enc *e, const void *p, size_t n)
{
    (void)msgpack_pack_bin_with_body(&e->pk, p, n);
}

void
wire_put_strn(struct wire_enc *e, const char *s, size_t n)
{
    (void)msgpack_pack_str_with_body(&e->pk, s, n);
}

void
wire_put_str(struct wire_enc *e, const char *s)
{
    wire_put_strn(e, s, strlen(s));
}

int
wire_array_header(struct buf *out, uint32_t n)
{
    struct wire_enc e;

    wire_enc_begin(&e, out);
    wire_put_array(&e, n);
    return wire_enc_end(&e);
}

size_t
wire_batch_body_cap(size_t frame_max, uint32_t max_items)
{
    struct buf hdr;
    size_t room;

    if (max_items <= 1)
        return frame_max;
    buf_init(&hdr, 16);
    if (wire_array_header(&hdr, max_items) != 0)
        fatalx("%s: invariant: no room for an array header", __func__);
    room = hdr.len;
    buf_release(&hdr);
    return frame_max - room;
}

size_t
wire_batch_frame(bool single, uint32_t n, const struct buf *body,
    struct buf *frame, const uint8_t **data)
{
    int rc;

    if (single) {
        *data = body->data;
        return body->len;
    }
    /* The body's cap left room for the longest array header. */
    buf_reset(frame);
    rc = wire_array_header(frame, n);
    if (rc == 0)
        rc = buf_append(frame, body->data, body->len);
    if (rc != 0)
        fatalx(
            "%s: invariant: a batch of %" PRIu32 " does not fit", __func__, n);
    *data = frame->data;
    return frame->len;
}

int
wire_bin_begin(struct buf *out, size_t *mark)
{
    static const uint8_t head[5] = { 0xc6, 0, 0, 0, 0 };

    *mark = out->len;
    return buf_append(out, head, sizeof(head));
}

int
wire_bin_end(struct buf *out, size_t mark)
{
    uint64_t n;

    if (mark + 5 > out->len || out->data[mark] != 0xc6)
        return ERR_INVAL;
    n = out->len - mark - 5;
    if (n > UINT32_MAX)
        return ERR_INVAL;
    out->data[mark + 1] = (uint8_t)(n >> 24);
    out->data[mark + 2] = (uint8_t)(n >> 16);
    out->data[mark + 3] = (uint8_t)(n >> 8);
    out->data[mark + 4] = (uint8_t)n;
    return 0;
}
