/*
 * main.c - vigil-shopify: the Shopify bridge, main() and the start-up
 *          checklist
 *
 * An edge process beside the collector: a shop's signed webhooks come
 * in over HTTP on loopback (TLS ends at the reverse proxy), become
 * storefront events, and reach the collector over ZeroMQ as the shop's
 * Vigil identity; each scored order's decision goes back to the shop as
 * an order risk assessment. It keeps no personal data: bodies and
 * events are wiped when their request ends, and the only file it writes
 * holds hashes of Shopify's delivery ids (seen.h).
 *
 * Start-up reads top to bottom: parse arguments -> load and check the
 * config (-n stops here) -> harden the process -> libraries -> shops
 * (secrets, tokens) -> dedup set -> uplink (Vigil identities, sockets;
 * wait up to 3 s for the connections) -> risk worker -> HTTP server -> serve
 * until SIGINT/SIGTERM -> stop taking connections, answer everything waiting,
 * stop.
 *
 * Exit status (vigil-shopify.8): 0 stopped on a signal; 1 bad
 * configuration, a start-up failure or a socket failure.
 *
 * Invariants:
 *  - never forks; without -d it still runs in the foreground but logs
 *    to syslog.
 *  - SIGINT and SIGTERM are blocked in every thread but the main one.
 *
 * See also: tools/vigil-shopify.8, shopify.h, config.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/log.h"
#include "common/sig.h"
#include "tools/vigil-shopify/config.h"
#include "tools/vigil-shopify/labels.h"
#include "tools/vigil-shopify/seen.h"
#include "tools/vigil-shopify/shopify.h"
#include "tools/vigil-shopify/shops.h"
#include "tools/vigil-shopify/topics.h"

#define EXIT_OK   0
#define EXIT_FAIL 1

/* Longest wait at start for the connections to the collector. */
#define SHOPIFY_CONNECT_WAIT_MS 3000

/* Block SIGINT/SIGTERM (inherited by every thread started after) or
 * unblock them again (main thread). The handlers are sig_install()'s
 * (no SA_RESTART: zsock_poll must return EINTR so the loop sees it). */
static void
signals_block(bool block)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int
open_libraries(void)
{
    if (sodium_init() < 0) {
        log_warnx("sodium_init failed");
        return ERR_IO;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_warnx("curl_global_init failed");
        return ERR_IO;
    }
    topics_json_init();
    return 0;
}

static int
open_shops(struct shopify *sh)
{
    char err[512];
    int rc;

    rc = shops_load(sh->cfg.secrets_file, sh->cfg.admin_tokens_file, &sh->shops,
        err, sizeof(err));
    if (rc != 0)
        log_warnx("%s", err);
    return rc;
}

static int
open_seen(struct shopify *sh)
{
    char err[512];
    int rc;

    rc = seen_open(sh->cfg.dedup_file, (uint32_t)sh->cfg.dedup_max,
        (uint64_t)sh->cfg.dedup_ttl_s * 1000, clock_wall_ms(), &sh->seen, err,
        sizeof(err));
    if (rc != 0)
        log_warnx("%s", err);
    return rc;
}

/* Stop in the order that leaves no connection suspended. */
static void
shopify_close(struct shopify *sh)
{
    http_quiesce(sh->http);
    if (sh->uplink != NULL)
        uplink_shutdown(sh->uplink);
    privacy_close(sh->privacy);
    sh->privacy = NULL;
    labels_close(sh->labels);
    sh->labels = NULL;
    http_stop(sh->http);
    sh->http = NULL;
    risk_close(sh->risk);
    sh->risk = NULL;
    uplink_close(sh->uplink);
    sh->uplink = NULL;
}

static void
shopify_free(struct shopify *sh)
{
    seen_close(sh->seen);
    shops_free(sh->shops);
    config_release(&sh->cfg);
}

int
main(int argc, char **argv)
{
    static struct shopify sh;
    struct cfgtab_args args;
    char err[512];
    int rc, status = EXIT_FAIL;

    config_parse_args(argc, argv, &args);
    log_init(SHOPIFY_PROGNAME, args.foreground || args.check_only);
    log_setverbose(args.verbose);

    rc = config_load(&sh.cfg, &args, err, sizeof(err));
    if (args.check_only) {
        if (rc != 0) {
            fprintf(stderr, SHOPIFY_PROGNAME ": %s\n", err);
            config_release(&sh.cfg);
            return EXIT_FAIL;
        }
        if (args.verbose > 0)
            config_print(&sh.cfg, stdout);
        fprintf(stderr, SHOPIFY_PROGNAME ": configuration OK\n");
        config_release(&sh.cfg);
        return EXIT_OK;
    }
    if (rc != 0) {
        log_warnx("bad configuration: %s", err);
        config_release(&sh.cfg);
        return EXIT_FAIL;
    }
    if (harden_process() != 0 || open_libraries() != 0)
        goto out;
    if (open_shops(&sh) != 0 || open_seen(&sh) != 0)
        goto out;
    sig_install(false); /* and SIGPIPE ignored */
    signals_block(true);
    rc = uplink_open(&sh, &sh.uplink);
    if (rc != 0) {
        log_warnx("cannot open the uplink to Vigil: %s", err_str(rc));
        goto out_close;
    }
    /* Serve only once Vigil is reachable, or after a bounded wait. */
    rc = uplink_wait_connected(sh.uplink, SHOPIFY_CONNECT_WAIT_MS);
    if (rc != 0 && rc != ERR_UNAVAIL)
        goto out_close;
    rc = risk_open(&sh, &sh.risk);
    if (rc != 0)
        goto out_close;
    rc = privacy_open(&sh, &sh.privacy);
    if (rc != 0)
        goto out_close;
    rc = labels_open(&sh, &sh.labels);
    if (rc != 0)
        goto out_close;
    rc = http_start(&sh, &sh.http);
    if (rc != 0)
        goto out_close;
    signals_block(false);
    log_info("vigil-shopify %s serving POST %s on '%s' for %zu shop(s); "
             "risk assessments %s",
        VIGIL_VERSION, SHOPIFY_PATH, sh.cfg.shopify_listen,
        shops_count(sh.shops), sh.risk != NULL ? "on" : "off");

    rc = uplink_run(sh.uplink, &sig_stop);
    if (rc != 0)
        log_warnx("stopping after a socket failure: %s", err_str(rc));
    else
        log_info("stopping on signal");
    status = rc == 0 ? EXIT_OK : EXIT_FAIL;
out_close:
    shopify_close(&sh);
    /* The final counters, after every answer was given. */
    uplink_log_stats(&sh, true);
out:
    shopify_free(&sh);
    curl_global_cleanup();
    return status;
}
