/*
 * quota.h - per-client rate limits: token buckets and their settings
 *
 * Each authenticated client (its name in the allow-list, zauth.h) gets a
 * token bucket for events (the collector) and one for queries (the
 * scorer): `per_s` tokens a second, at most `burst` saved up. A request
 * for n units passes when the bucket holds min(n, burst) tokens and then
 * costs n (the bucket may go below zero, so a batch larger than the burst
 * is paid for by the time that follows); otherwise it is answered "busy"
 * with the milliseconds after which it would pass. The rates come from
 * the configuration (quota_events_per_s, quota_queries_per_s and their
 * bursts) with per-client exceptions in quota_clients.
 *
 * The client table maps names to their buckets in O(1): names come from
 * the allow-list, so there are few; past QUOTA_MAX_CLIENTS the extra
 * names share one entry ("_other").
 *
 * Invariants:
 *  - a rate of 0 means no limit: quota_take() always passes.
 *  - the table belongs to one thread (the daemon's loop).
 *
 * See also: scorer/scorer.conf.5 (quota_*), collector/ingest.c,
 *           scorer/query.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_QUOTA_H
#define COMMON_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cert.h"
#include "common/compiler.h"

#define QUOTA_MAX_CLIENTS 4096 /* entries in a table, "_other" included */
#define QUOTA_MAX_RULES   32   /* per-client entries in quota_clients */
#define QUOTA_OTHER       "_other"

/* A rate limit: per_s tokens a second, at most burst saved (0: none). */
struct quota_rate {
    double per_s;
    double burst;
};

/* One bucket. Zeroed: full at its first use. */
struct quota_bucket {
    double tokens;
    uint64_t last_ns; /* monotonic; 0 = never used */
};

/* One quota_clients entry. */
struct quota_rule {
    char name[CERT_NAME_MAX + 1];
    struct quota_rate events;
    struct quota_rate queries;
};

/* The whole setting, resolved. */
struct quota_config {
    struct quota_rate events;  /* everyone else's */
    struct quota_rate queries; /* everyone else's */
    struct quota_rule rules[QUOTA_MAX_RULES];
    unsigned nrules;
    uint64_t generation; /* bumped by each quota_config_set() */
};

/*
 * Parse quota_clients: entries separated by spaces or commas, each
 * NAME:EVENTS_PER_S[:EVENTS_BURST[:QUERIES_PER_S[:QUERIES_BURST]]], a
 * field "-" or left out taking the global value (stored as -1). Into
 * out[0..max) when `out` is not NULL, else only checked. Returns the
 * number of entries, or ERR_INVAL with a reason in
 * `why` (a bad name or number, a repeated name, more than
 * QUOTA_MAX_RULES entries).
 */
int quota_parse_clients(const char *spec, struct quota_rule *out, size_t max,
    char *why, size_t whylen) NONNULL(1, 4);

struct vigil_config;

/*
 * Fill `q` from the configuration's quota_* keys (a burst of 0 means one
 * second's worth; quota_clients gives the per-client entries) and bump
 * its generation. Returns 0 or ERR_INVAL (`why` says why; `q` is then
 * unchanged: the previous quotas stay in force).
 */
int quota_config_set(struct quota_config *q, const struct vigil_config *cfg,
    char *why, size_t whylen) WARN_UNUSED NONNULL(1, 2, 3);

/* The event and query rates of client `name` under `q`. */
void quota_config_lookup(const struct quota_config *q, const char *name,
    struct quota_rate *events, struct quota_rate *queries) NONNULL(1, 2, 3, 4);

/*
 * Take `n` (> 0) units from `b` under `r` at monotonic time `now_ns`.
 * Returns 0 when they were taken, or the milliseconds (>= 1) after which
 * the same request would pass; nothing is taken then.
 */
uint32_t quota_take(struct quota_bucket *b, const struct quota_rate *r,
    double n, uint64_t now_ns) NONNULL(1, 2);

/* One client of a table: its name, rates and buckets. */
struct quota_client {
    char name[CERT_NAME_MAX + 1];
    struct quota_rate events_rate;
    struct quota_rate queries_rate;
    struct quota_bucket events;
    struct quota_bucket queries;
    uint64_t generation; /* of the quota_config the rates came from */
    void *user;          /* the daemon's own per-client state, or NULL */
};

struct quota_table;

/* Make an empty table over `q` (borrowed; it may change: entries pick
 * up a new generation at their next lookup). Never fails. */
struct quota_table *quota_table_new(const struct quota_config *q) NONNULL(1);

/* Free the table. The daemon frees its `user` states first
 * (quota_table_each). NULL is a no-op. */
void quota_table_free(struct quota_table *t);

/*
 * Return the entry of client `name` (1..CERT_NAME_MAX bytes; longer
 * names and names past QUOTA_MAX_CLIENTS share the "_other" entry),
 * making it on first use with the rates `q` gives it. Never NULL; the
 * pointer stays valid until quota_table_free().
 */
struct quota_client *quota_client_get(struct quota_table *t, const char *name)
    NONNULL(1, 2);

/* Call `cb` for every entry, in creation order. */
void quota_table_each(struct quota_table *t,
    void (*cb)(void *arg, struct quota_client *c), void *arg) NONNULL(1, 2);

#endif
