/*
 * query_fraud.c - the fraud team's reads and lists on the query endpoint:
 *                 review.list, linked, list.set and list.get
 *
 * Each handler runs after query_authorize() (query.c) decided whether
 * the caller may, and goes through the same gate: the subjects it names
 * are audited before anything is answered (query_gate_ex(), or
 * query_answer() with the answer's size). A list change is audited
 * write-ahead and committed to LMDB before its reply. Moved out of
 * query.c, which keeps the dispatcher, the shared plumbing and the
 * order and label operations.
 *
 * See also: query.c, query_int.h, query_dpo.c (the DPO's operations),
 *           history.h (review queue, linked accounts, lists), vigilctl(1)
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
#include "common/text.h"
#include "common/xmalloc.h"
#include "scorer/history.h"
#include "scorer/qbatch.h"
#include "scorer/query_int.h"
#include "scorer/record.h"
#include "scorer/scorer.h"

/* The review queue's page bounds: entries looked at per request. */
#define QUERY_REVIEW_SCAN 4096

/* Parse review.list's cursor "<ts>.<32 hex>" into `*cur`. */
static bool
query_review_cursor(const char *after, struct history_review_cursor *cur)
{
    const char *dot = strchr(after, '.');
    size_t len = 0;
    char num[24];

    memset(cur, 0, sizeof(*cur));
    if (dot == NULL || dot == after || (size_t)(dot - after) >= sizeof(num) ||
        strlen(dot + 1) != 2 * PSEUDO_BYTES)
        return false;
    memcpy(num, after, (size_t)(dot - after));
    num[dot - after] = '\0';
    if (!text_parse_u64(num, 0, UINT64_MAX, &cur->ts))
        return false;
    if (sodium_hex2bin(cur->order.b, PSEUDO_BYTES, dot + 1, 2 * PSEUDO_BYTES,
            NULL, &len, NULL) != 0 ||
        len != PSEUDO_BYTES)
        return false;
    cur->set = true;
    return true;
}

/* One listed order, read from the committed history. */
struct query_review_row {
    struct history_review_item it;
    struct history_order ho;
    bool reasons_known;
    struct reply first;
};

/*
 * review.list: the orders waiting in the review queue, oldest first, at
 * most `limit` (QPROTO_REVIEW_PAGE) a page, of every storefront or of
 * the one named. Everything queued so far is committed first, so the
 * page is read from LMDB in one read transaction. Each order is shown by
 * its token (`ref`, what review.decide takes) and its account's, never
 * an id; the audit record names every order and account listed (at most
 * 2 x 8 = AUDIT_MAX_SUBJECTS) and the answer's size.
 */
void
query_review_list(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    struct history_review_item items[QPROTO_REVIEW_PAGE];
    struct history_review_cursor after, next;
    struct query_review_row *rows = NULL;
    struct pseudo subj[2 * QPROTO_REVIEW_PAGE];
    struct store_txn *rd = NULL;
    struct wire_enc e;
    struct buf out;
    char hex[2 * PSEUDO_BYTES + 1], cur[QPROTO_CURSOR_MAX + 1];
    uint64_t queued = 0, dropped = 0;
    unsigned limit =
        (q->args & QPROTO_ARG_LIMIT) ? q->limit : QPROTO_REVIEW_PAGE;
    unsigned n = 0, nsubj = 0, i;
    int rc = 0;

    _Static_assert(2 * QPROTO_REVIEW_PAGE <= AUDIT_MAX_SUBJECTS,
        "every order and account listed is named in the audit record");
    memset(&next, 0, sizeof(next));
    if ((q->args & QPROTO_ARG_AFTER) &&
        !query_review_cursor(q->after, &after) && c->allowed) {
        query_send_error(s, &c->env, q->id, ERR_INVAL,
            "after: not a cursor of review.list (<ts>.<ref>)");
        return;
    }
    if (!(q->args & QPROTO_ARG_AFTER))
        memset(&after, 0, sizeof(after));
    rows = xcalloc(QPROTO_REVIEW_PAGE, sizeof(*rows));
    if (c->allowed) {
        rc = scorer_commit(s);
        if (rc == 0)
            rc = store_txn_begin(s->store, false, &rd);
        if (rc == 0)
            rc = history_review_list(s->hist, rd, &after,
                q->storefront[0] ? q->storefront : NULL, limit,
                QUERY_REVIEW_SCAN, items, &n, &next);
        if (rc == 0)
            rc = history_review_counts(s->hist, rd, &queued, &dropped);
        for (i = 0; rc == 0 && i < n; i++) {
            rows[i].it = items[i];
            rc = history_order_get(
                s->hist, rd, items[i].actor, &items[i].order, &rows[i].ho);
            if (rc != 0)
                break;
            subj[nsubj++] = items[i].order;
            if (rows[i].ho.has_account)
                subj[nsubj++] = rows[i].ho.account;
            rows[i].reasons_known =
                history_reply_get(s->hist, rd, items[i].actor,
                    &rows[i].ho.event_id, NULL, &rows[i].first) == 0;
        }
        store_txn_abort(rd);
    }
    if (query_gate_ex(s, c, q, subj, nsubj, rc, "review queue", true) != 0)
        goto done;
    buf_init(&out, QPROTO_REPLY_MAX);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e, 4 + (next.set ? 1u : 0u));
    query_put_uint(&e, "queued", queued);
    query_put_uint(&e, "dropped", dropped);
    query_put_uint(&e, "count", n);
    wire_put_str(&e, "items");
    wire_put_array(&e, n);
    for (i = 0; i < n; i++) {
        const struct query_review_row *w = &rows[i];

        bool model = w->reasons_known && w->first.model[0] != '\0';

        wire_put_map(&e,
            6 + (w->ho.has_account ? 1u : 0u) + (w->reasons_known ? 1u : 0u) +
                (model ? 1u : 0u));
        query_put_str(&e, "storefront", w->it.actor);
        pseudo_hex(&w->it.order, hex);
        query_put_str(&e, "ref", hex);
        if (w->ho.has_account) {
            pseudo_hex(&w->ho.account, hex);
            query_put_str(&e, "account_ref", hex);
        }
        query_put_uint(&e, "ts", w->ho.ts);
        query_put_uint(&e, "amount", w->ho.amount);
        query_put_uint(&e, "score", w->ho.score);
        query_put_bool(&e, "reasons_known", w->reasons_known);
        if (w->reasons_known) {
            wire_put_str(&e, "reasons");
            reply_pack_reasons(&e, w->first.reasons, w->first.nreasons);
        }
        if (model)
            query_put_str(&e, "model", w->first.model);
    }
    if (next.set) {
        pseudo_hex(&next.order, hex);
        (void)snprintf(cur, sizeof(cur), "%" PRIu64 ".%s", next.ts, hex);
        query_put_str(&e, "next", cur);
    }
    query_answer(s, c, q, subj, nsubj, &e, &out);
done:
    sodium_memzero(rows, QPROTO_REVIEW_PAGE * sizeof(*rows));
    free(rows);
}

/*
 * linked.get: the accounts that share a device, IP, IP prefix, card or
 * email with account `q->account` of the named storefront, with their
 * labels and how they link (per entity kind, how many shared), at most
 * HISTORY_LINKED_MAX (history_linked_get: bounded work). Only tokens
 * leave: the account's own and each linked account's `ref`, never an
 * identifier, a device or an address. The audit record names the
 * account and every linked account returned (1 + 15 =
 * AUDIT_MAX_SUBJECTS) and the answer's size.
 */
void
query_linked(
    struct scorer *s, const struct query_ctx *c, const struct qproto_request *q)
{
    static const char *const kinds[ENT_COUNT] = { "account", "device", "ip",
        "ip_prefix", "card", "email", "ip16" };
    struct history_linked *lk = NULL;
    struct pseudo acct, subj[1 + HISTORY_LINKED_MAX];
    struct wire_enc e;
    struct buf out;
    char hex[2 * PSEUDO_BYTES + 1];
    unsigned nsubj = 0, i, k, nk;
    int rc;

    _Static_assert(1 + HISTORY_LINKED_MAX <= AUDIT_MAX_SUBJECTS,
        "every account returned is named in the audit record");
    if (query_account_token(s, c, q, &acct, &rc) != 0)
        return;
    if (rc == 0)
        subj[nsubj++] = acct;
    lk = xcalloc(1, sizeof(*lk));
    if (rc == 0 && c->allowed)
        rc = history_linked_get(s->hist, s->otxn, q->storefront, &acct, lk);
    for (i = 0; rc == 0 && c->allowed && i < lk->n; i++)
        subj[nsubj++] = lk->acc[i].account;
    if (query_gate_ex(s, c, q, subj, nsubj, rc, "account", true) != 0)
        goto done;
    buf_init(&out, 8192);
    qproto_reply_begin(&e, &out, q->id);
    wire_put_map(&e, 8);
    query_put_str(&e, "account", q->account);
    query_put_str(&e, "storefront", q->storefront);
    pseudo_hex(&acct, hex);
    query_put_str(&e, "ref", hex);
    query_put_str(&e, "label",
        lk->fraud     ? "fraud" :
            lk->legit ? "legitimate" :
                        "none");
    /* Its own entities, by kind (how many it could share). */
    for (k = 1, nk = 0; k < ENT_COUNT; k++)
        nk += lk->via_entities[k] > 0;
    wire_put_str(&e, "entities");
    wire_put_map(&e, nk);
    for (k = 1; k < ENT_COUNT; k++)
        if (lk->via_entities[k] > 0)
            query_put_uint(&e, kinds[k], lk->via_entities[k]);
    query_put_uint(&e, "linked_total", lk->naccounts);
    query_put_uint(&e, "count", lk->n);
    wire_put_str(&e, "linked");
    wire_put_array(&e, lk->n);
    for (i = 0; i < lk->n; i++) {
        const struct history_linked_acct *a = &lk->acc[i];

        wire_put_map(&e, 5);
        query_put_str(&e, "storefront", a->actor);
        pseudo_hex(&a->account, hex);
        query_put_str(&e, "ref", hex);
        query_put_str(&e, "label",
            a->fraud     ? "fraud" :
                a->legit ? "legitimate" :
                           "none");
        query_put_uint(&e, "shared", a->shared);
        for (k = 1, nk = 0; k < ENT_COUNT; k++)
            nk += a->via[k] > 0;
        wire_put_str(&e, "via");
        wire_put_map(&e, nk);
        for (k = 1; k < ENT_COUNT; k++)
            if (a->via[k] > 0)
                query_put_uint(&e, kinds[k], a->via[k]);
    }
    query_answer(s, c, q, subj, nsubj, &e, &out);
done:
    sodium_memzero(lk, sizeof(*lk));
    free(lk);
}

/* The entities list.set takes: kind, audit category, vault kind. */
static const struct {
    const char *name;
    enum entity_kind kind;
    uint32_t cat;
    enum vault_kind vk;
} list_kinds[] = {
    { "account", ENT_ACCOUNT, AUDIT_CAT_ACCOUNT, VAULT_KIND_ACCOUNT },
    { "device", ENT_DEVICE, AUDIT_CAT_DEVICE, VAULT_KIND_DEVICE },
    { "ip", ENT_IP, AUDIT_CAT_IP, VAULT_KIND_IP },
    { "card", ENT_CARD, AUDIT_CAT_PAYMENT, VAULT_KIND_CARD },
    { "email", ENT_EMAIL, AUDIT_CAT_CONTACT, VAULT_KIND_EMAIL },
};

static const char *const list_names[] = { "none", "allow", "block" };

/*
 * Begin a list.set / list.get answer in `*out`: a map of the entity (and
 * the storefront for an account), the token's hex as "ref" when there
 * is one (`tok` NULL: none), then room for `more` entries the caller
 * puts.
 */
static void
list_reply_begin(struct wire_enc *e, struct buf *out,
    const struct qproto_request *q, bool account, const struct pseudo *tok,
    unsigned more)
{
    char hex[2 * PSEUDO_BYTES + 1];

    buf_init(out, 512);
    qproto_reply_begin(e, out, q->id);
    wire_put_map(e, 1 + (account ? 1u : 0u) + (tok != NULL ? 1u : 0u) + more);
    query_put_str(e, "entity", q->entity);
    if (account)
        query_put_str(e, "storefront", q->storefront);
    if (tok != NULL) {
        pseudo_hex(tok, hex);
        query_put_str(e, "ref", hex);
    }
}

/*
 * list.set and list.get: the allow and block lists, one entity a
 * request. The identifier becomes its pseudonym (pseudo.h; an account
 * id scoped to the storefront named) and then its token: the list is a
 * flag of the entity's record keyed by that token (history_list_set),
 * never the identifier. A list.set is audited first (write-ahead: op
 * list.set, the analyst, the purpose, the entity's token and category,
 * ref "... list <new> was <old>"), then written and committed to LMDB
 * (scorer_commit: durable before the reply) and scores every later
 * event naming the entity (score_lists, REASONS.md). An entity never
 * seen gets its salt when put on a list (durable first, as a label's).
 * list.get is audited with the answer's size before it is sent.
 */
void
query_list(struct scorer *s, const struct query_ctx *c0,
    const struct qproto_request *q)
{
    struct query_ctx cx = *c0;
    const struct query_ctx *c = &cx;
    const bool set = q->op == QPROTO_OP_LIST_SET;
    enum score_list want = SCORE_LIST_NONE, was = SCORE_LIST_NONE;
    struct pseudo p, tok;
    struct wire_enc e;
    struct buf out;
    char extra[64];
    unsigned k, i;
    bool have = false, created = false, known = false;
    int rc;

    memset(&p, 0, sizeof(p));
    memset(&tok, 0, sizeof(tok));
    for (k = 0; k < ARRAY_LEN(list_kinds); k++)
        if (strcmp(q->entity, list_kinds[k].name) == 0)
            break;
    if (k == ARRAY_LEN(list_kinds)) { /* qproto.c allows no other */
        query_send_error(s, &c->env, q->id, ERR_INVAL, "entity: unknown");
        return;
    }
    for (i = 0; set && i < ARRAY_LEN(list_names); i++)
        if (strcmp(q->list, list_names[i]) == 0)
            want = (enum score_list)i;
    cx.cats = list_kinds[k].cat;
    if (list_kinds[k].kind == ENT_ACCOUNT) {
        if (q->storefront[0] == '\0' && c->allowed) {
            query_send_error(s, &c->env, q->id, ERR_INVAL,
                "storefront: required for an account (whose id it is)");
            return;
        }
        rc = q->storefront[0] == '\0' ?
            ERR_INVAL :
            pseudo_scoped(s->pkey, "account", q->storefront, q->value, &p);
    } else {
        rc = pseudo_identifier(s->pkey, list_kinds[k].name, q->value, &p);
    }
    if (query_bad_id(s, c, q, rc, "value") != 0)
        goto done;
    if (rc == 0) {
        /* A salt is made only to put an entity on a list. */
        bool make = set && c->allowed && want != SCORE_LIST_NONE;

        rc = vault_token(
            s->vault, &p, list_kinds[k].vk, make, &tok, make ? &created : NULL);
        if (rc == 0 && created)
            rc = vault_sync(s->vault);
        have = rc == 0;
        if (rc == ERR_NOTFOUND)
            rc = 0; /* never seen: on no list */
    } else {
        rc = 0; /* denied anyway: recorded naming nobody */
    }
    if (rc == 0 && have && c->allowed)
        rc = history_list_get(s->hist, s->otxn, q->storefront,
            list_kinds[k].kind, &tok, &was, &known);
    if (!set) {
        if (query_gate_ex(s, c, q, &tok, have ? 1 : 0, rc, "entity", true) != 0)
            goto done;
        list_reply_begin(&e, &out, q, list_kinds[k].kind == ENT_ACCOUNT,
            have ? &tok : NULL, 2);
        query_put_str(&e, "list", list_names[was]);
        query_put_bool(&e, "known", known);
        query_answer(s, c, q, &tok, have ? 1 : 0, &e, &out);
        goto done;
    }
    /* Audited before the change is written (write-ahead). */
    (void)snprintf(extra, sizeof(extra), "list %s was %s", list_names[want],
        list_names[was]);
    if (c->allowed && rc == 0) {
        qbatch_flush(s);
        if (query_audit(s, c, q, &tok, have ? 1 : 0, AUDIT_OUTCOME_ALLOWED,
                extra) != 0) {
            query_send_error(s, &c->env, q->id, ERR_AUDIT,
                "access refused: the audit record could not be written");
            goto done;
        }
    } else if (query_gate(s, c, q, &tok, have ? 1 : 0, rc, "entity") != 0) {
        goto done;
    }
    if (have && was != want) {
        rc = history_list_set(s->hist, s->otxn, q->storefront,
            list_kinds[k].kind, &tok, want, &was);
        if (rc == 0)
            rc = scorer_commit(s);
        if (rc != 0) {
            log_warnx("list.set not stored: %s", err_str(rc));
            query_send_error(s, &c->env, q->id, rc,
                "not stored: history error; resend later");
            goto done;
        }
    }
    list_reply_begin(
        &e, &out, q, list_kinds[k].kind == ENT_ACCOUNT, have ? &tok : NULL, 3);
    query_put_str(&e, "list", list_names[want]);
    query_put_str(&e, "was", list_names[was]);
    query_put_bool(&e, "changed", have && was != want);
    query_send_result(s, &c->env, q->id, &e, &out);
done:
    sodium_memzero(&p, sizeof(p));
}

/* status: audit (no subjects), then the service's state (status.h). */
