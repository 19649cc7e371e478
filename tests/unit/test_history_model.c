/*
 * test_history_model.c - unit tests of history_model_features(): the
 *                        model's feature vector of an order, point in time
 *
 * Real LMDB in a temporary directory, events applied through
 * history_apply() as the scorer does. Checks: signup-to-order time, its
 * bucket, the signup source, hour and day of week; window counts, gaps
 * and signup counts with events fed OUT OF ORDER, where an event later
 * than the order (in a later bucket) is never counted and the gap skips
 * it; the label rule (a label counts from the UTC day after its event
 * time, on the labelled order's entities and its country's fraud rate,
 * with the link score's decay); the store's amount statistics (amt_z,
 * amt_ratio) over earlier orders only; which features the service
 * computes.
 *
 * See also: scorer/history_model.c, scorer/features.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "scorer/features.h"
#include "scorer/history.h"
#include "tests/harness/test.h"

#define MIN_MS  (60 * 1000ULL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
/* 2023-11-14 22:00:00 UTC, a Tuesday. */
#define T0 (1699999200000ULL)

static char tmpl[] = "/tmp/vigil-test-history-model-XXXXXX";
static char *root;
static int envno;
static unsigned ev_next_id;

struct env {
    struct store *st;
    struct history *h;
    struct store_txn *txn;
};

static void
env_open(struct env *e)
{
    char dir[256];

    snprintf(dir, sizeof(dir), "%s/env%d", root, envno++);
    ASSERT_OK(store_open(dir, 64u << 20, HISTORY_DBS, &e->st));
    ASSERT_OK(history_open(e->st, &e->h));
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
}

static void
env_close(struct env *e)
{
    ASSERT_OK(store_txn_commit(e->txn));
    history_close(e->h);
    store_close(e->st);
}

/* The pseudonym of "<tag>-<n>" (unkeyed: tests need no key). */
static struct pseudo
ps(const char *tag, unsigned n)
{
    struct pseudo p;
    char id[64];

    snprintf(id, sizeof(id), "%s-%u", tag, n);
    crypto_generichash(
        p.b, sizeof(p.b), (const unsigned char *)id, strlen(id), NULL, 0);
    return p;
}

/* An event of account a on device d (IP d, its /24 d) at ts. */
static struct event
ev_at(enum event_type type, uint64_t ts, unsigned a, unsigned d)
{
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.ts = ts;
    ev.id = ps("ev", ev_next_id++);
    ev.has = EVENT_HAS_ACCOUNT | EVENT_HAS_DEVICE | EVENT_HAS_IP;
    ev.account = ps("acct", a);
    ev.device = ps("dev", d);
    ev.ip = ps("ip", d);
    ev.ip24 = ps("ip24", d);
    ev.ip16 = ps("ip16", d);
    return ev;
}

static void
apply(struct env *e, const struct event *ev)
{
    struct reply r;

    memset(&r, 0, sizeof(r));
    ASSERT_OK(history_apply(e->h, e->txn, "shop", ev, 0, &r));
}

static void
signup(struct env *e, uint64_t ts, unsigned a, unsigned d, const char *src)
{
    struct event ev = ev_at(EVENT_ACCOUNT_SIGNUP, ts, a, d);

    snprintf(ev.source, sizeof(ev.source), "%s", src);
    apply(e, &ev);
}

static struct event
order_ev(uint64_t ts, unsigned a, unsigned d, unsigned o)
{
    struct event ev = ev_at(EVENT_ORDER_PLACED, ts, a, d);

    ev.has |= EVENT_HAS_ORDER | EVENT_HAS_IP_COUNTRY;
    ev.order = ps("order", o);
    ev.amount = 4250;
    memcpy(ev.ip_country, "FR", 3);
    snprintf(ev.browser, sizeof(ev.browser), "firefox");
    return ev;
}

/* The features of a new order (not applied). */
static struct feature_vec
features(struct env *e, uint64_t ts, unsigned a, unsigned d)
{
    struct event ev = order_ev(ts, a, d, 999999);
    struct feature_vec v;

    ASSERT_OK(
        history_model_features(e->h, e->txn, "shop", &ev, HISTORY_MG_ALL, &v));
    return v;
}

static void
near(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (1 + fabs(want)))
        TEST_FAIL("got %.17g, want %.17g", got, want);
}

static void
test_signup_and_calendar(void)
{
    struct env e;
    struct feature_vec v;

    env_open(&e);
    v = features(&e, T0, 1, 1);
    near(v.v[FEAT_S2O_SEC], FEATURE_MISSING_SIGNUP); /* no signup yet */
    near(v.v[FEAT_S2O_BUCKET], 6);
    signup(&e, T0 - 60 * 1000, 1, 1, "seo");
    v = features(&e, T0, 1, 1);
    near(v.v[FEAT_S2O_SEC], 60);
    near(v.v[FEAT_S2O_LOG], log1p(60));
    near(v.v[FEAT_S2O_BUCKET], 1);
    near(v.v[FEAT_SOURCE_SEO], 1);
    near(v.v[FEAT_SOURCE_DIRECT], 0);
    near(v.v[FEAT_HOUR], 22);
    near(v.v[FEAT_DOW], 1); /* Tuesday */
    near(v.v[FEAT_AMT], 42.5);
    near(v.v[FEAT_BROWSER_FIREFOX], 1);
    near(v.v[FEAT_BROWSER_OTHER], 0);
    /* The account's own signup is not another account's. */
    near(v.v[FEAT_DEV_SIG_ALL], 0);
    near(v.v[FEAT_DEV_SIG_SAME_MIN], 0);
    near(v.v[FEAT_DEV_ACCTS], 0);
    near(v.v[FEAT_DEV_GAP], FEATURE_MISSING_GAP);
    /* An order before the signup sees no signup. */
    v = features(&e, T0 - 2 * MIN_MS, 1, 1);
    near(v.v[FEAT_S2O_SEC], FEATURE_MISSING_SIGNUP);
    /* A second account's signup in the same minute on the same device. */
    signup(&e, T0 - 50 * 1000, 2, 1, "direct");
    v = features(&e, T0, 1, 1);
    near(v.v[FEAT_DEV_SIG_SAME_MIN], 1);
    near(v.v[FEAT_DEV_SIG_ALL], 1);
    near(v.v[FEAT_DEV_ACCTS], 1);
    near(v.v[FEAT_DEV_GAP], 50);
    env_close(&e);
}

/*
 * Events fed out of order: an order 2 h LATER than the one scored (the
 * next UTC day, so in a later bucket of every window) arrives first;
 * nothing of it is counted, and the gap skips it.
 */
static void
test_point_in_time_out_of_order(void)
{
    struct env e;
    struct feature_vec v;
    struct event ev;

    env_open(&e);
    ev = order_ev(T0 + 2 * HOUR_MS, 2, 7, 1); /* later, arrives first */
    apply(&e, &ev);
    ev = order_ev(T0 - 20 * MIN_MS, 3, 7, 2); /* earlier */
    apply(&e, &ev);
    signup(&e, T0 - 3 * HOUR_MS, 4, 7, "ads");

    v = features(&e, T0, 1, 7);
    near(v.v[FEAT_DEV_ORD_1M], 0);
    near(v.v[FEAT_DEV_ORD_5M], 0);
    near(v.v[FEAT_DEV_ORD_1H], 1);
    near(v.v[FEAT_DEV_ORD_24H], 1);
    near(v.v[FEAT_DEV_ORD_7D], 1);
    near(v.v[FEAT_DEV_ORD_ALL], 1);
    near(v.v[FEAT_IP_ORD_ALL], 1);
    near(v.v[FEAT_IP24_ORD_24H], 1);
    near(v.v[FEAT_IP16_ORD_24H], 1);
    near(v.v[FEAT_IP16_ORD_ALL], 1);
    near(v.v[FEAT_IP16_SIG_24H], 1);
    near(v.v[FEAT_IP16_GAP], 20 * 60);
    near(v.v[FEAT_DEV_SIG_1H], 0);
    near(v.v[FEAT_DEV_SIG_24H], 1);
    near(v.v[FEAT_DEV_GAP], 20 * 60);
    near(v.v[FEAT_IP_GAP], 20 * 60);
    near(v.v[FEAT_IP24_GAP], 20 * 60);

    /* Asked after the later order, it is counted. */
    v = features(&e, T0 + 3 * HOUR_MS, 1, 7);
    near(v.v[FEAT_DEV_ORD_ALL], 2);
    near(v.v[FEAT_DEV_ORD_1H], 0);
    near(v.v[FEAT_DEV_GAP], 3600);
    /* Computing features changes nothing: the same answer again. */
    v = features(&e, T0, 1, 7);
    near(v.v[FEAT_DEV_ORD_ALL], 1);
    env_close(&e);
}

/* A label counts from the UTC day after its event time. */
static void
test_labels_next_day(void)
{
    struct env e;
    struct feature_vec v;
    struct event ev;
    double p0, age;

    env_open(&e);
    ev = order_ev(T0, 5, 9, 50); /* 22:00 */
    apply(&e, &ev);
    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_LABEL;
    ev.ts = T0 + 30 * MIN_MS; /* 22:30, same day */
    ev.id = ps("label", 50);
    ev.has = EVENT_HAS_ORDER | EVENT_HAS_OK;
    ev.order = ps("order", 50);
    ev.ok = true;
    snprintf(ev.source, sizeof(ev.source), "chargeback");
    apply(&e, &ev);

    v = features(&e, T0 + HOUR_MS, 6, 9); /* 23:00, the label's day */
    near(v.v[FEAT_DEV_FRAUD_LAB], 0);
    near(v.v[FEAT_DEV_FRAUD_AGE_D], FEATURE_MISSING_GAP);
    near(v.v[FEAT_LINK_SCORE], 0);
    near(v.v[FEAT_CTY_NLAB], 0);
    near(v.v[FEAT_CTY_RATE], 1.0 / 20);

    v = features(&e, T0 + 2 * HOUR_MS + 30 * MIN_MS, 6, 9); /* 00:30 */
    age = 30.0 / (24 * 60); /* from the end of the label's day */
    near(v.v[FEAT_DEV_FRAUD_LAB], 1);
    near(v.v[FEAT_IP_FRAUD_LAB], 1);
    near(v.v[FEAT_IP24_FRAUD_LAB], 1);
    near(v.v[FEAT_DEV_LEGIT_LAB], 0);
    near(v.v[FEAT_DEV_FRAUD_AGE_D], age);
    near(v.v[FEAT_IP16_FRAUD_LAB], 1);
    /* Weights 1 (device), 1 (IP), 0.3 (/24), 0.05 (/16), decay
     * exp(-age / 30 d). */
    near(v.v[FEAT_LINK_SCORE], 2.35 * exp(-age / 30));
    p0 = (1.0 + 1) / (1 + 20);
    near(v.v[FEAT_GLOB_RATE], p0);
    near(v.v[FEAT_CTY_NLAB], 1);
    near(v.v[FEAT_CTY_RATE], (1 + 50 * p0) / (1 + 50));
    /* Another device shares nothing with the labelled order. */
    v = features(&e, T0 + 2 * HOUR_MS + 30 * MIN_MS, 6, 10);
    near(v.v[FEAT_DEV_FRAUD_LAB], 0);
    near(v.v[FEAT_LINK_SCORE], 0);
    near(v.v[FEAT_CTY_NLAB], 1); /* same country */
    env_close(&e);
}

/* An order of account a on device d whose IP lies in /16 number n. */
static struct event
order_in16(uint64_t ts, unsigned a, unsigned d, unsigned n, unsigned o)
{
    struct event ev = order_ev(ts, a, d, o);

    ev.ip16 = ps("net16", n);
    return ev;
}

/*
 * The /16 family: two accounts on two /24s of one /16 are counted on the
 * /16 (orders, distinct accounts, gap, a fraud label with weight 0.05 in
 * link_score) and on neither /24 of a third device in the same /16;
 * another /16 sees none of it.
 */
static void
test_ip16_family(void)
{
    struct env e;
    struct feature_vec v;
    struct event ev;
    double age;

    env_open(&e);
    ev = order_in16(T0 - 2 * HOUR_MS, 21, 21, 1, 60);
    apply(&e, &ev);
    ev = order_in16(T0 - 30 * MIN_MS, 22, 22, 1, 61);
    apply(&e, &ev);

    ev = order_in16(T0, 23, 23, 1, 999999);
    ASSERT_OK(
        history_model_features(e.h, e.txn, "shop", &ev, HISTORY_MG_ALL, &v));
    near(v.v[FEAT_IP16_ORD_ALL], 2);
    near(v.v[FEAT_IP16_ORD_1H], 1);
    near(v.v[FEAT_IP16_ACCTS], 2);
    near(v.v[FEAT_IP16_GAP], 30 * 60);
    near(v.v[FEAT_IP24_ORD_ALL], 0);
    near(v.v[FEAT_IP24_ACCTS], 0);
    near(v.v[FEAT_IP24_GAP], FEATURE_MISSING_GAP);

    ev = order_in16(T0, 23, 23, 2, 999999);
    ASSERT_OK(
        history_model_features(e.h, e.txn, "shop", &ev, HISTORY_MG_ALL, &v));
    near(v.v[FEAT_IP16_ORD_ALL], 0);
    near(v.v[FEAT_IP16_ACCTS], 0);

    /* A fraud label on order 60: from the next UTC day on, the /16
     * counts it with link weight 0.05; nothing else is shared. */
    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_LABEL;
    ev.ts = T0;
    ev.id = ps("label", 60);
    ev.has = EVENT_HAS_ORDER | EVENT_HAS_OK;
    ev.order = ps("order", 60);
    ev.ok = true;
    apply(&e, &ev);
    ev = order_in16(T0 + 3 * HOUR_MS, 23, 23, 1, 999999); /* 01:00 */
    ASSERT_OK(
        history_model_features(e.h, e.txn, "shop", &ev, HISTORY_MG_ALL, &v));
    age = 60.0 / (24 * 60);
    near(v.v[FEAT_IP16_FRAUD_LAB], 1);
    near(v.v[FEAT_IP24_FRAUD_LAB], 0);
    near(v.v[FEAT_LINK_SCORE], 0.05 * exp(-age / 30));
    env_close(&e);
}

/* Groups not asked for keep their initial values; the rest is equal. */
static void
test_groups(void)
{
    struct env e;
    struct feature_vec all, some, init;
    struct event ev;
    enum feature_id cols[] = { FEAT_S2O_SEC, FEAT_DEV_GAP, FEAT_AMT };
    unsigned i;

    ASSERT_EQ(history_model_groups(cols, 3), 0);
    cols[1] = FEAT_IP24_SIG_7D;
    ASSERT_EQ(history_model_groups(cols, 3), HISTORY_MG_WINDOWS);
    cols[2] = FEAT_LINK_SCORE;
    ASSERT_EQ(
        history_model_groups(cols, 3), HISTORY_MG_WINDOWS | HISTORY_MG_LABELS);
    cols[0] = FEAT_CTY_RATE;
    cols[1] = FEAT_DEV_FRAUD_AGE_D;
    ASSERT_EQ(
        history_model_groups(cols, 2), HISTORY_MG_COUNTRY | HISTORY_MG_LABELS);

    env_open(&e);
    signup(&e, T0 - 3 * HOUR_MS, 4, 7, "ads");
    ev = order_ev(T0 - 20 * MIN_MS, 3, 7, 2);
    apply(&e, &ev);
    ev = order_ev(T0, 1, 7, 999999);
    ASSERT_OK(
        history_model_features(e.h, e.txn, "shop", &ev, HISTORY_MG_ALL, &all));
    ASSERT_OK(history_model_features(e.h, e.txn, "shop", &ev, 0, &some));
    feature_vec_init(&init);
    for (i = 0; i < FEATURE_COUNT; i++) {
        cols[0] = (enum feature_id)i;
        if (history_model_groups(cols, 1) != 0)
            near(some.v[i], init.v[i]);
        else
            near(some.v[i], all.v[i]);
    }
    ASSERT(all.v[FEAT_DEV_ORD_1H] == 1 && some.v[FEAT_DEV_ORD_1H] == 0);
    ASSERT(all.v[FEAT_DEV_GAP] == 1200 && some.v[FEAT_DEV_GAP] == 1200);
    env_close(&e);
}

/* An order of `minor` units by account a applied for actor `actor`. */
static void
order_amount(
    struct env *e, const char *actor, uint64_t ts, unsigned a, uint64_t minor)
{
    struct event ev = order_ev(ts, a, a, 5000 + a);
    struct reply r;

    ev.amount = minor;
    memset(&r, 0, sizeof(r));
    ASSERT_OK(history_apply(e->h, e->txn, actor, &ev, 0, &r));
}

/*
 * amt_z and amt_ratio against the store's EARLIER orders (arrival order):
 * 10.00, 20.00 and 60.00 give mean 30 and sample std sqrt(700), so an
 * order of 42.50 has z = 12.5 / sqrt(700) and ratio 42.5 / 30; the order
 * itself is not counted until applied, another store's orders never,
 * and with fewer than two earlier orders z is 0 and the ratio 1.
 */
static void
test_store_amounts(void)
{
    struct env e;
    struct feature_vec v;
    enum feature_id cols[] = { FEAT_AMT_Z, FEAT_AMT_RATIO };

    ASSERT_EQ(history_model_groups(cols, 2), HISTORY_MG_AMOUNT);
    env_open(&e);
    order_amount(&e, "shop", T0 - 3 * HOUR_MS, 1, 1000);
    v = features(&e, T0, 9, 9);
    near(v.v[FEAT_AMT_Z], 0);
    near(v.v[FEAT_AMT_RATIO], 1);
    /* Later in event time but earlier in arrival: counted (as arrived). */
    order_amount(&e, "shop", T0 + DAY_MS, 2, 2000);
    order_amount(&e, "shop", T0 - HOUR_MS, 3, 6000);
    order_amount(&e, "other-shop", T0 - HOUR_MS, 4, 9999900);
    v = features(&e, T0, 9, 9);
    near(v.v[FEAT_AMT], 42.5);
    near(v.v[FEAT_AMT_Z], 12.5 / sqrt(700.0));
    near(v.v[FEAT_AMT_RATIO], 42.5 / 30.0);
    /* Asked without the group: the initial values. */
    ASSERT_OK(history_model_features(e.h, e.txn, "shop",
        &(struct event){ .type = EVENT_ORDER_PLACED, .ts = T0, .amount = 4250 },
        HISTORY_MG_ALL & ~HISTORY_MG_AMOUNT, &v));
    near(v.v[FEAT_AMT_Z], 0);
    near(v.v[FEAT_AMT_RATIO], 1);
    /* Once applied, an order counts for the next: 10, 20, 60, 42.5. */
    order_amount(&e, "shop", T0, 5, 4250);
    v = features(&e, T0, 9, 9);
    near(v.v[FEAT_AMT_RATIO], 42.5 / 33.125);
    near(v.v[FEAT_AMT_Z],
        9.375 /
            sqrt((23.125 * 23.125 + 13.125 * 13.125 + 26.875 * 26.875 +
                     9.375 * 9.375) /
                3));
    env_close(&e);
}

static void
test_computed(void)
{
    ASSERT(history_model_computed(FEAT_S2O_SEC));
    ASSERT(history_model_computed(FEAT_LINK_SCORE));
    ASSERT(history_model_computed(FEAT_IP24_GAP));
    ASSERT(history_model_computed(FEAT_AMT_ACCT_RATIO));
    ASSERT(history_model_computed(FEAT_IP16_ORD_1M));
    ASSERT(history_model_computed(FEAT_IP16_FRAUD_AGE_D));
    ASSERT(history_model_computed(FEAT_IP16_ACCTS));
    ASSERT(history_model_computed(FEAT_IP16_GAP));
    ASSERT(history_model_computed(FEAT_AMT_Z));
    ASSERT(history_model_computed(FEAT_AMT_RATIO));
    ASSERT(!history_model_computed(FEATURE_COUNT));
}

/* A fraud label of order o at ts. */
static void
label_order(struct env *e, uint64_t ts, unsigned o)
{
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_LABEL;
    ev.ts = ts;
    ev.id = ps("label", o);
    ev.has = EVENT_HAS_ORDER | EVENT_HAS_OK;
    ev.order = ps("order", o);
    ev.ok = true;
    snprintf(ev.source, sizeof(ev.source), "chargeback");
    apply(e, &ev);
}

/*
 * The country counters keep the 16 days up to the newest label's apart:
 * labels of later days applied first (vigil-replay sends labels up to 15
 * days ahead of the events still unanswered) are not counted for an
 * order up to 15 days behind them, nor are the days rolled over; an
 * order of a later day counts them all (cty_nlab, glob_rate's labels).
 */
static void
test_country_next_day(void)
{
    struct feature_vec v;
    struct event ev;
    struct env e;
    const uint64_t d0 = T0 + 3 * HOUR_MS; /* 01:00 of day D */

    env_open(&e);
    for (unsigned o = 61; o <= 64; o++) {
        ev = order_ev(d0 - 10 * DAY_MS, o, o, o); /* FR accounts */
        apply(&e, &ev);
    }
    /* A: a label of day D + 1 first. */
    label_order(&e, d0 + DAY_MS, 61);
    near(features(&e, d0, 7, 7).v[FEAT_CTY_NLAB], 0);
    near(features(&e, d0 + DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 0);
    near(features(&e, d0 + 2 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 1);
    /* B: then one of day D (out of order). */
    label_order(&e, d0, 62);
    near(features(&e, d0, 7, 7).v[FEAT_CTY_NLAB], 0);
    near(features(&e, d0 + DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 1);
    near(features(&e, d0 + 2 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 2);
    /* C: day D + 2: an order of day D + 1 still sees B only (the
     * counter that kept day d alone had rolled A, of its own day, into
     * "before" and counted it). */
    label_order(&e, d0 + 2 * DAY_MS, 63);
    v = features(&e, d0 + DAY_MS, 7, 7);
    near(v.v[FEAT_CTY_NLAB], 1);
    near(v.v[FEAT_GLOB_RATE], (1.0 + 1) / (1 + 20));
    near(features(&e, d0 + 2 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 2);
    near(features(&e, d0 + 3 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 3);
    /* D: day D + 15 is still within the 16 days: an order of day D + 1,
     * 14 days behind, sees B only (the 8 days kept before 2026-12-05
     * would have moved A and C into "before" and counted them). */
    label_order(&e, d0 + 15 * DAY_MS, 64);
    near(features(&e, d0 + DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 1);
    near(features(&e, d0 + 15 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 3);
    near(features(&e, d0 + 16 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 4);
    /* E: day D + 16 moves day D (B) out of the 16 days kept apart, into
     * "before": an order of day D + 1, 15 days behind, still sees B
     * only; one of day D + 17 all five. */
    ev = order_ev(d0 - 10 * DAY_MS, 65, 65, 65);
    apply(&e, &ev);
    label_order(&e, d0 + 16 * DAY_MS, 65);
    near(features(&e, d0 + DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 1);
    near(features(&e, d0 + 16 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 4);
    near(features(&e, d0 + 17 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 5);
    env_close(&e);
}

/* The FR counter of storefront "shop" as stored: its length, and its
 * u32 fields (at most `cap`). */
static size_t
cty_raw(struct env *e, uint32_t *out, size_t cap)
{
    static const uint8_t key[] = { 'c', 't', 'y', 0, 's', 'h', 'o', 'p', 0, 'F',
        'R' };
    const void *p;
    size_t len, i;
    unsigned dbi;

    ASSERT_OK(store_dbi(e->st, e->txn, "meta", false, &dbi));
    ASSERT_OK(store_get_view(e->txn, dbi, key, sizeof(key), &p, &len));
    for (i = 0; i < len / 4 && i < cap; i++) {
        const uint8_t *b = (const uint8_t *)p + 4 * i;

        out[i] = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 |
            (uint32_t)b[1] << 8 | b[0]; /* little-endian, as stored */
    }
    return len;
}

/*
 * A country counter written before 2026-12-05 keeps 8 days apart (76
 * bytes): it is still read with its meaning, and the next label
 * rewrites it with 16 days (140 bytes) without moving a day.
 */
static void
test_country_8day_value(void)
{
    static const uint8_t key[] = { 'c', 't', 'y', 0, 's', 'h', 'o', 'p', 0, 'F',
        'R' };
    const uint64_t d0 = T0 + 3 * HOUR_MS;             /* 01:00 of day D */
    const uint32_t day = (uint32_t)(d0 / DAY_MS) + 3; /* D + 3 */
    uint8_t old[76] = { 0 };
    uint32_t f[35];
    struct event ev;
    struct env e;
    unsigned dbi;

    env_open(&e);
    ev = order_ev(d0 - 10 * DAY_MS, 71, 71, 71);
    apply(&e, &ev);
    /* Newest day D + 3 (1 label), before: 5 labels, day D + 1: 2. */
    old[0] = (uint8_t)day; /* u32 little-endian */
    old[1] = (uint8_t)(day >> 8);
    old[2] = (uint8_t)(day >> 16);
    old[3] = (uint8_t)(day >> 24);
    old[4] = 5;          /* labels before day D + 3 - 7 */
    old[8] = 2;          /* of them fraud */
    old[12] = 1;         /* day D + 3: labels */
    old[16] = 1;         /* ... fraud */
    old[12 + 8 * 2] = 2; /* day D + 1: labels */
    ASSERT_OK(store_dbi(e.st, e.txn, "meta", false, &dbi));
    ASSERT_OK(store_put(e.txn, dbi, key, sizeof(key), old, sizeof(old)));
    near(features(&e, d0 + DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 5);
    near(features(&e, d0 + 2 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 7);
    near(features(&e, d0 + 4 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 8);
    /* A label of day D + 4 rewrites it as the 16-day value. */
    label_order(&e, d0 + 4 * DAY_MS, 71);
    ASSERT(cty_raw(&e, f, 35) == 140);
    ASSERT(f[0] == day + 1 && f[1] == 5 && f[2] == 2);
    ASSERT(f[3] == 1 && f[4] == 1);  /* day D + 4: the new fraud label */
    ASSERT(f[5] == 1 && f[6] == 1);  /* day D + 3 */
    ASSERT(f[9] == 2 && f[10] == 0); /* day D + 1 */
    near(features(&e, d0 + 2 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 7);
    near(features(&e, d0 + 5 * DAY_MS, 7, 7).v[FEAT_CTY_NLAB], 9);
    env_close(&e);
}

int
main(void)
{
    if (sodium_init() < 0)
        TEST_FAIL("sodium_init");
    log_init("test_history_model", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_signup_and_calendar);
    RUN(test_point_in_time_out_of_order);
    RUN(test_labels_next_day);
    RUN(test_country_next_day);
    RUN(test_country_8day_value);
    RUN(test_groups);
    RUN(test_ip16_family);
    RUN(test_store_amounts);
    RUN(test_computed);
    {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
