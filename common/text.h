/*
 * text.h - strict UTF-8 and token checks, bounded string copies
 *
 * Every string that crosses a trust boundary (a storefront field, a
 * query argument, an audit record's actor or ref, a signed note's text)
 * is checked here, so that one set of rules decides what "text" means:
 * well-formed UTF-8 (no overlong forms, no surrogates, nothing past
 * U+10FFFF) with no C0 control, no DEL and no C1 control. Callers that
 * put text in front of a person (audit records, log lines) also refuse
 * the bidirectional formatting characters that can make one name look
 * like another (TEXT_NO_BIDI). Pure functions; any thread.
 *
 * Invariants:
 *  - text_copy() always NUL-terminates and never reads past the bound.
 *
 * See also: wire.h (uses these for msgpack strings), note.h (the C2SP
 *           signed-note rules, which are looser by specification)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_TEXT_H
#define COMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

/* Flags of text_is_clean(). */
enum {
    TEXT_ALLOW_NL = 1u << 0, /* '\n' is allowed (multi-line text) */
    TEXT_NO_BIDI = 1u << 1,  /* refuse U+061C, U+200E-F, U+202A-E, U+2066-9 */
};

/*
 * Decode one UTF-8 sequence at s[0..len) strictly. Store the code point
 * in `*cp` and return the sequence's byte length (1..4), or 0 when the
 * bytes are not well-formed UTF-8 (or len is 0).
 */
size_t text_utf8_next(const uint8_t *s, size_t len, uint32_t *cp) NONNULL(3);

/*
 * Return true when s[0..n) is well-formed UTF-8 with no C0 control
 * (except '\n' under TEXT_ALLOW_NL), no DEL and no C1 control, and,
 * under TEXT_NO_BIDI, no bidirectional formatting character.
 * `s` may be NULL only when n is 0.
 */
bool text_is_clean(const uint8_t *s, size_t n, unsigned flags);

/* Return true when s[0..n) is 1..max bytes of [a-z0-9._-]. */
bool text_is_token(const uint8_t *s, size_t n, size_t max);

/*
 * Copy the NUL-terminated `src` into dst[0..dstsize), truncating at
 * dstsize - 1 bytes (never inside the bound's overrun) and always
 * NUL-terminating. `dstsize` must be at least 1.
 */
void text_copy(char *dst, size_t dstsize, const char *src) NONNULL(1, 3);

/*
 * Format a one-line message into out[0..outlen) (truncated, always
 * NUL-terminated): the "err, errlen" out-parameter of the modules that
 * explain a refusal. Does nothing when `out` is NULL or `outlen` is 0.
 */
void text_fmt(char *out, size_t outlen, const char *fmt, ...) PRINTF_LIKE(3, 4)
    NONNULL(3);

/*
 * Parse all of `s` as a decimal unsigned integer in [min, max] (no sign,
 * no space, no trailing byte). Returns true and sets `*out`, or false.
 */
bool text_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
    NONNULL(1, 4);

/*
 * Parse all of `s` as a finite number in [min, max] (strtod syntax, no
 * trailing byte). Returns true and sets `*out`, or false.
 */
bool text_parse_double(const char *s, double min, double max, double *out)
    NONNULL(1, 4);

/* text_copy() into a char array, with the array's own size. */
#define TEXT_COPY(arr, src) text_copy((arr), sizeof(arr), (src))

#endif
