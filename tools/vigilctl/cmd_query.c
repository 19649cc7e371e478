/*
 * cmd_query.c - the fraud team's queries to the scorer: score, account
 *
 * `vigilctl score` and `vigilctl account` send one request to the
 * scorer's query endpoint (common/qproto.h) over a
 * REQ socket (common/zsock) and wait QUERY_TIMEOUT_MS for the reply. The scorer
 * checks the purpose against its authorization table and writes the
 * audit record before it answers; this file reads nothing itself. Until
 * CURVE lands the scorer treats every peer as actor "local-operator",
 * role analyst.
 *
 * Invariants:
 *  - the decoded reply (personal data) is wiped before it is freed, and
 *    so is every JSON value built from it (out_init()).
 *  - a refusal by the scorer exits 1; no reply in time exits 2.
 *
 * See also: vigilctl.h, tools/vigilctl.1, common/qproto.h, scorer/query.c
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
#include "common/utctime.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "tools/vigilctl/vigilctl.h"

#define QUERY_DEFAULT_ENDPOINT "tcp://127.0.0.1:7011"
#define QUERY_TIMEOUT_MS       5000

/* Options of the query commands. */
struct qopts {
    const char *purpose;
    const char *endpoint;
    const char *storefront;
    bool json;
    bool help;
};

enum {
    QOPT_PURPOSE = 256,
    QOPT_ENDPOINT,
    QOPT_STOREFRONT,
    QOPT_JSON,
};

/* Parse the options of a query command; leaves the operands in
 * argv[optind..argc). Returns 0 or EXIT_USAGE (after printing why). */
static int
get_qopts(const struct cmd *c, int argc, char **argv, struct qopts *o)
{
    static const struct option longopts[] = {
        { "purpose", required_argument, NULL, QOPT_PURPOSE },
        { "endpoint", required_argument, NULL, QOPT_ENDPOINT },
        { "storefront", required_argument, NULL, QOPT_STOREFRONT },
        { "json", no_argument, NULL, QOPT_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->endpoint = QUERY_DEFAULT_ENDPOINT;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
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
        default:
            return cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* The score.get result as a new JSON object. */
static json_t *
score_result_json(const struct qproto_score_result *r)
{
    json_t *o = json_object(), *reasons, *x;
    char t[UTCTIME_TEXT_MAX];

    utctime_format(r->ts, t, sizeof(t));
    out_set(o, "order", out_str(r->order));
    out_set(o, "storefront", out_str(r->storefront));
    if (r->account[0] != '\0')
        out_set(o, "account", out_str(r->account));
    out_set(o, "ts", out_u64(r->ts));
    out_set(o, "time", out_str(t));
    out_set(o, "amount", out_u64(r->amount));
    out_set(o, "scored", json_boolean(r->scored));
    if (r->scored) {
        out_set(o, "score", out_u64(r->score));
        out_set(o, "decision", out_str(reply_decision_name(r->decision)));
    }
    out_set(o, "reasons_known", json_boolean(r->reasons_known));
    if (r->reasons_known) {
        reasons = json_array();
        for (unsigned i = 0; i < r->nreasons; i++) {
            x = json_object();
            out_set(x, "code", out_str(r->reasons[i].code));
            out_set(x, "text", out_str(r->reasons[i].text));
            out_set(x, "value", out_real(r->reasons[i].value));
            out_push(reasons, x);
        }
        out_set(o, "reasons", reasons);
    }
    return o;
}

static void
print_score_result(const struct qproto_score_result *r)
{
    char t[UTCTIME_TEXT_MAX];

    out_time(r->ts, t, sizeof(t));
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

/* The account.get result as a new JSON object. */
static json_t *
account_result_json(const struct qproto_account_result *a)
{
    json_t *o = json_object();

    out_set(o, "account", out_str(a->account));
    out_set(o, "storefront", out_str(a->storefront));
    out_set(o, "as_of", out_u64(a->as_of));
    out_set(o, "known", json_boolean(a->known));
    if (a->first_seen_age_ms >= 0)
        out_set(o, "first_seen_age_ms", json_integer(a->first_seen_age_ms));
    if (a->account_age_ms >= 0)
        out_set(o, "account_age_ms", json_integer(a->account_age_ms));
    out_set(o, "orders_1h", out_u64(a->orders_1h));
    out_set(o, "orders_24h", out_u64(a->orders_24h));
    out_set(o, "failed_payments_1h", out_u64(a->failed_payments_1h));
    out_set(o, "failed_payments_24h", out_u64(a->failed_payments_24h));
    out_set(o, "failed_logins_1h", out_u64(a->failed_logins_1h));
    out_set(o, "orders_total", out_u64(a->orders_total));
    out_set(o, "amount_mean", out_u64(a->amount_mean));
    out_set(o, "amount_max", out_u64(a->amount_max));
    if (a->country[0] != '\0')
        out_set(o, "country", out_str(a->country));
    out_set(o, "fraud", json_boolean(a->fraud));
    return o;
}

static void
print_account_result(const struct qproto_account_result *a)
{
    char t[UTCTIME_TEXT_MAX];

    out_time(a->as_of, t, sizeof(t));
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

    rc = get_qopts(c, argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cmd_usage(c, stdout);
        return EXIT_OK;
    }
    if (argc - optind != 1)
        return cmd_usage_error(c, "wrong number of arguments");
    if (o.purpose == NULL)
        return cmd_usage_error(
            c, "--purpose is required (e.g. fraud-prevention)");
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
        return cmd_usage_error(c, "an argument is too long");
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
        json_t *j = json_object();

        out_set(j, "id", out_str(r->id));
        out_set(j, "ok", json_boolean(r->code == 0));
        out_set(j, "code", out_str(err_name(r->code)));
        out_set(j, "msg", out_str(r->msg));
        if (r->has_result)
            out_set(j, "result",
                op == QPROTO_OP_SCORE_GET ? score_result_json(&r->score) :
                                            account_result_json(&r->account));
        out_print(stdout, j);
    } else if (r->code == 0 && r->has_result) {
        if (op == QPROTO_OP_SCORE_GET)
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

int
cmd_score(const struct cmd *c, int argc, char **argv)
{
    return run_query(c, argc, argv, QPROTO_OP_SCORE_GET);
}

int
cmd_account(const struct cmd *c, int argc, char **argv)
{
    return run_query(c, argc, argv, QPROTO_OP_ACCOUNT_GET);
}
