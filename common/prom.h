/*
 * prom.h - the daemons' metrics: counters, gauges and latency
 *          histograms, rendered in the Prometheus text format
 *
 * Each daemon keeps one registry (struct prom) of metric families; a
 * family has a fixed list of label names and one series per label-value
 * set, made on first use. The hot paths hold series pointers (stable for
 * the registry's life) and bump them with prom_add()/prom_observe(): a
 * few arithmetic operations, no allocation, no lock. prom_render()
 * writes the text exposition format 0.0.4 that the /metrics endpoint
 * (promsrv.h) serves and `vigilctl status` summarises.
 *
 * Naming, per the Prometheus conventions: a vigil_ prefix, the unit in
 * the name (_seconds, _bytes), counters end in _total; histograms get
 * _bucket{le=...}, _sum and _count series.
 *
 * Invariants:
 *  - single-threaded: one registry belongs to one thread (the daemon's
 *    main loop, which also serves the HTTP endpoint).
 *  - label values are client names, error codes, op names, directory
 *    names: never an identifier a client chose or personal data. The
 *    callers guarantee it; prom only caps their number and length.
 *  - a family holds at most PROM_MAX_SERIES series; label sets past that
 *    share one overflow series whose values are all "_other".
 *
 * See also: promsrv.h,
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_PROM_H
#define COMMON_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

#define PROM_MAX_LABELS   3
#define PROM_MAX_SERIES   1024 /* per family, the overflow series included */
#define PROM_LABEL_MAX    128  /* bytes of one label value (longer: cut) */
#define PROM_NAME_MAX     96
#define PROM_HIST_BUCKETS 16 /* finite upper bounds; +Inf is implied */

enum prom_type {
    PROM_COUNTER,   /* only goes up; uint64 */
    PROM_GAUGE,     /* set to a value; double */
    PROM_HISTOGRAM, /* observations into the default buckets, seconds */
};

struct prom;        /* a registry */
struct prom_family; /* one metric name with its label names */
struct prom_series; /* one label-value set of a family */

/* The upper bounds of every histogram's buckets, in seconds. */
extern const double prom_buckets[PROM_HIST_BUCKETS];

/* Make an empty registry. Free with prom_free(). Never fails. */
struct prom *prom_new(void);

/* Free the registry, its families and series. NULL is a no-op. */
void prom_free(struct prom *p);

/*
 * Add a family: `name` ([a-zA-Z_:][a-zA-Z0-9_:]*, at most PROM_NAME_MAX
 * bytes), a one-line `help`, and `nlabels` (0..PROM_MAX_LABELS) label
 * names. Both strings must be static (kept, not copied). Families render
 * in the order they were added. Returns the family (owned by `p`), or
 * NULL for a bad name or label count (a programming error, logged).
 */
struct prom_family *prom_family_add(struct prom *p, enum prom_type type,
    const char *name, const char *help, unsigned nlabels,
    const char *const *label_names) NONNULL(1, 3, 4);

/*
 * Return the series of `f` with label values values[0..nlabels) (NULL
 * when the family has none), making it on first use; values are copied
 * (cut at PROM_LABEL_MAX bytes). Past PROM_MAX_SERIES distinct sets the
 * overflow series is returned. Never NULL for a non-NULL `f`; the
 * pointer stays valid until prom_free().
 */
struct prom_series *prom_get(struct prom_family *f, const char *const *values)
    NONNULL(1);

/* Return the single series of a family without labels. */
struct prom_series *prom_get0(struct prom_family *f) NONNULL(1);

/* Return the series of a family with one label whose value is `v`. */
struct prom_series *prom_get1(struct prom_family *f, const char *v)
    NONNULL(1, 2);

/* Return the series of a family with two labels. */
struct prom_series *prom_get2(
    struct prom_family *f, const char *v1, const char *v2) NONNULL(1, 2, 3);

/* Add `n` to a counter series. */
void prom_inc(struct prom_series *s, uint64_t n) NONNULL(1);

/* Set a gauge series to `v`; a counter to the count `v` (for counts
 * kept elsewhere, which only go up). */
void prom_set(struct prom_series *s, double v) NONNULL(1);

/* Record one observation of `v` seconds in a histogram series. */
void prom_observe(struct prom_series *s, double v) NONNULL(1);

/* A counter's count, or a gauge's value, or a histogram's count. */
double prom_value(const struct prom_series *s) NONNULL(1);

/*
 * Estimate quantile `q` (0..1) of a histogram series by linear
 * interpolation inside the bucket it falls in (as PromQL's
 * histogram_quantile does). Returns 0 for an empty series; the largest
 * finite bound when it falls in the +Inf bucket.
 */
double prom_quantile(const struct prom_series *s, double q) NONNULL(1);

/* The label values of a series: values[i] for i < the family's count. */
const char *prom_label(const struct prom_series *s, unsigned i) NONNULL(1);

/*
 * Call `cb` for every series of `f` in creation order; stops early when
 * `cb` returns nonzero and returns that value, else 0.
 */
typedef int (*prom_each_cb)(void *arg, const struct prom_series *s);
int prom_each(const struct prom_family *f, prom_each_cb cb, void *arg)
    NONNULL(1, 2);

/*
 * Append the text exposition of every family (HELP, TYPE, then each
 * series; families without a series are skipped) to `out`.
 * Returns 0 or ERR_TOOBIG (out's cap; out is then cut back).
 */
int prom_render(const struct prom *p, struct buf *out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Read this process's resident set size in bytes from /proc/self/statm.
 * Returns 0 when it cannot be read.
 */
uint64_t prom_rss_bytes(void);

/*
 * The resident set size and its anonymous part (heap, stacks: resident
 * minus file-backed and shared pages, /proc/self/statm's second field
 * minus its third, which is RssAnon) from one read, in bytes; both 0
 * when it cannot be read.
 */
void prom_memory(uint64_t *resident, uint64_t *anon) NONNULL(1, 2);

#endif
