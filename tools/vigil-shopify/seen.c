/*
 * seen.c - the webhook ids already applied: a bounded, expiring,
 *          persistent set
 *
 * A ring of `capacity` slots mirrored one to one in the file, with an
 * open-addressing index (linear probing, backward-shift deletion) over
 * the keys, which are already uniform hashes. seen_has() runs on the
 * HTTP threads for every verified delivery, seen_add() on the uplink
 * thread for every acknowledged one: both are a few probes in memory.
 * The slots added are consecutive, so seen_sync(), once a second at most
 * (uplink.c), writes them with one pwrite and syncs: losing the last
 * second of adds only sends those repeats on to Vigil's own dedup.
 *
 * Invariants:
 *  - index[] holds pos + 1 for every occupied ring slot pos, exactly once.
 *  - exp[pos] == 0 exactly when slot pos is empty.
 *
 * See also: seen.h (the file format)
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "tools/vigil-shopify/seen.h"
#include "tools/vigil-shopify/shops.h"

#define SEEN_MAGIC    "VGSHSEEN"
#define SEEN_VERSION  1
#define SEEN_HDR      32
#define SEEN_REC      32
#define SEEN_IO_BATCH 4096 /* records read at once while loading */

struct seen {
    pthread_mutex_t mu;
    int fd;
    uint32_t cap;                    /* ring slots */
    uint64_t ttl;                    /* ms */
    uint8_t (*keys)[SEEN_KEY_BYTES]; /* cap, owned */
    uint64_t *exp;                   /* cap, owned; 0 = empty */
    uint32_t *index;                 /* mask + 1, owned; pos + 1 or 0 */
    uint32_t mask;
    uint32_t w;          /* next ring slot to write */
    uint32_t count;      /* occupied slots */
    uint32_t dirty_from; /* first ring slot added since the last sync */
    uint32_t ndirty;     /* slots added since then, not yet written */
    bool dirty;          /* written since the last sync */
    uint64_t evicted_live;
};

/* One loaded record. */
struct seen_rec {
    uint32_t pos;
    uint64_t exp;
    uint8_t key[SEEN_KEY_BYTES];
};

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void
put64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void
put32(uint8_t *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

void
seen_key(const char *kind, const char *shop, const char *id,
    uint8_t key[SEEN_KEY_BYTES])
{
    static const char domain[] = "vigil-shopify-seen";
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, SEEN_KEY_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
    crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
    crypto_generichash_update(&st, (const uint8_t *)shop, strlen(shop) + 1);
    crypto_generichash_update(&st, (const uint8_t *)id, strlen(id));
    crypto_generichash_final(&st, key, SEEN_KEY_BYTES);
}

/* The record bytes of (key, exp). */
static void
rec_encode(
    uint8_t rec[SEEN_REC], const uint8_t key[SEEN_KEY_BYTES], uint64_t exp)
{
    uint8_t check[8];

    memcpy(rec, key, SEEN_KEY_BYTES);
    put64(rec + 16, exp);
    crypto_generichash(check, sizeof(check), rec, 24, NULL, 0);
    memcpy(rec + 24, check, 8);
}

/* True when `rec` is a whole record (not empty, check matches). */
static bool
rec_valid(const uint8_t rec[SEEN_REC])
{
    uint8_t check[8];

    if (get64(rec + 16) == 0)
        return false;
    crypto_generichash(check, sizeof(check), rec, 24, NULL, 0);
    return memcmp(check, rec + 24, 8) == 0;
}

/* ------------------------------------------------------------ index */

static uint32_t
home(const struct seen *s, const uint8_t key[SEEN_KEY_BYTES])
{
    return (uint32_t)get64(key) & s->mask;
}

/* The index slot holding `key`, or UINT32_MAX. */
static uint32_t
idx_find(const struct seen *s, const uint8_t key[SEEN_KEY_BYTES])
{
    uint32_t i = home(s, key);

    while (s->index[i] != 0) {
        if (memcmp(s->keys[s->index[i] - 1], key, SEEN_KEY_BYTES) == 0)
            return i;
        i = (i + 1) & s->mask;
    }
    return UINT32_MAX;
}

static void
idx_insert(struct seen *s, uint32_t pos)
{
    uint32_t i = home(s, s->keys[pos]);

    while (s->index[i] != 0)
        i = (i + 1) & s->mask;
    s->index[i] = pos + 1;
}

/* Remove index slot i, shifting back the entries probing past it. */
static void
idx_remove_at(struct seen *s, uint32_t i)
{
    uint32_t j = i, k;

    for (;;) {
        j = (j + 1) & s->mask;
        if (s->index[j] == 0)
            break;
        k = home(s, s->keys[s->index[j] - 1]);
        /* Leave j where it is when its home lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        s->index[i] = s->index[j];
        i = j;
    }
    s->index[i] = 0;
}

/* Put (key, exp) in ring slot pos, replacing what was there. */
static void
ring_put(struct seen *s, uint32_t pos, const uint8_t key[SEEN_KEY_BYTES],
    uint64_t exp)
{
    uint32_t i;

    if (s->exp[pos] != 0) {
        i = idx_find(s, s->keys[pos]);
        if (i != UINT32_MAX)
            idx_remove_at(s, i);
        s->count--;
    }
    memcpy(s->keys[pos], key, SEEN_KEY_BYTES);
    s->exp[pos] = exp;
    idx_insert(s, pos);
    s->count++;
}

/* ------------------------------------------------------------- file */

static int
write_header(int fd, uint32_t cap)
{
    uint8_t hdr[SEEN_HDR];

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, SEEN_MAGIC, 8);
    put32(hdr + 8, SEEN_VERSION);
    put32(hdr + 12, SEEN_REC);
    put32(hdr + 16, cap);
    if (fileio_pwrite_all(fd, hdr, sizeof(hdr), 0) != 0)
        return ERR_IO;
    if (ftruncate(fd, (off_t)SEEN_HDR + (off_t)cap * SEEN_REC) != 0)
        return ERR_IO;
    return 0;
}

/* Open `path` read-write (creating it 0600), refusing a symbolic link,
 * anything but a regular file, and a file open to group or others. */
static int
open_checked(const char *path, int flags, char *err, size_t errlen)
{
    struct stat st;

    return shops_open_private(path, O_RDWR | O_CREAT | flags, &st, err, errlen);
}

static int
cmp_exp(const void *a, const void *b)
{
    const struct seen_rec *x = a, *y = b;

    return x->exp < y->exp ? -1 : x->exp > y->exp;
}

/*
 * Read every valid, unexpired record of `fd` (cap slots) into *recs
 * (caller frees) and their number into *n.
 */
static int
load_records(int fd, uint32_t cap, uint64_t now_ms, struct seen_rec **recs,
    size_t *n, char *err, size_t errlen, const char *path)
{
    uint8_t *chunk = xmalloc((size_t)SEEN_IO_BATCH * SEEN_REC);
    struct seen_rec *r = NULL;
    size_t have = 0, alloc = 0;
    uint32_t pos = 0, k, m;
    ssize_t got;

    while (pos < cap) {
        m = cap - pos < SEEN_IO_BATCH ? cap - pos : SEEN_IO_BATCH;
        got = fileio_pread_full(fd, chunk, (size_t)m * SEEN_REC,
            SEEN_HDR + (uint64_t)pos * SEEN_REC);
        if (got < 0) {
            snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
            free(chunk);
            free(r);
            return ERR_IO;
        }
        m = (uint32_t)((size_t)got / SEEN_REC);
        for (k = 0; k < m; k++) {
            const uint8_t *rec = chunk + (size_t)k * SEEN_REC;

            if (!rec_valid(rec) || get64(rec + 16) <= now_ms)
                continue;
            if (have == alloc) {
                alloc = alloc == 0 ? 1024 : alloc * 2;
                r = xreallocarray(r, alloc, sizeof(*r));
            }
            r[have].pos = pos + k;
            r[have].exp = get64(rec + 16);
            memcpy(r[have].key, rec, SEEN_KEY_BYTES);
            have++;
        }
        if ((size_t)got < (size_t)m * SEEN_REC || m == 0)
            break; /* a short file: the rest is empty */
        pos += m;
    }
    free(chunk);
    *recs = r;
    *n = have;
    return 0;
}

/* Write recs[0..n) into a new file of `cap` slots at slots 0..n-1 and
 * move it over `path`; *fd becomes the new file. */
static int
rewrite(const char *path, uint32_t cap, const struct seen_rec *recs, size_t n,
    int *fd, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    uint8_t rec[SEEN_REC];
    size_t i;
    int nfd, rc;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return ERR_INVAL;
    }
    (void)unlink(tmp);
    nfd = open_checked(tmp, O_EXCL, err, errlen);
    if (nfd < 0)
        return nfd;
    rc = write_header(nfd, cap);
    for (i = 0; rc == 0 && i < n; i++) {
        rec_encode(rec, recs[i].key, recs[i].exp);
        if (fileio_pwrite_all(
                nfd, rec, sizeof(rec), SEEN_HDR + (uint64_t)i * SEEN_REC) != 0)
            rc = ERR_IO;
    }
    if (rc == 0 && fsync(nfd) != 0)
        rc = ERR_IO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ERR_IO;
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot rewrite: %s", path, strerror(errno));
        close(nfd);
        (void)unlink(tmp);
        return rc;
    }
    close(*fd);
    *fd = nfd;
    return 0;
}

int
seen_open(const char *path, uint32_t capacity, uint64_t ttl_ms, uint64_t now_ms,
    struct seen **out, char *err, size_t errlen)
{
    struct seen_rec *recs = NULL;
    struct seen *s;
    struct stat st;
    uint8_t hdr[SEEN_HDR];
    uint32_t file_cap, slots, newest = 0;
    uint64_t max_exp = 0;
    size_t n = 0, i, skip;
    int fd, rc;

    *out = NULL;
    if (capacity == 0 || capacity > SEEN_MAX_ENTRIES || ttl_ms == 0) {
        snprintf(err, errlen, "%s: capacity or ttl out of range", path);
        return ERR_INVAL;
    }
    fd = open_checked(path, 0, err, errlen);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) != 0) {
        rc = ERR_IO;
        snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size == 0) {
        rc = write_header(fd, capacity);
        if (rc != 0) {
            snprintf(
                err, errlen, "%s: cannot write: %s", path, strerror(errno));
            goto fail;
        }
        file_cap = capacity;
    } else {
        if (fileio_pread_full(fd, hdr, sizeof(hdr), 0) !=
                (ssize_t)sizeof(hdr) ||
            memcmp(hdr, SEEN_MAGIC, 8) != 0 || get32(hdr + 8) != SEEN_VERSION ||
            get32(hdr + 12) != SEEN_REC || get32(hdr + 16) == 0 ||
            get32(hdr + 16) > SEEN_MAX_ENTRIES) {
            snprintf(err, errlen,
                "%s: not a vigil-shopify dedup file (move it away to start "
                "afresh)",
                path);
            rc = ERR_CORRUPT;
            goto fail;
        }
        file_cap = get32(hdr + 16);
        rc = load_records(fd, file_cap, now_ms, &recs, &n, err, errlen, path);
        if (rc != 0)
            goto fail;
    }

    s = xcalloc(1, sizeof(*s));
    s->cap = capacity;
    s->ttl = ttl_ms;
    s->keys = xcalloc(capacity, SEEN_KEY_BYTES);
    s->exp = xcalloc(capacity, sizeof(*s->exp));
    for (slots = 2; slots < 2 * (uint64_t)capacity && slots < (1u << 30);)
        slots *= 2;
    s->mask = slots - 1;
    s->index = xcalloc(slots, sizeof(*s->index));
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        fatalx("%s: pthread_mutex_init failed", __func__);

    if (file_cap == capacity) {
        for (i = 0; i < n; i++) {
            ring_put(s, recs[i].pos, recs[i].key, recs[i].exp);
            if (recs[i].exp >= max_exp) {
                max_exp = recs[i].exp;
                newest = recs[i].pos;
            }
        }
        s->w = n > 0 ? (newest + 1) % capacity : 0;
    } else {
        /* Another capacity: keep the newest entries that fit. */
        if (n > 0)
            qsort(recs, n, sizeof(*recs), cmp_exp);
        skip = n > capacity ? n - capacity : 0;
        rc = rewrite(path, capacity, recs + skip, n - skip, &fd, err, errlen);
        if (rc != 0) {
            s->fd = -1;
            seen_close(s);
            goto fail;
        }
        for (i = skip; i < n; i++)
            ring_put(s, (uint32_t)(i - skip), recs[i].key, recs[i].exp);
        s->w = (uint32_t)((n - skip) % capacity);
        log_info("dedup file '%s' rewritten for %u entries (was %u)", path,
            capacity, file_cap);
    }
    free(recs);
    s->fd = fd;
    *out = s;
    return 0;
fail:
    free(recs);
    close(fd);
    return rc;
}

bool
seen_has(struct seen *s, const uint8_t key[SEEN_KEY_BYTES], uint64_t now_ms)
{
    uint32_t i;
    bool found;

    pthread_mutex_lock(&s->mu);
    i = idx_find(s, key);
    found = i != UINT32_MAX && s->exp[s->index[i] - 1] > now_ms;
    pthread_mutex_unlock(&s->mu);
    return found;
}

int
seen_add(struct seen *s, const uint8_t key[SEEN_KEY_BYTES], uint64_t now_ms)
{
    uint8_t rec[SEEN_REC];
    uint64_t exp = now_ms + s->ttl;
    uint32_t i, pos;
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    i = idx_find(s, key);
    if (i != UINT32_MAX) {
        pos = s->index[i] - 1;
        if (s->exp[pos] > now_ms)
            goto out;
        /* Expired: renew it in its own slot, written now (rare). */
        s->exp[pos] = exp;
        rec_encode(rec, key, exp);
        if (fileio_pwrite_all(s->fd, rec, sizeof(rec),
                SEEN_HDR + (uint64_t)pos * SEEN_REC) != 0) {
            log_warn("%s: cannot write the dedup file", __func__);
            rc = ERR_IO;
        }
        s->dirty = true;
        goto out;
    }
    pos = s->w;
    if (s->exp[pos] > now_ms)
        s->evicted_live++;
    ring_put(s, pos, key, exp);
    s->w = (pos + 1) % s->cap;
    /* Appends are consecutive slots: seen_sync() writes them at once. */
    if (s->ndirty == 0)
        s->dirty_from = pos;
    if (s->ndirty < s->cap)
        s->ndirty++;
    else
        s->dirty_from = s->w; /* the whole ring: oldest first */
    s->dirty = true;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Write n slots from ring slot `from` (wrapping) out of buf. */
static int
write_slots(int fd, uint32_t cap, uint32_t from, uint32_t n, const uint8_t *buf)
{
    uint32_t first = cap - from < n ? cap - from : n;

    if (fileio_pwrite_all(fd, buf, (size_t)first * SEEN_REC,
            SEEN_HDR + (uint64_t)from * SEEN_REC) != 0)
        return ERR_IO;
    if (n > first &&
        fileio_pwrite_all(fd, buf + (size_t)first * SEEN_REC,
            (size_t)(n - first) * SEEN_REC, SEEN_HDR) != 0)
        return ERR_IO;
    return 0;
}

int
seen_sync(struct seen *s)
{
    uint8_t *buf = NULL;
    uint32_t from, n, k, pos;
    bool dirty;
    int fd, rc = 0;

    pthread_mutex_lock(&s->mu);
    dirty = s->dirty;
    s->dirty = false;
    fd = s->fd;
    from = s->dirty_from;
    n = s->ndirty;
    s->ndirty = 0;
    if (n > 0) {
        /* Encode under the lock (a consistent copy), write after. */
        buf = xmalloc((size_t)n * SEEN_REC);
        for (k = 0; k < n; k++) {
            pos = (from + k) % s->cap;
            rec_encode(buf + (size_t)k * SEEN_REC, s->keys[pos], s->exp[pos]);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!dirty || fd < 0)
        goto out;
    if (n > 0 && write_slots(fd, s->cap, from, n, buf) != 0) {
        log_warn("%s: cannot write the dedup file", __func__);
        rc = ERR_IO;
    } else if (fdatasync(fd) != 0) {
        log_warn("%s: cannot sync the dedup file", __func__);
        rc = ERR_IO;
    }
out:
    free(buf);
    return rc;
}

void
seen_stats(struct seen *s, struct seen_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->count = s->count;
    out->evicted_live = s->evicted_live;
    pthread_mutex_unlock(&s->mu);
}

void
seen_close(struct seen *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0) {
        /* A failed sync was logged; the entries are a cache anyway. */
        if (seen_sync(s) != 0)
            log_debug("%s: closing after a failed sync", __func__);
        close(s->fd);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->index);
    free(s->exp);
    free(s->keys);
    free(s);
}
