/*
 * test_wire.c - unit tests of the msgpack layer (common/wire.c)
 *
 * The guard against hand-made hostile bytes (huge declared counts and
 * lengths, nesting, ext types, the unused 0xc1, every truncation), the
 * decode (one whole item, zero-copy), the strict readers at and past
 * their bounds, wire_collect() on unknown, repeated and non-string keys,
 * and the encoder's cap and rollback.
 *
 * See also: common/wire.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/wire.h"
#include "tests/harness/test.h"

static struct wire_dec dec;

/* Scan `n` bytes with max depth `depth`; returns rc, *used. */
static int
scan(const uint8_t *p, size_t n, unsigned depth, size_t *used)
{
    const char *why = NULL;
    int rc = wire_scan(p, n, depth, used, &why);

    if (rc != 0 && why == NULL)
        TEST_FAIL("a refusal without a reason");
    return rc;
}

static void
test_scan_valid(void)
{
    /* One of each type msgpack has, as the first item of the buffer. */
    static const struct {
        const uint8_t b[12];
        size_t n;
    } items[] = {
        { { 0x05 }, 1 },                            /* positive fixint */
        { { 0xff }, 1 },                            /* negative fixint */
        { { 0xc0 }, 1 },                            /* nil */
        { { 0xc3 }, 1 },                            /* true */
        { { 0xcc, 0xff }, 2 },                      /* uint 8 */
        { { 0xcd, 1, 2 }, 3 },                      /* uint 16 */
        { { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9 }, /* int 64 */
        { { 0xca, 0x3f, 0x80, 0, 0 }, 5 },          /* float 32 */
        { { 0xa2, 'h', 'i' }, 3 },                  /* fixstr */
        { { 0xd9, 1, 'x' }, 3 },                    /* str 8 */
        { { 0xc4, 2, 0, 1 }, 4 },                   /* bin 8 */
        { { 0x92, 0x01, 0xa0 }, 3 },                /* fixarray */
        { { 0x81, 0xa1, 'k', 0xc2 }, 4 },           /* fixmap */
        { { 0xdc, 0, 1, 0x07 }, 4 },                /* array 16 */
        { { 0xde, 0, 1, 0xa0, 0x90 }, 5 },          /* map 16 */
    };
    uint8_t buf[16];
    size_t i, used;

    for (i = 0; i < ARRAY_LEN(items); i++) {
        memcpy(buf, items[i].b, items[i].n);
        buf[items[i].n] = 0x00; /* a following item is not counted */
        ASSERT_OK(scan(buf, items[i].n + 1, 2, &used));
        ASSERT_EQ(used, items[i].n);
        /* Every strict prefix is refused. */
        for (size_t k = 0; k < items[i].n; k++)
            ASSERT_EQ(scan(buf, k, 2, &used), ERR_MALFORMED);
    }
}

static void
test_scan_hostile(void)
{
    /* Declared counts and lengths far beyond the bytes present. */
    static const uint8_t arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    static const uint8_t map32[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02 };
    static const uint8_t map_half[] = { 0x82, 0x01, 0x02, 0x03 }; /* 2 pairs */
    static const uint8_t str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a' };
    static const uint8_t bin16[] = { 0xc5, 0x01, 0x00, 'a' };
    static const uint8_t ext[] = { 0xd4, 0x01, 0x02 };
    static const uint8_t ext8[] = { 0xc7, 0x01, 0x05, 0x00 };
    static const uint8_t never[] = { 0xc1 };
    uint8_t deep[64];
    size_t used, i;

    ASSERT_EQ(scan(arr32, sizeof(arr32), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(map32, sizeof(map32), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(map_half, sizeof(map_half), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(str32, sizeof(str32), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(bin16, sizeof(bin16), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(ext, sizeof(ext), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(ext8, sizeof(ext8), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(never, sizeof(never), 4, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(never, 0, 4, &used), ERR_MALFORMED);

    /* Nesting: n arrays around a nil are depth n. */
    for (i = 0; i < 40; i++)
        deep[i] = 0x91;
    deep[40] = 0xc0;
    ASSERT_OK(scan(deep + 40 - 3, 4, 3, &used));
    ASSERT_EQ(used, 4);
    ASSERT_EQ(scan(deep + 40 - 4, 5, 3, &used), ERR_MALFORMED);
    ASSERT_EQ(scan(deep, 41, 8, &used), ERR_MALFORMED);
    ASSERT_OK(scan(deep, 41, 40, &used));
}

static void
test_decode(void)
{
    msgpack_object o;
    const char *why;
    uint8_t b[] = { 0x82, 0xa1, 'a', 0xa3, 'x', 'y', 'z', 0xa1, 'b', 0xc4, 0x02,
        0x01, 0x02, 0xc0 };

    ASSERT_OK(wire_decode(&dec, b, sizeof(b) - 1, 1, &o, &why));
    ASSERT_EQ(o.type, MSGPACK_OBJECT_MAP);
    ASSERT_EQ(o.via.map.size, 2);
    /* Strings and binaries point into the caller's bytes. */
    ASSERT(o.via.map.ptr[0].val.via.str.ptr == (const char *)b + 4);
    ASSERT(o.via.map.ptr[1].val.via.bin.ptr == (const char *)b + 11);
    /* Trailing bytes, depth and emptiness. */
    ASSERT_EQ(wire_decode(&dec, b, sizeof(b), 1, &o, &why), ERR_MALFORMED);
    ASSERT(strstr(why, "trailing") != NULL);
    ASSERT_EQ(wire_decode(&dec, b, sizeof(b) - 1, 0, &o, &why), ERR_MALFORMED);
    ASSERT_EQ(wire_decode(&dec, b, 0, 1, &o, &why), ERR_MALFORMED);
}

/* Decode `n` bytes that must be one item; returns the object. */
static msgpack_object
one(const void *p, size_t n)
{
    msgpack_object o;
    const char *why;

    ASSERT_OK(wire_decode(&dec, p, n, 4, &o, &why));
    return o;
}

static void
test_readers(void)
{
    char s[8];
    uint64_t u = 7;
    bool bo = false;
    double d = 0;
    uint8_t bin[2];
    msgpack_object o;

    o = one("\xa3"
            "abc",
        4);
    ASSERT_OK(wire_get_str(&o, WIRE_TEXT, 1, 3, s));
    ASSERT_STR_EQ(s, "abc");
    ASSERT_EQ(wire_get_str(&o, WIRE_TEXT, 4, 7, s), ERR_INVAL);
    ASSERT_EQ(wire_get_str(&o, WIRE_TEXT, 0, 2, s), ERR_INVAL);
    ASSERT_STR_EQ(s, "abc"); /* untouched on failure */
    o = one("\xa3"
            "aBc",
        4);
    ASSERT_EQ(wire_get_str(&o, WIRE_TOKEN, 1, 7, s), ERR_INVAL);
    o = one("\xa3"
            "a\x01z",
        4);
    ASSERT_EQ(wire_get_str(&o, WIRE_TEXT, 1, 7, s), ERR_INVAL);
    o = one("\xa3\xc2\x85z", 4); /* U+0085, a C1 control */
    ASSERT_EQ(wire_get_str(&o, WIRE_TEXT, 1, 7, s), ERR_INVAL);
    o = one("\xa4\xe2\x80\xaez", 5); /* U+202E, right-to-left override */
    ASSERT_OK(wire_get_str(&o, WIRE_TEXT, 1, 7, s));
    ASSERT_EQ(wire_get_str(&o, WIRE_NAME, 1, 7, s), ERR_INVAL);
    o = one("\x05", 1);
    ASSERT_EQ(wire_get_str(&o, WIRE_TEXT, 0, 7, s), ERR_INVAL);

    ASSERT_OK(wire_get_uint(&o, 5, 5, &u));
    ASSERT_EQ(u, 5);
    ASSERT_EQ(wire_get_uint(&o, 6, 9, &u), ERR_INVAL);
    ASSERT_EQ(wire_get_uint(&o, 0, 4, &u), ERR_INVAL);
    o = one("\xff", 1); /* -1 */
    ASSERT_EQ(wire_get_uint(&o, 0, UINT64_MAX, &u), ERR_INVAL);
    o = one("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    ASSERT_OK(wire_get_uint(&o, 0, UINT64_MAX, &u));
    ASSERT_EQ(u, UINT64_MAX);
    ASSERT_EQ(wire_get_bool(&o, &bo), ERR_INVAL);
    o = one("\xc3", 1);
    ASSERT_OK(wire_get_bool(&o, &bo));
    ASSERT(bo);
    o = one("\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", 9); /* NaN */
    ASSERT_EQ(wire_get_double(&o, &d), ERR_INVAL);
    o = one("\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00", 9); /* 1.5 */
    ASSERT_OK(wire_get_double(&o, &d));
    ASSERT(d == 1.5);
    o = one("\xc4\x02\x09\x08", 4);
    ASSERT_OK(wire_get_bin(&o, bin, 2));
    ASSERT_EQ(bin[0], 9);
    ASSERT_EQ(wire_get_bin(&o, bin, 1), ERR_INVAL);
}

static void
test_collect(void)
{
    static const struct wire_key keys[] = { WIRE_KEY("a"), WIRE_KEY("bb"),
        WIRE_KEY("ccc") };
    const msgpack_object *v[3];
    char why[96];
    msgpack_object o;

    /* Any order; absent keys stay NULL. */
    memset(v, 0, sizeof(v));
    o = one("\x82\xa3"
            "ccc\x01\xa1"
            "a\x02",
        9);
    ASSERT_OK(wire_collect(&o, keys, 3, "", v, why, sizeof(why)));
    ASSERT(v[0] != NULL && v[0]->via.u64 == 2 && v[1] == NULL);
    ASSERT(v[2] != NULL && v[2]->via.u64 == 1);
    /* An unknown key is named when it is a plain name... */
    memset(v, 0, sizeof(v));
    o = one("\x81\xa5"
            "color\x01",
        8);
    ASSERT_EQ(
        wire_collect(&o, keys, 3, "card.", v, why, sizeof(why)), ERR_INVAL);
    ASSERT_STR_EQ(why, "unknown field 'card.color'");
    /* ...and left out when it is not. */
    memset(v, 0, sizeof(v));
    o = one("\x81\xa3<x>\x01", 6);
    ASSERT_EQ(wire_collect(&o, keys, 3, "", v, why, sizeof(why)), ERR_INVAL);
    ASSERT(strchr(why, '<') == NULL);
    /* Repeated and non-string keys; not a map. */
    memset(v, 0, sizeof(v));
    o = one("\x82\xa2"
            "bb\x01\xa2"
            "bb\x02",
        9);
    ASSERT_EQ(
        wire_collect(&o, keys, 3, "", v, why, sizeof(why)), ERR_MALFORMED);
    ASSERT(strstr(why, "duplicate field 'bb'") != NULL);
    memset(v, 0, sizeof(v));
    o = one("\x81\x01\x01", 3);
    ASSERT_EQ(
        wire_collect(&o, keys, 3, "", v, why, sizeof(why)), ERR_MALFORMED);
    o = one("\x90", 1);
    ASSERT_EQ(wire_collect(&o, keys, 3, "", v, NULL, 0), ERR_MALFORMED);
    ASSERT_EQ(wire_key_index(&o, keys, 3, 0), -1);
}

static void
test_encoder(void)
{
    struct wire_enc e;
    struct buf b;
    size_t mark;
    msgpack_object o;

    buf_init(&b, 16);
    ASSERT_OK(buf_append(&b, "AB", 2));
    wire_enc_begin(&e, &b);
    wire_put_map(&e, 1);
    wire_put_str(&e, "k");
    wire_put_uint(&e, 300);
    ASSERT_OK(wire_enc_end(&e));
    ASSERT_EQ(b.len, 2 + 1 + 2 + 3);
    o = one(b.data + 2, b.len - 2);
    ASSERT_EQ(o.via.map.ptr[0].val.via.u64, 300);
    /* Over the cap: ERR_TOOBIG and the buf as it was. */
    wire_enc_begin(&e, &b);
    wire_put_str(&e, "a string longer than the room left");
    wire_put_bool(&e, true);
    ASSERT_EQ(wire_enc_end(&e), ERR_TOOBIG);
    ASSERT_EQ(b.len, 8);
    ASSERT_MEM_EQ(b.data, "AB", 2);
    buf_release(&b);

    /* A binary whose body is encoded after its header. */
    buf_init(&b, 64);
    ASSERT_OK(wire_array_header(&b, 1));
    ASSERT_OK(wire_bin_begin(&b, &mark));
    wire_enc_begin(&e, &b);
    wire_put_array(&e, 2);
    wire_put_nil(&e);
    wire_put_double(&e, -2.25);
    ASSERT_OK(wire_enc_end(&e));
    ASSERT_OK(wire_bin_end(&b, mark));
    o = one(b.data, b.len);
    ASSERT_EQ(o.via.array.ptr[0].type, MSGPACK_OBJECT_BIN);
    ASSERT_EQ(o.via.array.ptr[0].via.bin.size, 1 + 1 + 9);
    o = one(o.via.array.ptr[0].via.bin.ptr, o.via.array.ptr[0].via.bin.size);
    ASSERT(o.via.array.ptr[1].via.f64 == -2.25);
    ASSERT_EQ(wire_bin_end(&b, 0), ERR_INVAL); /* not a header */
    buf_release(&b);
}

/* wire_map_get/wire_map_uint: the lenient lookup tools use on replies. */
static void
test_map_lookup(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    uint64_t v = 7;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "size", 4);
    msgpack_pack_uint64(&pk, 42);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_unpacked_init(&u);
    ASSERT(msgpack_unpack_next(&u, sb.data, sb.size, NULL) ==
        MSGPACK_UNPACK_SUCCESS);
    ASSERT(wire_map_uint(&u.data, "size", &v) && v == 42);
    ASSERT(!wire_map_uint(&u.data, "name", &v) && v == 42);
    ASSERT(wire_map_get(&u.data, "name") != NULL);
    ASSERT(wire_map_get(&u.data, "siz") == NULL);
    ASSERT(wire_map_get(&u.data, "sizes") == NULL);
    ASSERT(wire_map_get(NULL, "size") == NULL);
    ASSERT(wire_map_get(wire_map_get(&u.data, "name"), "x") == NULL);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
    wire_dec_init(&dec, 1024);
    RUN(test_scan_valid);
    RUN(test_scan_hostile);
    RUN(test_decode);
    RUN(test_readers);
    RUN(test_map_lookup);
    RUN(test_collect);
    RUN(test_encoder);
    wire_dec_release(&dec);
    return 0;
}
