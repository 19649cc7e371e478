/*
 * startup.c - vigil-scorer's start-up steps, in the order main() runs them
 *
 * Each step either succeeds or ends the process with a message naming
 * what was wrong (fatalx): a scorer that cannot open its keys, its
 * storage or its sockets must not start half-way. The order matters
 * and is main()'s (scorer.c): configuration; as root, the service user
 * takes the keys and data directories and the process drops to it
 * before any key or file is opened; keys (the signing key refused
 * inside data_dir); sockets (ZAP first: bound before storage opens, so
 * that a collector reconnects and hands over what it holds while the
 * journal tail is replayed; they are read once the loop runs); storage
 * (history, subject index, overlay, flusher thread, journal, audit log,
 * witness client); the subject vault; history brought up to date from
 * the journal, a pending erasure finished and the data bound to the
 * pseudonym key; buffers; the /metrics endpoint. Each step's wall and
 * CPU time is logged at ready, and the first group answered once
 * (startup_clock: the restart's first acknowledgement, issue 12); the
 * background verification of the audit log starts after that group.
 *
 * See also: scorer.c (main, the loop), lifecycle.c (lock, stop, reload)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/promsrv.h"
#include "common/qproto.h"
#include "common/quota.h"
#include "common/subjidx.h"
#include "common/xmalloc.h"
#include "common/zauth.h"
#include "scorer/erase.h"
#include "scorer/jheal.h"
#include "scorer/lifecycle.h"
#include "scorer/qbatch.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/startup.h"
#include "scorer/status.h"
#include "scorer/vault.h"
#include "scorer/wclient.h"

#define SCORER_NAME "vigil-scorer"
/* The background verification of the audit log starts at the first group
 * answered after a start, or this long after ready: the restart's first
 * acknowledgement does not share the CPU with it (a pass over the whole
 * log: 13-40 s of a core at 1-3 M records here). */
#define STARTUP_VERIFY_DELAY_MS 2000u
/* The role plain (insecure_dev) query clients get. */
#define SCORER_PLAIN_ROLE "analyst"

/* A clock in microseconds (CLOCK_BOOTTIME: /proc's start times count on it;
 * CLOCK_PROCESS_CPUTIME_ID: every thread's CPU). */
static uint64_t
startup_now_us(clockid_t id)
{
    struct timespec ts;

    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
startup_clock_init(struct scorer *s)
{
    struct startup_clock *c = &s->sclock;
    unsigned long long ticks = 0;
    long hz = sysconf(_SC_CLK_TCK);
    char buf[1024], *p;
    FILE *f;
    size_t n = 0;
    int i;

    memset(c, 0, sizeof(*c));
    c->exec_us = startup_now_us(CLOCK_BOOTTIME);
    /* The exec's time (field 22 of /proc/self/stat, in clock ticks since
     * boot, after the command name's closing parenthesis): the dynamic
     * linker's share of the start counts too. */
    f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        (void)fclose(f);
    }
    buf[n] = '\0';
    p = strrchr(buf, ')');
    for (i = 0; p != NULL && i < 20; i++)
        p = strchr(p + 1, ' ');
    if (p != NULL) {
        char *end = NULL;

        errno = 0;
        ticks = strtoull(p + 1, &end, 10);
        if (errno != 0 || end == p + 1)
            ticks = 0;
    }
    if (ticks > 0 && hz > 0 &&
        ticks * (1000000u / (unsigned long long)hz) <= c->exec_us)
        c->exec_us = ticks * (1000000u / (unsigned long long)hz);
    c->last_us = c->exec_us;
}

void
startup_mark(struct scorer *s, const char *step)
{
    struct startup_clock *c = &s->sclock;
    uint64_t now = startup_now_us(CLOCK_BOOTTIME);
    uint64_t cpu = startup_now_us(CLOCK_PROCESS_CPUTIME_ID);

    if (c->n < STARTUP_MARKS) {
        c->name[c->n] = step;
        c->wall_us[c->n] = now - c->last_us;
        c->step_cpu_us[c->n] = cpu - c->last_cpu_us;
        c->n++;
    }
    c->last_us = now;
    c->last_cpu_us = cpu;
}

void
startup_ready(struct scorer *s)
{
    struct startup_clock *c = &s->sclock;
    char steps[512];
    size_t off = 0;
    unsigned i;

    c->cpu_us = startup_now_us(CLOCK_PROCESS_CPUTIME_ID);
    c->ready_us = c->last_us;
    steps[0] = '\0';
    for (i = 0; i < c->n && off < sizeof(steps); i++) {
        int k = snprintf(steps + off, sizeof(steps) - off,
            "%s%s %" PRIu64 "/%" PRIu64, i > 0 ? ", " : "", c->name[i],
            c->wall_us[i] / 1000, c->step_cpu_us[i] / 1000);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    log_info("start-up took %" PRIu64 " ms after exec, %" PRIu64
             " ms of CPU (%" PRIu64 " journal events replayed); per "
             "step, ms of wall/CPU: %s",
        (c->last_us - c->exec_us) / 1000, c->cpu_us / 1000, s->stats.replayed,
        steps);
}

void
startup_first_group(struct scorer *s, uint32_t events)
{
    struct startup_clock *c = &s->sclock;
    uint64_t now = startup_now_us(CLOCK_BOOTTIME);

    if (c->first_group)
        return;
    c->first_group = true;
    log_info("first group answered %" PRIu64 " ms after exec (%" PRIu64
             " ms after ready; %" PRIu32 " events; %" PRIu64
             " ms of CPU since exec)",
        (now - c->exec_us) / 1000, (now - c->last_us) / 1000, events,
        startup_now_us(CLOCK_PROCESS_CPUTIME_ID) / 1000);
}

/*
 * Parse the command line and load the configuration; with -n print it
 * (-v) and exit. Exits 1 on a bad configuration.
 */
void
startup_config(struct scorer *s, int argc, char **argv)
{
    struct cfgtab_args a;
    char err[512];
    int rc;

    cfg_parse_args(argc, argv, SCORER_NAME, &a);
    log_init(SCORER_NAME, a.foreground || a.check_only);
    log_setverbose(a.verbose);
    rc = cfg_load(&s->cfg, &a, err, sizeof(err));
    if (rc == 0 && wclient_check(s->cfg.witness, err, sizeof(err)) < 0)
        rc = ERR_INVAL;
    if (rc != 0) {
        if (a.check_only)
            fprintf(stderr, "%s: %s\n", SCORER_NAME, err);
        else
            log_warnx("bad configuration: %s", err);
        cfg_release(&s->cfg);
        exit(1);
    }
    if (a.check_only) {
        if (a.verbose > 0)
            cfg_print(&s->cfg, stdout);
        fprintf(stderr, "%s: configuration OK\n", SCORER_NAME);
        cfg_release(&s->cfg);
        exit(0);
    }
    score_params_default(&s->params);
    s->params.review_threshold = (unsigned)s->cfg.review_threshold;
    s->params.block_threshold = (unsigned)s->cfg.block_threshold;
    s->args = a; /* its strings are argv's: they live as long */
    if (lifecycle_quotas(s) != 0)
        exit(1);
    rc = modelsvc_start(s, err, sizeof(err));
    if (rc != 0) {
        log_warnx("model: %s", err);
        exit(1);
    }
}

/*
 * Resolve the service user; as root make the keys and data directories
 * its own and drop to it, before any key or file is opened. Exits on
 * failure.
 */
void
startup_become_user(struct scorer *s)
{
    struct harden_user user;
    char err[512];
    int rc;

    rc = harden_user_resolve(s->cfg.user, &user, err, sizeof(err));
    if (rc != 0)
        fatalx("%s", err);
    if (geteuid() == 0 && !user.drop)
        log_warnx("running as root: set user to a dedicated account");
    rc = harden_service_dir(
        s->cfg.keys_dir, user.uid, user.gid, err, sizeof(err));
    if (rc != 0)
        fatalx("keys_dir: %s", err);
    rc = harden_service_dir(
        s->cfg.data_dir, user.uid, user.gid, err, sizeof(err));
    if (rc != 0)
        fatalx("data_dir: %s", err);
    if (user.drop && harden_drop(user.uid, user.gid) != 0)
        fatalx("cannot drop privileges to user '%s'", s->cfg.user);
}

/*
 * True when `path` (whose parent directory exists) lies inside directory
 * `dir`, after resolving symbolic links of both.
 */
static bool
path_is_inside(const char *path, const char *dir)
{
    char parent[4096], rp[PATH_MAX], rd[PATH_MAX];
    char *slash;
    size_t n;

    snprintf(parent, sizeof(parent), "%s", path);
    slash = strrchr(parent, '/');
    if (slash == NULL)
        snprintf(parent, sizeof(parent), ".");
    else if (slash == parent)
        slash[1] = '\0';
    else
        *slash = '\0';
    if (realpath(parent, rp) == NULL || realpath(dir, rd) == NULL)
        return false;
    n = strlen(rd);
    return strncmp(rp, rd, n) == 0 &&
        (rp[n] == '/' || rp[n] == '\0' || strcmp(rd, "/") == 0);
}

/*
 * Open (creating on first start) the keys directory and the audit
 * signing key, which must lie outside the data directory: a copy of the
 * data handed to an auditor must never carry it. Exits on failure.
 */
void
startup_keys(struct scorer *s)
{
    char err[512], path[4096];
    int rc;

    if (keys_open(s->cfg.keys_dir, s->cfg.clients_dir, true, &s->keys, err,
            sizeof(err)) != 0)
        fatalx("keys: %s", err);
    s->pkey = s->keys.pseudo;
    if (cfg_signing_key_path(&s->cfg, path, sizeof(path)) != 0)
        fatalx("signing_key: path too long");
    if (path_is_inside(path, s->cfg.data_dir))
        fatalx("signing_key '%s' is inside data_dir '%s': refused (a copy "
               "of the data would carry the key); keep it in keys_dir",
            path, s->cfg.data_dir);
    rc = audit_key_load(path, s->cfg.audit_origin, true, &s->signer,
        &s->signer_created, err, sizeof(err));
    if (rc != 0)
        fatalx("signing_key: %s", err);
}

/* Open (creating) the audit subject index database in the history env. */
static int
open_subject_index(struct scorer *s)
{
    struct store_txn *txn;
    int rc;

    rc = store_txn_begin(s->store, true, &txn);
    if (rc != 0)
        return rc;
    rc = subjidx_dbi(s->store, txn, true, &s->dbi_subject);
    if (rc != 0) {
        store_txn_abort(txn);
        return rc;
    }
    return store_txn_commit(txn);
}


/*
 * Gather the audit records the journal holds past the last LMDB commit
 * (jheal.h): before it, the segments were synced. Exits on failure.
 */
static void
collect_heal(struct scorer *s, struct jheal *h)
{
    uint64_t applied = 0;
    int rc;

    rc = history_applied_seq(s->hist, s->otxn, &applied);
    if (rc == 0)
        rc = jheal_collect(s->journal, applied + 1, h);
    if (rc != 0)
        fatalx("cannot read the audit records in the journal: %s", err_str(rc));
}

/*
 * Open the audit log against the anchor LMDB holds (the size and root
 * the scorer signed last, and whether it stopped cleanly there): a log
 * shorter than that, disagreeing with its root, or longer after a clean
 * stop is refused; restore from the journal the records a crash took
 * (a log shorter than what was synced is refused). Start the witness
 * client, then mark the anchor not clean, durably, before any record is
 * appended. Exits on failure.
 */
static void
open_audit(struct scorer *s)
{
    struct store_txn *txn;
    struct jheal heal;
    char path[4096];
    int rc;

    rc = store_txn_begin(s->store, false, &txn);
    if (rc == 0) {
        rc = subjidx_anchor_get(txn, s->dbi_subject, &s->anchor);
        store_txn_abort(txn);
    }
    if (rc != 0)
        fatalx("cannot read the audit log's anchor: %s", err_str(rc));
    collect_heal(s, &heal);
    rc = cfg_path(&s->cfg, "audit", path, sizeof(path));
    if (rc == 0)
        rc = audit_log_open_heal(
            path, &s->signer, &s->anchor, &heal.heal, &s->audit);
    jheal_release(&heal);
    if (rc == ERR_CORRUPT)
        fatalx("the audit log '%s' does not match what the scorer signed "
               "(%" PRIu64 " records%s): refusing to start (see above)",
            path, s->anchor.size, s->anchor.clean ? ", clean stop" : "");
    if (rc != 0)
        fatalx("cannot open the audit log '%s': %s", path, err_str(rc));
    audit_log_set_head_interval(s->audit, (uint64_t)s->cfg.head_interval_ms);
    if (s->cfg.witness[0] != '\0') {
        char err[512];

        /* Before any record is added: the client hears of every leaf. */
        rc = wclient_start(s->cfg.witness, s->audit, path,
            audit_verifier_key(s->audit), &s->wclient, err, sizeof(err));
        if (rc != 0)
            fatalx("cannot start the witness client: %s", err);
    }
    if (!s->anchor.clean)
        return;
    rc = store_txn_begin(s->store, true, &txn);
    if (rc == 0) {
        struct audit_anchor a = s->anchor;

        a.clean = false;
        rc = subjidx_anchor_put(txn, s->dbi_subject, &a);
        if (rc == 0)
            rc = store_txn_commit(txn);
        else
            store_txn_abort(txn);
    }
    if (rc != 0)
        fatalx("cannot store the audit log's anchor: %s", err_str(rc));
}

/*
 * Record the start in the audit log: the version and a fingerprint of
 * the effective configuration (a change of configuration shows as a
 * new fingerprint), and the signing key when this start made it.
 */
static int
record_start(struct scorer *s)
{
    char ref[AUDIT_MAX_REF + 1], fp[RECORD_CONFIG_FP];
    int rc;

    record_config_fp(&s->cfg, fp);
    snprintf(ref, sizeof(ref), "vigil-scorer %s config %s", VIGIL_VERSION, fp);
    rc = record_system(s, "service.start", ref);
    if (rc == 0 && s->signer_created) {
        snprintf(ref, sizeof(ref), "created %s", audit_verifier_key(s->audit));
        rc = record_system(s, "key.signing", ref);
    }
    return rc;
}

void
startup_storage(struct scorer *s)
{
    char path[4096];
    int rc;

    rc = cfg_path(&s->cfg, "history", path, sizeof(path));
    if (rc == 0)
        rc = store_open_flags(path, (size_t)s->cfg.lmdb_map_mb << 20,
            HISTORY_DBS + 2, STORE_LAZY_META, &s->store);
    if (rc != 0)
        fatalx("cannot open history '%s': %s", path, err_str(rc));
    rc = history_open(s->store, &s->hist);
    if (rc != 0)
        fatalx("cannot open history databases: %s", err_str(rc));
    rc = open_subject_index(s);
    if (rc != 0)
        fatalx("cannot open the audit subject index: %s", err_str(rc));
    rc = store_overlay_open(s->store, &s->ov);
    if (rc != 0)
        fatalx("cannot open the history overlay: %s", err_str(rc));
    s->otxn = store_overlay_txn(s->ov);
    s->flush_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->flush_efd < 0)
        fatal("eventfd");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    rc = pthread_create(&s->flusher, NULL, scorer_flusher_main, s);
    if (rc != 0)
        fatalx("cannot start the flusher thread: %s", strerror(rc));
    rc = cfg_path(&s->cfg, "journal", path, sizeof(path));
    if (rc == 0)
        rc = journal_open(
            path, (uint64_t)s->cfg.journal_segment_mb << 20, &s->journal);
    if (rc != 0)
        fatalx("cannot open journal '%s': %s", path, err_str(rc));
    startup_mark(s, "history+journal");
    open_audit(s);
    startup_mark(s, "audit");
}

/*
 * Open the subject vault (vault.h), creating it only in a new data
 * directory: an existing one without a vault was made before
 * per-subject tokens, or lost its salts, and neither can be served
 * without breaking a promise (raw pseudonyms in its log; or every
 * earlier record unlinkable). Exits on failure.
 */
void
startup_vault(struct scorer *s)
{
    char path[4096];
    uint64_t applied = 0;
    bool fresh;
    int rc;

    rc = history_applied_seq(s->hist, s->otxn, &applied);
    if (rc != 0)
        fatalx("cannot read history: %s", err_str(rc));
    fresh = audit_size(s->audit) == 0 && applied == 0 &&
        journal_next_seq(s->journal) == 1;
    rc = cfg_path(&s->cfg, VAULT_FILE, path, sizeof(path));
    if (rc == 0)
        rc = vault_open(path, fresh, &s->vault);
    if (rc == ERR_NOTFOUND)
        fatalx("'%s' is missing from a data directory that is not new: "
               "it was made by a Vigil without per-subject tokens (its "
               "audit log names pseudonyms that erasure cannot make "
               "unlinkable), or its salts were removed; refusing to start: "
               "start with a new data directory",
            path);
    if (rc != 0)
        fatalx("cannot open the subject vault '%s': %s", path, err_str(rc));
    log_info("subject vault: %zu subjects", vault_count(s->vault));
}

void
startup_catch_up(struct scorer *s)
{
    int rc = scorer_recover_start(s);

    if (rc != 0)
        fatalx("cannot bring history up to date from the journal: %s",
            err_str(rc));
    startup_mark(s, "replay");
    /* An erasure a stop interrupted is finished before anything else
     * (its history is gone already; its salts and journal go now). */
    rc = erase_resume(s);
    if (rc != 0)
        fatalx("cannot finish a pending erasure: %s", err_str(rc));
    rc = record_bind_key(s);
    if (rc == 0)
        rc = record_start(s);
    /* While the replay's commit runs, these rows (the start's index
     * entries; a key binding happens only in a new data directory,
     * where nothing was replayed) wait for the loop's next commit. */
    if (rc == 0 && !s->flushing)
        rc = scorer_flush_sync(s);
    if (rc != 0)
        fatalx("cannot bind the data to the pseudonym key: %s", err_str(rc));
    record_repair(s);
    if (vault_damaged(s->vault) > 0) {
        char ref[64];

        snprintf(ref, sizeof(ref), "damaged slots %" PRIu64,
            vault_damaged(s->vault));
        if (record_system(s, "vault.repair", ref) != 0)
            fatalx("cannot record the vault's damaged slots");
    }
    record_checkpoint(s, true);
    log_info("history at journal seq %" PRIu64 " (%" PRIu64
             " records replayed)",
        s->applied_seq, s->stats.replayed);
}

/*
 * Start the ZAP handler, then bind the collector socket (ipc:// in the
 * 0700 data directory, CURVE: collectors' keys only) and the query
 * socket (CURVE, every client role; plain only with insecure_dev).
 */
void
startup_sockets(struct scorer *s)
{
    struct zauth_config zc = { s->keys.clients_dir, s->keys.internal_dir,
        ZAUTH_STOREFRONT | ZAUTH_ANALYST | ZAUTH_AUDITOR | ZAUTH_DPO |
            ZAUTH_ADMIN,
        s->cfg.insecure_dev ? SCORER_PLAIN_ROLE : NULL };
    const uint8_t *secret = cert_secret_key(s->keys.server_secret);
    char ep[256];
    int rc;

    rc = cfg_scorer_ipc(&s->cfg, ep, sizeof(ep));
    if (rc != 0)
        fatalx("data directory path too long for an ipc endpoint: %s",
            err_str(rc));
    s->zctx = zsock_ctx_new();
    if (s->zctx == NULL)
        fatalx("cannot create a ZeroMQ context");
    rc = zauth_start(s->zctx, &zc, &s->zauth);
    if (rc != 0)
        fatalx("cannot start the ZAP handler: %s", err_str(rc));
    rc = zsock_open(s->zctx, ZSOCK_ROUTER, &s->events_sock);
    if (rc == 0)
        rc = zsock_setopt_int(s->events_sock, ZSOCK_OPT_RCVHWM, 0);
    if (rc == 0)
        rc = zsock_setopt_int(s->events_sock, ZSOCK_OPT_SNDHWM, 0);
    if (rc == 0)
        rc = zsock_setopt_i64(
            s->events_sock, ZSOCK_OPT_MAXMSGSIZE, IPCPROTO_MAX_BYTES);
    if (rc == 0)
        rc = zsock_curve_server(s->events_sock, secret, ZSOCK_DOMAIN_INTERNAL);
    if (rc == 0)
        rc = zsock_bind(s->events_sock, ep);
    if (rc != 0)
        fatalx("cannot bind '%s': %s", ep, err_str(rc));
    log_info("listening for collectors on '%s' (CURVE)", ep);

    rc = zsock_open(s->zctx, ZSOCK_ROUTER, &s->query_sock);
    if (rc == 0)
        rc = zsock_setopt_i64(
            s->query_sock, ZSOCK_OPT_MAXMSGSIZE, SFPROTO_MAX_MSG_BYTES * 2);
    if (rc == 0 && s->cfg.insecure_dev) {
        log_warnx("insecure_dev: '%s' is plain text: every client is "
                  "'%s' with role %s, and answers are not encrypted",
            s->cfg.query_endpoint, ZAUTH_INSECURE_NAME, SCORER_PLAIN_ROLE);
        rc = zsock_zap_plain(s->query_sock, ZSOCK_DOMAIN_PUBLIC);
    } else if (rc == 0) {
        rc = zsock_curve_server(s->query_sock, secret, ZSOCK_DOMAIN_PUBLIC);
    }
    if (rc == 0)
        rc = zsock_bind(s->query_sock, s->cfg.query_endpoint);
    if (rc != 0)
        fatalx("cannot bind the query endpoint '%s': %s", s->cfg.query_endpoint,
            err_str(rc));
    log_info("answering queries on '%s' (%s)", s->cfg.query_endpoint,
        s->cfg.insecure_dev ? "plain, insecure_dev" : "CURVE");
}

/* Start the /metrics endpoint (cfg scorer_metrics; "" for none). */
void
startup_metrics(struct scorer *s)
{
    int rc;

    if (s->cfg.scorer_metrics[0] == '\0')
        return;
    rc = promsrv_start(s->cfg.scorer_metrics, status_render, s, &s->metrics);
    if (rc != 0)
        fatalx("cannot serve metrics on '%s' (scorer_metrics): %s",
            s->cfg.scorer_metrics, err_str(rc));
    log_info("metrics on 'http://%s/metrics'", s->cfg.scorer_metrics);
}

void
startup_verify_audit(struct scorer *s)
{
    s->sclock.verify_started = true;
    if (audit_log_verify_start(s->audit) != 0)
        fatalx("cannot start verifying the audit log's first %" PRIu64
               " records (taken on trust at start-up): refusing to go on",
            audit_log_trusted(s->audit));
    if (audit_log_trusted(s->audit) > 0)
        log_info("verifying audit records 0..%" PRIu64 " in the background",
            audit_size(s->audit) - 1);
}

void
startup_verify_audit_poll(struct scorer *s)
{
    const struct audit_verify_result *res = NULL;
    const struct startup_clock *c = &s->sclock;
    int rc;

    if (!c->verify_started) {
        if (c->first_group ||
            startup_now_us(CLOCK_BOOTTIME) >=
                c->ready_us + STARTUP_VERIFY_DELAY_MS * 1000u)
            startup_verify_audit(s);
        return;
    }
    rc = audit_log_verify_poll(s->audit, &res);
    if (rc == 0 || rc == ERR_AGAIN)
        return;
    fatalx("the audit log '%s' disagrees with what the scorer signed "
           "(%" PRIu64 " records): %s%s0x%016" PRIx64 ": %s; refusing to "
           "continue (see vigilctl audit verify)",
        audit_log_dir(s->audit), s->anchor.size, res != NULL ? res->file : "",
        res != NULL && res->file[0] != '\0' ? ": " : "",
        res != NULL ? res->offset : 0, res != NULL ? res->reason : "?");
}

void
startup_alloc(struct scorer *s)
{
    s->replies_cap = (uint32_t)s->cfg.batch_max + SFPROTO_MAX_BATCH;
    s->replies = xcalloc(s->replies_cap, sizeof(*s->replies));
    s->msgs = xcalloc(SCORER_GROUP_MSGS, sizeof(*s->msgs));
    /* A group's events, and the label events held before it when they
     * share its commit (scorer.c scorer_queries). */
    s->jpend =
        xcalloc((size_t)s->replies_cap + SCORER_QUERY_BATCH, sizeof(*s->jpend));
    buf_init(&s->out, IPCPROTO_MAX_BYTES);
    buf_init(&s->rec, JOURNAL_MAX_PAYLOAD);
    s->qpend = xcalloc(SCORER_QUERY_BATCH, sizeof(*s->qpend));
    for (unsigned i = 0; i < SCORER_QUERY_BATCH; i++) {
        buf_init(&s->qpend[i].out, QPROTO_REPLY_MAX);
        buf_init(&s->qpend[i].raw, EVENT_MAX_ENCODED);
    }
    s->qbatch = qbatch_new();
    s->qclients = quota_table_new(&s->quotas);
}
