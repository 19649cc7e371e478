/*
 * test_zsock.c - unit tests of the libzmq wrapper (common/zsock.c)
 *
 * zsock_poll() over many items: up to ZSOCK_MAX_POLL file descriptors
 * and sockets in one call (vigil-load polls one DEALER per connection,
 * up to 256, and its timer), every ready item reported, and one item
 * too many refused with ERR_INVAL rather than overrunning the stack
 * array the items are translated into. ROUTER envelopes (a message of
 * too many parts received whole and refused, the next one intact; the
 * delimiter kept; a REQ peer answered), the option setters and
 * MAXMSGSIZE enforced on a real ipc:// connection, Z85 keys.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "common/zsock.h"
#include "tests/harness/test.h"

/* Poll n copies of a readable pipe: every one is ready. */
static void
test_poll_many_fds(void)
{
    struct zsock_pollitem *items = xcalloc(ZSOCK_MAX_POLL + 1, sizeof(*items));
    int p[2], nready = -1, n;

    ASSERT_OK(pipe(p));
    ASSERT_EQ(write(p[1], "x", 1), 1);
    for (int i = 0; i < ZSOCK_MAX_POLL + 1; i++) {
        items[i].sock = NULL;
        items[i].fd = p[0];
        items[i].events = ZSOCK_POLLIN;
    }
    for (n = 1; n <= ZSOCK_MAX_POLL; n = n < 16 ? n + 1 : n * 2) {
        if (n > ZSOCK_MAX_POLL / 2)
            n = ZSOCK_MAX_POLL;
        ASSERT_OK(zsock_poll(items, n, 0, &nready));
        ASSERT_EQ(nready, n);
        for (int i = 0; i < n; i++)
            ASSERT_EQ(items[i].revents, ZSOCK_POLLIN);
    }
    ASSERT_EQ(zsock_poll(items, ZSOCK_MAX_POLL + 1, 0, &nready), ERR_INVAL);
    ASSERT_EQ(zsock_poll(items, -1, 0, &nready), ERR_INVAL);
    close(p[0]);
    close(p[1]);
    free(items);
}

/* 17 DEALERs on one ROUTER: a poll over all of them sees each reply. */
static void
test_poll_many_sockets(void)
{
    enum { N = 17 };
    void *ctx = zsock_ctx_new(), *router = NULL, *dealers[N] = { NULL };
    struct zsock_pollitem items[N];
    struct zsock_msg m;
    struct zsock_route route;
    int body, nready = 0, seen = 0;

    ASSERT(ctx != NULL);
    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &router));
    ASSERT_OK(zsock_bind(router, "inproc://test-zsock"));
    for (int i = 0; i < N; i++) {
        char ping[] = "ping";
        struct iovec iov = { ping, 4 };

        ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &dealers[i]));
        ASSERT_OK(zsock_connect(dealers[i], "inproc://test-zsock"));
        ASSERT_OK(zsock_send_parts(dealers[i], &iov, 1, 0));
        items[i].sock = dealers[i];
        items[i].fd = -1;
        items[i].events = ZSOCK_POLLIN;
    }
    for (int i = 0; i < N; i++) {
        ASSERT_OK(zsock_recv_msg(router, &m, 0));
        ASSERT_OK(zsock_msg_route(&m, &route, &body));
        ASSERT_OK(zsock_send_routed(router, &route, "pong", 4));
        zsock_msg_close(&m);
    }
    while (seen < N) {
        ASSERT_OK(zsock_poll(items, N, 5000, &nready));
        ASSERT(nready > 0);
        for (int i = 0; i < N; i++) {
            if (!(items[i].revents & ZSOCK_POLLIN))
                continue;
            ASSERT_OK(zsock_recv_msg(dealers[i], &m, ZSOCK_DONTWAIT));
            ASSERT_EQ(zsock_msg_size(&m, m.nparts - 1), 4);
            zsock_msg_close(&m);
            items[i].events = 0;
            seen++;
        }
    }
    for (int i = 0; i < N; i++)
        zsock_close(dealers[i]);
    zsock_close(router);
    zsock_ctx_term(ctx);
}

static void
send_frames(void *s, int n, const char *first)
{
    struct iovec iov[ZSOCK_MAX_PARTS + 8];
    static char fill[] = "x";

    ASSERT(n <= ZSOCK_MAX_PARTS + 8);
    for (int i = 0; i < n; i++) {
        iov[i].iov_base =
            i == 0 && first != NULL ? (void *)(uintptr_t)first : fill;
        iov[i].iov_len = i == 0 && first != NULL ? strlen(first) : 1;
    }
    ASSERT_OK(zsock_send_parts(s, iov, n, 0));
}

/*
 * ROUTER envelopes: a message of more parts than ZSOCK_MAX_PARTS is
 * received whole (overflow, every part counted) and refused by
 * zsock_msg_route with the identity kept for an error reply, and the
 * next message is intact (nothing left of the long one); a delimiter is
 * kept for the reply; two body frames are refused; a REQ peer's reply
 * arrives through zsock_send_routed.
 */
static void
test_route(void)
{
    void *ctx = zsock_ctx_new(), *router = NULL, *dealer = NULL, *req = NULL;
    struct zsock_route route;
    struct zsock_msg m;
    int body = 0;

    ASSERT(ctx != NULL);
    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &router));
    ASSERT_OK(zsock_bind(router, "inproc://test-route"));
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &dealer));
    ASSERT_OK(zsock_connect(dealer, "inproc://test-route"));

    /* Nothing yet: ERR_AGAIN without waiting. */
    ASSERT_EQ(zsock_recv_msg(router, &m, ZSOCK_DONTWAIT), ERR_AGAIN);

    send_frames(dealer, ZSOCK_MAX_PARTS + 4, "long");
    ASSERT_OK(zsock_recv_msg(router, &m, 0));
    ASSERT(m.overflow);
    ASSERT_EQ(m.nparts, ZSOCK_MAX_PARTS);
    ASSERT_EQ(m.total, ZSOCK_MAX_PARTS + 5); /* + the identity */
    ASSERT_EQ(zsock_msg_route(&m, &route, &body), ERR_MALFORMED);
    ASSERT(route.identlen > 0);
    ASSERT_EQ(body, -1);
    zsock_msg_close(&m);
    ASSERT_EQ(m.nparts, 0);
    ASSERT(zsock_msg_property(&m, "User-Id") == NULL);
    ASSERT_EQ(zsock_msg_route(&m, &route, &body), ERR_MALFORMED);

    send_frames(dealer, 1, "after");
    ASSERT_OK(zsock_recv_msg(router, &m, 0));
    ASSERT(!m.overflow);
    ASSERT_EQ(m.nparts, 2);
    ASSERT_OK(zsock_msg_route(&m, &route, &body));
    ASSERT(!route.delim);
    ASSERT_EQ(body, 1);
    ASSERT_EQ(zsock_msg_size(&m, body), 5);
    ASSERT(memcmp(zsock_msg_data(&m, body), "after", 5) == 0);
    zsock_msg_close(&m);

    /* Two body frames without a delimiter: not one body. */
    send_frames(dealer, 2, "two");
    ASSERT_OK(zsock_recv_msg(router, &m, 0));
    ASSERT_EQ(zsock_msg_route(&m, &route, &body), ERR_MALFORMED);
    zsock_msg_close(&m);

    /* A REQ peer: delimiter kept, the routed reply reaches it. */
    ASSERT_OK(zsock_open(ctx, ZSOCK_REQ, &req));
    ASSERT_OK(zsock_connect(req, "inproc://test-route"));
    send_frames(req, 1, "ask");
    ASSERT_OK(zsock_recv_msg(router, &m, 0));
    ASSERT_OK(zsock_msg_route(&m, &route, &body));
    ASSERT(route.delim);
    ASSERT_EQ(body, 2);
    zsock_msg_close(&m);
    ASSERT_OK(zsock_send_routed(router, &route, "answer", 6));
    ASSERT_OK(zsock_recv_msg(req, &m, 0));
    ASSERT_EQ(m.nparts, 1);
    ASSERT_EQ(zsock_msg_size(&m, 0), 6);
    zsock_msg_close(&m);

    /* No parts: refused before anything is sent. */
    {
        struct iovec none = { NULL, 0 };

        ASSERT_EQ(zsock_send_parts(dealer, &none, 0, 0), ERR_INVAL);
    }
    zsock_close(req);
    zsock_close(dealer);
    zsock_close(router);
    zsock_ctx_term(ctx);
}

/*
 * Options: each setter refuses the other's options and an unknown socket
 * type is refused; MAXMSGSIZE is enforced (a larger message never
 * arrives, a small one after it from another peer does).
 */
static void
test_options(void)
{
    void *ctx = zsock_ctx_new(), *router = NULL, *big = NULL, *small = NULL;
    struct zsock_pollitem it;
    struct zsock_msg m;
    char payload[200];
    int nready = 0;
    char dir[] = "/tmp/vigil-test-zsock-XXXXXX", ep[96], path[64];

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/max.ipc", dir);
    snprintf(ep, sizeof(ep), "ipc://%s", path);
    ASSERT(ctx != NULL);
    ASSERT_EQ(zsock_open(ctx, (enum zsock_type)99, &router), ERR_INVAL);
    ASSERT(router == NULL);
    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &router));
    ASSERT_EQ(zsock_setopt_int(router, ZSOCK_OPT_MAXMSGSIZE, 10), ERR_INVAL);
    ASSERT_EQ(zsock_setopt_i64(router, ZSOCK_OPT_SNDHWM, 10), ERR_INVAL);
    ASSERT_OK(zsock_setopt_int(router, ZSOCK_OPT_RCVHWM, 10));
    ASSERT_OK(zsock_setopt_i64(router, ZSOCK_OPT_MAXMSGSIZE, 64));
    ASSERT_OK(zsock_bind(router, ep));
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &big));
    ASSERT_OK(zsock_connect(big, ep));
    memset(payload, 'p', sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';
    send_frames(big, 1, payload);
    it.sock = router;
    it.fd = -1;
    it.events = ZSOCK_POLLIN;
    ASSERT_OK(zsock_poll(&it, 1, 300, &nready));
    ASSERT_EQ(nready, 0);
    ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &small));
    ASSERT_OK(zsock_connect(small, ep));
    send_frames(small, 1, "small");
    ASSERT_OK(zsock_poll(&it, 1, 5000, &nready));
    ASSERT_EQ(nready, 1);
    ASSERT_OK(zsock_recv_msg(router, &m, 0));
    ASSERT_EQ(zsock_msg_size(&m, 1), 5);
    zsock_msg_close(&m);
    zsock_close(small);
    zsock_close(big);
    zsock_close(router);
    zsock_ctx_term(ctx);
    unlink(path);
    ASSERT_OK(rmdir(dir));
}

/*
 * ZSOCK_OPT_RECONNECT_IVL: a DEALER connects to an ipc endpoint before
 * anything is bound there; 100 ms later a ROUTER binds it. At 10 ms the
 * DEALER's message arrives within a second; at 3,000 ms it does not
 * (libzmq tries again only after the interval).
 */
static void
test_reconnect_ivl(void)
{
    char dir[] = "/tmp/vigil-test-zsock-XXXXXX", ep[96], path[64];
    int ivl[2] = { 10, 3000 }, want[2] = { 1, 0 };

    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/late.ipc", dir);
    snprintf(ep, sizeof(ep), "ipc://%s", path);
    for (int k = 0; k < 2; k++) {
        void *ctx = zsock_ctx_new(), *router = NULL, *dealer = NULL;
        struct zsock_pollitem it;
        int nready = -1;

        ASSERT(ctx != NULL);
        ASSERT_OK(zsock_open(ctx, ZSOCK_DEALER, &dealer));
        ASSERT_OK(zsock_setopt_int(dealer, ZSOCK_OPT_RECONNECT_IVL, ivl[k]));
        ASSERT_OK(zsock_connect(dealer, ep));
        send_frames(dealer, 1, "late");
        usleep(100 * 1000);
        ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &router));
        ASSERT_OK(zsock_bind(router, ep));
        it.sock = router;
        it.fd = -1;
        it.events = ZSOCK_POLLIN;
        ASSERT_OK(zsock_poll(&it, 1, 1000, &nready));
        printf("  reconnect interval %d ms: %s within 1 s\n", ivl[k],
            nready == 1 ? "arrived" : "not arrived");
        ASSERT_EQ(nready, want[k]);
        zsock_close(dealer);
        zsock_close(router);
        zsock_ctx_term(ctx);
        unlink(path);
    }
    ASSERT_OK(rmdir(dir));
}

/* Z85 keys: a generated key round-trips; a wrong length or a character
 * outside the alphabet is refused; a monitor name too long is refused. */
static void
test_keys(void)
{
    uint8_t pub[ZSOCK_KEY_BYTES], sec[ZSOCK_KEY_BYTES], back[ZSOCK_KEY_BYTES];
    char z[ZSOCK_Z85_KEY + 1], bad[ZSOCK_Z85_KEY + 2], name[200];
    void *ctx = zsock_ctx_new(), *s = NULL, *mon = (void *)&mon;

    ASSERT_OK(zsock_curve_keypair(pub, sec));
    zsock_z85_encode(z, pub);
    ASSERT_EQ(strlen(z), ZSOCK_Z85_KEY);
    ASSERT_OK(zsock_z85_decode(back, z));
    ASSERT_MEM_EQ(back, pub, ZSOCK_KEY_BYTES);
    ASSERT_OK(zsock_curve_public(back, sec));
    ASSERT_MEM_EQ(back, pub, ZSOCK_KEY_BYTES);
    memcpy(bad, z, sizeof(z));
    bad[ZSOCK_Z85_KEY - 1] = '\0';
    ASSERT_EQ(zsock_z85_decode(back, bad), ERR_INVAL);
    memcpy(bad, z, sizeof(z));
    bad[ZSOCK_Z85_KEY] = 'a';
    bad[ZSOCK_Z85_KEY + 1] = '\0';
    ASSERT_EQ(zsock_z85_decode(back, bad), ERR_INVAL);
    memcpy(bad, z, sizeof(z));
    bad[3] = '~';
    ASSERT_EQ(zsock_z85_decode(back, bad), ERR_INVAL);
    bad[3] = '"';
    ASSERT_EQ(zsock_z85_decode(back, bad), ERR_INVAL);

    ASSERT(ctx != NULL);
    ASSERT_OK(zsock_open(ctx, ZSOCK_ROUTER, &s));
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ASSERT_EQ(zsock_monitor_open(ctx, s, name, &mon), ERR_INVAL);
    ASSERT(mon == NULL);
    zsock_close(s);
    zsock_ctx_term(ctx);
}

int
main(void)
{
    RUN(test_poll_many_fds);
    RUN(test_poll_many_sockets);
    RUN(test_route);
    RUN(test_options);
    RUN(test_reconnect_ivl);
    RUN(test_keys);
    return 0;
}
