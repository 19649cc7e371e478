/*
 * test_metrics.c - unit tests of common/metrics.c against scikit-learn
 *
 * Small cases computed by hand and with ties, weights, perfect and
 * inverted rankings, and one generated set of 1,000 items with many
 * ties. Every expected value was computed once with scikit-learn 1.2.1
 * (roc_auc_score, average_precision_score, /usr/bin/python3) and is
 * copied below as Python printed it.
 *
 * See also: common/metrics.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/metrics.h"
#include "tests/harness/test.h"

#define ASSERT_NEAR(a, b)                                                      \
    do {                                                                       \
        double a_ = (a), b_ = (b);                                             \
        if (!(fabs(a_ - b_) <= 1e-12))                                         \
            TEST_FAIL("%s == %s: %.17g != %.17g", #a, #b, a_, b_);             \
    } while (0)

struct mcase {
    const char *name;
    size_t n;
    uint8_t y[10];
    double s[10];
    double w[10];   /* all 0: unweighted */
    double roc, ap; /* sklearn */
};

static const struct mcase cases[] = {
    /* sklearn's documentation example: AP 0.83 by hand too:
     * thresholds 0.8 (P 1, R .5), 0.4 (P 2/3), 0.35 (P 2/3, R 1):
     * .5 * 1 + .5 * 2/3 = 0.8333. */
    { "doc", 4, { 0, 0, 1, 1 }, { 0.1, 0.4, 0.35, 0.8 }, { 0 }, 0.75,
        0.8333333333333333 },
    /* One tie group: the diagonal, and AP = the base rate. */
    { "all tied", 4, { 0, 1, 0, 1 }, { 0.5, 0.5, 0.5, 0.5 }, { 0 }, 0.5, 0.5 },
    { "ties", 8, { 1, 0, 1, 1, 0, 0, 1, 0 }, { 3, 3, 2, 2, 2, 1, 1, 0 }, { 0 },
        0.625, 0.5678571428571428 },
    { "perfect", 4, { 0, 0, 1, 1 }, { 1, 2, 3, 4 }, { 0 }, 1.0, 1.0 },
    { "inverse", 4, { 1, 1, 0, 0 }, { 1, 2, 3, 4 }, { 0 }, 0.0,
        0.41666666666666663 },
    { "weighted", 6, { 1, 0, 1, 0, 1, 0 }, { 0.9, 0.8, 0.7, 0.6, 0.5, 0.4 },
        { 1, 2, 0.5, 1, 3, 1 }, 0.4444444444444444, 0.6698412698412699 },
    /* Integer 0-100 scores, as the service's replies carry them. */
    { "integer scores", 10, { 0, 1, 1, 0, 1, 0, 0, 1, 0, 0 },
        { 5, 90, 4, 4, 97, 4, 5, 8, 0, 90 }, { 0 }, 0.7708333333333334,
        0.7152777777777778 },
};

static void
test_cases(void)
{
    for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
        const struct mcase *c = &cases[k];
        const double *w = c->w[0] != 0 ? c->w : NULL;
        double roc, ap;

        ASSERT_OK(metrics_roc_auc(c->s, c->y, w, c->n, &roc));
        ASSERT_OK(metrics_average_precision(c->s, c->y, w, c->n, &ap));
        printf("  %-15s roc %.6f ap %.6f\n", c->name, roc, ap);
        ASSERT_NEAR(roc, c->roc);
        ASSERT_NEAR(ap, c->ap);
    }
}

/* Reversing the input changes nothing (tie groups are whole). */
static void
test_order_free(void)
{
    const struct mcase *c = &cases[2];
    uint8_t y[10];
    double s[10], roc, ap;

    for (size_t i = 0; i < c->n; i++) {
        y[i] = c->y[c->n - 1 - i];
        s[i] = c->s[c->n - 1 - i];
    }
    ASSERT_OK(metrics_roc_auc(s, y, NULL, c->n, &roc));
    ASSERT_OK(metrics_average_precision(s, y, NULL, c->n, &ap));
    ASSERT_NEAR(roc, c->roc);
    ASSERT_NEAR(ap, c->ap);
}

/*
 * 1,000 items with 101 distinct base scores (ties everywhere):
 *   y_i = (13 i mod 7) < 2,  s_i = (37 i mod 101) / 10 + 0.5 [y_i, i mod 3 = 0]
 * sklearn: roc 0.5098687277634646, ap 0.3052084061604622, 285 positives.
 */
static void
test_generated(void)
{
    enum { N = 1000 };
    static uint8_t y[N];
    static double s[N];
    double roc, ap;
    size_t pos = 0;

    for (int i = 0; i < N; i++) {
        y[i] = (uint8_t)((i * 13) % 7 < 2);
        s[i] = ((i * 37) % 101) / 10.0 + (y[i] && i % 3 == 0 ? 0.5 : 0);
        pos += y[i];
    }
    ASSERT_EQ(pos, 285);
    ASSERT_OK(metrics_roc_auc(s, y, NULL, N, &roc));
    ASSERT_OK(metrics_average_precision(s, y, NULL, N, &ap));
    ASSERT_NEAR(roc, 0.5098687277634646);
    ASSERT_NEAR(ap, 0.3052084061604622);
}

static void
test_flagged(void)
{
    const uint8_t y[6] = { 1, 1, 0, 1, 0, 0 };
    const uint8_t flag[6] = { 1, 0, 1, 1, 0, 0 };
    const double s[6] = { 95, 10, 92, 90, 5, 89 };
    struct metrics_pr pr;

    metrics_flagged(flag, y, NULL, 6, &pr);
    ASSERT_NEAR(pr.tp, 2);
    ASSERT_NEAR(pr.flagged, 3);
    ASSERT_NEAR(pr.precision, 2.0 / 3);
    ASSERT_NEAR(pr.recall, 2.0 / 3);
    metrics_at_score(s, y, NULL, 6, 90, &pr);
    ASSERT_NEAR(pr.precision, 2.0 / 3);
    ASSERT_NEAR(pr.recall, 2.0 / 3);
    metrics_at_score(s, y, NULL, 6, 99, &pr);
    ASSERT_NEAR(pr.flagged, 0);
    ASSERT_NEAR(pr.precision, 0);
    ASSERT_NEAR(pr.recall, 0);
}

static void
test_refused(void)
{
    const uint8_t y1[3] = { 1, 1, 1 }, y0[3] = { 0, 0, 0 }, y2[3] = { 0, 2, 1 };
    const double s[3] = { 1, 2, 3 }, sn[3] = { 1, NAN, 3 };
    const double wneg[3] = { 1, -1, 1 };
    double v;

    ASSERT_EQ(metrics_roc_auc(s, y1, NULL, 3, &v), ERR_INVAL);
    ASSERT_EQ(metrics_roc_auc(s, y0, NULL, 3, &v), ERR_INVAL);
    ASSERT_EQ(metrics_average_precision(s, y0, NULL, 3, &v), ERR_INVAL);
    ASSERT_OK(metrics_average_precision(s, y1, NULL, 3, &v));
    ASSERT_NEAR(v, 1);
    ASSERT_EQ(metrics_roc_auc(s, y2, NULL, 3, &v), ERR_INVAL);
    ASSERT_EQ(metrics_roc_auc(sn, y1, NULL, 3, &v), ERR_INVAL);
    ASSERT_EQ(metrics_average_precision(s, y1, wneg, 3, &v), ERR_INVAL);
    ASSERT_EQ(metrics_roc_auc(s, y1, NULL, 0, &v), ERR_INVAL);
}

int
main(void)
{
    RUN(test_cases);
    RUN(test_order_free);
    RUN(test_generated);
    RUN(test_flagged);
    RUN(test_refused);
    return 0;
}
