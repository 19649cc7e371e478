/*
 * proof.h - vigilctl's proof files: the strict reader and the check
 *
 * `vigilctl audit prove ... --json` writes a proof file and `vigilctl
 * audit check-proof` reads one back, usually on another machine: the
 * file is hostile input. This module reads it (a size cap, jansson with
 * duplicate keys rejected, then every member checked against a table:
 * known name, allowed for the proof's type, exact type and size) and
 * checks it against checkpoints signed by the auditor's verifier key.
 * It prints nothing and never exits, so that a fuzz target
 * (tests/fuzz/fuzz_proof.c) can call it as cmd_audit.c does.
 *
 * Invariants:
 *  - no root in the file is trusted: only checkpoints whose signature
 *    verifies with the key given (proof_trust_note()).
 *  - every error reason is one line of printable ASCII (hostile bytes
 *    are shown as '?').
 *
 * See also: cmd_audit.c (check-proof), tools/vigilctl.1, common/audit.h,
 *           common/merkle.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TOOLS_VIGILCTL_PROOF_H
#define TOOLS_VIGILCTL_PROOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/merkle.h"

#define PROOF_MAX_BYTES (1024 * 1024) /* a proof file is ~3 KB */
#define PROOF_WHY_MAX   256           /* room for a reason */

/* The members of a proof file (bits of proof_file.found). */
enum proof_member {
    PROOF_M_TYPE,
    PROOF_M_INDEX,
    PROOF_M_OLD_SIZE,
    PROOF_M_SIZE,
    PROOF_M_RECORD,
    PROOF_M_LEAF_HASH,
    PROOF_M_PROOF,
    PROOF_M_OLD_ROOT,
    PROOF_M_ROOT,
    PROOF_M_OLD_CHECKPOINT,
    PROOF_M_CHECKPOINT,
    PROOF_M_COUNT
};

/* The two kinds of proof ("type"). */
enum proof_type {
    PROOF_INCLUSION = 1,
    PROOF_CONSISTENCY = 2,
};

/*
 * A proof file, decoded and checked. The roots are read (and checked)
 * but never used: only signed checkpoints are trusted. Plain data
 * except `note`, which borrows from the parsed document.
 */
struct proof_file {
    enum proof_type type;
    unsigned found; /* 1u << PROOF_M_x for each member present */
    uint64_t index, old_size, size;
    uint8_t record[AUDIT_MAX_RECORD_BYTES];
    size_t record_len;
    uint8_t leaf_hash[MERKLE_HASH_BYTES];
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    size_t nhashes;
    const char *note[2]; /* old_checkpoint, checkpoint: borrowed from the
                            parsed document, NULL when absent or null */
    size_t note_len[2];
};

/*
 * Copy `s` into out[0..cap) for an error line: at most `cap` - 4 bytes,
 * anything but printable ASCII as '?', "..." when cut. `cap` >= 4.
 */
void proof_printable(const char *s, char *out, size_t cap) NONNULL(1, 2);

/*
 * Parse the proof file text[0..len) (any bytes; no NUL needed) into
 * `*p`. On success `*doc` holds the parsed document, from which the
 * notes in `*p` borrow (caller frees it with json_decref() after the
 * last use of `*p`). On failure `*doc` is NULL and `why` (size
 * `whylen`) gets the reason, e.g. `unknown field "x" in an inclusion
 * proof` or `line 1, column 3: ...`.
 * Returns 0, ERR_TOOBIG (len > PROOF_MAX_BYTES) or ERR_MALFORMED.
 */
int proof_parse(const char *text, size_t len, struct proof_file *p,
    json_t **doc, char *why, size_t whylen) WARN_UNUSED NONNULL(1, 3, 4, 5);

/*
 * Parse the C2SP tlog-proof text[0..len) (common/tlogproof.h; what
 * `audit prove inclusion --format tlog-proof` writes) into `*p` as an
 * inclusion proof: the extra data is the record, the size is the
 * checkpoint's (read here, trusted only once proof_trust_note() has
 * checked its signature). The note in `*p` borrows from `text`.
 * Returns 0, ERR_TOOBIG or ERR_MALFORMED (`why` says why).
 */
int proof_parse_tlog(const char *text, size_t len, struct proof_file *p,
    char *why, size_t whylen) WARN_UNUSED NONNULL(1, 3, 4);

/* One checkpoint the key verified. */
struct proof_trusted {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    bool saved; /* the auditor's own (--checkpoint) */
};

/* The checkpoints trusted so far; zero-initialise it with the key set. */
struct proof_trust {
    const char *key;         /* the verifier key string; borrowed */
    struct proof_trusted *t; /* owned: proof_trust_release() */
    size_t n;
    bool strict; /* only the auditor's own checkpoints give roots */
};

/*
 * Verify the signed checkpoint note[0..len) with k->key and trust its
 * size and root. `origin` gets its origin and `*size` its size; on
 * failure `*why` a static reason.
 * Returns 0, ERR_INVAL (the key string is bad) or ERR_CORRUPT.
 */
int proof_trust_note(struct proof_trust *k, const char *note, size_t len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    const char **why) WARN_UNUSED NONNULL(1, 2, 4, 5, 6);

/*
 * As proof_trust_note(), remembering whether the note is the auditor's
 * own (`saved`). Two signed checkpoints of one size with different
 * roots are a fork: the second is refused with ERR_CONFLICT (whichever
 * came first is kept; callers trust the auditor's own first).
 * Returns 0, ERR_INVAL, ERR_CORRUPT or ERR_CONFLICT.
 */
int proof_trust_note_as(struct proof_trust *k, const char *note, size_t len,
    bool saved, char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    const char **why) WARN_UNUSED NONNULL(1, 2, 5, 6, 7);

/* Free what `k` trusts; it may be used again. */
void proof_trust_release(struct proof_trust *k) NONNULL(1);

/*
 * Check the proof `p` against the checkpoints `k` trusts. For an
 * inclusion proof with a "record", `*rec` gets the decoded record and
 * `*has_rec` is set once it decoded and its index is the proof's (so
 * the caller may show it even when a later step fails).
 * Returns 0 (the proof holds), ERR_NOTFOUND (no trusted checkpoint has
 * the size needed) or ERR_CORRUPT (the proof does not hold); `why`
 * (size `whylen`) then says why in one line.
 */
int proof_check(const struct proof_file *p, const struct proof_trust *k,
    struct audit_record *rec, bool *has_rec, char *why,
    size_t whylen) WARN_UNUSED NONNULL(1, 2, 3, 4, 5);

#endif
