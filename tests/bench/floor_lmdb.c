/*
 * floor_lmdb.c - bare storage floors: LMDB random puts, append+fdatasync
 *
 * Two floors that vigil's durable write path is printed beside:
 *  - put:    300-byte values written under random keys of a database
 *            prefilled with `keys` keys (1M by default), one write
 *            transaction per `batch` puts, committed with or without
 *            sync (--nosync) -> puts/s and commit latency;
 *  - append: `batch` records of `size` bytes appended with one write()
 *            and made durable with one fdatasync() -> records/s and
 *            fdatasync latency.
 * Each measures `runs` timed windows of `duration` seconds (after one
 * prefill) and reports the median window, so one invocation gives the
 * "median of 3" the bench table prints.
 *
 * Invariants:
 *  - bare on purpose: calls mdb_* directly (a floor must not measure our
 *    wrappers); not part of the product, built as bench-floor-lmdb.
 *  - works only inside --dir, which must exist; removes its files.
 *
 * See also: tests/bench/README.md, DESIGN.md "Numbers it must reach"
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/xmalloc.h"

#define NS_PER_S 1000000000ULL
#define MAX_RUNS 9

struct opts {
    const char *mode; /* "put" or "append" */
    const char *dir;
    bool sync;
    uint64_t keys;
    unsigned batch;
    unsigned size;
    double duration;
    unsigned runs;
    bool json;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t
rng_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double
median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Commit latencies of one window (kept whole: a few thousand at most). */
struct lat {
    double *v;
    size_t n, cap;
};

static void
lat_add(struct lat *l, double us)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 1024;
        l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
    }
    l->v[l->n++] = us;
}

static double
lat_q(struct lat *l, double q)
{
    size_t i;

    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof(*l->v), cmp_double);
    i = (size_t)ceil(q * (double)l->n);
    return l->v[i > 0 ? i - 1 : 0];
}

static void
die_mdb(const char *what, int rc)
{
    fprintf(stderr, "bench-floor-lmdb: %s: %s\n", what, mdb_strerror(rc));
    exit(2);
}

/* Die with `what` unless an mdb_* call returned 0. */
static void
mdb_ok(int rc, const char *what)
{
    if (rc != 0)
        die_mdb(what, rc);
}

static void
key_of(uint64_t i, uint8_t k[8])
{
    for (int b = 7; b >= 0; b--) {
        k[b] = (uint8_t)i;
        i >>= 8;
    }
}

/* Fill the database with `keys` sorted keys, fast (append, no sync). */
static void
prefill(MDB_env *env, MDB_dbi dbi, const struct opts *o, uint8_t *val)
{
    uint64_t i = 0;
    uint8_t k[8];

    while (i < o->keys) {
        MDB_txn *txn;

        mdb_ok(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        for (uint64_t end = i + 100000; i < end && i < o->keys; i++) {
            MDB_val mk = { 8, k }, mv = { o->size, val };

            key_of(i, k);
            mdb_ok(
                mdb_put(txn, dbi, &mk, &mv, MDB_APPEND), "mdb_put (prefill)");
        }
        mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit (prefill)");
    }
    mdb_env_sync(env, 1);
}

static void
floor_put(const struct opts *o)
{
    char path[4096];
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    uint8_t *val = xmalloc(o->size);
    uint64_t seed = 42, t0;
    double rate[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS];
    unsigned flags = MDB_NOSUBDIR | (o->sync ? 0 : MDB_NOSYNC);

    for (unsigned i = 0; i < o->size; i++)
        val[i] = (uint8_t)(i * 17);
    snprintf(path, sizeof(path), "%s/floor.mdb", o->dir);
    mdb_ok(mdb_env_create(&env), "mdb_env_create");
    mdb_env_set_mapsize(
        env, (size_t)(o->keys + 1000) * (o->size + 64) * 3 + (64u << 20));
    mdb_ok(mdb_env_open(env, path, flags, 0600), "mdb_env_open");
    mdb_ok(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_ok(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
    t0 = now_ns();
    prefill(env, dbi, o, val);
    if (!o->json)
        fprintf(stderr, "prefilled %" PRIu64 " keys in %.1f s\n", o->keys,
            (double)(now_ns() - t0) / 1e9);

    for (unsigned run = 0; run < o->runs; run++) {
        struct lat l = { NULL, 0, 0 };
        uint64_t puts = 0, start = now_ns();
        uint64_t end = start + (uint64_t)(o->duration * 1e9);
        uint8_t k[8];

        while (now_ns() < end) {
            uint64_t c0;

            mdb_ok(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
            for (unsigned i = 0; i < o->batch; i++) {
                MDB_val mk = { 8, k }, mv = { o->size, val };

                key_of(rng_next(&seed) % o->keys, k);
                val[0] = (uint8_t)puts;
                mdb_ok(mdb_put(txn, dbi, &mk, &mv, 0), "mdb_put");
                puts++;
            }
            c0 = now_ns();
            mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
            lat_add(&l, (double)(now_ns() - c0) / 1e3);
        }
        rate[run] = (double)puts / ((double)(now_ns() - start) / 1e9);
        p50[run] = lat_q(&l, 0.5);
        p99[run] = lat_q(&l, 0.99);
        free(l.v);
    }
    mdb_env_close(env);
    unlink(path);
    snprintf(path, sizeof(path), "%s/floor.mdb-lock", o->dir);
    unlink(path);
    free(val);
    if (o->json)
        printf("{\"mode\":\"put\",\"sync\":%s,\"keys\":%" PRIu64
               ",\"batch\":%u,\"size\":%u,\"puts_per_s\":%.1f"
               ",\"commit_p50_us\":%.1f,\"commit_p99_us\":%.1f,\"runs\":%u}\n",
            o->sync ? "true" : "false", o->keys, o->batch, o->size,
            median(rate, o->runs), median(p50, o->runs), median(p99, o->runs),
            o->runs);
    else
        printf("lmdb put %s, %" PRIu64 " keys, commit every %u: %.0f puts/s,"
               " commit p50 %.0f us p99 %.0f us (median of %u)\n",
            o->sync ? "synced" : "unsynced", o->keys, o->batch,
            median(rate, o->runs), median(p50, o->runs), median(p99, o->runs),
            o->runs);
}

static void
floor_append(const struct opts *o)
{
    char path[4096];
    size_t blen = (size_t)o->batch * o->size;
    uint8_t *buf = xmalloc(blen);
    double rate[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS];
    int fd;

    for (size_t i = 0; i < blen; i++)
        buf[i] = (uint8_t)(i * 13);
    snprintf(path, sizeof(path), "%s/floor.log", o->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(
            stderr, "bench-floor-lmdb: open '%s': %s\n", path, strerror(errno));
        exit(2);
    }
    for (unsigned run = 0; run < o->runs; run++) {
        struct lat l = { NULL, 0, 0 };
        uint64_t recs = 0, start = now_ns(), written = 0;
        uint64_t end = start + (uint64_t)(o->duration * 1e9);

        while (now_ns() < end) {
            uint64_t s0;

            if (write(fd, buf, blen) != (ssize_t)blen) {
                fprintf(
                    stderr, "bench-floor-lmdb: write: %s\n", strerror(errno));
                exit(2);
            }
            s0 = now_ns();
            if (fdatasync(fd) < 0) {
                fprintf(stderr, "bench-floor-lmdb: fdatasync: %s\n",
                    strerror(errno));
                exit(2);
            }
            lat_add(&l, (double)(now_ns() - s0) / 1e3);
            recs += o->batch;
            written += blen;
            /* Keep the file bounded, like a journal that rotates. */
            if (written > (256u << 20)) {
                if (ftruncate(fd, 0) < 0)
                    exit(2);
                written = 0;
            }
        }
        rate[run] = (double)recs / ((double)(now_ns() - start) / 1e9);
        p50[run] = lat_q(&l, 0.5);
        p99[run] = lat_q(&l, 0.99);
        free(l.v);
    }
    close(fd);
    unlink(path);
    free(buf);
    if (o->json)
        printf("{\"mode\":\"append\",\"batch\":%u,\"size\":%u"
               ",\"records_per_s\":%.1f,\"sync_p50_us\":%.1f"
               ",\"sync_p99_us\":%.1f,\"runs\":%u}\n",
            o->batch, o->size, median(rate, o->runs), median(p50, o->runs),
            median(p99, o->runs), o->runs);
    else
        printf("append %u x %u B + fdatasync: %.0f records/s, fdatasync "
               "p50 %.0f us p99 %.0f us (median of %u)\n",
            o->batch, o->size, median(rate, o->runs), median(p50, o->runs),
            median(p99, o->runs), o->runs);
}

static void __attribute__((noreturn)) usage(void)
{
    fprintf(stderr,
        "usage: bench-floor-lmdb --dir DIR [--mode put|append] "
        "[--nosync]\n"
        "       [--keys N] [--batch B] [--size BYTES] [--duration S] "
        "[--runs N] [--json]\n");
    exit(2);
}

static uint64_t
num(const char *s, uint64_t min, uint64_t max)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        usage();
    return v;
}

int
main(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "batch", required_argument, NULL, 'b' },
        { "dir", required_argument, NULL, 'D' },
        { "duration", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "keys", required_argument, NULL, 'k' },
        { "mode", required_argument, NULL, 'm' },
        { "nosync", no_argument, NULL, 'n' },
        { "runs", required_argument, NULL, 'r' },
        { "size", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { "put", NULL, true, 1000000, 100, 300, 3, 3, false };
    struct stat st;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o.batch = (unsigned)num(optarg, 1, 100000);
            break;
        case 'D':
            o.dir = optarg;
            break;
        case 'd':
            o.duration = (double)num(optarg, 1, 3600);
            break;
        case 'j':
            o.json = true;
            break;
        case 'k':
            o.keys = num(optarg, 1, 100000000);
            break;
        case 'm':
            o.mode = optarg;
            break;
        case 'n':
            o.sync = false;
            break;
        case 'r':
            o.runs = (unsigned)num(optarg, 1, MAX_RUNS);
            break;
        case 's':
            o.size = (unsigned)num(optarg, 1, 65536);
            break;
        default:
            usage();
        }
    }
    if (optind != argc || o.dir == NULL || stat(o.dir, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        usage();
    if (strcmp(o.mode, "put") == 0)
        floor_put(&o);
    else if (strcmp(o.mode, "append") == 0)
        floor_append(&o);
    else
        usage();
    return 0;
}
