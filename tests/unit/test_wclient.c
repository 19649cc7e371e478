/*
 * test_wclient.c - unit tests of scorer/wclient (the witness client)
 *
 * The happy path against real vigil-witness daemons is
 * integ.witness_scorer's. Here the client meets what a real witness does
 * not send: a peer on 127.0.0.1 (a thread of this test, plain HTTP/1.1,
 * one request per connection) answers each add-checkpoint from a script:
 * a cosignature by the configured key (stored), by another key or cut
 * short (refused, nothing stored), 409 bodies that are not one decimal
 * size, a 409 larger than the log, 422 and 500, a dropped connection;
 * and a 409 below the client's proof window, whose proof must then come
 * from the log on disk. The log is a real audit log (common/audit.h) in
 * a mkdtemp directory; cosignatures.log is read back with cosiglog_read.
 * Also: wclient_check() on every malformed `witness` entry, and
 * wclient_start() refusing an empty spec and a missing directory.
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/cosig.h"
#include "common/cosiglog.h"
#include "common/err.h"
#include "common/log.h"
#include "common/note.h"
#include "scorer/wclient.h"
#include "tests/harness/test.h"

#define ORIGIN "vigil.test/wclient"

static char tmproot[] = "/tmp/vigil-test-wclient-XXXXXX";
static struct note_signer signer; /* the log's key */
static struct cosig_signer wkey;  /* the witness's configured key */
static struct cosig_signer other; /* another witness's key */
static char wvkey[NOTE_MAX_KEY];

/* ------------------------------------------------------------ the peer */

enum answer {
    A_COSIG,       /* 200, a cosignature by wkey */
    A_COSIG_OTHER, /* 200, a valid cosignature by `other` */
    A_COSIG_CUT,   /* 200, wkey's line without its newline */
    A_STATUS,      /* `status` with `body` */
    A_DROP,        /* close without answering */
};

struct step {
    enum answer a;
    int status;
    const char *body;
};

static struct {
    pthread_mutex_t mu;
    int lfd;
    int port;
    bool stop;
    const struct step *script;
    size_t nscript, next; /* steps answered so far */
    char req[8][4096];    /* the first bytes of each request body */
    pthread_t th;
} peer = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Read one request; its body (NUL-terminated) into body[0..cap). */
static bool
read_request(int fd, char *body, size_t cap)
{
    static char buf[65536];
    size_t n = 0, clen = 0, hdr;
    char *e, *cl;

    for (;;) {
        ssize_t r;

        buf[n] = '\0';
        e = strstr(buf, "\r\n\r\n");
        if (e != NULL)
            break;
        r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r <= 0)
            return false;
        n += (size_t)r;
    }
    hdr = (size_t)(e - buf) + 4;
    for (cl = buf; cl < e; cl++) {
        if (strncasecmp(cl, "\ncontent-length:", 16) == 0) {
            clen = strtoul(cl + 16, NULL, 10);
            break;
        }
    }
    while (n < hdr + clen && n < sizeof(buf) - 1) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

        if (r <= 0)
            return false;
        n += (size_t)r;
    }
    snprintf(body, cap, "%.*s", (int)clen, buf + hdr);
    return true;
}

/* The cosignature line of `s` on the note at the end of `body`. */
static void
cosign(const struct cosig_signer *s, const char *body, char *line, size_t cap,
    size_t *n)
{
    const char *note = strstr(body, "\n\n"), *end;

    ASSERT(note != NULL);
    note += 2;
    end = strstr(note, "\n\n");
    ASSERT(end != NULL);
    ASSERT_OK(cosig_sign(
        s, note, (size_t)(end - note) + 1, (uint64_t)time(NULL), line, cap, n));
}

static void
answer(int fd, const struct step *st, const char *body)
{
    char line[COSIG_LINE_MAX], out[COSIG_LINE_MAX + 256];
    const char *text;
    size_t n = 0;
    int status = 200;

    switch (st->a) {
    case A_COSIG:
    case A_COSIG_OTHER:
    case A_COSIG_CUT:
        cosign(st->a == A_COSIG_OTHER ? &other : &wkey, body, line,
            sizeof(line), &n);
        if (st->a == A_COSIG_CUT)
            line[--n] = '\0'; /* no trailing newline */
        text = line;
        break;
    case A_STATUS:
        status = st->status;
        text = st->body;
        n = strlen(text);
        break;
    default:
        return; /* A_DROP */
    }
    snprintf(out, sizeof(out),
        "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
        status, n);
    write_all(fd, out, strlen(out));
    write_all(fd, text, n);
}

static void *
peer_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p = { .fd = peer.lfd, .events = POLLIN };
        static char body[65536];
        struct step st = { A_STATUS, 500, "script over\n" };
        bool stop;
        int fd;

        pthread_mutex_lock(&peer.mu);
        stop = peer.stop;
        pthread_mutex_unlock(&peer.mu);
        if (stop)
            return NULL;
        if (poll(&p, 1, 50) != 1)
            continue;
        fd = accept(peer.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (read_request(fd, body, sizeof(body))) {
            pthread_mutex_lock(&peer.mu);
            if (peer.next < 8)
                snprintf(
                    peer.req[peer.next], sizeof(peer.req[0]), "%.4000s", body);
            if (peer.next < peer.nscript)
                st = peer.script[peer.next];
            peer.next++;
            pthread_mutex_unlock(&peer.mu);
            answer(fd, &st, body);
        }
        close(fd);
    }
}

static void
peer_start(void)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int one = 1;

    peer.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(peer.lfd >= 0);
    setsockopt(peer.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(peer.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ASSERT_EQ(listen(peer.lfd, 8), 0);
    ASSERT_EQ(getsockname(peer.lfd, (struct sockaddr *)&a, &al), 0);
    peer.port = ntohs(a.sin_port);
    ASSERT_EQ(pthread_create(&peer.th, NULL, peer_main, NULL), 0);
}

static void
peer_stop(void)
{
    pthread_mutex_lock(&peer.mu);
    peer.stop = true;
    pthread_mutex_unlock(&peer.mu);
    pthread_join(peer.th, NULL);
    close(peer.lfd);
}

static void
peer_script(const struct step *s, size_t n)
{
    pthread_mutex_lock(&peer.mu);
    peer.script = s;
    peer.nscript = n;
    peer.next = 0;
    memset(peer.req, 0, sizeof(peer.req));
    pthread_mutex_unlock(&peer.mu);
}

/* ------------------------------------------------------------ the log */

static uint64_t nrec;

/* Append `n` records, sync, archive a checkpoint (the observer fires). */
static void
grow(struct audit_log *log, unsigned n)
{
    struct audit_record r;
    uint64_t idx;

    for (unsigned i = 0; i < n; i++) {
        memset(&r, 0, sizeof(r));
        r.ts_ms = 1764115200000ULL + nrec;
        snprintf(r.actor, sizeof(r.actor), "shop");
        r.role = AUDIT_ROLE_STOREFRONT;
        snprintf(r.op, sizeof(r.op), "event.store");
        snprintf(r.purpose, sizeof(r.purpose), "fraud-prevention");
        r.outcome = AUDIT_OUTCOME_ALLOWED;
        snprintf(r.ref, sizeof(r.ref), "evt-%" PRIu64, nrec++);
        ASSERT_OK(audit_append(log, &r, &idx));
    }
    ASSERT_OK(audit_sync(log));
    ASSERT_OK(audit_checkpoint(log, 0));
}

static int
count_frame(void *arg, const char *note, size_t len)
{
    (void)note;
    (void)len;
    (*(unsigned *)arg)++;
    return 0;
}

static unsigned
frames(const char *dir)
{
    unsigned n = 0;

    ASSERT_OK(cosiglog_read(dir, count_frame, &n));
    return n;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One case: a fresh client (backoff at its minimum) on the log, a new
 * checkpoint, the peer answering `script`; waits (5 s at most) until the
 * client has handled `answers` replies, i.e. until pushes reached it and
 * the outcome counters settled. Returns the client's counters.
 */
static struct wclient_stats
run_case(struct audit_log *log, const char *dir, const struct step *script,
    size_t n, uint64_t answers, uint64_t want_done)
{
    struct wclient_stats s;
    struct wclient *wc;
    char spec[1024], err[256];
    uint64_t t0;

    peer_script(script, n);
    snprintf(spec, sizeof(spec), "http://127.0.0.1:%d/ %s", peer.port, wvkey);
    ASSERT_OK(wclient_start(
        spec, log, dir, audit_verifier_key(log), &wc, err, sizeof(err)));
    grow(log, 5);
    t0 = now_ms();
    for (;;) {
        wclient_stats(wc, &s);
        if (s.pushes >= answers &&
            s.cosigned + s.failures + s.conflicts >= want_done)
            break;
        ASSERT(now_ms() - t0 < 5000);
        usleep(10000);
    }
    usleep(50000); /* nothing more may come */
    wclient_stats(wc, &s);
    wclient_stop(wc, log, 0);
    return s;
}

static void
test_check(void)
{
    char spec[4096], err[256];
    size_t o = 0;

    ASSERT_EQ(wclient_check("", err, sizeof(err)), 0);
    snprintf(spec, sizeof(spec), "http://w.example/ %s", wvkey);
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), 1);
    snprintf(
        spec, sizeof(spec), "https://a.example  %s\nhttp://b %s", wvkey, wvkey);
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), 2);
    /* No key, not http(s), a note (not cosignature) key, garbage key. */
    ASSERT_EQ(wclient_check("http://w.example/", err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "witness 'http://w.example/'") != NULL);
    snprintf(spec, sizeof(spec), "ftp://w.example %s", wvkey);
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), ERR_INVAL);
    ASSERT_EQ(
        wclient_check("http://w.example nokey", err, sizeof(err)), ERR_INVAL);
    {
        char sk[NOTE_MAX_KEY], vk[NOTE_MAX_KEY];

        ASSERT_OK(
            note_key_generate("w.example", sk, sizeof(sk), vk, sizeof(vk)));
        sodium_memzero(sk, sizeof(sk));
        snprintf(spec, sizeof(spec), "http://w.example %s", vk);
        ASSERT_EQ(wclient_check(spec, err, sizeof(err)), ERR_INVAL);
    }
    /* A URL that leaves no room for /add-checkpoint; an entry longer
     * than a config value. */
    o = (size_t)snprintf(spec, sizeof(spec), "http://");
    while (o < 520)
        spec[o++] = 'a';
    snprintf(spec + o, sizeof(spec) - o, " %s", wvkey);
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), ERR_INVAL);
    o = (size_t)snprintf(spec, sizeof(spec), "http://w ");
    while (o < CFG_VALUE_MAX + 10)
        spec[o++] = 'k';
    spec[o] = '\0';
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), ERR_INVAL);
    /* One witness past CFG_MAX_WITNESSES. */
    o = 0;
    for (int i = 0; i <= CFG_MAX_WITNESSES; i++)
        o += (size_t)snprintf(
            spec + o, sizeof(spec) - o, "http://w%d %s\n", i, wvkey);
    ASSERT_EQ(wclient_check(spec, err, sizeof(err)), ERR_INVAL);
    ASSERT(strstr(err, "at most") != NULL);
}

static void
test_start_refusals(struct audit_log *log, const char *dir)
{
    struct wclient *wc = (struct wclient *)&wc;
    char spec[1024], err[256], missing[512];

    ASSERT_EQ(wclient_start(
                  "", log, dir, audit_verifier_key(log), &wc, err, sizeof(err)),
        ERR_INVAL);
    ASSERT(wc == NULL);
    ASSERT_STR_EQ(err, "no witness configured");
    ASSERT_EQ(wclient_start("http://x", log, dir, audit_verifier_key(log), &wc,
                  err, sizeof(err)),
        ERR_INVAL);
    snprintf(missing, sizeof(missing), "%.200s/no/such/dir", tmproot);
    snprintf(spec, sizeof(spec), "http://127.0.0.1:1 %s", wvkey);
    ASSERT_EQ(wclient_start(spec, log, missing, audit_verifier_key(log), &wc,
                  err, sizeof(err)),
        ERR_IO);
    ASSERT(strstr(err, "cosignatures.log") != NULL);
    wclient_stop(NULL, log, 0); /* a no-op */
}

static void
test_answers(struct audit_log *log, const char *dir)
{
    static const struct step ok[] = { { A_COSIG, 0, NULL } };
    static const struct step other_key[] = { { A_COSIG_OTHER, 0, NULL } };
    static const struct step cut[] = { { A_COSIG_CUT, 0, NULL } };
    static const struct step bad409[][1] = {
        { { A_STATUS, 409, "abc\n" } },
        { { A_STATUS, 409, "012\n" } },
        { { A_STATUS, 409, "99999999999999999999\n" } },
        { { A_STATUS, 409, "12" } },
        { { A_STATUS, 409, "12\nx" } },
    };
    static const struct step s422[] = { { A_STATUS, 422, "inconsistent\n" } };
    static const struct step s500[] = { { A_STATUS, 500, "oops\n" } };
    static const struct step drop[] = { { A_DROP, 0, NULL } };
    static const struct step ahead[] = { { A_STATUS, 409, "1000000\n" } };
    struct wclient_stats s;
    unsigned f0;
    size_t i;

    /* A cosignature by the configured key: stored, the witness current. */
    f0 = frames(dir);
    s = run_case(log, dir, ok, 1, 1, 1);
    ASSERT_EQ(s.pushes, 1);
    ASSERT_EQ(s.cosigned, 1);
    ASSERT_EQ(s.failures, 0);
    ASSERT_EQ(s.current, 1);
    ASSERT_EQ(s.min_size, audit_size(log));
    ASSERT_EQ(frames(dir), f0 + 1);
    ASSERT(strncmp(peer.req[0], "old 0\n\n", 7) == 0);

    /* Valid cosignatures by another key, a line cut short: refused,
     * nothing stored. */
    s = run_case(log, dir, other_key, 1, 1, 1);
    ASSERT_EQ(s.cosigned, 0);
    ASSERT_EQ(s.failures, 1);
    ASSERT_EQ(s.min_size, 0);
    s = run_case(log, dir, cut, 1, 1, 1);
    ASSERT_EQ(s.cosigned, 0);
    ASSERT_EQ(s.failures, 1);
    ASSERT_EQ(frames(dir), f0 + 1);

    /* 409 bodies that are not "<decimal>\n": a failure, not a size. */
    for (i = 0; i < sizeof(bad409) / sizeof(bad409[0]); i++) {
        s = run_case(log, dir, bad409[i], 1, 1, 1);
        ASSERT_EQ(s.pushes, 1);
        ASSERT_EQ(s.conflicts, 0);
        ASSERT_EQ(s.failures, 1);
    }
    /* 422 and 500: failures; a dropped connection: a failure. */
    s = run_case(log, dir, s422, 1, 1, 1);
    ASSERT_EQ(s.failures, 1);
    s = run_case(log, dir, s500, 1, 1, 1);
    ASSERT_EQ(s.failures, 1);
    s = run_case(log, dir, drop, 1, 1, 1);
    ASSERT_EQ(s.failures, 1);
    ASSERT_EQ(s.cosigned, 0);

    /* A witness claiming a size larger than the log (cut back?): no
     * second request, nothing stored. */
    s = run_case(log, dir, ahead, 1, 1, 1);
    ASSERT_EQ(s.pushes, 1);
    ASSERT_EQ(s.conflicts, 1);
    ASSERT_EQ(s.cosigned, 0);
    ASSERT_EQ(frames(dir), f0 + 1);
}

/* A 409 naming a size below the client's window (the client started on a
 * log that already had records): the proof comes from the log on disk,
 * the retry says "old 3" with a non-empty proof, and the cosignature is
 * stored. */
static void
test_fallback(struct audit_log *log, const char *dir)
{
    static const struct step script[] = {
        { A_STATUS, 409, "3\n" },
        { A_COSIG, 0, NULL },
    };
    struct wclient_stats s;
    unsigned f0 = frames(dir);

    ASSERT(audit_size(log) > 3);
    s = run_case(log, dir, script, 2, 2, 2);
    ASSERT_EQ(s.pushes, 2);
    ASSERT_EQ(s.conflicts, 1);
    ASSERT_EQ(s.fallbacks, 1);
    ASSERT_EQ(s.cosigned, 1);
    ASSERT_EQ(s.failures, 0);
    ASSERT(strncmp(peer.req[1], "old 3\n", 6) == 0);
    ASSERT(peer.req[1][6] != '\n'); /* a proof line follows */
    ASSERT_EQ(frames(dir), f0 + 1);
}

int
main(void)
{
    struct audit_log *log;
    char dir[512];

    log_init("test_wclient", true);
    ASSERT(sodium_init() >= 0);
    ASSERT(mkdtemp(tmproot) != NULL);
    {
        char sk[NOTE_MAX_KEY], vk[NOTE_MAX_KEY];

        ASSERT_OK(note_key_generate(ORIGIN, sk, sizeof(sk), vk, sizeof(vk)));
        ASSERT_OK(note_signer_parse(sk, &signer));
        ASSERT_OK(cosig_key_generate(
            "witness.test", sk, sizeof(sk), wvkey, sizeof(wvkey)));
        ASSERT_OK(cosig_signer_parse(sk, &wkey));
        ASSERT_OK(
            cosig_key_generate("other.test", sk, sizeof(sk), vk, sizeof(vk)));
        ASSERT_OK(cosig_signer_parse(sk, &other));
        sodium_memzero(sk, sizeof(sk));
    }
    snprintf(dir, sizeof(dir), "%s/audit", tmproot);
    ASSERT_OK(audit_log_open(dir, &signer, NULL, &log));
    grow(log, 10);
    peer_start();
    RUN(test_check);
    {
        test_start_refusals(log, dir);
        printf("ok test_start_refusals\n");
        test_answers(log, dir);
        printf("ok test_answers\n");
        test_fallback(log, dir);
        printf("ok test_fallback\n");
    }
    peer_stop();
    audit_log_close(log);
    note_signer_wipe(&signer);
    cosig_signer_wipe(&wkey);
    cosig_signer_wipe(&other);
    {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
        ASSERT_EQ(system(cmd), 0);
    }
    return 0;
}
