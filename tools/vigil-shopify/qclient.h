/*
 * qclient.h - the bridge's requests to the scorer's query endpoint:
 *             one exchange per socket, the case reference of a delivery
 *
 * Shared by the two workers that speak qproto (common/qproto.h) to the
 * scorer: privacy.c (the DPO's subject.report and subject.erase, with
 * dpo_cert) and labels.c (the analyst's label, with label_cert). Each
 * exchange opens a REQ socket with the worker's certificate, sends one
 * request, waits for its reply within a deadline and closes the socket,
 * so that a late reply can never be taken for the next request's.
 *
 * Invariants:
 *  - the encoded request (it may hold raw identifiers) is wiped before
 *    it is freed; the reply buffer is the caller's to wipe.
 *
 * See also: privacy.h, labels.h, common/qproto.h, common/zclient.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_QCLIENT_H
#define VIGIL_SHOPIFY_QCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/qproto.h"
#include "common/zclient.h"

#define QCLIENT_CASE_MAX 64 /* qproto's case reference */

/*
 * Send `q` on a fresh REQ socket of libzmq context `ctx` set up as `conn`
 * says, and wait until `deadline_ms` (monotonic) for the reply into
 * `reply` (reset first). `who` names the worker in log lines. Returns
 * 0, ERR_AGAIN (no reply in time), ERR_INVAL (not encodable),
 * ERR_MALFORMED (not one frame) or the connection's error.
 */
int qclient_exchange(void *ctx, const struct zclient_opts *conn,
    const char *who, const struct qproto_request *q, uint64_t deadline_ms,
    struct buf *reply) WARN_UNUSED NONNULL(1, 2, 3, 4, 6);

/*
 * True for the reply codes worth a retry (the scorer unavailable or
 * busy, the audit log or the disk failing): the delivery is then 503,
 * so that Shopify sends it again.
 */
bool qclient_code_transient(int code);

/*
 * The case reference of a delivery, "shopify-webhook-<webhook id>" when
 * the id fits qproto's rule (1..48 of [A-Za-z0-9._-]), else the prefix
 * and 32 hex digits of the id's BLAKE2b hash.
 */
void qclient_webhook_case(
    char out[QCLIENT_CASE_MAX + 1], const char *webhook_id) NONNULL(1, 2);

#endif
