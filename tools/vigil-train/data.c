/*
 * data.c - vigil-train's training CSV: header check and strict rows
 *
 * The header names the columns: registry feature names (features.h),
 * "label" (required), "weight" and "split" (optional), each once, in any
 * order. Rows must have every field: a finite decimal per feature, label
 * 0 or 1, weight finite and >= 0, split "train" or "eval". The data grow
 * by doubling; a row count cap bounds memory.
 *
 * Invariants:
 *  - a loaded dataset has n >= 1 and every value checked as above.
 *
 * See also: train.h, tools/vigil-train.1 "INPUT"
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/gzlines.h"
#include "common/xmalloc.h"
#include "tools/vigil-train/train.h"

#define MAX_FIELDS (FEATURE_COUNT + 3)

/* What each CSV field is. */
enum field_kind { FK_FEATURE, FK_LABEL, FK_WEIGHT, FK_SPLIT };

struct layout {
    unsigned nfields;
    enum field_kind kind[MAX_FIELDS];
    unsigned col[MAX_FIELDS]; /* FK_FEATURE: the dataset column */
};

static bool
parse_num(const char *s, double *out)
{
    char *end;

    if (*s == '\0')
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno == 0 && isfinite(*out);
}

static int
read_header(struct gzlines *l, struct dataset *ds, struct layout *lay,
    char *err, size_t errlen)
{
    char *line, *f[MAX_FIELDS + 1];
    bool have[3] = { false, false, false };
    size_t len;
    int n, rc;

    rc = gzlines_next(l, &line, &len);
    if (rc == ERR_NOTFOUND) {
        snprintf(err, errlen, "the file is empty (no header)");
        return ERR_MALFORMED;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s", gzlines_error(l));
        return rc;
    }
    n = gzlines_split(line, ',', f, MAX_FIELDS);
    if (n < 0) {
        snprintf(err, errlen,
            "line 1: the header has more than %d columns "
            "or a double quote",
            MAX_FIELDS);
        return ERR_MALFORMED;
    }
    lay->nfields = (unsigned)n;
    for (int i = 0; i < n; i++) {
        static const char *const special[] = { "label", "weight", "split" };
        enum feature_id id;
        bool found = false;

        for (int k = 0; k < 3; k++) {
            if (strcmp(f[i], special[k]) != 0)
                continue;
            if (have[k]) {
                snprintf(err, errlen, "line 1: column '%s' twice", f[i]);
                return ERR_MALFORMED;
            }
            have[k] = true;
            lay->kind[i] = (enum field_kind)(FK_LABEL + k);
            found = true;
        }
        if (found)
            continue;
        if (feature_lookup(f[i], &id) != 0) {
            snprintf(err, errlen,
                "line 1: column '%.40s' is not a feature of the registry "
                "(scorer/features.h) nor label, weight or split",
                f[i]);
            return ERR_INVAL;
        }
        if (dataset_col(ds, id) >= 0) {
            snprintf(err, errlen, "line 1: column '%s' twice", f[i]);
            return ERR_MALFORMED;
        }
        lay->kind[i] = FK_FEATURE;
        lay->col[i] = ds->ncols;
        ds->cols[ds->ncols++] = id;
    }
    if (!have[0]) {
        snprintf(err, errlen, "line 1: no 'label' column");
        return ERR_MALFORMED;
    }
    if (ds->ncols == 0) {
        snprintf(err, errlen, "line 1: no feature column");
        return ERR_MALFORMED;
    }
    ds->has_weight = have[1];
    return 0;
}

/* Grow the arrays to hold `cap` rows, keeping the first n. */
static void
grow(struct dataset *ds, double **xcols, size_t cap)
{
    for (unsigned j = 0; j < ds->ncols; j++)
        xcols[j] = xreallocarray(xcols[j], cap, sizeof(double));
    ds->y = xreallocarray(ds->y, cap, 1);
    ds->w = xreallocarray(ds->w, cap, sizeof(double));
    ds->eval = xreallocarray(ds->eval, cap, 1);
}

static int
read_row(char *line, const struct layout *lay, struct dataset *ds,
    double **xcols, uint64_t lineno, char *err, size_t errlen)
{
    char *f[MAX_FIELDS + 1];
    size_t i = ds->n;
    double v;
    int n;

    n = gzlines_split(line, ',', f, MAX_FIELDS + 1);
    if (n != (int)lay->nfields) {
        snprintf(err, errlen, "line %llu: %d fields, the header has %u",
            (unsigned long long)lineno, n, lay->nfields);
        return ERR_MALFORMED;
    }
    ds->w[i] = 1;
    ds->eval[i] = 0;
    for (unsigned k = 0; k < lay->nfields; k++) {
        switch (lay->kind[k]) {
        case FK_FEATURE:
            if (!parse_num(f[k], &v)) {
                snprintf(err, errlen,
                    "line %llu: column %u: not a finite number",
                    (unsigned long long)lineno, k + 1);
                return ERR_INVAL;
            }
            xcols[lay->col[k]][i] = v;
            break;
        case FK_LABEL:
            if (strcmp(f[k], "0") != 0 && strcmp(f[k], "1") != 0) {
                snprintf(err, errlen, "line %llu: label must be 0 or 1",
                    (unsigned long long)lineno);
                return ERR_INVAL;
            }
            ds->y[i] = (uint8_t)(f[k][0] - '0');
            break;
        case FK_WEIGHT:
            if (!parse_num(f[k], &v) || v < 0) {
                snprintf(err, errlen,
                    "line %llu: weight must be a finite number >= 0",
                    (unsigned long long)lineno);
                return ERR_INVAL;
            }
            ds->w[i] = v;
            break;
        case FK_SPLIT:
            if (strcmp(f[k], "train") == 0) {
                ds->eval[i] = 0;
            } else if (strcmp(f[k], "eval") == 0) {
                ds->eval[i] = 1;
            } else {
                snprintf(err, errlen,
                    "line %llu: split must be 'train' or 'eval'",
                    (unsigned long long)lineno);
                return ERR_INVAL;
            }
            break;
        }
    }
    ds->n++;
    return 0;
}

int
dataset_load(const char *path, size_t max_rows, struct dataset *ds, char *err,
    size_t errlen)
{
    struct gzlines *l;
    struct layout lay;
    double *xcols[FEATURE_COUNT] = { NULL };
    char msg[256], *line;
    size_t cap = 0, len;
    bool own_path = false; /* gzlines' messages name the file already */
    int rc;

    memset(ds, 0, sizeof(*ds));
    rc = gzlines_open(path, TRAIN_MAX_LINE, &l, err, errlen);
    if (rc != 0)
        return rc;
    rc = read_header(l, ds, &lay, msg, sizeof(msg));
    while (rc == 0) {
        rc = gzlines_next(l, &line, &len);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0) {
            snprintf(msg, sizeof(msg), "%s", gzlines_error(l));
            own_path = true;
            break;
        }
        if (ds->n == max_rows) {
            snprintf(msg, sizeof(msg), "more than %zu rows", max_rows);
            rc = ERR_TOOBIG;
            break;
        }
        if (ds->n == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            grow(ds, xcols, cap);
        }
        rc = read_row(
            line, &lay, ds, xcols, gzlines_lineno(l), msg, sizeof(msg));
    }
    gzlines_close(l);
    if (rc == 0 && ds->n == 0) {
        snprintf(msg, sizeof(msg), "no data rows");
        rc = ERR_MALFORMED;
    }
    if (rc == 0) {
        /* One column-major block. */
        ds->x = xcalloc(ds->n * ds->ncols, sizeof(double));
        for (unsigned j = 0; j < ds->ncols && xcols[j] != NULL; j++)
            memcpy(ds->x + j * ds->n, xcols[j], ds->n * sizeof(double));
    }
    for (unsigned j = 0; j < ds->ncols; j++)
        free(xcols[j]);
    if (rc != 0) {
        if (own_path)
            snprintf(err, errlen, "%s", msg);
        else
            snprintf(err, errlen, "%s: %s", path, msg);
        dataset_release(ds);
    }
    return rc;
}

void
dataset_release(struct dataset *ds)
{
    free(ds->x);
    free(ds->y);
    free(ds->w);
    free(ds->eval);
    memset(ds, 0, sizeof(*ds));
}

int
dataset_col(const struct dataset *ds, enum feature_id f)
{
    for (unsigned j = 0; j < ds->ncols; j++) {
        if (ds->cols[j] == f)
            return (int)j;
    }
    return -1;
}
