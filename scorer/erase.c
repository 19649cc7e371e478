/*
 * erase.c - erasing one data subject (see erase.h for what and in which
 *           order)
 *
 * Main thread of the scorer, between groups: planning commits the
 * overlay and signs a checkpoint, lists the root's records from the
 * subject index (a read transaction), reads them from the log
 * (prove_records(), chunks of ERASE_CHUNK records per pass), and checks
 * every subject they name against the index. Applying goes through the
 * overlay, one commit, the vault and the journal.
 *
 * Invariants:
 *  - the plan's subjects are unique, the root first, and each had a
 *    salt when planned.
 *  - "erase_pending" holds 16-byte tokens only (no pseudonym, no salt).
 *
 * See also: erase.h, vault.h, prove.h, history_purge.c, flusher.c
 *           (scorer_commit), recover.c (scorer_journal_shred)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/keysort.h"
#include "common/log.h"
#include "common/store.h"
#include "common/subjidx.h"
#include "common/xmalloc.h"
#include "scorer/erase.h"
#include "scorer/history.h"
#include "scorer/prove.h"
#include "scorer/record.h"
#include "scorer/scorer.h"

#define ERASE_PENDING      "erase_pending" /* history meta name */
#define ERASE_CHUNK        1024       /* records read per pass over the log */
#define ERASE_MAX_SUBJECTS (1u << 20) /* subjects one erasure may destroy */

/* An event of the root: its dedup reply goes too. */
struct erase_ref {
    char actor[AUDIT_MAX_ACTOR + 1];
    struct pseudo eid;
};

/* One subject index entry to delete. */
struct erase_ikey {
    struct pseudo t;
    uint64_t index;
};

struct erase_plan {
    struct pseudo *subj; /* the root first */
    enum vault_kind *kinds;
    size_t nsubj, capsubj;
    char (*actors)[AUDIT_MAX_ACTOR + 1]; /* storefronts named */
    size_t nactors, capactors;
    struct erase_ref *refs;
    size_t nrefs, caprefs;
    struct erase_ikey *ikeys;
    size_t nikeys, capikeys;
    struct history_batch batch;
    struct erase_counts counts;
    uint64_t size; /* the log's size when planned */
};

/* ------------------------------------------------------------ helpers */

static void
add_subject(struct erase_plan *p, const struct pseudo *t, enum vault_kind k)
{
    if (p->nsubj == p->capsubj) {
        p->capsubj = p->capsubj ? p->capsubj * 2 : 16;
        p->subj = xreallocarray(p->subj, p->capsubj, sizeof(*p->subj));
        p->kinds = xreallocarray(p->kinds, p->capsubj, sizeof(*p->kinds));
    }
    p->subj[p->nsubj] = *t;
    p->kinds[p->nsubj++] = k;
}

static void
add_actor(struct erase_plan *p, const char *actor)
{
    for (size_t i = 0; i < p->nactors; i++)
        if (strcmp(p->actors[i], actor) == 0)
            return;
    if (p->nactors == p->capactors) {
        p->capactors = p->capactors ? p->capactors * 2 : 4;
        p->actors = xreallocarray(p->actors, p->capactors, sizeof(*p->actors));
    }
    snprintf(p->actors[p->nactors++], sizeof(p->actors[0]), "%s", actor);
}

static void
add_ikeys(
    struct erase_plan *p, const struct pseudo *t, const uint64_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p->nikeys == p->capikeys) {
            p->capikeys = p->capikeys ? p->capikeys * 2 : 64;
            p->ikeys = xreallocarray(p->ikeys, p->capikeys, sizeof(*p->ikeys));
        }
        p->ikeys[p->nikeys].t = *t;
        p->ikeys[p->nikeys++].index = idx[i];
    }
}

/* Parse the 32 hex digits of an event record's ref into `out`. */
static bool
ref_event_id(const char *ref, struct pseudo *out)
{
    if (strlen(ref) != 2 * PSEUDO_BYTES)
        return false;
    for (size_t i = 0; i < PSEUDO_BYTES; i++) {
        unsigned v = 0;

        for (size_t j = 0; j < 2; j++) {
            char c = ref[2 * i + j];

            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out->b[i] = (uint8_t)v;
    }
    return true;
}

static int
pseudo_cmp(const void *a, const void *b)
{
    return memcmp(a, b, PSEUDO_BYTES);
}

/* ----------------------------------------------------------- planning */

/*
 * Read the root's records r[0..n) from the log (chunks of ERASE_CHUNK
 * per pass) and gather what they name: the other subjects into
 * `*others` (unsorted, may repeat), the storefronts, and the ids of the
 * storefront events.
 */
static int
plan_read_records(struct scorer *s, struct erase_plan *p, uint64_t size,
    const uint64_t *r, size_t n, struct pseudo **others, size_t *nothers)
{
    struct prove_item *items = xcalloc(ERASE_CHUNK, sizeof(*items));
    struct prove_checkpoint ck;
    size_t cap = 0;
    char dir[4096];
    int rc;

    *others = NULL;
    *nothers = 0;
    rc = cfg_path(&s->cfg, "audit", dir, sizeof(dir));
    for (size_t at = 0; rc == 0 && at < n; at += ERASE_CHUNK) {
        size_t k = ERASE_CHUNK;

        if (n - at < k)
            k = n - at;

        for (size_t i = 0; i < k; i++)
            items[i].index = r[at + i];
        rc = prove_records(
            dir, audit_verifier_key(s->audit), size, items, k, false, &ck);
        for (size_t i = 0; rc == 0 && i < k; i++) {
            const struct audit_record *rec = &items[i].rec;
            struct pseudo eid;

            for (unsigned j = 0; j < rec->nsubj; j++) {
                if (memcmp(rec->subj[j], p->subj[0].b, PSEUDO_BYTES) == 0)
                    continue;
                if (*nothers == cap) {
                    cap = cap ? cap * 2 : 64;
                    *others = xreallocarray(*others, cap, sizeof(**others));
                }
                memcpy((*others)[(*nothers)++].b, rec->subj[j], PSEUDO_BYTES);
            }
            if (rec->role != AUDIT_ROLE_STOREFRONT)
                continue;
            add_actor(p, rec->actor);
            if (strncmp(rec->op, "event.", 6) == 0 &&
                ref_event_id(rec->ref, &eid)) {
                if (p->nrefs == p->caprefs) {
                    p->caprefs = p->caprefs ? p->caprefs * 2 : 64;
                    p->refs =
                        xreallocarray(p->refs, p->caprefs, sizeof(*p->refs));
                }
                snprintf(p->refs[p->nrefs].actor, sizeof(p->refs[0].actor),
                    "%s", rec->actor);
                p->refs[p->nrefs++].eid = eid;
            }
        }
    }
    sodium_memzero(items, ERASE_CHUNK * sizeof(*items));
    free(items);
    return rc;
}

/*
 * Take each other subject (sorted, unique) whose index entries all lie
 * among the root's records r[0..nr) (sorted), and that still has a
 * salt: the person's own. Their entries are planned for deletion.
 */
static int
plan_own_subjects(struct scorer *s, struct store_txn *rd, struct erase_plan *p,
    const struct pseudo *others, size_t nothers, const uint64_t *r, size_t nr)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < nothers; i++) {
        enum vault_kind kind;
        uint64_t *x = NULL;
        size_t nx = 0;
        bool own = true;

        if (vault_lookup_token(s->vault, &others[i], NULL, &kind) != 0)
            continue; /* no salt: erased already, or never one */
        rc = subjidx_list(rd, s->dbi_subject, others[i].b, &x, &nx);
        for (size_t j = 0; rc == 0 && own && j < nx; j++)
            own = bsearch(&x[j], r, nr, sizeof(*r), keysort_u64_cmp) != NULL;
        if (rc == 0 && own) {
            if (p->nsubj >= ERASE_MAX_SUBJECTS)
                rc = ERR_TOOBIG;
            else {
                add_subject(p, &others[i], kind);
                add_ikeys(p, &others[i], x, nx);
            }
        }
        free(x);
    }
    return rc;
}

/*
 * Plan the deletion of the history rows of every subject of `p` (its
 * entities, and its accounts and orders as each storefront of
 * actors[0..nactors) keys them) and of every stored reply of `p`.
 */
static int
plan_history(struct scorer *s, struct erase_plan *p, const char *const *actors,
    size_t nactors)
{
    size_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < p->nsubj; i++)
        rc = history_erase_plan(
            s->hist, s->otxn, &p->subj[i], actors, nactors, &p->batch);
    for (i = 0; rc == 0 && i < p->nrefs; i++)
        rc = history_erase_reply_plan(
            s->hist, s->otxn, p->refs[i].actor, &p->refs[i].eid, &p->batch);
    return rc;
}

/*
 * End a plan: on failure (`rc`) log it as `what`, free `p` and return rc;
 * else fill its counts and hand it to *out.
 */
static int
plan_done(
    struct erase_plan *p, int rc, const char *what, struct erase_plan **out)
{
    if (rc != 0) {
        log_warnx("cannot plan %s: %s", what, err_str(rc));
        erase_plan_free(p);
        return rc;
    }
    p->counts.subjects = p->nsubj;
    p->counts.entities = p->batch.rows[HISTORY_ROW_ENTITY];
    p->counts.links = p->batch.rows[HISTORY_ROW_LINK];
    p->counts.orders = p->batch.rows[HISTORY_ROW_ORDER];
    p->counts.replies = p->batch.rows[HISTORY_ROW_REPLY];
    p->counts.index = p->nikeys;
    *out = p;
    return 0;
}

int
erase_plan_new(struct scorer *s, const struct pseudo *root,
    const char *storefront, struct erase_plan **out)
{
    struct erase_plan *p;
    struct store_txn *rd = NULL;
    struct pseudo *others = NULL;
    enum vault_kind kind;
    uint64_t *r = NULL, size;
    size_t nr = 0, nothers = 0, i, k;
    const char **actors;
    int rc;

    *out = NULL;
    rc = vault_lookup_token(s->vault, root, NULL, &kind);
    if (rc != 0)
        return rc;
    rc = scorer_commit(s);
    if (rc != 0)
        return rc;
    record_checkpoint(s, true);
    size = audit_checkpoint_size(s->audit);
    if (size != audit_size(s->audit))
        return ERR_AUDIT;
    p = xcalloc(1, sizeof(*p));
    p->size = size;
    history_batch_init(&p->batch);
    add_subject(p, root, kind);
    if (storefront != NULL && storefront[0] != '\0')
        add_actor(p, storefront);

    rc = store_txn_begin(s->store, false, &rd);
    if (rc == 0)
        rc = subjidx_list(rd, s->dbi_subject, root->b, &r, &nr);
    if (rc == 0) {
        add_ikeys(p, root, r, nr);
        p->counts.records = nr;
        rc = plan_read_records(s, p, size, r, nr, &others, &nothers);
    }
    if (rc == 0) {
        if (nothers > 0)
            qsort(others, nothers, sizeof(*others), pseudo_cmp);
        for (i = 0, k = 0; i < nothers; i++)
            if (k == 0 || memcmp(&others[k - 1], &others[i], PSEUDO_BYTES) != 0)
                others[k++] = others[i];
        nothers = k;
        rc = plan_own_subjects(s, rd, p, others, nothers, r, nr);
    }
    store_txn_abort(rd);
    /* The history rows, read through the overlay (committed anyway). */
    actors = xcalloc(p->nactors + 1, sizeof(*actors));
    for (i = 0; i < p->nactors; i++)
        actors[i] = p->actors[i];
    if (rc == 0)
        rc = plan_history(s, p, (const char *const *)actors, p->nactors);
    free(actors);
    free(others);
    free(r);
    return plan_done(p, rc, "an erasure", out);
}

/* ------------------------------------------------- a whole storefront */

/* What one pass over the log learns about a storefront's records. */
struct sf_pass {
    struct erase_plan *p;
    const char *actor;
    uint64_t size;
    uint8_t *foreign;     /* bitmap: another storefront's event records */
    struct pseudo *cands; /* subjects its records name (may repeat) */
    size_t ncands, capcands;
};

/* audit_replay callback: sort each record of the tree into the pass. */
static int
sf_cb(void *arg, const struct audit_entry *e)
{
    struct sf_pass *x = arg;
    const struct audit_record *rec = e->rec;
    struct erase_plan *p = x->p;
    struct pseudo eid;

    if (rec->index >= x->size || rec->role != AUDIT_ROLE_STOREFRONT)
        return 0;
    if (strcmp(rec->actor, x->actor) != 0) {
        x->foreign[rec->index / 8] |= (uint8_t)(1u << (rec->index % 8));
        return 0;
    }
    for (unsigned j = 0; j < rec->nsubj; j++) {
        if (x->ncands == x->capcands) {
            x->capcands = x->capcands ? x->capcands * 2 : 256;
            x->cands = xreallocarray(x->cands, x->capcands, sizeof(*x->cands));
        }
        memcpy(x->cands[x->ncands++].b, rec->subj[j], PSEUDO_BYTES);
    }
    if (strncmp(rec->op, "event.", 6) == 0 && ref_event_id(rec->ref, &eid)) {
        if (p->nrefs == p->caprefs) {
            p->caprefs = p->caprefs ? p->caprefs * 2 : 64;
            p->refs = xreallocarray(p->refs, p->caprefs, sizeof(*p->refs));
        }
        snprintf(p->refs[p->nrefs].actor, sizeof(p->refs[0].actor), "%s",
            rec->actor);
        p->refs[p->nrefs++].eid = eid;
    }
    return 0;
}

/*
 * Take each candidate (sorted, unique) that still has a salt and is the
 * storefront's own: an account or order (their pseudonyms are scoped to
 * the storefront that chose the id), or any other subject no other
 * storefront's event names. Their index entries are planned too.
 */
static int
sf_own_subjects(struct scorer *s, struct store_txn *rd, struct sf_pass *x)
{
    struct erase_plan *p = x->p;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < x->ncands; i++) {
        enum vault_kind kind;
        uint64_t *ix = NULL;
        size_t nx = 0;
        bool own;

        if (vault_lookup_token(s->vault, &x->cands[i], NULL, &kind) != 0)
            continue;
        own = kind == VAULT_KIND_ACCOUNT || kind == VAULT_KIND_ORDER;
        rc = subjidx_list(rd, s->dbi_subject, x->cands[i].b, &ix, &nx);
        if (rc == 0 && !own) {
            own = true;
            for (size_t j = 0; own && j < nx; j++)
                own = ix[j] >= x->size ||
                    !(x->foreign[ix[j] / 8] & (1u << (ix[j] % 8)));
        }
        if (rc == 0 && own) {
            if (p->nsubj >= ERASE_MAX_SUBJECTS)
                rc = ERR_TOOBIG;
            else {
                add_subject(p, &x->cands[i], kind);
                add_ikeys(p, &x->cands[i], ix, nx);
                p->counts.records += nx;
            }
        }
        free(ix);
    }
    return rc;
}

int
erase_plan_storefront(
    struct scorer *s, const char *storefront, struct erase_plan **out)
{
    struct audit_verify_result *res = NULL;
    struct store_txn *rd = NULL;
    struct sf_pass x;
    struct erase_plan *p;
    const char *actors[1];
    char dir[4096];
    size_t i, k;
    int rc;

    *out = NULL;
    rc = scorer_commit(s);
    if (rc != 0)
        return rc;
    record_checkpoint(s, true);
    memset(&x, 0, sizeof(x));
    x.size = audit_checkpoint_size(s->audit);
    if (x.size != audit_size(s->audit))
        return ERR_AUDIT;
    p = xcalloc(1, sizeof(*p));
    p->size = x.size;
    history_batch_init(&p->batch);
    add_actor(p, storefront);
    x.p = p;
    x.actor = storefront;
    x.foreign = xcalloc(x.size / 8 + 1, 1);
    res = xcalloc(1, sizeof(*res));
    rc = cfg_path(&s->cfg, "audit", dir, sizeof(dir));
    if (rc == 0)
        rc = audit_replay(
            dir, audit_verifier_key(s->audit), NULL, sf_cb, &x, res);
    if (rc != 0)
        log_warnx("cannot plan a storefront erasure: the audit log does "
                  "not verify: %s",
            res->reason);
    if (rc == 0) {
        if (x.ncands > 0)
            qsort(x.cands, x.ncands, sizeof(*x.cands), pseudo_cmp);
        for (i = 0, k = 0; i < x.ncands; i++)
            if (k == 0 ||
                memcmp(&x.cands[k - 1], &x.cands[i], PSEUDO_BYTES) != 0)
                x.cands[k++] = x.cands[i];
        x.ncands = k;
        rc = store_txn_begin(s->store, false, &rd);
    }
    if (rc == 0)
        rc = sf_own_subjects(s, rd, &x);
    store_txn_abort(rd);
    actors[0] = p->actors[0];
    if (rc == 0)
        rc = plan_history(s, p, actors, 1);
    if (x.cands != NULL)
        sodium_memzero(x.cands, x.capcands * sizeof(*x.cands));
    free(x.cands);
    free(x.foreign);
    free(res);
    return plan_done(p, rc, "a storefront erasure", out);
}

const struct erase_counts *
erase_plan_counts(const struct erase_plan *p)
{
    return &p->counts;
}

const struct pseudo *
erase_plan_subjects(
    const struct erase_plan *p, size_t *n, const enum vault_kind **kinds)
{
    *n = p->nsubj;
    if (kinds != NULL)
        *kinds = p->kinds;
    return p->subj;
}

const char (*erase_plan_actors(
    const struct erase_plan *p, size_t *n))[AUDIT_MAX_ACTOR + 1]
{
    *n = p->nactors;
    return (const char(*)[AUDIT_MAX_ACTOR + 1]) p->actors;
}

void
erase_plan_free(struct erase_plan *p)
{
    if (p == NULL)
        return;
    if (p->subj != NULL)
        sodium_memzero(p->subj, p->capsubj * sizeof(*p->subj));
    free(p->subj);
    free(p->kinds);
    free(p->actors);
    if (p->refs != NULL)
        sodium_memzero(p->refs, p->caprefs * sizeof(*p->refs));
    free(p->refs);
    free(p->ikeys);
    history_batch_release(&p->batch);
    free(p);
}

/* ----------------------------------------------------------- applying */

/* Steps 2 to 4 for tokens t[0..n): salts, journal, the pending mark. */
static int
erase_finish(
    struct scorer *s, const struct pseudo *t, size_t n, size_t *segments)
{
    int rc = 0;

    *segments = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = vault_erase(s->vault, &t[i]);
        if (rc == ERR_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = vault_sync(s->vault);
    if (rc == 0)
        rc = scorer_journal_shred(s, segments);
    if (rc == 0)
        rc = history_meta_del(s->hist, s->otxn, ERASE_PENDING);
    /* Committed now: the pending list names the erased tokens. */
    if (rc == 0)
        rc = scorer_commit(s);
    return rc;
}

int
erase_plan_apply(
    struct scorer *s, struct erase_plan *p, struct erase_counts *done)
{
    size_t segments = 0;
    int rc;

    *done = p->counts;
    done->segments = 0;
    rc = history_batch_apply(s->hist, s->otxn, &p->batch);
    for (size_t i = 0; rc == 0 && i < p->nikeys; i++)
        rc = subjidx_del(
            s->otxn, s->dbi_subject, p->ikeys[i].t.b, p->ikeys[i].index);
    /* The records written since the plan (the erasure's own) were
     * indexed under the tokens too: those entries go as well. */
    for (uint64_t x = p->size; rc == 0 && x < audit_size(s->audit); x++)
        for (size_t i = 0; rc == 0 && i < p->nsubj; i++)
            rc = subjidx_del(s->otxn, s->dbi_subject, p->subj[i].b, x);
    if (rc == 0)
        rc = history_meta_put(s->hist, s->otxn, ERASE_PENDING, p->subj,
            p->nsubj * sizeof(*p->subj));
    if (rc != 0) {
        /* Nothing of it is committed: the overlay goes back to LMDB. */
        s->needs_recovery = true;
        log_warnx("erasure not applied: %s", err_str(rc));
        return rc;
    }
    rc = scorer_commit(s);
    if (rc == 0)
        rc = erase_finish(s, p->subj, p->nsubj, &segments);
    if (rc != 0) {
        log_warnx("erasure half done (history deleted; salts or journal "
                  "pending, finished at the next start): %s",
            err_str(rc));
        return rc;
    }
    done->segments = segments;
    log_info("erased %zu subjects: %" PRIu64 " entities, %" PRIu64
             " orders, %" PRIu64 " replies, %zu journal segments",
        p->nsubj, done->entities, done->orders, done->replies, segments);
    return 0;
}

int
erase_resume(struct scorer *s)
{
    const size_t cap = ERASE_MAX_SUBJECTS * sizeof(struct pseudo);
    struct pseudo *t = xmalloc(cap);
    size_t len = 0, segments = 0;
    int rc;

    rc = history_meta_get(s->hist, s->otxn, ERASE_PENDING, t, cap, &len);
    if (rc == ERR_NOTFOUND) {
        free(t);
        return 0;
    }
    if (rc == 0 && len % sizeof(*t) != 0)
        rc = ERR_CORRUPT;
    if (rc == 0) {
        log_warnx("finishing an erasure of %zu subjects a stop interrupted",
            len / sizeof(*t));
        rc = erase_finish(s, t, len / sizeof(*t), &segments);
    }
    sodium_memzero(t, len);
    free(t);
    return rc;
}
