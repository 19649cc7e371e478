/*
 * cfgtab.h - a table-driven "key = value" configuration reader
 *
 * A program describes its configuration struct with a static table of
 * entries (key, type, offset of the field, default, range, help); this
 * module does the rest the same way for every program: defaults, the
 * file reader ('#' comments, blank lines, "key = value" lines of at most
 * CFGTAB_LINE_MAX bytes, no NUL bytes), "-o key=value" overrides (where
 * '#' is data), strict value checks (decimal integers in range, the
 * eight boolean spellings, string length, repeat limits), comparison,
 * copying and printing. Used by the daemons' shared configuration
 * (cfg.c) and by vigil-shopify's own (tools/vigil-shopify/config.c).
 *
 * Field types: CFGTAB_STRING is a heap `char *` (owned by the struct,
 * freed by cfgtab_release), min 1 = must not be empty; CFGTAB_LIST is a
 * `char *` holding each given value, "\n" between them, at most `max`
 * of them; CFGTAB_INT an `int` in min..max; CFGTAB_BOOL a `bool`.
 *
 * Errors: 0 or a negative ERR_*; messages go to the caller's buffer,
 * never to the log (a configuration file's values may be secrets'
 * paths, never personal data).
 *
 * See also: cfg.h, tools/vigil-shopify/config.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CFGTAB_H
#define COMMON_CFGTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/compiler.h"

#define CFGTAB_LINE_MAX  1024 /* bytes of one line or one -o argument */
#define CFGTAB_VALUE_MAX 512  /* bytes of one value */

enum cfgtab_type {
    CFGTAB_STRING,
    CFGTAB_INT,
    CFGTAB_BOOL,
    CFGTAB_LIST, /* a string key that may repeat: values joined by "\n" */
};

struct cfgtab_entry {
    const char *key;
    enum cfgtab_type type;
    size_t offset;       /* of the field in the program's struct */
    const char *def_str; /* STRING and LIST default ("" for a LIST) */
    long long def_int;   /* INT default; BOOL: 0 or 1 */
    long long min, max;  /* INT range; STRING: min 0 may be ""; LIST: max
                            values */
    const char *help;    /* one line */
};

/* A program's table: `n` entries, static. */
struct cfgtab {
    const struct cfgtab_entry *e;
    size_t n;
};

/* Set every field of `obj` (zeroed first) to its default. */
void cfgtab_defaults(const struct cfgtab *t, void *obj) NONNULL(1, 2);

/* Free the strings of `obj` and zero it. */
void cfgtab_release(const struct cfgtab *t, void *obj) NONNULL(1, 2);

/* The entry of `key`, or NULL. */
const struct cfgtab_entry *cfgtab_find(const struct cfgtab *t, const char *key)
    NONNULL(1, 2);

/*
 * Apply key = value (both trimmed) to `obj`. Returns 0, or ERR_INVAL
 * with the reason (without a location) in `why`; `obj` is then unchanged.
 */
int cfgtab_apply(const struct cfgtab *t, void *obj, const char *key,
    const char *value, char *why, size_t whylen) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 5);

/*
 * Read the file at `path` line by line into `obj`. Returns 0, ERR_IO
 * (cannot open or read) or ERR_INVAL (a bad line: "path:line: why" in
 * `err`); the keys before the bad line stay applied.
 */
int cfgtab_load_file(const struct cfgtab *t, void *obj, const char *path,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 2, 3, 4);

/* Apply one "-o key=value". Returns 0 or ERR_INVAL ("-o ...: why"). */
int cfgtab_set(const struct cfgtab *t, void *obj, const char *key_eq_value,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 2, 3, 4);

/* Whether entry `e` has the same value in `a` and `b`. */
bool cfgtab_equal(const struct cfgtab_entry *e, const void *a, const void *b)
    NONNULL(1, 2, 3);

/* Copy entry `e`'s value from `src` into `dst` (a string is duplicated). */
void cfgtab_copy(const struct cfgtab_entry *e, void *dst, const void *src)
    NONNULL(1, 2, 3);

/*
 * Print every key as "key = value" lines that cfgtab_load_file reads
 * back (a LIST as one line per value), each preceded by "# help" when
 * `help`.
 */
void cfgtab_print(const struct cfgtab *t, const void *obj, bool help, FILE *fp)
    NONNULL(1, 2, 4);

#endif
