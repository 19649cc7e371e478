/*
 * fuzz_wire.c - libFuzzer harness: the msgpack guard (wire_scan) against
 *               msgpack-c, and the strict readers
 *
 * Every protocol decoder of Vigil trusts wire_scan() to let through only
 * what msgpack-c can unpack within the declared limits. The first byte
 * picks the depth limit (0..7), the rest is the message. Checked: what
 * the guard accepts, wire_decode() unpacks (msgpack-c agrees with the
 * guard); the unpacked object packed again by msgpack-c is accepted by
 * the guard at the same depth, with its whole length; the strict readers
 * (wire_collect, wire_get_*) on the object and its members return only
 * their documented codes.
 *
 * See also: common/wire.h, tests/fuzz/fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/err.h"
#include "common/wire.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct wire_key keys[] = { WIRE_KEY("v"), WIRE_KEY("type"),
    WIRE_KEY("id"), WIRE_KEY("ts"), WIRE_KEY("account"), WIRE_KEY("card") };
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void
read_value(const msgpack_object *o)
{
    char s[257];
    uint8_t bin[16];
    uint64_t u;
    double d;
    bool b;
    int rc;

    for (int kind = WIRE_TEXT; kind <= WIRE_NAME; kind++) {
        rc = wire_get_str(o, (enum wire_strkind)kind, 0, 256, s);
        if (rc == 0 && strlen(s) > 256)
            fuzzutil_fail("wire_get_str: longer than its maximum");
        if (rc != 0 && rc != ERR_INVAL)
            fuzzutil_fail("wire_get_str: unexpected code");
    }
    if (wire_get_uint(o, 1, 1000, &u) == 0 && (u < 1 || u > 1000))
        fuzzutil_fail("wire_get_uint: out of its bounds");
    if (wire_get_double(o, &d) == 0 && d != d)
        fuzzutil_fail("wire_get_double: NaN");
    (void)wire_get_bool(o, &b);
    (void)wire_get_bin(o, bin, sizeof(bin));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct wire_dec dec;
    static int ready;
    const msgpack_object *vals[NKEYS];
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_object o;
    const char *why;
    unsigned depth;
    size_t used, used2;
    char whybuf[128];
    int rc;

    if (!ready) {
        wire_dec_init(&dec, 64 * 1024);
        ready = 1;
    }
    if (size < 1)
        return 0;
    depth = data[0] & 7u;
    data++;
    size--;
    if (size == 0 || wire_scan(data, size, depth, &used, &why) != 0)
        return 0;
    if (used == 0 || used > size)
        fuzzutil_fail("wire_scan: a length outside the input");
    rc = wire_decode(&dec, data, used, depth, &o, &why);
    if (rc != 0)
        fuzzutil_fail("msgpack-c refuses what the guard accepted");

    /* msgpack-c's own encoding of the object passes the guard whole. */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (msgpack_pack_object(&pk, o) != 0)
        fuzzutil_fail("msgpack-c cannot pack what it unpacked");
    if (wire_scan(sb.data, sb.size, depth, &used2, &why) != 0 ||
        used2 != sb.size)
        fuzzutil_fail("the guard refuses msgpack-c's encoding of an object");
    msgpack_sbuffer_destroy(&sb);

    read_value(&o);
    memset(vals, 0, sizeof(vals));
    rc = wire_collect(&o, keys, NKEYS, "x.", vals, whybuf, sizeof(whybuf));
    if (rc != 0 && rc != ERR_INVAL && rc != ERR_MALFORMED)
        fuzzutil_fail("wire_collect: unexpected code");
    if (rc == 0) {
        for (size_t i = 0; i < NKEYS; i++)
            if (vals[i] != NULL)
                read_value(vals[i]);
    } else if (memchr(whybuf, '\0', sizeof(whybuf)) == NULL) {
        fuzzutil_fail("wire_collect: reason not terminated");
    }
    if (o.type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o.via.array.size && i < 64; i++)
            read_value(&o.via.array.ptr[i]);
    return 0;
}
