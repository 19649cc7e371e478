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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <lmdb.h>

#include "common/bytes.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keysort.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xmalloc.h"

struct store {
    MDB_env *env;
    unsigned flags; /* STORE_* */
};

struct store_txn {
    struct store *st;
    MDB_txn *txn; /* LMDB txn; for an overlay: its snapshot */
    bool write;
    struct store_overlay *ov; /* non-NULL: the handle of this overlay */
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

/* ------------------------------------------------------------- overlay */

/*
 * One generation of the overlay: an open-addressing hash table (linear
 * probing, power-of-two capacity, at most half full) of items allocated
 * from an arena of large chunks, so a generation costs a few mallocs, not
 * one per write, and is dropped in one sweep.
 */
#define OV_CHUNK_BYTES  (1u << 20)
#define OV_MIN_SLOTS    4096
#define OV_SPARE_CHUNKS 64

struct ov_item {
    uint32_t dbi;
    uint32_t vlen; /* value bytes in use */
    uint32_t vcap; /* value bytes allocated */
    uint16_t klen;
    uint8_t tomb;   /* a deletion */
    uint8_t data[]; /* key, then value */
};

struct ov_slot {
    uint64_t hash;
    struct ov_item *item; /* NULL: empty */
};

struct ov_chunk {
    struct ov_chunk *next;
    size_t size, used;
    /* the chunk's bytes follow the header, 16-byte aligned */
    max_align_t data[];
};

struct ov_gen {
    struct ov_slot *slots;
    size_t cap, n;
    struct ov_chunk *chunks; /* newest first */
    size_t bytes;
};

struct store_overlay {
    struct store *st;
    struct store_txn handle; /* what store_overlay_txn hands out */
    struct ov_gen gen[2];    /* the current and the frozen generation */
    struct ov_gen *cur;
    struct ov_gen *frozen;  /* NULL when none */
    struct ov_chunk *spare; /* freed chunks kept for reuse */
    unsigned nspare;
    size_t flushed_entries; /* the last flush's (store_overlay_flushed) */
    size_t flushed_pages;
};

static uint64_t
ov_hash(unsigned dbi, const void *k, size_t klen)
{
    const uint8_t *p = k;
    uint64_t h = 0xcbf29ce484222325ULL ^ dbi;
    size_t i;

    for (i = 0; i < klen; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static struct ov_slot *
ov_find(struct ov_gen *g, uint64_t h, unsigned dbi, const void *k, size_t klen)
{
    size_t i, mask = g->cap - 1;

    if (g->cap == 0)
        return NULL;
    for (i = h & mask;; i = (i + 1) & mask) {
        struct ov_slot *sl = &g->slots[i];

        if (sl->item == NULL)
            return sl;
        if (sl->hash == h && sl->item->dbi == dbi && sl->item->klen == klen &&
            memcmp(sl->item->data, k, klen) == 0)
            return sl;
    }
}

static void
ov_grow(struct ov_gen *g)
{
    size_t ncap = g->cap ? g->cap * 2 : OV_MIN_SLOTS, i;
    struct ov_slot *ns = xcalloc(ncap, sizeof(*ns));

    for (i = 0; i < g->cap; i++) {
        struct ov_slot *sl = &g->slots[i];
        size_t j;

        if (sl->item == NULL)
            continue;
        for (j = sl->hash & (ncap - 1); ns[j].item != NULL;
             j = (j + 1) & (ncap - 1))
            ;
        ns[j] = *sl;
    }
    free(g->slots);
    g->bytes += (ncap - g->cap) * sizeof(*ns);
    g->slots = ns;
    g->cap = ncap;
}

static void *
ov_alloc(struct store_overlay *ov, struct ov_gen *g, size_t n)
{
    struct ov_chunk *c = g->chunks;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (c == NULL || c->size - c->used < n) {
        if (n <= OV_CHUNK_BYTES && ov->spare != NULL) {
            c = ov->spare;
            ov->spare = c->next;
            ov->nspare--;
        } else {
            size_t size = n > OV_CHUNK_BYTES ? n : OV_CHUNK_BYTES;

            c = xmalloc(sizeof(*c) + size);
            c->size = size;
        }
        c->used = 0;
        c->next = g->chunks;
        g->chunks = c;
        g->bytes += c->size;
    }
    p = (uint8_t *)c->data + c->used;
    c->used += n;
    return p;
}

static void
ov_gen_drop(struct store_overlay *ov, struct ov_gen *g)
{
    while (g->chunks != NULL) {
        struct ov_chunk *c = g->chunks;

        g->chunks = c->next;
        if (c->size == OV_CHUNK_BYTES && ov->nspare < OV_SPARE_CHUNKS) {
            c->next = ov->spare;
            ov->spare = c;
            ov->nspare++;
        } else {
            free(c);
        }
    }
    if (g->cap > OV_MIN_SLOTS * 64) {
        /* Do not keep a huge table around after a burst. */
        free(g->slots);
        g->slots = NULL;
        g->cap = 0;
    } else if (g->cap > 0) {
        memset(g->slots, 0, g->cap * sizeof(*g->slots));
    }
    g->n = 0;
    g->bytes = g->cap * sizeof(*g->slots);
}

static int
ov_get(struct store_overlay *ov, unsigned dbi, const void *k, size_t klen,
    const void **v, size_t *vlen)
{
    uint64_t h = ov_hash(dbi, k, klen);
    struct ov_gen *gens[2] = { ov->cur, ov->frozen };
    MDB_val key, val;
    unsigned i;
    int mrc;

    for (i = 0; i < 2; i++) {
        struct ov_slot *sl;

        if (gens[i] == NULL)
            continue;
        sl = ov_find(gens[i], h, dbi, k, klen);
        if (sl == NULL || sl->item == NULL)
            continue;
        if (sl->item->tomb)
            return ERR_NOTFOUND;
        *v = sl->item->data + sl->item->klen;
        *vlen = sl->item->vlen;
        return 0;
    }
    key.mv_data = (void *)(uintptr_t)k;
    key.mv_size = klen;
    mrc = mdb_get(ov->handle.txn, dbi, &key, &val);
    if (mrc != 0)
        return store_err("mdb_get", mrc);
    *v = val.mv_data;
    *vlen = val.mv_size;
    return 0;
}

static int
ov_put(struct store_overlay *ov, unsigned dbi, const void *k, size_t klen,
    const void *v, size_t vlen, bool tomb)
{
    struct ov_gen *g = ov->cur;
    uint64_t h = ov_hash(dbi, k, klen);
    struct ov_slot *sl;
    struct ov_item *it;

    if (vlen > UINT32_MAX / 2)
        return ERR_TOOBIG;
    if ((g->n + 1) * 2 > g->cap)
        ov_grow(g);
    sl = ov_find(g, h, dbi, k, klen);
    it = sl->item;
    if (it == NULL || it->vcap < vlen) {
        size_t vcap = (vlen + 15) & ~(size_t)15;

        if (it == NULL)
            g->n++;
        it = ov_alloc(ov, g, sizeof(*it) + klen + vcap);
        it->dbi = dbi;
        it->klen = (uint16_t)klen;
        it->vcap = (uint32_t)vcap;
        memcpy(it->data, k, klen);
        sl->hash = h;
        sl->item = it;
    }
    it->tomb = tomb;
    it->vlen = (uint32_t)vlen;
    if (vlen > 0)
        memcpy(it->data + klen, v, vlen);
    return 0;
}

int
store_open(
    const char *dir, size_t map_bytes, unsigned max_dbs, struct store **out)
{
    return store_open_flags(dir, map_bytes, max_dbs, 0, out);
}

/*
 * The StrictModes rule for an environment this process will write: the
 * directory and the files LMDB opens in it (which mdb_env_open() would
 * follow if they were symbolic links) are this user's and closed to
 * everyone else. Returns 0 or ERR_DENIED (logged).
 */
static int
check_env_files(const char *dir)
{
    static const char *const files[] = { "data.mdb", "lock.mdb" };
    char path[4096], err[512];
    int rc;

    rc = harden_dir(dir, false, (uid_t)-1, err, sizeof(err));
    for (size_t i = 0; rc == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i]) >=
            sizeof(path)) {
            snprintf(err, sizeof(err), "%s: path too long", dir);
            rc = ERR_DENIED;
            break;
        }
        rc = harden_file(path, err, sizeof(err));
        if (rc == ERR_NOTFOUND)
            rc = 0;
    }
    if (rc != 0) {
        log_warnx("%s: %s", __func__, err);
        return ERR_DENIED;
    }
    return 0;
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
    if (dir[0] == '\0' || map_bytes == 0 ||
        (flags & ~(unsigned int)(STORE_RDONLY | STORE_LAZY_META)) != 0)
        return ERR_INVAL;
    if (flags & STORE_LAZY_META)
        envflags |= MDB_NOMETASYNC;
    if (flags & STORE_RDONLY) {
        if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
            return ERR_NOTFOUND;
        envflags |= MDB_RDONLY;
    } else {
        if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
            log_warn("%s: cannot create '%s'", __func__, dir);
            return ERR_IO;
        }
        rc = check_env_files(dir);
        if (rc != 0)
            return rc;
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
store_sync(struct store *st)
{
    return store_err("mdb_env_sync", mdb_env_sync(st->env, 1));
}

int
store_set_map_bytes(struct store *st, size_t map_bytes)
{
    return store_err(
        "mdb_env_set_mapsize", mdb_env_set_mapsize(st->env, map_bytes));
}

int
store_info(struct store *st, uint64_t *map_bytes, uint64_t *used_bytes)
{
    MDB_envinfo info;
    MDB_stat ms;
    int mrc;

    mrc = mdb_env_info(st->env, &info);
    if (mrc == 0)
        mrc = mdb_env_stat(st->env, &ms);
    if (mrc != 0)
        return store_err("mdb_env_info", mrc);
    *map_bytes = (uint64_t)info.me_mapsize;
    *used_bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    return 0;
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
    struct store *st = txn->st;
    bool sync = txn->write && (st->flags & STORE_LAZY_META) != 0;
    int mrc;

    if (txn->ov != NULL)
        return ERR_INVAL;
    mrc = mdb_txn_commit(txn->txn);
    free(txn);
    if (mrc != 0)
        return store_err("mdb_txn_commit", mrc);
    /* Durable like any commit: only overlay flushes are lazy. */
    return sync ? store_sync(st) : 0;
}

void
store_txn_abort(struct store_txn *txn)
{
    if (txn == NULL || txn->ov != NULL)
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
    if ((create && !txn->write) || txn->ov != NULL)
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
    if (txn->ov != NULL)
        return ov_get(txn->ov, dbi, k, klen, v, vlen);
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
    if (txn->ov != NULL)
        return ov_put(txn->ov, dbi, k, klen, v, vlen, false);
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
    if (txn->ov != NULL) {
        const void *old;
        size_t oldlen;

        mrc = ov_get(txn->ov, dbi, k, klen, &old, &oldlen);
        if (mrc != 0)
            return mrc;
        return ov_put(txn->ov, dbi, k, klen, NULL, 0, true);
    }
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

    if (txn->ov != NULL)
        return ERR_INVAL;
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
    if (startlen > STORE_MAX_KEY || (start == NULL && startlen != 0) ||
        txn->ov != NULL)
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

int
store_overlay_open(struct store *st, struct store_overlay **out)
{
    struct store_overlay *ov;
    int mrc;

    *out = NULL;
    if (st->flags & STORE_RDONLY)
        return ERR_INVAL;
    ov = xcalloc(1, sizeof(*ov));
    ov->st = st;
    ov->handle.st = st;
    ov->handle.write = true;
    ov->handle.ov = ov;
    mrc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &ov->handle.txn);
    if (mrc != 0) {
        free(ov);
        return store_err("mdb_txn_begin", mrc);
    }
    ov->cur = &ov->gen[0];
    *out = ov;
    return 0;
}

void
store_overlay_close(struct store_overlay *ov)
{
    unsigned i;

    if (ov == NULL)
        return;
    mdb_txn_abort(ov->handle.txn);
    for (i = 0; i < 2; i++) {
        ov_gen_drop(ov, &ov->gen[i]);
        free(ov->gen[i].slots);
    }
    while (ov->spare != NULL) {
        struct ov_chunk *c = ov->spare;

        ov->spare = c->next;
        free(c);
    }
    free(ov);
}

struct store_txn *
store_overlay_txn(struct store_overlay *ov)
{
    return &ov->handle;
}

size_t
store_overlay_entries(const struct store_overlay *ov)
{
    return ov->cur->n;
}

size_t
store_overlay_bytes(const struct store_overlay *ov)
{
    size_t n = ov->cur->bytes;

    if (ov->frozen != NULL)
        n += ov->frozen->bytes;
    return n + ov->nspare * (sizeof(struct ov_chunk) + OV_CHUNK_BYTES);
}

bool
store_overlay_has_frozen(const struct store_overlay *ov)
{
    return ov->frozen != NULL;
}

int
store_overlay_freeze(struct store_overlay *ov)
{
    if (ov->frozen != NULL)
        return ERR_AGAIN;
    ov->frozen = ov->cur;
    ov->cur = ov->cur == &ov->gen[0] ? &ov->gen[1] : &ov->gen[0];
    return 0;
}

/* LMDB's default key order: memcmp over the shorter length, then length. */
static int
ov_item_cmp(const void *pa, const void *pb)
{
    const struct ov_item *a = pa, *b = pb;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c;

    if (a->dbi != b->dbi)
        return a->dbi < b->dbi ? -1 : 1;
    c = memcmp(a->data, b->data, n);
    if (c != 0)
        return c;
    return (int)a->klen - (int)b->klen;
}

/*
 * A flush's sort entry: the item and the start of its order key (the
 * dbi, then the key's first 12 bytes, big-endian, zero-padded) as two
 * integers, so that most comparisons touch neither the item nor memcmp;
 * equal starts fall back to ov_item_cmp (keysort's tie) (a zero pad ties with a
 * real zero byte, and the full compare settles it). qsort over the items'
 * pointers with ov_item_cmp was 19% of the flusher's CPU in a replay,
 * most of it reaching into the items scattered over the arena; qsort
 * over these entries still 12% (a call per comparison, generic copies),
 * hence keysort().
 */
static void
ov_sorted_set(struct keysort_ent *e, const struct ov_item *it)
{
    uint8_t k[12] = { 0 };

    memcpy(k, it->data, it->klen < sizeof(k) ? it->klen : sizeof(k));
    e->a = (uint64_t)it->dbi << 32 | bytes_get_be32(k);
    e->b = bytes_get_be64(k + 4);
    e->item = it;
}

/*
 * Apply one item through `cur`. Keys arrive sorted, so LMDB's cursor
 * finds most of them on the page it is already on instead of descending
 * from the root.
 */
static int
ov_flush_item(MDB_cursor *cur, const struct ov_item *it)
{
    MDB_val key, val;
    int mrc;

    key.mv_data = (void *)(uintptr_t)it->data;
    key.mv_size = it->klen;
    if (!it->tomb) {
        val.mv_data = (void *)(uintptr_t)(it->data + it->klen);
        val.mv_size = it->vlen;
        return store_err("mdb_cursor_put", mdb_cursor_put(cur, &key, &val, 0));
    }
    mrc = mdb_cursor_get(cur, &key, &val, MDB_SET);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc == 0)
        mrc = mdb_cursor_del(cur, 0);
    return store_err("mdb_cursor_del", mrc);
}

/*
 * Bytes this thread has passed to write calls (wchar of
 * /proc/thread-self/io), or UINT64_MAX when it cannot be read.
 */
static uint64_t
thread_wchar(void)
{
    char buf[512];
    const char *p;
    size_t n;
    FILE *f = fopen("/proc/thread-self/io", "re");

    if (f == NULL)
        return UINT64_MAX;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    (void)fclose(f);
    buf[n] = '\0';
    p = strstr(buf, "wchar: ");
    if (p == NULL)
        return UINT64_MAX;
    return strtoull(p + 7, NULL, 10);
}

void
store_overlay_flushed(
    const struct store_overlay *ov, size_t *entries, size_t *pages)
{
    *entries = ov->flushed_entries;
    *pages = ov->flushed_pages;
}

int
store_overlay_flush(struct store_overlay *ov)
{
    struct ov_gen *g = ov->frozen;
    struct keysort_ent *items;
    MDB_cursor *cur = NULL;
    MDB_txn *txn;
    MDB_stat ms;
    unsigned dbi = 0;
    uint64_t w0, w1;
    size_t i, n = 0;
    int mrc, rc = 0;

    if (g == NULL || g->n == 0)
        return 0;
    items = xreallocarray(NULL, g->n, sizeof(*items));
    for (i = 0; i < g->cap; i++)
        if (g->slots[i].item != NULL)
            ov_sorted_set(&items[n++], g->slots[i].item);
    keysort(items, n, ov_item_cmp);
    mrc = mdb_txn_begin(ov->st->env, NULL, 0, &txn);
    if (mrc != 0) {
        free(items);
        return store_err("mdb_txn_begin", mrc);
    }
    for (i = 0; i < n && rc == 0; i++) {
        const struct ov_item *it = items[i].item;

        if (cur == NULL || it->dbi != dbi) {
            mdb_cursor_close(cur);
            cur = NULL;
            dbi = it->dbi;
            mrc = mdb_cursor_open(txn, dbi, &cur);
            if (mrc != 0) {
                rc = store_err("mdb_cursor_open", mrc);
                break;
            }
        }
        rc = ov_flush_item(cur, it);
    }
    mdb_cursor_close(cur);
    free(items);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    crashpoint("lmdb.commit");
    w0 = thread_wchar();
    mrc = mdb_txn_commit(txn);
    if (mrc != 0)
        return store_err("mdb_txn_commit", mrc);
    /* The commit writes every dirty page (pwritev) and the meta page:
     * what it wrote is what LMDB's page pool now holds at least. */
    w1 = thread_wchar();
    ov->flushed_entries = n;
    ov->flushed_pages = 0;
    if (w0 != UINT64_MAX && w1 != UINT64_MAX && w1 >= w0 &&
        mdb_env_stat(ov->st->env, &ms) == 0 && ms.ms_psize > 0)
        ov->flushed_pages = (size_t)((w1 - w0) / ms.ms_psize);
    return 0;
}

/* Move the read snapshot to the newest committed state. */
static int
ov_renew(struct store_overlay *ov)
{
    mdb_txn_reset(ov->handle.txn);
    return store_err("mdb_txn_renew", mdb_txn_renew(ov->handle.txn));
}

int
store_overlay_settle(struct store_overlay *ov)
{
    int rc = ov_renew(ov);

    /* Drop the frozen generation only once the snapshot holds it. */
    if (rc != 0)
        return rc;
    if (ov->frozen != NULL)
        ov_gen_drop(ov, ov->frozen);
    ov->frozen = NULL;
    return 0;
}

int
store_overlay_set_map_bytes(struct store_overlay *ov, size_t map_bytes)
{
    int mrc;

    mdb_txn_reset(ov->handle.txn);
    mrc = mdb_env_set_mapsize(ov->st->env, map_bytes);
    if (mrc != 0) {
        int rc = store_err("mdb_env_set_mapsize", mrc);

        (void)store_err("mdb_txn_renew", mdb_txn_renew(ov->handle.txn));
        return rc == 0 ? ERR_IO : rc;
    }
    return store_err("mdb_txn_renew", mdb_txn_renew(ov->handle.txn));
}

int
store_overlay_discard(struct store_overlay *ov)
{
    if (ov->frozen != NULL)
        ov_gen_drop(ov, ov->frozen);
    ov->frozen = NULL;
    ov_gen_drop(ov, ov->cur);
    return ov_renew(ov);
}
