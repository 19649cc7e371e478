/*
 * collector.c - vigil-collector: main() and the start-up checklist
 *
 * The edge of Vigil. Binds the storefront endpoint (ROUTER), connects a
 * DEALER to the scorer's ipc:// endpoint in the data directory, and runs
 * one single-threaded poll loop that hands frames to ingest.c. Stores no
 * personal data: raw identifiers are pseudonymized and wiped in the
 * same call that decoded them.
 *
 * Start-up reads top to bottom: parse arguments -> load and check the
 * config -> refuse plain non-local endpoints -> open the data directory,
 * the pseudonym key and the sockets -> loop until SIGINT/SIGTERM.
 *
 * Invariants:
 *  - never forks: supervisors and tests keep the pid; without -d the
 *    process still runs in the foreground but logs to syslog.
 *  - every exit path after the key is loaded closes it (wipes it).
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

#include "collector/ingest.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/ipcproto.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/zsock.h"

#define COLLECTOR_NAME "vigil-collector"
/* Most -o overrides on one command line. */
/* Largest storefront frame libzmq accepts; larger drops the connection. */
#define COLLECTOR_MAXMSGSIZE (1024 * 1024)
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
    struct pseudo_key *key;        /* the pseudonym key, read-only memory */
    void *ctx;                     /* libzmq context */
    void *front;                   /* ROUTER bound to events_endpoint */
    void *back;                    /* DEALER connected to the scorer */
    struct ingest *ingest;         /* the request path */
    char scorer_ep[PATH_MAX + 16]; /* ipc://<data_dir>/scorer.ipc */
};

static volatile sig_atomic_t collector_stop;

static void
collector_on_signal(int sig)
{
    (void)sig;
    collector_stop = 1;
}

/* Create the data directory if needed and load (or create) the key. */
static int
open_key(struct collector *c)
{
    char path[PATH_MAX];
    int rc;

    rc = cfg_make_data_dir(&c->cfg);
    if (rc != 0)
        return rc;
    rc = cfg_path(&c->cfg, PSEUDO_KEY_FILE, path, sizeof(path));
    if (rc != 0) {
        log_warnx("data_dir '%s' is too long", c->cfg.data_dir);
        return rc;
    }
    return pseudo_key_open(path, true, &c->key);
}

/* Open the context, bind the storefront ROUTER, connect the DEALER. */
static int
open_sockets(struct collector *c)
{
    int rc;

    c->ctx = zsock_ctx_new();
    if (c->ctx == NULL)
        return ERR_IO;
    rc = zsock_open(c->ctx, ZSOCK_ROUTER, &c->front);
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
    rc = zsock_open(c->ctx, ZSOCK_DEALER, &c->back);
    if (rc != 0)
        return rc;
    rc = zsock_setopt_i64(c->back, ZSOCK_OPT_MAXMSGSIZE, IPCPROTO_MAX_BYTES);
    if (rc != 0)
        return rc;
    return zsock_connect(c->back, c->scorer_ep);
}

static void
install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = collector_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: zsock_poll must return EINTR so the loop sees it. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Serve until a signal or a socket failure. Returns 0 or an ERR_*. */
static int
run_loop(struct collector *c)
{
    struct zsock_pollitem items[2];
    uint64_t next_stats = clock_mono_ms() + COLLECTOR_STATS_MS;
    int rc = 0;

    memset(items, 0, sizeof(items));
    items[0].sock = c->back;
    items[0].events = ZSOCK_POLLIN;
    items[1].sock = c->front;
    items[1].events = ZSOCK_POLLIN;
    while (!collector_stop) {
        long wait = ingest_expire(c->ingest);
        uint64_t now;

        if (wait < 0 || wait > COLLECTOR_POLL_MS)
            wait = COLLECTOR_POLL_MS;
        rc = zsock_poll(items, 2, wait, NULL);
        if (rc == ERR_AGAIN) {
            rc = 0; /* a signal: the loop condition decides */
            continue;
        }
        if (rc != 0)
            break;
        /* Scorer replies first: they free pending slots. */
        if (items[0].revents & ZSOCK_POLLIN) {
            rc = ingest_on_back(c->ingest);
            if (rc != 0)
                break;
        }
        if (items[1].revents & ZSOCK_POLLIN) {
            rc = ingest_on_front(c->ingest);
            if (rc != 0)
                break;
        }
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

static void
collector_close(struct collector *c)
{
    if (c->ingest != NULL) {
        ingest_drain(c->ingest);
        ingest_log_stats(c->ingest, true);
        ingest_free(c->ingest);
        c->ingest = NULL;
    }
    zsock_close(c->back);
    zsock_close(c->front);
    zsock_ctx_term(c->ctx);
    pseudo_key_close(c->key);
    cfg_release(&c->cfg);
    memset(c, 0, sizeof(*c));
}

int
main(int argc, char **argv)
{
    struct cfg_args args;
    struct collector c;
    char err[512];
    int rc;

    memset(&c, 0, sizeof(c));
    cfg_parse_args(argc, argv, COLLECTOR_NAME, &args);
    log_init(COLLECTOR_NAME, args.foreground || args.check_only);
    log_setverbose(args.verbose);

    rc = cfg_load(&c.cfg, &args, err, sizeof(err));
    if (args.check_only) {
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", COLLECTOR_NAME, err);
            cfg_release(&c.cfg);
            return COLLECTOR_EXIT_FAIL;
        }
        if (args.verbose > 0)
            cfg_print(&c.cfg, stdout);
        fprintf(stderr, "%s: configuration OK\n", COLLECTOR_NAME);
        cfg_release(&c.cfg);
        return COLLECTOR_EXIT_OK;
    }
    if (rc != 0) {
        log_warnx("bad configuration: %s", err);
        cfg_release(&c.cfg);
        return COLLECTOR_EXIT_FAIL;
    }
    if (!cfg_endpoint_is_local(c.cfg.events_endpoint))
        log_warnx("insecure_dev: serving '%s' off this machine WITHOUT "
                  "encryption or authentication",
            c.cfg.events_endpoint);

    rc = open_key(&c);
    if (rc != 0) {
        log_warnx("cannot load the pseudonym key: %s", err_str(rc));
        goto fail;
    }
    rc = open_sockets(&c);
    if (rc != 0) {
        log_warnx("cannot open the sockets: %s", err_str(rc));
        goto fail;
    }
    c.ingest = ingest_new(c.front, c.back, c.key, c.cfg.request_timeout_ms);
    install_signals();
    log_info("collector %s listening on '%s', scorer at '%s'", VIGIL_VERSION,
        c.cfg.events_endpoint, c.scorer_ep);

    rc = run_loop(&c);
    if (rc != 0) {
        log_warnx("stopping after a socket failure: %s", err_str(rc));
        goto fail;
    }
    log_info("stopping on signal");
    collector_close(&c);
    return COLLECTOR_EXIT_OK;
fail:
    collector_close(&c);
    return COLLECTOR_EXIT_FAIL;
}
