/*
 * metrics.h - ranking and threshold metrics of a binary classifier,
 *             tie-aware like scikit-learn
 *
 * vigil-train chooses the regularization of a logistic regression by
 * cross-validated average precision and reports held-out metrics;
 * vigil-replay reports what the service's replies achieved. Both need
 * the same definitions as the study that set the targets (sklearn's
 * roc_auc_score and average_precision_score), so they live here, once.
 * Pure functions; they allocate an index array of n entries.
 *
 * Definitions, with scores sorted from high to low and tied scores
 * taken as one threshold (so the order of tied items never matters):
 *  - ROC AUC: the area under the ROC curve through every threshold,
 *    by trapezoids (a tie group contributes a diagonal segment), i.e.
 *    P(score of a positive > score of a negative) + 1/2 P(equal).
 *  - average precision: sum over thresholds k of (R_k - R_{k-1}) P_k,
 *    R_0 = 0: the step-wise area of sklearn, not the trapezoid.
 * Weights (NULL = all 1) multiply each item's count, as sklearn's
 * sample_weight does.
 *
 * Invariants:
 *  - results do not depend on the input order.
 *
 * See also: tools/vigil-train/, tools/vigil-replay/,
 *           tests/unit/test_metrics.c (values checked against sklearn)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* Counts of a flagged set against the labels, and what they give. */
struct metrics_pr {
    double flagged;   /* weight of flagged items */
    double tp;        /* flagged positives */
    double positives; /* all positives */
    double precision; /* tp / flagged, 0 when nothing is flagged */
    double recall;    /* tp / positives, 0 when there is no positive */
};

/*
 * ROC AUC of `score` against labels `y` (0 or 1) over n items, weighted
 * by `w` (may be NULL). Returns 0 and sets `*out`, or ERR_INVAL when a
 * score or weight is not finite, a weight is negative, a label is not 0
 * or 1, or one class has no weight (AUC undefined, as sklearn refuses).
 */
int metrics_roc_auc(const double *score, const uint8_t *y, const double *w,
    size_t n, double *out) WARN_UNUSED NONNULL(1, 2, 5);

/*
 * Average precision of `score` against `y` (sklearn's
 * average_precision_score). Returns 0, or ERR_INVAL as metrics_roc_auc
 * (undefined when there is no positive).
 */
int metrics_average_precision(const double *score, const uint8_t *y,
    const double *w, size_t n, double *out) WARN_UNUSED NONNULL(1, 2, 5);

/*
 * Precision and recall of the items with flag[i] != 0 (e.g. "decision
 * is block"), weighted by `w` (may be NULL).
 */
void metrics_flagged(const uint8_t *flag, const uint8_t *y, const double *w,
    size_t n, struct metrics_pr *out) NONNULL(1, 2, 5);

/* Precision and recall of the items with score >= thr. */
void metrics_at_score(const double *score, const uint8_t *y, const double *w,
    size_t n, double thr, struct metrics_pr *out) NONNULL(1, 2, 6);

#endif
