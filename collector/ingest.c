/*
 * ingest.c - the collector's request path: storefront frames in, scorer
 *            batches out, replies merged back
 *
 * Runs in the collector's single thread. A storefront frame arrives on
 * the ROUTER as [identity, (empty delimiter)?, body]; the body is
 * decoded into the reused proto_batch, valid events are pseudonymized
 * and forwarded as one IPCPROTO_EVENTS frame, and a pending slot keeps
 * what is needed to answer: the envelope, the positions and encoded
 * bytes of the local error replies, the ids of the forwarded events and
 * the deadline. Pending slots form a ring indexed by tag modulo
 * INGEST_MAX_PENDING, so lookup is one array access.
 *
 * A request that passed its storefront's quota is queued on that
 * storefront's list (slot indices) when it cannot go at once; the
 * storefronts with queued requests form a ring that ingest_dispatch()
 * walks, one request per storefront per turn, while the scorer has
 * fewer than `window_events` events in flight. A queued slot holds the
 * encoded IPCPROTO_EVENTS frame (pseudonymized) until it is sent.
 *
 * The fast lane (issue 11 item 3): a request of at most
 * INGEST_FAST_EVENTS events that are all orders, from a client with
 * fewer than INGEST_FAST_QUEUED such requests waiting, is queued on one
 * FIFO that ingest_dispatch() empties before it serves the ring, and may
 * exceed the window by INGEST_FAST_HEADROOM events: a storefront's
 * order never waits in the collector behind bulk batches, its own or
 * another's. Its quota still applies; the queue bounds do not (it waits
 * behind other orders only).
 *
 * A storefront over its event quota that sends again before the
 * retry_after_ms of its last quota `busy` (it ignores the hint) gets its
 * next `busy` replies held, up to busy_hold_ms (at most the hint), on a
 * bounded FIFO (INGEST_MAX_HELD) released by ingest_expire(): a client
 * flooding in a closed loop then costs the collector, and the machine,
 * a few frames per hold instead of thousands per second (issue 12: one
 * client's flood raised another's order latency). The first `busy`
 * after a pause is answered at once.
 *
 * Invariants:
 *  - a slot is in use iff slot->used; then slot->tag % INGEST_MAX_PENDING
 *    is its index, and tags (hence deadlines) grow in allocation order.
 *  - every tag below in->oldest_tag has been answered.
 *  - held_bytes is the sum of `held` over used slots.
 *  - a used slot is either queued (on its client's list, or on the fast
 *    lane iff p->fast; not sent) or sent (counted in inflight_events and
 *    its client's); a client is on the ring iff its list is not empty.
 *
 * The pending ring and the fair share (queues, fast lane, dispatch) are
 * in ingest_queue.c; the structures both files use in ingest_int.h.
 *
 * See also: ingest.h, ingest_queue.c, ingest_int.h, collector.8,
 *           sfproto.h, ipcproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "collector/ingest.h"
#include "collector/ingest_int.h"
#include "common/buf.h"
#include "common/cert.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/log.h"
#include "common/ipcproto.h"
#include "common/sfproto.h"
#include "common/pseudo.h"
#include "common/xmalloc.h"
#include "common/text.h"
#include "common/zsock.h"

static const char *const ingest_l_client[] = { "client" };
static const char *const ingest_l_client_code[] = { "client", "code" };
static const char *const ingest_l_client_reason[] = { "client", "reason" };

static struct prom_series *
ingest_gauge(
    struct prom *r, enum prom_type t, const char *name, const char *help)
{
    return prom_get0(prom_family_add(r, t, name, help, 0, NULL));
}

/* Add the collector's request-path families to `r`. */
static void
ingest_metrics_init(struct ingest *in, struct prom *r)
{
    in->reg = r;
    in->f_requests =
        prom_family_add(r, PROM_COUNTER, "vigil_collector_requests_total",
            "storefront frames received, by storefront", 1, ingest_l_client);
    in->f_replies =
        prom_family_add(r, PROM_COUNTER, "vigil_collector_replies_total",
            "replies to storefront events (and refused frames), by storefront "
            "and code",
            2, ingest_l_client_code);
    in->f_busy = prom_family_add(r, PROM_COUNTER, "vigil_collector_busy_total",
        "requests answered busy, by storefront and reason (rate: over its "
        "quota; queue: its queue is full; pending: the collector is full)",
        2, ingest_l_client_reason);
    in->f_duration = prom_family_add(r, PROM_HISTOGRAM,
        "vigil_collector_request_duration_seconds",
        "time from a storefront frame's arrival to its reply, by storefront", 1,
        ingest_l_client);
    in->g_pending =
        ingest_gauge(r, PROM_GAUGE, "vigil_collector_pending_requests",
            "requests waiting for a reply (queued or at the scorer)");
    in->g_queued =
        ingest_gauge(r, PROM_GAUGE, "vigil_collector_queued_requests",
            "requests queued in the collector, not yet sent to the scorer");
    in->g_inflight =
        ingest_gauge(r, PROM_GAUGE, "vigil_collector_inflight_events",
            "events sent to the scorer and not yet answered");
    in->g_window = ingest_gauge(r, PROM_GAUGE, "vigil_collector_window_events",
        "events the collector may have in flight to the scorer");
    in->c_forwarded = ingest_gauge(r, PROM_COUNTER,
        "vigil_collector_forwarded_events_total", "events sent to the scorer");
    in->c_batches = ingest_gauge(r, PROM_COUNTER,
        "vigil_collector_forwarded_batches_total", "frames sent to the scorer");
    in->c_timeouts =
        ingest_gauge(r, PROM_COUNTER, "vigil_collector_timeouts_total",
            "requests answered unavailable at their deadline");
    in->c_held =
        ingest_gauge(r, PROM_COUNTER, "vigil_collector_busy_held_total",
            "busy replies held (at most quota_busy_hold_ms) because the "
            "storefront sent again before its retry_after_ms");
    in->c_late = ingest_gauge(r, PROM_COUNTER, "vigil_collector_late_total",
        "scorer replies that came after their request's deadline");
    in->c_bad_scorer =
        ingest_gauge(r, PROM_COUNTER, "vigil_collector_bad_scorer_frames_total",
            "frames from the scorer that did not decode");
}

void
ingest_set_limits(struct ingest *in, const struct ingest_limits *lim)
{
    in->timeout_ms = lim->timeout_ms > 0 ? (uint64_t)lim->timeout_ms : 1;
    in->window = lim->window_events > 0 ? lim->window_events : 1;
    in->queue_max = lim->queue_max > 0 ? lim->queue_max : 1;
    in->queue_wait_ms = lim->queue_wait_ms;
    in->busy_hold_ms = lim->busy_hold_ms;
}

struct ingest *
ingest_new(void *front, void *back, void *fast, const struct pseudo_key *key,
    const struct ingest_limits *lim, const struct quota_config *quotas,
    struct prom *reg)
{
    struct ingest *in = xcalloc(1, sizeof(*in));
    size_t i;

    in->front = front;
    in->back = back;
    in->fast = fast;
    in->key = key;
    ingest_set_limits(in, lim);
    in->clients = quota_table_new(quotas);
    in->fhead = in->ftail = INGEST_NONE;
    ingest_metrics_init(in, reg);
    sfproto_batch_init(&in->batch);
    wire_dec_init(&in->rdec, 64 * 1024);
    buf_init(&in->rep, IPCPROTO_MAX_BYTES);
    in->sreplies = xcalloc(SFPROTO_MAX_BATCH, sizeof(*in->sreplies));
    in->slots = xcalloc(INGEST_MAX_PENDING, sizeof(*in->slots));
    in->held = xcalloc(INGEST_MAX_HELD, sizeof(*in->held));
    for (i = 0; i < INGEST_MAX_HELD; i++)
        buf_init(&in->held[i].body, IPCPROTO_MAX_BYTES);
    for (i = 0; i < INGEST_MAX_PENDING; i++) {
        buf_init(&in->slots[i].errs, IPCPROTO_MAX_BYTES);
        buf_init(&in->slots[i].ids, IPCPROTO_MAX_BYTES);
        buf_init(&in->slots[i].frame, IPCPROTO_MAX_BYTES);
    }
    /*
     * Start the tags at a random point so a restarted collector never
     * takes a late reply meant for its predecessor as its own.
     */
    in->next_tag = ((uint64_t)randombytes_random() << 20) + 1;
    in->oldest_tag = in->next_tag;
    in->last_note_ms = 0;
    return in;
}

static void
ingest_client_free(void *arg, struct quota_client *qc)
{
    (void)arg;
    free(qc->user);
    qc->user = NULL;
}

void
ingest_free(struct ingest *in)
{
    size_t i;

    if (in == NULL)
        return;
    for (i = 0; i < INGEST_MAX_PENDING; i++) {
        buf_release(&in->slots[i].errs);
        buf_release(&in->slots[i].ids);
        buf_release(&in->slots[i].frame);
        free(in->slots[i].err_pos);
        free(in->slots[i].err_off);
    }
    for (i = 0; i < INGEST_MAX_HELD; i++)
        buf_release(&in->held[i].body);
    free(in->held);
    quota_table_each(in->clients, ingest_client_free, NULL);
    quota_table_free(in->clients);
    free(in->slots);
    free(in->sreplies);
    buf_release(&in->rep);
    sfproto_batch_release(&in->batch);
    wire_dec_release(&in->rdec);
    sodium_memzero(in, sizeof(*in));
    free(in);
}

uint32_t
ingest_pending(const struct ingest *in)
{
    return in->npending;
}

void
ingest_metrics_refresh(struct ingest *in)
{
    prom_set(in->g_pending, in->npending);
    prom_set(in->g_queued, in->nqueued);
    prom_set(in->g_inflight, in->inflight_events);
    prom_set(in->g_window, in->window);
    prom_set(in->c_forwarded, (double)in->st.forwarded);
    prom_set(in->c_batches, (double)in->st.batches);
    prom_set(in->c_timeouts, (double)in->st.timeouts);
    prom_set(in->c_late, (double)in->st.late);
    prom_set(in->c_held, (double)in->st.held);
    prom_set(in->c_bad_scorer, (double)in->st.bad_scorer);
}

/* The state of storefront `name`, made on first use. */
static struct ingest_client *
ingest_client(struct ingest *in, const char *name)
{
    struct quota_client *qc = quota_client_get(in->clients, name);
    struct ingest_client *c = qc->user;

    if (c != NULL)
        return c;
    c = xcalloc(1, sizeof(*c));
    c->qc = qc;
    c->qhead = c->qtail = INGEST_NONE;
    c->requests = prom_get1(in->f_requests, qc->name);
    c->duration = prom_get1(in->f_duration, qc->name);
    c->busy_rate = prom_get2(in->f_busy, qc->name, "rate");
    c->busy_queue = prom_get2(in->f_busy, qc->name, "queue");
    qc->user = c;
    return c;
}

/* Count `n` replies of code `code` to client `c` (NULL: nobody known). */
void
ingest_count(struct ingest *in, struct ingest_client *c, int code, uint32_t n)
{
    int k = -code;

    if (n == 0 || k < 0 || k >= ERR_COUNT)
        return;
    if (c == NULL) {
        prom_inc(prom_get2(in->f_replies, "_none", err_name(code)), n);
        return;
    }
    if (c->codes[k] == NULL)
        c->codes[k] = prom_get2(in->f_replies, c->qc->name, err_name(code));
    prom_inc(c->codes[k], n);
}

void
ingest_log_stats(const struct ingest *in, bool info)
{
    const struct ingest_stats *s = &in->st;
    char line[512];

    snprintf(line, sizeof(line),
        "frames %" PRIu64 " (rejected %" PRIu64 "), events ok %" PRIu64
        " rejected %" PRIu64 " forwarded %" PRIu64 " in %" PRIu64
        " batches, replies %" PRIu64 ", timeouts %" PRIu64 ", busy %" PRIu64
        " (held %" PRIu64 "), late %" PRIu64 ", bad scorer frames %" PRIu64
        ", pending %" PRIu32,
        s->frames, s->frames_rejected, s->events_ok, s->events_rejected,
        s->forwarded, s->batches, s->replies, s->timeouts, s->busy, s->held,
        s->late, s->bad_scorer, in->npending);
    if (info)
        log_info("%s", line);
    else
        log_debug("%s", line);
}

/*
 * Note one piece of rejected input, at most one line per
 * INGEST_LOG_EVERY_MS. `msg` comes from the decoder and names the field
 * and the rule, never the value.
 */
static void
ingest_note(struct ingest *in, int rc, const char *what, const char *msg)
{
    uint64_t now = clock_mono_ms();

    if (in->last_note_ms != 0 && now - in->last_note_ms < INGEST_LOG_EVERY_MS) {
        in->notes_suppressed++;
        return;
    }
    log_info("rejected %s: %s: %s (%" PRIu64 " more not shown)", what,
        err_name(rc), msg, in->notes_suppressed);
    in->last_note_ms = now;
    in->notes_suppressed = 0;
}

/* --------------------------------------------------------------- replies */

/* Send `body` to the storefront behind `env`. */
void
ingest_send_reply(struct ingest *in, const struct zsock_route *env,
    const void *body, size_t len)
{
    int rc;

    /*
     * A ROUTER drops a reply to a peer that is gone or over its
     * high-water mark instead of blocking, so this never stalls the loop.
     */
    rc = zsock_send_routed(in->front, env, body, len);
    if (rc == 0)
        in->st.replies++;
    else
        log_debug("%s: reply not sent: %s", __func__, err_str(rc));
}

/*
 * Append one error reply map to `b` (in->scratch is the staging area),
 * with retry_after_ms `retry` (0: none).
 */
int
ingest_encode_error(struct ingest *in, struct buf *b, const char *id, int code,
    const char *msg, uint32_t retry)
{
    reply_error(&in->scratch, id, code, msg);
    in->scratch.retry_after_ms = retry;
    return reply_encode(b, &in->scratch);
}

/* Record how long client `c`'s frame took, from in->frame_t0_us. */
void
ingest_observe(struct ingest *in, struct ingest_client *c, uint64_t t0_us)
{
    if (c != NULL)
        prom_observe(c->duration, (double)(clock_mono_us() - t0_us) * 1e-6);
    (void)in;
}

/* Answer with one error reply map (frame-level problems). */
static void
ingest_reply_frame_error(struct ingest *in, struct ingest_client *c,
    const struct zsock_route *env, int code, const char *msg)
{
    int rc;

    in->st.frames_rejected++;
    ingest_count(in, c, code, 1);
    ingest_note(in, code, "frame", msg);
    buf_reset(&in->rep);
    rc = ingest_encode_error(in, &in->rep, "", code, msg, 0);
    if (rc != 0) {
        log_warnx(
            "%s: cannot encode an error reply: %s", __func__, err_str(rc));
        return;
    }
    ingest_send_reply(in, env, in->rep.data, in->rep.len);
    ingest_observe(in, c, in->frame_t0_us);
}

/*
 * Keep the reply frame in in->rep for client `c` behind `env` on the
 * held FIFO, to be sent in->hold_ms from now by ingest_release().
 * Returns 0, or ERR_FULL when the FIFO is full (send it now).
 */
static int
ingest_hold(
    struct ingest *in, struct ingest_client *c, const struct zsock_route *env)
{
    struct held *h;

    if (in->nheld >= INGEST_MAX_HELD)
        return ERR_FULL;
    h = &in->held[(in->hhead + in->nheld) % INGEST_MAX_HELD];
    buf_reset(&h->body);
    if (buf_append(&h->body, in->rep.data, in->rep.len) != 0)
        return ERR_FULL;
    h->route = *env;
    h->due_ms = clock_mono_ms() + in->hold_ms;
    h->t0_us = in->frame_t0_us;
    h->client = c;
    in->nheld++;
    in->st.held++;
    return 0;
}

/*
 * Send the held replies that are due (all of them with `all`), oldest
 * first. Returns the ms until the next is due, or -1 when none is held.
 */
static long
ingest_release(struct ingest *in, bool all)
{
    uint64_t now = clock_mono_ms();

    while (in->nheld > 0) {
        struct held *h = &in->held[in->hhead];

        if (!all && h->due_ms > now)
            return (long)(h->due_ms - now);
        ingest_send_reply(in, &h->route, h->body.data, h->body.len);
        ingest_observe(in, h->client, h->t0_us);
        if (h->body.alloc > INGEST_KEEP_BYTES)
            buf_release(&h->body);
        buf_reset(&h->body);
        in->hhead = (in->hhead + 1) % INGEST_MAX_HELD;
        in->nheld--;
    }
    return -1;
}

/*
 * Answer the whole decoded batch of client `c` now, without the scorer:
 * invalid events get their own error, valid ones `code`/`msg` (unused
 * when none is valid) with retry_after_ms `retry`. With in->hold_ms set
 * the reply is held that long (ingest_hold) unless the FIFO is full.
 */
static void
ingest_reply_now(struct ingest *in, struct ingest_client *c,
    const struct zsock_route *env, int code, const char *msg, uint32_t retry)
{
    const struct sfproto_batch *b = &in->batch;
    uint32_t nvalid = 0;
    size_t i;
    int rc = 0;

    buf_reset(&in->rep);
    if (b->is_array)
        rc = wire_array_header(&in->rep, (uint32_t)b->n);
    for (i = 0; i < b->n && rc == 0; i++) {
        const struct sfproto_item *it = &b->items[i];

        if (it->rc != 0) {
            rc = ingest_encode_error(in, &in->rep, it->id, it->rc, it->msg, 0);
        } else {
            rc = ingest_encode_error(in, &in->rep, it->id, code, msg, retry);
            nvalid++;
        }
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode replies: %s", __func__, err_str(rc));
        ingest_reply_frame_error(in, c, env, rc, "reply too big to encode");
        return;
    }
    ingest_count(in, c, code, nvalid);
    if (in->hold_ms > 0 && ingest_hold(in, c, env) == 0)
        return;
    ingest_send_reply(in, env, in->rep.data, in->rep.len);
    ingest_observe(in, c, in->frame_t0_us);
}

/* ------------------------------------------------------------ storefront */

/*
 * Encode the valid events of the decoded batch of client `c` into a new
 * pending slot and send it, or queue it for its turn (on the fast lane
 * when `fast`). Answers at once when it cannot.
 */
static int
ingest_forward(struct ingest *in, struct ingest_client *c,
    const struct zsock_route *env, uint32_t nvalid, bool fast)
{
    const struct sfproto_batch *b = &in->batch;
    struct pending *p;
    uint32_t i;
    int rc;

    p = ingest_slot_alloc(in);
    if (p == NULL) {
        in->st.busy++;
        prom_inc(prom_get2(in->f_busy, c->qc->name, "pending"), 1);
        ingest_reply_now(in, c, env, ERR_BUSY,
            "collector busy: too many requests in flight", 100);
        return 0;
    }
    p->client = c;
    p->fast = fast;
    rc = ipcproto_events_begin(&p->frame, p->tag, c->qc->name, nvalid);
    for (i = 0; i < b->n && rc == 0; i++) {
        const struct sfproto_item *it = &b->items[i];

        if (it->rc != 0) {
            rc = ingest_slot_add_error(in, p, i, it);
            continue;
        }
        rc = ipcproto_events_add(&p->frame, &it->ev);
        if (rc == 0)
            rc = buf_append(&p->ids, it->id, strlen(it->id) + 1);
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode the batch for the scorer: %s", __func__,
            err_str(rc));
        ingest_slot_free(in, p);
        ingest_reply_now(in, c, env, ERR_TOOBIG,
            "batch too big to forward to the scorer", 0);
        return 0;
    }
    p->n = (uint32_t)b->n;
    p->nfwd = nvalid;
    p->is_array = b->is_array;
    p->route = *env;
    p->t0_us = in->frame_t0_us;
    p->deadline_ms = clock_mono_ms() + in->timeout_ms;
    p->held = p->errs.len + p->ids.len + p->frame.len;
    in->held_bytes += p->held;
    ingest_enqueue(in, p);
    return ingest_dispatch(in);
}

/*
 * The admission of a decoded batch of client `c` with `nvalid` valid
 * events: its event quota, then (unless `fast`: the fast lane) room in
 * its queue. Returns 0 when it may go on, else answers "busy" (with the
 * retry hint) and returns 1.
 */
static int
ingest_admit(struct ingest *in, struct ingest_client *c,
    const struct zsock_route *env, uint32_t nvalid, bool fast)
{
    struct quota_client *qc = c->qc;
    char msg[REPLY_MSG_MAX + 1];
    uint32_t retry;

    retry = quota_take(&qc->events, &qc->events_rate, nvalid, clock_mono_ns());
    if (retry > 0) {
        uint64_t now = clock_mono_ms();

        snprintf(msg, sizeof(msg),
            "over this storefront's quota of %.0f events/s (burst "
            "%.0f); retry later",
            qc->events_rate.per_s, qc->events_rate.burst);
        prom_inc(c->busy_rate, 1);
        /* Sent again before the last hint: hold this answer a while. */
        if (now < c->retry_until_ms)
            in->hold_ms = retry < in->busy_hold_ms ? retry : in->busy_hold_ms;
        c->retry_until_ms = now + retry;
    } else if (fast) {
        return 0; /* waits behind other orders only */
    } else if (c->nqueued >= in->queue_max) {
        retry = ingest_queue_retry(in, c);
        snprintf(msg, sizeof(msg),
            "%u requests of this storefront are waiting for the "
            "scorer; retry later",
            c->nqueued);
        prom_inc(c->busy_queue, 1);
        /* Not sent: give the tokens back. */
        qc->events.tokens += nvalid;
    } else if (in->queue_wait_ms > 0 && c->nqueued > 0 && in->pace_eps > 0 &&
        (retry = ingest_queue_retry(in, c)) > in->queue_wait_ms) {
        /* Saturated: say so now rather than let it time out queued. */
        snprintf(msg, sizeof(msg),
            "the scorer is about %u ms behind for this storefront (at "
            "most %u); retry later",
            retry, in->queue_wait_ms);
        prom_inc(c->busy_queue, 1);
        qc->events.tokens += nvalid;
    } else {
        return 0;
    }
    in->st.busy++;
    ingest_note(in, ERR_BUSY, "request", msg);
    ingest_reply_now(in, c, env, ERR_BUSY, msg, retry);
    in->hold_ms = 0;
    return 1;
}

/* Handle one storefront message already received into `m`. */
static int
ingest_front_msg(struct ingest *in, const struct zsock_msg *m)
{
    struct zsock_route env;
    char msg[REPLY_MSG_MAX + 1];
    struct ingest_client *c;
    const char *storefront;
    const void *body;
    size_t len;
    uint32_t nvalid = 0, nbad = 0, norders = 0;
    bool fast;
    size_t i;
    int k, rc;

    in->st.frames++;
    in->frame_t0_us = clock_mono_us();
    if (zsock_msg_route(m, &env, &k) != 0) {
        if (env.identlen == 0) {
            in->st.frames_rejected++;
            return 0; /* not from a ROUTER peer: nobody to answer */
        }
        ingest_reply_frame_error(
            in, NULL, &env, ERR_MALFORMED, "expected exactly one frame");
        return 0;
    }
    /*
     * Who sent it: the name the allow-list gives the peer's CURVE key
     * (zauth.h). The ZAP handler admits storefronts only, so a frame
     * without a name cannot come from the network; refuse it anyway.
     */
    storefront = zsock_msg_user(m);
    if (storefront == NULL || !cert_name_ok(storefront)) {
        ingest_reply_frame_error(
            in, NULL, &env, ERR_DENIED, "not an authenticated storefront");
        return 0;
    }
    c = ingest_client(in, storefront);
    prom_inc(c->requests, 1);
    body = zsock_msg_data(m, k);
    len = zsock_msg_size(m, k);
    if (len > SFPROTO_MAX_MSG_BYTES) {
        snprintf(msg, sizeof(msg), "frame larger than %d bytes",
            SFPROTO_MAX_MSG_BYTES);
        ingest_reply_frame_error(in, c, &env, ERR_TOOBIG, msg);
        return 0;
    }
    msg[0] = '\0';
    rc = sfproto_batch_decode(&in->batch, body, len, msg, sizeof(msg));
    if (rc != 0) {
        ingest_reply_frame_error(
            in, c, &env, rc, msg[0] != '\0' ? msg : err_str(rc));
        return 0;
    }
    for (i = 0; i < in->batch.n; i++) {
        struct sfproto_item *it = &in->batch.items[i];

        if (it->rc == 0 && it->ev.type == EVENT_LABEL) {
            it->rc = ERR_DENIED;
            text_copy(it->msg, sizeof(it->msg),
                "type: label is the fraud team's operation (vigilctl "
                "label), not accepted from storefronts");
        }
        if (it->rc == 0) {
            nvalid++;
            norders += it->ev.type == EVENT_ORDER_PLACED;
        } else {
            sodium_memzero(&it->pii, sizeof(it->pii));
            ingest_note(in, it->rc, "event", it->msg);
            ingest_count(in, c, it->rc, 1);
            nbad++;
        }
    }
    in->st.events_ok += nvalid;
    in->st.events_rejected += nbad;
    /* The fast lane: a few orders and nothing else (INGEST_FAST_*). */
    fast = nvalid > 0 && norders == nvalid && nvalid <= INGEST_FAST_EVENTS &&
        c->nfast < INGEST_FAST_QUEUED;
    if (nvalid > 0 && ingest_admit(in, c, &env, nvalid, fast) != 0)
        nvalid = 0; /* answered busy */
    /* Pseudonymize now (or wipe): no raw identifier survives this loop. */
    for (i = 0; i < in->batch.n; i++) {
        struct sfproto_item *it = &in->batch.items[i];

        if (it->rc != 0)
            continue;
        if (nvalid > 0)
            pseudo_apply(in->key, storefront, &it->ev, &it->pii);
        else
            sodium_memzero(&it->pii, sizeof(it->pii));
    }
    if (nvalid == 0) {
        if (nbad == in->batch.n)
            ingest_reply_now(in, c, &env, 0, "", 0);
        return 0;
    }
    return ingest_forward(in, c, &env, nvalid, fast);
}

int
ingest_on_front(struct ingest *in)
{
    struct zsock_msg m;
    uint64_t end = clock_mono_us() + INGEST_BURST_US;
    int i, rc = 0;

    /* Bounded in count and in time: the scorer's replies (a waiting
     * order's among them) are read between bursts. */
    for (i = 0; i < INGEST_BURST && (i == 0 || clock_mono_us() < end); i++) {
        rc = zsock_recv_msg(in->front, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return rc;
        rc = ingest_front_msg(in, &m);
        /* The frame held raw identifiers: nothing of it stays in memory. */
        zsock_msg_wipe_close(&m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- scorer */

static void
ingest_back_msg(struct ingest *in, const struct zsock_msg *m)
{
    struct pending *p;
    uint64_t tag = 0;
    uint32_t n = 0;
    int k = 0, rc;

    if (m->nparts == 2 && zsock_msg_size(m, 0) == 0)
        k = 1;
    if (m->overflow || m->nparts - k != 1) {
        in->st.bad_scorer++;
        log_warnx(
            "%s: scorer sent %d frames, expected one", __func__, m->total);
        return;
    }
    rc = ipcproto_replies_decode(&in->rdec, zsock_msg_data(m, k),
        zsock_msg_size(m, k), &tag, in->sreplies, SFPROTO_MAX_BATCH, &n);
    if (rc != 0) {
        in->st.bad_scorer++;
        log_warnx(
            "%s: undecodable frame from the scorer: %s", __func__, err_str(rc));
        return;
    }
    p = ingest_slot(in, tag);
    if (!p->used || p->tag != tag || p->queued) {
        in->st.late++;
        log_debug(
            "%s: reply for unknown or expired tag %" PRIu64, __func__, tag);
        return;
    }
    if (n != p->nfwd)
        log_warnx("%s: scorer sent %" PRIu32 " replies for %" PRIu32
                  " events (tag %" PRIu64 ")",
            __func__, n, p->nfwd, tag);
    ingest_pace(in, p->nfwd);
    ingest_answer(in, p, in->sreplies, n < p->nfwd ? n : p->nfwd, ERR_UNAVAIL,
        "scorer reply incomplete");
}

int
ingest_on_back(struct ingest *in)
{
    void *socks[2] = { in->fast, in->back };
    struct zsock_msg m;
    int i, k, rc;

    /* The fast lane's replies first: orders are answered before the
     * batches answered in the same group. */
    for (k = 0; k < 2; k++) {
        for (i = 0; i < INGEST_BURST; i++) {
            rc = zsock_recv_msg(socks[k], &m, ZSOCK_DONTWAIT);
            if (rc == ERR_AGAIN)
                break;
            if (rc != 0)
                return rc;
            ingest_back_msg(in, &m);
            zsock_msg_close(&m);
        }
    }
    /* Replies freed room in the window: the next turns go. */
    return ingest_dispatch(in);
}

/* ------------------------------------------------------------- deadlines */

long
ingest_expire(struct ingest *in)
{
    uint64_t now = clock_mono_ms();
    long wait = -1, held;

    while (in->oldest_tag < in->next_tag) {
        struct pending *p = ingest_slot(in, in->oldest_tag);

        if (p->used && p->tag == in->oldest_tag) {
            if (p->deadline_ms > now) {
                wait = (long)(p->deadline_ms - now);
                break;
            }
            in->st.timeouts++;
            ingest_note(in, ERR_UNAVAIL, "request",
                p->queued ? "not sent in time: the scorer is behind" :
                            "scorer did not answer in time");
            ingest_answer(in, p, NULL, 0, ERR_UNAVAIL,
                p->queued ? "not sent in time: the scorer is behind" :
                            "scorer did not answer in time");
        }
        in->oldest_tag++;
    }
    /* Expired requests freed room in the window. */
    if (ingest_dispatch(in) != 0)
        log_debug("%s: the scorer socket is gone", __func__);
    held = ingest_release(in, false);
    if (held >= 0 && (wait < 0 || held < wait))
        wait = held;
    return wait;
}

void
ingest_scorer_lost(struct ingest *in)
{
    uint64_t n = 0;

    for (uint64_t tag = in->oldest_tag; tag < in->next_tag; tag++) {
        struct pending *p = ingest_slot(in, tag);

        if (!p->used || p->tag != tag || p->queued)
            continue;
        ingest_answer(in, p, NULL, 0, ERR_UNAVAIL,
            "the scorer restarted before answering; resend");
        n++;
    }
    if (n > 0) {
        in->st.timeouts += n;
        ingest_note(in, ERR_UNAVAIL, "request",
            "the scorer restarted before answering; resend");
        log_warnx("lost the scorer connection: %" PRIu64 " requests sent "
                  "to it answered 'unavailable' (storefronts resend)",
            n);
    }
    /* Their window is free: queued requests go to the next scorer. */
    if (ingest_dispatch(in) != 0)
        log_debug("%s: the scorer socket is gone", __func__);
}

void
ingest_drain(struct ingest *in)
{
    (void)ingest_release(in, true);
    while (in->oldest_tag < in->next_tag) {
        struct pending *p = ingest_slot(in, in->oldest_tag);

        if (p->used && p->tag == in->oldest_tag)
            ingest_answer(
                in, p, NULL, 0, ERR_SHUTDOWN, "collector is stopping");
        in->oldest_tag++;
    }
}

bool
ingest_idle(const struct ingest *in)
{
    return in->npending == 0;
}

void
ingest_stop_queued(struct ingest *in)
{
    uint64_t tag;

    (void)ingest_release(in, true);
    for (tag = in->oldest_tag; tag < in->next_tag; tag++) {
        struct pending *p = ingest_slot(in, tag);

        if (p->used && p->tag == tag && p->queued)
            ingest_answer(
                in, p, NULL, 0, ERR_SHUTDOWN, "collector is stopping");
    }
}
