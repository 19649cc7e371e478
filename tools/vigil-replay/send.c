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
 * Keys live in an open-addressing table (linear probing, backward-shift
 * deletion) sized for every key that can be in flight; a key's hash may
 * collide with another, which only makes an event wait needlessly.
 *
 * Invariants:
 *  - a key entry with n holders has conn = the connection of all of
 *    them, or -1 when they are spread (then all hold it shared, nx == 0).
 *  - a request's replies are matched by its first event's id, and each
 *    reply must carry the id of its event, in order; a label request's
 *    id is its event's id.
 *  - labels travel only on the query connection, other events never.
 *
 * See also: replay.h, common/sfproto.h, common/zsock.h,
 *           tools/vigil-load/run.c (the same loop, paced)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
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
#include "common/qproto.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "tools/vigil-replay/replay.h"

_Static_assert(REPLAY_MAX_CONNECTIONS + 1 <= ZSOCK_MAX_POLL,
    "zsock_poll cannot take every connection");

#define KEYS_PER_EVENT 5
#define SEND_BUDGET    32          /* requests per send_some() call */
#define REPLY_ZONE     (64 * 1024) /* decoder chunk */
#define PROBE_WAIT_S   5

/* A key an in-flight event holds. */
struct hold {
    uint64_t key;
    uint8_t excl;
};

/* A key's entry in the table; n == 0 is an empty slot. */
struct kent {
    uint64_t key;
    int32_t conn; /* holders' connection, -1 when several */
    uint32_t n;   /* holders */
    uint32_t nx;  /* exclusive holders */
};

struct slot {
    bool used;
    size_t first; /* stream index of its first event */
    uint32_t n;   /* events */
    size_t *evi;  /* their stream indices (labels sent meanwhile skipped) */
    uint64_t t0;  /* when it was (last) sent, ns */
    uint64_t first_t0; /* when it was first sent, ns */
    uint64_t retry_at; /* answered busy: resend at (ns); 0 when not */
    struct hold *holds;
    uint32_t nholds;
    char first_id[EVENT_ID_MAX + 1];
};

struct conn {
    void *sock;
    struct slot *slots; /* nslots, owned */
    unsigned nslots;    /* requests it may have in flight */
    unsigned inflight;
    unsigned limit;    /* requests it may have in flight now: nslots,
                          halved by each busy reply, + 1 after `limit`
                          answered requests (additive increase) */
    unsigned credit;   /* answered requests since the last increase */
    unsigned retrying; /* slots answered busy, waiting to be resent */
    bool blocked;      /* the last send hit the high-water mark */
    bool query;        /* the analyst's connection to the query endpoint */
};

struct sender {
    const struct replay_opts *o;
    struct replay_data *d;
    struct replay_stats *st;
    void *ctx;
    struct conn *conns; /* the storefront's, then the query connection */
    unsigned nconns;    /* opened */
    unsigned nalloc;    /* allocated: o->connections, + 1 with labels */
    int qc;             /* index of the query connection, or -1 */
    unsigned total_inflight;
    size_t next;    /* the next stream event to send */
    size_t lnext;   /* the next label to consider sending ahead (>= next) */
    uint8_t *ahead; /* per stream event: a label sent ahead of its turn */
    bool waiting;   /* the next event waits for replies to keep the order */
    bool why_day;   /* placement()'s last -2 was the day barrier */
    struct kent *keys;
    size_t keymask;
    struct buf body, frame;
    struct buf lbody; /* a label request sent while a batch is built */
    struct event ev;
    struct event_pii pii;
    struct wire_dec dec;
    struct reply *replies;
    struct qproto_request q; /* a label request being encoded */
    FILE *trace;
    unsigned rr;
};

/* ------------------------------------------------------------- keys */

static uint64_t
mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
key_of(char kind, uint64_t v)
{
    return mix(((uint64_t)(unsigned char)kind << 56) ^ mix(v));
}

static uint64_t
key_of_str(char kind, const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return key_of(kind, h);
}

/* The keys stream event i holds (REPLAY: see the top of this file). */
static unsigned
event_keys(const struct sender *s, size_t i, struct hold *out)
{
    const struct replay_ev *e = &s->d->evs[i];
    const struct replay_row *r = &s->d->rows[e->row];
    unsigned n = 0;

    out[n++] = (struct hold){ key_of('A', r->user_id), 1 };
    out[n++] = (struct hold){ key_of_str('D', r->device), 1 };
    out[n++] = (struct hold){ key_of('I', r->ip), 1 };
    out[n++] = (struct hold){ key_of('P', r->ip >> 8), 1 };
    out[n++] = (struct hold){ key_of('Q', r->ip >> 16), 1 };
    return n;
}

static struct kent *
kfind(struct sender *s, uint64_t key)
{
    for (size_t i = key & s->keymask;; i = (i + 1) & s->keymask) {
        if (s->keys[i].n == 0)
            return NULL;
        if (s->keys[i].key == key)
            return &s->keys[i];
    }
}

static void
khold(struct sender *s, const struct hold *h, int32_t conn)
{
    size_t i;

    for (i = h->key & s->keymask; s->keys[i].n != 0; i = (i + 1) & s->keymask) {
        if (s->keys[i].key == h->key) {
            struct kent *e = &s->keys[i];

            e->n++;
            e->nx += h->excl;
            if (e->conn != conn)
                e->conn = -1;
            return;
        }
    }
    s->keys[i] = (struct kent){ h->key, conn, 1, h->excl };
}

static void
krelease(struct sender *s, const struct hold *h)
{
    size_t i = h->key & s->keymask, j;

    while (s->keys[i].key != h->key || s->keys[i].n == 0) {
        if (s->keys[i].n == 0)
            fatalx("%s: invariant: releasing a key not held", __func__);
        i = (i + 1) & s->keymask;
    }
    s->keys[i].nx -= h->excl;
    if (--s->keys[i].n > 0)
        return;
    /* Backward-shift deletion keeps every probe sequence unbroken. */
    for (j = (i + 1) & s->keymask; s->keys[j].n != 0;
         j = (j + 1) & s->keymask) {
        size_t home = s->keys[j].key & s->keymask;
        bool move = i <= j ? (home <= i || home > j) : (home <= i && home > j);

        if (move) {
            s->keys[i] = s->keys[j];
            i = j;
        }
    }
    s->keys[i].n = 0;
}

/*
 * The day barrier: true when no label of a UTC day before `day` is in
 * flight (labels in flight are at most o->label_inflight slots).
 */
static bool
labels_before_done(const struct sender *s, uint64_t day)
{
    const struct conn *q;

    if (s->qc < 0)
        return true;
    q = &s->conns[s->qc];
    for (unsigned k = 0; q->inflight > 0 && k < q->nslots; k++) {
        if (q->slots[k].used &&
            s->d->evs[q->slots[k].first].ts / REPLAY_MS_PER_DAY < day)
            return false;
    }
    return true;
}

/*
 * Where stream event i may go: the connection it must follow (>= 0),
 * -1 for any, or -2 when it must wait for replies.
 */
static int
placement(struct sender *s, size_t i)
{
    struct hold h[KEYS_PER_EVENT];
    unsigned n = event_keys(s, i, h);
    int need = -1;

    s->why_day = true;
    if (s->d->evs[i].kind != RK_LABEL &&
        !labels_before_done(s, s->d->evs[i].ts / REPLAY_MS_PER_DAY))
        return -2;
    s->why_day = false;

    for (unsigned k = 0; k < n; k++) {
        const struct kent *e = kfind(s, h[k].key);

        if (e == NULL || (!h[k].excl && e->nx == 0))
            continue;
        if (e->conn < 0 || (need >= 0 && need != e->conn))
            return -2;
        need = e->conn;
    }
    return need;
}

/* --------------------------------------------------------- requests */

static void
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
 * Build the label request of stream event s->next for the query
 * connection c into s->body and hold its keys for `sl`.
 */
static size_t
build_label(struct sender *s, unsigned c, struct slot *sl, struct buf *out,
    const uint8_t **data)
{
    unsigned nk;
    int rc;

    buf_reset(out);
    sl->nholds = 0;
    sl->first = s->next;
    stream_label(s->d, s->o, s->next, &s->q);
    rc = qproto_request_encode(out, &s->q);
    if (rc != 0)
        fatalx("%s: invariant: a label request does not encode: %s", __func__,
            err_str(rc));
    snprintf(sl->first_id, sizeof(sl->first_id), "%s", s->q.id);
    sl->evi[0] = s->next;
    nk = event_keys(s, s->next, sl->holds);
    for (unsigned k = 0; k < nk; k++)
        khold(s, &sl->holds[k], (int32_t)c);
    sl->nholds = nk;
    trace_event(s, s->next, c);
    s->next++;
    s->st->sent++;
    s->st->tick_sent++;
    sl->n = 1;
    *data = out->data;
    return out->len;
}

static struct slot *free_slot(struct conn *c);
static int dispatch(struct sender *s, unsigned ci, struct slot *sl,
    const uint8_t *data, size_t len, uint64_t now);

/*
 * While a storefront batch is being built: send the label at s->next on
 * the query connection now, if it may go (no key of it held by another
 * connection, a free slot), so that labels do not cut the batches into
 * the few events between two labels. Returns true when it was sent (or
 * lost to a full queue: either way s->next moved on), false to end the
 * batch there.
 */
static bool
label_inline(struct sender *s, uint64_t now)
{
    struct conn *q;
    struct slot *sl;
    const uint8_t *data;
    size_t len;
    int p;

    if (s->qc < 0)
        return false;
    q = &s->conns[s->qc];
    p = placement(s, s->next);
    if ((p != -1 && p != s->qc) || q->blocked || q->inflight >= q->limit ||
        q->retrying > 0)
        return false;
    sl = free_slot(q);
    len = build_label(s, (unsigned)s->qc, sl, &s->lbody, &data);
    if (s->o->dry_run) {
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        s->st->requests++;
        return true;
    }
    return dispatch(s, (unsigned)s->qc, sl, data, len, now) != ERR_IO;
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
    if (s->o->batch == 1) {
        *data = s->body.data;
        return s->body.len;
    }
    buf_reset(&s->frame);
    rc = wire_array_header(&s->frame, n);
    if (rc == 0)
        rc = buf_append(&s->frame, s->body.data, s->body.len);
    if (rc != 0)
        fatalx(
            "%s: invariant: a batch of %" PRIu32 " does not fit", __func__, n);
    *data = s->frame.data;
    return s->frame.len;
}

static struct slot *
free_slot(struct conn *c)
{
    for (unsigned i = 0; i < c->nslots; i++) {
        if (!c->slots[i].used)
            return &c->slots[i];
    }
    return NULL;
}

static void
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

/* The UTC day of stream event i. */
static uint64_t
ev_day(const struct sender *s, size_t i)
{
    return s->d->evs[i].ts / REPLAY_MS_PER_DAY;
}

/*
 * The earliest UTC day of a storefront event in flight or waiting to be
 * resent, or UINT64_MAX when none is.
 */
static uint64_t
inflight_min_day(const struct sender *s)
{
    uint64_t day = UINT64_MAX;

    for (unsigned i = 0; i < s->nconns; i++) {
        const struct conn *c = &s->conns[i];

        if (c->query)
            continue;
        for (unsigned k = 0; k < c->nslots && c->inflight > 0; k++)
            if (c->slots[k].used && c->slots[k].n > 0 &&
                ev_day(s, c->slots[k].evi[0]) < day)
                day = ev_day(s, c->slots[k].evi[0]);
    }
    return day;
}

/*
 * Send labels ahead of their turn in the stream: a label of UTC day L
 * once no event of day L - REPLAY_LABEL_AHEAD_DAYS - 1 or earlier is
 * unanswered (in flight or still to send), after its own order was
 * answered, in stream order among labels. Such a label counts for no
 * order of day L or earlier (history.h: labels count from the next UTC
 * day, by day; the country counters keep the last 8 days apart,
 * history_model.c), so the events it skips over may be applied before
 * or after it alike, and it holds no keys. What it buys: by the time
 * the stream reaches day L + 1, whose events must wait for every label
 * of day L (the day barrier, placement()), those labels were answered
 * long before, and the stream does not stop at every day.
 */
static int
send_ahead(struct sender *s, uint64_t now)
{
    struct conn *q;
    uint64_t head, lowest;

    if (s->qc < 0 || s->next >= s->d->nevs)
        return 0;
    q = &s->conns[s->qc];
    head = ev_day(s, s->next);
    lowest = inflight_min_day(s);
    if (head < lowest)
        lowest = head;
    if (s->lnext < s->next)
        s->lnext = s->next;
    while (s->lnext < s->d->nevs && !replay_stop) {
        size_t j = s->lnext;
        const struct replay_ev *e = &s->d->evs[j];
        struct slot *sl;
        const uint8_t *data;
        size_t len, saved;
        uint64_t day = ev_day(s, j);
        int rc;

        if (e->kind != RK_LABEL || s->ahead[j]) {
            if (day > head + REPLAY_LABEL_AHEAD_DAYS)
                break;
            s->lnext++;
            continue;
        }
        if (day > lowest + REPLAY_LABEL_AHEAD_DAYS ||
            !s->d->rows[e->row].answered || q->blocked ||
            q->inflight >= q->limit || q->retrying > 0)
            break;
        /* build_label() sends stream event s->next: point it here. */
        saved = s->next;
        s->next = j;
        sl = free_slot(q);
        len = build_label(s, (unsigned)s->qc, sl, &s->lbody, &data);
        s->next = saved;
        for (uint32_t k = 0; k < sl->nholds; k++)
            krelease(s, &sl->holds[k]);
        sl->nholds = 0;
        s->ahead[j] = 1;
        s->lnext = j + 1;
        rc = dispatch(s, (unsigned)s->qc, sl, data, len, now);
        if (rc == ERR_IO)
            return rc;
    }
    return 0;
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
        if (replay_stop || s->next >= s->d->nevs)
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
static int
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
    sl->t0 = now;
    sl->first_t0 = now;
    sl->retry_at = 0;
    c->inflight++;
    s->total_inflight++;
    s->st->requests++;
    return 0;
}

/* ---------------------------------------------------------- replies */

static struct slot *
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

static void
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

/* ------------------------------------------------------------ retries */

#define RETRY_DEFAULT_MS 100 /* a busy reply without a hint */
#define RETRY_AGAIN_MS   10  /* the resend met a full socket */
#define NS_PER_MS        1000000ULL

/*
 * Reply codes that ask for the same request again later: "busy" (the
 * collector's queue bound or wait bound, a quota), "full" (the scorer
 * out of room) and "unavailable" (the scorer's queue full, recovering).
 */
static bool
retryable(int code)
{
    return code == ERR_BUSY || code == ERR_FULL || code == ERR_UNAVAIL;
}

/*
 * Keep slot `sl` of connection c (its keys still held, so nothing that
 * must follow its events goes anywhere meanwhile, and c takes no other
 * request: conn_ready) to be resent `hint_ms` from now (0: the
 * default). Returns false, keeping nothing, once it has waited
 * o->timeout since it was first sent: then its replies count as given.
 */
static bool
retry_keep(struct sender *s, struct conn *c, struct slot *sl, uint32_t hint_ms,
    uint64_t now)
{
    uint64_t limit = (uint64_t)(s->o->timeout * (double)REPLAY_NS_PER_S);

    if (now < sl->first_t0 || now - sl->first_t0 > limit)
        return false;
    sl->retry_at =
        now + (uint64_t)(hint_ms > 0 ? hint_ms : RETRY_DEFAULT_MS) * NS_PER_MS;
    c->retrying++;
    /* Fewer in flight: the service is saturated (fewer busy replies,
     * fewer requests taken behind one waiting to be resent). */
    c->limit = c->limit > 1 ? c->limit / 2 : 1;
    c->credit = 0;
    s->st->busy++;
    return true;
}

/* True when two events' key lists share an exclusive key. */
static bool
keys_meet(const struct hold *a, unsigned na, const struct hold *b, unsigned nb)
{
    for (unsigned i = 0; i < na; i++)
        for (unsigned j = 0; j < nb; j++)
            if (a[i].key == b[j].key && (a[i].excl || b[j].excl))
                return true;
    return false;
}

/*
 * Slot `b` of connection c was answered while a request sent before it
 * on c waits to be resent: count b's events that share a key with one
 * of those (they overtook an event they should follow; the collector
 * answered the first busy and took the later). Rare: only when busy
 * replies come while several requests are in flight.
 */
static void
count_overtaken(struct sender *s, const struct conn *c, const struct slot *b)
{
    for (uint32_t k = 0; k < b->n && k * KEYS_PER_EVENT < b->nholds; k++) {
        const struct hold *hb = &b->holds[k * KEYS_PER_EVENT];

        for (unsigned i = 0; i < c->nslots; i++) {
            const struct slot *a = &c->slots[i];

            if (!a->used || a == b || a->retry_at == 0 ||
                a->first_t0 > b->first_t0 ||
                !keys_meet(a->holds, a->nholds, hb, KEYS_PER_EVENT))
                continue;
            s->st->overtaken++;
            break;
        }
    }
}

/* Encode slot sl's events again (a resend) into a frame. */
static size_t
rebuild_request(struct sender *s, const struct conn *c, struct slot *sl,
    const uint8_t **data)
{
    int rc;

    if (c->query) {
        buf_reset(&s->lbody);
        stream_label(s->d, s->o, sl->evi[0], &s->q);
        if (qproto_request_encode(&s->lbody, &s->q) != 0)
            fatalx("%s: invariant: a label request does not encode", __func__);
        *data = s->lbody.data;
        return s->lbody.len;
    }
    buf_reset(&s->body);
    for (uint32_t k = 0; k < sl->n; k++) {
        struct wire_enc e;

        stream_fill(s->d, sl->evi[k], &s->ev, &s->pii);
        wire_enc_begin(&e, &s->body);
        sfproto_event_pack(&e, &s->ev, &s->pii);
        if (wire_enc_end(&e) != 0)
            fatalx("%s: invariant: a resent batch does not fit", __func__);
    }
    sodium_memzero(&s->pii, sizeof(s->pii));
    if (s->o->batch == 1) {
        *data = s->body.data;
        return s->body.len;
    }
    buf_reset(&s->frame);
    rc = wire_array_header(&s->frame, sl->n);
    if (rc == 0)
        rc = buf_append(&s->frame, s->body.data, s->body.len);
    if (rc != 0)
        fatalx("%s: invariant: a resent batch does not fit", __func__);
    *data = s->frame.data;
    return s->frame.len;
}

/*
 * Resend every request whose retry time has come; `*next_due` gets the
 * earliest retry time still ahead (unchanged when none). Returns 0 or
 * ERR_IO.
 */
static int
resend_due(struct sender *s, uint64_t now, uint64_t *next_due)
{
    for (unsigned i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];

        for (unsigned j = 0; j < c->nslots && c->retrying > 0; j++) {
            struct slot *sl = &c->slots[j];
            const uint8_t *data;
            struct iovec iov;
            int rc;

            if (!sl->used || sl->retry_at == 0)
                continue;
            if (now < sl->retry_at) {
                if (sl->retry_at < *next_due)
                    *next_due = sl->retry_at;
                continue;
            }
            iov.iov_len = rebuild_request(s, c, sl, &data);
            iov.iov_base = (void *)(uintptr_t)data;
            rc = zsock_send_parts(c->sock, &iov, 1, ZSOCK_DONTWAIT);
            if (rc == ERR_AGAIN) {
                sl->retry_at = now + RETRY_AGAIN_MS * NS_PER_MS;
                if (sl->retry_at < *next_due)
                    *next_due = sl->retry_at;
                continue;
            }
            if (rc != 0) {
                fprintf(
                    stderr, REPLAY_PROGNAME ": send failed: %s\n", err_str(rc));
                return ERR_IO;
            }
            sl->retry_at = 0;
            sl->t0 = now;
            c->retrying--;
            s->st->retried += sl->n;
            s->st->requests++;
        }
    }
    return 0;
}

/* The reply to a label request on the query connection. */
static void
handle_label_reply(
    struct sender *s, struct conn *c, const uint8_t *p, size_t len)
{
    struct qproto_reply qr;
    struct reply rep;
    struct slot *sl;

    if (qproto_reply_decode(&s->dec, &qr, p, len, NULL, 0) != 0 ||
        qr.id[0] == '\0') {
        sl = find_slot(c, "");
        s->st->malformed++;
        if (sl != NULL) {
            s->st->lost += sl->n;
            slot_done(s, c, sl);
        }
        return;
    }
    sl = find_slot(c, qr.id);
    if (sl == NULL || sl->retry_at != 0) {
        s->st->late++;
        return;
    }
    if (retryable(qr.code) &&
        retry_keep(s, c, sl, qr.retry_after_ms, clock_mono_ns()))
        return;
    if (c->retrying > 0)
        count_overtaken(s, c, sl);
    memset(&rep, 0, sizeof(rep));
    rep.code = qr.code;
    snprintf(rep.msg, sizeof(rep.msg), "%s", qr.msg);
    note_reply(s, sl->evi[0], &rep, qr.code);
    slot_done(s, c, sl);
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

static int
conn_drain(struct sender *s, struct conn *c)
{
    struct zsock_msg m;
    int rc;

    for (;;) {
        rc = zsock_recv_msg(c->sock, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return ERR_IO;
        if (c->query)
            handle_label_reply(s, c, zsock_msg_data(&m, m.nparts - 1),
                zsock_msg_size(&m, m.nparts - 1));
        else
            handle_reply(s, c, zsock_msg_data(&m, m.nparts - 1),
                zsock_msg_size(&m, m.nparts - 1));
        zsock_msg_close(&m);
    }
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

/* ------------------------------------------------------------- loop */

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

        if (stop_at == 0 && (replay_stop || s->next >= s->d->nevs))
            stop_at = now;
        if (stop_at != 0 &&
            (s->total_inflight == 0 || replay_stop > 1 ||
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

    while (s->next < s->d->nevs && !replay_stop) {
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

/* ------------------------------------------------------------ probe */

/* Encode the probe of connection i into s->body. */
static void
probe_build(struct sender *s, unsigned i)
{
    struct wire_enc e;

    buf_reset(&s->body);
    wire_enc_begin(&e, &s->body);
    if (s->conns[i].query) {
        /* A request of no operation: any reply map proves the way. */
        wire_put_map(&e, 4);
        wire_put_str(&e, "v");
        wire_put_uint(&e, QPROTO_VERSION);
        wire_put_str(&e, "op");
        wire_put_str(&e, "vigil-replay.probe");
        wire_put_str(&e, "id");
        wire_put_str(&e, "vigil-replay-probe-q");
        wire_put_str(&e, "purpose");
        wire_put_str(&e, "fraud-prevention");
    } else {
        memset(&s->ev, 0, sizeof(s->ev));
        memset(&s->pii, 0, sizeof(s->pii));
        s->ev.type = EVENT_DEVICE_SEEN;
        s->ev.ts = s->d->nevs > 0 ? s->d->evs[0].ts : EVENT_MIN_TS;
        snprintf(s->pii.id, sizeof(s->pii.id), "vigil-replay-probe-%u", i);
        sfproto_event_pack(&e, &s->ev, &s->pii);
    }
    if (wire_enc_end(&e) != 0)
        fatalx("%s: invariant: the probe does not fit", __func__);
}

/* Does frame p[0..len) answer connection c's probe? */
static bool
probe_answered(
    struct sender *s, const struct conn *c, const void *p, size_t len)
{
    struct qproto_reply qr;
    uint32_t n = 0;

    if (c->query)
        return qproto_reply_decode(&s->dec, &qr, p, len, NULL, 0) == 0;
    return sfproto_replies_decode(&s->dec, p, len, s->replies, 1, &n) == 0 &&
        n == 1;
}

static const char *
conn_endpoint(const struct sender *s, const struct conn *c)
{
    return c->query ? s->o->qconn.endpoint : s->o->conn.endpoint;
}

int
sender_probe(struct sender *s)
{
    struct zsock_pollitem items[REPLAY_MAX_CONNECTIONS + 1];
    bool done[REPLAY_MAX_CONNECTIONS + 1] = { false };
    uint64_t deadline = clock_mono_ns() + PROBE_WAIT_S * REPLAY_NS_PER_S;
    unsigned ndone = 0;

    for (unsigned i = 0; i < s->nconns; i++) {
        struct iovec iov;

        memset(&items[i], 0, sizeof(items[i]));
        items[i].sock = s->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
        probe_build(s, i);
        iov.iov_base = s->body.data;
        iov.iov_len = s->body.len;
        if (zsock_send_parts(s->conns[i].sock, &iov, 1, 0) != 0) {
            fprintf(stderr, REPLAY_PROGNAME ": cannot send to '%s'\n",
                conn_endpoint(s, &s->conns[i]));
            return ERR_UNAVAIL;
        }
    }
    while (ndone < s->nconns) {
        uint64_t now = clock_mono_ns();
        int rc;

        if (now >= deadline || replay_stop) {
            for (unsigned i = 0; i < s->nconns; i++) {
                if (done[i])
                    continue;
                fprintf(stderr,
                    REPLAY_PROGNAME ": no reply from '%s' within %d s; is "
                                    "%s running there%s?\n",
                    conn_endpoint(s, &s->conns[i]), PROBE_WAIT_S,
                    s->conns[i].query ? "vigil-scorer (query_endpoint)" :
                                        "vigil-collector",
                    s->o->conn.insecure ?
                        "" :
                        s->conns[i].query ?
                        ", and does it know --analyst-cert (role analyst)" :
                        ", and does it know this certificate");
                break;
            }
            return ERR_UNAVAIL;
        }
        rc = zsock_poll(items, (int)s->nconns,
            (long)((deadline - now) / 1000000 + 1), NULL);
        if (rc != 0 && rc != ERR_AGAIN)
            return ERR_UNAVAIL;
        for (unsigned i = 0; i < s->nconns; i++) {
            struct zsock_msg m;
            bool ok;

            if (done[i] || !(items[i].revents & ZSOCK_POLLIN))
                continue;
            if (zsock_recv_msg(s->conns[i].sock, &m, ZSOCK_DONTWAIT) != 0)
                continue;
            ok = probe_answered(s, &s->conns[i],
                zsock_msg_data(&m, m.nparts - 1),
                zsock_msg_size(&m, m.nparts - 1));
            zsock_msg_close(&m);
            if (!ok) {
                fprintf(stderr,
                    REPLAY_PROGNAME ": the reply to the probe from '%s' is "
                                    "not a reply map\n",
                    conn_endpoint(s, &s->conns[i]));
                return ERR_MALFORMED;
            }
            done[i] = true;
            ndone++;
        }
    }
    return 0;
}

/* -------------------------------------------------------- lifecycle */

static bool
stream_has_labels(const struct replay_data *d)
{
    for (size_t i = 0; i < d->nevs; i++)
        if (d->evs[i].kind == RK_LABEL)
            return true;
    return false;
}

struct sender *
sender_new(
    const struct replay_opts *o, struct replay_data *d, struct replay_stats *st)
{
    struct sender *s = xcalloc(1, sizeof(*s));
    size_t need = ((size_t)o->connections * o->inflight * o->batch +
                      o->label_inflight) *
        KEYS_PER_EVENT * 2,
           cap = 1024;
    struct buf hdr;

    s->o = o;
    s->d = d;
    s->st = st;
    while (cap < need)
        cap *= 2;
    s->keys = xcalloc(cap, sizeof(*s->keys));
    s->keymask = cap - 1;
    s->ahead = xcalloc(d->nevs > 0 ? d->nevs : 1, 1);
    buf_init(&hdr, 16);
    if (wire_array_header(&hdr, SFPROTO_MAX_BATCH) != 0)
        fatalx("%s: invariant: no room for an array header", __func__);
    buf_init(&s->body, SFPROTO_MAX_MSG_BYTES - (o->batch > 1 ? hdr.len : 0));
    buf_release(&hdr);
    buf_init(&s->frame, SFPROTO_MAX_MSG_BYTES);
    buf_init(&s->lbody, QPROTO_MAX_BYTES);
    wire_dec_init(&s->dec, REPLY_ZONE);
    s->replies = xcalloc(SFPROTO_MAX_BATCH, sizeof(*s->replies));
    /* Slots exist before the connections so a dry run can use them. */
    s->qc = stream_has_labels(d) ? (int)o->connections : -1;
    s->nalloc = o->connections + (s->qc >= 0 ? 1 : 0);
    s->conns = xcalloc(s->nalloc, sizeof(*s->conns));
    for (unsigned i = 0; i < s->nalloc; i++) {
        struct conn *c = &s->conns[i];
        unsigned per = (int)i == s->qc ? 1 : o->batch;

        c->query = (int)i == s->qc;
        c->nslots = c->query ? o->label_inflight : o->inflight;
        c->limit = c->nslots;
        c->slots = xcalloc(c->nslots, sizeof(struct slot));
        for (unsigned k = 0; k < c->nslots; k++) {
            c->slots[k].holds =
                xcalloc((size_t)per * KEYS_PER_EVENT, sizeof(struct hold));
            c->slots[k].evi = xcalloc(per, sizeof(size_t));
        }
    }
    return s;
}

int
sender_open(struct sender *s)
{
    const struct replay_opts *o = s->o;
    char err[512];
    int rc;

    if (o->trace != NULL) {
        s->trace = fopen(o->trace, "w");
        if (s->trace == NULL) {
            fprintf(stderr, REPLAY_PROGNAME ": cannot create '%s': %s\n",
                o->trace, strerror(errno));
            return ERR_IO;
        }
        fprintf(s->trace, "seq,conn,type,ts_ms,id,source,ip_country\n");
    }
    if (o->dry_run)
        return 0;
    s->ctx = zsock_ctx_new();
    if (s->ctx == NULL)
        return ERR_IO;
    for (unsigned i = 0; i < s->nalloc; i++) {
        struct conn *c = &s->conns[i];

        rc = zclient_connect(s->ctx, ZSOCK_DEALER,
            c->query ? &o->qconn : &o->conn, &c->sock, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, REPLAY_PROGNAME ": %s%s\n",
                c->query ? "query endpoint: " : "", err);
            return rc;
        }
        s->nconns++;
    }
    return 0;
}

void
sender_free(struct sender *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->nconns; i++)
        zsock_close(s->conns[i].sock);
    for (unsigned i = 0; i < s->nalloc; i++) {
        for (unsigned k = 0; k < s->conns[i].nslots; k++) {
            free(s->conns[i].slots[k].holds);
            free(s->conns[i].slots[k].evi);
        }
        free(s->conns[i].slots);
    }
    free(s->conns);
    zsock_ctx_term(s->ctx);
    if (s->trace != NULL && fclose(s->trace) != 0)
        fprintf(stderr, REPLAY_PROGNAME ": cannot write '%s': %s\n",
            s->o->trace, strerror(errno));
    buf_wipe_release(&s->body);
    buf_wipe_release(&s->frame);
    buf_wipe_release(&s->lbody);
    sodium_memzero(&s->pii, sizeof(s->pii));
    sodium_memzero(&s->q, sizeof(s->q));
    wire_dec_release(&s->dec);
    free(s->replies);
    free(s->keys);
    free(s->ahead);
    free(s);
}
