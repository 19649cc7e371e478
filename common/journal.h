/*
 * journal.h - the scorer's write-ahead log: checksummed, numbered records
 *             in segment files
 *
 * The scorer appends the internal encoding of every new event here, syncs
 * once per group of events (one fdatasync) and only then acknowledges
 * them: acknowledged means durable. LMDB commits lag behind and record
 * the last journal seq they cover ("applied_seq"); after a crash the
 * scorer replays the records with seq > applied_seq through the same pure
 * path. Whole segments at or below a synced applied_seq may be released.
 *
 * On disk: directory `dir` holds segment files named by the seq of their
 * first record as 20 decimal digits plus ".seg"
 * ("00000000000000000001.seg"), and a "LOCK" file held with flock() while
 * the journal is open. A segment is a plain sequence of records:
 *
 *     u32 len     payload length, 0..JOURNAL_MAX_PAYLOAD
 *     u32 crc     CRC32C (Castagnoli, reflected, poly 0x82F63B78, init and
 *                 final xor 0xFFFFFFFF; common/crc32c.h) over the 8 seq
 *                 bytes then payload
 *     u64 seq     1, 2, 3, ... with no gap, across segments too
 *     u8  payload[len]
 *
 * all integers little-endian; no file header, no padding.
 *
 * Invariants:
 *  - seqs are consecutive: the first record of a segment has the seq in
 *    its name; each next record has seq + 1; the next segment starts
 *    where the previous one ends.
 *  - only the last segment may end in a torn or corrupt tail (a power cut
 *    during a write that was never synced, hence never acknowledged);
 *    journal_open() cuts it back to the last whole record. A bad record
 *    in any other segment, or one followed by more than
 *    JOURNAL_MAX_PENDING bytes (more than one unsynced write can hold),
 *    is ERR_CORRUPT: acknowledged data would be lost, so refuse to start.
 *    (A bit flip inside the last write's span cannot be told from a torn
 *    write: it is cut, and the cut is logged.)
 *  - records are written with pwrite() at a known offset (no O_APPEND);
 *    a failed sync truncates the file back to its last durable length.
 *
 * Not thread-safe: one thread (the scorer's main loop) uses a journal.
 *
 * See also: scorer/scorer.h (group commit), scorer/history.h (applied_seq),
 *           common/segfile.h (the segment files, LOCK, sync and cut)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_JOURNAL_H
#define COMMON_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define JOURNAL_MAX_PAYLOAD  (1024 * 1024)       /* bytes in one record */
#define JOURNAL_HEADER_BYTES 16                  /* len + crc + seq */
#define JOURNAL_MAX_PENDING  (64u * 1024 * 1024) /* appended, not synced */
#define JOURNAL_MIN_SEGMENT  4096                /* smallest segment_bytes */

struct journal;

/*
 * Called by journal_replay() for each record: `payload` is borrowed and
 * valid only during the call. Return 0 to go on, nonzero to stop.
 */
typedef int (*journal_replay_cb)(
    void *arg, uint64_t seq, const void *payload, size_t len);

/*
 * Return crc32c(crc, p, len) (common/crc32c.h). Kept so that older
 * callers build unchanged; new code calls crc32c() directly.
 */
uint32_t journal_crc32c(uint32_t crc, const void *p, size_t len) NONNULL(2);

/*
 * Open the journal in `dir` (created 0700 if missing), taking its lock.
 * Scans every segment and validates every record. A torn or corrupt tail
 * of the last segment is cut off (ftruncate + fsync; the number of bytes
 * cut is logged). If there is no segment, the first one starts at seq 1.
 * A new segment is started when the current one has reached
 * `segment_bytes` (>= JOURNAL_MIN_SEGMENT) at a sync. `*out` is freed
 * with journal_close().
 * Returns 0, ERR_INVAL (bad argument), ERR_AGAIN (another process holds
 * the lock), ERR_CORRUPT (a bad record outside the tail, a seq gap, an
 * unexpected file name), ERR_DENIED (the directory is another user's,
 * open to group or others, or a link: segfile_open()) or ERR_IO.
 */
int journal_open(const char *dir, uint64_t segment_bytes,
    struct journal **out) WARN_UNUSED NONNULL(1, 3);

/* Close the journal, discarding records appended since the last sync.
 * journal_close(NULL) is a no-op. */
void journal_close(struct journal *j);

/* Return the seq the next journal_append() will get. */
uint64_t journal_next_seq(const struct journal *j) NONNULL(1);

/* Return the seq of the first durable record on disk (== next_seq when
 * the journal is empty). */
uint64_t journal_first_seq(const struct journal *j) NONNULL(1);

/* Return the number of bytes appended but not yet synced. */
size_t journal_pending_bytes(const struct journal *j) NONNULL(1);

/*
 * Buffer one record holding a copy of `payload` (`len` bytes) and set
 * `*seq_out` to its seq. Nothing is written until journal_sync().
 * Returns 0, ERR_TOOBIG (len > JOURNAL_MAX_PAYLOAD, or more than
 * JOURNAL_MAX_PENDING bytes pending: sync first) or ERR_IO (the journal
 * failed earlier and must be reopened).
 */
int journal_append(struct journal *j, const void *payload, size_t len,
    uint64_t *seq_out) WARN_UNUSED NONNULL(1, 4);

/*
 * Make every record appended since the last sync durable: one pwrite()
 * of the buffered records at the end of the current segment, then one
 * fdatasync(). Rolls to a new segment first (fsyncing the directory)
 * when the current one has reached segment_bytes. With nothing pending
 * it returns 0 at once.
 * On failure the pending records are NOT durable and are dropped: the
 * file is truncated back to its last durable length and next_seq goes
 * back to the first dropped seq, so the caller must treat those events
 * as never received (do not acknowledge them; roll back whatever state
 * it derived from them). Returns 0, ERR_FULL (ENOSPC, EDQUOT, EFBIG) or
 * ERR_IO; if even the truncation fails the journal is marked failed and
 * every later call returns ERR_IO until it is reopened.
 */
int journal_sync(struct journal *j) WARN_UNUSED NONNULL(1);

/*
 * Drop the records appended since the last sync without writing them;
 * next_seq goes back to the first dropped seq.
 */
void journal_discard(struct journal *j) NONNULL(1);

/*
 * Call `cb` for every durable record with seq >= `from_seq`, in order
 * (records only appended, not synced, are not visited). Stops at the
 * first nonzero return of `cb` and returns it. Records are re-checked:
 * a bad one gives ERR_CORRUPT, and so does a `from_seq` below
 * journal_first_seq() (those records were released or lost: the store
 * would miss them). `from_seq` 0 means 1. Returns 0, cb's value,
 * ERR_CORRUPT or ERR_IO.
 */
int journal_replay(struct journal *j, uint64_t from_seq, journal_replay_cb cb,
    void *arg) WARN_UNUSED NONNULL(1, 3);

/*
 * Delete every segment whose records all have seq <= `seq`, except the
 * current (last) one, and fsync the directory. Call it only with a seq
 * already covered by a DURABLE LMDB commit (with the scorer's lazy meta
 * pages, STORE_LAZY_META: the previous commit's). Returns 0 or ERR_IO.
 */
int journal_release_upto(struct journal *j, uint64_t seq) WARN_UNUSED
    NONNULL(1);

/*
 * Make the journal hold no record with seq <= `seq` (a seq already
 * covered by a synced LMDB commit), overwriting what it removes: start
 * a new segment at the next seq (when the current one holds records),
 * then overwrite with zeros and delete every segment before it
 * (segfile_shred_oldest). For erasure: no journal file still holds an
 * erased subject's events or salts. When records above `seq` are durable
 * already, the segment holding them stays (and with it the records below
 * `seq` it holds). Nothing may be pending. `*removed` gets the segments
 * removed. Returns 0, ERR_INVAL (records pending, or seq >= the next
 * seq), ERR_FULL or ERR_IO.
 */
int journal_shred_upto(
    struct journal *j, uint64_t seq, size_t *removed) WARN_UNUSED NONNULL(1, 3);

/*
 * Make the next record's seq at least `next_seq`, starting a new segment
 * named after it if needed. For a journal that is behind the store (its
 * files were lost while LMDB says applied_seq = next_seq - 1): new
 * records must never reuse a seq the store already covers. Nothing may
 * be pending. No-op when next_seq <= journal_next_seq().
 * Returns 0, ERR_INVAL (records pending) or ERR_IO.
 */
int journal_skip_to(struct journal *j, uint64_t next_seq) WARN_UNUSED
    NONNULL(1);

#endif
