/*
 * status.h - what the scorer shows of its state: the metrics registry
 *            behind /metrics, and the map the admin op "status" answers
 *
 * The loop reports what happens (a group's replies and time, a query's
 * code and time, a flush) through the status_*_done() calls, which bump
 * counters and histograms in the registry (common/prom.h). Gauges (LMDB
 * and disk use, journal and audit sizes, queues, the full state) are
 * read from struct scorer when /metrics is scraped or status is asked,
 * so they are never stale. status_tick() keeps the events-per-second
 * window and, every STATUS_SIZES_MS, the sizes of the journal and audit
 * directories.
 *
 * Metric names (vigil_scorer_*), labels and meanings are listed in
 * scorer.8 ("METRICS") and examples/grafana/vigil.json charts them.
 * Label values are client names (the allow-list's), op names, error
 * code names and data directory names: never an identifier or personal
 * data.
 *
 * Invariants:
 *  - main thread only, like the registry.
 *
 * See also: common/prom.h, common/promsrv.h, scorer/query.c (op
 *           "status"), scorer.8
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_STATUS_H
#define SCORER_STATUS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/reply.h"
#include "common/wire.h"

#define STATUS_RATE_WINDOW_S 10   /* events/s is averaged over this */
#define STATUS_SIZES_MS      5000 /* between two directory scans */
#define STATUS_MAX_CLIENTS   256  /* clients listed by the status op */

struct scorer;
struct status;

/* Make the registry and its families. Never fails. */
struct status *status_new(void);

/* Free it. NULL is a no-op. */
void status_free(struct status *st);

/* A collector message of client `client` was answered with r[0..n). */
void status_replies(struct status *st, const char *client,
    const struct reply *r, uint32_t n) NONNULL(1, 2);

/* A group commit of `events` events took `us` microseconds. */
void status_group(struct status *st, uint32_t events, uint64_t us) NONNULL(1);

/* A flush (LMDB commit) ended with `rc` after `us` microseconds. */
void status_flush(struct status *st, int rc, uint64_t us) NONNULL(1);

/*
 * A query op `op` ("" when it did not decode) by `client` was answered
 * `code` after `us` microseconds.
 */
void status_query(struct status *st, const char *client, const char *op,
    int code, uint64_t us) NONNULL(1, 2, 3);

/* A query by `client` was refused "busy" before it was read. */
void status_query_busy(struct status *st, const char *client) NONNULL(1, 2);

/* A denied query was recorded (`merged` false) or merged into a count. */
void status_denial(struct status *st, bool merged) NONNULL(1);

/* A recovery (overlay rebuilt from the journal) ran. */
void status_recovery(struct status *st) NONNULL(1);

/* Once a second or so: the rate window and the directory sizes. */
void status_tick(struct scorer *s) NONNULL(1);

/*
 * Fill `out` with the Prometheus exposition (promsrv_render_cb; `arg`
 * is the struct scorer). Returns 0 or ERR_TOOBIG.
 */
int status_render(void *arg, struct buf *out) NONNULL(1, 2);

/*
 * Pack the status map (the op "status", qproto.h) into `e`. Errors are
 * sticky in `e` (wire.h).
 */
void status_pack(struct scorer *s, struct wire_enc *e) NONNULL(1, 2);

#endif
