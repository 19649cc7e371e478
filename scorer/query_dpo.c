/*
 * query_dpo.c - the data-protection officer's operations on the query
 *               endpoint: subject.report, subject.erase, subject.export
 *
 * A person's access or erasure request reaches the scorer as one of
 * these ops (role dpo, purpose access-request or erasure-request, a case
 * reference: THE AUTHORIZATION TABLE in query.c). The identifier in the
 * request (kind and value, and the storefront for the ids a storefront
 * chose) becomes its pseudonym here, with the pseudonym key only the
 * scorer holds, then the subject's token (vault.h): the DPO's tools
 * never touch the keys or the data directory. Every op is audited
 * before it answers or erases (fail closed), its record naming the
 * subject's token.
 *
 *  - subject.report: every audit record naming the token (the subject
 *    index, then the records themselves from the log), each with its
 *    RFC 9162 inclusion proof against a checkpoint signed for the
 *    report (scorer/prove.h); paged, DPO_PAGE records a reply.
 *  - subject.erase: plan (scorer/erase.h), record with the counts,
 *    apply. The identifier's salt and those of what was only its own
 *    are destroyed; a later report finds nothing.
 *  - subject.export: the same subjects as an erasure would take, and
 *    what history holds about them (account summaries, orders,
 *    entities), without changing anything.
 * Records and proofs come from the log's tiles, O(log n) hashes a record
 * (prove.h); only a log without tiles costs a pass over it.
 *
 * Invariants:
 *  - the identifier typed never reaches a log line, a record or a
 *    reply: replies carry the kind and the token only; the request is
 *    wiped by query_handle().
 *
 * See also: query_int.h, query.c, erase.h, prove.h, vault.h,
 *           common/qproto.h, scorer.8 ("THE DATA-PROTECTION OFFICER")
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
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
#include "common/store.h"
#include "common/subjidx.h"
#include "common/xmalloc.h"
#include "scorer/erase.h"
#include "scorer/history.h"
#include "scorer/prove.h"
#include "scorer/qbatch.h"
#include "scorer/query_int.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/vault.h"

/* Records per subject.report reply: at most ~3.3 KB each (a 1 KB
 * record, a 64-hash proof), well inside QPROTO_REPLY_MAX. */
#define DPO_PAGE 64

/* The subject a DPO request names. */
struct dpo_subject {
    int rc;          /* of computing the pseudonym: 0 or ERR_* */
    bool have;       /* it has a salt: `token` is set */
    struct pseudo t; /* its token */
    const char *why; /* when rc != 0: what is wrong, for the reply */
};

/*
 * Compute the pseudonym of the identifier in `q` (its kind's rules,
 * common/pseudo.h) and look its token up (no salt is made: a subject
 * Vigil holds no salt for has nothing to report, export or erase).
 */
static void
dpo_subject(
    struct scorer *s, const struct qproto_request *q, struct dpo_subject *d)
{
    struct pseudo p;

    memset(d, 0, sizeof(*d));
    if (strcmp(q->kind, "account") == 0 || strcmp(q->kind, "order") == 0) {
        if (q->storefront[0] == '\0') {
            d->rc = ERR_INVAL;
            d->why = "storefront: required for an account or order id";
            return;
        }
        d->rc = pseudo_scoped(s->pkey, q->kind, q->storefront, q->value, &p);
    } else if (strcmp(q->kind, "address") == 0) {
        char raw[QPROTO_VALUE_MAX + 1];

        /* name|street|city|postal|country: pseudo.h joins with '\n'. */
        memcpy(raw, q->value, sizeof(raw));
        for (char *c = raw; *c != '\0'; c++)
            if (*c == '|')
                *c = '\n';
        d->rc = pseudo_identifier(s->pkey, "address", raw, &p);
        sodium_memzero(raw, sizeof(raw));
    } else {
        d->rc = pseudo_identifier(s->pkey, q->kind, q->value, &p);
    }
    if (d->rc != 0) {
        d->why = "value: not a usable identifier of that kind (nothing is "
                 "left after normalization, or it does not parse)";
        sodium_memzero(&p, sizeof(p));
        return;
    }
    d->have =
        vault_token(s->vault, &p, VAULT_KIND_NONE, false, &d->t, NULL) == 0;
    sodium_memzero(&p, sizeof(p));
}

/* An identifier that is not one, from an allowed caller: "invalid". */
static bool
dpo_bad_subject(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct dpo_subject *d)
{
    if (d->rc == 0 || !c->allowed)
        return false;
    query_send_error(s, &c->env, q->id, ERR_INVAL, d->why);
    return true;
}

/* Sign a checkpoint over every record so far; false if none could be. */
static bool
dpo_checkpoint(struct scorer *s, uint64_t *size)
{
    record_checkpoint(s, true);
    *size = audit_checkpoint_size(s->audit);
    return *size == audit_size(s->audit);
}

/* ------------------------------------------------------------ report */

/*
 * The indexes of the records naming `t`, from `from` on: at most
 * DPO_PAGE into idx[0..*n), `*next` the one after them (0: no more),
 * `*total` how many name `t` in all. After a commit (the index's cursor
 * reads LMDB).
 */
static int
dpo_list(struct scorer *s, const struct pseudo *t, uint64_t from,
    uint64_t idx[DPO_PAGE], size_t *n, uint64_t *next, uint64_t *total)
{
    struct store_txn *rd = NULL;
    uint64_t *all = NULL;
    size_t nall = 0, i;
    int rc;

    *n = 0;
    *next = 0;
    *total = 0;
    rc = store_txn_begin(s->store, false, &rd);
    if (rc == 0)
        rc = subjidx_list(rd, s->dbi_subject, t->b, &all, &nall);
    store_txn_abort(rd);
    if (rc != 0)
        return rc;
    *total = nall;
    for (i = 0; i < nall && all[i] < from; i++)
        ;
    for (; i < nall && *n < DPO_PAGE; i++)
        idx[(*n)++] = all[i];
    if (i < nall)
        *next = all[i];
    free(all);
    return 0;
}

void
query_dpo_report(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct prove_checkpoint *ck = NULL;
    struct prove_item *items = NULL;
    struct dpo_subject d;
    struct wire_enc e;
    struct buf out;
    uint64_t idx[DPO_PAGE], next = 0, total = 0, size;
    size_t n = 0, i;
    char dir[4096];
    int rc;

    dpo_subject(s, q, &d);
    if (dpo_bad_subject(s, c, q, &d))
        return;
    if (query_gate(s, c, q, &d.t, d.have ? 1 : 0, 0, "subject") != 0)
        return;
    /* Every record so far, this report's own included, under one
     * signed checkpoint; then the index holds them all. */
    if (!dpo_checkpoint(s, &size)) {
        query_send_error(s, &c->env, q->id, ERR_AUDIT,
            "no signed checkpoint could be made: the report would not "
            "be provable");
        return;
    }
    rc = scorer_commit(s);
    if (rc == 0 && d.have)
        rc = dpo_list(s, &d.t, q->from, idx, &n, &next, &total);
    ck = xcalloc(1, sizeof(*ck));
    items = xcalloc(DPO_PAGE, sizeof(*items));
    for (i = 0; i < n; i++)
        items[i].index = idx[i];
    if (rc == 0)
        rc = cfg_path(&s->cfg, "audit", dir, sizeof(dir));
    if (rc == 0)
        rc = prove_records(
            dir, audit_verifier_key(s->audit), size, items, n, true, ck);
    if (rc != 0) {
        log_warnx("subject report failed: %s", err_str(rc));
        query_send_error(s, &c->env, q->id, rc,
            "the report could not be made (index, log or proof error)");
        goto out;
    }
    buf_init(&out, QPROTO_REPLY_MAX);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e, (d.have ? 7u : 5u) + (next != 0 ? 1u : 0u));
    query_put_str(&e, "kind", q->kind);
    if (d.have) {
        wire_put_str(&e, "subject");
        wire_put_bin(&e, d.t.b, PSEUDO_BYTES);
        query_put_uint(&e, "total", total);
    }
    wire_put_str(&e, "checkpoint");
    wire_put_strn(&e, ck->note, ck->note_len);
    query_put_uint(&e, "size", size);
    query_put_uint(&e, "count", n);
    wire_put_str(&e, "records");
    wire_put_array(&e, (uint32_t)n);
    for (i = 0; i < n; i++) {
        wire_put_map(&e, 3);
        query_put_uint(&e, "index", items[i].index);
        wire_put_str(&e, "raw");
        wire_put_bin(&e, items[i].raw, items[i].raw_len);
        wire_put_str(&e, "proof");
        wire_put_array(&e, (uint32_t)items[i].n);
        for (size_t j = 0; j < items[i].n; j++)
            wire_put_bin(&e, items[i].hashes[j], MERKLE_HASH_BYTES);
    }
    if (next != 0)
        query_put_uint(&e, "next", next);
    query_send_result(s, &c->env, q->id, &e, &out);
out:
    if (items != NULL)
        sodium_memzero(items, DPO_PAGE * sizeof(*items));
    free(items);
    free(ck);
}

/* ------------------------------------------------------------- erase */

/* The subjects of a plan a record names (the root first, at most 16). */
static unsigned
plan_record_subjects(const struct erase_plan *p, const struct pseudo **subj)
{
    size_t n;

    *subj = erase_plan_subjects(p, &n, NULL);
    return n > AUDIT_MAX_SUBJECTS ? AUDIT_MAX_SUBJECTS : (unsigned)n;
}

static void
counts_text(const struct erase_counts *k, char *out, size_t cap)
{
    snprintf(out, cap,
        "s%" PRIu64 " e%" PRIu64 " l%" PRIu64 " o%" PRIu64 " r%" PRIu64
        " i%" PRIu64,
        k->subjects, k->entities, k->links, k->orders, k->replies, k->index);
}

/* kind "storefront": the storefront named in the request, all of it. */
static bool
dpo_is_storefront(const struct qproto_request *q)
{
    return strcmp(q->kind, "storefront") == 0;
}

void
query_dpo_erase(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct erase_plan *plan = NULL;
    struct erase_counts done;
    const struct pseudo *subj = NULL;
    struct dpo_subject d;
    struct wire_enc e;
    struct buf out;
    char extra[AUDIT_MAX_REF + 1];
    bool whole = dpo_is_storefront(q);
    unsigned nsubj;
    int rc;

    memset(&done, 0, sizeof(done));
    memset(&d, 0, sizeof(d));
    /* The drain's batched denials must not share this op's syncs. */
    qbatch_flush(s);
    if (whole) {
        if (c->allowed &&
            (q->storefront[0] == '\0' ||
                strcmp(q->value, q->storefront) != 0)) {
            query_send_error(s, &c->env, q->id, ERR_INVAL,
                "value: a storefront erasure names the request's "
                "storefront (value equal to storefront)");
            return;
        }
        if (!c->allowed) {
            if (query_gate(s, c, q, NULL, 0, 0, "storefront") != 0)
                return;
            goto reply; /* not reached: a denied request is refused */
        }
        rc = erase_plan_storefront(s, q->storefront, &plan);
    } else {
        dpo_subject(s, q, &d);
        if (dpo_bad_subject(s, c, q, &d))
            return;
        if (!c->allowed || !d.have) {
            /* Denied; or nothing held: recorded, nothing to erase. */
            if (query_gate(s, c, q, &d.t, d.have ? 1 : 0, 0, "subject") != 0)
                return;
            goto reply;
        }
        rc = erase_plan_new(s, &d.t, q->storefront, &plan);
    }
    if (rc != 0) {
        log_warnx("cannot plan an erasure: %s", err_str(rc));
        if (query_audit(s, c, q, d.have ? &d.t : NULL, d.have ? 1 : 0,
                AUDIT_OUTCOME_ERROR, "plan failed") != 0)
            rc = ERR_AUDIT;
        query_send_error(s, &c->env, q->id, rc,
            "not erased: the erasure could not be planned");
        goto out;
    }
    /* Write-ahead: the record of what goes, durable before it goes. A
     * person's erasure names their tokens; a storefront's names none
     * (its name is the record's storefront, in ref's counts). */
    counts_text(erase_plan_counts(plan), extra, sizeof(extra));
    nsubj = plan_record_subjects(plan, &subj);
    if (whole)
        nsubj = 0;
    if (query_audit(s, c, q, subj, nsubj, AUDIT_OUTCOME_ALLOWED, extra) != 0) {
        query_send_error(s, &c->env, q->id, ERR_AUDIT,
            "not erased: the audit record could not be written");
        goto out;
    }
    rc = erase_plan_apply(s, plan, &done);
    if (rc != 0) {
        if (query_audit(
                s, c, q, subj, nsubj, AUDIT_OUTCOME_ERROR, "apply failed") != 0)
            log_warnx("the failed erasure is not in the audit log");
        query_send_error(s, &c->env, q->id, rc,
            "erasure not complete: the scorer finishes it at its next "
            "start (see its log)");
        goto out;
    }
reply:
    buf_init(&out, 1024);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e, 10);
    query_put_str(&e, "kind", q->kind);
    query_put_bool(&e, "erased",
        plan != NULL &&
            (done.subjects > 0 || done.entities > 0 || done.orders > 0 ||
                done.replies > 0 || !whole));
    query_put_uint(&e, "subjects", done.subjects);
    query_put_uint(&e, "entities", done.entities);
    query_put_uint(&e, "links", done.links);
    query_put_uint(&e, "orders", done.orders);
    query_put_uint(&e, "replies", done.replies);
    query_put_uint(&e, "index", done.index);
    query_put_uint(&e, "records_kept", done.records);
    query_put_uint(&e, "journal_segments", done.segments);
    query_send_result(s, &c->env, q->id, &e, &out);
out:
    erase_plan_free(plan);
    sodium_memzero(&d, sizeof(d));
}

/* ------------------------------------------------------------ export */

/* The history entity kind of a subject kind, when history keeps one. */
static bool
entity_kind_of(enum vault_kind k, enum entity_kind *out)
{
    switch (k) {
    case VAULT_KIND_DEVICE:
        *out = ENT_DEVICE;
        return true;
    case VAULT_KIND_IP:
        *out = ENT_IP;
        return true;
    case VAULT_KIND_IP24:
        *out = ENT_IP24;
        return true;
    case VAULT_KIND_IP16:
        *out = ENT_IP16;
        return true;
    case VAULT_KIND_CARD:
        *out = ENT_CARD;
        return true;
    case VAULT_KIND_EMAIL:
        *out = ENT_EMAIL;
        return true;
    default:
        return false;
    }
}

/* What history holds about the plan's subjects, as a msgpack result. */
static int
export_encode(struct scorer *s, const struct qproto_request *q,
    const struct erase_plan *p, struct wire_enc *e)
{
    const enum vault_kind *kinds;
    const struct pseudo *subj;
    const char(*actors)[AUDIT_MAX_ACTOR + 1];
    struct history_order ho;
    struct entity_features ef;
    struct features f;
    struct event ev;
    uint64_t now = clock_wall_ms();
    size_t n, na, i, a;
    uint32_t norders = 0, naccounts = 0, nents = 0;
    enum entity_kind ek;
    int rc;

    subj = erase_plan_subjects(p, &n, &kinds);
    actors = erase_plan_actors(p, &na);
    /* Count first: msgpack arrays carry their length up front. */
    for (i = 0; i < n; i++) {
        for (a = 0; a < na; a++) {
            if (kinds[i] == VAULT_KIND_ORDER &&
                history_order_get(s->hist, s->otxn, actors[a], &subj[i], &ho) ==
                    0)
                norders++;
            if (kinds[i] == VAULT_KIND_ACCOUNT)
                naccounts++;
        }
        if (entity_kind_of(kinds[i], &ek))
            nents++;
    }
    wire_put_map(e, 6);
    query_put_str(e, "kind", q->kind);
    query_put_uint(e, "as_of", now);
    wire_put_str(e, "subjects");
    wire_put_array(e, (uint32_t)n);
    for (i = 0; i < n; i++) {
        wire_put_map(e, 2);
        query_put_str(e, "kind", vault_kind_name(kinds[i]));
        wire_put_str(e, "token");
        wire_put_bin(e, subj[i].b, PSEUDO_BYTES);
    }
    wire_put_str(e, "accounts");
    wire_put_array(e, naccounts);
    for (i = 0; i < n; i++) {
        for (a = 0; kinds[i] == VAULT_KIND_ACCOUNT && a < na; a++) {
            memset(&ev, 0, sizeof(ev));
            ev.type = EVENT_DEVICE_SEEN;
            ev.has = EVENT_HAS_ACCOUNT;
            ev.ts = now;
            ev.account = subj[i];
            rc = history_features(s->hist, s->otxn, actors[a], &ev, 0, &f);
            if (rc != 0)
                return rc;
            wire_put_map(e, 8);
            query_put_str(e, "storefront", actors[a]);
            query_put_bool(e, "known", f.ent[ENT_ACCOUNT].known);
            query_put_uint(e, "first_seen_age_ms",
                f.ent[ENT_ACCOUNT].age_ms > 0 ?
                    (uint64_t)f.ent[ENT_ACCOUNT].age_ms :
                    0);
            query_put_uint(e, "orders_total", f.account_orders);
            query_put_uint(e, "amount_mean", f.account_amount_mean);
            query_put_uint(e, "amount_max", f.account_amount_max);
            query_put_str(e, "country", f.account_country);
            query_put_bool(e, "fraud", f.ent[ENT_ACCOUNT].fraud_linked);
        }
    }
    wire_put_str(e, "orders");
    wire_put_array(e, norders);
    for (i = 0; i < n; i++) {
        for (a = 0; kinds[i] == VAULT_KIND_ORDER && a < na; a++) {
            if (history_order_get(s->hist, s->otxn, actors[a], &subj[i], &ho) !=
                0)
                continue;
            wire_put_map(e, ho.has_score ? 6 : 4);
            query_put_str(e, "storefront", actors[a]);
            query_put_uint(e, "ts", ho.ts);
            query_put_uint(e, "amount", ho.amount);
            query_put_bool(e, "scored", ho.has_score);
            if (ho.has_score) {
                query_put_uint(e, "score", ho.score);
                query_put_str(e, "decision", reply_decision_name(ho.decision));
            }
        }
    }
    wire_put_str(e, "entities");
    wire_put_array(e, nents);
    for (i = 0; i < n; i++) {
        if (!entity_kind_of(kinds[i], &ek))
            continue;
        rc = history_entity_features(
            s->hist, s->otxn, "", ek, subj[i].b, PSEUDO_BYTES, now, &ef);
        if (rc != 0)
            return rc;
        wire_put_map(e, 7);
        query_put_str(e, "kind", vault_kind_name(kinds[i]));
        query_put_bool(e, "known", ef.known);
        query_put_uint(
            e, "first_seen_age_ms", ef.age_ms > 0 ? (uint64_t)ef.age_ms : 0);
        query_put_uint(e, "orders_24h", ef.orders_24h);
        query_put_uint(e, "failed_payments_24h", ef.failed_pay_24h);
        query_put_uint(e, "accounts", ef.accounts);
        query_put_bool(e, "fraud", ef.fraud_linked);
    }
    return 0;
}

void
query_dpo_export(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct erase_plan *plan = NULL;
    const struct pseudo *subj;
    struct dpo_subject d;
    struct wire_enc e;
    struct buf out;
    unsigned nsubj;
    int rc = 0;

    dpo_subject(s, q, &d);
    if (dpo_bad_subject(s, c, q, &d))
        return;
    if (!c->allowed || !d.have) {
        /* Denied, or nothing held: recorded and refused either way. */
        if (query_gate(
                s, c, q, &d.t, d.have ? 1 : 0, ERR_NOTFOUND, "subject") == 0)
            query_send_error(
                s, &c->env, q->id, ERR_NOTFOUND, "subject: not found");
        return;
    }
    /* The subjects an erasure would take are the person's own. */
    rc = erase_plan_new(s, &d.t, q->storefront, &plan);
    if (rc != 0) {
        if (query_gate(s, c, q, &d.t, 1, rc, "subject") == 0)
            query_send_error(s, &c->env, q->id, rc, "subject: lookup failed");
        return;
    }
    nsubj = plan_record_subjects(plan, &subj);
    if (query_gate(s, c, q, subj, nsubj, 0, "subject") != 0)
        goto out;
    buf_init(&out, QPROTO_REPLY_MAX);
    qproto_reply_begin(&e, &out, q->id);
    rc = export_encode(s, q, plan, &e);
    if (rc != 0) {
        buf_wipe_release(&out);
        query_send_error(
            s, &c->env, q->id, rc, "subject: history lookup failed");
        goto out;
    }
    query_send_result(s, &c->env, q->id, &e, &out);
out:
    erase_plan_free(plan);
    sodium_memzero(&d, sizeof(d));
}
