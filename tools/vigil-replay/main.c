/*
 * main.c - vigil-replay: replay a labelled fraud data set through the
 *          running collector and measure the scores it gets back
 *
 * Every row of the data set (one user, one order) becomes an
 * account.signup, a device.seen, an order.placed and, --label-delay
 * days after the purchase, a label (stream.c); the events go to the
 * storefront endpoint in event-time order, as fast as the service
 * answers (send*.c); the replies' scores and decisions are written to
 * --out and measured against the labels (report.c). The start-up
 * checklist: parse options -> check the country table -> read the data
 * and the ranges -> build the stream -> open the connections -> probe ->
 * replay -> write the CSV -> report.
 *
 * Exit status (tools/vigil-replay.1): 0 the replay completed and every
 * event was accepted; 1 a data problem (a bad input line, events
 * rejected, timed out or answered by malformed replies); 2 usage or
 * environment error (bad option, unreadable file, no collector).
 *
 * Invariants:
 *  - every exit after start-up goes through one cleanup path, which
 *    wipes the frames the run held.
 *
 * See also: tools/vigil-replay.1, replay.h
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

#include "common/cert.h"
#include "common/err.h"
#include "common/text.h"
#include "common/toolopt.h"
#include "common/log.h"
#include "common/sfproto.h"
#include "common/sig.h"
#include "common/xmalloc.h"
#include "common/zauth.h"
#include "tools/vigil-replay/replay.h"

/* Events in flight over all connections, by default: deep enough to keep
 * the scorer's group commit busy, shallow enough not to queue seconds. */
#define INFLIGHT_EVENTS 2048

enum {
    EXIT_DONE = 0,
    EXIT_DATA = 1,
    EXIT_USAGE = TOOL_EXIT_USAGE,
};

NORETURN static void
usage(void)
{
    tool_usage(
        "usage: " REPLAY_PROGNAME " --fraud-data FILE --out FILE\n"
        "       [--ip-country FILE] [--label-delay DAYS] [--endpoint E]\n"
        "       [--query-endpoint E] [--cert FILE] [--analyst-cert FILE]\n"
        "       [--server-key KEY|FILE] [--keys-dir DIR] [--insecure-dev]\n"
        "       [--storefront NAME] [--holdout FRACTION [--split-seed S]]\n"
        "       [--connections N] [--batch B] [--inflight N]\n"
        "       [--label-inflight N] [--timeout S] [--trace FILE]\n"
        "       [--dry-run] [--quiet]\n");
}

static void
parse_args(int argc, char **argv, struct replay_opts *o)
{
    static const struct option lopts[] = {
        { "analyst-cert", required_argument, NULL, 'A' },
        { "batch", required_argument, NULL, 'b' },
        { "cert", required_argument, NULL, 'C' },
        { "connections", required_argument, NULL, 'c' },
        { "dry-run", no_argument, NULL, 'D' },
        { "endpoint", required_argument, NULL, 'e' },
        { "fraud-data", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { "holdout", required_argument, NULL, 'H' },
        { "inflight", required_argument, NULL, 'i' },
        { "insecure-dev", no_argument, NULL, 'N' },
        { "ip-country", required_argument, NULL, 'I' },
        { "keys-dir", required_argument, NULL, 'k' },
        { "label-inflight", required_argument, NULL, 'L' },
        { "label-delay", required_argument, NULL, 'l' },
        { "out", required_argument, NULL, 'o' },
        { "query-endpoint", required_argument, NULL, 'Q' },
        { "quiet", no_argument, NULL, 'q' },
        { "server-key", required_argument, NULL, 'K' },
        { "split-seed", required_argument, NULL, 's' },
        { "storefront", required_argument, NULL, 'S' },
        { "timeout", required_argument, NULL, 't' },
        { "trace", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    bool have_seed = false;
    double days;
    int ch;

    memset(o, 0, sizeof(*o));
    o->conn.endpoint = "tcp://127.0.0.1:7010";
    o->qconn.endpoint = "tcp://127.0.0.1:7011";
    o->label_inflight = REPLAY_LABEL_INFLIGHT;
    o->label_delay_ms = 30 * REPLAY_MS_PER_DAY;
    o->holdout = -1;
    o->connections = 1;
    o->batch = 200;
    o->inflight = 0;
    o->timeout = 30;

    while ((ch = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'A':
            o->qconn.cert = optarg;
            break;
        case 'b':
            o->batch = (unsigned)tool_opt_u64(
                REPLAY_PROGNAME, "batch", optarg, 1, SFPROTO_MAX_BATCH);
            break;
        case 'C':
            o->conn.cert = optarg;
            break;
        case 'c':
            o->connections = (unsigned)tool_opt_u64(REPLAY_PROGNAME,
                "connections", optarg, 1, REPLAY_MAX_CONNECTIONS);
            break;
        case 'D':
            o->dry_run = true;
            break;
        case 'e':
            o->conn.endpoint = optarg;
            break;
        case 'f':
            o->fraud_data = optarg;
            break;
        case 'H':
            o->holdout = tool_opt_double(REPLAY_PROGNAME, "holdout", optarg, 0,
                1, "must be a fraction 0..1");
            break;
        case 'i':
            o->inflight = (unsigned)tool_opt_u64(
                REPLAY_PROGNAME, "inflight", optarg, 1, REPLAY_MAX_INFLIGHT);
            break;
        case 'I':
            o->ip_country = optarg;
            break;
        case 'k':
            o->conn.keys_dir = optarg;
            break;
        case 'L':
            o->label_inflight = (unsigned)tool_opt_u64(REPLAY_PROGNAME,
                "label-inflight", optarg, 1, REPLAY_MAX_LABEL_INFLIGHT);
            break;
        case 'N':
            o->conn.insecure = true;
            break;
        case 'Q':
            o->qconn.endpoint = optarg;
            break;
        case 'S':
            o->storefront = optarg;
            break;
        case 'l':
            days = tool_opt_double(REPLAY_PROGNAME, "label-delay", optarg, 0,
                3650, "must be 0..3650 days");
            o->label_delay_ms =
                (uint64_t)llround(days * (double)REPLAY_MS_PER_DAY);
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'K':
            o->conn.server_key = optarg;
            break;
        case 's':
            o->split_seed = tool_opt_u64(
                REPLAY_PROGNAME, "split-seed", optarg, 0, UINT64_MAX);
            have_seed = true;
            break;
        case 't':
            o->timeout = tool_opt_double(REPLAY_PROGNAME, "timeout", optarg,
                0.1, 3600, "must be 0.1..3600 seconds");
            break;
        case 'T':
            o->trace = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || o->fraud_data == NULL || o->out == NULL)
        usage();
    /* The analyst's connection: the same server key, keys, mode. */
    o->qconn.server_key = o->conn.server_key;
    o->qconn.keys_dir = o->conn.keys_dir;
    o->qconn.insecure = o->conn.insecure;
    if (o->inflight == 0) {
        o->inflight = INFLIGHT_EVENTS / (o->batch * o->connections);
        if (o->inflight < 2)
            o->inflight = 2;
        if (o->inflight > 64)
            o->inflight = 64;
    }
    if (have_seed && o->holdout < 0) {
        fprintf(stderr, REPLAY_PROGNAME ": --split-seed needs --holdout\n");
        exit(EXIT_USAGE);
    }
}

/*
 * Whose ids the labels name: --storefront, else the name the storefront
 * certificate carries (what the collector stamps on its events), else,
 * with --insecure-dev, the name every plain client gets
 * (ZAUTH_INSECURE_NAME).
 * Labels need the analyst's certificate. Exits 2 when either is missing.
 */
static void
resolve_label_identity(struct replay_opts *o)
{
    const char *cert = o->conn.cert;
    struct cert c;
    char err[256];

    if (o->dry_run) {
        if (o->storefront == NULL)
            o->storefront = "storefront";
        return;
    }
    if (!o->conn.insecure && o->qconn.cert == NULL) {
        fprintf(stderr,
            REPLAY_PROGNAME ": labels go to the scorer's query endpoint as "
                            "the fraud team's: give --analyst-cert FILE (a "
                            "client of role analyst)\n");
        exit(EXIT_USAGE);
    }
    if (o->storefront != NULL)
        return;
    if (o->conn.insecure) {
        o->storefront = ZAUTH_INSECURE_NAME;
        return;
    }
    if (cert == NULL)
        cert = getenv("VIGIL_CERT");
    if (cert == NULL || cert_load(cert, &c, NULL, err, sizeof(err)) != 0 ||
        c.name[0] == '\0') {
        fprintf(stderr,
            REPLAY_PROGNAME ": cannot tell the storefront's name from its "
                            "certificate%s%s: give --storefront NAME\n",
            cert != NULL ? ": " : "", cert != NULL ? err : "");
        exit(EXIT_USAGE);
    }
    /* Static: o->storefront may also point into argv (no owner). */
    static char name[sizeof(c.name)];

    memcpy(name, c.name, sizeof(name));
    o->storefront = name;
}

int
main(int argc, char **argv)
{
    static struct replay_stats st;
    struct replay_opts o;
    struct replay_data d;
    struct sender *s = NULL;
    const char *why;
    char err[512];
    uint64_t elapsed = 0;
    int rc, status = EXIT_DONE;

    log_init(REPLAY_PROGNAME, true);
    parse_args(argc, argv, &o);
    if (sodium_init() < 0) {
        fprintf(stderr, REPLAY_PROGNAME ": sodium_init failed\n");
        return EXIT_USAGE;
    }
    why = country_check();
    if (why != NULL)
        fatalx("invariant: the country table: %s", why);
    memset(&d, 0, sizeof(d));
    rc = input_rows(o.fraud_data, &d, err, sizeof(err));
    if (rc == 0 && o.ip_country != NULL)
        rc = input_countries(o.ip_country, &d, err, sizeof(err));
    if (rc == 0)
        rc = stream_build(&d, &o, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, REPLAY_PROGNAME ": %s\n", err);
        status = rc == ERR_NOTFOUND || rc == ERR_IO ? EXIT_USAGE : EXIT_DATA;
        goto done;
    }
    resolve_label_identity(&o);
    s = sender_new(&o, &d, &st);
    sig_install(false);
    rc = sender_open(s);
    if (rc != 0) {
        status = EXIT_USAGE;
        goto done;
    }
    if (o.dry_run) {
        sender_dry(s, &elapsed);
    } else {
        rc = sender_probe(s);
        if (rc != 0) {
            status = rc == ERR_MALFORMED ? EXIT_DATA : EXIT_USAGE;
            goto done;
        }
        rc = sender_run(s, &elapsed);
        if (rc != 0)
            status = EXIT_USAGE;
    }
    if (report_csv(&o, &d) != 0)
        status = EXIT_USAGE;
    report_summary(&o, &d, &st, elapsed);
    if (status == EXIT_DONE && !o.dry_run &&
        (st.rejected + st.timeouts + st.lost + st.malformed > 0 ||
            st.answered < st.sent))
        status = EXIT_DATA;
done:
    sender_free(s);
    free(d.rows);
    free(d.evs);
    return status;
}
