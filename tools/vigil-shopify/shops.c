/*
 * shops.c - the shops the bridge serves: secrets and tokens files
 *
 * Reads each file whole into guarded memory (after checking its owner
 * and mode on the open descriptor, so the checked file is the read
 * one), splits it into lines and whitespace-separated fields, and fills
 * a sorted table of struct shop in sodium_malloc'd memory that becomes
 * read-only. Start-up only.
 *
 * Invariants:
 *  - the file bytes are wiped before their buffer is freed.
 *  - error messages name the file, the line and the rule, never a
 *    secret.
 *
 * See also: shops.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/hmac.h"
#include "tools/vigil-shopify/shops.h"

struct shops {
    struct shop *v; /* sodium_malloc'd, n entries, sorted by domain */
    size_t n;
};

int
shops_open_private(
    const char *path, int oflags, struct stat *st, char *err, size_t errlen)
{
    int fd;

    fd = open(path, oflags | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return errno == ENOENT && !(oflags & O_CREAT) ? ERR_NOTFOUND :
            errno == ELOOP                            ? ERR_DENIED :
                                                        ERR_IO;
    }
    if (fstat(fd, st) != 0) {
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return ERR_IO;
    }
    if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
        (st->st_mode & 077) != 0) {
        snprintf(err, errlen,
            "%s: must be a regular file owned by this user with no access "
            "for group or others (chmod 600)",
            path);
        close(fd);
        return ERR_DENIED;
    }
    return fd;
}

/* Read the whole of `path` into sodium_malloc'd memory (NUL-terminated;
 * caller wipes with sodium_free), after checking who may read it. */
static int
read_secret_file(
    const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    ssize_t got;
    char *buf;
    int fd;

    fd = shops_open_private(path, O_RDONLY, &st, err, errlen);
    if (fd < 0)
        return fd;
    if (st.st_size > SHOPS_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, SHOPS_FILE_MAX);
        close(fd);
        return ERR_INVAL;
    }
    buf = sodium_malloc((size_t)st.st_size + 1);
    if (buf == NULL)
        fatalx("%s: out of memory", __func__);
    got = fileio_pread_full(fd, (uint8_t *)buf, (size_t)st.st_size, 0);
    close(fd);
    if (got != (ssize_t)st.st_size) {
        snprintf(err, errlen, "%s: read error", path);
        sodium_free(buf);
        return ERR_IO;
    }
    buf[got] = '\0';
    *text = buf;
    *len = (size_t)got;
    return 0;
}

static bool
domain_ok(const char *d, size_t n)
{
    size_t i;

    if (n == 0 || n > SHOPS_DOMAIN_MAX || d[0] == '.' || d[0] == '-')
        return false;
    for (i = 0; i < n; i++)
        if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= '0' && d[i] <= '9') ||
                d[i] == '.' || d[i] == '-'))
            return false;
    return true;
}

/* 1..max printable ASCII characters without spaces. */
static bool
secret_ok(const char *s, size_t n, size_t max)
{
    size_t i;

    if (n == 0 || n > max)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

/*
 * Split the next line of text[*pos..len) into at most `max` fields
 * (pointers into the text, NUL-terminated in place). Returns the number
 * of fields (0 for a blank or comment line), or -1 for too many; *pos
 * moves past the line. A NUL byte inside the file ends the text.
 */
static int
next_fields(char *text, size_t len, size_t *pos, char **f, size_t *fl, int max)
{
    size_t i = *pos, end;
    int n = 0;

    for (end = i; end < len && text[end] != '\n'; end++)
        if (text[end] == '#')
            break;
    *pos = end;
    while (*pos < len && text[*pos] != '\n')
        (*pos)++;
    if (*pos < len)
        (*pos)++;
    while (i < end) {
        while (
            i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
            i++;
        if (i >= end)
            break;
        if (n == max)
            return -1;
        f[n] = text + i;
        while (i < end && text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
            i++;
        fl[n] = (size_t)(text + i - f[n]);
        n++;
        if (i < end)
            text[i++] = '\0';
        else
            text[i] = '\0';
    }
    return n;
}

static int
cmp_domain(const void *a, const void *b)
{
    return strcmp(
        ((const struct shop *)a)->domain, ((const struct shop *)b)->domain);
}

/* The shop of `domain` in the sorted v[0..n), or NULL. */
static struct shop *
find(struct shop *v, size_t n, const char *domain)
{
    size_t lo = 0, hi = n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(domain, v[mid].domain);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int
parse_secrets(struct shops *s, char *text, size_t len, const char *path,
    char *err, size_t errlen)
{
    char *f[3];
    size_t fl[3], pos = 0, i, line = 0;
    struct shop *sh;
    int nf, k;

    while (pos < len) {
        line++;
        nf = next_fields(text, len, &pos, f, fl, 3);
        if (nf == 0)
            continue;
        if (nf < 2) {
            snprintf(err, errlen,
                "%s:%zu: want '<shop-domain> <client-secret> "
                "[<previous-secret>]'",
                path, line);
            return ERR_INVAL;
        }
        if (!domain_ok(f[0], fl[0])) {
            snprintf(err, errlen,
                "%s:%zu: the shop domain must be [a-z0-9.-], 1..%d bytes", path,
                line, SHOPS_DOMAIN_MAX);
            return ERR_INVAL;
        }
        if (s->n == SHOPS_MAX) {
            snprintf(err, errlen, "%s:%zu: more than %d shops", path, line,
                SHOPS_MAX);
            return ERR_INVAL;
        }
        sh = &s->v[s->n];
        memcpy(sh->domain, f[0], fl[0] + 1);
        for (k = 1; k < nf; k++) {
            if (!secret_ok(f[k], fl[k], SHOPS_SECRET_MAX)) {
                snprintf(err, errlen,
                    "%s:%zu: a secret must be 1..%d printable characters "
                    "without spaces",
                    path, line, SHOPS_SECRET_MAX);
                return ERR_INVAL;
            }
            memcpy(sh->secret[k - 1], f[k], fl[k]);
            sh->secret_len[k - 1] = fl[k];
        }
        sh->nsecrets = (unsigned)(nf - 1);
        s->n++;
    }
    if (s->n == 0) {
        snprintf(err, errlen, "%s: no shop", path);
        return ERR_INVAL;
    }
    qsort(s->v, s->n, sizeof(*s->v), cmp_domain);
    for (i = 0; i < s->n; i++) {
        s->v[i].index = i;
        if (i > 0 && strcmp(s->v[i - 1].domain, s->v[i].domain) == 0) {
            snprintf(err, errlen, "%s: shop '%s' is listed twice", path,
                s->v[i].domain);
            return ERR_INVAL;
        }
    }
    return 0;
}

static int
parse_tokens(struct shops *s, char *text, size_t len, const char *path,
    char *err, size_t errlen)
{
    char *f[2];
    size_t fl[2], pos = 0, line = 0;
    struct shop *sh;
    int nf;

    while (pos < len) {
        line++;
        nf = next_fields(text, len, &pos, f, fl, 2);
        if (nf == 0)
            continue;
        if (nf != 2) {
            snprintf(err, errlen, "%s:%zu: want '<shop-domain> <access-token>'",
                path, line);
            return ERR_INVAL;
        }
        sh = domain_ok(f[0], fl[0]) ? find(s->v, s->n, f[0]) : NULL;
        if (sh == NULL) {
            snprintf(err, errlen, "%s:%zu: the shop is not in the secrets file",
                path, line);
            return ERR_INVAL;
        }
        if (sh->token[0] != '\0') {
            snprintf(err, errlen, "%s:%zu: shop '%s' is listed twice", path,
                line, sh->domain);
            return ERR_INVAL;
        }
        if (!secret_ok(f[1], fl[1], SHOPS_TOKEN_MAX)) {
            snprintf(err, errlen,
                "%s:%zu: a token must be 1..%d printable characters without "
                "spaces",
                path, line, SHOPS_TOKEN_MAX);
            return ERR_INVAL;
        }
        memcpy(sh->token, f[1], fl[1] + 1);
    }
    return 0;
}

int
shops_load(const char *secrets_path, const char *tokens_path,
    struct shops **out, char *err, size_t errlen)
{
    struct shops *s;
    char *text = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    s = xcalloc(1, sizeof(*s));
    s->v = sodium_allocarray(SHOPS_MAX, sizeof(*s->v));
    if (s->v == NULL)
        fatalx("%s: out of memory", __func__);
    sodium_memzero(s->v, SHOPS_MAX * sizeof(*s->v));
    rc = read_secret_file(secrets_path, &text, &len, err, errlen);
    if (rc != 0)
        goto fail;
    rc = parse_secrets(s, text, len, secrets_path, err, errlen);
    sodium_free(text); /* sodium_free wipes */
    text = NULL;
    if (rc != 0)
        goto fail;
    if (tokens_path[0] != '\0') {
        rc = read_secret_file(tokens_path, &text, &len, err, errlen);
        if (rc != 0)
            goto fail;
        rc = parse_tokens(s, text, len, tokens_path, err, errlen);
        sodium_free(text);
        if (rc != 0)
            goto fail;
    }
    sodium_mprotect_readonly(s->v);
    *out = s;
    return 0;
fail:
    shops_free(s);
    return rc;
}

size_t
shops_count(const struct shops *s)
{
    return s->n;
}

const struct shop *
shops_get(const struct shops *s, size_t i)
{
    return i < s->n ? &s->v[i] : NULL;
}

const struct shop *
shops_find(const struct shops *s, const char *domain)
{
    return find(s->v, s->n, domain);
}

bool
shops_verify(const struct shop *shop, const void *body, size_t len,
    const char *hmac_header)
{
    struct hmac_key keys[2];
    unsigned i;

    for (i = 0; i < shop->nsecrets && i < 2; i++) {
        keys[i].key = shop->secret[i];
        keys[i].len = shop->secret_len[i];
    }
    return hmac_verify(body, len, hmac_header, keys, i);
}

void
shops_free(struct shops *s)
{
    if (s == NULL)
        return;
    if (s->v != NULL)
        sodium_free(s->v); /* wipes; also undoes the read-only mark */
    free(s);
}
