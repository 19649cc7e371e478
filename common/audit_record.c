/*
 * audit_record.c - the audit record: names, field checks and the
 *                  canonical MessagePack codec
 *
 * Pure functions over struct audit_record and its encoding (format
 * section 1 of audit.h): the scorer encodes through audit_append(), the
 * scanner decodes every record it reads, and the tools and tests call
 * them directly. Any thread; no state.
 *
 * Invariants:
 *  - a record has exactly one valid encoding: audit_record_decode()
 *    accepts only what audit_record_encode() produces (shortest forms,
 *    fixed key order, nothing after the map).
 *
 * Deviation: a strict reader of its own instead of msgpack_unpack* (see
 * audit.h).
 *
 * See also: audit.h (format section 1), tools/vigil-audit.5
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/audit.h"
#include "common/err.h"

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

/* 0..AUDIT_MAX_PEER bytes of [A-Za-z0-9.:%_[]-] (an address). */
static bool
is_peer(const uint8_t *s, size_t n)
{
    if (n > AUDIT_MAX_PEER)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '%' ||
                c == '_' || c == '[' || c == ']' || c == '-'))
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
    if (r->version != 0 && r->version != 1 && r->version != AUDIT_VERSION)
        return ERR_INVAL;
    n = strnlen(r->peer, sizeof(r->peer));
    if (n == sizeof(r->peer) || !is_peer((const uint8_t *)r->peer, n))
        return ERR_INVAL;
    /* Version 1 has neither field: it cannot say them. */
    if (r->version == 1 && (n != 0 || r->size != 0))
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
    bool v1;
    int rc;

    rc = audit_record_check(r);
    if (rc != 0)
        return rc;
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++)
        ncats += (r->cats >> i) & 1u;

    v1 = r->version == 1;
    w_byte(&w, v1 ? 0x8b : 0x8d);
    w_key(&w, "v");
    w_uint(&w, v1 ? 1 : AUDIT_VERSION);
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
    if (!v1) {
        w_key(&w, "peer");
        w_str(&w, r->peer, strlen(r->peer));
        w_key(&w, "size");
        w_uint(&w, r->size);
    }
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

/* The key `key` of `klen` bytes (a literal: see r_key()); inline, so
 * that the compare of a constant length is inlined too (the verifier
 * decodes 13 keys a record). */
static inline bool
r_keyn(struct rcur *c, const char *key, size_t klen, const char *why)
{
    const uint8_t *s;
    size_t n;

    if (!r_str(c, &s, &n, why))
        return r_fail(c, why);
    if (n != klen || memcmp(s, key, klen) != 0)
        return r_fail(c, why);
    return true;
}

#define r_key(c, key, why) r_keyn((c), (key), sizeof(key) - 1, (why))

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
        const char *w = names[i];
        size_t k = 0;

        /* Stops at w's end or the first difference: no strlen() pass. */
        while (k < n && w[k] != '\0' && (uint8_t)w[k] == s[k])
            k++;
        if (k == n && w[n] == '\0') {
            *out = i;
            return true;
        }
    }
    return r_fail(c, what);
}

/* The fields version 2 added: "peer" and "size". */
static bool
r_peer_size(struct rcur *c, struct audit_record *r)
{
    const uint8_t *s;
    size_t n;

    if (!r_key(c, "peer", "key 12 is not \"peer\"") ||
        !r_str(c, &s, &n, "\"peer\" is not a string"))
        return false;
    if (!is_peer(s, n))
        return r_fail(c, "bad \"peer\" (0..64 of [A-Za-z0-9.:%_[]-])");
    memcpy(r->peer, s, n);
    r->peer[n] = '\0';
    return r_key(c, "size", "key 13 is not \"size\"") &&
        r_uint(c, &r->size, "\"size\" is not an unsigned integer");
}

static bool
decode(struct rcur *c, struct audit_record *r)
{
    uint64_t v;
    unsigned n, k, last;
    uint8_t map;

    /* The map's size says the version: 11 entries for 1, 13 for 2. */
    if (c->p >= c->end || (*c->p != 0x8b && *c->p != 0x8d))
        return r_fail(c, "not a map of 11 (version 1) or 13 entries");
    map = *c->p++;
    if (!r_key(c, "v", "key 1 is not \"v\"") ||
        !r_uint(c, &v, "\"v\" is not an unsigned integer"))
        return false;
    if ((map == 0x8b && v != 1) || (map == 0x8d && v != AUDIT_VERSION))
        return r_fail(c,
            "unknown record version, or a map of the wrong "
            "size for its version");
    r->version = (unsigned)v;
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
    r->peer[0] = '\0';
    r->size = 0;
    if (r->version != 1 && !r_peer_size(c, r))
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
