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
 * A program's table is data: one CFGTAB_KEY row per key (below), so
 * adding a key is adding a row, and the loader, the -o overrides, the
 * SIGHUP comparison and the printer all follow. The command line
 * ([-dhnVv] [-f file] [-o key=value]) is parsed here too, for every
 * program that reads such a file.
 *
 * Refusals: an unknown key, a value of the wrong type or out of range,
 * and a key given twice in one file (a LIST key excepted: it repeats)
 * are refused with the reason, and the object is left as it was (a file
 * is applied whole or not at all).
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
    size_t offset;      /* of the field in the program's struct */
    const char *def;    /* the default, written as in a file ("" for a
                           LIST: none); applied like a file's value */
    long long min, max; /* INT: the range; STRING: min 1 must not be "",
                           max most bytes; LIST: max = most values */
    unsigned flags;     /* CFGTAB_LIVE or CFGTAB_FIXED */
    const char *help;   /* one line */
};

/* Entry flags: whether the key may change while the program runs (on
 * SIGHUP), or is read at start only. */
#define CFGTAB_FIXED 0u
#define CFGTAB_LIVE  1u

/*
 * One table row per key: CFGTAB_KEY(field, type, "default", min, max,
 * flags, "help"). Define CFGTAB_STRUCT as the program's struct type
 * before its table; `k` is the field's name and the key's.
 */
#define CFGTAB_KEY(k, type, def, lo, hi, flags, help)                          \
    {                                                                          \
#k, type, offsetof(CFGTAB_STRUCT, k), def, lo, hi, flags, help         \
    }

/* A program's table: `n` entries, static, for a struct of `size` bytes. */
struct cfgtab {
    const struct cfgtab_entry *e;
    size_t n;
    size_t size;
};

/* Set every field of `obj` (zeroed first) to its default. A default
 * the table's own rules refuse is a bug: fatalx(). */
void cfgtab_defaults(const struct cfgtab *t, void *obj) NONNULL(1, 2);

/* Free the strings of `obj` and zero it. */
void cfgtab_release(const struct cfgtab *t, void *obj) NONNULL(1, 2);

/* The entry of `key`, or NULL. */
const struct cfgtab_entry *cfgtab_find(const struct cfgtab *t, const char *key)
    NONNULL(1, 2);

/* Whether `key` is in the table with CFGTAB_LIVE. */
bool cfgtab_is_live(const struct cfgtab *t, const char *key) NONNULL(1, 2);

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
 * `err`, also a key other than a LIST given on two lines); on an error
 * `obj` is unchanged.
 */
int cfgtab_load_file(const struct cfgtab *t, void *obj, const char *path,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 2, 3, 4);

/* Apply one "-o key=value". Returns 0 or ERR_INVAL ("-o ...: why"). */
int cfgtab_set(const struct cfgtab *t, void *obj, const char *key_eq_value,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 2, 3, 4);

/* Most -o overrides on one command line. */
#define CFGTAB_MAX_OVERRIDES 64

/* A program's command line: [-dhnVv] [-f file] [-o key=value]. */
struct cfgtab_args {
    bool foreground;                             /* -d: log to stderr */
    bool check_only;                             /* -n: check and exit */
    int verbose;                                 /* -v count */
    const char *file;                            /* -f file, or NULL */
    const char *overrides[CFGTAB_MAX_OVERRIDES]; /* -o, in order; borrowed */
    int noverrides;
};

/* What the command line of a program says about it. */
struct cfgtab_cli {
    const char *progname; /* in the usage, the version and errors */
    const char *see_also; /* the usage's last line: "See <see_also>." */
    bool insecure_dev;    /* --insecure-dev: the same as -o insecure_dev=1 */
};

/*
 * Parse the command line into `a` (getopt "df:hno:Vv"; strings borrowed
 * from argv). -h prints the usage to stdout and -V the version, and
 * exit 0; a bad option, an operand or too many -o print the usage to
 * stderr and exit 1 (style(9)). Call once, from main().
 */
void cfgtab_parse_args(int argc, char **argv, const struct cfgtab_cli *cli,
    struct cfgtab_args *a) NONNULL(2, 3, 4);

/*
 * Fill `obj` with the defaults, then the file of `a`, then its overrides
 * in order (the program checks the whole after). `err` gets the first
 * problem as "file:line: reason" or "-o key=value: reason". Release
 * `obj` with cfgtab_release() in every case.
 * Returns 0, ERR_INVAL or ERR_IO.
 */
int cfgtab_load(const struct cfgtab *t, void *obj, const struct cfgtab_args *a,
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
