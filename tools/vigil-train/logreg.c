/*
 * logreg.c - L2-regularized logistic regression and Platt scaling, by
 *            Newton's method
 *
 * The objective is scikit-learn's LogisticRegression(penalty="l2", C):
 * sum_i w_i logloss_i + |beta|^2 / (2 C), the intercept unpenalized, on
 * inputs transformed (features.h transforms) and standardized with the
 * training rows' mean and population std (StandardScaler; a constant
 * column keeps scale 1). Newton steps with a backtracking line search
 * solve it to machine precision in about ten iterations; each costs
 * n p^2 / 2 multiply-adds for p columns (the Hessian), so even the
 * ~100-column feature set fits in about a second.
 *
 * Invariants:
 *  - the objective never increases from one iteration to the next.
 *
 * See also: train.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "tools/vigil-train/train.h"

#define MAX_ITER   100
#define STEP_TOL   1e-12
#define PLATT_C    1e6
#define MAX_PARAMS (FEATURE_COUNT + 1)

/* log(1 + exp(z)) without overflow. */
static double
log1pexp(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

static double
sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/*
 * Solve H x = g in place (g becomes x) for the symmetric positive
 * definite H (m x m, row-major; overwritten by its Cholesky factor).
 * Returns false if H is not positive definite.
 */
static bool
cholesky_solve(double *H, double *g, unsigned m)
{
    for (unsigned j = 0; j < m; j++) {
        double d = H[j * m + j];

        for (unsigned k = 0; k < j; k++)
            d -= H[j * m + k] * H[j * m + k];
        if (!(d > 0))
            return false;
        d = sqrt(d);
        H[j * m + j] = d;
        for (unsigned i = j + 1; i < m; i++) {
            double s = H[i * m + j];

            for (unsigned k = 0; k < j; k++)
                s -= H[i * m + k] * H[j * m + k];
            H[i * m + j] = s / d;
        }
    }
    for (unsigned i = 0; i < m; i++) {
        double s = g[i];

        for (unsigned k = 0; k < i; k++)
            s -= H[i * m + k] * g[k];
        g[i] = s / H[i * m + i];
    }
    for (unsigned i = m; i-- > 0;) {
        double s = g[i];

        for (unsigned k = i + 1; k < m; k++)
            s -= H[k * m + i] * g[k];
        g[i] = s / H[i * m + i];
    }
    return true;
}

/* The objective at beta (see newton()). */
static double
objective(const double *X, const uint8_t *y, const double *w, const uint8_t *in,
    size_t n, unsigned p, const double *pen, const double *beta)
{
    double f = 0;

    for (unsigned j = 0; j < p; j++)
        f += 0.5 * pen[j] * beta[j] * beta[j];
    for (size_t i = 0; i < n; i++) {
        double z = beta[p];

        if (!in[i])
            continue;
        for (unsigned j = 0; j < p; j++)
            z += beta[j] * X[i * p + j];
        f += (w != NULL ? w[i] : 1.0) * (log1pexp(z) - y[i] * z);
    }
    return f;
}

/*
 * The common Newton solver. X is n x p row-major (rows not in `in` are
 * ignored); beta has p + 1 entries, the last the intercept; pen[j] is
 * the L2 penalty 1/C of coefficient j. Returns the iterations used.
 */
static unsigned
newton(const double *X, const uint8_t *y, const double *w, const uint8_t *in,
    size_t n, unsigned p, const double *pen, double *beta)
{
    unsigned m = p + 1, it;
    double *H = xcalloc((size_t)m * m, sizeof(*H));
    double *g = xcalloc(m, sizeof(*g));
    double *trial = xcalloc(m, sizeof(*trial));
    double f = objective(X, y, w, in, n, p, pen, beta);

    for (it = 0; it < MAX_ITER; it++) {
        double step = 1, fnew, maxd = 0;

        memset(H, 0, (size_t)m * m * sizeof(*H));
        for (unsigned j = 0; j < p; j++) {
            g[j] = pen[j] * beta[j];
            H[j * m + j] = pen[j];
        }
        g[p] = 0;
        for (size_t i = 0; i < n; i++) {
            const double *x = X + i * p;
            double zi = beta[p], pi, wi, gi, hi;

            if (!in[i])
                continue;
            for (unsigned j = 0; j < p; j++)
                zi += beta[j] * x[j];
            pi = sigmoid(zi);
            wi = w != NULL ? w[i] : 1.0;
            gi = wi * (pi - y[i]);
            hi = wi * pi * (1 - pi);
            for (unsigned j = 0; j < p; j++) {
                double hx = hi * x[j];

                g[j] += gi * x[j];
                for (unsigned k = 0; k <= j; k++)
                    H[j * m + k] += hx * x[k];
                H[p * m + j] += hx;
            }
            g[p] += gi;
            H[p * m + p] += hi;
        }
        /* Mirror the lower triangle (the intercept row is below). */
        for (unsigned j = 0; j < m; j++)
            for (unsigned k = j + 1; k < m; k++)
                H[j * m + k] = H[k * m + j];
        if (!cholesky_solve(H, g, m))
            break;
        for (;;) {
            for (unsigned j = 0; j < m; j++)
                trial[j] = beta[j] - step * g[j];
            fnew = objective(X, y, w, in, n, p, pen, trial);
            if (fnew <= f || step < 1e-10)
                break;
            step /= 2;
        }
        if (!(fnew <= f))
            break;
        for (unsigned j = 0; j < m; j++) {
            maxd = fmax(maxd, fabs(trial[j] - beta[j]));
            beta[j] = trial[j];
        }
        f = fnew;
        if (maxd < STEP_TOL * (1 + fabs(beta[p])))
            break;
    }
    free(H);
    free(g);
    free(trial);
    return it + 1;
}

void
logreg_train(const struct dataset *ds, const unsigned *cols,
    const enum feature_transform *tf, unsigned ncols, const uint8_t *in,
    double C, struct lr_fit *out)
{
    size_t n = ds->n;
    double *X = xcalloc(n * ncols, sizeof(*X));
    double pen[FEATURE_COUNT] = { 0 }, beta[MAX_PARAMS] = { 0 };

    memset(out, 0, sizeof(*out));
    out->ncols = ncols;
    for (unsigned j = 0; j < ncols; j++) {
        const double *x = ds->x + (size_t)cols[j] * n;
        double sw = 0, s = 0, ss = 0, mean, var;

        for (size_t i = 0; i < n; i++) {
            double v = feature_transform_apply(tf[j], x[i]);

            X[i * ncols + j] = v;
            if (in[i]) {
                sw += ds->w[i];
                s += ds->w[i] * v;
            }
        }
        mean = sw > 0 ? s / sw : 0;
        for (size_t i = 0; i < n; i++) {
            double d = X[i * ncols + j] - mean;

            if (in[i])
                ss += ds->w[i] * d * d;
        }
        var = sw > 0 ? ss / sw : 0;
        out->mean[j] = mean;
        /* StandardScaler keeps scale 1 for a (nearly) constant column. */
        out->scale[j] = var > 1e-24 ? sqrt(var) : 1.0;
        for (size_t i = 0; i < n; i++)
            X[i * ncols + j] = (X[i * ncols + j] - mean) / out->scale[j];
        pen[j] = 1.0 / C;
    }
    out->iterations = newton(
        X, ds->y, ds->has_weight ? ds->w : NULL, in, n, ncols, pen, beta);
    for (unsigned j = 0; j < ncols; j++)
        out->weight[j] = beta[j];
    out->intercept = beta[ncols];
    free(X);
}

void
platt_train(const double *raw, const uint8_t *y, const double *w,
    const uint8_t *in, size_t n, double *a, double *b)
{
    double pen[1] = { 1.0 / PLATT_C }, beta[2] = { 0, 0 };

    newton(raw, y, w, in, n, 1, pen, beta);
    *a = beta[0];
    *b = beta[1];
}
