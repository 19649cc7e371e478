/*
 * test_event.c - unit tests of the internal event codec (common/event.c)
 *
 * Random valid events round-trip exactly; every strict prefix and a
 * trailing byte are refused; hand-made maps that break one rule each are
 * refused with the documented code; nothing of the raw identifiers
 * reaches the encoding.
 *
 * See also: common/event.h
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
#include "common/event.h"
#include "common/sfproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "tests/harness/msgframe.h"
#include "tests/harness/test.h"

static void
test_event_roundtrip(void)
{
    struct sfproto_batch batch;
    struct wire_dec d;
    struct event a, b;
    struct buf out;
    size_t i, n;

    buf_init(&out, 64 * 1024);
    wire_dec_init(&d, 4096);
    sfproto_batch_init(&batch);
    for (i = 0; i < 5000; i++) {
        rand_event(&a);
        buf_reset(&out);
        ASSERT_OK(event_encode(&out, &a));
        memset(&b, 0xa5, sizeof(b));
        ASSERT_OK(event_decode(&d, &b, out.data, out.len));
        ASSERT_MEM_EQ(&a, &b, sizeof(a));
        /* Every strict prefix and one trailing byte are refused. */
        if (i < 200) {
            for (n = 0; n < out.len; n++) {
                uint8_t *copy = malloc(n > 0 ? n : 1);

                ASSERT(copy != NULL);
                memcpy(copy, out.data, n);
                ASSERT(event_decode(&d, &b, copy, n) != 0);
                free(copy);
            }
            ASSERT_OK(buf_append(&out, "\xc0", 1));
            ASSERT_EQ(event_decode(&d, &b, out.data, out.len), ERR_MALFORMED);
        }
    }

    /* A typical order.placed after pseudo_apply: report its size. */
    {
        static const struct tf card[] = { S("number", "4111111111111111"),
            END };
        static const struct tf bill[] = { S("name", "Ann Lee"),
            S("city", "Springfield"), S("country", "US"), END };
        static const struct tf order[] = { U("v", 1), S("type", "order.placed"),
            S("id", "o-ev-1"), U("ts", TSV), S("account", "acct-1"),
            S("device", "dev-abc"), S("ip", "2001:db8:1:2::5"),
            S("email", "ann@example.com"), S("order", "o-1"),
            U("amount", 12999), S("currency", "EUR"), U("items", 2),
            M("card", card), M("billing", bill), END };
        struct event ev;
        msgpack_sbuffer sb;

        frame_of(&sb, order);
        ASSERT_OK(sfproto_batch_decode(&batch, sb.data, sb.size, NULL, 0));
        msgpack_sbuffer_destroy(&sb);
        ASSERT_OK(batch.items[0].rc);
        memcpy(&ev, &batch.items[0].ev, sizeof(ev));

        rand_pseudo(&ev.device);
        rand_pseudo(&ev.ip);
        rand_pseudo(&ev.email);
        rand_pseudo(&ev.card);
        rand_pseudo(&ev.billing);
        buf_reset(&out);
        ASSERT_OK(event_encode(&out, &ev));
        printf("# internal order.placed event: %zu bytes\n", out.len);
        ASSERT(out.len < 512);
        ASSERT_OK(event_decode(&d, &b, out.data, out.len));
        ASSERT_MEM_EQ(&ev, &b, sizeof(ev));
        /* Nothing of the raw identifiers is in the encoding. */
        ASSERT(!mem_has(out.data, out.len, "4111111111111111"));
        ASSERT(!mem_has(out.data, out.len, "ann@"));
        ASSERT(!mem_has(out.data, out.len, "2001:db8:1:2::5"));
        ASSERT(!mem_has(out.data, out.len, "Springfield"));
        ASSERT(!mem_has(out.data, out.len, "dev-abc"));
    }

    /* Strictness on hand-made internal maps. */
    {
        msgpack_sbuffer sb;
        msgpack_packer pk;

#define B16 "0123456789abcdef" /* a 16-byte binary */
        struct tf base[] = { U("v", EVENT_FORM_VERSION), U("t", 1), U("s", TSV),
            { "i", K_BIN, B16, 0, NULL }, U("h", 0), END };
        struct tf f[MAXF];
        static const struct {
            struct tf chg;
            int rc;
        } cases[] = {
            { U("zz", 1), ERR_MALFORMED }, /* unknown key */
            { U("t", 8), ERR_MALFORMED },  /* unknown type */
            { U("t", 0), ERR_MALFORMED },
            { U("s", 5), ERR_MALFORMED },            /* ts out of range */
            { S("s", "1"), ERR_MALFORMED },          /* wrong type */
            { U("h", 1u << 17), ERR_MALFORMED },     /* unknown bit */
            { U("h", EVENT_HAS_DEVICE), ERR_INVAL }, /* bit without its key */
            { { "a", K_BIN, B16, 0, NULL }, ERR_INVAL }, /* no bit for it */
            { S("a", "acc"), ERR_MALFORMED }, /* a raw id, not a pseudonym */
            { DEL("i"), ERR_MALFORMED },      /* fixed key missing */
            { DEL("v"), ERR_MALFORMED },      /* the form's version */
            { U("v", 1), ERR_MALFORMED },     /* form 1 */
            { S("i", "x"), ERR_MALFORMED },   /* form 1's raw event id */
            { U("f", 6), ERR_MALFORMED },
            { S("cu", "EURO"), ERR_MALFORMED }, /* too long */
            { { "i", K_BIN, "x", 0, NULL }, ERR_MALFORMED },
        };

        frame_of(&sb, base);
        ASSERT_OK(event_decode(&d, &b, sb.data, sb.size));
        msgpack_sbuffer_destroy(&sb);
        for (i = 0; i < ARRAY_LEN(cases); i++) {
            struct tf chg[2] = { cases[i].chg, END };

            tf_with(f, base, chg);
            frame_of(&sb, f);
            if (event_decode(&d, &b, sb.data, sb.size) != cases[i].rc)
                TEST_FAIL("internal case %zu accepted or wrong rc", i);
            msgpack_sbuffer_destroy(&sb);
        }
        /* A duplicate key. */
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 6);
        msgpack_pack_str_with_body(&pk, "v", 1);
        msgpack_pack_uint8(&pk, EVENT_FORM_VERSION);
        msgpack_pack_str_with_body(&pk, "t", 1);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_str_with_body(&pk, "s", 1);
        msgpack_pack_uint64(&pk, TSV);
        msgpack_pack_str_with_body(&pk, "i", 1);
        msgpack_pack_bin_with_body(&pk, B16, 16);
        msgpack_pack_str_with_body(&pk, "h", 1);
        msgpack_pack_uint8(&pk, 0);
        msgpack_pack_str_with_body(&pk, "i", 1);
        msgpack_pack_bin_with_body(&pk, B16, 16);
        ASSERT_EQ(event_decode(&d, &b, sb.data, sb.size), ERR_MALFORMED);
        msgpack_sbuffer_destroy(&sb);
    }

    /* The buf cap is enforced and a failed append leaves it unchanged. */
    {
        struct buf small;

        rand_event(&a);
        buf_init(&small, 8);
        ASSERT_EQ(event_encode(&small, &a), ERR_TOOBIG);
        ASSERT_EQ(small.len, 0);
        buf_release(&small);
    }
    buf_release(&out);
    wire_dec_release(&d);
    sfproto_batch_release(&batch);
}


/* Hex text to bytes; returns the length. */
static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t i, n = strlen(hex) / 2;

    ASSERT(n <= cap);
    for (i = 0; i < n; i++) {
        unsigned v;

        ASSERT_EQ(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

/*
 * The internal form is what the journal holds, so it must not drift.
 * GOLDEN_V2 is this event's form 2 encoding (pinned when form 2 came in;
 * checked with Python's msgpack: keys v=2, t, s, i, h, a, o, d, ip, p24,
 * p16, cc, b, am, cu, it, cb, c, bc). GOLDEN_V1 is an order in form 1,
 * made by the codec of commit b257408 (common/proto.c): it carried raw
 * ids, the /24 in clear and the card's last 4, and must now be refused.
 */
static void
test_golden(void)
{
    static const char golden_v1[] =
        "de0012a17405a173cf0000018bcfe56800a169a36f2d31a168cda61da161a661636"
        "3742d37a16fa56f72642d31a164c410000102030405060708090a0b0c0d0e0fa269"
        "70c410f0f0f1f1f2f2f3f3f4f4f5f5f6f6f7f7a27066ae3230332e302e3131332e3"
        "02f3234a26363a24742a162a66368726f6d65a2616dcd32c7a26375a3474250a269"
        "7402a26362a6343131313131a26334a431313131a163c410000306090c0f1215181"
        "b1e2124272a2da26263a24742";
    static const char golden_v2[] =
        "de0013a17602a17405a173cf0000018bcfe56800a169c410101112131415161718"
        "191a1b1c1d1e1fa168cda61da161c410202122232425262728292a2b2c2d2e2fa1"
        "6fc410303132333435363738393a3b3c3d3e3fa164c41000010203040506070809"
        "0a0b0c0d0e0fa26970c410f0f0f1f1f2f2f3f3f4f4f5f5f6f6f7f7a3703234c410"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafa3703136c410b0b1b2b3b4b5b6b7b8b9ba"
        "bbbcbdbebfa26363a24742a162a66368726f6d65a2616dcd32c7a26375a3474250"
        "a2697402a26362a6343131313131a163c410000306090c0f1215181b1e2124272a"
        "2da26263a24742";
    uint8_t want[1024];
    struct wire_dec d;
    struct event ev, back;
    struct buf out;
    size_t i, n;

    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_ORDER_PLACED;
    ev.ts = 1700000000000ULL;
    ev.has = EVENT_HAS_ACCOUNT | EVENT_HAS_DEVICE | EVENT_HAS_IP |
        EVENT_HAS_ORDER | EVENT_HAS_ITEMS | EVENT_HAS_CARD |
        EVENT_HAS_CARD_BIN | EVENT_HAS_IP_COUNTRY;
    for (i = 0; i < 16; i++) {
        ev.id.b[i] = (uint8_t)(0x10 + i);
        ev.account.b[i] = (uint8_t)(0x20 + i);
        ev.order.b[i] = (uint8_t)(0x30 + i);
        ev.device.b[i] = (uint8_t)i;
        ev.ip.b[i] = (uint8_t)(0xf0 + i / 2);
        ev.ip24.b[i] = (uint8_t)(0xa0 + i);
        ev.ip16.b[i] = (uint8_t)(0xb0 + i);
        ev.card.b[i] = (uint8_t)(i * 3);
    }
    TEXT_COPY(ev.ip_country, "GB");
    TEXT_COPY(ev.browser, "chrome");
    ev.amount = 12999;
    TEXT_COPY(ev.currency, "GBP");
    ev.items = 2;
    TEXT_COPY(ev.card_bin, "411111");
    TEXT_COPY(ev.billing_country, "GB");

    wire_dec_init(&d, 4096);
    buf_init(&out, 4096);
    ASSERT_OK(event_encode(&out, &ev));
    n = unhex(golden_v2, want, sizeof(want));
    if (out.len != n || memcmp(out.data, want, n) != 0) {
        fprintf(stderr, "encoding drifted; now:\n");
        for (i = 0; i < out.len; i++)
            fprintf(stderr, "%02x", out.data[i]);
        fprintf(stderr, "\n");
        TEST_FAIL("the internal form changed");
    }
    ASSERT_OK(event_decode(&d, &back, want, n));
    ASSERT_MEM_EQ(&back, &ev, sizeof(ev));

    /* Form 1 is refused whole, not half-read. */
    n = unhex(golden_v1, want, sizeof(want));
    ASSERT_EQ(event_decode(&d, &back, want, n), ERR_MALFORMED);
    wire_dec_release(&d);
    buf_release(&out);
}

static void
test_names(void)
{
    int t;

    ASSERT_STR_EQ(event_type_name(EVENT_ORDER_PLACED), "order.placed");
    ASSERT_STR_EQ(event_type_name(EVENT_LABEL), "label");
    ASSERT_STR_EQ(event_type_name(EVENT_NONE), "unknown");
    ASSERT_STR_EQ(event_type_name((enum event_type)99), "unknown");
    for (t = EVENT_NONE + 1; t < EVENT_TYPE_COUNT; t++)
        ASSERT_EQ(event_type_parse(event_type_name((enum event_type)t)), t);
    ASSERT_EQ(event_type_parse("order"), EVENT_NONE);
    ASSERT_STR_EQ(event_update_name(EVENT_UPDATE_ADDRESS), "address");
    ASSERT_STR_EQ(event_update_name((enum event_update)42), "");
}

int
main(void)
{
    RUN(test_names);
    RUN(test_golden);
    RUN(test_event_roundtrip);
    return 0;
}
