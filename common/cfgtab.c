/*
 * cfgtab.c - the table-driven configuration reader (see cfgtab.h)
 *
 * Start-up code, never on a hot path: clarity over speed. Every value
 * goes through cfgtab_apply(), whether it came from a file or from -o,
 * so a key is checked the same way wherever it comes from.
 *
 * See also: cfgtab.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cfgtab.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

static char **
str_field(void *obj, const struct cfgtab_entry *e)
{
    return (char **)(void *)((char *)obj + e->offset);
}

static const char *
str_value(const void *obj, const struct cfgtab_entry *e)
{
    const char *s;

    memcpy(&s, (const char *)obj + e->offset, sizeof(s));
    return s != NULL ? s : "";
}

static int *
int_field(void *obj, const struct cfgtab_entry *e)
{
    return (int *)(void *)((char *)obj + e->offset);
}

static bool *
bool_field(void *obj, const struct cfgtab_entry *e)
{
    return (bool *)(void *)((char *)obj + e->offset);
}

void
cfgtab_defaults(const struct cfgtab *t, void *obj)
{
    char why[256];
    size_t i;

    memset(obj, 0, t->size);
    for (i = 0; i < t->n; i++) {
        const struct cfgtab_entry *e = &t->e[i];

        /* A LIST starts empty; every other default is a value like a
         * file's, checked by the same rules. */
        if (e->type == CFGTAB_LIST)
            *str_field(obj, e) = xstrdup("");
        else if (cfgtab_apply(t, obj, e->key, e->def, why, sizeof(why)) != 0)
            fatalx("%s: the default of '%s': %s", __func__, e->key, why);
    }
}

void
cfgtab_release(const struct cfgtab *t, void *obj)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const struct cfgtab_entry *e = &t->e[i];

        if (e->type == CFGTAB_STRING || e->type == CFGTAB_LIST) {
            free(*str_field(obj, e));
            *str_field(obj, e) = NULL;
        }
    }
    memset(obj, 0, t->size);
}

const struct cfgtab_entry *
cfgtab_find(const struct cfgtab *t, const char *key)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (strcmp(t->e[i].key, key) == 0)
            return &t->e[i];
    return NULL;
}

bool
cfgtab_is_live(const struct cfgtab *t, const char *key)
{
    const struct cfgtab_entry *e = cfgtab_find(t, key);

    return e != NULL && (e->flags & CFGTAB_LIVE) != 0;
}

static int
parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "1", "yes", "true", "on" };
    static const char *const no[] = { "0", "no", "false", "off" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return ERR_INVAL;
}

static int
parse_int(const char *v, long long *out)
{
    char *end;
    long long n;

    /* Decimal only: reject "", "0x10", " 5", "5k" and overflow. */
    if (*v == '\0' || !(*v == '-' || (*v >= '0' && *v <= '9')))
        return ERR_INVAL;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0')
        return ERR_INVAL;
    *out = n;
    return 0;
}

/* Append `value` to the LIST field of `e` in `obj`. */
static int
list_add(void *obj, const struct cfgtab_entry *e, const char *value, char *why,
    size_t whylen)
{
    char **f = str_field(obj, e), *joined;
    size_t have = strlen(*f), count = 1, i;

    if (*value == '\0' || strlen(value) > CFGTAB_VALUE_MAX) {
        snprintf(
            why, whylen, "'%s' wants 1..%d bytes", e->key, CFGTAB_VALUE_MAX);
        return ERR_INVAL;
    }
    for (i = 0; i < have; i++)
        count += (*f)[i] == '\n';
    if (have > 0 && count >= (size_t)e->max) {
        snprintf(
            why, whylen, "'%s' given more than %lld times", e->key, e->max);
        return ERR_INVAL;
    }
    joined = xmalloc(have + 1 + strlen(value) + 1);
    memcpy(joined, *f, have);
    if (have > 0)
        joined[have++] = '\n';
    memcpy(joined + have, value, strlen(value) + 1);
    free(*f);
    *f = joined;
    return 0;
}

int
cfgtab_apply(const struct cfgtab *t, void *obj, const char *key,
    const char *value, char *why, size_t whylen)
{
    const struct cfgtab_entry *e = cfgtab_find(t, key);
    long long n;
    bool b;

    if (e == NULL) {
        snprintf(why, whylen, "unknown key '%s'", key);
        return ERR_INVAL;
    }
    switch (e->type) {
    case CFGTAB_STRING:
        if (*value == '\0' && e->min != 0) {
            snprintf(why, whylen, "'%s' must not be empty", key);
            return ERR_INVAL;
        }
        if ((long long)strlen(value) > e->max) {
            snprintf(
                why, whylen, "'%s' is longer than %lld bytes", key, e->max);
            return ERR_INVAL;
        }
        free(*str_field(obj, e));
        *str_field(obj, e) = xstrdup(value);
        return 0;
    case CFGTAB_LIST:
        return list_add(obj, e, value, why, whylen);
    case CFGTAB_INT:
        if (parse_int(value, &n) != 0) {
            snprintf(why, whylen, "'%s' wants a decimal integer, got '%s'", key,
                value);
            return ERR_INVAL;
        }
        if (n < e->min || n > e->max) {
            snprintf(why, whylen, "'%s' must be in %lld..%lld, got %lld", key,
                e->min, e->max, n);
            return ERR_INVAL;
        }
        *int_field(obj, e) = (int)n;
        return 0;
    case CFGTAB_BOOL:
        if (parse_bool(value, &b) != 0) {
            snprintf(why, whylen,
                "'%s' wants a boolean (1/0, yes/no, true/false, on/off), "
                "got '%s'",
                key, value);
            return ERR_INVAL;
        }
        *bool_field(obj, e) = b;
        return 0;
    }
    return ERR_INVAL;
}

static char *
trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s &&
        (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' ||
            end[-1] == '\n'))
        end--;
    *end = '\0';
    return s;
}

/* Split `line` (modified) at its first '=' into trimmed key and value. */
static int
split(char *line, char **key, char **value, char *why, size_t whylen)
{
    char *eq = strchr(line, '=');

    if (eq == NULL) {
        snprintf(why, whylen, "expected 'key = value'");
        return ERR_INVAL;
    }
    *eq = '\0';
    *key = trim(line);
    *value = trim(eq + 1);
    if (**key == '\0') {
        snprintf(why, whylen, "missing key before '='");
        return ERR_INVAL;
    }
    return 0;
}

/*
 * Read one line of `fp` into `line` (size `size`) without its newline.
 * Returns 1 for a line, 0 at end of file, ERR_TOOBIG for a line that does
 * not fit, ERR_MALFORMED for a NUL byte, ERR_IO for a read error.
 */
static int
read_line(FILE *fp, char *line, size_t size)
{
    size_t len = 0;
    int ch;

    for (;;) {
        ch = getc(fp);
        if (ch == EOF) {
            if (ferror(fp))
                return ERR_IO;
            if (len == 0)
                return 0;
            break;
        }
        if (ch == '\n')
            break;
        if (ch == '\0')
            return ERR_MALFORMED;
        if (len + 1 >= size)
            return ERR_TOOBIG;
        line[len++] = (char)ch;
    }
    line[len] = '\0';
    return 1;
}

/* A copy of `obj` with its own strings (release with cfgtab_release). */
static void *
dup_obj(const struct cfgtab *t, const void *obj)
{
    void *copy = xmalloc(t->size);
    size_t i;

    memcpy(copy, obj, t->size);
    for (i = 0; i < t->n; i++) {
        const struct cfgtab_entry *e = &t->e[i];

        if (e->type == CFGTAB_STRING || e->type == CFGTAB_LIST)
            *str_field(copy, e) = xstrdup(str_value(obj, e));
    }
    return copy;
}

/*
 * Apply the lines of `fp` (named `path`) to `obj`. `seen[i]` is the line
 * that set entry i, 0 for none. Returns 0, ERR_INVAL or ERR_IO with
 * "path:line: why" in `err`.
 */
static int
load_lines(const struct cfgtab *t, void *obj, FILE *fp, const char *path,
    unsigned long *seen, char *err, size_t errlen)
{
    char line[CFGTAB_LINE_MAX + 1], why[256];
    char *hash, *key, *value, *p;
    const struct cfgtab_entry *e;
    unsigned long lineno = 0;
    int rc;

    for (;;) {
        rc = read_line(fp, line, sizeof(line));
        if (rc == 0)
            return 0;
        lineno++;
        if (rc == ERR_IO) {
            snprintf(err, errlen, "%s:%lu: read error: %s", path, lineno,
                strerror(errno));
            return ERR_IO;
        }
        if (rc < 0) {
            if (rc == ERR_TOOBIG)
                snprintf(err, errlen, "%s:%lu: line longer than %d bytes", path,
                    lineno, CFGTAB_LINE_MAX);
            else
                snprintf(err, errlen, "%s:%lu: NUL byte in line", path, lineno);
            return ERR_INVAL;
        }
        hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        p = trim(line);
        if (*p == '\0')
            continue;
        rc = split(p, &key, &value, why, sizeof(why));
        e = rc == 0 ? cfgtab_find(t, key) : NULL;
        if (e != NULL && e->type != CFGTAB_LIST && seen[e - t->e] != 0) {
            snprintf(why, sizeof(why), "'%s' is already set on line %lu", key,
                seen[e - t->e]);
            rc = ERR_INVAL;
        }
        if (rc == 0)
            rc = cfgtab_apply(t, obj, key, value, why, sizeof(why));
        if (rc != 0) {
            snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
            return rc;
        }
        seen[e - t->e] = lineno;
    }
}

int
cfgtab_load_file(const struct cfgtab *t, void *obj, const char *path, char *err,
    size_t errlen)
{
    unsigned long *seen;
    void *scratch;
    FILE *fp;
    int rc;

    fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return ERR_IO;
    }
    /* The lines go to a copy, which replaces `obj` only when all of them
     * applied: a refused file changes nothing. */
    seen = xcalloc(t->n, sizeof(*seen));
    scratch = dup_obj(t, obj);
    rc = load_lines(t, scratch, fp, path, seen, err, errlen);
    if (rc == 0) {
        cfgtab_release(t, obj);
        memcpy(obj, scratch, t->size);
    } else {
        cfgtab_release(t, scratch);
    }
    free(scratch);
    free(seen);
    (void)fclose(fp); /* read only: nothing to lose */
    return rc;
}

int
cfgtab_set(const struct cfgtab *t, void *obj, const char *key_eq_value,
    char *err, size_t errlen)
{
    char line[CFGTAB_LINE_MAX + 1], why[256];
    char *key, *value;
    size_t len = strlen(key_eq_value);
    int rc;

    if (len > CFGTAB_LINE_MAX) {
        snprintf(
            err, errlen, "-o: argument longer than %d bytes", CFGTAB_LINE_MAX);
        return ERR_INVAL;
    }
    memcpy(line, key_eq_value, len + 1);
    if (strchr(line, '=') == NULL) {
        snprintf(err, errlen, "-o %s: expected key=value", key_eq_value);
        return ERR_INVAL;
    }
    /* A '#' in an override is data, not a comment. */
    rc = split(line, &key, &value, why, sizeof(why));
    if (rc == 0)
        rc = cfgtab_apply(t, obj, key, value, why, sizeof(why));
    if (rc != 0)
        snprintf(err, errlen, "-o %s: %s", key_eq_value, why);
    return rc;
}

bool
cfgtab_equal(const struct cfgtab_entry *e, const void *a, const void *b)
{
    const char *pa = (const char *)a + e->offset;
    const char *pb = (const char *)b + e->offset;

    switch (e->type) {
    case CFGTAB_STRING:
    case CFGTAB_LIST:
        return strcmp(str_value(a, e), str_value(b, e)) == 0;
    case CFGTAB_INT:
        return memcmp(pa, pb, sizeof(int)) == 0;
    case CFGTAB_BOOL:
        return memcmp(pa, pb, sizeof(bool)) == 0;
    }
    return true;
}

void
cfgtab_copy(const struct cfgtab_entry *e, void *dst, const void *src)
{
    switch (e->type) {
    case CFGTAB_STRING:
    case CFGTAB_LIST: {
        char *copy = xstrdup(str_value(src, e));

        free(*str_field(dst, e));
        *str_field(dst, e) = copy;
        break;
    }
    case CFGTAB_INT:
        memcpy((char *)dst + e->offset, (const char *)src + e->offset,
            sizeof(int));
        break;
    case CFGTAB_BOOL:
        memcpy((char *)dst + e->offset, (const char *)src + e->offset,
            sizeof(bool));
        break;
    }
}

void
cfgtab_print(const struct cfgtab *t, const void *obj, bool help, FILE *fp)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const struct cfgtab_entry *e = &t->e[i];
        const char *p = (const char *)obj + e->offset;

        if (help)
            fprintf(fp, "%s# %s\n", i > 0 ? "\n" : "", e->help);
        switch (e->type) {
        case CFGTAB_STRING:
            fprintf(fp, "%s = %s\n", e->key, str_value(obj, e));
            break;
        case CFGTAB_LIST: {
            const char *s = str_value(obj, e), *nl;

            while (*s != '\0') {
                nl = strchr(s, '\n');
                fprintf(fp, "%s = %.*s\n", e->key,
                    (int)(nl != NULL ? (size_t)(nl - s) : strlen(s)), s);
                s = nl != NULL ? nl + 1 : s + strlen(s);
            }
            break;
        }
        case CFGTAB_INT: {
            int v;

            memcpy(&v, p, sizeof(v));
            fprintf(fp, "%s = %d\n", e->key, v);
            break;
        }
        case CFGTAB_BOOL: {
            bool v;

            memcpy(&v, p, sizeof(v));
            fprintf(fp, "%s = %d\n", e->key, v ? 1 : 0);
            break;
        }
        }
    }
}

static void
usage(FILE *fp, const struct cfgtab_cli *cli)
{
    fprintf(fp, "usage: %s [-dhnVv] [-f file] [-o key=value]%s\n",
        cli->progname, cli->insecure_dev ? " [--insecure-dev]" : "");
    fprintf(fp,
        "  -d            stay in the foreground and log to stderr\n"
        "  -f file       read the configuration from file\n"
        "  -h            show this help\n"
        "  -n            check the configuration and exit (0 good, 1 bad)\n"
        "  -o key=value  override one configuration key (repeatable)\n"
        "  -V            print the version and exit\n"
        "  -v            more verbose logging (repeatable)\n");
    if (cli->insecure_dev)
        fprintf(fp,
            "  --insecure-dev  plain sockets without CURVE (loopback only)\n");
    fprintf(fp, "See %s.\n", cli->see_also);
}

/* Queue override `kv`, or exit 1 when there are too many. */
static void
add_override(
    const struct cfgtab_cli *cli, struct cfgtab_args *a, const char *kv)
{
    if (a->noverrides == CFGTAB_MAX_OVERRIDES) {
        fprintf(stderr, "%s: more than %d -o options\n", cli->progname,
            CFGTAB_MAX_OVERRIDES);
        usage(stderr, cli);
        exit(1);
    }
    a->overrides[a->noverrides++] = kv;
}

void
cfgtab_parse_args(
    int argc, char **argv, const struct cfgtab_cli *cli, struct cfgtab_args *a)
{
    static const struct option longopts[] = {
        { "insecure-dev", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(a, 0, sizeof(*a));
    while ((ch = getopt_long(argc, argv, "df:hno:Vv",
                cli->insecure_dev ? longopts : longopts + 1, NULL)) != -1) {
        switch (ch) {
        case 'I':
            /* The long flag is the explicit way to say it; an override
             * like any other, applied in command-line order. */
            add_override(cli, a, "insecure_dev=1");
            break;
        case 'd':
            a->foreground = true;
            break;
        case 'f':
            a->file = optarg;
            break;
        case 'h':
            usage(stdout, cli);
            exit(0);
        case 'n':
            a->check_only = true;
            break;
        case 'o':
            add_override(cli, a, optarg);
            break;
        case 'V':
            printf("%s %s\n", cli->progname, VIGIL_VERSION);
            exit(0);
        case 'v':
            a->verbose++;
            break;
        default:
            usage(stderr, cli);
            exit(1);
        }
    }
    if (optind != argc) {
        usage(stderr, cli);
        exit(1);
    }
}

int
cfgtab_load(const struct cfgtab *t, void *obj, const struct cfgtab_args *a,
    char *err, size_t errlen)
{
    int i, rc;

    cfgtab_defaults(t, obj);
    if (a->file != NULL) {
        rc = cfgtab_load_file(t, obj, a->file, err, errlen);
        if (rc != 0)
            return rc;
    }
    for (i = 0; i < a->noverrides; i++) {
        rc = cfgtab_set(t, obj, a->overrides[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}
