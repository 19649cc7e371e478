/*
 * scorer.h - the scorer process: its state, field by field
 *
 * vigil-scorer is the only writer of LMDB history, of the journal and of
 * the audit log. It receives pseudonymized events from collectors over
 * ipc://, and for each group of events drained from the socket it: drops
 * repeats by (actor, event id) with the first reply, scores orders
 * against history as it stood before each event, applies the events to
 * history, appends one audit record per new event, appends the audit
 * records to the journal (JREC_AUDIT, scorer/jrec.h) and writes them to
 * the audit segment unsynced, appends the events after them, makes the
 * journal durable (ONE fdatasync for records and events), and only then
 * replies. The audit segments are synced before each LMDB commit (the
 * anchor, and the trim of the journal that holds the records' durable
 * copy); start-up restores from the journal what a crash took from them
 * (scorer/jheal.h).
 * History writes land in an in-memory overlay (store.h); every
 * commit_interval_ms the overlay's generation is frozen and a flusher
 * thread commits it to LMDB (synced) together with the journal sequence
 * number it covers, while the loop goes on. After a crash the journal
 * records past that number are replayed through the same pure path,
 * which gives the same history and the same replies.
 *
 * Invariants:
 *  - an event is acknowledged only after its journal record is durable,
 *    and its audit record is durable no later: journaled before it in
 *    the same write (and synced in the audit segments before the journal
 *    record can be trimmed). If the audit segment cannot be written,
 *    nothing of the group reaches the journal and every event of it is
 *    refused with code "audit" (fail closed).
 *  - the subject index (dbi_subject) is derived from the audit log; the
 *    records past `indexed` are indexed again on start.
 *  - LMDB never holds an event whose journal record is not durable: a
 *    generation is frozen only after the journal sync of its last group,
 *    and a failed journal sync discards the overlay and rebuilds it from
 *    the durable journal (scorer_recover).
 *  - only the flusher thread writes LMDB, and only the frozen generation;
 *    everything else in this struct belongs to the main thread, except
 *    the fields under `mu`.
 *  - applied_seq in LMDB is the last journal seq reflected in the
 *    committed history; records after it are replayed on start.
 *
 * See also: scorer.8, history.h, score.h, common/journal.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_SCORER_H
#define SCORER_SCORER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/journal.h"
#include "common/keys.h"
#include "common/event.h"
#include "common/ipcproto.h"
#include "common/reply.h"
#include "common/wire.h"
#include "common/pseudo.h"
#include "common/store.h"
#include "common/zauth.h"
#include "common/zsock.h"
#include "common/quota.h"
#include "scorer/history.h"
#include "scorer/jrec.h"
#include "scorer/modelsvc.h"
#include "scorer/score.h"
#include "scorer/retention.h"
#include "scorer/vault.h"
#include "scorer/space.h"

/* Batches carried from one group to the next while orders are read
 * ahead of them (group.c), at most. */
#define SCORER_CARRY_MAX 64

/* Events a group takes after its first fast-lane message before it
 * carries batches and ends at the orders (group.c). */
#define SCORER_FAST_TAIL_EVENTS 256

/* Messages drained from the socket into one group commit, at most. */
#define SCORER_GROUP_MSGS 512
/* A group takes no more messages once it has spent this long applying
 * (group.c): a warm scorer applies ~1,000-2,500 events in it, so under a
 * flood groups stay large; a scorer just restarted after kill -9 (every
 * page of its maps touched for the first time: ~0.7 ms per event) or
 * starved of CPU answers its first events after this, not after a whole
 * batch_max group. */
#define SCORER_GROUP_BUDGET_US 50000

/*
 * Entries (distinct keys written) in one overlay generation at which it
 * is frozen and flushed even before commit_interval_ms: the
 * overlay_max_entries key (at most 60,000). One LMDB write transaction
 * may dirty at most ~131k pages (MDB_TXN_FULL beyond), and each entry
 * dirties at most one leaf: 60,000 keeps every flush well inside that
 * limit. Memory: LMDB keeps every page a write transaction dirtied for
 * reuse (heap, never returned), so its pool grows to the largest commit's
 * dirty pages, about one 4 KiB page an entry once the database is much
 * larger than a generation: 234 MiB at 60,000 entries. A lower
 * overlay_max_entries lowers that plateau (at more, smaller commits).
 *
 * Past twice overlay_max_entries the loop stops taking events and waits
 * for the running flush (back-pressure): the service then runs at the
 * rate LMDB absorbs, instead of growing memory.
 */

/* One collector message of the group being processed. */
struct scorer_msg {
    struct zsock_msg zm;          /* [collector identity, body]; owned */
    uint64_t tag;                 /* the collector's tag, echoed in the reply */
    char actor[EVENT_ID_MAX + 1]; /* the storefront its events are from:
                                     the journal entries point here */
    uint32_t first;               /* index of its first reply in s->replies */
    uint32_t n;                   /* its events (and replies) */
    bool valid;                   /* envelope decoded; reply to it */
};

/*
 * A new event of the group waiting for its journal append, which happens
 * after the group's audit records' (write-ahead audit, same sync).
 * Borrowed pointers into the group's messages.
 */
struct scorer_jent {
    const char *actor;
    const uint8_t *raw; /* the internal event bytes */
    size_t rawlen;
    uint64_t arrival_ms;    /* when the scorer took it (wall clock) */
    struct vault_made made; /* the salts it made (scorer/vault.h) */
};

/* Query messages answered in one batch, at most (scorer_queries). */
#define SCORER_QUERY_BATCH 512

/*
 * A query reply held back until the group commit that follows its batch
 * (query.c: label operations and what is answered with them). `out`
 * and `raw` are allocated once (scorer_alloc) and reused.
 */
struct scorer_qreply {
    struct zsock_route env;            /* who to answer */
    char id[EVENT_ID_MAX + 1];         /* the request id */
    char storefront[EVENT_ID_MAX + 1]; /* the journal entry's actor */
    struct buf out;                    /* the encoded reply */
    struct buf raw;                    /* the event applied, if any */
    bool journaled; /* its success needs the journal append */
};

/* Counters, logged every 10 s at debug level and at shutdown. */
struct scorer_stats {
    uint64_t events;     /* events applied (new) */
    uint64_t duplicates; /* resent events answered with the first reply */
    uint64_t conflicts;  /* resent ids carrying a different event */
    uint64_t orders;     /* orders scored */
    uint64_t rejected;   /* events refused (bad envelope, not durable) */
    uint64_t groups;     /* group commits (journal fdatasyncs) */
    uint64_t commits;    /* LMDB commits */
    uint64_t qcommits;   /* query batches committed on their own */
    uint64_t qshared;    /* ... that shared an events' group commit */
    uint64_t replayed;   /* journal records replayed at start/recovery */
};

/* Start-up timing (startup.c startup_mark): what each step took, in wall
 * and in the process's CPU time, logged at ready and at the first group
 * answered (the figure issue 12's restart target is about). */
#define STARTUP_MARKS 12
struct startup_clock {
    uint64_t exec_us;                /* CLOCK_BOOTTIME of the process's exec */
    uint64_t last_us;                /* CLOCK_BOOTTIME of the last mark */
    unsigned n;                      /* marks taken */
    const char *name[STARTUP_MARKS]; /* static strings */
    uint64_t wall_us[STARTUP_MARKS]; /* the step's wall time */
    uint64_t step_cpu_us[STARTUP_MARKS]; /* ... and the process's CPU */
    uint64_t last_cpu_us;                /* process CPU at the last mark */
    uint64_t cpu_us;                     /* process CPU at ready */
    uint64_t ready_us;                   /* CLOCK_BOOTTIME at ready */
    bool first_group;                    /* the first group was logged */
    bool verify_started; /* the audit log's background verification */
};

struct scorer {
    struct vigil_config cfg;    /* loaded configuration; owned */
    struct score_params params; /* thresholds from cfg */
    void *zctx;                 /* libzmq context; owned */
    void *events_sock;          /* ROUTER at ipc://DATA_DIR/scorer.ipc */
    struct store *store;        /* LMDB environment DATA_DIR/history */
    struct history *hist;       /* history over `store`; owned */
    struct journal *journal;    /* DATA_DIR/journal; owned */
    struct store_overlay *ov;   /* write-back overlay over `store` */
    struct store_txn *otxn;     /* the overlay's txn; borrowed from ov */
    uint64_t gen_opened_ms;     /* monotonic time of the generation's
                                   first event, 0 while it is empty */
    uint32_t gen_events;        /* events applied into the generation */
    uint64_t applied_seq;       /* last journal seq applied to history */
    bool needs_recovery;        /* overlay ahead of what is durable */
    /* The flusher thread and what it shares with the main thread. */
    pthread_t flusher;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int flush_efd;      /* eventfd: the flusher's "done" bell */
    bool flushing;      /* a flush was requested (main thread) */
    uint64_t flush_seq; /* applied_seq of the frozen generation */
    bool flush_request; /* under mu: work for the flusher */
    bool flush_done;    /* under mu: result ready */
    int flush_rc;       /* under mu: its result */
    struct audit_flush_ticket flush_audit; /* the audit records the frozen
                                  generation's anchor names, synced by
                                  the flusher first (fd -1: none) */
    int flush_audit_rc;                    /* under mu: that sync's result */
    int flush_ckpt_rc;       /* under mu: the result of the checkpoint riding on
                                flush_audit (audit_checkpoint_run) */
    bool flusher_quit;       /* under mu: stop the thread */
    struct scorer_msg *msgs; /* SCORER_GROUP_MSGS slots; owned */
    /* Batches read while a group was taking orders (group.c): a FIFO of
     * ncarry from carry_head, taken before the socket's batches. */
    struct zsock_msg carry[SCORER_CARRY_MAX]; /* owned */
    uint32_t carry_head, ncarry;
    struct reply *replies;     /* reply slots of one group; owned */
    uint32_t replies_cap;      /* batch_max + SFPROTO_MAX_BATCH */
    struct scorer_jent *jpend; /* replies_cap + SCORER_QUERY_BATCH
                                  slots; owned */
    uint32_t njpend;           /* new events of the group so far */
    struct wire_dec env_dec;   /* decodes collector envelopes */
    struct wire_dec ev_dec;    /* decodes one internal event at a time */
    struct wire_dec q_dec;     /* decodes query requests */
    struct buf out;            /* reply frame being encoded */
    struct buf rec;            /* journal record being encoded */
    struct scorer_stats stats;
    /* The audit log (issue 4): every access to personal data. */
    struct audit_log *audit;     /* DATA_DIR/audit; owned */
    struct keys keys;            /* the keys directory (keys.h); owned */
    struct zauth *zauth;         /* the ZAP handler of zctx; owned */
    struct pseudo_key *pkey;     /* keys.pseudo: the pseudonym key */
    struct note_signer signer;   /* the audit checkpoint signer (secret; from
                                    cfg signing_key, outside data_dir) */
    bool signer_created;         /* made at this start (recorded) */
    unsigned dbi_subject;        /* the subject index database in history
                                    (layout: common/subjidx.h); rebuilt
                                    from the log */
    uint64_t indexed;            /* audit records indexed so far */
    uint64_t ckpt_ms;            /* monotonic time of the last checkpoint */
    struct audit_anchor anchor;  /* the audit log's signed size and root
                                    as LMDB held it at start (subjidx.h);
                                    stored again at every flush */
    bool anchor_checked;         /* the journal was checked against it */
    void *query_sock;            /* ROUTER at query_endpoint */
    struct scorer_qreply *qpend; /* SCORER_QUERY_BATCH held replies */
    unsigned nqpend;             /* ... in use */
    struct scorer_qreply *qcur;  /* the one being filled, or NULL */
    /* The held replies wait for the events' group commit of the same
     * loop turn (scorer.c scorer_queries): qshare says they do, and
     * once scorer_group committed, qshare_done and its result. */
    bool qshare;
    bool qshare_done;
    int qshare_rc;
    struct wclient *wclient; /* the witness client thread (wclient.h),
                                NULL without `witness` keys; owned */
    /* Crypto-shredding (issue 9): every subject is a token at rest. */
    struct vault *vault;        /* DATA_DIR/subjects.vault; owned */
    struct retention retention; /* the retention sweep (retention.h) */
    struct jrec jrec;           /* the journal record being replayed */
    /* Operations (issue 12): what the scorer shows, what it refuses. */
    struct cfgtab_args args;      /* the command line, for SIGHUP */
    int lock_fd;                  /* DATA_DIR/scorer.pid, flock()ed */
    struct status *status;        /* metrics and the status op; owned */
    struct promsrv *metrics;      /* cfg scorer_metrics; owned, or NULL */
    struct space space;           /* headroom and the full state */
    struct qbatch *qbatch;        /* denied queries of a drain; owned */
    struct quota_config quotas;   /* from cfg quota_* */
    struct quota_table *qclients; /* query buckets per client; owned */
    uint64_t committed_seq;       /* last journal seq LMDB holds (its
                                     meta page durable only after the
                                     next commit: STORE_LAZY_META) */
    uint64_t flush_t0_us;         /* monotonic start of the running flush */
    uint64_t recover_next_ms;     /* no recovery attempt before this */
    int query_code;               /* code of the query answered last */
    /* The model's version for status, or NULL ("n/a"): set by the model
     * module when it loads one (issue 7). */
    const char *model_version;
    struct modelsvc *msvc;       /* the model in use, features log (modelsvc.h);
                                    owned */
    struct startup_clock sclock; /* start-up timing (startup.c) */
};

/* ------------------------------------------- shared inside scorer/ only */

/* How an event reaches scorer_apply() (apply.c). */
enum scorer_mode {
    SCORER_LIVE,   /* from a collector: audited and journaled */
    SCORER_LOCAL,  /* from a query op: journaled (the op is audited) */
    SCORER_REPLAY, /* from the journal at recovery */
};

/*
 * apply.c: apply one event whose internal encoding is raw[0..rawlen),
 * taken at `arrival_ms`, in the overlay's current generation: a repeat
 * of a stored id gets its first reply, otherwise the event is
 * tokenized, scored (orders), applied to history and its reply stored.
 * SCORER_LIVE buffers its audit record and queues it for the journal
 * (s->jpend, borrowing `actor` and `raw` until the group commit);
 * SCORER_LOCAL queues it only (the caller audited the operation);
 * SCORER_REPLAY (`seq`) marks it applied. Main thread.
 * Returns 0 with `r` filled; ERR_CONFLICT with `r` the error reply (not
 * a failure of the group); or an ERR_* from the store or the audit log,
 * after which the overlay may hold part of the event (recover it).
 */
int scorer_apply(struct scorer *s, const char *actor, const struct event *ev,
    const uint8_t *raw, size_t rawlen, enum scorer_mode mode, uint64_t seq,
    uint64_t arrival_ms, struct reply *r) WARN_UNUSED NONNULL(1, 2, 3, 4, 9);

/*
 * group.c: drain, apply, make durable (audit, then journal) and answer
 * one group of collector messages from s->events_sock (and the batches
 * carried from the last groups). A group that took a message from a
 * collector's order fast lane (ipcproto.h) and SCORER_FAST_TAIL_EVENTS
 * events after it carries the batches it reads to the next groups and
 * ends once the waiting orders are in: an order waits for about one
 * batch and that tail, and one sync. Main thread.
 */
void scorer_group(struct scorer *s) NONNULL(1);

/* group.c: true when a message is carried to the next group (call
 * scorer_group even if the socket polls empty). */
bool scorer_group_carried(const struct scorer *s) NONNULL(1);

/*
 * recover.c: scorer_recover() when the overlay needs it, at most once
 * per backoff interval while it keeps failing. Returns 0 when nothing
 * needs recovering or it worked, ERR_IO while waiting for the next
 * attempt, or the recovery's ERR_*.
 */
int scorer_maybe_recover(struct scorer *s) NONNULL(1);

/*
 * flusher.c, main thread: freeze the current generation (with the
 * journal position, vault slots, index position and audit anchor it
 * covers) and hand it to the flusher; a no-op while a flush runs, when
 * the generation is empty, or while recovery is needed.
 */
void scorer_flush_start(struct scorer *s) NONNULL(1);

/* flusher.c: hand the frozen generation to the flusher (again). */
void scorer_flush_kick(struct scorer *s) NONNULL(1);

/* flusher.c: take the flusher's result if it has finished (no wait). */
void scorer_flush_poll(struct scorer *s) NONNULL(1);

/* flusher.c: wait for the flush in flight, if any, and take its result. */
void scorer_flush_wait(struct scorer *s) NONNULL(1);

/*
 * flusher.c: store the audit log's anchor (durable size, root, the
 * journal seq they cover, `clean` only at the end of a clean stop) in
 * `txn` (borrowed). Returns 0 or the store's ERR_*.
 */
int scorer_anchor_put(struct scorer *s, struct store_txn *txn,
    bool clean) WARN_UNUSED NONNULL(1, 2);

/*
 * Apply one event made by a query operation (a label, a review
 * decision, a list change) to the history of `storefront` and queue it
 * for the journal; scorer_commit_local() makes it durable. The caller
 * has already queued the audit record of the operation, encodes the
 * event into `raw` here, and keeps `raw` and `storefront` alive and
 * unchanged until that commit. `r` gets the event's reply. Main thread,
 * between collector groups.
 * Returns 0 (queued); ERR_EXISTS when the same event id was applied
 * before (a resend: nothing changed, nothing queued); ERR_CONFLICT
 * (that id carried another event); ERR_IO when an earlier failure
 * already condemned the batch; or ERR_INVAL / a history error (then the
 * batch fails: scorer_commit_local() refuses and recovers).
 */
int scorer_apply_local(struct scorer *s, const char *storefront,
    const struct event *ev, struct buf *raw, struct reply *r) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 5);

/*
 * Make what the query batch queued durable: its audit records, then its
 * events, in the journal (one fdatasync), as the group commit. On any
 * failure nothing queued may be acknowledged: the overlay is rebuilt
 * from the journal. Returns 0, ERR_AUDIT (the audit records are not
 * durable), or ERR_IO / ERR_FULL (the events are not).
 */
int scorer_commit_local(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * Commit everything now and wait for it: the running flush, then the
 * current generation (even when it holds only index entries or
 * deletions). Afterwards LMDB holds every event of the journal
 * (applied_seq is the journal's last durable seq) and every subject
 * index entry. Main thread, between groups. Returns 0 or ERR_IO (the
 * overlay is marked for recovery).
 */
int scorer_commit(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * The flusher thread's body (pthread start routine, `arg` the scorer):
 * waits for a frozen generation, commits it to LMDB, reports the result
 * and rings the main loop's bell. Started by startup_storage().
 */
void *scorer_flusher_main(void *arg);

/*
 * Freeze and commit everything now, waiting for it (start-up, stop): a
 * generation kept for want of room first. Main thread. Returns 0,
 * ERR_FULL (a commit still waits for room: the journal holds its
 * events) or ERR_IO.
 */
int scorer_flush_sync(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * Throw away the overlay and rebuild it from the committed history plus
 * the durable journal, then commit (start-up, and after a store or
 * journal error). Main thread. Returns 0 or the ERR_* that prevented
 * recovery.
 */
int scorer_recover(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * The same, at start-up: the replayed generation's commit to LMDB is
 * started, not waited for (it runs on the flusher thread while the
 * scorer serves; the journal keeps its events until it is done), so
 * the first event is not held behind a commit of everything since the
 * last one. Returns 0 or the ERR_* that prevented the replay.
 */
int scorer_recover_start(struct scorer *s) WARN_UNUSED NONNULL(1);

/*
 * After scorer_commit(): remove every journal segment, overwriting it
 * first (journal_shred_upto), so that no journal file holds an event
 * (or a salt) that is already in LMDB. `*segments` gets how many went.
 * Main thread. Returns 0 or the journal's ERR_*.
 */
int scorer_journal_shred(struct scorer *s, size_t *segments) WARN_UNUSED
    NONNULL(1, 2);

/*
 * query.c: answer one message from the query socket ([identity, empty
 * delimiter (REQ clients) or nothing, body]) and send the reply. Every
 * answer that carries personal data is audited first (scorer_audit_now);
 * if that fails the answer is refused with code "audit". The client's
 * name and role are the ones its CURVE key has in the allow-list (the
 * ZAP handler's User-Id and X-Role). Main thread.
 */
void query_handle(struct scorer *s, struct zsock_msg *m) NONNULL(1, 2);

/*
 * query.c: commit what the batch's held replies depend on
 * (scorer_commit_local; or, when they shared the events' group commit,
 * s->qshare_done, take its result) and send them: as they are when it worked,
 * as "audit" errors when the audit records are not durable, and as "not stored"
 * errors for the operations whose events are not. Main thread, at the end of
 * each query batch; a no-op when nothing is held.
 */
void query_flush(struct scorer *s) NONNULL(1);

#endif
