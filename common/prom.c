/*
 * prom.c - metrics registry and the Prometheus text format (prom.h)
 *
 * A family keeps its series in an array (creation order, for rendering)
 * and an open-addressing hash of label values (linear probing, twice
 * PROM_MAX_SERIES slots, so it is never more than half full). Series are
 * allocated one by one and never move or go away before prom_free(), so
 * the pointers callers cache stay valid.
 *
 * Invariants:
 *  - f->nseries <= PROM_MAX_SERIES; the overflow series, once made, is
 *    the last one a full family hands out for every new label set.
 *  - a histogram's buckets are cumulative only when rendered; in memory
 *    each counts the observations of its own interval.
 *
 * See also: prom.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/xmalloc.h"

/* The longest piece of a sample line formatted at once (a name, a label,
 * a number): what buf_printf() may write per call here. */
#define PROM_PIECE_MAX 256

#define PROM_HASH_SLOTS (2 * PROM_MAX_SERIES)
#define PROM_OTHER      "_other"

const double prom_buckets[PROM_HIST_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001,
    0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

struct prom_series {
    const struct prom_family *fam;
    char *values[PROM_MAX_LABELS]; /* owned */
    uint64_t hash;
    uint64_t count; /* counter value; histogram observations */
    double value;   /* gauge value; histogram sum */
    uint64_t bucket[PROM_HIST_BUCKETS + 1]; /* histogram; last is +Inf */
};

struct prom_family {
    enum prom_type type;
    const char *name;
    const char *help;
    unsigned nlabels;
    const char *label_names[PROM_MAX_LABELS];
    struct prom_series **series; /* PROM_MAX_SERIES, creation order */
    unsigned nseries;
    struct prom_series **slots; /* PROM_HASH_SLOTS */
    struct prom_series *other;  /* the overflow series, or NULL */
    struct prom_family *next;
};

struct prom {
    struct prom_family *first, *last;
};

struct prom *
prom_new(void)
{
    return xcalloc(1, sizeof(struct prom));
}

static void
prom_series_free(struct prom_series *s)
{
    unsigned i;

    for (i = 0; i < PROM_MAX_LABELS; i++)
        free(s->values[i]);
    free(s);
}

void
prom_free(struct prom *p)
{
    struct prom_family *f, *next;
    unsigned i;

    if (p == NULL)
        return;
    for (f = p->first; f != NULL; f = next) {
        next = f->next;
        for (i = 0; i < f->nseries; i++)
            prom_series_free(f->series[i]);
        free(f->series);
        free(f->slots);
        free(f);
    }
    free(p);
}

static bool
prom_name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > PROM_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '_' || c == ':';

        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

struct prom_family *
prom_family_add(struct prom *p, enum prom_type type, const char *name,
    const char *help, unsigned nlabels, const char *const *label_names)
{
    struct prom_family *f;
    unsigned i;

    if (!prom_name_ok(name) || nlabels > PROM_MAX_LABELS ||
        (nlabels > 0 && label_names == NULL)) {
        log_warnx("%s: bad metric '%s'", __func__, name);
        return NULL;
    }
    for (i = 0; i < nlabels; i++) {
        if (!prom_name_ok(label_names[i]) ||
            strcmp(label_names[i], "le") == 0) {
            log_warnx("%s: bad label of '%s'", __func__, name);
            return NULL;
        }
    }
    f = xcalloc(1, sizeof(*f));
    f->type = type;
    f->name = name;
    f->help = help;
    f->nlabels = nlabels;
    for (i = 0; i < nlabels; i++)
        f->label_names[i] = label_names[i];
    f->series = xcalloc(PROM_MAX_SERIES, sizeof(struct prom_series *));
    f->slots = xcalloc(PROM_HASH_SLOTS, sizeof(struct prom_series *));
    if (p->last != NULL)
        p->last->next = f;
    else
        p->first = f;
    p->last = f;
    return f;
}

/* FNV-1a over the label values, each ended by a 0 byte. */
static uint64_t
prom_hash(const char *const *values, unsigned n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    unsigned i;

    if (values == NULL) /* a family without labels */
        return h;
    if (n > PROM_MAX_LABELS) /* never: prom_family_add checks */
        n = PROM_MAX_LABELS;
    for (i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)values[i];
        size_t k;

        for (k = 0; k < PROM_LABEL_MAX && p[k] != '\0'; k++) {
            h ^= p[k];
            h *= 0x100000001b3ULL;
        }
        h ^= 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static bool
prom_same(const struct prom_series *s, const char *const *values, unsigned n)
{
    unsigned i;

    /* Stored values are cut at PROM_LABEL_MAX bytes, and so is this
     * comparison: longer values that share those bytes share a series. */
    if (values == NULL)
        return n == 0;
    for (i = 0; i < n; i++)
        if (strncmp(s->values[i], values[i], PROM_LABEL_MAX) != 0)
            return false;
    return true;
}

static char *
prom_dup_label(const char *v)
{
    size_t n = strnlen(v, PROM_LABEL_MAX);
    char *s = xmalloc(n + 1);

    memcpy(s, v, n);
    s[n] = '\0';
    return s;
}

static struct prom_series *
prom_new_series(struct prom_family *f, const char *const *values, uint64_t h)
{
    struct prom_series *s = xcalloc(1, sizeof(*s));
    unsigned i;

    s->fam = f;
    s->hash = h;
    for (i = 0; i < f->nlabels && i < PROM_MAX_LABELS; i++)
        s->values[i] = prom_dup_label(values[i]);
    f->series[f->nseries++] = s;
    return s;
}

struct prom_series *
prom_get(struct prom_family *f, const char *const *values)
{
    static const char *const other[PROM_MAX_LABELS] = { PROM_OTHER, PROM_OTHER,
        PROM_OTHER };
    uint64_t h = prom_hash(values, f->nlabels);
    size_t i = (size_t)(h % PROM_HASH_SLOTS);
    struct prom_series *s;

    while ((s = f->slots[i]) != NULL) {
        if (s->hash == h && prom_same(s, values, f->nlabels))
            return s;
        i = (i + 1) % PROM_HASH_SLOTS;
    }
    if (f->nseries + 1 >= PROM_MAX_SERIES) {
        if (f->other == NULL)
            f->other = prom_new_series(f, other, 0);
        return f->other;
    }
    s = prom_new_series(f, values, h);
    f->slots[i] = s;
    return s;
}

struct prom_series *
prom_get0(struct prom_family *f)
{
    return prom_get(f, NULL);
}

struct prom_series *
prom_get1(struct prom_family *f, const char *v)
{
    /* Every slot set: the family may have fewer labels, never more. */
    const char *vals[PROM_MAX_LABELS] = { v, PROM_OTHER, PROM_OTHER };

    return prom_get(f, vals);
}

struct prom_series *
prom_get2(struct prom_family *f, const char *v1, const char *v2)
{
    const char *vals[PROM_MAX_LABELS] = { v1, v2, PROM_OTHER };

    return prom_get(f, vals);
}

void
prom_inc(struct prom_series *s, uint64_t n)
{
    s->count += n;
}

void
prom_set(struct prom_series *s, double v)
{
    if (s->fam->type == PROM_COUNTER)
        s->count = v > 0 ? (uint64_t)v : 0;
    else
        s->value = v;
}

void
prom_observe(struct prom_series *s, double v)
{
    unsigned i;

    if (!(v >= 0)) /* also NaN */
        v = 0;
    for (i = 0; i < PROM_HIST_BUCKETS && v > prom_buckets[i]; i++)
        ;
    s->bucket[i]++;
    s->count++;
    s->value += v;
}

double
prom_value(const struct prom_series *s)
{
    return s->fam->type == PROM_GAUGE ? s->value : (double)s->count;
}

double
prom_quantile(const struct prom_series *s, double q)
{
    double rank, lo = 0, seen = 0;
    unsigned i;

    if (s->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    rank = q * (double)s->count;
    for (i = 0; i < PROM_HIST_BUCKETS; i++) {
        double n = (double)s->bucket[i];

        if (seen + n >= rank && n > 0)
            return lo + (prom_buckets[i] - lo) * ((rank - seen) / n);
        seen += n;
        lo = prom_buckets[i];
    }
    return prom_buckets[PROM_HIST_BUCKETS - 1];
}

const char *
prom_label(const struct prom_series *s, unsigned i)
{
    return i < s->fam->nlabels ? s->values[i] : "";
}

int
prom_each(const struct prom_family *f, prom_each_cb cb, void *arg)
{
    unsigned i;
    int rc;

    for (i = 0; i < f->nseries; i++) {
        rc = cb(arg, f->series[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ rendering */

static int
prom_puts(struct buf *out, const char *s)
{
    return buf_append(out, s, strlen(s));
}


/*
 * Text with \, newline and, when `quote`, " escaped: a label value
 * escapes all three, HELP text leaves quotes alone (text format 0.0.4).
 */
static int
prom_put_escaped(struct buf *out, const char *v, bool quote)
{
    int rc = 0;

    for (; *v != '\0' && rc == 0; v++) {
        if (*v == '\\')
            rc = prom_puts(out, "\\\\");
        else if (*v == '"' && quote)
            rc = prom_puts(out, "\\\"");
        else if (*v == '\n')
            rc = prom_puts(out, "\\n");
        else
            rc = buf_append(out, v, 1);
    }
    return rc;
}

/* "{a="x",b="y"" plus `le` when given, then "}" (nothing when empty). */
static int
prom_put_labels(struct buf *out, const struct prom_series *s, const char *le)
{
    const struct prom_family *f = s->fam;
    unsigned i;
    int rc = 0;

    if (f->nlabels == 0 && le == NULL)
        return 0;
    rc = prom_puts(out, "{");
    for (i = 0; i < f->nlabels && rc == 0; i++) {
        rc = buf_printf(
            out, PROM_PIECE_MAX, "%s%s=\"", i ? "," : "", f->label_names[i]);
        if (rc == 0)
            rc = prom_put_escaped(out, s->values[i], true);
        if (rc == 0)
            rc = prom_puts(out, "\"");
    }
    if (rc == 0 && le != NULL)
        rc = buf_printf(
            out, PROM_PIECE_MAX, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    if (rc == 0)
        rc = prom_puts(out, "}");
    return rc;
}

/* A double as Prometheus reads it: integers without a fraction. */
static int
prom_put_double(struct buf *out, double v)
{
    if (isnan(v))
        return prom_puts(out, "NaN");
    if (isinf(v))
        return prom_puts(out, v > 0 ? "+Inf" : "-Inf");
    if (v == floor(v) && fabs(v) < 1e15)
        return buf_printf(out, PROM_PIECE_MAX, "%.0f", v);
    return buf_printf(out, PROM_PIECE_MAX, "%.17g", v);
}

static int
prom_render_series(struct buf *out, const struct prom_series *s)
{
    const struct prom_family *f = s->fam;
    uint64_t cum = 0;
    char le[32];
    unsigned i;
    int rc = 0;

    if (f->type != PROM_HISTOGRAM) {
        rc = prom_puts(out, f->name);
        if (rc == 0)
            rc = prom_put_labels(out, s, NULL);
        if (rc == 0)
            rc = prom_puts(out, " ");
        if (rc == 0 && f->type == PROM_COUNTER)
            rc = buf_printf(out, PROM_PIECE_MAX, "%" PRIu64, s->count);
        else if (rc == 0)
            rc = prom_put_double(out, s->value);
        if (rc == 0)
            rc = prom_puts(out, "\n");
        return rc;
    }
    for (i = 0; i <= PROM_HIST_BUCKETS && rc == 0; i++) {
        cum += s->bucket[i];
        if (i < PROM_HIST_BUCKETS)
            snprintf(le, sizeof(le), "%g", prom_buckets[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        rc = buf_printf(out, PROM_PIECE_MAX, "%s_bucket", f->name);
        if (rc == 0)
            rc = prom_put_labels(out, s, le);
        if (rc == 0)
            rc = buf_printf(out, PROM_PIECE_MAX, " %" PRIu64 "\n", cum);
    }
    if (rc == 0)
        rc = buf_printf(out, PROM_PIECE_MAX, "%s_sum", f->name);
    if (rc == 0)
        rc = prom_put_labels(out, s, NULL);
    if (rc == 0)
        rc = prom_puts(out, " ");
    if (rc == 0)
        rc = prom_put_double(out, s->value);
    if (rc == 0)
        rc = buf_printf(out, PROM_PIECE_MAX, "\n%s_count", f->name);
    if (rc == 0)
        rc = prom_put_labels(out, s, NULL);
    if (rc == 0)
        rc = buf_printf(out, PROM_PIECE_MAX, " %" PRIu64 "\n", s->count);
    return rc;
}

int
prom_render(const struct prom *p, struct buf *out)
{
    static const char *const type_name[] = { "counter", "gauge", "histogram" };
    const struct prom_family *f;
    size_t start = out->len;
    unsigned i;
    int rc = 0;

    for (f = p->first; f != NULL && rc == 0; f = f->next) {
        if (f->nseries == 0)
            continue;
        rc = buf_printf(out, PROM_PIECE_MAX, "# HELP %s ", f->name);
        if (rc == 0)
            rc = prom_put_escaped(out, f->help, false);
        if (rc == 0)
            rc = buf_printf(out, PROM_PIECE_MAX, "\n# TYPE %s %s\n", f->name,
                type_name[f->type]);
        for (i = 0; i < f->nseries && rc == 0; i++)
            rc = prom_render_series(out, f->series[i]);
    }
    if (rc != 0) {
        buf_truncate(out, start);
        return ERR_TOOBIG;
    }
    return 0;
}

/* /proc/self/statm's resident and shared pages, in bytes: 0 or -1. */
static int
statm_read(uint64_t *resident, uint64_t *shared)
{
    unsigned long long size, res, shr;
    long page = sysconf(_SC_PAGESIZE);
    FILE *fp = fopen("/proc/self/statm", "r");
    char line[128], *end;
    bool got;

    if (fp == NULL)
        return -1;
    got = fgets(line, sizeof(line), fp) != NULL;
    (void)fclose(fp);
    if (!got || page <= 0)
        return -1;
    errno = 0;
    size = strtoull(line, &end, 10);
    res = strtoull(end, &end, 10);
    shr = strtoull(end, NULL, 10);
    if (errno != 0 || size == 0 || shr > res)
        return -1;
    *resident = (uint64_t)res * (uint64_t)page;
    *shared = (uint64_t)shr * (uint64_t)page;
    return 0;
}

uint64_t
prom_rss_bytes(void)
{
    uint64_t res, shr;

    return statm_read(&res, &shr) == 0 ? res : 0;
}

void
prom_memory(uint64_t *resident, uint64_t *anon)
{
    uint64_t shr;

    if (statm_read(resident, &shr) == 0) {
        *anon = *resident - shr;
    } else {
        *resident = 0;
        *anon = 0;
    }
}
