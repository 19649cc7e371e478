/*
 * test_cosiglog.c - unit tests of common/cosiglog.c: cosignatures.log
 *
 * Frames appended are read back whole and in order; a torn last frame (a
 * crash mid-append, or garbage past the last frame) is ignored by a
 * reader and cut by the next opener; bad lengths are refused and leave
 * the file as it was; a missing file has no frames; the callback's stop
 * value comes back. Every test works in a fresh mkdtemp directory.
 *
 * See also: common/cosiglog.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cosiglog.h"
#include "common/err.h"
#include "tests/harness/test.h"

static char dir[] = "/tmp/vigil-test-cosiglog-XXXXXX";
static char path[256];

struct seen {
    unsigned n;
    char notes[8][64];
    unsigned stop_at; /* return 7 at this frame (1-based); 0: never */
};

static int
collect(void *arg, const char *note, size_t len)
{
    struct seen *s = arg;

    ASSERT(s->n < 8 && len < sizeof(s->notes[0]));
    memcpy(s->notes[s->n], note, len);
    s->notes[s->n][len] = '\0';
    s->n++;
    return s->n == s->stop_at ? 7 : 0;
}

static off_t
file_size(void)
{
    struct stat st;

    ASSERT(stat(path, &st) == 0);
    return st.st_size;
}

static void
test_missing_file(void)
{
    struct seen s = { 0 };

    ASSERT_OK(cosiglog_read(dir, collect, &s));
    ASSERT_EQ(s.n, 0);
}

static void
test_append_read(void)
{
    struct seen s = { 0 };
    char big[COSIGLOG_MAX_FRAME + 1];
    int fd;

    ASSERT_OK(cosiglog_open(dir, &fd));
    ASSERT_OK(cosiglog_append(fd, "first note\n", 11));
    ASSERT_OK(cosiglog_append(fd, "second\n", 7));
    ASSERT_EQ(file_size(), 4 + 11 + 4 + 7);
    /* Bad lengths: refused, nothing written. */
    memset(big, 'x', sizeof(big));
    ASSERT_EQ(cosiglog_append(fd, big, 0), ERR_INVAL);
    ASSERT_EQ(cosiglog_append(fd, big, sizeof(big)), ERR_INVAL);
    ASSERT_EQ(file_size(), 4 + 11 + 4 + 7);
    ASSERT_EQ(close(fd), 0);

    ASSERT_OK(cosiglog_read(dir, collect, &s));
    ASSERT_EQ(s.n, 2);
    ASSERT_STR_EQ(s.notes[0], "first note\n");
    ASSERT_STR_EQ(s.notes[1], "second\n");

    /* The callback's nonzero value stops the walk and comes back. */
    memset(&s, 0, sizeof(s));
    s.stop_at = 1;
    ASSERT_EQ(cosiglog_read(dir, collect, &s), 7);
    ASSERT_EQ(s.n, 1);
}

static void
test_torn_tail(void)
{
    static const uint8_t torn[] = { 50, 0, 0, 0, 'p', 'a', 'r' };
    static const uint8_t zero[] = { 0, 0, 0, 0, 'z' };
    struct seen s = { 0 };
    off_t whole = file_size();
    int fd;

    /* A frame that claims 50 bytes but has 3: readers skip it. */
    fd = open(path, O_WRONLY | O_APPEND);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
    ASSERT_EQ(close(fd), 0);
    ASSERT_OK(cosiglog_read(dir, collect, &s));
    ASSERT_EQ(s.n, 2);
    /* The next opener cuts it; appends follow the last whole frame. */
    ASSERT_OK(cosiglog_open(dir, &fd));
    ASSERT_EQ(file_size(), whole);
    ASSERT_OK(cosiglog_append(fd, "third\n", 6));
    ASSERT_EQ(close(fd), 0);
    memset(&s, 0, sizeof(s));
    ASSERT_OK(cosiglog_read(dir, collect, &s));
    ASSERT_EQ(s.n, 3);
    ASSERT_STR_EQ(s.notes[2], "third\n");

    /* A zero length is never a frame: what follows it is cut too. */
    whole = file_size();
    fd = open(path, O_WRONLY | O_APPEND);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, zero, sizeof(zero)), (ssize_t)sizeof(zero));
    ASSERT_EQ(close(fd), 0);
    ASSERT_OK(cosiglog_open(dir, &fd));
    ASSERT_EQ(file_size(), whole);
    ASSERT_EQ(close(fd), 0);
}

static void
test_not_a_directory(void)
{
    int fd = 123;

    ASSERT_EQ(cosiglog_open("/nonexistent/vigil/dir", &fd), ERR_IO);
    ASSERT_EQ(fd, -1);
}

int
main(void)
{
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/%s", dir, COSIGLOG_FILE);
    RUN(test_missing_file);
    RUN(test_append_read);
    RUN(test_torn_tail);
    RUN(test_not_a_directory);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(rmdir(dir), 0);
    return 0;
}
