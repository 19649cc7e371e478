/*
 * test_jrec.c - unit tests of scorer/jrec's audit record (JREC_AUDIT):
 *               the group's audit frames in the journal
 *
 * Frames are built as an audit segment holds them (u32 len, u32 CRC32C,
 * payload). Checks: encode/decode round trip with the floor, chunking at
 * frame boundaries within JREC_AUDIT_MAX_FRAMES, an event record is not
 * an audit record (and the other way), and decoding refuses a record cut
 * inside a frame, a bad CRC, a zero or oversized frame length and an
 * empty one.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/journal.h"
#include "common/log.h"
#include "scorer/jrec.h"
#include "tests/harness/test.h"

/* Append one frame of `len` payload bytes of value `v` to f[*n..]. */
static void
frame(uint8_t *f, size_t *n, size_t len, uint8_t v)
{
    memset(f + *n + AUDIT_FRAME_BYTES, v, len);
    bytes_put_le32(f + *n, (uint32_t)len);
    bytes_put_le32(f + *n + 4, crc32c(0, f + *n + AUDIT_FRAME_BYTES, len));
    *n += AUDIT_FRAME_BYTES + len;
}

static void
test_roundtrip(void)
{
    uint8_t f[4096];
    const uint8_t *got;
    const char *why;
    struct buf b;
    uint64_t floor;
    size_t n = 0, glen;

    frame(f, &n, 100, 1);
    frame(f, &n, 1024, 2);
    frame(f, &n, 1, 3);
    buf_init(&b, JOURNAL_MAX_PAYLOAD);
    ASSERT_OK(jrec_audit_encode(&b, 12345, f, n));
    ASSERT(b.len <= JOURNAL_MAX_PAYLOAD);
    ASSERT(jrec_is_audit(b.data, b.len));
    ASSERT_OK(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why));
    ASSERT_EQ(floor, 12345u);
    ASSERT_EQ(glen, n);
    ASSERT_MEM_EQ(got, f, n);
    /* Cut anywhere but between two frames (the journal's own CRC covers
     * the record; a cut there is still whole frames): refused. */
    for (size_t cut = 0; cut < b.len; cut++) {
        size_t fb = cut - JREC_AUDIT_HEAD;
        bool boundary =
            cut > JREC_AUDIT_HEAD && (fb == 108 || fb == 108 + 1032);

        ASSERT_EQ(jrec_audit_decode(b.data, cut, &floor, &got, &glen, &why),
            boundary ? 0 : ERR_CORRUPT);
    }
    /* A bad CRC, a zero length, a length past 1024: refused. */
    b.data[JREC_AUDIT_HEAD + 4] ^= 1;
    ASSERT_EQ(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why),
        ERR_CORRUPT);
    b.data[JREC_AUDIT_HEAD + 4] ^= 1;
    bytes_put_le32(b.data + JREC_AUDIT_HEAD, 0);
    ASSERT_EQ(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why),
        ERR_CORRUPT);
    bytes_put_le32(b.data + JREC_AUDIT_HEAD, 1025);
    ASSERT_EQ(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why),
        ERR_CORRUPT);
    /* Nothing to encode. */
    ASSERT_EQ(jrec_audit_encode(&b, 1, f, 0), ERR_INVAL);
    buf_release(&b);
}

static void
test_kinds(void)
{
    static const uint8_t raw[] = { 1, 2, 3 };
    const uint8_t *got;
    const char *why;
    struct jrec r;
    struct buf b;
    uint64_t floor;
    size_t glen;

    buf_init(&b, JOURNAL_MAX_PAYLOAD);
    ASSERT_OK(jrec_encode(&b, "shop", 7, NULL, 0, raw, sizeof(raw)));
    ASSERT(!jrec_is_audit(b.data, b.len));
    ASSERT_EQ(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why),
        ERR_CORRUPT);
    ASSERT_OK(jrec_decode(b.data, b.len, &r, &why));
    {
        uint8_t f[64];
        size_t n = 0;

        frame(f, &n, 10, 9);
        ASSERT_OK(jrec_audit_encode(&b, 0, f, n));
    }
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    buf_release(&b);
}

/* A group's frames larger than one journal record: split at frame
 * boundaries, each piece a valid record, nothing lost. */
static void
test_chunks(void)
{
    size_t cap = 3 * JOURNAL_MAX_PAYLOAD, n = 0, off = 0, c, pieces = 0;
    uint8_t *f = malloc(cap);
    const uint8_t *got;
    const char *why;
    struct buf b;
    uint64_t floor;
    size_t glen;

    ASSERT(f != NULL);
    while (n + AUDIT_FRAME_BYTES + 1024 <= cap - 4096)
        frame(f, &n, 300 + (n % 700), (uint8_t)n);
    buf_init(&b, JOURNAL_MAX_PAYLOAD);
    while (off < n) {
        c = jrec_audit_chunk(f + off, n - off);
        ASSERT(c > 0 && c <= JREC_AUDIT_MAX_FRAMES);
        ASSERT_OK(jrec_audit_encode(&b, 5, f + off, c));
        ASSERT(b.len <= JOURNAL_MAX_PAYLOAD);
        ASSERT_OK(jrec_audit_decode(b.data, b.len, &floor, &got, &glen, &why));
        ASSERT_EQ(glen, c);
        ASSERT_MEM_EQ(got, f + off, c);
        off += c;
        pieces++;
    }
    ASSERT_EQ(off, n);
    ASSERT(pieces >= 3);
    buf_release(&b);
    free(f);
}

int
main(void)
{
    log_init("test_jrec", true);
    RUN(test_roundtrip);
    RUN(test_kinds);
    RUN(test_chunks);
    return 0;
}
