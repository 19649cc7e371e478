/*
 * wwindow.c - consistency proofs from a frontier and the leaves after it
 *
 * See wwindow.h. The subtree callback handed to merkle_consistency_proof()
 * recurses: a perfect subtree [a, b) of 2^level leaves with b <= base is
 * the frontier's node at that level (if it is not, the window cannot
 * answer); with a >= base it is hashed from the leaves; across the base
 * it is split in two. Across the base, the left half ends at or before
 * the base and, by the frontier's definition (merkle.h), is its node at
 * level - 1.
 *
 * Invariants: see wwindow.h.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "scorer/wwindow.h"

void
wwindow_init(struct wwindow *w, const struct merkle_frontier *fr)
{
    memset(w, 0, sizeof(*w));
    w->fr = *fr;
    w->base = fr->size;
}

void
wwindow_release(struct wwindow *w)
{
    free(w->leaves);
    w->leaves = NULL;
    w->n = w->cap = 0;
}

int
wwindow_append(struct wwindow *w, uint64_t first,
    const uint8_t (*h)[MERKLE_HASH_BYTES], size_t n)
{
    if (n == 0)
        return 0;
    if (w->broken || first != w->base + w->n) {
        w->broken = true;
        return ERR_INVAL;
    }
    if (w->n + n > w->cap) {
        w->cap = w->cap * 2 > w->n + n ? w->cap * 2 : w->n + n + 1024;
        w->leaves = xreallocarray(w->leaves, w->cap, sizeof(*w->leaves));
    }
    memcpy(w->leaves + w->n, h, n * sizeof(*h));
    w->n += n;
    return 0;
}

void
wwindow_advance(struct wwindow *w, uint64_t to)
{
    size_t k, i;

    if (w->broken || to <= w->base)
        return;
    if (to > w->base + w->n)
        to = w->base + w->n;
    k = (size_t)(to - w->base);
    for (i = 0; i < k; i++)
        merkle_frontier_append(&w->fr, w->leaves[i]);
    memmove(w->leaves, w->leaves + k, (w->n - k) * sizeof(*w->leaves));
    w->n -= k;
    w->base = to;
}

uint64_t
wwindow_end(const struct wwindow *w)
{
    return w->base + w->n;
}

static int
subtree(
    void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_BYTES])
{
    struct wwindow *w = arg;
    uint8_t l[MERKLE_HASH_BYTES], r[MERKLE_HASH_BYTES];
    uint64_t a, b;
    int rc;

    if (level >= 63)
        return ERR_NOTFOUND;
    a = index << level;
    b = a + ((uint64_t)1 << level);
    if (b <= w->base) {
        if (((w->base >> level) & 1) == 0 || index != (w->base >> level) - 1)
            return ERR_NOTFOUND;
        memcpy(out, w->fr.nodes[level], MERKLE_HASH_BYTES);
        return 0;
    }
    if (b > w->base + w->n)
        return ERR_NOTFOUND;
    if (level == 0) {
        memcpy(out, w->leaves[a - w->base], MERKLE_HASH_BYTES);
        return 0;
    }
    rc = subtree(w, level - 1, 2 * index, l);
    if (rc == 0)
        rc = subtree(w, level - 1, 2 * index + 1, r);
    if (rc == 0)
        merkle_node_hash(l, r, out);
    return rc;
}

int
wwindow_consistency_proof(struct wwindow *w, uint64_t old, uint64_t size,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *n)
{
    *n = 0;
    if (old > size)
        return ERR_INVAL;
    if (old == 0 || old == size)
        return 0;
    if (w->broken || old < w->base || size > w->base + w->n)
        return ERR_NOTFOUND;
    return merkle_consistency_proof(subtree, w, old, size, proof, n);
}
