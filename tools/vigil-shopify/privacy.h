/*
 * privacy.h - the mandatory privacy webhooks: a person's subject report
 *             and erasures, through the scorer's audited DPO operations
 *
 * Shopify sends every public app three compliance topics
 * (shopify.dev/docs/apps/build/compliance/privacy-law-compliance):
 *   customers/data_request  -> subject.report of the customer's account,
 *                              email and phone (as the payload gives
 *                              them) and of each order in
 *                              orders_requested,
 *                              written as files for the merchant: one
 *                              proof file per audited access, each
 *                              accepted by `vigilctl audit check-proof`,
 *                              and report.json naming them;
 *   customers/redact        -> subject.erase of the account, email and
 *                              phone, and of each order in
 *                              orders_to_redact;
 *   shop/redact             -> subject.erase of kind storefront: all of
 *                              the shop's data (its accounts, orders and
 *                              what no other storefront's event names).
 * The requests go to the scorer's query endpoint (common/qproto.h) over
 * CURVE with the bridge's own certificate of role dpo (dpo_cert), naming
 * the shop as the storefront, purpose access-request or erasure-request,
 * and as case reference the Shopify request: "shopify-data-request-<id>"
 * (the payload's data_request.id) or "shopify-webhook-<webhook id>"
 * (a webhook id that is not 1..48 of [A-Za-z0-9._-] is replaced by 32
 * hex digits of its BLAKE2b hash, to fit qproto's case rule).
 * The scorer writes the audit record (the case as a keyed hash) before
 * it answers.
 *
 * Threads: privacy_parse() runs on an HTTP thread; the jobs run on one
 * worker thread (privacy.c), which answers each suspended delivery: 200
 * once every operation was answered ok by the scorer (and the report's
 * files are fsynced), 503 when the scorer is down, late or refuses for a
 * reason that may pass (Shopify retries; a repeated erasure answers
 * erased=false and is fine), 500 when it refuses the request itself (the
 * certificate's role, a value): logged for the operator.
 *
 * Invariants:
 *  - a job holds raw identifiers (customer and order ids): it is wiped
 *    when freed, and no identifier reaches a log line or a file name;
 *    report.json names subjects by the scorer's tokens only.
 *
 * See also: shopify.h, http.c, tools/vigil-shopify.8 "PRIVACY",
 *           scorer/query_dpo.c, tools/vigilctl/cmd_subject.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_PRIVACY_H
#define VIGIL_SHOPIFY_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/compiler.h"
#include "tools/vigil-shopify/topics.h"

#define PRIVACY_MAX_ORDERS 1000 /* orders named by one request, at most */
#define PRIVACY_CASE_MAX   64   /* qproto's case reference */
#define PRIVACY_ID_MAX     20   /* a Shopify id in decimal */
#define PRIVACY_TEXT_MAX   320  /* an email or a phone number, at most */

/* One privacy request, parsed from its delivery. */
struct privacy_job {
    enum topics_kind kind;
    char customer[PRIVACY_ID_MAX + 1]; /* raw: wiped */
    char email[PRIVACY_TEXT_MAX + 1];  /* customer.email or "": wiped */
    char phone[PRIVACY_TEXT_MAX + 1];  /* customer.phone or "": wiped */
    unsigned norders;
    char (*orders)[PRIVACY_ID_MAX + 1]; /* norders, owned, raw: wiped */
    char case_ref[PRIVACY_CASE_MAX + 1];
    char why[TOPICS_WHY_MAX + 1]; /* a refusal: names a field */
};

/*
 * Parse the body `root` of privacy topic `k` (shop `shop`, delivery
 * `webhook_id`) into a new job *out, made in every case (free it with
 * privacy_job_free()). Returns 0, ERR_MALFORMED (a field of the wrong
 * type, a required one missing: HTTP 400) or ERR_INVAL (too many
 * orders, another shop's domain: 422), with (*out)->why set.
 */
int privacy_parse(enum topics_kind k, const json_t *root, const char *shop,
    const char *webhook_id, struct privacy_job **out) WARN_UNUSED
    NONNULL(2, 3, 4, 5);

/* Wipe and free. NULL is a no-op. */
void privacy_job_free(struct privacy_job *job);

#endif
