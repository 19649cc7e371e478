/*
 * xmalloc.h - allocation that is fatal on failure
 *
 * Out of memory is one of the three things that may kill a process
 * (CONVENTIONS.md, errors rule 6). Nothing else in collector/, scorer/
 * or common/ calls malloc, calloc, realloc or strdup directly.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_XMALLOC_H
#define COMMON_XMALLOC_H

#include <stddef.h>

/* Allocate `size` bytes; caller frees with free(). Never returns NULL. */
void *xmalloc(size_t size);
/* Allocate zeroed `n * size` bytes; caller frees with free(). */
void *xcalloc(size_t n, size_t size);
/* Resize `p` to `n * size` bytes, checking overflow; caller frees. */
void *xreallocarray(void *p, size_t n, size_t size);
/* Duplicate `s`; caller frees with free(). */
char *xstrdup(const char *s);

#endif
