/*
 * gen_audit_log.c - test helper: writes audit logs through the real writer
 *
 * Used by tests/integration/test_audit_verify.py (golden damaged logs are
 * made from copies of a generated valid log) and by the verify benchmark.
 * Not installed, not a vigilctl command.
 *
 *   gen_audit_log gen DIR N [CKPT_EVERY [SEGMENT_BYTES]]
 *       append N deterministic records (one sync per 100), a checkpoint
 *       every CKPT_EVERY records (0: only at the end) and at the end;
 *       prints the verifier key. The signing key is DIR.key, beside the
 *       log (never inside it), made on first use.
 *   gen_audit_log resign DIR
 *       replace the last checkpoint in DIR/checkpoints.log by the same
 *       text signed with a fresh key of the same name (a checkpoint
 *       signed by another key)
 *
 * Invariants:
 *  - records are a pure function of their index (reproducible logs).
 *
 * See also: common/audit.h, tests/integration/test_audit_verify.py
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/log.h"
#include "common/note.h"
#include "common/xmalloc.h"

#define ORIGIN "vigil.test/audit"

static int
parse_u64(const char *s, uint64_t *out)
{
    char *end;

    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno != 0 || end == s || *end != '\0' || *s == '-') ? -1 : 0;
}

static void
make_record(uint64_t i, struct audit_record *r)
{
    static const char *const ops[] = { "event.store", "score.get",
        "account.get", "label.put", "export" };
    static const char *const purposes[] = { "fraud-prevention",
        "chargeback-review", "audit" };

    memset(r, 0, sizeof(*r));
    r->ts_ms = 1764115200000ULL + i * 37;
    snprintf(r->actor, sizeof(r->actor), "%s",
        i % 7 == 3 ? "analyst-anna" : "shop-main");
    r->role = i % 7 == 3 ? AUDIT_ROLE_ANALYST : AUDIT_ROLE_STOREFRONT;
    snprintf(r->op, sizeof(r->op), "%s", ops[i % 5]);
    r->cats = (uint32_t)(i * 2654435761u) & AUDIT_CAT_ALL;
    r->nsubj = 1 + (unsigned)(i % 3);
    for (unsigned k = 0; k < r->nsubj; k++) {
        for (unsigned b = 0; b < AUDIT_SUBJECT_BYTES; b++)
            r->subj[k][b] = (uint8_t)((i + k) * 31 + b * 7);
    }
    snprintf(r->purpose, sizeof(r->purpose), "%s", purposes[i % 3]);
    r->outcome = i % 11 == 5 ? AUDIT_OUTCOME_DENIED : AUDIT_OUTCOME_ALLOWED;
    snprintf(r->ref, sizeof(r->ref), "evt-%08" PRIu64, i);
}

static int
gen(const char *dir, uint64_t n, uint64_t every, uint64_t segbytes)
{
    char keypath[4096], err[512];
    struct note_signer signer;
    struct audit_log *log;
    struct audit_record r;
    uint64_t idx;
    int rc;

    snprintf(keypath, sizeof(keypath), "%s.key", dir);
    rc = audit_key_load(keypath, ORIGIN, true, &signer, NULL, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "key: %s\n", err);
        return 1;
    }
    rc = audit_log_open(dir, &signer, NULL, &log);
    note_signer_wipe(&signer);
    if (rc != 0) {
        fprintf(stderr, "open: %s\n", err_str(rc));
        return 1;
    }
    if (segbytes > 0)
        audit_log_set_segment_bytes(log, segbytes);
    for (uint64_t i = audit_size(log); i < n; i++) {
        make_record(i, &r);
        rc = audit_append(log, &r, &idx);
        if (rc == 0 &&
            (i % 100 == 99 || i + 1 == n ||
                (every > 0 && (i + 1) % every == 0)))
            rc = audit_sync(log);
        if (rc == 0 && every > 0 && (i + 1) % every == 0)
            rc = audit_checkpoint(log, r.ts_ms);
        if (rc != 0) {
            fprintf(stderr, "append %" PRIu64 ": %s\n", i, err_str(rc));
            audit_log_close(log);
            return 1;
        }
    }
    rc = audit_sync(log);
    if (rc == 0)
        rc = audit_checkpoint(log, 0);
    if (rc != 0) {
        fprintf(stderr, "final: %s\n", err_str(rc));
        audit_log_close(log);
        return 1;
    }
    printf("%s\n", audit_verifier_key(log));
    audit_log_close(log);
    return 0;
}

static int
resign(const char *dir)
{
    char path[4096], skey[NOTE_MAX_KEY], vkey[NOTE_MAX_KEY];
    static uint8_t data[1 << 20];
    uint8_t out[4 + AUDIT_MAX_NOTE_BYTES + 1];
    struct note_signer s;
    size_t off = 0, last = 0, text_len, n;
    ssize_t got;
    const char *p;
    int fd, rc;

    snprintf(path, sizeof(path), "%s/checkpoints.log", dir);
    fd = open(path, O_RDWR);
    if (fd == -1)
        return 1;
    got = read(fd, data, sizeof(data));
    if (got <= 0)
        return 1;
    while (off + 4 <= (size_t)got) {
        uint32_t len = (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 |
            (uint32_t)data[off + 2] << 16 | (uint32_t)data[off + 3] << 24;

        last = off;
        off += 4 + len;
    }
    /* The text is everything up to the blank line before the signature. */
    p = (const char *)data + last + 4;
    text_len = 0;
    while (memcmp(p + text_len, "\n\n", 2) != 0)
        text_len++;
    text_len++;
    rc = note_key_generate(ORIGIN, skey, sizeof(skey), vkey, sizeof(vkey));
    if (rc == 0)
        rc = note_signer_parse(skey, &s);
    if (rc == 0)
        rc = note_sign(&s, p, text_len, (char *)out + 4, sizeof(out) - 4, &n);
    if (rc != 0)
        return 1;
    out[0] = (uint8_t)n;
    out[1] = (uint8_t)(n >> 8);
    out[2] = 0;
    out[3] = 0;
    if (ftruncate(fd, (off_t)last) != 0 ||
        pwrite(fd, out, 4 + n, (off_t)last) != (ssize_t)(4 + n))
        return 1;
    close(fd);
    printf("%s\n", vkey);
    return 0;
}

int
main(int argc, char **argv)
{
    uint64_t n, every = 0, segbytes = 0;

    log_init("gen_audit_log", true);
    if (sodium_init() < 0)
        return 2;
    if (argc >= 4 && strcmp(argv[1], "gen") == 0 &&
        parse_u64(argv[3], &n) == 0 &&
        (argc < 5 || parse_u64(argv[4], &every) == 0) &&
        (argc < 6 || parse_u64(argv[5], &segbytes) == 0) && argc <= 6)
        return gen(argv[2], n, every, segbytes);
    if (argc == 3 && strcmp(argv[1], "resign") == 0)
        return resign(argv[2]);
    fprintf(stderr,
        "usage: gen_audit_log gen DIR N [CKPT_EVERY "
        "[SEGMENT_BYTES]]\n       gen_audit_log resign DIR\n");
    return 2;
}
