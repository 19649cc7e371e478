/*
 * sig.h - the signals every Vigil process handles, set up once
 *
 * SIGINT and SIGTERM mean "stop", SIGHUP (daemons only) "reload";
 * SIGPIPE is ignored (a peer closing a socket is an error return, not
 * a death). One handler, here, sets the two flags below for every
 * process; it is installed without SA_RESTART, so that a blocking poll
 * returns EINTR and the loop sees the flag at once.
 *
 * See also: collector/collector.c, scorer/scorer.c, tools/vigil-load,
 *           tools/vigil-replay, tools/vigil-shopify, tools/vigil-witness
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef COMMON_SIG_H
#define COMMON_SIG_H

#include <signal.h>
#include <stdbool.h>

/*
 * How many SIGINTs and SIGTERMs have arrived: non-zero means "stop"; a
 * tool that drains before it stops takes a second one as "stop now".
 */
extern volatile sig_atomic_t sig_stop;

/* Set by SIGHUP (daemons); the main loop clears it as it reloads. */
extern volatile sig_atomic_t sig_reload;

/*
 * Install the handler that counts SIGINT and SIGTERM in sig_stop, and,
 * when `hup` is true, sets sig_reload on SIGHUP; ignore SIGPIPE.
 */
void sig_install(bool hup);

#endif
