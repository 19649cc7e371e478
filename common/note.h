/*
 * note.h - C2SP signed notes (Ed25519) and tlog-checkpoint bodies
 *
 * The scorer signs a checkpoint of its audit log's Merkle tree after
 * appends; `vigilctl audit verify` opens it with the log's public
 * (verifier) key. Notes are small: a checkpoint is ~100 bytes of text
 * plus ~100 bytes per signature; NOTE_MAX_BYTES caps what note_open()
 * accepts.
 *
 * Formats (c2sp.org/signed-note, compatible with Go's sumdb/note):
 *     key ID   = SHA-256(name || 0x0A || 0x01 || 32-byte pubkey)[:4],
 *                read as a big-endian uint32
 *     vkey     = "<name>+<8 lowercase hex key ID>+<base64(0x01 || pubkey)>"
 *     skey     = "PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || seed)>"
 *                (the 32-byte Ed25519 seed; store it in a 0600 file)
 *     note     = text || "\n" || one or more signature lines
 *     sig line = U+2014 (em dash) " " name " " base64(keyID4 || sig64) "\n"
 * The text ends in "\n", is valid UTF-8 without control characters other
 * than "\n". base64 is RFC 4648 section 4 with padding, decoded strictly.
 * Key names are non-empty, valid UTF-8, without Unicode spaces or '+'.
 *
 * Checkpoint body (c2sp.org/tlog-checkpoint):
 *     origin "\n" decimal tree size "\n" base64(32-byte root) "\n"
 *     [non-empty extension lines "\n"]...
 *
 * Invariants:
 *  - a signer's secret key lives only in struct note_signer and in the
 *    skey string; both are wiped (note_signer_wipe(), sodium_memzero).
 *  - unknown-key signatures are ignored; a known key's bad signature
 *    rejects the whole note.
 *
 * See also: c2sp.org/signed-note, c2sp.org/tlog-checkpoint, merkle.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_NOTE_H
#define COMMON_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define NOTE_MAX_NAME      255         /* bytes in a key name, without NUL */
#define NOTE_MAX_KEY       512         /* buffer for an skey/vkey string */
#define NOTE_MAX_BYTES     (64 * 1024) /* a whole note given to note_open */
#define NOTE_MAX_SIGS      100         /* signature lines in a note (Go's) */
#define NOTE_MAX_ORIGIN    255         /* bytes in a checkpoint origin */
#define NOTE_ALG_ED25519   0x01        /* signature type byte */
#define NOTE_MAX_SIG_BYTES 128         /* signature bytes after the key ID */

/* A private signing key. Holds secret material: note_signer_wipe() it. */
struct note_signer {
    char name[NOTE_MAX_NAME + 1]; /* key name, NUL-terminated */
    uint32_t key_id;              /* see file header */
    uint8_t sk[64];               /* libsodium Ed25519 secret key */
};

/* A public verifier key. Plain data. */
struct note_verifier {
    char name[NOTE_MAX_NAME + 1]; /* key name, NUL-terminated */
    uint32_t key_id;              /* see file header */
    uint8_t pk[32];               /* Ed25519 public key */
};

/*
 * Compute the key ID of Ed25519 public key `pk` under key name `name`
 * (NUL-terminated): SHA-256(name || "\n" || 0x01 || pk)[:4] big-endian.
 */
uint32_t note_key_id(const char *name, const uint8_t pk[32]) NONNULL(1, 2);

/*
 * Return true if `name` (NUL-terminated) is a valid key name: non-empty,
 * at most NOTE_MAX_NAME bytes, valid UTF-8, no control characters, no
 * Unicode space and no '+'.
 */
bool note_name_is_valid(const char *name) NONNULL(1);

/*
 * Generate a fresh Ed25519 key named `name` and write its skey string
 * (NUL-terminated) into signer_out[0..signer_len) and its vkey string
 * into verifier_out[0..verifier_len). NOTE_MAX_KEY bytes always suffice.
 * The caller must wipe signer_out (sodium_memzero) when done with it.
 * Returns 0; ERR_INVAL if the name is not valid; ERR_TOOBIG if a buffer
 * is too small (both outputs are then wiped/empty).
 */
int note_key_generate(const char *name, char *signer_out, size_t signer_len,
    char *verifier_out, size_t verifier_len) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Parse an skey string ("PRIVATE+KEY+name+hex+base64", NUL-terminated;
 * one trailing "\n" is tolerated so a key file can be passed as read)
 * into `out`. Checks that the key ID matches the name and the public key
 * derived from the seed. Wipe `out` with note_signer_wipe() when done.
 * Returns 0, or ERR_MALFORMED (bad syntax, name, base64, algorithm byte
 * or key ID mismatch); `out` is wiped on error.
 */
int note_signer_parse(const char *skey, struct note_signer *out) WARN_UNUSED
    NONNULL(1, 2);

/* Wipe the secret key material in `s` (sodium_memzero of the struct). */
void note_signer_wipe(struct note_signer *s) NONNULL(1);

/*
 * Write the vkey string of signer `s` (NUL-terminated) into out[0..len).
 * Returns 0 or ERR_TOOBIG.
 */
int note_signer_vkey(const struct note_signer *s, char *out,
    size_t len) WARN_UNUSED NONNULL(1, 2);

/*
 * Parse a vkey string ("name+hex+base64", NUL-terminated; one trailing
 * "\n" tolerated) into `out`. Checks the name, the algorithm byte (only
 * Ed25519, 0x01), the length and that the key ID matches.
 * Returns 0 or ERR_MALFORMED.
 */
int note_verifier_parse(const char *vkey, struct note_verifier *out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Sign text[0..len) with `s` and write the signed note into
 * out[0..outlen): the text, "\n", then one signature line; *outn gets
 * its length, and a NUL is written after it. The text must be non-empty,
 * end in "\n", be valid UTF-8 and contain no control character other
 * than "\n"; an empty line in it is allowed (a reader splits at the last
 * blank line).
 * Returns 0; ERR_INVAL if the text breaks those rules; ERR_TOOBIG if
 * len > NOTE_MAX_BYTES or outlen is too small.
 */
int note_sign(const struct note_signer *s, const char *text, size_t len,
    char *out, size_t outlen, size_t *outn) WARN_UNUSED NONNULL(1, 2, 4, 6);

/*
 * Open the signed note msg[0..len): check its syntax and verify every
 * signature made by one of the keys v[0..nv) (matched by name AND key
 * ID), repeated ones included; signatures by other keys are ignored.
 * The first match in v[] is used if v[] holds a name and ID twice. On success
 * *text_len is the length of the signed text, msg[0..*text_len) (it ends in
 * "\n"); and if `verified` is not NULL, verified[i] is set to true for every
 * v[i] whose signature was present and verified (false otherwise).
 * Returns 0 if at least one known key's signature verified and none
 * failed; ERR_TOOBIG if len > NOTE_MAX_BYTES or there are more than
 * NOTE_MAX_SIGS signatures; ERR_CORRUPT if the note is malformed or a
 * known key's signature does not verify; ERR_NOTFOUND if no signature
 * is from a known key.
 */
int note_open(const char *msg, size_t len, const struct note_verifier *v,
    size_t nv, size_t *text_len, bool *verified) WARN_UNUSED NONNULL(1, 5);

/*
 * Format the checkpoint body "origin\nsize\nbase64(root)\n" into
 * out[0..outlen), NUL-terminated; *outn gets its length (without NUL).
 * `origin` is NUL-terminated: non-empty, at most NOTE_MAX_ORIGIN bytes,
 * valid UTF-8, no control characters.
 * Returns 0; ERR_INVAL for a bad origin; ERR_TOOBIG if out is too small.
 */
int note_checkpoint_format(const char *origin, uint64_t size,
    const uint8_t root[32], char *out, size_t outlen, size_t *outn) WARN_UNUSED
    NONNULL(1, 3, 4, 6);

/*
 * Parse the checkpoint body text[0..len) (e.g. from note_open()),
 * strictly: a non-empty origin line (valid UTF-8, no control chars), a
 * decimal size without sign or leading zeros ("0" alone is allowed)
 * that fits in uint64_t, a line with the base64 of exactly 32 bytes,
 * then zero or more non-empty extension lines, which are ignored; every
 * line ends in "\n". The origin is copied NUL-terminated into
 * origin[0..originlen).
 * Returns 0; ERR_MALFORMED for any syntax error; ERR_TOOBIG if the
 * origin does not fit in `originlen` (or exceeds NOTE_MAX_ORIGIN).
 */
int note_checkpoint_parse(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[32]) WARN_UNUSED
    NONNULL(1, 3, 5, 6);

/* ---------------------------------------------------------------------
 * Other signature types (e.g. 0x04, tlog-cosignature: common/cosig.h).
 * ------------------------------------------------------------------- */

/*
 * Return the key ID SHA-256(name || "\n" || alg || pk)[:4], big-endian,
 * of the 32-byte public key `pk` under `name` (NUL-terminated) for the
 * signature type byte `alg`.
 */
uint32_t note_key_id_alg(const char *name, uint8_t alg, const uint8_t pk[32])
    NONNULL(1, 3);

/*
 * Format the key string "[PRIVATE+KEY+]name+hex(id)+base64(alg || key32)"
 * (the prefix when `secret`) into out[0..outlen), NUL-terminated. The
 * caller wipes `out` when it holds a secret.
 * Returns 0, ERR_INVAL (bad name) or ERR_TOOBIG.
 */
int note_key_format_alg(bool secret, const char *name, uint32_t id, uint8_t alg,
    const uint8_t key32[32], char *out, size_t outlen) WARN_UNUSED
    NONNULL(2, 5, 6);

/*
 * Parse a key string of signature type `alg` ("PRIVATE+KEY+" first when
 * `secret`; one trailing "\n" tolerated) into its name, key ID and the
 * 32 bytes after the type byte (a seed or a public key). The key ID is
 * NOT checked against the key: the caller does (it knows how to derive
 * the public key). Returns 0 or ERR_MALFORMED; `key32` may hold secret
 * material: the caller wipes it.
 */
int note_key_parse_alg(const char *key, bool secret, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t key32[32]) WARN_UNUSED
    NONNULL(1, 4, 5, 6);

/*
 * Make an Ed25519 key pair of signature type `alg` named `name`: the
 * secret key string ("PRIVATE+KEY+...", holding the seed) into
 * skey[0..skey_len) and the verifier key string into vkey[0..vkey_len)
 * (both "" on failure; the caller wipes `skey`). note_key_generate()
 * and cosig_key_generate() are this with their type byte.
 * Returns 0, ERR_INVAL (bad name), ERR_TOOBIG or ERR_IO (libsodium).
 */
int note_key_generate_alg(uint8_t alg, const char *name, char *skey,
    size_t skey_len, char *vkey, size_t vkey_len) WARN_UNUSED NONNULL(2, 3, 5);

/*
 * Parse a secret key string of type `alg` into its name, key ID and the
 * libsodium Ed25519 secret key sk[64] derived from its seed, checking
 * the key ID against the derived public key. On error all three are
 * wiped. Returns 0 or ERR_MALFORMED.
 */
int note_signer_parse_alg(const char *skey, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t sk[64]) WARN_UNUSED
    NONNULL(1, 3, 4, 5);

/* Format the verifier key string of the signer (name, id, sk[64]) of
 * type `alg` into out[0..len). Returns 0 or ERR_TOOBIG. */
int note_signer_vkey_alg(uint8_t alg, const char *name, uint32_t id,
    const uint8_t sk[64], char *out, size_t len) WARN_UNUSED NONNULL(2, 4, 5);

/*
 * Parse a verifier key string of type `alg` into its name, key ID and
 * public key, checking the key ID. On error all three are cleared.
 * Returns 0 or ERR_MALFORMED.
 */
int note_verifier_parse_alg(const char *vkey, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t pk[32]) WARN_UNUSED
    NONNULL(1, 3, 4, 5);

/*
 * Format one signature line "\u2014 name base64(id || sig)\n" into
 * out[0..outlen), NUL-terminated; *outn gets its length.
 * Returns 0, ERR_INVAL (bad name, siglen > NOTE_MAX_SIG_BYTES) or
 * ERR_TOOBIG.
 */
int note_sig_line(const char *name, uint32_t id, const uint8_t *sig,
    size_t siglen, char *out, size_t outlen, size_t *outn) WARN_UNUSED
    NONNULL(1, 3, 5, 7);

/*
 * Called by note_split() for each signature line: the key name
 * name[0..name_len) (not NUL-terminated), the key ID and the signature
 * bytes after it, sig[0..siglen) (borrowed for the call). Return 0 to go
 * on, or a negative ERR_* that note_split() returns.
 */
typedef int (*note_sig_cb)(void *arg, const char *name, size_t name_len,
    uint32_t id, const uint8_t *sig, size_t siglen);

/*
 * Check the frame of the signed note msg[0..len) as note_open() does
 * (clean UTF-8 text ending in "\n", the last blank line, one or more
 * well-formed signature lines, at most NOTE_MAX_SIGS) and call `cb` (may
 * be NULL) for every signature line, of any type, in order. Verifies
 * nothing. *text_len gets the length of the text on success.
 * Returns 0; ERR_MALFORMED; ERR_TOOBIG; or what `cb` returned.
 */
int note_split(const char *msg, size_t len, size_t *text_len, note_sig_cb cb,
    void *arg) WARN_UNUSED NONNULL(1, 3);

#endif
