/*
 * history.c - the fraud history in LMDB and its point-in-time features
 *
 * Called by the scorer's main loop inside its long-lived write
 * transaction (features, apply, replies, applied_seq) and by queries in
 * read transactions. Per event it does a bounded number of point gets
 * and puts: at most 6 entities of the event, 6 of an order it refers to,
 * the order record, the account's link list (a label: up to
 * HISTORY_MAX_LINKS more). Records are fixed-size little-endian structs
 * decoded into plain C structs and encoded back.
 *
 * Invariants:
 *  - deterministic: no clock, no randomness; the same events in the same
 *    order give byte-identical databases, features and replies.
 *  - an entity record is a canonical version 2 record (at most
 *    HISTORY_ENTITY_RECORD_BYTES bytes, its length implied by its head)
 *    or a 504-byte version 1 record; anything else in the "entity" db is
 *    ERR_CORRUPT. Records are always written as version 2.
 *  - first_seen == 0 means "never seen by an event" (the record exists
 *    only because a label flagged it); valid event times are >= 2000.
 *  - the features -> apply cache (struct ev_cache) is used and changed
 *    only by calls with a write txn; read-txn callers (queries, in other
 *    threads) never touch it.
 *
 * See also: history.h (layout and window semantics), score.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/store.h"
#include "common/xmalloc.h"
#include "scorer/history.h"

#define ENT_VERSION   2 /* written; version 1 is still read */
#define ORDER_VERSION 3 /* 3: the event id and account as pseudonyms */
#define REPLY_VERSION 2 /* 2 leads with the event digest */
#define LINK_VERSION  1
#define ACC_SET       16 /* exact distinct-account hashes per entity */

#define F_FRAUD_SELF   0x01u /* labelled fraud itself (accounts) */
#define F_FRAUD_LINKED 0x02u /* linked to an account labelled fraud */
#define F_SIGNUP       0x04u /* signup_ts is set */
#define F_COUNTRY      0x08u /* country is set */

/* Byte offsets of the version 1 entity record (fixed 504 bytes). */
#define V1_OFF_VERSION  0
#define V1_OFF_KIND     1
#define V1_OFF_FLAGS    2
#define V1_OFF_NACC     3
#define V1_OFF_COUNTRY  4
#define V1_OFF_FIRST    8
#define V1_OFF_LAST     16
#define V1_OFF_SIGNUP   24
#define V1_OFF_ORDERS   32
#define V1_OFF_AMT_SUM  40
#define V1_OFF_AMT_MAX  48
#define V1_OFF_ACC_BITS 56
#define V1_OFF_ACC      64
#define V1_OFF_RING1    (V1_OFF_ACC + ACC_SET * 8)
#define RING1_SLOT      10 /* u32 epoch, u16 orders, failpay, faillogin */
#define V1_OFF_RING24   (V1_OFF_RING1 + HISTORY_BUCKETS_1H * RING1_SLOT)
#define RING24_SLOT     8 /* u32 epoch, u16 orders, failpay */
#define V1_BYTES        (V1_OFF_RING24 + HISTORY_BUCKETS_24H * RING24_SLOT)

/*
 * Version 2 (variable length, see history.h): a 26-byte head, then the
 * account part ('A': 30 bytes) or the distinct-account part (other
 * kinds: nacc hashes, plus the bitmap when nacc == ACC_SET), then the
 * non-empty slots of each ring in slot order.
 */
#define V2_HEAD         26
#define V2_ACCT_PART    30
#define V2_ACC_PART_MAX (ACC_SET * 8 + 8)
#define ENT_MAX_BYTES                                                          \
    (V2_HEAD + V2_ACC_PART_MAX + HISTORY_BUCKETS_1H * RING1_SLOT +             \
        HISTORY_BUCKETS_24H * RING24_SLOT)

_Static_assert(V1_BYTES == 504, "version 1 entity record is 504 bytes");
_Static_assert(ENT_MAX_BYTES == HISTORY_ENTITY_RECORD_BYTES,
    "entity record size changed: bump ENT_VERSION and the header");
_Static_assert(HISTORY_BUCKETS_1H <= 16 && HISTORY_BUCKETS_24H <= 32,
    "ring masks are u16 and u32");

/* Largest entity key: 'A' actor \0 account pseudonym. */
#define KEY_MAX (1 + EVENT_ID_MAX + 1 + PSEUDO_BYTES)
/* The kind byte of each entity key, by enum entity_kind. */
static const uint8_t kind_byte[ENT_COUNT] = { 'A', 'D', 'I', 'P', 'C', 'E' };
/* For log lines (score_entity_name() lives in score.c). */
static const char *const kind_name[ENT_COUNT] = { "account", "device", "ip",
    "ip24", "card", "email" };

enum counter { C_ORDERS, C_FAILPAY, C_FAILLOGIN };

struct ring1_slot {
    uint32_t epoch;
    uint16_t orders, failpay, faillogin;
};

struct ring24_slot {
    uint32_t epoch;
    uint16_t orders, failpay;
};

/* One decoded entity record. */
struct ent_rec {
    uint8_t kind;
    uint8_t flags;
    uint8_t nacc;
    char country[3];
    uint64_t first_seen; /* 0: never seen by an event */
    uint64_t last_seen;
    uint64_t signup_ts;
    uint32_t order_count;
    uint64_t amount_sum;
    uint64_t amount_max;
    uint64_t acc_bits; /* overflow accounts, linear counting */
    uint64_t acc[ACC_SET];
    struct ring1_slot r1[HISTORY_BUCKETS_1H];
    struct ring24_slot r24[HISTORY_BUCKETS_24H];
};

struct ekey {
    bool present;
    size_t len;
    uint8_t b[KEY_MAX];
};

/* The entities one history_apply() touches, loaded once, stored once. */
#define WS_MAX (2 * ENT_COUNT)
struct workset {
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

/* ------------------------------------------------------ byte helpers */

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
sat16_inc(uint16_t *v)
{
    if (*v < UINT16_MAX)
        (*v)++;
}

static bool
ts_ok(uint64_t ts)
{
    return ts >= EVENT_MIN_TS && ts <= EVENT_MAX_TS;
}

/* 64-bit FNV-1a with a final avalanche (splitmix64). */
static uint64_t
hash64(const uint8_t *p, size_t len)
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

/* ------------------------------------------------------ entity codec */

static bool
slot1_empty(const struct ring1_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->failpay == 0 &&
        x->faillogin == 0;
}

static bool
slot24_empty(const struct ring24_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->failpay == 0;
}

/* Encode `r` as a version 2 record into `out`; returns its length. */
static size_t
ent_encode(const struct ent_rec *r, uint8_t out[ENT_MAX_BYTES])
{
    uint32_t m1 = 0, m24 = 0;
    size_t n;
    unsigned i;

    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!slot1_empty(&r->r1[i]))
            m1 |= 1u << i;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!slot24_empty(&r->r24[i]))
            m24 |= 1u << i;
    }
    out[0] = ENT_VERSION;
    out[1] = r->kind;
    out[2] = r->flags;
    out[3] = r->nacc;
    put64(out + 4, r->first_seen);
    put64(out + 12, r->last_seen);
    put16(out + 20, (uint16_t)m1);
    put32(out + 22, m24);
    n = V2_HEAD;
    if (r->kind == 'A') {
        memcpy(out + n, r->country, 2);
        put64(out + n + 2, r->signup_ts);
        put32(out + n + 10, r->order_count);
        put64(out + n + 14, r->amount_sum);
        put64(out + n + 22, r->amount_max);
        n += V2_ACCT_PART;
    } else {
        for (i = 0; i < r->nacc; i++, n += 8)
            put64(out + n, r->acc[i]);
        if (r->nacc == ACC_SET) {
            put64(out + n, r->acc_bits);
            n += 8;
        }
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m1 & (1u << i)))
            continue;
        put32(out + n, r->r1[i].epoch);
        put16(out + n + 4, r->r1[i].orders);
        put16(out + n + 6, r->r1[i].failpay);
        put16(out + n + 8, r->r1[i].faillogin);
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m24 & (1u << i)))
            continue;
        put32(out + n, r->r24[i].epoch);
        put16(out + n + 4, r->r24[i].orders);
        put16(out + n + 6, r->r24[i].failpay);
        n += RING24_SLOT;
    }
    return n;
}

static bool
kind_byte_ok(uint8_t b)
{
    unsigned k;

    for (k = 0; k < ENT_COUNT; k++) {
        if (kind_byte[k] == b)
            return true;
    }
    return false;
}

/* Decode a version 2 record (strict: canonical and exactly `len`). */
static int
ent_decode_v2(const uint8_t *in, size_t len, struct ent_rec *r)
{
    uint32_t m1, m24;
    size_t n, need;
    unsigned i;

    if (len < V2_HEAD || !kind_byte_ok(in[1]) || in[3] > ACC_SET ||
        (in[1] == 'A' && in[3] != 0))
        return ERR_CORRUPT;
    m1 = get16(in + 20);
    m24 = get32(in + 22);
    if ((m1 >> HISTORY_BUCKETS_1H) != 0 || (m24 >> HISTORY_BUCKETS_24H) != 0)
        return ERR_CORRUPT;
    need = V2_HEAD +
        (in[1] == 'A' ? V2_ACCT_PART :
                        8u * in[3] + (in[3] == ACC_SET ? 8u : 0u)) +
        (size_t)__builtin_popcount(m1) * RING1_SLOT +
        (size_t)__builtin_popcount(m24) * RING24_SLOT;
    if (len != need)
        return ERR_CORRUPT;
    memset(r, 0, sizeof(*r));
    r->kind = in[1];
    r->flags = in[2];
    r->nacc = in[3];
    r->first_seen = get64(in + 4);
    r->last_seen = get64(in + 12);
    n = V2_HEAD;
    if (r->kind == 'A') {
        memcpy(r->country, in + n, 2);
        r->signup_ts = get64(in + n + 2);
        r->order_count = get32(in + n + 10);
        r->amount_sum = get64(in + n + 14);
        r->amount_max = get64(in + n + 22);
        n += V2_ACCT_PART;
    } else {
        for (i = 0; i < r->nacc; i++, n += 8)
            r->acc[i] = get64(in + n);
        if (r->nacc == ACC_SET) {
            r->acc_bits = get64(in + n);
            n += 8;
        }
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m1 & (1u << i)))
            continue;
        r->r1[i].epoch = get32(in + n);
        r->r1[i].orders = get16(in + n + 4);
        r->r1[i].failpay = get16(in + n + 6);
        r->r1[i].faillogin = get16(in + n + 8);
        if (slot1_empty(&r->r1[i]))
            return ERR_CORRUPT; /* not canonical */
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m24 & (1u << i)))
            continue;
        r->r24[i].epoch = get32(in + n);
        r->r24[i].orders = get16(in + n + 4);
        r->r24[i].failpay = get16(in + n + 6);
        if (slot24_empty(&r->r24[i]))
            return ERR_CORRUPT;
        n += RING24_SLOT;
    }
    return 0;
}

/* Decode a version 1 record (fixed 504 bytes; rewritten as version 2
 * the next time the entity is stored). */
static int
ent_decode_v1(const uint8_t *in, size_t len, struct ent_rec *r)
{
    const uint8_t *p;
    unsigned i;

    if (len != V1_BYTES || in[V1_OFF_NACC] > ACC_SET)
        return ERR_CORRUPT;
    memset(r, 0, sizeof(*r));
    r->kind = in[V1_OFF_KIND];
    r->flags = in[V1_OFF_FLAGS];
    r->nacc = in[V1_OFF_NACC];
    memcpy(r->country, in + V1_OFF_COUNTRY, 2);
    r->first_seen = get64(in + V1_OFF_FIRST);
    r->last_seen = get64(in + V1_OFF_LAST);
    r->signup_ts = get64(in + V1_OFF_SIGNUP);
    r->order_count = get32(in + V1_OFF_ORDERS);
    r->amount_sum = get64(in + V1_OFF_AMT_SUM);
    r->amount_max = get64(in + V1_OFF_AMT_MAX);
    r->acc_bits = get64(in + V1_OFF_ACC_BITS);
    for (i = 0; i < ACC_SET; i++)
        r->acc[i] = get64(in + V1_OFF_ACC + 8 * i);
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        p = in + V1_OFF_RING1 + RING1_SLOT * i;
        r->r1[i].epoch = get32(p);
        r->r1[i].orders = get16(p + 4);
        r->r1[i].failpay = get16(p + 6);
        r->r1[i].faillogin = get16(p + 8);
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        p = in + V1_OFF_RING24 + RING24_SLOT * i;
        r->r24[i].epoch = get32(p);
        r->r24[i].orders = get16(p + 4);
        r->r24[i].failpay = get16(p + 6);
    }
    /* What version 2 cannot hold was never written by version 1. */
    if (!kind_byte_ok(r->kind) ||
        (r->kind == 'A' ? r->nacc != 0 || r->acc_bits != 0 :
                          r->signup_ts != 0 || r->order_count != 0 ||
                    r->amount_sum != 0 || r->amount_max != 0 ||
                    (r->flags & (F_SIGNUP | F_COUNTRY)) != 0) ||
        (r->nacc < ACC_SET && r->acc_bits != 0))
        return ERR_CORRUPT;
    for (i = r->nacc; i < ACC_SET; i++) {
        if (r->acc[i] != 0)
            return ERR_CORRUPT;
    }
    return 0;
}

static int
ent_decode(const uint8_t *in, size_t len, struct ent_rec *r)
{
    if (len < 1)
        return ERR_CORRUPT;
    if (in[0] == ENT_VERSION)
        return ent_decode_v2(in, len, r);
    if (in[0] == 1)
        return ent_decode_v1(in, len, r);
    return ERR_CORRUPT;
}

/* ------------------------------------------------ rings and counters */

static void
ring_add(struct ent_rec *r, uint64_t ts, enum counter c)
{
    uint32_t e1 = (uint32_t)(ts / HISTORY_BUCKET_1H_MS);
    uint32_t e24 = (uint32_t)(ts / HISTORY_BUCKET_24H_MS);
    struct ring1_slot *s1 = &r->r1[e1 % HISTORY_BUCKETS_1H];
    struct ring24_slot *s24 = &r->r24[e24 % HISTORY_BUCKETS_24H];

    /* A slot holding a newer epoch (>= e + N) wins: drop the event. */
    if (s1->epoch < e1) {
        memset(s1, 0, sizeof(*s1));
        s1->epoch = e1;
    }
    if (s1->epoch == e1) {
        if (c == C_ORDERS)
            sat16_inc(&s1->orders);
        else if (c == C_FAILPAY)
            sat16_inc(&s1->failpay);
        else
            sat16_inc(&s1->faillogin);
    }
    if (c == C_FAILLOGIN)
        return; /* no 24h window for failed logins */
    if (s24->epoch < e24) {
        memset(s24, 0, sizeof(*s24));
        s24->epoch = e24;
    }
    if (s24->epoch == e24) {
        if (c == C_ORDERS)
            sat16_inc(&s24->orders);
        else
            sat16_inc(&s24->failpay);
    }
}

/* Is epoch `e` within the N buckets ending at `cur`: cur - N < e <= cur? */
static bool
epoch_in(uint32_t e, uint64_t cur, unsigned n)
{
    return e <= cur && (uint64_t)e + n > cur;
}

static uint32_t
ring1_sum(const struct ent_rec *r, uint64_t ts, enum counter c)
{
    uint64_t cur = ts / HISTORY_BUCKET_1H_MS;
    uint32_t sum = 0;
    unsigned i;

    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!epoch_in(r->r1[i].epoch, cur, HISTORY_BUCKETS_1H))
            continue;
        sum += c == C_ORDERS ? r->r1[i].orders :
            c == C_FAILPAY   ? r->r1[i].failpay :
                               r->r1[i].faillogin;
    }
    return sum;
}

static uint32_t
ring24_sum(const struct ent_rec *r, uint64_t ts, enum counter c)
{
    uint64_t cur = ts / HISTORY_BUCKET_24H_MS;
    uint32_t sum = 0;
    unsigned i;

    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!epoch_in(r->r24[i].epoch, cur, HISTORY_BUCKETS_24H))
            continue;
        sum += c == C_ORDERS ? r->r24[i].orders : r->r24[i].failpay;
    }
    return sum;
}

/* Record that account `h` was seen with this entity. */
static void
acc_link(struct ent_rec *r, uint64_t h)
{
    unsigned i;

    for (i = 0; i < r->nacc; i++) {
        if (r->acc[i] == h)
            return;
    }
    if (r->nacc < ACC_SET) {
        r->acc[r->nacc++] = h;
        return;
    }
    r->acc_bits |= 1ULL << (h >> 58);
}

/* Distinct accounts: exact up to ACC_SET, then a linear-counting
 * estimate of the overflow from its 64-bit bitmap. */
static uint32_t
acc_count(const struct ent_rec *r)
{
    unsigned zeros;
    double est;

    if (r->acc_bits == 0)
        return r->nacc;
    zeros = 64u - (unsigned)__builtin_popcountll(r->acc_bits);
    if (zeros == 0)
        return HISTORY_MAX_ACCOUNTS;
    est = ACC_SET + 64.0 * log(64.0 / (double)zeros) + 0.5;
    if (est >= (double)HISTORY_MAX_ACCOUNTS)
        return HISTORY_MAX_ACCOUNTS;
    return (uint32_t)est;
}

static void
ent_init(struct ent_rec *r, enum entity_kind k)
{
    memset(r, 0, sizeof(*r));
    r->kind = kind_byte[k];
}

/* Note one event at `ts` naming this entity. */
static void
ent_touch(struct ent_rec *r, uint64_t ts)
{
    if (r->first_seen == 0 || ts < r->first_seen)
        r->first_seen = ts;
    if (ts > r->last_seen)
        r->last_seen = ts;
}

static void
ent_features(const struct ent_rec *r, enum entity_kind k, uint64_t ts,
    struct entity_features *f)
{
    f->present = true;
    f->known = r->first_seen != 0 && r->first_seen <= ts;
    f->age_ms = f->known ? (int64_t)(ts - r->first_seen) : -1;
    f->orders_1h = ring1_sum(r, ts, C_ORDERS);
    f->failed_pay_1h = ring1_sum(r, ts, C_FAILPAY);
    f->failed_login_1h = ring1_sum(r, ts, C_FAILLOGIN);
    f->orders_24h = ring24_sum(r, ts, C_ORDERS);
    f->failed_pay_24h = ring24_sum(r, ts, C_FAILPAY);
    f->accounts = k == ENT_ACCOUNT ? 0 : acc_count(r);
    f->fraud_linked = (r->flags & (F_FRAUD_SELF | F_FRAUD_LINKED)) != 0;
}

static void
ent_features_unknown(struct entity_features *f)
{
    memset(f, 0, sizeof(*f));
    f->present = true;
    f->age_ms = -1;
}

/* ------------------------------------------------------------- keys */

static int
actor_len(const char *actor, size_t *len)
{
    *len = strnlen(actor, EVENT_ID_MAX + 1);
    return *len > EVENT_ID_MAX ? ERR_INVAL : 0;
}

/*
 * Build `tag` actor \0 `id` into k (used for accounts, orders, replies):
 * `id` is the storefront-scoped pseudonym of the account, order or
 * event id (pseudo.h).
 */
static int
key_actor(struct ekey *k, int tag, const char *actor, const struct pseudo *id)
{
    size_t al, il = PSEUDO_BYTES;
    size_t o = 0;

    if (actor_len(actor, &al) != 0)
        return ERR_INVAL;
    if (tag >= 0)
        k->b[o++] = (uint8_t)tag;
    memcpy(k->b + o, actor, al);
    o += al;
    k->b[o++] = 0;
    memcpy(k->b + o, id->b, il);
    o += il;
    k->len = o;
    k->present = true;
    return 0;
}

static void
key_bytes(struct ekey *k, enum entity_kind kind, const void *id, size_t len)
{
    k->b[0] = kind_byte[kind];
    memcpy(k->b + 1, id, len);
    k->len = 1 + len;
    k->present = true;
}

/* The entity keys `ev` names. */
static int
event_keys(
    const char *actor, const struct event *ev, struct ekey keys[ENT_COUNT])
{
    int rc;

    memset(keys, 0, sizeof(*keys) * ENT_COUNT);
    if (ev->has & EVENT_HAS_ACCOUNT) {
        rc = key_actor(&keys[ENT_ACCOUNT], 'A', actor, &ev->account);
        if (rc != 0)
            return rc;
    }
    if (ev->has & EVENT_HAS_DEVICE)
        key_bytes(&keys[ENT_DEVICE], ENT_DEVICE, ev->device.b, PSEUDO_BYTES);
    if (ev->has & EVENT_HAS_IP) {
        key_bytes(&keys[ENT_IP], ENT_IP, ev->ip.b, PSEUDO_BYTES);
        key_bytes(&keys[ENT_IP24], ENT_IP24, ev->ip24.b, PSEUDO_BYTES);
    }
    if (ev->has & EVENT_HAS_CARD)
        key_bytes(&keys[ENT_CARD], ENT_CARD, ev->card.b, PSEUDO_BYTES);
    if (ev->has & EVENT_HAS_EMAIL)
        key_bytes(&keys[ENT_EMAIL], ENT_EMAIL, ev->email.b, PSEUDO_BYTES);
    return 0;
}

static enum entity_kind
kind_of_byte(uint8_t b, bool *ok)
{
    unsigned k;

    for (k = 0; k < ENT_COUNT; k++) {
        if (kind_byte[k] == b) {
            *ok = true;
            return (enum entity_kind)k;
        }
    }
    *ok = false;
    return ENT_ACCOUNT;
}

/* ----------------------------------------------------- entity access */

/* Load an entity; *exists false (and r initialised) when absent. */
static int
ent_load(struct history *h, struct store_txn *txn, const struct ekey *k,
    enum entity_kind kind, struct ent_rec *r, bool *exists)
{
    const void *v;
    size_t vlen;
    int rc;

    rc = store_get_view(txn, h->dbi_entity, k->b, k->len, &v, &vlen);
    if (rc == ERR_NOTFOUND) {
        ent_init(r, kind);
        *exists = false;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = ent_decode(v, vlen, r);
    if (rc != 0) {
        log_warnx("%s: undecodable %s record", __func__, kind_name[kind]);
        return rc;
    }
    *exists = true;
    return 0;
}

static int
ent_store(struct history *h, struct store_txn *txn, const struct ekey *k,
    const struct ent_rec *r)
{
    uint8_t buf[ENT_MAX_BYTES];
    size_t n;

    n = ent_encode(r, buf);
    return store_put(txn, h->dbi_entity, k->b, k->len, buf, n);
}

static int
ws_get(struct history *h, struct store_txn *txn, struct workset *ws,
    const struct ekey *k, enum entity_kind kind, struct ent_rec **out)
{
    bool exists;
    unsigned i;
    int rc;

    for (i = 0; i < ws->n; i++) {
        if (ws->s[i].key.len == k->len &&
            memcmp(ws->s[i].key.b, k->b, k->len) == 0) {
            *out = &ws->s[i].rec;
            return 0;
        }
    }
    if (ws->n == WS_MAX)
        return ERR_INVAL; /* cannot happen: at most 2 * ENT_COUNT keys */
    i = ws->n;
    rc = ent_load(h, txn, k, kind, &ws->s[i].rec, &exists);
    if (rc != 0)
        return rc;
    ws->s[i].key = *k;
    ws->s[i].kind = kind;
    ws->s[i].dirty = true;
    ws->n++;
    *out = &ws->s[i].rec;
    return 0;
}

static int
ws_flush(struct history *h, struct store_txn *txn, struct workset *ws)
{
    unsigned i;
    int rc;

    for (i = 0; i < ws->n; i++) {
        if (!ws->s[i].dirty)
            continue;
        rc = ent_store(h, txn, &ws->s[i].key, &ws->s[i].rec);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Forget the features -> apply cache (write txns only: see ev_cache). */
static void
cache_drop(struct history *h, const struct store_txn *txn)
{
    if (store_txn_is_write(txn))
        h->cache.valid = false;
}

/*
 * Seed `ws` with the records history_features() read for this very event
 * (same txn, id, ts and keys), then drop the cache in any case.
 */
static void
cache_take(struct history *h, const struct store_txn *txn,
    const struct event *ev, const struct ekey keys[ENT_COUNT],
    struct workset *ws)
{
    struct ev_cache *c = &h->cache;
    unsigned k;
    bool hit;

    hit = c->valid && c->txn == txn && c->ts == ev->ts &&
        memcmp(c->id.b, ev->id.b, PSEUDO_BYTES) == 0;
    for (k = 0; hit && k < ENT_COUNT; k++) {
        hit = c->keys[k].present == keys[k].present &&
            (!keys[k].present ||
                (c->keys[k].len == keys[k].len &&
                    memcmp(c->keys[k].b, keys[k].b, keys[k].len) == 0));
    }
    c->valid = false;
    if (!hit)
        return;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        ws->s[ws->n].key = keys[k];
        ws->s[ws->n].kind = (enum entity_kind)k;
        ws->s[ws->n].rec = c->rec[k];
        ws->s[ws->n].dirty = true;
        ws->n++;
    }
}

/* Set `flag` on one entity (creating a label-only record if absent). */
static int
ent_flag(struct history *h, struct store_txn *txn, const struct ekey *k,
    uint8_t flag)
{
    struct ent_rec r;
    enum entity_kind kind;
    bool exists, ok;
    int rc;

    kind = kind_of_byte(k->b[0], &ok);
    if (!ok)
        return ERR_CORRUPT;
    rc = ent_load(h, txn, k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    if (exists && (r.flags & flag) == flag)
        return 0;
    r.flags |= flag;
    return ent_store(h, txn, k, &r);
}

/* ------------------------------------------------------------ orders */

static int
order_key(struct ekey *k, const char *actor, const struct pseudo *order)
{
    return key_actor(k, -1, actor, order);
}

static size_t
order_encode(const struct order_rec *o, uint8_t *out)
{
    size_t n = 0;
    unsigned k;
    uint8_t mask = 0;

    out[n++] = ORDER_VERSION;
    out[n++] = o->has_score;
    out[n++] = o->score;
    out[n++] = o->decision;
    put64(out + n, o->ts);
    n += 8;
    put64(out + n, o->amount);
    n += 8;
    memcpy(out + n, o->event_id.b, PSEUDO_BYTES);
    n += PSEUDO_BYTES;
    for (k = 0; k < ENT_COUNT; k++) {
        if (o->keys[k].present)
            mask |= (uint8_t)(1u << k);
    }
    out[n++] = mask;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!o->keys[k].present)
            continue;
        out[n++] = (uint8_t)o->keys[k].len;
        memcpy(out + n, o->keys[k].b, o->keys[k].len);
        n += o->keys[k].len;
    }
    return n;
}

#define ORDER_MAX_BYTES (21 + PSEUDO_BYTES + ENT_COUNT * (1 + KEY_MAX))

static int
order_decode(const uint8_t *in, size_t len, struct order_rec *o)
{
    size_t n = 0, kl;
    unsigned k;
    uint8_t mask;

    memset(o, 0, sizeof(*o));
    if (len < 21 + PSEUDO_BYTES || in[0] != ORDER_VERSION || in[1] > 1 ||
        in[3] > REPLY_DECISION_BLOCK)
        return ERR_CORRUPT;
    o->has_score = in[1] != 0;
    o->score = in[2];
    o->decision = in[3];
    o->ts = get64(in + 4);
    o->amount = get64(in + 12);
    n = 20;
    memcpy(o->event_id.b, in + n, PSEUDO_BYTES);
    n += PSEUDO_BYTES;
    mask = in[n++];
    for (k = 0; k < ENT_COUNT; k++) {
        if (!(mask & (1u << k)))
            continue;
        if (n >= len)
            return ERR_CORRUPT;
        kl = in[n++];
        if (kl < 2 || kl > KEY_MAX || kl > len - n || in[n] != kind_byte[k])
            return ERR_CORRUPT;
        memcpy(o->keys[k].b, in + n, kl);
        o->keys[k].len = kl;
        o->keys[k].present = true;
        n += kl;
    }
    if (n != len || (mask >> ENT_COUNT) != 0)
        return ERR_CORRUPT;
    return 0;
}

/* Load order `order` of `actor`: 0, ERR_NOTFOUND, ERR_CORRUPT, ERR_IO. */
static int
order_load(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, struct order_rec *o)
{
    struct ekey k;
    const void *v;
    size_t vlen;
    int rc;

    rc = order_key(&k, actor, order);
    if (rc != 0)
        return rc;
    rc = store_get_view(txn, h->dbi_order, k.b, k.len, &v, &vlen);
    if (rc != 0)
        return rc;
    rc = order_decode(v, vlen, o);
    if (rc != 0)
        log_warnx("%s: undecodable order record", __func__);
    return rc;
}

/* -------------------------------------------------------- link lists */

#define LINK_MAX_BYTES (2 + HISTORY_MAX_LINKS * (1 + KEY_MAX))

struct link_list {
    unsigned n;
    struct ekey keys[HISTORY_MAX_LINKS];
};

static int
link_load(struct history *h, struct store_txn *txn, const struct ekey *acct,
    struct link_list *l)
{
    const uint8_t *p;
    const void *v;
    size_t vlen, n, kl;
    unsigned i;
    int rc;

    l->n = 0;
    rc = store_get_view(txn, h->dbi_link, acct->b, acct->len, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    p = v;
    if (vlen < 2 || p[0] != LINK_VERSION || p[1] > HISTORY_MAX_LINKS)
        goto bad;
    n = 2;
    for (i = 0; i < p[1]; i++) {
        if (n >= vlen)
            goto bad;
        kl = p[n++];
        if (kl < 2 || kl > KEY_MAX || kl > vlen - n)
            goto bad;
        memcpy(l->keys[i].b, p + n, kl);
        l->keys[i].len = kl;
        l->keys[i].present = true;
        n += kl;
    }
    if (n != vlen)
        goto bad;
    l->n = p[1];
    return 0;
bad:
    log_warnx("%s: undecodable link list", __func__);
    return ERR_CORRUPT;
}

/* Add the event's non-account keys to the account's link list. */
static int
link_update(
    struct history *h, struct store_txn *txn, const struct ekey keys[ENT_COUNT])
{
    struct link_list *l;
    uint8_t *out;
    bool changed = false, found;
    size_t n;
    unsigned k, i;
    int rc;

    l = xmalloc(sizeof(*l));
    rc = link_load(h, txn, &keys[ENT_ACCOUNT], l);
    if (rc != 0)
        goto done;
    for (k = 1; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        found = false;
        for (i = 0; i < l->n && !found; i++)
            found = l->keys[i].len == keys[k].len &&
                memcmp(l->keys[i].b, keys[k].b, keys[k].len) == 0;
        if (found)
            continue;
        if (l->n == HISTORY_MAX_LINKS) {
            memmove(l->keys, l->keys + 1, (l->n - 1) * sizeof(l->keys[0]));
            l->n--;
        }
        l->keys[l->n++] = keys[k];
        changed = true;
    }
    if (!changed)
        goto done;
    out = xmalloc(LINK_MAX_BYTES);
    out[0] = LINK_VERSION;
    out[1] = (uint8_t)l->n;
    n = 2;
    for (i = 0; i < l->n; i++) {
        out[n++] = (uint8_t)l->keys[i].len;
        memcpy(out + n, l->keys[i].b, l->keys[i].len);
        n += l->keys[i].len;
    }
    rc = store_put(
        txn, h->dbi_link, keys[ENT_ACCOUNT].b, keys[ENT_ACCOUNT].len, out, n);
    free(out);
done:
    free(l);
    return rc;
}

/* -------------------------------------------------------------- open */

int
history_open(struct store *st, struct history **out)
{
    static const char *const names[HISTORY_DBS] = { "entity", "link", "order",
        "reply", "meta" };
    struct store_txn *txn;
    struct history *h;
    unsigned *dbis[HISTORY_DBS];
    unsigned i;
    bool create = true;
    int rc;

    *out = NULL;
    h = xcalloc(1, sizeof(*h));
    h->st = st;
    dbis[0] = &h->dbi_entity;
    dbis[1] = &h->dbi_link;
    dbis[2] = &h->dbi_order;
    dbis[3] = &h->dbi_reply;
    dbis[4] = &h->dbi_meta;
    /* A read-only store (tools): open the existing databases only. */
    rc = store_txn_begin(st, true, &txn);
    if (rc == ERR_INVAL) {
        create = false;
        rc = store_txn_begin(st, false, &txn);
    }
    if (rc != 0)
        goto fail;
    for (i = 0; i < HISTORY_DBS; i++) {
        rc = store_dbi(st, txn, names[i], create, dbis[i]);
        if (rc != 0) {
            store_txn_abort(txn);
            goto fail;
        }
    }
    rc = store_txn_commit(txn);
    if (rc != 0)
        goto fail;
    *out = h;
    return 0;
fail:
    free(h);
    return rc;
}

void
history_close(struct history *h)
{
    free(h);
}

/* ----------------------------------------------------------- replies */

/* Size of the longest encoded reply. */
#define REPLY_MAX_BYTES                                                        \
    (10 + HISTORY_DIGEST_BYTES + REPLY_MSG_MAX +                               \
        REPLY_MAX_REASONS *                                                    \
            (2 + REPLY_REASON_CODE_MAX + REPLY_REASON_TEXT_MAX + 8))

static size_t
stored_reply_encode(const uint8_t digest[HISTORY_DIGEST_BYTES],
    const struct reply *r, uint8_t *out)
{
    size_t n = 0, l;
    uint64_t bits;
    unsigned i, nr;

    out[n++] = REPLY_VERSION;
    memcpy(out + n, digest, HISTORY_DIGEST_BYTES);
    n += HISTORY_DIGEST_BYTES;
    put32(out + n, (uint32_t)r->code);
    n += 4;
    out[n++] = r->has_score ? 1 : 0;
    out[n++] = r->score;
    out[n++] = (uint8_t)r->decision;
    nr = r->nreasons > REPLY_MAX_REASONS ? REPLY_MAX_REASONS : r->nreasons;
    out[n++] = (uint8_t)nr;
    l = strnlen(r->msg, REPLY_MSG_MAX);
    out[n++] = (uint8_t)l;
    memcpy(out + n, r->msg, l);
    n += l;
    for (i = 0; i < nr; i++) {
        l = strnlen(r->reasons[i].code, REPLY_REASON_CODE_MAX);
        out[n++] = (uint8_t)l;
        memcpy(out + n, r->reasons[i].code, l);
        n += l;
        l = strnlen(r->reasons[i].text, REPLY_REASON_TEXT_MAX);
        out[n++] = (uint8_t)l;
        memcpy(out + n, r->reasons[i].text, l);
        n += l;
        memcpy(&bits, &r->reasons[i].value, sizeof(bits));
        put64(out + n, bits);
        n += 8;
    }
    return n;
}

/* Copy a length-prefixed string of at most `max` bytes into `dst`. */
static int
take_str(const uint8_t *in, size_t len, size_t *n, char *dst, size_t max)
{
    size_t l;

    if (*n >= len)
        return ERR_CORRUPT;
    l = in[(*n)++];
    if (l > max || l > len - *n || memchr(in + *n, 0, l) != NULL)
        return ERR_CORRUPT;
    memcpy(dst, in + *n, l);
    dst[l] = '\0';
    *n += l;
    return 0;
}

static int
stored_reply_decode(const uint8_t *in, size_t len,
    uint8_t digest[HISTORY_DIGEST_BYTES], struct reply *r)
{
    const size_t d = HISTORY_DIGEST_BYTES;
    uint64_t bits;
    size_t n;
    unsigned i;
    int32_t code;

    if (len < 10 + d || in[0] != REPLY_VERSION || in[5 + d] > 1 ||
        in[7 + d] > REPLY_DECISION_BLOCK || in[8 + d] > REPLY_MAX_REASONS)
        return ERR_CORRUPT;
    memcpy(digest, in + 1, d);
    code = (int32_t)get32(in + 1 + d);
    if (code > 0)
        return ERR_CORRUPT;
    r->code = code;
    r->has_score = in[5 + d] != 0;
    r->score = in[6 + d];
    r->decision = (enum reply_decision)in[7 + d];
    r->nreasons = in[8 + d];
    n = 9 + d;
    if (take_str(in, len, &n, r->msg, REPLY_MSG_MAX) != 0)
        return ERR_CORRUPT;
    for (i = 0; i < r->nreasons; i++) {
        if (take_str(in, len, &n, r->reasons[i].code, REPLY_REASON_CODE_MAX) !=
                0 ||
            take_str(in, len, &n, r->reasons[i].text, REPLY_REASON_TEXT_MAX) !=
                0 ||
            len - n < 8)
            return ERR_CORRUPT;
        bits = get64(in + n);
        memcpy(&r->reasons[i].value, &bits, sizeof(bits));
        n += 8;
    }
    return n == len ? 0 : ERR_CORRUPT;
}

int
history_reply_get(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *event_id, uint8_t digest[HISTORY_DIGEST_BYTES],
    struct reply *out)
{
    uint8_t d[HISTORY_DIGEST_BYTES];
    struct ekey k;
    const void *v;
    size_t vlen;
    int rc;

    cache_drop(h, txn);
    rc = key_actor(&k, -1, actor, event_id);
    if (rc != 0)
        return rc;
    rc = store_get_view(txn, h->dbi_reply, k.b, k.len, &v, &vlen);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    rc = stored_reply_decode(v, vlen, digest != NULL ? digest : d, out);
    if (rc != 0) {
        log_warnx("%s: undecodable stored reply", __func__);
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return 0;
}

int
history_reply_put(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *event_id, const uint8_t digest[HISTORY_DIGEST_BYTES],
    const struct reply *r)
{
    uint8_t buf[REPLY_MAX_BYTES];
    struct ekey k;
    size_t n;
    int rc;

    cache_drop(h, txn);
    if (r->code > 0 || r->decision > REPLY_DECISION_BLOCK ||
        r->nreasons > REPLY_MAX_REASONS)
        return ERR_INVAL;
    rc = key_actor(&k, -1, actor, event_id);
    if (rc != 0)
        return rc;
    n = stored_reply_encode(digest, r, buf);
    return store_put(txn, h->dbi_reply, k.b, k.len, buf, n);
}

/* ---------------------------------------------------------- features */

int
history_features(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, struct features *out)
{
    struct ekey keys[ENT_COUNT];
    struct ev_cache *c = &h->cache;
    struct ent_rec local;
    const struct ent_rec *r;
    unsigned k;
    bool exists, keep;
    int rc;

    keep = store_txn_is_write(txn);
    if (keep)
        c->valid = false;
    memset(out, 0, sizeof(*out));
    out->account_age_ms = -1;
    for (k = 0; k < ENT_COUNT; k++)
        out->ent[k].age_ms = -1;
    if (!ts_ok(ev->ts))
        return ERR_INVAL;
    rc = event_keys(actor, ev, keys);
    if (rc != 0)
        return rc;
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        /* In a write txn, read straight into the cache for apply. */
        r = keep ? &c->rec[k] : &local;
        rc = ent_load(h, txn, &keys[k], (enum entity_kind)k,
            keep ? &c->rec[k] : &local, &exists);
        if (rc != 0)
            return rc;
        if (keep)
            c->exists[k] = exists;
        if (!exists) {
            ent_features_unknown(&out->ent[k]);
            continue;
        }
        ent_features(r, (enum entity_kind)k, ev->ts, &out->ent[k]);
        if (k != ENT_ACCOUNT)
            continue;
        if ((r->flags & F_SIGNUP) && r->signup_ts <= ev->ts)
            out->account_age_ms = (int64_t)(ev->ts - r->signup_ts);
        out->account_orders = r->order_count;
        out->account_amount_mean =
            r->order_count ? r->amount_sum / r->order_count : 0;
        out->account_amount_max = r->amount_max;
        if (r->flags & F_COUNTRY)
            memcpy(out->account_country, r->country, 3);
    }
    if (keep) {
        memcpy(c->keys, keys, sizeof(c->keys));
        c->txn = txn;
        c->ts = ev->ts;
        c->id = ev->id;
        c->valid = true;
    }
    return 0;
}

int
history_entity_features(struct history *h, struct store_txn *txn,
    const char *actor, enum entity_kind kind, const void *id, size_t idlen,
    uint64_t ts, struct entity_features *out)
{
    struct ekey k;
    struct ent_rec r;
    struct pseudo acct;
    bool exists;
    int rc;

    cache_drop(h, txn);
    memset(out, 0, sizeof(*out));
    out->age_ms = -1;
    if (!ts_ok(ts) || (unsigned)kind >= ENT_COUNT)
        return ERR_INVAL;
    switch (kind) {
    case ENT_ACCOUNT:
        if (idlen != PSEUDO_BYTES)
            return ERR_INVAL;
        memcpy(acct.b, id, PSEUDO_BYTES);
        rc = key_actor(&k, 'A', actor, &acct);
        if (rc != 0)
            return rc;
        break;
    default:
        if (idlen != PSEUDO_BYTES)
            return ERR_INVAL;
        key_bytes(&k, kind, id, idlen);
        break;
    }
    rc = ent_load(h, txn, &k, kind, &r, &exists);
    if (rc != 0)
        return rc;
    if (!exists)
        ent_features_unknown(out);
    else
        ent_features(&r, kind, ts, out);
    return 0;
}

/* ------------------------------------------------------------- apply */

static int
apply_label(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, const struct ekey own[ENT_COUNT])
{
    struct order_rec o;
    struct link_list *l = NULL;
    struct ekey acct;
    struct ent_rec r;
    bool have_order = false, exists;
    unsigned k;
    int rc;

    memset(&acct, 0, sizeof(acct));
    if (ev->has & EVENT_HAS_ORDER) {
        rc = order_load(h, txn, actor, &ev->order, &o);
        if (rc == 0)
            have_order = true;
        else if (rc != ERR_NOTFOUND)
            return rc;
    }
    if (have_order && o.keys[ENT_ACCOUNT].present)
        acct = o.keys[ENT_ACCOUNT];
    else if (own[ENT_ACCOUNT].present)
        acct = own[ENT_ACCOUNT];
    if (!(ev->has & EVENT_HAS_OK) || !ev->ok) {
        /* fraud=false: clear the account's own label only. */
        if (!acct.present)
            return 0;
        rc = ent_load(h, txn, &acct, ENT_ACCOUNT, &r, &exists);
        if (rc != 0 || !exists || !(r.flags & F_FRAUD_SELF))
            return rc;
        r.flags &= (uint8_t)~F_FRAUD_SELF;
        return ent_store(h, txn, &acct, &r);
    }
    if (acct.present) {
        rc = ent_flag(h, txn, &acct, F_FRAUD_SELF);
        if (rc != 0)
            return rc;
    }
    if (have_order) {
        for (k = 1; k < ENT_COUNT; k++) {
            if (!o.keys[k].present)
                continue;
            rc = ent_flag(h, txn, &o.keys[k], F_FRAUD_LINKED);
            if (rc != 0)
                return rc;
        }
    }
    if (!acct.present)
        return 0;
    l = xmalloc(sizeof(*l));
    rc = link_load(h, txn, &acct, l);
    for (k = 0; rc == 0 && k < l->n; k++)
        rc = ent_flag(h, txn, &l->keys[k], F_FRAUD_LINKED);
    free(l);
    return rc;
}

int
history_apply(struct history *h, struct store_txn *txn, const char *actor,
    const struct event *ev, const struct reply *r)
{
    struct ekey keys[ENT_COUNT], okey;
    struct workset *ws = NULL;
    struct ent_rec *e, *acct = NULL;
    struct order_rec o;
    uint8_t obuf[ORDER_MAX_BYTES];
    const struct ekey *targets = keys;
    uint64_t acc_hash = 0, prev_last = 0;
    bool fraud_acct = false, have_order = false;
    size_t n;
    unsigned k;
    int rc;

    if (!store_txn_is_write(txn))
        return ERR_INVAL;
    ws = &h->ws;
    ws->n = 0;
    if (!ts_ok(ev->ts)) {
        h->cache.valid = false;
        return ERR_INVAL;
    }
    rc = event_keys(actor, ev, keys);
    if (rc != 0) {
        h->cache.valid = false;
        return rc;
    }
    cache_take(h, txn, ev, keys, ws);
    if (ev->type == EVENT_LABEL)
        return apply_label(h, txn, actor, ev, keys);

    if (keys[ENT_ACCOUNT].present) {
        rc = ws_get(h, txn, ws, &keys[ENT_ACCOUNT], ENT_ACCOUNT, &acct);
        if (rc != 0)
            goto out;
        acc_hash = hash64(keys[ENT_ACCOUNT].b + 1, keys[ENT_ACCOUNT].len - 1);
        fraud_acct = (acct->flags & F_FRAUD_SELF) != 0;
        prev_last = acct->last_seen;
    }
    for (k = 0; k < ENT_COUNT; k++) {
        if (!keys[k].present)
            continue;
        rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
        if (rc != 0)
            goto out;
        ent_touch(e, ev->ts);
        if (k == ENT_ACCOUNT || acct == NULL)
            continue;
        acc_link(e, acc_hash);
        if (fraud_acct)
            e->flags |= F_FRAUD_LINKED;
    }
    if (acct != NULL && (ev->has & EVENT_HAS_IP_COUNTRY) &&
        ev->ip_country[0] != '\0' && ev->ts >= prev_last) {
        memcpy(acct->country, ev->ip_country, 2);
        acct->country[2] = '\0';
        acct->flags |= F_COUNTRY;
    }

    switch (ev->type) {
    case EVENT_ACCOUNT_SIGNUP:
        if (acct != NULL &&
            (!(acct->flags & F_SIGNUP) || ev->ts < acct->signup_ts)) {
            acct->signup_ts = ev->ts;
            acct->flags |= F_SIGNUP;
        }
        break;
    case EVENT_ACCOUNT_LOGIN:
        if (!(ev->has & EVENT_HAS_OK) || ev->ok)
            break;
        for (k = 0; k < ENT_COUNT; k++) {
            if (!keys[k].present)
                continue;
            rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
            if (rc != 0)
                goto out;
            ring_add(e, ev->ts, C_FAILLOGIN);
        }
        break;
    case EVENT_ORDER_PLACED:
        for (k = 0; k < ENT_COUNT; k++) {
            if (!keys[k].present)
                continue;
            rc = ws_get(h, txn, ws, &keys[k], (enum entity_kind)k, &e);
            if (rc != 0)
                goto out;
            ring_add(e, ev->ts, C_ORDERS);
        }
        if (acct != NULL) {
            if (acct->order_count < UINT32_MAX)
                acct->order_count++;
            acct->amount_sum = ev->amount > UINT64_MAX - acct->amount_sum ?
                UINT64_MAX :
                acct->amount_sum + ev->amount;
            if (ev->amount > acct->amount_max)
                acct->amount_max = ev->amount;
        }
        if (!(ev->has & EVENT_HAS_ORDER))
            break;
        memset(&o, 0, sizeof(o));
        o.ts = ev->ts;
        o.amount = ev->amount;
        o.event_id = ev->id;
        if (r != NULL && r->has_score) {
            o.has_score = true;
            o.score = r->score;
            o.decision = (uint8_t)r->decision;
        }
        memcpy(o.keys, keys, sizeof(o.keys));
        rc = order_key(&okey, actor, &ev->order);
        if (rc != 0)
            goto out;
        n = order_encode(&o, obuf);
        rc = store_put(txn, h->dbi_order, okey.b, okey.len, obuf, n);
        if (rc != 0)
            goto out;
        break;
    case EVENT_PAYMENT_RESULT:
        if (!(ev->has & EVENT_HAS_OK) || ev->ok)
            break;
        if (ev->has & EVENT_HAS_ORDER) {
            rc = order_load(h, txn, actor, &ev->order, &o);
            if (rc == 0)
                have_order = true;
            else if (rc != ERR_NOTFOUND)
                goto out;
        }
        if (have_order)
            targets = o.keys;
        for (k = 0; k < ENT_COUNT; k++) {
            if (!targets[k].present)
                continue;
            rc = ws_get(h, txn, ws, &targets[k], (enum entity_kind)k, &e);
            if (rc != 0)
                goto out;
            ring_add(e, ev->ts, C_FAILPAY);
        }
        break;
    default:
        break;
    }
    rc = ws_flush(h, txn, ws);
    if (rc == 0 && acct != NULL)
        rc = link_update(h, txn, keys);
out:
    return rc;
}

/* ---------------------------------------------------- order and meta */

int
history_order_get(struct history *h, struct store_txn *txn, const char *actor,
    const struct pseudo *order, struct history_order *out)
{
    struct order_rec o;
    const struct ekey *a;
    size_t al;
    int rc;

    cache_drop(h, txn);
    memset(out, 0, sizeof(*out));
    rc = order_load(h, txn, actor, order, &o);
    if (rc != 0)
        return rc;
    out->ts = o.ts;
    out->amount = o.amount;
    out->event_id = o.event_id;
    out->has_score = o.has_score;
    out->score = o.score;
    out->decision = (enum reply_decision)o.decision;
    a = &o.keys[ENT_ACCOUNT];
    if (a->present) {
        /* 'A' actor \0 account pseudonym */
        if (actor_len(actor, &al) != 0 || a->len != 2 + al + PSEUDO_BYTES)
            return ERR_CORRUPT;
        memcpy(out->account.b, a->b + 2 + al, PSEUDO_BYTES);
        out->has_account = true;
    }
    return 0;
}

static const char meta_applied[] = "applied_seq";

int
history_applied_seq(struct history *h, struct store_txn *txn, uint64_t *seq)
{
    const void *v;
    size_t vlen;
    int rc;

    cache_drop(h, txn);
    *seq = 0;
    rc = store_get_view(
        txn, h->dbi_meta, meta_applied, sizeof(meta_applied) - 1, &v, &vlen);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (vlen != 8)
        return ERR_CORRUPT;
    *seq = get64(v);
    return 0;
}

int
history_set_applied_seq(struct history *h, struct store_txn *txn, uint64_t seq)
{
    uint8_t b[8];

    cache_drop(h, txn);
    put64(b, seq);
    return store_put(
        txn, h->dbi_meta, meta_applied, sizeof(meta_applied) - 1, b, sizeof(b));
}
