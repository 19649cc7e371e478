/*
 * record.h - the scorer's audit records: what each access leaves behind
 *
 * Every access to personal data the scorer serves leaves one record in
 * the audit log (common/audit.h), written before the data moves: stored
 * events (buffered in the group commit, made durable before the journal
 * append and the reply), queries (one record and fdatasync each,
 * record_now), refused peers, allow-list reloads, the pseudonym key the
 * data is made with, and repairs of the log itself. Each record is also
 * indexed by its subjects (common/subjidx.h) through the overlay.
 *
 * Invariants:
 *  - THE FAIL-CLOSED RULE: a caller that gets ERR_AUDIT refuses the
 *    access it was about to serve.
 *  - refs never hold an identifier a client chose: event and request ids
 *    appear as the hex of their keyed pseudonyms.
 *  - actors are names the ZAP handler gave (zauth.h) or "vigil-scorer"
 *    (RECORD_SYSTEM_ACTOR) for the service's own records.
 *
 * See also: common/audit.h, common/subjidx.h, scorer/scorer.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_RECORD_H
#define SCORER_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/zauth.h"

#define RECORD_SYSTEM_ACTOR "vigil-scorer"

struct scorer;

/*
 * Append `r` (ts_ms is set here), make it durable (its own fdatasync)
 * and index its subjects. For accesses answered one at a time. Main
 * thread. Returns 0, or ERR_AUDIT: the caller must refuse the access.
 */
int record_now(struct scorer *s, struct audit_record *r) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Append `r` (ts_ms is set here) and index its subjects, without a
 * sync: the caller syncs (audit_sync) before it answers, and refuses
 * the access if that fails. For accesses answered in batches (qbatch.h
 * for denials; label operations, which scorer_commit_local() makes
 * durable before any of them is answered). Main thread. Returns 0, ERR_INVAL or
 * ERR_AUDIT.
 */
int record_append(struct scorer *s, struct audit_record *r) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Append (not sync: the group commit does) and index the record of `op`
 * ("event.store", "event.resend", "event.conflict") on event `ev` from
 * storefront `actor`: the data categories it carries, as subjects the
 * tokens of the fields in `named` (EVENT_HAS_* bits: `ev` is the event
 * vault_tokenize() made), the event id's pseudonym as ref (hex), then
 * for an order a model scored " model " and the model's version
 * (`model`, NULL or "" for none: the rule set).
 * Returns 0, ERR_INVAL (a field out of bounds) or ERR_AUDIT.
 */
int record_event(struct scorer *s, const char *actor, const char *op,
    enum audit_outcome outcome, const struct event *ev, uint32_t named,
    const char *model) WARN_UNUSED NONNULL(1, 2, 3, 5);

/*
 * Record one "auth.refused" record per refused peer r[0..n) (actor
 * "unknown-key:<Z85 key>" or "no-key", ref "<address> <domain>: <reason>
 * x<count>"), with one fdatasync for them all. `where` names the
 * endpoint's owner ("collector" or "scorer"). A failure is logged: the
 * refusals were also logged when made.
 */
void record_refusals(struct scorer *s, const char *where,
    const struct zauth_refusal *r, size_t n) NONNULL(1, 2);

/* "sha256:" and 16 hex digits: room for record_config_fp()'s text. */
#define RECORD_CONFIG_FP 24

struct vigil_config;

/*
 * The fingerprint of the effective configuration `cfg`: "sha256:" and
 * the first 16 hex digits of the SHA-256 of its cfg_print() text, into
 * out[RECORD_CONFIG_FP]. Recorded by "service.start" and "config.change"
 * (the configuration itself may hold paths and addresses: never the
 * text). Aborts if no memory.
 */
void record_config_fp(
    const struct vigil_config *cfg, char out[RECORD_CONFIG_FP]) NONNULL(1, 2);

/*
 * Fill `*r` (zeroed first) as a record of the service itself: `actor`
 * (RECORD_SYSTEM_ACTOR, or the refused peer of "auth.refused"), role
 * system, `op`, `purpose`, outcome allowed, `ref` (may be "": set after).
 */
void record_fill_system(struct audit_record *r, const char *actor,
    const char *op, const char *purpose, const char *ref)
    NONNULL(1, 2, 3, 4, 5);

/*
 * Record a system event `op` with `ref` (e.g. "auth.reload" with the
 * number of clients loaded), actor RECORD_SYSTEM_ACTOR, purpose
 * "security". Returns as record_now().
 */
int record_system(struct scorer *s, const char *op, const char *ref) WARN_UNUSED
    NONNULL(1, 2, 3);

/*
 * Bind the data to the pseudonym key: on first start, store the key's
 * id (pseudo_key_id) in the subject index and record "key.pseudonym"
 * naming it; afterwards refuse a different key (ERR_DENIED, logged with
 * both ids: the keys directory holds another key than the one this
 * data was made with). Start-up only, before any event.
 */
int record_bind_key(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * Sign the audit log's head when it is due (head_interval_ms after the
 * last one, and records it does not cover). A failure is logged: the
 * records are durable and the next head covers them.
 */
void record_head(struct scorer *s) NONNULL(1);

/*
 * Sign a checkpoint when checkpoint_records records or
 * checkpoint_interval_ms have gone by since the last one, or now with
 * `force`. A failure is logged: the records stay durable and the next
 * checkpoint covers them. A due checkpoint is left to the next LMDB
 * commit while one is under way or events wait for one (the flusher
 * thread appends and syncs it, off the event path:
 * record_checkpoint_ride), unless it is overdue by another
 * checkpoint_interval_ms; `force` first waits for a commit in flight.
 */
void record_checkpoint(struct scorer *s, bool force) NONNULL(1);

/* True when a checkpoint is due at `now` (monotonic ms). */
bool record_checkpoint_due(const struct scorer *s, uint64_t now) NONNULL(1);

/* True when a due checkpoint is left to the next commit at `now`. */
bool record_checkpoint_deferred(const struct scorer *s, uint64_t now)
    NONNULL(1);

/*
 * At scorer_flush_start(), right after audit_flush_begin(): put a due
 * checkpoint on the flush ticket (audit_checkpoint_begin), for the
 * flusher to append after the records' sync. Not before the scorer is
 * ready: start-up signs its checkpoint itself and must not wait for the
 * commit of the replayed journal tail (it finishes while the scorer
 * serves).
 */
void record_checkpoint_ride(struct scorer *s) NONNULL(1);

/*
 * Bring the subject index up to the log (records past its watermark,
 * one verified pass). Returns 0 or the ERR_* of the replay (logged).
 */
int record_reindex(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * If opening the log cut a torn tail, record "log.repair" saying what
 * was cut, and sign a checkpoint. Exits when that record cannot be
 * written.
 */
void record_repair(struct scorer *s) NONNULL(1);

#endif
