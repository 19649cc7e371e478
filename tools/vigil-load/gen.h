/*
 * gen.h - vigil-load's event stream: shoppers and fraud campaigns as
 *         struct event + struct event_pii
 *
 * The generator plays the world (world.h) as a stream of storefront
 * events: visits, signups, logins, orders with their payment results,
 * and labels after some fraud campaigns, with a share of the events from
 * fraud campaigns (card testing, account farms, country mismatch,
 * brand-new accounts ordering big). Each event is written the way the
 * collector decodes it (sfproto.h): plain fields and EVENT_HAS_* bits in
 * struct event, raw identifiers in struct event_pii, ready for
 * sfproto_event_pack(). run.c calls gen_event() once per event sent;
 * one thread.
 *
 * Invariants:
 *  - event ids are "<tag>-<seq>" with seq counting every event made
 *    (probes included), so ids are unique per run and consecutive.
 *  - the same seed gives the same returning shoppers (accounts, devices,
 *    cards) on every run; the tag, new accounts and campaigns differ.
 *
 * See also: world.h, common/event.h, common/sfproto.h,
 *           tools/vigil-load.1 (DESCRIPTION)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_LOAD_GEN_H
#define VIGIL_LOAD_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/event.h"

/* The behaviour an event was generated for. */
enum gen_pattern {
    GEN_PAT_NORMAL = 0,
    GEN_PAT_CARD_TESTING,
    GEN_PAT_ACCOUNT_FARM,
    GEN_PAT_COUNTRY_MISMATCH,
    GEN_PAT_NEW_BIG,
    GEN_PAT_COUNT
};

/* What the generator says about one event it made. */
struct gen_info {
    uint64_t seq;         /* the event's sequence number (its id's tail) */
    bool is_order;        /* an order.placed */
    enum gen_pattern pat; /* normal, or the fraud campaign */
    char order[48];       /* orders: the order id */
    uint64_t amount;      /* orders: amount in minor units */
    const char *currency; /* orders: ISO 4217 code; static */
    unsigned minor;       /* orders: minor units per major unit */
};

struct gen;

/*
 * Create a generator for population `seed`, with `fraud_share` (0..1)
 * of the events from fraud campaigns, only order.placed events when
 * `orders_only`. The run tag mixes the seed with the clocks and the
 * process id. Caller frees with gen_free(). Never fails.
 */
struct gen *gen_new(uint64_t seed, double fraud_share, bool orders_only);

/* Free `g` (wiping the identities it holds). NULL is a no-op. */
void gen_free(struct gen *g);

/*
 * Make the next event of the stream at time `ts` (ms since the epoch)
 * into `*ev` and `*pii` (overwritten) and describe it in `*info`.
 */
void gen_event(struct gen *g, uint64_t ts, struct event *ev,
    struct event_pii *pii, struct gen_info *info) NONNULL(1, 3, 4, 5);

/*
 * Make a harmless device.seen of a returning shopper into `*ev` and
 * `*pii`: the probe that checks that the collector answers. It takes a
 * sequence number but is not counted as a pattern event.
 */
void gen_probe(struct gen *g, uint64_t ts, struct event *ev,
    struct event_pii *pii) NONNULL(1, 3, 4);

/* Return the run tag, the prefix of every event id; borrowed, valid
 * until gen_free(). */
const char *gen_tag(const struct gen *g) NONNULL(1);

/* Return how many events of pattern `p` were made so far. */
uint64_t gen_pattern_events(const struct gen *g, enum gen_pattern p) NONNULL(1);

/* Return "normal", "card-testing", ...; static. */
const char *gen_pattern_name(enum gen_pattern p);

#endif
