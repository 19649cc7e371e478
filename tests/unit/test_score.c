/*
 * test_score.c - unit tests of the order risk score (scorer/score.c)
 *
 * Table-driven cases for each rule at its threshold boundary, decisions
 * at the thresholds, the calibration scenarios of REASONS.md, the reason
 * table's shape, determinism and monotonicity on random inputs, and a
 * slow reference model (a straight-line copy of the REASONS.md table)
 * compared against score_compute() on 100,000 random feature vectors
 * drawn from a fixed-seed PRNG.
 *
 * Invariants:
 *  - the reference model below never reads score.c's private tables; only
 *    its text formats come from score_reason_table.
 *
 * See also: scorer/score.h, scorer/REASONS.md
 *
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "scorer/model.h"
#include "scorer/score.h"
#include "tests/harness/test.h"

#define MIN_MS  (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

/* ------------------------------------------------------------ helpers */

/*
 * A quiet order: a returning customer whose every entity is present,
 * known for 30 days and clean; same country everywhere. Scores 0.
 */
static void
quiet(struct event *ev, struct features *f)
{
    int k;

    memset(ev, 0, sizeof(*ev));
    memset(f, 0, sizeof(*f));
    ev->type = EVENT_ORDER_PLACED;
    ev->ts = 1700000000000ULL;
    ev->amount = 5000;
    memcpy(ev->ip_country, "US", 3);
    memcpy(ev->billing_country, "US", 3);
    memcpy(ev->shipping_country, "US", 3);
    for (k = 0; k < ENT_COUNT; k++) {
        f->ent[k].present = true;
        f->ent[k].known = true;
        f->ent[k].age_ms = 30 * DAY_MS;
        f->ent[k].accounts = 1;
    }
    f->ent[ENT_ACCOUNT].orders_24h = 1;
    f->account_age_ms = 30 * DAY_MS;
    f->account_orders = 10;
    f->account_amount_mean = 5000;
    f->account_amount_max = 9000;
    memcpy(f->account_country, "US", 3);
}

static void
run(const struct event *ev, const struct features *f, struct reply *r)
{
    struct score_params p;

    score_params_default(&p);
    memset(r, 0, sizeof(*r));
    score_compute(ev, f, &p, r);
}

/* Index of reason `code` in `r`, or -1. */
static int
find(const struct reply *r, const char *code)
{
    int i;

    for (i = 0; i < r->nreasons; i++)
        if (strcmp(r->reasons[i].code, code) == 0)
            return i;
    return -1;
}

static const char *
table_text(const char *code)
{
    unsigned i;

    for (i = 0; i < score_reason_count; i++)
        if (strcmp(score_reason_table[i].code, code) == 0)
            return score_reason_table[i].text;
    return NULL;
}

static void
format_text(char *out, size_t n, const char *fmt, double v)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, n, fmt, v);
#pragma GCC diagnostic pop
}

/* Count printf conversions; -1 if any is not a double conversion. */
static int
count_conversions(const char *fmt)
{
    int n = 0;
    const char *p;

    for (p = fmt; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        while (*p != '\0' && strchr("-+ #0123456789.", *p) != NULL)
            p++;
        if (*p == '\0' || strchr("fFeEgG", *p) == NULL)
            return -1;
        n++;
    }
    return n;
}

/* ------------------------------------------------------ the reason table */

static void
test_reason_table(void)
{
    unsigned i, j;
    const char *c;
    char text[512];
    int len;

    ASSERT(score_reason_count >= 30);
    for (i = 0; i < score_reason_count; i++) {
        c = score_reason_table[i].code;
        ASSERT(c != NULL);
        ASSERT(score_reason_table[i].text != NULL);
        ASSERT(strlen(c) >= 1 && strlen(c) <= 32);
        ASSERT(strlen(c) <= REPLY_REASON_CODE_MAX);
        ASSERT(islower((unsigned char)c[0]));
        ASSERT(c[strlen(c) - 1] != '_');
        for (j = 0; c[j] != '\0'; j++) {
            ASSERT(islower((unsigned char)c[j]) ||
                isdigit((unsigned char)c[j]) || c[j] == '_');
            ASSERT(!(c[j] == '_' && c[j + 1] == '_'));
        }
        for (j = 0; j < i; j++)
            if (strcmp(c, score_reason_table[j].code) == 0)
                TEST_FAIL("duplicate reason code '%s'", c);
        len = count_conversions(score_reason_table[i].text);
        if (len < 0 || len > 1)
            TEST_FAIL("'%s': format must take at most one double", c);
        /* The longest sentence must fit the wire's text field. */
        format_text(text, sizeof(text), score_reason_table[i].text,
            (double)EVENT_MAX_AMOUNT * 1000.0);
        if (strlen(text) > REPLY_REASON_TEXT_MAX)
            TEST_FAIL("'%s': text too long (%zu)", c, strlen(text));
        format_text(
            text, sizeof(text), score_reason_table[i].text, 4294967295.0);
        ASSERT(strlen(text) <= REPLY_REASON_TEXT_MAX);
    }
}

static void
test_entity_names(void)
{
    ASSERT_STR_EQ(score_entity_name(ENT_ACCOUNT), "account");
    ASSERT_STR_EQ(score_entity_name(ENT_DEVICE), "device");
    ASSERT_STR_EQ(score_entity_name(ENT_IP), "ip");
    ASSERT_STR_EQ(score_entity_name(ENT_IP24), "ip_prefix");
    ASSERT_STR_EQ(score_entity_name(ENT_CARD), "card");
    ASSERT_STR_EQ(score_entity_name(ENT_EMAIL), "email");
    ASSERT_STR_EQ(score_entity_name(ENT_COUNT), "unknown");
    ASSERT_STR_EQ(score_entity_name((enum entity_kind) - 1), "unknown");
}

static void
test_params_default(void)
{
    struct score_params p;

    memset(&p, 0xff, sizeof(p));
    score_params_default(&p);
    ASSERT_EQ(p.review_threshold, 50);
    ASSERT_EQ(p.block_threshold, 80);
}

/* ----------------------------------------------------- rule cases (table) */

enum knob {
    K_NONE = 0,
    K_ORDERS_1H,
    K_ORDERS_24H,
    K_FAILED_PAY_1H,
    K_FAILED_PAY_24H,
    K_FAILED_LOGIN_1H,
    K_ACCOUNTS,
    K_FRAUD,
    K_PRESENT,
    K_KNOWN,
    K_ENT_AGE,
    K_ACCOUNT_AGE,
    K_ACCOUNT_ORDERS,
    K_MEAN,
    K_AMOUNT,
    K_IP_COUNTRY, /* v indexes countries[] */
    K_BILLING,
    K_SHIPPING,
    K_ACCOUNT_COUNTRY,
    K_TYPE,
};

static const char countries[][3] = { "", "US", "DE", "FR" };

struct setting {
    enum knob knob;
    enum entity_kind ent;
    int64_t v;
};

struct rule_case {
    const char *code;      /* reason to look for */
    bool fires;            /* whether it must be in the reply */
    double value;          /* its value when it fires */
    unsigned score;        /* expected score of the whole order */
    struct setting set[4]; /* applied to quiet(), K_NONE ends */
};

static void
apply(struct event *ev, struct features *f, const struct setting *s)
{
    struct entity_features *e = &f->ent[s->ent];
    uint32_t u = (uint32_t)s->v;

    switch (s->knob) {
    case K_NONE:
        break;
    case K_ORDERS_1H:
        e->orders_1h = u;
        break;
    case K_ORDERS_24H:
        e->orders_24h = u;
        break;
    case K_FAILED_PAY_1H:
        e->failed_pay_1h = u;
        break;
    case K_FAILED_PAY_24H:
        e->failed_pay_24h = u;
        break;
    case K_FAILED_LOGIN_1H:
        e->failed_login_1h = u;
        break;
    case K_ACCOUNTS:
        e->accounts = u;
        break;
    case K_FRAUD:
        e->fraud_linked = s->v != 0;
        break;
    case K_PRESENT:
        e->present = s->v != 0;
        break;
    case K_KNOWN:
        e->known = s->v != 0;
        break;
    case K_ENT_AGE:
        e->age_ms = s->v;
        break;
    case K_ACCOUNT_AGE:
        f->account_age_ms = s->v;
        break;
    case K_ACCOUNT_ORDERS:
        f->account_orders = u;
        break;
    case K_MEAN:
        f->account_amount_mean = (uint64_t)s->v;
        break;
    case K_AMOUNT:
        ev->amount = (uint64_t)s->v;
        break;
    case K_IP_COUNTRY:
        memcpy(ev->ip_country, countries[s->v], strlen(countries[s->v]) + 1);
        break;
    case K_BILLING:
        memcpy(
            ev->billing_country, countries[s->v], strlen(countries[s->v]) + 1);
        break;
    case K_SHIPPING:
        memcpy(
            ev->shipping_country, countries[s->v], strlen(countries[s->v]) + 1);
        break;
    case K_ACCOUNT_COUNTRY:
        memcpy(
            f->account_country, countries[s->v], strlen(countries[s->v]) + 1);
        break;
    case K_TYPE:
        ev->type = (enum event_type)s->v;
        break;
    }
}

#define S(k, e, v)                                                             \
    {                                                                          \
        (k), (e), (v)                                                          \
    }
#define A ENT_ACCOUNT
#define D ENT_DEVICE
#define I ENT_IP
#define P ENT_IP24
#define C ENT_CARD
#define E ENT_EMAIL

static const struct rule_case rule_cases[] = {
    /* Account age tiers. */
    { "account_new_1h", true, 0, 30, { S(K_ACCOUNT_AGE, A, 0) } },
    { "account_new_1h", true, 10, 30, { S(K_ACCOUNT_AGE, A, 10 * MIN_MS) } },
    { "account_new_1h", true, 59, 30, { S(K_ACCOUNT_AGE, A, HOUR_MS - 1) } },
    { "account_new_1h", false, 0, 15, { S(K_ACCOUNT_AGE, A, HOUR_MS) } },
    { "account_new_1d", true, 1.0, 15, { S(K_ACCOUNT_AGE, A, HOUR_MS) } },
    { "account_new_1d", true, 23.9, 15, { S(K_ACCOUNT_AGE, A, DAY_MS - 1) } },
    { "account_new_1d", false, 0, 0, { S(K_ACCOUNT_AGE, A, DAY_MS) } },
    { "account_new_1d", false, 0, 30, { S(K_ACCOUNT_AGE, A, HOUR_MS - 1) } },
    { "account_no_signup", true, 1, 5, { S(K_ACCOUNT_AGE, A, -1) } },
    { "account_no_signup", false, 0, 0,
        { S(K_ACCOUNT_AGE, A, -1), S(K_PRESENT, A, 0) } },
    { "account_new_1h", false, 0, 0,
        { S(K_ACCOUNT_AGE, A, 5 * MIN_MS), S(K_PRESENT, A, 0) } },

    /* Large first order on a young account. */
    { "first_order_large", true, 50000, 35,
        { S(K_ACCOUNT_ORDERS, A, 0), S(K_ACCOUNT_AGE, A, 2 * HOUR_MS),
            S(K_AMOUNT, A, 50000) } },
    { "first_order_large", false, 0, 15,
        { S(K_ACCOUNT_ORDERS, A, 0), S(K_ACCOUNT_AGE, A, 2 * HOUR_MS),
            S(K_AMOUNT, A, 49999) } },
    { "first_order_large", true, 60000, 50,
        { S(K_ACCOUNT_ORDERS, A, 0), S(K_ACCOUNT_AGE, A, HOUR_MS - 1),
            S(K_AMOUNT, A, 60000) } },
    { "first_order_large", false, 0, 0,
        { S(K_ACCOUNT_ORDERS, A, 0), S(K_ACCOUNT_AGE, A, DAY_MS),
            S(K_AMOUNT, A, 60000) } },
    { "first_order_large", false, 0, 5,
        { S(K_ACCOUNT_ORDERS, A, 0), S(K_ACCOUNT_AGE, A, -1),
            S(K_AMOUNT, A, 60000) } },
    { "first_order_large", false, 0, 15,
        { S(K_ACCOUNT_ORDERS, A, 1), S(K_ACCOUNT_AGE, A, 2 * HOUR_MS),
            S(K_AMOUNT, A, 60000) } },

    /* Amount against the account's mean (quiet mean 5000, 10 orders). */
    { "amount_above_mean", false, 0, 0, { S(K_AMOUNT, A, 15000) } },
    { "amount_above_mean", true, 3.0002, 10, { S(K_AMOUNT, A, 15001) } },
    { "amount_above_mean", true, 5.0, 10, { S(K_AMOUNT, A, 25000) } },
    { "amount_above_mean", true, 5.0002, 20, { S(K_AMOUNT, A, 25001) } },
    { "amount_above_mean", true, 10.0, 20, { S(K_AMOUNT, A, 50000) } },
    { "amount_above_mean", true, 10.0002, 30, { S(K_AMOUNT, A, 50001) } },
    { "amount_above_mean", true, 200000, 30, { S(K_AMOUNT, A, 1000000000) } },
    { "amount_above_mean", false, 0, 0,
        { S(K_AMOUNT, A, 1000000000), S(K_ACCOUNT_ORDERS, A, 1) } },
    { "amount_above_mean", true, 1000000, 30,
        { S(K_AMOUNT, A, 5000000000), S(K_ACCOUNT_ORDERS, A, 2) } },
    { "amount_above_mean", true, 4, 10,
        { S(K_AMOUNT, A, 4), S(K_MEAN, A, 0) } },
    { "amount_above_mean", false, 0, 0,
        { S(K_AMOUNT, A, 3), S(K_MEAN, A, 0) } },
    { "amount_above_mean", false, 0, 0,
        { S(K_AMOUNT, A, 1000000000), S(K_PRESENT, A, 0) } },
    /* K_MEAN -1 stores UINT64_MAX: k x mean overflows, never fires. */
    { "amount_above_mean", false, 0, 0,
        { S(K_AMOUNT, A, 1000000), S(K_MEAN, A, -1) } },

    /* An order of amount 0 adds no points, even on a young account. */
    { "amount_above_mean", false, 0, 0,
        { S(K_AMOUNT, A, 0), S(K_MEAN, A, 0) } },
    { "first_order_large", false, 0, 30,
        { S(K_AMOUNT, A, 0), S(K_ACCOUNT_ORDERS, A, 0),
            S(K_ACCOUNT_AGE, A, 5 * MIN_MS) } },

    /* Groups: the strongest window counts, ties go to the 1 h rule. */
    { "account_orders_24h", true, 10, 15,
        { S(K_ORDERS_1H, A, 3), S(K_ORDERS_24H, A, 10) } },
    { "account_orders_1h", false, 0, 15,
        { S(K_ORDERS_1H, A, 3), S(K_ORDERS_24H, A, 10) } },
    { "account_orders_1h", true, 4, 15,
        { S(K_ORDERS_1H, A, 4), S(K_ORDERS_24H, A, 10) } },
    { "account_orders_24h", false, 0, 15,
        { S(K_ORDERS_1H, A, 4), S(K_ORDERS_24H, A, 10) } },
    { "card_failed_payments_1h", true, 3, 50,
        { S(K_FAILED_PAY_1H, C, 3), S(K_FAILED_PAY_24H, C, 9) } },
    { "card_failed_payments_24h", false, 0, 50,
        { S(K_FAILED_PAY_1H, C, 3), S(K_FAILED_PAY_24H, C, 9) } },

    /* Device age. */
    { "device_unknown", true, 1, 10,
        { S(K_KNOWN, D, 0), S(K_ENT_AGE, D, -1) } },
    { "device_unknown", false, 0, 0, { S(K_KNOWN, D, 0), S(K_PRESENT, D, 0) } },
    { "device_new", true, 9.9, 10, { S(K_ENT_AGE, D, 10 * MIN_MS - 1) } },
    { "device_new", true, 0, 10, { S(K_ENT_AGE, D, 0) } },
    { "device_new", false, 0, 0, { S(K_ENT_AGE, D, 10 * MIN_MS) } },
    { "device_new", false, 0, 0, { S(K_ENT_AGE, D, -1) } },
    { "device_new", false, 0, 10,
        { S(K_KNOWN, D, 0), S(K_ENT_AGE, D, 60000) } },
    { "device_new", false, 0, 0, { S(K_ENT_AGE, I, 0), S(K_KNOWN, C, 0) } },

    /* Countries (0 "", 1 US, 2 DE, 3 FR). */
    { "ip_billing_country_mismatch", true, 1, 25,
        { S(K_IP_COUNTRY, A, 2), S(K_SHIPPING, A, 2),
            S(K_ACCOUNT_COUNTRY, A, 2) } },
    { "ip_shipping_country_mismatch", true, 1, 20,
        { S(K_IP_COUNTRY, A, 2), S(K_BILLING, A, 2),
            S(K_ACCOUNT_COUNTRY, A, 2) } },
    { "billing_shipping_mismatch", true, 1, 10,
        { S(K_IP_COUNTRY, A, 0), S(K_SHIPPING, A, 2) } },
    { "account_country_changed", true, 1, 10,
        { S(K_IP_COUNTRY, A, 2), S(K_BILLING, A, 0), S(K_SHIPPING, A, 0) } },
    { "account_country_changed", false, 0, 0,
        { S(K_IP_COUNTRY, A, 2), S(K_BILLING, A, 0), S(K_SHIPPING, A, 0),
            S(K_PRESENT, A, 0) } },
    { "account_country_changed", false, 0, 0,
        { S(K_ACCOUNT_COUNTRY, A, 0), S(K_IP_COUNTRY, A, 2), S(K_BILLING, A, 0),
            S(K_SHIPPING, A, 0) } },
    { "ip_billing_country_mismatch", false, 0, 10,
        { S(K_IP_COUNTRY, A, 0), S(K_ACCOUNT_COUNTRY, A, 2),
            S(K_SHIPPING, A, 3) } },
    { "ip_billing_country_mismatch", true, 1, 35, { S(K_IP_COUNTRY, A, 3) } },
    { "ip_billing_country_mismatch", false, 0, 0,
        { S(K_BILLING, A, 0), S(K_SHIPPING, A, 0) } },

};

/* Counter rules: {code, knob, entity, threshold, base, step, cap}. */
static const struct counter_case {
    const char *code;
    enum knob knob;
    enum entity_kind ent;
    uint32_t thr, base, step, cap;
} counter_cases[] = {
    { "account_orders_1h", K_ORDERS_1H, A, 3, 10, 5, 25 },
    { "account_orders_24h", K_ORDERS_24H, A, 5, 5, 2, 15 },
    { "device_orders_1h", K_ORDERS_1H, D, 3, 10, 5, 25 },
    { "device_orders_24h", K_ORDERS_24H, D, 5, 5, 2, 15 },
    { "ip_orders_1h", K_ORDERS_1H, I, 5, 10, 3, 25 },
    { "ip_orders_24h", K_ORDERS_24H, I, 10, 5, 1, 15 },
    { "card_orders_1h", K_ORDERS_1H, C, 3, 10, 5, 25 },
    { "card_orders_24h", K_ORDERS_24H, C, 5, 5, 2, 15 },
    { "account_failed_payments_1h", K_FAILED_PAY_1H, A, 3, 20, 10, 50 },
    { "account_failed_payments_24h", K_FAILED_PAY_24H, A, 5, 10, 5, 30 },
    { "device_failed_payments_1h", K_FAILED_PAY_1H, D, 3, 35, 15, 95 },
    { "device_failed_payments_24h", K_FAILED_PAY_24H, D, 5, 15, 5, 40 },
    { "ip_failed_payments_1h", K_FAILED_PAY_1H, I, 5, 20, 5, 50 },
    { "ip_failed_payments_24h", K_FAILED_PAY_24H, I, 10, 10, 2, 30 },
    { "card_failed_payments_1h", K_FAILED_PAY_1H, C, 2, 35, 15, 95 },
    { "card_failed_payments_24h", K_FAILED_PAY_24H, C, 4, 15, 5, 40 },
    { "device_many_accounts", K_ACCOUNTS, D, 3, 30, 10, 70 },
    { "ip_many_accounts", K_ACCOUNTS, I, 5, 10, 2, 25 },
    { "card_many_accounts", K_ACCOUNTS, C, 2, 30, 15, 75 },
    { "account_failed_logins_1h", K_FAILED_LOGIN_1H, A, 3, 10, 5, 30 },
    { "device_failed_logins_1h", K_FAILED_LOGIN_1H, D, 5, 10, 3, 25 },
};

static void
check_case(const struct rule_case *c, size_t idx)
{
    struct event ev;
    struct features f;
    struct reply r;
    char want[REPLY_REASON_TEXT_MAX + 1];
    const char *fmt;
    double diff;
    int i, at;

    quiet(&ev, &f);
    for (i = 0; i < 4 && c->set[i].knob != K_NONE; i++)
        apply(&ev, &f, &c->set[i]);
    run(&ev, &f, &r);
    ASSERT(r.has_score);
    at = find(&r, c->code);
    if (c->fires && at < 0)
        TEST_FAIL("case %zu: '%s' did not fire (score %u)", idx, c->code,
            (unsigned)r.score);
    if (!c->fires && at >= 0)
        TEST_FAIL(
            "case %zu: '%s' fired (score %u)", idx, c->code, (unsigned)r.score);
    if (r.score != c->score)
        TEST_FAIL("case %zu ('%s'): score %u, want %u", idx, c->code,
            (unsigned)r.score, c->score);
    if (at >= 0) {
        diff = r.reasons[at].value - c->value;
        if (diff > 1e-9 || diff < -1e-9)
            TEST_FAIL("case %zu: '%s' value %.17g, want %.17g", idx, c->code,
                r.reasons[at].value, c->value);
        fmt = table_text(c->code);
        ASSERT(fmt != NULL);
        format_text(want, sizeof(want), fmt, r.reasons[at].value);
        ASSERT_STR_EQ(r.reasons[at].text, want);
    }
}

static void
test_rule_cases(void)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(rule_cases); i++)
        check_case(&rule_cases[i], i);
}

static void
test_counter_rules(void)
{
    size_t i, k;
    struct rule_case c;
    uint64_t pts;
    uint32_t ns[5];

    for (i = 0; i < ARRAY_LEN(counter_cases); i++) {
        const struct counter_case *cc = &counter_cases[i];

        ns[0] = cc->thr - 1;
        ns[1] = cc->thr;
        ns[2] = cc->thr + 1;
        ns[3] = cc->thr + 50;
        ns[4] = UINT32_MAX;
        for (k = 0; k < ARRAY_LEN(ns); k++) {
            memset(&c, 0, sizeof(c));
            c.code = cc->code;
            c.set[0].knob = cc->knob;
            c.set[0].ent = cc->ent;
            c.set[0].v = ns[k];
            /* quiet() has 1 account per entity and 1 order today. */
            if (cc->knob == K_ORDERS_24H && cc->ent == A)
                c.set[1] = (struct setting){ K_ORDERS_1H, A, 0 };
            c.fires = ns[k] >= cc->thr;
            c.value = ns[k];
            pts = 0;
            if (c.fires) {
                pts = cc->base + (uint64_t)cc->step * (ns[k] - cc->thr);
                if (pts > cc->cap)
                    pts = cc->cap;
            }
            c.score = (unsigned)pts;
            check_case(&c, 1000 + i * 10 + k);
        }
        /* An absent entity never fires. */
        memset(&c, 0, sizeof(c));
        c.code = cc->code;
        c.set[0] = (struct setting){ cc->knob, cc->ent, 1000 };
        c.set[1] = (struct setting){ K_PRESENT, cc->ent, 0 };
        c.fires = false;
        c.score = 0;
        check_case(&c, 2000 + i);
    }
    /* Every counter rule and the table agree. */
    for (i = 0; i < ARRAY_LEN(counter_cases); i++)
        ASSERT(table_text(counter_cases[i].code) != NULL);
}

/* Every code in the table is exercised by some case above. */
static void
test_every_code_tested(void)
{
    unsigned i;
    size_t j;
    bool found;

    for (i = 0; i < score_reason_count; i++) {
        found = false;
        for (j = 0; j < ARRAY_LEN(rule_cases) && !found; j++)
            found = rule_cases[j].fires &&
                strcmp(rule_cases[j].code, score_reason_table[i].code) == 0;
        for (j = 0; j < ARRAY_LEN(counter_cases) && !found; j++)
            found =
                strcmp(counter_cases[j].code, score_reason_table[i].code) == 0;
        if (!found)
            TEST_FAIL("no case fires '%s'", score_reason_table[i].code);
    }
}

static void
test_texts(void)
{
    struct event ev;
    struct features f;
    struct reply r;
    int at;

    quiet(&ev, &f);
    f.account_age_ms = 10 * MIN_MS;
    f.ent[ENT_DEVICE].accounts = 5;
    run(&ev, &f, &r);
    at = find(&r, "account_new_1h");
    ASSERT(at >= 0);
    ASSERT_STR_EQ(
        r.reasons[at].text, "account created 10 minutes before the order");
    at = find(&r, "device_many_accounts");
    ASSERT(at >= 0);
    ASSERT_STR_EQ(
        r.reasons[at].text, "5 different accounts seen on this device");
}

/* ------------------------------------------------ decisions, calibration */

static void
test_decisions(void)
{
    struct event ev;
    struct features f;
    struct reply r;
    struct score_params p;

    /* Score exactly 30: a brand-new account. */
    quiet(&ev, &f);
    f.account_age_ms = 0;
    p.review_threshold = 30;
    p.block_threshold = 60;
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.score, 30);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);
    p.review_threshold = 31;
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    p.review_threshold = 10;
    p.block_threshold = 30;
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    p.block_threshold = 31;
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);
    p.review_threshold = 0;
    p.block_threshold = 101;
    quiet(&ev, &f);
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.score, 0);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);

    /* Default thresholds at 45/50 and 75/80. */
    quiet(&ev, &f);
    f.ent[ENT_CARD].accounts = 3; /* 45 */
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 45);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    f.ent[ENT_CARD].accounts = 1;
    f.ent[ENT_DEVICE].accounts = 5; /* 50 */
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 50);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);
    f.ent[ENT_DEVICE].accounts = 1;
    f.ent[ENT_CARD].accounts = 5; /* 75 */
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 75);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);
    f.ent[ENT_CARD].accounts = 1;
    f.ent[ENT_CARD].failed_pay_1h = 5; /* 35 + 15 * 3 = 80 */
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 80);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
}

static void
test_calibration(void)
{
    struct event ev;
    struct features f;
    struct reply r;
    int k;

    /* Returning customer: allow, under 20. */
    quiet(&ev, &f);
    run(&ev, &f, &r);
    ASSERT(r.score < 20);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    ASSERT_EQ(r.nreasons, 0);

    /* Brand-new account, new device, big first order, country mismatch. */
    quiet(&ev, &f);
    f.account_age_ms = 10 * MIN_MS;
    f.account_orders = 0;
    f.account_amount_mean = 0;
    f.account_amount_max = 0;
    f.ent[ENT_ACCOUNT].orders_24h = 0;
    memset(f.account_country, 0, sizeof(f.account_country));
    for (k = 0; k < ENT_COUNT; k++) {
        f.ent[k].known = false;
        f.ent[k].age_ms = -1;
        f.ent[k].accounts = 0;
    }
    ev.amount = 60000;
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 60);
    ASSERT_EQ(r.decision, REPLY_DECISION_REVIEW);
    memcpy(ev.ip_country, "DE", 3);
    memcpy(ev.shipping_country, "DE", 3);
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 85);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "account_new_1h");
    ASSERT_STR_EQ(r.reasons[1].code, "first_order_large");
    ASSERT_STR_EQ(r.reasons[2].code, "ip_billing_country_mismatch");
    ASSERT_STR_EQ(r.reasons[3].code, "billing_shipping_mismatch");
    ASSERT_STR_EQ(r.reasons[4].code, "device_unknown");
    ASSERT_EQ(r.nreasons, 5);
    /* Only the shipping country differs: 30 + 20 + 10 + 10 + 10. */
    memcpy(ev.ip_country, "US", 3);
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 80);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);

    /* Card testing: 5 failed payments on the card in the last hour. */
    quiet(&ev, &f);
    f.ent[ENT_CARD].failed_pay_1h = 5;
    f.ent[ENT_CARD].failed_pay_24h = 5;
    run(&ev, &f, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "card_failed_payments_1h");
    /* ... and from one device, many cards. */
    quiet(&ev, &f);
    f.ent[ENT_DEVICE].failed_pay_1h = 6;
    run(&ev, &f, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);

    /* A device with 5 accounts: at least review. */
    quiet(&ev, &f);
    f.ent[ENT_DEVICE].accounts = 5;
    run(&ev, &f, &r);
    ASSERT(r.decision == REPLY_DECISION_REVIEW ||
        r.decision == REPLY_DECISION_BLOCK);

    /* A fraud-linked entity adds nothing (issue 7: no flat points). */
    for (k = 0; k < ENT_COUNT; k++) {
        quiet(&ev, &f);
        f.ent[k].fraud_linked = true;
        run(&ev, &f, &r);
        ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    }
}

static void
test_not_an_order(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply r;

    quiet(&ev, &f);
    f.ent[ENT_ACCOUNT].fraud_linked = true;
    ev.type = EVENT_ACCOUNT_LOGIN;
    score_params_default(&p);
    memset(&r, 0x5a, sizeof(r));
    score_compute(&ev, &f, &p, &r);
    ASSERT(!r.has_score);
    ASSERT_EQ(r.score, 0);
    ASSERT_EQ(r.decision, REPLY_DECISION_NONE);
    ASSERT_EQ(r.nreasons, 0);
}

/* score_compute leaves id, code and msg alone. */
static void
test_leaves_header(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply r;
    char id[sizeof(r.id)], msg[sizeof(r.msg)];

    quiet(&ev, &f);
    f.account_age_ms = 0;
    score_params_default(&p);
    memset(&r, 0x5a, sizeof(r));
    memcpy(id, r.id, sizeof(id));
    memcpy(msg, r.msg, sizeof(msg));
    score_compute(&ev, &f, &p, &r);
    ASSERT_MEM_EQ(r.id, id, sizeof(id));
    ASSERT_MEM_EQ(r.msg, msg, sizeof(msg));
    ASSERT_EQ(r.code, 0x5a5a5a5a);
    ASSERT(r.has_score);
    ASSERT_EQ(r.score, 30);
    ASSERT_EQ(r.nreasons, 1);
}

static void
test_ties_and_limit(void)
{
    struct event ev;
    struct features f;
    struct reply r;
    int k;

    /* Two 10-point reasons: sorted by code. */
    quiet(&ev, &f);
    f.ent[ENT_DEVICE].known = false;
    memcpy(ev.shipping_country, "DE", 3);
    memcpy(ev.ip_country, "", 1);
    run(&ev, &f, &r);
    ASSERT_EQ(r.nreasons, 2);
    ASSERT_STR_EQ(r.reasons[0].code, "billing_shipping_mismatch");
    ASSERT_STR_EQ(r.reasons[1].code, "device_unknown");

    /* Everything at once: capped at 100 and 8 reasons. */
    quiet(&ev, &f);
    for (k = 0; k < ENT_COUNT; k++) {
        f.ent[k].fraud_linked = true;
        f.ent[k].orders_1h = 100;
        f.ent[k].failed_pay_1h = 100;
        f.ent[k].accounts = 100;
    }
    run(&ev, &f, &r);
    ASSERT_EQ(r.score, 100);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_EQ(r.nreasons, REPLY_MAX_REASONS);
    ASSERT_STR_EQ(r.reasons[0].code, "card_failed_payments_1h");
    ASSERT_STR_EQ(r.reasons[1].code, "device_failed_payments_1h");
}

/* --------------------------------------------------------- random inputs */

static uint64_t rng_state;

/* xorshift64*: fixed seed, identical sequence on every platform. */
static uint64_t
rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t
rnd_below(uint64_t n)
{
    return rnd() % n;
}

/* Set per vector: calm vectors mostly stay under the thresholds. */
static bool rng_calm;

static uint32_t
rnd_count(void)
{
    if (rng_calm)
        return rnd_below(4) ? 0 : (uint32_t)rnd_below(4);
    switch (rnd_below(20)) {
    case 0:
        return (uint32_t)rnd();
    case 1:
        return UINT32_MAX - (uint32_t)rnd_below(3);
    case 2:
    case 3:
        return (uint32_t)rnd_below(300);
    default:
        return rnd_below(2) ? 0 : (uint32_t)rnd_below(14);
    }
}

static int64_t
rnd_age(void)
{
    static const int64_t edges[] = { -1, 0, 1, 10 * MIN_MS - 1, 10 * MIN_MS,
        HOUR_MS - 1, HOUR_MS, DAY_MS - 1, DAY_MS, INT64_MAX };

    switch (rnd_below(5)) {
    case 0:
        return edges[rnd_below(ARRAY_LEN(edges))];
    case 1:
        return (int64_t)rnd_below(2 * HOUR_MS);
    case 2:
        return (int64_t)rnd_below(2 * DAY_MS);
    case 3:
        return (int64_t)rnd_below(400 * DAY_MS);
    default:
        return -1 - (int64_t)rnd_below(3);
    }
}

static uint64_t
rnd_amount(void)
{
    switch (rnd_below(6)) {
    case 0:
        return 0;
    case 1:
        return 49999 + rnd_below(3);
    case 2:
        return rnd_below(1000000);
    case 3:
        return rnd_below(EVENT_MAX_AMOUNT + 1);
    default:
        return rnd_below(100000);
    }
}

static void
rnd_country(char c[3])
{
    memcpy(c, countries[rnd_below(3)], 3);
}

static void
random_input(struct event *ev, struct features *f)
{
    struct entity_features *e;
    int k;

    memset(ev, 0, sizeof(*ev));
    memset(f, 0, sizeof(*f));
    rng_calm = rnd_below(3) == 0;
    ev->type = rnd_below(30) ? EVENT_ORDER_PLACED :
                               (enum event_type)rnd_below(EVENT_TYPE_COUNT);
    ev->ts = EVENT_MIN_TS + rnd_below(EVENT_MAX_TS - EVENT_MIN_TS);
    ev->amount = rnd_amount();
    rnd_country(ev->ip_country);
    rnd_country(ev->billing_country);
    rnd_country(ev->shipping_country);
    for (k = 0; k < ENT_COUNT; k++) {
        e = &f->ent[k];
        e->present = rnd_below(8) != 0;
        e->known = rnd_below(6) != 0;
        e->age_ms = rnd_age();
        e->orders_1h = rnd_count();
        e->orders_24h =
            rnd_below(4) ? e->orders_1h + rnd_count() / 2 : rnd_count();
        e->failed_pay_1h = rnd_count();
        e->failed_pay_24h = rnd_count();
        e->failed_login_1h = rnd_count();
        e->accounts = rnd_count();
        e->fraud_linked = rnd_below(rng_calm ? 200 : 20) == 0;
    }
    f->account_age_ms = rnd_age();
    f->account_orders = rnd_below(3) ? (uint32_t)rnd_below(5) : rnd_count();
    switch (rnd_below(5)) {
    case 0:
        f->account_amount_mean = 0;
        break;
    case 1:
        /* Exactly on a ratio boundary. */
        f->account_amount_mean =
            ev->amount / (uint64_t[]){ 1, 3, 5, 10 }[rnd_below(4)];
        break;
    case 2:
        f->account_amount_mean = rnd();
        break;
    default:
        f->account_amount_mean = rnd_below(200000);
        break;
    }
    f->account_amount_max = f->account_amount_mean * 2;
    rnd_country(f->account_country);
}

/* ------------------------------------------------------ reference model */

/*
 * A straight-line copy of the REASONS.md table, written without looking
 * at score.c's data structures. Slow and obvious on purpose.
 */
struct ref_hit {
    const char *code;
    unsigned points;
    double value;
};

struct ref_result {
    bool has_score;
    unsigned score;
    enum reply_decision decision;
    int n;
    struct ref_hit hit[64];
};

static void
ref_add(struct ref_result *res, const char *code, unsigned points, double value)
{
    if (points == 0)
        return;
    res->hit[res->n].code = code;
    res->hit[res->n].points = points;
    res->hit[res->n].value = value;
    res->n++;
}

/* min(cap, base + step * (n - threshold)) when n >= threshold, else 0. */
static unsigned
ref_step(
    uint32_t n, uint32_t threshold, unsigned base, unsigned step, unsigned cap)
{
    uint64_t p;

    if (n < threshold)
        return 0;
    p = base + (uint64_t)step * (uint64_t)(n - threshold);
    if (p > cap)
        p = cap;
    return (unsigned)p;
}

/* A group of two window rules: only the stronger, 1 h wins ties. */
static void
ref_pair(struct ref_result *res, const char *code_1h, unsigned p_1h,
    uint32_t n_1h, const char *code_24h, unsigned p_24h, uint32_t n_24h)
{
    if (p_1h >= p_24h)
        ref_add(res, code_1h, p_1h, n_1h);
    else
        ref_add(res, code_24h, p_24h, n_24h);
}

static bool
ref_differ(const char *a, const char *b)
{
    return a[0] != '\0' && b[0] != '\0' && strcmp(a, b) != 0;
}

static void
ref_model(const struct event *ev, const struct features *f,
    const struct score_params *p, struct ref_result *res)
{
    const struct entity_features *acc = &f->ent[ENT_ACCOUNT];
    const struct entity_features *dev = &f->ent[ENT_DEVICE];
    const struct entity_features *ip = &f->ent[ENT_IP];
    const struct entity_features *card = &f->ent[ENT_CARD];
    int64_t age = f->account_age_ms;
    uint64_t mean, total;
    int i;

    memset(res, 0, sizeof(*res));
    if (ev->type != EVENT_ORDER_PLACED) {
        res->decision = REPLY_DECISION_NONE;
        return;
    }
    res->has_score = true;

    /* Group A: account age. */
    if (acc->present) {
        if (age >= 0 && age < HOUR_MS)
            ref_add(res, "account_new_1h", 30, (double)(age / MIN_MS));
        else if (age >= HOUR_MS && age < DAY_MS)
            ref_add(res, "account_new_1d", 15,
                (double)(age / (HOUR_MS / 10)) / 10.0);
        else if (age < 0)
            ref_add(res, "account_no_signup", 5, 1);
    }

    /* first_order_large. */
    if (acc->present && f->account_orders == 0 && age >= 0 && age < DAY_MS &&
        ev->amount >= 50000)
        ref_add(res, "first_order_large", 20, (double)ev->amount);

    /*
     * amount_above_mean. For whole numbers, a > k * m exactly when
     * a >= 1 and (a - 1) / k >= m; no product, so no overflow.
     */
    if (acc->present && f->account_orders >= 2) {
        mean = f->account_amount_mean == 0 ? 1 : f->account_amount_mean;
        if (ev->amount >= 1 && (ev->amount - 1) / 10 >= mean)
            ref_add(res, "amount_above_mean", 30,
                (double)ev->amount / (double)mean);
        else if (ev->amount >= 1 && (ev->amount - 1) / 5 >= mean)
            ref_add(res, "amount_above_mean", 20,
                (double)ev->amount / (double)mean);
        else if (ev->amount >= 1 && (ev->amount - 1) / 3 >= mean)
            ref_add(res, "amount_above_mean", 10,
                (double)ev->amount / (double)mean);
    }

    /* Groups B-E: order velocity. */
    if (acc->present)
        ref_pair(res, "account_orders_1h",
            ref_step(acc->orders_1h, 3, 10, 5, 25), acc->orders_1h,
            "account_orders_24h", ref_step(acc->orders_24h, 5, 5, 2, 15),
            acc->orders_24h);
    if (dev->present)
        ref_pair(res, "device_orders_1h",
            ref_step(dev->orders_1h, 3, 10, 5, 25), dev->orders_1h,
            "device_orders_24h", ref_step(dev->orders_24h, 5, 5, 2, 15),
            dev->orders_24h);
    if (ip->present)
        ref_pair(res, "ip_orders_1h", ref_step(ip->orders_1h, 5, 10, 3, 25),
            ip->orders_1h, "ip_orders_24h",
            ref_step(ip->orders_24h, 10, 5, 1, 15), ip->orders_24h);
    if (card->present)
        ref_pair(res, "card_orders_1h", ref_step(card->orders_1h, 3, 10, 5, 25),
            card->orders_1h, "card_orders_24h",
            ref_step(card->orders_24h, 5, 5, 2, 15), card->orders_24h);

    /* Groups F-I: failed payments. */
    if (acc->present)
        ref_pair(res, "account_failed_payments_1h",
            ref_step(acc->failed_pay_1h, 3, 20, 10, 50), acc->failed_pay_1h,
            "account_failed_payments_24h",
            ref_step(acc->failed_pay_24h, 5, 10, 5, 30), acc->failed_pay_24h);
    if (dev->present)
        ref_pair(res, "device_failed_payments_1h",
            ref_step(dev->failed_pay_1h, 3, 35, 15, 95), dev->failed_pay_1h,
            "device_failed_payments_24h",
            ref_step(dev->failed_pay_24h, 5, 15, 5, 40), dev->failed_pay_24h);
    if (ip->present)
        ref_pair(res, "ip_failed_payments_1h",
            ref_step(ip->failed_pay_1h, 5, 20, 5, 50), ip->failed_pay_1h,
            "ip_failed_payments_24h",
            ref_step(ip->failed_pay_24h, 10, 10, 2, 30), ip->failed_pay_24h);
    if (card->present)
        ref_pair(res, "card_failed_payments_1h",
            ref_step(card->failed_pay_1h, 2, 35, 15, 95), card->failed_pay_1h,
            "card_failed_payments_24h",
            ref_step(card->failed_pay_24h, 4, 15, 5, 40), card->failed_pay_24h);

    /* Account farms. */
    if (dev->present)
        ref_add(res, "device_many_accounts",
            ref_step(dev->accounts, 3, 30, 10, 70), dev->accounts);
    if (ip->present)
        ref_add(res, "ip_many_accounts", ref_step(ip->accounts, 5, 10, 2, 25),
            ip->accounts);
    if (card->present)
        ref_add(res, "card_many_accounts",
            ref_step(card->accounts, 2, 30, 15, 75), card->accounts);

    /* Group J: device age. */
    if (dev->present && !dev->known)
        ref_add(res, "device_unknown", 10, 1);
    if (dev->present && dev->known && dev->age_ms >= 0 &&
        dev->age_ms < 10 * MIN_MS)
        ref_add(res, "device_new", 10,
            (double)(dev->age_ms / (MIN_MS / 10)) / 10.0);

    /* Countries. */
    if (ref_differ(ev->ip_country, ev->billing_country))
        ref_add(res, "ip_billing_country_mismatch", 15, 1);
    if (ref_differ(ev->ip_country, ev->shipping_country))
        ref_add(res, "ip_shipping_country_mismatch", 10, 1);
    if (ref_differ(ev->billing_country, ev->shipping_country))
        ref_add(res, "billing_shipping_mismatch", 10, 1);
    if (acc->present && ref_differ(ev->ip_country, f->account_country))
        ref_add(res, "account_country_changed", 10, 1);

    /* Failed logins. */
    if (acc->present)
        ref_add(res, "account_failed_logins_1h",
            ref_step(acc->failed_login_1h, 3, 10, 5, 30), acc->failed_login_1h);
    if (dev->present)
        ref_add(res, "device_failed_logins_1h",
            ref_step(dev->failed_login_1h, 5, 10, 3, 25), dev->failed_login_1h);

    /* No fraud-link points (issue 7): the model weighs links. */

    total = 0;
    for (i = 0; i < res->n; i++)
        total += res->hit[i].points;
    res->score = total > 100 ? 100 : (unsigned)total;
    if (res->score >= p->block_threshold)
        res->decision = REPLY_DECISION_BLOCK;
    else if (res->score >= p->review_threshold)
        res->decision = REPLY_DECISION_REVIEW;
    else
        res->decision = REPLY_DECISION_ALLOW;
}

/* Bubble sort: more points first, then code order. */
static void
ref_sort(struct ref_result *res)
{
    int i, j;
    struct ref_hit t;
    bool swap;

    for (i = 0; i < res->n; i++) {
        for (j = 0; j + 1 < res->n - i; j++) {
            swap = res->hit[j].points < res->hit[j + 1].points ||
                (res->hit[j].points == res->hit[j + 1].points &&
                    strcmp(res->hit[j].code, res->hit[j + 1].code) > 0);
            if (swap) {
                t = res->hit[j];
                res->hit[j] = res->hit[j + 1];
                res->hit[j + 1] = t;
            }
        }
    }
}

static void
compare_with_reference(const struct event *ev, const struct features *f,
    const struct score_params *p, unsigned long iter)
{
    struct ref_result ref;
    struct reply r;
    int i, want_n;
    char text[REPLY_REASON_TEXT_MAX + 1];

    ref_model(ev, f, p, &ref);
    ref_sort(&ref);
    memset(&r, 0, sizeof(r));
    score_compute(ev, f, p, &r);

    if (r.has_score != ref.has_score || r.score != ref.score ||
        r.decision != ref.decision)
        TEST_FAIL("iteration %lu: score %u/%d/%d, reference %u/%d/%d", iter,
            (unsigned)r.score, (int)r.decision, (int)r.has_score, ref.score,
            (int)ref.decision, (int)ref.has_score);
    want_n = ref.n < REPLY_MAX_REASONS ? ref.n : REPLY_MAX_REASONS;
    if (r.nreasons != want_n)
        TEST_FAIL("iteration %lu: %u reasons, reference %d", iter,
            (unsigned)r.nreasons, want_n);
    for (i = 0; i < want_n; i++) {
        if (strcmp(r.reasons[i].code, ref.hit[i].code) != 0)
            TEST_FAIL("iteration %lu: reason %d is '%s', reference '%s'", iter,
                i, r.reasons[i].code, ref.hit[i].code);
        if (r.reasons[i].value != ref.hit[i].value)
            TEST_FAIL("iteration %lu: '%s' value %.17g, reference %.17g", iter,
                ref.hit[i].code, r.reasons[i].value, ref.hit[i].value);
        format_text(
            text, sizeof(text), table_text(ref.hit[i].code), ref.hit[i].value);
        ASSERT_STR_EQ(r.reasons[i].text, text);
    }
}

static void
test_reference_model(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    unsigned long i;
    unsigned long fired = 0, capped = 0, blocks = 0, allows = 0;
    struct reply r;

    rng_state = 0x9E3779B97F4A7C15ULL;
    for (i = 0; i < 100000; i++) {
        random_input(&ev, &f);
        if (rnd_below(4) == 0) {
            p.review_threshold = (unsigned)rnd_below(110);
            p.block_threshold = (unsigned)rnd_below(110);
        } else {
            score_params_default(&p);
        }
        compare_with_reference(&ev, &f, &p, i);
        memset(&r, 0, sizeof(r));
        score_compute(&ev, &f, &p, &r);
        fired += r.nreasons;
        capped += r.nreasons == REPLY_MAX_REASONS;
        blocks += r.decision == REPLY_DECISION_BLOCK;
        allows += r.decision == REPLY_DECISION_ALLOW;
    }
    /* The inputs must cover both quiet and busy orders. */
    printf("# reference: 100000 vectors, %lu reasons, %lu with 8, "
           "%lu allow, %lu block\n",
        fired, capped, allows, blocks);
    ASSERT(fired > 100000);
    ASSERT(capped > 1000);
    ASSERT(blocks > 1000);
    ASSERT(allows > 1000);

    /* Hand-picked edges through the same comparison. */
    score_params_default(&p);
    quiet(&ev, &f);
    compare_with_reference(&ev, &f, &p, 100000);
    ev.amount = EVENT_MAX_AMOUNT;
    f.account_amount_mean = 1;
    compare_with_reference(&ev, &f, &p, 100001);
}

/* ------------------------------------------------ determinism, monotone */

static void
test_determinism(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply a, b;
    int i;

    rng_state = 42;
    score_params_default(&p);
    for (i = 0; i < 5000; i++) {
        random_input(&ev, &f);
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        score_compute(&ev, &f, &p, &a);
        score_compute(&ev, &f, &p, &b);
        ASSERT_MEM_EQ(&a, &b, sizeof(a));
        /* The reply's previous contents do not leak into the result. */
        memset(&b, 0x77, sizeof(b));
        score_compute(&ev, &f, &p, &b);
        ASSERT_EQ(a.score, b.score);
        ASSERT_EQ(a.decision, b.decision);
        ASSERT_EQ(a.nreasons, b.nreasons);
        ASSERT_MEM_EQ(a.reasons, b.reasons, sizeof(a.reasons));
    }
}

static uint32_t
worse_count(uint32_t n)
{
    uint64_t v = (uint64_t)n + 1 + rnd_below(rnd_below(2) ? 3 : 500);

    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * Make one risk feature of (ev, f) worse; see REASONS.md. A country is
 * made worse by giving it a value `fresh` that no other country has.
 */
static void
worsen(struct event *ev, struct features *f, const char fresh[3])
{
    struct entity_features *e = &f->ent[rnd_below(ENT_COUNT)];

    switch (rnd_below(16)) {
    case 0:
        e->orders_1h = worse_count(e->orders_1h);
        break;
    case 1:
        e->orders_24h = worse_count(e->orders_24h);
        break;
    case 2:
        e->failed_pay_1h = worse_count(e->failed_pay_1h);
        break;
    case 3:
        e->failed_pay_24h = worse_count(e->failed_pay_24h);
        break;
    case 4:
        e->failed_login_1h = worse_count(e->failed_login_1h);
        break;
    case 5:
        e->accounts = worse_count(e->accounts);
        break;
    case 6:
        e->fraud_linked = true;
        break;
    case 7:
        e->present = true;
        break;
    case 8:
        /* An unknown device is at least as risky as a known one. */
        e->known = false;
        break;
    case 9:
        /* Younger: within the known ages only (-1 is "not known"). */
        if (e->age_ms > 0)
            e->age_ms = (int64_t)rnd_below((uint64_t)e->age_ms);
        break;
    case 10:
        if (f->account_age_ms > 0)
            f->account_age_ms = (int64_t)rnd_below((uint64_t)f->account_age_ms);
        break;
    case 11:
        if (ev->amount < EVENT_MAX_AMOUNT)
            ev->amount += 1 + rnd_below(EVENT_MAX_AMOUNT - ev->amount);
        break;
    case 12:
        if (f->account_amount_mean > 0)
            f->account_amount_mean = rnd_below(f->account_amount_mean);
        break;
    case 13:
        memcpy(ev->ip_country, fresh, 3);
        break;
    case 14:
        memcpy(rnd_below(2) ? ev->billing_country : ev->shipping_country, fresh,
            3);
        break;
    default:
        memcpy(f->account_country, fresh, 3);
        break;
    }
}

static void
test_monotonic(void)
{
    struct event ev, ev2;
    struct features f, f2;
    struct score_params p;
    struct reply a, b;
    int i, step;
    /* random_input() draws "", "US" and "DE"; these are new each step. */
    static const char fresh[4][3] = { "FR", "GB", "IT", "ES" };

    rng_state = 7;
    score_params_default(&p);
    for (i = 0; i < 50000; i++) {
        random_input(&ev, &f);
        ev.type = EVENT_ORDER_PLACED;
        memset(&a, 0, sizeof(a));
        score_compute(&ev, &f, &p, &a);
        ev2 = ev;
        f2 = f;
        for (step = 0; step < 4; step++) {
            worsen(&ev2, &f2, fresh[step]);
            memset(&b, 0, sizeof(b));
            score_compute(&ev2, &f2, &p, &b);
            if (b.score < a.score)
                TEST_FAIL("iteration %d step %d: worse features lowered "
                          "the score %u -> %u",
                    i, step, (unsigned)a.score, (unsigned)b.score);
            if (b.decision < a.decision)
                TEST_FAIL("iteration %d: decision went down", i);
            a = b;
        }
    }
}

/* The monotonicity check can fail: a deliberately non-monotone pair. */
static void
test_monotonic_detects(void)
{
    struct event ev;
    struct features f;
    struct reply a, b;

    /* account_orders is not a risk feature: it gates rules both ways. */
    quiet(&ev, &f);
    f.account_orders = 0;
    f.account_age_ms = 2 * HOUR_MS;
    ev.amount = 60000;
    run(&ev, &f, &a);
    f.account_orders = 1;
    run(&ev, &f, &b);
    ASSERT(b.score < a.score);
}

/*
 * Issue 7's finding: once a ring's first order was labelled fraud,
 * `*_fraud_linked` added a flat 80 points to every later order sharing
 * its device or IP, although most of those were legitimate. The rule is
 * gone: a labelled-fraud neighbour changes neither score nor reasons
 * (the model weighs it through link features instead).
 */
static void
test_no_flat_fraud_linked(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply a, b;
    unsigned k, i;

    quiet(&ev, &f);
    score_params_default(&p);
    score_compute(&ev, &f, &p, &a);
    for (k = 0; k < ENT_COUNT; k++)
        f.ent[k].fraud_linked = true;
    score_compute(&ev, &f, &p, &b);
    ASSERT_EQ(b.score, a.score);
    ASSERT_EQ(b.decision, REPLY_DECISION_ALLOW);
    ASSERT_EQ(b.nreasons, a.nreasons);
    for (i = 0; i < b.nreasons; i++)
        ASSERT(strstr(b.reasons[i].code, "fraud_linked") == NULL);
    for (i = 0; i < score_reason_count; i++)
        ASSERT(strstr(score_reason_table[i].code, "fraud_linked") == NULL);
    ASSERT_EQ(b.model[0], '\0');
}

/* score_model: the model's probability as the score, its reasons with
 * the features' values, the hard rules as a floor, the version. */
static void
test_score_model(void)
{
    const char *src = __FILE__, *cut = strstr(src, "unit/test_score.c");
    char path[512], err[256];
    struct model *m = NULL;
    struct feature_vec x;
    struct model_result mr;
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply r;
    unsigned i;

    ASSERT(cut != NULL);
    snprintf(path, sizeof(path), "%.*sdata/model/gbdt_reference.vgm",
        (int)(cut - src), src);
    ASSERT_OK(model_load(path, &m, err, sizeof(err)));
    quiet(&ev, &f);
    score_params_default(&p);
    feature_vec_init(&x);
    x.v[FEAT_S2O_SEC] = 0; /* an instant order: the strongest signal */
    x.v[FEAT_AMT] = 50;
    x.v[FEAT_HOUR] = 3;
    ASSERT_OK(model_score(m, &x, SCORE_MODEL_REASONS, &mr));
    score_model(m, &ev, &f, &x, &p, &r);
    ASSERT(r.has_score);
    ASSERT_EQ(r.score, mr.score);
    ASSERT_EQ(r.decision, model_decide(m, mr.score));
    ASSERT_STR_EQ(r.model, model_version(m));
    ASSERT(r.nreasons >= 1);
    ASSERT_STR_EQ(r.reasons[0].code, "s2o_sec");
    ASSERT(r.reasons[0].value == 0.0);
    ASSERT(strstr(r.reasons[0].text, "s2o_sec = 0") != NULL);

    /* An ordinary order, then the same with card testing on top: the
     * rule's points lift it to the model's block threshold, rule first. */
    x.v[FEAT_S2O_SEC] = 40 * 86400.0;
    score_model(m, &ev, &f, &x, &p, &r);
    ASSERT(r.score < model_block(m));
    f.ent[ENT_CARD].failed_pay_1h = 6; /* 35 + 15 * 4 = 95 points */
    score_model(m, &ev, &f, &x, &p, &r);
    ASSERT_EQ(r.score, model_block(m));
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "card_failed_payments_1h");
    ASSERT(r.reasons[0].value == 6.0);
    for (i = 1; i < r.nreasons; i++)
        ASSERT(strcmp(r.reasons[i].code, "card_failed_payments_1h") != 0);

    /* Not finite: the rule set alone, no model version. */
    x.v[FEAT_AMT] = NAN;
    score_model(m, &ev, &f, &x, &p, &r);
    ASSERT_EQ(r.model[0], '\0');
    model_free(m);
}

/*
 * score_lists: block beats everything (score 100, reason first, naming
 * the kinds); allow wins over every rule but the hard ones at the block
 * threshold (card testing); an unlisted or unscored reply is untouched;
 * a full reason list keeps the list reason first.
 */
static void
test_lists(void)
{
    struct event ev;
    struct features f;
    struct score_params p;
    struct reply r, before;

    score_params_default(&p);
    /* Nothing listed: no change. The whole reply is compared below: no
     * byte of it may be left uninitialised (valgrind). */
    memset(&r, 0, sizeof(r));
    quiet(&ev, &f);
    score_compute(&ev, &f, &p, &r);
    before = r;
    score_lists(&f, &p, &r);
    ASSERT(memcmp(&r, &before, sizeof(r)) == 0);

    /* Block: a quiet order blocked, block_listed first. */
    f.ent[ENT_DEVICE].list = SCORE_LIST_BLOCK;
    f.ent[ENT_CARD].list = SCORE_LIST_BLOCK;
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.score, 100);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "block_listed");
    ASSERT_STR_EQ(r.reasons[0].text, "on the block list: device, card");
    ASSERT(r.reasons[0].value == 2.0);
    /* An entity not on the order does not count. */
    f.ent[ENT_DEVICE].present = false;
    f.ent[ENT_CARD].present = false;
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    ASSERT_EQ(r.nreasons, 0);

    /* Allow: a risky order (new account, unknown device, large first
     * order, countries differ: 85 points, block) is allowed, its score
     * kept. */
    quiet(&ev, &f);
    f.account_age_ms = 10 * 60 * 1000;
    f.account_orders = 0;
    f.ent[ENT_DEVICE].known = false;
    ev.amount = 60000;
    memcpy(ev.ip_country, "DE", 3);
    memcpy(ev.shipping_country, "DE", 3);
    f.ent[ENT_ACCOUNT].list = SCORE_LIST_ALLOW;
    score_compute(&ev, &f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);
    ASSERT(r.score >= 80);
    ASSERT_STR_EQ(r.reasons[0].code, "allow_listed");
    ASSERT_STR_EQ(r.reasons[0].text, "on the allow list: account");
    ASSERT(r.nreasons >= 2);

    /* ... but card testing at the block threshold stays blocked. */
    f.ent[ENT_CARD].failed_pay_1h = 5; /* 35 + 3 x 15 = 80 */
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "allow_listed");
    /* Below it (35 points): allowed. */
    f.ent[ENT_CARD].failed_pay_1h = 2;
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);

    /* Block beats allow. */
    f.ent[ENT_EMAIL].list = SCORE_LIST_BLOCK;
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.decision, REPLY_DECISION_BLOCK);
    ASSERT_STR_EQ(r.reasons[0].code, "block_listed");
    ASSERT_STR_EQ(r.reasons[0].text, "on the block list: email");

    /* A full reason list: the list reason first, still 8. */
    quiet(&ev, &f);
    memset(&r, 0, sizeof(r));
    r.has_score = true;
    r.decision = REPLY_DECISION_REVIEW;
    r.nreasons = REPLY_MAX_REASONS;
    for (unsigned i = 0; i < REPLY_MAX_REASONS; i++)
        snprintf(r.reasons[i].code, sizeof(r.reasons[i].code), "r%u", i);
    f.ent[ENT_IP].list = SCORE_LIST_ALLOW;
    score_lists(&f, &p, &r);
    ASSERT_EQ(r.nreasons, REPLY_MAX_REASONS);
    ASSERT_STR_EQ(r.reasons[0].code, "allow_listed");
    ASSERT_STR_EQ(r.reasons[1].code, "r0");
    ASSERT_STR_EQ(r.reasons[7].code, "r6");
    ASSERT_EQ(r.decision, REPLY_DECISION_ALLOW);

    /* Not scored (not an order): untouched. */
    ev.type = EVENT_ACCOUNT_SIGNUP;
    f.ent[ENT_IP].list = SCORE_LIST_BLOCK;
    score_compute(&ev, &f, &p, &r);
    score_lists(&f, &p, &r);
    ASSERT(!r.has_score);
    ASSERT_EQ(r.nreasons, 0);
}

int
main(void)
{
    RUN(test_lists);
    RUN(test_no_flat_fraud_linked);
    RUN(test_score_model);
    RUN(test_reason_table);
    RUN(test_entity_names);
    RUN(test_params_default);
    RUN(test_rule_cases);
    RUN(test_counter_rules);
    RUN(test_every_code_tested);
    RUN(test_texts);
    RUN(test_decisions);
    RUN(test_calibration);
    RUN(test_not_an_order);
    RUN(test_leaves_header);
    RUN(test_ties_and_limit);
    RUN(test_reference_model);
    RUN(test_determinism);
    RUN(test_monotonic);
    RUN(test_monotonic_detects);
    return 0;
}
