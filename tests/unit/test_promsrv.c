/*
 * test_promsrv.c - unit tests of common/promsrv.c: the /metrics endpoint
 *
 * The real libmicrohttpd daemon on 127.0.0.1, driven the way the daemons
 * drive it (poll its descriptor, promsrv_run), and a plain TCP client in
 * this process: GET and HEAD /metrics answer 200 with the rendered text
 * and the 0.0.4 content type, another path 404, another method 405, a
 * failed render 500, a request with a body is dropped. The address
 * parser is checked on good and bad forms. Every wait is bounded.
 *
 * See also: common/promsrv.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/promsrv.h"
#include "tests/harness/test.h"

static int render_rc; /* what the render callback returns */
static unsigned renders;

static int
render(void *arg, struct buf *out)
{
    (void)arg;
    renders++;
    if (render_rc != 0)
        return render_rc;
    return buf_append(out, "vigil_up 1\n", 11);
}

/* A port that was free a moment ago on 127.0.0.1. */
static unsigned
free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ASSERT(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    ASSERT(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Send `req` to the server on `port` and run the server until the client
 * has the whole answer (the server closes) or 5 s pass. The answer goes
 * into resp (NUL-terminated, cut to its size).
 */
static void
exchange(
    struct promsrv *ps, unsigned port, const char *req, char *resp, size_t size)
{
    struct sockaddr_in a;
    size_t got = 0;
    double deadline = now_s() + 5;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ASSERT(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    ASSERT_EQ(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
    while (now_s() < deadline) {
        struct pollfd p[2] = { { promsrv_fd(ps), POLLIN, 0 },
            { fd, POLLIN, 0 } };
        ssize_t n;

        ASSERT(poll(p, 2, 50) >= 0);
        promsrv_run(ps);
        if (!(p[1].revents & (POLLIN | POLLHUP)))
            continue;
        n = recv(fd, resp + got, size - 1 - got, MSG_DONTWAIT);
        if (n == 0)
            break;
        if (n > 0)
            got += (size_t)n;
        if (got == size - 1)
            break;
    }
    resp[got] = '\0';
    close(fd);
}

static void
test_parse_addr(void)
{
    static const char *const good[] = { "127.0.0.1:7015", "localhost:1",
        "[::1]:65535", "0.0.0.0:80" };
    static const char *const bad[] = { "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
        "127.0.0.1:65536", "127.0.0.1:12x", ":7015", "[::1]7015", "[::1:7015",
        "example.com:80", "127.0.0.1:-1", "1.2.3.4.5:80", "[127.0.0.1]:80" };
    unsigned i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (promsrv_parse_addr(good[i]) != 0)
            TEST_FAIL("'%s' refused", good[i]);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (promsrv_parse_addr(bad[i]) != ERR_INVAL)
            TEST_FAIL("'%s' accepted", bad[i]);
}

static void
test_serve(void)
{
    struct promsrv *ps = NULL, *second = NULL;
    char addr[64], resp[4096];
    unsigned port = free_port();

    snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
    ASSERT_OK(promsrv_start(addr, render, NULL, &ps));
    ASSERT(promsrv_fd(ps) >= 0);
    ASSERT(promsrv_timeout_ms(ps) <= 60000);
    /* The same address twice: the second cannot listen. */
    ASSERT_EQ(promsrv_start(addr, render, NULL, &second), ERR_IO);
    ASSERT(second == NULL);
    ASSERT_EQ(promsrv_start("nonsense", render, NULL, &second), ERR_INVAL);

    exchange(ps, port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
        sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    ASSERT(strstr(resp, "text/plain; version=0.0.4") != NULL);
    ASSERT(strstr(resp, "\r\n\r\nvigil_up 1\n") != NULL);
    ASSERT_EQ(renders, 1);

    exchange(ps, port,
        "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
        sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    ASSERT(strstr(resp, "vigil_up") == NULL);

    exchange(ps, port,
        "GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
        sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 404", 12) == 0);

    exchange(ps, port,
        "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        resp, sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 405", 12) == 0);

    /* A body is never read: the connection is dropped, no render. */
    renders = 0;
    exchange(ps, port,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\nhello",
        resp, sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 200", 12) != 0);
    ASSERT_EQ(renders, 0);

    render_rc = ERR_TOOBIG;
    exchange(ps, port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp,
        sizeof(resp));
    ASSERT(strncmp(resp, "HTTP/1.1 500", 12) == 0);
    render_rc = 0;

    promsrv_stop(ps);
    promsrv_stop(NULL);
}

int
main(void)
{
    RUN(test_parse_addr);
    RUN(test_serve);
    return 0;
}
