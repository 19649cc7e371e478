/*
 * tlogproof.h - C2SP tlog-proof@v1: an offline-verifiable inclusion proof
 *               as text (https://c2sp.org/tlog-proof)
 *
 *     c2sp.org/tlog-proof@v1
 *     extra <base64 of opaque extra data>          (optional line)
 *     index <decimal, no leading zeros>
 *     <base64 SHA-256 hash>                         (0..63 lines: the RFC
 *     ...                                            6962 inclusion proof,
 *                                                    leaf's sibling first)
 *     <empty line>
 *     <the checkpoint, a C2SP signed note, verbatim, with any witness
 *      cosignature lines>
 *
 * Vigil writes the audit record itself as `extra` (`vigilctl audit prove
 * inclusion --format tlog-proof`): the leaf hash is SHA-256(0x00 ||
 * record), so a proof carries everything a verifier needs but the keys.
 * The spec says the extra data is not authenticated: it is, here,
 * through the leaf hash the proof binds to the signed root.
 *
 * This module only formats and parses (pure; any thread): the checkpoint
 * is returned as bytes, its signatures are for the caller to verify
 * (tools/vigilctl/proof.c). The parser reads hostile input: strict, every
 * line checked, nothing past the checkpoint's bounds.
 *
 * See also: note.h (signed notes, checkpoints), merkle.h,
 *           tools/vigilctl/proof.h, /work/shared/references/c2sp/tlog-proof.md
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_TLOGPROOF_H
#define COMMON_TLOGPROOF_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/merkle.h"

#define TLOGPROOF_HEADER    "c2sp.org/tlog-proof@v1"
#define TLOGPROOF_MAX_EXTRA 4096 /* bytes of decoded extra data accepted */

/* A parsed tlog-proof. `checkpoint` borrows from the parsed text. */
struct tlogproof {
    int has_extra;
    uint8_t extra[TLOGPROOF_MAX_EXTRA];
    size_t extra_len;
    uint64_t index;
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    size_t n;
    const char *checkpoint; /* the signed note, up to the end of the text */
    size_t checkpoint_len;
};

/*
 * Append the tlog-proof of leaf `index` with hashes[0..n) and the signed
 * note checkpoint[0..len) (ending in "\n") to `out`; `extra` (may be
 * NULL: no extra line) of `extra_len` bytes.
 * Returns 0, ERR_INVAL (n > MERKLE_MAX_PROOF, extra too long, a
 * checkpoint not ending in "\n") or ERR_TOOBIG (out's limit).
 */
int tlogproof_format(struct buf *out, const uint8_t *extra, size_t extra_len,
    uint64_t index, const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t n,
    const char *checkpoint, size_t len) WARN_UNUSED NONNULL(1, 7);

/*
 * Parse text[0..len) (any bytes) into `*p`. `why` gets a static reason
 * on failure. Returns 0 or ERR_MALFORMED.
 */
int tlogproof_parse(const char *text, size_t len, struct tlogproof *p,
    const char **why) WARN_UNUSED NONNULL(1, 3, 4);

/* Whether text[0..len) starts with the tlog-proof header line. */
int tlogproof_is(const char *text, size_t len) NONNULL(1);

#endif
