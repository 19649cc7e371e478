/*
 * test_jrec.c - unit tests of the scorer's journal record (scorer/jrec.c)
 *
 * A record with salts round-trips byte for byte (actor, arrival time,
 * each salt's kind, pseudonym and salt, the event bytes borrowed from
 * the payload); every strict prefix of it is refused as corrupt with a
 * reason and nothing read past its length (each prefix is decoded from
 * its own heap copy, so ASan sees an over-read); a version 1 record is
 * named as such; a NUL in the actor, a salt count over the limit and
 * the kinds NONE and past the last are refused; the encoder refuses an
 * empty or over-long actor, too many salts and an empty event.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
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
test_roundtrip(void)
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
test_hostile(void)
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

int
main(void)
{
    RUN(test_roundtrip);
    RUN(test_every_prefix_refused);
    RUN(test_hostile);
    RUN(test_encode_refuses);
    return 0;
}
