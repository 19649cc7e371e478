/*
 * merkle.h - RFC 6962 / RFC 9162 Merkle tree hashing, proofs and checks
 *
 * The audit log's records are the leaves of one Merkle tree (DESIGN.md
 * promise 6). The scorer keeps a compact frontier to get the root after
 * each append; it (and `vigilctl audit prove`) builds inclusion and
 * consistency proofs from stored perfect-subtree hashes through a
 * callback; an auditor checks them with merkle_verify_*(). Sizes: the
 * frontier takes up to 2^64 - 1 leaves; every proof of a tree of at
 * most 2^63 leaves fits in MERKLE_MAX_PROOF (64) hashes (a consistency
 * proof into a larger tree may need 65: refused with ERR_TOOBIG).
 *
 * Hashing (RFC 9162 2.1.1), SHA-256 throughout:
 *     leaf hash  = SHA-256(0x00 || data)
 *     node hash  = SHA-256(0x01 || left || right)
 *     empty tree = SHA-256("")
 * The tree of n > 1 leaves splits at k, the largest power of two < n:
 * MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])). A "perfect subtree" at
 * (level, index) is the subtree of 2^level leaves covering
 * [index << level, (index + 1) << level).
 *
 * Proofs are arrays of hashes in the order of RFC 9162 2.1.3.1 (PATH) and
 * 2.1.4.1 (PROOF/SUBPROOF): from the leaf end upwards.
 *
 * Invariants:
 *  - a verifier never trusts a proof's length: it must be exactly the
 *    length the sizes imply, or the proof is rejected (ERR_CORRUPT).
 *  - no allocation except in struct merkle_levels.
 *
 * See also: RFC 9162 section 2.1, c2sp.org/tlog-checkpoint,
 *           tests/unit/test_merkle.c (reference vectors)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_MERKLE_H
#define COMMON_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define MERKLE_HASH_BYTES 32
#define MERKLE_MAX_PROOF  64 /* hashes in any proof of a tree <= 2^63 */

/*
 * Compute the leaf hash SHA-256(0x00 || data[0..len)) into `out`.
 * `data` may be NULL when `len` is 0.
 */
void merkle_leaf_hash(
    const void *data, size_t len, uint8_t out[MERKLE_HASH_BYTES]) NONNULL(3);

/*
 * Compute the interior node hash SHA-256(0x01 || left || right) into
 * `out`. `out` may alias `left` or `right`.
 */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_BYTES],
    const uint8_t right[MERKLE_HASH_BYTES], uint8_t out[MERKLE_HASH_BYTES])
    NONNULL(1, 2, 3);

/* Write the root of the empty tree, SHA-256(""), into `out`. */
void merkle_empty_root(uint8_t out[MERKLE_HASH_BYTES]) NONNULL(1);

/* ---------------------------------------------------------------------
 * Compact frontier: the running root with O(log n) state.
 * ------------------------------------------------------------------- */

/*
 * The hashes of the perfect subtrees that cover leaves [0, size),
 * indexed BY LEVEL: for every bit k set in `size`, nodes[k] is the hash
 * of the perfect subtree of 2^k leaves at level k and index
 * (size >> k) - 1, i.e. the one covering
 * [(size >> (k+1)) << (k+1), ((size >> k) << k)). Entries for bits that
 * are clear are meaningless. Fields change only through this API (or
 * merkle_frontier_load()). Plain data: copy it with memcpy or `=`.
 */
struct merkle_frontier {
    uint64_t size;                        /* leaves appended */
    uint8_t nodes[64][MERKLE_HASH_BYTES]; /* by level, see above */
};

/* Initialise `f` as the frontier of the empty tree. */
void merkle_frontier_init(struct merkle_frontier *f) NONNULL(1);

/*
 * Append one leaf, given as its leaf hash (merkle_leaf_hash()).
 * Amortised O(1) node hashes, at most 63. The caller must not append
 * more than 2^64 - 1 leaves (asserted).
 */
void merkle_frontier_append(struct merkle_frontier *f,
    const uint8_t leaf_hash[MERKLE_HASH_BYTES]) NONNULL(1, 2);

/*
 * Append 2^level leaves at once, given as the root `hash` of their
 * perfect subtree; f->size must be a multiple of 2^level (asserted). The
 * same frontier as appending the leaves one by one (the verifier hashes
 * such subtrees on its worker threads, audit_scan.c).
 */
void merkle_frontier_append_subtree(struct merkle_frontier *f, unsigned level,
    const uint8_t hash[MERKLE_HASH_BYTES]) NONNULL(1, 3);

/*
 * Write the root of the f->size leaves appended so far into `out`
 * (SHA-256("") when none). At most 63 node hashes.
 */
void merkle_frontier_root(const struct merkle_frontier *f,
    uint8_t out[MERKLE_HASH_BYTES]) NONNULL(1, 2);

/* ---------------------------------------------------------------------
 * Proofs from stored subtree hashes.
 * ------------------------------------------------------------------- */

/*
 * Write into `out` the hash of the perfect subtree at `level` (0 =
 * leaves) and `index`, which covers leaves
 * [index << level, (index + 1) << level). Supplied by the caller (from
 * stored level hashes, or by recomputing them). The functions below only
 * ask for subtrees that lie entirely inside the tree size they were
 * given. Return 0, or a negative ERR_* that is passed back unchanged
 * (e.g. ERR_NOTFOUND, ERR_IO, ERR_CORRUPT).
 */
typedef int (*merkle_subtree_cb)(
    void *arg, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_BYTES]);

/*
 * Compute the root of the first `size` leaves into `out` with at most
 * 64 calls of `cb` (size 0 gives SHA-256("") without calling cb).
 * Returns 0, or the first error `cb` returned.
 */
int merkle_root(merkle_subtree_cb cb, void *arg, uint64_t size,
    uint8_t out[MERKLE_HASH_BYTES]) WARN_UNUSED NONNULL(1, 4);

/*
 * Rebuild the frontier of the first `size` leaves into `f` with at most
 * 64 calls of `cb` (e.g. when the scorer reopens its audit log).
 * Returns 0, or the first error `cb` returned (then `f` is unspecified).
 */
int merkle_frontier_load(struct merkle_frontier *f, merkle_subtree_cb cb,
    void *arg, uint64_t size) WARN_UNUSED NONNULL(1, 2);

/*
 * Build the inclusion proof (RFC 9162 2.1.3.1 PATH) of leaf `index` in
 * the tree of `size` leaves into proof[0..*n) (at most 64 hashes).
 * O(log n) calls of `cb` (at most 2 * 64). Returns 0; ERR_INVAL if
 * index >= size; or the first error `cb` returned. `proof` is
 * unspecified and *n is 0 after an error.
 */
int merkle_inclusion_proof(merkle_subtree_cb cb, void *arg, uint64_t index,
    uint64_t size, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES],
    size_t *n) WARN_UNUSED NONNULL(1, 5, 6);

/*
 * Build the consistency proof (RFC 9162 2.1.4.1 PROOF) between the trees
 * of `old_size` and `new_size` leaves into proof[0..*n). If old_size is
 * 0 or equals new_size the proof is empty (*n = 0), as in
 * transparency-dev/merkle; note that merkle_verify_consistency() rejects
 * old_size 0 (there is nothing to prove). O(log n) calls of `cb`.
 * Returns 0; ERR_INVAL if old_size > new_size; ERR_TOOBIG if the proof
 * would exceed MERKLE_MAX_PROOF hashes (only when new_size > 2^63); or
 * the first error `cb` returned. *n is 0 after an error.
 */
int merkle_consistency_proof(merkle_subtree_cb cb, void *arg, uint64_t old_size,
    uint64_t new_size, uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES],
    size_t *n) WARN_UNUSED NONNULL(1, 6);

/* ---------------------------------------------------------------------
 * Verification (pure functions of their arguments; no callbacks).
 * ------------------------------------------------------------------- */

/*
 * Check that `leaf_hash` is leaf `index` of the tree of `size` leaves
 * whose root is `root`, given the inclusion proof proof[0..n)
 * (RFC 9162 2.1.3.2). `proof` may be NULL when n is 0.
 * Returns 0 if it verifies; ERR_INVAL if index >= size; ERR_CORRUPT if
 * the proof does not verify (wrong hashes, or too short or too long).
 */
int merkle_verify_inclusion(uint64_t index, uint64_t size,
    const uint8_t leaf_hash[MERKLE_HASH_BYTES],
    const uint8_t proof[][MERKLE_HASH_BYTES], size_t n,
    const uint8_t root[MERKLE_HASH_BYTES]) WARN_UNUSED NONNULL(3, 6);

/*
 * Check that the tree of `old_size` leaves with root `old_root` is a
 * prefix of the tree of `new_size` leaves with root `new_root`, given
 * the consistency proof proof[0..n) (RFC 9162 2.1.4.2). When the sizes
 * are equal the proof must be empty and the roots equal. `proof` may be
 * NULL when n is 0.
 * Returns 0 if it verifies; ERR_INVAL if old_size > new_size or
 * old_size is 0 (a proof from the empty tree proves nothing; as
 * transparency-dev/merkle, which rejects it); ERR_CORRUPT if the proof
 * does not verify (wrong hashes, wrong length, roots differ).
 */
int merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
    const uint8_t old_root[MERKLE_HASH_BYTES],
    const uint8_t new_root[MERKLE_HASH_BYTES],
    const uint8_t proof[][MERKLE_HASH_BYTES], size_t n) WARN_UNUSED
    NONNULL(3, 4);

/* ---------------------------------------------------------------------
 * In-memory level store (tests, tools): every perfect-subtree hash.
 * ------------------------------------------------------------------- */

/*
 * Level k holds the hashes of the complete perfect subtrees of 2^k
 * leaves, in index order: size >> k of them. About 2n hashes in all;
 * amortised O(1) per append. Fields change only through this API.
 */
struct merkle_levels {
    uint64_t size;                           /* leaves appended */
    uint8_t (*level[64])[MERKLE_HASH_BYTES]; /* owned; NULL if unused */
    uint64_t cap[64];                        /* entries allocated */
};

/* Initialise `l` as empty; release it with merkle_levels_release(). */
void merkle_levels_init(struct merkle_levels *l) NONNULL(1);

/* Append one leaf hash (and the perfect subtrees it completes). */
void merkle_levels_append(struct merkle_levels *l,
    const uint8_t leaf[MERKLE_HASH_BYTES]) NONNULL(1, 2);

/* Free everything `l` holds; `l` is then as after merkle_levels_init(). */
void merkle_levels_release(struct merkle_levels *l) NONNULL(1);

/*
 * A merkle_subtree_cb over a struct merkle_levels passed as `levels`.
 * Returns 0, or ERR_NOTFOUND if that subtree is not complete yet (or
 * level >= 64).
 */
int merkle_levels_subtree(void *levels, unsigned level, uint64_t index,
    uint8_t out[MERKLE_HASH_BYTES]) WARN_UNUSED NONNULL(1, 4);

#endif
