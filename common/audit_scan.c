/*
 * audit_scan.c - the one linear scan of an audit directory, shared by the
 *                writer's open and the verifier
 *
 * checkpoints.log is read whole first (it is small: one note per
 * checkpoint). Then every segment, through a segfile reader with a 4 MiB
 * window, frame by frame, in batches of SCAN_BATCH: the frames are found
 * in order, then CRC, strict decode, leaf hash and the hashes of the
 * batch's aligned perfect subtrees run on two threads (the hashing
 * dominates), then the records are applied in order (index check,
 * Merkle frontier, checkpoint roots, the replay callback), so the first
 * failure reported is always the first in the log. The frontier takes
 * each subtree whole (a few node hashes) when the whole batch is good,
 * else leaf by leaf. Runs in the
 * scorer's main thread at open, and in vigilctl; about 500,000 records/s.
 *
 * Invariants:
 *  - in writer mode the scan forgives only a torn tail: an incomplete
 *    or bad frame (length, CRC) in the last segment with at most
 *    AUDIT_MAX_PENDING bytes from it to the end, never below the latest
 *    checkpoint; a record whose CRC holds but whose content is wrong is
 *    always ERR_CORRUPT.
 *  - s->fr is the frontier of exactly s->count records.
 *
 * See also: audit_scan.h, audit.h (format section 4), segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/audit_scan.h"
#include "common/audit_tiles.h"
#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

#define READ_WINDOW       (4u * 1024 * 1024) /* bytes read at a time */
#define MAX_CKPT_FILE     (256u * 1024 * 1024)
#define SCAN_BATCH        4096 /* frames checked together */
#define SCAN_PARALLEL_MIN 256  /* frames worth a second thread */
#define SCAN_BLOCK_LEVEL                                                       \
    9 /* subtrees of at most 512 leaves: a batch                               \
         has several, split between the threads */

/* ------------------------------------------------------------ frames */

/* The whole length of the frame whose header is at `hdr`, or 0. */
static size_t
frame_len(const uint8_t *hdr)
{
    uint32_t len = bytes_get_le32(hdr);

    if (len == 0 || len > AUDIT_MAX_RECORD_BYTES)
        return 0;
    return AUDIT_FRAME_BYTES + (size_t)len;
}

/* records-<N>.log (format section 2). */
const struct segfile_format audit_scan_segments = {
    .prefix = "records-",
    .suffix = ".log",
    .mode = 0600,
    .header_bytes = AUDIT_FRAME_BYTES,
    .max_frame = AUDIT_FRAME_BYTES + AUDIT_MAX_RECORD_BYTES,
    .frame_len = frame_len,
    .max_pending = AUDIT_MAX_PENDING,
    /* The verifier reads what it can name and ignores other files. */
    .reject_unknown = false,
    /* A failed sync may succeed later (disk space returns). */
    .sync_error_sticks = false,
};

/* ------------------------------------------------------- checkpoints */

/* Open a checkpoint note with the parsed verifier `v`. */
int
audit_scan_ckpt_open(const struct note_verifier *v, const uint8_t *note,
    size_t note_len, char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why)
{
    size_t text_len;
    int rc;

    rc = note_open((const char *)note, note_len, v, 1, &text_len, NULL);
    if (rc == ERR_NOTFOUND) {
        *why = "not signed by the verifier key (another key, or no "
               "signature)";
        return ERR_CORRUPT;
    }
    if (rc != 0) {
        *why = "signature does not verify with the verifier key, or the "
               "note is malformed";
        return ERR_CORRUPT;
    }
    rc = note_checkpoint_parse(
        (const char *)note, text_len, origin, AUDIT_MAX_ORIGIN + 1, size, root);
    if (rc != 0) {
        *why = "the signed text is not a well-formed checkpoint";
        return ERR_CORRUPT;
    }
    if (strcmp(origin, v->name) != 0) {
        *why = "the checkpoint's origin differs from the key name";
        return ERR_CORRUPT;
    }
    return 0;
}

/* ------------------------------------------------------------- scan */

static int scan_fail(struct audit_scan *s, uint64_t record, uint64_t ckpt,
    const char *file, uint64_t off, const char *fmt, ...) PRINTF_LIKE(6, 7);

static int
scan_fail(struct audit_scan *s, uint64_t record, uint64_t ckpt,
    const char *file, uint64_t off, const char *fmt, ...)
{
    struct audit_verify_result *res = s->res;
    va_list ap;

    res->ok = false;
    res->records = s->count;
    res->bad_record = record;
    res->bad_record_end = record == UINT64_MAX ? UINT64_MAX : record + 1;
    res->bad_checkpoint = ckpt;
    snprintf(res->file, sizeof(res->file), "%s", file);
    res->offset = off;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    return ERR_CORRUPT;
}

int
audit_scan_env_fail(struct audit_scan *s, int rc, const char *fmt, ...)
{
    va_list ap;

    s->res->ok = false;
    s->res->records = s->count;
    va_start(ap, fmt);
    vsnprintf(s->res->reason, sizeof(s->res->reason), fmt, ap);
    va_end(ap);
    return rc;
}

bool
audit_scan_ckpt_size_peek(const uint8_t *note, size_t len, uint64_t *size)
{
    const uint8_t *nl = memchr(note, '\n', len), *p;
    uint64_t v = 0;

    if (nl == NULL)
        return false;
    p = nl + 1;
    if (p >= note + len || *p < '0' || *p > '9')
        return false;
    for (; p < note + len && *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (p >= note + len || *p != '\n')
        return false;
    *size = v;
    return true;
}

/* Read checkpoints.log: framing, signatures, origin, increasing sizes. */
static int
scan_checkpoints(struct audit_scan *s)
{
    size_t off = 0, cap = 0;
    char *p = NULL;
    int rc;

    rc = fileio_read_small(
        s->dirfd, AUDIT_CKPT_FILE, MAX_CKPT_FILE, &p, &s->cklen);
    if (rc == ERR_NOTFOUND) {
        s->cklen = 0;
        return 0;
    }
    if (rc != 0)
        return audit_scan_env_fail(s, rc == ERR_TOOBIG ? ERR_CORRUPT : rc,
            "cannot read '%s': %s", AUDIT_CKPT_FILE, err_str(rc));
    s->ckbuf = (uint8_t *)p;
    if (s->ck_limited && s->cklen > s->ck_limit)
        s->cklen = (size_t)s->ck_limit; /* what the writer had then */
    while (off < s->cklen) {
        uint64_t n = s->nck;
        char origin[AUDIT_MAX_ORIGIN + 1];
        struct audit_scan_ckpt c;
        const char *why;
        uint32_t len;

        if (s->cklen - off < 4 || (len = bytes_get_le32(s->ckbuf + off)) == 0 ||
            len > AUDIT_MAX_NOTE_BYTES || s->cklen - off - 4 < len) {
            if (s->writer && s->cklen - off <= 4 + AUDIT_MAX_NOTE_BYTES) {
                s->ck_keep = off; /* torn last frame: cut it */
                return 0;
            }
            if (s->cklen - off < 4)
                return scan_fail(s, UINT64_MAX, n, AUDIT_CKPT_FILE, off,
                    "checkpoint %" PRIu64 ": truncated frame header "
                    "(%zu bytes left)",
                    n, s->cklen - off);
            len = bytes_get_le32(s->ckbuf + off);
            if (len == 0 || len > AUDIT_MAX_NOTE_BYTES)
                return scan_fail(s, UINT64_MAX, n, AUDIT_CKPT_FILE, off,
                    "checkpoint %" PRIu64 ": bad frame length %" PRIu32, n,
                    len);
            return scan_fail(s, UINT64_MAX, n, AUDIT_CKPT_FILE, off,
                "checkpoint %" PRIu64 ": truncated note (%zu of %" PRIu32
                " bytes)",
                n, s->cklen - off - 4, len);
        }
        c.off = off;
        c.note_off = off + 4;
        c.note_len = len;
        /* Inside the trusted prefix: not verified, never matched (a
         * note without a size line is verified in full). */
        if (s->trusted > 0 &&
            audit_scan_ckpt_size_peek(s->ckbuf + c.note_off, len, &c.size) &&
            c.size <= s->trusted) {
            memset(c.root, 0, sizeof(c.root));
            rc = 0;
        } else {
            rc = audit_scan_ckpt_open(&s->v, s->ckbuf + c.note_off, len, origin,
                &c.size, c.root, &why);
        }
        if (rc != 0)
            return scan_fail(s, UINT64_MAX, n, AUDIT_CKPT_FILE, off,
                "checkpoint %" PRIu64 ": %s", n, why);
        if (n > 0 && c.size <= s->ck[n - 1].size)
            return scan_fail(s, UINT64_MAX, n, AUDIT_CKPT_FILE, off,
                "checkpoint %" PRIu64 ": size %" PRIu64 " does not "
                "increase (previous %" PRIu64 ")",
                n, c.size, s->ck[n - 1].size);
        if (s->nck == cap) {
            cap = cap ? 2 * cap : 16;
            s->ck = xreallocarray(s->ck, cap, sizeof(*s->ck));
        }
        s->ck[s->nck++] = c;
        off += 4 + (size_t)len;
        s->ck_keep = off;
    }
    return 0;
}

static int
expect_cmp(const void *a, const void *b)
{
    const struct audit_scan_expect *x = a, *y = b;

    return x->size < y->size ? -1 : x->size > y->size;
}

/*
 * Read DIR/checkpoint, the latest signed head. The writer rewrites it in
 * place after every commit without syncing it (its durable copy is the
 * scorer's), so after a power cut the writer may find it torn: it is
 * then ignored. To a verifier it is a signed checkpoint like any other.
 */
static int
scan_head(struct audit_scan *s)
{
    char origin[AUDIT_MAX_ORIGIN + 1], *p = NULL;
    struct audit_scan_expect *x;
    const char *why;
    size_t len;
    int rc;

    if (s->no_head)
        return 0;
    rc = fileio_read_small(
        s->dirfd, AUDIT_HEAD_FILE, AUDIT_MAX_NOTE_BYTES, &p, &len);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc == 0) {
        x = &s->ex[s->nex];
        rc = audit_scan_ckpt_open(
            &s->v, (uint8_t *)p, len, origin, &x->size, x->root, &why);
    } else {
        why = err_str(rc);
        rc = rc == ERR_TOOBIG ? ERR_CORRUPT : rc;
    }
    if (rc != 0) {
        free(p);
        if (s->writer) {
            s->head_bad = true;
            return 0;
        }
        if (rc != ERR_CORRUPT)
            return audit_scan_env_fail(
                s, rc, "cannot read '%s': %s", AUDIT_HEAD_FILE, why);
        return scan_fail(s, UINT64_MAX, UINT64_MAX, AUDIT_HEAD_FILE, 0,
            "the latest checkpoint ('%s'): %s", AUDIT_HEAD_FILE, why);
    }
    snprintf(x->what, sizeof(x->what), "the latest checkpoint ('%s')",
        AUDIT_HEAD_FILE);
    x->signed_note = true;
    x->head = true;
    s->nex++;
    memcpy(s->head, p, len);
    s->head[len] = '\0';
    s->head_len = len;
    s->head_size = x->size;
    free(p);
    return 0;
}

/* List the segment files, sorted by first index. */
static int
scan_list(struct audit_scan *s)
{
    if (segfile_list(s->dirfd, &audit_scan_segments, &s->segs, &s->nsegs) != 0)
        return audit_scan_env_fail(
            s, ERR_IO, "cannot list the directory: %s", strerror(errno));
    return 0;
}

/* Compare the running root with every checkpoint of size s->count. */
static int
scan_match(struct audit_scan *s)
{
    while (s->ck_next < s->nck && s->ck[s->ck_next].size == s->count) {
        const struct audit_scan_ckpt *c = &s->ck[s->ck_next];
        uint64_t prev = s->ck_next > 0 ? s->ck[s->ck_next - 1].size : 0;
        uint8_t root[MERKLE_HASH_BYTES];

        merkle_frontier_root(&s->fr, root);
        if (sodium_memcmp(root, c->root, sizeof(root)) != 0) {
            int rc = scan_fail(s, prev, s->ck_next, AUDIT_CKPT_FILE, c->off,
                "checkpoint %zu (size %" PRIu64 "): the root of records "
                "0..%" PRIu64 " differs from the signed root: a record in "
                "%" PRIu64 "..%" PRIu64 " was altered (with a matching "
                "CRC), inserted or removed",
                s->ck_next, c->size, c->size - 1, prev, c->size - 1);

            s->res->bad_record_end = c->size;
            return rc;
        }
        s->res->checkpoints++;
        s->res->checkpoint_size = c->size;
        s->ck_next++;
    }
    while (s->ex_next < s->nex && s->ex[s->ex_next].size == s->count) {
        const struct audit_scan_expect *x = &s->ex[s->ex_next];
        uint8_t root[MERKLE_HASH_BYTES];

        merkle_frontier_root(&s->fr, root);
        if (sodium_memcmp(root, x->root, sizeof(root)) != 0) {
            int rc = scan_fail(s, 0, UINT64_MAX, "", 0,
                "%s (size %" PRIu64 ") disagrees with the log: the root "
                "of records 0..%" PRIu64 " differs from its root (a record "
                "was altered, inserted or removed, or the log was rebuilt)",
                x->what, x->size, x->size - 1);

            s->res->bad_record_end = x->size;
            return rc;
        }
        if (x->signed_note && x->size > s->res->checkpoint_size)
            s->res->checkpoint_size = x->size;
        s->ex_next++;
    }
    return 0;
}

/* The next size at which scan_match() has work, or UINT64_MAX. */
static uint64_t
scan_next_match(const struct audit_scan *s)
{
    uint64_t a = s->ck_next < s->nck ? s->ck[s->ck_next].size : UINT64_MAX;
    uint64_t b = s->ex_next < s->nex ? s->ex[s->ex_next].size : UINT64_MAX;

    return a < b ? a : b;
}

/* A frame that a torn write could have left; forgiven in writer mode at
 * the end of the last segment. */
static int scan_torn(struct audit_scan *s, bool last, uint64_t fsize,
    const char *file, uint64_t off, const char *fmt, ...) PRINTF_LIKE(6, 7);

static int
scan_torn(struct audit_scan *s, bool last, uint64_t fsize, const char *file,
    uint64_t off, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (s->writer && last && fsize - off <= AUDIT_MAX_PENDING &&
        s->count >= s->signed_floor) {
        s->torn = true;
        s->torn_off = off;
        snprintf(s->res->reason, sizeof(s->res->reason), "%s", reason);
        return 0;
    }
    if (s->writer && last && s->count < s->signed_floor)
        return scan_fail(s, s->count, UINT64_MAX, file, off,
            "record %" PRIu64 ": %s; not a torn write: records up to %" PRIu64
            " were signed (made durable) before",
            s->count, reason, s->signed_floor);
    return scan_fail(s, s->count, UINT64_MAX, file, off,
        "record %" PRIu64 ": %s", s->count, reason);
}

static bool
filter_match(const struct audit_filter *f, const struct audit_record *r)
{
    if (f == NULL)
        return true;
    if (r->ts_ms < f->from_ms || (f->to_ms != 0 && r->ts_ms >= f->to_ms))
        return false;
    if (f->actor != NULL && strcmp(f->actor, r->actor) != 0)
        return false;
    if (f->purpose != NULL && strcmp(f->purpose, r->purpose) != 0)
        return false;
    if (f->has_subject) {
        for (unsigned i = 0; i < r->nsubj; i++) {
            if (memcmp(r->subj[i], f->subject, AUDIT_SUBJECT_BYTES) == 0)
                return true;
        }
        return false;
    }
    return true;
}

/* One frame of a batch: found sequentially, checked in parallel. */
struct audit_scan_item {
    uint64_t off;           /* frame offset in the segment */
    const uint8_t *payload; /* into scan.buf */
    uint32_t len;
    uint32_t crc;     /* stored */
    uint32_t crc_got; /* computed */
    const char *why;  /* decode failure, or NULL */
    uint8_t leaf[MERKLE_HASH_BYTES];
};

/*
 * A perfect subtree of a batch: items [from, from + 2^level), starting
 * at a record index that is a multiple of 2^level. The workers hash it
 * (most of the tree's node hashes), the serial pass appends it whole to
 * the frontier (merkle_frontier_append_subtree), once the batch proved
 * whole and in order.
 */
struct audit_scan_block {
    size_t from;
    unsigned level;
    uint8_t root[MERKLE_HASH_BYTES];
};

/*
 * Cut the batch's records [first, first + n) into perfect subtrees, the
 * largest aligned one each time, never across a size that scan_match()
 * checks (the frontier must be exact there). Returns their count (at
 * most n).
 */
static size_t
plan_blocks(const struct audit_scan *s, uint64_t first, size_t n,
    struct audit_scan_block *b)
{
    size_t ci = s->ck_next, xi = s->ex_next, nb = 0;
    uint64_t at = first, end = first + n;

    while (at < end) {
        uint64_t stop = end;
        unsigned level = 0;

        /* The next checked size after `at` bounds this block. */
        while (ci < s->nck && s->ck[ci].size <= at)
            ci++;
        while (xi < s->nex && s->ex[xi].size <= at)
            xi++;
        if (ci < s->nck && s->ck[ci].size < stop)
            stop = s->ck[ci].size;
        if (xi < s->nex && s->ex[xi].size < stop)
            stop = s->ex[xi].size;
        if (s->stop_at > at && s->stop_at < stop)
            stop = s->stop_at;
        while (level < SCAN_BLOCK_LEVEL && (at & (UINT64_C(1) << level)) == 0 &&
            at + (UINT64_C(2) << level) <= stop)
            level++;
        b[nb].from = (size_t)(at - first);
        b[nb].level = level;
        nb++;
        at += UINT64_C(1) << level;
    }
    return nb;
}

struct batch_job {
    struct audit_scan_item *it;
    struct audit_record *rec;
    size_t from;
    size_t to;
    struct audit_scan_block *b; /* blocks [bfrom, bto) lie in [from, to) */
    size_t bfrom;
    size_t bto;
};

/* Check CRC, decode and hash items [from, to), then hash the blocks'
 * subtrees: no shared state. A bad item leaves garbage in the blocks
 * over it, which are then not used (the batch is applied leaf by leaf). */
static void *
batch_work(void *arg)
{
    struct batch_job *j = arg;

    for (size_t i = j->from; i < j->to; i++) {
        struct audit_scan_item *e = &j->it[i];

        e->why = NULL;
        e->crc_got = crc32c(0, e->payload, e->len);
        if (e->crc_got != e->crc)
            continue;
        if (audit_record_decode(e->payload, e->len, &j->rec[i], &e->why) != 0)
            continue;
        merkle_leaf_hash(e->payload, e->len, e->leaf);
    }
    for (size_t k = j->bfrom; k < j->bto; k++) {
        struct audit_scan_block *b = &j->b[k];
        struct merkle_frontier f;
        size_t n = (size_t)1 << b->level;

        if (n == 1) {
            memcpy(b->root, j->it[b->from].leaf, MERKLE_HASH_BYTES);
            continue;
        }
        merkle_frontier_init(&f);
        for (size_t i = 0; i < n; i++)
            merkle_frontier_append(&f, j->it[b->from + i].leaf);
        merkle_frontier_root(&f, b->root);
    }
    return NULL;
}

/* Check a batch and hash its blocks b[0..nb), on two threads when it is
 * worth it (split at a block boundary near the middle). */
static void
batch_check(struct audit_scan_item *it, struct audit_record *rec, size_t n,
    struct audit_scan_block *b, size_t nb, bool parallel)
{
    struct batch_job a = { it, rec, 0, n, b, 0, nb };
    struct batch_job c = { it, rec, n, n, b, nb, nb };
    pthread_t t;
    size_t k = 0;

    while (k < nb && b[k].from < n / 2)
        k++;
    if (parallel && n >= SCAN_PARALLEL_MIN && k > 0 && k < nb) {
        a.to = b[k].from;
        a.bto = k;
        c.from = b[k].from;
        c.bfrom = k;
        if (pthread_create(&t, NULL, batch_work, &c) == 0) {
            batch_work(&a);
            pthread_join(t, NULL);
            return;
        }
        a.to = n;
        a.bto = nb;
    }
    batch_work(&a);
}

/* Whether every item of the batch is a good record, in index order from
 * `first` (then its blocks may be appended whole). */
static bool
batch_clean(const struct audit_scan_item *it, const struct audit_record *rec,
    size_t n, uint64_t first)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].crc_got != it[i].crc || it[i].why != NULL ||
            rec[i].index != first + i)
            return false;
    return true;
}

/* Walk, check and apply the frames of one segment, in batches. */
static int
scan_segment(struct audit_scan *s, size_t i, struct audit_proof *want)
{
    char name[SEGFILE_NAME_MAX];
    bool last = i + 1 == s->nsegs, done = false;
    uint64_t next_match = scan_next_match(s), skip = 0;
    struct segfile_frame f;
    uint64_t fsize;
    int fd, rc = 0;

    segfile_name(&audit_scan_segments, s->segs[i], name);
    if (s->segs[i] < s->count && s->count == s->trusted)
        skip = s->trusted - s->segs[i]; /* resume inside this segment */
    else if (s->segs[i] != s->count)
        return scan_fail(s, s->count, UINT64_MAX, name, 0,
            "record %" PRIu64 ": segment '%s' starts at index %" PRIu64
            " but %" PRIu64 " records precede it (a segment is missing "
            "or extra)",
            s->count, name, s->segs[i], s->count);
    if (segfile_open_segment(
            s->dirfd, &audit_scan_segments, s->segs[i], &fd, &fsize) != 0)
        return audit_scan_env_fail(
            s, ERR_IO, "cannot open '%s': %s", name, strerror(errno));
    s->last_len = fsize;
    s->res->segments++;
    if (fsize == 0 && !last) {
        rc = scan_fail(s, s->count, UINT64_MAX, name, 0,
            "record %" PRIu64 ": segment '%s' is empty but is not the "
            "last one",
            s->count, name);
        goto out;
    }
    segfile_reader_start(&s->rd, fd, fsize);
    /* A fast open resumes at record s->trusted: walk the frames before
     * it (lengths only: they are trusted; a wrong walk is caught by the
     * index field and the anchor's root). */
    for (uint64_t k = 0; k < skip; k++) {
        if (segfile_reader_next(&s->rd, true, &f) != 0) {
            rc = audit_scan_env_fail(
                s, ERR_IO, "cannot read '%s': %s", name, strerror(errno));
            goto out;
        }
        if (f.kind != SEGFILE_FRAME_WHOLE) {
            rc = scan_fail(s, s->count, UINT64_MAX, name, f.off,
                "record %" PRIu64 ": segment '%s' ends before it (the "
                "trusted prefix is not all there)",
                s->count, name);
            goto out;
        }
    }
    while (!done) {
        size_t n = 0, nb = 0, bi = 0;
        bool clean;

        /* 1. Find whole frames in the window (read only when none is). */
        while (n < SCAN_BATCH) {
            struct audit_scan_item *e;

            if (segfile_reader_next(&s->rd, n == 0, &f) != 0) {
                rc = audit_scan_env_fail(
                    s, ERR_IO, "cannot read '%s': %s", name, strerror(errno));
                goto out;
            }
            if (f.kind != SEGFILE_FRAME_WHOLE)
                break;
            e = &s->items[n++];
            e->off = f.off;
            e->payload = f.p + AUDIT_FRAME_BYTES;
            e->len = (uint32_t)(f.len - AUDIT_FRAME_BYTES);
            e->crc = bytes_get_le32(f.p + 4);
        }

        /* 2. CRC, strict decode, leaf hashes and the subtrees over
         * them, in parallel. */
        nb = n > 0 ? plan_blocks(s, s->count, n, s->blocks) : 0;
        batch_check(s->items, s->recs, n, s->blocks, nb, !s->serial);
        clean = batch_clean(s->items, s->recs, n, s->count);

        /* 3. In order: report the first failure, or apply the record. */
        for (size_t k = 0; k < n; k++) {
            const struct audit_scan_item *e = &s->items[k];
            const struct audit_record *rec = &s->recs[k];

            if (s->stop_at > 0 && s->count >= s->stop_at) {
                done = true; /* what follows is not ours to read */
                break;
            }
            if (e->crc_got != e->crc) {
                rc = scan_torn(s, last, fsize, name, e->off,
                    "CRC mismatch "
                    "(stored %08" PRIx32 ", computed %08" PRIx32 ")",
                    e->crc, e->crc_got);
                goto out;
            }
            if (e->why != NULL) {
                rc = scan_fail(s, s->count, UINT64_MAX, name, e->off,
                    "record %" PRIu64 ": malformed: %s", s->count, e->why);
                goto out;
            }
            if (rec->index != s->count) {
                rc = scan_fail(s, s->count, UINT64_MAX, name, e->off,
                    "record %" PRIu64 ": its index field says %" PRIu64
                    " (a record is missing, repeated or out of order)",
                    s->count, rec->index);
                goto out;
            }
            if (!clean) {
                merkle_frontier_append(&s->fr, e->leaf);
            } else if ((bi + 1 < nb ? s->blocks[bi + 1].from : n) == k + 1) {
                /* The last record of block bi: append it whole. */
                merkle_frontier_append_subtree(
                    &s->fr, s->blocks[bi].level, s->blocks[bi].root);
                bi++;
            }
            if (s->levels != NULL)
                merkle_levels_append(s->levels, e->leaf);
            if (s->tiles != NULL)
                audit_tiles_append(s->tiles, e->leaf, e->payload, e->len);
            if (want != NULL && want->index == s->count) {
                memcpy(want->raw, e->payload, e->len);
                want->raw_len = e->len;
            }
            if (s->cb != NULL && filter_match(s->filter, rec)) {
                struct audit_entry en;

                en.rec = rec;
                en.raw = e->payload;
                en.raw_len = e->len;
                memcpy(en.leaf_hash, e->leaf, sizeof(en.leaf_hash));
                en.file = name;
                en.offset = e->off;
                s->cbrc = s->cb(s->arg, &en);
                if (s->cbrc != 0) {
                    rc = s->cbrc;
                    goto out;
                }
            }
            s->count++;
            /* Checked here: this loop runs once per record, serially. */
            if (s->count == next_match) {
                rc = scan_match(s);
                if (rc != 0)
                    goto out;
                next_match = scan_next_match(s);
            }
        }

        /* 4. A frame that cannot be whole ends the segment. */
        if (done)
            break;
        switch (f.kind) {
        case SEGFILE_FRAME_TORN_HEADER:
            rc = scan_torn(s, last, fsize, name, f.off,
                "truncated "
                "frame header (the file ends %zu bytes into it)",
                f.avail);
            goto out;
        case SEGFILE_FRAME_BAD_HEADER:
            rc = scan_torn(s, last, fsize, name, f.off,
                "bad frame "
                "length %" PRIu32 " (must be 1..%d)",
                bytes_get_le32(f.p), AUDIT_MAX_RECORD_BYTES);
            goto out;
        case SEGFILE_FRAME_TORN:
            rc = scan_torn(s, last, fsize, name, f.off,
                "truncated "
                "record (the file ends after %zu of its %zu"
                " payload bytes)",
                f.avail - AUDIT_FRAME_BYTES, f.len - AUDIT_FRAME_BYTES);
            goto out;
        case SEGFILE_FRAME_END:
            done = true;
            break;
        case SEGFILE_FRAME_WHOLE:
        case SEGFILE_FRAME_AGAIN:
            break;
        }
    }
out:
    close(fd);
    return rc;
}

void
audit_scan_release(struct audit_scan *s)
{
    free(s->ckbuf);
    free(s->ck);
    free(s->ex);
    free(s->segs);
    segfile_reader_release(&s->rd);
    free(s->items);
    free(s->recs);
    free(s->blocks);
    memset(s, 0, sizeof(*s));
}

/* The whole pass: checkpoints, then segments, then the truncation check. */
int
audit_scan_run(struct audit_scan *s, struct audit_proof *want)
{
    int rc;

    merkle_frontier_init(&s->fr);
    if (s->trusted > 0) {
        if (s->trusted_fr == NULL || s->trusted_fr->size != s->trusted)
            return audit_scan_env_fail(
                s, ERR_INVAL, "no frontier for the trusted prefix");
        s->fr = *s->trusted_fr;
        s->count = s->trusted;
    }
    s->res->ok = true;
    s->res->bad_record = UINT64_MAX;
    s->res->bad_record_end = UINT64_MAX;
    s->res->bad_checkpoint = UINT64_MAX;
    rc = scan_checkpoints(s);
    if (rc != 0)
        return rc;
    s->ex = xcalloc(s->nexpect + 1, sizeof(*s->ex));
    if (s->nexpect > 0)
        memcpy(s->ex, s->expect, s->nexpect * sizeof(*s->ex));
    s->nex = s->nexpect;
    rc = scan_head(s);
    if (rc != 0)
        return rc;
    qsort(s->ex, s->nex, sizeof(*s->ex), expect_cmp);
    /* A fast open neither verifies nor matches what lies inside the
     * trusted prefix (heads and checkpoints of sizes below it). */
    while (s->ck_next < s->nck && s->ck[s->ck_next].size <= s->trusted)
        s->ck_next++;
    while (s->ex_next < s->nex && s->ex[s->ex_next].size < s->trusted)
        s->ex_next++;
    /* A signed size was durable when it was signed: no torn write can
     * reach below it. */
    if (s->writer && s->nck > 0 && s->ck[s->nck - 1].size > s->signed_floor)
        s->signed_floor = s->ck[s->nck - 1].size;
    /* The head is written unsynced, possibly past the records the
     * segments hold durably (the rest in the owner's journal): then it
     * is no floor, only an expectation checked after healing. */
    if (s->writer && s->head_size > s->signed_floor &&
        s->head_size > s->heal_end)
        s->signed_floor = s->head_size;
    rc = scan_list(s);
    if (rc != 0)
        return rc;
    segfile_reader_init(&s->rd, &audit_scan_segments, READ_WINDOW);
    s->items = xcalloc(SCAN_BATCH, sizeof(*s->items));
    s->recs = xcalloc(SCAN_BATCH, sizeof(*s->recs));
    s->blocks = xcalloc(SCAN_BATCH, sizeof(*s->blocks));
    rc = scan_match(s);
    {
        size_t i = 0;

        /* Resume in the segment holding record s->trusted. */
        while (
            s->trusted > 0 && i + 1 < s->nsegs && s->segs[i + 1] <= s->trusted)
            i++;
        if (rc == 0 && s->trusted > 0 &&
            (s->nsegs == 0 || s->segs[i] > s->trusted))
            rc = scan_fail(s, s->count, UINT64_MAX, "", 0,
                "record %" PRIu64 ": no segment holds it (the trusted "
                "prefix is not all there)",
                s->count);
        for (; rc == 0 && i < s->nsegs && !s->torn &&
             !(s->stop_at > 0 && s->count >= s->stop_at);
             i++)
            rc = scan_segment(s, i, want);
    }
    if (rc != 0)
        return rc;
    s->res->records = s->count;
    merkle_frontier_root(&s->fr, s->res->root);
    if (s->nck > 0) {
        const struct audit_scan_ckpt *c = &s->ck[s->nck - 1];

        memcpy(s->res->note, s->ckbuf + c->note_off, c->note_len);
        s->res->note[c->note_len] = '\0';
        s->res->note_len = c->note_len;
    }
    /* res->note stays the newest ARCHIVED checkpoint (the one witnesses
     * cosign); the head only extends what is covered. */
    if (s->head_len > 0)
        s->res->head_size = s->head_size;
    if (s->ck_next < s->nck) {
        char name[SEGFILE_NAME_MAX] = "";

        if (s->nsegs > 0)
            segfile_name(&audit_scan_segments, s->segs[s->nsegs - 1], name);
        return scan_fail(s, s->count, s->ck_next, name,
            s->torn ? s->torn_off : s->last_len,
            "log truncated: checkpoint %zu covers %" PRIu64 " records, "
            "only %" PRIu64 " present",
            s->ck_next, s->ck[s->ck_next].size, s->count);
    }
    while (s->writer && s->ex_next < s->nex && s->ex[s->ex_next].head &&
        s->ex[s->ex_next].size <= s->heal_end) {
        s->head_deferred = true;
        s->ex_next++;
    }
    if (s->ex_next < s->nex) {
        const struct audit_scan_expect *x = &s->ex[s->ex_next];
        char name[SEGFILE_NAME_MAX] = "";

        if (s->nsegs > 0)
            segfile_name(&audit_scan_segments, s->segs[s->nsegs - 1], name);
        return scan_fail(s, s->count, UINT64_MAX, name,
            s->torn ? s->torn_off : s->last_len,
            "log truncated: %s covers %" PRIu64 " records, only %" PRIu64
            " present",
            x->what, x->size, s->count);
    }
    return 0;
}
