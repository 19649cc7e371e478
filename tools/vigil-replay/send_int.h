/*
 * send_int.h - vigil-replay's sender, private to the send*.c files: the
 *              key table, the request slots, the connections, and the
 *              functions each file gives the others
 *
 * The sender is split by job: send.c builds requests, picks connections
 * and runs the socket loop (sender_run, sender_dry) and matches the
 * storefront's replies; send_keys.c is the ordering (the key table and
 * the day barrier: where an event may go); send_label.c the labels on
 * the analyst's query connection (sent inline, ahead of their turn,
 * and their replies); send_retry.c the resends of busy replies;
 * send_open.c opening, probing and freeing. One thread; nothing here is
 * shared across threads.
 *
 * Ownership: struct sender owns its conns, their slots (and each slot's
 * holds and evi), the key table, the buffers and the decoder; o, d and
 * st are borrowed (replay.h, sender_new).
 *
 * See also: replay.h, send.c (the ordering rules, at its top)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_REPLAY_SEND_INT_H
#define VIGIL_REPLAY_SEND_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/qproto.h"
#include "common/reply.h"
#include "common/wire.h"
#include "tools/vigil-replay/replay.h"

#define KEYS_PER_EVENT 5
#define SEND_BUDGET    32          /* requests per send_some() call */
#define REPLY_ZONE     (64 * 1024) /* decoder chunk */
#define PROBE_WAIT_S   5
/* The days of the labels in flight span at most REPLAY_LABEL_AHEAD_DAYS
 * + 2 (send_keys.c: label_days_hold); a ring of this many counts them. */
#define SEND_LABEL_DAYS 64

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
    /* Labels in flight by UTC day, for the day barrier (send_keys.c):
     * lday_n[d % SEND_LABEL_DAYS] for day d, lday_total in all; none of
     * a day before lday_lo is. */
    uint32_t lday_n[SEND_LABEL_DAYS];
    uint32_t lday_total;
    uint64_t lday_lo, lday_hi;
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

/* -------------------------------------------------------- send_keys.c */

/* The keys stream event i holds into out[KEYS_PER_EVENT]; returns how
 * many. */
unsigned event_keys(const struct sender *s, size_t i, struct hold *out)
    NONNULL(1, 3);

/* The table entry of `key`, or NULL when no event holds it. */
struct kent *kfind(struct sender *s, uint64_t key) NONNULL(1);

/* Hold key h for an event on connection conn. */
void khold(struct sender *s, const struct hold *h, int32_t conn) NONNULL(1, 2);

/* Release one hold of key h (fatal when it is not held). */
void krelease(struct sender *s, const struct hold *h) NONNULL(1, 2);

/*
 * Where stream event i may go: the connection it must follow (>= 0),
 * -1 for any, or -2 when it must wait for replies (s->why_day says
 * whether the day barrier was the reason).
 */
int placement(struct sender *s, size_t i) NONNULL(1);

/* A label of stream event i was sent on the query connection; its
 * answer (or loss) came. Every hold is released exactly once. */
void label_days_hold(struct sender *s, size_t i) NONNULL(1);
void label_days_release(struct sender *s, size_t i) NONNULL(1);

/* True when two events' key lists share an exclusive key. */
bool keys_meet(const struct hold *a, unsigned na, const struct hold *b,
    unsigned nb) NONNULL(1, 3);

/* The UTC day of stream event i. */
uint64_t ev_day(const struct sender *s, size_t i) NONNULL(1);

/* ------------------------------------------------------------- send.c */

/* Write stream event i, sent on connection conn, to --trace if open. */
void trace_event(struct sender *s, size_t i, unsigned conn) NONNULL(1);

/* A free slot of c, or NULL when all are in flight. */
struct slot *free_slot(struct conn *c) NONNULL(1);

/* Slot sl of c is answered (or given up): release its keys, free it. */
void slot_done(struct sender *s, struct conn *c, struct slot *sl)
    NONNULL(1, 2, 3);

/*
 * Send the request built for slot `sl` of connection ci. Returns 0,
 * ERR_AGAIN (never left: its events are lost to this run) or ERR_IO.
 */
int dispatch(struct sender *s, unsigned ci, struct slot *sl,
    const uint8_t *data, size_t len, uint64_t now) NONNULL(1, 3, 4);

/* The slot of c whose first event has id `id`; with "" the oldest. */
struct slot *find_slot(struct conn *c, const char *id) NONNULL(1, 2);

/* Count the reply `rep` (may be NULL) with `code` for stream event i. */
void note_reply(struct sender *s, size_t i, const struct reply *rep, int code)
    NONNULL(1);

/* ------------------------------------------------------- send_label.c */

/*
 * Build the label request of stream event s->next for the query
 * connection c into `out`, hold its keys for `sl`, and move s->next on.
 * Returns the frame's length; *data points into out.
 */
size_t build_label(struct sender *s, unsigned c, struct slot *sl,
    struct buf *out, const uint8_t **data) NONNULL(1, 3, 4, 5);

/*
 * While a storefront batch is being built: send the label at s->next on
 * the query connection if it may go. True when s->next moved on.
 */
bool label_inline(struct sender *s, uint64_t now) NONNULL(1);

/* Send the labels that may go ahead of their turn. 0 or ERR_IO. */
int send_ahead(struct sender *s, uint64_t now) NONNULL(1);

/* The reply to a label request on the query connection. */
void handle_label_reply(struct sender *s, struct conn *c, const uint8_t *p,
    size_t len) NONNULL(1, 2);

/* ------------------------------------------------------- send_retry.c */

/* Reply codes that ask for the same request again later. */
bool retryable(int code);

/*
 * Keep slot sl of c to be resent hint_ms from now (0: the default).
 * False, keeping nothing, once it has waited o->timeout.
 */
bool retry_keep(struct sender *s, struct conn *c, struct slot *sl,
    uint32_t hint_ms, uint64_t now) NONNULL(1, 2, 3);

/* Count the events of slot b that overtook a request of c waiting to
 * be resent. */
void count_overtaken(struct sender *s, const struct conn *c,
    const struct slot *b) NONNULL(1, 2, 3);

/*
 * Resend every request whose retry time has come; `*next_due` gets the
 * earliest retry time still ahead (unchanged when none). 0 or ERR_IO.
 */
int resend_due(struct sender *s, uint64_t now, uint64_t *next_due)
    NONNULL(1, 3);

#endif
