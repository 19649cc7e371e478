/*
 * fileio.h - positional reads and writes that finish the job
 *
 * pread(2) and pwrite(2) may transfer less than asked or be interrupted;
 * the append-only files (journal.c, audit.c) need all or an error. These
 * retry on EINTR and short transfers. Any thread; no state.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_FILEIO_H
#define COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

/*
 * Write all `len` bytes of `p` to `fd` at offset `off`. Returns 0, or -1
 * with errno set (a zero-byte write is reported as EIO).
 */
int fileio_pwrite_all(
    int fd, const uint8_t *p, size_t len, uint64_t off) WARN_UNUSED NONNULL(2);

/*
 * Read up to `len` bytes from `fd` at offset `off` into `p`, stopping
 * early only at end of file. Returns the bytes read, or -1 with errno.
 */
ssize_t fileio_pread_full(
    int fd, uint8_t *p, size_t len, uint64_t off) WARN_UNUSED NONNULL(2);

#endif
