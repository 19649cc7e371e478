/*
 * history.c - the fraud history in LMDB and its point-in-time features
 *
 * Called by the scorer's main loop inside its long-lived write
 * transaction (features, apply, replies, applied_seq) and by queries in
 * read transactions. Per event it does a bounded number of point gets
 * and puts: at most 6 entities of the event, 6 of an order it refers to,
 * the order record, the account's link list (a label: up to
 * HISTORY_MAX_LINKS more). Records are fixed-size little-endian structs
 * decoded into plain C structs and encoded back.
 *
 * Invariants:
 *  - deterministic: no clock, no randomness; the same events in the same
 *    order give byte-identical databases, features and replies.
 *  - an entity record is one history_rec.c decodes; anything else in
 *    the "entity" db is ERR_CORRUPT.
 *  - first_seen == 0 means "never seen by an event" (the record exists
 *    only because a label flagged it); valid event times are >= 2000.
 *  - the features -> apply cache (struct ev_cache) is used and changed
 *    only by calls with a write txn; read-txn callers (queries, in other
 *    threads) never touch it.
 *
 * The module is split by job: history_rec.c (entity records),
 * history_order.c, history_link.c, history_reply.c; history_impl.h is
 * what they share.
 *
 * See also: history.h (layout and window semantics), score.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xmalloc.h"
#include "scorer/history_impl.h"
#include "scorer/history_int.h"

const uint8_t history_kind_byte[ENT_COUNT] = { 'A', 'D', 'I', 'P', 'C', 'E',
    'Q' };
const char *const history_kind_name[ENT_COUNT] = { "account", "device", "ip",
    "ip24", "card", "email", "ip16" };

int
history_net_of(enum entity_kind k)
{
    switch (k) {
    case ENT_DEVICE:
        return HNET_DEVICE;
    case ENT_IP:
        return HNET_IP;
    case ENT_IP24:
        return HNET_IP24;
    case ENT_IP16:
        return HNET_IP16;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------- keys */

int
history_actor_len(const char *actor, size_t *len)
{
    *len = strnlen(actor, EVENT_ID_MAX + 1);
    return *len > EVENT_ID_MAX ? ERR_INVAL : 0;
}

/*
 * Build `tag` actor \0 `id` into k (used for accounts, orders, replies):
 * `id` is the storefront-scoped pseudonym of the account, order or
 * event id (pseudo.h).
 */
int
history_key_actor(
    struct ekey *k, int tag, const char *actor, const struct pseudo *id)
{
    size_t al, il = PSEUDO_BYTES;
    size_t o = 0;

    if (history_actor_len(actor, &al) != 0)
        return ERR_INVAL;
    if (tag >= 0)
        k->b[o++] = (uint8_t)tag;
    memcpy(k->b + o, actor, al);
    o += al;
    k->b[o++] = 0;
    memcpy(k->b + o, id->b, il);
    o += il;
    k->len = o;
    k->present = true;
    return 0;
}

static void
key_bytes(struct ekey *k, enum entity_kind kind, const void *id, size_t len)
{
    k->b[0] = history_kind_byte[kind];
    memcpy(k->b + 1, id, len);
    k->len = 1 + len;
    k->present = true;
}

/* The entity keys `ev` names. */
int
history_event_keys(
    const char *actor, const struct event *ev, struct ekey keys[ENT_COUNT])
{
    int rc;

    memset(keys, 0, sizeof(*keys) * ENT_COUNT);
    if (ev->has & EVENT_HAS_ACCOUNT) {
        rc = history_key_actor(&keys[ENT_ACCOUNT], 'A', actor, &ev->account);
        if (rc != 0)
            return rc;
    }
    if (ev->has & EVENT_HAS_DEVICE)
        key_bytes(&keys[ENT_DEVICE], ENT_DEVICE, ev->device.b, PSEUDO_BYTES);
    if (ev->has & EVENT_HAS_IP) {
        key_bytes(&keys[ENT_IP], ENT_IP, ev->ip.b, PSEUDO_BYTES);
        key_bytes(&keys[ENT_IP24], ENT_IP24, ev->ip24.b, PSEUDO_BYTES);
        key_bytes(&keys[ENT_IP16], ENT_IP16, ev->ip16.b, PSEUDO_BYTES);
    }
    if (ev->has & EVENT_HAS_CARD)
        key_bytes(&keys[ENT_CARD], ENT_CARD, ev->card.b, PSEUDO_BYTES);
    if (ev->has & EVENT_HAS_EMAIL)
        key_bytes(&keys[ENT_EMAIL], ENT_EMAIL, ev->email.b, PSEUDO_BYTES);
    return 0;
}

static enum entity_kind
kind_of_byte(uint8_t b, bool *ok)
{
    unsigned k;

    for (k = 0; k < ENT_COUNT; k++) {
        if (history_kind_byte[k] == b) {
            *ok = true;
            return (enum entity_kind)k;
        }
    }
    *ok = false;
    return ENT_ACCOUNT;
}

/* ----------------------------------------------------- entity access */

/* Load an entity; *exists false (and r initialised) when absent. */
int
history_ent_load(struct history *h, struct store_txn *txn, const struct ekey *k,
    enum entity_kind kind, struct ent_rec *r, bool *exists)
{
    const void *v;
    size_t vlen;
    int rc;

    rc = store_get_view(txn, h->dbi_entity, k->b, k->len, &v, &vlen);
    if (rc == ERR_NOTFOUND) {
        history_rec_init(r, kind);
        *exists = false;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = history_rec_decode(v, vlen, r);
    if (rc != 0) {
        log_warnx(
            "%s: undecodable %s record", __func__, history_kind_name[kind]);
        return rc;
    }
    *exists = true;
    return 0;
}

int
history_ent_store(struct history *h, struct store_txn *txn,
    const struct ekey *k, const struct ent_rec *r)
{
    uint8_t buf[HISTORY_ENTITY_RECORD_BYTES];
    size_t n;

    n = history_rec_encode(r, buf);
    return store_put(txn, h->dbi_entity, k->b, k->len, buf, n);
}

static int
ws_get(struct history *h, struct store_txn *txn, struct workset *ws,
    const struct ekey *k, enum entity_kind kind, struct ent_rec **out)
{
    bool exists;
    unsigned i;
    int rc;

    for (i = 0; i < ws->n; i++) {
        if (ws->s[i].key.len == k->len &&
            memcmp(ws->s[i].key.b, k->b, k->len) == 0) {
            *out = &ws->s[i].rec;
            return 0;
        }
    }
    if (ws->n == WS_MAX)
        return ERR_INVAL; /* cannot happen: at most 2 * ENT_COUNT keys */
    i = ws->n;
    if ((ws->fresh & HISTORY_FRESH(kind)) && ws->keys != NULL &&
        ws->keys[kind].len == k->len &&
        memcmp(ws->keys[kind].b, k->b, k->len) == 0) {
        history_rec_init(&ws->s[i].rec, kind); /* a new token */
    } else {
        rc = history_ent_load(h, txn, k, kind, &ws->s[i].rec, &exists);
        if (rc != 0)
            return rc;
    }
    ws->s[i].key = *k;
    ws->s[i].kind = kind;
    ws->s[i].dirty = true;
    ws->n++;
    *out = &ws->s[i].rec;
    return 0;
}

/*
 * Count one `c` at `ts` on the record of every present key of keys[]
 * (loaded into the work set). Returns 0 or the store's ERR_*.
 */
static int
ws_count_all(struct history *h, struct store_txn *txn, struct workset *ws,
    const struct ekey keys[ENT_COUNT], uint64_t ts, enum counter c)
{
    struct ent_rec *e;
    unsigned k;
    int rc;

    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
        if (rc != 0)
            return rc;
        history_rec_count(e, ts, c);
    }
    return 0;
}

static int
ws_flush(struct history *h, struct store_txn *txn, struct workset *ws)
{
    unsigned i;
    int rc;

    for (i = 0; i < ws->n; i++) {
        if (!ws->s[i].dirty)
            continue;
        rc = history_ent_store(h, txn, &ws->s[i].key, &ws->s[i].rec);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Forget the features -> apply cache (write txns only: see ev_cache). */
void
history_cache_drop(struct history *h, const struct store_txn *txn)
{
    if (store_txn_is_write(txn))
        h->cache.valid = false;
}

/*
 * Seed `ws` with the records history_features() read for this very event
 * (same txn, id, ts and keys), then drop the cache in any case.
 */
static void
cache_take(struct history *h, const struct store_txn *txn,
    const struct event *ev, const struct ekey keys[ENT_COUNT],
    struct workset *ws)
{
    struct ev_cache *c = &h->cache;
    unsigned k;
    bool hit;

    hit = c->valid && c->txn == txn && c->ts == ev->ts &&
        memcmp(c->id.b, ev->id.b, PSEUDO_BYTES) == 0;
    for (k = 0; hit && k < ENT_COUNT; k++) {
        hit = c->keys[k].present == keys[k].present &&
            (!keys[k].present ||
                (c->keys[k].len == keys[k].len &&
                    memcmp(c->keys[k].b, keys[k].b, keys[k].len) == 0));
    }
    c->valid = false;
    if (!hit)
        return;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        ws->s[ws->n].key = keys[k];
        ws->s[ws->n].kind = (enum entity_kind)k;
        ws->s[ws->n].rec = c->rec[k];
        ws->s[ws->n].dirty = true;
        ws->n++;
    }
}

/* Set `flag` on one entity (creating a label-only record if absent). */
static int
ent_flag(struct history *h, struct store_txn *txn, const struct ekey *k,
    uint8_t flag, uint64_t ts)
{
    struct ent_rec r;
    enum entity_kind kind;
    bool exists, ok;
    int rc;

    kind = kind_of_byte(k->b[0], &ok);
    if (!ok)
        return ERR_CORRUPT;
    rc = history_ent_load(h, txn, k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    if (exists && (r.flags & flag) == flag)
        return 0;
    if (!exists)
        r.last_seen = ts; /* label-only: retention ages it by the label */
    r.flags |= flag;
    return history_ent_store(h, txn, k, &r);
}

/* -------------------------------------------------------------- open */

int
history_open(struct store *st, struct history **out)
{
    static const char *const names[HISTORY_DBS] = { "entity", "link", "order",
        "reply", "meta", "reply_time", "review" };
    struct store_txn *txn;
    struct history *h;
    unsigned *dbis[HISTORY_DBS];
    unsigned i;
    bool create = true;
    int rc;

    *out = NULL;
    h = xcalloc(1, sizeof(*h));
    h->st = st;
    dbis[0] = &h->dbi_entity;
    dbis[1] = &h->dbi_link;
    dbis[2] = &h->dbi_order;
    dbis[3] = &h->dbi_reply;
    dbis[4] = &h->dbi_meta;
    dbis[5] = &h->dbi_reply_time;
    dbis[6] = &h->dbi_review;
    /* A read-only store (tools): open the existing databases only. */
    rc = store_txn_begin(st, true, &txn);
    if (rc == ERR_INVAL) {
        create = false;
        rc = store_txn_begin(st, false, &txn);
    }
    if (rc != 0)
        goto fail;
    for (i = 0; i < HISTORY_DBS; i++) {
        rc = store_dbi(st, txn, names[i], create, dbis[i]);
        if (rc != 0) {
            store_txn_abort(txn);
            goto fail;
        }
    }
    rc = store_txn_commit(txn);
    if (rc != 0)
        goto fail;
    *out = h;
    return 0;
fail:
    free(h);
    return rc;
}

void
history_close(struct history *h)
{
    free(h);
}

/* ---------------------------------------------------------- features */

int
history_features(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, uint32_t fresh, struct features *out)
{
    struct ekey keys[ENT_COUNT];
    struct ev_cache *c = &h->cache;
    struct ent_rec local;
    const struct ent_rec *r;
    unsigned k;
    bool exists, keep;
    int rc;

    keep = store_txn_is_write(txn);
    if (keep)
        c->valid = false;
    memset(out, 0, sizeof(*out));
    out->account_age_ms = -1;
    for (k = 0; k < ENT_COUNT; k++)
        out->ent[k].age_ms = -1;
    if (!history_ts_ok(ev->ts))
        return ERR_INVAL;
    rc = history_event_keys(actor, ev, keys);
    if (rc != 0)
        return rc;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        /* In a write txn, read straight into the cache for apply. */
        r = keep ? &c->rec[k] : &local;
        if (fresh & HISTORY_FRESH(k)) {
            /* A new token: nothing is stored under it. */
            history_rec_init(keep ? &c->rec[k] : &local, (enum entity_kind)k);
            exists = false;
        } else {
            rc = history_ent_load(h, txn, &keys[k], (enum entity_kind)k,
                keep ? &c->rec[k] : &local, &exists);
            if (rc != 0)
                return rc;
        }
        if (keep)
            c->exists[k] = exists;
        if (!exists) {
            history_rec_unknown(&out->ent[k]);
            continue;
        }
        history_rec_features(r, (enum entity_kind)k, ev->ts, &out->ent[k]);
        if (k != ENT_ACCOUNT)
            continue;
        if ((r->flags & F_SIGNUP) && r->signup_ts <= ev->ts)
            out->account_age_ms = (int64_t)(ev->ts - r->signup_ts);
        out->account_orders = r->order_count;
        out->account_amount_mean =
            r->order_count ? r->amount_sum / r->order_count : 0;
        out->account_amount_max = r->amount_max;
        if (r->flags & F_COUNTRY)
            memcpy(out->account_country, r->country, 3);
    }
    if (keep) {
        memcpy(c->keys, keys, sizeof(c->keys));
        c->txn = txn;
        c->ts = ev->ts;
        c->id = ev->id;
        c->valid = true;
    }
    return 0;
}

int
history_entity_features(struct history *h, struct store_txn *txn,
    const char *actor, enum entity_kind kind, const void *id, size_t idlen,
    uint64_t ts, struct entity_features *out)
{
    struct ekey k;
    struct ent_rec r;
    struct pseudo acct;
    bool exists;
    int rc;

    history_cache_drop(h, txn);
    memset(out, 0, sizeof(*out));
    out->age_ms = -1;
    if (!history_ts_ok(ts) || (unsigned)kind >= ENT_COUNT)
        return ERR_INVAL;
    switch (kind) {
    case ENT_ACCOUNT:
        if (idlen != PSEUDO_BYTES)
            return ERR_INVAL;
        memcpy(acct.b, id, PSEUDO_BYTES);
        rc = history_key_actor(&k, 'A', actor, &acct);
        if (rc != 0)
            return rc;
        break;
    default:
        if (idlen != PSEUDO_BYTES)
            return ERR_INVAL;
        key_bytes(&k, kind, id, idlen);
        break;
    }
    rc = history_ent_load(h, txn, &k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    if (!exists)
        history_rec_unknown(out);
    else
        history_rec_features(&r, kind, ts, out);
    return 0;
}

/* ------------------------------------------------------------- apply */

static int
apply_label(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, const struct ekey own[ENT_COUNT])
{
    struct order_rec o;
    struct link_list *l = NULL;
    struct ekey acct;
    struct ent_rec r;
    bool have_order = false, exists;
    unsigned k;
    int rc;

    memset(&acct, 0, sizeof(acct));
    memset(&o, 0, sizeof(o));
    if (ev->has & EVENT_HAS_ORDER) {
        rc = history_order_load(h, txn, actor, &ev->order, &o);
        if (rc == 0)
            have_order = true;
        else if (rc != ERR_NOTFOUND)
            return rc;
    }
    /* A decided order leaves the review queue (history_review.c). */
    if (have_order) {
        bool removed;

        rc = history_review_remove(h, txn, actor, &ev->order, o.ts, &removed);
        if (rc != 0)
            return rc;
    }
    if (have_order && o.keys[ENT_ACCOUNT].present)
        acct = o.keys[ENT_ACCOUNT];
    else if (own[ENT_ACCOUNT].present)
        acct = own[ENT_ACCOUNT];
    rc = history_model_label(
        h, txn, actor, ev, have_order ? o.keys : NULL, &acct);
    if (rc != 0)
        return rc;
    if (!(ev->has & EVENT_HAS_OK) || !ev->ok) {
        /* fraud=false: the account's own label becomes legitimate. */
        if (!acct.present)
            return 0;
        rc = history_ent_load(h, txn, &acct, ENT_ACCOUNT, &r, &exists);
        if (rc != 0 || !exists ||
            (r.flags & (F_FRAUD_SELF | F_LEGIT_SELF)) == F_LEGIT_SELF)
            return rc;
        r.flags &= (uint8_t)~F_FRAUD_SELF;
        r.flags |= F_LEGIT_SELF;
        return history_ent_store(h, txn, &acct, &r);
    }
    if (acct.present) {
        rc = history_ent_load(h, txn, &acct, ENT_ACCOUNT, &r, &exists);
        if (rc == 0 && exists && (r.flags & F_LEGIT_SELF)) {
            r.flags &= (uint8_t)~F_LEGIT_SELF;
            rc = history_ent_store(h, txn, &acct, &r);
        }
        if (rc == 0)
            rc = ent_flag(h, txn, &acct, F_FRAUD_SELF, ev->ts);
        if (rc != 0)
            return rc;
    }
    if (have_order) {
        for (k = 1; k < ENT_COUNT; k++) {
            /* The /16 is a model feature, not a link (score.h). */
            if (!o.keys[k].present || k == ENT_IP16)
                continue;
            rc = ent_flag(h, txn, &o.keys[k], F_FRAUD_LINKED, ev->ts);
            if (rc != 0)
                return rc;
        }
    }
    if (!acct.present)
        return 0;
    l = xmalloc(sizeof(*l));
    rc = history_link_load(h, txn, &acct, l);
    for (k = 0; rc == 0 && k < l->n; k++)
        rc = ent_flag(h, txn, &l->keys[k], F_FRAUD_LINKED, ev->ts);
    free(l);
    return rc;
}

int
history_apply(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, uint32_t fresh, const struct reply *r)
{
    struct ekey keys[ENT_COUNT], okey;
    struct workset *ws = NULL;
    struct ent_rec *e, *acct = NULL;
    struct order_rec o;
    uint8_t obuf[ORDER_MAX_BYTES];
    const struct ekey *targets = keys;
    uint64_t acc_hash = 0, prev_last = 0;
    bool fraud_acct = false, have_order = false;
    size_t n;
    unsigned k;
    int rc;

    if (!store_txn_is_write(txn))
        return ERR_INVAL;
    ws = &h->ws;
    ws->n = 0;
    ws->keys = NULL;
    ws->fresh = 0;
    if (!history_ts_ok(ev->ts)) {
        h->cache.valid = false;
        return ERR_INVAL;
    }
    rc = history_event_keys(actor, ev, keys);
    if (rc != 0) {
        h->cache.valid = false;
        return rc;
    }
    cache_take(h, txn, ev, keys, ws);
    if (ev->type == EVENT_LABEL)
        return apply_label(h, txn, actor, ev, keys);
    ws->keys = keys; /* this call's: cleared before it returns */
    ws->fresh = fresh;

    if (keys[ENT_ACCOUNT].present) {
        rc = ws_get(h, txn, ws, &keys[ENT_ACCOUNT], ENT_ACCOUNT, &acct);
        if (rc != 0)
            goto out;
        acc_hash =
            history_hash64(keys[ENT_ACCOUNT].b + 1, keys[ENT_ACCOUNT].len - 1);
        fraud_acct = (acct->flags & F_FRAUD_SELF) != 0;
        prev_last = acct->last_seen;
    }
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
        if (rc != 0)
            goto out;
        history_rec_touch(e, ev->ts);
        if (k == ENT_ACCOUNT || acct == NULL)
            continue;
        history_rec_link(e, acc_hash);
        history_rec_seen_by(e, ev->ts, acc_hash);
        if (fraud_acct)
            e->flags |= F_FRAUD_LINKED;
    }
    if (acct != NULL && (ev->has & EVENT_HAS_IP_COUNTRY) &&
        ev->ip_country[0] != '\0' && ev->ts >= prev_last) {
        memcpy(acct->country, ev->ip_country, 2);
        acct->country[2] = '\0';
        acct->flags |= F_COUNTRY;
    }

    switch (ev->type) {
    case EVENT_ACCOUNT_SIGNUP:
        if (acct != NULL &&
            (!(acct->flags & F_SIGNUP) || ev->ts < acct->signup_ts)) {
            acct->signup_ts = ev->ts;
            acct->flags |= F_SIGNUP;
            acct->source = history_model_source(ev->source);
            acct->sig_mask = 0;
            for (k = 0; k < ENT_COUNT; k++) {
                int net = history_net_of((enum entity_kind)k);

                if (net < 0 || !keys[k].present)
                    continue;
                acct->sig_mask |= (uint8_t)(1u << net);
                acct->sig_hash[net] = history_hash64(keys[k].b, keys[k].len);
            }
        }
        for (k = 0; k < ENT_COUNT; k++) {
            if (k == ENT_ACCOUNT || !keys[k].present)
                continue;
            rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
            if (rc != 0)
                goto out;
            history_rec_count(e, ev->ts, C_SIGNUPS);
            history_rec_signup_minute(e, ev->ts);
        }
        break;
    case EVENT_ACCOUNT_LOGIN:
        if (!(ev->has & EVENT_HAS_OK) || ev->ok)
            break;
        rc = ws_count_all(h, txn, ws, keys, ev->ts, C_FAILLOGIN);
        if (rc != 0)
            goto out;
        break;
    case EVENT_ORDER_PLACED:
        rc = ws_count_all(h, txn, ws, keys, ev->ts, C_ORDERS);
        if (rc != 0)
            goto out;
        if (acct != NULL) {
            if (acct->order_count < UINT32_MAX)
                acct->order_count++;
            acct->amount_sum = ev->amount > UINT64_MAX - acct->amount_sum ?
                UINT64_MAX :
                acct->amount_sum + ev->amount;
            if (ev->amount > acct->amount_max)
                acct->amount_max = ev->amount;
        }
        rc = history_model_order(h, txn, actor, ev);
        if (rc != 0)
            goto out;
        if (!(ev->has & EVENT_HAS_ORDER))
            break;
        memset(&o, 0, sizeof(o));
        o.ts = ev->ts;
        o.amount = ev->amount;
        o.event_id = ev->id;
        if (r != NULL && r->has_score) {
            o.has_score = true;
            o.score = r->score;
            o.decision = (uint8_t)r->decision;
        }
        memcpy(o.keys, keys, sizeof(o.keys));
        rc = history_order_key(&okey, actor, &ev->order);
        if (rc != 0)
            goto out;
        n = history_order_encode(&o, obuf);
        rc = store_put(txn, h->dbi_order, okey.b, okey.len, obuf, n);
        if (rc == 0 && o.has_score && o.decision == REPLY_DECISION_REVIEW)
            rc = history_review_add(h, txn, actor, &ev->order, ev->ts);
        if (rc != 0)
            goto out;
        break;
    case EVENT_PAYMENT_RESULT:
        if (!(ev->has & EVENT_HAS_OK) || ev->ok)
            break;
        if (ev->has & EVENT_HAS_ORDER) {
            rc = history_order_load(h, txn, actor, &ev->order, &o);
            if (rc == 0)
                have_order = true;
            else if (rc != ERR_NOTFOUND)
                goto out;
        }
        if (have_order)
            targets = o.keys;
        rc = ws_count_all(h, txn, ws, targets, ev->ts, C_FAILPAY);
        if (rc != 0)
            goto out;
        break;
    default:
        break;
    }
    rc = ws_flush(h, txn, ws);
    if (rc == 0 && acct != NULL)
        rc = history_link_update(h, txn, keys, fresh);
out:
    ws->keys = NULL;
    ws->fresh = 0;
    return rc;
}

static const char meta_applied[] = "applied_seq";

int
history_applied_seq(struct history *h, struct store_txn *txn, uint64_t *seq)
{
    const void *v;
    size_t vlen;
    int rc;

    history_cache_drop(h, txn);
    *seq = 0;
    rc = store_get_view(
        txn, h->dbi_meta, meta_applied, sizeof(meta_applied) - 1, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (vlen != 8)
        return ERR_CORRUPT;
    *seq = bytes_get_le64(v);
    return 0;
}

int
history_set_applied_seq(struct history *h, struct store_txn *txn, uint64_t seq)
{
    uint8_t b[8];

    history_cache_drop(h, txn);
    bytes_put_le64(b, seq);
    return store_put(
        txn, h->dbi_meta, meta_applied, sizeof(meta_applied) - 1, b, sizeof(b));
}

static bool
meta_name_ok(const char *name)
{
    size_t n = strlen(name);

    return n >= 1 && n <= 64 && strcmp(name, meta_applied) != 0;
}

int
history_meta_get(struct history *h, struct store_txn *txn, const char *name,
    void *out, size_t cap, size_t *len)
{
    const void *v;
    size_t vlen;
    int rc;

    history_cache_drop(h, txn);
    *len = 0;
    if (!meta_name_ok(name))
        return ERR_INVAL;
    rc = store_get_view(txn, h->dbi_meta, name, strlen(name), &v, &vlen);
    if (rc != 0)
        return rc;
    if (vlen > cap)
        return ERR_TOOBIG;
    if (vlen > 0)
        memcpy(out, v, vlen);
    *len = vlen;
    return 0;
}

int
history_meta_put(struct history *h, struct store_txn *txn, const char *name,
    const void *v, size_t len)
{
    history_cache_drop(h, txn);
    if (!meta_name_ok(name))
        return ERR_INVAL;
    return store_put(txn, h->dbi_meta, name, strlen(name), v, len);
}

int
history_meta_del(struct history *h, struct store_txn *txn, const char *name)
{
    int rc;

    history_cache_drop(h, txn);
    if (!meta_name_ok(name))
        return ERR_INVAL;
    rc = store_del(txn, h->dbi_meta, name, strlen(name));
    return rc == ERR_NOTFOUND ? 0 : rc;
}

/* ------------------------------------------- lent to history_purge.c */

unsigned
history_dbi(const struct history *h, enum history_db which)
{
    switch (which) {
    case HISTORY_DB_ENTITY:
        return h->dbi_entity;
    case HISTORY_DB_LINK:
        return h->dbi_link;
    case HISTORY_DB_ORDER:
        return h->dbi_order;
    case HISTORY_DB_REPLY:
        return h->dbi_reply;
    case HISTORY_DB_META:
        return h->dbi_meta;
    case HISTORY_DB_REPLY_TIME:
        return h->dbi_reply_time;
    case HISTORY_DB_REVIEW:
        return h->dbi_review;
    case HISTORY_DB_LINK_MEMBER:
        return h->dbi_link;
    }
    fatalx("%s: invariant: no database %d", __func__, (int)which);
}

struct store *
history_store(const struct history *h)
{
    return h->st;
}

int
history_actor_key(uint8_t out[HISTORY_KEY_MAX], size_t *len, int tag,
    const char *actor, const struct pseudo *id)
{
    struct ekey k;
    int rc = history_key_actor(&k, tag, actor, id);

    if (rc != 0)
        return rc;
    memcpy(out, k.b, k.len);
    *len = k.len;
    return 0;
}

int
history_entity_last_seen(const void *v, size_t len, uint64_t *last)
{
    struct ent_rec r;
    int rc = history_rec_decode(v, len, &r);

    if (rc != 0)
        return rc;
    /* On a list: kept until taken off it (or erased). */
    *last = (r.flags & (F_ALLOW | F_BLOCK)) ? UINT64_MAX : r.last_seen;
    return 0;
}

/* The key of entity `kind` `id` (an account's: of storefront `actor`). */
static int
list_key(const char *actor, enum entity_kind kind, const struct pseudo *id,
    struct ekey *k)
{
    memset(k, 0, sizeof(*k));
    if ((unsigned)kind >= ENT_COUNT || kind == ENT_IP24 || kind == ENT_IP16)
        return ERR_INVAL;
    if (kind == ENT_ACCOUNT)
        return history_key_actor(k, 'A', actor, id);
    key_bytes(k, kind, id->b, PSEUDO_BYTES);
    return 0;
}

static enum score_list
list_of(uint8_t flags)
{
    return (flags & F_BLOCK) ? SCORE_LIST_BLOCK :
        (flags & F_ALLOW)    ? SCORE_LIST_ALLOW :
                               SCORE_LIST_NONE;
}

int
history_list_get(struct history *h, struct store_txn *txn, const char *actor,
    enum entity_kind kind, const struct pseudo *id, enum score_list *out,
    bool *known)
{
    struct ent_rec r;
    struct ekey k;
    bool exists;
    int rc;

    *out = SCORE_LIST_NONE;
    *known = false;
    rc = list_key(actor, kind, id, &k);
    if (rc == 0)
        rc = history_ent_load(h, txn, &k, kind, &r, &exists);
    if (rc != 0 || !exists)
        return rc;
    *out = list_of(r.flags);
    *known = r.first_seen != 0;
    return 0;
}

int
history_list_set(struct history *h, struct store_txn *txn, const char *actor,
    enum entity_kind kind, const struct pseudo *id, enum score_list list,
    enum score_list *was)
{
    struct ent_rec r;
    struct ekey k;
    bool exists;
    int rc;

    *was = SCORE_LIST_NONE;
    if (!store_txn_is_write(txn) || (unsigned)list > SCORE_LIST_BLOCK)
        return ERR_INVAL;
    rc = list_key(actor, kind, id, &k);
    if (rc == 0)
        rc = history_ent_load(h, txn, &k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    history_cache_drop(h, txn);
    *was = exists ? list_of(r.flags) : SCORE_LIST_NONE;
    if (*was == list)
        return 0;
    /* A list-only record keeps last_seen 0 (event time only: it orders
     * the account's country updates): off the list, retention takes it
     * at its next pass. */
    r.flags &= (uint8_t) ~(F_ALLOW | F_BLOCK);
    r.flags |= list == SCORE_LIST_BLOCK ? F_BLOCK :
        list == SCORE_LIST_ALLOW        ? F_ALLOW :
                                          0;
    return history_ent_store(h, txn, &k, &r);
}
