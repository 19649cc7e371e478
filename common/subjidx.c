/*
 * subjidx.c - the audit subject index: key codec, writes, read-only lookup
 *
 * The scorer writes entries and the watermark through its overlay
 * transaction (main thread) and reads one subject's entries with
 * subjidx_list() in a read transaction of its own. A subject has one
 * entry per record naming it: a few to a few thousand entries, read with
 * one prefix cursor.
 *
 * Invariants:
 *  - keys are built and parsed only here (subjidx.h, ON-DISK LAYOUT).
 *
 * See also: subjidx.h, store.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/store.h"
#include "common/subjidx.h"
#include "common/xmalloc.h"

void
subjidx_key_encode(const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index,
    uint8_t out[SUBJIDX_KEY_BYTES])
{
    memcpy(out, subject, AUDIT_SUBJECT_BYTES);
    for (unsigned b = 0; b < 8; b++)
        out[AUDIT_SUBJECT_BYTES + b] = (uint8_t)(index >> (56 - 8 * b));
}

int
subjidx_key_decode(const void *k, size_t klen,
    uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t *index)
{
    const uint8_t *kb = k;
    uint64_t v = 0;

    if (klen != SUBJIDX_KEY_BYTES)
        return ERR_CORRUPT;
    if (subject != NULL)
        memcpy(subject, kb, AUDIT_SUBJECT_BYTES);
    for (unsigned b = 0; b < 8; b++)
        v = (v << 8) | kb[AUDIT_SUBJECT_BYTES + b];
    *index = v;
    return 0;
}

int
subjidx_dbi(struct store *st, struct store_txn *txn, bool create, unsigned *dbi)
{
    return store_dbi(st, txn, SUBJIDX_DB, create, dbi);
}

int
subjidx_put(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index)
{
    uint8_t key[SUBJIDX_KEY_BYTES];

    subjidx_key_encode(subject, index, key);
    return store_put(txn, dbi, key, sizeof(key), NULL, 0);
}

/*
 * The value of the bookkeeping key `name` (SUBJIDX_*_KEY) in v[0..*vlen),
 * valid until the transaction ends. Returns 1 when it is there, 0 when
 * it is not, or a negative ERR_* from the store.
 */
static int
meta_get(struct store_txn *txn, unsigned dbi, const char *name, const void **v,
    size_t *vlen)
{
    int rc = store_get_view(txn, dbi, name, strlen(name), v, vlen);

    if (rc == ERR_NOTFOUND)
        return 0;
    return rc != 0 ? rc : 1;
}

int
subjidx_indexed_get(struct store_txn *txn, unsigned dbi, uint64_t *indexed)
{
    const void *v;
    size_t vlen;
    int rc;

    *indexed = 0;
    rc = meta_get(txn, dbi, SUBJIDX_INDEXED_KEY, &v, &vlen);
    if (rc < 0)
        return rc;
    if (rc == 1 && vlen == sizeof(*indexed))
        memcpy(indexed, v, sizeof(*indexed));
    return 0;
}

int
subjidx_indexed_put(struct store_txn *txn, unsigned dbi, uint64_t indexed)
{
    return store_put(txn, dbi, SUBJIDX_INDEXED_KEY, strlen(SUBJIDX_INDEXED_KEY),
        &indexed, sizeof(indexed));
}

int
subjidx_key_id_get(
    struct store_txn *txn, unsigned dbi, char out[PSEUDO_KEY_ID_HEX + 1])
{
    const void *v;
    size_t vlen;
    int rc;

    out[0] = '\0';
    rc = meta_get(txn, dbi, SUBJIDX_KEY_ID_KEY, &v, &vlen);
    if (rc <= 0)
        return rc;
    if (vlen != PSEUDO_KEY_ID_HEX)
        return ERR_CORRUPT;
    memcpy(out, v, PSEUDO_KEY_ID_HEX);
    out[PSEUDO_KEY_ID_HEX] = '\0';
    return 0;
}

int
subjidx_anchor_get(struct store_txn *txn, unsigned dbi, struct audit_anchor *a)
{
    const uint8_t *v;
    const void *vv;
    size_t vlen;
    int rc;

    memset(a, 0, sizeof(*a));
    rc = meta_get(txn, dbi, SUBJIDX_ANCHOR_KEY, &vv, &vlen);
    if (rc <= 0)
        return rc;
    if (vlen != SUBJIDX_ANCHOR_BYTES)
        return ERR_CORRUPT;
    v = vv;
    memcpy(&a->size, v, 8);
    memcpy(a->root, v + 8, MERKLE_HASH_BYTES);
    memcpy(&a->seq, v + 40, 8);
    a->clean = v[48] == 1;
    return 0;
}

int
subjidx_anchor_put(
    struct store_txn *txn, unsigned dbi, const struct audit_anchor *a)
{
    uint8_t v[SUBJIDX_ANCHOR_BYTES];

    memcpy(v, &a->size, 8);
    memcpy(v + 8, a->root, MERKLE_HASH_BYTES);
    memcpy(v + 40, &a->seq, 8);
    v[48] = a->clean ? 1 : 0;
    return store_put(
        txn, dbi, SUBJIDX_ANCHOR_KEY, strlen(SUBJIDX_ANCHOR_KEY), v, sizeof(v));
}

int
subjidx_key_id_put(struct store_txn *txn, unsigned dbi, const char *id)
{
    if (strlen(id) != PSEUDO_KEY_ID_HEX)
        return ERR_INVAL;
    return store_put(txn, dbi, SUBJIDX_KEY_ID_KEY, strlen(SUBJIDX_KEY_ID_KEY),
        id, PSEUDO_KEY_ID_HEX);
}

int
subjidx_del(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index)
{
    uint8_t key[SUBJIDX_KEY_BYTES];
    int rc;

    subjidx_key_encode(subject, index, key);
    rc = store_del(txn, dbi, key, sizeof(key));
    return rc == ERR_NOTFOUND ? 0 : rc;
}

int
subjidx_list(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t **indexes, size_t *n)
{
    struct store_cursor *cur = NULL;
    uint64_t *out = NULL;
    size_t count = 0, cap = 0;
    int rc;

    *indexes = NULL;
    *n = 0;
    rc = store_cursor_open(txn, dbi, subject, AUDIT_SUBJECT_BYTES, true, &cur);
    if (rc != 0)
        return rc;
    for (;;) {
        const void *k, *v;
        size_t klen, vlen;
        uint64_t index;

        rc = store_cursor_next(cur, &k, &klen, &v, &vlen);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            break;
        rc = subjidx_key_decode(k, klen, NULL, &index);
        if (rc != 0)
            break;
        /* LMDB's order is the keys' byte order: big-endian indexes come
         * out ascending, and a repeat would be a broken database. */
        if (count > 0 && index <= out[count - 1]) {
            rc = ERR_CORRUPT;
            break;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 64;
            out = xreallocarray(out, cap, sizeof(*out));
        }
        out[count++] = index;
    }
    store_cursor_close(cur);
    if (rc != 0) {
        free(out);
        return rc;
    }
    *indexes = out;
    *n = count;
    return 0;
}
