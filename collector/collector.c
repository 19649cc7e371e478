/*
 * collector.c - vigil-collector: main() and the start-up checklist
 *
 * The edge of Vigil. Binds the storefront endpoint (ROUTER), connects two
 * DEALERs to the scorer's ipc:// endpoint in the data directory (one for
 * batches, one for the order fast lane: ipcproto.h), and runs
 * one single-threaded poll loop that hands frames to ingest.c. Stores no
 * personal data: raw identifiers are pseudonymized and wiped in the
 * same call that decoded them.
 *
 * Start-up reads top to bottom: parse arguments -> harden the process
 * (umask 077, no core dumps) -> load and check the config -> as root,
 * make the keys and data directories the service user's, and drop to
 * that user -> open the keys directory (certificates, pseudonym key) ->
 * start the ZAP handler -> bind the storefront ROUTER (CURVE; plain only
 * with insecure_dev, loopback only) and connect the DEALERs to the scorer
 * (CURVE, as the collector) -> serve /metrics (collector_metrics) ->
 * loop until SIGINT or SIGTERM; SIGHUP reloads the allow-list and the
 * live configuration keys (quotas, window, queue and timeouts). On
 * SIGTERM the collector stops reading storefronts, answers what is
 * still queued "shutdown", waits (at most shutdown_timeout_ms) for the
 * scorer's replies to what it sent, and exits 0.
 *
 * Invariants:
 *  - never forks: supervisors and tests keep the pid; without -d the
 *    process still runs in the foreground but logs to syslog.
 *  - every exit path after the keys are loaded closes them (wipes them).
 *  - the storefront an event is from is the name its CURVE key has in
 *    the allow-list, never anything the frame says.
 *
 * See also: collector/collector.8, collector/ingest.h, common/cfg.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "collector/ingest.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/ipcproto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/prom.h"
#include "common/promsrv.h"
#include "common/pseudo.h"
#include "common/quota.h"
#include "common/sig.h"
#include "common/zauth.h"
#include "common/zsock.h"

#define COLLECTOR_NAME "vigil-collector"
/* Largest storefront frame libzmq accepts; larger drops the connection. */
#define COLLECTOR_MAXMSGSIZE (1024 * 1024)
/* Before a failed connect to the scorer (a local link) is tried again. */
#define COLLECTOR_RECONNECT_MS 10
/* Storefront messages queued per peer before libzmq stops reading. */
#define COLLECTOR_FRONT_RCVHWM 1000
/* Seconds between two debug summaries of the counters. */
#define COLLECTOR_STATS_MS 10000
/* Longest poll wait, so the stats timer and signals are seen. */
#define COLLECTOR_POLL_MS 1000

/* Exit statuses (collector.8 "EXIT STATUS"). */
#define COLLECTOR_EXIT_OK   0
#define COLLECTOR_EXIT_FAIL 1 /* bad config, start-up or run failure */

/* The process state, owned by main(). */
struct collector {
    struct vigil_config cfg;       /* loaded and checked */
    struct keys keys;              /* certificates and the pseudonym key */
    struct zauth *zauth;           /* the ZAP handler (allow-list) */
    void *ctx;                     /* libzmq context */
    void *front;                   /* ROUTER bound to events_endpoint */
    void *back;                    /* DEALER connected to the scorer */
    void *back_mon;                /* back's lost connections (zsock) */
    void *fast;                    /* DEALER to the scorer, fast lane */
    void *fast_mon;                /* fast's lost connections */
    struct ingest *ingest;         /* the request path */
    char scorer_ep[PATH_MAX + 16]; /* ipc://<data_dir>/scorer.ipc */
    struct cfgtab_args args;       /* the command line, for SIGHUP */
    struct quota_config quotas;    /* from cfg quota_* */
    struct prom *reg;              /* the metrics registry; owned */
    struct promsrv *metrics;       /* /metrics, or NULL; owned */
    struct prom_series *start_time, *rss, *build;
};

/* Open (creating on first start) the keys directory. */
static int
open_keys(struct collector *c)
{
    char err[512];
    int rc;

    rc = keys_open(
        c->cfg.keys_dir, c->cfg.clients_dir, true, &c->keys, err, sizeof(err));
    if (rc != 0)
        log_warnx("keys: %s", err);
    return rc;
}

/*
 * Open a DEALER to the scorer as this collector (CURVE), with the routing
 * id `id` (len bytes) when not NULL, watched by monitor `monname`.
 */
static int
open_scorer_dealer(struct collector *c, const uint8_t *id, size_t len,
    const char *monname, void **sock, void **mon)
{
    int rc;

    rc = zsock_open(c->ctx, ZSOCK_DEALER, sock);
    if (rc != 0)
        return rc;
    rc = zsock_setopt_i64(*sock, ZSOCK_OPT_MAXMSGSIZE, IPCPROTO_MAX_BYTES);
    /* A local link: try a failed connect again after 10 ms, not
     * libzmq's 100. Started beside the scorer, the collector's first
     * connects fail until the scorer binds; at 100 ms a fresh service's
     * first orders (the fast lane's first messages) waited 20-30 ms. */
    if (rc == 0)
        rc = zsock_setopt_int(
            *sock, ZSOCK_OPT_RECONNECT_IVL, COLLECTOR_RECONNECT_MS);
    if (rc == 0 && id != NULL)
        rc = zsock_set_routing_id(*sock, id, len);
    /* The scorer takes the storefront name from this link only because
     * the link is authenticated: CURVE, as the collector. */
    if (rc == 0)
        rc = zsock_curve_client(*sock, c->keys.server.pub,
            c->keys.collector.pub, cert_secret_key(c->keys.collector_secret));
    if (rc == 0)
        rc = zsock_monitor_open(c->ctx, *sock, monname, mon);
    if (rc == 0)
        rc = zsock_connect(*sock, c->scorer_ep);
    return rc;
}

/* Open the context, bind the storefront ROUTER, connect the DEALERs. */
static int
open_sockets(struct collector *c)
{
    uint8_t fast_id[IPCPROTO_FAST_ID_BYTES];
    int rc;

    struct zauth_config zc = { c->keys.clients_dir, NULL, ZAUTH_STOREFRONT,
        c->cfg.insecure_dev ? "storefront" : NULL };

    c->ctx = zsock_ctx_new();
    if (c->ctx == NULL)
        return ERR_IO;
    /* The ZAP handler binds first: a CURVE socket with no handler would
     * refuse everyone (ZAP_ENFORCE_DOMAIN). */
    rc = zauth_start(c->ctx, &zc, &c->zauth);
    if (rc != 0)
        return rc;
    rc = zsock_open(c->ctx, ZSOCK_ROUTER, &c->front);
    if (rc != 0)
        return rc;
    if (c->cfg.insecure_dev) {
        log_warnx("insecure_dev: '%s' is plain text: storefronts are not "
                  "authenticated and their events are not encrypted",
            c->cfg.events_endpoint);
        rc = zsock_zap_plain(c->front, ZSOCK_DOMAIN_PUBLIC);
    } else {
        rc = zsock_curve_server(c->front,
            cert_secret_key(c->keys.server_secret), ZSOCK_DOMAIN_PUBLIC);
    }
    if (rc != 0)
        return rc;
    /*
     * libzmq drops the connection of a peer that sends a frame over
     * COLLECTOR_MAXMSGSIZE; frames between SFPROTO_MAX_MSG_BYTES and that
     * get a clear too_big reply from ingest.c instead.
     */
    rc = zsock_setopt_i64(c->front, ZSOCK_OPT_MAXMSGSIZE, COLLECTOR_MAXMSGSIZE);
    if (rc != 0)
        return rc;
    rc = zsock_setopt_int(c->front, ZSOCK_OPT_RCVHWM, COLLECTOR_FRONT_RCVHWM);
    if (rc != 0)
        return rc;
    rc = zsock_bind(c->front, c->cfg.events_endpoint);
    if (rc != 0)
        return rc;

    rc = cfg_scorer_ipc(&c->cfg, c->scorer_ep, sizeof(c->scorer_ep));
    if (rc != 0)
        return rc;
    rc = open_scorer_dealer(
        c, NULL, 0, "collector-back", &c->back, &c->back_mon);
    if (rc != 0)
        return rc;
    /* The order fast lane's own pipe (ipcproto.h): a routing id the
     * scorer knows by its first byte, random past it. */
    fast_id[0] = IPCPROTO_FAST_ID;
    randombytes_buf(fast_id + 1, sizeof(fast_id) - 1);
    return open_scorer_dealer(
        c, fast_id, sizeof(fast_id), "collector-fast", &c->fast, &c->fast_mon);
}

/*
 * Send the peers the ZAP handler refused to the scorer, which records
 * them in the audit log (the collector writes nothing of its own). A
 * send that fails is logged: the refusals were also logged when made.
 */
static void
forward_refusals(struct collector *c)
{
    struct zauth_refusal r[IPCPROTO_MAX_REFUSALS];
    struct iovec iov;
    struct buf out;
    size_t n;
    int rc;

    n = zauth_take_refusals(c->zauth, r, ARRAY_LEN(r));
    if (n == 0)
        return;
    buf_init(&out, IPCPROTO_MAX_BYTES);
    rc = ipcproto_refusals_encode(&out, r, n);
    if (rc == 0) {
        iov.iov_base = out.data;
        iov.iov_len = out.len;
        rc = zsock_send_parts(c->back, &iov, 1, ZSOCK_DONTWAIT);
    }
    if (rc != 0)
        log_warnx(
            "%zu refused peers not passed to the scorer: %s", n, err_str(rc));
    buf_release(&out);
}

/* The limits of the request path, from the configuration. */
static void
collector_limits(const struct collector *c, struct ingest_limits *lim)
{
    lim->timeout_ms = c->cfg.request_timeout_ms;
    lim->window_events = (uint32_t)c->cfg.collector_window_events;
    lim->queue_max = (uint32_t)c->cfg.client_queue_max;
    lim->queue_wait_ms = (uint32_t)c->cfg.queue_wait_max_ms;
    lim->busy_hold_ms = (uint32_t)c->cfg.quota_busy_hold_ms;
}

/* The storefronts' quotas from the configuration. */
static int
collector_quotas(struct collector *c)
{
    char why[256];
    int rc;

    rc = quota_config_set(&c->quotas, &c->cfg, why, sizeof(why));
    if (rc != 0)
        log_warnx("quota_clients: %s", why);
    return rc;
}

/* SIGHUP: the allow-list, then the live configuration keys. */
static void
collector_on_reload(struct collector *c)
{
    struct ingest_limits lim;
    int n;

    if (zauth_reload(c->zauth, NULL) != 0)
        log_warnx("SIGHUP: the allow-list was not reloaded");
    n = cfg_reload(&c->cfg, &c->args);
    if (n < 0)
        return;
    if (collector_quotas(c) != 0)
        log_warnx("SIGHUP: the previous quotas stay");
    collector_limits(c, &lim);
    ingest_set_limits(c->ingest, &lim);
    log_info("SIGHUP: configuration reloaded (%d live keys changed)", n);
}

/* Render /metrics (promsrv_render_cb). */
static int
collector_render(void *arg, struct buf *out)
{
    struct collector *c = arg;

    ingest_metrics_refresh(c->ingest);
    prom_set(c->rss, (double)prom_rss_bytes());
    return prom_render(c->reg, out);
}

/* Serve until a signal or a socket failure. Returns 0 or an ERR_*. */
static int
run_loop(struct collector *c)
{
    struct zsock_pollitem items[6];
    uint64_t next_stats = clock_mono_ms() + COLLECTOR_STATS_MS;
    int rc = 0;

    memset(items, 0, sizeof(items));
    items[2].sock = c->back_mon;
    items[2].events = ZSOCK_POLLIN;
    items[0].sock = c->back;
    items[0].events = ZSOCK_POLLIN;
    items[1].sock = c->front;
    items[1].events = ZSOCK_POLLIN;
    items[3].sock = c->fast;
    items[3].events = ZSOCK_POLLIN;
    items[4].sock = c->fast_mon;
    items[4].events = ZSOCK_POLLIN;
    items[5].fd = c->metrics != NULL ? promsrv_fd(c->metrics) : -1;
    items[5].events = ZSOCK_POLLIN;
    while (!sig_stop) {
        long wait = ingest_expire(c->ingest);
        uint64_t now;

        if (wait < 0 || wait > COLLECTOR_POLL_MS)
            wait = COLLECTOR_POLL_MS;
        rc = zsock_poll(items, c->metrics != NULL ? 6 : 5, wait, NULL);
        if (sig_reload) {
            sig_reload = 0;
            collector_on_reload(c);
        }
        if (c->metrics != NULL)
            promsrv_run(c->metrics);
        if (rc == ERR_AGAIN) {
            rc = 0; /* a signal: the loop condition decides */
            continue;
        }
        if (rc != 0)
            break;
        /* A scorer that went away answers nothing it was sent. */
        if ((items[2].revents | items[4].revents) & ZSOCK_POLLIN) {
            unsigned lost = 0, flost = 0;

            if ((items[2].revents & ZSOCK_POLLIN) &&
                zsock_monitor_lost(c->back_mon, &lost) != 0)
                lost = 0;
            if ((items[4].revents & ZSOCK_POLLIN) &&
                zsock_monitor_lost(c->fast_mon, &flost) != 0)
                flost = 0;
            if (lost + flost > 0)
                ingest_scorer_lost(c->ingest);
        }
        /* Scorer replies first: they free pending slots. */
        if ((items[0].revents | items[3].revents) & ZSOCK_POLLIN) {
            rc = ingest_on_back(c->ingest);
            if (rc != 0)
                break;
        }
        if (items[1].revents & ZSOCK_POLLIN) {
            rc = ingest_on_front(c->ingest);
            if (rc != 0)
                break;
        }
        forward_refusals(c);
        now = clock_mono_ms();
        if (now >= next_stats) {
            ingest_log_stats(c->ingest, false);
            next_stats = now + COLLECTOR_STATS_MS;
        }
    }
    if (rc == ERR_SHUTDOWN)
        rc = 0;
    return rc;
}

/*
 * After SIGTERM: stop reading storefronts; answer the queued requests
 * "shutdown" (they never reached the scorer: resending them is safe)
 * and wait, at most shutdown_timeout_ms, for the scorer's replies to
 * those it has, so that what it acknowledges reaches the storefronts.
 */
static void
collector_drain(struct collector *c)
{
    uint64_t end = clock_mono_ms() + (uint64_t)c->cfg.shutdown_timeout_ms;
    struct zsock_pollitem item[2];

    ingest_stop_queued(c->ingest);
    log_info("stopping: waiting for %u replies from the scorer",
        ingest_pending(c->ingest));
    memset(item, 0, sizeof(item));
    item[0].sock = c->back;
    item[0].events = ZSOCK_POLLIN;
    item[1].sock = c->fast;
    item[1].events = ZSOCK_POLLIN;
    while (!ingest_idle(c->ingest)) {
        uint64_t now = clock_mono_ms();
        long wait = ingest_expire(c->ingest);

        if (now >= end)
            break;
        if (wait < 0 || (uint64_t)wait > end - now)
            wait = (long)(end - now);
        if (zsock_poll(item, 2, wait, NULL) == ERR_SHUTDOWN)
            break;
        if (((item[0].revents | item[1].revents) & ZSOCK_POLLIN) &&
            ingest_on_back(c->ingest) != 0)
            break;
        ingest_stop_queued(c->ingest);
    }
}

static void
collector_close(struct collector *c)
{
    if (c->ingest != NULL) {
        ingest_drain(c->ingest);
        ingest_log_stats(c->ingest, true);
        ingest_free(c->ingest);
        c->ingest = NULL;
    }
    promsrv_stop(c->metrics);
    prom_free(c->reg);
    zsock_close(c->fast_mon);
    zsock_close(c->fast);
    zsock_close(c->back_mon);
    zsock_close(c->back);
    zsock_close(c->front);
    zauth_stop(c->zauth);
    zsock_ctx_term(c->ctx);
    keys_close(&c->keys);
    cfg_release(&c->cfg);
    memset(c, 0, sizeof(*c));
}

/* Load the config; with -n print it and exit. Exits on a bad config. */
static void
load_config(struct collector *c, const struct cfgtab_args *args)
{
    char err[512];
    int rc;

    c->args = *args; /* its strings are argv's: they live as long */
    rc = cfg_load(&c->cfg, args, err, sizeof(err));
    if (args->check_only) {
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", COLLECTOR_NAME, err);
            cfg_release(&c->cfg);
            exit(COLLECTOR_EXIT_FAIL);
        }
        if (args->verbose > 0)
            cfg_print(&c->cfg, stdout);
        fprintf(stderr, "%s: configuration OK\n", COLLECTOR_NAME);
        cfg_release(&c->cfg);
        exit(COLLECTOR_EXIT_OK);
    }
    if (rc != 0) {
        log_warnx("bad configuration: %s", err);
        cfg_release(&c->cfg);
        exit(COLLECTOR_EXIT_FAIL);
    }
}

/*
 * The keys and data directories (the scorer's ipc socket lives in the
 * data directory): made for the service user when missing, then
 * checked.
 */
static int
open_dirs(struct collector *c, const struct harden_user *u)
{
    char err[512];
    int rc;

    rc = harden_service_dir(c->cfg.keys_dir, u->uid, u->gid, err, sizeof(err));
    if (rc != 0) {
        log_warnx("keys_dir: %s", err);
        return rc;
    }
    rc = harden_service_dir(c->cfg.data_dir, u->uid, u->gid, err, sizeof(err));
    if (rc != 0)
        log_warnx("data_dir: %s", err);
    return rc;
}

/* The registry's own series and the /metrics endpoint, if configured. */
static int
open_metrics(struct collector *c)
{
    static const char *const version[] = { "version" };
    int rc;

    c->reg = prom_new();
    c->build = prom_get1(prom_family_add(c->reg, PROM_GAUGE, "vigil_build_info",
                             "the version running (value 1)", 1, version),
        VIGIL_VERSION);
    prom_set(c->build, 1);
    c->start_time = prom_get0(prom_family_add(c->reg, PROM_GAUGE,
        "vigil_collector_start_time_seconds",
        "when the collector started, seconds since the epoch", 0, NULL));
    prom_set(c->start_time, (double)clock_wall_ms() / 1000.0);
    c->rss = prom_get0(prom_family_add(c->reg, PROM_GAUGE,
        "vigil_collector_resident_memory_bytes",
        "resident set size of the collector", 0, NULL));
    if (c->cfg.collector_metrics[0] == '\0')
        return 0;
    rc = promsrv_start(
        c->cfg.collector_metrics, collector_render, c, &c->metrics);
    if (rc != 0) {
        log_warnx("cannot serve metrics on '%s' (collector_metrics): %s",
            c->cfg.collector_metrics, err_str(rc));
        return rc;
    }
    log_info("metrics on 'http://%s/metrics'", c->cfg.collector_metrics);
    return 0;
}

int
main(int argc, char **argv)
{
    struct cfgtab_args args;
    struct ingest_limits lim;
    struct harden_user user;
    struct collector c;
    char err[512];
    int rc;

    memset(&c, 0, sizeof(c));
    cfg_parse_args(argc, argv, COLLECTOR_NAME, &args);
    log_init(COLLECTOR_NAME, args.foreground || args.check_only);
    log_setverbose(args.verbose);
    if (harden_process() != 0)
        return COLLECTOR_EXIT_FAIL;
    crashpoint_init();
    load_config(&c, &args);
    rc = harden_user_resolve(c.cfg.user, &user, err, sizeof(err));
    if (rc != 0) {
        log_warnx("%s", err);
        goto fail;
    }
    if (geteuid() == 0 && !user.drop)
        log_warnx("running as root: set user to a dedicated account");

    /* Root's only work: the two directories, for the service user. */
    rc = open_dirs(&c, &user);
    if (rc != 0)
        goto fail;
    if (user.drop && harden_drop(user.uid, user.gid) != 0)
        goto fail;
    rc = open_keys(&c);
    if (rc != 0)
        goto fail;
    rc = open_sockets(&c);
    if (rc != 0) {
        log_warnx("cannot open the sockets: %s", err_str(rc));
        goto fail;
    }
    if (collector_quotas(&c) != 0)
        goto fail;
    rc = open_metrics(&c);
    if (rc != 0)
        goto fail;
    collector_limits(&c, &lim);
    c.ingest = ingest_new(
        c.front, c.back, c.fast, c.keys.pseudo, &lim, &c.quotas, c.reg);
    sig_install(true);
    log_info("collector %s listening on '%s' (%s), scorer at '%s'",
        VIGIL_VERSION, c.cfg.events_endpoint,
        c.cfg.insecure_dev ? "plain, insecure_dev" : "CURVE", c.scorer_ep);

    rc = run_loop(&c);
    if (rc != 0) {
        log_warnx("stopping after a socket failure: %s", err_str(rc));
        goto fail;
    }
    log_info("stopping on signal");
    collector_drain(&c);
    collector_close(&c);
    return COLLECTOR_EXIT_OK;
fail:
    collector_close(&c);
    return COLLECTOR_EXIT_FAIL;
}
