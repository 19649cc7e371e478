/*
 * recover.c - vigil-scorer: rebuild history from the durable journal
 *
 * scorer_recover() throws the overlay away and rebuilds it from the
 * committed LMDB history plus the journal records past its applied_seq
 * (replayed through scorer_apply(), apply.c), then commits. It runs at
 * start-up and whenever a store or journal error leaves the overlay
 * ahead of what is durable; scorer_maybe_recover() spaces failed
 * attempts (no room) so that requests do not pay for each. At the first
 * recovery the audit log's anchor is checked against the journal: fewer
 * audit records than journaled events means records were cut, and the
 * scorer refuses to start. scorer_journal_shred() removes the journal
 * once LMDB holds all of it (erasure).
 *
 * See also: apply.c, flusher.c, scorer.h (the invariants), journal.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/event.h"
#include "common/journal.h"
#include "common/log.h"
#include "scorer/history.h"
#include "scorer/jrec.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/space.h"
#include "scorer/status.h"
#include "scorer/vault.h"

/* Shortest time between two failed recoveries. */
#define SCORER_RECOVER_BACKOFF_MS 1000

/* Replay one journal record (journal_replay callback). */
static int
scorer_replay_record(void *arg, uint64_t seq, const void *payload, size_t len)
{
    struct scorer *s = arg;
    struct jrec *jr = &s->jrec;
    const char *why;
    struct event ev;
    struct reply r;
    unsigned i;
    int rc;

    /* The group's audit records: restored at start (startup.c), not
     * replayed. */
    if (jrec_is_audit(payload, len))
        return 0;
    rc = jrec_decode(payload, len, jr, &why);
    if (rc != 0) {
        log_warnx("journal record %" PRIu64 ": %s", seq, why);
        return ERR_CORRUPT;
    }
    /* The salts this event made when it was live: the same tokens. */
    for (i = 0; i < jr->nsalts; i++) {
        rc = vault_restore(
            s->vault, &jr->salts[i].p, jr->salts[i].kind, jr->salts[i].salt);
        if (rc != 0) {
            log_warnx("journal record %" PRIu64 ": cannot restore a salt: %s",
                seq, err_str(rc));
            goto out;
        }
    }
    rc = event_decode(&s->ev_dec, &ev, jr->event, jr->event_len);
    if (rc != 0) {
        log_warnx("journal record %" PRIu64 ": event does not decode: %s", seq,
            err_str(rc));
        rc = ERR_CORRUPT;
        goto out;
    }
    rc = scorer_apply(s, jr->actor, &ev, jr->event, jr->event_len,
        SCORER_REPLAY, seq, jr->arrival_ms, &r);
    if (rc == ERR_CONFLICT)
        rc = 0; /* refused live too: nothing of it was applied */
    if (rc == 0)
        s->stats.replayed++;
out:
    sodium_memzero(jr, sizeof(*jr));
    return rc;
}

int
scorer_journal_shred(struct scorer *s, size_t *segments)
{
    *segments = 0;
    if (s->applied_seq == 0 || s->applied_seq >= journal_next_seq(s->journal))
        return 0; /* never held a record */
    /* The journal holds the durable copy of the groups' audit records
     * until the segments are synced. */
    if (audit_flush(s->audit) != 0)
        return ERR_AUDIT;
    return journal_shred_upto(s->journal, s->applied_seq, segments);
}

/*
 * At the first recovery: every event the journal holds past the anchor's
 * sequence had its audit record made durable, past the anchor's size,
 * before it was journaled; fewer records than events means records were
 * cut. Exits (refusing to start) then.
 */
static void
scorer_check_anchor_journal(struct scorer *s)
{
    uint64_t have = audit_size(s->audit), after;

    s->anchor_checked = true;
    if (s->anchor.size == 0)
        return;
    after = have >= s->anchor.size ? have - s->anchor.size : 0;
    if (s->stats.replayed > after)
        fatalx("the audit log holds %" PRIu64 " records, but the scorer "
               "signed %" PRIu64 " (journal seq %" PRIu64 ") and the "
               "journal holds %" PRIu64 " events after that, each audited "
               "first: audit records were removed; refusing to start",
            have, s->anchor.size, s->anchor.seq, s->stats.replayed);
}

/*
 * Throw away the overlay and rebuild it from the committed history plus
 * the durable journal, then commit. Used at start-up and whenever a store
 * or journal error leaves the overlay ahead of what is durable. Returns 0
 * or the ERR_* that prevented recovery.
 */
static int
scorer_recover_impl(struct scorer *s, bool wait)
{
    uint64_t seq;
    int rc;

    scorer_flush_wait(s);
    status_recovery(s->status);
    rc = store_overlay_discard(s->ov);
    if (rc != 0)
        return rc;
    /* A generation kept for want of room is gone with the rest: the
     * replay below rebuilds it from the journal. */
    s->space.flush_retry = false;
    s->gen_events = 0;
    s->gen_opened_ms = 0;
    s->njpend = 0;
    s->needs_recovery = false;
    rc = history_applied_seq(s->hist, s->otxn, &seq);
    if (rc != 0)
        goto fail;
    s->applied_seq = seq;
    s->committed_seq = seq;
    if (journal_next_seq(s->journal) <= seq) {
        /* The journal lost records that LMDB already covers: never
         * reuse their sequence numbers. */
        rc = journal_skip_to(s->journal, seq + 1);
        if (rc != 0)
            goto fail;
    }
    rc = journal_replay(s->journal, seq + 1, scorer_replay_record, s);
    if (rc != 0)
        goto fail;
    if (!s->anchor_checked)
        scorer_check_anchor_journal(s);
    rc = record_reindex(s);
    if (rc != 0)
        goto fail;
    /* scorer_flush_start() skips an empty generation; `indexed` must
     * still reach LMDB when only the index moved. */
    if (s->gen_events == 0)
        s->gen_events = 1;
    if (!wait) {
        /* The journal holds every replayed event: the commit may finish
         * while the scorer serves (the loop takes its result, and a
         * failure is recovered like any other). */
        scorer_flush_start(s);
        return s->needs_recovery ? ERR_IO : 0;
    }
    rc = scorer_flush_sync(s);
    if (rc == ERR_FULL)
        return 0; /* consistent: the commit waits for room (space.h) */
    if (rc != 0)
        goto fail;
    return 0;

fail:
    s->needs_recovery = true;
    return rc;
}

int
scorer_recover(struct scorer *s)
{
    return scorer_recover_impl(s, true);
}

int
scorer_recover_start(struct scorer *s)
{
    return scorer_recover_impl(s, false);
}

/*
 * Recover when needed, at most once per SCORER_RECOVER_BACKOFF_MS: a
 * recovery that cannot succeed yet (no room) must not be paid for by
 * every request. Returns 0 when nothing needs recovering.
 */
int
scorer_maybe_recover(struct scorer *s)
{
    uint64_t now = clock_mono_ms();
    int rc;

    if (!s->needs_recovery)
        return 0;
    if (now < s->recover_next_ms)
        return ERR_IO;
    rc = scorer_recover(s);
    if (rc != 0) {
        s->recover_next_ms = now + SCORER_RECOVER_BACKOFF_MS;
        log_warnx("recovery failed (%s); next attempt in %d ms", err_str(rc),
            SCORER_RECOVER_BACKOFF_MS);
        space_write_failed(s, rc, "history");
    }
    return rc;
}
