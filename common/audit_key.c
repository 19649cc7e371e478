/*
 * audit_key.c - the audit log's signing key, kept apart from the log
 *
 * The checkpoint signer's secret lives in a file of the keys directory
 * (cfg signing_key, default <keys_dir>/audit-signing.key), never in the
 * data directory that is copied and handed to auditors. The scorer loads
 * it at start (creating it on first start) after dropping privileges;
 * `vigilctl audit pubkey` derives the verifier key from it. The key's
 * name is the log's origin: on first start, unless the operator chose
 * one, a per-installation origin "<host>/vigil-audit/<8 random hex>"
 * is made and thereby fixed for the life of the key.
 *
 * Invariants:
 *  - a key file is a regular file owned by the effective user with no
 *    permission for group or others (harden_file); anything else is
 *    refused, never repaired.
 *  - the secret is wiped from every buffer it passed through.
 *
 * See also: audit.h ("Signing key"), note.h (the skey format),
 *           harden.h, scorer/scorer.conf.5 (signing_key, audit_origin)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/harden.h"
#include "common/log.h"
#include "common/note.h"

bool
audit_origin_is_valid(const char *o)
{
    size_t n = strlen(o);

    if (n == 0 || n > AUDIT_MAX_ORIGIN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = o[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
                c == ':' || c == '-'))
            return false;
    }
    return true;
}

int
audit_key_default_origin(char *out, size_t cap)
{
    char host[65];
    uint8_t rnd[4];
    size_t n = 0;

    if (gethostname(host, sizeof(host)) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    /* Keep the origin's alphabet: anything else becomes '-'. */
    for (size_t i = 0; host[i] != '\0'; i++, n++) {
        char c = host[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '-'))
            c = '-';
        host[i] = c;
    }
    randombytes_buf(rnd, sizeof(rnd));
    if ((size_t)snprintf(out, cap, "%s/vigil-audit/%02x%02x%02x%02x",
            n > 0 ? host : "localhost", rnd[0], rnd[1], rnd[2], rnd[3]) >= cap)
        return ERR_TOOBIG;
    return 0;
}

/* Write the new key `skey` to `path` (0600, O_EXCL), then fsync it and
 * its directory. */
static int
key_write(const char *path, const char *skey)
{
    size_t len = strlen(skey);
    int fd, rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1)
        return errno == EEXIST ? ERR_EXISTS : ERR_IO;
    if (fileio_pwrite_all(fd, (const uint8_t *)skey, len, 0) != 0 ||
        fileio_pwrite_all(fd, (const uint8_t *)"\n", 1, len) != 0 ||
        fsync(fd) != 0)
        rc = ERR_IO;
    close(fd);
    if (rc != 0) {
        (void)unlink(path);
        return rc;
    }
    return fileio_sync_parent(path) == 0 ? 0 : ERR_IO;
}

/* Make a new key named `origin` (or the default origin) at `path`. */
static int
key_create(const char *path, const char *origin, struct note_signer *out,
    char *err, size_t errlen)
{
    char name[AUDIT_MAX_ORIGIN + 1], skey[NOTE_MAX_KEY], vkey[NOTE_MAX_KEY];
    int rc;

    if (origin != NULL && origin[0] != '\0') {
        snprintf(name, sizeof(name), "%s", origin);
    } else if (audit_key_default_origin(name, sizeof(name)) != 0) {
        snprintf(err, errlen, "cannot make a default origin");
        return ERR_INVAL;
    }
    if (!audit_origin_is_valid(name)) {
        snprintf(err, errlen,
            "audit_origin '%s' is not 1..128 characters of "
            "[A-Za-z0-9._/:-]",
            name);
        return ERR_INVAL;
    }
    rc = note_key_generate(name, skey, sizeof(skey), vkey, sizeof(vkey));
    if (rc == 0)
        rc = note_signer_parse(skey, out);
    if (rc == 0) {
        rc = key_write(path, skey);
        if (rc != 0)
            snprintf(err, errlen, "%s: cannot create the signing key: %s", path,
                rc == ERR_EXISTS ? "it appeared meanwhile" : strerror(errno));
    } else {
        snprintf(err, errlen, "cannot generate a key named '%s'", name);
        rc = ERR_INVAL;
    }
    sodium_memzero(skey, sizeof(skey));
    if (rc != 0)
        note_signer_wipe(out);
    else
        log_info(
            "created the audit signing key '%s': verifier key %s", path, vkey);
    return rc;
}

int
audit_key_load(const char *path, const char *origin, bool create,
    struct note_signer *out, bool *created, char *err, size_t errlen)
{
    char *p = NULL;
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    if (created != NULL)
        *created = false;
    if (strlen(path) >= AUDIT_MAX_PATH) {
        snprintf(err, errlen, "%s: path too long", path);
        return ERR_TOOBIG;
    }
    rc = harden_file(path, err, errlen);
    if (rc == ERR_NOTFOUND && create) {
        rc = key_create(path, origin, out, err, errlen);
        if (rc == 0 && created != NULL)
            *created = true;
        return rc;
    }
    if (rc == ERR_NOTFOUND) {
        snprintf(err, errlen, "%s: no signing key", path);
        return rc;
    }
    if (rc != 0)
        return rc; /* err says what is wrong with its owner or mode */
    rc = fileio_read_small(AT_FDCWD, path, NOTE_MAX_KEY, &p, &len);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot read: %s", path, err_str(rc));
        return rc == ERR_TOOBIG ? ERR_MALFORMED : ERR_IO;
    }
    rc = note_signer_parse(p, out);
    sodium_memzero(p, len);
    free(p);
    if (rc != 0) {
        snprintf(err, errlen,
            "%s: not a signer key (PRIVATE+KEY+<name>+<id>+<base64>)", path);
        return ERR_MALFORMED;
    }
    if (!audit_origin_is_valid(out->name)) {
        snprintf(err, errlen, "%s: the key's name '%s' is not a valid origin",
            path, out->name);
        note_signer_wipe(out);
        return ERR_INVAL;
    }
    if (origin != NULL && origin[0] != '\0' && strcmp(origin, out->name) != 0) {
        snprintf(err, errlen,
            "%s: the key is named '%s', but audit_origin is '%s' (the "
            "origin is fixed by the key; leave audit_origin empty)",
            path, out->name, origin);
        note_signer_wipe(out);
        return ERR_INVAL;
    }
    return 0;
}
