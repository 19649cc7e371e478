/*
 * jobq.c - the bounded queue of deliveries and its thread (see jobq.h)
 *
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stddef.h>

#include "common/err.h"
#include "common/log.h"
#include "tools/vigil-shopify/jobq.h"
#include "tools/vigil-shopify/shopify.h"

void
jobq_init(struct jobq *q, size_t max, void (*run)(void *arg, struct req *r),
    void *arg)
{
    q->started = false;
    q->head = q->tail = NULL;
    q->n = 0;
    q->max = max;
    q->stop = false;
    q->run = run;
    q->arg = arg;
    if (pthread_mutex_init(&q->mu, NULL) != 0 ||
        pthread_cond_init(&q->cv, NULL) != 0)
        fatalx("%s: pthread init failed", __func__);
}

static void *
jobq_main(void *arg)
{
    struct jobq *q = arg;
    struct req *r;

    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (q->head == NULL && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->stop) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        r = q->head;
        q->head = r->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->n--;
        r->next = NULL;
        pthread_mutex_unlock(&q->mu);
        q->run(q->arg, r);
    }
}

int
jobq_start(struct jobq *q)
{
    if (pthread_create(&q->thread, NULL, jobq_main, q) != 0)
        return ERR_IO;
    q->started = true;
    return 0;
}

int
jobq_submit(struct jobq *q, struct req *r)
{
    int rc = 0;

    pthread_mutex_lock(&q->mu);
    if (q->stop)
        rc = ERR_SHUTDOWN;
    else if (q->n >= q->max)
        rc = ERR_FULL;
    if (rc == 0) {
        r->next = NULL;
        if (q->tail != NULL)
            q->tail->next = r;
        else
            q->head = r;
        q->tail = r;
        q->n++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void
jobq_stop(struct jobq *q, void (*drop)(void *arg, struct req *r))
{
    struct req *r, *left;

    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (q->started)
        (void)pthread_join(q->thread, NULL);
    q->started = false;
    left = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    while ((r = left) != NULL) {
        left = r->next;
        r->next = NULL;
        drop(q->arg, r);
        r->status = 503;
        r->why = "shutting down; retry\n";
        http_resume(r);
    }
}
