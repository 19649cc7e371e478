/*
 * prove.h - audit records by index, each with its inclusion proof
 *           against a signed checkpoint
 *
 * The DPO operations (scorer/query_dpo.c) and erasure (scorer/erase.c)
 * need a few records of the log by index: a report sends each with the
 * RFC 9162 inclusion proof that ties it to the signed checkpoint the
 * scorer just made, and erasure reads the records that name a subject
 * to learn what else they name. This is the one place that reads them.
 *
 * From the tiles (common/audit_tiles.h) when the log has them: one
 * tree of the signed checkpoint of `size`, then each record from its
 * entry bundle and its proof from the tiles, O(k log n) hashes read and
 * no pass (about a millisecond a record at any log size). A log without
 * tiles or without a checkpoint of `size` takes one verifying pass over
 * the whole log through the public reader (audit_replay()): linear in
 * the log, with memory bounded by what is asked (the records asked for
 * and the O(k log n) subtree hashes their proofs need, never every
 * leaf). Damaged tiles or bundles are ERR_CORRUPT, never a fallback.
 *
 * Invariants:
 *  - every proof returned has been verified here against the root of
 *    the checkpoint note returned, whose signature the pass checked with
 *    the log's verifier key.
 *
 * See also: common/audit.h, common/merkle.h, scorer/query_dpo.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_PROVE_H
#define SCORER_PROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/merkle.h"

/* One record asked for. */
struct prove_item {
    uint64_t index;                      /* in: the record */
    struct audit_record rec;             /* out: decoded */
    uint8_t raw[AUDIT_MAX_RECORD_BYTES]; /* out: its exact bytes */
    size_t raw_len;
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES]; /* out: proof */
    size_t n;                                            /* its hashes */
};

/* The checkpoint the proofs are against. */
struct prove_checkpoint {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    char note[AUDIT_MAX_NOTE_BYTES + 1]; /* the signed note, verbatim */
    size_t note_len;
};

/*
 * Read records items[0..n).index (strictly ascending, each < `size`)
 * of the audit log in `dir` under the checkpoint of `size` records
 * signed by verifier key `key`; with `proofs`, build and check each
 * record's inclusion proof in that tree. `*ck` gets the checkpoint.
 * From the tiles when they exist, else by prove_records_pass(). Main
 * thread of the scorer.
 * Returns 0; ERR_INVAL (indexes not ascending, or one >= size);
 * ERR_AGAIN (no tiles, and the latest checkpoint is not of `size`);
 * ERR_CORRUPT (the log, a tile or a bundle does not verify, or a proof
 * does not: logged); ERR_IO.
 */
int prove_records(const char *dir, const char *key, uint64_t size,
    struct prove_item *items, size_t n, bool proofs,
    struct prove_checkpoint *ck) WARN_UNUSED NONNULL(1, 2, 7);

/* The same by one verifying pass over the whole log, whose latest
 * checkpoint must be of `size` records (the fallback; unit.prove and
 * its bench compare the two). Returns as prove_records(). */
int prove_records_pass(const char *dir, const char *key, uint64_t size,
    struct prove_item *items, size_t n, bool proofs,
    struct prove_checkpoint *ck) WARN_UNUSED NONNULL(1, 2, 7);

#endif
