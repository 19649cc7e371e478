/*
 * modelsvc.c - the fraud model in the running scorer (modelsvc.h)
 *
 * See also: modelsvc.h, model.h, score.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "scorer/features.h"
#include "scorer/history.h"
#include "scorer/model.h"
#include "scorer/modelsvc.h"
#include "scorer/scorer.h"

#ifndef VIGIL_MODEL_DEFAULT
#define VIGIL_MODEL_DEFAULT "/usr/share/vigil/models/default.vgm"
#endif
#ifndef VIGIL_MODEL_SOURCE
#define VIGIL_MODEL_SOURCE ""
#endif

/* The scorer's model state (struct scorer's msvc; owned by it). */
struct modelsvc {
    bool none;              /* model_file=none: rules only */
    struct model_slot slot; /* path owned by the slot */
    FILE *flog;             /* features_log, or NULL */
    unsigned groups;        /* HISTORY_MG_* the current model needs */
    bool flog_dirty;
};

/*
 * The file `model_file` names: itself; for "" the installed default,
 * else the source tree's (a build run in place); NULL for "none".
 */
static const char *
model_path(const char *key)
{
    if (strcmp(key, "none") == 0)
        return NULL;
    if (key[0] != '\0')
        return key;
    if (VIGIL_MODEL_SOURCE[0] != '\0' && access(VIGIL_MODEL_DEFAULT, R_OK) != 0)
        return VIGIL_MODEL_SOURCE;
    return VIGIL_MODEL_DEFAULT;
}

/* A model whose every column the service computes; else ERR_INVAL. */
static int
model_check(const struct model *m, char *err, size_t errlen)
{
    unsigned j;

    for (j = 0; j < model_ncols(m); j++) {
        enum feature_id id = model_col(m, j);

        if (!history_model_computed(id)) {
            snprintf(err, errlen,
                "model %s uses feature '%s', which the scorer does not "
                "compute",
                model_version(m), feature_info(id)->name);
            return ERR_INVAL;
        }
    }
    return 0;
}

/* Load the slot's file, check it, and make it current; else keep the
 * previous model. */
static int
load(struct modelsvc *ms, char *err, size_t errlen)
{
    struct model_slot tmp;
    int rc;

    model_slot_init(&tmp, ms->slot.path);
    rc = model_slot_load(&tmp, err, errlen);
    if (rc == 0)
        rc = model_check(model_slot_get(&tmp), err, errlen);
    if (rc != 0) {
        model_slot_release(&tmp);
        ms->slot.failures++;
        return rc;
    }
    model_free(ms->slot.cur);
    ms->slot.cur = tmp.cur;
    {
        enum feature_id cols[FEATURE_COUNT];
        unsigned j, n = model_ncols(tmp.cur);

        for (j = 0; j < n; j++)
            cols[j] = model_col(tmp.cur, j);
        ms->groups = history_model_groups(cols, n);
    }
    tmp.cur = NULL;
    ms->slot.loads++;
    model_slot_release(&tmp);
    return 0;
}

/* Print `t` as one CSV field: ',' and control bytes become '_'. */
static void
flog_field(FILE *f, const char *t)
{
    for (; *t != '\0'; t++)
        fputc(*t == ',' || (unsigned char)*t < 0x20 ? '_' : *t, f);
}

static void
flog_header(FILE *f)
{
    unsigned i;

    fputs("# o,store,order,ts_ms,model,score", f);
    for (i = 0; i < FEATURE_COUNT; i++)
        if (history_model_computed((enum feature_id)i))
            fprintf(f, ",%s", feature_info((enum feature_id)i)->name);
    fputs("\n# l,store,order,ts_ms,source,fraud\n", f);
}

int
modelsvc_start(struct scorer *s, char *err, size_t errlen)
{
    struct modelsvc *ms = xcalloc(1, sizeof(*ms));
    const char *path = model_path(s->cfg.model_file);
    int rc;

    s->msvc = ms;
    s->model_version = NULL;
    ms->none = path == NULL;
    if (!ms->none) {
        model_slot_init(&ms->slot, path);
        rc = load(ms, err, errlen);
        if (rc != 0)
            return rc;
        s->model_version = model_version(model_slot_get(&ms->slot));
        log_info("model %s loaded from %s", s->model_version, path);
    } else {
        log_info("model_file=none: orders are scored by the rule set alone");
    }
    if (s->cfg.features_log[0] != '\0') {
        long end;

        ms->flog = fopen(s->cfg.features_log, "a");
        if (ms->flog == NULL) {
            snprintf(err, errlen, "features_log %s: %s", s->cfg.features_log,
                strerror(errno));
            return ERR_IO;
        }
        end = ftell(ms->flog);
        if (end == 0)
            flog_header(ms->flog);
    }
    return 0;
}

void
modelsvc_reload(struct scorer *s)
{
    struct modelsvc *ms = s->msvc;
    const char *path = model_path(s->cfg.model_file);
    char err[MODEL_ERR_MAX + 128];

    if (ms == NULL)
        return;
    if (path == NULL) {
        if (!ms->none) {
            log_info("SIGHUP: model_file=none: the rule set alone from now");
            model_slot_release(&ms->slot);
        }
        ms->none = true;
        s->model_version = NULL;
        return;
    }
    if (ms->none) {
        model_slot_init(&ms->slot, path);
        ms->none = false;
    } else if (strcmp(ms->slot.path, path) != 0) {
        free(ms->slot.path);
        ms->slot.path = xstrdup(path);
    }
    if (load(ms, err, sizeof(err)) != 0) {
        log_warnx("SIGHUP: model refused, %s stays in use: %s",
            ms->slot.cur != NULL ? model_version(ms->slot.cur) : "the rule set",
            err);
        return;
    }
    s->model_version = model_version(model_slot_get(&ms->slot));
    log_info("SIGHUP: model %s loaded from %s", s->model_version, path);
}

int
modelsvc_score(struct scorer *s, const char *actor, const struct event *ev,
    const struct features *f, bool log, struct reply *r)
{
    struct modelsvc *ms = s->msvc;
    const struct model *m =
        ms != NULL && !ms->none ? model_slot_get(&ms->slot) : NULL;
    struct feature_vec x;
    char hex[2 * PSEUDO_BYTES + 1];
    unsigned i;
    int rc;

    if (m == NULL && (ms == NULL || ms->flog == NULL || !log)) {
        score_compute(ev, f, &s->params, r);
        score_lists(f, &s->params, r);
        return 0;
    }
    rc = history_model_features(s->hist, s->otxn, actor, ev,
        log || m == NULL ? HISTORY_MG_ALL : ms->groups, &x);
    if (rc != 0)
        return rc;
    if (m != NULL)
        score_model(m, ev, f, &x, &s->params, r);
    else
        score_compute(ev, f, &s->params, r);
    score_lists(f, &s->params, r);
    if (!log || ms->flog == NULL)
        return 0;
    pseudo_hex(&ev->order, hex);
    fputs("o,", ms->flog);
    flog_field(ms->flog, actor);
    fprintf(ms->flog, ",%s,%llu,%s,%u", (ev->has & EVENT_HAS_ORDER) ? hex : "",
        (unsigned long long)ev->ts, r->model[0] != '\0' ? r->model : "rules",
        (unsigned)r->score);
    for (i = 0; i < FEATURE_COUNT; i++)
        if (history_model_computed((enum feature_id)i))
            fprintf(ms->flog, ",%.17g", x.v[i]);
    fputc('\n', ms->flog);
    ms->flog_dirty = true;
    return 0;
}

void
modelsvc_log_label(struct scorer *s, const char *actor, const struct event *ev)
{
    struct modelsvc *ms = s->msvc;
    char hex[2 * PSEUDO_BYTES + 1];

    if (ms == NULL || ms->flog == NULL || !(ev->has & EVENT_HAS_ORDER))
        return;
    pseudo_hex(&ev->order, hex);
    fputs("l,", ms->flog);
    flog_field(ms->flog, actor);
    fprintf(ms->flog, ",%s,%llu,", hex, (unsigned long long)ev->ts);
    flog_field(ms->flog, ev->source);
    fprintf(ms->flog, ",%d\n", (ev->has & EVENT_HAS_OK) && ev->ok ? 1 : 0);
    ms->flog_dirty = true;
}

void
modelsvc_flush(struct scorer *s)
{
    struct modelsvc *ms = s->msvc;

    if (ms == NULL || ms->flog == NULL || !ms->flog_dirty)
        return;
    if (fflush(ms->flog) != 0)
        log_warnx("features_log: %s", strerror(errno));
    ms->flog_dirty = false;
}

void
modelsvc_stop(struct scorer *s)
{
    struct modelsvc *ms = s->msvc;

    if (ms == NULL)
        return;
    modelsvc_flush(s);
    if (ms->flog != NULL)
        (void)fclose(ms->flog);
    if (!ms->none)
        model_slot_release(&ms->slot);
    free(ms);
    s->msvc = NULL;
    s->model_version = NULL;
}
