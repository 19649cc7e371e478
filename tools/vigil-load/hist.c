/*
 * hist.c - log-linear latency histograms (see hist.h)
 *
 * A value below HIST_SUB has a bucket of its own; above, the bucket is
 * the power of two (the position of the top bit) and the next
 * HIST_SUB_BITS bits. Adding is a count-leading-zeros and an increment,
 * called once per reply frame by run.c.
 *
 * Invariants:
 *  - hist_index(v) < HIST_BUCKETS for every 64-bit v.
 *
 * See also: hist.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tools/vigil-load/hist.h"

static unsigned
hist_index(uint64_t v)
{
    unsigned e;

    if (v < HIST_SUB)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    return (e - HIST_SUB_BITS + 1) * HIST_SUB +
        (unsigned)((v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

void
hist_reset(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

void
hist_add(struct hist *h, uint64_t v, uint64_t n)
{
    h->b[hist_index(v)] += n;
    h->count += n;
    if (v > h->max)
        h->max = v;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            unsigned e, sub;
            uint64_t lo, width, mid;

            if (i < HIST_SUB)
                return i;
            e = i / HIST_SUB + HIST_SUB_BITS - 1;
            sub = i % HIST_SUB;
            lo = (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
            width = 1ULL << (e - HIST_SUB_BITS);
            mid = lo + width / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}
