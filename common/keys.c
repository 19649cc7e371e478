/*
 * keys.c - the keys directory (see keys.h)
 *
 * Runs once at each daemon's start (and in vigilctl's client and
 * server-key commands): a handful of small files, so plain and careful.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cert.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/text.h"

int
keys_path(const char *dir, const char *name, char *out, size_t cap)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
        if (cap > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

/*
 * Load the secret certificate `name` from k->dir into *c / *sk; with
 * `create`, make the pair when it is missing (public half into
 * `pubdir`). Returns as cert_load().
 */
static int
load_or_make(const struct keys *k, const char *name, const char *role,
    const char *pubdir, bool create, struct cert *c, struct cert_secret **sk,
    char *err, size_t errlen)
{
    char path[KEYS_PATH_MAX + 64], file[80];
    int rc;

    (void)snprintf(file, sizeof(file), "%s.key_secret", name);
    rc = keys_path(k->dir, file, path, sizeof(path));
    if (rc != 0)
        return rc;
    rc = cert_load(path, c, sk, err, errlen);
    if (rc != ERR_NOTFOUND || !create)
        return rc;
    /* The secret goes in the keys dir itself, the public half where its
     * readers look (the keys dir for the server, internal/ for the
     * collector). cert_create() writes the secret file as <dir>/<name>
     * .key_secret and the public one as <pubdir>/<name>.key. */
    rc = cert_create(pubdir, k->dir, name, role, c, sk);
    if (rc != 0) {
        (void)snprintf(err, errlen, "%s: cannot create the certificate: %s",
            path, err_str(rc));
        return rc;
    }
    log_info("created the %s certificate '%s'", name, path);
    return 0;
}

int
keys_open(const char *dir, const char *clients_dir, bool create, struct keys *k,
    char *err, size_t errlen)
{
    char path[KEYS_PATH_MAX + 64];
    int lockfd = -1, rc;

    memset(k, 0, sizeof(*k));
    if (strlen(dir) >= sizeof(k->dir)) {
        (void)snprintf(err, errlen, "keys_dir: path too long");
        return ERR_TOOBIG;
    }
    TEXT_COPY(k->dir, dir);
    if (clients_dir != NULL && clients_dir[0] != '\0') {
        if (strlen(clients_dir) >= sizeof(k->clients_dir)) {
            (void)snprintf(err, errlen, "clients_dir: path too long");
            return ERR_TOOBIG;
        }
        TEXT_COPY(k->clients_dir, clients_dir);
    } else if (keys_path(dir, KEYS_CLIENTS, k->clients_dir,
                   sizeof(k->clients_dir)) != 0) {
        (void)snprintf(err, errlen, "keys_dir: path too long");
        return ERR_TOOBIG;
    }
    if (keys_path(dir, KEYS_INTERNAL, k->internal_dir,
            sizeof(k->internal_dir)) != 0) {
        (void)snprintf(err, errlen, "keys_dir: path too long");
        return ERR_TOOBIG;
    }

    rc = harden_dir(dir, create, (uid_t)-1, err, errlen);
    if (rc != 0)
        return rc;
    /* One creator at a time: the collector and the scorer may start
     * together on a machine that has no keys yet. */
    if (create) {
        rc = keys_path(dir, ".lock", path, sizeof(path));
        if (rc == 0)
            lockfd =
                open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
            (void)snprintf(
                err, errlen, "%s: cannot lock: %s", path, strerror(errno));
            if (lockfd >= 0)
                (void)close(lockfd);
            return ERR_IO;
        }
    }
    rc = harden_dir(k->internal_dir, create, (uid_t)-1, err, errlen);
    if (rc == 0)
        rc = harden_dir(k->clients_dir, create, (uid_t)-1, err, errlen);
    if (rc == 0 && create) {
        char secrets[KEYS_PATH_MAX + 16];

        rc = keys_path(dir, KEYS_SECRETS, secrets, sizeof(secrets));
        if (rc == 0)
            rc = harden_dir(secrets, true, (uid_t)-1, err, errlen);
    }
    if (rc == 0)
        rc = load_or_make(k, KEYS_SERVER, "server", dir, create, &k->server,
            &k->server_secret, err, errlen);
    if (rc == 0)
        rc = load_or_make(k, KEYS_COLLECTOR, "collector", k->internal_dir,
            create, &k->collector, &k->collector_secret, err, errlen);
    if (rc == 0) {
        rc = keys_path(dir, KEYS_PSEUDONYM, path, sizeof(path));
        if (rc == 0)
            rc = pseudo_key_open(path, create, &k->pseudo);
        if (rc != 0)
            (void)snprintf(err, errlen, "%s: cannot load the pseudonym key: %s",
                path, err_str(rc));
    }
    if (lockfd >= 0)
        (void)close(lockfd); /* releases the lock */
    if (rc != 0)
        keys_close(k);
    return rc;
}

void
keys_close(struct keys *k)
{
    cert_secret_free(k->server_secret);
    cert_secret_free(k->collector_secret);
    pseudo_key_close(k->pseudo);
    k->server_secret = NULL;
    k->collector_secret = NULL;
    k->pseudo = NULL;
}
