/*
 * journal.c - the scorer's write-ahead log (see journal.h for the format)
 *
 * Appends are buffered in memory; journal_sync() writes them with one
 * pwrite() at the current segment's durable length and one fdatasync().
 * Opening validates every record of every segment and cuts a torn tail
 * of the last one. Runs in the scorer's main thread; one sync per group
 * of events (about 0.2 ms), so throughput comes from grouping.
 *
 * Invariants:
 *  - j->size is the durable length of the current (last) segment; the
 *    file never keeps bytes past it after a failed sync.
 *  - j->segs[i].end == j->segs[i + 1].first; the last one's end is
 *    j->durable_next; j->next_seq - j->durable_next records are pending.
 *  - a torn tail can only be the last unsynced write, which is at most
 *    JOURNAL_MAX_PENDING bytes: a cut longer than that is ERR_CORRUPT.
 *
 * See also: journal.h
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
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define JOURNAL_NAME_DIGITS 20
#define JOURNAL_NAME_LEN    (JOURNAL_NAME_DIGITS + 4) /* digits + ".seg" */
#define JOURNAL_READ_CHUNK  (256 * 1024)

struct journal_seg {
    uint64_t first; /* seq of its first record (its name) */
    uint64_t end;   /* seq after its last durable record */
};

struct journal {
    char *dir;
    int dirfd;
    int lockfd;
    int fd; /* the current (last) segment, O_RDWR */
    uint64_t segment_bytes;
    uint64_t size;            /* durable length of the current segment */
    uint64_t next_seq;        /* seq of the next append */
    uint64_t durable_next;    /* seq after the last durable record */
    struct journal_seg *segs; /* ordered by first */
    size_t nsegs;
    size_t asegs;
    struct buf pending; /* whole records appended since the sync */
    bool failed;        /* a failed sync could not be undone */
};

/* A positional reader over one segment with a window buffer. */
struct journal_reader {
    int fd;
    uint64_t fsize;
    uint8_t *buf;
    size_t cap;
    uint64_t boff;
    size_t blen;
};

/* --------------------------------------------------------------- crc */

uint32_t
journal_crc32c(uint32_t crc, const void *p, size_t len)
{
    return crc32c(crc, p, len);
}

/* ----------------------------------------------------------- helpers */

static void
put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void
put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static uint32_t
record_crc(uint64_t seq, const void *payload, size_t len)
{
    uint8_t sb[8];

    put_le64(sb, seq);
    if (len == 0)
        return crc32c(0, sb, 8);
    return crc32c(crc32c(0, sb, 8), payload, len);
}

static void
seg_name(char *out, size_t outlen, uint64_t first)
{
    snprintf(out, outlen, "%020" PRIu64 ".seg", first);
}

/* Parse "<20 digits>.seg"; returns false for any other name. */
static bool
seg_parse(const char *name, uint64_t *first)
{
    uint64_t v = 0;
    size_t i;

    if (strlen(name) != JOURNAL_NAME_LEN ||
        strcmp(name + JOURNAL_NAME_DIGITS, ".seg") != 0)
        return false;
    for (i = 0; i < JOURNAL_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *first = v;
    return true;
}

static int
seg_cmp(const void *a, const void *b)
{
    const struct journal_seg *x = a, *y = b;

    return (x->first > y->first) - (x->first < y->first);
}

static void
seg_push(struct journal *j, uint64_t first, uint64_t end)
{
    if (j->nsegs == j->asegs) {
        j->asegs = j->asegs ? j->asegs * 2 : 8;
        j->segs = xreallocarray(j->segs, j->asegs, sizeof(*j->segs));
    }
    j->segs[j->nsegs].first = first;
    j->segs[j->nsegs].end = end;
    j->nsegs++;
}

static int
dir_sync(struct journal *j)
{
    if (fsync(j->dirfd) == -1) {
        log_warn("%s: fsync '%s'", __func__, j->dir);
        return ERR_IO;
    }
    return 0;
}

/* ------------------------------------------------------------ reader */

static void
reader_init(struct journal_reader *r, int fd, uint64_t fsize)
{
    r->fd = fd;
    r->fsize = fsize;
    r->cap = JOURNAL_HEADER_BYTES + JOURNAL_MAX_PAYLOAD + JOURNAL_READ_CHUNK;
    r->buf = xmalloc(r->cap);
    r->boff = 0;
    r->blen = 0;
}

static void
reader_release(struct journal_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/*
 * Make bytes [off, off + n) available at `*p`. Returns 0, 1 when the
 * file ends before off + n, or ERR_IO.
 */
static int
reader_need(struct journal_reader *r, uint64_t off, size_t n, const uint8_t **p)
{
    uint64_t want;
    size_t got = 0;
    ssize_t k;

    if (off > r->fsize || n > r->fsize - off)
        return 1;
    if (off >= r->boff && off + n <= r->boff + r->blen) {
        *p = r->buf + (off - r->boff);
        return 0;
    }
    want = r->fsize - off;
    if (want > r->cap)
        want = r->cap;
    while (got < want) {
        k = pread(r->fd, r->buf + got, (size_t)want - got, (off_t)(off + got));
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1) {
            log_warn("%s: pread", __func__);
            return ERR_IO;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    r->boff = off;
    r->blen = got;
    if (got < n) {
        log_warnx("%s: segment shrank while reading", __func__);
        return ERR_IO;
    }
    *p = r->buf;
    return 0;
}

/* What one segment scan found. */
struct scan_result {
    uint64_t valid_len; /* bytes of whole, valid records */
    uint64_t end_seq;   /* seq after the last valid record */
    bool bad;           /* a bad or partial record follows valid_len */
    int cbrc;           /* nonzero: the callback stopped the scan */
};

/*
 * Validate the records of one segment of `fsize` bytes starting at seq
 * `first`, calling `cb` for those with seq >= `from` (when cb != NULL).
 * Returns 0 (see `res`) or ERR_IO.
 */
static int
seg_scan(int fd, uint64_t fsize, uint64_t first, uint64_t from,
    journal_replay_cb cb, void *arg, struct scan_result *res)
{
    struct journal_reader r;
    const uint8_t *p;
    uint64_t off = 0, seq = first, rseq;
    uint32_t len, crc;
    int rc = 0;

    memset(res, 0, sizeof(*res));
    reader_init(&r, fd, fsize);
    while (off < fsize) {
        rc = reader_need(&r, off, JOURNAL_HEADER_BYTES, &p);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            res->bad = true;
            break;
        }
        len = get_le32(p);
        crc = get_le32(p + 4);
        rseq = get_le64(p + 8);
        if (len > JOURNAL_MAX_PAYLOAD || rseq != seq) {
            res->bad = true;
            break;
        }
        rc = reader_need(&r, off, JOURNAL_HEADER_BYTES + (size_t)len, &p);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            res->bad = true;
            break;
        }
        if (record_crc(seq, p + JOURNAL_HEADER_BYTES, len) != crc) {
            res->bad = true;
            break;
        }
        if (cb != NULL && seq >= from) {
            res->cbrc = cb(arg, seq, p + JOURNAL_HEADER_BYTES, len);
            if (res->cbrc != 0)
                break;
        }
        off += JOURNAL_HEADER_BYTES + (uint64_t)len;
        seq++;
    }
    rc = 0;
    res->valid_len = off;
    res->end_seq = seq;
out:
    reader_release(&r);
    return rc;
}

/* ------------------------------------------------------------- open */

static int
seg_create(struct journal *j, uint64_t first, int *fdout)
{
    char name[JOURNAL_NAME_LEN + 1];
    int fd;

    seg_name(name, sizeof(name), first);
    fd = openat(j->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        log_warn("%s: cannot create '%s/%s'", __func__, j->dir, name);
        return fileio_error(errno);
    }
    if (dir_sync(j) != 0) {
        close(fd);
        (void)unlinkat(j->dirfd, name, 0);
        return ERR_IO;
    }
    *fdout = fd;
    return 0;
}

/* List the segments of the directory into j->segs, sorted. */
static int
seg_list(struct journal *j)
{
    struct dirent *de;
    DIR *d;
    uint64_t first;
    int dfd;

    dfd = dup(j->dirfd);
    if (dfd == -1) {
        log_warn("%s: dup", __func__);
        return ERR_IO;
    }
    d = fdopendir(dfd);
    if (d == NULL) {
        log_warn("%s: cannot list '%s'", __func__, j->dir);
        close(dfd);
        return ERR_IO;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (seg_parse(de->d_name, &first)) {
            seg_push(j, first, first);
            continue;
        }
        if (strlen(de->d_name) > 4 &&
            strcmp(de->d_name + strlen(de->d_name) - 4, ".seg") == 0) {
            log_warnx("%s: unexpected segment name in '%s'", __func__, j->dir);
            closedir(d);
            return ERR_CORRUPT;
        }
    }
    closedir(d);
    if (j->nsegs > 1)
        qsort(j->segs, j->nsegs, sizeof(*j->segs), seg_cmp);
    return 0;
}

/* Validate segment i; the last one may be cut back. */
static int
seg_validate(struct journal *j, size_t i)
{
    char name[JOURNAL_NAME_LEN + 1];
    struct scan_result res;
    struct stat sb;
    bool last = (i + 1 == j->nsegs);
    uint64_t cut;
    int fd, rc;

    seg_name(name, sizeof(name), j->segs[i].first);
    if (j->segs[i].first == 0) {
        log_warnx("%s: segment '%s' starts at seq 0", __func__, name);
        return ERR_CORRUPT;
    }
    if (i > 0 && j->segs[i - 1].end != j->segs[i].first) {
        log_warnx("%s: seq gap before '%s/%s' (expected %" PRIu64 ")", __func__,
            j->dir, name, j->segs[i - 1].end);
        return ERR_CORRUPT;
    }
    fd = openat(j->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd == -1) {
        log_warn("%s: cannot open '%s/%s'", __func__, j->dir, name);
        return ERR_IO;
    }
    if (fstat(fd, &sb) == -1) {
        log_warn("%s: fstat '%s/%s'", __func__, j->dir, name);
        rc = ERR_IO;
        goto fail;
    }
    rc = seg_scan(
        fd, (uint64_t)sb.st_size, j->segs[i].first, 0, NULL, NULL, &res);
    if (rc != 0)
        goto fail;
    j->segs[i].end = res.end_seq;
    if (res.bad && !last) {
        log_warnx("%s: bad record at offset %" PRIu64 " of '%s/%s' (not "
                  "the last segment)",
            __func__, res.valid_len, j->dir, name);
        rc = ERR_CORRUPT;
        goto fail;
    }
    if (res.bad) {
        cut = (uint64_t)sb.st_size - res.valid_len;
        if (cut > JOURNAL_MAX_PENDING) {
            log_warnx("%s: bad record at offset %" PRIu64 " of '%s/%s' "
                      "with %" PRIu64
                      " bytes after it: more than one write can "
                      "tear",
                __func__, res.valid_len, j->dir, name, cut);
            rc = ERR_CORRUPT;
            goto fail;
        }
        if (ftruncate(fd, (off_t)res.valid_len) == -1 || fsync(fd) == -1) {
            log_warn(
                "%s: cannot cut the tail of '%s/%s'", __func__, j->dir, name);
            rc = ERR_IO;
            goto fail;
        }
        log_warnx("journal: cut %" PRIu64 " bytes of torn or corrupt "
                  "tail from '%s/%s' at offset %" PRIu64
                  " (the journal now ends "
                  "before seq %" PRIu64 ")",
            cut, j->dir, name, res.valid_len, res.end_seq);
    }
    if (last) {
        j->fd = fd;
        j->size = res.valid_len;
        return 0;
    }
    close(fd);
    return 0;
fail:
    close(fd);
    return rc;
}

int
journal_open(const char *dir, uint64_t segment_bytes, struct journal **out)
{
    struct journal *j;
    size_t i;
    int rc;

    *out = NULL;
    if (dir[0] == '\0' || segment_bytes < JOURNAL_MIN_SEGMENT)
        return ERR_INVAL;
    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        log_warn("%s: cannot create '%s'", __func__, dir);
        return ERR_IO;
    }
    j = xcalloc(1, sizeof(*j));
    j->dir = xstrdup(dir);
    j->fd = -1;
    j->lockfd = -1;
    j->segment_bytes = segment_bytes;
    buf_init(&j->pending, JOURNAL_MAX_PENDING);
    j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd == -1) {
        log_warn("%s: cannot open '%s'", __func__, dir);
        rc = ERR_IO;
        goto fail;
    }
    j->lockfd = openat(j->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lockfd == -1) {
        log_warn("%s: cannot open '%s/LOCK'", __func__, dir);
        rc = ERR_IO;
        goto fail;
    }
    if (flock(j->lockfd, LOCK_EX | LOCK_NB) == -1) {
        if (errno == EWOULDBLOCK) {
            log_warnx(
                "%s: journal '%s' is in use by another process", __func__, dir);
            rc = ERR_AGAIN;
        } else {
            log_warn("%s: flock '%s/LOCK'", __func__, dir);
            rc = ERR_IO;
        }
        goto fail;
    }
    rc = seg_list(j);
    if (rc != 0)
        goto fail;
    for (i = 0; i < j->nsegs; i++) {
        rc = seg_validate(j, i);
        if (rc != 0)
            goto fail;
    }
    if (j->nsegs == 0) {
        rc = seg_create(j, 1, &j->fd);
        if (rc != 0)
            goto fail;
        seg_push(j, 1, 1);
        j->size = 0;
    }
    j->durable_next = j->segs[j->nsegs - 1].end;
    j->next_seq = j->durable_next;
    *out = j;
    return 0;
fail:
    journal_close(j);
    return rc;
}

void
journal_close(struct journal *j)
{
    if (j == NULL)
        return;
    if (j->fd != -1)
        close(j->fd);
    if (j->lockfd != -1)
        close(j->lockfd); /* drops the flock */
    if (j->dirfd != -1)
        close(j->dirfd);
    buf_release(&j->pending);
    free(j->segs);
    free(j->dir);
    free(j);
}

uint64_t
journal_next_seq(const struct journal *j)
{
    return j->next_seq;
}

uint64_t
journal_first_seq(const struct journal *j)
{
    if (j->nsegs == 0)
        return j->next_seq;
    return j->segs[0].first;
}

size_t
journal_pending_bytes(const struct journal *j)
{
    return j->pending.len;
}

/* ----------------------------------------------------------- append */

int
journal_append(
    struct journal *j, const void *payload, size_t len, uint64_t *seq_out)
{
    uint8_t hdr[JOURNAL_HEADER_BYTES];
    size_t before;
    int rc;

    if (j->failed)
        return ERR_IO;
    if (len > JOURNAL_MAX_PAYLOAD || (payload == NULL && len != 0))
        return ERR_TOOBIG;
    if (JOURNAL_HEADER_BYTES + len > JOURNAL_MAX_PENDING - j->pending.len)
        return ERR_TOOBIG;
    put_le32(hdr, (uint32_t)len);
    put_le32(hdr + 4, record_crc(j->next_seq, payload, len));
    put_le64(hdr + 8, j->next_seq);
    before = j->pending.len;
    rc = buf_append(&j->pending, hdr, sizeof(hdr));
    if (rc == 0 && len > 0)
        rc = buf_append(&j->pending, payload, len);
    if (rc != 0) {
        j->pending.len = before; /* drop the half record */
        return rc;
    }
    *seq_out = j->next_seq++;
    return 0;
}

/* Forget the pending records after a failed sync. */
static void
drop_pending(struct journal *j)
{
    buf_reset(&j->pending);
    j->next_seq = j->durable_next;
}

/* Start a new segment at durable_next. */
static int
roll(struct journal *j)
{
    int fd, rc;

    rc = seg_create(j, j->durable_next, &fd);
    if (rc != 0)
        return rc;
    close(j->fd);
    j->fd = fd;
    j->size = 0;
    seg_push(j, j->durable_next, j->durable_next);
    return 0;
}

int
journal_sync(struct journal *j)
{
    int rc, e;

    if (j->failed)
        return ERR_IO;
    if (j->pending.len == 0)
        return 0;
    if (j->size >= j->segment_bytes) {
        rc = roll(j);
        if (rc != 0) {
            drop_pending(j);
            return rc;
        }
    }
    rc = fileio_pwrite_all(j->fd, j->pending.data, j->pending.len, j->size);
    if (rc != 0) {
        log_warn("%s: write to '%s' failed", __func__, j->dir);
        goto undo;
    }
    if (fdatasync(j->fd) == -1) {
        e = errno;
        log_warnx(
            "%s: fdatasync of '%s' failed: %s", __func__, j->dir, strerror(e));
        /*
         * After a failed fdatasync the kernel may have dropped the dirty
         * pages: do not trust this descriptor's view again.
         */
        rc = fileio_error(e);
        j->failed = true;
        goto undo;
    }
    j->size += j->pending.len;
    j->durable_next = j->next_seq;
    j->segs[j->nsegs - 1].end = j->next_seq;
    buf_reset(&j->pending);
    return 0;
undo:
    drop_pending(j);
    if (ftruncate(j->fd, (off_t)j->size) == -1) {
        log_warn("%s: cannot truncate '%s' back to %" PRIu64
                 " bytes; journal failed",
            __func__, j->dir, j->size);
        j->failed = true;
        return rc;
    }
    /* Best effort: a torn tail left by a crash now is caught at open. */
    (void)fdatasync(j->fd);
    return rc;
}

/* ----------------------------------------------------------- replay */

int
journal_replay(
    struct journal *j, uint64_t from_seq, journal_replay_cb cb, void *arg)
{
    char name[JOURNAL_NAME_LEN + 1];
    struct scan_result res;
    struct stat sb;
    uint64_t fsize;
    size_t i;
    bool last;
    int fd, rc;

    if (j->failed || j->nsegs == 0)
        return ERR_IO;
    if (from_seq == 0)
        from_seq = 1;
    if (from_seq < j->segs[0].first) {
        log_warnx("%s: records %" PRIu64 "..%" PRIu64 " are missing from "
                  "'%s'",
            __func__, from_seq, j->segs[0].first - 1, j->dir);
        return ERR_CORRUPT;
    }
    for (i = 0; i < j->nsegs; i++) {
        if (j->segs[i].end <= from_seq)
            continue;
        last = (i + 1 == j->nsegs);
        seg_name(name, sizeof(name), j->segs[i].first);
        if (last) {
            fd = j->fd;
            fsize = j->size;
        } else {
            fd = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC);
            if (fd == -1) {
                log_warn("%s: cannot open '%s/%s'", __func__, j->dir, name);
                return ERR_IO;
            }
            if (fstat(fd, &sb) == -1) {
                log_warn("%s: fstat '%s/%s'", __func__, j->dir, name);
                close(fd);
                return ERR_IO;
            }
            fsize = (uint64_t)sb.st_size;
        }
        rc = seg_scan(fd, fsize, j->segs[i].first, from_seq, cb, arg, &res);
        if (!last)
            close(fd);
        if (rc != 0)
            return rc;
        if (res.cbrc != 0)
            return res.cbrc;
        if (res.bad || res.end_seq != j->segs[i].end) {
            log_warnx("%s: '%s/%s' changed since it was opened (bad record "
                      "at offset %" PRIu64 ")",
                __func__, j->dir, name, res.valid_len);
            return ERR_CORRUPT;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- release */

int
journal_release_upto(struct journal *j, uint64_t seq)
{
    char name[JOURNAL_NAME_LEN + 1];
    size_t n = 0;
    int rc = 0;

    /* Oldest first, never the last (current) segment. */
    while (n + 1 < j->nsegs && j->segs[n].end <= seq + 1) {
        seg_name(name, sizeof(name), j->segs[n].first);
        if (unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT) {
            log_warn("%s: cannot remove '%s/%s'", __func__, j->dir, name);
            rc = ERR_IO;
            break;
        }
        n++;
    }
    if (n == 0)
        return rc;
    memmove(j->segs, j->segs + n, (j->nsegs - n) * sizeof(*j->segs));
    j->nsegs -= n;
    if (dir_sync(j) != 0)
        rc = ERR_IO;
    return rc;
}

int
journal_skip_to(struct journal *j, uint64_t next_seq)
{
    char name[JOURNAL_NAME_LEN + 1];
    size_t i;
    int fd, rc;

    if (j->failed)
        return ERR_IO;
    if (j->pending.len != 0)
        return ERR_INVAL;
    if (next_seq <= j->next_seq)
        return 0;
    /*
     * Every durable record is below next_seq, hence covered by the
     * store: remove them all first (a crash then leaves an empty
     * journal, and the caller skips again), then start at next_seq, so
     * no gap ever appears between segments.
     */
    close(j->fd);
    j->fd = -1;
    for (i = 0; i < j->nsegs; i++) {
        seg_name(name, sizeof(name), j->segs[i].first);
        if (unlinkat(j->dirfd, name, 0) == -1 && errno != ENOENT) {
            log_warn("%s: cannot remove '%s/%s'", __func__, j->dir, name);
            j->failed = true;
            return ERR_IO;
        }
    }
    j->nsegs = 0;
    rc = dir_sync(j);
    if (rc == 0)
        rc = seg_create(j, next_seq, &fd);
    if (rc != 0) {
        j->failed = true;
        return rc;
    }
    j->fd = fd;
    j->size = 0;
    seg_push(j, next_seq, next_seq);
    j->durable_next = next_seq;
    j->next_seq = next_seq;
    return 0;
}
