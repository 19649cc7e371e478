/*
 * witness.h - vigil-witness: the tlog-witness add-checkpoint logic,
 *             apart from HTTP
 *
 * main.c reads the configuration and the witness key, opens the state
 * and serves HTTP (libmicrohttpd, one internal thread); every request
 * body goes through witness_add_checkpoint(), which answers with the
 * status code, content type and body that c2sp.org/tlog-witness
 * prescribes. The state is one LMDB record per log (store.c), keyed by
 * SHA-256 of the origin: u64 BE size || 32-byte root || the latest
 * cosigned checkpoint note with the witness's cosignature line. The
 * check of the old size and the update are one LMDB write transaction,
 * so two requests can never roll the state back (the race the spec
 * describes), even if the HTTP side became multi-threaded.
 *
 * Invariants:
 *  - a cosignature is returned only after the new state is committed.
 *  - the stored size never decreases, and a stored root changes only
 *    with a verified consistency proof from the stored size.
 *
 * See also: tools/vigil-witness.1, common/cosig.h, common/note.h,
 *           common/merkle.h, c2sp.org/tlog-witness
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TOOLS_VIGIL_WITNESS_WITNESS_H
#define TOOLS_VIGIL_WITNESS_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/cosig.h"
#include "common/note.h"

#define WITNESS_MAX_LOGS  64
#define WITNESS_MAX_BODY  (NOTE_MAX_BYTES + 64 * 48 + 32)
#define WITNESS_MAX_PROOF 63 /* consistency proof lines (the spec's cap) */
#define WITNESS_REPLY_MAX (NOTE_MAX_BYTES + COSIG_LINE_MAX + 64)

struct store;

/* One configured log: its origin and its key(s) (one per `log` line). */
struct witness_log {
    char origin[NOTE_MAX_ORIGIN + 1];
    struct note_verifier keys[4];
    size_t nkeys;
};

/* The witness. Fields are set up by main.c, then read-only. */
struct witness {
    struct cosig_signer key;                   /* owned; wiped at exit */
    struct witness_log logs[WITNESS_MAX_LOGS]; /* from the config */
    size_t nlogs;
    struct store *st; /* the state (owned by main.c) */
    unsigned dbi;     /* its "logs" database */
};

/* What to answer. */
struct witness_reply {
    unsigned status;          /* HTTP status code */
    const char *content_type; /* static */
    char body[WITNESS_REPLY_MAX];
    size_t len;
};

/*
 * Handle one add-checkpoint request body body[0..len) at POSIX time
 * `now` (seconds, > 0) and fill `*r`: 200 with the cosignature line;
 * 400 (malformed, old size above the checkpoint's); 403 (no valid
 * signature of a configured key, or a configured key's bad signature);
 * 404 (unknown origin); 409 with "<size>\n" as text/x.tlog.size (old
 * size is not the witness's); 422 (bad proof, root mismatch); 500
 * (state could not be read or written: nothing was cosigned).
 * Runs on the HTTP thread; the state transaction makes it atomic.
 */
void witness_add_checkpoint(struct witness *w, const char *body, size_t len,
    uint64_t now, struct witness_reply *r) NONNULL(1, 2, 5);

/*
 * Answer GET <prefix>/<origin hash>/checkpoint (hash = lowercase hex
 * SHA-256 of the origin): 200 with the latest cosigned checkpoint (the
 * log's signature and the witness's cosignature), or 404.
 */
void witness_get_checkpoint(struct witness *w, const char *hexhash,
    struct witness_reply *r) NONNULL(1, 2, 3);

#endif
