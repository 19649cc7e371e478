/*
 * wclient.c - the scorer's witness client thread (see wclient.h)
 *
 * Main thread: observer callbacks append leaf hashes and replace the
 * newest checkpoint in the inbox (struct wclient, under `mu`), then
 * signal `cv`. Client thread: takes the inbox, extends its window, and
 * for every witness whose cosigned size is below the newest checkpoint
 * (and whose backoff has expired) POSTs add-checkpoint, handles the
 * answer, and stores the cosignature.
 *
 * Invariants:
 *  - the window (wwindow.h) only grows at its end and is trimmed at its
 *    base; inbox leaves are contiguous with the window's end (the observer
 *    reports every durable leaf, in order).
 *
 * See also: wclient.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/audit.h"
#include "common/cfg.h"
#include "common/clock.h"
#include "common/cosig.h"
#include "common/cosiglog.h"
#include "common/err.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/note.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "scorer/wclient.h"
#include "scorer/wwindow.h"

#define URL_MAX         512
#define REPLY_MAX       8192
#define BACKOFF_MIN_MS  1000
#define BACKOFF_MAX_MS  60000
#define CONNECT_MS      2000
#define REQUEST_MS      10000
#define MAX_409_RETRIES 3

/* One configured witness (client thread only, after start). */
struct witness {
    char url[URL_MAX]; /* ".../add-checkpoint" */
    struct cosig_verifier key;
    CURL *curl;          /* kept for HTTP keep-alive */
    bool known;          /* `size` is what the witness told or cosigned */
    uint64_t size;       /* its cosigned size (0: none or unknown) */
    uint64_t next_ms;    /* monotonic: not before (backoff) */
    uint64_t backoff_ms; /* next backoff step */
};

struct wclient {
    /* Shared with the main thread, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t (*in_leaves)[MERKLE_HASH_BYTES]; /* inbox leaves (owned) */
    size_t in_n, in_cap;
    uint64_t in_first; /* index of in_leaves[0] */
    char *in_note;     /* newest checkpoint note (owned), or NULL */
    size_t in_note_len;
    uint64_t in_size;     /* its size */
    bool quit;            /* stop now */
    uint64_t flush_until; /* monotonic: while stopping, push until then */
    struct wclient_stats stats;
    uint64_t cosigned[CFG_MAX_WITNESSES]; /* each witness's cosigned size */

    /* Client thread only. */
    pthread_t thread;
    struct witness w[CFG_MAX_WITNESSES];
    size_t nw;
    char dir[4096];
    char vkey[NOTE_MAX_KEY];
    int fd;             /* cosignatures.log */
    struct wwindow win; /* proofs for witnesses at or after its base */
    char *note;         /* the checkpoint being pushed (owned) */
    size_t note_len;
    uint64_t size;
};

/* ------------------------------------------------------------ config */

/* Parse one "<URL> <vkey>" entry into `w`. */
static int
parse_entry(const char *e, size_t len, struct witness *w)
{
    char buf[CFG_VALUE_MAX + 1];
    char *sp;
    size_t ulen;

    if (len > CFG_VALUE_MAX)
        return ERR_INVAL;
    memcpy(buf, e, len);
    buf[len] = '\0';
    sp = strchr(buf, ' ');
    if (sp == NULL)
        return ERR_INVAL;
    *sp = '\0';
    while (*++sp == ' ')
        ;
    if (strncmp(buf, "http://", 7) != 0 && strncmp(buf, "https://", 8) != 0)
        return ERR_INVAL;
    ulen = strlen(buf);
    while (ulen > 0 && buf[ulen - 1] == '/')
        buf[--ulen] = '\0';
    if (ulen + strlen("/add-checkpoint") >= URL_MAX)
        return ERR_INVAL;
    if (cosig_verifier_parse(sp, &w->key) != 0)
        return ERR_INVAL;
    text_fmt(w->url, sizeof(w->url), "%s/add-checkpoint", buf);
    return 0;
}

/* Parse every entry of `spec` into w[]; returns the count or ERR_INVAL. */
static int
parse_spec(const char *spec, struct witness *w, char *err, size_t errlen)
{
    const char *p = spec;
    int n = 0;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        struct witness tmp;

        memset(&tmp, 0, sizeof(tmp));
        if (n == CFG_MAX_WITNESSES || parse_entry(p, len, &tmp) != 0) {
            text_fmt(err, errlen,
                "witness '%.*s': want '<http(s) URL> <vkey>' with a "
                "cosignature/v1 (type 0x04) verifier key, at most %d "
                "witnesses",
                (int)(len > 80 ? 80 : len), p, CFG_MAX_WITNESSES);
            return ERR_INVAL;
        }
        if (w != NULL)
            w[n] = tmp;
        n++;
        p += len;
        if (*p == '\n')
            p++;
    }
    return n;
}

int
wclient_check(const char *spec, char *err, size_t errlen)
{
    return parse_spec(spec, NULL, err, errlen);
}

/* ------------------------------------------------------------ inbox */

static void
on_leaves(void *arg, uint64_t first, const uint8_t (*hashes)[MERKLE_HASH_BYTES],
    size_t n)
{
    struct wclient *wc = arg;

    pthread_mutex_lock(&wc->mu);
    if (wc->in_n == 0)
        wc->in_first = first;
    if (wc->in_n + n > wc->in_cap) {
        wc->in_cap = wc->in_cap * 2 > wc->in_n + n ? wc->in_cap * 2 :
                                                     wc->in_n + n + 1024;
        wc->in_leaves =
            xreallocarray(wc->in_leaves, wc->in_cap, sizeof(*wc->in_leaves));
    }
    memcpy(wc->in_leaves + wc->in_n, hashes, n * sizeof(*hashes));
    wc->in_n += n;
    pthread_mutex_unlock(&wc->mu);
}

static void
on_checkpoint(void *arg, uint64_t size, const char *note, size_t len)
{
    struct wclient *wc = arg;
    char *copy = xmalloc(len);

    memcpy(copy, note, len);
    pthread_mutex_lock(&wc->mu);
    free(wc->in_note);
    wc->in_note = copy;
    wc->in_note_len = len;
    wc->in_size = size;
    pthread_cond_signal(&wc->cv);
    pthread_mutex_unlock(&wc->mu);
}

/* ------------------------------------------------------------ proofs */

/* Build the consistency proof old -> size into proof[0..*n). */
static int
make_proof(struct wclient *wc, uint64_t old, uint64_t size,
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES], size_t *n)
{
    struct audit_proof *p;
    struct audit_verify_result *res;
    int rc;

    rc = wwindow_consistency_proof(&wc->win, old, size, proof, n);
    if (rc != ERR_NOTFOUND)
        return rc;
    /* Behind the window: read the log (XXX(issue-8): O(n) until the
     * tiles of item 5 make audit_prove_consistency O(log n)). */
    pthread_mutex_lock(&wc->mu);
    wc->stats.fallbacks++;
    pthread_mutex_unlock(&wc->mu);
    p = xmalloc(sizeof(*p));
    res = xmalloc(sizeof(*res));
    rc = audit_prove_consistency(wc->dir, wc->vkey, old, size, p, res);
    if (rc == 0) {
        memcpy(proof, p->hashes, p->n * MERKLE_HASH_BYTES);
        *n = p->n;
    } else {
        log_warnx("witness client: no consistency proof %" PRIu64 " -> %" PRIu64
                  " from the log: %s (%s)",
            old, size, err_str(rc), res->reason);
    }
    free(p);
    free(res);
    return rc;
}

/* ------------------------------------------------------------ HTTP */

struct reply {
    char buf[REPLY_MAX + 1];
    size_t len;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct reply *r = arg;
    size_t n = size * nmemb, room = REPLY_MAX - r->len;

    memcpy(r->buf + r->len, ptr, n < room ? n : room);
    r->len += n < room ? n : room;
    r->buf[r->len] = '\0';
    return n;
}

/* Parse a 409 body "<decimal>\n". */
static int
parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\n'))
        return ERR_MALFORMED;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return ERR_MALFORMED;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (s[i] != '\n' || s[i + 1] != '\0')
        return ERR_MALFORMED;
    *out = v;
    return 0;
}

static void
count(struct wclient *wc, uint64_t *field)
{
    pthread_mutex_lock(&wc->mu);
    (*field)++;
    pthread_mutex_unlock(&wc->mu);
}

static void
backoff(struct witness *w)
{
    w->next_ms = clock_mono_ms() + w->backoff_ms;
    w->backoff_ms =
        w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

/*
 * Check the witness's answer (signature lines) on our note and store it.
 * Returns 0 or ERR_CORRUPT.
 */
static int
take_cosignature(struct wclient *wc, struct witness *w, const struct reply *r)
{
    char *full;
    size_t len = wc->note_len + r->len, nok = 0;
    int rc;

    if (r->len == 0 || r->buf[r->len - 1] != '\n' || len > COSIGLOG_MAX_FRAME)
        return ERR_CORRUPT;
    full = xmalloc(len);
    memcpy(full, wc->note, wc->note_len);
    memcpy(full + wc->note_len, r->buf, r->len);
    rc = cosig_verify(
        full, len, &w->key, 1, clock_wall_ms() / 1000 + 600, NULL, NULL, &nok);
    if (rc == 0 && nok != 1)
        rc = ERR_CORRUPT;
    if (rc == 0) {
        rc = cosiglog_append(wc->fd, full, len);
        if (rc != 0)
            log_warnx(
                "witness client: cannot store a cosignature: %s", err_str(rc));
    } else {
        log_warnx("witness client: '%s' answered without a valid "
                  "cosignature by its configured key",
            w->url);
        rc = ERR_CORRUPT;
    }
    free(full);
    return rc;
}

/* Push the current checkpoint to `w` (client thread). */
static void
push(struct wclient *wc, struct witness *w)
{
    uint8_t proof[MERKLE_MAX_PROOF][MERKLE_HASH_BYTES];
    struct reply *r = xmalloc(sizeof(*r));
    char *body = NULL;
    struct curl_slist *hdr = NULL;
    int tries;

    hdr = curl_slist_append(hdr, "Content-Type: text/plain; charset=utf-8");
    for (tries = 0; tries <= MAX_409_RETRIES; tries++) {
        uint64_t old = w->known ? w->size : 0, got;
        size_t n = 0, off, i;
        long status = 0;
        CURLcode cc;

        if (old > wc->size) {
            log_warnx("witness client: '%s' has cosigned size %" PRIu64
                      ", larger than this log's %" PRIu64
                      ": the log was cut back?",
                w->url, old, wc->size);
            backoff(w);
            break;
        }
        if (make_proof(wc, old, wc->size, proof, &n) != 0) {
            backoff(w);
            break;
        }
        body = xreallocarray(body, 32 + n * 45 + wc->note_len, 1);
        off = (size_t)snprintf(body, 32, "old %" PRIu64 "\n", old);
        for (i = 0; i < n; i++) {
            sodium_bin2base64(body + off, 46, proof[i], MERKLE_HASH_BYTES,
                sodium_base64_VARIANT_ORIGINAL);
            off += 44;
            body[off++] = '\n';
        }
        body[off++] = '\n';
        memcpy(body + off, wc->note, wc->note_len);
        off += wc->note_len;

        r->len = 0;
        r->buf[0] = '\0';
        curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
        curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)off);
        curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, r);
        count(wc, &wc->stats.pushes);
        cc = curl_easy_perform(w->curl);
        if (cc != CURLE_OK) {
            log_warnx("witness client: '%s': %s (retry in %" PRIu64 " ms)",
                w->url, curl_easy_strerror(cc), w->backoff_ms);
            count(wc, &wc->stats.failures);
            backoff(w);
            break;
        }
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {
            if (take_cosignature(wc, w, r) == 0) {
                w->known = true;
                w->size = wc->size;
                w->backoff_ms = BACKOFF_MIN_MS;
                w->next_ms = 0;
                pthread_mutex_lock(&wc->mu);
                wc->stats.cosigned++;
                wc->cosigned[w - wc->w] = wc->size;
                pthread_mutex_unlock(&wc->mu);
                log_debug(
                    "witness '%s' cosigned size %" PRIu64, w->url, wc->size);
            } else {
                count(wc, &wc->stats.failures);
                backoff(w);
            }
            break;
        }
        if (status == 409 && parse_size(r->buf, &got) == 0) {
            count(wc, &wc->stats.conflicts);
            log_info("witness '%s' has size %" PRIu64 " (I sent %" PRIu64
                     "): retrying from there",
                w->url, got, old);
            w->known = true;
            w->size = got;
            if (got == wc->size) {
                /* It has this size already: nothing to send (if its root
                 * differed, the next checkpoint's proof fails loudly). */
                break;
            }
            continue;
        }
        count(wc, &wc->stats.failures);
        log_warnx("witness client: '%s' answered %ld%s to size %" PRIu64
                  " from %" PRIu64 "%s",
            w->url, status, status == 422 ? " (inconsistent)" : "", wc->size,
            old,
            status == 422 ? ": the witness holds a checkpoint this log does "
                            "not extend" :
                            "");
        w->known = false; /* ask again (old 0) next time */
        backoff(w);
        break;
    }
    curl_slist_free_all(hdr);
    free(body);
    free(r);
}

/* ------------------------------------------------------------ thread */

static void *
wclient_main(void *arg)
{
    struct wclient *wc = arg;

    for (;;) {
        uint8_t(*lv)[MERKLE_HASH_BYTES] = NULL;
        size_t nlv = 0, i;
        uint64_t first = 0, now, wake = UINT64_MAX, low;
        bool stopping, any = false;

        pthread_mutex_lock(&wc->mu);
        if (wc->in_n > 0) {
            lv = wc->in_leaves;
            nlv = wc->in_n;
            first = wc->in_first;
            wc->in_leaves = NULL;
            wc->in_n = wc->in_cap = 0;
        }
        if (wc->in_note != NULL) {
            free(wc->note);
            wc->note = wc->in_note;
            wc->note_len = wc->in_note_len;
            wc->size = wc->in_size;
            wc->in_note = NULL;
        }
        stopping = wc->quit;
        pthread_mutex_unlock(&wc->mu);
        if (wwindow_append(&wc->win, first,
                (const uint8_t(*)[MERKLE_HASH_BYTES])lv, nlv) != 0)
            log_warnx("witness client: leaves out of order at %" PRIu64
                      "; proofs will be read from the log",
                first);
        free(lv);

        now = clock_mono_ms();
        if (stopping && now >= wc->flush_until)
            break;
        for (i = 0; wc->note != NULL && i < wc->nw; i++) {
            struct witness *w = &wc->w[i];

            if (w->known && w->size == wc->size)
                continue;
            if (w->next_ms > now && !stopping) {
                wake = w->next_ms < wake ? w->next_ms : wake;
                continue;
            }
            if (stopping && w->next_ms > now && w->backoff_ms > BACKOFF_MIN_MS)
                continue; /* down before the stop: do not wait for it */
            push(wc, w);
            any = true;
            if (!(w->known && w->size == wc->size) && w->next_ms < wake)
                wake = w->next_ms;
        }
        /* Trim the window to what the slowest witness still needs. */
        low = wwindow_end(&wc->win);
        for (i = 0; i < wc->nw; i++) {
            uint64_t need = wc->w[i].known ? wc->w[i].size : 0;

            if (need < low)
                low = need;
        }
        if (wwindow_end(&wc->win) - low > WCLIENT_WINDOW)
            low = wwindow_end(&wc->win) - WCLIENT_WINDOW;
        wwindow_advance(&wc->win, low);

        if (stopping) {
            bool done = true;

            for (i = 0; wc->note != NULL && i < wc->nw; i++)
                done = done && wc->w[i].known && wc->w[i].size == wc->size;
            if (done || !any)
                break;
            continue;
        }
        pthread_mutex_lock(&wc->mu);
        if (wc->in_note == NULL && !wc->quit) {
            if (wake == UINT64_MAX) {
                pthread_cond_wait(&wc->cv, &wc->mu);
            } else {
                struct timespec ts;
                uint64_t ms =
                    wake > clock_mono_ms() ? wake - clock_mono_ms() : 0;

                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += (time_t)(ms / 1000);
                ts.tv_nsec += (long)(ms % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&wc->cv, &wc->mu, &ts);
            }
        }
        pthread_mutex_unlock(&wc->mu);
    }
    return NULL;
}

int
wclient_start(const char *spec, struct audit_log *log, const char *dir,
    const char *vkey, struct wclient **out, char *err, size_t errlen)
{
    struct wclient *wc;
    struct audit_observer obs;
    pthread_condattr_t ca;
    int n, rc;
    size_t i;

    *out = NULL;
    wc = xcalloc(1, sizeof(*wc));
    n = parse_spec(spec, wc->w, err, errlen);
    if (n <= 0) {
        free(wc);
        if (n == 0)
            text_fmt(err, errlen, "no witness configured");
        return ERR_INVAL;
    }
    wc->nw = (size_t)n;
    text_copy(wc->dir, sizeof(wc->dir), dir);
    text_copy(wc->vkey, sizeof(wc->vkey), vkey);
    rc = cosiglog_open(dir, &wc->fd);
    if (rc != 0) {
        text_fmt(err, errlen, "cannot open '%s/%s'", dir, COSIGLOG_FILE);
        free(wc);
        return ERR_IO;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        fatalx("curl_global_init failed");
    for (i = 0; i < wc->nw; i++) {
        struct witness *w = &wc->w[i];

        w->backoff_ms = BACKOFF_MIN_MS;
        w->curl = curl_easy_init();
        if (w->curl == NULL)
            fatalx("curl_easy_init failed");
        curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_MS);
        curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)REQUEST_MS);
        curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(
            w->curl, CURLOPT_USERAGENT, "vigil-scorer/" VIGIL_VERSION);
    }
    {
        struct merkle_frontier fr;

        audit_frontier(log, &fr);
        wwindow_init(&wc->win, &fr);
    }
    pthread_mutex_init(&wc->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wc->cv, &ca);
    pthread_condattr_destroy(&ca);
    obs.leaves = on_leaves;
    obs.checkpoint = on_checkpoint;
    obs.arg = wc;
    audit_log_set_observer(log, &obs);
    rc = pthread_create(&wc->thread, NULL, wclient_main, wc);
    if (rc != 0) {
        audit_log_set_observer(log, NULL);
        fatalx("cannot start the witness client thread: %s", strerror(rc));
    }
    log_info("witness client: %zu witness(es), cosignatures in '%s/%s'", wc->nw,
        dir, COSIGLOG_FILE);
    *out = wc;
    return 0;
}

void
wclient_stop(struct wclient *wc, struct audit_log *log, unsigned flush_ms)
{
    size_t i;

    if (wc == NULL)
        return;
    audit_log_set_observer(log, NULL);
    pthread_mutex_lock(&wc->mu);
    wc->quit = true;
    wc->flush_until = clock_mono_ms() + flush_ms;
    pthread_cond_signal(&wc->cv);
    pthread_mutex_unlock(&wc->mu);
    pthread_join(wc->thread, NULL);
    for (i = 0; i < wc->nw; i++)
        curl_easy_cleanup(wc->w[i].curl);
    curl_global_cleanup();
    if (wc->fd >= 0)
        close(wc->fd);
    pthread_cond_destroy(&wc->cv);
    pthread_mutex_destroy(&wc->mu);
    free(wc->in_leaves);
    free(wc->in_note);
    wwindow_release(&wc->win);
    free(wc->note);
    free(wc);
}

void
wclient_stats(struct wclient *wc, struct wclient_stats *out)
{
    size_t i;

    pthread_mutex_lock(&wc->mu);
    *out = wc->stats;
    out->witnesses = wc->nw;
    out->current = 0;
    out->min_size = wc->nw > 0 ? UINT64_MAX : 0;
    out->max_size = 0;
    for (i = 0; i < wc->nw; i++) {
        uint64_t n = wc->cosigned[i];

        out->current += n > 0 && n == wc->in_size;
        out->min_size = n < out->min_size ? n : out->min_size;
        out->max_size = n > out->max_size ? n : out->max_size;
    }
    pthread_mutex_unlock(&wc->mu);
}
