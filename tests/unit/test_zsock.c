/*
 * test_zsock.c - unit tests of the libzmq wrapper (common/zsock.c)
 *
 * zsock_poll() over many items: up to ZSOCK_MAX_POLL file descriptors
 * and sockets in one call (vigil-load polls one DEALER per connection,
 * up to 256, and its timer), every ready item reported, and one item
 * too many refused with ERR_INVAL rather than overrunning the stack
 * array the items are translated into.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
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

int
main(void)
{
    RUN(test_poll_many_fds);
    RUN(test_poll_many_sockets);
    return 0;
}
