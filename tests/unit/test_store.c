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
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/*
 * Replace data.mdb's newer meta page by the older one (keeping its page
 * number): what a power cut leaves when the newer meta write, unsynced
 * (STORE_LAZY_META), never reached the disk. Layout: a 16-byte page
 * header, then MDB_meta (magic, version, address, mapsize, two 48-byte
 * MDB_db of which the first's md_pad is the page size, last_pg, txnid).
 */
static void
lose_newer_meta(const char *dir)
{
    char path[300];
    uint8_t p0[65536], p1[65536];
    uint32_t psize;
    uint64_t t0, t1;
    FILE *f;

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    f = fopen(path, "r+b");
    ASSERT(f != NULL);
    ASSERT_EQ(fread(p0, 1, 64, f), 64u);
    memcpy(&psize, p0 + 16 + 24, 4);
    ASSERT(psize >= 4096 && psize <= sizeof(p0));
    ASSERT_EQ(fseek(f, 0, SEEK_SET), 0);
    ASSERT_EQ(fread(p0, 1, psize, f), psize);
    ASSERT_EQ(fread(p1, 1, psize, f), psize);
    memcpy(&t0, p0 + 144, 8);
    memcpy(&t1, p1 + 144, 8);
    ASSERT(t0 != t1);
    if (t1 > t0) {
        ASSERT_EQ(fseek(f, (long)psize + 8, SEEK_SET), 0);
        ASSERT_EQ(fwrite(p0 + 8, 1, psize - 8, f), psize - 8);
    } else {
        ASSERT_EQ(fseek(f, 8, SEEK_SET), 0);
        ASSERT_EQ(fwrite(p1 + 8, 1, psize - 8, f), psize - 8);
    }
    ASSERT_EQ(fclose(f), 0);
}

/* The "kv" database of a reopened environment. */
static unsigned
kv_dbi(struct store *st)
{
    struct store_txn *txn;
    unsigned dbi;

    ASSERT_OK(store_txn_begin(st, false, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", false, &dbi));
    ASSERT_OK(store_txn_commit(txn)); /* keeps the handle */
    return dbi;
}

/* One overlay generation holding key k, committed (lazily). */
static void
flush_one(struct store_overlay *ov, unsigned dbi, const char *k)
{
    struct store_txn *otxn = store_overlay_txn(ov);

    ASSERT_OK(store_put(otxn, dbi, k, strlen(k), "v", 1));
    ASSERT_OK(store_overlay_freeze(ov));
    ASSERT_OK(store_overlay_flush(ov));
    ASSERT_OK(store_overlay_settle(ov));
}

static bool
has_key(const char *dir, const char *k)
{
    struct store *st;
    struct store_txn *txn;
    const void *v;
    unsigned dbi;
    size_t vlen;
    int rc;

    ASSERT_OK(store_open_flags(dir, 1 << 24, 4, STORE_LAZY_META, &st));
    ASSERT_OK(store_txn_begin(st, false, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", false, &dbi));
    rc = store_get_view(txn, dbi, k, strlen(k), &v, &vlen);
    store_txn_abort(txn);
    store_close(st);
    return rc == 0;
}

/*
 * STORE_LAZY_META: an overlay flush's commit can be undone by a power
 * cut (its meta page unsynced) but never more than that one, and the
 * next commit makes it durable; direct transactions and store_sync()
 * are durable at once.
 */
static void
test_lazy_meta(void)
{
    struct store *st;
    struct store_txn *txn;
    struct store_overlay *ov;
    unsigned dbi;
    char dir[256];

    envdir(dir, sizeof(dir), "lazy");
    ASSERT_EQ(store_open_flags(dir, 1 << 24, 4, 1u << 7, &st), ERR_INVAL);
    ASSERT_OK(store_open_flags(dir, 1 << 24, 4, STORE_LAZY_META, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    ASSERT_OK(store_put(txn, dbi, "direct", 6, "d", 1));
    ASSERT_OK(store_txn_commit(txn)); /* synced */
    ASSERT_OK(store_overlay_open(st, &ov));
    flush_one(ov, dbi, "gen1"); /* lazy: its meta not synced */
    store_overlay_close(ov);
    store_close(st);
    lose_newer_meta(dir);
    ASSERT(has_key(dir, "direct"));
    ASSERT(!has_key(dir, "gen1")); /* undone, the rest intact */

    ASSERT_OK(store_open_flags(dir, 1 << 24, 4, STORE_LAZY_META, &st));
    dbi = kv_dbi(st);
    ASSERT_OK(store_overlay_open(st, &ov));
    flush_one(ov, dbi, "gen2");
    flush_one(ov, dbi, "gen3"); /* its data sync made gen2 durable */
    store_overlay_close(ov);
    store_close(st);
    lose_newer_meta(dir);
    ASSERT(has_key(dir, "gen2"));
    ASSERT(!has_key(dir, "gen3"));

    ASSERT_OK(store_open_flags(dir, 1 << 24, 4, STORE_LAZY_META, &st));
    dbi = kv_dbi(st);
    ASSERT_OK(store_overlay_open(st, &ov));
    flush_one(ov, dbi, "gen4");
    ASSERT_OK(store_sync(st)); /* durable now */
    store_overlay_close(ov);
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_put(txn, dbi, "direct2", 7, "d", 1));
    ASSERT_OK(store_txn_commit(txn));
    store_close(st);
    ASSERT(has_key(dir, "gen4"));
    ASSERT(has_key(dir, "direct2"));
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

/* Read key `k` straight from LMDB (a fresh read txn), into `out`. */
static int
committed_get(
    struct store *st, unsigned dbi, const char *k, char *out, size_t outlen)
{
    struct store_txn *txn;
    const void *v;
    size_t vlen;
    int rc;

    ASSERT_OK(store_txn_begin(st, false, &txn));
    rc = store_get_view(txn, dbi, k, strlen(k), &v, &vlen);
    if (rc == 0) {
        ASSERT(vlen < outlen);
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
    store_txn_abort(txn);
    return rc;
}

/* Read key `k` through the overlay's txn into `out`. */
static int
overlay_get(struct store_txn *otxn, unsigned dbi, const char *k, char *out,
    size_t outlen)
{
    const void *v;
    size_t vlen;
    int rc = store_get_view(otxn, dbi, k, strlen(k), &v, &vlen);

    if (rc == 0) {
        ASSERT(vlen < outlen);
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
    return rc;
}

/* Writes stay in memory until freeze + flush + settle; reads layer. */
static void
test_overlay_layers(void)
{
    struct store *st;
    struct store_txn *txn, *otxn;
    struct store_overlay *ov;
    struct store_cursor *cur;
    unsigned dbi;
    char dir[256], val[64];

    envdir(dir, sizeof(dir), "overlay");
    ASSERT_OK(store_open(dir, 1 << 24, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    ASSERT_OK(store_put(txn, dbi, "old", 3, "lmdb", 4));
    ASSERT_OK(store_put(txn, dbi, "gone", 4, "lmdb", 4));
    ASSERT_OK(store_txn_commit(txn));

    ASSERT_OK(store_overlay_open(st, &ov));
    otxn = store_overlay_txn(ov);
    ASSERT(store_txn_is_write(otxn));
    ASSERT_EQ(store_txn_commit(otxn), ERR_INVAL);
    ASSERT_EQ(store_cursor_open(otxn, dbi, NULL, 0, false, &cur), ERR_INVAL);
    ASSERT_OK(overlay_get(otxn, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "lmdb");

    /* Generation 1: an overwrite, a new key, a delete. */
    ASSERT_OK(store_put(otxn, dbi, "old", 3, "gen1", 4));
    ASSERT_OK(store_put(otxn, dbi, "new", 3, "gen1", 4));
    ASSERT_OK(store_del(otxn, dbi, "gone", 4));
    ASSERT_EQ(store_del(otxn, dbi, "never", 5), ERR_NOTFOUND);
    ASSERT_EQ(store_overlay_entries(ov), 3);
    ASSERT_OK(overlay_get(otxn, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1");
    ASSERT_EQ(overlay_get(otxn, dbi, "gone", val, sizeof(val)), ERR_NOTFOUND);
    ASSERT_OK(committed_get(st, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "lmdb"); /* nothing reached LMDB yet */

    /* Freeze it; generation 2 overrides it on reads. */
    ASSERT_OK(store_overlay_freeze(ov));
    ASSERT(store_overlay_has_frozen(ov));
    ASSERT_EQ(store_overlay_freeze(ov), ERR_AGAIN);
    ASSERT_OK(store_put(otxn, dbi, "new", 3, "gen2-longer-value", 17));
    ASSERT_OK(overlay_get(otxn, dbi, "new", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen2-longer-value");
    ASSERT_OK(overlay_get(otxn, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1"); /* from the frozen generation */

    ASSERT_OK(store_overlay_flush(ov));
    ASSERT_OK(committed_get(st, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1");
    ASSERT_OK(committed_get(st, dbi, "new", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1"); /* generation 2 is not flushed */
    ASSERT_EQ(committed_get(st, dbi, "gone", val, sizeof(val)), ERR_NOTFOUND);
    ASSERT_OK(store_overlay_settle(ov));
    ASSERT(!store_overlay_has_frozen(ov));
    ASSERT_OK(overlay_get(otxn, dbi, "old", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1"); /* now from the renewed snapshot */

    /* Discard rolls generation 2 back to what LMDB holds. */
    ASSERT_OK(store_overlay_discard(ov));
    ASSERT_OK(overlay_get(otxn, dbi, "new", val, sizeof(val)));
    ASSERT_STR_EQ(val, "gen1");
    store_overlay_close(ov);
    store_close(st);
}

/*
 * Random puts, deletes, gets, freezes, flushes (on a second thread, while
 * the writer goes on), settles and discards, checked against a model:
 * `committed` is what LMDB must hold, `frozen` and `current` the two
 * generations. Keys are few, so every path is hit often.
 */
#define OVR_KEYS   64
#define OVR_ABSENT (-1)

struct ovr_flush {
    struct store_overlay *ov;
    int rc;
};

static void *
ovr_flush_main(void *arg)
{
    struct ovr_flush *f = arg;

    f->rc = store_overlay_flush(f->ov);
    return NULL;
}

static int
ovr_visible(const int *current, const int *frozen, const int *committed, int k)
{
    /* -2: not written in that layer. */
    if (current[k] != -2)
        return current[k];
    if (frozen[k] != -2)
        return frozen[k];
    return committed[k];
}

static void
test_overlay_random(void)
{
    int committed[OVR_KEYS], frozen[OVR_KEYS], current[OVR_KEYS];
    struct store *st;
    struct store_txn *txn, *otxn;
    struct store_overlay *ov;
    struct ovr_flush fl;
    pthread_t th;
    bool has_frozen = false, flushing = false;
    unsigned dbi, seed = 12345;
    char dir[256], key[16], val[64], want[64];
    int i, k, step;

    envdir(dir, sizeof(dir), "overlay-random");
    ASSERT_OK(store_open(dir, 1 << 26, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "kv", true, &dbi));
    ASSERT_OK(store_txn_commit(txn));
    ASSERT_OK(store_overlay_open(st, &ov));
    otxn = store_overlay_txn(ov);
    for (i = 0; i < OVR_KEYS; i++) {
        committed[i] = OVR_ABSENT;
        frozen[i] = current[i] = -2;
    }
    fl.ov = ov;
    for (step = 0; step < 200000; step++) {
        int op = (int)(rand_r(&seed) % 1000);

        k = (int)(rand_r(&seed) % OVR_KEYS);
        snprintf(key, sizeof(key), "key%d", k);
        if (op < 450) {
            /* Values of varying length exercise in-place and moved items. */
            int v = step;

            snprintf(val, sizeof(val), "%d-%.*s", v, (int)(rand_r(&seed) % 40),
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            ASSERT_OK(store_put(otxn, dbi, key, strlen(key), val, strlen(val)));
            current[k] = v;
        } else if (op < 550) {
            int vis = ovr_visible(current, frozen, committed, k);
            int rc = store_del(otxn, dbi, key, strlen(key));

            ASSERT_EQ(rc, vis == OVR_ABSENT ? ERR_NOTFOUND : 0);
            if (rc == 0)
                current[k] = OVR_ABSENT;
        } else if (op < 990) {
            int vis = ovr_visible(current, frozen, committed, k);
            int rc = overlay_get(otxn, dbi, key, val, sizeof(val));

            if (vis == OVR_ABSENT) {
                ASSERT_EQ(rc, ERR_NOTFOUND);
            } else {
                ASSERT_OK(rc);
                snprintf(want, sizeof(want), "%d-", vis);
                ASSERT(strncmp(val, want, strlen(want)) == 0);
            }
        } else if (op < 994 && !has_frozen) {
            ASSERT_OK(store_overlay_freeze(ov));
            memcpy(frozen, current, sizeof(frozen));
            for (i = 0; i < OVR_KEYS; i++)
                current[i] = -2;
            has_frozen = true;
        } else if (op < 997 && has_frozen && !flushing) {
            ASSERT_EQ(pthread_create(&th, NULL, ovr_flush_main, &fl), 0);
            flushing = true;
        } else if (op < 999 && flushing) {
            ASSERT_EQ(pthread_join(th, NULL), 0);
            ASSERT_OK(fl.rc);
            flushing = false;
            ASSERT_OK(store_overlay_settle(ov));
            for (i = 0; i < OVR_KEYS; i++) {
                if (frozen[i] != -2)
                    committed[i] = frozen[i];
                frozen[i] = -2;
            }
            has_frozen = false;
        } else if (op == 999 && !flushing) {
            ASSERT_OK(store_overlay_discard(ov));
            for (i = 0; i < OVR_KEYS; i++)
                frozen[i] = current[i] = -2;
            has_frozen = false;
        }
    }
    if (flushing)
        ASSERT_EQ(pthread_join(th, NULL), 0);
    /* LMDB holds exactly the model's committed state. */
    if (flushing) {
        ASSERT_OK(fl.rc);
        ASSERT_OK(store_overlay_settle(ov));
        for (i = 0; i < OVR_KEYS; i++)
            if (frozen[i] != -2)
                committed[i] = frozen[i];
    }
    for (k = 0; k < OVR_KEYS; k++) {
        int rc;

        snprintf(key, sizeof(key), "key%d", k);
        rc = committed_get(st, dbi, key, val, sizeof(val));
        if (committed[k] == OVR_ABSENT) {
            ASSERT_EQ(rc, ERR_NOTFOUND);
        } else {
            ASSERT_OK(rc);
            snprintf(want, sizeof(want), "%d-", committed[k]);
            ASSERT(strncmp(val, want, strlen(want)) == 0);
        }
    }
    store_overlay_close(ov);
    store_close(st);
}

/*
 * A flush sorts its items by a 12-byte start of their keys before the
 * full compare: keys of three databases, of 1 to 40 bytes, sharing long
 * prefixes and holding zero bytes (where a zero pad ties with a real
 * zero), and deletions all reach LMDB exactly, and a cursor walks each
 * database in LMDB's order.
 */
static void
test_overlay_flush_keys(void)
{
    struct store *st;
    struct store_txn *txn, *otxn;
    struct store_overlay *ov;
    unsigned dbi[3], seed = 777;
    uint8_t keys[600][40];
    size_t klen[600];
    char dir[256];

    envdir(dir, sizeof(dir), "overlay-flush-keys");
    ASSERT_OK(store_open(dir, 1 << 26, 4, &st));
    ASSERT_OK(store_txn_begin(st, true, &txn));
    ASSERT_OK(store_dbi(st, txn, "a", true, &dbi[0]));
    ASSERT_OK(store_dbi(st, txn, "b", true, &dbi[1]));
    ASSERT_OK(store_dbi(st, txn, "c", true, &dbi[2]));
    ASSERT_OK(store_txn_commit(txn));
    ASSERT_OK(store_overlay_open(st, &ov));
    otxn = store_overlay_txn(ov);
    for (unsigned i = 0; i < 600; i++) {
        /* "e" "shop" 0, then random bytes, a quarter of them zero. */
        memcpy(keys[i], "eshop\0", 6);
        klen[i] = 1 + (size_t)rand_r(&seed) % 40;
        for (size_t j = 6; j < klen[i]; j++)
            keys[i][j] = (uint8_t)(rand_r(&seed) % 4 == 0 ? 0 : rand_r(&seed));
        if (i % 7 == 0 && i > 0) { /* a prefix of the key before it */
            klen[i] = klen[i - 1] > 1 ? klen[i - 1] - 1 : 1;
            memcpy(keys[i], keys[i - 1], klen[i]);
        }
        if (i % 11 == 0 && i > 0 && klen[i - 1] < 40) { /* + a zero byte */
            memcpy(keys[i], keys[i - 1], klen[i - 1]);
            keys[i][klen[i - 1]] = 0;
            klen[i] = klen[i - 1] + 1;
        }
        ASSERT_OK(store_put(otxn, dbi[i % 3], keys[i], klen[i], &i, sizeof(i)));
    }
    ASSERT_OK(store_overlay_freeze(ov));
    ASSERT_OK(store_overlay_flush(ov));
    ASSERT_OK(store_overlay_settle(ov));
    /* Delete every fifth (the last write of a key wins: i is its value). */
    for (unsigned i = 0; i < 600; i += 5) {
        int rc = store_del(otxn, dbi[i % 3], keys[i], klen[i]);

        ASSERT(rc == 0 || rc == ERR_NOTFOUND); /* a duplicate, deleted */
    }
    ASSERT_OK(store_overlay_freeze(ov));
    ASSERT_OK(store_overlay_flush(ov));
    ASSERT_OK(store_overlay_settle(ov));
    store_overlay_close(ov);
    ASSERT_OK(store_txn_begin(st, false, &txn));
    for (unsigned i = 0; i < 600; i++) {
        const void *v;
        size_t vlen;
        unsigned last = i, w;
        int rc = store_get_view(txn, dbi[i % 3], keys[i], klen[i], &v, &vlen);
        bool deleted = false;

        /* The last write of the same key in the same database. */
        for (unsigned j = i + 1; j < 600; j++)
            if (j % 3 == i % 3 && klen[j] == klen[i] &&
                memcmp(keys[j], keys[i], klen[i]) == 0)
                last = j;
        for (unsigned j = 0; j < 600; j += 5)
            if (j % 3 == i % 3 && klen[j] == klen[i] &&
                memcmp(keys[j], keys[i], klen[i]) == 0)
                deleted = true;
        if (deleted) {
            ASSERT_EQ(rc, ERR_NOTFOUND);
            continue;
        }
        ASSERT_OK(rc);
        ASSERT_EQ(vlen, sizeof(w));
        memcpy(&w, v, sizeof(w));
        ASSERT_EQ(w, last);
    }
    for (unsigned d = 0; d < 3; d++) {
        struct store_cursor *c;
        const void *k, *v;
        size_t kl, vl, pl = 0;
        uint8_t prev[40];
        unsigned n = 0;

        ASSERT_OK(store_cursor_open(txn, dbi[d], NULL, 0, false, &c));
        while (store_cursor_next(c, &k, &kl, &v, &vl) == 0) {
            size_t m = kl < pl ? kl : pl;
            int cmp = memcmp(prev, k, m);

            ASSERT(n == 0 || cmp < 0 || (cmp == 0 && pl < kl));
            memcpy(prev, k, kl);
            pl = kl;
            n++;
        }
        store_cursor_close(c);
        ASSERT(n > 100);
    }
    store_txn_abort(txn);
    store_close(st);
}

/* StrictModes: a writable environment is this user's, closed to others,
 * and LMDB's files are not links. */
static void
test_trust(void)
{
    struct store *st;
    char dir[256], path[300], moved[300];

    envdir(dir, sizeof(dir), "trust");
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
    store_close(st);
    ASSERT_OK(chmod(dir, 0755));
    ASSERT_EQ(store_open(dir, 1 << 20, 4, &st), ERR_DENIED);
    /* Read-only opens (vigilctl on a copy) do not judge the owner. */
    ASSERT_OK(store_open_flags(dir, 1 << 20, 4, STORE_RDONLY, &st));
    store_close(st);
    ASSERT_OK(chmod(dir, 0700));
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    ASSERT_OK(chmod(path, 0644));
    ASSERT_EQ(store_open(dir, 1 << 20, 4, &st), ERR_DENIED);
    ASSERT_OK(chmod(path, 0600));
    snprintf(moved, sizeof(moved), "%s.moved", dir);
    ASSERT_OK(rename(path, moved));
    ASSERT_OK(symlink(moved, path));
    ASSERT_EQ(store_open(dir, 1 << 20, 4, &st), ERR_DENIED);
    ASSERT_OK(unlink(path));
    ASSERT_OK(rename(moved, path));
    ASSERT_OK(store_open(dir, 1 << 20, 4, &st));
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
    RUN(test_overlay_layers);
    RUN(test_overlay_random);
    RUN(test_overlay_flush_keys);
    RUN(test_trust);
    RUN(test_lazy_meta);
    rm_rf(root);
    return 0;
}
