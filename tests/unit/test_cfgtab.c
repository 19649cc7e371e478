/*
 * test_cfgtab.c - unit tests of common/cfgtab, the generic table-driven
 *                 configuration layer, on a table of its own
 *
 * Each refusal (unknown key, value out of range, value of the wrong
 * type, a key given twice in one file) must name the problem and leave
 * the configuration exactly as it was: compared through cfgtab_print(),
 * which prints every field. Files are written into a fresh mkdtemp()
 * directory, removed at the end.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfgtab.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/harness/test.h"

struct tconf {
    char *name;
    char *note;
    int level;
    bool fast;
    char *peer;
};

#define CFGTAB_STRUCT struct tconf
/* clang-format off */
static const struct cfgtab_entry tentries[] = {
    CFGTAB_KEY(name, CFGTAB_STRING, "alpha", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "a name that must not be empty"),
    CFGTAB_KEY(note, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_LIVE, "a note that may be empty"),
    CFGTAB_KEY(level, CFGTAB_INT, "5", 1, 10, CFGTAB_LIVE, "a level 1..10"),
    CFGTAB_KEY(fast, CFGTAB_BOOL, "0", 0, 1, CFGTAB_FIXED, "a switch"),
    CFGTAB_KEY(peer, CFGTAB_LIST, "", 0, 2, CFGTAB_FIXED, "a repeatable value, twice at most"),
};
/* clang-format on */

static const struct cfgtab ttab = { tentries, ARRAY_LEN(tentries),
    sizeof(struct tconf) };

static char tdir[64];

/* Write `text` to a file in the test dir; its path goes in `out`. */
static void
write_file(char *out, size_t len, const char *text)
{
    static int seq;
    FILE *fp;
    int n;

    n = snprintf(out, len, "%s/t%d.conf", tdir, seq++);
    ASSERT(n > 0 && (size_t)n < len);
    fp = fopen(out, "w");
    ASSERT(fp != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), fp), strlen(text));
    ASSERT_OK(fclose(fp));
}

/* Every field of `c` as cfgtab_print() writes it, into `out`. */
static void
dump(const struct tconf *c, char *out, size_t len)
{
    FILE *fp = fmemopen(out, len, "w");

    ASSERT(fp != NULL);
    cfgtab_print(&ttab, c, false, fp);
    ASSERT(!ferror(fp));
    ASSERT_OK(fclose(fp));
}

/* A configuration with a value of each kind set away from its default. */
static void
setup(struct tconf *c)
{
    char err[256];

    cfgtab_defaults(&ttab, c);
    ASSERT_OK(cfgtab_set(&ttab, c, "name=beta", err, sizeof(err)));
    ASSERT_OK(cfgtab_set(&ttab, c, "level=7", err, sizeof(err)));
    ASSERT_OK(cfgtab_set(&ttab, c, "fast=yes", err, sizeof(err)));
    ASSERT_OK(cfgtab_set(&ttab, c, "peer=p1", err, sizeof(err)));
}

static const char set_text[] = "name = beta\n"
                               "note = \n"
                               "level = 7\n"
                               "fast = 1\n"
                               "peer = p1\n";

static void
test_defaults_and_print(void)
{
    struct tconf c;
    char out[512];

    memset(&c, 0xa5, sizeof(c)); /* defaults zero first */
    cfgtab_defaults(&ttab, &c);
    ASSERT_STR_EQ(c.name, "alpha");
    ASSERT_STR_EQ(c.note, "");
    ASSERT_EQ(c.level, 5);
    ASSERT(!c.fast);
    ASSERT_STR_EQ(c.peer, "");
    cfgtab_release(&ttab, &c);
    ASSERT(c.name == NULL && c.level == 0);
    setup(&c);
    dump(&c, out, sizeof(out));
    ASSERT_STR_EQ(out, set_text);
    cfgtab_release(&ttab, &c);
}

/*
 * Refuse `kv` through cfgtab_set and, as one line, through a file: each
 * refusal's message holds `why`, and `c` is unchanged.
 */
static void
refuse(const char *kv, const char *why)
{
    char path[128], line[256], err[512], out[512];
    struct tconf c;

    setup(&c);
    ASSERT_EQ(cfgtab_set(&ttab, &c, kv, err, sizeof(err)), ERR_INVAL);
    if (strstr(err, why) == NULL)
        TEST_FAIL("-o %s: '%s' lacks '%s'", kv, err, why);
    dump(&c, out, sizeof(out));
    ASSERT_STR_EQ(out, set_text);

    /* In a file after a good line: the good line is not applied either. */
    snprintf(line, sizeof(line), "note = first\n%s\n", kv);
    write_file(path, sizeof(path), line);
    ASSERT_EQ(cfgtab_load_file(&ttab, &c, path, err, sizeof(err)), ERR_INVAL);
    if (strstr(err, why) == NULL || strstr(err, ".conf:2: ") == NULL)
        TEST_FAIL("file %s: '%s' lacks '%s' or line 2", kv, err, why);
    dump(&c, out, sizeof(out));
    ASSERT_STR_EQ(out, set_text);
    cfgtab_release(&ttab, &c);
}

static void
test_refusals(void)
{
    refuse("colour=blue", "unknown key 'colour'");
    refuse("level=11", "'level' must be in 1..10, got 11");
    refuse("level=0", "'level' must be in 1..10, got 0");
    refuse("level=ten", "'level' wants a decimal integer, got 'ten'");
    refuse("level=0x5", "'level' wants a decimal integer");
    refuse("level=99999999999999999999", "'level' wants a decimal integer");
    refuse("fast=maybe", "'fast' wants a boolean");
    refuse("name=", "'name' must not be empty");
    refuse("peer=", "'peer' wants 1..");
}

static void
test_duplicate_key(void)
{
    char path[128], err[512], out[512];
    struct tconf c;

    setup(&c);
    write_file(path, sizeof(path), "level = 2\n# again\nlevel = 3\n");
    ASSERT_EQ(cfgtab_load_file(&ttab, &c, path, err, sizeof(err)), ERR_INVAL);
    if (strstr(err, ".conf:3: 'level' is already set on line 1") == NULL)
        TEST_FAIL("duplicate: '%s'", err);
    dump(&c, out, sizeof(out));
    ASSERT_STR_EQ(out, set_text);

    /* A LIST key repeats, up to its limit (one value already set). */
    write_file(path, sizeof(path), "peer = p2\npeer = p3\n");
    ASSERT_EQ(cfgtab_load_file(&ttab, &c, path, err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "'peer' given more than 2 times") != NULL);
    dump(&c, out, sizeof(out));
    ASSERT_STR_EQ(out, set_text);
    write_file(path, sizeof(path), "peer = p2\nlevel = 3\n");
    ASSERT_OK(cfgtab_load_file(&ttab, &c, path, err, sizeof(err)));
    ASSERT_STR_EQ(c.peer, "p1\np2");
    ASSERT_EQ(c.level, 3);

    /* -o is applied in order, after the file: a later one wins. */
    ASSERT_OK(cfgtab_set(&ttab, &c, "level=4", err, sizeof(err)));
    ASSERT_OK(cfgtab_set(&ttab, &c, "level=6", err, sizeof(err)));
    ASSERT_EQ(c.level, 6);
    cfgtab_release(&ttab, &c);
}

static void
test_load_order(void)
{
    const char *ov[] = { "level=9", "note=# not a comment" };
    struct cfgtab_args a;
    char path[128], err[512];
    struct tconf c;

    write_file(path, sizeof(path),
        "# a comment\n\n  name =  gamma  # trailing\nlevel = 3\nfast = on\n");
    memset(&a, 0, sizeof(a));
    a.file = path;
    a.overrides[0] = ov[0];
    a.overrides[1] = ov[1];
    a.noverrides = 2;
    ASSERT_OK(cfgtab_load(&ttab, &c, &a, err, sizeof(err)));
    ASSERT_STR_EQ(c.name, "gamma");
    ASSERT_EQ(c.level, 9);
    ASSERT(c.fast);
    ASSERT_STR_EQ(c.note, "# not a comment");
    cfgtab_release(&ttab, &c);

    /* A refused override names itself; the caller releases. */
    a.overrides[1] = "level=-1";
    ASSERT_EQ(cfgtab_load(&ttab, &c, &a, err, sizeof(err)), ERR_INVAL);
    ASSERT_STR_EQ(err, "-o level=-1: 'level' must be in 1..10, got -1");
    cfgtab_release(&ttab, &c);

    a.file = "/nonexistent/vigil-test.conf";
    ASSERT_EQ(cfgtab_load(&ttab, &c, &a, err, sizeof(err)), ERR_IO);
    ASSERT(strstr(err, "cannot open") != NULL);
    cfgtab_release(&ttab, &c);
}

static void
test_live_and_copy(void)
{
    struct tconf a, b;

    ASSERT(cfgtab_is_live(&ttab, "level"));
    ASSERT(cfgtab_is_live(&ttab, "note"));
    ASSERT(!cfgtab_is_live(&ttab, "name"));
    ASSERT(!cfgtab_is_live(&ttab, "nokey"));
    cfgtab_defaults(&ttab, &a);
    setup(&b);
    ASSERT(!cfgtab_equal(cfgtab_find(&ttab, "name"), &a, &b));
    ASSERT(cfgtab_equal(cfgtab_find(&ttab, "note"), &a, &b));
    cfgtab_copy(cfgtab_find(&ttab, "name"), &a, &b);
    ASSERT_STR_EQ(a.name, "beta");
    ASSERT(a.name != b.name);
    cfgtab_release(&ttab, &a);
    cfgtab_release(&ttab, &b);
}

int
main(void)
{
    char cmd[128];

    log_init("test_cfgtab", true);
    snprintf(tdir, sizeof(tdir), "/tmp/vigil-test-cfgtab.XXXXXX");
    ASSERT(mkdtemp(tdir) != NULL);
    RUN(test_defaults_and_print);
    RUN(test_refusals);
    RUN(test_duplicate_key);
    RUN(test_load_order);
    RUN(test_live_and_copy);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tdir);
    return 0;
}
