/*
 * audit.c - the audit log: record codec, writer, and the one scanner that
 *           both the writer's open and the verifier use
 *
 * The scorer appends records through audit_append()/audit_sync() (one
 * pwrite and one fdatasync per group commit) and signs checkpoints with
 * audit_checkpoint(). vigilctl reads the same files with audit_verify(),
 * audit_replay() and audit_prove_*(), which share one linear scan:
 * checkpoints.log first (signatures, order), then every segment frame by
 * frame (length, CRC32C, strict decode, index), hashing each payload into
 * a Merkle frontier and comparing the root whenever the record count
 * reaches a checkpoint's size. Frames are checked in batches of
 * SCAN_BATCH: found in order, then CRC, decode and leaf hash on two
 * threads (the hashing dominates), then applied in order, so the first
 * failure reported is always the first in the log. The segment files
 * themselves (names, LOCK, pending frames, pwrite + fdatasync, rolling,
 * the torn-tail cut, the read window) are common/segfile.c's.
 *
 * Invariants:
 *  - log->size is the durable record count; after a failed sync neither
 *    the segment (segfile truncates it back) nor the frontier keeps
 *    anything past it.
 *  - log->fr is the frontier of exactly log->size records.
 *  - the scanner in writer mode forgives only a torn tail: an incomplete
 *    or bad frame (length, CRC) in the last segment with at most
 *    AUDIT_MAX_PENDING bytes from it to the end, never below the latest
 *    checkpoint; a record whose CRC holds but whose content is wrong is
 *    always ERR_CORRUPT.
 *
 * Deviation: a strict reader of its own instead of msgpack_unpack* (see
 * audit.h).
 *
 * See also: audit.h (format specification), tools/vigil-audit.5,
 *           segfile.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/segfile.h"
#include "common/xmalloc.h"

#define CKPT_FILE         "checkpoints.log"
#define SIGNER_FILE       "signing.key"
#define VERIFIER_FILE     "verifier.key"
#define READ_WINDOW       (4u * 1024 * 1024) /* bytes read at a time */
#define MIN_SEGMENT       4096u
#define MAX_CKPT_FILE     (256u * 1024 * 1024)
#define SCAN_BATCH        4096 /* frames checked together */
#define SCAN_PARALLEL_MIN 256  /* frames worth a second thread */

/* ------------------------------------------------------------ names */

static const char *const role_names[AUDIT_ROLE_COUNT] = {
    "storefront",
    "analyst",
    "auditor",
    "dpo",
    "admin",
    "system",
};

static const char *const outcome_names[AUDIT_OUTCOME_COUNT] = {
    "allowed",
    "denied",
    "error",
};

static const char *const cat_names[AUDIT_CAT_COUNT] = {
    "device",
    "ip",
    "contact",
    "address",
    "payment",
    "account",
    "order",
    "score",
};

const char *
audit_role_name(enum audit_role role)
{
    if ((unsigned)role >= AUDIT_ROLE_COUNT)
        return NULL;
    return role_names[role];
}

int
audit_role_parse(const char *name, enum audit_role *out)
{
    for (unsigned i = 0; i < AUDIT_ROLE_COUNT; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum audit_role)i;
            return 0;
        }
    }
    return ERR_INVAL;
}

const char *
audit_outcome_name(enum audit_outcome outcome)
{
    if ((unsigned)outcome >= AUDIT_OUTCOME_COUNT)
        return NULL;
    return outcome_names[outcome];
}

int
audit_outcome_parse(const char *name, enum audit_outcome *out)
{
    for (unsigned i = 0; i < AUDIT_OUTCOME_COUNT; i++) {
        if (strcmp(name, outcome_names[i]) == 0) {
            *out = (enum audit_outcome)i;
            return 0;
        }
    }
    return ERR_INVAL;
}

const char *
audit_cat_name(uint32_t cat)
{
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++) {
        if (cat == (1u << i))
            return cat_names[i];
    }
    return NULL;
}

int
audit_cat_parse(const char *name, uint32_t *out)
{
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++) {
        if (strcmp(name, cat_names[i]) == 0) {
            *out = 1u << i;
            return 0;
        }
    }
    return ERR_INVAL;
}

/* ------------------------------------------------------ field checks */

static bool
is_token(const uint8_t *s, size_t n, size_t max)
{
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Valid UTF-8 (no overlong forms, no surrogates) without C0 or DEL. */
static bool
is_text(const uint8_t *s, size_t n, size_t min, size_t max)
{
    size_t i = 0;

    if (n < min || n > max)
        return false;
    while (i < n) {
        uint8_t c = s[i];
        uint32_t cp;
        size_t k;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

int
audit_record_check(const struct audit_record *r)
{
    size_t n;

    n = strnlen(r->actor, sizeof(r->actor));
    if (n == sizeof(r->actor) ||
        !is_text((const uint8_t *)r->actor, n, 1, AUDIT_MAX_ACTOR))
        return ERR_INVAL;
    if ((unsigned)r->role >= AUDIT_ROLE_COUNT)
        return ERR_INVAL;
    n = strnlen(r->op, sizeof(r->op));
    if (n == sizeof(r->op) ||
        !is_token((const uint8_t *)r->op, n, AUDIT_MAX_OP))
        return ERR_INVAL;
    if ((r->cats & ~AUDIT_CAT_ALL) != 0)
        return ERR_INVAL;
    if (r->nsubj > AUDIT_MAX_SUBJECTS)
        return ERR_INVAL;
    n = strnlen(r->purpose, sizeof(r->purpose));
    if (n == sizeof(r->purpose) ||
        !is_token((const uint8_t *)r->purpose, n, AUDIT_MAX_PURPOSE))
        return ERR_INVAL;
    if ((unsigned)r->outcome >= AUDIT_OUTCOME_COUNT)
        return ERR_INVAL;
    n = strnlen(r->ref, sizeof(r->ref));
    if (n == sizeof(r->ref) ||
        !is_text((const uint8_t *)r->ref, n, 0, AUDIT_MAX_REF))
        return ERR_INVAL;
    return 0;
}

/* ----------------------------------------------------------- encode */

struct wcur {
    uint8_t *p;
    size_t cap;
    size_t len;
    bool over;
};

static void
w_bytes(struct wcur *w, const void *p, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, p, n);
    w->len += n;
}

static void
w_byte(struct wcur *w, uint8_t b)
{
    w_bytes(w, &b, 1);
}

static void
w_uint(struct wcur *w, uint64_t v)
{
    uint8_t b[9];
    size_t n;

    if (v < 0x80) {
        b[0] = (uint8_t)v;
        n = 1;
    } else if (v <= UINT8_MAX) {
        b[0] = 0xcc;
        b[1] = (uint8_t)v;
        n = 2;
    } else if (v <= UINT16_MAX) {
        b[0] = 0xcd;
        n = 3;
    } else if (v <= UINT32_MAX) {
        b[0] = 0xce;
        n = 5;
    } else {
        b[0] = 0xcf;
        n = 9;
    }
    for (size_t i = 1; n > 2 && i < n; i++)
        b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    w_bytes(w, b, n);
}

static void
w_str(struct wcur *w, const char *s, size_t n)
{
    if (n <= 31) {
        w_byte(w, (uint8_t)(0xa0 | n));
    } else {
        w_byte(w, 0xd9);
        w_byte(w, (uint8_t)n);
    }
    w_bytes(w, s, n);
}

static void
w_key(struct wcur *w, const char *k)
{
    w_str(w, k, strlen(k));
}

static void
w_array(struct wcur *w, unsigned n)
{
    if (n <= 15) {
        w_byte(w, (uint8_t)(0x90 | n));
    } else {
        w_byte(w, 0xdc);
        w_byte(w, (uint8_t)(n >> 8));
        w_byte(w, (uint8_t)n);
    }
}

int
audit_record_encode(
    const struct audit_record *r, uint8_t *out, size_t cap, size_t *outlen)
{
    struct wcur w = { out, cap, 0, false };
    unsigned ncats = 0;
    int rc;

    rc = audit_record_check(r);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++)
        ncats += (r->cats >> i) & 1u;

    w_byte(&w, 0x8b);
    w_key(&w, "v");
    w_uint(&w, AUDIT_VERSION);
    w_key(&w, "i");
    w_uint(&w, r->index);
    w_key(&w, "ts");
    w_uint(&w, r->ts_ms);
    w_key(&w, "actor");
    w_str(&w, r->actor, strlen(r->actor));
    w_key(&w, "role");
    w_key(&w, role_names[r->role]);
    w_key(&w, "op");
    w_str(&w, r->op, strlen(r->op));
    w_key(&w, "cats");
    w_array(&w, ncats);
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++) {
        if (r->cats & (1u << i))
            w_key(&w, cat_names[i]);
    }
    w_key(&w, "subj");
    w_array(&w, r->nsubj);
    for (unsigned i = 0; i < r->nsubj; i++) {
        w_byte(&w, 0xc4);
        w_byte(&w, AUDIT_SUBJECT_BYTES);
        w_bytes(&w, r->subj[i], AUDIT_SUBJECT_BYTES);
    }
    w_key(&w, "purpose");
    w_str(&w, r->purpose, strlen(r->purpose));
    w_key(&w, "outcome");
    w_key(&w, outcome_names[r->outcome]);
    w_key(&w, "ref");
    w_str(&w, r->ref, strlen(r->ref));
    if (w.over)
        return ERR_TOOBIG;
    *outlen = w.len;
    return 0;
}

/* ----------------------------------------------------------- decode */

struct rcur {
    const uint8_t *p;
    const uint8_t *end;
    const char *why;
};

static bool
r_fail(struct rcur *c, const char *why)
{
    if (c->why == NULL)
        c->why = why;
    return false;
}

static bool
r_uint(struct rcur *c, uint64_t *v, const char *what)
{
    size_t n;
    uint64_t x = 0;
    uint8_t t;

    if (c->p >= c->end)
        return r_fail(c, "payload ends inside a field");
    t = *c->p++;
    if (t < 0x80) {
        *v = t;
        return true;
    }
    switch (t) {
    case 0xcc:
        n = 1;
        break;
    case 0xcd:
        n = 2;
        break;
    case 0xce:
        n = 4;
        break;
    case 0xcf:
        n = 8;
        break;
    default:
        return r_fail(c, what);
    }
    if ((size_t)(c->end - c->p) < n)
        return r_fail(c, "payload ends inside a field");
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | *c->p++;
    /* Shortest form only: each width must be needed. */
    if ((n == 1 && x < 0x80) || (n == 2 && x <= UINT8_MAX) ||
        (n == 4 && x <= UINT16_MAX) || (n == 8 && x <= UINT32_MAX))
        return r_fail(c, "integer not in its shortest encoding");
    *v = x;
    return true;
}

static bool
r_str(struct rcur *c, const uint8_t **s, size_t *n, const char *what)
{
    uint8_t t;
    size_t len;

    if (c->p >= c->end)
        return r_fail(c, "payload ends inside a field");
    t = *c->p++;
    if ((t & 0xe0) == 0xa0) {
        len = t & 0x1f;
    } else if (t == 0xd9) {
        if (c->p >= c->end)
            return r_fail(c, "payload ends inside a field");
        len = *c->p++;
        if (len <= 31)
            return r_fail(c, "string not in its shortest encoding");
    } else {
        return r_fail(c, what);
    }
    if ((size_t)(c->end - c->p) < len)
        return r_fail(c, "payload ends inside a string");
    *s = c->p;
    *n = len;
    c->p += len;
    return true;
}

static bool
r_key(struct rcur *c, const char *key, const char *why)
{
    const uint8_t *s;
    size_t n;

    if (!r_str(c, &s, &n, why))
        return r_fail(c, why);
    if (n != strlen(key) || memcmp(s, key, n) != 0)
        return r_fail(c, why);
    return true;
}

static bool
r_array(struct rcur *c, unsigned *n, const char *what)
{
    uint8_t t;

    if (c->p >= c->end)
        return r_fail(c, "payload ends inside a field");
    t = *c->p++;
    if ((t & 0xf0) == 0x90) {
        *n = t & 0x0f;
        return true;
    }
    if (t != 0xdc)
        return r_fail(c, what);
    if (c->end - c->p < 2)
        return r_fail(c, "payload ends inside a field");
    *n = ((unsigned)c->p[0] << 8) | c->p[1];
    c->p += 2;
    if (*n <= 15)
        return r_fail(c, "array not in its shortest encoding");
    return true;
}

static bool
r_text(struct rcur *c, char *dst, size_t min, size_t max, bool token,
    const char *what)
{
    const uint8_t *s;
    size_t n;
    bool ok;

    if (!r_str(c, &s, &n, what))
        return false;
    ok = token ? is_token(s, n, max) : is_text(s, n, min, max);
    if (!ok)
        return r_fail(c, what);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool
r_enum(struct rcur *c, const char *const *names, unsigned count, unsigned *out,
    const char *what)
{
    const uint8_t *s;
    size_t n;

    if (!r_str(c, &s, &n, what))
        return false;
    for (unsigned i = 0; i < count; i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
            *out = i;
            return true;
        }
    }
    return r_fail(c, what);
}

static bool
decode(struct rcur *c, struct audit_record *r)
{
    uint64_t v;
    unsigned n, k, last;

    if (c->p >= c->end || *c->p != 0x8b)
        return r_fail(c, "not a map of 11 entries");
    c->p++;
    if (!r_key(c, "v", "key 1 is not \"v\"") ||
        !r_uint(c, &v, "\"v\" is not an unsigned integer"))
        return false;
    if (v != AUDIT_VERSION)
        return r_fail(c, "unknown record version");
    if (!r_key(c, "i", "key 2 is not \"i\"") ||
        !r_uint(c, &r->index, "\"i\" is not an unsigned integer") ||
        !r_key(c, "ts", "key 3 is not \"ts\"") ||
        !r_uint(c, &r->ts_ms, "\"ts\" is not an unsigned integer") ||
        !r_key(c, "actor", "key 4 is not \"actor\"") ||
        !r_text(c, r->actor, 1, AUDIT_MAX_ACTOR, false,
            "bad \"actor\" (1..128 bytes of UTF-8 text)") ||
        !r_key(c, "role", "key 5 is not \"role\"") ||
        !r_enum(c, role_names, AUDIT_ROLE_COUNT, &k, "unknown \"role\""))
        return false;
    r->role = (enum audit_role)k;
    if (!r_key(c, "op", "key 6 is not \"op\"") ||
        !r_text(c, r->op, 1, AUDIT_MAX_OP, true,
            "bad \"op\" (1..64 of [a-z0-9._-])") ||
        !r_key(c, "cats", "key 7 is not \"cats\"") ||
        !r_array(c, &n, "\"cats\" is not an array"))
        return false;
    if (n > AUDIT_CAT_COUNT)
        return r_fail(c, "too many \"cats\"");
    r->cats = 0;
    last = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!r_enum(c, cat_names, AUDIT_CAT_COUNT, &k,
                "unknown data category in \"cats\""))
            return false;
        if (i > 0 && k <= last)
            return r_fail(c, "\"cats\" out of order or repeated");
        last = k;
        r->cats |= 1u << k;
    }
    if (!r_key(c, "subj", "key 8 is not \"subj\"") ||
        !r_array(c, &n, "\"subj\" is not an array"))
        return false;
    if (n > AUDIT_MAX_SUBJECTS)
        return r_fail(c, "more than 16 subjects");
    r->nsubj = n;
    for (unsigned i = 0; i < n; i++) {
        if (c->end - c->p < 2 + AUDIT_SUBJECT_BYTES)
            return r_fail(c, "payload ends inside \"subj\"");
        if (c->p[0] != 0xc4 || c->p[1] != AUDIT_SUBJECT_BYTES)
            return r_fail(c, "a subject is not a 16-byte binary");
        memcpy(r->subj[i], c->p + 2, AUDIT_SUBJECT_BYTES);
        c->p += 2 + AUDIT_SUBJECT_BYTES;
    }
    if (!r_key(c, "purpose", "key 9 is not \"purpose\"") ||
        !r_text(c, r->purpose, 1, AUDIT_MAX_PURPOSE, true,
            "bad \"purpose\" (1..64 of [a-z0-9._-])") ||
        !r_key(c, "outcome", "key 10 is not \"outcome\"") ||
        !r_enum(
            c, outcome_names, AUDIT_OUTCOME_COUNT, &k, "unknown \"outcome\""))
        return false;
    r->outcome = (enum audit_outcome)k;
    if (!r_key(c, "ref", "key 11 is not \"ref\"") ||
        !r_text(c, r->ref, 0, AUDIT_MAX_REF, false,
            "bad \"ref\" (0..128 bytes of UTF-8 text)"))
        return false;
    if (c->p != c->end)
        return r_fail(c, "bytes after the record map");
    return true;
}

int
audit_record_decode(
    const uint8_t *p, size_t len, struct audit_record *r, const char **why)
{
    struct rcur c = { p, p + len, NULL };

    if (len > AUDIT_MAX_RECORD_BYTES) {
        if (why != NULL)
            *why = "record longer than 1024 bytes";
        return ERR_MALFORMED;
    }
    if (!decode(&c, r)) {
        if (why != NULL)
            *why = c.why != NULL ? c.why : "malformed record";
        return ERR_MALFORMED;
    }
    return 0;
}

/* ---------------------------------------------------------- helpers */

static void
put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t
get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
        ((uint32_t)p[3] << 24);
}

/* The whole length of the frame whose header is at `hdr`, or 0. */
static size_t
frame_len(const uint8_t *hdr)
{
    uint32_t len = get_le32(hdr);

    if (len == 0 || len > AUDIT_MAX_RECORD_BYTES)
        return 0;
    return AUDIT_FRAME_BYTES + (size_t)len;
}

/* records-<N>.log (format section 2). */
static const struct segfile_format seg_format = {
    .prefix = "records-",
    .suffix = ".log",
    .mode = 0640,
    .header_bytes = AUDIT_FRAME_BYTES,
    .max_frame = AUDIT_FRAME_BYTES + AUDIT_MAX_RECORD_BYTES,
    .frame_len = frame_len,
    .max_pending = AUDIT_MAX_PENDING,
    /* The verifier reads what it can name and ignores other files. */
    .reject_unknown = false,
    /* A failed sync may succeed later (disk space returns). */
    .sync_error_sticks = false,
};

static void
strip_newline(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int
audit_read_verifier_key(const char *dir, char *out, size_t cap)
{
    char *p = NULL;
    size_t len;
    int dirfd, rc;

    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd == -1)
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    rc = fileio_read_small(dirfd, VERIFIER_FILE, NOTE_MAX_KEY, &p, &len);
    close(dirfd);
    if (rc != 0)
        return rc;
    strip_newline(p);
    if (strlen(p) + 1 > cap) {
        free(p);
        return ERR_TOOBIG;
    }
    memcpy(out, p, strlen(p) + 1);
    free(p);
    return 0;
}

/* Open a checkpoint note with the parsed verifier `v`. */
static int
ckpt_open(const struct note_verifier *v, const uint8_t *note, size_t note_len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why)
{
    size_t text_len;
    int rc;

    rc = note_open((const char *)note, note_len, v, 1, &text_len, NULL);
    if (rc == ERR_NOTFOUND) {
        *why = "not signed by the verifier key (another key, or no "
               "signature)";
        return ERR_CORRUPT;
    }
    if (rc != 0) {
        *why = "signature does not verify with the verifier key, or the "
               "note is malformed";
        return ERR_CORRUPT;
    }
    rc = note_checkpoint_parse(
        (const char *)note, text_len, origin, AUDIT_MAX_ORIGIN + 1, size, root);
    if (rc != 0) {
        *why = "the signed text is not a well-formed checkpoint";
        return ERR_CORRUPT;
    }
    if (strcmp(origin, v->name) != 0) {
        *why = "the checkpoint's origin differs from the key name";
        return ERR_CORRUPT;
    }
    return 0;
}

int
audit_checkpoint_open(const char *key, const uint8_t *note, size_t note_len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    uint8_t root[MERKLE_HASH_BYTES], const char **why)
{
    struct note_verifier v;
    const char *w = NULL;
    int rc;

    rc = note_verifier_parse(key, &v);
    if (rc != 0) {
        w = "the verifier key is not a valid key string";
        rc = ERR_INVAL;
    } else {
        rc = ckpt_open(&v, note, note_len, origin, size, root, &w);
    }
    if (why != NULL)
        *why = w;
    return rc;
}

/* ---------------------------------------------------------- scanner */

struct ckpt {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
    uint64_t off;    /* frame offset in checkpoints.log */
    size_t note_off; /* note bytes within scan.ckbuf */
    size_t note_len;
};

struct batch_item;

struct scan {
    int dirfd;
    bool writer; /* forgive torn tails (see top) */
    struct note_verifier v;
    struct audit_verify_result *res;
    /* Replay and proofs. */
    const struct audit_filter *filter;
    audit_replay_cb cb;
    void *arg;
    int cbrc;
    struct merkle_levels *levels; /* NULL unless proving */
    /* Checkpoints. */
    uint8_t *ckbuf;
    size_t cklen;
    struct ckpt *ck;
    size_t nck;
    size_t ck_next;   /* next checkpoint to match */
    uint64_t ck_keep; /* writer: bytes of whole frames */
    /* Records. */
    struct merkle_frontier fr;
    uint64_t count;
    uint64_t *segs;
    size_t nsegs;
    struct segfile_reader rd;  /* reads each segment in turn */
    struct batch_item *items;  /* SCAN_BATCH frames */
    struct audit_record *recs; /* their decoded records */
    /* Writer: where the last segment's torn tail starts. */
    bool torn;
    uint64_t torn_off;
    uint64_t last_len; /* length of the last segment */
};

static int scan_fail(struct scan *s, uint64_t record, uint64_t ckpt,
    const char *file, uint64_t off, const char *fmt, ...) PRINTF_LIKE(6, 7);

static int
scan_fail(struct scan *s, uint64_t record, uint64_t ckpt, const char *file,
    uint64_t off, const char *fmt, ...)
{
    struct audit_verify_result *res = s->res;
    va_list ap;

    res->ok = false;
    res->records = s->count;
    res->bad_record = record;
    res->bad_record_end = record == UINT64_MAX ? UINT64_MAX : record + 1;
    res->bad_checkpoint = ckpt;
    snprintf(res->file, sizeof(res->file), "%s", file);
    res->offset = off;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
    return ERR_CORRUPT;
}

static int env_fail(struct scan *s, int rc, const char *fmt, ...)
    PRINTF_LIKE(3, 4);

static int
env_fail(struct scan *s, int rc, const char *fmt, ...)
{
    va_list ap;

    s->res->ok = false;
    s->res->records = s->count;
    va_start(ap, fmt);
    vsnprintf(s->res->reason, sizeof(s->res->reason), fmt, ap);
    va_end(ap);
    return rc;
}

/* Read checkpoints.log: framing, signatures, origin, increasing sizes. */
static int
scan_checkpoints(struct scan *s)
{
    size_t off = 0, cap = 0;
    char *p = NULL;
    int rc;

    rc = fileio_read_small(s->dirfd, CKPT_FILE, MAX_CKPT_FILE, &p, &s->cklen);
    if (rc == ERR_NOTFOUND) {
        s->cklen = 0;
        return 0;
    }
    if (rc != 0)
        return env_fail(s, rc == ERR_TOOBIG ? ERR_CORRUPT : rc,
            "cannot read '%s': %s", CKPT_FILE, err_str(rc));
    s->ckbuf = (uint8_t *)p;
    while (off < s->cklen) {
        uint64_t n = s->nck;
        char origin[AUDIT_MAX_ORIGIN + 1];
        struct ckpt c;
        const char *why;
        uint32_t len;

        if (s->cklen - off < 4 || (len = get_le32(s->ckbuf + off)) == 0 ||
            len > AUDIT_MAX_NOTE_BYTES || s->cklen - off - 4 < len) {
            if (s->writer && s->cklen - off <= 4 + AUDIT_MAX_NOTE_BYTES) {
                s->ck_keep = off; /* torn last frame: cut it */
                return 0;
            }
            if (s->cklen - off < 4)
                return scan_fail(s, UINT64_MAX, n, CKPT_FILE, off,
                    "checkpoint %" PRIu64 ": truncated frame header "
                    "(%zu bytes left)",
                    n, s->cklen - off);
            len = get_le32(s->ckbuf + off);
            if (len == 0 || len > AUDIT_MAX_NOTE_BYTES)
                return scan_fail(s, UINT64_MAX, n, CKPT_FILE, off,
                    "checkpoint %" PRIu64 ": bad frame length %" PRIu32, n,
                    len);
            return scan_fail(s, UINT64_MAX, n, CKPT_FILE, off,
                "checkpoint %" PRIu64 ": truncated note (%zu of %" PRIu32
                " bytes)",
                n, s->cklen - off - 4, len);
        }
        c.off = off;
        c.note_off = off + 4;
        c.note_len = len;
        rc = ckpt_open(
            &s->v, s->ckbuf + c.note_off, len, origin, &c.size, c.root, &why);
        if (rc != 0)
            return scan_fail(s, UINT64_MAX, n, CKPT_FILE, off,
                "checkpoint %" PRIu64 ": %s", n, why);
        if (n > 0 && c.size <= s->ck[n - 1].size)
            return scan_fail(s, UINT64_MAX, n, CKPT_FILE, off,
                "checkpoint %" PRIu64 ": size %" PRIu64 " does not "
                "increase (previous %" PRIu64 ")",
                n, c.size, s->ck[n - 1].size);
        if (s->nck == cap) {
            cap = cap ? 2 * cap : 16;
            s->ck = xreallocarray(s->ck, cap, sizeof(*s->ck));
        }
        s->ck[s->nck++] = c;
        off += 4 + (size_t)len;
        s->ck_keep = off;
    }
    return 0;
}

/* List the segment files, sorted by first index. */
static int
scan_list(struct scan *s)
{
    if (segfile_list(s->dirfd, &seg_format, &s->segs, &s->nsegs) != 0)
        return env_fail(
            s, ERR_IO, "cannot list the directory: %s", strerror(errno));
    return 0;
}

/* Compare the running root with every checkpoint of size s->count. */
static int
scan_match(struct scan *s)
{
    while (s->ck_next < s->nck && s->ck[s->ck_next].size == s->count) {
        const struct ckpt *c = &s->ck[s->ck_next];
        uint64_t prev = s->ck_next > 0 ? s->ck[s->ck_next - 1].size : 0;
        uint8_t root[MERKLE_HASH_BYTES];

        merkle_frontier_root(&s->fr, root);
        if (sodium_memcmp(root, c->root, sizeof(root)) != 0) {
            int rc = scan_fail(s, prev, s->ck_next, CKPT_FILE, c->off,
                "checkpoint %zu (size %" PRIu64 "): the root of records "
                "0..%" PRIu64 " differs from the signed root: a record in "
                "%" PRIu64 "..%" PRIu64 " was altered (with a matching "
                "CRC), inserted or removed",
                s->ck_next, c->size, c->size - 1, prev, c->size - 1);

            s->res->bad_record_end = c->size;
            return rc;
        }
        s->res->checkpoints++;
        s->res->checkpoint_size = c->size;
        s->ck_next++;
    }
    return 0;
}

/* A frame that a torn write could have left; forgiven in writer mode at
 * the end of the last segment. */
static int scan_torn(struct scan *s, bool last, uint64_t fsize,
    const char *file, uint64_t off, const char *fmt, ...) PRINTF_LIKE(6, 7);

static int
scan_torn(struct scan *s, bool last, uint64_t fsize, const char *file,
    uint64_t off, const char *fmt, ...)
{
    char reason[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (s->writer && last && fsize - off <= AUDIT_MAX_PENDING) {
        s->torn = true;
        s->torn_off = off;
        snprintf(s->res->reason, sizeof(s->res->reason), "%s", reason);
        return 0;
    }
    return scan_fail(s, s->count, UINT64_MAX, file, off,
        "record %" PRIu64 ": %s", s->count, reason);
}

static bool
filter_match(const struct audit_filter *f, const struct audit_record *r)
{
    if (f == NULL)
        return true;
    if (r->ts_ms < f->from_ms || (f->to_ms != 0 && r->ts_ms >= f->to_ms))
        return false;
    if (f->actor != NULL && strcmp(f->actor, r->actor) != 0)
        return false;
    if (f->purpose != NULL && strcmp(f->purpose, r->purpose) != 0)
        return false;
    if (f->has_subject) {
        for (unsigned i = 0; i < r->nsubj; i++) {
            if (memcmp(r->subj[i], f->subject, AUDIT_SUBJECT_BYTES) == 0)
                return true;
        }
        return false;
    }
    return true;
}

/* One frame of a batch: found sequentially, checked in parallel. */
struct batch_item {
    uint64_t off;           /* frame offset in the segment */
    const uint8_t *payload; /* into scan.buf */
    uint32_t len;
    uint32_t crc;     /* stored */
    uint32_t crc_got; /* computed */
    const char *why;  /* decode failure, or NULL */
    uint8_t leaf[MERKLE_HASH_BYTES];
};

struct batch_job {
    struct batch_item *it;
    struct audit_record *rec;
    size_t from;
    size_t to;
};

/* Check CRC, decode and hash items [from, to): no shared state. */
static void *
batch_work(void *arg)
{
    struct batch_job *j = arg;

    for (size_t i = j->from; i < j->to; i++) {
        struct batch_item *e = &j->it[i];

        e->why = NULL;
        e->crc_got = crc32c(0, e->payload, e->len);
        if (e->crc_got != e->crc)
            continue;
        if (audit_record_decode(e->payload, e->len, &j->rec[i], &e->why) != 0)
            continue;
        merkle_leaf_hash(e->payload, e->len, e->leaf);
    }
    return NULL;
}

/* Check a batch on two threads when it is worth it. */
static void
batch_check(struct batch_item *it, struct audit_record *rec, size_t n)
{
    struct batch_job a = { it, rec, 0, n / 2 }, b = { it, rec, n / 2, n };
    pthread_t t;

    if (n < SCAN_PARALLEL_MIN ||
        pthread_create(&t, NULL, batch_work, &b) != 0) {
        a.to = n;
        batch_work(&a);
        return;
    }
    batch_work(&a);
    pthread_join(t, NULL);
}

/* Walk, check and apply the frames of one segment, in batches. */
static int
scan_segment(struct scan *s, size_t i, struct audit_proof *want)
{
    char name[SEGFILE_NAME_MAX];
    bool last = i + 1 == s->nsegs, done = false;
    struct segfile_frame f;
    uint64_t fsize;
    int fd, rc = 0;

    segfile_name(&seg_format, s->segs[i], name);
    if (s->segs[i] != s->count)
        return scan_fail(s, s->count, UINT64_MAX, name, 0,
            "record %" PRIu64 ": segment '%s' starts at index %" PRIu64
            " but %" PRIu64 " records precede it (a segment is missing "
            "or extra)",
            s->count, name, s->segs[i], s->count);
    if (segfile_open_segment(s->dirfd, &seg_format, s->segs[i], &fd, &fsize) !=
        0)
        return env_fail(
            s, ERR_IO, "cannot open '%s': %s", name, strerror(errno));
    s->last_len = fsize;
    s->res->segments++;
    if (fsize == 0 && !last) {
        rc = scan_fail(s, s->count, UINT64_MAX, name, 0,
            "record %" PRIu64 ": segment '%s' is empty but is not the "
            "last one",
            s->count, name);
        goto out;
    }
    segfile_reader_start(&s->rd, fd, fsize);
    while (!done) {
        size_t n = 0;

        /* 1. Find whole frames in the window (read only when none is). */
        while (n < SCAN_BATCH) {
            struct batch_item *e;

            if (segfile_reader_next(&s->rd, n == 0, &f) != 0) {
                rc = env_fail(
                    s, ERR_IO, "cannot read '%s': %s", name, strerror(errno));
                goto out;
            }
            if (f.kind != SEGFILE_FRAME_WHOLE)
                break;
            e = &s->items[n++];
            e->off = f.off;
            e->payload = f.p + AUDIT_FRAME_BYTES;
            e->len = (uint32_t)(f.len - AUDIT_FRAME_BYTES);
            e->crc = get_le32(f.p + 4);
        }

        /* 2. CRC, strict decode and leaf hash, in parallel. */
        batch_check(s->items, s->recs, n);

        /* 3. In order: report the first failure, or apply the record. */
        for (size_t k = 0; k < n; k++) {
            const struct batch_item *e = &s->items[k];
            const struct audit_record *rec = &s->recs[k];

            if (e->crc_got != e->crc) {
                rc = scan_torn(s, last, fsize, name, e->off,
                    "CRC mismatch "
                    "(stored %08" PRIx32 ", computed %08" PRIx32 ")",
                    e->crc, e->crc_got);
                goto out;
            }
            if (e->why != NULL) {
                rc = scan_fail(s, s->count, UINT64_MAX, name, e->off,
                    "record %" PRIu64 ": malformed: %s", s->count, e->why);
                goto out;
            }
            if (rec->index != s->count) {
                rc = scan_fail(s, s->count, UINT64_MAX, name, e->off,
                    "record %" PRIu64 ": its index field says %" PRIu64
                    " (a record is missing, repeated or out of order)",
                    s->count, rec->index);
                goto out;
            }
            merkle_frontier_append(&s->fr, e->leaf);
            if (s->levels != NULL)
                merkle_levels_append(s->levels, e->leaf);
            if (want != NULL && want->index == s->count) {
                memcpy(want->raw, e->payload, e->len);
                want->raw_len = e->len;
            }
            if (s->cb != NULL && filter_match(s->filter, rec)) {
                struct audit_entry en;

                en.rec = rec;
                en.raw = e->payload;
                en.raw_len = e->len;
                memcpy(en.leaf_hash, e->leaf, sizeof(en.leaf_hash));
                en.file = name;
                en.offset = e->off;
                s->cbrc = s->cb(s->arg, &en);
                if (s->cbrc != 0) {
                    rc = s->cbrc;
                    goto out;
                }
            }
            s->count++;
            rc = scan_match(s);
            if (rc != 0)
                goto out;
        }

        /* 4. A frame that cannot be whole ends the segment. */
        switch (f.kind) {
        case SEGFILE_FRAME_TORN_HEADER:
            rc = scan_torn(s, last, fsize, name, f.off,
                "truncated "
                "frame header (the file ends %zu bytes into it)",
                f.avail);
            goto out;
        case SEGFILE_FRAME_BAD_HEADER:
            rc = scan_torn(s, last, fsize, name, f.off,
                "bad frame "
                "length %" PRIu32 " (must be 1..%d)",
                get_le32(f.p), AUDIT_MAX_RECORD_BYTES);
            goto out;
        case SEGFILE_FRAME_TORN:
            rc = scan_torn(s, last, fsize, name, f.off,
                "truncated "
                "record (the file ends after %zu of its %zu"
                " payload bytes)",
                f.avail - AUDIT_FRAME_BYTES, f.len - AUDIT_FRAME_BYTES);
            goto out;
        case SEGFILE_FRAME_END:
            done = true;
            break;
        case SEGFILE_FRAME_WHOLE:
        case SEGFILE_FRAME_AGAIN:
            break;
        }
    }
out:
    close(fd);
    return rc;
}

static void
scan_release(struct scan *s)
{
    free(s->ckbuf);
    free(s->ck);
    free(s->segs);
    segfile_reader_release(&s->rd);
    free(s->items);
    free(s->recs);
    memset(s, 0, sizeof(*s));
}

/* The whole pass: checkpoints, then segments, then the truncation check. */
static int
scan_run(struct scan *s, struct audit_proof *want)
{
    int rc;

    merkle_frontier_init(&s->fr);
    s->res->ok = true;
    s->res->bad_record = UINT64_MAX;
    s->res->bad_record_end = UINT64_MAX;
    s->res->bad_checkpoint = UINT64_MAX;
    rc = scan_checkpoints(s);
    if (rc != 0)
        return rc;
    rc = scan_list(s);
    if (rc != 0)
        return rc;
    segfile_reader_init(&s->rd, &seg_format, READ_WINDOW);
    s->items = xcalloc(SCAN_BATCH, sizeof(*s->items));
    s->recs = xcalloc(SCAN_BATCH, sizeof(*s->recs));
    rc = scan_match(s);
    for (size_t i = 0; rc == 0 && i < s->nsegs && !s->torn; i++)
        rc = scan_segment(s, i, want);
    if (rc != 0)
        return rc;
    s->res->records = s->count;
    merkle_frontier_root(&s->fr, s->res->root);
    if (s->nck > 0) {
        const struct ckpt *c = &s->ck[s->nck - 1];

        memcpy(s->res->note, s->ckbuf + c->note_off, c->note_len);
        s->res->note[c->note_len] = '\0';
        s->res->note_len = c->note_len;
    }
    if (s->ck_next < s->nck) {
        char name[SEGFILE_NAME_MAX] = "";

        if (s->nsegs > 0)
            segfile_name(&seg_format, s->segs[s->nsegs - 1], name);
        return scan_fail(s, s->count, s->ck_next, name,
            s->torn ? s->torn_off : s->last_len,
            "log truncated: checkpoint %zu covers %" PRIu64 " records, "
            "only %" PRIu64 " present",
            s->ck_next, s->ck[s->ck_next].size, s->count);
    }
    return 0;
}

/* Set up a read-only scan of `dir` with `key` (or dir/verifier.key). */
static int
scan_open(struct scan *s, const char *dir, const char *key,
    struct audit_verify_result *res)
{
    int rc;

    memset(res, 0, sizeof(*res));
    memset(s, 0, sizeof(*s));
    s->res = res;
    s->dirfd = -1;
    res->ok = false;
    res->bad_record = UINT64_MAX;
    res->bad_record_end = UINT64_MAX;
    res->bad_checkpoint = UINT64_MAX;
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd == -1)
        return env_fail(
            s, ERR_IO, "cannot open directory '%s': %s", dir, strerror(errno));
    if (key == NULL) {
        rc = audit_read_verifier_key(dir, res->key, sizeof(res->key));
        if (rc != 0)
            return env_fail(s, rc == ERR_NOTFOUND ? ERR_IO : rc,
                "cannot read '%s/%s': %s", dir, VERIFIER_FILE, err_str(rc));
        res->key_from_dir = true;
    } else {
        snprintf(res->key, sizeof(res->key), "%s", key);
        strip_newline(res->key);
    }
    rc = note_verifier_parse(res->key, &s->v);
    if (rc != 0)
        return env_fail(s, ERR_INVAL,
            "the verifier key is not a valid "
            "key string (<name>+<8 hex>+<base64>)");
    return 0;
}

static void
scan_close(struct scan *s)
{
    if (s->dirfd != -1)
        close(s->dirfd);
    scan_release(s);
}

int
audit_replay(const char *dir, const char *key,
    const struct audit_filter *filter, audit_replay_cb cb, void *arg,
    struct audit_verify_result *res)
{
    struct scan s;
    int rc;

    rc = scan_open(&s, dir, key, res);
    if (rc == 0) {
        s.filter = filter;
        s.cb = cb;
        s.arg = arg;
        rc = scan_run(&s, NULL);
    }
    scan_close(&s);
    return rc;
}

int
audit_verify(const char *dir, const char *key, struct audit_verify_result *res)
{
    struct scan s;
    int rc;

    rc = scan_open(&s, dir, key, res);
    if (rc == 0)
        rc = scan_run(&s, NULL);
    scan_close(&s);
    return rc;
}

/* Copy the note of the checkpoint of `size`, if there is one. */
static void
note_of_size(const struct scan *s, uint64_t size, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; i < s->nck; i++) {
        if (s->ck[i].size == size) {
            memcpy(out, s->ckbuf + s->ck[i].note_off, s->ck[i].note_len);
            out[s->ck[i].note_len] = '\0';
        }
    }
}

int
audit_prove_inclusion(const char *dir, const char *key, uint64_t index,
    uint64_t size, struct audit_proof *proof, struct audit_verify_result *res)
{
    struct merkle_levels lv;
    struct scan s;
    int rc;

    memset(proof, 0, sizeof(*proof));
    proof->index = index;
    merkle_levels_init(&lv);
    rc = scan_open(&s, dir, key, res);
    if (rc != 0)
        goto out;
    s.levels = &lv;
    rc = scan_run(&s, proof);
    if (rc != 0)
        goto out;
    if (size == 0) {
        size = res->checkpoint_size;
        if (index >= size) {
            rc = env_fail(&s, ERR_NOTFOUND,
                "record %" PRIu64 " is not "
                "covered by a checkpoint yet (latest size %" PRIu64 "); "
                "give --size",
                index, size);
            goto out;
        }
    }
    if (size > s.count || index >= size) {
        rc = env_fail(&s, ERR_NOTFOUND,
            "record %" PRIu64 " is not in a "
            "tree of %" PRIu64 " of the %" PRIu64 " records",
            index, size, s.count);
        goto out;
    }
    proof->size = size;
    rc = merkle_inclusion_proof(
        merkle_levels_subtree, &lv, index, size, proof->hashes, &proof->n);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, size, proof->root);
    if (rc == 0)
        rc = merkle_levels_subtree(&lv, 0, index, proof->leaf_hash);
    if (rc != 0) {
        rc = env_fail(&s, ERR_IO, "cannot build the proof: %s", err_str(rc));
        goto out;
    }
    note_of_size(&s, size, proof->note);
out:
    scan_close(&s);
    merkle_levels_release(&lv);
    return rc;
}

int
audit_prove_consistency(const char *dir, const char *key, uint64_t old_size,
    uint64_t new_size, struct audit_proof *proof,
    struct audit_verify_result *res)
{
    struct merkle_levels lv;
    struct scan s;
    int rc;

    memset(proof, 0, sizeof(*proof));
    proof->old_size = old_size;
    proof->size = new_size;
    proof->index = UINT64_MAX;
    merkle_levels_init(&lv);
    rc = scan_open(&s, dir, key, res);
    if (rc != 0)
        goto out;
    s.levels = &lv;
    rc = scan_run(&s, NULL);
    if (rc != 0)
        goto out;
    if (old_size == 0 || old_size > new_size || new_size > s.count) {
        rc = env_fail(&s, ERR_NOTFOUND,
            "need 0 < old (%" PRIu64 ") <= "
            "new (%" PRIu64 ") <= records (%" PRIu64 ")",
            old_size, new_size, s.count);
        goto out;
    }
    rc = merkle_consistency_proof(merkle_levels_subtree, &lv, old_size,
        new_size, proof->hashes, &proof->n);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, old_size, proof->old_root);
    if (rc == 0)
        rc = merkle_root(merkle_levels_subtree, &lv, new_size, proof->root);
    if (rc != 0) {
        rc = env_fail(&s, ERR_IO, "cannot build the proof: %s", err_str(rc));
        goto out;
    }
    note_of_size(&s, old_size, proof->old_note);
    note_of_size(&s, new_size, proof->note);
out:
    scan_close(&s);
    merkle_levels_release(&lv);
    return rc;
}

/* ----------------------------------------------------------- writer */

struct audit_log {
    char *dir;
    struct segfile *sf;        /* the record segments, LOCK, pending frames */
    int dirfd;                 /* segfile_dirfd(sf), borrowed */
    uint64_t size;             /* durable records */
    uint64_t next;             /* index of the next append */
    struct merkle_frontier fr; /* of `size` records */
    uint8_t (*leaves)[MERKLE_HASH_BYTES]; /* of the pending records */
    size_t nleaves;
    size_t aleaves;
    int ckfd;         /* checkpoints.log, O_RDWR */
    uint64_t ck_len;  /* its durable length */
    uint64_t ck_size; /* size of the latest checkpoint */
    bool ck_dirty;    /* bytes past ck_len may remain */
    char origin[AUDIT_MAX_ORIGIN + 1];
    struct note_signer signer; /* secret: wiped on close */
    char vkey[NOTE_MAX_KEY];
    struct audit_repair repair;
};

static bool
origin_is_valid(const char *o)
{
    size_t n = strlen(o);

    if (n == 0 || n > AUDIT_MAX_ORIGIN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = o[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
                c == ':' || c == '-'))
            return false;
    }
    return true;
}

/* Write a small file atomically (tmp, fsync, rename). */
static int
write_file(int dirfd, const char *name, const char *text, mode_t mode)
{
    char tmp[64];
    size_t len = strlen(text);
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd == -1)
        return ERR_IO;
    if (fchmod(fd, mode) == -1 ||
        fileio_pwrite_all(fd, (const uint8_t *)text, len, 0) != 0 ||
        fileio_pwrite_all(fd, (const uint8_t *)"\n", 1, len) != 0 ||
        fsync(fd) == -1) {
        close(fd);
        unlinkat(dirfd, tmp, 0);
        return ERR_IO;
    }
    close(fd);
    if (renameat(dirfd, tmp, dirfd, name) == -1) {
        unlinkat(dirfd, tmp, 0);
        return ERR_IO;
    }
    return 0;
}

/* Load signing.key (creating both keys on first use). */
static int
log_keys(struct audit_log *log)
{
    char skey[NOTE_MAX_KEY], *p = NULL, *v = NULL;
    size_t len;
    int rc;

    rc = fileio_read_small(log->dirfd, SIGNER_FILE, NOTE_MAX_KEY, &p, &len);
    if (rc == ERR_NOTFOUND) {
        rc = note_key_generate(
            log->origin, skey, sizeof(skey), log->vkey, sizeof(log->vkey));
        if (rc != 0) {
            log_warnx(
                "%s: cannot generate a key named '%s'", __func__, log->origin);
            return ERR_INVAL;
        }
        rc = write_file(log->dirfd, SIGNER_FILE, skey, 0600);
        if (rc == 0)
            rc = note_signer_parse(skey, &log->signer);
        sodium_memzero(skey, sizeof(skey));
        if (rc == 0)
            rc = write_file(log->dirfd, VERIFIER_FILE, log->vkey, 0644);
        if (rc == 0 && fsync(log->dirfd) == -1)
            rc = ERR_IO;
        if (rc != 0) {
            log_warn("%s: cannot create the keys in '%s'", __func__, log->dir);
            return ERR_IO;
        }
        log_info("audit log '%s': new signing key, verifier key %s",
            log->origin, log->vkey);
        return 0;
    }
    if (rc != 0) {
        log_warnx("%s: cannot read '%s/%s': %s", __func__, log->dir,
            SIGNER_FILE, err_str(rc));
        return rc == ERR_TOOBIG ? ERR_CORRUPT : ERR_IO;
    }
    rc = note_signer_parse(p, &log->signer);
    sodium_memzero(p, len);
    free(p);
    if (rc != 0) {
        log_warnx("%s: '%s/%s' is not a valid signer key", __func__, log->dir,
            SIGNER_FILE);
        return ERR_CORRUPT;
    }
    if (strcmp(log->signer.name, log->origin) != 0) {
        log_warnx("%s: the audit key is named '%s', not the origin '%s'",
            __func__, log->signer.name, log->origin);
        return ERR_INVAL;
    }
    rc = note_signer_vkey(&log->signer, log->vkey, sizeof(log->vkey));
    if (rc != 0)
        return ERR_CORRUPT;
    rc = fileio_read_small(log->dirfd, VERIFIER_FILE, NOTE_MAX_KEY, &v, &len);
    if (rc == ERR_NOTFOUND)
        return write_file(log->dirfd, VERIFIER_FILE, log->vkey, 0644);
    if (rc != 0)
        return ERR_IO;
    strip_newline(v);
    rc = strcmp(v, log->vkey) == 0 ? 0 : ERR_CORRUPT;
    if (rc != 0)
        log_warnx("%s: '%s/%s' does not match the signing key", __func__,
            log->dir, VERIFIER_FILE);
    free(v);
    return rc;
}

/* Scan the existing log, cut a torn tail, open the files for writing. */
static int
log_load(struct audit_log *log)
{
    struct audit_verify_result res;
    struct scan s;
    uint64_t cut;
    int rc;

    memset(&res, 0, sizeof(res));
    memset(&s, 0, sizeof(s));
    s.dirfd = log->dirfd;
    s.writer = true;
    s.res = &res;
    rc = note_verifier_parse(log->vkey, &s.v);
    if (rc != 0) {
        rc = ERR_CORRUPT;
        goto out;
    }
    rc = scan_run(&s, NULL);
    if (rc != 0) {
        if (rc == ERR_CORRUPT)
            log_warnx("audit log '%s' is damaged: %s%s0x%016" PRIx64 ": %s",
                log->dir, res.file, res.file[0] ? ": " : "", res.offset,
                res.reason);
        else
            log_warnx("audit log '%s': %s", log->dir, res.reason);
        goto out;
    }
    if (s.torn) {
        uint64_t first = s.segs[s.nsegs - 1];

        segfile_name(&seg_format, first, log->repair.segment);
        log->repair.bytes_cut = s.last_len - s.torn_off;
        log->repair.at_index = s.count;
        log_warnx("audit log '%s': cutting a torn tail of %" PRIu64
                  " bytes from '%s' at offset %" PRIu64 " (record %" PRIu64
                  "): %s",
            log->dir, log->repair.bytes_cut, log->repair.segment, s.torn_off,
            s.count, res.reason);
    }
    /* The scan and segfile_open() listed the same segments: we hold the
     * lock. The scan has already refused a tail too long to be torn. */
    if (s.nsegs > 0)
        rc = segfile_resume(log->sf, s.torn ? s.torn_off : s.last_len, &cut);
    else
        rc = segfile_start(log->sf, 0);
    if (rc != 0)
        goto out;
    log->ckfd =
        openat(log->dirfd, CKPT_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->ckfd == -1) {
        log_warn("%s: cannot open '%s/%s'", __func__, log->dir, CKPT_FILE);
        rc = ERR_IO;
        goto out;
    }
    if (s.ck_keep < s.cklen) {
        log->repair.note_bytes_cut = s.cklen - s.ck_keep;
        log_warnx("audit log '%s': cutting a torn tail of %" PRIu64
                  " bytes from '%s'",
            log->dir, log->repair.note_bytes_cut, CKPT_FILE);
        if (ftruncate(log->ckfd, (off_t)s.ck_keep) == -1 ||
            fdatasync(log->ckfd) == -1) {
            log_warn("%s: cannot cut '%s/%s'", __func__, log->dir, CKPT_FILE);
            rc = ERR_IO;
            goto out;
        }
    }
    if (fsync(log->dirfd) == -1) {
        rc = ERR_IO;
        goto out;
    }
    log->ck_len = s.ck_keep;
    log->ck_size = s.nck > 0 ? s.ck[s.nck - 1].size : 0;
    log->fr = s.fr;
    log->size = s.count;
    log->next = s.count;
out:
    scan_release(&s);
    return rc;
}

int
audit_log_open(const char *dir, const char *origin, struct audit_log **out)
{
    struct audit_log *log;
    int rc;

    if (!origin_is_valid(origin)) {
        log_warnx("%s: bad origin '%s'", __func__, origin);
        return ERR_INVAL;
    }
    log = xcalloc(1, sizeof(*log));
    log->dir = xstrdup(dir);
    log->ckfd = -1;
    memcpy(log->origin, origin, strlen(origin) + 1);
    rc = segfile_open(dir, &seg_format, AUDIT_SEGMENT_BYTES, &log->sf);
    if (rc != 0)
        goto fail;
    log->dirfd = segfile_dirfd(log->sf);
    rc = log_keys(log);
    if (rc != 0)
        goto fail;
    rc = log_load(log);
    if (rc != 0)
        goto fail;
    *out = log;
    return 0;
fail:
    audit_log_close(log);
    return rc;
}

void
audit_log_close(struct audit_log *log)
{
    if (log == NULL)
        return;
    if (log->ckfd != -1)
        close(log->ckfd);
    segfile_close(log->sf); /* drops the lock */
    note_signer_wipe(&log->signer);
    free(log->leaves);
    free(log->dir);
    free(log);
}

void
audit_log_set_segment_bytes(struct audit_log *log, uint64_t bytes)
{
    segfile_set_segment_bytes(
        log->sf, bytes < MIN_SEGMENT ? MIN_SEGMENT : bytes);
}

const struct audit_repair *
audit_log_repair(const struct audit_log *log)
{
    return &log->repair;
}

int
audit_append(struct audit_log *log, struct audit_record *r, uint64_t *index)
{
    uint8_t frame[AUDIT_FRAME_BYTES + AUDIT_MAX_RECORD_BYTES];
    size_t len;
    int rc;

    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    r->index = log->next;
    rc = audit_record_encode(
        r, frame + AUDIT_FRAME_BYTES, AUDIT_MAX_RECORD_BYTES, &len);
    if (rc != 0)
        return ERR_INVAL;
    put_le32(frame, (uint32_t)len);
    put_le32(frame + 4, crc32c(0, frame + AUDIT_FRAME_BYTES, len));
    rc = segfile_append(log->sf, frame, AUDIT_FRAME_BYTES + len, NULL, 0);
    if (rc != 0)
        return ERR_TOOBIG;
    if (log->nleaves == log->aleaves) {
        log->aleaves = log->aleaves ? 2 * log->aleaves : 64;
        log->leaves =
            xreallocarray(log->leaves, log->aleaves, sizeof(*log->leaves));
    }
    merkle_leaf_hash(
        frame + AUDIT_FRAME_BYTES, len, log->leaves[log->nleaves++]);
    *index = log->next++;
    return 0;
}

/* Forget the pending records (the segfile has dropped their frames). */
static void
drop_pending(struct audit_log *log)
{
    log->nleaves = 0;
    log->next = log->size;
}

int
audit_sync(struct audit_log *log)
{
    int rc;

    if (segfile_is_failed(log->sf)) {
        drop_pending(log);
        return ERR_AUDIT;
    }
    if (log->nleaves == 0)
        return 0;
    /* A new segment is named after the first pending record. */
    rc = segfile_sync(log->sf, log->size);
    if (rc != 0) {
        log_warnx("%s: cannot make %zu audit records durable in '%s': %s%s",
            __func__, log->nleaves, log->dir, err_str(rc),
            segfile_is_failed(log->sf) ? "; the audit log is failed until "
                                         "reopened" :
                                         "");
        drop_pending(log);
        return ERR_AUDIT;
    }
    for (size_t i = 0; i < log->nleaves; i++)
        merkle_frontier_append(&log->fr, log->leaves[i]);
    log->size = log->next;
    log->nleaves = 0;
    return 0;
}

int
audit_checkpoint(struct audit_log *log, uint64_t wall_ms)
{
    uint8_t root[MERKLE_HASH_BYTES];
    char text[NOTE_MAX_ORIGIN + 128];
    uint8_t frame[4 + AUDIT_MAX_NOTE_BYTES + 1];
    size_t tlen, nlen;
    int rc;

    if (segfile_is_failed(log->sf))
        return ERR_AUDIT;
    if (log->size == 0 || log->size == log->ck_size)
        return 0;
    if (log->ck_dirty) {
        if (ftruncate(log->ckfd, (off_t)log->ck_len) == -1) {
            log_warn(
                "%s: cannot cut '%s/%s' back", __func__, log->dir, CKPT_FILE);
            return ERR_AUDIT;
        }
        log->ck_dirty = false;
    }
    merkle_frontier_root(&log->fr, root);
    rc = note_checkpoint_format(
        log->origin, log->size, root, text, sizeof(text), &tlen);
    if (rc == 0)
        rc = note_sign(&log->signer, text, tlen, (char *)frame + 4,
            sizeof(frame) - 4, &nlen);
    if (rc != 0 || nlen > AUDIT_MAX_NOTE_BYTES) {
        log_warnx("%s: cannot sign a checkpoint: %s", __func__, err_str(rc));
        return ERR_AUDIT;
    }
    put_le32(frame, (uint32_t)nlen);
    if (fileio_pwrite_all(log->ckfd, frame, 4 + nlen, log->ck_len) != 0 ||
        fdatasync(log->ckfd) == -1) {
        log_warn("%s: cannot append a checkpoint to '%s/%s'", __func__,
            log->dir, CKPT_FILE);
        if (ftruncate(log->ckfd, (off_t)log->ck_len) == -1) {
            log_warn(
                "%s: cannot cut '%s/%s' back", __func__, log->dir, CKPT_FILE);
            log->ck_dirty = true;
        }
        return ERR_AUDIT;
    }
    log->ck_len += 4 + nlen;
    log->ck_size = log->size;
    log_debug("audit checkpoint %" PRIu64 " records at %" PRIu64 " ms",
        log->size, wall_ms);
    return 0;
}

uint64_t
audit_size(const struct audit_log *log)
{
    return log->size;
}

uint64_t
audit_next_index(const struct audit_log *log)
{
    return log->next;
}

void
audit_root(const struct audit_log *log, uint8_t out[MERKLE_HASH_BYTES])
{
    merkle_frontier_root(&log->fr, out);
}

uint64_t
audit_checkpoint_size(const struct audit_log *log)
{
    return log->ck_size;
}

const char *
audit_verifier_key(const struct audit_log *log)
{
    return log->vkey;
}
