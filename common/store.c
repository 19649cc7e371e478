/*
 * store.c - the LMDB wrapper: the only file that calls mdb_*
 *
 * Thin: each function maps to one or two LMDB calls and translates the
 * result code once (MDB_NOTFOUND -> ERR_NOTFOUND, MDB_MAP_FULL and
 * MDB_TXN_FULL -> ERR_FULL, anything else -> ERR_IO with mdb_strerror
 * logged). Runs in the scorer (writer, query readers) and in read-only
 * tools.
 *
 * Invariants:
 *  - a struct store_txn owns its MDB_txn; commit and abort free both.
 *  - views returned point into LMDB's map and are never written to.
 *
 * See also: store.h, lmdb.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <lmdb.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xmalloc.h"

struct store {
    MDB_env *env;
    unsigned flags; /* STORE_* */
};

struct store_txn {
    struct store *st;
    MDB_txn *txn;
    bool write;
};

struct store_cursor {
    MDB_cursor *cur;
    uint8_t start[STORE_MAX_KEY];
    size_t startlen;
    bool prefix;
    bool started;
    bool done;
};

/* Translate an LMDB return code; log the unexpected ones. */
static int
store_err(const char *fn, int mrc)
{
    switch (mrc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return ERR_NOTFOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
        log_warnx("%s: %s", fn, mdb_strerror(mrc));
        return ERR_FULL;
    default:
        log_warnx("%s: %s", fn, mdb_strerror(mrc));
        return ERR_IO;
    }
}

static bool
store_key_ok(size_t klen)
{
    return klen >= 1 && klen <= STORE_MAX_KEY;
}

int
store_open(
    const char *dir, size_t map_bytes, unsigned max_dbs, struct store **out)
{
    return store_open_flags(dir, map_bytes, max_dbs, 0, out);
}

int
store_open_flags(const char *dir, size_t map_bytes, unsigned max_dbs,
    unsigned flags, struct store **out)
{
    struct store *st;
    struct stat sb;
    unsigned int envflags = MDB_NOTLS;
    int mrc, rc;

    *out = NULL;
    if (dir[0] == '\0' || map_bytes == 0 || (flags & ~STORE_RDONLY) != 0)
        return ERR_INVAL;
    if (flags & STORE_RDONLY) {
        if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
            return ERR_NOTFOUND;
        envflags |= MDB_RDONLY;
    } else if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        log_warn("%s: cannot create '%s'", __func__, dir);
        return ERR_IO;
    }

    st = xcalloc(1, sizeof(*st));
    st->flags = flags;
    mrc = mdb_env_create(&st->env);
    if (mrc != 0) {
        rc = store_err("mdb_env_create", mrc);
        free(st);
        return rc;
    }
    mrc = mdb_env_set_mapsize(st->env, map_bytes);
    if (mrc == 0)
        mrc = mdb_env_set_maxdbs(st->env, max_dbs);
    if (mrc == 0)
        mrc = mdb_env_open(st->env, dir, envflags, 0600);
    if (mrc != 0) {
        if (mrc == ENOENT && (flags & STORE_RDONLY))
            rc = ERR_NOTFOUND;
        else
            rc = store_err("mdb_env_open", mrc);
        mdb_env_close(st->env);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    mdb_env_close(st->env);
    free(st);
}

int
store_set_map_bytes(struct store *st, size_t map_bytes)
{
    return store_err(
        "mdb_env_set_mapsize", mdb_env_set_mapsize(st->env, map_bytes));
}

int
store_txn_begin(struct store *st, bool write, struct store_txn **out)
{
    struct store_txn *t;
    int mrc;

    *out = NULL;
    if (write && (st->flags & STORE_RDONLY))
        return ERR_INVAL;
    t = xcalloc(1, sizeof(*t));
    t->st = st;
    t->write = write;
    mrc = mdb_txn_begin(st->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (mrc != 0) {
        free(t);
        return store_err("mdb_txn_begin", mrc);
    }
    *out = t;
    return 0;
}

int
store_txn_commit(struct store_txn *txn)
{
    int mrc;

    mrc = mdb_txn_commit(txn->txn);
    free(txn);
    return store_err("mdb_txn_commit", mrc);
}

void
store_txn_abort(struct store_txn *txn)
{
    if (txn == NULL)
        return;
    mdb_txn_abort(txn->txn);
    free(txn);
}

bool
store_txn_is_write(const struct store_txn *txn)
{
    return txn->write;
}

int
store_dbi(struct store *st, struct store_txn *txn, const char *name,
    bool create, unsigned *dbi)
{
    MDB_dbi d;
    int mrc;

    (void)st;
    if (create && !txn->write)
        return ERR_INVAL;
    mrc = mdb_dbi_open(txn->txn, name, create ? MDB_CREATE : 0, &d);
    if (mrc == MDB_NOTFOUND)
        return ERR_NOTFOUND;
    if (mrc != 0)
        return store_err("mdb_dbi_open", mrc);
    *dbi = d;
    return 0;
}

int
store_get_view(struct store_txn *txn, unsigned dbi, const void *k, size_t klen,
    const void **v, size_t *vlen)
{
    MDB_val key, val;
    int mrc;

    if (!store_key_ok(klen))
        return ERR_INVAL;
    key.mv_data = (void *)(uintptr_t)k;
    key.mv_size = klen;
    mrc = mdb_get(txn->txn, dbi, &key, &val);
    if (mrc != 0)
        return store_err("mdb_get", mrc);
    *v = val.mv_data;
    *vlen = val.mv_size;
    return 0;
}

int
store_put(struct store_txn *txn, unsigned dbi, const void *k, size_t klen,
    const void *v, size_t vlen)
{
    static const uint8_t empty;
    MDB_val key, val;

    if (!txn->write || !store_key_ok(klen) || (v == NULL && vlen != 0))
        return ERR_INVAL;
    key.mv_data = (void *)(uintptr_t)k;
    key.mv_size = klen;
    val.mv_data = (void *)(uintptr_t)(v != NULL ? v : &empty);
    val.mv_size = vlen;
    return store_err("mdb_put", mdb_put(txn->txn, dbi, &key, &val, 0));
}

int
store_del(struct store_txn *txn, unsigned dbi, const void *k, size_t klen)
{
    MDB_val key;
    int mrc;

    if (!txn->write || !store_key_ok(klen))
        return ERR_INVAL;
    key.mv_data = (void *)(uintptr_t)k;
    key.mv_size = klen;
    mrc = mdb_del(txn->txn, dbi, &key, NULL);
    if (mrc == MDB_NOTFOUND)
        return ERR_NOTFOUND;
    return store_err("mdb_del", mrc);
}

int
store_stat_entries(struct store_txn *txn, unsigned dbi, uint64_t *n)
{
    MDB_stat ms;
    int mrc;

    mrc = mdb_stat(txn->txn, dbi, &ms);
    if (mrc != 0)
        return store_err("mdb_stat", mrc);
    *n = ms.ms_entries;
    return 0;
}

int
store_cursor_open(struct store_txn *txn, unsigned dbi, const void *start,
    size_t startlen, bool prefix, struct store_cursor **out)
{
    struct store_cursor *c;
    int mrc;

    *out = NULL;
    if (startlen > STORE_MAX_KEY || (start == NULL && startlen != 0))
        return ERR_INVAL;
    c = xcalloc(1, sizeof(*c));
    mrc = mdb_cursor_open(txn->txn, dbi, &c->cur);
    if (mrc != 0) {
        free(c);
        return store_err("mdb_cursor_open", mrc);
    }
    if (startlen > 0)
        memcpy(c->start, start, startlen);
    c->startlen = startlen;
    c->prefix = prefix && startlen > 0;
    *out = c;
    return 0;
}

int
store_cursor_next(struct store_cursor *c, const void **k, size_t *klen,
    const void **v, size_t *vlen)
{
    MDB_val key, val;
    int mrc;

    if (c->done)
        return ERR_NOTFOUND;
    if (!c->started) {
        c->started = true;
        if (c->startlen > 0) {
            key.mv_data = c->start;
            key.mv_size = c->startlen;
            mrc = mdb_cursor_get(c->cur, &key, &val, MDB_SET_RANGE);
        } else {
            mrc = mdb_cursor_get(c->cur, &key, &val, MDB_FIRST);
        }
    } else {
        mrc = mdb_cursor_get(c->cur, &key, &val, MDB_NEXT);
    }
    if (mrc == MDB_NOTFOUND) {
        c->done = true;
        return ERR_NOTFOUND;
    }
    if (mrc != 0)
        return store_err("mdb_cursor_get", mrc);
    if (c->prefix &&
        (key.mv_size < c->startlen ||
            memcmp(key.mv_data, c->start, c->startlen) != 0)) {
        c->done = true;
        return ERR_NOTFOUND;
    }
    *k = key.mv_data;
    *klen = key.mv_size;
    *v = val.mv_data;
    *vlen = val.mv_size;
    return 0;
}

void
store_cursor_close(struct store_cursor *c)
{
    if (c == NULL)
        return;
    mdb_cursor_close(c->cur);
    free(c);
}
