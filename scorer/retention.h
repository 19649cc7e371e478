/*
 * retention.h - the retention sweep: history older than its category's
 *               retention leaves in small steps, each purge recorded
 *
 * The scorer's main loop calls retention_tick() between two polls. A
 * pass walks history in key order (history_sweep_step(): at most
 * cfg retention_step_keys keys a step, a short read transaction each,
 * one step every retention_step_ms), plans the deletion of every entity
 * whose last event, every order whose time, is older than its
 * category's retention_days_* at the wall clock's now, and of every
 * stored reply that arrived more than dedup_window_s ago, and applies it
 * through the overlay (so it reaches LMDB with the next group commit, like any
 * write: no write transaction of its own, scoring never waits on it).
 * A step that deletes anything first writes a "retention.purge" audit
 * record with the counts (ref "e<entities> l<links> o<orders>
 * r<replies> a<account> d<device> i<ip> p<payment> c<contact>", the
 * categories in cats); if that record cannot be written nothing is
 * deleted (the next pass tries again). Between passes it waits
 * retention_pass_ms.
 *
 * Invariants:
 *  - nothing is deleted without its audit record written first.
 *  - one step examines at most retention_step_keys keys.
 *
 * See also: scorer/history.h (history_sweep_step, the categories),
 *           scorer/history_purge.c, scorer.conf(5) (the keys),
 *           scorer.8 ("RETENTION")
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_RETENTION_H
#define SCORER_RETENTION_H

#include <stdint.h>

#include "common/cfg.h"
#include "common/compiler.h"
#include "scorer/history.h"

/* The sweep's state (in struct scorer). Fields are read by status only. */
struct retention {
    struct history_retention keep;
    struct history_sweep sw;
    struct history_batch batch;
    unsigned step_keys;
    uint64_t step_ms, pass_ms;
    uint64_t next_ms;                   /* monotonic time of the next step */
    uint64_t purged[HISTORY_ROW_COUNT]; /* rows deleted since start */
    uint64_t purges;                    /* steps that deleted something */
};

struct scorer;

/* Set `r` up from the config (nothing is read from history yet). */
void retention_init(struct retention *r, const struct vigil_config *cfg)
    NONNULL(1, 2);

/* Free what `r` holds. */
void retention_release(struct retention *r) NONNULL(1);

/*
 * Run one step if one is due. Main thread, between polls. Returns the
 * ms until the next step is due (for the poll's timeout).
 */
uint64_t retention_tick(struct scorer *s) NONNULL(1);

#endif
