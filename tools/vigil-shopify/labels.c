/*
 * labels.c - the label worker: Shopify's fraud outcomes to the scorer's
 *            `label` op, as the bridge's analyst identity (labels.h)
 *
 * One worker thread takes the suspended deliveries in order and, for
 * each, sends one qproto `label` request with label_cert (qclient.h),
 * waits for the reply within what is left of the delivery's budget and
 * answers the delivery. The scorer holds a label's reply until its
 * audit record and its journal record are durable (scorer/query.c
 * query_flush), so a 200 here means the label is stored and audited.
 *
 * Invariants:
 *  - every queued delivery is answered exactly once: by the worker, or
 *    503 by labels_close().
 *  - jobs (raw order ids) and replies are wiped before they are freed.
 *
 * See also: labels.h, qclient.h, shopify.h, common/qproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/cert.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/jobq.h"
#include "tools/vigil-shopify/labels.h"
#include "tools/vigil-shopify/qclient.h"
#include "tools/vigil-shopify/shopify.h"

#define LABELS_QUEUE_MAX 256 /* deliveries waiting, at most */

struct labels {
    struct shopify *sh;
    struct jobq q;     /* the deliveries, run on its thread */
    struct qclient qc; /* the way to the query endpoint */
};

/* ------------------------------------------------------------- jobs */

int
labels_take(enum topics_kind k, const struct topics_ev *e,
    const char *webhook_id, struct labels_job **out)
{
    struct labels_job *j;

    *out = NULL;
    if (!(e->ev.has & EVENT_HAS_ORDER) || e->pii.order[0] == '\0')
        return ERR_INVAL;
    j = xcalloc(1, sizeof(*j));
    TEXT_COPY(j->order, e->pii.order);
    j->fraud = e->ev.ok;
    j->ts = e->ev.ts;
    j->chargeback = k == TOPICS_DISPUTES_CREATE || k == TOPICS_DISPUTES_UPDATE;
    TEXT_COPY(j->source,
        k == TOPICS_ORDERS_CANCELLED    ? "shopify.orders.cancelled" :
            k == TOPICS_DISPUTES_CREATE ? "shopify.disputes.create" :
            k == TOPICS_DISPUTES_UPDATE ? "shopify.disputes.update" :
                                          "shopify");
    qclient_webhook_case(j->case_ref, webhook_id);
    (void)snprintf(
        j->req_id, sizeof(j->req_id), "shopify-label-%s", webhook_id);
    *out = j;
    return 0;
}

void
labels_job_free(struct labels_job *job)
{
    if (job == NULL)
        return;
    sodium_memzero(job, sizeof(*job));
    free(job);
}

/* ----------------------------------------------------------- sending */

/* Send r->lab; set r->status and r->why. */
static void
run_job(void *arg, struct req *r)
{
    struct labels *lb = arg;

    const struct labels_job *j = r->lab;
    struct qproto_request q;
    struct qproto_reply rep;
    struct wire_dec dec;
    struct buf reply;
    char msg[256];
    uint64_t now;
    unsigned i;
    int rc;

    r->status = 503;
    r->why = "Vigil did not answer in time; retry\n";
    if (clock_mono_ms() >= r->deadline_ms)
        goto done;
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_LABEL;
    TEXT_COPY(q.id, j->req_id);
    TEXT_COPY(
        q.purpose, j->chargeback ? "chargeback-review" : "fraud-prevention");
    TEXT_COPY(q.storefront, r->shop->domain);
    TEXT_COPY(q.case_ref, j->case_ref);
    TEXT_COPY(q.order, j->order);
    q.fraud = j->fraud;
    TEXT_COPY(q.source, j->source);
    q.ts = j->ts;
    q.args = QPROTO_ARG_ORDER | QPROTO_ARG_FRAUD | QPROTO_ARG_SOURCE |
        (j->ts != 0 ? QPROTO_ARG_TS : 0u);
    buf_init(&reply, 4096);
    wire_dec_init(&dec, QPROTO_REPLY_MAX);
    rc = qclient_exchange(&lb->qc, "labels", &q, r->deadline_ms, &reply);
    sodium_memzero(&q, sizeof(q));
    if (rc == 0)
        rc = qproto_reply_decode(
            &dec, &rep, reply.data, reply.len, msg, sizeof(msg));
    if (rc != 0) {
        log_warnx("shop '%s' topic '%s' webhook '%s': the scorer's query "
                  "endpoint: %s",
            r->shop->domain, r->topic, r->webhook_id,
            rc == ERR_AGAIN ? "no reply in time" : err_str(rc));
        r->why = "Vigil is unavailable; retry\n";
    } else if (rep.code == 0) {
        STAT_INC(lb->sh, labels_sent);
        r->status = 200;
        r->why = "ok: labelled\n";
    } else if (rep.code == ERR_NOTFOUND) {
        /* An order Vigil never saw (placed before the bridge, or its
         * retention ran out): nothing to label. Not a retry: Shopify
         * would send it again for hours. */
        STAT_INC(lb->sh, labels_unknown);
        log_info("shop '%s' topic '%s' webhook '%s': the order is unknown "
                 "to Vigil; no label",
            r->shop->domain, r->topic, r->webhook_id);
        r->status = 200;
        r->why = "ok: order unknown to Vigil; nothing labelled\n";
    } else {
        bool transient = qclient_code_transient(rep.code);

        /* Vigil's messages name fields and rules, never a value. */
        log_warnx("shop '%s' topic '%s' webhook '%s': Vigil refused the "
                  "label: %s: %s",
            r->shop->domain, r->topic, r->webhook_id, err_name(rep.code),
            rep.msg);
        r->status = transient ? 503 : 500;
        r->why = transient ? "Vigil is unavailable; retry\n" :
                             "Vigil refused the label (see the bridge's "
                             "log)\n";
    }
    wire_dec_release(&dec);
    buf_wipe_release(&reply);
done:
    if (r->status == 200) {
        now = clock_wall_ms();
        for (i = 0; i < r->nkeys; i++)
            if (seen_add(lb->sh->seen, r->keys[i], now) != 0)
                break; /* logged; Vigil's own dedup still holds */
    } else {
        STAT_INC(lb->sh, labels_failed);
        if (r->status == 503)
            STAT_INC(lb->sh, unavailable);
    }
    labels_job_free(r->lab);
    r->lab = NULL;
    http_resume(r);
}

int
labels_submit(struct labels *lb, struct req *r)
{
    return jobq_submit(&lb->q, r);
}

int
labels_open(struct shopify *sh, struct labels **out)
{
    const struct config *c = &sh->cfg;
    char name[CERT_NAME_MAX + 1];
    struct labels *lb;
    int rc;

    *out = NULL;
    if (c->label_cert[0] == '\0') {
        log_info("labels withheld (no label_cert): fraud cancellations and "
                 "chargebacks are answered 200 and counted as "
                 "labels_withheld, not sent");
        return 0;
    }
    lb = xcalloc(1, sizeof(*lb));
    lb->sh = sh;
    jobq_init(&lb->q, LABELS_QUEUE_MAX, run_job, lb);
    rc = qclient_open(&lb->qc, c, "label_cert", c->label_cert, "analyst",
        "vigil-shopify-labels", name);
    if (rc == 0 && jobq_start(&lb->q) != 0)
        rc = ERR_IO;
    if (rc != 0) {
        labels_close(lb);
        return rc;
    }
    log_info("labels on: fraud cancellations and chargebacks sent as '%s' "
             "(analyst) to '%s'",
        name, c->query_endpoint);
    *out = lb;
    return 0;
}

/* A delivery that never ran, at close (jobq_stop answers it). */
static void
drop_job(void *arg, struct req *r)
{
    struct labels *lb = arg;

    STAT_INC(lb->sh, labels_failed);
    labels_job_free(r->lab);
    r->lab = NULL;
}

void
labels_close(struct labels *lb)
{
    if (lb == NULL)
        return;
    jobq_stop(&lb->q, drop_job);
    qclient_close(&lb->qc);
    free(lb);
}
