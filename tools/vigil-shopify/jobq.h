/*
 * jobq.h - a bounded queue of deliveries run one at a time by a thread
 *
 * The privacy webhooks (privacy.c) and the labels (labels.c) each talk to
 * the scorer's query endpoint from a thread of their own, off the HTTP
 * threads: an HTTP thread submits the suspended request, the queue's
 * thread runs it with the owner's callback, which resumes it. Requests
 * are linked through req.next; the queue never frees one.
 *
 * Invariants:
 *  - at most `max` requests wait; a submit past that, or after stop, is
 *    refused (the caller answers 503).
 *  - `run` is only called on the queue's thread, one request at a time.
 *
 * See also: privacy.c, labels.c, shopify.h (struct req)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef VIGIL_SHOPIFY_JOBQ_H
#define VIGIL_SHOPIFY_JOBQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"

struct req;

struct jobq {
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct req *head, *tail; /* linked by req.next */
    size_t n, max;
    bool stop;
    void (*run)(void *arg, struct req *r); /* on the queue's thread */
    void *arg;
};

/* Set up `q` (never fails: a pthread init failure is fatal). */
void jobq_init(struct jobq *q, size_t max,
    void (*run)(void *arg, struct req *r), void *arg) NONNULL(1, 3);

/* Start the queue's thread. Returns 0 or ERR_IO. */
int jobq_start(struct jobq *q) WARN_UNUSED NONNULL(1);

/* Queue `r`. Returns 0, ERR_FULL (max waiting) or ERR_SHUTDOWN. */
int jobq_submit(struct jobq *q, struct req *r) WARN_UNUSED NONNULL(1, 2);

/*
 * Stop the thread (after the request it is running) and release `q`.
 * Each request that never ran goes to `drop` (with the queue's `arg`:
 * the worker counts it and frees its job) and is then answered 503
 * "shutting down; retry". jobq_init() must have been called.
 */
void jobq_stop(struct jobq *q, void (*drop)(void *arg, struct req *r))
    NONNULL(1, 2);

#endif
