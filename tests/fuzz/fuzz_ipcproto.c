/*
 * fuzz_ipcproto.c - libFuzzer harness: the collector <-> scorer frames
 *
 * The internal socket is a local attack surface, so the scorer decodes
 * it as strictly as the storefront port. The bytes go to every decoder
 * of ipcproto.h: the events envelope (each event inside then to
 * event_decode, as the scorer does), the replies frame, the refusals
 * frame and ipcproto_msg_type(). Checked: the envelope's views stay
 * inside the frame; events re-encode to an envelope that decodes to
 * the same events; replies and refusals re-encode to a fixpoint.
 *
 * See also: common/ipcproto.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/event.h"
#include "common/ipcproto.h"
#include "common/reply.h"
#include "common/wire.h"
#include "common/zauth.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wire_dec dec, edec;

static void
check_events(const uint8_t *data, size_t size)
{
    static struct ipcproto_events v, v2;
    static struct event evs[IPCPROTO_MAX_EVENTS];
    static uint8_t ok[IPCPROTO_MAX_EVENTS];
    struct event back;
    struct buf out;
    uint32_t i, ngood = 0;

    if (ipcproto_events_decode(&dec, &v, data, size) != 0)
        return;
    if (v.n > IPCPROTO_MAX_EVENTS)
        fuzzutil_fail("events: count over the maximum");
    for (i = 0; i < v.n; i++) {
        if (v.raw[i] < data || v.raw[i] + v.rawlen[i] > data + size)
            fuzzutil_fail("events: a view outside the frame");
        ok[i] = event_decode(&edec, &evs[i], v.raw[i], v.rawlen[i]) == 0;
        ngood += ok[i];
    }
    if (ngood == 0)
        return;
    /* The good events, framed again, decode to the same events. */
    buf_init(&out, IPCPROTO_MAX_BYTES);
    if (ipcproto_events_begin(&out, v.tag, v.actor, ngood) != 0)
        fuzzutil_fail("events: begin");
    for (i = 0; i < v.n; i++)
        if (ok[i] && ipcproto_events_add(&out, &evs[i]) != 0)
            fuzzutil_fail("events: a decoded event does not fit again");
    if (ipcproto_events_decode(&dec, &v2, out.data, out.len) != 0 ||
        v2.n != ngood || v2.tag != v.tag || strcmp(v2.actor, v.actor) != 0)
        fuzzutil_fail("events: a re-encoded frame does not decode");
    for (i = 0, ngood = 0; i < v.n; i++) {
        if (!ok[i])
            continue;
        if (event_decode(&edec, &back, v2.raw[ngood], v2.rawlen[ngood]) != 0 ||
            memcmp(&back, &evs[i], sizeof(back)) != 0)
            fuzzutil_fail("events: an event changed in a round trip");
        ngood++;
    }
    buf_release(&out);
}

static void
encode_replies(struct buf *out, uint64_t tag, const struct reply *r, uint32_t n)
{
    if (ipcproto_replies_begin(out, tag, n) != 0)
        fuzzutil_fail("replies: begin");
    for (uint32_t i = 0; i < n; i++)
        if (reply_encode(out, &r[i]) != 0)
            fuzzutil_fail("replies: a decoded reply does not encode");
}

static void
check_replies(const uint8_t *data, size_t size)
{
    static struct reply r1[IPCPROTO_MAX_EVENTS], r2[IPCPROTO_MAX_EVENTS];
    uint64_t tag, tag2;
    uint32_t n, n2;
    struct buf b1, b2;

    if (ipcproto_replies_decode(
            &dec, data, size, &tag, r1, IPCPROTO_MAX_EVENTS, &n) != 0)
        return;
    buf_init(&b1, IPCPROTO_MAX_BYTES);
    buf_init(&b2, IPCPROTO_MAX_BYTES);
    encode_replies(&b1, tag, r1, n);
    if (ipcproto_replies_decode(
            &dec, b1.data, b1.len, &tag2, r2, IPCPROTO_MAX_EVENTS, &n2) != 0 ||
        n2 != n || tag2 != tag)
        fuzzutil_fail("replies: a re-encoded frame does not decode");
    encode_replies(&b2, tag2, r2, n2);
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        fuzzutil_fail("replies: encode(decode(encode(r))) differs");
    buf_release(&b1);
    buf_release(&b2);
}

static void
check_refusals(const uint8_t *data, size_t size)
{
    static struct zauth_refusal r1[IPCPROTO_MAX_REFUSALS],
        r2[IPCPROTO_MAX_REFUSALS];
    size_t n, n2;
    struct buf b1, b2;
    int rc;

    if (ipcproto_refusals_decode(
            &dec, data, size, r1, IPCPROTO_MAX_REFUSALS, &n) != 0)
        return;
    buf_init(&b1, IPCPROTO_MAX_BYTES);
    buf_init(&b2, IPCPROTO_MAX_BYTES);
    rc = ipcproto_refusals_encode(&b1, r1, n);
    if (rc != 0)
        fuzzutil_fail("refusals: a decoded frame does not encode");
    if (ipcproto_refusals_decode(
            &dec, b1.data, b1.len, r2, IPCPROTO_MAX_REFUSALS, &n2) != 0 ||
        n2 != n)
        fuzzutil_fail("refusals: a re-encoded frame does not decode");
    if (ipcproto_refusals_encode(&b2, r2, n2) != 0 || b1.len != b2.len ||
        memcmp(b1.data, b2.data, b1.len) != 0)
        fuzzutil_fail("refusals: encode(decode(encode(r))) differs");
    buf_release(&b1);
    buf_release(&b2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    int type;

    if (!ready) {
        wire_dec_init(&dec, 64 * 1024);
        wire_dec_init(&edec, 8 * 1024);
        ready = 1;
    }
    type = ipcproto_msg_type(data, size);
    if (type < 0 || type > 0x7f)
        fuzzutil_fail("ipcproto_msg_type out of range");
    check_events(data, size);
    check_replies(data, size);
    check_refusals(data, size);
    return 0;
}
