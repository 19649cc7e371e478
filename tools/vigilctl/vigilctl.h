/*
 * vigilctl.h - what the files of vigilctl share: the command table's
 *              row, exit statuses, handlers and output helpers
 *
 * vigilctl is one process, one thread, run once per command. main.c
 * holds the command table and dispatch; cmd_audit.c the audit log
 * commands (verify, replay, export, prove, check-proof, pubkey), with
 * proof.c (proof.h) reading and checking proof files for check-proof;
 * cmd_query.c the requests to the scorer (score, account, label,
 * review list/decide, linked, list add/remove/show);
 * cmd_subject.c the DPO's requests to it (subject report, export,
 * erase); cmd_client.c the allow-list (client
 * add, list, revoke; server-key); out.c the output helpers (JSON through
 * jansson, TSV and human text). Only this folder includes this header.
 *
 * Invariants:
 *  - exit status 0 ok, 1 the data is bad (verification failed, a proof
 *    does not hold, a file is not a valid proof), 2 usage or environment
 *    error. Handlers return one of the EXIT_* values.
 *  - every JSON value built with out_*() is complete: no helper returns
 *    NULL (allocation failure is fatal, see out_init()).
 *
 * See also: tools/vigilctl.1, CONVENTIONS.md "Config and command line"
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef TOOLS_VIGILCTL_VIGILCTL_H
#define TOOLS_VIGILCTL_VIGILCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/audit.h"
#include "common/compiler.h"

#define PROGNAME   "vigilctl"
#define EXIT_OK    0
#define EXIT_BAD   1
#define EXIT_USAGE 2

/* ------------------------------------------------------ main.c: table */

/* One row of the command table. */
struct cmd {
    const char *name; /* words, space-separated: "audit verify" */
    const char *args; /* synopsis of the arguments */
    int (*handler)(const struct cmd *c, int argc, char **argv);
    const char *help; /* one line */
    int op;           /* the handlers that serve several rows (cmd_query,
                         cmd_subject_simple): the enum qproto_op it sends;
                         else 0 */
    const char *list; /* cmd_query's list.set rows: "allow|block" (list
                         add: the first operand names it), "none" (list
                         remove); else NULL */
};

/* Print the usage of command `c` (its synopsis and help line) to `f`. */
void cmd_usage(const struct cmd *c, FILE *f) NONNULL(1, 2);

/* Print "vigilctl: <message>" and the usage of `c` on stderr; returns
 * EXIT_USAGE. */
int cmd_usage_error(const struct cmd *c, const char *fmt, ...) PRINTF_LIKE(2, 3)
    NONNULL(1, 2);

/*
 * Option parsing shared by the commands: cmd_getopt_begin() once (quiet
 * getopt from argv[1]: the command reports what is wrong), then
 * cmd_getopt() until -1: getopt_long() with "-h" and --help (val 'h')
 * folded into `*help`. After the options, cmd_operands() prints the
 * usage for --help (returns -1: the caller exits EXIT_OK), or checks
 * that argv[optind..argc) holds min..max operands (else a usage error,
 * EXIT_USAGE); 0 to go on.
 */
struct option;
void cmd_getopt_begin(void);
int cmd_getopt(int argc, char **argv, const struct option *longopts, bool *help)
    NONNULL(2, 3, 4);
int cmd_operands(const struct cmd *c, bool help, int argc, int min, int max)
    NONNULL(1);

/* Return the exit status for the result `rc` of an audit_*() reader:
 * EXIT_OK for 0, EXIT_BAD for ERR_CORRUPT, EXIT_USAGE otherwise. */
int cmd_exit_for(int rc);

/*
 * The handlers, one per row or (cmd_query, cmd_subject_simple) per
 * group of rows told apart by their op. Each gets argv[0] = the command's last
 * word and the arguments after it, parses its own options with getopt_long()
 * and returns an EXIT_* status.
 */
int cmd_audit_verify(const struct cmd *c, int argc, char **argv);
int cmd_audit_replay(const struct cmd *c, int argc, char **argv);
int cmd_audit_prove_inclusion(const struct cmd *c, int argc, char **argv);
int cmd_audit_prove_consistency(const struct cmd *c, int argc, char **argv);
int cmd_audit_check_proof(const struct cmd *c, int argc, char **argv);
int cmd_audit_export(const struct cmd *c, int argc, char **argv);
int cmd_audit_pubkey(const struct cmd *c, int argc, char **argv);
int cmd_subject_report(const struct cmd *c, int argc, char **argv);
/* subject erase and subject export: c->op. */
int cmd_subject_simple(const struct cmd *c, int argc, char **argv);
/* Every query row (score, account, label, review, linked, list, status):
 * c->op, c->list. */
int cmd_query(const struct cmd *c, int argc, char **argv);
int cmd_client_add(const struct cmd *c, int argc, char **argv);
int cmd_client_list(const struct cmd *c, int argc, char **argv);
int cmd_client_revoke(const struct cmd *c, int argc, char **argv);
int cmd_server_key(const struct cmd *c, int argc, char **argv);

/* -------------------------------------- cmd_query.c: the round trip */

struct qproto_request;
struct zclient_opts;
struct buf;

/*
 * Send request `q` over a REQ socket made from `conn` and wait
 * `timeout_ms` for the reply frame, copied into `*reply` (capped by its
 * buf). `err` gets the reason of a failure. Returns 0, ERR_AGAIN (no
 * reply in time), ERR_MALFORMED (not one frame) or another ERR_*.
 */
int cmd_query_roundtrip(const struct zclient_opts *conn,
    const struct qproto_request *q, int timeout_ms, struct buf *reply,
    char *err, size_t errlen) NONNULL(1, 2, 4, 5);

/*
 * One round trip: cmd_query_roundtrip() into `*reply` (reset first),
 * then decode it into `*r` (its result borrowed from `dec`). Returns
 * EXIT_OK, or EXIT_USAGE after saying why on stderr.
 */
struct wire_dec;
struct qproto_reply;
int cmd_query_exchange(const struct zclient_opts *conn,
    const struct qproto_request *q, int timeout_ms, struct buf *reply,
    struct wire_dec *dec, struct qproto_reply *r) NONNULL(1, 2, 4, 5, 6);

/* Write a fresh request id ("vigilctl-<pid>-<random>") into id[0..cap). */
void cmd_query_id(char *id, size_t cap) NONNULL(1);

/*
 * The request options of the commands that ask the scorer (the query and
 * subject commands), beside the connection's: --purpose, --case,
 * --storefront, --json. The strings point into argv.
 */
struct cmd_req {
    const char *purpose;
    const char *case_ref;
    const char *storefront;
    bool json;
};

/*
 * Parse the options of a command that asks the scorer: its own, in
 * `own` (codes from 256, below 0x1000; ended by a NULL name), then the
 * connection options (--endpoint, --cert, --server-key, --keys-dir,
 * --insecure-dev) into `conn`, the request options into `req`, and
 * -h/--help into `*help`. Each of its own options goes to
 * apply(c, ch, optarg, ctx), which returns 0 or EXIT_USAGE (after
 * cmd_usage_error). Leaves the operands in argv[optind..argc). Returns
 * 0, or EXIT_USAGE (an unknown or misplaced option is reported here).
 */
int cmd_req_getopt(const struct cmd *c, int argc, char **argv,
    const struct option *own,
    int (*apply)(const struct cmd *c, int ch, const char *arg, void *ctx),
    void *ctx, struct zclient_opts *conn, struct cmd_req *req, bool *help)
    NONNULL(1, 3, 4, 5, 7, 8, 9);

/* --------------------------------------------------- out.c: JSON values */

/*
 * Make jansson allocate through xmalloc (out of memory is fatal) and
 * wipe every block before freeing it, since a JSON reply may hold
 * personal data. Call once, before any other json_* or out_* call.
 */
void out_init(void);

/* Free memory jansson handed out (json_dumps() results). NULL is a no-op. */
void out_free(void *p);

/*
 * JSON values, each new (refcount 1) and never NULL. The strings given
 * must be UTF-8 (the decoders guarantee it); any other byte is shown as
 * '?' rather than losing the value.
 */
json_t *out_strn(const char *s, size_t n) NONNULL(1);
json_t *out_str(const char *s) NONNULL(1);
json_t *out_str_or_null(const char *s) NONNULL(1);      /* null when "" */
json_t *out_hex(const uint8_t *p, size_t n) NONNULL(1); /* lower-case */
/* An integer; above INT64_MAX (jansson's limit, never reached by any
 * field in practice) a number in exponent form. */
json_t *out_u64(uint64_t v);
json_t *out_real(double v); /* null for NaN and infinities */
/* Any decoded msgpack value: maps with string keys become objects, bin
 * becomes hex, ext null. Strings that are not UTF-8 show '?'. */
json_t *out_msgpack(const msgpack_object *o) NONNULL(1);

/* Set obj[key] = v, taking over the reference to `v`. */
void out_set(json_t *obj, const char *key, json_t *v) NONNULL(1, 2);

/* Append `v` to the array `arr`, taking over the reference to `v`. */
void out_push(json_t *arr, json_t *v) NONNULL(1);

/* Print `v` compactly and a newline; takes over the reference. */
void out_print(FILE *f, json_t *v) NONNULL(1, 2);

/*
 * One JSON object whose array member is written one element at a time,
 * so that millions of records are never held at once:
 *     {HEAD MEMBERS,"key":[
 *     ITEM,
 *     ITEM
 *     ],TAIL MEMBERS}
 * Fields are private to out.c.
 */
struct out_stream {
    FILE *f;
    uint64_t n; /* items written */
    char *buf;  /* one encoded item */
    size_t cap;
};

/* Start the object on `f`: the members of `head` (an object, taken
 * over; NULL for none), then `"key":[`. */
void out_stream_open(struct out_stream *s, FILE *f, json_t *head,
    const char *key) NONNULL(1, 2, 4);

/* Write one element; takes over `item`. */
void out_stream_item(struct out_stream *s, json_t *item) NONNULL(1, 2);

/* End the array, write the members of `tail` (taken over; NULL for
 * none), close the object with a newline, and free the stream's buffer. */
void out_stream_close(struct out_stream *s, json_t *tail) NONNULL(1);

/* ------------------------------------------------- out.c: audit output */

/* Room for out_cats(): every category name, comma-separated. */
#define OUT_CATS_MAX 128

/* Write p[0..n) as lower-case hex to `f`. */
void out_put_hex(FILE *f, const uint8_t *p, size_t n) NONNULL(1, 2);

/* Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (utctime). */
void out_time(uint64_t ms, char *out, size_t outlen) NONNULL(2);

/* The category names of `cats`, comma-separated ("" for none). */
void out_cats(uint32_t cats, char *out, size_t outlen) NONNULL(2);

/* The decoded fields of `r` as a new JSON object: index, ts, time,
 * actor, role, op, cats, subj, purpose, outcome, ref, peer, size,
 * version (in that order). */
json_t *out_record_json(const struct audit_record *r) NONNULL(1);

/* One record as a TSV line of twelve columns (vigilctl.1, audit replay). */
void out_record_tsv(FILE *f, const struct audit_record *r) NONNULL(1, 2);

/* Add the outcome of a verifying pass to the object `o`: verified,
 * records_verified, checkpoints_verified, checkpoint_size, key_source
 * and error (null, or record, record_end, checkpoint, file, offset,
 * reason). */
void out_verify_json(json_t *o, int rc, const struct audit_verify_result *res)
    NONNULL(1, 3);

/* Print a verification failure of `dir`: ERR_CORRUPT the
 * redis-check-aof way on stdout (file, offset, first bad record or
 * checkpoint), anything else as one line on stderr. */
void out_verify_failure(const char *dir, int rc,
    const struct audit_verify_result *res) NONNULL(1, 3);

/* Print which verifier key the pass used and where it came from. */
void out_key_source(const struct audit_verify_result *res, FILE *f)
    NONNULL(1, 2);

#endif
