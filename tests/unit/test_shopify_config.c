/*
 * test_shopify_config.c - unit tests of tools/vigil-shopify/config: the
 *                         bridge's keys, file format and policies
 *
 * Defaults, file and -o overrides with common/cfg's rules (file:line
 * in every error), the loopback rule for shopify_listen, the CURVE and
 * endpoint rules, and the Admin API base URL rule.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/compiler.h"
#include "common/err.h"
#include "tests/harness/test.h"
#include "tools/vigil-shopify/config.h"

static int
load(const char *file, const char *const *ov, int nov, struct config *c,
    char *err, size_t errlen)
{
    struct cfgtab_args a;
    int i;

    memset(&a, 0, sizeof(a));
    a.file = file;
    for (i = 0; i < nov; i++)
        a.overrides[a.noverrides++] = ov[i];
    return config_load(c, &a, err, errlen);
}

static void
test_defaults(void)
{
    struct config c;
    char err[512];

    ASSERT_OK(load(NULL, NULL, 0, &c, err, sizeof(err)));
    ASSERT_STR_EQ(c.shopify_listen, "127.0.0.1:7012");
    ASSERT_STR_EQ(c.collector_endpoint, "tcp://127.0.0.1:7010");
    ASSERT_STR_EQ(c.admin_tokens_file, "");
    ASSERT_EQ(c.request_budget_ms, 4000);
    ASSERT_EQ(c.max_body, 1048576);
    ASSERT_EQ(c.dedup_ttl_s, 86400);
    ASSERT_STR_EQ(c.keys_dir, "/etc/vigil");
    ASSERT_STR_EQ(c.server_key, "");
    ASSERT_STR_EQ(c.cert_dir, "");
    ASSERT(config_has_curve(&c)); /* CURVE unless insecure_dev */
    config_release(&c);
}

static void
test_rules(void)
{
    static const struct {
        const char *ov[3];
        int rc;
        const char *says;
    } cases[] = {
        { { "shopify_listen=[::1]:7012" }, 0, "" },
        { { "shopify_listen=127.0.0.2:80" }, 0, "" },
        { { "shopify_listen=0.0.0.0:7012" }, ERR_DENIED, "loopback" },
        { { "shopify_listen=0.0.0.0:7012", "insecure_dev=1" }, 0, "" },
        { { "shopify_listen=localhost:7012" }, ERR_INVAL, "shopify_listen" },
        { { "shopify_listen=127.0.0.1" }, ERR_INVAL, "shopify_listen" },
        { { "shopify_listen=127.0.0.1:0" }, ERR_INVAL, "shopify_listen" },
        { { "shopify_listen=127.0.0.1:65536" }, ERR_INVAL, "shopify_listen" },
        { { "collector_endpoint=tcp://10.0.0.5:7010" }, 0, "" },
        { { "collector_endpoint=tcp://10.0.0.5:7010", "insecure_dev=1" },
            ERR_DENIED, "off this machine" },
        { { "collector_endpoint=ipc:///run/vigil/c.ipc", "insecure_dev=1" }, 0,
            "" },
        { { "server_key=/k/server.key", "cert_dir=/k/secrets" }, 0, "" },
        { { "collector_endpoint=inproc://x" }, ERR_INVAL, "tcp://" },
        { { "admin_api_base=http://shop.example" }, ERR_DENIED, "https" },
        { { "admin_api_base=http://127.0.0.1:8080/{shop}" }, 0, "" },
        { { "admin_api_base=ftp://x" }, ERR_INVAL, "http" },
        { { "admin_api_version=2026-10; drop" }, ERR_INVAL, "version" },
        { { "request_budget_ms=5000" }, ERR_INVAL, "100..4900" },
        { { "dedup_ttl_s=3600" }, ERR_INVAL, "18000" },
        { { "max_body=0x100" }, ERR_INVAL, "decimal" },
        { { "secrets_file=" }, ERR_INVAL, "empty" },
        { { "admin_tokens_file=" }, 0, "" },
        { { "no_such_key=1" }, ERR_INVAL, "unknown key" },
        { { "insecure_dev=maybe" }, ERR_INVAL, "boolean" },
    };
    struct config c;
    char err[512];
    size_t i;
    int n, rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        for (n = 0; n < 3 && cases[i].ov[n] != NULL; n++)
            ;
        err[0] = '\0';
        rc = load(NULL, cases[i].ov, n, &c, err, sizeof(err));
        if (rc != cases[i].rc || strstr(err, cases[i].says) == NULL)
            TEST_FAIL("case %zu (%s): rc %d, '%s'", i, cases[i].ov[0], rc, err);
        config_release(&c);
    }
}

static void
test_file(void)
{
    char path[] = "/tmp/test_shopify_config.XXXXXX", err[512];
    const char *ov[] = { "max_body=2048" };
    struct config c;
    FILE *f;
    int fd;

    fd = mkstemp(path);
    ASSERT(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# vigil-shopify\n\nshopify_listen = 127.0.0.1:9999  # tests\n"
          "max_body=4096\nrisk_attempts = 3\n",
        f);
    fclose(f);
    ASSERT_OK(load(path, ov, 1, &c, err, sizeof(err)));
    ASSERT_STR_EQ(c.shopify_listen, "127.0.0.1:9999");
    ASSERT_EQ(c.max_body, 2048); /* -o comes after the file */
    ASSERT_EQ(c.risk_attempts, 3);
    config_release(&c);

    f = fopen(path, "w");
    fputs("max_body = 4096\nhttp_threads = 99\n", f);
    fclose(f);
    ASSERT_EQ(load(path, NULL, 0, &c, err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, ":2: 'http_threads' must be in 1..64") != NULL);
    config_release(&c);
    unlink(path);
}

int
main(void)
{
    RUN(test_defaults);
    RUN(test_rules);
    RUN(test_file);
    return 0;
}
