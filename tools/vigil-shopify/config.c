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
#include <unistd.h>

#include "common/cfg.h"
#include "common/cfgtab.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/config.h"

#define CONFIG_PROGNAME "vigil-shopify"

#define C_STR(k, def, help)                                                    \
    {                                                                          \
#k, CFGTAB_STRING, offsetof(struct config, k), def, 0, 1, 0, help      \
    }
#define C_OPT(k, help)                                                         \
    {                                                                          \
#k, CFGTAB_STRING, offsetof(struct config, k), "", 0, 0, 0, help       \
    }
#define C_INT(k, def, lo, hi, help)                                            \
    {                                                                          \
#k, CFGTAB_INT, offsetof(struct config, k), NULL, def, lo, hi, help    \
    }
#define C_BOOL(k, def, help)                                                   \
    {                                                                          \
#k, CFGTAB_BOOL, offsetof(struct config, k), NULL, def, 0, 1, help     \
    }

static const struct cfgtab_entry config_table[] = {
    C_STR(shopify_listen, "127.0.0.1:7012",
        "address:port of the webhook HTTP server (loopback: TLS is the "
        "reverse proxy's job)"),
    C_BOOL(insecure_dev, 0,
        "no CURVE to the collector (which must then be on this machine, "
        "loopback or ipc://), a non-loopback shopify_listen and a "
        "plain-HTTP Admin API: development only"),
    C_STR(collector_endpoint, "tcp://127.0.0.1:7010",
        "the collector's storefront endpoint"),
    C_STR(keys_dir, "/etc/vigil",
        "Vigil's keys directory: server.key, and secrets/ with each shop's "
        "certificate"),
    C_OPT(server_key,
        "the collector's public key: 40 characters of Z85 or a public "
        "certificate file; unset: <keys_dir>/server.key"),
    C_OPT(cert_dir,
        "directory of the shops' secret certificates <shop-domain>.key_secret "
        "(vigilctl client add <shop-domain> --role storefront); unset: "
        "<keys_dir>/secrets"),
    C_STR(query_endpoint, "tcp://127.0.0.1:7011",
        "the scorer's query endpoint, for the privacy webhooks and the "
        "labels"),
    C_OPT(dpo_cert,
        "the bridge's secret certificate of role dpo (vigilctl client add "
        "vigil-shopify --role dpo); unset: privacy webhooks answer 503"),
    C_OPT(label_cert,
        "the bridge's secret certificate of role analyst (vigilctl client "
        "add vigil-shopify-labels --role analyst); unset: fraud "
        "cancellations and chargebacks are withheld (counted, not sent)"),
    C_STR(reports_dir, "./var/shopify-reports",
        "where customers/data_request reports are written for the "
        "merchant (<shop>/<case>/)"),
    C_STR(secrets_file, "./shopify.secrets",
        "shops and their client secrets, mode 0600"),
    C_OPT(admin_tokens_file,
        "shops' Admin API access tokens, mode 0600; unset: no risk "
        "assessments are posted"),
    C_STR(admin_api_base, "https://{shop}",
        "Admin API base URL; {shop} becomes the shop's domain"),
    C_STR(admin_api_version, "2026-10",
        "Admin API version in /admin/api/<version>/graphql.json"),
    C_INT(risk_attempts, 5, 1, 20, "tries per risk assessment"),
    C_INT(risk_timeout_ms, 10000, 100, 60000,
        "one Admin API request, at most, in ms"),
    C_INT(risk_queue_max, 10000, 1, 1000000,
        "risk assessments waiting to be posted, at most"),
    C_INT(max_body, 1048576, 1024, 16777216,
        "largest webhook body accepted, in bytes"),
    C_INT(request_budget_ms, 4000, 100, 4900,
        "answer every delivery within this, in ms (Shopify waits 5 s)"),
    C_STR(dedup_file, "./var/shopify.seen",
        "file of the webhook ids already applied"),
    C_INT(
        dedup_max, 1000000, 1000, 10000000, "webhook ids remembered, at most"),
    C_INT(dedup_ttl_s, 86400, 18000, 2592000,
        "how long a webhook id is remembered, in s (Shopify retries for 4 h)"),
    C_INT(http_threads, 2, 1, 64, "HTTP server threads"),
    C_INT(max_connections, 1024, 16, 65536, "HTTP connections at once"),
    C_INT(max_inflight, 4096, 16, 1000000,
        "deliveries waiting for Vigil's answer at once"),
};

static const struct cfgtab config_tab = { config_table,
    ARRAY_LEN(config_table) };

void
config_release(struct config *c)
{
    cfgtab_release(&config_tab, c);
    memset(c, 0, sizeof(*c));
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
    struct sockaddr_storage ss;
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
    if (strncmp(c->collector_endpoint, "tcp://", 6) != 0 &&
        strncmp(c->collector_endpoint, "ipc://", 6) != 0) {
        snprintf(err, errlen, "collector_endpoint must be tcp:// or ipc://");
        return ERR_INVAL;
    }
    if (c->insecure_dev && !cfg_endpoint_is_local(c->collector_endpoint)) {
        snprintf(err, errlen,
            "collector_endpoint '%s' is off this machine: a plain "
            "(insecure_dev) connection must stay on loopback or ipc://",
            c->collector_endpoint);
        return ERR_DENIED;
    }
    if (strncmp(c->query_endpoint, "tcp://", 6) != 0 &&
        strncmp(c->query_endpoint, "ipc://", 6) != 0) {
        snprintf(err, errlen, "query_endpoint must be tcp:// or ipc://");
        return ERR_INVAL;
    }
    if (c->insecure_dev && !cfg_endpoint_is_local(c->query_endpoint)) {
        snprintf(err, errlen,
            "query_endpoint '%s' is off this machine: a plain "
            "(insecure_dev) connection must stay on loopback or ipc://",
            c->query_endpoint);
        return ERR_DENIED;
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
    struct config *c, const struct config_args *a, char *err, size_t errlen)
{
    int i, rc;

    memset(c, 0, sizeof(*c));
    cfgtab_defaults(&config_tab, c);
    if (a->file != NULL) {
        rc = cfgtab_load_file(&config_tab, c, a->file, err, errlen);
        if (rc != 0)
            return rc;
    }
    for (i = 0; i < a->noverrides; i++) {
        rc = cfgtab_set(&config_tab, c, a->overrides[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    return config_check(c, err, errlen);
}

void
config_print(const struct config *c, FILE *fp)
{
    cfgtab_print(&config_tab, c, true, fp);
}

static void
usage(FILE *fp)
{
    fprintf(fp,
        "usage: " CONFIG_PROGNAME " [-dhnVv] [-f file] [-o key=value]\n"
        "  -d            stay in the foreground and log to stderr\n"
        "  -f file       read the configuration from file\n"
        "  -h            show this help\n"
        "  -n            check the configuration and exit (0 good, 1 bad)\n"
        "  -o key=value  override one configuration key (repeatable)\n"
        "  -V            print the version and exit\n"
        "  -v            more verbose logging (repeatable)\n"
        "See " CONFIG_PROGNAME "(8).\n");
}

void
config_parse_args(int argc, char **argv, struct config_args *a)
{
    int ch;

    memset(a, 0, sizeof(*a));
    while ((ch = getopt(argc, argv, "df:hno:Vv")) != -1) {
        switch (ch) {
        case 'd':
            a->foreground = true;
            break;
        case 'f':
            a->file = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'n':
            a->check_only = true;
            break;
        case 'o':
            if (a->noverrides == CONFIG_MAX_OVERRIDE) {
                fprintf(stderr, CONFIG_PROGNAME ": more than %d -o options\n",
                    CONFIG_MAX_OVERRIDE);
                usage(stderr);
                exit(1);
            }
            a->overrides[a->noverrides++] = optarg;
            break;
        case 'V':
            printf(CONFIG_PROGNAME " %s\n", VIGIL_VERSION);
            exit(0);
        case 'v':
            a->verbose++;
            break;
        default:
            usage(stderr);
            exit(1);
        }
    }
    if (optind != argc) {
        usage(stderr);
        exit(1);
    }
}
