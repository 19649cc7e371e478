/*
 * history_impl.h - what the files of the history module share: the
 *                  decoded records, the keys and the byte helpers
 *
 * Private to scorer/history*.c (history.h is the module's one public
 * header). history.c holds the API, the keys, entity access and apply;
 * history_rec.c the entity record codec and its counters (pure);
 * history_order.c the order records; history_link.c the accounts' link
 * lists; history_reply.c the stored replies. Formats are specified in
 * history.h.
 *
 * Invariants:
 *  - only history*.c include this file.
 *
 * See also: history.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_HISTORY_IMPL_H
#define SCORER_HISTORY_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"
#include "common/compiler.h"
#include "common/event.h"
#include "common/store.h"
#include "scorer/history.h"

#define ENT_VERSION   3 /* written; versions 1 and 2 are still read */
#define ORDER_VERSION 3 /* 3: the event id and account as pseudonyms */
#define REPLY_VERSION 4 /* 3: the digest, then the arrival time; 4: model */
#define LINK_VERSION  1
#define ACC_SET       16 /* exact distinct-account hashes per entity */

#define F_FRAUD_SELF   0x01u /* labelled fraud itself (accounts) */
#define F_FRAUD_LINKED 0x02u /* linked to an account labelled fraud */
#define F_SIGNUP       0x04u /* signup_ts is set */
#define F_COUNTRY      0x08u /* country is set */
#define F_LEGIT_SELF   0x10u /* labelled legitimate itself (accounts) */
#define F_ALLOW        0x20u /* on the storefronts' allow list */
#define F_BLOCK        0x40u /* on the block list */

/* An account's signup source (ent_rec.source). */
enum history_source {
    HSRC_NONE = 0,
    HSRC_ADS,
    HSRC_SEO,
    HSRC_DIRECT,
    HSRC_OTHER,
};

/* The network entities an account's signup is remembered on (their key
 * hashes, ent_rec.sig_hash), and whose model features count signups. */
enum history_net { HNET_DEVICE, HNET_IP, HNET_IP24, HNET_IP16, HNET_COUNT };


/* Largest entity key: 'A' actor \0 account pseudonym. */
#define KEY_MAX HISTORY_KEY_MAX
/* The enum history_net of an entity kind, or -1 (account, card, email). */
int history_net_of(enum entity_kind k);

/* The kind byte of each entity key, by enum entity_kind. */
extern const uint8_t history_kind_byte[ENT_COUNT];
/* For log lines (score_entity_name() lives in score.c). */
extern const char *const history_kind_name[ENT_COUNT];

enum counter {
    C_ORDERS,
    C_FAILPAY,
    C_FAILLOGIN,
    C_SIGNUPS,
    C_FRAUD_LAB, /* counted at the label's event time */
    C_LEGIT_LAB,
};

/* The windows of the model's counters (history.h), in this order. */
enum history_win {
    HW_1M,
    HW_5M,
    HW_1H,
    HW_24H,
    HW_7D,
    HW_30D,
    HW_ALL,
    HW_COUNT
};

struct ringm_slot { /* 1 minute */
    uint32_t epoch;
    uint16_t orders, signups;
};

struct ring1_slot { /* 5 minutes */
    uint32_t epoch;
    uint16_t orders, failpay, faillogin, signups;
};

struct ring24_slot { /* 1 hour */
    uint32_t epoch;
    uint16_t orders, failpay, signups;
};

struct ringd_slot { /* 1 UTC day */
    uint32_t epoch;
    uint16_t orders, signups, fraud, legit;
};

/* The latest event by one account (dev_gap, ip_gap). ts 0: empty. */
struct gap_slot {
    uint64_t ts;
    uint64_t acct; /* hash of the account key */
};

/* Signups in one clock minute (E_sig_same_min). */
struct sigmin_slot {
    uint32_t minute;
    uint16_t n;
};

/* One decoded entity record (history.h: "Entity record"). */
struct ent_rec {
    uint8_t kind;
    uint8_t flags;
    uint8_t nacc;
    char country[3];
    uint64_t first_seen; /* 0: never seen by an event */
    uint64_t last_seen;
    /* accounts */
    uint64_t signup_ts;
    uint32_t order_count;
    uint64_t amount_sum;
    uint64_t amount_max;
    uint8_t source;                /* enum history_source */
    uint8_t sig_mask;              /* bits of enum history_net */
    uint64_t sig_hash[HNET_COUNT]; /* key hashes of the signup's entities */
    /* other kinds */
    uint64_t acc_bits; /* overflow accounts, linear counting */
    uint64_t acc[ACC_SET];
    struct gap_slot gap[2];       /* the latest two distinct accounts */
    struct sigmin_slot sigmin[2]; /* the latest two signup minutes */
    /* every kind */
    uint32_t old_orders, old_signups, old_fraud, old_legit; /* past the day
                                                               ring */
    uint32_t old_fraud_day; /* UTC day of the latest fraud label there */
    struct ringm_slot rm[HISTORY_BUCKETS_1M];
    struct ring1_slot r1[HISTORY_BUCKETS_1H];
    struct ring24_slot r24[HISTORY_BUCKETS_24H];
    struct ringd_slot rd[HISTORY_BUCKETS_1D];
};

struct ekey {
    bool present;
    size_t len;
    uint8_t b[KEY_MAX];
};

/* The entities one history_apply() touches, loaded once, stored once. */
#define WS_MAX (2 * ENT_COUNT)
struct workset {
    /* The event's own keys and those of them with nothing stored yet
     * (history_apply()'s `fresh`): ws_get() does not look those up. */
    const struct ekey *keys;
    uint32_t fresh;
    unsigned n;
    struct {
        struct ekey key;
        enum entity_kind kind;
        struct ent_rec rec;
        bool dirty;
    } s[WS_MAX];
};

/*
 * The entity records history_features() read for one event in a write
 * txn, kept for the history_apply() of the same event that follows it
 * (the scorer's features -> score -> apply), so that apply does not look
 * up and decode them again. Only calls with a write txn use or touch it
 * (there is one write txn at a time, used by one thread); every such call
 * but that apply drops it, and apply uses it only if the txn, the event
 * (id, ts) and every entity key match. Nothing writes the entity db
 * between the two calls but history itself, so the records are current.
 */
struct ev_cache {
    bool valid;
    const struct store_txn *txn;
    uint64_t ts;
    struct pseudo id;
    struct ekey keys[ENT_COUNT];
    bool exists[ENT_COUNT];
    struct ent_rec rec[ENT_COUNT];
};

struct history {
    struct store *st;
    unsigned dbi_entity;
    unsigned dbi_link;
    unsigned dbi_order;
    unsigned dbi_reply;
    unsigned dbi_meta;
    unsigned dbi_reply_time;
    unsigned dbi_review;
    struct ev_cache cache; /* write txns only, see above */
    struct workset ws;     /* history_apply()'s (write txns only) */
};

/* A decoded order record. */
struct order_rec {
    uint64_t ts;
    uint64_t amount;
    struct pseudo event_id; /* the order.placed event's id */
    bool has_score;
    uint8_t score;
    uint8_t decision;
    struct ekey keys[ENT_COUNT]; /* keys[ENT_ACCOUNT] is the account */
};

#define ORDER_MAX_BYTES (21 + PSEUDO_BYTES + ENT_COUNT * (1 + KEY_MAX))

#define LINK_MAX_BYTES (2 + HISTORY_MAX_LINKS * (1 + KEY_MAX))

struct link_list {
    unsigned n;
    struct ekey keys[HISTORY_MAX_LINKS];
};

/* ------------------------------------------------------ small helpers */

static inline void
history_sat16_inc(uint16_t *v)
{
    if (*v < UINT16_MAX)
        (*v)++;
}

static inline bool
history_ts_ok(uint64_t ts)
{
    return ts >= EVENT_MIN_TS && ts <= EVENT_MAX_TS;
}

/* 64-bit FNV-1a with a final avalanche (splitmix64). */
static inline uint64_t
history_hash64(const uint8_t *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* ------------------------------------------- history_rec.c (pure) */

/* Encode `r` as the current version; returns its length. */
size_t history_rec_encode(
    const struct ent_rec *r, uint8_t out[HISTORY_ENTITY_RECORD_BYTES]);

/* Decode any version the module reads. Returns 0 or ERR_CORRUPT. */
int history_rec_decode(const uint8_t *in, size_t len, struct ent_rec *r);

/* Count one event of counter `c` at `ts` in the rings. */
void history_rec_count(struct ent_rec *r, uint64_t ts, enum counter c);

/*
 * The C_ORDERS or C_SIGNUPS counts of `r` as of `ts` in each window of
 * enum history_win (history.h window semantics).
 */
void history_rec_windows(const struct ent_rec *r, uint64_t ts, enum counter c,
    uint32_t out[HW_COUNT]);

/* Which windows as of `ts` count one event at `ev_ts` (same rules). */
void history_rec_event_windows(uint64_t ev_ts, uint64_t ts, bool out[HW_COUNT]);

/*
 * The labels of `r` counted as of `ts` (those of UTC days before ts's):
 * fraud and legit counts, days from the end of the latest fraud label's
 * day to ts (-1 if none), and the sum over them of exp(-age / 30 d).
 */
void history_rec_labels(const struct ent_rec *r, uint64_t ts, uint32_t *fraud,
    uint32_t *legit, double *age_days, double *decay);

/* Note an event at `ts` by the account whose key hash is `acct`. */
void history_rec_seen_by(struct ent_rec *r, uint64_t ts, uint64_t acct);

/*
 * ms from the latest event by an account other than `own` at or before
 * `ts` to `ts`, or -1 when none is known.
 */
int64_t history_rec_gap(const struct ent_rec *r, uint64_t ts, uint64_t own);

/* Note a signup at `ts` on this entity (its clock minute). */
void history_rec_signup_minute(struct ent_rec *r, uint64_t ts);

/* Signups noted in clock minute `minute` (ts / 60000), or 0. */
uint32_t history_rec_signups_in(const struct ent_rec *r, uint64_t minute);

/* Distinct accounts but `own` (0: none), capped at `cap`. */
uint32_t history_rec_other_accounts(
    const struct ent_rec *r, uint64_t own, uint32_t cap);

/* Record that account hash `h` was seen with this entity. */
void history_rec_link(struct ent_rec *r, uint64_t h);

/* A fresh record of kind `k`. */
void history_rec_init(struct ent_rec *r, enum entity_kind k);

/* Note one event at `ts` naming this entity. */
void history_rec_touch(struct ent_rec *r, uint64_t ts);

/* The features of `r` as of `ts` (history.h window semantics). */
void history_rec_features(const struct ent_rec *r, enum entity_kind k,
    uint64_t ts, struct entity_features *f);

/* The features of an entity never seen. */
void history_rec_unknown(struct entity_features *f);

/* ---------------------------------------------- history.c (keys...) */

int history_actor_len(const char *actor, size_t *len);
int history_key_actor(
    struct ekey *k, int tag, const char *actor, const struct pseudo *id);
void history_key_bytes(
    struct ekey *k, enum entity_kind kind, const void *id, size_t len);
void history_cache_drop(struct history *h, const struct store_txn *txn);

/* Load an entity; *exists false (and r initialised) when absent. */
int history_ent_load(struct history *h, struct store_txn *txn,
    const struct ekey *k, enum entity_kind kind, struct ent_rec *r,
    bool *exists);
/* Store an entity record (the current version). */
int history_ent_store(struct history *h, struct store_txn *txn,
    const struct ekey *k, const struct ent_rec *r);
/* The entity keys `ev` names (absent ones: present false). */
int history_event_keys(
    const char *actor, const struct event *ev, struct ekey keys[ENT_COUNT]);

/* ---------------------------------------------------- history_model.c */

/*
 * The model's part of applying label `ev`: count it (fraud or legit, at
 * its event time) in the day ring of every non-account entity of the
 * labelled order `okeys` (NULL: no order record, nothing counted) and
 * in the counters of the IP country of account `acct` (may be NULL).
 */
int history_model_label(struct history *h, struct store_txn *txn,
    const char *actor, const struct event *ev, const struct ekey okeys[],
    const struct ekey *acct);
/* enum history_source of a signup's source field ("" none). */
uint8_t history_model_source(const char *source);

/*
 * The model's part of applying order `ev`: add its amount to the
 * store's running amount statistics (amt_z, amt_ratio), in arrival
 * order. Returns 0, ERR_CORRUPT or ERR_IO.
 */
int history_model_order(struct history *h, struct store_txn *txn,
    const char *actor, const struct event *ev);

/* ---------------------------------------------------- history_order.c */

int history_order_key(
    struct ekey *k, const char *actor, const struct pseudo *order);
size_t history_order_encode(const struct order_rec *o, uint8_t *out);
/* Load an order: 0, ERR_NOTFOUND, ERR_CORRUPT, ERR_IO. */
int history_order_load(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order, struct order_rec *o);

/* ----------------------------------------------------- history_link.c */

int history_link_load(struct history *h, struct store_txn *txn,
    const struct ekey *acct, struct link_list *l);
/* Add the event's non-account keys to the account's link list (and the
 * account to theirs); the lists of the keys in `fresh` (HISTORY_FRESH)
 * are not looked up: they are empty. */
int history_link_update(struct history *h, struct store_txn *txn,
    const struct ekey keys[ENT_COUNT], uint32_t fresh);
/* The link-database key of entity key `ent` (`len` bytes, not an
 * account's) account list: 'R' + the key. Returns 0 or ERR_INVAL. */
int history_link_rkey(struct ekey *rk, const uint8_t *ent, size_t len);
/* Take account key `acct` off the account list under link key `rk`
 * (deleted when it empties). Returns 0, ERR_INVAL, ERR_CORRUPT,
 * ERR_FULL or ERR_IO. */
int history_link_forget(struct history *h, struct store_txn *txn,
    const uint8_t *rk, size_t rklen, const uint8_t *acct, size_t alen);

/* --------------------------------------------------- history_review.c */

/* Queue order `order` (token) of `actor` placed at `ts`, unless queued
 * already or the queue is full (counted). Write txn. */
int history_review_add(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order, uint64_t ts);
/* Take it out of the queue; *removed says whether it was there. */
int history_review_remove(struct history *h, struct store_txn *txn,
    const char *actor, const struct pseudo *order, uint64_t ts, bool *removed);

#endif
