/*
 * ipcproto.c - the collector <-> scorer frames (see ipcproto.h)
 *
 * The envelope is decoded with msgpack-c (wire.h); the events inside it
 * are binaries, so the scorer gets each event's exact bytes for its
 * journal without re-encoding and decodes each one on its own.
 *
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "common/err.h"
#include "common/cert.h"
#include "common/ipcproto.h"
#include "common/wire.h"

int
ipcproto_events_begin(
    struct buf *out, uint64_t tag, const char *actor, uint32_t nevents)
{
    struct wire_enc e;

    wire_enc_begin(&e, out);
    wire_put_array(&e, 5);
    wire_put_uint(&e, IPCPROTO_VERSION);
    wire_put_uint(&e, IPCPROTO_EVENTS);
    wire_put_uint(&e, tag);
    wire_put_strn(&e, actor, strnlen(actor, EVENT_ID_MAX));
    wire_put_array(&e, nevents);
    return wire_enc_end(&e);
}

int
ipcproto_events_add(struct buf *out, const struct event *ev)
{
    size_t start = out->len, mark;
    int rc;

    rc = wire_bin_begin(out, &mark);
    if (rc == 0)
        rc = event_encode(out, ev);
    if (rc == 0)
        rc = wire_bin_end(out, mark);
    if (rc != 0)
        buf_truncate(out, start);
    return rc;
}

/* Check the [1, type, tag, ...] head of a frame of `nelem` items. */
static int
read_head(const msgpack_object *o, uint32_t nelem, enum ipcproto_msg type,
    uint64_t *tag)
{
    uint64_t u = 0;

    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != nelem)
        return ERR_MALFORMED;
    if (wire_get_uint(&o->via.array.ptr[0], IPCPROTO_VERSION, IPCPROTO_VERSION,
            &u) != 0 ||
        wire_get_uint(&o->via.array.ptr[1], type, type, &u) != 0 ||
        wire_get_uint(&o->via.array.ptr[2], 0, UINT64_MAX, tag) != 0)
        return ERR_MALFORMED;
    return 0;
}

int
ipcproto_events_decode(
    struct wire_dec *d, struct ipcproto_events *v, const void *data, size_t len)
{
    const msgpack_object *evs;
    msgpack_object top;
    const char *why;
    uint32_t i;

    v->tag = 0;
    v->actor[0] = '\0';
    v->n = 0;
    if (len > IPCPROTO_MAX_BYTES ||
        wire_decode(d, data, len, 2, &top, &why) != 0 ||
        read_head(&top, 5, IPCPROTO_EVENTS, &v->tag) != 0 ||
        WIRE_GET_STR(&top.via.array.ptr[3], WIRE_NAME, 1, v->actor) != 0 ||
        !cert_name_ok(v->actor))
        goto fail;
    evs = &top.via.array.ptr[4];
    if (evs->type != MSGPACK_OBJECT_ARRAY ||
        evs->via.array.size > IPCPROTO_MAX_EVENTS)
        goto fail;
    for (i = 0; i < evs->via.array.size; i++) {
        const msgpack_object *b = &evs->via.array.ptr[i];

        if (b->type != MSGPACK_OBJECT_BIN || b->via.bin.size == 0 ||
            b->via.bin.size > EVENT_MAX_ENCODED)
            goto fail;
        v->raw[i] = (const uint8_t *)b->via.bin.ptr;
        v->rawlen[i] = b->via.bin.size;
    }
    v->n = evs->via.array.size;
    return 0;
fail:
    v->tag = 0;
    v->actor[0] = '\0';
    v->n = 0;
    return ERR_MALFORMED;
}

int
ipcproto_replies_begin(struct buf *out, uint64_t tag, uint32_t n)
{
    struct wire_enc e;

    wire_enc_begin(&e, out);
    wire_put_array(&e, 4);
    wire_put_uint(&e, IPCPROTO_VERSION);
    wire_put_uint(&e, IPCPROTO_REPLIES);
    wire_put_uint(&e, tag);
    wire_put_array(&e, n);
    return wire_enc_end(&e);
}

int
ipcproto_replies_decode(struct wire_dec *d, const void *data, size_t len,
    uint64_t *tag, struct reply *replies, uint32_t max, uint32_t *n)
{
    const msgpack_object *reps;
    msgpack_object top;
    const char *why;
    uint32_t i;

    *tag = 0;
    *n = 0;
    /* array > replies array > reply map > reasons array > reason map */
    if (len > IPCPROTO_MAX_BYTES ||
        wire_decode(d, data, len, 5, &top, &why) != 0 ||
        read_head(&top, 4, IPCPROTO_REPLIES, tag) != 0)
        goto fail;
    reps = &top.via.array.ptr[3];
    if (reps->type != MSGPACK_OBJECT_ARRAY || reps->via.array.size > max)
        goto fail;
    for (i = 0; i < reps->via.array.size; i++)
        if (reply_read(&reps->via.array.ptr[i], &replies[i]) != 0)
            goto fail;
    *n = reps->via.array.size;
    return 0;
fail:
    *tag = 0;
    *n = 0;
    return ERR_MALFORMED;
}

int
ipcproto_refusals_encode(
    struct buf *out, const struct zauth_refusal *r, size_t n)
{
    struct wire_enc e;
    size_t i;

    if (n > IPCPROTO_MAX_REFUSALS)
        return ERR_INVAL;
    wire_enc_begin(&e, out);
    wire_put_array(&e, 4);
    wire_put_uint(&e, IPCPROTO_VERSION);
    wire_put_uint(&e, IPCPROTO_REFUSALS);
    wire_put_uint(&e, 0);
    wire_put_array(&e, (uint32_t)n);
    for (i = 0; i < n; i++) {
        wire_put_map(&e, 7);
        wire_put_str(&e, "k");
        WIRE_PUT_ARR(&e, r[i].key);
        wire_put_str(&e, "a");
        WIRE_PUT_ARR(&e, r[i].address);
        wire_put_str(&e, "d");
        WIRE_PUT_ARR(&e, r[i].domain);
        wire_put_str(&e, "r");
        WIRE_PUT_ARR(&e, r[i].reason);
        wire_put_str(&e, "n");
        wire_put_uint(&e, r[i].count);
        wire_put_str(&e, "f");
        wire_put_uint(&e, r[i].first_ms);
        wire_put_str(&e, "l");
        wire_put_uint(&e, r[i].last_ms);
    }
    return wire_enc_end(&e);
}

int
ipcproto_msg_type(const void *data, size_t len)
{
    const uint8_t *p = data;

    /* [1, type, ...]: a fixarray header, then two positive fixints. */
    if (len < 3 || (p[0] & 0xf0) != 0x90 || p[1] != IPCPROTO_VERSION ||
        p[2] > 0x7f)
        return 0;
    return p[2];
}

int
ipcproto_refusals_decode(struct wire_dec *d, const void *data, size_t len,
    struct zauth_refusal *r, size_t max, size_t *n)
{
    static const struct wire_key keys[] = { WIRE_KEY("k"), WIRE_KEY("a"),
        WIRE_KEY("r"), WIRE_KEY("n"), WIRE_KEY("f"), WIRE_KEY("l"),
        WIRE_KEY("d") };
    const msgpack_object *list;
    msgpack_object top;
    const char *why;
    uint64_t tag;
    uint32_t i;

    *n = 0;
    if (len > IPCPROTO_MAX_BYTES ||
        wire_decode(d, data, len, 3, &top, &why) != 0 ||
        read_head(&top, 4, IPCPROTO_REFUSALS, &tag) != 0)
        return ERR_MALFORMED;
    list = &top.via.array.ptr[3];
    if (list->type != MSGPACK_OBJECT_ARRAY || list->via.array.size > max)
        return ERR_MALFORMED;
    for (i = 0; i < list->via.array.size; i++) {
        const msgpack_object *v[7] = { NULL };
        struct zauth_refusal *x = &r[i];

        memset(x, 0, sizeof(*x));
        if (wire_collect(&list->via.array.ptr[i], keys, 7, "", v, NULL, 0) !=
                0 ||
            v[0] == NULL || v[1] == NULL || v[2] == NULL || v[3] == NULL ||
            v[4] == NULL || v[5] == NULL || v[6] == NULL ||
            WIRE_GET_STR(v[6], WIRE_TOKEN, 0, x->domain) != 0 ||
            WIRE_GET_STR(v[0], WIRE_TEXT, 0, x->key) != 0 ||
            WIRE_GET_STR(v[1], WIRE_TEXT, 0, x->address) != 0 ||
            WIRE_GET_STR(v[2], WIRE_TEXT, 1, x->reason) != 0 ||
            wire_get_uint(v[3], 1, UINT64_MAX, &x->count) != 0 ||
            wire_get_uint(v[4], 0, UINT64_MAX, &x->first_ms) != 0 ||
            wire_get_uint(v[5], 0, UINT64_MAX, &x->last_ms) != 0)
            return ERR_MALFORMED;
    }
    *n = list->via.array.size;
    return 0;
}
