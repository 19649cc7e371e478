/*
 * wclient.h - the scorer's witness client: pushes each new checkpoint to
 *             the configured witnesses, on its own thread
 *
 * For every `witness = <URL> <vkey>` key (scorer.conf.5), the client
 * sends the newest checkpoint with a consistency proof from the size the
 * witness last cosigned (c2sp.org/tlog-witness add-checkpoint), checks
 * the cosignature it gets back (common/cosig.h) and appends it to
 * DATA_DIR/audit/cosignatures.log (common/cosiglog.h). It never runs on
 * the event path: the main thread only copies leaf hashes and the note
 * into an inbox under a mutex (audit_observer callbacks, microseconds);
 * HTTP (libcurl), proofs and the file are the client thread's. Pushes
 * coalesce: a witness slower than the checkpoints gets the newest one.
 * A 409 is retried from the size the witness reports; a witness that is
 * down is retried with exponential backoff (1 s to 60 s).
 *
 * Proofs come from a window the thread keeps: the frontier at a base
 * size and the leaf hashes after it (32 bytes per record, trimmed to
 * what the slowest witness still needs, at most WCLIENT_WINDOW leaves).
 * A witness behind the window gets its proof from
 * audit_prove_consistency() on the audit directory (a read of the log).
 *
 * Invariants:
 *  - only the client thread touches curl, the window and the file.
 *  - a cosignature is stored only after it verified against the
 *    witness's configured key, on exactly the checkpoint that was sent.
 *
 * See also: common/cosig.h, common/cosiglog.h, tools/vigil-witness.1,
 *           scorer/scorer.conf.5, c2sp.org/tlog-witness
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_WCLIENT_H
#define SCORER_WCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/compiler.h"

#define WCLIENT_WINDOW (1u << 22) /* leaf hashes kept: 128 MiB at most */

struct wclient;

/*
 * Parse the `witness` entries `spec` ("<URL> <vkey>" lines, as
 * cfg.witness holds them) into an array of at most CFG_MAX_WITNESSES.
 * Returns the number of witnesses (0 for an empty spec), or ERR_INVAL
 * with `err` naming the bad entry. Pure; for `-n` and start-up.
 */
int wclient_check(const char *spec, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Start the client thread for the witnesses in `spec`, for the audit log
 * `log` in directory `dir` (whose verifier key is `vkey`), and install
 * it as the log's observer. Main thread, once, after the log is open.
 * *out is stopped with wclient_stop().
 * Returns 0, ERR_INVAL (bad spec: `err` says which) or ERR_IO (the
 * cosignatures file or the thread).
 */
int wclient_start(const char *spec, struct audit_log *log, const char *dir,
    const char *vkey, struct wclient **out, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3, 4, 5, 6);

/*
 * Give the thread up to `flush_ms` to push the newest checkpoint to the
 * witnesses that do not have it, then stop it, remove the observer from
 * `log`, and free everything. wclient_stop(NULL, ...) is a no-op.
 */
void wclient_stop(struct wclient *wc, struct audit_log *log, unsigned flush_ms);

/* Counters for the stats line (any thread; a snapshot). */
struct wclient_stats {
    uint64_t pushes;    /* add-checkpoint requests sent */
    uint64_t cosigned;  /* cosignatures stored */
    uint64_t conflicts; /* 409 answers */
    uint64_t failures;  /* network errors and other answers */
    uint64_t fallbacks; /* proofs read from the log (behind the window) */
    uint64_t witnesses; /* witnesses configured */
    uint64_t current;   /* of them, those that cosigned the newest size */
    uint64_t min_size;  /* smallest size a witness cosigned (0: one has not) */
    uint64_t max_size;  /* largest size a witness cosigned (0: none has) */
};

void wclient_stats(struct wclient *wc, struct wclient_stats *out) NONNULL(1, 2);

#endif
