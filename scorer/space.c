/*
 * space.c - headroom checks, map growth and the full state (space.h)
 *
 * Main thread of vigil-scorer. A check costs three statvfs() calls and
 * two LMDB info calls, every SPACE_CHECK_MS.
 *
 * See also: space.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "scorer/scorer.h"
#include "scorer/space.h"

#define MIB (1024.0 * 1024.0)

static const char *const space_dirs[SPACE_NDIRS] = { "history", "journal",
    "audit" };

const char *
space_dir_name(enum space_dir d)
{
    return (unsigned)d < SPACE_NDIRS ? space_dirs[d] : "";
}

/* The margin over a mark needed to leave the full state: 1/16 of it,
 * at least SPACE_MIN_FREE. */
static uint64_t
space_hysteresis(uint64_t mark)
{
    uint64_t m = mark / 16;

    return m > SPACE_MIN_FREE ? m : SPACE_MIN_FREE;
}

/* Read the free and total bytes of each data directory's file system. */
static void
space_read_disks(struct scorer *s)
{
    char path[4096];
    struct statvfs v;
    unsigned d;

    for (d = 0; d < SPACE_NDIRS; d++) {
        if (cfg_path(&s->cfg, space_dirs[d], path, sizeof(path)) != 0 ||
            statvfs(path, &v) != 0) {
            /* Unknown is not "full": keep the last reading. */
            continue;
        }
        s->space.free_bytes[d] = (uint64_t)v.f_bavail * v.f_frsize;
        s->space.total_bytes[d] = (uint64_t)v.f_blocks * v.f_frsize;
    }
}

/*
 * Grow the map a step when it is over the growth mark, the step is not
 * 0, the ceiling allows and the history's disk has the step to spare.
 * Only between flushes.
 */
static void
space_maybe_grow(struct scorer *s)
{
    struct space *sp = &s->space;
    uint64_t step = (uint64_t)s->cfg.lmdb_map_step_mb << 20;
    uint64_t max = (uint64_t)s->cfg.lmdb_map_max_mb << 20;
    uint64_t mark = (uint64_t)s->cfg.disk_min_free_mb << 20;
    uint64_t want;
    int rc;

    if (step == 0 || sp->map_bytes == 0 || s->flushing)
        return;
    if (!sp->grow_now &&
        sp->used_bytes * 100 <
            sp->map_bytes * (uint64_t)s->cfg.lmdb_map_grow_pct)
        return;
    sp->grow_now = false;
    want = sp->map_bytes + step;
    if (max != 0 && want > max)
        want = max;
    if (want <= sp->map_bytes)
        return;
    if (sp->free_bytes[SPACE_HISTORY] <
        mark + (want - sp->map_bytes) + SPACE_MIN_FREE)
        return; /* the disk cannot hold the step: the map stays */
    rc = store_overlay_set_map_bytes(s->ov, (size_t)want);
    if (rc != 0) {
        sp->grow_fail++;
        log_warnx("cannot grow the LMDB map to %.0f MiB: %s",
            (double)want / MIB, err_str(rc));
        s->needs_recovery = true;
        return;
    }
    sp->grows++;
    log_info("LMDB map grown from %.0f to %.0f MiB (%.0f MiB in use)",
        (double)sp->map_bytes / MIB, (double)want / MIB,
        (double)sp->used_bytes / MIB);
    sp->map_bytes = want;
    sp->retry_at_ms = 0; /* a kept flush may go now */
}

/*
 * True when a data directory's disk has less than SPACE_NEAR_FACTOR
 * times the mark free: a burst of groups could write the rest between
 * two periodic looks, and a write that finds no room fails as "audit"
 * or "io" instead of being refused "full" before it starts.
 */
static bool
space_near_mark(const struct scorer *s)
{
    uint64_t mark = (uint64_t)s->cfg.disk_min_free_mb << 20;
    unsigned d;

    if (mark < SPACE_MIN_FREE)
        mark = SPACE_MIN_FREE;
    for (d = 0; d < SPACE_NDIRS; d++)
        if (s->space.total_bytes[d] != 0 &&
            s->space.free_bytes[d] < SPACE_NEAR_FACTOR * mark)
            return true;
    return false;
}

/* Decide whether the scorer is full; fill `why` and `reason`. */
static enum space_why
space_judge(struct scorer *s, bool leaving, char *reason, size_t len)
{
    struct space *sp = &s->space;
    uint64_t mark = (uint64_t)s->cfg.disk_min_free_mb << 20;
    uint64_t pct = (uint64_t)s->cfg.lmdb_map_full_pct;
    unsigned d;

    if (mark < SPACE_MIN_FREE)
        mark = SPACE_MIN_FREE;
    if (leaving)
        mark += space_hysteresis(mark);
    for (d = 0; d < SPACE_NDIRS; d++) {
        if (sp->total_bytes[d] == 0 || sp->free_bytes[d] >= mark)
            continue;
        snprintf(reason, len,
            "disk: %.1f MiB free for the %s (the mark is %d MiB)",
            (double)sp->free_bytes[d] / MIB, space_dirs[d],
            s->cfg.disk_min_free_mb);
        return SPACE_DISK;
    }
    if (leaving && pct > 1)
        pct--;
    if (sp->map_bytes > 0 && sp->used_bytes * 100 >= sp->map_bytes * pct) {
        snprintf(reason, len,
            "map: LMDB map %.0f%% used of %.0f MiB (the mark is %d%%)",
            (double)sp->used_bytes * 100.0 / (double)sp->map_bytes,
            (double)sp->map_bytes / MIB, s->cfg.lmdb_map_full_pct);
        return SPACE_MAP;
    }
    return SPACE_OK;
}

static void
space_enter(struct scorer *s, enum space_why why, const char *reason)
{
    struct space *sp = &s->space;

    if (sp->why == SPACE_OK) {
        sp->episodes++;
        sp->since_ms = clock_wall_ms();
        log_warnx("full: refusing new events until there is room (%s)", reason);
    } else if (strcmp(sp->reason, reason) != 0 && why != sp->why) {
        log_warnx("full: %s", reason);
    }
    sp->why = why;
    snprintf(sp->reason, sizeof(sp->reason), "%s", reason);
}

static void
space_leave(struct scorer *s)
{
    struct space *sp = &s->space;

    if (sp->why == SPACE_OK)
        return;
    log_info("room again: accepting events (%" PRIu64 " refused as full "
             "since %" PRIu64 " ms ago)",
        sp->refused, clock_wall_ms() - sp->since_ms);
    sp->why = SPACE_OK;
    sp->reason[0] = '\0';
    sp->refused = 0;
    /* A commit that failed while there was no room (tmpfs and ext4 may
     * say EIO rather than ENOSPC) left a recovery waiting out its
     * backoff: with room back, try it at once, so that the first event
     * after the full state is accepted, not answered "io". */
    s->recover_next_ms = 0;
}

void
space_tick(struct scorer *s, bool force)
{
    struct space *sp = &s->space;
    uint64_t now = clock_mono_ms();
    char reason[SPACE_REASON_MAX + 1];
    enum space_why why;

    if (!force && now < sp->next_check_ms)
        return;
    sp->next_check_ms = now + SPACE_CHECK_MS;
    space_read_disks(s);
    if (space_near_mark(s))
        sp->next_check_ms = now; /* a statvfs per loop turn, not per 250 ms */
    if (store_info(s->store, &sp->map_bytes, &sp->used_bytes) != 0)
        sp->map_bytes = 0;
    space_maybe_grow(s);
    why = space_judge(s, space_full(sp), reason, sizeof(reason));
    if (why != SPACE_OK) {
        space_enter(s, why, reason);
        return;
    }
    /* A flush that failed for want of room must go through before new
     * events are taken again: until then the state stays. */
    if (sp->why != SPACE_OK && sp->flush_retry)
        return;
    space_leave(s);
}

void
space_write_failed(struct scorer *s, int rc, const char *what)
{
    char reason[SPACE_REASON_MAX + 1];

    space_tick(s, true);
    if (rc != ERR_FULL || space_full(&s->space))
        return;
    snprintf(reason, sizeof(reason), "write: the %s is out of room (%s)", what,
        err_str(rc));
    space_enter(s, SPACE_WRITE, reason);
}

void
space_flush_failed(struct scorer *s)
{
    struct space *sp = &s->space;

    sp->flush_retry = true;
    sp->grow_now = true;
    sp->retry_at_ms = clock_mono_ms() + SPACE_RETRY_MS;
    space_write_failed(s, ERR_FULL, "history");
}

bool
space_flush_due(struct scorer *s)
{
    struct space *sp = &s->space;

    if (!sp->flush_retry || s->flushing || clock_mono_ms() < sp->retry_at_ms)
        return false;
    sp->flush_retry = false;
    sp->retry_at_ms = 0;
    return true;
}
