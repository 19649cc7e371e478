/*
 * vault.h - per-subject salts and tokens: how erasure makes what stays
 *           unlinkable (crypto-shredding)
 *
 * THE DESIGN. Every data subject the scorer stores or records (an
 * account, order, device, IP and its /24, email, phone, name, card,
 * address, an updated value: the pseudonyms of common/pseudo.h) gets a
 * random 16-byte salt of its own the first time an event names it, and
 * from then on is known everywhere at rest only by its TOKEN:
 *
 *     token = BLAKE2b-128(key = salt, message = pseudonym)
 *
 * The scorer swaps each pseudonym of an event for its token before the
 * event touches history or the audit log (vault_tokenize()), so LMDB's
 * history keys, the audit records' subjects and the subject index hold
 * tokens, never pseudonyms. The salts live here, in one file,
 * DATA_DIR/subjects.vault (mapped: its page cache is the only copy in
 * memory), nowhere else at rest but the journal (below). Erasing a
 * person destroys the salts of their subjects: the vault slot is
 * overwritten with zeros in place (through the map, then fdatasync) and
 * its index cells removed. From then on nobody
 * holding the keys directory, the data directory, the journal and the
 * audit log can compute those tokens from an identifier: the
 * pseudonym key still gives the pseudonym, but the salt that turns it
 * into the token is gone. The append-only audit log keeps its records
 * (so `vigilctl audit verify` still passes), but the tokens in them
 * point to nobody.
 *
 * Why a file of its own and not LMDB: LMDB is copy-on-write and never
 * zeroes what it frees. A deleted row survives in free pages, and a
 * page buffer LMDB reuses carries old bytes into the unused gap of
 * live pages (mdb_page_copy() skips the gap, mdb_page_malloc() does not
 * clear recycled buffers), so a salt deleted from LMDB can still be read
 * from data.mdb. History rows are keyed by tokens, so their leftovers
 * are unlinkable once the salt is gone; the salts themselves must sit
 * where an overwrite destroys them: fixed 64-byte slots of a plain file,
 * overwritten in place. (On a copy-on-write file system or an SSD the
 * old block may survive below the file; the vault is then as strong as
 * the disk's own erasure: see scorer.8, CRYPTO-SHREDDING.)
 *
 * Durability: a new salt travels in the journal record of the event
 * that made it (group.c), which is synced before the event is
 * acknowledged; its slot is written in place at once (a store into the
 * file's shared map: the page cache, which a kill -9 does not lose, not
 * synced); the flusher fdatasyncs the vault (vault_sync_file()) before
 * every LMDB commit, and the journal is only released behind a commit,
 * so every salt that history or an acknowledged event depends on is
 * durable in the vault or in the journal, and replay restores it
 * (vault_restore()). A salt made for a query op is synced before the
 * op's audit record.
 *
 * FILE FORMAT (little-endian; this module is its only reader and writer):
 *   header, 64 bytes: "VIGILVLT", u32 version (2), u32 slot size (64),
 *                     16-byte random id of this vault, 28 zero bytes,
 *                     u32 CRC32C of bytes 0..59
 *   slot i at offset 64 * (i + 1), 64 bytes:
 *       0  u32  CRC32C of bytes 4..63
 *       4  u8   1 (in use)
 *       5  u8   kind (enum vault_kind)
 *       6  2    zero
 *       8  16   the pseudonym
 *      24  16   the salt
 *      40  16   the token, BLAKE2b-128(salt, pseudonym) (covered by the
 *               CRC; not recomputed when read, see vault.c slot_state)
 *      56  8    zero
 *   A slot of 64 zero bytes is free: erased, or never used (the file
 *   grows 1 MiB of zero slots at a time, fallocated, so that a store in
 *   the map never meets a full disk). A new subject always takes the
 *   next slot; an erased one is never reused.
 *   Version 1 (no id, no index file) is read and made version 2 at the
 *   first open (its index is built then: one O(subjects) open).
 *
 * THE INDEX, DATA_DIR/subjects.vault.idx (derived data: rebuilt from
 * the slots whenever it does not check):
 *   header, one 4096-byte page: "VIGILVIX", u32 version (1), u32 log2 of
 *     the cells per table, the vault's id, u64 next (every slot below it
 *     is in both tables), u64 live (subjects below next), u32 state
 *     (1 clean, 2 erasing), 8 zero bytes, u32 CRC32C of bytes 0..59;
 *   then two tables of 2^log2 u32 cells, by pseudonym then by token:
 *     slot + 1 or 0 (empty); a cell's place is the low bits of the key's
 *     first 8 bytes (linear probing). A cell names no value, only a slot
 *     number; an erasure removes its cells (backward shift) along with
 *     the slot's bytes.
 *   Open costs O(slots past `next`), not O(subjects): see vault.c for
 *   why the header never claims more than is durable (kill -9 or power
 *   cut), and when the index is rebuilt (logged, with the reason).
 *
 * Memory: nothing per subject; both files are mapped (page cache):
 * 64 bytes a subject in the vault, 16 to 32 bytes in the index (two
 * tables of u32 cells, a quarter to half full). Lookups
 * by pseudonym and by token are one hash probe each (two mapped pages).
 *
 * Invariants:
 *  - every in-use slot's token is BLAKE2b-128(salt, pseudonym); one
 *    pseudonym has at most one slot; an erased slot is all zero.
 *  - only the scorer's main thread calls anything here but
 *    vault_sync_file(), which the flusher thread may call concurrently
 *    (it syncs and writes the index header under the vault's locks).
 *
 * See also: scorer/scorer.h (the group commit and the journal record),
 *           scorer/erase.h (what erasure destroys), scorer.8
 *           ("CRYPTO-SHREDDING"), common/pseudo.h, common/subjidx.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_VAULT_H
#define SCORER_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/pseudo.h"

#define VAULT_FILE       "subjects.vault" /* inside the data directory */
#define VAULT_SALT_BYTES 16
#define VAULT_SLOT_BYTES 64

/* What a subject is: the event field it was first named by. */
enum vault_kind {
    VAULT_KIND_NONE = 0,
    VAULT_KIND_ACCOUNT,
    VAULT_KIND_ORDER,
    VAULT_KIND_DEVICE,
    VAULT_KIND_IP,
    VAULT_KIND_IP24,
    VAULT_KIND_EMAIL,
    VAULT_KIND_PHONE,
    VAULT_KIND_NAME,
    VAULT_KIND_CARD,
    VAULT_KIND_ADDRESS,
    VAULT_KIND_VALUE,
    VAULT_KIND_IP16,
    VAULT_KIND_COUNT
};

/* "account", "order", ...; static; "" for NONE or a bad value. */
const char *vault_kind_name(enum vault_kind k);

struct vault;

/*
 * Open the vault file `path` and its index `path`.idx (mapped; only the
 * slots past what the index covers are read, or every slot when the
 * index is rebuilt or a version 1 file migrated). When the file does not
 * exist: with `create` make it (O_EXCL, mode 0600, header fsynced,
 * directory fsynced) and its index, else ERR_NOTFOUND. A slot read
 * whose CRC does not check is counted (vault_damaged()), logged without
 * its content and treated as free; a torn one at the end (a crash's
 * half-written append) is wiped. `*out` is freed with vault_close().
 * Returns 0, ERR_NOTFOUND, ERR_CORRUPT (not a vault: bad header; or one
 * pseudonym in two slots), ERR_FULL or ERR_IO.
 */
int vault_open(const char *path, bool create, struct vault **out) WARN_UNUSED
    NONNULL(1, 3);

/* Sync both files (vault_sync_file()), unmap, close, free. NULL is a
 * no-op. */
void vault_close(struct vault *v);

/* Subjects in the vault. */
size_t vault_count(const struct vault *v) NONNULL(1);

/* Bytes of the vault file and of its index file (both mapped: page
 * cache, not the heap). Main thread. */
uint64_t vault_file_bytes(const struct vault *v) NONNULL(1);
uint64_t vault_index_bytes(const struct vault *v) NONNULL(1);

/* Slots found damaged by vault_open() (and treated as free): in the
 * slots it read (the tail past the index, or all of them when the index
 * was rebuilt). */
uint64_t vault_damaged(const struct vault *v) NONNULL(1);

/* Slots vault_open() read: the tail past what the index covers, or every
 * slot when it rebuilt the index (tests count work with it). */
uint64_t vault_open_scanned(const struct vault *v) NONNULL(1);

/*
 * Put the token of pseudonym `p` in `*token`. When `p` has no salt yet:
 * with `create`, make one (random), write its slot (not synced) and set
 * `*created` (may be NULL); else ERR_NOTFOUND. Main thread.
 * Returns 0, ERR_NOTFOUND, ERR_FULL (no space for the slot) or ERR_IO
 * (the slot could not be written: nothing was made).
 */
int vault_token(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    bool create, struct pseudo *token, bool *created) WARN_UNUSED
    NONNULL(1, 2, 5);

/*
 * Find the subject whose token is `token`: its pseudonym into `*p` and
 * its kind into `*kind` (either may be NULL). Returns 0 or ERR_NOTFOUND.
 */
int vault_lookup_token(const struct vault *v, const struct pseudo *token,
    struct pseudo *p, enum vault_kind *kind) WARN_UNUSED NONNULL(1, 2);

/*
 * Copy the salt and kind of pseudonym `p` (for the journal record of the
 * event that made it). Returns 0 or ERR_NOTFOUND.
 */
int vault_salt(const struct vault *v, const struct pseudo *p,
    uint8_t salt[VAULT_SALT_BYTES], enum vault_kind *kind) WARN_UNUSED
    NONNULL(1, 2, 3, 4);

/*
 * Put back the salt of `p` as the journal recorded it (replay). A
 * no-op when the vault holds the same salt. Returns 0, ERR_CORRUPT (the
 * vault holds another salt for `p`: the journal and the vault disagree;
 * logged), ERR_FULL or ERR_IO.
 */
int vault_restore(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    const uint8_t salt[VAULT_SALT_BYTES]) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Destroy the salt of the subject whose token is `token`: overwrite its
 * slot with zeros in place and remove its index cells (not synced: call
 * vault_sync(), which also ends the index's "erasing" state). Returns 0,
 * ERR_NOTFOUND (no such subject) or ERR_IO (the index could not be
 * marked "erasing", synced; nothing was changed).
 */
int vault_erase(struct vault *v, const struct pseudo *token) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Make every slot written so far and its index durable (both files
 * fdatasynced, then the index header written: see the top), and end an
 * erasure's "erasing" state. Main thread. Returns 0 or ERR_IO.
 */
int vault_sync(struct vault *v) WARN_UNUSED NONNULL(1);

/*
 * Make every slot written so far durable (the vault file fdatasynced),
 * and the index too once 65,536 slots came since its header last moved
 * (then the index is fdatasynced and its header written: see the top;
 * in between, an open after a crash re-reads at most that many slots
 * plus one growth step). Any thread (see the invariants). Returns 0 or
 * ERR_IO.
 */
int vault_sync_file(struct vault *v) WARN_UNUSED NONNULL(1);

/* Times the index was made durable (its header moved): syncs and
 * rebuilds since open (tests count work with it). */
uint64_t vault_index_syncs(const struct vault *v) NONNULL(1);

/* ------------------------------------------------------ tokenizing */

/* The most subjects one event names (the fields vault_tokenize() maps). */
#define VAULT_EVENT_SUBJECTS 13

/* The salts one vault_tokenize() call made: what its journal record
 * must carry, and which kinds of subject they were for. A subject whose
 * salt was just made has a token nothing can be stored under yet (the
 * salt is fresh random bytes), which history uses to skip looking up
 * its keys (history_apply()'s `fresh`). */
struct vault_made {
    unsigned n;
    struct pseudo p[VAULT_EVENT_SUBJECTS];
    uint32_t kinds; /* 1u << enum vault_kind of each salt made */
};

/*
 * Make `*out` a copy of `ev` in which every subject pseudonym (account,
 * order, device, ip, ip24, ip16, email, phone, name, card, billing,
 * shipping, value) is replaced by its token, and the pseudonym nothing
 * keeps (session) is zeroed. With `create` subjects without a salt get
 * one (listed in `*made`, may be NULL); without, such a subject keeps a
 * zero token and its EVENT_HAS_* bit is left out of `*named` (the
 * fields that carry a token: the record's subjects). `out` may not
 * alias `ev`. Returns 0 or, with `create`, ERR_FULL / ERR_IO (nothing
 * usable in `*out`; salts made before the failure stay).
 */
int vault_tokenize(struct vault *v, const struct event *ev, bool create,
    struct event *out, uint32_t *named, struct vault_made *made) WARN_UNUSED
    NONNULL(1, 2, 4, 5);

#endif
