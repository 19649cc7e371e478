/*
 * audit_scan.h - the one linear scan of an audit directory, shared by the
 *                writer's open and the verifier (internal to audit_*.c)
 *
 * Not a public header: only audit_log.c, audit_log_open.c and
 * audit_verify.c include it.
 * audit_scan_run() reads checkpoints.log (framing, signatures, increasing
 * sizes), then every segment frame by frame (length, CRC32C, strict
 * decode, index), hashing each record into a Merkle frontier and
 * comparing the root whenever the count reaches a checkpoint's size. In
 * writer mode it forgives a torn tail of the last segment and of
 * checkpoints.log and says where it starts; the writer cuts it.
 *
 * Invariants:
 *  - the first failure reported is the first in the log, whatever the
 *    threads did.
 *
 * See also: audit.h (format sections 2 and 4), audit_scan.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_AUDIT_SCAN_H
#define COMMON_AUDIT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"

/* The files of an audit directory besides the segments (section 2). */
#define AUDIT_CKPT_FILE     "checkpoints.log"
#define AUDIT_HEAD_FILE     "checkpoint" /* the latest head (tlog-tiles) */
#define AUDIT_SIGNER_FILE   "signing.key"
#define AUDIT_VERIFIER_FILE "verifier.key"

/* The record segments, records-<N>.log, and their frames (section 2). */
extern const struct segfile_format audit_scan_segments;

struct audit_scan_item; /* one frame of a batch (audit_scan.c) */
struct audit_tiles;     /* audit_tiles.h */

/*
 * A tree head the records must match, from outside checkpoints.log: the
 * writer's anchor, a checkpoint the auditor saved, a witness's. Checked
 * when the record count reaches `size`; a log that ends first fails.
 */
struct audit_scan_expect {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    char what[96];    /* names it in the failure: "the anchor in LMDB" */
    bool signed_note; /* a checkpoint signed by the log's key: counts in
                         res->checkpoint_size once matched */
    bool head;        /* it is DIR/checkpoint (the unsynced head) */
};

/* One checkpoint of checkpoints.log, as the scan found it. */
struct audit_scan_ckpt {
    uint64_t size;                   /* records it covers */
    uint8_t root[MERKLE_HASH_BYTES]; /* their signed root */
    uint64_t off;                    /* frame offset in checkpoints.log */
    size_t note_off;                 /* its note within audit_scan.ckbuf */
    size_t note_len;                 /* and the note's length */
};

/*
 * The state of one pass over an audit directory. The caller zeroes it,
 * sets the inputs, calls audit_scan_run(), reads the outputs and frees
 * it with audit_scan_release().
 */
struct audit_scan_block; /* audit_scan.c */

struct audit_scan {
    /* Inputs. */
    int dirfd;                       /* the audit directory (borrowed) */
    bool writer;                     /* forgive torn tails (see audit_scan.c) */
    struct note_verifier v;          /* checks the checkpoint signatures */
    struct audit_verify_result *res; /* filled in all cases */
    const struct audit_filter *filter;      /* replay: which records, or NULL */
    audit_replay_cb cb;                     /* replay: called per record */
    void *arg;                              /* cb's argument */
    struct merkle_levels *levels;           /* proofs: every level, or NULL */
    struct audit_tiles *tiles;              /* writer: rebuilds the tiles */
    const struct audit_scan_expect *expect; /* any order; borrowed */
    size_t nexpect;
    uint64_t signed_floor; /* writer: no torn tail below this size */
    uint64_t heal_end;     /* writer: the owner's journal holds records up
                              to this size (audit_heal): a head up to it
                              may lie past the durable records, which
                              the writer restores and then checks */
    /* Writer's fast open: records [0, trusted) are taken as they are
     * (a multiple of AUDIT_TILES_WIDTH, covered by a durable anchor the
     * caller checks through `expect`): the pass starts at record
     * `trusted` with the frontier *trusted_fr (from the tiles), skips
     * the signatures of checkpoints it does not reach and ignores
     * heads below it. 0: the whole log. */
    uint64_t trusted;
    const struct merkle_frontier *trusted_fr; /* with trusted > 0 */
    /* Background verifier beside a running writer: stop after record
     * stop_at - 1 (0: read all), read only the first ck_limit bytes of
     * checkpoints.log (when ck_limited) and not the head file (both are
     * being rewritten). */
    uint64_t stop_at;
    bool ck_limited; /* ck_limit applies (it may be 0) */
    uint64_t ck_limit;
    bool no_head;
    bool serial; /* hash on the calling thread only (background use) */
    /* Outputs: checkpoints. */
    uint8_t *ckbuf;               /* checkpoints.log, whole (owned) */
    size_t cklen;                 /* its length */
    struct audit_scan_ckpt *ck;   /* its checkpoints, in order (owned) */
    size_t nck;                   /* their count */
    size_t ck_next;               /* the next checkpoint to match */
    struct audit_scan_expect *ex; /* expect[] and the head, by size (owned) */
    size_t nex;
    size_t ex_next; /* the next of ex[] to match */
    /* Outputs: DIR/checkpoint, the latest head (absent: head_len 0). */
    char head[AUDIT_MAX_NOTE_BYTES + 1];
    size_t head_len;
    uint64_t head_size;
    bool head_bad;      /* writer: present but not a valid note */
    bool head_deferred; /* writer: the head lies past the records, within
                           heal_end: the writer checks it after healing */
    uint64_t ck_keep;   /* writer: bytes of whole frames */
    /* Outputs: records. */
    int cbrc;                  /* the nonzero value cb stopped with */
    struct merkle_frontier fr; /* of the `count` records read */
    uint64_t count;            /* records that passed (or trusted) */
    uint64_t *segs;            /* segment numbers, increasing (owned) */
    size_t nsegs;              /* their count */
    uint64_t last_len;         /* length of the last segment read */
    bool torn;                 /* writer: the last segment has a torn tail */
    uint64_t torn_off;         /* writer: where it starts */
    /* Working storage. */
    struct segfile_reader rd;        /* reads each segment in turn */
    struct audit_scan_item *items;   /* a batch of frames */
    struct audit_record *recs;       /* their decoded records */
    struct audit_scan_block *blocks; /* the batch's perfect subtrees */
};

/*
 * Run the whole pass: checkpoints, then segments, then the check that no
 * checkpoint covers more records than there are. `want` (may be NULL)
 * gets the raw record of want->index. Fills s->res in all cases.
 * Returns 0, ERR_CORRUPT (s->res says where and why), ERR_IO, or the
 * first nonzero value of s->cb.
 */
int audit_scan_run(struct audit_scan *s, struct audit_proof *want) WARN_UNUSED
    NONNULL(1);

/* Free what the pass allocated and zero `s` (not s->dirfd's descriptor). */
void audit_scan_release(struct audit_scan *s) NONNULL(1);

/*
 * Record a failure that is not the data's (a read error, a bad argument)
 * in s->res: ok false, the records so far, `fmt` as the reason. Returns
 * `rc`.
 */
int audit_scan_env_fail(struct audit_scan *s, int rc, const char *fmt, ...)
    PRINTF_LIKE(3, 4) NONNULL(1, 3);

/*
 * The size a checkpoint note note[0..len) states (its second line: decimal
 * digits then "\n"), unverified: for skipping notes without checking
 * their signature. False when the note does not have that shape.
 */
bool audit_scan_ckpt_size_peek(
    const uint8_t *note, size_t len, uint64_t *size) WARN_UNUSED NONNULL(1, 3);

/*
 * Check the signed checkpoint note `note` with the verifier `v` and
 * return its origin (which must be the key's name), size and root. On
 * failure `*why` gets a static reason. Returns 0 or ERR_CORRUPT.
 */
int audit_scan_ckpt_open(const struct note_verifier *v, const uint8_t *note,
    size_t note_len, char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why) WARN_UNUSED
    NONNULL(1, 2, 4, 5, 6, 7);

#endif
