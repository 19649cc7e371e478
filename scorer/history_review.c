/*
 * history_review.c - the review queue: the orders scored `review` that
 *                    nobody has decided yet, oldest first
 *
 * The "review" database (history.h): key u64 big-endian order event
 * time || the order's token (16) || the storefront's name (no NUL),
 * value one version byte. history_apply() adds an order.placed whose
 * reply decided `review` (history_review_add); a label of the order
 * (vigilctl label, review.decide, a chargeback) removes it
 * (history_review_remove). The order's own retention and erasure remove
 * it with the order (history_purge.c plans the key beside the order's).
 * The queue is bounded: at most HISTORY_REVIEW_MAX entries, counted in
 * the meta value "review_n"; an order that would pass the bound is not
 * queued and counted in "review_dropped" (both u64 little-endian), so
 * the fraud team sees that it is missing work.
 *
 * Invariants:
 *  - every entry names an order of the "order" database when it was
 *    written; readers skip an entry whose order is gone or no longer
 *    has that time and decision (a stale entry is never shown).
 *  - "review_n" counts the entries written through these functions and
 *    not deleted since (history_batch_apply() subtracts the ones it
 *    deletes).
 *
 * See also: history.h ("review", history_review_list), history_purge.c,
 *           scorer/query.c (review.list, review.decide)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "scorer/history_impl.h"
#include "scorer/history_int.h"

#define REVIEW_VERSION 1

static const char meta_n[] = "review_n";
static const char meta_dropped[] = "review_dropped";

/* Build the key of (ts, order token, actor). Returns 0 or ERR_INVAL. */
static int
review_key(uint64_t ts, const struct pseudo *order, const char *actor,
    uint8_t out[HISTORY_REVIEW_KEY_MAX], size_t *len)
{
    size_t al;

    if (history_actor_len(actor, &al) != 0 || al == 0)
        return ERR_INVAL;
    for (unsigned i = 0; i < 8; i++)
        out[i] = (uint8_t)(ts >> (56 - 8 * i));
    memcpy(out + 8, order->b, PSEUDO_BYTES);
    memcpy(out + 8 + PSEUDO_BYTES, actor, al);
    *len = 8 + PSEUDO_BYTES + al;
    return 0;
}

int
history_review_key_of_order(const uint8_t *okey, size_t oklen, uint64_t ts,
    uint8_t out[HISTORY_REVIEW_KEY_MAX], size_t *len)
{
    char actor[EVENT_ID_MAX + 1];
    struct pseudo tok;
    const uint8_t *nul;

    /* actor \0 token (history_order_key). */
    if (oklen < 2 + PSEUDO_BYTES || oklen > HISTORY_KEY_MAX)
        return ERR_INVAL;
    nul = memchr(okey, 0, oklen - PSEUDO_BYTES);
    if (nul == NULL || (size_t)(nul - okey) != oklen - PSEUDO_BYTES - 1)
        return ERR_INVAL;
    memcpy(actor, okey, (size_t)(nul - okey) + 1);
    memcpy(tok.b, okey + oklen - PSEUDO_BYTES, PSEUDO_BYTES);
    return review_key(ts, &tok, actor, out, len);
}

static int
meta_u64(
    struct history *h, struct store_txn *txn, const char *name, uint64_t *v)
{
    uint8_t b[8];
    size_t len;
    int rc = history_meta_get(h, txn, name, b, sizeof(b), &len);

    *v = 0;
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (len != 8)
        return ERR_CORRUPT;
    *v = bytes_get_le64(b);
    return 0;
}

static int
meta_put_u64(
    struct history *h, struct store_txn *txn, const char *name, uint64_t v)
{
    uint8_t b[8];

    bytes_put_le64(b, v);
    return history_meta_put(h, txn, name, b, sizeof(b));
}

/* The queue key of (ts, order, actor) into k[0..*klen), and whether it
 * is queued (false on any error). Returns 0 or an ERR_*. */
static int
review_lookup(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, uint64_t ts, uint8_t k[HISTORY_REVIEW_KEY_MAX],
    size_t *klen, bool *queued)
{
    const void *v;
    size_t vlen;
    int rc;

    *queued = false;
    rc = review_key(ts, order, actor, k, klen);
    if (rc != 0)
        return rc;
    rc = store_get_view(txn, h->dbi_review, k, *klen, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    *queued = rc == 0;
    return rc;
}

int
history_review_add(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, uint64_t ts)
{
    static const uint8_t val[1] = { REVIEW_VERSION };
    uint8_t k[HISTORY_REVIEW_KEY_MAX];
    size_t klen;
    uint64_t n, dropped;
    bool queued;
    int rc;

    rc = review_lookup(h, txn, actor, order, ts, k, &klen, &queued);
    if (rc != 0 || queued)
        return rc; /* an error, or queued already */
    rc = meta_u64(h, txn, meta_n, &n);
    if (rc != 0)
        return rc;
    if (n >= HISTORY_REVIEW_MAX) {
        rc = meta_u64(h, txn, meta_dropped, &dropped);
        if (rc == 0)
            rc = meta_put_u64(h, txn, meta_dropped, dropped + 1);
        return rc;
    }
    rc = store_put(txn, h->dbi_review, k, klen, val, sizeof(val));
    if (rc == 0)
        rc = meta_put_u64(h, txn, meta_n, n + 1);
    return rc;
}

int
history_review_remove(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order, uint64_t ts, bool *removed)
{
    uint8_t k[HISTORY_REVIEW_KEY_MAX];
    size_t klen;
    int rc;

    *removed = false;
    rc = review_key(ts, order, actor, k, &klen);
    if (rc != 0)
        return rc;
    rc = store_del(txn, h->dbi_review, k, klen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    *removed = true;
    return history_review_forget(h, txn, 1);
}

int
history_review_forget(struct history *h, struct store_txn *txn, uint64_t gone)
{
    uint64_t n;
    int rc;

    if (gone == 0)
        return 0;
    rc = meta_u64(h, txn, meta_n, &n);
    if (rc != 0)
        return rc;
    return meta_put_u64(h, txn, meta_n, n > gone ? n - gone : 0);
}

int
history_review_counts(struct history *h, struct store_txn *txn,
    uint64_t *queued, uint64_t *dropped)
{
    int rc = meta_u64(h, txn, meta_n, queued);

    if (rc == 0)
        rc = meta_u64(h, txn, meta_dropped, dropped);
    return rc;
}

/* Decode review key k into its item. Returns 0 or ERR_CORRUPT. */
static int
review_decode(const uint8_t *k, size_t klen, struct history_review_item *it)
{
    size_t al;

    if (klen < 8 + PSEUDO_BYTES + 1 || klen > HISTORY_REVIEW_KEY_MAX)
        return ERR_CORRUPT;
    memset(it, 0, sizeof(*it));
    for (unsigned i = 0; i < 8; i++)
        it->ts = it->ts << 8 | k[i];
    memcpy(it->order.b, k + 8, PSEUDO_BYTES);
    al = klen - 8 - PSEUDO_BYTES;
    if (memchr(k + 8 + PSEUDO_BYTES, 0, al) != NULL)
        return ERR_CORRUPT;
    memcpy(it->actor, k + 8 + PSEUDO_BYTES, al);
    it->actor[al] = '\0';
    return 0;
}

int
history_review_list(struct history *h, struct store_txn *txn,
    const struct history_review_cursor *after, const char *actor,
    unsigned max_items, unsigned max_scan, struct history_review_item *items,
    unsigned *n, struct history_review_cursor *next)
{
    struct store_cursor *cur = NULL;
    uint8_t start[8 + PSEUDO_BYTES];
    const void *k, *v;
    size_t klen, vlen, slen = 0;
    unsigned scanned = 0;
    int rc;

    *n = 0;
    memset(next, 0, sizeof(*next));
    if (after != NULL && after->set) {
        for (unsigned i = 0; i < 8; i++)
            start[i] = (uint8_t)(after->ts >> (56 - 8 * i));
        memcpy(start + 8, after->order.b, PSEUDO_BYTES);
        slen = sizeof(start);
    }
    rc = store_cursor_open(
        txn, h->dbi_review, slen ? start : NULL, slen, false, &cur);
    if (rc != 0)
        return rc;
    while ((rc = store_cursor_next(cur, &k, &klen, &v, &vlen)) == 0) {
        struct history_review_item it;
        struct history_order o;

        if (slen != 0 && klen >= slen && memcmp(k, start, slen) == 0)
            continue; /* the cursor's own entry (any storefront) */
        if (*n == max_items || scanned == max_scan) {
            /* More to read: resume after the last entry looked at. */
            next->set = true;
            break;
        }
        scanned++;
        rc = review_decode(k, klen, &it);
        if (rc != 0) {
            log_warnx("%s: undecodable review key", __func__);
            break;
        }
        next->ts = it.ts;
        next->order = it.order;
        if (actor != NULL && strcmp(actor, it.actor) != 0)
            continue;
        rc = history_order_get(h, txn, it.actor, &it.order, &o);
        if (rc == ERR_NOTFOUND)
            continue; /* gone with its order; deleted with the next sweep */
        if (rc != 0)
            break;
        if (o.ts != it.ts || !o.has_score ||
            o.decision != REPLY_DECISION_REVIEW)
            continue; /* stale: the order was placed again */
        items[(*n)++] = it;
    }
    if (rc == ERR_NOTFOUND)
        rc = 0;
    store_cursor_close(cur);
    if (rc != 0)
        return rc;
    if (!next->set)
        memset(next, 0, sizeof(*next));
    return 0;
}

int
history_review_has(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, uint64_t ts, bool *queued)
{
    uint8_t k[HISTORY_REVIEW_KEY_MAX];
    size_t klen;

    return review_lookup(h, txn, actor, order, ts, k, &klen, queued);
}
