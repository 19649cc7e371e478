/*
 * seen.h - the webhook ids already applied: a bounded, expiring,
 *          persistent set
 *
 * Shopify retries a delivery that got no 2xx within 5 s up to 8 times
 * over 4 hours, and may deliver one webhook twice; each carries the same
 * X-Shopify-Webhook-Id. Once Vigil acknowledged a delivery's events the
 * bridge adds its key here, and a repeat is answered 200 from this set
 * without touching Vigil. The set survives a restart (a file) and is
 * bounded in entries and in time: an entry expires after `ttl` (longer
 * than Shopify's retry window) and the oldest is overwritten when the
 * set is full. It is a cache in front of a guarantee: a repeat that
 * missed it (evicted, or the bridge died between Vigil's ack and the
 * add) reaches Vigil with the same event ids and Vigil answers it from
 * its own dedup with the first reply (topics.h).
 *
 * File format (one file, `capacity` fixed slots, rewritten in place):
 *   header, 32 bytes: "VGSHSEEN", u32 version (1), u32 record size
 *     (32), u32 capacity, 12 zero bytes; integers little-endian.
 *   slot i at 32 + 32 * i: key[16] (BLAKE2b-128 of the shop, the kind
 *     and the id, seen_key()), u64 expiry (ms since the epoch, wall
 *     clock), u64 check (the first 8 bytes of BLAKE2b-64 over key and
 *     expiry). An all-zero slot is empty; a slot whose check fails (a
 *     torn write) is empty. Slots are written in ring order; the next
 *     slot after the newest expiry is where writing resumes.
 * Nothing in the file is personal data: webhook and event ids are
 * Shopify's delivery ids, and only hashes of them are stored.
 *
 * Invariants:
 *  - at most `capacity` entries; an add overwrites the oldest slot.
 *  - thread-safe: one mutex around the index and the file.
 *
 * See also: http.c (seen_has), uplink.c (seen_add), tools/vigil-shopify.8
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_SEEN_H
#define VIGIL_SHOPIFY_SEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

#define SEEN_KEY_BYTES   16
#define SEEN_MAX_ENTRIES 10000000u

struct seen;

/*
 * The key of `id` of kind `kind` ("webhook" or "event") at shop `shop`:
 * BLAKE2b-128 of "vigil-shopify-seen\0<kind>\0<shop>\0<id>".
 */
void seen_key(const char *kind, const char *shop, const char *id,
    uint8_t key[SEEN_KEY_BYTES]) NONNULL(1, 2, 3, 4);

/*
 * Open (or create, mode 0600) the set at `path` with room for
 * `capacity` entries (1..SEEN_MAX_ENTRIES) that live `ttl_ms`, loading
 * every unexpired entry as of `now_ms`. A file made with another
 * capacity is rewritten with the newest entries that fit. `err` (size
 * `errlen`) gets a reason naming the file. Caller frees with
 * seen_close(). Returns 0, ERR_INVAL, ERR_CORRUPT (not this format),
 * ERR_DENIED (a symbolic link, not a regular file, open to others) or
 * ERR_IO.
 */
int seen_open(const char *path, uint32_t capacity, uint64_t ttl_ms,
    uint64_t now_ms, struct seen **out, char *err, size_t errlen) WARN_UNUSED
    NONNULL(1, 5, 6);

/* True when `key` was added and has not expired at `now_ms`. */
bool seen_has(struct seen *s, const uint8_t key[SEEN_KEY_BYTES],
    uint64_t now_ms) NONNULL(1, 2);

/*
 * Add `key` (expiring at now_ms + ttl), in memory: its slot reaches the
 * file at the next seen_sync(). Adding a present key changes nothing;
 * re-adding an expired one renews it (written at once). Returns 0 or
 * ERR_IO (a renewal could not be written; logged; still in memory).
 */
int seen_add(struct seen *s, const uint8_t key[SEEN_KEY_BYTES],
    uint64_t now_ms) WARN_UNUSED NONNULL(1, 2);

/* Write the slots added since the last sync (one pwrite, two when the
 * ring wrapped) and fdatasync the file. Returns 0 or ERR_IO (logged). */
int seen_sync(struct seen *s) WARN_UNUSED NONNULL(1);

/* What the set holds and has lost, read together under its lock. */
struct seen_stats {
    uint32_t count;        /* entries held (expired ones included until
                              overwritten) */
    uint64_t evicted_live; /* live entries overwritten because the set was
                              full (a capacity too small for the ttl at
                              this delivery rate) */
};

/* Fill `out` with the set's figures of this moment. */
void seen_stats(struct seen *s, struct seen_stats *out) NONNULL(1, 2);

/* Sync, close the file and free. NULL is a no-op. */
void seen_close(struct seen *s);

#endif
