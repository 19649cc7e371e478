/*
 * train.h - vigil-train's private header: the data set, the two
 *           learners and the helpers main.c drives
 *
 * vigil-train is one process with one thread. data.c reads the training
 * CSV into a struct dataset; gbdt.c grows gradient-boosted trees the way
 * scikit-learn's GradientBoostingClassifier does (REPORT.md section 7);
 * logreg.c fits an L2 logistic regression by Newton's method, and the
 * two-parameter Platt map; main.c parses the options, chooses C by
 * cross-validation, calibrates on out-of-fold log-odds, writes the model
 * through scorer/model.h and reports held-out metrics. This header is
 * shared only inside tools/vigil-train/.
 *
 * Invariants:
 *  - nothing here draws randomness except fold assignment, from --seed:
 *    the same data and options give the same model file, byte for byte.
 *
 * See also: tools/vigil-train.1, scorer/model.h, common/metrics.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_TRAIN_TRAIN_H
#define VIGIL_TRAIN_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "scorer/features.h"
#include "scorer/model.h"

#define TRAIN_PROGNAME "vigil-train"
#define TRAIN_MAX_ROWS 50000000
#define TRAIN_MAX_LINE (64 * 1024)

/* ------------------------------------------------------------- data.c */

/* The training rows, column-major. */
struct dataset {
    size_t n;                            /* rows */
    unsigned ncols;                      /* feature columns */
    enum feature_id cols[FEATURE_COUNT]; /* their features */
    double *x;                           /* x[j * n + i] */
    uint8_t *y;                          /* label 0/1 */
    double *w;                           /* weight; 1 without a column */
    bool has_weight;                     /* the file had "weight" */
    uint8_t *eval;                       /* 1: split "eval" (held out) */
};

/*
 * Read the CSV at `path` (plain or gzip): a header of registry feature
 * names, "label", optionally "weight" and "split", then one row per
 * order. Every value is checked; `err` gets the file, line and reason.
 * Caller frees with dataset_release(). Returns 0 or an ERR_*.
 */
int dataset_load(const char *path, size_t max_rows, struct dataset *ds,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 3, 4);

void dataset_release(struct dataset *ds) NONNULL(1);

/* The column of feature `f` in ds, or -1. */
int dataset_col(const struct dataset *ds, enum feature_id f) NONNULL(1);

/* ------------------------------------------------------------- gbdt.c */

struct gbdt_params {
    unsigned trees;    /* boosting stages */
    unsigned depth;    /* max depth of each tree, 1..10 */
    unsigned min_leaf; /* min rows in a leaf */
    double lr;         /* learning rate (shrinkage) */
};

/* A fitted ensemble, in model.h's node layout (preorder per tree). */
struct gbdt_fit {
    double init; /* initial log-odds */
    unsigned ntrees;
    uint32_t *tree_nodes;     /* owned */
    struct model_node *nodes; /* owned; col = model column */
    size_t nnodes;
};

/* Per-column sort orders of a dataset, shared by every fit on it. */
struct gbdt_sorted;

/*
 * Sort the model columns `cols` (dataset column of each model column)
 * of ds once. Caller frees with gbdt_sorted_free().
 */
struct gbdt_sorted *gbdt_sort(const struct dataset *ds, const unsigned *cols,
    unsigned ncols) NONNULL(1, 2);

void gbdt_sorted_free(struct gbdt_sorted *s);

/*
 * Fit on the rows with in[i] != 0. Deterministic. Caller frees `out`
 * with gbdt_fit_release().
 */
void gbdt_train(const struct dataset *ds, const struct gbdt_sorted *s,
    const uint8_t *in, const struct gbdt_params *p, struct gbdt_fit *out)
    NONNULL(1, 2, 3, 4, 5);

void gbdt_fit_release(struct gbdt_fit *f) NONNULL(1);

/* ----------------------------------------------------------- logreg.c */

/* A fitted logistic regression over standardized transformed inputs. */
struct lr_fit {
    unsigned ncols;
    double mean[FEATURE_COUNT];
    double scale[FEATURE_COUNT];
    double weight[FEATURE_COUNT];
    double intercept;
    unsigned iterations;
};

/*
 * Fit min 1/(2C) |weight|^2 + sum_i w_i logloss_i (the intercept is not
 * penalized, as in scikit-learn's LogisticRegression) on the rows with
 * in[i] != 0, over the model columns `cols` with transforms `tf`,
 * standardized by the rows' mean and (population) std.
 */
void logreg_train(const struct dataset *ds, const unsigned *cols,
    const enum feature_transform *tf, unsigned ncols, const uint8_t *in,
    double C, struct lr_fit *out) NONNULL(1, 2, 3, 5, 7);

/*
 * Fit Platt's map p = 1 / (1 + exp(-(a raw + b))) on (raw[i], y[i]) for
 * in[i] != 0, by Newton's method, with scikit-learn's LogisticRegression
 * (C = 1e6) objective: a tiny L2 penalty on a, none on b.
 */
void platt_train(const double *raw, const uint8_t *y, const double *w,
    const uint8_t *in, size_t n, double *a, double *b) NONNULL(1, 2, 4, 6, 7);

/* --------------------------------------------------------------- rng */

/* splitmix64: the fold shuffle's random stream. */
static inline uint64_t
train_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

#endif
