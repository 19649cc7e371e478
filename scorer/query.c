/*
 * query.c - the scorer's query endpoint: who may ask what, the audit
 *           record of every answer, and the answers
 *
 * Storefronts, the fraud team, auditors and the DPO send one request
 * frame (common/qproto.h section 1) to the ROUTER at cfg query_endpoint;
 * scorer.c polls it on the main thread and calls query_handle() for
 * each message. The caller's name and role are the ones its CURVE key
 * has in the allow-list (the ZAP handler stamps them on the message as
 * User-Id and X-Role): nothing in the request can change them. A
 * request is decoded strictly, checked against THE AUTHORIZATION TABLE
 * below (role x op x purpose, the storefront the caller may touch, the
 * purposes that need a case reference), audited with record_now() (its
 * own fdatasync), and only then read from history through the overlay
 * transaction and answered (qproto.h section 2).
 *
 * Invariants:
 *  - THE FAIL-CLOSED RULE: no answer carrying personal data is sent
 *    unless its audit record is durable; when record_now() fails the
 *    reply is code "audit" and carries no result.
 *  - every decoded request naming a known op leaves exactly one audit
 *    record: allowed (also when nothing was found), denied (not in the
 *    table, or another storefront's data) or error (history failed).
 *  - a denied request gets "denied" whether or not the data exists: a
 *    caller without the right cannot tell a customer from a stranger.
 *  - client-chosen strings (request id, case reference) reach the log
 *    only as keyed hashes (pseudo_scoped "request" / "case").
 *
 * See also: common/qproto.h, scorer/record.h, scorer/scorer.8
 *           ("AUTHORIZATION"), tools/vigilctl/vigilctl.1
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/pseudo.h"
#include "common/qproto.h"
#include "common/quota.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "scorer/history.h"
#include "scorer/qbatch.h"
#include "scorer/query_int.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/status.h"

#define FRAUD_PURPOSES                                                         \
    {                                                                          \
        { "fraud-prevention", false }, { "chargeback-review", true },          \
        {                                                                      \
            NULL, false                                                        \
        }                                                                      \
    }

/*
 * THE AUTHORIZATION TABLE (scorer.8 "AUTHORIZATION" says the same):
 * what each role may do, on whose data, and why. Anything not here is
 * denied and recorded as denied.
 */
static const struct query_rule query_rules[] = {
    { QPROTO_OP_SCORE_GET, AUDIT_ROLE_STOREFRONT, QUERY_OWN,
        { { "fraud-prevention", false }, { NULL, false } },
        AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    { QPROTO_OP_SCORE_GET, AUDIT_ROLE_ANALYST, QUERY_NAMED, FRAUD_PURPOSES,
        AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    /* account.get returns order counts and amounts, failed payments,
     * the account's country and whether it is linked to fraud. */
    { QPROTO_OP_ACCOUNT_GET, AUDIT_ROLE_ANALYST, QUERY_NAMED, FRAUD_PURPOSES,
        AUDIT_CAT_ADDRESS | AUDIT_CAT_PAYMENT | AUDIT_CAT_ACCOUNT |
            AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    { QPROTO_OP_LABEL, AUDIT_ROLE_ANALYST, QUERY_NAMED, FRAUD_PURPOSES,
        AUDIT_CAT_ACCOUNT | AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    /* The review queue: every storefront's (or the one named), by the
     * orders' and accounts' tokens, with amounts, scores and reasons. */
    { QPROTO_OP_REVIEW_LIST, AUDIT_ROLE_ANALYST, QUERY_ANY, FRAUD_PURPOSES,
        AUDIT_CAT_ACCOUNT | AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    /* A review decision is a label of the order (reject: fraud). */
    { QPROTO_OP_REVIEW_DECIDE, AUDIT_ROLE_ANALYST, QUERY_NAMED, FRAUD_PURPOSES,
        AUDIT_CAT_ACCOUNT | AUDIT_CAT_ORDER | AUDIT_CAT_SCORE },
    /* Linked accounts: which accounts share devices, IPs, cards or
     * emails with this one (by kind and count, never the values), and
     * their labels. */
    { QPROTO_OP_LINKED_GET, AUDIT_ROLE_ANALYST, QUERY_NAMED, FRAUD_PURPOSES,
        AUDIT_CAT_DEVICE | AUDIT_CAT_IP | AUDIT_CAT_CONTACT |
            AUDIT_CAT_PAYMENT | AUDIT_CAT_ACCOUNT | AUDIT_CAT_SCORE },
    /* The allow and block lists: one entity (account, device, IP, card
     * or email) by its identifier; the record's category is that
     * entity's (query_list). A storefront is named for an account. */
    { QPROTO_OP_LIST_SET, AUDIT_ROLE_ANALYST, QUERY_ANY, FRAUD_PURPOSES,
        AUDIT_CAT_ACCOUNT },
    { QPROTO_OP_LIST_GET, AUDIT_ROLE_ANALYST, QUERY_ANY, FRAUD_PURPOSES,
        AUDIT_CAT_ACCOUNT },
    { QPROTO_OP_STATUS, AUDIT_ROLE_ADMIN, QUERY_NONE,
        { { "operations", false }, { NULL, false } }, 0 },
    /* The data-protection officer: access and erasure requests, each
     * under a case reference. A report lists accesses (no data
     * category of the person is returned); an export returns and an
     * erasure removes all of them. */
    { QPROTO_OP_SUBJECT_REPORT, AUDIT_ROLE_DPO, QUERY_ANY,
        { { "access-request", true }, { NULL, false } }, 0 },
    { QPROTO_OP_SUBJECT_EXPORT, AUDIT_ROLE_DPO, QUERY_ANY,
        { { "access-request", true }, { NULL, false } }, AUDIT_CAT_ALL },
    { QPROTO_OP_SUBJECT_ERASE, AUDIT_ROLE_DPO, QUERY_ANY,
        { { "erasure-request", true }, { NULL, false } }, AUDIT_CAT_ALL },
};

static const struct query_rule *
query_rule_find(enum qproto_op op, enum audit_role role)
{
    size_t i;

    for (i = 0; i < ARRAY_LEN(query_rules); i++)
        if (query_rules[i].op == op && query_rules[i].role == role)
            return &query_rules[i];
    return NULL;
}

/*
 * Decide whether `c` may run `q`, resolving q->storefront for a
 * storefront caller. Fills c->rule, c->allowed and c->why. Returns 0,
 * or ERR_INVAL (with c->why) for a request that is malformed for every
 * role (a missing storefront or case reference).
 */
static int
query_authorize(struct query_ctx *c, struct qproto_request *q)
{
    const struct query_purpose *p = NULL;
    unsigned i;

    c->allowed = false;
    c->rule = query_rule_find(q->op, c->role);
    if (c->rule == NULL) {
        snprintf(c->why, sizeof(c->why), "%s: not allowed for role %s",
            qproto_op_name(q->op), audit_role_name(c->role));
        return 0;
    }
    if (c->rule->scope == QUERY_OWN) {
        if (q->storefront[0] == '\0')
            TEXT_COPY(q->storefront, c->actor);
        if (strcmp(q->storefront, c->actor) != 0) {
            TEXT_COPY(c->why,
                "storefront: a storefront may only read its "
                "own data");
            return 0;
        }
    } else if (c->rule->scope == QUERY_NONE) {
        if (q->storefront[0] != '\0') {
            snprintf(c->why, sizeof(c->why),
                "storefront: %s reads no "
                "storefront's data; leave it out",
                qproto_op_name(q->op));
            return ERR_INVAL;
        }
    } else if (c->rule->scope == QUERY_NAMED && q->storefront[0] == '\0') {
        TEXT_COPY(c->why, "storefront: required (whose ids these are)");
        return ERR_INVAL;
    }
    for (i = 0; i < QUERY_MAX_PURPOSES && c->rule->purposes[i].name; i++)
        if (strcmp(c->rule->purposes[i].name, q->purpose) == 0)
            p = &c->rule->purposes[i];
    if (p == NULL) {
        snprintf(c->why, sizeof(c->why),
            "purpose: not allowed for %s by role %s", qproto_op_name(q->op),
            audit_role_name(c->role));
        return 0;
    }
    if (p->needs_case && q->case_ref[0] == '\0') {
        snprintf(c->why, sizeof(c->why),
            "case: purpose %s needs a case "
            "reference",
            p->name);
        return ERR_INVAL;
    }
    c->allowed = true;
    return 0;
}

/*
 * Send the `len` bytes of an encoded reply to the peer behind `env`, or,
 * while an operation's reply is held (s->qcur, query_hold), keep it in
 * the held slot until query_flush().
 */
static void
query_send(struct scorer *s, const struct zsock_route *env, struct buf *out)
{
    int rc;

    s->query_code = 0;

    if (s->qcur != NULL) {
        buf_reset(&s->qcur->out);
        rc = buf_append(&s->qcur->out, out->data, out->len);
        if (rc != 0)
            log_warnx("%s: held reply too big: %s", __func__, err_str(rc));
        buf_wipe_release(out);
        return;
    }
    rc = zsock_send_routed(s->query_sock, env, out->data, out->len);
    if (rc != 0)
        log_debug("%s: reply not sent: %s", __func__, err_str(rc));
    /* The reply may hold personal data (account ids, amounts). */
    buf_wipe_release(out);
}

/*
 * Hold the reply of the operation being handled (a label, a review
 * decision, a list change) until the batch's group commit: take the
 * next held slot for request `id` from `env` and make it current.
 * Flushes first when every slot is taken.
 */
static struct scorer_qreply *
query_hold(struct scorer *s, const struct zsock_route *env, const char *id)
{
    struct scorer_qreply *p;

    if (s->nqpend == SCORER_QUERY_BATCH)
        query_flush(s);
    p = &s->qpend[s->nqpend++];
    p->env = *env;
    TEXT_COPY(p->id, id);
    p->storefront[0] = '\0';
    p->journaled = false;
    buf_reset(&p->out);
    buf_reset(&p->raw);
    s->qcur = p;
    return p;
}

void
query_flush(struct scorer *s)
{
    unsigned i;
    int rc, erc;

    s->qcur = NULL;
    if (s->nqpend == 0) {
        s->qshare = s->qshare_done = false;
        return;
    }
    /* Committed with the events' group (scorer.c) when it ran; else now. */
    if (s->qshare_done) {
        rc = s->qshare_rc;
        s->stats.qshared++;
    } else {
        rc = scorer_commit_local(s);
        s->stats.qcommits++;
    }
    s->qshare = s->qshare_done = false;
    if (rc != 0)
        log_warnx(
            "%u query operations not durable: %s", s->nqpend, err_str(rc));
    for (i = 0; i < s->nqpend; i++) {
        struct scorer_qreply *p = &s->qpend[i];

        if (rc == ERR_AUDIT || (rc != 0 && p->journaled) || p->out.len == 0) {
            sodium_memzero(p->out.data, p->out.len);
            buf_reset(&p->out);
            erc = qproto_reply_error_encode(&p->out, p->id,
                rc == ERR_AUDIT ? ERR_AUDIT :
                    rc != 0     ? rc :
                                  ERR_IO,
                rc == ERR_AUDIT ?
                    "access refused: the audit record could not be written" :
                    "not stored: history or journal error; resend later");
            if (erc != 0)
                log_warnx("%s: cannot encode an error reply", __func__);
        }
        erc =
            zsock_send_routed(s->query_sock, &p->env, p->out.data, p->out.len);
        if (erc != 0)
            log_debug("%s: reply not sent: %s", __func__, err_str(erc));
        sodium_memzero(p->out.data, p->out.len);
        buf_reset(&p->out);
        buf_reset(&p->raw);
        p->journaled = false;
    }
    s->nqpend = 0;
}

void
query_send_error(struct scorer *s, const struct zsock_route *env,
    const char *id, int code, const char *msg)
{
    struct buf out;

    buf_init(&out, 512);
    if (qproto_reply_error_encode(&out, id, code, msg) != 0) {
        buf_reset(&out);
        if (qproto_reply_error_encode(&out, "", code, "reply too big") != 0)
            log_warnx("%s: cannot encode an error reply", __func__);
    }
    query_send(s, env, &out);
    s->query_code = code;
}

/* End a result started with qproto_reply_begin() and send it. */
void
query_send_result(struct scorer *s, const struct zsock_route *env,
    const char *id, struct wire_enc *e, struct buf *out)
{
    int rc = wire_enc_end(e);

    if (rc != 0) {
        log_warnx("%s: result not encodable: %s", __func__, err_str(rc));
        buf_wipe_release(out);
        query_send_error(s, env, id, ERR_IO, "result not encodable");
        return;
    }
    query_send(s, env, out);
}

/*
 * Fill `r`, the audit record of request `q` by `c` with `outcome`,
 * naming the `n` subjects `subj`. Its ref is the hex of the request id's
 * keyed hash, and of the case reference's when there is one.
 */
static void
query_fill_record(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    enum audit_outcome outcome, const char *extra, struct audit_record *rp)
{
    char req[2 * PSEUDO_BYTES + 1], cas[2 * PSEUDO_BYTES + 1];
    struct audit_record r;
    struct pseudo h;
    unsigned i;

    memset(&r, 0, sizeof(r));
    TEXT_COPY(r.actor, c->actor);
    r.role = c->role;
    TEXT_COPY(r.op, qproto_op_name(q->op));
    r.cats = c->cats != 0 ? c->cats : c->rule != NULL ? c->rule->cats : 0;
    for (i = 0; i < n && i < AUDIT_MAX_SUBJECTS; i++)
        memcpy(r.subj[r.nsubj++], subj[i].b, AUDIT_SUBJECT_BYTES);
    TEXT_COPY(r.purpose, q->purpose);
    r.outcome = outcome;
    req[0] = cas[0] = '\0';
    if (pseudo_scoped(s->pkey, "request", c->actor, q->id, &h) == 0)
        pseudo_hex(&h, req);
    if (q->case_ref[0] != '\0' &&
        pseudo_scoped(s->pkey, "case", q->storefront[0] ? q->storefront : "-",
            q->case_ref, &h) == 0) {
        pseudo_hex(&h, cas);
        snprintf(r.ref, sizeof(r.ref), "%s case %s%s%s", req, cas,
            extra ? " " : "", extra ? extra : "");
    } else {
        snprintf(r.ref, sizeof(r.ref), "%s%s%s", req, extra ? " " : "",
            extra ? extra : "");
    }
    sodium_memzero(&h, sizeof(h));
    *rp = r;
}

/*
 * Write the audit record of request `q` (query_fill_record), with the
 * `size` in bytes of the answer returned. A held reply's record is made
 * durable with its batch (query_flush) before the reply leaves; any
 * other is synced now (record_now). On failure the caller's request is
 * answered "audit".
 */
static int
query_audit_sized(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    enum audit_outcome outcome, const char *extra, uint64_t size)
{
    struct audit_record r;

    query_fill_record(s, c, q, subj, n, outcome, extra, &r);
    r.size = size;
    if ((s->qcur != NULL ? record_append(s, &r) : record_now(s, &r)) != 0)
        return ERR_AUDIT;
    return 0;
}

int
query_audit(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    enum audit_outcome outcome, const char *extra)
{
    return query_audit_sized(s, c, q, subj, n, outcome, extra, 0);
}

/*
 * End a result started with qproto_reply_begin(), write its audit record
 * (the subjects, and the answer's size in bytes) and only then send it;
 * if the record cannot be written, the answer is wiped and refused.
 */
void
query_answer(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    struct wire_enc *e, struct buf *out)
{
    int rc = wire_enc_end(e);

    if (rc != 0) {
        log_warnx("%s: result not encodable: %s", __func__, err_str(rc));
        buf_wipe_release(out);
        query_send_error(s, &c->env, q->id, ERR_IO, "result not encodable");
        return;
    }
    if (query_audit_sized(
            s, c, q, subj, n, AUDIT_OUTCOME_ALLOWED, NULL, out->len) != 0) {
        buf_wipe_release(out);
        query_send_error(s, &c->env, q->id, ERR_AUDIT,
            "access refused: the audit record could not be written");
        return;
    }
    query_send(s, &c->env, out);
}

/*
 * The common tail of every handler once the subjects are known: audit
 * with the outcome `lookup` implies, then refuse when denied, audit
 * failed, not found or the lookup failed. With `defer`, an allowed and
 * successful lookup is not audited here: the handler encodes its answer
 * and query_answer() audits it, with the answer's size, before it is
 * sent. Returns 0 when the handler may answer, else 1 (an error reply
 * was sent).
 */
int
query_gate_ex(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    int lookup, const char *what, bool defer)
{
    enum audit_outcome outcome = AUDIT_OUTCOME_ALLOWED;
    char msg[REPLY_MSG_MAX + 1];

    if (!c->allowed && s->qcur != NULL) {
        /* A held operation (a label): its denial is recorded in the
         * label batch and answered after that batch's commit, so that
         * only one kind of unsynced record is ever pending. */
        if (query_audit(s, c, q, subj, n, AUDIT_OUTCOME_DENIED, NULL) != 0)
            query_send_error(s, &c->env, q->id, ERR_AUDIT,
                "access refused: the audit record could not be written");
        else
            query_send_error(s, &c->env, q->id, ERR_DENIED, c->why);
        return 1;
    }
    if (!c->allowed) {
        /* Recorded in the drain's batch, answered after its sync (the
         * dispatcher committed any held label first). */
        struct audit_record r;

        query_fill_record(s, c, q, subj, n, AUDIT_OUTCOME_DENIED, NULL, &r);
        qbatch_deny(s, &r, &c->env, q->id, c->why);
        s->query_code = ERR_DENIED;
        return 1;
    }
    /* The batch's records must not share a sync that may fail. */
    qbatch_flush(s);
    if (lookup != 0 && lookup != ERR_NOTFOUND)
        outcome = AUDIT_OUTCOME_ERROR;
    if (defer && lookup == 0)
        return 0;
    if (query_audit(s, c, q, subj, n, outcome, NULL) != 0) {
        query_send_error(s, &c->env, q->id, ERR_AUDIT,
            "access refused: the audit record could not be written");
        return 1;
    }
    if (lookup == ERR_NOTFOUND) {
        snprintf(msg, sizeof(msg), "%s: not found", what);
        query_send_error(s, &c->env, q->id, ERR_NOTFOUND, msg);
        return 1;
    }
    if (lookup != 0) {
        log_warnx("%s lookup failed: %s", what, err_str(lookup));
        snprintf(msg, sizeof(msg), "%s: history lookup failed", what);
        query_send_error(s, &c->env, q->id, lookup, msg);
        return 1;
    }
    return 0;
}

int
query_gate(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    int lookup, const char *what)
{
    return query_gate_ex(s, c, q, subj, n, lookup, what, false);
}

/*
 * After computing a subject's pseudonym with result `rc`: an id that is
 * not one (ERR_INVAL, ERR_TOOBIG) is the caller's error when the request
 * is allowed (answered "invalid", returns 1). A denied request may name
 * no storefront at all; it goes on to be recorded as denied (0), and so
 * does every other result.
 */
int
query_bad_id(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, int rc, const char *what)
{
    char msg[REPLY_MSG_MAX + 1];

    if ((rc != ERR_INVAL && rc != ERR_TOOBIG) || !c->allowed)
        return 0;
    snprintf(msg, sizeof(msg), "%s: not an id", what);
    query_send_error(s, &c->env, q->id, ERR_INVAL, msg);
    return 1;
}

int
query_account_token(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, struct pseudo *acct, int *rc)
{
    *rc = pseudo_scoped(s->pkey, "account", q->storefront, q->account, acct);
    if (query_bad_id(s, c, q, *rc, "account") != 0)
        return 1;
    /* At rest the account is its token; one never seen has none. */
    if (*rc == 0)
        *rc =
            vault_token(s->vault, acct, VAULT_KIND_ACCOUNT, false, acct, NULL);
    return 0;
}

void
query_put_str(struct wire_enc *e, const char *k, const char *v)
{
    wire_put_str(e, k);
    wire_put_str(e, v);
}

void
query_put_uint(struct wire_enc *e, const char *k, uint64_t v)
{
    wire_put_str(e, k);
    wire_put_uint(e, v);
}

void
query_put_bool(struct wire_enc *e, const char *k, bool v)
{
    wire_put_str(e, k);
    wire_put_bool(e, v);
}

/*
 * Look up order `q->order` of q->storefront: its pseudonym into
 * `*order_p`, its subjects (the order's token and, when it names one,
 * the account's) into subj[0..*n). An order Vigil never saw has no
 * token: ERR_NOTFOUND with no subject (there is nobody to name).
 * Returns 0, ERR_NOTFOUND, ERR_INVAL (not an id) or a history error.
 */
static int
query_find_order(struct scorer *s, const struct qproto_request *q,
    struct history_order *ho, struct pseudo *order_p, struct pseudo subj[2],
    unsigned *n)
{
    int rc;

    *n = 0;
    memset(ho, 0, sizeof(*ho));
    rc = pseudo_scoped(s->pkey, "order", q->storefront, q->order, order_p);
    if (rc != 0)
        return rc;
    rc =
        vault_token(s->vault, order_p, VAULT_KIND_ORDER, false, &subj[0], NULL);
    if (rc != 0)
        return rc;
    *n = 1;
    rc = history_order_get(s->hist, s->otxn, q->storefront, &subj[0], ho);
    if (rc == 0 && ho->has_account)
        subj[(*n)++] = ho->account;
    return rc;
}

/*
 * score.get: find the order (to know whose data it is), audit, answer.
 * The reasons come from the order event's stored reply; orders stored
 * before history kept the event id have none (reasons_known false).
 */
static void
query_score_get(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct history_order ho;
    struct pseudo subj[2], order_p;
    struct reply first;
    struct wire_enc e;
    struct buf out;
    unsigned nsubj;
    bool reasons, model;
    int lookup;

    lookup = query_find_order(s, q, &ho, &order_p, subj, &nsubj);
    if (query_bad_id(s, c, q, lookup, "order") != 0)
        goto done;
    if (query_gate_ex(s, c, q, subj, nsubj, lookup, "order", true) != 0)
        goto done;
    reasons = history_reply_get(s->hist, s->otxn, q->storefront, &ho.event_id,
                  NULL, &first) == 0;
    buf_init(&out, 2048);
    qproto_reply_begin(&e, &out, q->id);
    model = reasons && ho.has_score && first.model[0] != '\0';
    wire_put_map(&e,
        6 + (ho.has_score ? 2u : 0u) + (reasons ? 1u : 0u) + (model ? 1u : 0u));
    query_put_str(&e, "order", q->order);
    query_put_str(&e, "storefront", q->storefront);
    query_put_uint(&e, "ts", ho.ts);
    query_put_uint(&e, "amount", ho.amount);
    query_put_bool(&e, "scored", ho.has_score);
    if (ho.has_score) {
        query_put_uint(&e, "score", ho.score);
        query_put_str(&e, "decision", reply_decision_name(ho.decision));
    }
    query_put_bool(&e, "reasons_known", reasons);
    if (reasons) {
        wire_put_str(&e, "reasons");
        reply_pack_reasons(&e, first.reasons, first.nreasons);
    }
    /* The model that made the score (the stored reply's). */
    if (model)
        query_put_str(&e, "model", first.model);
    query_answer(s, c, q, subj, nsubj, &e, &out);
done:
    memset(&ho, 0, sizeof(ho));
}

/* account.get: audit, then read the account's summary as of now. */
static void
query_account_get(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    const struct entity_features *ef;
    struct features *f = NULL;
    struct event *ev = NULL;
    struct pseudo acct;
    struct wire_enc e;
    struct buf out;
    uint64_t now = clock_wall_ms();
    unsigned nsubj = 0;
    int rc;

    if (query_account_token(s, c, q, &acct, &rc) != 0)
        return;
    if (rc == 0)
        nsubj = 1;
    /* What history knows about the account just before "now". */
    ev = xcalloc(1, sizeof(*ev));
    f = xcalloc(1, sizeof(*f));
    ev->type = EVENT_DEVICE_SEEN;
    ev->has = EVENT_HAS_ACCOUNT;
    ev->ts = now;
    ev->account = acct;
    if (rc == 0 && c->allowed)
        rc = history_features(s->hist, s->otxn, q->storefront, ev, 0, f);
    if (rc == 0 && c->allowed && !f->ent[ENT_ACCOUNT].known)
        rc = ERR_NOTFOUND;
    if (query_gate_ex(s, c, q, &acct, nsubj, rc, "account", true) != 0)
        goto done;
    ef = &f->ent[ENT_ACCOUNT];
    buf_init(&out, 1024);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e,
        14 + (f->account_age_ms >= 0 ? 1u : 0u) +
            (f->account_country[0] != '\0' ? 1u : 0u));
    query_put_str(&e, "account", q->account);
    query_put_str(&e, "storefront", q->storefront);
    query_put_uint(&e, "as_of", now);
    query_put_bool(&e, "known", true);
    query_put_uint(&e, "first_seen_age_ms", (uint64_t)ef->age_ms);
    if (f->account_age_ms >= 0)
        query_put_uint(&e, "account_age_ms", (uint64_t)f->account_age_ms);
    query_put_uint(&e, "orders_1h", ef->orders_1h);
    query_put_uint(&e, "orders_24h", ef->orders_24h);
    query_put_uint(&e, "failed_payments_1h", ef->failed_pay_1h);
    query_put_uint(&e, "failed_payments_24h", ef->failed_pay_24h);
    query_put_uint(&e, "failed_logins_1h", ef->failed_login_1h);
    query_put_uint(&e, "orders_total", f->account_orders);
    query_put_uint(&e, "amount_mean", f->account_amount_mean);
    query_put_uint(&e, "amount_max", f->account_amount_max);
    if (f->account_country[0] != '\0')
        query_put_str(&e, "country", f->account_country);
    query_put_bool(&e, "fraud", ef->fraud_linked);
    query_answer(s, c, q, &acct, nsubj, &e, &out);
done:
    free(ev);
    if (f != NULL) {
        memset(f, 0, sizeof(*f));
        free(f);
    }
}

/*
 * label: the fraud team's verdict on an order or account. Audited as op
 * "label" by the analyst (write-ahead: the record is durable before the
 * reply leaves), then applied as a label event of the storefront's
 * history through the journal, so that it survives a crash and replays
 * like any event. Its time is the request's `ts` (event time) or the
 * scorer's clock. The event id is derived from (storefront, client,
 * request id): resending the request does not label twice. The reply is
 * held until the batch's group commit (query_flush).
 */
/*
 * The order a review decision names by `ref` (the token review.list
 * showed, hex): its pseudonym into `*order_p` (what a label event
 * carries), its subjects and record, as query_find_order().
 */
static int
query_find_ref(struct scorer *s, const struct qproto_request *q,
    struct history_order *ho, struct pseudo *order_p, struct pseudo subj[2],
    unsigned *n)
{
    enum vault_kind kind;
    size_t len = 0;
    int rc;

    *n = 0;
    memset(ho, 0, sizeof(*ho));
    if (sodium_hex2bin(subj[0].b, PSEUDO_BYTES, q->ref, strlen(q->ref), NULL,
            &len, NULL) != 0 ||
        len != PSEUDO_BYTES)
        return ERR_INVAL;
    rc = vault_lookup_token(s->vault, &subj[0], order_p, &kind);
    if (rc != 0)
        return rc;
    if (kind != VAULT_KIND_ORDER)
        return ERR_NOTFOUND;
    *n = 1;
    rc = history_order_get(s->hist, s->otxn, q->storefront, &subj[0], ho);
    if (rc == 0 && ho->has_account)
        subj[(*n)++] = ho->account;
    return rc;
}

static void
query_label(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct scorer_qreply *held = query_hold(s, &c->env, q->id);
    struct history_order ho;
    struct pseudo subj[2];
    struct event *ev;
    struct reply r;
    struct wire_enc e;
    struct buf out;
    char idsrc[3 * (EVENT_ID_MAX + 1) + 8];
    const bool decide = q->op == QPROTO_OP_REVIEW_DECIDE;
    const char *what = (q->args & QPROTO_ARG_ORDER) ? "order" :
        (q->args & QPROTO_ARG_REF)                  ? "ref" :
                                                      "account";
    unsigned nsubj = 0;
    bool created = false, queued = false;
    int n, rc = 0;

    memset(&ho, 0, sizeof(ho));
    ev = xcalloc(1, sizeof(*ev));
    if (q->args & QPROTO_ARG_REF) {
        rc = query_find_ref(s, q, &ho, &ev->order, subj, &nsubj);
        ev->has = EVENT_HAS_ORDER;
    } else if (q->args & QPROTO_ARG_ORDER) {
        rc = query_find_order(s, q, &ho, &ev->order, subj, &nsubj);
        ev->has = EVENT_HAS_ORDER;
    } else {
        rc = pseudo_scoped(
            s->pkey, "account", q->storefront, q->account, &ev->account);
        ev->has = EVENT_HAS_ACCOUNT;
        /* A label writes about the account even when no event named it
         * yet: it gets its salt now, durable before the record names
         * its token (vault.h). */
        if (rc == 0 && c->allowed)
            rc = vault_token(s->vault, &ev->account, VAULT_KIND_ACCOUNT, true,
                &subj[0], &created);
        else if (rc == 0)
            rc = vault_token(s->vault, &ev->account, VAULT_KIND_ACCOUNT, false,
                &subj[0], NULL);
        if (rc == 0 && created)
            rc = vault_sync(s->vault);
        nsubj = rc == 0 ? 1 : 0;
        if (rc == ERR_NOTFOUND)
            rc = 0; /* denied, and never seen: recorded with no subject */
    }
    if (query_bad_id(s, c, q, rc, what) != 0)
        goto done;
    /* Audited before the label is applied (write-ahead). */
    if (query_gate(s, c, q, subj, nsubj, rc, what) != 0)
        goto done;
    if (decide &&
        history_review_has(
            s->hist, s->otxn, q->storefront, &subj[0], ho.ts, &queued) != 0)
        queued = false;
    ev->type = EVENT_LABEL;
    ev->ts = (q->args & QPROTO_ARG_TS) ? q->ts : clock_wall_ms();
    ev->has |= EVENT_HAS_OK;
    ev->ok = q->fraud;
    TEXT_COPY(ev->source,
        q->source[0] ? q->source :
            !decide  ? "analyst" :
            q->fraud ? "review.reject" :
                       "review.approve");
    /* The event id: (storefront, client, request id). */
    n = snprintf(idsrc, sizeof(idsrc), "label\n%s\n%s\n%s", q->storefront,
        c->actor, q->id);
    pseudo_compute(s->pkey, "event", idsrc, (size_t)n, &ev->id);
    TEXT_COPY(held->storefront, q->storefront);
    rc = scorer_apply_local(s, held->storefront, ev, &held->raw, &r);
    if (rc == ERR_CONFLICT) {
        query_send_error(s, &c->env, q->id, rc,
            "id: this request id was used for a different label");
        goto done;
    }
    if (rc != 0 && rc != ERR_EXISTS) {
        query_send_error(s, &c->env, q->id, rc,
            "not stored: history or journal error; resend later");
        goto done;
    }
    held->journaled = rc == 0;
    buf_init(&out, 512);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e, decide ? 7u : 5u);
    query_put_str(&e, "storefront", q->storefront);
    if (q->args & QPROTO_ARG_ORDER)
        query_put_str(&e, "order", q->order);
    else if (q->args & QPROTO_ARG_REF)
        query_put_str(&e, "ref", q->ref);
    else
        query_put_str(&e, "account", q->account);
    if (decide) {
        query_put_str(&e, "decision", q->fraud ? "reject" : "approve");
        /* Whether it was waiting in the queue (a repeat: no longer). */
        query_put_bool(&e, "was_queued", queued);
    }
    query_put_bool(&e, "fraud", q->fraud);
    query_put_str(&e, "source", ev->source);
    query_put_bool(&e, "stored", rc == 0);
    query_send_result(s, &c->env, q->id, &e, &out);
done:
    s->qcur = NULL;
    memset(&ho, 0, sizeof(ho));
    free(ev);
}

static void
query_status(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct wire_enc e;
    struct buf out;

    if (query_gate(s, c, q, NULL, 0, 0, "status") != 0)
        return;
    buf_init(&out, QPROTO_REPLY_MAX);
    qproto_reply_begin(&e, &out, q->id);
    status_pack(s, &e);
    query_send_result(s, &c->env, q->id, &e, &out);
}

/*
 * Who sent `m`: the name and role the ZAP handler gave its key. Returns
 * 0, or ERR_DENIED when the message carries none (cannot happen on a
 * socket with a ZAP domain; refused rather than guessed).
 */
static int
query_caller(const struct zsock_msg *m, struct query_ctx *c)
{
    const char *user = zsock_msg_user(m);
    const char *role = zsock_msg_property(m, "X-Role");

    if (user == NULL || role == NULL || strlen(user) > AUDIT_MAX_ACTOR ||
        audit_role_parse(role, &c->role) != 0 || c->role == AUDIT_ROLE_SYSTEM)
        return ERR_DENIED;
    TEXT_COPY(c->actor, user);
    return 0;
}

/*
 * The caller's query quota (quota.h): 0 when it may go on, else the
 * retry hint in ms, after answering "busy" (the request is not read).
 */
static uint32_t
query_quota(struct scorer *s, const struct query_ctx *c)
{
    struct quota_client *qc = quota_client_get(s->qclients, c->actor);
    uint32_t retry =
        quota_take(&qc->queries, &qc->queries_rate, 1, clock_mono_ns());
    char msg[REPLY_MSG_MAX + 1];
    struct buf out;

    if (retry == 0)
        return 0;
    snprintf(msg, sizeof(msg),
        "busy: over this client's query quota (%.0f/s, burst %.0f); retry "
        "later",
        qc->queries_rate.per_s, qc->queries_rate.burst);
    buf_init(&out, 512);
    if (qproto_reply_retry_encode(&out, "", ERR_BUSY, msg, retry) == 0)
        query_send(s, &c->env, &out);
    else
        buf_release(&out);
    status_query_busy(s->status, c->actor);
    return retry;
}

void
query_handle(struct scorer *s, struct zsock_msg *m)
{
    char msg[REPLY_MSG_MAX + 1];
    struct qproto_request q;
    struct query_ctx c;
    uint64_t t0 = clock_mono_us();
    int k, rc;

    memset(&c, 0, sizeof(c));
    memset(&q, 0, sizeof(q));
    s->query_code = 0;
    if (zsock_msg_route(m, &c.env, &k) != 0) {
        if (c.env.identlen > 0) /* else not a ROUTER peer: nobody to answer */
            query_send_error(s, &c.env, "", ERR_MALFORMED,
                "request: expected exactly one frame");
        return;
    }
    if (query_caller(m, &c) != 0) {
        query_send_error(s, &c.env, "", ERR_DENIED,
            "the client's key has no name and role in the allow-list");
        return;
    }
    if (query_quota(s, &c) != 0)
        return;
    rc = qproto_request_decode(&s->q_dec, &q, zsock_msg_data(m, k),
        zsock_msg_size(m, k), msg, sizeof(msg));
    if (rc != 0) {
        query_send_error(s, &c.env, q.id, rc, msg[0] ? msg : err_str(rc));
        goto done;
    }
    if (s->otxn == NULL || s->hist == NULL || s->audit == NULL) {
        query_send_error(s, &c.env, q.id, ERR_UNAVAIL,
            "history is not available (recovering); try again");
        goto done;
    }
    rc = query_authorize(&c, &q);
    if (rc != 0) {
        query_send_error(s, &c.env, q.id, rc, c.why);
        goto done;
    }
    /* A read answers from durable history only: commit the held
     * operations before it. */
    if (q.op != QPROTO_OP_LABEL && q.op != QPROTO_OP_REVIEW_DECIDE)
        query_flush(s);
    log_debug("query '%s' by %s (%s) purpose '%s': %s", qproto_op_name(q.op),
        c.actor, audit_role_name(c.role), q.purpose,
        c.allowed ? "allowed" : "denied");
    switch (q.op) {
    case QPROTO_OP_SCORE_GET:
        query_score_get(s, &c, &q);
        break;
    case QPROTO_OP_ACCOUNT_GET:
        query_account_get(s, &c, &q);
        break;
    case QPROTO_OP_LABEL:
    case QPROTO_OP_REVIEW_DECIDE:
        query_label(s, &c, &q);
        break;
    case QPROTO_OP_REVIEW_LIST:
        query_review_list(s, &c, &q);
        break;
    case QPROTO_OP_LINKED_GET:
        query_linked(s, &c, &q);
        break;
    case QPROTO_OP_LIST_SET:
    case QPROTO_OP_LIST_GET:
        query_list(s, &c, &q);
        break;
    case QPROTO_OP_STATUS:
        query_status(s, &c, &q);
        break;
    case QPROTO_OP_SUBJECT_REPORT:
        query_dpo_report(s, &c, &q);
        break;
    case QPROTO_OP_SUBJECT_ERASE:
        query_dpo_erase(s, &c, &q);
        break;
    case QPROTO_OP_SUBJECT_EXPORT:
        query_dpo_export(s, &c, &q);
        break;
    default:
        query_send_error(s, &c.env, q.id, ERR_INVAL, "op: unknown operation");
        break;
    }
done:
    status_query(s->status, c.actor, qproto_op_name(q.op), s->query_code,
        clock_mono_us() - t0);
    sodium_memzero(&q, sizeof(q)); /* a DPO value may be an identifier */
}
