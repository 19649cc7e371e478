/*
 * test_shopify_shops.c - unit tests of tools/vigil-shopify/shops: the
 *                        secrets and tokens files
 *
 * The documented format (one shop per line, two secrets during a
 * rotation, comments), every refusal with its line number, the mode
 * and owner rules, and signature checks through the loaded secrets.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/err.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/hmac.h"
#include "tools/vigil-shopify/shops.h"

static char dir[] = "/tmp/test_shopify_shops.XXXXXX";
static char secrets[256], tokens[256];

static void
write_file(const char *p, const char *text, mode_t mode)
{
    FILE *f;

    unlink(p);
    f = fopen(p, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        TEST_FAIL("cannot write %s", p);
    ASSERT_OK(chmod(p, mode));
}

static void
test_load(void)
{
    struct shops *s = NULL;
    const struct shop *a, *b;
    char err[256], sig[HMAC_B64_LEN + 1];
    struct hmac_key k;

    write_file(secrets,
        "# shop-domain  secret  [previous-secret]\n"
        "\n"
        "beta.myshopify.com\tshpss_beta_new shpss_beta_old   # rotating\n"
        "alpha.myshopify.com shpss_alpha\n",
        0600);
    write_file(tokens, "alpha.myshopify.com shpat_alpha_token\n", 0600);
    if (shops_load(secrets, tokens, &s, err, sizeof(err)) != 0)
        TEST_FAIL("load: %s", err);
    ASSERT_EQ(shops_count(s), 2);
    ASSERT_STR_EQ(shops_get(s, 0)->domain, "alpha.myshopify.com");
    a = shops_find(s, "alpha.myshopify.com");
    b = shops_find(s, "beta.myshopify.com");
    ASSERT(a != NULL && b != NULL);
    ASSERT(shops_find(s, "gamma.myshopify.com") == NULL);
    ASSERT(shops_find(s, "ALPHA.myshopify.com") == NULL);
    ASSERT_EQ(a->nsecrets, 1);
    ASSERT_EQ(b->nsecrets, 2);
    ASSERT_STR_EQ(a->token, "shpat_alpha_token");
    ASSERT_STR_EQ(b->token, "");
    ASSERT_EQ(b->index, 1);

    k.key = (const uint8_t *)"shpss_beta_old";
    k.len = strlen("shpss_beta_old");
    hmac_sign("{}", 2, &k, sig);
    ASSERT(shops_verify(b, "{}", 2, sig));  /* the previous secret */
    ASSERT(!shops_verify(a, "{}", 2, sig)); /* another shop's */
    k.key = (const uint8_t *)"shpss_beta_new";
    k.len = strlen("shpss_beta_new");
    hmac_sign("{}", 2, &k, sig);
    ASSERT(shops_verify(b, "{}", 2, sig));
    shops_free(s);

    /* No tokens file: no tokens. */
    if (shops_load(secrets, "", &s, err, sizeof(err)) != 0)
        TEST_FAIL("load: %s", err);
    ASSERT_STR_EQ(shops_find(s, "alpha.myshopify.com")->token, "");
    shops_free(s);
}

static void
test_refusals(void)
{
    static const struct {
        const char *secrets, *tokens;
        int rc;
        const char *where;
    } cases[] = {
        { "", "", ERR_INVAL, "no shop" },
        { "# only a comment\n", "", ERR_INVAL, "no shop" },
        { "alpha.myshopify.com\n", "", ERR_INVAL, ":1:" },
        { "a.myshopify.com s1\nb.myshopify.com s1 s2 s3\n", "", ERR_INVAL,
            ":2:" },
        { "Alpha.myshopify.com s1\n", "", ERR_INVAL, ":1:" },
        { "alpha_shop s1\n", "", ERR_INVAL, ":1:" },
        { "a.myshopify.com s1\na.myshopify.com s2\n", "", ERR_INVAL, "twice" },
        { "a.myshopify.com s\001x\n", "", ERR_INVAL, ":1:" },
        { "a.myshopify.com s1\n", "b.myshopify.com t\n", ERR_INVAL,
            "not in the secrets" },
        { "a.myshopify.com s1\n", "a.myshopify.com\n", ERR_INVAL, ":1:" },
        { "a.myshopify.com s1\n", "a.myshopify.com t1\na.myshopify.com t2\n",
            ERR_INVAL, "twice" },
    };
    struct shops *s = NULL;
    char err[256];
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        write_file(secrets, cases[i].secrets, 0600);
        write_file(tokens, cases[i].tokens, 0600);
        err[0] = '\0';
        rc = shops_load(
            secrets, cases[i].tokens[0] ? tokens : "", &s, err, sizeof(err));
        if (rc != cases[i].rc || strstr(err, cases[i].where) == NULL)
            TEST_FAIL("case %zu: rc %d, '%s'", i, rc, err);
        ASSERT(s == NULL);
        /* The message never carries a secret. */
        ASSERT(strstr(err, "s1") == NULL && strstr(err, "t1") == NULL);
    }
}

static void
test_file_rules(void)
{
    struct shops *s = NULL;
    char err[256], link[300];

    write_file(secrets, "a.myshopify.com s1\n", 0640);
    ASSERT_EQ(shops_load(secrets, "", &s, err, sizeof(err)), ERR_DENIED);
    write_file(secrets, "a.myshopify.com s1\n", 0604);
    ASSERT_EQ(shops_load(secrets, "", &s, err, sizeof(err)), ERR_DENIED);
    write_file(secrets, "a.myshopify.com s1\n", 0600);
    write_file(tokens, "a.myshopify.com t1\n", 0644);
    ASSERT_EQ(shops_load(secrets, tokens, &s, err, sizeof(err)), ERR_DENIED);
    snprintf(link, sizeof(link), "%s/link", dir);
    unlink(link);
    ASSERT_OK(symlink(secrets, link));
    ASSERT_EQ(shops_load(link, "", &s, err, sizeof(err)), ERR_DENIED);
    unlink(link);
    ASSERT_EQ(shops_load("/nonexistent/secrets", "", &s, err, sizeof(err)),
        ERR_NOTFOUND);
    ASSERT_EQ(shops_load(dir, "", &s, err, sizeof(err)), ERR_DENIED);
}

int
main(void)
{
    if (sodium_init() < 0 || mkdtemp(dir) == NULL)
        TEST_FAIL("set-up");
    snprintf(secrets, sizeof(secrets), "%s/secrets", dir);
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    RUN(test_load);
    RUN(test_refusals);
    RUN(test_file_rules);
    unlink(secrets);
    unlink(tokens);
    rmdir(dir);
    return 0;
}
