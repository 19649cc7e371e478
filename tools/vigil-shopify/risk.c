/*
 * risk.c - Vigil's decision back to the shop: an order risk assessment
 *          through the Admin GraphQL API
 *
 * After an orders/create delivery is acknowledged, the uplink queues
 * the order's score, decision and reasons here; one worker thread posts
 * them with libcurl, so no webhook answer ever waits on Shopify's API.
 * The request is the documented one (shopify.dev/docs/api/admin-graphql/
 * 2026-10/mutations/orderRiskAssessmentCreate and its input object
 * OrderRiskAssessmentCreateInput: orderId ID!, riskLevel
 * RiskAssessmentResult! (HIGH, MEDIUM, LOW, NONE, PENDING), facts
 * [OrderRiskAssessmentFactInput!]! of at most 20 {description String!,
 * sentiment RiskFactSentiment! (NEGATIVE, NEUTRAL, POSITIVE)}):
 *
 *   POST <admin_api_base>/admin/api/<admin_api_version>/graphql.json
 *   Content-Type: application/json
 *   X-Shopify-Access-Token: <the shop's token>
 *   {"query": "mutation OrderRiskAssessmentCreate($input:
 *      OrderRiskAssessmentCreateInput!) { orderRiskAssessmentCreate(
 *      orderRiskAssessmentInput: $input) { orderRiskAssessment {
 *      riskLevel } userErrors { code field } } }",
 *    "variables": {"input": {"orderId": "gid://shopify/Order/<id>",
 *      "riskLevel": "LOW" | "MEDIUM" | "HIGH",
 *      "facts": [{"description": "Vigil fraud score 12/100: allow",
 *                 "sentiment": "POSITIVE" | "NEUTRAL" | "NEGATIVE"},
 *                {"description": "<reason text> (<code> = <value>)",
 *                 "sentiment": "NEGATIVE"}, ...]}}}
 *
 * allow, review and block become LOW, MEDIUM and HIGH. Retries, at most
 * risk_attempts tries per assessment with 1, 2, 4, ... s between them
 * (capped at 60 s; a 429's Retry-After is honoured up to that): on a
 * transport error, HTTP 429 or 5xx, or a GraphQL THROTTLED error. Any
 * other answer ends the job (userErrors are logged by code only).
 *
 * Invariants:
 *  - a job holds the order's Admin API id only until it is posted or
 *    given up, in memory, and wipes it then; no token or id is logged.
 *  - the queue is bounded (risk_queue_max); a full queue drops (counted).
 *
 * See also: shopify.h, tools/vigil-shopify.8 "RISK ASSESSMENTS"
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/reply.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/shopify.h"

#define RISK_QUERY                                                             \
    "mutation OrderRiskAssessmentCreate($input: "                              \
    "OrderRiskAssessmentCreateInput!) { orderRiskAssessmentCreate("            \
    "orderRiskAssessmentInput: $input) { orderRiskAssessment { riskLevel } "   \
    "userErrors { code field } } }"
#define RISK_MAX_FACTS    20
#define RISK_BACKOFF_MAX  60000 /* ms */
#define RISK_RESPONSE_MAX (64 * 1024)
#define RISK_URL_MAX      2048

struct risk_job {
    struct risk_job *next;
    size_t shop;                  /* index in the shops table */
    char gid[TOPICS_GID_MAX + 1]; /* the order's Admin API id */
    struct reply rep;             /* score, decision, reasons */
    unsigned attempts;            /* tries made */
    uint64_t not_before;          /* monotonic ms */
};

struct risk {
    struct shopify *sh;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    struct risk_job *head, *tail;
    size_t n;
    atomic_bool stop; /* written under mu; read bare by curl's callback */
    CURL *curl;       /* the worker's */
};

/* -------------------------------------------------------- the body */

static const char *
risk_level(enum reply_decision d)
{
    switch (d) {
    case REPLY_DECISION_BLOCK:
        return "HIGH";
    case REPLY_DECISION_REVIEW:
        return "MEDIUM";
    case REPLY_DECISION_ALLOW:
    case REPLY_DECISION_NONE:
        break;
    }
    return "LOW";
}

static const char *
score_sentiment(enum reply_decision d)
{
    switch (d) {
    case REPLY_DECISION_BLOCK:
        return "NEGATIVE";
    case REPLY_DECISION_REVIEW:
        return "NEUTRAL";
    case REPLY_DECISION_ALLOW:
    case REPLY_DECISION_NONE:
        break;
    }
    return "POSITIVE";
}

static void
add_fact(json_t *facts, const char *description, const char *sentiment)
{
    json_t *f = json_pack(
        "{s:s, s:s}", "description", description, "sentiment", sentiment);

    if (f == NULL || json_array_append_new(facts, f) != 0)
        fatalx("%s: out of memory", __func__);
}

char *
risk_body(const char *order_gid, const struct reply *rep)
{
    char text[REPLY_REASON_TEXT_MAX + REPLY_REASON_CODE_MAX + 64];
    json_t *facts, *root;
    unsigned i;
    char *s;

    facts = json_array();
    if (facts == NULL)
        fatalx("%s: out of memory", __func__);
    (void)snprintf(text, sizeof(text), "Vigil fraud score %u/100: %s",
        (unsigned)rep->score, reply_decision_name(rep->decision));
    add_fact(facts, text, score_sentiment(rep->decision));
    for (i = 0; i < rep->nreasons && i + 1 < RISK_MAX_FACTS; i++) {
        (void)snprintf(text, sizeof(text), "%s (%s = %g)", rep->reasons[i].text,
            rep->reasons[i].code, rep->reasons[i].value);
        add_fact(facts, text, "NEGATIVE");
    }
    root = json_pack("{s:s, s:{s:{s:s, s:s, s:o}}}", "query", RISK_QUERY,
        "variables", "input", "orderId", order_gid, "riskLevel",
        risk_level(rep->decision), "facts", facts);
    if (root == NULL)
        fatalx("%s: out of memory", __func__);
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (s == NULL)
        fatalx("%s: out of memory", __func__);
    return s;
}

void
risk_body_free(char *body)
{
    json_malloc_t m;
    json_free_t f;

    if (body == NULL)
        return;
    /* json_dumps() allocated it with jansson's allocator: free it with
     * the same (topics_json_init's wipes it). */
    json_get_alloc_funcs(&m, &f);
    f(body);
}

/* ----------------------------------------------------------- posting */

enum post_result { POST_DONE, POST_RETRY, POST_GIVE_UP };

struct response {
    char *data; /* up to RISK_RESPONSE_MAX + 1 */
    size_t len;
    long retry_after_ms; /* from Retry-After, or -1 */
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct response *r = userdata;
    size_t n = size * nmemb, room = RISK_RESPONSE_MAX - r->len;

    if (n > room)
        n = room; /* the rest is dropped: an answer that long is an error */
    memcpy(r->data + r->len, p, n);
    r->len += n;
    return size * nmemb;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct response *r = userdata;
    size_t n = size * nmemb;
    char v[32];
    size_t k;

    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        for (k = 0; k + 12 < n && k + 1 < sizeof(v); k++)
            v[k] = p[12 + k];
        v[k] = '\0';
        r->retry_after_ms = strtol(v, NULL, 10) * 1000;
        if (r->retry_after_ms < 0)
            r->retry_after_ms = -1;
    }
    return n;
}

/* Abort a transfer in progress when the bridge is stopping. */
static int
on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    struct risk *rk = userdata;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return atomic_load(&rk->stop) ? 1 : 0;
}

/* The URL of `shop`'s GraphQL endpoint into url (RISK_URL_MAX). */
static int
make_url(const struct config *c, const char *shop, char *url)
{
    const char *base = c->admin_api_base, *mark = strstr(base, "{shop}");
    int n;

    if (mark != NULL)
        n = snprintf(url, RISK_URL_MAX, "%.*s%s%s/admin/api/%s/graphql.json",
            (int)(mark - base), base, shop, mark + 6, c->admin_api_version);
    else
        n = snprintf(url, RISK_URL_MAX, "%s/admin/api/%s/graphql.json", base,
            c->admin_api_version);
    return n < 0 || n >= RISK_URL_MAX ? ERR_TOOBIG : 0;
}

/* Judge a 200 answer's GraphQL body. */
static enum post_result
judge(const struct shop *shop, const struct response *resp)
{
    const json_t *errors, *data, *result, *ue, *ext, *code;
    json_error_t jerr;
    enum post_result res = POST_DONE;
    json_t *root;
    size_t i;

    root = json_loadb(resp->data, resp->len, 0, &jerr);
    if (root == NULL) {
        log_warnx(
            "shop '%s': risk assessment: the answer is not JSON", shop->domain);
        return POST_RETRY;
    }
    errors = json_object_get(root, "errors");
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        res = POST_GIVE_UP;
        for (i = 0; i < json_array_size(errors); i++) {
            ext = json_object_get(json_array_get(errors, i), "extensions");
            code = json_object_get(ext, "code");
            if (json_is_string(code) &&
                strcmp(json_string_value(code), "THROTTLED") == 0)
                res = POST_RETRY;
        }
        if (res == POST_GIVE_UP)
            log_warnx("shop '%s': risk assessment refused with GraphQL errors",
                shop->domain);
        goto done;
    }
    data = json_object_get(root, "data");
    result = json_object_get(data, "orderRiskAssessmentCreate");
    ue = json_object_get(result, "userErrors");
    if (!json_is_object(result)) {
        log_warnx("shop '%s': risk assessment: no result in the answer",
            shop->domain);
        res = POST_GIVE_UP;
    } else if (json_is_array(ue) && json_array_size(ue) > 0) {
        code = json_object_get(json_array_get(ue, 0), "code");
        log_warnx("shop '%s': risk assessment refused: %zu user error(s), "
                  "first code '%s'",
            shop->domain, json_array_size(ue),
            json_is_string(code) ? json_string_value(code) : "?");
        res = POST_GIVE_UP;
    }
done:
    json_decref(root);
    return res;
}

/* Post one job once. *delay_ms gets the wait before a retry. */
static enum post_result
post(struct risk *rk, struct risk_job *job, long *delay_ms)
{
    const struct shop *shop = shops_get(rk->sh->shops, job->shop);
    char url[RISK_URL_MAX], auth[SHOPS_TOKEN_MAX + 32];
    struct curl_slist *hdrs = NULL, *h2;
    struct response resp;
    enum post_result res;
    CURLcode cc;
    long status = 0;
    char *body;

    *delay_ms = -1;
    if (make_url(&rk->sh->cfg, shop->domain, url) != 0) {
        log_warnx("shop '%s': risk assessment: URL too long", shop->domain);
        return POST_GIVE_UP;
    }
    body = risk_body(job->gid, &job->rep);
    (void)snprintf(
        auth, sizeof(auth), "X-Shopify-Access-Token: %s", shop->token);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    h2 = hdrs != NULL ? curl_slist_append(hdrs, auth) : NULL;
    sodium_memzero(auth, sizeof(auth));
    if (h2 == NULL)
        fatalx("%s: out of memory", __func__);
    hdrs = h2;
    memset(&resp, 0, sizeof(resp));
    resp.data = xmalloc(RISK_RESPONSE_MAX + 1);
    resp.retry_after_ms = -1;

    curl_easy_reset(rk->curl);
    curl_easy_setopt(rk->curl, CURLOPT_URL, url);
    curl_easy_setopt(rk->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(rk->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(rk->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(
        rk->curl, CURLOPT_TIMEOUT_MS, (long)rk->sh->cfg.risk_timeout_ms);
    curl_easy_setopt(rk->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(rk->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(rk->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(rk->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(rk->curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(rk->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(rk->curl, CURLOPT_HEADERDATA, &resp);
    curl_easy_setopt(
        rk->curl, CURLOPT_USERAGENT, "vigil-shopify/" VIGIL_VERSION);
    curl_easy_setopt(rk->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(rk->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(rk->curl, CURLOPT_XFERINFODATA, rk);

    cc = curl_easy_perform(rk->curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(rk->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        log_warnx("shop '%s': risk assessment: %s", shop->domain,
            curl_easy_strerror(cc));
        res = POST_RETRY;
    } else if (status == 429 || status >= 500) {
        log_warnx("shop '%s': risk assessment: HTTP %ld", shop->domain, status);
        *delay_ms = resp.retry_after_ms;
        res = POST_RETRY;
    } else if (status != 200) {
        log_warnx("shop '%s': risk assessment refused: HTTP %ld", shop->domain,
            status);
        res = POST_GIVE_UP;
    } else {
        res = judge(shop, &resp);
    }
    /* curl keeps copies of the header list only until reset. */
    curl_easy_setopt(rk->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    sodium_memzero(resp.data, RISK_RESPONSE_MAX + 1);
    free(resp.data);
    risk_body_free(body);
    return res;
}

/* ------------------------------------------------------------ worker */

static void
job_free(struct risk_job *job)
{
    sodium_memzero(job, sizeof(*job));
    free(job);
}

/* Take the first job due at `now`, or NULL with *next the earliest time
 * one will be (UINT64_MAX: none queued). Under mu. */
static struct risk_job *
take_due(struct risk *rk, uint64_t now, uint64_t *next)
{
    struct risk_job *j, *prev = NULL;

    *next = UINT64_MAX;
    for (j = rk->head; j != NULL; prev = j, j = j->next) {
        if (j->not_before <= now) {
            if (prev != NULL)
                prev->next = j->next;
            else
                rk->head = j->next;
            if (rk->tail == j)
                rk->tail = prev;
            rk->n--;
            j->next = NULL;
            return j;
        }
        if (j->not_before < *next)
            *next = j->not_before;
    }
    return NULL;
}

static void
append(struct risk *rk, struct risk_job *job)
{
    job->next = NULL;
    if (rk->tail != NULL)
        rk->tail->next = job;
    else
        rk->head = job;
    rk->tail = job;
    rk->n++;
}

static void *
worker(void *arg)
{
    struct risk *rk = arg;
    struct shopify *sh = rk->sh;
    struct risk_job *job;
    enum post_result res;
    struct timespec ts;
    uint64_t now, next;
    long delay;

    pthread_mutex_lock(&rk->mu);
    while (!rk->stop) {
        now = clock_mono_ms();
        job = take_due(rk, now, &next);
        if (job == NULL) {
            if (next == UINT64_MAX) {
                pthread_cond_wait(&rk->cv, &rk->mu);
            } else {
                ts.tv_sec = (time_t)(next / 1000);
                ts.tv_nsec = (long)(next % 1000) * 1000000L;
                pthread_cond_timedwait(&rk->cv, &rk->mu, &ts);
            }
            continue;
        }
        pthread_mutex_unlock(&rk->mu);
        job->attempts++;
        res = post(rk, job, &delay);
        pthread_mutex_lock(&rk->mu);
        if (res == POST_RETRY &&
            job->attempts < (unsigned)sh->cfg.risk_attempts && !rk->stop) {
            if (delay < 0)
                delay = 1000L
                    << (job->attempts - 1 < 16 ? job->attempts - 1 : 16);
            if (delay > RISK_BACKOFF_MAX)
                delay = RISK_BACKOFF_MAX;
            job->not_before = clock_mono_ms() + (uint64_t)delay;
            append(rk, job);
            STAT_INC(sh, risk_retries);
            continue;
        }
        if (res == POST_DONE) {
            STAT_INC(sh, risk_posted);
            log_debug("shop '%s': risk assessment posted",
                shops_get(sh->shops, job->shop)->domain);
        } else {
            STAT_INC(sh, risk_failed);
            log_warnx("shop '%s': risk assessment given up after %u "
                      "attempt(s)",
                shops_get(sh->shops, job->shop)->domain, job->attempts);
        }
        job_free(job);
    }
    pthread_mutex_unlock(&rk->mu);
    return NULL;
}

int
risk_enqueue(struct risk *rk, const struct shop *shop, const char *order_gid,
    const struct reply *rep)
{
    struct risk_job *job;
    int rc = 0;

    if (shop->token[0] == '\0')
        return ERR_NOTFOUND;
    job = xcalloc(1, sizeof(*job));
    job->shop = shop->index;
    TEXT_COPY(job->gid, order_gid);
    job->rep = *rep;
    job->not_before = 0;
    pthread_mutex_lock(&rk->mu);
    if (rk->stop || rk->n >= (size_t)rk->sh->cfg.risk_queue_max) {
        rc = ERR_FULL;
    } else {
        append(rk, job);
        pthread_cond_signal(&rk->cv);
    }
    pthread_mutex_unlock(&rk->mu);
    if (rc != 0)
        job_free(job);
    return rc;
}

int
risk_open(struct shopify *sh, struct risk **out)
{
    pthread_condattr_t ca;
    struct risk *rk;
    size_t i;
    bool any = false;

    *out = NULL;
    for (i = 0; i < shops_count(sh->shops); i++)
        if (shops_get(sh->shops, i)->token[0] != '\0')
            any = true;
    if (!any)
        return 0;
    rk = xcalloc(1, sizeof(*rk));
    rk->sh = sh;
    if (pthread_mutex_init(&rk->mu, NULL) != 0 ||
        pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&rk->cv, &ca) != 0)
        fatalx("%s: cannot initialise the queue's lock", __func__);
    pthread_condattr_destroy(&ca);
    rk->curl = curl_easy_init();
    if (rk->curl == NULL) {
        log_warnx("%s: curl_easy_init failed", __func__);
        risk_close(rk);
        return ERR_IO;
    }
    if (pthread_create(&rk->thread, NULL, worker, rk) != 0) {
        log_warn("%s: pthread_create", __func__);
        risk_close(rk);
        return ERR_IO;
    }
    rk->started = true;
    *out = rk;
    return 0;
}

void
risk_close(struct risk *rk)
{
    struct risk_job *job;
    uint64_t next;
    size_t dropped = 0;

    if (rk == NULL)
        return;
    pthread_mutex_lock(&rk->mu);
    rk->stop = true;
    pthread_cond_broadcast(&rk->cv);
    pthread_mutex_unlock(&rk->mu);
    if (rk->started)
        pthread_join(rk->thread, NULL);
    for (;;) {
        /* Anything left, due or not. */
        job = take_due(rk, UINT64_MAX, &next);
        if (job == NULL)
            break;
        job_free(job);
        dropped++;
    }
    if (dropped > 0) {
        STAT_ADD(rk->sh, risk_dropped, dropped);
        log_warnx("%zu risk assessment(s) not posted: shutting down", dropped);
    }
    if (rk->curl != NULL)
        curl_easy_cleanup(rk->curl);
    pthread_cond_destroy(&rk->cv);
    pthread_mutex_destroy(&rk->mu);
    free(rk);
}
