/*
 * segfile.h - numbered segment files in one directory: the storage under
 *             the journal and the audit log
 *
 * A segment family is a directory of files named <prefix><N><suffix>,
 * where N is 20 decimal digits (the number of the first record in the
 * file, e.g. "00000000000000000001.seg" for the journal,
 * "records-00000000000000000000.log" for the audit log). Each file is a
 * plain sequence of frames; this module knows only that a frame starts
 * with a fixed-size header from which the owner's callback tells the
 * frame's whole length. What is in a header (length, CRC, seq) and what
 * makes a frame valid stay with the owner (journal.c, audit_*.c).
 *
 * Three parts, used by the scorer's main thread (writer) and by vigilctl
 * (reader, read-only, any process):
 *  - names and listing: segfile_name(), segfile_parse(), segfile_list(),
 *    segfile_open_segment();
 *  - a reader: frames of one segment, in order, through a window buffer;
 *  - a writer: the directory's LOCK (flock), frames appended to a
 *    pending buffer and made durable with one pwrite() at the current
 *    segment's durable length plus one fdatasync(), rolling to a new
 *    segment at a sync once the current one has reached its size, a
 *    torn tail of the last segment cut back at open; or written without
 *    the sync (segfile_write) and synced later (segfile_flush), for an
 *    owner that keeps the frames durable elsewhere meanwhile.
 *
 * Invariants:
 *  - a writer's current segment is the last one (largest N); the file
 *    never keeps bytes past its durable length after a failed sync
 *    (they are truncated away) unless even that failed, and then the
 *    segfile is failed until reopened.
 *  - segments are created with O_EXCL and the directory is fsynced
 *    before a new segment is used or after segments are removed.
 *  - only the current segment may hold written, unsynced bytes, at most
 *    fmt->max_pending of them.
 *
 * See also: journal.h, audit.h (the two formats built on it), fileio.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_SEGFILE_H
#define COMMON_SEGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/compiler.h"

#define SEGFILE_DIGITS   20 /* decimal digits of N in a name */
#define SEGFILE_NAME_MAX 64 /* bytes of a name, NUL included */
#define SEGFILE_LOCK     "LOCK"

/*
 * Return the whole length (header included, at most the format's
 * max_frame) of the frame whose first `header_bytes` bytes are at `hdr`,
 * or 0 when they cannot start a frame (e.g. a length out of bounds).
 * Pure; a value above max_frame is taken as 0.
 */
typedef size_t (*segfile_frame_len_cb)(const uint8_t *hdr);

/*
 * What a segment family looks like: its names, its frames and its
 * writer's rules. Owners define one as a static const and pass it by
 * pointer; it must outlive every use.
 */
struct segfile_format {
    const char *prefix;  /* before the digits: "" or e.g. "records-" */
    const char *suffix;  /* after the digits, e.g. ".seg" */
    mode_t mode;         /* permissions of new segments, e.g. 0600 */
    size_t header_bytes; /* fixed bytes at the start of every frame */
    size_t max_frame;    /* the longest whole frame, header included */
    segfile_frame_len_cb frame_len;
    size_t max_pending;     /* cap on appended, unsynced bytes; also the
                               longest tail segfile_resume() may cut */
    bool reject_unknown;    /* a name with the prefix and suffix that does
                               not parse makes listing fail (ERR_CORRUPT) */
    bool sync_error_sticks; /* a failed fdatasync fails the writer until
                               it is reopened, as the kernel may have
                               dropped the dirty pages */
};

/* ---------------------------------------------------------------------
 * Names and listing (pure or read-only; any thread).
 * ------------------------------------------------------------------- */

/*
 * Write the name of segment `first` of `fmt` into `out`
 * (prefix, `first` as 20 zero-padded digits, suffix; NUL-terminated).
 * The prefix and suffix must fit (fatal otherwise: a broken format).
 */
void segfile_name(const struct segfile_format *fmt, uint64_t first,
    char out[SEGFILE_NAME_MAX]) NONNULL(1, 3);

/*
 * Parse `name` as a segment name of `fmt` into `*first`. Returns true,
 * or false (and leaves `*first` alone) for any other name: wrong prefix
 * or suffix, not exactly 20 digits, or a number above UINT64_MAX.
 */
bool segfile_parse(const struct segfile_format *fmt, const char *name,
    uint64_t *first) NONNULL(1, 2, 3);

/*
 * List the segments of `fmt` in directory `dirfd`: set `*firsts` to
 * their numbers in increasing order (caller frees with free(); NULL
 * when there are none) and `*n` to their count. Other names are
 * ignored, except that with fmt->reject_unknown a name that has the
 * prefix and the suffix but does not parse fails the listing.
 * Returns 0, ERR_CORRUPT (that name; `*firsts` is NULL) or ERR_IO
 * (errno set).
 */
int segfile_list(int dirfd, const struct segfile_format *fmt, uint64_t **firsts,
    size_t *n) WARN_UNUSED NONNULL(2, 3, 4);

/*
 * Open segment `first` of `fmt` in `dirfd` read-only; set `*fd` (caller
 * closes it) and `*size` (its length now). Logs nothing.
 * Returns 0, ERR_NOTFOUND or ERR_IO (errno set).
 */
int segfile_open_segment(int dirfd, const struct segfile_format *fmt,
    uint64_t first, int *fd, uint64_t *size) WARN_UNUSED NONNULL(2, 4, 5);

/* ---------------------------------------------------------------------
 * Reader: the frames of one segment, in order (any thread; one reader
 * per thread).
 * ------------------------------------------------------------------- */

/* What segfile_reader_next() found at the reader's position. */
enum segfile_frame_kind {
    SEGFILE_FRAME_WHOLE,       /* a whole frame: p, len, off */
    SEGFILE_FRAME_END,         /* the segment ends here (off = its size) */
    SEGFILE_FRAME_AGAIN,       /* not whole in the window, and reading
                                  was not allowed: call again with it */
    SEGFILE_FRAME_TORN_HEADER, /* the segment ends `avail` bytes into a
                                  header, at off */
    SEGFILE_FRAME_BAD_HEADER,  /* frame_len() rejected the header at p */
    SEGFILE_FRAME_TORN,        /* the segment ends `avail` bytes into a
                                  frame of `len` bytes at off (p) */
};

/*
 * One result of segfile_reader_next(). `p` is borrowed: it points into
 * the reader's window and stays valid until the next call that is
 * allowed to read, or segfile_reader_start()/_release().
 */
struct segfile_frame {
    enum segfile_frame_kind kind;
    const uint8_t *p; /* WHOLE, BAD_HEADER, TORN: the frame's header */
    size_t len;       /* WHOLE, TORN: the frame's length, header included */
    size_t avail;     /* TORN_HEADER, TORN: bytes before the segment ends */
    uint64_t off;     /* the frame's offset in the segment */
};

/*
 * A sequential reader over one segment with a window buffer. Caller
 * owns the storage; fields change only through this API.
 */
struct segfile_reader {
    const struct segfile_format *fmt;
    int fd;        /* borrowed: the segment being read */
    uint64_t size; /* bytes of it to read */
    uint8_t *buf;  /* the window, `cap` bytes, owned */
    size_t cap;
    uint64_t base; /* segment offset of buf[0] */
    size_t pos;    /* the next frame is at buf[pos] */
    size_t len;    /* bytes of buf in use */
};

/*
 * Initialise a reader of `fmt` frames with a window of `window` bytes
 * (at least fmt->max_frame; larger means fewer reads). Release it with
 * segfile_reader_release(); it may read many segments in turn.
 */
void segfile_reader_init(struct segfile_reader *r,
    const struct segfile_format *fmt, size_t window) NONNULL(1, 2);

/*
 * Start reading the first `size` bytes of the segment open on `fd`
 * (borrowed; the caller closes it after the last call) from offset 0.
 */
void segfile_reader_start(struct segfile_reader *r, int fd, uint64_t size)
    NONNULL(1);

/* The rest of segfile_reader_next(), for its inline part only. */
int segfile_reader_next_slow(struct segfile_reader *r, bool may_read,
    struct segfile_frame *f) WARN_UNUSED NONNULL(1, 3);

/*
 * Find the next frame and fill `*f`; a WHOLE frame is consumed, anything
 * else is not (END, TORN_HEADER, BAD_HEADER and TORN stay where they
 * are). When `may_read` is false nothing is read: a frame not already
 * whole in the window gives AGAIN, and every `p` handed out since the
 * last reading call stays valid (so a caller can collect a batch).
 * Returns 0, or ERR_IO (errno set; EIO if the segment is shorter than
 * the `size` it was started with, i.e. it shrank while being read).
 *
 * Inline because the verifier calls it once per record on its serial
 * path: the common case (a whole frame already in the window) is
 * handled here, everything else by segfile_reader_next_slow().
 */
static inline int WARN_UNUSED
segfile_reader_next(
    struct segfile_reader *r, bool may_read, struct segfile_frame *f)
{
    const uint8_t *p = r->buf + r->pos;
    size_t avail = r->len - r->pos, flen;

    if (avail >= r->fmt->header_bytes) {
        flen = r->fmt->frame_len(p);
        if (flen != 0 && flen <= r->fmt->max_frame && avail >= flen) {
            f->kind = SEGFILE_FRAME_WHOLE;
            f->p = p;
            f->len = flen;
            f->avail = avail;
            f->off = r->base + r->pos;
            r->pos += flen;
            return 0;
        }
    }
    return segfile_reader_next_slow(r, may_read, f);
}

/* Free the window; the reader may be initialised again. */
void segfile_reader_release(struct segfile_reader *r) NONNULL(1);

/* ---------------------------------------------------------------------
 * Writer (one thread; one process per directory, enforced by LOCK).
 * ------------------------------------------------------------------- */

struct segfile;

/*
 * Open the segment directory `dir` (created 0700 if missing) for
 * writing: take its LOCK file with flock() and list its segments. No
 * segment is open for appending yet: the owner validates the frames
 * (segfile_segments(), segfile_open_segment(), a reader) and then calls
 * segfile_resume(), or segfile_start() when there is no segment. New
 * segments are started at `segment_bytes` (see segfile_sync()). `fmt`
 * is borrowed for the segfile's life. `*out` is freed with
 * segfile_close(). `dir` must be this user's and closed to group and
 * others, and neither it nor its files may be symbolic links.
 * Returns 0, ERR_AGAIN (another process holds the lock), ERR_CORRUPT (an
 * unexpected segment name, with fmt->reject_unknown), ERR_DENIED (owner,
 * mode or a link) or ERR_IO; the reason is logged.
 */
int segfile_open(const char *dir, const struct segfile_format *fmt,
    uint64_t segment_bytes, struct segfile **out) WARN_UNUSED NONNULL(1, 2, 4);

/* Close the files and drop the lock, discarding pending bytes.
 * segfile_close(NULL) is a no-op. */
void segfile_close(struct segfile *sf);

/* Return the directory's descriptor; borrowed, valid until close. */
int segfile_dirfd(const struct segfile *sf) NONNULL(1);

/*
 * Return the segments' numbers in increasing order and set `*n` to their
 * count; the last is the current one once resumed or started. Borrowed:
 * valid until the next call that changes the segments (sync, start,
 * remove_oldest) or close.
 */
const uint64_t *segfile_segments(const struct segfile *sf, size_t *n)
    NONNULL(1, 2);

/* Set the size at which segfile_sync() starts a new segment. */
void segfile_set_segment_bytes(struct segfile *sf, uint64_t bytes) NONNULL(1);

/*
 * Make the last listed segment the current one, keeping its first
 * `valid_len` bytes (the whole valid frames the owner found): a longer
 * file has a torn tail, which is cut (ftruncate + fsync) if it is at
 * most fmt->max_pending bytes (what one unsynced write can leave), and
 * `*cut` says how many bytes went. There must be at least one segment.
 * Returns 0, ERR_CORRUPT (a longer tail: synced data would be lost; the
 * file is left alone), ERR_INVAL (no segment, or the file is shorter
 * than valid_len) or ERR_IO; the reason is logged.
 */
int segfile_resume(struct segfile *sf, uint64_t valid_len,
    uint64_t *cut) WARN_UNUSED NONNULL(1, 3);

/*
 * Start over at `first`: remove every segment (there may be none), then
 * create the empty segment `first` and make it current. Nothing may be
 * pending. On failure the segfile is failed (except for ERR_INVAL).
 * Returns 0, ERR_INVAL (bytes pending), ERR_FULL or ERR_IO.
 */
int segfile_start(struct segfile *sf, uint64_t first) WARN_UNUSED NONNULL(1);

/*
 * Append one frame, given as `hdr` (hlen bytes) then `body` (blen bytes,
 * may be NULL when 0), to the pending buffer; both are copied. Nothing
 * is written until segfile_sync(). Returns 0, ERR_TOOBIG (more than
 * fmt->max_pending bytes would be pending: nothing is appended) or
 * ERR_IO (the segfile failed).
 */
int segfile_append(struct segfile *sf, const void *hdr, size_t hlen,
    const void *body, size_t blen) WARN_UNUSED NONNULL(1, 2);

/* Return the number of bytes appended but not yet synced. */
size_t segfile_pending_bytes(const struct segfile *sf) NONNULL(1);

/* Return the durable (fdatasynced) length of the current segment. */
uint64_t segfile_durable_len(const struct segfile *sf) NONNULL(1);

/* Return the written length of the current segment: its durable length
 * plus what segfile_write() put there without a sync. */
uint64_t segfile_written_len(const struct segfile *sf) NONNULL(1);

/* Drop the pending frames (nothing of them was written). */
void segfile_discard(struct segfile *sf) NONNULL(1);

/*
 * Return the pending frames (`*len` bytes; borrowed, valid until the
 * next append, write, sync or discard), e.g. for an owner that makes
 * them durable elsewhere first (the scorer's journal).
 */
const uint8_t *segfile_pending_data(const struct segfile *sf, size_t *len)
    NONNULL(1, 2);

/*
 * Write the pending bytes like segfile_sync() but WITHOUT the
 * fdatasync: they reach the page cache, not yet the disk. For an owner
 * whose frames are durable elsewhere (the audit log's records in the
 * scorer's journal) and who calls segfile_flush() before anything
 * durable may depend on them. The unsynced tail never exceeds
 * fmt->max_pending bytes (the longest tail segfile_resume() may cut)
 * and never spans two segments: the written bytes are synced first
 * when the write would pass that bound and before rolling. On a failed
 * pwrite the pending bytes are dropped and the file is truncated back
 * to its written length (failed if that fails).
 * Returns 0, ERR_FULL or ERR_IO; logged.
 */
int segfile_write(struct segfile *sf, uint64_t next_first) WARN_UNUSED
    NONNULL(1);

/*
 * Make the written bytes durable (one fdatasync; none when nothing is
 * unsynced). A failure fails the segfile until it is reopened (the
 * kernel may have dropped the written pages: the file's tail past its
 * durable length cannot be trusted). Returns 0, ERR_FULL or ERR_IO.
 */
int segfile_flush(struct segfile *sf) WARN_UNUSED NONNULL(1);

/*
 * segfile_flush() in three steps, so that the fdatasync runs on another
 * thread while the owner goes on writing (the scorer's flusher):
 * segfile_flush_begin() (owner's thread) takes a duplicate of the
 * current segment's descriptor and its written length into `t` (fd -1:
 * nothing unsynced); segfile_flush_run() (any thread, once) syncs and
 * closes it; segfile_flush_end() (owner's thread) takes the result: on
 * success the segment is durable up to that length (unless the segfile
 * rolled since: the old segment was synced then), on failure the
 * segfile is failed until reopened, as after segfile_flush(). Every
 * byte written before the begin is durable once run succeeded.
 * begin: 0 or ERR_IO (failed, or no descriptor could be duplicated);
 * run: 0, ERR_FULL or ERR_IO.
 */
struct segfile_ticket {
    int fd;       /* duplicate of the segment's descriptor, or -1 */
    uint64_t seg; /* the segment's number */
    uint64_t len; /* its written length at the begin */
};
int segfile_flush_begin(
    struct segfile *sf, struct segfile_ticket *t) WARN_UNUSED NONNULL(1, 2);
int segfile_flush_run(struct segfile_ticket *t) WARN_UNUSED NONNULL(1);
void segfile_flush_end(
    struct segfile *sf, const struct segfile_ticket *t, int rc) NONNULL(1, 2);

/*
 * Make the pending bytes and any written by segfile_write() durable: if
 * the current segment has reached the segment size, first sync it and
 * start segment `next_first` (the number of the first pending record:
 * O_EXCL create, directory fsync), then one pwrite() at the written
 * length and one fdatasync(). With nothing pending or unsynced returns
 * 0 at once. segfile_resume() or segfile_start() must
 * have made a segment current (a fatal invariant otherwise).
 * On failure the pending bytes are dropped and the file is truncated
 * back to its length before them; if even that fails (or the fdatasync
 * failed and fmt->sync_error_sticks, or bytes of an earlier
 * segfile_write() were unsynced), the segfile is failed and every later
 * sync returns ERR_IO until it is reopened.
 * Returns 0, ERR_FULL (ENOSPC, EDQUOT, EFBIG) or ERR_IO; logged.
 */
int segfile_sync(struct segfile *sf, uint64_t next_first) WARN_UNUSED
    NONNULL(1);

/*
 * Remove the `n` oldest segments (at most all but the current one) and
 * fsync the directory. If a removal fails, the ones before it stay
 * removed. Returns 0, ERR_INVAL (n too large) or ERR_IO; logged.
 */
int segfile_remove_oldest(struct segfile *sf, size_t n) WARN_UNUSED NONNULL(1);

/*
 * Start the empty segment `first` now and make it current, so that every
 * segment before it can be removed (a journal rid of what an erasure
 * deleted). A no-op when the current segment is empty. Nothing may be
 * pending, and `first` must be the number of the next frame. Returns 0,
 * ERR_INVAL (bytes pending), ERR_FULL or ERR_IO.
 */
int segfile_roll(struct segfile *sf, uint64_t first) WARN_UNUSED NONNULL(1);

/*
 * Like segfile_remove_oldest(), but first overwrite each of the `n`
 * oldest segments with zeros in place (and fdatasync it), so that what
 * they held does not stay on the blocks the file gave back. Returns as
 * segfile_remove_oldest(); a segment that cannot be overwritten is left
 * in place (ERR_IO, logged) and so are the ones after it.
 */
int segfile_shred_oldest(struct segfile *sf, size_t n) WARN_UNUSED NONNULL(1);

/* Return true when a failed sync or start could not be undone. */
bool segfile_is_failed(const struct segfile *sf) NONNULL(1);

#endif
