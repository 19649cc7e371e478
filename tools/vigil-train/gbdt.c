/*
 * gbdt.c - gradient-boosted trees for the log loss, as scikit-learn 1.2's
 *          GradientBoostingClassifier grows them
 *
 * REPORT.md section 7 is the specification. Stage m fits a regression
 * tree of depth <= D to the residuals r = y - sigmoid(raw) by least
 * squares (friedman_mse: a split's proxy gain is
 * (w_r s_l - w_l s_r)^2 / (w_l w_r)), with at least min_leaf rows per
 * leaf, thresholds halfway between consecutive distinct values (values
 * closer than 1e-7 count as equal) and x <= thr going left; features are
 * compared as IEEE binary32, as sklearn stores them. Each leaf then
 * takes one Newton step, sum w r / sum w p (1 - p), and raw += lr times
 * it. A node stops splitting at depth D, below 2 min_leaf rows, or when
 * its residuals' variance is <= DBL_EPSILON, computed with sklearn's
 * formulas so that pure nodes stop (or not) exactly as there.
 *
 * Trees grow level by level: for each feature, one pass over the rows
 * in that feature's sorted order scores the candidate splits of every
 * node of the level at once, so a stage costs about D x F x n steps
 * (200 stages of depth 3 on 18,000 rows x 9 features: well under a
 * second). Nodes are renumbered in preorder (left first) at the end, as
 * sklearn numbers them.
 *
 * Differences from sklearn that can change a tree: when two splits have
 * exactly the same gain, sklearn takes the first in a random feature
 * order, this code the lowest column; sums are accumulated in row order,
 * not sklearn's sample order, so gains equal to the last bits may tie
 * differently.
 *
 * Invariants:
 *  - a row belongs to exactly one node of the current level (node_of).
 *
 * See also: train.h, notes/issue7/REPORT.md section 7
 *
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "tools/vigil-train/train.h"

#define FEATURE_THRESHOLD 1e-7 /* sklearn: closer values are equal */
#define MAX_DEPTH         10
#define MAX_TREE_NODES    ((1u << (MAX_DEPTH + 1)) - 1)

struct gbdt_sorted {
    size_t n;
    unsigned ncols;
    const unsigned *dcols; /* dataset column of each model column */
    uint32_t *order;       /* order[j * n + k]: k-th row by column j */
    float *val;            /* val[j * n + k]: its binary32 value */
    float *xf;             /* xf[j * n + i]: binary32 value of row i */
};

/* A node while its tree grows. */
struct gnode {
    uint32_t nrows;
    double w, sum, sq; /* weight, sum w r, sum (w r) r of its rows */
    double imp;        /* variance of r, sklearn's way */
    unsigned depth;
    int32_t col; /* split column; -1 for a leaf */
    double thr;
    uint32_t left, right;
    double value;
};

/* The best split of a node found so far, and the scan state. */
struct scan {
    double proxy;
    int32_t col;
    double thr;
    uint32_t nl; /* rows left of the split */
    /* running state of the current column's pass */
    uint32_t n;
    double w, s;
    float last;
    bool seen;
    bool active;
};

struct order_cmp {
    float v;
    uint32_t i;
};

static int
by_value(const void *a, const void *b)
{
    const struct order_cmp *x = a, *y = b;

    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static float
to_f32(double x)
{
    if (x > FLT_MAX)
        return INFINITY;
    if (x < -FLT_MAX)
        return -INFINITY;
    return (float)x;
}

struct gbdt_sorted *
gbdt_sort(const struct dataset *ds, const unsigned *cols, unsigned ncols)
{
    struct gbdt_sorted *s = xcalloc(1, sizeof(*s));
    struct order_cmp *tmp = xcalloc(ds->n, sizeof(*tmp));
    size_t n = ds->n;

    s->n = n;
    s->ncols = ncols;
    s->dcols = cols;
    s->order = xcalloc(n * ncols, sizeof(*s->order));
    s->val = xcalloc(n * ncols, sizeof(*s->val));
    s->xf = xcalloc(n * ncols, sizeof(*s->xf));
    for (unsigned j = 0; j < ncols; j++) {
        const double *x = ds->x + (size_t)cols[j] * n;

        for (size_t i = 0; i < n; i++) {
            tmp[i].v = to_f32(x[i]);
            tmp[i].i = (uint32_t)i;
            s->xf[j * n + i] = tmp[i].v;
        }
        qsort(tmp, n, sizeof(*tmp), by_value);
        for (size_t k = 0; k < n; k++) {
            s->order[j * n + k] = tmp[k].i;
            s->val[j * n + k] = tmp[k].v;
        }
    }
    free(tmp);
    return s;
}

void
gbdt_sorted_free(struct gbdt_sorted *s)
{
    if (s == NULL)
        return;
    free(s->order);
    free(s->val);
    free(s->xf);
    free(s);
}

static double
sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* sklearn's threshold between two consecutive distinct values. */
static double
midpoint(float a, float b)
{
    double t = (double)a / 2.0 + (double)b / 2.0;

    if (t == (double)b || isinf(t))
        t = (double)a;
    return t;
}

/* Variance sq / w - (sum / w)^2, as sklearn's MSE computes it. */
static double
impurity(double w, double sum, double sq)
{
    double m = sum / w;

    return sq / w - m * m;
}

struct grow {
    const struct dataset *ds;
    const struct gbdt_sorted *s;
    const struct gbdt_params *p;
    const double *r;  /* residuals */
    int32_t *node_of; /* per row: its node, -1 when not used */
    struct gnode nodes[MAX_TREE_NODES];
    struct scan scan[MAX_TREE_NODES];
    uint32_t nnodes;
};

static bool
splittable(const struct grow *g, const struct gnode *nd)
{
    return nd->depth < g->p->depth && nd->nrows >= 2 &&
        nd->nrows >= 2 * g->p->min_leaf && nd->imp > DBL_EPSILON;
}

/* One pass over column j in sorted order, for every active node. */
static void
scan_column(struct grow *g, unsigned j)
{
    const size_t n = g->s->n;
    const uint32_t *order = g->s->order + j * n;
    const float *val = g->s->val + j * n;
    const double *w = g->ds->w;

    for (uint32_t k = 0; k < g->nnodes; k++) {
        g->scan[k].n = 0;
        g->scan[k].w = g->scan[k].s = 0;
        g->scan[k].seen = false;
    }
    for (size_t q = 0; q < n; q++) {
        uint32_t i = order[q];
        int32_t k = g->node_of[i];
        struct scan *sc;
        float v;

        if (k < 0 || !g->scan[k].active)
            continue;
        sc = &g->scan[k];
        v = val[q];
        if (sc->seen && (double)v > (double)sc->last + FEATURE_THRESHOLD) {
            const struct gnode *nd = &g->nodes[k];
            uint32_t nl = sc->n, nr = nd->nrows - sc->n;

            if (nl >= g->p->min_leaf && nr >= g->p->min_leaf) {
                double wl = sc->w, wr = nd->w - wl;
                double sl = sc->s, sr = nd->sum - sl;
                double diff = wr * sl - wl * sr;
                double proxy = diff * diff / (wl * wr);

                if (proxy > sc->proxy) {
                    sc->proxy = proxy;
                    sc->col = (int32_t)j;
                    sc->thr = midpoint(sc->last, v);
                    sc->nl = nl;
                }
            }
        }
        sc->n++;
        sc->w += w[i];
        sc->s += w[i] * g->r[i];
        sc->last = v;
        sc->seen = true;
    }
}

static uint32_t
new_node(struct grow *g, unsigned depth)
{
    struct gnode *nd = &g->nodes[g->nnodes];

    memset(nd, 0, sizeof(*nd));
    nd->depth = depth;
    nd->col = -1;
    return g->nnodes++;
}

/*
 * Split node k at its best split: make the children, move the rows, and
 * give the children their statistics and sklearn's children_impurity.
 */
static void
split_node(struct grow *g, uint32_t k)
{
    const struct dataset *ds = g->ds;
    const float *xf;
    struct gnode *nd = &g->nodes[k];
    struct scan *sc = &g->scan[k];
    uint32_t l = new_node(g, nd->depth + 1), r = new_node(g, nd->depth + 1);
    struct gnode *L = &g->nodes[l], *R = &g->nodes[r];
    double sum_left, w_left, sq_left = 0, fwd_s = 0, fwd_w = 0;
    double rev_s = nd->sum, rev_w = nd->w;
    bool forward;

    nd = &g->nodes[k];
    nd->col = sc->col;
    nd->thr = sc->thr;
    nd->left = l;
    nd->right = r;
    xf = g->s->xf + (size_t)sc->col * g->s->n;
    for (size_t i = 0; i < ds->n; i++) {
        double wr;
        struct gnode *c;

        if (g->node_of[i] != (int32_t)k)
            continue;
        wr = ds->w[i] * g->r[i];
        if ((double)xf[i] <= nd->thr) {
            g->node_of[i] = (int32_t)l;
            c = L;
            fwd_s += wr;
            fwd_w += ds->w[i];
            sq_left += wr * g->r[i];
        } else {
            g->node_of[i] = (int32_t)r;
            c = R;
            rev_s -= wr;
            rev_w -= ds->w[i];
        }
        c->nrows++;
        c->w += ds->w[i];
        c->sum += wr;
        c->sq += wr * g->r[i];
    }
    /* sklearn's criterion.update(): forward from the start when the left
     * part is the shorter, else back from the end. */
    forward = L->nrows <= R->nrows;
    sum_left = forward ? fwd_s : rev_s;
    w_left = forward ? fwd_w : rev_w;
    L->imp = impurity(w_left, sum_left, sq_left);
    R->imp = impurity(nd->w - w_left, nd->sum - sum_left, nd->sq - sq_left);
}

/* Grow one tree on residuals r; leaves get no value yet. */
static void
grow_tree(struct grow *g, const uint8_t *in)
{
    const struct dataset *ds = g->ds;
    uint32_t level_start = 0, level_end;
    struct gnode *root;

    g->nnodes = 0;
    root = &g->nodes[new_node(g, 0)];
    for (size_t i = 0; i < ds->n; i++) {
        double wr;

        if (!in[i]) {
            g->node_of[i] = -1;
            continue;
        }
        g->node_of[i] = 0;
        wr = ds->w[i] * g->r[i];
        root->nrows++;
        root->w += ds->w[i];
        root->sum += wr;
        root->sq += wr * g->r[i];
    }
    root->imp = impurity(root->w, root->sum, root->sq);
    for (unsigned d = 0; d < g->p->depth; d++) {
        bool any = false;

        level_end = g->nnodes;
        for (uint32_t k = 0; k < g->nnodes; k++) {
            g->scan[k].active = k >= level_start && k < level_end &&
                splittable(g, &g->nodes[k]);
            g->scan[k].proxy = -INFINITY;
            g->scan[k].col = -1;
            any |= g->scan[k].active;
        }
        if (!any)
            break;
        for (unsigned j = 0; j < g->s->ncols; j++)
            scan_column(g, j);
        for (uint32_t k = level_start; k < level_end; k++) {
            if (g->scan[k].active && g->scan[k].col >= 0)
                split_node(g, k);
        }
        level_start = level_end;
    }
}

/* Newton step per leaf; raw += lr * value for the rows. */
static void
leaf_values(struct grow *g, const uint8_t *y, double *raw, double lr)
{
    const struct dataset *ds = g->ds;
    double num[MAX_TREE_NODES] = { 0 }, den[MAX_TREE_NODES] = { 0 };

    for (size_t i = 0; i < ds->n; i++) {
        int32_t k = g->node_of[i];
        double r = g->r[i], yi = y[i];

        if (k < 0)
            continue;
        num[k] += ds->w[i] * r;
        den[k] += ds->w[i] * (yi - r) * (1 - yi + r);
    }
    for (uint32_t k = 0; k < g->nnodes; k++) {
        if (g->nodes[k].col < 0)
            g->nodes[k].value = fabs(den[k]) < 1e-150 ? 0 : num[k] / den[k];
    }
    for (size_t i = 0; i < ds->n; i++) {
        if (g->node_of[i] >= 0)
            raw[i] += lr * g->nodes[g->node_of[i]].value;
    }
}

/* Internal nodes: the weight-weighted mean of the leaf values below. */
static void
inner_values(struct grow *g)
{
    /* Children have higher indices than their parent: go backwards. */
    for (uint32_t k = g->nnodes; k-- > 0;) {
        struct gnode *nd = &g->nodes[k];
        const struct gnode *L, *R;

        if (nd->col < 0)
            continue;
        L = &g->nodes[nd->left];
        R = &g->nodes[nd->right];
        nd->value = L->w + R->w > 0 ?
            (L->w * L->value + R->w * R->value) / (L->w + R->w) :
            (L->value + R->value) / 2;
    }
}

/* Append node k's subtree in preorder to out; returns its index. */
static uint32_t
emit(const struct grow *g, uint32_t k, struct model_node *out, uint32_t *n)
{
    const struct gnode *nd = &g->nodes[k];
    uint32_t me = (*n)++;

    out[me].col = nd->col;
    out[me].thr = nd->col >= 0 ? nd->thr : 0;
    out[me].value = nd->value;
    out[me].cover = nd->w;
    out[me].left = out[me].right = 0;
    if (nd->col >= 0) {
        uint32_t l = emit(g, nd->left, out, n);
        uint32_t r = emit(g, nd->right, out, n);

        out[me].left = l;
        out[me].right = r;
    }
    return me;
}

void
gbdt_train(const struct dataset *ds, const struct gbdt_sorted *s,
    const uint8_t *in, const struct gbdt_params *p, struct gbdt_fit *out)
{
    struct grow *g = xcalloc(1, sizeof(*g));
    double *raw = xcalloc(ds->n, sizeof(*raw));
    double *r = xcalloc(ds->n, sizeof(*r));
    double wp = 0, wt = 0, prior;
    size_t cap = (size_t)p->trees * 15;

    memset(out, 0, sizeof(*out));
    g->ds = ds;
    g->s = s;
    g->p = p;
    g->r = r;
    g->node_of = xcalloc(ds->n, sizeof(*g->node_of));
    for (size_t i = 0; i < ds->n; i++) {
        if (in[i]) {
            wt += ds->w[i];
            wp += ds->w[i] * ds->y[i];
        }
    }
    /* sklearn's prior, clipped to binary32 epsilon. */
    prior = wt > 0 ? wp / wt : 0.5;
    if (prior < FLT_EPSILON)
        prior = FLT_EPSILON;
    if (prior > 1 - FLT_EPSILON)
        prior = 1 - FLT_EPSILON;
    out->init = log(prior / (1 - prior));
    for (size_t i = 0; i < ds->n; i++)
        raw[i] = out->init;
    out->tree_nodes = xcalloc(p->trees, sizeof(*out->tree_nodes));
    out->nodes = xcalloc(cap, sizeof(*out->nodes));
    for (unsigned m = 0; m < p->trees; m++) {
        uint32_t n = 0;

        for (size_t i = 0; i < ds->n; i++)
            r[i] = in[i] ? ds->y[i] - sigmoid(raw[i]) : 0;
        grow_tree(g, in);
        leaf_values(g, ds->y, raw, p->lr);
        inner_values(g);
        if (out->nnodes + g->nnodes > cap) {
            cap = (out->nnodes + g->nnodes) * 2;
            out->nodes = xreallocarray(out->nodes, cap, sizeof(*out->nodes));
        }
        emit(g, 0, out->nodes + out->nnodes, &n);
        out->tree_nodes[m] = n;
        out->nnodes += n;
        out->ntrees++;
    }
    free(g->node_of);
    free(g);
    free(raw);
    free(r);
}

void
gbdt_fit_release(struct gbdt_fit *f)
{
    free(f->tree_nodes);
    free(f->nodes);
    memset(f, 0, sizeof(*f));
}
