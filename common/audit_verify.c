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

#include <sodium.h>

#include "common/audit.h"
#include "common/audit_scan.h"
#include "common/audit_tiles.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/xmalloc.h"

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

int
audit_verify_saved(const char *dir, const char *key,
    const struct audit_saved *saved, size_t n, struct audit_verify_result *res)
{
    struct audit_scan_expect *ex = NULL;
    struct audit_scan s;
    int rc;

    rc = scan_open(&s, dir, key, res);
    if (rc == 0 && n > 0) {
        ex = xcalloc(n, sizeof(*ex));
        for (size_t i = 0; i < n; i++) {
            ex[i].size = saved[i].size;
            memcpy(ex[i].root, saved[i].root, MERKLE_HASH_BYTES);
            snprintf(ex[i].what, sizeof(ex[i].what), "%s", saved[i].what);
        }
        s.expect = ex; /* the scan sorts its own copy */
        s.nexpect = n;
    }
    if (rc == 0)
        rc = audit_scan_run(&s, NULL);
    scan_close(&s);
    free(ex);
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
    if (out[0] == '\0' && s->head_len > 0 && s->head_size == size)
        memcpy(out, s->head, s->head_len + 1);
}

/* ------------------------------------------------- proofs from tiles */

/* A signed checkpoint found for a proof. */
struct found_note {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    char note[AUDIT_MAX_NOTE_BYTES + 1];
};

/* Keep note[0..len) in `*f` if it verifies and is the one wanted. */
static void
consider_note(const struct note_verifier *v, const uint8_t *note, size_t len,
    uint64_t want, struct found_note *f, bool *have)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[MERKLE_HASH_BYTES];
    const char *why;
    uint64_t size;

    if (len > AUDIT_MAX_NOTE_BYTES ||
        !audit_scan_ckpt_size_peek(note, len, &size))
        return;
    if (want != 0 ? size != want : (*have && size <= f->size))
        return;
    if (audit_scan_ckpt_open(v, note, len, origin, &size, root, &why) != 0)
        return;
    f->size = size;
    memcpy(f->root, root, sizeof(root));
    memcpy(f->note, note, len);
    f->note[len] = '\0';
    *have = true;
}

/*
 * Find the signed checkpoint of `want` records (0: the largest) among
 * checkpoints.log and DIR/checkpoint of `dirfd`, checking only the
 * signature of the one taken (the archive may hold thousands).
 * Returns 0, ERR_NOTFOUND or ERR_IO.
 */
static int
find_note(int dirfd, const struct note_verifier *v, uint64_t want,
    struct found_note *f)
{
    char *p = NULL;
    size_t len, off = 0;
    bool have = false;
    int rc;

    rc = fileio_read_small(dirfd, AUDIT_CKPT_FILE, 256u << 20, &p, &len);
    if (rc != 0 && rc != ERR_NOTFOUND)
        return ERR_IO;
    while (rc == 0 && len - off >= 4) {
        const uint8_t *b = (const uint8_t *)p + off;
        uint32_t n = (uint32_t)b[0] | (uint32_t)b[1] << 8 |
            (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;

        if (n == 0 || n > len - off - 4)
            break;
        consider_note(v, b + 4, n, want, f, &have);
        off += 4 + (size_t)n;
    }
    free(p);
    p = NULL;
    rc = fileio_read_small(
        dirfd, AUDIT_HEAD_FILE, AUDIT_MAX_NOTE_BYTES, &p, &len);
    if (rc == 0)
        consider_note(v, (const uint8_t *)p, len, want, f, &have);
    free(p);
    return have ? 0 : ERR_NOTFOUND;
}

/*
 * Build the inclusion proof of `index` in the tree of f->size records
 * from the tiles of `dirfd`, with the record from its entry bundle, and
 * check it against the signed root f->root before handing it out.
 * Returns 0, ERR_NOTFOUND (tiles missing), ERR_CORRUPT (`*why`: the
 * tiles disagree with the signed root) or ERR_IO.
 */
static int
tiles_inclusion_rd(struct audit_tiles_reader *rd, const struct found_note *f,
    uint64_t index, struct audit_proof *p, const char **why)
{
    uint8_t leaf[MERKLE_HASH_BYTES];
    struct audit_record rec;
    int rc;

    p->index = index;
    p->size = f->size;
    rc = merkle_inclusion_proof(
        audit_tiles_subtree, rd, index, f->size, p->hashes, &p->n);
    if (rc == 0)
        rc = audit_tiles_subtree(rd, 0, index, p->leaf_hash);
    if (rc == 0)
        rc = audit_tiles_entry(rd, index, p->raw, sizeof(p->raw), &p->raw_len);
    if (rc == ERR_INVAL)
        rc = ERR_NOTFOUND;
    if (rc != 0) {
        *why = "the tiles of that size cannot be read";
        return rc == ERR_CORRUPT ? ERR_CORRUPT : rc;
    }
    memcpy(p->root, f->root, sizeof(p->root));
    merkle_leaf_hash(p->raw, p->raw_len, leaf);
    if (sodium_memcmp(leaf, p->leaf_hash, sizeof(leaf)) != 0 ||
        audit_record_decode(p->raw, p->raw_len, &rec, NULL) != 0 ||
        rec.index != index) {
        *why = "the entry bundle does not hold the record the tiles name";
        return ERR_CORRUPT;
    }
    if (merkle_verify_inclusion(index, f->size, leaf,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->n,
            f->root) != 0) {
        *why = "the tiles disagree with the signed checkpoint";
        return ERR_CORRUPT;
    }
    return 0;
}

static int
tiles_inclusion(int dirfd, const struct found_note *f, uint64_t index,
    struct audit_proof *p, const char **why)
{
    struct audit_tiles_reader rd;
    int rc;

    audit_tiles_reader_init(&rd, dirfd, f->size);
    rc = tiles_inclusion_rd(&rd, f, index, p, why);
    audit_tiles_reader_release(&rd);
    return rc;
}

/* The consistency proof between the signed checkpoints `o` and `f`,
 * from tiles, checked against both roots. Returns as tiles_inclusion(). */
static int
tiles_consistency(int dirfd, const struct found_note *o,
    const struct found_note *f, struct audit_proof *p, const char **why)
{
    struct audit_tiles_reader rd;
    int rc;

    audit_tiles_reader_init(&rd, dirfd, f->size);
    p->old_size = o->size;
    p->size = f->size;
    rc = merkle_consistency_proof(
        audit_tiles_subtree, &rd, o->size, f->size, p->hashes, &p->n);
    audit_tiles_reader_release(&rd);
    if (rc != 0) {
        *why = "the tiles of that size cannot be read";
        return rc == ERR_INVAL ? ERR_NOTFOUND : rc;
    }
    memcpy(p->old_root, o->root, sizeof(p->old_root));
    memcpy(p->root, f->root, sizeof(p->root));
    if (merkle_verify_consistency(o->size, f->size, o->root, f->root,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->n) != 0) {
        *why = "the tiles disagree with the signed checkpoints";
        return ERR_CORRUPT;
    }
    return 0;
}

/*
 * The fast path of the proofs: signed checkpoints of the sizes asked
 * for and the tiles. Returns 0 (proof built and checked), ERR_NOTFOUND
 * (no signed checkpoint of a size, or no tiles: take the slow path),
 * ERR_CORRUPT (tiles or bundles disagree with a signed root: `res`
 * says so) or ERR_IO.
 */
static int
prove_fast(struct audit_scan *s, uint64_t index, uint64_t old_size,
    uint64_t size, struct audit_proof *p)
{
    struct found_note *f = xmalloc(sizeof(*f)), *o = NULL;
    const char *why = NULL;
    int rc;

    rc = find_note(s->dirfd, &s->v, size, f);
    if (rc == 0 && index == UINT64_MAX) {
        o = xmalloc(sizeof(*o));
        rc = old_size == f->size ? 0 : find_note(s->dirfd, &s->v, old_size, o);
        if (old_size == f->size)
            *o = *f;
        if (rc == 0)
            rc = tiles_consistency(s->dirfd, o, f, p, &why);
        if (rc == 0) {
            memcpy(p->old_note, o->note, strlen(o->note) + 1);
            memcpy(p->note, f->note, strlen(f->note) + 1);
        }
    } else if (rc == 0) {
        if (index >= f->size)
            rc = ERR_NOTFOUND;
        else
            rc = tiles_inclusion(s->dirfd, f, index, p, &why);
        if (rc == 0)
            memcpy(p->note, f->note, strlen(f->note) + 1);
    }
    if (rc == ERR_CORRUPT)
        rc = audit_scan_env_fail(s, ERR_CORRUPT,
            "%s: verify the log (audit verify) to find what changed", why);
    if (rc == 0) {
        s->res->ok = true;
        s->res->checkpoint_size = f->size;
        memcpy(s->res->note, f->note, strlen(f->note) + 1);
        s->res->note_len = strlen(f->note);
    }
    free(o);
    free(f);
    return rc;
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
    rc = prove_fast(&s, index, 0, size, proof);
    if (rc != ERR_NOTFOUND)
        goto out;
    /* No tiles, or no signed checkpoint of that size: one pass over the
     * whole log, keeping every level. */
    memset(proof, 0, sizeof(*proof));
    proof->index = index;
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
    if (old_size > 0 && old_size <= new_size) {
        rc = prove_fast(&s, UINT64_MAX, old_size, new_size, proof);
        if (rc != ERR_NOTFOUND)
            goto out;
        memset(proof, 0, sizeof(*proof));
        proof->old_size = old_size;
        proof->size = new_size;
        proof->index = UINT64_MAX;
    }
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

/* ------------------------------------------------- trees (tile reads) */

struct audit_tree {
    int dirfd;           /* owned */
    struct found_note f; /* the signed checkpoint of the tree */
    struct audit_tiles_reader rd;
};

/* A tree over the audit directory `dirfd` (owned from here on). */
static struct audit_tree *
tree_new(int dirfd)
{
    struct audit_tree *t = xcalloc(1, sizeof(*t));

    t->dirfd = dirfd;
    return t;
}

/*
 * Finish an open whose checkpoint search returned `rc`: on success the
 * tile reader is set up on the checkpoint's size and *out gets `t`;
 * otherwise `t` is closed. Returns rc.
 */
static int
tree_ready(struct audit_tree *t, int rc, struct audit_tree **out)
{
    if (rc != 0) {
        audit_tree_close(t);
        return rc;
    }
    audit_tiles_reader_init(&t->rd, t->dirfd, t->f.size);
    *out = t;
    return 0;
}

int
audit_tree_open(
    const struct audit_log *log, uint64_t size, struct audit_tree **out)
{
    struct note_verifier v;
    struct audit_tree *t;
    const char *head;
    uint64_t hsize;
    bool have = false;
    size_t hlen;
    int dirfd, rc;

    *out = NULL;
    if (note_verifier_parse(audit_verifier_key(log), &v) != 0)
        return ERR_INVAL;
    dirfd = open(audit_log_dir(log), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1)
        return ERR_IO;
    t = tree_new(dirfd);
    head = audit_head(log, &hlen, &hsize);
    if (head != NULL && (size == 0 || size == hsize)) {
        /* The head in memory: no file to read. */
        consider_note(&v, (const uint8_t *)head, hlen, hsize, &t->f, &have);
        rc = have ? 0 : ERR_CORRUPT;
    } else if (size == 0) {
        rc = ERR_NOTFOUND;
    } else {
        rc = find_note(dirfd, &v, size, &t->f);
    }
    return tree_ready(t, rc, out);
}

int
audit_tree_open_dir(
    const char *dir, const char *key, uint64_t size, struct audit_tree **out)
{
    struct note_verifier v;
    struct audit_tree *t;
    int dirfd, rc;

    *out = NULL;
    if (note_verifier_parse(key, &v) != 0)
        return ERR_INVAL;
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    t = tree_new(dirfd);
    rc = find_note(dirfd, &v, size, &t->f);
    return tree_ready(t, rc, out);
}

int
audit_tree_inclusion(
    struct audit_tree *t, uint64_t index, struct audit_proof *out)
{
    const char *why = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (index >= t->f.size)
        return ERR_NOTFOUND;
    /* One reader per tree: its tile cache serves neighbouring records. */
    rc = tiles_inclusion_rd(&t->rd, &t->f, index, out, &why);
    if (rc == 0)
        memcpy(out->note, t->f.note, strlen(t->f.note) + 1);
    else if (rc == ERR_CORRUPT)
        log_warnx(
            "audit inclusion proof of record %" PRIu64 ": %s", index, why);
    return rc;
}

uint64_t
audit_tree_size(const struct audit_tree *t)
{
    return t->f.size;
}

const char *
audit_tree_note(const struct audit_tree *t)
{
    return t->f.note;
}

void
audit_tree_close(struct audit_tree *t)
{
    if (t == NULL)
        return;
    audit_tiles_reader_release(&t->rd);
    if (t->dirfd != -1)
        close(t->dirfd);
    free(t);
}

int
audit_log_prove_inclusion(const struct audit_log *log, uint64_t index,
    uint64_t size, struct audit_proof *out)
{
    struct audit_tree *t;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = audit_tree_open(log, size, &t);
    if (rc != 0)
        return rc;
    rc = audit_tree_inclusion(t, index, out);
    audit_tree_close(t);
    return rc;
}
