/*
 * test_gzlines.c - unit tests of common/gzlines.c
 *
 * The same lines read from a plain file and from its gzip form; CRLF and
 * a last line without a newline; a line over the cap; a gzip file cut
 * short or damaged; a missing file; the CSV splitter.
 *
 * See also: common/gzlines.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "common/err.h"
#include "common/gzlines.h"
#include "tests/harness/test.h"

static char dir[] = "/tmp/vigil-test-gzlines-XXXXXX";

static void
path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void
write_plain(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    ASSERT_OK(fclose(f));
}

static void
write_gz(const char *path, const char *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");

    ASSERT(gz != NULL);
    ASSERT_EQ(gzwrite(gz, data, (unsigned)len), (int)len);
    ASSERT_EQ(gzclose(gz), Z_OK);
}

/* Read every line of `path`; check them against `want` (n lines). */
static void
expect_lines(const char *path, const char *const *want, size_t n)
{
    struct gzlines *l;
    char *line, err[256];
    size_t len, i = 0;
    int rc;

    ASSERT_OK(gzlines_open(path, 64, &l, err, sizeof(err)));
    while ((rc = gzlines_next(l, &line, &len)) == 0) {
        ASSERT(i < n);
        ASSERT_STR_EQ(line, want[i]);
        ASSERT_EQ(len, strlen(want[i]));
        i++;
        ASSERT_EQ(gzlines_lineno(l), i);
    }
    ASSERT_EQ(rc, ERR_NOTFOUND);
    ASSERT_EQ(i, n);
    gzlines_close(l);
}

static void
test_plain_and_gzip(void)
{
    static const char text[] = "a,b,c\r\n1,2,3\n\nlast line";
    static const char *const want[] = { "a,b,c", "1,2,3", "", "last line" };
    char p[256], g[256];
    /* Many lines, to cross the 64 KiB read size. */
    size_t big_n = 20000, off = 0;
    char *big = malloc(big_n * 16);
    const char **bw = calloc(big_n, sizeof(*bw));
    char(*bl)[16] = calloc(big_n, 16);

    path_of(p, sizeof(p), "plain.csv");
    path_of(g, sizeof(g), "text.csv.gz");
    write_plain(p, text, sizeof(text) - 1);
    write_gz(g, text, sizeof(text) - 1);
    expect_lines(p, want, 4);
    expect_lines(g, want, 4);

    for (size_t i = 0; i < big_n; i++) {
        snprintf(bl[i], 16, "row-%zu", i);
        bw[i] = bl[i];
        off += (size_t)snprintf(big + off, 16, "%s\n", bl[i]);
    }
    write_gz(g, big, off);
    expect_lines(g, bw, big_n);
    free(big);
    free(bw);
    free(bl);
}

static void
test_errors(void)
{
    struct gzlines *l;
    char p[256], err[256], *line, *data;
    char long_line[200];
    size_t len;
    long n;
    FILE *f;
    int rc;

    path_of(p, sizeof(p), "missing.csv");
    ASSERT_EQ(gzlines_open(p, 64, &l, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT(strstr(err, "missing.csv") != NULL);

    /* A line over the cap. */
    memset(long_line, 'x', sizeof(long_line));
    long_line[sizeof(long_line) - 1] = '\n';
    path_of(p, sizeof(p), "long.csv");
    write_plain(p, long_line, sizeof(long_line));
    ASSERT_OK(gzlines_open(p, 64, &l, err, sizeof(err)));
    ASSERT_EQ(gzlines_next(l, &line, &len), ERR_TOOBIG);
    ASSERT(strstr(gzlines_error(l), "line 1: longer than 64") != NULL);
    gzlines_close(l);

    /* A gzip stream cut short. */
    data = malloc(300000);
    for (int i = 0; i < 300000; i++)
        data[i] =
            (char)(i % 7 == 6 ? '\n' : 'a' + (int)((unsigned)i * 7919u % 26));
    path_of(p, sizeof(p), "cut.csv.gz");
    write_gz(p, data, 300000);
    f = fopen(p, "rb");
    ASSERT(f != NULL);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    ASSERT_OK(fclose(f));
    ASSERT_OK(truncate(p, n / 2));
    ASSERT_OK(gzlines_open(p, 64, &l, err, sizeof(err)));
    while ((rc = gzlines_next(l, &line, &len)) == 0)
        ;
    ASSERT_EQ(rc, ERR_CORRUPT);
    printf("  cut gzip: %s\n", gzlines_error(l));
    gzlines_close(l);

    /* A damaged gzip stream (bytes flipped in the middle). */
    write_gz(p, data, 300000);
    f = fopen(p, "r+b");
    ASSERT(f != NULL);
    fseek(f, n / 2, SEEK_SET);
    fwrite("\xff\x00\xff\x00\xff\x00\xff\x00", 1, 8, f);
    ASSERT_OK(fclose(f));
    ASSERT_OK(gzlines_open(p, 64, &l, err, sizeof(err)));
    while ((rc = gzlines_next(l, &line, &len)) == 0)
        ;
    ASSERT_EQ(rc, ERR_CORRUPT);
    printf("  damaged gzip: %s\n", gzlines_error(l));
    gzlines_close(l);
    free(data);
}

static void
test_split(void)
{
    char a[] = "1,,three,4.5";
    char b[] = "x";
    char c[] = "a,b,c,d";
    char d[] = "a,\"b,c\"";
    char *f[4];

    ASSERT_EQ(gzlines_split(a, ',', f, 4), 4);
    ASSERT_STR_EQ(f[0], "1");
    ASSERT_STR_EQ(f[1], "");
    ASSERT_STR_EQ(f[2], "three");
    ASSERT_STR_EQ(f[3], "4.5");
    ASSERT_EQ(gzlines_split(b, ',', f, 4), 1);
    ASSERT_STR_EQ(f[0], "x");
    ASSERT_EQ(gzlines_split(c, ',', f, 3), ERR_TOOBIG);
    ASSERT_EQ(gzlines_split(d, ',', f, 4), ERR_MALFORMED);
}

int
main(void)
{
    char cmd[128];

    if (mkdtemp(dir) == NULL)
        TEST_FAIL("mkdtemp");
    RUN(test_plain_and_gzip);
    RUN(test_errors);
    RUN(test_split);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        TEST_FAIL("cannot remove '%s'", dir);
    return 0;
}
