/*
 * cmd_audit.c - the auditor's commands on the audit log directory:
 *               verify, replay, export, prove, check-proof, pubkey
 *
 * Each handler reads DIR (normally DATA_DIR/audit) directly and
 * read-only through the audit.h reader, which verifies every record and
 * checkpoint in the same pass (CONVENTIONS.md ownership rule 7): they
 * work on a live log and on a copy alike. check-proof needs no log at
 * all, only a proof file, the verifier key and signed checkpoints; the
 * proof file is hostile input and is read through a size cap, jansson
 * and a table of the fields it may hold.
 *
 * Invariants:
 *  - a command whose data fails verification exits 1 (EXIT_BAD), even
 *    after printing some records.
 *  - check-proof trusts no root from the proof file: only checkpoints
 *    whose signature verifies with --key.
 *
 * See also: vigilctl.h, tools/vigilctl.1, tools/vigil-audit.5,
 *           common/audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/cosig.h"
#include "common/cosiglog.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/tlogproof.h"
#include "common/utctime.h"
#include "common/xmalloc.h"
#include "tools/vigilctl/proof.h"
#include "tools/vigilctl/vigilctl.h"


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

/* Options shared by the audit commands. */
struct opts {
    const char *key;
    const char **ckpts;
    int nckpts;
    bool json;
    bool help;
    bool has_size;
    bool strict;
    uint64_t size;
    struct audit_filter filter;
    const char **witnesses; /* --witness VKEY, repeatable (owned array) */
    int nwitnesses;
    long quorum; /* --quorum N; 0: every --witness */
    bool tlog;   /* --format tlog-proof (else json) */
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
    OPT_CHECKPOINT,
    OPT_WITNESS,
    OPT_QUORUM,
    OPT_STRICT,
    OPT_FORMAT
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
        { "witness", required_argument, NULL, OPT_WITNESS },
        { "quorum", required_argument, NULL, OPT_QUORUM },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    cmd_getopt_begin();
    while ((ch = cmd_getopt(argc, argv, longopts, &o->help)) != -1) {
        if (ch < OPT_KEY || /* '?' (63) and every short option */
            strchr(allowed, 'a' + (ch - OPT_KEY)) == NULL)
            return cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        switch (ch) {
        case OPT_KEY:
            o->key = optarg;
            break;
        case OPT_FROM:
            if (utctime_parse(optarg, &o->filter.from_ms) != 0)
                return cmd_usage_error(
                    c, "bad time '%s' (ms or ISO 8601 UTC)", optarg);
            break;
        case OPT_TO:
            if (utctime_parse(optarg, &o->filter.to_ms) != 0)
                return cmd_usage_error(
                    c, "bad time '%s' (ms or ISO 8601 UTC)", optarg);
            break;
        case OPT_ACTOR:
            o->filter.actor = optarg;
            break;
        case OPT_SUBJECT:
            if (parse_hex(optarg, o->filter.subject, AUDIT_SUBJECT_BYTES) != 0)
                return cmd_usage_error(
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
                return cmd_usage_error(c, "bad size '%s'", optarg);
            o->has_size = true;
            break;
        case OPT_CHECKPOINT:
            o->ckpts = xreallocarray(
                o->ckpts, (size_t)o->nckpts + 1, sizeof(*o->ckpts));
            o->ckpts[o->nckpts++] = optarg;
            break;
        case OPT_WITNESS:
            o->witnesses = xreallocarray(
                o->witnesses, (size_t)o->nwitnesses + 1, sizeof(char *));
            o->witnesses[o->nwitnesses++] = optarg;
            break;
        case OPT_QUORUM: {
            uint64_t q;

            if (parse_u64(optarg, &q) != 0 || q == 0 || q > 1000)
                return cmd_usage_error(c, "bad quorum '%s' (1..1000)", optarg);
            o->quorum = (long)q;
            break;
        }
        case OPT_STRICT:
            o->strict = true;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "tlog-proof") == 0)
                o->tlog = true;
            else if (strcmp(optarg, "json") != 0)
                return cmd_usage_error(
                    c, "bad format '%s' (json or tlog-proof)", optarg);
            break;
        default:
            return cmd_usage_error(c, "unknown option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* Letters for get_opts(): 'a' + (OPT_x - OPT_KEY). */
#define A_KEY    "a"
#define A_FILT   "bcdef"
#define A_JSON   "g"
#define A_SIZE   "h"
#define A_CKPT   "i"
#define A_WITN   "jk"
#define A_STRICT "l"
#define A_FORMAT "m"

static int slurp(const char *path, size_t max, char **out, size_t *len);

/*
 * Read the saved checkpoints of --checkpoint, check each one's signature
 * with `key`, and return them in a new array (*out, caller frees).
 * Returns EXIT_OK, EXIT_BAD (a checkpoint is not signed by the key:
 * said) or EXIT_USAGE (cannot be read).
 */
static int
load_saved(const struct opts *o, const char *key, struct audit_saved **out)
{
    struct audit_saved *sv = xcalloc((size_t)o->nckpts + 1, sizeof(*sv));
    char origin[AUDIT_MAX_ORIGIN + 1], shown[64];

    *out = sv;
    for (int i = 0; i < o->nckpts; i++) {
        const char *why;
        char *note;
        size_t len;
        int rc;

        proof_printable(o->ckpts[i], shown, sizeof(shown));
        rc = slurp(o->ckpts[i], AUDIT_MAX_NOTE_BYTES, &note, &len);
        if (rc != 0) {
            fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, shown,
                rc == ERR_TOOBIG ? "too large for a checkpoint" :
                                   strerror(errno));
            return EXIT_USAGE;
        }
        rc = audit_checkpoint_open(key, (const uint8_t *)note, len, origin,
            &sv[i].size, sv[i].root, &why);
        free(note);
        if (rc != 0) {
            printf("FAIL: saved checkpoint %s: %s\n", shown, why);
            return rc == ERR_INVAL ? EXIT_USAGE : EXIT_BAD;
        }
        snprintf(
            sv[i].what, sizeof(sv[i].what), "the saved checkpoint '%s'", shown);
    }
    return EXIT_OK;
}

/* Parse options and check the operand count; 0 to go on, else an exit
 * status (help printed: EXIT_OK). */
static int
prologue(const struct cmd *c, int argc, char **argv, const char *allowed,
    int min_ops, int max_ops, struct opts *o)
{
    int rc = get_opts(c, argc, argv, allowed, o);

    return rc != 0 ? rc : cmd_operands(c, o->help, argc, min_ops, max_ops);
}

#define PROLOGUE(allowed, min, max)                                            \
    do {                                                                       \
        int prc_ = prologue(c, argc, argv, (allowed), (min), (max), &o);       \
        if (prc_ != 0) {                                                       \
            free(o.ckpts);                                                     \
            free(o.witnesses);                                                 \
            return prc_ < 0 ? EXIT_OK : prc_;                                  \
        }                                                                      \
    } while (0)

/* ------------------------------------------------------------- audit */

/* What check_witnesses() gathers over cosignatures.log. */
struct witness_ctx {
    const char *text; /* the newest checkpoint's text */
    size_t text_len;
    const struct cosig_verifier *v;
    size_t nv;
    bool *ok;     /* per v[]: a valid cosignature seen */
    uint64_t *ts; /* its timestamp */
    int bad;      /* frames with a failing cosignature of a given key */
};

static int
witness_frame(void *arg, const char *note, size_t len)
{
    struct witness_ctx *x = arg;
    bool ok[64];
    uint64_t ts[64];
    size_t tl, nok, i;

    if (note_split(note, len, &tl, NULL, NULL) != 0 || tl != x->text_len ||
        memcmp(note, x->text, tl) != 0)
        return 0; /* another checkpoint, or not a note: not counted */
    if (cosig_verify(note, len, x->v, x->nv, (uint64_t)time(NULL) + 600, ok, ts,
            &nok) != 0) {
        x->bad++;
        return 0;
    }
    for (i = 0; i < x->nv; i++) {
        if (ok[i]) {
            x->ok[i] = true;
            x->ts[i] = ts[i];
        }
    }
    return 0;
}

/* Parse the --witness keys into v[0..o->nwitnesses); EXIT_OK or
 * EXIT_USAGE (said why). */
static int
witness_keys(const struct opts *o, struct cosig_verifier v[64])
{
    size_t n = (size_t)o->nwitnesses, i, j;

    if (n > 64) {
        fprintf(stderr, "%s: at most 64 --witness keys\n", PROGNAME);
        return EXIT_USAGE;
    }
    for (i = 0; i < n; i++) {
        if (cosig_verifier_parse(o->witnesses[i], &v[i]) != 0) {
            fprintf(stderr,
                "%s: --witness '%s': not a cosignature/v1 verifier key "
                "(name+id+base64 of 0x04 and the key; vigil-witness -k)\n",
                PROGNAME, o->witnesses[i]);
            return EXIT_USAGE;
        }
        for (j = 0; j < i; j++) {
            if (memcmp(v[j].pk, v[i].pk, sizeof(v[i].pk)) == 0) {
                fprintf(stderr, "%s: --witness '%s' given twice\n", PROGNAME,
                    o->witnesses[i]);
                return EXIT_USAGE;
            }
        }
    }
    return EXIT_OK;
}

/*
 * --witness: count the witnesses among o->witnesses that validly
 * cosigned the newest checkpoint (res->note) in DIR/cosignatures.log;
 * print them. Returns EXIT_OK when at least the quorum did, EXIT_BAD
 * when not, EXIT_USAGE for a bad key.
 */
static int
check_witnesses(const char *dir, const struct audit_verify_result *res,
    const struct opts *o)
{
    struct cosig_verifier v[64];
    bool ok[64] = { false };
    uint64_t ts[64] = { 0 };
    struct witness_ctx x;
    size_t n = (size_t)o->nwitnesses, i, nok = 0, tl;
    long quorum = o->quorum > 0 ? o->quorum : o->nwitnesses;
    int rc;

    if (witness_keys(o, v) != EXIT_OK)
        return EXIT_USAGE;
    if (res->note_len == 0 ||
        note_split(res->note, res->note_len, &tl, NULL, NULL) != 0) {
        printf("FAIL: witnesses: no signed checkpoint to be cosigned\n");
        return EXIT_BAD;
    }
    memset(&x, 0, sizeof(x));
    x.text = res->note;
    x.text_len = tl;
    x.v = v;
    x.nv = n;
    x.ok = ok;
    x.ts = ts;
    rc = cosiglog_read(dir, witness_frame, &x);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s/%s': %s\n", PROGNAME, dir,
            COSIGLOG_FILE, err_str(rc));
        return EXIT_USAGE;
    }
    for (i = 0; i < n; i++) {
        if (ok[i]) {
            nok++;
            printf("witness %s: cosigned the newest checkpoint (size %" PRIu64
                   ") at %" PRIu64 "\n",
                v[i].name, res->checkpoint_size, ts[i]);
        } else {
            printf("witness %s: no valid cosignature on the newest "
                   "checkpoint (size %" PRIu64 ")\n",
                v[i].name, res->checkpoint_size);
        }
    }
    if (x.bad > 0) {
        printf("FAIL: %d cosignature(s) by a given witness key on the newest "
               "checkpoint do not verify\n",
            x.bad);
        return EXIT_BAD;
    }
    if ((long)nok < quorum) {
        printf("FAIL: %zu of %zu witnesses cosigned the newest checkpoint; "
               "quorum %ld\n",
            nok, n, quorum);
        return EXIT_BAD;
    }
    printf("OK: %zu of %zu witnesses cosigned the newest checkpoint (quorum "
           "%ld)\n",
        nok, n, quorum);
    return EXIT_OK;
}

int
cmd_audit_verify(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res;
    struct audit_saved *saved = NULL;
    char dirkey[NOTE_MAX_KEY];
    const char *key;
    struct opts o;
    struct timespec t0, t1;
    double secs;
    int rc;

    PROLOGUE(A_KEY A_CKPT A_STRICT A_WITN, 1, 1);
    if (o.quorum > 0 && o.nwitnesses == 0) {
        free(o.witnesses);
        free(o.ckpts);
        return cmd_usage_error(c, "--quorum needs --witness");
    }
    key = o.key;
    if (key == NULL && o.nckpts > 0) {
        /* The saved checkpoints are checked with the log's own key only
         * when no --key is given: say so. */
        rc = audit_read_verifier_key(argv[optind], dirkey, sizeof(dirkey));
        if (rc != 0) {
            fprintf(stderr,
                "%s: %s: no --key and no readable verifier.key: %s\n", PROGNAME,
                argv[optind], err_str(rc));
            free(o.ckpts);
            free(o.witnesses);
            return EXIT_USAGE;
        }
        key = dirkey;
    }
    rc = load_saved(&o, key != NULL ? key : "", &saved);
    if (rc != EXIT_OK) {
        free(saved);
        free(o.ckpts);
        free(o.witnesses);
        return rc;
    }
    res = xmalloc(sizeof(*res));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = audit_verify_saved(argv[optind], o.key, saved, (size_t)o.nckpts, res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) +
        (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc != 0 && rc != ERR_CORRUPT) {
        out_verify_failure(argv[optind], rc, res);
        rc = EXIT_USAGE;
        goto out;
    }
    printf("audit log %s\n", argv[optind]);
    out_key_source(res, stdout);
    if (rc != 0) {
        out_verify_failure(argv[optind], rc, res);
        rc = EXIT_BAD;
        goto out;
    }
    printf("OK: %" PRIu64 " records in %" PRIu64 " segment(s), %" PRIu64
           " checkpoint(s) verified\n",
        res->records, res->segments, res->checkpoints);
    printf("root: ");
    out_put_hex(stdout, res->root, MERKLE_HASH_BYTES);
    printf("\n");
    for (int i = 0; i < o.nckpts; i++)
        printf("consistent with %s (size %" PRIu64 ")\n", saved[i].what,
            saved[i].size);
    rc = EXIT_OK;
    if (res->checkpoint_size == 0) {
        printf("%s: no signed checkpoint: no record is covered by a "
               "signature\n",
            o.strict ? "FAIL (--strict)" : "warning");
        rc = o.strict ? EXIT_BAD : EXIT_OK;
    } else if (res->records > res->checkpoint_size) {
        printf("%s: records %" PRIu64 "..%" PRIu64 " are after the latest "
               "checkpoint and not yet covered by a signature\n",
            o.strict ? "FAIL (--strict)" : "note", res->checkpoint_size,
            res->records - 1);
        rc = o.strict ? EXIT_BAD : EXIT_OK;
    }
    printf("time: %.3f s (%.0f records/s)\n", secs,
        secs > 0 ? (double)res->records / secs : 0.0);
    if (rc == EXIT_OK && o.nwitnesses > 0)
        rc = check_witnesses(argv[optind], res, &o);
out:
    free(o.witnesses);
    free(res);
    free(saved);
    free(o.ckpts);
    return rc;
}

struct replay_ctx {
    bool export;
    struct out_stream *js; /* --json, else NULL (TSV) */
    uint64_t n;
};

static int
replay_cb(void *arg, const struct audit_entry *e)
{
    struct replay_ctx *x = arg;
    json_t *o;

    x->n++;
    if (x->js == NULL) {
        out_record_tsv(stdout, e->rec);
        return 0;
    }
    o = out_record_json(e->rec);
    if (x->export) {
        out_set(o, "raw", out_hex(e->raw, e->raw_len));
        out_set(o, "leaf_hash", out_hex(e->leaf_hash, MERKLE_HASH_BYTES));
        out_set(o, "file", out_str(e->file));
        out_set(o, "offset", out_u64(e->offset));
    }
    out_stream_item(x->js, o);
    return 0;
}

static int
run_replay(const char *dir, struct opts *o, bool export)
{
    struct audit_verify_result *res = xmalloc(sizeof(*res));
    struct replay_ctx x = { export, NULL, 0 };
    struct out_stream js;
    json_t *tail;
    int rc;

    if (o->json) {
        out_stream_open(&js, stdout, NULL, "records");
        x.js = &js;
    }
    rc = audit_replay(
        dir, o->key, export ? NULL : &o->filter, replay_cb, &x, res);
    if (o->json) {
        tail = json_object();
        out_set(tail, "count", out_u64(x.n));
        if (export) {
            char key[NOTE_MAX_KEY];

            out_set(tail, "verifier_key",
                audit_read_verifier_key(dir, key, sizeof(key)) == 0 ?
                    out_str(key) :
                    json_null());
            out_set(tail, "checkpoint",
                res->note_len > 0 ? out_strn(res->note, res->note_len) :
                                    json_null());
        }
        out_verify_json(tail, rc, res);
        out_stream_close(&js, tail);
    }
    if (rc != 0) {
        (void)fflush(stdout); /* the failure line goes after the output */
        fprintf(stderr, "%s: %s: %s%s%s\n", PROGNAME, dir, res->file,
            res->file[0] ? ": " : "", res->reason);
    }
    free(res);
    return cmd_exit_for(rc);
}

int
cmd_audit_replay(const struct cmd *c, int argc, char **argv)
{
    struct opts o;

    PROLOGUE(A_KEY A_FILT A_JSON, 1, 1);
    return run_replay(argv[optind], &o, false);
}

int
cmd_audit_export(const struct cmd *c, int argc, char **argv)
{
    struct opts o;

    PROLOGUE(A_KEY A_JSON, 1, 1);
    if (!o.json)
        return cmd_usage_error(c, "export needs --json");
    return run_replay(argv[optind], &o, true);
}

/* The proof's hashes as a new JSON array. */
static json_t *
hashes_json(const struct audit_proof *p)
{
    json_t *a = json_array();

    for (size_t i = 0; i < p->n; i++)
        out_push(a, out_hex(p->hashes[i], MERKLE_HASH_BYTES));
    return a;
}

static int
prove_done(const char *dir, int rc, struct audit_verify_result *res)
{
    if (rc == ERR_CORRUPT)
        out_verify_failure(dir, rc, res);
    else if (rc != 0)
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, dir,
            res->reason[0] ? res->reason : err_str(rc));
    free(res);
    return cmd_exit_for(rc);
}

/* What tlog_cosigs() gathers: the cosignature lines on one note. */
struct cosig_lines {
    const char *note; /* the checkpoint, as signed by the log */
    size_t len;
    struct buf *out; /* the note, then each cosignature line once */
};

/* Whether one of the lines in `b` is line[0..n) (with its newline). */
static bool
has_line(const struct buf *b, const char *line, size_t n)
{
    size_t at = 0;

    while (at < b->len) {
        const char *p = (const char *)b->data + at;
        const char *nl = memchr(p, '\n', b->len - at);
        size_t k = nl == NULL ? b->len - at : (size_t)(nl - p) + 1;

        if (k == n && memcmp(p, line, n) == 0)
            return true;
        at += k;
    }
    return false;
}

/* cosiglog_cb: a frame is the log's note followed by a witness's
 * cosignature line(s); keep the lines on our note not already kept. */
static int
cosig_frame(void *arg, const char *note, size_t len)
{
    struct cosig_lines *x = arg;
    size_t at = x->len;

    if (len <= x->len || memcmp(note, x->note, x->len) != 0)
        return 0;
    while (at < len) {
        const char *nl = memchr(note + at, '\n', len - at);
        size_t n = nl == NULL ? len - at : (size_t)(nl - note) + 1 - at;

        if (nl != NULL && !has_line(x->out, note + at, n) &&
            buf_append(x->out, note + at, n) != 0)
            return ERR_TOOBIG;
        at += n;
    }
    return 0;
}

/*
 * Print proof `p` (inclusion) as a C2SP tlog-proof: the record as the
 * extra data, the checkpoint with every witness cosignature on it that
 * DIR/cosignatures.log holds. Returns 0 or ERR_*.
 */
static int
print_tlog_proof(const char *dir, const struct audit_proof *p)
{
    struct buf note, out;
    struct cosig_lines x;
    int rc;

    buf_init(&note, 64 * 1024);
    buf_init(&out, 128 * 1024);
    x.note = p->note;
    x.len = strlen(p->note);
    x.out = &note;
    rc = buf_append(&note, p->note, x.len);
    if (rc == 0)
        rc = cosiglog_read(dir, cosig_frame, &x);
    if (rc == 0)
        rc = tlogproof_format(&out, p->raw, p->raw_len, p->index,
            (const uint8_t(*)[MERKLE_HASH_BYTES])p->hashes, p->n,
            (const char *)note.data, note.len);
    if (rc == 0 &&
        (fwrite(out.data, 1, out.len, stdout) != out.len ||
            fflush(stdout) != 0))
        rc = ERR_IO;
    buf_release(&note);
    buf_release(&out);
    return rc;
}

int
cmd_audit_prove_inclusion(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res;
    struct audit_proof *p;
    struct opts o;
    uint64_t index;
    int rc;

    PROLOGUE(A_KEY A_SIZE A_FORMAT, 2, 2);
    if (parse_u64(argv[optind + 1], &index) != 0)
        return cmd_usage_error(c, "bad record number '%s'", argv[optind + 1]);
    res = xmalloc(sizeof(*res));
    p = xmalloc(sizeof(*p));
    rc = audit_prove_inclusion(
        argv[optind], o.key, index, o.has_size ? o.size : 0, p, res);
    if (rc == 0 && o.tlog) {
        rc = print_tlog_proof(argv[optind], p);
        if (rc != 0)
            snprintf(res->reason, sizeof(res->reason),
                "cannot write the tlog-proof: %s", err_str(rc));
    } else if (rc == 0) {
        json_t *j = json_object();

        out_set(j, "type", out_str("inclusion"));
        out_set(j, "index", out_u64(p->index));
        out_set(j, "size", out_u64(p->size));
        out_set(j, "record", out_hex(p->raw, p->raw_len));
        out_set(j, "leaf_hash", out_hex(p->leaf_hash, MERKLE_HASH_BYTES));
        out_set(j, "proof", hashes_json(p));
        out_set(j, "root", out_hex(p->root, MERKLE_HASH_BYTES));
        out_set(j, "checkpoint", out_str_or_null(p->note));
        out_print(stdout, j);
    }
    free(p);
    return prove_done(argv[optind], rc, res);
}

int
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
        return cmd_usage_error(c, "bad size");
    res = xmalloc(sizeof(*res));
    p = xmalloc(sizeof(*p));
    rc = audit_prove_consistency(
        argv[optind], o.key, old_size, new_size, p, res);
    if (rc == 0) {
        json_t *j = json_object();

        out_set(j, "type", out_str("consistency"));
        out_set(j, "old_size", out_u64(p->old_size));
        out_set(j, "size", out_u64(p->size));
        out_set(j, "proof", hashes_json(p));
        out_set(j, "old_root", out_hex(p->old_root, MERKLE_HASH_BYTES));
        out_set(j, "root", out_hex(p->root, MERKLE_HASH_BYTES));
        out_set(j, "old_checkpoint", out_str_or_null(p->old_note));
        out_set(j, "checkpoint", out_str_or_null(p->note));
        out_print(stdout, j);
    }
    free(p);
    return prove_done(argv[optind], rc, res);
}

/* ------------------------------------------------------- proof files */

/*
 * A proof file is what `audit prove` prints: one JSON object (format in
 * vigilctl.1). It comes from whoever hands the auditor the proof, so it
 * is read as hostile, by proof.c (proof_parse(): a size cap, jansson with
 * duplicate keys rejected, every member checked against a table) before
 * anything is verified. Any problem is one "not a valid proof file"
 * line and exit 1.
 */

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
        (void)fclose(f); /* read only: nothing to flush */
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

/* Print the one line "FAIL: PATH: not a valid proof file: WHY"; returns
 * EXIT_BAD. */
static int
proof_invalid(const char *path, const char *why)
{
    char shown[256];

    proof_printable(path, shown, sizeof(shown));
    printf("FAIL: %s: not a valid proof file: %s\n", shown, why);
    return EXIT_BAD;
}

/*
 * Read, parse and check the proof file at `path` ("-": stdin) into `*p`:
 * a JSON proof, or a C2SP tlog-proof (its first line says which). On
 * EXIT_OK `*doc` holds the parsed JSON document (NULL for a tlog-proof)
 * and `*text` the file's text; the notes in `*p` borrow from one of them
 * (caller frees both: json_decref, free). Returns EXIT_OK, EXIT_BAD (not
 * a valid proof file, said on one line) or EXIT_USAGE (cannot be read).
 */
static int
proof_load(const char *path, struct proof_file *p, json_t **doc, char **text)
{
    char why[PROOF_WHY_MAX];
    size_t len;
    int rc;

    *doc = NULL;
    rc = slurp(path, PROOF_MAX_BYTES, text, &len);
    if (rc == ERR_TOOBIG)
        return proof_invalid(path, "larger than 1048576 bytes");
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, path,
            strerror(errno));
        return EXIT_USAGE;
    }
    if (tlogproof_is(*text, len))
        rc = proof_parse_tlog(*text, len, p, why, sizeof(why));
    else
        rc = proof_parse(*text, len, p, doc, why, sizeof(why));
    return rc == 0 ? EXIT_OK : proof_invalid(path, why);
}

/* ------------------------------------------------------- check-proof */

/* Verify a checkpoint note and trust it (`saved`: the auditor's own);
 * returns EXIT_* */
static int
trust_note(struct proof_trust *k, const char *what, bool saved,
    const char *note, size_t len)
{
    char origin[AUDIT_MAX_ORIGIN + 1];
    const char *why;
    uint64_t size;
    int rc;

    rc = proof_trust_note_as(k, note, len, saved, origin, &size, &why);
    if (rc == ERR_INVAL) {
        fprintf(stderr, "%s: --key: %s\n", PROGNAME, why);
        return EXIT_USAGE;
    }
    if (rc != 0) {
        printf("FAIL: %s: %s\n", what, why);
        return EXIT_BAD;
    }
    printf(
        "checkpoint ok: %s: origin %s, size %" PRIu64 "\n", what, origin, size);
    return EXIT_OK;
}

/* Trust the checkpoint in the file `path` (--checkpoint); returns EXIT_*. */
static int
trust_note_file(struct proof_trust *k, const char *path)
{
    char *note, shown[256];
    size_t len;
    int rc;

    rc = slurp(path, AUDIT_MAX_NOTE_BYTES, &note, &len);
    if (rc == ERR_TOOBIG) {
        proof_printable(path, shown, sizeof(shown));
        printf("FAIL: %s: not a checkpoint: larger than %d bytes\n", shown,
            AUDIT_MAX_NOTE_BYTES);
        return EXIT_BAD;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: cannot read '%s': %s\n", PROGNAME, path,
            strerror(errno));
        return EXIT_USAGE;
    }
    rc = trust_note(k, path, true, note, len);
    free(note);
    return rc;
}

/* Check `p` against what `k` trusts and print the verdict; EXIT_*. */
static int
check_proof(const struct proof_file *p, const struct proof_trust *k)
{
    struct audit_record rec;
    char why[PROOF_WHY_MAX];
    bool has_rec;
    int rc;

    rc = proof_check(p, k, &rec, &has_rec, why, sizeof(why));
    if (has_rec) {
        printf("record: ");
        out_record_tsv(stdout, &rec);
    }
    if (rc != 0) {
        printf("FAIL: %s\n", why);
        return EXIT_BAD;
    }
    if (p->type == PROOF_INCLUSION)
        printf("OK: record %" PRIu64
               " is included in the signed log of %" PRIu64 " records\n",
            p->index, p->size);
    else
        printf("OK: the signed log of %" PRIu64 " records extends the signed "
               "log of %" PRIu64 " records (append-only)\n",
            p->size, p->old_size);
    return EXIT_OK;
}

/*
 * check-proof --witness: the cosignatures on the tlog-proof's checkpoint
 * note[0..len) (already trusted: signed by the log's key). EXIT_OK when
 * at least the quorum of the given witnesses validly cosigned it.
 */
static int
check_proof_witnesses(const char *note, size_t len, const struct opts *o)
{
    struct cosig_verifier v[64];
    bool ok[64] = { false };
    uint64_t ts[64] = { 0 };
    size_t n = (size_t)o->nwitnesses, nok = 0;
    long quorum = o->quorum > 0 ? o->quorum : o->nwitnesses;

    if (witness_keys(o, v) != EXIT_OK)
        return EXIT_USAGE;
    if (cosig_verify(
            note, len, v, n, (uint64_t)time(NULL) + 600, ok, ts, &nok) != 0) {
        printf("FAIL: a cosignature by a given witness key on the proof's "
               "checkpoint does not verify\n");
        return EXIT_BAD;
    }
    for (size_t i = 0; i < n; i++)
        printf("witness %s: %s\n", v[i].name,
            ok[i] ? "cosigned the proof's checkpoint" :
                    "no cosignature on the proof's checkpoint");
    if ((long)nok < quorum) {
        printf("FAIL: %zu of %zu witnesses cosigned the proof's checkpoint; "
               "quorum %ld\n",
            nok, n, quorum);
        return EXIT_BAD;
    }
    return EXIT_OK;
}

int
cmd_audit_check_proof(const struct cmd *c, int argc, char **argv)
{
    struct proof_trust k;
    struct proof_file *p;
    struct opts o;
    json_t *doc = NULL;
    char *text = NULL;
    int rc;

    PROLOGUE(A_KEY A_CKPT A_STRICT A_WITN, 1, 1);
    if (o.key == NULL || (o.quorum > 0 && o.nwitnesses == 0)) {
        free(o.ckpts);
        free(o.witnesses);
        return cmd_usage_error(c,
            o.key == NULL ? "check-proof needs --key VERIFIER" :
                            "--quorum needs --witness keys");
    }
    memset(&k, 0, sizeof(k));
    k.key = o.key;
    k.strict = o.strict;
    p = xmalloc(sizeof(*p));
    rc = proof_load(argv[optind], p, &doc, &text);
    if (rc == EXIT_OK && o.nwitnesses > 0 && doc != NULL) {
        printf("FAIL: --witness: a JSON proof carries no cosignatures "
               "(use a tlog-proof)\n");
        rc = EXIT_BAD;
    }
    /* The auditor's own checkpoints first: a proof's checkpoint that
     * disagrees with one of them is a fork, never a second truth. */
    for (int i = 0; rc == EXIT_OK && i < o.nckpts; i++)
        rc = trust_note_file(&k, o.ckpts[i]);
    if (rc == EXIT_OK && p->note[0] != NULL)
        rc = trust_note(&k, "old_checkpoint in the proof", false, p->note[0],
            p->note_len[0]);
    if (rc == EXIT_OK && p->note[1] != NULL)
        rc = trust_note(
            &k, "checkpoint in the proof", false, p->note[1], p->note_len[1]);
    if (rc == EXIT_OK && o.nwitnesses > 0 && p->note[1] == NULL) {
        printf("FAIL: --witness: the proof holds no checkpoint to check "
               "cosignatures on\n");
        rc = EXIT_BAD;
    }
    if (rc == EXIT_OK && o.nwitnesses > 0)
        rc = check_proof_witnesses(p->note[1], p->note_len[1], &o);
    if (rc == EXIT_OK)
        rc = check_proof(p, &k);
    proof_trust_release(&k);
    free(p);
    json_decref(doc);
    free(text);
    free(o.ckpts);
    free(o.witnesses);
    return rc;
}

/*
 * `audit pubkey`: the verifier key, derived from the signing key itself
 * (in the keys directory, apart from the data), never from a file of the
 * log being verified.
 */
int
cmd_audit_pubkey(const struct cmd *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "keys-dir", required_argument, NULL, 'k' },
        { "signing-key", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *env = getenv("VIGIL_KEYS_DIR"), *file = NULL;
    const char *dir = env != NULL && env[0] != '\0' ? env : "/etc/vigil";
    char path[AUDIT_MAX_PATH], owner[AUDIT_MAX_PATH], err[512];
    char vkey[NOTE_MAX_KEY], *slash;
    struct note_signer sk;
    int ch, rc;

    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            cmd_usage(c, stdout);
            return EXIT_OK;
        case 'k':
            dir = optarg;
            break;
        case 's':
            file = optarg;
            break;
        default:
            return cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cmd_usage_error(c,
            "pubkey takes no directory: the key comes from the signing key "
            "(--keys-dir or --signing-key), not from the log");
    if (file != NULL)
        snprintf(path, sizeof(path), "%s", file);
    else
        snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_KEY_FILE);
    /* Root reads the key as its owner (the file is 0600). */
    snprintf(owner, sizeof(owner), "%s", path);
    slash = strrchr(owner, '/');
    if (slash != NULL && slash != owner)
        *slash = '\0';
    else
        snprintf(owner, sizeof(owner), "%s", slash == owner ? "/" : ".");
    rc = harden_become_owner(owner, "", err, sizeof(err));
    if (rc == 0)
        rc = audit_key_load(path, NULL, false, &sk, NULL, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", PROGNAME, err);
        return EXIT_USAGE;
    }
    rc = note_signer_vkey(&sk, vkey, sizeof(vkey));
    note_signer_wipe(&sk);
    if (rc != 0) {
        fprintf(
            stderr, "%s: %s: cannot derive the verifier key\n", PROGNAME, path);
        return EXIT_USAGE;
    }
    printf("%s\n", vkey);
    return EXIT_OK;
}
