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
        WIRE_GET_STR(&top.via.array.ptr[3], WIRE_NAME, 1, v->actor) != 0)
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
