/*
 * status.c - the scorer's metrics and its status map (status.h)
 *
 * Counters and histograms are bumped as things happen; gauges and the
 * counts struct scorer keeps anyway are copied into the registry just
 * before it is rendered (status_refresh), so a scrape is always current
 * and the hot paths pay nothing for them.
 *
 * See also: status.h, common/prom.h, scorer.8 ("METRICS", "STATUS")
 *
 * SPDX-License-Identifier: MIT
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/journal.h"
#include "common/prom.h"
#include "common/xmalloc.h"
#include "scorer/scorer.h"
#include "scorer/space.h"
#include "scorer/status.h"
#include "scorer/vault.h"
#include "scorer/wclient.h"

/* Label names of the families. */
static const char *const L_CLIENT_CODE[] = { "client", "code" };
static const char *const L_CLIENT_OP_CODE[] = { "client", "op", "code" };
static const char *const L_CLIENT[] = { "client" };
static const char *const L_OP[] = { "op" };
static const char *const L_DIR[] = { "dir" };
static const char *const L_RESULT[] = { "result" };
static const char *const L_KIND[] = { "kind" };
static const char *const L_VERSION[] = { "version" };

struct status {
    struct prom *reg;
    /* Bumped as things happen. */
    struct prom_family *events;     /* {client, code} */
    struct prom_family *queries;    /* {client, op, code} */
    struct prom_family *busy;       /* {client} */
    struct prom_family *query_time; /* {op} */
    struct prom_family *flushes;    /* {result} */
    struct prom_family *denials;    /* {kind} */
    struct prom_series *group_time;
    struct prom_series *groups;
    struct prom_series *flush_time;
    struct prom_series *recoveries;
    /* Copied in at render time. */
    struct prom_series *build, *start_time, *rss, *full, *full_episodes,
        *recovering, *map_size, *map_used, *map_grows, *journal_bytes,
        *audit_bytes, *audit_records, *ckpt_records, *ckpt_time,
        *overlay_entries, *gen_events, *unflushed, *applied, *orders,
        *duplicates, *conflicts, *replayed, *events_per_s, *anon,
        *overlay_bytes, *vault_bytes, *vault_index_bytes;
    struct prom_family *disk_free; /* {dir} */
    struct prom_family *disk_size; /* {dir} */
    /* The events/s window: (monotonic ms, events applied) each second. */
    uint64_t rate_ms[STATUS_RATE_WINDOW_S + 1];
    uint64_t rate_n[STATUS_RATE_WINDOW_S + 1];
    /* The process's memory, read once by status_refresh(). */
    uint64_t mem_resident, mem_anon;
    unsigned rate_next, rate_len;
    uint64_t next_rate_ms;
    /* Directory sizes, scanned every STATUS_SIZES_MS. */
    uint64_t journal_size, audit_size;
    uint64_t next_sizes_ms;
    uint64_t started_wall_ms, started_mono_ms;
};

static struct prom_series *
status_gauge(struct prom *r, const char *name, const char *help)
{
    struct prom_family *f = prom_family_add(r, PROM_GAUGE, name, help, 0, NULL);

    return prom_get0(f);
}

static struct prom_series *
status_counter(struct prom *r, const char *name, const char *help)
{
    struct prom_family *f =
        prom_family_add(r, PROM_COUNTER, name, help, 0, NULL);

    return prom_get0(f);
}

struct status *
status_new(void)
{
    struct status *st = xcalloc(1, sizeof(*st));
    struct prom *r = prom_new();

    st->reg = r;
    st->started_wall_ms = clock_wall_ms();
    st->started_mono_ms = clock_mono_ms();
    st->build = prom_get1(prom_family_add(r, PROM_GAUGE, "vigil_build_info",
                              "the version running (value 1)", 1, L_VERSION),
        VIGIL_VERSION);
    prom_set(st->build, 1);
    st->start_time = status_gauge(r, "vigil_scorer_start_time_seconds",
        "when the scorer started, seconds since the epoch");
    prom_set(st->start_time, (double)st->started_wall_ms / 1000.0);
    st->events = prom_family_add(r, PROM_COUNTER, "vigil_scorer_events_total",
        "events answered, by storefront and reply code", 2, L_CLIENT_CODE);
    st->groups = status_counter(r, "vigil_scorer_group_commits_total",
        "group commits (one audit and one journal sync each)");
    st->group_time = prom_get0(prom_family_add(r, PROM_HISTOGRAM,
        "vigil_scorer_group_duration_seconds",
        "time from draining a group to its replies", 0, NULL));
    st->queries = prom_family_add(r, PROM_COUNTER, "vigil_scorer_queries_total",
        "queries answered, by client, op and reply code", 3, L_CLIENT_OP_CODE);
    st->busy =
        prom_family_add(r, PROM_COUNTER, "vigil_scorer_queries_busy_total",
            "queries refused busy (over the client's quota) before being read",
            1, L_CLIENT);
    st->query_time = prom_family_add(r, PROM_HISTOGRAM,
        "vigil_scorer_query_duration_seconds",
        "time from reading a query to its reply, by op", 1, L_OP);
    st->denials = prom_family_add(r, PROM_COUNTER, "vigil_scorer_denials_total",
        "denied queries: recorded one by one, or merged into a counted "
        "record",
        1, L_KIND);
    st->flushes =
        prom_family_add(r, PROM_COUNTER, "vigil_scorer_lmdb_flushes_total",
            "LMDB commits of the history overlay, by result", 1, L_RESULT);
    st->flush_time = prom_get0(prom_family_add(r, PROM_HISTOGRAM,
        "vigil_scorer_lmdb_flush_duration_seconds",
        "time of one LMDB commit of the history overlay", 0, NULL));
    st->recoveries = status_counter(r, "vigil_scorer_recoveries_total",
        "rebuilds of the history overlay from the journal");
    st->events_per_s = status_gauge(r, "vigil_scorer_events_per_second",
        "events applied per second, over the last 10 s");
    st->applied = status_counter(r, "vigil_scorer_events_applied_total",
        "new events applied to history");
    st->orders =
        status_counter(r, "vigil_scorer_orders_scored_total", "orders scored");
    st->duplicates = status_counter(r, "vigil_scorer_duplicates_total",
        "resent events answered with their first reply");
    st->conflicts = status_counter(r, "vigil_scorer_conflicts_total",
        "resent ids that carried a different event");
    st->replayed = status_counter(r, "vigil_scorer_journal_replayed_total",
        "journal records replayed at start or in recoveries");
    st->full = status_gauge(r, "vigil_scorer_full",
        "1 while new events are refused for want of disk or map room");
    st->full_episodes = status_counter(
        r, "vigil_scorer_full_episodes_total", "times the scorer became full");
    st->recovering = status_gauge(r, "vigil_scorer_recovering",
        "1 while the history overlay waits to be rebuilt from the journal");
    st->map_size = status_gauge(
        r, "vigil_scorer_lmdb_map_size_bytes", "the LMDB map size");
    st->map_used = status_gauge(r, "vigil_scorer_lmdb_used_bytes",
        "bytes of the LMDB map in use (highest page written)");
    st->map_grows = status_counter(r, "vigil_scorer_lmdb_map_grows_total",
        "times the LMDB map grew while running");
    st->disk_free =
        prom_family_add(r, PROM_GAUGE, "vigil_scorer_disk_free_bytes",
            "free bytes for the service user on each data directory's file "
            "system",
            1, L_DIR);
    st->disk_size =
        prom_family_add(r, PROM_GAUGE, "vigil_scorer_disk_size_bytes",
            "size of each data directory's file system", 1, L_DIR);
    st->journal_bytes = status_gauge(
        r, "vigil_scorer_journal_size_bytes", "bytes of journal segments");
    st->audit_bytes = status_gauge(
        r, "vigil_scorer_audit_size_bytes", "bytes of the audit log directory");
    st->audit_records =
        status_gauge(r, "vigil_scorer_audit_records", "durable audit records");
    st->ckpt_records = status_gauge(r, "vigil_scorer_audit_checkpoint_records",
        "audit records covered by the latest signed checkpoint");
    st->ckpt_time =
        status_gauge(r, "vigil_scorer_audit_checkpoint_timestamp_seconds",
            "when the latest checkpoint was signed, seconds since the epoch");
    st->overlay_entries = status_gauge(r, "vigil_scorer_overlay_entries",
        "entries in the history overlay's current generation");
    st->gen_events = status_gauge(r, "vigil_scorer_unflushed_events",
        "events in the overlay generation not yet handed to LMDB");
    st->unflushed = status_gauge(r, "vigil_scorer_journal_unflushed_records",
        "journal records not yet covered by an LMDB commit");
    st->rss = status_gauge(r, "vigil_scorer_resident_memory_bytes",
        "resident set size of the scorer");
    st->anon = status_gauge(r, "vigil_scorer_anonymous_memory_bytes",
        "resident anonymous memory of the scorer (heap, stacks; RssAnon)");
    st->overlay_bytes = status_gauge(r, "vigil_scorer_overlay_bytes",
        "heap bytes of the history overlay (both generations, spare "
        "chunks)");
    st->vault_bytes = status_gauge(r, "vigil_scorer_vault_bytes",
        "bytes of the subject vault file (mapped: page cache)");
    st->vault_index_bytes = status_gauge(r, "vigil_scorer_vault_index_bytes",
        "bytes of the subject vault's index file (mapped: page cache)");
    return st;
}

void
status_free(struct status *st)
{
    if (st == NULL)
        return;
    prom_free(st->reg);
    free(st);
}

void
status_replies(
    struct status *st, const char *client, const struct reply *r, uint32_t n)
{
    uint32_t count[ERR_COUNT] = { 0 };
    uint32_t i;

    for (i = 0; i < n; i++) {
        int k = -r[i].code;

        if (k >= 0 && k < ERR_COUNT)
            count[k]++;
    }
    for (i = 0; i < ERR_COUNT; i++)
        if (count[i] > 0)
            prom_inc(
                prom_get2(st->events, client, err_name(-(int)i)), count[i]);
}

void
status_group(struct status *st, uint32_t events, uint64_t us)
{
    (void)events;
    prom_inc(st->groups, 1);
    prom_observe(st->group_time, (double)us * 1e-6);
}

void
status_flush(struct status *st, int rc, uint64_t us)
{
    prom_inc(prom_get1(st->flushes,
                 rc == 0 ? "ok" : (rc == ERR_FULL ? "full" : "error")),
        1);
    prom_observe(st->flush_time, (double)us * 1e-6);
}

void
status_query(struct status *st, const char *client, const char *op, int code,
    uint64_t us)
{
    const char *vals[3] = { client, op[0] != '\0' ? op : "none",
        err_name(code) };

    prom_inc(prom_get(st->queries, vals), 1);
    prom_observe(prom_get1(st->query_time, vals[1]), (double)us * 1e-6);
}

void
status_query_busy(struct status *st, const char *client)
{
    prom_inc(prom_get1(st->busy, client), 1);
}

void
status_denial(struct status *st, bool merged)
{
    prom_inc(prom_get1(st->denials, merged ? "merged" : "recorded"), 1);
}

void
status_recovery(struct status *st)
{
    prom_inc(st->recoveries, 1);
}

/* Bytes of the regular files directly in data_dir/`name`. */
static uint64_t
status_dir_bytes(const struct scorer *s, const char *name)
{
    char path[4096];
    struct dirent *de;
    struct stat sb;
    uint64_t total = 0;
    DIR *d;

    if (cfg_path(&s->cfg, name, path, sizeof(path)) != 0)
        return 0;
    d = opendir(path);
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(sb.st_mode))
            total += (uint64_t)sb.st_size;
    }
    closedir(d);
    return total;
}

void
status_tick(struct scorer *s)
{
    struct status *st = s->status;
    uint64_t now = clock_mono_ms();

    if (now >= st->next_rate_ms) {
        st->rate_ms[st->rate_next] = now;
        st->rate_n[st->rate_next] = s->stats.events;
        st->rate_next = (st->rate_next + 1) % (STATUS_RATE_WINDOW_S + 1);
        if (st->rate_len < STATUS_RATE_WINDOW_S + 1)
            st->rate_len++;
        st->next_rate_ms = now + 1000;
    }
    if (now >= st->next_sizes_ms) {
        st->journal_size = status_dir_bytes(s, "journal");
        st->audit_size = status_dir_bytes(s, "audit");
        st->next_sizes_ms = now + STATUS_SIZES_MS;
    }
}

/* Look at the directory sizes now (a scrape, the status op). */
static void
status_sizes_now(struct scorer *s)
{
    s->status->next_sizes_ms = 0;
    status_tick(s);
}

/* Events applied per second over the window (0 before two samples). */
static double
status_rate(const struct status *st)
{
    unsigned n = STATUS_RATE_WINDOW_S + 1;
    unsigned newest = (st->rate_next + n - 1) % n;
    unsigned oldest = st->rate_len < n ? 0 : st->rate_next;
    uint64_t dt;

    if (st->rate_len < 2)
        return 0;
    dt = st->rate_ms[newest] - st->rate_ms[oldest];
    if (dt == 0)
        return 0;
    return (double)(st->rate_n[newest] - st->rate_n[oldest]) * 1000.0 /
        (double)dt;
}

/* Wall-clock ms of the last checkpoint (0 if none since start). */
static uint64_t
status_ckpt_wall(const struct scorer *s)
{
    uint64_t now = clock_mono_ms();

    if (s->ckpt_ms == 0 || s->ckpt_ms > now)
        return 0;
    return clock_wall_ms() - (now - s->ckpt_ms);
}

/* Copy the gauges and the counts kept in struct scorer in. */
static void
status_refresh(struct scorer *s)
{
    struct status *st = s->status;
    const struct space *sp = &s->space;
    unsigned d;

    status_sizes_now(s);
    prom_set(st->events_per_s, status_rate(st));
    prom_set(st->applied, (double)s->stats.events);
    prom_set(st->orders, (double)s->stats.orders);
    prom_set(st->duplicates, (double)s->stats.duplicates);
    prom_set(st->conflicts, (double)s->stats.conflicts);
    prom_set(st->replayed, (double)s->stats.replayed);
    prom_set(st->full, space_full(sp) ? 1 : 0);
    prom_set(st->full_episodes, (double)sp->episodes);
    prom_set(st->recovering, s->needs_recovery ? 1 : 0);
    prom_set(st->map_size, (double)sp->map_bytes);
    prom_set(st->map_used, (double)sp->used_bytes);
    prom_set(st->map_grows, (double)sp->grows);
    for (d = 0; d < SPACE_NDIRS; d++) {
        if (sp->total_bytes[d] == 0)
            continue;
        prom_set(prom_get1(st->disk_free, space_dir_name(d)),
            (double)sp->free_bytes[d]);
        prom_set(prom_get1(st->disk_size, space_dir_name(d)),
            (double)sp->total_bytes[d]);
    }
    prom_set(st->journal_bytes, (double)st->journal_size);
    prom_set(st->audit_bytes, (double)st->audit_size);
    if (s->audit != NULL) {
        prom_set(st->audit_records, (double)audit_size(s->audit));
        prom_set(st->ckpt_records, (double)audit_checkpoint_size(s->audit));
    }
    prom_set(st->ckpt_time, (double)status_ckpt_wall(s) / 1000.0);
    if (s->ov != NULL)
        prom_set(st->overlay_entries, (double)store_overlay_entries(s->ov));
    prom_set(st->gen_events, (double)s->gen_events);
    prom_set(st->unflushed,
        (double)(s->applied_seq > s->committed_seq ?
                s->applied_seq - s->committed_seq :
                0));
    prom_memory(&st->mem_resident, &st->mem_anon);
    prom_set(st->rss, (double)st->mem_resident);
    prom_set(st->anon, (double)st->mem_anon);
    if (s->ov != NULL)
        prom_set(st->overlay_bytes, (double)store_overlay_bytes(s->ov));
    if (s->vault != NULL) {
        prom_set(st->vault_bytes, (double)vault_file_bytes(s->vault));
        prom_set(st->vault_index_bytes, (double)vault_index_bytes(s->vault));
    }
}

int
status_render(void *arg, struct buf *out)
{
    struct scorer *s = arg;

    status_refresh(s);
    return prom_render(s->status->reg, out);
}

/* ------------------------------------------------------- the status op */

/* Errors (codes other than ok) by client and by code, events and queries. */
struct status_errors {
    const char *client[STATUS_MAX_CLIENTS];
    uint64_t n[STATUS_MAX_CLIENTS][ERR_COUNT];
    unsigned nclients;
    uint64_t by_code[ERR_COUNT];
    unsigned ncodes; /* codes with a count */
    unsigned nclient_codes[STATUS_MAX_CLIENTS];
    uint64_t queries, events;
};

static int
status_code_index(const char *name)
{
    int rc = reply_code_parse(name);

    return rc > 0 ? -1 : -rc;
}

static void
status_errors_add(
    struct status_errors *e, const char *client, const char *code, uint64_t n)
{
    int k = status_code_index(code);
    unsigned i;

    if (k <= 0 || n == 0)
        return;
    for (i = 0; i < e->nclients; i++)
        if (strcmp(e->client[i], client) == 0)
            break;
    if (i == e->nclients) {
        if (e->nclients == STATUS_MAX_CLIENTS)
            return;
        e->client[e->nclients++] = client;
    }
    if (e->n[i][k] == 0)
        e->nclient_codes[i]++;
    if (e->by_code[k] == 0)
        e->ncodes++;
    e->n[i][k] += n;
    e->by_code[k] += n;
}

/*
 * How one counter family adds to struct status_errors: which total its
 * series count in, and where the error code comes from (the label
 * `code_label`, or `code` when the family is of one code).
 */
struct status_tally {
    struct status_errors *e;
    uint64_t *total;
    unsigned code_label;
    const char *code;
};

static int
status_each(void *arg, const struct prom_series *ser)
{
    const struct status_tally *t = arg;
    uint64_t n = (uint64_t)prom_value(ser);

    *t->total += n;
    status_errors_add(t->e, prom_label(ser, 0),
        t->code != NULL ? t->code : prom_label(ser, t->code_label), n);
    return 0;
}

static void
put_k(struct wire_enc *e, const char *k)
{
    wire_put_str(e, k);
}

static void
put_u(struct wire_enc *e, const char *k, uint64_t v)
{
    wire_put_str(e, k);
    wire_put_uint(e, v);
}

static void
put_s(struct wire_enc *e, const char *k, const char *v)
{
    wire_put_str(e, k);
    wire_put_str(e, v);
}

static void
put_d(struct wire_enc *e, const char *k, double v)
{
    wire_put_str(e, k);
    wire_put_double(e, v);
}

static void
put_b(struct wire_enc *e, const char *k, bool v)
{
    wire_put_str(e, k);
    wire_put_bool(e, v);
}

static uint32_t status_count;

static int
status_count_cb(void *arg, const struct prom_series *ser)
{
    (void)arg;
    (void)ser;
    status_count++;
    return 0;
}

/* "<op>": p99 in ms, for each op's latency histogram. */
static int
status_p99_cb(void *arg, const struct prom_series *ser)
{
    put_d(arg, prom_label(ser, 0), prom_quantile(ser, 0.99) * 1000);
    return 0;
}

static void
status_pack_errors(struct wire_enc *e, const struct status_errors *er)
{
    unsigned i, k;

    put_k(e, "errors_by_code");
    wire_put_map(e, er->ncodes);
    for (k = 1; k < ERR_COUNT; k++)
        if (er->by_code[k] > 0)
            put_u(e, err_name(-(int)k), er->by_code[k]);
    put_k(e, "errors_by_client");
    wire_put_map(e, er->nclients);
    for (i = 0; i < er->nclients; i++) {
        wire_put_str(e, er->client[i]);
        wire_put_map(e, er->nclient_codes[i]);
        for (k = 1; k < ERR_COUNT; k++)
            if (er->n[i][k] > 0)
                put_u(e, err_name(-(int)k), er->n[i][k]);
    }
}

/*
 * The witnesses: how many are configured, how many cosigned the newest
 * checkpoint, the smallest and largest size one cosigned (the smallest
 * is what every witness vouches for), and the push counters.
 */
static void
status_pack_witness(struct wire_enc *e, struct scorer *s)
{
    struct wclient_stats ws;

    memset(&ws, 0, sizeof(ws));
    if (s->wclient != NULL)
        wclient_stats(s->wclient, &ws);
    put_k(e, "witness");
    wire_put_map(e, 7);
    put_u(e, "configured", ws.witnesses);
    put_u(e, "cosigned_newest", ws.current);
    put_u(e, "min_cosigned_size", ws.min_size);
    put_u(e, "max_cosigned_size", ws.max_size);
    put_u(e, "pushes", ws.pushes);
    put_u(e, "failures", ws.failures);
    put_u(e, "conflicts", ws.conflicts);
}

static void
status_pack_disk(struct wire_enc *e, const struct scorer *s)
{
    const struct space *sp = &s->space;
    unsigned d, n = 0;

    for (d = 0; d < SPACE_NDIRS; d++)
        n += sp->total_bytes[d] != 0;
    put_k(e, "disk");
    wire_put_map(e, n + 1);
    put_u(e, "min_free_mb", (uint64_t)s->cfg.disk_min_free_mb);
    for (d = 0; d < SPACE_NDIRS; d++) {
        if (sp->total_bytes[d] == 0)
            continue;
        wire_put_str(e, space_dir_name(d));
        wire_put_map(e, 3);
        put_u(e, "free_bytes", sp->free_bytes[d]);
        put_u(e, "size_bytes", sp->total_bytes[d]);
        put_d(e, "free_pct",
            (double)sp->free_bytes[d] * 100.0 / (double)sp->total_bytes[d]);
    }
}

/*
 * What holds the scorer's memory, each beside its bound: the heap
 * (anonymous) against the whole resident set, the overlay (a generation
 * is flushed at overlay_max_entries entries; spare chunks at most
 * 64 MiB), the pages LMDB's commits wrote (its heap pool holds as many
 * as the largest; bounded by lmdb_commit_max_pages), and the mapped
 * vault files (page cache, which the kernel
 * reclaims: 64 bytes a subject, the index 16 to 32).
 */
static void
status_pack_memory(struct wire_enc *e, struct scorer *s)
{
    put_k(e, "memory");
    wire_put_map(e, 11);
    put_u(e, "resident_bytes", s->status->mem_resident);
    put_u(e, "anonymous_bytes", s->status->mem_anon);
    put_u(e, "overlay_bytes", s->ov != NULL ? store_overlay_bytes(s->ov) : 0);
    put_u(e, "overlay_entries",
        s->ov != NULL ? (uint64_t)store_overlay_entries(s->ov) : 0);
    put_u(e, "overlay_max_entries", (uint64_t)s->cfg.overlay_max_entries);
    /* LMDB's pool of dirty pages (heap): the most one commit wrote,
     * against lmdb_commit_max_pages (scorer.h, COMMIT PAGES). */
    put_u(e, "commit_max_entries", (uint64_t)scorer_commit_cap(s));
    put_u(e, "lmdb_commit_pages", s->commit_pages_last);
    put_u(e, "lmdb_commit_pages_max", s->commit_pages_max);
    put_u(e, "vault_subjects", s->vault != NULL ? vault_count(s->vault) : 0);
    put_u(e, "vault_bytes", s->vault != NULL ? vault_file_bytes(s->vault) : 0);
    put_u(e, "vault_index_bytes",
        s->vault != NULL ? vault_index_bytes(s->vault) : 0);
}

void
status_pack(struct scorer *s, struct wire_enc *e)
{
    static struct status_errors er;
    struct status *st = s->status;
    const struct space *sp = &s->space;
    uint64_t ckpt = status_ckpt_wall(s);

    status_refresh(s);
    memset(&er, 0, sizeof(er));
    /* Labels: events client, code; queries client, op, code; busy client. */
    prom_each(st->events, status_each,
        &(struct status_tally){
            .e = &er, .total = &er.events, .code_label = 1 });
    prom_each(st->queries, status_each,
        &(struct status_tally){
            .e = &er, .total = &er.queries, .code_label = 2 });
    prom_each(st->busy, status_each,
        &(struct status_tally){
            .e = &er, .total = &er.queries, .code = "busy" });

    wire_put_map(e, 20);
    put_s(e, "version", VIGIL_VERSION);
    put_u(e, "started", st->started_wall_ms);
    put_u(e, "uptime_s", (clock_mono_ms() - st->started_mono_ms) / 1000);
    put_s(e, "state",
        space_full(sp) ? "full" : (s->needs_recovery ? "recovering" : "ok"));
    put_s(e, "full_reason", space_full(sp) ? sp->reason : "");
    put_d(e, "events_per_s", status_rate(st));

    put_k(e, "totals");
    wire_put_map(e, 10);
    put_u(e, "events_answered", er.events);
    put_u(e, "events_applied", s->stats.events);
    put_u(e, "orders_scored", s->stats.orders);
    put_u(e, "duplicates", s->stats.duplicates);
    put_u(e, "conflicts", s->stats.conflicts);
    put_u(e, "queries", er.queries);
    put_u(e, "group_commits", (uint64_t)prom_value(st->groups));
    put_u(e, "lmdb_commits", s->stats.commits);
    put_u(e, "query_commits", s->stats.qcommits);
    put_u(e, "query_commits_shared", s->stats.qshared);

    put_k(e, "latency_ms");
    wire_put_map(e, 4);
    put_d(e, "group_p50", prom_quantile(st->group_time, 0.5) * 1000);
    put_d(e, "group_p99", prom_quantile(st->group_time, 0.99) * 1000);
    put_d(e, "lmdb_flush_p99", prom_quantile(st->flush_time, 0.99) * 1000);
    put_k(e, "query_p99");
    status_count = 0;
    prom_each(st->query_time, status_count_cb, NULL);
    wire_put_map(e, status_count);
    prom_each(st->query_time, status_p99_cb, e);

    status_pack_errors(e, &er);

    put_k(e, "queues");
    wire_put_map(e, 5);
    put_u(e, "overlay_entries",
        s->ov != NULL ? (uint64_t)store_overlay_entries(s->ov) : 0);
    put_u(e, "unflushed_events", s->gen_events);
    put_u(e, "journal_unflushed_records",
        s->applied_seq > s->committed_seq ? s->applied_seq - s->committed_seq :
                                            0);
    put_b(e, "flushing", s->flushing);
    put_b(e, "flush_waits_for_room", sp->flush_retry);

    put_k(e, "lmdb");
    wire_put_map(e, 6);
    put_u(e, "map_bytes", sp->map_bytes);
    put_u(e, "used_bytes", sp->used_bytes);
    put_d(e, "used_pct",
        sp->map_bytes ? (double)sp->used_bytes * 100.0 / (double)sp->map_bytes :
                        0.0);
    put_u(e, "grows", sp->grows);
    put_u(e, "full_pct", (uint64_t)s->cfg.lmdb_map_full_pct);
    put_u(e, "grow_step_mb", (uint64_t)s->cfg.lmdb_map_step_mb);

    status_pack_disk(e, s);

    put_k(e, "journal");
    wire_put_map(e, 4);
    put_u(e, "bytes", st->journal_size);
    put_u(e, "first_seq", s->journal ? journal_first_seq(s->journal) : 0);
    put_u(e, "next_seq", s->journal ? journal_next_seq(s->journal) : 0);
    put_u(e, "committed_seq", s->committed_seq);

    put_k(e, "audit");
    wire_put_map(e, 4);
    put_u(e, "bytes", st->audit_size);
    put_u(e, "records", s->audit ? audit_size(s->audit) : 0);
    put_u(e, "checkpoint_records",
        s->audit ? audit_checkpoint_size(s->audit) : 0);
    put_u(e, "last_checkpoint", ckpt);

    status_pack_witness(e, s);
    put_s(e, "model_version",
        s->model_version != NULL ? s->model_version : "n/a");

    put_k(e, "quotas");
    wire_put_map(e, 5);
    put_d(e, "queries_per_s", s->quotas.queries.per_s);
    put_d(e, "queries_burst", s->quotas.queries.burst);
    put_d(e, "events_per_s", s->quotas.events.per_s);
    put_d(e, "events_burst", s->quotas.events.burst);
    put_u(e, "client_rules", s->quotas.nrules);

    put_u(e, "resident_memory_bytes", st->mem_resident);
    status_pack_memory(e, s);
}
