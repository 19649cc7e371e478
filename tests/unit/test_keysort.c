/*
 * test_keysort.c - unit tests of common/keysort (the flush's introsort)
 *
 * The oracle is qsort() with the same order written as one plain
 * comparison function: random arrays of every size up to 300 and a few
 * large ones, keys drawn from small ranges so that equal a, equal (a, b)
 * and equal items all occur, plus sorted, reversed, all-equal and
 * organ-pipe inputs. A NULL tie leaves entries with equal keys in any
 * order, so those runs are compared as sets. M. D. McIlroy's adversary
 * ("A Killer Adversary for Quicksort", Software: Practice and Experience
 * 29(4), 1999), played through the tie callback, drives plain quicksort
 * quadratic; the depth budget must hand it to heapsort and keep the
 * comparisons at O(n log n).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "common/keysort.h"
#include "tests/harness/test.h"

#define MAXN 300

static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int
int_tie(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;

    return (a > b) - (a < b);
}

/* The reference: the whole order as one comparison, for qsort(). */
static int
ref_cmp(const void *px, const void *py)
{
    const struct keysort_ent *x = px, *y = py;

    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return int_tie(x->item, y->item);
}

/* Sort a copy of v with keysort and with qsort; the two must agree. */
static void
check_against_qsort(const struct keysort_ent *v, size_t n)
{
    static struct keysort_ent got[4096], want[4096];

    ASSERT(n <= 4096);
    memcpy(got, v, n * sizeof(*v));
    memcpy(want, v, n * sizeof(*v));
    keysort(got, n, int_tie);
    qsort(want, n, sizeof(*want), ref_cmp);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(got[i].a, want[i].a);
        ASSERT_EQ(got[i].b, want[i].b);
        ASSERT_EQ(*(const int *)got[i].item, *(const int *)want[i].item);
    }
}

static void
fill_random(struct keysort_ent *v, const int *items, size_t n, uint64_t *s,
    unsigned arange, unsigned brange)
{
    for (size_t i = 0; i < n; i++) {
        v[i].a = next_rand(s) % arange;
        v[i].b = next_rand(s) % brange;
        v[i].item = &items[next_rand(s) % n];
    }
}

static void
test_random_against_qsort(void)
{
    static struct keysort_ent v[4096];
    static int items[4096];
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    unsigned checked = 0;

    for (int i = 0; i < 4096; i++)
        items[i] = i % 97;
    for (size_t n = 0; n <= MAXN; n++) {
        /* Many equal a; many equal (a, b); mostly distinct. */
        fill_random(v, items, n, &s, 3, 4);
        check_against_qsort(v, n);
        fill_random(v, items, n, &s, 50, 1000);
        check_against_qsort(v, n);
        fill_random(v, items, n, &s, UINT32_MAX, UINT32_MAX);
        check_against_qsort(v, n);
        checked += 3;
    }
    for (int r = 0; r < 20; r++) {
        fill_random(v, items, 4096, &s, r % 2 ? 7 : UINT32_MAX, 3);
        check_against_qsort(v, 4096);
        checked++;
    }
    ASSERT_EQ(checked, (MAXN + 1) * 3 + 20);
}

static void
test_shaped_inputs(void)
{
    static struct keysort_ent v[4096];
    static int items[4096];
    const size_t n = 4096;

    for (size_t i = 0; i < n; i++)
        items[i] = (int)i;
    for (size_t i = 0; i < n; i++) /* sorted */
        v[i] = (struct keysort_ent){ .a = i, .b = 0, .item = &items[i] };
    check_against_qsort(v, n);
    for (size_t i = 0; i < n; i++) /* reversed */
        v[i] = (struct keysort_ent){ .a = n - i, .b = 0, .item = &items[i] };
    check_against_qsort(v, n);
    for (size_t i = 0; i < n; i++) /* all keys equal: the tie decides */
        v[i] =
            (struct keysort_ent){ .a = 5, .b = 5, .item = &items[n - 1 - i] };
    check_against_qsort(v, n);
    for (size_t i = 0; i < n; i++) /* organ pipe */
        v[i] = (struct keysort_ent){
            .a = i < n / 2 ? i : n - i, .b = i % 3, .item = &items[i]
        };
    check_against_qsort(v, n);
    /* The high bits of a, then b, are compared unsigned. */
    v[0] = (struct keysort_ent){ .a = UINT64_MAX, .b = 0, .item = &items[0] };
    v[1] = (struct keysort_ent){ .a = 0, .b = UINT64_MAX, .item = &items[1] };
    v[2] = (struct keysort_ent){ .a = 0, .b = 1, .item = &items[2] };
    v[3] = (struct keysort_ent){ .a = 1ULL << 63, .b = 0, .item = &items[3] };
    keysort(v, 4, int_tie);
    ASSERT_EQ(v[0].b, 1);
    ASSERT_EQ(v[1].b, UINT64_MAX);
    ASSERT_EQ(v[2].a, 1ULL << 63);
    ASSERT_EQ(v[3].a, UINT64_MAX);
}

/* NULL tie: sorted by (a, b); each run of equal keys is the same set. */
static void
test_null_tie(void)
{
    static struct keysort_ent v[2000], w[2000];
    static int items[2000];
    uint64_t s = 42;
    size_t n = 2000;

    for (size_t i = 0; i < n; i++)
        items[i] = (int)i;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct keysort_ent){
            .a = next_rand(&s) % 10, .b = next_rand(&s) % 10, .item = &items[i]
        };
    memcpy(w, v, sizeof(v));
    keysort(v, n, NULL);
    qsort(w, n, sizeof(*w), ref_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i, sum_v = 0, sum_w = 0, xor_v = 0, xor_w = 0;

        for (; j < n && w[j].a == w[i].a && w[j].b == w[i].b; j++) {
            ASSERT_EQ(v[j].a, w[j].a);
            ASSERT_EQ(v[j].b, w[j].b);
            sum_v += (size_t) * (const int *)v[j].item;
            sum_w += (size_t) * (const int *)w[j].item;
            xor_v ^= (size_t)(*(const int *)v[j].item) * 2654435761u;
            xor_w ^= (size_t)(*(const int *)w[j].item) * 2654435761u;
        }
        ASSERT_EQ(sum_v, sum_w);
        ASSERT_EQ(xor_v, xor_w);
        i = j;
    }
}

/*
 * McIlroy's adversary: every item starts as "gas" (not yet valued);
 * when two gas items meet, one of them is frozen to the next solid
 * value, chosen so that the pivot candidate stays gas as long as
 * possible. Against median-of-three quicksort this forces ~n^2/4
 * comparisons.
 */
static int *adv_val;
static int adv_gas, adv_nsolid, adv_candidate;
static unsigned long adv_compares;

/* Items are ints holding their own index. */
static int
adv_cmp(const void *px, const void *py)
{
    int x = *(const int *)px, y = *(const int *)py;

    adv_compares++;
    if (adv_val[x] == adv_gas && adv_val[y] == adv_gas) {
        if (x == adv_candidate)
            adv_val[x] = adv_nsolid++;
        else
            adv_val[y] = adv_nsolid++;
    }
    if (adv_val[x] == adv_gas)
        adv_candidate = x;
    else if (adv_val[y] == adv_gas)
        adv_candidate = y;
    return adv_val[x] - adv_val[y];
}

static void
test_adversary_bounded(void)
{
    enum { N = 4000 };
    static struct keysort_ent v[N];
    static int val[N], idx[N];
    unsigned long bound;

    adv_val = val;
    adv_gas = N; /* larger than every solid value */
    adv_nsolid = 0;
    adv_candidate = 0;
    adv_compares = 0;
    for (int i = 0; i < N; i++) {
        val[i] = adv_gas;
        idx[i] = i;
        v[i] = (struct keysort_ent){ .a = 0, .b = 0, .item = &idx[i] };
    }
    keysort(v, N, adv_cmp);
    /* n log2 n is ~48,000 here; quadratic would be ~4,000,000. */
    bound = 20UL * N * 12;
    printf("  adversary: %lu comparisons for %d entries (bound %lu)\n",
        adv_compares, N, bound);
    ASSERT(adv_compares < bound);
    /* Whatever values the adversary settled on, the result is sorted. */
    for (int i = 0; i < N; i++)
        if (val[*(const int *)v[i].item] == adv_gas)
            val[*(const int *)v[i].item] = adv_nsolid++;
    for (int i = 1; i < N; i++)
        ASSERT(
            val[*(const int *)v[i - 1].item] <= val[*(const int *)v[i].item]);
}

/*
 * keysort_u64_cmp, the qsort()/bsearch() comparator of uint64_t that
 * segfile, the subject index and erasure share: the whole unsigned range
 * (a difference cast to int would call 2^63 smaller than 1), and what
 * qsort() and bsearch() make of it.
 */
static void
test_u64_cmp(void)
{
    uint64_t v[] = { UINT64_MAX, 0, 1ull << 63, 1, 1ull << 32, 7 };
    const uint64_t want[] = { 0, 1, 7, 1ull << 32, 1ull << 63, UINT64_MAX };
    uint64_t a = 5, b = 5, key = 1ull << 63;

    ASSERT(keysort_u64_cmp(&a, &b) == 0);
    a = 0;
    b = UINT64_MAX;
    ASSERT(keysort_u64_cmp(&a, &b) < 0);
    ASSERT(keysort_u64_cmp(&b, &a) > 0);
    a = 1;
    b = 1ull << 63;
    ASSERT(keysort_u64_cmp(&a, &b) < 0);
    qsort(v, ARRAY_LEN(v), sizeof(v[0]), keysort_u64_cmp);
    for (size_t i = 0; i < ARRAY_LEN(v); i++)
        ASSERT(v[i] == want[i]);
    ASSERT(
        bsearch(&key, v, ARRAY_LEN(v), sizeof(v[0]), keysort_u64_cmp) == &v[4]);
}

int
main(void)
{
    RUN(test_random_against_qsort);
    RUN(test_shaped_inputs);
    RUN(test_null_tie);
    RUN(test_adversary_bounded);
    RUN(test_u64_cmp);
    return 0;
}
