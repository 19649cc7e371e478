/*
 * space.h - the scorer's headroom: free disk, LMDB map use, map growth,
 *           and the "full" state that refuses new events
 *
 * Every SPACE_CHECK_MS (and at once after a write failed for want of
 * room) the main loop calls space_tick(): one statvfs() per data
 * directory (history, journal, audit) and one look at the LMDB map. When
 * the map is more than lmdb_map_grow_pct used it grows by
 * lmdb_map_step_mb, up to lmdb_map_max_mb, while the history's file
 * system keeps disk_min_free_mb beyond the step; this happens between
 * flushes, without a restart. When free space falls under
 * disk_min_free_mb, or the map is more than lmdb_map_full_pct used and
 * cannot grow, the scorer is "full": new events are answered "full" at
 * once (no audit record, no journal, nothing to recover), while repeats
 * of stored events, queries and reads go on. The state is logged once
 * when it begins and once when it ends, and shown by status and the
 * metrics. When space returns the next tick clears it: the next event is
 * accepted with no recovery of its own.
 *
 * A flush that failed because the map was full keeps its frozen
 * generation (LMDB is unchanged, the journal holds the events) and is
 * tried again after the map grew: space_flush_due().
 *
 * Invariants:
 *  - the map is resized only while no flush runs (the flusher holds
 *    LMDB's only write transaction).
 *  - leaving the full state needs a margin (SPACE_HYSTERESIS) over the
 *    mark, so the state does not flap around it.
 *
 * See also: scorer.h, scorer.conf.5 (disk_min_free_mb, lmdb_map_*),
 *           common/store.h (store_info, store_overlay_set_map_bytes)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_SPACE_H
#define SCORER_SPACE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"

#define SPACE_CHECK_MS    250 /* between two looks at the disks */
#define SPACE_NEAR_FACTOR 4   /* under 4x the mark free: look every turn */
#define SPACE_MIN_FREE    (64u << 10) /* always full below 64 KiB free */
#define SPACE_RETRY_MS    1000        /* retry_after_ms of a "full" reply */
#define SPACE_REASON_MAX  160

/* The data directories watched, in this order. */
enum space_dir { SPACE_HISTORY, SPACE_JOURNAL, SPACE_AUDIT, SPACE_NDIRS };

/* Why new events are refused. */
enum space_why {
    SPACE_OK = 0,
    SPACE_DISK,  /* a file system is under disk_min_free_mb */
    SPACE_MAP,   /* the LMDB map is over lmdb_map_full_pct and cannot grow */
    SPACE_WRITE, /* a write failed for want of room; confirmed by a check */
};

/* The headroom state, in struct scorer. Main thread only. */
struct space {
    enum space_why why;                /* SPACE_OK: events accepted */
    char reason[SPACE_REASON_MAX + 1]; /* one line, for logs and status */
    uint64_t since_ms;                 /* wall clock, when it began */
    uint64_t episodes;                 /* times it began */
    uint64_t refused;                  /* events answered "full" */
    uint64_t next_check_ms;            /* monotonic */
    uint64_t free_bytes[SPACE_NDIRS];  /* at the last check */
    uint64_t total_bytes[SPACE_NDIRS];
    uint64_t map_bytes;   /* LMDB map size */
    uint64_t used_bytes;  /* LMDB pages in use (high-water) */
    uint64_t grows;       /* map growths since start */
    uint64_t grow_fail;   /* growths that failed */
    bool flush_retry;     /* a frozen generation waits for room */
    bool grow_now;        /* a flush found the map full: grow a step */
    uint64_t retry_at_ms; /* monotonic: try that flush again from then */
};

struct scorer;

/* True while new events are refused. */
static inline bool
space_full(const struct space *sp)
{
    return sp->why != SPACE_OK;
}

/* The name of `d` ("history", "journal", "audit"). */
const char *space_dir_name(enum space_dir d);

/*
 * Look at the disks and the map when due (or now with `force`), grow the
 * map when it should and may, and enter or leave the full state. Main
 * thread, between groups.
 */
void space_tick(struct scorer *s, bool force) NONNULL(1);

/*
 * A write failed with `rc` (ERR_FULL: ENOSPC, EDQUOT or MDB_MAP_FULL;
 * ERR_AUDIT or ERR_IO: perhaps for want of room) in `what` ("journal",
 * "audit", "history"): look at the disks now and, for ERR_FULL, enter
 * the full state even when they look fine (a map that could not grow, a
 * quota). Main thread.
 */
void space_write_failed(struct scorer *s, int rc, const char *what)
    NONNULL(1, 3);

/*
 * A flush failed with ERR_FULL: its frozen generation is kept; grow the
 * map at the next tick if it may, and try the flush again
 * (space_flush_due) after that or after SPACE_RETRY_MS. Main thread.
 */
void space_flush_failed(struct scorer *s) NONNULL(1);

/*
 * True when a flush kept by space_flush_failed() should be tried again
 * now. Clears the flag it returns: the caller starts the flush.
 */
bool space_flush_due(struct scorer *s) NONNULL(1);

#endif
