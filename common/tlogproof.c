/*
 * tlogproof.c - C2SP tlog-proof@v1 text: format and strict parse
 *               (tlogproof.h)
 *
 * The format, from c2sp.org/tlog-proof (the spec text this follows is
 * /work/shared/references/c2sp/tlog-proof.md): lines separated by "\n";
 * the header line; optionally "extra " + base64 (RFC 4648 section 4,
 * padded); "index " + decimal without leading zeros; zero or more
 * non-empty lines of one base64 SHA-256 hash each; an empty line; the
 * checkpoint verbatim (a signed note, which ends in "\n").
 *
 * Invariants:
 *  - the parser never reads past text[len) and needs no NUL.
 *  - a parsed proof has at most MERKLE_MAX_PROOF - 1 hashes (an inclusion
 *    proof in a tree of at most 2^63 leaves).
 *
 * See also: tlogproof.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/tlogproof.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

int
tlogproof_is(const char *text, size_t len)
{
    size_t h = sizeof(TLOGPROOF_HEADER) - 1;

    return len > h && memcmp(text, TLOGPROOF_HEADER, h) == 0 && text[h] == '\n';
}

static int
put(struct buf *out, const char *s, size_t n)
{
    return buf_append(out, s, n);
}

/* Append the padded base64 of p[0..n) and "\n". */
static int
put_b64(struct buf *out, const uint8_t *p, size_t n)
{
    char tmp[sodium_base64_ENCODED_LEN(TLOGPROOF_MAX_EXTRA, B64)];

    sodium_bin2base64(tmp, sizeof(tmp), p, n, B64);
    if (put(out, tmp, strlen(tmp)) != 0)
        return ERR_TOOBIG;
    return put(out, "\n", 1);
}

int
tlogproof_format(struct buf *out, const uint8_t *extra, size_t extra_len,
    uint64_t index, const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t n,
    const char *checkpoint, size_t len)
{
    char line[64];
    int k;

    if (n >= MERKLE_MAX_PROOF || (n > 0 && hashes == NULL) ||
        extra_len > TLOGPROOF_MAX_EXTRA || len == 0 ||
        checkpoint[len - 1] != '\n')
        return ERR_INVAL;
    if (put(out, TLOGPROOF_HEADER "\n", sizeof(TLOGPROOF_HEADER)) != 0)
        return ERR_TOOBIG;
    if (extra != NULL &&
        (put(out, "extra ", 6) != 0 || put_b64(out, extra, extra_len) != 0))
        return ERR_TOOBIG;
    k = snprintf(line, sizeof(line), "index %llu\n", (unsigned long long)index);
    if (put(out, line, (size_t)k) != 0)
        return ERR_TOOBIG;
    for (size_t i = 0; i < n; i++)
        if (put_b64(out, hashes[i], MERKLE_HASH_BYTES) != 0)
            return ERR_TOOBIG;
    if (put(out, "\n", 1) != 0 || put(out, checkpoint, len) != 0)
        return ERR_TOOBIG;
    return 0;
}

/* The line at text[*at..len): its start and length (without "\n"); false
 * when no "\n" ends it. Advances *at past the "\n". */
static int
next_line(const char *text, size_t len, size_t *at, const char **s, size_t *n)
{
    const char *nl;

    if (*at >= len)
        return 0;
    nl = memchr(text + *at, '\n', len - *at);
    if (nl == NULL)
        return 0;
    *s = text + *at;
    *n = (size_t)(nl - *s);
    *at += *n + 1;
    return 1;
}

/* Strict padded base64 of exactly what fits in out[0..cap): *outlen. */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
    const char *end;

    if (n == 0 || n % 4 != 0)
        return -1;
    if (sodium_base642bin(out, cap, s, n, NULL, outlen, &end, B64) != 0 ||
        end != s + n)
        return -1;
    return 0;
}

int
tlogproof_parse(
    const char *text, size_t len, struct tlogproof *p, const char **why)
{
    const char *s;
    size_t at = 0, n, got;
    uint64_t v = 0;

    memset(p, 0, sizeof(*p));
    if (!tlogproof_is(text, len)) {
        *why = "the first line is not \"" TLOGPROOF_HEADER "\"";
        return ERR_MALFORMED;
    }
    at = sizeof(TLOGPROOF_HEADER);
    if (!next_line(text, len, &at, &s, &n)) {
        *why = "the proof ends after its first line";
        return ERR_MALFORMED;
    }
    if (n >= 6 && memcmp(s, "extra ", 6) == 0) {
        /* "extra " alone: zero bytes of extra data (base64 of nothing). */
        if (n > 6 &&
            b64_decode(
                s + 6, n - 6, p->extra, sizeof(p->extra), &p->extra_len) != 0) {
            *why = "the extra line is not one padded base64 value of at "
                   "most 4096 bytes";
            return ERR_MALFORMED;
        }
        p->has_extra = 1;
        if (!next_line(text, len, &at, &s, &n)) {
            *why = "no index line";
            return ERR_MALFORMED;
        }
    }
    if (n < 7 || memcmp(s, "index ", 6) != 0 || n - 6 > 20 ||
        (s[6] == '0' && n > 7)) {
        *why = "no \"index N\" line (decimal, no sign, no leading zeros)";
        return ERR_MALFORMED;
    }
    for (size_t i = 6; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';

        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            *why = "no \"index N\" line (decimal, no sign, no leading "
                   "zeros, at most 2^64-1)";
            return ERR_MALFORMED;
        }
        v = v * 10 + d;
    }
    p->index = v;
    for (;;) {
        if (!next_line(text, len, &at, &s, &n)) {
            *why = "the proof ends before the empty line and the checkpoint";
            return ERR_MALFORMED;
        }
        if (n == 0)
            break;
        if (p->n == MERKLE_MAX_PROOF - 1) {
            *why = "more than 63 proof hashes";
            return ERR_MALFORMED;
        }
        if (b64_decode(s, n, p->hashes[p->n], MERKLE_HASH_BYTES, &got) != 0 ||
            got != MERKLE_HASH_BYTES) {
            *why = "a proof line is not the padded base64 of 32 bytes";
            return ERR_MALFORMED;
        }
        p->n++;
    }
    if (at >= len || text[len - 1] != '\n') {
        *why = "no checkpoint after the empty line (a signed note ending "
               "in a newline)";
        return ERR_MALFORMED;
    }
    p->checkpoint = text + at;
    p->checkpoint_len = len - at;
    return 0;
}
