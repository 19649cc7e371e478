/*
 * score.c - Vigil's rule set: an additive, explainable points model
 *
 * The scorer calls score_compute() once per order.placed, after
 * history.c has built the point-in-time feature snapshot. Every rule
 * that fires adds whole points and one reason; the score is the capped
 * sum min(100, points), so a reason's points are exactly what it added
 * to the score. About forty rules, evaluated straight through with no
 * allocation: well under a microsecond per order.
 *
 * Invariants:
 *  - pure: the result depends only on the arguments (no I/O, no clock,
 *    no state but the constant tables below).
 *  - enum rule, score_reason_table[] and rule_defs[] list the same rules
 *    in the same order; scorer/REASONS.md documents every row, and
 *    tests/unit/test_score.c re-implements it as a reference model.
 *  - within a group (the tiers of one feature, or the 1 h and 24 h
 *    windows of one counter) only the strongest rule counts, so one fact
 *    is never counted twice.
 *  - making a risk feature worse never lowers the score.
 *
 * See also: score.h, scorer/REASONS.md, history.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scorer/model.h"
#include "scorer/score.h"

#define MS_MINUTE (60 * 1000LL)
#define MS_HOUR   (60 * MS_MINUTE)
#define MS_DAY    (24 * MS_HOUR)

#define SCORE_MAX 100u

/* Thresholds of the rules that are not simple counters (REASONS.md). */
#define DEVICE_NEW_MS     (10 * MS_MINUTE)
#define FIRST_ORDER_LARGE 50000u /* minor units */
#define MEAN_MIN_ORDERS   2u     /* earlier orders before "mean" counts */
#define MEAN_RATIO_LOW    3u     /* amount > 3 x mean: 10 points */
#define MEAN_RATIO_MID    5u     /* amount > 5 x mean: 20 points */
#define MEAN_RATIO_HIGH   10u    /* amount > 10 x mean: 30 points */
#define MEAN_POINTS_LOW   10u
#define MEAN_POINTS_MID   20u
#define MEAN_POINTS_HIGH  30u

/* Every rule; the order is the order of score_reason_table. */
enum rule {
    R_ACCOUNT_NEW_1H,
    R_ACCOUNT_NEW_1D,
    R_ACCOUNT_NO_SIGNUP,
    R_FIRST_ORDER_LARGE,
    R_AMOUNT_ABOVE_MEAN,
    R_ACCOUNT_ORDERS_1H,
    R_ACCOUNT_ORDERS_24H,
    R_DEVICE_ORDERS_1H,
    R_DEVICE_ORDERS_24H,
    R_IP_ORDERS_1H,
    R_IP_ORDERS_24H,
    R_CARD_ORDERS_1H,
    R_CARD_ORDERS_24H,
    R_ACCOUNT_FAILED_PAY_1H,
    R_ACCOUNT_FAILED_PAY_24H,
    R_DEVICE_FAILED_PAY_1H,
    R_DEVICE_FAILED_PAY_24H,
    R_IP_FAILED_PAY_1H,
    R_IP_FAILED_PAY_24H,
    R_CARD_FAILED_PAY_1H,
    R_CARD_FAILED_PAY_24H,
    R_DEVICE_MANY_ACCOUNTS,
    R_IP_MANY_ACCOUNTS,
    R_CARD_MANY_ACCOUNTS,
    R_DEVICE_UNKNOWN,
    R_DEVICE_NEW,
    R_IP_BILLING_MISMATCH,
    R_IP_SHIPPING_MISMATCH,
    R_BILLING_SHIPPING_MISMATCH,
    R_ACCOUNT_COUNTRY_CHANGED,
    R_ACCOUNT_FAILED_LOGINS_1H,
    R_DEVICE_FAILED_LOGINS_1H,
    R_COUNT
};

/*
 * The wire codes and sentences. Each format consumes one double (the
 * reason's value); rules about a yes/no fact carry value 1 and their
 * sentence does not print it.
 */
const struct score_reason_info score_reason_table[] = {
    [R_ACCOUNT_NEW_1H] = { "account_new_1h",
        "account created %.0f minutes before the order" },
    [R_ACCOUNT_NEW_1D] = { "account_new_1d",
        "account created %.1f hours before the order" },
    [R_ACCOUNT_NO_SIGNUP] = { "account_no_signup",
        "no signup is known for this account" },
    [R_FIRST_ORDER_LARGE] = { "first_order_large",
        "first order of the account, less than a day old, is %.0f minor units" },
    [R_AMOUNT_ABOVE_MEAN] = { "amount_above_mean",
        "amount is %.1f times the account's average order" },
    [R_ACCOUNT_ORDERS_1H] = { "account_orders_1h",
        "%.0f earlier orders from this account in the last hour" },
    [R_ACCOUNT_ORDERS_24H] = { "account_orders_24h",
        "%.0f earlier orders from this account in the last 24 hours" },
    [R_DEVICE_ORDERS_1H] = { "device_orders_1h",
        "%.0f earlier orders from this device in the last hour" },
    [R_DEVICE_ORDERS_24H] = { "device_orders_24h",
        "%.0f earlier orders from this device in the last 24 hours" },
    [R_IP_ORDERS_1H] = { "ip_orders_1h",
        "%.0f earlier orders from this IP address in the last hour" },
    [R_IP_ORDERS_24H] = { "ip_orders_24h",
        "%.0f earlier orders from this IP address in the last 24 hours" },
    [R_CARD_ORDERS_1H] = { "card_orders_1h",
        "%.0f earlier orders with this card in the last hour" },
    [R_CARD_ORDERS_24H] = { "card_orders_24h",
        "%.0f earlier orders with this card in the last 24 hours" },
    [R_ACCOUNT_FAILED_PAY_1H] = { "account_failed_payments_1h",
        "%.0f failed payments by this account in the last hour" },
    [R_ACCOUNT_FAILED_PAY_24H] = { "account_failed_payments_24h",
        "%.0f failed payments by this account in the last 24 hours" },
    [R_DEVICE_FAILED_PAY_1H] = { "device_failed_payments_1h",
        "%.0f failed payments from this device in the last hour" },
    [R_DEVICE_FAILED_PAY_24H] = { "device_failed_payments_24h",
        "%.0f failed payments from this device in the last 24 hours" },
    [R_IP_FAILED_PAY_1H] = { "ip_failed_payments_1h",
        "%.0f failed payments from this IP address in the last hour" },
    [R_IP_FAILED_PAY_24H] = { "ip_failed_payments_24h",
        "%.0f failed payments from this IP address in the last 24 hours" },
    [R_CARD_FAILED_PAY_1H] = { "card_failed_payments_1h",
        "%.0f failed payments with this card in the last hour" },
    [R_CARD_FAILED_PAY_24H] = { "card_failed_payments_24h",
        "%.0f failed payments with this card in the last 24 hours" },
    [R_DEVICE_MANY_ACCOUNTS] = { "device_many_accounts",
        "%.0f different accounts seen on this device" },
    [R_IP_MANY_ACCOUNTS] = { "ip_many_accounts",
        "%.0f different accounts seen from this IP address" },
    [R_CARD_MANY_ACCOUNTS] = { "card_many_accounts",
        "%.0f different accounts used this card" },
    [R_DEVICE_UNKNOWN] = { "device_unknown",
        "the device was never seen before this order" },
    [R_DEVICE_NEW] = { "device_new",
        "device first seen %.1f minutes before the order" },
    [R_IP_BILLING_MISMATCH] = { "ip_billing_country_mismatch",
        "the IP address country differs from the billing country" },
    [R_IP_SHIPPING_MISMATCH] = { "ip_shipping_country_mismatch",
        "the IP address country differs from the shipping country" },
    [R_BILLING_SHIPPING_MISMATCH] = { "billing_shipping_mismatch",
        "the billing country differs from the shipping country" },
    [R_ACCOUNT_COUNTRY_CHANGED] = { "account_country_changed",
        "the IP address country differs from the account's last country" },
    [R_ACCOUNT_FAILED_LOGINS_1H] = { "account_failed_logins_1h",
        "%.0f failed logins on this account in the last hour" },
    [R_DEVICE_FAILED_LOGINS_1H] = { "device_failed_logins_1h",
        "%.0f failed logins from this device in the last hour" },
};

const unsigned score_reason_count = R_COUNT;

_Static_assert(ARRAY_LEN(score_reason_table) == R_COUNT,
    "score_reason_table must list every rule");

/*
 * How many points a rule adds. A counter rule fires at n >= threshold
 * and adds min(cap, base + step * (n - threshold)); a fixed rule has
 * step 0 and cap == base. `group` is the first rule of the rule's group.
 */
struct rule_def {
    enum rule group;
    uint32_t threshold;
    uint32_t base;
    uint32_t step;
    uint32_t cap;
};

#define FIXED(g, pts)                                                          \
    {                                                                          \
        (g), 0, (pts), 0, (pts)                                                \
    }
#define STEP(g, thr, base, step, cap)                                          \
    {                                                                          \
        (g), (thr), (base), (step), (cap)                                      \
    }

static const struct rule_def rule_defs[] = {
    [R_ACCOUNT_NEW_1H] = FIXED(R_ACCOUNT_NEW_1H, 30),
    [R_ACCOUNT_NEW_1D] = FIXED(R_ACCOUNT_NEW_1H, 15),
    [R_ACCOUNT_NO_SIGNUP] = FIXED(R_ACCOUNT_NEW_1H, 5),
    [R_FIRST_ORDER_LARGE] = FIXED(R_FIRST_ORDER_LARGE, 20),
    /* Tiered in mean_points(); the cap is the top tier. */
    [R_AMOUNT_ABOVE_MEAN] = FIXED(R_AMOUNT_ABOVE_MEAN, MEAN_POINTS_HIGH),
    [R_ACCOUNT_ORDERS_1H] = STEP(R_ACCOUNT_ORDERS_1H, 3, 10, 5, 25),
    [R_ACCOUNT_ORDERS_24H] = STEP(R_ACCOUNT_ORDERS_1H, 5, 5, 2, 15),
    [R_DEVICE_ORDERS_1H] = STEP(R_DEVICE_ORDERS_1H, 3, 10, 5, 25),
    [R_DEVICE_ORDERS_24H] = STEP(R_DEVICE_ORDERS_1H, 5, 5, 2, 15),
    [R_IP_ORDERS_1H] = STEP(R_IP_ORDERS_1H, 5, 10, 3, 25),
    [R_IP_ORDERS_24H] = STEP(R_IP_ORDERS_1H, 10, 5, 1, 15),
    [R_CARD_ORDERS_1H] = STEP(R_CARD_ORDERS_1H, 3, 10, 5, 25),
    [R_CARD_ORDERS_24H] = STEP(R_CARD_ORDERS_1H, 5, 5, 2, 15),
    [R_ACCOUNT_FAILED_PAY_1H] = STEP(R_ACCOUNT_FAILED_PAY_1H, 3, 20, 10, 50),
    [R_ACCOUNT_FAILED_PAY_24H] = STEP(R_ACCOUNT_FAILED_PAY_1H, 5, 10, 5, 30),
    [R_DEVICE_FAILED_PAY_1H] = STEP(R_DEVICE_FAILED_PAY_1H, 3, 35, 15, 95),
    [R_DEVICE_FAILED_PAY_24H] = STEP(R_DEVICE_FAILED_PAY_1H, 5, 15, 5, 40),
    [R_IP_FAILED_PAY_1H] = STEP(R_IP_FAILED_PAY_1H, 5, 20, 5, 50),
    [R_IP_FAILED_PAY_24H] = STEP(R_IP_FAILED_PAY_1H, 10, 10, 2, 30),
    [R_CARD_FAILED_PAY_1H] = STEP(R_CARD_FAILED_PAY_1H, 2, 35, 15, 95),
    [R_CARD_FAILED_PAY_24H] = STEP(R_CARD_FAILED_PAY_1H, 4, 15, 5, 40),
    [R_DEVICE_MANY_ACCOUNTS] = STEP(R_DEVICE_MANY_ACCOUNTS, 3, 30, 10, 70),
    [R_IP_MANY_ACCOUNTS] = STEP(R_IP_MANY_ACCOUNTS, 5, 10, 2, 25),
    [R_CARD_MANY_ACCOUNTS] = STEP(R_CARD_MANY_ACCOUNTS, 2, 30, 15, 75),
    [R_DEVICE_UNKNOWN] = FIXED(R_DEVICE_UNKNOWN, 10),
    [R_DEVICE_NEW] = FIXED(R_DEVICE_UNKNOWN, 10),
    [R_IP_BILLING_MISMATCH] = FIXED(R_IP_BILLING_MISMATCH, 15),
    [R_IP_SHIPPING_MISMATCH] = FIXED(R_IP_SHIPPING_MISMATCH, 10),
    [R_BILLING_SHIPPING_MISMATCH] = FIXED(R_BILLING_SHIPPING_MISMATCH, 10),
    [R_ACCOUNT_COUNTRY_CHANGED] = FIXED(R_ACCOUNT_COUNTRY_CHANGED, 10),
    [R_ACCOUNT_FAILED_LOGINS_1H] =
        STEP(R_ACCOUNT_FAILED_LOGINS_1H, 3, 10, 5, 30),
    [R_DEVICE_FAILED_LOGINS_1H] = STEP(R_DEVICE_FAILED_LOGINS_1H, 5, 10, 3, 25),
};

_Static_assert(
    ARRAY_LEN(rule_defs) == R_COUNT, "rule_defs must list every rule");

/* The per-entity counters that counter rules read. */
enum counter {
    C_ORDERS_1H,
    C_ORDERS_24H,
    C_FAILED_PAY_1H,
    C_FAILED_PAY_24H,
    C_FAILED_LOGIN_1H,
    C_ACCOUNTS,
};

/* Which entity counter each counter rule reads. */
static const struct {
    enum rule rule;
    enum entity_kind ent;
    enum counter counter;
} counter_rules[] = {
    { R_ACCOUNT_ORDERS_1H, ENT_ACCOUNT, C_ORDERS_1H },
    { R_ACCOUNT_ORDERS_24H, ENT_ACCOUNT, C_ORDERS_24H },
    { R_DEVICE_ORDERS_1H, ENT_DEVICE, C_ORDERS_1H },
    { R_DEVICE_ORDERS_24H, ENT_DEVICE, C_ORDERS_24H },
    { R_IP_ORDERS_1H, ENT_IP, C_ORDERS_1H },
    { R_IP_ORDERS_24H, ENT_IP, C_ORDERS_24H },
    { R_CARD_ORDERS_1H, ENT_CARD, C_ORDERS_1H },
    { R_CARD_ORDERS_24H, ENT_CARD, C_ORDERS_24H },
    { R_ACCOUNT_FAILED_PAY_1H, ENT_ACCOUNT, C_FAILED_PAY_1H },
    { R_ACCOUNT_FAILED_PAY_24H, ENT_ACCOUNT, C_FAILED_PAY_24H },
    { R_DEVICE_FAILED_PAY_1H, ENT_DEVICE, C_FAILED_PAY_1H },
    { R_DEVICE_FAILED_PAY_24H, ENT_DEVICE, C_FAILED_PAY_24H },
    { R_IP_FAILED_PAY_1H, ENT_IP, C_FAILED_PAY_1H },
    { R_IP_FAILED_PAY_24H, ENT_IP, C_FAILED_PAY_24H },
    { R_CARD_FAILED_PAY_1H, ENT_CARD, C_FAILED_PAY_1H },
    { R_CARD_FAILED_PAY_24H, ENT_CARD, C_FAILED_PAY_24H },
    { R_DEVICE_MANY_ACCOUNTS, ENT_DEVICE, C_ACCOUNTS },
    { R_IP_MANY_ACCOUNTS, ENT_IP, C_ACCOUNTS },
    { R_CARD_MANY_ACCOUNTS, ENT_CARD, C_ACCOUNTS },
    { R_ACCOUNT_FAILED_LOGINS_1H, ENT_ACCOUNT, C_FAILED_LOGIN_1H },
    { R_DEVICE_FAILED_LOGINS_1H, ENT_DEVICE, C_FAILED_LOGIN_1H },
};

static const char *const entity_names[ENT_COUNT] = {
    [ENT_ACCOUNT] = "account",
    [ENT_DEVICE] = "device",
    [ENT_IP] = "ip",
    [ENT_IP24] = "ip_prefix",
    [ENT_CARD] = "card",
    [ENT_EMAIL] = "email",
    [ENT_IP16] = "ip16",
};

/* Points and value of every rule for one order; 0 points: not fired. */
struct tally {
    uint32_t points[R_COUNT];
    double value[R_COUNT];
};

/* One fired rule, for sorting. */
struct hit {
    enum rule rule;
    uint32_t points;
};

const char *
score_entity_name(enum entity_kind k)
{
    if ((unsigned)k >= ENT_COUNT)
        return "unknown";
    return entity_names[k];
}

void
score_params_default(struct score_params *p)
{
    p->review_threshold = 50;
    p->block_threshold = 80;
}

static void
fire(struct tally *t, enum rule r, uint32_t points, double value)
{
    t->points[r] = points;
    t->value[r] = value;
}

/* Points of a counter rule for count n (0 below its threshold). */
static uint32_t
step_points(const struct rule_def *d, uint32_t n)
{
    uint64_t pts;

    if (n < d->threshold)
        return 0;
    /* 64-bit: step * (n - threshold) can exceed 32 bits. */
    pts = (uint64_t)d->base + (uint64_t)d->step * (n - d->threshold);
    return pts < d->cap ? (uint32_t)pts : d->cap;
}

static uint32_t
counter_get(const struct entity_features *e, enum counter c)
{
    switch (c) {
    case C_ORDERS_1H:
        return e->orders_1h;
    case C_ORDERS_24H:
        return e->orders_24h;
    case C_FAILED_PAY_1H:
        return e->failed_pay_1h;
    case C_FAILED_PAY_24H:
        return e->failed_pay_24h;
    case C_FAILED_LOGIN_1H:
        return e->failed_login_1h;
    case C_ACCOUNTS:
        return e->accounts;
    }
    return 0;
}

/* True when a > k * b, without overflow. */
static int
above_multiple(uint64_t a, uint64_t b, uint64_t k)
{
    if (b > UINT64_MAX / k)
        return 0;
    return a > k * b;
}

/* Account age tiers, first order size and amount against the mean. */
static void
rules_account(struct tally *t, const struct event *ev, const struct features *f)
{
    int64_t age = f->account_age_ms;
    uint64_t mean;

    if (!f->ent[ENT_ACCOUNT].present)
        return;

    if (age < 0)
        fire(t, R_ACCOUNT_NO_SIGNUP, rule_defs[R_ACCOUNT_NO_SIGNUP].base, 1);
    else if (age < MS_HOUR)
        fire(t, R_ACCOUNT_NEW_1H, rule_defs[R_ACCOUNT_NEW_1H].base,
            (double)(age / MS_MINUTE));
    else if (age < MS_DAY)
        fire(t, R_ACCOUNT_NEW_1D, rule_defs[R_ACCOUNT_NEW_1D].base,
            (double)(age / (MS_HOUR / 10)) / 10.0);

    if (f->account_orders == 0 && age >= 0 && age < MS_DAY &&
        ev->amount >= FIRST_ORDER_LARGE)
        fire(t, R_FIRST_ORDER_LARGE, rule_defs[R_FIRST_ORDER_LARGE].base,
            (double)ev->amount);

    if (f->account_orders >= MEAN_MIN_ORDERS) {
        /* A mean of 0 (free orders only) is compared as 1 minor unit. */
        mean = f->account_amount_mean > 0 ? f->account_amount_mean : 1;
        if (above_multiple(ev->amount, mean, MEAN_RATIO_HIGH))
            fire(t, R_AMOUNT_ABOVE_MEAN, MEAN_POINTS_HIGH,
                (double)ev->amount / (double)mean);
        else if (above_multiple(ev->amount, mean, MEAN_RATIO_MID))
            fire(t, R_AMOUNT_ABOVE_MEAN, MEAN_POINTS_MID,
                (double)ev->amount / (double)mean);
        else if (above_multiple(ev->amount, mean, MEAN_RATIO_LOW))
            fire(t, R_AMOUNT_ABOVE_MEAN, MEAN_POINTS_LOW,
                (double)ev->amount / (double)mean);
    }
}

static void
rules_counters(struct tally *t, const struct features *f)
{
    size_t i;
    const struct entity_features *e;
    uint32_t n, pts;

    for (i = 0; i < ARRAY_LEN(counter_rules); i++) {
        e = &f->ent[counter_rules[i].ent];
        if (!e->present)
            continue;
        n = counter_get(e, counter_rules[i].counter);
        pts = step_points(&rule_defs[counter_rules[i].rule], n);
        if (pts > 0)
            fire(t, counter_rules[i].rule, pts, (double)n);
    }
}

static void
rules_device(struct tally *t, const struct features *f)
{
    const struct entity_features *d = &f->ent[ENT_DEVICE];

    if (!d->present)
        return;
    if (!d->known)
        fire(t, R_DEVICE_UNKNOWN, rule_defs[R_DEVICE_UNKNOWN].base, 1);
    else if (d->age_ms >= 0 && d->age_ms < DEVICE_NEW_MS)
        fire(t, R_DEVICE_NEW, rule_defs[R_DEVICE_NEW].base,
            (double)(d->age_ms / (MS_MINUTE / 10)) / 10.0);
}

/* A country is known when the string is not empty. */
static int
country_known(const char c[3])
{
    return c[0] != '\0';
}

static int
country_differs(const char a[3], const char b[3])
{
    return country_known(a) && country_known(b) && strncmp(a, b, 3) != 0;
}

static void
rules_country(struct tally *t, const struct event *ev, const struct features *f)
{
    if (country_differs(ev->ip_country, ev->billing_country))
        fire(
            t, R_IP_BILLING_MISMATCH, rule_defs[R_IP_BILLING_MISMATCH].base, 1);
    if (country_differs(ev->ip_country, ev->shipping_country))
        fire(t, R_IP_SHIPPING_MISMATCH, rule_defs[R_IP_SHIPPING_MISMATCH].base,
            1);
    if (country_differs(ev->billing_country, ev->shipping_country))
        fire(t, R_BILLING_SHIPPING_MISMATCH,
            rule_defs[R_BILLING_SHIPPING_MISMATCH].base, 1);
    if (f->ent[ENT_ACCOUNT].present &&
        country_differs(ev->ip_country, f->account_country))
        fire(t, R_ACCOUNT_COUNTRY_CHANGED,
            rule_defs[R_ACCOUNT_COUNTRY_CHANGED].base, 1);
}

/*
 * Keep only the strongest rule of each group; on a tie the rule listed
 * first (the 1 h window, the younger tier) stays.
 */
static void
resolve_groups(struct tally *t)
{
    unsigned r, g;
    unsigned best[R_COUNT] = { 0 };
    bool seen[R_COUNT] = { false };

    for (r = 0; r < R_COUNT; r++) {
        if (t->points[r] == 0)
            continue;
        g = rule_defs[r].group;
        if (!seen[g] || t->points[r] > t->points[best[g]]) {
            if (seen[g])
                t->points[best[g]] = 0;
            best[g] = r;
            seen[g] = true;
        } else {
            t->points[r] = 0;
        }
    }
}

/* Strongest first; ties by code, so the order never depends on the table. */
static int
hit_before(const struct hit *a, const struct hit *b)
{
    if (a->points != b->points)
        return a->points > b->points;
    return strcmp(score_reason_table[a->rule].code,
               score_reason_table[b->rule].code) < 0;
}

static void
reason_fill(struct reply_reason *out, enum rule r, double value)
{
    const struct score_reason_info *info = &score_reason_table[r];

    snprintf(out->code, sizeof(out->code), "%s", info->code);
    /*
     * The format comes from the constant table above, and the unit test
     * checks that each one has at most one conversion, a double.
     */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out->text, sizeof(out->text), info->text, value);
#pragma GCC diagnostic pop
    out->value = value;
}

/* The rules that stay on top of a model: velocity, card testing,
 * account farms, failed logins (every counter rule). */
static bool
rule_is_hard(enum rule r)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(counter_rules); i++)
        if (counter_rules[i].rule == r)
            return true;
    return false;
}

/*
 * The rules of `t` that scored (only the hard ones when `hard_only`)
 * into hits[], strongest first (hit_before); *total gets the sum of
 * their points. Returns how many.
 */
static size_t
tally_hits(const struct tally *t, bool hard_only, struct hit hits[R_COUNT],
    uint64_t *total)
{
    struct hit tmp;
    size_t nhits = 0, i, j;

    *total = 0;
    for (i = 0; i < R_COUNT; i++) {
        if (t->points[i] == 0 || (hard_only && !rule_is_hard((enum rule)i)))
            continue;
        hits[nhits].rule = (enum rule)i;
        hits[nhits].points = t->points[i];
        *total += t->points[i];
        /* Insertion sort: at most R_COUNT entries. */
        for (j = nhits; j > 0 && hit_before(&hits[j], &hits[j - 1]); j--) {
            tmp = hits[j];
            hits[j] = hits[j - 1];
            hits[j - 1] = tmp;
        }
        nhits++;
    }
    return nhits;
}

void
score_compute(const struct event *ev, const struct features *f,
    const struct score_params *p, struct reply *r)
{
    struct tally t;
    struct hit hits[R_COUNT];
    size_t nhits, i;
    uint64_t total;
    unsigned score;

    memset(r->reasons, 0, sizeof(r->reasons));
    r->nreasons = 0;
    r->model[0] = '\0';
    if (ev->type != EVENT_ORDER_PLACED) {
        r->has_score = false;
        r->score = 0;
        r->decision = REPLY_DECISION_NONE;
        return;
    }

    memset(&t, 0, sizeof(t));
    rules_account(&t, ev, f);
    rules_counters(&t, f);
    rules_device(&t, f);
    rules_country(&t, ev, f);
    resolve_groups(&t);
    nhits = tally_hits(&t, false, hits, &total);

    score = total < SCORE_MAX ? (unsigned)total : SCORE_MAX;
    r->has_score = true;
    r->score = (uint8_t)score;
    if (score >= p->block_threshold)
        r->decision = REPLY_DECISION_BLOCK;
    else if (score >= p->review_threshold)
        r->decision = REPLY_DECISION_REVIEW;
    else
        r->decision = REPLY_DECISION_ALLOW;

    for (i = 0; i < nhits && i < REPLY_MAX_REASONS; i++)
        reason_fill(&r->reasons[i], hits[i].rule, t.value[hits[i].rule]);
    r->nreasons = (uint8_t)i;
}

void
score_model(const struct model *m, const struct event *ev,
    const struct features *f, const struct feature_vec *x,
    const struct score_params *p, struct reply *r)
{
    struct model_result mr;
    struct tally t;
    struct hit hits[R_COUNT];
    size_t nhits, i;
    uint64_t total;
    unsigned floor = 0, score, n = 0, k;
    bool rules_first;

    if (ev->type != EVENT_ORDER_PLACED ||
        model_score(m, x, SCORE_MODEL_REASONS, &mr) != 0) {
        score_compute(ev, f, p, r);
        return;
    }
    memset(r->reasons, 0, sizeof(r->reasons));
    memset(&t, 0, sizeof(t));
    rules_counters(&t, f);
    resolve_groups(&t);
    nhits = tally_hits(&t, true, hits, &total);
    if (total >= p->block_threshold)
        floor = model_block(m);
    else if (total >= p->review_threshold)
        floor = model_review(m);
    score = mr.score > floor ? mr.score : floor;
    r->has_score = true;
    r->score = (uint8_t)score;
    r->decision = model_decide(m, score);
    snprintf(r->model, sizeof(r->model), "%s", model_version(m));

    rules_first = floor > mr.score;
    for (k = 0; k < 2; k++) {
        if ((k == 0) == rules_first) {
            for (i = 0; i < nhits && n < REPLY_MAX_REASONS; i++)
                reason_fill(
                    &r->reasons[n++], hits[i].rule, t.value[hits[i].rule]);
            continue;
        }
        for (i = 0; i < mr.nreasons && n < REPLY_MAX_REASONS; i++) {
            struct reply_reason *o = &r->reasons[n++];

            snprintf(o->code, sizeof(o->code), "%s",
                feature_info(mr.reasons[i].feature)->name);
            model_reason_text(&mr.reasons[i], o->text, sizeof(o->text));
            o->value = mr.reasons[i].value;
        }
    }
    r->nreasons = (uint8_t)n;
}

/* The sum of the hard rules' points for `f` (score_model's floor). */
static uint64_t
hard_total(const struct features *f)
{
    struct tally t;
    uint64_t total = 0;
    unsigned i;

    memset(&t, 0, sizeof(t));
    rules_counters(&t, f);
    resolve_groups(&t);
    for (i = 0; i < R_COUNT; i++)
        if (rule_is_hard((enum rule)i))
            total += t.points[i];
    return total;
}

/*
 * Put reason `code` first in r's reasons, naming the kinds of the
 * entities of `f` on list `which` (value: how many), the others moved
 * down (the last one drops when the list is full).
 */
static void
list_reason(const struct features *f, enum score_list which, const char *code,
    const char *what, struct reply *r)
{
    struct reply_reason *o = &r->reasons[0];
    unsigned k, n = 0, i;
    size_t len;

    i = r->nreasons < REPLY_MAX_REASONS ? r->nreasons : REPLY_MAX_REASONS - 1;
    memmove(&r->reasons[1], &r->reasons[0], i * sizeof(r->reasons[0]));
    r->nreasons = (uint8_t)(i + 1);
    memset(o, 0, sizeof(*o));
    snprintf(o->code, sizeof(o->code), "%s", code);
    len = (size_t)snprintf(o->text, sizeof(o->text), "on the %s list:", what);
    for (k = 0; k < ENT_COUNT; k++) {
        if (!f->ent[k].present || f->ent[k].list != which)
            continue;
        if (len < sizeof(o->text))
            len += (size_t)snprintf(o->text + len, sizeof(o->text) - len,
                "%s %s", n > 0 ? "," : "", entity_names[k]);
        n++;
    }
    o->value = (double)n;
}

void
score_lists(
    const struct features *f, const struct score_params *p, struct reply *r)
{
    bool allow = false, block = false;
    unsigned k;

    if (!r->has_score)
        return;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!f->ent[k].present)
            continue;
        block |= f->ent[k].list == SCORE_LIST_BLOCK;
        allow |= f->ent[k].list == SCORE_LIST_ALLOW;
    }
    if (block) {
        r->score = SCORE_MAX;
        r->decision = REPLY_DECISION_BLOCK;
        list_reason(f, SCORE_LIST_BLOCK, "block_listed", "block", r);
    } else if (allow) {
        if (hard_total(f) < p->block_threshold)
            r->decision = REPLY_DECISION_ALLOW;
        list_reason(f, SCORE_LIST_ALLOW, "allow_listed", "allow", r);
    }
}
