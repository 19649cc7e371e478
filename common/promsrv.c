/*
 * promsrv.c - the /metrics HTTP endpoint (promsrv.h) on libmicrohttpd
 *
 * libmicrohttpd runs in "external epoll" mode: no thread of its own,
 * one epoll descriptor the daemon's poll loop watches, MHD_run() called
 * from that loop. The answer is rendered on the spot into a buffer that
 * libmicrohttpd copies.
 *
 * See also: promsrv.h, microhttpd.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/compiler.h"
#include "common/err.h"
#include "common/log.h"
#include "common/promsrv.h"
#include "common/xmalloc.h"

struct promsrv {
    struct MHD_Daemon *d;
    promsrv_render_cb render;
    void *arg;
    int fd;
};

/* A parsed listen address. */
struct promsrv_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool v6;
};

static int
promsrv_addr_parse(const char *addr, struct promsrv_addr *a)
{
    char host[64];
    const char *colon, *h = addr;
    size_t hlen;
    char *end;
    unsigned long port;

    memset(a, 0, sizeof(*a));
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        if (close == NULL || close[1] != ':')
            return ERR_INVAL;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
        a->v6 = true;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL)
            return ERR_INVAL;
        hlen = (size_t)(colon - addr);
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return ERR_INVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (colon[1] < '0' || colon[1] > '9')
        return ERR_INVAL;
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535)
        return ERR_INVAL;
    if (a->v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&a->ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return ERR_INVAL;
        a->len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&a->ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (strcmp(host, "localhost") == 0)
            snprintf(host, sizeof(host), "127.0.0.1");
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return ERR_INVAL;
        a->len = sizeof(*s4);
    }
    return 0;
}

int
promsrv_parse_addr(const char *addr)
{
    struct promsrv_addr a;

    return promsrv_addr_parse(addr, &a);
}

static enum MHD_Result
promsrv_reply(struct MHD_Connection *conn, unsigned status, const char *ctype,
    const void *body, size_t len)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer(
        len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) !=
        MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
promsrv_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return promsrv_reply(
        conn, status, "text/plain; charset=utf-8", text, strlen(text));
}

static enum MHD_Result
promsrv_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    /* cppcheck-suppress constParameter ; libmicrohttpd's callback type */
    size_t *upload_data_size, void **con_cls)
{
    struct promsrv *ps = cls;
    struct buf out;
    enum MHD_Result rc;
    int r;

    (void)version;
    (void)upload_data;
    if (*upload_data_size != 0)
        return MHD_NO; /* a body: drop the connection */
    if (*con_cls == NULL) {
        /* First call for this request: headers only. Answer on the
         * second, as libmicrohttpd expects. */
        *con_cls = ps;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return promsrv_text(
            conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n");
    if (strcmp(url, "/metrics") != 0)
        return promsrv_text(conn, MHD_HTTP_NOT_FOUND, "see /metrics\n");
    buf_init(&out, PROMSRV_MAX_BYTES);
    r = ps->render(ps->arg, &out);
    if (r != 0)
        rc = promsrv_text(
            conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics not rendered\n");
    else
        rc = promsrv_reply(conn, MHD_HTTP_OK,
            "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    buf_release(&out);
    return rc;
}

/* libmicrohttpd's own messages (no request content) to the debug log. */
static void promsrv_logger(void *cls, const char *fmt, va_list ap)
    PRINTF_LIKE(2, 0);

static void
promsrv_logger(void *cls, const char *fmt, va_list ap)
{
    char line[256];

    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("metrics endpoint: %s", line);
}

int
promsrv_start(
    const char *addr, promsrv_render_cb render, void *arg, struct promsrv **out)
{
    struct promsrv_addr a;
    const union MHD_DaemonInfo *info;
    struct promsrv *ps;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    int rc;

    *out = NULL;
    rc = promsrv_addr_parse(addr, &a);
    if (rc != 0) {
        log_warnx("metrics endpoint '%s': expected HOST:PORT", addr);
        return rc;
    }
    if (a.v6)
        flags |= MHD_USE_IPv6;
    ps = xcalloc(1, sizeof(*ps));
    ps->render = render;
    ps->arg = arg;
    ps->d = MHD_start_daemon(flags, 0, NULL, NULL, promsrv_handler, ps,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)(void *)&a.ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)PROMSRV_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROMSRV_TIMEOUT_S,
        MHD_OPTION_EXTERNAL_LOGGER, promsrv_logger, NULL, MHD_OPTION_END);
    if (ps->d == NULL) {
        log_warnx("metrics endpoint: cannot listen on '%s' (in use, or not "
                  "an address of this host)",
            addr);
        free(ps);
        return ERR_IO;
    }
    info = MHD_get_daemon_info(ps->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL) {
        log_warnx("metrics endpoint: libmicrohttpd has no epoll descriptor");
        MHD_stop_daemon(ps->d);
        free(ps);
        return ERR_IO;
    }
    ps->fd = info->epoll_fd;
    *out = ps;
    return 0;
}

int
promsrv_fd(const struct promsrv *ps)
{
    return ps->fd;
}

long
promsrv_timeout_ms(struct promsrv *ps)
{
    MHD_UNSIGNED_LONG_LONG t = 0;

    if (MHD_get_timeout(ps->d, &t) != MHD_YES)
        return -1;
    return t > 60000 ? 60000 : (long)t;
}

void
promsrv_run(struct promsrv *ps)
{
    if (MHD_run(ps->d) != MHD_YES)
        log_debug("metrics endpoint: MHD_run failed");
}

void
promsrv_stop(struct promsrv *ps)
{
    if (ps == NULL)
        return;
    MHD_stop_daemon(ps->d);
    free(ps);
}
