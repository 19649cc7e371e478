/*
 * vigilctl.c - Vigil's command-line tool: audit log verification, replay,
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
 *  - every JSON output is one valid JSON value with escaped strings, even
 *    when verification fails half-way (the failure is then part of it).
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/qproto.h"
#include "common/pseudo.h"
#include "common/store.h"
#include "common/zsock.h"
#include "common/xmalloc.h"

#define PROGNAME       "vigilctl"
#define EXIT_OK        0
#define EXIT_BAD       1
#define EXIT_USAGE     2
#define MAX_JSON_BYTES (1024 * 1024)
#define MAX_JSON_DEPTH 16

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

/* Write `s` as a JSON string: quotes, backslashes and control characters
 * escaped; other bytes (valid UTF-8 in our data) as they are. */
static void
json_str(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else {
            fputc(c, f);
        }
    }
    fputc('"', f);
}

static void
json_cstr(FILE *f, const char *s)
{
    json_str(f, s, strlen(s));
}

static void
json_hex(FILE *f, const uint8_t *p, size_t n)
{
    fputc('"', f);
    put_hex(f, p, n);
    fputc('"', f);
}

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static void
fmt_time(uint64_t ms, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(out, outlen, "%" PRIu64, ms);
        return;
    }
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, (unsigned)(ms % 1000));
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

/* The decoded fields of `r` as JSON members (no braces). */
static void
json_record_fields(FILE *f, const struct audit_record *r)
{
    char t[64];
    bool first = true;

    fmt_time(r->ts_ms, t, sizeof(t));
    fprintf(f,
        "\"index\":%" PRIu64 ",\"ts\":%" PRIu64 ",\"time\":\"%s\","
        "\"actor\":",
        r->index, r->ts_ms, t);
    json_cstr(f, r->actor);
    fprintf(f, ",\"role\":\"%s\",\"op\":", audit_role_name(r->role));
    json_cstr(f, r->op);
    fputs(",\"cats\":[", f);
    for (unsigned i = 0; i < AUDIT_CAT_COUNT; i++) {
        if (r->cats & (1u << i)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", audit_cat_name(1u << i));
            first = false;
        }
    }
    fputs("],\"subj\":[", f);
    for (unsigned i = 0; i < r->nsubj; i++) {
        if (i > 0)
            fputc(',', f);
        json_hex(f, r->subj[i], AUDIT_SUBJECT_BYTES);
    }
    fputs("],\"purpose\":", f);
    json_cstr(f, r->purpose);
    fprintf(f, ",\"outcome\":\"%s\",\"ref\":", audit_outcome_name(r->outcome));
    json_cstr(f, r->ref);
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

/* The verification failure as JSON members ("verified" and "error"). */
static void
json_result(FILE *f, int rc, const struct audit_verify_result *res)
{
    fprintf(f,
        "\"verified\":%s,\"records_verified\":%" PRIu64
        ",\"checkpoints_verified\":%" PRIu64 ",\"checkpoint_size\":%" PRIu64
        ",\"key_source\":\"%s\",\"error\":",
        rc == 0 ? "true" : "false", res->records, res->checkpoints,
        res->checkpoint_size, res->key_from_dir ? "dir" : "argument");
    if (rc == 0) {
        fputs("null", f);
        return;
    }
    fputs("{\"record\":", f);
    if (res->bad_record == UINT64_MAX)
        fputs("null", f);
    else
        fprintf(f, "%" PRIu64, res->bad_record);
    fputs(",\"record_end\":", f);
    if (res->bad_record == UINT64_MAX)
        fputs("null", f);
    else
        fprintf(f, "%" PRIu64, res->bad_record_end);
    fputs(",\"checkpoint\":", f);
    if (res->bad_checkpoint == UINT64_MAX)
        fputs("null", f);
    else
        fprintf(f, "%" PRIu64, res->bad_checkpoint);
    fputs(",\"file\":", f);
    json_cstr(f, res->file);
    fprintf(f, ",\"offset\":%" PRIu64 ",\"reason\":", res->offset);
    json_cstr(f, res->reason);
    fputc('}', f);
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
parse_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return ERR_INVAL;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

/* Parse ms since the epoch, or ISO 8601 UTC: YYYY-MM-DD, optionally
 * followed by THH:MM, :SS, .fff (1-3 digits) and Z. */
static int
parse_time(const char *s, uint64_t *out)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    time_t t;

    if (strchr(s, '-') == NULL)
        return parse_u64(s, out);
    memset(&tm, 0, sizeof(tm));
    if (parse_digits(&s, 4, &y) != 0 || *s++ != '-' ||
        parse_digits(&s, 2, &mo) != 0 || *s++ != '-' ||
        parse_digits(&s, 2, &d) != 0)
        return ERR_INVAL;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (parse_digits(&s, 2, &h) != 0 || *s++ != ':' ||
            parse_digits(&s, 2, &mi) != 0)
            return ERR_INVAL;
        if (*s == ':') {
            s++;
            if (parse_digits(&s, 2, &sec) != 0)
                return ERR_INVAL;
            if (*s == '.') {
                int k = 0;

                s++;
                while (*s >= '0' && *s <= '9' && k < 3) {
                    ms = ms * 10 + (*s++ - '0');
                    k++;
                }
                if (k == 0)
                    return ERR_INVAL;
                while (k++ < 3)
                    ms *= 10;
            }
        }
        if (*s == 'Z')
            s++;
    }
    if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60 || y < 1970)
        return ERR_INVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1 || t < 0)
        return ERR_INVAL;
    *out = (uint64_t)t * 1000 + (uint64_t)ms;
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
            if (parse_time(optarg, &o->filter.from_ms) != 0)
                return usage_error(
                    c, "bad time '%s' (ms or ISO 8601 UTC)", optarg);
            break;
        case OPT_TO:
            if (parse_time(optarg, &o->filter.to_ms) != 0)
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
    bool json;
    bool export;
    uint64_t n;
};

static int
replay_cb(void *arg, const struct audit_entry *e)
{
    struct replay_ctx *x = arg;

    if (!x->json) {
        tsv_record(stdout, e->rec);
        x->n++;
        return 0;
    }
    fputs(x->n ? ",\n{" : "\n{", stdout);
    json_record_fields(stdout, e->rec);
    if (x->export) {
        fputs(",\"raw\":", stdout);
        json_hex(stdout, e->raw, e->raw_len);
        fputs(",\"leaf_hash\":", stdout);
        json_hex(stdout, e->leaf_hash, MERKLE_HASH_BYTES);
        fputs(",\"file\":", stdout);
        json_cstr(stdout, e->file);
        fprintf(stdout, ",\"offset\":%" PRIu64, e->offset);
    }
    fputc('}', stdout);
    x->n++;
    return 0;
}

static int
run_replay(const char *dir, struct opts *o, bool export)
{
    struct audit_verify_result *res = xmalloc(sizeof(*res));
    struct replay_ctx x = { o->json, export, 0 };
    int rc;

    if (o->json)
        fputs("{\"records\":[", stdout);
    rc = audit_replay(
        dir, o->key, export ? NULL : &o->filter, replay_cb, &x, res);
    if (o->json) {
        fprintf(stdout, "\n],\"count\":%" PRIu64 ",", x.n);
        if (export) {
            char key[NOTE_MAX_KEY];

            fputs("\"verifier_key\":", stdout);
            if (audit_read_verifier_key(dir, key, sizeof(key)) == 0)
                json_cstr(stdout, key);
            else
                fputs("null", stdout);
            fputs(",\"checkpoint\":", stdout);
            if (res->note_len > 0)
                json_str(stdout, res->note, res->note_len);
            else
                fputs("null", stdout);
            fputc(',', stdout);
        }
        json_result(stdout, rc, res);
        fputs("}\n", stdout);
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

static void
json_note(FILE *f, const char *name, const char *note)
{
    fprintf(f, ",\"%s\":", name);
    if (note[0] != '\0')
        json_cstr(f, note);
    else
        fputs("null", f);
}

static void
json_hashes(FILE *f, const struct audit_proof *p)
{
    fputs(",\"proof\":[", f);
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0)
            fputc(',', f);
        json_hex(f, p->hashes[i], MERKLE_HASH_BYTES);
    }
    fputc(']', f);
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
        printf("{\"type\":\"inclusion\",\"index\":%" PRIu64 ",\"size\":%" PRIu64
               ",\"record\":",
            p->index, p->size);
        json_hex(stdout, p->raw, p->raw_len);
        fputs(",\"leaf_hash\":", stdout);
        json_hex(stdout, p->leaf_hash, MERKLE_HASH_BYTES);
        json_hashes(stdout, p);
        fputs(",\"root\":", stdout);
        json_hex(stdout, p->root, MERKLE_HASH_BYTES);
        json_note(stdout, "checkpoint", p->note);
        fputs("}\n", stdout);
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
        printf("{\"type\":\"consistency\",\"old_size\":%" PRIu64
               ",\"size\":%" PRIu64,
            p->old_size, p->size);
        json_hashes(stdout, p);
        fputs(",\"old_root\":", stdout);
        json_hex(stdout, p->old_root, MERKLE_HASH_BYTES);
        fputs(",\"root\":", stdout);
        json_hex(stdout, p->root, MERKLE_HASH_BYTES);
        json_note(stdout, "old_checkpoint", p->old_note);
        json_note(stdout, "checkpoint", p->note);
        fputs("}\n", stdout);
    }
    free(p);
    return prove_done(argv[optind], rc, res);
}

/* ------------------------------------------------------- JSON reader */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    enum jtype type;
    bool b;
    uint64_t num; /* J_NUM: non-negative integers only */
    char *s;      /* J_STR: NUL-terminated, may hold no NUL */
    size_t slen;
    struct jv *items; /* J_ARR, J_OBJ */
    char **keys;      /* J_OBJ */
    size_t n;
};

struct jp {
    const char *p;
    const char *end;
    const char *err;
};

static void
jv_free(struct jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    memset(v, 0, sizeof(*v));
}

static void
jp_ws(struct jp *j)
{
    while (j->p < j->end &&
        (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool
jp_fail(struct jp *j, const char *why)
{
    if (j->err == NULL)
        j->err = why;
    return false;
}

static void
utf8_put(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xc0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xe0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static bool
jp_hex4(struct jp *j, uint32_t *v)
{
    *v = 0;
    if (j->end - j->p < 4)
        return jp_fail(j, "truncated \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = *j->p++;

        *v <<= 4;
        if (c >= '0' && c <= '9')
            *v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *v |= (uint32_t)(c - 'A' + 10);
        else
            return jp_fail(j, "bad \\u escape");
    }
    return true;
}

static bool
jp_string(struct jp *j, char **out, size_t *outlen)
{
    /* Escapes only shrink, so the input length bounds the output. */
    const char *start = ++j->p;
    char *s;
    size_t n = 0;

    while (j->p < j->end && *j->p != '"') {
        if (*j->p == '\\')
            j->p++;
        j->p++;
    }
    if (j->p >= j->end)
        return jp_fail(j, "unterminated string");
    s = xmalloc((size_t)(j->p - start) + 1);
    j->p = start;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        uint32_t cp, lo;

        if (c < 0x20) {
            free(s);
            return jp_fail(j, "control character in a string");
        }
        if (c != '\\') {
            s[n++] = (char)c;
            continue;
        }
        c = (unsigned char)*j->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            s[n++] = (char)c;
            break;
        case 'b':
            s[n++] = '\b';
            break;
        case 'f':
            s[n++] = '\f';
            break;
        case 'n':
            s[n++] = '\n';
            break;
        case 'r':
            s[n++] = '\r';
            break;
        case 't':
            s[n++] = '\t';
            break;
        case 'u':
            if (!jp_hex4(j, &cp)) {
                free(s);
                return false;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') {
                    free(s);
                    return jp_fail(j, "lone surrogate");
                }
                j->p += 2;
                if (!jp_hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                    free(s);
                    return jp_fail(j, "bad surrogate pair");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(s);
                return jp_fail(j, "lone surrogate");
            }
            if (cp == 0) {
                free(s);
                return jp_fail(j, "NUL in a string");
            }
            utf8_put(s, &n, cp);
            break;
        default:
            free(s);
            return jp_fail(j, "bad escape");
        }
    }
    j->p++;
    s[n] = '\0';
    *out = s;
    *outlen = n;
    return true;
}

static bool
jp_value(struct jp *j, struct jv *v, int depth)
{
    memset(v, 0, sizeof(*v));
    if (depth > MAX_JSON_DEPTH)
        return jp_fail(j, "nested too deeply");
    jp_ws(j);
    if (j->p >= j->end)
        return jp_fail(j, "unexpected end");
    if (*j->p == '"') {
        v->type = J_STR;
        return jp_string(j, &v->s, &v->slen);
    }
    if (*j->p == '[' || *j->p == '{') {
        bool obj = *j->p == '{';
        size_t cap = 0;

        v->type = obj ? J_OBJ : J_ARR;
        j->p++;
        jp_ws(j);
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            return true;
        }
        for (;;) {
            if (v->n == cap) {
                cap = cap ? 2 * cap : 8;
                v->items = xreallocarray(v->items, cap, sizeof(*v->items));
                if (obj)
                    v->keys = xreallocarray(v->keys, cap, sizeof(char *));
            }
            if (obj) {
                size_t kl;

                jp_ws(j);
                if (j->p >= j->end || *j->p != '"')
                    return jp_fail(j, "expected a key");
                if (!jp_string(j, &v->keys[v->n], &kl))
                    return false;
                jp_ws(j);
                if (j->p >= j->end || *j->p++ != ':') {
                    v->items[v->n++].type = J_NULL;
                    return jp_fail(j, "expected ':'");
                }
            }
            if (!jp_value(j, &v->items[v->n++], depth + 1))
                return false;
            jp_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
                j->p++;
                return true;
            }
            return jp_fail(j, "expected ',' or a closing bracket");
        }
    }
    if (*j->p >= '0' && *j->p <= '9') {
        uint64_t x = 0;

        v->type = J_NUM;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            unsigned d = (unsigned)(*j->p++ - '0');

            if (x > (UINT64_MAX - d) / 10)
                return jp_fail(j, "number too large");
            x = x * 10 + d;
        }
        if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
            return jp_fail(j, "only integers are expected");
        v->num = x;
        return true;
    }
    if (j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
        j->p += 4;
        v->type = J_NULL;
        return true;
    }
    if (j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
        j->p += 4;
        v->type = J_BOOL;
        v->b = true;
        return true;
    }
    if (j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
        j->p += 5;
        v->type = J_BOOL;
        return true;
    }
    return jp_fail(j, "unexpected character");
}

static const struct jv *
jv_get(const struct jv *o, const char *key, enum jtype type)
{
    if (o->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i].type == type ? &o->items[i] : NULL;
    }
    return NULL;
}

/* Read a whole file ("-": stdin) up to `max` bytes; caller frees. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *p;
    size_t n;

    if (f == NULL)
        return NULL;
    p = xmalloc(max + 1);
    n = fread(p, 1, max + 1, f);
    if (f != stdin)
        fclose(f);
    if (n > max) {
        free(p);
        errno = EFBIG;
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
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

/* Decode the proof's hash array; returns false if malformed. */
static bool
get_hashes(const struct jv *doc, uint8_t out[MERKLE_MAX_PROOF][32], size_t *n)
{
    const struct jv *a = jv_get(doc, "proof", J_ARR);

    if (a == NULL || a->n > MERKLE_MAX_PROOF)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type != J_STR ||
            parse_hex(a->items[i].s, out[i], MERKLE_HASH_BYTES) != 0)
            return false;
    }
    *n = a->n;
    return true;
}

static int
check_inclusion(const struct jv *doc, const struct checker *k)
{
    static uint8_t hashes[MERKLE_MAX_PROOF][32];
    uint8_t leaf[32], raw[AUDIT_MAX_RECORD_BYTES];
    const struct jv *index = jv_get(doc, "index", J_NUM);
    const struct jv *size = jv_get(doc, "size", J_NUM);
    const struct jv *rec = jv_get(doc, "record", J_STR);
    const struct jv *lh = jv_get(doc, "leaf_hash", J_STR);
    const uint8_t *root;
    size_t n, raw_len = 0;

    if (index == NULL || size == NULL || !get_hashes(doc, hashes, &n) ||
        (rec == NULL && lh == NULL)) {
        printf("FAIL: malformed inclusion proof\n");
        return EXIT_BAD;
    }
    if (rec != NULL) {
        struct audit_record r;
        const char *why;

        raw_len = rec->slen / 2;
        if (raw_len > sizeof(raw) || parse_hex(rec->s, raw, raw_len) != 0) {
            printf("FAIL: \"record\" is not the hex of a record\n");
            return EXIT_BAD;
        }
        merkle_leaf_hash(raw, raw_len, leaf);
        if (audit_record_decode(raw, raw_len, &r, &why) != 0) {
            printf("FAIL: \"record\" does not decode: %s\n", why);
            return EXIT_BAD;
        }
        if (r.index != index->num) {
            printf("FAIL: the record's index is %" PRIu64 ", the proof is "
                   "for %" PRIu64 "\n",
                r.index, index->num);
            return EXIT_BAD;
        }
        printf("record: ");
        tsv_record(stdout, &r);
    }
    if (lh != NULL) {
        uint8_t l2[32];

        if (parse_hex(lh->s, l2, 32) != 0 ||
            (rec != NULL && memcmp(l2, leaf, 32) != 0)) {
            printf("FAIL: \"leaf_hash\" is not the hash of \"record\"\n");
            return EXIT_BAD;
        }
        memcpy(leaf, l2, 32);
    }
    root = trusted_root(k, size->num);
    if (root == NULL) {
        printf("FAIL: no checkpoint signed by the key has size %" PRIu64
               " (pass one with --checkpoint)\n",
            size->num);
        return EXIT_BAD;
    }
    if (merkle_verify_inclusion(index->num, size->num, leaf,
            (const uint8_t(*)[32])hashes, n, root) != 0) {
        printf("FAIL: the inclusion proof does not verify: record %" PRIu64
               " is not leaf %" PRIu64 " of the signed tree of %" PRIu64
               " records\n",
            index->num, index->num, size->num);
        return EXIT_BAD;
    }
    printf("OK: record %" PRIu64 " is included in the signed log of %" PRIu64
           " records\n",
        index->num, size->num);
    return EXIT_OK;
}

static int
check_consistency(const struct jv *doc, const struct checker *k)
{
    static uint8_t hashes[MERKLE_MAX_PROOF][32];
    const struct jv *old = jv_get(doc, "old_size", J_NUM);
    const struct jv *size = jv_get(doc, "size", J_NUM);
    const uint8_t *r1, *r2;
    size_t n;

    if (old == NULL || size == NULL || !get_hashes(doc, hashes, &n)) {
        printf("FAIL: malformed consistency proof\n");
        return EXIT_BAD;
    }
    r1 = trusted_root(k, old->num);
    r2 = trusted_root(k, size->num);
    if (r1 == NULL || r2 == NULL) {
        printf("FAIL: no checkpoint signed by the key has size %" PRIu64
               " (pass one with --checkpoint)\n",
            r1 == NULL ? old->num : size->num);
        return EXIT_BAD;
    }
    if (merkle_verify_consistency(old->num, size->num, r1, r2,
            (const uint8_t(*)[32])hashes, n) != 0) {
        printf(
            "FAIL: the consistency proof does not verify: the log of %" PRIu64
            " records is not an extension of the log of %" PRIu64 " records\n",
            size->num, old->num);
        return EXIT_BAD;
    }
    printf("OK: the signed log of %" PRIu64 " records extends the signed "
           "log of %" PRIu64 " records (append-only)\n",
        size->num, old->num);
    return EXIT_OK;
}

static int
cmd_audit_check_proof(const struct cmd *c, int argc, char **argv)
{
    struct checker k = { NULL, NULL, 0 };
    struct jv doc;
    struct jp j;
    struct opts o;
    const struct jv *type, *note;
    char *text;
    size_t len;
    int rc = EXIT_OK;

    PROLOGUE(A_KEY A_CKPT, 1, 1);
    if (o.key == NULL) {
        free(o.ckpts);
        return usage_error(c, "check-proof needs --key VERIFIER");
    }
    k.key = o.key;
    text = slurp(argv[optind], MAX_JSON_BYTES, &len);
    if (text == NULL) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, argv[optind],
            strerror(errno));
        free(o.ckpts);
        return EXIT_USAGE;
    }
    j.p = text;
    j.end = text + len;
    j.err = NULL;
    if (!jp_value(&j, &doc, 0) || (jp_ws(&j), j.p != j.end) ||
        doc.type != J_OBJ) {
        printf("FAIL: the proof is not a JSON object: %s\n",
            j.err != NULL ? j.err : "trailing data");
        jv_free(&doc);
        free(text);
        free(o.ckpts);
        return EXIT_BAD;
    }
    note = jv_get(&doc, "old_checkpoint", J_STR);
    if (note != NULL)
        rc = trust_note(&k, "old_checkpoint in the proof", note->s, note->slen);
    note = jv_get(&doc, "checkpoint", J_STR);
    if (rc == EXIT_OK && note != NULL)
        rc = trust_note(&k, "checkpoint in the proof", note->s, note->slen);
    for (int i = 0; rc == EXIT_OK && i < o.nckpts; i++) {
        char *nt = slurp(o.ckpts[i], AUDIT_MAX_NOTE_BYTES, &len);

        if (nt == NULL) {
            fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, o.ckpts[i],
                strerror(errno));
            rc = EXIT_USAGE;
            break;
        }
        rc = trust_note(&k, o.ckpts[i], nt, len);
        free(nt);
    }
    type = jv_get(&doc, "type", J_STR);
    if (rc == EXIT_OK) {
        if (type != NULL && strcmp(type->s, "inclusion") == 0) {
            rc = check_inclusion(&doc, &k);
        } else if (type != NULL && strcmp(type->s, "consistency") == 0) {
            rc = check_consistency(&doc, &k);
        } else {
            printf("FAIL: \"type\" is not inclusion or consistency\n");
            rc = EXIT_BAD;
        }
    }
    free(k.t);
    jv_free(&doc);
    free(text);
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
 * query endpoint (common/qproto.h). Until CURVE lands
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

static void
json_result_str(FILE *f, const char *key, const char *v, bool comma)
{
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    json_cstr(f, v);
}

static void
print_score_result(const struct qproto_score_result *r, bool json)
{
    char t[64];

    fmt_time(r->ts, t, sizeof(t));
    if (json) {
        json_result_str(stdout, "order", r->order, false);
        json_result_str(stdout, "storefront", r->storefront, true);
        if (r->account[0] != '\0')
            json_result_str(stdout, "account", r->account, true);
        printf(",\"ts\":%" PRIu64 ",\"time\":\"%s\",\"amount\":%" PRIu64
               ",\"scored\":%s",
            r->ts, t, r->amount, r->scored ? "true" : "false");
        if (r->scored)
            printf(",\"score\":%u,\"decision\":\"%s\"", (unsigned)r->score,
                reply_decision_name(r->decision));
        printf(",\"reasons_known\":%s", r->reasons_known ? "true" : "false");
        if (r->reasons_known) {
            fputs(",\"reasons\":[", stdout);
            for (unsigned i = 0; i < r->nreasons; i++) {
                fputs(i ? ",{" : "{", stdout);
                json_result_str(stdout, "code", r->reasons[i].code, false);
                json_result_str(stdout, "text", r->reasons[i].text, true);
                printf(",\"value\":%.17g}", r->reasons[i].value);
            }
            fputc(']', stdout);
        }
        return;
    }
    printf("order:      %s (storefront %s)\n", r->order, r->storefront);
    printf("account:    %s\n", r->account[0] ? r->account : "-");
    printf("time:       %s\n", t);
    printf("amount:     %" PRIu64 " (minor units)\n", r->amount);
    if (r->scored)
        printf("score:      %u\ndecision:   %s\n", (unsigned)r->score,
            reply_decision_name(r->decision));
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

static void
print_account_result(const struct qproto_account_result *a, bool json)
{
    char t[64];

    fmt_time(a->as_of, t, sizeof(t));
    if (json) {
        json_result_str(stdout, "account", a->account, false);
        json_result_str(stdout, "storefront", a->storefront, true);
        printf(",\"as_of\":%" PRIu64 ",\"known\":%s", a->as_of,
            a->known ? "true" : "false");
        if (a->first_seen_age_ms >= 0)
            printf(",\"first_seen_age_ms\":%" PRId64, a->first_seen_age_ms);
        if (a->account_age_ms >= 0)
            printf(",\"account_age_ms\":%" PRId64, a->account_age_ms);
        printf(",\"orders_1h\":%u,\"orders_24h\":%u,\"failed_payments_1h\":%u"
               ",\"failed_payments_24h\":%u,\"failed_logins_1h\":%u"
               ",\"orders_total\":%u,\"amount_mean\":%" PRIu64
               ",\"amount_max\":%" PRIu64,
            a->orders_1h, a->orders_24h, a->failed_payments_1h,
            a->failed_payments_24h, a->failed_logins_1h, a->orders_total,
            a->amount_mean, a->amount_max);
        if (a->country[0] != '\0')
            json_result_str(stdout, "country", a->country, true);
        printf(",\"fraud\":%s", a->fraud ? "true" : "false");
        return;
    }
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
    const char *endpoint, const struct qproto_request *q, struct buf *reply)
{
    struct buf req;
    struct iovec iov;
    struct zsock_msg m;
    struct zsock_pollitem pi;
    void *ctx, *sock = NULL;
    int rc, nready = 0;

    memset(&m, 0, sizeof(m));
    buf_init(&req, QPROTO_MAX_BYTES);
    rc = qproto_request_encode(&req, q);
    if (rc != 0)
        goto out_buf;
    ctx = zsock_ctx_new();
    if (ctx == NULL) {
        rc = ERR_IO;
        goto out_buf;
    }
    rc = zsock_open(ctx, ZSOCK_REQ, &sock);
    if (rc != 0)
        goto out_ctx;
    rc = zsock_connect(sock, endpoint);
    if (rc != 0)
        goto out_sock;
    iov.iov_base = req.data;
    iov.iov_len = req.len;
    rc = zsock_send_parts(sock, &iov, 1, ZSOCK_DONTWAIT);
    if (rc == ERR_AGAIN) /* not connected yet: queue it, bounded below */
        rc = zsock_send_parts(sock, &iov, 1, 0);
    if (rc != 0)
        goto out_sock;
    pi.sock = sock;
    pi.fd = 0;
    pi.events = ZSOCK_POLLIN;
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
run_query(const struct cmd *c, int argc, char **argv, enum qproto_op op)
{
    struct qproto_request q;
    struct qproto_reply *r = NULL;
    struct wire_dec dec;
    struct qopts o;
    struct buf reply;
    char msg[REPLY_MSG_MAX + 1];
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
    if (op == QPROTO_OP_SCORE_GET)
        memcpy(q.order, arg, strlen(arg) + 1);
    else
        memcpy(q.account, arg, strlen(arg) + 1);
    buf_init(&reply, QPROTO_MAX_BYTES);
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
    wire_dec_init(&dec, 16 * 1024);
    rc = qproto_reply_decode(
        &dec, r, op, reply.data, reply.len, msg, sizeof(msg));
    wire_dec_release(&dec);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: bad reply: %s\n", PROGNAME, o.endpoint, msg);
        status = EXIT_USAGE;
        goto done;
    }
    if (o.json) {
        fputs("{\"id\":", stdout);
        json_cstr(stdout, r->id);
        printf(",\"ok\":%s,\"code\":\"%s\",\"msg\":",
            r->code == 0 ? "true" : "false", err_name(r->code));
        json_cstr(stdout, r->msg);
        if (r->has_result) {
            fputs(",\"result\":{", stdout);
            if (op == QPROTO_OP_SCORE_GET)
                print_score_result(&r->score, true);
            else
                print_account_result(&r->account, true);
            fputc('}', stdout);
        }
        fputs("}\n", stdout);
    } else if (r->code == 0 && r->has_result) {
        if (op == QPROTO_OP_SCORE_GET)
            print_score_result(&r->score, false);
        else
            print_account_result(&r->account, false);
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
    return run_query(c, argc, argv, QPROTO_OP_SCORE_GET);
}

static int
cmd_account(const struct cmd *c, int argc, char **argv)
{
    return run_query(c, argc, argv, QPROTO_OP_ACCOUNT_GET);
}

/* ---------------------------------------------- audit subject report */

#define SUBJECT_DB      "audit_subject"
#define SUBJECT_MAX_DBS 16
#define SUBJECT_MAP     ((size_t)65536 << 20)

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
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * Read every record index of `subject` from DATA_DIR/history's
 * "audit_subject" database (read-only). Returns 0 (sorted, *out freed by
 * the caller), ERR_NOTFOUND (no environment or no database) or ERR_IO.
 */
static int
subject_index_read(
    const char *data_dir, const uint8_t *subject, uint64_t **out, size_t *n)
{
    struct store *st = NULL;
    struct store_txn *txn = NULL;
    struct store_cursor *cur = NULL;
    const void *k, *v;
    size_t klen, vlen, cap = 0;
    char path[4096];
    unsigned dbi;
    int rc;

    *out = NULL;
    *n = 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/history", data_dir) >=
        sizeof(path))
        return ERR_INVAL;
    rc =
        store_open_flags(path, SUBJECT_MAP, SUBJECT_MAX_DBS, STORE_RDONLY, &st);
    if (rc != 0)
        return rc;
    rc = store_txn_begin(st, false, &txn);
    if (rc != 0)
        goto out;
    rc = store_dbi(st, txn, SUBJECT_DB, false, &dbi);
    if (rc != 0)
        goto out;
    rc = store_cursor_open(txn, dbi, subject, AUDIT_SUBJECT_BYTES, true, &cur);
    if (rc != 0)
        goto out;
    for (;;) {
        const uint8_t *kb;
        uint64_t idx = 0;

        rc = store_cursor_next(cur, &k, &klen, &v, &vlen);
        if (rc == ERR_NOTFOUND) {
            rc = 0;
            break;
        }
        if (rc != 0)
            goto out;
        if (klen != AUDIT_SUBJECT_BYTES + 8) {
            rc = ERR_CORRUPT;
            goto out;
        }
        kb = k;
        for (int b = 0; b < 8; b++)
            idx = (idx << 8) | kb[AUDIT_SUBJECT_BYTES + b];
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *out = xreallocarray(*out, cap, sizeof(**out));
        }
        (*out)[(*n)++] = idx;
    }
    if (*n > 0)
        qsort(*out, *n, sizeof(**out), u64_cmp);
out:
    store_cursor_close(cur);
    store_txn_abort(txn);
    store_close(st);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

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

/* Compute the subject of `kind` ("account", "email", ...) and `ident`.
 * Returns 0, ERR_NOTFOUND/ERR_DENIED/ERR_IO (the key) or ERR_INVAL. */
static int
subject_compute(const char *data_dir, const char *kind, const char *ident,
    uint8_t out[AUDIT_SUBJECT_BYTES])
{
    struct pseudo_key *pk = NULL;
    struct pseudo p;
    char path[4096];
    int rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", data_dir,
            PSEUDO_KEY_FILE) >= sizeof(path))
        return ERR_INVAL;
    rc = pseudo_key_open(path, false, &pk);
    if (rc != 0)
        return rc;
    if (strcmp(kind, "account") == 0)
        pseudo_compute(pk, "account", ident, strlen(ident), &p);
    else
        rc = pseudo_identifier(pk, kind, ident, &p);
    pseudo_key_close(pk);
    if (rc == 0)
        memcpy(out, p.b, AUDIT_SUBJECT_BYTES);
    sodium_memzero(&p, sizeof(p));
    return rc;
}

static int
cmd_audit_subject_report(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res = NULL;
    struct subj_ctx x;
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
    if (rc != 0) {
        fprintf(stderr, "%s: %s/%s: cannot compute the subject: %s\n", PROGNAME,
            data_dir, PSEUDO_KEY_FILE, err_str(rc));
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < AUDIT_SUBJECT_BYTES; i++)
        snprintf(subjhex + 2 * i, 3, "%02x", x.subject[i]);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/audit", data_dir) >= sizeof(dir))
        return usage_error(c, "data directory path too long");

    /* 1. The index: which records name the subject. */
    rc = subject_index_read(data_dir, x.subject, &idx, &nidx);
    if (rc == 0) {
        index_state = "used";
    } else {
        index_state = "missing";
        fprintf(stderr,
            "%s: warning: the subject index in %s/history cannot be read "
            "(%s): falling back to a full scan of the log\n",
            PROGNAME, data_dir, err_str(rc));
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
        printf("{\"kind\":\"%s\",\"subject\":\"%s\",\"index\":\"%s\","
               "\"records_verified\":%" PRIu64 ",\"checkpoint_size\":%" PRIu64
               ",\"checkpoint\":",
            o.kind, subjhex, index_state, res->records, ck_size);
        if (have_ckpt)
            json_str(stdout, res->note, res->note_len);
        else
            fputs("null", stdout);
        fputs(",\"accesses\":[", stdout);
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
            fputs(shown ? ",\n{" : "\n{", stdout);
            json_record_fields(stdout, r);
            printf(",\"leaf_hash\":");
            json_hex(stdout, h->leaf, MERKLE_HASH_BYTES);
            printf(",\"proof\":{\"size\":%" PRIu64 ",\"signed\":%s,"
                   "\"verified\":%s,\"hashes\":[",
                size, signed_ck ? "true" : "false", ok ? "true" : "false");
            for (size_t j = 0; ok && j < nproof; j++) {
                if (j)
                    fputc(',', stdout);
                json_hex(stdout, proof[j], MERKLE_HASH_BYTES);
            }
            fputs("]}}", stdout);
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
    if (o.json)
        printf("\n],\"count\":%zu,\"proofs_ok\":%s}\n", shown,
            status == EXIT_OK ? "true" : "false");
    else
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
