/*
 * history_link.c - the accounts' link lists
 *
 * The "link" database (history.h): the entity keys each account was seen
 * with (FIFO, HISTORY_MAX_LINKS), which a fraud label flags.
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

/* Add the event's non-account keys to the account's link list. */
int
history_link_update(
    struct history *h, struct store_txn *txn, const struct ekey keys[ENT_COUNT])
{
    struct link_list *l;
    uint8_t *out;
    bool changed = false, found;
    size_t n;
    unsigned k, i;
    int rc;

    l = xmalloc(sizeof(*l));
    rc = history_link_load(h, txn, &keys[ENT_ACCOUNT], l);
    if (rc != 0)
        goto done;
    for (k = 1; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        found = false;
        for (i = 0; i < l->n && !found; i++)
            found = l->keys[i].len == keys[k].len &&
                memcmp(l->keys[i].b, keys[k].b, keys[k].len) == 0;
        if (found)
            continue;
        if (l->n == HISTORY_MAX_LINKS) {
            memmove(l->keys, l->keys + 1, (l->n - 1) * sizeof(l->keys[0]));
            l->n--;
        }
        l->keys[l->n++] = keys[k];
        changed = true;
    }
    if (!changed)
        goto done;
    out = xmalloc(LINK_MAX_BYTES);
    out[0] = LINK_VERSION;
    out[1] = (uint8_t)l->n;
    n = 2;
    for (i = 0; i < l->n; i++) {
        out[n++] = (uint8_t)l->keys[i].len;
        memcpy(out + n, l->keys[i].b, l->keys[i].len);
        n += l->keys[i].len;
    }
    rc = store_put(
        txn, h->dbi_link, keys[ENT_ACCOUNT].b, keys[ENT_ACCOUNT].len, out, n);
    free(out);
done:
    free(l);
    return rc;
}
