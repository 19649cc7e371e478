/*
 * startup.h - vigil-scorer's start-up steps (startup.c)
 *
 * Called once each, by main() in this order, on the process's one
 * `struct scorer`. Every step exits the process (status 1, with a
 * message) when it cannot do its job; none returns an error.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SCORER_STARTUP_H
#define VIGIL_SCORER_STARTUP_H

#include "common/compiler.h"
#include "scorer/scorer.h"

/* Start-up timing (struct startup_clock): init takes the exec's time
 * (from /proc) first thing in main(); mark ends a step, named by a
 * static string; ready logs each step's wall time and the CPU so far;
 * first_group logs, once, when the first group of events was answered
 * (group.c). */
void startup_clock_init(struct scorer *s) NONNULL(1);
void startup_mark(struct scorer *s, const char *step) NONNULL(1, 2);
void startup_ready(struct scorer *s) NONNULL(1);
void startup_first_group(struct scorer *s, uint32_t events) NONNULL(1);

/* Parse argv and load the configuration into s->cfg; with -n check it
 * (print it with -v) and exit. */
void startup_config(struct scorer *s, int argc, char **argv) NONNULL(1, 3);

/* Resolve the service user; as root give it the keys and data
 * directories (0700) and drop to it. */
void startup_become_user(struct scorer *s) NONNULL(1);

/* Open (creating at first start) the keys directory and the audit
 * signing key, refused inside data_dir. */
void startup_keys(struct scorer *s) NONNULL(1);

/* Open history (LMDB), the subject index, the overlay and its flusher
 * thread, the journal, the audit log and the witness client. */
void startup_storage(struct scorer *s) NONNULL(1);

/* Open the subject vault, creating it only in a new data directory. */
void startup_vault(struct scorer *s) NONNULL(1);

/* Bring history up to date from the journal, finish an interrupted
 * erasure, bind the data to the pseudonym key, record repairs, sign a
 * checkpoint. */
void startup_catch_up(struct scorer *s) NONNULL(1);

/* Allocate the group's and the query batch's buffers (once). */
void startup_alloc(struct scorer *s) NONNULL(1);

/* Start the ZAP handler and bind the collector and query sockets. */
void startup_sockets(struct scorer *s) NONNULL(1);

/* Serve /metrics when cfg scorer_metrics is set. */
void startup_metrics(struct scorer *s) NONNULL(1);

/* Start verifying, in the background, the audit records the fast open
 * took on trust (audit_log_verify_start()). Exits on failure to start.
 * Called by startup_verify_audit_poll() at the first group answered or
 * STARTUP_VERIFY_DELAY_MS after ready, whichever comes first. */
void startup_verify_audit(struct scorer *s) NONNULL(1);

/* Start that verification when due, then check on it (from the loop,
 * every turn): when it failed, the log
 * differs from what the scorer signed: exit, refusing to go on (fail
 * closed, as a start on that log would have). */
void startup_verify_audit_poll(struct scorer *s) NONNULL(1);

#endif
