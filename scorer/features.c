/*
 * features.c - the feature registry's table, lookups and transforms
 *
 * The table is generated from FEATURE_LIST in features.h, so the enum
 * and the rows cannot drift apart. Lookups by name are a linear scan
 * (about a hundred rows): they run when a model file is loaded, never
 * per order.
 *
 * Invariants:
 *  - feature_table[i].id == i (checked by tests/unit/test_model.c).
 *
 * See also: features.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "common/err.h"
#include "scorer/features.h"

#define FEATURE_ROW(fid, fname, funit, tf, fflags, fdef)                       \
    [(fid)] = { .id = (fid),                                                   \
        .name = (fname),                                                       \
        .unit = (funit),                                                       \
        .lr_transform = (tf),                                                  \
        .flags = (fflags),                                                     \
        .def = (fdef) },

const struct feature_info feature_table[FEATURE_COUNT] = { FEATURE_LIST(
    FEATURE_ROW) };

#undef FEATURE_ROW

/* Used by the transforms: the gap of "never", and the logit clamp. */
#define GAP_NONE_S  1e8
#define LOGIT_CLAMP 1e-4

static const char *const transform_names[FEATURE_TF_COUNT] = {
    [FEATURE_TF_NONE] = "none",
    [FEATURE_TF_LOG1P] = "log1p",
    [FEATURE_TF_GAPLOG] = "gaplog",
    [FEATURE_TF_LOGIT] = "logit",
    [FEATURE_TF_DECAY30] = "decay30",
};

const struct feature_info *
feature_info(enum feature_id id)
{
    if ((unsigned)id >= FEATURE_COUNT)
        return NULL;
    return &feature_table[id];
}

int
feature_lookup(const char *name, enum feature_id *id)
{
    for (unsigned i = 0; i < FEATURE_COUNT; i++) {
        if (strcmp(feature_table[i].name, name) == 0) {
            *id = (enum feature_id)i;
            return 0;
        }
    }
    return ERR_NOTFOUND;
}

const char *
feature_transform_name(enum feature_transform tf)
{
    if ((unsigned)tf >= FEATURE_TF_COUNT)
        return "";
    return transform_names[tf];
}

int
feature_transform_parse(const char *name, enum feature_transform *tf)
{
    for (unsigned i = 0; i < FEATURE_TF_COUNT; i++) {
        if (strcmp(transform_names[i], name) == 0) {
            *tf = (enum feature_transform)i;
            return 0;
        }
    }
    return ERR_NOTFOUND;
}

double
feature_transform_apply(enum feature_transform tf, double x)
{
    switch (tf) {
    case FEATURE_TF_LOG1P:
        return log1p(x > 0 ? x : 0);
    case FEATURE_TF_GAPLOG:
        return log1p(x < 0 ? GAP_NONE_S : x);
    case FEATURE_TF_LOGIT:
        if (x < LOGIT_CLAMP)
            x = LOGIT_CLAMP;
        if (x > 1 - LOGIT_CLAMP)
            x = 1 - LOGIT_CLAMP;
        return log(x / (1 - x));
    case FEATURE_TF_DECAY30:
        return x < 0 ? 0 : exp(-x / 30.0);
    case FEATURE_TF_NONE:
    case FEATURE_TF_COUNT:
        break;
    }
    return x;
}

void
feature_vec_init(struct feature_vec *v)
{
    /* The prior rate with no label at all: (0 + 1) / (0 + 20). */
    const double prior = 1.0 / 20.0;

    for (unsigned i = 0; i < FEATURE_COUNT; i++) {
        const char *unit = feature_table[i].unit;

        if (strcmp(unit, "s") == 0 || strcmp(unit, "d") == 0)
            v->v[i] = FEATURE_MISSING_GAP;
        else
            v->v[i] = 0;
    }
    v->v[FEAT_S2O_SEC] = FEATURE_MISSING_SIGNUP;
    v->v[FEAT_S2O_LOG] = log1p(FEATURE_MISSING_SIGNUP);
    v->v[FEAT_S2O_BUCKET] = 6;
    v->v[FEAT_AMT_RATIO] = 1;
    v->v[FEAT_CTY_RATE] = prior;
    v->v[FEAT_GLOB_RATE] = prior;
    v->v[FEAT_BROWSER_OTHER] = 1;
}
