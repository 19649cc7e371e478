/*
 * keysort.c - introsort of (a, b, item) entries (keysort.h: why)
 *
 * Quicksort with a median-of-three pivot and Hoare partitioning, which
 * keeps runs of equal entries balanced; a partition of at most
 * KEYSORT_SMALL entries is finished by an insertion sort; a partition
 * still being split past its depth budget is heapsorted, which bounds the
 * whole at O(n log n). The smaller side of each split is sorted by a
 * recursive call and the larger one by the loop, so the stack holds at
 * most log2 n frames.
 *
 * See also: keysort.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/keysort.h"

#define KEYSORT_SMALL 16

static inline bool
ks_less(const struct keysort_ent *x, const struct keysort_ent *y,
    keysort_tie_fn tie)
{
    if (x->a != y->a)
        return x->a < y->a;
    if (x->b != y->b)
        return x->b < y->b;
    return tie != NULL && tie(x->item, y->item) < 0;
}

static inline void
ks_swap(struct keysort_ent *x, struct keysort_ent *y)
{
    struct keysort_ent t = *x;

    *x = *y;
    *y = t;
}

static void
ks_insertion(struct keysort_ent *v, size_t n, keysort_tie_fn tie)
{
    for (size_t i = 1; i < n; i++) {
        struct keysort_ent t = v[i];
        size_t j = i;

        for (; j > 0 && ks_less(&t, &v[j - 1], tie); j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
}

/* Restore the max-heap v[0..n) below position i. */
static void
ks_sift(struct keysort_ent *v, size_t n, size_t i, keysort_tie_fn tie)
{
    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= n)
            return;
        if (c + 1 < n && ks_less(&v[c], &v[c + 1], tie))
            c++;
        if (!ks_less(&v[i], &v[c], tie))
            return;
        ks_swap(&v[i], &v[c]);
        i = c;
    }
}

static void
ks_heapsort(struct keysort_ent *v, size_t n, keysort_tie_fn tie)
{
    for (size_t i = n / 2; i-- > 0;)
        ks_sift(v, n, i, tie);
    for (size_t k = n; k-- > 1;) {
        ks_swap(&v[0], &v[k]);
        ks_sift(v, k, 0, tie);
    }
}

/*
 * Split v[0..n) (n > KEYSORT_SMALL) around the median of its first,
 * middle and last entries. Returns j: every entry of v[0..j] sorts no
 * later than every entry of v[j+1..n), both sides non-empty.
 */
static size_t
ks_partition(struct keysort_ent *v, size_t n, keysort_tie_fn tie)
{
    struct keysort_ent *lo = &v[0], *mid = &v[n / 2], *hi = &v[n - 1];
    struct keysort_ent pivot;
    size_t i = 0, j = n - 1;

    if (ks_less(mid, lo, tie))
        ks_swap(mid, lo);
    if (ks_less(hi, mid, tie)) {
        ks_swap(hi, mid);
        if (ks_less(mid, lo, tie))
            ks_swap(mid, lo);
    }
    pivot = *mid;
    /* v[0] <= pivot <= v[n-1] stop both scans inside the array. */
    for (;;) {
        while (ks_less(&v[i], &pivot, tie))
            i++;
        while (ks_less(&pivot, &v[j], tie))
            j--;
        if (i >= j)
            return j;
        ks_swap(&v[i], &v[j]);
        i++;
        j--;
    }
}

static void
ks_sort(struct keysort_ent *v, size_t n, unsigned depth, keysort_tie_fn tie)
{
    while (n > KEYSORT_SMALL) {
        size_t j;

        if (depth == 0) {
            ks_heapsort(v, n, tie);
            return;
        }
        depth--;
        j = ks_partition(v, n, tie);
        if (j + 1 < n - (j + 1)) {
            ks_sort(v, j + 1, depth, tie);
            v += j + 1;
            n -= j + 1;
        } else {
            ks_sort(v + j + 1, n - (j + 1), depth, tie);
            n = j + 1;
        }
    }
    ks_insertion(v, n, tie);
}

void
keysort(struct keysort_ent *v, size_t n, keysort_tie_fn tie)
{
    unsigned depth = 0;

    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    ks_sort(v, n, depth, tie);
}

int
keysort_u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

    return (a > b) - (a < b);
}
