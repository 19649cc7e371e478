/*
 * vault.c - per-subject salts and tokens (see vault.h for the design
 *           and the file formats)
 *
 * The scorer's main thread tokenizes every event through here (a few
 * hash probes per event; a new subject costs 32 bytes of a pooled
 * random block and one BLAKE2b, and its slot is written in place at
 * once), and the flusher thread calls vault_sync_file() before each
 * LMDB commit.
 *
 * Nothing is read whole at open (issue 12: start-up after kill -9 had
 * waited ~1 s of CPU per 2 M subjects for it). The vault file is mapped
 * (MAP_SHARED: a store into the map is a write of the file's page
 * cache, which a kill -9 does not lose) and slots are read in place.
 * The two indexes (pseudonym -> slot, token -> slot) are open-
 * addressing hash tables (linear probing, power-of-two size, at most
 * half full, backward-shift deletion) in their own mapped file,
 * VAULT_FILE.idx, whose header says how far they are complete: every
 * slot below `next` is in both tables. A cell holds only a slot number;
 * a probe compares the key with the slot's bytes and checks the slot's
 * CRC, so a cell that points to a slot that is torn, erased or holds
 * another subject (a leftover of a crash) matches nothing. Pseudonyms
 * and tokens are keyed hashes, so their first 8 bytes are a fine hash.
 *
 * The index header is written (pwrite) only after both files were
 * synced, with the `next` and `live` taken before the syncs: on disk it
 * never claims more than is durable, whatever order the kernel wrote
 * pages back in. At open, with a header that checks, only the slots from
 * `next` to the end of the file (what came since the last sync: at most
 * a commit's worth of new subjects and one growth step of zero slots)
 * are read and put in the tables if they are missing. Insertions only
 * fill empty cells, so any subset of them reaching the disk leaves every
 * durable cell in place; a deletion moves cells, so erasure first
 * writes the header "erasing" (synced), and the next vault_sync()
 * writes it clean: an index found "erasing", or not checking in any
 * way (CRC, id of the vault, size), is rebuilt from every slot (the
 * only O(subjects) open, logged with its reason; also the migration
 * from a version 1 vault, which had no index).
 *
 * Slots are never reused: erased slots stay zero and a new subject
 * always takes the next slot (the slot below `next` is never written
 * again but to erase it, which keeps the tail rule simple).
 *
 * Invariants:
 *  - every slot below nents that holds a valid subject has a cell in
 *    both tables; cells are u32 slot + 1 (0 = empty).
 *  - nents and live change only under mu (the flusher reads them for
 *    the header); the index file and its header are swapped and written
 *    only under io_mu.
 *  - the file holds fslots slots (grown by fallocate, zero), fslots >=
 *    nents; the map covers maplen >= the file.
 *
 * See also: vault.h, common/crc32c.h, common/fileio.h
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* mremap() */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/crashpoint.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "scorer/vault.h"

#define VAULT_VERSION      2
#define VAULT_VERSION_OLD  1 /* no id, no index file: migrated at open */
#define VAULT_HEADER       VAULT_SLOT_BYTES
#define VAULT_MAX_ENTRIES  (UINT32_MAX / 4)
#define VAULT_RANDOM_BYTES 1024   /* salts drawn from the OS at once */
#define VAULT_GROW_SLOTS   16384u /* the file grows 1 MiB at a time */
#define VAULT_MAP_MIN      (64u << 20)
#define VAULT_ID_BYTES     16
#define VIDX_HEADER        4096 /* the index file's header page */
#define VIDX_VERSION       1
#define VIDX_MIN_LOG2      16     /* cells per table, at least 2^16 */
#define VIDX_SYNC_SLOTS    65536u /* new slots between two index syncs */
#define VIDX_CLEAN         1
#define VIDX_ERASING       2

_Static_assert(PSEUDO_BYTES == 16, "slot layout assumes 16-byte pseudonyms");

/* Offsets inside a slot. */
#define SLOT_P    8
#define SLOT_SALT 24
#define SLOT_T    40

struct vault {
    char *path;  /* for log lines */
    char *ipath; /* the index file */
    int fd, ifd;
    uint8_t *map;    /* the vault file, MAP_SHARED; slot i at 64 (i + 1) */
    size_t maplen;   /* bytes mapped (>= the file) */
    uint64_t fslots; /* slots the file holds */
    uint8_t *imap;   /* the index file, MAP_SHARED */
    size_t ilen;     /* its size: VIDX_HEADER + 8 cap */
    uint32_t *by_p, *by_t; /* cap cells each, inside imap */
    size_t cap;            /* a power of two */
    unsigned log2cap;
    uint8_t id[VAULT_ID_BYTES];
    pthread_mutex_t mu;    /* nents, live */
    pthread_mutex_t io_mu; /* ifd/imap swaps, header writes, erasing */
    size_t nents;          /* slots in use or erased (the next is new) */
    size_t live;           /* subjects */
    bool erasing;          /* the header on disk says "erasing" */
    uint64_t idx_next;     /* `next` in the index header on disk */
    uint64_t idx_syncs;    /* index syncs (tests count them) */
    uint64_t damaged;
    uint64_t scanned;                /* slots read at open */
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

static bool
all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;

    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static uint8_t *
slot_at(const struct vault *v, size_t i)
{
    return v->map + VAULT_HEADER + i * VAULT_SLOT_BYTES;
}

static void
slot_encode(uint8_t out[VAULT_SLOT_BYTES], const uint8_t p[PSEUDO_BYTES],
    const uint8_t salt[VAULT_SALT_BYTES], enum vault_kind kind)
{
    uint8_t b[VAULT_SLOT_BYTES];

    memset(b, 0, sizeof(b));
    b[4] = 1;
    b[5] = (uint8_t)kind;
    memcpy(b + SLOT_P, p, PSEUDO_BYTES);
    memcpy(b + SLOT_SALT, salt, VAULT_SALT_BYTES);
    crypto_generichash(
        b + SLOT_T, PSEUDO_BYTES, p, PSEUDO_BYTES, salt, VAULT_SALT_BYTES);
    bytes_put_le32(b, crc32c(0, b + 4, VAULT_SLOT_BYTES - 4));
    memcpy(out, b, sizeof(b));
    sodium_memzero(b, sizeof(b));
}

/*
 * A slot's state: 1 in use, 0 free (all zero), -1 damaged. The token is
 * taken as stored: the CRC covers it with the salt and the pseudonym it
 * is computed from, and a writer who can fix a CRC can recompute a
 * token as well.
 */
static int
slot_state(const uint8_t in[VAULT_SLOT_BYTES])
{
    if (bytes_get_le32(in) != crc32c(0, in + 4, VAULT_SLOT_BYTES - 4) ||
        in[4] != 1 || in[5] == VAULT_KIND_NONE || in[5] >= VAULT_KIND_COUNT ||
        in[6] != 0 || in[7] != 0 || !all_zero(in + 56, 8))
        return all_zero(in, VAULT_SLOT_BYTES) ? 0 : -1;
    return 1;
}

/* ----------------------------------------------------------- indexes */

static size_t
key_off(bool by_token)
{
    return by_token ? SLOT_T : SLOT_P;
}

/*
 * Find `key` in a table: its position (*found, the slot in *slot) or
 * the empty cell ending the probe. A cell matches only a valid slot
 * below nents holding the key.
 */
static size_t
probe(const struct vault *v, const uint32_t *tab, const uint8_t *key,
    bool by_token, bool *found, uint32_t *slot)
{
    size_t mask = v->cap - 1, i = (size_t)hash16(key) & mask;
    size_t off = key_off(by_token);

    for (;;) {
        uint32_t c = tab[i];

        if (c == 0) {
            *found = false;
            return i;
        }
        if (c - 1 < v->nents) {
            const uint8_t *sl = slot_at(v, c - 1);

            if (memcmp(sl + off, key, PSEUDO_BYTES) == 0 &&
                slot_state(sl) == 1) {
                *found = true;
                *slot = c - 1;
                return i;
            }
        }
        i = (i + 1) & mask;
    }
}

/* Put slot i in a table (its key from the slot's bytes); a no-op when
 * its key is found already. */
static void
cell_add(struct vault *v, uint32_t *tab, uint32_t i, bool by_token)
{
    bool found;
    uint32_t at_slot;
    size_t at = probe(
        v, tab, slot_at(v, i) + key_off(by_token), by_token, &found, &at_slot);

    if (!found)
        tab[at] = i + 1;
}

/* The home cell of the cell at j, or j when it points to nothing valid
 * (a crash's leftover: it stays where it is, occupied). */
static size_t
cell_home(const struct vault *v, const uint32_t *tab, size_t j, bool by_token)
{
    uint32_t c = tab[j];
    const uint8_t *sl;

    if (c - 1 >= v->nents)
        return j;
    sl = slot_at(v, c - 1);
    if (slot_state(sl) != 1)
        return j;
    return (size_t)hash16(sl + key_off(by_token)) & (v->cap - 1);
}

/* Remove position i, shifting back the cells of its probe run. */
static void
cell_del_at(const struct vault *v, uint32_t *tab, size_t i, bool by_token)
{
    size_t mask = v->cap - 1, j = i;

    tab[i] = 0;
    for (;;) {
        size_t home;

        j = (j + 1) & mask;
        if (tab[j] == 0)
            return;
        home = cell_home(v, tab, j, by_token);
        /* Move it back to i unless its home lies cyclically in (i, j]. */
        if ((j > i && (home <= i || home > j)) ||
            (j < i && (home <= i && home > j))) {
            tab[i] = tab[j];
            tab[j] = 0;
            i = j;
        }
    }
}

/* ------------------------------------------------------- index file */

/* The index file's first 8 bytes (no terminator is stored). */
static const uint8_t vidx_magic[8] = { 'V', 'I', 'G', 'I', 'L', 'V', 'I', 'X' };

static void
vidx_header_encode(const struct vault *v, uint8_t h[VIDX_HEADER],
    unsigned log2cap, uint64_t next, uint64_t live, uint32_t state)
{
    memset(h, 0, VIDX_HEADER);
    memcpy(h, vidx_magic, sizeof(vidx_magic));
    bytes_put_le32(h + 8, VIDX_VERSION);
    bytes_put_le32(h + 12, log2cap);
    memcpy(h + 16, v->id, VAULT_ID_BYTES);
    bytes_put_le64(h + 32, next);
    bytes_put_le64(h + 40, live);
    bytes_put_le32(h + 48, state);
    bytes_put_le32(h + 60, crc32c(0, h, 60));
}

/* Write the index header (not synced). Caller holds io_mu or is alone. */
static int
vidx_header_write(struct vault *v, int fd, unsigned log2cap, uint64_t next,
    uint64_t live, uint32_t state)
{
    uint8_t h[VIDX_HEADER];
    int rc;

    vidx_header_encode(v, h, log2cap, next, live, state);
    rc = fileio_pwrite_all(fd, h, sizeof(h), 0);
    if (rc != 0)
        log_warn("%s: cannot write the header of '%s'", __func__, v->ipath);
    return rc;
}

static void
vidx_unmap(struct vault *v)
{
    if (v->imap != NULL)
        munmap(v->imap, v->ilen);
    if (v->ifd != -1)
        close(v->ifd);
    v->imap = NULL;
    v->ifd = -1;
    v->by_p = v->by_t = NULL;
}

static int
vidx_map(struct vault *v, int fd, unsigned log2cap)
{
    size_t cap = (size_t)1 << log2cap;
    size_t len = VIDX_HEADER + 2 * cap * sizeof(uint32_t);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    if (m == MAP_FAILED) {
        log_warn("%s: cannot map '%s'", __func__, v->ipath);
        return ERR_IO;
    }
    (void)madvise(m, len, MADV_RANDOM);
    v->imap = m;
    v->ilen = len;
    v->ifd = fd;
    v->cap = cap;
    v->log2cap = log2cap;
    v->by_p = (uint32_t *)(void *)(v->imap + VIDX_HEADER);
    v->by_t = v->by_p + cap;
    return 0;
}

/*
 * Build a complete index of slots [0, nents) with 2^log2cap cells a
 * table in a new file and put it in place of the old one (rename).
 * `durable` (at open): the vault file is synced first, then the new
 * tables, the header naming nents as `next`, the directory. Not durable
 * (growth, on the main thread between events: it used to wait for all
 * four syncs there): the header claims nothing (`next` 0, clean) and
 * nothing is synced; the flusher's next index sync makes it durable
 * (vault_sync_both(): nents past 0 by 65,536 or more), and an open
 * before that re-reads every slot, which is then at most that many plus
 * a growth step. On success `v` uses the new file. Returns 0, ERR_FULL
 * or ERR_IO (the old index stays).
 */
static int
vidx_build(struct vault *v, unsigned log2cap, bool durable)
{
    size_t plen = strlen(v->ipath) + 8;
    char *tmp = xmalloc(plen);
    size_t cap = (size_t)1 << log2cap;
    struct vault nv;
    uint64_t live = 0, next;
    int fd, rc;

    snprintf(tmp, plen, "%s.new", v->ipath);
    (void)unlink(tmp);
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        rc = fileio_error(errno);
        log_warn("%s: cannot create '%s'", __func__, tmp);
        free(tmp);
        return rc;
    }
    rc = posix_fallocate(fd, 0, (off_t)(VIDX_HEADER + 2 * cap * 4));
    if (rc != 0) {
        errno = rc;
        rc = fileio_error(rc);
        log_warn("%s: cannot size '%s'", __func__, tmp);
        goto fail;
    }
    /* A scratch view of `v` with the new tables (same slots). */
    nv = *v;
    nv.imap = NULL;
    nv.ifd = -1;
    rc = vidx_map(&nv, fd, log2cap);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < v->nents; i++) {
        if (slot_state(slot_at(v, i)) != 1)
            continue;
        cell_add(&nv, nv.by_p, (uint32_t)i, false);
        cell_add(&nv, nv.by_t, (uint32_t)i, true);
        live++;
    }
    crashpoint("vault.rehash");
    if (durable &&
        (fdatasync(v->fd) == -1 || msync(nv.imap, nv.ilen, MS_SYNC) == -1)) {
        rc = fileio_error(errno);
        log_warn("%s: cannot sync '%s'", __func__, tmp);
        munmap(nv.imap, nv.ilen);
        goto fail;
    }
    next = durable ? v->nents : 0;
    rc = vidx_header_write(
        &nv, fd, log2cap, next, durable ? live : 0, VIDX_CLEAN);
    if (rc == 0 && durable && fdatasync(fd) == -1)
        rc = fileio_error(errno);
    if (rc != 0) {
        munmap(nv.imap, nv.ilen);
        goto fail;
    }
    pthread_mutex_lock(&v->io_mu);
    if (rename(tmp, v->ipath) == -1) {
        rc = ERR_IO;
        log_warn("%s: cannot rename '%s'", __func__, tmp);
        pthread_mutex_unlock(&v->io_mu);
        munmap(nv.imap, nv.ilen);
        goto fail;
    }
    vidx_unmap(v);
    v->imap = nv.imap;
    v->ilen = nv.ilen;
    v->ifd = nv.ifd;
    v->cap = nv.cap;
    v->log2cap = nv.log2cap;
    v->by_p = nv.by_p;
    v->by_t = nv.by_t;
    v->erasing = false;
    v->idx_next = next;
    if (durable)
        v->idx_syncs++;
    pthread_mutex_unlock(&v->io_mu);
    pthread_mutex_lock(&v->mu);
    v->live = (size_t)live;
    pthread_mutex_unlock(&v->mu);
    if (durable && fileio_sync_parent(v->ipath) != 0)
        log_warn("%s: cannot sync the directory of '%s'", __func__, v->ipath);
    free(tmp);
    return 0;
fail:
    close(fd);
    (void)unlink(tmp);
    free(tmp);
    return rc;
}

static unsigned
log2_for(size_t slots)
{
    unsigned l = VIDX_MIN_LOG2;

    while (((size_t)1 << l) < 2 * slots)
        l++;
    return l;
}

/*
 * Open the index and check it against the vault: 0 and its tables in
 * `v` (header `next` and `live` in *next, *live), or a reason (static
 * text) in *why and ERR_CORRUPT.
 */
static int
vidx_open(struct vault *v, uint64_t *next, uint64_t *live, const char **why)
{
    uint8_t h[64];
    struct stat st;
    unsigned log2cap;
    int fd, rc;

    fd = open(v->ipath, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        *why = errno == ENOENT ? "missing" : "cannot be opened";
        return ERR_CORRUPT;
    }
    *why = "bad header";
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        fileio_pread_full(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        memcmp(h, vidx_magic, sizeof(vidx_magic)) != 0 ||
        bytes_get_le32(h + 8) != VIDX_VERSION ||
        bytes_get_le32(h + 60) != crc32c(0, h, 60))
        goto bad;
    *why = "made for another vault";
    if (sodium_memcmp(h + 16, v->id, VAULT_ID_BYTES) != 0)
        goto bad;
    *why = "an erasure was interrupted";
    if (bytes_get_le32(h + 48) != VIDX_CLEAN)
        goto bad;
    log2cap = bytes_get_le32(h + 12);
    *next = bytes_get_le64(h + 32);
    *live = bytes_get_le64(h + 40);
    *why = "sizes disagree";
    if (log2cap < VIDX_MIN_LOG2 || log2cap > 31 ||
        (uint64_t)st.st_size !=
            VIDX_HEADER + 2 * ((uint64_t)1 << log2cap) * 4 ||
        *next > v->fslots || *live > *next ||
        2 * *next > ((uint64_t)1 << log2cap))
        goto bad;
    rc = vidx_map(v, fd, log2cap); /* keeps fd on success */
    if (rc != 0)
        close(fd);
    return rc;
bad:
    close(fd);
    return ERR_CORRUPT;
}

/* ------------------------------------------------------------ growth */

/* Make the file hold at least `want` slots (zero), mapped. */
static int
vault_grow(struct vault *v, uint64_t want)
{
    uint64_t slots = v->fslots, bytes;
    int rc;

    if (want <= slots)
        return 0;
    while (slots < want)
        slots += VAULT_GROW_SLOTS;
    if (slots > VAULT_MAX_ENTRIES)
        slots = VAULT_MAX_ENTRIES;
    if (slots < want)
        return ERR_FULL;
    bytes = VAULT_HEADER + slots * VAULT_SLOT_BYTES;
    rc = posix_fallocate(v->fd, 0, (off_t)bytes);
    if (rc != 0) {
        log_warnx("%s: cannot grow '%s': %s", __func__, v->path, strerror(rc));
        return fileio_error(rc);
    }
    if (bytes > v->maplen) {
        size_t len = v->maplen;
        void *m;

        while (len < bytes)
            len *= 2;
        m = mremap(v->map, v->maplen, len, MREMAP_MAYMOVE);
        if (m == MAP_FAILED) {
            log_warn("%s: cannot map '%s'", __func__, v->path);
            return ERR_IO;
        }
        (void)madvise(m, len, MADV_RANDOM);
        (void)madvise(m, len, MADV_DONTDUMP);
        v->map = m;
        v->maplen = len;
    }
    v->fslots = slots;
    return 0;
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

/*
 * Add the subject (p, salt, kind) in the next slot: the slot is written
 * in place, then its two cells, then nents and live move. Returns 0,
 * ERR_FULL or ERR_IO (nothing added).
 */
static int
ent_add(struct vault *v, const uint8_t p[PSEUDO_BYTES],
    const uint8_t salt[VAULT_SALT_BYTES], enum vault_kind kind, uint32_t *slot)
{
    uint32_t i;
    int rc;

    if (v->nents >= VAULT_MAX_ENTRIES)
        return ERR_FULL;
    rc = vault_grow(v, (uint64_t)v->nents + 1);
    if (rc == 0 && 2 * (v->nents + 1) > v->cap)
        rc = vidx_build(v, v->log2cap + 1, false);
    if (rc != 0)
        return rc;
    i = (uint32_t)v->nents;
    slot_encode(slot_at(v, i), p, salt, kind);
    crashpoint("vault.slot");
    cell_add(v, v->by_p, i, false);
    crashpoint("vault.cell");
    cell_add(v, v->by_t, i, true);
    /* Published (for the flusher's header) after its cells. */
    pthread_mutex_lock(&v->mu);
    v->nents++;
    v->live++;
    pthread_mutex_unlock(&v->mu);
    *slot = i;
    return 0;
}

/* --------------------------------------------------------- open/close */

/* The file's first 8 bytes (not a C string: no terminator is stored). */
static const uint8_t vault_magic[8] = { 'V', 'I', 'G', 'I', 'L', 'V', 'L',
    'T' };

static void
header_encode(uint8_t h[VAULT_HEADER], const uint8_t id[VAULT_ID_BYTES])
{
    memset(h, 0, VAULT_HEADER);
    memcpy(h, vault_magic, sizeof(vault_magic));
    bytes_put_le32(h + 8, VAULT_VERSION);
    bytes_put_le32(h + 12, VAULT_SLOT_BYTES);
    memcpy(h + 16, id, VAULT_ID_BYTES);
    bytes_put_le32(h + 60, crc32c(0, h, 60));
}

/* The header's version (1 or 2, its id into `id`), or 0: not a vault. */
static unsigned
header_check(const uint8_t h[VAULT_HEADER], uint8_t id[VAULT_ID_BYTES])
{
    uint32_t ver = bytes_get_le32(h + 8);

    if (memcmp(h, vault_magic, sizeof(vault_magic)) != 0 ||
        bytes_get_le32(h + 12) != VAULT_SLOT_BYTES ||
        bytes_get_le32(h + 60) != crc32c(0, h, 60))
        return 0;
    if (ver == VAULT_VERSION_OLD && all_zero(h + 16, 44)) {
        memset(id, 0, VAULT_ID_BYTES);
        return VAULT_VERSION_OLD;
    }
    if (ver == VAULT_VERSION && all_zero(h + 32, 28) &&
        !all_zero(h + 16, VAULT_ID_BYTES)) {
        memcpy(id, h + 16, VAULT_ID_BYTES);
        return VAULT_VERSION;
    }
    return 0;
}

/* Create `path` with its header, durable with its directory entry. */
static int
vault_create(const char *path, int *fdp)
{
    uint8_t h[VAULT_HEADER], id[VAULT_ID_BYTES];
    int fd, rc;

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd == -1) {
        rc = fileio_error(errno);
        log_warn("%s: cannot create '%s'", __func__, path);
        return rc;
    }
    randombytes_buf(id, sizeof(id));
    header_encode(h, id);
    rc = fileio_pwrite_all(fd, h, sizeof(h), 0);
    if (rc == 0 && fsync(fd) == -1)
        rc = fileio_error(errno);
    if (rc == 0 && fileio_sync_parent(path) != 0)
        rc = ERR_IO;
    if (rc != 0) {
        log_warn("%s: cannot make '%s' durable", __func__, path);
        close(fd);
        (void)unlink(path);
        return rc;
    }
    *fdp = fd;
    return 0;
}

/*
 * Slots [from, fslots), past what the index header covers: put the
 * valid ones in the tables (when missing), count the damaged ones below
 * the last valid one, wipe torn ones past it (a crash's half-written
 * append: the journal holds its salt). Sets nents and live.
 */
static int
vault_scan_tail(struct vault *v, uint64_t from, uint64_t live)
{
    uint64_t end = from;

    for (uint64_t i = from; i < v->fslots; i++) {
        const uint8_t *sl = slot_at(v, (size_t)i);

        v->scanned++;
        if (slot_state(sl) == 1)
            end = i + 1;
    }
    v->nents = (size_t)end;
    for (uint64_t i = from; i < v->fslots; i++) {
        uint8_t *sl = slot_at(v, (size_t)i);
        int st = slot_state(sl);
        bool found;
        uint32_t at_slot;

        if (st == 1) {
            (void)probe(v, v->by_p, sl + SLOT_P, false, &found, &at_slot);
            if (found && at_slot != i) {
                log_warnx("%s: '%s' holds one pseudonym twice (slot %" PRIu64
                          ")",
                    __func__, v->path, i);
                return ERR_CORRUPT;
            }
            cell_add(v, v->by_p, (uint32_t)i, false);
            cell_add(v, v->by_t, (uint32_t)i, true);
            live++; /* the header's count covers slots below `next` */
        } else if (st < 0 && i < end) {
            v->damaged++;
        } else if (st < 0) {
            sodium_memzero(sl, VAULT_SLOT_BYTES);
        }
    }
    v->live = (size_t)live;
    return 0;
}

/* Check a whole vault: one pseudonym in one slot only (a rebuild's
 * duplicate check), damaged slots counted; sets nents. */
static int
vault_scan_all(struct vault *v)
{
    uint64_t end = 0;

    for (uint64_t i = 0; i < v->fslots; i++) {
        int st = slot_state(slot_at(v, (size_t)i));

        v->scanned++;
        if (st != 0)
            end = i + 1;
    }
    v->nents = (size_t)end;
    for (uint64_t i = 0; i < end; i++) {
        uint8_t *sl = slot_at(v, (size_t)i);
        int st = slot_state(sl);

        if (st < 0 && i + 1 == end) {
            /* A torn append at the very end. */
            sodium_memzero(sl, VAULT_SLOT_BYTES);
            v->nents = (size_t)i;
        } else if (st < 0) {
            v->damaged++;
        }
    }
    return 0;
}

/* Rebuild the index from every slot (and make a version 1 file version 2). */
static int
vault_rebuild(struct vault *v, unsigned version, const char *why)
{
    uint8_t h[VAULT_HEADER];
    int rc;

    log_warnx("%s: the index of '%s' is rebuilt from every slot (%s)", __func__,
        v->path, why);
    rc = vault_scan_all(v);
    if (rc != 0)
        return rc;
    /* Duplicates: found while the tables fill. */
    rc = vidx_build(v, log2_for(v->nents + 1), true);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < v->nents; i++) {
        const uint8_t *sl = slot_at(v, i);
        bool found;
        uint32_t at_slot;

        if (slot_state(sl) != 1)
            continue;
        (void)probe(v, v->by_p, sl + SLOT_P, false, &found, &at_slot);
        if (!found || at_slot != i) {
            log_warnx("%s: '%s' holds one pseudonym twice (slot %zu)", __func__,
                v->path, i);
            return ERR_CORRUPT;
        }
    }
    if (version == VAULT_VERSION_OLD) {
        header_encode(h, v->id);
        rc = fileio_pwrite_all(v->fd, h, sizeof(h), 0);
        if (rc == 0 && fdatasync(v->fd) == -1)
            rc = fileio_error(errno);
        if (rc != 0) {
            log_warn("%s: cannot write the header of '%s'", __func__, v->path);
            return rc;
        }
        log_info("%s: '%s' is now a version %d vault (with an index file)",
            __func__, v->path, VAULT_VERSION);
    }
    return 0;
}

int
vault_open(const char *path, bool create, struct vault **out)
{
    uint8_t h[VAULT_HEADER];
    struct vault *v;
    struct stat st;
    uint64_t tail, next = 0, live = 0;
    const char *why = NULL;
    unsigned version;
    bool created = false;
    size_t plen;
    int fd, rc;

    *out = NULL;
    v = xcalloc(1, sizeof(*v));
    v->path = xstrdup(path);
    plen = strlen(path) + 5;
    v->ipath = xmalloc(plen);
    snprintf(v->ipath, plen, "%s.idx", path);
    v->fd = -1;
    v->ifd = -1;
    v->rnd_off = sizeof(v->rnd); /* empty: the first salt fills it */
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->io_mu, NULL);
    {
        /* A rehash's new index a crash left before its rename. */
        char *tmp = xmalloc(plen + 4);

        snprintf(tmp, plen + 4, "%s.new", v->ipath);
        (void)unlink(tmp);
        free(tmp);
    }
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (!create) {
            rc = ERR_NOTFOUND;
            goto fail;
        }
        rc = vault_create(path, &fd);
        if (rc != 0)
            goto fail;
        created = true;
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
        (version = header_check(h, v->id)) == 0) {
        log_warnx(
            "%s: '%s' is not a subject vault (bad header)", __func__, path);
        rc = ERR_CORRUPT;
        goto fail;
    }
    if (version == VAULT_VERSION_OLD)
        randombytes_buf(v->id, sizeof(v->id));
    /* A crash can leave part of a slot appended at the end of a
     * version 1 file: it never held a synced subject (the slot write is
     * the first write of it), and the journal still holds its salt. */
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
    v->fslots = ((uint64_t)st.st_size - tail - VAULT_HEADER) / VAULT_SLOT_BYTES;
    if (v->fslots > VAULT_MAX_ENTRIES) {
        rc = ERR_CORRUPT;
        goto fail;
    }
    v->maplen = VAULT_MAP_MIN;
    while (v->maplen < VAULT_HEADER + v->fslots * VAULT_SLOT_BYTES)
        v->maplen *= 2;
    v->map =
        mmap(NULL, v->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->map == MAP_FAILED) {
        v->map = NULL;
        log_warn("%s: cannot map '%s'", __func__, path);
        rc = ERR_IO;
        goto fail;
    }
    (void)madvise(v->map, v->maplen, MADV_RANDOM);
    (void)madvise(v->map, v->maplen, MADV_DONTDUMP);
    if (version == VAULT_VERSION_OLD)
        why = "version 1 vault: migrating";
    else if (created || vidx_open(v, &next, &live, &why) == 0)
        why = NULL;
    if (created) {
        rc = vidx_build(v, VIDX_MIN_LOG2, true);
        if (rc == 0)
            rc = vault_grow(v, 1);
    } else if (why == NULL) {
        v->idx_next = next;
        rc = vault_scan_tail(v, next, live);
    } else {
        rc = vault_rebuild(v, version, why);
    }
    if (rc != 0)
        goto fail;
    if (v->damaged > 0)
        log_warnx("%s: %" PRIu64 " damaged slot(s) in '%s' treated as "
                  "free: their subjects' earlier records cannot be "
                  "reported any more",
            __func__, v->damaged, v->path);
    *out = v;
    return 0;
fail:
    vault_close(v);
    return rc;
}

/*
 * Sync the vault file, and the index with it when `full`, when an
 * erasure is to be finished or when VIDX_SYNC_SLOTS slots came since the
 * index header last moved; an index sync writes the header clean with
 * the `next` and `live` taken before the syncs (not while an erasure is
 * under way, unless `finish_erase`: main thread). Holds io_mu.
 *
 * Why not the index on every call: a synced page of a shared map is
 * write-protected again, so the next store into it faults (page_mkwrite)
 * and a cell store lands on a random page: with the index synced before
 * every LMDB commit, nearly every new subject paid two write faults
 * (unit.vault test_index_sync_faults counts them). The index is derived
 * data: what a sync skips costs only the open's tail scan, bounded by
 * VIDX_SYNC_SLOTS plus one growth step.
 */
static int
vault_sync_both(struct vault *v, bool full, bool finish_erase)
{
    size_t next, live;
    bool index;
    int rc = 0;

    pthread_mutex_lock(&v->io_mu);
    pthread_mutex_lock(&v->mu);
    next = v->nents;
    live = v->live;
    pthread_mutex_unlock(&v->mu);
    index = full || finish_erase ||
        (!v->erasing && next - v->idx_next >= VIDX_SYNC_SLOTS);
    if (fdatasync(v->fd) == -1 || (index && fdatasync(v->ifd) == -1)) {
        log_warn("%s: fdatasync of '%s' failed", __func__, v->path);
        rc = ERR_IO;
    }
    if (rc == 0 && index && (finish_erase || !v->erasing)) {
        rc = vidx_header_write(v, v->ifd, v->log2cap, next, live, VIDX_CLEAN);
        if (rc == 0) {
            v->idx_next = next;
            v->idx_syncs++;
        }
    }
    if (rc == 0 && finish_erase)
        v->erasing = false;
    pthread_mutex_unlock(&v->io_mu);
    return rc;
}

void
vault_close(struct vault *v)
{
    if (v == NULL)
        return;
    if (v->map != NULL && v->imap != NULL &&
        vault_sync_both(v, true, false) != 0)
        log_warnx("%s: '%s' not synced: the journal holds new salts", __func__,
            v->path);
    vidx_unmap(v);
    if (v->map != NULL)
        munmap(v->map, v->maplen);
    if (v->fd != -1)
        close(v->fd);
    sodium_memzero(v->rnd, sizeof(v->rnd));
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->io_mu);
    free(v->ipath);
    free(v->path);
    free(v);
}

size_t
vault_count(const struct vault *v)
{
    return v->live;
}

uint64_t
vault_file_bytes(const struct vault *v)
{
    return VAULT_HEADER + v->fslots * VAULT_SLOT_BYTES;
}

uint64_t
vault_index_bytes(const struct vault *v)
{
    return v->ilen;
}

uint64_t
vault_damaged(const struct vault *v)
{
    return v->damaged;
}

uint64_t
vault_open_scanned(const struct vault *v)
{
    return v->scanned;
}

/* ------------------------------------------------------------ lookups */

int
vault_token(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    bool create, struct pseudo *token, bool *created)
{
    uint8_t salt[VAULT_SALT_BYTES];
    uint32_t i;
    bool found;
    int rc;

    if (created != NULL)
        *created = false;
    (void)probe(v, v->by_p, p->b, false, &found, &i);
    if (found) {
        memcpy(token->b, slot_at(v, i) + SLOT_T, PSEUDO_BYTES);
        return 0;
    }
    if (!create)
        return ERR_NOTFOUND;
    salt_new(v, salt);
    rc = ent_add(v, p->b, salt, kind, &i);
    sodium_memzero(salt, sizeof(salt));
    if (rc != 0)
        return rc;
    memcpy(token->b, slot_at(v, i) + SLOT_T, PSEUDO_BYTES);
    if (created != NULL)
        *created = true;
    return 0;
}

int
vault_lookup_token(const struct vault *v, const struct pseudo *token,
    struct pseudo *p, enum vault_kind *kind)
{
    uint32_t i;
    bool found;

    (void)probe(v, v->by_t, token->b, true, &found, &i);
    if (!found)
        return ERR_NOTFOUND;
    if (p != NULL)
        memcpy(p->b, slot_at(v, i) + SLOT_P, PSEUDO_BYTES);
    if (kind != NULL)
        *kind = (enum vault_kind)slot_at(v, i)[5];
    return 0;
}

int
vault_salt(const struct vault *v, const struct pseudo *p,
    uint8_t salt[VAULT_SALT_BYTES], enum vault_kind *kind)
{
    uint32_t i;
    bool found;

    (void)probe(v, v->by_p, p->b, false, &found, &i);
    if (!found)
        return ERR_NOTFOUND;
    memcpy(salt, slot_at(v, i) + SLOT_SALT, VAULT_SALT_BYTES);
    *kind = (enum vault_kind)slot_at(v, i)[5];
    return 0;
}

int
vault_restore(struct vault *v, const struct pseudo *p, enum vault_kind kind,
    const uint8_t salt[VAULT_SALT_BYTES])
{
    uint32_t i;
    bool found;

    if ((unsigned)kind == VAULT_KIND_NONE || (unsigned)kind >= VAULT_KIND_COUNT)
        return ERR_CORRUPT;
    (void)probe(v, v->by_p, p->b, false, &found, &i);
    if (found) {
        if (sodium_memcmp(slot_at(v, i) + SLOT_SALT, salt, VAULT_SALT_BYTES) ==
            0)
            return 0;
        log_warnx("%s: the journal and '%s' hold different salts for one "
                  "subject (slot %" PRIu32 ")",
            __func__, v->path, i);
        return ERR_CORRUPT;
    }
    return ent_add(v, p->b, salt, kind, &i);
}

int
vault_erase(struct vault *v, const struct pseudo *token)
{
    uint8_t p[PSEUDO_BYTES];
    bool found;
    uint32_t i, j;
    size_t at;
    int rc = 0;

    at = probe(v, v->by_t, token->b, true, &found, &i);
    if (!found)
        return ERR_NOTFOUND;
    /* Deletions move cells: until the next vault_sync() the index on
     * disk is "erasing" (rebuilt at open). */
    pthread_mutex_lock(&v->io_mu);
    if (!v->erasing) {
        rc = vidx_header_write(v, v->ifd, v->log2cap, 0, 0, VIDX_ERASING);
        if (rc == 0 && fdatasync(v->ifd) == -1)
            rc = ERR_IO;
        if (rc == 0)
            v->erasing = true;
    }
    pthread_mutex_unlock(&v->io_mu);
    if (rc != 0)
        return rc;
    memcpy(p, slot_at(v, i) + SLOT_P, PSEUDO_BYTES);
    /* The cells first (their homes are read from the slot), then the
     * slot: zeros in place. */
    cell_del_at(v, v->by_t, at, true);
    crashpoint("vault.erase");
    at = probe(v, v->by_p, p, false, &found, &j);
    if (!found || j != i)
        fatalx("%s: invariant: indexes disagree", __func__);
    cell_del_at(v, v->by_p, at, false);
    sodium_memzero(p, sizeof(p));
    sodium_memzero(slot_at(v, i), VAULT_SLOT_BYTES);
    pthread_mutex_lock(&v->mu);
    v->live--;
    pthread_mutex_unlock(&v->mu);
    return 0;
}

int
vault_sync(struct vault *v)
{
    return vault_sync_both(v, true, true);
}

int
vault_sync_file(struct vault *v)
{
    return vault_sync_both(v, false, false);
}

uint64_t
vault_index_syncs(const struct vault *v)
{
    return v->idx_syncs;
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
    if (made != NULL) {
        made->n = 0;
        made->kinds = 0;
    }
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
        if (new_salt && made != NULL) {
            made->p[made->n++] = *p;
            made->kinds |= 1u << fields[k].kind;
        }
    }
    return 0;
}
