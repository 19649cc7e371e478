/*
 * config.c - vigil-shopify's configuration table and loader
 *
 * One static table describes every key (type, storage, default, range,
 * help). The file loader and -o overrides are common/cfgtab.c's, the
 * daemons' own, applied to this table, so a key is checked the same way
 * wherever it comes from;
 * this file adds the bridge's cross-key checks and its command line.
 *
 * Invariants:
 *  - every field of struct config has exactly one table entry, and
 *    tools/vigil-shopify.8 lists the same keys in the same order.
 *
 * See also: config.h, common/cfg.c, tools/vigil-shopify.8
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/cfg.h"
#include "common/cfgtab.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/config.h"

#define CONFIG_PROGNAME "vigil-shopify"

/* One row a key: type, name (also the field of struct config), default,
 * range, flags (none: the bridge does not reload), one-line help. */
#define CFGTAB_STRUCT struct config
/* clang-format off */
static const struct cfgtab_entry config_table[] = {
    CFGTAB_KEY(shopify_listen, CFGTAB_STRING, "127.0.0.1:7012", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "address:port of the webhook HTTP server (loopback: TLS is the reverse proxy's job)"),
    CFGTAB_KEY(insecure_dev, CFGTAB_BOOL, "0", 0, 1, CFGTAB_FIXED, "no CURVE to the collector (which must then be on this machine, loopback or ipc://), a non-loopback shopify_listen and a plain-HTTP Admin API: development only"),
    CFGTAB_KEY(collector_endpoint, CFGTAB_STRING, "tcp://127.0.0.1:7010", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the collector's storefront endpoint"),
    CFGTAB_KEY(keys_dir, CFGTAB_STRING, "/etc/vigil", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "Vigil's keys directory: server.key, and secrets/ with each shop's certificate"),
    CFGTAB_KEY(server_key, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the collector's public key: 40 characters of Z85 or a public certificate file; unset: <keys_dir>/server.key"),
    CFGTAB_KEY(cert_dir, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "directory of the shops' secret certificates <shop-domain>.key_secret (vigilctl client add <shop-domain> --role storefront); unset: <keys_dir>/secrets"),
    CFGTAB_KEY(query_endpoint, CFGTAB_STRING, "tcp://127.0.0.1:7011", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the scorer's query endpoint, for the privacy webhooks and the labels"),
    CFGTAB_KEY(dpo_cert, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the bridge's secret certificate of role dpo (vigilctl client add vigil-shopify --role dpo); unset: privacy webhooks answer 503"),
    CFGTAB_KEY(label_cert, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the bridge's secret certificate of role analyst (vigilctl client add vigil-shopify-labels --role analyst); unset: fraud cancellations and chargebacks are withheld (counted, not sent)"),
    CFGTAB_KEY(reports_dir, CFGTAB_STRING, "./var/shopify-reports", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "where customers/data_request reports are written for the merchant (<shop>/<case>/)"),
    CFGTAB_KEY(secrets_file, CFGTAB_STRING, "./shopify.secrets", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "shops and their client secrets, mode 0600"),
    CFGTAB_KEY(admin_tokens_file, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "shops' Admin API access tokens, mode 0600; unset: no risk assessments are posted"),
    CFGTAB_KEY(admin_api_base, CFGTAB_STRING, "https://{shop}", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "Admin API base URL; {shop} becomes the shop's domain"),
    CFGTAB_KEY(admin_api_version, CFGTAB_STRING, "2026-10", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "Admin API version in /admin/api/<version>/graphql.json"),
    CFGTAB_KEY(risk_attempts, CFGTAB_INT, "5", 1, 20, CFGTAB_FIXED, "tries per risk assessment"),
    CFGTAB_KEY(risk_timeout_ms, CFGTAB_INT, "10000", 100, 60000, CFGTAB_FIXED, "one Admin API request, at most, in ms"),
    CFGTAB_KEY(risk_queue_max, CFGTAB_INT, "10000", 1, 1000000, CFGTAB_FIXED, "risk assessments waiting to be posted, at most"),
    CFGTAB_KEY(max_body, CFGTAB_INT, "1048576", 1024, 16777216, CFGTAB_FIXED, "largest webhook body accepted, in bytes"),
    CFGTAB_KEY(request_budget_ms, CFGTAB_INT, "4000", 100, 4900, CFGTAB_FIXED, "answer every delivery within this, in ms (Shopify waits 5 s)"),
    CFGTAB_KEY(dedup_file, CFGTAB_STRING, "./var/shopify.seen", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "file of the webhook ids already applied"),
    CFGTAB_KEY(dedup_max, CFGTAB_INT, "1000000", 1000, 10000000, CFGTAB_FIXED, "webhook ids remembered, at most"),
    CFGTAB_KEY(dedup_ttl_s, CFGTAB_INT, "86400", 18000, 2592000, CFGTAB_FIXED, "how long a webhook id is remembered, in s (Shopify retries for 4 h)"),
    CFGTAB_KEY(http_threads, CFGTAB_INT, "2", 1, 64, CFGTAB_FIXED, "HTTP server threads"),
    CFGTAB_KEY(max_connections, CFGTAB_INT, "1024", 16, 65536, CFGTAB_FIXED, "HTTP connections at once"),
    CFGTAB_KEY(max_inflight, CFGTAB_INT, "4096", 16, 1000000, CFGTAB_FIXED, "deliveries waiting for Vigil's answer at once"),
};
/* clang-format on */

static const struct cfgtab config_tab = { config_table, ARRAY_LEN(config_table),
    sizeof(struct config) };

void
config_release(struct config *c)
{
    cfgtab_release(&config_tab, c);
}

int
config_listen_addr(const char *listen, struct sockaddr_storage *ss,
    socklen_t *len, bool *loopback)
{
    char host[64];
    const char *colon, *h = listen;
    unsigned long port;
    size_t hlen;
    char *end;

    memset(ss, 0, sizeof(*ss));
    if (*h == '[') {
        const char *close = strchr(h, ']');

        if (close == NULL || close[1] != ':')
            return ERR_INVAL;
        hlen = (size_t)(close - h - 1);
        h++;
        colon = close + 1;
    } else {
        colon = strrchr(h, ':');
        if (colon == NULL)
            return ERR_INVAL;
        hlen = (size_t)(colon - h);
    }
    if (hlen == 0 || hlen >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
        return ERR_INVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
        return ERR_INVAL;
    if (listen[0] != '[') {
        struct sockaddr_in *a = (struct sockaddr_in *)(void *)ss;

        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return ERR_INVAL;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        *len = sizeof(*a);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)(void *)ss;

        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return ERR_INVAL;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return 0;
}

bool
config_has_curve(const struct config *c)
{
    return !c->insecure_dev;
}

/* True when `url` is http(s)://HOST... with HOST a loopback name. */
static bool
url_is_local(const char *url)
{
    static const char *const prefixes[] = { "http://127.", "https://127.",
        "http://localhost", "https://localhost", "http://[::1]",
        "https://[::1]" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(prefixes); i++)
        if (strncmp(url, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

int
config_check(const struct config *c, char *err, size_t errlen)
{
    const struct {
        const char *key, *value;
    } eps[] = {
        { "collector_endpoint", c->collector_endpoint },
        { "query_endpoint", c->query_endpoint },
    };
    struct sockaddr_storage ss;
    size_t i;
    socklen_t len;
    bool loopback;
    const char *v;

    if (config_listen_addr(c->shopify_listen, &ss, &len, &loopback) != 0) {
        snprintf(err, errlen,
            "shopify_listen must be IPv4:port or [IPv6]:port, got '%s'",
            c->shopify_listen);
        return ERR_INVAL;
    }
    if (!loopback && !c->insecure_dev) {
        snprintf(err, errlen,
            "shopify_listen '%s' is not a loopback address: the bridge speaks "
            "plain HTTP and TLS is the reverse proxy's job; set "
            "insecure_dev=1 to allow it anyway",
            c->shopify_listen);
        return ERR_DENIED;
    }
    for (i = 0; i < ARRAY_LEN(eps); i++) {
        if (strncmp(eps[i].value, "tcp://", 6) != 0 &&
            strncmp(eps[i].value, "ipc://", 6) != 0) {
            snprintf(err, errlen, "%s must be tcp:// or ipc://", eps[i].key);
            return ERR_INVAL;
        }
        if (c->insecure_dev && !cfg_endpoint_is_local(eps[i].value)) {
            snprintf(err, errlen,
                "%s '%s' is off this machine: a plain (insecure_dev) "
                "connection must stay on loopback or ipc://",
                eps[i].key, eps[i].value);
            return ERR_DENIED;
        }
    }
    v = c->admin_api_base;
    if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) {
        snprintf(err, errlen, "admin_api_base must be an http(s) URL");
        return ERR_INVAL;
    }
    if (strncmp(v, "https://", 8) != 0 && !url_is_local(v) &&
        !c->insecure_dev) {
        snprintf(err, errlen,
            "admin_api_base must be https:// (or on this machine, for tests)");
        return ERR_DENIED;
    }
    for (v = c->admin_api_version; *v != '\0'; v++) {
        if (!((*v >= '0' && *v <= '9') || *v == '-' ||
                (*v >= 'a' && *v <= 'z'))) {
            snprintf(err, errlen,
                "admin_api_version must be like 2026-10 or unstable");
            return ERR_INVAL;
        }
    }
    return 0;
}

int
config_load(
    struct config *c, const struct cfgtab_args *a, char *err, size_t errlen)
{
    int rc = cfgtab_load(&config_tab, c, a, err, errlen);

    return rc != 0 ? rc : config_check(c, err, errlen);
}

void
config_print(const struct config *c, FILE *fp)
{
    cfgtab_print(&config_tab, c, true, fp);
}

void
config_parse_args(int argc, char **argv, struct cfgtab_args *a)
{
    static const struct cfgtab_cli cli = { CONFIG_PROGNAME,
        CONFIG_PROGNAME "(8)", false };

    cfgtab_parse_args(argc, argv, &cli, a);
}
