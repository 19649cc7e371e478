/*
 * http.c - the webhook endpoint: libmicrohttpd on loopback
 *
 * One URL, POST /webhooks, as Shopify's HTTPS deliveries arrive through
 * the reverse proxy that terminates TLS. Per delivery, in this order:
 *  1. headers (before any body byte is read): method 405, path 404,
 *     Content-Type application/json else 415, Content-Encoding identity
 *     else 415, a declared Content-Length over max_body 413, a missing
 *     or misshapen X-Shopify-Hmac-SHA256 or an unknown
 *     X-Shopify-Shop-Domain 401, a missing or misshapen X-Shopify-Topic
 *     or X-Shopify-Webhook-Id 400. Answering here closes the connection
 *     without reading the body.
 *  2. body: collected up to max_body; past it the rest is read and
 *     thrown away, never stored, and the answer is 413.
 *  3. signature: HMAC-SHA256 over the exact bytes against the shop's
 *     secrets, 401 when none matches. Nothing before this point parses
 *     the body, and nothing reaches Vigil: a flood of forged deliveries
 *     costs one HMAC each and no scorer work.
 *  4. dedup: a webhook id (or Shopify event id) already applied is
 *     answered 200 at once.
 *  5. privacy topics: parsed (privacy.h) and handed to the DPO worker
 *     (privacy.c), which resumes the connection with 200 once the
 *     scorer answered every request ok (its audit record durable, a
 *     report's files fsynced), else 5xx; 503 at once without
 *     dpo_cert.
 *  6. parse and map (topics.c), then suspend the connection and hand it
 *     to the uplink, which resumes it with the answer: 200 once Vigil
 *     acknowledged every event, 5xx when it is down or late.
 * Shopify's contract (cited where it is used): it waits 1 s to connect
 * and 5 s for an answer, treats anything but 2xx as a failure and
 * retries 8 times over 4 hours (shopify.dev/docs/apps/build/webhooks/
 * subscribe/https; shopify.dev/changelog/updates-to-webhook-retry-
 * mechanism), so the budget here is request_budget_ms (4 s).
 *
 * Invariants:
 *  - every body buffer is wiped before it is freed or grown.
 *  - log lines name the shop domain, the topic and the webhook id,
 *    never a body value (jansson's error text quotes the input, so it
 *    is never logged).
 *
 * See also: shopify.h, hmac.h, topics.h, uplink.c, tools/vigil-shopify.8
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/rfc3339.h"
#include "tools/vigil-shopify/seen.h"
#include "tools/vigil-shopify/labels.h"
#include "tools/vigil-shopify/privacy.h"
#include "tools/vigil-shopify/shopify.h"
#include "tools/vigil-shopify/topics.h"

/* Idle seconds before libmicrohttpd drops a connection. */
#define HTTP_IDLE_S 10
/* Bytes of an oversized body read and thrown away before the
 * connection is cut instead. */
#define HTTP_DISCARD_MAX (64ull * 1024 * 1024)
/* Seconds between two warnings of one kind (bad signatures, refusals). */
#define HTTP_WARN_EVERY_MS 10000

struct http {
    struct shopify *sh;
    struct MHD_Daemon *d;
    atomic_uint_fast64_t last_warn_sig; /* ms of the last such warning */
    atomic_uint_fast64_t last_warn_bad;
};

/* ------------------------------------------------------------ bodies */

/* Grow r->body to hold `need` bytes, wiping the old block. The body
 * never outgrows max_body (the caller checks). */
static void
body_reserve(struct req *r, size_t need)
{
    uint8_t *p;
    size_t n;

    if (need <= r->body.alloc)
        return;
    n = r->body.alloc ? r->body.alloc : 4096;
    while (n < need)
        n *= 2;
    if (n > r->body.cap)
        n = r->body.cap;
    p = xmalloc(n);
    if (r->body.len > 0)
        memcpy(p, r->body.data, r->body.len);
    if (r->body.data != NULL)
        sodium_memzero(r->body.data, r->body.alloc);
    free(r->body.data);
    r->body.data = p;
    r->body.alloc = n;
}

static void
body_wipe(struct req *r)
{
    if (r->body.data != NULL)
        sodium_memzero(r->body.data, r->body.alloc);
    free(r->body.data);
    r->body.data = NULL;
    r->body.len = r->body.alloc = 0;
}

void
req_free(struct req *r)
{
    if (r == NULL)
        return;
    body_wipe(r);
    buf_wipe_release(&r->frame);
    privacy_job_free(r->job);
    labels_job_free(r->lab);
    sodium_memzero(r, sizeof(*r));
    free(r);
}

/* ----------------------------------------------------------- answers */

static enum MHD_Result
answer(struct MHD_Connection *conn, int status, const char *text)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(
        strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    (void)MHD_add_response_header(
        resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        (void)MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "POST");
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Answer a delivery whose request context exists. */
static enum MHD_Result
finish(struct req *r, int status, const char *why)
{
    r->state = REQ_DONE;
    r->status = status;
    r->why = why;
    return answer(r->conn, status, why);
}

/*
 * Before handing `r` to a worker: suspend its connection first, since
 * the worker may answer and resume it at once.
 */
static void
suspend(struct req *r)
{
    r->state = REQ_WAITING;
    MHD_suspend_connection(r->conn);
}

/*
 * After the hand-over: `rc` is the worker's *_submit result. When it
 * refused `r` (its queue full: `full` is the answer; shutting down),
 * answer 503 at once, so that Shopify retries.
 */
static enum MHD_Result
submitted(struct shopify *sh, struct req *r, int rc, const char *full)
{
    if (rc != 0) {
        STAT_INC(sh, unavailable);
        r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
        r->why = rc == ERR_FULL ? full : "shutting down; retry\n";
        http_resume(r);
    }
    return MHD_YES;
}

/* True at most once per HTTP_WARN_EVERY_MS for `last`. */
static bool
warn_due(atomic_uint_fast64_t *last)
{
    uint64_t now = clock_mono_ms();
    uint_fast64_t prev = atomic_load_explicit(last, memory_order_relaxed);

    if (prev != 0 && now - prev < HTTP_WARN_EVERY_MS)
        return false;
    return atomic_compare_exchange_strong(last, &prev, now);
}

/* ----------------------------------------------------------- headers */

static const char *
header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* "application/json", any case, optionally followed by parameters. */
static bool
is_json(const char *ct)
{
    static const char want[] = "application/json";
    size_t n = sizeof(want) - 1;

    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, want, n) != 0)
        return false;
    ct += n;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The first call: everything that can be refused before the body. */
static enum MHD_Result
on_headers(struct http *h, struct MHD_Connection *conn, const char *url,
    const char *method, void **con_cls)
{
    struct shopify *sh = h->sh;
    const char *ct, *ce, *cl, *hm, *dom, *topic, *wid, *eid, *trig;
    const struct shop *shop;
    struct req *r;
    unsigned long long len = 0;
    char *end;

    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        STAT_INC(sh, refused);
        return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "POST only\n");
    }
    if (strcmp(url, SHOPIFY_PATH) != 0) {
        STAT_INC(sh, refused);
        return answer(conn, MHD_HTTP_NOT_FOUND, "not found: POST /webhooks\n");
    }
    ct = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
    ce = header(conn, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (ct == NULL || !is_json(ct) ||
        (ce != NULL && strcasecmp(ce, "identity") != 0)) {
        STAT_INC(sh, refused);
        return answer(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json, without "
            "Content-Encoding\n");
    }
    cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        errno = 0;
        len = strtoull(cl, &end, 10);
        if (errno != 0 || *end != '\0')
            len = 0; /* libmicrohttpd refuses a malformed length itself */
        if (len > (unsigned long long)sh->cfg.max_body) {
            STAT_INC(sh, refused);
            return answer(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                "body larger than max_body\n");
        }
    }
    hm = header(conn, "X-Shopify-Hmac-Sha256");
    dom = header(conn, "X-Shopify-Shop-Domain");
    shop = dom != NULL ? shops_find(sh->shops, dom) : NULL;
    if (hm == NULL || strlen(hm) != HMAC_B64_LEN || shop == NULL) {
        STAT_INC(sh, bad_signature);
        return answer(conn, MHD_HTTP_UNAUTHORIZED,
            "missing or invalid signature for this shop\n");
    }
    topic = header(conn, "X-Shopify-Topic");
    wid = header(conn, "X-Shopify-Webhook-Id");
    if (topic == NULL || !topics_token_ok(topic, TOPICS_TOPIC_MAX) ||
        wid == NULL || !topics_token_ok(wid, TOPICS_WEBHOOK_ID_MAX)) {
        STAT_INC(sh, refused);
        return answer(conn, MHD_HTTP_BAD_REQUEST,
            "X-Shopify-Topic and X-Shopify-Webhook-Id are required\n");
    }
    eid = header(conn, "X-Shopify-Event-Id");
    trig = header(conn, "X-Shopify-Triggered-At");

    r = xcalloc(1, sizeof(*r));
    r->sh = sh;
    r->conn = conn;
    r->state = REQ_RECEIVING;
    r->t0_ms = clock_mono_ms();
    r->deadline_ms = r->t0_ms + (uint64_t)sh->cfg.request_budget_ms;
    r->shop = shop;
    TEXT_COPY(r->topic, topic);
    r->kind = topics_kind_parse(topic);
    TEXT_COPY(r->webhook_id, wid);
    if (eid != NULL && topics_token_ok(eid, TOPICS_WEBHOOK_ID_MAX))
        TEXT_COPY(r->event_id, eid);
    /* An unreadable trigger time is as good as none: the payload's own
     * times come first for creations (topics.c). */
    if (trig == NULL || rfc3339_parse(trig, &r->triggered_ms) != 0)
        r->triggered_ms = 0;
    memcpy(r->hmac, hm, HMAC_B64_LEN + 1);
    r->body.cap = (size_t)sh->cfg.max_body;
    buf_init(&r->frame, TOPICS_FRAME_MAX);
    if (cl != NULL && len > 0)
        body_reserve(r, (size_t)len);
    *con_cls = r;
    return MHD_YES;
}

/* ------------------------------------------------------------- body */

static enum MHD_Result
on_data(struct req *r, const char *data, size_t n)
{
    if (!r->too_big && n > r->body.cap - r->body.len) {
        /* Over the cap: keep nothing, read on (up to a point) so the
         * answer can be a clean 413 on a live connection. */
        r->too_big = true;
        body_wipe(r);
    }
    if (r->too_big) {
        r->discarded += n;
        return r->discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    body_reserve(r, r->body.len + n);
    memcpy(r->body.data + r->body.len, data, n);
    r->body.len += n;
    return MHD_YES;
}

/* ---------------------------------------------------------- complete */

/* Add the delivery's dedup keys (after a 200 that needs no Vigil ack). */
static void
remember(struct req *r)
{
    unsigned i;

    for (i = 0; i < r->nkeys; i++)
        if (seen_add(r->sh->seen, r->keys[i], clock_wall_ms()) != 0)
            break; /* logged; Vigil's dedup still holds */
}

/* Map the parsed body and pack the storefront batch into r->frame.
 * Returns 0 (r->nevents may be 0) or an HTTP status with *why set. */
static int
map_delivery(struct http *h, struct req *r, json_t *root, const char **why)
{
    struct topics_in in = { r->webhook_id, r->triggered_ms };
    struct topics_out *out = xmalloc(sizeof(*out));
    int rc, status = 0;

    rc = topics_map(r->kind, root, &in, out);
    if (rc != 0) {
        if (warn_due(&h->last_warn_bad))
            log_warnx("shop '%s' topic '%s' webhook '%s': refused: %s",
                r->shop->domain, r->topic, r->webhook_id, out->why);
        *why = rc == ERR_MALFORMED ?
            "payload does not match the topic's documented shape\n" :
            "payload holds a value Vigil cannot take\n";
        status = rc == ERR_MALFORMED ? MHD_HTTP_BAD_REQUEST :
                                       MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto done;
    }
    STAT_ADD(r->sh, fields_dropped, out->dropped);
    if (out->n == 1 && out->ev[0].ev.type == EVENT_LABEL) {
        /* A fraud cancellation or a chargeback: evidence for a label,
         * which Vigil takes from the fraud team only (scorer.8
         * AUTHORIZATION: op label, role analyst), never from a
         * storefront: it goes to the label worker, as the bridge's own
         * analyst identity (labels.h), or is withheld without one. */
        if (r->sh->labels != NULL &&
            labels_take(r->kind, &out->ev[0], r->webhook_id, &r->lab) == 0) {
            out->n = 0;
            goto done;
        }
        STAT_INC(r->sh, labels_withheld);
        out->n = 0;
        (void)snprintf(out->why, sizeof(out->why),
            "a label, which is the fraud team's (label_cert unset)");
    }
    r->nevents = out->n;
    if (out->n == 0) {
        log_debug("shop '%s' topic '%s' webhook '%s': no event: %s",
            r->shop->domain, r->topic, r->webhook_id, out->why);
        goto done;
    }
    /* Allocate the frame's whole cap at once, so that packing never
     * reallocates (and leaves no unwiped copy behind). */
    {
        static const uint8_t zero[TOPICS_FRAME_MAX];

        if (buf_append(&r->frame, zero, sizeof(zero)) != 0)
            fatalx("%s: invariant: the frame cap", __func__);
        buf_reset(&r->frame);
    }
    rc = topics_pack(out, &r->frame);
    if (rc != 0) {
        log_warnx("shop '%s' topic '%s' webhook '%s': events too large",
            r->shop->domain, r->topic, r->webhook_id);
        *why = "payload too large for Vigil's events\n";
        status = MHD_HTTP_UNPROCESSABLE_CONTENT;
        goto done;
    }
    TEXT_COPY(r->first_id, out->ev[0].pii.id);
    r->is_order = out->is_order;
    TEXT_COPY(r->order_gid, out->order_gid);
done:
    topics_wipe(out);
    free(out);
    return status;
}

/* A privacy topic's parsed body: to the DPO worker (privacy.c). */
static enum MHD_Result
on_privacy(struct http *h, struct req *r, json_t *root)
{
    struct shopify *sh = h->sh;
    int rc;

    rc = privacy_parse(r->kind, root, r->shop->domain, r->webhook_id, &r->job);
    json_decref(root);
    if (rc != 0) {
        STAT_INC(sh, refused);
        log_warnx("shop '%s' topic '%s' webhook '%s': refused: %s",
            r->shop->domain, r->topic, r->webhook_id, r->job->why);
        return finish(r,
            rc == ERR_MALFORMED ? MHD_HTTP_BAD_REQUEST :
                                  MHD_HTTP_UNPROCESSABLE_CONTENT,
            rc == ERR_MALFORMED ?
                "payload does not match the topic's documented shape\n" :
                "payload holds a value Vigil cannot take\n");
    }
    suspend(r);
    return submitted(sh, r, privacy_submit(sh->privacy, r),
        "too many requests waiting; retry\n");
}

/* The body is complete: verify, dedup, parse, map, hand over. */
static enum MHD_Result
on_complete(struct http *h, struct req *r)
{
    struct shopify *sh = h->sh;
    const char *why = NULL;
    json_error_t jerr;
    json_t *root;
    char scoped[TOPICS_TOPIC_MAX + TOPICS_WEBHOOK_ID_MAX + 2];
    uint64_t now;
    unsigned i;
    int status;

    STAT_INC(sh, deliveries);
    if (r->too_big) {
        STAT_INC(sh, refused);
        return finish(
            r, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than max_body\n");
    }
    if (!shops_verify(r->shop, r->body.data, r->body.len, r->hmac)) {
        STAT_INC(sh, bad_signature);
        if (warn_due(&h->last_warn_sig))
            log_warnx("shop '%s': deliveries with a bad signature (401); "
                      "%" PRIuFAST64 " so far",
                r->shop->domain,
                atomic_load_explicit(
                    &sh->stats.bad_signature, memory_order_relaxed));
        body_wipe(r);
        return finish(r, MHD_HTTP_UNAUTHORIZED,
            "missing or invalid signature for this shop\n");
    }

    /* Authentic from here on. */
    seen_key("webhook", r->shop->domain, r->webhook_id, r->keys[0]);
    r->nkeys = 1;
    if (r->event_id[0] != '\0') {
        (void)snprintf(scoped, sizeof(scoped), "%s\n%s", r->topic, r->event_id);
        seen_key("event", r->shop->domain, scoped, r->keys[1]);
        r->nkeys = 2;
    }
    now = clock_wall_ms();
    for (i = 0; i < r->nkeys; i++) {
        if (seen_has(sh->seen, r->keys[i], now)) {
            STAT_INC(sh, duplicates);
            log_debug("shop '%s' topic '%s' webhook '%s': already applied",
                r->shop->domain, r->topic, r->webhook_id);
            body_wipe(r);
            return finish(r, MHD_HTTP_OK, "ok: already applied\n");
        }
    }
    if (topics_is_privacy(r->kind) && sh->privacy == NULL) {
        /* Never a 200 for what was not done: Shopify retries a 503,
         * and the log says what to configure. */
        STAT_INC(sh, unavailable);
        log_warnx("shop '%s' topic '%s' webhook '%s': privacy webhooks need "
                  "dpo_cert (503)",
            r->shop->domain, r->topic, r->webhook_id);
        body_wipe(r);
        return finish(r, MHD_HTTP_SERVICE_UNAVAILABLE,
            "privacy webhooks are not configured here (dpo_cert); retry "
            "later\n");
    }
    root = json_loadb(
        (const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    body_wipe(r);
    if (root == NULL) {
        STAT_INC(sh, refused);
        if (warn_due(&h->last_warn_bad))
            log_warnx("shop '%s' topic '%s' webhook '%s': body is not JSON "
                      "(line %d, column %d)",
                r->shop->domain, r->topic, r->webhook_id, jerr.line,
                jerr.column);
        sodium_memzero(&jerr, sizeof(jerr));
        return finish(r, MHD_HTTP_BAD_REQUEST, "body is not valid JSON\n");
    }
    if (topics_is_privacy(r->kind))
        return on_privacy(h, r, root);
    status = map_delivery(h, r, root, &why);
    json_decref(root);
    if (status != 0) {
        STAT_INC(sh, refused);
        buf_wipe_release(&r->frame);
        return finish(r, status, why);
    }
    if (r->lab != NULL) {
        /* To the label worker: it answers once the scorer has the label
         * durably (labels.c). */
        suspend(r);
        return submitted(sh, r, labels_submit(sh->labels, r),
            "too many labels waiting; retry\n");
    }
    if (r->nevents == 0) {
        STAT_INC(sh, ok_no_events);
        remember(r);
        return finish(r, MHD_HTTP_OK, "ok: nothing for Vigil\n");
    }

    suspend(r);
    return submitted(sh, r, uplink_submit(sh->uplink, r),
        "too many deliveries waiting; retry\n");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct req *r = *con_cls;
    size_t n;

    (void)version;
    if (r == NULL)
        return on_headers(h, conn, url, method, con_cls);
    if (*upload_data_size > 0) {
        n = *upload_data_size;
        *upload_data_size = 0;
        if (r->state != REQ_RECEIVING)
            return MHD_NO;
        return on_data(r, upload_data, n);
    }
    switch (r->state) {
    case REQ_RECEIVING:
        return on_complete(h, r);
    case REQ_DONE:
        /* Resumed by the uplink (or by on_complete after a refusal). */
        return answer(conn, r->status, r->why);
    case REQ_WAITING:
        break;
    }
    return MHD_NO; /* invariant: a waiting request is suspended */
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_free(*con_cls);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages (no request content) to our log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    PRINTF_LIKE(2, 0);

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    size_t n;

    (void)cls;
    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warnx("libmicrohttpd: %s", msg);
}

void
http_resume(struct req *r)
{
    r->state = REQ_DONE;
    MHD_resume_connection(r->conn);
}

int
http_start(struct shopify *sh, struct http **out)
{
    struct sockaddr_storage ss;
    struct http *h;
    socklen_t len;
    bool loopback;
    unsigned flags;

    *out = NULL;
    if (config_listen_addr(sh->cfg.shopify_listen, &ss, &len, &loopback) != 0)
        return ERR_INVAL;
    h = xcalloc(1, sizeof(*h));
    h->sh = sh;
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
        MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* libmicrohttpd reads its handler through a variadic option list. */
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)sh->cfg.http_threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)sh->cfg.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_S, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_END);
    if (h->d == NULL) {
        log_warnx("cannot serve HTTP on '%s' (address in use?)",
            sh->cfg.shopify_listen);
        free(h);
        return ERR_IO;
    }
    *out = h;
    return 0;
}

void
http_quiesce(struct http *h)
{
    MHD_socket fd;

    if (h == NULL || h->d == NULL)
        return;
    fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        (void)close(fd);
}

void
http_stop(struct http *h)
{
    if (h == NULL)
        return;
    if (h->d != NULL)
        MHD_stop_daemon(h->d);
    free(h);
}
