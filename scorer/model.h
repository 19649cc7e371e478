/*
 * model.h - the fraud model: its versioned text file, a strict loader,
 *           evaluation (log-odds, probability, 0-100 score, decision,
 *           reasons) and atomic reload
 *
 * The scorer loads one model file at start-up and again on SIGHUP
 * (struct model_slot below); vigil-train writes the files through
 * model_build() and model_save(), so this module is the one owner of
 * the format. Pure computation apart from model_load/model_save: no
 * globals, any thread may evaluate a model it holds. Evaluating the
 * recommended model (200 trees of depth 3 on 9 features) takes about a
 * microsecond; tests/unit/test_model.c measures it.
 *
 * The file format, version 1. ASCII lines ending in "\n" (no "\r", no
 * blank lines, fields separated by exactly one space), each at most
 * MODEL_MAX_LINE bytes, the file at most MODEL_MAX_BYTES. In this
 * order:
 *
 *   vigil-model 1 <id>          format version 1; id: 1..64 of
 *                               [A-Za-z0-9._-], names the model
 *   # <text>                    0..MODEL_MAX_COMMENTS comment lines, only
 *                               here (provenance: the command that
 *                               trained the model, the data); covered by
 *                               the checksum, otherwise ignored
 *   kind gbdt|logreg
 *   features <n>                1..FEATURE_COUNT columns
 *   f <j> <name>                          (gbdt)    n lines, j = 0..n-1
 *   f <j> <name> <tf> <mean> <scale> <w>  (logreg)  in order; names from
 *                               the registry (features.h), each once;
 *                               tf a transform name, scale > 0
 *  gbdt only:
 *   init <raw0>                 initial log-odds
 *   learning_rate <lr>          0 < lr <= 1
 *   trees <T>                   1..MODEL_MAX_TREES
 *   tree <t> <m>                t = 0..T-1 in order; m nodes
 *   n <i> <j> <thr> <left> <right> <value> <cover>     internal node i
 *   l <i> <value> <cover>                              leaf i
 *                               i = 0..m-1 in order, node 0 the root;
 *                               children are later nodes of the same
 *                               tree (i < left, right < m), every node
 *                               but the root has exactly one parent,
 *                               depth <= MODEL_MAX_DEPTH. An internal
 *                               node's value is the cover-weighted mean
 *                               of the leaf values below it (reasons
 *                               only); cover is the training weight
 *                               that reached the node.
 *  logreg only:
 *   intercept <b>
 *  both:
 *   platt <a> <b>               calibration of the log-odds
 *   thresholds <review> <block> integer scores, 0 <= review <= block <= 100
 *   sha256 <hex>                64 lower-case hex digits: SHA-256 of every
 *                               byte before this line; the last line
 *
 * Numbers are decimal (digits, sign, ".", exponent; no nan, inf or hex)
 * and must be finite; counts and indices are plain unsigned decimals.
 * The writer prints the shortest text that reads back as the same
 * double, so a file round-trips bit for bit.
 *
 * Evaluation, with x the feature values of the model's columns:
 *   gbdt:   raw = raw0, then for t = 0..T-1: raw += lr * value(leaf_t(x)),
 *           where at an internal node go left iff (double)(float)x_j <=
 *           thr: x is rounded to IEEE binary32 first, exactly as
 *           scikit-learn's trees do, so sklearn models evaluate bit for bit.
 *   logreg: raw = b + sum over j (ascending) of w_j (tf_j(x_j) - mean_j)
 *           / scale_j.
 *   p      = 1 / (1 + exp(-(a raw + b)))                       (Platt)
 *   score  = rint(100 p), halves to even (like numpy.rint; "round
 *            half up" would differ only at exact .5), in 0..100
 *   decision: block if score >= block, review if >= review, else allow.
 *   reasons: each column's contribution to raw, largest |contribution|
 *           first, with the feature's value. Trees: Saabas path
 *           attribution (at each split on the path, lr * (value(child) -
 *           value(node)) goes to the split's feature); logreg: w_j
 *           (tf_j(x_j) - mean_j) / scale_j. In both, raw = bias + the sum
 *           of all contributions (up to rounding), where bias is raw0 +
 *           lr * sum of the roots' values, or b.
 *
 * Invariants:
 *  - a struct model is immutable once built and always valid: every
 *    check above passed. A file that fails any check is refused whole.
 *  - model_slot never drops its current model for one that failed to
 *    load: a bad file leaves the previous model in use.
 *
 * See also: scorer/features.h (the names), tools/vigil-train/ (writes
 *           models), tests/unit/test_model.c, notes/issue7/REPORT.md s. 7
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_MODEL_H
#define SCORER_MODEL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/reply.h"
#include "scorer/features.h"

#define MODEL_FORMAT_VERSION 1
#define MODEL_ID_MAX         64
#define MODEL_VERSION_MAX    (MODEL_ID_MAX + 9) /* "<id>@<8 hex>" */
#define MODEL_MAX_BYTES      (16u * 1024 * 1024)
#define MODEL_MAX_LINE       4096
#define MODEL_MAX_TREES      10000
#define MODEL_MAX_NODES      65535 /* per tree */
#define MODEL_MAX_DEPTH      20
#define MODEL_MAX_COMMENTS   64
#define MODEL_MAX_REASONS    REPLY_MAX_REASONS
#define MODEL_ERR_MAX        256 /* room for a load error message */

enum model_kind {
    MODEL_KIND_GBDT = 1, /* gradient-boosted regression trees */
    MODEL_KIND_LOGREG,   /* logistic regression */
};

/*
 * One tree node, as model_build() takes it and the file holds it.
 * Children are node indices within the same tree.
 */
struct model_node {
    int32_t col;    /* split column, or -1 for a leaf */
    uint32_t left;  /* internal: the node for x <= thr */
    uint32_t right; /* internal: the node for x > thr */
    double thr;     /* internal: the split threshold */
    double value;   /* leaf output; internal: weighted mean below */
    double cover;   /* training weight reaching the node */
};

/*
 * Everything a model holds, as plain data: what a trainer fills in and
 * model_build() validates. Pointers are borrowed by model_build().
 */
struct model_def {
    enum model_kind kind;
    char id[MODEL_ID_MAX + 1];
    unsigned ncols;
    enum feature_id cols[FEATURE_COUNT];
    /* logreg */
    enum feature_transform tf[FEATURE_COUNT];
    double mean[FEATURE_COUNT];
    double scale[FEATURE_COUNT];
    double weight[FEATURE_COUNT];
    double intercept;
    /* gbdt */
    double init;
    double learning_rate;
    unsigned ntrees;
    const uint32_t *tree_nodes;     /* ntrees node counts */
    const struct model_node *nodes; /* the trees' nodes, tree after tree */
    /* both */
    double platt_a, platt_b;
    unsigned review, block;      /* score thresholds */
    unsigned ncomments;          /* <= MODEL_MAX_COMMENTS */
    const char *const *comments; /* text after "# ", one line each */
};

/* One reason: a column's contribution to the log-odds. */
struct model_reason {
    enum feature_id feature;
    double value;        /* the feature's value (untransformed) */
    double contribution; /* change in log-odds credited to it */
};

/* The result of scoring one order. */
struct model_result {
    double raw; /* log-odds */
    double p;   /* calibrated probability */
    uint8_t score;
    enum reply_decision decision;
    double bias; /* raw minus the sum of all contributions */
    unsigned nreasons;
    struct model_reason reasons[MODEL_MAX_REASONS];
};

struct model;

/*
 * Parse and validate a model file held in data[0..len). `name` (e.g.
 * the path) starts error messages. On failure `err` (size `errlen`,
 * may be 0) gets one line naming the line number and the rule broken.
 * Caller frees `*out` with model_free().
 * Returns 0, ERR_TOOBIG (over a size cap), ERR_CORRUPT (checksum line
 * missing or wrong: truncated or edited), ERR_MALFORMED (syntax, order,
 * structure), or ERR_INVAL (unsupported version, unknown feature name,
 * a value out of range).
 */
int model_parse(const char *data, size_t len, const char *name,
    struct model **out, char *err, size_t errlen) WARN_UNUSED NONNULL(1, 3, 4);

/*
 * Read and parse the model file at `path` (model_parse). Returns as
 * model_parse, or ERR_NOTFOUND (no such file) or ERR_IO.
 */
int model_load(const char *path, struct model **out, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2);

/*
 * Validate `def` and build a model from it (its arrays are copied).
 * Returns 0, ERR_INVAL or ERR_MALFORMED with the reason in `err`.
 */
int model_build(const struct model_def *def, struct model **out, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2);

/* Free `m`. NULL is a no-op. */
void model_free(struct model *m);

/*
 * Append the file text of `m` (format above, checksum included) to
 * `out`. Returns 0 or ERR_TOOBIG (out's cap; out is then unchanged).
 */
int model_format(const struct model *m, struct buf *out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Write `m` to `path` atomically (a temporary file in the same
 * directory, fsync, rename). Returns 0 or ERR_IO with the reason in
 * `err`.
 */
int model_save(const struct model *m, const char *path, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2);

/* The id from the header line (borrowed; valid while m lives). */
const char *model_id(const struct model *m) NONNULL(1);

/*
 * "<id>@<first 8 hex digits of the file's SHA-256>": what is recorded
 * with each score (borrowed; valid while m lives).
 */
const char *model_version(const struct model *m) NONNULL(1);

enum model_kind model_kind(const struct model *m) NONNULL(1);

/* Number of columns, and the feature of column j < model_ncols(). */
unsigned model_ncols(const struct model *m) NONNULL(1);
enum feature_id model_col(const struct model *m, unsigned j) NONNULL(1);

/* The review and block score thresholds. */
unsigned model_review(const struct model *m) NONNULL(1);
unsigned model_block(const struct model *m) NONNULL(1);

/* Trees in a gbdt model (0 for logreg). */
unsigned model_ntrees(const struct model *m) NONNULL(1);

/*
 * The log-odds for feature values given in the model's column order
 * (cols[j] is the value of column j). Values must be finite.
 */
double model_raw_cols(const struct model *m, const double *cols) NONNULL(1, 2);

/* The log-odds for an order's feature vector. Values must be finite. */
double model_raw(const struct model *m, const struct feature_vec *x)
    NONNULL(1, 2);

/* The Platt-calibrated probability of log-odds `raw`. */
double model_prob(const struct model *m, double raw) NONNULL(1);

/* The 0-100 score of probability p: rint(100 p), halves to even. */
uint8_t model_score_of(double p);

/* The decision of a score under m's thresholds. */
enum reply_decision model_decide(const struct model *m, unsigned score)
    NONNULL(1);

/*
 * Score one order: raw, p, score, decision and up to `max_reasons`
 * (<= MODEL_MAX_REASONS) reasons, largest |contribution| first, ties by
 * column; columns contributing exactly 0 are not listed.
 * Returns 0, or ERR_INVAL when a value the model uses is not finite
 * (`*out` is then zeroed).
 */
int model_score(const struct model *m, const struct feature_vec *x,
    unsigned max_reasons, struct model_result *out) WARN_UNUSED
    NONNULL(1, 2, 4);

/*
 * Per-column contributions for values in column order: contrib[j] for
 * each j < model_ncols(m), and `*bias`; returns the log-odds, equal to
 * model_raw_cols(m, cols) bit for bit.
 */
double model_explain_cols(const struct model *m, const double *cols,
    double *contrib, double *bias) NONNULL(1, 2, 3, 4);

/*
 * Write one human sentence for reason `r` into out[0..outlen), e.g.
 * "s2o_sec = 0 s raised the fraud log-odds by 3.21"; a missing value's
 * sentinel in words: "s2o_sec = none (no signup known) ...",
 * "dev_gap = none (no earlier event) ...".
 */
void model_reason_text(const struct model_reason *r, char *out, size_t outlen)
    NONNULL(1, 2);

/* ------------------------------------------------------------ reload */

/*
 * The model in use and its file. Owned by one thread (the scorer's main
 * thread), which alone calls these functions, except that a signal
 * handler may call model_slot_request(). A swap is one pointer store of
 * a fully validated model, so that thread always evaluates either the
 * old or the new model, never a partial one.
 */
struct model_slot {
    struct model *cur;                 /* NULL until a load succeeded */
    char *path;                        /* owned */
    volatile sig_atomic_t want_reload; /* set by model_slot_request() */
    uint64_t loads;                    /* successful loads */
    uint64_t failures;                 /* refused files */
};

/* Prepare `s` for the model file at `path` (copied); loads nothing. */
void model_slot_init(struct model_slot *s, const char *path) NONNULL(1, 2);

/* Free the current model and the path. */
void model_slot_release(struct model_slot *s) NONNULL(1);

/*
 * Load s->path; on success free the previous model and make the new one
 * current, on failure keep the previous one (which may be none) and put
 * the reason in `err`. Returns as model_load().
 */
int model_slot_load(struct model_slot *s, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1);

/* Ask for a reload at the next model_slot_poll(). Async-signal-safe. */
void model_slot_request(struct model_slot *s) NONNULL(1);

/*
 * If a reload was requested, clear the request and model_slot_load().
 * Returns 0 (nothing to do, or reloaded), or model_slot_load's error
 * (the previous model stays in use).
 */
int model_slot_poll(struct model_slot *s, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1);

/* The model in use, or NULL; borrowed until the next load or poll. */
const struct model *model_slot_get(const struct model_slot *s) NONNULL(1);

#endif
