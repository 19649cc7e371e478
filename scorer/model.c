/*
 * model.c - the model: its validator and builder, accessors, evaluation
 *           with reasons, and the reload slot
 *
 * Everything a model file holds goes through model_build(), the one
 * validator, which model files (model_file.c) and trainers share.
 * Evaluation walks flat node arrays: no allocation, no recursion, about
 * 600 node visits for 200 trees of depth 3.
 *
 * Invariants:
 *  - a struct model passed every check of model_build(); evaluation
 *    relies on it (columns in range, children after parents, depth
 *    bounded) and never checks again.
 *  - model_raw_cols() and model_explain_cols() add the same terms in the
 *    same order, so they return the same double.
 *
 * See also: model.h (the format), model_file.c (reading and writing it),
 *           model_int.h, features.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "scorer/model.h"
#include "scorer/model_int.h"

/* ------------------------------------------------------------ errors */

int PRINTF_LIKE(4, 5)
    model_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* ----------------------------------------------------------- numbers */

bool
model_parse_double(const char *s, double *out)
{
    char *end;

    if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

bool
model_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return false;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The shortest %g text that reads back as exactly `v`. */
void
model_fmt_double(char out[NUM_TEXT_MAX], double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, NUM_TEXT_MAX, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* x rounded to IEEE binary32, as scikit-learn's trees see it. */
static inline double
to_f32(double x)
{
    if (x > FLT_MAX)
        return INFINITY;
    if (x < -FLT_MAX)
        return -INFINITY;
    return (double)(float)x;
}

bool
model_id_ok(const char *id)
{
    size_t n = strlen(id);

    return n >= 1 && n <= MODEL_ID_MAX &&
        strspn(id,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "0123456789._-") == n;
}

bool
model_comment_ok(const char *c)
{
    size_t n = strlen(c);

    if (n > MODEL_MAX_LINE - 2)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)c[i] < 0x20 || (unsigned char)c[i] > 0x7e)
            return false;
    }
    return true;
}

/* -------------------------------------------------------- validation */

/*
 * Check one tree of `m` nodes over `ncols` columns. On failure `*bad`
 * is the first node at fault and `msg` says why.
 */
bool
model_tree_ok(const struct model_node *t, uint32_t m, unsigned ncols,
    uint32_t *bad, char *msg, size_t msglen)
{
    uint8_t *parents = xcalloc(m, 1);
    uint8_t *depth = xcalloc(m, 1);
    bool ok = false;
    uint32_t i;

    for (i = 0; i < m; i++) {
        const struct model_node *n = &t[i];

        if (!isfinite(n->value) || !isfinite(n->cover) || n->cover < 0) {
            snprintf(msg, msglen, "value and cover must be finite, cover >= 0");
            goto out;
        }
        if (n->col < 0)
            continue;
        if ((unsigned)n->col >= ncols) {
            snprintf(msg, msglen, "column %d out of range (%u columns)",
                (int)n->col, ncols);
            goto out;
        }
        if (!isfinite(n->thr)) {
            snprintf(msg, msglen, "threshold must be finite");
            goto out;
        }
        if (n->left >= m || n->right >= m) {
            snprintf(msg, msglen, "child index out of range (%u nodes)", m);
            goto out;
        }
        if (n->left <= i || n->right <= i || n->left == n->right) {
            snprintf(msg, msglen,
                "cycle: children must be two distinct later nodes");
            goto out;
        }
        if (parents[n->left]++ || parents[n->right]++) {
            i = parents[n->left] > 1 ? n->left : n->right;
            snprintf(msg, msglen, "node %u has two parents", i);
            goto out;
        }
        if (depth[i] >= MODEL_MAX_DEPTH) {
            snprintf(msg, msglen, "deeper than %d", MODEL_MAX_DEPTH);
            goto out;
        }
        depth[n->left] = depth[n->right] = (uint8_t)(depth[i] + 1);
    }
    for (i = 1; i < m; i++) {
        if (parents[i] == 0) {
            snprintf(msg, msglen, "node %u is unreachable", i);
            goto out;
        }
    }
    ok = true;
out:
    *bad = i;
    free(parents);
    free(depth);
    return ok;
}

static int
def_check(const struct model_def *d, char *err, size_t errlen)
{
    bool seen[FEATURE_COUNT] = { false };
    char msg[160];
    size_t off = 0;
    uint32_t bad;

    if (d->kind != MODEL_KIND_GBDT && d->kind != MODEL_KIND_LOGREG)
        return model_fail(
            err, errlen, ERR_INVAL, "unknown model kind %d", d->kind);
    if (!model_id_ok(d->id))
        return model_fail(err, errlen, ERR_INVAL,
            "model id must be 1..%d of [A-Za-z0-9._-]", MODEL_ID_MAX);
    if (d->ncols < 1 || d->ncols > FEATURE_COUNT)
        return model_fail(err, errlen, ERR_INVAL, "%u columns (1..%d)",
            d->ncols, FEATURE_COUNT);
    for (unsigned j = 0; j < d->ncols; j++) {
        if ((unsigned)d->cols[j] >= FEATURE_COUNT)
            return model_fail(
                err, errlen, ERR_INVAL, "column %u: no such feature", j);
        if (seen[d->cols[j]])
            return model_fail(err, errlen, ERR_INVAL,
                "column %u: feature '%s' twice", j,
                feature_table[d->cols[j]].name);
        seen[d->cols[j]] = true;
        if (d->kind != MODEL_KIND_LOGREG)
            continue;
        if ((unsigned)d->tf[j] >= FEATURE_TF_COUNT || !isfinite(d->mean[j]) ||
            !isfinite(d->scale[j]) || !(d->scale[j] > 0) ||
            !isfinite(d->weight[j]))
            return model_fail(err, errlen, ERR_INVAL,
                "column %u: transform, finite mean and weight, scale > 0", j);
    }
    if (d->kind == MODEL_KIND_LOGREG && !isfinite(d->intercept))
        return model_fail(err, errlen, ERR_INVAL, "intercept must be finite");
    if (d->kind == MODEL_KIND_GBDT) {
        if (!isfinite(d->init))
            return model_fail(err, errlen, ERR_INVAL, "init must be finite");
        if (!(d->learning_rate > 0 && d->learning_rate <= 1))
            return model_fail(
                err, errlen, ERR_INVAL, "learning_rate must be in (0, 1]");
        if (d->ntrees < 1 || d->ntrees > MODEL_MAX_TREES)
            return model_fail(err, errlen, ERR_INVAL, "%u trees (1..%d)",
                d->ntrees, MODEL_MAX_TREES);
        for (unsigned t = 0; t < d->ntrees; t++) {
            uint32_t m = d->tree_nodes[t];

            if (m < 1 || m > MODEL_MAX_NODES)
                return model_fail(err, errlen, ERR_INVAL,
                    "tree %u: %u nodes (1..%d)", t, m, MODEL_MAX_NODES);
            if (!model_tree_ok(
                    d->nodes + off, m, d->ncols, &bad, msg, sizeof(msg)))
                return model_fail(err, errlen, ERR_MALFORMED,
                    "tree %u node %u: %s", t, bad, msg);
            off += m;
        }
    }
    if (!isfinite(d->platt_a) || !isfinite(d->platt_b))
        return model_fail(
            err, errlen, ERR_INVAL, "platt a and b must be finite");
    if (d->review > d->block || d->block > 100)
        return model_fail(err, errlen, ERR_INVAL,
            "thresholds: need 0 <= review <= block <= 100");
    if (d->ncomments > MODEL_MAX_COMMENTS)
        return model_fail(err, errlen, ERR_TOOBIG, "more than %d comment lines",
            MODEL_MAX_COMMENTS);
    for (unsigned i = 0; i < d->ncomments; i++) {
        if (!model_comment_ok(d->comments[i]))
            return model_fail(err, errlen, ERR_INVAL,
                "comment %u: printable ASCII, one line", i);
    }
    return 0;
}

/* ---------------------------------------------------------- building */

void
model_set_version(struct model *m)
{
    char hex[SHA_HEX + 1];

    sodium_bin2hex(hex, sizeof(hex), m->sha, sizeof(m->sha));
    snprintf(m->version, sizeof(m->version), "%s@%.8s", m->def.id, hex);
}

/* Build without computing the checksum (the caller sets m->sha). */
int
model_build_def(
    const struct model_def *d, struct model **out, char *err, size_t errlen)
{
    struct model *m;
    size_t off = 0;
    int rc;

    rc = def_check(d, err, errlen);
    if (rc != 0)
        return rc;
    m = xcalloc(1, sizeof(*m));
    m->def = *d;
    if (d->kind == MODEL_KIND_GBDT) {
        m->tree_nodes = xcalloc(d->ntrees, sizeof(*m->tree_nodes));
        m->tree_start = xcalloc(d->ntrees, sizeof(*m->tree_start));
        for (unsigned t = 0; t < d->ntrees; t++) {
            m->tree_nodes[t] = d->tree_nodes[t];
            m->tree_start[t] = (uint32_t)off;
            off += d->tree_nodes[t];
        }
        m->nnodes = off;
        m->nodes = xcalloc(off, sizeof(*m->nodes));
        memcpy(m->nodes, d->nodes, off * sizeof(*m->nodes));
        m->bias = d->init;
        for (unsigned t = 0; t < d->ntrees; t++)
            m->bias += d->learning_rate * m->nodes[m->tree_start[t]].value;
    } else {
        m->bias = d->intercept;
    }
    m->def.tree_nodes = m->tree_nodes;
    m->def.nodes = m->nodes;
    if (d->ncomments > 0) {
        m->comments = xcalloc(d->ncomments, sizeof(*m->comments));
        for (unsigned i = 0; i < d->ncomments; i++)
            m->comments[i] = xstrdup(d->comments[i]);
    }
    m->def.comments = (const char *const *)m->comments;
    *out = m;
    return 0;
}

int
model_build(
    const struct model_def *d, struct model **out, char *err, size_t errlen)
{
    struct model *m;
    struct buf b;
    char hex[SHA_HEX + 1];
    int rc;

    rc = model_build_def(d, &m, err, errlen);
    if (rc != 0)
        return rc;
    buf_init(&b, MODEL_MAX_BYTES);
    rc = model_format_body(m, &b);
    if (rc != 0) {
        buf_release(&b);
        model_free(m);
        return model_fail(err, errlen, rc, "the model text exceeds %u bytes",
            MODEL_MAX_BYTES);
    }
    model_sha_line(b.data, b.len, m->sha, hex);
    buf_release(&b);
    model_set_version(m);
    *out = m;
    return 0;
}

void
model_free(struct model *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; m->comments != NULL && i < m->def.ncomments; i++)
        free(m->comments[i]);
    free(m->comments);
    free(m->tree_nodes);
    free(m->tree_start);
    free(m->nodes);
    free(m);
}

/* --------------------------------------------------------- accessors */

const char *
model_id(const struct model *m)
{
    return m->def.id;
}

const char *
model_version(const struct model *m)
{
    return m->version;
}

enum model_kind
model_kind(const struct model *m)
{
    return m->def.kind;
}

unsigned
model_ncols(const struct model *m)
{
    return m->def.ncols;
}

enum feature_id
model_col(const struct model *m, unsigned j)
{
    return m->def.cols[j];
}

unsigned
model_review(const struct model *m)
{
    return m->def.review;
}

unsigned
model_block(const struct model *m)
{
    return m->def.block;
}

unsigned
model_ntrees(const struct model *m)
{
    return m->def.kind == MODEL_KIND_GBDT ? m->def.ntrees : 0;
}

/* -------------------------------------------------------- evaluation */

static double
raw_gbdt(const struct model *m, const double *cols, double *contrib)
{
    const struct model_def *d = &m->def;
    double xf[FEATURE_COUNT] = { 0 };
    double raw = d->init, lr = d->learning_rate;

    for (unsigned j = 0; j < d->ncols; j++)
        xf[j] = to_f32(cols[j]);
    for (unsigned t = 0; t < d->ntrees; t++) {
        const struct model_node *n = m->nodes + m->tree_start[t];
        uint32_t i = 0;

        while (n[i].col >= 0) {
            uint32_t c = xf[n[i].col] <= n[i].thr ? n[i].left : n[i].right;

            if (contrib != NULL)
                contrib[n[i].col] += lr * (n[c].value - n[i].value);
            i = c;
        }
        raw += lr * n[i].value;
    }
    return raw;
}

static double
raw_logreg(const struct model *m, const double *cols, double *contrib)
{
    const struct model_def *d = &m->def;
    double raw = d->intercept;

    for (unsigned j = 0; j < d->ncols; j++) {
        double term = d->weight[j] *
            (feature_transform_apply(d->tf[j], cols[j]) - d->mean[j]) /
            d->scale[j];

        if (contrib != NULL)
            contrib[j] = term;
        raw += term;
    }
    return raw;
}

double
model_raw_cols(const struct model *m, const double *cols)
{
    if (m->def.kind == MODEL_KIND_GBDT)
        return raw_gbdt(m, cols, NULL);
    return raw_logreg(m, cols, NULL);
}

static void
gather(const struct model *m, const struct feature_vec *x, double *cols)
{
    for (unsigned j = 0; j < m->def.ncols; j++)
        cols[j] = x->v[m->def.cols[j]];
}

double
model_raw(const struct model *m, const struct feature_vec *x)
{
    double cols[FEATURE_COUNT];

    gather(m, x, cols);
    return model_raw_cols(m, cols);
}

double
model_explain_cols(
    const struct model *m, const double *cols, double *contrib, double *bias)
{
    for (unsigned j = 0; j < m->def.ncols; j++)
        contrib[j] = 0;
    *bias = m->bias;
    if (m->def.kind == MODEL_KIND_GBDT)
        return raw_gbdt(m, cols, contrib);
    return raw_logreg(m, cols, contrib);
}

double
model_prob(const struct model *m, double raw)
{
    return 1.0 / (1.0 + exp(-(m->def.platt_a * raw + m->def.platt_b)));
}

uint8_t
model_score_of(double p)
{
    /* rint() rounds halves to even in the default rounding mode. */
    double s = rint(100.0 * p);

    if (!(s > 0))
        return 0;
    if (s > 100)
        return 100;
    return (uint8_t)s;
}

enum reply_decision
model_decide(const struct model *m, unsigned score)
{
    if (score >= m->def.block)
        return REPLY_DECISION_BLOCK;
    if (score >= m->def.review)
        return REPLY_DECISION_REVIEW;
    return REPLY_DECISION_ALLOW;
}

/* Before in reason order: larger |contribution|, then lower column. */
static bool
reason_before(const double *contrib, unsigned a, unsigned b)
{
    double ca = fabs(contrib[a]), cb = fabs(contrib[b]);

    if (ca != cb)
        return ca > cb;
    return a < b;
}

int
model_score(const struct model *m, const struct feature_vec *x,
    unsigned max_reasons, struct model_result *out)
{
    double cols[FEATURE_COUNT], contrib[FEATURE_COUNT];
    unsigned order[FEATURE_COUNT], n = 0;

    memset(out, 0, sizeof(*out));
    gather(m, x, cols);
    for (unsigned j = 0; j < m->def.ncols; j++) {
        if (!isfinite(cols[j]))
            return ERR_INVAL;
    }
    out->raw = model_explain_cols(m, cols, contrib, &out->bias);
    out->p = model_prob(m, out->raw);
    out->score = model_score_of(out->p);
    out->decision = model_decide(m, out->score);
    for (unsigned j = 0; j < m->def.ncols; j++) {
        unsigned k;

        if (contrib[j] == 0)
            continue;
        /* Insertion sort: at most FEATURE_COUNT entries. */
        for (k = n; k > 0 && reason_before(contrib, j, order[k - 1]); k--)
            order[k] = order[k - 1];
        order[k] = j;
        n++;
    }
    if (max_reasons > MODEL_MAX_REASONS)
        max_reasons = MODEL_MAX_REASONS;
    for (unsigned k = 0; k < n && k < max_reasons; k++) {
        unsigned j = order[k];

        out->reasons[k].feature = m->def.cols[j];
        out->reasons[k].value = cols[j];
        out->reasons[k].contribution = contrib[j];
        out->nreasons = k + 1;
    }
    return 0;
}

void
model_reason_text(const struct model_reason *r, char *out, size_t outlen)
{
    const struct feature_info *fi = feature_info(r->feature);
    const char *unit = "";
    char value[32];

    if (fi == NULL) {
        snprintf(out, outlen, "unknown feature");
        return;
    }
    if (strcmp(fi->unit, "s") == 0 || strcmp(fi->unit, "d") == 0)
        unit = fi->unit;
    /* A sentinel (features.h) in words: "s2o_sec = 1e+09 s" read as a
     * time to an analyst. The reply's value keeps the number. */
    if (r->feature == FEAT_S2O_SEC && r->value >= FEATURE_MISSING_SIGNUP)
        snprintf(value, sizeof(value), "none (no signup known)");
    else if (unit[0] != '\0' && r->value == FEATURE_MISSING_GAP)
        snprintf(value, sizeof(value), "none (no earlier event)");
    else
        snprintf(value, sizeof(value), "%g%s%s", r->value,
            unit[0] != '\0' ? " " : "", unit);
    snprintf(out, outlen, "%s = %s %s the fraud log-odds by %.2f", fi->name,
        value, r->contribution >= 0 ? "raised" : "lowered",
        fabs(r->contribution));
}

/* ------------------------------------------------------------ reload */

void
model_slot_init(struct model_slot *s, const char *path)
{
    memset(s, 0, sizeof(*s));
    s->path = xstrdup(path);
}

void
model_slot_release(struct model_slot *s)
{
    model_free(s->cur);
    free(s->path);
    memset(s, 0, sizeof(*s));
}

int
model_slot_load(struct model_slot *s, char *err, size_t errlen)
{
    struct model *m;
    int rc;

    rc = model_load(s->path, &m, err, errlen);
    if (rc != 0) {
        s->failures++;
        return rc;
    }
    model_free(s->cur);
    s->cur = m;
    s->loads++;
    return 0;
}

void
model_slot_request(struct model_slot *s)
{
    s->want_reload = 1;
}

int
model_slot_poll(struct model_slot *s, char *err, size_t errlen)
{
    if (!s->want_reload)
        return 0;
    s->want_reload = 0;
    return model_slot_load(s, err, errlen);
}

const struct model *
model_slot_get(const struct model_slot *s)
{
    return s->cur;
}
