/*
 * fuzz_audit_log.c - libFuzzer harness: the audit log on disk, through
 *                    the verifier, the replay and the writer's open
 *
 * The bytes become the files of an audit directory, which is then read
 * the ways Vigil reads it: audit_verify() (vigilctl audit verify),
 * audit_replay() (replay, export, subject report) and, when asked,
 * audit_log_open() (the scorer's start: the scan under the writer, with
 * its torn-tail repair). Layout of the input:
 *
 *   byte 0      flags: 1 = a second segment, 2 = open as the writer
 *   byte 1      the second segment's first record number (0..255)
 *   bytes 2-3   C, little-endian: the length of checkpoints.log
 *   C bytes     checkpoints.log
 *   bytes       S, little-endian u16: the length of the first segment
 *   S bytes     records-00000000000000000000.log
 *   the rest    the second segment (flag 1), else ignored
 *
 * (lengths are clamped to what is left). The seeds (make_corpus.c) are
 * real logs written by audit_log_open/append/sync/checkpoint with the
 * fixed key of fuzzutil.h, so mutations start from valid signatures.
 * Checked: verify's result is consistent (ok and no reason, or a reason
 * naming a file); replay hands out exactly the records verify counted,
 * in order, each re-decoding from its raw bytes with the right leaf
 * hash; and whatever the writer accepts (repairing a torn tail) is a
 * log that, after one more record, a sync and a checkpoint, verifies.
 *
 * Only the public API of common/audit.h and the file names of its
 * format section 2 are used.
 *
 * See also: common/audit.h, tests/fuzz/make_corpus.c, fuzzutil.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/merkle.h"
#include "tests/fuzz/fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay_state {
    uint64_t n;
};

static int
replay_cb(void *arg, const struct audit_entry *e)
{
    struct replay_state *st = arg;
    uint8_t leaf[MERKLE_HASH_BYTES];
    struct audit_record r;
    const char *why;

    if (e->rec->index != st->n)
        fuzzutil_fail("replay: a record out of order");
    if (audit_record_decode(e->raw, e->raw_len, &r, &why) != 0 ||
        r.index != e->rec->index)
        fuzzutil_fail("replay: raw bytes that do not decode to the record");
    merkle_leaf_hash(e->raw, e->raw_len, leaf);
    if (memcmp(leaf, e->leaf_hash, sizeof(leaf)) != 0)
        fuzzutil_fail("replay: a wrong leaf hash");
    st->n++;
    return 0;
}

/* Take `n` bytes (clamped) from the input at *p. */
static const uint8_t *
take(const uint8_t **p, size_t *left, size_t n, size_t *got)
{
    const uint8_t *at = *p;

    *got = n < *left ? n : *left;
    *p += *got;
    *left -= *got;
    return at;
}

static void
append_one(struct audit_log *log)
{
    struct audit_record r;
    uint64_t index;

    memset(&r, 0, sizeof(r));
    r.ts_ms = 1700000000000ULL;
    memcpy(r.actor, "fuzz", 5);
    r.role = AUDIT_ROLE_SYSTEM;
    memcpy(r.op, "fuzz.append", 12);
    memcpy(r.purpose, "audit", 6);
    r.outcome = AUDIT_OUTCOME_ALLOWED;
    if (audit_append(log, &r, &index) != 0 || audit_sync(log) != 0 ||
        audit_checkpoint(log, r.ts_ms) != 0)
        fuzzutil_fail("writer: cannot append to a log it opened");
}

static void
run_writer(const char *dir)
{
    struct audit_verify_result res;
    struct audit_log *log = NULL;
    uint64_t before;
    int rc;
    static struct note_signer signer; /* the fixed key, parsed once */
    static bool have_signer;

    if (!have_signer) {
        if (note_signer_parse(FUZZ_SKEY, &signer) != 0)
            fuzzutil_fail("the fixed signer key does not parse");
        have_signer = true;
    }
    rc = audit_log_open(dir, &signer, NULL, &log);
    if (rc != 0) {
        if (rc != ERR_CORRUPT && rc != ERR_INVAL && rc != ERR_DENIED)
            fuzzutil_fail("writer: unexpected code from audit_log_open");
        return;
    }
    before = audit_size(log);
    append_one(log);
    audit_log_close(log);
    rc = audit_verify(dir, FUZZ_VKEY, &res);
    if (rc != 0 || !res.ok || res.records != before + 1) {
        fprintf(stderr,
            "fuzz: verify after the writer: rc %d, %" PRIu64
            " records (want %" PRIu64 "): %s\n",
            rc, res.records, before + 1, res.reason);
        fuzzutil_fail("the writer accepted a log that then fails verify");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct audit_verify_result res;
    struct replay_state st = { 0 };
    const uint8_t *p = data, *ck, *s1, *s2;
    size_t left = size, nck, ns1, ns2, n;
    char dir[512], path[512], name[64];
    uint8_t flags, second;
    int rc, rrc;

    if (size < 4)
        return 0;
    flags = data[0];
    second = data[1];
    nck = (size_t)data[2] | (size_t)data[3] << 8;
    p += 4;
    left -= 4;
    ck = take(&p, &left, nck, &nck);
    n = left >= 2 ? ((size_t)p[0] | (size_t)p[1] << 8) : 0;
    (void)take(&p, &left, 2, &ns1);
    s1 = take(&p, &left, n, &ns1);
    s2 = take(&p, &left, left, &ns2);

    fuzzutil_mkdir("audit", dir, sizeof(dir));
    fuzzutil_write("audit/checkpoints.log", ck, nck, 0600, path, sizeof(path));
    fuzzutil_write("audit/records-00000000000000000000.log", s1, ns1, 0600,
        path, sizeof(path));
    if (flags & 1) {
        (void)snprintf(
            name, sizeof(name), "audit/records-%020u.log", (unsigned)second);
        fuzzutil_write(name, s2, ns2, 0600, path, sizeof(path));
    }

    rc = audit_verify(dir, FUZZ_VKEY, &res);
    if (rc == 0 && (!res.ok || res.reason[0] != '\0'))
        fuzzutil_fail("verify: ok with a failure recorded");
    if (rc != 0 && (res.ok || res.reason[0] == '\0'))
        fuzzutil_fail("verify: a failure without a reason");
    if (rc != 0 && rc != ERR_CORRUPT && rc != ERR_IO)
        fuzzutil_fail("verify: unexpected code");
    if (memchr(res.reason, '\0', sizeof(res.reason)) == NULL)
        fuzzutil_fail("verify: reason not terminated");

    rrc = audit_replay(dir, FUZZ_VKEY, NULL, replay_cb, &st, &res);
    if (rrc != rc)
        fuzzutil_fail("replay and verify disagree");
    if (rc == 0 && st.n != res.records)
        fuzzutil_fail("replay handed out a count other than verified");

    if (flags & 2)
        run_writer(dir);
    return 0;
}
