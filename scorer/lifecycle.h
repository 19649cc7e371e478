/*
 * lifecycle.h - the scorer's start and stop: one scorer per data
 *               directory, SIGHUP reloads, a bounded SIGTERM
 *
 * lifecycle_lock() runs right after the privilege drop, before anything
 * in the data directory is opened: it takes an exclusive flock() on
 * DATA_DIR/scorer.pid and writes the pid there, so a second scorer on
 * the same directory stops at once with a message naming the first
 * one's pid (LMDB alone would let it open the environment, and the
 * journal's lock would refuse it only later, less clearly). The lock
 * goes with the process, also on kill -9.
 *
 * lifecycle_reload() is SIGHUP's work besides the allow-list: the live
 * configuration keys (cfg.h, cfg_apply_live), the quotas and thresholds
 * derived from them, and the model (a hook for issue 7's model module,
 * which loads its file again there).
 *
 * lifecycle_watchdog() bounds a stop: after SIGTERM the loop drains the
 * sockets, commits and checkpoints; if that takes longer than
 * shutdown_timeout_ms the alarm ends the process (the journal still
 * holds every acknowledged event; the next start replays it).
 *
 * See also: scorer.8 ("SIGNALS"), scorer.h, common/cfg.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_LIFECYCLE_H
#define SCORER_LIFECYCLE_H

#include "common/compiler.h"

struct scorer;

/*
 * Take DATA_DIR/scorer.pid (created 0600) for this process and write
 * its pid. Exits 1 with a clear message when another process holds it
 * or it cannot be made. Start-up, once.
 */
void lifecycle_lock(struct scorer *s) NONNULL(1);

/* Release the lock (at exit; the kernel also does it). */
void lifecycle_unlock(struct scorer *s) NONNULL(1);

/*
 * SIGHUP: reload the configuration's live keys and what derives from
 * them (thresholds, quotas), then the model (hook). Main thread.
 */
void lifecycle_reload(struct scorer *s) NONNULL(1);

/*
 * Set the daemon's quotas from s->cfg (start-up and reload). Returns 0
 * or ERR_INVAL (logged; the previous quotas stay).
 */
int lifecycle_quotas(struct scorer *s) NONNULL(1);

/*
 * Arm the stop bound: SIGALRM after shutdown_timeout_ms ends the
 * process with status 1 and a log line. Call when SIGTERM arrives.
 */
void lifecycle_watchdog(const struct scorer *s) NONNULL(1);

#endif
