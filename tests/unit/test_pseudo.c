/*
 * test_pseudo.c - unit tests of common/pseudo: key file rules, keyed
 *                 pseudonyms, normalization and wiping
 *
 * Works in a fresh mkdtemp() directory, removed at the end. The
 * known-answer vectors were computed independently with Python:
 *     hashlib.blake2b(domain.encode() + b"\0" + value,
 *                     key=bytes(range(32)), digest_size=16).hexdigest()
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/event.h"
#include "common/pseudo.h"
#include "tests/harness/test.h"

static char tdir[64];

static void
path_in(char *out, size_t len, const char *name)
{
    int n = snprintf(out, len, "%s/%s", tdir, name);

    ASSERT(n > 0 && (size_t)n < len);
}

/* Write `len` bytes to `name` in the test directory with `mode`. */
static void
write_file(const char *name, const unsigned char *p, size_t len, mode_t mode)
{
    char path[256];
    int fd;

    path_in(path, sizeof(path), name);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(write(fd, p, len), (long long)len);
    ASSERT_OK(fchmod(fd, mode));
    close(fd);
}

static struct pseudo_key *
open_fixed_key(void)
{
    unsigned char key[32];
    struct pseudo_key *k;
    char path[256];
    int i;

    for (i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    write_file("fixed.key", key, sizeof(key), 0600);
    path_in(path, sizeof(path), "fixed.key");
    ASSERT_OK(pseudo_key_open(path, false, &k));
    return k;
}

static void
test_create_mode_0600(void)
{
    struct pseudo_key *k = NULL, *k2 = NULL;
    struct pseudo a, b;
    struct stat st;
    char path[256];

    path_in(path, sizeof(path), "pseudonym.key");
    /* Missing and not allowed to create. */
    ASSERT_EQ(pseudo_key_open(path, false, &k), ERR_NOTFOUND);
    ASSERT(k == NULL);
    ASSERT_OK(pseudo_key_open(path, true, &k));
    ASSERT_OK(stat(path, &st));
    ASSERT(S_ISREG(st.st_mode));
    ASSERT_EQ(st.st_mode & 07777, 0600);
    ASSERT_EQ(st.st_size, 32);
    /* Re-opening loads the same key, so the same pseudonym. */
    ASSERT_OK(pseudo_key_open(path, true, &k2));
    pseudo_compute(k, "email", "x@y.z", 5, &a);
    pseudo_compute(k2, "email", "x@y.z", 5, &b);
    ASSERT_MEM_EQ(a.b, b.b, PSEUDO_BYTES);
    pseudo_key_close(k);
    pseudo_key_close(k2);
    pseudo_key_close(NULL);
    unlink(path);
}

static void
test_refuse_bad_key_files(void)
{
    unsigned char bytes[33] = { 1 };
    struct pseudo_key *k = NULL;
    char path[256];

    write_file("open.key", bytes, 32, 0644);
    path_in(path, sizeof(path), "open.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);
    ASSERT(k == NULL);

    write_file("group.key", bytes, 32, 0640);
    path_in(path, sizeof(path), "group.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);

    write_file("short.key", bytes, 31, 0600);
    path_in(path, sizeof(path), "short.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);

    write_file("long.key", bytes, 33, 0600);
    path_in(path, sizeof(path), "long.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);

    write_file("empty.key", bytes, 0, 0600);
    path_in(path, sizeof(path), "empty.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);

    /* A directory is not a key. */
    path_in(path, sizeof(path), "dir.key");
    ASSERT_OK(mkdir(path, 0700));
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);
    rmdir(path);

    /* A symbolic link is refused, even to a good key. */
    {
        char target[256];

        write_file("good.key", bytes, 32, 0600);
        path_in(target, sizeof(target), "good.key");
        path_in(path, sizeof(path), "link.key");
        ASSERT_OK(symlink(target, path));
        ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_DENIED);
        unlink(path);
    }
    ASSERT(k == NULL);
}

/* A key that cannot be made leaves nothing behind and says ERR_IO: its
 * directory is missing, a file stands where a directory should be, the
 * temporary name would be longer than PATH_MAX, a leftover temporary file
 * of this very process is in the way (kept: not ours to remove). */
static void
test_create_failures(void)
{
    struct pseudo_key *k = NULL;
    char path[PATH_MAX + 64], tmp[PATH_MAX + 64];
    unsigned char bytes[32] = { 7 };
    struct stat st;
    size_t n;

    path_in(path, sizeof(path), "missing-dir/pseudonym.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_IO);
    ASSERT(k == NULL);
    path_in(tmp, sizeof(tmp), "missing-dir");
    ASSERT(stat(tmp, &st) != 0 && errno == ENOENT);

    write_file("plain-file", bytes, sizeof(bytes), 0600);
    path_in(path, sizeof(path), "plain-file/pseudonym.key");
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_IO);
    ASSERT_EQ(pseudo_key_open(path, false, &k), ERR_IO);
    ASSERT(k == NULL);

    /* PATH_MAX - 2 bytes in components of 200, under a missing
     * directory: open() says ENOENT, the ".new.PID" name does not fit. */
    n = (size_t)snprintf(path, sizeof(path), "%s/missing", tdir);
    while (n < PATH_MAX - 2) {
        path[n] = n % 201 == 0 ? '/' : 'k';
        path[++n] = '\0';
    }
    if (path[n - 1] == '/')
        path[n - 1] = 'k';
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_IO);
    ASSERT(k == NULL);

    path_in(path, sizeof(path), "raced.key");
    snprintf(tmp, sizeof(tmp), "%.3000s.new.%ld", path, (long)getpid());
    {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);

        ASSERT(fd >= 0);
        close(fd);
    }
    ASSERT_EQ(pseudo_key_open(path, true, &k), ERR_IO);
    ASSERT(k == NULL);
    ASSERT(stat(path, &st) != 0 && errno == ENOENT);
    ASSERT_OK(stat(tmp, &st));
    ASSERT_OK(unlink(tmp));
    /* The way clear, the same call makes the key. */
    ASSERT_OK(pseudo_key_open(path, true, &k));
    pseudo_key_close(k);
    unlink(path);
}

/* Scoped ids: at most EVENT_ID_MAX bytes each, a known kind, not empty. */
static void
test_scoped_bounds(void)
{
    struct pseudo_key *k = open_fixed_key();
    char big[EVENT_ID_MAX + 2];
    struct pseudo p, q;

    memset(big, 's', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(pseudo_scoped(k, "account", big, "a", &p), ERR_TOOBIG);
    ASSERT_EQ(pseudo_scoped(k, "account", "shop", big, &p), ERR_TOOBIG);
    big[EVENT_ID_MAX] = '\0'; /* exactly the limit: fine */
    ASSERT_OK(pseudo_scoped(k, "account", "shop", big, &p));
    ASSERT_OK(pseudo_scoped(k, "order", "shop", big, &q));
    ASSERT(memcmp(p.b, q.b, PSEUDO_BYTES) != 0); /* kinds are domains */
    ASSERT_EQ(pseudo_scoped(k, "device", "shop", "a", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_scoped(k, "account", "", "a", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_scoped(k, "account", "shop", "", &p), ERR_INVAL);
    pseudo_key_close(k);
}

static void
test_known_answer(void)
{
    struct pseudo_key *k = open_fixed_key();
    struct pseudo p;
    char hex[2 * PSEUDO_BYTES + 1];

    pseudo_compute(k, "email", "alice@example.com", 17, &p);
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "8fcf2df0f6115f92c1195db4081d77cc");

    ASSERT_OK(pseudo_identifier(k, "email", " Alice@Example.COM ", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "8fcf2df0f6115f92c1195db4081d77cc");

    ASSERT_OK(pseudo_identifier(k, "name", "alice@example.com", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "83ee11bc5506a357f4d6b0986be86649");

    ASSERT_OK(pseudo_identifier(k, "ip", "2001:DB8:0::0001", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "9a208c38a34b42631504101974407e44");

    ASSERT_OK(pseudo_identifier(k, "phone", "+44 (20) 7946-0000", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "ed78555bb47170fa70de04263e1c7ff9");

    ASSERT_OK(pseudo_identifier(
        k, "address", " Alice  SMITH\n1 High St\nLondon\nSW1A 1AA\nGB", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "038b37a2fb5ba0396fae135cf3736b43");

    /* Ids a storefront chooses are not identifiers of this kind: they go
     * through pseudo_scoped(), scoped to the storefront. */
    ASSERT_EQ(pseudo_identifier(k, "account", "cust-4711", &p), ERR_INVAL);
    /* The domain separates it from the same string as a device id. */
    ASSERT_OK(pseudo_identifier(k, "device", "cust-4711", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "15ec229b941d9976512ca8d1c3b768aa");
    pseudo_key_close(k);
}

static void
test_same_input_different_key(void)
{
    struct pseudo_key *k1 = open_fixed_key(), *k2 = NULL;
    struct pseudo a, b, c;
    char path[256];

    path_in(path, sizeof(path), "other.key");
    ASSERT_OK(pseudo_key_open(path, true, &k2));
    ASSERT_OK(pseudo_identifier(k1, "device", "dev-123", &a));
    ASSERT_OK(pseudo_identifier(k1, "device", "dev-123", &b));
    ASSERT_MEM_EQ(a.b, b.b, PSEUDO_BYTES);
    ASSERT_OK(pseudo_identifier(k2, "device", "dev-123", &c));
    ASSERT(memcmp(a.b, c.b, PSEUDO_BYTES) != 0);
    /* Device ids are taken as given: case matters. */
    ASSERT_OK(pseudo_identifier(k1, "device", "DEV-123", &c));
    ASSERT(memcmp(a.b, c.b, PSEUDO_BYTES) != 0);
    pseudo_key_close(k1);
    pseudo_key_close(k2);
    unlink(path);
}

static void
expect_same(
    const struct pseudo_key *k, const char *kind, const char *x, const char *y)
{
    struct pseudo a, b;

    ASSERT_OK(pseudo_identifier(k, kind, x, &a));
    ASSERT_OK(pseudo_identifier(k, kind, y, &b));
    if (memcmp(a.b, b.b, PSEUDO_BYTES) != 0)
        TEST_FAIL("%s: '%s' and '%s' should match", kind, x, y);
}

static void
expect_differ(const struct pseudo_key *k, const char *kind1, const char *x,
    const char *kind2, const char *y)
{
    struct pseudo a, b;

    ASSERT_OK(pseudo_identifier(k, kind1, x, &a));
    ASSERT_OK(pseudo_identifier(k, kind2, y, &b));
    if (memcmp(a.b, b.b, PSEUDO_BYTES) == 0)
        TEST_FAIL("%s '%s' and %s '%s' should differ", kind1, x, kind2, y);
}

static void
test_normalization(void)
{
    struct pseudo_key *k = open_fixed_key();
    struct pseudo p;

    expect_same(k, "email", " Alice@Example.COM ", "alice@example.com");
    expect_same(k, "email", "\tBOB@x.org\n", "bob@x.org");
    expect_same(k, "phone", "+1 (555) 010-0000", "+15550100000");
    expect_same(k, "name", "  Jean   Paul\tSARTRE ", "jean paul sartre");
    expect_same(k, "ip", "192.0.2.1", "192.0.2.1");
    expect_same(k, "ip", "::FFFF:192.0.2.1", "::ffff:192.0.2.1");
    expect_same(
        k, "ip", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
    expect_same(k, "card", "4111 1111-1111 1111", "4111111111111111");
    expect_differ(k, "email", "alice@example.com", "name", "alice@example.com");
    expect_differ(k, "email", "a@b.c", "email", "a@b.d");
    expect_differ(k, "device", "same", "card", "same");
    expect_differ(k, "name", "ab", "name", "a b");
    /* Fingerprints are kept as given (not reduced to their digits). */
    expect_differ(k, "card", "fp-1234", "card", "1234");

    ASSERT_EQ(pseudo_identifier(k, "ssn", "x", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_identifier(k, "ip", "999.1.1.1", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_identifier(k, "phone", "no digits", &p), ERR_INVAL);
    {
        char big[1100];

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ASSERT_EQ(pseudo_identifier(k, "name", big, &p), ERR_TOOBIG);
    }
    pseudo_key_close(k);
}

static bool
all_zero(const void *p, size_t len)
{
    const unsigned char *c = p;
    size_t i;

    for (i = 0; i < len; i++)
        if (c[i] != 0)
            return false;
    return true;
}

static void
test_apply_wipes_and_matches(void)
{
    struct pseudo_key *k = open_fixed_key();
    struct event ev;
    struct event_pii pii;
    struct pseudo p;
    char hex[2 * PSEUDO_BYTES + 1];

    memset(&ev, 0, sizeof(ev));
    memset(&pii, 0, sizeof(pii));
    ev.type = EVENT_ORDER_PLACED;
    ev.has = EVENT_HAS_DEVICE | EVENT_HAS_IP | EVENT_HAS_EMAIL |
        EVENT_HAS_PHONE | EVENT_HAS_NAME | EVENT_HAS_CARD | EVENT_HAS_BILLING |
        EVENT_HAS_SHIPPING | EVENT_HAS_ACCOUNT | EVENT_HAS_ORDER;
    snprintf(pii.id, sizeof(pii.id), "evt-9");
    snprintf(pii.account, sizeof(pii.account), "acct-1");
    snprintf(pii.order, sizeof(pii.order), "o-1");
    snprintf(pii.device, sizeof(pii.device), "dev-1");
    snprintf(pii.ip, sizeof(pii.ip), "2001:DB8::1");
    snprintf(pii.ip24, sizeof(pii.ip24), "2001:db8::/48");
    snprintf(pii.ip16, sizeof(pii.ip16), "2001:db8::/32");
    snprintf(pii.email, sizeof(pii.email), " Alice@Example.COM");
    snprintf(pii.phone, sizeof(pii.phone), "+44 20 7946 0000");
    snprintf(pii.name, sizeof(pii.name), "Alice Smith");
    snprintf(pii.card_number, sizeof(pii.card_number), "4111111111111111");
    snprintf(pii.billing.name, sizeof(pii.billing.name), "Alice  Smith");
    snprintf(pii.billing.street, sizeof(pii.billing.street), "1 High St");
    snprintf(pii.billing.city, sizeof(pii.billing.city), "London");
    snprintf(pii.billing.postal, sizeof(pii.billing.postal), "SW1A 1AA");
    memcpy(ev.billing_country, "GB", 3);
    pii.shipping = pii.billing;
    memcpy(ev.shipping_country, "FR", 3);

    pseudo_apply(k, "shop-a", &ev, &pii);
    ASSERT(all_zero(&pii, sizeof(pii)));

    /* Storefront-scoped ids and the IP's prefixes; the expected values
     * come from Python: blake2b(domain + b"\0" + value, key=bytes(range
     * (32)), digest_size=16), value = b"shop-a\n" + id for the ids. */
    pseudo_hex(&ev.id, hex);
    ASSERT_STR_EQ(hex, "c4d77c124f1a53a84f9e1d668be5d633");
    pseudo_hex(&ev.account, hex);
    ASSERT_STR_EQ(hex, "96d5274c8817262361b963c1934da108");
    pseudo_hex(&ev.order, hex);
    ASSERT_STR_EQ(hex, "3a91e9a5297afb2c3e902e6d889ea9f9");
    pseudo_hex(&ev.ip24, hex);
    ASSERT_STR_EQ(hex, "c21fcde2b8ae1c0e5e60eb065d03fde1");
    pseudo_hex(&ev.ip16, hex);
    ASSERT_STR_EQ(hex, "62413650f3f7c1df8631c83482a989f5");
    ASSERT_OK(pseudo_scoped(k, "account", "shop-a", "acct-1", &p));
    ASSERT_MEM_EQ(ev.account.b, p.b, PSEUDO_BYTES);
    /* Another shop's "acct-1" is another person. */
    ASSERT_OK(pseudo_scoped(k, "account", "shop-b", "acct-1", &p));
    pseudo_hex(&p, hex);
    ASSERT_STR_EQ(hex, "dcf98398cf09385130b5c0e0ee10f630");
    ASSERT_EQ(pseudo_scoped(k, "email", "shop-a", "x", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_scoped(k, "order", "", "x", &p), ERR_INVAL);
    ASSERT_EQ(pseudo_identifier(k, "account", "acct-1", &p), ERR_INVAL);

    pseudo_hex(&ev.email, hex);
    ASSERT_STR_EQ(hex, "8fcf2df0f6115f92c1195db4081d77cc");
    pseudo_hex(&ev.ip, hex);
    ASSERT_STR_EQ(hex, "9a208c38a34b42631504101974407e44");
    pseudo_hex(&ev.phone, hex);
    ASSERT_STR_EQ(hex, "ed78555bb47170fa70de04263e1c7ff9");
    pseudo_hex(&ev.billing, hex);
    ASSERT_STR_EQ(hex, "038b37a2fb5ba0396fae135cf3736b43");
    /* Same street address in another country is another address. */
    ASSERT(memcmp(ev.billing.b, ev.shipping.b, PSEUDO_BYTES) != 0);
    ASSERT_OK(pseudo_identifier(k, "device", "dev-1", &p));
    ASSERT_MEM_EQ(ev.device.b, p.b, PSEUDO_BYTES);
    ASSERT_OK(pseudo_identifier(k, "name", "alice smith", &p));
    ASSERT_MEM_EQ(ev.name.b, p.b, PSEUDO_BYTES);
    ASSERT_OK(pseudo_identifier(k, "card", "4111111111111111", &p));
    ASSERT_MEM_EQ(ev.card.b, p.b, PSEUDO_BYTES);

    /* Card by its fingerprint, even when a number is there too. */
    memset(&ev, 0, sizeof(ev));
    memset(&pii, 0, sizeof(pii));
    ev.has = EVENT_HAS_CARD;
    snprintf(pii.id, sizeof(pii.id), "evt-10");
    snprintf(pii.card_fingerprint, sizeof(pii.card_fingerprint), "fp-77");
    snprintf(pii.card_number, sizeof(pii.card_number), "4111111111111111");
    pseudo_apply(k, "shop-a", &ev, &pii);
    ASSERT_OK(pseudo_identifier(k, "card", "fp-77", &p));
    ASSERT_MEM_EQ(ev.card.b, p.b, PSEUDO_BYTES);

    /* account.update: the value follows its field's domain and rule. */
    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_ACCOUNT_UPDATE;
    ev.has = EVENT_HAS_VALUE;
    ev.field = EVENT_UPDATE_EMAIL;
    snprintf(pii.id, sizeof(pii.id), "evt-11");
    snprintf(pii.value, sizeof(pii.value), "ALICE@example.com ");
    pseudo_apply(k, "shop-a", &ev, &pii);
    pseudo_hex(&ev.value, hex);
    ASSERT_STR_EQ(hex, "8fcf2df0f6115f92c1195db4081d77cc");
    ASSERT(all_zero(&pii, sizeof(pii)));

    /* No bit set: only the event id computed, pii still wiped. */
    memset(&ev, 0, sizeof(ev));
    memset(&pii, 0x33, sizeof(pii));
    snprintf(pii.id, sizeof(pii.id), "evt-12");
    pseudo_apply(k, "shop-a", &ev, &pii);
    ASSERT(all_zero(&pii, sizeof(pii)));
    ASSERT(all_zero(&ev.email, sizeof(ev.email)));
    pseudo_key_close(k);
}

int
main(void)
{
    char cmd[128];

    log_init("test_pseudo", true);
    snprintf(tdir, sizeof(tdir), "/tmp/vigil-test-pseudo.XXXXXX");
    ASSERT(mkdtemp(tdir) != NULL);
    RUN(test_create_mode_0600);
    RUN(test_refuse_bad_key_files);
    RUN(test_create_failures);
    RUN(test_scoped_bounds);
    RUN(test_known_answer);
    RUN(test_same_input_different_key);
    RUN(test_normalization);
    RUN(test_apply_wipes_and_matches);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tdir);
    return 0;
}
