/*
 * test_quota.c - unit tests of common/quota.c: token buckets, the
 *                quota_clients syntax, the configuration and client table
 *
 * Bucket arithmetic is checked on a simulated monotonic clock (no sleeps):
 * a full bucket at first use, refill at per_s capped at burst, a batch
 * larger than the burst passing on a full bucket and paid for by the time
 * that follows, and the retry-after hint in whole milliseconds.
 *
 * See also: common/quota.h, scorer/scorer.conf.5 (quota_*)
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/quota.h"
#include "tests/harness/test.h"

#define MS 1000000ULL /* ns */

static void
test_bucket(void)
{
    struct quota_rate r = { 10, 5 }; /* 10/s, burst 5 */
    struct quota_rate none = { 0, 0 };
    struct quota_bucket b;
    uint64_t t = 1000 * MS;
    int i;

    memset(&b, 0, sizeof(b));
    /* Full at first use: 5 pass at once, the 6th waits 100 ms (1 token). */
    for (i = 0; i < 5; i++)
        ASSERT_EQ(quota_take(&b, &r, 1, t), 0);
    ASSERT_EQ(quota_take(&b, &r, 1, t), 100);
    /* A refused request takes nothing: 50 ms later half a token is there,
     * the hint is the remaining 50 ms. */
    ASSERT_EQ(quota_take(&b, &r, 1, t + 50 * MS), 50);
    ASSERT_EQ(quota_take(&b, &r, 1, t + 100 * MS), 0);
    /* Refill is capped at the burst: after an hour, 5 again, not 36000. */
    t += 3600000 * MS;
    for (i = 0; i < 5; i++)
        ASSERT_EQ(quota_take(&b, &r, 1, t), 0);
    ASSERT(quota_take(&b, &r, 1, t) > 0);
    /* A batch of 20 (> burst) passes on a full bucket and leaves it at
     * -15: the next unit waits (15 + 1) / 10 s = 1600 ms. */
    t += 3600000 * MS;
    ASSERT_EQ(quota_take(&b, &r, 20, t), 0);
    ASSERT_EQ(quota_take(&b, &r, 1, t), 1600);
    /* The hint is at least 1 ms and at most an hour. */
    {
        struct quota_rate slow = { 0.0001, 1 };
        struct quota_bucket s;

        memset(&s, 0, sizeof(s));
        ASSERT_EQ(quota_take(&s, &slow, 1, t), 0);
        ASSERT_EQ(quota_take(&s, &slow, 1, t), 3600000);
    }
    /* A rate of 0 is no limit. */
    memset(&b, 0, sizeof(b));
    for (i = 0; i < 1000; i++)
        ASSERT_EQ(quota_take(&b, &none, 100, t), 0);
}

static void
test_parse_clients(void)
{
    struct quota_rule r[QUOTA_MAX_RULES];
    char why[256], spec[4096];
    size_t len = 0;
    int i;

    ASSERT_EQ(quota_parse_clients("", r, QUOTA_MAX_RULES, why, sizeof(why)), 0);
    ASSERT_EQ(quota_parse_clients("shop-a:100 , bulk:5000:10000:-:7\tops:-", r,
                  QUOTA_MAX_RULES, why, sizeof(why)),
        3);
    ASSERT_STR_EQ(r[0].name, "shop-a");
    ASSERT(r[0].events.per_s == 100 && r[0].events.burst == -1);
    ASSERT(r[0].queries.per_s == -1 && r[0].queries.burst == -1);
    ASSERT_STR_EQ(r[1].name, "bulk");
    ASSERT(r[1].events.per_s == 5000 && r[1].events.burst == 10000);
    ASSERT(r[1].queries.per_s == -1 && r[1].queries.burst == 7);
    ASSERT_STR_EQ(r[2].name, "ops");
    ASSERT(r[2].events.per_s == -1);

    /* Every bad form is refused with a reason. */
    static const char *const bad[] = {
        "shop-a",                 /* no numbers */
        ":100",                   /* no name */
        "shop a:1",               /* the space splits: "shop" has no ':' */
        "sh/op:1",                /* not a client name */
        "shop:x",                 /* not a number */
        "shop:-5",                /* sign */
        "shop:1000000001",        /* above 10^9 */
        "shop:1:2:3:4:5",         /* five numbers */
        "shop:1 shop:2",          /* twice */
        "shop:",                  /* empty field */
        "shop:12345678901234567", /* too long a field */
    };
    for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
        why[0] = '\0';
        if (quota_parse_clients(bad[i], r, QUOTA_MAX_RULES, why, sizeof(why)) !=
            ERR_INVAL)
            TEST_FAIL("'%s' was accepted", bad[i]);
        if (why[0] == '\0')
            TEST_FAIL("'%s' was refused without a reason", bad[i]);
    }
    /* More than QUOTA_MAX_RULES entries. */
    for (i = 0; i <= QUOTA_MAX_RULES; i++)
        len += (size_t)snprintf(spec + len, sizeof(spec) - len, "c%d:1 ", i);
    ASSERT_EQ(quota_parse_clients(spec, r, QUOTA_MAX_RULES, why, sizeof(why)),
        ERR_INVAL);
    ASSERT(strstr(why, "more than") != NULL);
}

static void
test_config_and_table(void)
{
    struct vigil_config cfg;
    struct quota_config q;
    struct quota_rate ev, qu;
    struct quota_table *t;
    struct quota_client *a, *b, *o1, *o2;
    char why[256], name[32], longname[CERT_NAME_MAX + 2];
    uint64_t gen;
    int i;

    cfg_defaults(&cfg);
    memset(&q, 0, sizeof(q));
    free(cfg.quota_clients);
    cfg.quota_clients = strdup("bulk:5000:0:-:- shop-a:-:-:50");
    cfg.quota_events_per_s = 100;
    cfg.quota_events_burst = 0; /* one second's worth */
    cfg.quota_queries_per_s = 20;
    cfg.quota_queries_burst = 40;
    ASSERT_OK(quota_config_set(&q, &cfg, why, sizeof(why)));
    ASSERT_EQ(q.nrules, 2);
    gen = q.generation;

    quota_config_lookup(&q, "someone", &ev, &qu);
    ASSERT(ev.per_s == 100 && ev.burst == 100);
    ASSERT(qu.per_s == 20 && qu.burst == 40);
    /* bulk: its own event rate, burst 0 = one second's worth; queries
     * follow the global ones. */
    quota_config_lookup(&q, "bulk", &ev, &qu);
    ASSERT(ev.per_s == 5000 && ev.burst == 5000);
    ASSERT(qu.per_s == 20 && qu.burst == 40);
    /* shop-a: global events, its own query rate with the default burst
     * of one second's worth. */
    quota_config_lookup(&q, "shop-a", &ev, &qu);
    ASSERT(ev.per_s == 100 && ev.burst == 100);
    ASSERT(qu.per_s == 50 && qu.burst == 50);

    /* A bad quota_clients leaves the previous quotas in force. */
    free(cfg.quota_clients);
    cfg.quota_clients = strdup("bulk:x");
    ASSERT_EQ(quota_config_set(&q, &cfg, why, sizeof(why)), ERR_INVAL);
    ASSERT(why[0] != '\0');
    ASSERT_EQ(q.nrules, 2);
    ASSERT_EQ(q.generation, gen);

    /* The table: one entry per name, rates picked up again after a new
     * generation of the configuration. */
    t = quota_table_new(&q);
    a = quota_client_get(t, "shop-a");
    ASSERT(quota_client_get(t, "shop-a") == a);
    ASSERT(a->queries_rate.per_s == 50);
    free(cfg.quota_clients);
    cfg.quota_clients = strdup("shop-a:-:-:7");
    ASSERT_OK(quota_config_set(&q, &cfg, why, sizeof(why)));
    ASSERT(q.generation == gen + 1);
    ASSERT(quota_client_get(t, "shop-a") == a);
    ASSERT(a->queries_rate.per_s == 7);
    /* An empty or too long name is "_other". */
    o1 = quota_client_get(t, "");
    ASSERT_STR_EQ(o1->name, QUOTA_OTHER);
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ASSERT(quota_client_get(t, longname) == o1);
    /* Past QUOTA_MAX_CLIENTS names, the rest share "_other". */
    for (i = 0; i < QUOTA_MAX_CLIENTS + 10; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        b = quota_client_get(t, name);
    }
    o2 = quota_client_get(t, "yet-another");
    ASSERT(o2 == o1);
    ASSERT(b == o1);
    quota_table_free(t);
    quota_table_free(NULL);
    cfg_release(&cfg);
}

int
main(void)
{
    RUN(test_bucket);
    RUN(test_parse_clients);
    RUN(test_config_and_table);
    return 0;
}
