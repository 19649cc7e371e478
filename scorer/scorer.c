/*
 * scorer.c - vigil-scorer: main(), the poll loop and the stop
 *
 * main() reads as the start-up checklist (each step in startup.c):
 * harden the process, parse arguments, load and check the
 * configuration, as root make the keys and data directories the service
 * user's and drop to it, open the keys, start the ZAP handler and bind
 * the collector and query sockets, open the store, history, journal and
 * audit log, bring history up to date from the journal and bind the
 * data to the pseudonym key, loop. The loop polls the query socket
 * (query.c, qbatch.c: label operations held for one commit), the
 * collector socket (group.c: one group commit per drain, which also
 * commits the labels held when both were waiting), the flusher's bell
 * (flusher.c) and /metrics, and
 * between polls reloads on SIGHUP (lifecycle.c), records refused
 * peers, signs checkpoints and heads (record.c), runs retention and
 * starts a commit every commit_interval_ms or commit_max_events (whichever
 * comes first; at the cap, while a commit runs, it takes no more events:
 * that bounds the journal tail a restart replays). SIGTERM drains what is
 * queued, commits, signs the final checkpoint and closes everything.
 *
 * Two threads: this loop (sockets, journal, history reads and writes in
 * the overlay) and the flusher (LMDB write transactions only).
 *
 * See also: scorer.8, scorer.conf.5, scorer.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/compiler.h"
#include "common/crashpoint.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/note.h"
#include "common/promsrv.h"
#include "common/quota.h"
#include "common/sig.h"
#include "common/store.h"
#include "common/zauth.h"
#include "common/zsock.h"
#include "scorer/lifecycle.h"
#include "scorer/qbatch.h"
#include "scorer/record.h"
#include "scorer/retention.h"
#include "scorer/scorer.h"
#include "scorer/space.h"
#include "scorer/startup.h"
#include "scorer/status.h"
#include "scorer/wclient.h"

#define SCORER_WITNESS_FLUSH_MS  3000 /* at stop, for the final checkpoint */
#define SCORER_STATS_INTERVAL_MS 10000
/* Queries answered per drain of the query socket (one qbatch; at most
 * SCORER_QUERY_BATCH held, so one commit). 128 before 2026-12-05: a
 * replayed data set's labels (one for every three events) fell behind
 * the events' groups, and the replay waited for them at each day. */
#define SCORER_QUERY_DRAIN 512

/*
 * Between polls: reload the allow-list on SIGHUP (recorded), and record
 * the peers the ZAP handler refused.
 */
static void
scorer_auth_tick(struct scorer *s)
{
    struct zauth_refusal r[64];
    size_t n;

    if (sig_reload) {
        char ref[64];
        size_t nclients = 0;
        int rc;

        sig_reload = 0;
        lifecycle_reload(s);
        rc = zauth_reload(s->zauth, &nclients);
        if (rc != 0) {
            log_warnx(
                "SIGHUP: the allow-list was not reloaded: %s", err_str(rc));
            snprintf(ref, sizeof(ref), "failed: %s", err_str(rc));
        } else {
            log_info("SIGHUP: %zu clients in the allow-list", nclients);
            snprintf(ref, sizeof(ref), "clients %zu", nclients);
        }
        if (record_system(s, "auth.reload", ref) != 0)
            log_warnx("the allow-list reload is not in the audit log");
    }
    n = zauth_take_refusals(s->zauth, r, ARRAY_LEN(r));
    if (n > 0)
        record_refusals(s, "scorer", r, n);
}

#define SCORER_STATS_FMT                                                       \
    "events %" PRIu64 " orders %" PRIu64 " duplicates %" PRIu64                \
    " rejected %" PRIu64 " groups %" PRIu64 " commits %" PRIu64                \
    " seq %" PRIu64
#define SCORER_STATS_ARGS(s)                                                   \
    (s)->stats.events, (s)->stats.orders, (s)->stats.duplicates,               \
        (s)->stats.rejected, (s)->stats.groups, (s)->stats.commits,            \
        (s)->applied_seq

static void
scorer_log_stats(const struct scorer *s, bool final)
{
    if (final)
        log_info(SCORER_STATS_FMT, SCORER_STATS_ARGS(s));
    else
        log_debug(SCORER_STATS_FMT, SCORER_STATS_ARGS(s));
}

/*
 * Answer the queries waiting on the query socket (a bounded batch); the
 * label operations among them are made durable together at the end
 * (query_flush: one audit sync and one journal sync), then the batch's
 * denials (qbatch.h). At most one of the two holds unsynced records at
 * any time (query.c).
 *
 * With `share` (collector messages are waiting too, and scorer_group
 * runs next), held label operations are not committed here: their
 * audit records and events join the events' group commit, one fdatasync
 * and one signed head for both, and query_flush answers them after it
 * with its result (scorer_loop). Not when denials are held too (their
 * batch syncs on its own, and must not sync the labels' records) or
 * when the overlay needs recovery (scorer_group would rebuild it before
 * committing). A replayed data set sends labels and events at once:
 * this halves its commits.
 */
static void
scorer_queries(struct scorer *s, bool share)
{
    struct zsock_msg m;
    int i;

    if (s->needs_recovery && scorer_maybe_recover(s) != 0)
        log_debug("recovery pending; queries are answered from the "
                  "overlay");
    for (i = 0; i < SCORER_QUERY_DRAIN; i++) {
        if (zsock_recv_msg(s->query_sock, &m, ZSOCK_DONTWAIT) != 0)
            break;
        query_handle(s, &m);
        zsock_msg_close(&m);
    }
    s->qcur = NULL;
    if (share && s->nqpend > 0 && !s->needs_recovery && qbatch_empty(s)) {
        s->qshare = true;
        s->qshare_done = false;
        return;
    }
    query_flush(s);
    qbatch_flush(s);
}

/* Between polls: headroom, a commit kept for want of room, the status
 * window. */
static void
scorer_ops_tick(struct scorer *s)
{
    space_tick(s, false);
    if (space_flush_due(s))
        scorer_flush_kick(s);
    status_tick(s);
    startup_verify_audit_poll(s);
}

static void
scorer_loop(struct scorer *s)
{
    uint64_t next_stats = clock_mono_ms() + SCORER_STATS_INTERVAL_MS;

    while (!sig_stop) {
        /* The tail a restart after kill -9 replays is what the journal
         * holds past the last LMDB commit: the generation being written
         * and the current one. While a commit runs and the current one
         * holds commit_max_events, take no more events (queries go on):
         * the tail stays under 2 x commit_max_events + one group. */
        bool capped = s->flushing &&
            (s->gen_events >= (uint32_t)s->cfg.commit_max_events ||
                store_overlay_entries(s->ov) >= scorer_commit_cap(s));
        struct zsock_pollitem items[4] = {
            { s->events_sock, 0, capped ? 0 : ZSOCK_POLLIN, 0 },
            { NULL, s->flush_efd, ZSOCK_POLLIN, 0 },
            { s->query_sock, 0, ZSOCK_POLLIN, 0 },
            { NULL, s->metrics ? promsrv_fd(s->metrics) : -1, ZSOCK_POLLIN, 0 },
        };
        uint64_t now = clock_mono_ms();
        long timeout = SPACE_CHECK_MS;
        bool carried = !capped && scorer_group_carried(s);
        bool events;
        int rc, nready = 0;

        if (s->gen_events > 0 && !s->flushing) {
            uint64_t due =
                s->gen_opened_ms + (uint64_t)s->cfg.commit_interval_ms;

            timeout = due > now ? (long)(due - now) : 0;
        }
        if (audit_size(s->audit) > audit_checkpoint_size(s->audit)) {
            uint64_t due = s->ckpt_ms + (uint64_t)s->cfg.checkpoint_interval_ms;

            /* Left to the next commit (record_checkpoint): wake when it
             * would be overdue instead. */
            if (due <= now && record_checkpoint_deferred(s, now))
                due += (uint64_t)s->cfg.checkpoint_interval_ms;
            if (due <= now)
                timeout = 0;
            else if ((long)(due - now) < timeout)
                timeout = (long)(due - now);
        }
        {
            uint64_t due = audit_head_due(s->audit);

            if (due <= now)
                timeout = 0;
            else if (due - now < (uint64_t)timeout)
                timeout = (long)(due - now);
        }
        {
            uint64_t due = retention_tick(s);

            if ((long)due < timeout)
                timeout = (long)due;
        }
        if (carried)
            timeout = 0; /* a batch carried from the last group waits */
        rc = zsock_poll(items, s->metrics ? 4 : 3, timeout, &nready);
        if (rc == ERR_SHUTDOWN)
            break;
        events = carried || (items[0].revents & ZSOCK_POLLIN) != 0;
        if (items[1].revents & ZSOCK_POLLIN)
            scorer_flush_poll(s);
        scorer_ops_tick(s);
        /* Queries first: held labels share the group's commit. */
        if (items[2].revents & ZSOCK_POLLIN)
            scorer_queries(s, events);
        if (events)
            scorer_group(s);
        if (s->qshare)
            query_flush(s); /* committed by scorer_group, or now */
        if (s->metrics != NULL)
            promsrv_run(s->metrics);
        scorer_auth_tick(s);
        record_checkpoint(s, false);
        record_head(s);

        /* Back-pressure: a generation may not outgrow one LMDB write
         * transaction (or memory) while the previous one is being written. */
        if (s->flushing &&
            store_overlay_entries(s->ov) >= 2 * scorer_commit_cap(s))
            scorer_flush_wait(s);
        now = clock_mono_ms();
        if (s->gen_events > 0 &&
            (now >= s->gen_opened_ms + (uint64_t)s->cfg.commit_interval_ms ||
                s->gen_events >= (uint32_t)s->cfg.commit_max_events ||
                store_overlay_entries(s->ov) >= scorer_commit_cap(s)))
            scorer_flush_start(s);
        if (now >= next_stats) {
            scorer_log_stats(s, false);
            next_stats = now + SCORER_STATS_INTERVAL_MS;
        }
    }
}

/*
 * After SIGTERM: answer what is already queued on both sockets (events
 * and queries that arrived before the signal), for at most half of
 * shutdown_timeout_ms, so that no client waits for a reply that will
 * never come. The commit and the checkpoint follow in scorer_shutdown.
 */
static void
scorer_drain(struct scorer *s)
{
    uint64_t end = clock_mono_ms() + (uint64_t)s->cfg.shutdown_timeout_ms / 2;
    unsigned rounds = 0;

    log_info("stopping: answering what is queued, then committing");
    while (clock_mono_ms() < end) {
        struct zsock_pollitem items[2] = {
            { s->events_sock, 0, ZSOCK_POLLIN, 0 },
            { s->query_sock, 0, ZSOCK_POLLIN, 0 },
        };
        int nready = 0;

        if (zsock_poll(items, 2, 0, &nready) != 0 ||
            (nready == 0 && !scorer_group_carried(s)))
            break;
        scorer_flush_poll(s);
        if ((items[0].revents & ZSOCK_POLLIN) || scorer_group_carried(s))
            scorer_group(s);
        if (items[1].revents & ZSOCK_POLLIN)
            scorer_queries(s, false);
        rounds++;
    }
    log_debug("drained in %u rounds", rounds);
}

/*
 * At the very end of a clean stop (everything flushed, the last
 * checkpoint signed, nothing more to append): store the anchor marked
 * clean, so that the next start refuses a log that grew or shrank while
 * the scorer was stopped.
 */
static void
scorer_close_audit(struct scorer *s)
{
    struct store_txn *txn;
    int rc;

    rc = store_txn_begin(s->store, true, &txn);
    if (rc == 0) {
        rc = scorer_anchor_put(s, txn, true);
        if (rc == 0)
            rc = store_txn_commit(txn);
        else
            store_txn_abort(txn);
    }
    if (rc != 0)
        log_warnx("cannot mark the audit log's anchor clean: %s (the next "
                  "start checks it as after a crash)",
            err_str(rc));
}

static void
scorer_shutdown(struct scorer *s)
{
    int rc;

    if (sig_stop)
        scorer_drain(s);
    if (record_system(s, "service.stop", "") != 0)
        log_warnx("the stop is not in the audit log");
    rc = s->needs_recovery ? ERR_IO : scorer_flush_sync(s);
    if (rc != 0)
        log_warnx("final commit failed (the journal still holds every "
                  "acknowledged event): %s",
            err_str(rc));
    record_checkpoint(s, true);
    scorer_log_stats(s, true);
    /* A few seconds for the witnesses to cosign the final checkpoint. */
    wclient_stop(s->wclient, s->audit, SCORER_WITNESS_FLUSH_MS);
    s->wclient = NULL;
    promsrv_stop(s->metrics);
    s->metrics = NULL;
    pthread_mutex_lock(&s->mu);
    s->flusher_quit = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->flusher, NULL);
    if (rc == 0 && !s->needs_recovery &&
        audit_size(s->audit) == audit_checkpoint_size(s->audit))
        scorer_close_audit(s);
    /* Batches never taken: never answered (the collector times them out
     * and the storefronts resend). */
    for (unsigned i = 0; i < SCORER_CARRY_MAX; i++)
        zsock_msg_close(&s->carry[i]);
    zsock_close(s->events_sock);
    zsock_close(s->query_sock);
    zauth_stop(s->zauth);
    zsock_ctx_term(s->zctx);
    audit_log_close(s->audit);
    note_signer_wipe(&s->signer);
    s->pkey = NULL;
    keys_close(&s->keys);
    journal_close(s->journal);
    retention_release(&s->retention);
    vault_close(s->vault);
    store_overlay_close(s->ov);
    history_close(s->hist);
    store_close(s->store);
    close(s->flush_efd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    buf_release(&s->out);
    wire_dec_release(&s->env_dec);
    wire_dec_release(&s->ev_dec);
    wire_dec_release(&s->q_dec);
    buf_release(&s->rec);
    for (unsigned i = 0; s->qpend != NULL && i < SCORER_QUERY_BATCH; i++) {
        buf_wipe_release(&s->qpend[i].out);
        buf_release(&s->qpend[i].raw);
    }
    free(s->qpend);
    free(s->msgs);
    free(s->jpend);
    free(s->replies);
    qbatch_free(s->qbatch);
    quota_table_free(s->qclients);
    status_free(s->status);
    modelsvc_stop(s);
    lifecycle_unlock(s);
    cfg_release(&s->cfg);
}

int
main(int argc, char **argv)
{
    static struct scorer s;

    if (harden_process() != 0)
        return 1;
#ifdef VIGIL_BENCH_NO_EVENT_AUDIT
    /* A build for measuring what auditing costs, never for data. */
    if (getenv("VIGIL_BENCH_NO_EVENT_AUDIT_OK") == NULL ||
        strcmp(getenv("VIGIL_BENCH_NO_EVENT_AUDIT_OK"), "1") != 0) {
        fprintf(stderr,
            "vigil-scorer: this is a benchmark build without the event "
            "path's audit records (VIGIL_BENCH_NO_EVENT_AUDIT); it stores "
            "events no audit record covers and refuses to start unless "
            "VIGIL_BENCH_NO_EVENT_AUDIT_OK=1\n");
        return 1;
    }
    fprintf(stderr,
        "vigil-scorer: BENCHMARK BUILD: events are stored "
        "without audit records\n");
#endif
    startup_clock_init(&s);
    s.lock_fd = -1;
    s.flush_audit.sf.fd = -1;
    s.flush_audit.pool_fd = -1;
    s.status = status_new();
    startup_config(&s, argc, argv);
    startup_mark(&s, "exec+config");
    crashpoint_init(); /* before the flusher thread */
    /* The journal replay decodes events: the decoders come first. */
    wire_dec_init(&s.env_dec, 64 * 1024);
    wire_dec_init(&s.ev_dec, 8 * 1024);
    wire_dec_init(&s.q_dec, 8 * 1024);
    startup_become_user(&s);
    lifecycle_lock(&s);
    startup_keys(&s);
    startup_mark(&s, "keys");
    /* Bound first: a collector reconnects and hands over what it holds
     * while storage opens and the journal tail is replayed. */
    startup_sockets(&s);
    startup_mark(&s, "sockets");
    startup_storage(&s);
    startup_vault(&s);
    startup_mark(&s, "vault");
    startup_catch_up(&s);
    startup_mark(&s, "records");
    retention_init(&s.retention, &s.cfg);
    startup_alloc(&s);
    startup_metrics(&s);
    sig_install(true);
    space_tick(&s, true);
    startup_mark(&s, "metrics");
    startup_ready(&s);
    log_info("vigil-scorer %s ready (review >= %u, block >= %u)", VIGIL_VERSION,
        s.params.review_threshold, s.params.block_threshold);
    scorer_loop(&s);
    if (sig_stop)
        lifecycle_watchdog(&s);
    scorer_shutdown(&s);
    log_info("stopped");
    return 0;
}
