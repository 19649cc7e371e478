/*
 * replay.h - vigil-replay's private header: the input rows, the event
 *            stream, the options, and the entry points of each file
 *
 * vigil-replay is one process with one thread. input.c reads the fraud
 * data set (one user and one order per row) and the IP range file,
 * with country.c's name -> ISO 3166 table; stream.c turns every row
 * into its events (signup, visit, order, label after --label-delay) in
 * replay order and fills struct event + struct event_pii for each (a
 * label: a query request); send.c (with send_keys.c, send_label.c,
 * send_retry.c, send_open.c: send_int.h) sends them in batches over N DEALER
 * connections to the collector, as a storefront, and the labels one
 * request each over one DEALER connection to the scorer's query
 * endpoint, as an analyst; it never lets two events that must stay in
 * order travel on different connections at once, and matches the
 * replies; report.c prints progress, the
 * metrics and the --out CSV. This header is shared only inside
 * tools/vigil-replay/.
 *
 * Invariants:
 *  - the stream order is a pure function of the input and the options:
 *    (event time, non-label before label, input row, signup < visit <
 *    order); event, account and order ids derive from the user id.
 *  - every order event ends answered (scored or rejected), timed out or
 *    lost; struct replay_stats counts each event once.
 *
 * See also: tools/vigil-replay.1, common/sfproto.h, common/metrics.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_REPLAY_REPLAY_H
#define VIGIL_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/qproto.h"
#include "common/reply.h"
#include "common/zclient.h"

#define REPLAY_PROGNAME        "vigil-replay"
#define REPLAY_MAX_ROWS        20000000
#define REPLAY_MAX_LINE        4096
#define REPLAY_DEVICE_MAX      64
#define REPLAY_MAX_CONNECTIONS 64
#define REPLAY_MAX_INFLIGHT    256
/* Label requests in flight: the default keeps a full scorer batch
 * (SCORER_QUERY_DRAIN, 512) waiting while one is answered. */
#define REPLAY_LABEL_INFLIGHT     1024
#define REPLAY_MAX_LABEL_INFLIGHT 4096
#define REPLAY_NS_PER_S           1000000000ULL
/* Labels go up to this many UTC days ahead of the oldest unanswered
 * event (send_label.c send_ahead): the scorer's country counters keep 16
 * days apart (scorer/history_model.c CTY_DAYS), so up to 15 days ahead no
 * order counts a label of its own day or later. 7 (8 days kept) before
 * 2026-12-05: the labels sent ahead were still in flight at ~100 UTC
 * days of the shared data set, and the stream stopped there (the day
 * barrier); at 15 days, ~30 times. */
#define REPLAY_LABEL_AHEAD_DAYS 15
#define REPLAY_MS_PER_DAY       86400000ULL

/* The browsers of the data set, and the user agent each is sent as. */
enum replay_browser {
    RB_CHROME = 0,
    RB_FIREFOX,
    RB_SAFARI,
    RB_IE,
    RB_OPERA,
    RB_COUNT
};

/* One input row: a user, their signup and their one order. */
struct replay_row {
    uint64_t user_id;
    uint64_t signup_ms;   /* event time of account.signup */
    uint64_t purchase_ms; /* event time of device.seen and order.placed */
    uint64_t amount;      /* USD cents */
    uint32_t ip;          /* IPv4, the data's decimal floored */
    char device[REPLAY_DEVICE_MAX + 1];
    char source[EVENT_SHORT_MAX + 1]; /* signup source, lower case */
    uint8_t browser;                  /* enum replay_browser */
    uint8_t age;
    bool has_age;
    char country[3]; /* ISO alpha-2 of the IP, "" unknown */
    uint8_t label;   /* class: 1 fraud */
    bool holdout;    /* --holdout: a held-out user */
    /* the reply to its order.placed */
    bool answered;
    bool has_score;
    uint8_t score;
    uint8_t decision; /* enum reply_decision */
    int code;         /* 0 or the ERR_* it was rejected with */
};

enum replay_kind { RK_SIGNUP = 0, RK_VISIT, RK_ORDER, RK_LABEL };

/* One event of the stream: what to send, for which row, when. */
struct replay_ev {
    uint64_t ts;  /* event time, ms */
    uint32_t row; /* index into rows */
    uint8_t kind; /* enum replay_kind */
};

/* The command line (tools/vigil-replay.1, OPTIONS). */
struct replay_opts {
    const char *fraud_data;
    const char *ip_country; /* NULL: no ip_country sent */
    const char *out;
    const char *trace;         /* NULL, or the sent events as CSV */
    struct zclient_opts conn;  /* the storefront's: --endpoint, --cert,
                                  --server-key, --keys-dir, --insecure-dev */
    struct zclient_opts qconn; /* the analyst's, for labels:
                                  --query-endpoint, --analyst-cert, and
                                  the same server key, keys dir, mode */
    const char *storefront;    /* whose ids the labels name */
    uint64_t label_delay_ms;
    double holdout; /* share of held-out users; < 0 without --holdout */
    uint64_t split_seed;
    unsigned connections;
    unsigned batch;
    unsigned inflight;       /* requests per storefront connection */
    unsigned label_inflight; /* label requests in flight */
    double timeout;          /* seconds before a request counts as lost */
    bool quiet;
    bool dry_run; /* build and encode only, send nothing */
};

/* The data and the stream. */
struct replay_data {
    struct replay_row *rows;
    size_t nrows;
    struct replay_ev *evs;
    size_t nevs;
    uint64_t no_range;        /* IPs in no range of the file */
    uint64_t unknown_country; /* ranges whose name is not in the table */
};

/* What a run did. */
struct replay_stats {
    uint64_t sent;        /* events sent */
    uint64_t answered;    /* events with a reply */
    uint64_t ok;          /* ... with ok true */
    uint64_t rejected;    /* ... with ok false */
    uint64_t timeouts;    /* events whose request timed out or never left */
    uint64_t malformed;   /* reply frames that did not decode or match */
    uint64_t lost;        /* events answered by such frames */
    uint64_t late;        /* replies after their request timed out */
    uint64_t requests;    /* frames sent */
    uint64_t waits;       /* times sending paused to keep the order */
    uint64_t waits_day;   /* ... of which at the day barrier (labels) */
    uint64_t waits_label; /* ... for a label sharing a key in flight */
    uint64_t busy;        /* replies asking to resend (busy, full,
                             unavailable): the request was kept */
    uint64_t retried;     /* events sent again after such a reply */
    uint64_t overtaken;   /* events answered while an earlier event they
                             share a key with waited to be resent */
    int first_code;       /* the first rejection's ERR_* */
    char first_msg[REPLY_MSG_MAX + 1]; /* ... and its message */
    char first_id[EVENT_ID_MAX + 1];   /* ... and its event id */
    uint64_t tick_sent; /* events sent since the last progress line */
};


/* ----------------------------------------------------------- country.c */

/* The alpha-2 code of an English country name (static), or NULL. */
const char *country_code(const char *name) NONNULL(1);

/* Names in the table. */
size_t country_count(void);

/* NULL when the table keeps its invariants, else what is wrong. */
const char *country_check(void);

/* ------------------------------------------------------------- input.c */

/*
 * Read the fraud data set at `path` (plain or gzip; the columns of
 * train.csv.gz) into d->rows. Returns 0, or an ERR_* with the file, line
 * and reason in `err`.
 */
int input_rows(const char *path, struct replay_data *d, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Read the IP range file at `path` and set every row's country (the
 * range with the greatest lower bound <= ip, if ip <= its upper bound).
 * Returns 0, or an ERR_* with the reason in `err`.
 */
int input_countries(const char *path, struct replay_data *d, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/* ------------------------------------------------------------ stream.c */

/*
 * Mark held-out users (with --holdout) and build d->evs in replay order.
 * Returns 0, or ERR_INVAL when an event time is outside what the
 * storefront protocol accepts (`err` says which row).
 */
int stream_build(struct replay_data *d, const struct replay_opts *o, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * True when user `user_id` is held out: the first 8 bytes of
 * BLAKE2b-64 keyed with BLAKE2b-256("vigil-replay-split:<seed>") over
 * the decimal user id, read big-endian, over 2^64, are < fraction.
 */
bool stream_is_holdout(uint64_t user_id, uint64_t seed, double fraction);

/*
 * Fill ev and pii for stream event `i`, which is not a label (both are
 * cleared first).
 */
void stream_fill(const struct replay_data *d, size_t i, struct event *ev,
    struct event_pii *pii) NONNULL(1, 3, 4);

/*
 * Fill `q` with the query request that sends label event `i` (op label,
 * its order, fraud, source and event time, for storefront
 * o->storefront); the request id is the event's id.
 */
void stream_label(const struct replay_data *d, const struct replay_opts *o,
    size_t i, struct qproto_request *q) NONNULL(1, 2, 4);

/* Write the id of stream event `i` into out (EVENT_ID_MAX + 1 bytes). */
void stream_id(const struct replay_data *d, size_t i, char *out) NONNULL(1, 3);

/* "account.signup", ... for a kind (static). */
const char *stream_kind_name(enum replay_kind k);

/* ------------------------------------------- send.c, send_open.c */

struct sender;

/*
 * Prepare sending d's stream with o, counting into st (all borrowed for
 * the sender's life). Opens nothing. Caller frees with sender_free().
 */
struct sender *sender_new(const struct replay_opts *o, struct replay_data *d,
    struct replay_stats *st) NONNULL(1, 2, 3);

/* Close everything and free `s`. NULL is a no-op. */
void sender_free(struct sender *s);

/*
 * Open the --trace file, the libzmq context, the storefront connections
 * and, when the stream holds labels, the analyst's connection to the
 * query endpoint (common/zclient.h: CURVE unless --insecure-dev).
 * Returns 0, or an ERR_* with the reason on stderr.
 */
int sender_open(struct sender *s) WARN_UNUSED NONNULL(1);

/*
 * Send one uncounted device.seen on each storefront connection, and a
 * request of no operation on the query connection, and wait up to 5 s
 * for the answers. Returns 0, ERR_MALFORMED or ERR_UNAVAIL (on stderr).
 */
int sender_probe(struct sender *s) WARN_UNUSED NONNULL(1);

/*
 * Send the whole stream, then wait up to o->timeout for the replies
 * still out; `*elapsed` gets the ns from the first send to the last
 * reply. Returns 0 or ERR_IO.
 */
int sender_run(struct sender *s, uint64_t *elapsed) WARN_UNUSED NONNULL(1, 2);

/* Build and encode every request without sending (--dry-run). */
void sender_dry(struct sender *s, uint64_t *elapsed) NONNULL(1, 2);

/* ------------------------------------------------------------ report.c */

/* One progress line on stderr (unless o->quiet). */
void report_progress(const struct replay_opts *o, const struct replay_data *d,
    struct replay_stats *st, double t_s, unsigned inflight) NONNULL(1, 2, 3);

/*
 * Write the --out CSV: user_id,score,decision per row, in input order.
 * Returns 0 or ERR_IO (on stderr).
 */
int report_csv(const struct replay_opts *o,
    const struct replay_data *d) WARN_UNUSED NONNULL(1, 2);

/* Print the run and the metrics on stdout. */
void report_summary(const struct replay_opts *o, const struct replay_data *d,
    const struct replay_stats *st, uint64_t elapsed) NONNULL(1, 2, 3);

#endif
