/*
 * test_prove.c - unit tests of scorer/prove: records by index with their
 *                inclusion proofs, from the tiles and by the pass
 *
 * Writes a log through the real writer (common/audit_log.c, its tiles
 * and checkpoints) in a fresh mkdtemp() directory, then asks
 * prove_records() for a subject's worth of records and checks that the
 * tiles path answers exactly what the whole-log pass answers (records,
 * proofs, checkpoint), that every proof verifies against the signed
 * root, that damaged tiles or bundles fail closed (ERR_CORRUPT, never a
 * silent fallback), and that a log without tiles still answers through
 * the pass. Issue 8: "proofs and subject reports scan the whole log:
 * 1.5 s at 1M records" (target under 1 s at 10M).
 *
 *   test_prove                   the tests
 *   test_prove bench DIR KEY K   times one report page (K records of one
 *                                subject, spread over the log) from the
 *                                tiles and by the pass, on a log made by
 *                                tests/tools/gen_audit_log
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/audit_tiles.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/xmalloc.h"
#include "scorer/prove.h"
#include "tests/harness/test.h"

#define ORIGIN  "vigil.test/prove"
#define RECORDS 3000u /* > 2 full tiles of 256 at level 0 and 1 bundle */
#define ASKED   12u

static char tmproot[] = "/tmp/vigil-test-prove-XXXXXX";
static char dir[256], keypath[256], vkey[NOTE_MAX_KEY];

static void
rm_rf(const char *d)
{
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    rc = system(cmd);
    (void)rc;
}

/* Record i names subject (i % 97): a subject's records are spread. */
static void
make_record(uint64_t i, struct audit_record *r)
{
    memset(r, 0, sizeof(*r));
    r->ts_ms = 1764115200000ULL + i;
    snprintf(r->actor, sizeof(r->actor), "shop-main");
    r->role = AUDIT_ROLE_STOREFRONT;
    snprintf(r->op, sizeof(r->op), "score.get");
    r->cats = AUDIT_CAT_SCORE;
    r->nsubj = 1;
    memset(r->subj[0], (int)(i % 97), AUDIT_SUBJECT_BYTES);
    snprintf(r->purpose, sizeof(r->purpose), "fraud-prevention");
    r->outcome = AUDIT_OUTCOME_ALLOWED;
    snprintf(r->ref, sizeof(r->ref), "r%" PRIu64, i);
}

/* The log: RECORDS records, committed every 100, archived every 1000
 * and at the end (so the last checkpoint covers them all). */
static void
write_log(void)
{
    char err[256];
    struct note_signer signer;
    struct audit_log *log;
    struct audit_record r;
    uint64_t idx;

    ASSERT(mkdtemp(tmproot) != NULL);
    snprintf(dir, sizeof(dir), "%s/audit", tmproot);
    snprintf(keypath, sizeof(keypath), "%s/signing.key", tmproot);
    ASSERT_OK(
        audit_key_load(keypath, ORIGIN, true, &signer, NULL, err, sizeof(err)));
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    note_signer_wipe(&signer);
    for (uint64_t i = 0; i < RECORDS; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
        if (i % 100 == 99)
            ASSERT_OK(audit_commit(log, NULL, NULL));
        if (i % 1000 == 999)
            ASSERT_OK(audit_checkpoint(log, r.ts_ms));
    }
    ASSERT_OK(audit_checkpoint(log, 0));
    snprintf(vkey, sizeof(vkey), "%s", audit_verifier_key(log));
    audit_log_close(log);
}

/* The indexes of subject `s`'s records below `size`, at most `cap`. */
static size_t
subject_items(unsigned s, uint64_t size, struct prove_item *it, size_t cap)
{
    size_t n = 0;

    for (uint64_t i = s; i < size && n < cap; i += 97)
        it[n++].index = i;
    return n;
}

/* Every item is the record written at its index, and its proof leads to
 * the checkpoint's signed root. */
static void
check_items(const struct prove_item *it, size_t n,
    const struct prove_checkpoint *ck, uint64_t size)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[MERKLE_HASH_BYTES], leaf[MERKLE_HASH_BYTES];
    uint64_t cksize;

    ASSERT_EQ(ck->size, size);
    ASSERT_OK(audit_checkpoint_open(vkey, (const uint8_t *)ck->note,
        ck->note_len, origin, &cksize, root, NULL));
    ASSERT_EQ(cksize, size);
    ASSERT_MEM_EQ(root, ck->root, sizeof(root));
    for (size_t i = 0; i < n; i++) {
        char ref[32];

        snprintf(ref, sizeof(ref), "r%" PRIu64, it[i].index);
        ASSERT_EQ(it[i].rec.index, it[i].index);
        ASSERT_STR_EQ(it[i].rec.ref, ref);
        merkle_leaf_hash(it[i].raw, it[i].raw_len, leaf);
        ASSERT_OK(merkle_verify_inclusion(it[i].index, size, leaf,
            (const uint8_t(*)[MERKLE_HASH_BYTES])it[i].hashes, it[i].n, root));
    }
}

/* Tiles and pass answer the same, and both verify. */
static void
test_tiles_match_pass(void)
{
    struct prove_item *a = xcalloc(ASKED, sizeof(*a));
    struct prove_item *b = xcalloc(ASKED, sizeof(*b));
    struct prove_checkpoint *ca = xcalloc(1, sizeof(*ca));
    struct prove_checkpoint *cb = xcalloc(1, sizeof(*cb));
    size_t n = subject_items(5, RECORDS, a, ASKED);

    subject_items(5, RECORDS, b, ASKED);
    ASSERT_EQ(n, ASKED);
    ASSERT_OK(prove_records(dir, vkey, RECORDS, a, n, true, ca));
    ASSERT_OK(prove_records_pass(dir, vkey, RECORDS, b, n, true, cb));
    check_items(a, n, ca, RECORDS);
    check_items(b, n, cb, RECORDS);
    ASSERT_STR_EQ(ca->note, cb->note);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(a[i].raw_len, b[i].raw_len);
        ASSERT_MEM_EQ(a[i].raw, b[i].raw, a[i].raw_len);
        ASSERT_EQ(a[i].n, b[i].n);
        ASSERT_MEM_EQ(a[i].hashes, b[i].hashes, a[i].n * MERKLE_HASH_BYTES);
    }
    /* An older archived size, from the tiles: the pass cannot (it
     * wants the latest checkpoint). */
    n = subject_items(7, 2000, a, ASKED);
    ASSERT_OK(prove_records(dir, vkey, 2000, a, n, true, ca));
    check_items(a, n, ca, 2000);
    ASSERT_EQ(prove_records_pass(dir, vkey, 2000, b, n, true, cb), ERR_AGAIN);
    /* Without proofs (erasure's use): records only. */
    n = subject_items(9, RECORDS, a, ASKED);
    ASSERT_OK(prove_records(dir, vkey, RECORDS, a, n, false, ca));
    ASSERT_EQ(a[0].n, 0u);
    ASSERT_EQ(a[0].rec.index, 9u);
    /* Bad requests. */
    a[0].index = RECORDS;
    ASSERT_EQ(prove_records(dir, vkey, RECORDS, a, 1, true, ca), ERR_INVAL);
    free(a);
    free(b);
    free(ca);
    free(cb);
}

/* Flip one byte of the file at `rel` (relative to the audit dir). */
static void
flip(const char *rel, off_t at)
{
    char path[512];
    uint8_t c;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    fd = open(path, O_RDWR);
    ASSERT(fd != -1);
    ASSERT_EQ(pread(fd, &c, 1, at), 1);
    c ^= 0x01;
    ASSERT_EQ(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

/* The offset of entry `k`'s first record byte in bundle `rel`. */
static off_t
bundle_offset(const char *rel, unsigned k)
{
    char path[512];
    uint8_t len[2];
    off_t at = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    fd = open(path, O_RDONLY);
    ASSERT(fd != -1);
    for (unsigned i = 0; i <= k; i++) {
        ASSERT_EQ(pread(fd, len, 2, at), 2);
        if (i < k)
            at += 2 + (((off_t)len[0] << 8) | len[1]);
    }
    close(fd);
    return at + 2;
}

/* A damaged hash tile or entry bundle: ERR_CORRUPT, not a fallback to
 * the pass (which would succeed: the records are intact). */
static void
test_damaged_tiles_fail_closed(void)
{
    struct prove_item *a = xcalloc(ASKED, sizeof(*a));
    struct prove_checkpoint *ck = xcalloc(1, sizeof(*ck));
    char tile[AUDIT_TILES_PATH];
    off_t at;
    size_t n;

    /* Level-0 tile 1 holds the leaf hashes of records 256..511. */
    audit_tiles_path(0, 1, 0, tile);
    flip(tile, 32 * 10 + 3);
    n = subject_items(5, RECORDS, a, ASKED);
    ASSERT_EQ(prove_records(dir, vkey, RECORDS, a, n, true, ck), ERR_CORRUPT);
    n = subject_items(5, RECORDS, a, ASKED);
    ASSERT_OK(prove_records_pass(dir, vkey, RECORDS, a, n, true, ck));
    flip(tile, 32 * 10 + 3);
    n = subject_items(5, RECORDS, a, ASKED);
    ASSERT_OK(prove_records(dir, vkey, RECORDS, a, n, true, ck));

    /* Entry bundle 0 holds records 0..255 (each a big-endian u16
     * length, then the record): a byte inside record 5. */
    audit_tiles_path(AUDIT_TILES_ENTRIES, 0, 0, tile);
    at = bundle_offset(tile, 5) + 10;
    flip(tile, at);
    n = subject_items(5, RECORDS, a, ASKED);
    ASSERT_EQ(prove_records(dir, vkey, RECORDS, a, n, true, ck), ERR_CORRUPT);
    flip(tile, at);
    n = subject_items(5, RECORDS, a, ASKED);
    ASSERT_OK(prove_records(dir, vkey, RECORDS, a, n, true, ck));
    free(a);
    free(ck);
}

/* No tiles at all (a log from before them): the pass answers. */
static void
test_no_tiles_takes_the_pass(void)
{
    struct prove_item *a = xcalloc(ASKED, sizeof(*a));
    struct prove_checkpoint *ck = xcalloc(1, sizeof(*ck));
    char cmd[600];
    size_t n;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s/tile'", dir);
    ASSERT_EQ(system(cmd), 0);
    n = subject_items(11, RECORDS, a, ASKED);
    ASSERT_OK(prove_records(dir, vkey, RECORDS, a, n, true, ck));
    check_items(a, n, ck, RECORDS);
    free(a);
    free(ck);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* test_prove bench DIR KEY K: K records 7919 apart from the log's end
 * backwards (one subject's page), from the tiles, then by the pass. */
static int
bench(const char *d, const char *key, const char *kstr)
{
    struct prove_item *it;
    struct prove_checkpoint *ck = xcalloc(1, sizeof(*ck));
    char origin[AUDIT_MAX_ORIGIN + 1], *note;
    uint8_t root[MERKLE_HASH_BYTES];
    size_t k = (size_t)strtoul(kstr, NULL, 10), n = 0;
    uint64_t size;
    double t0, t1, t2;
    int rc;

    note = xmalloc(AUDIT_MAX_NOTE_BYTES + 1);
    {
        struct audit_tree *t;

        if (audit_tree_open_dir(d, key, 0, &t) != 0)
            return 1;
        size = audit_tree_size(t);
        snprintf(note, AUDIT_MAX_NOTE_BYTES + 1, "%s", audit_tree_note(t));
        audit_tree_close(t);
    }
    if (audit_checkpoint_open(key, (const uint8_t *)note, strlen(note), origin,
            &size, root, NULL) != 0 ||
        k == 0)
        return 1;
    it = xcalloc(k, sizeof(*it));
    for (uint64_t i = size - 1; n < k && i >= 7919; i -= 7919)
        it[k - 1 - n++].index = i;
    memmove(it, it + (k - n), n * sizeof(*it));
    t0 = now_s();
    rc = prove_records(d, key, size, it, n, true, ck);
    t1 = now_s();
    printf("tiles  %zu records of %" PRIu64 ": %.3f s (rc %d)\n", n, size,
        t1 - t0, rc);
    rc = prove_records_pass(d, key, size, it, n, true, ck);
    t2 = now_s();
    printf("pass   %zu records of %" PRIu64 ": %.3f s (rc %d)\n", n, size,
        t2 - t1, rc);
    free(it);
    free(ck);
    free(note);
    return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    log_init("test_prove", true);
    if (sodium_init() < 0)
        return 1;
    if (argc == 5 && strcmp(argv[1], "bench") == 0)
        return bench(argv[2], argv[3], argv[4]);
    write_log();
    RUN(test_tiles_match_pass);
    RUN(test_damaged_tiles_fail_closed);
    RUN(test_no_tiles_takes_the_pass);
    rm_rf(tmproot);
    return 0;
}
