/*
 * zclient.h - how Vigil's clients connect: CURVE with their own
 *             certificate, pinned to the server's key
 *
 * Every client of a Vigil endpoint (vigilctl, vigil-load, vigil-replay,
 * vigil-shopify) connects the same way, from the same options:
 *   cert        the client's secret certificate, as `vigilctl client
 *               add` wrote it (ZPL, mode 0600, owned by the caller);
 *               default $VIGIL_CERT
 *   server_key  the server's public key: 40 characters of Z85, or the
 *               path of a public certificate; default $VIGIL_SERVER_KEY,
 *               else <keys_dir>/server.key
 *   keys_dir    default $VIGIL_KEYS_DIR, else /etc/vigil
 *   insecure    plain text, no CURVE (the daemons' insecure_dev); the
 *               endpoint must then stay on this machine
 *
 * Invariants:
 *  - the client's secret key is wiped as soon as libzmq has its copy.
 *  - a missing certificate is an error naming the option and the
 *    command that makes one, never a silent plain connection.
 *
 * See also: cert.h, zsock.h, keys.h, tools/vigilctl/vigilctl.1
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_ZCLIENT_H
#define COMMON_ZCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"
#include "common/zsock.h"

#define ZCLIENT_DEFAULT_KEYS_DIR "/etc/vigil"

/* Where a client's keys come from; NULL fields take their defaults. */
struct zclient_opts {
    const char *endpoint;   /* required */
    const char *cert;       /* secret certificate file */
    const char *server_key; /* Z85 text or a public certificate file */
    const char *keys_dir;
    bool insecure;
};

/*
 * Open a socket of `type` on `ctx`, set it up as a CURVE client with
 * the keys `o` names (or plain when o->insecure) and connect it to
 * o->endpoint. `err` (size `errlen`) gets a one-line reason naming the
 * file or option and what to do. On success `*sock` is the connected
 * socket (close with zsock_close()).
 * Returns 0, ERR_NOTFOUND (no certificate or server key), ERR_DENIED
 * (file modes, or a plain connection off this machine), ERR_MALFORMED
 * (a bad key or certificate) or ERR_IO.
 */
int zclient_connect(void *ctx, enum zsock_type type,
    const struct zclient_opts *o, void **sock, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 3, 4, 5);

#endif
