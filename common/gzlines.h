/*
 * gzlines.h - read a text file line by line, plain or gzip-compressed
 *
 * The training and replay tools read CSV files that may be gzipped
 * (train.csv.gz) or plain (a feature export). zlib's gzread reads both
 * transparently; this module adds a hard cap on the line length, line
 * numbers for error messages, a clear error for a damaged or truncated
 * gzip stream, and a splitter for simple CSV (no quoting: a field holds
 * no separator and no double quote, which the splitter refuses).
 * Built as its own library (gzlines, linking zlib) so that the daemons
 * do not link zlib; used by tools only.
 *
 * Invariants:
 *  - a line handed out is NUL-terminated, without its "\n" or "\r\n",
 *    and valid until the next gzlines_next() or gzlines_close().
 *
 * See also: tools/vigil-train/, tools/vigil-replay/
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_GZLINES_H
#define COMMON_GZLINES_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct gzlines;

/*
 * Open `path` (plain or gzip) for reading lines of at most `max_line`
 * bytes. Caller closes `*out` with gzlines_close(). On failure `err`
 * (size errlen) says why. Returns 0, ERR_NOTFOUND or ERR_IO.
 */
int gzlines_open(const char *path, size_t max_line, struct gzlines **out,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 3);

/*
 * Read the next line into `*line` (borrowed, see the invariants) and its
 * length into `*len`. A last line without "\n" is still a line.
 * Returns 0, ERR_NOTFOUND at the end, ERR_TOOBIG (a line longer than
 * max_line), ERR_CORRUPT (a damaged or truncated gzip stream) or ERR_IO;
 * gzlines_error() then says which line and why.
 */
int gzlines_next(struct gzlines *l, char **line, size_t *len) WARN_UNUSED
    NONNULL(1, 2, 3);

/* The number of the line last returned (1-based; 0 before the first). */
uint64_t gzlines_lineno(const struct gzlines *l) NONNULL(1);

/* The message of the last error (borrowed; "" when none). */
const char *gzlines_error(const struct gzlines *l) NONNULL(1);

/* Close `l`. NULL is a no-op. */
void gzlines_close(struct gzlines *l);

/*
 * Split `line` in place at each `sep` into fields[0..max). Returns the
 * number of fields, or ERR_TOOBIG (more than max) or ERR_MALFORMED (a
 * double quote: quoted CSV is not supported).
 */
int gzlines_split(char *line, char sep, char **fields, unsigned max) WARN_UNUSED
    NONNULL(1, 3);

#endif
