/*
 * gzlines.c - line reader over zlib's gzread, with a line cap
 *
 * Reads 64 KiB at a time into a buffer of max_line + 64 KiB, hands out
 * lines in place and moves the unread tail to the front when the next
 * line does not fit. gzread reads uncompressed files as they are.
 *
 * Invariants:
 *  - buf[start..end) holds bytes read but not yet handed out.
 *
 * See also: gzlines.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "common/err.h"
#include "common/gzlines.h"
#include "common/xmalloc.h"

#define CHUNK (64 * 1024)

struct gzlines {
    gzFile gz;
    char *path;
    char *buf;
    size_t cap;      /* bytes of buf */
    size_t max_line; /* longest line handed out */
    size_t start, end;
    uint64_t lineno;
    int eof;
    char err[256];
};

int
gzlines_open(const char *path, size_t max_line, struct gzlines **out, char *err,
    size_t errlen)
{
    struct gzlines *l;
    gzFile gz;

    *out = NULL;
    gz = gzopen(path, "rb");
    if (gz == NULL) {
        int e = errno;

        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: cannot open: %s", path,
                e != 0 ? strerror(e) : "out of memory");
        return e == ENOENT ? ERR_NOTFOUND : ERR_IO;
    }
    gzbuffer(gz, CHUNK);
    l = xcalloc(1, sizeof(*l));
    l->gz = gz;
    l->path = xstrdup(path);
    l->max_line = max_line;
    l->cap = max_line + 2 + CHUNK;
    l->buf = xmalloc(l->cap);
    *out = l;
    return 0;
}

/* zlib's message without the "<path>: " it starts with. */
static const char *
zmsg(const struct gzlines *l, const char *msg)
{
    size_t n = strlen(l->path);

    if (strncmp(msg, l->path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
        return msg + n + 2;
    return msg;
}

/* Read more bytes after the unread tail. Returns 0, or an ERR_*. */
static int
fill(struct gzlines *l)
{
    int n, zerr;
    const char *msg;

    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->end - l->start);
        l->end -= l->start;
        l->start = 0;
    }
    n = gzread(l->gz, l->buf + l->end, (unsigned)(l->cap - 1 - l->end));
    if (n < 0) {
        msg = gzerror(l->gz, &zerr);
        snprintf(l->err, sizeof(l->err), "%s: after line %llu: %s", l->path,
            (unsigned long long)l->lineno,
            zerr == Z_ERRNO ? strerror(errno) : zmsg(l, msg));
        return zerr == Z_ERRNO ? ERR_IO : ERR_CORRUPT;
    }
    if (n == 0) {
        /* A clean end, or a gzip stream cut short. */
        msg = gzerror(l->gz, &zerr);
        if (zerr != Z_OK && zerr != Z_STREAM_END) {
            snprintf(l->err, sizeof(l->err), "%s: after line %llu: %s", l->path,
                (unsigned long long)l->lineno, zmsg(l, msg));
            return ERR_CORRUPT;
        }
        l->eof = 1;
    }
    l->end += (size_t)n;
    return 0;
}

int
gzlines_next(struct gzlines *l, char **line, size_t *len)
{
    char *nl;
    size_t n;
    int rc;

    for (;;) {
        nl = memchr(l->buf + l->start, '\n', l->end - l->start);
        if (nl != NULL || l->eof)
            break;
        if (l->end - l->start > l->max_line + 1) {
            snprintf(l->err, sizeof(l->err),
                "%s line %llu: longer than %zu bytes", l->path,
                (unsigned long long)l->lineno + 1, l->max_line);
            return ERR_TOOBIG;
        }
        rc = fill(l);
        if (rc != 0)
            return rc;
    }
    if (nl == NULL) {
        if (l->end == l->start)
            return ERR_NOTFOUND;
        nl = l->buf + l->end; /* a last line without "\n" */
    }
    n = (size_t)(nl - (l->buf + l->start));
    if (n > 0 && l->buf[l->start + n - 1] == '\r')
        n--;
    if (n > l->max_line) {
        snprintf(l->err, sizeof(l->err), "%s line %llu: longer than %zu bytes",
            l->path, (unsigned long long)l->lineno + 1, l->max_line);
        return ERR_TOOBIG;
    }
    *line = l->buf + l->start;
    (*line)[n] = '\0';
    *len = n;
    l->start = nl < l->buf + l->end ? (size_t)(nl - l->buf) + 1 : l->end;
    l->lineno++;
    return 0;
}

uint64_t
gzlines_lineno(const struct gzlines *l)
{
    return l->lineno;
}

const char *
gzlines_error(const struct gzlines *l)
{
    return l->err;
}

void
gzlines_close(struct gzlines *l)
{
    if (l == NULL)
        return;
    gzclose(l->gz);
    free(l->path);
    free(l->buf);
    free(l);
}

int
gzlines_split(char *line, char sep, char **fields, unsigned max)
{
    unsigned n = 0;
    char *s = line;

    if (strchr(line, '"') != NULL)
        return ERR_MALFORMED;
    for (;;) {
        char *p = strchr(s, sep);

        if (n == max)
            return ERR_TOOBIG;
        fields[n++] = s;
        if (p == NULL)
            return (int)n;
        *p = '\0';
        s = p + 1;
    }
}
