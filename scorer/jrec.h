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
 * A second kind holds the group's AUDIT RECORDS (common/audit.h), made
 * durable by the same journal sync as the group's events (one fdatasync
 * for both): written before the events, they are the records' durable
 * copy until the audit segments are synced (audit_flush(): before every
 * LMDB commit, hence before any journal trim); at start the scorer
 * restores from them what a crash took from the segments
 * (audit_log_open_heal()). Replay skips them.
 *
 * FORMAT of an audit record (little-endian):
 *     u8   0x00
 *     u8   0xA1            JREC_AUDIT
 *     u64  floor           audit records durable (synced) in the audit
 *                          segments when this was written: a log cut
 *                          below it lost synced records (refused)
 *     the rest: one or more audit frames exactly as in a segment
 *          (u32 len 1..1024, u32 CRC32C of the payload, payload), the
 *          indexes inside them consecutive
 *
 * FORMAT of an event record (version 2; little-endian):
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/pseudo.h"
#include "scorer/vault.h"

#define JREC_VERSION    2
#define JREC_ACTOR_MAX  255
#define JREC_AUDIT      0xA1 /* the second byte of an audit record */
#define JREC_AUDIT_HEAD 10   /* 0x00, JREC_AUDIT, u64 floor */
/* Frame bytes in one audit record (a journal payload is at most 1 MiB). */
#define JREC_AUDIT_MAX_FRAMES (1024u * 1024 - JREC_AUDIT_HEAD)

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

/* True when payload p[0..len) is an audit record (JREC_AUDIT). */
bool jrec_is_audit(const uint8_t *p, size_t len) NONNULL(1);

/*
 * Return the bytes of the whole frames at the start of frames[0..len)
 * (well-formed audit frames, e.g. audit_pending_frames()) that fit in
 * one audit record: at most JREC_AUDIT_MAX_FRAMES.
 */
size_t jrec_audit_chunk(const uint8_t *frames, size_t len) NONNULL(1);

/*
 * Encode an audit record into `out` (reset first): `floor`, then
 * frames[0..len) (1..JREC_AUDIT_MAX_FRAMES bytes of whole frames).
 * Returns 0, ERR_INVAL or ERR_TOOBIG.
 */
int jrec_audit_encode(struct buf *out, uint64_t floor, const uint8_t *frames,
    size_t len) WARN_UNUSED NONNULL(1, 3);

/*
 * Decode audit record p[0..len): `*floor`, and `*frames` (borrowed from
 * p) / `*flen`, every frame whole with its CRC checked. Returns 0 or
 * ERR_CORRUPT (`*why` gets a static reason).
 */
int jrec_audit_decode(const uint8_t *p, size_t len, uint64_t *floor,
    const uint8_t **frames, size_t *flen, const char **why) WARN_UNUSED
    NONNULL(1, 3, 4, 5, 6);

#endif
