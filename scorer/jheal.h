/*
 * jheal.h - the audit records the journal holds, gathered at start to
 *           restore what a crash took from the audit segments
 *
 * The group commit makes a group's audit records durable in the journal
 * (JREC_AUDIT records, scorer/jrec.h) with the group's events, and
 * writes them to the audit segments without a sync; the segments are
 * synced before every LMDB commit (hence before any journal trim). So
 * after a crash (a power cut: a kill -9 loses nothing the page cache
 * holds) the records past the segments' durable end are in the journal
 * past the last committed seq. jheal_collect() gathers them and the
 * largest "floor" (audit size already synced) the records carry, for
 * audit_log_open_heal() (common/audit.h), which appends again what is
 * missing and refuses a log cut below the floor.
 *
 * Invariants:
 *  - read-only on the journal; runs before the audit log is opened.
 *
 * See also: scorer/jrec.h, common/audit.h (audit_heal), startup.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_JHEAL_H
#define SCORER_JHEAL_H

#include <stdint.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "common/journal.h"

/* What the journal holds of the audit log. Release with
 * jheal_release(). */
struct jheal {
    struct audit_heal heal; /* heal.frames points into `frames` */
    struct buf frames;      /* the frames, in journal order (owned) */
    uint64_t records;       /* JREC_AUDIT records read */
};

/*
 * Read every durable journal record with seq >= `from_seq` (raised to
 * the journal's first seq) and gather the frames and the largest floor
 * of its JREC_AUDIT records into `*out` (initialised here).
 * Returns 0, ERR_CORRUPT (a bad record: logged) or ERR_IO.
 */
int jheal_collect(struct journal *j, uint64_t from_seq,
    struct jheal *out) WARN_UNUSED NONNULL(1, 3);

/* Free what jheal_collect() gathered. */
void jheal_release(struct jheal *h) NONNULL(1);

#endif
