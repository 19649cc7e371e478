/*
 * fileio.h - positional reads and writes that finish the job
 *
 * pread(2) and pwrite(2) may transfer less than asked or be interrupted;
 * the append-only files (segfile.c under the journal and the audit log,
 * audit_log*.c's checkpoints and keys) need all or an error. These retry
 * on EINTR and short transfers. Any thread; no state.
 *
 * Errors are ERR_* codes (common/err.h), translated here once from errno:
 * ERR_FULL when the disk, a quota or the file-size limit is full (ENOSPC,
 * EDQUOT, EFBIG), ERR_IO otherwise. errno is left as the failing call set
 * it, so a caller may still log strerror(errno).
 *
 * See also: err.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_FILEIO_H
#define COMMON_FILEIO_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

/*
 * Return the ERR_* code for the errno value `errnum` of a failed write,
 * sync, create or truncate: ERR_FULL for ENOSPC, EDQUOT and EFBIG,
 * ERR_IO for anything else. Pure.
 */
int fileio_error(int errnum);

/*
 * Write all `len` bytes of `p` to `fd` at offset `off`. Returns 0,
 * ERR_FULL or ERR_IO (see the top), with errno set on failure (a
 * zero-byte write is reported as EIO).
 */
int fileio_pwrite_all(
    int fd, const uint8_t *p, size_t len, uint64_t off) WARN_UNUSED NONNULL(2);

/*
 * Read up to `len` bytes from `fd` at offset `off` into `p`, stopping
 * early only at end of file. Returns the bytes read (0..len), or ERR_IO
 * (negative) with errno set.
 */
ssize_t fileio_pread_full(
    int fd, uint8_t *p, size_t len, uint64_t off) WARN_UNUSED NONNULL(2);

/*
 * Read the whole file `name` under directory `dirfd` (at most `max`
 * bytes) into a NUL-terminated heap buffer `*out` of `*len` bytes plus
 * the NUL. Caller frees `*out` with free(), wiping it first if it holds a
 * secret. Returns 0, ERR_NOTFOUND (no such file), ERR_TOOBIG (longer
 * than `max`; nothing is allocated) or ERR_IO (errno set).
 */
int fileio_read_small(int dirfd, const char *name, size_t max, char **out,
    size_t *len) WARN_UNUSED NONNULL(2, 4, 5);

/*
 * Open directory `path` under `dirfd` as a stream of its own (readdir
 * does not move another descriptor's position); `flags` adds to
 * O_RDONLY | O_DIRECTORY | O_CLOEXEC (O_NOFOLLOW, say). Returns the
 * stream (close with closedir()) or NULL with errno set.
 */
DIR *fileio_opendir_at(int dirfd, const char *path, int flags) NONNULL(2);

/*
 * fsync the directory that holds `path` ("." for a bare name), so that a
 * file just created or linked there survives a crash. Returns 0, ERR_TOOBIG
 * (the directory's name is longer than PATH_MAX) or ERR_IO (errno set).
 */
int fileio_sync_parent(const char *path) WARN_UNUSED NONNULL(1);

#endif
