/*
 * subjidx.h - the audit subject index: which audit records name a subject
 *
 * The scorer indexes every audit record it appends by each of the
 * record's subjects (16-byte per-subject tokens, scorer/vault.h), in one
 * LMDB database of its history environment, so that its subject.report
 * and subject.erase operations find one person's records without
 * reading the whole log first. The index is derived data: the audit log
 * is the truth, the scorer indexes the records past the watermark again
 * on start (record_reindex), and every record listed is read back from
 * the log. Only the scorer opens it: tools ask the scorer (an audited
 * operation), never the files.
 *
 * ON-DISK LAYOUT (this module is its only reader and writer):
 *   environment  DATA_DIR/history (SUBJIDX_ENV_DIR), the scorer's
 *                history LMDB environment
 *   database     "audit_subject" (SUBJIDX_DB)
 *   entry        key   = the record index's epoch (index >> 16, 4 bytes
 *                        big-endian) || subject (16 bytes) || the index's
 *                        low 16 bits (2 bytes, big-endian),
 *                        SUBJIDX_KEY_BYTES (22) in all
 *                value = empty
 *                Epoch first, so that the records of one commit (a few
 *                thousand, consecutive) land in the newest epoch's pages
 *                and not one page each across the whole index (a
 *                subject's token is random); big-endian, so that LMDB's
 *                byte order lists one subject's records of an epoch in
 *                ascending index order. A subject's records are read
 *                with one seek per epoch (subjidx_list).
 *   old entry    key   = subject (16 bytes) || record index (8 bytes,
 *                        big-endian), SUBJIDX_V1_KEY_BYTES (24): written
 *                        before 2026-12-05; still listed and deleted.
 *   watermark    key   = the 7 ASCII bytes "indexed" (SUBJIDX_INDEXED_KEY)
 *                value = 8 bytes, uint64_t in the host's byte order: the
 *                        number of audit records indexed so far
 *                (It cannot collide with an entry: it is 7 bytes long.)
 *   anchor       key   = the 6 ASCII bytes "anchor" (SUBJIDX_ANCHOR_KEY)
 *                value = 49 bytes: the audit log's size (8 bytes, uint64_t,
 *                        host order), the Merkle root of that size (32),
 *                        the journal sequence it covers (8, host order),
 *                        then 1 if the scorer stopped cleanly at that
 *                        size, else 0 (struct audit_anchor; issue 8:
 *                        the signed tree head kept outside the log)
 *   key id       key   = the 6 ASCII bytes "key_id" (SUBJIDX_KEY_ID_KEY)
 *                value = PSEUDO_KEY_ID_HEX ASCII bytes: the id of the
 *                        pseudonym key every subject here was made with
 *
 * Writes go through the caller's write transaction (the scorer's overlay
 * transaction, main thread); subjidx_list() reads through a read
 * transaction of the committed state (cursors do not see the overlay:
 * the scorer commits first).
 *
 * Invariants:
 *  - every key of the database is either SUBJIDX_KEY_BYTES or
 *    SUBJIDX_V1_KEY_BYTES long (an entry), the watermark, the anchor or
 *    the key id; anything else is corruption.
 *  - an entry may only name a record that holds its subject; the index
 *    may lag the log (records past the watermark), never lead it: an
 *    entry past the watermark's epoch is not listed.
 *
 * See also: common/store.h, common/audit.h (subjects), scorer/scorer.h
 *           (dbi_subject, indexed), scorer/vault.h (tokens),
 *           scorer/query_dpo.c, scorer/erase.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_SUBJIDX_H
#define COMMON_SUBJIDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "common/store.h"

#define SUBJIDX_ENV_DIR      "history"       /* inside the data directory */
#define SUBJIDX_DB           "audit_subject" /* the database's name */
#define SUBJIDX_INDEXED_KEY  "indexed"       /* the watermark's key */
#define SUBJIDX_KEY_ID_KEY   "key_id"        /* the pseudonym key's id */
#define SUBJIDX_ANCHOR_KEY   "anchor"        /* the audit log's anchor */
#define SUBJIDX_ANCHOR_BYTES 49
#define SUBJIDX_EPOCH_BITS   16 /* records an epoch: 65,536 */
#define SUBJIDX_KEY_BYTES    (4 + AUDIT_SUBJECT_BYTES + 2)
#define SUBJIDX_V1_KEY_BYTES (AUDIT_SUBJECT_BYTES + 8)
#define SUBJIDX_MAX_INDEX    ((UINT64_C(1) << (32 + SUBJIDX_EPOCH_BITS)) - 1)

/* Encode the key of the entry (subject, index) into `out`. */
void subjidx_key_encode(const uint8_t subject[AUDIT_SUBJECT_BYTES],
    uint64_t index, uint8_t out[SUBJIDX_KEY_BYTES]) NONNULL(1, 3);

/*
 * Decode an entry's key of `klen` bytes, of either layout, into its
 * subject (when `subject` is not NULL) and record index.
 * Returns 0, or ERR_CORRUPT (neither SUBJIDX_KEY_BYTES nor
 * SUBJIDX_V1_KEY_BYTES long).
 */
int subjidx_key_decode(const void *k, size_t klen,
    uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t *index) WARN_UNUSED
    NONNULL(1, 4);

/*
 * Open the index database in `txn` into `*dbi`; with `create` (a write
 * txn) it is created when missing. The handle outlives `txn` once that
 * commits (store_dbi()). Returns as store_dbi().
 */
int subjidx_dbi(struct store *st, struct store_txn *txn, bool create,
    unsigned *dbi) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Record that audit record `index` (at most SUBJIDX_MAX_INDEX, 2^48 - 1)
 * names `subject`, in write txn `txn` (the scorer's overlay txn).
 * Idempotent. Returns as store_put(), or ERR_INVAL for a larger index.
 */
int subjidx_put(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index) WARN_UNUSED
    NONNULL(1, 3);

/*
 * Read the watermark (audit records indexed so far) into `*indexed`: 0
 * when there is none yet, or when it is not 8 bytes long (then every
 * record is indexed again, which is harmless: puts are idempotent).
 * Returns 0 or ERR_IO.
 */
int subjidx_indexed_get(struct store_txn *txn, unsigned dbi,
    uint64_t *indexed) WARN_UNUSED NONNULL(1, 3);

/* Store the watermark `indexed` in write txn `txn`. Returns as
 * store_put(). */
int subjidx_indexed_put(struct store_txn *txn, unsigned dbi,
    uint64_t indexed) WARN_UNUSED NONNULL(1);

/*
 * Read the id of the pseudonym key the index was made with into `out`
 * (PSEUDO_KEY_ID_HEX characters and a NUL): "" when none is recorded.
 * Returns 0, ERR_CORRUPT (not PSEUDO_KEY_ID_HEX long) or ERR_IO.
 */
int subjidx_key_id_get(struct store_txn *txn, unsigned dbi,
    char out[PSEUDO_KEY_ID_HEX + 1]) WARN_UNUSED NONNULL(1, 3);

/*
 * Read the audit log's anchor (the last signed size and root the scorer
 * stored, the journal sequence it covers, and whether it stopped cleanly
 * there) into `*a`: all zero when none is stored yet.
 * Returns 0, ERR_CORRUPT (not SUBJIDX_ANCHOR_BYTES long) or ERR_IO.
 */
int subjidx_anchor_get(struct store_txn *txn, unsigned dbi,
    struct audit_anchor *a) WARN_UNUSED NONNULL(1, 3);

/* Store the anchor `a` in write txn `txn`. Returns as store_put(). */
int subjidx_anchor_put(struct store_txn *txn, unsigned dbi,
    const struct audit_anchor *a) WARN_UNUSED NONNULL(1, 3);

/* Store key id `id` (PSEUDO_KEY_ID_HEX characters) in write txn `txn`. */
int subjidx_key_id_put(struct store_txn *txn, unsigned dbi,
    const char *id) WARN_UNUSED NONNULL(1, 3);

/*
 * Delete the entry (subject, index), of either layout, in write txn
 * `txn`. A missing entry is not an error. Returns 0, ERR_FULL or ERR_IO.
 */
int subjidx_del(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t index) WARN_UNUSED
    NONNULL(1, 3);

/*
 * Read every record index the index holds for `subject` through read
 * txn `txn` (a real LMDB transaction: a cursor cannot walk the overlay).
 * On success `*indexes` holds `*n` indexes in ascending order, each
 * once (an old entry and a new one of the same record count once);
 * caller frees it with free() (NULL when *n is 0). On failure *indexes
 * is NULL and *n 0. Cost: one seek per epoch up to the watermark's, and
 * one for the old entries.
 * Returns 0; ERR_CORRUPT (a key of the wrong length, or keys out of
 * order); ERR_INVAL (an overlay txn); ERR_IO.
 */
int subjidx_list(struct store_txn *txn, unsigned dbi,
    const uint8_t subject[AUDIT_SUBJECT_BYTES], uint64_t **indexes,
    size_t *n) WARN_UNUSED NONNULL(1, 3, 4, 5);

#endif
