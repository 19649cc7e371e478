/*
 * keys.h - the keys directory: every secret the daemons hold, apart
 *          from the data they guard
 *
 * The data directory (LMDB, journal, audit log) can be copied, backed
 * up or handed to an auditor without giving away a single key: every
 * key lives in `keys_dir` (default /etc/vigil), which only the
 * service's user (or root) may read:
 *
 *   server.key_secret, server.key   the CURVE certificate of both TCP
 *                                   endpoints (clients pin server.key)
 *   collector.key_secret            the collector's own certificate, for
 *   internal/collector.key          the collector->scorer link
 *   clients/                        the allow-list: one public
 *                                   certificate per client, with its
 *                                   name and role (zauth.h)
 *   secrets/                        client secret certificates made by
 *                                   `vigilctl client add`, to hand over
 *   pseudonym.key                   the pseudonym key (pseudo.h)
 *
 * keys_open() is the start-up step of both daemons: it checks the
 * directory StrictModes-style (harden.h), creates what is missing on
 * first start (under a lock, so the two daemons starting together make
 * one of each), and loads the certificates and the pseudonym key.
 *
 * Invariants:
 *  - secrets stay in guarded memory (cert_secret, pseudo_key); struct
 *    keys owns them until keys_close().
 *
 * See also: cert.h, zauth.h, pseudo.h, harden.h, scorer/scorer.conf.5
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_KEYS_H
#define COMMON_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/cert.h"
#include "common/compiler.h"
#include "common/pseudo.h"

#define KEYS_SERVER    "server"
#define KEYS_COLLECTOR "collector"
#define KEYS_CLIENTS   "clients"
#define KEYS_INTERNAL  "internal"
#define KEYS_SECRETS   "secrets"
#define KEYS_PSEUDONYM "pseudonym.key"
#define KEYS_PATH_MAX  1024

/* What keys_open() loaded. Fields change only through this API. */
struct keys {
    char dir[KEYS_PATH_MAX];
    char clients_dir[KEYS_PATH_MAX];  /* the allow-list */
    char internal_dir[KEYS_PATH_MAX]; /* the collectors' certificates */
    struct cert server;               /* public half */
    struct cert_secret *server_secret;
    struct cert collector;
    struct cert_secret *collector_secret;
    struct pseudo_key *pseudo; /* the pseudonym key */
};

/*
 * Open the keys directory `dir` (with the allow-list in `clients_dir`,
 * or "<dir>/clients" when it is NULL or ""): check it (owned by the
 * effective user, no access for group or others, no symbolic links),
 * and with `create` make it and whatever is missing (directories 0700,
 * certificates, the pseudonym key) under an exclusive lock. `err` (size
 * `errlen`) gets what is wrong and how to fix it. Free with keys_close().
 * Returns 0, ERR_NOTFOUND (missing, !create), ERR_DENIED (ownership or
 * mode), ERR_MALFORMED (a bad certificate) or ERR_IO.
 */
int keys_open(const char *dir, const char *clients_dir, bool create,
    struct keys *k, char *err, size_t errlen) WARN_UNUSED NONNULL(1, 4, 5);

/* Wipe and free the secrets. Safe on a zeroed struct. */
void keys_close(struct keys *k) NONNULL(1);

/*
 * Write "<dir>/<name>" into out (size `cap`). Returns 0 or ERR_TOOBIG.
 */
int keys_path(const char *dir, const char *name, char *out,
    size_t cap) WARN_UNUSED NONNULL(1, 2, 3);

#endif
