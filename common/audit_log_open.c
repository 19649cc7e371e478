/*
 * audit_log_open.c - the audit log's writer, opening: checks against the
 *                    owner's anchor, torn-tail repair, heal from the
 *                    owner's journal, the background verifier, and
 *                    reading records back
 *
 * audit_log_open() runs once, before the scorer serves: it refuses a
 * secret key inside the directory, writes or checks verifier.key, scans
 * the log (audit_scan.c, writer mode), cuts torn tails, restores the
 * records the owner's journal holds but the segments lost, and leaves
 * struct audit_log ready for audit_log.c's append and commit.
 *
 * THE START-UP PROMISE (issue 12). Opening costs what came after the
 * anchor, not the history: the anchor's first T records (its size
 * rounded down to 256) are TRUSTED at open; the Merkle frontier at T is
 * rebuilt from the stored tiles (one partial tile per level), the
 * records from T on are scanned in full (CRC, strict decode, index,
 * checkpoints past T, the anchor's root, torn-tail cut, rollback
 * refusal), and a tile that is missing (tiles are not synced), short or
 * altered only sends the open to the whole scan, which rewrites it.
 * The signed head (DIR/checkpoint) is not synced and is never what the
 * trust rests on. What the open does not read, a record or checkpoint
 * altered inside the prefix while the scorer was stopped, is found by
 * the background verifier (audit_log_verify_start(): the whole pass on
 * one thread at nice 10, after start-up; the scorer then exits,
 * refusing to continue, as it refused to start before) and by `vigilctl
 * audit verify`, which always reads everything.
 *
 * See also: audit_log.c (append, sync, commit, heads, checkpoints),
 *           audit_log_impl.h, audit.h, audit_scan.h, segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/audit_log_impl.h"
#include "common/audit_scan.h"
#include "common/audit_tiles.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

/* Write a small file atomically (tmp, fsync, rename). */
static int
write_file(int dirfd, const char *name, const char *text, mode_t mode)
{
    char tmp[64];
    size_t len = strlen(text);
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    fd = openat(dirfd, tmp,
        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd == -1)
        return ERR_IO;
    if (fchmod(fd, mode) == -1 ||
        fileio_pwrite_all(fd, (const uint8_t *)text, len, 0) != 0 ||
        fileio_pwrite_all(fd, (const uint8_t *)"\n", 1, len) != 0 ||
        fsync(fd) == -1) {
        close(fd);
        unlinkat(dirfd, tmp, 0);
        return ERR_IO;
    }
    close(fd);
    if (renameat(dirfd, tmp, dirfd, name) == -1) {
        unlinkat(dirfd, tmp, 0);
        return ERR_IO;
    }
    return fsync(dirfd) == 0 ? 0 : ERR_IO;
}

/*
 * Refuse a secret key inside the log's directory (whatever put it
 * there, a copy of the log would carry it), and write verifier.key or
 * check that it names the signer's key.
 */
static int
log_keys(struct audit_log *log)
{
    char v[NOTE_MAX_KEY];
    struct stat st;
    int rc;

    if (fstatat(log->dirfd, AUDIT_SIGNER_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        log_warnx("audit log '%s': a secret key file '%s' is inside the "
                  "audit directory: refusing to start (a copy of the log "
                  "would carry the key); move the signing key to the keys "
                  "directory (signing_key) and delete this file",
            log->dir, AUDIT_SIGNER_FILE);
        return ERR_DENIED;
    }
    rc = note_signer_vkey(&log->signer, log->vkey, sizeof(log->vkey));
    if (rc != 0)
        return ERR_INVAL;
    rc = audit_read_verifier_key(log->dir, v, sizeof(v));
    if (rc == ERR_NOTFOUND)
        return write_file(log->dirfd, AUDIT_VERIFIER_FILE, log->vkey, 0600);
    if (rc != 0)
        return ERR_IO;
    if (strcmp(v, log->vkey) != 0) {
        log_warnx("audit log '%s': its %s is '%s', but the signing key's "
                  "is '%s': this log was signed with another key",
            log->dir, AUDIT_VERIFIER_FILE, v, log->vkey);
        return ERR_DENIED;
    }
    return 0;
}

/* One record of an audit_heal, checked (heal_parse). */
struct heal_item {
    uint64_t index;
    const uint8_t *payload; /* borrowed from the audit_heal */
    size_t len;
};

/*
 * Check the frames of `h` (framing, CRC, strict decode, increasing
 * indexes) into `*items` (caller frees; NULL when none) and `*n`, and
 * set `*end` to the size they reach (0 when none). Returns 0 or
 * ERR_CORRUPT (logged: the owner's journal passed its own CRC, so this
 * is a bug or tampering).
 */
static int
heal_parse(const struct audit_log *log, const struct audit_heal *h,
    struct heal_item **items, size_t *n, uint64_t *end)
{
    struct audit_record rec;
    const char *why = "";
    size_t off = 0, cap = 0;
    int rc = 0;

    *items = NULL;
    *n = 0;
    *end = 0;
    while (rc == 0 && off < h->len) {
        const uint8_t *f = h->frames + off;
        size_t flen = h->len - off < AUDIT_FRAME_BYTES ?
            0 :
            audit_scan_segments.frame_len(f);

        if (flen == 0 || flen > h->len - off) {
            why = "bad frame";
            rc = ERR_CORRUPT;
            break;
        }
        if (crc32c(0, f + AUDIT_FRAME_BYTES, flen - AUDIT_FRAME_BYTES) !=
            bytes_get_le32(f + 4)) {
            why = "CRC mismatch";
            rc = ERR_CORRUPT;
            break;
        }
        rc = audit_record_decode(
            f + AUDIT_FRAME_BYTES, flen - AUDIT_FRAME_BYTES, &rec, &why);
        if (rc != 0) {
            rc = ERR_CORRUPT;
            break;
        }
        if (*n > 0 && rec.index <= (*items)[*n - 1].index) {
            why = "indexes not increasing";
            rc = ERR_CORRUPT;
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            *items = xreallocarray(*items, cap, sizeof(**items));
        }
        (*items)[*n].index = rec.index;
        (*items)[*n].payload = f + AUDIT_FRAME_BYTES;
        (*items)[*n].len = flen - AUDIT_FRAME_BYTES;
        (*n)++;
        *end = rec.index + 1;
        off += flen;
    }
    if (rc != 0) {
        log_warnx("audit log '%s': the journal's copy of its records is "
                  "damaged at byte %zu: %s",
            log->dir, off, why);
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}

/* Buffer one record given as its payload (already checked) at index
 * log->next: audit_append() without the encoding. */
static int
append_raw(struct audit_log *log, const uint8_t *payload, size_t len)
{
    uint8_t hdr[AUDIT_FRAME_BYTES];

    bytes_put_le32(hdr, (uint32_t)len);
    bytes_put_le32(hdr + 4, crc32c(0, payload, len));
    if (segfile_append(log->sf, hdr, sizeof(hdr), payload, len) != 0)
        return ERR_TOOBIG;
    (void)audit_log_pend(log, payload, len);
    return 0;
}

/*
 * Restore the records the segments lost but the owner's journal holds
 * (items[0..n), past the log's size), idempotently: those already
 * present are skipped. The first restored one must be the next index,
 * with no gap after it (a gap is a record that was synced, hence never
 * lost by a crash: removed). With `head_size` > 0 (a head the scan
 * deferred) the root of that many records must be the head's. Syncs
 * what it appends. Returns 0, ERR_CORRUPT (logged) or ERR_IO.
 */
static int
heal(struct audit_log *log, const struct heal_item *items, size_t n,
    uint64_t head_size, const uint8_t head_root[MERKLE_HASH_BYTES])
{
    uint8_t root[MERKLE_HASH_BYTES];
    struct merkle_frontier fr;
    uint64_t from = log->size;
    size_t i = 0;
    int rc;

    while (i < n && items[i].index < log->size)
        i++;
    for (; i < n; i++) {
        if (items[i].index != log->next) {
            log_warnx("audit log '%s' is damaged: records %" PRIu64 "..%" PRIu64
                      " are missing, and they were made "
                      "durable before the records after them were journaled "
                      "(not a crash's loss)",
                log->dir, log->next, items[i].index - 1);
            return ERR_CORRUPT;
        }
        rc = append_raw(log, items[i].payload, items[i].len);
        if (rc == ERR_TOOBIG) {
            rc = audit_sync(log);
            if (rc == 0)
                rc = append_raw(log, items[i].payload, items[i].len);
        }
        if (rc != 0)
            return ERR_IO;
        if (head_size > 0 && log->next == head_size) {
            /* Before writing anything: the records must be the ones the
             * head signed. */
            fr = log->fr;
            for (size_t k = 0; k < log->nleaves; k++)
                merkle_frontier_append(&fr, log->leaves[k]);
            merkle_frontier_root(&fr, root);
            if (sodium_memcmp(root, head_root, sizeof(root)) != 0) {
                log_warnx("audit log '%s' is damaged: the latest checkpoint "
                          "('%s', size %" PRIu64 ") disagrees with the "
                          "journal's copy of the records",
                    log->dir, AUDIT_HEAD_FILE, head_size);
                return ERR_CORRUPT;
            }
        }
    }
    if (head_size > log->next) {
        log_warnx("audit log '%s' is damaged: log truncated: the latest "
                  "checkpoint ('%s') covers %" PRIu64 " records, only %" PRIu64
                  " present with the journal's",
            log->dir, AUDIT_HEAD_FILE, head_size, log->next);
        return ERR_CORRUPT;
    }
    if (log->next > log->written) {
        rc = segfile_write(log->sf, log->written);
        if (rc != 0)
            return ERR_IO;
        crashpoint("audit.heal");
        log->written = log->next;
    }
    rc = audit_sync(log);
    if (rc != 0)
        return ERR_IO;
    log->repair.healed = log->size - from;
    if (log->repair.healed > 0) {
        log->repair.at_index = from;
        log_warnx("audit log '%s': restored %" PRIu64 " records (%" PRIu64
                  "..%" PRIu64 ") from the journal: they were written but "
                  "not yet synced when the scorer stopped",
            log->dir, log->repair.healed, from, log->size - 1);
    }
    return 0;
}

/*
 * Make `*ex` the anchor's tree head and the one head scan `s` must meet
 * (none when `anchor` is NULL or empty). The anchor is the scorer's own
 * memory, not a note read and verified here: signed_note stays false.
 * Returns whether there was one. Used by the open and the background
 * verifier alike.
 */
static bool
expect_anchor(struct audit_scan *s, struct audit_scan_expect *ex,
    const struct audit_anchor *anchor)
{
    memset(ex, 0, sizeof(*ex));
    if (anchor == NULL || anchor->size == 0)
        return false;
    ex->size = anchor->size;
    memcpy(ex->root, anchor->root, sizeof(ex->root));
    snprintf(ex->what, sizeof(ex->what),
        "the tree head the scorer signed last (kept outside the log)");
    s->expect = ex;
    s->nexpect = 1;
    return true;
}

/*
 * One writer-mode pass over the log, checked against `anchor` (may be
 * NULL): the whole log when `trusted` is 0, else from record `trusted`
 * on, with the frontier `tfr` of the records before it (fast open).
 * The caller has initialised (or resumed) log->tiles for the same start.
 */
static int
load_scan(struct audit_log *log, const struct audit_anchor *anchor,
    const struct audit_heal *h, uint64_t heal_end, uint64_t trusted,
    const struct merkle_frontier *tfr, struct audit_scan *s,
    struct audit_scan_expect *ex, struct audit_verify_result *res)
{
    int rc;

    memset(res, 0, sizeof(*res));
    memset(s, 0, sizeof(*s));
    s->dirfd = log->dirfd;
    s->writer = true;
    s->res = res;
    s->trusted = trusted;
    s->trusted_fr = tfr;
    if (h != NULL) {
        /* What the owner's journal holds: a head up to heal_end may lie
         * past the durable records; its floor was synced. */
        s->heal_end = heal_end;
        s->signed_floor = h->floor;
    }
    if (expect_anchor(s, ex, anchor) && anchor->size > s->signed_floor)
        s->signed_floor = anchor->size;
    rc = note_verifier_parse(log->vkey, &s->v);
    if (rc != 0)
        return audit_scan_env_fail(s, ERR_CORRUPT, "bad verifier key");
    /* The scan rebuilds the tiles' state and checks the files. */
    s->tiles = &log->tiles;
    rc = audit_scan_run(s, NULL);
    if (rc == 0 && h != NULL && s->count < h->floor) {
        rc = audit_scan_env_fail(s, ERR_CORRUPT,
            "the log holds %" PRIu64 " records, but %" PRIu64 " were "
            "durable in it before the scorer stopped (its journal says so): "
            "records were removed",
            s->count, h->floor);
    }
    if (rc == 0 && anchor != NULL && anchor->clean &&
        s->count != anchor->size) {
        rc = audit_scan_env_fail(s, ERR_CORRUPT,
            "the log holds %" PRIu64 " records, but the scorer stopped "
            "cleanly after signing %" PRIu64 ": records were %s while it "
            "was stopped",
            s->count, anchor->size,
            s->count > anchor->size ? "added" : "removed");
    }
    return rc;
}

/*
 * Scan the existing log, cut a torn tail, open the files for writing.
 * Fast open: with an anchor of at least one full tile, the records up
 * to it (rounded down to a tile) are trusted, the frontier there comes
 * from the tiles, and only the records after it are read: the anchor's
 * root, reached from that frontier through the records read, proves
 * the tiles used; anything that fails (a tile missing, torn by a power
 * cut or altered; the records disagreeing) falls back to the whole
 * scan, whose verdict stands.
 */
static int
log_load(struct audit_log *log, const struct audit_anchor *anchor,
    const struct audit_heal *h)
{
    struct heal_item *items = NULL;
    uint8_t head_root[MERKLE_HASH_BYTES];
    uint64_t head_size = 0, heal_end = 0;
    size_t nitems = 0;
    struct audit_verify_result res;
    struct audit_scan_expect ex;
    struct audit_scan s;
    uint64_t cut;
    int rc = ERR_NOTFOUND;

    memset(&s, 0, sizeof(s));
    memset(&res, 0, sizeof(res));
    if (h != NULL) {
        rc = heal_parse(log, h, &items, &nitems, &heal_end);
        if (rc != 0)
            goto out;
        rc = ERR_NOTFOUND;
    }
    if (anchor != NULL)
        log->anchor = *anchor;
    if (anchor != NULL && anchor->size >= AUDIT_TILES_WIDTH) {
        uint64_t t = anchor->size - anchor->size % AUDIT_TILES_WIDTH;
        struct merkle_frontier tfr;

        rc = audit_tiles_resume(&log->tiles, log->dirfd, t, true, &tfr);
        if (rc == 0)
            rc = load_scan(log, anchor, h, heal_end, t, &tfr, &s, &ex, &res);
        if (rc == 0) {
            log->trusted = t;
            log_info("audit log '%s': %" PRIu64 " records trusted up to the "
                     "anchor (%" PRIu64 "), %" PRIu64 " verified after them",
                log->dir, t, anchor->size, s.count - t);
        } else {
            log_warnx("audit log '%s': cannot open from the anchor (%" PRIu64
                      " records): %s; verifying the whole log",
                log->dir, anchor->size,
                rc == ERR_NOTFOUND        ? "a tile is missing or short" :
                    res.reason[0] != '\0' ? res.reason :
                                            err_str(rc));
            audit_scan_release(&s);
            audit_tiles_release(&log->tiles);
        }
    }
    if (rc != 0) {
        audit_tiles_init(&log->tiles, log->dirfd, true);
        rc = load_scan(log, anchor, h, heal_end, 0, NULL, &s, &ex, &res);
    }
    if (rc != 0) {
        if (rc == ERR_CORRUPT && res.file[0] != '\0')
            log_warnx("audit log '%s' is damaged: %s: 0x%016" PRIx64 ": %s",
                log->dir, res.file, res.offset, res.reason);
        else if (rc == ERR_CORRUPT)
            log_warnx("audit log '%s' is damaged: %s", log->dir, res.reason);
        else
            log_warnx("audit log '%s': %s", log->dir, res.reason);
        goto out;
    }
    if (s.torn) {
        uint64_t first = s.segs[s.nsegs - 1];

        segfile_name(&audit_scan_segments, first, log->repair.segment);
        log->repair.bytes_cut = s.last_len - s.torn_off;
        log->repair.at_index = s.count;
        log_warnx("audit log '%s': cutting a torn tail of %" PRIu64
                  " bytes from '%s' at offset %" PRIu64 " (record %" PRIu64
                  "): %s",
            log->dir, log->repair.bytes_cut, log->repair.segment, s.torn_off,
            s.count, res.reason);
    }
    /* The scan and segfile_open() listed the same segments: we hold the
     * lock. The scan has already refused a tail too long to be torn. */
    if (s.nsegs > 0)
        rc = segfile_resume(log->sf, s.torn ? s.torn_off : s.last_len, &cut);
    else
        rc = segfile_start(log->sf, 0);
    if (rc != 0)
        goto out;
    log->ckfd = openat(log->dirfd, AUDIT_CKPT_FILE,
        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log->ckfd == -1) {
        log_warn(
            "%s: cannot open '%s/%s'", __func__, log->dir, AUDIT_CKPT_FILE);
        rc = ERR_IO;
        goto out;
    }
    if (s.ck_keep < s.cklen) {
        log->repair.note_bytes_cut = s.cklen - s.ck_keep;
        log_warnx("audit log '%s': cutting a torn tail of %" PRIu64
                  " bytes from '%s'",
            log->dir, log->repair.note_bytes_cut, AUDIT_CKPT_FILE);
        if (ftruncate(log->ckfd, (off_t)s.ck_keep) == -1 ||
            fdatasync(log->ckfd) == -1) {
            log_warn(
                "%s: cannot cut '%s/%s'", __func__, log->dir, AUDIT_CKPT_FILE);
            rc = ERR_IO;
            goto out;
        }
    }
    if (fsync(log->dirfd) == -1) {
        rc = ERR_IO;
        goto out;
    }
    if (s.head_bad)
        log_warnx("audit log '%s': '%s' is not a valid signed checkpoint "
                  "(torn by a crash?): it is rewritten at the next commit",
            log->dir, AUDIT_HEAD_FILE);
    if (s.head_len > 0 && s.head_size == s.count) {
        memcpy(log->head, s.head, s.head_len + 1);
        log->head_len = s.head_len;
        log->head_size = s.head_size;
        log->head_file_len = s.head_len;
    }
    audit_tiles_flush(&log->tiles);
    if (log->tiles.repaired > 0)
        log_warnx("audit log '%s': %" PRIu64 " tile files rewritten", log->dir,
            log->tiles.repaired);
    log->tiles.check = false;
    log->ck_len = s.ck_keep;
    log->ck_size = s.nck > 0 ? s.ck[s.nck - 1].size : 0;
    log->fr = s.fr;
    log->size = s.count;
    log->written = s.count;
    log->synced = s.count;
    log->next = s.count;
    if (s.head_deferred) {
        /* Found by the scan, past the records: checked once restored. */
        uint8_t rootbuf[MERKLE_HASH_BYTES];
        char origin[AUDIT_MAX_ORIGIN + 1];
        const char *why;

        if (audit_scan_ckpt_open(&s.v, (const uint8_t *)s.head, s.head_len,
                origin, &head_size, rootbuf, &why) != 0) {
            rc = ERR_CORRUPT;
            goto out;
        }
        memcpy(head_root, rootbuf, sizeof(head_root));
    }
    if (nitems > 0 || s.head_deferred) {
        rc = heal(log, items, nitems, head_size, head_root);
        if (rc != 0)
            goto out;
    }
    if (s.head_deferred && s.head_size == log->size) {
        memcpy(log->head, s.head, s.head_len + 1);
        log->head_len = s.head_len;
        log->head_size = s.head_size;
        log->head_file_len = s.head_len;
    }
out:
    free(items);
    audit_scan_release(&s);
    return rc;
}

int
audit_log_open(const char *dir, const struct note_signer *signer,
    const struct audit_anchor *anchor, struct audit_log **out)
{
    return audit_log_open_heal(dir, signer, anchor, NULL, out);
}

int
audit_log_open_heal(const char *dir, const struct note_signer *signer,
    const struct audit_anchor *anchor, const struct audit_heal *heal,
    struct audit_log **out)
{
    struct audit_log *log;
    int rc;

    if (!audit_origin_is_valid(signer->name)) {
        log_warnx("%s: bad origin '%s'", __func__, signer->name);
        return ERR_INVAL;
    }
    log = xcalloc(1, sizeof(*log));
    log->dir = xstrdup(dir);
    log->ckfd = -1;
    log->headfd = -1;
    memcpy(log->origin, signer->name, strlen(signer->name) + 1);
    log->signer = *signer;
    rc = segfile_open(dir, &audit_scan_segments, AUDIT_SEGMENT_BYTES, &log->sf);
    if (rc != 0)
        goto fail;
    log->dirfd = segfile_dirfd(log->sf);
    rc = log_keys(log);
    if (rc != 0)
        goto fail;
    rc = log_load(log, anchor, heal);
    if (rc != 0)
        goto fail;
    *out = log;
    return 0;
fail:
    audit_log_close(log);
    return rc;
}

/* The background verifier's replay callback: stop when told to. */
static int
bg_record(void *arg, const struct audit_entry *e)
{
    struct audit_log *log = arg;

    (void)e;
    return atomic_load_explicit(&log->bg_stop, memory_order_relaxed) ?
        ERR_SHUTDOWN :
        0;
}

/* The background verifier's thread: the reader's whole pass over what
 * the open trusted, on one thread, at a lower priority. */
static void *
bg_main(void *arg)
{
    struct audit_log *log = arg;
    struct audit_scan_expect ex;
    struct audit_scan s;
    uint64_t t0 = clock_mono_ms();
    int rc;

    /* Linux: a thread's nice value is its own. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    memset(&s, 0, sizeof(s));
    s.dirfd = log->dirfd;
    s.res = &log->bg_res;
    s.stop_at = log->bg_size;
    s.ck_limited = true;
    s.ck_limit = log->bg_cklen;
    s.no_head = true;
    s.serial = true;
    s.cb = bg_record;
    s.arg = log;
    (void)expect_anchor(&s, &ex, &log->anchor);
    rc = note_verifier_parse(log->vkey, &s.v);
    if (rc != 0)
        rc = audit_scan_env_fail(&s, ERR_CORRUPT, "bad verifier key");
    else
        rc = audit_scan_run(&s, NULL);
    if (rc == 0 && s.count < log->bg_size)
        rc = audit_scan_env_fail(&s, ERR_CORRUPT,
            "log truncated: the writer opened %" PRIu64 " records, only "
            "%" PRIu64 " present",
            log->bg_size, s.count);
    if (rc == 0)
        log_info("audit log '%s': background verification of records "
                 "0..%" PRIu64 " passed (%" PRIu64 " ms)",
            log->dir, log->bg_size - 1, clock_mono_ms() - t0);
    else if (rc != ERR_SHUTDOWN)
        log_warnx("audit log '%s': BACKGROUND VERIFICATION FAILED: %s%s"
                  "0x%016" PRIx64 ": %s",
            log->dir, log->bg_res.file, log->bg_res.file[0] ? ": " : "",
            log->bg_res.offset, log->bg_res.reason);
    audit_scan_release(&s);
    atomic_store(&log->bg_state, rc);
    return NULL;
}

int
audit_log_verify_start(struct audit_log *log)
{
    int rc;

    if (log->bg_started || log->trusted == 0)
        return 0;
    log->bg_size = log->size;
    log->bg_cklen = log->ck_len;
    atomic_store(&log->bg_stop, false);
    atomic_store(&log->bg_state, 1);
    rc = pthread_create(&log->bg, NULL, bg_main, log);
    if (rc != 0) {
        atomic_store(&log->bg_state, 0);
        log_warnx("%s: cannot start a thread: %s", __func__, strerror(rc));
        return ERR_IO;
    }
    log->bg_started = true;
    return 0;
}

int
audit_log_verify_poll(
    struct audit_log *log, const struct audit_verify_result **res)
{
    int st;

    if (!log->bg_started)
        return 0;
    st = atomic_load(&log->bg_state);
    if (st == 1)
        return ERR_AGAIN;
    if (res != NULL)
        *res = &log->bg_res;
    return st;
}

int
audit_log_read(
    struct audit_log *log, uint64_t from, audit_replay_cb cb, void *arg)
{
    char name[SEGFILE_NAME_MAX];
    struct segfile_reader rd;
    struct segfile_frame f;
    struct audit_record rec;
    const uint64_t *segs;
    uint64_t at;
    size_t n, i = 0;
    int rc = 0;

    if (from >= log->size)
        return 0;
    segs = segfile_segments(log->sf, &n);
    while (i + 1 < n && segs[i + 1] <= from)
        i++;
    if (n == 0 || segs[i] > from)
        return ERR_CORRUPT;
    segfile_reader_init(&rd, &audit_scan_segments, 1024 * 1024);
    for (at = segs[i]; rc == 0 && i < n && at < log->size; i++) {
        uint64_t fsize;
        int fd;

        segfile_name(&audit_scan_segments, segs[i], name);
        if (segs[i] != at ||
            segfile_open_segment(
                log->dirfd, &audit_scan_segments, segs[i], &fd, &fsize) != 0) {
            rc = segs[i] != at ? ERR_CORRUPT : ERR_IO;
            break;
        }
        segfile_reader_start(&rd, fd, fsize);
        while (rc == 0 && at < log->size) {
            const uint8_t *p;
            struct audit_entry e;
            const char *why;
            size_t len;

            if (segfile_reader_next(&rd, true, &f) != 0) {
                rc = ERR_IO;
                break;
            }
            if (f.kind == SEGFILE_FRAME_END)
                break;
            if (f.kind != SEGFILE_FRAME_WHOLE) {
                rc = ERR_CORRUPT;
                break;
            }
            if (at++ < from)
                continue;
            p = f.p + AUDIT_FRAME_BYTES;
            len = f.len - AUDIT_FRAME_BYTES;
            if (crc32c(0, p, len) != bytes_get_le32(f.p + 4) ||
                audit_record_decode(p, len, &rec, &why) != 0 ||
                rec.index != at - 1) {
                rc = ERR_CORRUPT;
                break;
            }
            e.rec = &rec;
            e.raw = p;
            e.raw_len = len;
            merkle_leaf_hash(p, len, e.leaf_hash);
            e.file = name;
            e.offset = f.off;
            rc = cb(arg, &e);
        }
        close(fd);
    }
    segfile_reader_release(&rd);
    if (rc == ERR_CORRUPT)
        log_warnx("%s: audit log '%s': record %" PRIu64 " in '%s' does not "
                  "read back",
            __func__, log->dir, at > 0 ? at - 1 : 0, name);
    if (rc == 0 && at < log->size)
        rc = ERR_CORRUPT;
    return rc;
}

uint64_t
audit_log_trusted(const struct audit_log *log)
{
    return log->trusted;
}

const struct audit_repair *
audit_log_repair(const struct audit_log *log)
{
    return &log->repair;
}
