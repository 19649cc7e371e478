/*
 * score.h - the risk score of an order: a pure function of the event and a
 *           history snapshot
 *
 * history.c fills a struct features from LMDB as it stood *before* the
 * event (point-in-time); score_compute() turns (event, features, params)
 * into a 0-100 score, a decision and the reasons that moved it. No I/O,
 * no clock, no globals: replaying the same events gives the same scores,
 * which is what makes journal recovery and model training sound.
 *
 * Invariants:
 *  - score_compute() depends only on its arguments.
 *  - every reason code is listed in score_reason_table and documented in
 *    scorer/scorer.8 and the README.
 *
 * See also: history.h (how features are computed), scorer.8 "REASONS"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_SCORE_H
#define SCORER_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"

/*
 * The entities history keeps per event. An order links all that are
 * present; ENT_IP24 is the /24 (IPv4) or /48 (IPv6) prefix. ENT_IP16,
 * the /16 (IPv4) or /32 (IPv6), feeds the model's ip16 features only:
 * it is on no account's link list and no rule reads it.
 */
enum entity_kind {
    ENT_ACCOUNT = 0,
    ENT_DEVICE,
    ENT_IP,
    ENT_IP24,
    ENT_CARD,
    ENT_EMAIL,
    ENT_IP16,
    ENT_COUNT
};

/* "account", "device", ... (static). */
const char *score_entity_name(enum entity_kind k);

/*
 * The fraud team's lists an entity can be on (list.set, scorer.8; stored
 * as flags of its entity record, history.h). Not point in time: a list
 * is the current policy, applied to every event after the change.
 */
enum score_list {
    SCORE_LIST_NONE = 0,
    SCORE_LIST_ALLOW,
    SCORE_LIST_BLOCK,
};

/*
 * What history knew about one entity just before the event. Window
 * counts are over event time (ts - window, ts], at the bucket resolution
 * documented in history.h; they never include the event being scored.
 */
struct entity_features {
    bool present;           /* the event names this entity */
    bool known;             /* history had seen it before this event */
    int64_t age_ms;         /* ts - first seen; -1 when not known */
    uint32_t orders_1h;     /* order.placed in the last hour */
    uint32_t orders_24h;    /* ... last 24 hours */
    uint32_t failed_pay_1h; /* payment.result ok=false, last hour */
    uint32_t failed_pay_24h;
    uint32_t failed_login_1h; /* account.login ok=false, last hour */
    uint32_t accounts;        /* distinct accounts seen with it (capped) */
    bool fraud_linked;        /* a label marked a linked account as fraud */
    uint8_t list;             /* enum score_list: on the allow/block list */
};

/* The history snapshot an order is scored against. */
struct features {
    struct entity_features ent[ENT_COUNT];
    int64_t account_age_ms;       /* ts - account signup; -1 no signup known */
    uint32_t account_orders;      /* previous orders of the account, all time */
    uint64_t account_amount_mean; /* mean amount of those, minor units */
    uint64_t account_amount_max;
    char account_country[3]; /* last IP country seen for the account */
};

/* Tunables of the rule set; thresholds come from the daemon's config. */
struct score_params {
    unsigned review_threshold; /* score >= this: review (default 50) */
    unsigned block_threshold;  /* score >= this: block (default 80) */
};

/* Static description of one reason code, for docs and tests. */
struct score_reason_info {
    const char *code; /* stable wire code */
    const char *text; /* printf format taking the value */
};

/* The table of every reason code (static), and its length. */
extern const struct score_reason_info score_reason_table[];
extern const unsigned score_reason_count;

/* Fill `p` with the defaults (review 50, block 80). */
void score_params_default(struct score_params *p) NONNULL(1);

/*
 * Score order `ev` against `f`: sets r->has_score, r->score (0-100),
 * r->decision and up to REPLY_MAX_REASONS reasons, strongest first.
 * Leaves r->id, r->code and r->msg alone. Pure; cannot fail.
 */
void score_compute(const struct event *ev, const struct features *f,
    const struct score_params *p, struct reply *r) NONNULL(1, 2, 3, 4);

/*
 * Apply the allow and block lists (REASONS.md "Allow and block lists")
 * to the scored order reply `r` (score_compute() or score_model() made
 * it from `f`): an order naming an entity on the block list is blocked
 * (score 100, reason `block_listed` first); else one naming an entity on
 * the allow list is allowed (its score kept, reason `allow_listed`
 * first) unless the hard rules alone reach p's block threshold (card
 * testing, account farms, velocity: the block stands and `allow_listed`
 * is still given). Nothing for an unscored reply or an order naming no
 * listed entity. Pure.
 */
void score_lists(const struct features *f, const struct score_params *p,
    struct reply *r) NONNULL(1, 2, 3);

struct model;
struct feature_vec;

/* Model reasons a scored reply carries at most (the rest: rules). */
#define SCORE_MODEL_REASONS 4

/*
 * Score order `ev` with model `m` on its feature vector `x`, the hard
 * rules on top (REASONS.md "Rules on top of the model"): the rule set's
 * velocity, failed-payment (card testing), many-accounts (account farm)
 * and failed-login rules are summed as in score_compute(); a sum at or
 * above p's block (review) threshold lifts the score to at least the
 * model's block (review) threshold. score = max(round(100 P), that
 * floor); the decision is the model's for that score (model_decide), so
 * a threshold means a probability. Reasons: the model's top
 * SCORE_MODEL_REASONS features by |contribution| (code = feature name,
 * value = its value) and the rules that fired, whichever set the score
 * first. r->model = model_version(m). When x holds a non-finite value
 * the order is scored by score_compute() alone (r->model ""). Pure.
 */
void score_model(const struct model *m, const struct event *ev,
    const struct features *f, const struct feature_vec *x,
    const struct score_params *p, struct reply *r) NONNULL(1, 2, 3, 4, 5, 6);

#endif
