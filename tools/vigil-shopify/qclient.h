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
#include "common/cert.h"
#include "common/compiler.h"
#include "common/qproto.h"
#include "common/zclient.h"

struct config;

#define QCLIENT_CASE_MAX 64 /* qproto's case reference */

/* A worker's way to the query endpoint. */
struct qclient {
    void *ctx;                /* owned: the worker's own libzmq context */
    struct zclient_opts conn; /* strings borrowed from the configuration */
};

/*
 * Set up `qc` for a worker that speaks as the client certificate
 * `cert_path`, the value of configuration key `key` in `c`, which must
 * hold the role `role` (`client` is the name the refusal suggests for
 * `vigilctl client add`); the certificate's name is copied to `name`.
 * The endpoint, server key, keys directory and mode are `c`'s. Returns
 * 0, ERR_INVAL (logged: the certificate unreadable or of another role)
 * or ERR_IO (no libzmq context); on error `qc` holds nothing.
 */
int qclient_open(struct qclient *qc, const struct config *c, const char *key,
    const char *cert_path, const char *role, const char *client,
    char name[CERT_NAME_MAX + 1]) WARN_UNUSED NONNULL(1, 2, 3, 4, 5, 6, 7);

/* Release what qclient_open set up; `qc` zeroed (or never opened) is fine. */
void qclient_close(struct qclient *qc) NONNULL(1);

/*
 * Send `q` on a fresh REQ socket of `qc`'s libzmq context set up as its
 * options say, and wait until `deadline_ms` (monotonic) for the reply into
 * `reply` (reset first). `who` names the worker in log lines. Returns
 * 0, ERR_AGAIN (no reply in time), ERR_INVAL (not encodable),
 * ERR_MALFORMED (not one frame) or the connection's error.
 */
int qclient_exchange(const struct qclient *qc, const char *who,
    const struct qproto_request *q, uint64_t deadline_ms,
    struct buf *reply) WARN_UNUSED NONNULL(1, 2, 3, 5);

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
