/*
 * test_subjidx.c - unit tests of common/subjidx: the audit subject
 *                  index's key layout, writes and read-only lookup
 *
 * Works in a fresh mkdtemp() data directory: writes entries the way the
 * scorer does (a write txn in DATA_DIR/history), then reads them back
 * with subjidx_list() in a read transaction and deletes some, as the
 * scorer's erasure does. The key bytes are checked against the layout
 * spelled out in subjidx.h, not against the encoder.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "common/subjidx.h"
#include "tests/harness/test.h"

static char root[] = "/tmp/vigil-test-subjidx-XXXXXX";

static void
rm_rf(const char *dir)
{
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

static void
subject(uint8_t out[AUDIT_SUBJECT_BYTES], uint8_t fill)
{
    memset(out, fill, AUDIT_SUBJECT_BYTES);
}

/* Open DATA_DIR/history read-write and begin a write txn with the index
 * database created, as the scorer does at start-up. */
static void
open_rw(const char *data_dir, struct store **st, struct store_txn **txn,
    unsigned *dbi)
{
    char path[256];

    ASSERT(mkdir(data_dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/%s", data_dir, SUBJIDX_ENV_DIR);
    ASSERT_OK(store_open(path, 1 << 20, 4, st));
    ASSERT_OK(store_txn_begin(*st, true, txn));
    ASSERT_OK(subjidx_dbi(*st, *txn, true, dbi));
}

/* List `subject`'s entries in a read txn of DATA_DIR/history. */
static int
list(const char *data_dir, const uint8_t *subject, uint64_t **idx, size_t *n)
{
    struct store *st;
    struct store_txn *txn;
    char path[256];
    unsigned dbi;
    int rc;

    snprintf(path, sizeof(path), "%s/%s", data_dir, SUBJIDX_ENV_DIR);
    ASSERT_OK(store_open(path, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, false, &txn));
    rc = subjidx_dbi(st, txn, false, &dbi);
    if (rc == 0)
        rc = subjidx_list(txn, dbi, subject, idx, n);
    store_txn_abort(txn);
    store_close(st);
    return rc;
}

static void
test_key_layout(void)
{
    /* Epoch 0x03040506 (index >> 16), the subject, then the low 16 bits. */
    static const uint8_t want[SUBJIDX_KEY_BYTES] = { 0x03, 0x04, 0x05, 0x06,
        0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
        0xa5, 0xa5, 0xa5, 0xa5, 0x07, 0x08 };
    /* The old layout, still read: subject, then the u64 index. */
    static const uint8_t old[SUBJIDX_V1_KEY_BYTES] = { 0xa5, 0xa5, 0xa5, 0xa5,
        0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    uint8_t s[AUDIT_SUBJECT_BYTES], t[AUDIT_SUBJECT_BYTES];
    uint8_t back[AUDIT_SUBJECT_BYTES], key[SUBJIDX_KEY_BYTES];
    uint64_t index = 0;

    ASSERT_EQ(SUBJIDX_KEY_BYTES, 22);
    ASSERT_EQ(SUBJIDX_V1_KEY_BYTES, 24);
    ASSERT_EQ(SUBJIDX_MAX_INDEX, (1ull << 48) - 1);
    ASSERT_STR_EQ(SUBJIDX_DB, "audit_subject");
    ASSERT_STR_EQ(SUBJIDX_ENV_DIR, "history");
    subject(s, 0xa5);
    subjidx_key_encode(s, 0x0000030405060708ull, key);
    ASSERT_MEM_EQ(key, want, sizeof(want));
    ASSERT_OK(subjidx_key_decode(key, sizeof(key), back, &index));
    ASSERT_MEM_EQ(back, s, sizeof(s));
    ASSERT_EQ(index, 0x0000030405060708ull);
    ASSERT_OK(subjidx_key_decode(key, sizeof(key), NULL, &index));
    memset(back, 0, sizeof(back));
    ASSERT_OK(subjidx_key_decode(old, sizeof(old), back, &index));
    ASSERT_MEM_EQ(back, s, sizeof(s));
    ASSERT_EQ(index, 0x0102030405060708ull);
    ASSERT_EQ(
        subjidx_key_decode(key, sizeof(key) - 1, NULL, &index), ERR_CORRUPT);
    ASSERT_EQ(subjidx_key_decode(old, sizeof(old) + 0 - 1, NULL, &index),
        ERR_CORRUPT);
    ASSERT_EQ(subjidx_key_decode(key, 7, NULL, &index), ERR_CORRUPT);
    /* Big-endian: byte order is index order; and the epoch first, so
     * that every subject's entries of one epoch sort before any entry of
     * the next (a commit's records land in the newest epoch's pages). */
    {
        uint8_t k1[SUBJIDX_KEY_BYTES], k2[SUBJIDX_KEY_BYTES];

        subjidx_key_encode(s, 255, k1);
        subjidx_key_encode(s, 256, k2);
        ASSERT(memcmp(k1, k2, sizeof(k1)) < 0);
        subject(t, 0x01);
        subjidx_key_encode(s, 65535, k1); /* 0xa5.. late in epoch 0 */
        subjidx_key_encode(t, 65536, k2); /* 0x01.. first of epoch 1 */
        ASSERT(memcmp(k1, k2, sizeof(k1)) < 0);
        subject(t, 0xff);
        subjidx_key_encode(t, 0, k1);
        subjidx_key_encode(s, 65536, k2);
        ASSERT(memcmp(k1, k2, sizeof(k1)) < 0);
    }
}

static void
test_put_and_read(void)
{
    static const uint64_t a_idx[] = { 0, 7, 255, 256, 70000, 1ull << 40 };
    struct store *st;
    struct store_txn *txn;
    uint8_t a[AUDIT_SUBJECT_BYTES], b[AUDIT_SUBJECT_BYTES];
    uint8_t c[AUDIT_SUBJECT_BYTES];
    uint64_t *idx = NULL, wm = 99;
    char dir[256];
    unsigned dbi;
    size_t n = 99;

    snprintf(dir, sizeof(dir), "%s/data", root);
    subject(a, 0x11);
    subject(b, 0x12);
    subject(c, 0x13);
    open_rw(dir, &st, &txn, &dbi);
    ASSERT_OK(subjidx_indexed_get(txn, dbi, &wm));
    ASSERT_EQ(wm, 0);
    /* Out of order, repeated, and interleaved with another subject. */
    for (size_t i = ARRAY_LEN(a_idx); i-- > 0;) {
        ASSERT_OK(subjidx_put(txn, dbi, a, a_idx[i]));
        ASSERT_OK(subjidx_put(txn, dbi, b, a_idx[i] + 1));
    }
    ASSERT_OK(subjidx_put(txn, dbi, a, 7));
    /* Past the largest index (2^48 - 1): refused. */
    ASSERT_EQ(subjidx_put(txn, dbi, a, 1ull << 48), ERR_INVAL);
    /* The index never leads the watermark: it covers 2^40 + 1. */
    ASSERT_OK(subjidx_indexed_put(txn, dbi, (1ull << 40) + 2));
    ASSERT_OK(subjidx_indexed_get(txn, dbi, &wm));
    ASSERT_EQ(wm, (1ull << 40) + 2);
    /* The watermark's bytes: "indexed" -> the host-order uint64. */
    {
        const void *v;
        size_t vlen;
        uint64_t raw;

        ASSERT_OK(store_get_view(txn, dbi, "indexed", 7, &v, &vlen));
        ASSERT_EQ(vlen, 8);
        memcpy(&raw, v, sizeof(raw));
        ASSERT_EQ(raw, (1ull << 40) + 2);
    }
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);

    ASSERT_OK(list(dir, a, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(a_idx));
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(idx[i], a_idx[i]);
    free(idx);
    ASSERT_OK(list(dir, b, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(a_idx));
    ASSERT_EQ(idx[0], 1);
    free(idx);
    /* A subject with no entry: success, nothing. */
    idx = (uint64_t *)&wm;
    ASSERT_OK(list(dir, c, &idx, &n));
    ASSERT_EQ(n, 0);
    ASSERT(idx == NULL);

    /* Deleting entries (erasure): gone, the rest and b untouched; a
     * missing one is no error. */
    {
        char path[300];

        snprintf(path, sizeof(path), "%s/%s", dir, SUBJIDX_ENV_DIR);
        ASSERT_OK(store_open(path, 1 << 20, 4, &st));
        ASSERT_OK(store_txn_begin(st, true, &txn));
        ASSERT_OK(subjidx_dbi(st, txn, false, &dbi));
        ASSERT_OK(subjidx_del(txn, dbi, a, 7));
        ASSERT_OK(subjidx_del(txn, dbi, a, 7));
        ASSERT_OK(subjidx_del(txn, dbi, a, 1ull << 40));
        ASSERT_OK(subjidx_del(txn, dbi, c, 1));
        ASSERT_OK(store_txn_commit(txn));
        store_close(st);
    }
    ASSERT_OK(list(dir, a, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(a_idx) - 2);
    ASSERT_EQ(idx[0], 0);
    ASSERT_EQ(idx[1], 255);
    free(idx);
    ASSERT_OK(list(dir, b, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(a_idx));
    free(idx);
}

static void
test_missing_and_corrupt(void)
{
    struct store *st;
    struct store_txn *txn;
    uint8_t a[AUDIT_SUBJECT_BYTES], key[SUBJIDX_V1_KEY_BYTES + 1];
    uint64_t *idx = NULL;
    char dir[256], path[300];
    unsigned dbi;
    size_t n = 0;

    subject(a, 0x21);
    /* An environment without the index database. */
    snprintf(dir, sizeof(dir), "%s/nodb", root);
    ASSERT(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof(path), "%s/%s", dir, SUBJIDX_ENV_DIR);
    ASSERT_OK(store_open(path, 1 << 20, 4, &st));
    store_close(st);
    ASSERT_EQ(list(dir, a, &idx, &n), ERR_NOTFOUND);
    ASSERT(idx == NULL);
    /* A key of the wrong length under the subject's prefix of an epoch
     * (23 bytes), and one under its old prefix (25 bytes). */
    for (int which = 0; which < 2; which++) {
        snprintf(dir, sizeof(dir), "%s/corrupt%d", root, which);
        open_rw(dir, &st, &txn, &dbi);
        ASSERT_OK(subjidx_put(txn, dbi, a, 5));
        ASSERT_OK(subjidx_indexed_put(txn, dbi, 7));
        memset(key, 0, sizeof(key));
        if (which == 0) {
            subjidx_key_encode(a, 6, key);
            ASSERT_OK(store_put(txn, dbi, key, SUBJIDX_KEY_BYTES + 1, NULL, 0));
        } else {
            memcpy(key, a, AUDIT_SUBJECT_BYTES);
            key[AUDIT_SUBJECT_BYTES + 7] = 6;
            ASSERT_OK(
                store_put(txn, dbi, key, SUBJIDX_V1_KEY_BYTES + 1, NULL, 0));
        }
        ASSERT_OK(store_txn_commit(txn));
        store_close(st);
        n = 5;
        ASSERT_EQ(list(dir, a, &idx, &n), ERR_CORRUPT);
        ASSERT(idx == NULL);
        ASSERT_EQ(n, 0);
    }
}

/*
 * An index written before 2026-12-05 (subject || u64 index keys) keeps
 * working after the upgrade: its entries are listed with the new ones in
 * one ascending list, a record with an entry of each layout (indexed
 * again) once; erasure deletes either; entries of other subjects, and
 * an empty epoch between two, change nothing. One seek an epoch: a
 * subject with entries in epochs 0, 1, 2 and 5 of 7 is read whole.
 */
static void
test_old_layout(void)
{
    static const uint64_t old_a[] = { 3, 9, 70000 };
    static const uint64_t new_a[] = { 9, 70001, 140000, 340000 };
    static const uint64_t want[] = { 3, 9, 70000, 70001, 140000, 340000 };
    uint8_t a[AUDIT_SUBJECT_BYTES], b[AUDIT_SUBJECT_BYTES];
    uint8_t key[SUBJIDX_V1_KEY_BYTES];
    struct store *st;
    struct store_txn *txn;
    uint64_t *idx = NULL;
    char dir[256], path[300];
    unsigned dbi;
    size_t n = 0;

    subject(a, 0x31);
    subject(b, 0x32);
    snprintf(dir, sizeof(dir), "%s/upgrade", root);
    open_rw(dir, &st, &txn, &dbi);
    for (size_t i = 0; i < ARRAY_LEN(old_a); i++) {
        /* The old layout, byte by byte (subjidx.h). */
        memcpy(key, a, AUDIT_SUBJECT_BYTES);
        for (unsigned k = 0; k < 8; k++)
            key[AUDIT_SUBJECT_BYTES + k] = (uint8_t)(old_a[i] >> (56 - 8 * k));
        ASSERT_OK(store_put(txn, dbi, key, sizeof(key), NULL, 0));
        memcpy(key, b, AUDIT_SUBJECT_BYTES); /* b's, at the same indexes */
        ASSERT_OK(store_put(txn, dbi, key, sizeof(key), NULL, 0));
    }
    for (size_t i = 0; i < ARRAY_LEN(new_a); i++) {
        ASSERT_OK(subjidx_put(txn, dbi, a, new_a[i]));
        ASSERT_OK(subjidx_put(txn, dbi, b, new_a[i] + 1));
    }
    ASSERT_OK(subjidx_indexed_put(txn, dbi, 400000)); /* epochs 0..6 */
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);

    ASSERT_OK(list(dir, a, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(want));
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(idx[i], want[i]);
    free(idx);
    ASSERT_OK(list(dir, b, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(old_a) + ARRAY_LEN(new_a));
    ASSERT_EQ(idx[0], 3);
    ASSERT_EQ(idx[n - 1], 340001);
    free(idx);

    /* Erasure: 9 had an entry of each layout, 3 an old one only, 140000
     * a new one only. */
    snprintf(path, sizeof(path), "%s/%s", dir, SUBJIDX_ENV_DIR);
    ASSERT_OK(store_open(path, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(subjidx_dbi(st, txn, false, &dbi));
    ASSERT_OK(subjidx_del(txn, dbi, a, 9));
    ASSERT_OK(subjidx_del(txn, dbi, a, 3));
    ASSERT_OK(subjidx_del(txn, dbi, a, 140000));
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
    ASSERT_OK(list(dir, a, &idx, &n));
    ASSERT_EQ(n, 3);
    ASSERT_EQ(idx[0], 70000);
    ASSERT_EQ(idx[1], 70001);
    ASSERT_EQ(idx[2], 340000);
    free(idx);
    ASSERT_OK(list(dir, b, &idx, &n));
    ASSERT_EQ(n, ARRAY_LEN(old_a) + ARRAY_LEN(new_a));
    free(idx);
}

int
main(void)
{
    log_init("test_subjidx", true);
    ASSERT(mkdtemp(root) != NULL);
    RUN(test_key_layout);
    RUN(test_put_and_read);
    RUN(test_missing_and_corrupt);
    RUN(test_old_layout);
    rm_rf(root);
    return 0;
}
