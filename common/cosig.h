/*
 * cosig.h - C2SP tlog-cosignature/v1: Ed25519 timestamped cosignatures
 *           of checkpoints
 *
 * A witness (tools/vigil-witness) cosigns a checkpoint of the audit log
 * after checking it is consistent with the last one it saw; the scorer's
 * witness thread stores what it gets back (scorer/witness.c), and
 * `vigilctl audit verify --witness VKEY --quorum N` counts the valid
 * cosignatures on the newest checkpoint. Pure functions, any thread.
 *
 * Format (c2sp.org/tlog-cosignature, "Ed25519", signature type 0x04):
 *     key ID   = SHA-256(name || "\n" || 0x04 || 32-byte public key)[:4]
 *     vkey     = "<name>+<8 hex key ID>+<base64(0x04 || public key)>"
 *     skey     = "PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x04 || seed)>"
 *                (this code's own file format for the witness's secret,
 *                 modelled on the signed-note skey; 0600)
 *     sig line = U+2014 " " name " " base64(keyID4 || u64 BE timestamp ||
 *                64-byte Ed25519 signature) "\n"
 *     signed message = "cosignature/v1\n" "time " <decimal timestamp> "\n"
 *                      || the checkpoint's whole note text (its final
 *                      "\n" included, no signature line)
 * The timestamp is POSIX seconds, at most 2^63 - 1, never 0 when a
 * witness returns it (tlog-witness).
 *
 * Deviation: tlog-witness says witnesses SHOULD use ML-DSA-44
 * cosignatures; libsodium has no ML-DSA, so this is the Ed25519 type,
 * which the same specifications define and require clients to accept.
 *
 * Invariants:
 *  - a cosigner's secret lives only in struct cosig_signer and the
 *    skey string; both are wiped (cosig_signer_wipe, sodium_memzero).
 *  - cosignatures from keys not configured are ignored; a configured
 *    key's bad cosignature fails the whole check (signed-note's rule).
 *
 * See also: note.h, tools/vigil-witness.1, c2sp.org/tlog-cosignature,
 *           c2sp.org/tlog-witness
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_COSIG_H
#define COMMON_COSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/note.h"

#define COSIG_ALG_ED25519 0x04
#define COSIG_SIG_BYTES   (8 + 64)              /* after the key ID */
#define COSIG_LINE_MAX    (NOTE_MAX_NAME + 128) /* one signature line */
#define COSIG_MAX_TS      INT64_MAX

/* A cosigner's private key. Holds secret material: cosig_signer_wipe(). */
struct cosig_signer {
    char name[NOTE_MAX_NAME + 1]; /* key name, NUL-terminated */
    uint32_t key_id;              /* see file header */
    uint8_t sk[64];               /* libsodium Ed25519 secret key */
};

/* A cosigner's public key. Plain data. */
struct cosig_verifier {
    char name[NOTE_MAX_NAME + 1]; /* key name, NUL-terminated */
    uint32_t key_id;              /* see file header */
    uint8_t pk[32];               /* Ed25519 public key */
};

/*
 * Generate a cosigner key named `name`: its skey string into
 * skey[0..skey_len) (the caller wipes it) and its vkey into
 * vkey[0..vkey_len); NOTE_MAX_KEY bytes always suffice.
 * Returns 0, ERR_INVAL (bad name), ERR_TOOBIG or ERR_IO (libsodium).
 */
int cosig_key_generate(const char *name, char *skey, size_t skey_len,
    char *vkey, size_t vkey_len) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Parse an skey string (one trailing "\n" tolerated) into `out`, checking
 * the type byte 0x04 and the key ID. `out` is wiped on error.
 * Returns 0 or ERR_MALFORMED.
 */
int cosig_signer_parse(const char *skey, struct cosig_signer *out) WARN_UNUSED
    NONNULL(1, 2);

/* Wipe `s`. */
void cosig_signer_wipe(struct cosig_signer *s) NONNULL(1);

/* Write the vkey of `s` into out[0..len). Returns 0 or ERR_TOOBIG. */
int cosig_signer_vkey(const struct cosig_signer *s, char *out,
    size_t len) WARN_UNUSED NONNULL(1, 2);

/*
 * Parse a vkey string (type 0x04; one trailing "\n" tolerated) into
 * `out`, checking the key ID. Returns 0 or ERR_MALFORMED.
 */
int cosig_verifier_parse(
    const char *vkey, struct cosig_verifier *out) WARN_UNUSED NONNULL(1, 2);

/*
 * Cosign the checkpoint note text text[0..len) (ends in "\n"; no
 * signature line) at POSIX time `ts` (1..COSIG_MAX_TS) and write the
 * signature line into line[0..cap) (NUL-terminated; COSIG_LINE_MAX
 * suffices); *linen gets its length.
 * Returns 0, ERR_INVAL (bad text or ts) or ERR_TOOBIG.
 */
int cosig_sign(const struct cosig_signer *s, const char *text, size_t len,
    uint64_t ts, char *line, size_t cap, size_t *linen) WARN_UNUSED
    NONNULL(1, 2, 5, 7);

/*
 * Check the cosignatures in the signed note msg[0..len) (a checkpoint
 * with any signature lines) against the cosigners v[0..nv): each line
 * whose name and key ID match v[i] must carry a valid cosignature/v1
 * over the note's text (timestamp <= COSIG_MAX_TS, and not later than
 * `max_ts` when `max_ts` is not 0), else the check fails. On success
 * ok[i] (when `ok` is not NULL) says whether v[i] cosigned, ts[i] (when
 * `ts` is not NULL) gets its timestamp, and *nok the number of distinct
 * v[i] that cosigned. Lines of other keys are ignored.
 * Returns 0; ERR_MALFORMED (the note's frame); ERR_CORRUPT (a configured
 * cosigner's line does not verify); ERR_TOOBIG.
 */
int cosig_verify(const char *msg, size_t len, const struct cosig_verifier *v,
    size_t nv, uint64_t max_ts, bool *ok, uint64_t *ts, size_t *nok) WARN_UNUSED
    NONNULL(1, 8);

#endif
