/*
 * config.h - vigil-shopify's configuration: one table, one file format
 *
 * The same format and rules as the daemons' (common/cfg.h): one
 * "key = value" per line, '#' comments, blank lines ignored, whitespace
 * trimmed, values unquoted, booleans 1/0 yes/no true/false on/off,
 * integers decimal; unknown keys, bad numbers and out-of-range values
 * are refused with file:line; -o key=value overrides go through the
 * same table. The keys are the bridge's own (tools/vigil-shopify.8
 * "CONFIGURATION" is written from config.c's table). Read once by
 * main() at start-up; not on any hot path.
 *
 * Invariants:
 *  - a loaded struct config passed every per-key range check and
 *    config_check(); its strings are heap-owned until config_release().
 *
 * See also: tools/vigil-shopify.8, common/cfg.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_CONFIG_H
#define VIGIL_SHOPIFY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#include "common/cfgtab.h"
#include "common/compiler.h"

/* The configuration (fields change only through this API). */
struct config {
    char *shopify_listen;     /* "127.0.0.1:7012": HTTP address:port */
    bool insecure_dev;        /* plain, local collector; any listen */
    char *collector_endpoint; /* "tcp://127.0.0.1:7010" */
    char *keys_dir;           /* "/etc/vigil" */
    char *server_key;         /* Z85 or a .key file; "": keys_dir's */
    char *cert_dir;           /* shops' .key_secret; "": keys_dir/secrets */
    char *query_endpoint;     /* "tcp://127.0.0.1:7011" */
    char *dpo_cert;           /* role dpo .key_secret, or "" */
    char *label_cert;         /* role analyst .key_secret, or "" */
    char *reports_dir;        /* "./var/shopify-reports" */
    char *secrets_file;       /* shops and client secrets (0600) */
    char *admin_tokens_file;  /* shops' Admin API tokens (0600), or "" */
    char *admin_api_base;     /* "https://{shop}" */
    char *admin_api_version;  /* "2026-10" */
    int risk_attempts;        /* 1..20 (5): tries per risk assessment */
    int risk_timeout_ms;      /* 100..60000 (10000): one request */
    int risk_queue_max;       /* 1..1000000 (10000): waiting at most */
    int max_body;             /* 1024..16777216 (1048576) bytes */
    int request_budget_ms;    /* 100..4900 (4000): answer within */
    char *dedup_file;         /* "./var/shopify.seen" */
    int dedup_max;            /* 1000..10000000 (1000000) entries */
    int dedup_ttl_s;          /* 18000..2592000 (86400) */
    int http_threads;         /* 1..64 (2) */
    int max_connections;      /* 16..65536 (1024) */
    int max_inflight;         /* 16..1000000 (4096) deliveries */
};

/*
 * Parse the command line into `a`: cfgtab_parse_args(), the daemons'
 * [-dhnVv] [-f file] [-o key=value], with a usage that points to
 * vigil-shopify(8). Exits on -h, -V and a bad command line.
 */
void config_parse_args(int argc, char **argv, struct cfgtab_args *a)
    NONNULL(2, 3);

/*
 * Fill `c` with the defaults, then the file of `a`, then its overrides
 * in order, then check the whole (config_check). `err` gets the first
 * problem ("file:line: reason", "-o key=value: reason" or the rule).
 * Release `c` with config_release() in every case.
 * Returns 0, ERR_INVAL, ERR_DENIED (the listen or endpoint policy) or
 * ERR_IO.
 */
int config_load(struct config *c, const struct cfgtab_args *a, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/* Free the strings of `c` and zero it. A zeroed struct is a no-op. */
void config_release(struct config *c) NONNULL(1);

/*
 * Check the rules that span keys: the listen address parses and is
 * loopback (unless insecure_dev); the collector endpoint is tcp:// or
 * ipc:// and, with insecure_dev (no CURVE), on this machine; the Admin
 * API base is https:// or on this machine (unless insecure_dev).
 * Returns 0, ERR_INVAL or ERR_DENIED with `err` filled.
 */
int config_check(const struct config *c, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 2);

/* Print every key as "key = value" after its help as a comment, in
 * table order: a configuration file of the effective values. */
void config_print(const struct config *c, FILE *fp) NONNULL(1, 2);

/*
 * Parse "IPv4:port" or "[IPv6]:port" (port 1..65535) into `ss`/`*len`;
 * `*loopback` tells whether it is 127.0.0.0/8 or ::1. Returns 0 or
 * ERR_INVAL.
 */
int config_listen_addr(const char *listen, struct sockaddr_storage *ss,
    socklen_t *len, bool *loopback) WARN_UNUSED NONNULL(1, 2, 3, 4);

/* True unless insecure_dev: the collector link is CURVE, one
 * certificate per shop. */
bool config_has_curve(const struct config *c) NONNULL(1);

#endif
