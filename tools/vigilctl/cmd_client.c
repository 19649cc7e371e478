/*
 * cmd_client.c - the allow-list: client add, list, revoke; server-key
 *
 * The daemons admit a client when its public certificate is in the
 * allow-list directory (keys_dir/clients, or the configured
 * clients_dir), with the name and role its metadata gives (common/
 * zauth.h). These commands manage that directory on the machine the
 * daemons run on, as root or as the service user; root works as the
 * keys directory's owner (for a new one: --user, default "vigil"), so
 * that everything made there is the service's. The daemons pick changes
 * up on SIGHUP.
 *
 *   client add NAME --role ROLE   make a key pair: the public
 *                                 certificate into the allow-list, the
 *                                 secret one into keys_dir/secrets (0600)
 *                                 to hand to the client
 *   client list                   name, role, key and file of each
 *   client revoke NAME            remove its certificate (and the secret
 *                                 copy kept in secrets/)
 *   server-key                    the servers' public key, for clients
 *
 * Invariants:
 *  - the keys directory is opened with keys_open(): the same ownership
 *    and mode checks as the daemons, creating it on first use.
 *  - the role "collector" is never given to a client (internal only).
 *
 * See also: vigilctl.1, common/keys.h, common/cert.h, common/zauth.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cert.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keys.h"
#include "common/zauth.h"
#include "common/zclient.h"
#include "common/zsock.h"
#include "tools/vigilctl/vigilctl.h"

/* The roles `client add` gives (ZAUTH_ROLES without "collector"). */
static const char *const client_roles[] = { "storefront", "analyst", "auditor",
    "dpo", "admin" };

struct copts {
    const char *keys_dir;
    const char *user; /* who a new keys directory is for (as root) */
    const char *clients_dir;
    const char *role;
    bool json;
    bool help;
};

enum { COPT_KEYS_DIR = 256, COPT_CLIENTS_DIR, COPT_ROLE, COPT_JSON, COPT_USER };

static int
get_copts(const struct cmd *c, int argc, char **argv, struct copts *o)
{
    static const struct option longopts[] = {
        { "keys-dir", required_argument, NULL, COPT_KEYS_DIR },
        { "clients-dir", required_argument, NULL, COPT_CLIENTS_DIR },
        { "role", required_argument, NULL, COPT_ROLE },
        { "json", no_argument, NULL, COPT_JSON },
        { "user", required_argument, NULL, COPT_USER },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *env = getenv("VIGIL_KEYS_DIR");
    int ch;

    memset(o, 0, sizeof(*o));
    o->user = "vigil";
    o->keys_dir =
        env != NULL && env[0] != '\0' ? env : ZCLIENT_DEFAULT_KEYS_DIR;
    cmd_getopt_begin();
    while ((ch = cmd_getopt(argc, argv, longopts, &o->help)) != -1) {
        switch (ch) {
        case COPT_KEYS_DIR:
            o->keys_dir = optarg;
            break;
        case COPT_CLIENTS_DIR:
            o->clients_dir = optarg;
            break;
        case COPT_ROLE:
            o->role = optarg;
            break;
        case COPT_JSON:
            o->json = true;
            break;
        case COPT_USER:
            o->user = optarg;
            break;
        default:
            return cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* Parse options, handle --help, check the operand count, open the keys
 * directory. Returns EXIT_OK with `k` open, or an exit status. */
static int
client_begin(const struct cmd *c, int argc, char **argv, int nargs,
    struct copts *o, struct keys *k)
{
    char err[512];
    int rc;

    rc = get_copts(c, argc, argv, o);
    if (rc == 0)
        rc = cmd_operands(c, o->help, argc, nargs, nargs);
    if (rc != 0)
        return rc;
    memset(k, 0, sizeof(*k));
    /* Root works as the keys directory's owner: what it makes there
     * must be the service's (harden.h). */
    rc = harden_become_owner(o->keys_dir, o->user, err, sizeof(err));
    if (rc == 0)
        rc = keys_open(o->keys_dir, o->clients_dir, true, k, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", PROGNAME, err);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int
cmd_client_add(const struct cmd *c, int argc, char **argv)
{
    char secrets[KEYS_PATH_MAX + 16], z85[ZSOCK_Z85_KEY + 1];
    const char *name;
    struct cert cert;
    struct copts o;
    struct keys k;
    bool role_ok = false;
    size_t i;
    int rc;

    rc = client_begin(c, argc, argv, 1, &o, &k);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    name = argv[optind];
    for (i = 0; o.role != NULL && i < ARRAY_LEN(client_roles); i++)
        role_ok |= strcmp(o.role, client_roles[i]) == 0;
    if (!cert_name_ok(name) || !role_ok) {
        keys_close(&k);
        return cmd_usage_error(c,
            !role_ok ? "--role must be one of storefront, analyst, auditor, "
                       "dpo, admin" :
                       "NAME must be 1..64 of [A-Za-z0-9._-]");
    }
    rc = keys_path(k.dir, KEYS_SECRETS, secrets, sizeof(secrets));
    if (rc == 0)
        rc = cert_create(k.clients_dir, secrets, name, o.role, &cert, NULL);
    if (rc == ERR_EXISTS)
        fprintf(stderr,
            "%s: client '%s' exists already (revoke it first to replace "
            "its key)\n",
            PROGNAME, name);
    else if (rc != 0)
        fprintf(stderr, "%s: cannot make the certificate: %s\n", PROGNAME,
            err_str(rc));
    if (rc == 0) {
        zsock_z85_encode(z85, cert.pub);
        printf("client:  %s (role %s)\nkey:     %s\npublic:  %s/%s.key\n"
               "secret:  %s/%s.key_secret\n"
               "Hand the secret file to the client (it is its identity) and "
               "delete it here;\nthen reload the daemons (SIGHUP, or "
               "systemctl reload vigil-scorer vigil-collector).\n",
            name, o.role, z85, k.clients_dir, name, secrets, name);
    }
    keys_close(&k);
    return rc == 0 ? EXIT_OK : EXIT_USAGE;
}

/*
 * Call fn for each certificate in the allow-list `dir` (files ending
 * ".key"); a file that does not load is reported on stderr and skipped.
 * Returns 0 or ERR_IO (the directory cannot be read).
 */
static int
for_each_cert(const char *dir,
    int (*fn)(void *arg, const char *path, const struct cert *c), void *arg)
{
    char path[KEYS_PATH_MAX + 300], err[512];
    struct dirent *de;
    struct cert cert;
    DIR *d = opendir(dir);
    int rc = 0;

    if (d == NULL) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, dir, strerror(errno));
        return ERR_IO;
    }
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);

        if (n < 5 || strcmp(de->d_name + n - 4, ".key") != 0 ||
            de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (cert_load(path, &cert, NULL, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: skipped: %s\n", PROGNAME, err);
            continue;
        }
        rc = fn(arg, path, &cert);
    }
    closedir(d);
    return rc;
}

static int
list_one(void *arg, const char *path, const struct cert *c)
{
    json_t *arr = arg, *o;
    char z85[ZSOCK_Z85_KEY + 1];

    zsock_z85_encode(z85, c->pub);
    o = json_object();
    out_set(o, "name", out_str(c->name));
    out_set(o, "role", out_str(c->role));
    out_set(o, "key", out_str(z85));
    out_set(o, "file", out_str(path));
    out_push(arr, o);
    return 0;
}

int
cmd_client_list(const struct cmd *c, int argc, char **argv)
{
    struct copts o;
    struct keys k;
    json_t *arr;
    size_t i;
    int rc;

    rc = client_begin(c, argc, argv, 0, &o, &k);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    arr = json_array();
    rc = for_each_cert(k.clients_dir, list_one, arr);
    keys_close(&k);
    if (rc != 0) {
        json_decref(arr);
        return EXIT_USAGE;
    }
    if (o.json) {
        json_t *j = json_object();

        out_set(j, "clients", arr);
        out_print(stdout, j);
        return EXIT_OK;
    }
    for (i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);

        printf("%-24s %-10s %s  %s\n",
            json_string_value(json_object_get(e, "name")),
            json_string_value(json_object_get(e, "role")),
            json_string_value(json_object_get(e, "key")),
            json_string_value(json_object_get(e, "file")));
    }
    json_decref(arr);
    return EXIT_OK;
}

/* What revoke looks for, and what it found. */
struct revoke {
    const char *name;
    char path[KEYS_PATH_MAX + 300];
    int found;
};

static int
revoke_find(void *arg, const char *path, const struct cert *c)
{
    struct revoke *r = arg;

    if (strcmp(c->name, r->name) != 0)
        return 0;
    if (r->found++ == 0)
        snprintf(r->path, sizeof(r->path), "%s", path);
    return 0;
}

int
cmd_client_revoke(const struct cmd *c, int argc, char **argv)
{
    char secret[KEYS_PATH_MAX + 300];
    struct revoke r;
    struct copts o;
    struct keys k;
    int rc;

    rc = client_begin(c, argc, argv, 1, &o, &k);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    memset(&r, 0, sizeof(r));
    r.name = argv[optind];
    rc = for_each_cert(k.clients_dir, revoke_find, &r);
    if (rc == 0 && r.found == 0) {
        fprintf(stderr, "%s: no client named '%s' in %s\n", PROGNAME, r.name,
            k.clients_dir);
        rc = ERR_NOTFOUND;
    } else if (rc == 0 && unlink(r.path) != 0) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, r.path, strerror(errno));
        rc = ERR_IO;
    }
    if (rc == 0) {
        /* The secret copy `client add` left, if it is still here. */
        snprintf(secret, sizeof(secret), "%s/%s/%s.key_secret", k.dir,
            KEYS_SECRETS, r.name);
        if (cert_name_ok(r.name) && unlink(secret) != 0 && errno != ENOENT)
            fprintf(stderr, "%s: %s: %s\n", PROGNAME, secret, strerror(errno));
        printf("revoked: %s (%s)\nReload the daemons (SIGHUP) for it to "
               "take effect on new connections.\n",
            r.name, r.path);
    }
    keys_close(&k);
    return rc == 0 ? EXIT_OK : EXIT_USAGE;
}

int
cmd_server_key(const struct cmd *c, int argc, char **argv)
{
    char z85[ZSOCK_Z85_KEY + 1];
    struct copts o;
    struct keys k;
    int rc;

    rc = client_begin(c, argc, argv, 0, &o, &k);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    zsock_z85_encode(z85, k.server.pub);
    printf("%s\n", z85);
    keys_close(&k);
    return EXIT_OK;
}
