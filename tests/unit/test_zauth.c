/*
 * test_zauth.c - unit tests of certificates (cert.c) and the ZAP handler
 *                (zauth.c) over real libzmq sockets
 *
 * A ROUTER CURVE server and DEALER clients in one context, over ipc://
 * in a temp directory (inproc:// skips the security handshake): a
 * client whose certificate is in the allow-list gets through and every
 * message carries its name and role; an unknown key, a revoked one (after
 * zauth_reload), a plain (NULL) peer and a key of the wrong domain are
 * refused and the refusals queued; a certificate written by pyzmq's
 * format (unquoted metadata) loads; bad files are refused with reasons.
 *
 * See also: common/zauth.h, common/cert.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cert.h"
#include "common/err.h"
#include "common/log.h"
#include "common/zauth.h"
#include "common/zsock.h"
#include "tests/harness/test.h"

static char root[64], clients[128], internal[128], secrets[128];
static char pub_ep[128], int_ep[128];

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    ASSERT(f != NULL);
    ASSERT(fputs(text, f) >= 0);
    ASSERT(fclose(f) == 0);
    ASSERT(chmod(path, mode) == 0);
}

/* Copy `tmpl` to out with every "KEY" replaced by `key`. */
static void
subst(char *out, size_t cap, const char *tmpl, const char *key)
{
    size_t o = 0;

    while (*tmpl != '\0' && o + 41 < cap) {
        if (strncmp(tmpl, "KEY", 3) == 0) {
            memcpy(out + o, key, strlen(key));
            o += strlen(key);
            tmpl += 3;
        } else {
            out[o++] = *tmpl++;
        }
    }
    out[o] = '\0';
}

static void
test_cert_files(void)
{
    struct cert c, back;
    struct cert_secret *sk = NULL;
    char path[256], err[256], z85[ZSOCK_Z85_KEY + 1], text[512];

    ASSERT_OK(cert_create(clients, secrets, "shop-a", "storefront", &c, &sk));
    ASSERT(sk != NULL);
    snprintf(path, sizeof(path), "%s/shop-a.key", clients);
    ASSERT_OK(cert_load(path, &back, NULL, err, sizeof(err)));
    ASSERT_MEM_EQ(back.pub, c.pub, ZSOCK_KEY_BYTES);
    ASSERT_STR_EQ(back.name, "shop-a");
    ASSERT_STR_EQ(back.role, "storefront");
    cert_secret_free(sk);
    snprintf(path, sizeof(path), "%s/shop-a.key_secret", secrets);
    ASSERT_OK(cert_load(path, &back, &sk, err, sizeof(err)));
    cert_secret_free(sk);
    /* Exclusive: the same name again is refused. */
    ASSERT_EQ(cert_create(clients, secrets, "shop-a", "storefront", &c, NULL),
        ERR_EXISTS);
    ASSERT_EQ(cert_create(clients, secrets, "bad name", "storefront", &c, NULL),
        ERR_INVAL);

    /* A secret file open to others is refused, naming the mode. */
    ASSERT(chmod(path, 0640) == 0);
    ASSERT_EQ(cert_load(path, &back, &sk, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "640") != NULL);
    ASSERT(chmod(path, 0600) == 0);

    /* pyzmq's own layout: unquoted metadata values. */
    zsock_z85_encode(z85, c.pub);
    snprintf(text, sizeof(text),
        "#   ****  Generated on 2026-12-04 by pyzmq  ****\n"
        "#   ZeroMQ CURVE Public Certificate\n\n"
        "metadata\n    name = py-shop\n    role = analyst\n"
        "curve\n    public-key = \"%s\"\n",
        z85);
    snprintf(path, sizeof(path), "%s/pyfmt.key", root);
    write_file(path, text, 0644);
    ASSERT_OK(cert_load(path, &back, NULL, err, sizeof(err)));
    ASSERT_STR_EQ(back.name, "py-shop");
    ASSERT_STR_EQ(back.role, "analyst");

    /* Hostile files: each refused with a reason. */
    {
        static const char *const bad[] = {
            "curve\n    public-key = \"short\"\n",
            "metadata\n    name = \"a\"\n", /* no key */
            "nonsense\n",
            "curve\n    public-key = \"KEY\"\n    public-key = \"KEY\"\n",
            "curve\n    secret-key = \"KEY\"\n",
            "curve\npublic-key = \"KEY\"\n", /* not indented */
            "curve\n    public-key = \"KEY\n",
        };
        size_t i;

        for (i = 0; i < ARRAY_LEN(bad); i++) {
            subst(text, sizeof(text), bad[i], z85);
            write_file(path, text, 0644);
            err[0] = '\0';
            if (cert_load(path, &back, NULL, err, sizeof(err)) == 0)
                TEST_FAIL("bad certificate %zu accepted", i);
            ASSERT(err[0] != '\0');
        }
    }
    /* A symbolic link is refused. */
    snprintf(text, sizeof(text), "%s/link.key", root);
    ASSERT(symlink(path, text) == 0);
    ASSERT_EQ(cert_load(text, &back, NULL, err, sizeof(err)), ERR_DENIED);
    ASSERT(unlink(text) == 0);
    ASSERT(unlink(path) == 0);

    /* Missing; a directory; a public file others may write; too large. */
    ASSERT_EQ(cert_load(path, &back, NULL, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT_EQ(cert_load(root, &back, NULL, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "not a regular file") != NULL);
    subst(text, sizeof(text), "curve\n    public-key = \"KEY\"\n", z85);
    write_file(path, text, 0666);
    ASSERT(chmod(path, 0666) == 0);
    ASSERT_EQ(cert_load(path, &back, NULL, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "666") != NULL);
    ASSERT(unlink(path) == 0);
    {
        static char big[CERT_MAX_BYTES + 2];

        memset(big, '#', sizeof(big) - 1);
        write_file(path, big, 0644);
        ASSERT_EQ(cert_load(path, &back, NULL, err, sizeof(err)), ERR_TOOBIG);
        ASSERT(unlink(path) == 0);
    }
    /* A bad name in the metadata. */
    subst(text, sizeof(text),
        "metadata\n    name = \"no/slash\"\ncurve\n    public-key = "
        "\"KEY\"\n",
        z85);
    write_file(path, text, 0644);
    ASSERT_EQ(cert_load(path, &back, NULL, err, sizeof(err)), ERR_MALFORMED);
    ASSERT(unlink(path) == 0);

    /* A secret file: owned by someone else; a secret key that does not
     * match the public one (another certificate's secret pasted in). */
    snprintf(path, sizeof(path), "%s/shop-a.key_secret", secrets);
    if (geteuid() == 0) {
        ASSERT(chown(path, 65534, 65534) == 0);
        ASSERT_EQ(cert_load(path, &back, &sk, err, sizeof(err)), ERR_DENIED);
        ASSERT(strstr(err, "owned by uid 65534") != NULL);
        ASSERT(chown(path, 0, 0) == 0);
    }
    {
        struct cert other;
        struct cert_secret *osk = NULL;
        char opath[256], mixed[1024], line[256];
        FILE *fp;
        size_t n = 0;

        ASSERT_OK(
            cert_create(root, secrets, "mix-b", "storefront", &other, &osk));
        cert_secret_free(osk);
        /* shop-a's secret file with mix-b's secret-key line. */
        snprintf(opath, sizeof(opath), "%s/mix-b.key_secret", secrets);
        fp = fopen(path, "r");
        ASSERT(fp != NULL);
        while (fgets(line, sizeof(line), fp) != NULL)
            if (strstr(line, "secret-key") == NULL)
                n += (size_t)snprintf(mixed + n, sizeof(mixed) - n, "%s", line);
        fclose(fp);
        fp = fopen(opath, "r");
        ASSERT(fp != NULL);
        while (fgets(line, sizeof(line), fp) != NULL)
            if (strstr(line, "secret-key") != NULL)
                n += (size_t)snprintf(mixed + n, sizeof(mixed) - n, "%s", line);
        fclose(fp);
        snprintf(opath, sizeof(opath), "%s/mixed.key_secret", secrets);
        write_file(opath, mixed, 0600);
        sk = NULL;
        ASSERT_EQ(
            cert_load(opath, &back, &sk, err, sizeof(err)), ERR_MALFORMED);
        ASSERT(sk == NULL);
        ASSERT(strstr(err, "does not match") != NULL);
        ASSERT(unlink(opath) == 0);
    }
}

struct client {
    void *sock;
    struct cert cert;
    struct cert_secret *sk;
};

/* A DEALER with key pair `name` connected to `ep`, CURVE to `server`. */
static void
client_open(void *ctx, struct client *cl, const char *name, const char *role,
    const char *dir, const uint8_t *server, const char *ep)
{
    ASSERT_OK(cert_create(dir, secrets, name, role, &cl->cert, &cl->sk));
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &cl->sock));
    ASSERT_OK(zsock_curve_client(
        cl->sock, server, cl->cert.pub, cert_secret_key(cl->sk)));
    ASSERT_OK(zsock_connect(cl->sock, ep));
}

static void
client_close(struct client *cl)
{
    zsock_close(cl->sock);
    cert_secret_free(cl->sk);
}

/* Send "hi" from `cl`; return whether `srv` got it (waits up to 4 s). */
static bool
delivered(void *srv, struct client *cl, char *user, char *role)
{
    struct zsock_pollitem pi = { srv, -1, ZSOCK_POLLIN, 0 };
    struct zsock_pollitem po = { cl->sock, -1, ZSOCK_POLLOUT, 0 };
    struct iovec iov = { (void *)(uintptr_t) "hi", 2 };
    struct zsock_msg m;
    const char *u, *r;
    int n = 0;

    /* A DEALER can send once a handshake completed: a refused peer never
     * gets there. Wait up to 2 s (the machine may be busy). */
    ASSERT_OK(zsock_poll(&po, 1, 2000, &n));
    if (n == 0)
        return false;
    ASSERT_OK(zsock_send_parts(cl->sock, &iov, 1, ZSOCK_DONTWAIT));
    ASSERT_OK(zsock_poll(&pi, 1, 2000, &n));
    if (n == 0)
        return false;
    ASSERT_OK(zsock_recv_msg(srv, &m, 0));
    u = zsock_msg_user(&m);
    r = zsock_msg_property(&m, "X-Role");
    ASSERT(u != NULL && r != NULL);
    snprintf(user, 65, "%s", u);
    snprintf(role, 17, "%s", r);
    zsock_msg_close(&m);
    return true;
}

static void
test_zap(void)
{
    struct zauth_config zc = { clients, internal, ZAUTH_STOREFRONT, NULL };
    struct zauth_refusal ref[8];
    struct client shop, analyst, stranger, coll;
    uint8_t spub[ZSOCK_KEY_BYTES], ssec[ZSOCK_KEY_BYTES];
    char user[65], role[17], path[256];
    struct zauth *z;
    void *ctx, *pub, *intl, *plain;
    size_t n;

    ctx = zsock_ctx_new();
    ASSERT(ctx != NULL);
    ASSERT_OK(zsock_curve_keypair(spub, ssec));
    /* The shop and the analyst are listed; the stranger is not. */
    client_open(ctx, &shop, "shop-b", "storefront", clients, spub, pub_ep);
    client_open(ctx, &analyst, "ann", "analyst", clients, spub, pub_ep);
    client_open(ctx, &stranger, "stranger", "storefront", root, spub, pub_ep);
    client_open(ctx, &coll, "collector-1", "collector", internal, spub, int_ep);
    ASSERT_OK(zauth_start(ctx, &zc, &z));

    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &pub));
    ASSERT_OK(zsock_curve_server(pub, ssec, ZSOCK_DOMAIN_PUBLIC));
    ASSERT_OK(zsock_bind(pub, pub_ep));
    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &intl));
    ASSERT_OK(zsock_curve_server(intl, ssec, ZSOCK_DOMAIN_INTERNAL));
    ASSERT_OK(zsock_bind(intl, int_ep));

    ASSERT(delivered(pub, &shop, user, role));
    ASSERT_STR_EQ(user, "shop-b");
    ASSERT_STR_EQ(role, "storefront");
    ASSERT(!delivered(pub, &analyst, user, role)); /* role not admitted */
    ASSERT(!delivered(pub, &stranger, user, role));
    ASSERT(delivered(intl, &coll, user, role));
    ASSERT_STR_EQ(user, "collector-1");
    ASSERT_STR_EQ(role, "collector");

    n = zauth_take_refusals(z, ref, ARRAY_LEN(ref));
    ASSERT(n >= 2);
    ASSERT(strcmp(ref[0].reason, "role not admitted here") == 0 ||
        strcmp(ref[1].reason, "role not admitted here") == 0);
    ASSERT(strlen(ref[0].key) == ZSOCK_Z85_KEY);

    /* A plain peer is refused by a CURVE server. */
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &plain));
    ASSERT_OK(zsock_connect(plain, pub_ep));
    {
        struct client p = { plain, { { 0 }, "", "" }, NULL };

        ASSERT(!delivered(pub, &p, user, role));
    }
    zsock_close(plain);

    /* Revoke the shop: a new connection with its key is refused. */
    snprintf(path, sizeof(path), "%s/shop-b.key", clients);
    ASSERT(unlink(path) == 0);
    ASSERT_OK(zauth_reload(z, &n));
    ASSERT_EQ(n, 3); /* shop-a, ann and collector-1 */
    client_close(&shop);
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &shop.sock));
    {
        char sp[256], err[128];

        snprintf(sp, sizeof(sp), "%s/shop-b.key_secret", secrets);
        ASSERT_OK(cert_load(sp, &shop.cert, &shop.sk, err, sizeof(err)));
    }
    ASSERT_OK(zsock_curve_client(
        shop.sock, spub, shop.cert.pub, cert_secret_key(shop.sk)));
    ASSERT_OK(zsock_connect(shop.sock, pub_ep));
    ASSERT(!delivered(pub, &shop, user, role));

    /* A reload that finds a bad certificate keeps the old list. */
    snprintf(path, sizeof(path), "%s/broken.key", clients);
    write_file(path, "curve\n    public-key = \"nope\"\n", 0644);
    ASSERT(zauth_reload(z, &n) != 0);
    ASSERT(unlink(path) == 0);

    /* Plain sockets (the NULL mechanism) under a ZAP domain: refused,
     * "no CURVE key" in Vigil's public domain (no plain role is
     * configured), "unknown ZAP domain" in another. */
    (void)zauth_take_refusals(z, ref, ARRAY_LEN(ref));
    for (int i = 0; i < 2; i++) {
        const char *domain = i == 0 ? ZSOCK_DOMAIN_PUBLIC : "elsewhere";
        const char *want = i == 0 ? "no CURVE key" : "unknown ZAP domain";
        char ep[300];
        void *srv, *cli;
        bool found = false;
        struct client p = { NULL, { { 0 }, "", "" }, NULL };

        snprintf(ep, sizeof(ep), "ipc://%s/plain%d.ipc", root, i);
        ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &srv));
        ASSERT_OK(zsock_zap_plain(srv, domain));
        ASSERT_OK(zsock_bind(srv, ep));
        ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &cli));
        ASSERT_OK(zsock_connect(cli, ep));
        p.sock = cli;
        ASSERT(!delivered(srv, &p, user, role));
        n = zauth_take_refusals(z, ref, ARRAY_LEN(ref));
        for (size_t k = 0; k < n; k++) {
            if (strcmp(ref[k].reason, want) == 0) {
                found = true;
                ASSERT_STR_EQ(ref[k].domain, domain);
                ASSERT_STR_EQ(ref[k].key, ""); /* no key to name */
            }
        }
        ASSERT(found);
        zsock_close(cli);
        zsock_close(srv);
    }
    client_close(&shop);
    client_close(&analyst);
    client_close(&stranger);
    client_close(&coll);
    zsock_close(pub);
    zsock_close(intl);
    zauth_stop(z);
    zsock_ctx_term(ctx);
}

/* zauth_start over a bad allow-list fails, says nothing is admitted. */
static void
expect_refused(void *ctx, const char *cdir, const char *idir, int want)
{
    struct zauth_config zc = { cdir, idir, ZAUTH_STOREFRONT, NULL };
    struct zauth *z = (struct zauth *)&zc; /* must come back NULL */

    ASSERT_EQ(zauth_start(ctx, &zc, &z), want);
    ASSERT(z == NULL);
}

/*
 * Allow-list directories and files that must stop a daemon at start: a
 * missing directory, a file in its place, a directory others may write
 * (a planted certificate), a collector's certificate among the public
 * ones, a storefront's among the collectors', a certificate of an unknown
 * role.
 */
static void
test_bad_allow_lists(void)
{
    char dir[160], other[160], path[512];
    struct cert c;
    void *ctx = zsock_ctx_new();

    ASSERT(ctx != NULL);
    snprintf(dir, sizeof(dir), "%s/bad", root);
    snprintf(other, sizeof(other), "%s/bad-internal", root);
    expect_refused(ctx, dir, NULL, ERR_NOTFOUND);
    write_file(dir, "not a directory\n", 0644);
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    ASSERT(unlink(dir) == 0);

    ASSERT(mkdir(dir, 0755) == 0);
    ASSERT(mkdir(other, 0755) == 0);
    ASSERT(chmod(dir, 0775) == 0);
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    ASSERT(chmod(dir, 0755) == 0);
    /* An empty list is fine on its own: nobody is admitted. */
    {
        struct zauth_config zc = { dir, NULL, ZAUTH_STOREFRONT, NULL };
        struct zauth *z = NULL;

        ASSERT_OK(zauth_start(ctx, &zc, &z));
        zauth_stop(z);
    }

    ASSERT_OK(cert_create(dir, secrets, "coll-x", "collector", &c, NULL));
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    snprintf(path, sizeof(path), "%s/coll-x.key", dir);
    ASSERT(unlink(path) == 0);

    ASSERT_OK(cert_create(other, secrets, "shop-x", "storefront", &c, NULL));
    expect_refused(ctx, dir, other, ERR_INVAL);
    snprintf(path, sizeof(path), "%s/shop-x.key", other);
    ASSERT(unlink(path) == 0);

    /* A role no daemon knows (cert_create refuses it, so write it). */
    ASSERT_OK(cert_create(dir, secrets, "odd", "storefront", &c, NULL));
    snprintf(path, sizeof(path),
        "sed -i 's/role = \"storefront\"/role = "
        "\"wizard\"/' '%s/odd.key'",
        dir);
    ASSERT(system(path) == 0);
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    snprintf(path, sizeof(path), "%s/odd.key", dir);
    ASSERT(unlink(path) == 0);

    /* One key under two names (a copied certificate), and two keys
     * under one name: both ambiguous, both refused. */
    ASSERT_OK(cert_create(dir, secrets, "twin", "storefront", &c, NULL));
    snprintf(path, sizeof(path), "cp '%s/twin.key' '%s/copy.key'", dir, dir);
    ASSERT(system(path) == 0);
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    snprintf(path, sizeof(path), "%s/copy.key", dir);
    ASSERT(unlink(path) == 0);
    snprintf(
        path, sizeof(path), "mv '%s/twin.key' '%s/twin-old.key'", dir, dir);
    ASSERT(system(path) == 0);
    snprintf(path, sizeof(path), "%s/secrets2", root);
    ASSERT(mkdir(path, 0700) == 0);
    ASSERT_OK(cert_create(dir, path, "twin", "storefront", &c, NULL));
    expect_refused(ctx, dir, NULL, ERR_INVAL);
    zsock_ctx_term(ctx);
}

int
main(void)
{
    char cmd[256];

    log_init("test_zauth", true);
    snprintf(root, sizeof(root), "/tmp/test-zauth-XXXXXX");
    ASSERT(mkdtemp(root) != NULL);
    snprintf(clients, sizeof(clients), "%s/clients", root);
    snprintf(internal, sizeof(internal), "%s/internal", root);
    snprintf(secrets, sizeof(secrets), "%s/secrets", root);
    ASSERT(mkdir(clients, 0755) == 0);
    ASSERT(mkdir(internal, 0755) == 0);
    ASSERT(mkdir(secrets, 0700) == 0);
    snprintf(pub_ep, sizeof(pub_ep), "ipc://%s/pub.ipc", root);
    snprintf(int_ep, sizeof(int_ep), "ipc://%s/internal.ipc", root);
    RUN(test_cert_files);
    RUN(test_zap);
    RUN(test_bad_allow_lists);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ASSERT(system(cmd) == 0);
    return 0;
}
