/*
 * zauth.c - the ZAP handler (see zauth.h)
 *
 * The allow-list is an array sorted by public key, searched with
 * bsearch; reload builds a new one and swaps the pointer under a mutex
 * (the handler thread holds the mutex only for the lookup). Requests
 * come one at a time per connection handshake, not per message, so the
 * handler is far off the hot path.
 *
 * Invariants:
 *  - only the handler thread touches the ZAP socket;
 *  - `table` and `refusals` change only under `mu`.
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/cert.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "common/zauth.h"
#include "common/zsock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_POLL_MS  100

struct entry {
    uint8_t pub[ZSOCK_KEY_BYTES];
    char name[CERT_NAME_MAX + 1];
    char role[CERT_ROLE_MAX + 1];
    unsigned rolebit;
    bool internal; /* from internal_dir */
};

struct table {
    size_t n;
    struct entry *e; /* sorted by pub */
};

struct zauth {
    void *ctx;
    char *clients_dir;
    char *internal_dir;
    unsigned public_roles;
    char *plain_role;
    pthread_t thread;
    atomic_bool quit;
    pthread_mutex_t mu;
    struct table *table;                               /* under mu */
    struct zauth_refusal refusals[ZAUTH_MAX_REFUSALS]; /* under mu */
    size_t nrefusals;
    int start_rc; /* the thread's bind result, for zauth_start */
    bool started;
    pthread_cond_t cv;
};

unsigned
zauth_role_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {
        { "storefront", ZAUTH_STOREFRONT },
        { "analyst", ZAUTH_ANALYST },
        { "auditor", ZAUTH_AUDITOR },
        { "dpo", ZAUTH_DPO },
        { "admin", ZAUTH_ADMIN },
        { "collector", ZAUTH_COLLECTOR },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(roles); i++)
        if (strcmp(name, roles[i].name) == 0)
            return roles[i].bit;
    return 0;
}

/* ------------------------------------------------------- the allow-list */

static int
entry_cmp(const void *a, const void *b)
{
    return memcmp(((const struct entry *)a)->pub,
        ((const struct entry *)b)->pub, ZSOCK_KEY_BYTES);
}

static void
table_free(struct table *t)
{
    if (t == NULL)
        return;
    free(t->e);
    free(t);
}

/*
 * Check a directory the way sshd's StrictModes checks a home: a real
 * directory, owned by the effective user or root, not writable by
 * group or others (who could plant a certificate).
 */
static int
dir_check(const char *dir)
{
    struct stat st;

    if (lstat(dir, &st) != 0) {
        if (errno == ENOENT) {
            log_warnx("allow-list '%s': no such directory", dir);
            return ERR_NOTFOUND;
        }
        log_warn("allow-list '%s'", dir);
        return ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_warnx("allow-list '%s': not a directory", dir);
        return ERR_INVAL;
    }
    if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022) != 0) {
        log_warnx("allow-list '%s': owned by uid %u with mode %03o; it must "
                  "belong to uid %u or root and not be writable by group "
                  "or others",
            dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777),
            (unsigned)geteuid());
        return ERR_INVAL;
    }
    return 0;
}

/* True when `n` ends in ".key" (a public certificate's name). */
static bool
is_key_file(const char *n)
{
    size_t len = strlen(n);

    return len > 4 && strcmp(n + len - 4, ".key") == 0 && n[0] != '.';
}

/* Add every certificate of `dir` to `t`; `internal` marks the domain. */
static int
load_dir(struct table *t, size_t *cap, const char *dir, bool internal)
{
    char path[1024], err[256];
    struct dirent *de;
    struct cert c;
    DIR *d;
    int rc;

    rc = dir_check(dir);
    if (rc != 0)
        return rc;
    d = opendir(dir);
    if (d == NULL) {
        log_warn("allow-list '%s'", dir);
        return ERR_IO;
    }
    rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!is_key_file(de->d_name))
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
            sizeof(path)) {
            log_warnx("allow-list '%s': a file name too long", dir);
            rc = ERR_INVAL;
            break;
        }
        rc = cert_load(path, &c, NULL, err, sizeof(err));
        if (rc != 0) {
            log_warnx("allow-list: %s", err);
            rc = ERR_INVAL;
            break;
        }
        if (!cert_name_ok(c.name) || zauth_role_bit(c.role) == 0 ||
            (internal && strcmp(c.role, "collector") != 0) ||
            (!internal && strcmp(c.role, "collector") == 0)) {
            log_warnx("allow-list: %s: needs metadata name (1..%d of "
                      "[A-Za-z0-9._-]) and role (one of: %s%s)",
                path, CERT_NAME_MAX,
                internal ? "collector" : "storefront analyst auditor dpo admin",
                "");
            rc = ERR_INVAL;
            break;
        }
        if (t->n == ZAUTH_MAX_CLIENTS) {
            log_warnx(
                "allow-list: more than %d certificates", ZAUTH_MAX_CLIENTS);
            rc = ERR_INVAL;
            break;
        }
        if (t->n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            t->e = xreallocarray(t->e, *cap, sizeof(*t->e));
        }
        memcpy(t->e[t->n].pub, c.pub, ZSOCK_KEY_BYTES);
        TEXT_COPY(t->e[t->n].name, c.name);
        TEXT_COPY(t->e[t->n].role, c.role);
        t->e[t->n].rolebit = zauth_role_bit(c.role);
        t->e[t->n].internal = internal;
        t->n++;
    }
    (void)closedir(d);
    return rc;
}

/* Read the whole allow-list into a new table; NULL on error (logged). */
static int
table_load(const struct zauth *z, struct table **out)
{
    struct table *t = xcalloc(1, sizeof(*t));
    size_t cap = 0, i, j;
    int rc;

    *out = NULL;
    rc = load_dir(t, &cap, z->clients_dir, false);
    if (rc == 0 && z->internal_dir != NULL)
        rc = load_dir(t, &cap, z->internal_dir, true);
    if (rc != 0) {
        table_free(t);
        return rc;
    }
    if (t->n > 1)
        qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
    for (i = 1; i < t->n; i++) {
        if (entry_cmp(&t->e[i - 1], &t->e[i]) == 0) {
            log_warnx("allow-list: '%s' and '%s' have the same key",
                t->e[i - 1].name, t->e[i].name);
            table_free(t);
            return ERR_INVAL;
        }
    }
    for (i = 0; i < t->n; i++)
        for (j = i + 1; j < t->n; j++)
            if (strcmp(t->e[i].name, t->e[j].name) == 0) {
                log_warnx(
                    "allow-list: two certificates named '%s'", t->e[i].name);
                table_free(t);
                return ERR_INVAL;
            }
    *out = t;
    return 0;
}

/* ------------------------------------------------------------ refusals */

static void
refuse_note(struct zauth *z, const char *domain, const char *address,
    const uint8_t *key, const char *reason)
{
    struct zauth_refusal r, *slot = NULL;
    uint64_t now = clock_wall_ms();
    size_t i;

    memset(&r, 0, sizeof(r));
    if (key != NULL)
        zsock_z85_encode(r.key, key);
    TEXT_COPY(r.address, address);
    TEXT_COPY(r.domain, domain);
    TEXT_COPY(r.reason, reason);
    r.count = 1;
    r.first_ms = r.last_ms = now;
    pthread_mutex_lock(&z->mu);
    for (i = 0; i < z->nrefusals; i++) {
        if (strcmp(z->refusals[i].key, r.key) == 0 &&
            strcmp(z->refusals[i].reason, r.reason) == 0 &&
            strcmp(z->refusals[i].domain, r.domain) == 0) {
            slot = &z->refusals[i];
            break;
        }
    }
    if (slot == NULL && z->nrefusals < ZAUTH_MAX_REFUSALS)
        z->refusals[z->nrefusals++] = r;
    else if (slot == NULL)
        slot = &z->refusals[ZAUTH_MAX_REFUSALS - 1];
    if (slot != NULL) {
        slot->count++;
        slot->last_ms = now;
    }
    pthread_mutex_unlock(&z->mu);
}

size_t
zauth_take_refusals(struct zauth *z, struct zauth_refusal *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&z->mu);
    n = z->nrefusals < max ? z->nrefusals : max;
    memcpy(out, z->refusals, n * sizeof(*out));
    memmove(z->refusals, z->refusals + n,
        (z->nrefusals - n) * sizeof(*z->refusals));
    z->nrefusals -= n;
    pthread_mutex_unlock(&z->mu);
    return n;
}

/* ------------------------------------------------------- the handler */

/* Copy part `i` of `m` as a string into dst (size `cap`), or "". */
static void
part_str(const struct zsock_msg *m, int i, char *dst, size_t cap)
{
    size_t n = zsock_msg_size(m, i);

    if (n >= cap || !text_is_clean(zsock_msg_data(m, i), n, 0))
        n = 0;
    memcpy(dst, zsock_msg_data(m, i), n);
    dst[n] = '\0';
}

/* Send the ZAP reply; `user`/`role` only with status "200". */
static void
reply(void *s, const struct zsock_msg *req, const char *status,
    const char *text, const char *user, const char *role)
{
    uint8_t meta[64];
    struct iovec iov[6];
    size_t rl = role != NULL ? strlen(role) : 0, ml = 0;
    int rc;

    if (role != NULL && rl <= 32) {
        /* ZMTP property: name-len, "X-Role", 4-byte length, value. */
        meta[ml++] = 6;
        memcpy(meta + ml, "X-Role", 6);
        ml += 6;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = (uint8_t)rl;
        memcpy(meta + ml, role, rl);
        ml += rl;
    }
    iov[0].iov_base = (void *)(uintptr_t) "1.0";
    iov[0].iov_len = 3;
    iov[1].iov_base = (void *)(uintptr_t)zsock_msg_data(req, 1);
    iov[1].iov_len = zsock_msg_size(req, 1);
    iov[2].iov_base = (void *)(uintptr_t)status;
    iov[2].iov_len = strlen(status);
    iov[3].iov_base = (void *)(uintptr_t)text;
    iov[3].iov_len = strlen(text);
    iov[4].iov_base = (void *)(uintptr_t)(user != NULL ? user : "");
    iov[4].iov_len = user != NULL ? strlen(user) : 0;
    iov[5].iov_base = meta;
    iov[5].iov_len = ml;
    rc = zsock_send_parts(s, iov, 6, 0);
    if (rc != 0)
        log_warnx("zap: cannot reply: %s", err_str(rc));
}

/* Answer one ZAP request. */
static void
handle(struct zauth *z, void *s, const struct zsock_msg *m)
{
    char domain[32], address[64], mech[16];
    const uint8_t *key = NULL;
    const struct entry *e = NULL;
    struct entry probe;
    bool internal;

    /* version, request id, domain, address, identity, mechanism, creds */
    if (m->nparts < 6 || m->overflow || zsock_msg_size(m, 0) != 3 ||
        memcmp(zsock_msg_data(m, 0), "1.0", 3) != 0) {
        log_warnx("zap: a malformed request; ignored");
        return;
    }
    part_str(m, 2, domain, sizeof(domain));
    part_str(m, 3, address, sizeof(address));
    part_str(m, 5, mech, sizeof(mech));
    internal = strcmp(domain, ZSOCK_DOMAIN_INTERNAL) == 0;
    if (!internal && strcmp(domain, ZSOCK_DOMAIN_PUBLIC) != 0) {
        refuse_note(z, domain, address, NULL, "unknown ZAP domain");
        reply(s, m, "400", "unknown domain", NULL, NULL);
        return;
    }
    if (strcmp(mech, "NULL") == 0) {
        if (!internal && z->plain_role != NULL) {
            reply(s, m, "200", "OK", ZAUTH_INSECURE_NAME, z->plain_role);
            return;
        }
        refuse_note(z, domain, address, NULL, "no CURVE key");
        reply(s, m, "400", "CURVE required", NULL, NULL);
        return;
    }
    if (strcmp(mech, "CURVE") != 0 || m->nparts != 7 ||
        zsock_msg_size(m, 6) != ZSOCK_KEY_BYTES) {
        refuse_note(z, domain, address, NULL, "unsupported mechanism");
        reply(s, m, "400", "unsupported mechanism", NULL, NULL);
        return;
    }
    key = zsock_msg_data(m, 6);
    memcpy(probe.pub, key, ZSOCK_KEY_BYTES);
    pthread_mutex_lock(&z->mu);
    if (z->table != NULL && z->table->n > 0)
        e = bsearch(&probe, z->table->e, z->table->n, sizeof(probe), entry_cmp);
    if (e != NULL) {
        probe = *e; /* copy out: a reload may free the table */
        e = &probe;
    }
    pthread_mutex_unlock(&z->mu);
    if (e == NULL) {
        refuse_note(z, domain, address, key, "unknown or revoked key");
        reply(s, m, "400", "unknown key", NULL, NULL);
        return;
    }
    if (e->internal != internal ||
        (!internal && (e->rolebit & z->public_roles) == 0)) {
        refuse_note(z, domain, address, key, "role not admitted here");
        reply(s, m, "400", "role not admitted", NULL, NULL);
        return;
    }
    reply(s, m, "200", "OK", e->name, e->role);
}

static void *
zauth_main(void *arg)
{
    struct zauth *z = arg;
    struct zsock_pollitem pi;
    struct zsock_msg m;
    void *s = NULL;
    int rc;

    rc = zsock_open(z->ctx, ZSOCK_REP, &s);
    if (rc == 0)
        rc = zsock_bind(s, ZAP_ENDPOINT);
    pthread_mutex_lock(&z->mu);
    z->start_rc = rc;
    z->started = true;
    pthread_cond_signal(&z->cv);
    pthread_mutex_unlock(&z->mu);
    if (rc != 0) {
        zsock_close(s);
        return NULL;
    }
    while (!atomic_load(&z->quit)) {
        pi.sock = s;
        pi.fd = -1;
        pi.events = ZSOCK_POLLIN;
        pi.revents = 0;
        rc = zsock_poll(&pi, 1, ZAP_POLL_MS, NULL);
        if (rc == ERR_AGAIN)
            continue;
        if (rc != 0)
            break;
        if (!(pi.revents & ZSOCK_POLLIN))
            continue;
        rc = zsock_recv_msg(s, &m, ZSOCK_DONTWAIT);
        if (rc == ERR_AGAIN)
            continue;
        if (rc != 0)
            break;
        handle(z, s, &m);
        zsock_msg_close(&m);
    }
    zsock_close(s);
    return NULL;
}

/* Free `z` and what it owns; its ZAP thread is not running. */
static void
zauth_free(struct zauth *z)
{
    table_free(z->table);
    pthread_cond_destroy(&z->cv);
    pthread_mutex_destroy(&z->mu);
    free(z->clients_dir);
    free(z->internal_dir);
    free(z->plain_role);
    free(z);
}

int
zauth_start(void *ctx, const struct zauth_config *cfg, struct zauth **out)
{
    struct zauth *z = xcalloc(1, sizeof(*z));
    int rc;

    *out = NULL;
    z->ctx = ctx;
    z->clients_dir = xstrdup(cfg->clients_dir);
    z->internal_dir =
        cfg->internal_dir != NULL ? xstrdup(cfg->internal_dir) : NULL;
    z->public_roles = cfg->public_roles;
    z->plain_role = cfg->plain_role != NULL ? xstrdup(cfg->plain_role) : NULL;
    atomic_init(&z->quit, false);
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv, NULL);
    rc = table_load(z, &z->table);
    if (rc != 0)
        goto fail;
    if (pthread_create(&z->thread, NULL, zauth_main, z) != 0) {
        log_warnx("%s: cannot start the ZAP thread", __func__);
        rc = ERR_IO;
        goto fail;
    }
    pthread_mutex_lock(&z->mu);
    while (!z->started)
        pthread_cond_wait(&z->cv, &z->mu);
    rc = z->start_rc;
    pthread_mutex_unlock(&z->mu);
    if (rc != 0) {
        (void)pthread_join(z->thread, NULL);
        goto fail;
    }
    log_info("allow-list: %zu certificates", z->table->n);
    *out = z;
    return 0;
fail:
    zauth_free(z);
    return rc;
}

int
zauth_reload(struct zauth *z, size_t *nclients)
{
    struct table *t, *old;
    int rc;

    rc = table_load(z, &t);
    if (rc != 0) {
        log_warnx("allow-list not reloaded: the old one stays in force");
        return rc;
    }
    pthread_mutex_lock(&z->mu);
    old = z->table;
    z->table = t;
    pthread_mutex_unlock(&z->mu);
    table_free(old);
    if (nclients != NULL)
        *nclients = t->n;
    log_info("allow-list reloaded: %zu certificates", t->n);
    return 0;
}

void
zauth_stop(struct zauth *z)
{
    if (z == NULL)
        return;
    atomic_store(&z->quit, true);
    (void)pthread_join(z->thread, NULL);
    zauth_free(z);
}
