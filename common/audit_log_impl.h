/*
 * audit_log_impl.h - what the two files of the audit log's writer
 *                    share: struct audit_log and its pending buffer
 *
 * Not a public header: only audit_log.c (append, sync, commit, heads,
 * checkpoints) and audit_log_open.c (open with repair and heal, the
 * background verifier, reading records back) include it. audit.h is
 * the module's public header; the invariants of struct audit_log are
 * stated in audit_log.c's header.
 *
 * See also: audit_log.c, audit_log_open.c, audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_AUDIT_LOG_IMPL_H
#define COMMON_AUDIT_LOG_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/audit.h"
#include "common/audit_tiles.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

struct audit_log {
    char *dir;
    struct segfile *sf;        /* the record segments, LOCK, pending frames */
    int dirfd;                 /* segfile_dirfd(sf), borrowed */
    uint64_t size;             /* durable records (synced, or written and
                                  durable in the owner's journal) */
    uint64_t written;          /* records written to the segments */
    uint64_t synced;           /* records synced in the segments */
    uint64_t next;             /* index of the next append */
    struct merkle_frontier fr; /* of `size` records */
    uint8_t (*leaves)[MERKLE_HASH_BYTES]; /* of the pending records */
    size_t nleaves;
    size_t aleaves;
    uint8_t *pend;            /* the pending records' payloads, each as u16 LE
                                 length || payload, for the tiles (owned) */
    size_t pendlen;           /* bytes in use */
    size_t pendcap;           /* allocated */
    struct audit_tiles tiles; /* the tree on disk (audit_tiles.h) */
    uint64_t pool_made;       /* tile-new/ files made up to (by number) */
    uint64_t pool_created;    /* ... of which created (tests count) */
    int headfd;               /* DIR/checkpoint, O_RDWR: the latest head */
    uint64_t head_size;       /* the size `head` signs (0: none yet) */
    char head[AUDIT_MAX_NOTE_BYTES + 1]; /* its signed note */
    size_t head_len;
    size_t head_file_len;   /* bytes of DIR/checkpoint */
    uint64_t head_every_ms; /* least time between two heads (0: every
                               commit) */
    uint64_t head_at_ms;    /* clock_mono_ms() of the last head */
    int ckfd;               /* checkpoints.log, O_RDWR */
    uint64_t ck_len;        /* its durable length */
    uint64_t ck_size;       /* size of the latest checkpoint */
    bool ck_dirty;          /* bytes past ck_len may remain */
    bool ck_busy;           /* a checkpoint ticket is in flight */
    char origin[AUDIT_MAX_ORIGIN + 1];
    struct note_signer signer; /* secret: wiped on close */
    char vkey[NOTE_MAX_KEY];
    struct audit_repair repair;
    struct audit_observer obs;  /* all NULL: nobody listens */
    struct audit_anchor anchor; /* what the open was checked against */
    uint64_t trusted;           /* records the open took on trust */
    /* The background verifier (audit_log_verify_start()): its thread
     * reads only records [0, bg_size) and checkpoints.log's first
     * bg_cklen bytes, which the writer never changes again. */
    pthread_t bg;
    bool bg_started;
    atomic_bool bg_stop; /* set by close: the thread returns soon */
    atomic_int bg_state; /* 1 running, 0 passed, else its ERR_* */
    uint64_t bg_size;    /* records it verifies */
    uint64_t bg_cklen;   /* bytes of checkpoints.log it reads */
    struct audit_verify_result bg_res; /* its verdict, once bg_state
                                          is not 1 */
};

/*
 * Buffer the leaf hash and a copy of one record's payload (`len` bytes,
 * already framed into the segments by the caller) as pending at index
 * log->next, and return that index (log->next then moves on). The
 * pending records are settled into the frontier and the tiles when
 * they are durable. Inline: audit_append() runs once per audited access.
 */
static inline uint64_t
audit_log_pend(struct audit_log *log, const uint8_t *payload, size_t len)
{
    if (log->nleaves == log->aleaves) {
        log->aleaves = log->aleaves ? 2 * log->aleaves : 64;
        log->leaves =
            xreallocarray(log->leaves, log->aleaves, sizeof(*log->leaves));
    }
    merkle_leaf_hash(payload, len, log->leaves[log->nleaves++]);
    if (log->pendcap - log->pendlen < 2 + len) {
        log->pendcap = log->pendcap ? 2 * log->pendcap : 64 * 1024;
        if (log->pendcap < 2 + len)
            log->pendcap = 2 + len;
        log->pend = xreallocarray(log->pend, 1, log->pendcap);
    }
    log->pend[log->pendlen] = (uint8_t)len;
    log->pend[log->pendlen + 1] = (uint8_t)(len >> 8);
    memcpy(log->pend + log->pendlen + 2, payload, len);
    log->pendlen += 2 + len;
    return log->next++;
}

#endif /* COMMON_AUDIT_LOG_IMPL_H */
