/*
 * ingest_queue.c - the collector's pending ring and fair share: slots
 *                  for requests waiting on the scorer, per-storefront
 *                  queues, the fast lane, the dispatch
 *
 * Split out of ingest.c (issue 10: no file over about 1,200 lines); one
 * module with it, sharing ingest_int.h. Pending slots form a ring
 * indexed by tag modulo INGEST_MAX_PENDING. A request that cannot go at
 * once waits on its storefront's list; the storefronts with queued
 * requests form a ring that ingest_dispatch() walks, one request per
 * storefront per turn, after the fast lane of order-only requests,
 * while the scorer has fewer than `window` events in flight. The
 * invariants are in ingest.c's header. Collector thread only.
 *
 * See also: ingest.c, ingest_int.h, collector.8
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "collector/ingest_int.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"

/* ------------------------------------------------------------ pending ring */

struct pending *
ingest_slot(struct ingest *in, uint64_t tag)
{
    return &in->slots[tag % INGEST_MAX_PENDING];
}

static uint32_t
ingest_slot_index(const struct ingest *in, const struct pending *p)
{
    return (uint32_t)(p - in->slots);
}

/* Take a free slot under a fresh tag; NULL when all are in use. */
struct pending *
ingest_slot_alloc(struct ingest *in)
{
    uint32_t i;

    if (in->npending >= INGEST_MAX_PENDING ||
        in->held_bytes >= INGEST_MAX_HELD_BYTES)
        return NULL;
    /* A free slot exists, so this ends within one lap of the ring. */
    for (i = 0; i < INGEST_MAX_PENDING; i++) {
        uint64_t tag = in->next_tag++;
        struct pending *p = ingest_slot(in, tag);

        if (!p->used) {
            p->used = true;
            p->queued = false;
            p->tag = tag;
            p->n = p->nfwd = p->nerr = 0;
            p->client = NULL;
            p->qnext = p->qprev = INGEST_NONE;
            buf_reset(&p->errs);
            buf_reset(&p->ids);
            buf_reset(&p->frame);
            in->npending++;
            return p;
        }
    }
    return NULL;
}

/* Put client `c` on the ring, just before the one served next. */
static void
ingest_ring_add(struct ingest *in, struct ingest_client *c)
{
    if (c->on_ring)
        return;
    c->on_ring = true;
    if (in->ring == NULL) {
        c->rnext = c->rprev = c;
        in->ring = c;
        return;
    }
    c->rnext = in->ring;
    c->rprev = in->ring->rprev;
    c->rprev->rnext = c;
    in->ring->rprev = c;
}

static void
ingest_ring_remove(struct ingest *in, struct ingest_client *c)
{
    if (!c->on_ring)
        return;
    c->on_ring = false;
    if (c->rnext == c) {
        in->ring = NULL;
    } else {
        c->rprev->rnext = c->rnext;
        c->rnext->rprev = c->rprev;
        if (in->ring == c)
            in->ring = c->rnext;
    }
    c->rnext = c->rprev = NULL;
}

/* Append slot `p` (its frame encoded) to its client's queue. */
void
ingest_enqueue(struct ingest *in, struct pending *p)
{
    struct ingest_client *c = p->client;
    uint32_t idx = ingest_slot_index(in, p);

    p->queued = true;
    p->qnext = INGEST_NONE;
    in->nqueued++;
    if (p->fast) {
        p->qprev = in->ftail;
        if (in->ftail != INGEST_NONE)
            in->slots[in->ftail].qnext = idx;
        else
            in->fhead = idx;
        in->ftail = idx;
        c->nfast++;
        return;
    }
    p->qprev = c->qtail;
    if (c->qtail != INGEST_NONE)
        in->slots[c->qtail].qnext = idx;
    else
        c->qhead = idx;
    c->qtail = idx;
    c->nqueued++;
    c->queued_events += p->nfwd;
    ingest_ring_add(in, c);
}

/* Take queued slot `p` off its client's queue. */
static void
ingest_unqueue(struct ingest *in, struct pending *p)
{
    struct ingest_client *c = p->client;
    uint32_t *head = p->fast ? &in->fhead : &c->qhead;
    uint32_t *tail = p->fast ? &in->ftail : &c->qtail;

    if (!p->queued)
        return;
    if (p->qprev != INGEST_NONE)
        in->slots[p->qprev].qnext = p->qnext;
    else
        *head = p->qnext;
    if (p->qnext != INGEST_NONE)
        in->slots[p->qnext].qprev = p->qprev;
    else
        *tail = p->qprev;
    p->queued = false;
    p->qnext = p->qprev = INGEST_NONE;
    in->nqueued--;
    if (p->fast) {
        c->nfast--;
        return;
    }
    c->nqueued--;
    c->queued_events -= p->nfwd;
    if (c->nqueued == 0)
        ingest_ring_remove(in, c);
}

void
ingest_slot_free(struct ingest *in, struct pending *p)
{
    if (p->queued) {
        ingest_unqueue(in, p);
    } else if (p->client != NULL && p->nfwd > 0) {
        /* Sent: its events leave the window. */
        in->inflight_events -= p->nfwd;
        p->client->inflight -= p->nfwd;
    }
    in->held_bytes -= p->held;
    p->held = 0;
    /* Event ids are the storefront's words: they may be anything. */
    if (p->ids.len > 0)
        sodium_memzero(p->ids.data, p->ids.len);
    if (p->errs.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->errs);
    if (p->ids.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->ids);
    if (p->frame.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->frame);
    if (p->errcap > INGEST_KEEP_ERRS) {
        free(p->err_pos);
        free(p->err_off);
        p->err_pos = p->err_off = NULL;
        p->errcap = 0;
    }
    buf_reset(&p->errs);
    buf_reset(&p->ids);
    buf_reset(&p->frame);
    p->client = NULL;
    p->nfwd = 0;
    p->used = false;
    in->npending--;
}

/* Record the local error reply of position `pos` in `p`. */
int
ingest_slot_add_error(struct ingest *in, struct pending *p, uint32_t pos,
    const struct sfproto_item *it)
{
    uint32_t off = (uint32_t)p->errs.len;
    int rc;

    if (p->nerr == p->errcap) {
        uint32_t cap = p->errcap ? p->errcap * 2 : 8;

        p->err_pos = xreallocarray(p->err_pos, cap, sizeof(*p->err_pos));
        p->err_off = xreallocarray(p->err_off, cap, sizeof(*p->err_off));
        p->errcap = cap;
    }
    rc = ingest_encode_error(in, &p->errs, it->id, it->rc, it->msg, 0);
    if (rc != 0)
        return rc;
    p->err_pos[p->nerr] = pos;
    p->err_off[p->nerr] = off;
    p->nerr++;
    return 0;
}

/*
 * Answer pending request `p`: merge the `ns` scorer replies `sr` (may be
 * NULL) with the local errors in the storefront's order; forwarded
 * events without a scorer reply get `code`/`msg`. Frees the slot.
 */
void
ingest_answer(struct ingest *in, struct pending *p, const struct reply *sr,
    uint32_t ns, int code, const char *msg)
{
    const struct zsock_route *env = &p->route;
    const char *id = (const char *)p->ids.data;
    uint32_t i, e = 0, j = 0;
    int rc = 0;

    buf_reset(&in->rep);
    if (p->is_array)
        rc = wire_array_header(&in->rep, p->n);
    for (i = 0; i < p->n && rc == 0; i++) {
        if (e < p->nerr && p->err_pos[e] == i) {
            size_t end = e + 1 < p->nerr ? p->err_off[e + 1] : p->errs.len;

            rc = buf_append(
                &in->rep, p->errs.data + p->err_off[e], end - p->err_off[e]);
            e++;
            continue;
        }
        if (sr != NULL && j < ns) {
            /* The scorer knows only the id's pseudonym: the storefront
             * gets its own id back from here. */
            in->scratch = sr[j];
            TEXT_COPY(in->scratch.id, id);
            rc = reply_encode(&in->rep, &in->scratch);
            ingest_count(in, p->client, sr[j].code, 1);
        } else {
            rc = ingest_encode_error(in, &in->rep, id, code, msg, 0);
            ingest_count(in, p->client, code, 1);
        }
        id += strlen(id) + 1;
        j++;
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode replies: %s", __func__, err_str(rc));
        buf_reset(&in->rep);
        rc = ingest_encode_error(
            in, &in->rep, "", rc, "reply too big to encode", 0);
    }
    if (rc == 0)
        ingest_send_reply(in, env, in->rep.data, in->rep.len);
    ingest_observe(in, p->client, p->t0_us);
    ingest_slot_free(in, p);
}

/* ---------------------------------------------------------- fair share */

/* Send queued slot `p`'s frame to the scorer. Returns as zsock_send. */
static int
ingest_send(struct ingest *in, struct pending *p)
{
    struct iovec iov;
    int rc;

    iov.iov_base = p->frame.data;
    iov.iov_len = p->frame.len;
    /* The fast lane's requests on their own pipe: the scorer reads them
     * ahead of the batches already waiting there (ipcproto.h). */
    rc = zsock_send_parts(
        p->fast ? in->fast : in->back, &iov, 1, ZSOCK_DONTWAIT);
    if (rc != 0)
        return rc;
    in->st.batches++;
    in->st.forwarded += p->nfwd;
    in->inflight_events += p->nfwd;
    p->client->inflight += p->nfwd;
    in->held_bytes -= p->frame.len;
    p->held -= p->frame.len;
    if (p->frame.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->frame);
    buf_reset(&p->frame);
    return 0;
}

/*
 * Send queued requests while the scorer has room in the window: the fast
 * lane's first (oldest first, in the window and its headroom), then one
 * per storefront in turn (round-robin over the ring), oldest first
 * within each. Returns ERR_SHUTDOWN when the socket is gone, else 0.
 */
int
ingest_dispatch(struct ingest *in)
{
    for (;;) {
        struct ingest_client *c = in->ring;
        struct pending *p;
        int rc;

        if (in->fhead != INGEST_NONE &&
            in->inflight_events < in->window + INGEST_FAST_HEADROOM) {
            /* The fast lane first: orders go ahead of bulk batches. */
            p = &in->slots[in->fhead];
        } else if (c != NULL && in->inflight_events < in->window) {
            p = &in->slots[c->qhead];
            /* The next turn is the next client's, whatever happens here. */
            in->ring = c->rnext;
        } else {
            break;
        }
        ingest_unqueue(in, p);
        rc = ingest_send(in, p);
        if (rc == 0) {
            crashpoint("collector.sent");
            continue;
        }
        in->st.busy++;
        ingest_answer(in, p, NULL, 0, ERR_UNAVAIL,
            rc == ERR_AGAIN ? "scorer queue full" : "cannot reach the scorer");
        if (rc == ERR_SHUTDOWN)
            return rc;
    }
    return 0;
}

/* Update the scorer's pace from the events it answered. */
void
ingest_pace(struct ingest *in, uint32_t answered)
{
    uint64_t now = clock_mono_ms();

    in->drained += answered;
    if (in->pace_ms == 0) {
        in->pace_ms = now;
        in->pace_drained = in->drained;
        return;
    }
    if (now - in->pace_ms >= 100) {
        double eps = (double)(in->drained - in->pace_drained) * 1000.0 /
            (double)(now - in->pace_ms);

        in->pace_eps = in->pace_eps == 0 ? eps : 0.7 * in->pace_eps + 0.3 * eps;
        in->pace_ms = now;
        in->pace_drained = in->drained;
    }
}

/*
 * How long client `c`'s queued and in-flight events take to drain at its
 * share of the scorer's recent pace, in ms (1..60000); 100 while the
 * pace is not known yet. The retry hint of a "busy" for its queue.
 */
uint32_t
ingest_queue_retry(const struct ingest *in, const struct ingest_client *c)
{
    double share, ms;
    unsigned active = 1;
    const struct ingest_client *r = in->ring;

    if (r != NULL) {
        active = 0;
        do {
            active++;
            r = r->rnext;
        } while (r != in->ring && active < 1000);
    }
    share = in->pace_eps / active;
    if (share < 1)
        return 100;
    ms = (double)(c->queued_events + c->inflight) * 1000.0 / share;
    if (ms < 1)
        ms = 1;
    if (ms > 60000)
        ms = 60000;
    return (uint32_t)ms;
}
