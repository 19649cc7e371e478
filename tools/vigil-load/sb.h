/*
 * sb.h - a string builder over a fixed char array, for generated ids
 *
 * The generator composes several strings per event (event and order
 * ids, sessions, accounts, device ids, e-mail addresses) from pieces and
 * numbers. These appends never overflow and always NUL-terminate
 * (truncating if they must), and are several times cheaper than
 * snprintf on the per-event path. A plain copy is TEXT_COPY (text.h).
 * Header only, so the appends inline.
 *
 * Invariants:
 *  - p[len] == '\0' and len < cap after every call.
 *
 * See also: common/text.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_SB_H
#define VIGIL_LOAD_SB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A builder writing into p[0..cap); fields change only through sb_*. */
struct sb {
    char *p;
    size_t len;
    size_t cap;
};

/* Start an empty string in p[0..cap); cap >= 1. */
static inline struct sb
sb_at(char *p, size_t cap)
{
    struct sb b = { p, 0, cap };

    p[0] = '\0';
    return b;
}

/* Append n bytes of s, or as many as fit. */
static inline void
sb_mem(struct sb *b, const char *s, size_t n)
{
    if (n > b->cap - 1 - b->len)
        n = b->cap - 1 - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Append the NUL-terminated s. */
static inline void
sb_str(struct sb *b, const char *s)
{
    sb_mem(b, s, strlen(s));
}

/* Append v in decimal. */
static inline void
sb_u64(struct sb *b, uint64_t v)
{
    char t[20];
    size_t i = sizeof(t);

    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sb_mem(b, t + i, sizeof(t) - i);
}

/* Append exactly `digits` lower-case hex digits of v (leading zeros
 * kept; at most 16). */
static inline void
sb_hex(struct sb *b, uint64_t v, unsigned digits)
{
    static const char hx[] = "0123456789abcdef";
    char t[16];

    if (digits > 16)
        digits = 16;
    for (unsigned i = digits; i > 0; i--) {
        t[i - 1] = hx[v & 15];
        v >>= 4;
    }
    sb_mem(b, t, digits);
}

#endif
