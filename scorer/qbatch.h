/*
 * qbatch.h - denied queries, audited in batches: one fdatasync per
 *            drain of the query socket, a repeated denial counted
 *
 * A refused query carries no personal data back, but it is still
 * recorded before it is answered (query.c's rule). Refusals come in
 * floods (a misconfigured tool, a probe): recorded one by one, each with
 * its own fdatasync, they were a disk flood of their own. So query.c
 * hands each denial to qbatch_deny(), which appends its record (not
 * synced) and keeps the reply; the loop calls qbatch_flush() after each
 * drain of the query socket, which makes every record of the batch
 * durable with one fdatasync and only then sends the replies.
 *
 * A denial identical to one already in the batch (same actor, role, op,
 * data categories, subjects, purpose and reason; only the request id
 * differs) is not recorded again: it is counted, and the flush appends
 * one more record for all the repeats, ref "repeat x<N> of #<index>",
 * where <index> is the record of the first. So every decoded request
 * still leaves a record, and N repeats cost two.
 *
 * Invariants:
 *  - no reply of a batch leaves before its records are durable; if the
 *    sync fails every held reply becomes an "audit" error.
 *  - no other audit write happens while a batch holds records: query.c
 *    flushes the batch before it audits an allowed request, and the
 *    loop after each drain. (A failed sync drops every pending record,
 *    the batch's too: it must not be someone else's sync that fails.)
 *  - at most QBATCH_MAX replies are held; the batch is flushed early
 *    when it is full.
 *
 * See also: scorer/query.c, scorer/record.h, common/audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_QBATCH_H
#define SCORER_QBATCH_H

#include <stdbool.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/zsock.h"

#define QBATCH_MAX 256 /* held replies, and distinct denials, per batch */

struct scorer;
struct qbatch;

/* Make an empty batch. Never fails. */
struct qbatch *qbatch_new(void);

/* Free it; held replies are dropped. NULL is a no-op. */
void qbatch_free(struct qbatch *b);

/*
 * Record the denial `r` (filled by the caller, outcome denied; ts and
 * index are set here) of request `id` from the peer behind `env`, and
 * hold the reply "denied: <why>". Main thread. Never fails: an append
 * error turns into an "audit" reply at the flush.
 */
void qbatch_deny(struct scorer *s, struct audit_record *r,
    const struct zsock_route *env, const char *id, const char *why)
    NONNULL(1, 2, 3, 4, 5);

/* True when the batch holds no reply (nothing to flush). */
bool qbatch_empty(const struct scorer *s) NONNULL(1);

/*
 * Append the counted records, sync once, then send every held reply.
 * A no-op when nothing is held. Main thread.
 */
void qbatch_flush(struct scorer *s) NONNULL(1);

#endif
