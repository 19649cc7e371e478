/*
 * cmd_subject.c - `vigilctl subject report|export|erase`: the
 *                 data-protection officer's requests, through the scorer
 *
 * A person's access or erasure request is answered by the scorer, not
 * by this tool: the identifier goes to the scorer's query endpoint
 * (ops subject.report, subject.export, subject.erase; common/qproto.h)
 * over CURVE with the DPO's certificate; the scorer checks the role,
 * purpose and case reference, writes the audit record of the request
 * and answers. Only the scorer holds the pseudonym key and the
 * per-subject salts (scorer/vault.h), so this tool never opens the
 * data directory, LMDB or a key but the client certificate.
 *
 * report: the scorer answers in pages (at most 64 records each), every
 * record's exact bytes with its RFC 9162 inclusion proof against a
 * checkpoint it signed for that page. Each proof is checked here again
 * against the checkpoint, whose signature is checked with --key (the
 * log's verifier key, from a source other than the server); --proofs
 * DIR writes each as a proof file `vigilctl audit check-proof` reads.
 *
 * Invariants:
 *  - the identifier typed is sent to the scorer and never printed: the
 *    output names the subject by its token only.
 *  - every reply (personal data) is wiped before it is freed.
 *  - exit 0 ok; 1 the scorer refused, or a proof does not verify; 2
 *    usage, connection or protocol error.
 *
 * See also: vigilctl.h, vigilctl.1 (subject), scorer/query_dpo.c,
 *           cmd_query.c (the round trip), cmd_audit.c (check-proof)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <msgpack.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/merkle.h"
#include "common/qproto.h"
#include "common/wire.h"
#include "common/xmalloc.h"
#include "common/zclient.h"
#include "tools/vigilctl/vigilctl.h"

#define SUBJECT_DEFAULT_ENDPOINT "tcp://127.0.0.1:7011"
/* A report page or an erasure makes the scorer read the log: allow it
 * time (one pass is about 1.5 s per million records on this machine). */
#define SUBJECT_TIMEOUT_MS 60000
/* Pages of one report at most (64 records each). */
#define SUBJECT_MAX_PAGES 100000

/* Options of the subject commands. */
struct sopts {
    struct zclient_opts conn;
    struct cmd_req req; /* --purpose, --case, --storefront, --json */
    const char *kind;
    const char *key;    /* --key VERIFIER (report) */
    const char *proofs; /* --proofs DIR (report) */
    bool help;
};

enum {
    SOPT_KIND = 256,
    SOPT_KEY,
    SOPT_PROOFS,
};

/* Apply subject option `ch` (cmd_req_getopt) to the struct sopts `ctx`. */
static int
sopt(const struct cmd *c, int ch, const char *arg, void *ctx)
{
    struct sopts *o = ctx;

    (void)c;
    if (ch == SOPT_KIND)
        o->kind = arg;
    else if (ch == SOPT_KEY)
        o->key = arg;
    else /* SOPT_PROOFS */
        o->proofs = arg;
    return 0;
}

/* Parse the options of a subject command and check for its one operand
 * (argv[optind]). Returns 0 to go on, -1 after --help, or EXIT_USAGE
 * (after printing why). */
static int
get_sopts(const struct cmd *c, int argc, char **argv, struct sopts *o)
{
    static const struct option own[] = {
        { "kind", required_argument, NULL, SOPT_KIND },
        { "key", required_argument, NULL, SOPT_KEY },
        { "proofs", required_argument, NULL, SOPT_PROOFS },
        { NULL, 0, NULL, 0 },
    };
    int rc;

    memset(o, 0, sizeof(*o));
    o->conn.endpoint = SUBJECT_DEFAULT_ENDPOINT;
    o->kind = "account";
    rc = cmd_req_getopt(
        c, argc, argv, own, sopt, o, &o->conn, &o->req, &o->help);
    return rc != 0 ? rc : cmd_operands(c, o->help, argc, 1, 1);
}

/* Copy `v` (may be NULL) into dst of size cap; false when too long. */
static bool
put_arg(char *dst, size_t cap, const char *v)
{
    size_t n;

    if (v == NULL)
        return true;
    n = strlen(v);
    if (n >= cap)
        return false;
    memcpy(dst, v, n + 1);
    return true;
}

/* Build the request of `op` for identifier `ident`. */
static int
build(const struct cmd *c, enum qproto_op op, const struct sopts *o,
    const char *ident, struct qproto_request *q)
{
    memset(q, 0, sizeof(*q));
    q->op = op;
    q->args = QPROTO_ARG_KIND | QPROTO_ARG_VALUE;
    cmd_query_id(q->id, sizeof(q->id));
    if (o->req.purpose == NULL)
        return cmd_usage_error(c, "--purpose is required (%s)",
            op == QPROTO_OP_SUBJECT_ERASE ? "erasure-request" :
                                            "access-request");
    if (!put_arg(q->kind, sizeof(q->kind), o->kind) ||
        !put_arg(q->value, sizeof(q->value), ident) ||
        !put_arg(q->purpose, sizeof(q->purpose), o->req.purpose) ||
        !put_arg(q->storefront, sizeof(q->storefront), o->req.storefront) ||
        !put_arg(q->case_ref, sizeof(q->case_ref), o->req.case_ref))
        return cmd_usage_error(c, "an argument is too long");
    return EXIT_OK;
}

/* Print a refusal; returns EXIT_BAD. */
static int
refused(const struct qproto_reply *r, bool json)
{
    if (json) {
        json_t *j = json_object();

        out_set(j, "ok", json_false());
        out_set(j, "code", out_str(err_name(r->code)));
        out_set(j, "msg", out_str(r->msg));
        out_print(stdout, j);
    }
    fprintf(stderr, "%s: %s: %s\n", PROGNAME, err_name(r->code), r->msg);
    return EXIT_BAD;
}

/* ------------------------------------------------------------ report */

/* The report so far. */
struct report {
    const struct sopts *o;
    json_t *accesses; /* --json */
    uint64_t count;
    bool all_ok;
    bool have_subject;
    char subject[2 * AUDIT_SUBJECT_BYTES + 1];
};

/* Write the proof file of one record into --proofs DIR. */
static int
write_proof(const char *dir, const struct audit_record *r, const uint8_t *raw,
    size_t raw_len, const uint8_t *leaf, uint64_t size,
    const uint8_t (*hashes)[MERKLE_HASH_BYTES], size_t nh, const char *note,
    size_t note_len)
{
    json_t *j = json_object(), *hs = json_array();
    char path[4096];
    char *text;
    FILE *f;
    int fd, rc = 0;

    for (size_t i = 0; i < nh; i++)
        out_push(hs, out_hex(hashes[i], MERKLE_HASH_BYTES));
    out_set(j, "type", out_str("inclusion"));
    out_set(j, "index", out_u64(r->index));
    out_set(j, "size", out_u64(size));
    out_set(j, "record", out_hex(raw, raw_len));
    out_set(j, "leaf_hash", out_hex(leaf, MERKLE_HASH_BYTES));
    out_set(j, "proof", hs);
    out_set(j, "checkpoint", out_strn(note, note_len));
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        return ERR_IO;
    if ((size_t)snprintf(path, sizeof(path), "%s/record-%" PRIu64 ".json", dir,
            r->index) >= sizeof(path)) {
        out_free(text);
        return ERR_TOOBIG;
    }
    fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    f = fd == -1 ? NULL : fdopen(fd, "w");
    if (f == NULL) {
        if (fd != -1)
            close(fd);
        rc = ERR_IO;
    } else {
        if (fprintf(f, "%s\n", text) < 0)
            rc = ERR_IO;
        if (fclose(f) != 0)
            rc = ERR_IO;
    }
    if (rc != 0)
        fprintf(stderr, "%s: cannot write '%s': %s\n", PROGNAME, path,
            strerror(errno));
    out_free(text);
    return rc;
}

/*
 * Check and show one page of a report (`res`, the result map). `*next`
 * gets the page after it (0: none). Returns EXIT_OK, EXIT_BAD (a proof
 * or the checkpoint does not verify: shown) or EXIT_USAGE (a result
 * that is not what qproto.h says).
 */
static int
report_page(struct report *rp, const msgpack_object *res, uint64_t *next)
{
    const msgpack_object *ck = wire_map_get(res, "checkpoint");
    const msgpack_object *recs = wire_map_get(res, "records");
    const msgpack_object *subj = wire_map_get(res, "subject");
    char origin[AUDIT_MAX_ORIGIN + 1], note[AUDIT_MAX_NOTE_BYTES + 1];
    uint8_t root[MERKLE_HASH_BYTES];
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = NULL;
    uint64_t size = 0, ck_size = 0;
    const char *why = NULL;
    int rc, status = EXIT_OK;

    *next = 0;
    (void)wire_map_uint(res, "next", next);
    if (ck == NULL || ck->type != MSGPACK_OBJECT_STR ||
        ck->via.str.size > AUDIT_MAX_NOTE_BYTES || recs == NULL ||
        recs->type != MSGPACK_OBJECT_ARRAY ||
        !wire_map_uint(res, "size", &size) ||
        (subj != NULL &&
            (subj->type != MSGPACK_OBJECT_BIN ||
                subj->via.bin.size != AUDIT_SUBJECT_BYTES))) {
        fprintf(stderr,
            "%s: the scorer's report is not a subject.report "
            "result\n",
            PROGNAME);
        return EXIT_USAGE;
    }
    if (subj != NULL) {
        sodium_bin2hex(rp->subject, sizeof(rp->subject),
            (const unsigned char *)subj->via.bin.ptr, AUDIT_SUBJECT_BYTES);
        rp->have_subject = true;
    }
    memcpy(note, ck->via.str.ptr, ck->via.str.size);
    note[ck->via.str.size] = '\0';
    rc = audit_checkpoint_open(rp->o->key, (const uint8_t *)note,
        ck->via.str.size, origin, &ck_size, root, &why);
    if (rc == ERR_INVAL) {
        fprintf(stderr, "%s: --key: %s\n", PROGNAME, why);
        return EXIT_USAGE;
    }
    if (rc != 0 || ck_size != size) {
        fprintf(stderr,
            "%s: FAIL: the report's checkpoint does not verify with "
            "--key: %s\n",
            PROGNAME, rc != 0 && why ? why : "size differs");
        rp->all_ok = false;
        return EXIT_BAD;
    }
    hashes = xcalloc(MERKLE_MAX_PROOF, sizeof(*hashes));
    for (uint32_t i = 0; i < recs->via.array.size; i++) {
        const msgpack_object *it = &recs->via.array.ptr[i];
        const msgpack_object *raw = wire_map_get(it, "raw");
        const msgpack_object *pr = wire_map_get(it, "proof");
        uint8_t leaf[MERKLE_HASH_BYTES];
        struct audit_record r;
        uint64_t index = 0;
        size_t nh;
        bool ok;

        if (!wire_map_uint(it, "index", &index) || raw == NULL ||
            raw->type != MSGPACK_OBJECT_BIN ||
            raw->via.bin.size > AUDIT_MAX_RECORD_BYTES || pr == NULL ||
            pr->type != MSGPACK_OBJECT_ARRAY ||
            pr->via.array.size > MERKLE_MAX_PROOF) {
            fprintf(stderr,
                "%s: record %" PRIu32 " of the reply is not "
                "{index, raw, proof}\n",
                PROGNAME, i);
            status = EXIT_USAGE;
            break;
        }
        nh = pr->via.array.size;
        ok = true;
        for (size_t k = 0; k < nh; k++) {
            const msgpack_object *h = &pr->via.array.ptr[k];

            if (h->type != MSGPACK_OBJECT_BIN ||
                h->via.bin.size != MERKLE_HASH_BYTES) {
                ok = false;
                break;
            }
            memcpy(hashes[k], h->via.bin.ptr, MERKLE_HASH_BYTES);
        }
        merkle_leaf_hash(
            (const uint8_t *)raw->via.bin.ptr, raw->via.bin.size, leaf);
        ok = ok &&
            audit_record_decode((const uint8_t *)raw->via.bin.ptr,
                raw->via.bin.size, &r, &why) == 0 &&
            r.index == index &&
            merkle_verify_inclusion(index, size, leaf,
                (const uint8_t(*)[MERKLE_HASH_BYTES])hashes, nh, root) == 0;
        if (ok && rp->have_subject) {
            bool named = false;

            for (unsigned k = 0; k < r.nsubj; k++) {
                char hex[2 * AUDIT_SUBJECT_BYTES + 1];

                sodium_bin2hex(
                    hex, sizeof(hex), r.subj[k], AUDIT_SUBJECT_BYTES);
                named = named || strcmp(hex, rp->subject) == 0;
            }
            ok = named;
        }
        if (!ok) {
            printf("FAIL: record %" PRIu64 ": does not decode, does not name "
                   "the subject, or its proof does not verify against the "
                   "checkpoint of %" PRIu64 " records\n",
                index, size);
            rp->all_ok = false;
            status = EXIT_BAD;
            continue;
        }
        rp->count++;
        if (rp->o->proofs != NULL &&
            write_proof(rp->o->proofs, &r, (const uint8_t *)raw->via.bin.ptr,
                raw->via.bin.size, leaf, size,
                (const uint8_t(*)[MERKLE_HASH_BYTES])hashes, nh, note,
                ck->via.str.size) != 0) {
            status = EXIT_USAGE;
            break;
        }
        if (rp->accesses != NULL) {
            json_t *a = out_record_json(&r), *p = json_object();
            json_t *hs = json_array();

            out_set(a, "leaf_hash", out_hex(leaf, MERKLE_HASH_BYTES));
            for (size_t k = 0; k < nh; k++)
                out_push(hs, out_hex(hashes[k], MERKLE_HASH_BYTES));
            out_set(p, "size", out_u64(size));
            out_set(p, "verified", json_true());
            out_set(p, "hashes", hs);
            out_set(p, "checkpoint", out_strn(note, ck->via.str.size));
            out_set(a, "proof", p);
            out_push(rp->accesses, a);
        } else {
            out_record_tsv(stdout, &r);
        }
    }
    free(hashes);
    return status;
}

int
cmd_subject_report(const struct cmd *c, int argc, char **argv)
{
    struct qproto_request q;
    struct qproto_reply r;
    struct wire_dec dec;
    struct report rp;
    struct sopts o;
    struct buf reply;
    uint64_t from = 0, next = 0, pages = 0;
    int status;

    status = get_sopts(c, argc, argv, &o);
    if (status != 0)
        return status < 0 ? EXIT_OK : status;
    if (o.key == NULL)
        return cmd_usage_error(c,
            "--key VERIFIER is required (the log's "
            "verifier key, from a source you trust)");
    if (o.proofs != NULL && mkdir(o.proofs, 0700) != 0 && errno != EEXIST)
        return cmd_usage_error(c, "--proofs: cannot make '%s'", o.proofs);
    status = build(c, QPROTO_OP_SUBJECT_REPORT, &o, argv[optind], &q);
    if (status != EXIT_OK)
        return status;
    memset(&rp, 0, sizeof(rp));
    memset(&r, 0, sizeof(r));
    rp.o = &o;
    rp.all_ok = true;
    if (o.req.json)
        rp.accesses = json_array();
    else
        printf("INDEX\tTIME\tACTOR\tROLE\tOP\tCATS\tPURPOSE\tOUTCOME\tREF\n");
    buf_init(&reply, QPROTO_REPLY_MAX);
    wire_dec_init(&dec, 64 * 1024);
    do {
        if (pages > 0) {
            q.args |= QPROTO_ARG_FROM;
            q.from = from;
            cmd_query_id(q.id, sizeof(q.id));
        }
        status = cmd_query_exchange(
            &o.conn, &q, SUBJECT_TIMEOUT_MS, &reply, &dec, &r);
        if (status != EXIT_OK)
            break;
        if (r.code != 0) {
            status = refused(&r, o.req.json);
            break;
        }
        status = report_page(&rp, r.result, &next);
        if (status == EXIT_USAGE)
            break;
        from = next;
        pages++;
    } while (next != 0 && pages < SUBJECT_MAX_PAGES);
    if (status != EXIT_USAGE && r.code == 0) {
        if (!rp.all_ok)
            status = EXIT_BAD;
        if (o.req.json) {
            json_t *j = json_object();

            out_set(j, "ok", json_true());
            out_set(j, "kind", out_str(o.kind));
            out_set(j, "subject",
                rp.have_subject ? out_str(rp.subject) : json_null());
            out_set(j, "count", out_u64(rp.count));
            out_set(j, "pages", out_u64(pages));
            out_set(j, "proofs_ok", json_boolean(rp.all_ok));
            out_set(j, "accesses", rp.accesses);
            rp.accesses = NULL;
            out_print(stdout, j);
        } else {
            printf("subject %s (%s): %" PRIu64 " audited access%s, %s\n",
                rp.have_subject ? rp.subject : "unknown", o.kind, rp.count,
                rp.count == 1 ? "" : "es",
                rp.all_ok ? "every proof verified against a checkpoint "
                            "signed by --key" :
                            "SOME PROOFS FAILED");
        }
    }
    json_decref(rp.accesses);
    wire_dec_release(&dec);
    buf_wipe_release(&reply);
    sodium_memzero(&q, sizeof(q));
    return status;
}

/* -------------------------------------------------- erase and export */

/* Send one subject.erase or subject.export and show the result. */
static int
run_simple(const struct cmd *c, int argc, char **argv, enum qproto_op op)
{
    struct qproto_request q;
    struct qproto_reply r;
    struct wire_dec dec;
    struct sopts o;
    struct buf reply;
    int status;

    status = get_sopts(c, argc, argv, &o);
    if (status != 0)
        return status < 0 ? EXIT_OK : status;
    status = build(c, op, &o, argv[optind], &q);
    if (status != EXIT_OK)
        return status;
    buf_init(&reply, QPROTO_REPLY_MAX);
    wire_dec_init(&dec, 64 * 1024);
    status =
        cmd_query_exchange(&o.conn, &q, SUBJECT_TIMEOUT_MS, &reply, &dec, &r);
    if (status == EXIT_OK && r.code != 0) {
        status = refused(&r, o.req.json);
    } else if (status == EXIT_OK) {
        json_t *res = out_msgpack(r.result);

        if (o.req.json) {
            json_t *j = json_object();

            out_set(j, "ok", json_true());
            out_set(j, "result", res);
            out_print(stdout, j);
        } else {
            const char *k;
            json_t *v;

            json_object_foreach(res, k, v)
            {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

                printf("%-18s %s\n", k, s != NULL ? s : "?");
                out_free(s);
            }
            json_decref(res);
        }
    }
    wire_dec_release(&dec);
    buf_wipe_release(&reply);
    sodium_memzero(&q, sizeof(q));
    return status;
}

int
cmd_subject_simple(const struct cmd *c, int argc, char **argv)
{
    return run_simple(c, argc, argv, (enum qproto_op)c->op);
}
