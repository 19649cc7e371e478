/*
 * test_store.c - unit tests of common/store (the LMDB wrapper)
 *
 * Runs against a real LMDB environment in a mkdtemp directory: put, get,
 * delete, ERR_NOTFOUND, view lifetime across commits, prefix cursors,
 * read transactions beside a writer, read-only open, and ERR_FULL from a
 * deliberately tiny map.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "tests/harness/test.h"

static char tmpl[] = "/tmp/vigil-test-store-XXXXXX";
static char *root;

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
envdir(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", root, name);
}

static void
test_put_get_del(void)
{
    struct store *st;
    struct store_txn *txn;
    const void *v;
    size_t vlen;
    unsigned dbi;
    uint64_t n;
    char dir[256];

    envdir(dir, sizeof(dir), "basic");
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT(store_txn_is_write(txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    ASSERT_EQ(store_get_view(txn, dbi, "a", 1, &v, &vlen), ERR_NOTFOUND);
    ASSERT_OK(store_put(txn, dbi, "a", 1, "alpha", 5));
    ASSERT_OK(store_put(txn, dbi, "b", 1, "beta", 4));
    ASSERT_OK(store_put(txn, dbi, "e", 1, NULL, 0));
    ASSERT_OK(store_get_view(txn, dbi, "a", 1, &v, &vlen));
    ASSERT_EQ(vlen, 5);
    ASSERT_MEM_EQ(v, "alpha", 5);
    ASSERT_OK(store_get_view(txn, dbi, "e", 1, &v, &vlen));
    ASSERT_EQ(vlen, 0);
    ASSERT_OK(store_put(txn, dbi, "a", 1, "A", 1)); /* replace */
    ASSERT_OK(store_get_view(txn, dbi, "a", 1, &v, &vlen));
    ASSERT_EQ(vlen, 1);
    ASSERT_OK(store_del(txn, dbi, "b", 1));
    ASSERT_EQ(store_del(txn, dbi, "b", 1), ERR_NOTFOUND);
    ASSERT_EQ(store_get_view(txn, dbi, "b", 1, &v, &vlen), ERR_NOTFOUND);
    /* Bad key lengths are refused, not passed to LMDB. */
    ASSERT_EQ(store_get_view(txn, dbi, "", 0, &v, &vlen), ERR_INVAL);
    {
        char big[STORE_MAX_KEY + 1];

        memset(big, 'k', sizeof(big));
        ASSERT_EQ(store_put(txn, dbi, big, sizeof(big), "x", 1), ERR_INVAL);
        ASSERT_OK(store_put(txn, dbi, big, STORE_MAX_KEY, "x", 1));
        ASSERT_OK(store_del(txn, dbi, big, STORE_MAX_KEY));
    }
    ASSERT_OK(store_stat_entries(txn, dbi, &n));
    ASSERT_EQ(n, 2);
    ASSERT_OK(store_txn_commit(txn));

    /* Aborted changes are gone. */
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_put(txn, dbi, "z", 1, "zz", 2));
    store_txn_abort(txn);
    ASSERT_OK(store_txn_begin(st, false, &txn));
    ASSERT(!store_txn_is_write(txn));
    ASSERT_EQ(store_get_view(txn, dbi, "z", 1, &v, &vlen), ERR_NOTFOUND);
    ASSERT_EQ(store_put(txn, dbi, "z", 1, "zz", 2), ERR_INVAL);
    store_txn_abort(txn);
    store_close(st);

    /* Reopen: committed data survived; a missing db is NOTFOUND. */
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, false, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", false, &dbi));
    ASSERT_OK(store_get_view(txn, dbi, "a", 1, &v, &vlen));
    ASSERT_EQ(vlen, 1);
    ASSERT_MEM_EQ(v, "A", 1);
    ASSERT_EQ(store_dbi(st, txn, "nope", false, &dbi), ERR_NOTFOUND);
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
    store_close(NULL);
    store_txn_abort(NULL);
}

/* A reader keeps its snapshot (and its views) while the writer commits. */
static void
test_view_lifetime_and_readers(void)
{
    struct store *st;
    struct store_txn *w, *r;
    const void *v, *v2;
    size_t vlen, vlen2;
    unsigned dbi;
    char dir[256];

    envdir(dir, sizeof(dir), "views");
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &w));
    ASSERT_OK(store_dbi(st, w, "kv", true, &dbi));
    ASSERT_OK(store_put(w, dbi, "k", 1, "old-value", 9));
    ASSERT_OK(store_txn_commit(w));

    ASSERT_OK(store_txn_begin(st, false, &r));
    ASSERT_OK(store_get_view(r, dbi, "k", 1, &v, &vlen));
    /* The writer is not blocked by the open reader. */
    ASSERT_OK(store_txn_begin(st, true, &w));
    ASSERT_OK(store_put(w, dbi, "k", 1, "new", 3));
    ASSERT_OK(store_put(w, dbi, "k2", 2, "x", 1));
    ASSERT_OK(store_txn_commit(w));
    /* The reader's view is still the old snapshot. */
    ASSERT_EQ(vlen, 9);
    ASSERT_MEM_EQ(v, "old-value", 9);
    ASSERT_EQ(store_get_view(r, dbi, "k2", 2, &v2, &vlen2), ERR_NOTFOUND);
    store_txn_abort(r);

    ASSERT_OK(store_txn_begin(st, false, &r));
    ASSERT_OK(store_get_view(r, dbi, "k", 1, &v, &vlen));
    ASSERT_EQ(vlen, 3);
    ASSERT_MEM_EQ(v, "new", 3);
    store_txn_abort(r);
    store_close(st);

    /* Read-only open sees the data and refuses writes. */
    ASSERT_OK(store_open_flags(dir, 1 << 20, 4, STORE_RDONLY, &st));
    ASSERT_EQ(store_txn_begin(st, true, &w), ERR_INVAL);
    ASSERT_OK(store_txn_begin(st, false, &r));
    ASSERT_OK(store_dbi(st, r, "kv", false, &dbi));
    ASSERT_OK(store_get_view(r, dbi, "k2", 2, &v, &vlen));
    store_txn_abort(r);
    store_close(st);
    envdir(dir, sizeof(dir), "missing");
    ASSERT_EQ(
        store_open_flags(dir, 1 << 20, 4, STORE_RDONLY, &st), ERR_NOTFOUND);
}

static void
test_cursor(void)
{
    static const char *const keys[] = { "a:1", "a:2", "a:3", "b:1", "c" };
    struct store *st;
    struct store_txn *txn;
    struct store_cursor *c;
    const void *k, *v;
    size_t klen, vlen, i;
    unsigned dbi;
    char dir[256];
    int n;

    envdir(dir, sizeof(dir), "cursor");
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    for (i = ARRAY_LEN(keys); i-- > 0;)
        ASSERT_OK(store_put(txn, dbi, keys[i], strlen(keys[i]), &i, sizeof(i)));

    /* Whole database, in key order. */
    ASSERT_OK(store_cursor_open(txn, dbi, NULL, 0, false, &c));
    for (i = 0; i < ARRAY_LEN(keys); i++) {
        ASSERT_OK(store_cursor_next(c, &k, &klen, &v, &vlen));
        ASSERT_EQ(klen, strlen(keys[i]));
        ASSERT_MEM_EQ(k, keys[i], klen);
        ASSERT_EQ(vlen, sizeof(size_t));
    }
    ASSERT_EQ(store_cursor_next(c, &k, &klen, &v, &vlen), ERR_NOTFOUND);
    ASSERT_EQ(store_cursor_next(c, &k, &klen, &v, &vlen), ERR_NOTFOUND);
    store_cursor_close(c);

    /* Prefix "a:" gives exactly three. */
    ASSERT_OK(store_cursor_open(txn, dbi, "a:", 2, true, &c));
    n = 0;
    while (store_cursor_next(c, &k, &klen, &v, &vlen) == 0) {
        ASSERT_MEM_EQ(k, "a:", 2);
        n++;
    }
    ASSERT_EQ(n, 3);
    store_cursor_close(c);

    /* Range from "a:3" without prefix: a:3, b:1, c. */
    ASSERT_OK(store_cursor_open(txn, dbi, "a:3", 3, false, &c));
    n = 0;
    while (store_cursor_next(c, &k, &klen, &v, &vlen) == 0)
        n++;
    ASSERT_EQ(n, 3);
    store_cursor_close(c);

    /* A prefix matching nothing. */
    ASSERT_OK(store_cursor_open(txn, dbi, "bb", 2, true, &c));
    ASSERT_EQ(store_cursor_next(c, &k, &klen, &v, &vlen), ERR_NOTFOUND);
    store_cursor_close(c);
    store_cursor_close(NULL);
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
}

/* A tiny map fills up: ERR_FULL, and the store still works afterwards. */
static void
test_map_full(void)
{
    struct store *st;
    struct store_txn *txn;
    unsigned dbi;
    uint8_t val[1000];
    char dir[256], key[32];
    int i, rc = 0;

    envdir(dir, sizeof(dir), "full");
    memset(val, 0xab, sizeof(val));
    ASSERT_OK(store_open(dir, 64 * 1024, 2, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    ASSERT_OK(store_txn_commit(txn));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    for (i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "key-%06d", i);
        rc = store_put(txn, dbi, key, strlen(key), val, sizeof(val));
        if (rc != 0)
            break;
    }
    ASSERT_EQ(rc, ERR_FULL);
    ASSERT(i > 0 && i < 10000);
    store_txn_abort(txn);
    /* More named databases than max_dbs is ERR_FULL too. */
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "second", true, &dbi));
    ASSERT_EQ(store_dbi(st, txn, "third", true, &dbi), ERR_FULL);
    store_txn_abort(txn);
    /* Growing the map makes room. */
    ASSERT_OK(store_set_map_bytes(st, 4 << 20));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", false, &dbi));
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key-%06d", i);
        ASSERT_OK(store_put(txn, dbi, key, strlen(key), val, sizeof(val)));
    }
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
}

int
main(void)
{
    log_init("test_store", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_put_get_del);
    RUN(test_view_lifetime_and_readers);
    RUN(test_cursor);
    RUN(test_map_full);
    rm_rf(root);
    return 0;
}
