/*
 * test_history_review.c - unit tests of the review queue and the linked
 *                         accounts in scorer/history (history_review.c,
 *                         history_link.c)
 *
 * Real LMDB in a mkdtemp directory, through history_apply() as the
 * scorer drives it. The queue: orders scored review are listed oldest
 * first by event time (not arrival), others never; paging with the
 * cursor and the storefront filter; a label of the order takes it out
 * (counted out); retention and erasure of the order take its entry with
 * it; the bound (HISTORY_REVIEW_MAX queued, the rest counted dropped).
 * Linked accounts: a ring (shared device, shared IP and card), a fraud
 * label ordering, an account that is gone left out, the 15 cap, and an
 * account leaving an entity's list when its own list lets the entity go.
 * The allow and block lists (history_list_set/get): flags of the entity
 * record by token, seen by history_features(), kept through events,
 * scoped by storefront for accounts, kept by the retention sweep while
 * listed and swept once off the list, erased with the entity.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "scorer/history.h"
#include "tests/harness/test.h"

#define DAY_MS (24 * 60 * 60 * 1000ULL)
#define T0     (1699999200000ULL) /* 2023-11-14 22:00 UTC */

static char tmpl[] = "/tmp/vigil-test-review-XXXXXX";
static char *root;
static int envno;
static unsigned evno;

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
    ASSERT_OK(store_open(dir, 512u << 20, HISTORY_DBS, &e->st));
    ASSERT_OK(history_open(e->st, &e->h));
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
}

static void
env_commit(struct env *e)
{
    ASSERT_OK(store_txn_commit(e->txn));
    ASSERT_OK(store_txn_begin(e->st, true, &e->txn));
}

static void
env_close(struct env *e)
{
    ASSERT_OK(store_txn_commit(e->txn));
    history_close(e->h);
    store_close(e->st);
}

static struct pseudo
ps(const char *kind, unsigned n)
{
    char id[64];
    struct pseudo p;

    snprintf(id, sizeof(id), "%s-%u", kind, n);
    crypto_generichash(
        p.b, sizeof(p.b), (const unsigned char *)id, strlen(id), NULL, 0);
    return p;
}

/* Order `o` of account `a` on device `d` (and IP/card `ip` when not 0)
 * of storefront `actor` at ts, answered with `decision`. */
static void
order(struct env *e, const char *actor, unsigned o, unsigned a, unsigned d,
    unsigned ip, uint64_t ts, enum reply_decision decision)
{
    struct event ev;
    struct reply r;

    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_ORDER_PLACED;
    ev.ts = ts;
    ev.id = ps("ev", evno++);
    ev.has = EVENT_HAS_ACCOUNT | EVENT_HAS_DEVICE | EVENT_HAS_ORDER;
    ev.account = ps("acct", a);
    ev.device = ps("dev", d);
    ev.order = ps("ord", o);
    ev.amount = 1000;
    if (ip != 0) {
        ev.has |= EVENT_HAS_IP | EVENT_HAS_CARD;
        ev.ip = ps("ip", ip);
        ev.ip24 = ps("ip24", ip);
        ev.ip16 = ps("ip16", ip);
        ev.card = ps("card", ip);
    }
    memset(&r, 0, sizeof(r));
    r.has_score = true;
    r.score = decision == REPLY_DECISION_REVIEW ? 60 : 10;
    r.decision = decision;
    ASSERT_OK(history_apply(e->h, e->txn, actor, &ev, 0, &r));
}

/* A label of order `o` (or of account `a` when o is 0). */
static void
label(struct env *e, unsigned o, unsigned a, bool fraud, uint64_t ts)
{
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_LABEL;
    ev.ts = ts;
    ev.id = ps("ev", evno++);
    if (o != 0) {
        ev.has = EVENT_HAS_ORDER;
        ev.order = ps("ord", o);
    } else {
        ev.has = EVENT_HAS_ACCOUNT;
        ev.account = ps("acct", a);
    }
    ev.has |= EVENT_HAS_OK;
    ev.ok = fraud;
    ASSERT_OK(history_apply(e->h, e->txn, "shop", &ev, 0, NULL));
}

/* The queue as a list of order numbers (checked against `want`). */
static void
expect_queue(
    struct env *e, const char *actor, const unsigned *want, unsigned nwant)
{
    struct history_review_item it[8];
    struct history_review_cursor next;
    unsigned n, i;

    ASSERT(nwant <= 8);
    ASSERT_OK(
        history_review_list(e->h, e->txn, NULL, actor, 8, 1000, it, &n, &next));
    ASSERT_EQ(n, nwant);
    for (i = 0; i < n; i++) {
        struct pseudo p = ps("ord", want[i]);

        ASSERT(memcmp(it[i].order.b, p.b, PSEUDO_BYTES) == 0);
    }
}

static void
test_queue(void)
{
    static const unsigned all[] = { 2, 3, 1 }, two[] = { 2, 1 };
    static const unsigned other[] = { 9 };
    struct history_review_item it[8];
    struct history_review_cursor next, after;
    struct env e;
    uint64_t queued, dropped;
    unsigned n;

    env_open(&e);
    /* Arrival 1, 2, 3; event times 2 < 3 < 1; order 4 allowed. */
    order(&e, "shop", 1, 1, 1, 0, T0 + 3000, REPLY_DECISION_REVIEW);
    order(&e, "shop", 2, 2, 2, 0, T0 + 1000, REPLY_DECISION_REVIEW);
    order(&e, "shop", 3, 3, 3, 0, T0 + 2000, REPLY_DECISION_REVIEW);
    order(&e, "shop", 4, 4, 4, 0, T0 + 500, REPLY_DECISION_ALLOW);
    order(&e, "other", 9, 9, 9, 0, T0 + 1500, REPLY_DECISION_REVIEW);
    expect_queue(&e, "shop", all, 3);
    expect_queue(&e, "other", other, 1);
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, 4);
    ASSERT_EQ(dropped, 0);

    /* Paging: 2, then the rest, nothing twice. */
    ASSERT_OK(
        history_review_list(e.h, e.txn, NULL, NULL, 2, 1000, it, &n, &next));
    ASSERT_EQ(n, 2);
    ASSERT(next.set);
    ASSERT_EQ(it[0].ts, T0 + 1000);
    ASSERT_EQ(it[1].ts, T0 + 1500);
    ASSERT(strcmp(it[1].actor, "other") == 0);
    after = next;
    ASSERT_OK(
        history_review_list(e.h, e.txn, &after, NULL, 2, 1000, it, &n, &next));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(it[0].ts, T0 + 2000);
    ASSERT_EQ(it[1].ts, T0 + 3000);
    after = next;
    if (after.set) {
        ASSERT_OK(history_review_list(
            e.h, e.txn, &after, NULL, 2, 1000, it, &n, &next));
        ASSERT_EQ(n, 0);
        ASSERT(!next.set);
    }
    /* The scan bound stops early, with a cursor to go on. */
    ASSERT_OK(
        history_review_list(e.h, e.txn, NULL, "other", 8, 1, it, &n, &next));
    ASSERT_EQ(n, 0);
    ASSERT(next.set);

    /* A label of order 3 (any verdict) takes it out; an account label
     * does not take the account's order out. */
    label(&e, 3, 0, false, T0 + 9000);
    label(&e, 0, 2, true, T0 + 9000);
    expect_queue(&e, "shop", two, 2);
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, 3);
    env_close(&e);
}

/*
 * Entries the queue must not show: an order placed again (same order id)
 * at another time leaves its first entry stale (listed once, by its new
 * time), and an order placed again and allowed leaves none listed; the
 * same order at the same time queued twice counts once; an entry whose
 * order record is gone is skipped.
 */
static void
test_stale_entries(void)
{
    static const unsigned one[] = { 1 }, none[] = { 0 };
    struct history_review_item it[8];
    struct history_review_cursor next;
    struct env e;
    uint64_t queued, dropped;
    unsigned n, dbi;
    uint8_t key[5 + PSEUDO_BYTES];
    struct pseudo o5 = ps("ord", 5);

    env_open(&e);
    order(&e, "shop", 1, 1, 1, 0, T0 + 1000, REPLY_DECISION_REVIEW);
    order(&e, "shop", 1, 1, 1, 0, T0 + 1000, REPLY_DECISION_REVIEW);
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, 1); /* queued already: not counted twice */
    order(&e, "shop", 1, 1, 1, 0, T0 + 5000, REPLY_DECISION_REVIEW);
    ASSERT_OK(
        history_review_list(e.h, e.txn, NULL, "shop", 8, 1000, it, &n, &next));
    ASSERT_EQ(n, 1);
    ASSERT_EQ(it[0].ts, T0 + 5000);
    expect_queue(&e, "shop", one, 1);
    order(&e, "shop", 1, 1, 1, 0, T0 + 6000, REPLY_DECISION_ALLOW);
    expect_queue(&e, "shop", none, 0);

    /* Order 5's record removed behind the queue's back. */
    order(&e, "shop", 5, 5, 5, 0, T0 + 7000, REPLY_DECISION_REVIEW);
    memcpy(key, "shop", 5);
    memcpy(key + 5, o5.b, PSEUDO_BYTES);
    ASSERT_OK(store_dbi(e.st, e.txn, "order", false, &dbi));
    ASSERT_OK(store_del(e.txn, dbi, key, sizeof(key)));
    expect_queue(&e, "shop", none, 0);
    env_close(&e);
}

static void
test_purge(void)
{
    static const unsigned keep[] = { 2 };
    static const char *const actors[] = { "shop" };
    struct history_retention ret;
    struct history_sweep sw;
    struct history_batch b;
    struct pseudo o1 = ps("ord", 3);
    struct env e;
    uint64_t queued, dropped, now = T0 + 40 * DAY_MS;
    bool done = false;
    int steps = 0;

    env_open(&e);
    order(&e, "shop", 1, 1, 1, 0, T0, REPLY_DECISION_REVIEW);
    order(&e, "shop", 2, 2, 2, 0, now - DAY_MS, REPLY_DECISION_REVIEW);
    order(&e, "shop", 3, 3, 3, 0, now - DAY_MS + 1, REPLY_DECISION_REVIEW);
    env_commit(&e);

    /* Erasure of order 3 (by its token): its entry goes with it. */
    history_batch_init(&b);
    ASSERT_OK(history_erase_plan(e.h, e.txn, &o1, actors, 1, &b));
    ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
    /* Retention (orders kept 30 days): order 1 goes, with its entry. */
    memset(&ret, 0, sizeof(ret));
    for (unsigned i = 0; i < HISTORY_CAT_COUNT; i++)
        ret.keep_ms[i] = 30 * DAY_MS;
    ret.dedup_ms = DAY_MS;
    memset(&sw, 0, sizeof(sw));
    env_commit(&e);
    while (!done) {
        ASSERT(steps++ < 1000);
        ASSERT_OK(history_sweep_step(e.h, e.txn, &ret, now, &sw, 5, &b, &done));
        ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
    }
    history_batch_release(&b);
    expect_queue(&e, "shop", keep, 1);
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, 1);
    env_close(&e);
}

static void
test_bound(void)
{
    struct env e;
    uint64_t queued, dropped;
    unsigned i;

    env_open(&e);
    for (i = 0; i < HISTORY_REVIEW_MAX + 5; i++) {
        order(&e, "shop", 1000 + i, 1000 + i, 1, 0, T0 + i,
            REPLY_DECISION_REVIEW);
        if (i % 2000 == 1999)
            env_commit(&e);
    }
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, HISTORY_REVIEW_MAX);
    ASSERT_EQ(dropped, 5);
    /* A decision makes room again. */
    label(&e, 1000, 0, true, T0 + DAY_MS);
    order(&e, "shop", 99999, 1, 1, 0, T0 + DAY_MS, REPLY_DECISION_REVIEW);
    ASSERT_OK(history_review_counts(e.h, e.txn, &queued, &dropped));
    ASSERT_EQ(queued, HISTORY_REVIEW_MAX);
    ASSERT_EQ(dropped, 5);
    env_close(&e);
}

static void
test_linked(void)
{
    static const char *const actors[] = { "shop" };
    struct history_linked *lk = calloc(1, sizeof(*lk));
    struct history_batch b;
    struct pseudo a1 = ps("acct", 1), a2 = ps("acct", 2);
    struct env e;
    unsigned i;

    ASSERT(lk != NULL);
    env_open(&e);
    order(&e, "shop", 1, 1, 1, 7, T0, REPLY_DECISION_ALLOW);
    order(&e, "shop", 2, 2, 1, 0, T0 + 1, REPLY_DECISION_ALLOW); /* dev */
    order(&e, "shop", 3, 3, 3, 7, T0 + 2, REPLY_DECISION_ALLOW); /* ip+card */
    order(&e, "shop", 4, 4, 4, 0, T0 + 3, REPLY_DECISION_ALLOW); /* none */
    label(&e, 0, 2, true, T0 + 10);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &a1, lk));
    ASSERT(!lk->fraud);
    ASSERT_EQ(lk->naccounts, 2);
    ASSERT_EQ(lk->n, 2);
    ASSERT(memcmp(lk->acc[0].account.b, a2.b, PSEUDO_BYTES) == 0);
    ASSERT(lk->acc[0].fraud);
    ASSERT_EQ(lk->acc[0].shared, 1);
    ASSERT_EQ(lk->acc[0].via[ENT_DEVICE], 1);
    ASSERT_EQ(lk->acc[1].shared, 3); /* ip, its prefix, card */
    ASSERT_EQ(lk->acc[1].via[ENT_IP24], 1);
    ASSERT_EQ(lk->acc[1].via[ENT_IP], 1);
    ASSERT_EQ(lk->acc[1].via[ENT_CARD], 1);
    ASSERT(strcmp(lk->acc[1].actor, "shop") == 0);
    ASSERT_EQ(lk->via_entities[ENT_DEVICE], 1);
    /* Account 2 erased: no longer listed. */
    history_batch_init(&b);
    ASSERT_OK(history_erase_plan(e.h, e.txn, &a2, actors, 1, &b));
    ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
    history_batch_release(&b);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &a1, lk));
    ASSERT_EQ(lk->n, 1);
    /* 30 accounts on device 1: at most 15 listed. */
    for (i = 0; i < 30; i++)
        order(&e, "shop", 100 + i, 100 + i, 1, 0, T0 + 100 + i,
            REPLY_DECISION_ALLOW);
    ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &a1, lk));
    ASSERT_EQ(lk->n, HISTORY_LINKED_MAX);
    ASSERT(lk->naccounts >= HISTORY_LINKED_MAX);
    ASSERT(lk->naccounts <= HISTORY_MAX_LINKS * HISTORY_LINK_ACCOUNTS);
    /* Account 50 leaves device 500's list when its own link list lets
     * device 500 go (33 more devices later): an account is on an
     * entity's list only while the entity is on the account's. */
    order(&e, "shop", 500, 51, 500, 0, T0 + 500, REPLY_DECISION_ALLOW);
    order(&e, "shop", 501, 50, 500, 0, T0 + 501, REPLY_DECISION_ALLOW);
    {
        struct pseudo a51 = ps("acct", 51);

        ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &a51, lk));
        ASSERT_EQ(lk->n, 1);
        for (i = 0; i < HISTORY_MAX_LINKS + 1; i++)
            order(&e, "shop", 600 + i, 50, 600 + i, 0, T0 + 600 + i,
                REPLY_DECISION_ALLOW);
        ASSERT_OK(history_linked_get(e.h, e.txn, "shop", &a51, lk));
        ASSERT_EQ(lk->n, 0);
    }
    /* Unknown account. */
    {
        struct pseudo nobody = ps("acct", 777);

        ASSERT_EQ(
            history_linked_get(e.h, e.txn, "shop", &nobody, lk), ERR_NOTFOUND);
    }
    env_close(&e);
    free(lk);
}

/* history_features() of an order on device `d` by account `a`. */
static struct features
feats(struct env *e, const char *actor, unsigned a, unsigned d, uint64_t ts)
{
    struct features f;
    struct event ev;

    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_ORDER_PLACED;
    ev.ts = ts;
    ev.id = ps("ev", evno++);
    ev.has = EVENT_HAS_ACCOUNT | EVENT_HAS_DEVICE | EVENT_HAS_ORDER;
    ev.account = ps("acct", a);
    ev.device = ps("dev", d);
    ev.order = ps("ord", 1000 + evno);
    ASSERT_OK(history_features(e->h, e->txn, actor, &ev, 0, &f));
    return f;
}

static void
test_lists(void)
{
    struct pseudo d1 = ps("dev", 1), d2 = ps("dev", 2), a1 = ps("acct", 1);
    struct history_retention ret;
    struct history_sweep sw;
    struct history_batch b;
    struct store_txn *rd;
    struct features f;
    struct env e;
    enum score_list l, was;
    uint64_t now = T0 + 40 * DAY_MS;
    bool known, done = false;
    int steps = 0;

    env_open(&e);
    /* Never seen: on no list, no record. */
    ASSERT_OK(
        history_list_get(e.h, e.txn, "shop", ENT_DEVICE, &d1, &l, &known));
    ASSERT_EQ(l, SCORE_LIST_NONE);
    ASSERT(!known);
    /* Block-listed before any event: a list-only record. */
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_DEVICE, &d1, SCORE_LIST_BLOCK, &was));
    ASSERT_EQ(was, SCORE_LIST_NONE);
    ASSERT_OK(history_list_get(e.h, e.txn, "x", ENT_DEVICE, &d1, &l, &known));
    ASSERT_EQ(l, SCORE_LIST_BLOCK);
    ASSERT(!known);
    f = feats(&e, "shop", 1, 1, T0);
    ASSERT_EQ(f.ent[ENT_DEVICE].list, SCORE_LIST_BLOCK);
    ASSERT(!f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_ACCOUNT].list, SCORE_LIST_NONE);
    /* Events keep the flag; the device is known now. */
    order(&e, "shop", 1, 1, 1, 0, T0, REPLY_DECISION_ALLOW);
    env_commit(&e);
    f = feats(&e, "shop", 1, 1, T0 + 1000);
    ASSERT_EQ(f.ent[ENT_DEVICE].list, SCORE_LIST_BLOCK);
    ASSERT(f.ent[ENT_DEVICE].known);
    ASSERT_EQ(f.ent[ENT_DEVICE].orders_1h, 1);
    /* Same list again: nothing written, `was` says so. */
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_DEVICE, &d1, SCORE_LIST_BLOCK, &was));
    ASSERT_EQ(was, SCORE_LIST_BLOCK);
    /* Block -> allow -> none. */
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_DEVICE, &d1, SCORE_LIST_ALLOW, &was));
    ASSERT_EQ(was, SCORE_LIST_BLOCK);
    f = feats(&e, "shop", 1, 1, T0 + 2000);
    ASSERT_EQ(f.ent[ENT_DEVICE].list, SCORE_LIST_ALLOW);
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_DEVICE, &d1, SCORE_LIST_NONE, &was));
    ASSERT_EQ(was, SCORE_LIST_ALLOW);
    ASSERT_OK(history_list_get(e.h, e.txn, "x", ENT_DEVICE, &d1, &l, &known));
    ASSERT_EQ(l, SCORE_LIST_NONE);
    ASSERT(known);
    /* Accounts: the storefront's own. */
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_ACCOUNT, &a1, SCORE_LIST_ALLOW, &was));
    ASSERT_OK(
        history_list_get(e.h, e.txn, "other", ENT_ACCOUNT, &a1, &l, &known));
    ASSERT_EQ(l, SCORE_LIST_NONE);
    ASSERT_EQ(feats(&e, "shop", 1, 1, T0 + 3000).ent[ENT_ACCOUNT].list,
        SCORE_LIST_ALLOW);
    ASSERT_EQ(feats(&e, "other", 1, 1, T0 + 3000).ent[ENT_ACCOUNT].list,
        SCORE_LIST_NONE);
    /* Not a list kind; not a write txn. */
    ASSERT_EQ(history_list_set(
                  e.h, e.txn, "shop", ENT_IP24, &d1, SCORE_LIST_BLOCK, &was),
        ERR_INVAL);
    ASSERT_OK(store_txn_begin(e.st, false, &rd));
    ASSERT_EQ(history_list_set(
                  e.h, rd, "shop", ENT_DEVICE, &d1, SCORE_LIST_BLOCK, &was),
        ERR_INVAL);
    store_txn_abort(rd);

    /* Retention (30 days, 40 days on): the listed account and a
     * list-only device stay; the unlisted device goes; once off the
     * list, the next pass takes the list-only one. */
    ASSERT_OK(history_list_set(
        e.h, e.txn, "shop", ENT_DEVICE, &d2, SCORE_LIST_BLOCK, &was));
    env_commit(&e);
    memset(&ret, 0, sizeof(ret));
    for (unsigned i = 0; i < HISTORY_CAT_COUNT; i++)
        ret.keep_ms[i] = 30 * DAY_MS;
    ret.dedup_ms = DAY_MS;
    history_batch_init(&b);
    for (int pass = 0; pass < 2; pass++) {
        env_commit(&e);
        memset(&sw, 0, sizeof(sw));
        done = false;
        while (!done) {
            ASSERT(steps++ < 1000);
            ASSERT_OK(
                history_sweep_step(e.h, e.txn, &ret, now, &sw, 5, &b, &done));
            ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
        }
        env_commit(&e);
        ASSERT_OK(
            history_list_get(e.h, e.txn, "shop", ENT_ACCOUNT, &a1, &l, &known));
        ASSERT_EQ(l, SCORE_LIST_ALLOW);
        ASSERT(known);
        ASSERT_OK(
            history_list_get(e.h, e.txn, "shop", ENT_DEVICE, &d1, &l, &known));
        ASSERT(!known); /* swept: not listed */
        ASSERT_OK(
            history_list_get(e.h, e.txn, "shop", ENT_DEVICE, &d2, &l, &known));
        ASSERT_EQ(l, pass == 0 ? SCORE_LIST_BLOCK : SCORE_LIST_NONE);
        if (pass == 0)
            ASSERT_OK(history_list_set(
                e.h, e.txn, "shop", ENT_DEVICE, &d2, SCORE_LIST_NONE, &was));
    }
    /* Erasure of the account (by its token) takes its list entry. */
    {
        static const char *const actors[] = { "shop" };

        ASSERT_OK(history_erase_plan(e.h, e.txn, &a1, actors, 1, &b));
        ASSERT_OK(history_batch_apply(e.h, e.txn, &b));
        ASSERT_OK(
            history_list_get(e.h, e.txn, "shop", ENT_ACCOUNT, &a1, &l, &known));
        ASSERT_EQ(l, SCORE_LIST_NONE);
    }
    history_batch_release(&b);
    env_close(&e);
}

int
main(void)
{
    char cmd[300];
    int rc;

    log_init("test_history_review", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_queue);
    RUN(test_stale_entries);
    RUN(test_purge);
    RUN(test_bound);
    RUN(test_linked);
    RUN(test_lists);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    rc = system(cmd);
    (void)rc;
    return 0;
}
