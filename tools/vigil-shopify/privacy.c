/*
 * privacy.c - the privacy webhooks' worker: subject reports and
 *             erasures through the scorer's query endpoint
 *
 * What each topic becomes is in privacy.h. One worker thread takes the
 * suspended deliveries in order; for each request it opens a REQ socket
 * to query_endpoint with the bridge's dpo certificate (zclient.h), sends
 * one qproto request, waits for the reply within what is left of the
 * delivery's budget, and closes the socket (a late reply can never be
 * taken for the next request's). A data request's report is written
 * under reports_dir/<shop>/<case>/ and fsynced before the 200.
 *
 * Invariants:
 *  - every queued delivery is answered exactly once: by the worker, or
 *    503 by privacy_close().
 *  - request frames (raw identifiers) and replies (records naming the
 *    person) are wiped before they are freed.
 *
 * See also: privacy.h, shopify.h, common/qproto.h, common/zclient.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>
#include <sodium.h>

#include "common/buf.h"
#include "common/cert.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/jobq.h"
#include "tools/vigil-shopify/privacy.h"
#include "tools/vigil-shopify/qclient.h"
#include "tools/vigil-shopify/shopify.h"

#define PRIVACY_QUEUE_MAX  256   /* deliveries waiting, at most */
#define PRIVACY_MAX_PAGES  10000 /* of one report (64 records each) */
#define PRIVACY_RECORD_MAX 4096  /* an audit record's bytes, at most */

struct privacy {
    struct shopify *sh;
    struct jobq q;     /* the deliveries, run on its thread */
    struct qclient qc; /* the way to the query endpoint */
};

/* ------------------------------------------------------------ parse */

static int
job_fail(struct privacy_job *j, int rc, const char *field, const char *rule)
{
    (void)snprintf(j->why, sizeof(j->why), "%s: %s", field, rule);
    return rc;
}

/* A positive integer id of object `o` at `key` into dst ("" absent). */
static int
job_id(struct privacy_job *j, const json_t *o, const char *key,
    const char *name, char dst[PRIVACY_ID_MAX + 1])
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

    dst[0] = '\0';
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return job_fail(j, ERR_MALFORMED, name, "must be a positive integer");
    (void)snprintf(dst, PRIVACY_ID_MAX + 1, "%" JSON_INTEGER_FORMAT,
        json_integer_value(v));
    return 0;
}

/* A string of object `o` at `key` into dst of PRIVACY_TEXT_MAX + 1
 * ("" when absent, null or empty). */
static int
job_text(struct privacy_job *j, const json_t *o, const char *key,
    const char *name, char dst[PRIVACY_TEXT_MAX + 1])
{
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    size_t n;

    dst[0] = '\0';
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return job_fail(j, ERR_MALFORMED, name, "must be a string");
    n = json_string_length(v);
    if (n > PRIVACY_TEXT_MAX || strlen(json_string_value(v)) != n)
        return job_fail(j, ERR_INVAL, name, "too long, or holds a NUL");
    memcpy(dst, json_string_value(v), n + 1);
    return 0;
}

/* The array of order ids at `key` (absent or null: none). */
static int
job_orders(struct privacy_job *j, const json_t *root, const char *key)
{
    const json_t *a = json_object_get(root, key), *v;
    size_t i;

    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return job_fail(j, ERR_MALFORMED, key, "must be an array");
    if (json_array_size(a) > PRIVACY_MAX_ORDERS)
        return job_fail(j, ERR_INVAL, key, "more than 1000 orders");
    if (json_array_size(a) == 0)
        return 0;
    j->orders = xcalloc(json_array_size(a), sizeof(*j->orders));
    json_array_foreach(a, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return job_fail(
                j, ERR_MALFORMED, key, "must hold positive integers");
        (void)snprintf(j->orders[j->norders++], PRIVACY_ID_MAX + 1,
            "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    return 0;
}

/* customer.id, customer.email and customer.phone. */
static int
job_customer(struct privacy_job *j, const json_t *root)
{
    const json_t *c = json_object_get(root, "customer");
    int rc;

    if (c != NULL && !json_is_null(c) && !json_is_object(c))
        return job_fail(j, ERR_MALFORMED, "customer", "must be an object");
    rc = job_id(j, c, "id", "customer.id", j->customer);
    if (rc == 0)
        rc = job_text(j, c, "email", "customer.email", j->email);
    if (rc == 0)
        rc = job_text(j, c, "phone", "customer.phone", j->phone);
    return rc;
}

int
privacy_parse(enum topics_kind k, const json_t *root, const char *shop,
    const char *webhook_id, struct privacy_job **out)
{
    struct privacy_job *j = xcalloc(1, sizeof(*j));
    const json_t *dom;
    char rid[PRIVACY_ID_MAX + 1];
    int rc;

    *out = j;
    j->kind = k;
    if (json_typeof(root) != JSON_OBJECT)
        return job_fail(j, ERR_MALFORMED, "body", "must be an object");
    dom = json_object_get(root, "shop_domain");
    if (dom != NULL &&
        (!json_is_string(dom) || strcmp(json_string_value(dom), shop) != 0))
        return job_fail(j, ERR_INVAL, "shop_domain",
            "must be the X-Shopify-Shop-Domain of the delivery");
    qclient_webhook_case(j->case_ref, webhook_id);
    switch (k) {
    case TOPICS_CUSTOMERS_DATA_REQUEST:
        rc = job_id(j, json_object_get(root, "data_request"), "id",
            "data_request.id", rid);
        if (rc == 0 && rid[0] == '\0')
            rc = job_fail(j, ERR_MALFORMED, "data_request.id", "is required");
        if (rc != 0)
            return rc;
        (void)snprintf(
            j->case_ref, sizeof(j->case_ref), "shopify-data-request-%s", rid);
        rc = job_customer(j, root);
        if (rc == 0)
            rc = job_orders(j, root, "orders_requested");
        break;
    case TOPICS_CUSTOMERS_REDACT:
        rc = job_customer(j, root);
        if (rc == 0)
            rc = job_orders(j, root, "orders_to_redact");
        break;
    case TOPICS_SHOP_REDACT:
        rc = 0;
        break;
    default:
        return job_fail(j, ERR_INVAL, "topic", "not a privacy topic");
    }
    if (rc == 0 && k != TOPICS_SHOP_REDACT && j->customer[0] == '\0' &&
        j->norders == 0)
        rc = job_fail(
            j, ERR_MALFORMED, "customer.id", "is required (or some orders)");
    return rc;
}

void
privacy_job_free(struct privacy_job *job)
{
    if (job == NULL)
        return;
    if (job->orders != NULL) {
        sodium_memzero(job->orders, job->norders * sizeof(*job->orders));
        free(job->orders);
    }
    sodium_memzero(job, sizeof(*job));
    free(job);
}

/* --------------------------------------------------------- exchange */

/* A fresh request id: "shopify-" and 16 hex digits. */
static void
new_id(char *dst, size_t cap)
{
    uint8_t rnd[8];
    char hex[2 * sizeof(rnd) + 1];

    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    (void)snprintf(dst, cap, "shopify-%s", hex);
}

/* What one job's requests came to. */
struct run {
    struct privacy *pv;
    struct req *r;
    struct buf reply;
    struct wire_dec dec;
    struct qproto_reply rep;
    int status;      /* HTTP status */
    const char *why; /* static answer text */
};

/*
 * One request of the job: op `op` on (kind, value), page `from`. On 0,
 * run->rep holds the ok reply. Otherwise run->status/why are set.
 */
static int
ask(struct run *run, enum qproto_op op, const char *kind, const char *value,
    uint64_t from)
{
    const struct req *r = run->r;
    struct qproto_request q;
    char msg[256];
    int rc;

    memset(&q, 0, sizeof(q));
    q.op = op;
    new_id(q.id, sizeof(q.id));
    TEXT_COPY(q.purpose,
        op == QPROTO_OP_SUBJECT_ERASE ? "erasure-request" : "access-request");
    TEXT_COPY(q.storefront, r->shop->domain);
    TEXT_COPY(q.case_ref, r->job->case_ref);
    TEXT_COPY(q.kind, kind);
    TEXT_COPY(q.value, value);
    q.args = QPROTO_ARG_KIND | QPROTO_ARG_VALUE;
    if (from > 0) {
        q.args |= QPROTO_ARG_FROM;
        q.from = from;
    }
    rc = qclient_exchange(
        &run->pv->qc, "privacy", &q, r->deadline_ms, &run->reply);
    sodium_memzero(&q, sizeof(q));
    if (rc == 0)
        rc = qproto_reply_decode(&run->dec, &run->rep, run->reply.data,
            run->reply.len, msg, sizeof(msg));
    if (rc != 0) {
        log_warnx("shop '%s' topic '%s' webhook '%s': the scorer's query "
                  "endpoint: %s",
            r->shop->domain, r->topic, r->webhook_id,
            rc == ERR_AGAIN ? "no reply in time" : err_str(rc));
        run->status = 503;
        run->why = "Vigil is unavailable; retry\n";
        return rc;
    }
    if (run->rep.code != 0) {
        bool transient = qclient_code_transient(run->rep.code);

        /* Vigil's messages name fields and rules, never a value. */
        log_warnx("shop '%s' topic '%s' webhook '%s': Vigil refused %s: "
                  "%s: %s",
            r->shop->domain, r->topic, r->webhook_id, qproto_op_name(op),
            err_name(run->rep.code), run->rep.msg);
        run->status = transient ? 503 : 500;
        run->why = transient ? "Vigil is unavailable; retry\n" :
                               "Vigil refused the request (see the bridge's "
                               "log)\n";
        return run->rep.code;
    }
    return 0;
}

/* ------------------------------------------------------------ report */

static char *
hex_of(const void *p, size_t n)
{
    char *s = xmalloc(2 * n + 1);

    sodium_bin2hex(s, 2 * n + 1, p, n);
    return s;
}

static int
write_all(int fd, const char *p, size_t len)
{
    size_t off = 0;
    ssize_t w;

    while (off < len) {
        w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ERR_IO;
        off += (size_t)w;
    }
    return 0;
}

/* Write `text` and a newline to dir/name, 0600, fsynced. Returns 0 or
 * ERR_IO. */
static int
write_file(int dirfd, const char *name, const char *text)
{
    int fd, rc;

    fd = openat(dirfd, name,
        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return ERR_IO;
    rc = write_all(fd, text, strlen(text));
    if (rc == 0)
        rc = write_all(fd, "\n", 1);
    if (rc == 0 && fsync(fd) != 0)
        rc = ERR_IO;
    if (close(fd) != 0)
        rc = ERR_IO;
    return rc;
}

/* A JSON value to dir/name (compact, newline). Takes `j`. */
static int
write_json(int dirfd, const char *name, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_malloc_t jmalloc;
    json_free_t jfree;
    int rc;

    json_decref(j);
    if (text == NULL)
        return ERR_IO;
    rc = write_file(dirfd, name, text);
    json_get_alloc_funcs(&jmalloc, &jfree);
    sodium_memzero(text, strlen(text));
    jfree(text);
    return rc;
}

/*
 * One page of a subject.report result: a proof file per record, in the
 * format `vigilctl audit check-proof` reads (type inclusion, index,
 * size, record, leaf_hash, proof, checkpoint). Appends the indexes to
 * `idx` and sets *next and the subject's token. Returns 0 or ERR_*.
 */
static int
report_page(int dirfd, const msgpack_object *res, json_t *idx, json_t *files,
    json_t **subject, uint64_t *next)
{
    const msgpack_object *ck = wire_map_get(res, "checkpoint");
    const msgpack_object *recs = wire_map_get(res, "records");
    const msgpack_object *subj = wire_map_get(res, "subject");
    uint64_t size = 0;
    uint32_t i;

    *next = 0;
    (void)wire_map_uint(res, "next", next);
    if (ck == NULL || ck->type != MSGPACK_OBJECT_STR || recs == NULL ||
        recs->type != MSGPACK_OBJECT_ARRAY ||
        !wire_map_uint(res, "size", &size))
        return ERR_MALFORMED;
    if (subj != NULL && subj->type == MSGPACK_OBJECT_BIN && *subject == NULL) {
        char *h = hex_of(subj->via.bin.ptr, subj->via.bin.size);

        *subject = json_string(h);
        free(h);
    }
    for (i = 0; i < recs->via.array.size; i++) {
        const msgpack_object *it = &recs->via.array.ptr[i];
        const msgpack_object *raw = wire_map_get(it, "raw");
        const msgpack_object *pr = wire_map_get(it, "proof");
        uint8_t leaf[MERKLE_HASH_BYTES];
        json_t *j, *hs;
        uint64_t index;
        char name[64], *h;
        uint32_t k;
        int rc;

        if (!wire_map_uint(it, "index", &index) || raw == NULL ||
            raw->type != MSGPACK_OBJECT_BIN ||
            raw->via.bin.size > PRIVACY_RECORD_MAX || pr == NULL ||
            pr->type != MSGPACK_OBJECT_ARRAY ||
            pr->via.array.size > MERKLE_MAX_PROOF)
            return ERR_MALFORMED;
        hs = json_array();
        for (k = 0; k < pr->via.array.size; k++) {
            const msgpack_object *o = &pr->via.array.ptr[k];

            if (o->type != MSGPACK_OBJECT_BIN ||
                o->via.bin.size != MERKLE_HASH_BYTES) {
                json_decref(hs);
                return ERR_MALFORMED;
            }
            h = hex_of(o->via.bin.ptr, MERKLE_HASH_BYTES);
            (void)json_array_append_new(hs, json_string(h));
            free(h);
        }
        merkle_leaf_hash(
            (const uint8_t *)raw->via.bin.ptr, raw->via.bin.size, leaf);
        j = json_object();
        (void)json_object_set_new(j, "type", json_string("inclusion"));
        (void)json_object_set_new(j, "index", json_integer((json_int_t)index));
        (void)json_object_set_new(j, "size", json_integer((json_int_t)size));
        h = hex_of(raw->via.bin.ptr, raw->via.bin.size);
        (void)json_object_set_new(j, "record", json_string(h));
        free(h);
        h = hex_of(leaf, sizeof(leaf));
        (void)json_object_set_new(j, "leaf_hash", json_string(h));
        free(h);
        (void)json_object_set_new(j, "proof", hs);
        (void)json_object_set_new(
            j, "checkpoint", json_stringn(ck->via.str.ptr, ck->via.str.size));
        (void)snprintf(name, sizeof(name), "record-%" PRIu64 ".json", index);
        rc = write_json(dirfd, name, j);
        if (rc != 0)
            return rc;
        (void)json_array_append_new(idx, json_integer((json_int_t)index));
        (void)json_array_append_new(files, json_string(name));
    }
    return 0;
}

/* The whole report of one subject: pages until the last. Adds its entry
 * to `subjects`. Returns 0, or run's status is set. */
static int
report_subject(struct run *run, int dirfd, const char *kind, const char *value,
    json_t *subjects, json_t *files)
{
    json_t *idx = json_array(), *subject = NULL, *e;
    uint64_t from = 0, next = 0;
    unsigned pages = 0;
    int rc;

    do {
        rc = ask(run, QPROTO_OP_SUBJECT_REPORT, kind, value, from);
        if (rc != 0)
            break;
        rc = report_page(dirfd, run->rep.result, idx, files, &subject, &next);
        if (rc != 0) {
            log_warnx("shop '%s' webhook '%s': the report could not be "
                      "written: %s",
                run->r->shop->domain, run->r->webhook_id, err_str(rc));
            run->status = 500;
            run->why = "the report could not be written\n";
            break;
        }
        from = next;
    } while (next != 0 && ++pages < PRIVACY_MAX_PAGES);
    if (rc != 0) {
        json_decref(idx);
        json_decref(subject);
        return rc;
    }
    e = json_object();
    (void)json_object_set_new(e, "kind", json_string(kind));
    (void)json_object_set_new(
        e, "subject", subject != NULL ? subject : json_null());
    (void)json_object_set_new(e, "records", idx);
    (void)json_array_append_new(subjects, e);
    return 0;
}

/* mkdir `name` under `dirfd` (0700, existing is fine); open it. */
static int
subdir(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0700) != 0 && errno != EEXIST)
        return -1;
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* customers/data_request: the report under reports_dir/<shop>/<case>/. */
static void
run_report(struct run *run)
{
    const struct req *r = run->r;
    const struct privacy_job *job = r->job;
    json_t *subjects = json_array(), *files = json_array(), *doc;
    int top, shopfd = -1, dirfd = -1, rc = 0;
    unsigned i;

    top = open(run->pv->sh->cfg.reports_dir,
        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (top >= 0)
        shopfd = subdir(top, r->shop->domain);
    if (shopfd >= 0)
        dirfd = subdir(shopfd, job->case_ref);
    if (dirfd < 0) {
        log_warn("reports_dir '%s': cannot make the report's directory",
            run->pv->sh->cfg.reports_dir);
        run->status = 500;
        run->why = "the report could not be written\n";
        goto out;
    }
    if (job->customer[0] != '\0')
        rc = report_subject(
            run, dirfd, "account", job->customer, subjects, files);
    if (rc == 0 && job->email[0] != '\0')
        rc = report_subject(run, dirfd, "email", job->email, subjects, files);
    if (rc == 0 && job->phone[0] != '\0')
        rc = report_subject(run, dirfd, "phone", job->phone, subjects, files);
    for (i = 0; rc == 0 && i < job->norders; i++)
        rc = report_subject(
            run, dirfd, "order", job->orders[i], subjects, files);
    if (rc != 0)
        goto out;
    doc = json_object();
    (void)json_object_set_new(doc, "shop", json_string(r->shop->domain));
    (void)json_object_set_new(doc, "topic", json_string(r->topic));
    (void)json_object_set_new(doc, "case", json_string(job->case_ref));
    (void)json_object_set_new(doc, "webhook_id", json_string(r->webhook_id));
    (void)json_object_set_new(
        doc, "written_ms", json_integer((json_int_t)clock_wall_ms()));
    (void)json_object_set_new(doc, "subjects", subjects);
    (void)json_object_set_new(doc, "files", files);
    (void)json_object_set_new(doc, "check",
        json_string("each file: vigilctl audit check-proof FILE --key "
                    "<the audit log's verifier key>"));
    subjects = files = NULL;
    rc = write_json(dirfd, "report.json", doc);
    if (rc == 0 && (fsync(dirfd) != 0 || fsync(shopfd) != 0 || fsync(top)))
        rc = ERR_IO;
    if (rc != 0) {
        log_warnx("shop '%s' webhook '%s': report.json: %s", r->shop->domain,
            r->webhook_id, err_str(rc));
        run->status = 500;
        run->why = "the report could not be written\n";
        goto out;
    }
    log_info("shop '%s' webhook '%s': subject report written (case '%s')",
        r->shop->domain, r->webhook_id, job->case_ref);
    run->status = 200;
    run->why = "ok: report written for the merchant\n";
out:
    json_decref(subjects);
    json_decref(files);
    if (dirfd >= 0)
        close(dirfd);
    if (shopfd >= 0)
        close(shopfd);
    if (top >= 0)
        close(top);
}

/* customers/redact: erase the account and every listed order;
 * shop/redact: erase the whole storefront. */
static void
run_erase(struct run *run)
{
    const struct privacy_job *job = run->r->job;
    unsigned i;

    if (job->kind == TOPICS_SHOP_REDACT) {
        if (ask(run, QPROTO_OP_SUBJECT_ERASE, "storefront",
                run->r->shop->domain, 0) != 0)
            return;
        log_info("shop '%s' webhook '%s': the shop's data erased (case "
                 "'%s')",
            run->r->shop->domain, run->r->webhook_id, job->case_ref);
        run->status = 200;
        run->why = "ok: erased\n";
        return;
    }

    if (job->customer[0] != '\0' &&
        ask(run, QPROTO_OP_SUBJECT_ERASE, "account", job->customer, 0) != 0)
        return;
    /* Idempotent: erased=false when the account's erasure took them. */
    if (job->email[0] != '\0' &&
        ask(run, QPROTO_OP_SUBJECT_ERASE, "email", job->email, 0) != 0)
        return;
    if (job->phone[0] != '\0' &&
        ask(run, QPROTO_OP_SUBJECT_ERASE, "phone", job->phone, 0) != 0)
        return;
    for (i = 0; i < job->norders; i++)
        if (ask(run, QPROTO_OP_SUBJECT_ERASE, "order", job->orders[i], 0) != 0)
            return;
    log_info("shop '%s' webhook '%s': customer erased (%u order(s) named; "
             "case '%s')",
        run->r->shop->domain, run->r->webhook_id, job->norders, job->case_ref);
    run->status = 200;
    run->why = "ok: erased\n";
}

static void
run_job(void *arg, struct req *r)
{
    struct privacy *pv = arg;

    struct run run;
    uint64_t now;
    unsigned i;

    memset(&run, 0, sizeof(run));
    run.pv = pv;
    run.r = r;
    run.status = 503;
    run.why = "Vigil did not answer in time; retry\n";
    buf_init(&run.reply, QPROTO_REPLY_MAX);
    wire_dec_init(&run.dec, QPROTO_REPLY_MAX);
    if (clock_mono_ms() < r->deadline_ms) {
        if (r->job->kind == TOPICS_CUSTOMERS_DATA_REQUEST)
            run_report(&run);
        else
            run_erase(&run);
    }
    wire_dec_release(&run.dec);
    buf_wipe_release(&run.reply);
    if (run.status == 200) {
        STAT_INC(pv->sh, privacy_ok);
        now = clock_wall_ms();
        for (i = 0; i < r->nkeys; i++)
            if (seen_add(pv->sh->seen, r->keys[i], now) != 0)
                break; /* logged; a repeat is applied again, harmlessly */
    } else {
        STAT_INC(pv->sh, privacy_failed);
    }
    privacy_job_free(r->job);
    r->job = NULL;
    r->status = run.status;
    r->why = run.why;
    http_resume(r);
}

/* ------------------------------------------------------------- queue */

int
privacy_submit(struct privacy *pv, struct req *r)
{
    return jobq_submit(&pv->q, r);
}

int
privacy_open(struct shopify *sh, struct privacy **out)
{
    const struct config *c = &sh->cfg;
    char name[CERT_NAME_MAX + 1];
    struct privacy *pv;
    int rc;

    *out = NULL;
    if (c->dpo_cert[0] == '\0') {
        log_info("privacy webhooks off (no dpo_cert): they answer 503");
        return 0;
    }
    pv = xcalloc(1, sizeof(*pv));
    pv->sh = sh;
    jobq_init(&pv->q, PRIVACY_QUEUE_MAX, run_job, pv);
    rc = qclient_open(
        &pv->qc, c, "dpo_cert", c->dpo_cert, "dpo", "vigil-shopify", name);
    if (rc == 0 && mkdir(c->reports_dir, 0700) != 0 && errno != EEXIST) {
        log_warn("reports_dir '%s'", c->reports_dir);
        rc = ERR_IO;
    }
    if (rc == 0 && jobq_start(&pv->q) != 0)
        rc = ERR_IO;
    if (rc != 0) {
        privacy_close(pv);
        return rc;
    }
    log_info("privacy webhooks on: DPO requests as '%s' to '%s', reports "
             "in '%s'",
        name, c->query_endpoint, c->reports_dir);
    *out = pv;
    return 0;
}

/* A delivery that never ran, at close (jobq_stop answers it). */
static void
drop_job(void *arg, struct req *r)
{
    struct privacy *pv = arg;

    STAT_INC(pv->sh, privacy_failed);
    privacy_job_free(r->job);
    r->job = NULL;
}

void
privacy_close(struct privacy *pv)
{
    if (pv == NULL)
        return;
    jobq_stop(&pv->q, drop_job);
    qclient_close(&pv->qc);
    free(pv);
}
