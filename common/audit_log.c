/*
 * audit_log.c - the audit log's writer: append, group-commit sync,
 *               signed heads and checkpoints
 *
 * The scorer alone writes an audit directory, from its main thread: it
 * appends a record for every access to personal data and syncs them with
 * its journal's group commit (one pwrite and one fdatasync through
 * segfile), before acknowledging or answering. Signing a checkpoint
 * appends one note to checkpoints.log with one fsync. Opening (checks
 * against the owner's anchor, repair, heal) and the background verifier
 * are in audit_log_open.c; both files share struct audit_log through
 * audit_log_impl.h.
 *
 * Invariants:
 *  - log->size is the durable record count; after a failed sync neither
 *    the segment (segfile truncates it back) nor the frontier keeps
 *    anything past it.
 *  - log->fr is the frontier of exactly log->size records; log->leaves
 *    holds the leaf hashes of the log->next - log->size pending ones.
 *  - log->ck_len is the durable length of checkpoints.log.
 *
 * See also: audit.h (format and the fail-closed rule), audit_log_open.c,
 *           audit_log_impl.h, segfile.h, scorer/group.c (the group commit)
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
#include <sys/types.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/audit_log_impl.h"
#include "common/audit_scan.h"
#include "common/audit_tiles.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"

#define MIN_SEGMENT 4096u

void
audit_log_close(struct audit_log *log)
{
    if (log == NULL)
        return;
    if (log->bg_started) {
        atomic_store(&log->bg_stop, true);
        pthread_join(log->bg, NULL);
    }
    if (log->ckfd != -1)
        close(log->ckfd);
    if (log->headfd != -1)
        close(log->headfd);
    segfile_close(log->sf); /* drops the lock */
    note_signer_wipe(&log->signer);
    audit_tiles_release(&log->tiles);
    free(log->pend);
    free(log->leaves);
    free(log->dir);
    free(log);
}

void
audit_log_set_segment_bytes(struct audit_log *log, uint64_t bytes)
{
    segfile_set_segment_bytes(
        log->sf, bytes < MIN_SEGMENT ? MIN_SEGMENT : bytes);
}

int
audit_append(struct audit_log *log, struct audit_record *r, uint64_t *index)
{
    uint8_t frame[AUDIT_FRAME_BYTES + AUDIT_MAX_RECORD_BYTES];
    size_t len;
    int rc;

    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    r->index = log->next;
    rc = audit_record_encode(
        r, frame + AUDIT_FRAME_BYTES, AUDIT_MAX_RECORD_BYTES, &len);
    if (rc != 0)
        return ERR_INVAL;
    bytes_put_le32(frame, (uint32_t)len);
    bytes_put_le32(frame + 4, crc32c(0, frame + AUDIT_FRAME_BYTES, len));
    rc = segfile_append(log->sf, frame, AUDIT_FRAME_BYTES + len, NULL, 0);
    if (rc != 0)
        return ERR_TOOBIG;
    *index = audit_log_pend(log, frame + AUDIT_FRAME_BYTES, len);
    return 0;
}

/* Forget the pending records (the segfile has dropped their frames). */
static void
drop_pending(struct audit_log *log)
{
    log->nleaves = 0;
    log->pendlen = 0;
    log->next = log->size;
    log->written = log->size;
}

/* segfile_sync() or segfile_write() failed with `rc` in `fn`: say so
 * ("cannot <verb> N audit records <prep> DIR"), forget the pending
 * records. Returns ERR_AUDIT. */
static int
write_failed(struct audit_log *log, const char *fn, const char *verb,
    const char *prep, int rc)
{
    log_warnx("%s: cannot %s %zu audit records %s '%s': %s%s", fn, verb,
        log->nleaves, prep, log->dir, err_str(rc),
        segfile_is_failed(log->sf) ? "; the audit log is failed until "
                                     "reopened" :
                                     "");
    drop_pending(log);
    return ERR_AUDIT;
}

/*
 * The records appended since the last settle are durable (synced, or
 * written and in the owner's journal): fold them into the frontier and
 * the tiles, tell the observer, and make them the durable size.
 */
static void
settle(struct audit_log *log)
{
    for (size_t i = 0, off = 0; i < log->nleaves; i++) {
        size_t len = (size_t)log->pend[off] | (size_t)log->pend[off + 1] << 8;

        merkle_frontier_append(&log->fr, log->leaves[i]);
        audit_tiles_append(
            &log->tiles, log->leaves[i], log->pend + off + 2, len);
        off += 2 + len;
    }
    if (log->obs.leaves != NULL && log->nleaves > 0)
        log->obs.leaves(log->obs.arg, log->size,
            (const uint8_t(*)[MERKLE_HASH_BYTES])log->leaves, log->nleaves);
    log->size = log->next;
    log->nleaves = 0;
    log->pendlen = 0;
}

int
audit_sync(struct audit_log *log)
{
    int rc;

    if (segfile_is_failed(log->sf)) {
        drop_pending(log);
        return ERR_AUDIT;
    }
    if (log->nleaves == 0 && log->synced == log->written)
        return 0;
    /* A new segment is named after the first pending record. */
    rc = segfile_sync(log->sf, log->written);
    if (rc != 0) {
        return write_failed(log, __func__, "make", "durable in", rc);
    }
    log->written = log->next;
    log->synced = log->next;
    settle(log);
    return 0;
}

const uint8_t *
audit_pending_frames(const struct audit_log *log, size_t *len)
{
    return segfile_pending_data(log->sf, len);
}

void
audit_discard(struct audit_log *log)
{
    if (log->written != log->size)
        fatalx("%s: invariant: written records not yet settled", __func__);
    segfile_discard(log->sf);
    drop_pending(log);
}

int
audit_write(struct audit_log *log)
{
    int rc;

    if (log->written != log->size)
        fatalx("%s: invariant: written records not yet settled", __func__);
    if (segfile_is_failed(log->sf)) {
        drop_pending(log);
        return ERR_AUDIT;
    }
    if (log->nleaves == 0)
        return 0;
    rc = segfile_write(log->sf, log->written);
    if (rc != 0) {
        return write_failed(log, __func__, "write", "to", rc);
    }
    /* segfile_write() synced what was written before when it rolled or
     * reached the bound; counted at the next audit_flush(). */
    log->written = log->next;
    return 0;
}

int
audit_flush(struct audit_log *log)
{
    int rc;

    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    if (log->synced == log->written)
        return 0;
    rc = segfile_flush(log->sf);
    if (rc != 0) {
        log_warnx("%s: cannot sync the audit records of '%s': %s; the "
                  "audit log is failed until reopened",
            __func__, log->dir, err_str(rc));
        return ERR_AUDIT;
    }
    log->synced = log->written;
    return 0;
}

int
audit_flush_begin(struct audit_log *log, struct audit_flush_ticket *t)
{
    t->written = log->written;
    t->sf.fd = -1;
    t->pool_fd = -1;
    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    /* The tile writer's files, when it is short of AUDIT_TILES_NEW. */
    t->pool_taken = log->tiles.new_taken;
    t->pool_made = log->pool_made;
    t->pool_created = 0;
    if (log->pool_made < log->tiles.new_taken + AUDIT_TILES_NEW)
        t->pool_fd = fcntl(log->dirfd, F_DUPFD_CLOEXEC, 0);
    if (log->synced == log->written)
        return 0;
    return segfile_flush_begin(log->sf, &t->sf) == 0 ? 0 : ERR_AUDIT;
}

int
audit_flush_run(struct audit_flush_ticket *t)
{
    return segfile_flush_run(&t->sf) == 0 ? 0 : ERR_AUDIT;
}

void
audit_flush_premake(struct audit_flush_ticket *t)
{
    if (t->pool_fd != -1)
        t->pool_made = audit_tiles_premake(
            t->pool_fd, t->pool_taken, t->pool_made, &t->pool_created);
}

void
audit_flush_drop(struct audit_flush_ticket *t)
{
    if (t->sf.fd != -1)
        (void)close(t->sf.fd);
    t->sf.fd = -1;
    if (t->pool_fd != -1)
        (void)close(t->pool_fd);
    t->pool_fd = -1;
}

int
audit_flush_end(struct audit_log *log, struct audit_flush_ticket *t, int rc)
{
    if (t->pool_fd != -1) {
        log->pool_made = t->pool_made;
        log->pool_created += t->pool_created;
        (void)close(t->pool_fd);
        t->pool_fd = -1;
    }
    if (rc != 0) {
        segfile_flush_end(log->sf, &t->sf, ERR_IO);
        log_warnx("%s: cannot sync the audit records of '%s'; the audit "
                  "log is failed until reopened",
            __func__, log->dir);
        return ERR_AUDIT;
    }
    segfile_flush_end(log->sf, &t->sf, 0);
    if (t->written > log->synced && t->written <= log->written)
        log->synced = t->written;
    return 0;
}

uint64_t
audit_synced(const struct audit_log *log)
{
    return log->synced;
}

/* Sign the head of the durable size (once per size) into log->head. */
static int
sign_head(struct audit_log *log)
{
    uint8_t root[MERKLE_HASH_BYTES];
    char text[NOTE_MAX_ORIGIN + 128];
    size_t tlen, nlen;
    int rc;

    if (log->head_size == log->size && log->head_len > 0)
        return 0;
    merkle_frontier_root(&log->fr, root);
    rc = note_checkpoint_format(
        log->origin, log->size, root, text, sizeof(text), &tlen);
    if (rc == 0)
        rc = note_sign(
            &log->signer, text, tlen, log->head, sizeof(log->head), &nlen);
    if (rc != 0 || nlen > AUDIT_MAX_NOTE_BYTES) {
        log_warnx("%s: cannot sign a checkpoint: %s", __func__, err_str(rc));
        log->head_len = 0;
        return ERR_AUDIT;
    }
    log->head_len = nlen;
    log->head_size = log->size;
    return 0;
}

/* Write the head note to DIR/checkpoint, in place and unsynced (it is
 * rewritten at every commit; a torn one is ignored and rewritten after a
 * crash). Made at the first commit: an empty file is not a checkpoint. */
static void
write_head(struct audit_log *log)
{
    if (log->head_len == 0 || log->head_file_len == (size_t)-1)
        return;
    if (log->headfd == -1)
        log->headfd = openat(
            log->dirfd, AUDIT_HEAD_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->headfd == -1 ||
        fileio_pwrite_all(
            log->headfd, (const uint8_t *)log->head, log->head_len, 0) != 0 ||
        (log->head_len < log->head_file_len &&
            ftruncate(log->headfd, (off_t)log->head_len) != 0)) {
        log_warn(
            "%s: cannot write '%s/%s'", __func__, log->dir, AUDIT_HEAD_FILE);
        log->head_file_len = (size_t)-1; /* warn once */
    } else {
        log->head_file_len = log->head_len;
    }
}

/*
 * Sign the head of the durable size (when it grew), write it to
 * DIR/checkpoint and write the partial tiles of that size, so that a
 * reader of the directory finds the tiles of every head it sees.
 */
static int
head_update(struct audit_log *log)
{
    int rc;

    if (log->size == 0 || (log->head_size == log->size && log->head_len > 0))
        return 0;
    rc = sign_head(log);
    if (rc != 0)
        return rc;
    audit_tiles_flush(&log->tiles);
    write_head(log);
    log->head_at_ms = clock_mono_ms();
    return 0;
}

/* The end of both commits: sign the head when due, hand out the note. */
static int
commit_head(struct audit_log *log, const char **note, size_t *note_len)
{
    int rc = 0;

    if (audit_head_due(log) <= clock_mono_ms())
        rc = head_update(log);
    if (rc != 0)
        return rc;
    if (note != NULL)
        *note = log->head_len > 0 ? log->head : NULL;
    if (note_len != NULL)
        *note_len = log->head_len;
    return 0;
}

int
audit_commit(struct audit_log *log, const char **note, size_t *note_len)
{
    int rc = audit_sync(log);

    return rc != 0 ? rc : commit_head(log, note, note_len);
}

int
audit_commit_journaled(
    struct audit_log *log, const char **note, size_t *note_len)
{
    if (log->next != log->written)
        fatalx("%s: invariant: records appended but not written", __func__);
    /* Durable in the owner's journal whatever happens to the segments. */
    settle(log);
    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    return commit_head(log, note, note_len);
}

void
audit_log_set_head_interval(struct audit_log *log, uint64_t ms)
{
    log->head_every_ms = ms;
}

uint64_t
audit_head_due(const struct audit_log *log)
{
    if (log->size == 0 || (log->head_size == log->size && log->head_len > 0))
        return UINT64_MAX;
    if (log->head_every_ms == 0)
        return 0;
    return log->head_at_ms + log->head_every_ms;
}

int
audit_head_update(struct audit_log *log)
{
    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    return head_update(log);
}

/* Cut checkpoints.log back to its durable length after a failed append
 * (0, or ERR_AUDIT when even that failed: cut again before the next). */
static int
ck_cut(struct audit_log *log)
{
    if (ftruncate(log->ckfd, (off_t)log->ck_len) == -1) {
        log_warn(
            "%s: cannot cut '%s/%s' back", __func__, log->dir, AUDIT_CKPT_FILE);
        log->ck_dirty = true;
        return ERR_AUDIT;
    }
    log->ck_dirty = false;
    return 0;
}

/* The signed head as a checkpoints.log frame (u32 LE length, note) in
 * frame[0..4 + n); returns n. */
static size_t
ck_frame(const struct audit_log *log, uint8_t *frame)
{
    memcpy(frame + 4, log->head, log->head_len);
    bytes_put_le32(frame, (uint32_t)log->head_len);
    return log->head_len;
}

int
audit_checkpoint_begin(struct audit_log *log, struct audit_flush_ticket *t)
{
    size_t nlen;
    int rc;

    t->ckpt = false;
    t->ckfd = -1;
    if (log->ck_busy)
        return ERR_BUSY;
    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    /* Records appended but not yet settled (a query's, mid-operation),
     * or not in the ticket's sync: no checkpoint rides this time. */
    if (log->size == 0 || log->size == log->ck_size ||
        log->next != log->written || log->size != log->next ||
        t->written != log->written)
        return 0;
    if (log->ck_dirty && ck_cut(log) != 0)
        return ERR_AUDIT;
    rc = sign_head(log);
    if (rc != 0)
        return rc;
    t->ckfd = fcntl(log->ckfd, F_DUPFD_CLOEXEC, 0);
    if (t->ckfd == -1) {
        log_warn("%s: cannot duplicate '%s/%s'", __func__, log->dir,
            AUDIT_CKPT_FILE);
        return ERR_AUDIT;
    }
    nlen = ck_frame(log, t->frame);
    t->flen = 4 + nlen;
    t->ck_off = log->ck_len;
    t->ck_size = log->size;
    t->ckpt = true;
    log->ck_busy = true;
    audit_tiles_flush(&log->tiles);
    write_head(log);
    log->head_at_ms = clock_mono_ms();
    return 0;
}

int
audit_checkpoint_run(struct audit_flush_ticket *t)
{
    if (!t->ckpt)
        return 0;
    if (fileio_pwrite_all(t->ckfd, t->frame, t->flen, t->ck_off) != 0 ||
        fdatasync(t->ckfd) == -1)
        return ERR_AUDIT;
    return 0;
}

int
audit_checkpoint_end(
    struct audit_log *log, struct audit_flush_ticket *t, int rc)
{
    if (!t->ckpt)
        return 0;
    (void)close(t->ckfd);
    t->ckfd = -1;
    t->ckpt = false;
    log->ck_busy = false;
    if (rc != 0) {
        log_warnx("%s: cannot append a checkpoint to '%s/%s'", __func__,
            log->dir, AUDIT_CKPT_FILE);
        (void)ck_cut(log);
        return ERR_AUDIT;
    }
    log->ck_len = t->ck_off + t->flen;
    log->ck_size = t->ck_size;
    if (log->obs.checkpoint != NULL)
        log->obs.checkpoint(
            log->obs.arg, t->ck_size, (const char *)t->frame + 4, t->flen - 4);
    return 0;
}

int
audit_checkpoint(struct audit_log *log, uint64_t wall_ms)
{
    uint8_t frame[4 + AUDIT_MAX_NOTE_BYTES + 1];
    size_t nlen;
    int rc;

    if (log->ck_busy)
        return ERR_BUSY;
    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    if (log->size == 0 || log->size == log->ck_size)
        return 0;
    /* checkpoints.log is synced: the records it signs must be durable in
     * the segments first (not only in the owner's journal). */
    rc = audit_flush(log);
    if (rc != 0)
        return rc;
    if (log->ck_dirty && ck_cut(log) != 0)
        return ERR_AUDIT;
    rc = sign_head(log);
    if (rc != 0)
        return rc;
    nlen = ck_frame(log, frame);
    audit_tiles_flush(&log->tiles);
    if (fileio_pwrite_all(log->ckfd, frame, 4 + nlen, log->ck_len) != 0 ||
        fdatasync(log->ckfd) == -1) {
        log_warn("%s: cannot append a checkpoint to '%s/%s'", __func__,
            log->dir, AUDIT_CKPT_FILE);
        (void)ck_cut(log);
        return ERR_AUDIT;
    }
    log->ck_len += 4 + nlen;
    log->ck_size = log->size;
    write_head(log);
    log->head_at_ms = clock_mono_ms();
    if (log->obs.checkpoint != NULL)
        log->obs.checkpoint(
            log->obs.arg, log->size, (const char *)frame + 4, nlen);
    log_debug("audit checkpoint %" PRIu64 " records at %" PRIu64 " ms",
        log->size, wall_ms);
    return 0;
}

void
audit_frontier(const struct audit_log *log, struct merkle_frontier *out)
{
    *out = log->fr;
}

void
audit_log_set_observer(struct audit_log *log, const struct audit_observer *obs)
{
    if (obs != NULL)
        log->obs = *obs;
    else
        memset(&log->obs, 0, sizeof(log->obs));
}

uint64_t
audit_size(const struct audit_log *log)
{
    return log->size;
}

uint64_t
audit_next_index(const struct audit_log *log)
{
    return log->next;
}

void
audit_root(const struct audit_log *log, uint8_t out[MERKLE_HASH_BYTES])
{
    merkle_frontier_root(&log->fr, out);
}

uint64_t
audit_checkpoint_size(const struct audit_log *log)
{
    return log->ck_size;
}

const char *
audit_verifier_key(const struct audit_log *log)
{
    return log->vkey;
}

const char *
audit_head(const struct audit_log *log, size_t *len, uint64_t *size)
{
    if (len != NULL)
        *len = log->head_len;
    if (size != NULL)
        *size = log->head_len > 0 ? log->head_size : 0;
    return log->head_len > 0 ? log->head : NULL;
}

const char *
audit_log_dir(const struct audit_log *log)
{
    return log->dir;
}
