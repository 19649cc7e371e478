/*
 * qbatch.c - denied queries, audited in batches (qbatch.h)
 *
 * Main thread of vigil-scorer. A batch holds up to QBATCH_MAX replies and
 * up to QBATCH_MAX distinct denials (found by a 64-bit hash of the
 * fields that make two denials identical, then compared in full).
 *
 * See also: qbatch.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "scorer/qbatch.h"
#include "scorer/record.h"
#include "scorer/scorer.h"
#include "scorer/status.h"

/* One distinct denial of the batch. */
struct qb_kind {
    uint64_t hash;
    struct audit_record rec; /* the first one's record, as appended */
    char why[REPLY_MSG_MAX + 1];
    uint64_t repeats; /* identical denials after it */
    bool appended;    /* its record went into the log buffer */
};

/* One held reply. */
struct qb_reply {
    struct zsock_route env;
    char id[EVENT_ID_MAX + 1];
    char why[REPLY_MSG_MAX + 1];
    int code; /* ERR_DENIED, or ERR_AUDIT when its record failed */
};

struct qbatch {
    struct qb_kind kinds[QBATCH_MAX];
    unsigned nkinds;
    struct qb_reply replies[QBATCH_MAX];
    unsigned nreplies;
};

struct qbatch *
qbatch_new(void)
{
    return xcalloc(1, sizeof(struct qbatch));
}

void
qbatch_free(struct qbatch *b)
{
    if (b == NULL)
        return;
    sodium_memzero(b, sizeof(*b));
    free(b);
}

static void
qb_mix(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ULL;
    }
    *h ^= 0xff;
    *h *= 0x100000001b3ULL;
}

/* The fields that make two denials identical (all but ref, ts, index),
 * and the reason given. */
static uint64_t
qb_hash(const struct audit_record *r, const char *why)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    uint32_t role = (uint32_t)r->role;

    qb_mix(&h, r->actor, strlen(r->actor));
    qb_mix(&h, &role, sizeof(role));
    qb_mix(&h, r->op, strlen(r->op));
    qb_mix(&h, &r->cats, sizeof(r->cats));
    qb_mix(&h, r->subj, (size_t)r->nsubj * AUDIT_SUBJECT_BYTES);
    qb_mix(&h, r->purpose, strlen(r->purpose));
    qb_mix(&h, why, strlen(why));
    return h;
}

static bool
qb_same(const struct audit_record *a, const struct audit_record *b)
{
    return strcmp(a->actor, b->actor) == 0 && a->role == b->role &&
        strcmp(a->op, b->op) == 0 && a->cats == b->cats &&
        a->nsubj == b->nsubj &&
        memcmp(a->subj, b->subj, (size_t)a->nsubj * AUDIT_SUBJECT_BYTES) == 0 &&
        strcmp(a->purpose, b->purpose) == 0;
}

void
qbatch_deny(struct scorer *s, struct audit_record *r,
    const struct zsock_route *env, const char *id, const char *why)
{
    struct qbatch *b = s->qbatch;
    struct qb_reply *rep;
    struct qb_kind *k = NULL;
    uint64_t h = qb_hash(r, why);
    unsigned i;

    if (b->nreplies == QBATCH_MAX || b->nkinds == QBATCH_MAX)
        qbatch_flush(s);
    rep = &b->replies[b->nreplies++];
    rep->env = *env;
    TEXT_COPY(rep->id, id);
    TEXT_COPY(rep->why, why);
    rep->code = ERR_DENIED;
    for (i = 0; i < b->nkinds; i++) {
        if (b->kinds[i].hash == h && b->kinds[i].appended &&
            qb_same(&b->kinds[i].rec, r) && strcmp(b->kinds[i].why, why) == 0) {
            k = &b->kinds[i];
            break;
        }
    }
    if (k != NULL) {
        k->repeats++;
        status_denial(s->status, true);
        return;
    }
    k = &b->kinds[b->nkinds++];
    k->hash = h;
    k->repeats = 0;
    k->appended = record_append(s, r) == 0;
    k->rec = *r;
    TEXT_COPY(k->why, why);
    if (!k->appended)
        rep->code = ERR_AUDIT;
    status_denial(s->status, false);
}

bool
qbatch_empty(const struct scorer *s)
{
    return s->qbatch->nreplies == 0;
}

void
qbatch_flush(struct scorer *s)
{
    struct qbatch *b = s->qbatch;
    struct audit_record r;
    unsigned i;
    int rc = 0;

    if (b->nreplies == 0)
        return;
    for (i = 0; i < b->nkinds && rc == 0; i++) {
        struct qb_kind *k = &b->kinds[i];

        if (k->repeats == 0 || !k->appended)
            continue;
        r = k->rec;
        snprintf(r.ref, sizeof(r.ref), "repeat x%" PRIu64 " of #%" PRIu64,
            k->repeats, k->rec.index);
        rc = record_append(s, &r);
    }
    if (rc == 0)
        rc = audit_commit(s->audit, NULL, NULL);
    if (rc != 0)
        log_warnx(
            "%u denied queries not recorded: answered 'audit'", b->nreplies);
    for (i = 0; i < b->nreplies; i++) {
        struct qb_reply *rep = &b->replies[i];
        struct buf out;
        int code = rc != 0 ? ERR_AUDIT : rep->code;

        buf_init(&out, 512);
        if (qproto_reply_error_encode(&out, rep->id, code,
                code == ERR_DENIED ? rep->why :
                                     "access refused: the audit record "
                                     "could not be written") == 0 &&
            zsock_send_routed(s->query_sock, &rep->env, out.data, out.len) != 0)
            log_debug("%s: reply not sent", __func__);
        buf_release(&out);
    }
    b->nreplies = 0;
    b->nkinds = 0;
}
