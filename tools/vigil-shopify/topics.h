/*
 * topics.h - Shopify webhook topics to Vigil events
 *
 * The pure half of the bridge: one verified delivery (its topic, its
 * parsed JSON body, its webhook id and trigger time) becomes up to
 * TOPICS_MAX_EVENTS storefront events (struct event + struct event_pii,
 * exactly what sfproto_event_pack() sends), or a refusal naming the
 * field and the rule. No I/O; called on the HTTP threads (http.c) after
 * the signature check; tested by tests/unit/test_shopify_topics.c.
 *
 * Reading rules (tools/vigil-shopify.8 "FIELDS" lists every field):
 *  - strict JSON types: a field read with the wrong type (a number for
 *    "total_price", a string for "id") refuses the delivery
 *    (ERR_MALFORMED: HTTP 400); JSON null is the same as absent;
 *    unknown fields are ignored.
 *  - a missing field leaves its event field absent; only the fields an
 *    event cannot exist without (the resource's id, an order's
 *    total_price and currency, some time) are required.
 *  - a value of the right type that Vigil's storefront protocol would
 *    refuse (an IP that is not an address, a 1-digit BIN, control
 *    characters, a name over 256 bytes) is left out and counted in
 *    `dropped`, so that one odd field never costs the order its score.
 *  - event ids are "<X-Shopify-Webhook-Id>:<n>" (n from 1), so a retried
 *    delivery maps to the same Vigil event ids and Vigil's own dedup
 *    answers it with the first reply, and no event id is derived from a
 *    customer's or an order's id.
 *
 * Invariants:
 *  - every event topics_map() returns passes sfproto's decoder
 *    (checked by the unit test over every documented payload).
 *  - messages in `why` name fields and rules, never a value.
 *  - topics_json_init() makes every buffer jansson frees be wiped, so a
 *    parsed body leaves no copy of its identifiers in freed memory.
 *
 * See also: common/sfproto.h, common/event.h, money.h, rfc3339.h,
 *           tools/vigil-shopify.8 "TOPICS" and "FIELDS"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_TOPICS_H
#define VIGIL_SHOPIFY_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/event.h"

#define TOPICS_MAX_EVENTS     3   /* events from one delivery, at most */
#define TOPICS_WEBHOOK_ID_MAX 100 /* "<id>:<n>" fits EVENT_ID_MAX */
#define TOPICS_TOPIC_MAX      64
#define TOPICS_GID_MAX        64 /* "gid://shopify/Order/<20 digits>" */
#define TOPICS_WHY_MAX        127
/* The largest batch topics_pack() makes: 3 events with every field at
 * its longest fit (unit.shopify_topics packs the worst case). */
#define TOPICS_FRAME_MAX (16 * 1024)

/* The topics the bridge knows (X-Shopify-Topic). */
enum topics_kind {
    TOPICS_UNKNOWN = 0, /* not mapped: acknowledged, no event */
    TOPICS_CUSTOMERS_CREATE,
    TOPICS_CUSTOMERS_UPDATE,
    TOPICS_ORDERS_CREATE,
    TOPICS_ORDERS_PAID,
    TOPICS_ORDERS_CANCELLED,
    TOPICS_REFUNDS_CREATE,
    TOPICS_DISPUTES_CREATE,
    TOPICS_DISPUTES_UPDATE,
    /* The mandatory privacy (compliance) topics. */
    TOPICS_CUSTOMERS_DATA_REQUEST,
    TOPICS_CUSTOMERS_REDACT,
    TOPICS_SHOP_REDACT,
};

/* What a delivery carries besides its body. */
struct topics_in {
    const char *webhook_id; /* X-Shopify-Webhook-Id, topics_token_ok() */
    uint64_t triggered_ms;  /* X-Shopify-Triggered-At, 0 when absent */
};

/* One event: the plain fields and the raw identifiers (event.h). */
struct topics_ev {
    struct event ev;
    struct event_pii pii;
};

/*
 * The events of one delivery. Holds raw identifiers: wipe it with
 * topics_wipe() as soon as it is packed.
 */
struct topics_out {
    unsigned n; /* events in ev[] */
    struct topics_ev ev[TOPICS_MAX_EVENTS];
    unsigned dropped;                   /* values left out (see above) */
    bool is_order;                      /* orders/create: ev[1] */
    char order_gid[TOPICS_GID_MAX + 1]; /* its Admin API id */
    char why[TOPICS_WHY_MAX + 1];       /* refusal, or why no event */
};

/* The topic named `topic`, or TOPICS_UNKNOWN. */
enum topics_kind topics_kind_parse(const char *topic) NONNULL(1);

/* True for customers/data_request, customers/redact and shop/redact. */
bool topics_is_privacy(enum topics_kind k);

/*
 * True when `s` is 1..max bytes of [A-Za-z0-9._:/-] (a header value
 * that may reach a log line or an event id: topic, webhook id, event
 * id).
 */
bool topics_token_ok(const char *s, size_t max) NONNULL(1);

/*
 * Map the delivery of topic `k` whose body parsed to `root` into `out`
 * (zeroed first). A topic with nothing to tell Vigil (refunds, a
 * customer's cancellation, an inquiry) gives out->n == 0 and the reason
 * in out->why. `root` is borrowed; out keeps no pointer into it.
 * Returns 0, ERR_MALFORMED (not an object, a wrong type, a required
 * field missing: the sender's fault, HTTP 400) or ERR_INVAL (a required
 * value Vigil cannot take, e.g. an amount over 10^12 minor units or a
 * time outside 2000..2100: HTTP 422); out->why says which field.
 */
int topics_map(enum topics_kind k, const json_t *root,
    const struct topics_in *in, struct topics_out *out) WARN_UNUSED
    NONNULL(2, 3, 4);

/*
 * Append out's events to `frame` as one storefront batch (an array of
 * out->n maps, sfproto.h section 1). Returns 0, ERR_INVAL (n is 0) or
 * ERR_TOOBIG (frame's cap; frame is then as it was).
 */
int topics_pack(const struct topics_out *out, struct buf *frame) WARN_UNUSED
    NONNULL(1, 2);

/* Wipe every raw identifier in `out` (sodium_memzero of the whole). */
void topics_wipe(struct topics_out *out) NONNULL(1);

/*
 * Make jansson allocate through xmalloc and wipe every block it frees.
 * Call once, before any thread parses JSON.
 */
void topics_json_init(void);

#endif
