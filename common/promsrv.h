/*
 * promsrv.h - the /metrics HTTP endpoint of a daemon (libmicrohttpd)
 *
 * Serves GET /metrics (Prometheus text format 0.0.4) on one TCP address,
 * 127.0.0.1 by default (cfg collector_metrics / scorer_metrics). It runs
 * inside the daemon's own poll loop, with no thread of its own: the
 * daemon polls promsrv_fd() for input next to its sockets and calls
 * promsrv_run() when it is ready (or at least every promsrv_timeout_ms()),
 * and a request is answered there by calling the daemon's render
 * callback. So the registry (prom.h) needs no lock, and a scrape costs
 * the loop one render, a few hundred microseconds.
 *
 * Invariants:
 *  - only GET (and HEAD) of "/metrics" is answered with data; anything
 *    else is 404 or 405, and request bodies are refused.
 *  - at most PROMSRV_MAX_CONNECTIONS connections, each closed after
 *    PROMSRV_TIMEOUT_S seconds idle: a stuck scraper cannot hold the
 *    daemon.
 *
 * See also: prom.h, scorer/scorer.conf.5 (collector_metrics,
 *           scorer_metrics)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_PROMSRV_H
#define COMMON_PROMSRV_H

#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"

#define PROMSRV_MAX_CONNECTIONS 16
#define PROMSRV_TIMEOUT_S       5
#define PROMSRV_MAX_BYTES       (8u * 1024 * 1024) /* one exposition */

/*
 * Fill `out` (empty, capped at PROMSRV_MAX_BYTES) with the exposition.
 * Return 0, or an ERR_* (the scrape is answered 500).
 */
typedef int (*promsrv_render_cb)(void *arg, struct buf *out);

struct promsrv;

/*
 * Parse "HOST:PORT" (an IPv4 address, "localhost" or "[IPv6]") into
 * what promsrv_start() binds. Returns 0 or ERR_INVAL.
 */
int promsrv_parse_addr(const char *addr) WARN_UNUSED NONNULL(1);

/*
 * Bind `addr` ("HOST:PORT", see promsrv_parse_addr) and get ready to
 * serve; `render` is called with `arg` for each scrape. `*out` is freed
 * with promsrv_stop(). Returns 0, ERR_INVAL (bad address) or ERR_IO
 * (cannot bind: in use, not an address of this host; logged).
 */
int promsrv_start(const char *addr, promsrv_render_cb render, void *arg,
    struct promsrv **out) WARN_UNUSED NONNULL(1, 2, 4);

/* The descriptor to poll for input (an epoll set). */
int promsrv_fd(const struct promsrv *ps) NONNULL(1);

/* Milliseconds until promsrv_run() is due anyway, or -1 for none. */
long promsrv_timeout_ms(struct promsrv *ps) NONNULL(1);

/* Accept, read and answer whatever is ready; never blocks. */
void promsrv_run(struct promsrv *ps) NONNULL(1);

/* Close every connection and the listening socket. NULL is a no-op. */
void promsrv_stop(struct promsrv *ps);

#endif
