/*
 * scorer.c - vigil-scorer: main(), the group-commit loop and the flusher
 *
 * main() reads as the start-up checklist: harden the process, parse
 * arguments, load and check the configuration, as root make the keys and
 * data directories the service user's and drop to it, open the keys
 * (certificates, pseudonym key), open the store, history, journal and
 * audit log, bring history up to date from the journal and bind the data
 * to the pseudonym key, start the ZAP handler and bind the collector
 * (CURVE, collectors only) and query (CURVE) sockets, loop; SIGHUP
 * reloads the allow-list. The loop
 * drains up to batch_max events per group, journals and applies them to
 * the history overlay, makes them durable with one fdatasync, replies,
 * and every commit_interval_ms hands the overlay's generation to the
 * flusher thread, which commits it to LMDB. See scorer.h for the
 * invariants.
 *
 * Two threads: this loop (sockets, journal, history reads and writes in
 * the overlay) and the flusher (LMDB write transactions only).
 *
 * See also: scorer.8, scorer.conf.5, scorer.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/note.h"
#include "common/qproto.h"
#include "common/sig.h"
#include "common/subjidx.h"
#include "common/text.h"
#include "common/promsrv.h"
#include "common/quota.h"
#include "common/xmalloc.h"
#include "common/zauth.h"
#include "scorer/erase.h"
#include "scorer/jrec.h"
#include "scorer/lifecycle.h"
#include "scorer/qbatch.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/wclient.h"
#include "scorer/space.h"
#include "scorer/startup.h"
#include "scorer/status.h"

#define SCORER_WITNESS_FLUSH_MS  3000 /* at stop, for the final checkpoint */
#define SCORER_STATS_INTERVAL_MS 10000
#define SCORER_JOURNAL_ACTOR_MAX 255
/* Shortest time between two failed recoveries. */
#define SCORER_RECOVER_BACKOFF_MS 1000
/* Queries answered per drain of the query socket (one qbatch). */
#define SCORER_QUERY_DRAIN 128

static volatile sig_atomic_t scorer_quit;
static volatile sig_atomic_t scorer_reload;

static void
scorer_on_signal(int sig)
{
    if (sig == SIGHUP)
        scorer_reload = 1;
    else
        scorer_quit = 1;
}


/* ------------------------------------------------------ applying events */

/*
 * Encode the journal record of one pending event (jrec.h): its actor,
 * arrival time, the salts it made (read back from the vault) and its
 * bytes as the collector sent them.
 */
static int
scorer_record_encode(struct scorer *s, const struct scorer_jent *je)
{
    struct jrec_salt salts[VAULT_EVENT_SUBJECTS];
    unsigned i;
    int rc = 0;

    for (i = 0; rc == 0 && i < je->made.n; i++) {
        salts[i].p = je->made.p[i];
        rc =
            vault_salt(s->vault, &je->made.p[i], salts[i].salt, &salts[i].kind);
    }
    if (rc == 0)
        rc = jrec_encode(&s->rec, je->actor, je->arrival_ms, salts, je->made.n,
            je->raw, je->rawlen);
    sodium_memzero(salts, sizeof(salts));
    return rc;
}

/*
 * Answer a repeat of a stored event id: the stored reply when the event
 * is the same one (same digest), after an audit record of that read;
 * ERR_CONFLICT when the id was first used for a different event (an
 * idempotency key cannot be hijacked to read or suppress an order).
 * Returns 0 with `r` filled, or ERR_CONFLICT / ERR_AUDIT / ERR_INVAL.
 */
static int
scorer_repeat(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t digest[HISTORY_DIGEST_BYTES],
    const uint8_t first[HISTORY_DIGEST_BYTES], enum scorer_mode mode,
    struct reply *r)
{
    bool same = sodium_memcmp(digest, first, HISTORY_DIGEST_BYTES) == 0;
    struct event tev;
    uint32_t named;
    int rc;

    if (mode == SCORER_LIVE) {
        /* The record names the subjects that have a token; a repeat
         * makes no salt (nothing of it is stored). */
        rc = vault_tokenize(s->vault, ev, false, &tev, &named, NULL);
        if (rc == 0)
            rc =
                record_event(s, actor, same ? "event.resend" : "event.conflict",
                    same ? AUDIT_OUTCOME_ALLOWED : AUDIT_OUTCOME_DENIED, &tev,
                    named);
        memset(&tev, 0, sizeof(tev));
        if (rc != 0)
            return rc;
    }
    if (!same) {
        s->stats.conflicts++;
        reply_error(r, NULL, ERR_CONFLICT,
            "id: already used for a different event; not stored");
        return ERR_CONFLICT;
    }
    s->stats.duplicates++;
    return 0;
}

/*
 * The digest a repeated event id is compared by: of the event's bytes;
 * for a label (made by a query op at the scorer's clock) of the event
 * with its time zeroed, so that resending the same label request is a
 * repeat, not a conflict. Returns 0 or ERR_INVAL.
 */
static int
scorer_digest(const struct event *ev, const uint8_t *raw, size_t rawlen,
    uint8_t digest[HISTORY_DIGEST_BYTES])
{
    static struct event copy;
    struct buf b;
    int rc;

    if (ev->type != EVENT_LABEL) {
        crypto_generichash(digest, HISTORY_DIGEST_BYTES, raw, rawlen, NULL, 0);
        return 0;
    }
    copy = *ev;
    copy.ts = 0;
    buf_init(&b, EVENT_MAX_ENCODED);
    rc = event_encode(&b, &copy);
    if (rc == 0)
        crypto_generichash(
            digest, HISTORY_DIGEST_BYTES, b.data, b.len, NULL, 0);
    buf_release(&b);
    return rc == 0 ? 0 : ERR_INVAL;
}

/*
 * Apply one event whose internal encoding is raw[0..rawlen), taken at
 * `arrival_ms`: answer a repeat with its first reply (scorer_repeat),
 * otherwise swap its pseudonyms for tokens (vault_tokenize(), making
 * salts for new subjects), score it (orders), apply it to history and
 * store its reply with its digest, all in the overlay's current
 * generation. SCORER_LIVE: the event's audit record is buffered and the
 * event queued for the journal append that follows the group's audit
 * sync. SCORER_LOCAL: queued for the journal only (the caller wrote the
 * audit record of the operation). SCORER_REPLAY (`seq`): it is already
 * in the journal (its salts were restored from it).
 *
 * Returns 0 with `r` filled; ERR_CONFLICT with `r` the error reply (not
 * a failure of the group); or an ERR_* from the store or the audit log,
 * after which the overlay may hold part of the event (the caller then
 * recovers it from the journal).
 */
static int
scorer_apply(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t *raw, size_t rawlen, enum scorer_mode mode, uint64_t seq,
    uint64_t arrival_ms, struct reply *r)
{
    uint8_t digest[HISTORY_DIGEST_BYTES], first[HISTORY_DIGEST_BYTES];
    struct vault_made made;
    struct features f;
    struct event tev;
    uint32_t named;
    int rc;

    rc = scorer_digest(ev, raw, rawlen, digest);
    if (rc != 0)
        return rc;
    rc = history_reply_get(s->hist, s->otxn, actor, &ev->id, first, r);
    if (rc == 0)
        return scorer_repeat(s, actor, ev, digest, first, mode, r);
    if (rc != ERR_NOTFOUND)
        return rc;

    /* From here on the event's subjects are tokens (vault.h). */
    rc = vault_tokenize(s->vault, ev, true, &tev, &named, &made);
    if (rc != 0)
        return rc;
    memset(r, 0, sizeof(*r));
    if (tev.type == EVENT_ORDER_PLACED) {
        rc = history_features(s->hist, s->otxn, actor, &tev, &f);
        if (rc != 0)
            goto out;
        rc = modelsvc_score(s, actor, &tev, &f, mode != SCORER_REPLAY, r);
        if (rc != 0)
            goto out;
        s->stats.orders++;
    } else if (tev.type == EVENT_LABEL && mode != SCORER_REPLAY) {
        modelsvc_log_label(s, actor, &tev);
    }
    rc = history_apply(s->hist, s->otxn, actor, &tev, r);
    if (rc == 0)
        rc = history_reply_put(
            s->hist, s->otxn, actor, &ev->id, digest, arrival_ms, r);
    if (rc != 0)
        goto out;

    if (mode != SCORER_REPLAY) {
        struct scorer_jent *je;

        /* Write-ahead audit: the record goes first; the journal append
         * waits until the group's records are durable. */
        if (mode == SCORER_LIVE) {
            rc = record_event(
                s, actor, "event.store", AUDIT_OUTCOME_ALLOWED, &tev, named);
            if (rc != 0)
                goto out;
        }
        je = &s->jpend[s->njpend++];
        je->actor = actor;
        je->raw = raw;
        je->rawlen = rawlen;
        je->arrival_ms = arrival_ms;
        je->made = made;
    } else {
        s->applied_seq = seq;
    }
    if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms();
    s->stats.events++;
out:
    memset(&tev, 0, sizeof(tev));
    return rc;
}

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

/* ------------------------------------------------------------ flushing */

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
        int rc;

        while (!s->flush_request && !s->flusher_quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->flush_request)
            break;
        s->flush_request = false;
        pthread_mutex_unlock(&s->mu);
        /* Every salt the generation's tokens come from is durable
         * before the rows keyed by them are (vault.h, Durability). */
        rc = vault_sync_file(s->vault);
        if (rc == 0)
            rc = store_overlay_flush(s->ov);
        pthread_mutex_lock(&s->mu);
        s->flush_rc = rc;
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
scorer_flush_finish(struct scorer *s, int rc)
{
    s->flushing = false;
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
    s->committed_seq = s->flush_seq;
    crashpoint("journal.trim");
    rc = journal_release_upto(s->journal, s->flush_seq);
    if (rc != 0)
        log_warnx("cannot release old journal segments: %s", err_str(rc));
}

/* If the flusher has finished, take its result (main thread, no wait). */
static void
scorer_flush_poll(struct scorer *s)
{
    uint64_t n;
    bool done;
    int rc;

    if (read(s->flush_efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("cannot read the flush bell");
    pthread_mutex_lock(&s->mu);
    done = s->flush_done;
    rc = s->flush_rc;
    s->flush_done = false;
    pthread_mutex_unlock(&s->mu);
    if (done)
        scorer_flush_finish(s, rc);
}

/* Wait for the flush in flight, if any, and take its result. */
static void
scorer_flush_wait(struct scorer *s)
{
    int rc;

    if (!s->flushing)
        return;
    pthread_mutex_lock(&s->mu);
    while (!s->flush_done)
        pthread_cond_wait(&s->cv, &s->mu);
    s->flush_done = false;
    rc = s->flush_rc;
    pthread_mutex_unlock(&s->mu);
    scorer_flush_finish(s, rc);
}

/*
 * Store the audit log's anchor in `txn`: its durable size and root (each
 * signed by the commit that made it durable), the journal sequence they
 * cover, and `clean` (only at the very end of a clean stop).
 */
static int
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

/*
 * Freeze the current generation with the journal position it covers and
 * hand it to the flusher. Only after a group's journal sync, so that the
 * generation holds durable events only. No-op while a flush is running.
 */
/* Hand the frozen generation to the flusher thread. */
static void
scorer_flush_kick(struct scorer *s)
{
    s->flushing = true;
    s->flush_t0_us = clock_mono_us();
    pthread_mutex_lock(&s->mu);
    s->flush_request = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void
scorer_flush_start(struct scorer *s)
{
    int rc;

    if (s->flushing || s->gen_events == 0 || s->needs_recovery ||
        store_overlay_has_frozen(s->ov))
        return;
    /* The slots of the generation's new salts, for the flusher's
     * vault_sync_file(). */
    rc = vault_write(s->vault);
    /* The anchor names the audit size, and the commit lets the journal
     * (the group's audit records' durable copy) be trimmed: the records
     * must be durable in the audit segments first. */
    if (rc == 0) {
        crashpoint("audit.flush");
        rc = audit_flush(s->audit);
    }
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
        s->needs_recovery = true;
        return;
    }
    s->flush_seq = s->applied_seq;
    s->gen_events = 0;
    s->gen_opened_ms = 0;
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
    return s->space.flush_retry ? ERR_FULL : 0;
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
int
scorer_recover(struct scorer *s)
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

/*
 * Recover when needed, at most once per SCORER_RECOVER_BACKOFF_MS: a
 * recovery that cannot succeed yet (no room) must not be paid for by
 * every request. Returns 0 when nothing needs recovering.
 */
static int
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

/* ------------------------------------------------------- the group loop */

/* Record the peers a collector's ZAP handler refused. */
static void
scorer_take_refusals(struct scorer *s, const struct scorer_msg *m)
{
    static struct zauth_refusal r[IPCPROTO_MAX_REFUSALS];
    size_t n;

    if (ipcproto_refusals_decode(&s->env_dec, zsock_msg_data(&m->zm, 1),
            zsock_msg_size(&m->zm, 1), r, ARRAY_LEN(r), &n) != 0) {
        s->stats.rejected++;
        log_warnx("dropping a collector message: refusals do not decode");
        return;
    }
    record_refusals(s, "collector", r, n);
}

/* True when `actor` stored event `ev`'s id before (a resend). */
static bool
scorer_known(struct scorer *s, const char *actor, const struct event *ev)
{
    uint8_t first[HISTORY_DIGEST_BYTES];
    struct reply r;

    return history_reply_get(s->hist, s->otxn, actor, &ev->id, first, &r) == 0;
}

/*
 * Take one collector message into the group: decode its envelope and, unless
 * `refuse` is set, apply each event, writing one reply per event. With
 * `refuse` (an earlier failure in this group) every event gets a `refuse`
 * error reply instead. Returns 0, or an ERR_* from the store/journal (the
 * group must then be failed).
 */
static int
scorer_take_msg(
    struct scorer *s, struct scorer_msg *m, uint32_t *nreplies, int refuse)
{
    static struct ipcproto_events v;
    const char *why = NULL, *role;
    uint64_t arrival = clock_wall_ms();
    struct event ev;
    uint32_t i;
    int rc;

    m->valid = false;
    m->n = 0;
    if (m->zm.nparts != 2 || m->zm.overflow) {
        why = "expected [identity, body]";
        goto drop;
    }
    /* Defence in depth: the socket admits collectors' keys only. */
    role = zsock_msg_property(&m->zm, "X-Role");
    if (role == NULL || strcmp(role, "collector") != 0) {
        why = "the peer is not an authenticated collector";
        goto drop;
    }
    if (ipcproto_msg_type(zsock_msg_data(&m->zm, 1),
            zsock_msg_size(&m->zm, 1)) == IPCPROTO_REFUSALS) {
        scorer_take_refusals(s, m);
        return refuse;
    }
    rc = ipcproto_events_decode(
        &s->env_dec, &v, zsock_msg_data(&m->zm, 1), zsock_msg_size(&m->zm, 1));
    if (rc != 0) {
        why = "envelope does not decode";
        goto drop;
    }
    if (v.n > s->replies_cap - *nreplies) {
        why = "too many events";
        goto drop;
    }
    m->valid = true;
    m->tag = v.tag;
    text_copy(m->actor, sizeof(m->actor), v.actor);
    m->first = *nreplies;
    m->n = v.n;
    *nreplies += v.n;
    for (i = 0; i < v.n; i++) {
        struct reply *r = &s->replies[m->first + i];

        rc = event_decode(&s->ev_dec, &ev, v.raw[i], v.rawlen[i]);
        if (rc != 0) {
            reply_error(r, NULL, rc, "event does not decode");
            s->stats.rejected++;
            continue;
        }
        if (ev.type == EVENT_LABEL) {
            /* Labels are the fraud team's (query op "label"); the
             * collector refuses them too. */
            reply_error(r, NULL, ERR_DENIED,
                "type: label is not accepted from storefronts");
            s->stats.rejected++;
            continue;
        }
        if (refuse != 0) {
            reply_error(r, NULL, refuse,
                "not acknowledged: could not be made durable, resend later");
            if (refuse == ERR_FULL)
                r->retry_after_ms = SPACE_RETRY_MS;
            s->stats.rejected++;
            continue;
        }
        if (space_full(&s->space) && !scorer_known(s, m->actor, &ev)) {
            /* Full: refused at once, nothing written, nothing to undo.
             * A resend of a stored event is still answered. */
            reply_error(r, NULL, ERR_FULL,
                "not stored: the scorer is out of disk or map room; "
                "resend later");
            r->retry_after_ms = SPACE_RETRY_MS;
            s->space.refused++;
            s->stats.rejected++;
            continue;
        }
        rc = scorer_apply(s, m->actor, &ev, v.raw[i], v.rawlen[i], SCORER_LIVE,
            0, arrival, r);
        if (rc == ERR_CONFLICT) {
            s->stats.rejected++;
            continue;
        }
        if (rc != 0) {
            /* The rest of this message and group is refused by the
             * caller; the events before it are failed with the group. */
            reply_error(r, NULL, rc,
                rc == ERR_AUDIT ?
                    "not stored: the audit record could not be written; "
                    "resend later" :
                    "not stored: history error");
            refuse = rc;
        }
    }
    return refuse;

drop:
    s->stats.rejected++;
    log_warnx("dropping a collector message: %s", why);
    return refuse;
}

/* Send the replies of one message: [identity, IPCPROTO_REPLIES frame]. */
static void
scorer_send_replies(struct scorer *s, struct scorer_msg *m)
{
    struct iovec iov[2];
    uint32_t i;
    int rc;

    buf_reset(&s->out);
    rc = ipcproto_replies_begin(&s->out, m->tag, m->n);
    for (i = 0; rc == 0 && i < m->n; i++)
        rc = reply_encode(&s->out, &s->replies[m->first + i]);
    if (rc != 0) {
        log_warnx("cannot encode replies: %s", err_str(rc));
        return;
    }
    status_replies(s->status, m->actor, &s->replies[m->first], m->n);
    iov[0].iov_base = (void *)(uintptr_t)zsock_msg_data(&m->zm, 0);
    iov[0].iov_len = zsock_msg_size(&m->zm, 0);
    iov[1].iov_base = s->out.data;
    iov[1].iov_len = s->out.len;
    rc = zsock_send_parts(s->events_sock, iov, 2, ZSOCK_DONTWAIT);
    if (rc != 0)
        log_warnx("cannot send replies to the collector: %s", err_str(rc));
}

/*
 * Refuse every event of the group that was not acknowledged: the replies
 * become `code` errors; nothing of them is durable.
 */
static void
scorer_fail_group(struct scorer *s, uint32_t nmsgs, int code)
{
    uint32_t i, j;

    for (i = 0; i < nmsgs; i++) {
        struct scorer_msg *m = &s->msgs[i];

        for (j = 0; m->valid && j < m->n; j++) {
            struct reply *r = &s->replies[m->first + j];
            char id[EVENT_ID_MAX + 1];

            memcpy(id, r->id, sizeof(id));
            if (r->code != 0)
                continue; /* already an error of its own */
            reply_error(r, id, code,
                code == ERR_AUDIT ?
                    "not stored: the audit record could not be written; "
                    "resend later" :
                    "not acknowledged: could not be made durable, "
                    "resend later");
            if (code == ERR_FULL)
                r->retry_after_ms = SPACE_RETRY_MS;
            s->stats.rejected++;
        }
    }
}

/*
 * Journal the audit records appended since the last write (one or more
 * JREC_AUDIT records, each carrying the size already synced in the
 * audit segments) and write them to the segments, unsynced: the
 * journal sync that follows makes them durable with the group's events.
 * Sets `*seq` to the last seq appended. Returns 0 or ERR_AUDIT (nothing
 * of the group is left in the journal).
 */
static int
scorer_group_audit(struct scorer *s, uint64_t *seq)
{
    const uint8_t *frames;
    size_t len, off = 0, n;
    int rc = 0;

    frames = audit_pending_frames(s->audit, &len);
    while (rc == 0 && off < len) {
        n = jrec_audit_chunk(frames + off, len - off);
        rc =
            jrec_audit_encode(&s->rec, audit_synced(s->audit), frames + off, n);
        if (rc == 0)
            rc = journal_append(s->journal, s->rec.data, s->rec.len, seq);
        off += n;
    }
    if (rc == 0)
        rc = audit_write(s->audit);
    else
        audit_discard(s->audit);
    if (rc != 0) {
        journal_discard(s->journal);
        return ERR_AUDIT;
    }
    return 0;
}

/*
 * Make the group durable with ONE fdatasync: its audit records, then its
 * events, in the journal (the records also written to the audit
 * segments, unsynced: scorer_group_audit). Returns 0, ERR_AUDIT (nothing
 * of the group reached the journal), ERR_FULL or ERR_IO (the journal
 * dropped the group's records; its audit records are synced in the
 * segments instead, as records of refused accesses).
 */
static int
scorer_group_commit(struct scorer *s)
{
    uint32_t i;
    uint64_t seq = s->applied_seq;
    int rc;

    rc = scorer_group_audit(s, &seq);
    if (rc != 0) {
        s->njpend = 0;
        return ERR_AUDIT;
    }
    if (s->njpend > 0)
        crashpoint("group.audited");
    for (i = 0; i < s->njpend; i++) {
        const struct scorer_jent *je = &s->jpend[i];

        rc = scorer_record_encode(s, je);
        if (rc == 0)
            rc = journal_append(s->journal, s->rec.data, s->rec.len, &seq);
        if (rc != 0)
            break;
    }
    s->njpend = 0;
    if (rc != 0)
        journal_discard(s->journal);
    else
        rc = journal_sync(s->journal);
    if (rc != 0) {
        /* The records are in the segments, unsynced: sync them there (a
         * failure fails the audit log until it is reopened). */
        if (audit_commit(s->audit, NULL, NULL) != 0)
            log_warnx("cannot sync the audit records of a refused group");
        return rc == ERR_FULL ? ERR_FULL : ERR_IO;
    }
    if (seq != s->applied_seq)
        crashpoint("group.journaled");
    s->applied_seq = seq;
    /* Every record the group acknowledges is durable (journal) and, with
     * a head due, covered by a signature. */
    rc = audit_commit_journaled(s->audit, NULL, NULL);
    if (rc != 0)
        log_warnx("cannot sign the audit log's head: %s", err_str(rc));
    /* The group's new salt slots, in one pwrite (the journal holds
     * them already; a failure is retried before the next LMDB commit,
     * which needs them). */
    if (vault_write(s->vault) != 0)
        log_warnx("cannot write new subjects' vault slots; retried at the "
                  "next commit");
    return 0;
}

/* Drain, apply, sync and answer one group of collector messages. */
static void
scorer_group(struct scorer *s)
{
    uint32_t nmsgs = 0, nreplies = 0, i;
    uint64_t t0 = clock_mono_us();
    int rc = 0, src;

    if (s->needs_recovery && !space_full(&s->space))
        rc = scorer_maybe_recover(s);
    /* A recovery that failed for want of room has just entered the full
     * state (space_write_failed): the events are refused as "full". */
    if (rc != 0 && space_full(&s->space))
        rc = ERR_FULL;
    while (nmsgs < SCORER_GROUP_MSGS &&
        nreplies + SFPROTO_MAX_BATCH <= s->replies_cap) {
        struct scorer_msg *m = &s->msgs[nmsgs];
        int rrc = zsock_recv_msg(s->events_sock, &m->zm, ZSOCK_DONTWAIT);

        if (rrc != 0)
            break;
        nmsgs++;
        rc = scorer_take_msg(s, m, &nreplies,
            rc != 0 ? rc :
                      (s->needs_recovery ?
                              (space_full(&s->space) ? ERR_FULL : ERR_IO) :
                              0));
        if (nreplies >= (uint32_t)s->cfg.batch_max)
            break;
    }
    if (nmsgs == 0)
        return;

    /* Events applied before any failure are valid: make their audit
     * records durable, then the events themselves (one fdatasync each for
     * the whole group). If either fails, nothing of the group is
     * acknowledged. */
    src = scorer_group_commit(s);
    s->stats.groups++;
    if (src != 0) {
        /* Check the room first: a write that failed on a disk with none
         * left is answered "full" (retry later), not "io". The audit
         * path keeps its own code. */
        space_write_failed(s, src, src == ERR_AUDIT ? "audit" : "journal");
        if (src != ERR_AUDIT && space_full(&s->space))
            src = ERR_FULL;
        log_warnx("group of %u events not durable: %s", nreplies, err_str(src));
        scorer_fail_group(s, nmsgs, src);
        s->needs_recovery = true;
    }
    if (rc != 0 && rc != ERR_FULL)
        s->needs_recovery = true;
    /* Rebuild the overlay from the durable journal: it may hold events
     * that are not durable, or be unusable after an error. */
    if (s->needs_recovery && src != 0)
        s->recover_next_ms = 0; /* once at once, then with backoff */
    (void)scorer_maybe_recover(s);
    for (i = 0; i < nmsgs; i++) {
        if (s->msgs[i].valid)
            scorer_send_replies(s, &s->msgs[i]);
        zsock_msg_close(&s->msgs[i].zm);
    }
    status_group(s->status, nreplies, clock_mono_us() - t0);
}

int
scorer_apply_local(struct scorer *s, const char *storefront,
    const struct event *ev, struct buf *raw, struct reply *r)
{
    uint32_t before = s->njpend;
    int rc;

    if (s->needs_recovery)
        return ERR_IO; /* the batch is refused whole: see scorer_commit_local */
    if (space_full(&s->space))
        return ERR_FULL;
    buf_reset(raw);
    rc = event_encode(raw, ev);
    if (rc != 0)
        return ERR_INVAL;
    rc = scorer_apply(s, storefront, ev, raw->data, raw->len, SCORER_LOCAL, 0,
        clock_wall_ms(), r);
    if (rc == 0 && s->njpend == before)
        return ERR_EXISTS; /* a resend of the same operation */
    if (rc != 0 && rc != ERR_CONFLICT)
        s->needs_recovery = true; /* the overlay may hold part of it */
    return rc;
}

int
scorer_commit_local(struct scorer *s)
{
    int rc = s->needs_recovery ? ERR_IO : scorer_group_commit(s);

    if (rc != 0) {
        s->njpend = 0;
        s->needs_recovery = true;
        s->recover_next_ms = 0;
        space_write_failed(s, rc, "journal");
        (void)scorer_maybe_recover(s);
    }
    return rc;
}

/*
 * Between polls: reload the allow-list on SIGHUP (recorded), and record
 * the peers the ZAP handler refused.
 */
static void
scorer_auth_tick(struct scorer *s)
{
    struct zauth_refusal r[64];
    size_t n;

    if (scorer_reload) {
        char ref[64];
        size_t nclients = 0;
        int rc;

        scorer_reload = 0;
        lifecycle_reload(s);
        rc = zauth_reload(s->zauth, &nclients);
        if (rc != 0) {
            log_warnx(
                "SIGHUP: the allow-list was not reloaded: %s", err_str(rc));
            snprintf(ref, sizeof(ref), "failed: %s", err_str(rc));
        } else {
            log_info("SIGHUP: %zu clients in the allow-list", nclients);
            snprintf(ref, sizeof(ref), "clients %zu", nclients);
        }
        if (record_system(s, "auth.reload", ref) != 0)
            log_warnx("the allow-list reload is not in the audit log");
    }
    n = zauth_take_refusals(s->zauth, r, ARRAY_LEN(r));
    if (n > 0)
        record_refusals(s, "scorer", r, n);
}

#define SCORER_STATS_FMT                                                       \
    "events %" PRIu64 " orders %" PRIu64 " duplicates %" PRIu64                \
    " rejected %" PRIu64 " groups %" PRIu64 " commits %" PRIu64                \
    " seq %" PRIu64
#define SCORER_STATS_ARGS(s)                                                   \
    (s)->stats.events, (s)->stats.orders, (s)->stats.duplicates,               \
        (s)->stats.rejected, (s)->stats.groups, (s)->stats.commits,            \
        (s)->applied_seq

static void
scorer_log_stats(const struct scorer *s, bool final)
{
    if (final)
        log_info(SCORER_STATS_FMT, SCORER_STATS_ARGS(s));
    else
        log_debug(SCORER_STATS_FMT, SCORER_STATS_ARGS(s));
}

/*
 * Answer the queries waiting on the query socket (a bounded batch); the
 * label operations among them are made durable together at the end
 * (query_flush: one audit sync and one journal sync), then the batch's
 * denials (qbatch.h). At most one of the two holds unsynced records at
 * any time (query.c).
 */
static void
scorer_queries(struct scorer *s)
{
    struct zsock_msg m;
    int i;

    if (s->needs_recovery && scorer_maybe_recover(s) != 0)
        log_debug("recovery pending; queries are answered from the "
                  "overlay");
    for (i = 0; i < SCORER_QUERY_DRAIN; i++) {
        if (zsock_recv_msg(s->query_sock, &m, ZSOCK_DONTWAIT) != 0)
            break;
        query_handle(s, &m);
        zsock_msg_close(&m);
    }
    query_flush(s);
    qbatch_flush(s);
}

/* Between polls: headroom, a commit kept for want of room, the status
 * window. */
static void
scorer_ops_tick(struct scorer *s)
{
    space_tick(s, false);
    if (space_flush_due(s))
        scorer_flush_kick(s);
    status_tick(s);
}

static void
scorer_loop(struct scorer *s)
{
    uint64_t next_stats = clock_mono_ms() + SCORER_STATS_INTERVAL_MS;

    while (!scorer_quit) {
        struct zsock_pollitem items[4] = {
            { s->events_sock, 0, ZSOCK_POLLIN, 0 },
            { NULL, s->flush_efd, ZSOCK_POLLIN, 0 },
            { s->query_sock, 0, ZSOCK_POLLIN, 0 },
            { NULL, s->metrics ? promsrv_fd(s->metrics) : -1, ZSOCK_POLLIN, 0 },
        };
        uint64_t now = clock_mono_ms();
        long timeout = SPACE_CHECK_MS;
        int rc, nready = 0;

        if (s->gen_events > 0 && !s->flushing) {
            uint64_t due =
                s->gen_opened_ms + (uint64_t)s->cfg.commit_interval_ms;

            timeout = due > now ? (long)(due - now) : 0;
        }
        if (audit_size(s->audit) > audit_checkpoint_size(s->audit)) {
            uint64_t due = s->ckpt_ms + (uint64_t)s->cfg.checkpoint_interval_ms;

            if (due <= now)
                timeout = 0;
            else if ((long)(due - now) < timeout)
                timeout = (long)(due - now);
        }
        {
            uint64_t due = audit_head_due(s->audit);

            if (due <= now)
                timeout = 0;
            else if (due - now < (uint64_t)timeout)
                timeout = (long)(due - now);
        }
        {
            uint64_t due = retention_tick(s);

            if ((long)due < timeout)
                timeout = (long)due;
        }
        rc = zsock_poll(items, s->metrics ? 4 : 3, timeout, &nready);
        if (rc == ERR_SHUTDOWN)
            break;
        if (items[1].revents & ZSOCK_POLLIN)
            scorer_flush_poll(s);
        scorer_ops_tick(s);
        if (items[0].revents & ZSOCK_POLLIN)
            scorer_group(s);
        if (items[2].revents & ZSOCK_POLLIN)
            scorer_queries(s);
        if (s->metrics != NULL)
            promsrv_run(s->metrics);
        scorer_auth_tick(s);
        record_checkpoint(s, false);
        record_head(s);

        /* Back-pressure: a generation may not outgrow one LMDB write
         * transaction (or memory) while the previous one is being written. */
        if (s->flushing &&
            store_overlay_entries(s->ov) >= SCORER_GEN_HARD_ENTRIES)
            scorer_flush_wait(s);
        now = clock_mono_ms();
        if (s->gen_events > 0 &&
            (now >= s->gen_opened_ms + (uint64_t)s->cfg.commit_interval_ms ||
                store_overlay_entries(s->ov) >= SCORER_GEN_MAX_ENTRIES))
            scorer_flush_start(s);
        if (now >= next_stats) {
            scorer_log_stats(s, false);
            next_stats = now + SCORER_STATS_INTERVAL_MS;
        }
    }
}

/*
 * After SIGTERM: answer what is already queued on both sockets (events
 * and queries that arrived before the signal), for at most half of
 * shutdown_timeout_ms, so that no client waits for a reply that will
 * never come. The commit and the checkpoint follow in scorer_shutdown.
 */
static void
scorer_drain(struct scorer *s)
{
    uint64_t end = clock_mono_ms() + (uint64_t)s->cfg.shutdown_timeout_ms / 2;
    unsigned rounds = 0;

    log_info("stopping: answering what is queued, then committing");
    while (clock_mono_ms() < end) {
        struct zsock_pollitem items[2] = {
            { s->events_sock, 0, ZSOCK_POLLIN, 0 },
            { s->query_sock, 0, ZSOCK_POLLIN, 0 },
        };
        int nready = 0;

        if (zsock_poll(items, 2, 0, &nready) != 0 || nready == 0)
            break;
        scorer_flush_poll(s);
        if (items[0].revents & ZSOCK_POLLIN)
            scorer_group(s);
        if (items[1].revents & ZSOCK_POLLIN)
            scorer_queries(s);
        rounds++;
    }
    log_debug("drained in %u rounds", rounds);
}

/*
 * At the very end of a clean stop (everything flushed, the last
 * checkpoint signed, nothing more to append): store the anchor marked
 * clean, so that the next start refuses a log that grew or shrank while
 * the scorer was stopped.
 */
static void
scorer_close_audit(struct scorer *s)
{
    struct store_txn *txn;
    int rc;

    rc = store_txn_begin(s->store, true, &txn);
    if (rc == 0) {
        rc = scorer_anchor_put(s, txn, true);
        if (rc == 0)
            rc = store_txn_commit(txn);
        else
            store_txn_abort(txn);
    }
    if (rc != 0)
        log_warnx("cannot mark the audit log's anchor clean: %s (the next "
                  "start checks it as after a crash)",
            err_str(rc));
}

static void
scorer_shutdown(struct scorer *s)
{
    int rc;

    if (scorer_quit)
        scorer_drain(s);
    if (record_system(s, "service.stop", "") != 0)
        log_warnx("the stop is not in the audit log");
    rc = s->needs_recovery ? ERR_IO : scorer_flush_sync(s);
    if (rc != 0)
        log_warnx("final commit failed (the journal still holds every "
                  "acknowledged event): %s",
            err_str(rc));
    record_checkpoint(s, true);
    scorer_log_stats(s, true);
    /* A few seconds for the witnesses to cosign the final checkpoint. */
    wclient_stop(s->wclient, s->audit, SCORER_WITNESS_FLUSH_MS);
    s->wclient = NULL;
    promsrv_stop(s->metrics);
    s->metrics = NULL;
    pthread_mutex_lock(&s->mu);
    s->flusher_quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->flusher, NULL);
    if (rc == 0 && !s->needs_recovery &&
        audit_size(s->audit) == audit_checkpoint_size(s->audit))
        scorer_close_audit(s);
    zsock_close(s->events_sock);
    zsock_close(s->query_sock);
    zauth_stop(s->zauth);
    zsock_ctx_term(s->zctx);
    audit_log_close(s->audit);
    note_signer_wipe(&s->signer);
    s->pkey = NULL;
    keys_close(&s->keys);
    journal_close(s->journal);
    retention_release(&s->retention);
    vault_close(s->vault);
    store_overlay_close(s->ov);
    history_close(s->hist);
    store_close(s->store);
    close(s->flush_efd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    buf_release(&s->out);
    wire_dec_release(&s->env_dec);
    wire_dec_release(&s->ev_dec);
    wire_dec_release(&s->q_dec);
    buf_release(&s->rec);
    for (unsigned i = 0; s->qpend != NULL && i < SCORER_QUERY_BATCH; i++) {
        buf_wipe_release(&s->qpend[i].out);
        buf_release(&s->qpend[i].raw);
    }
    free(s->qpend);
    free(s->msgs);
    free(s->jpend);
    free(s->replies);
    qbatch_free(s->qbatch);
    quota_table_free(s->qclients);
    status_free(s->status);
    modelsvc_stop(s);
    lifecycle_unlock(s);
    cfg_release(&s->cfg);
}

int
main(int argc, char **argv)
{
    static struct scorer s;

    if (harden_process() != 0)
        return 1;
    s.lock_fd = -1;
    s.status = status_new();
    startup_config(&s, argc, argv);
    crashpoint_init(); /* before the flusher thread */
    /* The journal replay decodes events: the decoders come first. */
    wire_dec_init(&s.env_dec, 64 * 1024);
    wire_dec_init(&s.ev_dec, 8 * 1024);
    wire_dec_init(&s.q_dec, 8 * 1024);
    startup_become_user(&s);
    lifecycle_lock(&s);
    startup_keys(&s);
    startup_storage(&s);
    startup_vault(&s);
    startup_catch_up(&s);
    retention_init(&s.retention, &s.cfg);
    startup_alloc(&s);
    startup_sockets(&s);
    startup_metrics(&s);
    sig_install(scorer_on_signal, true);
    space_tick(&s, true);
    log_info("vigil-scorer %s ready (review >= %u, block >= %u)", VIGIL_VERSION,
        s.params.review_threshold, s.params.block_threshold);
    scorer_loop(&s);
    if (scorer_quit)
        lifecycle_watchdog(&s);
    scorer_shutdown(&s);
    log_info("stopped");
    return 0;
}
