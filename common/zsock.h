/*
 * zsock.h - a thin libzmq wrapper: error translation and multipart frames
 *
 * zsock.c is the only file that calls zmq_*. Every function returns 0 or
 * a negative ERR_*: EAGAIN and EINTR become ERR_AGAIN, ETERM becomes
 * ERR_SHUTDOWN, anything else is logged once here with zmq_strerror()
 * and becomes ERR_IO. Used by both daemons and the tools, always from
 * one thread per socket (libzmq sockets are not thread-safe).
 *
 * zmq.h is included because pollers build zmq_pollitem_t arrays.
 *
 * Invariants:
 *  - a struct zsock_msg holds at most ZSOCK_MAX_PARTS initialised frames
 *    (nparts of them); zsock_msg_close() closes exactly those.
 *  - a receive always consumes the whole multipart message, even when it
 *    has too many parts, so the socket is never left mid-message.
 *
 * See also: sfproto.h, ipcproto.h, qproto.h (what the frames hold),
 *           DESIGN.md "Interfaces"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_ZSOCK_H
#define COMMON_ZSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <zmq.h>

#include "common/compiler.h"

/* Parts kept by zsock_recv_msg(); further parts are drained. */
#define ZSOCK_MAX_PARTS 8
/* Default send and receive high-water marks set by zsock_open(). */
#define ZSOCK_HWM 100000

/* One received multipart message. */
struct zsock_msg {
    zmq_msg_t part[ZSOCK_MAX_PARTS]; /* the first nparts are initialised */
    int nparts;                      /* parts kept */
    int total;                       /* parts received, kept or drained */
    bool overflow;                   /* more than ZSOCK_MAX_PARTS arrived */
};

/*
 * Create a libzmq context (one I/O thread). Returns NULL on failure
 * (logged). Caller frees with zsock_ctx_term().
 */
void *zsock_ctx_new(void);

/*
 * Terminate a context; every socket must be closed first (their LINGER
 * is 0 so this does not block). NULL is a no-op.
 */
void zsock_ctx_term(void *ctx);

/*
 * Open a socket of `type` (ZMQ_ROUTER, ZMQ_DEALER, ...) in `ctx` with
 * LINGER 0 and SNDHWM/RCVHWM ZSOCK_HWM. ROUTER sockets keep libzmq's
 * default ZMQ_ROUTER_MANDATORY off: a reply to a vanished peer is dropped
 * silently. Caller closes *out with zsock_close().
 *
 * Returns 0, ERR_SHUTDOWN or ERR_IO.
 */
int zsock_open(void *ctx, int type, void **out) WARN_UNUSED NONNULL(1, 3);

/* Close a socket (LINGER 0: unsent messages are dropped). NULL is a no-op. */
void zsock_close(void *s);

/* Set an int socket option (ZMQ_SNDHWM, ...). Returns 0 or ERR_IO. */
int zsock_setopt_int(void *s, int opt, int v) WARN_UNUSED NONNULL(1);

/* Set an int64 socket option (ZMQ_MAXMSGSIZE). Returns 0 or ERR_IO. */
int zsock_setopt_i64(void *s, int opt, int64_t v) WARN_UNUSED NONNULL(1);

/* Bind `s` to endpoint `ep`. Returns 0, ERR_SHUTDOWN or ERR_IO (logged). */
int zsock_bind(void *s, const char *ep) WARN_UNUSED NONNULL(1, 2);

/*
 * Connect `s` to `ep` (asynchronous: succeeds even if no peer is there
 * yet). Returns 0, ERR_SHUTDOWN or ERR_IO (logged).
 */
int zsock_connect(void *s, const char *ep) WARN_UNUSED NONNULL(1, 2);

/*
 * Receive one whole multipart message into `m` (which need not be
 * initialised; it is overwritten). `flags` is 0 or ZMQ_DONTWAIT. Parts
 * beyond ZSOCK_MAX_PARTS are received and dropped, with m->overflow set;
 * that is not an error. On success the caller must zsock_msg_close(m).
 * On failure m holds nothing to close (zsock_msg_close is still safe).
 *
 * Returns 0, ERR_AGAIN (nothing to read with ZMQ_DONTWAIT, or EINTR),
 * ERR_SHUTDOWN or ERR_IO.
 */
int zsock_recv_msg(void *s, struct zsock_msg *m, int flags) WARN_UNUSED
    NONNULL(1, 2);

/* Return a borrowed pointer to part `i`'s bytes; valid until close. */
const void *zsock_msg_data(const struct zsock_msg *m, int i) NONNULL(1);

/* Return the size of part `i` in bytes. */
size_t zsock_msg_size(const struct zsock_msg *m, int i) NONNULL(1);

/* Close every kept part of `m`; afterwards nparts == 0. */
void zsock_msg_close(struct zsock_msg *m) NONNULL(1);

/*
 * Send `n` parts (copies of the iovecs) as one multipart message.
 * `flags` is 0 or ZMQ_DONTWAIT. A failure after the first part was
 * queued cannot happen for ROUTER/DEALER (libzmq queues whole messages
 * atomically), so the socket is never left mid-message.
 *
 * Returns 0, ERR_AGAIN (HWM reached with ZMQ_DONTWAIT, or EINTR),
 * ERR_SHUTDOWN, ERR_INVAL (n < 1) or ERR_IO.
 */
int zsock_send_parts(void *s, const struct iovec *parts, int n,
    int flags) WARN_UNUSED NONNULL(1, 2);

/*
 * Wait up to `timeout_ms` (-1 forever, 0 do not wait) for any of the `n`
 * items; `*nready` (may be NULL) receives how many are ready.
 *
 * Returns 0 (also on timeout, with *nready 0), ERR_AGAIN (interrupted by
 * a signal), ERR_SHUTDOWN or ERR_IO.
 */
int zsock_poll(zmq_pollitem_t *items, int n, long timeout_ms,
    int *nready) WARN_UNUSED NONNULL(1);

#endif
