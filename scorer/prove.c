/*
 * prove.c - audit records by index with their inclusion proofs (prove.h)
 *
 * First choice: the tiles. One tree of `size` (audit_tree_open_dir():
 * the signed checkpoint of that size, its signature checked), then per
 * record its inclusion proof from the tiles and the record from its
 * entry bundle (audit_tree_inclusion(): checked against the signed
 * root), O(k log n) hashes read. Only when no checkpoint of that size
 * or no tiles exist (a log written before the tiles, or tiles removed)
 * the pass below runs; damaged tiles are an error, not a fallback.
 *
 * The pass. Before it: which perfect subtrees the proofs (and the root)
 * need, found by running the proof builders with a callback that only
 * notes what it is asked. During the pass (audit_replay(), which
 * verifies the whole log): every leaf goes through a stack of one hash
 * per level (a running frontier); each perfect subtree it completes is
 * kept if it is needed; the records asked for are copied. After: the
 * proofs are built from the kept subtrees and verified against the
 * checkpoint's root.
 *
 * Invariants:
 *  - memory is O(k log n) for k records: the needed subtrees only.
 *
 * See also: prove.h, common/merkle.h, common/audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/xmalloc.h"
#include "scorer/prove.h"

/* A perfect subtree: (level, index), and its hash once seen. */
struct prove_node {
    uint64_t index;
    unsigned level;
    bool have;
    uint8_t hash[MERKLE_HASH_BYTES];
};

struct prove_ctx {
    struct prove_node *need; /* sorted by (level, index), unique */
    size_t nneed, capneed;
    bool recording; /* the callback notes requests (before the pass) */
    /* the pass */
    uint8_t stack[64][MERKLE_HASH_BYTES];
    uint64_t leaves;
    struct prove_item *items;
    size_t nitems, next;
    uint64_t size;
};

static int
node_cmp(const void *pa, const void *pb)
{
    const struct prove_node *a = pa, *b = pb;

    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return 0;
}

static struct prove_node *
node_find(struct prove_ctx *x, unsigned level, uint64_t index)
{
    struct prove_node key;

    memset(&key, 0, sizeof(key));
    key.level = level;
    key.index = index;
    return bsearch(&key, x->need, x->nneed, sizeof(*x->need), node_cmp);
}

/* merkle_subtree_cb: note the request (recording), or answer it. */
static int
subtree_cb(
    void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_BYTES])
{
    struct prove_ctx *x = arg;
    struct prove_node *nd;

    if (x->recording) {
        if (x->nneed == x->capneed) {
            x->capneed = x->capneed ? x->capneed * 2 : 256;
            x->need = xreallocarray(x->need, x->capneed, sizeof(*x->need));
        }
        memset(&x->need[x->nneed], 0, sizeof(x->need[0]));
        x->need[x->nneed].level = level;
        x->need[x->nneed].index = index;
        x->nneed++;
        memset(out, 0, MERKLE_HASH_BYTES);
        return 0;
    }
    nd = node_find(x, level, index);
    if (nd == NULL || !nd->have)
        return ERR_NOTFOUND;
    memcpy(out, nd->hash, MERKLE_HASH_BYTES);
    return 0;
}

/* Keep subtree (level, index) when needed. */
static void
keep(struct prove_ctx *x, unsigned level, uint64_t index,
    const uint8_t h[MERKLE_HASH_BYTES])
{
    struct prove_node *nd = node_find(x, level, index);

    if (nd != NULL) {
        memcpy(nd->hash, h, MERKLE_HASH_BYTES);
        nd->have = true;
    }
}

/* audit_replay callback: every record of the log, in order. */
static int
pass_cb(void *arg, const struct audit_entry *e)
{
    struct prove_ctx *x = arg;
    uint8_t cur[MERKLE_HASH_BYTES];
    uint64_t i = x->leaves;
    unsigned level = 0;

    if (i >= x->size)
        return 0; /* past the checkpoint: not part of the tree */
    if (x->next < x->nitems && x->items[x->next].index == i) {
        struct prove_item *it = &x->items[x->next++];

        it->rec = *e->rec;
        memcpy(it->raw, e->raw, e->raw_len);
        it->raw_len = e->raw_len;
    }
    /* The subtrees leaf i completes: (0, i), then while i's bit at the
     * level is 1, the merge with the left sibling on the stack. */
    memcpy(cur, e->leaf_hash, MERKLE_HASH_BYTES);
    keep(x, 0, i, cur);
    while ((i >> level) & 1) {
        merkle_node_hash(x->stack[level], cur, cur);
        level++;
        keep(x, level, i >> level, cur);
    }
    memcpy(x->stack[level], cur, MERKLE_HASH_BYTES);
    x->leaves++;
    return 0;
}

int
prove_records_pass(const char *dir, const char *key, uint64_t size,
    struct prove_item *items, size_t n, bool proofs,
    struct prove_checkpoint *ck)
{
    struct audit_verify_result *res = xcalloc(1, sizeof(*res));
    struct prove_ctx x;
    char origin[AUDIT_MAX_ORIGIN + 1];
    const char *why = NULL;
    uint8_t root[MERKLE_HASH_BYTES];
    uint64_t cksize;
    size_t i, j, k;
    int rc;

    memset(&x, 0, sizeof(x));
    memset(ck, 0, sizeof(*ck));
    for (i = 0; i < n; i++)
        if (items[i].index >= size ||
            (i > 0 && items[i].index <= items[i - 1].index)) {
            free(res);
            return ERR_INVAL;
        }
    x.items = items;
    x.nitems = n;
    x.size = size;
    /* 1. The subtrees the root and the proofs will ask for. */
    x.recording = true;
    rc = size > 0 ? merkle_root(subtree_cb, &x, size, root) : 0;
    for (i = 0; rc == 0 && proofs && i < n; i++)
        rc = merkle_inclusion_proof(
            subtree_cb, &x, items[i].index, size, items[i].hashes, &items[i].n);
    x.recording = false;
    if (rc != 0)
        goto out;
    if (x.nneed > 0)
        qsort(x.need, x.nneed, sizeof(*x.need), node_cmp);
    for (j = 0, k = 0; j < x.nneed; j++)
        if (k == 0 || node_cmp(&x.need[k - 1], &x.need[j]) != 0)
            x.need[k++] = x.need[j];
    x.nneed = k;

    /* 2. One verifying pass over the log. */
    rc = audit_replay(dir, key, NULL, pass_cb, &x, res);
    if (rc != 0) {
        log_warnx(
            "%s: the audit log does not verify: %s", __func__, res->reason);
        goto out;
    }
    if (res->note_len == 0 || res->checkpoint_size != size) {
        rc = ERR_AGAIN;
        goto out;
    }
    rc = audit_checkpoint_open(key, (const uint8_t *)res->note, res->note_len,
        origin, &cksize, ck->root, &why);
    if (rc != 0 || cksize != size || x.next != n) {
        log_warnx("%s: checkpoint of %" PRIu64 " records: %s", __func__, size,
            why != NULL ? why : "records missing");
        rc = ERR_CORRUPT;
        goto out;
    }
    ck->size = size;
    memcpy(ck->note, res->note, res->note_len + 1);
    ck->note_len = res->note_len;

    /* 3. The root from the kept subtrees must be the signed one, and
     * every proof must lead to it. */
    rc = merkle_root(subtree_cb, &x, size, root);
    if (rc == 0 && memcmp(root, ck->root, MERKLE_HASH_BYTES) != 0)
        rc = ERR_CORRUPT;
    for (i = 0; rc == 0 && proofs && i < n; i++) {
        uint8_t leaf[MERKLE_HASH_BYTES];

        merkle_leaf_hash(items[i].raw, items[i].raw_len, leaf);
        rc = merkle_inclusion_proof(
            subtree_cb, &x, items[i].index, size, items[i].hashes, &items[i].n);
        if (rc == 0)
            rc = merkle_verify_inclusion(items[i].index, size, leaf,
                (const uint8_t(*)[MERKLE_HASH_BYTES])items[i].hashes,
                items[i].n, ck->root);
    }
    if (rc != 0) {
        log_warnx("%s: a proof in the tree of %" PRIu64 " does not hold: %s",
            __func__, size, err_str(rc));
        rc = ERR_CORRUPT;
    }
out:
    free(x.need);
    free(res);
    return rc;
}

/* The tiles path: ERR_NOTFOUND when there is no checkpoint of `size` or
 * no tiles (take the pass), else as prove_records(). */
static int
prove_tiles(const char *dir, const char *key, uint64_t size,
    struct prove_item *items, size_t n, bool proofs,
    struct prove_checkpoint *ck)
{
    struct audit_proof *p = NULL;
    struct audit_tree *t = NULL;
    char origin[AUDIT_MAX_ORIGIN + 1];
    const char *why = NULL, *note;
    uint64_t cksize;
    size_t i;
    int rc;

    rc = audit_tree_open_dir(dir, key, size, &t);
    if (rc != 0)
        return rc;
    note = audit_tree_note(t);
    ck->note_len = strlen(note);
    memcpy(ck->note, note, ck->note_len + 1);
    rc = audit_checkpoint_open(key, (const uint8_t *)ck->note, ck->note_len,
        origin, &cksize, ck->root, &why);
    if (rc != 0 || cksize != size) {
        log_warnx("%s: checkpoint of %" PRIu64 " records: %s", __func__, size,
            why != NULL ? why : "another size");
        rc = ERR_CORRUPT;
        goto out;
    }
    ck->size = size;
    p = xmalloc(sizeof(*p));
    for (i = 0; rc == 0 && i < n; i++) {
        struct prove_item *it = &items[i];

        rc = audit_tree_inclusion(t, it->index, p);
        /* The first record's tiles are missing: no tiles at all. */
        if (rc == ERR_NOTFOUND && i > 0)
            rc = ERR_CORRUPT;
        if (rc != 0)
            break;
        if (memcmp(p->root, ck->root, MERKLE_HASH_BYTES) != 0 ||
            audit_record_decode(p->raw, p->raw_len, &it->rec, &why) != 0) {
            log_warnx("%s: record %" PRIu64 ": %s", __func__, it->index,
                why != NULL ? why : "proved against another root");
            rc = ERR_CORRUPT;
            break;
        }
        memcpy(it->raw, p->raw, p->raw_len);
        it->raw_len = p->raw_len;
        it->n = 0;
        if (proofs) {
            memcpy(it->hashes, p->hashes, p->n * MERKLE_HASH_BYTES);
            it->n = p->n;
        }
    }
out:
    if (p != NULL) {
        sodium_memzero(p, sizeof(*p));
        free(p);
    }
    audit_tree_close(t);
    return rc;
}

int
prove_records(const char *dir, const char *key, uint64_t size,
    struct prove_item *items, size_t n, bool proofs,
    struct prove_checkpoint *ck)
{
    int rc;

    memset(ck, 0, sizeof(*ck));
    for (size_t i = 0; i < n; i++)
        if (items[i].index >= size ||
            (i > 0 && items[i].index <= items[i - 1].index))
            return ERR_INVAL;
    if (size == 0)
        return prove_records_pass(dir, key, size, items, n, proofs, ck);
    rc = prove_tiles(dir, key, size, items, n, proofs, ck);
    if (rc != ERR_NOTFOUND)
        return rc;
    log_info("%s: no tiles or no checkpoint of %" PRIu64 " records: "
             "reading the whole log",
        __func__, size);
    return prove_records_pass(dir, key, size, items, n, proofs, ck);
}
