/*
 * test_history.c - unit tests of scorer/history (LMDB history, features)
 *
 * Real LMDB in a mkdtemp directory. Window edges (59/61 min, 23/25 h),
 * bucket expiry and out-of-order arrivals, distinct accounts, failed
 * payments through the order record, fraud_linked after labels, account
 * age and amounts, the event never counting itself, reply round trip,
 * applied_seq, record versions (v2 size, v1 still read, strict decode),
 * the features -> apply record cache, a randomized comparison against a
 * slow reference model (features then apply on each event in one run,
 * apply only in the other: the databases must be byte-identical),
 * byte-identical state from two runs of the same events, and a small
 * benchmark (printed, not asserted).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <time.h>

#include "common/bytes.h"
#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "scorer/history.h"
#include "scorer/history_int.h"
#include "tests/harness/test.h"

#define MIN_MS  (60 * 1000ULL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
/* 2023-11-14 22:00:00 UTC: aligned to the hour (and to 5 minutes). */
#define T0 (1699999200000ULL)

static char tmpl[] = "/tmp/vigil-test-history-XXXXXX";
static char *root;
static int envno;

struct env {
    struct store *st;
    struct history *h;
    struct store_txn *txn; /* the write txn */
};

static void
rm_rf(const char *dir)
{
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

static void
env_open(struct env *e)
{
    char dir[256];

    snprintf(dir, sizeof(dir), "%s/env%d", root, envno++);
    ASSERT_OK(store_open(dir, 256u << 20, HISTORY_DBS, &e->st));
    ASSERT_OK(history_open(e->st, &e->h));
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
}

static void
env_close(struct env *e)
{
    if (e->txn != NULL)
        ASSERT_OK(store_txn_commit(e->txn));
    history_close(e->h);
    store_close(e->st);
}

static struct pseudo
pseudo_of(char tag, unsigned n)
{
    struct pseudo p;

    memset(&p, 0, sizeof(p));
    p.b[0] = (uint8_t)tag;
    memcpy(p.b + 1, &n, sizeof(n));
    return p;
}

/* The pseudonym a test id stands for (unkeyed: tests need no key). */
static struct pseudo
ps(const char *id)
{
    struct pseudo p;

    crypto_generichash(
        p.b, sizeof(p.b), (const unsigned char *)id, strlen(id), NULL, 0);
    return p;
}

/* Event ids count up from here; random_run() resets it so that two runs
 * of the same events carry the same ids (order records store them). */
static unsigned ev_next_id;

/* An event of `type` at `ts`; fields added by the helpers below. */
static struct event
ev_make(enum event_type type, uint64_t ts)
{
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = type;
    ev.ts = ts;
    {
        char id[32];

        snprintf(id, sizeof(id), "ev-%u", ev_next_id++);
        ev.id = ps(id);
    }
    return ev;
}

static void
ev_account(struct event *ev, unsigned a)
{
    char id[32];

    ev->has |= EVENT_HAS_ACCOUNT;
    snprintf(id, sizeof(id), "acct-%u", a);
    ev->account = ps(id);
}

static void
ev_device(struct event *ev, unsigned d)
{
    ev->has |= EVENT_HAS_DEVICE;
    ev->device = pseudo_of('d', d);
}

static void
ev_ip(struct event *ev, unsigned i)
{
    ev->has |= EVENT_HAS_IP;
    ev->ip = pseudo_of('i', i);
    ev->ip24 = pseudo_of('p', i / 4);
    ev->ip16 = pseudo_of('q', i / 64);
}

static void
ev_card(struct event *ev, unsigned c)
{
    ev->has |= EVENT_HAS_CARD;
    ev->card = pseudo_of('c', c);
}

static void
ev_order(struct event *ev, const char *order, uint64_t amount)
{
    ev->has |= EVENT_HAS_ORDER;
    ev->order = ps(order);
    ev->amount = amount;
}

static void
ev_ok(struct event *ev, bool ok)
{
    ev->has |= EVENT_HAS_OK;
    ev->ok = ok;
}

/* history_apply() / history_features() with `fresh` (history.h). */
static void
apply_fresh(struct env *e, const struct event *ev, uint32_t fresh)
{
    struct reply r;

    memset(&r, 0, sizeof(r));
    if (ev->type == EVENT_ORDER_PLACED) {
        r.has_score = true;
        r.score = 42;
        r.decision = REPLY_DECISION_ALLOW;
    }
    ASSERT_OK(history_apply(e->h, e->txn, "shop", ev, fresh, &r));
}

static struct features
feat_fresh(struct env *e, const struct event *ev, uint32_t fresh)
{
    struct features f;

    ASSERT_OK(history_features(e->h, e->txn, "shop", ev, fresh, &f));
    return f;
}

static void
apply(struct env *e, const struct event *ev)
{
    apply_fresh(e, ev, 0);
}

static struct features
feat(struct env *e, const struct event *ev)
{
    return feat_fresh(e, ev, 0);
}

/* An order by account a on device d at ts. */
static void
order_at(struct env *e, unsigned a, unsigned d, uint64_t ts)
{
    struct event ev = ev_make(EVENT_ORDER_PLACED, ts);
    char o[EVENT_ID_MAX + 1];

    snprintf(o, sizeof(o), "o-%u", ev_next_id);
    ev_account(&ev, a);
    ev_device(&ev, d);
    ev_order(&ev, o, 1000);
    apply(e, &ev);
}

/* Features of a device.seen of account a on device d at ts. */
static struct features
probe(struct env *e, unsigned a, unsigned d, uint64_t ts)
{
    struct event ev = ev_make(EVENT_DEVICE_SEEN, ts);

    ev_account(&ev, a);
    ev_device(&ev, d);
    return feat(e, &ev);
}

static void
test_windows(void)
{
    struct env e;
    struct features f;

    env_open(&e);
    order_at(&e, 1, 1, T0);
    f = probe(&e, 1, 1, T0 + 59 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_1h, 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 1);
    f = probe(&e, 1, 1, T0 + 61 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_1h, 0);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 1);
    f = probe(&e, 1, 1, T0 + 23 * HOUR_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 1);
    f = probe(&e, 1, 1, T0 + 25 * HOUR_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 0);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    /* Earlier than the order: it is not visible (no future leakage). */
    f = probe(&e, 1, 1, T0 - 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 0);
    ASSERT(!f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].age_ms, -1);
    f = probe(&e, 1, 1, T0 + 10 * MIN_MS);
    ASSERT(f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].age_ms, 10 * MIN_MS);
    /* Resolution: within the same 5-minute bucket a later event shows. */
    f = probe(&e, 1, 1, T0 + 4 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    env_close(&e);
}

static void
test_bucket_expiry_and_out_of_order(void)
{
    struct env e;
    struct features f;
    int i;

    env_open(&e);
    for (i = 0; i < 3; i++)
        order_at(&e, 1, 1, T0 + (uint64_t)(unsigned)i * MIN_MS);
    f = probe(&e, 1, 1, T0 + 30 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 3);
    /* Two hours later the 1h ring reuses the same slot: stale -> reset. */
    order_at(&e, 1, 1, T0 + 2 * HOUR_MS);
    f = probe(&e, 1, 1, T0 + 2 * HOUR_MS + MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 4);
    /* An old event whose 1h slot holds a newer epoch is dropped from the
     * 1h window (undercount, never overcount) but kept in the 24h one. */
    order_at(&e, 1, 1, T0 + 4 * MIN_MS);
    f = probe(&e, 1, 1, T0 + 4 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 4); /* not the T0+2h one */
    /* Still in the ring: an out-of-order event goes to its own bucket. */
    order_at(&e, 1, 1, T0 + 2 * HOUR_MS - 20 * MIN_MS);
    f = probe(&e, 1, 1, T0 + 2 * HOUR_MS - 10 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    f = probe(&e, 1, 1, T0 + 2 * HOUR_MS + 5 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 2);
    /* 30 hours later everything has expired. */
    f = probe(&e, 1, 1, T0 + 30 * HOUR_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 0);
    ASSERT_EQ(f.account_orders, 6); /* all-time */
    env_close(&e);
}

static void
test_distinct_accounts(void)
{
    struct env e;
    struct features f;
    unsigned a;
    int rep;

    env_open(&e);
    for (rep = 0; rep < 3; rep++) {
        for (a = 0; a < 5; a++)
            order_at(&e, a, 7, T0 + a * MIN_MS);
    }
    f = probe(&e, 99, 7, T0 + HOUR_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].accounts, 5);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].accounts, 0);
    ASSERT(!f.ent[ENT_ACCOUNT].known);
    /* Past the exact set: an estimate, stable under repeats. */
    for (rep = 0; rep < 2; rep++) {
        for (a = 0; a < 40; a++)
            order_at(&e, a, 8, T0 + a * MIN_MS);
    }
    f = probe(&e, 99, 8, T0 + HOUR_MS);
    printf("distinct accounts: 40 true, %u estimated\n",
        f.ent[ENT_DEVICE].accounts);
    ASSERT(f.ent[ENT_DEVICE].accounts >= 30);
    ASSERT(f.ent[ENT_DEVICE].accounts <= 55);
    env_close(&e);
}

static void
test_failed_payments(void)
{
    struct env e;
    struct event ev;
    struct features f;
    struct history_order ho;

    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_ip(&ev, 1);
    ev_card(&ev, 1);
    ev_order(&ev, "o-1", 5000);
    apply(&e, &ev);
    {
        struct pseudo o1 = ps("o-1");

        ASSERT_OK(history_order_get(e.h, e.txn, "shop", &o1, &ho));
    }
    ASSERT_EQ(ho.ts, T0);
    ASSERT_EQ(ho.amount, 5000);
    ASSERT(ho.has_score);
    ASSERT_EQ(ho.score, 42);
    ASSERT_EQ(ho.decision, REPLY_DECISION_ALLOW);
    {
        struct pseudo a1 = ps("acct-1"), o1 = ps("o-1"), o2 = ps("o-2");

        ASSERT(ho.has_account);
        ASSERT_MEM_EQ(ho.account.b, a1.b, PSEUDO_BYTES);
        ASSERT_MEM_EQ(ho.event_id.b, ev.id.b, PSEUDO_BYTES);
        ASSERT_EQ(
            history_order_get(e.h, e.txn, "shop", &o2, &ho), ERR_NOTFOUND);
        ASSERT_EQ(
            history_order_get(e.h, e.txn, "other", &o1, &ho), ERR_NOTFOUND);
    }

    /* payment.result names only the order: counts on its entities. */
    ev = ev_make(EVENT_PAYMENT_RESULT, T0 + MIN_MS);
    ev_order(&ev, "o-1", 0);
    ev_ok(&ev, false);
    apply(&e, &ev);
    ev = ev_make(EVENT_PAYMENT_RESULT, T0 + 2 * MIN_MS);
    ev_order(&ev, "o-1", 0);
    ev_ok(&ev, true); /* success: no count */
    apply(&e, &ev);
    ev = ev_make(EVENT_ORDER_PLACED, T0 + 10 * MIN_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_ip(&ev, 1);
    ev_card(&ev, 1);
    f = feat(&e, &ev);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].failed_pay_1h, 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].failed_pay_1h, 1);
    ASSERT_EQ(f.ent[ENT_IP].failed_pay_1h, 1);
    ASSERT_EQ(f.ent[ENT_IP24].failed_pay_1h, 1);
    ASSERT_EQ(f.ent[ENT_CARD].failed_pay_24h, 1);
    ASSERT(!f.ent[ENT_EMAIL].present);

    /* Unknown order: counted on the event's own entities. */
    ev = ev_make(EVENT_PAYMENT_RESULT, T0 + MIN_MS);
    ev_order(&ev, "nope", 0);
    ev_account(&ev, 2);
    ev_device(&ev, 2);
    ev_ok(&ev, false);
    apply(&e, &ev);
    f = probe(&e, 2, 2, T0 + 3 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].failed_pay_1h, 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].failed_pay_1h, 1);

    /* Failed logins on every named entity. */
    ev = ev_make(EVENT_ACCOUNT_LOGIN, T0 + MIN_MS);
    ev_account(&ev, 3);
    ev_device(&ev, 3);
    ev_ip(&ev, 3);
    ev_ok(&ev, false);
    apply(&e, &ev);
    apply(&e, &ev);
    ev_ok(&ev, true);
    apply(&e, &ev);
    ev = ev_make(EVENT_DEVICE_SEEN, T0 + 2 * MIN_MS);
    ev_account(&ev, 3);
    ev_device(&ev, 3);
    ev_ip(&ev, 3);
    f = feat(&e, &ev);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].failed_login_1h, 2);
    ASSERT_EQ(f.ent[ENT_DEVICE].failed_login_1h, 2);
    ASSERT_EQ(f.ent[ENT_IP].failed_login_1h, 2);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 0);
    env_close(&e);
}

static void
test_fraud_linked(void)
{
    struct env e;
    struct event ev;
    struct features f;

    env_open(&e);
    /* Account 1 orders with device 1 and card 1, logs in from ip 1. */
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_card(&ev, 1);
    ev_order(&ev, "o-1", 100);
    apply(&e, &ev);
    ev = ev_make(EVENT_ACCOUNT_LOGIN, T0);
    ev_account(&ev, 1);
    ev_ip(&ev, 1);
    ev_ok(&ev, true);
    apply(&e, &ev);
    /* Account 2 orders with device 2, card 2. */
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 2);
    ev_device(&ev, 2);
    ev_card(&ev, 2);
    ev_order(&ev, "o-2", 100);
    apply(&e, &ev);

    f = probe(&e, 5, 1, T0 + HOUR_MS);
    ASSERT(!f.ent[ENT_DEVICE].fraud_linked);
    /* Label account 1: its device, card and ip become fraud-linked. */
    ev = ev_make(EVENT_LABEL, T0 + HOUR_MS);
    ev_account(&ev, 1);
    ev_ok(&ev, true);
    apply(&e, &ev);
    ev = ev_make(EVENT_ORDER_PLACED, T0 + 2 * HOUR_MS);
    ev_account(&ev, 5);
    ev_device(&ev, 1);
    ev_card(&ev, 1);
    ev_ip(&ev, 1);
    f = feat(&e, &ev);
    ASSERT(f.ent[ENT_DEVICE].fraud_linked);
    ASSERT(f.ent[ENT_CARD].fraud_linked);
    ASSERT(f.ent[ENT_IP].fraud_linked);
    ASSERT(f.ent[ENT_IP24].fraud_linked);
    ASSERT(!f.ent[ENT_ACCOUNT].fraud_linked); /* account 5 is not */
    f = probe(&e, 1, 2, T0 + 2 * HOUR_MS);
    ASSERT(f.ent[ENT_ACCOUNT].fraud_linked);
    ASSERT(!f.ent[ENT_DEVICE].fraud_linked);

    /* A labelled account's later events spread the flag. */
    ev = ev_make(EVENT_DEVICE_SEEN, T0 + 3 * HOUR_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 9);
    apply(&e, &ev);
    f = probe(&e, 6, 9, T0 + 3 * HOUR_MS);
    ASSERT(f.ent[ENT_DEVICE].fraud_linked);

    /* Label by order: its account and entities. */
    ev = ev_make(EVENT_LABEL, T0 + HOUR_MS);
    ev_order(&ev, "o-2", 0);
    ev_ok(&ev, true);
    apply(&e, &ev);
    f = probe(&e, 2, 2, T0 + 2 * HOUR_MS);
    ASSERT(f.ent[ENT_ACCOUNT].fraud_linked);
    ASSERT(f.ent[ENT_DEVICE].fraud_linked);

    /* fraud=false clears the account's own label. */
    ev = ev_make(EVENT_LABEL, T0 + 4 * HOUR_MS);
    ev_account(&ev, 2);
    ev_ok(&ev, false);
    apply(&e, &ev);
    f = probe(&e, 2, 2, T0 + 5 * HOUR_MS);
    ASSERT(!f.ent[ENT_ACCOUNT].fraud_linked);

    /* A label for an account never seen creates no "known" entity. */
    ev = ev_make(EVENT_LABEL, T0 + 4 * HOUR_MS);
    ev_account(&ev, 77);
    ev_ok(&ev, true);
    apply(&e, &ev);
    f = probe(&e, 77, 70, T0 + 5 * HOUR_MS);
    ASSERT(f.ent[ENT_ACCOUNT].fraud_linked);
    ASSERT(!f.ent[ENT_ACCOUNT].known);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].age_ms, -1);
    env_close(&e);
}

static void
test_account_age_amounts_country(void)
{
    struct env e;
    struct event ev;
    struct features f;

    env_open(&e);
    f = probe(&e, 1, 1, T0);
    ASSERT_EQ(f.account_age_ms, -1);
    ASSERT(!f.ent[ENT_ACCOUNT].known);
    ev = ev_make(EVENT_ACCOUNT_SIGNUP, T0);
    ev_account(&ev, 1);
    ev.has |= EVENT_HAS_EMAIL;
    ev.email = pseudo_of('e', 1);
    apply(&e, &ev);
    ev = ev_make(EVENT_DEVICE_SEEN, T0 + MIN_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev.has |= EVENT_HAS_IP_COUNTRY;
    memcpy(ev.ip_country, "FR", 3);
    apply(&e, &ev);
    order_at(&e, 1, 1, T0 + HOUR_MS);
    ev = ev_make(EVENT_ORDER_PLACED, T0 + DAY_MS);
    ev_account(&ev, 1);
    ev_order(&ev, "o-2", 200);
    apply(&e, &ev);
    ev = ev_make(EVENT_ORDER_PLACED, T0 + DAY_MS);
    ev_account(&ev, 1);
    ev_order(&ev, "o-3", 1800);
    apply(&e, &ev);
    f = probe(&e, 1, 1, T0 + 3 * DAY_MS);
    ASSERT_EQ(f.account_age_ms, 3 * DAY_MS);
    ASSERT_EQ(f.account_orders, 3);
    ASSERT_EQ(f.account_amount_mean, 1000); /* (1000 + 200 + 1800) / 3 */
    ASSERT_EQ(f.account_amount_max, 1800);
    ASSERT_STR_EQ(f.account_country, "FR");
    ASSERT_EQ(f.ent[ENT_ACCOUNT].age_ms, 3 * DAY_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].age_ms, 3 * DAY_MS - MIN_MS);
    /* Before the signup: no age. */
    f = probe(&e, 1, 1, T0 - 1);
    ASSERT_EQ(f.account_age_ms, -1);
    env_close(&e);
}

/* history_features() of an event never counts that event. */
static void
test_never_self(void)
{
    struct env e;
    struct event ev;
    struct features f;

    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_order(&ev, "o-1", 10);
    f = feat(&e, &ev);
    ASSERT(f.ent[ENT_ACCOUNT].present);
    ASSERT(!f.ent[ENT_ACCOUNT].known);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_1h, 0);
    ASSERT_EQ(f.account_orders, 0);
    ASSERT(!f.ent[ENT_IP].present);
    apply(&e, &ev);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_order(&ev, "o-2", 10);
    f = feat(&e, &ev);
    ASSERT(f.ent[ENT_ACCOUNT].known);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].age_ms, 0);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_1h, 1);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 1);
    ASSERT_EQ(f.account_orders, 1);
    env_close(&e);
}

static void
test_reply_and_applied_seq(void)
{
    struct env e;
    struct reply r, got;
    struct store_txn *rt;
    struct pseudo e123 = ps("evt-123"), ebad = ps("evt-bad");
    uint8_t dg[HISTORY_DIGEST_BYTES], back[HISTORY_DIGEST_BYTES];
    uint64_t seq;

    env_open(&e);
    memset(&r, 0, sizeof(r));
    r.code = 0;
    r.has_score = true;
    r.score = 87;
    r.decision = REPLY_DECISION_BLOCK;
    r.nreasons = 2;
    snprintf(r.reasons[0].code, sizeof(r.reasons[0].code), "device_many");
    snprintf(r.reasons[0].text, sizeof(r.reasons[0].text), "7 accounts");
    r.reasons[0].value = 7.0;
    snprintf(r.reasons[1].code, sizeof(r.reasons[1].code), "amount_high");
    snprintf(r.reasons[1].text, sizeof(r.reasons[1].text), "x3.5");
    r.reasons[1].value = 3.5;
    memset(dg, 0x5a, sizeof(dg));
    ASSERT_EQ(
        history_reply_get(e.h, e.txn, "shop", &e123, NULL, &got), ERR_NOTFOUND);
    ASSERT_OK(history_reply_put(e.h, e.txn, "shop", &e123, dg, 1000, &r));
    ASSERT_OK(history_reply_get(e.h, e.txn, "shop", &e123, back, &got));
    ASSERT_MEM_EQ(&got, &r, sizeof(r));
    ASSERT_MEM_EQ(back, dg, sizeof(dg));
    ASSERT_EQ(history_reply_get(e.h, e.txn, "shop2", &e123, NULL, &got),
        ERR_NOTFOUND);
    /* An error reply. */
    memset(&r, 0, sizeof(r));
    r.code = ERR_MALFORMED;
    snprintf(r.msg, sizeof(r.msg), "field 'amount': not an integer");
    ASSERT_OK(history_reply_put(e.h, e.txn, "shop", &ebad, dg, 2000, &r));
    ASSERT_OK(history_reply_get(e.h, e.txn, "shop", &ebad, NULL, &got));
    ASSERT_MEM_EQ(&got, &r, sizeof(r));

    ASSERT_OK(history_applied_seq(e.h, e.txn, &seq));
    ASSERT_EQ(seq, 0);
    ASSERT_OK(history_set_applied_seq(e.h, e.txn, 42));
    ASSERT_OK(store_txn_commit(e.txn));
    e.txn = NULL;
    ASSERT_OK(store_txn_begin(e.st, false, &rt));
    ASSERT_OK(history_applied_seq(e.h, rt, &seq));
    ASSERT_EQ(seq, 42);
    ASSERT_OK(history_reply_get(e.h, rt, "shop", &e123, NULL, &got));
    ASSERT_EQ(got.score, 87);
    store_txn_abort(rt);
    env_close(&e);
}

/* The stored entity value of device d (its length into *len). */
static const uint8_t *
device_value(struct env *e, unsigned d, size_t *len)
{
    struct pseudo p = pseudo_of('d', d);
    uint8_t k[1 + PSEUDO_BYTES];
    const void *v;
    unsigned dbi;

    k[0] = 'D';
    memcpy(k + 1, p.b, PSEUDO_BYTES);
    ASSERT_OK(store_dbi(e->st, e->txn, "entity", false, &dbi));
    ASSERT_OK(store_get_view(e->txn, dbi, k, sizeof(k), &v, len));
    return v;
}

static void
put_device_value(struct env *e, unsigned d, const uint8_t *v, size_t len)
{
    struct pseudo p = pseudo_of('d', d);
    uint8_t k[1 + PSEUDO_BYTES];
    unsigned dbi;

    k[0] = 'D';
    memcpy(k + 1, p.b, PSEUDO_BYTES);
    ASSERT_OK(store_dbi(e->st, e->txn, "entity", false, &dbi));
    ASSERT_OK(store_put(e->txn, dbi, k, sizeof(k), v, len));
}

static void
le_put(uint8_t *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Records are small (version 3); version 1 and 2 records are still read
 * and rewritten; a malformed one is refused. */
static void
test_record_versions(void)
{
    struct env e;
    struct event ev;
    struct features f;
    uint8_t v1[504], bad[HISTORY_ENTITY_RECORD_BYTES + 1];
    const uint8_t *v;
    size_t len;

    env_open(&e);
    order_at(&e, 1, 1, T0);
    v = device_value(&e, 1, &len);
    ASSERT_EQ(v[0], 3);
    /* head 32 + one account hash + the two gap slots (ts, account: 32,
     * for dev_gap) + one slot in each ring (minute 8, 5-minute 12, hour
     * 10, day 12) */
    ASSERT_EQ(len, 32 + 8 + 32 + 8 + 12 + 10 + 12);
    ASSERT(len <= HISTORY_ENTITY_RECORD_BYTES);

    /* A version 1 device record: seen at T0, 2 orders in the 5-minute
     * bucket of T0 and in its hour, 1 account, fraud-linked. */
    memset(v1, 0, sizeof(v1));
    v1[0] = 1;
    v1[1] = 'D';
    v1[2] = 0x02;
    v1[3] = 1;
    le_put(v1 + 8, T0, 8);
    le_put(v1 + 16, T0, 8);
    le_put(v1 + 64, 12345, 8);
    le_put(v1 + 192 + 10 * ((T0 / HISTORY_BUCKET_1H_MS) % 12),
        T0 / HISTORY_BUCKET_1H_MS, 4);
    le_put(v1 + 192 + 10 * ((T0 / HISTORY_BUCKET_1H_MS) % 12) + 4, 2, 2);
    le_put(v1 + 312 + 8 * ((T0 / HISTORY_BUCKET_24H_MS) % 24),
        T0 / HISTORY_BUCKET_24H_MS, 4);
    le_put(v1 + 312 + 8 * ((T0 / HISTORY_BUCKET_24H_MS) % 24) + 4, 2, 2);
    put_device_value(&e, 7, v1, sizeof(v1));
    f = probe(&e, 2, 7, T0 + MIN_MS);
    ASSERT(f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 2);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 2);
    ASSERT_EQ(f.ent[ENT_DEVICE].accounts, 1);
    ASSERT(f.ent[ENT_DEVICE].fraud_linked);
    order_at(&e, 2, 7, T0 + MIN_MS);
    v = device_value(&e, 7, &len);
    ASSERT_EQ(v[0], 3);
    ASSERT_EQ(len, 32 + 2 * 8 + 32 + 8 + 12 + 10 + 12); /* + gap slots */
    f = probe(&e, 3, 7, T0 + 2 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 3);
    ASSERT_EQ(f.ent[ENT_DEVICE].accounts, 2);
    ASSERT(f.ent[ENT_DEVICE].fraud_linked);

    /* Strict decoding: a trailing byte, a wrong version, a bad v1. */
    v = device_value(&e, 1, &len);
    memcpy(bad, v, len);
    bad[len] = 0;
    put_device_value(&e, 8, bad, len + 1);
    ev = ev_make(EVENT_DEVICE_SEEN, T0);
    ev_device(&ev, 8);
    ASSERT_EQ(history_features(e.h, e.txn, "shop", &ev, 0, &f), ERR_CORRUPT);
    bad[0] = 4;
    put_device_value(&e, 8, bad, len);
    ASSERT_EQ(history_features(e.h, e.txn, "shop", &ev, 0, &f), ERR_CORRUPT);
    v1[3] = 0; /* nacc 0 but a hash present */
    put_device_value(&e, 8, v1, sizeof(v1));
    ASSERT_EQ(history_features(e.h, e.txn, "shop", &ev, 0, &f), ERR_CORRUPT);
    env_close(&e);
}

/* history_apply() after history_features() of ANOTHER event (or with
 * calls in between) must not use the records features read. */
static void
test_features_apply_cache(void)
{
    struct env e;
    struct event a, b;
    struct features f;

    env_open(&e);
    order_at(&e, 1, 1, T0);
    a = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&a, 1);
    ev_device(&a, 1);
    ev_order(&a, "o-a", 10);
    b = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&b, 1);
    ev_device(&b, 1);
    ev_order(&b, "o-b", 10);
    /* features(a), apply(b), apply(a): a's apply must see b's order. */
    f = feat(&e, &a);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    apply(&e, &b);
    apply(&e, &a);
    f = probe(&e, 1, 1, T0 + 2 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 3);
    ASSERT_EQ(f.account_orders, 3);
    /* features(a'), another write call, features of a read, apply(a'). */
    a = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&a, 1);
    ev_device(&a, 1);
    ev_order(&a, "o-c", 10);
    f = feat(&e, &a);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 3);
    apply(&e, &b); /* b again: counts again (no dedup at this level) */
    apply(&e, &a);
    f = probe(&e, 1, 1, T0 + 2 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 5);
    ASSERT_EQ(f.account_orders, 5);
    /* Same event, features then apply: the normal path. */
    a = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&a, 1);
    ev_device(&a, 2);
    ev_order(&a, "o-d", 10);
    f = feat(&e, &a);
    ASSERT(!f.ent[ENT_DEVICE].known);
    apply(&e, &a);
    f = probe(&e, 1, 2, T0 + 2 * MIN_MS);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_1h, 6);
    env_close(&e);
}

/* ------------------------------------------------ randomized reference */

#define NACC 3
#define NDEV 3
#define NEV  3000

enum ref_counter { RC_ORDER, RC_FAILPAY, RC_FAILLOGIN };

/* One counted event in the slow model: which entity, what, when. */
struct ref_ev {
    int ent; /* 0..NACC-1 accounts, NACC.. devices */
    enum ref_counter c;
    uint64_t ts;
};

static struct ref_ev refs[4 * NEV];
static size_t nrefs;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/*
 * The model: event x counts for a query at t (ring of bucket width b and
 * n buckets) iff cur - n < e_x <= cur and no event y applied to the same
 * entity and ring before the query landed in x's slot with a newer
 * epoch. Failed logins use only the 1h ring.
 */
static uint32_t
ref_count(int ent, enum ref_counter c, uint64_t t, uint64_t b, unsigned n)
{
    uint64_t cur = t / b, ex, newest[HISTORY_BUCKETS_24H];
    uint32_t cnt = 0;
    size_t i;

    /* The newest epoch that landed in each slot of this entity's ring. */
    memset(newest, 0, sizeof(newest));
    for (i = 0; i < nrefs; i++) {
        if (refs[i].ent != ent)
            continue;
        if (n == HISTORY_BUCKETS_24H && refs[i].c == RC_FAILLOGIN)
            continue;
        ex = refs[i].ts / b;
        if (ex > newest[ex % n])
            newest[ex % n] = ex;
    }
    for (i = 0; i < nrefs; i++) {
        if (refs[i].ent != ent || refs[i].c != c)
            continue;
        ex = refs[i].ts / b;
        if (ex > cur || ex + n <= cur)
            continue;
        if (newest[ex % n] > ex)
            continue; /* lost: a newer epoch took its slot */
        cnt++;
    }
    return cnt;
}

static void
ref_check(const struct entity_features *f, int ent, uint64_t t)
{
    ASSERT_EQ(f->orders_1h,
        ref_count(ent, RC_ORDER, t, HISTORY_BUCKET_1H_MS, HISTORY_BUCKETS_1H));
    ASSERT_EQ(f->failed_pay_1h,
        ref_count(
            ent, RC_FAILPAY, t, HISTORY_BUCKET_1H_MS, HISTORY_BUCKETS_1H));
    ASSERT_EQ(f->failed_login_1h,
        ref_count(
            ent, RC_FAILLOGIN, t, HISTORY_BUCKET_1H_MS, HISTORY_BUCKETS_1H));
    ASSERT_EQ(f->orders_24h,
        ref_count(
            ent, RC_ORDER, t, HISTORY_BUCKET_24H_MS, HISTORY_BUCKETS_24H));
    ASSERT_EQ(f->failed_pay_24h,
        ref_count(
            ent, RC_FAILPAY, t, HISTORY_BUCKET_24H_MS, HISTORY_BUCKETS_24H));
}

/* random_run() passes each event's first-seen entities as `fresh`
 * (what the scorer passes for new tokens) when set. */
static bool rr_fresh;

/* The same pseudo-random event stream, applied to `e`; checks each
 * event's features against the model when `check`. */
static void
random_run(struct env *e, bool check)
{
    bool seen_acc[NACC] = { false }, seen_dev[NDEV] = { false };
    uint32_t fresh;
    static uint64_t order_ts[NEV];
    static unsigned order_acc[NEV], order_dev[NEV];
    struct entity_features ef;
    struct features f;
    struct event ev;
    uint64_t base = T0, ts;
    unsigned norders = 0, a, d, o, kind, i, q;
    char name[32];
    struct pseudo dp;

    ev_next_id = 0;

    rng_state = 0x9e3779b97f4a7c15ULL;
    nrefs = 0;
    for (i = 0; i < NEV; i++) {
        base += rng() % (6 * MIN_MS);
        ts = base;
        if (rng() % 5 == 0) /* out of order, up to 3 hours back */
            ts -= rng() % (3 * HOUR_MS);
        if (rng() % 50 == 0) /* far back: beyond the 24h ring */
            ts -= rng() % (3 * DAY_MS);
        a = (unsigned)(rng() % NACC);
        d = (unsigned)(rng() % NDEV);
        kind = (unsigned)(rng() % 4);
        if (kind == 3 && norders == 0)
            kind = 0;
        switch (kind) {
        case 0:
        case 1:
            ev = ev_make(EVENT_ORDER_PLACED, ts);
            snprintf(name, sizeof(name), "ro-%u", norders);
            ev_account(&ev, a);
            ev_device(&ev, d);
            ev_order(&ev, name, 100 + rng() % 1000);
            break;
        case 2:
            ev = ev_make(EVENT_ACCOUNT_LOGIN, ts);
            ev_account(&ev, a);
            ev_device(&ev, d);
            ev_ok(&ev, false);
            break;
        default:
            o = (unsigned)(rng() % norders);
            ev = ev_make(EVENT_PAYMENT_RESULT, ts);
            snprintf(name, sizeof(name), "ro-%u", o);
            ev_order(&ev, name, 0);
            ev_ok(&ev, false);
            a = order_acc[o];
            d = order_dev[o];
            (void)order_ts;
            break;
        }
        fresh = 0;
        if (rr_fresh && kind != 3) {
            if (!seen_acc[a])
                fresh |= HISTORY_FRESH(ENT_ACCOUNT);
            if (!seen_dev[d])
                fresh |= HISTORY_FRESH(ENT_DEVICE);
            seen_acc[a] = seen_dev[d] = true;
        }
        if (check && kind != 3) {
            f = feat_fresh(e, &ev, fresh);
            ref_check(&f.ent[ENT_ACCOUNT], (int)a, ts);
            ref_check(&f.ent[ENT_DEVICE], NACC + (int)d, ts);
        }
        apply_fresh(e, &ev, fresh);
        if (kind <= 1) {
            order_ts[norders] = ts;
            order_acc[norders] = a;
            order_dev[norders] = d;
            norders++;
        }
        refs[nrefs].ent = (int)a;
        refs[nrefs + 1].ent = NACC + (int)d;
        refs[nrefs].c = refs[nrefs + 1].c = kind <= 1 ? RC_ORDER :
            kind == 2                                 ? RC_FAILLOGIN :
                                                        RC_FAILPAY;
        refs[nrefs].ts = refs[nrefs + 1].ts = ts;
        nrefs += 2;
        /* Now and then a query at a random time, past or future. */
        if (rng() % 10 == 0) {
            q = (unsigned)(rng() % NDEV);
            ts = base + rng() % (2 * HOUR_MS) - rng() % (30 * HOUR_MS);
            if (!check)
                continue; /* same random draws in both runs */
            dp = pseudo_of('d', q);
            ASSERT_OK(history_entity_features(
                e->h, e->txn, "shop", ENT_DEVICE, dp.b, PSEUDO_BYTES, ts, &ef));
            ref_check(&ef, NACC + (int)q, ts);
        }
    }
}

/* Dump every database of `e` into one byte string, for comparison. */
static size_t
dump_all(struct env *e, uint8_t **out)
{
    static const char *const names[] = { "entity", "link", "order", "reply",
        "meta" };
    struct store_cursor *c;
    const void *k, *v;
    size_t klen, vlen, n = 0, cap = 1 << 20, i;
    unsigned dbi;
    uint8_t *b = malloc(cap);

    ASSERT(b != NULL);
    for (i = 0; i < ARRAY_LEN(names); i++) {
        ASSERT_OK(store_dbi(e->st, e->txn, names[i], false, &dbi));
        ASSERT_OK(store_cursor_open(e->txn, dbi, NULL, 0, false, &c));
        while (store_cursor_next(c, &k, &klen, &v, &vlen) == 0) {
            while (n + klen + vlen + 16 > cap) {
                cap *= 2;
                b = realloc(b, cap);
                ASSERT(b != NULL);
            }
            memcpy(b + n, &klen, sizeof(klen));
            n += sizeof(klen);
            memcpy(b + n, k, klen);
            n += klen;
            memcpy(b + n, v, vlen);
            n += vlen;
        }
        store_cursor_close(c);
    }
    *out = b;
    return n;
}


/* Commit e's write txn and begin a new one (the sweep reads committed
 * state, as the scorer's overlay would have flushed it). */
static void
env_commit(struct env *e)
{
    ASSERT_OK(store_txn_commit(e->txn));
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
}

/* Run sweep steps of `scan` keys until a pass ends; apply each batch.
 * Returns the rows deleted, by kind, into rows[]. */
static void
sweep_pass(struct env *e, const struct history_retention *ret, uint64_t now,
    unsigned scan, uint64_t rows[HISTORY_ROW_COUNT],
    uint64_t cats[HISTORY_CAT_COUNT])
{
    struct history_sweep sw;
    struct history_batch b;
    bool done = false;
    int steps = 0;

    memset(&sw, 0, sizeof(sw));
    memset(rows, 0, sizeof(uint64_t) * HISTORY_ROW_COUNT);
    memset(cats, 0, sizeof(uint64_t) * HISTORY_CAT_COUNT);
    history_batch_init(&b);
    while (!done) {
        ASSERT(steps++ < 10000);
        ASSERT_OK(
            history_sweep_step(e->h, e->txn, ret, now, &sw, scan, &b, &done));
        for (unsigned i = 0; i < HISTORY_ROW_COUNT; i++)
            rows[i] += b.rows[i];
        for (unsigned i = 0; i < HISTORY_CAT_COUNT; i++)
            cats[i] += b.cats[i];
        ASSERT_OK(history_batch_apply(e->h, e->txn, &b));
        ASSERT_EQ(history_batch_rows(&b), 0);
    }
    ASSERT_EQ(sw.passes, 1);
    history_batch_release(&b);
}

static void
put_reply(struct env *e, const char *id, uint64_t arrival)
{
    struct pseudo eid = ps(id);
    uint8_t dg[HISTORY_DIGEST_BYTES];
    struct reply r;

    memset(&r, 0, sizeof(r));
    memset(dg, 1, sizeof(dg));
    ASSERT_OK(history_reply_put(e->h, e->txn, "shop", &eid, dg, arrival, &r));
}

static bool
has_reply(struct env *e, const char *id)
{
    struct pseudo eid = ps(id);
    struct reply r;
    int rc = history_reply_get(e->h, e->txn, "shop", &eid, NULL, &r);

    ASSERT(rc == 0 || rc == ERR_NOTFOUND);
    return rc == 0;
}

static void
test_sweep(void)
{
    struct history_retention ret;
    uint64_t rows[HISTORY_ROW_COUNT], cats[HISTORY_CAT_COUNT];
    uint64_t now = T0 + 400 * DAY_MS;
    struct features f;
    struct event ev;
    unsigned a;

    {
        struct env e;

        env_open(&e);
        memset(&ret, 0, sizeof(ret));
        for (unsigned c = 0; c < HISTORY_CAT_COUNT; c++)
            ret.keep_ms[c] = 365 * DAY_MS;
        ret.keep_ms[HISTORY_CAT_DEVICE] = 30 * DAY_MS;
        ret.dedup_ms = 7 * DAY_MS;
        /* 20 old accounts (at T0: 400 days before now), each with an
         * order and a device; 5 new ones (yesterday). */
        for (a = 0; a < 25; a++) {
            uint64_t ts = a < 20 ? T0 : now - DAY_MS;

            order_at(&e, a, a, ts);
        }
        /* A device last seen 60 days ago goes (30-day device rule); its
         * account (60 days) stays. */
        order_at(&e, 100, 100, now - 60 * DAY_MS);
        /* A label-only record made now is kept (aged by the label). */
        ev = ev_make(EVENT_LABEL, now - DAY_MS);
        ev_account(&ev, 200);
        ev_ok(&ev, true);
        apply(&e, &ev);
        put_reply(&e, "r-old", now - 8 * DAY_MS);
        put_reply(&e, "r-new", now - 6 * DAY_MS);
        env_commit(&e);
        /* Account 0 is refreshed after the commit (through the write
         * txn, as the overlay would): the sweep must keep it. */
        order_at(&e, 0, 0, now - HOUR_MS);

        sweep_pass(&e, &ret, now, 7, rows, cats);
        /* accounts 1..19 with their link lists, devices 1..19 and 100,
         * orders of 1..19 (account 0's old order too: orders age by
         * their own time). */
        ASSERT_EQ(cats[HISTORY_CAT_ACCOUNT], 19);
        ASSERT_EQ(cats[HISTORY_CAT_DEVICE], 20);
        ASSERT_EQ(cats[HISTORY_CAT_ORDER], 20);
        ASSERT_EQ(rows[HISTORY_ROW_ENTITY], 39);
        ASSERT_EQ(rows[HISTORY_ROW_LINK], 19);
        ASSERT_EQ(rows[HISTORY_ROW_ORDER], 20);
        ASSERT_EQ(rows[HISTORY_ROW_REPLY], 1);
        ASSERT(!has_reply(&e, "r-old"));
        ASSERT(has_reply(&e, "r-new"));
        f = probe(&e, 1, 1, now);
        ASSERT(!f.ent[ENT_ACCOUNT].known && !f.ent[ENT_DEVICE].known);
        f = probe(&e, 0, 0, now);
        ASSERT(f.ent[ENT_ACCOUNT].known && f.ent[ENT_DEVICE].known);
        f = probe(&e, 22, 22, now);
        ASSERT(f.ent[ENT_ACCOUNT].known && f.ent[ENT_DEVICE].known);
        f = probe(&e, 100, 100, now);
        ASSERT(f.ent[ENT_ACCOUNT].known && !f.ent[ENT_DEVICE].known);
        f = probe(&e, 200, 0, now);
        ASSERT(f.ent[ENT_ACCOUNT].fraud_linked);

        /* A second pass finds nothing more. */
        env_commit(&e);
        sweep_pass(&e, &ret, now, 1000, rows, cats);
        ASSERT_EQ(rows[HISTORY_ROW_ENTITY] + rows[HISTORY_ROW_ORDER] +
                rows[HISTORY_ROW_REPLY] + rows[HISTORY_ROW_LINK],
            0);
        env_close(&e);
    }
}

static void
test_erase_plan(void)
{
    static const char *const actors[] = { "other-shop", "shop" };
    struct env e;
    struct history_batch b;
    struct history_order ho;
    struct pseudo acct = ps("acct-7"), dev = pseudo_of('d', 7);
    struct pseudo order = ps("o-erase"), eid;
    struct event ev;
    struct reply r;
    uint8_t dg[HISTORY_DIGEST_BYTES];

    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 7);
    ev_device(&ev, 7);
    ev_order(&ev, "o-erase", 500);
    apply(&e, &ev);
    memset(&r, 0, sizeof(r));
    memset(dg, 2, sizeof(dg));
    ASSERT_OK(history_reply_put(e.h, e.txn, "shop", &ev.id, dg, T0, &r));
    eid = ev.id;
    ASSERT_OK(history_order_get(e.h, e.txn, "shop", &order, &ho));

    history_batch_init(&b);
    /* The account: its entity and link list (in "shop" only). */
    ASSERT_OK(history_erase_plan(e.h, e.txn, &acct, actors, 2, &b));
    ASSERT_EQ(b.rows[HISTORY_ROW_ENTITY], 1);
    ASSERT_EQ(b.rows[HISTORY_ROW_LINK], 1);
    ASSERT_EQ(b.cats[HISTORY_CAT_ACCOUNT], 1);
    /* The device entity; planning it twice counts once. */
    ASSERT_OK(history_erase_plan(e.h, e.txn, &dev, actors, 2, &b));
    ASSERT_OK(history_erase_plan(e.h, e.txn, &dev, actors, 2, &b));
    ASSERT_EQ(b.rows[HISTORY_ROW_ENTITY], 2);
    ASSERT_EQ(b.cats[HISTORY_CAT_DEVICE], 1);
    /* The order and its event's reply; the reply by id again: once. */
    ASSERT_OK(history_erase_plan(e.h, e.txn, &order, actors, 2, &b));
    ASSERT_OK(history_erase_reply_plan(e.h, e.txn, "shop", &eid, &b));
    ASSERT_EQ(b.rows[HISTORY_ROW_ORDER], 1);
    ASSERT_EQ(b.rows[HISTORY_ROW_REPLY], 1);
    ASSERT_EQ(history_batch_rows(&b), 5);
    ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
    ASSERT_EQ(history_order_get(e.h, e.txn, "shop", &order, &ho), ERR_NOTFOUND);
    ASSERT_EQ(
        history_reply_get(e.h, e.txn, "shop", &eid, NULL, &r), ERR_NOTFOUND);
    {
        struct features f = probe(&e, 7, 7, T0 + 1);

        ASSERT(!f.ent[ENT_ACCOUNT].known && !f.ent[ENT_DEVICE].known);
    }
    history_batch_release(&b);
    env_close(&e);
}

static void
test_random_vs_reference(void)
{
    struct env e1, e2;
    uint8_t *d1, *d2;
    size_t n1, n2;

    env_open(&e1);
    random_run(&e1, true);
    /* Determinism: the same events give byte-identical databases. */
    env_open(&e2);
    random_run(&e2, false);
    n1 = dump_all(&e1, &d1);
    n2 = dump_all(&e2, &d2);
    ASSERT_EQ(n1, n2);
    ASSERT_MEM_EQ(d1, d2, n1);
    printf("random: %d events checked against the reference model, "
           "%zu bytes of identical state\n",
        NEV, n1);
    free(d2);
    env_close(&e2);
    /* The first-seen entities passed as fresh (not looked up): the same
     * features (checked) and byte-identical state. */
    env_open(&e2);
    rr_fresh = true;
    random_run(&e2, true);
    rr_fresh = false;
    n2 = dump_all(&e2, &d2);
    ASSERT_EQ(n1, n2);
    ASSERT_MEM_EQ(d1, d2, n1);
    free(d1);
    free(d2);
    env_close(&e1);
    env_close(&e2);
}

/*
 * `fresh` skips the lookups it names and nothing else: a stored device
 * passed as fresh is unknown to history_features() and its record starts
 * over in history_apply(), its account list too (the caller's promise
 * that nothing is stored under a new token is what makes this right);
 * the account, not fresh, is read as before; a payment result's
 * counts go to the stored order's entities even when the kinds are
 * fresh (they are the order's keys, not the event's).
 */
static void
test_fresh(void)
{
    struct env e;
    struct event ev;
    struct features f;
    struct history_linked ln;
    struct pseudo acc;
    const uint32_t fdev = HISTORY_FRESH(ENT_DEVICE);

    env_open(&e);
    order_at(&e, 1, 1, T0);
    ev = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    f = feat_fresh(&e, &ev, 0);
    ASSERT(f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 1);
    f = feat_fresh(&e, &ev, fdev);
    ASSERT(!f.ent[ENT_DEVICE].known);
    ASSERT(f.ent[ENT_ACCOUNT].known);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].orders_24h, 1);

    /* A login of account 2 on device 1, device passed as fresh: the
     * device's account list starts over with account 2 alone. */
    ev = ev_make(EVENT_ACCOUNT_LOGIN, T0 + 2 * MIN_MS);
    ev_account(&ev, 2);
    ev_device(&ev, 1);
    apply_fresh(&e, &ev, fdev);
    acc = ps("acct-2");
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &acc, &ln));
    ASSERT_EQ(ln.naccounts, 0); /* 1 (account 1) when looked up */
    ev = ev_make(EVENT_DEVICE_SEEN, T0 + 2 * MIN_MS + 1);
    ev_device(&ev, 1);
    f = feat(&e, &ev);
    ASSERT_EQ(f.ent[ENT_DEVICE].accounts, 1);   /* 2 when looked up */
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_24h, 0); /* 1 when looked up */

    /* A failed payment of order "o-x" (placed by account 1 on device
     * 1): counted on the order's device though the kind is fresh. */
    ev = ev_make(EVENT_ORDER_PLACED, T0 + 3 * MIN_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_order(&ev, "o-x", 100);
    apply(&e, &ev);
    ev = ev_make(EVENT_PAYMENT_RESULT, T0 + 4 * MIN_MS);
    ev_order(&ev, "o-x", 0);
    ev_ok(&ev, false);
    apply_fresh(&e, &ev, fdev | HISTORY_FRESH(ENT_ACCOUNT));
    ev = ev_make(EVENT_DEVICE_SEEN, T0 + 5 * MIN_MS);
    ev_device(&ev, 1);
    f = feat(&e, &ev);
    ASSERT(f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].failed_pay_24h, 1);
    env_close(&e);
}

/* ------------------------------------------- refused input, hostile data */

/* Every entry point refuses what history.h says it refuses, and a refusal
 * leaves nothing behind (the features -> apply cache included). */
static void
test_refusals(void)
{
    char longactor[EVENT_ID_MAX + 2];
    struct entity_features ef;
    struct store_txn *rtxn;
    struct features f, f2;
    struct event ev;
    struct pseudo acc = ps("acct-1"), dev = pseudo_of('d', 1);
    enum score_list was;
    uint8_t meta[4], bad[3] = { 1, 2, 3 };
    uint64_t seq;
    size_t len;
    unsigned dbi;
    struct env e;

    memset(longactor, 'a', sizeof(longactor) - 1);
    longactor[sizeof(longactor) - 1] = '\0';
    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_order(&ev, "o-r1", 500);
    apply(&e, &ev);

    /* A storefront name past EVENT_ID_MAX: features and apply refuse it
     * and the account is not touched. */
    ev = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ASSERT_EQ(history_features(e.h, e.txn, longactor, &ev, 0, &f), ERR_INVAL);
    ASSERT_EQ(history_apply(e.h, e.txn, longactor, &ev, 0, NULL), ERR_INVAL);
    /* A time outside the events' range: refused, after a features call
     * that filled the cache for this very event. */
    f = feat(&e, &ev);
    ev.ts = 1;
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_INVAL);
    ASSERT_EQ(history_features(e.h, e.txn, "shop", &ev, 0, &f2), ERR_INVAL);
    ASSERT_EQ(f2.account_age_ms, -1);
    ev.ts = T0 + MIN_MS;
    f2 = feat(&e, &ev);
    ASSERT_EQ(f2.account_orders, 1); /* nothing was applied */
    ASSERT_EQ(f.account_orders, 1);

    /* Apply needs a write txn: a read txn is refused. */
    ASSERT_OK(store_txn_commit(e.txn));
    ASSERT_OK(store_txn_begin(e.st, false, &rtxn));
    ASSERT_EQ(history_apply(e.h, rtxn, "shop", &ev, 0, NULL), ERR_INVAL);
    ASSERT_EQ(history_list_set(
                  e.h, rtxn, "shop", ENT_DEVICE, &dev, SCORE_LIST_BLOCK, &was),
        ERR_INVAL);
    /* Read txns still answer features, uncached. */
    ASSERT_OK(history_features(e.h, rtxn, "shop", &ev, 0, &f2));
    ASSERT_EQ(f2.account_orders, 1);
    store_txn_abort(rtxn);
    ASSERT_OK(store_txn_begin(e.st, true, &e.txn));

    /* history_entity_features: an account (storefront-scoped) answers
     * what history_features answers for it; wrong kinds, id lengths,
     * times and storefront names are refused. */
    ASSERT_OK(history_entity_features(e.h, e.txn, "shop", ENT_ACCOUNT, acc.b,
        PSEUDO_BYTES, T0 + MIN_MS, &ef));
    ASSERT_EQ(ef.orders_1h, f2.ent[ENT_ACCOUNT].orders_1h);
    ASSERT_EQ(ef.orders_1h, 1);
    ASSERT(ef.known);
    ASSERT_OK(history_entity_features(e.h, e.txn, "other-shop", ENT_ACCOUNT,
        acc.b, PSEUDO_BYTES, T0 + MIN_MS, &ef));
    ASSERT(!ef.known); /* the same token at another storefront */
    ASSERT_EQ(history_entity_features(e.h, e.txn, "shop", ENT_ACCOUNT, acc.b,
                  PSEUDO_BYTES - 1, T0, &ef),
        ERR_INVAL);
    ASSERT_EQ(history_entity_features(e.h, e.txn, longactor, ENT_ACCOUNT, acc.b,
                  PSEUDO_BYTES, T0, &ef),
        ERR_INVAL);
    ASSERT_EQ(history_entity_features(e.h, e.txn, "shop", ENT_DEVICE, dev.b,
                  PSEUDO_BYTES + 1, T0, &ef),
        ERR_INVAL);
    ASSERT_EQ(history_entity_features(
                  e.h, e.txn, "shop", ENT_COUNT, dev.b, PSEUDO_BYTES, T0, &ef),
        ERR_INVAL);
    ASSERT_EQ(history_entity_features(
                  e.h, e.txn, "shop", ENT_DEVICE, dev.b, PSEUDO_BYTES, 1, &ef),
        ERR_INVAL);
    ASSERT_EQ(ef.age_ms, -1);

    /* Meta rows: the applied-seq name is reserved, names are 1..64
     * bytes, a value larger than the caller's buffer is ERR_TOOBIG. */
    ASSERT_EQ(history_meta_put(e.h, e.txn, "", "x", 1), ERR_INVAL);
    ASSERT_EQ(history_meta_put(e.h, e.txn, "applied_seq", "x", 1), ERR_INVAL);
    ASSERT_EQ(
        history_meta_get(e.h, e.txn, "applied_seq", meta, sizeof(meta), &len),
        ERR_INVAL);
    ASSERT_EQ(history_meta_del(e.h, e.txn,
                  "a-name-of-sixty-five-bytes-a-name-of-sixty-five-bytes-"
                  "0123456789X"),
        ERR_INVAL);
    ASSERT_OK(history_meta_put(e.h, e.txn, "five", "12345", 5));
    ASSERT_EQ(history_meta_get(e.h, e.txn, "five", meta, sizeof(meta), &len),
        ERR_TOOBIG);
    ASSERT_EQ(len, 0);
    ASSERT_OK(history_meta_del(e.h, e.txn, "five"));
    ASSERT_OK(history_meta_del(e.h, e.txn, "five")); /* absent: fine */
    ASSERT_EQ(history_meta_get(e.h, e.txn, "five", meta, sizeof(meta), &len),
        ERR_NOTFOUND);
    /* An applied_seq row of the wrong size is corrupt, not 0. */
    ASSERT_OK(store_dbi(e.st, e.txn, "meta", false, &dbi));
    ASSERT_OK(store_put(e.txn, dbi, "applied_seq", 11, bad, sizeof(bad)));
    ASSERT_EQ(history_applied_seq(e.h, e.txn, &seq), ERR_CORRUPT);
    ASSERT_EQ(seq, 0);
    ASSERT_OK(history_set_applied_seq(e.h, e.txn, 9));
    ASSERT_OK(history_applied_seq(e.h, e.txn, &seq));
    ASSERT_EQ(seq, 9);
    env_close(&e);
}

/* A hostile order record in the order database: a payment failure or a
 * label naming that order is refused as corrupt, not applied to the
 * event's own entities instead; the record itself is left as it is. */
static void
test_corrupt_order(void)
{
    struct env e;
    struct event ev;
    struct pseudo o = ps("o-bad");
    uint8_t key[5 + PSEUDO_BYTES], junk[5] = { 0xee, 1, 2, 3, 4 };
    const void *v;
    size_t klen, vlen;
    unsigned dbi;

    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 1);
    ev_device(&ev, 1);
    ev_order(&ev, "o-bad", 100);
    apply(&e, &ev);
    /* The order key (history.h): storefront, NUL, the order's token. */
    memcpy(key, "shop", 5);
    memcpy(key + 5, o.b, PSEUDO_BYTES);
    klen = 5 + PSEUDO_BYTES;
    ASSERT_OK(store_dbi(e.st, e.txn, "order", false, &dbi));
    ASSERT_OK(store_put(e.txn, dbi, key, klen, junk, sizeof(junk)));

    ev = ev_make(EVENT_PAYMENT_RESULT, T0 + MIN_MS);
    ev_order(&ev, "o-bad", 0);
    ev_ok(&ev, false);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    ev = ev_make(EVENT_LABEL, T0 + MIN_MS);
    ev_order(&ev, "o-bad", 0);
    ev_ok(&ev, true);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    ASSERT_OK(store_get_view(e.txn, dbi, key, klen, &v, &vlen));
    ASSERT_EQ(vlen, sizeof(junk));
    ASSERT_MEM_EQ(v, junk, sizeof(junk));

    /* A hostile entity record: device 7 of order o-7, account 8. Events
     * naming it are refused as corrupt (an order of another account on
     * that device, a fraud label of o-7 that would flag the device), and
     * so is a fraud label of an account whose own record is garbage. */
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 8);
    ev_device(&ev, 7);
    ev_order(&ev, "o-7", 100);
    apply(&e, &ev);
    put_device_value(&e, 7, junk, sizeof(junk));
    ev = ev_make(EVENT_ORDER_PLACED, T0 + MIN_MS);
    ev_account(&ev, 9);
    ev_device(&ev, 7);
    ev_order(&ev, "o-9", 100);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    ev = ev_make(EVENT_LABEL, T0 + MIN_MS);
    ev_order(&ev, "o-7", 0);
    ev_ok(&ev, true);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    {
        struct pseudo a = ps("acct-8");
        uint8_t ak[6 + PSEUDO_BYTES];

        ak[0] = 'A';
        memcpy(ak + 1, "shop", 5);
        memcpy(ak + 6, a.b, PSEUDO_BYTES);
        ASSERT_OK(store_dbi(e.st, e.txn, "entity", false, &dbi));
        ASSERT_OK(store_put(e.txn, dbi, ak, sizeof(ak), junk, sizeof(junk)));
    }
    ev = ev_make(EVENT_LABEL, T0 + MIN_MS);
    ev_account(&ev, 8);
    ev_ok(&ev, true);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    ev = ev_make(EVENT_ACCOUNT_LOGIN, T0 + MIN_MS);
    ev_account(&ev, 8);
    ev_ok(&ev, false);
    ASSERT_EQ(history_apply(e.h, e.txn, "shop", &ev, 0, NULL), ERR_CORRUPT);
    env_close(&e);
}

/* Labels: a label naming only an order never seen (no account) changes
 * nothing; fraud=false then fraud=true on the same account ends fraud
 * (the later label wins, legit cleared), and back. */
static void
test_label_flips(void)
{
    struct env e;
    struct event ev;
    struct history_linked l;
    struct pseudo acc = ps("acct-3");
    uint8_t *d1, *d2;
    size_t n1, n2;

    env_open(&e);
    ev = ev_make(EVENT_ORDER_PLACED, T0);
    ev_account(&ev, 3);
    ev_device(&ev, 3);
    ev_order(&ev, "o-3", 100);
    apply(&e, &ev);

    n1 = dump_all(&e, &d1);
    ev = ev_make(EVENT_LABEL, T0 + MIN_MS);
    ev_order(&ev, "o-never", 0);
    ev_ok(&ev, false);
    apply(&e, &ev);
    n2 = dump_all(&e, &d2);
    ASSERT_EQ(n1, n2);
    ASSERT_MEM_EQ(d1, d2, n1);
    free(d1);
    free(d2);

    ev = ev_make(EVENT_LABEL, T0 + MIN_MS);
    ev_account(&ev, 3);
    ev_ok(&ev, false);
    apply(&e, &ev);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &acc, &l));
    ASSERT(l.legit && !l.fraud);
    ev = ev_make(EVENT_LABEL, T0 + 2 * MIN_MS);
    ev_account(&ev, 3);
    ev_ok(&ev, true);
    apply(&e, &ev);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &acc, &l));
    ASSERT(l.fraud && !l.legit);
    ASSERT(probe(&e, 9, 3, T0 + HOUR_MS).ent[ENT_DEVICE].fraud_linked);
    ev = ev_make(EVENT_LABEL, T0 + 3 * MIN_MS);
    ev_account(&ev, 3);
    ev_ok(&ev, false);
    apply(&e, &ev);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &acc, &l));
    ASSERT(l.legit && !l.fraud);
    env_close(&e);
}

/*
 * Stored replies are decoded strictly (the dedup answers from them): a
 * reply with a message, two reasons and a model round-trips; every
 * strict prefix of its record, a trailing byte, an unknown version, a
 * positive code, a decision or reason count out of range, a NUL inside
 * a string are ERR_CORRUPT with nothing copied out; history_reply_put
 * refuses what it could not store faithfully.
 */
static void
test_reply_strict(void)
{
    struct env e;
    struct pseudo eid = ps("ev-strict");
    uint8_t dg[HISTORY_DIGEST_BYTES], dg2[HISTORY_DIGEST_BYTES], *rec, *cut;
    struct store_cursor *c;
    const void *k, *v;
    size_t klen, tklen, klen2, vlen, vlen2, i;
    struct reply r, back;
    unsigned dbi, tdbi;
    uint8_t key[256], tkey[264];
    uint64_t arrival;

    env_open(&e);
    memset(dg, 0x5c, sizeof(dg));
    memset(&r, 0, sizeof(r));
    r.code = 0;
    r.has_score = true;
    r.score = 77;
    r.decision = REPLY_DECISION_REVIEW;
    snprintf(r.msg, sizeof(r.msg), "ok");
    r.nreasons = 2;
    snprintf(r.reasons[0].code, sizeof(r.reasons[0].code), "velocity");
    snprintf(r.reasons[0].text, sizeof(r.reasons[0].text), "many orders");
    r.reasons[0].value = 4.5;
    snprintf(r.reasons[1].code, sizeof(r.reasons[1].code), "new_device");
    snprintf(r.reasons[1].text, sizeof(r.reasons[1].text), "first seen");
    r.reasons[1].value = -1.25;
    snprintf(r.model, sizeof(r.model), "gbdt-7");
    ASSERT_OK(history_reply_put(e.h, e.txn, "shop", &eid, dg, T0, &r));
    ASSERT_OK(history_reply_get(e.h, e.txn, "shop", &eid, dg2, &back));
    ASSERT_MEM_EQ(dg2, dg, sizeof(dg));
    ASSERT_EQ(back.score, 77);
    ASSERT_EQ(back.decision, REPLY_DECISION_REVIEW);
    ASSERT_EQ(back.nreasons, 2);
    ASSERT_STR_EQ(back.reasons[1].code, "new_device");
    ASSERT(back.reasons[1].value == -1.25);
    ASSERT_STR_EQ(back.model, "gbdt-7");

    /* As stored: "reply" holds the 9-byte index entry (version 5, the
     * arrival), "reply_time" the reply itself under (arrival, key). */
    ASSERT_OK(store_dbi(e.st, e.txn, "reply", false, &dbi));
    ASSERT_OK(store_cursor_open(e.txn, dbi, NULL, 0, false, &c));
    ASSERT_OK(store_cursor_next(c, &k, &klen, &v, &vlen));
    ASSERT(klen <= sizeof(key));
    memcpy(key, k, klen);
    ASSERT_EQ(vlen, 9);
    ASSERT_EQ(((const uint8_t *)v)[0], 5);
    ASSERT_EQ(bytes_get_le64((const uint8_t *)v + 1), T0);
    ASSERT_EQ(store_cursor_next(c, &k, &klen, &v, &vlen), ERR_NOTFOUND);
    store_cursor_close(c);
    ASSERT_OK(store_dbi(e.st, e.txn, "reply_time", false, &tdbi));
    ASSERT_OK(store_cursor_open(e.txn, tdbi, NULL, 0, false, &c));
    ASSERT_OK(store_cursor_next(c, &k, &tklen, &v, &vlen));
    ASSERT(tklen <= sizeof(tkey));
    memcpy(tkey, k, tklen);
    ASSERT_EQ(tklen, 8 + klen);
    ASSERT_MEM_EQ(tkey + 8, key, klen);
    rec = malloc(vlen + 1);
    ASSERT(rec != NULL);
    memcpy(rec, v, vlen);
    ASSERT_EQ(store_cursor_next(c, &k, &klen2, &v, &vlen2), ERR_NOTFOUND);
    store_cursor_close(c);

    /* Strict through the index (the reply under its time) and as a
     * version-4 value of "reply" itself, written before 2026-12-05. */
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned wdbi = legacy ? dbi : tdbi;
        const uint8_t *wkey = legacy ? key : tkey;
        size_t wklen = legacy ? klen : tklen;

        for (i = 0; i <= vlen; i++) {
            /* Each cut from its own heap copy: a read past it is caught
             * by ASan rather than reading the neighbour bytes. */
            cut = malloc(i + 1);
            ASSERT(cut != NULL);
            memcpy(cut, rec, i);
            if (i == vlen)
                cut[i] = 0; /* one trailing byte */
            ASSERT_OK(store_put(
                e.txn, wdbi, wkey, wklen, cut, i == vlen ? i + 1 : i));
            free(cut);
            memset(&back, 0x11, sizeof(back));
            ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
                ERR_CORRUPT);
            ASSERT_EQ(back.nreasons, 0);
            ASSERT_EQ(back.score, 0);
        }
        /* Field by field: version, has_score, decision, reason count,
         * code, a NUL inside the message. Offsets: version 1, digest 16,
         * arrival 8, code 4, has_score, score, decision, nreasons, msg
         * length. */
        {
            static const struct {
                size_t off;
                uint8_t val;
            } bad[] = { { 0, 99 }, { 29, 2 }, { 31, REPLY_DECISION_BLOCK + 1 },
                { 32, REPLY_MAX_REASONS + 1 }, { 25, 1 }, { 34, 0 } };

            for (i = 0; i < ARRAY_LEN(bad); i++) {
                uint8_t save = rec[bad[i].off];

                rec[bad[i].off] = bad[i].val;
                ASSERT_OK(store_put(e.txn, wdbi, wkey, wklen, rec, vlen));
                ASSERT_EQ(
                    history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
                    ERR_CORRUPT);
                rec[bad[i].off] = save;
            }
            ASSERT_OK(store_put(e.txn, wdbi, wkey, wklen, rec, vlen));
            ASSERT_OK(history_reply_get(e.h, e.txn, "shop", &eid, dg2, &back));
            ASSERT_STR_EQ(back.msg, "ok");
            ASSERT_MEM_EQ(dg2, dg, sizeof(dg));
            ASSERT_STR_EQ(back.model, "gbdt-7");
        }
    }
    /* The index entry itself: its length and version are exact, and
     * it must find a reply of its own time. */
    {
        uint8_t idx[10] = { 5 };
        struct reply cold;

        bytes_put_le64(idx + 1, T0);
        ASSERT_OK(store_put(e.txn, dbi, key, klen, idx, 9));
        ASSERT_OK(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back));
        ASSERT_EQ(back.score, 77);
        ASSERT_OK(store_put(e.txn, dbi, key, klen, idx, 10));
        ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
            ERR_CORRUPT);
        ASSERT_OK(store_put(e.txn, dbi, key, klen, idx, 8));
        ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
            ERR_CORRUPT);
        idx[0] = 6;
        ASSERT_OK(store_put(e.txn, dbi, key, klen, idx, 9));
        ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
            ERR_CORRUPT);
        /* No reply at the index's time: dangling. */
        idx[0] = 5;
        bytes_put_le64(idx + 1, T0 + 1);
        ASSERT_OK(store_put(e.txn, dbi, key, klen, idx, 9));
        memset(&cold, 0x11, sizeof(cold));
        ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &cold),
            ERR_CORRUPT);
        ASSERT_EQ(cold.score, 0);
        /* A reply under the index's time but of another arrival. */
        {
            uint8_t tk2[sizeof(tkey)];

            memcpy(tk2, tkey, tklen);
            for (unsigned b = 0; b < 8; b++)
                tk2[b] = (uint8_t)((T0 + 1) >> (56 - 8 * b));
            ASSERT_OK(store_put(e.txn, tdbi, tk2, tklen, rec, vlen));
            ASSERT_EQ(history_reply_get(e.h, e.txn, "shop", &eid, NULL, &back),
                ERR_CORRUPT);
        }
        /* The arrival the retention and erasure plans read. */
        ASSERT_EQ(history_reply_arrival(idx, 9, &arrival), 0);
        ASSERT_EQ(arrival, T0 + 1);
        ASSERT_EQ(history_reply_arrival(rec, vlen, &arrival), 0);
        ASSERT_EQ(arrival, T0);
        ASSERT_EQ(history_reply_arrival(idx, 8, &arrival), ERR_CORRUPT);
    }
    free(rec);

    /* What the store could not hold faithfully is refused. */
    r.code = 1;
    ASSERT_EQ(
        history_reply_put(e.h, e.txn, "shop", &eid, dg, T0, &r), ERR_INVAL);
    r.code = 0;
    r.decision = (enum reply_decision)(REPLY_DECISION_BLOCK + 1);
    ASSERT_EQ(
        history_reply_put(e.h, e.txn, "shop", &eid, dg, T0, &r), ERR_INVAL);
    r.decision = REPLY_DECISION_ALLOW;
    r.nreasons = REPLY_MAX_REASONS + 1;
    ASSERT_EQ(
        history_reply_put(e.h, e.txn, "shop", &eid, dg, T0, &r), ERR_INVAL);
    r.nreasons = 0;
    {
        char longactor[EVENT_ID_MAX + 2];

        memset(longactor, 'a', sizeof(longactor) - 1);
        longactor[sizeof(longactor) - 1] = '\0';
        ASSERT_EQ(history_reply_put(e.h, e.txn, longactor, &eid, dg, T0, &r),
            ERR_INVAL);
        ASSERT_EQ(history_reply_get(e.h, e.txn, longactor, &eid, NULL, &back),
            ERR_INVAL);
    }
    env_close(&e);
}

/* A read-only store (the tools' open) opens the databases a scorer made;
 * on an environment that has none of them it fails, creating nothing. */
static void
test_open_read_only(void)
{
    struct store *st;
    struct history *h;
    struct env e;
    char dir[256], empty[256];
    int rc;

    snprintf(dir, sizeof(dir), "%s/env%d", root, envno);
    env_open(&e);
    order_at(&e, 1, 1, T0);
    env_close(&e);
    ASSERT_OK(store_open_flags(dir, 1u << 20, HISTORY_DBS, STORE_RDONLY, &st));
    ASSERT_OK(history_open(st, &h));
    history_close(h);
    store_close(st);

    snprintf(empty, sizeof(empty), "%s/env%d", root, envno++);
    ASSERT_OK(store_open(empty, 1u << 20, HISTORY_DBS, &st));
    store_close(st);
    ASSERT_OK(
        store_open_flags(empty, 1u << 20, HISTORY_DBS, STORE_RDONLY, &st));
    rc = history_open(st, &h);
    ASSERT_EQ(rc, ERR_NOTFOUND);
    ASSERT(h == NULL);
    store_close(st);
}

/*
 * A map that fills up: the same mixed stream (signups, orders with every
 * entity kind, some for review, failed logins and payments, labels both
 * ways) applied one event a txn, features first as the scorer does, on
 * a map that starts small and grows by 16 KiB after each ERR_FULL (the
 * scorer's grow-and-retry). Every failure must be ERR_FULL, the aborted
 * txn leaves nothing, and the retried stream ends byte-identical to the
 * same stream on a roomy map.
 */
#define FULL_NEV 500

static struct event
mixed_event(unsigned i, struct reply *r)
{
    struct event ev;
    char name[32];
    unsigned kind = i < 4 ? 1 : (unsigned)(rng() % 8);
    unsigned a = (unsigned)(rng() % 60), d = (unsigned)(rng() % 80);
    uint64_t ts = T0 + (uint64_t)i * MIN_MS;

    memset(r, 0, sizeof(*r));
    switch (kind) {
    case 0:
        ev = ev_make(EVENT_ACCOUNT_SIGNUP, ts);
        ev_account(&ev, a);
        ev_device(&ev, d);
        ev_ip(&ev, (unsigned)(rng() % 200));
        ev.has |= EVENT_HAS_EMAIL;
        ev.email = pseudo_of('e', a);
        break;
    case 1:
    case 2:
    case 3:
        ev = ev_make(EVENT_ORDER_PLACED, ts);
        snprintf(name, sizeof(name), "mo-%u", i);
        ev_account(&ev, a);
        ev_device(&ev, d);
        ev_ip(&ev, (unsigned)(rng() % 200));
        ev_card(&ev, (unsigned)(rng() % 90));
        ev.has |= EVENT_HAS_EMAIL;
        ev.email = pseudo_of('e', a);
        ev_order(&ev, name, 100 + rng() % 5000);
        r->has_score = true;
        r->score = (uint8_t)(rng() % 100);
        r->decision = kind == 3 ? REPLY_DECISION_REVIEW : REPLY_DECISION_ALLOW;
        break;
    case 4:
        ev = ev_make(EVENT_ACCOUNT_LOGIN, ts);
        ev_account(&ev, a);
        ev_device(&ev, d);
        ev_ok(&ev, false);
        break;
    case 5:
        ev = ev_make(EVENT_PAYMENT_RESULT, ts);
        snprintf(name, sizeof(name), "mo-%u", (unsigned)(rng() % i));
        ev_order(&ev, name, 0);
        ev_ok(&ev, false);
        break;
    case 6:
        ev = ev_make(EVENT_LABEL, ts);
        snprintf(name, sizeof(name), "mo-%u", (unsigned)(rng() % i));
        ev_order(&ev, name, 0);
        ev_ok(&ev, rng() % 3 != 0);
        break;
    default:
        ev = ev_make(EVENT_LABEL, ts);
        ev_account(&ev, a);
        ev_ok(&ev, rng() % 2 == 0);
        break;
    }
    return ev;
}

/* Apply the stream to a fresh store of `map` bytes; returns the number
 * of ERR_FULL met (and grown past). Leaves e->txn open for dump_all. */
static unsigned
full_run(struct env *e, size_t map)
{
    struct features f;
    struct reply r;
    struct event ev;
    char dir[256];
    unsigned i, fulls = 0, tries;
    int rc;

    snprintf(dir, sizeof(dir), "%s/env%d", root, envno++);
    ASSERT_OK(store_open(dir, map, HISTORY_DBS, &e->st));
    ASSERT_OK(history_open(e->st, &e->h));
    ev_next_id = 0;
    rng_state = 0x2545f4914f6cdd1dULL;
    for (i = 0; i < FULL_NEV; i++) {
        ev = mixed_event(i, &r);
        for (tries = 0;; tries++) {
            ASSERT(tries < 8);
            ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
            rc = 0;
            if (ev.type != EVENT_LABEL)
                rc = history_features(e->h, e->txn, "shop", &ev, 0, &f);
            if (rc == 0)
                rc = history_apply(e->h, e->txn, "shop", &ev, 0, &r);
            if (rc == 0) {
                rc = store_txn_commit(e->txn);
            } else {
                store_txn_abort(e->txn);
            }
            e->txn = NULL;
            if (rc == 0)
                break;
            ASSERT_EQ(rc, ERR_FULL);
            fulls++;
            map += 16u << 10;
            ASSERT_OK(store_set_map_bytes(e->st, map));
        }
    }
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
    return fulls;
}

static void
test_full_map(void)
{
    struct env big, small;
    uint8_t *d1, *d2;
    size_t n1, n2;
    unsigned fulls;

    ASSERT_EQ(full_run(&big, 64u << 20), 0);
    fulls = full_run(&small, 64u << 10);
    n1 = dump_all(&big, &d1);
    n2 = dump_all(&small, &d2);
    ASSERT_EQ(n1, n2);
    ASSERT_MEM_EQ(d1, d2, n1);
    ASSERT(fulls >= 10);
    printf("full map: %u ERR_FULL met and retried over %d events, %zu bytes "
           "of state identical to the roomy run\n",
        fulls, FULL_NEV, n1);
    free(d1);
    free(d2);
    env_close(&big);
    env_close(&small);
}

/* --------------------------------------------------------- benchmark */

static double
elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 +
        (double)(b->tv_nsec - a->tv_nsec);
}

static void
test_bench(void)
{
    struct env e;
    struct event ev;
    struct features f;
    struct reply r;
    struct timespec a, b, ca, cb;
    const unsigned n = 20000;
    double work = 0, cpu = 0, commit = 0;
    unsigned i;

    env_open(&e);
    memset(&r, 0, sizeof(r));
    r.has_score = true;
    for (i = 0; i < n; i++) {
        ev = ev_make(EVENT_ORDER_PLACED, T0 + (uint64_t)i * 1000);
        ev_account(&ev, i % 2000);
        ev_device(&ev, i % 3000);
        ev_ip(&ev, i % 5000);
        ev_card(&ev, i % 2500);
        ev.has |= EVENT_HAS_EMAIL;
        ev.email = pseudo_of('e', i % 2000);
        ev.order = pseudo_of('o', i);
        ev.has |= EVENT_HAS_ORDER;
        ev.amount = 1000 + i;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
        ASSERT_OK(history_features(e.h, e.txn, "shop", &ev, 0, &f));
        ASSERT_OK(history_apply(e.h, e.txn, "shop", &ev, 0, &r));
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
        clock_gettime(CLOCK_MONOTONIC, &b);
        work += elapsed_ns(&a, &b);
        cpu += elapsed_ns(&ca, &cb);
        if (i % 1000 == 999) {
            clock_gettime(CLOCK_MONOTONIC, &a);
            ASSERT_OK(store_txn_commit(e.txn));
            ASSERT_OK(store_txn_begin(e.st, true, &e.txn));
            clock_gettime(CLOCK_MONOTONIC, &b);
            commit += elapsed_ns(&a, &b);
        }
    }
    printf("bench: entity record %d bytes; history_features + "
           "history_apply of an order naming 6 entities: %.0f ns wall, "
           "%.0f ns cpu each (%u orders over ~15,000 entities); synced LMDB "
           "commit of 1000 orders: %.1f ms\n",
        HISTORY_ENTITY_RECORD_BYTES, work / n, cpu / n, n,
        commit / (n / 1000) / 1e6);
    env_close(&e);
}

int
main(void)
{
    log_init("test_history", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_windows);
    RUN(test_bucket_expiry_and_out_of_order);
    RUN(test_distinct_accounts);
    RUN(test_failed_payments);
    RUN(test_fraud_linked);
    RUN(test_account_age_amounts_country);
    RUN(test_never_self);
    RUN(test_reply_and_applied_seq);
    RUN(test_record_versions);
    RUN(test_sweep);
    RUN(test_refusals);
    RUN(test_corrupt_order);
    RUN(test_label_flips);
    RUN(test_reply_strict);
    RUN(test_open_read_only);
    RUN(test_full_map);
    RUN(test_erase_plan);
    RUN(test_features_apply_cache);
    RUN(test_random_vs_reference);
    RUN(test_fresh);
    RUN(test_bench);
    rm_rf(root);
    return 0;
}
