/*
 * history_link.c - the accounts' link lists, the entities' account lists,
 *                  and the linked accounts of one account
 *
 * The "link" database (history.h): under each account key, the entity
 * keys the account was seen with (FIFO, HISTORY_MAX_LINKS), which a
 * fraud label flags; under 'R' + an entity key (device, IP, IP prefix,
 * card, email), the account keys seen with that entity (FIFO,
 * HISTORY_LINK_ACCOUNTS), written when an account's list gains the
 * entity. history_linked_get() joins the two: the accounts sharing an
 * entity with one account, by kind and count, with their labels, in
 * bounded work (at most HISTORY_MAX_LINKS x HISTORY_LINK_ACCOUNTS
 * candidates).
 *
 * See also: history.h, history_impl.h
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

/* -------------------------------------------------------- link lists */

int
history_link_load(struct history *h, struct store_txn *txn,
    const struct ekey *acct, struct link_list *l)
{
    const uint8_t *p;
    const void *v;
    size_t vlen, n, kl;
    unsigned i;
    int rc;

    l->n = 0;
    rc = store_get_view(txn, h->dbi_link, acct->b, acct->len, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    p = v;
    if (vlen < 2 || p[0] != LINK_VERSION || p[1] > HISTORY_MAX_LINKS)
        goto bad;
    n = 2;
    for (i = 0; i < p[1]; i++) {
        if (n >= vlen)
            goto bad;
        kl = p[n++];
        if (kl < 2 || kl > KEY_MAX || kl > vlen - n)
            goto bad;
        memcpy(l->keys[i].b, p + n, kl);
        l->keys[i].len = kl;
        l->keys[i].present = true;
        n += kl;
    }
    if (n != vlen)
        goto bad;
    l->n = p[1];
    return 0;
bad:
    log_warnx("%s: undecodable link list", __func__);
    return ERR_CORRUPT;
}

/* Store list `l` under key `k` of the link database. */
static int
link_store(struct history *h, struct store_txn *txn, const struct ekey *k,
    const struct link_list *l)
{
    uint8_t *out = xmalloc(LINK_MAX_BYTES);
    size_t n = 2;
    unsigned i;
    int rc;

    out[0] = LINK_VERSION;
    out[1] = (uint8_t)l->n;
    for (i = 0; i < l->n; i++) {
        out[n++] = (uint8_t)l->keys[i].len;
        memcpy(out + n, l->keys[i].b, l->keys[i].len);
        n += l->keys[i].len;
    }
    rc = store_put(txn, h->dbi_link, k->b, k->len, out, n);
    free(out);
    return rc;
}

/*
 * Append `key` to `l` unless there (FIFO beyond `cap`: the oldest goes
 * to *evicted when not NULL, else evicted->present is false); true if
 * added.
 */
static bool
list_add(struct link_list *l, const struct ekey *key, unsigned cap,
    struct ekey *evicted)
{
    unsigned i;

    if (evicted != NULL)
        evicted->present = false;
    for (i = 0; i < l->n; i++)
        if (l->keys[i].len == key->len &&
            memcmp(l->keys[i].b, key->b, key->len) == 0)
            return false;
    if (l->n == cap) {
        if (evicted != NULL)
            *evicted = l->keys[0];
        memmove(l->keys, l->keys + 1, (l->n - 1) * sizeof(l->keys[0]));
        l->n--;
    }
    l->keys[l->n++] = *key;
    return true;
}

int
history_link_forget(struct history *h, struct store_txn *txn, const uint8_t *rk,
    size_t rklen, const uint8_t *acct, size_t alen)
{
    struct link_list *l = xmalloc(sizeof(*l));
    struct ekey k;
    unsigned i;
    int rc;

    if (rklen > KEY_MAX) {
        free(l);
        return ERR_INVAL;
    }
    k.present = true;
    k.len = rklen;
    memcpy(k.b, rk, rklen);
    rc = history_link_load(h, txn, &k, l);
    for (i = 0; rc == 0 && i < l->n; i++) {
        if (l->keys[i].len != alen || memcmp(l->keys[i].b, acct, alen) != 0)
            continue;
        memmove(
            l->keys + i, l->keys + i + 1, (l->n - i - 1) * sizeof(l->keys[0]));
        l->n--;
        rc = l->n == 0 ? store_del(txn, h->dbi_link, k.b, k.len) :
                         link_store(h, txn, &k, l);
        break;
    }
    free(l);
    return rc;
}

int
history_link_rkey(struct ekey *rk, const uint8_t *ent, size_t len)
{
    if (len < 2 || len + 1 > KEY_MAX || ent[0] == 'A')
        return ERR_INVAL;
    rk->present = true;
    rk->b[0] = 'R';
    memcpy(rk->b + 1, ent, len);
    rk->len = len + 1;
    return 0;
}

/* Note account `acct` on entity `ent`'s account list (empty without a
 * lookup when `fresh`: nothing is stored under a new token). */
static int
link_reverse_add(struct history *h, struct store_txn *txn,
    const struct ekey *ent, bool fresh, const struct ekey *acct,
    struct link_list *l)
{
    struct ekey rk;
    int rc = history_link_rkey(&rk, ent->b, ent->len);

    l->n = 0;
    if (rc == 0 && !fresh)
        rc = history_link_load(h, txn, &rk, l);
    if (rc == 0 && list_add(l, acct, HISTORY_LINK_ACCOUNTS, NULL))
        rc = link_store(h, txn, &rk, l);
    return rc;
}

/*
 * Add the event's non-account keys to the account's link list, and the
 * account to each new entity's account list; an entity the account's
 * list lets go loses the account from its list too, so that an account
 * is on an entity's list only while the entity is on the account's
 * (what erasing the account cleans up: history_purge.c).
 */
int
history_link_update(struct history *h, struct store_txn *txn,
    const struct ekey keys[ENT_COUNT], uint32_t fresh)
{
    const struct ekey *acct = &keys[ENT_ACCOUNT];
    struct link_list *l, *r;
    struct ekey gone, rk;
    bool changed = false;
    unsigned k;
    int rc;

    l = xmalloc(sizeof(*l));
    r = xmalloc(sizeof(*r));
    l->n = 0;
    if (!(fresh & HISTORY_FRESH(ENT_ACCOUNT)))
        rc = history_link_load(h, txn, acct, l);
    else
        rc = 0;
    for (k = 1; rc == 0 && k < ENT_COUNT; k++) {
        /* The /16 is a model feature, not a link (score.h). */
        if (!keys[k].present || k == ENT_IP16 ||
            !list_add(l, &keys[k], HISTORY_MAX_LINKS, &gone))
            continue;
        changed = true;
        rc = link_reverse_add(
            h, txn, &keys[k], (fresh & HISTORY_FRESH(k)) != 0, acct, r);
        if (rc == 0 && gone.present &&
            history_link_rkey(&rk, gone.b, gone.len) == 0)
            rc = history_link_forget(h, txn, rk.b, rk.len, acct->b, acct->len);
    }
    if (rc == 0 && changed)
        rc = link_store(h, txn, &keys[ENT_ACCOUNT], l);
    free(r);
    free(l);
    return rc;
}

/* ---------------------------------------------------- linked accounts */

/* One candidate account while joining. */
struct linked_cand {
    struct ekey key;
    uint16_t via[ENT_COUNT];
    uint16_t shared;
    bool fraud, legit;
};

/* The entity kind of key byte `b`, or ENT_COUNT. */
static unsigned
kind_of(uint8_t b)
{
    unsigned k;

    for (k = 1; k < ENT_COUNT; k++)
        if (history_kind_byte[k] == b)
            return k;
    return ENT_COUNT;
}

/* Read an account's own labels; *exists false when it is gone. */
static int
account_labels(struct history *h, struct store_txn *txn, const struct ekey *k,
    bool *exists, bool *fraud, bool *legit)
{
    struct ent_rec *r;
    const void *v;
    size_t vlen;
    int rc;

    *exists = *fraud = *legit = false;
    rc = store_get_view(txn, h->dbi_entity, k->b, k->len, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    r = xmalloc(sizeof(*r));
    rc = history_rec_decode(v, vlen, r);
    if (rc == 0) {
        *exists = true;
        *fraud = (r->flags & F_FRAUD_SELF) != 0;
        *legit = (r->flags & F_LEGIT_SELF) != 0;
    }
    free(r);
    return rc;
}

/* Order: labelled fraud first, then most shared, then key bytes. */
static int
cand_cmp(const void *a, const void *b)
{
    const struct linked_cand *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c;

    if (x->fraud != y->fraud)
        return x->fraud ? -1 : 1;
    if (x->shared != y->shared)
        return x->shared > y->shared ? -1 : 1;
    c = memcmp(x->key.b, y->key.b, n);
    if (c != 0)
        return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

int
history_linked_get(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *account, struct history_linked *out)
{
    struct linked_cand *cand = NULL;
    struct link_list *l = NULL, *r = NULL;
    struct ekey acct, rk;
    size_t ncand = 0, i, al;
    unsigned e, j, kind;
    bool exists, fraud, legit;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = history_key_actor(&acct, 'A', actor, account);
    if (rc != 0)
        return rc;
    rc = account_labels(h, txn, &acct, &exists, &fraud, &legit);
    if (rc != 0)
        return rc;
    if (!exists)
        return ERR_NOTFOUND;
    out->fraud = fraud;
    out->legit = legit;
    l = xmalloc(sizeof(*l));
    r = xmalloc(sizeof(*r));
    cand = xcalloc(
        (size_t)HISTORY_MAX_LINKS * HISTORY_LINK_ACCOUNTS, sizeof(*cand));
    rc = history_link_load(h, txn, &acct, l);
    out->nentities = rc == 0 ? l->n : 0;
    for (e = 0; rc == 0 && e < l->n; e++) {
        kind = kind_of(l->keys[e].b[0]);
        if (kind == ENT_COUNT ||
            history_link_rkey(&rk, l->keys[e].b, l->keys[e].len) != 0)
            continue;
        out->via_entities[kind]++;
        rc = history_link_load(h, txn, &rk, r);
        for (j = 0; rc == 0 && j < r->n; j++) {
            const struct ekey *a = &r->keys[j];

            if (a->len == acct.len && memcmp(a->b, acct.b, a->len) == 0)
                continue;
            for (i = 0; i < ncand; i++)
                if (cand[i].key.len == a->len &&
                    memcmp(cand[i].key.b, a->b, a->len) == 0)
                    break;
            if (i == ncand) {
                cand[ncand++].key = *a;
            }
            cand[i].via[kind]++;
            cand[i].shared++;
        }
    }
    /* Only accounts still held (an erased or expired one is gone). */
    for (i = 0; rc == 0 && i < ncand;) {
        rc = account_labels(
            h, txn, &cand[i].key, &exists, &cand[i].fraud, &cand[i].legit);
        if (rc == 0 && !exists)
            cand[i] = cand[--ncand];
        else
            i++;
    }
    if (rc != 0)
        goto done;
    if (ncand > 1)
        qsort(cand, ncand, sizeof(*cand), cand_cmp);
    out->naccounts = (unsigned)ncand;
    for (i = 0; i < ncand && out->n < HISTORY_LINKED_MAX; i++) {
        struct history_linked_acct *o = &out->acc[out->n];
        const struct ekey *k = &cand[i].key;

        /* 'A' actor \0 token */
        al = k->len - 2 - PSEUDO_BYTES;
        if (k->len < 3 + PSEUDO_BYTES || k->b[0] != 'A' || k->b[1 + al] != 0)
            continue;
        memcpy(o->actor, k->b + 1, al);
        o->actor[al] = '\0';
        memcpy(o->account.b, k->b + k->len - PSEUDO_BYTES, PSEUDO_BYTES);
        memcpy(o->via, cand[i].via, sizeof(o->via));
        o->shared = cand[i].shared;
        o->fraud = cand[i].fraud;
        o->legit = cand[i].legit;
        out->n++;
    }
done:
    free(cand);
    free(r);
    free(l);
    return rc;
}
