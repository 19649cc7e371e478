/*
 * history_order.c - order records: codec, lookup
 *
 * The "order" database (history.h): one record per order.placed, with
 * the entity keys it named, so that payment.result and label find them.
 * Called from history.c's apply and from queries (history_order_get).
 *
 * See also: history.h, history_impl.h
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

/* ------------------------------------------------------------ orders */

int
history_order_key(struct ekey *k, const char *actor, const struct pseudo *order)
{
    return history_key_actor(k, -1, actor, order);
}

size_t
history_order_encode(const struct order_rec *o, uint8_t *out)
{
    size_t n = 0;
    unsigned k;
    uint8_t mask = 0;

    out[n++] = ORDER_VERSION;
    out[n++] = o->has_score;
    out[n++] = o->score;
    out[n++] = o->decision;
    bytes_put_le64(out + n, o->ts);
    n += 8;
    bytes_put_le64(out + n, o->amount);
    n += 8;
    memcpy(out + n, o->event_id.b, PSEUDO_BYTES);
    n += PSEUDO_BYTES;
    for (k = 0; k < ENT_COUNT; k++) {
        if (o->keys[k].present)
            mask |= (uint8_t)(1u << k);
    }
    out[n++] = mask;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!o->keys[k].present)
            continue;
        out[n++] = (uint8_t)o->keys[k].len;
        memcpy(out + n, o->keys[k].b, o->keys[k].len);
        n += o->keys[k].len;
    }
    return n;
}

static int
order_decode(const uint8_t *in, size_t len, struct order_rec *o)
{
    size_t n = 0, kl;
    unsigned k;
    uint8_t mask;

    memset(o, 0, sizeof(*o));
    if (len < 21 + PSEUDO_BYTES || in[0] != ORDER_VERSION || in[1] > 1 ||
        in[3] > REPLY_DECISION_BLOCK)
        return ERR_CORRUPT;
    o->has_score = in[1] != 0;
    o->score = in[2];
    o->decision = in[3];
    o->ts = bytes_get_le64(in + 4);
    o->amount = bytes_get_le64(in + 12);
    n = 20;
    memcpy(o->event_id.b, in + n, PSEUDO_BYTES);
    n += PSEUDO_BYTES;
    mask = in[n++];
    for (k = 0; k < ENT_COUNT; k++) {
        if (!(mask & (1u << k)))
            continue;
        if (n >= len)
            return ERR_CORRUPT;
        kl = in[n++];
        if (kl < 2 || kl > KEY_MAX || kl > len - n ||
            in[n] != history_kind_byte[k])
            return ERR_CORRUPT;
        memcpy(o->keys[k].b, in + n, kl);
        o->keys[k].len = kl;
        o->keys[k].present = true;
        n += kl;
    }
    if (n != len || (mask >> ENT_COUNT) != 0)
        return ERR_CORRUPT;
    return 0;
}

/* Load order `order` of `actor`: 0, ERR_NOTFOUND, ERR_CORRUPT, ERR_IO. */
int
history_order_load(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, struct order_rec *o)
{
    struct ekey k;
    const void *v;
    size_t vlen;
    int rc;

    rc = history_order_key(&k, actor, order);
    if (rc != 0)
        return rc;
    rc = store_get_view(txn, h->dbi_order, k.b, k.len, &v, &vlen);
    if (rc != 0)
        return rc;
    rc = order_decode(v, vlen, o);
    if (rc != 0)
        log_warnx("%s: undecodable order record", __func__);
    return rc;
}

/* ---------------------------------------------------- order and meta */

int
history_order_get(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, struct history_order *out)
{
    struct order_rec o;
    const struct ekey *a;
    size_t al;
    int rc;

    history_cache_drop(h, txn);
    memset(out, 0, sizeof(*out));
    rc = history_order_load(h, txn, actor, order, &o);
    if (rc != 0)
        return rc;
    out->ts = o.ts;
    out->amount = o.amount;
    out->event_id = o.event_id;
    out->has_score = o.has_score;
    out->score = o.score;
    out->decision = (enum reply_decision)o.decision;
    a = &o.keys[ENT_ACCOUNT];
    if (a->present) {
        /* 'A' actor \0 account pseudonym */
        if (history_actor_len(actor, &al) != 0 ||
            a->len != 2 + al + PSEUDO_BYTES)
            return ERR_CORRUPT;
        memcpy(out->account.b, a->b + 2 + al, PSEUDO_BYTES);
        out->has_account = true;
    }
    return 0;
}

int
history_order_peek(
    const void *v, size_t len, uint64_t *ts, struct pseudo *event_id)
{
    struct order_rec o;
    int rc = order_decode(v, len, &o);

    if (rc != 0)
        return rc;
    *ts = o.ts;
    *event_id = o.event_id;
    return 0;
}
