/*
 * model.c - the model file: strict parser, validator, writer; evaluation
 *           with reasons; the reload slot
 *
 * model_parse() checks the header's version, then the SHA-256 line, then
 * reads the lines in the one order model.h specifies, checking each
 * field as it goes so that an error names its line. Everything it read
 * goes through model_build(), the one validator, which model files and
 * trainers share. Evaluation walks flat node arrays: no allocation, no
 * recursion, about 600 node visits for 200 trees of depth 3.
 *
 * Invariants:
 *  - a struct model passed every check of model_build(); evaluation
 *    relies on it (columns in range, children after parents, depth
 *    bounded) and never checks again.
 *  - model_raw_cols() and model_explain_cols() add the same terms in the
 *    same order, so they return the same double.
 *
 * See also: model.h (the format), features.h
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

#define HEADER_MAGIC   "vigil-model"
#define SHA_HEX        (2 * crypto_hash_sha256_BYTES)
#define SHA_LINE_BYTES (7 + SHA_HEX + 1) /* "sha256 " hex "\n" */
#define MAX_TOKENS     10
#define NUM_TEXT_MAX   40

struct model {
    struct model_def def; /* arrays below are owned copies */
    uint32_t *tree_nodes; /* ntrees node counts */
    uint32_t *tree_start; /* ntrees offsets into nodes */
    struct model_node *nodes;
    size_t nnodes;
    char **comments;
    double bias; /* init + lr * sum of roots' values, or intercept */
    uint8_t sha[crypto_hash_sha256_BYTES];
    char version[MODEL_VERSION_MAX + 1];
};

/* ------------------------------------------------------------ errors */

static int PRINTF_LIKE(4, 5)
    fail(char *err, size_t errlen, int rc, const char *fmt, ...)
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

static bool
parse_double(const char *s, double *out)
{
    char *end;

    if (*s == '\0' || strspn(s, "0123456789+-.eE") != strlen(s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

static bool
parse_u32(const char *s, uint32_t max, uint32_t *out)
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
static void
fmt_double(char out[NUM_TEXT_MAX], double v)
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

static bool
id_ok(const char *id)
{
    size_t n = strlen(id);

    return n >= 1 && n <= MODEL_ID_MAX &&
        strspn(id,
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "0123456789._-") == n;
}

static bool
comment_ok(const char *c)
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
static bool
tree_ok(const struct model_node *t, uint32_t m, unsigned ncols, uint32_t *bad,
    char *msg, size_t msglen)
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
        return fail(err, errlen, ERR_INVAL, "unknown model kind %d", d->kind);
    if (!id_ok(d->id))
        return fail(err, errlen, ERR_INVAL,
            "model id must be 1..%d of [A-Za-z0-9._-]", MODEL_ID_MAX);
    if (d->ncols < 1 || d->ncols > FEATURE_COUNT)
        return fail(err, errlen, ERR_INVAL, "%u columns (1..%d)", d->ncols,
            FEATURE_COUNT);
    for (unsigned j = 0; j < d->ncols; j++) {
        if ((unsigned)d->cols[j] >= FEATURE_COUNT)
            return fail(
                err, errlen, ERR_INVAL, "column %u: no such feature", j);
        if (seen[d->cols[j]])
            return fail(err, errlen, ERR_INVAL, "column %u: feature '%s' twice",
                j, feature_table[d->cols[j]].name);
        seen[d->cols[j]] = true;
        if (d->kind != MODEL_KIND_LOGREG)
            continue;
        if ((unsigned)d->tf[j] >= FEATURE_TF_COUNT || !isfinite(d->mean[j]) ||
            !isfinite(d->scale[j]) || !(d->scale[j] > 0) ||
            !isfinite(d->weight[j]))
            return fail(err, errlen, ERR_INVAL,
                "column %u: transform, finite mean and weight, scale > 0", j);
    }
    if (d->kind == MODEL_KIND_LOGREG && !isfinite(d->intercept))
        return fail(err, errlen, ERR_INVAL, "intercept must be finite");
    if (d->kind == MODEL_KIND_GBDT) {
        if (!isfinite(d->init))
            return fail(err, errlen, ERR_INVAL, "init must be finite");
        if (!(d->learning_rate > 0 && d->learning_rate <= 1))
            return fail(
                err, errlen, ERR_INVAL, "learning_rate must be in (0, 1]");
        if (d->ntrees < 1 || d->ntrees > MODEL_MAX_TREES)
            return fail(err, errlen, ERR_INVAL, "%u trees (1..%d)", d->ntrees,
                MODEL_MAX_TREES);
        for (unsigned t = 0; t < d->ntrees; t++) {
            uint32_t m = d->tree_nodes[t];

            if (m < 1 || m > MODEL_MAX_NODES)
                return fail(err, errlen, ERR_INVAL, "tree %u: %u nodes (1..%d)",
                    t, m, MODEL_MAX_NODES);
            if (!tree_ok(d->nodes + off, m, d->ncols, &bad, msg, sizeof(msg)))
                return fail(err, errlen, ERR_MALFORMED, "tree %u node %u: %s",
                    t, bad, msg);
            off += m;
        }
    }
    if (!isfinite(d->platt_a) || !isfinite(d->platt_b))
        return fail(err, errlen, ERR_INVAL, "platt a and b must be finite");
    if (d->review > d->block || d->block > 100)
        return fail(err, errlen, ERR_INVAL,
            "thresholds: need 0 <= review <= block <= 100");
    if (d->ncomments > MODEL_MAX_COMMENTS)
        return fail(err, errlen, ERR_TOOBIG, "more than %d comment lines",
            MODEL_MAX_COMMENTS);
    for (unsigned i = 0; i < d->ncomments; i++) {
        if (!comment_ok(d->comments[i]))
            return fail(err, errlen, ERR_INVAL,
                "comment %u: printable ASCII, one line", i);
    }
    return 0;
}

/* ----------------------------------------------------------- writing */

static int PRINTF_LIKE(2, 3) put(struct buf *b, const char *fmt, ...)
{
    char line[MODEL_MAX_LINE + 2];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return ERR_TOOBIG;
    return buf_append(b, line, (size_t)n);
}

/* Append the text of m without its checksum line. */
static int
format_body(const struct model *m, struct buf *b)
{
    const struct model_def *d = &m->def;
    char a[NUM_TEXT_MAX], c[NUM_TEXT_MAX], e[NUM_TEXT_MAX], f[NUM_TEXT_MAX];
    int rc;

    rc = put(b, "%s %d %s\n", HEADER_MAGIC, MODEL_FORMAT_VERSION, d->id);
    for (unsigned i = 0; rc == 0 && i < d->ncomments; i++)
        rc = put(b, "# %s\n", m->comments[i]);
    if (rc == 0)
        rc = put(b, "kind %s\nfeatures %u\n",
            d->kind == MODEL_KIND_GBDT ? "gbdt" : "logreg", d->ncols);
    for (unsigned j = 0; rc == 0 && j < d->ncols; j++) {
        const char *name = feature_table[d->cols[j]].name;

        if (d->kind == MODEL_KIND_GBDT) {
            rc = put(b, "f %u %s\n", j, name);
            continue;
        }
        fmt_double(a, d->mean[j]);
        fmt_double(c, d->scale[j]);
        fmt_double(e, d->weight[j]);
        rc = put(b, "f %u %s %s %s %s %s\n", j, name,
            feature_transform_name(d->tf[j]), a, c, e);
    }
    if (rc == 0 && d->kind == MODEL_KIND_GBDT) {
        fmt_double(a, d->init);
        fmt_double(c, d->learning_rate);
        rc = put(b, "init %s\nlearning_rate %s\ntrees %u\n", a, c, d->ntrees);
        for (unsigned t = 0; rc == 0 && t < d->ntrees; t++) {
            const struct model_node *nd = m->nodes + m->tree_start[t];

            rc = put(b, "tree %u %u\n", t, m->tree_nodes[t]);
            for (uint32_t i = 0; rc == 0 && i < m->tree_nodes[t]; i++) {
                fmt_double(c, nd[i].value);
                fmt_double(e, nd[i].cover);
                if (nd[i].col < 0) {
                    rc = put(b, "l %u %s %s\n", i, c, e);
                    continue;
                }
                fmt_double(f, nd[i].thr);
                rc = put(b, "n %u %d %s %u %u %s %s\n", i, (int)nd[i].col, f,
                    nd[i].left, nd[i].right, c, e);
            }
        }
    } else if (rc == 0) {
        fmt_double(a, d->intercept);
        rc = put(b, "intercept %s\n", a);
    }
    if (rc == 0) {
        fmt_double(a, d->platt_a);
        fmt_double(c, d->platt_b);
        rc = put(
            b, "platt %s %s\nthresholds %u %u\n", a, c, d->review, d->block);
    }
    return rc;
}

static void
sha_line(const uint8_t *data, size_t len, uint8_t sha[crypto_hash_sha256_BYTES],
    char hex[SHA_HEX + 1])
{
    crypto_hash_sha256(sha, data, len);
    sodium_bin2hex(hex, SHA_HEX + 1, sha, crypto_hash_sha256_BYTES);
}

int
model_format(const struct model *m, struct buf *out)
{
    size_t start = out->len;
    uint8_t sha[crypto_hash_sha256_BYTES];
    char hex[SHA_HEX + 1];
    int rc;

    rc = format_body(m, out);
    if (rc == 0) {
        sha_line(out->data + start, out->len - start, sha, hex);
        rc = put(out, "sha256 %s\n", hex);
    }
    if (rc != 0)
        buf_truncate(out, start);
    return rc;
}

/* ---------------------------------------------------------- building */

static void
set_version(struct model *m)
{
    char hex[SHA_HEX + 1];

    sodium_bin2hex(hex, sizeof(hex), m->sha, sizeof(m->sha));
    snprintf(m->version, sizeof(m->version), "%s@%.8s", m->def.id, hex);
}

/* Build without computing the checksum (the caller sets m->sha). */
static int
build(const struct model_def *d, struct model **out, char *err, size_t errlen)
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

    rc = build(d, &m, err, errlen);
    if (rc != 0)
        return rc;
    buf_init(&b, MODEL_MAX_BYTES);
    rc = format_body(m, &b);
    if (rc != 0) {
        buf_release(&b);
        model_free(m);
        return fail(err, errlen, rc, "the model text exceeds %u bytes",
            MODEL_MAX_BYTES);
    }
    sha_line(b.data, b.len, m->sha, hex);
    buf_release(&b);
    set_version(m);
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

/* ----------------------------------------------------------- parsing */

struct parser {
    const char *name;
    char *err;
    size_t errlen;
    const char *pos; /* next line */
    const char *end; /* start of the sha256 line */
    unsigned lineno; /* of the line last read */
    char line[MODEL_MAX_LINE + 1];
    char *tok[MAX_TOKENS];
    unsigned ntok;
    struct model_def def;
    struct model_node *nodes;
    size_t nnodes, cap;
    uint32_t *tree_nodes;
    char *comments[MODEL_MAX_COMMENTS];
};

static int PRINTF_LIKE(3, 4)
    perr(struct parser *p, int rc, const char *fmt, ...)
{
    char msg[MODEL_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return fail(
        p->err, p->errlen, rc, "%s line %u: %s", p->name, p->lineno, msg);
}

/* Read the next line into p->tok. Returns 0, ERR_NOTFOUND at the end of
 * the body, or ERR_MALFORMED. */
static int
next_line(struct parser *p)
{
    const char *nl;
    size_t len;
    char *s;

    if (p->pos >= p->end)
        return ERR_NOTFOUND;
    p->lineno++;
    nl = memchr(p->pos, '\n', (size_t)(p->end - p->pos));
    if (nl == NULL)
        return perr(p, ERR_MALFORMED, "no end of line");
    len = (size_t)(nl - p->pos);
    if (len == 0)
        return perr(p, ERR_MALFORMED, "blank line");
    if (len > MODEL_MAX_LINE)
        return perr(p, ERR_TOOBIG, "longer than %d bytes", MODEL_MAX_LINE);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)p->pos[i] < 0x20 || (unsigned char)p->pos[i] > 0x7e)
            return perr(p, ERR_MALFORMED,
                "byte %zu is not printable ASCII (no tabs or CR)", i + 1);
    }
    memcpy(p->line, p->pos, len);
    p->line[len] = '\0';
    p->pos = nl + 1;
    p->ntok = 0;
    if (p->line[0] == '#')
        return 0;
    s = p->line;
    for (;;) {
        char *sp = strchr(s, ' ');

        if (p->ntok == MAX_TOKENS)
            return perr(p, ERR_MALFORMED, "too many fields");
        if (sp != NULL)
            *sp = '\0';
        if (*s == '\0')
            return perr(p, ERR_MALFORMED,
                "empty field: separate fields by exactly one space");
        p->tok[p->ntok++] = s;
        if (sp == NULL)
            break;
        s = sp + 1;
    }
    return 0;
}

/* Read the next line, which must be `kw` with exactly `n` fields. */
static int
expect(struct parser *p, const char *kw, unsigned n)
{
    int rc = next_line(p);

    if (rc == ERR_NOTFOUND) {
        p->lineno++;
        return perr(p, ERR_MALFORMED, "missing '%s' line", kw);
    }
    if (rc != 0)
        return rc;
    if (p->line[0] == '#')
        return perr(p, ERR_MALFORMED,
            "comments are only allowed before the 'kind' line");
    if (strcmp(p->tok[0], kw) != 0)
        return perr(
            p, ERR_MALFORMED, "expected '%s', found '%.40s'", kw, p->tok[0]);
    if (p->ntok != n)
        return perr(p, ERR_MALFORMED, "'%s' takes %u fields, found %u", kw,
            n - 1, p->ntok - 1);
    return 0;
}

static int
num(struct parser *p, unsigned i, const char *what, double *out)
{
    if (!parse_double(p->tok[i], out))
        return perr(p, ERR_INVAL, "%s: not a finite decimal number", what);
    return 0;
}

static int
uint_field(
    struct parser *p, unsigned i, const char *what, uint32_t max, uint32_t *out)
{
    if (!parse_u32(p->tok[i], max, out))
        return perr(
            p, ERR_INVAL, "%s: not an unsigned integer <= %u", what, max);
    return 0;
}

static int
parse_header(struct parser *p)
{
    uint32_t v;
    int rc;

    rc = next_line(p);
    if (rc == ERR_NOTFOUND) {
        p->lineno = 1;
        return perr(p, ERR_MALFORMED, "empty file");
    }
    if (rc != 0)
        return rc;
    if (p->line[0] == '#' || strcmp(p->tok[0], HEADER_MAGIC) != 0)
        return perr(p, ERR_MALFORMED, "not a model file (no '%s' header)",
            HEADER_MAGIC);
    if (p->ntok != 3)
        return perr(p, ERR_MALFORMED, "the header is '%s <version> <id>'",
            HEADER_MAGIC);
    if (!parse_u32(p->tok[1], UINT32_MAX, &v) || v != MODEL_FORMAT_VERSION)
        return perr(p, ERR_INVAL,
            "unsupported format version '%.12s' (this build reads %d)",
            p->tok[1], MODEL_FORMAT_VERSION);
    if (!id_ok(p->tok[2]))
        return perr(p, ERR_INVAL, "model id must be 1..%d of [A-Za-z0-9._-]",
            MODEL_ID_MAX);
    snprintf(p->def.id, sizeof(p->def.id), "%s", p->tok[2]);
    return 0;
}

static int
parse_columns(struct parser *p)
{
    struct model_def *d = &p->def;
    bool seen[FEATURE_COUNT] = { false };
    uint32_t n, j;
    int rc;

    rc = expect(p, "features", 2);
    if (rc == 0)
        rc = uint_field(p, 1, "features", FEATURE_COUNT, &n);
    if (rc != 0)
        return rc;
    if (n == 0)
        return perr(p, ERR_INVAL, "a model needs at least one feature");
    d->ncols = n;
    for (unsigned c = 0; c < n; c++) {
        rc = expect(p, "f", d->kind == MODEL_KIND_GBDT ? 3 : 7);
        if (rc == 0)
            rc = uint_field(p, 1, "column", FEATURE_COUNT, &j);
        if (rc != 0)
            return rc;
        if (j != c)
            return perr(p, ERR_MALFORMED,
                "feature order: column %u listed where column %u belongs", j,
                c);
        if (feature_lookup(p->tok[2], &d->cols[c]) != 0)
            return perr(p, ERR_INVAL,
                "unknown feature '%.40s' (not in this build's registry)",
                p->tok[2]);
        if (seen[d->cols[c]])
            return perr(p, ERR_INVAL, "feature '%s' listed twice", p->tok[2]);
        seen[d->cols[c]] = true;
        if (d->kind == MODEL_KIND_GBDT)
            continue;
        if (feature_transform_parse(p->tok[3], &d->tf[c]) != 0)
            return perr(p, ERR_INVAL, "unknown transform '%.20s'", p->tok[3]);
        rc = num(p, 4, "mean", &d->mean[c]);
        if (rc == 0)
            rc = num(p, 5, "scale", &d->scale[c]);
        if (rc == 0)
            rc = num(p, 6, "weight", &d->weight[c]);
        if (rc != 0)
            return rc;
        if (!(d->scale[c] > 0))
            return perr(p, ERR_INVAL, "scale must be > 0");
    }
    return 0;
}

static int
parse_node(struct parser *p, uint32_t i, struct model_node *n)
{
    uint32_t v = 0;
    int rc;

    rc = next_line(p);
    if (rc == ERR_NOTFOUND) {
        p->lineno++;
        return perr(p, ERR_MALFORMED, "missing node %u", i);
    }
    if (rc != 0)
        return rc;
    if (p->ntok == 0 || p->line[0] == '#' ||
        (strcmp(p->tok[0], "n") != 0 && strcmp(p->tok[0], "l") != 0))
        return perr(p, ERR_MALFORMED, "expected node %u ('n' or 'l')", i);
    if (p->ntok != (p->tok[0][0] == 'n' ? 8u : 4u))
        return perr(p, ERR_MALFORMED, "an '%s' line takes %u fields", p->tok[0],
            p->tok[0][0] == 'n' ? 7u : 3u);
    rc = uint_field(p, 1, "node", MODEL_MAX_NODES, &v);
    if (rc != 0)
        return rc;
    if (v != i)
        return perr(
            p, ERR_MALFORMED, "node %u listed where node %u belongs", v, i);
    memset(n, 0, sizeof(*n));
    if (p->tok[0][0] == 'l') {
        n->col = -1;
        rc = num(p, 2, "value", &n->value);
        if (rc == 0)
            rc = num(p, 3, "cover", &n->cover);
        return rc;
    }
    rc = uint_field(p, 2, "column", p->def.ncols - 1, &v);
    if (rc != 0)
        return rc;
    n->col = (int32_t)v;
    rc = num(p, 3, "threshold", &n->thr);
    if (rc == 0)
        rc = uint_field(p, 4, "left", UINT32_MAX, &n->left);
    if (rc == 0)
        rc = uint_field(p, 5, "right", UINT32_MAX, &n->right);
    if (rc == 0)
        rc = num(p, 6, "value", &n->value);
    if (rc == 0)
        rc = num(p, 7, "cover", &n->cover);
    return rc;
}

static int
parse_trees(struct parser *p)
{
    struct model_def *d = &p->def;
    char msg[160];
    uint32_t t, m, bad;
    unsigned tree_line;
    int rc;

    rc = expect(p, "init", 2);
    if (rc == 0)
        rc = num(p, 1, "init", &d->init);
    if (rc == 0)
        rc = expect(p, "learning_rate", 2);
    if (rc == 0)
        rc = num(p, 1, "learning_rate", &d->learning_rate);
    if (rc != 0)
        return rc;
    if (!(d->learning_rate > 0 && d->learning_rate <= 1))
        return perr(p, ERR_INVAL, "learning_rate must be in (0, 1]");
    rc = expect(p, "trees", 2);
    if (rc == 0)
        rc = uint_field(p, 1, "trees", MODEL_MAX_TREES, &d->ntrees);
    if (rc != 0)
        return rc;
    if (d->ntrees == 0)
        return perr(p, ERR_INVAL, "a gbdt model needs at least one tree");
    p->tree_nodes = xcalloc(d->ntrees, sizeof(*p->tree_nodes));
    for (unsigned k = 0; k < d->ntrees; k++) {
        rc = expect(p, "tree", 3);
        if (rc == 0)
            rc = uint_field(p, 1, "tree", MODEL_MAX_TREES, &t);
        if (rc == 0)
            rc = uint_field(p, 2, "nodes", MODEL_MAX_NODES, &m);
        if (rc != 0)
            return rc;
        if (t != k)
            return perr(
                p, ERR_MALFORMED, "tree %u listed where tree %u belongs", t, k);
        if (m == 0)
            return perr(p, ERR_INVAL, "a tree needs at least one node");
        tree_line = p->lineno;
        if (p->nnodes + m > p->cap) {
            p->cap = (p->nnodes + m) * 2;
            p->nodes = xreallocarray(p->nodes, p->cap, sizeof(*p->nodes));
        }
        for (uint32_t i = 0; i < m; i++) {
            rc = parse_node(p, i, &p->nodes[p->nnodes + i]);
            if (rc != 0)
                return rc;
        }
        if (!tree_ok(
                p->nodes + p->nnodes, m, d->ncols, &bad, msg, sizeof(msg))) {
            p->lineno = tree_line + 1 + bad;
            return perr(p, ERR_MALFORMED, "tree %u node %u: %s", k, bad, msg);
        }
        p->tree_nodes[k] = m;
        p->nnodes += m;
    }
    d->tree_nodes = p->tree_nodes;
    d->nodes = p->nodes;
    return 0;
}

static int
parse_body(struct parser *p)
{
    struct model_def *d = &p->def;
    uint32_t review, block;
    int rc;

    rc = parse_header(p);
    if (rc != 0)
        return rc;
    /* Comments, then "kind". */
    for (;;) {
        rc = next_line(p);
        if (rc == ERR_NOTFOUND) {
            p->lineno++;
            return perr(p, ERR_MALFORMED, "missing 'kind' line");
        }
        if (rc != 0)
            return rc;
        if (p->line[0] != '#')
            break;
        if (d->ncomments == MODEL_MAX_COMMENTS)
            return perr(p, ERR_TOOBIG, "more than %d comment lines",
                MODEL_MAX_COMMENTS);
        p->comments[d->ncomments++] =
            xstrdup(p->line[1] == ' ' ? p->line + 2 : p->line + 1);
    }
    d->comments = (const char *const *)p->comments;
    if (strcmp(p->tok[0], "kind") != 0 || p->ntok != 2)
        return perr(p, ERR_MALFORMED, "expected 'kind gbdt' or 'kind logreg'");
    if (strcmp(p->tok[1], "gbdt") == 0)
        d->kind = MODEL_KIND_GBDT;
    else if (strcmp(p->tok[1], "logreg") == 0)
        d->kind = MODEL_KIND_LOGREG;
    else
        return perr(p, ERR_INVAL, "unknown model kind '%.20s'", p->tok[1]);
    rc = parse_columns(p);
    if (rc != 0)
        return rc;
    if (d->kind == MODEL_KIND_GBDT) {
        rc = parse_trees(p);
    } else {
        rc = expect(p, "intercept", 2);
        if (rc == 0)
            rc = num(p, 1, "intercept", &d->intercept);
    }
    if (rc == 0)
        rc = expect(p, "platt", 3);
    if (rc == 0)
        rc = num(p, 1, "platt a", &d->platt_a);
    if (rc == 0)
        rc = num(p, 2, "platt b", &d->platt_b);
    if (rc == 0)
        rc = expect(p, "thresholds", 3);
    if (rc == 0)
        rc = uint_field(p, 1, "review threshold", 100, &review);
    if (rc == 0)
        rc = uint_field(p, 2, "block threshold", 100, &block);
    if (rc != 0)
        return rc;
    if (review > block)
        return perr(p, ERR_INVAL, "review threshold above block threshold");
    d->review = review;
    d->block = block;
    rc = next_line(p);
    if (rc != ERR_NOTFOUND)
        return rc != 0 ?
            rc :
            perr(p, ERR_MALFORMED, "unexpected line after 'thresholds'");
    return 0;
}

/* Line number of the byte at `at`. */
static unsigned
line_of(const char *data, const char *at)
{
    unsigned n = 1;

    for (const char *c = data; c < at; c++)
        n += *c == '\n';
    return n;
}

/*
 * Find and check the sha256 line: it must be the last line. Sets
 * `*body_end` to its first byte.
 */
static int
check_sum(const char *data, size_t len, const char *name, uint8_t *sha,
    const char **body_end, char *err, size_t errlen)
{
    char hex[SHA_HEX + 1];
    const char *last;

    if (len < SHA_LINE_BYTES || data[len - 1] != '\n')
        return fail(err, errlen, ERR_CORRUPT,
            "%s: does not end with a complete 'sha256' line (truncated?)",
            name);
    last = data + len - SHA_LINE_BYTES;
    if ((last != data && last[-1] != '\n') || memcmp(last, "sha256 ", 7) != 0)
        return fail(err, errlen, ERR_CORRUPT,
            "%s line %u: the last line is not 'sha256 <64 hex digits>' "
            "(truncated?)",
            name, line_of(data, data + len - 1));
    sha_line((const uint8_t *)data, (size_t)(last - data), sha, hex);
    if (memcmp(hex, last + 7, SHA_HEX) != 0)
        return fail(err, errlen, ERR_CORRUPT,
            "%s line %u: checksum mismatch: the file was changed or damaged "
            "after it was written",
            name, line_of(data, last));
    *body_end = last;
    return 0;
}

int
model_parse(const char *data, size_t len, const char *name, struct model **out,
    char *err, size_t errlen)
{
    struct parser *p;
    struct model *m = NULL;
    uint8_t sha[crypto_hash_sha256_BYTES];
    const char *body_end = NULL;
    int rc;

    *out = NULL;
    if (len > MODEL_MAX_BYTES)
        return fail(err, errlen, ERR_TOOBIG, "%s: %zu bytes, more than %u",
            name, len, MODEL_MAX_BYTES);
    p = xcalloc(1, sizeof(*p));
    p->name = name;
    p->err = err;
    p->errlen = errlen;
    p->pos = data;
    /* The version first, so a newer file gets the clearest message. */
    p->end = memchr(data, '\n', len);
    p->end = p->end != NULL ? p->end + 1 : data + len;
    rc = parse_header(p);
    if (rc != 0)
        goto out;
    rc = check_sum(data, len, name, sha, &body_end, err, errlen);
    if (rc != 0)
        goto out;
    memset(p->def.id, 0, sizeof(p->def.id));
    p->pos = data;
    p->end = body_end;
    p->lineno = 0;
    rc = parse_body(p);
    if (rc != 0)
        goto out;
    rc = build(&p->def, &m, err, errlen);
    if (rc != 0)
        goto out;
    memcpy(m->sha, sha, sizeof(sha));
    set_version(m);
    *out = m;
out:
    for (unsigned i = 0; i < p->def.ncomments; i++)
        free(p->comments[i]);
    free(p->nodes);
    free(p->tree_nodes);
    free(p);
    return rc;
}

int
model_load(const char *path, struct model **out, char *err, size_t errlen)
{
    struct stat st;
    char *data = NULL;
    size_t got = 0;
    int fd, rc;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
            "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(err, errlen, ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > MODEL_MAX_BYTES) {
        rc = fail(err, errlen, ERR_TOOBIG, "%s: %lld bytes, more than %u", path,
            (long long)st.st_size, MODEL_MAX_BYTES);
        goto out;
    }
    /* One byte more than the size, to notice a file that grew. */
    data = xmalloc((size_t)st.st_size + 1);
    while (got <= (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail(
                err, errlen, ERR_IO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > (size_t)st.st_size) {
        rc = fail(err, errlen, ERR_IO, "%s: changed while being read", path);
        goto out;
    }
    rc = model_parse(data, got, path, out, err, errlen);
out:
    free(data);
    close(fd);
    return rc;
}

int
model_save(const struct model *m, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    struct buf b;
    size_t off = 0;
    int fd, rc;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return fail(err, errlen, ERR_IO, "%s: path too long", path);
    buf_init(&b, MODEL_MAX_BYTES);
    rc = model_format(m, &b);
    if (rc != 0) {
        buf_release(&b);
        return fail(err, errlen, ERR_IO, "%s: model text too big", path);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail(
            err, errlen, ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < b.len) {
        ssize_t n = write(fd, b.data + off, b.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = fail(
                err, errlen, ERR_IO, "%s: write: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = fail(err, errlen, ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = fail(err, errlen, ERR_IO, "%s: rename: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    buf_release(&b);
    return rc;
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

    if (fi == NULL) {
        snprintf(out, outlen, "unknown feature");
        return;
    }
    if (strcmp(fi->unit, "s") == 0 || strcmp(fi->unit, "d") == 0)
        unit = fi->unit;
    snprintf(out, outlen, "%s = %g%s%s %s the fraud log-odds by %.2f", fi->name,
        r->value, unit[0] != '\0' ? " " : "", unit,
        r->contribution >= 0 ? "raised" : "lowered", fabs(r->contribution));
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
