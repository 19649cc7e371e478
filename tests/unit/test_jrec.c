/*
 * test_jrec.c - unit tests of the scorer's journal records (scorer/jrec.c):
 *               the event record and the audit record (JREC_AUDIT)
 *
 * Event records: a record with salts round-trips byte for byte (actor,
 * arrival time, each salt's kind, pseudonym and salt, the event bytes
 * borrowed from the payload); every strict prefix of it is refused as
 * corrupt with a reason and nothing read past its length (each prefix is
 * decoded from its own heap copy, so ASan sees an over-read); a version
 * 1 record is named as such; a NUL in the actor, a salt count over the
 * limit and the kinds NONE and past the last are refused; the encoder
 * refuses an empty or over-long actor, too many salts and an empty
 * event.
 *
 * Audit records: frames are built as an audit segment holds them (u32
 * len, u32 CRC32C, payload). Checks: encode/decode round trip with the
 * floor, chunking at frame boundaries within JREC_AUDIT_MAX_FRAMES, an
 * event record is not an audit record (and the other way), and decoding
 * refuses a record cut inside a frame, a bad CRC, a zero or oversized
 * frame length and an empty one.
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

static const uint8_t event_bytes[] = { 0x93, 0x01, 0x02, 0xa3, 'a', 'b', 'c' };

static void
make_salts(struct jrec_salt *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        s[i].kind = (enum vault_kind)(VAULT_KIND_ACCOUNT + i % 3);
        memset(s[i].p.b, (int)(0x10 + i), PSEUDO_BYTES);
        memset(s[i].salt, (int)(0x80 + i), VAULT_SALT_BYTES);
    }
}

static void
test_event_roundtrip(void)
{
    struct jrec_salt salts[VAULT_EVENT_SUBJECTS];
    struct jrec r;
    const char *why;
    struct buf b;

    make_salts(salts, 3);
    buf_init(&b, 1024);
    ASSERT_OK(jrec_encode(&b, "shop-1", 1700000000123ULL, salts, 3, event_bytes,
        sizeof(event_bytes)));
    ASSERT_EQ(b.len, 2 + 8 + 1 + 6 + 1 + 3 * 33 + sizeof(event_bytes));
    ASSERT_OK(jrec_decode(b.data, b.len, &r, &why));
    ASSERT(why == NULL);
    ASSERT_STR_EQ(r.actor, "shop-1");
    ASSERT_EQ(r.arrival_ms, 1700000000123ULL);
    ASSERT_EQ(r.nsalts, 3);
    for (unsigned i = 0; i < 3; i++) {
        ASSERT_EQ(r.salts[i].kind, salts[i].kind);
        ASSERT_MEM_EQ(r.salts[i].p.b, salts[i].p.b, PSEUDO_BYTES);
        ASSERT_MEM_EQ(r.salts[i].salt, salts[i].salt, VAULT_SALT_BYTES);
    }
    ASSERT(r.event == b.data + b.len - sizeof(event_bytes));
    ASSERT_EQ(r.event_len, sizeof(event_bytes));

    /* No salts: the count byte is 0 and the event follows it. */
    ASSERT_OK(jrec_encode(&b, "s", 0, NULL, 0, event_bytes, 1));
    ASSERT_OK(jrec_decode(b.data, b.len, &r, &why));
    ASSERT_EQ(r.nsalts, 0);
    ASSERT_EQ(r.event_len, 1);
    buf_release(&b);
}

static void
test_every_prefix_refused(void)
{
    struct jrec_salt salts[VAULT_EVENT_SUBJECTS];
    struct jrec r;
    const char *why;
    struct buf b;

    make_salts(salts, VAULT_EVENT_SUBJECTS);
    buf_init(&b, 4096);
    ASSERT_OK(jrec_encode(&b, "storefront", 42, salts, VAULT_EVENT_SUBJECTS,
        event_bytes, sizeof(event_bytes)));
    /* Up to (not including) the first event byte. */
    for (size_t n = 0; n < b.len - sizeof(event_bytes) + 1; n++) {
        uint8_t *copy = malloc(n > 0 ? n : 1);

        ASSERT(copy != NULL);
        memcpy(copy, b.data, n);
        ASSERT_EQ(jrec_decode(copy, n, &r, &why), ERR_CORRUPT);
        ASSERT(why != NULL);
        free(copy);
    }
    buf_release(&b);
}

static void
test_event_hostile(void)
{
    struct jrec_salt salts[2];
    struct jrec r;
    const char *why;
    struct buf b;
    size_t kind_at;

    /* A version 1 record starts with its actor's length. */
    {
        static const uint8_t v1[] = { 4, 's', 'h', 'o', 'p', 1, 2, 3 };

        ASSERT_EQ(jrec_decode(v1, sizeof(v1), &r, &why), ERR_INVAL);
        ASSERT(strstr(why, "version 1") != NULL);
    }
    make_salts(salts, 2);
    buf_init(&b, 1024);
    ASSERT_OK(
        jrec_encode(&b, "shop", 7, salts, 2, event_bytes, sizeof(event_bytes)));
    /* A version this code does not know. */
    b.data[1] = JREC_VERSION + 1;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "not a version 2 record");
    b.data[1] = JREC_VERSION;
    /* A NUL inside the actor. */
    b.data[11 + 2] = 0;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "a NUL in the actor");
    b.data[11 + 2] = 'o';
    /* An actor length of 0. */
    b.data[10] = 0;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "bad actor length");
    b.data[10] = 4;
    /* More salts than an event has subjects. */
    b.data[15] = VAULT_EVENT_SUBJECTS + 1;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "bad salt count");
    b.data[15] = 2;
    /* Salt kinds: none, and one past the last. */
    kind_at = 16 + 33;
    b.data[kind_at] = VAULT_KIND_NONE;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "bad salt kind");
    b.data[kind_at] = VAULT_KIND_COUNT;
    ASSERT_EQ(jrec_decode(b.data, b.len, &r, &why), ERR_CORRUPT);
    ASSERT_STR_EQ(why, "bad salt kind");
    /* A failed decode gives no event. */
    ASSERT(r.event == NULL);
    b.data[kind_at] = VAULT_KIND_DEVICE;
    ASSERT_OK(jrec_decode(b.data, b.len, &r, &why));
    ASSERT_EQ(r.salts[1].kind, VAULT_KIND_DEVICE);
    buf_release(&b);
}

static void
test_encode_refuses(void)
{
    struct jrec_salt salts[VAULT_EVENT_SUBJECTS + 1];
    char actor[JREC_ACTOR_MAX + 2];
    struct buf b;

    make_salts(salts, VAULT_EVENT_SUBJECTS + 1);
    buf_init(&b, 1024);
    memset(actor, 'a', sizeof(actor) - 1);
    actor[sizeof(actor) - 1] = '\0';
    ASSERT_EQ(jrec_encode(&b, actor, 0, NULL, 0, event_bytes, 1), ERR_INVAL);
    actor[JREC_ACTOR_MAX] = '\0';
    ASSERT_OK(jrec_encode(&b, actor, 0, NULL, 0, event_bytes, 1));
    ASSERT_EQ(jrec_encode(&b, "", 0, NULL, 0, event_bytes, 1), ERR_INVAL);
    ASSERT_EQ(jrec_encode(
                  &b, "s", 0, salts, VAULT_EVENT_SUBJECTS + 1, event_bytes, 1),
        ERR_INVAL);
    ASSERT_EQ(jrec_encode(&b, "s", 0, NULL, 1, event_bytes, 1), ERR_INVAL);
    ASSERT_EQ(jrec_encode(&b, "s", 0, NULL, 0, event_bytes, 0), ERR_INVAL);
    buf_release(&b);
}

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
test_audit_roundtrip(void)
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
    RUN(test_event_roundtrip);
    RUN(test_every_prefix_refused);
    RUN(test_event_hostile);
    RUN(test_encode_refuses);
    RUN(test_audit_roundtrip);
    RUN(test_kinds);
    RUN(test_chunks);
    return 0;
}
