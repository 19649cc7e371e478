/*
 * journal.c - the scorer's write-ahead log (see journal.h for the format)
 *
 * The record format (len, crc, seq, payload) and its checks live here;
 * the segment files under it (names, LOCK, the pending buffer written
 * with one pwrite() and one fdatasync(), rolling, torn-tail cuts) are
 * common/segfile.c's. Opening validates every record of every segment
 * and cuts a torn tail of the last one. Runs in the scorer's main
 * thread; one sync per group of events (about 0.2 ms), so throughput
 * comes from grouping.
 *
 * Invariants:
 *  - segment i holds seqs segs[i] .. segs[i + 1] - 1; the last one ends
 *    before j->durable_next; j->next_seq - j->durable_next records are
 *    pending in the segfile.
 *  - a torn tail can only be the last unsynced write, which is at most
 *    JOURNAL_MAX_PENDING bytes: a cut longer than that is ERR_CORRUPT.
 *
 * See also: journal.h, segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/journal.h"
#include "common/log.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

#define JOURNAL_READ_WINDOW                                                    \
    (JOURNAL_HEADER_BYTES + JOURNAL_MAX_PAYLOAD + 256 * 1024)

struct journal {
    char *dir;             /* for log lines */
    struct segfile *sf;    /* the segments; the last one is appended to */
    uint64_t next_seq;     /* seq of the next append */
    uint64_t durable_next; /* seq after the last durable record */
};

/* --------------------------------------------------------------- crc */

uint32_t
journal_crc32c(uint32_t crc, const void *p, size_t len)
{
    return crc32c(crc, p, len);
}

/* ----------------------------------------------------------- helpers */

static uint32_t
record_crc(uint64_t seq, const void *payload, size_t len)
{
    uint8_t sb[8];

    bytes_put_le64(sb, seq);
    if (len == 0)
        return crc32c(0, sb, 8);
    return crc32c(crc32c(0, sb, 8), payload, len);
}

/* The whole length of the record whose header is at `hdr`, or 0. */
static size_t
frame_len(const uint8_t *hdr)
{
    uint32_t len = bytes_get_le32(hdr);

    return len > JOURNAL_MAX_PAYLOAD ? 0 : JOURNAL_HEADER_BYTES + (size_t)len;
}

static const struct segfile_format journal_format = {
    .prefix = "",
    .suffix = ".seg",
    .mode = 0600,
    .header_bytes = JOURNAL_HEADER_BYTES,
    .max_frame = JOURNAL_HEADER_BYTES + JOURNAL_MAX_PAYLOAD,
    .frame_len = frame_len,
    .max_pending = JOURNAL_MAX_PENDING,
    .reject_unknown = true,
    /*
     * After a failed fdatasync the kernel may have dropped the dirty
     * pages: do not trust the descriptor's view again.
     */
    .sync_error_sticks = true,
};

/* The seq after the last durable record of segment i. */
static uint64_t
seg_end(const struct journal *j, size_t i)
{
    size_t n;
    const uint64_t *segs = segfile_segments(j->sf, &n);

    return i + 1 < n ? segs[i + 1] : j->durable_next;
}

/* ------------------------------------------------------------- scan */

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
    struct segfile_reader r;
    struct segfile_frame f;
    uint64_t seq = first;
    uint32_t len;
    int rc;

    memset(res, 0, sizeof(*res));
    segfile_reader_init(&r, &journal_format, JOURNAL_READ_WINDOW);
    segfile_reader_start(&r, fd, fsize);
    for (;;) {
        rc = segfile_reader_next(&r, true, &f);
        if (rc != 0) {
            log_warn("%s: read", __func__);
            goto out;
        }
        if (f.kind != SEGFILE_FRAME_WHOLE) {
            res->bad = f.kind != SEGFILE_FRAME_END;
            break;
        }
        len = bytes_get_le32(f.p);
        if (bytes_get_le64(f.p + 8) != seq ||
            record_crc(seq, f.p + JOURNAL_HEADER_BYTES, len) !=
                bytes_get_le32(f.p + 4)) {
            res->bad = true;
            break;
        }
        if (cb != NULL && seq >= from) {
            res->cbrc = cb(arg, seq, f.p + JOURNAL_HEADER_BYTES, len);
            if (res->cbrc != 0)
                break;
        }
        seq++;
    }
    res->valid_len = f.off;
    res->end_seq = seq;
out:
    segfile_reader_release(&r);
    return rc;
}

/* ------------------------------------------------------------- open */

/*
 * Validate segment i, which must start at `*end` (the end of segment
 * i - 1; ignored for i 0). Sets `*end` to the seq after its last valid
 * record and `*valid_len` to their bytes; only the last segment may be
 * followed by a bad record (the caller cuts it).
 */
static int
seg_validate(struct journal *j, size_t i, uint64_t *end, uint64_t *valid_len)
{
    char name[SEGFILE_NAME_MAX];
    struct scan_result res;
    const uint64_t *segs;
    uint64_t fsize;
    size_t n;
    bool last;
    int fd, rc;

    segs = segfile_segments(j->sf, &n);
    last = i + 1 == n;
    segfile_name(&journal_format, segs[i], name);
    if (segs[i] == 0) {
        log_warnx("%s: segment '%s' starts at seq 0", __func__, name);
        return ERR_CORRUPT;
    }
    if (i > 0 && *end != segs[i]) {
        log_warnx("%s: seq gap before '%s/%s' (expected %" PRIu64 ")", __func__,
            j->dir, name, *end);
        return ERR_CORRUPT;
    }
    rc = segfile_open_segment(
        segfile_dirfd(j->sf), &journal_format, segs[i], &fd, &fsize);
    if (rc != 0) {
        log_warn("%s: cannot open '%s/%s'", __func__, j->dir, name);
        return ERR_IO;
    }
    rc = seg_scan(fd, fsize, segs[i], 0, NULL, NULL, &res);
    close(fd);
    if (rc != 0)
        return rc;
    if (res.bad && !last) {
        log_warnx("%s: bad record at offset %" PRIu64 " of '%s/%s' (not "
                  "the last segment)",
            __func__, res.valid_len, j->dir, name);
        return ERR_CORRUPT;
    }
    *end = res.end_seq;
    *valid_len = res.valid_len;
    return 0;
}

int
journal_open(const char *dir, uint64_t segment_bytes, struct journal **out)
{
    char name[SEGFILE_NAME_MAX];
    const uint64_t *segs;
    struct journal *j;
    uint64_t end = 0, valid_len = 0, cut;
    size_t i, n;
    int rc;

    *out = NULL;
    if (dir[0] == '\0' || segment_bytes < JOURNAL_MIN_SEGMENT)
        return ERR_INVAL;
    j = xcalloc(1, sizeof(*j));
    j->dir = xstrdup(dir);
    rc = segfile_open(dir, &journal_format, segment_bytes, &j->sf);
    if (rc != 0)
        goto fail;
    segs = segfile_segments(j->sf, &n);
    for (i = 0; i < n; i++) {
        rc = seg_validate(j, i, &end, &valid_len);
        if (rc != 0)
            goto fail;
    }
    if (n == 0) {
        rc = segfile_start(j->sf, 1);
        end = 1;
    } else {
        rc = segfile_resume(j->sf, valid_len, &cut);
        if (rc == 0 && cut > 0) {
            segfile_name(&journal_format, segs[n - 1], name);
            log_warnx("journal: cut %" PRIu64 " bytes of torn or corrupt "
                      "tail from '%s/%s' at offset %" PRIu64
                      " (the journal now ends before seq %" PRIu64 ")",
                cut, dir, name, valid_len, end);
        }
    }
    if (rc != 0)
        goto fail;
    j->durable_next = end;
    j->next_seq = end;
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
    segfile_close(j->sf); /* drops the lock */
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
    size_t n;
    const uint64_t *segs = segfile_segments(j->sf, &n);

    return n == 0 ? j->next_seq : segs[0];
}

size_t
journal_pending_bytes(const struct journal *j)
{
    return segfile_pending_bytes(j->sf);
}

/* ----------------------------------------------------------- append */

int
journal_append(
    struct journal *j, const void *payload, size_t len, uint64_t *seq_out)
{
    uint8_t hdr[JOURNAL_HEADER_BYTES];
    int rc;

    if (segfile_is_failed(j->sf))
        return ERR_IO;
    if (len > JOURNAL_MAX_PAYLOAD || (payload == NULL && len != 0))
        return ERR_TOOBIG;
    bytes_put_le32(hdr, (uint32_t)len);
    bytes_put_le32(hdr + 4, record_crc(j->next_seq, payload, len));
    bytes_put_le64(hdr + 8, j->next_seq);
    rc = segfile_append(j->sf, hdr, sizeof(hdr), payload, len);
    if (rc != 0)
        return rc;
    *seq_out = j->next_seq++;
    return 0;
}

int
journal_sync(struct journal *j)
{
    int rc;

    /* A new segment is named after the first pending record. */
    rc = segfile_sync(j->sf, j->durable_next);
    if (rc != 0) {
        /* The segfile dropped the pending records: hand out their seqs
         * again. */
        j->next_seq = j->durable_next;
        return rc;
    }
    j->durable_next = j->next_seq;
    return 0;
}

void
journal_discard(struct journal *j)
{
    segfile_discard(j->sf);
    j->next_seq = j->durable_next;
}

/* ----------------------------------------------------------- replay */

int
journal_replay(
    struct journal *j, uint64_t from_seq, journal_replay_cb cb, void *arg)
{
    char name[SEGFILE_NAME_MAX];
    struct scan_result res;
    const uint64_t *segs;
    uint64_t fsize;
    size_t i, n;
    int fd, rc;

    segs = segfile_segments(j->sf, &n);
    if (segfile_is_failed(j->sf) || n == 0)
        return ERR_IO;
    if (from_seq == 0)
        from_seq = 1;
    if (from_seq < segs[0]) {
        log_warnx("%s: records %" PRIu64 "..%" PRIu64 " are missing from "
                  "'%s'",
            __func__, from_seq, segs[0] - 1, j->dir);
        return ERR_CORRUPT;
    }
    for (i = 0; i < n; i++) {
        if (seg_end(j, i) <= from_seq)
            continue;
        segfile_name(&journal_format, segs[i], name);
        rc = segfile_open_segment(
            segfile_dirfd(j->sf), &journal_format, segs[i], &fd, &fsize);
        if (rc != 0) {
            log_warn("%s: cannot open '%s/%s'", __func__, j->dir, name);
            return ERR_IO;
        }
        /* The current segment: only its durable records. */
        if (i + 1 == n)
            fsize = segfile_durable_len(j->sf);
        rc = seg_scan(fd, fsize, segs[i], from_seq, cb, arg, &res);
        close(fd);
        if (rc != 0)
            return rc;
        if (res.cbrc != 0)
            return res.cbrc;
        if (res.bad || res.end_seq != seg_end(j, i)) {
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
    const uint64_t *segs;
    size_t k = 0, n;

    /* Oldest first, never the last (current) segment: segment k ends
     * before segs[k + 1]. */
    segs = segfile_segments(j->sf, &n);
    while (k + 1 < n && segs[k + 1] <= seq + 1)
        k++;
    return segfile_remove_oldest(j->sf, k);
}

int
journal_shred_upto(struct journal *j, uint64_t seq, size_t *removed)
{
    const uint64_t *segs;
    size_t k = 0, n;
    int rc;

    *removed = 0;
    if (segfile_is_failed(j->sf))
        return ERR_IO;
    if (segfile_pending_bytes(j->sf) != 0 || seq >= j->next_seq)
        return ERR_INVAL;
    /* Every durable record is at or below seq: a new segment starting at
     * next_seq leaves all of them in older segments. */
    if (seq + 1 == j->next_seq) {
        rc = segfile_roll(j->sf, j->next_seq);
        if (rc != 0)
            return rc;
    }
    segs = segfile_segments(j->sf, &n);
    while (k + 1 < n && segs[k + 1] <= seq + 1)
        k++;
    rc = segfile_shred_oldest(j->sf, k);
    if (rc == 0)
        *removed = k;
    return rc;
}

int
journal_skip_to(struct journal *j, uint64_t next_seq)
{
    int rc;

    if (segfile_is_failed(j->sf))
        return ERR_IO;
    if (segfile_pending_bytes(j->sf) != 0)
        return ERR_INVAL;
    if (next_seq <= j->next_seq)
        return 0;
    /*
     * Every durable record is below next_seq, hence covered by the
     * store: remove them all first (a crash then leaves an empty
     * journal, and the caller skips again), then start at next_seq, so
     * no gap ever appears between segments. On failure the segfile is
     * failed.
     */
    rc = segfile_start(j->sf, next_seq);
    if (rc != 0)
        return rc;
    j->durable_next = next_seq;
    j->next_seq = next_seq;
    return 0;
}
