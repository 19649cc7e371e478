/*
 * main.c - vigil-train: train a fraud model from a feature CSV and write
 *          it as a Vigil model file
 *
 * The start-up checklist: parse options -> read the CSV (data.c) ->
 * pick the model columns -> assign stratified folds (--seed) -> for a
 * logistic regression, choose C by cross-validated average precision ->
 * fit the --calib-folds out-of-fold log-odds and Platt's map on them ->
 * fit the final model on every "train" row -> write it through
 * scorer/model.h (model_build, model_save) -> report held-out metrics on
 * the "eval" rows with the file's own thresholds.
 *
 * Exit status (tools/vigil-train.1): 0 trained and written; 1 the data
 * are unusable (a bad CSV, one class only); 2 usage or environment error
 * (bad option, unreadable input, unwritable output).
 *
 * Invariants:
 *  - the model file depends only on the data and the options (no clock,
 *    no unseeded randomness): training twice gives the same bytes.
 *
 * See also: tools/vigil-train.1, train.h, scorer/model.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/err.h"
#include "common/text.h"
#include "common/toolopt.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/xmalloc.h"
#include "scorer/features.h"
#include "scorer/model.h"
#include "tools/vigil-train/train.h"

enum {
    EXIT_DONE = 0,
    EXIT_DATA = 1,
    EXIT_USAGE = TOOL_EXIT_USAGE,
};

#define MAX_C       32
#define MAX_FOLDS   20
#define MAX_COMMENT 16

/* The default grid of C for the logistic regression. */
static const double default_c[] = { 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3,
    10 };

struct opts {
    const char *data;
    const char *out;
    const char *scores_out;
    enum model_kind kind;
    char id[MODEL_ID_MAX + 1];
    const char *features; /* comma list, or NULL: every feature column */
    struct gbdt_params gb;
    double c[MAX_C];
    unsigned nc;
    unsigned folds;       /* CV folds for C */
    unsigned calib_folds; /* OOF folds for Platt; 0 = none */
    uint64_t seed;
    unsigned review, block;
    const char *transform[FEATURE_COUNT]; /* "name=tf" */
    unsigned ntransform;
    const char *comment[MAX_COMMENT];
    unsigned ncomment;
    bool quiet;
};

/* What one training run works on. */
struct job {
    const struct opts *o;
    struct dataset ds;
    unsigned ncols;
    unsigned dcols[FEATURE_COUNT]; /* dataset column of model column j */
    enum feature_transform tf[FEATURE_COUNT];
    struct gbdt_sorted *sorted;
    uint8_t *train; /* rows used for training */
    uint8_t *fold;  /* fold of each train row */
    double *xrow;   /* one row in model column order */
    double C;       /* the chosen C (logreg) */
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ options */

NORETURN static void
usage(void)
{
    tool_usage(
        "usage: " TRAIN_PROGNAME
        " --data FILE --out MODEL [--model gbdt|logreg]\n"
        "       [--id ID] [--features A,B,...] [--trees N] [--depth N]\n"
        "       [--learning-rate X] [--min-leaf N] [--C X[,X...]] [--folds K]\n"
        "       [--calib-folds K] [--seed N] [--review S] [--block S]\n"
        "       [--transform NAME=TF] [--comment TEXT] [--scores-out FILE]\n"
        "       [--quiet]\n");
}

static unsigned
uopt(const char *name, const char *val, uint64_t min, uint64_t max)
{
    return (unsigned)tool_opt_u64(TRAIN_PROGNAME, name, val, min, max);
}

static void
parse_c_list(struct opts *o, const char *s)
{
    char buf[512], *p, *save = NULL;

    if (strlen(s) >= sizeof(buf))
        tool_bad_opt(TRAIN_PROGNAME, "C", s, "too long");
    snprintf(buf, sizeof(buf), "%s", s);
    o->nc = 0;
    for (p = strtok_r(buf, ",", &save); p != NULL;
         p = strtok_r(NULL, ",", &save)) {
        if (o->nc == MAX_C || !text_parse_double(p, 1e-9, 1e9, &o->c[o->nc]))
            tool_bad_opt(TRAIN_PROGNAME, "C", s,
                "a list of up to 32 numbers in 1e-9..1e9");
        o->nc++;
    }
    if (o->nc == 0)
        tool_bad_opt(
            TRAIN_PROGNAME, "C", s, "a list of up to 32 numbers in 1e-9..1e9");
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {
        { "block", required_argument, NULL, 'B' },
        { "C", required_argument, NULL, 'C' },
        { "calib-folds", required_argument, NULL, 'K' },
        { "comment", required_argument, NULL, 'm' },
        { "data", required_argument, NULL, 'd' },
        { "depth", required_argument, NULL, 'D' },
        { "features", required_argument, NULL, 'f' },
        { "folds", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' },
        { "id", required_argument, NULL, 'i' },
        { "learning-rate", required_argument, NULL, 'l' },
        { "min-leaf", required_argument, NULL, 'L' },
        { "model", required_argument, NULL, 'M' },
        { "out", required_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "review", required_argument, NULL, 'R' },
        { "scores-out", required_argument, NULL, 'S' },
        { "seed", required_argument, NULL, 's' },
        { "transform", required_argument, NULL, 't' },
        { "trees", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->kind = MODEL_KIND_GBDT;
    o->gb.trees = 200;
    o->gb.depth = 3;
    o->gb.lr = 0.05;
    o->gb.min_leaf = 50;
    memcpy(o->c, default_c, sizeof(default_c));
    o->nc = ARRAY_LEN(default_c);
    o->folds = 5;
    o->calib_folds = 5;
    o->seed = 1;
    o->review = 8;
    o->block = 90;

    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'B':
            o->block = uopt("block", optarg, 0, 100);
            break;
        case 'C':
            parse_c_list(o, optarg);
            break;
        case 'K':
            o->calib_folds = uopt("calib-folds", optarg, 0, MAX_FOLDS);
            if (o->calib_folds == 1)
                tool_bad_opt(TRAIN_PROGNAME, "calib-folds", optarg,
                    "must be 0 or 2..20");
            break;
        case 'm':
            if (o->ncomment == MAX_COMMENT)
                tool_bad_opt(
                    TRAIN_PROGNAME, "comment", optarg, "at most 16 comments");
            o->comment[o->ncomment++] = optarg;
            break;
        case 'd':
            o->data = optarg;
            break;
        case 'D':
            o->gb.depth = uopt("depth", optarg, 1, 10);
            break;
        case 'f':
            o->features = optarg;
            break;
        case 'k':
            o->folds = uopt("folds", optarg, 2, MAX_FOLDS);
            break;
        case 'i':
            if (strlen(optarg) > MODEL_ID_MAX)
                tool_bad_opt(
                    TRAIN_PROGNAME, "id", optarg, "at most 64 characters");
            snprintf(o->id, sizeof(o->id), "%s", optarg);
            break;
        case 'l':
            o->gb.lr = tool_opt_double(TRAIN_PROGNAME, "learning-rate", optarg,
                1e-6, 1, "must be in 1e-6..1");
            break;
        case 'L':
            o->gb.min_leaf = uopt("min-leaf", optarg, 1, 1000000);
            break;
        case 'M':
            if (strcmp(optarg, "gbdt") == 0)
                o->kind = MODEL_KIND_GBDT;
            else if (strcmp(optarg, "logreg") == 0)
                o->kind = MODEL_KIND_LOGREG;
            else
                tool_bad_opt(
                    TRAIN_PROGNAME, "model", optarg, "must be gbdt or logreg");
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'R':
            o->review = uopt("review", optarg, 0, 100);
            break;
        case 'S':
            o->scores_out = optarg;
            break;
        case 's':
            o->seed =
                tool_opt_u64(TRAIN_PROGNAME, "seed", optarg, 0, UINT64_MAX);
            break;
        case 't':
            if (o->ntransform == FEATURE_COUNT)
                tool_bad_opt(TRAIN_PROGNAME, "transform", optarg, "too many");
            o->transform[o->ntransform++] = optarg;
            break;
        case 'T':
            o->gb.trees = uopt("trees", optarg, 1, MODEL_MAX_TREES);
            break;
        default:
            usage();
        }
    }
    if (optind != argc || o->data == NULL || o->out == NULL)
        usage();
    if (o->review > o->block) {
        fprintf(stderr, TRAIN_PROGNAME ": --review above --block\n");
        exit(EXIT_USAGE);
    }
    if (o->id[0] == '\0')
        snprintf(o->id, sizeof(o->id), "vigil-%s",
            o->kind == MODEL_KIND_GBDT ? "gbdt" : "logreg");
}

/* --------------------------------------------------------------- setup */

/* Map the --features list (or every column) to dataset columns. */
static int
pick_columns(struct job *j)
{
    const struct opts *o = j->o;
    char buf[4096], *p, *save = NULL;

    if (o->features == NULL) {
        j->ncols = j->ds.ncols;
        for (unsigned c = 0; c < j->ncols; c++)
            j->dcols[c] = c;
    } else {
        if (strlen(o->features) >= sizeof(buf))
            tool_bad_opt(TRAIN_PROGNAME, "features", o->features, "too long");
        snprintf(buf, sizeof(buf), "%s", o->features);
        for (p = strtok_r(buf, ",", &save); p != NULL;
             p = strtok_r(NULL, ",", &save)) {
            enum feature_id id;
            int c;

            if (feature_lookup(p, &id) != 0 ||
                (c = dataset_col(&j->ds, id)) < 0) {
                fprintf(stderr,
                    TRAIN_PROGNAME ": --features: '%s' is not a column of "
                                   "'%s'\n",
                    p, o->data);
                return EXIT_USAGE;
            }
            for (unsigned k = 0; k < j->ncols; k++) {
                if (j->dcols[k] == (unsigned)c) {
                    fprintf(
                        stderr, TRAIN_PROGNAME ": --features: '%s' twice\n", p);
                    return EXIT_USAGE;
                }
            }
            j->dcols[j->ncols++] = (unsigned)c;
        }
    }
    for (unsigned c = 0; c < j->ncols; c++)
        j->tf[c] = feature_table[j->ds.cols[j->dcols[c]]].lr_transform;
    for (unsigned k = 0; k < o->ntransform; k++) {
        const char *eq = strchr(o->transform[k], '=');
        char name[FEATURE_NAME_MAX + 1];
        enum feature_transform tf;
        enum feature_id id;
        bool found = false;

        if (eq == NULL || (size_t)(eq - o->transform[k]) > FEATURE_NAME_MAX ||
            feature_transform_parse(eq + 1, &tf) != 0)
            tool_bad_opt(TRAIN_PROGNAME, "transform", o->transform[k],
                "NAME=none|log1p|gaplog|logit|decay30");
        snprintf(name, sizeof(name), "%.*s", (int)(eq - o->transform[k]),
            o->transform[k]);
        if (feature_lookup(name, &id) == 0) {
            for (unsigned c = 0; c < j->ncols; c++) {
                if (j->ds.cols[j->dcols[c]] == id) {
                    j->tf[c] = tf;
                    found = true;
                }
            }
        }
        if (!found)
            tool_bad_opt(TRAIN_PROGNAME, "transform", o->transform[k],
                "not a model column");
    }
    return EXIT_DONE;
}

/* Stratified folds of the train rows, shuffled by --seed. */
static void
assign_folds(struct job *j, unsigned k)
{
    size_t n = j->ds.n;
    size_t *idx = xcalloc(n, sizeof(*idx));
    uint64_t rng = j->o->seed;

    for (int cls = 0; cls <= 1; cls++) {
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
            if (j->train[i] && j->ds.y[i] == cls)
                idx[m++] = i;
        }
        for (size_t i = m; i > 1; i--) {
            size_t r = (size_t)(train_rng_next(&rng) % i);
            size_t t = idx[i - 1];

            idx[i - 1] = idx[r];
            idx[r] = t;
        }
        for (size_t i = 0; i < m; i++)
            j->fold[idx[i]] = (uint8_t)(i % k);
    }
    free(idx);
}

/* ------------------------------------------------------------ fitting */

/*
 * Fit the model kind of --model on rows `in` (logreg with C) and build
 * it with Platt a, b. Exits on an internal failure of model_build.
 */
static struct model *
fit(struct job *j, const uint8_t *in, double C, double a, double b,
    const char *const *comments, unsigned ncomments)
{
    const struct opts *o = j->o;
    struct model_def d;
    struct model *m;
    struct gbdt_fit gf;
    struct lr_fit lf;
    char err[MODEL_ERR_MAX];

    memset(&d, 0, sizeof(d));
    d.kind = o->kind;
    snprintf(d.id, sizeof(d.id), "%s", o->id);
    d.ncols = j->ncols;
    for (unsigned c = 0; c < j->ncols; c++)
        d.cols[c] = j->ds.cols[j->dcols[c]];
    d.platt_a = a;
    d.platt_b = b;
    d.review = o->review;
    d.block = o->block;
    d.comments = comments;
    d.ncomments = ncomments;
    memset(&gf, 0, sizeof(gf));
    if (o->kind == MODEL_KIND_GBDT) {
        gbdt_train(&j->ds, j->sorted, in, &o->gb, &gf);
        d.init = gf.init;
        d.learning_rate = o->gb.lr;
        d.ntrees = gf.ntrees;
        d.tree_nodes = gf.tree_nodes;
        d.nodes = gf.nodes;
    } else {
        logreg_train(&j->ds, j->dcols, j->tf, j->ncols, in, C, &lf);
        for (unsigned c = 0; c < j->ncols; c++) {
            d.tf[c] = j->tf[c];
            d.mean[c] = lf.mean[c];
            d.scale[c] = lf.scale[c];
            d.weight[c] = lf.weight[c];
        }
        d.intercept = lf.intercept;
    }
    if (model_build(&d, &m, err, sizeof(err)) != 0)
        fatalx("%s: invariant: the fitted model is invalid: %s", __func__, err);
    gbdt_fit_release(&gf);
    return m;
}

/* Log-odds of row i under m. */
static double
row_raw(struct job *j, const struct model *m, size_t i)
{
    for (unsigned c = 0; c < j->ncols; c++)
        j->xrow[c] = j->ds.x[(size_t)j->dcols[c] * j->ds.n + i];
    return model_raw_cols(m, j->xrow);
}

/*
 * Out-of-fold log-odds of every train row over k folds (the fold array
 * must have been assigned for k), with C for a logreg.
 */
static void
oof_raw(struct job *j, unsigned k, double C, double *raw)
{
    uint8_t *in = xcalloc(j->ds.n, 1);

    for (unsigned f = 0; f < k; f++) {
        struct model *m;

        for (size_t i = 0; i < j->ds.n; i++)
            in[i] = j->train[i] && j->fold[i] != f;
        m = fit(j, in, C, 1, 0, NULL, 0);
        for (size_t i = 0; i < j->ds.n; i++) {
            if (j->train[i] && j->fold[i] == f)
                raw[i] = row_raw(j, m, i);
        }
        model_free(m);
    }
    free(in);
}

/* Average precision of scores over the train rows. */
static double
train_ap(struct job *j, const double *raw)
{
    size_t n = 0;
    double *s = xcalloc(j->ds.n, sizeof(*s)), *w = NULL, ap = 0;
    uint8_t *y = xcalloc(j->ds.n, 1);

    if (j->ds.has_weight)
        w = xcalloc(j->ds.n, sizeof(*w));
    for (size_t i = 0; i < j->ds.n; i++) {
        if (!j->train[i])
            continue;
        s[n] = raw[i];
        y[n] = j->ds.y[i];
        if (w != NULL)
            w[n] = j->ds.w[i];
        n++;
    }
    if (metrics_average_precision(s, y, w, n, &ap) != 0)
        ap = NAN;
    free(s);
    free(y);
    free(w);
    return ap;
}

static void
choose_c(struct job *j, double *raw)
{
    const struct opts *o = j->o;
    double best = -1;

    j->C = o->c[0];
    if (o->nc == 1)
        return;
    assign_folds(j, o->folds);
    for (unsigned k = 0; k < o->nc; k++) {
        double t0 = now_s(), ap;

        oof_raw(j, o->folds, o->c[k], raw);
        ap = train_ap(j, raw);
        if (!o->quiet)
            printf("  C %-8g %u-fold CV average precision %.4f (%.2f s)\n",
                o->c[k], o->folds, ap, now_s() - t0);
        /* The smallest C among equals: the strongest regularization. */
        if (ap > best) {
            best = ap;
            j->C = o->c[k];
        }
    }
    if (!o->quiet)
        printf("  C chosen: %g\n", j->C);
}

/* ------------------------------------------------------------ report */

static void
report_eval(struct job *j, const struct model *m, const char *what,
    const uint8_t *sel, const double *raw_in)
{
    size_t n = 0;
    double *p = xcalloc(j->ds.n, sizeof(*p)), *w = NULL, *sc;
    uint8_t *y = xcalloc(j->ds.n, 1);
    double roc = NAN, ap = NAN, pos = 0;
    struct metrics_pr blk, rev;

    sc = xcalloc(j->ds.n, sizeof(*sc));
    if (j->ds.has_weight)
        w = xcalloc(j->ds.n, sizeof(*w));
    for (size_t i = 0; i < j->ds.n; i++) {
        if (!sel[i])
            continue;
        p[n] = model_prob(m, raw_in[i]);
        sc[n] = model_score_of(p[n]);
        y[n] = j->ds.y[i];
        pos += y[n];
        if (w != NULL)
            w[n] = j->ds.w[i];
        n++;
    }
    if (n == 0)
        goto out;
    if (metrics_roc_auc(p, y, w, n, &roc) != 0)
        roc = NAN;
    if (metrics_average_precision(p, y, w, n, &ap) != 0)
        ap = NAN;
    metrics_at_score(sc, y, w, n, model_block(m), &blk);
    metrics_at_score(sc, y, w, n, model_review(m), &rev);
    printf("%s (%zu rows, %.0f fraud): ROC AUC %.4f  PR AUC %.4f\n", what, n,
        pos, roc, ap);
    printf("  block           (score >= %3u): precision %.3f recall %.3f "
           "(%.0f flagged)\n",
        model_block(m), blk.precision, blk.recall, blk.flagged);
    printf("  review or block (score >= %3u): precision %.3f recall %.3f "
           "(%.0f flagged)\n",
        model_review(m), rev.precision, rev.recall, rev.flagged);
out:
    free(p);
    free(y);
    free(w);
    free(sc);
}

static int
write_scores(struct job *j, const struct model *m, const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, TRAIN_PROGNAME ": cannot create '%s': %s\n", path,
            strerror(errno));
        return EXIT_USAGE;
    }
    fprintf(f, "row,split,label,raw,p,score\n");
    for (size_t i = 0; i < j->ds.n; i++) {
        double raw = row_raw(j, m, i), p = model_prob(m, raw);

        fprintf(f, "%zu,%s,%u,%.17g,%.17g,%u\n", i,
            j->ds.eval[i] ? "eval" : "train", j->ds.y[i], raw, p,
            model_score_of(p));
    }
    if (fclose(f) != 0) {
        fprintf(stderr, TRAIN_PROGNAME ": cannot write '%s': %s\n", path,
            strerror(errno));
        return EXIT_USAGE;
    }
    return EXIT_DONE;
}

/* --------------------------------------------------------------- main */

static char *
join_argv(int argc, char **argv)
{
    size_t len = 0, off = 0;
    char *s;

    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    s = xcalloc(len + 1, 1);
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);

        memcpy(s + off, argv[i], n);
        off += n;
        if (i + 1 < argc)
            s[off++] = ' ';
    }
    return s;
}

int
main(int argc, char **argv)
{
    struct opts o;
    struct job j;
    struct model *m = NULL;
    char err[512], *cmd, line[3][512];
    const char *comments[MAX_COMMENT + 4];
    unsigned ncom = 0;
    double *raw = NULL, a = 1, b = 0, t0, t_all = now_s();
    size_t ntrain = 0, npos = 0, neval = 0;
    int rc, status = EXIT_DONE;

    log_init(TRAIN_PROGNAME, true);
    parse_args(argc, argv, &o);
    if (sodium_init() < 0) {
        fprintf(stderr, TRAIN_PROGNAME ": sodium_init failed\n");
        return EXIT_USAGE;
    }
    memset(&j, 0, sizeof(j));
    j.o = &o;
    t0 = now_s();
    rc = dataset_load(o.data, TRAIN_MAX_ROWS, &j.ds, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, TRAIN_PROGNAME ": %s\n", err);
        return rc == ERR_NOTFOUND || rc == ERR_IO ? EXIT_USAGE : EXIT_DATA;
    }
    status = pick_columns(&j);
    if (status != EXIT_DONE)
        goto out;
    j.train = xcalloc(j.ds.n, 1);
    j.fold = xcalloc(j.ds.n, 1);
    j.xrow = xcalloc(FEATURE_COUNT, sizeof(*j.xrow));
    raw = xcalloc(j.ds.n, sizeof(*raw));
    for (size_t i = 0; i < j.ds.n; i++) {
        j.train[i] = !j.ds.eval[i];
        ntrain += j.train[i];
        npos += j.train[i] && j.ds.y[i];
        neval += j.ds.eval[i];
    }
    if (npos == 0 || npos == ntrain) {
        fprintf(stderr,
            TRAIN_PROGNAME ": '%s': the train rows hold one class only\n",
            o.data);
        status = EXIT_DATA;
        goto out;
    }
    if (!o.quiet)
        printf("data: %zu rows (%zu train, %zu eval), %u model columns, "
               "%zu fraud in train (%.2f s)\n",
            j.ds.n, ntrain, neval, j.ncols, npos, now_s() - t0);
    if (o.kind == MODEL_KIND_GBDT)
        j.sorted = gbdt_sort(&j.ds, j.dcols, j.ncols);

    if (o.kind == MODEL_KIND_LOGREG) {
        t0 = now_s();
        choose_c(&j, raw);
        if (!o.quiet && o.nc > 1)
            printf("C search: %.2f s\n", now_s() - t0);
    }
    if (o.calib_folds > 0) {
        t0 = now_s();
        assign_folds(&j, o.calib_folds);
        oof_raw(&j, o.calib_folds, j.C, raw);
        platt_train(raw, j.ds.y, j.ds.has_weight ? j.ds.w : NULL, j.train,
            j.ds.n, &a, &b);
        if (!o.quiet)
            printf("calibration: %u-fold out-of-fold log-odds -> Platt a "
                   "%.4f b %.4f (%.2f s)\n",
                o.calib_folds, a, b, now_s() - t0);
    }

    cmd = join_argv(argc, argv);
    snprintf(line[0], sizeof(line[0]), "trained by vigil-train %s: %.400s",
        VIGIL_VERSION, cmd);
    free(cmd);
    snprintf(line[1], sizeof(line[1]),
        "data: %zu rows, %zu train (%zu fraud), %zu eval", j.ds.n, ntrain, npos,
        neval);
    if (o.kind == MODEL_KIND_GBDT)
        snprintf(line[2], sizeof(line[2]),
            "gbdt: %u trees, depth %u, learning rate %g, min leaf %u; "
            "Platt on %u-fold out-of-fold log-odds, seed %llu",
            o.gb.trees, o.gb.depth, o.gb.lr, o.gb.min_leaf, o.calib_folds,
            (unsigned long long)o.seed);
    else
        snprintf(line[2], sizeof(line[2]),
            "logreg: C %g (%s); Platt on %u-fold out-of-fold log-odds, "
            "seed %llu",
            j.C,
            o.nc > 1 ? "chosen by cross-validated average precision" : "given",
            o.calib_folds, (unsigned long long)o.seed);
    for (unsigned k = 0; k < o.ncomment; k++)
        comments[ncom++] = o.comment[k];
    for (unsigned k = 0; k < 3; k++)
        comments[ncom++] = line[k];

    t0 = now_s();
    m = fit(&j, j.train, j.C, a, b, comments, ncom);
    if (!o.quiet)
        printf("final model: %s on %zu rows in %.2f s\n",
            o.kind == MODEL_KIND_GBDT ? "gbdt" : "logreg", ntrain,
            now_s() - t0);
    rc = model_save(m, o.out, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, TRAIN_PROGNAME ": %s\n", err);
        status = EXIT_USAGE;
        goto out;
    }
    if (!o.quiet)
        printf("model: %s (%s), review >= %u, block >= %u\n", o.out,
            model_version(m), model_review(m), model_block(m));
    if (!o.quiet && o.calib_folds > 0)
        report_eval(&j, m, "train, out-of-fold", j.train, raw);
    if (!o.quiet && neval > 0) {
        for (size_t i = 0; i < j.ds.n; i++)
            raw[i] = j.ds.eval[i] ? row_raw(&j, m, i) : 0;
        report_eval(&j, m, "eval", j.ds.eval, raw);
    }
    if (o.scores_out != NULL)
        status = write_scores(&j, m, o.scores_out);
    if (!o.quiet)
        printf("total: %.2f s\n", now_s() - t_all);
out:
    model_free(m);
    gbdt_sorted_free(j.sorted);
    free(j.train);
    free(j.fold);
    free(j.xrow);
    free(raw);
    dataset_release(&j.ds);
    return status;
}
