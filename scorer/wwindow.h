/*
 * wwindow.h - the witness client's proof window: consistency proofs from
 *             a frontier and the leaf hashes after it
 *
 * The witness client (wclient.c) must prove, for each witness, that the
 * newest checkpoint extends the one the witness cosigned last. It keeps
 * the Merkle frontier at a base size and every leaf hash after it; that
 * is enough for any consistency proof from an old size >= base (a
 * subtree below the base is one of the frontier's nodes, one above it is
 * hashed from the leaves, one across it is split until it is either).
 * 32 bytes per leaf after the base; the client advances the base to what
 * the slowest witness still needs.
 *
 * Invariants:
 *  - `fr` is the frontier of the first `base` leaves; leaves[i] is leaf
 *    base + i for i < n; base only grows. Fields change only through
 *    this API. A window whose leaves came out of order is `broken` and
 *    covers nothing.
 *
 * See also: wclient.h, common/merkle.h, tests/unit/test_wwindow.c
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SCORER_WWINDOW_H
#define SCORER_WWINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/merkle.h"

struct wwindow {
    struct merkle_frontier fr;            /* of the first `base` leaves */
    uint64_t base;                        /* leaves before the window */
    uint8_t (*leaves)[MERKLE_HASH_BYTES]; /* leaves base.. (owned) */
    size_t n, cap;
    bool broken; /* leaves arrived out of order: covers nothing */
};

/* Start an empty window at the frontier `fr` (copied). Release with
 * wwindow_release(). */
void wwindow_init(struct wwindow *w, const struct merkle_frontier *fr)
    NONNULL(1, 2);

/* Free the leaves; `w` is then unusable until wwindow_init(). */
void wwindow_release(struct wwindow *w) NONNULL(1);

/*
 * Append leaf hashes h[0..n) of leaves [first, first + n). They must
 * follow the window's end; otherwise the window becomes broken.
 * Returns 0 or ERR_INVAL (broken).
 */
int wwindow_append(struct wwindow *w, uint64_t first,
    const uint8_t (*h)[MERKLE_HASH_BYTES], size_t n) WARN_UNUSED NONNULL(1);

/* Move the base up to `to` (clamped to the window's end); never down. */
void wwindow_advance(struct wwindow *w, uint64_t to) NONNULL(1);

/* The size up to which the window has leaves (base + n). */
uint64_t wwindow_end(const struct wwindow *w) NONNULL(1);

/*
 * Build the consistency proof from `old` to `size` leaves into
 * proof[0..*n) (empty when old is 0 or equals size).
 * Returns 0; ERR_NOTFOUND when the window does not cover it (old < base,
 * size > end, or broken); ERR_INVAL if old > size.
 */
int wwindow_consistency_proof(struct wwindow *w, uint64_t old, uint64_t size,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *n) WARN_UNUSED
    NONNULL(1, 4, 5);

#endif
