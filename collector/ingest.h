/*
 * ingest.h - the collector's request path: storefront frames in, scorer
 *            batches out, replies merged back
 *
 * One struct ingest per collector process, driven by the single-threaded
 * poll loop in collector.c. A storefront frame is decoded strictly
 * (sfproto.h), its valid events pseudonymized (pseudo.h) and forwarded to
 * the scorer as one IPCPROTO_EVENTS frame under a fresh 64-bit tag;
 * invalid events get their error reply at once, kept aside until the
 * scorer answers, then merged back in the storefront's order.
 *
 * Workload: thousands of requests in flight, batches of up to
 * SFPROTO_MAX_BATCH events. The hot path does no per-event allocation: the
 * decode batch, the encode buffers and the pending slots are reused.
 *
 * Fair share (issue 12): each storefront (its allow-list name) has a
 * token bucket of events (quota.h), and a request over it is answered
 * "busy" at once with retry_after_ms. Requests that pass wait in their
 * storefront's own queue; at most `window` events are in flight to the
 * scorer, and the queues are drained round-robin, one request per
 * storefront in turn, so one storefront's backlog holds the others'
 * orders up by at most one request each. A storefront whose queue holds
 * `queue_max` requests is answered "busy" too, and so is a request that
 * would wait more than `queue_wait_ms` behind its storefront's queue at
 * the scorer's recent pace: the backlog stays bounded, in memory and in
 * time, and a saturated service says so at once instead of letting
 * requests time out.
 *
 * Invariants:
 *  - every storefront request gets exactly one reply: the scorer's
 *    (merged), a local error ("busy" included), ERR_UNAVAIL at its
 *    deadline, or ERR_SHUTDOWN when the collector stops first.
 *  - pending deadlines grow with the tag (one timeout for all), so
 *    expiry scans from the oldest tag and stops at the first live one.
 *  - raw identifiers never leave ingest_on_front(): every item's pii is
 *    wiped before the function returns; a queued request holds the
 *    pseudonymized frame only.
 *  - inflight_events is the sum of the forwarded events of the requests
 *    sent to the scorer and not yet answered.
 *
 * See also: collector/collector.8, sfproto.h, ipcproto.h, pseudo.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COLLECTOR_INGEST_H
#define COLLECTOR_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/prom.h"
#include "common/pseudo.h"
#include "common/quota.h"

/* Requests in flight to the scorer at most (slots of the pending ring). */
#define INGEST_MAX_PENDING 16384
/* Encoded local error replies held across all pending requests at most. */
#define INGEST_MAX_HELD_BYTES (64u * 1024 * 1024)
/* Frames handled per ingest_on_front/ingest_on_back call, for fairness. */
#define INGEST_BURST 256
/* ... and at most this long (us) per ingest_on_front call. */
#define INGEST_BURST_US 500

/* Counters since start; see ingest_log_stats(). */
struct ingest_stats {
    uint64_t frames;          /* storefront frames received */
    uint64_t frames_rejected; /* whole frames refused (envelope, decode) */
    uint64_t events_ok;       /* events decoded and valid */
    uint64_t events_rejected; /* events refused by the decoder */
    uint64_t forwarded;       /* events sent to the scorer */
    uint64_t batches;         /* IPCPROTO_EVENTS frames sent */
    uint64_t replies;         /* storefront reply frames sent */
    uint64_t timeouts;        /* requests answered ERR_UNAVAIL at deadline */
    uint64_t busy;            /* requests refused busy (any reason) */
    uint64_t late;            /* scorer replies for unknown/expired tags */
    uint64_t bad_scorer;      /* undecodable frames from the scorer */
    uint64_t held;            /* busy replies held (quota hint ignored) */
};

struct ingest;

/* What bounds the request path; changed live by ingest_set_limits(). */
struct ingest_limits {
    long timeout_ms;        /* how long a request may wait for the scorer */
    uint32_t window_events; /* events in flight to the scorer, at most */
    uint32_t queue_max;     /* requests queued per storefront, at most */
    uint32_t queue_wait_ms; /* a new request's expected wait, at most
                               (0: no bound) */
    uint32_t busy_hold_ms;  /* quota busy replies to a client that
                               ignores retry_after_ms are held this long,
                               at most (0: never held) */
};

/*
 * Create the request path over the three open sockets: `front` (ROUTER,
 * storefronts), `back` (DEALER, the scorer) and `fast` (a second DEALER
 * to the scorer with a fast-lane routing id, ipcproto.h: the order fast
 * lane's requests go on it), with the storefronts' quotas `quotas` and
 * the metrics registry `reg` (its families are added here). Every
 * pointer is borrowed and must outlive the ingest. Caller frees with
 * ingest_free().
 */
struct ingest *ingest_new(void *front, void *back, void *fast,
    const struct pseudo_key *key, const struct ingest_limits *lim,
    const struct quota_config *quotas, struct prom *reg)
    NONNULL(1, 2, 3, 4, 5, 6, 7);

/* Change the limits (SIGHUP). Queued requests stay queued. */
void ingest_set_limits(struct ingest *in, const struct ingest_limits *lim)
    NONNULL(1, 2);

/* Copy the gauges (pending, queued, in flight, counters) into the
 * registry, before it is rendered. */
void ingest_metrics_refresh(struct ingest *in) NONNULL(1);

/* Free everything, wiping buffers. NULL is a no-op. */
void ingest_free(struct ingest *in);

/*
 * Handle up to INGEST_BURST storefront frames waiting on `front`. Bad
 * input is answered and counted, never returned as an error.
 *
 * Returns 0, or ERR_SHUTDOWN / ERR_IO when the socket itself failed.
 */
int ingest_on_front(struct ingest *in) WARN_UNUSED NONNULL(1);

/*
 * Handle up to INGEST_BURST scorer frames waiting on `fast`, then as many
 * on `back`: match each IPCPROTO_REPLIES frame to its pending request
 * and answer it.
 *
 * Returns 0, or ERR_SHUTDOWN / ERR_IO when the socket itself failed.
 */
int ingest_on_back(struct ingest *in) WARN_UNUSED NONNULL(1);

/*
 * Answer every request whose deadline has passed with ERR_UNAVAIL, and
 * send the held busy replies that are due. Returns the milliseconds
 * until the next deadline or held reply, or -1 when nothing is pending.
 */
long ingest_expire(struct ingest *in) NONNULL(1);

/*
 * The scorer connection was lost (the scorer stopped or was killed):
 * answer every request sent to it and not answered with ERR_UNAVAIL at
 * once (the storefront resends; event ids make that safe) instead of at
 * its deadline, which held the window, and every storefront's queue
 * behind it, for request_timeout_ms after a scorer restart. Queued
 * requests stay queued for the scorer's return.
 */
void ingest_scorer_lost(struct ingest *in) NONNULL(1);

/* Send the held replies; answer every pending request with
 * ERR_SHUTDOWN (before closing). */
void ingest_drain(struct ingest *in) NONNULL(1);

/*
 * SIGTERM: send the held replies, answer the requests still queued (not
 * sent to the scorer) with ERR_SHUTDOWN; those at the scorer keep
 * waiting for its replies.
 */
void ingest_stop_queued(struct ingest *in) NONNULL(1);

/* True when no request waits for a reply. */
bool ingest_idle(const struct ingest *in) NONNULL(1);

/* Return the number of requests waiting for the scorer. */
uint32_t ingest_pending(const struct ingest *in) NONNULL(1);

/* Log the counters on one line, at debug level unless `info`. */
void ingest_log_stats(const struct ingest *in, bool info) NONNULL(1);

#endif
