/*
 * main.c - Vigil's command-line tool: audit log verification, replay,
 *              proofs, export and subject reports, and the fraud team's
 *              queries to the scorer (score, account)
 *
 * Subcommands are rows of one table, `cmds[]`: a name of one or more
 * words ("audit verify"), the synopsis of its arguments, a handler and a
 * one-line help. main() finds the longest row whose words start argv and
 * calls its handler with the remaining arguments. The audit commands read
 * the audit directory directly and read-only (CONVENTIONS.md ownership
 * rule 7); they work on a copy as well as on the live log. The query
 * commands go through the scorer's query endpoint, which audits them.
 *
 * Invariants:
 *  - exit status 0 ok, 1 the data is bad (verification failed, a proof
 *    does not check), 2 usage or environment error.
 *  - every JSON output is one valid JSON value encoded by jansson, even
 *    when verification fails half-way (the failure is then part of it);
 *    long record lists are streamed one record at a time.
 *
 * See also: tools/vigilctl.1, tools/vigil-audit.5, common/audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/proto.h"
#include "common/pseudo.h"
#include "common/subjidx.h"
#include "common/utctime.h"
#include "common/zsock.h"
#include "common/xmalloc.h"

#define PROGNAME        "vigilctl"
#define EXIT_OK         0
#define EXIT_BAD        1
#define EXIT_USAGE      2
#define MAX_PROOF_BYTES (1024 * 1024) /* a proof file is ~3 KB */

struct cmd {
    const char *name; /* words, space-separated: "audit verify" */
    const char *args; /* synopsis of the arguments */
    int (*handler)(const struct cmd *c, int argc, char **argv);
    const char *help; /* one line */
};

static const struct cmd *find_cmd(int argc, char **argv, int *words);
static void cmd_usage(const struct cmd *c, FILE *f);

/* ------------------------------------------------------------ output */

static void
put_hex(FILE *f, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        fputc(hx[p[i] >> 4], f);
        fputc(hx[p[i] & 15], f);
    }
}

/*
 * jansson allocates through these: out of memory is fatal, as for every
 * allocation here (xmalloc), and each block is wiped before it is freed,
 * since a JSON document may hold personal data (a query's reply).
 */
union wiped_hdr {
    size_t n;
    max_align_t align;
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

static void
wiped_free(void *p)
{
    union wiped_hdr *h;

    if (p == NULL)
        return;
    h = (union wiped_hdr *)p - 1;
    sodium_memzero(p, h->n);
    free(h);
}

/*
 * JSON values for the output, built with jansson. None returns NULL:
 * allocation failure is fatal (wiped_alloc), and the strings given to
 * them are the decoders' output, which is valid UTF-8 (checked by
 * audit_record_decode(), proto_*_decode() and the note verifier).
 */

/* A string of n bytes. Bytes that are not UTF-8 (which the decoders
 * never let through) are shown as '?' rather than dropping the value. */
static json_t *
jstrn(const char *s, size_t n)
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

static json_t *
jstr(const char *s)
{
    return jstrn(s, strlen(s));
}

/* A string, or null when it is empty. */
static json_t *
jstr_or_null(const char *s)
{
    return s[0] != '\0' ? jstr(s) : json_null();
}

/* Lower-case hex of p[0..n). */
static json_t *
jhex(const uint8_t *p, size_t n)
{
    char *s = xmalloc(2 * n + 1);
    json_t *v;

    sodium_bin2hex(s, 2 * n + 1, p, n);
    v = jstrn(s, 2 * n);
    free(s);
    return v;
}

/* An unsigned integer. jansson's integers are signed 64-bit: a value
 * above INT64_MAX (no field reaches it in practice) becomes a JSON
 * number in exponent form, still a number to every reader. */
static json_t *
ju64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    return json_real((double)v);
}

/* A double; null for NaN and infinities, which JSON cannot hold. */
static json_t *
jreal(double v)
{
    json_t *r = json_real(v);

    return r != NULL ? r : json_null();
}

/* Set obj[key] = v, taking over v. */
static void
jset(json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0)
        fatalx("%s: invariant: cannot set '%s'", __func__, key);
}

/* Append v to the array arr, taking over v. */
static void
jpush(json_t *arr, json_t *v)
{
    if (v == NULL || json_array_append_new(arr, v) != 0)
        fatalx("%s: invariant: cannot append", __func__);
}

/* Print v compactly, then a newline; takes over v. */
static void
jprint(FILE *f, json_t *v)
{
    if (json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        fatalx("%s: invariant: cannot encode", __func__);
    fputc('\n', f);
    json_decref(v);
}

/* Print the members of the object v without its braces; takes over v.
 * Returns how many were printed. */
static size_t
jprint_members(FILE *f, json_t *v)
{
    size_t n = json_object_size(v);
    char *s;

    if (n > 0) {
        s = json_dumps(v, JSON_COMPACT);
        if (s == NULL)
            fatalx("%s: invariant: cannot encode", __func__);
        /* A compact object is "{" members "}". */
        fwrite(s + 1, 1, strlen(s) - 2, f);
        wiped_free(s);
    }
    json_decref(v);
    return n;
}

/*
 * One JSON object whose array member `key` is written one element at a
 * time, so that replaying millions of records never holds them all:
 *     {HEAD MEMBERS,"key":[
 *     ITEM,
 *     ITEM
 *     ],TAIL MEMBERS}
 * `head` and `tail` are objects (taken over; NULL for none).
 */
struct jstream {
    FILE *f;
    uint64_t n; /* items written */
    char *buf;  /* one encoded item: jansson's json_dumpf() would call
                   fwrite() once per token, several times slower */
    size_t cap;
};

static void
jstream_open(struct jstream *js, FILE *f, json_t *head, const char *key)
{
    js->f = f;
    js->n = 0;
    js->cap = 4096;
    js->buf = xmalloc(js->cap);
    fputc('{', f);
    if (head != NULL && jprint_members(f, head) > 0)
        fputc(',', f);
    json_dumpf(jstr(key), f, JSON_ENCODE_ANY);
    fputs(":[", f);
}

/* Write one item; takes over `item`. */
static void
jstream_item(struct jstream *js, json_t *item)
{
    size_t n;

    n = json_dumpb(item, js->buf, js->cap, JSON_COMPACT);
    if (n > js->cap) {
        js->cap = n;
        js->buf = xreallocarray(js->buf, 1, js->cap);
        n = json_dumpb(item, js->buf, js->cap, JSON_COMPACT);
    }
    if (n == 0 || n > js->cap)
        fatalx("%s: invariant: cannot encode", __func__);
    fputs(js->n++ ? ",\n" : "\n", js->f);
    fwrite(js->buf, 1, n, js->f);
    json_decref(item);
}

static void
jstream_close(struct jstream *js, json_t *tail)
{
    fputs("\n]", js->f);
    if (tail != NULL && json_object_size(tail) > 0)
        fputc(',', js->f);
    if (tail != NULL)
        jprint_members(js->f, tail);
    fputs("}\n", js->f);
    sodium_memzero(js->buf, js->cap);
    free(js->buf);
    js->buf = NULL;
}

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void
fmt_time(uint64_t ms, char *out, size_t outlen)
{
    utctime_format(ms, out, outlen);
}

static void
cats_list(uint32_t cats, char *out, size_t outlen)
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
static json_t *
json_record(const struct audit_record *r)
{
    json_t *o = json_object(), *cats = json_array(), *subj = json_array();
    char t[UTCTIME_TEXT_MAX];

    utctime_format(r->ts_ms, t, sizeof(t));
    jset(o, "index", ju64(r->index));
    jset(o, "ts", ju64(r->ts_ms));
    jset(o, "time", jstr(t));
    jset(o, "actor", jstr(r->actor));
    jset(o, "role", jstr(audit_role_name(r->role)));
    jset(o, "op", jstr(r->op));
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++)
        if (r->cats & (1u << i))
            jpush(cats, jstr(audit_cat_name(1u << i)));
    jset(o, "cats", cats);
    for (unsigned i = 0; i < r->nsubj; i++)
        jpush(subj, jhex(r->subj[i], AUDIT_SUBJECT_BYTES));
    jset(o, "subj", subj);
    jset(o, "purpose", jstr(r->purpose));
    jset(o, "outcome", jstr(audit_outcome_name(r->outcome)));
    jset(o, "ref", jstr(r->ref));
    return o;
}

/* One record as a TSV line (actor and ref hold no tab or newline). */
static void
tsv_record(FILE *f, const struct audit_record *r)
{
    char t[64], cats[128];

    fmt_time(r->ts_ms, t, sizeof(t));
    cats_list(r->cats, cats, sizeof(cats));
    fprintf(f, "%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t", r->index, t, r->actor,
        audit_role_name(r->role), r->op, cats[0] ? cats : "-");
    for (unsigned i = 0; i < r->nsubj; i++) {
        if (i > 0)
            fputc(',', f);
        put_hex(f, r->subj[i], AUDIT_SUBJECT_BYTES);
    }
    if (r->nsubj == 0)
        fputc('-', f);
    fprintf(f, "\t%s\t%s\t%s\n", r->purpose, audit_outcome_name(r->outcome),
        r->ref[0] ? r->ref : "-");
}

/* Add the verification outcome to `o`: "verified", counts, "key_source"
 * and "error" (null, or where and why verification failed). */
static void
json_result(json_t *o, int rc, const struct audit_verify_result *res)
{
    json_t *e;

    jset(o, "verified", json_boolean(rc == 0));
    jset(o, "records_verified", ju64(res->records));
    jset(o, "checkpoints_verified", ju64(res->checkpoints));
    jset(o, "checkpoint_size", ju64(res->checkpoint_size));
    jset(o, "key_source", jstr(res->key_from_dir ? "dir" : "argument"));
    if (rc == 0) {
        jset(o, "error", json_null());
        return;
    }
    e = json_object();
    jset(e, "record",
        res->bad_record == UINT64_MAX ? json_null() : ju64(res->bad_record));
    jset(e, "record_end",
        res->bad_record == UINT64_MAX ? json_null() :
                                        ju64(res->bad_record_end));
    jset(e, "checkpoint",
        res->bad_checkpoint == UINT64_MAX ? json_null() :
                                            ju64(res->bad_checkpoint));
    jset(e, "file", jstr(res->file));
    jset(e, "offset", ju64(res->offset));
    jset(e, "reason", jstr(res->reason));
    jset(o, "error", e);
}

/* Print a verification failure the redis-check-aof way. */
static void
print_failure(const char *dir, int rc, const struct audit_verify_result *res)
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

static int
exit_for(int rc)
{
    if (rc == 0)
        return EXIT_OK;
    return rc == ERR_CORRUPT ? EXIT_BAD : EXIT_USAGE;
}

/* -------------------------------------------------------- arguments */

static int
parse_u64(const char *s, uint64_t *out)
{
    char *end;

    if (s[0] < '0' || s[0] > '9')
        return ERR_INVAL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return ERR_INVAL;
    return 0;
}

static int
parse_hex(const char *s, uint8_t *out, size_t n)
{
    size_t bin_len;

    if (strlen(s) != 2 * n ||
        sodium_hex2bin(out, n, s, 2 * n, NULL, &bin_len, NULL) != 0 ||
        bin_len != n)
        return ERR_INVAL;
    return 0;
}

static int usage_error(const struct cmd *c, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static int
usage_error(const struct cmd *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", PROGNAME);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cmd_usage(c, stderr);
    return EXIT_USAGE;
}

/* Options shared by the audit commands. */
struct opts {
    const char *key;
    const char *actor;
    const char *purpose;
    const char **ckpts;
    int nckpts;
    bool json;
    bool help;
    bool has_size;
    uint64_t size;
    struct audit_filter filter;
};

enum {
    OPT_KEY = 256,
    OPT_FROM,
    OPT_TO,
    OPT_ACTOR,
    OPT_SUBJECT,
    OPT_PURPOSE,
    OPT_JSON,
    OPT_SIZE,
    OPT_CHECKPOINT
};

/*
 * Parse the options of `c` that `allowed` (a string of OPT_* letters
 * offset by OPT_KEY) lists; leaves the operands in argv[optind..argc).
 * Returns 0 or EXIT_USAGE (after printing why).
 */
static int
get_opts(const struct cmd *c, int argc, char **argv, const char *allowed,
    struct opts *o)
{
    static const struct option longopts[] = {
        { "key", required_argument, NULL, OPT_KEY },
        { "from", required_argument, NULL, OPT_FROM },
        { "to", required_argument, NULL, OPT_TO },
        { "actor", required_argument, NULL, OPT_ACTOR },
        { "subject", required_argument, NULL, OPT_SUBJECT },
        { "purpose", required_argument, NULL, OPT_PURPOSE },
        { "json", no_argument, NULL, OPT_JSON },
        { "size", required_argument, NULL, OPT_SIZE },
        { "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (ch == 'h') {
            o->help = true;
            continue;
        }
        if (ch == '?' || ch < OPT_KEY ||
            strchr(allowed, 'a' + (ch - OPT_KEY)) == NULL)
            return usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        switch (ch) {
        case OPT_KEY:
            o->key = optarg;
            break;
        case OPT_FROM:
            if (utctime_parse(optarg, &o->filter.from_ms) != 0)
                return usage_error(
                    c, "bad time '%s' (ms or ISO 8601 UTC)", optarg);
            break;
        case OPT_TO:
            if (utctime_parse(optarg, &o->filter.to_ms) != 0)
                return usage_error(
                    c, "bad time '%s' (ms or ISO 8601 UTC)", optarg);
            break;
        case OPT_ACTOR:
            o->filter.actor = optarg;
            break;
        case OPT_SUBJECT:
            if (parse_hex(optarg, o->filter.subject, AUDIT_SUBJECT_BYTES) != 0)
                return usage_error(
                    c, "bad subject '%s' (32 hex digits)", optarg);
            o->filter.has_subject = true;
            break;
        case OPT_PURPOSE:
            o->filter.purpose = optarg;
            break;
        case OPT_JSON:
            o->json = true;
            break;
        case OPT_SIZE:
            if (parse_u64(optarg, &o->size) != 0 || o->size == 0)
                return usage_error(c, "bad size '%s'", optarg);
            o->has_size = true;
            break;
        case OPT_CHECKPOINT:
            o->ckpts = xreallocarray(
                o->ckpts, (size_t)o->nckpts + 1, sizeof(*o->ckpts));
            o->ckpts[o->nckpts++] = optarg;
            break;
        default:
            return usage_error(c, "unknown option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* Letters for get_opts(): 'a' + (OPT_x - OPT_KEY). */
#define A_KEY  "a"
#define A_FILT "bcdef"
#define A_JSON "g"
#define A_SIZE "h"
#define A_CKPT "i"

/* Parse options and check the operand count; 0 to go on, else an exit
 * status (help printed: EXIT_OK). */
static int
prologue(const struct cmd *c, int argc, char **argv, const char *allowed,
    int min_ops, int max_ops, struct opts *o)
{
    int rc, nops;

    rc = get_opts(c, argc, argv, allowed, o);
    if (rc != 0)
        return rc;
    if (o->help) {
        cmd_usage(c, stdout);
        return -1;
    }
    nops = argc - optind;
    if (nops < min_ops || nops > max_ops)
        return usage_error(c, "wrong number of arguments");
    return 0;
}

#define PROLOGUE(allowed, min, max)                                            \
    do {                                                                       \
        int prc_ = prologue(c, argc, argv, (allowed), (min), (max), &o);       \
        if (prc_ != 0) {                                                       \
            free(o.ckpts);                                                     \
            return prc_ < 0 ? EXIT_OK : prc_;                                  \
        }                                                                      \
    } while (0)

/* ------------------------------------------------------------- audit */

static void
print_key_source(const struct audit_verify_result *res, FILE *f)
{
    if (res->key_from_dir)
        fprintf(f,
            "key: %s (from the log's own verifier.key: pass --key "
            "with your own copy to rule out a swapped key)\n",
            res->key);
    else
        fprintf(f, "key: %s (from --key)\n", res->key);
}

static int
cmd_audit_verify(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res;
    struct opts o;
    struct timespec t0, t1;
    double secs;
    int rc;

    PROLOGUE(A_KEY, 1, 1);
    res = xmalloc(sizeof(*res));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = audit_verify(argv[optind], o.key, res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != 0 && rc != ERR_CORRUPT) {
        print_failure(argv[optind], rc, res);
        free(res);
        return EXIT_USAGE;
    }
    printf("audit log %s\n", argv[optind]);
    print_key_source(res, stdout);
    if (rc != 0) {
        print_failure(argv[optind], rc, res);
        free(res);
        return EXIT_BAD;
    }
    printf("OK: %" PRIu64 " records in %" PRIu64 " segment(s), %" PRIu64
           " checkpoint(s) verified\n",
        res->records, res->segments, res->checkpoints);
    printf("root: ");
    put_hex(stdout, res->root, MERKLE_HASH_BYTES);
    printf("\n");
    if (res->checkpoints == 0)
        printf("warning: no signed checkpoint: no record is covered by a "
               "signature\n");
    else if (res->records > res->checkpoint_size)
        printf("note: records %" PRIu64 "..%" PRIu64 " are after the latest "
               "checkpoint and not yet covered by a signature\n",
            res->checkpoint_size, res->records - 1);
    printf("time: %.3f s (%.0f records/s)\n", secs,
        secs > 0 ? (double)res->records / secs : 0.0);
    free(res);
    return EXIT_OK;
}

struct replay_ctx {
    bool export;
    struct jstream *js; /* --json, else NULL (TSV) */
    uint64_t n;
};

static int
replay_cb(void *arg, const struct audit_entry *e)
{
    struct replay_ctx *x = arg;
    json_t *o;

    x->n++;
    if (x->js == NULL) {
        tsv_record(stdout, e->rec);
        return 0;
    }
    o = json_record(e->rec);
    if (x->export) {
        jset(o, "raw", jhex(e->raw, e->raw_len));
        jset(o, "leaf_hash", jhex(e->leaf_hash, MERKLE_HASH_BYTES));
        jset(o, "file", jstr(e->file));
        jset(o, "offset", ju64(e->offset));
    }
    jstream_item(x->js, o);
    return 0;
}

static int
run_replay(const char *dir, struct opts *o, bool export)
{
    struct audit_verify_result *res = xmalloc(sizeof(*res));
    struct replay_ctx x = { export, NULL, 0 };
    struct jstream js;
    json_t *tail;
    int rc;

    if (o->json) {
        jstream_open(&js, stdout, NULL, "records");
        x.js = &js;
    }
    rc = audit_replay(
        dir, o->key, export ? NULL : &o->filter, replay_cb, &x, res);
    if (o->json) {
        tail = json_object();
        jset(tail, "count", ju64(x.n));
        if (export) {
            char key[NOTE_MAX_KEY];

            jset(tail, "verifier_key",
                audit_read_verifier_key(dir, key, sizeof(key)) == 0 ?
                    jstr(key) :
                    json_null());
            jset(tail, "checkpoint",
                res->note_len > 0 ? jstrn(res->note, res->note_len) :
                                    json_null());
        }
        json_result(tail, rc, res);
        jstream_close(&js, tail);
    }
    if (rc != 0) {
        fflush(stdout);
        fprintf(stderr, "%s: %s: %s%s%s\n", PROGNAME, dir, res->file,
            res->file[0] ? ": " : "", res->reason);
    }
    free(res);
    return exit_for(rc);
}

static int
cmd_audit_replay(const struct cmd *c, int argc, char **argv)
{
    struct opts o;

    PROLOGUE(A_KEY A_FILT A_JSON, 1, 1);
    return run_replay(argv[optind], &o, false);
}

static int
cmd_audit_export(const struct cmd *c, int argc, char **argv)
{
    struct opts o;

    PROLOGUE(A_KEY A_JSON, 1, 1);
    if (!o.json)
        return usage_error(c, "export needs --json");
    return run_replay(argv[optind], &o, true);
}

/* The proof's hashes as a new JSON array. */
static json_t *
json_hashes(const struct audit_proof *p)
{
    json_t *a = json_array();

    for (size_t i = 0; i < p->n; i++)
        jpush(a, jhex(p->hashes[i], MERKLE_HASH_BYTES));
    return a;
}

static int
prove_done(const char *dir, int rc, struct audit_verify_result *res)
{
    if (rc == ERR_CORRUPT)
        print_failure(dir, rc, res);
    else if (rc != 0)
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, dir,
            res->reason[0] ? res->reason : err_str(rc));
    free(res);
    return exit_for(rc);
}

static int
cmd_audit_prove_inclusion(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res;
    struct audit_proof *p;
    struct opts o;
    uint64_t index;
    int rc;

    PROLOGUE(A_KEY A_SIZE, 2, 2);
    if (parse_u64(argv[optind + 1], &index) != 0)
        return usage_error(c, "bad record number '%s'", argv[optind + 1]);
    res = xmalloc(sizeof(*res));
    p = xmalloc(sizeof(*p));
    rc = audit_prove_inclusion(
        argv[optind], o.key, index, o.has_size ? o.size : 0, p, res);
    if (rc == 0) {
        json_t *j = json_object();

        jset(j, "type", jstr("inclusion"));
        jset(j, "index", ju64(p->index));
        jset(j, "size", ju64(p->size));
        jset(j, "record", jhex(p->raw, p->raw_len));
        jset(j, "leaf_hash", jhex(p->leaf_hash, MERKLE_HASH_BYTES));
        jset(j, "proof", json_hashes(p));
        jset(j, "root", jhex(p->root, MERKLE_HASH_BYTES));
        jset(j, "checkpoint", jstr_or_null(p->note));
        jprint(stdout, j);
    }
    free(p);
    return prove_done(argv[optind], rc, res);
}

static int
cmd_audit_prove_consistency(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res;
    struct audit_proof *p;
    struct opts o;
    uint64_t old_size, new_size;
    int rc;

    PROLOGUE(A_KEY, 3, 3);
    if (parse_u64(argv[optind + 1], &old_size) != 0 ||
        parse_u64(argv[optind + 2], &new_size) != 0)
        return usage_error(c, "bad size");
    res = xmalloc(sizeof(*res));
    p = xmalloc(sizeof(*p));
    rc = audit_prove_consistency(
        argv[optind], o.key, old_size, new_size, p, res);
    if (rc == 0) {
        json_t *j = json_object();

        jset(j, "type", jstr("consistency"));
        jset(j, "old_size", ju64(p->old_size));
        jset(j, "size", ju64(p->size));
        jset(j, "proof", json_hashes(p));
        jset(j, "old_root", jhex(p->old_root, MERKLE_HASH_BYTES));
        jset(j, "root", jhex(p->root, MERKLE_HASH_BYTES));
        jset(j, "old_checkpoint", jstr_or_null(p->old_note));
        jset(j, "checkpoint", jstr_or_null(p->note));
        jprint(stdout, j);
    }
    free(p);
    return prove_done(argv[optind], rc, res);
}

/* ------------------------------------------------------- proof files */

/*
 * A proof file is what `audit prove` prints: one JSON object (format in
 * vigilctl.1). It comes from whoever hands the auditor the proof, so it
 * is read as hostile: at most MAX_PROOF_BYTES, parsed by jansson with
 * duplicate keys rejected, then every member checked against this table
 * (known name, allowed for the proof's type, exact type and size) before
 * anything is verified. Any problem is one "not a valid proof file"
 * line and exit 1.
 */

enum pf_kind {
    PF_TYPE,   /* "inclusion" or "consistency" */
    PF_U64,    /* a non-negative integer */
    PF_HASH,   /* 64 hex digits */
    PF_RECORD, /* hex of 1..AUDIT_MAX_RECORD_BYTES bytes */
    PF_HASHES, /* array of at most MERKLE_MAX_PROOF hashes */
    PF_NOTE,   /* a signed note (string) or null */
};

#define PF_INCL 1u /* allowed in (or required by) an inclusion proof */
#define PF_CONS 2u /* ... in a consistency proof */

enum pf_id {
    PF_ID_TYPE,
    PF_ID_INDEX,
    PF_ID_OLD_SIZE,
    PF_ID_SIZE,
    PF_ID_RECORD,
    PF_ID_LEAF_HASH,
    PF_ID_PROOF,
    PF_ID_OLD_ROOT,
    PF_ID_ROOT,
    PF_ID_OLD_CHECKPOINT,
    PF_ID_CHECKPOINT,
    PF_ID_COUNT
};

static const struct pf_field {
    const char *name;
    enum pf_kind kind;
    unsigned allowed;  /* PF_INCL | PF_CONS */
    unsigned required; /* PF_INCL | PF_CONS */
} pf_fields[PF_ID_COUNT] = {
    [PF_ID_TYPE] = { "type", PF_TYPE, PF_INCL | PF_CONS, PF_INCL | PF_CONS },
    [PF_ID_INDEX] = { "index", PF_U64, PF_INCL, PF_INCL },
    [PF_ID_OLD_SIZE] = { "old_size", PF_U64, PF_CONS, PF_CONS },
    [PF_ID_SIZE] = { "size", PF_U64, PF_INCL | PF_CONS, PF_INCL | PF_CONS },
    [PF_ID_RECORD] = { "record", PF_RECORD, PF_INCL, 0 },
    [PF_ID_LEAF_HASH] = { "leaf_hash", PF_HASH, PF_INCL, 0 },
    [PF_ID_PROOF] = { "proof", PF_HASHES, PF_INCL | PF_CONS,
        PF_INCL | PF_CONS },
    [PF_ID_OLD_ROOT] = { "old_root", PF_HASH, PF_CONS, 0 },
    [PF_ID_ROOT] = { "root", PF_HASH, PF_INCL | PF_CONS, 0 },
    [PF_ID_OLD_CHECKPOINT] = { "old_checkpoint", PF_NOTE, PF_CONS, 0 },
    [PF_ID_CHECKPOINT] = { "checkpoint", PF_NOTE, PF_INCL | PF_CONS, 0 },
};

/* A proof file, decoded and checked. The roots are read (and checked)
 * but never used: only signed checkpoints are trusted. */
struct proof_file {
    unsigned type;  /* PF_INCL or PF_CONS */
    unsigned found; /* 1u << PF_ID_x for each member present */
    uint64_t index, old_size, size;
    uint8_t record[AUDIT_MAX_RECORD_BYTES];
    size_t record_len;
    uint8_t leaf_hash[MERKLE_HASH_BYTES];
    uint8_t hashes[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    size_t nhashes;
    const char *note[2]; /* old_checkpoint, checkpoint: borrowed from the
                            parsed document, NULL when absent or null */
    size_t note_len[2];
};

/*
 * Read a whole file ("-": stdin) of at most `max` bytes into a buffer the
 * caller frees. Returns 0, ERR_TOOBIG (more than `max` bytes; only max+1
 * are read) or ERR_IO (errno says why).
 */
static int
slurp(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *p;
    size_t n;
    int err = 0;

    *out = NULL;
    if (f == NULL)
        return ERR_IO;
    p = xmalloc(max + 1);
    n = fread(p, 1, max + 1, f);
    if (ferror(f))
        err = errno != 0 ? errno : EIO;
    if (f != stdin)
        fclose(f);
    if (err != 0 || n > max) {
        free(p);
        errno = err;
        return err != 0 ? ERR_IO : ERR_TOOBIG;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

/*
 * Copy `s` into out[0..cap) for an error line: at most `cap` - 4 bytes,
 * anything but printable ASCII as '?', "..." when cut. Hostile input
 * must not reach the terminal raw or split the one-line error.
 */
static void
printable(const char *s, char *out, size_t cap)
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

static int proof_invalid(const char *path, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

/* Print the one line "FAIL: PATH: not a valid proof file: ..."; returns
 * EXIT_BAD. */
static int
proof_invalid(const char *path, const char *fmt, ...)
{
    char shown[256];
    va_list ap;

    printable(path, shown, sizeof(shown));
    printf("FAIL: %s: not a valid proof file: ", shown);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    return EXIT_BAD;
}

/* Decode a string of exactly 2 * n hex digits into out[0..n). */
static bool
hex_exact(const json_t *v, uint8_t *out, size_t n)
{
    return json_is_string(v) && json_string_length(v) == 2 * n &&
        parse_hex(json_string_value(v), out, n) == 0;
}

/* Check member `v`, field `id` of pf_fields[], and store it in `*p`.
 * Returns NULL or what is wrong with it (static). */
static const char *
proof_member(enum pf_id id, const json_t *v, struct proof_file *p)
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
        if (id == PF_ID_INDEX)
            p->index = (uint64_t)json_integer_value(v);
        else if (id == PF_ID_OLD_SIZE)
            p->old_size = (uint64_t)json_integer_value(v);
        else
            p->size = (uint64_t)json_integer_value(v);
        return NULL;
    case PF_HASH:
        if (!hex_exact(v, hash, MERKLE_HASH_BYTES))
            return "must be a string of 64 hex digits";
        if (id == PF_ID_LEAF_HASH)
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
        i = id == PF_ID_OLD_CHECKPOINT ? 0 : 1;
        p->note[i] = json_string_value(v);
        p->note_len[i] = json_string_length(v);
        return NULL;
    }
    return "has an unknown kind";
}

/*
 * Check the parsed document `doc` against pf_fields[] into `*p` (whose
 * notes then borrow from `doc`). Returns EXIT_OK or EXIT_BAD (after the
 * one error line).
 */
static int
proof_decode(const char *path, json_t *doc, struct proof_file *p)
{
    const json_t *type;
    const char *key, *why;
    json_t *v;
    char shown[64];
    size_t i;

    if (!json_is_object(doc))
        return proof_invalid(path, "not a JSON object");
    type = json_object_get(doc, "type");
    if (type == NULL)
        return proof_invalid(path, "missing field \"type\"");
    if (json_is_string(type) &&
        strcmp(json_string_value(type), "inclusion") == 0)
        p->type = PF_INCL;
    else if (json_is_string(type) &&
        strcmp(json_string_value(type), "consistency") == 0)
        p->type = PF_CONS;
    else
        return proof_invalid(
            path, "\"type\" must be \"inclusion\" or \"consistency\"");
    json_object_foreach(doc, key, v)
    {
        for (i = 0; i < PF_ID_COUNT; i++)
            if (strcmp(key, pf_fields[i].name) == 0)
                break;
        if (i == PF_ID_COUNT || !(pf_fields[i].allowed & p->type)) {
            printable(key, shown, sizeof(shown));
            return proof_invalid(path, "unknown field \"%s\" in %s proof",
                shown, p->type == PF_INCL ? "an inclusion" : "a consistency");
        }
        why = proof_member((enum pf_id)i, v, p);
        if (why != NULL)
            return proof_invalid(path, "\"%s\" %s", key, why);
        p->found |= 1u << i;
    }
    for (i = 0; i < PF_ID_COUNT; i++) {
        if ((pf_fields[i].required & p->type) && !(p->found & (1u << i)))
            return proof_invalid(
                path, "missing field \"%s\"", pf_fields[i].name);
    }
    if (p->type == PF_INCL &&
        !(p->found & (1u << PF_ID_RECORD | 1u << PF_ID_LEAF_HASH)))
        return proof_invalid(
            path, "an inclusion proof needs \"record\" or \"leaf_hash\"");
    return EXIT_OK;
}

/*
 * Read, parse and check the proof file at `path` ("-": stdin) into `*p`.
 * On EXIT_OK `*doc` holds the parsed document (the notes in `*p` borrow
 * from it; caller frees with json_decref). Returns EXIT_OK, EXIT_BAD
 * (not a valid proof file, said on one line) or EXIT_USAGE (cannot be
 * read).
 */
static int
proof_load(const char *path, struct proof_file *p, json_t **doc)
{
    json_error_t jerr;
    char *text, why[160];
    size_t len;
    int rc;

    *doc = NULL;
    rc = slurp(path, MAX_PROOF_BYTES, &text, &len);
    if (rc == ERR_TOOBIG)
        return proof_invalid(
            path, "larger than %d bytes", (int)MAX_PROOF_BYTES);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, path,
            strerror(errno));
        return EXIT_USAGE;
    }
    *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (*doc == NULL) {
        printable(jerr.text, why, sizeof(why));
        return proof_invalid(
            path, "line %d, column %d: %s", jerr.line, jerr.column, why);
    }
    memset(p, 0, sizeof(*p));
    rc = proof_decode(path, *doc, p);
    if (rc != EXIT_OK) {
        json_decref(*doc);
        *doc = NULL;
    }
    return rc;
}

/* ------------------------------------------------------- check-proof */

/* A checkpoint the key verified. */
struct trusted {
    uint64_t size;
    uint8_t root[MERKLE_HASH_BYTES];
};

struct checker {
    const char *key;
    struct trusted *t;
    size_t n;
};

/* Verify a checkpoint note and remember it; returns EXIT_* */
static int
trust_note(struct checker *k, const char *what, const char *note, size_t len)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    struct trusted t;
    const char *why;
    int rc;

    rc = audit_checkpoint_open(
        k->key, (const uint8_t *)note, len, origin, &t.size, t.root, &why);
    if (rc == ERR_INVAL) {
        fprintf(stderr, "%s: --key: %s\n", PROGNAME, why);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        printf("FAIL: %s: %s\n", what, why);
        return EXIT_BAD;
    }
    printf("checkpoint ok: %s: origin %s, size %" PRIu64 "\n", what, origin,
        t.size);
    k->t = xreallocarray(k->t, k->n + 1, sizeof(*k->t));
    k->t[k->n++] = t;
    return EXIT_OK;
}

static const uint8_t *
trusted_root(const struct checker *k, uint64_t size)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->t[i].size == size)
            return k->t[i].root;
    }
    return NULL;
}

static int
check_inclusion(const struct proof_file *p, const struct checker *k)
{
    uint8_t leaf[MERKLE_HASH_BYTES];
    const uint8_t *root;
    bool has_record = p->found & (1u << PF_ID_RECORD);
    bool has_leaf = p->found & (1u << PF_ID_LEAF_HASH);

    if (has_record) {
        struct audit_record r;
        const char *why;

        merkle_leaf_hash(p->record, p->record_len, leaf);
        if (audit_record_decode(p->record, p->record_len, &r, &why) != 0) {
            printf("FAIL: \"record\" does not decode: %s\n", why);
            return EXIT_BAD;
        }
        if (r.index != p->index) {
            printf("FAIL: the record's index is %" PRIu64 ", the proof is "
                   "for %" PRIu64 "\n",
                r.index, p->index);
            return EXIT_BAD;
        }
        printf("record: ");
        tsv_record(stdout, &r);
    }
    if (has_leaf) {
        if (has_record && memcmp(p->leaf_hash, leaf, MERKLE_HASH_BYTES) != 0) {
            printf("FAIL: \"leaf_hash\" is not the hash of \"record\"\n");
            return EXIT_BAD;
        }
        memcpy(leaf, p->leaf_hash, MERKLE_HASH_BYTES);
    }
    root = trusted_root(k, p->size);
    if (root == NULL) {
        printf("FAIL: no checkpoint signed by the key has size %" PRIu64
               " (pass one with --checkpoint)\n",
            p->size);
        return EXIT_BAD;
    }
    if (merkle_verify_inclusion(p->index, p->size, leaf,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->nhashes,
            root) != 0) {
        printf("FAIL: the inclusion proof does not verify: record %" PRIu64
               " is not leaf %" PRIu64 " of the signed tree of %" PRIu64
               " records\n",
            p->index, p->index, p->size);
        return EXIT_BAD;
    }
    printf("OK: record %" PRIu64 " is included in the signed log of %" PRIu64
           " records\n",
        p->index, p->size);
    return EXIT_OK;
}

static int
check_consistency(const struct proof_file *p, const struct checker *k)
{
    const uint8_t *r1, *r2;

    r1 = trusted_root(k, p->old_size);
    r2 = trusted_root(k, p->size);
    if (r1 == NULL || r2 == NULL) {
        printf("FAIL: no checkpoint signed by the key has size %" PRIu64
               " (pass one with --checkpoint)\n",
            r1 == NULL ? p->old_size : p->size);
        return EXIT_BAD;
    }
    if (merkle_verify_consistency(p->old_size, p->size, r1, r2,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->nhashes) != 0) {
        printf(
            "FAIL: the consistency proof does not verify: the log of %" PRIu64
            " records is not an extension of the log of %" PRIu64 " records\n",
            p->size, p->old_size);
        return EXIT_BAD;
    }
    printf("OK: the signed log of %" PRIu64 " records extends the signed "
           "log of %" PRIu64 " records (append-only)\n",
        p->size, p->old_size);
    return EXIT_OK;
}

/* Trust the checkpoint in the file `path` (--checkpoint); returns EXIT_*. */
static int
trust_note_file(struct checker *k, const char *path)
{
    char *note, shown[256];
    size_t len;
    int rc;

    rc = slurp(path, AUDIT_MAX_NOTE_BYTES, &note, &len);
    if (rc == ERR_TOOBIG) {
        printable(path, shown, sizeof(shown));
        printf("FAIL: %s: not a checkpoint: larger than %d bytes\n", shown,
            AUDIT_MAX_NOTE_BYTES);
        return EXIT_BAD;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, path,
            strerror(errno));
        return EXIT_USAGE;
    }
    rc = trust_note(k, path, note, len);
    free(note);
    return rc;
}

static int
cmd_audit_check_proof(const struct cmd *c, int argc, char **argv)
{
    struct checker k = { NULL, NULL, 0 };
    struct proof_file *p;
    struct opts o;
    json_t *doc = NULL;
    int rc;

    PROLOGUE(A_KEY A_CKPT, 1, 1);
    if (o.key == NULL) {
        free(o.ckpts);
        return usage_error(c, "check-proof needs --key VERIFIER");
    }
    k.key = o.key;
    p = xmalloc(sizeof(*p));
    rc = proof_load(argv[optind], p, &doc);
    if (rc == EXIT_OK && p->note[0] != NULL)
        rc = trust_note(
            &k, "old_checkpoint in the proof", p->note[0], p->note_len[0]);
    if (rc == EXIT_OK && p->note[1] != NULL)
        rc = trust_note(
            &k, "checkpoint in the proof", p->note[1], p->note_len[1]);
    for (int i = 0; rc == EXIT_OK && i < o.nckpts; i++)
        rc = trust_note_file(&k, o.ckpts[i]);
    if (rc == EXIT_OK && p->type == PF_INCL)
        rc = check_inclusion(p, &k);
    else if (rc == EXIT_OK)
        rc = check_consistency(p, &k);
    free(k.t);
    free(p);
    json_decref(doc);
    free(o.ckpts);
    return rc;
}

static int
cmd_audit_pubkey(const struct cmd *c, int argc, char **argv)
{
    char key[NOTE_MAX_KEY];
    struct opts o;
    int rc;

    PROLOGUE("", 1, 1);
    rc = audit_read_verifier_key(argv[optind], key, sizeof(key));
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s/verifier.key': %s\n", PROGNAME,
            argv[optind], err_str(rc));
        return EXIT_USAGE;
    }
    printf("%s\n", key);
    return EXIT_OK;
}

/* ------------------------------------------------------------- table */

static int cmd_help(const struct cmd *c, int argc, char **argv);

/*
 * Every command. Add a row (and a section in vigilctl.1) for a new one;
 * rows sharing a first word are listed together by "vigilctl help".
 */
/* ----------------------------------------------------------- queries */

/*
 * `vigilctl score` and `vigilctl account`: one request to the scorer's
 * query endpoint (common/proto.h sections 4 and 5). Until CURVE lands
 * the scorer treats every peer as actor "local-operator", role analyst.
 */

#define QUERY_DEFAULT_ENDPOINT "tcp://127.0.0.1:7011"
#define QUERY_TIMEOUT_MS       5000

/* Options of the query commands and of `audit subject report`. */
struct qopts {
    const char *purpose;
    const char *endpoint;
    const char *storefront;
    const char *key;
    const char *kind;  /* subject report: "account", "email", ... */
    const char *ident; /* subject report: the identifier typed */
    bool json;
    bool help;
};

enum {
    QOPT_PURPOSE = 512,
    QOPT_ENDPOINT,
    QOPT_STOREFRONT,
    QOPT_JSON,
    QOPT_KEY,
    QOPT_ACCOUNT,
    QOPT_EMAIL,
    QOPT_PHONE,
    QOPT_CARD,
    QOPT_DEVICE,
    QOPT_IP,
};

/* Parse the options of a query command (`subject` false) or of the
 * subject report (`subject` true). Returns 0 or EXIT_USAGE. */
static int
get_qopts(
    const struct cmd *c, int argc, char **argv, bool subject, struct qopts *o)
{
    static const struct option qlong[] = {
        { "purpose", required_argument, NULL, QOPT_PURPOSE },
        { "endpoint", required_argument, NULL, QOPT_ENDPOINT },
        { "storefront", required_argument, NULL, QOPT_STOREFRONT },
        { "json", no_argument, NULL, QOPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const struct option slong[] = {
        { "key", required_argument, NULL, QOPT_KEY },
        { "json", no_argument, NULL, QOPT_JSON },
        { "account", required_argument, NULL, QOPT_ACCOUNT },
        { "email", required_argument, NULL, QOPT_EMAIL },
        { "phone", required_argument, NULL, QOPT_PHONE },
        { "card", required_argument, NULL, QOPT_CARD },
        { "device", required_argument, NULL, QOPT_DEVICE },
        { "ip", required_argument, NULL, QOPT_IP },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const kinds[] = { "account", "email", "phone", "card",
        "device", "ip" };
    int ch;

    memset(o, 0, sizeof(*o));
    o->endpoint = QUERY_DEFAULT_ENDPOINT;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", subject ? slong : qlong, NULL)) !=
        -1) {
        switch (ch) {
        case 'h':
            o->help = true;
            break;
        case QOPT_PURPOSE:
            o->purpose = optarg;
            break;
        case QOPT_ENDPOINT:
            o->endpoint = optarg;
            break;
        case QOPT_STOREFRONT:
            o->storefront = optarg;
            break;
        case QOPT_JSON:
            o->json = true;
            break;
        case QOPT_KEY:
            o->key = optarg;
            break;
        case QOPT_ACCOUNT:
        case QOPT_EMAIL:
        case QOPT_PHONE:
        case QOPT_CARD:
        case QOPT_DEVICE:
        case QOPT_IP:
            if (o->kind != NULL)
                return usage_error(c, "give exactly one identifier option");
            o->kind = kinds[ch - QOPT_ACCOUNT];
            o->ident = optarg;
            break;
        default:
            return usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* The score.get result as a new JSON object. */
static json_t *
json_score_result(const struct proto_score_result *r)
{
    json_t *o = json_object(), *reasons, *x;
    char t[UTCTIME_TEXT_MAX];

    utctime_format(r->ts, t, sizeof(t));
    jset(o, "order", jstr(r->order));
    jset(o, "storefront", jstr(r->storefront));
    if (r->account[0] != '\0')
        jset(o, "account", jstr(r->account));
    jset(o, "ts", ju64(r->ts));
    jset(o, "time", jstr(t));
    jset(o, "amount", ju64(r->amount));
    jset(o, "scored", json_boolean(r->scored));
    if (r->scored) {
        jset(o, "score", ju64(r->score));
        jset(o, "decision", jstr(proto_decision_name(r->decision)));
    }
    jset(o, "reasons_known", json_boolean(r->reasons_known));
    if (r->reasons_known) {
        reasons = json_array();
        for (unsigned i = 0; i < r->nreasons; i++) {
            x = json_object();
            jset(x, "code", jstr(r->reasons[i].code));
            jset(x, "text", jstr(r->reasons[i].text));
            jset(x, "value", jreal(r->reasons[i].value));
            jpush(reasons, x);
        }
        jset(o, "reasons", reasons);
    }
    return o;
}

static void
print_score_result(const struct proto_score_result *r)
{
    char t[UTCTIME_TEXT_MAX];

    fmt_time(r->ts, t, sizeof(t));
    printf("order:      %s (storefront %s)\n", r->order, r->storefront);
    printf("account:    %s\n", r->account[0] ? r->account : "-");
    printf("time:       %s\n", t);
    printf("amount:     %" PRIu64 " (minor units)\n", r->amount);
    if (r->scored)
        printf("score:      %u\ndecision:   %s\n", (unsigned)r->score,
            proto_decision_name(r->decision));
    else
        printf("score:      - (not scored)\n");
    if (!r->reasons_known) {
        printf("reasons:    not available from the order record\n");
        return;
    }
    for (unsigned i = 0; i < r->nreasons; i++)
        printf("reason:     %s (%g): %s\n", r->reasons[i].code,
            r->reasons[i].value, r->reasons[i].text);
}

static void
print_age(const char *label, int64_t ms)
{
    if (ms < 0)
        printf("%-22s -\n", label);
    else
        printf("%-22s %" PRId64 " s\n", label, ms / 1000);
}

/* The account.get result as a new JSON object. */
static json_t *
json_account_result(const struct proto_account_result *a)
{
    json_t *o = json_object();

    jset(o, "account", jstr(a->account));
    jset(o, "storefront", jstr(a->storefront));
    jset(o, "as_of", ju64(a->as_of));
    jset(o, "known", json_boolean(a->known));
    if (a->first_seen_age_ms >= 0)
        jset(o, "first_seen_age_ms", json_integer(a->first_seen_age_ms));
    if (a->account_age_ms >= 0)
        jset(o, "account_age_ms", json_integer(a->account_age_ms));
    jset(o, "orders_1h", ju64(a->orders_1h));
    jset(o, "orders_24h", ju64(a->orders_24h));
    jset(o, "failed_payments_1h", ju64(a->failed_payments_1h));
    jset(o, "failed_payments_24h", ju64(a->failed_payments_24h));
    jset(o, "failed_logins_1h", ju64(a->failed_logins_1h));
    jset(o, "orders_total", ju64(a->orders_total));
    jset(o, "amount_mean", ju64(a->amount_mean));
    jset(o, "amount_max", ju64(a->amount_max));
    if (a->country[0] != '\0')
        jset(o, "country", jstr(a->country));
    jset(o, "fraud", json_boolean(a->fraud));
    return o;
}

static void
print_account_result(const struct proto_account_result *a)
{
    char t[UTCTIME_TEXT_MAX];

    fmt_time(a->as_of, t, sizeof(t));
    printf("%-22s %s (storefront %s)\n", "account:", a->account, a->storefront);
    printf("%-22s %s\n", "as of:", t);
    print_age("first seen (age):", a->first_seen_age_ms);
    print_age("signed up (age):", a->account_age_ms);
    printf("%-22s %u / %u\n", "orders 1h / 24h:", a->orders_1h, a->orders_24h);
    printf("%-22s %u / %u\n", "failed payments 1h/24h:", a->failed_payments_1h,
        a->failed_payments_24h);
    printf("%-22s %u\n", "failed logins 1h:", a->failed_logins_1h);
    printf("%-22s %u (mean %" PRIu64 ", max %" PRIu64 ")\n",
        "orders total:", a->orders_total, a->amount_mean, a->amount_max);
    printf("%-22s %s\n", "last IP country:", a->country[0] ? a->country : "-");
    printf("%-22s %s\n", "fraud flag:", a->fraud ? "yes" : "no");
}

/*
 * Send `q` to `endpoint` and wait QUERY_TIMEOUT_MS for the reply frame,
 * copied into `*reply` (caller frees reply->data with buf_release).
 * Returns 0, ERR_AGAIN (timeout), ERR_MALFORMED (not one frame) or
 * another ERR_* of the socket layer.
 */
static int
query_roundtrip(
    const char *endpoint, const struct proto_query *q, struct buf *reply)
{
    struct buf req;
    struct iovec iov;
    struct zsock_msg m;
    zmq_pollitem_t pi;
    void *ctx, *sock = NULL;
    int rc, nready = 0;

    memset(&m, 0, sizeof(m));
    buf_init(&req, PROTO_QUERY_MAX_BYTES);
    rc = proto_query_encode(&req, q);
    if (rc != 0)
        goto out_buf;
    ctx = zsock_ctx_new();
    if (ctx == NULL) {
        rc = ERR_IO;
        goto out_buf;
    }
    rc = zsock_open(ctx, ZMQ_REQ, &sock);
    if (rc != 0)
        goto out_ctx;
    rc = zsock_connect(sock, endpoint);
    if (rc != 0)
        goto out_sock;
    iov.iov_base = req.data;
    iov.iov_len = req.len;
    rc = zsock_send_parts(sock, &iov, 1, ZMQ_DONTWAIT);
    if (rc == ERR_AGAIN) /* not connected yet: queue it, bounded below */
        rc = zsock_send_parts(sock, &iov, 1, 0);
    if (rc != 0)
        goto out_sock;
    pi.socket = sock;
    pi.fd = 0;
    pi.events = ZMQ_POLLIN;
    pi.revents = 0;
    rc = zsock_poll(&pi, 1, QUERY_TIMEOUT_MS, &nready);
    if (rc != 0)
        goto out_sock;
    if (nready == 0) {
        rc = ERR_AGAIN;
        goto out_sock;
    }
    rc = zsock_recv_msg(sock, &m, 0);
    if (rc != 0)
        goto out_sock;
    if (m.nparts != 1 || m.overflow) {
        rc = ERR_MALFORMED;
        goto out_msg;
    }
    rc = buf_append(reply, zsock_msg_data(&m, 0), zsock_msg_size(&m, 0));
out_msg:
    zsock_msg_close(&m);
out_sock:
    zsock_close(sock);
out_ctx:
    zsock_ctx_term(ctx);
out_buf:
    buf_release(&req);
    return rc;
}

static int
run_query(const struct cmd *c, int argc, char **argv, enum proto_qop op)
{
    struct proto_query q;
    struct proto_query_reply *r = NULL;
    struct qopts o;
    struct buf reply;
    char msg[PROTO_MSG_MAX + 1];
    uint8_t rnd[6];
    const char *arg;
    int rc, status;

    rc = get_qopts(c, argc, argv, false, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cmd_usage(c, stdout);
        return EXIT_OK;
    }
    if (argc - optind != 1)
        return usage_error(c, "wrong number of arguments");
    if (o.purpose == NULL)
        return usage_error(c, "--purpose is required (e.g. fraud-prevention)");
    arg = argv[optind];
    memset(&q, 0, sizeof(q));
    q.op = op;
    randombytes_buf(rnd, sizeof(rnd));
    snprintf(q.id, sizeof(q.id), "vigilctl-%ld-%02x%02x%02x%02x%02x%02x",
        (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
    if (strlen(o.purpose) >= sizeof(q.purpose) ||
        (o.storefront != NULL &&
            strlen(o.storefront) >= sizeof(q.storefront)) ||
        strlen(arg) >= sizeof(q.order))
        return usage_error(c, "an argument is too long");
    memcpy(q.purpose, o.purpose, strlen(o.purpose) + 1);
    if (o.storefront != NULL)
        memcpy(q.storefront, o.storefront, strlen(o.storefront) + 1);
    if (op == PROTO_QOP_SCORE_GET)
        memcpy(q.order, arg, strlen(arg) + 1);
    else
        memcpy(q.account, arg, strlen(arg) + 1);
    buf_init(&reply, PROTO_QUERY_MAX_BYTES);
    rc = query_roundtrip(o.endpoint, &q, &reply);
    if (rc == ERR_AGAIN) {
        fprintf(stderr,
            "%s: no reply from %s within %d s (is vigil-scorer running "
            "with that query_endpoint?)\n",
            PROGNAME, o.endpoint, QUERY_TIMEOUT_MS / 1000);
        status = EXIT_USAGE;
        goto done;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, o.endpoint, err_str(rc));
        status = EXIT_USAGE;
        goto done;
    }
    r = xmalloc(sizeof(*r));
    rc = proto_query_reply_decode(
        r, op, reply.data, reply.len, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "%s: %s: bad reply: %s\n", PROGNAME, o.endpoint, msg);
        status = EXIT_USAGE;
        goto done;
    }
    if (o.json) {
        json_t *j = json_object();

        jset(j, "id", jstr(r->id));
        jset(j, "ok", json_boolean(r->code == 0));
        jset(j, "code", jstr(err_name(r->code)));
        jset(j, "msg", jstr(r->msg));
        if (r->has_result)
            jset(j, "result",
                op == PROTO_QOP_SCORE_GET ? json_score_result(&r->score) :
                                            json_account_result(&r->account));
        jprint(stdout, j);
    } else if (r->code == 0 && r->has_result) {
        if (op == PROTO_QOP_SCORE_GET)
            print_score_result(&r->score);
        else
            print_account_result(&r->account);
    }
    if (r->code != 0) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, err_name(r->code), r->msg);
        status = EXIT_BAD;
    } else {
        status = EXIT_OK;
    }
done:
    if (r != NULL) {
        sodium_memzero(r, sizeof(*r));
        free(r);
    }
    buf_wipe_release(&reply);
    return status;
}

static int
cmd_score(const struct cmd *c, int argc, char **argv)
{
    return run_query(c, argc, argv, PROTO_QOP_SCORE_GET);
}

static int
cmd_account(const struct cmd *c, int argc, char **argv)
{
    return run_query(c, argc, argv, PROTO_QOP_ACCOUNT_GET);
}

/* ---------------------------------------------- audit subject report */

/* One access found for the subject. */
struct subj_hit {
    struct audit_record rec;
    uint8_t leaf[MERKLE_HASH_BYTES];
    bool in_index; /* the index named it */
    bool in_scan;  /* the scan found the subject in it */
};

struct subj_ctx {
    uint8_t subject[AUDIT_SUBJECT_BYTES];
    const uint64_t *idx; /* sorted record indices from the index */
    size_t nidx;
    size_t next;                 /* first idx entry not yet passed */
    struct merkle_levels levels; /* every leaf: proofs without re-reading */
    struct subj_hit *hits;
    size_t nhits;
    size_t cap;
};

static int
subject_cb(void *arg, const struct audit_entry *e)
{
    struct subj_ctx *x = arg;
    const struct audit_record *r = e->rec;
    bool in_index = false, in_scan = false;
    struct subj_hit *h;

    merkle_levels_append(&x->levels, e->leaf_hash);
    while (x->next < x->nidx && x->idx[x->next] < r->index)
        x->next++;
    if (x->next < x->nidx && x->idx[x->next] == r->index)
        in_index = true;
    for (unsigned i = 0; i < r->nsubj; i++)
        if (memcmp(r->subj[i], x->subject, AUDIT_SUBJECT_BYTES) == 0)
            in_scan = true;
    if (!in_index && !in_scan)
        return 0;
    if (x->nhits == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->hits = xreallocarray(x->hits, x->cap, sizeof(*x->hits));
    }
    h = &x->hits[x->nhits++];
    h->rec = *r;
    memcpy(h->leaf, e->leaf_hash, MERKLE_HASH_BYTES);
    h->in_index = in_index;
    h->in_scan = in_scan;
    return 0;
}

/* Compute the subject of `kind` ("account", "email", ...) and `ident`
 * with DATA_DIR's pseudonym key; says why not on stderr. Returns
 * EXIT_OK or EXIT_USAGE. */
static int
subject_compute(const char *data_dir, const char *kind, const char *ident,
    uint8_t out[AUDIT_SUBJECT_BYTES])
{
    struct pseudo_key *pk = NULL;
    struct pseudo p;
    char path[4096];
    int rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir,
            PSEUDO_KEY_FILE) >= sizeof(path)) {
        fprintf(stderr, "%s: %s: path too long\n", PROGNAME, data_dir);
        return EXIT_USAGE;
    }
    rc = pseudo_key_open(path, false, &pk);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: cannot load the pseudonym key: %s\n", PROGNAME,
            path, err_str(rc));
        return EXIT_USAGE;
    }
    rc = pseudo_identifier(pk, kind, ident, &p);
    pseudo_key_close(pk);
    if (rc == 0)
        memcpy(out, p.b, AUDIT_SUBJECT_BYTES);
    sodium_memzero(&p, sizeof(p));
    if (rc != 0) {
        fprintf(stderr,
            "%s: --%s: not a usable %s identifier (%s): nothing is left "
            "after normalization, or it does not parse\n",
            PROGNAME, kind, kind, err_str(rc));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

static int
cmd_audit_subject_report(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res = NULL;
    struct subj_ctx x;
    struct jstream js;
    struct qopts o;
    char dir[4096], origin[AUDIT_MAX_ORIGIN + 1], t[64], cats[128];
    char subjhex[2 * AUDIT_SUBJECT_BYTES + 1];
    uint8_t root[MERKLE_HASH_BYTES];
    uint8_t(*proof)[MERKLE_HASH_BYTES] = NULL;
    uint64_t *idx = NULL, ck_size = 0;
    size_t nidx = 0, only_scan = 0, only_index = 0, nproof;
    const char *why = NULL, *index_state;
    const char *data_dir;
    bool have_ckpt = false;
    int rc, status = EXIT_OK;

    memset(&x, 0, sizeof(x));
    rc = get_qopts(c, argc, argv, true, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cmd_usage(c, stdout);
        return EXIT_OK;
    }
    if (argc - optind != 1)
        return usage_error(c, "wrong number of arguments");
    if (o.kind == NULL)
        return usage_error(c,
            "name the subject: --account, --email, --phone, --card, "
            "--device or --ip");
    data_dir = argv[optind];
    rc = subject_compute(data_dir, o.kind, o.ident, x.subject);
    if (rc != EXIT_OK)
        return rc;
    for (size_t i = 0; i < AUDIT_SUBJECT_BYTES; i++)
        snprintf(subjhex + 2 * i, 3, "%02x", x.subject[i]);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/audit", data_dir) >= sizeof(dir))
        return usage_error(c, "data directory path too long");

    /* 1. The index: which records name the subject. */
    rc = subjidx_read(data_dir, x.subject, &idx, &nidx);
    if (rc == 0) {
        index_state = "used";
    } else {
        index_state = "missing";
        fprintf(stderr,
            "%s: warning: the subject index in %s/%s cannot be read "
            "(%s): falling back to a full scan of the log\n",
            PROGNAME, data_dir, SUBJIDX_ENV_DIR, err_str(rc));
    }
    x.idx = idx;
    x.nidx = nidx;

    /*
     * 2. One verifying pass over the whole log: it collects the records
     * (from the index, cross-checked by subject) and keeps every leaf
     * hash (merkle_levels, about 64 bytes per record), so that each
     * inclusion proof is then O(log n) lookups, not a rebuild.
     */
    merkle_levels_init(&x.levels);
    res = xmalloc(sizeof(*res));
    rc = audit_replay(dir, o.key, NULL, subject_cb, &x, res);
    if (rc != 0) {
        print_failure(dir, rc, res);
        status = exit_for(rc);
        goto out;
    }
    for (size_t i = 0; i < x.nhits; i++) {
        if (!x.hits[i].in_index)
            only_scan++;
        if (!x.hits[i].in_scan)
            only_index++;
    }
    if (rc == 0 && strcmp(index_state, "used") == 0 && only_scan > 0) {
        index_state = "behind";
        fprintf(stderr,
            "%s: warning: the subject index is behind the log (%zu "
            "record(s) found only by the scan): they are listed too\n",
            PROGNAME, only_scan);
    }
    if (only_index > 0)
        fprintf(stderr,
            "%s: warning: %zu index entr%s name records that do not hold "
            "the subject: ignored (the index is rebuilt by the scorer)\n",
            PROGNAME, only_index, only_index == 1 ? "y" : "ies");

    /* 3. The latest signed checkpoint (verified by the pass). */
    if (res->note_len > 0) {
        rc = audit_checkpoint_open(res->key, (const uint8_t *)res->note,
            res->note_len, origin, &ck_size, root, &why);
        if (rc != 0) {
            fprintf(stderr, "%s: %s: latest checkpoint: %s\n", PROGNAME, dir,
                why ? why : err_str(rc));
            status = EXIT_BAD;
            goto out;
        }
        have_ckpt = true;
    }

    if (o.json) {
        json_t *head = json_object();

        jset(head, "kind", jstr(o.kind));
        jset(head, "subject", jstr(subjhex));
        jset(head, "index", jstr(index_state));
        jset(head, "records_verified", ju64(res->records));
        jset(head, "checkpoint_size", ju64(ck_size));
        jset(head, "checkpoint",
            have_ckpt ? jstrn(res->note, res->note_len) : json_null());
        jstream_open(&js, stdout, head, "accesses");
    } else {
        printf("subject report for %s '%s' (subject %s)\n", o.kind, o.ident,
            subjhex);
        printf("log: %s: %" PRIu64 " records verified; ", dir, res->records);
        print_key_source(res, stdout);
        if (have_ckpt)
            printf("latest signed checkpoint: size %" PRIu64 "\n", ck_size);
        else
            printf("warning: no signed checkpoint yet\n");
        printf("index: %s\n", index_state);
        printf("INDEX\tTIME\tACTOR\tROLE\tOP\tCATS\tPURPOSE\tOUTCOME\tREF"
               "\tPROOF\n");
    }
    proof = xcalloc(MERKLE_MAX_PROOF, sizeof(*proof));
    size_t shown = 0;
    for (size_t i = 0; i < x.nhits; i++) {
        const struct subj_hit *h = &x.hits[i];
        const struct audit_record *r = &h->rec;
        uint64_t size;
        const uint8_t *against;
        bool signed_ck, ok;

        if (!h->in_scan)
            continue;
        /* Against the signed checkpoint when it covers the record, else
         * against the (unsigned) root of every verified record. */
        signed_ck = have_ckpt && r->index < ck_size;
        size = signed_ck ? ck_size : res->records;
        against = signed_ck ? root : res->root;
        rc = merkle_inclusion_proof(
            merkle_levels_subtree, &x.levels, r->index, size, proof, &nproof);
        ok = rc == 0 &&
            merkle_verify_inclusion(r->index, size, h->leaf,
                (const uint8_t(*)[MERKLE_HASH_BYTES])proof, nproof,
                against) == 0;
        if (!ok)
            status = EXIT_BAD;
        if (o.json) {
            json_t *a = json_record(r), *pr = json_object();
            json_t *hashes = json_array();

            jset(a, "leaf_hash", jhex(h->leaf, MERKLE_HASH_BYTES));
            jset(pr, "size", ju64(size));
            jset(pr, "signed", json_boolean(signed_ck));
            jset(pr, "verified", json_boolean(ok));
            for (size_t j = 0; ok && j < nproof; j++)
                jpush(hashes, jhex(proof[j], MERKLE_HASH_BYTES));
            jset(pr, "hashes", hashes);
            jset(a, "proof", pr);
            jstream_item(&js, a);
        } else {
            fmt_time(r->ts_ms, t, sizeof(t));
            cats_list(r->cats, cats, sizeof(cats));
            printf("%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", r->index, t,
                r->actor, audit_role_name(r->role), r->op, cats[0] ? cats : "-",
                r->purpose, audit_outcome_name(r->outcome),
                r->ref[0] ? r->ref : "-");
            if (!ok)
                printf("FAILED\n");
            else if (signed_ck)
                printf(
                    "ok (%zu hashes, checkpoint %" PRIu64 ")\n", nproof, size);
            else
                printf("ok (%zu hashes, unsigned root of %" PRIu64
                       ": no checkpoint covers it yet)\n",
                    nproof, size);
        }
        shown++;
    }
    if (o.json) {
        json_t *tail = json_object();

        jset(tail, "count", ju64(shown));
        jset(tail, "proofs_ok", json_boolean(status == EXIT_OK));
        jstream_close(&js, tail);
    } else
        printf("accesses: %zu%s\n", shown,
            status == EXIT_OK ? ", every proof verified" :
                                "; SOME PROOFS FAILED");
out:
    free(proof);
    free(res);
    free(idx);
    if (x.hits != NULL) {
        sodium_memzero(x.hits, x.cap * sizeof(*x.hits));
        free(x.hits);
    }
    merkle_levels_release(&x.levels);
    sodium_memzero(x.subject, sizeof(x.subject));
    return status;
}

static const struct cmd cmds[] = {
    { "help", "[COMMAND ...]", cmd_help,
        "show the commands, or one command's usage" },
    { "audit verify", "DIR [--key VERIFIER]", cmd_audit_verify,
        "verify every record and signed checkpoint of the audit log" },
    { "audit replay",
        "DIR [--from T] [--to T] [--actor A] [--subject HEX] "
        "[--purpose P] [--json] [--key VERIFIER]",
        cmd_audit_replay,
        "list the records (verifying them) that pass the filters" },
    { "audit prove inclusion", "DIR N [--size M] [--key VERIFIER]",
        cmd_audit_prove_inclusion,
        "print the JSON proof that record N is in the tree of M records" },
    { "audit prove consistency", "DIR OLD NEW [--key VERIFIER]",
        cmd_audit_prove_consistency,
        "print the JSON proof that the log of NEW extends the log of OLD" },
    { "audit check-proof",
        "PROOF.json|- --key VERIFIER [--checkpoint FILE ...]",
        cmd_audit_check_proof,
        "check a proof with only the verifier key and signed checkpoints" },
    { "audit export", "--json DIR [--key VERIFIER]", cmd_audit_export,
        "print the whole log as one JSON object (verifying it)" },
    { "audit pubkey", "DIR", cmd_audit_pubkey,
        "print the log's verifier key (verifier.key)" },
    { "audit subject report",
        "DATA_DIR (--account ID | --email ADDR | --phone P | --card NUMBER "
        "| --device ID | --ip ADDR) [--key VERIFIER] [--json]",
        cmd_audit_subject_report,
        "list every audited access to one data subject, each with a "
        "verified inclusion proof" },
    { "score", "ORDER --purpose P [--endpoint E] [--storefront S] [--json]",
        cmd_score, "ask the scorer for an order's score (audited query)" },
    { "account", "ACCOUNT --purpose P [--endpoint E] [--storefront S] [--json]",
        cmd_account,
        "ask the scorer for an account's history summary (audited query)" },
};

static void
cmd_usage(const struct cmd *c, FILE *f)
{
    fprintf(f, "usage: %s %s %s\n  %s\n", PROGNAME, c->name, c->args, c->help);
}

static void
usage_all(FILE *f)
{
    fprintf(f,
        "usage: %s COMMAND [ARGS...]\n       %s -h | help "
        "[COMMAND]\n\ncommands:\n",
        PROGNAME, PROGNAME);
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
        fprintf(
            f, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
    fprintf(f,
        "\nexit status: 0 ok, 1 the data is bad (e.g. verification "
        "failed), 2 usage or environment error\nsee vigilctl(1), "
        "vigil-audit(5)\n");
}

/* Does `name` start with the words argv[0..argc)? (prefix listing) */
static bool
name_has_prefix(const char *name, int argc, char **argv)
{
    const char *p = name;

    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);

        if (strncmp(p, argv[i], n) != 0 || (p[n] != ' ' && p[n] != '\0'))
            return false;
        p += n;
        if (*p == ' ')
            p++;
        else if (i + 1 < argc)
            return false;
    }
    return true;
}

/* List the rows that start with argv's words; returns how many. */
static int
list_prefix(FILE *f, int argc, char **argv)
{
    int n = 0;

    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (name_has_prefix(cmds[i].name, argc, argv)) {
            cmd_usage(&cmds[i], f);
            n++;
        }
    }
    return n;
}

static int
cmd_help(const struct cmd *c, int argc, char **argv)
{
    const struct cmd *t;
    int words;

    (void)c;
    if (argc <= 1) {
        usage_all(stdout);
        return EXIT_OK;
    }
    t = find_cmd(argc - 1, argv + 1, &words);
    if (t != NULL && words == argc - 1) {
        cmd_usage(t, stdout);
        return EXIT_OK;
    }
    if (list_prefix(stdout, argc - 1, argv + 1) > 0)
        return EXIT_OK;
    fprintf(stderr, "%s: no command '%s'\n", PROGNAME, argv[1]);
    return EXIT_USAGE;
}

/* The longest row whose words start argv; *words gets its word count. */
static const struct cmd *
find_cmd(int argc, char **argv, int *words)
{
    const struct cmd *best = NULL;
    int bestw = 0;

    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        const char *p = cmds[i].name;
        int w = 0;

        while (*p != '\0' && w < argc) {
            size_t n = strcspn(p, " ");

            if (strlen(argv[w]) != n || strncmp(p, argv[w], n) != 0)
                break;
            p += n;
            w++;
            if (*p == ' ')
                p++;
            else if (*p != '\0')
                break;
        }
        if (*p == '\0' && w > bestw) {
            best = &cmds[i];
            bestw = w;
        }
    }
    *words = bestw;
    return best;
}

int
main(int argc, char **argv)
{
    const struct cmd *c;
    int words;

    log_init(PROGNAME, true);
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", PROGNAME);
        return EXIT_USAGE;
    }
    json_set_alloc_funcs(wiped_alloc, wiped_free);
    if (argc < 2) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage_all(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", PROGNAME, VIGIL_VERSION);
        return EXIT_OK;
    }
    c = find_cmd(argc - 1, argv + 1, &words);
    if (c == NULL) {
        if (list_prefix(stderr, argc - 1, argv + 1) == 0) {
            fprintf(stderr, "%s: unknown command '%s'\n", PROGNAME, argv[1]);
            usage_all(stderr);
        }
        return EXIT_USAGE;
    }
    /* The handler sees argv[0] = the command's last word. */
    return c->handler(c, argc - words, argv + words);
}
