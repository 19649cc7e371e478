/*
 * metrics.c - ROC AUC, average precision, precision and recall
 *
 * Both ranking metrics sort (score, index) pairs once and walk the
 * tie groups from the highest score down, accumulating weighted true
 * and false positives (metrics.h gives the definitions).
 *
 * Invariants:
 *  - a tie group is consumed whole before any area is added.
 *
 * See also: metrics.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/metrics.h"
#include "common/xmalloc.h"

/* One tie group: its weighted positives and negatives. */
struct group {
    double tp, fp;
};

/* An item to sort: its score and index. */
struct item {
    double s;
    size_t i;
};

/* Highest score first; ties by index (irrelevant: groups are whole). */
static int
by_score_desc(const void *a, const void *b)
{
    const struct item *x = a, *y = b;

    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int
check(const double *score, const uint8_t *y, const double *w, size_t n,
    double *pos, double *neg)
{
    *pos = *neg = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;

        if (!isfinite(score[i]) || !isfinite(wi) || wi < 0 || y[i] > 1)
            return ERR_INVAL;
        if (y[i])
            *pos += wi;
        else
            *neg += wi;
    }
    return 0;
}

/*
 * Call `fn` for each tie group, highest score first, with the group's
 * weighted counts and the totals before it. Returns the sum fn gives.
 */
typedef double (*group_cb)(
    const struct group *g, double tp_before, double fp_before);

static double
walk(const double *score, const uint8_t *y, const double *w, size_t n,
    group_cb fn)
{
    struct item *it = xcalloc(n > 0 ? n : 1, sizeof(*it));
    double tp = 0, fp = 0, sum = 0;
    size_t i = 0;

    for (size_t k = 0; k < n; k++) {
        it[k].s = score[k];
        it[k].i = k;
    }
    qsort(it, n, sizeof(*it), by_score_desc);
    while (i < n) {
        struct group g = { 0, 0 };
        double s = it[i].s;

        for (; i < n && it[i].s == s; i++) {
            double wi = w != NULL ? w[it[i].i] : 1.0;

            if (y[it[i].i])
                g.tp += wi;
            else
                g.fp += wi;
        }
        sum += fn(&g, tp, fp);
        tp += g.tp;
        fp += g.fp;
    }
    free(it);
    return sum;
}

/* Trapezoid under the ROC step of one group (unnormalized). */
static double
roc_area(const struct group *g, double tp_before, double fp_before)
{
    (void)fp_before;
    return g->fp * (tp_before + g->tp / 2);
}

int
metrics_roc_auc(const double *score, const uint8_t *y, const double *w,
    size_t n, double *out)
{
    double pos, neg;
    int rc = check(score, y, w, n, &pos, &neg);

    if (rc != 0)
        return rc;
    if (!(pos > 0) || !(neg > 0))
        return ERR_INVAL;
    *out = walk(score, y, w, n, roc_area) / (pos * neg);
    return 0;
}

/* Recall gained times precision at the group's threshold (unnormalized
 * by the positives). */
static double
ap_step(const struct group *g, double tp_before, double fp_before)
{
    double tp = tp_before + g->tp, fl = tp + fp_before + g->fp;

    if (g->tp == 0 || !(fl > 0))
        return 0;
    return g->tp * (tp / fl);
}

int
metrics_average_precision(const double *score, const uint8_t *y,
    const double *w, size_t n, double *out)
{
    double pos, neg;
    int rc = check(score, y, w, n, &pos, &neg);

    if (rc != 0)
        return rc;
    if (!(pos > 0))
        return ERR_INVAL;
    *out = walk(score, y, w, n, ap_step) / pos;
    return 0;
}

void
metrics_flagged(const uint8_t *flag, const uint8_t *y, const double *w,
    size_t n, struct metrics_pr *out)
{
    out->flagged = out->tp = out->positives = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = w != NULL ? w[i] : 1.0;

        if (y[i])
            out->positives += wi;
        if (flag[i]) {
            out->flagged += wi;
            if (y[i])
                out->tp += wi;
        }
    }
    out->precision = out->flagged > 0 ? out->tp / out->flagged : 0;
    out->recall = out->positives > 0 ? out->tp / out->positives : 0;
}

void
metrics_at_score(const double *score, const uint8_t *y, const double *w,
    size_t n, double thr, struct metrics_pr *out)
{
    uint8_t *flag = xcalloc(n > 0 ? n : 1, 1);

    for (size_t i = 0; i < n; i++)
        flag[i] = score[i] >= thr;
    metrics_flagged(flag, y, w, n, out);
    free(flag);
}
