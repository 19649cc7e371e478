/*
 * send_keys.c - vigil-replay's ordering: the key table and the day
 *               barrier (where an event may go)
 *
 * Every event in flight holds keys (its account, device, IP, /24, /16,
 * exclusive); placement() says on which connection the next event must
 * go to follow the events it shares a key with, or that it waits: for
 * events spread over two connections, or, for a non-label, for every
 * label of an earlier UTC day still in flight (the day barrier). The
 * rules are described at the top of send.c.
 *
 * Keys live in an open-addressing table (linear probing, backward-shift
 * deletion) sized for every key that can be in flight; a key's hash may
 * collide with another, which only makes an event wait needlessly.
 *
 * Invariants:
 *  - a key entry with n holders has conn = the connection of all of
 *    them, or -1 when they are spread (then all hold it shared, nx == 0).
 *
 * See also: send_int.h, send.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "tools/vigil-replay/send_int.h"

static uint64_t
mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
key_of(char kind, uint64_t v)
{
    return mix(((uint64_t)(unsigned char)kind << 56) ^ mix(v));
}

static uint64_t
key_of_str(char kind, const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return key_of(kind, h);
}

/* The keys stream event i holds (REPLAY: see the top of this file). */
unsigned
event_keys(const struct sender *s, size_t i, struct hold *out)
{
    const struct replay_ev *e = &s->d->evs[i];
    const struct replay_row *r = &s->d->rows[e->row];
    unsigned n = 0;

    out[n++] = (struct hold){ key_of('A', r->user_id), 1 };
    out[n++] = (struct hold){ key_of_str('D', r->device), 1 };
    out[n++] = (struct hold){ key_of('I', r->ip), 1 };
    out[n++] = (struct hold){ key_of('P', r->ip >> 8), 1 };
    out[n++] = (struct hold){ key_of('Q', r->ip >> 16), 1 };
    return n;
}

struct kent *
kfind(struct sender *s, uint64_t key)
{
    for (size_t i = key & s->keymask;; i = (i + 1) & s->keymask) {
        if (s->keys[i].n == 0)
            return NULL;
        if (s->keys[i].key == key)
            return &s->keys[i];
    }
}

void
khold(struct sender *s, const struct hold *h, int32_t conn)
{
    size_t i;

    for (i = h->key & s->keymask; s->keys[i].n != 0; i = (i + 1) & s->keymask) {
        if (s->keys[i].key == h->key) {
            struct kent *e = &s->keys[i];

            e->n++;
            e->nx += h->excl;
            if (e->conn != conn)
                e->conn = -1;
            return;
        }
    }
    s->keys[i] = (struct kent){ h->key, conn, 1, h->excl };
}

void
krelease(struct sender *s, const struct hold *h)
{
    size_t i = h->key & s->keymask, j;

    while (s->keys[i].key != h->key || s->keys[i].n == 0) {
        if (s->keys[i].n == 0)
            fatalx("%s: invariant: releasing a key not held", __func__);
        i = (i + 1) & s->keymask;
    }
    s->keys[i].nx -= h->excl;
    if (--s->keys[i].n > 0)
        return;
    /* Backward-shift deletion keeps every probe sequence unbroken. */
    for (j = (i + 1) & s->keymask; s->keys[j].n != 0;
         j = (j + 1) & s->keymask) {
        size_t home = s->keys[j].key & s->keymask;
        bool move = i <= j ? (home <= i || home > j) : (home <= i && home > j);

        if (move) {
            s->keys[i] = s->keys[j];
            i = j;
        }
    }
    s->keys[i].n = 0;
}

void
label_days_hold(struct sender *s, size_t i)
{
    uint64_t day = ev_day(s, i);

    if (s->lday_total == 0) {
        s->lday_lo = day;
        s->lday_hi = day;
    } else {
        while (s->lday_n[s->lday_lo % SEND_LABEL_DAYS] == 0)
            s->lday_lo++; /* to the earliest day in flight */
    }
    if (day < s->lday_lo) {
        s->lday_lo = day;
    } else if (day > s->lday_hi) {
        s->lday_hi = day;
    }
    if (s->lday_hi - s->lday_lo >= SEND_LABEL_DAYS)
        fatalx("%s: invariant: labels of days %" PRIu64 " to %" PRIu64
               " in flight",
            __func__, s->lday_lo, s->lday_hi);
    s->lday_n[day % SEND_LABEL_DAYS]++;
    s->lday_total++;
}

void
label_days_release(struct sender *s, size_t i)
{
    uint64_t day = ev_day(s, i);

    if (s->lday_total == 0 || s->lday_n[day % SEND_LABEL_DAYS] == 0)
        fatalx("%s: invariant: no label of day %" PRIu64 " in flight", __func__,
            day);
    s->lday_n[day % SEND_LABEL_DAYS]--;
    s->lday_total--;
}

/*
 * The day barrier: true when no label of a UTC day before `day` is in
 * flight. The counts by day make it O(1) a call, amortized: it was a
 * walk over the query connection's 1,024 slots for every event placed,
 * 23% of vigil-replay's CPU.
 */
static bool
labels_before_done(struct sender *s, uint64_t day)
{
    if (s->lday_total == 0)
        return true;
    while (s->lday_n[s->lday_lo % SEND_LABEL_DAYS] == 0)
        s->lday_lo++; /* stops by lday_hi: a label of its day is counted */
    return s->lday_lo >= day;
}

/*
 * Where stream event i may go: the connection it must follow (>= 0),
 * -1 for any, or -2 when it must wait for replies.
 */
int
placement(struct sender *s, size_t i)
{
    struct hold h[KEYS_PER_EVENT];
    unsigned n = event_keys(s, i, h);
    int need = -1;

    s->why_day = true;
    if (s->d->evs[i].kind != RK_LABEL &&
        !labels_before_done(s, s->d->evs[i].ts / REPLAY_MS_PER_DAY))
        return -2;
    s->why_day = false;

    for (unsigned k = 0; k < n; k++) {
        const struct kent *e = kfind(s, h[k].key);

        if (e == NULL || (!h[k].excl && e->nx == 0))
            continue;
        if (e->conn < 0 || (need >= 0 && need != e->conn))
            return -2;
        need = e->conn;
    }
    return need;
}

/* True when two events' key lists share an exclusive key. */
bool
keys_meet(const struct hold *a, unsigned na, const struct hold *b, unsigned nb)
{
    for (unsigned i = 0; i < na; i++)
        for (unsigned j = 0; j < nb; j++)
            if (a[i].key == b[j].key && (a[i].excl || b[j].excl))
                return true;
    return false;
}

/* The UTC day of stream event i. */
uint64_t
ev_day(const struct sender *s, size_t i)
{
    return s->d->evs[i].ts / REPLAY_MS_PER_DAY;
}
