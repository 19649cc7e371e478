/*
 * cosiglog.h - cosignatures.log: the witnesses' cosignatures, kept
 *              beside the audit log's checkpoints
 *
 * The scorer's witness thread (scorer/wclient.c) appends one frame per
 * cosignature it got back from a witness; `vigilctl audit verify
 * --witness` reads them (cosiglog_read) to count the valid cosignatures
 * on the newest checkpoint. Small: about 300 bytes per frame.
 *
 * Format of DATA_DIR/audit/cosignatures.log (mode 0644):
 *     frames, each  u32 LE len (1..COSIGLOG_MAX_FRAME)  then len bytes:
 *     a C2SP signed note, exactly the checkpoint note of checkpoints.log
 *     (text, blank line, the log's signature line) followed by the
 *     witness's cosignature line(s) as the witness returned them
 *     (c2sp.org/tlog-cosignature; common/cosig.h).
 * Frames are in the order they were received; several frames may hold
 * the same checkpoint (one per witness). Nothing in this file is
 * trusted: a reader checks every cosignature with the witness keys it
 * was given. A torn last frame (a crash mid-append) is ignored by
 * readers and cut by the next writer.
 *
 * Invariants:
 *  - only the scorer appends (its witness thread), under the audit
 *    directory's LOCK that the scorer holds.
 *
 * See also: cosig.h, audit.h (the directory), scorer/wclient.h,
 *           tools/vigil-audit.5
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_COSIGLOG_H
#define COMMON_COSIGLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define COSIGLOG_FILE      "cosignatures.log"
#define COSIGLOG_MAX_FRAME 16384

/*
 * Open dir/cosignatures.log for appending (created 0644 if missing),
 * cutting a torn last frame. *fd is closed by the caller (close(2)).
 * Returns 0 or ERR_IO.
 */
int cosiglog_open(const char *dir, int *fd) WARN_UNUSED NONNULL(1, 2);

/*
 * Append one frame holding note[0..len) and fdatasync it.
 * Returns 0, ERR_INVAL (len 0 or above COSIGLOG_MAX_FRAME), ERR_IO or
 * ERR_FULL (the frame is then cut back off).
 */
int cosiglog_append(int fd, const char *note, size_t len) WARN_UNUSED
    NONNULL(2);

/* Called for each whole frame; return nonzero to stop (returned). */
typedef int (*cosiglog_cb)(void *arg, const char *note, size_t len);

/*
 * Call `cb` for every whole frame of dir/cosignatures.log, in order
 * (`note` borrowed for the call). A missing file has no frames.
 * Returns 0, ERR_IO, or what `cb` returned.
 */
int cosiglog_read(const char *dir, cosiglog_cb cb, void *arg) WARN_UNUSED
    NONNULL(1, 2);

#endif
