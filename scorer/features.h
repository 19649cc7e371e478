/*
 * features.h - the feature registry: every model input the scorer can
 *              compute, by name, id, definition and unit
 *
 * One table (FEATURE_LIST below) names each feature a model may use. A
 * model file (model.h) lists the features it uses by NAME; the loader
 * maps each name to its id here, so a model trained on a feature this
 * build cannot compute is refused. The entity records keep the
 * point-in-time counters these definitions need, in bounded memory
 * (history_rec.c: windows, gaps, labels by day, signup minutes; their
 * resolution is specified in scorer/history.h and tested by
 * tests/unit/test_history_rec.c); history_model_features()
 * (scorer/history_model.c) fills a struct feature_vec for each order,
 * which the scorer's model evaluates (scorer/modelsvc.h) and logs for
 * training (features_log); the service computes every one of them
 * (history_model_computed()). The
 * definitions follow the issue-7 study (notes/issue7/REPORT.md section
 * 2), which trained the reference model on them, with the differences
 * history.h states (bucketed windows; label-fed features count the
 * labels of the UTC days before the order's day).
 *
 * Conventions every definition follows:
 *  - "before the order" means events applied before it whose event time
 *    is not later (at the window's resolution); "other accounts"
 *    excludes the ordering account itself.
 *  - times are event times; windows are buckets of event time (history.h:
 *    "1m" is the order's clock minute, "5m" its 5 clock minutes, "1h"
 *    12 buckets of 5 min, "24h" 24 of 1 h, "7d" and "30d" UTC days).
 *  - a label counts from the UTC day after its event time's day.
 *  - "missing" is never NaN: each feature that can be undefined has a
 *    sentinel (FEATURE_MISSING_* below) documented in its definition,
 *    e.g. -1 for "no earlier event" gaps, 1e9 for an unknown signup.
 *  - sex is not a feature, by design; age is not in the table either
 *    (sensitive attribute, no measurable gain: REPORT.md section 5).
 *
 * Invariants:
 *  - names are unique, 1..FEATURE_NAME_MAX bytes of [a-z0-9_], and never
 *    renamed: model files refer to them. New features are appended.
 *  - feature_table[i].id == i for every i < FEATURE_COUNT.
 *
 * See also: scorer/model.h (the model file), notes/issue7/REPORT.md,
 *           tests/unit/test_model.c (registry checks)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_FEATURES_H
#define SCORER_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"

/* Longest feature name; a name also serves as a reason code. */
#define FEATURE_NAME_MAX 31

/* Sentinels for undefined values. */
#define FEATURE_MISSING_GAP    (-1.0) /* no earlier event: gaps, ages */
#define FEATURE_MISSING_SIGNUP 1e9    /* s2o_sec with no known signup */

/* Saturation of the distinct-account counts (history keeps 16 hashes). */
#define FEATURE_ACCTS_CAP 15

/*
 * How a logistic-regression model transforms a raw value before
 * standardizing it (model.h "f" lines). Trees use raw values.
 */
enum feature_transform {
    FEATURE_TF_NONE = 0, /* x */
    FEATURE_TF_LOG1P,    /* log1p(max(x, 0)): counts, amounts */
    FEATURE_TF_GAPLOG,   /* x < 0 ? log1p(1e8) : log1p(x): gaps, -1 none */
    FEATURE_TF_LOGIT,    /* logit(clamp(x, 1e-4, 1 - 1e-4)): rates */
    FEATURE_TF_DECAY30,  /* x < 0 ? 0 : exp(-x / 30): label age, days */
    FEATURE_TF_COUNT
};

/* Flags of a feature. */
#define FEATURE_F_RECOMMENDED 1u /* in REPORT.md's recommended 9 columns */
#define FEATURE_F_TIME_PROXY  2u /* encodes position in time: do not ship */

/*
 * The table. X(ID, name, unit, transform, flags, definition); one
 * helper expands the per-entity families for E in dev, ip, ip24, ip16.
 * Units: s (seconds), d (days), count, flag (0/1), prob (0..1), amount
 * (major currency units), hour (0-23), day (0-6), bucket, log, score.
 */
#define FEATURE_WINDOWS(X, ID, e, what, evs)                                   \
    X(ID##_1M, e "_1m", "count", FEATURE_TF_LOG1P, 0,                          \
        evs " on " what " in the order's clock minute")                        \
    X(ID##_5M, e "_5m", "count", FEATURE_TF_LOG1P, 0,                          \
        evs " on " what " in the order's 5 clock minutes")                     \
    X(ID##_1H, e "_1h", "count", FEATURE_TF_LOG1P, 0,                          \
        evs " on " what " in the hour before the order (5-min buckets)")       \
    X(ID##_24H, e "_24h", "count", FEATURE_TF_LOG1P, 0,                        \
        evs " on " what " in the 24 h before the order (1-h buckets)")         \
    X(ID##_7D, e "_7d", "count", FEATURE_TF_LOG1P, 0,                          \
        evs " on " what " in the order's UTC day up to its hour and the 6 "    \
            "days before")                                                     \
    X(ID##_30D, e "_30d", "count", FEATURE_TF_LOG1P, 0,                        \
        evs " on " what " in the order's UTC day up to its hour and the 29 "   \
            "days before")                                                     \
    X(ID##_ALL, e "_all", "count", FEATURE_TF_LOG1P, 0,                        \
        evs " on " what " before the order, all time")

#define FEATURE_ENTITY(X, ID, e, what)                                          \
    FEATURE_WINDOWS(X, ID##_ORD, e "_ord", what,                                \
        "orders (the ordering account's own included)")                         \
    FEATURE_WINDOWS(X, ID##_SIG, e "_sig", what, "signups of other accounts")   \
    X(ID##_SIG_SAME_MIN, e "_sig_same_min", "count", FEATURE_TF_LOG1P, 0,       \
        "signups of other accounts on " what " in the same clock minute as "    \
        "the ordering account's own signup")                                    \
    X(ID##_FRAUD_LAB, e "_fraud_lab", "count", FEATURE_TF_LOG1P, 0,             \
        "fraud labels of orders on " what " that arrived on a UTC day "         \
        "before the order's")                                                   \
    X(ID##_LEGIT_LAB, e "_legit_lab", "count", FEATURE_TF_LOG1P, 0,             \
        "legitimate labels of orders on " what " that arrived on a UTC day "    \
        "before the order's")                                                   \
    X(ID##_FRAUD_AGE_D, e "_fraud_age_d", "d", FEATURE_TF_DECAY30, 0,           \
        "days from the end of the UTC day the latest such fraud label on " what \
        " arrived to the order; -1 if none")

/* An entity's distinct other accounts and its gap to the latest other
 * account (`e`: the name's prefix, `what`: the entity in the text). */
#define FEATURE_ACCTS(X, ID, e, what, flags)                                   \
    X(ID, e "_accts", "count", FEATURE_TF_LOG1P, flags,                        \
        "distinct other accounts with an event on " what " before the "        \
        "order, all time, saturating at 15")
#define FEATURE_GAP(X, ID, e, what, flags)                                     \
    X(ID, e "_gap", "s", FEATURE_TF_GAPLOG, flags,                             \
        "seconds since the latest event on " what " by another account "       \
        "before the order; -1 if none")

/* One browser family's flag (sfproto.c's families). */
#define FEATURE_BROWSER(X, ID, b)                                              \
    X(ID, "browser_" b, "flag", FEATURE_TF_NONE, 0,                            \
        "1 if the browser family is " b)

#define FEATURE_LIST(X)                                                        \
    /* The recommended model's 9 columns (REPORT.md section 2.1). */           \
    X(FEAT_S2O_SEC, "s2o_sec", "s", FEATURE_TF_LOG1P, FEATURE_F_RECOMMENDED,   \
        "seconds from the account's signup to the order; 1e9 when no signup "  \
        "is known")                                                            \
    FEATURE_ACCTS(                                                             \
        X, FEAT_DEV_ACCTS, "dev", "the order's device", FEATURE_F_RECOMMENDED) \
    FEATURE_GAP(X, FEAT_DEV_GAP, "dev", "the device", FEATURE_F_RECOMMENDED)   \
    FEATURE_GAP(                                                               \
        X, FEAT_IP_GAP, "ip", "the exact IP address", FEATURE_F_RECOMMENDED)   \
    X(FEAT_SOURCE_SEO, "source_seo", "flag", FEATURE_TF_NONE,                  \
        FEATURE_F_RECOMMENDED,                                                 \
        "1 if the account's signup source is SEO, else 0 (Ads is the "         \
        "baseline)")                                                           \
    X(FEAT_SOURCE_DIRECT, "source_direct", "flag", FEATURE_TF_NONE,            \
        FEATURE_F_RECOMMENDED,                                                 \
        "1 if the account's signup source is Direct, else 0")                  \
    X(FEAT_CTY_RATE, "cty_rate", "prob", FEATURE_TF_LOGIT,                     \
        FEATURE_F_RECOMMENDED,                                                 \
        "smoothed fraud rate of the IP country in the store from the labels "  \
        "of its orders that arrived on a UTC day before the order's: "         \
        "(f_c + 50 p0) / (n_c + 50), p0 = (F + 1) / (N + 20) over all the "    \
        "store's labels; a country not in ISO 3166-1 (or none) is \"??\"")     \
    X(FEAT_AMT, "amt", "amount", FEATURE_TF_LOG1P, FEATURE_F_RECOMMENDED,      \
        "order amount in major currency units (minor units / 100)")            \
    X(FEAT_HOUR, "hour", "hour", FEATURE_TF_NONE, FEATURE_F_RECOMMENDED,       \
        "UTC hour of the order's event time, 0-23")                            \
    /* Signup to order, other forms. */                                        \
    X(FEAT_S2O_LOG, "s2o_log", "log", FEATURE_TF_NONE, 0, "log1p(s2o_sec)")    \
    X(FEAT_S2O_BUCKET, "s2o_bucket", "bucket", FEATURE_TF_NONE, 0,             \
        "s2o_sec bucket: 0 = 0 s, 1 = <= 60 s, 2 = < 1 h, 3 = < 1 d, "         \
        "4 = < 7 d, 5 = < 30 d, 6 = >= 30 d or no signup")                     \
    /* Per-entity use, links and labels. */                                    \
    FEATURE_ENTITY(X, FEAT_DEV, "dev", "the device")                           \
    FEATURE_ENTITY(X, FEAT_IP, "ip", "the exact IP address")                   \
    FEATURE_ENTITY(X, FEAT_IP24, "ip24", "the IP's /24")                       \
    FEATURE_ENTITY(X, FEAT_IP16, "ip16", "the IP's /16")                       \
    FEATURE_ACCTS(X, FEAT_IP_ACCTS, "ip", "the exact IP", 0)                   \
    FEATURE_ACCTS(X, FEAT_IP24_ACCTS, "ip24", "the IP's /24", 0)               \
    FEATURE_ACCTS(X, FEAT_IP16_ACCTS, "ip16", "the IP's /16", 0)               \
    FEATURE_GAP(X, FEAT_IP24_GAP, "ip24", "the IP's /24", 0)                   \
    FEATURE_GAP(X, FEAT_IP16_GAP, "ip16", "the IP's /16", 0)                   \
    X(FEAT_LINK_SCORE, "link_score", "score", FEATURE_TF_LOG1P, 0,             \
        "sum over the fraud labels counted by dev_fraud_lab, ip_fraud_lab, "   \
        "ip24_fraud_lab and ip16_fraud_lab of w exp(-age / 30 d), w = 1, 1, "  \
        "0.3, 0.05 (how strong the link), age (days) from the end of the "     \
        "label's UTC day (how long ago)")                                      \
    /* Amount against the store. */                                            \
    X(FEAT_AMT_LOG, "amt_log", "log", FEATURE_TF_NONE, 0,                      \
        "ln(max(amt, 0.01))")                                                  \
    X(FEAT_AMT_Z, "amt_z", "score", FEATURE_TF_NONE, 0,                        \
        "(amt - mean) / std over the store's earlier orders (Welford, sample " \
        "std; as they arrived); 0 with fewer than 2 earlier orders or std 0")  \
    X(FEAT_AMT_RATIO, "amt_ratio", "score", FEATURE_TF_LOG1P, 0,               \
        "amt / mean of the store's earlier orders; 1 with fewer than 2")       \
    /* Calendar. */                                                            \
    X(FEAT_DOW, "dow", "day", FEATURE_TF_NONE, 0,                              \
        "UTC day of week of the order, 0 = Monday .. 6 = Sunday")              \
    /* Browser family of the user agent (sfproto.c's families). */             \
    FEATURE_BROWSER(X, FEAT_BROWSER_CHROME, "chrome")                          \
    FEATURE_BROWSER(X, FEAT_BROWSER_FIREFOX, "firefox")                        \
    FEATURE_BROWSER(X, FEAT_BROWSER_SAFARI, "safari")                          \
    FEATURE_BROWSER(X, FEAT_BROWSER_IE, "ie")                                  \
    FEATURE_BROWSER(X, FEAT_BROWSER_OPERA, "opera")                            \
    FEATURE_BROWSER(X, FEAT_BROWSER_EDGE, "edge")                              \
    X(FEAT_BROWSER_OTHER, "browser_other", "flag", FEATURE_TF_NONE, 0,         \
        "1 if the browser family is another one (bot, other) or unknown")      \
    /* Time proxies: kept computable for studies, never for shipping. */       \
    X(FEAT_CTY_NLAB, "cty_nlab", "count", FEATURE_TF_LOG1P,                    \
        FEATURE_F_TIME_PROXY,                                                  \
        "n_c of cty_rate: the country's labels counted (a time proxy)")        \
    X(FEAT_GLOB_RATE, "glob_rate", "prob", FEATURE_TF_LOGIT,                   \
        FEATURE_F_TIME_PROXY, "p0 of cty_rate (a time proxy)")                 \
    /* Amount against the account's own history. */                            \
    X(FEAT_AMT_ACCT_RATIO, "amt_acct_ratio", "score", FEATURE_TF_LOG1P, 0,     \
        "amt / the mean amount of the account's earlier orders; 1 with none")

#define FEATURE_ENUM_ENTRY(id, name, unit, tf, flags, def) id,
enum feature_id { FEATURE_LIST(FEATURE_ENUM_ENTRY) FEATURE_COUNT };
#undef FEATURE_ENUM_ENTRY

/* One row of the registry. */
struct feature_info {
    enum feature_id id;
    const char *name;                    /* stable, [a-z0-9_] */
    const char *unit;                    /* see FEATURE_LIST */
    enum feature_transform lr_transform; /* default for logreg */
    unsigned flags;                      /* FEATURE_F_* */
    const char *def;                     /* one-line definition */
};

/* The values of every feature for one order, indexed by feature_id. */
struct feature_vec {
    double v[FEATURE_COUNT];
};

/* The registry (static), FEATURE_COUNT rows, row i has id i. */
extern const struct feature_info feature_table[FEATURE_COUNT];

/* The row of `id` (static), or NULL when id is out of range. */
const struct feature_info *feature_info(enum feature_id id);

/*
 * Find the feature called `name` (exact match). Returns 0 and sets
 * `*id`, or ERR_NOTFOUND.
 */
int feature_lookup(const char *name, enum feature_id *id) WARN_UNUSED
    NONNULL(1, 2);

/* "none", "log1p", "gaplog", "logit", "decay30" (static); "" if bad. */
const char *feature_transform_name(enum feature_transform tf);

/* Parse a transform name. Returns 0 and sets `*tf`, or ERR_NOTFOUND. */
int feature_transform_parse(
    const char *name, enum feature_transform *tf) WARN_UNUSED NONNULL(1, 2);

/* Apply transform `tf` to `x` (see enum feature_transform). */
double feature_transform_apply(enum feature_transform tf, double x);

/*
 * Fill `v` with the "nothing known" value of every feature: the missing
 * sentinels for gaps, ages and s2o_sec, 0 for counts and flags, 1 for
 * amt_ratio, the prior 1/20 for the rates.
 */
void feature_vec_init(struct feature_vec *v) NONNULL(1);

#endif
