/*
 * query_int.h - what query.c shares with query_dpo.c (internal)
 *
 * Not a public header: only scorer/query*.c include it. The query
 * endpoint is one module in two files: query.c holds THE AUTHORIZATION
 * TABLE, the dispatch and the fraud team's operations; query_dpo.c the
 * data-protection officer's (subject.report, subject.erase,
 * subject.export). Both answer through the helpers below and audit
 * every access with query_audit() or query_gate() before any data moves.
 * Main thread.
 *
 * Invariants:
 *  - THE FAIL-CLOSED RULE (query.c): no answer carrying personal data
 *    leaves unless its audit record is durable.
 *
 * See also: query.c, query_dpo.c, scorer.h, common/qproto.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_QUERY_INT_H
#define SCORER_QUERY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "common/qproto.h"
#include "common/reply.h"
#include "common/wire.h"
#include "common/zsock.h"

struct scorer;

#define QUERY_MAX_PURPOSES 4

/* A purpose a row allows, and whether it needs a case reference. */
struct query_purpose {
    const char *name;
    bool needs_case;
};

/* Which storefronts' data a row reaches. */
enum query_scope {
    QUERY_OWN,   /* the caller's own (storefront role) */
    QUERY_NAMED, /* the one the request names (required) */
    QUERY_ANY,   /* any: the handler requires one for scoped ids only */
    QUERY_NONE,  /* none: the op reads no storefront's data (status) */
};

/* One row of the authorization table. */
struct query_rule {
    enum qproto_op op;
    enum audit_role role;
    enum query_scope scope;
    struct query_purpose purposes[QUERY_MAX_PURPOSES]; /* name NULL ends */
    uint32_t cats;                                     /* AUDIT_CAT_* */
};

/* Who is asking (from the ZAP handler) and what the table says. */
struct query_ctx {
    struct zsock_route env;
    char actor[AUDIT_MAX_ACTOR + 1];
    enum audit_role role;
    const struct query_rule *rule; /* NULL: the role may not run the op */
    bool allowed;
    char why[REPLY_MSG_MAX + 1]; /* when !allowed: the denial's reason */
    uint32_t cats; /* AUDIT_CAT_* audited instead of the rule's (0: its) */
};

/* Send an error reply (`code` != 0, `msg` one line) to the peer. */
void query_send_error(struct scorer *s, const struct zsock_route *env,
    const char *id, int code, const char *msg) NONNULL(1, 2, 5);

/*
 * End a result started with qproto_reply_begin() on `out` and send it;
 * `out` is wiped and released in every case.
 */
void query_send_result(struct scorer *s, const struct zsock_route *env,
    const char *id, struct wire_enc *e, struct buf *out) NONNULL(1, 2, 3, 4, 5);

/*
 * Write (and sync) the audit record of request `q` by `c` with
 * `outcome`, naming the `n` subjects `subj` (tokens; at most 16 are
 * named). Its ref is the hex of the request id's keyed hash, then
 * "case " and the case reference's keyed hash when there is one, then
 * `extra` (may be NULL; e.g. an erasure's counts). Returns 0 or
 * ERR_AUDIT: the caller then answers "audit" and serves nothing.
 */
int query_audit(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    enum audit_outcome outcome, const char *extra) WARN_UNUSED NONNULL(1, 2, 3);

/*
 * The common tail of a handler once the subjects are known: audit with
 * the outcome `lookup` implies, then refuse when denied, audit failed,
 * not found or the lookup failed. Returns 0 when the handler may
 * answer, else 1 (an error reply was sent).
 */
int query_gate(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    int lookup, const char *what) WARN_UNUSED NONNULL(1, 2, 3, 7);

/*
 * After computing a subject's pseudonym with result `rc`: an id that is
 * not one (ERR_INVAL, ERR_TOOBIG) is the caller's error when the request
 * is allowed (answered "invalid", returns 1). A denied request may name
 * no storefront at all; it goes on to be recorded as denied (0), and so
 * does every other result.
 */
int query_bad_id(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, int rc, const char *what) WARN_UNUSED
    NONNULL(1, 2, 3, 5);

/*
 * The request's account (q->account in q->storefront) as its token at
 * rest, into `*acct`, with `*rc` the result: 0, ERR_NOTFOUND (never
 * seen: no token), the pseudonym's error (a denied request goes on to
 * be recorded) or the vault's. Returns 1 when an allowed request named
 * no account id (answered "invalid" by query_bad_id()), else 0.
 */
int query_account_token(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, struct pseudo *acct, int *rc) WARN_UNUSED
    NONNULL(1, 2, 3, 4, 5);

/*
 * query_gate() with `defer`: an allowed and successful lookup is not
 * audited here; the handler encodes its answer and query_answer()
 * audits it, with the answer's size, before it is sent.
 */
int query_gate_ex(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    int lookup, const char *what, bool defer) WARN_UNUSED NONNULL(1, 2, 3, 7);

/*
 * End a result started with qproto_reply_begin(), write its audit record
 * (the `n` subjects `subj`, and the answer's size in bytes) and only
 * then send it; if the record cannot be written, the answer is wiped
 * and refused.
 */
void query_answer(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q, const struct pseudo *subj, unsigned n,
    struct wire_enc *e, struct buf *out) NONNULL(1, 2, 3, 6, 7);

/* Put one key and value of a result map. */
void query_put_str(struct wire_enc *e, const char *k, const char *v)
    NONNULL(1, 2, 3);
void query_put_uint(struct wire_enc *e, const char *k, uint64_t v)
    NONNULL(1, 2);
void query_put_bool(struct wire_enc *e, const char *k, bool v) NONNULL(1, 2);

/* query_fraud.c: the fraud team's operations, after query_authorize(). */
void query_review_list(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q) NONNULL(1, 2, 3);
void query_linked(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q) NONNULL(1, 2, 3);
void query_list(struct scorer *s, const struct query_ctx *c0,
    const struct qproto_request *q) NONNULL(1, 2, 3);

/* query_dpo.c: the DPO's operations, after query_authorize(). */
void query_dpo_report(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q) NONNULL(1, 2, 3);
void query_dpo_erase(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q) NONNULL(1, 2, 3);
void query_dpo_export(struct scorer *s, const struct query_ctx *c,
    const struct qproto_request *q) NONNULL(1, 2, 3);

#endif
