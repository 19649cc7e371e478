/*
 * audit_tiles.h - the audit log's Merkle tree on disk as C2SP tlog-tiles
 *                 (internal to audit_*.c)
 *
 * Not a public header: audit_log*.c (the writer), audit_scan.c (rebuilds
 * and checks them when the writer opens the log) and audit_verify.c (the
 * proofs) include it. Under the audit directory, servable as static
 * files under the log's URL prefix:
 *
 *   tile/<L>/<N>[.p/<W>]        level L hashes: full tiles of 256 hashes
 *                               (8192 bytes), partial ones of W (1..255)
 *   tile/entries/<N>[.p/<W>]    entry bundles: the records themselves,
 *                               each as u16 big-endian length || payload
 *
 * <N> is the tile index in 3-digit groups, all but the last prefixed with
 * "x" (1234067 -> x001/x234/067). The n-th tile of level l holds, for i in
 * 0..255, MTH(D[(n*256+i) * 256^l : (n*256+i+1) * 256^l]) (c2sp.org/
 * tlog-tiles); level 0 holds the leaf hashes. Full tiles and bundles are
 * written as soon as they are complete; partial ones at every
 * checkpoint, for its size; the partials of a tile are removed once its
 * full tile exists.
 *
 *   tile-spare/d<K>/<W>         (not part of the log) partial files
 *                               removed, kept to be written again
 *
 * A signed head per group commit means one or two partial files per
 * group: creating each anew and unlinking it a tile later cost ext4
 * (no journal) a scan of every recently freed inode at each creation
 * (find_inode_bit -> recently_deleted), 50-400 us a file and ~12% of
 * the scorer's CPU in a replay. So removed partials are written again:
 * the next partial is written into a spare, cut to its length and
 * renamed into place (never over a file), and a reader sees a partial
 * file whole or not at all. When a tile is complete, its "<N>.p/"
 * directory moves whole, in one rename, to tile-spare/d<K> (at most
 * AUDIT_TILES_RETIRED of them waiting, K counting up), and its files
 * are taken from there one at a time as partials are written; an
 * emptied one is removed. (Moving each of up to 255 files a tile, and
 * the bundle's as many again, stalled the writer's thread ~25 ms every
 * 256 records: every 1.28 s the slowest orders at 200 a second.) What
 * tile-spare/ holds at open is removed.
 *
 *   tile-new/<K>                (not part of the log) empty files made
 *                               ahead, off the writer's thread
 *
 * The full tiles and bundles still need one new inode each (two files
 * per 256 records), and that creation cost the same scan, on the event
 * path: 5-18% of the scorer's main thread in a replay. So another
 * thread (the scorer's flusher, audit_flush_premake()) keeps up to
 * AUDIT_TILES_NEW empty files ready in tile-new/, named by their number
 * in a ring of 2 * AUDIT_TILES_NEW names, and the writer takes them in
 * order: writes the tile into the next one and renames it into place
 * (never over a file). When the next one is not there (no other thread,
 * or it fell behind) the writer creates the file itself, as before.
 * The two threads share nothing but the directory: the maker creates
 * names with O_EXCL (one that exists counts as made) and starts from
 * the writer's count as of the ticket; a file left in tile-new/ by an
 * earlier run is taken like a new one (the write cuts it to length).
 *
 * Nothing here is synced: tiles are derived from the records, and the
 * writer checks (and rewrites) them when it opens the log. Readers
 * trust no tile: every proof built from them is verified against a
 * signed root before it is handed out.
 *
 * Invariants:
 *  - a tile or bundle file, once complete, is never rewritten with other
 *    content (except by the writer's check at open, which repairs).
 *  - the writer's in-memory partial tiles are those of exactly `size`
 *    leaves.
 *
 * See also: audit.h (format section 2), c2sp.org/tlog-tiles, merkle.h
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_AUDIT_TILES_H
#define COMMON_AUDIT_TILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/merkle.h"

#define AUDIT_TILES_WIDTH     256 /* hashes (or entries) in a full tile */
#define AUDIT_TILES_LEVELS    8   /* 256^8 = 2^64 leaves */
#define AUDIT_TILES_PATH      96  /* room for any tile's path */
#define AUDIT_TILES_DIRS      8   /* directories remembered as made */
#define AUDIT_TILES_RETIRED   16  /* removed "<N>.p/" kept whole to reuse */
#define AUDIT_TILES_SPARE_DIR "tile-spare"
#define AUDIT_TILES_NEW       64 /* empty files made ahead (tile-new/) */
#define AUDIT_TILES_NEW_DIR   "tile-new"

/*
 * Write the path of tile `n` of `level` (0..7), or of entry bundle `n`
 * when `level` is AUDIT_TILES_ENTRIES, relative to the audit directory,
 * into out[AUDIT_TILES_PATH]; `width` 0 for the full tile, else the
 * partial one of that width.
 */
#define AUDIT_TILES_ENTRIES 255u
void audit_tiles_path(unsigned level, uint64_t n, unsigned width,
    char out[AUDIT_TILES_PATH]) NONNULL(4);

/* ------------------------------------------------------------- writer */

/*
 * The writer's state: the partial tile of every level and the partial
 * entry bundle, in memory. Fields change only through this API.
 */
struct audit_tiles {
    int dirfd;     /* the audit directory (borrowed) */
    uint64_t size; /* leaves appended */
    uint8_t part[AUDIT_TILES_LEVELS][AUDIT_TILES_WIDTH][MERKLE_HASH_BYTES];
    uint8_t *ent;      /* the partial bundle's bytes (owned) */
    size_t entlen;     /* in use */
    size_t entcap;     /* allocated */
    uint64_t flushed;  /* size whose partial tiles are on disk */
    bool check;        /* compare full tiles with the files (at open) */
    uint64_t repaired; /* tiles rewritten by the check */
    bool failed;       /* a write failed: tiles are incomplete until the
                          next open rebuilds them */
    /* The directories last made (a ring): a flush writes the partials
     * of every level and the entries bundle, in different directories,
     * so one remembered directory missed on each of them. */
    char madedir[AUDIT_TILES_DIRS][AUDIT_TILES_PATH];
    unsigned madenext;       /* the ring's next slot */
    uint64_t mkdirs;         /* mkdirat calls made (tests count them) */
    uint64_t mkdirs_existed; /* of them, on a directory already there */
    /* tile-spare/d<K>: removed partial directories, retired[] the
     * numbers K of those waiting (a FIFO from retired_head), src the
     * one being taken from, src_w[0..src_n) the widths (file names)
     * left in it. spare_state 0 until tile-spare/ was made and emptied
     * (at the first removal), 1 then, -1 when that failed (no reuse). */
    uint64_t retired[AUDIT_TILES_RETIRED];
    unsigned nretired, retired_head;
    uint64_t retire_next; /* the next K */
    bool src_open;
    uint64_t src;
    uint16_t src_w[AUDIT_TILES_WIDTH];
    unsigned src_n;
    int spare_state;
    uint64_t created;      /* files created (tests count them) */
    uint64_t unlinked;     /* files removed */
    uint64_t reused;       /* partial files written into a spare */
    uint64_t retired_dirs; /* "<N>.p" directories moved whole */
    uint64_t moved;        /* partial files moved or removed one by one */
    uint64_t new_taken;    /* files taken from tile-new/ (the next one's
                              number; audit_tiles_premake() fills ahead) */
};

/* Initialise `t` for an empty tree in directory `dirfd`, in check mode
 * when `check` (full tiles found on disk are compared, and rewritten
 * when they differ or are missing). Release with audit_tiles_release(). */
void audit_tiles_init(struct audit_tiles *t, int dirfd, bool check) NONNULL(1);

/* Free what `t` holds. */
void audit_tiles_release(struct audit_tiles *t) NONNULL(1);

/*
 * Make the empty files tile-new/ should hold for a writer that has
 * taken `taken` of them, `made` being what an earlier call returned (0
 * at first): numbers from max(taken, made) up to taken +
 * AUDIT_TILES_NEW - 1, in directory `dirfd` (the audit directory; any
 * thread, one at a time). Returns the number after the last one made
 * (or found made); stops early, quietly, on an error (the writer then
 * creates its files itself). `*created` counts the files created.
 */
uint64_t audit_tiles_premake(
    int dirfd, uint64_t taken, uint64_t made, uint64_t *created) NONNULL(4);

/*
 * Initialise `t` for the tree of `size` leaves (a multiple of
 * AUDIT_TILES_WIDTH) from the tiles under `dirfd`, in check mode when
 * `check`, instead of appending its leaves: each level's partial tile
 * is read from its file (the full or a wider one will do), and `fr`
 * gets the tree's frontier, built from those hashes (at most 7 * 255
 * subtrees). The tiles are not trusted: the caller must compare the
 * frontier's root (or a later one, grown from records) with a root it
 * trusts before it relies on either. Returns 0, ERR_INVAL (size not a
 * multiple of the width), ERR_NOTFOUND (a tile is missing or short) or
 * ERR_IO; on failure `t` is as after audit_tiles_init().
 */
int audit_tiles_resume(struct audit_tiles *t, int dirfd, uint64_t size,
    bool check, struct merkle_frontier *fr) WARN_UNUSED NONNULL(1, 5);

/*
 * Append one leaf: its hash and its payload (len <= 1024). Writes every
 * tile and bundle it completes. A write failure sets t->failed (logged
 * once): the records are unaffected.
 */
void audit_tiles_append(struct audit_tiles *t,
    const uint8_t leaf[MERKLE_HASH_BYTES], const uint8_t *payload, size_t len)
    NONNULL(1, 2, 3);

/*
 * Write the partial tiles and bundle of the current size (for a
 * checkpoint of that size), and in check mode (at open) first remove
 * every other partial of the same tiles: wider ones a longer, cut
 * history left, narrower ones that may be stale or altered (readers of
 * an older size read the first hashes of this one or of the full tile).
 * A failure sets t->failed (logged once).
 */
void audit_tiles_flush(struct audit_tiles *t) NONNULL(1);

/* ------------------------------------------------------------- reader */

/* One tile read from disk, cached by the reader. */
struct audit_tiles_cached {
    bool ok;
    uint64_t n;     /* tile index */
    unsigned width; /* hashes read */
    uint8_t h[AUDIT_TILES_WIDTH][MERKLE_HASH_BYTES];
};

/*
 * Reads the tree of `size` leaves from the tiles under `dirfd`. Any
 * thread; one reader per thread. Fields are private to audit_tiles.c.
 */
struct audit_tiles_reader {
    int dirfd;     /* borrowed */
    uint64_t size; /* the tree read */
    struct audit_tiles_cached cache[AUDIT_TILES_LEVELS];
    uint64_t reads;    /* tile files read (for tests: O(log n)) */
    uint8_t *bundle;   /* the last entry bundle read (owned) */
    size_t bundle_len; /* its bytes */
    uint64_t bundle_n; /* its index */
    unsigned bundle_w; /* its width (AUDIT_TILES_WIDTH when full) */
    bool bundle_ok;
};

/* Initialise `r` to read the tree of `size` leaves in `dirfd`; release
 * it with audit_tiles_reader_release(). */
void audit_tiles_reader_init(
    struct audit_tiles_reader *r, int dirfd, uint64_t size) NONNULL(1);

/* Free what `r` holds. */
void audit_tiles_reader_release(struct audit_tiles_reader *r) NONNULL(1);

/*
 * A merkle_subtree_cb over a struct audit_tiles_reader: the hash of the
 * perfect subtree at (level, index) of the reader's tree, from one tile
 * (at most 127 node hashes). Returns 0, ERR_NOTFOUND (the tile is
 * missing or short: tiles are not (yet) written for this size) or
 * ERR_IO.
 */
int audit_tiles_subtree(void *reader, unsigned level, uint64_t index,
    uint8_t out[MERKLE_HASH_BYTES]) WARN_UNUSED NONNULL(1, 4);

/*
 * Read record `index` (< r->size) from its entry bundle into
 * out[0..*len) (cap >= AUDIT_MAX_RECORD_BYTES). The caller checks it
 * against the leaf hash (it is not trusted). Returns 0, ERR_NOTFOUND,
 * ERR_CORRUPT (the bundle does not parse) or ERR_IO.
 */
int audit_tiles_entry(struct audit_tiles_reader *r, uint64_t index,
    uint8_t *out, size_t cap, size_t *len) WARN_UNUSED NONNULL(1, 3, 5);

#endif
