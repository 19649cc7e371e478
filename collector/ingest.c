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
 * Invariants:
 *  - a slot is in use iff slot->used; then slot->tag % INGEST_MAX_PENDING
 *    is its index, and tags (hence deadlines) grow in allocation order.
 *  - every tag below in->oldest_tag has been answered.
 *  - held_bytes is the sum of `held` over used slots.
 *
 * See also: ingest.h, collector.8, sfproto.h, ipcproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "collector/ingest.h"
#include "common/buf.h"
#include "common/cert.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/ipcproto.h"
#include "common/sfproto.h"
#include "common/pseudo.h"
#include "common/xmalloc.h"
#include "common/text.h"
#include "common/zsock.h"

/* Slot buffers larger than this are freed, not kept, when a slot ends. */
#define INGEST_KEEP_BYTES (16 * 1024)
#define INGEST_KEEP_ERRS  64
/* Longest ROUTER routing id libzmq produces or accepts. */
/* At most one line per this many ms about rejected input. */
#define INGEST_LOG_EVERY_MS 1000

/* One request waiting for the scorer. */
struct pending {
    bool used;
    bool is_array;            /* reply with an array, else one map */
    struct zsock_route route; /* where the reply goes */
    uint64_t tag;
    uint64_t deadline_ms; /* monotonic */
    uint32_t n;           /* events in the storefront's frame */
    uint32_t nfwd;        /* of which forwarded to the scorer */
    uint32_t nerr;        /* of which answered locally (errors) */
    uint32_t errcap;      /* capacity of err_pos/err_off */
    uint32_t *err_pos;    /* ascending positions of local errors */
    uint32_t *err_off;    /* start of each in errs */
    struct buf errs;      /* encoded local error reply maps */
    struct buf ids;       /* forwarded events' ids, NUL-terminated */
    size_t held;          /* bytes counted in ingest.held_bytes */
};

struct ingest {
    void *front;                  /* ROUTER, storefronts (borrowed) */
    void *back;                   /* DEALER, the scorer (borrowed) */
    const struct pseudo_key *key; /* borrowed */
    uint64_t timeout_ms;
    struct sfproto_batch batch; /* reused decode target */
    struct wire_dec rdec;       /* decodes the scorer's reply frames */
    struct buf out;             /* reused IPCPROTO_EVENTS frame */
    struct buf rep;             /* reused storefront reply frame */
    struct reply scratch;       /* one reply being encoded */
    struct reply *sreplies;     /* SFPROTO_MAX_BATCH decoded replies */
    struct pending *slots;      /* INGEST_MAX_PENDING */
    uint64_t next_tag;
    uint64_t oldest_tag;
    uint32_t npending;
    size_t held_bytes;
    struct ingest_stats st;
    uint64_t last_note_ms; /* rate limit of input notes */
    uint64_t notes_suppressed;
};

struct ingest *
ingest_new(
    void *front, void *back, const struct pseudo_key *key, long timeout_ms)
{
    struct ingest *in = xcalloc(1, sizeof(*in));
    size_t i;

    in->front = front;
    in->back = back;
    in->key = key;
    in->timeout_ms = timeout_ms > 0 ? (uint64_t)timeout_ms : 1;
    sfproto_batch_init(&in->batch);
    wire_dec_init(&in->rdec, 64 * 1024);
    buf_init(&in->out, IPCPROTO_MAX_BYTES);
    buf_init(&in->rep, IPCPROTO_MAX_BYTES);
    in->sreplies = xcalloc(SFPROTO_MAX_BATCH, sizeof(*in->sreplies));
    in->slots = xcalloc(INGEST_MAX_PENDING, sizeof(*in->slots));
    for (i = 0; i < INGEST_MAX_PENDING; i++) {
        buf_init(&in->slots[i].errs, IPCPROTO_MAX_BYTES);
        buf_init(&in->slots[i].ids, IPCPROTO_MAX_BYTES);
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

void
ingest_free(struct ingest *in)
{
    size_t i;

    if (in == NULL)
        return;
    for (i = 0; i < INGEST_MAX_PENDING; i++) {
        buf_release(&in->slots[i].errs);
        buf_release(&in->slots[i].ids);
        free(in->slots[i].err_pos);
        free(in->slots[i].err_off);
    }
    free(in->slots);
    free(in->sreplies);
    buf_release(&in->out);
    buf_release(&in->rep);
    sfproto_batch_release(&in->batch);
    wire_dec_release(&in->rdec);
    sodium_memzero(in, sizeof(*in));
    free(in);
}

void
ingest_get_stats(const struct ingest *in, struct ingest_stats *out)
{
    *out = in->st;
}

uint32_t
ingest_pending(const struct ingest *in)
{
    return in->npending;
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
        ", late %" PRIu64 ", bad scorer frames %" PRIu64 ", pending %" PRIu32,
        s->frames, s->frames_rejected, s->events_ok, s->events_rejected,
        s->forwarded, s->batches, s->replies, s->timeouts, s->busy, s->late,
        s->bad_scorer, in->npending);
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
static void
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

/* Append one error reply map to `b` (in->scratch is the staging area). */
static int
ingest_encode_error(
    struct ingest *in, struct buf *b, const char *id, int code, const char *msg)
{
    reply_error(&in->scratch, id, code, msg);
    return reply_encode(b, &in->scratch);
}

/* Answer with one error reply map (frame-level problems). */
static void
ingest_reply_frame_error(
    struct ingest *in, const struct zsock_route *env, int code, const char *msg)
{
    int rc;

    in->st.frames_rejected++;
    ingest_note(in, code, "frame", msg);
    buf_reset(&in->rep);
    rc = ingest_encode_error(in, &in->rep, "", code, msg);
    if (rc != 0) {
        log_warnx(
            "%s: cannot encode an error reply: %s", __func__, err_str(rc));
        return;
    }
    ingest_send_reply(in, env, in->rep.data, in->rep.len);
}

/*
 * Answer the whole decoded batch now, without the scorer: invalid events
 * get their own error, valid ones `code`/`msg` (unused when none is
 * valid).
 */
static void
ingest_reply_now(
    struct ingest *in, const struct zsock_route *env, int code, const char *msg)
{
    const struct sfproto_batch *b = &in->batch;
    size_t i;
    int rc = 0;

    buf_reset(&in->rep);
    if (b->is_array)
        rc = wire_array_header(&in->rep, (uint32_t)b->n);
    for (i = 0; i < b->n && rc == 0; i++) {
        const struct sfproto_item *it = &b->items[i];

        if (it->rc != 0)
            rc = ingest_encode_error(in, &in->rep, it->id, it->rc, it->msg);
        else
            rc = ingest_encode_error(in, &in->rep, it->id, code, msg);
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode replies: %s", __func__, err_str(rc));
        ingest_reply_frame_error(in, env, rc, "reply too big to encode");
        return;
    }
    ingest_send_reply(in, env, in->rep.data, in->rep.len);
}

/* ------------------------------------------------------------ pending ring */

static struct pending *
ingest_slot(struct ingest *in, uint64_t tag)
{
    return &in->slots[tag % INGEST_MAX_PENDING];
}

/* Take a free slot under a fresh tag; NULL when all are in use. */
static struct pending *
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
            p->tag = tag;
            p->n = p->nfwd = p->nerr = 0;
            buf_reset(&p->errs);
            buf_reset(&p->ids);
            in->npending++;
            return p;
        }
    }
    return NULL;
}

static void
ingest_slot_free(struct ingest *in, struct pending *p)
{
    in->held_bytes -= p->held;
    p->held = 0;
    /* Event ids are the storefront's words: they may be anything. */
    if (p->ids.len > 0)
        sodium_memzero(p->ids.data, p->ids.len);
    if (p->errs.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->errs);
    if (p->ids.alloc > INGEST_KEEP_BYTES)
        buf_release(&p->ids);
    if (p->errcap > INGEST_KEEP_ERRS) {
        free(p->err_pos);
        free(p->err_off);
        p->err_pos = p->err_off = NULL;
        p->errcap = 0;
    }
    buf_reset(&p->errs);
    buf_reset(&p->ids);
    p->used = false;
    in->npending--;
}

/* Record the local error reply of position `pos` in `p`. */
static int
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
    rc = ingest_encode_error(in, &p->errs, it->id, it->rc, it->msg);
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
static void
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
        } else
            rc = ingest_encode_error(in, &in->rep, id, code, msg);
        id += strlen(id) + 1;
        j++;
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode replies: %s", __func__, err_str(rc));
        buf_reset(&in->rep);
        rc = ingest_encode_error(
            in, &in->rep, "", rc, "reply too big to encode");
    }
    if (rc == 0)
        ingest_send_reply(in, env, in->rep.data, in->rep.len);
    ingest_slot_free(in, p);
}

/* ------------------------------------------------------------ storefront */

/*
 * Forward the valid events of the decoded batch under a new pending slot
 * and remember how to answer. Answers at once when it cannot forward.
 */
static int
ingest_forward(struct ingest *in, const struct zsock_route *env,
    const char *storefront, uint32_t nvalid)
{
    const struct sfproto_batch *b = &in->batch;
    struct pending *p;
    struct iovec iov;
    uint32_t i;
    int rc;

    p = ingest_slot_alloc(in);
    if (p == NULL) {
        in->st.busy++;
        ingest_reply_now(in, env, ERR_UNAVAIL,
            "collector busy: too many requests in flight");
        return 0;
    }
    buf_reset(&in->out);
    rc = ipcproto_events_begin(&in->out, p->tag, storefront, nvalid);
    for (i = 0; i < b->n && rc == 0; i++) {
        const struct sfproto_item *it = &b->items[i];

        if (it->rc != 0) {
            rc = ingest_slot_add_error(in, p, i, it);
            continue;
        }
        rc = ipcproto_events_add(&in->out, &it->ev);
        if (rc == 0)
            rc = buf_append(&p->ids, it->id, strlen(it->id) + 1);
    }
    if (rc != 0) {
        log_warnx("%s: cannot encode the batch for the scorer: %s", __func__,
            err_str(rc));
        ingest_slot_free(in, p);
        ingest_reply_now(
            in, env, ERR_TOOBIG, "batch too big to forward to the scorer");
        return 0;
    }
    iov.iov_base = in->out.data;
    iov.iov_len = in->out.len;
    rc = zsock_send_parts(in->back, &iov, 1, ZSOCK_DONTWAIT);
    if (rc != 0) {
        ingest_slot_free(in, p);
        in->st.busy++;
        ingest_reply_now(in, env, ERR_UNAVAIL,
            rc == ERR_AGAIN ? "scorer queue full" : "cannot reach the scorer");
        return rc == ERR_SHUTDOWN ? rc : 0;
    }
    in->st.batches++;
    in->st.forwarded += nvalid;
    p->n = (uint32_t)b->n;
    p->nfwd = nvalid;
    p->is_array = b->is_array;
    p->route = *env;
    p->deadline_ms = clock_mono_ms() + in->timeout_ms;
    p->held = p->errs.len + p->ids.len;
    in->held_bytes += p->held;
    return 0;
}

/* Handle one storefront message already received into `m`. */
static int
ingest_front_msg(struct ingest *in, const struct zsock_msg *m)
{
    struct zsock_route env;
    char msg[REPLY_MSG_MAX + 1];
    const char *storefront;
    const void *body;
    size_t len;
    uint32_t nvalid = 0;
    size_t i;
    int k, rc;

    in->st.frames++;
    if (zsock_msg_route(m, &env, &k) != 0) {
        if (env.identlen == 0) {
            in->st.frames_rejected++;
            return 0; /* not from a ROUTER peer: nobody to answer */
        }
        ingest_reply_frame_error(
            in, &env, ERR_MALFORMED, "expected exactly one frame");
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
            in, &env, ERR_DENIED, "not an authenticated storefront");
        return 0;
    }
    body = zsock_msg_data(m, k);
    len = zsock_msg_size(m, k);
    if (len > SFPROTO_MAX_MSG_BYTES) {
        snprintf(msg, sizeof(msg), "frame larger than %d bytes",
            SFPROTO_MAX_MSG_BYTES);
        ingest_reply_frame_error(in, &env, ERR_TOOBIG, msg);
        return 0;
    }
    msg[0] = '\0';
    rc = sfproto_batch_decode(&in->batch, body, len, msg, sizeof(msg));
    if (rc != 0) {
        ingest_reply_frame_error(
            in, &env, rc, msg[0] != '\0' ? msg : err_str(rc));
        return 0;
    }
    /* Pseudonymize now: no raw identifier survives this loop. */
    for (i = 0; i < in->batch.n; i++) {
        struct sfproto_item *it = &in->batch.items[i];

        if (it->rc == 0 && it->ev.type == EVENT_LABEL) {
            it->rc = ERR_DENIED;
            text_copy(it->msg, sizeof(it->msg),
                "type: label is the fraud team's operation (vigilctl "
                "label), not accepted from storefronts");
        }
        if (it->rc == 0) {
            pseudo_apply(in->key, storefront, &it->ev, &it->pii);
            nvalid++;
        } else {
            sodium_memzero(&it->pii, sizeof(it->pii));
            ingest_note(in, it->rc, "event", it->msg);
        }
    }
    in->st.events_ok += nvalid;
    in->st.events_rejected += in->batch.n - nvalid;
    if (nvalid == 0) {
        ingest_reply_now(in, &env, 0, "");
        return 0;
    }
    return ingest_forward(in, &env, storefront, nvalid);
}

int
ingest_on_front(struct ingest *in)
{
    struct zsock_msg m;
    int i, rc = 0;

    for (i = 0; i < INGEST_BURST; i++) {
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
    if (!p->used || p->tag != tag) {
        in->st.late++;
        log_debug(
            "%s: reply for unknown or expired tag %" PRIu64, __func__, tag);
        return;
    }
    if (n != p->nfwd)
        log_warnx("%s: scorer sent %" PRIu32 " replies for %" PRIu32
                  " events (tag %" PRIu64 ")",
            __func__, n, p->nfwd, tag);
    ingest_answer(in, p, in->sreplies, n < p->nfwd ? n : p->nfwd, ERR_UNAVAIL,
        "scorer reply incomplete");
}

int
ingest_on_back(struct ingest *in)
{
    struct zsock_msg m;
    int i, rc;

    for (i = 0; i < INGEST_BURST; i++) {
        rc = zsock_recv_msg(in->back, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return rc;
        ingest_back_msg(in, &m);
        zsock_msg_close(&m);
    }
    return 0;
}

/* ------------------------------------------------------------- deadlines */

long
ingest_expire(struct ingest *in)
{
    uint64_t now = clock_mono_ms();

    while (in->oldest_tag < in->next_tag) {
        struct pending *p = ingest_slot(in, in->oldest_tag);

        if (p->used && p->tag == in->oldest_tag) {
            if (p->deadline_ms > now)
                return (long)(p->deadline_ms - now);
            in->st.timeouts++;
            ingest_note(in, ERR_UNAVAIL, "request",
                "scorer did not answer "
                "in time");
            ingest_answer(
                in, p, NULL, 0, ERR_UNAVAIL, "scorer did not answer in time");
        }
        in->oldest_tag++;
    }
    return -1;
}

void
ingest_drain(struct ingest *in)
{
    while (in->oldest_tag < in->next_tag) {
        struct pending *p = ingest_slot(in, in->oldest_tag);

        if (p->used && p->tag == in->oldest_tag)
            ingest_answer(
                in, p, NULL, 0, ERR_SHUTDOWN, "collector is stopping");
        in->oldest_tag++;
    }
}
