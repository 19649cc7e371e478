/*
 * out.c - vigilctl's output: JSON values and streams on jansson, records
 *         as JSON and TSV, verification results
 *
 * Every --json output of vigilctl is built here from jansson values and
 * printed compactly, one JSON value per command; long lists of records
 * go through out_stream so that a log of millions of records is never
 * held in memory (about 1 KB per record at a time). The human and TSV
 * forms of records and verification failures live here too, so that
 * every command prints them the same way.
 *
 * Invariants:
 *  - jansson allocates only through wiped_alloc()/out_free() once
 *    out_init() ran: allocation failure is fatal and freed blocks are
 *    wiped (query replies carry personal data).
 *  - a value passed to out_set()/out_push()/out_print()/out_stream_*()
 *    is owned by the callee from then on.
 *
 * See also: vigilctl.h, tools/vigilctl.1 (the JSON shapes)
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/utctime.h"
#include "common/xmalloc.h"
#include "tools/vigilctl/vigilctl.h"

/*
 * jansson allocates through these: out of memory is fatal, as for every
 * allocation here (xmalloc), and each block is wiped before it is freed,
 * since a JSON document may hold personal data (a query's reply).
 */
union wiped_hdr {
    size_t n;
    max_align_t align; /* cppcheck-suppress unusedStructMember ; it aligns */
};

static void *
wiped_alloc(size_t n)
{
    union wiped_hdr *h;

    if (n > SIZE_MAX - sizeof(*h))
        fatalx("%s: %zu bytes", __func__, n);
    h = xmalloc(sizeof(*h) + n);
    h->n = n;
    return h + 1;
}

void
out_free(void *p)
{
    union wiped_hdr *h;

    if (p == NULL)
        return;
    h = (union wiped_hdr *)p - 1;
    sodium_memzero(p, h->n);
    free(h);
}

void
out_init(void)
{
    json_set_alloc_funcs(wiped_alloc, out_free);
}

/* ------------------------------------------------------- JSON values */

/*
 * None returns NULL: allocation failure is fatal (wiped_alloc), and the
 * strings given to them are the decoders' output, which is valid UTF-8
 * (checked by audit_record_decode(), qproto_reply_decode() and the note
 * verifier).
 */

/* A string of n bytes. Bytes that are not UTF-8 (which the decoders
 * never let through) are shown as '?' rather than dropping the value. */
json_t *
out_strn(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    char *copy;

    if (v != NULL)
        return v;
    copy = xmalloc(n + 1);
    for (size_t i = 0; i < n; i++)
        copy[i] = (unsigned char)s[i] < 0x80 && s[i] != '\0' ? s[i] : '?';
    v = json_stringn(copy, n);
    free(copy);
    if (v == NULL)
        fatalx("%s: invariant: ASCII string refused", __func__);
    return v;
}

json_t *
out_str(const char *s)
{
    return out_strn(s, strlen(s));
}

/* A string, or null when it is empty. */
json_t *
out_str_or_null(const char *s)
{
    return s[0] != '\0' ? out_str(s) : json_null();
}

/* Lower-case hex of p[0..n). */
json_t *
out_hex(const uint8_t *p, size_t n)
{
    char *s = xmalloc(2 * n + 1);
    json_t *v;

    sodium_bin2hex(s, 2 * n + 1, p, n);
    v = out_strn(s, 2 * n);
    free(s);
    return v;
}

/* An unsigned integer. jansson's integers are signed 64-bit: a value
 * above INT64_MAX (no field reaches it in practice) becomes a JSON
 * number in exponent form, still a number to every reader. */
json_t *
out_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    return json_real((double)v);
}

/* A double; null for NaN and infinities, which JSON cannot hold. */
json_t *
out_real(double v)
{
    json_t *r = json_real(v);

    return r != NULL ? r : json_null();
}

json_t *
out_msgpack(const msgpack_object *o)
{
    json_t *v;
    uint32_t i;

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return out_u64(o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return out_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return out_strn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN:
        return out_hex((const uint8_t *)o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY:
        v = json_array();
        for (i = 0; i < o->via.array.size; i++)
            out_push(v, out_msgpack(&o->via.array.ptr[i]));
        return v;
    case MSGPACK_OBJECT_MAP:
        v = json_object();
        for (i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            char key[256];

            if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(key))
                continue; /* qproto_reply_decode() checked the top level */
            memcpy(key, k->via.str.ptr, k->via.str.size);
            key[k->via.str.size] = '\0';
            out_set(v, key, out_msgpack(&o->via.map.ptr[i].val));
        }
        return v;
    default:
        return json_null();
    }
}

/* Set obj[key] = v, taking over v. */
void
out_set(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        fatalx("%s: invariant: cannot set '%s'", __func__, key);
}

/* Append v to the array arr, taking over v. */
void
out_push(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        fatalx("%s: invariant: cannot append", __func__);
}

/* Print v compactly, then a newline; takes over v. */
void
out_print(FILE *f, json_t *v)
{
    if (json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        fatalx("%s: invariant: cannot encode", __func__);
    fputc('\n', f);
    json_decref(v);
}

/* Print the members of the object v without its braces; takes over v.
 * Returns how many were printed. */
static size_t
print_members(FILE *f, json_t *v)
{
    size_t n = json_object_size(v);
    char *s;

    if (n > 0) {
        s = json_dumps(v, JSON_COMPACT);
        if (s == NULL)
            fatalx("%s: invariant: cannot encode", __func__);
        /* A compact object is "{" members "}". */
        (void)fwrite(s + 1, 1, strlen(s) - 2, f); /* main() checks stdout */
        out_free(s);
    }
    json_decref(v);
    return n;
}

/*
 * The stream encodes each item with json_dumpb() into one reused buffer
 * and writes it with one fwrite(): json_dumpf() calls fwrite() once per
 * token, which made replay --json several times slower.
 */

void
out_stream_open(struct out_stream *js, FILE *f, json_t *head, const char *key)
{
    json_t *k;

    js->f = f;
    js->n = 0;
    js->cap = 4096;
    js->buf = xmalloc(js->cap);
    fputc('{', f);
    if (head != NULL && print_members(f, head) > 0)
        fputc(',', f);
    k = out_str(key);
    if (json_dumpf(k, f, JSON_ENCODE_ANY) != 0)
        fatalx("%s: invariant: cannot encode", __func__);
    json_decref(k);
    fputs(":[", f);
}

/* Write one item; takes over `item`. */
void
out_stream_item(struct out_stream *js, json_t *item)
{
    size_t n;

    n = json_dumpb(item, js->buf, js->cap, JSON_COMPACT);
    if (n > js->cap) {
        /* Not realloc(): the old buffer is wiped like every other. */
        sodium_memzero(js->buf, js->cap);
        free(js->buf);
        js->cap = n;
        js->buf = xmalloc(js->cap);
        n = json_dumpb(item, js->buf, js->cap, JSON_COMPACT);
    }
    if (n == 0 || n > js->cap)
        fatalx("%s: invariant: cannot encode", __func__);
    fputs(js->n++ ? ",\n" : "\n", js->f);
    (void)fwrite(js->buf, 1, n, js->f); /* main() checks stdout */
    json_decref(item);
}

void
out_stream_close(struct out_stream *js, json_t *tail)
{
    fputs("\n]", js->f);
    if (tail != NULL && json_object_size(tail) > 0)
        fputc(',', js->f);
    if (tail != NULL)
        print_members(js->f, tail);
    fputs("}\n", js->f);
    sodium_memzero(js->buf, js->cap);
    free(js->buf);
    js->buf = NULL;
}

/* ------------------------------------------------------ audit output */

void
out_put_hex(FILE *f, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        fputc(hx[p[i] >> 4], f);
        fputc(hx[p[i] & 15], f);
    }
}

void
out_time(uint64_t ms, char *out, size_t outlen)
{
    utctime_format(ms, out, outlen);
}

void
out_cats(uint32_t cats, char *out, size_t outlen)
{
    size_t len = 0;

    out[0] = '\0';
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++) {
        if (cats & (1u << i))
            len += (size_t)snprintf(out + len, outlen - len, "%s%s",
                len ? "," : "", audit_cat_name(1u << i));
        if (len >= outlen)
            break;
    }
}

/* The decoded fields of `r` as a new JSON object. */
json_t *
out_record_json(const struct audit_record *r)
{
    json_t *o = json_object(), *cats = json_array(), *subj = json_array();
    char t[UTCTIME_TEXT_MAX];

    utctime_format(r->ts_ms, t, sizeof(t));
    out_set(o, "index", out_u64(r->index));
    out_set(o, "ts", out_u64(r->ts_ms));
    out_set(o, "time", out_str(t));
    out_set(o, "actor", out_str(r->actor));
    out_set(o, "role", out_str(audit_role_name(r->role)));
    out_set(o, "op", out_str(r->op));
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++)
        if (r->cats & (1u << i))
            out_push(cats, out_str(audit_cat_name(1u << i)));
    out_set(o, "cats", cats);
    for (unsigned i = 0; i < r->nsubj; i++)
        out_push(subj, out_hex(r->subj[i], AUDIT_SUBJECT_BYTES));
    out_set(o, "subj", subj);
    out_set(o, "purpose", out_str(r->purpose));
    out_set(o, "outcome", out_str(audit_outcome_name(r->outcome)));
    out_set(o, "ref", out_str(r->ref));
    out_set(o, "peer", out_str(r->peer));
    out_set(o, "size", out_u64(r->size));
    out_set(o, "version", out_u64(r->version));
    return o;
}

/* One record as a TSV line (actor and ref hold no tab or newline). */
void
out_record_tsv(FILE *f, const struct audit_record *r)
{
    char t[UTCTIME_TEXT_MAX], cats[OUT_CATS_MAX];

    out_time(r->ts_ms, t, sizeof(t));
    out_cats(r->cats, cats, sizeof(cats));
    fprintf(f, "%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t", r->index, t, r->actor,
        audit_role_name(r->role), r->op, cats[0] ? cats : "-");
    for (unsigned i = 0; i < r->nsubj; i++) {
        if (i > 0)
            fputc(',', f);
        out_put_hex(f, r->subj[i], AUDIT_SUBJECT_BYTES);
    }
    if (r->nsubj == 0)
        fputc('-', f);
    fprintf(f, "\t%s\t%s\t%s\t%s\t%" PRIu64 "\n", r->purpose,
        audit_outcome_name(r->outcome), r->ref[0] ? r->ref : "-",
        r->peer[0] ? r->peer : "-", r->size);
}

/* Add the verification outcome to `o`: "verified", counts, "key_source"
 * and "error" (null, or where and why verification failed). */
void
out_verify_json(json_t *o, int rc, const struct audit_verify_result *res)
{
    json_t *e;

    out_set(o, "verified", json_boolean(rc == 0));
    out_set(o, "records_verified", out_u64(res->records));
    out_set(o, "checkpoints_verified", out_u64(res->checkpoints));
    out_set(o, "checkpoint_size", out_u64(res->checkpoint_size));
    out_set(o, "key_source", out_str(res->key_from_dir ? "dir" : "argument"));
    if (rc == 0) {
        out_set(o, "error", json_null());
        return;
    }
    e = json_object();
    out_set(e, "record",
        res->bad_record == UINT64_MAX ? json_null() : out_u64(res->bad_record));
    out_set(e, "record_end",
        res->bad_record == UINT64_MAX ? json_null() :
                                        out_u64(res->bad_record_end));
    out_set(e, "checkpoint",
        res->bad_checkpoint == UINT64_MAX ? json_null() :
                                            out_u64(res->bad_checkpoint));
    out_set(e, "file", out_str(res->file));
    out_set(e, "offset", out_u64(res->offset));
    out_set(e, "reason", out_str(res->reason));
    out_set(o, "error", e);
}

/* Print a verification failure the redis-check-aof way. */
void
out_verify_failure(
    const char *dir, int rc, const struct audit_verify_result *res)
{
    if (rc != ERR_CORRUPT) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, dir,
            res->reason[0] ? res->reason : err_str(rc));
        return;
    }
    if (res->file[0] != '\0')
        printf("FAIL: %s: 0x%016" PRIx64 " (offset %" PRIu64 "): %s\n",
            res->file, res->offset, res->offset, res->reason);
    else
        printf("FAIL: %s\n", res->reason);
    if (res->bad_record != UINT64_MAX &&
        res->bad_record_end == res->bad_record + 1)
        printf("first bad record: %" PRIu64 "\n", res->bad_record);
    else if (res->bad_record != UINT64_MAX)
        printf("first bad record: one of %" PRIu64 "..%" PRIu64 "\n",
            res->bad_record, res->bad_record_end - 1);
    if (res->bad_checkpoint != UINT64_MAX)
        printf("first bad checkpoint: %" PRIu64 "\n", res->bad_checkpoint);
    printf("records verified before it: %" PRIu64 ", checkpoints matched: "
           "%" PRIu64 "\n",
        res->records, res->checkpoints);
}

void
out_key_source(const struct audit_verify_result *res, FILE *f)
{
    if (res->key_from_dir)
        fprintf(f,
            "key: %s (from the log's own verifier.key: pass --key "
            "with your own copy to rule out a swapped key)\n",
            res->key);
    else
        fprintf(f, "key: %s (from --key)\n", res->key);
}
