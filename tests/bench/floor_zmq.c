/*
 * floor_zmq.c - bare libzmq DEALER/ROUTER echo: the transport floor
 *
 * The floor that vigil-load's figures are printed beside: the same tcp
 * transport on 127.0.0.1, the same framing (one frame per request of
 * `batch` events of about `size` bytes each), the same pipelining (N
 * DEALER connections with up to `inflight` requests each, flat out or
 * paced without coordinated omission) against a ROUTER thread that
 * echoes every frame back and does nothing else. Whatever Vigil adds
 * (decode, pseudonyms, IPC hop, history, fsync) shows as the ratio.
 *
 * Invariants:
 *  - bare on purpose: calls zmq_* directly (a floor must not measure
 *    our wrappers); not part of the product, built as bench-floor-zmq.
 *  - memory is fixed: latencies go into a log-linear histogram.
 *
 * See also: tests/bench/README.md, tools/vigil-load.c (same loop shape)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/xmalloc.h"

#define NS_PER_S  1000000000ULL
#define MAX_CONNS 256
#define MAX_INFL  1024
#define MAX_FRAME (64 * 1024)

struct opts {
    unsigned conns;
    unsigned batch;
    unsigned size; /* bytes per event */
    unsigned inflight;
    double rate; /* events/s, 0 = flat out */
    double duration;
    bool json;
    bool curve; /* both ends CURVE (keys made per run; no ZAP: all admitted) */
};

/* The run's CURVE keys (Z85), when o->curve. */
static char server_pub[41], server_sec[41], client_pub[41], client_sec[41];

/* ------------------------------------------------------- histogram */

#define H_SUB_BITS 6
#define H_SUB      (1u << H_SUB_BITS)
#define H_BUCKETS  ((64 - H_SUB_BITS + 1) * H_SUB)

struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t b[H_BUCKETS];
};

static unsigned
hist_index(uint64_t v)
{
    unsigned e;

    if (v < H_SUB)
        return (unsigned)v;
    e = 63u - (unsigned)__builtin_clzll(v);
    return (e - H_SUB_BITS + 1) * H_SUB +
        (unsigned)((v >> (e - H_SUB_BITS)) & (H_SUB - 1));
}

static void
hist_add(struct hist *h, uint64_t v, uint64_t n)
{
    h->b[hist_index(v)] += n;
    h->count += n;
    if (v > h->max)
        h->max = v;
}

static uint64_t
hist_quantile(const struct hist *h, double q)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    rank = (uint64_t)ceil(q * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            unsigned e = i / H_SUB + H_SUB_BITS - 1;
            uint64_t lo, mid;

            if (i < H_SUB)
                return i;
            lo = (uint64_t)(H_SUB + i % H_SUB) << (e - H_SUB_BITS);
            mid = lo + (1ULL << (e - H_SUB_BITS)) / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

/* ----------------------------------------------------------- server */

struct server {
    void *ctx;
    char endpoint[64];
    pthread_t thread;
    bool curve;
};

/* Echo every multipart message back to its sender until the context ends. */
static void *
server_main(void *arg)
{
    void *router = arg;
    zmq_msg_t part;

    zmq_msg_init(&part);
    for (;;) {
        int more;

        if (zmq_msg_recv(&part, router, 0) < 0)
            break;
        more = zmq_msg_more(&part);
        if (zmq_msg_send(&part, router, more ? ZMQ_SNDMORE : 0) < 0)
            break;
    }
    zmq_msg_close(&part);
    zmq_close(router);
    return NULL;
}

static int
server_start(struct server *s)
{
    void *router = zmq_socket(s->ctx, ZMQ_ROUTER);
    int zero = 0, hwm = 100000;
    size_t len = sizeof(s->endpoint);

    if (router == NULL)
        return -1;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (s->curve) {
        int one = 1;

        zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof(one));
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, server_sec, 40);
    }
    if (zmq_bind(router, "tcp://127.0.0.1:*") < 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, s->endpoint, &len) < 0) {
        zmq_close(router);
        return -1;
    }
    if (pthread_create(&s->thread, NULL, server_main, router) != 0) {
        zmq_close(router);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- client */

struct slot {
    bool used;
    uint64_t tag;
    uint64_t t0;
};

struct conn {
    void *sock;
    struct slot *slots;
    unsigned inflight;
};

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void
timer_arm(int tfd, uint64_t at)
{
    struct itimerspec its;

    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = (time_t)(at / NS_PER_S);
    its.it_value.tv_nsec = (long)(at % NS_PER_S);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1;
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

struct result {
    uint64_t requests;
    uint64_t events;
    double secs;
    struct hist h;
};

/*
 * Run the client loop. The first 8 bytes of every frame carry a request
 * tag so that replies are matched like vigil-load matches them by id.
 */
static int
client_run(const struct opts *o, void *ctx, const char *ep, struct result *res)
{
    struct conn *conns = xcalloc(o->conns, sizeof(*conns));
    zmq_pollitem_t *items = xcalloc(o->conns + 1, sizeof(*items));
    size_t flen = (size_t)o->batch * o->size;
    uint8_t *frame = xmalloc(flen);
    uint64_t tag = 1, start, end, armed = 0;
    double next_send, ns_per_event = o->rate > 0 ? 1e9 / o->rate : 0;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    unsigned rr = 0, total = 0;
    zmq_msg_t msg;
    int rc = 0, zero = 0, hwm = 100000;

    if (tfd < 0) {
        fprintf(stderr, "bench-floor-zmq: timerfd_create failed\n");
        exit(2);
    }
    for (size_t i = 0; i < flen; i++)
        frame[i] = (uint8_t)(i * 131 + 7);
    for (unsigned i = 0; i < o->conns; i++) {
        conns[i].slots = xcalloc(o->inflight, sizeof(struct slot));
        conns[i].sock = zmq_socket(ctx, ZMQ_DEALER);
        if (conns[i].sock == NULL)
            exit(2);
        zmq_setsockopt(conns[i].sock, ZMQ_LINGER, &zero, sizeof(zero));
        zmq_setsockopt(conns[i].sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(conns[i].sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
        if (o->curve) {
            zmq_setsockopt(conns[i].sock, ZMQ_CURVE_SERVERKEY, server_pub, 40);
            zmq_setsockopt(conns[i].sock, ZMQ_CURVE_PUBLICKEY, client_pub, 40);
            zmq_setsockopt(conns[i].sock, ZMQ_CURVE_SECRETKEY, client_sec, 40);
        }
        if (zmq_connect(conns[i].sock, ep) < 0)
            exit(2);
        items[i].socket = conns[i].sock;
        items[i].events = ZMQ_POLLIN;
        /* Warm-up round trip: the connection is up before timing. */
        zmq_send(conns[i].sock, "w", 1, 0);
        zmq_msg_init(&msg);
        zmq_msg_recv(&msg, conns[i].sock, 0);
        zmq_msg_close(&msg);
    }
    items[o->conns].fd = tfd;
    items[o->conns].events = ZMQ_POLLIN;

    zmq_msg_init(&msg);
    start = now_ns();
    end = start + (uint64_t)(o->duration * 1e9);
    next_send = (double)start;
    for (;;) {
        uint64_t now = now_ns(), deadline;
        bool room = false;
        long ms = -1;

        if (now >= end && total == 0)
            break;
        if (now >= end + 5 * NS_PER_S)
            break;
        for (unsigned k = 0, budget = 64;
             now < end && budget > 0 && k < o->conns;) {
            struct conn *c = &conns[rr];
            struct slot *sl = NULL;

            if (o->rate > 0 && (double)now < next_send)
                break;
            for (unsigned j = 0; c->inflight < o->inflight && j < o->inflight;
                 j++) {
                if (!c->slots[j].used) {
                    sl = &c->slots[j];
                    break;
                }
            }
            rr = (rr + 1) % o->conns;
            if (sl == NULL) {
                k++;
                continue;
            }
            memcpy(frame, &tag, sizeof(tag));
            if (zmq_send(c->sock, frame, flen, ZMQ_DONTWAIT) < 0) {
                k++;
                continue;
            }
            sl->used = true;
            sl->tag = tag++;
            sl->t0 = o->rate > 0 ? (uint64_t)next_send : now;
            if (o->rate > 0)
                next_send += ns_per_event * o->batch;
            c->inflight++;
            total++;
            budget--;
            k = 0;
        }
        for (unsigned i = 0; i < o->conns; i++) {
            if (conns[i].inflight < o->inflight)
                room = true;
        }
        deadline = end;
        if (now >= end)
            deadline = end + 5 * NS_PER_S;
        if (room && o->rate > 0 && (uint64_t)next_send < deadline)
            deadline = (uint64_t)next_send;
        if ((room && o->rate == 0 && now < end) || deadline <= now_ns())
            ms = 0;
        else if (deadline != armed) {
            timer_arm(tfd, deadline);
            armed = deadline;
        }
        if (zmq_poll(items, (int)o->conns + 1, ms) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        if (items[o->conns].revents & ZMQ_POLLIN) {
            uint64_t x;

            if (read(tfd, &x, sizeof(x)) < 0 && errno != EAGAIN)
                break;
            armed = 0;
        }
        for (unsigned i = 0; i < o->conns; i++) {
            struct conn *c = &conns[i];

            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            while (zmq_msg_recv(&msg, c->sock, ZMQ_DONTWAIT) >= 0) {
                uint64_t t = now_ns(), rtag;

                if (zmq_msg_size(&msg) < sizeof(rtag))
                    continue;
                memcpy(&rtag, zmq_msg_data(&msg), sizeof(rtag));
                for (unsigned j = 0; j < o->inflight; j++) {
                    struct slot *sl = &c->slots[j];

                    if (sl->used && sl->tag == rtag) {
                        hist_add(&res->h, t - sl->t0, o->batch);
                        res->requests++;
                        res->events += o->batch;
                        sl->used = false;
                        c->inflight--;
                        total--;
                        break;
                    }
                }
            }
        }
    }
    res->secs = (double)(now_ns() - start) / 1e9;
    zmq_msg_close(&msg);
    for (unsigned i = 0; i < o->conns; i++) {
        zmq_close(conns[i].sock);
        free(conns[i].slots);
    }
    close(tfd);
    free(frame);
    free(items);
    free(conns);
    return rc;
}

static void __attribute__((noreturn)) usage(void)
{
    fprintf(stderr,
        "usage: bench-floor-zmq [--connections N] [--batch B] "
        "[--size BYTES] [--inflight N]\n"
        "       [--rate EVENTS_PER_S] [--duration S] [--curve] [--json]\n");
    exit(2);
}

static unsigned long
num(const char *s, unsigned long min, unsigned long max)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        usage();
    return v;
}

int
main(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "batch", required_argument, NULL, 'b' },
        { "connections", required_argument, NULL, 'c' },
        { "curve", no_argument, NULL, 'C' },
        { "duration", required_argument, NULL, 'd' },
        { "inflight", required_argument, NULL, 'i' },
        { "json", no_argument, NULL, 'j' },
        { "rate", required_argument, NULL, 'r' },
        { "size", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { 1, 1, 300, 0, 0, 3, false, false };
    struct server srv;
    struct result *res;
    int ch;

    while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
            o.batch = (unsigned)num(optarg, 1, 1000);
            break;
        case 'c':
            o.conns = (unsigned)num(optarg, 1, MAX_CONNS);
            break;
        case 'C':
            o.curve = true;
            break;
        case 'd':
            o.duration = (double)num(optarg, 1, 3600);
            break;
        case 'i':
            o.inflight = (unsigned)num(optarg, 1, MAX_INFL);
            break;
        case 'j':
            o.json = true;
            break;
        case 'r':
            o.rate = (double)num(optarg, 0, 100000000);
            break;
        case 's':
            o.size = (unsigned)num(optarg, 8, 4096);
            break;
        default:
            usage();
        }
    }
    if (optind != argc || (size_t)o.batch * o.size > MAX_FRAME ||
        o.batch * o.size < 8)
        usage();
    if (o.inflight == 0) {
        /* The same default as vigil-load: about 2048 events, 2..64. */
        o.inflight = 2048 / o.batch;
        o.inflight = o.inflight > 64 ? 64 : o.inflight < 2 ? 2 : o.inflight;
    }
    res = xcalloc(1, sizeof(*res));
    srv.curve = o.curve;
    if (o.curve &&
        (zmq_curve_keypair(server_pub, server_sec) != 0 ||
            zmq_curve_keypair(client_pub, client_sec) != 0)) {
        fprintf(stderr, "bench-floor-zmq: libzmq has no CURVE\n");
        return 2;
    }
    srv.ctx = zmq_ctx_new();
    if (srv.ctx == NULL || server_start(&srv) != 0) {
        fprintf(stderr, "bench-floor-zmq: cannot start the echo server\n");
        return 2;
    }
    if (client_run(&o, srv.ctx, srv.endpoint, res) != 0) {
        fprintf(
            stderr, "bench-floor-zmq: poll failed: %s\n", zmq_strerror(errno));
        return 2;
    }
    /* Ending the context stops the server thread's blocking receive. */
    zmq_ctx_shutdown(srv.ctx);
    pthread_join(srv.thread, NULL);
    zmq_ctx_term(srv.ctx);
    if (o.json)
        printf("{\"round_trips\":%" PRIu64 ",\"round_trips_per_s\":%.1f,"
               "\"events_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
               "\"p999_us\":%.1f,\"connections\":%u,\"batch\":%u,\"size\":%u,"
               "\"inflight\":%u,\"rate\":%.0f,\"duration_s\":%.3f}\n",
            res->requests, (double)res->requests / res->secs,
            (double)res->events / res->secs,
            (double)hist_quantile(&res->h, 0.5) / 1e3,
            (double)hist_quantile(&res->h, 0.99) / 1e3,
            (double)hist_quantile(&res->h, 0.999) / 1e3, o.conns, o.batch,
            o.size, o.inflight, o.rate, res->secs);
    else
        printf("zmq echo: %u conn x %u in flight, batch %u x %u B: "
               "%.0f round trips/s, %.0f events/s, p50 %.1f us, p99 %.1f us\n",
            o.conns, o.inflight, o.batch, o.size,
            (double)res->requests / res->secs, (double)res->events / res->secs,
            (double)hist_quantile(&res->h, 0.5) / 1e3,
            (double)hist_quantile(&res->h, 0.99) / 1e3);
    free(res);
    return 0;
}
