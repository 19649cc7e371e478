/*
 * quota.c - token buckets, their settings and the client table (quota.h)
 *
 * The table is an array of entries in creation order plus an
 * open-addressing index over their names (linear probing, twice
 * QUOTA_MAX_CLIENTS slots). Entries never move.
 *
 * See also: quota.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/quota.h"
#include "common/xmalloc.h"

#define QUOTA_SLOTS (2 * QUOTA_MAX_CLIENTS)

struct quota_table {
    const struct quota_config *q;  /* borrowed */
    struct quota_client **clients; /* QUOTA_MAX_CLIENTS, creation order */
    unsigned n;
    struct quota_client **slots; /* QUOTA_SLOTS */
    struct quota_client *other;  /* the shared overflow entry */
};

/* Parse one field: "-" (-1: the global value) or a decimal 0..1e9. */
static int
quota_field(const char *s, size_t len, double *out)
{
    char tmp[16];
    char *end;
    unsigned long v;

    if (len == 1 && s[0] == '-') {
        *out = -1;
        return 0;
    }
    if (len == 0 || len >= sizeof(tmp))
        return ERR_INVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (tmp[0] < '0' || tmp[0] > '9')
        return ERR_INVAL;
    errno = 0;
    v = strtoul(tmp, &end, 10);
    if (errno != 0 || *end != '\0' || v > 1000000000UL)
        return ERR_INVAL;
    *out = (double)v;
    return 0;
}

/* Parse one "NAME:a[:b[:c[:d]]]" of `len` bytes into `r`. */
static int
quota_rule_parse(
    const char *s, size_t len, struct quota_rule *r, char *why, size_t whylen)
{
    double f[4] = { -1, -1, -1, -1 };
    const char *p, *end = s + len, *colon;
    size_t nlen;
    unsigned i;

    colon = memchr(s, ':', len);
    if (colon == NULL) {
        snprintf(why, whylen, "'%.*s': expected NAME:EVENTS_PER_S[:...]",
            (int)(len > 64 ? 64 : len), s);
        return ERR_INVAL;
    }
    nlen = (size_t)(colon - s);
    memset(r, 0, sizeof(*r));
    if (nlen == 0 || nlen > CERT_NAME_MAX) {
        snprintf(why, whylen, "a client name of 1..%d bytes is required",
            CERT_NAME_MAX);
        return ERR_INVAL;
    }
    memcpy(r->name, s, nlen);
    r->name[nlen] = '\0';
    if (!cert_name_ok(r->name)) {
        snprintf(why, whylen, "'%s' is not a client name", r->name);
        return ERR_INVAL;
    }
    p = colon + 1;
    for (i = 0; i < 4 && p <= end; i++) {
        const char *next = memchr(p, ':', (size_t)(end - p));
        size_t flen = next != NULL ? (size_t)(next - p) : (size_t)(end - p);

        if (quota_field(p, flen, &f[i]) != 0) {
            snprintf(why, whylen,
                "%s: field %u is not '-' or a number "
                "0..1000000000",
                r->name, i + 1);
            return ERR_INVAL;
        }
        if (next == NULL) {
            p = end + 1;
            break;
        }
        p = next + 1;
    }
    if (p <= end) {
        snprintf(why, whylen, "%s: more than 4 numbers", r->name);
        return ERR_INVAL;
    }
    r->events.per_s = f[0];
    r->events.burst = f[1];
    r->queries.per_s = f[2];
    r->queries.burst = f[3];
    return 0;
}

int
quota_parse_clients(const char *spec, struct quota_rule *out, size_t max,
    char *why, size_t whylen)
{
    struct quota_rule seen[QUOTA_MAX_RULES];
    const char *p = spec;
    int n = 0, i;

    if (whylen > 0)
        why[0] = '\0';
    while (*p != '\0') {
        size_t len;

        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        len = strcspn(p, " ,\t");
        if (n == QUOTA_MAX_RULES) {
            snprintf(why, whylen, "more than %d clients", QUOTA_MAX_RULES);
            return ERR_INVAL;
        }
        if (quota_rule_parse(p, len, &seen[n], why, whylen) != 0)
            return ERR_INVAL;
        for (i = 0; i < n; i++) {
            if (strcmp(seen[i].name, seen[n].name) == 0) {
                snprintf(why, whylen, "%s: given twice", seen[n].name);
                return ERR_INVAL;
            }
        }
        if (out != NULL && (size_t)n < max)
            out[n] = seen[n];
        n++;
        p += len;
    }
    return n;
}

/* per_s tokens a second; a burst of 0 means one second's worth. */
static struct quota_rate
quota_rate_make(double per_s, double burst)
{
    struct quota_rate r;

    r.per_s = per_s > 0 ? per_s : 0;
    r.burst = burst > 0 ? burst : r.per_s;
    if (r.per_s > 0 && r.burst < 1)
        r.burst = 1;
    return r;
}

int
quota_config_set(struct quota_config *q, const struct vigil_config *cfg,
    char *why, size_t whylen)
{
    struct quota_rule rules[QUOTA_MAX_RULES];
    int n = quota_parse_clients(
        cfg->quota_clients, rules, QUOTA_MAX_RULES, why, whylen);
    int events_per_s = cfg->quota_events_per_s;
    int events_burst = cfg->quota_events_burst;
    int queries_per_s = cfg->quota_queries_per_s;
    int queries_burst = cfg->quota_queries_burst;
    int i;

    if (n < 0)
        return ERR_INVAL;
    q->events = quota_rate_make(events_per_s, events_burst);
    q->queries = quota_rate_make(queries_per_s, queries_burst);
    for (i = 0; i < n; i++) {
        struct quota_rule *r = &rules[i];
        double ep = r->events.per_s >= 0 ? r->events.per_s : events_per_s;
        double eb = r->events.burst >= 0 ?
            r->events.burst :
            (r->events.per_s >= 0 ? 0 : events_burst);
        double qp = r->queries.per_s >= 0 ? r->queries.per_s : queries_per_s;
        double qb = r->queries.burst >= 0 ?
            r->queries.burst :
            (r->queries.per_s >= 0 ? 0 : queries_burst);

        q->rules[i] = *r;
        q->rules[i].events = quota_rate_make(ep, eb);
        q->rules[i].queries = quota_rate_make(qp, qb);
    }
    q->nrules = (unsigned)n;
    q->generation++;
    return 0;
}

void
quota_config_lookup(const struct quota_config *q, const char *name,
    struct quota_rate *events, struct quota_rate *queries)
{
    unsigned i;

    for (i = 0; i < q->nrules; i++) {
        if (strcmp(q->rules[i].name, name) == 0) {
            *events = q->rules[i].events;
            *queries = q->rules[i].queries;
            return;
        }
    }
    *events = q->events;
    *queries = q->queries;
}

uint32_t
quota_take(struct quota_bucket *b, const struct quota_rate *r, double n,
    uint64_t now_ns)
{
    double need, wait_ms;

    if (r->per_s <= 0)
        return 0;
    if (b->last_ns == 0) {
        b->tokens = r->burst;
    } else if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * 1e-9 * r->per_s;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
    }
    b->last_ns = now_ns;
    need = n < r->burst ? n : r->burst;
    if (b->tokens >= need) {
        b->tokens -= n;
        return 0;
    }
    wait_ms = ceil((need - b->tokens) * 1000.0 / r->per_s);
    if (wait_ms < 1)
        wait_ms = 1;
    if (wait_ms > 3600000)
        wait_ms = 3600000;
    return (uint32_t)wait_ms;
}

struct quota_table *
quota_table_new(const struct quota_config *q)
{
    struct quota_table *t = xcalloc(1, sizeof(*t));

    t->q = q;
    t->clients = xcalloc(QUOTA_MAX_CLIENTS, sizeof(struct quota_client *));
    t->slots = xcalloc(QUOTA_SLOTS, sizeof(struct quota_client *));
    return t;
}

void
quota_table_free(struct quota_table *t)
{
    unsigned i;

    if (t == NULL)
        return;
    for (i = 0; i < t->n; i++)
        free(t->clients[i]);
    free(t->clients);
    free(t->slots);
    free(t);
}

static uint64_t
quota_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static struct quota_client *
quota_client_make(struct quota_table *t, const char *name)
{
    struct quota_client *c = xcalloc(1, sizeof(*c));

    snprintf(c->name, sizeof(c->name), "%s", name);
    quota_config_lookup(t->q, c->name, &c->events_rate, &c->queries_rate);
    c->generation = t->q->generation;
    t->clients[t->n++] = c;
    return c;
}

struct quota_client *
quota_client_get(struct quota_table *t, const char *name)
{
    struct quota_client *c;
    size_t i;

    if (strlen(name) > CERT_NAME_MAX || name[0] == '\0')
        name = QUOTA_OTHER;
    i = (size_t)(quota_hash(name) % QUOTA_SLOTS);
    while ((c = t->slots[i]) != NULL && strcmp(c->name, name) != 0)
        i = (i + 1) % QUOTA_SLOTS;
    if (c == NULL) {
        if (t->n + 1 >= QUOTA_MAX_CLIENTS) {
            if (t->other == NULL)
                t->other = quota_client_make(t, QUOTA_OTHER);
            c = t->other;
        } else {
            c = quota_client_make(t, name);
            t->slots[i] = c;
            if (strcmp(name, QUOTA_OTHER) == 0)
                t->other = c;
        }
    }
    if (c->generation != t->q->generation) {
        quota_config_lookup(t->q, c->name, &c->events_rate, &c->queries_rate);
        c->generation = t->q->generation;
    }
    return c;
}

void
quota_table_each(struct quota_table *t,
    void (*cb)(void *arg, struct quota_client *c), void *arg)
{
    unsigned i;

    for (i = 0; i < t->n; i++)
        cb(arg, t->clients[i]);
}
