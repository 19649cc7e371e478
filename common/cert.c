/*
 * cert.c - CURVE certificates in the ZeroMQ certificate format (cert.h)
 *
 * Read by both daemons at start and on SIGHUP (the allow-list and their
 * own secret), written by vigilctl client add and at first start.
 * Files are small (under 1 KiB) and few, so clarity beats speed here.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cert.h"
#include "common/err.h"
#include "common/log.h"
#include "common/text.h"
#include "common/zsock.h"

struct cert_secret {
    uint8_t key[ZSOCK_KEY_BYTES];
};

bool
cert_name_ok(const char *name)
{
    size_t i, n = strnlen(name, CERT_NAME_MAX + 1);

    if (n == 0 || n > CERT_NAME_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                ch == '-'))
            return false;
    }
    return true;
}

const uint8_t *
cert_secret_key(const struct cert_secret *s)
{
    return s->key;
}

void
cert_secret_free(struct cert_secret *s)
{
    if (s != NULL)
        sodium_free(s); /* sodium_free wipes */
}

static struct cert_secret *
secret_new(void)
{
    struct cert_secret *s;

    /* Idempotent and thread-safe; sodium_malloc needs it. */
    if (sodium_init() < 0)
        fatalx("%s: libsodium cannot initialise", __func__);
    s = sodium_malloc(sizeof(*s));

    if (s == NULL)
        fatalx("%s: out of memory", __func__);
    return s;
}

/* Read the whole regular file at `path` into buf (size CERT_MAX_BYTES). */
static int
read_file(const char *path, bool secret, char *buf, size_t *len, char *err,
    size_t errlen)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            text_fmt(err, errlen, "%s: no such file", path);
            return ERR_NOTFOUND;
        }
        if (errno == ELOOP) {
            text_fmt(err, errlen, "%s: a symbolic link: refused", path);
            return ERR_DENIED;
        }
        text_fmt(err, errlen, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        text_fmt(err, errlen, "%s: %s", path, strerror(errno));
        rc = ERR_IO;
    } else if (!S_ISREG(st.st_mode)) {
        text_fmt(err, errlen, "%s: not a regular file", path);
        rc = ERR_DENIED;
    } else if (secret && (st.st_mode & 077) != 0) {
        text_fmt(err, errlen,
            "%s: a secret key readable or writable by others (mode %03o): "
            "refused; chmod 600",
            path, (unsigned)(st.st_mode & 0777));
        rc = ERR_DENIED;
    } else if (!secret && (st.st_mode & 022) != 0) {
        text_fmt(err, errlen,
            "%s: writable by group or others (mode %03o): refused", path,
            (unsigned)(st.st_mode & 0777));
        rc = ERR_DENIED;
    } else if (secret && st.st_uid != geteuid()) {
        text_fmt(err, errlen, "%s: owned by uid %u, not by uid %u: refused",
            path, (unsigned)st.st_uid, (unsigned)geteuid());
        rc = ERR_DENIED;
    } else if (st.st_size > CERT_MAX_BYTES) {
        text_fmt(err, errlen, "%s: larger than %d bytes", path, CERT_MAX_BYTES);
        rc = ERR_TOOBIG;
    }
    while (rc == 0) {
        n = read(fd, buf + got, CERT_MAX_BYTES - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            text_fmt(err, errlen, "%s: %s", path, strerror(errno));
            rc = ERR_IO;
        } else if (n == 0) {
            break;
        } else if ((got += (size_t)n) == CERT_MAX_BYTES) {
            text_fmt(
                err, errlen, "%s: larger than %d bytes", path, CERT_MAX_BYTES);
            rc = ERR_TOOBIG;
        }
    }
    (void)close(fd);
    *len = got;
    return rc;
}

/* Trim spaces and tabs at both ends of s[0..*n). */
static const char *
trim(const char *s, size_t *n)
{
    while (*n > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        (*n)--;
    }
    while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

enum { SEC_NONE, SEC_METADATA, SEC_CURVE };

/* The parsed fields of one file. */
struct parsed {
    char pub[ZSOCK_Z85_KEY + 1];
    char sec[ZSOCK_Z85_KEY + 1];
    bool has_pub, has_sec, has_name, has_role;
};

/* Store value v[0..n) of `key` in section `sec`. */
static int
take(struct parsed *p, struct cert *c, int sec, const char *key, size_t kn,
    const char *v, size_t n)
{
    bool *seen;
    char *dst;
    size_t cap;

    if (sec == SEC_CURVE && kn == 10 && memcmp(key, "public-key", 10) == 0) {
        seen = &p->has_pub;
        dst = p->pub;
        cap = sizeof(p->pub);
    } else if (sec == SEC_CURVE && kn == 10 &&
        memcmp(key, "secret-key", 10) == 0) {
        seen = &p->has_sec;
        dst = p->sec;
        cap = sizeof(p->sec);
    } else if (sec == SEC_METADATA && kn == 4 && memcmp(key, "name", 4) == 0) {
        seen = &p->has_name;
        dst = c->name;
        cap = sizeof(c->name);
    } else if (sec == SEC_METADATA && kn == 4 && memcmp(key, "role", 4) == 0) {
        seen = &p->has_role;
        dst = c->role;
        cap = sizeof(c->role);
    } else if (sec == SEC_METADATA) {
        return 0; /* other metadata is the owner's business */
    } else {
        return ERR_MALFORMED;
    }
    if (*seen || n >= cap || !text_is_clean((const uint8_t *)v, n, 0))
        return ERR_MALFORMED;
    memcpy(dst, v, n);
    dst[n] = '\0';
    *seen = true;
    return 0;
}

static int
parse(const char *path, char *buf, size_t len, struct parsed *p, struct cert *c,
    char *err, size_t errlen)
{
    size_t off = 0, line = 0;
    int sec = SEC_NONE;

    while (off < len) {
        const char *ln = buf + off, *eq, *key, *v;
        size_t n, kn, vn;
        const char *nl = memchr(ln, '\n', len - off);
        bool indented;

        n = nl != NULL ? (size_t)(nl - ln) : len - off;
        off += n + (nl != NULL);
        line++;
        if (n > 0 && ln[n - 1] == '\r')
            n--;
        indented = n > 0 && (ln[0] == ' ' || ln[0] == '\t');
        ln = trim(ln, &n);
        if (n == 0 || ln[0] == '#')
            continue;
        if (memchr(ln, '\0', n) != NULL)
            goto bad;
        if (!indented) {
            if (n == 8 && memcmp(ln, "metadata", 8) == 0)
                sec = SEC_METADATA;
            else if (n == 5 && memcmp(ln, "curve", 5) == 0)
                sec = SEC_CURVE;
            else
                goto bad;
            continue;
        }
        eq = memchr(ln, '=', n);
        if (sec == SEC_NONE || eq == NULL)
            goto bad;
        kn = (size_t)(eq - ln);
        key = trim(ln, &kn);
        vn = n - (size_t)(eq - ln) - 1;
        v = trim(eq + 1, &vn);
        if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
            v++;
            vn -= 2;
        } else if (memchr(v, '"', vn) != NULL) {
            goto bad;
        }
        if (take(p, c, sec, key, kn, v, vn) != 0)
            goto bad;
    }
    return 0;
bad:
    text_fmt(err, errlen, "%s:%zu: not a ZeroMQ certificate line", path, line);
    return ERR_MALFORMED;
}

int
cert_load(const char *path, struct cert *c, struct cert_secret **secret,
    char *err, size_t errlen)
{
    char buf[CERT_MAX_BYTES];
    struct cert_secret *sk = NULL;
    uint8_t derived[ZSOCK_KEY_BYTES];
    struct parsed p;
    size_t len = 0;
    int rc;

    memset(c, 0, sizeof(*c));
    memset(&p, 0, sizeof(p));
    if (secret != NULL)
        *secret = NULL;
    if (errlen > 0)
        err[0] = '\0';
    rc = read_file(path, secret != NULL, buf, &len, err, errlen);
    if (rc == 0)
        rc = parse(path, buf, len, &p, c, err, errlen);
    if (rc != 0)
        goto done;
    if (!p.has_pub || zsock_z85_decode(c->pub, p.pub) != 0) {
        text_fmt(err, errlen, "%s: no valid public-key", path);
        rc = ERR_MALFORMED;
        goto done;
    }
    if (p.has_name && !cert_name_ok(c->name)) {
        text_fmt(err, errlen, "%s: name must be 1..%d of [A-Za-z0-9._-]", path,
            CERT_NAME_MAX);
        rc = ERR_MALFORMED;
        goto done;
    }
    if (secret == NULL)
        goto done;
    sk = secret_new();
    if (!p.has_sec || zsock_z85_decode(sk->key, p.sec) != 0 ||
        zsock_curve_public(derived, sk->key) != 0 ||
        sodium_memcmp(derived, c->pub, ZSOCK_KEY_BYTES) != 0) {
        text_fmt(err, errlen,
            "%s: no secret-key, or one that does not match public-key", path);
        cert_secret_free(sk);
        rc = ERR_MALFORMED;
        goto done;
    }
    *secret = sk;
done:
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(&p, sizeof(p));
    if (rc != 0)
        memset(c, 0, sizeof(*c));
    return rc;
}

/* Write `text` to a new file `path` with `mode`, exclusively, fsynced. */
static int
write_new(const char *path, const char *text, mode_t mode)
{
    size_t len = strlen(text), off = 0;
    int fd;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return ERR_EXISTS;
        log_warn("cannot create '%s'", path);
        return ERR_IO;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            log_warn("cannot write '%s'", path);
            (void)close(fd);
            (void)unlink(path);
            return ERR_IO;
        }
        off += (size_t)n;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        log_warn("cannot sync '%s'", path);
        (void)close(fd);
        (void)unlink(path);
        return ERR_IO;
    }
    (void)close(fd);
    return 0;
}

int
cert_create(const char *dir, const char *secret_dir, const char *name,
    const char *role, struct cert *c, struct cert_secret **secret)
{
    char pubpath[512], secpath[512], text[1024], day[16];
    char pubz[ZSOCK_Z85_KEY + 1], secz[ZSOCK_Z85_KEY + 1];
    struct cert_secret *sk;
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    memset(c, 0, sizeof(*c));
    if (secret != NULL)
        *secret = NULL;
    if (!cert_name_ok(name) || !cert_name_ok(role) ||
        strlen(role) > CERT_ROLE_MAX)
        return ERR_INVAL;
    if ((size_t)snprintf(pubpath, sizeof(pubpath), "%s/%s.key", dir, name) >=
            sizeof(pubpath) ||
        (size_t)snprintf(secpath, sizeof(secpath), "%s/%s.key_secret",
            secret_dir, name) >= sizeof(secpath))
        return ERR_TOOBIG;
    sk = secret_new();
    rc = zsock_curve_keypair(c->pub, sk->key);
    if (rc != 0) {
        cert_secret_free(sk);
        return rc;
    }
    TEXT_COPY(c->name, name);
    TEXT_COPY(c->role, role);
    zsock_z85_encode(pubz, c->pub);
    zsock_z85_encode(secz, sk->key);
    (void)strftime(day, sizeof(day), "%Y-%m-%d", gmtime_r(&now, &tm));

    (void)snprintf(text, sizeof(text),
        "#   ****  Generated on %s by vigilctl  ****\n"
        "#   ZeroMQ CURVE **Secret** Certificate\n"
        "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
        "permissions.\n\n"
        "metadata\n    name = \"%s\"\n    role = \"%s\"\n"
        "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
        day, name, role, pubz, secz);
    rc = write_new(secpath, text, 0600);
    sodium_memzero(text, sizeof(text));
    sodium_memzero(secz, sizeof(secz));
    if (rc != 0) {
        cert_secret_free(sk);
        return rc;
    }
    (void)snprintf(text, sizeof(text),
        "#   ****  Generated on %s by vigilctl  ****\n"
        "#   ZeroMQ CURVE Public Certificate\n"
        "#   Exchange securely, or use a secure mechanism to verify the "
        "contents\n#   of this file after exchange.\n\n"
        "metadata\n    name = \"%s\"\n    role = \"%s\"\n"
        "curve\n    public-key = \"%s\"\n",
        day, name, role, pubz);
    rc = write_new(pubpath, text, 0600);
    if (rc != 0) {
        (void)unlink(secpath);
        cert_secret_free(sk);
        return rc;
    }
    if (secret != NULL)
        *secret = sk;
    else
        cert_secret_free(sk);
    return 0;
}
