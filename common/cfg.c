/*
 * cfg.c - the configuration table shared by both daemons
 *
 * One static table (cfg_table) describes every key: its type, where it
 * is stored in struct vigil_config, its default, range and help;
 * cfgtab.c reads files and -o overrides against it, checking a key the
 * same way wherever it comes from. This file adds the daemons' own
 * rules: the cross-key checks (cfg_check), which keys SIGHUP may change,
 * the command line. Called at start-up and on SIGHUP; no hot path.
 *
 * Invariants:
 *  - every field of struct vigil_config has exactly one table entry,
 *    and scorer/scorer.conf.5 lists the same keys in the same order.
 *
 * See also: cfg.h, cfgtab.h, scorer/scorer.conf.5
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/cfg.h"
#include "common/cfgtab.h"
#include "common/err.h"
#include "common/log.h"
#include "common/quota.h"
#include "common/xmalloc.h"

/* sizeof(sockaddr_un.sun_path) on Linux, minus the NUL. */
#define CFG_IPC_PATH_MAX 107

#define CFG_STR(k, def, help)                                                  \
    {                                                                          \
#k, CFGTAB_STRING, offsetof(struct vigil_config, k), def, 0, 1, 0,     \
            help                                                               \
    }
/* A string that may be set to "" (meaning: the documented fallback). */
#define CFG_STR_EMPTY_OK(k, def, help)                                         \
    {                                                                          \
#k, CFGTAB_STRING, offsetof(struct vigil_config, k), def, 0, 0, 0,     \
            help                                                               \
    }
#define CFG_INT(k, def, lo, hi, help)                                          \
    {                                                                          \
#k, CFGTAB_INT, offsetof(struct vigil_config, k), NULL, def, lo, hi,   \
            help                                                               \
    }
#define CFG_BOOL(k, def, help)                                                 \
    {                                                                          \
#k, CFGTAB_BOOL, offsetof(struct vigil_config, k), NULL, def, 0, 1,    \
            help                                                               \
    }
/* A key that may be given up to `n` times (each value non-empty). */
#define CFG_LIST(k, n, help)                                                   \
    {                                                                          \
#k, CFGTAB_LIST, offsetof(struct vigil_config, k), "", 0, 1, n, help   \
    }

static const struct cfgtab_entry cfg_table[] = {
    CFG_STR(data_dir, "/var/lib/vigil",
        "directory of LMDB, the journal, the audit log and the ipc socket"),
    CFG_STR(keys_dir, "/etc/vigil",
        "directory of every key and certificate, apart from the data"),
    CFG_STR_EMPTY_OK(clients_dir, "",
        "allow-list of client certificates (default: keys_dir/clients)"),
    CFG_STR_EMPTY_OK(user, "vigil",
        "user to run as after start when started as root (\"\": stay)"),
    CFG_STR(events_endpoint, "tcp://127.0.0.1:7010",
        "storefront endpoint the collector binds"),
    CFG_STR(query_endpoint, "tcp://127.0.0.1:7011",
        "query endpoint the scorer binds"),
    CFG_INT(review_threshold, 50, 0, 100,
        "score at or above which an order is sent to review"),
    CFG_INT(block_threshold, 80, 0, 100,
        "score at or above which an order is blocked"),
    CFG_INT(
        batch_max, 4096, 1, 100000, "most events in one scorer group commit"),
    CFG_INT(commit_interval_ms, 200, 1, 60000,
        "longest wait before the scorer commits to LMDB, in ms"),
    CFG_INT(commit_max_events, 4000, 100, 1000000,
        "events after which the scorer commits to LMDB at once (bounds "
        "the journal tail replayed after a crash)"),
    CFG_INT(overlay_max_entries, 60000, 1000, 60000,
        "distinct keys in one uncommitted history generation at which the "
        "scorer commits to LMDB at once (bounds the overlay's and LMDB's "
        "write memory)"),
    CFG_INT(journal_segment_mb, 64, 1, 4096,
        "size of one journal segment file, in MiB"),
    CFG_INT(lmdb_map_mb, 65536, 16, 1048576,
        "LMDB map size (largest database), in MiB"),
    CFG_INT(request_timeout_ms, 10000, 100, 600000,
        "how long the collector waits for the scorer's reply, in ms"),
    CFG_BOOL(insecure_dev, 0,
        "plain-text endpoints without CURVE (loopback and ipc:// only)"),
    CFG_STR_EMPTY_OK(signing_key, "",
        "the audit log's signing key (default: keys_dir/audit-signing.key)"),
    CFG_STR_EMPTY_OK(audit_origin, "",
        "origin of a new audit signing key (default: host name and a "
        "random suffix)"),
    CFG_INT(checkpoint_records, 10000, 1, 100000000,
        "audit records after which the scorer signs a checkpoint"),
    CFG_INT(checkpoint_interval_ms, 1000, 10, 3600000,
        "longest wait before new audit records get a checkpoint, in ms"),
    CFG_INT(head_interval_ms, 0, 0, 10000,
        "least time between two signed heads of the audit log, in ms (0: "
        "one per group commit: every acknowledged record is signed)"),
    CFG_INT(retention_days_account, 365, 1, 36500,
        "days an account's history (and link list) is kept after its last "
        "event"),
    CFG_INT(retention_days_device, 365, 1, 36500,
        "days a device's history is kept after its last event"),
    CFG_INT(retention_days_ip, 365, 1, 36500,
        "days an IP address's and IP prefix's history is kept after its "
        "last event"),
    CFG_INT(retention_days_payment, 365, 1, 36500,
        "days a card's history is kept after its last event"),
    CFG_INT(retention_days_contact, 365, 1, 36500,
        "days an email's history is kept after its last event"),
    CFG_INT(retention_days_order, 365, 1, 36500,
        "days an order record is kept after its time"),
    CFG_INT(dedup_window_s, 86400, 1, 31536000,
        "seconds a stored reply answers a resent event id, from its "
        "arrival (after that the id is new again)"),
    CFG_INT(retention_step_keys, 256, 1, 100000,
        "history keys one retention step examines (one step between "
        "two polls of the main loop)"),
    CFG_INT(retention_step_ms, 100, 1, 3600000,
        "ms between two retention steps of a pass"),
    CFG_INT(retention_pass_ms, 600000, 10, 86400000,
        "ms between the end of a retention pass and the next"),
    CFG_STR_EMPTY_OK(collector_metrics, "127.0.0.1:7014",
        "HOST:PORT of the collector's /metrics endpoint (\"\": none)"),
    CFG_STR_EMPTY_OK(scorer_metrics, "127.0.0.1:7015",
        "HOST:PORT of the scorer's /metrics endpoint (\"\": none)"),
    CFG_INT(quota_events_per_s, 0, 0, 10000000,
        "events per second one storefront may send (0: no limit)"),
    CFG_INT(quota_events_burst, 0, 0, 100000000,
        "events a storefront may send at once above its rate (0: one "
        "second's worth)"),
    CFG_INT(quota_queries_per_s, 200, 0, 1000000,
        "queries per second one client may ask (0: no limit)"),
    CFG_INT(quota_queries_burst, 400, 0, 10000000,
        "queries a client may ask at once above its rate (0: one "
        "second's worth)"),
    CFG_STR_EMPTY_OK(quota_clients, "",
        "per-client quotas: NAME:EVENTS/S:BURST:QUERIES/S:BURST, space "
        "separated"),
    CFG_INT(collector_window_events, 1024, 1, 100000,
        "events a collector keeps in flight to the scorer, at most"),
    CFG_INT(client_queue_max, 256, 1, 16384,
        "requests of one storefront queued in the collector before busy"),
    CFG_INT(quota_busy_hold_ms, 100, 0, 1000,
        "ms a storefront that resends before its quota's retry_after_ms "
        "waits for its next busy replies, at most (0: answered at once)"),
    CFG_INT(queue_wait_max_ms, 50, 0, 60000,
        "ms a new request of a storefront would wait behind its queue, at "
        "most, before it is answered busy (0: no bound)"),
    CFG_INT(disk_min_free_mb, 256, 0, 10000000,
        "free MiB under which the scorer refuses new events (full)"),
    CFG_INT(lmdb_map_full_pct, 90, 10, 100,
        "LMDB map use, in percent, above which new events are refused"),
    CFG_INT(lmdb_map_grow_pct, 80, 10, 100,
        "LMDB map use, in percent, at which the map grows a step"),
    CFG_INT(lmdb_map_step_mb, 4096, 0, 1048576,
        "MiB the LMDB map grows by at a time (0: never grows)"),
    CFG_INT(lmdb_map_max_mb, 0, 0, 2147483647,
        "largest LMDB map in MiB the scorer grows to (0: as the disk "
        "allows)"),
    CFG_INT(shutdown_timeout_ms, 10000, 100, 600000,
        "longest a daemon takes to drain and stop on SIGTERM, in ms"),
    CFG_STR_EMPTY_OK(model_file, "",
        "the fraud model file (\"\": the default model shipped with Vigil; "
        "\"none\": the rule set alone)"),
    CFG_STR_EMPTY_OK(features_log, "",
        "file the scorer appends each scored order's model features and "
        "each label to, for training (\"\": none)"),
    CFG_LIST(witness, CFG_MAX_WITNESSES,
        "a witness to push checkpoints to: '<URL> <vkey>' (repeatable)"),
};

static const struct cfgtab cfg_tab = { cfg_table, ARRAY_LEN(cfg_table) };

/*
 * The keys cfg_apply_live() changes on SIGHUP: those read afresh where
 * they are used. Every other key sizes or names something opened at
 * start (directories, endpoints, buffers, the map) and needs a restart.
 */
static const char *const cfg_live_keys[] = {
    "review_threshold",
    "block_threshold",
    "commit_interval_ms",
    "commit_max_events",
    "overlay_max_entries",
    "request_timeout_ms",
    "checkpoint_records",
    "checkpoint_interval_ms",
    "quota_events_per_s",
    "quota_events_burst",
    "quota_queries_per_s",
    "quota_queries_burst",
    "quota_clients",
    "collector_window_events",
    "client_queue_max",
    "queue_wait_max_ms",
    "quota_busy_hold_ms",
    "disk_min_free_mb",
    "lmdb_map_full_pct",
    "lmdb_map_grow_pct",
    "lmdb_map_step_mb",
    "lmdb_map_max_mb",
    "shutdown_timeout_ms",
    "model_file",
};

void
cfg_defaults(struct vigil_config *c)
{
    memset(c, 0, sizeof(*c));
    cfgtab_defaults(&cfg_tab, c);
}

void
cfg_release(struct vigil_config *c)
{
    cfgtab_release(&cfg_tab, c);
    memset(c, 0, sizeof(*c));
}

int
cfg_load_file(
    struct vigil_config *c, const char *path, char *err, size_t errlen)
{
    return cfgtab_load_file(&cfg_tab, c, path, err, errlen);
}

int
cfg_set(
    struct vigil_config *c, const char *key_eq_value, char *err, size_t errlen)
{
    return cfgtab_set(&cfg_tab, c, key_eq_value, err, errlen);
}

static bool
cfg_endpoint_scheme_ok(const char *ep)
{
    return (strncmp(ep, "tcp://", 6) == 0 && ep[6] != '\0') ||
        (strncmp(ep, "ipc://", 6) == 0 && ep[6] != '\0') ||
        (strncmp(ep, "inproc://", 9) == 0 && ep[9] != '\0');
}

/* "HOST:PORT" or "[V6]:PORT" with a port 1..65535 (or ""). */
static bool
cfg_hostport_ok(const char *v)
{
    const char *colon = strrchr(v, ':');
    char *end;
    long port;

    if (*v == '\0')
        return true;
    if (colon == NULL || colon == v || colon[1] < '0' || colon[1] > '9')
        return false;
    if (v[0] == '[' && colon[-1] != ']')
        return false;
    port = strtol(colon + 1, &end, 10);
    return *end == '\0' && port >= 1 && port <= 65535;
}

int
cfg_check(const struct vigil_config *c, char *err, size_t errlen)
{
    char why[256];

    if (c->data_dir == NULL || c->data_dir[0] == '\0') {
        snprintf(err, errlen, "data_dir must not be empty");
        return ERR_INVAL;
    }
    if (c->events_endpoint == NULL ||
        !cfg_endpoint_scheme_ok(c->events_endpoint)) {
        snprintf(err, errlen,
            "events_endpoint must be tcp://HOST:PORT, ipc://PATH or "
            "inproc://NAME");
        return ERR_INVAL;
    }
    if (c->query_endpoint == NULL ||
        !cfg_endpoint_scheme_ok(c->query_endpoint)) {
        snprintf(err, errlen,
            "query_endpoint must be tcp://HOST:PORT, ipc://PATH or "
            "inproc://NAME");
        return ERR_INVAL;
    }
    if (strcmp(c->events_endpoint, c->query_endpoint) == 0) {
        snprintf(err, errlen, "events_endpoint and query_endpoint must differ");
        return ERR_INVAL;
    }
    if (c->keys_dir == NULL || c->keys_dir[0] == '\0') {
        snprintf(err, errlen, "keys_dir must not be empty");
        return ERR_INVAL;
    }
    /* Plain sockets (no CURVE, no authentication) never leave this
     * machine (DESIGN.md promise 4). */
    if (c->insecure_dev && !cfg_endpoint_is_local(c->events_endpoint)) {
        snprintf(err, errlen,
            "events_endpoint '%s' is not on a loopback address or ipc://: "
            "insecure_dev sockets are plain text without authentication and "
            "stay on this machine",
            c->events_endpoint);
        return ERR_DENIED;
    }
    if (c->insecure_dev && !cfg_endpoint_is_local(c->query_endpoint)) {
        snprintf(err, errlen,
            "query_endpoint '%s' is not on a loopback address or ipc://: "
            "insecure_dev sockets are plain text without authentication and "
            "stay on this machine",
            c->query_endpoint);
        return ERR_DENIED;
    }
    if (c->block_threshold < c->review_threshold) {
        snprintf(err, errlen,
            "block_threshold (%d) must be >= review_threshold (%d)",
            c->block_threshold, c->review_threshold);
        return ERR_INVAL;
    }
    if (!cfg_hostport_ok(c->collector_metrics) ||
        !cfg_hostport_ok(c->scorer_metrics)) {
        snprintf(err, errlen,
            "collector_metrics and scorer_metrics must be HOST:PORT, "
            "[IPV6]:PORT or \"\"");
        return ERR_INVAL;
    }
    if (c->collector_metrics[0] != '\0' &&
        strcmp(c->collector_metrics, c->scorer_metrics) == 0) {
        snprintf(err, errlen,
            "collector_metrics and scorer_metrics must "
            "differ");
        return ERR_INVAL;
    }
    if (c->lmdb_map_step_mb > 0 &&
        c->lmdb_map_grow_pct >= c->lmdb_map_full_pct) {
        snprintf(err, errlen,
            "lmdb_map_grow_pct (%d) must be below lmdb_map_full_pct (%d): "
            "the map grows before events are refused",
            c->lmdb_map_grow_pct, c->lmdb_map_full_pct);
        return ERR_INVAL;
    }
    if (quota_parse_clients(c->quota_clients, NULL, 0, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "quota_clients: %s", why);
        return ERR_INVAL;
    }
    return 0;
}

bool
cfg_key_is_live(const char *key)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(cfg_live_keys); i++)
        if (strcmp(cfg_live_keys[i], key) == 0)
            return true;
    return false;
}

int
cfg_apply_live(struct vigil_config *run, const struct vigil_config *fresh)
{
    size_t i;
    int changed = 0;

    for (i = 0; i < cfg_tab.n; i++) {
        const struct cfgtab_entry *e = &cfg_tab.e[i];

        if (cfgtab_equal(e, run, fresh))
            continue;
        if (!cfg_key_is_live(e->key)) {
            log_warnx("SIGHUP: '%s' changed in the configuration but needs "
                      "a restart; the running value is kept",
                e->key);
            continue;
        }
        cfgtab_copy(e, run, fresh);
        log_info("SIGHUP: '%s' changed", e->key);
        changed++;
    }
    return changed;
}

int
cfg_reload(struct vigil_config *run, const struct cfg_args *a)
{
    struct vigil_config fresh;
    char err[512];
    int rc;

    rc = cfg_load(&fresh, a, err, sizeof(err));
    if (rc != 0) {
        log_warnx("SIGHUP: configuration not reloaded: %s", err);
        cfg_release(&fresh);
        return rc;
    }
    rc = cfg_apply_live(run, &fresh);
    cfg_release(&fresh);
    return rc;
}

void
cfg_print(const struct vigil_config *c, FILE *fp)
{
    cfgtab_print(&cfg_tab, c, false, fp);
}

int
cfg_signing_key_path(const struct vigil_config *c, char *out, size_t outlen)
{
    int n;

    if (c->signing_key != NULL && c->signing_key[0] != '\0')
        n = snprintf(out, outlen, "%s", c->signing_key);
    else
        n = snprintf(out, outlen, "%s/%s", c->keys_dir, CFG_SIGNING_KEY_FILE);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

int
cfg_path(
    const struct vigil_config *c, const char *name, char *out, size_t outlen)
{
    int n;

    n = snprintf(out, outlen, "%s/%s", c->data_dir, name);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

int
cfg_scorer_ipc(const struct vigil_config *c, char *out, size_t len)
{
    char real[PATH_MAX];
    int n;

    if (realpath(c->data_dir, real) == NULL) {
        log_warn(
            "%s: cannot resolve data directory '%s'", __func__, c->data_dir);
        return ERR_IO;
    }
    n = snprintf(out, len, "ipc://%s/scorer.ipc", real);
    if (n < 0 || (size_t)n >= len) {
        if (len > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    if ((size_t)n - strlen("ipc://") > CFG_IPC_PATH_MAX) {
        log_warnx("%s: socket path under '%s' is longer than %d bytes",
            __func__, real, CFG_IPC_PATH_MAX);
        out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

bool
cfg_endpoint_is_local(const char *endpoint)
{
    char host[256];
    const char *h, *colon;
    size_t hlen;
    struct in_addr a4;

    if (strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    h = endpoint + 6;
    /* A source-address form "tcp://src;dst" is not local by this test. */
    if (strchr(h, ';') != NULL)
        return false;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');

        if (close == NULL)
            return false;
        hlen = (size_t)(close - h - 1);
        return hlen == 3 && memcmp(h + 1, "::1", 3) == 0 && close[1] == ':';
    }
    colon = strrchr(h, ':');
    if (colon == NULL)
        return false;
    hlen = (size_t)(colon - h);
    if (hlen == 0 || hlen >= sizeof(host))
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return false;
}

static void
cfg_usage(FILE *fp, const char *progname)
{
    fprintf(fp,
        "usage: %s [-dhnVv] [-f file] [-o key=value] [--insecure-dev]\n"
        "  -d            stay in the foreground and log to stderr\n"
        "  -f file       read the configuration from file\n"
        "  -h            show this help\n"
        "  -n            check the configuration and exit (0 good, 1 bad)\n"
        "  -o key=value  override one configuration key (repeatable)\n"
        "  -V            print the version and exit\n"
        "  -v            more verbose logging (repeatable)\n"
        "  --insecure-dev  plain sockets without CURVE (loopback only)\n"
        "See %s(8) and scorer.conf(5).\n",
        progname, progname);
}

void
cfg_parse_args(int argc, char **argv, const char *progname, struct cfg_args *a)
{
    static const struct option longopts[] = {
        { "insecure-dev", no_argument, NULL, 'I' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(a, 0, sizeof(*a));
    while ((ch = getopt_long(argc, argv, "df:hno:Vv", longopts, NULL)) != -1) {
        switch (ch) {
        case 'I':
            /* The long flag is the explicit way to say it; an override
             * like any other, applied in command-line order. */
            if (a->noverrides == CFG_MAX_OVERRIDES) {
                cfg_usage(stderr, progname);
                exit(1);
            }
            a->overrides[a->noverrides++] = "insecure_dev=1";
            break;
        case 'd':
            a->foreground = true;
            break;
        case 'f':
            a->file = optarg;
            break;
        case 'h':
            cfg_usage(stdout, progname);
            exit(0);
        case 'n':
            a->check_only = true;
            break;
        case 'o':
            if (a->noverrides == CFG_MAX_OVERRIDES) {
                fprintf(stderr, "%s: more than %d -o options\n", progname,
                    CFG_MAX_OVERRIDES);
                cfg_usage(stderr, progname);
                exit(1);
            }
            a->overrides[a->noverrides++] = optarg;
            break;
        case 'V':
            printf("%s %s\n", progname, VIGIL_VERSION);
            exit(0);
        case 'v':
            a->verbose++;
            break;
        default:
            cfg_usage(stderr, progname);
            exit(1);
        }
    }
    if (optind != argc) {
        cfg_usage(stderr, progname);
        exit(1);
    }
}

int
cfg_load(
    struct vigil_config *c, const struct cfg_args *a, char *err, size_t errlen)
{
    int i, rc;

    cfg_defaults(c);
    if (a->file != NULL) {
        rc = cfg_load_file(c, a->file, err, errlen);
        if (rc != 0)
            return rc;
    }
    for (i = 0; i < a->noverrides; i++) {
        rc = cfg_set(c, a->overrides[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    return cfg_check(c, err, errlen);
}
