/*
 * cmd_query.c - requests to the scorer's query endpoint: score,
 *               account, label, review list/decide, linked, list
 *               add/remove/show, status;
 *               the round trip cmd_subject.c uses too
 *
 * Each command sends one request (common/qproto.h) over a CURVE REQ
 * socket with the caller's certificate (common/zclient.h) and waits
 * QUERY_TIMEOUT_MS for the reply. The scorer knows the caller by that
 * certificate, checks its role, purpose and storefront against its
 * authorization table and writes the audit record before it answers;
 * this file reads nothing itself. A result is shown generically: every
 * key of the result map, as JSON with --json, else one "key: value"
 * line each.
 *
 * Invariants:
 *  - the reply (personal data) is wiped before it is freed, and so is
 *    every JSON value built from it (out_init()).
 *  - a refusal by the scorer exits 1; no reply in time exits 2.
 *
 * See also: vigilctl.h, vigilctl.1, common/qproto.h, scorer/query.c
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/qproto.h"
#include "common/text.h"
#include "common/utctime.h"
#include "common/zclient.h"
#include "common/zsock.h"
#include "tools/vigilctl/vigilctl.h"

#define QUERY_DEFAULT_ENDPOINT "tcp://127.0.0.1:7011"
#define QUERY_TIMEOUT_MS       5000

/* Options of the query commands. */
struct qopts {
    struct zclient_opts conn;
    struct cmd_req req; /* --purpose, --case, --storefront, --json */
    const char *order;
    const char *account;
    const char *source;
    const char *ref;       /* review decide --ref */
    const char *note;      /* review decide --note: a reason code */
    const char *order_arg; /* review decide's ORDER operand */
    const char *after;     /* review list --after */
    const char *list;      /* list add/remove: allow, block or none */
    const char *entity;    /* list: the KIND operand */
    const char *value;     /* list: the VALUE operand */
    long limit;            /* review list --limit; 0: not given */
    int fraud;             /* -1 not given, 0 --legit, 1 --fraud */
    bool help;
};

enum {
    QOPT_ORDER = 256,
    QOPT_ACCOUNT,
    QOPT_FRAUD,
    QOPT_LEGIT,
    QOPT_SOURCE,
    QOPT_REF,
    QOPT_NOTE,
    QOPT_AFTER,
    QOPT_LIMIT,
};

/* Apply query option `ch` (cmd_req_getopt) to the struct qopts `ctx`. */
static int
qopt(const struct cmd *c, int ch, const char *arg, void *ctx)
{
    struct qopts *o = ctx;
    uint64_t v;

    switch (ch) {
    case QOPT_ORDER:
        o->order = arg;
        break;
    case QOPT_ACCOUNT:
        o->account = arg;
        break;
    case QOPT_FRAUD:
    case QOPT_LEGIT:
        if (o->fraud != -1)
            return cmd_usage_error(c, "give one of --fraud and --legit");
        o->fraud = ch == QOPT_FRAUD;
        break;
    case QOPT_SOURCE:
        o->source = arg;
        break;
    case QOPT_REF:
        o->ref = arg;
        break;
    case QOPT_NOTE:
        o->note = arg;
        break;
    case QOPT_AFTER:
        o->after = arg;
        break;
    default: /* QOPT_LIMIT */
        if (!text_parse_u64(arg, 1, QPROTO_REVIEW_PAGE, &v))
            return cmd_usage_error(
                c, "--limit must be 1..%d", QPROTO_REVIEW_PAGE);
        o->limit = (long)v;
        break;
    }
    return 0;
}

/* Parse the options of a query command; leaves the operands in
 * argv[optind..argc). Returns 0 or EXIT_USAGE (after printing why). */
static int
get_qopts(const struct cmd *c, int argc, char **argv, struct qopts *o)
{
    static const struct option own[] = {
        { "order", required_argument, NULL, QOPT_ORDER },
        { "account", required_argument, NULL, QOPT_ACCOUNT },
        { "fraud", no_argument, NULL, QOPT_FRAUD },
        { "legit", no_argument, NULL, QOPT_LEGIT },
        { "source", required_argument, NULL, QOPT_SOURCE },
        { "ref", required_argument, NULL, QOPT_REF },
        { "note", required_argument, NULL, QOPT_NOTE },
        { "after", required_argument, NULL, QOPT_AFTER },
        { "limit", required_argument, NULL, QOPT_LIMIT },
        { NULL, 0, NULL, 0 },
    };

    memset(o, 0, sizeof(*o));
    o->conn.endpoint = QUERY_DEFAULT_ENDPOINT;
    o->fraud = -1;
    return cmd_req_getopt(
        c, argc, argv, own, qopt, o, &o->conn, &o->req, &o->help);
}

/* Keys whose integer value is a wall-clock time in ms, shown in UTC. */
static bool
is_time_key(const char *key)
{
    static const char *const keys[] = { "ts", "as_of", "started",
        "last_checkpoint" };
    const char *dot = strrchr(key, '.');
    size_t i;

    if (dot != NULL)
        key = dot + 1;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

/*
 * Print a result map as one "key value" line per key; a nested map's
 * keys as "outer.inner"; arrays as compact JSON. Times (ts, as_of,
 * started, last_checkpoint) also in UTC.
 */
static void
print_result_prefixed(json_t *res, const char *prefix)
{
    const char *key;
    json_t *v;

    json_object_foreach(res, key, v)
    {
        char name[256];
        char *s;

        snprintf(
            name, sizeof(name), "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (json_is_object(v) && json_object_size(v) > 0) {
            print_result_prefixed(v, name);
            continue;
        }
        if (json_is_string(v)) {
            printf("%-22s %s\n", name, json_string_value(v));
            continue;
        }
        if (json_is_integer(v) && json_integer_value(v) > 0 &&
            is_time_key(name)) {
            char t[UTCTIME_TEXT_MAX];

            out_time((uint64_t)json_integer_value(v), t, sizeof(t));
            printf("%-22s %" JSON_INTEGER_FORMAT " (%s)\n", name,
                json_integer_value(v), t);
            continue;
        }
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%-22s %s\n", name, s != NULL ? s : "?");
        out_free(s);
    }
}

static void
print_result(json_t *res)
{
    print_result_prefixed(res, "");
}

/* One request and its reply (vigilctl.h). */
int
cmd_query_roundtrip(const struct zclient_opts *conn,
    const struct qproto_request *q, int timeout_ms, struct buf *reply,
    char *err, size_t errlen)
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
    if (rc != 0) {
        snprintf(err, errlen, "request not encodable: %s", err_str(rc));
        goto out_buf;
    }
    ctx = zsock_ctx_new();
    if (ctx == NULL) {
        rc = ERR_IO;
        goto out_buf;
    }
    rc = zclient_connect(ctx, ZSOCK_REQ, conn, &sock, err, errlen);
    if (rc != 0)
        goto out_ctx;
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
    rc = zsock_poll(&pi, 1, timeout_ms, &nready);
    if (rc != 0)
        goto out_sock;
    if (nready == 0) {
        rc = ERR_AGAIN;
        snprintf(err, errlen,
            "no reply within %d s (is vigil-scorer running with that "
            "query_endpoint? is this certificate in its allow-list, and "
            "the server key right?)",
            timeout_ms / 1000);
        goto out_sock;
    }
    rc = zsock_recv_msg(sock, &m, 0);
    if (rc != 0)
        goto out_sock;
    if (m.nparts != 1 || m.overflow) {
        rc = ERR_MALFORMED;
        snprintf(err, errlen, "the reply is not one frame");
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
    if (rc != 0 && err[0] == '\0')
        snprintf(err, errlen, "%s", err_str(rc));
    return rc;
}

int
cmd_query_exchange(const struct zclient_opts *conn,
    const struct qproto_request *q, int timeout_ms, struct buf *reply,
    struct wire_dec *dec, struct qproto_reply *r)
{
    char msg[512];
    int rc;

    buf_reset(reply);
    msg[0] = '\0';
    rc = cmd_query_roundtrip(conn, q, timeout_ms, reply, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "%s: %s: %s\n", PROGNAME, conn->endpoint, msg);
        return EXIT_USAGE;
    }
    rc = qproto_reply_decode(dec, r, reply->data, reply->len, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(
            stderr, "%s: %s: bad reply: %s\n", PROGNAME, conn->endpoint, msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The options every command that asks the scorer takes (cmd_req_getopt):
 * codes above any command's own. */
enum {
    REQ_OPT_FIRST = 0x1000,
    REQ_OPT_ENDPOINT = REQ_OPT_FIRST,
    REQ_OPT_CERT,
    REQ_OPT_SERVER_KEY,
    REQ_OPT_KEYS_DIR,
    REQ_OPT_INSECURE,
    REQ_OPT_PURPOSE,
    REQ_OPT_CASE,
    REQ_OPT_STOREFRONT,
    REQ_OPT_JSON,
};

static const struct option req_longopts[] = {
    { "endpoint", required_argument, NULL, REQ_OPT_ENDPOINT },
    { "cert", required_argument, NULL, REQ_OPT_CERT },
    { "server-key", required_argument, NULL, REQ_OPT_SERVER_KEY },
    { "keys-dir", required_argument, NULL, REQ_OPT_KEYS_DIR },
    { "insecure-dev", no_argument, NULL, REQ_OPT_INSECURE },
    { "purpose", required_argument, NULL, REQ_OPT_PURPOSE },
    { "case", required_argument, NULL, REQ_OPT_CASE },
    { "storefront", required_argument, NULL, REQ_OPT_STOREFRONT },
    { "json", no_argument, NULL, REQ_OPT_JSON },
    { "help", no_argument, NULL, 'h' },
};

/* Most options of one command of its own (cmd_req_getopt). */
#define CMD_OWN_OPTS_MAX 16

/* Apply shared option `ch`; false when `ch` is none of them. */
static bool
req_option(
    int ch, const char *arg, struct zclient_opts *conn, struct cmd_req *req)
{
    switch (ch) {
    case REQ_OPT_ENDPOINT:
        conn->endpoint = arg;
        return true;
    case REQ_OPT_CERT:
        conn->cert = arg;
        return true;
    case REQ_OPT_SERVER_KEY:
        conn->server_key = arg;
        return true;
    case REQ_OPT_KEYS_DIR:
        conn->keys_dir = arg;
        return true;
    case REQ_OPT_INSECURE:
        conn->insecure = true;
        return true;
    case REQ_OPT_PURPOSE:
        req->purpose = arg;
        return true;
    case REQ_OPT_CASE:
        req->case_ref = arg;
        return true;
    case REQ_OPT_STOREFRONT:
        req->storefront = arg;
        return true;
    case REQ_OPT_JSON:
        req->json = true;
        return true;
    default:
        return false;
    }
}

int
cmd_req_getopt(const struct cmd *c, int argc, char **argv,
    const struct option *own,
    int (*apply)(const struct cmd *c, int ch, const char *arg, void *ctx),
    void *ctx, struct zclient_opts *conn, struct cmd_req *req, bool *help)
{
    struct option all[CMD_OWN_OPTS_MAX + ARRAY_LEN(req_longopts) + 1];
    size_t n = 0;
    int ch, rc;

    while (own[n].name != NULL) {
        if (n == CMD_OWN_OPTS_MAX)
            return cmd_usage_error(c, "more than %d options of its own",
                CMD_OWN_OPTS_MAX); /* a table too long: a bug */
        all[n] = own[n];
        n++;
    }
    memcpy(all + n, req_longopts, sizeof(req_longopts));
    memset(&all[n + ARRAY_LEN(req_longopts)], 0, sizeof(all[0]));
    cmd_getopt_begin();
    while ((ch = cmd_getopt(argc, argv, all, help)) != -1) {
        if (ch >= 256 && ch < REQ_OPT_FIRST)
            rc = apply(c, ch, optarg, ctx);
        else if (req_option(ch, optarg, conn, req))
            rc = 0;
        else
            rc = cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void
cmd_query_id(char *id, size_t cap)
{
    uint8_t rnd[6];

    randombytes_buf(rnd, sizeof(rnd));
    snprintf(id, cap, "vigilctl-%ld-%02x%02x%02x%02x%02x%02x", (long)getpid(),
        rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

/* Copy `v` into dst (size cap); false when it does not fit. */
static bool
put_arg(char *dst, size_t cap, const char *v)
{
    if (v == NULL)
        return true;
    if (strlen(v) >= cap)
        return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

/* Build the request of op `op` from the options and operand `arg`. */
static int
build_request(const struct cmd *c, enum qproto_op op, struct qopts *o,
    const char *arg, struct qproto_request *q)
{
    memset(q, 0, sizeof(*q));
    q->op = op;
    cmd_query_id(q->id, sizeof(q->id));
    if (op == QPROTO_OP_STATUS && o->req.purpose == NULL)
        o->req.purpose = "operations";
    if (o->req.purpose == NULL)
        return cmd_usage_error(
            c, "--purpose is required (e.g. fraud-prevention)");
    if (op != QPROTO_OP_REVIEW_DECIDE && (o->ref != NULL || o->note != NULL))
        return cmd_usage_error(c, "--ref and --note are review decide's");
    if (op != QPROTO_OP_REVIEW_LIST && (o->after != NULL || o->limit != 0))
        return cmd_usage_error(c, "--after and --limit are review list's");
    if (op == QPROTO_OP_STATUS) {
        if (o->order != NULL || o->account != NULL || o->fraud >= 0 ||
            o->source != NULL || o->req.storefront != NULL)
            return cmd_usage_error(c, "status takes no such option");
    } else if (op == QPROTO_OP_REVIEW_LIST) {
        if (o->order != NULL || o->account != NULL || o->fraud >= 0 ||
            o->source != NULL)
            return cmd_usage_error(c, "review list takes no such option");
        if (o->limit != 0) {
            q->args |= QPROTO_ARG_LIMIT;
            q->limit = (uint32_t)o->limit;
        }
        if (o->after != NULL) {
            q->args |= QPROTO_ARG_AFTER;
            if (!put_arg(q->after, sizeof(q->after), o->after))
                return cmd_usage_error(c, "--after is too long");
        }
    } else if (op == QPROTO_OP_REVIEW_DECIDE) {
        /* arg: "approve" or "reject"; the order by id or --ref. */
        if (o->order != NULL || o->account != NULL || o->fraud >= 0 ||
            o->source != NULL)
            return cmd_usage_error(c, "review decide takes no such option");
        if (strcmp(arg, "approve") != 0 && strcmp(arg, "reject") != 0)
            return cmd_usage_error(c, "the decision is approve or reject");
        q->fraud = strcmp(arg, "reject") == 0;
        q->args = QPROTO_ARG_FRAUD;
        if (o->ref != NULL) {
            q->args |= QPROTO_ARG_REF;
            if (!put_arg(q->ref, sizeof(q->ref), o->ref))
                return cmd_usage_error(c, "--ref is 32 hex digits");
        } else {
            q->args |= QPROTO_ARG_ORDER;
            if (!put_arg(q->order, sizeof(q->order), o->order_arg))
                return cmd_usage_error(c, "ORDER is too long");
        }
        if (o->note != NULL) {
            /* A reason code, kept as the label's source. */
            q->args |= QPROTO_ARG_SOURCE;
            if ((size_t)snprintf(q->source, sizeof(q->source), "review.%s.%s",
                    arg, o->note) >= sizeof(q->source))
                return cmd_usage_error(c, "--note is too long");
        }
    } else if (op == QPROTO_OP_LIST_SET || op == QPROTO_OP_LIST_GET) {
        if (o->order != NULL || o->account != NULL || o->fraud >= 0 ||
            o->source != NULL)
            return cmd_usage_error(c, "list takes no such option");
        q->args = QPROTO_ARG_ENTITY | QPROTO_ARG_VALUE;
        if (!put_arg(q->entity, sizeof(q->entity), o->entity) ||
            !put_arg(q->value, sizeof(q->value), o->value))
            return cmd_usage_error(c, "KIND or VALUE is too long");
        if (op == QPROTO_OP_LIST_SET) {
            q->args |= QPROTO_ARG_LIST;
            if (!put_arg(q->list, sizeof(q->list), o->list))
                return cmd_usage_error(c, "the list is allow or block");
        }
    } else if (op == QPROTO_OP_LINKED_GET) {
        q->args = QPROTO_ARG_ACCOUNT;
        if (!put_arg(q->account, sizeof(q->account), arg))
            return cmd_usage_error(c, "ACCOUNT is too long");
    } else if (op == QPROTO_OP_SCORE_GET) {
        q->args = QPROTO_ARG_ORDER;
        if (!put_arg(q->order, sizeof(q->order), arg))
            return cmd_usage_error(c, "ORDER is too long");
    } else if (op == QPROTO_OP_ACCOUNT_GET) {
        q->args = QPROTO_ARG_ACCOUNT;
        if (!put_arg(q->account, sizeof(q->account), arg))
            return cmd_usage_error(c, "ACCOUNT is too long");
    } else {
        if ((o->order == NULL) == (o->account == NULL))
            return cmd_usage_error(c, "give one of --order and --account");
        if (o->fraud < 0)
            return cmd_usage_error(c, "give one of --fraud and --legit");
        q->args = QPROTO_ARG_FRAUD |
            (o->order != NULL ? QPROTO_ARG_ORDER : QPROTO_ARG_ACCOUNT);
        q->fraud = o->fraud == 1;
        if (o->source != NULL)
            q->args |= QPROTO_ARG_SOURCE;
        if (!put_arg(q->order, sizeof(q->order), o->order) ||
            !put_arg(q->account, sizeof(q->account), o->account) ||
            !put_arg(q->source, sizeof(q->source), o->source))
            return cmd_usage_error(c, "an argument is too long");
    }
    if (!put_arg(q->purpose, sizeof(q->purpose), o->req.purpose) ||
        !put_arg(q->storefront, sizeof(q->storefront), o->req.storefront) ||
        !put_arg(q->case_ref, sizeof(q->case_ref), o->req.case_ref))
        return cmd_usage_error(c, "an argument is too long");
    return EXIT_OK;
}

/* Show the decoded reply `r`; returns the exit status. */
static int
show_reply(const struct qproto_reply *r, bool json)
{
    json_t *res = r->result != NULL ? out_msgpack(r->result) : NULL;

    if (json) {
        json_t *j = json_object();

        out_set(j, "id", out_str(r->id));
        out_set(j, "ok", json_boolean(r->code == 0));
        out_set(j, "code", out_str(err_name(r->code)));
        out_set(j, "msg", out_str(r->msg));
        if (r->retry_after_ms > 0)
            out_set(j, "retry_after_ms", json_integer(r->retry_after_ms));
        if (res != NULL)
            out_set(j, "result", json_incref(res));
        out_print(stdout, j);
    } else if (res != NULL) {
        print_result(res);
    }
    json_decref(res);
    if (r->code != 0) {
        if (r->retry_after_ms > 0)
            fprintf(stderr, "%s: %s: %s (retry after %" PRIu32 " ms)\n",
                PROGNAME, err_name(r->code), r->msg, r->retry_after_ms);
        else
            fprintf(
                stderr, "%s: %s: %s\n", PROGNAME, err_name(r->code), r->msg);
        return EXIT_BAD;
    }
    return EXIT_OK;
}

/*
 * One query row: send `op`, show the answer; `list` is list.set's:
 * "allow|block" (list add: the first operand names it), "none" (list remove),
 * NULL.
 */
static int
run_query_list(const struct cmd *c, int argc, char **argv, enum qproto_op op,
    const char *list)
{
    struct qproto_request q;
    struct qproto_reply r;
    struct wire_dec dec;
    struct qopts o;
    struct buf reply;
    int rc, status;
    int nargs = op == QPROTO_OP_LABEL || op == QPROTO_OP_STATUS ||
            op == QPROTO_OP_REVIEW_LIST ?
        0 :
        1;

    rc = get_qopts(c, argc, argv, &o);
    if (rc == 0 && o.help)
        rc = cmd_operands(c, true, argc, 0, 0);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    /* review decide: ORDER approve|reject, or --ref REF approve|reject. */
    if (op == QPROTO_OP_REVIEW_DECIDE && o.ref == NULL) {
        if (argc - optind != 2)
            return cmd_usage_error(c, "wrong number of arguments");
        o.order_arg = argv[optind++];
    }
    /* list add allow|block KIND VALUE; list remove|show KIND VALUE. */
    if (op == QPROTO_OP_LIST_SET || op == QPROTO_OP_LIST_GET) {
        bool add = list != NULL && strcmp(list, "none") != 0;

        if (argc - optind != (add ? 3 : 2))
            return cmd_usage_error(c, "wrong number of arguments");
        if (add) {
            o.list = argv[optind++];
            if (strcmp(o.list, "allow") != 0 && strcmp(o.list, "block") != 0)
                return cmd_usage_error(c, "the list is allow or block");
        } else {
            o.list = list;
        }
        o.entity = argv[optind++];
        o.value = argv[optind++];
        nargs = 0;
    }
    if (argc - optind != nargs)
        return cmd_usage_error(c, "wrong number of arguments");
    status = build_request(c, op, &o, nargs ? argv[optind] : NULL, &q);
    if (status != EXIT_OK)
        return status;
    buf_init(&reply, QPROTO_REPLY_MAX);
    wire_dec_init(&dec, 16 * 1024);
    status =
        cmd_query_exchange(&o.conn, &q, QUERY_TIMEOUT_MS, &reply, &dec, &r);
    if (status == EXIT_OK)
        status = show_reply(&r, o.req.json);
    wire_dec_release(&dec);
    sodium_memzero(&q, sizeof(q));
    buf_wipe_release(&reply);
    return status;
}

int
cmd_query(const struct cmd *c, int argc, char **argv)
{
    return run_query_list(c, argc, argv, (enum qproto_op)c->op, c->list);
}
