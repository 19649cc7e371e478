/*
 * ingest_int.h - what ingest.c shares with ingest_queue.c (internal)
 *
 * Not a public header: only collector/ingest*.c include it. The
 * request path is one module in two files: ingest.c takes storefront
 * frames in, answers locally, holds busy replies and reads the
 * scorer's replies; ingest_queue.c keeps the pending ring (one slot per
 * request waiting for the scorer) and the fair share (per-storefront
 * queues, the fast lane, the dispatch within the window). The
 * invariants are in ingest.c's header. Collector thread only.
 *
 * See also: ingest.c, ingest_queue.c, ingest.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COLLECTOR_INGEST_INT_H
#define COLLECTOR_INGEST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/ingest.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/prom.h"
#include "common/quota.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "common/zsock.h"

/* Slot buffers larger than this are freed, not kept, when a slot ends. */
#define INGEST_KEEP_BYTES (16 * 1024)
#define INGEST_KEEP_ERRS  64
/* At most one line per this many ms about rejected input. */
#define INGEST_LOG_EVERY_MS 1000

/* "No slot" in the per-client lists (slot indices). */
#define INGEST_NONE UINT32_MAX
/* The fast lane: order-only requests of at most this many events, at
 * most this many queued per client, and this many events over the
 * window they may take. */
#define INGEST_FAST_EVENTS   8
#define INGEST_FAST_QUEUED   16
#define INGEST_FAST_HEADROOM 256
/* Busy replies held at most (then answered at once). */
#define INGEST_MAX_HELD 512

/* One held busy reply. */
struct held {
    struct zsock_route route;
    struct buf body;              /* the encoded reply frame */
    uint64_t due_ms;              /* monotonic: send at */
    uint64_t t0_us;               /* the frame arrived */
    struct ingest_client *client; /* borrowed (lives as long as the table) */
};

struct ingest_client;

/* One request waiting for the scorer. */
struct pending {
    bool used;
    bool is_array;            /* reply with an array, else one map */
    bool queued;              /* on its client's list, not sent yet */
    bool fast;                /* an order-only request: the fast lane */
    struct zsock_route route; /* where the reply goes */
    uint64_t tag;
    uint64_t deadline_ms;         /* monotonic */
    uint64_t t0_us;               /* monotonic, when the frame arrived */
    uint32_t n;                   /* events in the storefront's frame */
    uint32_t nfwd;                /* of which forwarded to the scorer */
    uint32_t nerr;                /* of which answered locally (errors) */
    uint32_t errcap;              /* capacity of err_pos/err_off */
    uint32_t *err_pos;            /* ascending positions of local errors */
    uint32_t *err_off;            /* start of each in errs */
    struct buf errs;              /* encoded local error reply maps */
    struct buf ids;               /* forwarded events' ids, NUL-terminated */
    struct buf frame;             /* the IPCPROTO_EVENTS frame while queued */
    size_t held;                  /* bytes counted in ingest.held_bytes */
    struct ingest_client *client; /* whose request it is */
    uint32_t qnext, qprev;        /* the client's list (or the fast lane's),
                                     while queued */
};

/* One storefront's share: its queue, what it has in flight, metrics. */
struct ingest_client {
    struct quota_client *qc; /* name, rates, buckets (quota.h) */
    uint32_t qhead, qtail;   /* queued slots, oldest first */
    uint32_t nqueued;        /* requests queued */
    uint32_t queued_events;  /* their forwarded events */
    uint32_t inflight;       /* events sent to the scorer, unanswered */
    uint32_t nfast;          /* requests queued in the fast lane */
    uint64_t retry_until_ms; /* monotonic: its last quota busy's hint */
    bool on_ring;
    struct ingest_client *rnext, *rprev; /* the ring, while queued */
    struct prom_series *requests;        /* frames received */
    struct prom_series *duration;        /* frame in -> reply out */
    struct prom_series *busy_rate, *busy_queue;
    struct prom_series *codes[ERR_COUNT]; /* replies by code, made lazily */
};

struct ingest {
    void *front;                  /* ROUTER, storefronts (borrowed) */
    void *back;                   /* DEALER, the scorer (borrowed) */
    void *fast;                   /* DEALER, the scorer's fast lane
                                     (ipcproto.h; borrowed) */
    const struct pseudo_key *key; /* borrowed */
    uint64_t timeout_ms;
    uint32_t window;        /* events in flight to the scorer, at most */
    uint32_t queue_max;     /* requests queued per client, at most */
    uint32_t queue_wait_ms; /* expected wait at most (0: none) */
    uint32_t busy_hold_ms;  /* hold of a hint-ignoring busy (0: none) */
    uint32_t hold_ms;       /* the reply being made: hold it this long */
    struct held *held;      /* INGEST_MAX_HELD, a FIFO ring; owned */
    uint32_t hhead, nheld;
    uint32_t inflight_events;    /* sent and not answered */
    uint32_t nqueued;            /* requests queued over all clients */
    uint32_t fhead, ftail;       /* the fast lane: order-only requests of
                                    every client, oldest first */
    struct ingest_client *ring;  /* the next client to serve, or NULL */
    struct quota_table *clients; /* per-storefront state (quota.h) */
    struct prom *reg;            /* borrowed */
    struct prom_family *f_requests, *f_replies, *f_busy, *f_duration;
    struct prom_series *g_pending, *g_queued, *g_inflight, *g_window,
        *c_timeouts, *c_late, *c_bad_scorer, *c_forwarded, *c_batches, *c_held;
    /* The scorer's recent pace (events answered per second, smoothed),
     * for the retry hint of a queue that is full. */
    uint64_t drained;
    uint64_t pace_ms;
    uint64_t pace_drained;
    double pace_eps;
    uint64_t frame_t0_us;       /* monotonic: the frame being handled arrived */
    struct sfproto_batch batch; /* reused decode target */
    struct wire_dec rdec;       /* decodes the scorer's reply frames */
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

/* ------------------------------------------------------ replies (ingest.c) */

/* Send `body` to the storefront behind `env` (dropped, never blocking,
 * when the peer is gone or over its high-water mark). */
void ingest_send_reply(struct ingest *in, const struct zsock_route *env,
    const void *body, size_t len) NONNULL(1, 2, 3);

/* Append one error reply map to `b`, with retry_after_ms `retry` (0:
 * none). Returns 0 or reply_encode()'s error. */
int ingest_encode_error(struct ingest *in, struct buf *b, const char *id,
    int code, const char *msg, uint32_t retry) NONNULL(1, 2, 3, 5);

/* Record how long client `c`'s frame took since `t0_us` (c may be NULL). */
void ingest_observe(struct ingest *in, struct ingest_client *c, uint64_t t0_us)
    NONNULL(1);

/* Count `n` replies of `code` for client `c` (c may be NULL). */
void ingest_count(struct ingest *in, struct ingest_client *c, int code,
    uint32_t n) NONNULL(1);

/* ------------------------------------ pending ring, fair share
 * (ingest_queue.c) */

/* The slot of `tag` (in use by it or not: compare p->tag). */
struct pending *ingest_slot(struct ingest *in, uint64_t tag) NONNULL(1);

/* Take a free slot under a fresh tag; NULL when all are in use. */
struct pending *ingest_slot_alloc(struct ingest *in) NONNULL(1);

/* End slot `p`: off its queue, buffers kept or freed, tags advanced. */
void ingest_slot_free(struct ingest *in, struct pending *p) NONNULL(1, 2);

/* Keep the local error reply of item `it` at position `pos` of `p`.
 * Returns 0 or ERR_NOMEM / the encoder's error. */
int ingest_slot_add_error(struct ingest *in, struct pending *p, uint32_t pos,
    const struct sfproto_item *it) NONNULL(1, 2, 4);

/* Answer `p` with the scorer's `ns` replies `sr` merged with its local
 * errors, or every forwarded event with `code`/`msg` when sr is NULL;
 * frees the slot. */
void ingest_answer(struct ingest *in, struct pending *p, const struct reply *sr,
    uint32_t ns, int code, const char *msg) NONNULL(1, 2);

/* Queue `p` on its client's list (or the fast lane when p->fast). */
void ingest_enqueue(struct ingest *in, struct pending *p) NONNULL(1, 2);

/* Send queued requests, fast lane first, then one per storefront per
 * turn, while the window has room. Returns 0 or ERR_SHUTDOWN / ERR_IO. */
int ingest_dispatch(struct ingest *in) NONNULL(1);

/* Account `answered` events in the scorer's smoothed pace. */
void ingest_pace(struct ingest *in, uint32_t answered) NONNULL(1);

/* The retry hint (ms) for client `c`'s queue at the scorer's pace. */
uint32_t ingest_queue_retry(
    const struct ingest *in, const struct ingest_client *c) NONNULL(1, 2);

#endif /* COLLECTOR_INGEST_INT_H */
