/*
 * test_fileio.c - unit tests of common/fileio.c
 *
 * The errno-to-ERR_* mapping, whole writes and reads at offsets, the
 * small-file reader's limits, and fsync of a path's directory for a bare
 * name, an absolute and a relative path, a missing directory and a name
 * too long. Works in a fresh mkdtemp directory.
 *
 * See also: common/fileio.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "tests/harness/test.h"

static char dir[] = "/tmp/vigil-test-fileio-XXXXXX";

static void
test_error_map(void)
{
    ASSERT_EQ(fileio_error(ENOSPC), ERR_FULL);
    ASSERT_EQ(fileio_error(EDQUOT), ERR_FULL);
    ASSERT_EQ(fileio_error(EFBIG), ERR_FULL);
    ASSERT_EQ(fileio_error(EIO), ERR_IO);
    ASSERT_EQ(fileio_error(EBADF), ERR_IO);
}

static void
test_write_read(void)
{
    char path[256], *text = NULL;
    uint8_t back[16];
    size_t len = 0;
    int fd, dfd;

    snprintf(path, sizeof(path), "%s/f", dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT(fd >= 0);
    ASSERT_OK(fileio_pwrite_all(fd, (const uint8_t *)"hello", 5, 0));
    ASSERT_OK(fileio_pwrite_all(fd, (const uint8_t *)"world", 5, 10));
    /* A read past the end stops there; the hole reads as zeros. */
    ASSERT_EQ(fileio_pread_full(fd, back, sizeof(back), 0), 15);
    ASSERT_MEM_EQ(back, "hello\0\0\0\0\0world", 15);
    ASSERT_EQ(fileio_pread_full(fd, back, sizeof(back), 100), 0);
    ASSERT_EQ(fileio_pwrite_all(-1, (const uint8_t *)"x", 1, 0), ERR_IO);
    ASSERT(fileio_pread_full(-1, back, 1, 0) < 0);
    ASSERT_EQ(close(fd), 0);

    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT(dfd >= 0);
    ASSERT_OK(fileio_read_small(dfd, "f", 15, &text, &len));
    ASSERT_EQ(len, 15);
    ASSERT_EQ(text[15], '\0');
    free(text);
    text = NULL;
    ASSERT_EQ(fileio_read_small(dfd, "f", 14, &text, &len), ERR_TOOBIG);
    ASSERT(text == NULL);
    ASSERT_EQ(fileio_read_small(dfd, "missing", 15, &text, &len), ERR_NOTFOUND);
    ASSERT_EQ(close(dfd), 0);
    ASSERT_EQ(unlink(path), 0);
}

static void
test_sync_parent(void)
{
    char path[PATH_MAX + 64], cwd[PATH_MAX];

    snprintf(path, sizeof(path), "%s/new-file", dir);
    ASSERT_OK(fileio_sync_parent(path));
    ASSERT_OK(fileio_sync_parent("/etc"));
    ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
    ASSERT_EQ(chdir(dir), 0);
    ASSERT_OK(fileio_sync_parent("bare-name"));
    ASSERT_EQ(chdir(cwd), 0);
    snprintf(path, sizeof(path), "%s/no/such/dir/f", dir);
    ASSERT_EQ(fileio_sync_parent(path), ERR_IO);
    memset(path, 'a', PATH_MAX + 10);
    path[0] = '/';
    path[PATH_MAX + 5] = '/';
    path[PATH_MAX + 10] = '\0';
    ASSERT_EQ(fileio_sync_parent(path), ERR_TOOBIG);
}

/* A directory stream of its own under a descriptor; a missing name, a
 * file and (with O_NOFOLLOW) a link are refused with errno set. */
static void
test_opendir_at(void)
{
    struct dirent *de;
    unsigned seen = 0;
    DIR *d;
    int dfd, fd;

    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT(dfd >= 0);
    ASSERT_EQ(mkdirat(dfd, "sub", 0700), 0);
    fd = openat(dfd, "sub/x", O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(close(fd), 0);
    ASSERT_EQ(symlinkat("sub", dfd, "link"), 0);
    d = fileio_opendir_at(dfd, "sub", O_NOFOLLOW);
    ASSERT(d != NULL);
    while ((de = readdir(d)) != NULL)
        seen += strcmp(de->d_name, "x") == 0;
    ASSERT_EQ(seen, 1);
    ASSERT_EQ(closedir(d), 0);
    errno = 0;
    ASSERT(fileio_opendir_at(dfd, "missing", 0) == NULL && errno == ENOENT);
    ASSERT(fileio_opendir_at(dfd, "sub/x", 0) == NULL && errno == ENOTDIR);
    ASSERT(fileio_opendir_at(dfd, "link", O_NOFOLLOW) == NULL && errno != 0);
    d = fileio_opendir_at(dfd, "link", 0);
    ASSERT(d != NULL);
    ASSERT_EQ(closedir(d), 0);
    ASSERT_EQ(unlinkat(dfd, "link", 0), 0);
    ASSERT_EQ(unlinkat(dfd, "sub/x", 0), 0);
    ASSERT_EQ(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
    ASSERT_EQ(close(dfd), 0);
}

int
main(void)
{
    ASSERT(mkdtemp(dir) != NULL);
    RUN(test_error_map);
    RUN(test_write_read);
    RUN(test_sync_parent);
    RUN(test_opendir_at);
    ASSERT_EQ(rmdir(dir), 0);
    return 0;
}
