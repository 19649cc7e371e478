/*
 * send.c - vigil-replay's connections: ordered dispatch over N DEALER
 *          sockets, batching, and matching the replies
 *
 * The stream goes out in order, packed with sfproto_event_pack() into
 * batches of up to o->batch events, each batch on one storefront
 * connection with up to o->inflight requests in flight per connection.
 * Labels are the fraud team's: each goes as one label request
 * (common/qproto.h) on the analyst's connection to the scorer's query
 * endpoint, with up to o->label_inflight in flight; the scorer makes a
 * batch of them durable together. That connection takes part in the
 * ordering below like any other: a label waits for the events it must
 * follow, and an event for the labels it must follow. One connection
 * delivers in order (the collector is one thread and forwards in
 * order), but two connections may overtake each other. So every event
 * holds keys while it is in flight: its account, device, IP, /24, /16
 * (exclusive: these entities change with every event). An event goes
 * on the connection that holds a conflicting key, and waits when two
 * connections do, so any two events that must stay in order travel on
 * one connection or one after the other. The aggregates that labels
 * feed (the IP countries' and the store's fraud rates, scorer/history.h)
 * count a label for the orders of the UTC days after the label's own
 * day only; so a label need not wait for the orders of its day, and the
 * events of a day wait until every label of an earlier day in flight is
 * answered (the day barrier): one round trip a day instead of one per
 * label. To keep that round trip off the stream's path, labels go
 * ahead of their turn (send_ahead): up to REPLAY_LABEL_AHEAD_DAYS days
 * ahead of the oldest unanswered event, holding no keys, since a label
 * counts for no order of its own day or earlier. Requests answered busy
 * are resent after the hint (resend_due), their keys held meanwhile. With
 * --connections 1 and no labels nothing ever waits. What this does not order:
 * the store's amount statistics, which orders in flight at the same time may
 * update in either order.
 *
 * The files by job: this one builds the storefront's requests, picks
 * the connections, runs the socket loop and matches the storefront's
 * replies; send_keys.c keeps the key table and the day barrier
 * (placement); send_label.c sends the labels and matches their replies;
 * send_retry.c resends busy replies; send_open.c opens, probes and
 * frees (send_int.h: the structures they share).
 *
 * Invariants:
 *  - a request's replies are matched by its first event's id, and each
 *    reply must carry the id of its event, in order; a label request's
 *    id is its event's id.
 *  - labels travel only on the query connection, other events never.
 *
 * See also: replay.h, send_int.h, common/sfproto.h, common/zsock.h,
 *           tools/vigil-load/run.c (the same loop, paced)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/sfproto.h"
#include "common/sig.h"
#include "common/wire.h"
#include "common/zsock.h"
#include "tools/vigil-replay/replay.h"
#include "tools/vigil-replay/send_int.h"

_Static_assert(REPLAY_MAX_CONNECTIONS + 1 <= ZSOCK_MAX_POLL,
    "zsock_poll cannot take every connection");

void
trace_event(struct sender *s, size_t i, unsigned conn)
{
    const struct replay_ev *e = &s->d->evs[i];

    if (s->trace == NULL)
        return;
    if (e->kind == RK_LABEL)
        fprintf(s->trace, "%" PRIu64 ",%u,%s,%" PRIu64 ",%s,%s,\n", s->st->sent,
            conn, stream_kind_name(e->kind), e->ts, s->q.id, s->q.source);
    else
        fprintf(s->trace, "%" PRIu64 ",%u,%s,%" PRIu64 ",%s,,%s\n", s->st->sent,
            conn, stream_kind_name(e->kind), e->ts, s->pii.id,
            s->ev.ip_country);
}

/*
 * Build the next request for connection c into a frame: events from
 * s->next while they fit, may go on c, and the batch has room. Their
 * keys are held for `sl`. Returns the frame (in s->frame or s->body).
 */
static size_t
build_request(struct sender *s, unsigned c, struct slot *sl, uint64_t now,
    const uint8_t **data)
{
    uint32_t n = 0;
    int rc;

    if (s->conns[c].query)
        return build_label(s, c, sl, &s->body, data);
    buf_reset(&s->body);
    sl->nholds = 0;
    sl->first = s->next;
    while (n < s->o->batch && s->next < s->d->nevs) {
        struct wire_enc e;
        unsigned nk;

        if (s->ahead[s->next]) {
            s->next++;
            continue;
        }
        if (s->d->evs[s->next].kind == RK_LABEL) {
            /* Labels go on the query connection. */
            if (n > 0 && label_inline(s, now))
                continue;
            break;
        }
        if (n > 0) {
            int p = placement(s, s->next);

            if (p == -2 || (p >= 0 && p != (int)c))
                break;
        }
        stream_fill(s->d, s->next, &s->ev, &s->pii);
        wire_enc_begin(&e, &s->body);
        sfproto_event_pack(&e, &s->ev, &s->pii);
        rc = wire_enc_end(&e);
        if (rc != 0)
            break; /* the frame is full: the event opens the next one */
        if (n == 0)
            snprintf(sl->first_id, sizeof(sl->first_id), "%s", s->pii.id);
        sl->evi[n] = s->next;
        nk = event_keys(s, s->next, sl->holds + sl->nholds);
        for (unsigned k = 0; k < nk; k++)
            khold(s, &sl->holds[sl->nholds + k], (int32_t)c);
        sl->nholds += nk;
        trace_event(s, s->next, c);
        s->next++;
        s->st->sent++;
        s->st->tick_sent++;
        n++;
    }
    if (n == 0)
        fatalx("%s: invariant: one event does not fit in a frame", __func__);
    sl->n = n;
    sodium_memzero(&s->pii, sizeof(s->pii));
    return wire_batch_frame(s->o->batch == 1, n, &s->body, &s->frame, data);
}

struct slot *
free_slot(struct conn *c)
{
    for (unsigned i = 0; i < c->nslots; i++) {
        if (!c->slots[i].used)
            return &c->slots[i];
    }
    return NULL;
}

void
slot_done(struct sender *s, struct conn *c, struct slot *sl)
{
    if (sl->retry_at != 0) {
        sl->retry_at = 0;
        c->retrying--;
    } else if (c->limit < c->nslots && ++c->credit >= c->limit) {
        c->limit++;
        c->credit = 0;
    }
    for (uint32_t k = 0; k < sl->nholds; k++)
        krelease(s, &sl->holds[k]);
    if (c->query)
        label_days_release(s, sl->first);
    sl->used = false;
    sl->nholds = 0;
    c->inflight--;
    s->total_inflight--;
    c->blocked = false;
}

/* A connection with a request waiting to be resent takes no other:
 * what follows it there must not overtake it. */
static bool
conn_ready(const struct conn *c)
{
    return !c->blocked && c->inflight < c->limit && c->retrying == 0;
}

/*
 * The connection for the next request, or -1 to wait. A label goes on
 * the query connection once no storefront connection holds a key it
 * must follow; any other event never follows the query connection
 * directly, it waits for the labels' replies.
 */
static int
pick_conn(struct sender *s)
{
    int need = placement(s, s->next), best = -1;
    bool label = s->d->evs[s->next].kind == RK_LABEL;
    unsigned nsf = s->o->connections;

    if (need == -2 || (label && need >= 0 && need != s->qc) ||
        (!label && need >= 0 && need == s->qc)) {
        if (!s->waiting) {
            s->st->waits++;
            if (need == -2 && s->why_day)
                s->st->waits_day++;
            else if (need >= 0 && need == s->qc)
                s->st->waits_label++;
        }
        s->waiting = true;
        return -1;
    }
    s->waiting = false;
    if (label)
        return conn_ready(&s->conns[s->qc]) ? s->qc : -1;
    if (need >= 0)
        return conn_ready(&s->conns[need]) ? need : -1;
    for (unsigned k = 0; k < nsf; k++) {
        unsigned i = (s->rr + k) % nsf;

        if (!conn_ready(&s->conns[i]))
            continue;
        if (best < 0 || s->conns[i].inflight < s->conns[best].inflight)
            best = (int)i;
    }
    s->rr = nsf > 0 ? (s->rr + 1) % nsf : 0;
    return best;
}

/*
 * Send up to SEND_BUDGET requests. Returns 0, 1 when more could be sent
 * at once, or ERR_IO.
 */
static int
send_some(struct sender *s, uint64_t now)
{
    for (unsigned b = 0; b < SEND_BUDGET; b++) {
        const uint8_t *data;
        struct slot *sl;
        struct conn *c;
        size_t len;
        int ci, rc;

        while (s->next < s->d->nevs && s->ahead[s->next])
            s->next++;
        if (sig_stop || s->next >= s->d->nevs)
            return 0;
        ci = pick_conn(s);
        if (ci < 0)
            return 0;
        c = &s->conns[ci];
        sl = free_slot(c);
        len = build_request(s, (unsigned)ci, sl, now, &data);
        rc = dispatch(s, (unsigned)ci, sl, data, len, now);
        if (rc == ERR_IO)
            return ERR_IO;
    }
    return 1;
}

/*
 * Send the request built for slot `sl` of connection ci. Returns 0,
 * ERR_AGAIN (never left: its events are lost to this run, ids are not
 * reused, and its keys are free again) or ERR_IO (on stderr).
 */
int
dispatch(struct sender *s, unsigned ci, struct slot *sl, const uint8_t *data,
    size_t len, uint64_t now)
{
    struct conn *c = &s->conns[ci];
    struct iovec iov;
    int rc;

    iov.iov_base = (void *)(uintptr_t)data;
    iov.iov_len = len;
    rc = zsock_send_parts(c->sock, &iov, 1, ZSOCK_DONTWAIT);
    if (rc == ERR_AGAIN) {
        c->blocked = true;
        s->st->timeouts += sl->n;
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        sl->nholds = 0;
        return ERR_AGAIN;
    }
    if (rc != 0) {
        fprintf(stderr, REPLAY_PROGNAME ": send failed: %s\n", err_str(rc));
        return ERR_IO;
    }
    sl->used = true;
    if (c->query)
        label_days_hold(s, sl->first);
    sl->t0 = now;
    sl->first_t0 = now;
    sl->retry_at = 0;
    c->inflight++;
    s->total_inflight++;
    s->st->requests++;
    return 0;
}

struct slot *
find_slot(struct conn *c, const char *id)
{
    struct slot *oldest = NULL;

    for (unsigned i = 0; i < c->nslots; i++) {
        struct slot *sl = &c->slots[i];

        if (!sl->used)
            continue;
        if (id[0] != '\0' && strcmp(sl->first_id, id) == 0)
            return sl;
        if (id[0] == '\0' && (oldest == NULL || sl->t0 < oldest->t0))
            oldest = sl;
    }
    return oldest;
}

void
note_reply(struct sender *s, size_t i, const struct reply *rep, int code)
{
    struct replay_stats *st = s->st;
    const struct replay_ev *e = &s->d->evs[i];
    struct replay_row *r = &s->d->rows[e->row];

    st->answered++;
    if (code == 0) {
        st->ok++;
    } else {
        st->rejected++;
        if (st->first_code == 0) {
            st->first_code = code;
            snprintf(st->first_msg, sizeof(st->first_msg), "%s",
                rep != NULL ? rep->msg : "");
            stream_id(s->d, i, st->first_id);
        }
    }
    if (e->kind != RK_ORDER)
        return;
    r->answered = true;
    r->code = code;
    if (code == 0 && rep != NULL && rep->has_score) {
        r->has_score = true;
        r->score = rep->score;
        r->decision = (uint8_t)rep->decision;
    }
}

static void
handle_reply(struct sender *s, struct conn *c, const uint8_t *p, size_t len)
{
    struct replay_stats *st = s->st;
    char want[EVENT_ID_MAX + 1];
    struct slot *sl;
    uint32_t count = 0, nretry = 0, hint = 0;
    int rc;

    rc = sfproto_replies_decode(
        &s->dec, p, len, s->replies, SFPROTO_MAX_BATCH, &count);
    if (rc != 0 || count == 0) {
        sl = find_slot(c, "");
        goto malformed;
    }
    sl = find_slot(c, s->replies[0].id);
    if (sl == NULL || sl->retry_at != 0) {
        st->late++;
        return;
    }
    /* One reply per event, or one frame-level error reply without id. */
    if (count == 1 && s->replies[0].id[0] == '\0') {
        if (retryable(s->replies[0].code) &&
            retry_keep(s, c, sl, s->replies[0].retry_after_ms, clock_mono_ns()))
            return;
        for (uint32_t k = 0; k < sl->n; k++)
            note_reply(s, sl->evi[k], &s->replies[0],
                s->replies[0].code != 0 ? s->replies[0].code : ERR_MALFORMED);
        slot_done(s, c, sl);
        return;
    }
    if (count != sl->n)
        goto malformed;
    for (uint32_t k = 0; k < count; k++) {
        stream_id(s->d, sl->evi[k], want);
        if (strcmp(s->replies[k].id, want) != 0)
            goto malformed;
        if (retryable(s->replies[k].code)) {
            nretry++;
            if (s->replies[k].retry_after_ms > hint)
                hint = s->replies[k].retry_after_ms;
        }
    }
    if (c->retrying > 0)
        count_overtaken(s, c, sl);
    if (nretry > 0 && retry_keep(s, c, sl, hint, clock_mono_ns())) {
        /* Resend only the events answered busy, in their order. */
        uint32_t m = 0;

        for (uint32_t k = 0; k < count; k++) {
            if (retryable(s->replies[k].code))
                sl->evi[m++] = sl->evi[k];
            else
                note_reply(s, sl->evi[k], &s->replies[k], s->replies[k].code);
        }
        sl->n = m;
        stream_id(s->d, sl->evi[0], sl->first_id);
        return;
    }
    for (uint32_t k = 0; k < count; k++)
        note_reply(s, sl->evi[k], &s->replies[k], s->replies[k].code);
    slot_done(s, c, sl);
    return;

malformed:
    st->malformed++;
    if (sl != NULL) {
        st->lost += sl->n;
        slot_done(s, c, sl);
    }
}

/* conn_drain()'s zsock_drain() callback: one reply frame. */
struct drain {
    struct sender *s;
    struct conn *c;
};

static void
drain_one(void *arg, const void *p, size_t len)
{
    struct drain *d = arg;

    if (d->c->query)
        handle_label_reply(d->s, d->c, p, len);
    else
        handle_reply(d->s, d->c, p, len);
}

/* Receive every reply waiting on `c`. Returns 0 or ERR_IO. */
static int
conn_drain(struct sender *s, struct conn *c)
{
    struct drain d = { s, c };

    return zsock_drain(c->sock, drain_one, &d);
}

static void
expire(struct sender *s, uint64_t now)
{
    uint64_t limit = (uint64_t)(s->o->timeout * (double)REPLAY_NS_PER_S);

    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];

        for (unsigned j = 0; j < c->nslots && c->inflight > 0; j++) {
            struct slot *sl = &c->slots[j];

            /* One waiting to be resent: since it was first sent. */
            uint64_t since = sl->retry_at != 0 ? sl->first_t0 : sl->t0;

            if (sl->used && now > since && now - since > limit) {
                s->st->timeouts += sl->n;
                slot_done(s, c, sl);
            }
        }
        c->blocked = false;
    }
}

int
sender_run(struct sender *s, uint64_t *elapsed)
{
    struct zsock_pollitem items[REPLAY_MAX_CONNECTIONS + 1];
    uint64_t start = clock_mono_ns(), next_tick = start + REPLAY_NS_PER_S;
    uint64_t stop_at = 0, next_retry;
    int rc = 0, more;

    for (unsigned i = 0; i < s->nconns; i++) {
        memset(&items[i], 0, sizeof(items[i]));
        items[i].sock = s->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
    }
    for (;;) {
        uint64_t now = clock_mono_ns();
        long ms;

        if (stop_at == 0 && (sig_stop || s->next >= s->d->nevs))
            stop_at = now;
        if (stop_at != 0 &&
            (s->total_inflight == 0 || sig_stop > 1 ||
                now - stop_at >
                    (uint64_t)(s->o->timeout * (double)REPLAY_NS_PER_S)))
            break;
        next_retry = UINT64_MAX;
        if (resend_due(s, now, &next_retry) != 0 || send_ahead(s, now) != 0) {
            rc = ERR_IO;
            break;
        }
        more = send_some(s, now);
        if (more < 0) {
            rc = more;
            break;
        }
        if (now >= next_tick) {
            expire(s, now);
            report_progress(s->o, s->d, s->st, (double)(now - start) / 1e9,
                s->total_inflight);
            next_tick += REPLAY_NS_PER_S;
        }
        ms = more ? 0 : (long)((next_tick - now) / 1000000 + 1);
        if (!more && next_retry < next_tick)
            ms =
                next_retry > now ? (long)((next_retry - now) / 1000000 + 1) : 0;
        rc = zsock_poll(items, (int)s->nconns, ms, NULL);
        if (rc != 0 && rc != ERR_AGAIN) {
            fprintf(stderr, REPLAY_PROGNAME ": poll failed: %s\n", err_str(rc));
            rc = ERR_IO;
            break;
        }
        rc = 0;
        for (unsigned i = 0; i < s->nconns; i++) {
            if (items[i].revents & ZSOCK_POLLIN) {
                rc = conn_drain(s, &s->conns[i]);
                if (rc != 0)
                    goto out;
            }
        }
    }
    expire(s, UINT64_MAX);
out:
    *elapsed = clock_mono_ns() - start;
    /* The last progress line: every run prints at least one. */
    report_progress(
        s->o, s->d, s->st, (double)*elapsed / 1e9, s->total_inflight);
    return rc;
}

void
sender_dry(struct sender *s, uint64_t *elapsed)
{
    uint64_t start = clock_mono_ns();
    const uint8_t *data;

    while (s->next < s->d->nevs && !sig_stop) {
        bool label = s->d->evs[s->next].kind == RK_LABEL;
        unsigned c = label && s->qc >= 0 ? (unsigned)s->qc : 0;
        struct slot *sl = &s->conns[c].slots[0];

        build_request(s, c, sl, 0, &data);
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        s->st->requests++;
    }
    *elapsed = clock_mono_ns() - start;
}
