/*
 * test_segfile.c - unit tests of common/segfile (segment files)
 *
 * Real files in a mkdtemp directory, with a small frame format of the
 * test's own (u32 payload length 1..200, u32 record number, payload):
 * name round trip and rejection of bad names; listing order, unknown
 * names and a gap the owner finds from the listing; the LOCK held by a
 * second open (ERR_AGAIN); append, sync, reopen and read back; the roll
 * to a new segment at the segment size; removal of old segments and a
 * fresh start; a failed sync (RLIMIT_FSIZE -> EFBIG, and ENOSPC on a
 * tiny tmpfs when this process may mount one) truncates back to the
 * durable length; a torn tail cut at every byte length of the last
 * frame; the reader's batch mode (no read, pointers stay valid);
 * directories in the place of segments (a roll, a start, a shred).
 *
 * Invariants:
 *  - every test works in its own directory under the mkdtemp root,
 *    removed at the end.
 *
 * See also: common/segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/segfile.h"
#include "tests/harness/test.h"

#define HDR         8   /* u32 payload length, u32 record number */
#define MAX_PAYLOAD 200 /* bytes */
#define MAX_PENDING 4096

static char tmpl[] = "/tmp/vigil-test-segfile-XXXXXX";
static char *root;

/* ------------------------------------------------------------ helpers */

static uint32_t
get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static size_t
test_frame_len(const uint8_t *hdr)
{
    uint32_t len = get_le32(hdr);

    return (len == 0 || len > MAX_PAYLOAD) ? 0 : HDR + (size_t)len;
}

static const struct segfile_format fmt = {
    .prefix = "rec-",
    .suffix = ".dat",
    .mode = 0640,
    .header_bytes = HDR,
    .max_frame = HDR + MAX_PAYLOAD,
    .frame_len = test_frame_len,
    .max_pending = MAX_PENDING,
    .reject_unknown = true,
    .sync_error_sticks = false,
};

/* The journal's naming: no prefix. */
static const struct segfile_format bare = {
    .prefix = "",
    .suffix = ".seg",
    .mode = 0600,
    .header_bytes = HDR,
    .max_frame = HDR + MAX_PAYLOAD,
    .frame_len = test_frame_len,
    .max_pending = MAX_PENDING,
    .reject_unknown = false,
};

static void
rm_rf(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static void
subdir(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", root, name);
    rm_rf(out);
}

static void
touch(const char *dir, const char *name)
{
    char path[600];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    ASSERT(fd >= 0);
    close(fd);
}

static void
seg_path(char *out, size_t outlen, const char *dir, uint64_t first)
{
    char name[SEGFILE_NAME_MAX];

    segfile_name(&fmt, first, name);
    snprintf(out, outlen, "%s/%s", dir, name);
}

static off_t
file_size(const char *path)
{
    struct stat st;

    ASSERT_EQ(stat(path, &st), 0);
    return st.st_size;
}

static int
count_segments(const char *dir)
{
    struct dirent *de;
    uint64_t first;
    DIR *d;
    int n = 0;

    d = opendir(dir);
    ASSERT(d != NULL);
    while ((de = readdir(d)) != NULL)
        n += segfile_parse(&fmt, de->d_name, &first);
    closedir(d);
    return n;
}

/* Payload of record `i`: deterministic, 1..MAX_PAYLOAD bytes. */
static size_t
payload_for(uint64_t i, uint8_t *buf)
{
    size_t len = 1 + (size_t)(i * 37 % MAX_PAYLOAD);

    for (size_t k = 0; k < len; k++)
        buf[k] = (uint8_t)(i * 131 + k);
    return len;
}

/* Append record `i` as one frame. */
static void
append_rec(struct segfile *sf, uint64_t i)
{
    uint8_t hdr[HDR], body[MAX_PAYLOAD];
    size_t len = payload_for(i, body);

    put_le32(hdr, (uint32_t)len);
    put_le32(hdr + 4, (uint32_t)i);
    ASSERT_OK(segfile_append(sf, hdr, sizeof(hdr), body, len));
}

/* Check that frame `f` is record `i`. */
static void
check_rec(const struct segfile_frame *f, uint64_t i)
{
    uint8_t want[MAX_PAYLOAD];
    size_t len = payload_for(i, want);

    ASSERT_EQ(f->kind, SEGFILE_FRAME_WHOLE);
    ASSERT_EQ(f->len, HDR + len);
    ASSERT_EQ(get_le32(f->p + 4), (uint32_t)i);
    ASSERT_MEM_EQ(f->p + HDR, want, len);
}

/*
 * Read every segment of `dir` in order, checking that each frame is the
 * record numbered after the previous one, starting at the first
 * segment's number, and that each segment starts at the record after
 * the previous one's last (the owner's gap check). Returns the records
 * read; *gap_at is the first segment that breaks the sequence, or
 * UINT64_MAX.
 */
static uint64_t
read_all(const char *dir, uint64_t *gap_at)
{
    struct segfile_reader r;
    struct segfile_frame f;
    uint64_t *segs, next = 0, size, count = 0;
    size_t n;
    int dirfd, fd;

    *gap_at = UINT64_MAX;
    dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT(dirfd >= 0);
    ASSERT_OK(segfile_list(dirfd, &fmt, &segs, &n));
    segfile_reader_init(&r, &fmt, 0); /* smallest window: many refills */
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            next = segs[0];
        if (segs[i] != next) {
            *gap_at = segs[i];
            break;
        }
        ASSERT_OK(segfile_open_segment(dirfd, &fmt, segs[i], &fd, &size));
        segfile_reader_start(&r, fd, size);
        for (;;) {
            ASSERT_OK(segfile_reader_next(&r, true, &f));
            if (f.kind == SEGFILE_FRAME_END)
                break;
            check_rec(&f, next);
            next++;
            count++;
        }
        ASSERT_EQ(f.off, size);
        close(fd);
    }
    segfile_reader_release(&r);
    free(segs);
    close(dirfd);
    return count;
}

/* Read the whole file `path` into a heap buffer (caller frees). */
static uint8_t *
slurp(const char *path, size_t *len)
{
    uint8_t *p;
    int fd;

    *len = (size_t)file_size(path);
    p = malloc(*len + 1);
    ASSERT(p != NULL);
    fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    ASSERT_EQ(read(fd, p, *len), (ssize_t)*len);
    close(fd);
    return p;
}

static void
spit(const char *path, const uint8_t *p, size_t len)
{
    int fd;

    fd = open(path, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, p, len), (ssize_t)len);
    close(fd);
}

/* A directory with one segment (0) holding records 0..n-1. */
static void
make_segment(const char *dir, uint64_t n)
{
    struct segfile *sf;

    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    for (uint64_t i = 0; i < n; i++) {
        append_rec(sf, i);
        if (i % 10 == 9)
            ASSERT_OK(segfile_sync(sf, 0));
    }
    ASSERT_OK(segfile_sync(sf, 0));
    segfile_close(sf);
}

/* -------------------------------------------------------------- names */

static void
test_names(void)
{
    static const uint64_t v[] = { 0, 1, 9, 10, 12345, UINT32_MAX,
        UINT64_MAX / 10, UINT64_MAX - 1, UINT64_MAX };
    char name[SEGFILE_NAME_MAX];
    uint64_t first;

    segfile_name(&fmt, 1, name);
    ASSERT_STR_EQ(name, "rec-00000000000000000001.dat");
    segfile_name(&bare, 1, name);
    ASSERT_STR_EQ(name, "00000000000000000001.seg");
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        segfile_name(&fmt, v[i], name);
        first = 7;
        ASSERT(segfile_parse(&fmt, name, &first));
        ASSERT_EQ(first, v[i]);
        ASSERT(!segfile_parse(&bare, name, &first));
        segfile_name(&bare, v[i], name);
        ASSERT(segfile_parse(&bare, name, &first));
        ASSERT_EQ(first, v[i]);
    }
    segfile_name(&fmt, UINT64_MAX, name);
    ASSERT_STR_EQ(name, "rec-18446744073709551615.dat");

    /* Every near miss is refused, and *first is left alone. */
    {
        static const char *const bad[] = {
            "",
            "rec-",
            "rec-.dat",
            "rec-0000000000000000001.dat",   /* 19 digits */
            "rec-000000000000000000001.dat", /* 21 digits */
            "rec-0000000000000000000x.dat",
            "rec- 0000000000000000001.dat",
            "rec-+0000000000000000001.dat",
            "rec-18446744073709551616.dat", /* UINT64_MAX + 1 */
            "rec-99999999999999999999.dat",
            "rec-00000000000000000001.da",
            "rec-00000000000000000001.datx",
            "rec-00000000000000000001.DAT",
            "Rec-00000000000000000001.dat",
            "xrec-00000000000000000001.dat",
            "00000000000000000001.dat",
            "LOCK",
        };

        for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
            first = 7;
            if (segfile_parse(&fmt, bad[i], &first))
                TEST_FAIL("'%s' parsed as a segment name", bad[i]);
            ASSERT_EQ(first, 7);
        }
    }
}

static void
test_list(void)
{
    static const uint64_t order[] = { 300, 0, UINT64_MAX, 41, 7, 1000000 };
    char dir[300], name[SEGFILE_NAME_MAX];
    uint64_t *segs;
    size_t n;
    int dirfd;

    subdir(dir, sizeof(dir), "list");
    ASSERT_EQ(mkdir(dir, 0700), 0);
    dirfd = open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT(dirfd >= 0);

    ASSERT_OK(segfile_list(dirfd, &fmt, &segs, &n));
    ASSERT_EQ(n, 0);
    ASSERT(segs == NULL);

    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        segfile_name(&fmt, order[i], name);
        touch(dir, name);
    }
    /* Files of other kinds are not segments. */
    touch(dir, "LOCK");
    touch(dir, "checkpoints.log");
    touch(dir, "00000000000000000001.seg");
    ASSERT_OK(segfile_list(dirfd, &fmt, &segs, &n));
    ASSERT_EQ(n, ARRAY_LEN(order));
    ASSERT_EQ(segs[0], 0);
    ASSERT_EQ(segs[1], 7);
    ASSERT_EQ(segs[2], 41);
    ASSERT_EQ(segs[3], 300);
    ASSERT_EQ(segs[4], 1000000);
    ASSERT_EQ(segs[5], UINT64_MAX);
    free(segs);

    /* A name with the prefix and suffix that does not parse: refused
     * when the format says so, ignored otherwise. */
    touch(dir, "rec-12.dat");
    segs = (uint64_t *)&n; /* must be reset to NULL */
    ASSERT_EQ(segfile_list(dirfd, &fmt, &segs, &n), ERR_CORRUPT);
    ASSERT(segs == NULL);
    ASSERT_EQ(n, 0);
    {
        struct segfile_format lax = fmt;

        lax.reject_unknown = false;
        ASSERT_OK(segfile_list(dirfd, &lax, &segs, &n));
        ASSERT_EQ(n, ARRAY_LEN(order));
        free(segs);
    }
    /* The journal's naming (no prefix): "12.seg" is unknown too. */
    touch(dir, "12.seg");
    {
        struct segfile_format strict = bare;

        strict.reject_unknown = true;
        ASSERT_EQ(segfile_list(dirfd, &strict, &segs, &n), ERR_CORRUPT);
    }
    close(dirfd);
    rm_rf(dir);
}

/* --------------------------------------------------------------- lock */

static void
test_lock(void)
{
    struct segfile *sf, *sf2;
    char dir[300];

    subdir(dir, sizeof(dir), "lock");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_EQ(segfile_open(dir, &fmt, 1 << 20, &sf2), ERR_AGAIN);
    ASSERT(sf2 == NULL);
    segfile_close(sf);
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf2));
    segfile_close(sf2);
    segfile_close(NULL);

    /* An unexpected name fails the open. */
    touch(dir, "rec-5.dat");
    ASSERT_EQ(segfile_open(dir, &fmt, 1 << 20, &sf), ERR_CORRUPT);
    rm_rf(dir);
}

/* StrictModes: the writer's directory and its files are this user's and
 * closed to others, and no link is followed. */
static void
test_trust(void)
{
    struct segfile *sf;
    char dir[300], link[320], path[600], target[600];
    uint64_t size;
    int dfd, fd;

    subdir(dir, sizeof(dir), "trust");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    segfile_close(sf);
    /* Open to group or others: refused. */
    ASSERT_OK(chmod(dir, 0750));
    ASSERT_EQ(segfile_open(dir, &fmt, 1 << 20, &sf), ERR_DENIED);
    ASSERT(sf == NULL);
    ASSERT_OK(chmod(dir, 0701));
    ASSERT_EQ(segfile_open(dir, &fmt, 1 << 20, &sf), ERR_DENIED);
    ASSERT_OK(chmod(dir, 0700));
    /* The directory given as a symbolic link: refused. */
    snprintf(link, sizeof(link), "%s-link", dir);
    (void)unlink(link);
    ASSERT_OK(symlink(dir, link));
    ASSERT_EQ(segfile_open(link, &fmt, 1 << 20, &sf), ERR_DENIED);
    ASSERT_OK(unlink(link));
    /* A segment that is a link is not followed, by writer or reader. */
    seg_path(path, sizeof(path), dir, 0);
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    ASSERT_OK(rename(path, target));
    ASSERT_OK(symlink(target, path));
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    ASSERT(dfd >= 0);
    ASSERT_EQ(segfile_open_segment(dfd, &fmt, 0, &fd, &size), ERR_IO);
    close(dfd);
    ASSERT_EQ(segfile_resume(sf, 0, &size), ERR_IO);
    segfile_close(sf);
    /* So is the LOCK file. */
    ASSERT_OK(unlink(path));
    ASSERT_OK(rename(target, path));
    snprintf(path, sizeof(path), "%s/LOCK", dir);
    ASSERT_OK(unlink(path));
    ASSERT_OK(symlink(target, path));
    ASSERT_EQ(segfile_open(dir, &fmt, 1 << 20, &sf), ERR_IO);
    rm_rf(dir);
    rm_rf(link);
}

/* ----------------------------------------------------- append and sync */

static void
test_append_sync_reopen(void)
{
    struct segfile *sf;
    char dir[300], path[600];
    uint64_t cut, gap;
    const uint64_t *segs;
    uint8_t big[MAX_PENDING];
    size_t n;

    subdir(dir, sizeof(dir), "basic");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(segfile_resume(sf, 0, &cut), ERR_INVAL); /* no segment */
    ASSERT_OK(segfile_start(sf, 0));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(segs[0], 0);
    seg_path(path, sizeof(path), dir, 0);
    ASSERT_EQ(file_size(path), 0);
    ASSERT_OK(segfile_sync(sf, 0)); /* nothing pending */

    for (uint64_t i = 0; i < 10; i++)
        append_rec(sf, i);
    ASSERT(segfile_pending_bytes(sf) > 0);
    ASSERT_EQ(file_size(path), 0); /* nothing written before the sync */
    ASSERT_OK(segfile_sync(sf, 0));
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    ASSERT_EQ(file_size(path), (off_t)segfile_durable_len(sf));
    ASSERT_EQ(read_all(dir, &gap), 10);

    /* Too much pending is refused whole; a header alone is a frame. */
    memset(big, 0, sizeof(big));
    ASSERT_EQ(segfile_append(sf, big, HDR, big, MAX_PENDING), ERR_TOOBIG);
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    /* Appended, never synced: gone at close. */
    append_rec(sf, 10);
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 10);

    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 1);
    ASSERT_OK(segfile_resume(sf, (uint64_t)file_size(path), &cut));
    ASSERT_EQ(cut, 0);
    for (uint64_t i = 10; i < 15; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, 10));
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 15);
    ASSERT_EQ(gap, UINT64_MAX);
    ASSERT_EQ(count_segments(dir), 1);
    rm_rf(dir);
}

/* segfile_write() puts frames in the file without a sync; the unsynced
 * tail stays within max_pending and inside the last segment; flush makes
 * it durable. */
static void
test_write_flush(void)
{
    struct segfile *sf;
    char dir[300], path[600];
    uint64_t gap, written;
    size_t n;
    uint64_t i;

    subdir(dir, sizeof(dir), "writeflush");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    seg_path(path, sizeof(path), dir, 0);
    for (i = 0; i < 5; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, 0));
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    ASSERT_EQ(segfile_durable_len(sf), 0);
    written = segfile_written_len(sf);
    ASSERT(written > 0);
    ASSERT_EQ(file_size(path), (off_t)written); /* in the file, unsynced */
    ASSERT_EQ(read_all(dir, &gap), 5);
    /* Past max_pending unsynced bytes, a write syncs what came before. */
    for (i = 5; segfile_durable_len(sf) == 0 && i < 1000; i++) {
        append_rec(sf, i);
        ASSERT_OK(segfile_write(sf, i));
        ASSERT(
            segfile_written_len(sf) - segfile_durable_len(sf) <= MAX_PENDING);
    }
    ASSERT(segfile_durable_len(sf) > 0);
    ASSERT_OK(segfile_flush(sf));
    ASSERT_EQ(segfile_durable_len(sf), segfile_written_len(sf));
    /* A sync after unsynced writes syncs them too. */
    append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, i));
    i++;
    append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, i));
    i++;
    ASSERT_EQ(segfile_durable_len(sf), segfile_written_len(sf));
    /* Discard drops pending frames only. */
    append_rec(sf, i);
    segfile_discard(sf);
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), i);
    ASSERT_EQ(gap, UINT64_MAX);
    ASSERT_EQ(count_segments(dir), 1);
    (void)n;
    rm_rf(dir);
}

/*
 * segfile_flush_begin/run/end (the scorer's flusher syncs the audit
 * segment off the event path): the bytes written before the begin are
 * the ones counted durable, later writes stay unsynced; the duplicate
 * descriptor is closed by run; nothing unsynced takes no descriptor; a
 * roll between begin and end counts nothing in the new segment; a
 * failed run fails the segfile.
 */
static void
test_flush_ticket(void)
{
    struct segfile_ticket t;
    struct segfile *sf;
    char dir[300];
    uint64_t at_begin, i;
    int fd;

    subdir(dir, sizeof(dir), "ticket");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    for (i = 0; i < 5; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, 0));
    ASSERT_EQ(segfile_durable_len(sf), 0);
    ASSERT_OK(segfile_flush_begin(sf, &t));
    ASSERT(t.fd != -1);
    at_begin = segfile_written_len(sf);
    ASSERT_EQ(t.len, at_begin);
    /* The owner goes on writing while the sync runs. */
    append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, i));
    i++;
    fd = t.fd;
    ASSERT_OK(segfile_flush_run(&t));
    ASSERT_EQ(t.fd, -1);
    ASSERT_EQ(fcntl(fd, F_GETFD), -1);     /* closed */
    ASSERT_EQ(segfile_durable_len(sf), 0); /* until the end */
    segfile_flush_end(sf, &t, 0);
    ASSERT_EQ(segfile_durable_len(sf), at_begin);
    ASSERT(segfile_written_len(sf) > at_begin);
    /* Nothing unsynced: no descriptor, nothing changes. */
    ASSERT_OK(segfile_flush(sf));
    ASSERT_OK(segfile_flush_begin(sf, &t));
    ASSERT_EQ(t.fd, -1);
    ASSERT_OK(segfile_flush_run(&t));
    segfile_flush_end(sf, &t, 0);
    ASSERT_EQ(segfile_durable_len(sf), segfile_written_len(sf));
    /* A failed run fails the segfile, as a failed segfile_flush(). */
    append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, i));
    i++;
    ASSERT_OK(segfile_flush_begin(sf, &t));
    ASSERT_OK(segfile_flush_run(&t));
    segfile_flush_end(sf, &t, ERR_IO);
    ASSERT(segfile_is_failed(sf));
    ASSERT_EQ(segfile_flush_begin(sf, &t), ERR_IO);
    segfile_close(sf);
    rm_rf(dir);

    /* A roll between begin and end: the old segment was synced by the
     * roll, the new one's durable length is not the ticket's. */
    subdir(dir, sizeof(dir), "ticketroll");
    ASSERT_OK(segfile_open(dir, &fmt, 512, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    for (i = 0; i < 10; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, 0));
    ASSERT_OK(segfile_flush_begin(sf, &t));
    ASSERT(t.fd != -1);
    for (; i < 13; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, 10)); /* rolls to segment 10 */
    for (; i < 15; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_write(sf, 13));
    ASSERT_OK(segfile_flush_run(&t));
    segfile_flush_end(sf, &t, 0);
    ASSERT(segfile_durable_len(sf) < segfile_written_len(sf));
    ASSERT(!segfile_is_failed(sf));
    segfile_close(sf);
    rm_rf(dir);
}

static void
test_roll_remove_start(void)
{
    struct segfile *sf;
    char dir[300], path[600];
    const uint64_t *segs;
    uint64_t next = 0, gap, cut;
    size_t n;

    subdir(dir, sizeof(dir), "roll");
    ASSERT_OK(segfile_open(dir, &fmt, 512, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    /* About 100 bytes a frame: 10 frames per sync, over 512 bytes, so
     * every sync after the first rolls, and names the new segment after
     * the first record it will hold. */
    for (int s = 0; s < 6; s++) {
        for (int k = 0; k < 10; k++)
            append_rec(sf, next++);
        ASSERT_OK(segfile_sync(sf, next - 10));
        segs = segfile_segments(sf, &n);
        ASSERT_EQ(n, (size_t)s + 1);
        ASSERT_EQ(segs[n - 1], next - 10);
    }
    ASSERT_EQ(count_segments(dir), 6);
    for (uint64_t f = 0; f < 60; f += 10) {
        seg_path(path, sizeof(path), dir, f);
        ASSERT(file_size(path) >= 512);
    }
    ASSERT_EQ(read_all(dir, &gap), 60);
    ASSERT_EQ(gap, UINT64_MAX);

    /* Below the segment size: no roll. */
    segfile_set_segment_bytes(sf, 1 << 20);
    append_rec(sf, next++);
    ASSERT_OK(segfile_sync(sf, next - 1));
    ASSERT_EQ(count_segments(dir), 6);

    /* Remove the two oldest; never the current one. */
    ASSERT_OK(segfile_remove_oldest(sf, 2));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(segs[0], 20);
    ASSERT_EQ(count_segments(dir), 4);
    ASSERT_EQ(segfile_remove_oldest(sf, 4), ERR_INVAL);
    ASSERT_OK(segfile_remove_oldest(sf, 0));

    /* A missing middle segment shows in the listing: the next segment
     * does not start where the previous one ends. */
    segfile_close(sf);
    seg_path(path, sizeof(path), dir, 40);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_EQ(read_all(dir, &gap), 20); /* records 20..39 */
    ASSERT_EQ(gap, 50);

    /* Start over at 1000: every segment goes, one empty one comes. */
    ASSERT_OK(segfile_open(dir, &fmt, 512, &sf));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 3);
    seg_path(path, sizeof(path), dir, 50);
    ASSERT_OK(segfile_resume(sf, (uint64_t)file_size(path), &cut));
    ASSERT_EQ(cut, 0);
    append_rec(sf, 61);
    ASSERT_EQ(segfile_start(sf, 1000), ERR_INVAL); /* pending */
    ASSERT_OK(segfile_sync(sf, 61));
    ASSERT_OK(segfile_start(sf, 1000));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(segs[0], 1000);
    ASSERT_EQ(count_segments(dir), 1);
    ASSERT_EQ(segfile_durable_len(sf), 0);
    for (uint64_t i = 1000; i < 1005; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, 1000));
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 5);
    ASSERT_EQ(gap, UINT64_MAX);
    rm_rf(dir);
}

/* ------------------------------------------------- hostile directories */

/*
 * A directory standing where the next segment must be created: the sync
 * that would roll into it fails (its frames dropped, the current segment
 * as it was) and works once the way is clear; a start refused by one
 * fails the segfile (append, write, flush, roll, sync: ERR_IO until
 * reopened, and a reopen is fine). A roll with frames pending is
 * ERR_INVAL. Shredding: a segment already gone counts as shredded; one
 * that cannot be overwritten (a directory) stops the shred, and it and
 * the segments after it stay.
 */
static void
test_hostile_entries(void)
{
    struct segfile *sf;
    char dir[300], path[600];
    const uint64_t *segs;
    uint64_t next = 0, gap, durable;
    size_t n;

    subdir(dir, sizeof(dir), "hostile");
    ASSERT_OK(segfile_open(dir, &fmt, 512, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    for (int k = 0; k < 10; k++)
        append_rec(sf, next++);
    ASSERT_OK(segfile_sync(sf, 0));
    durable = segfile_durable_len(sf);
    ASSERT(durable >= 512);

    seg_path(path, sizeof(path), dir, 10);
    ASSERT_OK(mkdir(path, 0700));
    for (int k = 0; k < 10; k++)
        append_rec(sf, next + (uint64_t)k);
    ASSERT(segfile_sync(sf, 10) < 0);
    ASSERT(!segfile_is_failed(sf));
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    ASSERT_EQ(segfile_durable_len(sf), durable);
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 1);
    ASSERT_OK(rmdir(path));
    for (int k = 0; k < 10; k++)
        append_rec(sf, next++);
    ASSERT_OK(segfile_sync(sf, 10));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(segs[1], 10);
    append_rec(sf, next);
    ASSERT_EQ(segfile_roll(sf, next), ERR_INVAL); /* pending */
    segfile_discard(sf);
    ASSERT_OK(segfile_roll(sf, next));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(read_all(dir, &gap), 20);
    ASSERT_EQ(gap, UINT64_MAX);

    /* Shred: more than the old segments is refused; segment 0 removed
     * behind the writer's back is no error; segment 10 replaced by a
     * directory cannot be overwritten: it stays, ERR_IO. */
    ASSERT_EQ(segfile_shred_oldest(sf, 3), ERR_INVAL);
    seg_path(path, sizeof(path), dir, 0);
    ASSERT_OK(unlink(path));
    seg_path(path, sizeof(path), dir, 10);
    ASSERT_OK(unlink(path));
    ASSERT_OK(mkdir(path, 0700));
    ASSERT_EQ(segfile_shred_oldest(sf, 2), ERR_IO);
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(segs[0], 10);
    ASSERT_OK(rmdir(path));
    ASSERT_OK(segfile_shred_oldest(sf, 1));
    segs = segfile_segments(sf, &n);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(segs[0], next);

    /* A start that cannot create its segment fails the segfile. */
    seg_path(path, sizeof(path), dir, 1000);
    ASSERT_OK(mkdir(path, 0700));
    ASSERT(segfile_start(sf, 1000) < 0);
    ASSERT(segfile_is_failed(sf));
    {
        uint8_t hdr[HDR] = { 1 }, b = 0;

        ASSERT_EQ(segfile_append(sf, hdr, sizeof(hdr), &b, 1), ERR_IO);
    }
    ASSERT_EQ(segfile_write(sf, 1000), ERR_IO);
    ASSERT_EQ(segfile_flush(sf), ERR_IO);
    ASSERT_EQ(segfile_roll(sf, 1000), ERR_IO);
    ASSERT_EQ(segfile_sync(sf, 1000), ERR_IO);
    segfile_close(sf);
    ASSERT_OK(rmdir(path));
    ASSERT_OK(segfile_open(dir, &fmt, 512, &sf));
    ASSERT_OK(segfile_start(sf, 1000));
    append_rec(sf, 1000);
    ASSERT_OK(segfile_sync(sf, 1000));
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 1);
    rm_rf(dir);
}

/* ------------------------------------------------------- failed syncs */

/*
 * A sync that fails half-way (the file-size limit makes pwrite fail with
 * EFBIG after a partial write) reports ERR_FULL, leaves the file at its
 * durable length, and the next sync works once there is room.
 */
static void
test_sync_failure_efbig(void)
{
    struct segfile *sf;
    struct rlimit old, lim;
    char dir[300], path[600];
    uint64_t gap;
    off_t durable;

    subdir(dir, sizeof(dir), "efbig");
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    seg_path(path, sizeof(path), dir, 0);
    for (uint64_t i = 0; i < 10; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, 0));
    durable = file_size(path);

    ASSERT(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)durable + 250; /* part of the pending bytes */
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (uint64_t i = 10; i < 20; i++)
        append_rec(sf, i);
    ASSERT_EQ(segfile_sync(sf, 0), ERR_FULL);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    ASSERT(signal(SIGXFSZ, SIG_DFL) != SIG_ERR);
    ASSERT_EQ(file_size(path), durable); /* nothing half-written */
    ASSERT_EQ(segfile_durable_len(sf), (uint64_t)durable);
    ASSERT_EQ(segfile_pending_bytes(sf), 0); /* dropped */
    ASSERT(!segfile_is_failed(sf));

    /* Room again: the same records go in. */
    for (uint64_t i = 10; i < 13; i++)
        append_rec(sf, i);
    ASSERT_OK(segfile_sync(sf, 0));
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 13);
    rm_rf(dir);
}

static char mnt[300];

static void
unmount_at_exit(void)
{
    if (mnt[0] != '\0')
        (void)umount2(mnt, MNT_DETACH);
}

/*
 * The same with a real full disk: a 64 KiB tmpfs, when this process may
 * mount one (root outside a restricted container); skipped otherwise.
 */
static void
test_sync_failure_enospc(void)
{
    char dir[400], filler[400], path[600];
    struct segfile *sf;
    uint64_t next = 0, gap;
    int rc = 0, syncs = 0, fd;

    subdir(mnt, sizeof(mnt), "tmpfs");
    ASSERT_EQ(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") == -1) {
        printf("skip test_sync_failure_enospc: cannot mount a tmpfs here "
               "(%s); the EFBIG case covers the same path\n",
            strerror(errno));
        mnt[0] = '\0';
        return;
    }
    atexit(unmount_at_exit);
    /* A filler to delete later, so that space can come back. */
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    fd = open(filler, O_CREAT | O_WRONLY, 0600);
    ASSERT(fd >= 0);
    {
        uint8_t page[8192];

        memset(page, 0xaa, sizeof(page));
        ASSERT_EQ(write(fd, page, sizeof(page)), (ssize_t)sizeof(page));
    }
    close(fd);

    snprintf(dir, sizeof(dir), "%s/seg", mnt);
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_start(sf, 0));
    seg_path(path, sizeof(path), dir, 0);
    while (rc == 0 && syncs < 10000) {
        for (int k = 0; k < 10; k++)
            append_rec(sf, next + (uint64_t)k);
        rc = segfile_sync(sf, 0);
        if (rc == 0)
            next += 10;
        syncs++;
    }
    ASSERT_EQ(rc, ERR_FULL);
    ASSERT_EQ(file_size(path), (off_t)segfile_durable_len(sf));
    ASSERT_EQ(segfile_pending_bytes(sf), 0);
    ASSERT(!segfile_is_failed(sf));
    ASSERT(next > 0);

    /* Space comes back: the records that failed go in now. */
    ASSERT_EQ(unlink(filler), 0);
    for (int k = 0; k < 10; k++)
        append_rec(sf, next + (uint64_t)k);
    ASSERT_OK(segfile_sync(sf, 0));
    next += 10;
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), next);
    ASSERT_EQ(umount2(mnt, 0), 0);
    mnt[0] = '\0';
}

/* ---------------------------------------------------------- torn tails */

/* Cut the last frame at every length; the reader and resume agree. */
static void
test_torn_tail_every_length(void)
{
    struct segfile_reader r;
    struct segfile_frame f;
    struct segfile *sf;
    char dir[300], path[600];
    size_t len, off[6], last_len;
    uint64_t cut, size, gap;
    uint8_t *orig;
    int dirfd, fd;

    subdir(dir, sizeof(dir), "torn");
    make_segment(dir, 5);
    seg_path(path, sizeof(path), dir, 0);
    orig = slurp(path, &len);
    off[0] = 0;
    for (int i = 0; i < 5; i++)
        off[i + 1] = off[i] + HDR + get_le32(orig + off[i]);
    ASSERT_EQ(off[5], len);
    last_len = off[5] - off[4];

    segfile_reader_init(&r, &fmt, 0);
    for (size_t k = 0; k <= last_len; k++) {
        spit(path, orig, off[4] + k);
        ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
        dirfd = segfile_dirfd(sf);
        ASSERT_OK(segfile_open_segment(dirfd, &fmt, 0, &fd, &size));
        ASSERT_EQ(size, off[4] + k);
        segfile_reader_start(&r, fd, size);
        for (uint64_t i = 0; i < 4; i++) {
            ASSERT_OK(segfile_reader_next(&r, true, &f));
            check_rec(&f, i);
            ASSERT_EQ(f.off, off[i]);
        }
        ASSERT_OK(segfile_reader_next(&r, true, &f));
        if (k == 0) {
            ASSERT_EQ(f.kind, SEGFILE_FRAME_END);
        } else if (k < HDR) {
            ASSERT_EQ(f.kind, SEGFILE_FRAME_TORN_HEADER);
            ASSERT_EQ(f.avail, k);
        } else if (k < last_len) {
            ASSERT_EQ(f.kind, SEGFILE_FRAME_TORN);
            ASSERT_EQ(f.avail, k);
            ASSERT_EQ(f.len, last_len);
        } else {
            check_rec(&f, 4);
            ASSERT_OK(segfile_reader_next(&r, true, &f));
            ASSERT_EQ(f.kind, SEGFILE_FRAME_END);
        }
        ASSERT_EQ(f.off, k == last_len ? off[5] : off[4]);
        close(fd);
        ASSERT_OK(segfile_resume(sf, f.off, &cut));
        ASSERT_EQ(cut, k == last_len ? 0 : k);
        ASSERT_EQ(file_size(path), (off_t)f.off);
        segfile_close(sf);
    }
    segfile_reader_release(&r);

    /* After a cut, appending goes on at the cut. */
    spit(path, orig, off[4] + 3);
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_OK(segfile_resume(sf, off[4], &cut));
    ASSERT_EQ(cut, 3);
    append_rec(sf, 4);
    append_rec(sf, 5);
    ASSERT_OK(segfile_sync(sf, 4));
    segfile_close(sf);
    ASSERT_EQ(read_all(dir, &gap), 6);
    free(orig);
    rm_rf(dir);
}

static void
test_bad_tails(void)
{
    struct segfile_reader r;
    struct segfile_frame f;
    struct segfile *sf;
    char dir[300], path[600];
    uint8_t *orig, *junk;
    uint64_t cut, size;
    size_t len;
    int fd;

    subdir(dir, sizeof(dir), "bad");
    make_segment(dir, 3);
    seg_path(path, sizeof(path), dir, 0);
    orig = slurp(path, &len);
    junk = malloc(len + MAX_PENDING + 100);
    ASSERT(junk != NULL);
    memcpy(junk, orig, len);

    /* A header whose length is out of bounds: BAD_HEADER, even with
     * bytes after it; cut back like a torn write. */
    for (uint32_t bad = 0; bad <= MAX_PAYLOAD + 1; bad += MAX_PAYLOAD + 1) {
        put_le32(junk + len, bad);
        memset(junk + len + 4, 0x55, 60);
        spit(path, junk, len + 64);
        ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
        ASSERT_OK(segfile_open_segment(segfile_dirfd(sf), &fmt, 0, &fd, &size));
        segfile_reader_init(&r, &fmt, 4096);
        segfile_reader_start(&r, fd, size);
        for (uint64_t i = 0; i < 3; i++) {
            ASSERT_OK(segfile_reader_next(&r, true, &f));
            check_rec(&f, i);
        }
        ASSERT_OK(segfile_reader_next(&r, true, &f));
        ASSERT_EQ(f.kind, SEGFILE_FRAME_BAD_HEADER);
        ASSERT_EQ(f.off, len);
        ASSERT_EQ(get_le32(f.p), bad);
        /* Not consumed: asking again gives the same. */
        ASSERT_OK(segfile_reader_next(&r, true, &f));
        ASSERT_EQ(f.kind, SEGFILE_FRAME_BAD_HEADER);
        segfile_reader_release(&r);
        close(fd);
        ASSERT_OK(segfile_resume(sf, len, &cut));
        ASSERT_EQ(cut, 64);
        segfile_close(sf);
        ASSERT_EQ(file_size(path), (off_t)len);
    }

    /* More after the last good frame than one unsynced write can leave:
     * ERR_CORRUPT, and the file is left as it is. */
    memset(junk + len, 0x55, MAX_PENDING + 1);
    spit(path, junk, len + MAX_PENDING + 1);
    ASSERT_OK(segfile_open(dir, &fmt, 1 << 20, &sf));
    ASSERT_EQ(segfile_resume(sf, len, &cut), ERR_CORRUPT);
    ASSERT_EQ(file_size(path), (off_t)(len + MAX_PENDING + 1));
    /* A valid length beyond the file is the owner's bug. */
    ASSERT_EQ(segfile_resume(sf, len + MAX_PENDING + 2, &cut), ERR_INVAL);
    /* Exactly max_pending bytes may be cut. */
    spit(path, junk, len + MAX_PENDING);
    ASSERT_OK(segfile_resume(sf, len, &cut));
    ASSERT_EQ(cut, MAX_PENDING);
    segfile_close(sf);
    free(junk);
    free(orig);
    rm_rf(dir);
}

/* ------------------------------------------------------------- reader */

/*
 * Batch mode: collect frames without reading (the audit verifier checks
 * a batch on two threads); every pointer of a batch stays valid until
 * the next reading call. A segment that shrinks under the reader is an
 * I/O error, not a torn tail.
 */
static void
test_reader_batches(void)
{
    struct segfile_frame batch[64];
    struct segfile_reader r;
    struct segfile_frame f;
    char dir[300], path[600];
    uint64_t size, next = 0;
    int fd, batches = 0, agains = 0;
    size_t n;

    subdir(dir, sizeof(dir), "batch");
    make_segment(dir, 50);
    seg_path(path, sizeof(path), dir, 0);
    fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    size = (uint64_t)file_size(path);
    segfile_reader_init(&r, &fmt, 3 * (HDR + MAX_PAYLOAD));
    segfile_reader_start(&r, fd, size);
    for (;;) {
        n = 0;
        while (n < ARRAY_LEN(batch)) {
            ASSERT_OK(segfile_reader_next(&r, n == 0, &f));
            if (f.kind != SEGFILE_FRAME_WHOLE)
                break;
            batch[n++] = f;
        }
        agains += f.kind == SEGFILE_FRAME_AGAIN;
        for (size_t k = 0; k < n; k++)
            check_rec(&batch[k], next++);
        batches += n > 0;
        if (f.kind == SEGFILE_FRAME_END)
            break;
        ASSERT(f.kind == SEGFILE_FRAME_AGAIN);
    }
    ASSERT_EQ(next, 50);
    ASSERT(batches > 1 && agains > 0);
    ASSERT_EQ(f.off, size);

    /* Told the segment is longer than it is. */
    segfile_reader_start(&r, fd, size + 100);
    errno = 0;
    for (;;) {
        int rc = segfile_reader_next(&r, true, &f);

        if (rc != 0) {
            ASSERT_EQ(rc, ERR_IO);
            ASSERT_EQ(errno, EIO);
            break;
        }
        ASSERT_EQ(f.kind, SEGFILE_FRAME_WHOLE);
    }
    segfile_reader_release(&r);
    close(fd);
    rm_rf(dir);
}

int
main(void)
{
    log_init("test_segfile", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_names);
    RUN(test_list);
    RUN(test_lock);
    RUN(test_trust);
    RUN(test_append_sync_reopen);
    RUN(test_write_flush);
    RUN(test_flush_ticket);
    RUN(test_roll_remove_start);
    RUN(test_hostile_entries);
    RUN(test_sync_failure_efbig);
    RUN(test_sync_failure_enospc);
    RUN(test_torn_tail_every_length);
    RUN(test_bad_tails);
    RUN(test_reader_batches);
    rm_rf(root);
    return 0;
}
