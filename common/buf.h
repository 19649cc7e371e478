/*
 * buf.h - a growable byte buffer with a hard size cap
 *
 * Buffers fed from the network get their cap when initialised
 * (buf_init(&b, SFPROTO_MAX_MSG_BYTES)); exceeding it is ERR_TOOBIG, never
 * a silent reallocation past the cap. Used by wire.c to encode messages
 * and events, and by the journal to stage records.
 *
 * Invariants:
 *  - len <= cap_limit; data is NULL only while nothing was ever appended.
 *  - fields change only through this API.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/compiler.h"

struct buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;    /* bytes in use */
    size_t alloc;  /* bytes allocated */
    size_t limit;  /* hard cap on len */
};

/* Initialise an empty buffer that may grow to `limit` bytes. */
void buf_init(struct buf *b, size_t limit) NONNULL(1);

/* Free the storage; the buffer may be initialised again. */
void buf_release(struct buf *b) NONNULL(1);

/* Wipe the contents (sodium_memzero) and free: for personal data. */
void buf_wipe_release(struct buf *b) NONNULL(1);

/* Forget the contents but keep the storage for reuse. */
void buf_reset(struct buf *b) NONNULL(1);

/* Cut the contents back to their first `len` bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len) NONNULL(1);

/* The longest text buf_printf() formats (its `max`, at most). */
#define BUF_PRINTF_MAX 8192

/*
 * Append printf-style text when it is shorter than `max` bytes (max <=
 * BUF_PRINTF_MAX): a line or a piece of a text format. Returns 0, or
 * ERR_TOOBIG (the text `max` bytes or longer, or past the cap; the
 * buffer unchanged).
 */
int buf_printf(struct buf *b, size_t max, const char *fmt, ...) WARN_UNUSED
    NONNULL(1, 3) PRINTF_LIKE(3, 4);

/* The growing path of buf_append(); call buf_append() instead. */
int buf_append_grow(struct buf *b, const void *p, size_t len) WARN_UNUSED
    NONNULL(1);

/*
 * Append `len` bytes from `p`. Returns 0, or ERR_TOOBIG if the cap would
 * be exceeded (the buffer is then unchanged). Inline: the msgpack
 * encoder appends every token through here. `alloc` never exceeds the
 * cap, so fitting in it means fitting under the cap.
 */
static inline WARN_UNUSED NONNULL(1) int buf_append(
    struct buf *b, const void *p, size_t len)
{
    if (len <= b->alloc - b->len) {
        if (len > 0)
            memcpy(b->data + b->len, p, len);
        b->len += len;
        return 0;
    }
    return buf_append_grow(b, p, len);
}

#endif
