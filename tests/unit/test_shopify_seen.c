/*
 * test_shopify_seen.c - unit tests of tools/vigil-shopify/seen: the
 *                       persistent, bounded, expiring set of webhook ids
 *
 * Adds and lookups against a slow reference (a plain array scanned in
 * full) over random operations with evictions; persistence across a
 * close and reopen; expiry; the capacity bound (the oldest goes first);
 * a torn record dropped on load without losing the others; a reopen
 * with another capacity keeping the newest; and the file refused when
 * it is not this format, open to others or a symbolic link.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/seen.h"

#define TTL  (24ull * 3600 * 1000)
#define NOW0 1700000000000ull

static char dir[] = "/tmp/test_shopify_seen.XXXXXX";
static char path[256];

static void
key_of(unsigned i, uint8_t k[SEEN_KEY_BYTES])
{
    char id[32];

    snprintf(id, sizeof(id), "wh-%u", i);
    seen_key("webhook", "shop.myshopify.com", id, k);
}

static struct seen *
open_ok(uint32_t cap, uint64_t now)
{
    struct seen *s = NULL;
    char err[256];

    if (seen_open(path, cap, TTL, now, &s, err, sizeof(err)) != 0)
        TEST_FAIL("seen_open: %s", err);
    return s;
}

/* The set's figures now (seen_stats). */
static struct seen_stats
stats_of(struct seen *s)
{
    struct seen_stats st;

    seen_stats(s, &st);
    return st;
}

static void
test_keys(void)
{
    uint8_t a[SEEN_KEY_BYTES], b[SEEN_KEY_BYTES];

    seen_key("webhook", "a.myshopify.com", "x", a);
    seen_key("webhook", "b.myshopify.com", "x", b);
    ASSERT(memcmp(a, b, sizeof(a)) != 0);
    seen_key("event", "a.myshopify.com", "x", b);
    ASSERT(memcmp(a, b, sizeof(a)) != 0);
    /* No ambiguity between the parts: "ab"+"c" is not "a"+"bc". */
    seen_key("webhook", "ab", "c", a);
    seen_key("webhook", "a", "bc", b);
    ASSERT(memcmp(a, b, sizeof(a)) != 0);
}

static void
test_persist_and_expire(void)
{
    uint8_t k[SEEN_KEY_BYTES];
    struct seen *s;
    unsigned i;

    unlink(path);
    s = open_ok(1000, NOW0);
    for (i = 0; i < 100; i++) {
        key_of(i, k);
        ASSERT(!seen_has(s, k, NOW0));
        ASSERT_OK(seen_add(s, k, NOW0 + i));
        ASSERT(seen_has(s, k, NOW0 + i));
    }
    ASSERT_EQ(stats_of(s).count, 100);
    seen_close(s);

    s = open_ok(1000, NOW0 + 1000);
    ASSERT_EQ(stats_of(s).count, 100);
    for (i = 0; i < 100; i++) {
        key_of(i, k);
        ASSERT(seen_has(s, k, NOW0 + 1000));
    }
    /* Key 0 expires at NOW0 + TTL; key 99 at NOW0 + 99 + TTL. */
    key_of(0, k);
    ASSERT(!seen_has(s, k, NOW0 + TTL));
    key_of(99, k);
    ASSERT(seen_has(s, k, NOW0 + TTL));
    /* Re-adding an expired key renews it. */
    key_of(0, k);
    ASSERT_OK(seen_add(s, k, NOW0 + TTL + 5));
    ASSERT(seen_has(s, k, NOW0 + TTL + 6));
    seen_close(s);

    /* Reopened after everything expired: empty. */
    s = open_ok(1000, NOW0 + 3 * TTL);
    ASSERT_EQ(stats_of(s).count, 0);
    seen_close(s);
}

static void
test_capacity(void)
{
    uint8_t k[SEEN_KEY_BYTES];
    struct seen *s;
    unsigned i;

    unlink(path);
    s = open_ok(1000, NOW0);
    for (i = 0; i < 1500; i++) {
        key_of(i, k);
        ASSERT_OK(seen_add(s, k, NOW0 + i));
    }
    ASSERT_EQ(stats_of(s).count, 1000);
    ASSERT_EQ(stats_of(s).evicted_live, 500);
    for (i = 0; i < 1500; i++) {
        key_of(i, k);
        ASSERT_EQ(seen_has(s, k, NOW0 + 2000), i >= 500);
    }
    seen_close(s);
    /* The ring resumes after the newest slot: the next add evicts 500. */
    s = open_ok(1000, NOW0 + 2000);
    key_of(5000, k);
    ASSERT_OK(seen_add(s, k, NOW0 + 2001));
    key_of(500, k);
    ASSERT(!seen_has(s, k, NOW0 + 2002));
    key_of(501, k);
    ASSERT(seen_has(s, k, NOW0 + 2002));
    seen_close(s);

    /* Reopened smaller: the newest 100 stay. */
    s = open_ok(100, NOW0 + 3000);
    ASSERT_EQ(stats_of(s).count, 100);
    key_of(5000, k);
    ASSERT(seen_has(s, k, NOW0 + 3000));
    key_of(1499, k);
    ASSERT(seen_has(s, k, NOW0 + 3000));
    key_of(1400, k);
    ASSERT(!seen_has(s, k, NOW0 + 3000));
    seen_close(s);
}

static void
test_torn_record(void)
{
    uint8_t k[SEEN_KEY_BYTES], junk[7] = { 1, 2, 3, 4, 5, 6, 7 };
    struct seen *s;
    unsigned i;
    int fd;

    unlink(path);
    s = open_ok(1000, NOW0);
    for (i = 0; i < 10; i++) {
        key_of(i, k);
        ASSERT_OK(seen_add(s, k, NOW0));
    }
    seen_close(s);
    /* Damage slot 3 (header 32 bytes, slots of 32). */
    fd = open(path, O_WRONLY);
    ASSERT(fd >= 0);
    ASSERT_EQ(pwrite(fd, junk, sizeof(junk), 32 + 3 * 32 + 10), sizeof(junk));
    close(fd);
    s = open_ok(1000, NOW0);
    ASSERT_EQ(stats_of(s).count, 9);
    for (i = 0; i < 10; i++) {
        key_of(i, k);
        ASSERT_EQ(seen_has(s, k, NOW0), i != 3);
    }
    seen_close(s);
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random adds and lookups against a FIFO array of the last `cap`. */
static void
test_against_reference(void)
{
    enum { CAP = 1000, OPS = 50000, SPACE = 3000 };
    static unsigned ref[CAP];
    uint8_t k[SEEN_KEY_BYTES];
    unsigned nref = 0, head = 0, i, j, x;
    struct seen *s;
    bool in;

    unlink(path);
    s = open_ok(CAP, NOW0);
    for (i = 0; i < OPS; i++) {
        x = (unsigned)(rng() % SPACE);
        key_of(x, k);
        in = false;
        for (j = 0; j < nref; j++)
            if (ref[j] == x)
                in = true;
        if (seen_has(s, k, NOW0) != in)
            TEST_FAIL("op %u: key %u: has %d, reference %d", i, x, !in, in);
        if (rng() % 2 == 0 && !in) {
            ASSERT_OK(seen_add(s, k, NOW0));
            if (nref < CAP) {
                ref[nref++] = x;
            } else {
                ref[head] = x;
                head = (head + 1) % CAP;
            }
        }
    }
    seen_close(s);
}

static void
test_refusals(void)
{
    char err[256], link[300];
    struct seen *s = NULL;
    int fd;

    unlink(path);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, "not a dedup file at all, sorry.....", 35), 35);
    close(fd);
    ASSERT_EQ(
        seen_open(path, 1000, TTL, NOW0, &s, err, sizeof(err)), ERR_CORRUPT);
    ASSERT(s == NULL);

    unlink(path);
    s = open_ok(1000, NOW0);
    seen_close(s);
    ASSERT_OK(chmod(path, 0644));
    ASSERT_EQ(
        seen_open(path, 1000, TTL, NOW0, &s, err, sizeof(err)), ERR_DENIED);
    ASSERT_OK(chmod(path, 0600));

    snprintf(link, sizeof(link), "%s/link", dir);
    ASSERT_OK(symlink(path, link));
    ASSERT_EQ(
        seen_open(link, 1000, TTL, NOW0, &s, err, sizeof(err)), ERR_DENIED);
    unlink(link);
    ASSERT_EQ(seen_open(path, 0, TTL, NOW0, &s, err, sizeof(err)), ERR_INVAL);
}

int
main(void)
{
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        TEST_FAIL("set-up");
    snprintf(path, sizeof(path), "%s/seen", dir);
    RUN(test_keys);
    RUN(test_persist_and_expire);
    RUN(test_capacity);
    RUN(test_torn_record);
    RUN(test_against_reference);
    RUN(test_refusals);
    unlink(path);
    rmdir(dir);
    return 0;
}
