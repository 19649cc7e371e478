/*
 * store.h - the LMDB wrapper: environment, transactions, named databases
 *
 * The scorer keeps its history (scorer/history.c) in one LMDB environment
 * opened through this module, the only file that calls mdb_*. It
 * translates LMDB's codes once: MDB_NOTFOUND -> ERR_NOTFOUND,
 * MDB_MAP_FULL / MDB_TXN_FULL -> ERR_FULL, anything else -> ERR_IO
 * (logged here with mdb_strerror). One process writes (the scorer); read
 * transactions never block the writer and see the last committed state.
 *
 * Invariants:
 *  - commits are durable when store_txn_commit() returns 0 (the
 *    environment is opened without MDB_NOSYNC / MDB_NOMETASYNC).
 *  - values handed out as views are borrowed from LMDB's map: valid only
 *    until the next write in the same transaction or its end.
 *  - the environment is opened with MDB_NOTLS: a read transaction is not
 *    tied to the thread that began it, but one transaction is used by one
 *    thread at a time. At most one write transaction exists at a time
 *    (LMDB blocks a second one until the first ends: never begin two
 *    write transactions in one thread).
 *
 * See also: scorer/history.h (the databases kept here), DESIGN.md
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_STORE_H
#define COMMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* LMDB's key size limit (mdb_env_get_maxkeysize() of the default build). */
#define STORE_MAX_KEY 511

/* Flags of store_open_flags(). */
enum store_flag {
    STORE_RDONLY = 1u << 0, /* open read-only (MDB_RDONLY); dir must exist */
    /* Overlay flushes (store_overlay_flush) commit with one data sync
     * and the meta page written but NOT synced (MDB_NOMETASYNC): such a
     * commit is durable only once the next commit's data sync, or
     * store_sync(), has run; a power cut before that undoes it (never
     * more: the state before it is intact). store_txn_commit() syncs
     * after committing, so direct transactions stay durable. */
    STORE_LAZY_META = 1u << 1,
};

struct store;        /* an open environment */
struct store_txn;    /* a transaction, read-only or read-write */
struct store_cursor; /* an ordered iteration over one database */

/*
 * Open (creating if needed, mode 0700) the LMDB environment in directory
 * `dir`, with a map of `map_bytes` (the most the data may ever take
 * until store_set_map_bytes()) and room for `max_dbs` named databases.
 * Read-write, synced commits. `*out` is freed with store_close().
 * The directory, data.mdb and lock.mdb must be this user's, closed to
 * group and others, and not symbolic links (harden.h).
 * Returns 0, ERR_INVAL (bad arguments), ERR_DENIED (owner, mode or a
 * link: logged), ERR_IO (cannot create the directory or open the
 * environment, e.g. it is locked or damaged).
 */
int store_open(const char *dir, size_t map_bytes, unsigned max_dbs,
    struct store **out) WARN_UNUSED NONNULL(1, 4);

/*
 * Like store_open() with STORE_* `flags`. With STORE_RDONLY the
 * directory is not created and write transactions fail with ERR_INVAL.
 * Returns 0, ERR_INVAL, ERR_NOTFOUND (read-only and no environment),
 * ERR_DENIED (read-write: as store_open()) or ERR_IO.
 */
int store_open_flags(const char *dir, size_t map_bytes, unsigned max_dbs,
    unsigned flags, struct store **out) WARN_UNUSED NONNULL(1, 5);

/*
 * Make every commit so far durable (mdb_env_sync, forced): with
 * STORE_LAZY_META, the last overlay flush's meta page. Any thread.
 * Returns 0 or ERR_IO / ERR_FULL.
 */
int store_sync(struct store *st) WARN_UNUSED NONNULL(1);

/*
 * Close the environment. Every transaction and cursor of it must have
 * ended. store_close(NULL) is a no-op.
 */
void store_close(struct store *st);

/*
 * Grow (or shrink) the map to `map_bytes`, e.g. after ERR_FULL. No
 * transaction of this process may be active. Returns 0 or ERR_IO.
 */
int store_set_map_bytes(struct store *st, size_t map_bytes) WARN_UNUSED
    NONNULL(1);

/*
 * The size of the map and how much of it the data file uses (the
 * highest page ever written, so pages freed and reused by LMDB still
 * count), in bytes. Any thread. Returns 0 or ERR_IO.
 */
int store_info(struct store *st, uint64_t *map_bytes,
    uint64_t *used_bytes) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Begin a transaction: a read-write one when `write` (blocks while
 * another write transaction of the environment is active) or a
 * read-only snapshot of the last commit. `*out` ends with
 * store_txn_commit() or store_txn_abort().
 * Returns 0, ERR_INVAL (write on a read-only store), ERR_FULL (too many
 * readers) or ERR_IO.
 */
int store_txn_begin(struct store *st, bool write,
    struct store_txn **out) WARN_UNUSED NONNULL(1, 3);

/*
 * Commit and free `txn`; a write commit is synced to disk before this
 * returns. Cursors of `txn` must be closed first. `txn` is freed even on
 * failure (its changes are then lost). Committing a read transaction
 * simply ends it. Returns 0, ERR_FULL (map full) or ERR_IO.
 */
int store_txn_commit(struct store_txn *txn) WARN_UNUSED NONNULL(1);

/* Abort and free `txn`, discarding its changes. NULL is a no-op. */
void store_txn_abort(struct store_txn *txn);

/* True when `txn` is a read-write transaction. */
bool store_txn_is_write(const struct store_txn *txn) NONNULL(1);

/*
 * Open the named database `name` in `txn` and store its handle in
 * `*dbi`; with `create` (needs a write txn) it is created if missing.
 * Handles stay valid for the life of the environment once `txn`
 * commits; if `txn` aborts, handles first opened in it are void.
 * Returns 0, ERR_NOTFOUND (missing and not `create`), ERR_FULL (more
 * than max_dbs) or ERR_IO.
 */
int store_dbi(struct store *st, struct store_txn *txn, const char *name,
    bool create, unsigned *dbi) WARN_UNUSED NONNULL(1, 2, 3, 5);

/*
 * Look up key `k` (`klen` bytes, 1..STORE_MAX_KEY) in database `dbi`.
 * On success `*v` and `*vlen` describe the value: borrowed; valid until
 * the next put/del in `txn` or its end. Never write through `*v`.
 * Returns 0, ERR_NOTFOUND, ERR_INVAL (bad key length) or ERR_IO.
 */
int store_get_view(struct store_txn *txn, unsigned dbi, const void *k,
    size_t klen, const void **v, size_t *vlen) WARN_UNUSED NONNULL(1, 3, 5, 6);

/*
 * Store `v` (`vlen` bytes, may be 0) under key `k`, replacing any value.
 * Both are copied. Needs a write txn. Returns 0, ERR_INVAL (bad key
 * length or read txn), ERR_FULL (map or txn full: the caller should
 * abort the txn) or ERR_IO.
 */
int store_put(struct store_txn *txn, unsigned dbi, const void *k, size_t klen,
    const void *v, size_t vlen) WARN_UNUSED NONNULL(1, 3);

/*
 * Delete key `k`. Needs a write txn. Returns 0, ERR_NOTFOUND (no such
 * key), ERR_INVAL or ERR_IO.
 */
int store_del(struct store_txn *txn, unsigned dbi, const void *k,
    size_t klen) WARN_UNUSED NONNULL(1, 3);

/*
 * Set `*n` to the number of entries of database `dbi` as seen by `txn`.
 * Returns 0 or ERR_IO.
 */
int store_stat_entries(
    struct store_txn *txn, unsigned dbi, uint64_t *n) WARN_UNUSED NONNULL(1, 3);

/*
 * Open a cursor over `dbi` in key order (memcmp order of the bytes),
 * starting at the first key >= `start` (`startlen` bytes; NULL or 0 for
 * the first key). With `prefix`, iteration ends at the first key that
 * does not begin with the `start` bytes. Free with store_cursor_close()
 * before the txn ends. Returns 0, ERR_INVAL or ERR_IO.
 */
int store_cursor_open(struct store_txn *txn, unsigned dbi, const void *start,
    size_t startlen, bool prefix, struct store_cursor **out) WARN_UNUSED
    NONNULL(1, 6);

/*
 * Step to the next entry (the first call gives the first one) and
 * return its key and value: borrowed; valid until the next cursor step,
 * the next write in the txn, or its end. Returns 0, ERR_NOTFOUND when
 * the iteration is over, or ERR_IO. Writing to the database while a
 * cursor is open is allowed but the cursor's position is then unspecified.
 */
int store_cursor_next(struct store_cursor *c, const void **k, size_t *klen,
    const void **v, size_t *vlen) WARN_UNUSED NONNULL(1, 2, 3, 4, 5);

/* Close and free a cursor. NULL is a no-op. */
void store_cursor_close(struct store_cursor *c);

/* ------------------------------------------------------------- overlay */

/*
 * A write-back overlay: lets one writer thread apply many small writes at
 * memory speed while LMDB absorbs them in large batches, committed by
 * another thread.
 *
 * The overlay hands out one long-lived transaction handle (a struct
 * store_txn of its own kind). Through it, store_get_view() reads the
 * current generation, then the frozen generation, then an LMDB read
 * snapshot; store_put() and store_del() write the current generation
 * only. store_overlay_freeze() turns the current generation into the
 * frozen one; store_overlay_flush() (any thread) writes the frozen
 * generation to LMDB in one synced write transaction while the writer
 * thread keeps reading and writing; store_overlay_settle() (writer
 * thread) then renews the snapshot and drops the frozen generation.
 *
 * Thread rules: every function except store_overlay_flush() runs on the
 * writer thread. store_overlay_flush() may run concurrently with them; it
 * only reads the frozen generation, which nothing changes until settle.
 * Views from the overlay txn are valid until the next write through it,
 * or settle/discard.
 * The overlay txn cannot be committed, aborted or iterated with a cursor
 * (ERR_INVAL; abort is a no-op).
 */
struct store_overlay;

/* Open an overlay over `st` (not read-only). Free with store_overlay_close. */
int store_overlay_open(struct store *st, struct store_overlay **out) WARN_UNUSED
    NONNULL(1, 2);

/* Free the overlay and everything not flushed. NULL is a no-op. */
void store_overlay_close(struct store_overlay *ov);

/* The overlay's transaction handle. Borrowed; valid until close. */
struct store_txn *store_overlay_txn(struct store_overlay *ov) NONNULL(1);

/* Entries in the current generation. */
size_t store_overlay_entries(const struct store_overlay *ov) NONNULL(1);

/*
 * Heap bytes the overlay holds: both generations' tables and chunks and
 * the spare chunks kept for reuse (at most 64 MiB). The thread that owns
 * the overlay (the scorer's main thread).
 */
size_t store_overlay_bytes(const struct store_overlay *ov) NONNULL(1);

/* Whether a frozen generation is waiting to be flushed or settled. */
bool store_overlay_has_frozen(const struct store_overlay *ov) NONNULL(1);

/*
 * Freeze the current generation for flushing; a new, empty one becomes
 * current. Returns 0, or ERR_AGAIN if a frozen generation exists.
 */
int store_overlay_freeze(struct store_overlay *ov) WARN_UNUSED NONNULL(1);

/*
 * Write the frozen generation to LMDB in one write transaction and commit
 * it (durable on return). Any thread. Returns 0 (also when nothing is
 * frozen), ERR_FULL (map full) or ERR_IO; on failure LMDB is unchanged.
 */
int store_overlay_flush(struct store_overlay *ov) WARN_UNUSED NONNULL(1);

/*
 * The last successful store_overlay_flush(): its entries (keys written
 * or deleted) and the pages its commit wrote (bytes the flushing thread
 * passed to write calls, /proc/thread-self/io, over LMDB's page size; 0
 * when that cannot be read). Without a write map LMDB mallocs one heap
 * page for every page a write transaction dirties and keeps each on a
 * free list after the commit, never freed: the process's heap holds as
 * many pages as the largest commit ever wrote, so the caller bounds the
 * pages of a commit by bounding its entries (scorer.h, commit_cap).
 * Read on the writer thread after the flush has been seen to finish.
 */
void store_overlay_flushed(const struct store_overlay *ov, size_t *entries,
    size_t *pages) NONNULL(1, 2, 3);

/*
 * After a successful flush: renew the snapshot so that it holds the
 * flushed data, then drop the frozen generation. Returns 0 or ERR_IO.
 */
int store_overlay_settle(struct store_overlay *ov) WARN_UNUSED NONNULL(1);

/*
 * Grow the map of the overlay's store to `map_bytes` while the process
 * runs (after ERR_FULL, or before it): ends the overlay's read snapshot,
 * resizes, and begins it again. No flush may be running and no other
 * transaction of this process may be open; views from the overlay txn
 * die. Writer thread. Returns 0 or ERR_IO (the snapshot is then renewed
 * at the old size if it can be; the caller should recover).
 */
int store_overlay_set_map_bytes(
    struct store_overlay *ov, size_t map_bytes) WARN_UNUSED NONNULL(1);

/*
 * Drop both generations unflushed (a rollback) and renew the snapshot.
 * No flush may be running. Returns 0 or ERR_IO.
 */
int store_overlay_discard(struct store_overlay *ov) WARN_UNUSED NONNULL(1);

#endif
