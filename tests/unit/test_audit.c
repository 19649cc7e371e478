/*
 * test_audit.c - unit tests of common/audit_*: record codec, writer, verifier
 *
 * Codec: round trips, canonical form, every strict-decode rejection.
 * Writer: append/sync/reopen, torn-tail repair at every cut length, sync
 * failure through RLIMIT_FSIZE (nothing half-written, recovers later),
 * checkpoints, lock, origin. Verifier: damaged logs made from a valid one
 * (bit flip, dropped, swapped, duplicated record, truncated tail, forged
 * checkpoint, other key, CRC recomputed after an edit, missing segment)
 * give the right record number and reason; proofs check.
 *
 * Invariants:
 *  - every test works in its own mkdtemp directory, removed at the end.
 *
 * See also: common/audit.h, tests/integration/test_audit_verify.py
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/audit_tiles.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "tests/harness/test.h"

#define ORIGIN "vigil.test/audit"
#define SEG0   "records-00000000000000000000.log"

static char tmproot[] = "/tmp/vigil-test-audit-XXXXXX";
static int ndirs;
static struct note_signer signer; /* the log's key, made in main() */

/* ------------------------------------------------------------ helpers */

static char *
newdir(void)
{
    static char path[256];

    snprintf(path, sizeof(path), "%s/d%d", tmproot, ndirs++);
    return path;
}

static void
rmrf(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ASSERT_EQ(system(cmd), 0);
}

static void
copydir(const char *from, const char *to)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    ASSERT_EQ(system(cmd), 0);
}

/* Send stderr to /dev/null (on) or back (off). */
static void
quiet(bool on)
{
    static int saved = -1;
    int fd;

    fflush(stderr);
    if (on) {
        saved = dup(2);
        fd = open("/dev/null", O_WRONLY);
        ASSERT(saved != -1 && fd != -1);
        ASSERT_EQ(dup2(fd, 2), 2);
        close(fd);
    } else {
        ASSERT_EQ(dup2(saved, 2), 2);
        close(saved);
    }
}

/* The name of the segment with the largest first index. */
static void
last_segment(const char *dir, char *out, size_t outlen)
{
    struct dirent *de;
    DIR *d = opendir(dir);

    ASSERT(d != NULL);
    out[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "records-", 8) == 0 &&
            strcmp(de->d_name, out) > 0)
            snprintf(out, outlen, "%s", de->d_name);
    }
    closedir(d);
    ASSERT(out[0] != '\0');
}

static uint8_t *
slurp(const char *dir, const char *name, size_t *len)
{
    char path[512];
    struct stat st;
    uint8_t *p;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    ASSERT(f != NULL);
    ASSERT_EQ(fstat(fileno(f), &st), 0);
    p = malloc((size_t)st.st_size + 1);
    ASSERT(p != NULL);
    *len = fread(p, 1, (size_t)st.st_size, f);
    ASSERT_EQ(*len, st.st_size);
    fclose(f);
    return p;
}

static void
spit(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite(p, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

static void
rmfile(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ASSERT_EQ(unlink(path), 0);
}

static void
make_record(uint64_t i, struct audit_record *r)
{
    memset(r, 0, sizeof(*r));
    r->ts_ms = 1764115200000ULL + i;
    snprintf(r->actor, sizeof(r->actor), "shop-%" PRIu64, i % 3);
    r->role = (enum audit_role)(i % AUDIT_ROLE_COUNT);
    snprintf(r->op, sizeof(r->op), "%s", i % 2 ? "score.get" : "event.store");
    r->cats = (uint32_t)(i * 37) & AUDIT_CAT_ALL;
    r->nsubj = (unsigned)(i % 4);
    for (unsigned k = 0; k < r->nsubj; k++)
        memset(r->subj[k], (int)(i + k), AUDIT_SUBJECT_BYTES);
    snprintf(r->purpose, sizeof(r->purpose), "fraud-prevention");
    r->outcome = (enum audit_outcome)(i % AUDIT_OUTCOME_COUNT);
    snprintf(r->ref, sizeof(r->ref), "evt-%" PRIu64, i);
    if (i % 3 != 0) {
        snprintf(r->peer, sizeof(r->peer), "%s",
            i % 2 ? "[fe80::1%eth0]" : "127.0.0.1");
        r->size = i * 1000;
    }
}

/* Append records [from, to) to an open log, syncing every `every`. */
static void
append_n(struct audit_log *log, uint64_t from, uint64_t to, uint64_t every)
{
    struct audit_record r;
    uint64_t idx;

    for (uint64_t i = from; i < to; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
        ASSERT_EQ(idx, i);
        ASSERT_EQ(r.index, i);
        if ((i + 1) % every == 0)
            ASSERT_OK(audit_sync(log));
    }
    ASSERT_OK(audit_sync(log));
}

/* A log of n records with a checkpoint every `every` and at the end. */
static void
make_log(const char *dir, uint64_t n, uint64_t every, uint64_t segbytes)
{
    struct audit_log *log;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    if (segbytes)
        audit_log_set_segment_bytes(log, segbytes);
    for (uint64_t i = 0; i < n; i += every) {
        append_n(log, i, i + every < n ? i + every : n, 7);
        ASSERT_OK(audit_checkpoint(log, 0));
    }
    ASSERT_EQ(audit_size(log), n);
    audit_log_close(log);
}

/* Offsets of the frames of one segment file. */
static size_t
frames(const uint8_t *p, size_t len, size_t *off, size_t max)
{
    size_t n = 0, o = 0;

    while (o + 8 <= len && n < max) {
        uint32_t l = (uint32_t)p[o] | (uint32_t)p[o + 1] << 8 |
            (uint32_t)p[o + 2] << 16 | (uint32_t)p[o + 3] << 24;

        off[n++] = o;
        o += 8 + l;
    }
    off[n] = o;
    return n;
}

static void
expect_fail(const char *dir, const char *key, uint64_t record, uint64_t ckpt,
    const char *needle)
{
    struct audit_verify_result res;
    int rc;

    rc = audit_verify(dir, key, &res);
    if (rc != ERR_CORRUPT)
        TEST_FAIL("verify '%s' returned %d (%s), want ERR_CORRUPT", dir, rc,
            res.reason);
    ASSERT(!res.ok);
    if (res.bad_record != record || res.bad_checkpoint != ckpt ||
        strstr(res.reason, needle) == NULL)
        TEST_FAIL("verify '%s': record %" PRIu64 " checkpoint %" PRIu64
                  " reason '%s'; want record %" PRIu64 " checkpoint %" PRIu64
                  " and '%s'",
            dir, res.bad_record, res.bad_checkpoint, res.reason, record, ckpt,
            needle);
}

static void
expect_ok(const char *dir, const char *key, uint64_t records)
{
    struct audit_verify_result res;
    int rc;

    rc = audit_verify(dir, key, &res);
    if (rc != 0)
        TEST_FAIL("verify '%s': %d: %s %s@%" PRIu64, dir, rc, res.reason,
            res.file, res.offset);
    ASSERT(res.ok);
    ASSERT_EQ(res.records, records);
}

/* -------------------------------------------------------------- codec */

static void
test_roundtrip(void)
{
    static const uint64_t idx[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
        UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX };
    uint8_t buf[AUDIT_MAX_RECORD_BYTES], buf2[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r, d;
    size_t n, n2;

    for (size_t k = 0; k < ARRAY_LEN(idx); k++) {
        make_record(k, &r);
        r.index = idx[k];
        r.ts_ms = idx[ARRAY_LEN(idx) - 1 - k];
        ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
        ASSERT_OK(audit_record_decode(buf, n, &d, NULL));
        ASSERT_EQ(d.index, r.index);
        ASSERT_EQ(d.ts_ms, r.ts_ms);
        ASSERT_STR_EQ(d.actor, r.actor);
        ASSERT_EQ(d.role, r.role);
        ASSERT_STR_EQ(d.op, r.op);
        ASSERT_EQ(d.cats, r.cats);
        ASSERT_EQ(d.nsubj, r.nsubj);
        ASSERT_MEM_EQ(d.subj, r.subj, r.nsubj * AUDIT_SUBJECT_BYTES);
        ASSERT_STR_EQ(d.purpose, r.purpose);
        ASSERT_EQ(d.outcome, r.outcome);
        ASSERT_STR_EQ(d.ref, r.ref);
        ASSERT_STR_EQ(d.peer, r.peer);
        ASSERT_EQ(d.size, r.size);
        ASSERT_EQ(d.version, AUDIT_VERSION);
        ASSERT_OK(audit_record_encode(&d, buf2, sizeof(buf2), &n2));
        ASSERT_EQ(n2, n);
        ASSERT_MEM_EQ(buf2, buf, n);
    }

    /* The largest record: every field at its maximum. */
    memset(&r, 0, sizeof(r));
    r.index = UINT64_MAX;
    r.ts_ms = UINT64_MAX;
    memset(r.actor, 'a', AUDIT_MAX_ACTOR);
    memset(r.op, 'o', AUDIT_MAX_OP);
    r.cats = AUDIT_CAT_ALL;
    r.nsubj = AUDIT_MAX_SUBJECTS;
    memset(r.purpose, 'p', AUDIT_MAX_PURPOSE);
    memset(r.ref, 'r', AUDIT_MAX_REF);
    memset(r.peer, '9', AUDIT_MAX_PEER);
    r.size = UINT64_MAX;
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    ASSERT(n <= AUDIT_MAX_RECORD_BYTES);
    ASSERT_OK(audit_record_decode(buf, n, &d, NULL));
    ASSERT_EQ(d.nsubj, 16);
    ASSERT_EQ(d.cats, AUDIT_CAT_ALL);
    ASSERT_EQ(audit_record_encode(&r, buf, n - 1, &n2), ERR_TOOBIG);

    /* UTF-8 actor and empty ref are allowed. */
    make_record(1, &r);
    snprintf(r.actor, sizeof(r.actor), "analyst-J\xc3\xb6rg");
    r.ref[0] = '\0';
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    ASSERT_OK(audit_record_decode(buf, n, &d, NULL));
    ASSERT_STR_EQ(d.actor, r.actor);
    ASSERT_STR_EQ(d.ref, "");

    /* Exact bytes of a small version-1 record (the spec's worked example,
     * vigil-audit.5): logs written before version 2 still decode. */
    memset(&r, 0, sizeof(r));
    r.version = 1;
    r.index = 0;
    r.ts_ms = 1;
    snprintf(r.actor, sizeof(r.actor), "a");
    r.role = AUDIT_ROLE_SYSTEM;
    snprintf(r.op, sizeof(r.op), "x");
    r.cats = AUDIT_CAT_IP;
    snprintf(r.purpose, sizeof(r.purpose), "p");
    r.outcome = AUDIT_OUTCOME_ALLOWED;
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    {
        static const uint8_t want[] = { 0x8b, 0xa1, 'v', 0x01, 0xa1, 'i', 0x00,
            0xa2, 't', 's', 0x01, 0xa5, 'a', 'c', 't', 'o', 'r', 0xa1, 'a',
            0xa4, 'r', 'o', 'l', 'e', 0xa6, 's', 'y', 's', 't', 'e', 'm', 0xa2,
            'o', 'p', 0xa1, 'x', 0xa4, 'c', 'a', 't', 's', 0x91, 0xa2, 'i', 'p',
            0xa4, 's', 'u', 'b', 'j', 0x90, 0xa7, 'p', 'u', 'r', 'p', 'o', 's',
            'e', 0xa1, 'p', 0xa7, 'o', 'u', 't', 'c', 'o', 'm', 'e', 0xa7, 'a',
            'l', 'l', 'o', 'w', 'e', 'd', 0xa3, 'r', 'e', 'f', 0xa0 };

        ASSERT_EQ(n, sizeof(want));
        ASSERT_MEM_EQ(buf, want, n);
        ASSERT_OK(audit_record_decode(want, sizeof(want), &d, NULL));
        ASSERT_EQ(d.version, 1);
        ASSERT_STR_EQ(d.peer, "");
        ASSERT_EQ(d.size, 0);
    }
    /* The same record in version 2, with a peer and a size. */
    r.version = 0;
    snprintf(r.peer, sizeof(r.peer), "10.0.0.1");
    r.size = 300;
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    {
        static const uint8_t want[] = { 0x8d, 0xa1, 'v', 0x02, 0xa1, 'i', 0x00,
            0xa2, 't', 's', 0x01, 0xa5, 'a', 'c', 't', 'o', 'r', 0xa1, 'a',
            0xa4, 'r', 'o', 'l', 'e', 0xa6, 's', 'y', 's', 't', 'e', 'm', 0xa2,
            'o', 'p', 0xa1, 'x', 0xa4, 'c', 'a', 't', 's', 0x91, 0xa2, 'i', 'p',
            0xa4, 's', 'u', 'b', 'j', 0x90, 0xa7, 'p', 'u', 'r', 'p', 'o', 's',
            'e', 0xa1, 'p', 0xa7, 'o', 'u', 't', 'c', 'o', 'm', 'e', 0xa7, 'a',
            'l', 'l', 'o', 'w', 'e', 'd', 0xa3, 'r', 'e', 'f', 0xa0, 0xa4, 'p',
            'e', 'e', 'r', 0xa8, '1', '0', '.', '0', '.', '0', '.', '1', 0xa4,
            's', 'i', 'z', 'e', 0xcd, 0x01, 0x2c };

        ASSERT_EQ(n, sizeof(want));
        ASSERT_MEM_EQ(buf, want, n);
    }
    /* Version 1 cannot carry the version-2 fields. */
    r.version = 1;
    ASSERT_EQ(audit_record_encode(&r, buf, sizeof(buf), &n), ERR_INVAL);
}

static void
test_encode_rejects(void)
{
    uint8_t buf[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r;
    size_t n;

#define REJECT(mutation)                                                       \
    do {                                                                       \
        make_record(3, &r);                                                    \
        mutation;                                                              \
        ASSERT_EQ(audit_record_encode(&r, buf, sizeof(buf), &n), ERR_INVAL);   \
    } while (0)
    REJECT(r.actor[0] = '\0');
    REJECT(r.actor[1] = '\n');
    REJECT(r.actor[1] = '\x7f');
    REJECT(r.actor[1] = '\xc3'); /* truncated UTF-8 */
    REJECT(memset(r.actor, 'a', sizeof(r.actor)));
    REJECT(r.role = AUDIT_ROLE_COUNT);
    REJECT(r.op[0] = 'A');
    REJECT(r.op[0] = '\0');
    REJECT(r.op[2] = ' ');
    REJECT(r.cats = 1u << 8);
    REJECT(r.nsubj = 17);
    REJECT(r.purpose[0] = '\0');
    REJECT(r.purpose[0] = '/');
    REJECT(r.outcome = AUDIT_OUTCOME_COUNT);
    REJECT(r.ref[0] = '\t');
    REJECT(memset(r.ref, 'r', sizeof(r.ref)));
    REJECT(snprintf(r.peer, sizeof(r.peer), "1.2.3.4 x"));
    REJECT(snprintf(r.peer, sizeof(r.peer), "a/b"));
    REJECT(memset(r.peer, '1', sizeof(r.peer)));
    REJECT(r.version = 3);
#undef REJECT
}

/* Splice: replace bytes [at, at+cut) of a valid record by `ins`. */
static int
decode_spliced(
    size_t at, size_t cut, const char *ins, size_t inslen, const char **why)
{
    uint8_t buf[AUDIT_MAX_RECORD_BYTES], out[AUDIT_MAX_RECORD_BYTES + 64];
    struct audit_record r;
    size_t n;

    make_record(2, &r);
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    ASSERT(at + cut <= n);
    memcpy(out, buf, at);
    memcpy(out + at, ins, inslen);
    memcpy(out + at + inslen, buf + at + cut, n - at - cut);
    return audit_record_decode(out, n - cut + inslen, &r, why);
}

/* Offset of the value of `key` in the encoding of make_record(2). */
static size_t
value_at(const char *key)
{
    uint8_t buf[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r;
    size_t n, kl = strlen(key);

    make_record(2, &r);
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    for (size_t i = 0; i + kl + 1 < n; i++) {
        if (buf[i] == (0xa0 | kl) && memcmp(buf + i + 1, key, kl) == 0)
            return i + 1 + kl;
    }
    TEST_FAIL("key %s not found", key);
}

static void
test_decode_rejects(void)
{
    uint8_t buf[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r, d;
    const char *why;
    size_t n;

    make_record(2, &r); /* index 2, role auditor, cats, 2 subjects */
    ASSERT_OK(audit_record_encode(&r, buf, sizeof(buf), &n));
    ASSERT_OK(audit_record_decode(buf, n, &d, &why));

    /* Every strict prefix and a trailing byte are rejected. */
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ(audit_record_decode(buf, k, &d, NULL), ERR_MALFORMED);
    buf[n] = 0xc0;
    ASSERT_EQ(audit_record_decode(buf, n + 1, &d, &why), ERR_MALFORMED);
    ASSERT(strstr(why, "after") != NULL);
    ASSERT_EQ(audit_record_decode(buf, AUDIT_MAX_RECORD_BYTES + 1, &d, &why),
        ERR_MALFORMED);

#define BAD(at, cut, ins, needle)                                              \
    do {                                                                       \
        why = NULL;                                                            \
        ASSERT_EQ(decode_spliced((at), (cut), (ins), sizeof(ins) - 1, &why),   \
            ERR_MALFORMED);                                                    \
        if (strstr(why, (needle)) == NULL)                                     \
            TEST_FAIL("reason '%s' lacks '%s'", why, (needle));                \
    } while (0)
    BAD(0, 1, "\x8c", "13 entries");         /* 12 entries */
    BAD(0, 1, "\xde\x00\x0d", "13 entries"); /* map16 */
    BAD(0, 1, "\x8b", "version");            /* 11 entries, version 2 */
    BAD(1, 2, "\xa1w", "\"v\"");             /* wrong key */
    BAD(value_at("v"), 1, "\x03", "version");
    BAD(value_at("v"), 1, "\x01", "version");      /* 13 entries, version 1 */
    BAD(value_at("v"), 1, "\xcc\x01", "shortest"); /* non-shortest */
    BAD(value_at("i"), 1, "\xcd\x00\x02", "shortest");
    BAD(value_at("i"), 1, "\xd0\x02", "\"i\""); /* int8 */
    BAD(value_at("i"), 1, "\xc2", "\"i\"");     /* false */
    BAD(value_at("actor"), 0,
        "\xd9\x03"
        "abc",
        "shortest");
    BAD(value_at("actor"), 7, "\xa0", "actor");           /* "shop-2" */
    BAD(value_at("actor"), 7, "\xc4\x06shop-2", "actor"); /* bin */
    BAD(value_at("role"), 8, "\xa4root", "role");         /* "auditor" */
    BAD(value_at("op"), 12,
        "\xab"
        "Event.store",
        "op");
    BAD(value_at("cats"), 0,
        "\x92\xa2ip\xa6"
        "device",
        "order");
    BAD(value_at("cats"), 0, "\x92\xa2ip\xa2ip", "order");
    BAD(value_at("cats"), 0,
        "\x91\xa4"
        "disk",
        "category");
    BAD(value_at("subj"), 1,
        "\x91\xc4\x0f"
        "123456789012345",
        "16-byte");
    BAD(value_at("subj"), 1, "\xdc\x00\x01", "shortest");
    BAD(value_at("subj"), 1, "\x91\xa0", "16-byte");
    BAD(value_at("purpose"), 17, "\xa0", "purpose");
    BAD(value_at("outcome"), 8, "\xa2ok", "outcome");
    BAD(value_at("peer"), 10,
        "\xa5"
        "a b c",
        "peer"); /* "127.0.0.1" */
    BAD(value_at("peer") - 5, 5, "\xa4paer", "key 12");
    BAD(value_at("size"), 3, "\xd0\x01", "\"size\""); /* 2000 -> int8 */
    BAD(value_at("size"), 3, "\xcc\x07", "shortest");
#undef BAD

    /* Random single-byte corruptions never crash and either fail or
     * still decode to a record that re-encodes to the same bytes. */
    for (size_t k = 0; k < n; k++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t m[AUDIT_MAX_RECORD_BYTES], e[AUDIT_MAX_RECORD_BYTES];
            size_t en;

            memcpy(m, buf, n);
            m[k] ^= (uint8_t)(1u << bit);
            if (audit_record_decode(m, n, &d, NULL) != 0)
                continue;
            ASSERT_OK(audit_record_encode(&d, e, sizeof(e), &en));
            ASSERT_EQ(en, n);
            ASSERT_MEM_EQ(e, m, n);
        }
    }
}

/* -------------------------------------------------------- signing key */

static void
test_signing_key(void)
{
    char *dir = newdir(), path[512], err[512], origin[AUDIT_MAX_ORIGIN + 1];
    struct note_signer a, b;
    bool created;
    size_t len;
    uint8_t *p;

    ASSERT_EQ(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/audit-signing.key", dir);
    ASSERT_EQ(audit_key_load(path, NULL, false, &a, &created, err, sizeof(err)),
        ERR_NOTFOUND);

    /* Made on first use with the default origin, 0600, then reloaded. */
    ASSERT_OK(audit_key_load(path, "", true, &a, &created, err, sizeof(err)));
    ASSERT(created);
    ASSERT(audit_origin_is_valid(a.name));
    ASSERT(strstr(a.name, "/vigil-audit/") != NULL);
    ASSERT_OK(audit_key_load(path, NULL, true, &b, &created, err, sizeof(err)));
    ASSERT(!created);
    ASSERT_STR_EQ(a.name, b.name);
    ASSERT_MEM_EQ(a.sk, b.sk, sizeof(a.sk));
    note_signer_wipe(&b);
    /* The origin is fixed by the key. */
    ASSERT_OK(
        audit_key_load(path, a.name, false, &b, &created, err, sizeof(err)));
    note_signer_wipe(&b);
    ASSERT_EQ(audit_key_load(path, "other.example/log", false, &b, &created,
                  err, sizeof(err)),
        ERR_INVAL);
    ASSERT(strstr(err, "other.example/log") != NULL);
    /* Readable by others: refused, not repaired. */
    ASSERT_EQ(chmod(path, 0640), 0);
    ASSERT_EQ(audit_key_load(path, NULL, false, &b, &created, err, sizeof(err)),
        ERR_DENIED);
    ASSERT_EQ(chmod(path, 0604), 0);
    ASSERT_EQ(audit_key_load(path, NULL, false, &b, &created, err, sizeof(err)),
        ERR_DENIED);
    ASSERT_EQ(chmod(path, 0600), 0);
    /* Not a key. */
    p = slurp(dir, "audit-signing.key", &len);
    spit(dir, "audit-signing.key", (const uint8_t *)"PRIVATE+KEY+x\n", 14);
    ASSERT_EQ(audit_key_load(path, NULL, false, &b, &created, err, sizeof(err)),
        ERR_MALFORMED);
    sodium_memzero(p, len);
    free(p);
    /* A chosen origin; a bad one refused. */
    snprintf(path, sizeof(path), "%s/chosen.key", dir);
    ASSERT_OK(audit_key_load(
        path, "shop.example/audit", true, &b, &created, err, sizeof(err)));
    ASSERT_STR_EQ(b.name, "shop.example/audit");
    note_signer_wipe(&b);
    snprintf(path, sizeof(path), "%s/bad.key", dir);
    ASSERT_EQ(audit_key_load(
                  path, "bad origin", true, &b, &created, err, sizeof(err)),
        ERR_INVAL);
    ASSERT_OK(audit_key_default_origin(origin, sizeof(origin)));
    ASSERT(audit_origin_is_valid(origin));
    ASSERT_EQ(audit_key_default_origin(origin, 8), ERR_TOOBIG);
    note_signer_wipe(&a);
    rmrf(dir);
}


/*
 * The head file (DIR/checkpoint) is rewritten in place at every commit
 * and never fsynced (issue 8 asked: fsync it, or show why not). Why not:
 * (1) it is signed only after audit_sync() made the records it covers
 * durable, so no head, synced or not, claims a record a crash can lose;
 * (2) what refuses a rollback is the anchor the scorer keeps outside the
 * directory (its LMDB, at every flush) and the fsynced archive, never
 * the head; (3) the next commit rewrites it (the scorer commits
 * service.start at every start), and one fsync per group commit would
 * cost every event a second disk flush for a file nothing depends on.
 * So each state a power cut can leave the head in (torn, garbage,
 * stale, gone) is tried here: the writer opens with the anchor and loses
 * nothing, the next commit writes the head again, the auditor's saved
 * copy of the lost head still verifies; and a rollback with the head
 * gone is still refused, by the anchor and by the saved head.
 */
static void
test_head_unsynced(void)
{
    char *dir = newdir(), work[300], key[NOTE_MAX_KEY];
    char origin[AUDIT_MAX_ORIGIN + 1], seg[128];
    struct audit_verify_result res;
    struct audit_anchor an;
    struct audit_saved saved;
    struct audit_log *log;
    const char *note;
    uint8_t *old, *h;
    size_t nlen, oldlen, hlen, off[64], nf, slen;
    uint64_t size;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    snprintf(key, sizeof(key), "%s", audit_verifier_key(log));
    append_n(log, 0, 10, 5);
    ASSERT_OK(audit_commit(log, &note, &nlen));
    oldlen = nlen;
    old = malloc(nlen);
    ASSERT(old != NULL);
    memcpy(old, note, nlen); /* the head of 10 records */
    append_n(log, 10, 25, 5);
    ASSERT_OK(audit_commit(log, &note, &nlen));
    /* What the scorer stores at its flush, and what an auditor saved. */
    memset(&an, 0, sizeof(an));
    ASSERT_OK(audit_checkpoint_open(
        key, (const uint8_t *)note, nlen, origin, &an.size, an.root, NULL));
    ASSERT_EQ(an.size, 25u);
    memset(&saved, 0, sizeof(saved));
    saved.size = an.size;
    memcpy(saved.root, an.root, sizeof(saved.root));
    snprintf(saved.what, sizeof(saved.what), "the saved head");
    audit_log_close(log);
    snprintf(work, sizeof(work), "%s-w", dir);

    quiet(true); /* "not a valid signed checkpoint (torn by a crash?)" */
    for (int c = 0; c < 4; c++) {
        copydir(dir, work);
        h = slurp(work, "checkpoint", &hlen);
        if (c == 0)
            spit(work, "checkpoint", h, hlen / 2); /* torn */
        if (c == 1) {
            memset(h, 'x', hlen); /* a page that never made it */
            spit(work, "checkpoint", h, hlen);
        }
        if (c == 2)
            spit(work, "checkpoint", old, oldlen); /* stale */
        if (c == 3)
            rmfile(work, "checkpoint"); /* never written */
        free(h);
        ASSERT_OK(audit_log_open(work, &signer, &an, &log));
        ASSERT_EQ(audit_size(log), 25u); /* nothing lost */
        append_n(log, 25, 26, 1);
        ASSERT_OK(audit_commit(log, NULL, NULL));
        audit_log_close(log);
        h = slurp(work, "checkpoint", &hlen);
        ASSERT_OK(audit_checkpoint_open(key, h, hlen, origin, &size, an.root,
            NULL)); /* an.root: scratch; the anchor's root is kept below */
        ASSERT_EQ(size, 26u);
        free(h);
        memcpy(an.root, saved.root, sizeof(an.root));
        ASSERT_OK(audit_verify_saved(work, key, &saved, 1, &res));
        ASSERT_EQ(res.records, 26u);
    }

    /* A rollback with the head and the archive gone: the anchor and the
     * auditor's saved head still refuse it. */
    copydir(dir, work);
    rmfile(work, "checkpoint");
    rmfile(work, "checkpoints.log");
    last_segment(work, seg, sizeof(seg));
    h = slurp(work, seg, &slen);
    nf = frames(h, slen, off, 63);
    ASSERT(nf >= 3);
    spit(work, seg, h, off[nf - 3]); /* the last 3 records cut */
    free(h);
    ASSERT_EQ(audit_log_open(work, &signer, &an, &log), ERR_CORRUPT);
    quiet(false);
    ASSERT_EQ(audit_verify_saved(work, key, &saved, 1, &res), ERR_CORRUPT);
    ASSERT(strstr(res.reason, "log truncated") != NULL);
    free(old);
    rmrf(work);
    rmrf(dir);
}

/* -------------------------------------------- one write per group */

/* Append records [from, to) and take their frames as the owner's
 * journal would (appended to j[*jlen..]), then write them unsynced and
 * commit them as journaled. */
static void
group_journaled(struct audit_log *log, uint64_t from, uint64_t to, uint8_t *j,
    size_t *jlen, size_t jcap)
{
    struct audit_record r;
    const uint8_t *p;
    uint64_t idx;
    size_t plen;

    for (uint64_t i = from; i < to; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
    }
    p = audit_pending_frames(log, &plen);
    ASSERT(*jlen + plen <= jcap);
    memcpy(j + *jlen, p, plen);
    *jlen += plen;
    ASSERT_OK(audit_write(log));
    ASSERT_EQ(audit_size(log), from); /* written, not durable */
    ASSERT_OK(audit_commit_journaled(log, NULL, NULL));
    ASSERT_EQ(audit_size(log), to);
}

/* Cut the last segment of `dir` to `keep` records plus `extra` bytes of
 * the next frame (a torn write). */
static void
cut_to(const char *dir, size_t keep, size_t extra)
{
    char seg[128];
    size_t off[64], nf, slen;
    uint8_t *h;

    last_segment(dir, seg, sizeof(seg));
    h = slurp(dir, seg, &slen);
    nf = frames(h, slen, off, 63);
    ASSERT(keep < nf);
    spit(dir, seg, h, off[keep] + extra);
    free(h);
}

static void
test_journaled_heal(void)
{
    char *dir = newdir(), work[300], key[NOTE_MAX_KEY];
    static uint8_t j[64 * 1024], bad[64 * 1024];
    struct audit_record r;
    struct audit_heal h;
    struct audit_log *log;
    size_t jlen = 0, off, elen;
    uint64_t floor;
    int k;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    snprintf(key, sizeof(key), "%s", audit_verifier_key(log));
    append_n(log, 0, 10, 5);
    ASSERT_EQ(audit_synced(log), 10u);
    floor = audit_synced(log);
    group_journaled(log, 10, 15, j, &jlen, sizeof(j));
    group_journaled(log, 15, 20, j, &jlen, sizeof(j));
    ASSERT_EQ(audit_synced(log), 10u); /* no sync since */
    /* head_interval 0: DIR/checkpoint signs 20, past the synced 10. */
    audit_log_close(log);
    expect_ok(dir, key, 20); /* nothing was lost: the page cache */
    snprintf(work, sizeof(work), "%s-w", dir);
    memset(&h, 0, sizeof(h));
    h.floor = floor;
    h.frames = j;
    h.len = jlen;

    quiet(true);
    /* A power cut took the unsynced tail (torn inside record 12): without
     * the journal's copy the head says the log was truncated. */
    for (k = 0; k < 2; k++) {
        copydir(dir, work);
        cut_to(work, 12, k == 0 ? 0 : 5);
        ASSERT_EQ(audit_log_open(work, &signer, NULL, &log), ERR_CORRUPT);
        ASSERT_OK(audit_log_open_heal(work, &signer, NULL, &h, &log));
        ASSERT_EQ(audit_size(log), 20u);
        ASSERT_EQ(audit_synced(log), 20u);
        ASSERT_EQ(audit_log_repair(log)->healed, 8u);
        ASSERT_EQ(audit_log_repair(log)->at_index, 12u);
        audit_log_close(log);
        expect_ok(work, key, 20);
        /* Again: everything is there, nothing is appended twice. */
        ASSERT_OK(audit_log_open_heal(work, &signer, NULL, &h, &log));
        ASSERT_EQ(audit_size(log), 20u);
        ASSERT_EQ(audit_log_repair(log)->healed, 0u);
        audit_log_close(log);
        expect_ok(work, key, 20);
    }

    /* Cut below what was synced (the journal's floor): refused, also
     * with the head and the archive gone. */
    copydir(dir, work);
    cut_to(work, 9, 0);
    rmfile(work, "checkpoint");
    rmfile(work, "checkpoints.log");
    ASSERT_EQ(audit_log_open_heal(work, &signer, NULL, &h, &log), ERR_CORRUPT);
    /* ... and a torn record below the floor is not forgiven. */
    copydir(dir, work);
    cut_to(work, 9, 5);
    ASSERT_EQ(audit_log_open_heal(work, &signer, NULL, &h, &log), ERR_CORRUPT);

    /* A gap: the journal holds only 15..19 and the log ends at 12. */
    copydir(dir, work);
    cut_to(work, 12, 0);
    for (off = 0, k = 10; k < 15; k++) /* skip the frames of 10..14 */
        off += 8 + ((size_t)j[off] | (size_t)j[off + 1] << 8);
    h.frames = j + off;
    h.len = jlen - off;
    ASSERT_EQ(audit_log_open_heal(work, &signer, NULL, &h, &log), ERR_CORRUPT);

    /* The journal's copy of record 17 differs from what the head signed
     * (the head file covers 20): refused. */
    memcpy(bad, j, jlen);
    for (off = 0, k = 10; k < 17; k++)
        off += 8 + ((size_t)bad[off] | (size_t)bad[off + 1] << 8);
    make_record(17, &r);
    r.index = 17;
    r.ts_ms += 1;
    ASSERT_OK(audit_record_encode(&r, bad + off + 8, 1024, &elen));
    ASSERT_EQ(elen, (size_t)bad[off] | (size_t)bad[off + 1] << 8);
    bad[off + 4] = (uint8_t)crc32c(0, bad + off + 8, elen);
    bad[off + 5] = (uint8_t)(crc32c(0, bad + off + 8, elen) >> 8);
    bad[off + 6] = (uint8_t)(crc32c(0, bad + off + 8, elen) >> 16);
    bad[off + 7] = (uint8_t)(crc32c(0, bad + off + 8, elen) >> 24);
    h.frames = bad;
    h.len = jlen;
    copydir(dir, work);
    cut_to(work, 12, 0);
    ASSERT_EQ(audit_log_open_heal(work, &signer, NULL, &h, &log), ERR_CORRUPT);
    { /* and nothing of it was written */
        char seg[128];
        size_t offs[64], slen;
        uint8_t *sp;

        last_segment(work, seg, sizeof(seg));
        sp = slurp(work, seg, &slen);
        ASSERT_EQ(frames(sp, slen, offs, 63), 12u);
        free(sp);
    }
    /* A frame of the journal's copy that does not check: refused. */
    bad[off + 8] ^= 1;
    ASSERT_EQ(audit_log_open_heal(work, &signer, NULL, &h, &log), ERR_CORRUPT);
    quiet(false);
    rmrf(work);
    rmrf(dir);
}

/* dir/name, in a static buffer. */
static const char *
tile_path(const char *dir, const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

/* Wait (bounded) for the background verifier's verdict. */
static int
bg_verdict(struct audit_log *log, const struct audit_verify_result **res)
{
    int rc = ERR_AGAIN;

    for (int i = 0; i < 2000 && rc == ERR_AGAIN; i++) {
        rc = audit_log_verify_poll(log, res);
        if (rc == ERR_AGAIN)
            usleep(5000);
    }
    return rc;
}

/*
 * The writer's fast open (issue 12: start-up after kill -9 bounded by
 * what came after the anchor): the anchor's prefix, rounded down to a
 * tile, is trusted and its frontier read from the tiles. (1) an intact
 * log opens with 768 of 1,000 anchored records trusted, resuming in its
 * third segment, and the background verifier passes; (2) a record
 * altered inside the trusted prefix (CRC fixed) is not seen by the open
 * but by the background verifier and by audit_verify(); (3) an altered
 * frontier tile and (4) missing ones (tiles are not synced) make the
 * open fall back to the whole scan, which rewrites them (a missing
 * partial with a wider one present is no failure: the wider one holds
 * the same first hashes); (5) a log cut below the anchor is refused.
 */
static void
test_fast_open(void)
{
    char *dir = newdir(), work[300], key[NOTE_MAX_KEY], tile[AUDIT_TILES_PATH];
    char tile4[AUDIT_TILES_PATH];
    const char *seg0 = "records-00000000000000000000.log";
    const struct audit_verify_result *bres = NULL;
    struct audit_anchor an;
    struct audit_log *log;
    uint8_t *h, *good;
    size_t hlen, goodlen, off[1100], nf;
    int rc;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    snprintf(key, sizeof(key), "%s", audit_verifier_key(log));
    audit_log_set_segment_bytes(log, 64 * 1024);
    for (uint64_t i = 0; i < 1000; i += 100) {
        append_n(log, i, i + 100, 25);
        ASSERT_OK(audit_checkpoint(log, 0));
    }
    memset(&an, 0, sizeof(an));
    an.size = audit_size(log);
    audit_root(log, an.root);
    append_n(log, 1000, 1040, 10); /* the tail past the anchor */
    ASSERT_OK(audit_commit(log, NULL, NULL));
    audit_log_close(log);
    snprintf(work, sizeof(work), "%s-w", dir);
    audit_tiles_path(1, 0, 3, tile); /* level 1 at 768: 3 hashes */

    /* (1) */
    copydir(dir, work);
    ASSERT_OK(audit_log_open(work, &signer, &an, &log));
    ASSERT_EQ(audit_log_trusted(log), 768u);
    ASSERT_EQ(audit_size(log), 1040u);
    ASSERT_OK(audit_log_verify_start(log));
    ASSERT_EQ(bg_verdict(log, &bres), 0);
    append_n(log, 1040, 1050, 5);
    ASSERT_OK(audit_checkpoint(log, 0));
    audit_log_close(log);
    expect_ok(work, key, 1050);

    /* (2) */
    copydir(dir, work);
    h = slurp(work, seg0, &hlen);
    nf = frames(h, hlen, off, 1099);
    ASSERT(nf > 301 && nf < 768); /* record 768 is in a later segment */
    {
        uint8_t *pl = h + off[300] + 8;
        size_t len = off[301] - off[300] - 8;
        uint8_t *at = NULL;
        uint32_t c;

        for (size_t k = 0; at == NULL && k + 16 <= len; k++)
            if (memcmp(pl + k, "fraud-prevention", 16) == 0)
                at = pl + k;
        ASSERT(at != NULL);
        *at = 'g'; /* "graud-prevention": still a valid record */
        c = crc32c(0, pl, len);

        for (int k = 0; k < 4; k++)
            h[off[300] + 4 + (size_t)k] = (uint8_t)(c >> (8 * k));
    }
    spit(work, seg0, h, hlen);
    free(h);
    ASSERT_OK(audit_log_open(work, &signer, &an, &log));
    ASSERT_EQ(audit_log_trusted(log), 768u);
    quiet(true);
    ASSERT_OK(audit_log_verify_start(log));
    rc = bg_verdict(log, &bres);
    quiet(false);
    ASSERT_EQ(rc, ERR_CORRUPT);
    ASSERT(bres != NULL && strstr(bres->reason, "differs") != NULL);
    audit_log_close(log);
    expect_fail(work, key, 300, 3, "differs from the signed root");

    /* (3) and (4) */
    for (int c = 0; c < 2; c++) {
        copydir(dir, work);
        good = slurp(work, tile, &goodlen);
        ASSERT_EQ(goodlen, 3u * MERKLE_HASH_BYTES);
        if (c == 0) {
            h = slurp(work, tile, &hlen);
            h[40] ^= 0x01;
            spit(work, tile, h, hlen);
            free(h);
        } else {
            char lv1[400];

            snprintf(lv1, sizeof(lv1), "%s/tile/1", work);
            rmrf(lv1); /* every width of it: nothing can stand in */
        }
        quiet(true); /* "cannot open from the anchor" */
        ASSERT_OK(audit_log_open(work, &signer, &an, &log));
        quiet(false);
        ASSERT_EQ(audit_log_trusted(log), 0u); /* the whole scan ran */
        ASSERT_EQ(audit_size(log), 1040u);
        ASSERT_EQ(audit_log_verify_poll(log, NULL), 0);
        audit_log_close(log);
        /* The bad partial is gone; the one of the size now open holds
         * the right hashes, and the next open is fast again. */
        ASSERT(access(tile_path(work, tile), F_OK) != 0);
        audit_tiles_path(1, 0, 4, tile4);
        h = slurp(work, tile4, &hlen);
        ASSERT(hlen == 4u * MERKLE_HASH_BYTES && memcmp(h, good, goodlen) == 0);
        free(h);
        free(good);
        ASSERT_OK(audit_log_open(work, &signer, &an, &log));
        ASSERT_EQ(audit_log_trusted(log), 768u);
        audit_log_close(log);
    }

    /* (5) */
    copydir(dir, work);
    {
        char seg[128];

        last_segment(work, seg, sizeof(seg));
        rmfile(work, seg); /* the records from the last segment's first */
    }
    rmfile(work, "checkpoint");
    quiet(true);
    ASSERT_EQ(audit_log_open(work, &signer, &an, &log), ERR_CORRUPT);
    quiet(false);
    rmrf(work);
    rmrf(dir);
}

/* ------------------------------------------------------------- writer */

static void
test_writer_reopen(void)
{
    char *dir = newdir();
    uint8_t root1[32], root2[32];
    struct audit_log *log, *log2;
    char vkey[NOTE_MAX_KEY];
    struct stat st;
    char path[512];

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    ASSERT_EQ(audit_size(log), 0);
    ASSERT_EQ(audit_log_repair(log)->bytes_cut, 0);
    snprintf(vkey, sizeof(vkey), "%s", audit_verifier_key(log));
    ASSERT(strncmp(vkey, ORIGIN "+", strlen(ORIGIN) + 1) == 0);
    /* The secret never lands in the log's directory; the public key
     * does, for convenience. */
    snprintf(path, sizeof(path), "%s/signing.key", dir);
    ASSERT_EQ(stat(path, &st), -1);
    snprintf(path, sizeof(path), "%s/verifier.key", dir);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600);

    /* A second writer is refused while the first holds the lock. */
    ASSERT_EQ(audit_log_open(dir, &signer, NULL, &log2), ERR_AGAIN);

    append_n(log, 0, 250, 10);
    ASSERT_EQ(audit_size(log), 250);
    ASSERT_EQ(audit_next_index(log), 250);
    audit_root(log, root1);
    /* Pending records are dropped by close. */
    {
        struct audit_record r;
        uint64_t idx;

        make_record(250, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
        ASSERT_EQ(audit_next_index(log), 251);
        ASSERT_EQ(audit_size(log), 250);
    }
    audit_log_close(log);

    {
        /* Another key, a bad origin, a secret key file in the directory:
         * each refused. */
        char sk[NOTE_MAX_KEY], vk[NOTE_MAX_KEY];
        struct note_signer other;
        int fd;

        ASSERT_OK(note_key_generate(ORIGIN, sk, sizeof(sk), vk, sizeof(vk)));
        ASSERT_OK(note_signer_parse(sk, &other));
        quiet(true);
        ASSERT_EQ(audit_log_open(dir, &other, NULL, &log), ERR_DENIED);
        snprintf(other.name, sizeof(other.name), "bad origin");
        ASSERT_EQ(audit_log_open(dir, &other, NULL, &log), ERR_INVAL);
        snprintf(path, sizeof(path), "%s/signing.key", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        ASSERT(fd >= 0);
        close(fd);
        ASSERT_EQ(audit_log_open(dir, &signer, NULL, &log), ERR_DENIED);
        ASSERT_EQ(unlink(path), 0);
        quiet(false);
        note_signer_wipe(&other);
        sodium_memzero(sk, sizeof(sk));
    }
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    ASSERT_EQ(audit_size(log), 250);
    ASSERT_STR_EQ(audit_verifier_key(log), vkey);
    audit_root(log, root2);
    ASSERT_MEM_EQ(root1, root2, 32);
    append_n(log, 250, 300, 1000);
    ASSERT_OK(audit_checkpoint(log, 1));
    ASSERT_EQ(audit_checkpoint_size(log), 300);
    audit_log_close(log);
    expect_ok(dir, vkey, 300);
    expect_ok(dir, NULL, 300);

    /* Every file of the log is 0600, whatever the umask. */
    {
        static const char *const files[] = { "verifier.key", "checkpoints.log",
            "LOCK", "records-00000000000000000000.log" };

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            ASSERT_EQ(lstat(path, &st), 0);
            ASSERT(S_ISREG(st.st_mode));
            ASSERT_EQ(st.st_mode & 0777, 0600);
        }
    }
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    audit_log_close(log);
    rmrf(dir);
}

static void
test_checkpoints(void)
{
    char *dir = newdir(), origin[AUDIT_MAX_ORIGIN + 1];
    char skey[NOTE_MAX_KEY], other[NOTE_MAX_KEY];
    struct audit_verify_result res;
    struct audit_log *log;
    uint8_t root[32], lroot[32], *ck;
    const char *why;
    uint64_t size;
    size_t len;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    ASSERT_OK(audit_checkpoint(log, 0)); /* empty: no-op */
    append_n(log, 0, 10, 100);
    ASSERT_OK(audit_checkpoint(log, 0));
    ASSERT_OK(audit_checkpoint(log, 0)); /* same size: no-op */
    append_n(log, 10, 20, 100);
    ASSERT_OK(audit_checkpoint(log, 0));
    audit_root(log, lroot);

    ASSERT_OK(audit_verify(dir, audit_verifier_key(log), &res));
    ASSERT_EQ(res.checkpoints, 2);
    ASSERT_EQ(res.checkpoint_size, 20);
    ASSERT_MEM_EQ(res.root, lroot, 32);
    ASSERT(res.note_len > 0);
    ASSERT_OK(audit_checkpoint_open(audit_verifier_key(log),
        (const uint8_t *)res.note, res.note_len, origin, &size, root, &why));
    ASSERT_STR_EQ(origin, ORIGIN);
    ASSERT_EQ(size, 20);
    ASSERT_MEM_EQ(root, lroot, 32);

    /* Another key with the same name does not open it. */
    ASSERT_OK(
        note_key_generate(ORIGIN, skey, sizeof(skey), other, sizeof(other)));
    ASSERT_EQ(audit_checkpoint_open(other, (const uint8_t *)res.note,
                  res.note_len, origin, &size, root, &why),
        ERR_CORRUPT);
    ASSERT_EQ(audit_checkpoint_open("garbage", (const uint8_t *)res.note,
                  res.note_len, origin, &size, root, &why),
        ERR_INVAL);
    expect_fail(dir, other, UINT64_MAX, 0, "not signed by the verifier key");

    /* The file holds exactly two frames. */
    ck = slurp(dir, "checkpoints.log", &len);
    ASSERT(len > 8);
    free(ck);
    audit_log_close(log);
    sodium_memzero(skey, sizeof(skey));
    rmrf(dir);
}

static uint64_t ck_seen_size; /* the observer's last checkpoint */

static void
ck_seen(void *arg, uint64_t size, const char *note, size_t len)
{
    (void)arg;
    (void)note;
    ASSERT(len > 0);
    ck_seen_size = size;
}

static void *
ck_run_thread(void *arg)
{
    struct audit_flush_ticket *t = arg;
    static int rc;

    rc = audit_flush_run(t);
    if (rc == 0)
        rc = audit_checkpoint_run(t);
    return &rc;
}

/*
 * A checkpoint riding on a flush ticket (issue 12 latency: the
 * scorer's checkpoints, two fdatasyncs once a second, ran on its event
 * path; now the flusher thread appends them after the records' sync):
 * begin signs the head and changes nothing in checkpoints.log; another
 * checkpoint meanwhile is refused (ERR_BUSY); the run on another thread
 * appends it, and end counts it (size, observer) and the log verifies
 * with 2 checkpoints; a failed run leaves checkpoints.log as it was
 * (end cuts it back) and the next checkpoint covers the records.
 */
static void
test_checkpoint_ticket(void)
{
    char *dir = newdir();
    struct audit_observer obs = { NULL, ck_seen, NULL };
    struct audit_verify_result res;
    struct audit_flush_ticket t;
    struct audit_log *log;
    size_t len0, len1, len2;
    pthread_t th;
    void *ret;
    uint8_t *ck;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    audit_log_set_observer(log, &obs);
    append_n(log, 0, 10, 100);
    ASSERT_OK(audit_checkpoint(log, 0));
    ck = slurp(dir, "checkpoints.log", &len0);
    free(ck);
    ASSERT_EQ(ck_seen_size, 10u);

    /* Records written unsynced, as the scorer's group commit does. */
    for (uint64_t i = 10; i < 25; i++) {
        struct audit_record r;
        uint64_t idx;

        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
    }
    ASSERT_OK(audit_write(log));
    ASSERT_OK(audit_commit_journaled(log, NULL, NULL));
    ASSERT_OK(audit_flush_begin(log, &t));
    ASSERT_OK(audit_checkpoint_begin(log, &t));
    ASSERT(t.ckpt);
    ASSERT_EQ(audit_checkpoint(log, 0), ERR_BUSY);
    ck = slurp(dir, "checkpoints.log", &len1);
    free(ck);
    ASSERT_EQ(len1, len0); /* nothing appended on the owner's thread */
    ASSERT_EQ(audit_checkpoint_size(log), 10u);
    ASSERT_EQ(pthread_create(&th, NULL, ck_run_thread, &t), 0);
    ASSERT_EQ(pthread_join(th, &ret), 0);
    ASSERT_EQ(*(int *)ret, 0);
    ASSERT_OK(audit_flush_end(log, &t, 0));
    ASSERT_OK(audit_checkpoint_end(log, &t, 0));
    ASSERT_EQ(audit_checkpoint_size(log), 25u);
    ASSERT_EQ(audit_synced(log), 25u);
    ASSERT_EQ(ck_seen_size, 25u);
    ck = slurp(dir, "checkpoints.log", &len1);
    free(ck);
    ASSERT(len1 > len0);
    ASSERT_OK(audit_verify(dir, audit_verifier_key(log), &res));
    ASSERT_EQ(res.checkpoints, 2);
    ASSERT_EQ(res.checkpoint_size, 25u);

    /* Nothing due: no checkpoint rides. */
    ASSERT_OK(audit_flush_begin(log, &t));
    ASSERT_OK(audit_checkpoint_begin(log, &t));
    ASSERT(!t.ckpt);
    ASSERT_OK(audit_flush_end(log, &t, 0));

    /* Records appended and not yet settled (a query mid-operation):
     * nothing rides. */
    for (uint64_t i = 25; i < 30; i++) {
        struct audit_record r;
        uint64_t idx;

        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
    }
    ASSERT_OK(audit_flush_begin(log, &t));
    ASSERT_OK(audit_checkpoint_begin(log, &t));
    ASSERT(!t.ckpt);
    ASSERT_OK(audit_flush_end(log, &t, 0));

    /* A run that failed (or never ran): cut back, not counted. */
    ASSERT_OK(audit_write(log));
    ASSERT_OK(audit_commit_journaled(log, NULL, NULL));
    ASSERT_OK(audit_flush_begin(log, &t));
    ASSERT_OK(audit_checkpoint_begin(log, &t));
    ASSERT(t.ckpt);
    ASSERT_OK(fileio_pwrite_all(t.ckfd, t.frame, t.flen / 2, t.ck_off));
    quiet(true);
    ASSERT_EQ(audit_checkpoint_end(log, &t, ERR_AUDIT), ERR_AUDIT);
    quiet(false);
    ASSERT_OK(audit_flush_end(log, &t, 0));
    ASSERT_EQ(audit_checkpoint_size(log), 25u);
    ck = slurp(dir, "checkpoints.log", &len2);
    free(ck);
    ASSERT_EQ(len2, len1);
    ASSERT_OK(audit_checkpoint(log, 0)); /* the next one covers them */
    ASSERT_EQ(audit_checkpoint_size(log), 30u);
    ASSERT_OK(audit_verify(dir, audit_verifier_key(log), &res));
    ASSERT_EQ(res.checkpoints, 3);
    ASSERT_EQ(res.checkpoint_size, 30u);
    audit_log_close(log);
    rmrf(dir);
}

/* The size DIR/checkpoint signs (0: none or unreadable). */
static uint64_t
head_file_size(const char *dir, const char *vkey)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[32], *p;
    const char *why;
    uint64_t size = 0;
    size_t len;

    p = slurp(dir, "checkpoint", &len);
    if (p == NULL)
        return 0;
    if (audit_checkpoint_open(vkey, p, len, origin, &size, root, &why) != 0)
        size = 0;
    free(p);
    return size;
}

/*
 * head_interval_ms: 0 signs the head at every commit; otherwise at most
 * once per interval, the rest by audit_head_update() once due, and
 * always with the tiles of its size (an inclusion proof of the newest
 * record against the head works).
 */
static void
test_head_interval(void)
{
    char *dir = newdir();
    struct audit_record r;
    struct audit_proof pr;
    struct audit_log *log;
    char vkey[NOTE_MAX_KEY];
    uint64_t idx, hsize;

    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    /* A copy: the log's own string is freed by audit_log_close(). */
    snprintf(vkey, sizeof(vkey), "%s", audit_verifier_key(log));
    ASSERT_EQ(audit_head_due(log), UINT64_MAX); /* empty */
    for (uint64_t i = 0; i < 3; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
        ASSERT_OK(audit_commit(log, NULL, NULL));
        ASSERT_EQ(head_file_size(dir, vkey), i + 1);
        ASSERT_EQ(audit_head_due(log), UINT64_MAX);
    }

    audit_log_set_head_interval(log, 60000);
    make_record(3, &r);
    ASSERT_OK(audit_append(log, &r, &idx));
    ASSERT_OK(audit_commit(log, NULL, NULL));
    ASSERT_EQ(audit_size(log), 4);
    /* Durable, not yet under a head: due a minute after the last. */
    ASSERT_EQ(head_file_size(dir, vkey), 3);
    ASSERT(audit_head(log, NULL, &hsize) != NULL);
    ASSERT_EQ(hsize, 3);
    ASSERT(audit_head_due(log) != UINT64_MAX);
    ASSERT(audit_head_due(log) > clock_mono_ms() + 50000);
    ASSERT_OK(audit_head_update(log));
    ASSERT_EQ(head_file_size(dir, vkey), 4);
    ASSERT_EQ(audit_head_due(log), UINT64_MAX);
    ASSERT_OK(audit_log_prove_inclusion(log, 3, 0, &pr));
    ASSERT_EQ(pr.size, 4);

    /* 300 more (a full tile and then some) in groups: the head stays
     * at 4 until updated, then proves the newest record. */
    for (uint64_t i = 4; i < 304; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
        if (i % 50 == 0)
            ASSERT_OK(audit_commit(log, NULL, NULL));
    }
    ASSERT_OK(audit_commit(log, NULL, NULL));
    ASSERT_EQ(head_file_size(dir, vkey), 4);
    ASSERT_OK(audit_head_update(log));
    ASSERT_EQ(head_file_size(dir, vkey), 304);
    ASSERT_OK(audit_log_prove_inclusion(log, 303, 0, &pr));
    ASSERT_EQ(pr.size, 304);

    /* Interval 1 ms: due at once after a pause; the commit signs. */
    audit_log_set_head_interval(log, 1);
    usleep(3000);
    make_record(304, &r);
    ASSERT_OK(audit_append(log, &r, &idx));
    ASSERT_OK(audit_commit(log, NULL, NULL));
    ASSERT_EQ(head_file_size(dir, vkey), 305);
    audit_log_close(log);
    expect_ok(dir, vkey, 305);
    rmrf(dir);
}

/* Cut the last segment at every length; reopen repairs; verify passes. */
static void
test_torn_tail(void)
{
    char *dir = newdir(), work[300];
    size_t len, off[64], nf;
    uint8_t *seg;

    make_log(dir, 6, 6, 0);
    rmfile(dir, "checkpoints.log"); /* else a cut below it is refused */
    rmfile(dir, "checkpoint");      /* and so does the head */
    seg = slurp(dir, SEG0, &len);
    nf = frames(seg, len, off, 63);
    ASSERT_EQ(nf, 6);
    snprintf(work, sizeof(work), "%s-w", dir);
    quiet(true); /* one "cutting a torn tail" warning per length */
    for (size_t cut = 0; cut <= len; cut++) {
        struct audit_log *log;
        const struct audit_repair *rep;
        struct audit_record r;
        uint64_t whole = 0, idx;

        char ckpath[400];

        while (whole < nf && off[whole + 1] <= cut)
            whole++;
        /* Every length in the last frame; elsewhere the lengths near a
         * frame boundary and every 7th (each open fsyncs: the whole
         * range took 40 s on a loaded 2-core machine). */
        if (cut > 0 && cut < off[nf - 1] && cut % 7 != 0 &&
            cut - off[whole] > 2 && off[whole + 1] - cut > 2)
            continue;
        if (cut == 0)
            copydir(dir, work);
        snprintf(ckpath, sizeof(ckpath), "%s/checkpoints.log", work);
        (void)unlink(ckpath);
        snprintf(ckpath, sizeof(ckpath), "%s/checkpoint", work);
        (void)unlink(ckpath);
        spit(work, SEG0, seg, cut);
        ASSERT_OK(audit_log_open(work, &signer, NULL, &log));
        ASSERT_EQ(audit_size(log), whole);
        rep = audit_log_repair(log);
        ASSERT_EQ(rep->bytes_cut, cut - off[whole]);
        if (rep->bytes_cut > 0) {
            ASSERT_EQ(rep->at_index, whole);
            ASSERT_STR_EQ(rep->segment, SEG0);
        }
        make_record(whole, &r);
        snprintf(r.op, sizeof(r.op), "log.repair");
        r.role = AUDIT_ROLE_SYSTEM;
        ASSERT_OK(audit_append(log, &r, &idx));
        ASSERT_EQ(idx, whole);
        ASSERT_OK(audit_sync(log));
        ASSERT_OK(audit_checkpoint(log, 0));
        audit_log_close(log);
        expect_ok(work, NULL, whole + 1);
    }
    quiet(false);
    free(seg);

    /* A bad CRC in the last segment's tail is cut too; a bad index with a
     * good CRC is not a torn write: ERR_CORRUPT. */
    {
        struct audit_log *log;
        uint8_t *s2;

        copydir(dir, work);
        s2 = slurp(work, SEG0, &len);
        s2[off[5] + 20] ^= 1;
        spit(work, SEG0, s2, len);
        ASSERT_OK(audit_log_open(work, &signer, NULL, &log));
        ASSERT_EQ(audit_size(log), 5);
        audit_log_close(log);
        free(s2);

        copydir(dir, work);
        s2 = slurp(work, SEG0, &len);
        memmove(s2 + off[4], s2 + off[5], len - off[5]); /* drop rec 4 */
        spit(work, SEG0, s2, len - (off[5] - off[4]));
        ASSERT_EQ(audit_log_open(work, &signer, NULL, &log), ERR_CORRUPT);
        free(s2);
    }
    rmrf(work);
    rmrf(dir);
}

static void
test_repair_limits(void)
{
    char *dir = newdir(), work[300];
    struct audit_log *log;
    size_t len;
    uint8_t *s;

    /* Several segments: damage in a segment before the last one. */
    make_log(dir, 200, 50, 4096);
    snprintf(work, sizeof(work), "%s-w", dir);
    copydir(dir, work);
    s = slurp(work, SEG0, &len);
    spit(work, SEG0, s, len - 3);
    ASSERT_EQ(audit_log_open(work, &signer, NULL, &log), ERR_CORRUPT);
    free(s);

    /* A torn tail below the latest checkpoint is not a repair. */
    {
        char last[300];

        last_segment(dir, last, sizeof(last));
        copydir(dir, work);
        s = slurp(work, last, &len);
        spit(work, last, s, len - 3);
        ASSERT_EQ(audit_log_open(work, &signer, NULL, &log), ERR_CORRUPT);
        free(s);
    }
    copydir(dir, work);
    {
        /* Truncate checkpoints.log mid-frame: the writer cuts it. */
        s = slurp(work, "checkpoints.log", &len);
        spit(work, "checkpoints.log", s, len - 5);
        ASSERT_OK(audit_log_open(work, &signer, NULL, &log));
        ASSERT(audit_log_repair(log)->note_bytes_cut > 0);
        ASSERT_EQ(audit_checkpoint_size(log), 150);
        ASSERT_OK(audit_checkpoint(log, 0));
        audit_log_close(log);
        expect_ok(work, NULL, 200);
        free(s);
    }
    rmrf(work);
    rmrf(dir);
}

static void
test_sync_failure(void)
{
    char *dir = newdir(), path[512];
    struct audit_log *log;
    struct audit_record r;
    struct rlimit old, lim;
    uint8_t root1[32], root2[32];
    struct stat st;
    uint64_t idx;
    off_t before;

    signal(SIGXFSZ, SIG_IGN);
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    append_n(log, 0, 20, 100);
    audit_root(log, root1);
    snprintf(path, sizeof(path), "%s/" SEG0, dir);
    ASSERT_EQ(stat(path, &st), 0);
    before = st.st_size;

    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 100; /* room for part of one record */
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (uint64_t i = 20; i < 30; i++) {
        make_record(i, &r);
        ASSERT_OK(audit_append(log, &r, &idx));
    }
    ASSERT_EQ(audit_sync(log), ERR_AUDIT);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_size, before); /* nothing half-written */
    ASSERT_EQ(audit_size(log), 20);
    ASSERT_EQ(audit_next_index(log), 20); /* pending dropped */
    audit_root(log, root2);
    ASSERT_MEM_EQ(root1, root2, 32);
    ASSERT_OK(audit_sync(log)); /* nothing pending */

    /* A checkpoint that cannot be written fails and leaves no trace. */
    snprintf(path, sizeof(path), "%s/checkpoints.log", dir);
    lim.rlim_cur = 10;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ASSERT_EQ(audit_checkpoint(log, 0), ERR_AUDIT);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_size, 0);

    /* Space returns: the same indexes are assigned again and succeed. */
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    make_record(20, &r);
    ASSERT_OK(audit_append(log, &r, &idx));
    ASSERT_EQ(idx, 20);
    ASSERT_OK(audit_sync(log));
    ASSERT_OK(audit_checkpoint(log, 0));
    audit_log_close(log);
    expect_ok(dir, NULL, 21);
    signal(SIGXFSZ, SIG_DFL);
    rmrf(dir);
}

/* ----------------------------------------------------------- verifier */

static void
damaged(const char *good, const char *work, const char *seg, size_t at,
    size_t cut, const uint8_t *ins, size_t inslen)
{
    uint8_t *s, *o;
    size_t len;

    copydir(good, work);
    s = slurp(work, seg, &len);
    o = malloc(len + inslen + 1);
    ASSERT(o != NULL);
    memcpy(o, s, at);
    if (inslen > 0)
        memcpy(o + at, ins, inslen);
    memcpy(o + at + inslen, s + at + cut, len - at - cut);
    spit(work, seg, o, len - cut + inslen);
    free(o);
    free(s);
}

static void
test_verify_damage(void)
{
    char *dir = newdir(), work[300], key[NOTE_MAX_KEY];
    size_t len, off[200], nf;
    uint8_t *seg, *ck;

    make_log(dir, 100, 25, 0);
    ASSERT_OK(audit_read_verifier_key(dir, key, sizeof(key)));
    expect_ok(dir, key, 100);
    seg = slurp(dir, SEG0, &len);
    nf = frames(seg, len, off, 199);
    ASSERT_EQ(nf, 100);
    snprintf(work, sizeof(work), "%s-w", dir);

    /* Flipped bit in record 37's payload. */
    {
        uint8_t b = seg[off[37] + 30] ^ 0x10;

        damaged(dir, work, SEG0, off[37] + 30, 1, &b, 1);
        expect_fail(work, key, 37, UINT64_MAX, "CRC mismatch");
    }
    /* Flipped bit in record 37's length. */
    {
        uint8_t b = seg[off[37] + 1] ^ 0x40;

        damaged(dir, work, SEG0, off[37] + 1, 1, &b, 1);
        expect_fail(work, key, 37, UINT64_MAX, "record 37");
    }
    /* Dropped record 40. */
    damaged(dir, work, SEG0, off[40], off[41] - off[40], NULL, 0);
    expect_fail(work, key, 40, UINT64_MAX, "index field says 41");
    /* Records 50 and 51 swapped. */
    {
        size_t a = off[51] - off[50], b = off[52] - off[51];
        uint8_t sw[2048];

        memcpy(sw, seg + off[51], b);
        memcpy(sw + b, seg + off[50], a);
        damaged(dir, work, SEG0, off[50], a + b, sw, a + b);
        expect_fail(work, key, 50, UINT64_MAX, "index field says 51");
    }
    /* Duplicated record 60. */
    damaged(dir, work, SEG0, off[61], 0, seg + off[60], off[61] - off[60]);
    expect_fail(work, key, 61, UINT64_MAX, "index field says 60");
    /* Truncated inside record 99, and at the boundary before it. */
    damaged(dir, work, SEG0, off[99] + 20, len - off[99] - 20, NULL, 0);
    expect_fail(work, key, 99, UINT64_MAX, "truncated record");
    damaged(dir, work, SEG0, off[99], len - off[99], NULL, 0);
    expect_fail(work, key, 99, 3,
        "log truncated: checkpoint 3 covers 100 "
        "records, only 99 present");
    /* Record 80 edited with its CRC recomputed: the root catches it. */
    {
        uint8_t rec[2048];
        size_t rl = off[81] - off[80], p;
        uint32_t crc;

        memcpy(rec, seg + off[80], rl);
        /* The ref "evt-80" ends the record: change its last digit. */
        p = rl - 1;
        rec[p] = rec[p] == '0' ? '1' : '0';
        crc = crc32c(0, rec + 8, rl - 8);
        rec[4] = (uint8_t)crc;
        rec[5] = (uint8_t)(crc >> 8);
        rec[6] = (uint8_t)(crc >> 16);
        rec[7] = (uint8_t)(crc >> 24);
        damaged(dir, work, SEG0, off[80], rl, rec, rl);
        expect_fail(work, key, 75, 3, "75..99 was altered");
    }
    /* Forged checkpoint: the root line of the last note changed. */
    ck = slurp(dir, "checkpoints.log", &len);
    {
        uint8_t *c2 = malloc(len);
        size_t last = 0, o = 0, nl = 0;

        ASSERT(c2 != NULL);
        memcpy(c2, ck, len);
        while (o + 4 <= len) {
            last = o;
            o += 4 + ((size_t)ck[o] | (size_t)ck[o + 1] << 8);
        }
        /* The third line of the note holds the root: change one char. */
        for (o = last + 4; nl < 2; o++)
            nl += c2[o] == '\n';
        c2[o] = c2[o] == 'A' ? 'B' : 'A';
        copydir(dir, work);
        spit(work, "checkpoints.log", c2, len);
        expect_fail(work, key, UINT64_MAX, 3, "signature");
        free(c2);
    }
    free(ck);
    /* A missing middle segment (several segments). */
    {
        char d2[300], name[64];

        snprintf(d2, sizeof(d2), "%s-seg", dir);
        make_log(d2, 300, 100, 4096);
        expect_ok(d2, NULL, 300);
        /* Segments roll at 4096 bytes at a sync (every 7 records). */
        for (uint64_t i = 1; i < 300; i++) {
            char path[512];

            snprintf(name, sizeof(name), "records-%020" PRIu64 ".log", i);
            snprintf(path, sizeof(path), "%s/%s", d2, name);
            if (access(path, F_OK) == 0) {
                ASSERT_EQ(unlink(path), 0);
                expect_fail(d2, NULL, i, UINT64_MAX, "segment");
                break;
            }
        }
        rmrf(d2);
    }
    free(seg);
    rmrf(work);
    rmrf(dir);
}

/* ------------------------------------------------------------- proofs */

static void
test_proofs(void)
{
    char *dir = newdir(), key[NOTE_MAX_KEY];
    struct audit_verify_result res;
    struct audit_proof *p = malloc(sizeof(*p));
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[32], leaf[32];
    const char *why;
    uint64_t size;

    ASSERT(p != NULL);
    make_log(dir, 37, 10, 0); /* checkpoints at 10, 20, 30, 37 */
    ASSERT_OK(audit_read_verifier_key(dir, key, sizeof(key)));
    for (uint64_t i = 0; i < 37; i++) {
        ASSERT_OK(audit_prove_inclusion(dir, key, i, 0, p, &res));
        ASSERT_EQ(p->size, 37);
        ASSERT(p->note[0] != '\0');
        ASSERT_OK(audit_checkpoint_open(key, (const uint8_t *)p->note,
            strlen(p->note), origin, &size, root, &why));
        ASSERT_EQ(size, 37);
        merkle_leaf_hash(p->raw, p->raw_len, leaf);
        ASSERT_MEM_EQ(leaf, p->leaf_hash, 32);
        ASSERT_OK(merkle_verify_inclusion(
            i, size, leaf, (const uint8_t(*)[32])p->hashes, p->n, root));
        if (p->n > 0) {
            p->hashes[0][0] ^= 1;
            ASSERT_NE(merkle_verify_inclusion(i, size, leaf,
                          (const uint8_t(*)[32])p->hashes, p->n, root),
                0);
        }
    }
    ASSERT_OK(audit_prove_inclusion(dir, key, 3, 20, p, &res));
    ASSERT_EQ(p->size, 20);
    ASSERT(p->note[0] != '\0');
    ASSERT_OK(audit_prove_inclusion(dir, key, 3, 21, p, &res));
    ASSERT_EQ(p->note[0], '\0'); /* no checkpoint of size 21 */
    ASSERT_EQ(audit_prove_inclusion(dir, key, 37, 0, p, &res), ERR_NOTFOUND);
    ASSERT_EQ(audit_prove_inclusion(dir, key, 3, 38, p, &res), ERR_NOTFOUND);

    ASSERT_OK(audit_prove_consistency(dir, key, 10, 37, p, &res));
    {
        uint8_t r1[32], r2[32];

        ASSERT_OK(audit_checkpoint_open(key, (const uint8_t *)p->old_note,
            strlen(p->old_note), origin, &size, r1, &why));
        ASSERT_EQ(size, 10);
        ASSERT_OK(audit_checkpoint_open(key, (const uint8_t *)p->note,
            strlen(p->note), origin, &size, r2, &why));
        ASSERT_EQ(size, 37);
        ASSERT_OK(merkle_verify_consistency(
            10, 37, r1, r2, (const uint8_t(*)[32])p->hashes, p->n));
        ASSERT_NE(merkle_verify_consistency(
                      10, 37, r2, r1, (const uint8_t(*)[32])p->hashes, p->n),
            0);
    }
    ASSERT_EQ(audit_prove_consistency(dir, key, 0, 37, p, &res), ERR_NOTFOUND);
    ASSERT_EQ(audit_prove_consistency(dir, key, 20, 38, p, &res), ERR_NOTFOUND);
    free(p);
    rmrf(dir);
}

/* ------------------------------------------------------------- replay */

struct count_ctx {
    uint64_t n;
    uint64_t last;
};

static int
count_cb(void *arg, const struct audit_entry *e)
{
    struct count_ctx *c = arg;
    uint8_t leaf[32];

    merkle_leaf_hash(e->raw, e->raw_len, leaf);
    ASSERT_MEM_EQ(leaf, e->leaf_hash, 32);
    c->n++;
    c->last = e->rec->index;
    return 0;
}

static void
test_replay(void)
{
    char *dir = newdir();
    struct audit_verify_result res;
    struct audit_filter f;
    struct count_ctx c = { 0, 0 };

    make_log(dir, 60, 60, 0);
    ASSERT_OK(audit_replay(dir, NULL, NULL, count_cb, &c, &res));
    ASSERT_EQ(c.n, 60);
    ASSERT_EQ(c.last, 59);

    memset(&f, 0, sizeof(f));
    f.from_ms = 1764115200000ULL + 10;
    f.to_ms = 1764115200000ULL + 20;
    c.n = 0;
    ASSERT_OK(audit_replay(dir, NULL, &f, count_cb, &c, &res));
    ASSERT_EQ(c.n, 10);
    ASSERT_EQ(c.last, 19);

    memset(&f, 0, sizeof(f));
    f.actor = "shop-1";
    c.n = 0;
    ASSERT_OK(audit_replay(dir, NULL, &f, count_cb, &c, &res));
    ASSERT_EQ(c.n, 20);

    memset(&f, 0, sizeof(f));
    f.has_subject = true;
    memset(f.subject, 7, sizeof(f.subject)); /* records 6 (k 1), 7 (k 0) */
    c.n = 0;
    ASSERT_OK(audit_replay(dir, NULL, &f, count_cb, &c, &res));
    ASSERT_EQ(c.n, 2);

    memset(&f, 0, sizeof(f));
    f.purpose = "audit";
    c.n = 0;
    ASSERT_OK(audit_replay(dir, NULL, &f, count_cb, &c, &res));
    ASSERT_EQ(c.n, 0);
    rmrf(dir);
}

/*
 * The tile writer makes each directory once, not once per flush: a
 * flush writes the partial tile of every level and the entries bundle
 * in different directories, and with one directory remembered every
 * flush missed and made each again (about 3,000 failing mkdirat calls
 * per vigil-replay of the shared file, replay7b's profile). 4,096
 * leaves flushed every 3 leaves, as group commits do, touch about 40
 * directories: 41 mkdirat calls, each making one, deepest first (163,
 * 126 of them on a directory already there, when every path component
 * was made from the top; 8,272 with one directory remembered): the
 * writer may make a few again, never one per flush.
 * The full level-0 tiles and the level-1 partial are where the tile
 * paths say, of their sizes.
 */
static void
test_tiles_dirs_once(void)
{
    char *dir = newdir(), path[AUDIT_TILES_PATH];
    struct audit_tiles t;
    uint8_t leaf[MERKLE_HASH_BYTES], payload[8];
    uint64_t flushes = 0;
    struct stat st;
    int dfd;

    ASSERT_EQ(mkdir(dir, 0700), 0);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT(dfd >= 0);
    audit_tiles_init(&t, dfd, false);
    for (uint32_t i = 0; i < 4096; i++) {
        memset(payload, (int)(i & 0xff), sizeof(payload));
        merkle_leaf_hash(payload, sizeof(payload), leaf);
        audit_tiles_append(&t, leaf, payload, sizeof(payload));
        if (i % 3 == 2) {
            audit_tiles_flush(&t);
            flushes++;
        }
    }
    audit_tiles_flush(&t);
    ASSERT(!t.failed);
    ASSERT(flushes > 1000);
    fprintf(stderr,
        "  %" PRIu64 " mkdirat calls for %" PRIu64 " flushes, %" PRIu64
        " on a directory already there\n",
        t.mkdirs, flushes, t.mkdirs_existed);
    ASSERT(t.mkdirs < 400); /* 8,272 with one directory remembered */
    /* Deepest first, and a file's directory made only when the file
     * cannot be created without it: each call makes a directory. */
    ASSERT_EQ(t.mkdirs_existed, 0);
    /* The full tiles of both levels are there (4,096 = 16 x 256). */
    audit_tiles_path(0, 15, 0, path);
    ASSERT_EQ(fstatat(dfd, path, &st, 0), 0);
    ASSERT_EQ((uint64_t)st.st_size, 256u * MERKLE_HASH_BYTES);
    audit_tiles_path(1, 0, 16, path);
    ASSERT_EQ(fstatat(dfd, path, &st, 0), 0);
    ASSERT_EQ((uint64_t)st.st_size, 16u * MERKLE_HASH_BYTES);
    audit_tiles_release(&t);
    close(dfd);
    rmrf(dir);
}

/*
 * Make directory `dir` and, under it, `sub`/`name` holding p[0..len)
 * (a file an earlier run left); returns the directory's descriptor and
 * the file's path relative to it in junk[64].
 */
static int
dir_with_leftover(const char *dir, const char *sub, const char *name,
    const void *p, size_t len, char junk[64])
{
    int dfd, fd;

    ASSERT_EQ(mkdir(dir, 0700), 0);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT(dfd >= 0);
    ASSERT_EQ(mkdirat(dfd, sub, 0700), 0);
    snprintf(junk, 64, "%s/%s", sub, name);
    fd = openat(dfd, junk, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, p, len), (ssize_t)len);
    close(fd);
    return dfd;
}

/*
 * Partial files are written again, not created and unlinked: a signed
 * head per group commit wrote one or two new partial files a group and
 * unlinked them a tile later, and on ext4 without a journal each
 * creation scanned every recently freed inode (find_inode_bit ->
 * recently_deleted: ~12% of the scorer's CPU in a replay of the shared
 * file). 4,099 leaves flushed every 3 leaves (1,367 flushes, 2,772
 * partial files): the files created are about the full tiles and
 * bundles (33) plus the partials of the first tile (~170), none is
 * unlinked, and every partial on disk holds exactly its width. Each
 * completed tile's "<N>.p/" moves whole to tile-spare/ (32 directories:
 * 16 tiles and 16 bundles) and no partial file is moved or removed one
 * by one (2,7xx before: ~25 ms of renames on the writer's thread every
 * 256 records). At the next open, what tile-spare/ holds is removed.
 */
static void
test_tiles_spares(void)
{
    char *dir = newdir(), path[AUDIT_TILES_PATH], junk[64];
    struct audit_tiles t;
    uint8_t leaf[MERKLE_HASH_BYTES], payload[8];
    uint8_t want[3 * MERKLE_HASH_BYTES], got[sizeof(want) + 1];
    uint64_t flushes = 0;
    struct stat st;
    int dfd, fd;

    /* Left by an earlier run: removed at the first removal. */
    dfd = dir_with_leftover(dir, AUDIT_TILES_SPARE_DIR, "7", "stale", 5, junk);
    audit_tiles_init(&t, dfd, false);
    for (uint32_t i = 0; i < 4096 + 3; i++) {
        memset(payload, (int)(i & 0xff), sizeof(payload));
        merkle_leaf_hash(payload, sizeof(payload), leaf);
        if (i >= 4096)
            memcpy(
                want + (i - 4096) * MERKLE_HASH_BYTES, leaf, MERKLE_HASH_BYTES);
        audit_tiles_append(&t, leaf, payload, sizeof(payload));
        if (i % 3 == 2) {
            audit_tiles_flush(&t);
            flushes++;
        }
    }
    audit_tiles_flush(&t);
    flushes++;
    ASSERT(!t.failed);
    fprintf(stderr,
        "  %" PRIu64 " flushes: %" PRIu64 " files created, %" PRIu64
        " unlinked, %" PRIu64 " partials written into a spare, %" PRIu64
        " partial directories retired whole, %" PRIu64
        " partial files moved one by one\n",
        flushes, t.created, t.unlinked, t.reused, t.retired_dirs, t.moved);
    ASSERT(flushes == 1367);
    ASSERT(t.created < 300); /* 2,772 before */
    ASSERT(t.unlinked == 1); /* the stale spare; 2,721 before */
    ASSERT(t.reused > 2000);
    ASSERT(t.retired_dirs == 32); /* 16 tiles and 16 bundles */
    ASSERT_EQ(t.moved, 0);
    /* A spare is renamed into a directory that is there: no mkdirat but
     * at a directory's first file (214 with make_parents before each). */
    fprintf(stderr,
        "  %" PRIu64 " mkdirat calls, %" PRIu64
        " on a directory already there\n",
        t.mkdirs, t.mkdirs_existed);
    ASSERT(t.mkdirs < 200); /* + one a new "<N>.p/" (32), no longer passed on */
    ASSERT_EQ(t.mkdirs_existed, 0);
    ASSERT(t.nretired <= AUDIT_TILES_RETIRED);
    /* The last partial of level 0 (width 3) is exactly its hashes. */
    audit_tiles_path(0, 16, 3, path);
    fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
    ASSERT(fd >= 0);
    ASSERT_EQ(fstat(fd, &st), 0);
    ASSERT_EQ((uint64_t)st.st_size, sizeof(want));
    ASSERT_EQ(read(fd, got, sizeof(got)), (ssize_t)sizeof(want));
    ASSERT(memcmp(got, want, sizeof(want)) == 0);
    close(fd);
    /* Tile 15's partials are gone (its full tile is there). */
    audit_tiles_path(0, 15, 255, path);
    ASSERT(fstatat(dfd, path, &st, 0) == -1 && errno == ENOENT);
    audit_tiles_path(0, 15, 0, path);
    ASSERT_EQ(fstatat(dfd, path, &st, 0), 0);
    ASSERT(fstatat(dfd, junk, &st, 0) != 0 || st.st_size != 5);
    audit_tiles_release(&t);
    close(dfd);
    rmrf(dir);
}

/*
 * Files made ahead (audit_tiles.h, tile-new/): with audit_tiles_premake()
 * run every 64 leaves (as the flusher does after each commit), the
 * writer creates no file itself: 4,099 leaves flushed every 3 leaves,
 * every full tile and bundle written into a file made ahead (one left
 * by an earlier run, longer than a tile, cut to length) and each full
 * tile exactly its 256 leaf hashes; without premake the writer creates
 * its files as before.
 */
static void
test_tiles_made_ahead(void)
{
    char *dir = newdir(), path[AUDIT_TILES_PATH], junk[64];
    uint8_t leaves[4096 + 3][MERKLE_HASH_BYTES], payload[8];
    uint8_t got[AUDIT_TILES_WIDTH * MERKLE_HASH_BYTES + 1], big[9000];
    uint64_t made = 0, premade = 0;
    struct audit_tiles t;
    struct stat st;
    int dfd, fd;

    /* Left by an earlier run, longer than any tile: taken as file 0. */
    memset(big, 'x', sizeof(big));
    dfd = dir_with_leftover(
        dir, AUDIT_TILES_NEW_DIR, "0", big, sizeof(big), junk);
    audit_tiles_init(&t, dfd, false);
    for (uint32_t i = 0; i < 4096 + 3; i++) {
        if (i % 64 == 0) {
            made = audit_tiles_premake(dfd, t.new_taken, made, &premade);
            ASSERT_EQ(made, t.new_taken + AUDIT_TILES_NEW);
        }
        memset(payload, (int)(i & 0xff), sizeof(payload));
        payload[1] = (uint8_t)(i >> 8);
        merkle_leaf_hash(payload, sizeof(payload), leaves[i]);
        audit_tiles_append(&t, leaves[i], payload, sizeof(payload));
        if (i % 3 == 2)
            audit_tiles_flush(&t);
    }
    audit_tiles_flush(&t);
    ASSERT(!t.failed);
    fprintf(stderr,
        "  made ahead: %" PRIu64 " created by premake, %" PRIu64
        " taken, %" PRIu64 " created by the writer\n",
        premade, t.new_taken, t.created);
    ASSERT_EQ(t.created, 0);
    /* 16 full tiles + 16 bundles + 1 level-1 partial, and the first
     * tile's partials (before any spare) */
    ASSERT(t.new_taken >= 33);
    ASSERT_EQ(premade + 1, made); /* numbers 0..made-1, one left over */
    for (uint64_t n = 0; n < 16; n++) {
        audit_tiles_path(0, n, 0, path);
        fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
        ASSERT(fd >= 0);
        ASSERT_EQ(read(fd, got, sizeof(got)),
            (ssize_t)(AUDIT_TILES_WIDTH * MERKLE_HASH_BYTES));
        ASSERT(memcmp(got, leaves[n * AUDIT_TILES_WIDTH],
                   AUDIT_TILES_WIDTH * MERKLE_HASH_BYTES) == 0);
        close(fd);
        audit_tiles_path(AUDIT_TILES_ENTRIES, n, 0, path);
        ASSERT_EQ(fstatat(dfd, path, &st, 0), 0);
        ASSERT_EQ((uint64_t)st.st_size, AUDIT_TILES_WIDTH * (2 + 8));
    }
    ASSERT(fstatat(dfd, junk, &st, 0) != 0 || st.st_size != sizeof(big));
    audit_tiles_release(&t);
    close(dfd);
    rmrf(dir);

    /* No premake: the writer creates its files itself. */
    dir = newdir();
    ASSERT_EQ(mkdir(dir, 0700), 0);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT(dfd >= 0);
    audit_tiles_init(&t, dfd, false);
    for (uint32_t i = 0; i < 256; i++)
        audit_tiles_append(&t, leaves[i], payload, sizeof(payload));
    ASSERT(!t.failed);
    ASSERT_EQ(t.created, 2); /* tile/0/000 and tile/entries/000 */
    ASSERT_EQ(t.new_taken, 0);
    audit_tiles_release(&t);
    close(dfd);
    rmrf(dir);
}

/*
 * Every signed head's tiles stay readable until the full tile exists
 * (c2sp.org/tlog-tiles: logs MUST serve the partial tiles of every
 * checkpoint produced): 4,096 leaves flushed every 3, and for each size
 * flushed in the first 700 leaves the root from the tiles equals the
 * tree's, and its last record reads back. The level-1 partials of
 * widths 15 and 16 both exist, each exactly its hashes. (A writer that
 * grew one partial file per tile and renamed it to its newest width,
 * 5190c5c, left only the widest: a C2SP client holding an earlier
 * checkpoint got no file.)
 */
static void
test_tiles_every_size(void)
{
    char *dir = newdir(), path[AUDIT_TILES_PATH];
    struct audit_tiles t;
    struct merkle_frontier fr;
    uint8_t leaf[MERKLE_HASH_BYTES], payload[8], got[AUDIT_MAX_RECORD_BYTES];
    uint8_t roots[700][MERKLE_HASH_BYTES];
    struct stat st;
    size_t len;
    int dfd;

    ASSERT_EQ(mkdir(dir, 0700), 0);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT(dfd >= 0);
    audit_tiles_init(&t, dfd, false);
    merkle_frontier_init(&fr);
    for (uint32_t i = 0; i < 4096; i++) {
        memset(payload, (int)(i & 0xff), sizeof(payload));
        payload[0] = (uint8_t)(i >> 8);
        merkle_leaf_hash(payload, sizeof(payload), leaf);
        audit_tiles_append(&t, leaf, payload, sizeof(payload));
        merkle_frontier_append(&fr, leaf);
        if (i < 700)
            merkle_frontier_root(&fr, roots[i]);
        if (i % 3 == 2)
            audit_tiles_flush(&t);
    }
    audit_tiles_flush(&t);
    ASSERT(!t.failed);
    for (unsigned w = 15; w <= 16; w++) {
        audit_tiles_path(1, 0, w, path);
        ASSERT_EQ(fstatat(dfd, path, &st, 0), 0);
        ASSERT_EQ((uint64_t)st.st_size, w * MERKLE_HASH_BYTES);
    }
    for (uint64_t size = 3; size <= 700; size += 3) {
        struct audit_tiles_reader r;
        uint8_t root[MERKLE_HASH_BYTES];

        audit_tiles_reader_init(&r, dfd, size);
        ASSERT_OK(merkle_root(audit_tiles_subtree, &r, size, root));
        ASSERT(memcmp(root, roots[size - 1], MERKLE_HASH_BYTES) == 0);
        ASSERT_OK(audit_tiles_entry(&r, size - 1, got, sizeof(got), &len));
        ASSERT_EQ(len, sizeof(payload));
        ASSERT_EQ(got[0], (uint8_t)((size - 1) >> 8));
        ASSERT_EQ(got[1], (uint8_t)((size - 1) & 0xff));
        audit_tiles_reader_release(&r);
    }
    audit_tiles_release(&t);
    close(dfd);
    rmrf(dir);
}

int
main(void)
{
    log_init("test_audit", true);
    {
        char sk[NOTE_MAX_KEY], vk[NOTE_MAX_KEY];

        ASSERT_OK(note_key_generate(ORIGIN, sk, sizeof(sk), vk, sizeof(vk)));
        ASSERT_OK(note_signer_parse(sk, &signer));
    }
    ASSERT(sodium_init() >= 0);
    ASSERT(mkdtemp(tmproot) != NULL);
    RUN(test_roundtrip);
    RUN(test_encode_rejects);
    RUN(test_decode_rejects);
    RUN(test_signing_key);
    RUN(test_writer_reopen);
    RUN(test_head_unsynced);
    RUN(test_journaled_heal);
    RUN(test_fast_open);
    RUN(test_checkpoints);
    RUN(test_head_interval);
    RUN(test_torn_tail);
    RUN(test_repair_limits);
    RUN(test_sync_failure);
    RUN(test_verify_damage);
    RUN(test_proofs);
    RUN(test_replay);
    RUN(test_tiles_dirs_once);
    RUN(test_tiles_spares);
    RUN(test_tiles_made_ahead);
    RUN(test_tiles_every_size);
    RUN(test_checkpoint_ticket);
    rmrf(tmproot);
    return 0;
}
