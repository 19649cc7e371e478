/*
 * cfg.h - the configuration shared by both daemons: one table, one file
 *
 * vigil-collector and vigil-scorer read the same file format and the
 * same keys (a key one daemon does not use is accepted and ignored by
 * it, so one file can serve both). Every key lives in one static table
 * in cfg.c with its type, storage, default, range, whether SIGHUP may
 * change it, and a one-line help (one row a key: cfgtab.h);
 * the loader, the -o overrides, cfg_print() and scorer.conf.5 are all
 * written from that table.
 *
 * File format: one "key = value" per line; '#' starts a comment that
 * runs to the end of the line; blank lines are ignored; whitespace
 * around key and value is trimmed; values are not quoted. Booleans are
 * 1/0, yes/no, true/false, on/off. Integers are decimal.
 *
 * Invariants:
 *  - a loaded struct vigil_config always passed the table's per-key
 *    range checks; cross-field rules are checked by cfg_check().
 *  - string fields are heap-owned (xstrdup) and freed by cfg_release().
 *
 * See also: scorer/scorer.conf.5, collector/collector.8, scorer/scorer.8
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_CFG_H
#define COMMON_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/cfgtab.h"
#include "common/compiler.h"

/* Longest accepted config line and string value, in bytes. */
#define CFG_LINE_MAX  CFGTAB_LINE_MAX
#define CFG_VALUE_MAX CFGTAB_VALUE_MAX

/*
 * The whole configuration. Fields change only through this API
 * (cfg_defaults, cfg_load_file, cfg_set, cfg_release).
 */
struct vigil_config {
    char *data_dir;             /* "/var/lib/vigil": LMDB, journal, audit */
    char *keys_dir;             /* "/etc/vigil": keys and certificates */
    char *clients_dir;          /* "": keys_dir/clients, the allow-list */
    char *user;                 /* "vigil": drop to it when started as root */
    char *events_endpoint;      /* "tcp://127.0.0.1:7010": collector binds */
    char *query_endpoint;       /* "tcp://127.0.0.1:7011": scorer binds */
    int review_threshold;       /* 0..100 (50): score >= this -> review */
    int block_threshold;        /* 0..100 (80): score >= this -> block */
    int batch_max;              /* 1..100000 (4096): events per group commit */
    int commit_interval_ms;     /* 1..60000 (200): LMDB commit interval */
    int commit_max_events;      /* 100..1000000 (4000): events in one
                                   uncommitted generation, at most */
    int overlay_max_entries;    /* 1000..60000 (60000): keys in one
                                   uncommitted generation, at most */
    int lmdb_commit_max_pages;  /* 0..120000 (16384): pages one LMDB
                                   commit may write (0: no page bound) */
    int journal_segment_mb;     /* 1..4096 (64): journal segment size */
    int lmdb_map_mb;            /* 16..1048576 (65536): LMDB map size */
    int request_timeout_ms;     /* 100..600000 (10000): collector waits */
    bool insecure_dev;          /* false: plain sockets, loopback only */
    char *signing_key;          /* "": keys_dir/audit-signing.key, the audit
                                   log's checkpoint signer (0600) */
    char *audit_origin;         /* "": the origin (and key name) a new
                                   signing key gets; default host name +
                                   random suffix; fixed by the key */
    int checkpoint_records;     /* 1..10^8 (10000): records per checkpoint */
    int checkpoint_interval_ms; /* 10..3600000 (1000): checkpoint delay */
    int head_interval_ms;       /* 0..10000 (0): least time between two
                                   signed heads (0: every group commit) */
    /* Retention (issue 9): by event time, per data category. */
    int retention_days_account; /* 1..36500 (365) */
    int retention_days_device;  /* 1..36500 (365) */
    int retention_days_ip;      /* 1..36500 (365): addresses and prefixes */
    int retention_days_payment; /* 1..36500 (365): cards */
    int retention_days_contact; /* 1..36500 (365): emails */
    int retention_days_order;   /* 1..36500 (365) */
    int dedup_window_s;         /* 1..31536000 (86400): stored replies */
    int retention_step_keys;    /* 1..100000 (256): keys per step */
    int retention_step_ms;      /* 1..3600000 (100): between steps */
    int retention_pass_ms;      /* 10..86400000 (600000): between passes */
    char *witness; /* "": repeatable "<URL> <vkey>", one per line ("\n"
                      between entries), at most CFG_MAX_WITNESSES */
    /* Operations (issue 12): metrics, quotas, fair share, headroom,
     * lifecycle. The keys marked "live" change on SIGHUP. */
    char *collector_metrics;     /* "127.0.0.1:7014": /metrics, "" off */
    char *scorer_metrics;        /* "127.0.0.1:7015": /metrics, "" off */
    int quota_events_per_s;      /* live 0..10^7 (0 = no limit) */
    int quota_events_burst;      /* live 0..10^8 (0: one second's worth) */
    int quota_queries_per_s;     /* live 0..10^6 (200) */
    int quota_queries_burst;     /* live 0..10^7 (400) */
    char *quota_clients;         /* live "": per-client overrides */
    int collector_window_events; /* live 1..100000 (1024): in flight */
    int client_queue_max;        /* live 1..16384 (256): queued per client */
    int queue_wait_max_ms;       /* live 0..60000 (50): busy past it */
    int quota_busy_hold_ms;      /* live 0..1000 (100): hold the busy
                                    replies of a client ignoring its hint */
    int disk_min_free_mb;        /* live 0..10^7 (256): refuse events below */
    int lmdb_map_full_pct;       /* live 10..100 (90): refuse events above */
    int lmdb_map_grow_pct;       /* live 10..100 (80): grow the map above */
    int lmdb_map_step_mb;        /* live 0..1048576 (4096): growth step */
    int lmdb_map_max_mb;         /* live 0..2^31-1 (0 = as the disk allows) */
    int shutdown_timeout_ms;     /* live 100..600000 (10000): SIGTERM bound */
    /* The fraud model (issue 7). */
    char *model_file;   /* live "": the default model; "none": rules only */
    char *features_log; /* "": none; else a file the scorer appends each
                           scored order's features and each label to */
};

/* Most `witness` entries. */
#define CFG_MAX_WITNESSES 16

/*
 * Parse a daemon's command line into `a`: cfgtab_parse_args() (the
 * daemons' shared [-dhnVv] [-f file] [-o key=value]) with
 * --insecure-dev, the same as -o insecure_dev=1, and a usage that points
 * to progname(8) and scorer.conf(5). Exits on -h, -V and a bad command
 * line. Call once, from main().
 */
void cfg_parse_args(int argc, char **argv, const char *progname,
    struct cfgtab_args *a) NONNULL(2, 3, 4);

/*
 * Fill `c` with the defaults, then the file of `a`, then its overrides
 * in order, then check the whole (cfg_check). `err` gets the first
 * problem as "file:line: reason", "-o key=value: reason" or the rule.
 * Release `c` with cfg_release() in every case.
 * Returns 0, ERR_INVAL, ERR_DENIED or ERR_IO (as the calls it makes).
 */
int cfg_load(struct vigil_config *c, const struct cfgtab_args *a, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Fill `c` with the defaults of every key (strings are xstrdup'd).
 * Release with cfg_release(). Never fails.
 */
void cfg_defaults(struct vigil_config *c) NONNULL(1);

/*
 * Free the strings held by `c` and zero it. Safe on a config filled by
 * cfg_defaults() and after a failed load; a no-op on a zeroed struct.
 */
void cfg_release(struct vigil_config *c) NONNULL(1);

/*
 * Read `path` and apply every "key = value" line to `c` (which should
 * hold the defaults). Unknown keys, malformed lines, bad numbers and
 * out-of-range values, and a key given twice, are rejected; `err` (size
 * `errlen`) then receives "path:line: reason", and `c` is unchanged.
 *
 * Returns 0, ERR_INVAL (bad content, also a line over CFG_LINE_MAX) or
 * ERR_IO (cannot open or read the file).
 */
int cfg_load_file(struct vigil_config *c, const char *path, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Apply one "key=value" override (the argument of -o). Same rules as
 * one file line; `err` receives "-o key=value: reason".
 *
 * Returns 0 or ERR_INVAL.
 */
int cfg_set(struct vigil_config *c, const char *key_eq_value, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Check the rules that span several keys (block_threshold >=
 * review_threshold, non-empty data_dir and endpoints, endpoint schemes)
 * and the endpoint policy: with insecure_dev (plain sockets, no CURVE)
 * both endpoints must stay on this machine (loopback or ipc://).
 * `err` receives the first problem found.
 *
 * Returns 0, ERR_INVAL, or ERR_DENIED (the endpoint policy).
 */
int cfg_check(const struct vigil_config *c, char *err,
    size_t errlen) WARN_UNUSED NONNULL(1, 2);

/*
 * After a SIGHUP: apply to the running configuration `run` the keys of
 * `fresh` (a complete, checked configuration just loaded the same way)
 * that can change while the daemon runs (cfg.c's live list), and leave
 * the others as they are. Each key that differs is logged: "changed" for
 * a live key, "needs a restart, kept" for another. `fresh` is not
 * changed; release it as usual. Returns the number of live keys changed.
 */
int cfg_apply_live(struct vigil_config *run, const struct vigil_config *fresh)
    NONNULL(1, 2);

/*
 * SIGHUP: load the configuration again the way it was loaded at start
 * (`a`: the file, then the -o overrides) and apply its live keys to
 * `run` (cfg_apply_live). A configuration that no longer loads or
 * checks is logged and ignored: `run` is unchanged. Returns the number
 * of keys changed, or ERR_INVAL / ERR_IO / ERR_DENIED (not applied).
 */
int cfg_reload(struct vigil_config *run, const struct cfgtab_args *a)
    NONNULL(1, 2);

/* True when `key` can change on SIGHUP (cfg_apply_live). */
bool cfg_key_is_live(const char *key) NONNULL(1);

/* Print every key as "key = value", one per line, in table order. */
void cfg_print(const struct vigil_config *c, FILE *fp) NONNULL(1, 2);

/* The default file name of the audit signing key in keys_dir (the same
 * as AUDIT_KEY_FILE of audit.h). */
#define CFG_SIGNING_KEY_FILE "audit-signing.key"

/*
 * Write the path of the audit log's signing key into `out`: signing_key,
 * or "<keys_dir>/audit-signing.key" when that is "".
 * Returns 0 or ERR_TOOBIG (out is then "").
 */
int cfg_signing_key_path(const struct vigil_config *c, char *out,
    size_t outlen) WARN_UNUSED NONNULL(1, 2);

/*
 * Write "<data_dir>/<name>" into `out` (size `outlen`).
 *
 * Returns 0 or ERR_TOOBIG if it does not fit (out is then "").
 */
int cfg_path(const struct vigil_config *c, const char *name, char *out,
    size_t outlen) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * Write the collector<->scorer endpoint "ipc://<realpath of
 * data_dir>/scorer.ipc" into `out` (size `len`). data_dir must exist
 * (harden_data_dir() makes it).
 *
 * Returns 0, ERR_IO (realpath failed, logged) or ERR_TOOBIG (the
 * endpoint does not fit in `len`, or exceeds the 107-byte limit of a
 * Unix socket path).
 */
int cfg_scorer_ipc(const struct vigil_config *c, char *out,
    size_t len) WARN_UNUSED NONNULL(1, 2);

/*
 * Return true if `endpoint` stays on this machine: ipc://, inproc://,
 * or tcp:// on 127.0.0.0/8, "localhost" or [::1]. Plain (insecure_dev)
 * sockets are refused anywhere else.
 */
bool cfg_endpoint_is_local(const char *endpoint) NONNULL(1);

#endif
