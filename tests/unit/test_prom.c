/*
 * test_prom.c - unit tests of common/prom.c: the text exposition format
 *
 * Expected text is written from the Prometheus exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): label
 * values escape \, " and newline; HELP text escapes \ and newline only;
 * histograms render cumulative _bucket{le=...} series ending in +Inf, then
 * _sum and _count. Quantiles are checked against histogram_quantile's
 * linear interpolation computed by hand.
 *
 * See also: common/prom.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/prom.h"
#include "tests/harness/test.h"

#define ASSERT_NEAR(a, b)                                                      \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(fabs(a_ - b_) <= 1e-9))                                          \
            TEST_FAIL("%s == %s: %.17g != %.17g", #a, #b, a_, b_);             \
    } while (0)

/* Render `p` into a NUL-terminated heap string; the caller frees it. */
static char *
render(const struct prom *p)
{
    struct buf b;
    char *s;

    buf_init(&b, 1 << 20);
    ASSERT_OK(prom_render(p, &b));
    s = malloc(b.len + 1);
    ASSERT(s != NULL);
    if (b.len > 0)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    buf_release(&b);
    return s;
}

static void
test_counter_gauge_escapes(void)
{
    static const char *const lbl[] = { "client", "code" };
    struct prom *p = prom_new();
    struct prom_family *c, *g, *unused;
    char *text;

    c = prom_family_add(p, PROM_COUNTER, "vigil_errors_total",
        "Errors \"by\" code\\client\nsecond line", 2, lbl);
    g = prom_family_add(p, PROM_GAUGE, "vigil_queue_depth", "Depth", 0, NULL);
    unused = prom_family_add(p, PROM_GAUGE, "vigil_unused", "never", 0, NULL);
    ASSERT(c != NULL && g != NULL && unused != NULL);

    prom_inc(prom_get2(c, "shop\"a\\b", "line\nbreak"), 2);
    prom_inc(prom_get2(c, "shop\"a\\b", "line\nbreak"), 3);
    prom_inc(prom_get2(c, "plain", "io"), 1);
    prom_set(prom_get0(g), 2.5);
    ASSERT_NEAR(prom_value(prom_get2(c, "shop\"a\\b", "line\nbreak")), 5);
    ASSERT_STR_EQ(prom_label(prom_get2(c, "plain", "io"), 1), "io");

    text = render(p);
    ASSERT_STR_EQ(text,
        "# HELP vigil_errors_total Errors \"by\" code\\\\client\\nsecond "
        "line\n"
        "# TYPE vigil_errors_total counter\n"
        "vigil_errors_total{client=\"shop\\\"a\\\\b\",code=\"line\\nbreak\"} "
        "5\n"
        "vigil_errors_total{client=\"plain\",code=\"io\"} 1\n"
        "# HELP vigil_queue_depth Depth\n"
        "# TYPE vigil_queue_depth gauge\n"
        "vigil_queue_depth 2.5\n");
    free(text);

    /* A whole gauge prints without a fraction, special values by name. */
    prom_set(prom_get0(g), 7);
    text = render(p);
    ASSERT(strstr(text, "\nvigil_queue_depth 7\n") != NULL);
    free(text);
    prom_set(prom_get0(g), INFINITY);
    text = render(p);
    ASSERT(strstr(text, "\nvigil_queue_depth +Inf\n") != NULL);
    free(text);
    prom_set(prom_get0(g), NAN);
    text = render(p);
    ASSERT(strstr(text, "\nvigil_queue_depth NaN\n") != NULL);
    free(text);
    prom_free(p);
}

static void
test_histogram(void)
{
    static const char *const lbl[] = { "op" };
    struct prom *p = prom_new();
    struct prom_family *h;
    struct prom_series *s;
    char *text, *want;
    size_t cap = 4096, len = 0;
    unsigned i;

    h = prom_family_add(
        p, PROM_HISTOGRAM, "vigil_query_seconds", "Query time", 1, lbl);
    ASSERT(h != NULL);
    s = prom_get1(h, "score.get");
    ASSERT_NEAR(prom_quantile(s, 0.5), 0); /* empty */
    prom_observe(s, 0.0001);               /* on the first bound: in it (le) */
    prom_observe(s, 0.003);                /* (0.0025, 0.005] */
    prom_observe(s, 0.003);
    prom_observe(s, 20); /* past the last bound: +Inf */
    ASSERT_NEAR(prom_value(s), 4);

    want = malloc(cap);
    ASSERT(want != NULL);
    len += (size_t)snprintf(want + len, cap - len,
        "# HELP vigil_query_seconds Query time\n"
        "# TYPE vigil_query_seconds histogram\n");
    for (i = 0; i < PROM_HIST_BUCKETS; i++) {
        unsigned cum = prom_buckets[i] >= 0.005 ? 3 :
            prom_buckets[i] >= 0.0001           ? 1 :
                                                  0;
        len += (size_t)snprintf(want + len, cap - len,
            "vigil_query_seconds_bucket{op=\"score.get\",le=\"%g\"} %u\n",
            prom_buckets[i], cum);
    }
    (void)snprintf(want + len, cap - len,
        "vigil_query_seconds_bucket{op=\"score.get\",le=\"+Inf\"} 4\n"
        "vigil_query_seconds_sum{op=\"score.get\"} %.17g\n"
        "vigil_query_seconds_count{op=\"score.get\"} 4\n",
        0.0001 + 0.003 + 0.003 + 20);
    text = render(p);
    ASSERT_STR_EQ(text, want);
    free(text);
    free(want);

    /*
     * histogram_quantile: rank q*count; inside bucket (lo, hi] holding
     * c observations after `before`, lo + (hi-lo)*(rank-before)/c.
     * q=0.5: rank 2, bucket (0.0025, 0.005], before 1, c 2 -> 0.00375.
     * q=0.25: rank 1, first bucket [0, 0.0001], before 0, c 1 -> 0.0001.
     * q=1: rank 4, +Inf bucket -> the largest finite bound, 10.
     */
    ASSERT_NEAR(prom_quantile(s, 0.5), 0.00375);
    ASSERT_NEAR(prom_quantile(s, 0.25), 0.0001);
    ASSERT_NEAR(prom_quantile(s, 1.0), 10);
    prom_free(p);
}

static void
test_bad_families(void)
{
    static const char *const lbl[] = { "a", "b", "c", "d" };
    struct prom *p = prom_new();

    ASSERT(prom_family_add(p, PROM_GAUGE, "9starts_with_digit", "x", 0, NULL) ==
        NULL);
    ASSERT(prom_family_add(p, PROM_GAUGE, "has-dash", "x", 0, NULL) == NULL);
    ASSERT(prom_family_add(p, PROM_GAUGE, "", "x", 0, NULL) == NULL);
    ASSERT(prom_family_add(p, PROM_GAUGE, "too_many_labels", "x",
               PROM_MAX_LABELS + 1, lbl) == NULL);
    ASSERT(prom_family_add(p, PROM_GAUGE, "ok:name_1", "x", 0, NULL) != NULL);
    prom_free(p);
    prom_free(NULL);
}

static int
count_cb(void *arg, const struct prom_series *s)
{
    unsigned *n = arg;

    (void)s;
    return ++*n == 3 ? 42 : 0;
}

static void
test_overflow_and_cut(void)
{
    static const char *const lbl[] = { "client" };
    struct prom *p = prom_new();
    struct prom_family *f;
    struct prom_series *first, *over1, *over2;
    char name[32], longv[PROM_LABEL_MAX + 50];
    unsigned i, n = 0;

    f = prom_family_add(p, PROM_COUNTER, "vigil_x_total", "x", 1, lbl);
    ASSERT(f != NULL);
    first = prom_get1(f, "c0");
    for (i = 1; i < PROM_MAX_SERIES + 10; i++) {
        snprintf(name, sizeof(name), "c%u", i);
        prom_inc(prom_get1(f, name), 1);
    }
    /* The same set gives the same series; past the cap, one overflow. */
    ASSERT(prom_get1(f, "c0") == first);
    over1 = prom_get1(f, "new-one");
    over2 = prom_get1(f, "another");
    ASSERT(over1 == over2);
    ASSERT_STR_EQ(prom_label(over1, 0), "_other");
    ASSERT(prom_value(over1) >= 10);

    /* prom_each stops when the callback says so and returns its value. */
    ASSERT_EQ(prom_each(f, count_cb, &n), 42);
    ASSERT_EQ(n, 3);

    /* A long label value is cut at PROM_LABEL_MAX bytes. */
    memset(longv, 'v', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    f = prom_family_add(p, PROM_GAUGE, "vigil_long", "x", 1, lbl);
    ASSERT(strlen(prom_label(prom_get1(f, longv), 0)) <= PROM_LABEL_MAX);
    prom_free(p);
}

static void
test_render_cap(void)
{
    static const char *const lbl[] = { "client" };
    struct prom *p = prom_new();
    struct prom_family *f;
    struct buf b;
    char name[32];
    unsigned i;

    f = prom_family_add(p, PROM_COUNTER, "vigil_y_total", "y", 1, lbl);
    for (i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "client-%u", i);
        prom_inc(prom_get1(f, name), i);
    }
    /* Too small a cap: ERR_TOOBIG and nothing of this render kept. */
    buf_init(&b, 256);
    ASSERT_OK(buf_append(&b, "keep", 4));
    ASSERT_EQ(prom_render(p, &b), ERR_TOOBIG);
    ASSERT_EQ(b.len, 4);
    ASSERT_MEM_EQ(b.data, "keep", 4);
    buf_release(&b);
    prom_free(p);
}

static char *volatile rss_sink;

static void
test_rss(void)
{
    uint64_t res0, anon0, res1, anon1;
    size_t n = 64u << 20;
    char *p;

    /* This process has resident pages; the anonymous ones are part of
     * them, and 64 MiB of touched heap shows in the anonymous part (not
     * in the file-backed one). */
    ASSERT(prom_rss_bytes() > 0);
    prom_memory(&res0, &anon0);
    ASSERT(res0 > 0 && anon0 > 0 && anon0 <= res0);
    p = malloc(n);
    ASSERT(p != NULL);
    rss_sink = p; /* escapes: the stores below are not optimized away */
    memset(p, 1, n);
    prom_memory(&res1, &anon1);
    ASSERT(anon1 >= anon0 + (60u << 20));
    ASSERT(res1 >= res0 + (60u << 20));
    ASSERT_EQ(p[n - 1], 1);
    free(p);
}

int
main(void)
{
    RUN(test_counter_gauge_escapes);
    RUN(test_histogram);
    RUN(test_bad_families);
    RUN(test_overflow_and_cut);
    RUN(test_render_cap);
    RUN(test_rss);
    return 0;
}
