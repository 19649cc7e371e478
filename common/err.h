/*
 * err.h - the project's error codes
 *
 * Every action returns int: 0 on success or a negative ERR_* value.
 * Foreign codes (LMDB, libzmq, msgpack, errno) are translated once, in
 * their wrapper, and never leak past it. err_name() gives the stable
 * lower-case name that goes on the wire as a reply's `code`.
 *
 * Invariants:
 *  - the names are part of the wire protocol: never rename one, only add.
 *
 * See also: DESIGN.md "Events", reply.h (reply format)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_ERR_H
#define COMMON_ERR_H

enum {
    ERR_INVAL = -1,     /* a value is out of range or of the wrong type */
    ERR_MALFORMED = -2, /* bytes that do not decode (msgpack, file format) */
    ERR_TOOBIG = -3,    /* a size cap was exceeded */
    ERR_NOTFOUND = -4,  /* a lookup found nothing */
    ERR_EXISTS = -5,    /* already present */
    ERR_FULL = -6,      /* a store or disk is full */
    ERR_AGAIN = -7,     /* try again (would block, timed out) */
    ERR_IO = -8,        /* an operating-system or library I/O failure */
    ERR_CORRUPT = -9,   /* stored data fails its checks */
    ERR_DENIED = -10,   /* not allowed for this actor or role */
    ERR_SHUTDOWN = -11, /* the process is stopping */
    ERR_AUDIT = -12,    /* the audit record could not be made durable */
    ERR_UNAVAIL = -13,  /* a backend (e.g. the scorer) is not answering */
    ERR_CONFLICT = -14, /* an id already used for something different */
    ERR_BUSY = -15,     /* over its quota or its share: retry later */
};

#define ERR_MIN ERR_BUSY
/* Number of codes, "ok" included: err_name(-i) for i in 0..ERR_COUNT-1. */
#define ERR_COUNT (1 - ERR_MIN)

/*
 * Return a one-line English description of `rc` (0 gives "ok").
 * Returns a static string; never NULL.
 */
const char *err_str(int rc);

/*
 * Return the stable wire name of `rc`: "ok", "invalid", "malformed",
 * "too_big", ... Returns a static string; never NULL.
 */
const char *err_name(int rc);

#endif
