/*
 * history.h - the fraud history in LMDB and its point-in-time features
 *
 * The scorer's main loop, inside one long-lived write transaction, asks
 * history_reply_get() whether an event was already answered, then
 * history_features() (what history knew just before the event),
 * score_compute(), then history_apply() and history_reply_put(). The
 * LMDB commit carries history_set_applied_seq() (the journal seq it
 * covers). Readers (queries) use the same getters in read transactions.
 * In a write txn, history_apply() right after history_features() of the
 * same event reuses the entity records features read (no second lookup).
 * Work per event is bounded: a handful of point gets and puts, no scans.
 *
 * Databases (HISTORY_DBS of them; size store_open's max_dbs with it):
 *  "entity"  key: kind byte + identifier -> fixed-size entity record
 *            'A' actor \0 16-byte account pseudonym (scoped to the
 *                storefront, pseudo_scoped())
 *            'D' 16-byte device pseudonym     'I' 16-byte ip pseudonym
 *            'P' 16-byte pseudonym of the IP's /24 (IPv6 /48)
 *            'Q' 16-byte pseudonym of the IP's /16 (IPv6 /32): the
 *                model's ip16 features only, on no link list
 *            'C' 16-byte card pseudonym       'E' 16-byte email pseudonym
 *            Device, IP, card and email entities are shared by all
 *            storefronts.
 *  "link"    'A' account key -> up to HISTORY_MAX_LINKS entity keys the
 *            account was seen with (FIFO): who to flag on a fraud label.
 *            'R' + an entity key (not an account's) -> up to
 *            HISTORY_LINK_ACCOUNTS account keys seen with it (FIFO),
 *            same encoding: who shares it (history_linked_get).
 *  "order"   actor \0 order pseudonym -> the order's entity keys, ts,
 *            amount, score, decision and event id pseudonym (so
 *            payment.result and label find them).
 *  "reply"   actor \0 event id pseudonym -> u8 5, u64 little-endian
 *            arrival ms (the scorer's wall clock, journaled with the
 *            event): the index of the replies (dedup of resends). Before
 *            2026-12-05 the value was the encoded reply itself (versions
 *            3 and 4; still read).
 *  "reply_time"  u64 big-endian arrival ms || the reply's key -> the
 *            encoded reply, with the event's digest and its arrival time
 *            (empty for the replies of versions 3 and 4): the replies in
 *            arrival order, so that a commit writes them at the end of
 *            the tree and the retention sweep drops those older than the
 *            dedup window (history_purge.c).
 *  "meta"    "applied_seq" -> u64; other names: history_meta_get().
 *  "review"  u64 big-endian order time || order token || actor -> a
 *            version byte: the orders scored `review` not yet labelled,
 *            oldest first (history_review.c); at most HISTORY_REVIEW_MAX,
 *            counted in meta "review_n", the orders over the bound in
 *            "review_dropped". A label of the order removes its entry;
 *            the order's retention and erasure remove it with the order.
 *
 * Subjects are TOKENS (scorer/vault.h), not pseudonyms: the scorer
 * swaps each pseudonym of an event for its per-subject token before
 * calling anything here, so every account, order, device, IP, card and
 * email key above holds a token. This module neither knows nor cares;
 * erasure (history_erase_plan) and retention (history_sweep_step) find
 * rows by token and by age.
 *
 * Entity record, little-endian, version 3 (variable length, at most
 * HISTORY_ENTITY_RECORD_BYTES; version 2 (26-byte head, 1h and 24h rings
 * only) and version 1 (a fixed 504-byte layout) are still read and are
 * rewritten as version 3 when the entity next changes). Head (32
 * bytes): version, kind byte, flags (fraud, linked fraud, signup set,
 * country set, ...), nacc, first/last seen ts (u64), the section bits
 * (gap slots, signup minutes, counts past the day ring), u8 mask of the
 * non-empty minute slots, u16 of the 5-minute slots, u32 of the hour
 * slots, u32 of the day slots. Then for an account ('A', nacc == 0):
 * last IP country (2), signup ts (u64), order count (u32), amount sum
 * and max (u64), signup source (u8), the mask of its signup's network
 * entities (u8) and their key hashes (u64 each); for any other kind:
 * nacc (<= 16) distinct-account hashes (u64) and, only when nacc == 16,
 * the 64-bit overflow bitmap. Then the optional sections: two gap slots
 * (ts, account hash: the latest two distinct accounts, for dev_gap and
 * ip_gap), two signup-minute slots (minute u32, count u16), the counts
 * past the day ring (orders, signups, fraud and legit labels, the day of
 * the latest fraud label there; u32 each). Then each non-empty slot in
 * slot order, of four rings of counters over EVENT time (not arrival
 * time):
 *  - minute ring: 5 buckets of 1 minute (u32 epoch, u16 orders, signups);
 *  - 1h ring: 12 buckets of 5 minutes (u32 epoch, u16 orders, failed
 *    payments, failed logins, signups);
 *  - 24h ring: 24 buckets of 1 hour (u32 epoch, u16 orders, failed
 *    payments, signups);
 *  - day ring: 30 UTC days (u32 epoch, u16 orders, signups, fraud and
 *    legit labels counted at the label's event time); a day slot reused
 *    for a newer day moves its counts past the ring, and a day older
 *    than the whole ring is counted there at once, so "all time" counts
 *    lose nothing.
 * A slot is empty when its epoch and counts are all 0 (it is then left
 * out); decoding is strict: the length must be exactly what the head
 * implies and a listed slot or section must not be empty.
 * Each bucket is stamped with its epoch (ts / bucket width); per-bucket
 * counts saturate at 65535.
 *
 * The model's windows (features.h; history_rec_windows): 1m the order's
 * clock minute, 5m its 5 clock minutes, 1h and 24h as below, 7d and 30d
 * the order's UTC day up to its hour (hour ring) plus the 6 or 29 days
 * before (day ring), all = the counts past the ring + the day ring's
 * earlier days + today's. Labels (history_rec_labels) count from the UTC
 * day after their arrival, their age from the end of that day.
 * tests/unit/test_history_rec.c checks each against a reference.
 *
 * Window semantics (what a feature for an event at time t counts), with
 * B the bucket width, N the number of buckets and cur = t / B:
 *  - an event with epoch e = ts / B counts iff cur - N < e <= cur. So an
 *    event older than t by less than W - B (55 min / 23 h) always counts,
 *    one older than W (60 min / 24 h) never does, and in between it
 *    depends on alignment to the bucket grid (resolution B).
 *  - no event with a later epoch than t's is ever counted: an event
 *    that arrived earlier but happened later is visible to an earlier-ts
 *    event only if it falls in the same bucket as t (resolution B).
 *  - out-of-order arrivals: an event is added to its bucket if the ring
 *    slot (e mod N) holds epoch e or an older one (stale: reset); if the
 *    slot already holds a newer epoch (>= e + N) the event is outside
 *    every window the entity will be asked about at its newest times and
 *    is dropped from the counters. Hence a count is exact (equal to
 *    counting every applied event with the rule above) unless a later
 *    event at least one full window newer landed in the same slot, in
 *    which case older events of that slot are undercounted, never
 *    overcounted.
 *  - the event being scored is never included: history_features() is
 *    called before history_apply().
 * Other features: known/age use first_seen (known iff first seen at an
 * event time <= t); account_age_ms uses the signup ts (-1 if none or
 * later than t); account order count/mean/max and accounts-per-entity
 * are all-time (as of arrival), not windowed; account_country is the
 * IP country of the last event carrying one whose ts was not older than
 * anything the account had seen. fraud_linked: the account itself was
 * labelled fraud, or the entity was linked to an account labelled fraud
 * (named by its order, in its link list, or used by it after the label).
 * A label can create a record for an entity never seen: it stays
 * known == false. Distinct accounts (0 for the account entity itself):
 * exact up to 16; beyond that 16 plus a linear-counting estimate from
 * the 64-bit bitmap (capped at HISTORY_MAX_ACCOUNTS).
 * Event times outside EVENT_MIN_TS..EVENT_MAX_TS are refused (ERR_INVAL).
 *
 * Invariants:
 *  - every function here is deterministic in (stored state, arguments):
 *    replaying the same events in the same order gives the same state,
 *    features and replies.
 *  - no raw identifier is stored: every key holds pseudonyms, the
 *    storefront's own ids included.
 *
 * See also: scorer/score.h (struct features), common/store.h,
 * common/journal.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_HISTORY_H
#define SCORER_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/reply.h"
#include "common/store.h"
#include "scorer/score.h"
#include "scorer/features.h"

#define HISTORY_DBS                 7    /* named databases it opens */
#define HISTORY_ENTITY_RECORD_BYTES 1016 /* largest entity value */
#define HISTORY_MAX_LINKS           32   /* entity keys kept per account */
#define HISTORY_MAX_ACCOUNTS        1000 /* cap of the accounts feature */
#define HISTORY_BUCKET_1H_MS        (5 * 60 * 1000ULL)
#define HISTORY_BUCKETS_1H          12
#define HISTORY_BUCKET_24H_MS       (60 * 60 * 1000ULL)
#define HISTORY_BUCKETS_24H         24
#define HISTORY_BUCKET_1M_MS        (60 * 1000ULL)
#define HISTORY_BUCKETS_1M          5
#define HISTORY_BUCKET_1D_MS        (24 * 60 * 60 * 1000ULL)
#define HISTORY_BUCKETS_1D          30

/* The longest key of any database here (an order or reply key, and a
 * reply-time key: 8 bytes more). */
#define HISTORY_KEY_MAX            (1 + EVENT_ID_MAX + 1 + PSEUDO_BYTES)
#define HISTORY_REPLY_TIME_KEY_MAX (8 + HISTORY_KEY_MAX)
/* A review-queue key: ts, order token, actor (history_review.c). */
#define HISTORY_REVIEW_KEY_MAX (8 + PSEUDO_BYTES + EVENT_ID_MAX)
#define HISTORY_REVIEW_MAX     10000 /* queued orders, at most */

struct history;

/* A stored order, as history_order_get() returns it. */
struct history_order {
    uint64_t ts;     /* event time of the order.placed */
    uint64_t amount; /* minor units */
    bool has_score;
    uint8_t score;
    enum reply_decision decision;
    bool has_account;       /* the order named an account */
    struct pseudo account;  /* its pseudonym */
    struct pseudo event_id; /* its order.placed event's id pseudonym */
};

/*
 * Open (creating) history's databases in `st` in a write transaction of
 * its own and commit it. Call it before beginning any other write
 * transaction (LMDB would block). On a STORE_RDONLY store it opens the
 * existing databases in a read transaction instead. `st` is borrowed and
 * must outlive `*out`; free `*out` with history_close(). Thread-safe to
 * use from several threads afterwards (each with its own txn).
 * Returns 0, ERR_NOTFOUND (read-only and never created), ERR_FULL
 * (max_dbs too small or map full) or ERR_IO.
 */
int history_open(struct store *st, struct history **out) WARN_UNUSED
    NONNULL(1, 2);

/* Free `h` (the store stays open). NULL is a no-op. */
void history_close(struct history *h);

/* Bytes of an event's digest, stored with its reply (history_reply_put). */
#define HISTORY_DIGEST_BYTES 16

/*
 * Look up the stored reply to the event whose id pseudonym is `event_id`
 * of storefront `actor` and copy it to `*out`, restoring the struct
 * exactly (out->id is "": the scorer never knows the raw id; bytes after
 * each string's NUL are zero, as after a memset), and the digest of the
 * event it answered to `digest` (may be NULL). Any txn.
 * Returns 0, ERR_NOTFOUND, ERR_INVAL (actor too long), ERR_CORRUPT
 * (undecodable value) or ERR_IO.
 */
int history_reply_get(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *event_id,
    uint8_t digest[HISTORY_DIGEST_BYTES], struct reply *out) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 6);

/*
 * Store reply `r` to the event whose digest (a hash of its internal
 * encoding: a repeat of the id with other contents has another) is
 * `digest` under (actor, event_id), with the event's arrival time
 * `arrival_ms` (and its entry in the reply-time index). Only for an id
 * that has no reply yet (the scorer answers a repeat from the stored
 * one). r->id is not stored. Write txn. Returns 0, ERR_INVAL (code > 0,
 * decision or nreasons out of range), ERR_FULL or ERR_IO.
 */
int history_reply_put(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *event_id,
    const uint8_t digest[HISTORY_DIGEST_BYTES], uint64_t arrival_ms,
    const struct reply *r) WARN_UNUSED NONNULL(1, 2, 3, 4, 5, 7);

/*
 * The entity kinds of an event whose tokens were made by its own
 * tokenizing (vault_made): history_features() and history_apply() take
 * them as `fresh` and do not look up what is stored under those
 * entities' keys (their records, their account lists): a token from a
 * salt made this instant has nothing stored under it. The entities are
 * the event's own (ev->account, ev->device, ...), never those of a
 * stored order an event refers to. 0 looks up every key (always right;
 * recovery and queries pass 0).
 */
#define HISTORY_FRESH(kind) (1u << (kind)) /* enum entity_kind */

/*
 * Fill `*out` with what history knew about the entities `ev` names just
 * before `ev` (see the window semantics above); reads only. Entities the
 * event does not name have present == false; those in `fresh` (above)
 * are unknown without a lookup. Any txn.
 * Returns 0, ERR_INVAL (ts out of range, actor or account too long),
 * ERR_CORRUPT (a stored record is undecodable) or ERR_IO.
 */
int history_features(struct history *h, struct store_txn *txn,
    const char *actor, const struct event *ev, uint32_t fresh,
    struct features *out) WARN_UNUSED NONNULL(1, 2, 3, 4, 6);

/*
 * Fill `*v` with the model's features of order `ev` (features.h), from
 * what history knew just before it: call it before history_apply() of
 * the same event (in a write txn right after history_features(), whose
 * records it reuses). Features the service does not compute
 * (history_model_computed() false) keep feature_vec_init()'s values.
 * Point in time: window counts, gaps and labels follow the window
 * semantics above; labels (entity and country counters) count from the
 * UTC day after the label's event time. Distinct-account counts are as
 * of arrival (not windowed). Any txn. Returns 0, ERR_INVAL, ERR_CORRUPT
 * or ERR_IO.
 */
int history_model_features(struct history *h, struct store_txn *txn,
    const char *actor, const struct event *ev, unsigned groups,
    struct feature_vec *v) WARN_UNUSED NONNULL(1, 2, 3, 4, 6);

/*
 * The costlier feature groups history_model_features() computes only
 * when asked (`groups`); the others (signup, source, amount, calendar,
 * browser, distinct accounts, gaps) always. A group not asked keeps
 * feature_vec_init()'s values.
 */
#define HISTORY_MG_WINDOWS 1u /* *_ord_*, *_sig_*, *_sig_same_min */
#define HISTORY_MG_LABELS  2u /* *_fraud_lab, *_legit_lab, *_age_d, link */
#define HISTORY_MG_COUNTRY 4u /* cty_rate, cty_nlab, glob_rate */
#define HISTORY_MG_AMOUNT  8u /* amt_z, amt_ratio (the store's amounts) */
#define HISTORY_MG_ALL     15u

/* The groups a model with columns cols[0..n) needs. */
unsigned history_model_groups(const enum feature_id *cols, unsigned n);

/* Whether history_model_features() computes feature `id`. */
bool history_model_computed(enum feature_id id);

/*
 * Apply `ev` to history in write txn `txn`. Every event but a label
 * updates first/last seen of the entities it names, links its account to
 * them (distinct accounts, the account's link list), records the IP
 * country of the account, and spreads an existing fraud flag of the
 * account to them. Then by type: account.signup sets signup ts;
 * account.login ok=false counts a failed login on every named entity;
 * order.placed counts an order on every named entity, updates the
 * account's order count/amount and stores the order record with r's
 * score and decision; payment.result ok=false counts a failed payment on
 * every entity of the order (unknown order: on the event's own
 * entities); label fraud=true flags the account (the order's account for
 * an order label), every entity of the order and every entity in the
 * account's link list; fraud=false clears the account's own label.
 * `r` is the reply sent for `ev` (its score is stored with an order; it
 * may be NULL for other types). `fresh`: the event's entities with
 * nothing stored yet (HISTORY_FRESH above; 0 looks every one up).
 * Returns 0, ERR_INVAL (read txn, key too long), ERR_CORRUPT, ERR_FULL
 * (map full: abort the txn) or ERR_IO. On error the txn may hold part of
 * the changes: the caller must abort it.
 */
int history_apply(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, uint32_t fresh, const struct reply *r) WARN_UNUSED
    NONNULL(1, 2, 3, 4);

/*
 * Set `*seq` to the journal seq the store covers (0 when never set).
 * Any txn. Returns 0, ERR_CORRUPT or ERR_IO.
 */
int history_applied_seq(struct history *h, struct store_txn *txn,
    uint64_t *seq) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Record that the store covers journal records up to `seq` (commit the
 * txn to make it so). Write txn. Returns 0, ERR_INVAL, ERR_FULL, ERR_IO.
 */
int history_set_applied_seq(struct history *h, struct store_txn *txn,
    uint64_t seq) WARN_UNUSED NONNULL(1, 2);

/*
 * Named values of the scorer's own in the "meta" database, beside
 * "applied_seq" (which has its functions above): e.g. "erase_pending"
 * (scorer/erase.c). `name` is 1..64 bytes and not "applied_seq".
 * history_meta_get copies at most `cap` bytes into `out` and sets
 * `*len` to the value's length (ERR_TOOBIG when longer than cap). Any
 * txn for get; write txn for put and del (del of a missing name is no
 * error). Return 0, ERR_NOTFOUND (get), ERR_INVAL, ERR_TOOBIG, ERR_FULL
 * or ERR_IO.
 */
int history_meta_get(struct history *h, struct store_txn *txn, const char *name,
    void *out, size_t cap, size_t *len) WARN_UNUSED NONNULL(1, 2, 3, 6);
int history_meta_put(struct history *h, struct store_txn *txn, const char *name,
    const void *v, size_t len) WARN_UNUSED NONNULL(1, 2, 3);
int history_meta_del(struct history *h, struct store_txn *txn,
    const char *name) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * The fraud team's allow and block lists (list.set, scorer.8): the list
 * is the F_ALLOW / F_BLOCK flag of the entity record of `kind` (account,
 * device, ip, card or email; not the IP prefix) keyed by token `id` (an
 * account's of storefront `actor`; `actor` is not used for the other
 * kinds, which all storefronts share). history_features() reports it
 * as entity_features.list. A listed entity is not aged by the retention
 * sweep (history_entity_last_seen); erasure deletes it with its record.
 * history_list_set() creates a list-only record (known false) for an
 * entity never seen, and sets `*was` to the list it was on (equal to
 * `list`: nothing written). Write txn for set, any for get (`*known`:
 * an event named it). Return 0, ERR_INVAL (kind, actor, read txn),
 * ERR_CORRUPT, ERR_FULL or ERR_IO.
 */
int history_list_get(struct history *h, struct store_txn *txn,
    const char *actor, enum entity_kind kind, const struct pseudo *id,
    enum score_list *out, bool *known) WARN_UNUSED NONNULL(1, 2, 3, 5, 6, 7);
int history_list_set(struct history *h, struct store_txn *txn,
    const char *actor, enum entity_kind kind, const struct pseudo *id,
    enum score_list list, enum score_list *was) WARN_UNUSED
    NONNULL(1, 2, 3, 5, 7);

/*
 * Look up order `order` of storefront `actor` into `*out`. Any txn.
 * Returns 0, ERR_NOTFOUND, ERR_INVAL, ERR_CORRUPT or ERR_IO.
 */
int history_order_get(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order,
    struct history_order *out) WARN_UNUSED NONNULL(1, 2, 3, 4, 5);

/*
 * Fill `*out` for one entity as of event time `ts` (for queries): kind
 * and identifier as in the entity keys above (`id` is the 16 pseudonym
 * bytes; `actor` is used for accounts only). out->present is set. Any
 * txn.
 * Returns 0 (out->known false if never seen), ERR_INVAL, ERR_CORRUPT or
 * ERR_IO.
 */
int history_entity_features(struct history *h, struct store_txn *txn,
    const char *actor, enum entity_kind kind, const void *id, size_t idlen,
    uint64_t ts, struct entity_features *out) WARN_UNUSED
    NONNULL(1, 2, 3, 5, 8);

/* ---------------------------------------------------------------------
 * Retention and erasure (history_purge.c). Main thread, through the
 * scorer's overlay transaction; deletions land in the overlay's current
 * generation and reach LMDB with its next commit.
 * ------------------------------------------------------------------- */

/* The data categories history keeps, each with its own retention
 * (config retention_days_<name>). */
enum history_cat {
    HISTORY_CAT_ACCOUNT, /* account entities and their link lists */
    HISTORY_CAT_DEVICE,  /* device entities */
    HISTORY_CAT_IP,      /* IP and IP-prefix entities */
    HISTORY_CAT_PAYMENT, /* card entities */
    HISTORY_CAT_CONTACT, /* email entities */
    HISTORY_CAT_ORDER,   /* order records */
    HISTORY_CAT_COUNT
};

/* The rows a batch deletes, counted by kind. */
enum history_row {
    HISTORY_ROW_ENTITY, /* an entity record (any kind) */
    HISTORY_ROW_LINK,   /* an account's link list */
    HISTORY_ROW_ORDER,  /* an order record */
    HISTORY_ROW_REPLY,  /* a stored reply (with its reply-time entry) */
    HISTORY_ROW_COUNT
};

/*
 * Deletions planned by a sweep step or an erasure, applied in one go by
 * history_batch_apply(). Keys are copies (no views). Fields change only
 * through this API; the counts may be read.
 */
struct history_batch {
    uint64_t rows[HISTORY_ROW_COUNT]; /* rows planned, by kind */
    uint64_t cats[HISTORY_CAT_COUNT]; /* entities and orders, by category */
    struct history_del *dels;         /* the keys (history_purge.c) */
    size_t n, cap;
};

/* Initialise an empty batch; free it with history_batch_release(). */
void history_batch_init(struct history_batch *b) NONNULL(1);

/* Free the keys and zero `b` (then as after init). */
void history_batch_release(struct history_batch *b) NONNULL(1);

/* The rows planned in `b` (all kinds). */
uint64_t history_batch_rows(const struct history_batch *b) NONNULL(1);

/*
 * Delete every key planned in `b` through write txn `txn` (a key
 * already gone is skipped), then empty `b`'s keys and counts.
 * Returns 0, or ERR_FULL / ERR_IO (some deletions may have been made:
 * the caller discards the overlay).
 */
int history_batch_apply(struct history *h, struct store_txn *txn,
    struct history_batch *b) WARN_UNUSED NONNULL(1, 2, 3);

/* How long each category is kept, and the dedup window of replies. */
struct history_retention {
    uint64_t keep_ms[HISTORY_CAT_COUNT]; /* by event time */
    uint64_t dedup_ms;                   /* replies, by arrival time */
};

/*
 * Where a retention sweep is. Zero it to start; history_sweep_step()
 * moves it on. A pass visits the entities, then the orders (both in key
 * order, from the committed LMDB state), then the reply-time index
 * (oldest first, up to the window).
 */
struct history_sweep {
    unsigned phase;               /* 0 entities, 1 orders, 2 replies */
    uint8_t key[HISTORY_KEY_MAX]; /* the last key examined ... */
    size_t klen;                  /* ... (0: the phase starts over) */
    uint64_t passes;              /* whole passes done */
};

/*
 * Examine at most `max_scan` keys from where `sw` stands and plan into
 * `b` the deletion of each row older than its category's retention at
 * `now_ms` (entities by last_seen, their link list with an account;
 * orders by their time; replies by arrival beyond the dedup window).
 * The keys come from the committed state (a read transaction of its
 * own, ended before returning); each candidate is judged by its current
 * value read through `ov` (the overlay), so a row an uncommitted event
 * refreshed is kept. Sets `*pass_done` when this step finished a pass.
 * Returns 0, ERR_CORRUPT (a row that does not decode: logged, skipped
 * in later steps) or ERR_IO.
 */
int history_sweep_step(struct history *h, struct store_txn *ov,
    const struct history_retention *ret, uint64_t now_ms,
    struct history_sweep *sw, unsigned max_scan, struct history_batch *b,
    bool *pass_done) WARN_UNUSED NONNULL(1, 2, 3, 5, 7, 8);

/*
 * Plan the deletion of every row history keys by `token`: an entity of
 * any kind; for each storefront actors[0..nactors), the account (with
 * its link list) and the order (with its order.placed event's reply).
 * Reads through `txn`. Returns 0, ERR_INVAL (an actor too long),
 * ERR_CORRUPT or ERR_IO.
 */
int history_erase_plan(struct history *h, struct store_txn *txn,
    const struct pseudo *token, const char *const *actors, size_t nactors,
    struct history_batch *b) WARN_UNUSED NONNULL(1, 2, 3, 6);

/*
 * Plan the deletion of the reply stored for event `event_id` of
 * storefront `actor` (and its reply-time entry), if there is one.
 * Returns 0, ERR_INVAL, ERR_CORRUPT or ERR_IO.
 */
int history_erase_reply_plan(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *event_id,
    struct history_batch *b) WARN_UNUSED NONNULL(1, 2, 3, 4, 5);

/* ---------------------------------------------------------------------
 * Linked accounts (history_link.c; the "link" database above).
 * ------------------------------------------------------------------- */

#define HISTORY_LINK_ACCOUNTS 16 /* accounts kept per entity (FIFO) */
#define HISTORY_LINKED_MAX    15 /* accounts returned, at most */

/* One account linked to the one asked about. */
struct history_linked_acct {
    char actor[EVENT_ID_MAX + 1]; /* its storefront */
    struct pseudo account;        /* its token */
    uint16_t via[ENT_COUNT];      /* shared entities by kind */
    uint16_t shared;              /* all shared entities */
    bool fraud, legit;            /* its own labels */
};

/* The accounts linked to one account. */
struct history_linked {
    bool fraud, legit;                /* the account's own labels */
    unsigned nentities;               /* entities in its link list */
    unsigned via_entities[ENT_COUNT]; /* of which, by kind */
    unsigned naccounts;               /* linked accounts found */
    unsigned n;                       /* of which in acc[] */
    struct history_linked_acct acc[HISTORY_LINKED_MAX];
};

/*
 * The accounts that share a device, IP, IP prefix, card or email with
 * account `account` (token) of `actor`, as far as the link lists know
 * (an account's last HISTORY_MAX_LINKS entities, an entity's last
 * HISTORY_LINK_ACCOUNTS accounts): labelled fraud first, then by the
 * number of shared entities; at most HISTORY_LINKED_MAX, naccounts
 * says how many there were. Accounts no longer held (erased, expired)
 * are left out. Any txn. Returns 0, ERR_NOTFOUND (the account is not
 * held), ERR_INVAL, ERR_CORRUPT or ERR_IO.
 */
int history_linked_get(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *account,
    struct history_linked *out) WARN_UNUSED NONNULL(1, 2, 3, 4, 5);

/* ---------------------------------------------------------------------
 * The review queue (history_review.c; the "review" database above).
 * ------------------------------------------------------------------- */

/* One queued order. */
struct history_review_item {
    uint64_t ts;                  /* the order's event time */
    struct pseudo order;          /* its token */
    char actor[EVENT_ID_MAX + 1]; /* its storefront */
};

/* Where a listing stopped: the last entry it looked at. */
struct history_review_cursor {
    bool set; /* false: from the start, or (as `next`) nothing more */
    uint64_t ts;
    struct pseudo order;
};

/*
 * List up to `max_items` queued orders, oldest first, after `after` (may
 * be NULL) and of storefront `actor` (NULL: any), looking at no more
 * than `max_scan` entries; entries whose order is gone or was placed
 * again are skipped. `*next` is set when there may be more (pass it as
 * `after` to go on). Needs a txn that may be iterated (LMDB, not the
 * overlay's). Returns 0, ERR_CORRUPT or ERR_IO.
 */
int history_review_list(struct history *h, struct store_txn *txn,
    const struct history_review_cursor *after, const char *actor,
    unsigned max_items, unsigned max_scan, struct history_review_item *items,
    unsigned *n, struct history_review_cursor *next) WARN_UNUSED
    NONNULL(1, 2, 7, 8, 9);

/*
 * Set *queued when order `order` (token) of `actor`, placed at `ts`, is
 * in the queue. Any txn. Returns 0, ERR_INVAL or ERR_IO.
 */
int history_review_has(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order, uint64_t ts,
    bool *queued) WARN_UNUSED NONNULL(1, 2, 3, 4, 6);

/*
 * The queue's size and the orders it did not take (full). Any txn.
 * Returns 0, ERR_CORRUPT or ERR_IO.
 */
int history_review_counts(struct history *h, struct store_txn *txn,
    uint64_t *queued, uint64_t *dropped) WARN_UNUSED NONNULL(1, 2, 3, 4);

#endif
