/*
 * erase.h - erasing one data subject: what goes, in which order, and
 *           how a crash half-way is finished at the next start
 *
 * The DPO's subject.erase (scorer/query_dpo.c) names one identifier;
 * its token T is the ROOT. Planning reads the records that name T (the
 * subject index, then the log: scorer/prove.h) and takes as the
 * person's own every subject those records name that no other record
 * names (its index entries all lie among T's records: an email, phone,
 * card, device or order seen only with this account), plus T itself. A
 * subject named anywhere else (a device another account used) is
 * shared: it stays, and so does its history. For each subject erased
 * the plan holds its history rows (entity, account with link list,
 * order with its reply, in every storefront the records name), the
 * dedup replies of the root's own events (their ids are the records'
 * refs) and its subject index entries.
 *
 * The caller writes the "subject.erase" audit record with the plan's
 * counts, and only then (write-ahead) applies it:
 *   1. the history rows and index entries are deleted through the
 *      overlay, and "erase_pending" (the tokens) is stored in history's
 *      meta; one commit makes all of it durable;
 *   2. the vault overwrites each subject's salt with zeros (vault.h) and
 *      syncs: from here the tokens in the log point to nobody;
 *   3. the journal is shredded: every segment (all of them are covered
 *      by the commit of 1) is overwritten with zeros and removed;
 *   4. "erase_pending" is removed (one more commit).
 * A crash after 1 leaves "erase_pending": erase_resume() at start-up
 * does 2 to 4 again (each is idempotent).
 *
 * Invariants:
 *  - nothing is deleted before the audit record of the erasure is
 *    durable (the caller's record_now() comes between plan and apply).
 *  - after erase_apply() returns 0 no file of the data directory holds
 *    a salt of an erased subject, nor an event naming one.
 *
 * See also: scorer/vault.h (crypto-shredding), scorer/history.h
 *           (history_erase_plan), common/subjidx.h, scorer.8 ("ERASURE")
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_ERASE_H
#define SCORER_ERASE_H

#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "scorer/vault.h"

struct scorer;

/* What an erasure removes (or removed). */
struct erase_counts {
    uint64_t subjects; /* salts destroyed */
    uint64_t entities; /* history entity records */
    uint64_t links;    /* account link lists */
    uint64_t orders;   /* order records */
    uint64_t replies;  /* stored dedup replies */
    uint64_t index;    /* subject index entries */
    uint64_t records;  /* audit records that named the root (kept) */
    uint64_t segments; /* journal segments shredded (apply only) */
};

struct erase_plan;

/*
 * Plan the erasure of the subject whose token is `root` (and of what is
 * its own, above). `storefront` (may be NULL) is the storefront of a
 * scoped identifier, searched besides the ones the records name.
 * Commits everything first and signs a checkpoint (the records are read
 * from the log), so it takes as long as one pass over the log. Main
 * thread, between groups. `*out` is freed with erase_plan_free().
 * Returns 0, ERR_AUDIT (no checkpoint could be signed), ERR_IO,
 * ERR_CORRUPT (the log or the index does not check) or ERR_NOTFOUND
 * (the root has no salt).
 */
int erase_plan_new(struct scorer *s, const struct pseudo *root,
    const char *storefront, struct erase_plan **out) WARN_UNUSED
    NONNULL(1, 2, 4);

/*
 * Plan the erasure of everything storefront `storefront` sent (Shopify's
 * shop/redact): every subject its event records name that is its own
 * (an account or order, whose pseudonyms are scoped to it, or a subject
 * no other storefront's event names: a device or email seen elsewhere
 * stays, with its history), their history rows of this storefront and
 * their index entries, and the stored replies of its events. One
 * verifying pass over the log. `*out` is freed with erase_plan_free(),
 * applied with erase_plan_apply(). The subjects come in no particular
 * order (no root). Returns as erase_plan_new(); ERR_TOOBIG over
 * 1,048,576 subjects.
 */
int erase_plan_storefront(struct scorer *s, const char *storefront,
    struct erase_plan **out) WARN_UNUSED NONNULL(1, 2, 3);

/* The counts the plan will remove; borrowed, valid until free. */
const struct erase_counts *erase_plan_counts(const struct erase_plan *p)
    NONNULL(1);

/*
 * The tokens the plan erases, the root first: `*n` of them; borrowed,
 * valid until free. With `kinds` (may be NULL) their kinds too.
 */
const struct pseudo *erase_plan_subjects(const struct erase_plan *p, size_t *n,
    const enum vault_kind **kinds) NONNULL(1, 2);

/*
 * The storefronts the plan searched (the request's, and those whose
 * events the records hold): `*n` names; borrowed, valid until free.
 */
const char (*erase_plan_actors(
    const struct erase_plan *p, size_t *n))[AUDIT_MAX_ACTOR + 1] NONNULL(1, 2);

/*
 * Apply `p` (steps 1 to 4 above). Only after the audit record of the
 * erasure is durable. `*done` gets what was removed. Returns 0, or the
 * ERR_* of the step that failed (logged): history and index already
 * committed stay deleted, and erase_resume() finishes the rest at the
 * next start.
 */
int erase_plan_apply(struct scorer *s, struct erase_plan *p,
    struct erase_counts *done) WARN_UNUSED NONNULL(1, 2, 3);

/* Free a plan (wiping its tokens). NULL is a no-op. */
void erase_plan_free(struct erase_plan *p);

/*
 * At start-up, after history is up to date: finish an erasure a crash
 * interrupted (steps 2 to 4 for the tokens in "erase_pending"). A no-op
 * when there is none. Returns 0 or the ERR_* that stopped it (the
 * caller refuses to start: the promise of an erasure is pending).
 */
int erase_resume(struct scorer *s) WARN_UNUSED NONNULL(1);

#endif
