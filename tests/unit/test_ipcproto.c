/*
 * test_ipcproto.c - unit tests of the collector <-> scorer frames
 *                   (common/ipcproto.c) and of the reply map (reply.c)
 *
 * Replies and event envelopes round-trip exactly, every strict prefix
 * and a trailing byte are refused, each decoded event points into the
 * frame (no copy), and hand-made frames breaking one rule are refused.
 *
 * See also: common/ipcproto.h, common/reply.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/ipcproto.h"
#include "common/reply.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tests/harness/msgframe.h"
#include "tests/harness/test.h"

/* ------------------------------------------- replies and envelopes */

static void
test_replies(void)
{
    struct reply in[3], got[4];
    struct wire_dec d;
    struct buf out;
    uint64_t tag;
    uint32_t n, i;
    size_t k;

    reply_error(&in[0], "e-1", ERR_INVAL,
        "field 'amount': must be an unsigned integer 0..1000000000000");
    ASSERT_STR_EQ(in[0].id, "e-1");
    ASSERT_EQ(in[0].code, ERR_INVAL);
    ASSERT(!in[0].has_score);
    reply_error(&in[1], NULL, ERR_MALFORMED, "not a valid message");
    ASSERT_STR_EQ(in[1].id, "");
    memset(&in[2], 0, sizeof(in[2]));
    memcpy(in[2].id, "o-9", 4);
    memcpy(in[2].msg, "ok", 3);
    in[2].has_score = true;
    in[2].score = 87;
    in[2].decision = REPLY_DECISION_BLOCK;
    in[2].nreasons = REPLY_MAX_REASONS;
    for (i = 0; i < REPLY_MAX_REASONS; i++) {
        snprintf(in[2].reasons[i].code, sizeof(in[2].reasons[i].code),
            "reason_%u", i);
        snprintf(in[2].reasons[i].text, sizeof(in[2].reasons[i].text),
            "Reason number %u moved the score.", i);
        in[2].reasons[i].value = i * 1.25 - 3;
    }

    wire_dec_init(&d, 4096);
    buf_init(&out, IPCPROTO_MAX_BYTES);
    ASSERT_OK(ipcproto_replies_begin(&out, 0xfeedfacecafeULL, 3));
    for (i = 0; i < 3; i++)
        ASSERT_OK(reply_encode(&out, &in[i]));
    memset(got, 0x5a, sizeof(got));
    ASSERT_OK(ipcproto_replies_decode(&d, out.data, out.len, &tag, got, 4, &n));
    ASSERT_EQ(tag, 0xfeedfacecafeULL);
    ASSERT_EQ(n, 3);
    for (i = 0; i < 3; i++)
        ASSERT_MEM_EQ(&in[i], &got[i], sizeof(in[i]));
    ASSERT_STR_EQ(reply_decision_name(got[2].decision), "block");
    /* Too many for the caller's array. */
    ASSERT_EQ(ipcproto_replies_decode(&d, out.data, out.len, &tag, got, 2, &n),
        ERR_MALFORMED);
    ASSERT_EQ(n, 0);
    /* Every prefix fails; so does a trailing byte. */
    for (k = 0; k < out.len; k++) {
        uint8_t *copy = malloc(k > 0 ? k : 1);

        ASSERT(copy != NULL);
        memcpy(copy, out.data, k);
        ASSERT_EQ(ipcproto_replies_decode(&d, copy, k, &tag, got, 4, &n),
            ERR_MALFORMED);
        free(copy);
    }
    ASSERT_OK(buf_append(&out, "\x00", 1));
    ASSERT_EQ(ipcproto_replies_decode(&d, out.data, out.len, &tag, got, 4, &n),
        ERR_MALFORMED);

    /* A storefront reply frame: an array of reply maps. */
    buf_reset(&out);
    ASSERT_OK(wire_array_header(&out, 2));
    ASSERT_OK(reply_encode(&out, &in[0]));
    ASSERT_OK(reply_encode(&out, &in[2]));
    {
        msgpack_unpacked u;
        size_t off = 0;
        const msgpack_object *r0;

        msgpack_unpacked_init(&u);
        ASSERT_EQ(
            msgpack_unpack_next(&u, (const char *)out.data, out.len, &off),
            MSGPACK_UNPACK_SUCCESS);
        ASSERT_EQ(off, out.len);
        ASSERT_EQ(u.data.type, MSGPACK_OBJECT_ARRAY);
        ASSERT_EQ(u.data.via.array.size, 2);
        r0 = &u.data.via.array.ptr[0];
        ASSERT_EQ(r0->type, MSGPACK_OBJECT_MAP);
        ASSERT_EQ(r0->via.map.size, 4);
        ASSERT_EQ(u.data.via.array.ptr[1].via.map.size, 7);
        /* {id, ok, code, msg} in that order; code is the wire name. */
        ASSERT_EQ(r0->via.map.ptr[1].val.type, MSGPACK_OBJECT_BOOLEAN);
        ASSERT(!r0->via.map.ptr[1].val.via.boolean);
        ASSERT_EQ(r0->via.map.ptr[2].val.via.str.size, strlen("invalid"));
        ASSERT(memcmp(r0->via.map.ptr[2].val.via.str.ptr, "invalid", 7) == 0);
        msgpack_unpacked_destroy(&u);
    }
    buf_release(&out);
    wire_dec_release(&d);
}

static void
test_events_envelope(void)
{
    struct ipcproto_events *v;
    struct event ev[3], back;
    struct wire_dec d, ed;
    struct buf out, one[3];
    size_t i, k;

    v = malloc(sizeof(*v));
    ASSERT(v != NULL);
    wire_dec_init(&d, 4096);
    wire_dec_init(&ed, 4096);
    buf_init(&out, IPCPROTO_MAX_BYTES);
    ASSERT_OK(ipcproto_events_begin(&out, 42, "shop-a", 3));
    for (i = 0; i < 3; i++) {
        rand_event(&ev[i]);
        buf_init(&one[i], IPCPROTO_MAX_BYTES);
        ASSERT_OK(event_encode(&one[i], &ev[i]));
        ASSERT_OK(ipcproto_events_add(&out, &ev[i]));
    }
    ASSERT_OK(ipcproto_events_decode(&d, v, out.data, out.len));
    ASSERT_EQ(v->tag, 42);
    ASSERT_STR_EQ(v->actor, "shop-a");
    ASSERT_EQ(v->n, 3);
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(v->rawlen[i], one[i].len);
        ASSERT_MEM_EQ(v->raw[i], one[i].data, one[i].len);
        ASSERT(v->raw[i] >= out.data &&
            v->raw[i] + v->rawlen[i] <= out.data + out.len);
        ASSERT_OK(event_decode(&ed, &back, v->raw[i], v->rawlen[i]));
        ASSERT_MEM_EQ(&back, &ev[i], sizeof(back));
        buf_release(&one[i]);
    }
    for (k = 0; k < out.len; k++) {
        uint8_t *copy = malloc(k > 0 ? k : 1);

        ASSERT(copy != NULL);
        memcpy(copy, out.data, k);
        ASSERT_EQ(ipcproto_events_decode(&d, v, copy, k), ERR_MALFORMED);
        ASSERT_EQ(v->n, 0);
        free(copy);
    }
    ASSERT_OK(buf_append(&out, "\x01", 1));
    ASSERT_EQ(ipcproto_events_decode(&d, v, out.data, out.len), ERR_MALFORMED);

    /* Wrong message type and wrong version. */
    buf_reset(&out);
    ASSERT_OK(ipcproto_replies_begin(&out, 1, 0));
    ASSERT_EQ(ipcproto_events_decode(&d, v, out.data, out.len), ERR_MALFORMED);
    {
        static const uint8_t v2[] = { 0x95, 0x02, 0x01, 0x00, 0xa1, 'a', 0x90 };
        static const uint8_t ok0[] = { 0x95, 0x01, 0x01, 0x07, 0xa1, 'a',
            0x90 };
        static const uint8_t notbin[] = { 0x95, 0x01, 0x01, 0x07, 0xa1, 'a',
            0x91, 0x01 };
        static const uint8_t map[] = { 0x95, 0x01, 0x01, 0x07, 0xa1, 'a', 0x91,
            0x81, 0xa1, 'x', 0x01 };
        static const uint8_t empty[] = { 0x95, 0x01, 0x01, 0x07, 0xa1, 'a',
            0x91, 0xc4, 0x00 };
        static const uint8_t noactor[] = { 0x95, 0x01, 0x01, 0x07, 0xa0, 0x90 };

        ASSERT_EQ(ipcproto_events_decode(&d, v, v2, sizeof(v2)), ERR_MALFORMED);
        ASSERT_OK(ipcproto_events_decode(&d, v, ok0, sizeof(ok0)));
        ASSERT_EQ(v->n, 0);
        ASSERT_EQ(v->tag, 7);
        ASSERT_EQ(ipcproto_events_decode(&d, v, notbin, sizeof(notbin)),
            ERR_MALFORMED);
        ASSERT_EQ(
            ipcproto_events_decode(&d, v, map, sizeof(map)), ERR_MALFORMED);
        ASSERT_EQ(
            ipcproto_events_decode(&d, v, empty, sizeof(empty)), ERR_MALFORMED);
        ASSERT_EQ(ipcproto_events_decode(&d, v, noactor, sizeof(noactor)),
            ERR_MALFORMED);
    }
    buf_release(&out);
    wire_dec_release(&d);
    wire_dec_release(&ed);
    free(v);
}

/*
 * The refusals frame round-trips every field, every prefix is refused,
 * and the events envelope refuses an actor that is not a client name
 * (issue 9: "dpo:alice (approved)" with a bidi override).
 */
static void
test_refusals_and_actor(void)
{
    static struct zauth_refusal in[3], back[3];
    struct ipcproto_events *v = xcalloc(1, sizeof(*v));
    struct wire_dec d;
    struct buf out;
    size_t n = 0, k;

    wire_dec_init(&d, 4096);
    buf_init(&out, IPCPROTO_MAX_BYTES);
    for (k = 0; k < 3; k++) {
        memset(&in[k], 0, sizeof(in[k]));
        snprintf(in[k].key, sizeof(in[k].key), "%s",
            k == 2 ? "" : "rq:Rt]u{vzJ6T!Fi:&6jjRjoqe<Op8jU!tqnWWeH");
        snprintf(in[k].address, sizeof(in[k].address), "127.0.0.%zu", k + 1);
        snprintf(in[k].domain, sizeof(in[k].domain), "%s",
            k == 1 ? "vigil-internal" : "vigil");
        snprintf(in[k].reason, sizeof(in[k].reason), "unknown or revoked key");
        in[k].count = k + 1;
        in[k].first_ms = 1000 + k;
        in[k].last_ms = 2000 + k;
    }
    ASSERT_OK(ipcproto_refusals_encode(&out, in, 3));
    ASSERT_EQ(ipcproto_msg_type(out.data, out.len), IPCPROTO_REFUSALS);
    ASSERT_OK(ipcproto_refusals_decode(&d, out.data, out.len, back, 3, &n));
    ASSERT_EQ(n, 3);
    ASSERT_MEM_EQ(back, in, sizeof(in));
    ASSERT_EQ(ipcproto_refusals_decode(&d, out.data, out.len, back, 2, &n),
        ERR_MALFORMED);
    for (k = 0; k < out.len; k++)
        ASSERT_EQ(ipcproto_refusals_decode(&d, out.data, k, back, 3, &n),
            ERR_MALFORMED);

    /* An actor must be a client name, as the ZAP handler gives them. */
    {
        static const char *const bad[] = { "dpo:alice (approved)",
            ("shop\xe2\x80\xae"
             "evil"),
            "shop a", "" };
        static const uint8_t ev[] = { 0x81, 0xa1, 'v', 0x01 };

        for (k = 0; k < ARRAY_LEN(bad); k++) {
            buf_reset(&out);
            ASSERT_OK(ipcproto_events_begin(&out, 1, bad[k], 1));
            ASSERT_OK(buf_append(&out, "\xc4\x04", 2));
            ASSERT_OK(buf_append(&out, ev, sizeof(ev)));
            ASSERT_EQ(ipcproto_events_decode(&d, v, out.data, out.len),
                ERR_MALFORMED);
        }
        buf_reset(&out);
        ASSERT_OK(ipcproto_events_begin(&out, 1, "shop-b.eu_1", 1));
        ASSERT_OK(buf_append(&out, "\xc4\x04", 2));
        ASSERT_OK(buf_append(&out, ev, sizeof(ev)));
        ASSERT_OK(ipcproto_events_decode(&d, v, out.data, out.len));
        ASSERT_STR_EQ(v->actor, "shop-b.eu_1");
    }
    buf_release(&out);
    wire_dec_release(&d);
    free(v);
}

static void
test_decision_names(void)
{
    int dd;

    ASSERT_STR_EQ(reply_decision_name(REPLY_DECISION_ALLOW), "allow");
    ASSERT_STR_EQ(reply_decision_name(REPLY_DECISION_REVIEW), "review");
    ASSERT_STR_EQ(reply_decision_name(REPLY_DECISION_NONE), "");
    for (dd = REPLY_DECISION_ALLOW; dd <= REPLY_DECISION_BLOCK; dd++)
        ASSERT_EQ(
            reply_decision_parse(reply_decision_name((enum reply_decision)dd)),
            dd);
    ASSERT_EQ(reply_decision_parse("deny"), REPLY_DECISION_NONE);
    ASSERT_EQ(reply_code_parse("ok"), 0);
    ASSERT_EQ(reply_code_parse("audit"), ERR_AUDIT);
    ASSERT_EQ(reply_code_parse("nope"), 1);
}

int
main(void)
{
    RUN(test_decision_names);
    RUN(test_replies);
    RUN(test_events_envelope);
    RUN(test_refusals_and_actor);
    return 0;
}
