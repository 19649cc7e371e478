/*
 * labels.h - Shopify's fraud outcomes as labels: fraud cancellations and
 *            chargebacks, sent to the scorer as the fraud team's `label`
 *
 * Labels are the fraud team's (scorer.8 AUTHORIZATION: op label, role
 * analyst), never a storefront's, so the bridge does not send them as
 * the shop. With `label_cert` (a certificate of role analyst, its own:
 * `vigilctl client add vigil-shopify-labels --role analyst`) it sends
 * each one to the scorer's query endpoint as op `label`:
 *   orders/cancelled, cancel_reason fraud     -> order fraud
 *   disputes/create|update, chargeback for reason fraudulent or
 *     unrecognized                            -> order fraud
 *   the same chargeback, status won           -> order not fraud
 * naming the shop as the storefront, the order by its Shopify id, source
 * "shopify.<topic with '/' as '.'>", ts the outcome's time, purpose
 * fraud-prevention (cancellations) or chargeback-review (disputes), the
 * case reference "shopify-webhook-<webhook id>" and the request id
 * "shopify-label-<webhook id>": the scorer derives the label event's id
 * from (shop, the bridge's analyst name, request id), so a retried
 * delivery is applied once even when the bridge's dedup file missed it.
 * The scorer audits the label (op label, actor the bridge's analyst
 * name, the purpose and the case) and makes it durable before it
 * answers; the delivery is answered 200 only then. An order Vigil never
 * saw is 200 too (nothing to label; counted as labels_unknown): Shopify
 * would otherwise retry it for hours.
 * Without label_cert the outcomes are answered 200 and counted as
 * labels_withheld, and the bridge says so at start.
 *
 * Threads: labels_take() runs on an HTTP thread; the jobs run on one
 * worker thread, which answers each suspended delivery: 200 (labelled,
 * already labelled, or an unknown order), 503 when the scorer is down,
 * late or refuses for a reason that may pass, 500 when it refuses the
 * request itself (the certificate's role, a value): logged.
 *
 * Invariants:
 *  - a job holds a raw order id: it is wiped when freed and never
 *    reaches a log line.
 *  - every queued delivery is answered exactly once: by the worker, or
 *    503 by labels_close().
 *
 * See also: shopify.h, http.c, topics.c (map_order_status, map_dispute),
 *           qclient.h, tools/vigil-shopify.8 "LABELS", scorer/query.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_LABELS_H
#define VIGIL_SHOPIFY_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/event.h"
#include "common/qproto.h"
#include "tools/vigil-shopify/qclient.h"
#include "tools/vigil-shopify/topics.h"

struct shopify;
struct req;
struct labels;

/* One label to send, taken from a mapped delivery. */
struct labels_job {
    char order[EVENT_ID_MAX + 1]; /* the Shopify order id: raw, wiped */
    bool fraud;
    char source[QPROTO_SOURCE_MAX + 1]; /* "shopify.orders.cancelled" */
    uint64_t ts;                        /* the outcome's event time, ms */
    bool chargeback;                    /* purpose chargeback-review */
    char case_ref[QCLIENT_CASE_MAX + 1];
    char req_id[EVENT_ID_MAX + 1]; /* "shopify-label-<webhook id>" */
};

/*
 * Take the label event `e` of topic `k` (delivery `webhook_id`) into a
 * new job *out (free it with labels_job_free()). Returns 0, or ERR_INVAL
 * when the event names no order (then *out is NULL).
 */
int labels_take(enum topics_kind k, const struct topics_ev *e,
    const char *webhook_id, struct labels_job **out) WARN_UNUSED
    NONNULL(2, 3, 4);

/* Wipe and free. NULL is a no-op. */
void labels_job_free(struct labels_job *job);

/*
 * Start the label worker when cfg.label_cert is set (checked: a
 * certificate of role analyst), else log that labels are withheld and
 * leave *out NULL. Returns 0, ERR_INVAL (the certificate, logged) or
 * ERR_IO. Main thread; close with labels_close().
 */
int labels_open(struct shopify *sh, struct labels **out) WARN_UNUSED
    NONNULL(1, 2);

/*
 * Queue the suspended delivery `r` (r->lab set). Returns 0, or ERR_FULL
 * / ERR_SHUTDOWN: the caller then answers 503 itself.
 */
int labels_submit(struct labels *lb, struct req *r) WARN_UNUSED NONNULL(1, 2);

/* Stop the worker, answer what is still queued 503, free. NULL: no-op. */
void labels_close(struct labels *lb);

#endif
