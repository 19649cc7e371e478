/*
 * note.c - C2SP signed notes (Ed25519) and tlog-checkpoint bodies
 *
 * Key strings, signing and opening follow c2sp.org/signed-note and the
 * behaviour of Go's golang.org/x/mod/sumdb/note (whose keys and notes
 * this code reads and writes byte for byte). All input is untrusted:
 * notes and keys are decoded strictly and bounded in size; errors are
 * returned, never fatal.
 *
 * Invariants:
 *  - secret material (seeds, secret keys, skey strings being built) is
 *    wiped with sodium_memzero before its storage goes out of scope.
 *  - base64 is decoded with libsodium's original variant, which rejects
 *    missing or extra padding and non-zero pad bits.
 *
 * See also: note.h, c2sp.org/signed-note, c2sp.org/tlog-checkpoint
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/err.h"
#include "common/note.h"
#include "common/text.h"
#include "common/xmalloc.h"

#define SKEY_PREFIX   "PRIVATE+KEY+"
#define EM_DASH_SPACE "\xe2\x80\x94 " /* U+2014 then U+0020 */
#define EM_DASH_LEN   4
#define SIG_BYTES     (4 + crypto_sign_ed25519_BYTES)
#define KEY_B64_LEN   44 /* base64 of 33 bytes, no NUL */
#define ROOT_B64_LEN  44 /* base64 of 32 bytes, no NUL */

/* ---------------------------------------------------------------------
 * Text checks.
 * ------------------------------------------------------------------- */

/* True if code point c is a space by Go's unicode.IsSpace. */
static bool
is_unicode_space(uint32_t c)
{
    switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200a;
    }
}

/*
 * True if s[0..len) is valid UTF-8 with no code point below U+0020
 * other than (if allow_nl) newline. Laxer than text_is_clean() on
 * purpose: the signed-note format allows DEL and C1 controls, and a
 * note another implementation signed must still open.
 */
static bool
note_text_ok(const char *s, size_t len, bool allow_nl)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    uint32_t c;

    while (i < len) {
        n = text_utf8_next(p + i, len - i, &c);
        if (n == 0)
            return false;
        if (c < 0x20 && !(allow_nl && c == '\n'))
            return false;
        i += n;
    }
    return true;
}

/* Key name rules on name[0..len) (see note_name_is_valid()). */
static bool
name_is_valid(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t i = 0, n;
    uint32_t c;

    if (len == 0 || len > NOTE_MAX_NAME)
        return false;
    while (i < len) {
        n = text_utf8_next(p + i, len - i, &c);
        if (n == 0 || c < 0x20 || c == '+' || is_unicode_space(c))
            return false;
        i += n;
    }
    return true;
}

bool
note_name_is_valid(const char *name)
{
    return name_is_valid(name, strnlen(name, NOTE_MAX_NAME + 1));
}

/* ---------------------------------------------------------------------
 * Encodings.
 * ------------------------------------------------------------------- */

/*
 * True when b64[0..len) is made of the base64 alphabet only, '=' only
 * at the end. libsodium 1.0.18's sodium_base642bin() decodes bytes
 * 0x80-0xff as if they were '/' (found by fuzz.note: "\xe2\x80\xa8"
 * in a checkpoint's root line parsed as "///"), so every decode here
 * checks the characters first.
 */
static bool
b64_chars_ok(const char *b64, size_t len)
{
    size_t i = 0;

    for (; i < len; i++) {
        unsigned char c = (unsigned char)b64[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                (c >= '0' && c <= '9') || c == '+' || c == '/'))
            break;
    }
    for (; i < len; i++)
        if (b64[i] != '=')
            return false;
    return true;
}

/*
 * Decode base64 b64[0..b64len) into exactly `want` bytes at dst.
 * Return 0 or ERR_MALFORMED.
 */
static int
b64_decode_exact(const char *b64, size_t b64len, uint8_t *dst, size_t want)
{
    const char *end = NULL;
    size_t got = 0;

    if (b64len !=
            sodium_base64_ENCODED_LEN(want, sodium_base64_VARIANT_ORIGINAL) -
                1 ||
        !b64_chars_ok(b64, b64len))
        return ERR_MALFORMED;
    if (sodium_base642bin(dst, want, b64, b64len, NULL, &got, &end,
            sodium_base64_VARIANT_ORIGINAL) != 0)
        return ERR_MALFORMED;
    if (got != want || end != b64 + b64len)
        return ERR_MALFORMED;
    return 0;
}

/* Parse exactly 8 lowercase hex digits at s into *out. */
static int
hex8_parse(const char *s, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    size_t i;

    if (len != 8)
        return ERR_MALFORMED;
    for (i = 0; i < 8; i++) {
        char ch = s[i];

        if (ch >= '0' && ch <= '9')
            v = (v << 4) | (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v = (v << 4) | (uint32_t)(ch - 'a' + 10);
        else
            return ERR_MALFORMED;
    }
    *out = v;
    return 0;
}

uint32_t
note_key_id(const char *name, const uint8_t pk[32])
{
    return note_key_id_alg(name, NOTE_ALG_ED25519, pk);
}

/*
 * Split a key string after its optional "PRIVATE+KEY+" prefix into
 * name, hex and base64 parts (one trailing "\n" dropped). Return 0 or
 * ERR_MALFORMED.
 */
struct key_parts {
    const char *name, *hex, *b64;
    size_t name_len, hex_len, b64_len;
};

static int
key_split(const char *key, struct key_parts *kp)
{
    const char *p1, *p2;
    size_t len = strnlen(key, NOTE_MAX_KEY + 1);

    if (len > NOTE_MAX_KEY)
        return ERR_MALFORMED;
    if (len > 0 && key[len - 1] == '\n')
        len--;
    p1 = memchr(key, '+', len);
    if (p1 == NULL)
        return ERR_MALFORMED;
    p2 = memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - key));
    if (p2 == NULL)
        return ERR_MALFORMED;
    kp->name = key;
    kp->name_len = (size_t)(p1 - key);
    kp->hex = p1 + 1;
    kp->hex_len = (size_t)(p2 - kp->hex);
    kp->b64 = p2 + 1;
    kp->b64_len = len - (size_t)(kp->b64 - key);
    if (!name_is_valid(kp->name, kp->name_len))
        return ERR_MALFORMED;
    return 0;
}

/* ---------------------------------------------------------------------
 * Keys.
 * ------------------------------------------------------------------- */

/* Format "name+hex+base64(alg || key32)" after `prefix` into out. */
static int
key_format_alg(const char *prefix, const char *name, uint32_t id, uint8_t alg,
    const uint8_t key32[32], char *out, size_t outlen)
{
    uint8_t raw[33];
    char b64[KEY_B64_LEN + 1];
    int n;

    raw[0] = alg;
    memcpy(raw + 1, key32, 32);
    sodium_bin2base64(
        b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(out, outlen, "%s%s+%08" PRIx32 "+%s", prefix, name, id, b64);
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(b64, sizeof(b64));
    if (n < 0 || (size_t)n >= outlen) {
        sodium_memzero(out, outlen);
        return ERR_TOOBIG;
    }
    return 0;
}

int
note_key_generate(const char *name, char *signer_out, size_t signer_len,
    char *verifier_out, size_t verifier_len)
{
    return note_key_generate_alg(NOTE_ALG_ED25519, name, signer_out, signer_len,
        verifier_out, verifier_len);
}

int
note_signer_parse(const char *skey, struct note_signer *out)
{
    sodium_memzero(out, sizeof(*out));
    return note_signer_parse_alg(
        skey, NOTE_ALG_ED25519, out->name, &out->key_id, out->sk);
}

void
note_signer_wipe(struct note_signer *s)
{
    sodium_memzero(s, sizeof(*s));
}

int
note_signer_vkey(const struct note_signer *s, char *out, size_t len)
{
    return note_signer_vkey_alg(
        NOTE_ALG_ED25519, s->name, s->key_id, s->sk, out, len);
}

int
note_verifier_parse(const char *vkey, struct note_verifier *out)
{
    memset(out, 0, sizeof(*out));
    return note_verifier_parse_alg(
        vkey, NOTE_ALG_ED25519, out->name, &out->key_id, out->pk);
}

/* ---------------------------------------------------------------------
 * Signing and opening.
 * ------------------------------------------------------------------- */

int
note_sign(const struct note_signer *s, const char *text, size_t len, char *out,
    size_t outlen, size_t *outn)
{
    uint8_t sig[crypto_sign_ed25519_BYTES];
    size_t sig_line_len;
    int rc;

    *outn = 0;
    if (len > NOTE_MAX_BYTES)
        return ERR_TOOBIG;
    if (len == 0 || text[len - 1] != '\n' || !note_text_ok(text, len, true))
        return ERR_INVAL;
    if (!name_is_valid(s->name, strlen(s->name)))
        return ERR_INVAL;
    if (outlen < len + 1)
        return ERR_TOOBIG;
    crypto_sign_ed25519_detached(
        sig, NULL, (const unsigned char *)text, len, s->sk);
    /* text "\n", then the signature line and its NUL after them */
    rc = note_sig_line(s->name, s->key_id, sig, sizeof(sig), out + len + 1,
        outlen - len - 1, &sig_line_len);
    if (rc != 0)
        return rc;
    memcpy(out, text, len);
    out[len] = '\n';
    *outn = len + 1 + sig_line_len;
    return 0;
}

/*
 * Find where the text of the signed note msg[0..len) ends: the text is
 * msg[0..*split + 1) and the signature lines follow the blank line at
 * msg[*split + 1]. Returns 0, ERR_TOOBIG, or ERR_MALFORMED (not clean
 * text ending in "\n", no blank line, or no signature line after it).
 */
static int
frame_split(const char *msg, size_t len, size_t *split)
{
    size_t at;

    if (len > NOTE_MAX_BYTES)
        return ERR_TOOBIG;
    if (len < 2 || msg[len - 1] != '\n' || !note_text_ok(msg, len, true))
        return ERR_MALFORMED;
    /* The text ends at the last blank line: the last "\n\n". */
    at = len - 1;
    while (at > 0 && !(msg[at - 1] == '\n' && msg[at] == '\n'))
        at--;
    if (at == 0)
        return ERR_MALFORMED;
    at--; /* msg[at] and msg[at + 1] are the "\n\n" */
    if (at + 2 == len)
        return ERR_MALFORMED;
    *split = at;
    return 0;
}

/*
 * Parse the signature line "\u2014 name base64\n" that starts at `line`,
 * before `end` (the note ends in "\n", so the line has its newline).
 * Sets the key name, the base64 text (not yet decoded) and *next, the
 * start of the next line. Returns false if the line is not of that form.
 */
static bool
sig_line_parse(const char *line, const char *end, const char **name,
    size_t *name_len, const char **b64, size_t *b64_len, const char **next)
{
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *sp;

    *next = nl + 1;
    if ((size_t)(nl - line) < EM_DASH_LEN ||
        memcmp(line, EM_DASH_SPACE, EM_DASH_LEN) != 0)
        return false;
    line += EM_DASH_LEN;
    sp = memchr(line, ' ', (size_t)(nl - line));
    if (sp == NULL || !name_is_valid(line, (size_t)(sp - line)))
        return false;
    *name = line;
    *name_len = (size_t)(sp - line);
    *b64 = sp + 1;
    *b64_len = (size_t)(nl - *b64);
    return *b64_len != 0 && b64_chars_ok(*b64, *b64_len);
}

/* Find the verifier with this name and key ID, or return -1. */
static long
verifier_find(const struct note_verifier *v, size_t nv, const char *name,
    size_t name_len, uint32_t id)
{
    size_t i;

    for (i = 0; i < nv; i++) {
        if (v[i].key_id == id && strlen(v[i].name) == name_len &&
            memcmp(v[i].name, name, name_len) == 0)
            return (long)i;
    }
    return -1;
}

int
note_open(const char *msg, size_t len, const struct note_verifier *v, size_t nv,
    size_t *text_len, bool *verified)
{
    const char *line, *next, *name, *b64, *end = msg + len;
    uint8_t *scratch = NULL;
    size_t split, nsigs = 0, nok = 0, i, name_len, b64_len, got;
    int rc;

    *text_len = 0;
    if (verified != NULL) {
        for (i = 0; i < nv; i++)
            verified[i] = false;
    }
    rc = frame_split(msg, len, &split);
    if (rc != 0)
        return rc == ERR_MALFORMED ? ERR_CORRUPT : rc;

    scratch = xmalloc(len);
    for (line = msg + split + 2; line < end; line = next) {
        long vi;

        if (!sig_line_parse(
                line, end, &name, &name_len, &b64, &b64_len, &next) ||
            sodium_base642bin(scratch, len, b64, b64_len, NULL, &got, NULL,
                sodium_base64_VARIANT_ORIGINAL) != 0 ||
            got < 5) {
            rc = ERR_CORRUPT;
            goto out;
        }
        if (++nsigs > NOTE_MAX_SIGS) {
            rc = ERR_TOOBIG;
            goto out;
        }
        vi = verifier_find(v, nv, name, name_len, bytes_get_be32(scratch));
        if (vi < 0)
            continue; /* unknown key: ignored, as the spec requires */
        /*
         * Every signature of a known key is checked, repeated ones too
         * (the spec's MUST; Go's note skips repeats of a key).
         */
        if (got != SIG_BYTES ||
            crypto_sign_ed25519_verify_detached(scratch + 4,
                (const unsigned char *)msg, split + 1, v[vi].pk) != 0) {
            rc = ERR_CORRUPT;
            goto out;
        }
        if (verified != NULL)
            verified[vi] = true;
        nok++;
    }
    if (nok == 0) {
        rc = ERR_NOTFOUND;
        goto out;
    }
    *text_len = split + 1;
    rc = 0;
out:
    if (rc != 0 && verified != NULL) {
        for (i = 0; i < nv; i++)
            verified[i] = false;
    }
    free(scratch);
    return rc;
}

/* ---------------------------------------------------------------------
 * Checkpoints.
 * ------------------------------------------------------------------- */

int
note_checkpoint_format(const char *origin, uint64_t size,
    const uint8_t root[32], char *out, size_t outlen, size_t *outn)
{
    char b64[ROOT_B64_LEN + 1];
    size_t olen = strnlen(origin, NOTE_MAX_ORIGIN + 1);
    int n;

    *outn = 0;
    if (olen == 0 || olen > NOTE_MAX_ORIGIN ||
        !note_text_ok(origin, olen, false))
        return ERR_INVAL;
    sodium_bin2base64(
        b64, sizeof(b64), root, 32, sodium_base64_VARIANT_ORIGINAL);
    n = snprintf(out, outlen, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
    if (n < 0 || (size_t)n >= outlen)
        return ERR_TOOBIG;
    *outn = (size_t)n;
    return 0;
}

/* Parse a decimal uint64 without sign or leading zeros. */
static int
parse_u64_strict(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || (len > 1 && s[0] == '0'))
        return ERR_MALFORMED;
    for (i = 0; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return ERR_MALFORMED;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return ERR_MALFORMED;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
note_checkpoint_parse(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[32])
{
    const char *p = text, *end = text + len, *nl[3];
    size_t olen, i;
    int rc;

    if (originlen > 0)
        origin[0] = '\0';
    if (len == 0 || len > NOTE_MAX_BYTES || text[len - 1] != '\n' ||
        !note_text_ok(text, len, true))
        return ERR_MALFORMED;
    for (i = 0; i < 3; i++) {
        nl[i] = memchr(p, '\n', (size_t)(end - p));
        if (nl[i] == NULL || nl[i] == p)
            return ERR_MALFORMED; /* missing or empty line */
        p = nl[i] + 1;
    }
    /* Extension lines: each non-empty. */
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));

        if (e == p)
            return ERR_MALFORMED;
        p = e + 1;
    }
    olen = (size_t)(nl[0] - text);
    rc = parse_u64_strict(nl[0] + 1, (size_t)(nl[1] - nl[0] - 1), size);
    if (rc != 0)
        return rc;
    rc = b64_decode_exact(nl[1] + 1, (size_t)(nl[2] - nl[1] - 1), root, 32);
    if (rc != 0)
        return rc;
    if (olen > NOTE_MAX_ORIGIN || olen + 1 > originlen)
        return ERR_TOOBIG;
    memcpy(origin, text, olen);
    origin[olen] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------
 * Other signature types (cosig.c): keys, lines and the note's frame.
 * ------------------------------------------------------------------- */

uint32_t
note_key_id_alg(const char *name, uint8_t alg, const uint8_t pk[32])
{
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];
    const uint8_t sep[2] = { '\n', alg };

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
    crypto_hash_sha256_update(&st, sep, sizeof(sep));
    crypto_hash_sha256_update(&st, pk, 32);
    crypto_hash_sha256_final(&st, h);
    return bytes_get_be32(h);
}

int
note_key_format_alg(bool secret, const char *name, uint32_t id, uint8_t alg,
    const uint8_t key32[32], char *out, size_t outlen)
{
    if (!note_name_is_valid(name))
        return ERR_INVAL;
    return key_format_alg(
        secret ? SKEY_PREFIX : "", name, id, alg, key32, out, outlen);
}

int
note_key_parse_alg(const char *key, bool secret, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t key32[32])
{
    struct key_parts kp;
    uint8_t raw[33];
    int rc;

    name[0] = '\0';
    if (secret) {
        if (strncmp(key, SKEY_PREFIX, strlen(SKEY_PREFIX)) != 0)
            return ERR_MALFORMED;
        key += strlen(SKEY_PREFIX);
    }
    rc = key_split(key, &kp);
    if (rc == 0)
        rc = hex8_parse(kp.hex, kp.hex_len, id);
    if (rc == 0)
        rc = b64_decode_exact(kp.b64, kp.b64_len, raw, sizeof(raw));
    if (rc == 0 && raw[0] != alg)
        rc = ERR_MALFORMED;
    if (rc == 0) {
        memcpy(key32, raw + 1, 32);
        memcpy(name, kp.name, kp.name_len);
        name[kp.name_len] = '\0';
    }
    sodium_memzero(raw, sizeof(raw));
    return rc;
}

int
note_key_generate_alg(uint8_t alg, const char *name, char *skey,
    size_t skey_len, char *vkey, size_t vkey_len)
{
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_ed25519_SECRETKEYBYTES];
    uint8_t seed[crypto_sign_ed25519_SEEDBYTES];
    uint32_t id;
    int rc;

    if (skey_len > 0)
        skey[0] = '\0';
    if (vkey_len > 0)
        vkey[0] = '\0';
    if (!note_name_is_valid(name))
        return ERR_INVAL;
    if (sodium_init() < 0)
        return ERR_IO;
    crypto_sign_ed25519_keypair(pk, sk);
    crypto_sign_ed25519_sk_to_seed(seed, sk);
    id = note_key_id_alg(name, alg, pk);
    rc = key_format_alg(SKEY_PREFIX, name, id, alg, seed, skey, skey_len);
    if (rc == 0) {
        rc = key_format_alg("", name, id, alg, pk, vkey, vkey_len);
        if (rc != 0)
            sodium_memzero(skey, skey_len);
    }
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(seed, sizeof(seed));
    return rc;
}

int
note_signer_parse_alg(const char *skey, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t sk[64])
{
    uint8_t seed[crypto_sign_ed25519_SEEDBYTES];
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];
    int rc;

    rc = note_key_parse_alg(skey, true, alg, name, id, seed);
    if (rc == 0) {
        crypto_sign_ed25519_seed_keypair(pk, sk, seed);
        if (note_key_id_alg(name, alg, pk) != *id)
            rc = ERR_MALFORMED;
    }
    sodium_memzero(seed, sizeof(seed));
    if (rc != 0) {
        sodium_memzero(sk, crypto_sign_ed25519_SECRETKEYBYTES);
        name[0] = '\0';
        *id = 0;
    }
    return rc;
}

int
note_signer_vkey_alg(uint8_t alg, const char *name, uint32_t id,
    const uint8_t sk[64], char *out, size_t len)
{
    uint8_t pk[crypto_sign_ed25519_PUBLICKEYBYTES];

    crypto_sign_ed25519_sk_to_pk(pk, sk);
    return key_format_alg("", name, id, alg, pk, out, len);
}

int
note_verifier_parse_alg(const char *vkey, uint8_t alg,
    char name[NOTE_MAX_NAME + 1], uint32_t *id, uint8_t pk[32])
{
    int rc;

    rc = note_key_parse_alg(vkey, false, alg, name, id, pk);
    if (rc == 0 && note_key_id_alg(name, alg, pk) != *id)
        rc = ERR_MALFORMED;
    if (rc != 0) {
        memset(pk, 0, 32);
        name[0] = '\0';
        *id = 0;
    }
    return rc;
}

int
note_sig_line(const char *name, uint32_t id, const uint8_t *sig, size_t siglen,
    char *out, size_t outlen, size_t *outn)
{
    uint8_t raw[4 + NOTE_MAX_SIG_BYTES];
    char b64[sodium_base64_ENCODED_LEN(
        4 + NOTE_MAX_SIG_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    size_t name_len = strlen(name), b64_len, need, off = 0;

    *outn = 0;
    if (siglen > NOTE_MAX_SIG_BYTES || !name_is_valid(name, name_len))
        return ERR_INVAL;
    bytes_put_be32(raw, id);
    memcpy(raw + 4, sig, siglen);
    sodium_bin2base64(
        b64, sizeof(b64), raw, 4 + siglen, sodium_base64_VARIANT_ORIGINAL);
    b64_len = strlen(b64);
    need = EM_DASH_LEN + name_len + 1 + b64_len + 1 + 1;
    if (outlen < need)
        return ERR_TOOBIG;
    memcpy(out + off, EM_DASH_SPACE, EM_DASH_LEN);
    off += EM_DASH_LEN;
    memcpy(out + off, name, name_len);
    off += name_len;
    out[off++] = ' ';
    memcpy(out + off, b64, b64_len);
    off += b64_len;
    out[off++] = '\n';
    out[off] = '\0';
    *outn = off;
    return 0;
}

int
note_split(
    const char *msg, size_t len, size_t *text_len, note_sig_cb cb, void *arg)
{
    const char *line, *next, *name, *b64, *end = msg + len;
    uint8_t raw[4 + NOTE_MAX_SIG_BYTES];
    size_t split, nsigs = 0, name_len, b64_len, got;
    int rc;

    *text_len = 0;
    rc = frame_split(msg, len, &split);
    if (rc != 0)
        return rc;
    for (line = msg + split + 2; line < end; line = next) {
        if (!sig_line_parse(
                line, end, &name, &name_len, &b64, &b64_len, &next) ||
            b64_len > sodium_base64_ENCODED_LEN(
                          sizeof(raw), sodium_base64_VARIANT_ORIGINAL) ||
            sodium_base642bin(raw, sizeof(raw), b64, b64_len, NULL, &got, NULL,
                sodium_base64_VARIANT_ORIGINAL) != 0 ||
            got < 5)
            return ERR_MALFORMED;
        if (++nsigs > NOTE_MAX_SIGS)
            return ERR_TOOBIG;
        if (cb != NULL) {
            rc = cb(arg, name, name_len, bytes_get_be32(raw), raw + 4, got - 4);
            if (rc != 0)
                return rc;
        }
    }
    *text_len = split + 1;
    return 0;
}
