/*
 * flusher.c - vigil-scorer: commit overlay generations to LMDB on the
 *             flusher thread
 *
 * The main loop writes history into the overlay's current generation
 * (store.h). scorer_flush_start() freezes it, with the journal sequence
 * it covers, the vault's new slots, the subject index position and the
 * audit log's anchor, and hands it to the flusher thread
 * (scorer_flusher_main), which syncs the audit records that anchor names
 * (audit_flush_run: off the event path since issue 11 item 3; it was an
 * fdatasync on the main thread every commit_interval_ms), syncs the
 * vault file and commits the generation in one synced LMDB write
 * transaction, then rings the loop's bell (an eventfd). scorer_flush_poll()
 * takes the result: the journal segments it covers are released; a failure
 * marks the overlay for recovery (recover.c), and a full map or disk keeps the
 * generation for a retry when there is room (space.h). The fields shared by the
 * two threads are under s->mu (scorer.h).
 *
 * See also: scorer.c (the loop that drives it), recover.c, space.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/store.h"
#include "common/subjidx.h"
#include "scorer/history.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/space.h"
#include "scorer/status.h"
#include "scorer/vault.h"

/*
 * The flusher thread: waits for a frozen generation, commits it to LMDB
 * (one synced write transaction), reports the result and rings the bell.
 */
void *
scorer_flusher_main(void *arg)
{
    struct scorer *s = arg;
    uint64_t one = 1;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        int rc, arc, crc;

        while (!s->flush_request && !s->flusher_quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->flush_request)
            break;
        s->flush_request = false;
        pthread_mutex_unlock(&s->mu);
        /* The anchor names the audit size, and the commit lets the
         * journal (the records' durable copy) be trimmed: the records
         * are durable in the audit segments first. Every salt the
         * generation's tokens come from is durable before the rows keyed
         * by them are (vault.h, Durability). */
        rc = arc = audit_flush_run(&s->flush_audit);
        /* A checkpoint riding on the ticket: after the records it signs
         * are durable in the segments (record_checkpoint_ride). */
        crc = ERR_AUDIT;
        if (arc == 0 && s->flush_audit.ckpt) {
            crashpoint("checkpoint");
            crc = audit_checkpoint_run(&s->flush_audit);
            if (crc == 0)
                crashpoint("checkpoint.after");
        }
        if (rc == 0)
            rc = vault_sync_file(s->vault);
        if (rc == 0)
            rc = store_overlay_flush(s->ov);
        /* The files the tile writer takes next: made here, not on the
         * event path (audit_tiles.h, tile-new/). */
        audit_flush_premake(&s->flush_audit);
        pthread_mutex_lock(&s->mu);
        s->flush_rc = rc;
        s->flush_audit_rc = arc;
        s->flush_ckpt_rc = crc;
        s->flush_done = true;
        pthread_cond_broadcast(&s->cv);
        if (write(s->flush_efd, &one, sizeof(one)) < 0)
            log_warn("cannot ring the flush bell");
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/*
 * Finish a flush whose result is in: settle the overlay and release the
 * journal it covers, or after a failure mark the overlay for recovery
 * (the journal still holds every acknowledged event).
 */
static void
scorer_flush_finish(struct scorer *s, int rc, int arc, int crc)
{
    uint64_t durable, first;

    s->flushing = false;
    /* The audit records' sync: counted as synced, or the log failed. */
    if (audit_flush_end(s->audit, &s->flush_audit, arc) != 0 && rc == 0)
        rc = ERR_AUDIT;
    /* The checkpoint that rode on it: counted, or cut back (logged);
     * the next one covers its records. */
    audit_checkpoint_end(s->audit, &s->flush_audit, crc);
    memset(&s->flush_audit, 0, sizeof(s->flush_audit));
    s->flush_audit.sf.fd = -1;
    s->flush_audit.pool_fd = -1;
    status_flush(s->status, rc, clock_mono_us() - s->flush_t0_us);
    if (rc == ERR_FULL) {
        /* LMDB is unchanged and the journal holds every event of the
         * frozen generation: keep it and try again when there is room
         * (space.h), instead of rebuilding it for nothing. */
        log_warnx("history commit failed: the LMDB map or its disk is "
                  "full; the commit waits for room");
        space_flush_failed(s);
        return;
    }
    if (rc == 0)
        rc = store_overlay_settle(s->ov);
    if (rc != 0) {
        log_warnx("history commit failed: %s", err_str(rc));
        s->needs_recovery = true;
        return;
    }
    s->stats.commits++;
    {
        size_t entries, pages;

        store_overlay_flushed(s->ov, &entries, &pages);
        s->commit_pages_last = pages;
        if (pages > s->commit_pages_max)
            s->commit_pages_max = pages;
        if (pages > 0 && entries >= SCORER_COMMIT_PPK_MIN) {
            size_t prev = scorer_commit_cap(s);
            uint64_t ppk = (uint64_t)pages * 1000 / entries;

            /* The next generation fills while this rate's commit runs:
             * where the rate climbs, expect it one step further. */
            s->commit_ppk = ppk;
            if (s->commit_ppk_seen > 0 && ppk > s->commit_ppk_seen)
                s->commit_ppk = ppk + (ppk - s->commit_ppk_seen) * 2 > ppk * 2 ?
                    ppk * 2 :
                    ppk + (ppk - s->commit_ppk_seen) * 2;
            s->commit_ppk_seen = ppk;
            /* Up by a quarter a commit at most: on a young database the
             * rate climbs from commit to commit. */
            s->commit_cap_grow = prev + prev / 4;
        }
    }
    /* LMDB commits lazily (STORE_LAZY_META): this commit's meta page is
     * not synced, a power cut may undo it; its data sync made the
     * PREVIOUS commit's meta durable. So the journal is released one
     * commit behind: up to what the previous commit covered. */
    durable = s->committed_seq;
    s->committed_seq = s->flush_seq;
    crashpoint("journal.trim");
    first = journal_first_seq(s->journal);
    rc = journal_release_upto(s->journal, durable);
    if (rc != 0)
        log_warnx("cannot release old journal segments: %s", err_str(rc));
    else if (journal_first_seq(s->journal) != first)
        crashpoint("journal.released");
}

size_t
scorer_commit_cap(const struct scorer *s)
{
    uint64_t cap = (uint64_t)s->cfg.overlay_max_entries, bycost;

    if (s->cfg.lmdb_commit_max_pages > 0) {
        uint64_t ppk =
            s->commit_ppk > 0 ? s->commit_ppk : SCORER_COMMIT_PPK_START;

        bycost = (uint64_t)s->cfg.lmdb_commit_max_pages * 1000 / ppk;
        if (s->commit_cap_grow > 0 && bycost > s->commit_cap_grow)
            bycost = s->commit_cap_grow;
        if (bycost < cap)
            cap = bycost;
    }
    return cap < SCORER_COMMIT_CAP_MIN ? SCORER_COMMIT_CAP_MIN : (size_t)cap;
}

/* If the flusher has finished, take its result (main thread, no wait). */
void
scorer_flush_poll(struct scorer *s)
{
    uint64_t n;
    bool done;
    int rc, arc, crc;

    if (read(s->flush_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("cannot read the flush bell");
    pthread_mutex_lock(&s->mu);
    done = s->flush_done;
    rc = s->flush_rc;
    arc = s->flush_audit_rc;
    crc = s->flush_ckpt_rc;
    s->flush_done = false;
    pthread_mutex_unlock(&s->mu);
    if (done)
        scorer_flush_finish(s, rc, arc, crc);
}

/* Wait for the flush in flight, if any, and take its result. */
void
scorer_flush_wait(struct scorer *s)
{
    int rc, arc, crc;

    if (!s->flushing)
        return;
    pthread_mutex_lock(&s->mu);
    while (!s->flush_done)
        pthread_cond_wait(&s->cv, &s->mu);
    s->flush_done = false;
    rc = s->flush_rc;
    arc = s->flush_audit_rc;
    crc = s->flush_ckpt_rc;
    pthread_mutex_unlock(&s->mu);
    scorer_flush_finish(s, rc, arc, crc);
}

/*
 * Store the audit log's anchor in `txn`: its durable size and root (each
 * signed by the commit that made it durable), the journal sequence they
 * cover, and `clean` (only at the very end of a clean stop).
 */
int
scorer_anchor_put(struct scorer *s, struct store_txn *txn, bool clean)
{
    struct audit_anchor a;

    memset(&a, 0, sizeof(a));
    a.size = audit_size(s->audit);
    audit_root(s->audit, a.root);
    a.seq = s->applied_seq;
    a.clean = clean;
    return subjidx_anchor_put(txn, s->dbi_subject, &a);
}

/* Hand the frozen generation to the flusher thread. */
void
scorer_flush_kick(struct scorer *s)
{
    s->flushing = true;
    s->flush_t0_us = clock_mono_us();
    pthread_mutex_lock(&s->mu);
    s->flush_request = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/*
 * Freeze the current generation with the journal position it covers and
 * hand it to the flusher. Only after a group's journal sync, so that the
 * generation holds durable events only. No-op while a flush is running.
 */
void
scorer_flush_start(struct scorer *s)
{
    int rc;

    if (s->flushing || s->gen_events == 0 || s->needs_recovery ||
        store_overlay_has_frozen(s->ov))
        return;
    /* The generation's new salt slots are in the vault file's page
     * cache already (vault_token() writes them in place); the flusher's
     * vault_sync_file() makes them durable. The anchor names the audit
     * size, and the commit lets the journal (the group's audit records'
     * durable copy) be trimmed: the records must be durable in the audit
     * segments first, which the flusher's audit_flush_run() makes them
     * before it commits (not here: an fdatasync on the event path). */
    crashpoint("audit.flush");
    rc = audit_flush_begin(s->audit, &s->flush_audit);
    if (rc == 0)
        rc = history_set_applied_seq(s->hist, s->otxn, s->applied_seq);
    if (rc == 0)
        rc = subjidx_indexed_put(s->otxn, s->dbi_subject, s->indexed);
    if (rc == 0)
        rc = scorer_anchor_put(s, s->otxn, false);
    if (rc == 0)
        rc = store_overlay_freeze(s->ov);
    if (rc != 0) {
        log_warnx("cannot freeze history for commit: %s", err_str(rc));
        audit_flush_drop(&s->flush_audit);
        s->needs_recovery = true;
        return;
    }
    s->flush_seq = s->applied_seq;
    s->gen_events = 0;
    s->gen_opened_ms = 0;
    record_checkpoint_ride(s);
    scorer_flush_kick(s);
}

/*
 * Freeze and commit everything now, waiting for it (start-up, stop): a
 * generation kept for want of room first. Returns 0, ERR_FULL (a commit
 * still waits for room: the journal holds its events) or ERR_IO.
 */
int
scorer_flush_sync(struct scorer *s)
{
    scorer_flush_wait(s);
    if (s->space.flush_retry && !s->needs_recovery) {
        s->space.flush_retry = false;
        scorer_flush_kick(s);
        scorer_flush_wait(s);
    }
    if (s->needs_recovery)
        return ERR_IO;
    if (s->space.flush_retry)
        return ERR_FULL;
    scorer_flush_start(s);
    scorer_flush_wait(s);
    if (s->needs_recovery)
        return ERR_IO;
    if (s->space.flush_retry)
        return ERR_FULL;
    /* Durable now, not only at the next commit (STORE_LAZY_META): the
     * callers (start, stop, erasure, list changes) rely on it. */
    if (store_sync(s->store) != 0) {
        log_warnx("cannot sync the history store");
        s->needs_recovery = true;
        return ERR_IO;
    }
    return 0;
}

int
scorer_commit(struct scorer *s)
{
    if (s->needs_recovery)
        return ERR_IO;
    if (s->gen_events == 0)
        s->gen_events = 1; /* deletions and index entries count too */
    if (s->gen_opened_ms == 0)
        s->gen_opened_ms = clock_mono_ms();
    return scorer_flush_sync(s);
}
