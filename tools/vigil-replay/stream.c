/*
 * stream.c - vigil-replay's event stream: four events per user, in the
 *            order the service must see them
 *
 * Per user (REPORT.md section 1): account.signup at signup_time with the
 * device, the IP and its country, the user agent of the browser, the
 * source and the age; device.seen and order.placed at purchase_time
 * (the amount in USD cents); a label `--label-delay` after the purchase.
 * A label goes to the scorer's query endpoint as an analyst's label
 * request (stream_label) with its event time as `ts`.
 * The stream is sorted by (event time, labels after every other event of
 * the same time, input row, signup < visit < order): within a minute a
 * user's own events keep their order and users keep file order, and a
 * label never reaches an order of its own minute.
 *
 * Ids: events "s", "v", "o", "l" + user id; account "u" + user id;
 * order "o" + user id. IPv4 text from the floored integer.
 *
 * Invariants:
 *  - stream_build() is deterministic in (rows, options).
 *
 * See also: replay.h, notes/issue7/REPORT.md section 1
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "tools/vigil-replay/replay.h"

/* The user agent each browser of the data set is sent with. */
static const char *const user_agents[RB_COUNT] = {
    [RB_CHROME] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                  "AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0.0.0 Safari/537.36",
    [RB_FIREFOX] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) "
                   "Gecko/20100101 Firefox/121.0",
    [RB_SAFARI] = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) "
                  "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
                  "Safari/605.1.15",
    [RB_IE] = "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
    [RB_OPERA] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
                 "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
                 "Safari/537.36 OPR/106.0.0.0",
};

static const char kind_letter[] = { 's', 'v', 'o', 'l' };

const char *
stream_kind_name(enum replay_kind k)
{
    static const char *const names[] = { "account.signup", "device.seen",
        "order.placed", "label" };

    return (unsigned)k < ARRAY_LEN(names) ? names[k] : "unknown";
}

bool
stream_is_holdout(uint64_t user_id, uint64_t seed, double fraction)
{
    uint8_t key[32], h[8];
    char text[48];
    uint64_t v = 0;
    int n;

    n = snprintf(text, sizeof(text), "vigil-replay-split:%" PRIu64, seed);
    crypto_generichash(key, sizeof(key), (const uint8_t *)text,
        (unsigned long long)n, NULL, 0);
    n = snprintf(text, sizeof(text), "%" PRIu64, user_id);
    crypto_generichash(h, sizeof(h), (const uint8_t *)text,
        (unsigned long long)n, key, sizeof(key));
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return (double)v / 18446744073709551616.0 < fraction;
}

static int
by_replay_order(const void *a, const void *b)
{
    const struct replay_ev *x = a, *y = b;
    int lx = x->kind == RK_LABEL, ly = y->kind == RK_LABEL;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (lx != ly)
        return lx - ly;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

static int
by_user(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

int
stream_build(struct replay_data *d, const struct replay_opts *o, char *err,
    size_t errlen)
{
    uint64_t *ids = xcalloc(d->nrows, sizeof(*ids));
    size_t k = 0;

    for (size_t i = 0; i < d->nrows; i++)
        ids[i] = d->rows[i].user_id;
    qsort(ids, d->nrows, sizeof(*ids), by_user);
    for (size_t i = 1; i < d->nrows; i++) {
        if (ids[i] == ids[i - 1]) {
            snprintf(err, errlen,
                "user_id %" PRIu64 " appears twice: ids "
                "of events, accounts and orders derive from it",
                ids[i]);
            free(ids);
            return ERR_INVAL;
        }
    }
    free(ids);
    d->evs = xcalloc(d->nrows * 4, sizeof(*d->evs));
    for (size_t i = 0; i < d->nrows; i++) {
        struct replay_row *r = &d->rows[i];
        uint64_t label_ts = r->purchase_ms + o->label_delay_ms;

        r->holdout = o->holdout >= 0 &&
            stream_is_holdout(r->user_id, o->split_seed, o->holdout);
        if (r->signup_ms < EVENT_MIN_TS || r->purchase_ms < EVENT_MIN_TS ||
            label_ts > EVENT_MAX_TS || label_ts < r->purchase_ms) {
            snprintf(err, errlen,
                "user_id %" PRIu64 ": an event time (label included) is "
                "outside 2000-01-01 .. 2100-01-01",
                r->user_id);
            return ERR_INVAL;
        }
        d->evs[k++] =
            (struct replay_ev){ r->signup_ms, (uint32_t)i, RK_SIGNUP };
        d->evs[k++] =
            (struct replay_ev){ r->purchase_ms, (uint32_t)i, RK_VISIT };
        d->evs[k++] =
            (struct replay_ev){ r->purchase_ms, (uint32_t)i, RK_ORDER };
        d->evs[k++] = (struct replay_ev){ label_ts, (uint32_t)i, RK_LABEL };
    }
    d->nevs = k;
    qsort(d->evs, d->nevs, sizeof(*d->evs), by_replay_order);
    return 0;
}

void
stream_id(const struct replay_data *d, size_t i, char *out)
{
    const struct replay_ev *e = &d->evs[i];

    snprintf(out, EVENT_ID_MAX + 1, "%c%" PRIu64, kind_letter[e->kind],
        d->rows[e->row].user_id);
}

/* The source of row r's label: "replay", or with --holdout its part. */
static const char *
label_source(const struct replay_opts *o, const struct replay_row *r)
{
    return o->holdout < 0 ? "replay" :
        r->holdout        ? "replay-holdout" :
                            "replay-train";
}

void
stream_label(const struct replay_data *d, const struct replay_opts *o, size_t i,
    struct qproto_request *q)
{
    const struct replay_ev *e = &d->evs[i];
    const struct replay_row *r = &d->rows[e->row];

    memset(q, 0, sizeof(*q));
    q->op = QPROTO_OP_LABEL;
    stream_id(d, i, q->id);
    snprintf(q->purpose, sizeof(q->purpose), "fraud-prevention");
    snprintf(q->storefront, sizeof(q->storefront), "%s", o->storefront);
    snprintf(q->order, sizeof(q->order), "o%" PRIu64, r->user_id);
    q->fraud = r->label != 0;
    snprintf(q->source, sizeof(q->source), "%s", label_source(o, r));
    q->ts = e->ts;
    q->args =
        QPROTO_ARG_ORDER | QPROTO_ARG_FRAUD | QPROTO_ARG_SOURCE | QPROTO_ARG_TS;
}

void
stream_fill(const struct replay_data *d, size_t i, struct event *ev,
    struct event_pii *pii)
{
    const struct replay_ev *e = &d->evs[i];
    const struct replay_row *r = &d->rows[e->row];
    uint32_t ip = r->ip;

    memset(ev, 0, sizeof(*ev));
    memset(pii, 0, sizeof(*pii));
    ev->ts = e->ts;
    stream_id(d, i, pii->id);
    snprintf(pii->account, sizeof(pii->account), "u%" PRIu64, r->user_id);
    ev->has |= EVENT_HAS_ACCOUNT;
    if (e->kind == RK_LABEL)
        fatalx("%s: invariant: a label is a query request", __func__);
    /* The network fields every other event carries. */
    snprintf(pii->device, sizeof(pii->device), "%s", r->device);
    snprintf(pii->ip, sizeof(pii->ip), "%u.%u.%u.%u", ip >> 24,
        (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    snprintf(pii->ua, sizeof(pii->ua), "%s", user_agents[r->browser]);
    if (r->country[0] != '\0') {
        memcpy(ev->ip_country, r->country, 3);
        ev->has |= EVENT_HAS_IP_COUNTRY;
    }
    switch (e->kind) {
    case RK_SIGNUP:
        ev->type = EVENT_ACCOUNT_SIGNUP;
        snprintf(ev->source, sizeof(ev->source), "%s", r->source);
        if (r->has_age) {
            ev->age = r->age;
            ev->has |= EVENT_HAS_AGE;
        }
        break;
    case RK_VISIT:
        ev->type = EVENT_DEVICE_SEEN;
        break;
    default:
        ev->type = EVENT_ORDER_PLACED;
        snprintf(pii->order, sizeof(pii->order), "o%" PRIu64, r->user_id);
        ev->has |= EVENT_HAS_ORDER;
        ev->amount = r->amount;
        memcpy(ev->currency, "USD", 4);
        break;
    }
}
