/*
 * shopify_load.c - bench-shopify-load: Shopify-like webhook deliveries at
 *                  a fixed rate against vigil-shopify, with latency
 *
 * Sends orders/create deliveries (Shopify's documented example payload,
 * a distinct order, customer and IP each, signed as Shopify signs them)
 * over N keep-alive HTTP/1.1 connections, paced to --rate per second by
 * a timerfd, and measures each one from its scheduled send time to the
 * end of its answer (so a late send counts against the bridge: no
 * coordinated omission). Optionally floods the bridge at the same time
 * with forged deliveries (same size and headers, a wrong signature) on
 * separate connections, flat out or at --bad-rate, and counts their
 * 401s. One thread, epoll. Prints a summary (and --json one object).
 *
 * Exit status: 0 the run completed with every valid delivery answered
 * 200 and every forged one 401; 1 otherwise; 2 usage or connection
 * error.
 *
 * Invariants:
 *  - each connection carries one request at a time (no pipelining), as
 *    Shopify's deliveries do.
 *
 * See also: tests/bench/bench_shopify.sh, tools/vigil-shopify.8
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/hmac.h"

#define MAX_CONNS 512
#define REQ_MAX   8192
#define RESP_MAX  4096

struct conn {
    int fd;
    bool bad;    /* carries forged deliveries */
    bool busy;   /* a request is out */
    uint64_t t0; /* its scheduled (or actual) start, ns */
    char req[REQ_MAX];
    size_t req_len, req_off;
    char resp[RESP_MAX];
    size_t resp_len;
};

struct opts {
    const char *host;
    int port;
    double rate, bad_rate, duration;
    unsigned conns, bad_conns;
    const char *secret, *shop;
    bool json;
};

static struct {
    uint64_t sent, ok, other, late_sends, bad_sent, bad_401, bad_other;
    uint32_t *lat_us;
    size_t nlat, cap;
} st;

static uint64_t seq;

static void
usage(void)
{
    fprintf(stderr,
        "usage: bench-shopify-load [--host A] [--port P] [--rate R]\n"
        "       [--duration S] [--connections N] [--bad-rate R]\n"
        "       [--bad-connections N] [--secret S] [--shop D] [--json]\n");
    exit(2);
}

/* The body of delivery n: Shopify's orders/create example, varied. */
static size_t
make_body(char *out, size_t cap, uint64_t n)
{
    int len = snprintf(out, cap,
        "{\"id\":%" PRIu64 ",\"admin_graphql_api_id\":\"gid://shopify/Order/"
        "%" PRIu64 "\",\"browser_ip\":\"203.%u.%u.%u\",\"cart_token\":"
        "\"c%016" PRIx64 "\",\"client_details\":{\"accept_language\":"
        "\"en-US,en;q=0.9\",\"browser_height\":1080,\"browser_ip\":"
        "\"203.%u.%u.%u\",\"browser_width\":1920,\"session_hash\":null,"
        "\"user_agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36\"},\"confirmed\":true,\"contact_email\":"
        "\"buyer%" PRIu64 "@example.com\",\"created_at\":"
        "\"2026-12-04T09:00:00-05:00\",\"currency\":\"USD\","
        "\"current_total_price\":\"403.00\",\"email\":\"buyer%" PRIu64
        "@example.com\",\"financial_status\":\"paid\",\"name\":\"#%" PRIu64
        "\",\"payment_gateway_names\":[\"visa\"],\"presentment_currency\":"
        "\"USD\",\"processed_at\":\"2026-12-04T09:00:00-05:00\","
        "\"subtotal_price\":\"388.00\",\"test\":false,\"total_price\":"
        "\"403.00\",\"total_tax\":\"0.00\",\"billing_address\":{"
        "\"first_name\":\"Steve\",\"address1\":\"%" PRIu64
        " Shipping Street\",\"city\":\"Shippington\",\"zip\":\"40003\","
        "\"country\":\"United States\",\"last_name\":\"Shipper\","
        "\"name\":\"Steve Shipper\",\"country_code\":\"US\","
        "\"province_code\":\"KY\"},\"customer\":{\"id\":%" PRIu64
        ",\"email\":\"buyer%" PRIu64 "@example.com\",\"first_name\":"
        "\"Steve\",\"last_name\":\"Shipper\",\"state\":\"enabled\"},"
        "\"line_items\":[{\"id\":866550311766439020,\"quantity\":1,"
        "\"price\":\"199.00\",\"title\":\"IPod Nano - 8GB\"},{\"id\":"
        "141249953214522974,\"quantity\":1,\"price\":\"199.00\","
        "\"title\":\"IPod Nano - 8GB\"}],\"payment_details\":{"
        "\"credit_card_bin\":\"424242\",\"credit_card_company\":\"Visa\"},"
        "\"shipping_address\":{\"first_name\":\"Steve\",\"address1\":\"%" PRIu64
        " Shipping Street\",\"city\":\"Shippington\",\"zip\":\"40003\","
        "\"country_code\":\"US\",\"name\":\"Steve Shipper\"}}",
        (uint64_t)800000000000000000ull + n,
        (uint64_t)800000000000000000ull + n, (unsigned)(n >> 16) & 255,
        (unsigned)(n >> 8) & 255, (unsigned)n & 255, n,
        (unsigned)(n >> 16) & 255, (unsigned)(n >> 8) & 255, (unsigned)n & 255,
        n, n, n, n, (uint64_t)900000000000000000ull + n, n, n);

    return len < 0 || (size_t)len >= cap ? 0 : (size_t)len;
}

/* Fill c->req with a whole delivery (valid, or forged for c->bad). */
static void
make_request(struct conn *c, const struct opts *o)
{
    char body[4096], sig[HMAC_B64_LEN + 1];
    struct hmac_key k = { (const uint8_t *)o->secret, strlen(o->secret) };
    uint64_t n = ++seq;
    size_t blen = make_body(body, sizeof(body), n);
    int len;

    hmac_sign(body, blen, &k, sig);
    if (c->bad)
        sig[5] = sig[5] == 'A' ? 'B' : 'A'; /* the forgery */
    len = snprintf(c->req, sizeof(c->req),
        "POST /webhooks HTTP/1.1\r\nHost: %s:%d\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n"
        "X-Shopify-Topic: orders/create\r\nX-Shopify-Hmac-Sha256: %s\r\n"
        "X-Shopify-Shop-Domain: %s\r\nX-Shopify-API-Version: 2026-10\r\n"
        "X-Shopify-Webhook-Id: bench-%08x-%016" PRIx64 "\r\n"
        "X-Shopify-Triggered-At: 2026-12-04T14:00:00.000Z\r\n\r\n%s",
        o->host, o->port, blen, sig, o->shop, (unsigned)getpid(), n, body);
    if (len < 0 || (size_t)len >= sizeof(c->req)) {
        fprintf(stderr, "bench-shopify-load: request too large\n");
        exit(2);
    }
    c->req_len = (size_t)len;
    c->req_off = 0;
    c->resp_len = 0;
}

static int
connect_one(const struct opts *o)
{
    struct sockaddr_in a;
    int fd, one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1) {
        fprintf(stderr, "bench-shopify-load: bad host '%s'\n", o->host);
        exit(2);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("bench-shopify-load: connect");
        exit(2);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void
arm(int ep, struct conn *c, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        perror("epoll_ctl");
        exit(2);
    }
}

/* Write what is left of c's request; arm for reading when done. */
static void
pump_write(int ep, struct conn *c)
{
    ssize_t n;

    while (c->req_off < c->req_len) {
        n = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
        if (n < 0) {
            if (errno == EAGAIN) {
                arm(ep, c, EPOLLOUT);
                return;
            }
            perror("bench-shopify-load: write");
            exit(2);
        }
        c->req_off += (size_t)n;
    }
    arm(ep, c, EPOLLIN);
}

static void
start(int ep, struct conn *c, const struct opts *o, uint64_t t0)
{
    make_request(c, o);
    c->busy = true;
    c->t0 = t0;
    if (c->bad)
        st.bad_sent++;
    else
        st.sent++;
    pump_write(ep, c);
}

/* The header line `name` (with its CRLF in front), any case, before
 * `end`, or NULL. */
static char *
find_header(char *s, const char *end, const char *name)
{
    size_t n = strlen(name);

    for (; s + n <= end; s++)
        if (strncasecmp(s, name, n) == 0)
            return s;
    return NULL;
}

/* Read; when a whole answer is in, account for it. Returns true when
 * the connection became free. */
static bool
pump_read(struct conn *c)
{
    char *end, *cl;
    size_t head, need;
    ssize_t n;
    int status;

    for (;;) {
        n = read(
            c->fd, c->resp + c->resp_len, sizeof(c->resp) - 1 - c->resp_len);
        if (n < 0 && errno == EAGAIN)
            return false;
        if (n <= 0) {
            fprintf(stderr,
                "bench-shopify-load: the bridge closed a "
                "connection\n");
            exit(2);
        }
        c->resp_len += (size_t)n;
        c->resp[c->resp_len] = '\0';
        end = strstr(c->resp, "\r\n\r\n");
        if (end == NULL)
            continue;
        head = (size_t)(end + 4 - c->resp);
        cl = find_header(c->resp, end, "\r\nContent-Length:");
        need = head +
            (cl != NULL && cl < end ? (size_t)strtoul(cl + 17, NULL, 10) : 0);
        if (c->resp_len < need)
            continue;
        status = (int)strtol(c->resp + 9, NULL, 10);
        if (c->bad) {
            if (status == 401)
                st.bad_401++;
            else
                st.bad_other++;
        } else {
            uint64_t us = (clock_mono_ns() - c->t0) / 1000;

            if (status == 200)
                st.ok++;
            else
                st.other++;
            if (st.nlat < st.cap)
                st.lat_us[st.nlat++] =
                    us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
        c->busy = false;
        return true;
    }
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static double
pct(double p)
{
    size_t i;

    if (st.nlat == 0)
        return 0;
    i = (size_t)(p * (double)(st.nlat - 1) + 0.5);
    return st.lat_us[i] / 1000.0;
}

static void
parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "host", required_argument, NULL, 'H' },
        { "port", required_argument, NULL, 'p' },
        { "rate", required_argument, NULL, 'r' },
        { "duration", required_argument, NULL, 'd' },
        { "connections", required_argument, NULL, 'c' },
        { "bad-rate", required_argument, NULL, 'b' },
        { "bad-connections", required_argument, NULL, 'B' },
        { "secret", required_argument, NULL, 's' },
        { "shop", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 },
    };
    int ch;

    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 7012;
    o->rate = 1000;
    o->duration = 10;
    o->conns = 32;
    o->bad_rate = -1; /* no flood */
    o->bad_conns = 4;
    o->secret = "shpss_bench_secret";
    o->shop = "bench.myshopify.com";
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)strtol(optarg, NULL, 10);
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case 'd':
            o->duration = strtod(optarg, NULL);
            break;
        case 'c':
            o->conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            o->bad_rate = strtod(optarg, NULL);
            break;
        case 'B':
            o->bad_conns = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            o->secret = optarg;
            break;
        case 'S':
            o->shop = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || o->rate <= 0 || o->duration <= 0 || o->conns == 0 ||
        o->conns + o->bad_conns > MAX_CONNS || o->port <= 0 || o->port > 65535)
        usage();
}

int
main(int argc, char **argv)
{
    static struct conn conns[MAX_CONNS];
    struct epoll_event evs[64], ev;
    struct itimerspec its;
    struct opts o;
    uint64_t t_start, t_end, now, due = 0, bad_due = 0, ticks;
    uint64_t backlog = 0, bad_backlog = 0, period, bad_period = 0;
    unsigned i, nconns;
    int ep, tfd, n, k;
    bool flood;

    parse(argc, argv, &o);
    if (sodium_init() < 0)
        return 2;
    flood = o.bad_rate >= 0;
    nconns = o.conns + (flood ? o.bad_conns : 0);
    st.cap = (size_t)(o.rate * o.duration * 1.1) + 16;
    st.lat_us = xcalloc(st.cap, sizeof(*st.lat_us));
    ep = epoll_create1(EPOLL_CLOEXEC);
    for (i = 0; i < nconns; i++) {
        conns[i].fd = connect_one(&o);
        conns[i].bad = i >= o.conns;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    }
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 200000;
    its.it_interval.tv_nsec = 200000; /* 0.2 ms pacing ticks */
    timerfd_settime(tfd, 0, &its, NULL);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

    period = (uint64_t)(1e9 / o.rate);
    if (flood && o.bad_rate > 0)
        bad_period = (uint64_t)(1e9 / o.bad_rate);
    t_start = clock_mono_ns();
    t_end = t_start + (uint64_t)(o.duration * 1e9);
    due = bad_due = t_start;
    for (;;) {
        now = clock_mono_ns();
        /* Valid deliveries: one per period, from the schedule. */
        while (due <= now && due < t_end) {
            backlog++;
            due += period;
        }
        for (i = 0; i < o.conns && backlog > 0; i++) {
            if (!conns[i].busy) {
                /* Its scheduled time, not now: lateness is latency. */
                uint64_t sched = due - backlog * period;

                backlog--;
                if (now - sched > 1000000)
                    st.late_sends++;
                start(ep, &conns[i], &o, sched);
            }
        }
        /* Forged deliveries: flat out (bad_rate 0) or paced. */
        if (flood && now < t_end) {
            if (bad_period > 0)
                while (bad_due <= now) {
                    bad_backlog++;
                    bad_due += bad_period;
                }
            for (i = o.conns; i < nconns; i++) {
                if (conns[i].busy)
                    continue;
                if (bad_period > 0) {
                    if (bad_backlog == 0)
                        break;
                    bad_backlog--;
                }
                start(ep, &conns[i], &o, now);
            }
        }
        if (now >= t_end) {
            bool idle = backlog == 0;

            for (i = 0; i < nconns; i++)
                idle = idle && !conns[i].busy;
            if (idle || now > t_end + 6000000000ull)
                break;
        }
        n = epoll_wait(ep, evs, 64, 1);
        for (k = 0; k < n; k++) {
            struct conn *c = evs[k].data.ptr;

            if (c == NULL) {
                if (read(tfd, &ticks, sizeof(ticks)) < 0)
                    ticks = 0;
                continue;
            }
            if (evs[k].events & EPOLLOUT)
                pump_write(ep, c);
            else if (c->busy)
                (void)pump_read(c);
        }
    }
    now = clock_mono_ns();
    qsort(st.lat_us, st.nlat, sizeof(*st.lat_us), cmp_u32);
    {
        double secs = (double)(t_end - t_start) / 1e9;
        bool good = st.ok == st.sent && st.other == 0 && backlog == 0 &&
            st.bad_other == 0;

        if (o.json)
            printf("{\"rate\":%.0f,\"duration_s\":%.1f,\"sent\":%" PRIu64
                   ",\"ok\":%" PRIu64 ",\"other\":%" PRIu64
                   ",\"unsent\":%" PRIu64 ",\"late_sends\":%" PRIu64
                   ",\"per_s\":%.1f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,"
                   "\"p99_ms\":%.2f,\"p999_ms\":%.2f,\"max_ms\":%.2f,"
                   "\"bad_sent\":%" PRIu64 ",\"bad_401\":%" PRIu64
                   ",\"bad_other\":%" PRIu64 ",\"bad_per_s\":%.1f}\n",
                o.rate, secs, st.sent, st.ok, st.other, backlog, st.late_sends,
                (double)st.ok / secs, pct(0.50), pct(0.90), pct(0.99),
                pct(0.999), pct(1.0), st.bad_sent, st.bad_401, st.bad_other,
                (double)st.bad_401 / secs);
        else
            printf("valid: %" PRIu64 " sent at %.0f/s over %.1f s, %" PRIu64
                   " answered 200 (%.1f/s), %" PRIu64 " other, %" PRIu64
                   " unsent, %" PRIu64 " sent over 1 ms late\n"
                   "latency to the answer (from the scheduled send): p50 "
                   "%.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max "
                   "%.2f ms\n"
                   "forged: %" PRIu64 " sent, %" PRIu64 " answered 401 "
                   "(%.1f/s), %" PRIu64 " other\n",
                st.sent, o.rate, secs, st.ok, (double)st.ok / secs, st.other,
                backlog, st.late_sends, pct(0.50), pct(0.90), pct(0.99),
                pct(0.999), pct(1.0), st.bad_sent, st.bad_401,
                (double)st.bad_401 / secs, st.bad_other);
        free(st.lat_us);
        return good ? 0 : 1;
    }
}
