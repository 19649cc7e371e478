/*
 * vault.c - per-subject salts and tokens (see vault.h for the design
 *           and the file format)
 *
 * The scorer's main thread tokenizes every event through here (a few
 * hash probes per event; a new subject costs 32 bytes of a pooled
 * random block and one BLAKE2b; its slot is written with the other new
 * ones in one pwrite before the next LMDB commit), and the flusher
 * thread calls vault_sync_file() before each LMDB commit. Entries mirror the
 * file's slots one to one (entry i is slot i); two open-addressing hash tables
 * (linear probing, power-of-two size, at most half full, backward-shift
 * deletion) find an entry by pseudonym and by token. Pseudonyms and
 * tokens are keyed hashes, so their first 8 bytes are a fine hash.
 *
 * Invariants:
 *  - ents[i] is in use iff ents[i].live; a free entry is all zero; the
 *    free stack lists exactly the free entries below nents.
 *  - memory that held salts is wiped before it is freed (growing copies
 *    into a new block and wipes the old one).
 *
 * See also: vault.h, common/crc32c.h, common/fileio.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "scorer/vault.h"

#define VAULT_VERSION      1
#define VAULT_HEADER       VAULT_SLOT_BYTES
#define VAULT_READ_SLOTS   4096 /* slots read per read() at open */
#define VAULT_MIN_INDEX    1024 /* slots of an index, at least */
#define VAULT_MAX_ENTRIES  (UINT32_MAX / 4)
#define VAULT_RANDOM_BYTES 1024 /* salts drawn from the OS at once */
#define VAULT_WRITE_SLOTS  256  /* slots written per pwrite at most */

_Static_assert(PSEUDO_BYTES == 16, "slot layout assumes 16-byte pseudonyms");

/* One subject, in memory (the slot's fields). */
struct vault_ent {
    uint8_t p[PSEUDO_BYTES];
    uint8_t salt[VAULT_SALT_BYTES];
    uint8_t t[PSEUDO_BYTES];
    uint8_t kind;
    uint8_t live;
};

/* An index: entry number + 1 per slot, 0 = empty. */
struct vault_index {
    uint32_t *slot;
    size_t cap; /* a power of two */
};

struct vault {
    char *path; /* for log lines */
    int fd;
    struct vault_ent *ents; /* entry i == file slot i */
    size_t nents;           /* slots in the file */
    size_t cap;             /* of ents */
    size_t live;            /* in use */
    uint32_t *freed;        /* free entries below nents (a stack) */
    size_t nfreed, capfreed;
    struct vault_index by_p, by_t;
    uint64_t damaged;
    uint32_t *dirty; /* entries added since the last vault_write() */
    size_t ndirty, capdirty;
    uint8_t rnd[VAULT_RANDOM_BYTES]; /* random bytes for salts; used ones
                                        are wiped */
    size_t rnd_off;                  /* first unused byte of rnd */
};

static const char *const kind_names[VAULT_KIND_COUNT] = { "", "account",
    "order", "device", "ip", "ip24", "email", "phone", "name", "card",
    "address", "value", "ip16" };

const char *
vault_kind_name(enum vault_kind k)
{
    if ((unsigned)k >= VAULT_KIND_COUNT)
        return "";
    return kind_names[k];
}

/* ------------------------------------------------------------ helpers */

static uint64_t
hash16(const uint8_t *b)
{
    uint64_t h;

    memcpy(&h, b, sizeof(h));
    return h;
}

static void
token_of(const uint8_t salt[VAULT_SALT_BYTES], const uint8_t p[PSEUDO_BYTES],
    uint8_t out[PSEUDO_BYTES])
{
    crypto_generichash(
        out, PSEUDO_BYTES, p, PSEUDO_BYTES, salt, VAULT_SALT_BYTES);
}

static void
slot_encode(const struct vault_ent *e, uint8_t out[VAULT_SLOT_BYTES])
{
    memset(out, 0, VAULT_SLOT_BYTES);
    out[4] = 1;
    out[5] = e->kind;
    memcpy(out + 8, e->p, PSEUDO_BYTES);
    memcpy(out + 24, e->salt, VAULT_SALT_BYTES);
    memcpy(out + 40, e->t, PSEUDO_BYTES);
    bytes_put_le32(out, crc32c(0, out + 4, VAULT_SLOT_BYTES - 4));
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/*
 * Decode a slot: 1 in use (into *e), 0 free, -1 damaged. The token is
 * taken as stored: the CRC covers it with the salt and the pseudonym it
 * is computed from, and a writer who can fix a CRC can recompute a
 * token as well, so hashing every slot again at open (half of the
 * open's cost, which start-up after a crash waits for: issue 12) bought
 * nothing.
 */
static int
slot_decode(const uint8_t in[VAULT_SLOT_BYTES], struct vault_ent *e)
{
    memset(e, 0, sizeof(*e));
    if (all_zero(in, VAULT_SLOT_BYTES))
        return 0;
    if (bytes_get_le32(in) != crc32c(0, in + 4, VAULT_SLOT_BYTES - 4) ||
        in[4] != 1 || in[5] == VAULT_KIND_NONE || in[5] >= VAULT_KIND_COUNT ||
        in[6] != 0 || in[7] != 0 || !all_zero(in + 56, 8))
        return -1;
    memcpy(e->p, in + 8, PSEUDO_BYTES);
    memcpy(e->salt, in + 24, VAULT_SALT_BYTES);
    memcpy(e->t, in + 40, PSEUDO_BYTES);
    e->kind = in[5];
    e->live = 1;
    return 1;
}

/* ------------------------------------------------------------ indexes */

static void
index_init(struct vault_index *x, size_t cap)
{
    x->cap = cap;
    x->slot = xcalloc(cap, sizeof(*x->slot));
}

static const uint8_t *
ent_key(const struct vault *v, uint32_t i, bool by_token)
{
    return by_token ? v->ents[i].t : v->ents[i].p;
}

/* Find `key` in x; its position (and *found) or the empty one ending
 * the probe. */
static size_t
index_probe(const struct vault *v, const struct vault_index *x,
    const uint8_t *key, bool by_token, bool *found)
{
    size_t mask = x->cap - 1, i = (size_t)hash16(key) & mask;

    for (;;) {
        uint32_t s = x->slot[i];

        if (s == 0) {
            *found = false;
            return i;
        }
        if (memcmp(ent_key(v, s - 1, by_token), key, PSEUDO_BYTES) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void
index_add(struct vault *v, struct vault_index *x, uint32_t ent, bool by_token)
{
    bool found;
    size_t i = index_probe(v, x, ent_key(v, ent, by_token), by_token, &found);

    x->slot[i] = ent + 1;
}

/* Remove position i, shifting back the entries of its probe run. */
static void
index_del_at(
    const struct vault *v, struct vault_index *x, size_t i, bool by_token)
{
    size_t mask = x->cap - 1, j = i;

    x->slot[i] = 0;
    for (;;) {
        size_t home;
        uint32_t s;

        j = (j + 1) & mask;
        s = x->slot[j];
        if (s == 0)
            return;
        home = (size_t)hash16(ent_key(v, s - 1, by_token)) & mask;
        /* Move s back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) ||
            (j < i && (home <= i && home > j))) {
            x->slot[i] = s;
            x->slot[j] = 0;
            i = j;
        }
    }
}

/* Empty both indexes, sized for `want` live entries. */
static void
index_alloc(struct vault *v, size_t want)
{
    size_t cap = VAULT_MIN_INDEX;

    while (want * 2 > cap)
        cap *= 2;
    free(v->by_p.slot);
    free(v->by_t.slot);
    index_init(&v->by_p, cap);
    index_init(&v->by_t, cap);
}

/* Make both indexes large enough for `want` live entries. */
static void
index_reserve(struct vault *v, size_t want)
{
    if (want * 2 <= v->by_p.cap)
        return;
    index_alloc(v, want);
    for (size_t i = 0; i < v->nents; i++) {
        if (!v->ents[i].live)
            continue;
        index_add(v, &v->by_p, (uint32_t)i, false);
        index_add(v, &v->by_t, (uint32_t)i, true);
    }
}

/* ------------------------------------------------------------ entries */

/* Grow ents to hold `want`, wiping the old block (it holds salts). */
static void
ents_reserve(struct vault *v, size_t want)
{
    struct vault_ent *n;
    size_t cap = v->cap ? v->cap : 1024;

    if (want <= v->cap)
        return;
    while (cap < want)
        cap *= 2;
    n = xcalloc(cap, sizeof(*n));
    if (v->ents != NULL) {
        memcpy(n, v->ents, v->nents * sizeof(*n));
        sodium_memzero(v->ents, v->cap * sizeof(*v->ents));
        free(v->ents);
    }
    v->ents = n;
    v->cap = cap;
}

static void
freed_push(struct vault *v, uint32_t i)
{
    if (v->nfreed == v->capfreed) {
        v->capfreed = v->capfreed ? v->capfreed * 2 : 64;
        v->freed = xreallocarray(v->freed, v->capfreed, sizeof(*v->freed));
    }
    v->freed[v->nfreed++] = i;
}

/*
 * A fresh random salt: the OS is asked for VAULT_RANDOM_BYTES at a time
 * (one getrandom per 64 salts instead of one per salt); each salt's
 * bytes are wiped from the pool as it is handed out.
 */
static void
salt_new(struct vault *v, uint8_t salt[VAULT_SALT_BYTES])
{
    if (v->rnd_off + VAULT_SALT_BYTES > sizeof(v->rnd)) {
        randombytes_buf(v->rnd, sizeof(v->rnd));
        v->rnd_off = 0;
    }
    memcpy(salt, v->rnd + v->rnd_off, VAULT_SALT_BYTES);
    sodium_memzero(v->rnd + v->rnd_off, VAULT_SALT_BYTES);
    v->rnd_off += VAULT_SALT_BYTES;
}

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return (x > y) - (x < y);
}

int
vault_write(struct vault *v)
{
    uint8_t buf[VAULT_WRITE_SLOTS * VAULT_SLOT_BYTES];
    size_t i = 0, done = 0;
    int rc = 0;

    if (v->ndirty > 1)
        qsort(v->dirty, v->ndirty, sizeof(*v->dirty), u32_cmp);
    while (i < v->ndirty) {
        uint32_t first = v->dirty[i];
        size_t n = 0;

        /* One run of consecutive slots (a slot listed twice once). */
        while (i < v->ndirty && n < VAULT_WRITE_SLOTS &&
            v->dirty[i] <= first + n) {
            uint32_t k = v->dirty[i++];

            if (k < first + n)
                continue;
            if (v->ents[k].live)
                slot_encode(&v->ents[k], buf + n * VAULT_SLOT_BYTES);
            else /* erased since: vault_erase() wrote its zeros */
                memset(buf + n * VAULT_SLOT_BYTES, 0, VAULT_SLOT_BYTES);
            n++;
        }
        rc = fileio_pwrite_all(v->fd, buf, n * VAULT_SLOT_BYTES,
            (uint64_t)VAULT_HEADER + (uint64_t)first * VAULT_SLOT_BYTES);
        if (rc != 0) {
            log_warn("%s: cannot write %zu slots from %" PRIu32 " of '%s'",
                __func__, n, first, v->path);
            break;
        }
        done = i;
    }
    sodium_memzero(buf, sizeof(buf));
    /* The slots not written stay listed for the next call. */
    if (done > 0 && done < v->ndirty)
        memmove(
            v->dirty, v->dirty + done, (v->ndirty - done) * sizeof(*v->dirty));
    v->ndirty -= done;
    return rc;
}

static int
slot_write(struct vault *v, uint32_t i, const uint8_t buf[VAULT_SLOT_BYTES])
{
    int rc = fileio_pwrite_all(v->fd, buf, VAULT_SLOT_BYTES,
        (uint64_t)VAULT_HEADER + (uint64_t)i * VAULT_SLOT_BYTES);

    if (rc != 0)
        log_warn(
            "%s: cannot write slot %" PRIu32 " of '%s'", __func__, i, v->path);
    return rc;
}

/*
 * Add the subject (p, salt, kind): the free entry on top of the stack
 * (the lowest after open, then the latest erased), else a new one at
 * the end; its slot is listed for the next vault_write(). Returns 0 or
 * ERR_FULL (nothing added).
 */
static int
ent_add(struct vault *v, const uint8_t p[PSEUDO_BYTES],
    const uint8_t salt[VAULT_SALT_BYTES], enum vault_kind kind)
{
    struct vault_ent *e;
    bool fresh = v->nfreed == 0;
    uint32_t i;

    if (fresh && v->nents >= VAULT_MAX_ENTRIES)
        return ERR_FULL;
    index_reserve(v, v->live + 1);
    if (fresh) {
        ents_reserve(v, v->nents + 1);
        i = (uint32_t)v->nents;
    } else {
        i = v->freed[v->nfreed - 1];
    }
    e = &v->ents[i];
    memcpy(e->p, p, PSEUDO_BYTES);
    memcpy(e->salt, salt, VAULT_SALT_BYTES);
    token_of(e->salt, e->p, e->t);
    e->kind = (uint8_t)kind;
    e->live = 1;
    /* Written by the next vault_write(), in one pwrite with its
     * neighbours. */
    if (v->ndirty == v->capdirty) {
        v->capdirty = v->capdirty ? 2 * v->capdirty : 256;
        v->dirty = xreallocarray(v->dirty, v->capdirty, sizeof(*v->dirty));
    }
    v->dirty[v->ndirty++] = i;
    if (fresh)
        v->nents++;
    else
        v->nfreed--;
    v->live++;
    index_add(v, &v->by_p, i, false);
    index_add(v, &v->by_t, i, true);
    return 0;
}

static int
find(const struct vault *v, const uint8_t *key, bool by_token, uint32_t *ent)
{
    const struct vault_index *x = by_token ? &v->by_t : &v->by_p;
    bool found;
    size_t i = index_probe(v, x, key, by_token, &found);

    if (!found)
        return ERR_NOTFOUND;
    *ent = x->slot[i] - 1;
    return 0;
}

/* --------------------------------------------------------- open/close */

/* The file's first 8 bytes (not a C string: no terminator is stored). */
static const uint8_t vault_magic[8] = { 'V', 'I', 'G', 'I', 'L', 'V', 'L',
    'T' };

static int
header_write(int fd)
{
    uint8_t h[VAULT_HEADER];

    memset(h, 0, sizeof(h));
    memcpy(h, vault_magic, sizeof(vault_magic));
    bytes_put_le32(h + 8, VAULT_VERSION);
    bytes_put_le32(h + 12, VAULT_SLOT_BYTES);
    bytes_put_le32(h + 60, crc32c(0, h, 60));
    return fileio_pwrite_all(fd, h, sizeof(h), 0);
}

static bool
header_ok(const uint8_t h[VAULT_HEADER])
{
    return memcmp(h, vault_magic, sizeof(vault_magic)) == 0 &&
        bytes_get_le32(h + 8) == VAULT_VERSION &&
        bytes_get_le32(h + 12) == VAULT_SLOT_BYTES && all_zero(h + 16, 44) &&
        bytes_get_le32(h + 60) == crc32c(0, h, 60);
}

/* Create `path` with its header, durable with its directory entry. */
static int
vault_create(const char *path, int *fdp)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    const char *dname = ".";
    int fd, dfd, rc;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        rc = fileio_error(errno);
        log_warn("%s: cannot create '%s'", __func__, path);
        free(dir);
        return rc;
    }
    rc = header_write(fd);
    if (rc == 0 && fsync(fd) == -1)
        rc = fileio_error(errno);
    if (slash == dir) {
        dname = "/";
    } else if (slash != NULL) {
        *slash = '\0';
        dname = dir;
    }
    dfd = open(dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rc == 0 && (dfd == -1 || fsync(dfd) == -1))
        rc = ERR_IO;
    if (dfd != -1)
        close(dfd);
    free(dir);
    if (rc != 0) {
        log_warn("%s: cannot make '%s' durable", __func__, path);
        close(fd);
        (void)unlink(path);
        return rc;
    }
    *fdp = fd;
    return 0;
}

/* Read every slot of an open vault file into `v`. */
static int
vault_load(struct vault *v, uint64_t size)
{
    uint8_t *buf = xmalloc((size_t)VAULT_READ_SLOTS * VAULT_SLOT_BYTES);
    uint64_t nslots = (size - VAULT_HEADER) / VAULT_SLOT_BYTES, done = 0;
    int rc = 0;

    if (nslots > VAULT_MAX_ENTRIES) {
        free(buf);
        return ERR_CORRUPT;
    }
    ents_reserve(v, (size_t)nslots);
    while (done < nslots) {
        size_t n = nslots - done > VAULT_READ_SLOTS ? VAULT_READ_SLOTS :
                                                      (size_t)(nslots - done);
        ssize_t got = fileio_pread_full(v->fd, buf, n * VAULT_SLOT_BYTES,
            VAULT_HEADER + done * VAULT_SLOT_BYTES);

        if (got != (ssize_t)(n * VAULT_SLOT_BYTES)) {
            log_warn("%s: cannot read '%s'", __func__, v->path);
            rc = ERR_IO;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            uint32_t i = (uint32_t)(done + k);
            int d = slot_decode(buf + k * VAULT_SLOT_BYTES, &v->ents[i]);

            if (d < 0)
                v->damaged++;
            if (d <= 0)
                continue;
            v->live++;
        }
        done += n;
    }
    sodium_memzero(buf, (size_t)VAULT_READ_SLOTS * VAULT_SLOT_BYTES);
    free(buf);
    if (rc != 0)
        return rc;
    v->nents = (size_t)nslots;
    for (size_t i = v->nents; i-- > 0;)
        if (!v->ents[i].live)
            freed_push(v, (uint32_t)i);
    index_alloc(v, v->live);
    for (size_t i = 0; i < v->nents; i++) {
        bool dup;
        size_t at;

        if (!v->ents[i].live)
            continue;
        /* One probe finds a duplicate or the place to add it. */
        at = index_probe(v, &v->by_p, v->ents[i].p, false, &dup);
        if (dup) {
            log_warnx("%s: '%s' holds one pseudonym twice (slot %zu)", __func__,
                v->path, i);
            return ERR_CORRUPT;
        }
        v->by_p.slot[at] = (uint32_t)i + 1;
        index_add(v, &v->by_t, (uint32_t)i, true);
    }
    if (v->damaged > 0)
        log_warnx("%s: %" PRIu64 " damaged slot(s) in '%s' treated as "
                  "free: their subjects' earlier records cannot be "
                  "reported any more",
            __func__, v->damaged, v->path);
    return 0;
}

int
vault_open(const char *path, bool create, struct vault **out)
{
    uint8_t h[VAULT_HEADER];
    struct vault *v;
    struct stat st;
    uint64_t tail;
    int fd, rc;

    *out = NULL;
    v = xcalloc(1, sizeof(*v));
    v->path = xstrdup(path);
    v->fd = -1;
    v->rnd_off = sizeof(v->rnd); /* empty: the first salt fills it */
    index_init(&v->by_p, VAULT_MIN_INDEX);
    index_init(&v->by_t, VAULT_MIN_INDEX);
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (!create) {
            rc = ERR_NOTFOUND;
            goto fail;
        }
        rc = vault_create(path, &fd);
        if (rc != 0)
            goto fail;
    }
    if (fd < 0) {
        log_warn("%s: cannot open '%s'", __func__, path);
        rc = ERR_IO;
        goto fail;
    }
    v->fd = fd;
    if (fstat(v->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        log_warnx("%s: '%s' is not a regular file", __func__, path);
        rc = ERR_IO;
        goto fail;
    }
    if (fileio_pread_full(v->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        !header_ok(h)) {
        log_warnx(
            "%s: '%s' is not a subject vault (bad header)", __func__, path);
        rc = ERR_CORRUPT;
        goto fail;
    }
    /* A crash can leave part of a slot appended at the end: it never
     * held a synced subject (the slot write is the first write of it),
     * and the journal still holds its salt. */
    tail = ((uint64_t)st.st_size - VAULT_HEADER) % VAULT_SLOT_BYTES;
    if (tail != 0) {
        log_warnx("%s: cutting a torn slot of %" PRIu64 " bytes off '%s'",
            __func__, tail, path);
        if (ftruncate(v->fd, st.st_size - (off_t)tail) == -1 ||
            fdatasync(v->fd) == -1) {
            log_warn("%s: cannot cut '%s'", __func__, path);
            rc = ERR_IO;
            goto fail;
        }
    }
    rc = vault_load(v, (uint64_t)st.st_size - tail);
    if (rc != 0)
        goto fail;
    *out = v;
    return 0;
fail:
    vault_close(v);
    return rc;
}

void
vault_close(struct vault *v)
{
    if (v == NULL)
        return;
    /* Best effort: the journal holds the salts of unwritten slots. */
    if (v->fd != -1 && v->ndirty > 0 && vault_write(v) != 0)
        log_warnx("%s: '%s': slots left to the journal", __func__, v->path);
    if (v->fd != -1)
        close(v->fd);
    if (v->ents != NULL) {
        sodium_memzero(v->ents, v->cap * sizeof(*v->ents));
        free(v->ents);
    }
    sodium_memzero(v->rnd, sizeof(v->rnd));
    free(v->dirty);
    free(v->freed);
    free(v->by_p.slot);
    free(v->by_t.slot);
    free(v->path);
    free(v);
}

size_t
vault_count(const struct vault *v)
{
    return v->live;
}

uint64_t
vault_damaged(const struct vault *v)
{
    return v->damaged;
}

/* ------------------------------------------------------------ lookups */

int
vault_token(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    bool create, struct pseudo *token, bool *created)
{
    uint8_t salt[VAULT_SALT_BYTES];
    uint32_t i;
    int rc;

    if (created != NULL)
        *created = false;
    if (find(v, p->b, false, &i) == 0) {
        memcpy(token->b, v->ents[i].t, PSEUDO_BYTES);
        return 0;
    }
    if (!create)
        return ERR_NOTFOUND;
    salt_new(v, salt);
    rc = ent_add(v, p->b, salt, kind);
    sodium_memzero(salt, sizeof(salt));
    if (rc != 0)
        return rc;
    rc = find(v, p->b, false, &i);
    if (rc != 0)
        fatalx("%s: invariant: a subject just added is missing", __func__);
    memcpy(token->b, v->ents[i].t, PSEUDO_BYTES);
    if (created != NULL)
        *created = true;
    return 0;
}

int
vault_lookup_token(const struct vault *v, const struct pseudo *token,
    struct pseudo *p, enum vault_kind *kind)
{
    uint32_t i;
    int rc = find(v, token->b, true, &i);

    if (rc != 0)
        return rc;
    if (p != NULL)
        memcpy(p->b, v->ents[i].p, PSEUDO_BYTES);
    if (kind != NULL)
        *kind = (enum vault_kind)v->ents[i].kind;
    return 0;
}

int
vault_salt(const struct vault *v, const struct pseudo *p,
    uint8_t salt[VAULT_SALT_BYTES], enum vault_kind *kind)
{
    uint32_t i;
    int rc = find(v, p->b, false, &i);

    if (rc != 0)
        return rc;
    memcpy(salt, v->ents[i].salt, VAULT_SALT_BYTES);
    *kind = (enum vault_kind)v->ents[i].kind;
    return 0;
}

int
vault_restore(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    const uint8_t salt[VAULT_SALT_BYTES])
{
    uint32_t i;

    if ((unsigned)kind == VAULT_KIND_NONE || (unsigned)kind >= VAULT_KIND_COUNT)
        return ERR_CORRUPT;
    if (find(v, p->b, false, &i) == 0) {
        if (sodium_memcmp(v->ents[i].salt, salt, VAULT_SALT_BYTES) == 0)
            return 0;
        log_warnx("%s: the journal and '%s' hold different salts for one "
                  "subject (slot %" PRIu32 ")",
            __func__, v->path, i);
        return ERR_CORRUPT;
    }
    return ent_add(v, p->b, salt, kind);
}

int
vault_erase(struct vault *v, const struct pseudo *token)
{
    static const uint8_t zero[VAULT_SLOT_BYTES];
    bool found;
    uint32_t i;
    size_t at;
    int rc;

    at = index_probe(v, &v->by_t, token->b, true, &found);
    if (!found)
        return ERR_NOTFOUND;
    i = v->by_t.slot[at] - 1;
    rc = slot_write(v, i, zero);
    if (rc != 0)
        return rc;
    index_del_at(v, &v->by_t, at, true);
    at = index_probe(v, &v->by_p, v->ents[i].p, false, &found);
    if (!found)
        fatalx("%s: invariant: indexes disagree", __func__);
    index_del_at(v, &v->by_p, at, false);
    sodium_memzero(&v->ents[i], sizeof(v->ents[i]));
    v->live--;
    freed_push(v, i);
    return 0;
}

int
vault_sync(struct vault *v)
{
    int rc = vault_write(v);

    if (rc != 0)
        return rc;
    return vault_sync_file(v);
}

int
vault_sync_file(struct vault *v)
{
    if (fdatasync(v->fd) == -1) {
        log_warn("%s: fdatasync of '%s' failed", __func__, v->path);
        return ERR_IO;
    }
    return 0;
}

/* --------------------------------------------------------- tokenizing */

int
vault_tokenize(struct vault *v, const struct event *ev, bool create,
    struct event *out, uint32_t *named, struct vault_made *made)
{
    static const struct {
        uint32_t has;
        size_t off; /* of the struct pseudo in struct event */
        enum vault_kind kind;
    } fields[VAULT_EVENT_SUBJECTS] = {
        { EVENT_HAS_ACCOUNT, offsetof(struct event, account),
            VAULT_KIND_ACCOUNT },
        { EVENT_HAS_ORDER, offsetof(struct event, order), VAULT_KIND_ORDER },
        { EVENT_HAS_DEVICE, offsetof(struct event, device), VAULT_KIND_DEVICE },
        { EVENT_HAS_IP, offsetof(struct event, ip), VAULT_KIND_IP },
        { EVENT_HAS_IP, offsetof(struct event, ip24), VAULT_KIND_IP24 },
        { EVENT_HAS_IP, offsetof(struct event, ip16), VAULT_KIND_IP16 },
        { EVENT_HAS_EMAIL, offsetof(struct event, email), VAULT_KIND_EMAIL },
        { EVENT_HAS_PHONE, offsetof(struct event, phone), VAULT_KIND_PHONE },
        { EVENT_HAS_NAME, offsetof(struct event, name), VAULT_KIND_NAME },
        { EVENT_HAS_CARD, offsetof(struct event, card), VAULT_KIND_CARD },
        { EVENT_HAS_BILLING, offsetof(struct event, billing),
            VAULT_KIND_ADDRESS },
        { EVENT_HAS_SHIPPING, offsetof(struct event, shipping),
            VAULT_KIND_ADDRESS },
        { EVENT_HAS_VALUE, offsetof(struct event, value), VAULT_KIND_VALUE },
    };
    unsigned k;
    int rc;

    *out = *ev;
    *named = 0;
    if (made != NULL)
        made->n = 0;
    /* Nothing keeps it: it must not reach history or the log. */
    memset(&out->session, 0, sizeof(out->session));
    for (k = 0; k < VAULT_EVENT_SUBJECTS; k++) {
        const struct pseudo *p;
        struct pseudo *t;
        bool new_salt;

        if (!(ev->has & fields[k].has))
            continue;
        p = (const struct pseudo *)(const void *)((const char *)ev +
            fields[k].off);
        t = (struct pseudo *)(void *)((char *)out + fields[k].off);
        rc = vault_token(v, p, fields[k].kind, create, t, &new_salt);
        if (rc == ERR_NOTFOUND && !create) {
            memset(t, 0, sizeof(*t));
            continue;
        }
        if (rc != 0) {
            memset(out, 0, sizeof(*out));
            *named = 0;
            return rc;
        }
        /* The /24 and /16 are kept in history, never named in a record. */
        if (fields[k].kind != VAULT_KIND_IP24 &&
            fields[k].kind != VAULT_KIND_IP16)
            *named |= fields[k].has;
        if (new_salt && made != NULL)
            made->p[made->n++] = *p;
    }
    return 0;
}
