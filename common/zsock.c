/*
 * zsock.c - a thin libzmq wrapper: error translation and multipart frames
 *
 * The only file that calls zmq_*. Each libzmq failure is translated here,
 * once: EAGAIN/EINTR -> ERR_AGAIN, ETERM -> ERR_SHUTDOWN, anything else
 * -> ERR_IO, logged with zmq_strerror(). Runs in the thread that owns the
 * socket; holds no state of its own.
 *
 * Invariants:
 *  - zsock_recv_msg() consumes every part of a message, even on overflow.
 *
 * See also: zsock.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <string.h>

#include <zmq.h>

#include "common/err.h"
#include "common/log.h"
#include "common/zsock.h"

/* Translate errno after a failed zmq_* call made by `what`. */
static int
zsock_err(const char *what)
{
    int e = zmq_errno();

    switch (e) {
    case EAGAIN:
    case EINTR:
        return ERR_AGAIN;
    case ETERM:
        return ERR_SHUTDOWN;
    default:
        log_warnx("%s: %s", what, zmq_strerror(e));
        return ERR_IO;
    }
}

void *
zsock_ctx_new(void)
{
    void *ctx = zmq_ctx_new();

    if (ctx == NULL)
        log_warnx("zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
    return ctx;
}

void
zsock_ctx_term(void *ctx)
{
    int rc;

    if (ctx == NULL)
        return;
    do {
        rc = zmq_ctx_term(ctx);
    } while (rc != 0 && zmq_errno() == EINTR);
}

int
zsock_setopt_int(void *s, int opt, int v)
{
    if (zmq_setsockopt(s, opt, &v, sizeof(v)) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

int
zsock_setopt_i64(void *s, int opt, int64_t v)
{
    if (zmq_setsockopt(s, opt, &v, sizeof(v)) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

int
zsock_open(void *ctx, int type, void **out)
{
    void *s;
    int rc;

    *out = NULL;
    s = zmq_socket(ctx, type);
    if (s == NULL)
        return zsock_err("zmq_socket");
    rc = zsock_setopt_int(s, ZMQ_LINGER, 0);
    if (rc != 0)
        goto fail;
    rc = zsock_setopt_int(s, ZMQ_SNDHWM, ZSOCK_HWM);
    if (rc != 0)
        goto fail;
    rc = zsock_setopt_int(s, ZMQ_RCVHWM, ZSOCK_HWM);
    if (rc != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    zmq_close(s);
    return rc;
}

void
zsock_close(void *s)
{
    if (s != NULL)
        zmq_close(s);
}

int
zsock_bind(void *s, const char *ep)
{
    if (zmq_bind(s, ep) != 0) {
        int e = zmq_errno();

        if (e == ETERM)
            return ERR_SHUTDOWN;
        log_warnx("cannot bind '%s': %s", ep, zmq_strerror(e));
        return ERR_IO;
    }
    return 0;
}

int
zsock_connect(void *s, const char *ep)
{
    if (zmq_connect(s, ep) != 0) {
        int e = zmq_errno();

        if (e == ETERM)
            return ERR_SHUTDOWN;
        log_warnx("cannot connect to '%s': %s", ep, zmq_strerror(e));
        return ERR_IO;
    }
    return 0;
}

/*
 * Receive one part. A part after the first is already queued (libzmq
 * delivers whole messages), so an EINTR there is retried rather than
 * leaving the socket mid-message.
 */
static int
zsock_recv_part(zmq_msg_t *p, void *s, int flags, bool retry_eintr)
{
    int n;

    do {
        n = zmq_msg_recv(p, s, flags);
    } while (n < 0 && retry_eintr && zmq_errno() == EINTR);
    return n;
}

int
zsock_recv_msg(void *s, struct zsock_msg *m, int flags)
{
    int rc;

    m->nparts = 0;
    m->total = 0;
    m->overflow = false;
    for (;;) {
        zmq_msg_t *p = &m->part[m->nparts];

        zmq_msg_init(p);
        /* Only the first part may wait; the rest arrive together. */
        if (zsock_recv_part(p, s, m->nparts == 0 ? flags : 0, m->nparts > 0) <
            0) {
            rc = zsock_err("zmq_msg_recv");
            zmq_msg_close(p);
            zsock_msg_close(m);
            return rc;
        }
        m->nparts++;
        m->total++;
        if (!zmq_msg_more(p))
            return 0;
        if (m->nparts == ZSOCK_MAX_PARTS) {
            zmq_msg_t extra;

            m->overflow = true;
            do {
                zmq_msg_init(&extra);
                if (zsock_recv_part(&extra, s, 0, true) < 0) {
                    rc = zsock_err("zmq_msg_recv");
                    zmq_msg_close(&extra);
                    zsock_msg_close(m);
                    return rc;
                }
                m->total++;
                rc = zmq_msg_more(&extra);
                zmq_msg_close(&extra);
            } while (rc);
            return 0;
        }
    }
}

const void *
zsock_msg_data(const struct zsock_msg *m, int i)
{
    /* zmq_msg_data() takes a non-const pointer but does not modify. */
    return zmq_msg_data((zmq_msg_t *)(uintptr_t)&m->part[i]);
}

size_t
zsock_msg_size(const struct zsock_msg *m, int i)
{
    return zmq_msg_size(&m->part[i]);
}

void
zsock_msg_close(struct zsock_msg *m)
{
    int i;

    for (i = 0; i < m->nparts; i++)
        zmq_msg_close(&m->part[i]);
    m->nparts = 0;
}

int
zsock_send_parts(void *s, const struct iovec *parts, int n, int flags)
{
    int i;

    if (n < 1)
        return ERR_INVAL;
    for (i = 0; i < n; i++) {
        int f = flags | (i + 1 < n ? ZMQ_SNDMORE : 0);

        if (zmq_send(s, parts[i].iov_base, parts[i].iov_len, f) < 0)
            return zsock_err("zmq_send");
    }
    return 0;
}

int
zsock_poll(zmq_pollitem_t *items, int n, long timeout_ms, int *nready)
{
    int rc;

    if (nready != NULL)
        *nready = 0;
    rc = zmq_poll(items, n, timeout_ms);
    if (rc < 0)
        return zsock_err("zmq_poll");
    if (nready != NULL)
        *nready = rc;
    return 0;
}
