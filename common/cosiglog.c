/*
 * cosiglog.c - cosignatures.log: append frames, read them back
 *
 * See cosiglog.h for the format. The whole file is read at once by
 * readers (it grows by about 300 bytes per witness and checkpoint);
 * writers only append.
 *
 * Invariants:
 *  - a frame is written with one pwrite at the durable end, then
 *    fdatasync; a failure cuts the file back to that end.
 *
 * See also: cosiglog.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/cosiglog.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* Read the whole file at `fd` into a heap buffer; *len its length. */
static int
read_all(int fd, uint8_t **out, size_t *len)
{
    struct stat st;
    uint8_t *b;
    ssize_t n;

    if (fstat(fd, &st) != 0)
        return ERR_IO;
    b = xmalloc((size_t)st.st_size + 1);
    n = fileio_pread_full(fd, b, (size_t)st.st_size, 0);
    if (n < 0) {
        free(b);
        return ERR_IO;
    }
    *out = b;
    *len = (size_t)n;
    return 0;
}

/* Return the length of the whole frames at the start of b[0..len). */
static size_t
whole_frames(const uint8_t *b, size_t len)
{
    size_t off = 0;

    while (len - off >= 4) {
        uint32_t n = bytes_get_le32(b + off);

        if (n == 0 || n > COSIGLOG_MAX_FRAME || len - off - 4 < n)
            break;
        off += 4 + n;
    }
    return off;
}

int
cosiglog_open(const char *dir, int *fd)
{
    char path[4096];
    uint8_t *b = NULL;
    size_t len = 0, good;
    int rc;

    *fd = -1;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, COSIGLOG_FILE) >=
        sizeof(path))
        return ERR_IO;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*fd < 0) {
        log_warn("%s: cannot open '%s'", __func__, path);
        return ERR_IO;
    }
    rc = read_all(*fd, &b, &len);
    if (rc == 0) {
        good = whole_frames(b, len);
        if (good != len) {
            log_warnx("%s: cutting a torn frame of %zu bytes off '%s'",
                __func__, len - good, path);
            if (ftruncate(*fd, (off_t)good) != 0)
                rc = ERR_IO;
        }
    }
    free(b);
    if (rc != 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

int
cosiglog_append(int fd, const char *note, size_t len)
{
    uint8_t *frame;
    off_t end;
    int rc;

    if (len == 0 || len > COSIGLOG_MAX_FRAME)
        return ERR_INVAL;
    end = lseek(fd, 0, SEEK_END);
    if (end < 0)
        return ERR_IO;
    frame = xmalloc(4 + len);
    bytes_put_le32(frame, (uint32_t)len);
    memcpy(frame + 4, note, len);
    rc = fileio_pwrite_all(fd, frame, 4 + len, (uint64_t)end);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = fileio_error(errno);
    free(frame);
    if (rc != 0 && ftruncate(fd, end) != 0)
        log_warn("%s: cannot cut a failed frame back", __func__);
    return rc;
}

int
cosiglog_read(const char *dir, cosiglog_cb cb, void *arg)
{
    char path[4096];
    uint8_t *b = NULL;
    size_t len = 0, off = 0, good;
    int fd, rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, COSIGLOG_FILE) >=
        sizeof(path))
        return ERR_IO;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? 0 : ERR_IO;
    rc = read_all(fd, &b, &len);
    close(fd);
    if (rc != 0)
        return rc;
    good = whole_frames(b, len);
    while (rc == 0 && off < good) {
        uint32_t n = bytes_get_le32(b + off);

        rc = cb(arg, (const char *)b + off + 4, n);
        off += 4 + n;
    }
    free(b);
    return rc;
}
