/*
 * main.c - vigil-load: load generator and benchmark client for
 *          vigil-collector
 *
 * Plays a population of simulated shoppers (gen.c, world.c) against the
 * storefront endpoint over N DEALER sockets, flat out or paced to
 * --rate events/s (run.c), and reports acknowledgement latency
 * percentiles, throughput and the order decisions (report.c). This file
 * holds the command line and the start-up checklist: parse options →
 * make the generator → open the connections → probe → run → report.
 *
 * Exit status (tools/vigil-load.1): 0 the run completed; 1 a reply was
 * malformed, or with --strict an event was rejected (busy aside) or timed
 * out; 2 usage or environment error (bad option or endpoint, no answer).
 *
 * Invariants:
 *  - every exit after start-up goes through one cleanup path, which
 *    wipes the frames and identities the run held.
 *
 * See also: tools/vigil-load.1, load.h, tests/bench/README.md
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/compiler.h"
#include "common/err.h"
#include "common/text.h"
#include "common/toolopt.h"
#include "common/log.h"
#include "common/sig.h"
#include "common/sfproto.h"
#include "tools/vigil-load/gen.h"
#include "tools/vigil-load/load.h"

#define DEFAULT_INFLIGHT 64   /* requests per connection, at most ... */
#define INFLIGHT_EVENTS  2048 /* ... and about this many events */

/* Exit statuses. */
enum {
    EXIT_DONE = 0,
    EXIT_DATA = 1,                /* malformed replies; with --strict, errors */
    EXIT_USAGE = TOOL_EXIT_USAGE, /* usage or environment error */
};

/* ------------------------------------------------------------ options */

NORETURN static void
usage(void)
{
    tool_usage(
        "usage: " LOAD_PROGNAME
        " [--endpoint E] [--cert FILE] [--server-key KEY|FILE]\n"
        "       [--keys-dir DIR] [--insecure-dev] [--connections N] [--batch B]\n"
        "       [--rate R] [--duration S] [--events N] [--fraud-share F]\n"
        "       [--seed N] [--inflight N] [--timeout S] [--show N]\n"
        "       [--orders-only] [--json] [--quiet] [--strict] [--req]\n"
        "       [--dry-run]\n");
}

static void
parse_args(int argc, char **argv, struct load_opts *o)
{
    static const struct option lopts[] = {
        { "batch", required_argument, NULL, 'b' },
        { "connections", required_argument, NULL, 'c' },
        { "duration", required_argument, NULL, 'd' },
        { "endpoint", required_argument, NULL, 'e' },
        { "fraud-share", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "inflight", required_argument, NULL, 'i' },
        { "json", no_argument, NULL, 'j' },
        { "events", required_argument, NULL, 'n' },
        { "orders-only", no_argument, NULL, 'o' },
        { "quiet", no_argument, NULL, 'q' },
        { "rate", required_argument, NULL, 'r' },
        { "req", no_argument, NULL, 'R' },
        { "seed", required_argument, NULL, 's' },
        { "show", required_argument, NULL, 'S' },
        { "strict", no_argument, NULL, 'x' },
        { "timeout", required_argument, NULL, 't' },
        { "dry-run", no_argument, NULL, 'D' },
        { "cert", required_argument, NULL, 'C' },
        { "server-key", required_argument, NULL, 'K' },
        { "keys-dir", required_argument, NULL, 'k' },
        { "insecure-dev", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->conn.endpoint = "tcp://127.0.0.1:7010";
    o->connections = 1;
    o->batch = 1;
    o->duration = 10;
    o->fraud_share = 0.05;
    o->seed = 1;
    o->inflight = 0;
    o->timeout = 5;

    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o->batch = (unsigned)tool_opt_u64(
                LOAD_PROGNAME, "batch", optarg, 1, SFPROTO_MAX_BATCH);
            break;
        case 'c':
            o->connections = (unsigned)tool_opt_u64(
                LOAD_PROGNAME, "connections", optarg, 1, LOAD_MAX_CONNECTIONS);
            break;
        case 'd':
            o->duration = tool_opt_double(LOAD_PROGNAME, "duration", optarg,
                0.01, 86400, "must be 0.01..86400 seconds");
            break;
        case 'e':
            o->conn.endpoint = optarg;
            break;
        case 'f':
            o->fraud_share = tool_opt_double(
                LOAD_PROGNAME, "fraud-share", optarg, 0, 1, "must be 0..1");
            break;
        case 'i':
            o->inflight = (unsigned)tool_opt_u64(
                LOAD_PROGNAME, "inflight", optarg, 1, LOAD_MAX_INFLIGHT);
            break;
        case 'j':
            o->json = true;
            break;
        case 'n':
            if (!text_parse_u64(optarg, 1, UINT64_MAX / 2, &o->max_events))
                tool_bad_opt(LOAD_PROGNAME, "events", optarg,
                    "must be a positive count");
            break;
        case 'o':
            o->orders_only = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'r':
            o->rate = tool_opt_double(LOAD_PROGNAME, "rate", optarg, 0, 1e8,
                "must be 0 (flat out) or events/s");
            break;
        case 'R':
            o->envelope = true;
            break;
        case 's':
            o->seed =
                tool_opt_u64(LOAD_PROGNAME, "seed", optarg, 0, UINT64_MAX);
            break;
        case 'S':
            o->show = (unsigned)tool_opt_u64(
                LOAD_PROGNAME, "show", optarg, 0, LOAD_MAX_SHOW);
            break;
        case 't':
            o->timeout = tool_opt_double(LOAD_PROGNAME, "timeout", optarg, 0.01,
                600, "must be 0.01..600 seconds");
            break;
        case 'x':
            o->strict = true;
            break;
        case 'D':
            o->dry_run = true;
            break;
        case 'C':
            o->conn.cert = optarg;
            break;
        case 'K':
            o->conn.server_key = optarg;
            break;
        case 'k':
            o->conn.keys_dir = optarg;
            break;
        case 'I':
            o->conn.insecure = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    if (o->inflight == 0) {
        /* Deep enough to keep a group-committing service busy, shallow
         * enough that big batches do not queue for seconds. */
        o->inflight = INFLIGHT_EVENTS / o->batch;
        if (o->inflight > DEFAULT_INFLIGHT)
            o->inflight = DEFAULT_INFLIGHT;
        if (o->inflight < 2)
            o->inflight = 2;
    }
}

/* --------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
    static struct load_stats st;
    struct load_opts o;
    struct gen *g;
    struct run *r;
    uint64_t elapsed = 0;
    int rc, status = EXIT_DONE;

    log_init(LOAD_PROGNAME, true);
    parse_args(argc, argv, &o);
    if (sodium_init() < 0) {
        fprintf(stderr, LOAD_PROGNAME ": sodium_init failed\n");
        return EXIT_USAGE;
    }
    g = gen_new(o.seed, o.fraud_share, o.orders_only);
    r = run_new(&o, g, &st);
    sig_install(false);

    if (o.dry_run) {
        run_dry(r, &elapsed);
        if (report_summary(&o, &st, g, run_connections(r), elapsed) != 0)
            status = EXIT_USAGE;
        goto done;
    }
    rc = run_open(r);
    if (rc != 0) {
        status = EXIT_USAGE;
        goto done;
    }
    rc = run_probe(r);
    if (rc != 0) {
        status = rc == ERR_MALFORMED ? EXIT_DATA : EXIT_USAGE;
        goto done;
    }
    rc = run_loop(r, &elapsed);
    if (report_summary(&o, &st, g, run_connections(r), elapsed) != 0)
        rc = ERR_IO;
    if (rc != 0)
        status = EXIT_USAGE;
    else if (st.malformed > 0)
        status = EXIT_DATA;
    else if (o.strict && st.rejected - st.busy + st.timeouts + st.lost > 0)
        /* busy is the service's flow control (nothing stored; a
         * storefront resends after retry_after_ms), not an error. */
        status = EXIT_DATA;

done:
    run_free(r);
    gen_free(g);
    return status;
}
