/*
 * buf.c - a growable byte buffer with a hard size cap
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"

void
buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->limit = limit;
}

void
buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

void
buf_wipe_release(struct buf *b)
{
    if (b->data != NULL)
        sodium_memzero(b->data, b->alloc);
    buf_release(b);
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
}

void
buf_truncate(struct buf *b, size_t len)
{
    if (len < b->len)
        b->len = len;
}

int
buf_append_grow(struct buf *b, const void *p, size_t len)
{
    if (len > b->limit - b->len)
        return ERR_TOOBIG;
    if (b->len + len > b->alloc) {
        size_t n = b->alloc ? b->alloc : 256;

        while (n < b->len + len)
            n *= 2;
        if (n > b->limit)
            n = b->limit;
        b->data = xreallocarray(b->data, n, 1);
        b->alloc = n;
    }
    if (len > 0)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

int
buf_printf(struct buf *b, size_t max, const char *fmt, ...)
{
    char tmp[BUF_PRINTF_MAX];
    va_list ap;
    int n;

    if (max > sizeof(tmp))
        max = sizeof(tmp);
    va_start(ap, fmt);
    n = vsnprintf(tmp, max, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= max)
        return ERR_TOOBIG;
    return buf_append(b, tmp, (size_t)n);
}
