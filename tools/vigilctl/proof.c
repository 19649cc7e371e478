/*
 * proof.c - vigilctl's proof files: the strict reader and the check
 *           (see proof.h)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/text.h"
#include "common/tlogproof.h"
#include "common/xmalloc.h"
#include "tools/vigilctl/proof.h"

enum pf_kind {
    PF_TYPE,   /* "inclusion" or "consistency" */
    PF_U64,    /* a non-negative integer */
    PF_HASH,   /* 64 hex digits */
    PF_RECORD, /* hex of 1..AUDIT_MAX_RECORD_BYTES bytes */
    PF_HASHES, /* array of at most MERKLE_MAX_PROOF hashes */
    PF_NOTE,   /* a signed note (string) or null */
};

#define PF_INCL ((unsigned)PROOF_INCLUSION)
#define PF_CONS ((unsigned)PROOF_CONSISTENCY)

static const struct pf_field {
    const char *name;
    enum pf_kind kind;
    unsigned allowed;  /* PF_INCL | PF_CONS */
    unsigned required; /* PF_INCL | PF_CONS */
} pf_fields[PROOF_M_COUNT] = {
    [PROOF_M_TYPE] = { "type", PF_TYPE, PF_INCL | PF_CONS, PF_INCL | PF_CONS },
    [PROOF_M_INDEX] = { "index", PF_U64, PF_INCL, PF_INCL },
    [PROOF_M_OLD_SIZE] = { "old_size", PF_U64, PF_CONS, PF_CONS },
    [PROOF_M_SIZE] = { "size", PF_U64, PF_INCL | PF_CONS, PF_INCL | PF_CONS },
    [PROOF_M_RECORD] = { "record", PF_RECORD, PF_INCL, 0 },
    [PROOF_M_LEAF_HASH] = { "leaf_hash", PF_HASH, PF_INCL, 0 },
    [PROOF_M_PROOF] = { "proof", PF_HASHES, PF_INCL | PF_CONS,
        PF_INCL | PF_CONS },
    [PROOF_M_OLD_ROOT] = { "old_root", PF_HASH, PF_CONS, 0 },
    [PROOF_M_ROOT] = { "root", PF_HASH, PF_INCL | PF_CONS, 0 },
    [PROOF_M_OLD_CHECKPOINT] = { "old_checkpoint", PF_NOTE, PF_CONS, 0 },
    [PROOF_M_CHECKPOINT] = { "checkpoint", PF_NOTE, PF_INCL | PF_CONS, 0 },
};

void
proof_printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 4 < cap; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (s[i] != '\0') {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* Decode a JSON string of exactly 2 * n hex digits into out[0..n). */
static bool
hex_exact(const json_t *v, uint8_t *out, size_t n)
{
    size_t bin_len;

    /* strlen() as well: a "\u0000" inside the string must not pass. */
    return json_is_string(v) && json_string_length(v) == 2 * n &&
        strlen(json_string_value(v)) == 2 * n &&
        sodium_hex2bin(
            out, n, json_string_value(v), 2 * n, NULL, &bin_len, NULL) == 0 &&
        bin_len == n;
}

/* Check member `v`, field `id` of pf_fields[], and store it in `*p`.
 * Returns NULL or what is wrong with it (static). */
static const char *
proof_member(enum proof_member id, const json_t *v, struct proof_file *p)
{
    uint8_t hash[MERKLE_HASH_BYTES];
    size_t i, len;
    json_t *h;

    switch (pf_fields[id].kind) {
    case PF_TYPE:
        return NULL; /* read first, in proof_decode() */
    case PF_U64:
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return "must be a non-negative integer";
        if (id == PROOF_M_INDEX)
            p->index = (uint64_t)json_integer_value(v);
        else if (id == PROOF_M_OLD_SIZE)
            p->old_size = (uint64_t)json_integer_value(v);
        else
            p->size = (uint64_t)json_integer_value(v);
        return NULL;
    case PF_HASH:
        if (!hex_exact(v, hash, MERKLE_HASH_BYTES))
            return "must be a string of 64 hex digits";
        if (id == PROOF_M_LEAF_HASH)
            memcpy(p->leaf_hash, hash, MERKLE_HASH_BYTES);
        return NULL;
    case PF_RECORD:
        len = json_is_string(v) ? json_string_length(v) : 0;
        if (len == 0 || len % 2 != 0 || len / 2 > AUDIT_MAX_RECORD_BYTES ||
            !hex_exact(v, p->record, len / 2))
            return "must be a string of hex digits (a record of 1..1024 "
                   "bytes)";
        p->record_len = len / 2;
        return NULL;
    case PF_HASHES:
        if (!json_is_array(v) || json_array_size(v) > MERKLE_MAX_PROOF)
            return "must be an array of at most 64 hashes";
        json_array_foreach(v, i, h)
        {
            if (!hex_exact(h, p->hashes[i], MERKLE_HASH_BYTES))
                return "must hold only strings of 64 hex digits";
        }
        p->nhashes = json_array_size(v);
        return NULL;
    case PF_NOTE:
        if (json_is_null(v))
            return NULL;
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > AUDIT_MAX_NOTE_BYTES)
            return "must be a signed note (a string of 1..4096 bytes) or "
                   "null";
        i = id == PROOF_M_OLD_CHECKPOINT ? 0 : 1;
        p->note[i] = json_string_value(v);
        p->note_len[i] = json_string_length(v);
        return NULL;
    }
    return "has an unknown kind";
}

/* Check the parsed document `doc` against pf_fields[] into `*p` (whose
 * notes then borrow from `doc`). Returns 0 or ERR_MALFORMED (`why`). */
static int
proof_decode(json_t *doc, struct proof_file *p, char *why, size_t whylen)
{
    const json_t *type;
    const char *key, *bad;
    json_t *v;
    char shown[64];
    size_t i;

    if (!json_is_object(doc)) {
        text_fmt(why, whylen, "not a JSON object");
        return ERR_MALFORMED;
    }
    type = json_object_get(doc, "type");
    if (type == NULL) {
        text_fmt(why, whylen, "missing field \"type\"");
        return ERR_MALFORMED;
    }
    if (json_is_string(type) &&
        strcmp(json_string_value(type), "inclusion") == 0) {
        p->type = PROOF_INCLUSION;
    } else if (json_is_string(type) &&
        strcmp(json_string_value(type), "consistency") == 0) {
        p->type = PROOF_CONSISTENCY;
    } else {
        text_fmt(why, whylen,
            "\"type\" must be \"inclusion\" or "
            "\"consistency\"");
        return ERR_MALFORMED;
    }
    json_object_foreach(doc, key, v)
    {
        for (i = 0; i < PROOF_M_COUNT; i++)
            if (strcmp(key, pf_fields[i].name) == 0)
                break;
        if (i == PROOF_M_COUNT || !(pf_fields[i].allowed & p->type)) {
            proof_printable(key, shown, sizeof(shown));
            text_fmt(why, whylen, "unknown field \"%s\" in %s proof", shown,
                p->type == PROOF_INCLUSION ? "an inclusion" : "a consistency");
            return ERR_MALFORMED;
        }
        bad = proof_member((enum proof_member)i, v, p);
        if (bad != NULL) {
            /* The key is a known name here: plain ASCII. */
            text_fmt(why, whylen, "\"%s\" %s", pf_fields[i].name, bad);
            return ERR_MALFORMED;
        }
        p->found |= 1u << i;
    }
    for (i = 0; i < PROOF_M_COUNT; i++) {
        if ((pf_fields[i].required & p->type) && !(p->found & (1u << i))) {
            text_fmt(why, whylen, "missing field \"%s\"", pf_fields[i].name);
            return ERR_MALFORMED;
        }
    }
    if (p->type == PROOF_INCLUSION &&
        !(p->found & (1u << PROOF_M_RECORD | 1u << PROOF_M_LEAF_HASH))) {
        text_fmt(why, whylen,
            "an inclusion proof needs \"record\" or \"leaf_hash\"");
        return ERR_MALFORMED;
    }
    return 0;
}

int
proof_parse(const char *text, size_t len, struct proof_file *p, json_t **doc,
    char *why, size_t whylen)
{
    json_error_t jerr;
    char shown[160];
    int rc;

    *doc = NULL;
    memset(p, 0, sizeof(*p));
    if (len > PROOF_MAX_BYTES) {
        text_fmt(why, whylen, "larger than %d bytes", (int)PROOF_MAX_BYTES);
        return ERR_TOOBIG;
    }
    *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*doc == NULL) {
        proof_printable(jerr.text, shown, sizeof(shown));
        text_fmt(why, whylen, "line %d, column %d: %s", jerr.line, jerr.column,
            shown);
        return ERR_MALFORMED;
    }
    rc = proof_decode(*doc, p, why, whylen);
    if (rc != 0) {
        json_decref(*doc);
        *doc = NULL;
        memset(p, 0, sizeof(*p));
    }
    return rc;
}

int
proof_trust_note_as(struct proof_trust *k, const char *note, size_t len,
    bool saved, char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size,
    const char **why)
{
    struct proof_trusted t;
    int rc;

    memset(&t, 0, sizeof(t));
    rc = audit_checkpoint_open(
        k->key, (const uint8_t *)note, len, origin, &t.size, t.root, why);
    if (rc != 0)
        return rc == ERR_INVAL ? ERR_INVAL : ERR_CORRUPT;
    *size = t.size;
    for (size_t i = 0; i < k->n; i++) {
        if (k->t[i].size == t.size &&
            memcmp(k->t[i].root, t.root, MERKLE_HASH_BYTES) != 0) {
            *why = k->t[i].saved ?
                "the auditor's own checkpoint of this size has a "
                "different root: the log forked" :
                "another signed checkpoint of this size has a different "
                "root: the log forked";
            return ERR_CONFLICT;
        }
    }
    t.saved = saved;
    k->t = xreallocarray(k->t, k->n + 1, sizeof(*k->t));
    k->t[k->n++] = t;
    return 0;
}

int
proof_trust_note(struct proof_trust *k, const char *note, size_t len,
    char origin[AUDIT_MAX_ORIGIN + 1], uint64_t *size, const char **why)
{
    return proof_trust_note_as(k, note, len, false, origin, size, why);
}

void
proof_trust_release(struct proof_trust *k)
{
    free(k->t);
    k->t = NULL;
    k->n = 0;
}

/* The root of the trusted checkpoint of `size`, or NULL; borrowed. */
static const uint8_t *
trusted_root(const struct proof_trust *k, uint64_t size)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->t[i].size == size && (k->t[i].saved || !k->strict))
            return k->t[i].root;
    }
    return NULL;
}

static int
no_checkpoint(uint64_t size, char *why, size_t whylen)
{
    text_fmt(why, whylen,
        "no checkpoint signed by the key has size %" PRIu64
        " (pass one with --checkpoint)",
        size);
    return ERR_NOTFOUND;
}

static int
check_inclusion(const struct proof_file *p, const struct proof_trust *k,
    struct audit_record *rec, bool *has_rec, char *why, size_t whylen)
{
    uint8_t leaf[MERKLE_HASH_BYTES];
    const uint8_t *root;
    const char *bad;
    bool has_record = p->found & (1u << PROOF_M_RECORD);
    bool has_leaf = p->found & (1u << PROOF_M_LEAF_HASH);

    if (has_record) {
        merkle_leaf_hash(p->record, p->record_len, leaf);
        if (audit_record_decode(p->record, p->record_len, rec, &bad) != 0) {
            text_fmt(why, whylen, "\"record\" does not decode: %s", bad);
            return ERR_CORRUPT;
        }
        if (rec->index != p->index) {
            text_fmt(why, whylen,
                "the record's index is %" PRIu64 ", the proof is for %" PRIu64,
                rec->index, p->index);
            return ERR_CORRUPT;
        }
        *has_rec = true;
    }
    if (has_leaf) {
        if (has_record && memcmp(p->leaf_hash, leaf, MERKLE_HASH_BYTES) != 0) {
            text_fmt(
                why, whylen, "\"leaf_hash\" is not the hash of \"record\"");
            return ERR_CORRUPT;
        }
        memcpy(leaf, p->leaf_hash, MERKLE_HASH_BYTES);
    }
    root = trusted_root(k, p->size);
    if (root == NULL)
        return no_checkpoint(p->size, why, whylen);
    if (merkle_verify_inclusion(p->index, p->size, leaf,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->nhashes,
            root) != 0) {
        text_fmt(why, whylen,
            "the inclusion proof does not verify: record %" PRIu64
            " is not leaf %" PRIu64 " of the signed tree of %" PRIu64
            " records",
            p->index, p->index, p->size);
        return ERR_CORRUPT;
    }
    return 0;
}

static int
check_consistency(const struct proof_file *p, const struct proof_trust *k,
    char *why, size_t whylen)
{
    const uint8_t *r1, *r2;

    r1 = trusted_root(k, p->old_size);
    r2 = trusted_root(k, p->size);
    if (r1 == NULL || r2 == NULL)
        return no_checkpoint(r1 == NULL ? p->old_size : p->size, why, whylen);
    if (merkle_verify_consistency(p->old_size, p->size, r1, r2,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->nhashes) != 0) {
        text_fmt(why, whylen,
            "the consistency proof does not verify: the log of %" PRIu64
            " records is not an extension of the log of %" PRIu64 " records",
            p->size, p->old_size);
        return ERR_CORRUPT;
    }
    return 0;
}

int
proof_check(const struct proof_file *p, const struct proof_trust *k,
    struct audit_record *rec, bool *has_rec, char *why, size_t whylen)
{
    *has_rec = false;
    if (p->type == PROOF_INCLUSION)
        return check_inclusion(p, k, rec, has_rec, why, whylen);
    return check_consistency(p, k, why, whylen);
}

int
proof_parse_tlog(const char *text, size_t len, struct proof_file *p, char *why,
    size_t whylen)
{
    struct tlogproof *t = xmalloc(sizeof(*t));
    char origin[AUDIT_MAX_ORIGIN + 1];
    uint8_t root[MERKLE_HASH_BYTES];
    const char *bad = NULL;
    size_t tl;
    int rc = ERR_MALFORMED;

    memset(p, 0, sizeof(*p));
    if (len > PROOF_MAX_BYTES) {
        text_fmt(why, whylen, "larger than %d bytes", PROOF_MAX_BYTES);
        free(t);
        return ERR_TOOBIG;
    }
    if (tlogproof_parse(text, len, t, &bad) != 0) {
        text_fmt(why, whylen, "tlog-proof: %s", bad);
        goto out;
    }
    if (!t->has_extra || t->extra_len == 0 ||
        t->extra_len > AUDIT_MAX_RECORD_BYTES) {
        text_fmt(why, whylen,
            "tlog-proof: no extra data of 1..%d bytes (a Vigil tlog-proof "
            "carries the audit record there)",
            AUDIT_MAX_RECORD_BYTES);
        goto out;
    }
    if (note_split(t->checkpoint, t->checkpoint_len, &tl, NULL, NULL) != 0 ||
        note_checkpoint_parse(
            t->checkpoint, tl, origin, sizeof(origin), &p->size, root) != 0) {
        text_fmt(why, whylen,
            "tlog-proof: the checkpoint is not a signed C2SP checkpoint");
        goto out;
    }
    p->type = PROOF_INCLUSION;
    p->found = (1u << PROOF_M_TYPE) | (1u << PROOF_M_INDEX) |
        (1u << PROOF_M_SIZE) | (1u << PROOF_M_RECORD) | (1u << PROOF_M_PROOF) |
        (1u << PROOF_M_CHECKPOINT);
    p->index = t->index;
    memcpy(p->record, t->extra, t->extra_len);
    p->record_len = t->extra_len;
    memcpy(p->hashes, t->hashes, t->n * MERKLE_HASH_BYTES);
    p->nhashes = t->n;
    p->note[1] = t->checkpoint;
    p->note_len[1] = t->checkpoint_len;
    rc = 0;
out:
    free(t);
    return rc;
}
