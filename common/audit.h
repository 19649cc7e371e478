/*
 * audit.h - the personal-data audit log: record format, append-only
 *           writer, reader and verifier core
 *
 * One header for the audit_*.c files: audit_record.c (names and the
 * record codec), audit_log.c and audit_log_open.c (the writer: commit;
 * open, repair, background verify), audit_verify.c (verify,
 * replay, proofs) and audit_scan.c (the one scan under the writer's open
 * and the verifier; internal header audit_scan.h). The segment files are
 * common/segfile.c's.
 *
 * The scorer is the only writer: it appends one record for every access
 * to personal data (each event stored, each query answered, labels,
 * exports, erasures, key changes, repairs) through the same group commit
 * as its journal, and makes the records durable BEFORE the data they
 * cover is acknowledged or returned. `vigilctl audit` reads the files
 * directly, read-only (it works on a copy too). Sizes: records are about
 * 150-400 bytes; millions of them; verification is linear and runs at
 * well over 500,000 records/s.
 *
 * THE FAIL-CLOSED RULE. Any function that stores, returns or erases
 * personal data calls audit_append() and then audit_sync() (or shares a
 * group commit that calls it) first; if either fails it refuses the
 * access with ERR_AUDIT and returns no data. Nothing is ever returned
 * "and audited later".
 *
 * Invariants:
 *  - record i (0-based) is leaf i of one RFC 9162 Merkle tree over the
 *    whole log; its "i" field equals its position: a gap, a repeat or a
 *    swap is corruption, never "a missing record".
 *  - files only grow, except that the writer cuts a torn tail of the
 *    last segment (a write that was never synced, hence never covered
 *    an acknowledged access) and then logs a "log.repair" record.
 *  - every checkpoint in checkpoints.log is signed, names a strictly
 *    larger size than the one before it, and its root is the root of
 *    the first `size` records.
 *  - no raw direct identifier is ever in a record: subjects are
 *    16-byte keyed pseudonyms (common/pseudo.h).
 *
 * Deviation: the record decoder is a small strict reader of its own (not
 * msgpack_unpack*): the format is fixed, and an independent reader keeps
 * it independent of any library's leniency.
 *
 * See also: tools/vigil-audit.5 (the same specification as a man page),
 *           tools/vigilctl.1, common/merkle.h, common/note.h,
 *           common/segfile.h, common/crc32c.h,
 *           c2sp.org/tlog-checkpoint, c2sp.org/signed-note, RFC 9162
 *
 * SPDX-License-Identifier: MIT
 */

/*
 * ======================================================================
 * FORMAT SPECIFICATION (record version 2; version 1 is still read)
 * ======================================================================
 *
 * 1. Record payload
 *
 * A record is a MessagePack map of exactly 13 entries (version 2; 11 in
 * version 1, which has no "peer" and "size"), with the keys in this
 * order and every value in its SHORTEST MessagePack encoding (so a
 * record has exactly one valid byte string: decoding and re-encoding
 * gives the same bytes; anything else is rejected):
 *
 *   #  key       value
 *   1  "v"       positive integer 2 (the format version; 1 in a map of
 *                11 entries)
 *   2  "i"       unsigned integer: the record's index, 0-based, equal to
 *                its Merkle leaf index and its position in the log
 *   3  "ts"      unsigned integer: wall-clock time of the access, in
 *                milliseconds since 1970-01-01T00:00:00Z
 *   4  "actor"   string, 1..128 bytes: the authenticated actor's name
 *   5  "role"    string, one of: storefront analyst auditor dpo admin
 *                system
 *   6  "op"      string, 1..64 bytes of [a-z0-9._-]: the operation, e.g.
 *                event.store score.get account.get label.put export
 *                erasure key.change log.repair service.start
 *   7  "cats"    array of 0..8 strings: the data categories touched, each
 *                one of (in this order) device ip contact address
 *                payment account order score; listed in that order with
 *                no repeats
 *   8  "subj"    array of 0..16 binaries of exactly 16 bytes: the data
 *                subjects' pseudonyms, in the order the writer gave
 *   9  "purpose" string, 1..64 bytes of [a-z0-9._-]: the stated purpose,
 *                e.g. fraud-prevention chargeback-review audit
 *                erasure-request
 *  10  "outcome" string, one of: allowed denied error
 *  11  "ref"     string, 0..128 bytes: the request or event id, as the
 *                hex of a keyed hash when a client chose it (an
 *                event.store of a scored order: then " model " and the
 *                model's version, scorer/record.h)
 *  12  "peer"    string, 0..64 bytes of [A-Za-z0-9.:%_[]-]: the network
 *                address of the client ("" when not known)
 *  13  "size"    unsigned integer: bytes of the answer returned (0 when
 *                none)
 *
 * "actor" and "ref" are UTF-8 without control characters (no byte
 * < 0x20 and no 0x7F). MessagePack encodings used (all integers in the
 * encoding are big-endian, as MessagePack requires):
 *   map            0x8d (13 entries, version 2), 0x8b (11, version 1)
 *   key strings    fixstr (0xa0 | len) then the bytes
 *   unsigned int   0x00-0x7f (value < 128), 0xcc u8 (< 2^8), 0xcd u16
 *                  (< 2^16), 0xce u32 (< 2^32), 0xcf u64; the shortest
 *                  that fits
 *   string         fixstr (len <= 31), else 0xd9 u8 len (<= 255)
 *   array          fixarray 0x90 | n (n <= 15), else 0xdc u16 n
 *   binary         0xc4 0x10 then 16 bytes
 * No other type appears. Nothing follows the map. A payload is at most
 * AUDIT_MAX_RECORD_BYTES (1024) bytes.
 *
 * 2. Files, in the audit directory (DATA_DIR/audit)
 *
 *   records-<N>.log   record segments; <N> is the index of the
 *                     segment's first record as 20 decimal digits. The
 *                     segments, sorted by N, hold records 0, 1, 2, ...
 *                     with no gap: each segment's N is the previous one's
 *                     N plus its record count. Only the last may be
 *                     empty. Each record is framed as
 *                         u32 LE  len   payload length, 1..1024
 *                         u32 LE  crc   CRC32C (Castagnoli, reflected,
 *                                       poly 0x82F63B78, init and final
 *                                       xor 0xFFFFFFFF) of the payload
 *                         len bytes     the payload (section 1)
 *                     with no file header and no padding.
 *   checkpoints.log   every checkpoint the writer signed, in order, each
 *                     framed as u32 LE len (1..4096) then len bytes: a
 *                     C2SP signed note whose text is a C2SP checkpoint
 *                         <origin>\n<size>\n<base64 root>\n
 *                     (size in decimal, root = the RFC 9162 Merkle tree
 *                     hash of records 0..size-1), followed by "\n" and
 *                     one signature line "\u2014 <key name> <base64(
 *                     4-byte key id || 64-byte Ed25519 signature)>\n".
 *                     Sizes are strictly increasing. The archive: the
 *                     writer adds one at checkpoint_records /
 *                     checkpoint_interval_ms, at start and at stop.
 *   checkpoint        the head: the latest signed checkpoint (the same
 *                     note, unframed, as c2sp.org/tlog-tiles serves it),
 *                     rewritten after a sync (group commit) at most
 *                     every head_interval_ms (the scorer's config; 0:
 *                     after EVERY sync), with the partial tiles of its
 *                     size written before it, so every acknowledged
 *                     record is covered by a signature within that
 *                     time. Not
 *                     synced: after a power cut it may lag or be torn
 *                     (the writer then ignores it); a verifier checks its
 *                     signature and its root like an archived one.
 *   tile/...          the Merkle tree's hashes and the records as C2SP
 *                     tlog-tiles (common/audit_tiles.h): derived data,
 *                     checked and rebuilt by the writer at open; proofs
 *                     read them and check every proof against a signed
 *                     root before handing it out.
 *   (no secret)       the signing key lives OUTSIDE this directory (the
 *                     scorer's signing_key, in keys_dir, 0600): the
 *                     writer refuses a directory holding "signing.key".
 *   verifier.key      the matching verifier key, one line (mode 0600):
 *                     "<name>+<id>+<base64(0x01 || 32-byte public key)>",
 *                     <id> = 8 lowercase hex digits of the key ID,
 *                     SHA-256(name || 0x0A || 0x01 || public key)[:4]. An
 * auditor should hold their own copy and pass it explicitly (vigilctl audit
 * verify
 *                     --key).
 *   LOCK              held with flock() while a writer has the log open.
 *
 * 3. Merkle tree
 *
 * Leaf hash = SHA-256(0x00 || payload) over the payload bytes exactly as
 * stored (not the frame). Node hash = SHA-256(0x01 || left || right).
 * Tree shape and proofs as RFC 9162 section 2.1.
 *
 * 4. What a verifier checks (audit_verify(), in this order)
 *
 *   a. checkpoints.log: every frame whole; every note signed by the
 *      given verifier key; the checkpoint's origin equals the key name;
 *      sizes strictly increasing.
 *   b. the segments, in order: names well-formed and contiguous; each
 *      frame whole, len within bounds, CRC matching; the payload decodes
 *      strictly (section 1); its "i" equals its position.
 *   c. when the record count reaches a checkpoint's size, the root of the
 *      records so far equals the checkpoint's root (a mismatch means a
 *      record after the previous checkpoint was changed without its CRC
 *      failing, i.e. deliberately).
 *   d. no checkpoint's size exceeds the record count ("log truncated").
 *   e. the same for the head (DIR/checkpoint) and for every tree head the
 *      caller brings from outside the directory: the scorer's anchor in
 *      its LMDB (audit_log_open()), an auditor's saved checkpoints
 *      (audit_verify_saved(), vigilctl audit verify --checkpoint).
 * Records after the last checkpoint are reported as not yet covered by a
 * signature: they pass checks a and b only (--strict makes that an
 * error).
 * ======================================================================
 */
#ifndef COMMON_AUDIT_H
#define COMMON_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"

#define AUDIT_VERSION          2    /* written; version 1 is still read */
#define AUDIT_MAX_RECORD_BYTES 1024 /* payload bytes of one record */
#define AUDIT_FRAME_BYTES      8    /* len + crc before each payload */
#define AUDIT_MAX_ACTOR        128
#define AUDIT_MAX_OP           64
#define AUDIT_MAX_PURPOSE      64
#define AUDIT_MAX_REF          128
#define AUDIT_MAX_PEER         64
#define AUDIT_MAX_SUBJECTS     16
#define AUDIT_SUBJECT_BYTES    16   /* == PSEUDO_BYTES */
#define AUDIT_MAX_NOTE_BYTES   4096 /* one signed checkpoint note */
#define AUDIT_MAX_ORIGIN       128
#define AUDIT_MAX_PATH         4096
#define AUDIT_KEY_FILE         "audit-signing.key" /* in the keys dir */
#define AUDIT_SEGMENT_BYTES    (64u * 1024 * 1024) /* default roll size */
#define AUDIT_MAX_PENDING      (16u * 1024 * 1024) /* unsynced bytes */

/* The role of the actor ("role"). */
enum audit_role {
    AUDIT_ROLE_STOREFRONT,
    AUDIT_ROLE_ANALYST,
    AUDIT_ROLE_AUDITOR,
    AUDIT_ROLE_DPO,
    AUDIT_ROLE_ADMIN,
    AUDIT_ROLE_SYSTEM,
    AUDIT_ROLE_COUNT
};

/* The outcome of the access ("outcome"). */
enum audit_outcome {
    AUDIT_OUTCOME_ALLOWED,
    AUDIT_OUTCOME_DENIED,
    AUDIT_OUTCOME_ERROR,
    AUDIT_OUTCOME_COUNT
};

/* Data categories ("cats"), as bits of audit_record.cats. Encoded in
 * bit order: device first, score last. */
enum audit_cat {
    AUDIT_CAT_DEVICE = 1u << 0,
    AUDIT_CAT_IP = 1u << 1,
    AUDIT_CAT_CONTACT = 1u << 2,
    AUDIT_CAT_ADDRESS = 1u << 3,
    AUDIT_CAT_PAYMENT = 1u << 4,
    AUDIT_CAT_ACCOUNT = 1u << 5,
    AUDIT_CAT_ORDER = 1u << 6,
    AUDIT_CAT_SCORE = 1u << 7,
};
#define AUDIT_CAT_COUNT 8
#define AUDIT_CAT_ALL   0xffu

/*
 * One audit record, decoded. Plain data, no pointers: copy it with `=`.
 * Strings are NUL-terminated within their arrays.
 */
struct audit_record {
    uint64_t index;                  /* "i": set by audit_append() */
    uint64_t ts_ms;                  /* "ts": wall clock, ms */
    char actor[AUDIT_MAX_ACTOR + 1]; /* "actor": 1..128 bytes */
    enum audit_role role;            /* "role" */
    char op[AUDIT_MAX_OP + 1];       /* "op": 1..64, [a-z0-9._-] */
    uint32_t cats;                   /* "cats": AUDIT_CAT_* bits */
    uint8_t subj[AUDIT_MAX_SUBJECTS][AUDIT_SUBJECT_BYTES]; /* "subj" */
    unsigned nsubj;                      /* entries of subj in use, 0..16 */
    char purpose[AUDIT_MAX_PURPOSE + 1]; /* "purpose": 1..64, token */
    enum audit_outcome outcome;          /* "outcome" */
    char ref[AUDIT_MAX_REF + 1];         /* "ref": 0..128 bytes */
    /* Version 2. */
    char peer[AUDIT_MAX_PEER + 1]; /* "peer": the client's network
                                      address, "" when not known */
    uint64_t size;                 /* "size": bytes of the answer, 0 when
                                      nothing was returned */
    /* The format version: set by audit_record_decode(); for
     * audit_record_encode() 0 means AUDIT_VERSION, and 1 writes a
     * version-1 record (peer "" and size 0 only; tests and tools). */
    unsigned version;
};

/* ---------------------------------------------------------------------
 * Names and the record codec (pure; any thread). audit_record.c
 * ------------------------------------------------------------------- */

/* Return the wire name of `role` ("storefront"...), or NULL if out of
 * range. Static string. */
const char *audit_role_name(enum audit_role role);

/* Parse a role name into `*out`. Returns 0 or ERR_INVAL. */
int audit_role_parse(const char *name, enum audit_role *out) WARN_UNUSED
    NONNULL(1, 2);

/* Return the wire name of `outcome` ("allowed"...), or NULL if out of
 * range. Static string. */
const char *audit_outcome_name(enum audit_outcome outcome);

/* Parse an outcome name into `*out`. Returns 0 or ERR_INVAL. */
int audit_outcome_parse(const char *name, enum audit_outcome *out) WARN_UNUSED
    NONNULL(1, 2);

/* Return the wire name of the single category bit `cat` ("device"...),
 * or NULL if `cat` is not exactly one known bit. Static string. */
const char *audit_cat_name(uint32_t cat);

/* Parse a category name into its bit in `*out`. Returns 0 or ERR_INVAL. */
int audit_cat_parse(const char *name, uint32_t *out) WARN_UNUSED NONNULL(1, 2);

/*
 * Check every field of `r` against the format (lengths, character sets,
 * enums, at most 16 subjects, no unknown category bit).
 * Returns 0 or ERR_INVAL.
 */
int audit_record_check(const struct audit_record *r) WARN_UNUSED NONNULL(1);

/*
 * Encode `r` canonically (format section 1) into out[0..*outlen), where
 * `cap` is the room in `out` (AUDIT_MAX_RECORD_BYTES always suffices).
 * Returns 0, ERR_INVAL (a field breaks the format) or ERR_TOOBIG.
 */
int audit_record_encode(const struct audit_record *r, uint8_t *out, size_t cap,
    size_t *outlen) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Decode a payload strictly into `*r`: exact key order, shortest
 * encodings only, every bound and enum checked, no trailing byte.
 * `*r` is unspecified after an error. If `why` is not NULL, a static
 * one-line reason is stored there on error.
 * Returns 0 or ERR_MALFORMED.
 */
int audit_record_decode(const uint8_t *p, size_t len, struct audit_record *r,
    const char **why) WARN_UNUSED NONNULL(1, 3);

/* ---------------------------------------------------------------------
 * Signing key (any thread; no state). audit_key.c
 * ------------------------------------------------------------------- */

/* Return true if `origin` is 1..128 bytes of [A-Za-z0-9._/:-]. */
bool audit_origin_is_valid(const char *origin) NONNULL(1);

/*
 * Write this installation's default origin into out[0..cap): the host
 * name (lower-cased; other characters than [a-z0-9.-] as '-'), then
 * "/vigil-audit/" and 8 random hex digits. It is fixed by becoming the
 * name of the signing key made with it. Returns 0 or ERR_TOOBIG.
 */
int audit_key_default_origin(char *out, size_t cap) WARN_UNUSED NONNULL(1);

/*
 * Load the audit log's signing key from `path` (one line, the C2SP skey
 * "PRIVATE+KEY+<origin>+<id>+<base64>") into `*out`. The file must be a
 * regular file owned by the effective user with no access for group or
 * others (harden_file()): anything else is refused. When it is missing
 * and `create`, make a new key (0600, O_EXCL, synced) named `origin`, or
 * the default origin when `origin` is NULL or "", and set *created (may
 * be NULL). An existing key named otherwise than a non-empty `origin` is
 * refused. `err` (size `errlen`) says what is wrong. The caller wipes
 * `*out` with note_signer_wipe().
 * Returns 0, ERR_NOTFOUND (missing, !create), ERR_DENIED (owner or
 * mode), ERR_MALFORMED (not a key), ERR_INVAL (the name), ERR_TOOBIG or
 * ERR_IO.
 */
int audit_key_load(const char *path, const char *origin, bool create,
    struct note_signer *out, bool *created, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 4, 6);

/* ---------------------------------------------------------------------
 * Writer (the scorer's main thread only; not thread-safe). audit_log.c,
 * audit_log_open.c (open, repair, background verify, read back)
 * ------------------------------------------------------------------- */

struct audit_log;

/* What audit_log_open() had to repair; all zero when nothing. */
struct audit_repair {
    uint64_t bytes_cut;      /* bytes cut from the last segment */
    uint64_t at_index;       /* records kept (the next index) */
    uint64_t note_bytes_cut; /* bytes cut from checkpoints.log */
    uint64_t healed;         /* records restored from an audit_heal */
    char segment[64];        /* name of the segment that was cut */
};

/*
 * What the writer's owner knows of the log from outside its directory
 * (the scorer keeps it in its LMDB and journal): the size and root of the
 * newest checkpoint it signed, and whether it stopped cleanly after it.
 * Zero-initialise for "nothing known".
 */
struct audit_anchor {
    uint64_t size;                   /* records signed; 0: none known */
    uint8_t root[MERKLE_HASH_BYTES]; /* their root */
    bool clean;                      /* the writer stopped cleanly at size */
    uint64_t seq; /* the owner's journal sequence the size covers (the
                     writer ignores it; the scorer checks its journal) */
};

/*
 * Open (creating if needed) the audit log in `dir` for appending, signed
 * by `signer` (copied; its name is the log's origin, which must be
 * valid). On first use creates `dir` (0700). Refuses to open a directory
 * that holds a secret key file ("signing.key": a key copied with the
 * log is no key). Writes verifier.key (0600 like every file of the
 * log; the public key, a convenience: auditors pin their own copy) or
 * checks that it matches.
 * Takes the LOCK. Scans the records (CRC, strict decode, index), and
 * checks the checkpoints against the signer's public key and the
 * records, and the records against `anchor` (may be NULL): the root of
 * its first `size` records must be its root, and after a clean stop the
 * log must hold exactly `size` records.
 * Fast open (start-up time bounded by what came after the anchor, not
 * by the history): with an anchor of at least AUDIT_TILES_WIDTH (256)
 * records, its first T = size rounded down to 256 records are TRUSTED:
 * not read; the frontier at T is rebuilt from the tiles (at most one
 * partial tile per level) and only the records from T on are scanned
 * as above, and the anchor's root must come out of them. A tile that is
 * missing (tiles are not synced: a power cut), short or altered, or any
 * failure of that pass, falls back to the whole scan, whose verdict
 * stands. What the fast open does NOT see, a record or checkpoint
 * altered inside the trusted prefix, is found by `vigilctl audit
 * verify` and by audit_log_verify_start() below.
 * A torn tail of the LAST segment (an incomplete or bad frame followed
 * by at most AUDIT_MAX_PENDING bytes) is cut back to the last whole
 * record only where it lies past every signed size the writer knows
 * (the latest checkpoint's, the anchor's): there it is a write that was
 * never acknowledged; anywhere else it is corruption. A torn last frame
 * of checkpoints.log is cut too. Then audit_log_repair() describes it
 * and the caller MUST append a "log.repair" record saying so.
 * `*out` is closed with audit_log_close().
 * Returns 0; ERR_INVAL (bad origin); ERR_DENIED (a secret key in `dir`,
 * or verifier.key names another key); ERR_AGAIN (another process holds
 * the lock); ERR_CORRUPT (any damage other than a torn tail, a log
 * shorter than the anchor or disagreeing with its root, or records past
 * a clean stop: the scorer must refuse to start; the reason is logged
 * with both sizes); ERR_IO.
 */
int audit_log_open(const char *dir, const struct note_signer *signer,
    const struct audit_anchor *anchor, struct audit_log **out) WARN_UNUSED
    NONNULL(1, 2, 4);

/*
 * What the owner's journal holds of the log (audit_log_open_heal()):
 * the records it made durable there rather than by a sync of the
 * segments (audit_write() + audit_commit_journaled()), and the size
 * that was durable in the segments when the newest of them was
 * journaled (audit_synced() then).
 */
struct audit_heal {
    uint64_t floor;        /* records durable in the segments, at least */
    const uint8_t *frames; /* records framed as in a segment (u32 len,
                              u32 crc, payload), indexes increasing, not
                              necessarily contiguous; borrowed */
    size_t len;            /* bytes of frames */
};

/*
 * audit_log_open(), restoring what a crash lost: `heal` (may be NULL)
 * holds the records the owner made durable in its journal. The log
 * must hold at least heal->floor records (fewer: records that were
 * synced were removed, ERR_CORRUPT), and no torn tail is cut below it.
 * The head (DIR/checkpoint, written unsynced) may cover records past
 * the segments' durable end when the journal holds them. Then every
 * record of `heal` past the log's end is appended again (the same bytes;
 * those already present are skipped, so a crash while healing heals
 * again) and synced, the first one at the log's next index and with no
 * gap after it (a gap is a synced record removed: ERR_CORRUPT), and the
 * head's root is checked against the restored log.
 * audit_log_repair()->healed counts them.
 */
int audit_log_open_heal(const char *dir, const struct note_signer *signer,
    const struct audit_anchor *anchor, const struct audit_heal *heal,
    struct audit_log **out) WARN_UNUSED NONNULL(1, 2, 5);

struct audit_verify_result; /* below */

/*
 * Verify, in a background thread (one core, nice 10), what the fast
 * open trusted: the whole pass of `vigilctl audit verify` over the
 * records durable at open and the checkpoints then in checkpoints.log,
 * against the anchor. No-op when the open scanned the whole log. Call
 * once, from the writer's thread, after start-up. Returns 0 or ERR_IO
 * (no thread: nothing is verified; the caller decides).
 */
int audit_log_verify_start(struct audit_log *log) WARN_UNUSED NONNULL(1);

/*
 * The background verifier's state: ERR_AGAIN while it runs, 0 when it
 * passed or was not needed, else the failure (ERR_CORRUPT: the trusted
 * prefix disagrees with the anchor or its checkpoints; ERR_IO), with
 * `*res` (may be NULL; borrowed, valid until close) saying where. The
 * writer's owner must then stop appending (fail closed).
 */
int audit_log_verify_poll(struct audit_log *log,
    const struct audit_verify_result **res) WARN_UNUSED NONNULL(1);

/* Records the open took on trust (0: it scanned the whole log). */
uint64_t audit_log_trusted(const struct audit_log *log) NONNULL(1);

/* Close the log, dropping records appended but not synced; stops the
 * background verifier. audit_log_close(NULL) is a no-op. */
void audit_log_close(struct audit_log *log);

/* Set the size at which a new segment is started at the next sync
 * (default AUDIT_SEGMENT_BYTES; minimum 4096, smaller values are raised
 * to it). For tests and operators. */
void audit_log_set_segment_bytes(struct audit_log *log, uint64_t bytes)
    NONNULL(1);

/* Return what audit_log_open() repaired; borrowed, valid until close. */
const struct audit_repair *audit_log_repair(const struct audit_log *log)
    NONNULL(1);

/*
 * Buffer one record: sets r->index to the next index (also returned in
 * `*index`), checks and encodes it. Nothing is durable until
 * audit_sync() returns 0. `r` is borrowed.
 * Returns 0; ERR_INVAL (a field breaks the format: the access must be
 * refused); ERR_TOOBIG (AUDIT_MAX_PENDING bytes pending: sync first);
 * ERR_AUDIT (the log failed and must be reopened).
 */
int audit_append(struct audit_log *log, struct audit_record *r,
    uint64_t *index) WARN_UNUSED NONNULL(1, 2);

/*
 * Make every record appended since the last sync durable: one pwrite()
 * at the end of the current segment (rolling to a new segment first
 * when it has reached the segment size) and one fdatasync(). With
 * nothing pending returns 0 at once.
 * On failure the pending records are dropped (the file is truncated back
 * to its last durable length and the next index goes back to the first
 * dropped one): the caller must refuse every access they covered.
 * Returns 0 or ERR_AUDIT; a later call may succeed again (e.g. once disk
 * space returns), unless even the truncation failed: then every call
 * returns ERR_AUDIT until the log is reopened.
 */
int audit_sync(struct audit_log *log) WARN_UNUSED NONNULL(1);

/*
 * The group commit's write (one sync for the audit records and the
 * events): the owner takes the frames appended since the last write
 * (audit_pending_frames(): borrowed, valid until the next append,
 * write, sync or discard) into its own durable record, writes them to
 * the segments WITHOUT a sync (audit_write()), syncs its record, and
 * then calls audit_commit_journaled(). If its record fails before
 * audit_write(), audit_discard() drops them (their indexes are handed
 * out again); if it fails after, audit_commit() makes the written
 * records durable in the segments instead. The segments are synced
 * later: by audit_flush() (before the owner commits anything that
 * depends on the records being in the segments: its anchor, a trim of
 * its journal), audit_sync() / audit_commit(), audit_checkpoint(), and
 * whenever the unsynced bytes would pass AUDIT_MAX_PENDING or a segment
 * is full. After a crash the owner passes what its journal holds to
 * audit_log_open_heal().
 * audit_write(): 0 or ERR_AUDIT (nothing written; the records are
 * dropped). audit_flush(): 0 or ERR_AUDIT (the log is failed until
 * reopened). audit_commit_journaled(): as audit_commit().
 */
const uint8_t *audit_pending_frames(const struct audit_log *log, size_t *len)
    NONNULL(1, 2);
void audit_discard(struct audit_log *log) NONNULL(1);
int audit_write(struct audit_log *log) WARN_UNUSED NONNULL(1);
int audit_commit_journaled(struct audit_log *log, const char **note,
    size_t *note_len) WARN_UNUSED NONNULL(1);
int audit_flush(struct audit_log *log) WARN_UNUSED NONNULL(1);

/*
 * audit_flush() with its fdatasync on another thread (the scorer's
 * flusher, so that the sync before an LMDB commit is not on the event
 * path): audit_flush_begin() (owner's thread) notes the records written
 * so far and a duplicate of the segment's descriptor in `t`;
 * audit_flush_run() (any thread, once) syncs them: every record written
 * before the begin is durable in the segments once it returned 0;
 * audit_flush_end() (owner's thread) takes its result: the records count
 * as synced, or the log is failed until reopened, as after a failed
 * audit_flush(). begin and end: 0 or ERR_AUDIT; run: 0 or ERR_AUDIT.
 * The same thread as run may then call audit_flush_premake(): it makes
 * the empty files the tile writer takes for its next full tiles (file
 * creation is slow on some file systems, and the writer is on the
 * event path; audit_tiles.h, tile-new/). audit_flush_drop() closes what
 * a ticket holds when it is given up without an end.
 */
struct audit_flush_ticket {
    struct segfile_ticket sf;
    uint64_t written;      /* records written at the begin */
    int pool_fd;           /* a duplicate of the audit directory's, or -1 */
    uint64_t pool_taken;   /* the tile writer's files taken at the begin */
    uint64_t pool_made;    /* made up to (audit_tiles_premake()) */
    uint64_t pool_created; /* files premake created */
    /* A checkpoint riding on the ticket (audit_checkpoint_begin()). */
    bool ckpt;        /* one is to be appended by audit_checkpoint_run() */
    int ckfd;         /* a duplicate of checkpoints.log's descriptor */
    uint64_t ck_off;  /* where its frame goes (checkpoints.log's length) */
    uint64_t ck_size; /* the size it signs */
    size_t flen;      /* its frame's bytes */
    uint8_t frame[4 + AUDIT_MAX_NOTE_BYTES + 1];
};
int audit_flush_begin(struct audit_log *log,
    struct audit_flush_ticket *t) WARN_UNUSED NONNULL(1, 2);
int audit_flush_run(struct audit_flush_ticket *t) WARN_UNUSED NONNULL(1);
void audit_flush_premake(struct audit_flush_ticket *t) NONNULL(1);
int audit_flush_end(struct audit_log *log, struct audit_flush_ticket *t,
    int rc) WARN_UNUSED NONNULL(1, 2);
void audit_flush_drop(struct audit_flush_ticket *t) NONNULL(1);

/*
 * audit_checkpoint() with its two fdatasyncs on another thread, riding
 * on an audit_flush ticket taken just before (issue 12 latency: they
 * stalled the event path once per checkpoint_interval_ms):
 * audit_checkpoint_begin() (owner's thread, right after
 * audit_flush_begin() on `t`; nothing rides while records are pending
 * or unsettled) signs the head of the current size, writes its tiles and the
 * head file as audit_checkpoint() does, and puts the checkpoints.log frame in
 * `t`; audit_checkpoint_run() (the thread that ran audit_flush_run() on
 * `t`, after it returned 0: the records it signs are durable in the
 * segments first) appends and syncs it; audit_checkpoint_end() (owner's
 * thread, with run's result, ERR_AUDIT when run was not called) takes
 * it: the checkpoint counts (observer told) or checkpoints.log is cut
 * back. No other checkpoint is taken between begin and end
 * (audit_checkpoint() refuses with ERR_BUSY). begin: 0 (t->ckpt false
 * when none is needed: the size is checkpointed already), ERR_BUSY or
 * ERR_AUDIT; run and end: 0 or ERR_AUDIT.
 */
int audit_checkpoint_begin(struct audit_log *log,
    struct audit_flush_ticket *t) WARN_UNUSED NONNULL(1, 2);
int audit_checkpoint_run(struct audit_flush_ticket *t) WARN_UNUSED NONNULL(1);
int audit_checkpoint_end(
    struct audit_log *log, struct audit_flush_ticket *t, int rc) NONNULL(1, 2);

/* Return the records durable in the segments (synced), <= audit_size():
 * the floor a journal record carries (audit_heal). */
uint64_t audit_synced(const struct audit_log *log) NONNULL(1);

/*
 * Commit: audit_sync(), then, when the head is due (audit_head_due()),
 * sign a C2SP checkpoint of the new durable size (about 20 us of
 * Ed25519) as the log's head, write the partial tiles of that size and
 * then the head to DIR/checkpoint (in place, NOT synced: the records
 * are the durable part; the head is rewritten from them after a crash).
 * With a head interval of 0 (the default) every commit that grew the
 * log signs its head. `*note` (may be NULL) gets the latest head note,
 * borrowed until the next commit or close (NULL when none is signed
 * yet), `*note_len` its length.
 * Returns 0 or ERR_AUDIT (as audit_sync(); or the note could not be
 * signed). A failure to write DIR/checkpoint or a tile is logged, not
 * returned: both are rebuilt from the records at the next open.
 */
int audit_commit(struct audit_log *log, const char **note,
    size_t *note_len) WARN_UNUSED NONNULL(1);

/*
 * Sign a new head at most every `ms` milliseconds (0: at every commit
 * that grew the log). Between two heads the newest records are durable
 * but covered by no signature yet; the caller signs the pending head
 * when audit_head_due() has passed, with audit_head_update().
 */
void audit_log_set_head_interval(struct audit_log *log, uint64_t ms) NONNULL(1);

/*
 * Return when the next head is due, on clock_mono_ms()'s clock: 0 or a
 * time already past when a commit or audit_head_update() would sign it
 * now, UINT64_MAX when the head covers every durable record.
 */
uint64_t audit_head_due(const struct audit_log *log) NONNULL(1);

/*
 * Sign the head of the durable size now if it grew, with its tiles and
 * DIR/checkpoint (as audit_commit() does when it is due).
 * Returns 0 or ERR_AUDIT (the log failed, or the note was not signed).
 */
int audit_head_update(struct audit_log *log) WARN_UNUSED NONNULL(1);

/*
 * Archive: append the head of the durable size (signing it if the last
 * commit did not) to checkpoints.log with one write and one fsync, and
 * write the partial tiles of that size. The archive is what auditors
 * verify every signature of, so the scorer adds to it sparingly
 * (checkpoint_records, checkpoint_interval_ms, start and stop); the
 * head covers every commit in between. Pending (unsynced) records are
 * not covered. `wall_ms` is only used to log when the checkpoint was
 * made. A no-op returning 0 when the durable size equals the last
 * archived one (sizes strictly increase).
 * Returns 0 or ERR_AUDIT (the checkpoint was not made durable; the file
 * is cut back; records are unaffected).
 */
int audit_checkpoint(struct audit_log *log, uint64_t wall_ms) WARN_UNUSED
    NONNULL(1);

/* Return the head note (borrowed; valid until the next commit, archive
 * or close; NULL when none is signed yet), its length and the size it
 * signs (each may be NULL). */
const char *audit_head(const struct audit_log *log, size_t *len, uint64_t *size)
    NONNULL(1);

/* Return the log's directory; borrowed, valid until close. */
const char *audit_log_dir(const struct audit_log *log) NONNULL(1);

/* Return the number of durable records (the next index when nothing is
 * pending). */
uint64_t audit_size(const struct audit_log *log) NONNULL(1);

/* Return the index the next audit_append() will assign. */
uint64_t audit_next_index(const struct audit_log *log) NONNULL(1);

/* Write the Merkle root of the durable records into `out`. */
void audit_root(const struct audit_log *log, uint8_t out[MERKLE_HASH_BYTES])
    NONNULL(1, 2);

/* Return the size of the latest archived checkpoint (0 when none). */
uint64_t audit_checkpoint_size(const struct audit_log *log) NONNULL(1);

/* Copy the Merkle frontier of the durable records into `out`. */
void audit_frontier(const struct audit_log *log, struct merkle_frontier *out)
    NONNULL(1, 2);

/*
 * Who wants to hear of what becomes durable (the scorer's witness
 * thread, scorer/wclient.h). Both calls run on the writer's thread, inside
 * audit_sync() and audit_checkpoint(), after the data is durable; they
 * must be quick (copy and return) and must not call into the log.
 * `hashes` and `note` are borrowed for the call.
 */
struct audit_observer {
    /* Leaves [first, first + n) are durable, with these leaf hashes. */
    void (*leaves)(void *arg, uint64_t first,
        const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t n);
    /* The signed checkpoint note[0..len) of `size` records is durable. */
    void (*checkpoint)(void *arg, uint64_t size, const char *note, size_t len);
    void *arg;
};

/* Set (or with NULL, clear) the observer; `obs` is copied. */
void audit_log_set_observer(
    struct audit_log *log, const struct audit_observer *obs) NONNULL(1);

/* Return the verifier key string ("<name>+<id>+<base64>"); borrowed,
 * valid until audit_log_close(). */
const char *audit_verifier_key(const struct audit_log *log) NONNULL(1);

/* ---------------------------------------------------------------------
 * Reader and verifier (tools; read-only; any process). audit_verify.c
 * ------------------------------------------------------------------- */

/* Where and why verification stopped, and what it covered. */
struct audit_verify_result {
    uint64_t records;                /* records that passed checks a and b */
    uint64_t checkpoints;            /* checkpoints whose root was matched */
    uint64_t checkpoint_size;        /* size of the latest matched checkpoint */
    uint64_t segments;               /* segment files read */
    uint8_t root[MERKLE_HASH_BYTES]; /* root of `records` records */
    bool key_from_dir;               /* the key came from DIR/verifier.key */
    char key[256];                   /* the verifier key used */
    uint64_t head_size;              /* size of the head (DIR/checkpoint) that
                                        verified, 0 when none; checkpoint_size
                                        includes it */
    /* The latest archived checkpoint note (checkpoints.log), verbatim
     * (note_len 0: none). */
    char note[AUDIT_MAX_NOTE_BYTES + 1];
    size_t note_len;
    /* The first failure (ok true: none). */
    bool ok;
    uint64_t bad_record;     /* its record number, or UINT64_MAX */
    uint64_t bad_record_end; /* bad_record + 1 when exact; larger when
                                only a range is known (a root mismatch:
                                one of [bad_record, bad_record_end)) */
    uint64_t bad_checkpoint; /* its checkpoint number, or UINT64_MAX */
    char file[64];           /* file it is in ("" if none) */
    uint64_t offset;         /* byte offset in that file */
    char reason[320];        /* one line, English */
};

/* Filters of audit_replay(); zero-initialise for "everything". */
struct audit_filter {
    uint64_t from_ms;    /* ts >= from_ms */
    uint64_t to_ms;      /* ts < to_ms; 0 means no upper bound */
    const char *actor;   /* exact actor, or NULL */
    const char *purpose; /* exact purpose, or NULL */
    bool has_subject;
    uint8_t subject[AUDIT_SUBJECT_BYTES]; /* one of subj[] */
};

/* One record handed to an audit_replay_cb; borrowed for the call. */
struct audit_entry {
    const struct audit_record *rec;
    const uint8_t *raw; /* the exact payload (leaf bytes) */
    size_t raw_len;
    uint8_t leaf_hash[MERKLE_HASH_BYTES];
    const char *file; /* segment name */
    uint64_t offset;  /* of the frame in that file */
};

/* Called for each record that passes the filter. Return 0 to go on,
 * nonzero to stop (audit_replay() then returns that value). */
typedef int (*audit_replay_cb)(void *arg, const struct audit_entry *e);

/*
 * Verify the log in `dir` (format section 4), in one linear pass, with
 * the verifier key `key` ("<name>+<id>+<base64>"), or with
 * dir/verifier.key when `key` is NULL (res->key_from_dir says so).
 * Fills `*res` in all cases.
 * Returns 0 if everything verifies; ERR_CORRUPT if the data is bad
 * (res->bad_record / bad_checkpoint, file, offset, reason say where and
 * why); ERR_INVAL (bad key string) or ERR_IO (dir or a file cannot be
 * read; res->reason says which).
 */
int audit_verify(const char *dir, const char *key,
    struct audit_verify_result *res) WARN_UNUSED NONNULL(1, 3);

/* A tree head an auditor saved (a checkpoint they verified earlier). */
struct audit_saved {
    uint64_t size;                   /* records it signs */
    uint8_t root[MERKLE_HASH_BYTES]; /* their root */
    char what[96];                   /* names it in a failure */
};

/*
 * Verify as audit_verify(), and also require the log to be consistent
 * with each of the `n` saved tree heads `saved` (any order; borrowed): the
 * root of its first `size` records must be the saved root (which is what
 * a consistency proof from the saved size to the log's attests, here
 * recomputed from the records themselves), and a log with fewer records
 * fails ("log truncated"). The heads' signatures are the caller's to
 * check (audit_checkpoint_open()).
 * Returns as audit_verify().
 */
int audit_verify_saved(const char *dir, const char *key,
    const struct audit_saved *saved, size_t n,
    struct audit_verify_result *res) WARN_UNUSED NONNULL(1, 5);

/*
 * Verify as audit_verify() and call `cb` for every record that passes
 * `filter` (NULL: all), in index order, as it is read. Records before a
 * failure are delivered; the caller learns of the failure from the
 * return value and `*res` once the pass ends.
 * Returns as audit_verify(), or the first nonzero value of `cb`.
 */
int audit_replay(const char *dir, const char *key,
    const struct audit_filter *filter, audit_replay_cb cb, void *arg,
    struct audit_verify_result *res) WARN_UNUSED NONNULL(1, 4, 6);

/*
 * Call `cb` for each durable record from index `from` on, in order,
 * read back from the writer's own segments (CRC, strict decode and
 * index checked; no Merkle check: the open or the writer did that).
 * For the writer's owner, from its thread: the cost is that of the
 * records read (plus walking the frames before `from` in its segment),
 * not of the log. Returns 0, ERR_CORRUPT (a record does not read back),
 * ERR_IO, or the first nonzero value of `cb`.
 */
int audit_log_read(struct audit_log *log, uint64_t from, audit_replay_cb cb,
    void *arg) WARN_UNUSED NONNULL(1, 3);

/* An inclusion or consistency proof, with the checkpoints that sign its
 * roots when the log has checkpoints at those sizes. */
struct audit_proof {
    uint64_t index;    /* inclusion: the leaf */
    uint64_t old_size; /* consistency: the old size */
    uint64_t size;     /* inclusion: tree size; consistency: new */
    uint8_t leaf_hash[MERKLE_HASH_BYTES]; /* inclusion */
    uint8_t raw[AUDIT_MAX_RECORD_BYTES];  /* inclusion: the record */
    size_t raw_len;
    uint8_t old_root[MERKLE_HASH_BYTES]; /* consistency */
    uint8_t root[MERKLE_HASH_BYTES];     /* of `size` leaves */
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    size_t n;
    char old_note[AUDIT_MAX_NOTE_BYTES + 1]; /* checkpoint at old_size */
    char note[AUDIT_MAX_NOTE_BYTES + 1];     /* checkpoint at size */
};

/*
 * Build the inclusion proof of record `index` in the tree of `size`
 * records; `size` 0 means the latest checkpoint's size. When a signed
 * checkpoint of that size and the tiles exist, from the tiles in
 * O(log n) (checked against the signed root; `*res` then says only
 * that); otherwise by verifying the whole log (as audit_verify()).
 * `proof->note` is the checkpoint of that size ("" if none has it).
 * Returns 0; ERR_CORRUPT (verification failed: see `*res`); ERR_NOTFOUND
 * (index >= size, size > records, or size 0 and no checkpoint covers
 * index); ERR_INVAL; ERR_IO.
 */
int audit_prove_inclusion(const char *dir, const char *key, uint64_t index,
    uint64_t size, struct audit_proof *proof,
    struct audit_verify_result *res) WARN_UNUSED NONNULL(1, 5, 6);

/*
 * Build the consistency proof between the log's first `old_size` and
 * `new_size` records (0 < old_size <= new_size <= records), with the
 * checkpoints of those sizes when they exist: from the tiles when both
 * sizes are signed, else by verifying the whole log.
 * Returns as audit_prove_inclusion().
 */
int audit_prove_consistency(const char *dir, const char *key, uint64_t old_size,
    uint64_t new_size, struct audit_proof *proof,
    struct audit_verify_result *res) WARN_UNUSED NONNULL(1, 5, 6);

/* ---------------------------------------------------------------------
 * Proofs from the tiles, O(log n) (any thread). audit_verify.c
 *
 * A tree is the log at one signed size, read through its tiles (format
 * section 2): each inclusion proof reads the few tiles on its path (a
 * handful of 8 KiB files, cached between neighbouring records) and the
 * record from its entry bundle, and is checked against the signed root
 * before it is handed out, so a damaged or forged tile gives an error,
 * never a wrong proof. For subject reports: open one tree, then prove
 * each record of the report in it.
 * ------------------------------------------------------------------- */

struct audit_tree;

/*
 * Open the tree of the open log `log` at `size` records: 0 (or the
 * head's size) for the head, the latest signed, else a size
 * archived in checkpoints.log. Borrows nothing from `log` afterwards.
 * The scorer's main thread (it may run while the writer appends). Close
 * with audit_tree_close().
 * Returns 0, ERR_NOTFOUND (no signed checkpoint of that size), ERR_INVAL
 * or ERR_IO.
 */
int audit_tree_open(const struct audit_log *log, uint64_t size,
    struct audit_tree **out) WARN_UNUSED NONNULL(1, 3);

/* Open the tree of the log in `dir` (e.g. a copy) at `size` records (0:
 * the largest signed), trusting checkpoints signed by verifier key
 * `key` only. Returns as audit_tree_open(). */
int audit_tree_open_dir(const char *dir, const char *key, uint64_t size,
    struct audit_tree **out) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Fill `*out` with the inclusion proof of record `index` in tree `t`:
 * index, size, the record (raw) and its leaf hash, the proof's hashes,
 * the signed root and note. Checked against the signed root.
 * Returns 0; ERR_NOTFOUND (index >= size, or the tiles of the tree are
 * missing); ERR_CORRUPT (the tiles or the bundle disagree with the
 * signed root: logged); ERR_IO.
 */
int audit_tree_inclusion(struct audit_tree *t, uint64_t index,
    struct audit_proof *out) WARN_UNUSED NONNULL(1, 3);

/* The size of tree `t`, and its signed note (borrowed, valid until
 * close). */
uint64_t audit_tree_size(const struct audit_tree *t) NONNULL(1);
const char *audit_tree_note(const struct audit_tree *t) NONNULL(1);

/* Close `t`; audit_tree_close(NULL) is a no-op. */
void audit_tree_close(struct audit_tree *t);

/* audit_tree_open() + audit_tree_inclusion() + audit_tree_close(), for
 * one record. Returns as they do. */
int audit_log_prove_inclusion(const struct audit_log *log, uint64_t index,
    uint64_t size, struct audit_proof *out) WARN_UNUSED NONNULL(1, 4);

/*
 * Read dir/verifier.key into out[0..cap) without the trailing newline.
 * Returns 0, ERR_NOTFOUND, ERR_TOOBIG or ERR_IO.
 */
int audit_read_verifier_key(const char *dir, char *out, size_t cap) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Check a signed checkpoint note against verifier key `key`, and return
 * its origin (copied into origin[0..AUDIT_MAX_ORIGIN]), size and root.
 * The origin must equal the key's name. `why` (may be NULL) gets a static
 * reason on failure.
 * Returns 0, ERR_INVAL (bad key string) or ERR_CORRUPT (bad signature,
 * malformed checkpoint, origin differs).
 */
int audit_checkpoint_open(const char *key, const uint8_t *note, size_t note_len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why) WARN_UNUSED
    NONNULL(1, 2, 4, 5, 6);

#endif
