/*
 * test_wwindow.c - unit tests of scorer/wwindow (the witness client's
 *                  consistency proofs from a frontier and later leaves)
 *
 * Every proof the window builds is compared with the proof built from
 * every stored subtree hash (merkle_levels, the reference) and checked
 * with merkle_verify_consistency(): for all base <= old <= size <= 70,
 * and for random sizes up to 5000 with the base advanced in random
 * steps. Windows that cannot answer (old below the base, size past the
 * end, leaves out of order) say ERR_NOTFOUND.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/merkle.h"
#include "scorer/wwindow.h"
#include "tests/harness/test.h"

#define N 5000

static uint8_t leaf[N][MERKLE_HASH_BYTES];
static struct merkle_levels ref;

/* Check the window's proof old -> size against the reference. */
static void
check_proof(struct wwindow *w, uint64_t old, uint64_t size)
{
    uint8_t p[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    uint8_t q[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    uint8_t r_old[MERKLE_HASH_BYTES], r_new[MERKLE_HASH_BYTES];
    size_t n, m;

    ASSERT_OK(wwindow_consistency_proof(w, old, size, p, &n));
    ASSERT_OK(merkle_consistency_proof(
        merkle_levels_subtree, &ref, old, size, q, &m));
    ASSERT_EQ(n, m);
    ASSERT_MEM_EQ(p, q, n * MERKLE_HASH_BYTES);
    if (old > 0) {
        ASSERT_OK(merkle_root(merkle_levels_subtree, &ref, old, r_old));
        ASSERT_OK(merkle_root(merkle_levels_subtree, &ref, size, r_new));
        ASSERT_OK(merkle_verify_consistency(old, size, r_old, r_new,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p, n));
    }
}

/* A window whose base is `base` and whose leaves run to `end`. */
static void
window_at(struct wwindow *w, uint64_t base, uint64_t end)
{
    struct merkle_frontier fr;
    uint64_t i;

    merkle_frontier_init(&fr);
    for (i = 0; i < base; i++)
        merkle_frontier_append(&fr, leaf[i]);
    wwindow_init(w, &fr);
    ASSERT_OK(wwindow_append(w, base,
        (const uint8_t(*)[MERKLE_HASH_BYTES])leaf + base,
        (size_t)(end - base)));
}

static void
test_all_small(void)
{
    uint64_t base, old, size;

    for (base = 0; base <= 70; base++) {
        struct wwindow w;

        window_at(&w, base, 70);
        for (old = base; old <= 70; old++)
            for (size = old; size <= 70; size++)
                check_proof(&w, old, size);
        wwindow_release(&w);
    }
}

static void
test_random_advance(void)
{
    struct wwindow w;
    uint64_t end = 0;
    int round;

    window_at(&w, 0, 0);
    for (round = 0; round < 300; round++) {
        uint64_t add = randombytes_uniform(40), old, size;

        if (end + add > N)
            break;
        ASSERT_OK(wwindow_append(&w, end,
            (const uint8_t(*)[MERKLE_HASH_BYTES])leaf + end, (size_t)add));
        end += add;
        ASSERT_EQ(wwindow_end(&w), end);
        if (end > w.base)
            wwindow_advance(&w,
                w.base + randombytes_uniform((uint32_t)(end - w.base) / 2 + 1));
        old = w.base + randombytes_uniform((uint32_t)(end - w.base) + 1);
        size = old + randombytes_uniform((uint32_t)(end - old) + 1);
        check_proof(&w, old, size);
    }
    wwindow_release(&w);
}

static void
test_refusals(void)
{
    uint8_t p[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    struct wwindow w;
    size_t n;

    window_at(&w, 10, 20);
    ASSERT_EQ(wwindow_consistency_proof(&w, 9, 15, p, &n), ERR_NOTFOUND);
    ASSERT_EQ(wwindow_consistency_proof(&w, 10, 21, p, &n), ERR_NOTFOUND);
    ASSERT_EQ(wwindow_consistency_proof(&w, 15, 12, p, &n), ERR_INVAL);
    ASSERT_OK(wwindow_consistency_proof(&w, 0, 15, p, &n));
    ASSERT_EQ(n, 0);
    /* Advancing past the end stops at the end; never goes back. */
    wwindow_advance(&w, 25);
    ASSERT_EQ(w.base, 20);
    wwindow_advance(&w, 5);
    ASSERT_EQ(w.base, 20);
    /* Leaves out of order break the window. */
    ASSERT_EQ(wwindow_append(
                  &w, 22, (const uint8_t(*)[MERKLE_HASH_BYTES])leaf + 22, 1),
        ERR_INVAL);
    ASSERT_EQ(wwindow_consistency_proof(&w, 20, 20, p, &n), 0);
    ASSERT_OK(wwindow_append(
        &w, 20, (const uint8_t(*)[MERKLE_HASH_BYTES])leaf + 20, 0));
    ASSERT_EQ(wwindow_consistency_proof(&w, 20, 20 + 0, p, &n), 0);
    wwindow_release(&w);
    window_at(&w, 20, 30);
    w.broken = true;
    ASSERT_EQ(wwindow_consistency_proof(&w, 21, 25, p, &n), ERR_NOTFOUND);
    wwindow_release(&w);
}

int
main(void)
{
    size_t i;

    if (sodium_init() < 0)
        TEST_FAIL("sodium_init failed");
    merkle_levels_init(&ref);
    for (i = 0; i < N; i++) {
        char data[32];
        int len = snprintf(data, sizeof(data), "leaf %zu", i);

        merkle_leaf_hash(data, (size_t)len, leaf[i]);
        merkle_levels_append(&ref, leaf[i]);
    }
    RUN(test_all_small);
    RUN(test_random_advance);
    RUN(test_refusals);
    merkle_levels_release(&ref);
    return 0;
}
