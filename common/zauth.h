/*
 * zauth.h - the ZAP handler: who may connect, and under which name
 *
 * Every Vigil socket that accepts peers asks this handler (ZeroMQ's ZAP,
 * RFC 27) about each new connection: libzmq sends the peer's CURVE
 * public key, and the handler answers 200 with the name and role the
 * allow-list gives that key, or 400. libzmq then stamps every message
 * from that peer with the name (User-Id) and the role (property
 * "X-Role"), which the daemons read with zsock_msg_user() and
 * zsock_msg_property(): an actor is never taken from message contents.
 *
 * One handler serves one libzmq context, in a thread of its own, bound
 * to inproc://zeromq.zap.01. It knows two domains (zsock.h):
 *  - ZSOCK_DOMAIN_PUBLIC: keys from `clients_dir` (one public
 *    certificate per client, cert.h, with name and role metadata),
 *    limited to the roles the daemon admits there (the collector admits
 *    storefronts; the scorer's query endpoint every role).
 *  - ZSOCK_DOMAIN_INTERNAL: keys from `internal_dir` (the collectors'
 *    own certificates), role "collector" only.
 * Plain sockets (insecure_dev) are approved as name "insecure-dev" with
 * the role the daemon chose for its plain peers.
 *
 * The allow-list is read at start and again on zauth_reload() (SIGHUP):
 * a removed (revoked) certificate is refused from then on, for new
 * connections. Every refusal is counted and queued (bounded; repeats of
 * one key are merged) for the daemon to record (zauth_take_refusals).
 *
 * Invariants:
 *  - a certificate without a valid name or with a role outside
 *    ZAUTH_ROLES is not loaded (logged), never admitted with defaults.
 *  - two certificates with the same key or the same name make the
 *    whole load fail (the old list stays in force).
 *
 * See also: cert.h, zsock.h, https://rfc.zeromq.org/spec/27/ (ZAP)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_ZAUTH_H
#define COMMON_ZAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cert.h"
#include "common/compiler.h"

/* The roles a certificate may carry (DESIGN.md promise 4). */
#define ZAUTH_ROLES "storefront analyst auditor dpo admin collector"

/* The name plain (insecure_dev) peers get. */
#define ZAUTH_INSECURE_NAME "insecure-dev"

/* Most certificates in one allow-list. */
#define ZAUTH_MAX_CLIENTS 4096

/* Refusals kept for zauth_take_refusals() until taken. */
#define ZAUTH_MAX_REFUSALS 256

/* Bit of one role, for the admitted-roles masks. */
enum zauth_role {
    ZAUTH_STOREFRONT = 1u << 0,
    ZAUTH_ANALYST = 1u << 1,
    ZAUTH_AUDITOR = 1u << 2,
    ZAUTH_DPO = 1u << 3,
    ZAUTH_ADMIN = 1u << 4,
    ZAUTH_COLLECTOR = 1u << 5,
};

/* Return the bit of role `name`, or 0 when it is not a role. */
unsigned zauth_role_bit(const char *name) NONNULL(1);

/* What the daemon admits where. */
struct zauth_config {
    const char *clients_dir;  /* public certificates of clients */
    const char *internal_dir; /* collectors' certificates, or NULL */
    unsigned public_roles;    /* roles admitted in the public domain */
    const char *plain_role;   /* role of plain peers, or NULL: refuse */
};

/* One refused peer (or many refusals of the same key, merged). */
struct zauth_refusal {
    char key[ZSOCK_Z85_KEY + 1]; /* the peer's public key, or "" (NULL) */
    char address[64];            /* the peer's address, as libzmq gives */
    char domain[16];
    char reason[48]; /* "unknown key", "role not admitted here", ... */
    uint64_t count;  /* refusals merged into this one */
    uint64_t first_ms, last_ms; /* wall clock */
};

struct zauth;

/*
 * Load the allow-list of `cfg` and start the handler thread on `ctx`
 * (which must outlive it; bind before any socket of the context binds).
 * `cfg`'s strings are copied. Returns 0, ERR_INVAL (a bad certificate or
 * directory; logged), ERR_NOTFOUND (a directory is missing) or ERR_IO.
 * Free with zauth_stop().
 */
int zauth_start(void *ctx, const struct zauth_config *cfg,
    struct zauth **out) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Read the allow-list again and swap it in atomically; on any error the
 * old list stays in force. Any thread. Returns 0, or as zauth_start().
 * `*nclients` (may be NULL) gets the number of certificates now loaded.
 */
int zauth_reload(struct zauth *z, size_t *nclients) WARN_UNUSED NONNULL(1);

/*
 * Move up to `max` queued refusals into out[]; returns how many. Any
 * thread. Refusals past ZAUTH_MAX_REFUSALS while none is taken are
 * merged into the last slot's count.
 */
size_t zauth_take_refusals(
    struct zauth *z, struct zauth_refusal *out, size_t max) NONNULL(1, 2);

/* Stop the thread and free everything. NULL is a no-op. */
void zauth_stop(struct zauth *z);

#endif
