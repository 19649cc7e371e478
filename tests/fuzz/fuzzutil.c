/*
 * fuzzutil.c - what the libFuzzer harnesses share (see fuzzutil.h)
 *
 * SPDX-License-Identifier: MIT
 */
#define _XOPEN_SOURCE 700 /* nftw() */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzzutil.h"

static char dir[256];

void
fuzzutil_fail(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Remove `path` and everything under it; quiet when it is not there. */
static void
rm_tree(const char *path)
{
    (void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
cleanup(void)
{
    if (dir[0] != '\0')
        rm_tree(dir);
}

const char *
fuzzutil_dir(void)
{
    const char *base = getenv("TMPDIR");
    struct stat st;

    if (dir[0] != '\0')
        return dir;
    if (base == NULL || base[0] == '\0')
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" :
                                                                   "/tmp";
    if ((size_t)snprintf(dir, sizeof(dir), "%s/vigil-fuzz-XXXXXX", base) >=
        sizeof(dir))
        fuzzutil_fail("TMPDIR too long");
    if (mkdtemp(dir) == NULL) {
        dir[0] = '\0';
        fuzzutil_fail("cannot make a temp directory");
    }
    atexit(cleanup);
    return dir;
}

static void
full_path(const char *name, char *path, size_t cap)
{
    if ((size_t)snprintf(path, cap, "%s/%s", fuzzutil_dir(), name) >= cap)
        fuzzutil_fail("path too long");
}

void
fuzzutil_write(const char *name, const void *data, size_t len, mode_t mode,
    char *path, size_t cap)
{
    const unsigned char *p = data;
    ssize_t n;
    int fd;

    full_path(name, path, cap);
    (void)unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        fuzzutil_fail("cannot create a file");
    while (len > 0) {
        n = write(fd, p, len);
        if (n <= 0)
            fuzzutil_fail("cannot write a file");
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || close(fd) != 0)
        fuzzutil_fail("cannot close a file");
}

void
fuzzutil_mkdir(const char *name, char *path, size_t cap)
{
    full_path(name, path, cap);
    rm_tree(path);
    if (mkdir(path, 0700) != 0)
        fuzzutil_fail("cannot make a directory");
}
