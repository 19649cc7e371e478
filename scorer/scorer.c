/*
 * scorer.c - vigil-scorer: main(), start-up and the group-commit loop
 *
 * main() reads as the start-up checklist: parse arguments, load and check
 * the configuration, open the store, history and journal, bring history
 * up to date from the journal, bind the collector socket, loop. The loop
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/note.h"
#include "common/subjidx.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "scorer/scorer.h"

#define SCORER_STATS_INTERVAL_MS 10000
#define SCORER_JOURNAL_ACTOR_MAX 255

static volatile sig_atomic_t scorer_quit;

static void
scorer_on_signal(int sig)
{
    (void)sig;
    scorer_quit = 1;
}

/* ----------------------------------------------------------- the audit */

#define SCORER_ACTOR "vigil-scorer"

/* Index the subjects of record `index` (through the overlay). */
static int
scorer_index_record(
    struct scorer *s, const struct audit_record *r, uint64_t index)
{
    unsigned i;
    int rc;

    for (i = 0; i < r->nsubj; i++) {
        rc = subjidx_put(s->otxn, s->dbi_subject, r->subj[i], index);
        if (rc != 0)
            return rc;
    }
    s->indexed = index + 1;
    return 0;
}

int
scorer_audit_now(struct scorer *s, struct audit_record *r)
{
    uint64_t index;
    int rc;

    r->ts_ms = clock_wall_ms();
    rc = audit_append(s->audit, r, &index);
    if (rc == 0)
        rc = audit_sync(s->audit);
    if (rc != 0) {
        log_warnx("audit record for '%s' not written: %s", r->op, err_str(rc));
        return ERR_AUDIT;
    }
    if (scorer_index_record(s, r, index) != 0)
        s->needs_recovery = true; /* the index is rebuilt from the log */
    else if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms(); /* the index entries need a flush */
    return 0;
}

/* Add subject `p` to `r` unless it is full or already there. */
static void
scorer_add_subject(struct audit_record *r, const uint8_t *p)
{
    unsigned i;

    if (r->nsubj >= AUDIT_MAX_SUBJECTS)
        return;
    for (i = 0; i < r->nsubj; i++)
        if (memcmp(r->subj[i], p, AUDIT_SUBJECT_BYTES) == 0)
            return;
    memcpy(r->subj[r->nsubj++], p, AUDIT_SUBJECT_BYTES);
}

/*
 * The audit record of operation `op` on event `ev` for `actor` (storing
 * it, answering a resend from the stored reply, refusing a conflicting
 * resend): the data categories it carries, the pseudonyms of every data
 * subject it names, and as `ref` the hex of the event id's pseudonym
 * (never the id itself: a storefront may put anything in an id).
 */
static void
scorer_event_record(const char *actor, const char *op,
    enum audit_outcome outcome, const struct event *ev, struct audit_record *r)
{
    static const struct {
        uint32_t has;
        uint32_t cat;
        size_t off; /* of the struct pseudo in struct event, or 0 */
    } map[] = {
        { EVENT_HAS_DEVICE, AUDIT_CAT_DEVICE, offsetof(struct event, device) },
        { EVENT_HAS_IP, AUDIT_CAT_IP, offsetof(struct event, ip) },
        { EVENT_HAS_EMAIL, AUDIT_CAT_CONTACT, offsetof(struct event, email) },
        { EVENT_HAS_PHONE, AUDIT_CAT_CONTACT, offsetof(struct event, phone) },
        { EVENT_HAS_NAME, AUDIT_CAT_CONTACT, offsetof(struct event, name) },
        { EVENT_HAS_CARD, AUDIT_CAT_PAYMENT, offsetof(struct event, card) },
        { EVENT_HAS_CARD_BIN, AUDIT_CAT_PAYMENT, 0 },
        { EVENT_HAS_BILLING, AUDIT_CAT_ADDRESS,
            offsetof(struct event, billing) },
        { EVENT_HAS_SHIPPING, AUDIT_CAT_ADDRESS,
            offsetof(struct event, shipping) },
        { EVENT_HAS_VALUE, AUDIT_CAT_CONTACT, offsetof(struct event, value) },
        { EVENT_HAS_ORDER, AUDIT_CAT_ORDER, offsetof(struct event, order) },
        { EVENT_HAS_ACCOUNT, AUDIT_CAT_ACCOUNT,
            offsetof(struct event, account) },
    };
    size_t i;

    memset(r, 0, sizeof(*r));
    r->ts_ms = clock_wall_ms();
    text_copy(r->actor, sizeof(r->actor), actor);
    r->role = AUDIT_ROLE_STOREFRONT;
    text_copy(r->op, sizeof(r->op), op);
    text_copy(r->purpose, sizeof(r->purpose), "fraud-prevention");
    r->outcome = outcome;
    pseudo_hex(&ev->id, r->ref);
    for (i = 0; i < ARRAY_LEN(map); i++) {
        if (!(ev->has & map[i].has))
            continue;
        r->cats |= map[i].cat;
        if (map[i].off != 0)
            scorer_add_subject(r, (const uint8_t *)ev + map[i].off);
    }
    if (ev->type == EVENT_ORDER_PLACED)
        r->cats |= AUDIT_CAT_ORDER | AUDIT_CAT_SCORE;
    if (ev->type == EVENT_PAYMENT_RESULT)
        r->cats |= AUDIT_CAT_PAYMENT | AUDIT_CAT_ORDER;
}

/*
 * Sign a checkpoint when enough records or time have gone by since the
 * last one (or always, with `force`). A failure is logged: the records
 * stay durable and the next checkpoint covers them.
 */
static void
scorer_checkpoint(struct scorer *s, bool force)
{
    uint64_t size = audit_size(s->audit), now = clock_mono_ms();
    uint64_t last = audit_checkpoint_size(s->audit);
    int rc;

    if (size == last)
        return;
    if (!force && size - last < (uint64_t)s->cfg.checkpoint_records &&
        now < s->ckpt_ms + (uint64_t)s->cfg.checkpoint_interval_ms)
        return;
    rc = audit_checkpoint(s->audit, clock_wall_ms());
    if (rc != 0)
        log_warnx("cannot write an audit checkpoint: %s", err_str(rc));
    s->ckpt_ms = now;
}

/* Index the records past `indexed` again (audit_replay callback). */
static int
scorer_reindex_cb(void *arg, const struct audit_entry *e)
{
    struct scorer *s = arg;

    if (e->rec->index < s->indexed)
        return 0;
    return scorer_index_record(s, e->rec, e->rec->index);
}

/*
 * Bring the subject index up to the audit log: after a crash the log may
 * hold records whose index entries were in an overlay generation that
 * never reached LMDB. One verified pass over the log.
 */
static int
scorer_reindex(struct scorer *s)
{
    struct audit_verify_result res;
    char dir[4096];
    int rc;

    rc = subjidx_indexed_get(s->otxn, s->dbi_subject, &s->indexed);
    if (rc != 0)
        return rc;
    if (s->indexed >= audit_size(s->audit))
        return 0;
    log_info("indexing audit records %" PRIu64 "..%" PRIu64 " by subject",
        s->indexed, audit_size(s->audit) - 1);
    rc = cfg_path(&s->cfg, "audit", dir, sizeof(dir));
    if (rc != 0)
        return rc;
    rc = audit_replay(
        dir, audit_verifier_key(s->audit), NULL, scorer_reindex_cb, s, &res);
    if (rc != 0)
        log_warnx(
            "cannot index the audit log: %s (%s)", err_str(rc), res.reason);
    return rc;
}

/* ------------------------------------------------------ applying events */

/*
 * Encode the journal record of one event: u8 actor length, the actor,
 * then the internal event bytes exactly as the collector sent them.
 */
static int
scorer_record_encode(
    struct scorer *s, const char *actor, const uint8_t *raw, size_t rawlen)
{
    size_t alen = strlen(actor);
    uint8_t alen8;
    int rc;

    if (alen > SCORER_JOURNAL_ACTOR_MAX)
        return ERR_INVAL;
    alen8 = (uint8_t)alen;
    buf_reset(&s->rec);
    rc = buf_append(&s->rec, &alen8, 1);
    if (rc == 0)
        rc = buf_append(&s->rec, actor, alen);
    if (rc == 0)
        rc = buf_append(&s->rec, raw, rawlen);
    return rc;
}

/*
 * Buffer the audit record of `op` on `ev` in the group (made durable by
 * the group commit, before any reply leaves) and index it.
 * Returns 0, ERR_INVAL or ERR_AUDIT.
 */
static int
scorer_audit_event(struct scorer *s, const char *actor, const char *op,
    enum audit_outcome outcome, const struct event *ev)
{
    struct audit_record ar;
    uint64_t index;
    int rc;

    scorer_event_record(actor, op, outcome, ev, &ar);
    rc = audit_append(s->audit, &ar, &index);
    if (rc != 0)
        return rc == ERR_INVAL ? rc : ERR_AUDIT;
    return scorer_index_record(s, &ar, index);
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
    const uint8_t first[HISTORY_DIGEST_BYTES], bool live, struct reply *r)
{
    bool same = sodium_memcmp(digest, first, HISTORY_DIGEST_BYTES) == 0;
    int rc;

    if (live) {
        rc = scorer_audit_event(s, actor,
            same ? "event.resend" : "event.conflict",
            same ? AUDIT_OUTCOME_ALLOWED : AUDIT_OUTCOME_DENIED, ev);
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
 * Apply one event whose internal encoding is raw[0..rawlen): answer a
 * repeat with its first reply (scorer_repeat), otherwise score it
 * (orders), apply it to history and store its reply with its digest,
 * all in the overlay's current generation. With `journal` set (live) the
 * event's audit record is buffered and the event queued for the journal
 * append that follows the group's audit sync; during replay (`seq`) it
 * is already in the journal.
 *
 * Returns 0 with `r` filled; ERR_CONFLICT with `r` the error reply (not
 * a failure of the group); or an ERR_* from the store or the audit log,
 * after which the overlay may hold part of the event (the caller then
 * recovers it from the journal).
 */
static int
scorer_apply(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t *raw, size_t rawlen, bool journal, uint64_t seq,
    struct reply *r)
{
    uint8_t digest[HISTORY_DIGEST_BYTES], first[HISTORY_DIGEST_BYTES];
    struct features f;
    int rc;

    crypto_generichash(digest, sizeof(digest), raw, rawlen, NULL, 0);
    rc = history_reply_get(s->hist, s->otxn, actor, &ev->id, first, r);
    if (rc == 0)
        return scorer_repeat(s, actor, ev, digest, first, journal, r);
    if (rc != ERR_NOTFOUND)
        return rc;

    memset(r, 0, sizeof(*r));
    if (ev->type == EVENT_ORDER_PLACED) {
        rc = history_features(s->hist, s->otxn, actor, ev, &f);
        if (rc != 0)
            return rc;
        score_compute(ev, &f, &s->params, r);
        s->stats.orders++;
    }
    rc = history_apply(s->hist, s->otxn, actor, ev, r);
    if (rc != 0)
        return rc;
    rc = history_reply_put(s->hist, s->otxn, actor, &ev->id, digest, r);
    if (rc != 0)
        return rc;

    if (journal) {
        struct scorer_jent *je;

        /* Write-ahead audit: the record goes first; the journal append
         * waits until the group's records are durable. */
        rc = scorer_audit_event(
            s, actor, "event.store", AUDIT_OUTCOME_ALLOWED, ev);
        if (rc != 0)
            return rc;
        je = &s->jpend[s->njpend++];
        je->actor = actor;
        je->raw = raw;
        je->rawlen = rawlen;
    } else {
        s->applied_seq = seq;
    }
    if (s->gen_events++ == 0)
        s->gen_opened_ms = clock_mono_ms();
    s->stats.events++;
    return 0;
}

/* Replay one journal record (journal_replay callback). */
static int
scorer_replay_record(void *arg, uint64_t seq, const void *payload, size_t len)
{
    struct scorer *s = arg;
    const uint8_t *p = payload;
    char actor[SCORER_JOURNAL_ACTOR_MAX + 1];
    struct event ev;
    struct reply r;
    size_t alen;
    int rc;

    if (len < 1 || (alen = p[0]) + 1 > len) {
        log_warnx("journal record %" PRIu64 ": bad actor field", seq);
        return ERR_CORRUPT;
    }
    memcpy(actor, p + 1, alen);
    actor[alen] = '\0';
    rc = event_decode(&s->ev_dec, &ev, p + 1 + alen, len - 1 - alen);
    if (rc != 0) {
        log_warnx("journal record %" PRIu64 ": event does not decode: %s", seq,
            err_str(rc));
        return ERR_CORRUPT;
    }
    rc = scorer_apply(
        s, actor, &ev, p + 1 + alen, len - 1 - alen, false, seq, &r);
    if (rc == ERR_CONFLICT)
        rc = 0; /* refused live too: nothing of it was applied */
    if (rc != 0)
        return rc;
    s->stats.replayed++;
    return 0;
}

/* ------------------------------------------------------------ flushing */

/*
 * The flusher thread: waits for a frozen generation, commits it to LMDB
 * (one synced write transaction), reports the result and rings the bell.
 */
static void *
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
    if (rc == 0)
        rc = store_overlay_settle(s->ov);
    if (rc != 0) {
        log_warnx("history commit failed: %s", err_str(rc));
        s->needs_recovery = true;
        return;
    }
    s->stats.commits++;
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
 * Freeze the current generation with the journal position it covers and
 * hand it to the flusher. Only after a group's journal sync, so that the
 * generation holds durable events only. No-op while a flush is running.
 */
static void
scorer_flush_start(struct scorer *s)
{
    int rc;

    if (s->flushing || s->gen_events == 0 || s->needs_recovery)
        return;
    rc = history_set_applied_seq(s->hist, s->otxn, s->applied_seq);
    if (rc == 0)
        rc = subjidx_indexed_put(s->otxn, s->dbi_subject, s->indexed);
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
    s->flushing = true;
    pthread_mutex_lock(&s->mu);
    s->flush_request = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Freeze and commit everything now, waiting for it (start-up, stop). */
static int
scorer_flush_sync(struct scorer *s)
{
    scorer_flush_wait(s);
    if (s->needs_recovery)
        return ERR_IO;
    scorer_flush_start(s);
    scorer_flush_wait(s);
    return s->needs_recovery ? ERR_IO : 0;
}

/*
 * Throw away the overlay and rebuild it from the committed history plus
 * the durable journal, then commit. Used at start-up and whenever a store
 * or journal error leaves the overlay ahead of what is durable. Returns 0
 * or the ERR_* that prevented recovery.
 */
static int
scorer_recover(struct scorer *s)
{
    uint64_t seq;
    int rc;

    scorer_flush_wait(s);
    rc = store_overlay_discard(s->ov);
    if (rc != 0)
        return rc;
    s->gen_events = 0;
    s->gen_opened_ms = 0;
    s->njpend = 0;
    s->needs_recovery = false;
    rc = history_applied_seq(s->hist, s->otxn, &seq);
    if (rc != 0)
        goto fail;
    s->applied_seq = seq;
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
    rc = scorer_reindex(s);
    if (rc != 0)
        goto fail;
    /* scorer_flush_start() skips an empty generation; `indexed` must
     * still reach LMDB when only the index moved. */
    if (s->gen_events == 0)
        s->gen_events = 1;
    rc = scorer_flush_sync(s);
    if (rc != 0)
        goto fail;
    return 0;

fail:
    s->needs_recovery = true;
    return rc;
}

/* ------------------------------------------------------- the group loop */

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
    const char *why = NULL;
    struct event ev;
    uint32_t i;
    int rc;

    m->valid = false;
    m->n = 0;
    if (m->zm.nparts != 2 || m->zm.overflow) {
        why = "expected [identity, body]";
        goto drop;
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
        if (refuse != 0) {
            reply_error(r, NULL, refuse,
                "not acknowledged: could not be made durable, resend later");
            s->stats.rejected++;
            continue;
        }
        rc = scorer_apply(s, m->actor, &ev, v.raw[i], v.rawlen[i], true, 0, r);
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
            s->stats.rejected++;
        }
    }
}

/*
 * Make the group durable: its audit records (one fdatasync), then, and
 * only then, its events in the journal (one fdatasync). Returns 0,
 * ERR_AUDIT (nothing of the group reached the journal), ERR_FULL or
 * ERR_IO (the journal dropped the group's records).
 */
static int
scorer_group_commit(struct scorer *s)
{
    uint32_t i;
    uint64_t seq = s->applied_seq;
    int rc;

    rc = audit_sync(s->audit);
    if (rc != 0) {
        s->njpend = 0;
        return ERR_AUDIT;
    }
    for (i = 0; i < s->njpend; i++) {
        const struct scorer_jent *je = &s->jpend[i];

        rc = scorer_record_encode(s, je->actor, je->raw, je->rawlen);
        if (rc == 0)
            rc = journal_append(s->journal, s->rec.data, s->rec.len, &seq);
        if (rc != 0)
            break;
    }
    s->njpend = 0;
    if (rc == 0)
        rc = journal_sync(s->journal);
    if (rc != 0)
        return rc == ERR_FULL ? ERR_FULL : ERR_IO;
    s->applied_seq = seq;
    return 0;
}

/* Drain, apply, sync and answer one group of collector messages. */
static void
scorer_group(struct scorer *s)
{
    uint32_t nmsgs = 0, nreplies = 0, i;
    int rc = 0, src;

    if (s->needs_recovery) {
        rc = scorer_recover(s);
        if (rc != 0)
            log_warnx("recovery failed, refusing events: %s", err_str(rc));
    }
    while (nmsgs < SCORER_GROUP_MSGS &&
        nreplies + SFPROTO_MAX_BATCH <= s->replies_cap) {
        struct scorer_msg *m = &s->msgs[nmsgs];
        int rrc = zsock_recv_msg(s->events_sock, &m->zm, ZSOCK_DONTWAIT);

        if (rrc != 0)
            break;
        nmsgs++;
        rc = scorer_take_msg(
            s, m, &nreplies, rc != 0 ? rc : (s->needs_recovery ? ERR_IO : 0));
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
        log_warnx("group of %u events not durable: %s", nreplies, err_str(src));
        scorer_fail_group(s, nmsgs, src);
        s->needs_recovery = true;
    }
    if (rc != 0)
        s->needs_recovery = true;
    /* Rebuild the overlay from the durable journal: it may hold events
     * that are not durable, or be unusable after an error. */
    if (s->needs_recovery && scorer_recover(s) != 0)
        log_warnx("recovery failed; will retry with the next group");
    for (i = 0; i < nmsgs; i++) {
        if (s->msgs[i].valid)
            scorer_send_replies(s, &s->msgs[i]);
        zsock_msg_close(&s->msgs[i].zm);
    }
}

/* ------------------------------------------------------------ start-up */

/* Parse the command line and load the configuration; exit 1 on error. */
static void
scorer_load_config(struct scorer *s, int argc, char **argv, bool *check)
{
    struct cfg_args a;
    char err[256];

    cfg_parse_args(argc, argv, "vigil-scorer", &a);
    *check = a.check_only;
    log_init("vigil-scorer", a.foreground || a.check_only);
    log_setverbose(a.verbose);
    if (cfg_load(&s->cfg, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "vigil-scorer: %s\n", err);
        cfg_release(&s->cfg);
        exit(1);
    }
    score_params_default(&s->params);
    s->params.review_threshold = (unsigned)s->cfg.review_threshold;
    s->params.block_threshold = (unsigned)s->cfg.block_threshold;
}

/* Open (creating) the audit subject index database in the history env. */
static int
scorer_open_subject_index(struct scorer *s)
{
    struct store_txn *txn;
    int rc;

    rc = store_txn_begin(s->store, true, &txn);
    if (rc != 0)
        return rc;
    rc = subjidx_dbi(s->store, txn, true, &s->dbi_subject);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}

/*
 * If opening the audit log cut a torn tail, say so in the log itself
 * (a "log.repair" record), then sign a checkpoint.
 */
static void
scorer_record_repair(struct scorer *s)
{
    const struct audit_repair *rep = audit_log_repair(s->audit);
    struct audit_record r;
    int rc;

    if (rep->bytes_cut == 0 && rep->note_bytes_cut == 0)
        return;
    memset(&r, 0, sizeof(r));
    text_copy(r.actor, sizeof(r.actor), SCORER_ACTOR);
    r.role = AUDIT_ROLE_SYSTEM;
    text_copy(r.op, sizeof(r.op), "log.repair");
    text_copy(r.purpose, sizeof(r.purpose), "audit");
    r.outcome = AUDIT_OUTCOME_ALLOWED;
    snprintf(r.ref, sizeof(r.ref),
        "cut %" PRIu64 " bytes of '%s' after record %" PRIu64 ", %" PRIu64
        " bytes of checkpoints.log",
        rep->bytes_cut, rep->segment, rep->at_index, rep->note_bytes_cut);
    log_warnx("audit log repaired: %s", r.ref);
    rc = scorer_audit_now(s, &r);
    if (rc != 0)
        fatalx("cannot record the audit log repair: %s", err_str(rc));
    scorer_checkpoint(s, true);
}

static void
scorer_open_storage(struct scorer *s)
{
    char path[4096];
    int rc;

    rc = cfg_make_data_dir(&s->cfg);
    if (rc != 0)
        fatalx("cannot create data directory '%s': %s", s->cfg.data_dir,
            err_str(rc));
    rc = cfg_path(&s->cfg, "history", path, sizeof(path));
    if (rc == 0)
        rc = store_open(
            path, (size_t)s->cfg.lmdb_map_mb << 20, HISTORY_DBS + 2, &s->store);
    if (rc != 0)
        fatalx("cannot open history '%s': %s", path, err_str(rc));
    rc = history_open(s->store, &s->hist);
    if (rc != 0)
        fatalx("cannot open history databases: %s", err_str(rc));
    rc = scorer_open_subject_index(s);
    if (rc != 0)
        fatalx("cannot open the audit subject index: %s", err_str(rc));
    rc = store_overlay_open(s->store, &s->ov);
    if (rc != 0)
        fatalx("cannot open the history overlay: %s", err_str(rc));
    s->otxn = store_overlay_txn(s->ov);
    s->flush_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->flush_efd < 0)
        fatal("eventfd");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    rc = pthread_create(&s->flusher, NULL, scorer_flusher_main, s);
    if (rc != 0)
        fatalx("cannot start the flusher thread: %s", strerror(rc));
    rc = cfg_path(&s->cfg, "journal", path, sizeof(path));
    if (rc == 0)
        rc = journal_open(
            path, (uint64_t)s->cfg.journal_segment_mb << 20, &s->journal);
    if (rc != 0)
        fatalx("cannot open journal '%s': %s", path, err_str(rc));
    rc = cfg_path(&s->cfg, PSEUDO_KEY_FILE, path, sizeof(path));
    if (rc == 0)
        rc = pseudo_key_open(path, true, &s->pkey);
    if (rc != 0)
        fatalx("cannot open the pseudonym key '%s': %s", path, err_str(rc));
    rc = cfg_path(&s->cfg, "audit", path, sizeof(path));
    if (rc == 0)
        rc = audit_log_open(path, s->cfg.audit_origin, &s->audit);
    if (rc != 0)
        fatalx("cannot open the audit log '%s': %s", path, err_str(rc));
}

static void
scorer_bring_up_to_date(struct scorer *s)
{
    int rc = scorer_recover(s);

    if (rc != 0)
        fatalx("cannot bring history up to date from the journal: %s",
            err_str(rc));
    scorer_record_repair(s);
    scorer_checkpoint(s, true);
    log_info("history at journal seq %" PRIu64 " (%" PRIu64
             " records replayed)",
        s->applied_seq, s->stats.replayed);
}

static void
scorer_open_sockets(struct scorer *s)
{
    char ep[256];
    int rc;

    rc = cfg_scorer_ipc(&s->cfg, ep, sizeof(ep));
    if (rc != 0)
        fatalx("data directory path too long for an ipc endpoint: %s",
            err_str(rc));
    s->zctx = zsock_ctx_new();
    rc = zsock_open(s->zctx, ZSOCK_ROUTER, &s->events_sock);
    if (rc == 0)
        rc = zsock_setopt_int(s->events_sock, ZSOCK_OPT_RCVHWM, 0);
    if (rc == 0)
        rc = zsock_setopt_int(s->events_sock, ZSOCK_OPT_SNDHWM, 0);
    if (rc == 0)
        rc = zsock_setopt_i64(
            s->events_sock, ZSOCK_OPT_MAXMSGSIZE, IPCPROTO_MAX_BYTES);
    if (rc == 0)
        rc = zsock_bind(s->events_sock, ep);
    if (rc != 0)
        fatalx("cannot bind '%s': %s", ep, err_str(rc));
    log_info("listening for collectors on '%s'", ep);

    rc = zsock_open(s->zctx, ZSOCK_ROUTER, &s->query_sock);
    if (rc == 0)
        rc = zsock_setopt_i64(
            s->query_sock, ZSOCK_OPT_MAXMSGSIZE, SFPROTO_MAX_MSG_BYTES * 2);
    if (rc == 0)
        rc = zsock_bind(s->query_sock, s->cfg.query_endpoint);
    if (rc != 0)
        fatalx("cannot bind the query endpoint '%s': %s", s->cfg.query_endpoint,
            err_str(rc));
    log_info("answering queries on '%s'", s->cfg.query_endpoint);
}

static void
scorer_alloc(struct scorer *s)
{
    s->replies_cap = (uint32_t)s->cfg.batch_max + SFPROTO_MAX_BATCH;
    s->replies = xcalloc(s->replies_cap, sizeof(*s->replies));
    s->msgs = xcalloc(SCORER_GROUP_MSGS, sizeof(*s->msgs));
    s->jpend = xcalloc(s->replies_cap, sizeof(*s->jpend));
    buf_init(&s->out, IPCPROTO_MAX_BYTES);
    buf_init(&s->rec, JOURNAL_MAX_PAYLOAD);
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

/* Answer the queries waiting on the query socket (a bounded batch). */
static void
scorer_queries(struct scorer *s)
{
    struct zsock_msg m;
    int i;

    if (s->needs_recovery && scorer_recover(s) != 0)
        log_warnx("recovery failed; queries are answered from what is "
                  "committed");
    for (i = 0; i < 64; i++) {
        if (zsock_recv_msg(s->query_sock, &m, ZSOCK_DONTWAIT) != 0)
            break;
        query_handle(s, &m);
        zsock_msg_close(&m);
    }
}

static void
scorer_loop(struct scorer *s)
{
    uint64_t next_stats = clock_mono_ms() + SCORER_STATS_INTERVAL_MS;

    while (!scorer_quit) {
        struct zsock_pollitem items[3] = {
            { s->events_sock, 0, ZSOCK_POLLIN, 0 },
            { NULL, s->flush_efd, ZSOCK_POLLIN, 0 },
            { s->query_sock, 0, ZSOCK_POLLIN, 0 },
        };
        uint64_t now = clock_mono_ms();
        long timeout = 1000;
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
        rc = zsock_poll(items, 3, timeout, &nready);
        if (rc == ERR_SHUTDOWN)
            break;
        if (items[1].revents & ZSOCK_POLLIN)
            scorer_flush_poll(s);
        if (items[0].revents & ZSOCK_POLLIN)
            scorer_group(s);
        if (items[2].revents & ZSOCK_POLLIN)
            scorer_queries(s);
        scorer_checkpoint(s, false);

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

static void
scorer_shutdown(struct scorer *s)
{
    int rc = s->needs_recovery ? ERR_IO : scorer_flush_sync(s);

    if (rc != 0)
        log_warnx("final commit failed (the journal still holds every "
                  "acknowledged event): %s",
            err_str(rc));
    scorer_checkpoint(s, true);
    scorer_log_stats(s, true);
    pthread_mutex_lock(&s->mu);
    s->flusher_quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->flusher, NULL);
    zsock_close(s->events_sock);
    zsock_close(s->query_sock);
    zsock_ctx_term(s->zctx);
    audit_log_close(s->audit);
    pseudo_key_close(s->pkey);
    journal_close(s->journal);
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
    free(s->msgs);
    free(s->jpend);
    free(s->replies);
    cfg_release(&s->cfg);
}

int
main(int argc, char **argv)
{
    static struct scorer s;
    struct sigaction sa;
    bool check;

    scorer_load_config(&s, argc, argv, &check);
    if (check) {
        cfg_print(&s.cfg, stdout);
        cfg_release(&s.cfg);
        return 0;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = scorer_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The journal replay decodes events: the decoders come first. */
    wire_dec_init(&s.env_dec, 64 * 1024);
    wire_dec_init(&s.ev_dec, 8 * 1024);
    wire_dec_init(&s.q_dec, 8 * 1024);
    scorer_open_storage(&s);
    scorer_bring_up_to_date(&s);
    scorer_alloc(&s);
    scorer_open_sockets(&s);
    log_info("vigil-scorer %s ready (review >= %u, block >= %u)", VIGIL_VERSION,
        s.params.review_threshold, s.params.block_threshold);
    scorer_loop(&s);
    scorer_shutdown(&s);
    return 0;
}
