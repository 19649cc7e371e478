/*
 * test_history_rec.c - unit tests of the model's point-in-time counters
 *                      in one entity record (scorer/history_rec.c)
 *
 * The windows of the model features (history.h: 1m = the clock minute,
 * 5m = 5 clock minutes, 1h = 12 buckets of 5 min, 24h = 24 of 1 h, 7d
 * and 30d = the order's UTC day up to its hour plus the days before, all
 * time) at their edges; the day ring retiring old days past the ring
 * without losing a count; the gaps to the latest other account; the
 * labels counted from the UTC day after they arrive, with their age and
 * decay; signups in one clock minute; the version 3 record round trip
 * and its bytes against records laid out by hand (both ways);
 * version 2 records (written before the minute and day rings) read
 * field by field, rewritten as version 3 with the same values, and
 * refused when not canonical (length, ring masks past the ring, an
 * empty slot, an account part on a non-account, too many hashes).
 * Every time is fed out of order and the counts asked as of an earlier
 * time: nothing later than the window's resolution is counted.
 *
 * Invariants:
 *  - expectations are computed by hand or by a slow reference (a plain
 *    list of event times and the window predicate spelled out below),
 *    never by the code under test.
 *
 * See also: scorer/history_impl.h, scorer/history.h, scorer/features.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "scorer/history_impl.h"
#include "tests/harness/test.h"

#define MIN_MS  (60 * 1000ULL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)
/* 2015-03-10 13:37:00 UTC: a Tuesday, mid-day, mid-hour. */
#define T0 1425994620000ULL

/* The reference: does an event at `e` count, as of `t`, in window `w`?
 * Written from history.h's definitions, bucket by bucket. */
static bool
ref_in(uint64_t e, uint64_t t, enum history_win w)
{
    uint64_t em = e / MIN_MS, tm = t / MIN_MS;
    uint64_t e5 = e / (5 * MIN_MS), t5 = t / (5 * MIN_MS);
    uint64_t eh = e / HOUR_MS, th = t / HOUR_MS;
    uint64_t ed = e / DAY_MS, td = t / DAY_MS;
    bool today = ed == td && eh <= th;

    switch (w) {
    case HW_1M:
        return em == tm;
    case HW_5M:
        return em <= tm && tm - em < 5;
    case HW_1H:
        return e5 <= t5 && t5 - e5 < 12;
    case HW_24H:
        return eh <= th && th - eh < 24;
    case HW_7D:
        return today || (ed < td && td - ed < 7);
    case HW_30D:
        return today || (ed < td && td - ed < 30);
    case HW_ALL:
        return today || ed < td;
    default:
        return false;
    }
}

static void
check_windows(const struct ent_rec *r, const uint64_t *ev, unsigned n,
    uint64_t t, const char *what)
{
    uint32_t got[HW_COUNT];
    bool pred[HW_COUNT];

    history_rec_windows(r, t, C_ORDERS, got);
    for (unsigned w = 0; w < HW_COUNT; w++) {
        uint32_t want = 0;

        for (unsigned i = 0; i < n; i++) {
            history_rec_event_windows(ev[i], t, pred);
            if (pred[w] != ref_in(ev[i], t, (enum history_win)w))
                TEST_FAIL("%s: event %u window %u: predicate %d, reference %d",
                    what, i, w, pred[w], ref_in(ev[i], t, (enum history_win)w));
            want += ref_in(ev[i], t, (enum history_win)w) ? 1u : 0u;
        }
        if (got[w] != want)
            TEST_FAIL("%s: window %u as of %+lld ms: %u counted, %u expected",
                what, w, (long long)(t - T0), got[w], want);
    }
}

/* Each window at its edges: an event just inside and just outside. */
static void
test_window_edges(void)
{
    /* Offsets before T0 at each edge (T0 is 13:37:00). */
    static const int64_t off[] = {
        0,                               /* same minute */
        -1000,                           /* 13:36:59: 1m out, 5m in */
        -4 * 60000,                      /* 13:33: 5m in */
        -5 * 60000,                      /* 13:32: 5m out */
        -(37 - 35) * 60000 - 55 * 60000, /* 12:40: 1h in (bucket 12:40) */
        -(37 - 35) * 60000 - 60 * 60000, /* 12:35: 1h out */
        -(int64_t)(13 * HOUR_MS + 37 * MIN_MS), /* 00:00 today */
        -(int64_t)(23 * HOUR_MS),               /* yesterday 14:37: 24h in */
        -(int64_t)(24 * HOUR_MS),               /* yesterday 13:37: 24h out */
        -(int64_t)(6 * DAY_MS),                 /* 7d in */
        -(int64_t)(7 * DAY_MS),                 /* 7d out */
        -(int64_t)(29 * DAY_MS),                /* 30d in */
        -(int64_t)(30 * DAY_MS),                /* 30d out: past the ring */
        -(int64_t)(400 * DAY_MS),               /* long past */
    };
    uint64_t ev[ARRAY_LEN(off)];
    struct ent_rec r;

    history_rec_init(&r, ENT_DEVICE);
    /* Fed newest first: every older event arrives out of order. */
    for (unsigned i = 0; i < ARRAY_LEN(off); i++) {
        ev[i] = (uint64_t)((int64_t)T0 + off[i]);
        history_rec_count(&r, ev[i], C_ORDERS);
    }
    check_windows(&r, ev, ARRAY_LEN(off), T0, "edges");
    /* A minute, an hour and a day later, nothing new. */
    check_windows(&r, ev, ARRAY_LEN(off), T0 + MIN_MS, "edges +1m");
    check_windows(&r, ev, ARRAY_LEN(off), T0 + HOUR_MS, "edges +1h");
    check_windows(&r, ev, ARRAY_LEN(off), T0 + DAY_MS, "edges +1d");

    /* Hand-checked figures as of T0 (the reference agrees above). */
    {
        uint32_t got[HW_COUNT];

        history_rec_windows(&r, T0, C_ORDERS, got);
        ASSERT_EQ(got[HW_1M], 1);
        ASSERT_EQ(got[HW_5M], 3);
        ASSERT_EQ(got[HW_ALL], ARRAY_LEN(off));
    }
}

/* Point in time: a later event, fed first or last, is never counted as of
 * an earlier time (beyond the resolution of its window). A ring slot
 * taken by a later bucket hides the older one it shares (an undercount,
 * documented in history.h), so as of the earlier time every window is
 * at most the reference; as of the latest time it is exact. */
static void
test_no_later_event(void)
{
    static const int64_t off[] = { 0, -2 * 60000, -(int64_t)(3 * DAY_MS),
        -(int64_t)(26 * HOUR_MS) };
    uint64_t ev[ARRAY_LEN(off) + 2];
    uint32_t got[HW_COUNT];
    struct ent_rec r;
    unsigned n = 0;

    history_rec_init(&r, ENT_IP);
    ev[n] = T0 + 2 * DAY_MS; /* later, first */
    history_rec_count(&r, ev[n++], C_ORDERS);
    for (unsigned i = 0; i < ARRAY_LEN(off); i++) {
        ev[n] = (uint64_t)((int64_t)T0 + off[i]);
        history_rec_count(&r, ev[n++], C_ORDERS);
    }
    ev[n] = T0 + 10 * MIN_MS; /* later, last */
    history_rec_count(&r, ev[n++], C_ORDERS);
    history_rec_windows(&r, T0, C_ORDERS, got);
    for (unsigned w = 0; w < HW_COUNT; w++) {
        uint32_t want = 0;

        for (unsigned i = 0; i < n; i++)
            want += ref_in(ev[i], T0, (enum history_win)w) ? 1u : 0u;
        if (got[w] > want)
            TEST_FAIL("window %u counts %u > %u: a later event leaked in", w,
                got[w], want);
    }
    /* The days before T0's come from the day ring: both counted (the
     * order's own day came from the hour ring, whose slot the event two
     * days later took: 0 of the 2 there, an undercount). */
    ASSERT_EQ(got[HW_7D], 2);
    ASSERT_EQ(got[HW_ALL], 2);
    /* Asked a day before: only the event of 3 days before T0. */
    history_rec_windows(&r, T0 - DAY_MS - 3 * HOUR_MS, C_ORDERS, got);
    ASSERT_EQ(got[HW_ALL], 1);
    ASSERT_EQ(got[HW_1H], 0);
    /* As of the latest event, every window is exact. */
    check_windows(&r, ev, n, T0 + 2 * DAY_MS, "latest");
}

/* The day ring keeps every count: days retired past it still count in
 * "all", and a day older than the ring goes there at once. */
static void
test_day_ring_retire(void)
{
    struct ent_rec r;
    uint32_t got[HW_COUNT];
    unsigned i;

    history_rec_init(&r, ENT_DEVICE);
    for (i = 0; i < 100; i++)
        history_rec_count(&r, T0 + i * DAY_MS, C_ORDERS);
    history_rec_count(&r, T0 - 50 * DAY_MS, C_ORDERS); /* very late */
    history_rec_windows(&r, T0 + 99 * DAY_MS, C_ORDERS, got);
    ASSERT_EQ(got[HW_1M], 1);
    ASSERT_EQ(got[HW_7D], 7);
    ASSERT_EQ(got[HW_30D], 30);
    ASSERT_EQ(got[HW_ALL], 101);
}

/* dev_gap / ip_gap: the latest event by another account, at or before
 * the time asked; -1 when none; a later event never gives a gap. */
static void
test_gaps(void)
{
    struct ent_rec r;

    history_rec_init(&r, ENT_DEVICE);
    ASSERT_EQ(history_rec_gap(&r, T0, 3), -1);
    history_rec_seen_by(&r, T0 - 100000, 1);
    history_rec_seen_by(&r, T0 - 50000, 2);
    history_rec_seen_by(&r, T0 - 10000, 3); /* the ordering account */
    ASSERT_EQ(history_rec_gap(&r, T0, 3), 50000);
    ASSERT_EQ(history_rec_gap(&r, T0, 2), 10000);
    /* Out of order: an older event of account 1 changes nothing. */
    history_rec_seen_by(&r, T0 - 200000, 1);
    ASSERT_EQ(history_rec_gap(&r, T0, 3), 50000);
    /* A later event by account 4: never counted as of T0. */
    history_rec_seen_by(&r, T0 + 100000, 4);
    {
        int64_t g = history_rec_gap(&r, T0, 3);

        ASSERT(g == -1 || g >= 10000); /* undercount at worst, no leak */
    }
    ASSERT_EQ(history_rec_gap(&r, T0 + 200000, 3), 100000);
}

/* Labels count from the UTC day after their arrival; age from the end
 * of that day; decay exp(-age / 30). */
static void
test_labels(void)
{
    struct ent_rec r;
    uint32_t fraud, legit;
    double age, decay;
    uint64_t day = T0 / DAY_MS;

    history_rec_init(&r, ENT_DEVICE);
    history_rec_count(&r, T0, C_FRAUD_LAB);
    history_rec_count(&r, T0 + 5 * DAY_MS, C_LEGIT_LAB); /* later */
    /* Same day: not yet. */
    history_rec_labels(&r, T0 + HOUR_MS, &fraud, &legit, &age, &decay);
    ASSERT_EQ(fraud, 0);
    ASSERT_EQ(legit, 0);
    ASSERT(age == -1.0);
    ASSERT(decay == 0.0);
    /* Two days later, noon: counted, 1.5 days old. */
    {
        uint64_t t = (day + 2) * DAY_MS + 12 * HOUR_MS;

        history_rec_labels(&r, t, &fraud, &legit, &age, &decay);
        ASSERT_EQ(fraud, 1);
        ASSERT_EQ(legit, 0); /* the legit label is later */
        ASSERT(fabs(age - 1.5) < 1e-12);
        ASSERT(fabs(decay - exp(-1.5 / 30.0)) < 1e-12);
    }
    /* Far later (past the day ring): still counted, both. */
    history_rec_count(&r, T0 + 200 * DAY_MS, C_ORDERS);
    history_rec_labels(&r, T0 + 201 * DAY_MS, &fraud, &legit, &age, &decay);
    ASSERT_EQ(fraud, 1);
    ASSERT_EQ(legit, 1);
    ASSERT(age > 199.0 && age < 201.0);
}

/* Signups per clock minute (E_sig_same_min): the latest two minutes. */
static void
test_signup_minutes(void)
{
    struct ent_rec r;
    uint64_t m = T0 / MIN_MS;

    history_rec_init(&r, ENT_IP);
    history_rec_signup_minute(&r, T0);
    history_rec_signup_minute(&r, T0 + 30000);
    history_rec_signup_minute(&r, T0 - MIN_MS);
    ASSERT_EQ(history_rec_signups_in(&r, m), 2);
    ASSERT_EQ(history_rec_signups_in(&r, m - 1), 1);
    ASSERT_EQ(history_rec_signups_in(&r, m + 1), 0);
    history_rec_signup_minute(&r, T0 + MIN_MS); /* replaces m - 1 */
    ASSERT_EQ(history_rec_signups_in(&r, m - 1), 0);
    ASSERT_EQ(history_rec_signups_in(&r, m), 2);
    history_rec_signup_minute(&r, T0 - 5 * MIN_MS); /* older: dropped */
    ASSERT_EQ(history_rec_signups_in(&r, m - 5), 0);
}

/* Version 3 round trip with every section, and strict decoding. */
static void
test_codec(void)
{
    struct ent_rec r, back;
    uint8_t buf[HISTORY_ENTITY_RECORD_BYTES],
        again[HISTORY_ENTITY_RECORD_BYTES];
    size_t n, n2;

    history_rec_init(&r, ENT_DEVICE);
    for (unsigned i = 0; i < 40; i++)
        history_rec_count(&r, T0 + i * 7 * HOUR_MS, C_ORDERS);
    history_rec_count(&r, T0, C_FRAUD_LAB);
    history_rec_seen_by(&r, T0, 11);
    history_rec_seen_by(&r, T0 + 1000, 12);
    history_rec_signup_minute(&r, T0);
    history_rec_link(&r, 11);
    history_rec_link(&r, 12);
    n = history_rec_encode(&r, buf);
    ASSERT(n <= HISTORY_ENTITY_RECORD_BYTES);
    ASSERT_EQ(buf[0], 3);
    ASSERT_OK(history_rec_decode(buf, n, &back));
    n2 = history_rec_encode(&back, again);
    ASSERT_EQ(n2, n);
    ASSERT_MEM_EQ(buf, again, n);
    ASSERT_EQ(history_rec_gap(&back, T0 + 2000, 11), 1000);
    ASSERT_EQ(history_rec_decode(buf, n - 1, &back), ERR_CORRUPT);
    ASSERT_EQ(history_rec_decode(buf, n + 1, &back), ERR_CORRUPT);
    buf[20] |= 0x80; /* an unknown section bit */
    ASSERT_EQ(history_rec_decode(buf, n, &back), ERR_CORRUPT);
}

/* Little-endian writer for hand-made records (not the code under test). */
static void
le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * A version 2 account record, laid out by hand from the format in
 * history_rec.c: 26-byte head (version, kind, flags, nacc, first and
 * last seen, u16 hour mask, u32 day mask), the 30-byte account part
 * (country, signup, orders, amount sum and max), then the hour slots
 * (10 bytes: epoch, orders, failpay, faillogin) and the 24h slots (8:
 * epoch, orders, failpay) named by the masks, in slot order.
 */
static size_t
v2_account(uint8_t *b)
{
    size_t n = 26;

    memset(b, 0, 26 + 30 + 2 * 10 + 8);
    b[0] = 2;
    b[1] = 'A';
    b[2] = F_SIGNUP | F_COUNTRY;
    b[3] = 0;
    le(b + 4, T0 - DAY_MS, 8);
    le(b + 12, T0, 8);
    le(b + 20, (1u << 3) | (1u << 7), 2);
    le(b + 22, 1u << 5, 4);
    memcpy(b + n, "DE", 2);
    le(b + n + 2, T0 - DAY_MS, 8);
    le(b + n + 10, 3, 4);
    le(b + n + 14, 15000, 8);
    le(b + n + 22, 9000, 8);
    n += 30;
    le(b + n, 1000003, 4); /* hour slot 3 */
    le(b + n + 4, 2, 2);
    le(b + n + 6, 1, 2);
    le(b + n + 8, 4, 2);
    n += 10;
    le(b + n, 1000007, 4); /* hour slot 7 */
    le(b + n + 4, 1, 2);
    n += 10;
    le(b + n, 2000005, 4); /* 24h slot 5 */
    le(b + n + 4, 3, 2);
    le(b + n + 6, 1, 2);
    n += 8;
    return n;
}

/*
 * Version 3 records laid out by hand from history.h's "Entity record"
 * (not by the encoder): a device with two account hashes, every
 * optional section and slots in all four rings; an account with two
 * signup entity hashes and one minute slot. Each decodes to the values
 * written and encodes back to the same bytes: the format is pinned byte
 * for byte, both ways.
 */
static size_t
v3_device(uint8_t *b)
{
    size_t n = 32;

    memset(b, 0, HISTORY_ENTITY_RECORD_BYTES);
    b[0] = 3;
    b[1] = 'D';
    b[2] = F_FRAUD_LINKED;
    b[3] = 2;
    le(b + 4, T0 - DAY_MS, 8);
    le(b + 12, T0, 8);
    b[20] = 0x07;                          /* gap, signup minutes, old */
    b[21] = (1u << 0) | (1u << 4);         /* minute slots 0 and 4 */
    le(b + 22, 1u << 11, 2);               /* 5-minute slot 11 */
    le(b + 24, (1u << 2) | (1u << 23), 4); /* hour slots 2 and 23 */
    le(b + 28, 1u << 29, 4);               /* day slot 29 */
    le(b + n, 0x1111111111111111ULL, 8);   /* account hashes */
    le(b + n + 8, 0x2222222222222222ULL, 8);
    n += 16;
    le(b + n, T0 - 5000, 8); /* gap slots: ts, account */
    le(b + n + 8, 0x1111111111111111ULL, 8);
    le(b + n + 16, T0 - 9000, 8);
    le(b + n + 24, 0x2222222222222222ULL, 8);
    n += 32;
    le(b + n, 23766577, 4); /* signup minutes: minute, count */
    le(b + n + 4, 3, 2);
    le(b + n + 6, 23766570, 4);
    le(b + n + 10, 1, 2);
    n += 12;
    le(b + n, 101, 4);     /* past the day ring: orders, signups, fraud, */
    le(b + n + 4, 102, 4); /* legit, the latest fraud day */
    le(b + n + 8, 103, 4);
    le(b + n + 12, 104, 4);
    le(b + n + 16, 16500, 4);
    n += 20;
    le(b + n, 23766575, 4); /* minute slot 0: epoch, orders, signups */
    le(b + n + 4, 7, 2);
    le(b + n + 6, 8, 2);
    n += 8;
    le(b + n, 23766579, 4); /* minute slot 4 */
    le(b + n + 4, 9, 2);
    n += 8;
    le(b + n, 4753315, 4); /* 5-minute slot 11: epoch, orders, failpay, */
    le(b + n + 4, 1, 2);   /* faillogin, signups */
    le(b + n + 6, 2, 2);
    le(b + n + 8, 3, 2);
    le(b + n + 10, 4, 2);
    n += 12;
    le(b + n, 396106, 4); /* hour slot 2: epoch, orders, failpay, signups */
    le(b + n + 4, 5, 2);
    le(b + n + 6, 6, 2);
    le(b + n + 8, 65535, 2);
    n += 10;
    le(b + n, 396095, 4); /* hour slot 23 */
    le(b + n + 8, 1, 2);
    n += 10;
    le(b + n, 16504, 4);  /* day slot 29: epoch, orders, signups, fraud, */
    le(b + n + 4, 10, 2); /* legit */
    le(b + n + 6, 11, 2);
    le(b + n + 8, 12, 2);
    le(b + n + 10, 13, 2);
    n += 12;
    return n;
}

static size_t
v3_account(uint8_t *b)
{
    size_t n = 32;

    memset(b, 0, HISTORY_ENTITY_RECORD_BYTES);
    b[0] = 3;
    b[1] = 'A';
    b[2] = F_SIGNUP | F_COUNTRY;
    le(b + 4, T0 - DAY_MS, 8);
    le(b + 12, T0, 8);
    b[21] = 1u << 2; /* minute slot 2 */
    memcpy(b + n, "FR", 2);
    le(b + n + 2, T0 - DAY_MS, 8); /* signup ts */
    le(b + n + 10, 4, 4);          /* orders */
    le(b + n + 14, 25000, 8);      /* amount sum, max */
    le(b + n + 22, 12000, 8);
    b[n + 30] = 2;                                   /* source */
    b[n + 31] = (1u << HNET_IP) | (1u << HNET_IP16); /* signup entities */
    n += 32;
    le(b + n, 0x3333333333333333ULL, 8);
    le(b + n + 8, 0x4444444444444444ULL, 8);
    n += 16;
    le(b + n, 23766577, 4); /* minute slot 2 */
    le(b + n + 6, 1, 2);
    n += 8;
    return n;
}

static void
test_v3_bytes(void)
{
    uint8_t b[HISTORY_ENTITY_RECORD_BYTES], out[HISTORY_ENTITY_RECORD_BYTES];
    struct ent_rec r;
    size_t n;

    n = v3_device(b);
    ASSERT_EQ(n, 32 + 16 + 32 + 12 + 20 + 2 * 8 + 12 + 2 * 10 + 12);
    ASSERT_OK(history_rec_decode(b, n, &r));
    ASSERT_EQ(r.kind, 'D');
    ASSERT_EQ(r.flags, F_FRAUD_LINKED);
    ASSERT_EQ(r.nacc, 2);
    ASSERT_EQ(r.acc[1], 0x2222222222222222ULL);
    ASSERT_EQ(r.gap[1].ts, T0 - 9000);
    ASSERT_EQ(r.sigmin[0].n, 3);
    ASSERT_EQ(r.old_legit, 104);
    ASSERT_EQ(r.old_fraud_day, 16500);
    ASSERT_EQ(r.rm[0].signups, 8);
    ASSERT_EQ(r.rm[4].orders, 9);
    ASSERT_EQ(r.rm[1].epoch, 0);
    ASSERT_EQ(r.r1[11].epoch, 4753315);
    ASSERT_EQ(r.r1[11].failpay, 2);
    ASSERT_EQ(r.r1[11].faillogin, 3);
    ASSERT_EQ(r.r1[11].signups, 4);
    ASSERT_EQ(r.r24[2].signups, 65535);
    ASSERT_EQ(r.r24[23].signups, 1);
    ASSERT_EQ(r.r24[23].orders, 0);
    ASSERT_EQ(r.rd[29].orders, 10);
    ASSERT_EQ(r.rd[29].legit, 13);
    ASSERT_EQ(history_rec_encode(&r, out), n);
    ASSERT_MEM_EQ(out, b, n);

    n = v3_account(b);
    ASSERT_EQ(n, 32 + 32 + 16 + 8);
    ASSERT_OK(history_rec_decode(b, n, &r));
    ASSERT_EQ(r.kind, 'A');
    ASSERT_STR_EQ(r.country, "FR");
    ASSERT_EQ(r.order_count, 4);
    ASSERT_EQ(r.amount_max, 12000);
    ASSERT_EQ(r.source, 2);
    ASSERT_EQ(r.sig_hash[HNET_IP], 0x3333333333333333ULL);
    ASSERT_EQ(r.sig_hash[HNET_IP16], 0x4444444444444444ULL);
    ASSERT_EQ(r.sig_hash[HNET_DEVICE], 0);
    ASSERT_EQ(r.rm[2].signups, 1);
    ASSERT_EQ(history_rec_encode(&r, out), n);
    ASSERT_MEM_EQ(out, b, n);
    /* An empty listed minute slot is not canonical. */
    memset(b + n - 8, 0, 8);
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
}

static void
test_v2_records(void)
{
    uint8_t b[HISTORY_ENTITY_RECORD_BYTES + 16],
        v3[HISTORY_ENTITY_RECORD_BYTES];
    struct ent_rec r, back;
    size_t n, n3;

    n = v2_account(b);
    ASSERT_OK(history_rec_decode(b, n, &r));
    ASSERT_EQ(r.kind, 'A');
    ASSERT_EQ(r.flags, F_SIGNUP | F_COUNTRY);
    ASSERT_STR_EQ(r.country, "DE");
    ASSERT_EQ(r.first_seen, T0 - DAY_MS);
    ASSERT_EQ(r.last_seen, T0);
    ASSERT_EQ(r.signup_ts, T0 - DAY_MS);
    ASSERT_EQ(r.order_count, 3);
    ASSERT_EQ(r.amount_sum, 15000);
    ASSERT_EQ(r.amount_max, 9000);
    ASSERT_EQ(r.r1[3].epoch, 1000003);
    ASSERT_EQ(r.r1[3].orders, 2);
    ASSERT_EQ(r.r1[3].failpay, 1);
    ASSERT_EQ(r.r1[3].faillogin, 4);
    ASSERT_EQ(r.r1[7].epoch, 1000007);
    ASSERT_EQ(r.r1[7].orders, 1);
    ASSERT_EQ(r.r1[0].epoch, 0);
    ASSERT_EQ(r.r24[5].epoch, 2000005);
    ASSERT_EQ(r.r24[5].orders, 3);
    ASSERT_EQ(r.r24[5].failpay, 1);
    /* Rewritten as version 3, nothing lost. */
    n3 = history_rec_encode(&r, v3);
    ASSERT_EQ(v3[0], 3);
    ASSERT_OK(history_rec_decode(v3, n3, &back));
    ASSERT_MEM_EQ(&back.r1, &r.r1, sizeof(r.r1));
    ASSERT_MEM_EQ(&back.r24, &r.r24, sizeof(r.r24));
    ASSERT_EQ(back.amount_sum, 15000);
    ASSERT_EQ(back.signup_ts, T0 - DAY_MS);

    /* Not canonical: one byte more or less. */
    ASSERT_EQ(history_rec_decode(b, n - 1, &r), ERR_CORRUPT);
    ASSERT_EQ(history_rec_decode(b, n + 1, &r), ERR_CORRUPT);
    ASSERT_EQ(history_rec_decode(b, 25, &r), ERR_CORRUPT);
    /* A mask bit past the ring. */
    le(b + 20, 1u << HISTORY_BUCKETS_1H, 2);
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
    n = v2_account(b);
    le(b + 22, 1ull << HISTORY_BUCKETS_24H, 4);
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
    /* An all-zero slot the mask names. */
    n = v2_account(b);
    memset(b + 26 + 30 + 10, 0, 10);
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
    n = v2_account(b);
    memset(b + 26 + 30 + 20, 0, 8);
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
    /* An account with account hashes; an unknown kind. */
    n = v2_account(b);
    b[3] = 1;
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);
    n = v2_account(b);
    b[1] = 'Z';
    ASSERT_EQ(history_rec_decode(b, n, &r), ERR_CORRUPT);

    /* A device seen by more than ACC_SET accounts: every hash and the
     * overflow bitmap, no rings. */
    memset(b, 0, sizeof(b));
    b[0] = 2;
    b[1] = 'D';
    b[3] = ACC_SET;
    le(b + 4, T0, 8);
    le(b + 12, T0, 8);
    for (unsigned i = 0; i < ACC_SET; i++)
        le(b + 26 + 8 * i, 100 + i, 8);
    le(b + 26 + 8 * ACC_SET, 0x8001, 8);
    n = 26 + 8 * ACC_SET + 8;
    ASSERT_OK(history_rec_decode(b, n, &r));
    ASSERT_EQ(r.kind, 'D');
    ASSERT_EQ(r.nacc, ACC_SET);
    ASSERT_EQ(r.acc[0], 100);
    ASSERT_EQ(r.acc[ACC_SET - 1], 100 + ACC_SET - 1);
    ASSERT_EQ(r.acc_bits, 0x8001);
    n3 = history_rec_encode(&r, v3);
    ASSERT_OK(history_rec_decode(v3, n3, &back));
    ASSERT_MEM_EQ(back.acc, r.acc, sizeof(r.acc));
    ASSERT_EQ(back.acc_bits, 0x8001);
    /* Without the bitmap: short; more hashes than the set holds. */
    ASSERT_EQ(history_rec_decode(b, n - 8, &r), ERR_CORRUPT);
    b[3] = ACC_SET + 1;
    ASSERT_EQ(history_rec_decode(b, n + 8, &r), ERR_CORRUPT);
}

int
main(void)
{
    test_window_edges();
    test_no_later_event();
    test_day_ring_retire();
    test_gaps();
    test_labels();
    test_signup_minutes();
    test_codec();
    test_v2_records();
    test_v3_bytes();
    printf("ok history_rec\n");
    return 0;
}
