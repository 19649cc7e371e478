/*
 * load.h - vigil-load's private header: options, run statistics, and the
 *          entry points main.c calls in run.c and report.c
 *
 * vigil-load is one process with one thread. main.c parses the options
 * and drives the start-up checklist; gen.c makes the events from the
 * people of world.c (with rng.h's random stream and sb.h's string
 * builder); run.c sends them over N DEALER connections and matches the
 * replies; hist.c keeps the latencies; report.c prints the progress
 * lines, the --show decisions and the summary. This header is shared
 * only inside tools/vigil-load/.
 *
 * Invariants:
 *  - struct load_stats is written by run.c only and read by report.c;
 *    every event sent ends in exactly one of answered (ok or rejected),
 *    timeouts or lost (answered by a malformed frame).
 *
 * See also: tools/vigil-load.1, gen.h, hist.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_LOAD_H
#define VIGIL_LOAD_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/compiler.h"
#include "common/zclient.h"
#include "common/reply.h"
#include "tools/vigil-load/gen.h"
#include "tools/vigil-load/hist.h"

#define LOAD_PROGNAME        "vigil-load"
#define LOAD_NS_PER_S        1000000000ULL
#define LOAD_MAX_CONNECTIONS 256
#define LOAD_MAX_INFLIGHT    1024
#define LOAD_MAX_SHOW        1000

/* The command line (tools/vigil-load.1, OPTIONS). */
struct load_opts {
    struct zclient_opts conn; /* endpoint, certificate, server key */
    unsigned connections;     /* DEALER sockets, 1..LOAD_MAX_CONNECTIONS */
    unsigned batch;           /* events per request, 1..SFPROTO_MAX_BATCH */
    double rate;              /* events/s in total; 0 = flat out */
    double duration;          /* seconds of sending */
    uint64_t max_events;      /* stop after this many; 0 = no limit */
    double fraud_share;       /* share of events from fraud campaigns, 0..1 */
    uint64_t seed;            /* the population and the stream */
    bool json;                /* one JSON object on stdout */
    bool orders_only;         /* only order.placed events */
    bool quiet;               /* no progress lines (and no summary with json) */
    bool strict;              /* exit 1 on any rejected or timed-out event */
    bool dry_run;             /* generate and encode only */
    bool envelope;            /* prefix an empty delimiter frame, like REQ */
    unsigned show;            /* order decisions to print, 0..LOAD_MAX_SHOW */
    unsigned inflight;        /* requests outstanding per connection */
    double timeout;           /* seconds before a request counts as lost */
};

/* What a run measured. */
struct load_stats {
    uint64_t sent;         /* events sent (or queued to send) */
    uint64_t requests;     /* request frames sent */
    uint64_t bytes;        /* request frame bytes sent */
    uint64_t answered;     /* events with a reply: ok + rejected */
    uint64_t ok;           /* events acknowledged with ok true */
    uint64_t rejected;     /* events answered with ok false */
    uint64_t busy;         /* of those, refused with busy (ERR_BUSY) */
    uint64_t timeouts;     /* events whose request timed out or never left */
    uint64_t malformed;    /* reply frames that did not decode or match */
    uint64_t lost;         /* events of the requests such frames answered */
    uint64_t late;         /* replies to requests already timed out */
    uint64_t orders;       /* order.placed events answered */
    uint64_t decisions[4]; /* by enum reply_decision */
    uint64_t first_reject_code; /* -ERR_* of the first rejection, or 0 */
    struct hist all;            /* latency of every answered event, ns */
    struct hist order;          /* latency of answered orders, ns */
    struct hist busy_lat;       /* latency of busy replies, ns */
    struct hist tick;           /* this second's latencies, for progress */
    uint64_t tick_answered;     /* events answered this second */
    uint64_t tick_errors;       /* events failed this second */
};


/* ---------------------------------------------------------------- run.c */

struct run;

/*
 * Prepare a run of `o` drawing events from `g` and counting into `st`
 * (all three borrowed for the run's life). Allocates the frame buffers
 * and the reply decoder; opens nothing. Caller frees with run_free().
 */
struct run *run_new(const struct load_opts *o, struct gen *g,
    struct load_stats *st) NONNULL(1, 2, 3);

/* Close the connections, wipe the frames and free `r`. NULL is a no-op. */
void run_free(struct run *r);

/*
 * Open the pacing timer, the libzmq context and o->connections DEALER
 * sockets connected to o->endpoint. Returns 0 or ERR_IO (the reason is
 * on stderr).
 */
int run_open(struct run *r) WARN_UNUSED NONNULL(1);

/* Return the number of connections opened (0 before run_open). */
unsigned run_connections(const struct run *r) NONNULL(1);

/*
 * Send one uncounted device.seen on every connection and wait up to 5 s
 * for every answer, so that a missing collector is a clear environment
 * error and every pipeline is connected before timing. Returns 0,
 * ERR_MALFORMED (an answer that is not a reply) or ERR_UNAVAIL (no
 * answer in time, or a send failed); the reason is on stderr.
 */
int run_probe(struct run *r) WARN_UNUSED NONNULL(1);

/*
 * Send for o->duration (or o->max_events), then wait up to o->timeout
 * for the replies still out; `*elapsed` receives the ns from the first
 * send to the end. Returns 0 or ERR_IO (a socket failed; the counts so
 * far are still valid).
 */
int run_loop(struct run *r, uint64_t *elapsed) WARN_UNUSED NONNULL(1, 2);

/*
 * Generate and encode requests for o->duration without sending, counting
 * them as sent and answered: the generator's own ceiling.
 */
void run_dry(struct run *r, uint64_t *elapsed) NONNULL(1, 2);

/* ------------------------------------------------------------- report.c */

/*
 * Print the progress line of the second that ends at `t_s` seconds into
 * the run (stderr, unless o->quiet), then clear st's per-second counts.
 */
void report_progress(const struct load_opts *o, struct load_stats *st,
    double t_s, unsigned inflight) NONNULL(1, 2);

/*
 * Print one --show line for the reply to an order: order id, amount
 * and currency, pattern, then the score, decision and reasons or the
 * rejection.
 */
void report_order(FILE *f, const struct gen_info *order,
    const struct reply *rep) NONNULL(1, 2, 3);

/*
 * Print the summary of a run over `nconns` connections that took
 * `elapsed` ns: human (stdout, or stderr with --json unless --quiet)
 * and with --json one JSON object on stdout. Returns 0, or ERR_IO when
 * stdout could not be written (full disk, closed pipe).
 */
int report_summary(const struct load_opts *o, const struct load_stats *st,
    const struct gen *g, unsigned nconns, uint64_t elapsed) WARN_UNUSED
    NONNULL(1, 2, 3);

#endif
