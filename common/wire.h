/*
 * wire.h - the one msgpack layer: a bounded guard, msgpack-c decoding,
 *          strict typed reads, and msgpack_packer encoding into capped bufs
 *
 * Every Vigil protocol (storefront events and replies in sfproto.h, the
 * collector<->scorer frames in ipcproto.h, the query protocol in
 * qproto.h, the internal event form in event.h) is read and written
 * through this file, and wire.c is the only file that calls
 * msgpack_unpack*. Decoding is two steps:
 *
 *  1. wire_scan(), the guard: a byte-level walk that accepts exactly one
 *     complete item, refuses ext types and nesting past the caller's
 *     depth, and checks every declared length and element count against
 *     the bytes actually present. msgpack-c's C API has no such limits
 *     (a 5-byte array header may declare 4 billion elements), so no
 *     bytes reach it unscanned.
 *  2. msgpack_unpack() into a zone the caller keeps across calls (cleared,
 *     not freed, so the steady state allocates nothing); strings and
 *     binaries are not copied: objects point into the caller's bytes.
 *
 * Then the protocol files read the msgpack_object tree with the strict
 * readers below (wire_collect() for maps: string keys only, unknown and
 * repeated keys refused; wire_get_*() for typed values with bounds).
 * Encoding packs with msgpack_packer straight into a struct buf whose
 * cap is enforced; a failed encode leaves the buf as it was.
 *
 * The audit record codec (audit.h) is the one exception: its canonical
 * form (shortest encodings, fixed key order, one valid byte string per
 * record) is something msgpack-c does not guarantee, so it keeps a
 * writer and reader of its own.
 *
 * Invariants:
 *  - an object returned by wire_decode() borrows both the caller's bytes
 *    and the decoder's zone: it dies at the next wire_decode() on the
 *    same decoder, at wire_dec_release(), or when the bytes go.
 *  - a declared count never exceeds the bytes present, so msgpack-c's
 *    zone never allocates more than about 24 bytes per input byte.
 *
 * See also: sfproto.h, ipcproto.h, qproto.h, event.h, reply.h,
 *           https://github.com/msgpack/msgpack/blob/master/spec.md
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_WIRE_H
#define COMMON_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/buf.h"
#include "common/compiler.h"

/* ------------------------------------------------------------ decoding */

/* A decoder: the msgpack-c zone reused by every wire_decode() on it. */
struct wire_dec {
    msgpack_zone zone;
};

/*
 * Prepare a decoder whose zone starts with one chunk of `chunk` bytes
 * (size it for the largest message usually decoded: about 30 bytes per
 * map entry). Release with wire_dec_release(). Never fails.
 */
void wire_dec_init(struct wire_dec *d, size_t chunk) NONNULL(1);

/* Free the decoder's zone; its objects die. */
void wire_dec_release(struct wire_dec *d) NONNULL(1);

/*
 * The guard: check that data[0..len) begins with one complete msgpack
 * item with at most `max_depth` levels of containers (a map of strings
 * is depth 1), no ext type, and every length and count backed by bytes
 * present. `*used` receives the item's length (it may be < len).
 * Returns 0, or ERR_MALFORMED with a static reason in `*why`.
 */
int wire_scan(const void *data, size_t len, unsigned max_depth, size_t *used,
    const char **why) WARN_UNUSED NONNULL(1, 4, 5);

/*
 * Decode exactly one item that fills data[0..len) (the guard, then
 * msgpack-c) into `*out`, clearing `d`'s zone first. `*out` is borrowed
 * (see the invariants). Returns 0, or ERR_MALFORMED with a static reason
 * in `*why` (not msgpack, truncated, trailing bytes, too deep, ext).
 */
int wire_decode(struct wire_dec *d, const void *data, size_t len,
    unsigned max_depth, msgpack_object *out, const char **why) WARN_UNUSED
    NONNULL(1, 5, 6);

/* ------------------------------------------------------- strict reads */

/* True when `o` is the string `s`. */
bool wire_is_str(const msgpack_object *o, const char *s) NONNULL(1, 2);

/* The value of string key `k` in map `m` (the first), or NULL when `m`
 * is NULL or not a map or has no such key. For replies a tool reads
 * leniently; requests go through wire_collect(). */
const msgpack_object *wire_map_get(const msgpack_object *m, const char *k)
    NONNULL(2);

/* The unsigned integer at key `k` of map `m` into *v; false when absent
 * or of another type. */
bool wire_map_uint(const msgpack_object *m, const char *k, uint64_t *v)
    NONNULL(2, 3);

/*
 * Kinds of string a field may hold (wire_get_str):
 *  WIRE_TEXT   UTF-8 without control characters (text.h)
 *  WIRE_TOKEN  [a-z0-9._-]
 *  WIRE_NAME   WIRE_TEXT without bidirectional formatting characters:
 *              for names a person reads (actors, refs)
 */
enum wire_strkind { WIRE_TEXT, WIRE_TOKEN, WIRE_NAME };

/*
 * Copy a string of min..max bytes of `kind` into dst (room for max + 1).
 * Returns 0 or ERR_INVAL (wrong type, length or characters); dst is
 * untouched on failure.
 */
int wire_get_str(const msgpack_object *o, enum wire_strkind kind, size_t min,
    size_t max, char *dst) WARN_UNUSED NONNULL(1, 5);

/* wire_get_str() into a char array, bounded by the array's size. */
#define WIRE_GET_STR(o, kind, min, arr)                                        \
    wire_get_str((o), (kind), (min), sizeof(arr) - 1, (arr))

/* Read an unsigned integer in min..max. Returns 0 or ERR_INVAL. */
int wire_get_uint(const msgpack_object *o, uint64_t min, uint64_t max,
    uint64_t *v) WARN_UNUSED NONNULL(1, 4);

/* Read a boolean. Returns 0 or ERR_INVAL. */
int wire_get_bool(const msgpack_object *o, bool *v) WARN_UNUSED NONNULL(1, 2);

/* Read a float32 or float64 (NaN refused). Returns 0 or ERR_INVAL. */
int wire_get_double(const msgpack_object *o, double *v) WARN_UNUSED
    NONNULL(1, 2);

/* Read a binary of exactly n bytes into dst. Returns 0 or ERR_INVAL. */
int wire_get_bin(const msgpack_object *o, void *dst, size_t n) WARN_UNUSED
    NONNULL(1, 2);

/*
 * One key of a map a protocol reads, with its length precomputed: a
 * table of these is searched for every key of every message, so the
 * lookup compares a length byte before any memcmp. Build entries with
 * WIRE_KEY("name").
 */
struct wire_key {
    const char *name;
    uint8_t len;
};
#define WIRE_KEY(s)                                                            \
    {                                                                          \
        (s), (uint8_t)(sizeof(s) - 1)                                          \
    }

/*
 * Collect the values of map `map` by key into vals[] (indexed like
 * keys[0..n), NULL where absent; vals must be zeroed by the caller).
 * Keys are looked up starting after the previous match, so a map
 * written in table order costs one comparison per key.
 * A non-string key or a repeated key is ERR_MALFORMED, a key not in
 * keys[] is ERR_INVAL; `why` (size `whylen`, may be 0) then says which,
 * as "unknown field '<prefix><key>'" (the key only when it is a short
 * plain name: a hostile key never reaches a message or a log).
 * Returns 0, ERR_INVAL or ERR_MALFORMED (also when `map` is not a map).
 */
int wire_collect(const msgpack_object *map, const struct wire_key *keys,
    unsigned n, const char *prefix, const msgpack_object **vals, char *why,
    size_t whylen) WARN_UNUSED NONNULL(1, 2, 4, 5);

/*
 * Return the index of string `key` in keys[0..n), trying `hint` first,
 * or -1 when it is not there (or not a string).
 */
int wire_key_index(const msgpack_object *key, const struct wire_key *keys,
    unsigned n, unsigned hint) NONNULL(1, 2);

/* ------------------------------------------------------------ encoding */

/*
 * An encoder appending to a capped buf. Fields change only through this
 * API. Packing never fails on the spot: running over the buf's cap sets
 * a sticky flag that wire_enc_end() reports, so one check covers a whole
 * message.
 */
struct wire_enc {
    msgpack_packer pk;
    struct buf *out; /* borrowed */
    size_t start;    /* out->len at wire_enc_begin() */
    bool over;       /* the cap was hit */
};

/* Start encoding at the end of `out` (borrowed until wire_enc_end()). */
void wire_enc_begin(struct wire_enc *e, struct buf *out) NONNULL(1, 2);

/*
 * Finish: returns 0, or ERR_TOOBIG when the cap was hit, in which case
 * `out` is cut back to its length at wire_enc_begin().
 */
int wire_enc_end(struct wire_enc *e) WARN_UNUSED NONNULL(1);

void wire_put_map(struct wire_enc *e, uint32_t n) NONNULL(1);
void wire_put_array(struct wire_enc *e, uint32_t n) NONNULL(1);
void wire_put_uint(struct wire_enc *e, uint64_t v) NONNULL(1);
void wire_put_bool(struct wire_enc *e, bool v) NONNULL(1);
void wire_put_double(struct wire_enc *e, double v) NONNULL(1);
void wire_put_nil(struct wire_enc *e) NONNULL(1);
void wire_put_bin(struct wire_enc *e, const void *p, size_t n) NONNULL(1);
void wire_put_strn(struct wire_enc *e, const char *s, size_t n) NONNULL(1);

/* Pack the NUL-terminated string `s`. */
void wire_put_str(struct wire_enc *e, const char *s) NONNULL(1, 2);

/* Pack a NUL-terminated char array field, never reading past it. */
#define WIRE_PUT_ARR(e, arr)                                                   \
    wire_put_strn((e), (arr), strnlen((arr), sizeof(arr) - 1))

/*
 * A binary whose body is encoded after its header: wire_bin_begin()
 * appends a bin 32 header with a placeholder length to `out` and
 * returns its offset in `*mark`; append the body, then wire_bin_end()
 * writes the length. Used to nest one encoded message inside another
 * without a copy. Returns 0 or ERR_TOOBIG (nothing appended) /
 * ERR_INVAL (the body is over 4 GiB or `mark` is not a header).
 */
int wire_bin_begin(struct buf *out, size_t *mark) WARN_UNUSED NONNULL(1, 2);
int wire_bin_end(struct buf *out, size_t mark) WARN_UNUSED NONNULL(1);

/*
 * Append a msgpack array header for `n` elements to `out` (the start of
 * a frame whose elements are encoded one by one).
 * Returns 0 or ERR_TOOBIG.
 */
int wire_array_header(struct buf *out, uint32_t n) WARN_UNUSED NONNULL(1);

/*
 * For a sender that packs messages one after another into a body buffer
 * and sends them as one array frame of at most `frame_max` bytes
 * (vigil-load, vigil-replay): wire_batch_body_cap() is the body's size,
 * leaving room for the array header of `max_items` when that is over 1
 * (1: lone messages, no array). wire_batch_frame() gives the frame of
 * the `n` items in `body`: the body itself when `single` (a lone
 * message), else `frame` := array header || body. Returns its length
 * and sets `*data` (borrowed from `body` or `frame`); aborts if it does
 * not fit (an invariant, given the body's cap).
 */
size_t wire_batch_body_cap(size_t frame_max, uint32_t max_items);
size_t wire_batch_frame(bool single, uint32_t n, const struct buf *body,
    struct buf *frame, const uint8_t **data) NONNULL(3, 4, 5);

#endif
