/*
 * hist.h - log-linear latency histograms with a fixed footprint
 *
 * vigil-load records the acknowledgement latency of every event in
 * nanoseconds: one histogram for all events, one for orders, one for the
 * current second (the progress line). 64 linear sub-buckets per power
 * of two put any percentile within 1.6% of the true value, in 30 KiB
 * per histogram whatever the run's length: memory does not grow with
 * the number of samples.
 *
 * Invariants:
 *  - count is the sum of b[]; max is the largest value added.
 *
 * See also: run.c (what is measured), report.c (what is printed)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_HIST_H
#define VIGIL_LOAD_HIST_H

#include <stdint.h>

#include "common/compiler.h"

#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

/* A histogram; all zero is empty. Fields change only through hist_*. */
struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[HIST_BUCKETS];
};

/* Empty `h`. */
void hist_reset(struct hist *h) NONNULL(1);

/* Add `n` samples of value `v` (ns). */
void hist_add(struct hist *h, uint64_t v, uint64_t n) NONNULL(1);

/*
 * Return the value at quantile q (0..1) as its bucket's midpoint,
 * capped at the maximum; 0 for an empty histogram.
 */
uint64_t hist_quantile(const struct hist *h, double q) NONNULL(1);

#endif
