/*
 * history_rec.c - the entity record: its codec and its counters
 *
 * Pure functions over struct ent_rec (history_impl.h): encoding and
 * decoding the versions history.h specifies, the event-time rings, the
 * distinct-account set, and the features of one record as of a time.
 * No I/O; any thread.
 *
 * Invariants:
 *  - an entity record is a canonical version 3 or 2 record (at most
 *    HISTORY_ENTITY_RECORD_BYTES bytes, its length implied by its head)
 *    or a 504-byte version 1 record; anything else is ERR_CORRUPT.
 *    Records are always written as version 3.
 *  - a count never includes an event the window's resolution puts after
 *    the time asked about (history.h: no later event leaks in).
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
#define V1_RING1_SLOT   10 /* u32 epoch, u16 orders, failpay, faillogin */
#define V1_OFF_RING24   (V1_OFF_RING1 + HISTORY_BUCKETS_1H * V1_RING1_SLOT)
#define V1_RING24_SLOT  8 /* u32 epoch, u16 orders, failpay */
#define V1_BYTES        (V1_OFF_RING24 + HISTORY_BUCKETS_24H * V1_RING24_SLOT)

/*
 * Version 2 (variable length, history.h): a 26-byte head, then the
 * account part ('A': 30 bytes) or the distinct-account part (other
 * kinds: nacc hashes, plus the bitmap when nacc == ACC_SET), then the
 * non-empty slots of the 1h and 24h rings in slot order (10 and 8
 * bytes). Read only.
 */
#define V2_HEAD        26
#define V2_ACCT_PART   30
#define V2_RING1_SLOT  10
#define V2_RING24_SLOT 8

/*
 * Version 3 (history.h "Entity record"): a 32-byte head (version, kind,
 * flags, nacc, first and last seen, the section bits, the four ring
 * masks), the account part or the distinct-account part, the optional
 * sections the bits name (gap slots, signup minutes, counts past the
 * day ring), then the non-empty slots of the minute, 5-minute, hour and
 * day rings.
 */
#define V3_HEAD         32
#define V3_ACCT_PART    32 /* + 8 per signup entity hash */
#define V3_GAP_PART     32
#define V3_SIGMIN_PART  12
#define V3_OLD_PART     20
#define RINGM_SLOT      8 /* u32 epoch, u16 orders, signups */
#define RING1_SLOT      12 /* u32 epoch, u16 orders, failpay, faillogin, signups */
#define RING24_SLOT     10 /* u32 epoch, u16 orders, failpay, signups */
#define RINGD_SLOT      12 /* u32 epoch, u16 orders, signups, fraud, legit */
#define X_GAP           0x01u
#define X_SIGMIN        0x02u
#define X_OLD           0x04u
#define V3_ACC_PART_MAX (ACC_SET * 8 + 8)
#define ENT_MAX_BYTES                                                          \
    (V3_HEAD + V3_ACC_PART_MAX + V3_GAP_PART + V3_SIGMIN_PART + V3_OLD_PART +  \
        HISTORY_BUCKETS_1M * RINGM_SLOT + HISTORY_BUCKETS_1H * RING1_SLOT +    \
        HISTORY_BUCKETS_24H * RING24_SLOT + HISTORY_BUCKETS_1D * RINGD_SLOT)

_Static_assert(V1_BYTES == 504, "version 1 entity record is 504 bytes");
_Static_assert(ENT_MAX_BYTES == HISTORY_ENTITY_RECORD_BYTES,
    "entity record size changed: bump ENT_VERSION and the header");
_Static_assert(V3_ACCT_PART + 8 * HNET_COUNT <= V3_ACC_PART_MAX,
    "the account part fits where the distinct-account part does");
_Static_assert(HISTORY_BUCKETS_1M <= 8 && HISTORY_BUCKETS_1H <= 16 &&
        HISTORY_BUCKETS_24H <= 32 && HISTORY_BUCKETS_1D <= 32,
    "ring masks are u8, u16, u32 and u32");

/* The ring sizes and widths (history.h). */
#define MIN_MS HISTORY_BUCKET_1M_MS
#define DAY_MS HISTORY_BUCKET_1D_MS
/* Decay of label-fed link features: 30 days. */
#define LINK_DECAY_DAYS 30.0

/* ------------------------------------------------------ entity codec */

static bool
slotm_empty(const struct ringm_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->signups == 0;
}

static bool
slot1_empty(const struct ring1_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->failpay == 0 &&
        x->faillogin == 0 && x->signups == 0;
}

static bool
slot24_empty(const struct ring24_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->failpay == 0 &&
        x->signups == 0;
}

static bool
slotd_empty(const struct ringd_slot *x)
{
    return x->epoch == 0 && x->orders == 0 && x->signups == 0 &&
        x->fraud == 0 && x->legit == 0;
}

static bool
gap_empty(const struct ent_rec *r)
{
    return r->gap[0].ts == 0 && r->gap[0].acct == 0 && r->gap[1].ts == 0 &&
        r->gap[1].acct == 0;
}

static bool
sigmin_empty(const struct ent_rec *r)
{
    return r->sigmin[0].minute == 0 && r->sigmin[0].n == 0 &&
        r->sigmin[1].minute == 0 && r->sigmin[1].n == 0;
}

static bool
old_empty(const struct ent_rec *r)
{
    return r->old_orders == 0 && r->old_signups == 0 && r->old_fraud == 0 &&
        r->old_legit == 0 && r->old_fraud_day == 0;
}

/* The masks of the non-empty slots of each ring. */
struct masks {
    uint32_t mm, m1, m24, md;
};

static void
masks_of(const struct ent_rec *r, struct masks *m)
{
    unsigned i;

    memset(m, 0, sizeof(*m));
    for (i = 0; i < HISTORY_BUCKETS_1M; i++)
        if (!slotm_empty(&r->rm[i]))
            m->mm |= 1u << i;
    for (i = 0; i < HISTORY_BUCKETS_1H; i++)
        if (!slot1_empty(&r->r1[i]))
            m->m1 |= 1u << i;
    for (i = 0; i < HISTORY_BUCKETS_24H; i++)
        if (!slot24_empty(&r->r24[i]))
            m->m24 |= 1u << i;
    for (i = 0; i < HISTORY_BUCKETS_1D; i++)
        if (!slotd_empty(&r->rd[i]))
            m->md |= 1u << i;
}

/* Encode `r` as a version 3 record into `out`; returns its length. */
size_t
history_rec_encode(
    const struct ent_rec *r, uint8_t out[HISTORY_ENTITY_RECORD_BYTES])
{
    struct masks m;
    uint8_t x = 0;
    size_t n;
    unsigned i;

    masks_of(r, &m);
    if (!gap_empty(r))
        x |= X_GAP;
    if (!sigmin_empty(r))
        x |= X_SIGMIN;
    if (!old_empty(r))
        x |= X_OLD;
    out[0] = ENT_VERSION;
    out[1] = r->kind;
    out[2] = r->flags;
    out[3] = r->nacc;
    bytes_put_le64(out + 4, r->first_seen);
    bytes_put_le64(out + 12, r->last_seen);
    out[20] = x;
    out[21] = (uint8_t)m.mm;
    bytes_put_le16(out + 22, (uint16_t)m.m1);
    bytes_put_le32(out + 24, m.m24);
    bytes_put_le32(out + 28, m.md);
    n = V3_HEAD;
    if (r->kind == 'A') {
        memcpy(out + n, r->country, 2);
        bytes_put_le64(out + n + 2, r->signup_ts);
        bytes_put_le32(out + n + 10, r->order_count);
        bytes_put_le64(out + n + 14, r->amount_sum);
        bytes_put_le64(out + n + 22, r->amount_max);
        out[n + 30] = r->source;
        out[n + 31] = r->sig_mask;
        n += V3_ACCT_PART;
        for (i = 0; i < HNET_COUNT; i++) {
            if (r->sig_mask & (1u << i)) {
                bytes_put_le64(out + n, r->sig_hash[i]);
                n += 8;
            }
        }
    } else {
        for (i = 0; i < r->nacc; i++, n += 8)
            bytes_put_le64(out + n, r->acc[i]);
        if (r->nacc == ACC_SET) {
            bytes_put_le64(out + n, r->acc_bits);
            n += 8;
        }
    }
    if (x & X_GAP) {
        for (i = 0; i < 2; i++, n += 16) {
            bytes_put_le64(out + n, r->gap[i].ts);
            bytes_put_le64(out + n + 8, r->gap[i].acct);
        }
    }
    if (x & X_SIGMIN) {
        for (i = 0; i < 2; i++, n += 6) {
            bytes_put_le32(out + n, r->sigmin[i].minute);
            bytes_put_le16(out + n + 4, r->sigmin[i].n);
        }
    }
    if (x & X_OLD) {
        bytes_put_le32(out + n, r->old_orders);
        bytes_put_le32(out + n + 4, r->old_signups);
        bytes_put_le32(out + n + 8, r->old_fraud);
        bytes_put_le32(out + n + 12, r->old_legit);
        bytes_put_le32(out + n + 16, r->old_fraud_day);
        n += V3_OLD_PART;
    }
    for (i = 0; i < HISTORY_BUCKETS_1M; i++) {
        if (!(m.mm & (1u << i)))
            continue;
        bytes_put_le32(out + n, r->rm[i].epoch);
        bytes_put_le16(out + n + 4, r->rm[i].orders);
        bytes_put_le16(out + n + 6, r->rm[i].signups);
        n += RINGM_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m.m1 & (1u << i)))
            continue;
        bytes_put_le32(out + n, r->r1[i].epoch);
        bytes_put_le16(out + n + 4, r->r1[i].orders);
        bytes_put_le16(out + n + 6, r->r1[i].failpay);
        bytes_put_le16(out + n + 8, r->r1[i].faillogin);
        bytes_put_le16(out + n + 10, r->r1[i].signups);
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m.m24 & (1u << i)))
            continue;
        bytes_put_le32(out + n, r->r24[i].epoch);
        bytes_put_le16(out + n + 4, r->r24[i].orders);
        bytes_put_le16(out + n + 6, r->r24[i].failpay);
        bytes_put_le16(out + n + 8, r->r24[i].signups);
        n += RING24_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_1D; i++) {
        if (!(m.md & (1u << i)))
            continue;
        bytes_put_le32(out + n, r->rd[i].epoch);
        bytes_put_le16(out + n + 4, r->rd[i].orders);
        bytes_put_le16(out + n + 6, r->rd[i].signups);
        bytes_put_le16(out + n + 8, r->rd[i].fraud);
        bytes_put_le16(out + n + 10, r->rd[i].legit);
        n += RINGD_SLOT;
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

/* Clear `r` and read the head bytes 1..19 versions 3 and 2 share (the
 * caller has checked the length, as for the next two). */
static void
dec_head(const uint8_t *in, struct ent_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = in[1];
    r->flags = in[2];
    r->nacc = in[3];
    r->first_seen = bytes_get_le64(in + 4);
    r->last_seen = bytes_get_le64(in + 12);
}

/* Read the account part's first 30 bytes, the same in versions 3 and 2. */
static void
dec_acct(const uint8_t *in, struct ent_rec *r)
{
    memcpy(r->country, in, 2);
    r->signup_ts = bytes_get_le64(in + 2);
    r->order_count = bytes_get_le32(in + 10);
    r->amount_sum = bytes_get_le64(in + 14);
    r->amount_max = bytes_get_le64(in + 22);
}

/* Read a non-account entity's account list (versions 3 and 2); returns
 * its length in bytes. */
static size_t
dec_acc_list(const uint8_t *in, struct ent_rec *r)
{
    size_t n = 0;
    unsigned i;

    for (i = 0; i < r->nacc; i++, n += 8)
        r->acc[i] = bytes_get_le64(in + n);
    if (r->nacc == ACC_SET) {
        r->acc_bits = bytes_get_le64(in + n);
        n += 8;
    }
    return n;
}

/* Decode a version 3 record (strict: canonical and exactly `len`). */
static int
ent_decode_v3(const uint8_t *in, size_t len, struct ent_rec *r)
{
    struct masks m;
    uint8_t x, sig = 0;
    size_t n, need;
    unsigned i;

    if (len < V3_HEAD || !kind_byte_ok(in[1]) || in[3] > ACC_SET ||
        (in[1] == 'A' && in[3] != 0))
        return ERR_CORRUPT;
    x = in[20];
    m.mm = in[21];
    m.m1 = bytes_get_le16(in + 22);
    m.m24 = bytes_get_le32(in + 24);
    m.md = bytes_get_le32(in + 28);
    if ((x & ~(X_GAP | X_SIGMIN | X_OLD)) != 0 ||
        (m.mm >> HISTORY_BUCKETS_1M) != 0 ||
        (m.m1 >> HISTORY_BUCKETS_1H) != 0 ||
        (m.m24 >> HISTORY_BUCKETS_24H) != 0 ||
        (m.md >> HISTORY_BUCKETS_1D) != 0 ||
        (in[1] == 'A' && len < V3_HEAD + V3_ACCT_PART))
        return ERR_CORRUPT;
    if (in[1] == 'A') {
        sig = in[V3_HEAD + 31];
        if ((sig >> HNET_COUNT) != 0)
            return ERR_CORRUPT;
    }
    need = V3_HEAD +
        (in[1] == 'A' ? V3_ACCT_PART + 8u * (size_t)__builtin_popcount(sig) :
                        8u * in[3] + (in[3] == ACC_SET ? 8u : 0u)) +
        ((x & X_GAP) ? V3_GAP_PART : 0) +
        ((x & X_SIGMIN) ? V3_SIGMIN_PART : 0) +
        ((x & X_OLD) ? V3_OLD_PART : 0) +
        (size_t)__builtin_popcount(m.mm) * RINGM_SLOT +
        (size_t)__builtin_popcount(m.m1) * RING1_SLOT +
        (size_t)__builtin_popcount(m.m24) * RING24_SLOT +
        (size_t)__builtin_popcount(m.md) * RINGD_SLOT;
    if (len != need)
        return ERR_CORRUPT;
    dec_head(in, r);
    n = V3_HEAD;
    if (r->kind == 'A') {
        dec_acct(in + n, r);
        r->source = in[n + 30];
        r->sig_mask = sig;
        if (r->source > HSRC_OTHER)
            return ERR_CORRUPT;
        n += V3_ACCT_PART;
        for (i = 0; i < HNET_COUNT; i++) {
            if (sig & (1u << i)) {
                r->sig_hash[i] = bytes_get_le64(in + n);
                n += 8;
            }
        }
    } else {
        n += dec_acc_list(in + n, r);
    }
    if (x & X_GAP) {
        for (i = 0; i < 2; i++, n += 16) {
            r->gap[i].ts = bytes_get_le64(in + n);
            r->gap[i].acct = bytes_get_le64(in + n + 8);
        }
        if (gap_empty(r))
            return ERR_CORRUPT; /* not canonical */
    }
    if (x & X_SIGMIN) {
        for (i = 0; i < 2; i++, n += 6) {
            r->sigmin[i].minute = bytes_get_le32(in + n);
            r->sigmin[i].n = bytes_get_le16(in + n + 4);
        }
        if (sigmin_empty(r))
            return ERR_CORRUPT;
    }
    if (x & X_OLD) {
        r->old_orders = bytes_get_le32(in + n);
        r->old_signups = bytes_get_le32(in + n + 4);
        r->old_fraud = bytes_get_le32(in + n + 8);
        r->old_legit = bytes_get_le32(in + n + 12);
        r->old_fraud_day = bytes_get_le32(in + n + 16);
        n += V3_OLD_PART;
        if (old_empty(r))
            return ERR_CORRUPT;
    }
    for (i = 0; i < HISTORY_BUCKETS_1M; i++) {
        if (!(m.mm & (1u << i)))
            continue;
        r->rm[i].epoch = bytes_get_le32(in + n);
        r->rm[i].orders = bytes_get_le16(in + n + 4);
        r->rm[i].signups = bytes_get_le16(in + n + 6);
        if (slotm_empty(&r->rm[i]))
            return ERR_CORRUPT;
        n += RINGM_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m.m1 & (1u << i)))
            continue;
        r->r1[i].epoch = bytes_get_le32(in + n);
        r->r1[i].orders = bytes_get_le16(in + n + 4);
        r->r1[i].failpay = bytes_get_le16(in + n + 6);
        r->r1[i].faillogin = bytes_get_le16(in + n + 8);
        r->r1[i].signups = bytes_get_le16(in + n + 10);
        if (slot1_empty(&r->r1[i]))
            return ERR_CORRUPT;
        n += RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m.m24 & (1u << i)))
            continue;
        r->r24[i].epoch = bytes_get_le32(in + n);
        r->r24[i].orders = bytes_get_le16(in + n + 4);
        r->r24[i].failpay = bytes_get_le16(in + n + 6);
        r->r24[i].signups = bytes_get_le16(in + n + 8);
        if (slot24_empty(&r->r24[i]))
            return ERR_CORRUPT;
        n += RING24_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_1D; i++) {
        if (!(m.md & (1u << i)))
            continue;
        r->rd[i].epoch = bytes_get_le32(in + n);
        r->rd[i].orders = bytes_get_le16(in + n + 4);
        r->rd[i].signups = bytes_get_le16(in + n + 6);
        r->rd[i].fraud = bytes_get_le16(in + n + 8);
        r->rd[i].legit = bytes_get_le16(in + n + 10);
        if (slotd_empty(&r->rd[i]))
            return ERR_CORRUPT;
        n += RINGD_SLOT;
    }
    return 0;
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
    m1 = bytes_get_le16(in + 20);
    m24 = bytes_get_le32(in + 22);
    if ((m1 >> HISTORY_BUCKETS_1H) != 0 || (m24 >> HISTORY_BUCKETS_24H) != 0)
        return ERR_CORRUPT;
    need = V2_HEAD +
        (in[1] == 'A' ? V2_ACCT_PART :
                        8u * in[3] + (in[3] == ACC_SET ? 8u : 0u)) +
        (size_t)__builtin_popcount(m1) * V2_RING1_SLOT +
        (size_t)__builtin_popcount(m24) * V2_RING24_SLOT;
    if (len != need)
        return ERR_CORRUPT;
    dec_head(in, r);
    n = V2_HEAD;
    if (r->kind == 'A') {
        dec_acct(in + n, r);
        n += V2_ACCT_PART;
    } else {
        n += dec_acc_list(in + n, r);
    }
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        if (!(m1 & (1u << i)))
            continue;
        r->r1[i].epoch = bytes_get_le32(in + n);
        r->r1[i].orders = bytes_get_le16(in + n + 4);
        r->r1[i].failpay = bytes_get_le16(in + n + 6);
        r->r1[i].faillogin = bytes_get_le16(in + n + 8);
        if (slot1_empty(&r->r1[i]))
            return ERR_CORRUPT; /* not canonical */
        n += V2_RING1_SLOT;
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        if (!(m24 & (1u << i)))
            continue;
        r->r24[i].epoch = bytes_get_le32(in + n);
        r->r24[i].orders = bytes_get_le16(in + n + 4);
        r->r24[i].failpay = bytes_get_le16(in + n + 6);
        if (slot24_empty(&r->r24[i]))
            return ERR_CORRUPT;
        n += V2_RING24_SLOT;
    }
    return 0;
}

/* Decode a version 1 record (fixed 504 bytes; rewritten as version 3
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
    r->first_seen = bytes_get_le64(in + V1_OFF_FIRST);
    r->last_seen = bytes_get_le64(in + V1_OFF_LAST);
    r->signup_ts = bytes_get_le64(in + V1_OFF_SIGNUP);
    r->order_count = bytes_get_le32(in + V1_OFF_ORDERS);
    r->amount_sum = bytes_get_le64(in + V1_OFF_AMT_SUM);
    r->amount_max = bytes_get_le64(in + V1_OFF_AMT_MAX);
    r->acc_bits = bytes_get_le64(in + V1_OFF_ACC_BITS);
    for (i = 0; i < ACC_SET; i++)
        r->acc[i] = bytes_get_le64(in + V1_OFF_ACC + 8 * i);
    for (i = 0; i < HISTORY_BUCKETS_1H; i++) {
        p = in + V1_OFF_RING1 + V1_RING1_SLOT * i;
        r->r1[i].epoch = bytes_get_le32(p);
        r->r1[i].orders = bytes_get_le16(p + 4);
        r->r1[i].failpay = bytes_get_le16(p + 6);
        r->r1[i].faillogin = bytes_get_le16(p + 8);
    }
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        p = in + V1_OFF_RING24 + V1_RING24_SLOT * i;
        r->r24[i].epoch = bytes_get_le32(p);
        r->r24[i].orders = bytes_get_le16(p + 4);
        r->r24[i].failpay = bytes_get_le16(p + 6);
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
        return ent_decode_v3(in, len, r);
    if (in[0] == 2)
        return ent_decode_v2(in, len, r);
    if (in[0] == 1)
        return ent_decode_v1(in, len, r);
    return ERR_CORRUPT;
}

/* ------------------------------------------------ rings and counters */

/* Move a day slot's counts past the ring (it is about to be reused). */
static void
day_retire(struct ent_rec *r, const struct ringd_slot *d)
{
    r->old_orders += d->orders;
    r->old_signups += d->signups;
    r->old_fraud += d->fraud;
    r->old_legit += d->legit;
    if (d->fraud > 0 && d->epoch > r->old_fraud_day)
        r->old_fraud_day = d->epoch;
}

/* Add one count of `c` to day slot `d` (or past the ring when NULL). */
static void
day_add(struct ent_rec *r, struct ringd_slot *d, uint32_t day, enum counter c)
{
    if (d == NULL) {
        /* Older than the whole ring: counted past it. */
        if (c == C_ORDERS)
            r->old_orders++;
        else if (c == C_SIGNUPS)
            r->old_signups++;
        else if (c == C_FRAUD_LAB) {
            r->old_fraud++;
            if (day > r->old_fraud_day)
                r->old_fraud_day = day;
        } else if (c == C_LEGIT_LAB)
            r->old_legit++;
        return;
    }
    if (c == C_ORDERS)
        history_sat16_inc(&d->orders);
    else if (c == C_SIGNUPS)
        history_sat16_inc(&d->signups);
    else if (c == C_FRAUD_LAB)
        history_sat16_inc(&d->fraud);
    else if (c == C_LEGIT_LAB)
        history_sat16_inc(&d->legit);
}

void
history_rec_count(struct ent_rec *r, uint64_t ts, enum counter c)
{
    uint32_t em = (uint32_t)(ts / MIN_MS);
    uint32_t e1 = (uint32_t)(ts / HISTORY_BUCKET_1H_MS);
    uint32_t e24 = (uint32_t)(ts / HISTORY_BUCKET_24H_MS);
    uint32_t ed = (uint32_t)(ts / DAY_MS);
    struct ringm_slot *sm = &r->rm[em % HISTORY_BUCKETS_1M];
    struct ring1_slot *s1 = &r->r1[e1 % HISTORY_BUCKETS_1H];
    struct ring24_slot *s24 = &r->r24[e24 % HISTORY_BUCKETS_24H];
    struct ringd_slot *sd = &r->rd[ed % HISTORY_BUCKETS_1D];

    /* The day ring keeps every count: a slot reused for a newer day
     * retires its counts past the ring; an event older than the slot's
     * day (by a whole ring) is counted past the ring at once. */
    if (c == C_ORDERS || c == C_SIGNUPS || c == C_FRAUD_LAB ||
        c == C_LEGIT_LAB) {
        if (sd->epoch < ed) {
            day_retire(r, sd);
            memset(sd, 0, sizeof(*sd));
            sd->epoch = ed;
        }
        day_add(r, sd->epoch == ed ? sd : NULL, ed, c);
    }
    if (c == C_FRAUD_LAB || c == C_LEGIT_LAB)
        return; /* labels: the day ring only */

    /* The other rings: a slot holding a newer epoch (>= e + N) wins and
     * the event is dropped from them. */
    if (c == C_ORDERS || c == C_SIGNUPS) {
        if (sm->epoch < em) {
            memset(sm, 0, sizeof(*sm));
            sm->epoch = em;
        }
        if (sm->epoch == em)
            history_sat16_inc(c == C_ORDERS ? &sm->orders : &sm->signups);
    }
    if (s1->epoch < e1) {
        memset(s1, 0, sizeof(*s1));
        s1->epoch = e1;
    }
    if (s1->epoch == e1) {
        if (c == C_ORDERS)
            history_sat16_inc(&s1->orders);
        else if (c == C_FAILPAY)
            history_sat16_inc(&s1->failpay);
        else if (c == C_FAILLOGIN)
            history_sat16_inc(&s1->faillogin);
        else
            history_sat16_inc(&s1->signups);
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
        else if (c == C_FAILPAY)
            history_sat16_inc(&s24->failpay);
        else
            history_sat16_inc(&s24->signups);
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
            c == C_SIGNUPS   ? r->r1[i].signups :
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
        sum += c == C_ORDERS ? r->r24[i].orders :
            c == C_SIGNUPS   ? r->r24[i].signups :
                               r->r24[i].failpay;
    }
    return sum;
}

void
history_rec_windows(const struct ent_rec *r, uint64_t ts, enum counter c,
    uint32_t out[HW_COUNT])
{
    uint64_t curm = ts / MIN_MS, cur24 = ts / HISTORY_BUCKET_24H_MS;
    uint64_t curd = ts / DAY_MS;
    uint32_t today = 0, d7 = 0, d30 = 0, before = 0;
    unsigned i;
    bool orders = c == C_ORDERS;

    memset(out, 0, HW_COUNT * sizeof(out[0]));
    for (i = 0; i < HISTORY_BUCKETS_1M; i++) {
        uint32_t v = orders ? r->rm[i].orders : r->rm[i].signups;

        if (epoch_in(r->rm[i].epoch, curm, 1))
            out[HW_1M] += v;
        if (epoch_in(r->rm[i].epoch, curm, HISTORY_BUCKETS_1M))
            out[HW_5M] += v;
    }
    out[HW_1H] = ring1_sum(r, ts, c);
    out[HW_24H] = ring24_sum(r, ts, c);
    /* The order's own day, from the hour ring, up to its hour. */
    for (i = 0; i < HISTORY_BUCKETS_24H; i++) {
        const struct ring24_slot *h = &r->r24[i];

        if (h->epoch <= cur24 && h->epoch / 24 == curd)
            today += orders ? h->orders : h->signups;
    }
    /* The days before it, from the day ring. */
    for (i = 0; i < HISTORY_BUCKETS_1D; i++) {
        const struct ringd_slot *d = &r->rd[i];
        uint32_t v = orders ? d->orders : d->signups;

        if (d->epoch >= curd)
            continue;
        before += v;
        if (d->epoch + 7 > curd)
            d7 += v;
        if (d->epoch + 30 > curd)
            d30 += v;
    }
    out[HW_7D] = today + d7;
    out[HW_30D] = today + d30;
    out[HW_ALL] = (orders ? r->old_orders : r->old_signups) + before + today;
}

void
history_rec_event_windows(uint64_t ev_ts, uint64_t ts, bool out[HW_COUNT])
{
    uint64_t em = ev_ts / MIN_MS, e1 = ev_ts / HISTORY_BUCKET_1H_MS;
    uint64_t e24 = ev_ts / HISTORY_BUCKET_24H_MS, ed = ev_ts / DAY_MS;
    uint64_t curm = ts / MIN_MS, cur1 = ts / HISTORY_BUCKET_1H_MS;
    uint64_t cur24 = ts / HISTORY_BUCKET_24H_MS, curd = ts / DAY_MS;
    bool today = e24 <= cur24 && ed == curd;

    out[HW_1M] = em == curm;
    out[HW_5M] = em <= curm && em + HISTORY_BUCKETS_1M > curm;
    out[HW_1H] = e1 <= cur1 && e1 + HISTORY_BUCKETS_1H > cur1;
    out[HW_24H] = e24 <= cur24 && e24 + HISTORY_BUCKETS_24H > cur24;
    out[HW_7D] = today || (ed < curd && ed + 7 > curd);
    out[HW_30D] = today || (ed < curd && ed + 30 > curd);
    out[HW_ALL] = today || ed < curd;
}

void
history_rec_labels(const struct ent_rec *r, uint64_t ts, uint32_t *fraud,
    uint32_t *legit, double *age_days, double *decay)
{
    uint64_t curd = ts / DAY_MS;
    int64_t latest = -1;
    double sum = 0;
    unsigned i;

    *fraud = 0;
    *legit = 0;
    for (i = 0; i < HISTORY_BUCKETS_1D; i++) {
        const struct ringd_slot *d = &r->rd[i];
        double age;

        if (d->epoch >= curd || (d->fraud == 0 && d->legit == 0))
            continue;
        *fraud += d->fraud;
        *legit += d->legit;
        if (d->fraud == 0)
            continue;
        age = (double)(ts - ((uint64_t)d->epoch + 1) * DAY_MS) / (double)DAY_MS;
        sum += d->fraud * exp(-age / LINK_DECAY_DAYS);
        if ((int64_t)d->epoch > latest)
            latest = d->epoch;
    }
    /* Past the ring: counted as of the latest such fraud label's day
     * (an upper bound of their decayed weight). */
    if (r->old_fraud > 0 && r->old_fraud_day < curd) {
        double age = (double)(ts - ((uint64_t)r->old_fraud_day + 1) * DAY_MS) /
            (double)DAY_MS;

        *fraud += r->old_fraud;
        sum += r->old_fraud * exp(-age / LINK_DECAY_DAYS);
        if ((int64_t)r->old_fraud_day > latest)
            latest = r->old_fraud_day;
    }
    *legit += r->old_legit;
    *age_days = latest < 0 ?
        -1.0 :
        (double)(ts - ((uint64_t)latest + 1) * DAY_MS) / (double)DAY_MS;
    *decay = sum;
}

/* ------------------------------------------------- gaps and minutes */

void
history_rec_seen_by(struct ent_rec *r, uint64_t ts, uint64_t acct)
{
    struct gap_slot *a = &r->gap[0], *b = &r->gap[1];

    /* gap[0] is the latest account, gap[1] the latest other one. */
    if (a->ts != 0 && a->acct == acct) {
        if (ts > a->ts)
            a->ts = ts;
        return;
    }
    if (a->ts == 0 || ts >= a->ts) {
        *b = *a;
        a->ts = ts;
        a->acct = acct;
        return;
    }
    /* Older than gap[0] (out of order): it may still be the latest of
     * the others. */
    if (b->ts == 0 || b->acct == acct || ts > b->ts) {
        if (b->acct == acct && b->ts > ts)
            return;
        b->ts = ts;
        b->acct = acct;
    }
}

int64_t
history_rec_gap(const struct ent_rec *r, uint64_t ts, uint64_t own)
{
    unsigned i;

    /* The latest slot of another account at or before ts; a slot later
     * than ts hides what it replaced (undercount, never a leak). */
    for (i = 0; i < 2; i++) {
        const struct gap_slot *g = &r->gap[i];

        if (g->ts == 0 || g->ts > ts || g->acct == own)
            continue;
        return (int64_t)(ts - g->ts);
    }
    return -1;
}

void
history_rec_signup_minute(struct ent_rec *r, uint64_t ts)
{
    uint32_t m = (uint32_t)(ts / MIN_MS);
    struct sigmin_slot *s = r->sigmin;

    if (s[0].n != 0 && s[0].minute == m) {
        history_sat16_inc(&s[0].n);
        return;
    }
    if (s[1].n != 0 && s[1].minute == m) {
        history_sat16_inc(&s[1].n);
        return;
    }
    /* A new minute replaces the older of the two, if it is newer. */
    if (s[0].n == 0 || (s[1].n != 0 && s[0].minute < s[1].minute)) {
        if (s[0].n == 0 || m > s[0].minute)
            s[0] = (struct sigmin_slot){ m, 1 };
    } else if (s[1].n == 0 || m > s[1].minute) {
        s[1] = (struct sigmin_slot){ m, 1 };
    }
}

uint32_t
history_rec_signups_in(const struct ent_rec *r, uint64_t minute)
{
    unsigned i;

    for (i = 0; i < 2; i++)
        if (r->sigmin[i].n != 0 && r->sigmin[i].minute == minute)
            return r->sigmin[i].n;
    return 0;
}

/* ---------------------------------------------------------- accounts */

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

uint32_t
history_rec_other_accounts(const struct ent_rec *r, uint64_t own, uint32_t cap)
{
    uint32_t n = acc_count(r);
    unsigned i;

    for (i = 0; own != 0 && i < r->nacc; i++) {
        if (r->acc[i] == own) {
            n--;
            break;
        }
    }
    return n < cap ? n : cap;
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
    f->list = (r->flags & F_BLOCK) ? SCORE_LIST_BLOCK :
        (r->flags & F_ALLOW)       ? SCORE_LIST_ALLOW :
                                     SCORE_LIST_NONE;
}

void
history_rec_unknown(struct entity_features *f)
{
    memset(f, 0, sizeof(*f));
    f->present = true;
    f->age_ms = -1;
}
