/*
 * segfile.c - numbered segment files: names, listing, a windowed frame
 *             reader, and the locked, group-synced appender
 *
 * The writer buffers whole frames in memory; segfile_sync() writes them
 * with one pwrite() at the current segment's durable length and one
 * fdatasync(), so a group commit costs one sync whatever its size. The
 * reader refills its window only when the next frame is not whole in it,
 * moving the unread bytes to the front first.
 *
 * Invariants:
 *  - sf->len is the durable length of the current segment (the last of
 *    sf->segs); nothing past it stays in the file after a failed sync
 *    unless sf->failed.
 *  - sf->segs is sorted and holds every segment of the directory.
 *  - a reader's window holds segment bytes [base, base + len), and
 *    pos <= len.
 *
 * See also: segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/keysort.h"
#include "common/log.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

struct segfile {
    const struct segfile_format *fmt; /* borrowed */
    char *dir;
    int dirfd;
    int lockfd;
    int fd;                 /* the current (last) segment, O_RDWR, or -1 */
    uint64_t len;           /* its written length (frames pwritten) */
    uint64_t synced;        /* its durable length (fdatasynced), <= len */
    uint64_t segment_bytes; /* roll at a sync once len reaches this */
    uint64_t *segs;         /* numbers of every segment, increasing */
    size_t nsegs;
    size_t asegs;
    struct buf pending; /* whole frames appended since the last sync */
    bool failed;        /* a failed sync or start could not be undone */
};

/* ------------------------------------------------------------- names */

void
segfile_name(const struct segfile_format *fmt, uint64_t first,
    char out[SEGFILE_NAME_MAX])
{
    int n;

    n = snprintf(out, SEGFILE_NAME_MAX, "%s%020" PRIu64 "%s", fmt->prefix,
        first, fmt->suffix);
    if (n < 0 || n >= SEGFILE_NAME_MAX)
        fatalx("%s: invariant: segment name too long", __func__);
}

bool
segfile_parse(
    const struct segfile_format *fmt, const char *name, uint64_t *first)
{
    size_t plen = strlen(fmt->prefix), slen = strlen(fmt->suffix);
    uint64_t v = 0;

    if (strlen(name) != plen + SEGFILE_DIGITS + slen ||
        strncmp(name, fmt->prefix, plen) != 0 ||
        strcmp(name + plen + SEGFILE_DIGITS, fmt->suffix) != 0)
        return false;
    for (size_t i = plen; i < plen + SEGFILE_DIGITS; i++) {
        unsigned d;

        if (name[i] < '0' || name[i] > '9')
            return false;
        d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *first = v;
    return true;
}

/* A name that looks like a segment of `fmt` (prefix and suffix). */
static bool
looks_like_segment(const struct segfile_format *fmt, const char *name)
{
    size_t plen = strlen(fmt->prefix), slen = strlen(fmt->suffix);
    size_t n = strlen(name);

    return n > plen + slen && strncmp(name, fmt->prefix, plen) == 0 &&
        strcmp(name + n - slen, fmt->suffix) == 0;
}

int
segfile_list(
    int dirfd, const struct segfile_format *fmt, uint64_t **firsts, size_t *n)
{
    struct dirent *de;
    uint64_t *v = NULL, first;
    size_t nv = 0, cap = 0;
    DIR *d;
    int e, rc = 0;

    *firsts = NULL;
    *n = 0;
    /* A descriptor of its own: readdir moves its position. */
    d = fileio_opendir_at(dirfd, ".", 0);
    if (d == NULL)
        return ERR_IO;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = ERR_IO;
            break;
        }
        if (segfile_parse(fmt, de->d_name, &first)) {
            if (nv == cap) {
                cap = cap ? 2 * cap : 16;
                v = xreallocarray(v, cap, sizeof(*v));
            }
            v[nv++] = first;
        } else if (fmt->reject_unknown && looks_like_segment(fmt, de->d_name)) {
            rc = ERR_CORRUPT;
            break;
        }
    }
    e = errno;
    closedir(d);
    errno = e;
    if (rc != 0) {
        free(v);
        return rc;
    }
    if (nv > 1)
        qsort(v, nv, sizeof(*v), keysort_u64_cmp);
    *firsts = v;
    *n = nv;
    return 0;
}

int
segfile_open_segment(int dirfd, const struct segfile_format *fmt,
    uint64_t first, int *fd, uint64_t *size)
{
    char name[SEGFILE_NAME_MAX];
    struct stat st;
    int e;

    segfile_name(fmt, first, name);
    *fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd == -1)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    if (fstat(*fd, &st) == -1) {
        e = errno;
        close(*fd);
        *fd = -1;
        errno = e;
        return ERR_IO;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

/* ------------------------------------------------------------ reader */

void
segfile_reader_init(
    struct segfile_reader *r, const struct segfile_format *fmt, size_t window)
{
    if (window < fmt->max_frame)
        window = fmt->max_frame;
    memset(r, 0, sizeof(*r));
    r->fmt = fmt;
    r->fd = -1;
    r->cap = window;
    r->buf = xmalloc(r->cap);
}

void
segfile_reader_start(struct segfile_reader *r, int fd, uint64_t size)
{
    r->fd = fd;
    r->size = size;
    r->base = 0;
    r->pos = 0;
    r->len = 0;
}

void
segfile_reader_release(struct segfile_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

/*
 * Move the unread bytes to the front of the window and read after them
 * until the window is full or the segment's `size` bytes are in.
 */
static int
reader_fill(struct segfile_reader *r)
{
    size_t keep = r->len - r->pos, want;
    uint64_t at;
    ssize_t n;

    memmove(r->buf, r->buf + r->pos, keep);
    r->base += r->pos;
    r->pos = 0;
    r->len = keep;
    at = r->base + r->len;
    want = r->cap - r->len;
    if (want > r->size - at)
        want = (size_t)(r->size - at);
    n = fileio_pread_full(r->fd, r->buf + r->len, want, at);
    if (n < 0)
        return ERR_IO;
    r->len += (size_t)n;
    if ((size_t)n < want) {
        errno = EIO; /* the segment shrank */
        return ERR_IO;
    }
    return 0;
}

int
segfile_reader_next_slow(
    struct segfile_reader *r, bool may_read, struct segfile_frame *f)
{
    const struct segfile_format *fmt = r->fmt;
    size_t avail, flen;
    int rc;

    for (;;) {
        avail = r->len - r->pos;
        flen = 0;
        f->p = r->buf + r->pos;
        f->off = r->base + r->pos;
        if (avail >= fmt->header_bytes) {
            flen = fmt->frame_len(f->p);
            if (flen == 0 || flen > fmt->max_frame) {
                f->kind = SEGFILE_FRAME_BAD_HEADER;
                break;
            }
            if (avail >= flen) {
                f->kind = SEGFILE_FRAME_WHOLE;
                r->pos += flen;
                break;
            }
        }
        if (r->base + r->len == r->size) {
            if (flen != 0)
                f->kind = SEGFILE_FRAME_TORN;
            else if (avail == 0)
                f->kind = SEGFILE_FRAME_END;
            else
                f->kind = SEGFILE_FRAME_TORN_HEADER;
            break;
        }
        if (!may_read) {
            f->kind = SEGFILE_FRAME_AGAIN;
            break;
        }
        rc = reader_fill(r);
        if (rc != 0)
            return rc;
    }
    f->len = flen;
    f->avail = avail;
    return 0;
}

/* ------------------------------------------------------------ writer */

static int
dir_sync(struct segfile *sf)
{
    if (fsync(sf->dirfd) == -1) {
        log_warn("%s: fsync '%s'", __func__, sf->dir);
        return ERR_IO;
    }
    return 0;
}

static void
segs_push(struct segfile *sf, uint64_t first)
{
    if (sf->nsegs == sf->asegs) {
        sf->asegs = sf->asegs ? 2 * sf->asegs : 16;
        sf->segs = xreallocarray(sf->segs, sf->asegs, sizeof(*sf->segs));
    }
    sf->segs[sf->nsegs++] = first;
}

/*
 * Create the empty segment `first` (O_EXCL) and fsync the directory;
 * on success it is the current segment and the last in sf->segs.
 */
static int
seg_create(struct segfile *sf, uint64_t first)
{
    char name[SEGFILE_NAME_MAX];
    int fd, rc;

    segfile_name(sf->fmt, first, name);
    fd = openat(sf->dirfd, name,
        O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, sf->fmt->mode);
    if (fd == -1) {
        rc = fileio_error(errno);
        log_warn("%s: cannot create '%s/%s'", __func__, sf->dir, name);
        return rc;
    }
    if (dir_sync(sf) != 0) {
        close(fd);
        (void)unlinkat(sf->dirfd, name, 0);
        return ERR_IO;
    }
    if (sf->fd != -1)
        close(sf->fd);
    sf->fd = fd;
    sf->len = 0;
    sf->synced = 0;
    segs_push(sf, first);
    return 0;
}

/*
 * The StrictModes rule for a directory the writer will fill: this
 * user's, nothing for group or others. Returns 0 or ERR_DENIED (logged).
 */
static int
dir_trusted(int dirfd, const char *dir)
{
    struct stat st;

    if (fstat(dirfd, &st) == -1) {
        log_warn("%s: fstat '%s'", __func__, dir);
        return ERR_IO;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        log_warnx("%s: '%s' is owned by uid %u with mode %03o: it must be "
                  "this user's (uid %u) and closed to group and others "
                  "(chmod 700)",
            __func__, dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
            (unsigned)geteuid());
        return ERR_DENIED;
    }
    return 0;
}

int
segfile_open(const char *dir, const struct segfile_format *fmt,
    uint64_t segment_bytes, struct segfile **out)
{
    struct segfile *sf;
    int rc;

    *out = NULL;
    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        log_warn("%s: cannot create '%s'", __func__, dir);
        return ERR_IO;
    }
    sf = xcalloc(1, sizeof(*sf));
    sf->fmt = fmt;
    sf->dir = xstrdup(dir);
    sf->lockfd = -1;
    sf->fd = -1;
    sf->segment_bytes = segment_bytes;
    buf_init(&sf->pending, fmt->max_pending);
    sf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sf->dirfd == -1) {
        log_warn("%s: cannot open '%s'", __func__, dir);
        rc = errno == ELOOP || errno == ENOTDIR ? ERR_DENIED : ERR_IO;
        goto fail;
    }
    rc = dir_trusted(sf->dirfd, dir);
    if (rc != 0)
        goto fail;
    sf->lockfd = openat(sf->dirfd, SEGFILE_LOCK,
        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (sf->lockfd == -1) {
        log_warn("%s: cannot open '%s/" SEGFILE_LOCK "'", __func__, dir);
        rc = ERR_IO;
        goto fail;
    }
    if (flock(sf->lockfd, LOCK_EX | LOCK_NB) == -1) {
        if (errno == EWOULDBLOCK) {
            log_warnx("%s: '%s' is in use by another process", __func__, dir);
            rc = ERR_AGAIN;
        } else {
            log_warn("%s: flock '%s/" SEGFILE_LOCK "'", __func__, dir);
            rc = ERR_IO;
        }
        goto fail;
    }
    rc = segfile_list(sf->dirfd, fmt, &sf->segs, &sf->nsegs);
    if (rc == ERR_CORRUPT)
        log_warnx("%s: unexpected segment name in '%s'", __func__, dir);
    else if (rc != 0)
        log_warn("%s: cannot list '%s'", __func__, dir);
    if (rc != 0)
        goto fail;
    sf->asegs = sf->nsegs;
    *out = sf;
    return 0;
fail:
    segfile_close(sf);
    return rc;
}

void
segfile_close(struct segfile *sf)
{
    if (sf == NULL)
        return;
    if (sf->fd != -1)
        close(sf->fd);
    if (sf->lockfd != -1)
        close(sf->lockfd); /* drops the flock */
    if (sf->dirfd != -1)
        close(sf->dirfd);
    buf_release(&sf->pending);
    free(sf->segs);
    free(sf->dir);
    free(sf);
}

int
segfile_dirfd(const struct segfile *sf)
{
    return sf->dirfd;
}

const uint64_t *
segfile_segments(const struct segfile *sf, size_t *n)
{
    *n = sf->nsegs;
    return sf->segs;
}

void
segfile_set_segment_bytes(struct segfile *sf, uint64_t bytes)
{
    sf->segment_bytes = bytes;
}

int
segfile_resume(struct segfile *sf, uint64_t valid_len, uint64_t *cut)
{
    char name[SEGFILE_NAME_MAX];
    struct stat st;
    uint64_t size;
    int fd, rc;

    *cut = 0;
    if (sf->nsegs == 0)
        return ERR_INVAL;
    segfile_name(sf->fmt, sf->segs[sf->nsegs - 1], name);
    fd = openat(sf->dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        log_warn("%s: cannot open '%s/%s'", __func__, sf->dir, name);
        return ERR_IO;
    }
    if (fstat(fd, &st) == -1) {
        log_warn("%s: fstat '%s/%s'", __func__, sf->dir, name);
        rc = ERR_IO;
        goto fail;
    }
    size = (uint64_t)st.st_size;
    if (size < valid_len) {
        log_warnx("%s: '%s/%s' is shorter than its %" PRIu64 " valid bytes",
            __func__, sf->dir, name, valid_len);
        rc = ERR_INVAL;
        goto fail;
    }
    if (size - valid_len > sf->fmt->max_pending) {
        log_warnx("%s: bad frame at offset %" PRIu64 " of '%s/%s' with "
                  "%" PRIu64 " bytes after it: more than one write can tear",
            __func__, valid_len, sf->dir, name, size - valid_len);
        rc = ERR_CORRUPT;
        goto fail;
    }
    if (size > valid_len) {
        if (ftruncate(fd, (off_t)valid_len) == -1 || fsync(fd) == -1) {
            log_warn(
                "%s: cannot cut the tail of '%s/%s'", __func__, sf->dir, name);
            rc = ERR_IO;
            goto fail;
        }
        *cut = size - valid_len;
    }
    if (sf->fd != -1)
        close(sf->fd);
    sf->fd = fd;
    sf->len = valid_len;
    sf->synced = valid_len;
    return 0;
fail:
    close(fd);
    return rc;
}

int
segfile_start(struct segfile *sf, uint64_t first)
{
    char name[SEGFILE_NAME_MAX];
    size_t n = sf->nsegs;
    int rc;

    if (sf->pending.len != 0)
        return ERR_INVAL;
    /*
     * Remove everything first, so that a crash leaves either the old
     * segments or none, never a gap before `first`.
     */
    if (sf->fd != -1) {
        close(sf->fd);
        sf->fd = -1;
    }
    for (size_t i = 0; i < n; i++) {
        segfile_name(sf->fmt, sf->segs[i], name);
        if (unlinkat(sf->dirfd, name, 0) == -1 && errno != ENOENT) {
            log_warn("%s: cannot remove '%s/%s'", __func__, sf->dir, name);
            sf->failed = true;
            return ERR_IO;
        }
    }
    sf->nsegs = 0;
    rc = n > 0 ? dir_sync(sf) : 0;
    if (rc == 0)
        rc = seg_create(sf, first);
    if (rc != 0)
        sf->failed = true;
    return rc;
}

int
segfile_append(struct segfile *sf, const void *hdr, size_t hlen,
    const void *body, size_t blen)
{
    size_t before = sf->pending.len;
    int rc;

    if (sf->failed)
        return ERR_IO;
    if (hlen > sf->pending.limit - sf->pending.len ||
        blen > sf->pending.limit - sf->pending.len - hlen)
        return ERR_TOOBIG;
    rc = buf_append(&sf->pending, hdr, hlen);
    if (rc == 0 && blen > 0)
        rc = buf_append(&sf->pending, body, blen);
    if (rc != 0) {
        sf->pending.len = before; /* no half frame */
        return rc;
    }
    return 0;
}

size_t
segfile_pending_bytes(const struct segfile *sf)
{
    return sf->pending.len;
}

uint64_t
segfile_durable_len(const struct segfile *sf)
{
    return sf->synced;
}

void
segfile_discard(struct segfile *sf)
{
    buf_reset(&sf->pending);
}

const uint8_t *
segfile_pending_data(const struct segfile *sf, size_t *len)
{
    *len = sf->pending.len;
    return sf->pending.data;
}

uint64_t
segfile_written_len(const struct segfile *sf)
{
    return sf->len;
}

int
segfile_flush(struct segfile *sf)
{
    if (sf->failed)
        return ERR_IO;
    if (sf->fd == -1 || sf->synced == sf->len)
        return 0;
    if (fdatasync(sf->fd) == -1) {
        int rc = fileio_error(errno);

        /* The written frames may be gone from the page cache: nothing
         * past the durable length can be trusted any more. */
        log_warn("%s: fdatasync of '%s' failed; failed until reopened",
            __func__, sf->dir);
        sf->failed = true;
        return rc;
    }
    sf->synced = sf->len;
    return 0;
}

int
segfile_flush_begin(struct segfile *sf, struct segfile_ticket *t)
{
    t->fd = -1;
    t->seg = 0;
    t->len = 0;
    if (sf->failed)
        return ERR_IO;
    if (sf->fd == -1 || sf->synced == sf->len || sf->nsegs == 0)
        return 0;
    t->fd = fcntl(sf->fd, F_DUPFD_CLOEXEC, 0);
    if (t->fd == -1) {
        log_warn(
            "%s: cannot duplicate the descriptor of '%s'", __func__, sf->dir);
        return ERR_IO;
    }
    t->seg = sf->segs[sf->nsegs - 1];
    t->len = sf->len;
    return 0;
}

int
segfile_flush_run(struct segfile_ticket *t)
{
    int rc = 0;

    if (t->fd == -1)
        return 0;
    if (fdatasync(t->fd) == -1)
        rc = fileio_error(errno);
    (void)close(t->fd);
    t->fd = -1;
    return rc;
}

void
segfile_flush_end(struct segfile *sf, const struct segfile_ticket *t, int rc)
{
    if (rc != 0) {
        /* As segfile_flush(): the written pages may be gone. */
        log_warnx("%s: fdatasync of '%s' failed: %s; failed until reopened",
            __func__, sf->dir, err_str(rc));
        sf->failed = true;
        return;
    }
    if (t->len > 0 && sf->nsegs > 0 && sf->segs[sf->nsegs - 1] == t->seg &&
        t->len > sf->synced && t->len <= sf->len)
        sf->synced = t->len;
}

/* Drop the pending frames and truncate the file back to `sf->len` after
 * a failed write (rc); fail the segfile if even that fails. */
static int
write_undo(struct segfile *sf, int rc)
{
    buf_reset(&sf->pending);
    if (ftruncate(sf->fd, (off_t)sf->len) == -1) {
        log_warn("%s: cannot truncate '%s' back to %" PRIu64 " bytes; "
                 "failed until reopened",
            __func__, sf->dir, sf->len);
        sf->failed = true;
        return rc;
    }
    /* Best effort: a torn tail left by a crash now is cut at open. */
    (void)fdatasync(sf->fd);
    return rc;
}

/* segfile_write(), also telling where the pending frames went. */
static int
write_pending(struct segfile *sf, uint64_t next_first, uint64_t *off)
{
    int rc;

    *off = sf->len;
    if (sf->failed) {
        buf_reset(&sf->pending);
        return ERR_IO;
    }
    if (sf->pending.len == 0)
        return 0;
    if (sf->fd == -1)
        fatalx("%s: invariant: no segment resumed or started", __func__);
    /*
     * Only the last segment may end in an unsynced (tearable) tail, and
     * never a longer one than fmt->max_pending: sync the written bytes
     * first when rolling, or when this write would pass the bound.
     */
    if (sf->len >= sf->segment_bytes ||
        sf->len - sf->synced + sf->pending.len > sf->fmt->max_pending) {
        rc = segfile_flush(sf);
        if (rc != 0) {
            buf_reset(&sf->pending);
            return rc;
        }
    }
    if (sf->len >= sf->segment_bytes) {
        /* seg_create() switches to the new segment only on success. */
        rc = seg_create(sf, next_first);
        if (rc != 0) {
            buf_reset(&sf->pending);
            return rc;
        }
    }
    *off = sf->len;
    rc = fileio_pwrite_all(sf->fd, sf->pending.data, sf->pending.len, sf->len);
    if (rc != 0) {
        log_warn("%s: write to '%s' failed", __func__, sf->dir);
        return write_undo(sf, rc);
    }
    sf->len += sf->pending.len;
    buf_reset(&sf->pending);
    return 0;
}

int
segfile_write(struct segfile *sf, uint64_t next_first)
{
    uint64_t off;

    return write_pending(sf, next_first, &off);
}

int
segfile_sync(struct segfile *sf, uint64_t next_first)
{
    uint64_t off;
    int rc;

    if (sf->failed) {
        buf_reset(&sf->pending);
        return ERR_IO;
    }
    if (sf->pending.len == 0 && sf->synced == sf->len)
        return 0;
    rc = write_pending(sf, next_first, &off);
    if (rc != 0)
        return rc;
    if (fdatasync(sf->fd) == 0) {
        sf->synced = sf->len;
        return 0;
    }
    rc = fileio_error(errno);
    log_warn("%s: fdatasync of '%s' failed", __func__, sf->dir);
    /*
     * When every byte before this write was durable, the write alone is
     * undone (truncated away) and a later sync may succeed (disk space
     * returns). Otherwise bytes written earlier may have been dropped
     * from the page cache: failed until reopened.
     */
    if (sf->synced == off) {
        sf->len = off;
        rc = write_undo(sf, rc);
        if (sf->fmt->sync_error_sticks)
            sf->failed = true;
        return rc;
    }
    sf->failed = true;
    return rc;
}

int
segfile_roll(struct segfile *sf, uint64_t first)
{
    if (sf->failed)
        return ERR_IO;
    if (sf->pending.len != 0)
        return ERR_INVAL;
    if (sf->fd != -1 && sf->len == 0)
        return 0;
    if (segfile_flush(sf) != 0)
        return ERR_IO;
    return seg_create(sf, first);
}

/* Overwrite segment file `name` with zeros in place and fdatasync it. */
static int
seg_zero(struct segfile *sf, const char *name)
{
    static const uint8_t zero[64 * 1024];
    struct stat st;
    uint64_t off;
    int fd, rc = 0;

    fd = openat(sf->dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? 0 : ERR_IO;
    if (fstat(fd, &st) == -1)
        rc = ERR_IO;
    for (off = 0; rc == 0 && off < (uint64_t)st.st_size; off += sizeof(zero)) {
        uint64_t left = (uint64_t)st.st_size - off;

        rc = fileio_pwrite_all(
            fd, zero, left < sizeof(zero) ? (size_t)left : sizeof(zero), off);
    }
    if (rc == 0 && fdatasync(fd) == -1)
        rc = ERR_IO;
    close(fd);
    if (rc != 0)
        log_warn("%s: cannot overwrite '%s/%s'", __func__, sf->dir, name);
    return rc;
}

int
segfile_shred_oldest(struct segfile *sf, size_t n)
{
    char name[SEGFILE_NAME_MAX];
    size_t done;

    if (n >= sf->nsegs && n > 0)
        return ERR_INVAL;
    for (done = 0; done < n; done++) {
        segfile_name(sf->fmt, sf->segs[done], name);
        if (seg_zero(sf, name) != 0)
            break;
    }
    if (done < n) {
        int rc = segfile_remove_oldest(sf, done);

        return rc != 0 ? rc : ERR_IO;
    }
    return segfile_remove_oldest(sf, n);
}

int
segfile_remove_oldest(struct segfile *sf, size_t n)
{
    char name[SEGFILE_NAME_MAX];
    size_t done = 0;
    int rc = 0;

    if (n == 0)
        return 0;
    if (n >= sf->nsegs)
        return ERR_INVAL;
    while (done < n) {
        segfile_name(sf->fmt, sf->segs[done], name);
        if (unlinkat(sf->dirfd, name, 0) == -1 && errno != ENOENT) {
            log_warn("%s: cannot remove '%s/%s'", __func__, sf->dir, name);
            rc = ERR_IO;
            break;
        }
        done++;
    }
    if (done == 0)
        return rc;
    memmove(sf->segs, sf->segs + done, (sf->nsegs - done) * sizeof(*sf->segs));
    sf->nsegs -= done;
    if (dir_sync(sf) != 0)
        rc = ERR_IO;
    return rc;
}

bool
segfile_is_failed(const struct segfile *sf)
{
    return sf->failed;
}
