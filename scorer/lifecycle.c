/*
 * lifecycle.c - one scorer per data directory, SIGHUP reloads, a
 *               bounded stop (lifecycle.h)
 *
 * Main thread of vigil-scorer.
 *
 * See also: lifecycle.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/err.h"
#include "common/log.h"
#include "scorer/lifecycle.h"
#include "scorer/record.h"
#include "scorer/scorer.h"

#define LIFECYCLE_PIDFILE "scorer.pid"

void
lifecycle_lock(struct scorer *s)
{
    char path[4096], pid[32];
    ssize_t n;
    int fd, len;

    if (cfg_path(&s->cfg, LIFECYCLE_PIDFILE, path, sizeof(path)) != 0)
        fatalx("data directory path too long");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        fatal("cannot open '%s'", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK)
            fatal("cannot lock '%s'", path);
        n = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        fatalx("another vigil-scorer (pid %s) is running on data directory "
               "'%s': refusing to start a second one",
            pid[0] != '\0' ? pid : "unknown", s->cfg.data_dir);
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        log_warn("cannot write the pid to '%s'", path);
    s->lock_fd = fd;
}

void
lifecycle_unlock(struct scorer *s)
{
    if (s->lock_fd > 0) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
}

int
lifecycle_quotas(struct scorer *s)
{
    char why[256];
    int rc;

    rc = quota_config_set(&s->quotas, &s->cfg, why, sizeof(why));
    if (rc != 0)
        log_warnx("quota_clients: %s; the previous quotas stay", why);
    return rc;
}

/* The model's reload: modelsvc.h (a bad file leaves the old model). */
static void
lifecycle_reload_model(struct scorer *s)
{
    modelsvc_flush(s);
    modelsvc_reload(s);
}

void
lifecycle_reload(struct scorer *s)
{
    char before[RECORD_CONFIG_FP], after[RECORD_CONFIG_FP];
    char ref[AUDIT_MAX_REF + 1];
    int n;

    record_config_fp(&s->cfg, before);
    n = cfg_reload(&s->cfg, &s->args);
    if (n < 0)
        return;
    /* The change in the audit log, before it takes effect anywhere
     * (fingerprints only: the text may hold paths and addresses). */
    record_config_fp(&s->cfg, after);
    if (strcmp(before, after) != 0) {
        snprintf(ref, sizeof(ref), "config %s -> %s, %d live keys", before,
            after, n);
        if (record_system(s, "config.change", ref) != 0)
            log_warnx("SIGHUP: the configuration change is not in the audit "
                      "log");
    }
    s->params.review_threshold = (unsigned)s->cfg.review_threshold;
    s->params.block_threshold = (unsigned)s->cfg.block_threshold;
    (void)lifecycle_quotas(s);
    s->space.next_check_ms = 0; /* new marks: look again now */
    lifecycle_reload_model(s);
    log_info("SIGHUP: configuration reloaded (%d live keys changed)", n);
}

static void
lifecycle_on_alarm(int sig)
{
    static const char msg[] = "vigil-scorer: stop took longer than "
                              "shutdown_timeout_ms; exiting now (the "
                              "journal holds every acknowledged event)\n";

    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* Nothing more can be done about it here. */
    }
    _exit(1);
}

void
lifecycle_watchdog(const struct scorer *s)
{
    struct sigaction sa;
    unsigned secs = (unsigned)((s->cfg.shutdown_timeout_ms + 999) / 1000);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = lifecycle_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(secs > 0 ? secs : 1);
}
