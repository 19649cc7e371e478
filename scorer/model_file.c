/*
 * model_file.c - the model file: strict parser, loader, writer
 *
 * model_parse() checks the header's version, then the SHA-256 line, then
 * reads the lines in the one order model.h specifies, checking each
 * field as it goes so that an error names its line. Everything it read
 * goes through model_build_def(), the validator model_build() uses too.
 * model_format() writes the same text back, checksum last.
 *
 * See also: model.h (the format), model.c, model_int.h
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

/* What one buf_printf() of the writer may add: a line of at most
 * MODEL_MAX_LINE bytes and its newline. */
#define OUT_LINE_MAX (MODEL_MAX_LINE + 2)

/* ----------------------------------------------------------- writing */

/* Append the text of m without its checksum line. */
int
model_format_body(const struct model *m, struct buf *b)
{
    const struct model_def *d = &m->def;
    char a[NUM_TEXT_MAX], c[NUM_TEXT_MAX], e[NUM_TEXT_MAX], f[NUM_TEXT_MAX];
    int rc;

    rc = buf_printf(b, OUT_LINE_MAX, "%s %d %s\n", HEADER_MAGIC,
        MODEL_FORMAT_VERSION, d->id);
    for (unsigned i = 0; rc == 0 && i < d->ncomments; i++)
        rc = buf_printf(b, OUT_LINE_MAX, "# %s\n", m->comments[i]);
    if (rc == 0)
        rc = buf_printf(b, OUT_LINE_MAX, "kind %s\nfeatures %u\n",
            d->kind == MODEL_KIND_GBDT ? "gbdt" : "logreg", d->ncols);
    for (unsigned j = 0; rc == 0 && j < d->ncols; j++) {
        const char *name = feature_table[d->cols[j]].name;

        if (d->kind == MODEL_KIND_GBDT) {
            rc = buf_printf(b, OUT_LINE_MAX, "f %u %s\n", j, name);
            continue;
        }
        model_fmt_double(a, d->mean[j]);
        model_fmt_double(c, d->scale[j]);
        model_fmt_double(e, d->weight[j]);
        rc = buf_printf(b, OUT_LINE_MAX, "f %u %s %s %s %s %s\n", j, name,
            feature_transform_name(d->tf[j]), a, c, e);
    }
    if (rc == 0 && d->kind == MODEL_KIND_GBDT) {
        model_fmt_double(a, d->init);
        model_fmt_double(c, d->learning_rate);
        rc = buf_printf(b, OUT_LINE_MAX,
            "init %s\nlearning_rate %s\ntrees %u\n", a, c, d->ntrees);
        for (unsigned t = 0; rc == 0 && t < d->ntrees; t++) {
            const struct model_node *nd = m->nodes + m->tree_start[t];

            rc = buf_printf(
                b, OUT_LINE_MAX, "tree %u %u\n", t, m->tree_nodes[t]);
            for (uint32_t i = 0; rc == 0 && i < m->tree_nodes[t]; i++) {
                model_fmt_double(c, nd[i].value);
                model_fmt_double(e, nd[i].cover);
                if (nd[i].col < 0) {
                    rc = buf_printf(b, OUT_LINE_MAX, "l %u %s %s\n", i, c, e);
                    continue;
                }
                model_fmt_double(f, nd[i].thr);
                rc = buf_printf(b, OUT_LINE_MAX, "n %u %d %s %u %u %s %s\n", i,
                    (int)nd[i].col, f, nd[i].left, nd[i].right, c, e);
            }
        }
    } else if (rc == 0) {
        model_fmt_double(a, d->intercept);
        rc = buf_printf(b, OUT_LINE_MAX, "intercept %s\n", a);
    }
    if (rc == 0) {
        model_fmt_double(a, d->platt_a);
        model_fmt_double(c, d->platt_b);
        rc = buf_printf(b, OUT_LINE_MAX, "platt %s %s\nthresholds %u %u\n", a,
            c, d->review, d->block);
    }
    return rc;
}

void
model_sha_line(const uint8_t *data, size_t len,
    uint8_t sha[crypto_hash_sha256_BYTES], char hex[SHA_HEX + 1])
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

    rc = model_format_body(m, out);
    if (rc == 0) {
        model_sha_line(out->data + start, out->len - start, sha, hex);
        rc = buf_printf(out, OUT_LINE_MAX, "sha256 %s\n", hex);
    }
    if (rc != 0)
        buf_truncate(out, start);
    return rc;
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
    return model_fail(
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
    if (!model_parse_double(p->tok[i], out))
        return perr(p, ERR_INVAL, "%s: not a finite decimal number", what);
    return 0;
}

static int
uint_field(
    struct parser *p, unsigned i, const char *what, uint32_t max, uint32_t *out)
{
    if (!model_parse_u32(p->tok[i], max, out))
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
    if (!model_parse_u32(p->tok[1], UINT32_MAX, &v) ||
        v != MODEL_FORMAT_VERSION)
        return perr(p, ERR_INVAL,
            "unsupported format version '%.12s' (this build reads %d)",
            p->tok[1], MODEL_FORMAT_VERSION);
    if (!model_id_ok(p->tok[2]))
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
        if (!model_tree_ok(
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
        return model_fail(err, errlen, ERR_CORRUPT,
            "%s: does not end with a complete 'sha256' line (truncated?)",
            name);
    last = data + len - SHA_LINE_BYTES;
    if ((last != data && last[-1] != '\n') || memcmp(last, "sha256 ", 7) != 0)
        return model_fail(err, errlen, ERR_CORRUPT,
            "%s line %u: the last line is not 'sha256 <64 hex digits>' "
            "(truncated?)",
            name, line_of(data, data + len - 1));
    model_sha_line((const uint8_t *)data, (size_t)(last - data), sha, hex);
    if (memcmp(hex, last + 7, SHA_HEX) != 0)
        return model_fail(err, errlen, ERR_CORRUPT,
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
        return model_fail(err, errlen, ERR_TOOBIG,
            "%s: %zu bytes, more than %u", name, len, MODEL_MAX_BYTES);
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
    rc = model_build_def(&p->def, &m, err, errlen);
    if (rc != 0)
        goto out;
    memcpy(m->sha, sha, sizeof(sha));
    model_set_version(m);
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
        return model_fail(err, errlen, errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
            "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = model_fail(err, errlen, ERR_IO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > MODEL_MAX_BYTES) {
        rc = model_fail(err, errlen, ERR_TOOBIG, "%s: %lld bytes, more than %u",
            path, (long long)st.st_size, MODEL_MAX_BYTES);
        goto out;
    }
    /* One byte more than the size, to notice a file that grew. */
    data = xmalloc((size_t)st.st_size + 1);
    while (got <= (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size + 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = model_fail(
                err, errlen, ERR_IO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > (size_t)st.st_size) {
        rc = model_fail(
            err, errlen, ERR_IO, "%s: changed while being read", path);
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
        return model_fail(err, errlen, ERR_IO, "%s: path too long", path);
    buf_init(&b, MODEL_MAX_BYTES);
    rc = model_format(m, &b);
    if (rc != 0) {
        buf_release(&b);
        return model_fail(err, errlen, ERR_IO, "%s: model text too big", path);
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = model_fail(
            err, errlen, ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < b.len) {
        ssize_t n = write(fd, b.data + off, b.len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = model_fail(
                err, errlen, ERR_IO, "%s: write: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = model_fail(
            err, errlen, ERR_IO, "%s: fsync: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        rc = model_fail(
            err, errlen, ERR_IO, "%s: rename: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    buf_release(&b);
    return rc;
}
