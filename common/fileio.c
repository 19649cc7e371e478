/*
 * fileio.c - positional reads and writes that finish the job
 *
 * Invariants:
 *  - errno is translated to ERR_* here, once; the failing call's errno
 *    is left in errno for the caller's log line.
 *
 * See also: fileio.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/xmalloc.h"

int
fileio_error(int errnum)
{
    return (errnum == ENOSPC || errnum == EDQUOT || errnum == EFBIG) ?
        ERR_FULL :
        ERR_IO;
}

int
fileio_pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return fileio_error(errno);
        if (n == 0) {
            errno = EIO;
            return ERR_IO;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

ssize_t
fileio_pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return ERR_IO;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int
fileio_read_small(
    int dirfd, const char *name, size_t max, char **out, size_t *len)
{
    struct stat st;
    ssize_t n;
    char *p;
    int fd, e;

    fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    if (fstat(fd, &st) == -1) {
        e = errno;
        close(fd);
        errno = e;
        return ERR_IO;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return ERR_TOOBIG;
    }
    p = xmalloc((size_t)st.st_size + 1);
    n = fileio_pread_full(fd, (uint8_t *)p, (size_t)st.st_size, 0);
    e = errno;
    close(fd);
    if (n < 0) {
        free(p);
        errno = e;
        return ERR_IO;
    }
    p[n] = '\0';
    *out = p;
    *len = (size_t)n;
    return 0;
}

DIR *
fileio_opendir_at(int dirfd, const char *path, int flags)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
    DIR *d;
    int e;

    if (fd == -1)
        return NULL;
    d = fdopendir(fd);
    if (d == NULL) {
        e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

int
fileio_sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len;
    int fd, rc = 0;

    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof(dir))
            return ERR_TOOBIG;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    if (fsync(fd) != 0)
        rc = ERR_IO;
    close(fd);
    return rc;
}
