/*
 * cert.h - CURVE certificates in the ZeroMQ certificate format
 *
 * Every peer of a Vigil TCP endpoint is a CURVE key pair; its public
 * half, with a name and a role, is what the allow-list holds. Files use
 * the ZPL text format that CZMQ's zcert writes and pyzmq's
 * zmq.auth.create_certificates / load_certificate read and write:
 *
 *     #   ZeroMQ CURVE **Secret** Certificate
 *     metadata
 *         name = "shop-a"
 *         role = "storefront"
 *     curve
 *         public-key = "<40 Z85 characters>"
 *         secret-key = "<40 Z85 characters>"
 *
 * "<name>.key" holds the public half (no secret-key line); the secret
 * file "<name>.key_secret" is mode 0600. Values may be quoted or not
 * (pyzmq writes metadata unquoted). The reader is strict: at most
 * CERT_MAX_BYTES, only the two sections above, only the keys above plus
 * ignored extra metadata, each key once, Z85 keys checked, a secret
 * file must hold a secret key whose public half matches public-key.
 *
 * Invariants:
 *  - a loaded secret key lives in sodium_malloc'd memory (struct
 *    cert_secret) and is wiped when freed.
 *  - files are opened with O_NOFOLLOW; a secret file readable or
 *    writable by group or others, or not owned by the effective user,
 *    is refused.
 *
 * See also: zauth.h (the allow-list), zsock.h, vigilctl(1) "client",
 *           https://rfc.zeromq.org/spec/4/ (ZPL),
 *           https://rfc.zeromq.org/spec/32/ (Z85)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CERT_H
#define COMMON_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/zsock.h"

#define CERT_MAX_BYTES 8192 /* a certificate file, at most */
#define CERT_NAME_MAX  64   /* a client name: [A-Za-z0-9._-], 1..64 */
#define CERT_ROLE_MAX  16

/* The public half of a certificate, as the allow-list keeps it. */
struct cert {
    uint8_t pub[ZSOCK_KEY_BYTES];
    char name[CERT_NAME_MAX + 1]; /* metadata "name"; "" when absent */
    char role[CERT_ROLE_MAX + 1]; /* metadata "role"; "" when absent */
};

/* A secret key in guarded memory; opaque. */
struct cert_secret;

/* True when `name` is 1..CERT_NAME_MAX bytes of [A-Za-z0-9._-]. */
bool cert_name_ok(const char *name) NONNULL(1);

/*
 * Read the certificate at `path` into `*c`; when `secret` is not NULL
 * the file must also hold the matching secret key, returned in
 * `*secret` (free with cert_secret_free()). `err` (size `errlen`) gets
 * a one-line reason on failure, naming the file and the line.
 * Returns 0, ERR_NOTFOUND (no such file), ERR_DENIED (a symlink, not a
 * regular file, a secret file open to others or owned by someone else),
 * ERR_TOOBIG, ERR_MALFORMED (not the format) or ERR_IO.
 */
int cert_load(const char *path, struct cert *c, struct cert_secret **secret,
    char *err, size_t errlen) WARN_UNUSED NONNULL(1, 2, 4);

/*
 * Make a new key pair named `name` with role `role` and write it as
 * `dir`/`name`.key and `secret_dir`/`name`.key_secret (both mode
 * 0600), both created exclusively (an existing file is ERR_EXISTS) and
 * fsynced. `*c` gets the public half; `secret` (may be NULL) the secret.
 * Returns 0, ERR_INVAL (bad name or role), ERR_EXISTS, ERR_TOOBIG (path
 * too long) or ERR_IO (logged).
 */
int cert_create(const char *dir, const char *secret_dir, const char *name,
    const char *role, struct cert *c, struct cert_secret **secret) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 5);

/* The secret key's bytes; borrowed, valid until cert_secret_free(). */
const uint8_t *cert_secret_key(const struct cert_secret *s) NONNULL(1);

/* Wipe and free. NULL is a no-op. */
void cert_secret_free(struct cert_secret *s);

#endif
