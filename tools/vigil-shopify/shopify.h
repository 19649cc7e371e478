/*
 * shopify.h - vigil-shopify's private header: the process state, one
 *             delivery in flight, and the entry points of http.c,
 *             uplink.c and risk.c
 *
 * Threads and what they own:
 *  - the HTTP threads (libmicrohttpd's pool, http.c) read requests,
 *    check headers, cap and collect the body, verify the signature,
 *    answer repeats from the dedup set, parse and map the body
 *    (topics.c), then suspend the connection and hand the delivery to
 *    the uplink (uplink_submit);
 *  - the main thread runs the uplink (uplink.c): one DEALER per Vigil
 *    identity to the collector, the deliveries waiting for their
 *    replies, the 4-second budget; it decides each answer, records
 *    acknowledged deliveries in the dedup set, queues risk assessments
 *    and resumes the connection;
 *  - the privacy worker (privacy.c) and the label worker (labels.c)
 *    send the privacy topics and the fraud outcomes to the scorer's
 *    query endpoint, each with its own certificate, and resume the
 *    deliveries they answer;
 *  - the risk worker (risk.c) posts each scored order's assessment to
 *    the shop's Admin GraphQL API with libcurl, with bounded retries,
 *    never holding a webhook's answer.
 * This header is shared only inside tools/vigil-shopify/.
 *
 * Invariants:
 *  - a struct req belongs to its HTTP connection; between uplink_submit()
 *    and MHD_resume_connection() only the uplink touches it, and the
 *    connection is suspended, so it cannot be freed under the uplink.
 *  - every buffer of a struct req that held a body or an event is wiped
 *    before it is freed (req_free).
 *
 * See also: tools/vigil-shopify.8, topics.h, seen.h, shops.h, config.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_SHOPIFY_H
#define VIGIL_SHOPIFY_SHOPIFY_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "tools/vigil-shopify/config.h"
#include "tools/vigil-shopify/hmac.h"
#include "tools/vigil-shopify/seen.h"
#include "tools/vigil-shopify/shops.h"
#include "tools/vigil-shopify/topics.h"

#define SHOPIFY_PROGNAME "vigil-shopify"
#define SHOPIFY_PATH     "/webhooks" /* the one webhook URL path */

struct MHD_Connection;
struct http;
struct uplink;
struct risk;
struct privacy;
struct privacy_job;
struct labels;
struct labels_job;

/* Counters, written from every thread (relaxed atomics). */
struct shopify_stats {
    atomic_uint_fast64_t deliveries;    /* POST /webhooks with a body read */
    atomic_uint_fast64_t ok;            /* answered 200 after Vigil's ack */
    atomic_uint_fast64_t ok_no_events;  /* 200: nothing for Vigil */
    atomic_uint_fast64_t duplicates;    /* 200 from the dedup set */
    atomic_uint_fast64_t bad_signature; /* 401 */
    atomic_uint_fast64_t refused;       /* other 4xx and 501 */
    atomic_uint_fast64_t unavailable;   /* 503: Vigil down, full, timeout */
    atomic_uint_fast64_t timeouts;      /* of which the budget ran out */
    atomic_uint_fast64_t events_sent;
    atomic_uint_fast64_t events_acked;
    atomic_uint_fast64_t orders_scored; /* order.placed replies with a score */
    atomic_uint_fast64_t fields_dropped;
    atomic_uint_fast64_t labels_withheld; /* label evidence, not sent */
    atomic_uint_fast64_t labels_sent;     /* labels the scorer took: 200 */
    atomic_uint_fast64_t labels_unknown;  /* of an order Vigil never saw */
    atomic_uint_fast64_t labels_failed;   /* 5xx: scorer down or refused */
    atomic_uint_fast64_t late_replies;    /* for deliveries already answered */
    atomic_uint_fast64_t malformed_replies; /* frames that did not decode */
    atomic_uint_fast64_t risk_posted;
    atomic_uint_fast64_t risk_failed;  /* gave up after the attempts */
    atomic_uint_fast64_t risk_dropped; /* queue full or shutting down */
    atomic_uint_fast64_t risk_retries;
    atomic_uint_fast64_t privacy_ok;     /* privacy requests done: 200 */
    atomic_uint_fast64_t privacy_failed; /* 5xx: scorer down or refused */
};

#define STAT_ADD(sh, field, n)                                                 \
    atomic_fetch_add_explicit(&(sh)->stats.field, (n), memory_order_relaxed)
#define STAT_INC(sh, field) STAT_ADD(sh, field, 1)

/* The process state, owned by main(). */
struct shopify {
    struct config cfg;          /* loaded and checked */
    struct shops *shops;        /* secrets and tokens, read-only */
    struct seen *seen;          /* webhook ids already applied */
    struct uplink *uplink;      /* the collector side (main thread) */
    struct risk *risk;          /* Admin API poster, or NULL when off */
    struct privacy *privacy;    /* DPO worker, or NULL (no dpo_cert) */
    struct labels *labels;      /* label worker, or NULL (no label_cert) */
    struct http *http;          /* libmicrohttpd daemon */
    struct shopify_stats stats; /* counters */
};

/* Where a delivery stands. */
enum req_state {
    REQ_RECEIVING = 0, /* headers read, body arriving */
    REQ_WAITING,       /* submitted; suspended until the uplink answers */
    REQ_DONE,          /* answer queued */
};

/* A request body: capped, wiped whenever it moves or goes (http.c). */
struct req_body {
    uint8_t *data; /* owned */
    size_t len;    /* bytes received */
    size_t alloc;  /* bytes allocated */
    size_t cap;    /* max_body */
};

/* One delivery, from its headers to its answer. */
struct req {
    struct shopify *sh;          /* borrowed */
    struct MHD_Connection *conn; /* borrowed; the request's connection */
    enum req_state state;
    uint64_t t0_ms;       /* monotonic ms when the headers arrived */
    uint64_t deadline_ms; /* t0_ms + request_budget_ms */
    const struct shop *shop;
    enum topics_kind kind;
    char topic[TOPICS_TOPIC_MAX + 1];
    char webhook_id[TOPICS_WEBHOOK_ID_MAX + 1];
    char event_id[TOPICS_WEBHOOK_ID_MAX + 1]; /* X-Shopify-Event-Id or "" */
    uint64_t triggered_ms;                    /* 0 when absent */
    char hmac[HMAC_B64_LEN + 1];
    struct req_body body; /* the raw body, until mapped */
    bool too_big;         /* the body ran over max_body: discarded */
    uint64_t discarded;   /* bytes thrown away after the cap */
    /* Filled on the HTTP thread before uplink_submit(). */
    struct buf frame;                   /* the storefront batch; wiped */
    unsigned nevents;                   /* events in the frame */
    char first_id[EVENT_ID_MAX + 1];    /* its first event id */
    bool is_order;                      /* orders/create */
    char order_gid[TOPICS_GID_MAX + 1]; /* for the risk assessment */
    struct privacy_job *job;            /* a privacy topic's; owned */
    struct labels_job *lab;             /* a label to send; owned */
    uint8_t keys[2][SEEN_KEY_BYTES];    /* dedup keys to add on success */
    unsigned nkeys;
    /* The uplink's, while waiting. */
    struct req *prev, *next; /* the waiting list, oldest first */
    uint32_t slot;           /* in the uplink's index of first ids */
    /* The answer: written by whoever decides it before resuming. */
    int status;      /* HTTP status */
    const char *why; /* static text of the answer's body */
};

/* Wipe and free a request and its buffers. NULL is a no-op. */
void req_free(struct req *r);

/* ------------------------------------------------------------ http.c */

/*
 * Start the HTTP server on cfg.shopify_listen with cfg.http_threads
 * threads. Returns 0 or ERR_IO (logged: the address is taken, ...).
 * Caller stops it with http_stop().
 */
int http_start(struct shopify *sh, struct http **out) WARN_UNUSED NONNULL(1, 2);

/* Stop accepting new connections (at shutdown, before uplink_close). */
void http_quiesce(struct http *h);

/* Stop the server; every suspended connection must have been resumed
 * (uplink_close). NULL is a no-op. */
void http_stop(struct http *h);

/* Resume a connection the uplink has answered (sets state, wakes MHD).
 * Any thread. */
void http_resume(struct req *r) NONNULL(1);

/* ---------------------------------------------------------- uplink.c */

/*
 * Open the libzmq context and one DEALER per Vigil identity (per shop
 * certificate under CURVE; one for every shop when plain), connected to
 * cfg.collector_endpoint. Returns 0, ERR_INVAL (a certificate problem,
 * logged) or ERR_IO. Main thread.
 */
int uplink_open(struct shopify *sh, struct uplink **out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Wait up to `timeout_ms` until every identity's connection to the
 * collector is up, so that the first deliveries after a start are not
 * answered 503 for want of a connection. Returns 0, ERR_UNAVAIL (some
 * are not up; logged: the bridge serves anyway) or ERR_IO. Main thread.
 */
int uplink_wait_connected(struct uplink *u, long timeout_ms) WARN_UNUSED
    NONNULL(1);

/*
 * Hand a mapped delivery to the uplink (from an HTTP thread, after its
 * connection was suspended). Returns 0, or ERR_FULL (cfg.max_inflight
 * deliveries are waiting) / ERR_SHUTDOWN (closing): the caller then
 * answers 503 itself.
 */
int uplink_submit(struct uplink *u, struct req *r) WARN_UNUSED NONNULL(1, 2);

/*
 * Serve until *stop is set: send submitted deliveries, match replies,
 * expire budgets, sync the dedup set each second. Main thread.
 * Returns 0 or ERR_IO (a socket failed).
 */
int uplink_run(struct uplink *u, const volatile sig_atomic_t *stop) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Refuse new submissions and answer every waiting delivery 503 (Shopify
 * retries it). Main thread, before http_stop().
 */
void uplink_shutdown(struct uplink *u) NONNULL(1);

/* Close the sockets and the context and free. NULL is a no-op. */
void uplink_close(struct uplink *u);

/* Log the counters (info when `final`, else debug). Any thread. */
void uplink_log_stats(struct shopify *sh, bool final) NONNULL(1);

/* ------------------------------------------------------------ risk.c */

/*
 * Start the risk worker when any shop has an access token; *out is NULL
 * (risk assessments off) otherwise. Returns 0 or ERR_IO.
 */
int risk_open(struct shopify *sh, struct risk **out) WARN_UNUSED NONNULL(1, 2);

/*
 * Queue the risk assessment of a scored order (rep has a score) for
 * `shop`; copies what it needs. Returns 0, ERR_NOTFOUND (the shop has no
 * token) or ERR_FULL (cfg.risk_queue_max waiting: dropped, counted).
 * Any thread.
 */
int risk_enqueue(struct risk *rk, const struct shop *shop,
    const char *order_gid, const struct reply *rep) WARN_UNUSED
    NONNULL(1, 2, 3, 4);

/*
 * Build the GraphQL request body of one assessment (documented shape:
 * risk.c). Caller frees with risk_body_free() (wipes). Pure.
 */
char *risk_body(const char *order_gid, const struct reply *rep) NONNULL(1, 2);

/* Wipe and free a risk_body() string. NULL is a no-op. */
void risk_body_free(char *body);

/* Stop the worker (what is queued is dropped, counted) and free. NULL
 * is a no-op. */
void risk_close(struct risk *rk);

/* --------------------------------------------------------- privacy.c */

/*
 * Start the DPO worker when cfg.dpo_cert is set (*out NULL otherwise:
 * privacy topics then answer 503): check the certificate (role dpo),
 * make reports_dir. Returns 0, ERR_INVAL (logged) or ERR_IO.
 */
int privacy_open(struct shopify *sh, struct privacy **out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Hand a suspended privacy delivery (r->job set) to the worker, which
 * answers it and resumes its connection. Returns 0 or ERR_FULL /
 * ERR_SHUTDOWN (the caller answers 503 itself). Any thread.
 */
int privacy_submit(struct privacy *pv, struct req *r) WARN_UNUSED NONNULL(1, 2);

/* Stop the worker after its current job, answer every queued delivery
 * 503 and free. Before http_stop(). NULL is a no-op. */
void privacy_close(struct privacy *pv);

#endif
