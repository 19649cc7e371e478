/*
 * history_rec.c - the entity record: its codec and its counters
 *
 * Pure functions over struct ent_rec (history_impl.h): encoding and
 * decoding the versions history.h specifies, the event-time rings, the
 * distinct-account set, and the features of one record as of a time.
 * No I/O; any thread.
 *
 * Invariants:
 *  - an entity record is a canonical version 2 record (at most
 *    HISTORY_ENTITY_RECORD_BYTES bytes, its length implied by its head)
 *    or a 504-byte version 1 record; anything else is ERR_CORRUPT.
 *    Records are always written as version 2.
 *
 * See also: history.h, history_impl.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "scorer/history_impl.h"

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
size_t
history_rec_encode(
    const struct ent_rec *r, uint8_t out[HISTORY_ENTITY_RECORD_BYTES])
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
    history_put64(out + 4, r->first_seen);
    history_put64(out + 12, r->last_seen);
    history_put16(out + 20, (uint16_t)m1);
    history_put32(out + 22, m24);
    n = V2_HEAD;
    if (r->kind == 'A') {
        memcpy(out + n, r->country, 2);
        history_put64(out + n + 2, r->signup_ts);
        history_put32(out + n + 10, r->order_count);
        history_put64(out + n + 14, r->amount_sum);
        history_put64(out + n + 22, r->amount_max);
        n += V2_ACCT_PART;
    } else {
        for (i = 0; i < r->nacc; i++, n += 8)
            history_put64(out + n, r->acc[i]);
        if (r->nacc == ACC_SET) {
            history_put64(out + n, r->acc_bits);
            n += 8;
        }
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m1 & (1u << i)))
            continue;
        history_put32(out + n, r->r1[i].epoch);
        history_put16(out + n + 4, r->r1[i].orders);
        history_put16(out + n + 6, r->r1[i].failpay);
        history_put16(out + n + 8, r->r1[i].faillogin);
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m24 & (1u << i)))
            continue;
        history_put32(out + n, r->r24[i].epoch);
        history_put16(out + n + 4, r->r24[i].orders);
        history_put16(out + n + 6, r->r24[i].failpay);
        n += RING24_SLOT;
    }
    return n;
}

static bool
kind_byte_ok(uint8_t b)
{
    unsigned k;

    for (k = 0; k < ENT_COUNT; k++) {
        if (history_kind_byte[k] == b)
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
    m1 = history_get16(in + 20);
    m24 = history_get32(in + 22);
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
    r->first_seen = history_get64(in + 4);
    r->last_seen = history_get64(in + 12);
    n = V2_HEAD;
    if (r->kind == 'A') {
        memcpy(r->country, in + n, 2);
        r->signup_ts = history_get64(in + n + 2);
        r->order_count = history_get32(in + n + 10);
        r->amount_sum = history_get64(in + n + 14);
        r->amount_max = history_get64(in + n + 22);
        n += V2_ACCT_PART;
    } else {
        for (i = 0; i < r->nacc; i++, n += 8)
            r->acc[i] = history_get64(in + n);
        if (r->nacc == ACC_SET) {
            r->acc_bits = history_get64(in + n);
            n += 8;
        }
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m1 & (1u << i)))
            continue;
        r->r1[i].epoch = history_get32(in + n);
        r->r1[i].orders = history_get16(in + n + 4);
        r->r1[i].failpay = history_get16(in + n + 6);
        r->r1[i].faillogin = history_get16(in + n + 8);
        if (slot1_empty(&r->r1[i]))
            return ERR_CORRUPT; /* not canonical */
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m24 & (1u << i)))
            continue;
        r->r24[i].epoch = history_get32(in + n);
        r->r24[i].orders = history_get16(in + n + 4);
        r->r24[i].failpay = history_get16(in + n + 6);
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
    r->first_seen = history_get64(in + V1_OFF_FIRST);
    r->last_seen = history_get64(in + V1_OFF_LAST);
    r->signup_ts = history_get64(in + V1_OFF_SIGNUP);
    r->order_count = history_get32(in + V1_OFF_ORDERS);
    r->amount_sum = history_get64(in + V1_OFF_AMT_SUM);
    r->amount_max = history_get64(in + V1_OFF_AMT_MAX);
    r->acc_bits = history_get64(in + V1_OFF_ACC_BITS);
    for (i = 0; i < ACC_SET; i++)
        r->acc[i] = history_get64(in + V1_OFF_ACC + 8 * i);
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        p = in + V1_OFF_RING1 + RING1_SLOT * i;
        r->r1[i].epoch = history_get32(p);
        r->r1[i].orders = history_get16(p + 4);
        r->r1[i].failpay = history_get16(p + 6);
        r->r1[i].faillogin = history_get16(p + 8);
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        p = in + V1_OFF_RING24 + RING24_SLOT * i;
        r->r24[i].epoch = history_get32(p);
        r->r24[i].orders = history_get16(p + 4);
        r->r24[i].failpay = history_get16(p + 6);
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

int
history_rec_decode(const uint8_t *in, size_t len, struct ent_rec *r)
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

void
history_rec_count(struct ent_rec *r, uint64_t ts, enum counter c)
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
            history_sat16_inc(&s1->orders);
        else if (c == C_FAILPAY)
            history_sat16_inc(&s1->failpay);
        else
            history_sat16_inc(&s1->faillogin);
    }
    if (c == C_FAILLOGIN)
        return; /* no 24h window for failed logins */
    if (s24->epoch < e24) {
        memset(s24, 0, sizeof(*s24));
        s24->epoch = e24;
    }
    if (s24->epoch == e24) {
        if (c == C_ORDERS)
            history_sat16_inc(&s24->orders);
        else
            history_sat16_inc(&s24->failpay);
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
void
history_rec_link(struct ent_rec *r, uint64_t h)
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

void
history_rec_init(struct ent_rec *r, enum entity_kind k)
{
    memset(r, 0, sizeof(*r));
    r->kind = history_kind_byte[k];
}

/* Note one event at `ts` naming this entity. */
void
history_rec_touch(struct ent_rec *r, uint64_t ts)
{
    if (r->first_seen == 0 || ts < r->first_seen)
        r->first_seen = ts;
    if (ts > r->last_seen)
        r->last_seen = ts;
}

void
history_rec_features(const struct ent_rec *r, enum entity_kind k, uint64_t ts,
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

void
history_rec_unknown(struct entity_features *f)
{
    memset(f, 0, sizeof(*f));
    f->present = true;
    f->age_ms = -1;
}
