/*
 * sig.h - the signals every Vigil process handles, set up once
 *
 * SIGINT and SIGTERM mean "stop", SIGHUP (daemons only) "reload";
 * SIGPIPE is ignored (a peer closing a socket is an error return, not
 * a death). The handlers are installed without SA_RESTART, so that a
 * blocking poll returns EINTR and the loop sees the flag the handler
 * set at once.
 *
 * See also: collector/collector.c, scorer/scorer.c, tools/vigil-load
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_SIG_H
#define COMMON_SIG_H

#include <stdbool.h>

#include "common/compiler.h"

/*
 * Install `on_signal` (async-signal-safe: it may only set a volatile
 * sig_atomic_t flag) for SIGINT and SIGTERM, and for SIGHUP too when
 * `hup` is true; ignore SIGPIPE.
 */
void sig_install(void (*on_signal)(int), bool hup) NONNULL(1);

#endif
