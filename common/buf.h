/*
 * buf.h - a growable byte buffer with a hard size cap
 *
 * Buffers fed from the network get their cap when initialised
 * (buf_init(&b, PROTO_MAX_MSG_BYTES)); exceeding it is ERR_TOOBIG, never
 * a silent reallocation past the cap. Used by proto.c to encode replies
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

/*
 * Append `len` bytes from `p`. Returns 0, or ERR_TOOBIG if the cap would
 * be exceeded (the buffer is then unchanged).
 */
int buf_append(struct buf *b, const void *p, size_t len) WARN_UNUSED NONNULL(1);

#endif
