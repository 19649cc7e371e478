/*
 * text.c - strict UTF-8 and token checks, bounded string copies
 *
 * See text.h for the rules. These run for every string field of every
 * event (a few hundred bytes per event), so the ASCII path is a tight
 * loop and multi-byte sequences are decoded only when present.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"

size_t
text_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint32_t c;
    size_t n, i;

    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        c = s[0] & 0x1f;
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        c = s[0] & 0x0f;
        n = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        c = s[0] & 0x07;
        n = 4;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static bool
is_bidi_control(uint32_t c)
{
    return c == 0x061c || c == 0x200e || c == 0x200f ||
        (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

bool
text_is_clean(const uint8_t *s, size_t n, unsigned flags)
{
    size_t i = 0, k;
    uint32_t c;

    while (i < n) {
        c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && !(c == '\n' && (flags & TEXT_ALLOW_NL))) ||
                c == 0x7f)
                return false;
            i++;
            continue;
        }
        k = text_utf8_next(s + i, n - i, &c);
        if (k == 0 || (c >= 0x80 && c <= 0x9f))
            return false;
        if ((flags & TEXT_NO_BIDI) && is_bidi_control(c))
            return false;
        i += k;
    }
    return true;
}

bool
text_is_token(const uint8_t *s, size_t n, size_t max)
{
    size_t i;

    if (n < 1 || n > max)
        return false;
    for (i = 0; i < n; i++) {
        uint8_t c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-'))
            return false;
    }
    return true;
}

void
text_fmt(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;

    if (out == NULL || outlen == 0)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
}

void
text_copy(char *dst, size_t dstsize, const char *src)
{
    size_t n = strnlen(src, dstsize - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

bool
text_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

bool
text_parse_double(const char *s, double min, double max, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*out) &&
        *out >= min && *out <= max;
}
