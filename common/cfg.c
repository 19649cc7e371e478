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
#include <limits.h>
#include <stdarg.h>
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

/*
 * One row a key: type, name (also the field of struct vigil_config),
 * default, range, whether SIGHUP may change it (CFGTAB_LIVE: the value
 * is read afresh where it is used; every other key sizes or names
 * something opened at start and needs a restart), one-line help.
 */
#define CFGTAB_STRUCT struct vigil_config
/* clang-format off */
static const struct cfgtab_entry cfg_table[] = {
    CFGTAB_KEY(data_dir, CFGTAB_STRING, "/var/lib/vigil", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "directory of LMDB, the journal, the audit log and the ipc socket"),
    CFGTAB_KEY(keys_dir, CFGTAB_STRING, "/etc/vigil", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "directory of every key and certificate, apart from the data"),
    CFGTAB_KEY(clients_dir, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "allow-list of client certificates (default: keys_dir/clients)"),
    CFGTAB_KEY(user, CFGTAB_STRING, "vigil", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "user to run as after start when started as root (\"\": stay)"),
    CFGTAB_KEY(events_endpoint, CFGTAB_STRING, "tcp://127.0.0.1:7010", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "storefront endpoint the collector binds"),
    CFGTAB_KEY(query_endpoint, CFGTAB_STRING, "tcp://127.0.0.1:7011", 1, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "query endpoint the scorer binds"),
    CFGTAB_KEY(review_threshold, CFGTAB_INT, "50", 0, 100, CFGTAB_LIVE, "score at or above which an order is sent to review"),
    CFGTAB_KEY(block_threshold, CFGTAB_INT, "80", 0, 100, CFGTAB_LIVE, "score at or above which an order is blocked"),
    CFGTAB_KEY(batch_max, CFGTAB_INT, "4096", 1, 100000, CFGTAB_FIXED, "most events in one scorer group commit"),
    CFGTAB_KEY(commit_interval_ms, CFGTAB_INT, "200", 1, 60000, CFGTAB_LIVE, "longest wait before the scorer commits to LMDB, in ms"),
    CFGTAB_KEY(commit_max_events, CFGTAB_INT, "4000", 100, 1000000, CFGTAB_LIVE, "events after which the scorer commits to LMDB at once (bounds the journal tail replayed after a crash)"),
    CFGTAB_KEY(overlay_max_entries, CFGTAB_INT, "60000", 1000, 60000, CFGTAB_LIVE, "distinct keys in one uncommitted history generation at which the scorer commits to LMDB at once (bounds the overlay's and LMDB's write memory)"),
    CFGTAB_KEY(lmdb_commit_max_pages, CFGTAB_INT, "16384", 0, 120000, CFGTAB_LIVE, "pages one LMDB commit may write, at most: bounds the heap LMDB keeps for a commit's dirty pages (0: only overlay_max_entries bounds it)"),
    CFGTAB_KEY(journal_segment_mb, CFGTAB_INT, "64", 1, 4096, CFGTAB_FIXED, "size of one journal segment file, in MiB"),
    CFGTAB_KEY(lmdb_map_mb, CFGTAB_INT, "65536", 16, 1048576, CFGTAB_FIXED, "LMDB map size (largest database), in MiB"),
    CFGTAB_KEY(request_timeout_ms, CFGTAB_INT, "10000", 100, 600000, CFGTAB_LIVE, "how long the collector waits for the scorer's reply, in ms"),
    CFGTAB_KEY(insecure_dev, CFGTAB_BOOL, "0", 0, 1, CFGTAB_FIXED, "plain-text endpoints without CURVE (loopback and ipc:// only)"),
    CFGTAB_KEY(signing_key, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "the audit log's signing key (default: keys_dir/audit-signing.key)"),
    CFGTAB_KEY(audit_origin, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "origin of a new audit signing key (default: host name and a random suffix)"),
    CFGTAB_KEY(checkpoint_records, CFGTAB_INT, "10000", 1, 100000000, CFGTAB_LIVE, "audit records after which the scorer signs a checkpoint"),
    CFGTAB_KEY(checkpoint_interval_ms, CFGTAB_INT, "1000", 10, 3600000, CFGTAB_LIVE, "longest wait before new audit records get a checkpoint, in ms"),
    CFGTAB_KEY(head_interval_ms, CFGTAB_INT, "0", 0, 10000, CFGTAB_FIXED, "least time between two signed heads of the audit log, in ms (0: one per group commit: every acknowledged record is signed)"),
    CFGTAB_KEY(retention_days_account, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days an account's history (and link list) is kept after its last event"),
    CFGTAB_KEY(retention_days_device, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days a device's history is kept after its last event"),
    CFGTAB_KEY(retention_days_ip, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days an IP address's and IP prefix's history is kept after its last event"),
    CFGTAB_KEY(retention_days_payment, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days a card's history is kept after its last event"),
    CFGTAB_KEY(retention_days_contact, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days an email's history is kept after its last event"),
    CFGTAB_KEY(retention_days_order, CFGTAB_INT, "365", 1, 36500, CFGTAB_FIXED, "days an order record is kept after its time"),
    CFGTAB_KEY(dedup_window_s, CFGTAB_INT, "86400", 1, 31536000, CFGTAB_FIXED, "seconds a stored reply answers a resent event id, from its arrival (after that the id is new again)"),
    CFGTAB_KEY(retention_step_keys, CFGTAB_INT, "256", 1, 100000, CFGTAB_FIXED, "history keys one retention step examines (one step between two polls of the main loop)"),
    CFGTAB_KEY(retention_step_ms, CFGTAB_INT, "100", 1, 3600000, CFGTAB_FIXED, "ms between two retention steps of a pass"),
    CFGTAB_KEY(retention_pass_ms, CFGTAB_INT, "600000", 10, 86400000, CFGTAB_FIXED, "ms between the end of a retention pass and the next"),
    CFGTAB_KEY(collector_metrics, CFGTAB_STRING, "127.0.0.1:7014", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "HOST:PORT of the collector's /metrics endpoint (\"\": none)"),
    CFGTAB_KEY(scorer_metrics, CFGTAB_STRING, "127.0.0.1:7015", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "HOST:PORT of the scorer's /metrics endpoint (\"\": none)"),
    CFGTAB_KEY(quota_events_per_s, CFGTAB_INT, "0", 0, 10000000, CFGTAB_LIVE, "events per second one storefront may send (0: no limit)"),
    CFGTAB_KEY(quota_events_burst, CFGTAB_INT, "0", 0, 100000000, CFGTAB_LIVE, "events a storefront may send at once above its rate (0: one second's worth)"),
    CFGTAB_KEY(quota_queries_per_s, CFGTAB_INT, "200", 0, 1000000, CFGTAB_LIVE, "queries per second one client may ask (0: no limit)"),
    CFGTAB_KEY(quota_queries_burst, CFGTAB_INT, "400", 0, 10000000, CFGTAB_LIVE, "queries a client may ask at once above its rate (0: one second's worth)"),
    CFGTAB_KEY(quota_clients, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_LIVE, "per-client quotas: NAME:EVENTS/S:BURST:QUERIES/S:BURST, space separated"),
    CFGTAB_KEY(collector_window_events, CFGTAB_INT, "1024", 1, 100000, CFGTAB_LIVE, "events a collector keeps in flight to the scorer, at most"),
    CFGTAB_KEY(client_queue_max, CFGTAB_INT, "256", 1, 16384, CFGTAB_LIVE, "requests of one storefront queued in the collector before busy"),
    CFGTAB_KEY(quota_busy_hold_ms, CFGTAB_INT, "100", 0, 1000, CFGTAB_LIVE, "ms a storefront that resends before its quota's retry_after_ms waits for its next busy replies, at most (0: answered at once)"),
    CFGTAB_KEY(queue_wait_max_ms, CFGTAB_INT, "50", 0, 60000, CFGTAB_LIVE, "ms a new request of a storefront would wait behind its queue, at most, before it is answered busy (0: no bound)"),
    CFGTAB_KEY(disk_min_free_mb, CFGTAB_INT, "256", 0, 10000000, CFGTAB_LIVE, "free MiB under which the scorer refuses new events (full)"),
    CFGTAB_KEY(lmdb_map_full_pct, CFGTAB_INT, "90", 10, 100, CFGTAB_LIVE, "LMDB map use, in percent, above which new events are refused"),
    CFGTAB_KEY(lmdb_map_grow_pct, CFGTAB_INT, "80", 10, 100, CFGTAB_LIVE, "LMDB map use, in percent, at which the map grows a step"),
    CFGTAB_KEY(lmdb_map_step_mb, CFGTAB_INT, "4096", 0, 1048576, CFGTAB_LIVE, "MiB the LMDB map grows by at a time (0: never grows)"),
    CFGTAB_KEY(lmdb_map_max_mb, CFGTAB_INT, "0", 0, 2147483647, CFGTAB_LIVE, "largest LMDB map in MiB the scorer grows to (0: as the disk allows)"),
    CFGTAB_KEY(shutdown_timeout_ms, CFGTAB_INT, "10000", 100, 600000, CFGTAB_LIVE, "longest a daemon takes to drain and stop on SIGTERM, in ms"),
    CFGTAB_KEY(model_file, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_LIVE, "the fraud model file (\"\": the default model shipped with Vigil; \"none\": the rule set alone)"),
    CFGTAB_KEY(features_log, CFGTAB_STRING, "", 0, CFGTAB_VALUE_MAX, CFGTAB_FIXED, "file the scorer appends each scored order's model features and each label to, for training (\"\": none)"),
    CFGTAB_KEY(witness, CFGTAB_LIST, "", 0, CFG_MAX_WITNESSES, CFGTAB_FIXED, "a witness to push checkpoints to: '<URL> <vkey>' (repeatable)"),
};
/* clang-format on */

static const struct cfgtab cfg_tab = { cfg_table, ARRAY_LEN(cfg_table),
    sizeof(struct vigil_config) };

void
cfg_defaults(struct vigil_config *c)
{
    cfgtab_defaults(&cfg_tab, c);
}

void
cfg_release(struct vigil_config *c)
{
    cfgtab_release(&cfg_tab, c);
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
    const struct {
        const char *key, *value;
    } eps[] = {
        { "events_endpoint", c->events_endpoint },
        { "query_endpoint", c->query_endpoint },
    };
    char why[256];
    size_t i;

    if (c->data_dir == NULL || c->data_dir[0] == '\0') {
        snprintf(err, errlen, "data_dir must not be empty");
        return ERR_INVAL;
    }
    for (i = 0; i < ARRAY_LEN(eps); i++) {
        if (eps[i].value == NULL || !cfg_endpoint_scheme_ok(eps[i].value)) {
            snprintf(err, errlen,
                "%s must be tcp://HOST:PORT, ipc://PATH or inproc://NAME",
                eps[i].key);
            return ERR_INVAL;
        }
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
    for (i = 0; i < ARRAY_LEN(eps) && c->insecure_dev; i++) {
        if (!cfg_endpoint_is_local(eps[i].value)) {
            snprintf(err, errlen,
                "%s '%s' is not on a loopback address or ipc://: "
                "insecure_dev sockets are plain text without authentication "
                "and stay on this machine",
                eps[i].key, eps[i].value);
            return ERR_DENIED;
        }
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
    return cfgtab_is_live(&cfg_tab, key);
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
cfg_reload(struct vigil_config *run, const struct cfgtab_args *a)
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

/* Format a path into out[0..outlen): 0, or ERR_TOOBIG (out is then "")
 * when it does not fit. */
static int PRINTF_LIKE(3, 4)
    cfg_fmt(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return ERR_TOOBIG;
    }
    return 0;
}

int
cfg_signing_key_path(const struct vigil_config *c, char *out, size_t outlen)
{
    if (c->signing_key != NULL && c->signing_key[0] != '\0')
        return cfg_fmt(out, outlen, "%s", c->signing_key);
    return cfg_fmt(out, outlen, "%s/%s", c->keys_dir, CFG_SIGNING_KEY_FILE);
}

int
cfg_path(
    const struct vigil_config *c, const char *name, char *out, size_t outlen)
{
    return cfg_fmt(out, outlen, "%s/%s", c->data_dir, name);
}

int
cfg_scorer_ipc(const struct vigil_config *c, char *out, size_t len)
{
    char real[PATH_MAX];

    if (realpath(c->data_dir, real) == NULL) {
        log_warn(
            "%s: cannot resolve data directory '%s'", __func__, c->data_dir);
        return ERR_IO;
    }
    if (cfg_fmt(out, len, "ipc://%s/scorer.ipc", real) != 0)
        return ERR_TOOBIG;
    if (strlen(out) - strlen("ipc://") > CFG_IPC_PATH_MAX) {
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

void
cfg_parse_args(
    int argc, char **argv, const char *progname, struct cfgtab_args *a)
{
    char see_also[128];
    struct cfgtab_cli cli = { progname, see_also, true };

    snprintf(see_also, sizeof(see_also), "%s(8) and scorer.conf(5)", progname);
    cfgtab_parse_args(argc, argv, &cli, a);
}

int
cfg_load(struct vigil_config *c, const struct cfgtab_args *a, char *err,
    size_t errlen)
{
    int rc = cfgtab_load(&cfg_tab, c, a, err, errlen);

    return rc != 0 ? rc : cfg_check(c, err, errlen);
}
