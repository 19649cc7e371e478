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
#include <sodium.h>

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

_Static_assert(sizeof(zmq_msg_t) <= ZSOCK_PART_BYTES,
    "struct zsock_msg must hold a zmq_msg_t per part");

/* The libzmq message handle of part i. */
static zmq_msg_t *
part_of(struct zsock_msg *m, int i)
{
    return (zmq_msg_t *)(void *)m->part[i];
}

static const zmq_msg_t *
cpart_of(const struct zsock_msg *m, int i)
{
    return (const zmq_msg_t *)(const void *)m->part[i];
}

/*
 * ZMQ_ZAP_ENFORCE_DOMAIN is still in libzmq 4.3's draft section of zmq.h
 * (Debian builds without the draft API), but the library implements and
 * accepts it: with it, a peer is refused when the ZAP handler does not
 * approve it, or when no handler is bound at all (without it, libzmq
 * lets every peer in when no handler is there).
 */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

static int
zmq_flags(int flags)
{
    return (flags & ZSOCK_DONTWAIT) ? ZMQ_DONTWAIT : 0;
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

/* The libzmq option of `opt`, or -1. */
static int
zmq_opt(enum zsock_opt opt)
{
    switch (opt) {
    case ZSOCK_OPT_SNDHWM:
        return ZMQ_SNDHWM;
    case ZSOCK_OPT_RCVHWM:
        return ZMQ_RCVHWM;
    case ZSOCK_OPT_MAXMSGSIZE:
        return ZMQ_MAXMSGSIZE;
    case ZSOCK_OPT_IMMEDIATE:
        return ZMQ_IMMEDIATE;
    case ZSOCK_OPT_RECONNECT_IVL:
        return ZMQ_RECONNECT_IVL;
    }
    return -1;
}

int
zsock_setopt_int(void *s, enum zsock_opt opt, int v)
{
    int o = zmq_opt(opt);

    if (o < 0 || opt == ZSOCK_OPT_MAXMSGSIZE)
        return ERR_INVAL;
    if (zmq_setsockopt(s, o, &v, sizeof(v)) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

int
zsock_set_routing_id(void *s, const void *id, size_t len)
{
    if (len == 0 || len > ZSOCK_IDENT_MAX || ((const uint8_t *)id)[0] == 0)
        return ERR_INVAL;
    if (zmq_setsockopt(s, ZMQ_ROUTING_ID, id, len) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

int
zsock_setopt_i64(void *s, enum zsock_opt opt, int64_t v)
{
    if (opt != ZSOCK_OPT_MAXMSGSIZE)
        return ERR_INVAL;
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &v, sizeof(v)) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

static int
raw_setopt_int(void *s, int o, int v)
{
    if (zmq_setsockopt(s, o, &v, sizeof(v)) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

int
zsock_open(void *ctx, enum zsock_type type, void **out)
{
    static const int types[] = { [ZSOCK_ROUTER] = ZMQ_ROUTER,
        [ZSOCK_DEALER] = ZMQ_DEALER,
        [ZSOCK_REQ] = ZMQ_REQ,
        [ZSOCK_REP] = ZMQ_REP };
    void *s;
    int rc;

    *out = NULL;
    if ((unsigned)type >= ARRAY_LEN(types))
        return ERR_INVAL;
    s = zmq_socket(ctx, types[type]);
    if (s == NULL)
        return zsock_err("zmq_socket");
    rc = raw_setopt_int(s, ZMQ_LINGER, 0);
    if (rc != 0)
        goto fail;
    rc = raw_setopt_int(s, ZMQ_SNDHWM, ZSOCK_HWM);
    if (rc != 0)
        goto fail;
    rc = raw_setopt_int(s, ZMQ_RCVHWM, ZSOCK_HWM);
    if (rc != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    zmq_close(s);
    return rc;
}

int
zsock_monitor_open(void *ctx, void *s, const char *name, void **mon)
{
    char ep[128];
    void *m;

    *mon = NULL;
    if ((size_t)snprintf(ep, sizeof(ep), "inproc://zsock-monitor-%s", name) >=
        sizeof(ep))
        return ERR_INVAL;
    if (zmq_socket_monitor(s, ep, ZMQ_EVENT_DISCONNECTED) != 0)
        return zsock_err("zmq_socket_monitor");
    m = zmq_socket(ctx, ZMQ_PAIR);
    if (m == NULL)
        return zsock_err("zmq_socket");
    if (raw_setopt_int(m, ZMQ_LINGER, 0) != 0 || zmq_connect(m, ep) != 0) {
        zmq_close(m);
        return ERR_IO;
    }
    *mon = m;
    return 0;
}

int
zsock_monitor_lost(void *mon, unsigned *lost)
{
    *lost = 0;
    for (;;) {
        zmq_msg_t msg;
        uint16_t ev;
        int more;

        /* Each event is two frames: event (u16) + value (u32), then the
         * endpoint. */
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, mon, ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();

            zmq_msg_close(&msg);
            return e == EAGAIN ? 0 : zsock_err("zmq_msg_recv");
        }
        if (zmq_msg_size(&msg) >= 2) {
            memcpy(&ev, zmq_msg_data(&msg), sizeof(ev));
            if (ev == ZMQ_EVENT_DISCONNECTED)
                (*lost)++;
        }
        more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        while (more) {
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, mon, 0) < 0) {
                zmq_msg_close(&msg);
                return zsock_err("zmq_msg_recv");
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
    }
}

void
zsock_close(void *s)
{
    if (s != NULL)
        zmq_close(s);
}

/* The result of a zmq_bind or zmq_connect (`how`: "bind", "connect to")
 * of endpoint `ep` that returned `zrc`. */
static int
zsock_ep_result(int zrc, const char *how, const char *ep)
{
    int e;

    if (zrc == 0)
        return 0;
    e = zmq_errno();
    if (e == ETERM)
        return ERR_SHUTDOWN;
    log_warnx("cannot %s '%s': %s", how, ep, zmq_strerror(e));
    return ERR_IO;
}

int
zsock_bind(void *s, const char *ep)
{
    return zsock_ep_result(zmq_bind(s, ep), "bind", ep);
}

int
zsock_connect(void *s, const char *ep)
{
    return zsock_ep_result(zmq_connect(s, ep), "connect to", ep);
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
        zmq_msg_t *p = part_of(m, m->nparts);

        zmq_msg_init(p);
        /* Only the first part may wait; the rest arrive together. */
        if (zsock_recv_part(p, s, m->nparts == 0 ? zmq_flags(flags) : 0,
                m->nparts > 0) < 0) {
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
    return zmq_msg_data((zmq_msg_t *)(uintptr_t)cpart_of(m, i));
}

size_t
zsock_msg_size(const struct zsock_msg *m, int i)
{
    return zmq_msg_size(cpart_of(m, i));
}

void
zsock_msg_close(struct zsock_msg *m)
{
    int i;

    for (i = 0; i < m->nparts; i++)
        zmq_msg_close(part_of(m, i));
    m->nparts = 0;
}

void
zsock_msg_move(struct zsock_msg *dst, struct zsock_msg *src)
{
    int i;

    for (i = 0; i < src->nparts; i++) {
        zmq_msg_init(part_of(dst, i));
        zmq_msg_move(part_of(dst, i), part_of(src, i));
        zmq_msg_close(part_of(src, i));
    }
    dst->nparts = src->nparts;
    dst->total = src->total;
    dst->overflow = src->overflow;
    src->nparts = 0;
}

int
zsock_drain(void *s, zsock_payload_cb cb, void *arg)
{
    struct zsock_msg m;
    int rc;

    for (;;) {
        rc = zsock_recv_msg(s, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            return 0;
        if (rc != 0)
            return ERR_IO;
        cb(arg, zsock_msg_data(&m, m.nparts - 1),
            zsock_msg_size(&m, m.nparts - 1));
        zsock_msg_close(&m);
    }
}

int
zsock_msg_route(const struct zsock_msg *m, struct zsock_route *route, int *body)
{
    size_t n;
    int k = 1;

    route->identlen = 0;
    route->delim = false;
    *body = -1;
    if (m->nparts < 1)
        return ERR_MALFORMED;
    n = zsock_msg_size(m, 0);
    if (n == 0 || n > ZSOCK_IDENT_MAX)
        return ERR_MALFORMED;
    memcpy(route->ident, zsock_msg_data(m, 0), n);
    route->identlen = (uint8_t)n;
    if (m->nparts >= 3 && zsock_msg_size(m, 1) == 0) {
        route->delim = true;
        k = 2;
    }
    if (m->overflow || m->nparts - k != 1)
        return ERR_MALFORMED;
    *body = k;
    return 0;
}

int
zsock_send_routed(
    void *s, const struct zsock_route *route, const void *body, size_t len)
{
    struct iovec iov[3];
    int n = 0;

    iov[n].iov_base = (void *)(uintptr_t)route->ident;
    iov[n++].iov_len = route->identlen;
    if (route->delim) {
        iov[n].iov_base = NULL;
        iov[n++].iov_len = 0;
    }
    iov[n].iov_base = (void *)(uintptr_t)body;
    iov[n++].iov_len = len;
    return zsock_send_parts(s, iov, n, ZSOCK_DONTWAIT);
}

int
zsock_send_parts(void *s, const struct iovec *parts, int n, int flags)
{
    int i;

    if (n < 1)
        return ERR_INVAL;
    for (i = 0; i < n; i++) {
        int f = zmq_flags(flags) | (i + 1 < n ? ZMQ_SNDMORE : 0);

        if (zmq_send(s, parts[i].iov_base, parts[i].iov_len, f) < 0)
            return zsock_err("zmq_send");
    }
    return 0;
}

int
zsock_poll(struct zsock_pollitem *items, int n, long timeout_ms, int *nready)
{
    zmq_pollitem_t zi[ZSOCK_MAX_POLL];
    int i, rc;

    if (nready != NULL)
        *nready = 0;
    if (n < 0 || n > ZSOCK_MAX_POLL)
        return ERR_INVAL;
    for (i = 0; i < n; i++) {
        zi[i].socket = items[i].sock;
        zi[i].fd = items[i].fd;
        zi[i].events =
            (short)(((items[i].events & ZSOCK_POLLIN) ? ZMQ_POLLIN : 0) |
                ((items[i].events & ZSOCK_POLLOUT) ? ZMQ_POLLOUT : 0));
        zi[i].revents = 0;
    }
    rc = zmq_poll(zi, n, timeout_ms);
    if (rc < 0)
        return zsock_err("zmq_poll");
    for (i = 0; i < n; i++)
        items[i].revents =
            (short)(((zi[i].revents & ZMQ_POLLIN) ? ZSOCK_POLLIN : 0) |
                ((zi[i].revents & ZMQ_POLLOUT) ? ZSOCK_POLLOUT : 0));
    if (nready != NULL)
        *nready = rc;
    return 0;
}

/* ------------------------------------------------------------ CURVE */

static int
set_bytes(void *s, int opt, const void *v, size_t n)
{
    if (zmq_setsockopt(s, opt, v, n) != 0)
        return zsock_err("zmq_setsockopt");
    return 0;
}

/* The ZAP domain, enforced: shared by CURVE and plain servers. */
static int
zap_enforce(void *s, const char *domain)
{
    int rc;

    rc = set_bytes(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain));
    if (rc == 0)
        rc = raw_setopt_int(s, ZMQ_ZAP_ENFORCE_DOMAIN, 1);
    return rc;
}

int
zsock_curve_server(
    void *s, const uint8_t secret[ZSOCK_KEY_BYTES], const char *domain)
{
    int rc;

    rc = raw_setopt_int(s, ZMQ_CURVE_SERVER, 1);
    if (rc == 0)
        rc = set_bytes(s, ZMQ_CURVE_SECRETKEY, secret, ZSOCK_KEY_BYTES);
    if (rc == 0)
        rc = zap_enforce(s, domain);
    return rc;
}

int
zsock_curve_client(void *s, const uint8_t server[ZSOCK_KEY_BYTES],
    const uint8_t pub[ZSOCK_KEY_BYTES], const uint8_t secret[ZSOCK_KEY_BYTES])
{
    int rc;

    rc = set_bytes(s, ZMQ_CURVE_SERVERKEY, server, ZSOCK_KEY_BYTES);
    if (rc == 0)
        rc = set_bytes(s, ZMQ_CURVE_PUBLICKEY, pub, ZSOCK_KEY_BYTES);
    if (rc == 0)
        rc = set_bytes(s, ZMQ_CURVE_SECRETKEY, secret, ZSOCK_KEY_BYTES);
    return rc;
}

int
zsock_zap_plain(void *s, const char *domain)
{
    return zap_enforce(s, domain);
}

int
zsock_curve_keypair(
    uint8_t pub[ZSOCK_KEY_BYTES], uint8_t secret[ZSOCK_KEY_BYTES])
{
    /* libzmq's CURVE is crypto_box (Curve25519): the same key pairs. */
    if (crypto_box_keypair(pub, secret) != 0) {
        log_warnx("%s: crypto_box_keypair failed", __func__);
        return ERR_IO;
    }
    return 0;
}

int
zsock_curve_public(
    uint8_t pub[ZSOCK_KEY_BYTES], const uint8_t secret[ZSOCK_KEY_BYTES])
{
    if (crypto_scalarmult_base(pub, secret) != 0) {
        log_warnx("%s: crypto_scalarmult_base failed", __func__);
        return ERR_IO;
    }
    return 0;
}

void
zsock_z85_encode(
    char out[ZSOCK_Z85_KEY + 1], const uint8_t key[ZSOCK_KEY_BYTES])
{
    /* 32 bytes is a multiple of 4: zmq_z85_encode cannot fail. */
    if (zmq_z85_encode(out, key, ZSOCK_KEY_BYTES) == NULL)
        fatalx("%s: invariant: zmq_z85_encode failed", __func__);
}

int
zsock_z85_decode(uint8_t key[ZSOCK_KEY_BYTES], const char *text)
{
    static const char z85[] =
        "0123456789abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    size_t i;

    /* zmq_z85_decode does not check the alphabet of every character. */
    if (strlen(text) != ZSOCK_Z85_KEY)
        return ERR_INVAL;
    for (i = 0; i < ZSOCK_Z85_KEY; i++)
        if (text[i] == '\0' || strchr(z85, text[i]) == NULL)
            return ERR_INVAL;
    if (zmq_z85_decode(key, text) == NULL)
        return ERR_INVAL;
    return 0;
}

const char *
zsock_msg_user(const struct zsock_msg *m)
{
    return zsock_msg_property(m, "User-Id");
}

const char *
zsock_msg_property(const struct zsock_msg *m, const char *name)
{
    if (m->nparts < 1)
        return NULL;
    /*
     * The last part: a ROUTER's identity frame is made by the socket and
     * carries no peer metadata; frames read from the peer's pipe do.
     * zmq_msg_gets() takes a non-const pointer but does not modify.
     */
    return zmq_msg_gets(
        (zmq_msg_t *)(uintptr_t)cpart_of(m, m->nparts - 1), name);
}

void
zsock_msg_wipe_close(struct zsock_msg *m)
{
    int i;

    for (i = 0; i < m->nparts; i++) {
        zmq_msg_t *p = part_of(m, i);

        sodium_memzero(zmq_msg_data(p), zmq_msg_size(p));
    }
    zsock_msg_close(m);
}
