/*
 * history_purge.c - what leaves history: the retention sweep and the
 *                   rows of an erased subject
 *
 * Both plan deletions into a struct history_batch and apply them with
 * history_batch_apply() through the scorer's overlay transaction, so
 * they reach LMDB with the overlay's next commit, like any write, and
 * never hold a write transaction of their own (scoring never waits on
 * them). The sweep walks the committed state in key order with a short
 * read transaction per step, at most max_scan keys a step, and judges
 * each row by its current value through the overlay. Main thread.
 *
 * Invariants:
 *  - a planned key is unique in its batch (planning twice counts once).
 *  - a step never keeps a read transaction past its return.
 *
 * See also: history.h (layouts, the API), history_int.h, scorer/retention.c,
 *           scorer/erase.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xmalloc.h"
#include "scorer/history.h"
#include "scorer/history_impl.h"
#include "scorer/history_int.h"

/* An entity's account-list key ('R' + kind + token, history_link.c). */
#define RKEY_LEN (2 + PSEUDO_BYTES)
/* A planned removal from such a list: its key, then the account key. */
#define MEMBER_KEY_MAX (RKEY_LEN + HISTORY_KEY_MAX)
#define DEL_KEY_MAX                                                            \
    (MEMBER_KEY_MAX > HISTORY_REPLY_TIME_KEY_MAX ? MEMBER_KEY_MAX :            \
                                                   HISTORY_REPLY_TIME_KEY_MAX)

/* One planned deletion. */
struct history_del {
    uint8_t db; /* enum history_db */
    uint8_t klen;
    uint8_t key[DEL_KEY_MAX];
};

_Static_assert(DEL_KEY_MAX <= UINT8_MAX, "klen is a u8");
_Static_assert(HISTORY_REVIEW_KEY_MAX <= HISTORY_REPLY_TIME_KEY_MAX,
    "a review key fits a planned deletion");

/* Entity kind bytes (history.h) and their retention category. */
static const struct {
    uint8_t kind;
    enum history_cat cat;
} entity_cats[] = {
    { 'A', HISTORY_CAT_ACCOUNT },
    { 'D', HISTORY_CAT_DEVICE },
    { 'I', HISTORY_CAT_IP },
    { 'P', HISTORY_CAT_IP },
    { 'C', HISTORY_CAT_PAYMENT },
    { 'E', HISTORY_CAT_CONTACT },
    { 'Q', HISTORY_CAT_IP },
};

static bool
entity_cat(uint8_t kind, enum history_cat *cat)
{
    for (size_t i = 0; i < ARRAY_LEN(entity_cats); i++) {
        if (entity_cats[i].kind == kind) {
            *cat = entity_cats[i].cat;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------ batches */

void
history_batch_init(struct history_batch *b)
{
    memset(b, 0, sizeof(*b));
}

void
history_batch_release(struct history_batch *b)
{
    free(b->dels);
    memset(b, 0, sizeof(*b));
}

uint64_t
history_batch_rows(const struct history_batch *b)
{
    uint64_t n = 0;

    for (unsigned i = 0; i < HISTORY_ROW_COUNT; i++)
        n += b->rows[i];
    return n;
}

/* Plan deleting key k of database db; false when it was planned already. */
static bool
batch_add(
    struct history_batch *b, enum history_db db, const uint8_t *k, size_t klen)
{
    struct history_del *d;

    for (size_t i = 0; i < b->n; i++)
        if (b->dels[i].db == db && b->dels[i].klen == klen &&
            memcmp(b->dels[i].key, k, klen) == 0)
            return false;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->dels = xreallocarray(b->dels, b->cap, sizeof(*b->dels));
    }
    d = &b->dels[b->n++];
    d->db = (uint8_t)db;
    d->klen = (uint8_t)klen;
    memcpy(d->key, k, klen);
    return true;
}

int
history_batch_apply(
    struct history *h, struct store_txn *txn, struct history_batch *b)
{
    uint64_t reviews = 0;
    int rc = 0;

    for (size_t i = 0; i < b->n && rc == 0; i++) {
        const struct history_del *d = &b->dels[i];

        if (d->db == HISTORY_DB_LINK_MEMBER)
            rc = history_link_forget(h, txn, d->key, RKEY_LEN,
                d->key + RKEY_LEN, d->klen - RKEY_LEN);
        else
            rc = store_del(
                txn, history_dbi(h, (enum history_db)d->db), d->key, d->klen);
        if (rc == 0 && d->db == HISTORY_DB_REVIEW)
            reviews++;
        if (rc == ERR_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = history_review_forget(h, txn, reviews);
    b->n = 0;
    memset(b->rows, 0, sizeof(b->rows));
    memset(b->cats, 0, sizeof(b->cats));
    return rc;
}

/* ------------------------------------------------------ single rows */

/* Plan the reply stored under reply key k, and its reply-time entry. */
static int
plan_reply_key(struct history *h, struct store_txn *txn, const uint8_t *k,
    size_t klen, struct history_batch *b)
{
    uint8_t tk[HISTORY_REPLY_TIME_KEY_MAX];
    uint64_t arrival;
    const void *v;
    size_t vlen, tlen;
    int rc;

    rc = store_get_view(
        txn, history_dbi(h, HISTORY_DB_REPLY), k, klen, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    rc = history_reply_arrival(v, vlen, &arrival);
    if (rc != 0) {
        log_warnx("%s: undecodable stored reply", __func__);
        return rc;
    }
    if (batch_add(b, HISTORY_DB_REPLY, k, klen))
        b->rows[HISTORY_ROW_REPLY]++;
    tlen = history_reply_time_key(arrival, k, klen, tk);
    (void)batch_add(b, HISTORY_DB_REPLY_TIME, tk, tlen);
    return 0;
}

int
history_erase_reply_plan(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *event_id, struct history_batch *b)
{
    uint8_t k[HISTORY_KEY_MAX];
    size_t klen;
    int rc = history_actor_key(k, &klen, -1, actor, event_id);

    if (rc != 0)
        return rc;
    return plan_reply_key(h, txn, k, klen, b);
}

/*
 * The account under entity key k (its link list is being deleted) leaves
 * the account list of every entity on that link list (history_link.c
 * keeps an account on an entity's list only while the entity is on the
 * account's), so that no list names an erased or expired account.
 */
static int
plan_members(struct history *h, struct store_txn *txn, const uint8_t *k,
    size_t klen, struct history_batch *b)
{
    uint8_t mk[MEMBER_KEY_MAX];
    struct link_list *l;
    struct ekey acct, rk;
    int rc;

    if (klen > HISTORY_KEY_MAX)
        return ERR_INVAL;
    acct.present = true;
    acct.len = klen;
    memcpy(acct.b, k, klen);
    l = xmalloc(sizeof(*l));
    rc = history_link_load(h, txn, &acct, l);
    for (unsigned i = 0; rc == 0 && i < l->n; i++) {
        if (history_link_rkey(&rk, l->keys[i].b, l->keys[i].len) != 0 ||
            rk.len != RKEY_LEN)
            continue;
        memcpy(mk, rk.b, RKEY_LEN);
        memcpy(mk + RKEY_LEN, k, klen);
        (void)batch_add(b, HISTORY_DB_LINK_MEMBER, mk, RKEY_LEN + klen);
    }
    free(l);
    return rc;
}

/* Plan entity key k when it exists, with its link list for an account. */
static int
plan_entity(struct history *h, struct store_txn *txn, const uint8_t *k,
    size_t klen, struct history_batch *b)
{
    enum history_cat cat;
    const void *v;
    size_t vlen;
    int rc;

    if (!entity_cat(k[0], &cat))
        return ERR_INVAL;
    rc = store_get_view(
        txn, history_dbi(h, HISTORY_DB_ENTITY), k, klen, &v, &vlen);
    if (rc == 0 && batch_add(b, HISTORY_DB_ENTITY, k, klen)) {
        b->rows[HISTORY_ROW_ENTITY]++;
        b->cats[cat]++;
    }
    if (rc != 0 && rc != ERR_NOTFOUND)
        return rc;
    if (k[0] != 'A') {
        /* Its account list (history_link.c) goes with it: part of the
         * entity's row, not counted apart (a missing one is skipped). */
        struct ekey rk;

        if (history_link_rkey(&rk, k, klen) == 0)
            (void)batch_add(b, HISTORY_DB_LINK, rk.b, rk.len);
        return 0;
    }
    rc = store_get_view(
        txn, history_dbi(h, HISTORY_DB_LINK), k, klen, &v, &vlen);
    if (rc == 0 && batch_add(b, HISTORY_DB_LINK, k, klen))
        b->rows[HISTORY_ROW_LINK]++;
    if (rc == 0)
        rc = plan_members(h, txn, k, klen, b);
    return rc == ERR_NOTFOUND ? 0 : rc;
}

/* Plan the review-queue entry of the order under key k placed at ts
 * (there or not: a missing key is skipped when applied). */
static void
plan_review(const uint8_t *k, size_t klen, uint64_t ts, struct history_batch *b)
{
    uint8_t rk[HISTORY_REVIEW_KEY_MAX];
    size_t rlen;

    if (history_review_key_of_order(k, klen, ts, rk, &rlen) == 0)
        (void)batch_add(b, HISTORY_DB_REVIEW, rk, rlen);
}

/* Plan order key k when it exists, with its order.placed event's reply
 * (of storefront `actor`) and its review-queue entry. */
static int
plan_order(struct history *h, struct store_txn *txn, const char *actor,
    const uint8_t *k, size_t klen, struct history_batch *b)
{
    struct pseudo eid;
    uint64_t ts;
    const void *v;
    size_t vlen;
    int rc;

    rc = store_get_view(
        txn, history_dbi(h, HISTORY_DB_ORDER), k, klen, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    rc = history_order_peek(v, vlen, &ts, &eid);
    if (rc != 0) {
        log_warnx("%s: undecodable order record", __func__);
        return rc;
    }
    if (batch_add(b, HISTORY_DB_ORDER, k, klen)) {
        b->rows[HISTORY_ROW_ORDER]++;
        b->cats[HISTORY_CAT_ORDER]++;
    }
    plan_review(k, klen, ts, b);
    return history_erase_reply_plan(h, txn, actor, &eid, b);
}

int
history_erase_plan(struct history *h, struct store_txn *txn,
    const struct pseudo *token, const char *const *actors, size_t nactors,
    struct history_batch *b)
{
    static const uint8_t kinds[] = { 'D', 'I', 'P', 'C', 'E', 'Q' };
    uint8_t k[HISTORY_KEY_MAX];
    size_t klen;
    int rc;

    for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
        k[0] = kinds[i];
        memcpy(k + 1, token->b, PSEUDO_BYTES);
        rc = plan_entity(h, txn, k, 1 + PSEUDO_BYTES, b);
        if (rc != 0)
            return rc;
    }
    for (size_t a = 0; a < nactors; a++) {
        rc = history_actor_key(k, &klen, 'A', actors[a], token);
        if (rc == 0)
            rc = plan_entity(h, txn, k, klen, b);
        if (rc == 0)
            rc = history_actor_key(k, &klen, -1, actors[a], token);
        if (rc == 0)
            rc = plan_order(h, txn, actors[a], k, klen, b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* -------------------------------------------------------------- sweep */

/* The oldest time a row of category `cat` may have at `now`. */
static uint64_t
cutoff(uint64_t now, uint64_t keep)
{
    return now > keep ? now - keep : 0;
}

/*
 * Judge one committed key of phase `phase`: read its current value
 * through `ov` and plan it when it is too old. `*stop` ends the phase
 * early (the reply-time index is in time order).
 */
static int
sweep_one(struct history *h, struct store_txn *ov,
    const struct history_retention *ret, uint64_t now, unsigned phase,
    const uint8_t *k, size_t klen, struct history_batch *b, bool *stop)
{
    enum history_cat cat;
    struct pseudo eid;
    uint64_t t = 0;
    const void *v;
    size_t vlen;
    int rc;

    *stop = false;
    if (phase == 2) {
        uint64_t arrival = 0;

        if (klen < 8 + 2)
            return ERR_CORRUPT;
        for (unsigned i = 0; i < 8; i++)
            arrival = arrival << 8 | k[i];
        if (arrival >= cutoff(now, ret->dedup_ms)) {
            *stop = true;
            return 0;
        }
        (void)batch_add(b, HISTORY_DB_REPLY_TIME, k, klen);
        rc = store_get_view(
            ov, history_dbi(h, HISTORY_DB_REPLY), k + 8, klen - 8, &v, &vlen);
        if (rc == 0 && batch_add(b, HISTORY_DB_REPLY, k + 8, klen - 8))
            b->rows[HISTORY_ROW_REPLY]++;
        return rc == ERR_NOTFOUND ? 0 : rc;
    }
    rc = store_get_view(ov,
        history_dbi(h, phase == 0 ? HISTORY_DB_ENTITY : HISTORY_DB_ORDER), k,
        klen, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0; /* deleted since the commit */
    if (rc != 0)
        return rc;
    if (phase == 0) {
        if (!entity_cat(k[0], &cat))
            return ERR_CORRUPT;
        rc = history_entity_last_seen(v, vlen, &t);
    } else {
        cat = HISTORY_CAT_ORDER;
        rc = history_order_peek(v, vlen, &t, &eid);
    }
    if (rc != 0)
        return rc;
    if (t >= cutoff(now, ret->keep_ms[cat]))
        return 0;
    if (phase == 0)
        return plan_entity(h, ov, k, klen, b);
    if (batch_add(b, HISTORY_DB_ORDER, k, klen)) {
        b->rows[HISTORY_ROW_ORDER]++;
        b->cats[HISTORY_CAT_ORDER]++;
    }
    plan_review(k, klen, t, b);
    return 0;
}

int
history_sweep_step(struct history *h, struct store_txn *ov,
    const struct history_retention *ret, uint64_t now_ms,
    struct history_sweep *sw, unsigned max_scan, struct history_batch *b,
    bool *pass_done)
{
    static const enum history_db phase_db[3] = { HISTORY_DB_ENTITY,
        HISTORY_DB_ORDER, HISTORY_DB_REPLY_TIME };
    struct store_txn *rd = NULL;
    struct store_cursor *cur = NULL;
    unsigned scanned = 0;
    int rc;

    *pass_done = false;
    if (sw->phase > 2)
        sw->phase = 0;
    rc = store_txn_begin(history_store(h), false, &rd);
    if (rc != 0)
        return rc;
    while (scanned < max_scan) {
        const void *k, *v;
        size_t klen, vlen;
        bool stop = false, end = false;

        if (cur == NULL) {
            rc = store_cursor_open(rd, history_dbi(h, phase_db[sw->phase]),
                sw->klen ? sw->key : NULL, sw->klen, false, &cur);
            if (rc != 0)
                break;
        }
        rc = store_cursor_next(cur, &k, &klen, &v, &vlen);
        if (rc == ERR_NOTFOUND) {
            end = true;
            rc = 0;
        } else if (rc != 0) {
            break;
        } else if (klen > HISTORY_REPLY_TIME_KEY_MAX) {
            rc = ERR_CORRUPT;
            break;
        } else if (klen == sw->klen && memcmp(k, sw->key, klen) == 0) {
            continue; /* where the last step stopped: judged already */
        } else {
            scanned++;
            memcpy(sw->key, k, klen);
            sw->klen = klen;
            rc = sweep_one(h, ov, ret, now_ms, sw->phase, k, klen, b, &stop);
            if (rc == ERR_CORRUPT) {
                log_warnx("%s: an undecodable row in phase %u is skipped",
                    __func__, sw->phase);
                rc = 0;
            }
            if (rc != 0)
                break;
        }
        if (!end && !stop)
            continue;
        /* This phase is over: the next one starts from its first key. */
        store_cursor_close(cur);
        cur = NULL;
        sw->klen = 0;
        if (++sw->phase > 2) {
            sw->phase = 0;
            sw->passes++;
            *pass_done = true;
            break;
        }
    }
    store_cursor_close(cur);
    store_txn_abort(rd);
    return rc;
}
