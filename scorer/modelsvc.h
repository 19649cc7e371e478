/*
 * modelsvc.h - the fraud model in the running scorer: which file, its
 *              load at start and on SIGHUP, scoring an order with it,
 *              and the features log for training
 *
 * The scorer's main thread owns all of it. At start modelsvc_start()
 * loads the model file named by the `model_file` key ("" the default
 * model shipped with Vigil, "none" the rule set alone) and refuses to
 * start on a missing, corrupt or mismatched file (a column the service
 * does not compute). On SIGHUP modelsvc_reload() loads the file again
 * (or the key's new value): a file that fails any check is refused with
 * a log line naming the reason, and the previous model stays in use.
 * modelsvc_score() scores one order: with a model, score_model() on
 * history_model_features(); without, score_compute().
 *
 * The features log (`features_log`): one CSV line per scored live order
 * ("o", storefront, order token hex, event ms, model version, score and
 * every feature of features.h in registry order) and per label ("l",
 * storefront, order token hex, event ms, label source, fraud 0/1), after
 * a "#" header line naming the columns. Tokens are the vault's, never
 * an identifier in the clear; scripts/model-table.py joins the two into
 * vigil-train's table.
 *
 * Invariants:
 *  - s->model_version is NULL or the version of the model in use.
 *  - a failed reload never changes the model in use.
 *
 * See also: model.h, score.h, history.h (history_model_features),
 *           scorer.conf.5 (model_file, features_log), scorer.8 (SIGHUP)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_MODELSVC_H
#define SCORER_MODELSVC_H

#include <stddef.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "scorer/score.h"

struct scorer;

/*
 * Resolve, load and check the model file, open the features log. On
 * failure `err` says why. Returns 0, or an ERR_* (the scorer exits 1).
 */
int modelsvc_start(struct scorer *s, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 2);

/* SIGHUP: load the configured model file again (the previous one stays
 * on any failure, which is logged). */
void modelsvc_reload(struct scorer *s) NONNULL(1);

/*
 * Score order `ev` (tokens) of `actor` against `f` into `r`, and log its
 * features when `log` (a live order) and a features log is open.
 * Returns 0 or an ERR_* of history.
 */
int modelsvc_score(struct scorer *s, const char *actor, const struct event *ev,
    const struct features *f, bool log, struct reply *r) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 6);

/* Log label `ev` (tokens) of `actor` to the features log, if open. */
void modelsvc_log_label(struct scorer *s, const char *actor,
    const struct event *ev) NONNULL(1, 2, 3);

/* Flush the features log (after each group) and, at stop, close all. */
void modelsvc_flush(struct scorer *s) NONNULL(1);
void modelsvc_stop(struct scorer *s) NONNULL(1);

#endif
