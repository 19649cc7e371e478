/*
 * test_cfg.c - unit tests of common/cfg: defaults, file loading, -o
 *              overrides, range and cross-field checks, derived paths
 *
 * Config files are written into a fresh mkdtemp() directory, removed at
 * the end.
 *
 * SPDX-License-Identifier: MIT
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "tests/harness/test.h"

static char tdir[64];

/* Write `text` to a config file in the test dir; its path goes in `out`. */
static void
write_conf(char *out, size_t len, const char *text)
{
    static int seq;
    FILE *fp;
    int n;

    n = snprintf(out, len, "%s/c%d.conf", tdir, seq++);
    ASSERT(n > 0 && (size_t)n < len);
    fp = fopen(out, "w");
    ASSERT(fp != NULL);
    ASSERT_EQ(fwrite(text, 1, strlen(text), fp), strlen(text));
    ASSERT_OK(fclose(fp));
}

static void
test_defaults(void)
{
    struct vigil_config c;
    char err[256];

    cfg_defaults(&c);
    ASSERT_STR_EQ(c.data_dir, "/var/lib/vigil");
    ASSERT_STR_EQ(c.keys_dir, "/etc/vigil");
    ASSERT_STR_EQ(c.clients_dir, "");
    ASSERT_STR_EQ(c.user, "vigil");
    ASSERT_STR_EQ(c.events_endpoint, "tcp://127.0.0.1:7010");
    ASSERT_STR_EQ(c.query_endpoint, "tcp://127.0.0.1:7011");
    ASSERT_EQ(c.review_threshold, 50);
    ASSERT_EQ(c.block_threshold, 80);
    ASSERT_EQ(c.batch_max, 4096);
    ASSERT_EQ(c.commit_interval_ms, 200);
    ASSERT_EQ(c.commit_max_events, 4000);
    ASSERT_EQ(c.overlay_max_entries, 60000);
    ASSERT_EQ(c.journal_segment_mb, 64);
    ASSERT_EQ(c.lmdb_map_mb, 65536);
    ASSERT_EQ(c.request_timeout_ms, 10000);
    ASSERT(!c.insecure_dev);
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));
    cfg_release(&c);
    ASSERT(c.data_dir == NULL);
    cfg_release(&c);
}

static void
test_load_file(void)
{
    struct vigil_config c;
    char path[256], err[256];

    write_conf(path, sizeof(path),
        "# a comment\n"
        "\n"
        "data_dir = /tmp/somewhere   # trailing comment\n"
        "  review_threshold=40\n"
        "block_threshold\t=\t90\r\n"
        "insecure_dev = yes\n"
        "request_timeout_ms = 100\n"
        "lmdb_map_mb = 1048576"); /* no final newline */
    cfg_defaults(&c);
    ASSERT_OK(cfg_load_file(&c, path, err, sizeof(err)));
    ASSERT_STR_EQ(c.data_dir, "/tmp/somewhere");
    ASSERT_EQ(c.review_threshold, 40);
    ASSERT_EQ(c.block_threshold, 90);
    ASSERT(c.insecure_dev);
    ASSERT_EQ(c.request_timeout_ms, 100);
    ASSERT_EQ(c.lmdb_map_mb, 1048576);
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));
    cfg_release(&c);
}

/* Load `text`; expect ERR_INVAL and `want` somewhere in the message. */
static void
expect_file_error(const char *text, const char *want)
{
    struct vigil_config c;
    char path[256], err[512];

    write_conf(path, sizeof(path), text);
    cfg_defaults(&c);
    err[0] = '\0';
    ASSERT_EQ(cfg_load_file(&c, path, err, sizeof(err)), ERR_INVAL);
    if (strstr(err, want) == NULL)
        TEST_FAIL("error '%s' lacks '%s'", err, want);
    if (strncmp(err, path, strlen(path)) != 0)
        TEST_FAIL("error '%s' does not start with the path", err);
    cfg_release(&c);
}

static void
test_file_errors(void)
{
    struct vigil_config c;
    char err[256];
    char longline[CFG_LINE_MAX + 100];

    expect_file_error(
        "data_dir = x\nnosuchkey = 1\n", ":2: unknown key 'nosuchkey'");
    expect_file_error("review_threshold = 101\n",
        ":1: 'review_threshold' must be in 0..100, got 101");
    expect_file_error("\n\nbatch_max = 0\n", ":3: 'batch_max' must be in");
    expect_file_error("batch_max = 12abc\n", "wants a decimal integer");
    expect_file_error("batch_max = 0x10\n", "wants a decimal integer");
    expect_file_error("batch_max =\n", "wants a decimal integer");
    expect_file_error(
        "batch_max = 99999999999999999999999\n", "wants a decimal integer");
    expect_file_error("lmdb_map_mb = 15\n", "16..1048576");
    expect_file_error("insecure_dev = maybe\n", "wants a boolean");
    expect_file_error("just words\n", ":1: expected 'key = value'");
    expect_file_error(" = 5\n", "missing key");
    expect_file_error("data_dir =\n", "must not be empty");
    memset(longline, 'a', sizeof(longline) - 2);
    longline[sizeof(longline) - 2] = '\n';
    longline[sizeof(longline) - 1] = '\0';
    expect_file_error(longline, ":1: line longer than");

    cfg_defaults(&c);
    ASSERT_EQ(
        cfg_load_file(&c, "/nonexistent/vigil.conf", err, sizeof(err)), ERR_IO);
    ASSERT(strstr(err, "/nonexistent/vigil.conf") != NULL);
    cfg_release(&c);
}

/* cfg_check() refuses `key=value` (on the defaults) with `want`. */
static void
expect_check_error(const char *kv, const char *kv2, const char *want)
{
    struct vigil_config c;
    char err[512];

    cfg_defaults(&c);
    ASSERT_OK(cfg_set(&c, kv, err, sizeof(err)));
    if (kv2 != NULL)
        ASSERT_OK(cfg_set(&c, kv2, err, sizeof(err)));
    err[0] = '\0';
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
    if (strstr(err, want) == NULL)
        TEST_FAIL("-o %s: error '%s' lacks '%s'", kv, err, want);
    cfg_release(&c);
}

/* Every cross-field and format rule of cfg_check(), one value at a time. */
static void
test_check_rules(void)
{
    expect_check_error("query_endpoint=udp://x:1", NULL,
        "query_endpoint must be tcp://HOST:PORT");
    expect_check_error("collector_metrics=127.0.0.1", NULL,
        "collector_metrics and scorer_metrics must be HOST:PORT");
    expect_check_error("scorer_metrics=:7015", NULL, "must be HOST:PORT");
    expect_check_error("scorer_metrics=host:0", NULL, "must be HOST:PORT");
    expect_check_error("scorer_metrics=host:65536", NULL, "must be HOST:PORT");
    expect_check_error("scorer_metrics=host:12x", NULL, "must be HOST:PORT");
    expect_check_error("scorer_metrics=[::1:7015", NULL, "must be HOST:PORT");
    expect_check_error("collector_metrics=127.0.0.1:9000",
        "scorer_metrics=127.0.0.1:9000", "must differ");
    expect_check_error("lmdb_map_grow_pct=95", "lmdb_map_full_pct=90",
        "lmdb_map_grow_pct (95) must be below lmdb_map_full_pct (90)");
    expect_check_error(
        "quota_clients=shop:notanumber", NULL, "quota_clients: ");
    {
        struct vigil_config c;
        char err[256];

        /* Both metrics off, the map never growing: accepted. */
        cfg_defaults(&c);
        ASSERT_OK(cfg_set(&c, "collector_metrics=", err, sizeof(err)));
        ASSERT_OK(cfg_set(&c, "scorer_metrics=", err, sizeof(err)));
        ASSERT_OK(cfg_set(&c, "lmdb_map_step_mb=0", err, sizeof(err)));
        ASSERT_OK(cfg_set(&c, "lmdb_map_grow_pct=95", err, sizeof(err)));
        ASSERT_OK(cfg_set(&c, "scorer_metrics=[::1]:7015", err, sizeof(err)));
        ASSERT_OK(cfg_check(&c, err, sizeof(err)));
        cfg_release(&c);
    }
    {
        /* Empty directories cannot come from a file or -o (refused
         * there); cfg_check() refuses them in a struct filled by code. */
        struct vigil_config c;
        char *keep, err[256], empty[1] = "";

        cfg_defaults(&c);
        keep = c.data_dir;
        c.data_dir = empty;
        ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
        ASSERT(strstr(err, "data_dir must not be empty") != NULL);
        c.data_dir = keep;
        keep = c.keys_dir;
        c.keys_dir = empty;
        ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
        ASSERT(strstr(err, "keys_dir must not be empty") != NULL);
        c.keys_dir = keep;
        ASSERT_OK(cfg_check(&c, err, sizeof(err)));
        cfg_release(&c);
    }
}

static void
test_set_and_check(void)
{
    struct vigil_config c;
    char err[256];

    cfg_defaults(&c);
    ASSERT_OK(cfg_set(&c, "batch_max=17", err, sizeof(err)));
    ASSERT_EQ(c.batch_max, 17);
    ASSERT_OK(cfg_set(&c, "data_dir=/x/#not-a-comment", err, sizeof(err)));
    ASSERT_STR_EQ(c.data_dir, "/x/#not-a-comment");
    ASSERT_OK(cfg_set(&c, "insecure_dev=1", err, sizeof(err)));
    ASSERT(c.insecure_dev);
    ASSERT_OK(cfg_set(&c, "insecure_dev=off", err, sizeof(err)));
    ASSERT(!c.insecure_dev);
    ASSERT_EQ(cfg_set(&c, "batch_max", err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "expected key=value") != NULL);
    ASSERT_EQ(cfg_set(&c, "bogus=1", err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "-o bogus=1: unknown key 'bogus'") != NULL);
    ASSERT_EQ(
        cfg_set(&c, "commit_interval_ms=60001", err, sizeof(err)), ERR_INVAL);
    ASSERT_EQ(c.commit_interval_ms, 200);
    ASSERT_EQ(cfg_set(&c, "commit_max_events=99", err, sizeof(err)), ERR_INVAL);
    ASSERT_OK(cfg_set(&c, "commit_max_events=100", err, sizeof(err)));
    ASSERT_EQ(c.commit_max_events, 100);
    /* Above 60,000 one LMDB commit could outgrow a write transaction. */
    ASSERT_EQ(
        cfg_set(&c, "overlay_max_entries=60001", err, sizeof(err)), ERR_INVAL);
    ASSERT_EQ(
        cfg_set(&c, "overlay_max_entries=999", err, sizeof(err)), ERR_INVAL);
    ASSERT_OK(cfg_set(&c, "overlay_max_entries=16384", err, sizeof(err)));
    ASSERT_EQ(c.overlay_max_entries, 16384);
    ASSERT_EQ(c.lmdb_commit_max_pages, 16384);
    ASSERT_EQ(cfg_set(&c, "lmdb_commit_max_pages=120001", err, sizeof(err)),
        ERR_INVAL);
    ASSERT_OK(cfg_set(&c, "lmdb_commit_max_pages=0", err, sizeof(err)));
    ASSERT_EQ(c.lmdb_commit_max_pages, 0);

    /* Cross-field: block must not be below review. */
    ASSERT_OK(cfg_set(&c, "review_threshold=70", err, sizeof(err)));
    ASSERT_OK(cfg_set(&c, "block_threshold=60", err, sizeof(err)));
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "block_threshold") != NULL);
    ASSERT_OK(cfg_set(&c, "block_threshold=70", err, sizeof(err)));
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));

    ASSERT_OK(cfg_set(&c, "events_endpoint=udp://1.2.3.4:5", err, sizeof(err)));
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
    ASSERT_OK(
        cfg_set(&c, "events_endpoint=tcp://127.0.0.1:7011", err, sizeof(err)));
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "must differ") != NULL);
    cfg_release(&c);
}

static void
test_print_roundtrip(void)
{
    struct vigil_config a, b;
    char path[256], err[256];
    FILE *fp;

    cfg_defaults(&a);
    ASSERT_OK(cfg_set(&a, "data_dir=/srv/vigil", err, sizeof(err)));
    ASSERT_OK(cfg_set(&a, "insecure_dev=true", err, sizeof(err)));
    ASSERT_OK(cfg_set(&a, "journal_segment_mb=7", err, sizeof(err)));
    ASSERT_OK(cfg_set(&a, "witness=http://a:1 k1", err, sizeof(err)));
    ASSERT_OK(cfg_set(&a, "witness=http://b:2 k2", err, sizeof(err)));
    write_conf(path, sizeof(path), "");
    fp = fopen(path, "w");
    ASSERT(fp != NULL);
    cfg_print(&a, fp);
    ASSERT_OK(fclose(fp));
    cfg_defaults(&b);
    ASSERT_OK(cfg_load_file(&b, path, err, sizeof(err)));
    ASSERT_STR_EQ(b.data_dir, "/srv/vigil");
    ASSERT(b.insecure_dev);
    ASSERT_EQ(b.journal_segment_mb, 7);
    ASSERT_EQ(b.batch_max, a.batch_max);
    ASSERT_STR_EQ(b.events_endpoint, a.events_endpoint);
    /* A repeatable key prints one line per entry and reads back. */
    ASSERT_STR_EQ(b.witness, "http://a:1 k1\nhttp://b:2 k2");
    cfg_release(&a);
    cfg_release(&b);
}

static void
test_repeatable(void)
{
    struct vigil_config c;
    char err[256], kv[64];
    int i;

    cfg_defaults(&c);
    ASSERT_STR_EQ(c.witness, "");
    ASSERT_EQ(cfg_set(&c, "witness=", err, sizeof(err)), ERR_INVAL);
    for (i = 0; i < CFG_MAX_WITNESSES; i++) {
        snprintf(kv, sizeof(kv), "witness=http://w%d k", i);
        ASSERT_OK(cfg_set(&c, kv, err, sizeof(err)));
    }
    ASSERT(strncmp(c.witness, "http://w0 k\nhttp://w1 k\n", 24) == 0);
    ASSERT_EQ(cfg_set(&c, "witness=http://one-too-many k", err, sizeof(err)),
        ERR_INVAL);
    ASSERT(strstr(err, "more than 16 times") != NULL);
    cfg_release(&c);
}

static void
test_paths(void)
{
    struct vigil_config c;
    char out[PATH_MAX + 32], small[8], err[256], dd[128], real[PATH_MAX];
    struct stat st;
    int n;

    cfg_defaults(&c);
    n = snprintf(dd, sizeof(dd), "data_dir=%s/data", tdir);
    ASSERT(n > 0 && (size_t)n < sizeof(dd));
    ASSERT_OK(cfg_set(&c, dd, err, sizeof(err)));
    ASSERT_OK(cfg_path(&c, "pseudonym.key", out, sizeof(out)));
    ASSERT(strstr(out, "/data/pseudonym.key") != NULL);
    ASSERT_EQ(cfg_path(&c, "pseudonym.key", small, sizeof(small)), ERR_TOOBIG);
    ASSERT_STR_EQ(small, "");

    /* The ipc endpoint needs the directory. */
    ASSERT_EQ(cfg_scorer_ipc(&c, out, sizeof(out)), ERR_IO);
    ASSERT_OK(mkdir(c.data_dir, 0700));
    ASSERT_OK(stat(c.data_dir, &st));
    ASSERT(S_ISDIR(st.st_mode));
    ASSERT_OK(cfg_scorer_ipc(&c, out, sizeof(out)));
    ASSERT(realpath(c.data_dir, real) != NULL);
    ASSERT(strncmp(out, "ipc:///", 7) == 0);
    ASSERT(strstr(out, real) != NULL);
    ASSERT(strstr(out, "/scorer.ipc") != NULL);
    ASSERT_EQ(cfg_scorer_ipc(&c, small, sizeof(small)), ERR_TOOBIG);
    cfg_release(&c);
}

static void
test_endpoint_is_local(void)
{
    ASSERT(cfg_endpoint_is_local("tcp://127.0.0.1:7010"));
    ASSERT(cfg_endpoint_is_local("tcp://127.9.8.7:1"));
    ASSERT(cfg_endpoint_is_local("tcp://localhost:7010"));
    ASSERT(cfg_endpoint_is_local("tcp://[::1]:7010"));
    ASSERT(cfg_endpoint_is_local("ipc:///tmp/x.ipc"));
    ASSERT(cfg_endpoint_is_local("inproc://x"));
    ASSERT(!cfg_endpoint_is_local("tcp://*:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://0.0.0.0:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://10.0.0.1:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://128.0.0.1:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://[::]:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://eth0:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://127.0.0.1.evil.com:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://10.0.0.1;127.0.0.1:7010"));
    ASSERT(!cfg_endpoint_is_local("tcp://127.0.0.1"));
    ASSERT(!cfg_endpoint_is_local("pgm://127.0.0.1:7010"));
}

/*
 * cfg_check: CURVE endpoints may listen anywhere; plain (insecure_dev)
 * ones only on this machine. "user" and "clients_dir" may be emptied,
 * the directories not.
 */
static void
test_endpoint_policy(void)
{
    struct vigil_config c;
    char err[512];

    cfg_defaults(&c);
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));
    ASSERT_OK(
        cfg_set(&c, "events_endpoint=tcp://0.0.0.0:7010", err, sizeof(err)));
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));
    ASSERT_OK(cfg_set(&c, "insecure_dev=1", err, sizeof(err)));
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "events_endpoint") != NULL);
    ASSERT_OK(
        cfg_set(&c, "events_endpoint=ipc:///tmp/x.ipc", err, sizeof(err)));
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));
    ASSERT_OK(
        cfg_set(&c, "query_endpoint=tcp://192.0.2.1:7011", err, sizeof(err)));
    ASSERT_EQ(cfg_check(&c, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "query_endpoint") != NULL);
    ASSERT_OK(cfg_set(&c, "insecure_dev=0", err, sizeof(err)));
    ASSERT_OK(cfg_check(&c, err, sizeof(err)));

    ASSERT_OK(cfg_set(&c, "user=", err, sizeof(err)));
    ASSERT_STR_EQ(c.user, "");
    ASSERT_OK(cfg_set(&c, "clients_dir=", err, sizeof(err)));
    ASSERT_EQ(cfg_set(&c, "keys_dir=", err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "must not be empty") != NULL);
    ASSERT_EQ(cfg_set(&c, "data_dir=", err, sizeof(err)), ERR_INVAL);
    cfg_release(&c);
}

int
main(void)
{
    char cmd[128];

    log_init("test_cfg", true);
    snprintf(tdir, sizeof(tdir), "/tmp/vigil-test-cfg.XXXXXX");
    ASSERT(mkdtemp(tdir) != NULL);
    RUN(test_defaults);
    RUN(test_load_file);
    RUN(test_file_errors);
    RUN(test_set_and_check);
    RUN(test_check_rules);
    RUN(test_print_roundtrip);
    RUN(test_repeatable);
    RUN(test_paths);
    RUN(test_endpoint_is_local);
    RUN(test_endpoint_policy);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tdir);
    return 0;
}
