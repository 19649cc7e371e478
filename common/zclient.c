/*
 * zclient.c - connect a client socket with CURVE (see zclient.h)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cert.h"
#include "common/cfg.h"
#include "common/err.h"
#include "common/text.h"
#include "common/keys.h"
#include "common/zclient.h"

static const char *
pick(const char *given, const char *env, const char *fallback)
{
    const char *v;

    if (given != NULL && given[0] != '\0')
        return given;
    v = getenv(env);
    if (v != NULL && v[0] != '\0')
        return v;
    return fallback;
}

/* The server's public key from Z85 text or a public certificate file. */
static int
server_key(const struct zclient_opts *o, uint8_t key[ZSOCK_KEY_BYTES],
    char *err, size_t errlen)
{
    const char *v = pick(o->server_key, "VIGIL_SERVER_KEY", NULL);
    char path[KEYS_PATH_MAX + 32], why[256];
    struct cert c;
    int rc;

    if (v != NULL && strlen(v) == ZSOCK_Z85_KEY &&
        zsock_z85_decode(key, v) == 0)
        return 0;
    if (v == NULL) {
        const char *dir =
            pick(o->keys_dir, "VIGIL_KEYS_DIR", ZCLIENT_DEFAULT_KEYS_DIR);

        rc = keys_path(dir, KEYS_SERVER ".key", path, sizeof(path));
        if (rc != 0) {
            text_fmt(err, errlen, "keys directory path too long");
            return rc;
        }
        v = path;
    }
    rc = cert_load(v, &c, NULL, why, sizeof(why));
    if (rc != 0) {
        text_fmt(err, errlen,
            "server key: %s (give --server-key with the output of "
            "`vigilctl server-key`, or VIGIL_SERVER_KEY)",
            why);
        return rc;
    }
    memcpy(key, c.pub, ZSOCK_KEY_BYTES);
    return 0;
}

int
zclient_connect(void *ctx, enum zsock_type type, const struct zclient_opts *o,
    void **sock, char *err, size_t errlen)
{
    uint8_t server[ZSOCK_KEY_BYTES];
    struct cert_secret *secret = NULL;
    struct cert mine;
    const char *cert;
    char why[256];
    int rc;

    *sock = NULL;
    if (o->insecure) {
        if (!cfg_endpoint_is_local(o->endpoint)) {
            text_fmt(err, errlen,
                "%s: a plain (insecure) connection must stay on this "
                "machine (loopback or ipc://)",
                o->endpoint);
            return ERR_DENIED;
        }
    } else {
        cert = pick(o->cert, "VIGIL_CERT", NULL);
        if (cert == NULL) {
            text_fmt(err, errlen,
                "no client certificate: give --cert FILE (or VIGIL_CERT), "
                "the secret file `vigilctl client add NAME --role ROLE` "
                "made for you");
            return ERR_NOTFOUND;
        }
        rc = server_key(o, server, err, errlen);
        if (rc != 0)
            return rc;
        rc = cert_load(cert, &mine, &secret, why, sizeof(why));
        if (rc != 0) {
            text_fmt(err, errlen, "certificate: %s", why);
            return rc;
        }
    }
    rc = zsock_open(ctx, type, sock);
    if (rc == 0 && !o->insecure)
        rc = zsock_curve_client(
            *sock, server, mine.pub, cert_secret_key(secret));
    cert_secret_free(secret);
    if (rc == 0)
        rc = zsock_connect(*sock, o->endpoint);
    if (rc != 0) {
        text_fmt(
            err, errlen, "%s: cannot connect: %s", o->endpoint, err_str(rc));
        zsock_close(*sock);
        *sock = NULL;
    }
    return rc;
}
