/*
 * run.c - vigil-load's connections: pacing, sending, matching replies
 *
 * One thread drives N DEALER sockets (common/zsock) through zsock_poll,
 * each with a pipeline of up to o->inflight requests. A timerfd in the
 * same poll set paces sends with nanosecond resolution, so a paced run
 * never busy-waits on a 2-core machine shared with the service; flat
 * out, the pipelines are refilled as replies arrive. Requests are
 * packed with sfproto_event_pack() and replies decoded strictly with
 * sfproto_replies_decode(): this file holds no msgpack of its own.
 *
 * Invariants:
 *  - no frame exceeds SFPROTO_MAX_MSG_BYTES or SFPROTO_MAX_BATCH events;
 *    a batch that would not fit is cut short and the event that did not
 *    fit opens the next request.
 *  - the events of one request have consecutive sequence numbers, and a
 *    request is found again by its first event's id, so reordered or
 *    late replies are never misattributed.
 *  - a reply frame that does not decode, or does not answer its request
 *    event by event in order, is malformed: its request's events are
 *    lost, and main() exits 1.
 *  - memory is fixed after start-up: histograms, not samples; the frame
 *    buffers and the decoder's zone are reused.
 *
 * See also: load.h, common/sfproto.h, common/zsock.h, tools/vigil-load.1
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/sig.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "tools/vigil-load/gen.h"
#include "tools/vigil-load/hist.h"
#include "tools/vigil-load/load.h"

/* One poll covers every connection and the pacing timer. */
_Static_assert(LOAD_MAX_CONNECTIONS + 1 <= ZSOCK_MAX_POLL,
    "zsock_poll cannot take every connection");

#define PROBE_WAIT_S  5
#define SEND_BUDGET   64          /* requests per send_some() call */
#define REPLY_ZONE    (64 * 1024) /* decoder chunk: a batch of replies */
#define DRY_RUN_CHUNK 64          /* requests between two clock reads */

/* A request in flight. */
struct slot {
    bool used;
    uint64_t first_seq; /* sequence number of its first event */
    uint32_t n;         /* events */
    uint32_t norders;   /* of which order.placed */
    uint64_t t0;        /* when it was (meant to be) sent, ns */
};

struct conn {
    void *sock;
    struct slot *slots; /* o->inflight, owned */
    unsigned inflight;  /* slots in use */
    bool blocked;       /* the last send hit the high-water mark */
};

/* An order remembered for --show until its reply arrives. */
struct shown {
    struct gen_info info;
    bool done;
};

struct run {
    const struct load_opts *o; /* borrowed */
    struct gen *g;             /* borrowed */
    struct load_stats *st;     /* borrowed */
    void *ctx;                 /* libzmq context, owned */
    struct conn *conns;        /* o->connections, owned */
    unsigned nconns;           /* sockets opened */
    unsigned total_inflight;   /* requests out over all connections */
    struct buf body;           /* the packed events of one request */
    struct buf frame;          /* a batch request: array header + body */
    struct event ev;           /* the next event to pack ... */
    struct event_pii pii;      /* ... its raw identifiers ... */
    struct gen_info evi;       /* ... and what gen said about it */
    bool carry;                /* ev did not fit: it opens the next frame */
    struct wire_dec dec;       /* reply decoder, zone reused */
    struct reply *replies;     /* SFPROTO_MAX_BATCH, owned */
    struct shown *show;        /* o->show, owned */
    unsigned nshow;            /* entries of show[] used */
    FILE *show_out;            /* where --show lines go */
    int tfd;                   /* pacing timerfd, or -1 */
};

/* ------------------------------------------------------------ requests */

static void
show_remember(struct run *r, const struct gen_info *gi)
{
    struct shown *s;

    if (r->nshow >= r->o->show)
        return;
    s = &r->show[r->nshow++];
    s->info = *gi;
    s->done = false;
}

/* Pack r->ev as one map at the end of r->body. Returns 0 or ERR_TOOBIG
 * (r->body unchanged). */
static int
pack_event(struct run *r)
{
    struct wire_enc e;

    wire_enc_begin(&e, &r->body);
    sfproto_event_pack(&e, &r->ev, &r->pii);
    return wire_enc_end(&e);
}

/*
 * Build the next request frame. Returns the frame start in `*data` and
 * its length; fills the slot's counts. A batch (B > 1) is an array even
 * when the size cap leaves a single event in it. The events of one frame
 * always have consecutive sequence numbers (a carried-over event is the
 * next one generated), which handle_reply relies on.
 */
static size_t
build_request(struct run *r, const uint8_t **data, struct slot *sl)
{
    uint64_t ts = clock_wall_ms();
    uint32_t n = 0, want = r->o->batch;
    int rc;

    /* The last request of an --events run carries only what is left. */
    if (r->o->max_events > 0 && r->o->max_events - r->st->sent < want)
        want = (uint32_t)(r->o->max_events - r->st->sent);
    sl->norders = 0;
    buf_reset(&r->body);
    while (n < want) {
        if (!r->carry) {
            gen_event(r->g, ts, &r->ev, &r->pii, &r->evi);
            r->carry = true;
        }
        /* A failed pack leaves the body as it was: the frame is full. */
        rc = pack_event(r);
        if (rc != 0)
            break;
        if (n == 0)
            sl->first_seq = r->evi.seq;
        if (r->evi.is_order) {
            sl->norders++;
            show_remember(r, &r->evi);
        }
        r->carry = false;
        n++;
    }
    if (n == 0)
        fatalx("%s: invariant: one event does not fit in a frame", __func__);
    sl->n = n;
    return wire_batch_frame(r->o->batch == 1, n, &r->body, &r->frame, data);
}

static int
conn_send(struct run *r, struct conn *c, uint64_t t0, uint32_t *nsent)
{
    struct slot *sl = NULL;
    const uint8_t *data;
    struct iovec iov[2];
    int n = 0, rc;

    for (unsigned i = 0; i < r->o->inflight; i++) {
        if (!c->slots[i].used) {
            sl = &c->slots[i];
            break;
        }
    }
    if (sl == NULL)
        return ERR_FULL;
    if (r->o->envelope) {
        iov[n].iov_base = NULL;
        iov[n++].iov_len = 0;
    }
    iov[n].iov_len = build_request(r, &data, sl);
    iov[n++].iov_base = (void *)(uintptr_t)data;
    rc = zsock_send_parts(c->sock, iov, n, ZSOCK_DONTWAIT);
    if (rc != 0)
        goto fail;
    sl->used = true;
    sl->t0 = t0;
    c->inflight++;
    r->total_inflight++;
    r->st->sent += sl->n;
    r->st->requests++;
    r->st->bytes += iov[n - 1].iov_len;
    *nsent = sl->n;
    return 0;

fail:
    /* The events are lost to this run (ids are never reused): count them. */
    if (rc == ERR_AGAIN) {
        c->blocked = true;
        r->st->sent += sl->n;
        r->st->timeouts += sl->n;
        return ERR_AGAIN;
    }
    fprintf(stderr, LOAD_PROGNAME ": send failed: %s\n", err_str(rc));
    return ERR_IO;
}

/* ------------------------------------------------------------- replies */

/* Parse "<tag>-<seq>" of this run; false for foreign ids. */
static bool
seq_of_id(const struct run *r, const char *id, uint64_t *seq)
{
    const char *tag = gen_tag(r->g);
    size_t tl = strlen(tag);
    char *end;

    if (strncmp(id, tag, tl) != 0 || id[tl] != '-' || id[tl + 1] < '0' ||
        id[tl + 1] > '9')
        return false;
    errno = 0;
    *seq = strtoull(id + tl + 1, &end, 10);
    return errno == 0 && *end == '\0';
}

static void
note_show(struct run *r, const struct reply *rep)
{
    uint64_t seq;

    if (r->nshow == 0 || !seq_of_id(r, rep->id, &seq))
        return;
    for (unsigned i = 0; i < r->nshow; i++) {
        struct shown *s = &r->show[i];

        if (s->info.seq == seq && !s->done) {
            s->done = true;
            report_order(r->show_out, &s->info, rep);
            return;
        }
    }
}

/* The request starting at `seq` when by_seq, else the oldest one out. */
static struct slot *
find_slot(struct conn *c, unsigned inflight, uint64_t seq, bool by_seq)
{
    struct slot *oldest = NULL;

    for (unsigned i = 0; i < inflight; i++) {
        struct slot *sl = &c->slots[i];

        if (!sl->used)
            continue;
        if (by_seq && sl->first_seq == seq)
            return sl;
        if (!by_seq && (oldest == NULL || sl->t0 < oldest->t0))
            oldest = sl;
    }
    return oldest;
}

static void
slot_free(struct run *r, struct conn *c, struct slot *sl)
{
    sl->used = false;
    c->inflight--;
    r->total_inflight--;
    c->blocked = false;
}

/*
 * Account one reply frame received on `c` at `t`. A frame that does not
 * decode, or whose replies do not answer its request one by one, is
 * malformed: its request's events become errors.
 */
static void
handle_reply(
    struct run *r, struct conn *c, const uint8_t *p, size_t len, uint64_t t)
{
    struct load_stats *st = r->st;
    struct slot *sl;
    uint32_t count = 0, good = 0, scored = 0, busy = 0;
    uint64_t seq = 0, lat, dec[ARRAY_LEN(st->decisions)] = { 0 };
    bool matched;
    int rc;

    rc = sfproto_replies_decode(
        &r->dec, p, len, r->replies, SFPROTO_MAX_BATCH, &count);
    if (rc != 0 || count == 0)
        goto malformed;
    /* The first reply's id finds the request. */
    matched = seq_of_id(r, r->replies[0].id, &seq);
    sl = find_slot(c, r->o->inflight, seq, matched);
    if (sl == NULL || (matched && sl->first_seq != seq)) {
        /* A reply to a request that already timed out. */
        st->late++;
        return;
    }
    /* One reply per event, or one frame-level error reply without id. */
    if (count != sl->n && !(count == 1 && r->replies[0].id[0] == '\0'))
        goto malformed_slot;
    for (uint32_t i = 0; i < count; i++) {
        const struct reply *rep = &r->replies[i];
        uint64_t rseq;

        /* Replies come in request order: ids are consecutive here. */
        if (rep->id[0] != '\0' &&
            (!seq_of_id(r, rep->id, &rseq) || rseq != sl->first_seq + i))
            goto malformed_slot;
        if (rep->code == 0)
            good++;
        else if (st->first_reject_code == 0)
            st->first_reject_code = (uint64_t)(-rep->code);
        if (rep->code == ERR_BUSY)
            busy++;
        if (rep->has_score) {
            scored++;
            dec[rep->decision]++;
        }
        note_show(r, rep);
    }
    /* Only an order gets a score. */
    if (scored > sl->norders)
        goto malformed_slot;
    for (size_t i = 0; i < ARRAY_LEN(dec); i++)
        st->decisions[i] += dec[i];
    /* A frame-level error reply answers every event of the request. */
    if (count == 1 && sl->n > 1) {
        count = sl->n;
        good = 0;
        busy = busy > 0 ? count : 0;
    }
    lat = t > sl->t0 ? t - sl->t0 : 0;
    st->answered += count;
    st->ok += good;
    st->rejected += count - good;
    st->orders += sl->norders;
    hist_add(&st->all, lat, count);
    hist_add(&st->tick, lat, count);
    if (sl->norders > 0)
        hist_add(&st->order, lat, sl->norders);
    /* How fast a saturated service says no (issue 12: within 5 ms). */
    st->busy += busy;
    if (busy > 0)
        hist_add(&st->busy_lat, lat, busy);
    st->tick_answered += count;
    st->tick_errors += count - good;
    slot_free(r, c, sl);
    return;

malformed:
    /* Nothing in the frame can be trusted: charge the oldest request. */
    sl = find_slot(c, r->o->inflight, 0, false);
    if (sl == NULL) {
        st->malformed++;
        return;
    }
malformed_slot:
    st->malformed++;
    st->lost += sl->n;
    st->tick_errors += sl->n;
    slot_free(r, c, sl);
}

/* conn_drain()'s zsock_drain() callback: one reply frame. */
struct drain {
    struct run *r;
    struct conn *c;
};

static void
drain_one(void *arg, const void *p, size_t len)
{
    struct drain *d = arg;

    handle_reply(d->r, d->c, p, len, clock_mono_ns());
}

/* Receive every reply waiting on `c`. Returns 0 or ERR_IO. */
static int
conn_drain(struct run *r, struct conn *c)
{
    struct drain d = { r, c };

    return zsock_drain(c->sock, drain_one, &d);
}

/* Count requests older than the timeout as errors. */
static void
expire(struct run *r, uint64_t now)
{
    uint64_t limit = (uint64_t)(r->o->timeout * (double)LOAD_NS_PER_S);

    for (unsigned i = 0; i < r->nconns; i++) {
        struct conn *c = &r->conns[i];

        for (unsigned j = 0; j < r->o->inflight && c->inflight > 0; j++) {
            struct slot *sl = &c->slots[j];

            if (sl->used && now > sl->t0 && now - sl->t0 > limit) {
                r->st->timeouts += sl->n;
                r->st->tick_errors += sl->n;
                slot_free(r, c, sl);
            }
        }
    }
}

/* ---------------------------------------------------------------- loop */

/* Arm the timerfd for absolute monotonic time `at` (ns). */
static void
timer_arm(struct run *r, uint64_t at)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / LOAD_NS_PER_S);
    its.it_value.tv_nsec = (long)(at % LOAD_NS_PER_S);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    if (timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        fatal("%s: timerfd_settime", __func__);
}

static bool
can_send(const struct run *r)
{
    for (unsigned i = 0; i < r->nconns; i++) {
        if (!r->conns[i].blocked && r->conns[i].inflight < r->o->inflight)
            return true;
    }
    return false;
}

/*
 * Send what the pacing schedule or the pipelines allow, round robin over
 * the connections, at most a bounded number of requests so that replies
 * are read in between. Returns 0 or ERR_IO.
 */
static int
send_some(struct run *r, uint64_t now, double *next_send, unsigned *rr)
{
    const struct load_opts *o = r->o;
    double ns_per_event = o->rate > 0 ? 1e9 / o->rate : 0;
    unsigned budget = SEND_BUDGET, idle = 0;

    while (budget > 0 && idle < r->nconns) {
        struct conn *c = &r->conns[*rr];
        uint64_t t0 = now;
        uint32_t nsent = 0;
        int rc;

        if (o->rate > 0 && (double)now < *next_send)
            break;
        if (o->max_events > 0 && r->st->sent >= o->max_events)
            break;
        *rr = (*rr + 1) % r->nconns;
        if (c->blocked || c->inflight >= o->inflight) {
            idle++;
            continue;
        }
        if (o->rate > 0)
            t0 = (uint64_t)*next_send; /* no coordinated omission */
        rc = conn_send(r, c, t0, &nsent);
        if (rc == ERR_IO)
            return rc;
        if (o->rate > 0)
            *next_send += ns_per_event * (nsent > 0 ? nsent : o->batch);
        budget--;
        idle = 0;
    }
    return 0;
}

int
run_loop(struct run *r, uint64_t *elapsed)
{
    const struct load_opts *o = r->o;
    struct zsock_pollitem *items = xcalloc(r->nconns + 1, sizeof(*items));
    uint64_t start = clock_mono_ns();
    uint64_t end = start + (uint64_t)(o->duration * (double)LOAD_NS_PER_S);
    uint64_t next_tick = start + LOAD_NS_PER_S, armed = 0, stop_at = 0;
    uint64_t drain_limit = (uint64_t)(o->timeout * (double)LOAD_NS_PER_S);
    double next_send = (double)start;
    unsigned rr = 0;
    bool stopping = false;
    int rc = 0;

    for (unsigned i = 0; i < r->nconns; i++) {
        items[i].sock = r->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
    }
    items[r->nconns].fd = r->tfd;
    items[r->nconns].events = ZSOCK_POLLIN;

    for (;;) {
        uint64_t now = clock_mono_ns(), deadline;
        bool room;
        long ms = -1;

        if (!stopping &&
            (now >= end || sig_stop ||
                (o->max_events > 0 && r->st->sent >= o->max_events))) {
            stopping = true;
            stop_at = now;
        }
        if (stopping &&
            (r->total_inflight == 0 || now - stop_at > drain_limit ||
                sig_stop > 1))
            break;
        if (!stopping) {
            rc = send_some(r, now, &next_send, &rr);
            if (rc != 0)
                goto out;
        }
        if (now >= next_tick) {
            expire(r, now);
            for (unsigned i = 0; i < r->nconns; i++)
                r->conns[i].blocked = false;
            report_progress(
                o, r->st, (double)(now - start) / 1e9, r->total_inflight);
            next_tick += LOAD_NS_PER_S;
        }

        /* Sleep until a reply, the next paced send, the end or a tick. */
        room = !stopping && can_send(r);
        deadline = next_tick;
        if (stopping && stop_at + drain_limit < deadline)
            deadline = stop_at + drain_limit;
        if (!stopping && end < deadline)
            deadline = end;
        if (room && o->rate > 0 && (uint64_t)next_send < deadline)
            deadline = (uint64_t)next_send;
        if ((room && o->rate == 0) || deadline <= clock_mono_ns()) {
            ms = 0;
        } else if (deadline != armed) {
            timer_arm(r, deadline);
            armed = deadline;
        }
        rc = zsock_poll(items, (int)r->nconns + 1, ms, NULL);
        if (rc != 0 && rc != ERR_AGAIN) {
            fprintf(stderr, LOAD_PROGNAME ": poll failed: %s\n", err_str(rc));
            rc = ERR_IO;
            goto out;
        }
        rc = 0;
        if (items[r->nconns].revents & ZSOCK_POLLIN) {
            uint64_t expirations;

            if (read(r->tfd, &expirations, sizeof(expirations)) < 0 &&
                errno != EAGAIN)
                fatal("%s: read timerfd", __func__);
            armed = 0;
        }
        for (unsigned i = 0; i < r->nconns; i++) {
            if (items[i].revents & ZSOCK_POLLIN) {
                rc = conn_drain(r, &r->conns[i]);
                if (rc != 0)
                    goto out;
            }
        }
    }
    /* Whatever is still out after the drain period timed out. */
    expire(r, UINT64_MAX);
out:
    *elapsed = clock_mono_ns() - start;
    free(items);
    return rc;
}

void
run_dry(struct run *r, uint64_t *elapsed)
{
    const struct load_opts *o = r->o;
    uint64_t start = clock_mono_ns();
    uint64_t end = start + (uint64_t)(o->duration * (double)LOAD_NS_PER_S);
    struct load_stats *st = r->st;
    struct slot sl;
    const uint8_t *data;

    while (!sig_stop) {
        for (int i = 0; i < DRY_RUN_CHUNK; i++) {
            if (o->max_events > 0 && st->sent >= o->max_events)
                break;
            st->bytes += build_request(r, &data, &sl);
            st->sent += sl.n;
            st->requests++;
            st->answered += sl.n;
            st->ok += sl.n;
            st->orders += sl.norders;
        }
        if (clock_mono_ns() >= end ||
            (o->max_events > 0 && st->sent >= o->max_events))
            break;
    }
    *elapsed = clock_mono_ns() - start;
}

/* --------------------------------------------------------------- probe */

/* Send the probe on every connection. Returns 0 or ERR_UNAVAIL. */
static int
probe_send(struct run *r)
{
    for (unsigned i = 0; i < r->nconns; i++) {
        struct iovec iov[2] = { { NULL, 0 }, { NULL, 0 } };

        gen_probe(r->g, clock_wall_ms(), &r->ev, &r->pii);
        buf_reset(&r->body);
        if (pack_event(r) != 0)
            fatalx("%s: invariant: the probe does not fit", __func__);
        iov[1].iov_base = r->body.data;
        iov[1].iov_len = r->body.len;
        /* Blocking sends: a DEALER queues until it is connected. */
        if (zsock_send_parts(r->conns[i].sock, r->o->envelope ? iov : iov + 1,
                r->o->envelope ? 2 : 1, 0) != 0) {
            fprintf(stderr, LOAD_PROGNAME ": cannot send to '%s'\n",
                r->o->conn.endpoint);
            return ERR_UNAVAIL;
        }
    }
    return 0;
}

int
run_probe(struct run *r)
{
    struct zsock_pollitem *items = xcalloc(r->nconns, sizeof(*items));
    bool *done = xcalloc(r->nconns, sizeof(*done));
    uint64_t deadline = clock_mono_ns() + PROBE_WAIT_S * LOAD_NS_PER_S;
    unsigned ndone = 0;
    struct zsock_msg msg;
    int rc;

    for (unsigned i = 0; i < r->nconns; i++) {
        items[i].sock = r->conns[i].sock;
        items[i].events = ZSOCK_POLLIN;
    }
    rc = probe_send(r);
    if (rc != 0)
        goto out;
    while (ndone < r->nconns) {
        uint64_t now = clock_mono_ns();

        if (now >= deadline || sig_stop) {
            fprintf(stderr,
                LOAD_PROGNAME ": no reply from '%s' within %d s "
                              "(%u of %u connections answered); is "
                              "vigil-collector running there?\n",
                r->o->conn.endpoint, PROBE_WAIT_S, ndone, r->nconns);
            rc = ERR_UNAVAIL;
            goto out;
        }
        rc = zsock_poll(items, (int)r->nconns,
            (long)((deadline - now) / 1000000 + 1), NULL);
        if (rc != 0 && rc != ERR_AGAIN) {
            fprintf(stderr, LOAD_PROGNAME ": poll failed: %s\n", err_str(rc));
            rc = ERR_UNAVAIL;
            goto out;
        }
        rc = 0;
        for (unsigned i = 0; i < r->nconns; i++) {
            uint32_t n = 0;

            if (!(items[i].revents & ZSOCK_POLLIN) || done[i])
                continue;
            if (zsock_recv_msg(r->conns[i].sock, &msg, ZSOCK_DONTWAIT) != 0)
                continue;
            rc = sfproto_replies_decode(&r->dec,
                zsock_msg_data(&msg, msg.nparts - 1),
                zsock_msg_size(&msg, msg.nparts - 1), r->replies, 1, &n);
            zsock_msg_close(&msg);
            if (rc != 0 || n != 1) {
                fprintf(stderr,
                    LOAD_PROGNAME ": the reply to the probe from "
                                  "'%s' is not a reply map\n",
                    r->o->conn.endpoint);
                rc = ERR_MALFORMED;
                goto out;
            }
            if (r->replies[0].code != 0 && ndone == 0)
                fprintf(stderr,
                    LOAD_PROGNAME ": warning: probe event rejected:"
                                  " %s: %s\n",
                    err_name(r->replies[0].code), r->replies[0].msg);
            done[i] = true;
            ndone++;
        }
    }
out:
    free(done);
    free(items);
    return rc;
}

/* ----------------------------------------------------------- lifecycle */

struct run *
run_new(const struct load_opts *o, struct gen *g, struct load_stats *st)
{
    struct run *r = xcalloc(1, sizeof(*r));

    r->o = o;
    r->g = g;
    r->st = st;
    r->tfd = -1;
    /* A batch frame is an array header and the packed events: leave the
     * body room for the longest header the codec writes. */
    buf_init(&r->body,
        wire_batch_body_cap(
            SFPROTO_MAX_MSG_BYTES, o->batch > 1 ? SFPROTO_MAX_BATCH : 1));
    buf_init(&r->frame, SFPROTO_MAX_MSG_BYTES);
    wire_dec_init(&r->dec, REPLY_ZONE);
    r->replies = xcalloc(SFPROTO_MAX_BATCH, sizeof(*r->replies));
    r->show = o->show > 0 ? xcalloc(o->show, sizeof(*r->show)) : NULL;
    r->show_out = o->json ? stderr : stdout;
    return r;
}

int
run_open(struct run *r)
{
    const struct load_opts *o = r->o;

    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0) {
        fprintf(
            stderr, LOAD_PROGNAME ": timerfd_create: %s\n", strerror(errno));
        return ERR_IO;
    }
    r->ctx = zsock_ctx_new();
    if (r->ctx == NULL)
        return ERR_IO;
    r->conns = xcalloc(o->connections, sizeof(*r->conns));
    for (unsigned i = 0; i < o->connections; i++) {
        struct conn *c = &r->conns[i];

        c->slots = xcalloc(o->inflight, sizeof(*c->slots));
        char err[512];
        int rc;

        rc = zclient_connect(
            r->ctx, ZSOCK_DEALER, &o->conn, &c->sock, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, LOAD_PROGNAME ": %s\n", err);
            return rc;
        }
        r->nconns++;
    }
    return 0;
}

unsigned
run_connections(const struct run *r)
{
    return r->nconns;
}

void
run_free(struct run *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < r->nconns; i++)
        zsock_close(r->conns[i].sock);
    if (r->conns != NULL) {
        for (unsigned i = 0; i < r->o->connections; i++)
            free(r->conns[i].slots);
    }
    free(r->conns);
    zsock_ctx_term(r->ctx);
    if (r->tfd >= 0)
        close(r->tfd);
    /* The frames held synthetic personal data: wipe them all the same. */
    buf_wipe_release(&r->body);
    buf_wipe_release(&r->frame);
    sodium_memzero(&r->pii, sizeof(r->pii));
    wire_dec_release(&r->dec);
    free(r->replies);
    free(r->show);
    free(r);
}
