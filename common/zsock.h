/*
 * zsock.h - a thin libzmq wrapper: error translation and multipart frames
 *
 * zsock.c is the only file that calls zmq_*. Every function returns 0 or
 * a negative ERR_*: EAGAIN and EINTR become ERR_AGAIN, ETERM becomes
 * ERR_SHUTDOWN, anything else is logged once here with zmq_strerror()
 * and becomes ERR_IO. Used by both daemons and the tools, always from
 * one thread per socket (libzmq sockets are not thread-safe).
 *
 * Callers never see a libzmq type: socket types, options, flags and
 * poll items have zsock names, mapped to libzmq's in zsock.c.
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

#include "common/compiler.h"

/* Parts kept by zsock_recv_msg(); further parts are drained. */
#define ZSOCK_MAX_PARTS 8
/* Default send and receive high-water marks set by zsock_open(). */
#define ZSOCK_HWM 100000

/* Bytes of one libzmq message handle (zmq_msg_t; checked in zsock.c). */
#define ZSOCK_PART_BYTES 64

/* Socket types (zsock_open). */
enum zsock_type {
    ZSOCK_ROUTER,
    ZSOCK_DEALER,
    ZSOCK_REQ,
    ZSOCK_REP,
};

/* Socket options (zsock_setopt_int, zsock_setopt_i64). */
enum zsock_opt {
    ZSOCK_OPT_SNDHWM,        /* int: send high-water mark */
    ZSOCK_OPT_RCVHWM,        /* int: receive high-water mark */
    ZSOCK_OPT_MAXMSGSIZE,    /* int64: largest message accepted */
    ZSOCK_OPT_IMMEDIATE,     /* int: 1 queues only on completed connections,
                                so a send with no peer fails at once */
    ZSOCK_OPT_RECONNECT_IVL, /* int: ms before a failed connect is tried
                                again (libzmq: 100) */
};

/* Flags of zsock_recv_msg() and zsock_send_parts(). */
#define ZSOCK_DONTWAIT 1

/*
 * Most items one zsock_poll() takes (they are translated on the stack):
 * the daemons poll three, vigil-load up to 256 connections and a timer.
 */
#define ZSOCK_MAX_POLL 300

/* Poll events (zsock_poll). */
#define ZSOCK_POLLIN  1
#define ZSOCK_POLLOUT 2

/* One thing to poll: a zsock socket, or a file descriptor when sock is
 * NULL. `revents` is set by zsock_poll(). */
struct zsock_pollitem {
    void *sock;
    int fd;
    short events;
    short revents;
};

/*
 * One received multipart message. The parts are libzmq message handles
 * kept in opaque storage; read them with zsock_msg_data/size only.
 */
struct zsock_msg {
    /* the first nparts are initialised zmq_msg_t */
    _Alignas(8) unsigned char part[ZSOCK_MAX_PARTS][ZSOCK_PART_BYTES];
    int nparts;    /* parts kept */
    int total;     /* parts received, kept or drained */
    bool overflow; /* more than ZSOCK_MAX_PARTS arrived */
};

/* Longest ROUTER identity (libzmq's limit). */
#define ZSOCK_IDENT_MAX 255

/*
 * Where a ROUTER reply goes: the peer's identity, and whether the
 * request carried an empty delimiter frame (REQ clients do; DEALER
 * clients may), which the reply must carry too.
 */
struct zsock_route {
    uint8_t ident[ZSOCK_IDENT_MAX];
    uint8_t identlen;
    bool delim;
};

/* ------------------------------------------------------------ CURVE */

#define ZSOCK_KEY_BYTES 32 /* a CURVE (Curve25519) key */
#define ZSOCK_Z85_KEY   40 /* its Z85 text, without the NUL */

/* The ZAP domains: the public endpoints, and the collector->scorer link. */
#define ZSOCK_DOMAIN_PUBLIC   "vigil"
#define ZSOCK_DOMAIN_INTERNAL "vigil-internal"

/*
 * Make `s` a CURVE server with secret key `secret`, asking the ZAP
 * handler of its context (zauth.h) about every peer in ZAP domain
 * `domain`, with ZMQ_ZAP_ENFORCE_DOMAIN set: a peer the handler does not
 * answer with 200 is refused, and so is every peer when no handler runs.
 * Call before zsock_bind(). Returns 0 or ERR_IO.
 */
int zsock_curve_server(void *s, const uint8_t secret[ZSOCK_KEY_BYTES],
    const char *domain) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Make `s` a CURVE client of the server whose public key is `server`,
 * with its own key pair `pub`/`secret`. Call before zsock_connect().
 * Returns 0 or ERR_IO.
 */
int zsock_curve_client(void *s, const uint8_t server[ZSOCK_KEY_BYTES],
    const uint8_t pub[ZSOCK_KEY_BYTES],
    const uint8_t secret[ZSOCK_KEY_BYTES]) WARN_UNUSED NONNULL(1, 2, 3, 4);

/*
 * For plain sockets (insecure_dev only): still ask the ZAP handler about
 * every peer (NULL mechanism) with the domain enforced, so that peers
 * are named, counted and refused by the same rules, and a peer that
 * cannot speak ZAP at all (a ZMTP 1.0 greeting, raw bytes) is dropped.
 * Call before zsock_bind(). Returns 0 or ERR_IO.
 */
int zsock_zap_plain(void *s, const char *domain) WARN_UNUSED NONNULL(1, 2);

/* Make a new CURVE key pair (libsodium). Returns 0 or ERR_IO. */
int zsock_curve_keypair(uint8_t pub[ZSOCK_KEY_BYTES],
    uint8_t secret[ZSOCK_KEY_BYTES]) WARN_UNUSED NONNULL(1, 2);

/* Derive the public key of `secret`. Returns 0 or ERR_IO. */
int zsock_curve_public(uint8_t pub[ZSOCK_KEY_BYTES],
    const uint8_t secret[ZSOCK_KEY_BYTES]) WARN_UNUSED NONNULL(1, 2);

/* Write the Z85 text of a key and a NUL into `out`. */
void zsock_z85_encode(char out[ZSOCK_Z85_KEY + 1],
    const uint8_t key[ZSOCK_KEY_BYTES]) NONNULL(1, 2);

/*
 * Decode exactly ZSOCK_Z85_KEY characters of Z85 text (`text` must be
 * that long and NUL-terminated) into `key`. Returns 0 or ERR_INVAL.
 */
int zsock_z85_decode(uint8_t key[ZSOCK_KEY_BYTES], const char *text) WARN_UNUSED
    NONNULL(1, 2);

/*
 * The authenticated name of the peer that sent `m`: the user id its ZAP
 * handler gave (zauth.h), or NULL when the socket has no ZAP (never for
 * Vigil's own sockets). Borrowed; valid until the message is closed.
 */
const char *zsock_msg_user(const struct zsock_msg *m) NONNULL(1);

/*
 * A metadata property of the peer that sent `m`: one the ZAP handler
 * set (e.g. "X-Role") or libzmq's own ("Peer-Address"), or NULL.
 * Borrowed; valid until the message is closed.
 */
const char *zsock_msg_property(const struct zsock_msg *m, const char *name)
    NONNULL(1, 2);

/* ---------------------------------------------------------- contexts */

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
 * Open a socket of `type` in `ctx` with
 * LINGER 0 and SNDHWM/RCVHWM ZSOCK_HWM. ROUTER sockets keep libzmq's
 * default ZMQ_ROUTER_MANDATORY off: a reply to a vanished peer is dropped
 * silently. Caller closes *out with zsock_close().
 *
 * Returns 0, ERR_SHUTDOWN or ERR_IO.
 */
int zsock_open(void *ctx, enum zsock_type type, void **out) WARN_UNUSED
    NONNULL(1, 3);

/*
 * Watch socket `s` (of context `ctx`) for lost connections: `*mon` gets a
 * socket (named `name`, unique per context) that polls readable when
 * `s` lost a peer (libzmq's ZMQ_EVENT_DISCONNECTED); read it with
 * zsock_monitor_lost(). Close `*mon` with zsock_close() before `s`.
 * Returns 0, ERR_INVAL or ERR_IO.
 */
int zsock_monitor_open(void *ctx, void *s, const char *name,
    void **mon) WARN_UNUSED NONNULL(1, 2, 3, 4);

/*
 * Read every event waiting on monitor `mon` without blocking; `*lost`
 * gets how many were lost connections. Returns 0 or ERR_IO.
 */
int zsock_monitor_lost(void *mon, unsigned *lost) WARN_UNUSED NONNULL(1, 2);

/* Close a socket (LINGER 0: unsent messages are dropped). NULL is a no-op. */
void zsock_close(void *s);

/* Set an int socket option. Returns 0, ERR_INVAL or ERR_IO. */
int zsock_setopt_int(void *s, enum zsock_opt opt, int v) WARN_UNUSED NONNULL(1);

/* Set an int64 socket option. Returns 0, ERR_INVAL or ERR_IO. */
int zsock_setopt_i64(void *s, enum zsock_opt opt, int64_t v) WARN_UNUSED
    NONNULL(1);

/*
 * Give `s` (a DEALER, before zsock_connect) the routing id id[0..len)
 * its peer ROUTER names it by: 1..255 bytes, the first not 0 (libzmq
 * keeps those for its own ids). Returns 0, ERR_INVAL or ERR_IO.
 */
int zsock_set_routing_id(void *s, const void *id, size_t len) WARN_UNUSED
    NONNULL(1, 2);

/* Bind `s` to endpoint `ep`. Returns 0, ERR_SHUTDOWN or ERR_IO (logged). */
int zsock_bind(void *s, const char *ep) WARN_UNUSED NONNULL(1, 2);

/*
 * Connect `s` to `ep` (asynchronous: succeeds even if no peer is there
 * yet). Returns 0, ERR_SHUTDOWN or ERR_IO (logged).
 */
int zsock_connect(void *s, const char *ep) WARN_UNUSED NONNULL(1, 2);

/*
 * Receive one whole multipart message into `m` (which need not be
 * initialised; it is overwritten). `flags` is 0 or ZSOCK_DONTWAIT. Parts
 * beyond ZSOCK_MAX_PARTS are received and dropped, with m->overflow set;
 * that is not an error. On success the caller must zsock_msg_close(m).
 * On failure m holds nothing to close (zsock_msg_close is still safe).
 *
 * Returns 0, ERR_AGAIN (nothing to read with ZSOCK_DONTWAIT, or EINTR),
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
 * Move the message in `src` to `dst` (which must hold nothing to close):
 * `dst` then owns its parts and `src` holds nothing (zmq_msg_move).
 */
void zsock_msg_move(struct zsock_msg *dst, struct zsock_msg *src) NONNULL(1, 2);

/*
 * Receive every message waiting on `s` (ZSOCK_DONTWAIT) and hand each
 * one's last part (the payload; a DEALER's empty delimiters come first)
 * to `cb`, its bytes borrowed for the call. For clients that drain
 * their replies after a poll (vigil-load, vigil-replay). Returns 0 once
 * nothing more is waiting, or ERR_IO.
 */
typedef void (*zsock_payload_cb)(void *arg, const void *p, size_t len);
int zsock_drain(void *s, zsock_payload_cb cb, void *arg) NONNULL(1, 2);

/*
 * Overwrite every kept part's bytes with zeros, then close them: for
 * frames that held raw personal data (storefront events).
 */
void zsock_msg_wipe_close(struct zsock_msg *m) NONNULL(1);

/*
 * Split a message received on a ROUTER into its route and body:
 * [identity, body] or [identity, empty delimiter, body]. `*body` gets
 * the body's part index. Returns 0, or ERR_MALFORMED (no identity, an
 * identity too long, not exactly one body frame, too many parts); when
 * the identity was read (route->identlen > 0) the route is still good
 * for an error reply.
 */
int zsock_msg_route(const struct zsock_msg *m, struct zsock_route *route,
    int *body) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Send `len` bytes at `body` back along `route` (identity, the
 * delimiter if the request had one, the body), without waiting.
 * Returns as zsock_send_parts().
 */
int zsock_send_routed(void *s, const struct zsock_route *route,
    const void *body, size_t len) WARN_UNUSED NONNULL(1, 2);

/*
 * Send `n` parts (copies of the iovecs) as one multipart message.
 * `flags` is 0 or ZSOCK_DONTWAIT. A failure after the first part was
 * queued cannot happen for ROUTER/DEALER (libzmq queues whole messages
 * atomically), so the socket is never left mid-message.
 *
 * Returns 0, ERR_AGAIN (HWM reached with ZSOCK_DONTWAIT, or EINTR),
 * ERR_SHUTDOWN, ERR_INVAL (n < 1) or ERR_IO.
 */
int zsock_send_parts(void *s, const struct iovec *parts, int n,
    int flags) WARN_UNUSED NONNULL(1, 2);

/*
 * Wait up to `timeout_ms` (-1 forever, 0 do not wait) for any of the `n`
 * items; `*nready` (may be NULL) receives how many are ready.
 *
 * Returns 0 (also on timeout, with *nready 0), ERR_AGAIN (interrupted by
 * a signal), ERR_INVAL (n < 0 or n > ZSOCK_MAX_POLL), ERR_SHUTDOWN or
 * ERR_IO.
 */
int zsock_poll(struct zsock_pollitem *items, int n, long timeout_ms,
    int *nready) WARN_UNUSED NONNULL(1);

#endif
