/*
 * sig.c - the stop and reload handler and its flags (see sig.h)
 *
 * SPDX-License-Identifier: MIT
 */
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "common/sig.h"

volatile sig_atomic_t sig_stop;
volatile sig_atomic_t sig_reload;

static void
on_signal(int sig)
{
    if (sig == SIGHUP)
        sig_reload = 1;
    else
        sig_stop = sig_stop + 1;
}

void
sig_install(bool hup)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    (void)sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking poll must return EINTR. */
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    if (hup)
        (void)sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    (void)sigaction(SIGPIPE, &sa, NULL);
}
