/*
 * qclient.c - one request to the scorer's query endpoint (qclient.h)
 *
 * A REQ socket per exchange (zclient.h sets up CURVE with the worker's
 * certificate), closed after the reply or the deadline: a late reply is
 * dropped with its socket. Runs on the worker threads (privacy.c,
 * labels.c); each worker has its own libzmq context (struct qclient),
 * set up with its certificate by qclient_open on the main thread.
 *
 * Invariants:
 *  - the encoded request is wiped before it is freed.
 *
 * See also: qclient.h, common/qproto.h, common/zclient.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/zsock.h"
#include "tools/vigil-shopify/config.h"
#include "tools/vigil-shopify/qclient.h"

int
qclient_open(struct qclient *qc, const struct config *c, const char *key,
    const char *cert_path, const char *role, const char *client,
    char name[CERT_NAME_MAX + 1])
{
    struct cert_secret *secret = NULL;
    struct cert me;
    char err[512];
    int rc;

    memset(qc, 0, sizeof(*qc));
    name[0] = '\0';
    rc = cert_load(cert_path, &me, &secret, err, sizeof(err));
    cert_secret_free(secret);
    if (rc != 0) {
        log_warnx("%s: %s (make one with `vigilctl client add %s --role %s`)",
            key, err, client, role);
        return ERR_INVAL;
    }
    if (strcmp(me.role, role) != 0) {
        log_warnx(
            "%s '%s' has the role '%s', not %s", key, cert_path, me.role, role);
        return ERR_INVAL;
    }
    qc->conn.endpoint = c->query_endpoint;
    qc->conn.cert = cert_path;
    qc->conn.server_key = c->server_key[0] != '\0' ? c->server_key : NULL;
    qc->conn.keys_dir = c->keys_dir;
    qc->conn.insecure = c->insecure_dev;
    qc->ctx = zsock_ctx_new();
    if (qc->ctx == NULL)
        return ERR_IO;
    memcpy(name, me.name, sizeof(me.name));
    return 0;
}

void
qclient_close(struct qclient *qc)
{
    if (qc->ctx != NULL)
        zsock_ctx_term(qc->ctx);
    qc->ctx = NULL;
}

int
qclient_exchange(const struct qclient *qc, const char *who,
    const struct qproto_request *q, uint64_t deadline_ms, struct buf *reply)
{
    struct zsock_pollitem pi;
    struct zsock_msg m;
    struct iovec iov;
    struct buf req;
    char err[512];
    void *sock = NULL;
    uint64_t now;
    int rc, nready = 0;

    buf_reset(reply);
    buf_init(&req, QPROTO_MAX_BYTES);
    rc = qproto_request_encode(&req, q);
    if (rc != 0)
        goto out;
    rc =
        zclient_connect(qc->ctx, ZSOCK_REQ, &qc->conn, &sock, err, sizeof(err));
    if (rc != 0) {
        log_warnx("%s: %s", who, err);
        goto out;
    }
    iov.iov_base = req.data;
    iov.iov_len = req.len;
    rc = zsock_send_parts(sock, &iov, 1, ZSOCK_DONTWAIT);
    if (rc == ERR_AGAIN) /* not connected yet: queued, bounded below */
        rc = zsock_send_parts(sock, &iov, 1, 0);
    if (rc != 0)
        goto out;
    now = clock_mono_ms();
    pi.sock = sock;
    pi.fd = 0;
    pi.events = ZSOCK_POLLIN;
    pi.revents = 0;
    rc = zsock_poll(
        &pi, 1, now < deadline_ms ? (long)(deadline_ms - now) : 0, &nready);
    if (rc == 0 && nready == 0)
        rc = ERR_AGAIN;
    if (rc != 0)
        goto out;
    memset(&m, 0, sizeof(m));
    rc = zsock_recv_msg(sock, &m, 0);
    if (rc != 0)
        goto out;
    if (m.nparts != 1 || m.overflow)
        rc = ERR_MALFORMED;
    else
        rc = buf_append(reply, zsock_msg_data(&m, 0), zsock_msg_size(&m, 0));
    zsock_msg_close(&m);
out:
    zsock_close(sock);
    buf_wipe_release(&req);
    return rc;
}

bool
qclient_code_transient(int code)
{
    return code == ERR_UNAVAIL || code == ERR_AUDIT || code == ERR_AGAIN ||
        code == ERR_SHUTDOWN || code == ERR_IO || code == ERR_FULL ||
        code == ERR_BUSY;
}

void
qclient_webhook_case(char out[QCLIENT_CASE_MAX + 1], const char *webhook_id)
{
    static const char prefix[] = "shopify-webhook-";
    size_t n = strlen(webhook_id), i;
    bool ok = n >= 1 && n <= QCLIENT_CASE_MAX - (sizeof(prefix) - 1);
    uint8_t h[16];
    char hex[2 * sizeof(h) + 1];

    for (i = 0; ok && i < n; i++) {
        char c = webhook_id[i];

        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    }
    if (ok) {
        (void)snprintf(out, QCLIENT_CASE_MAX + 1, "%s%s", prefix, webhook_id);
        return;
    }
    crypto_generichash(h, sizeof(h), (const uint8_t *)webhook_id, n, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    (void)snprintf(out, QCLIENT_CASE_MAX + 1, "%s%s", prefix, hex);
}
