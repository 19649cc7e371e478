/*
 * audit_verify.c - the auditor's side of the audit log: verify, replay,
 *                  inclusion and consistency proofs, checkpoint notes
 *
 * vigilctl (and the scorer's subject index rebuild) read an audit
 * directory read-only, possibly a copy, without its LOCK. Each call is
 * one linear pass of audit_scan_run() with the verifier key given (or
 * the directory's own verifier.key), plus the Merkle work of a proof.
 *
 * Invariants:
 *  - nothing here writes to the directory.
 *  - every call fills its audit_verify_result, success or not.
 *
 * See also: audit.h (format section 4), audit_scan.h, tools/vigilctl.1
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/audit_scan.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/merkle.h"
#include "common/note.h"

static void
strip_newline(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int
audit_read_verifier_key(const char *dir, char *out, size_t cap)
{
    char *p = NULL;
    size_t len;
    int dirfd, rc;

    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    rc = fileio_read_small(dirfd, AUDIT_VERIFIER_FILE, NOTE_MAX_KEY, &p, &len);
    close(dirfd);
    if (rc != 0)
        return rc;
    strip_newline(p);
    if (strlen(p) + 1 > cap) {
        free(p);
        return ERR_TOOBIG;
    }
    memcpy(out, p, strlen(p) + 1);
    free(p);
    return 0;
}

int
audit_checkpoint_open(const char *key, const uint8_t *note, size_t note_len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why)
{
    struct note_verifier v;
    const char *w = NULL;
    int rc;

    rc = note_verifier_parse(key, &v);
    if (rc != 0) {
        w = "the verifier key is not a valid key string";
        rc = ERR_INVAL;
    } else {
        rc = audit_scan_ckpt_open(&v, note, note_len, origin, size, root, &w);
    }
    if (why != NULL)
        *why = w;
    return rc;
}

/* Set up a read-only scan of `dir` with `key` (or dir/verifier.key). */
static int
scan_open(struct audit_scan *s, const char *dir, const char *key,
    struct audit_verify_result *res)
{
    int rc;

    memset(res, 0, sizeof(*res));
    memset(s, 0, sizeof(*s));
    s->res = res;
    s->dirfd = -1;
    res->ok = false;
    res->bad_record = UINT64_MAX;
    res->bad_record_end = UINT64_MAX;
    res->bad_checkpoint = UINT64_MAX;
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd == -1)
        return audit_scan_env_fail(
            s, ERR_IO, "cannot open directory '%s': %s", dir, strerror(errno));
    if (key == NULL) {
        rc = audit_read_verifier_key(dir, res->key, sizeof(res->key));
        if (rc != 0)
            return audit_scan_env_fail(s, rc == ERR_NOTFOUND ? ERR_IO : rc,
                "cannot read '%s/%s': %s", dir, AUDIT_VERIFIER_FILE,
                err_str(rc));
        res->key_from_dir = true;
    } else {
        snprintf(res->key, sizeof(res->key), "%s", key);
        strip_newline(res->key);
    }
    rc = note_verifier_parse(res->key, &s->v);
    if (rc != 0)
        return audit_scan_env_fail(s, ERR_INVAL,
            "the verifier key is not a valid "
            "key string (<name>+<8 hex>+<base64>)");
    return 0;
}

static void
scan_close(struct audit_scan *s)
{
    if (s->dirfd != -1)
        close(s->dirfd);
    audit_scan_release(s);
}

int
audit_replay(const char *dir, const char *key,
    const struct audit_filter *filter, audit_replay_cb cb, void *arg,
    struct audit_verify_result *res)
{
    struct audit_scan s;
    int rc;

    rc = scan_open(&s, dir, key, res);
    if (rc == 0) {
        s.filter = filter;
        s.cb = cb;
        s.arg = arg;
        rc = audit_scan_run(&s, NULL);
    }
    scan_close(&s);
    return rc;
}

int
audit_verify(const char *dir, const char *key, struct audit_verify_result *res)
{
    struct audit_scan s;
    int rc;

    rc = scan_open(&s, dir, key, res);
    if (rc == 0)
        rc = audit_scan_run(&s, NULL);
    scan_close(&s);
    return rc;
}

/* Copy the note of the checkpoint of `size`, if there is one. */
static void
note_of_size(const struct audit_scan *s, uint64_t size, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; i < s->nck; i++) {
        if (s->ck[i].size == size) {
            memcpy(out, s->ckbuf + s->ck[i].note_off, s->ck[i].note_len);
            out[s->ck[i].note_len] = '\0';
        }
    }
}

int
audit_prove_inclusion(const char *dir, const char *key, uint64_t index,
    uint64_t size, struct audit_proof *proof, struct audit_verify_result *res)
{
    struct merkle_levels lv;
    struct audit_scan s;
    int rc;

    memset(proof, 0, sizeof(*proof));
    proof->index = index;
    merkle_levels_init(&lv);
    rc = scan_open(&s, dir, key, res);
    if (rc != 0)
        goto out;
    s.levels = &lv;
    rc = audit_scan_run(&s, proof);
    if (rc != 0)
        goto out;
    if (size == 0) {
        size = res->checkpoint_size;
        if (index >= size) {
            rc = audit_scan_env_fail(&s, ERR_NOTFOUND,
                "record %" PRIu64 " is not "
                "covered by a checkpoint yet (latest size %" PRIu64 "); "
                "give --size",
                index, size);
            goto out;
        }
    }
    if (size > s.count || index >= size) {
        rc = audit_scan_env_fail(&s, ERR_NOTFOUND,
            "record %" PRIu64 " is not in a "
            "tree of %" PRIu64 " of the %" PRIu64 " records",
            index, size, s.count);
        goto out;
    }
    proof->size = size;
    rc = merkle_inclusion_proof(
        merkle_levels_subtree, &lv, index, size, proof->hashes, &proof->n);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, size, proof->root);
    if (rc == 0)
        rc = merkle_levels_subtree(&lv, 0, index, proof->leaf_hash);
    if (rc != 0) {
        rc = audit_scan_env_fail(
            &s, ERR_IO, "cannot build the proof: %s", err_str(rc));
        goto out;
    }
    note_of_size(&s, size, proof->note);
out:
    scan_close(&s);
    merkle_levels_release(&lv);
    return rc;
}

int
audit_prove_consistency(const char *dir, const char *key, uint64_t old_size,
    uint64_t new_size, struct audit_proof *proof,
    struct audit_verify_result *res)
{
    struct merkle_levels lv;
    struct audit_scan s;
    int rc;

    memset(proof, 0, sizeof(*proof));
    proof->old_size = old_size;
    proof->size = new_size;
    proof->index = UINT64_MAX;
    merkle_levels_init(&lv);
    rc = scan_open(&s, dir, key, res);
    if (rc != 0)
        goto out;
    s.levels = &lv;
    rc = audit_scan_run(&s, NULL);
    if (rc != 0)
        goto out;
    if (old_size == 0 || old_size > new_size || new_size > s.count) {
        rc = audit_scan_env_fail(&s, ERR_NOTFOUND,
            "need 0 < old (%" PRIu64 ") <= "
            "new (%" PRIu64 ") <= records (%" PRIu64 ")",
            old_size, new_size, s.count);
        goto out;
    }
    rc = merkle_consistency_proof(merkle_levels_subtree, &lv, old_size,
        new_size, proof->hashes, &proof->n);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, old_size, proof->old_root);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, new_size, proof->root);
    if (rc != 0) {
        rc = audit_scan_env_fail(
            &s, ERR_IO, "cannot build the proof: %s", err_str(rc));
        goto out;
    }
    note_of_size(&s, old_size, proof->old_note);
    note_of_size(&s, new_size, proof->note);
out:
    scan_close(&s);
    merkle_levels_release(&lv);
    return rc;
}
