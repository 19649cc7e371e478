/*
 * test_keys.c - unit tests of the keys directory (common/keys.c)
 *
 * On a real temp directory: a first open with `create` makes the
 * directory's layout (internal/, clients/, secrets/, the server and
 * collector certificates, the pseudonym key) and a second open without
 * it loads the same keys; a missing directory, certificate or pseudonym
 * key without `create` is ERR_NOTFOUND naming the path, and a secret
 * whose public half is left is not remade behind its back; a keys
 * directory open to others, a pseudonym key of the wrong size and paths
 * too long for the struct are refused with a message; an explicit
 * clients_dir replaces keys_dir/clients.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "tests/harness/test.h"

static char root[64];

static int
is_dir(const char *dir, const char *name)
{
    char p[KEYS_PATH_MAX + 64];
    struct stat st;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
        (st.st_mode & 0777) == 0700;
}

static int
is_file(const char *dir, const char *name)
{
    char p[KEYS_PATH_MAX + 64];
    struct stat st;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return lstat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void
test_create_then_load(void)
{
    struct keys k, again;
    char dir[128], err[512];

    snprintf(dir, sizeof(dir), "%s/keys", root);
    ASSERT_EQ(keys_open(dir, NULL, false, &k, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT(strstr(err, "no such directory") != NULL);

    ASSERT_OK(keys_open(dir, NULL, true, &k, err, sizeof(err)));
    ASSERT(is_dir(dir, KEYS_INTERNAL));
    ASSERT(is_dir(dir, KEYS_CLIENTS));
    ASSERT(is_dir(dir, KEYS_SECRETS));
    ASSERT(is_file(dir, "server.key_secret"));
    ASSERT(is_file(dir, "server.key"));
    ASSERT(is_file(dir, "collector.key_secret"));
    ASSERT(is_file(dir, KEYS_INTERNAL "/collector.key"));
    ASSERT(is_file(dir, KEYS_PSEUDONYM));
    ASSERT_STR_EQ(k.server.role, "server");
    ASSERT_STR_EQ(k.collector.role, "collector");
    ASSERT(k.server_secret != NULL && k.collector_secret != NULL);
    ASSERT(k.pseudo != NULL);
    ASSERT(memcmp(k.server.pub, k.collector.pub, sizeof(k.server.pub)) != 0);

    /* Without create: the same keys, nothing made. */
    ASSERT_OK(keys_open(dir, NULL, false, &again, err, sizeof(err)));
    ASSERT_MEM_EQ(again.server.pub, k.server.pub, sizeof(k.server.pub));
    ASSERT_MEM_EQ(again.collector.pub, k.collector.pub, sizeof(k.server.pub));
    {
        char a[PSEUDO_KEY_ID_HEX + 1], b[PSEUDO_KEY_ID_HEX + 1];

        pseudo_key_id(k.pseudo, a);
        pseudo_key_id(again.pseudo, b);
        ASSERT_STR_EQ(a, b);
    }
    keys_close(&again);
    keys_close(&k);
    ASSERT(k.server_secret == NULL && k.pseudo == NULL);
}

static void
test_missing_parts(void)
{
    struct keys k;
    char dir[128], p[256], err[512];
    int fd;

    snprintf(dir, sizeof(dir), "%s/parts", root);
    ASSERT_OK(keys_open(dir, NULL, true, &k, err, sizeof(err)));
    keys_close(&k);

    /* No collector secret: not found without create; with create it
     * is not silently replaced while its public half is still in
     * internal/ (the collectors trust that one), and is made again
     * once both halves are gone. */
    snprintf(p, sizeof(p), "%s/collector.key_secret", dir);
    ASSERT(unlink(p) == 0);
    ASSERT_EQ(keys_open(dir, NULL, false, &k, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT(k.server_secret == NULL); /* closed on failure */
    ASSERT_EQ(keys_open(dir, NULL, true, &k, err, sizeof(err)), ERR_EXISTS);
    ASSERT(strstr(err, "cannot create the certificate") != NULL);
    ASSERT(k.server_secret == NULL);
    snprintf(p, sizeof(p), "%s/%s/collector.key", dir, KEYS_INTERNAL);
    ASSERT(unlink(p) == 0);
    ASSERT_OK(keys_open(dir, NULL, true, &k, err, sizeof(err)));
    ASSERT(is_file(dir, "collector.key_secret"));
    keys_close(&k);

    /* A pseudonym key of the wrong size: refused, path named. */
    snprintf(p, sizeof(p), "%s/%s", dir, KEYS_PSEUDONYM);
    fd = open(p, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0);
    ASSERT(write(fd, "short", 5) == 5);
    ASSERT(close(fd) == 0);
    ASSERT_EQ(keys_open(dir, NULL, false, &k, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "cannot load the pseudonym key") != NULL);
    ASSERT(strstr(err, KEYS_PSEUDONYM) != NULL);
    ASSERT(k.server_secret == NULL && k.pseudo == NULL);
    /* ... and not replaced by create either: a key is never remade. */
    ASSERT_EQ(keys_open(dir, NULL, true, &k, err, sizeof(err)), ERR_DENIED);
    ASSERT(unlink(p) == 0);
    ASSERT_EQ(keys_open(dir, NULL, false, &k, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT(strstr(err, "cannot load the pseudonym key") != NULL);

    /* The keys directory open to others: refused before anything is
     * read or made. */
    ASSERT(chmod(dir, 0750) == 0);
    ASSERT_EQ(keys_open(dir, NULL, true, &k, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "chmod 700") != NULL);
    ASSERT(!is_file(dir, KEYS_PSEUDONYM));
    ASSERT(chmod(dir, 0700) == 0);
}

static void
test_clients_dir_and_lengths(void)
{
    struct keys k;
    char dir[128], clients[160], err[512];
    char *longp;

    snprintf(dir, sizeof(dir), "%s/cd", root);
    snprintf(clients, sizeof(clients), "%s/allow", root);
    ASSERT(mkdir(clients, 0700) == 0);
    ASSERT_OK(keys_open(dir, clients, true, &k, err, sizeof(err)));
    ASSERT_STR_EQ(k.clients_dir, clients);
    ASSERT(!is_dir(dir, KEYS_CLIENTS));
    keys_close(&k);

    longp = malloc(KEYS_PATH_MAX + 8);
    ASSERT(longp != NULL);
    memset(longp, 'a', KEYS_PATH_MAX + 7);
    longp[0] = '/';
    longp[KEYS_PATH_MAX + 7] = '\0';
    ASSERT_EQ(keys_open(longp, NULL, true, &k, err, sizeof(err)), ERR_TOOBIG);
    ASSERT(strstr(err, "keys_dir: path too long") != NULL);
    ASSERT_EQ(keys_open(dir, longp, true, &k, err, sizeof(err)), ERR_TOOBIG);
    ASSERT(strstr(err, "clients_dir: path too long") != NULL);
    /* Fits the struct, but not with "/internal" after it. */
    longp[KEYS_PATH_MAX - 4] = '\0';
    ASSERT_EQ(keys_open(longp, NULL, true, &k, err, sizeof(err)), ERR_TOOBIG);
    ASSERT(strstr(err, "keys_dir: path too long") != NULL);
    ASSERT_EQ(
        keys_open(longp, clients, true, &k, err, sizeof(err)), ERR_TOOBIG);
    free(longp);
    ASSERT_EQ(keys_path("/a", "bcd", err, 6), ERR_TOOBIG);
    ASSERT_STR_EQ(err, "");
    ASSERT_OK(keys_path("/a", "bcd", err, 7));
    ASSERT_STR_EQ(err, "/a/bcd");
}

int
main(void)
{
    char cmd[128];

    log_init("test_keys", true);
    umask(077);
    snprintf(root, sizeof(root), "/tmp/test-keys-XXXXXX");
    ASSERT(mkdtemp(root) != NULL);
    RUN(test_create_then_load);
    RUN(test_missing_parts);
    RUN(test_clients_dir_and_lengths);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ASSERT(system(cmd) == 0);
    return 0;
}
