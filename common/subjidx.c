/*
 * subjidx.c - the audit subject index: key codec, writes, read-only lookup
 *
 * The scorer writes entries and the watermark through its overlay
 * transaction (main thread) and reads one subject's entries with
 * subjidx_list() in a read transaction of its own. A subject has one
 * entry per record naming it: a few to a few thousand entries, read with
 * a seek per epoch (65,536 records) and one prefix cursor for the
 * entries of the old layout (subjidx.h).
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

#include "common/bytes.h"
#include "common/err.h"
#include "common/keysort.h"
#include "common/store.h"
#include "common/subjidx.h"
#include "common/xmalloc.h"

#define EPOCH_MASK ((1u << SUBJIDX_EPOCH_BITS) - 1)

void
subjidx_key_encode(const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index,
    uint8_t out[SUBJIDX_KEY_BYTES])
{
    bytes_put_be32(out, (uint32_t)(index >> SUBJIDX_EPOCH_BITS));
    memcpy(out + 4, subject, AUDIT_SUBJECT_BYTES);
    out[4 + AUDIT_SUBJECT_BYTES] = (uint8_t)((index & EPOCH_MASK) >> 8);
    out[5 + AUDIT_SUBJECT_BYTES] = (uint8_t)(index & 0xff);
}

/* The key of an old entry (subjidx.h: subject, u64 big-endian index). */
static void
v1_key_encode(const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index,
    uint8_t out[SUBJIDX_V1_KEY_BYTES])
{
    memcpy(out, subject, AUDIT_SUBJECT_BYTES);
    bytes_put_be64(out + AUDIT_SUBJECT_BYTES, index);
}

int
subjidx_key_decode(const void *k, size_t klen,
    uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t *index)
{
    const uint8_t *kb = k;

    if (klen == SUBJIDX_KEY_BYTES) {
        if (subject != NULL)
            memcpy(subject, kb + 4, AUDIT_SUBJECT_BYTES);
        *index = (uint64_t)bytes_get_be32(kb) << SUBJIDX_EPOCH_BITS |
            (uint64_t)kb[4 + AUDIT_SUBJECT_BYTES] << 8 |
            kb[5 + AUDIT_SUBJECT_BYTES];
        return 0;
    }
    if (klen != SUBJIDX_V1_KEY_BYTES)
        return ERR_CORRUPT;
    if (subject != NULL)
        memcpy(subject, kb, AUDIT_SUBJECT_BYTES);
    *index = bytes_get_be64(kb + AUDIT_SUBJECT_BYTES);
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

    if (index > SUBJIDX_MAX_INDEX)
        return ERR_INVAL;

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
    uint8_t key[SUBJIDX_KEY_BYTES], v1[SUBJIDX_V1_KEY_BYTES];
    int rc;

    if (index <= SUBJIDX_MAX_INDEX) {
        subjidx_key_encode(subject, index, key);
        rc = store_del(txn, dbi, key, sizeof(key));
        if (rc != 0 && rc != ERR_NOTFOUND)
            return rc;
    }
    v1_key_encode(subject, index, v1);
    rc = store_del(txn, dbi, v1, sizeof(v1));
    return rc == ERR_NOTFOUND ? 0 : rc;
}

/*
 * Append `index` to out[0..*count) (grown as needed). LMDB's order is the
 * keys' byte order: big-endian indexes come out ascending, so one not
 * above the last taken since out[first] is a broken database
 * (ERR_CORRUPT, nothing appended).
 */
static int
take(uint64_t **out, size_t *count, size_t *cap, size_t first, uint64_t index)
{
    if (*count > first && index <= (*out)[*count - 1])
        return ERR_CORRUPT;
    if (*count == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *out = xreallocarray(*out, *cap, sizeof(**out));
    }
    (*out)[(*count)++] = index;
    return 0;
}

/* The next key of `cur`: 1 (in *k, *klen), 0 at the end, or an ERR_*. */
static int
next_key(struct store_cursor *cur, const void **k, size_t *klen)
{
    const void *v;
    size_t vlen;
    int rc = store_cursor_next(cur, k, klen, &v, &vlen);

    return rc == 0 ? 1 : rc == ERR_NOTFOUND ? 0 : rc;
}

/*
 * The old entries of `subject` (one prefix cursor), ascending, appended
 * to `out`. A key of the new layout may share an old entry's first 16
 * bytes (its epoch and the start of another subject): skipped.
 */
static int
list_v1(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t **out, size_t *count,
    size_t *cap)
{
    struct store_cursor *cur = NULL;
    size_t first = *count, klen;
    const void *k;
    int rc;

    rc = store_cursor_open(txn, dbi, subject, AUDIT_SUBJECT_BYTES, true, &cur);
    if (rc != 0)
        return rc;
    while ((rc = next_key(cur, &k, &klen)) > 0) {
        uint64_t index;

        if (klen == SUBJIDX_KEY_BYTES)
            continue;
        rc = subjidx_key_decode(k, klen, NULL, &index);
        if (rc == 0)
            rc = take(out, count, cap, first, index);
        if (rc != 0)
            break;
    }
    store_cursor_close(cur);
    return rc;
}

/*
 * The entries of `subject` in epochs 0..last, ascending, appended to
 * `out`: a seek to (epoch, subject) each, where the key found there
 * tells the next epoch worth a seek (an epoch with no key at all is
 * skipped).
 */
static int
list_epochs(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t last, uint64_t **out,
    size_t *count, size_t *cap)
{
    uint8_t start[SUBJIDX_KEY_BYTES];
    size_t first = *count;
    uint64_t e = 0;
    int rc = 0;

    while (rc == 0 && e <= last) {
        struct store_cursor *cur = NULL;
        uint64_t next = e + 1;

        subjidx_key_encode(subject, e << SUBJIDX_EPOCH_BITS, start);
        rc = store_cursor_open(
            txn, dbi, start, 4 + AUDIT_SUBJECT_BYTES, false, &cur);
        while (rc == 0) {
            const void *k;
            size_t klen;
            uint64_t index;

            rc = next_key(cur, &k, &klen);
            if (rc <= 0) {
                if (rc == 0)
                    next = last + 1; /* no key past the seek: done */
                break;
            }
            rc = 0;
            if (klen < 4 + AUDIT_SUBJECT_BYTES ||
                memcmp(k, start, 4 + AUDIT_SUBJECT_BYTES) != 0) {
                /* Past this subject's records of epoch e: nothing lies
                 * between the seek and this key, so no epoch below the
                 * key's first four bytes holds a key. */
                uint64_t ke = klen >= 4 ? bytes_get_be32(k) : 0;

                if (ke > e)
                    next = ke;
                break;
            }
            if (klen == SUBJIDX_V1_KEY_BYTES)
                continue; /* an old entry of another subject */
            if (klen != SUBJIDX_KEY_BYTES) {
                rc = ERR_CORRUPT;
                break;
            }
            rc = subjidx_key_decode(k, klen, NULL, &index);
            if (rc == 0)
                rc = take(out, count, cap, first, index);
        }
        if (cur != NULL)
            store_cursor_close(cur);
        e = next;
    }
    return rc;
}

int
subjidx_list(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t **indexes, size_t *n)
{
    uint64_t *out = NULL, indexed = 0;
    size_t count = 0, cap = 0, v1 = 0;
    int rc;

    *indexes = NULL;
    *n = 0;
    rc = list_v1(txn, dbi, subject, &out, &count, &cap);
    v1 = count;
    if (rc == 0)
        rc = subjidx_indexed_get(txn, dbi, &indexed);
    if (rc == 0 && indexed > 0)
        rc = list_epochs(txn, dbi, subject,
            (indexed - 1 > SUBJIDX_MAX_INDEX ? SUBJIDX_MAX_INDEX :
                                               indexed - 1) >>
                SUBJIDX_EPOCH_BITS,
            &out, &count, &cap);
    if (rc != 0) {
        free(out);
        return rc;
    }
    /* Both layouts: one ascending list, each record once (a record
     * indexed again after an upgrade has an entry of each). */
    if (v1 > 0 && count > v1) {
        size_t w = 0;

        qsort(out, count, sizeof(*out), keysort_u64_cmp);
        for (size_t i = 0; i < count; i++)
            if (w == 0 || out[i] != out[w - 1])
                out[w++] = out[i];
        count = w;
    }
    if (count == 0) {
        free(out);
        out = NULL;
    }
    *indexes = out;
    *n = count;
    return 0;
}
