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
    static const uint8_t want[SUBJIDX_KEY_BYTES] = { 0xa5, 0xa5, 0xa5, 0xa5,
        0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    uint8_t s[AUDIT_SUBJECT_BYTES], back[AUDIT_SUBJECT_BYTES];
    uint8_t key[SUBJIDX_KEY_BYTES];
    uint64_t index = 0;

    ASSERT_EQ(SUBJIDX_KEY_BYTES, 24);
    ASSERT_STR_EQ(SUBJIDX_DB, "audit_subject");
    ASSERT_STR_EQ(SUBJIDX_ENV_DIR, "history");
    subject(s, 0xa5);
    subjidx_key_encode(s, 0x0102030405060708ull, key);
    ASSERT_MEM_EQ(key, want, sizeof(want));
    ASSERT_OK(subjidx_key_decode(key, sizeof(key), back, &index));
    ASSERT_MEM_EQ(back, s, sizeof(s));
    ASSERT_EQ(index, 0x0102030405060708ull);
    ASSERT_OK(subjidx_key_decode(key, sizeof(key), NULL, &index));
    ASSERT_EQ(
        subjidx_key_decode(key, sizeof(key) - 1, NULL, &index), ERR_CORRUPT);
    ASSERT_EQ(subjidx_key_decode(key, 7, NULL, &index), ERR_CORRUPT);
    /* Big-endian: byte order is index order. */
    {
        uint8_t k1[SUBJIDX_KEY_BYTES], k2[SUBJIDX_KEY_BYTES];

        subjidx_key_encode(s, 255, k1);
        subjidx_key_encode(s, 256, k2);
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
    ASSERT_OK(subjidx_indexed_put(txn, dbi, 70001));
    ASSERT_OK(subjidx_indexed_get(txn, dbi, &wm));
    ASSERT_EQ(wm, 70001);
    /* The watermark's bytes: "indexed" -> the host-order uint64. */
    {
        const void *v;
        size_t vlen;
        uint64_t raw;

        ASSERT_OK(store_get_view(txn, dbi, "indexed", 7, &v, &vlen));
        ASSERT_EQ(vlen, 8);
        memcpy(&raw, v, sizeof(raw));
        ASSERT_EQ(raw, 70001);
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
    uint8_t a[AUDIT_SUBJECT_BYTES], key[SUBJIDX_KEY_BYTES + 1];
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
    /* A key of the wrong length under the subject's prefix. */
    snprintf(dir, sizeof(dir), "%s/corrupt", root);
    open_rw(dir, &st, &txn, &dbi);
    ASSERT_OK(subjidx_put(txn, dbi, a, 5));
    subjidx_key_encode(a, 6, key);
    key[SUBJIDX_KEY_BYTES] = 0;
    ASSERT_OK(store_put(txn, dbi, key, sizeof(key), NULL, 0));
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
    n = 5;
    ASSERT_EQ(list(dir, a, &idx, &n), ERR_CORRUPT);
    ASSERT(idx == NULL);
    ASSERT_EQ(n, 0);
}

int
main(void)
{
    log_init("test_subjidx", true);
    ASSERT(mkdtemp(root) != NULL);
    RUN(test_key_layout);
    RUN(test_put_and_read);
    RUN(test_missing_and_corrupt);
    rm_rf(root);
    return 0;
}
