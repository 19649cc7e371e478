/*
 * query.c - the scorer's query endpoint: authorization, audit, answers
 *
 * The fraud team's tools (vigilctl score / account) send one request
 * frame (common/qproto.h section 1) to the ROUTER at cfg query_endpoint;
 * scorer.c polls it on the main thread and calls query_handle() for
 * each message. A request is decoded strictly, checked against the
 * authorization table below (op, role, allowed purposes, data
 * categories), audited with scorer_audit_now() (its own fdatasync), and
 * only then read from history through the overlay transaction and
 * answered (qproto.h section 2). Work per request: a few point reads.
 *
 * Invariants:
 *  - THE FAIL-CLOSED RULE: no answer carrying personal data is sent
 *    unless its audit record is durable; when scorer_audit_now() fails
 *    the reply is code "audit" and carries no result.
 *  - every decoded request naming a known op leaves exactly one audit
 *    record: allowed (also when nothing was found), denied (purpose not
 *    in the role's row) or error (history could not be read).
 *  - until CURVE authentication lands every peer of the query socket is
 *    the actor QUERY_ACTOR with role QUERY_ROLE.
 *
 * See also: common/qproto.h, common/audit.h,
 *           scorer/scorer.h, tools/vigilctl.1 ("score", "account")
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include <zmq.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/log.h"
#include "common/clock.h"
#include "common/pseudo.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "scorer/history.h"
#include "scorer/scorer.h"

/*
 * The actor and role of every query-socket peer. XXX(curve-auth): the
 * name and role become those mapped from the client's CURVE key.
 */
#define QUERY_ACTOR "local-operator"
#define QUERY_ROLE  AUDIT_ROLE_ANALYST

#define QUERY_MAX_PURPOSES 4

/* One row of the authorization table. */
struct query_rule {
    enum qproto_op op;
    enum audit_role role;
    const char *purposes[QUERY_MAX_PURPOSES]; /* NULL-terminated */
    uint32_t cats;                            /* AUDIT_CAT_* touched */
};

/* THE authorization table: what each role may do, and why. */
static const struct query_rule query_rules[] = {
    { QPROTO_OP_SCORE_GET, AUDIT_ROLE_ANALYST,
        { "fraud-prevention", "chargeback-review", NULL },
        AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    { QPROTO_OP_ACCOUNT_GET, AUDIT_ROLE_ANALYST,
        { "fraud-prevention", "chargeback-review", NULL }, AUDIT_CAT_ACCOUNT },
};

/* The row for (op, role), or NULL when the role may not do op at all. */
static const struct query_rule *
query_rule_find(enum qproto_op op, enum audit_role role)
{
    size_t i;

    for (i = 0; i < sizeof(query_rules) / sizeof(query_rules[0]); i++)
        if (query_rules[i].op == op && query_rules[i].role == role)
            return &query_rules[i];
    return NULL;
}

static bool
query_purpose_allowed(const struct query_rule *rule, const char *purpose)
{
    unsigned i;

    if (rule == NULL)
        return false;
    for (i = 0; i < QUERY_MAX_PURPOSES && rule->purposes[i] != NULL; i++)
        if (strcmp(rule->purposes[i], purpose) == 0)
            return true;
    return false;
}

/* Encode `r` and send it to the peer behind `env` (dropped if it left). */
static void
query_send(struct scorer *s, const struct zsock_route *env,
    const struct qproto_reply *r)
{
    struct buf out;
    int rc;

    buf_init(&out, QPROTO_REPLY_MAX);
    rc = qproto_reply_encode(&out, r);
    if (rc != 0) {
        /* Cannot happen with the struct's bounds; answer plainly. */
        struct qproto_reply e;

        log_warnx("%s: reply not encodable: %s", __func__, err_str(rc));
        qproto_reply_error(&e, r->id, ERR_IO, "reply not encodable");
        buf_reset(&out);
        rc = qproto_reply_encode(&out, &e);
        if (rc != 0)
            goto done;
    }
    rc = zsock_send_routed(s->query_sock, env, out.data, out.len);
    if (rc != 0)
        log_debug("%s: reply not sent: %s", __func__, err_str(rc));
done:
    /* The reply may hold personal data (account ids, amounts). */
    buf_wipe_release(&out);
}

static void
query_send_error(struct scorer *s, const struct zsock_route *env,
    const char *id, int code, const char *msg)
{
    struct qproto_reply r;

    qproto_reply_error(&r, id, code, msg);
    query_send(s, env, &r);
}

/*
 * The audit record of request `q` with `outcome`, naming the `n`
 * subjects `subj` (pseudonyms). Its ref is the hex of the request id's
 * keyed hash (pseudo_scoped "request"): a client may put anything in an
 * id, and the log keeps what it holds forever.
 */
static void
query_record(const struct scorer *s, const struct qproto_request *q,
    const struct query_rule *rule, const struct pseudo *subj, unsigned n,
    enum audit_outcome outcome, struct audit_record *r)
{
    struct pseudo ref;
    unsigned i;

    memset(r, 0, sizeof(*r));
    text_copy(r->actor, sizeof(r->actor), QUERY_ACTOR);
    r->role = QUERY_ROLE;
    text_copy(r->op, sizeof(r->op), qproto_op_name(q->op));
    r->cats = rule != NULL ? rule->cats : 0;
    for (i = 0; i < n && i < AUDIT_MAX_SUBJECTS; i++)
        memcpy(r->subj[r->nsubj++], subj[i].b, AUDIT_SUBJECT_BYTES);
    text_copy(r->purpose, sizeof(r->purpose), q->purpose);
    r->outcome = outcome;
    if (pseudo_scoped(s->pkey, "request", QUERY_ACTOR, q->id, &ref) == 0)
        pseudo_hex(&ref, r->ref);
}

/*
 * score.get: find the order (to know whose data it is), audit, answer.
 * The reasons come from the order event's stored reply (the dedup
 * record); orders stored before history kept the event id have none
 * (reasons_known false).
 */
static void
query_score_get(struct scorer *s, const struct zsock_route *env,
    const struct qproto_request *q, const struct query_rule *rule, bool allowed)
{
    struct qproto_reply rep;
    struct history_order ho;
    struct audit_record rec;
    enum audit_outcome outcome;
    struct pseudo subj[2];
    unsigned nsubj = 0;
    int rc, lookup;

    memset(&ho, 0, sizeof(ho));
    lookup = pseudo_scoped(s->pkey, "order", q->storefront, q->order, &subj[0]);
    if (lookup == 0) {
        nsubj = 1;
        lookup =
            history_order_get(s->hist, s->otxn, q->storefront, &subj[0], &ho);
    }
    if (lookup == 0 && ho.has_account)
        subj[nsubj++] = ho.account;
    if (!allowed)
        outcome = AUDIT_OUTCOME_DENIED;
    else if (lookup == 0 || lookup == ERR_NOTFOUND)
        outcome = AUDIT_OUTCOME_ALLOWED;
    else
        outcome = AUDIT_OUTCOME_ERROR;
    query_record(s, q, rule, subj, nsubj, outcome, &rec);
    rc = scorer_audit_now(s, &rec);
    if (rc != 0) {
        query_send_error(s, env, q->id, ERR_AUDIT,
            "access refused: the audit record could not be written");
        goto done;
    }
    if (!allowed) {
        query_send_error(s, env, q->id, ERR_DENIED,
            "purpose: not allowed for score.get by role analyst");
        goto done;
    }
    if (lookup == ERR_NOTFOUND) {
        query_send_error(s, env, q->id, ERR_NOTFOUND, "order: not found");
        goto done;
    }
    if (lookup != 0) {
        log_warnx("%s: order lookup failed: %s", __func__, err_str(lookup));
        query_send_error(s, env, q->id, lookup, "order: history lookup failed");
        goto done;
    }
    qproto_reply_error(&rep, q->id, 0, "");
    rep.op = QPROTO_OP_SCORE_GET;
    rep.has_result = true;
    text_copy(rep.score.order, sizeof(rep.score.order), q->order);
    text_copy(
        rep.score.storefront, sizeof(rep.score.storefront), q->storefront);
    rep.score.ts = ho.ts;
    rep.score.amount = ho.amount;
    rep.score.scored = ho.has_score;
    rep.score.score = ho.score;
    rep.score.decision = ho.decision;
    rep.score.reasons_known = false;
    {
        struct reply first;

        rc = history_reply_get(
            s->hist, s->otxn, q->storefront, &ho.event_id, NULL, &first);
        if (rc == 0) {
            rep.score.reasons_known = true;
            rep.score.nreasons = first.nreasons;
            memcpy(rep.score.reasons, first.reasons, sizeof(first.reasons));
        }
    }
    query_send(s, env, &rep);
done:
    memset(&ho, 0, sizeof(ho));
}

/* account.get: audit, then read the account's summary as of now. */
static void
query_account_get(struct scorer *s, const struct zsock_route *env,
    const struct qproto_request *q, const struct query_rule *rule, bool allowed)
{
    struct qproto_reply rep;
    struct qproto_account_result *a = &rep.account;
    const struct entity_features *ef;
    struct audit_record rec;
    struct features *f = NULL;
    struct event *ev = NULL;
    struct pseudo acct;
    uint64_t now = clock_wall_ms();
    int rc;

    rc = pseudo_scoped(s->pkey, "account", q->storefront, q->account, &acct);
    if (rc != 0) {
        query_send_error(s, env, q->id, ERR_INVAL, "account: not an id");
        return;
    }
    query_record(s, q, rule, &acct, 1,
        allowed ? AUDIT_OUTCOME_ALLOWED : AUDIT_OUTCOME_DENIED, &rec);
    rc = scorer_audit_now(s, &rec);
    if (rc != 0) {
        query_send_error(s, env, q->id, ERR_AUDIT,
            "access refused: the audit record could not be written");
        return;
    }
    if (!allowed) {
        query_send_error(s, env, q->id, ERR_DENIED,
            "purpose: not allowed for account.get by role analyst");
        return;
    }
    /* What history knows about the account just before "now". */
    ev = xcalloc(1, sizeof(*ev));
    f = xcalloc(1, sizeof(*f));
    ev->type = EVENT_DEVICE_SEEN;
    ev->has = EVENT_HAS_ACCOUNT;
    ev->ts = now;
    ev->account = acct;
    rc = history_features(s->hist, s->otxn, q->storefront, ev, f);
    if (rc != 0) {
        log_warnx("%s: account lookup failed: %s", __func__, err_str(rc));
        query_send_error(s, env, q->id, rc, "account: history lookup failed");
        goto done;
    }
    ef = &f->ent[ENT_ACCOUNT];
    if (!ef->known) {
        query_send_error(s, env, q->id, ERR_NOTFOUND, "account: not found");
        goto done;
    }
    qproto_reply_error(&rep, q->id, 0, "");
    rep.op = QPROTO_OP_ACCOUNT_GET;
    rep.has_result = true;
    text_copy(a->account, sizeof(a->account), q->account);
    text_copy(a->storefront, sizeof(a->storefront), q->storefront);
    a->as_of = now;
    a->known = true;
    a->first_seen_age_ms = ef->age_ms;
    a->account_age_ms = f->account_age_ms;
    a->orders_1h = ef->orders_1h;
    a->orders_24h = ef->orders_24h;
    a->failed_payments_1h = ef->failed_pay_1h;
    a->failed_payments_24h = ef->failed_pay_24h;
    a->failed_logins_1h = ef->failed_login_1h;
    a->orders_total = f->account_orders;
    a->amount_mean = f->account_amount_mean;
    a->amount_max = f->account_amount_max;
    text_copy(a->country, sizeof(a->country), f->account_country);
    a->fraud = ef->fraud_linked;
    query_send(s, env, &rep);
done:
    free(ev);
    free(f);
}

void
query_handle(struct scorer *s, struct zsock_msg *m)
{
    struct zsock_route env;
    char msg[REPLY_MSG_MAX + 1];
    const struct query_rule *rule;
    struct qproto_request q;
    bool allowed;
    int k, rc;

    if (zsock_msg_route(m, &env, &k) != 0) {
        if (env.identlen > 0) /* else not a ROUTER peer: nobody to answer */
            query_send_error(s, &env, "", ERR_MALFORMED,
                "request: expected exactly one frame");
        return;
    }
    rc = qproto_request_decode(&s->q_dec, &q, zsock_msg_data(m, k),
        zsock_msg_size(m, k), msg, sizeof(msg));
    if (rc != 0) {
        query_send_error(s, &env, q.id, rc, msg[0] ? msg : err_str(rc));
        goto done;
    }
    if (s->otxn == NULL || s->hist == NULL || s->audit == NULL) {
        query_send_error(s, &env, q.id, ERR_UNAVAIL,
            "history is not available (recovering); try again");
        goto done;
    }
    rule = query_rule_find(q.op, QUERY_ROLE);
    allowed = query_purpose_allowed(rule, q.purpose);
    log_debug("query '%s' purpose '%s': %s", qproto_op_name(q.op), q.purpose,
        allowed ? "allowed" : "denied");
    switch (q.op) {
    case QPROTO_OP_SCORE_GET:
        query_score_get(s, &env, &q, rule, allowed);
        break;
    case QPROTO_OP_ACCOUNT_GET:
        query_account_get(s, &env, &q, rule, allowed);
        break;
    default:
        query_send_error(s, &env, q.id, ERR_INVAL, "op: unknown operation");
        break;
    }
done:
    memset(&q, 0, sizeof(q));
}
