/*
 * test_journal.c - unit tests of common/journal (the write-ahead log)
 *
 * Real files in a mkdtemp directory: append, sync, reopen, replay; a torn
 * tail of every possible length is cut back to the last whole record; a
 * bit flip in the last record is cut; corruption in an older segment and
 * seq gaps refuse to open; segment roll and release; the CRC32C test
 * vector; a sync that fails (RLIMIT_FSIZE -> EFBIG) leaves nothing
 * half-written behind; the directory lock.
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/err.h"
#include "common/journal.h"
#include "common/log.h"
#include "tests/harness/test.h"

static char tmpl[] = "/tmp/vigil-test-journal-XXXXXX";
static char *root;

static void
rm_rf(const char *dir)
{
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

static void
jdir(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", root, name);
    rm_rf(out);
}

static void
seg_path(char *out, size_t outlen, const char *dir, uint64_t first)
{
    snprintf(out, outlen, "%s/%020llu.seg", dir, (unsigned long long)first);
}

static off_t
file_size(const char *path)
{
    struct stat sb;

    ASSERT(stat(path, &sb) == 0);
    return sb.st_size;
}

static int
count_segments(const char *dir)
{
    struct dirent *de;
    DIR *d;
    int n = 0;

    d = opendir(dir);
    ASSERT(d != NULL);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".seg") != NULL)
            n++;
    }
    closedir(d);
    return n;
}

/* Payload of record `seq`: deterministic, varying length. */
static size_t
payload_for(uint64_t seq, uint8_t *buf)
{
    size_t len = (size_t)(seq * 37 % 200), i;

    for (i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 131 + i);
    return len;
}

/* Replay collector: checks every payload and counts records. */
struct collect {
    uint64_t next; /* expected seq */
    uint64_t count;
    uint64_t stop_at; /* return 7 at this seq (0: never) */
};

static int
collect_cb(void *arg, uint64_t seq, const void *p, size_t len)
{
    struct collect *c = arg;
    uint8_t want[256];
    size_t wl;

    ASSERT_EQ(seq, c->next);
    wl = payload_for(seq, want);
    ASSERT_EQ(len, wl);
    if (len > 0)
        ASSERT_MEM_EQ(p, want, len);
    c->next++;
    c->count++;
    if (c->stop_at != 0 && seq == c->stop_at)
        return 7;
    return 0;
}

static void
append_n(struct journal *j, uint64_t n)
{
    uint8_t buf[256];
    uint64_t i, seq;
    size_t len;

    for (i = 0; i < n; i++) {
        len = payload_for(journal_next_seq(j), buf);
        ASSERT_OK(journal_append(j, buf, len, &seq));
    }
}

static uint64_t
replay_count(struct journal *j, uint64_t from)
{
    struct collect c = { from ? from : 1, 0, 0 };

    ASSERT_OK(journal_replay(j, from, collect_cb, &c));
    return c.count;
}

static void
test_crc32c(void)
{
    ASSERT_EQ(journal_crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(journal_crc32c(0, "", 0), 0);
    /* Incremental equals one-shot. */
    ASSERT_EQ(
        journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

static void
test_append_sync_reopen(void)
{
    struct journal *j;
    struct collect c = { 1, 0, 0 };
    uint8_t big[16];
    uint64_t seq;
    char dir[256];

    jdir(dir, sizeof(dir), "basic");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_next_seq(j), 1);
    ASSERT_EQ(journal_first_seq(j), 1);
    ASSERT_OK(journal_sync(j)); /* nothing pending */
    append_n(j, 10);
    ASSERT_EQ(journal_next_seq(j), 11);
    ASSERT(journal_pending_bytes(j) > 0);
    /* Not synced: not replayed. */
    ASSERT_EQ(replay_count(j, 1), 0);
    ASSERT_OK(journal_sync(j));
    ASSERT_EQ(journal_pending_bytes(j), 0);
    ASSERT_EQ(replay_count(j, 1), 10);
    ASSERT_EQ(replay_count(j, 4), 7);
    ASSERT_EQ(replay_count(j, 11), 0);
    /* A callback's nonzero value stops the replay and is returned. */
    c.stop_at = 3;
    ASSERT_EQ(journal_replay(j, 1, collect_cb, &c), 7);
    ASSERT_EQ(c.count, 3);
    /* Appended but never synced: lost on close. */
    append_n(j, 5);
    ASSERT_EQ(
        journal_append(j, big, JOURNAL_MAX_PAYLOAD + 1, &seq), ERR_TOOBIG);
    journal_close(j);

    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_next_seq(j), 11);
    ASSERT_EQ(replay_count(j, 0), 10);
    append_n(j, 5);
    ASSERT_OK(journal_sync(j));
    ASSERT_EQ(replay_count(j, 1), 15);
    /* Discarded: never written, the seqs handed out again. */
    append_n(j, 3);
    ASSERT_EQ(journal_next_seq(j), 19);
    journal_discard(j);
    ASSERT_EQ(journal_next_seq(j), 16);
    ASSERT_EQ(journal_pending_bytes(j), 0);
    ASSERT_OK(journal_sync(j));
    ASSERT_EQ(replay_count(j, 1), 15);
    append_n(j, 1);
    ASSERT_OK(journal_sync(j));
    ASSERT_EQ(replay_count(j, 1), 16);
    journal_close(j);
    journal_close(NULL);
}

/* Cut the single segment at every length: reopen keeps whole records. */
static void
test_torn_tail_every_length(void)
{
    struct journal *j;
    char dir[256], path[512];
    uint64_t ends[21]; /* file size after record i (ends[0] = 0) */
    off_t full, len;
    uint64_t whole, i;
    uint8_t *orig;
    int fd;

    jdir(dir, sizeof(dir), "torn");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    seg_path(path, sizeof(path), dir, 1);
    ends[0] = 0;
    for (i = 1; i <= 20; i++) {
        append_n(j, 1);
        ASSERT_OK(journal_sync(j));
        ends[i] = (uint64_t)file_size(path);
    }
    journal_close(j);
    full = file_size(path);
    orig = malloc((size_t)full);
    ASSERT(orig != NULL);
    fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    ASSERT_EQ(read(fd, orig, (size_t)full), full);
    close(fd);

    for (len = 0; len <= full; len++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        ASSERT(fd >= 0);
        ASSERT_EQ(write(fd, orig, (size_t)len), len);
        close(fd);
        whole = 0;
        while (whole < 20 && ends[whole + 1] <= (uint64_t)len)
            whole++;
        ASSERT_OK(journal_open(dir, 1 << 20, &j));
        ASSERT_EQ(journal_next_seq(j), whole + 1);
        ASSERT_EQ(replay_count(j, 1), whole);
        journal_close(j);
        ASSERT_EQ(file_size(path), (off_t)ends[whole]);
    }
    /* After a cut, appending continues cleanly at the cut. */
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    append_n(j, 3);
    ASSERT_OK(journal_sync(j));
    ASSERT_EQ(replay_count(j, 1), 23);
    journal_close(j);
    free(orig);
}

static void
flip_byte(const char *path, off_t off)
{
    uint8_t b;
    int fd;

    fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    ASSERT_EQ(pread(fd, &b, 1, off), 1);
    b ^= 0x10;
    ASSERT_EQ(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static void
test_bit_flip_last_record(void)
{
    struct journal *j;
    char dir[256], path[512];
    off_t before, full;

    jdir(dir, sizeof(dir), "flip");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    seg_path(path, sizeof(path), dir, 1);
    append_n(j, 9);
    ASSERT_OK(journal_sync(j));
    before = file_size(path);
    append_n(j, 1);
    ASSERT_OK(journal_sync(j));
    full = file_size(path);
    journal_close(j);
    /* Flip a payload byte of the last record (seq 10, 170 bytes). */
    flip_byte(path, before + JOURNAL_HEADER_BYTES + 5);
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_next_seq(j), 10);
    ASSERT_EQ(replay_count(j, 1), 9);
    journal_close(j);
    ASSERT_EQ(file_size(path), before);
    ASSERT(full > before);
}

static void
test_corrupt_older_segment(void)
{
    struct journal *j;
    char dir[256], path[512], path2[512];
    int nseg;

    jdir(dir, sizeof(dir), "older");
    ASSERT_OK(journal_open(dir, JOURNAL_MIN_SEGMENT, &j));
    /* About 120 bytes a record: 3 syncs of 40 roll twice. */
    append_n(j, 40);
    ASSERT_OK(journal_sync(j));
    append_n(j, 40);
    ASSERT_OK(journal_sync(j));
    append_n(j, 40);
    ASSERT_OK(journal_sync(j));
    journal_close(j);
    nseg = count_segments(dir);
    ASSERT_EQ(nseg, 3);
    seg_path(path, sizeof(path), dir, 1);
    flip_byte(path, 100);
    ASSERT_EQ(journal_open(dir, JOURNAL_MIN_SEGMENT, &j), ERR_CORRUPT);
    ASSERT(j == NULL);
    flip_byte(path, 100); /* undo */
    ASSERT_OK(journal_open(dir, JOURNAL_MIN_SEGMENT, &j));
    ASSERT_EQ(replay_count(j, 1), 120);
    journal_close(j);

    /* A missing middle segment is a seq gap: refuse. */
    seg_path(path2, sizeof(path2), dir, 41);
    ASSERT(rename(path2, "/tmp/vigil-test-journal-moved.seg") == 0 ||
        errno == EXDEV);
    ASSERT_EQ(journal_open(dir, JOURNAL_MIN_SEGMENT, &j), ERR_CORRUPT);
    ASSERT(rename("/tmp/vigil-test-journal-moved.seg", path2) == 0);
    ASSERT_OK(journal_open(dir, JOURNAL_MIN_SEGMENT, &j));
    journal_close(j);

    /* A stray .seg name is refused too. */
    snprintf(path2, sizeof(path2), "%s/12.seg", dir);
    ASSERT(close(open(path2, O_CREAT | O_WRONLY, 0600)) == 0);
    ASSERT_EQ(journal_open(dir, JOURNAL_MIN_SEGMENT, &j), ERR_CORRUPT);
    ASSERT(unlink(path2) == 0);
}

static void
test_roll_and_release(void)
{
    struct journal *j;
    char dir[256];
    int i, nseg;

    jdir(dir, sizeof(dir), "roll");
    ASSERT_OK(journal_open(dir, JOURNAL_MIN_SEGMENT, &j));
    for (i = 0; i < 10; i++) {
        append_n(j, 40); /* ~4.5 KiB: every sync after the first rolls */
        ASSERT_OK(journal_sync(j));
    }
    nseg = count_segments(dir);
    ASSERT_EQ(nseg, 10);
    ASSERT_EQ(replay_count(j, 1), 400);
    /* Segment k holds seqs 40k+1 .. 40k+40. Release up to 100: the
     * segments ending at 40 and 80 go; 81..120 stays (holds 101..120). */
    ASSERT_OK(journal_release_upto(j, 100));
    ASSERT_EQ(count_segments(dir), 8);
    ASSERT_EQ(journal_first_seq(j), 81);
    ASSERT_EQ(replay_count(j, 81), 320);
    ASSERT_EQ(journal_replay(j, 50, collect_cb, &(struct collect){ 50, 0, 0 }),
        ERR_CORRUPT); /* records 50..80 are gone */
    /* Never the current segment, even when everything is covered. */
    ASSERT_OK(journal_release_upto(j, 1000));
    ASSERT_EQ(count_segments(dir), 1);
    ASSERT_EQ(journal_first_seq(j), 361);
    journal_close(j);
    ASSERT_OK(journal_open(dir, JOURNAL_MIN_SEGMENT, &j));
    ASSERT_EQ(journal_first_seq(j), 361);
    ASSERT_EQ(journal_next_seq(j), 401);
    ASSERT_EQ(replay_count(j, 361), 40);
    append_n(j, 1);
    ASSERT_OK(journal_sync(j)); /* rolls: the current one is full */
    ASSERT_EQ(count_segments(dir), 2);
    ASSERT_EQ(replay_count(j, 361), 41);
    journal_close(j);
}

static void
test_skip_to(void)
{
    struct journal *j;
    char dir[256];

    jdir(dir, sizeof(dir), "skip");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    append_n(j, 5);
    ASSERT_EQ(journal_skip_to(j, 100), ERR_INVAL); /* pending */
    ASSERT_OK(journal_sync(j));
    ASSERT_OK(journal_skip_to(j, 3)); /* behind: no-op */
    ASSERT_EQ(journal_next_seq(j), 6);
    ASSERT_OK(journal_skip_to(j, 100));
    ASSERT_EQ(journal_next_seq(j), 100);
    ASSERT_EQ(journal_first_seq(j), 100);
    append_n(j, 2);
    ASSERT_OK(journal_sync(j));
    journal_close(j);
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_next_seq(j), 102);
    ASSERT_EQ(count_segments(dir), 1);
    ASSERT_EQ(replay_count(j, 100), 2);
    journal_close(j);
}

static void
test_lock(void)
{
    struct journal *j, *j2;
    char dir[256];

    jdir(dir, sizeof(dir), "lock");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_open(dir, 1 << 20, &j2), ERR_AGAIN);
    journal_close(j);
    ASSERT_OK(journal_open(dir, 1 << 20, &j2));
    journal_close(j2);
    ASSERT_EQ(journal_open(dir, 100, &j2), ERR_INVAL);
}

/*
 * A sync that fails half-way (the file-size limit makes pwrite fail with
 * EFBIG after a partial write) reports ERR_FULL, leaves the file at its
 * last durable length, and the journal keeps working once there is room.
 */
static void
test_sync_failure(void)
{
    struct journal *j;
    struct rlimit old, lim;
    char dir[256], path[512];
    uint8_t payload[1000];
    off_t durable;
    uint64_t seq;
    int i;

    jdir(dir, sizeof(dir), "efbig");
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    seg_path(path, sizeof(path), dir, 1);
    append_n(j, 10);
    ASSERT_OK(journal_sync(j));
    durable = file_size(path);

    ASSERT(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
    ASSERT(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)durable + 2500; /* room for 2.5 records */
    ASSERT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    memset(payload, 0x5a, sizeof(payload));
    for (i = 0; i < 5; i++)
        ASSERT_OK(journal_append(j, payload, sizeof(payload), &seq));
    ASSERT_EQ(seq, 15);
    ASSERT_EQ(journal_sync(j), ERR_FULL);
    ASSERT(setrlimit(RLIMIT_FSIZE, &old) == 0);
    /* Nothing half-written remains; the seqs are handed out again. */
    ASSERT_EQ(file_size(path), durable);
    ASSERT_EQ(journal_next_seq(j), 11);
    ASSERT_EQ(journal_pending_bytes(j), 0);
    ASSERT_EQ(replay_count(j, 1), 10);
    /* Room again: the journal goes on. */
    append_n(j, 3);
    ASSERT_OK(journal_sync(j));
    journal_close(j);
    ASSERT_OK(journal_open(dir, 1 << 20, &j));
    ASSERT_EQ(journal_next_seq(j), 14);
    ASSERT_EQ(replay_count(j, 1), 13);
    journal_close(j);
}

/* Rough cost of a group commit of 100 records of 256 bytes. */
static void
test_bench(void)
{
    struct journal *j;
    struct timespec a, b;
    uint8_t payload[256];
    char dir[256];
    uint64_t seq;
    int g, i;
    double s;

    jdir(dir, sizeof(dir), "bench");
    ASSERT_OK(journal_open(dir, 64 << 20, &j));
    memset(payload, 1, sizeof(payload));
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (g = 0; g < 50; g++) {
        for (i = 0; i < 100; i++)
            ASSERT_OK(journal_append(j, payload, sizeof(payload), &seq));
        ASSERT_OK(journal_sync(j));
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("bench: 50 syncs of 100 x 256-byte records: %.0f us/sync, "
           "%.0f records/s\n",
        s / 50 * 1e6, 5000 / s);
    journal_close(j);
}

int
main(void)
{
    log_init("test_journal", true);
    root = mkdtemp(tmpl);
    ASSERT(root != NULL);
    RUN(test_crc32c);
    RUN(test_append_sync_reopen);
    RUN(test_torn_tail_every_length);
    RUN(test_bit_flip_last_record);
    RUN(test_corrupt_older_segment);
    RUN(test_roll_and_release);
    RUN(test_skip_to);
    RUN(test_lock);
    RUN(test_sync_failure);
    RUN(test_bench);
    rm_rf(root);
    return 0;
}
