/*
 * scorer.h - the scorer process: its state, field by field
 *
 * vigil-scorer is the only writer of LMDB history and of the journal. It
 * receives pseudonymized events from collectors over ipc://, and for each
 * group of events drained from the socket it: drops repeats by (actor,
 * event id) with the first reply, appends the new events to the journal,
 * scores orders against history as it stood before each event, applies
 * the events to history inside one long-lived LMDB write transaction,
 * makes the journal durable with ONE fdatasync, and only then replies.
 * LMDB is committed (synced) every commit_interval_ms together with the
 * journal sequence number it covers; after a crash the journal records
 * past that number are replayed through the same pure path, which gives
 * the same history and the same replies.
 *
 * Invariants:
 *  - an event is acknowledged only after its journal record is durable.
 *  - LMDB never holds an event whose journal record is not durable: a
 *    failed journal sync aborts the write transaction and rebuilds it
 *    from the durable journal (scorer_recover).
 *  - applied_seq in LMDB is the last journal seq reflected in the
 *    committed history; records after it are replayed on start.
 *
 * See also: scorer.8, history.h, score.h, common/journal.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_SCORER_H
#define SCORER_SCORER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/journal.h"
#include "common/proto.h"
#include "common/store.h"
#include "common/zsock.h"
#include "scorer/history.h"
#include "scorer/score.h"

/* Messages drained from the socket into one group commit, at most. */
#define SCORER_GROUP_MSGS 512

/* Events applied to one LMDB write transaction before it is committed. */
#define SCORER_TXN_MAX_EVENTS 65536

/* One collector message of the group being processed. */
struct scorer_msg {
    struct zsock_msg zm;    /* [collector identity, body]; owned */
    uint64_t tag;           /* the collector's tag, echoed in the reply */
    uint32_t first;         /* index of its first reply in s->replies */
    uint32_t n;             /* its events (and replies) */
    bool valid;             /* envelope decoded; reply to it */
};

/* Counters, logged every 10 s at debug level and at shutdown. */
struct scorer_stats {
    uint64_t events;        /* events applied (new) */
    uint64_t duplicates;    /* resent events answered with the first reply */
    uint64_t orders;        /* orders scored */
    uint64_t rejected;      /* events refused (bad envelope, not durable) */
    uint64_t groups;        /* group commits (journal fdatasyncs) */
    uint64_t commits;       /* LMDB commits */
    uint64_t replayed;      /* journal records replayed at start/recovery */
};

struct scorer {
    struct vigil_config cfg;      /* loaded configuration; owned */
    struct score_params params;   /* thresholds from cfg */
    void *zctx;                   /* libzmq context; owned */
    void *events_sock;            /* ROUTER at ipc://DATA_DIR/scorer.ipc */
    struct store *store;          /* LMDB environment DATA_DIR/history */
    struct history *hist;         /* history over `store`; owned */
    struct journal *journal;      /* DATA_DIR/journal; owned */
    struct store_txn *wtxn;       /* open write txn, or NULL */
    uint64_t wtxn_opened_ms;      /* monotonic time wtxn was begun */
    uint32_t wtxn_events;         /* events applied into wtxn */
    uint64_t applied_seq;         /* last journal seq applied into wtxn */
    bool needs_recovery;          /* a store error left wtxn unusable */
    struct scorer_msg *msgs;      /* SCORER_GROUP_MSGS slots; owned */
    struct reply *replies;        /* reply slots of one group; owned */
    uint32_t replies_cap;         /* batch_max + PROTO_MAX_BATCH */
    struct buf out;               /* reply frame being encoded */
    struct buf rec;               /* journal record being encoded */
    struct scorer_stats stats;
};

#endif
