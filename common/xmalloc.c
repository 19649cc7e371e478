/*
 * xmalloc.c - allocation that is fatal on failure
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"

void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        fatalx("xmalloc: out of memory allocating %zu bytes", size);
    return p;
}

void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        fatalx("xcalloc: out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
    void *q;

    if (size != 0 && n > SIZE_MAX / size)
        fatalx("xreallocarray: %zu x %zu overflows", n, size);
    q = realloc(p, (n * size) != 0 ? n * size : 1);
    if (q == NULL)
        fatalx(
            "xreallocarray: out of memory allocating %zu x %zu bytes", n, size);
    return q;
}

char *
xstrdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = xmalloc(len);

    memcpy(p, s, len);
    return p;
}
