/*
 * keysort.h - sort entries by two integer keys, ties settled by a callback
 *
 * For sorts on a hot path where most of an item's order is known from a
 * fixed-width start of its key: the caller packs that start into two
 * unsigned 64-bit integers (compared as a pair, `a` first) and keeps a
 * pointer to the item, and keysort() compares the integers inline,
 * calling `tie` only for entries whose integers are equal. The LMDB
 * overlay's flush sorts its items this way (store.c): glibc's qsort(),
 * with a function call per comparison and 24-byte elements moved through
 * its generic copy, took 2-3 times as long.
 *
 * The sort is an introsort: quicksort (median of three), insertion sort
 * below 16 entries, heapsort past a depth of 2 log2 n, so it is
 * O(n log n) whatever the input and uses no memory but its stack
 * (O(log n)). Not stable.
 *
 * See also: keysort.c, store.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_KEYSORT_H
#define COMMON_KEYSORT_H

#include <stddef.h>
#include <stdint.h>

struct keysort_ent {
    uint64_t a, b;    /* the order's start: a, then b */
    const void *item; /* borrowed; passed to `tie` */
};

/*
 * Order the items of entries with equal (a, b): negative, zero or
 * positive as x sorts before, with or after y. NULL: such entries are
 * equal.
 */
typedef int (*keysort_tie_fn)(const void *x, const void *y);

/* Sort v[0..n) ascending by (a, b, tie). */
void keysort(struct keysort_ent *v, size_t n, keysort_tie_fn tie);

/* qsort()/bsearch() comparator of two uint64_t: ascending. */
int keysort_u64_cmp(const void *x, const void *y);

#endif /* COMMON_KEYSORT_H */
