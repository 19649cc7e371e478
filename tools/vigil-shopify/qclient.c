/*
 * qclient.c - one request to the scorer's query endpoint (qclient.h)
 *
 * A REQ socket per exchange (zclient.h sets up CURVE with the worker's
 * certificate), closed after the reply or the deadline: a late reply is
 * dropped with its socket. Runs on the worker threads (privacy.c,
 * labels.c); `ctx` is the worker's own libzmq context.
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
#include "tools/vigil-shopify/qclient.h"

int
qclient_exchange(void *ctx, const struct zclient_opts *conn, const char *who,
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
    rc = zclient_connect(ctx, ZSOCK_REQ, conn, &sock, err, sizeof(err));
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
