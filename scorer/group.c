/*
 * group.c - vigil-scorer: the group commit of collector messages
 *
 * scorer_group() drains up to SCORER_GROUP_MSGS collector messages (at
 * most batch_max events, and no more once SCORER_GROUP_BUDGET_US of
 * applying has passed) from the events socket, applies each event
 * (apply.c), which buffers its audit record, then makes the group
 * durable in write-ahead order with ONE fdatasync: the audit records
 * journaled (and written to the audit segment, unsynced), the events
 * journaled after them, the journal synced, a signed head. Only then
 * does it reply. When either step fails nothing
 * of the group is acknowledged: every event is refused ("audit", "full"
 * or "io") and the overlay is rebuilt from the journal (recover.c).
 * Query operations that make events (labels, reviews, list changes) use
 * the same commit through scorer_apply_local() and
 * scorer_commit_local().
 *
 * The order fast lane (issue 11 item 3): a collector sends its fast-lane
 * requests (a few orders) on a second pipe (ipcproto.h), which the
 * ROUTER fair-queues with the batches' pipe, so an order is read after
 * at most one batch that was already waiting. Once a group has taken a
 * fast-lane message and SCORER_FAST_TAIL_EVENTS events after it, the
 * batches read are not taken: they are carried (s->carry, a FIFO the
 * next groups take first among batches) while more orders are read, and
 * the group is committed as soon as the fast pipes are empty
 * (scorer_next_msg). Its fast-lane replies are sent first. An order
 * thus waits for about one batch and SCORER_FAST_TAIL_EVENTS events of
 * apply and the group's sync, not for the collector's whole window
 * behind it, and every waiting order joins the same group; the tail
 * keeps groups from shrinking to an order each where small batches and
 * orders mix (single events over many connections).
 *
 * See also: apply.c, recover.c, scorer.h (the invariants), ipcproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/compiler.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/event.h"
#include "common/ipcproto.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/text.h"
#include "common/zauth.h"
#include "common/zsock.h"
#include "scorer/history.h"
#include "scorer/jrec.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/space.h"
#include "scorer/startup.h"
#include "scorer/status.h"
#include "scorer/vault.h"

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
    return 0;
}

bool
scorer_group_carried(const struct scorer *s)
{
    return s->ncarry > 0;
}

/* True when message `m` came on a collector's fast-lane pipe. */
static bool
scorer_msg_fast(const struct scorer_msg *m)
{
    return m->zm.nparts >= 1 &&
        ipcproto_fast_id(zsock_msg_data(&m->zm, 0), zsock_msg_size(&m->zm, 0));
}

/* Append batch `zm` to the carried FIFO (not full). */
static void
scorer_carry_push(struct scorer *s, struct zsock_msg *zm)
{
    uint32_t tail = (s->carry_head + s->ncarry) % SCORER_CARRY_MAX;

    zsock_msg_move(&s->carry[tail], zm);
    s->ncarry++;
}

/* Move the oldest carried batch into `zm` (one is carried). */
static void
scorer_carry_pop(struct scorer *s, struct zsock_msg *zm)
{
    zsock_msg_move(zm, &s->carry[s->carry_head]);
    s->carry_head = (s->carry_head + 1) % SCORER_CARRY_MAX;
    s->ncarry--;
}

/*
 * The next message to take into the group, in `m`: the fast lane's
 * first, then the batches in the order they came. The socket is read
 * first (it fair-queues the collectors' pipes, so a waiting order comes
 * within a read or two); a batch read there goes behind the carried
 * ones, the oldest of which is taken, unless `carrying` (the group took
 * an order and SCORER_FAST_TAIL_EVENTS more events since): then batches
 * are only carried, and the group ends once two in a row came (the fast
 * pipes are empty) or the carried FIFO is full. Returns 0, or ERR_AGAIN
 * when the group is complete.
 */
static int
scorer_next_msg(
    struct scorer *s, struct scorer_msg *m, bool carrying, unsigned *bulk_run)
{
    for (;;) {
        if (s->ncarry == SCORER_CARRY_MAX || *bulk_run >= 2 ||
            zsock_recv_msg(s->events_sock, &m->zm, ZSOCK_DONTWAIT) != 0) {
            /* Nothing more to read here: the carried batches, unless
             * the group is carrying (it is committed now). */
            if (carrying || s->ncarry == 0)
                return ERR_AGAIN;
            scorer_carry_pop(s, &m->zm);
            return 0;
        }
        if (scorer_msg_fast(m)) {
            *bulk_run = 0;
            return 0;
        }
        if (!carrying && s->ncarry == 0)
            return 0; /* nothing older carried: take it */
        scorer_carry_push(s, &m->zm);
        if (carrying) {
            (*bulk_run)++;
            continue;
        }
        scorer_carry_pop(s, &m->zm);
        return 0;
    }
}

/* Drain, apply, sync and answer one group of collector messages. */
void
scorer_group(struct scorer *s)
{
    uint32_t nmsgs = 0, nreplies = 0, i;
    uint64_t t0 = clock_mono_us();
    uint32_t fast_mark = 0;
    bool fast = false;
    unsigned bulk_run = 0;
    int rc = 0, src, pass;

    if (s->needs_recovery && !space_full(&s->space))
        rc = scorer_maybe_recover(s);
    /* A recovery that failed for want of room has just entered the full
     * state (space_write_failed): the events are refused as "full". */
    if (rc != 0 && space_full(&s->space))
        rc = ERR_FULL;
    while (nmsgs < SCORER_GROUP_MSGS &&
        nreplies + SFPROTO_MAX_BATCH <= s->replies_cap) {
        struct scorer_msg *m = &s->msgs[nmsgs];
        bool carrying = fast && nreplies - fast_mark >= SCORER_FAST_TAIL_EVENTS;

        if (scorer_next_msg(s, m, carrying, &bulk_run) != 0)
            break;
        if (!fast && scorer_msg_fast(m)) {
            fast = true;
            fast_mark = nreplies;
        }
        nmsgs++;
        rc = scorer_take_msg(s, m, &nreplies,
            rc != 0 ? rc :
                      (s->needs_recovery ?
                              (space_full(&s->space) ? ERR_FULL : ERR_IO) :
                              0));
        if (nreplies >= (uint32_t)s->cfg.batch_max)
            break;
        /* The generation is complete (scorer.h, COMMIT PAGES): the next
         * message waits for its commit to start. */
        if (store_overlay_entries(s->ov) >= scorer_commit_cap(s))
            break;
        /* Cold (a fresh process faulting in its maps: ~0.7 ms per event
         * after a restart here) or starved of CPU, a full group would
         * keep every reply waiting: commit what was applied. */
        if (clock_mono_us() - t0 >= SCORER_GROUP_BUDGET_US)
            break;
    }
    if (nmsgs == 0)
        return;

    /* Events applied before any failure are valid: make their audit
     * records and then the events themselves durable (one fdatasync of
     * the journal for the whole group). If either fails, nothing of the
     * group is acknowledged. */
    src = scorer_group_commit(s);
    s->stats.groups++;
    if (s->qshare) {
        /* It committed the held label events too (scorer_queries): their
         * replies go after the group's, by query_flush, with its result. */
        s->qshare_done = true;
        s->qshare_rc = src;
    }
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
    /* The fast lane's replies first (pass 0), then the batches'. */
    for (pass = fast ? 0 : 1; pass < 2; pass++) {
        for (i = 0; i < nmsgs; i++) {
            struct scorer_msg *m = &s->msgs[i];

            if (m->zm.nparts == 0 || (pass == 0 && !scorer_msg_fast(m)))
                continue;
            if (m->valid)
                scorer_send_replies(s, m);
            zsock_msg_close(&m->zm);
        }
    }
    if (src == 0 && nreplies > 0)
        startup_first_group(s, nreplies);
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
