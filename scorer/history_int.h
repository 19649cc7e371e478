/*
 * history_int.h - what history.c lends history_purge.c (internal)
 *
 * Not a public header: only the history_*.c files include it. The
 * layouts stay history.c's (history.h describes them); history_purge.c
 * reads stored values only through these decoders and builds keys only
 * through these builders, so each layout is still coded in one place.
 * Same threads and transactions as history.h.
 *
 * Invariants:
 *  - the decoders here accept exactly what history.c's own readers
 *    accept, and look at no byte past `len`.
 *
 * See also: history.h (layouts), history.c, history_purge.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_HISTORY_INT_H
#define SCORER_HISTORY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/pseudo.h"
#include "common/store.h"
#include "scorer/history.h"

/* The databases, for history_dbi(). */
enum history_db {
    HISTORY_DB_ENTITY,
    HISTORY_DB_LINK,
    HISTORY_DB_ORDER,
    HISTORY_DB_REPLY,
    HISTORY_DB_META,
    HISTORY_DB_REPLY_TIME,
    HISTORY_DB_REVIEW,
    /* Not a database: a planned removal of one account key from an
     * entity's account list in "link" (key: the list's key, then the
     * account key; history_purge.c). */
    HISTORY_DB_LINK_MEMBER,
};

/* The handle of database `which` (opened by history_open()). */
unsigned history_dbi(const struct history *h, enum history_db which) NONNULL(1);

/* The store history was opened on; borrowed. */
struct store *history_store(const struct history *h) NONNULL(1);

/*
 * Build the key `tag` (or none when tag < 0) actor \0 id into out (at
 * most HISTORY_KEY_MAX bytes) and set `*len`. Returns 0 or ERR_INVAL
 * (actor too long).
 */
int history_actor_key(uint8_t out[HISTORY_KEY_MAX], size_t *len, int tag,
    const char *actor, const struct pseudo *id) WARN_UNUSED NONNULL(1, 2, 4, 5);

/*
 * Decode an entity record enough to age it: `*last` its last_seen (the
 * label time for a label-only record; UINT64_MAX for an entity on the
 * allow or block list, kept while it is). Returns 0 or ERR_CORRUPT.
 */
int history_entity_last_seen(
    const void *v, size_t len, uint64_t *last) WARN_UNUSED NONNULL(1, 3);

/*
 * Build the key of the reply-time index entry of the reply stored under
 * `reply_key` (actor \0 event id) at `arrival_ms`: 8 bytes big-endian
 * arrival, then the reply key. Returns its length.
 */
size_t history_reply_time_key(uint64_t arrival_ms, const uint8_t *reply_key,
    size_t klen, uint8_t out[HISTORY_REPLY_TIME_KEY_MAX]) NONNULL(2, 4);

/* Decode the arrival time of a "reply" value (an index entry, or a
 * whole reply written before 2026-12-05). Returns 0 or ERR_CORRUPT. */
int history_reply_arrival(
    const void *v, size_t vlen, uint64_t *arrival_ms) WARN_UNUSED NONNULL(1, 3);

/*
 * Decode an order record's time and its order.placed event id.
 * Returns 0 or ERR_CORRUPT.
 */
int history_order_peek(const void *v, size_t len, uint64_t *ts,
    struct pseudo *event_id) WARN_UNUSED NONNULL(1, 3, 4);

/*
 * The review-queue key of the order stored under order key `okey`
 * (actor \0 token) at time `ts`. Returns 0 or ERR_INVAL.
 */
int history_review_key_of_order(const uint8_t *okey, size_t oklen, uint64_t ts,
    uint8_t out[HISTORY_REVIEW_KEY_MAX], size_t *len) WARN_UNUSED
    NONNULL(1, 4, 5);

/* `gone` review entries were deleted: lower "review_n". Write txn.
 * Returns 0, ERR_CORRUPT, ERR_FULL or ERR_IO. */
int history_review_forget(struct history *h, struct store_txn *txn,
    uint64_t gone) WARN_UNUSED NONNULL(1, 2);

#endif
