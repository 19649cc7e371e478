/*
 * make_corpus.c - write the seed corpus of every fuzz target from real
 *                 frames, records, logs, notes, certificates and configs
 *
 *   make_corpus OUT WORKDIR
 *
 * writes OUT/<target>/<name> for each harness tests/fuzz/fuzz_<target>.c
 * except proof (make_corpus.sh adds vigilctl's proof files), using the
 * empty directory WORKDIR for its files, and leaves in WORKDIR/audit a
 * small audit log signed with the fixed key of fuzzutil.h, for
 * `vigilctl audit prove` to prove from.
 * Everything is made by the product's own encoders and writers
 * (storefront frames by msgpack-c from field tables, as a storefront in
 * another language would send them), so the seeds are what each parser
 * meets in production; a few are deliberately broken near the edge of
 * the format (a torn tail, an unknown field) so the fuzzer starts on
 * both sides of each check. Deterministic except where a key pair is
 * generated (certificates).
 *
 * Run through tests/fuzz/make_corpus.sh, which replaces
 * tests/fuzz/corpus/ with the result.
 *
 * See also: tests/fuzz/fuzzutil.h, tests/harness/msgframe.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/cert.h"
#include "common/cfg.h"
#include "common/err.h"
#include "common/event.h"
#include "common/ipcproto.h"
#include "common/note.h"
#include "common/pseudo.h"
#include "common/qproto.h"
#include "common/reply.h"
#include "common/sfproto.h"
#include "common/wire.h"
#include "tests/fuzz/fuzzutil.h"
#include "tests/harness/msgframe.h"

#define TSV 1700000000000ULL

static const char *out_root;

static void
die(const char *what)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
put(const char *target, const char *name, const void *p, size_t n)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", out_root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path);
    snprintf(path, sizeof(path), "%s/%s/%s", out_root, target, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die(path);
}

static void
put_buf(const char *target, const char *name, const struct buf *b)
{
    put(target, name, b->data, b->len);
}

static void
put_str(const char *target, const char *name, const char *s)
{
    put(target, name, s, strlen(s));
}

/* wire seeds carry a depth byte first (fuzz_wire.c). */
static void
put_wire(const char *name, const void *p, size_t n, unsigned depth)
{
    uint8_t *b = malloc(n + 1);

    if (b == NULL)
        die("malloc");
    b[0] = (uint8_t)depth;
    memcpy(b + 1, p, n);
    put("wire", name, b, n + 1);
    free(b);
}

static uint8_t *
slurp(const char *path, size_t *n)
{
    struct stat st;
    uint8_t *p;
    FILE *f = fopen(path, "rb");

    if (f == NULL || fstat(fileno(f), &st) != 0)
        die(path);
    p = malloc((size_t)st.st_size + 1);
    if (p == NULL || fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        die(path);
    fclose(f);
    *n = (size_t)st.st_size;
    return p;
}

/* ------------------------------------------- storefront frames (sfproto) */

static const struct tf card_num[] = { S("number", "4111111111111111"), END };
static const struct tf card_fp[] = { S("fingerprint", "tok_1NfZ0aLkdIwHu7ix"),
    S("bin", "424242"), END };
static const struct tf bill[] = { S("name", "Ann Lee"),
    S("street", "1 Main St"), S("city", "Springfield"), S("postal", "12345"),
    S("country", "US"), END };
static const struct tf ship[] = { S("name", "Ann Lee"),
    S("street", "Flat 2, 10 Downing St"), S("city", "London"),
    S("postal", "SW1A 2AA"), S("country", "GB"), END };

static const struct tf ev_seen[] = { U("v", 1), S("type", "device.seen"),
    S("id", "e-seen-1"), U("ts", TSV), S("device", "dev-abc"),
    S("ip", "203.0.113.77"), S("ip_country", "FR"),
    S("ua",
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/120.0 Safari/537.36"),
    S("tz", "Europe/Paris"), S("lang", "fr-FR"), S("carrier", "Orange"),
    S("session", "s-1"), S("account", "acc-1"), END };
static const struct tf ev_signup[] = { U("v", 1), S("type", "account.signup"),
    S("id", "e-su-1"), U("ts", TSV), S("account", "acc-1"),
    S("email", "Ann.Lee@Example.COM"), S("phone", "+1 (555) 010-9999"),
    S("name", "Ann Lee"), S("source", "seo"), U("age", 33),
    S("referrer", "https://search.example:8443/q?email=a%40b.c"), END };
static const struct tf ev_login[] = { U("v", 1), S("type", "account.login"),
    S("id", "e-li-1"), U("ts", TSV), S("account", "acc-1"), B("ok", 0),
    S("method", "password"), S("ip", "198.51.100.7"), END };
static const struct tf ev_update[] = { U("v", 1), S("type", "account.update"),
    S("id", "e-up-1"), U("ts", TSV), S("account", "acc-1"), S("field", "email"),
    S("value", "new@example.org"), END };
static const struct tf ev_update_pw[] = { U("v", 1),
    S("type", "account.update"), S("id", "e-up-2"), U("ts", TSV),
    S("account", "acc-1"), S("field", "password"), END };
static const struct tf ev_order[] = { U("v", 1), S("type", "order.placed"),
    S("id", "e-or-1"), U("ts", TSV), S("account", "acc-1"),
    S("device", "dev-abc"), S("ip", "2001:db8:1:2::5"), S("order", "o-1"),
    U("amount", 12999), S("currency", "EUR"), U("items", 3),
    M("card", card_num), M("billing", bill), M("shipping", ship),
    S("email", "ann@example.com"), S("session", "s-1"), END };
static const struct tf ev_order_fp[] = { U("v", 1), S("type", "order.placed"),
    S("id", "e-or-2"), U("ts", TSV + 1000), S("account", "acc-2"),
    S("order", "o-2"), U("amount", 900000), S("currency", "GBP"),
    M("card", card_fp), M("shipping", ship), S("ip", "81.20.3.10"),
    S("ip_country", "GB"), END };
static const struct tf ev_payment[] = { U("v", 1), S("type", "payment.result"),
    S("id", "e-pr-1"), U("ts", TSV), S("order", "o-1"), B("ok", 0),
    S("reason", "declined"), END };
static const struct tf ev_label[] = { U("v", 1), S("type", "label"),
    S("id", "e-la-1"), U("ts", TSV), S("order", "o-1"), B("fraud", 1),
    S("source", "chargeback"), END };
/* Refused ones: an unknown field, a password. */
static const struct tf ev_unknown[] = { U("v", 1), S("type", "device.seen"),
    S("id", "e-bad-1"), U("ts", TSV), S("colour", "red"), END };
static const struct tf ev_password[] = { U("v", 1), S("type", "account.signup"),
    S("id", "e-bad-2"), U("ts", TSV), S("password", "hunter2"), END };

static const struct {
    const char *name;
    const struct tf *f;
} events[] = {
    { "seen", ev_seen },
    { "signup", ev_signup },
    { "login", ev_login },
    { "update", ev_update },
    { "update-password", ev_update_pw },
    { "order-number", ev_order },
    { "order-fingerprint", ev_order_fp },
    { "payment", ev_payment },
    { "label", ev_label },
    { "bad-unknown-field", ev_unknown },
    { "bad-password", ev_password },
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

static struct sfproto_batch batch;
static struct pseudo_key *pkey;

static void
sfproto_seeds(void)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    char name[64];

    for (size_t i = 0; i < NEVENTS; i++) {
        frame_of(&sb, events[i].f);
        snprintf(name, sizeof(name), "%s.mp", events[i].name);
        put("sfproto", name, sb.data, sb.size);
        put_wire(name, sb.data, sb.size, 3);
        msgpack_sbuffer_destroy(&sb);
    }
    /* A batch of every event, as one array frame. */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, NEVENTS);
    for (size_t i = 0; i < NEVENTS; i++)
        pack_tf(&pk, events[i].f);
    put("sfproto", "batch.mp", sb.data, sb.size);
    put_wire("batch.mp", sb.data, sb.size, 4);
    msgpack_sbuffer_destroy(&sb);
}

/* Decode the storefront frame of events[i] into batch.items[0]. */
static struct sfproto_item *
decode_event(size_t i)
{
    msgpack_sbuffer sb;
    char msg[256];

    frame_of(&sb, events[i].f);
    if (sfproto_batch_decode(&batch, sb.data, sb.size, msg, sizeof(msg)) != 0)
        TEST_FAIL("%s: frame refused: %s", events[i].name, msg);
    msgpack_sbuffer_destroy(&sb);
    return &batch.items[0];
}

/* ------------------------------------------ internal events and ipcproto */

static void
reply_for(struct reply *r, const struct sfproto_item *it, bool order)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", it->id);
    if (it->rc != 0) {
        reply_error(r, it->id, it->rc, it->msg);
        return;
    }
    if (!order)
        return;
    r->has_score = true;
    r->score = 87;
    r->decision = REPLY_DECISION_BLOCK;
    r->nreasons = 2;
    snprintf(r->reasons[0].code, sizeof(r->reasons[0].code), "%s",
        "card_many_accounts");
    snprintf(r->reasons[0].text, sizeof(r->reasons[0].text), "%s",
        "the card was used by 4 accounts in 24 h");
    r->reasons[0].value = 4;
    snprintf(
        r->reasons[1].code, sizeof(r->reasons[1].code), "%s", "amount_high");
    snprintf(r->reasons[1].text, sizeof(r->reasons[1].text), "%s",
        "the amount is 9.5 times the account's mean");
    r->reasons[1].value = 9.5;
}

static void
event_and_ipc_seeds(void)
{
    static struct event evs[NEVENTS];
    static struct reply reps[NEVENTS];
    struct buf b, frame, rf;
    struct zauth_refusal ref[2];
    size_t n = 0;
    char name[64];

    buf_init(&frame, IPCPROTO_MAX_BYTES);
    buf_init(&rf, IPCPROTO_MAX_BYTES);
    for (size_t i = 0; i < NEVENTS; i++) {
        struct sfproto_item *it = decode_event(i);
        bool order = it->ev.type == EVENT_ORDER_PLACED;

        reply_for(&reps[i], it, order);
        if (it->rc != 0)
            continue;
        pseudo_apply(pkey, "shop-a", &it->ev, &it->pii);
        evs[n++] = it->ev;
        buf_init(&b, EVENT_MAX_ENCODED);
        ASSERT_OK(event_encode(&b, &it->ev));
        snprintf(name, sizeof(name), "%s.mp", events[i].name);
        put_buf("event", name, &b);
        buf_release(&b);
    }
    /* The collector's frame of all good events, and the scorer's replies
     * (one per event of the batch, errors included). */
    ASSERT_OK(ipcproto_events_begin(&frame, 42, "shop-a", (uint32_t)n));
    for (size_t i = 0; i < n; i++)
        ASSERT_OK(ipcproto_events_add(&frame, &evs[i]));
    put_buf("ipcproto", "events.mp", &frame);
    put_wire("ipc-events.mp", frame.data, frame.len, 2);
    buf_truncate(&frame, 0);
    ASSERT_OK(ipcproto_events_begin(&frame, 7, "storefront", 1));
    ASSERT_OK(ipcproto_events_add(&frame, &evs[0]));
    put_buf("ipcproto", "events-one.mp", &frame);

    ASSERT_OK(ipcproto_replies_begin(&rf, 42, NEVENTS));
    for (size_t i = 0; i < NEVENTS; i++)
        ASSERT_OK(reply_encode(&rf, &reps[i]));
    put_buf("ipcproto", "replies.mp", &rf);

    /* The same replies as the storefront gets them: an array, and one. */
    buf_truncate(&rf, 0);
    ASSERT_OK(wire_array_header(&rf, NEVENTS));
    for (size_t i = 0; i < NEVENTS; i++)
        ASSERT_OK(reply_encode(&rf, &reps[i]));
    put_buf("sfproto", "replies.mp", &rf);
    put_wire("replies.mp", rf.data, rf.len, 4);
    buf_truncate(&rf, 0);
    ASSERT_OK(reply_encode(&rf, &reps[5]));
    put_buf("sfproto", "reply-order.mp", &rf);

    memset(ref, 0, sizeof(ref));
    snprintf(ref[0].key, sizeof(ref[0].key), "%s",
        "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    snprintf(ref[0].address, sizeof(ref[0].address), "%s", "127.0.0.1");
    snprintf(ref[0].reason, sizeof(ref[0].reason), "%s", "unknown key");
    ref[0].count = 3;
    ref[0].first_ms = TSV;
    ref[0].last_ms = TSV + 5000;
    snprintf(ref[1].address, sizeof(ref[1].address), "%s", "::1");
    snprintf(ref[1].reason, sizeof(ref[1].reason), "%s", "no CURVE");
    ref[1].count = 1;
    ref[1].first_ms = ref[1].last_ms = TSV;
    buf_truncate(&rf, 0);
    ASSERT_OK(ipcproto_refusals_encode(&rf, ref, 2));
    put_buf("ipcproto", "refusals.mp", &rf);
    buf_release(&frame);
    buf_release(&rf);
}

/* ------------------------------------------------------------- qproto */

static void
qproto_seeds(void)
{
    struct qproto_request q;
    struct wire_enc e;
    struct buf b;

    buf_init(&b, QPROTO_MAX_BYTES);
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_SCORE_GET;
    snprintf(q.id, sizeof(q.id), "%s", "q-1");
    snprintf(q.purpose, sizeof(q.purpose), "%s", "fraud-prevention");
    snprintf(q.storefront, sizeof(q.storefront), "%s", "shop-a");
    q.args = QPROTO_ARG_ORDER;
    snprintf(q.order, sizeof(q.order), "%s", "o-1");
    ASSERT_OK(qproto_request_encode(&b, &q));
    put_buf("qproto", "score-get.mp", &b);

    buf_truncate(&b, 0);
    q.op = QPROTO_OP_ACCOUNT_GET;
    q.args = QPROTO_ARG_ACCOUNT;
    snprintf(q.id, sizeof(q.id), "%s", "q-2");
    snprintf(q.purpose, sizeof(q.purpose), "%s", "chargeback-review");
    snprintf(q.case_ref, sizeof(q.case_ref), "%s", "CB-2024-0117");
    snprintf(q.account, sizeof(q.account), "%s", "acc-1");
    ASSERT_OK(qproto_request_encode(&b, &q));
    put_buf("qproto", "account-get-case.mp", &b);
    put_wire("account-get.mp", b.data, b.len, 1);

    buf_truncate(&b, 0);
    memset(&q, 0, sizeof(q));
    q.op = QPROTO_OP_LABEL;
    snprintf(q.id, sizeof(q.id), "%s", "q-3");
    snprintf(q.purpose, sizeof(q.purpose), "%s", "fraud-prevention");
    q.args = QPROTO_ARG_ACCOUNT | QPROTO_ARG_FRAUD | QPROTO_ARG_SOURCE;
    snprintf(q.account, sizeof(q.account), "%s", "acc-9");
    q.fraud = true;
    snprintf(q.source, sizeof(q.source), "%s", "manual-review");
    ASSERT_OK(qproto_request_encode(&b, &q));
    put_buf("qproto", "label.mp", &b);

    /* Replies: one with a result map, one error. */
    buf_truncate(&b, 0);
    qproto_reply_begin(&e, &b, "q-1");
    wire_put_map(&e, 6);
    wire_put_str(&e, "order");
    wire_put_str(&e, "o-1");
    wire_put_str(&e, "storefront");
    wire_put_str(&e, "shop-a");
    wire_put_str(&e, "scored");
    wire_put_bool(&e, true);
    wire_put_str(&e, "score");
    wire_put_uint(&e, 87);
    wire_put_str(&e, "decision");
    wire_put_str(&e, "block");
    wire_put_str(&e, "reasons");
    wire_put_array(&e, 1);
    wire_put_map(&e, 3);
    wire_put_str(&e, "code");
    wire_put_str(&e, "amount_high");
    wire_put_str(&e, "text");
    wire_put_str(&e, "the amount is high");
    wire_put_str(&e, "value");
    wire_put_double(&e, 9.5);
    ASSERT_OK(wire_enc_end(&e));
    put_buf("qproto", "reply-score.mp", &b);
    put_wire("reply-score.mp", b.data, b.len, 4);
    buf_truncate(&b, 0);
    ASSERT_OK(qproto_reply_error_encode(
        &b, "q-2", ERR_DENIED, "purpose: not allowed for role analyst"));
    put_buf("qproto", "reply-denied.mp", &b);
    buf_release(&b);
}

/* ---------------------------------------------------- the audit record */

static void
record_fill(struct audit_record *r, uint64_t i)
{
    static const char *const actors[] = { "shop-a", "alice", "system",
        "dpo:bob" };
    static const char *const ops[] = { "event.store", "score.get",
        "account.get", "label.put" };

    memset(r, 0, sizeof(*r));
    r->index = i;
    r->ts_ms = TSV + i * 1000;
    snprintf(r->actor, sizeof(r->actor), "%s", actors[i % 4]);
    r->role = (enum audit_role)(i % AUDIT_ROLE_COUNT);
    snprintf(r->op, sizeof(r->op), "%s", ops[i % 4]);
    r->cats = (uint32_t)((i * 37) & AUDIT_CAT_ALL);
    r->nsubj = (unsigned)(i % 4);
    for (unsigned s = 0; s < r->nsubj; s++)
        for (unsigned k = 0; k < AUDIT_SUBJECT_BYTES; k++)
            r->subj[s][k] = (uint8_t)(i * 31 + s * 7 + k);
    snprintf(r->purpose, sizeof(r->purpose), "%s",
        i % 3 == 0 ? "fraud-prevention" : "chargeback-review");
    r->outcome = (enum audit_outcome)(i % AUDIT_OUTCOME_COUNT);
    snprintf(r->ref, sizeof(r->ref), "%032llx", (unsigned long long)(i + 1));
}

static void
record_seeds(void)
{
    uint8_t out[AUDIT_MAX_RECORD_BYTES];
    struct audit_record r;
    size_t n;
    char name[64];

    for (uint64_t i = 0; i < 8; i++) {
        record_fill(&r, i * 1000003u);
        if (i == 7) {
            r.nsubj = AUDIT_MAX_SUBJECTS;
            r.cats = AUDIT_CAT_ALL;
            memset(r.ref, 'r', AUDIT_MAX_REF);
            r.ref[AUDIT_MAX_REF] = '\0';
        }
        ASSERT_OK(audit_record_encode(&r, out, sizeof(out), &n));
        snprintf(name, sizeof(name), "record-%u.mp", (unsigned)i);
        put("audit_record", name, out, n);
    }
    put_str("audit_record", "role-dpo", "dpo");
    put_str("audit_record", "cat-payment", "payment");
}

/* ------------------------------------------------------- the audit log */

/* Write a log of `n` records into `dir` (new), with a checkpoint after
 * each `every` records and segments of `segbytes`. */
static void
make_log(const char *dir, uint64_t n, uint64_t every, uint64_t segbytes)
{
    struct audit_log *log;
    struct audit_record r;
    uint64_t index;
    struct note_signer signer;

    if (mkdir(dir, 0700) != 0)
        die(dir);
    ASSERT_OK(note_signer_parse(FUZZ_SKEY, &signer));
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    note_signer_wipe(&signer);
    if (segbytes != 0)
        audit_log_set_segment_bytes(log, segbytes);
    for (uint64_t i = 0; i < n; i++) {
        record_fill(&r, i);
        ASSERT_OK(audit_append(log, &r, &index));
        ASSERT_OK(audit_sync(log));
        if ((i + 1) % every == 0)
            ASSERT_OK(audit_checkpoint(log, TSV));
    }
    audit_log_close(log);
}

/* Pack the files of log `dir` as fuzz_audit_log.c's input. `extra` bytes
 * are appended to the first segment (a torn tail). */
static void
put_log(const char *name, const char *dir, uint8_t flags, const char *seg2,
    uint8_t seg2_first, const char *extra)
{
    char path[1024];
    uint8_t *ck, *s1, *s2 = NULL, *in;
    size_t nck, ns1, ns2 = 0, nx = extra != NULL ? strlen(extra) : 0, at = 0;

    snprintf(path, sizeof(path), "%s/checkpoints.log", dir);
    ck = slurp(path, &nck);
    snprintf(path, sizeof(path), "%s/records-00000000000000000000.log", dir);
    s1 = slurp(path, &ns1);
    if (seg2 != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, seg2);
        s2 = slurp(path, &ns2);
    }
    if (nck > 0xffff || ns1 + nx > 0xffff)
        TEST_FAIL("%s: a file over 64 KiB", name);
    in = malloc(6 + nck + ns1 + nx + ns2);
    if (in == NULL)
        die("malloc");
    in[at++] = flags;
    in[at++] = seg2_first;
    in[at++] = (uint8_t)nck;
    in[at++] = (uint8_t)(nck >> 8);
    memcpy(in + at, ck, nck);
    at += nck;
    in[at++] = (uint8_t)(ns1 + nx);
    in[at++] = (uint8_t)((ns1 + nx) >> 8);
    memcpy(in + at, s1, ns1);
    at += ns1;
    memcpy(in + at, extra != NULL ? extra : "", nx);
    at += nx;
    if (s2 != NULL)
        memcpy(in + at, s2, ns2);
    at += ns2;
    put("audit_log", name, in, at);
    free(in);
    free(ck);
    free(s1);
    free(s2);
}

static void
log_seeds(const char *tmp)
{
    char dir[1024], path[1100], seg2[64];
    uint64_t first2 = 0;

    snprintf(dir, sizeof(dir), "%s/log-small", tmp);
    make_log(dir, 3, 3, 0);
    put_log("small.log", dir, 0, NULL, 0, NULL);
    put_log("small-writer.log", dir, 2, NULL, 0, NULL);
    /* A torn frame header and body after the last record. */
    put_log("torn-writer.log", dir, 2, NULL, 0, "\x30\x00\x00\x00\x01\x02");

    /* Two segments: the first rolls at 4096 bytes. */
    snprintf(dir, sizeof(dir), "%s/log-two", tmp);
    make_log(dir, 40, 10, 4096);
    /* The second segment's number: the first record after segment 0. */
    for (uint64_t f = 1; f < 256 && first2 == 0; f++) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/records-%020llu.log", dir,
            (unsigned long long)f);
        if (stat(path, &st) == 0)
            first2 = f;
    }
    if (first2 == 0)
        TEST_FAIL("log-two: no second segment below 256");
    snprintf(
        seg2, sizeof(seg2), "records-%020llu.log", (unsigned long long)first2);
    put_log("two-segments.log", dir, 1, seg2, (uint8_t)first2, NULL);
    put_log("two-segments-writer.log", dir, 3, seg2, (uint8_t)first2, NULL);

    /* An empty log (no record, no checkpoint), for the writer. */
    snprintf(dir, sizeof(dir), "%s/log-empty", tmp);
    make_log(dir, 0, 1, 0);
    put_log("empty-writer.log", dir, 2, NULL, 0, NULL);

    /* The log vigilctl proves from (make_corpus.sh). */
    snprintf(dir, sizeof(dir), "%s/audit", tmp);
    make_log(dir, 12, 4, 0);
}

/* ------------------------------------------------------ notes and keys */

static void
note_seeds(void)
{
    struct note_signer s, w;
    char body[512], note[2048], wnote[2048];
    uint8_t root[32];
    size_t n, nn, wn;
    const char *sig;

    ASSERT_OK(note_signer_parse(FUZZ_SKEY, &s));
    ASSERT_OK(note_signer_parse(FUZZ_WITNESS_SKEY, &w));
    for (unsigned i = 0; i < 32; i++)
        root[i] = (uint8_t)(i * 9);
    ASSERT_OK(
        note_checkpoint_format(FUZZ_ORIGIN, 12, root, body, sizeof(body), &n));
    put("note", "body.txt", body, n);
    ASSERT_OK(note_sign(&s, body, n, note, sizeof(note), &nn));
    put("note", "checkpoint.note", note, nn);
    /* Cosigned: the witness's signature line after the log's. */
    ASSERT_OK(note_sign(&w, body, n, wnote, sizeof(wnote), &wn));
    sig = wnote + n + 1;
    memcpy(note + nn, sig, wn - n - 1);
    put("note", "cosigned.note", note, nn + (wn - n - 1));
    /* With extension lines. */
    memcpy(body + n, "ext one\next two\n", 16);
    ASSERT_OK(note_sign(&s, body, n + 16, note, sizeof(note), &nn));
    put("note", "extensions.note", note, nn);
    put_str("note", "vkey", FUZZ_VKEY);
    put_str("note", "skey", FUZZ_WITNESS_SKEY "\n");
    note_signer_wipe(&s);
    note_signer_wipe(&w);
}

/* -------------------------------------------------------- certificates */

static void
cert_seeds(const char *tmp)
{
    char pub[1024], sec[1024];
    struct cert c;
    struct cert_secret *sk = NULL;
    uint8_t *p;
    size_t n;

    ASSERT_OK(cert_create(tmp, tmp, "shop-a", "storefront", &c, &sk));
    cert_secret_free(sk);
    snprintf(pub, sizeof(pub), "%s/shop-a.key", tmp);
    snprintf(sec, sizeof(sec), "%s/shop-a.key_secret", tmp);
    p = slurp(pub, &n);
    put("cert", "public.key", p, n);
    free(p);
    p = slurp(sec, &n);
    put("cert", "secret.key_secret", p, n);
    free(p);
    /* As pyzmq's zmq.auth.create_certificates writes it (unquoted
     * metadata, a generated-by comment). */
    put_str("cert", "pyzmq.key",
        "#   ****  Generated on 2024-01-01 00:00:00 by pyzmq  ****\n"
        "#   ZeroMQ CURVE Public Certificate\n"
        "#   Exchange securely, or use a secure mechanism to verify the "
        "contents\n"
        "#   of this file after exchange. Store public certificates in your "
        "home\n"
        "#   directory, in the .curve subdirectory.\n\n"
        "metadata\n"
        "    name = analyst-1\n"
        "    role = analyst\n"
        "curve\n"
        "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n");
}

/* ------------------------------------------------------ configuration */

static void
cfg_seeds(void)
{
    struct vigil_config c;
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);

    if (f == NULL)
        die("open_memstream");
    cfg_defaults(&c);
    cfg_print(&c, f);
    fclose(f);
    put("cfg", "defaults.conf", text, n);
    free(text);
    cfg_release(&c);
    put_str("cfg", "custom.conf",
        "# vigil.conf: both daemons read it\n"
        "data_dir = /var/lib/vigil   # history, journal, audit\n"
        "keys_dir = /var/lib/vigil-keys\n"
        "user = vigil\n"
        "\n"
        "events_endpoint = tcp://127.0.0.1:7010\n"
        "query_endpoint = tcp://[::1]:7011\n"
        "review_threshold = 40\n"
        "block_threshold = 90\n"
        "insecure_dev = no\n"
        "checkpoint_records = 500\n");
    put_str("cfg", "bad-range.conf", "block_threshold = 101\n");
    put_str("cfg", "insecure-remote.conf",
        "insecure_dev = on\nevents_endpoint = tcp://0.0.0.0:7010\n");
}

int
main(int argc, char **argv)
{
    char path[1024];
    const char *tmp;
    uint8_t raw[32];
    int fd;

    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus OUT WORKDIR\n");
        return 2;
    }
    out_root = argv[1];
    tmp = argv[2];
    if (sodium_init() < 0)
        die("sodium_init");
    if (mkdir(out_root, 0755) != 0 && errno != EEXIST)
        die(out_root);
    for (size_t i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 7 + 1);
    snprintf(path, sizeof(path), "%s/pseudonym.key", tmp);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw) ||
        close(fd) != 0)
        die(path);
    ASSERT_OK(pseudo_key_open(path, false, &pkey));
    sfproto_batch_init(&batch);

    sfproto_seeds();
    event_and_ipc_seeds();
    qproto_seeds();
    record_seeds();
    log_seeds(tmp);
    note_seeds();
    cert_seeds(tmp);
    cfg_seeds();

    sfproto_batch_release(&batch);
    pseudo_key_close(pkey);
    printf("make_corpus: seeds in %s, a signed audit log in %s/audit\n",
        out_root, tmp);
    return 0;
}
