/*
 * jrec.h - the scorer's journal record: one event as the scorer
 *          received it, with what replaying it needs
 *
 * The journal (common/journal.h) stores opaque payloads; this is the
 * scorer's. One record per event applied (from a collector, or made by
 * a query op such as a label), appended in the group commit after the
 * group's audit records are durable, and replayed after a crash through
 * the same path. Besides the event it carries what is not a function of
 * the event: the actor, the arrival time (the dedup window counts from
 * it) and the salts the event made for subjects seen for the first
 * time (scorer/vault.h), so that replay gives the same tokens the audit
 * records already hold.
 *
 * FORMAT (version 2; little-endian):
 *     u8   0x00            (a version 1 record starts with its actor's
 *                           length, never 0: one is refused by name)
 *     u8   2               the version
 *     u64  arrival ms      the scorer's wall clock when it took the event
 *     u8   actor length, 1..255, then the actor (the storefront's name)
 *     u8   n, 0..VAULT_EVENT_SUBJECTS, then n times:
 *              u8 kind (enum vault_kind), 16-byte pseudonym, 16-byte salt
 *     the rest: the event's internal encoding (common/event.h), exactly
 *
 * Invariants:
 *  - decoding is strict: every length in bounds, kinds valid, at least
 *    one byte of event; nothing is trusted from a record that fails.
 *
 * See also: common/journal.h, common/event.h, scorer/vault.h,
 *           scorer/scorer.h (the group commit)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_JREC_H
#define SCORER_JREC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "scorer/vault.h"

#define JREC_VERSION   2
#define JREC_ACTOR_MAX 255

/* One salt a record carries. */
struct jrec_salt {
    enum vault_kind kind;
    struct pseudo p;
    uint8_t salt[VAULT_SALT_BYTES];
};

/* One decoded record. `event` is borrowed from the payload decoded. */
struct jrec {
    uint64_t arrival_ms;
    char actor[JREC_ACTOR_MAX + 1];
    unsigned nsalts;
    struct jrec_salt salts[VAULT_EVENT_SUBJECTS];
    const uint8_t *event;
    size_t event_len;
};

/*
 * Encode a record into `out` (reset first): `actor`, `arrival_ms`,
 * salts[0..nsalts) and the event bytes raw[0..rawlen). Returns 0,
 * ERR_INVAL (actor empty or too long, too many salts) or ERR_TOOBIG.
 */
int jrec_encode(struct buf *out, const char *actor, uint64_t arrival_ms,
    const struct jrec_salt *salts, unsigned nsalts, const uint8_t *raw,
    size_t rawlen) WARN_UNUSED NONNULL(1, 2, 6);

/*
 * Decode payload p[0..len) into `*r` (r->event points into `p`).
 * Returns 0, ERR_CORRUPT (malformed; `*why` gets a static reason) or
 * ERR_INVAL (a version 1 record: a journal written before per-subject
 * tokens).
 */
int jrec_decode(const uint8_t *p, size_t len, struct jrec *r,
    const char **why) WARN_UNUSED NONNULL(1, 3, 4);

#endif
