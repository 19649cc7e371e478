/*
 * audit_tiles.c - the audit log's Merkle tree on disk as C2SP tlog-tiles
 *
 * The writer (audit_log.c, the scorer's main thread) appends each synced
 * record here: its leaf hash goes into the partial level-0 tile in
 * memory and its payload into the partial entry bundle; a completed tile
 * is written at once, hashed, and its hash carried into the level above.
 * At each checkpoint the partial tiles of its size are written. Readers
 * (proofs, any thread) get a perfect subtree's hash from one tile: a
 * proof over 10 million records reads a few dozen files.
 *
 * Costs: one 8 KiB tile and one bundle written per 256 records, one node
 * hash per record to hash the full tiles, and per checkpoint one small
 * partial tile and the partial bundle (at most 255 records) per level
 * that changed. Files are created once (O_EXCL) and never truncated to
 * zero or renamed over, so that ext4's flush-on-replace does not join
 * the next fdatasync of the records; the partial directory of a
 * completed tile moves whole to tile-spare/ and its files are written
 * again (audit_tiles.h: why).
 *
 * Invariants:
 *  - see audit_tiles.h.
 *
 * See also: audit_tiles.h, c2sp.org/tlog-tiles
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* renameat2(), RENAME_NOREPLACE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audit.h"
#include "common/audit_tiles.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/merkle.h"
#include "common/xmalloc.h"

#define TILE_BYTES (AUDIT_TILES_WIDTH * MERKLE_HASH_BYTES)
#define BUNDLE_MAX (AUDIT_TILES_WIDTH * (2 + AUDIT_MAX_RECORD_BYTES))
#define FILE_MODE  0640

/* -------------------------------------------------------------- paths */

void
audit_tiles_path(
    unsigned level, uint64_t n, unsigned width, char out[AUDIT_TILES_PATH])
{
    char digits[32], *p = out;
    size_t nd, i, left = AUDIT_TILES_PATH;
    int k;

    if (level == AUDIT_TILES_ENTRIES)
        k = snprintf(p, left, "tile/entries/");
    else
        k = snprintf(p, left, "tile/%u/", level);
    p += k;
    left -= (size_t)k;
    /* Zero-padded to a multiple of 3 digits, then grouped. */
    nd = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, n);
    {
        size_t pad = (3 - nd % 3) % 3;
        char tmp[32];

        memset(tmp, '0', pad);
        memcpy(tmp + pad, digits, nd + 1);
        memcpy(digits, tmp, pad + nd + 1);
        nd += pad;
    }
    for (i = 0; i < nd; i += 3) {
        bool lastg = i + 3 == nd;

        k = snprintf(p, left, "%s%.3s%s", lastg ? "" : "x", digits + i,
            lastg ? "" : "/");
        p += k;
        left -= (size_t)k;
    }
    if (width > 0)
        snprintf(p, left, ".p/%u", width);
}

/* The directory of the partial files of tile `n` of `level`: "<N>.p". */
static void
partial_dir(unsigned level, uint64_t n, char out[AUDIT_TILES_PATH])
{
    char full[AUDIT_TILES_PATH];

    audit_tiles_path(level, n, 0, full);
    /* At most 46 bytes: "tile/entries/" and 7 groups of digits. */
    if ((size_t)snprintf(out, AUDIT_TILES_PATH, "%s.p", full) >=
        AUDIT_TILES_PATH)
        abort();
}

/* ------------------------------------------------------------- writer */

void
audit_tiles_init(struct audit_tiles *t, int dirfd, bool check)
{
    memset(t, 0, sizeof(*t));
    t->dirfd = dirfd;
    t->check = check;
}

void
audit_tiles_release(struct audit_tiles *t)
{
    free(t->ent);
    t->ent = NULL;
    t->entlen = t->entcap = 0;
}

static void
tiles_fail(struct audit_tiles *t, const char *what, const char *path)
{
    if (!t->failed)
        log_warn("audit tiles: cannot %s '%s' (the records are safe; the "
                 "tiles are rebuilt when the log is next opened)",
            what, path);
    t->failed = true;
}

/* mkdirat `dir`: 0 when it is there now, ERR_NOTFOUND when its parent
 * is not, else ERR_IO (counted in t->mkdirs, t->mkdirs_existed). */
static int
mkdir_one(struct audit_tiles *t, const char *dir)
{
    t->mkdirs++;
    if (mkdirat(t->dirfd, dir, 0700) == 0)
        return 0;
    if (errno == EEXIST) {
        t->mkdirs_existed++;
        return 0;
    }
    return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
}

/*
 * mkdir -p of `dir` (n bytes, writable: restored on return), deepest
 * first. At a tile's first file only its "<N>.p/" is missing, so that
 * is one mkdirat; making every component from the top, as this did,
 * cost an EEXIST for each of the three or four above it (about 400 a
 * replay of the shared file, with the ones that made a directory 3.6%
 * of the scorer's main thread).
 */
static int
make_dir_p(struct audit_tiles *t, char *dir, size_t n)
{
    char *slash;
    int rc = mkdir_one(t, dir);

    if (rc != ERR_NOTFOUND)
        return rc;
    slash = memrchr(dir, '/', n);
    if (slash == NULL)
        return ERR_IO; /* the audit directory itself is gone */
    *slash = '\0';
    rc = make_dir_p(t, dir, (size_t)(slash - dir));
    *slash = '/';
    if (rc == 0)
        rc = mkdir_one(t, dir);
    return rc == ERR_NOTFOUND ? ERR_IO : rc;
}

/* Make every directory above `path` (mkdir -p of its dirname). */
static int
make_parents(struct audit_tiles *t, const char *path)
{
    char dir[AUDIT_TILES_PATH];
    char *slash = strrchr(path, '/');
    size_t n;
    int rc;

    if (slash == NULL)
        return 0;
    n = (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
    for (size_t k = 0; k < AUDIT_TILES_DIRS; k++)
        if (strcmp(dir, t->madedir[k]) == 0)
            return 0;
    rc = make_dir_p(t, dir, n);
    if (rc != 0)
        return rc;
    memcpy(t->madedir[t->madenext], dir, n + 1);
    t->madenext = (t->madenext + 1) % AUDIT_TILES_DIRS;
    return 0;
}

/* Does the file `path` hold exactly p[0..len)? */
static bool
file_equals(int dirfd, const char *path, const uint8_t *p, size_t len)
{
    uint8_t *buf;
    struct stat st;
    bool eq = false;
    int fd;

    fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return false;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size == len) {
        buf = xmalloc(len > 0 ? len : 1);
        eq = fileio_pread_full(fd, buf, len, 0) == (ssize_t)len &&
            memcmp(buf, p, len) == 0;
        free(buf);
    }
    close(fd);
    return eq;
}

/* Remove the files in directory `path` (relative to dirfd), then it.
 * Returns 0 or -1 (errno set). */
static int
rm_dir_files(int at, const char *path, uint64_t *unlinked)
{
    struct dirent *de;
    DIR *d = fileio_opendir_at(at, path, O_NOFOLLOW);

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
            closedir(d);
            return -1;
        }
        (*unlinked)++;
    }
    closedir(d);
    return unlinkat(at, path, AT_REMOVEDIR);
}

/*
 * Make tile-spare/ and remove what an earlier run left there (once per
 * writer, at its first removal). On failure spares are not used.
 */
static void
spare_ready(struct audit_tiles *t)
{
    char sub[AUDIT_TILES_PATH];
    struct dirent *de;
    DIR *d;

    if (t->spare_state != 0)
        return;
    t->spare_state = -1;
    if (mkdirat(t->dirfd, AUDIT_TILES_SPARE_DIR, 0700) != 0 && errno != EEXIST)
        return;
    d = fileio_opendir_at(t->dirfd, AUDIT_TILES_SPARE_DIR, O_NOFOLLOW);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0) {
            t->unlinked++;
            continue;
        }
        /* A directory of partials (or an earlier format's file). */
        if ((errno != EISDIR && errno != EPERM) ||
            (size_t)snprintf(sub, sizeof(sub), AUDIT_TILES_SPARE_DIR "/%s",
                de->d_name) >= sizeof(sub) ||
            rm_dir_files(t->dirfd, sub, &t->unlinked) != 0) {
            closedir(d);
            return;
        }
    }
    closedir(d);
    t->spare_state = 1;
}

/* The path of retired directory `k`: "tile-spare/d<k>". */
static void
retired_path(uint64_t k, char out[AUDIT_TILES_PATH])
{
    snprintf(out, AUDIT_TILES_PATH, AUDIT_TILES_SPARE_DIR "/d%" PRIu64, k);
}

/*
 * Move the partial directory `path` of a completed tile whole to
 * tile-spare/ (one rename, whatever it holds). Returns true when it is
 * gone (moved, or there was none); false leaves it to the caller.
 */
static bool
retire_dir(struct audit_tiles *t, const char *path)
{
    char to[AUDIT_TILES_PATH];

    spare_ready(t);
    if (t->spare_state != 1 || t->nretired == AUDIT_TILES_RETIRED)
        return false;
    retired_path(t->retire_next, to);
    if (renameat2(t->dirfd, path, t->dirfd, to, RENAME_NOREPLACE) != 0)
        return errno == ENOENT; /* no partial was written for it */
    t->retired[(t->retired_head + t->nretired) % AUDIT_TILES_RETIRED] =
        t->retire_next++;
    t->nretired++;
    t->retired_dirs++;
    return true;
}

/*
 * Make the oldest retired directory the one spares are taken from: its
 * width-named files into src_w[]. The one before, emptied, is removed
 * (ignored when it holds anything else: the next open removes it).
 * Returns true when a spare is there to take.
 */
static bool
spare_next_source(struct audit_tiles *t)
{
    char path[AUDIT_TILES_PATH];

    while (t->src_n == 0) {
        struct dirent *de;
        DIR *d;

        if (t->src_open) {
            retired_path(t->src, path);
            (void)unlinkat(t->dirfd, path, AT_REMOVEDIR);
            t->src_open = false;
        }
        if (t->nretired == 0)
            return false;
        t->src = t->retired[t->retired_head];
        t->retired_head = (t->retired_head + 1) % AUDIT_TILES_RETIRED;
        t->nretired--;
        t->src_open = true;
        retired_path(t->src, path);
        d = fileio_opendir_at(t->dirfd, path, O_NOFOLLOW);
        if (d == NULL)
            continue;
        while ((de = readdir(d)) != NULL && t->src_n < AUDIT_TILES_WIDTH) {
            char *end;
            unsigned long w = strtoul(de->d_name, &end, 10);

            if (de->d_name[0] != '.' && *end == '\0' && w > 0 &&
                w < AUDIT_TILES_WIDTH)
                t->src_w[t->src_n++] = (uint16_t)w;
        }
        closedir(d);
    }
    return true;
}

/*
 * Write p[0..len) (len > 0) into the existing file `from`, cut it to
 * len, and rename it `path` (never over a file). Returns 0, ERR_NOTFOUND
 * (no file `from`) or ERR_IO (`path` exists, or a write failed: `from`
 * stays, to be written again).
 */
static int
fill_and_place(struct audit_tiles *t, const char *from, const char *path,
    const uint8_t *p, size_t len)
{
    struct stat st;
    bool ok;
    int fd;

    fd = openat(t->dirfd, from, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return ERR_NOTFOUND;
    /* Cut to len > 0 (not to zero: that would flush at close). */
    ok = fileio_pwrite_all(fd, p, len, 0) == 0 && fstat(fd, &st) == 0 &&
        ((uint64_t)st.st_size == len || ftruncate(fd, (off_t)len) == 0);
    close(fd);
    if (!ok)
        return ERR_IO;
    /* The directory is there but at a tile's first file (ENOENT). */
    if (renameat2(t->dirfd, from, t->dirfd, path, RENAME_NOREPLACE) != 0 &&
        (errno != ENOENT || make_parents(t, path) != 0 ||
            renameat2(t->dirfd, from, t->dirfd, path, RENAME_NOREPLACE) != 0))
        return ERR_IO;
    return 0;
}

/*
 * Write p[0..len) as the new partial file `path` into a spare (a file
 * of a retired partial directory), then rename it there (never over a
 * file). Returns true when done; false leaves `path` to the caller (no
 * spare, or `path` exists).
 */
static bool
put_spare(struct audit_tiles *t, const char *path, const uint8_t *p, size_t len)
{
    char from[AUDIT_TILES_PATH];
    int rc;

    if (len == 0)
        return false;
    while (spare_next_source(t)) {
        snprintf(from, sizeof(from), AUDIT_TILES_SPARE_DIR "/d%" PRIu64 "/%u",
            t->src, (unsigned)t->src_w[t->src_n - 1]);
        rc = fill_and_place(t, from, path, p, len);
        if (rc == ERR_NOTFOUND) {
            t->src_n--; /* gone: the next one */
            continue;
        }
        if (rc != 0)
            return false;
        t->src_n--;
        t->reused++;
        return true;
    }
    return false;
}

/* The path of made-ahead file `k`: "tile-new/<k mod 2 * NEW>". */
static void
new_path(uint64_t k, char out[AUDIT_TILES_PATH])
{
    snprintf(out, AUDIT_TILES_PATH, AUDIT_TILES_NEW_DIR "/%u",
        (unsigned)(k % (2 * AUDIT_TILES_NEW)));
}

uint64_t
audit_tiles_premake(int dirfd, uint64_t taken, uint64_t made, uint64_t *created)
{
    char path[AUDIT_TILES_PATH];
    bool dir_tried = false;
    uint64_t k = made > taken ? made : taken;

    /* More than 2 * NEW ahead cannot be (the writer's count only
     * grows): start over from the writer's count. */
    if (k - taken > AUDIT_TILES_NEW)
        k = taken;
    while (k < taken + AUDIT_TILES_NEW) {
        int fd;

        new_path(k, path);
        fd = openat(dirfd, path,
            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
        if (fd == -1 && errno == ENOENT && !dir_tried) {
            dir_tried = true;
            if (mkdirat(dirfd, AUDIT_TILES_NEW_DIR, 0700) == 0 ||
                errno == EEXIST)
                continue;
        }
        if (fd == -1 && errno != EEXIST)
            break;
        if (fd != -1) {
            close(fd);
            (*created)++;
        }
        k++;
    }
    return k;
}

/*
 * Write p[0..len) as the new file `path` into the next file made ahead
 * in tile-new/ and rename it there. Returns true when done; false leaves
 * `path` to put_file (none made yet, or `path` exists).
 */
static bool
put_new(struct audit_tiles *t, const char *path, const uint8_t *p, size_t len)
{
    char from[AUDIT_TILES_PATH];

    if (len == 0)
        return false;
    new_path(t->new_taken, from);
    if (fill_and_place(t, from, path, p, len) != 0)
        return false;
    t->new_taken++;
    return true;
}

/* Write p[0..len) as the new file `path` (replacing a stale one). */
static void
put_file(struct audit_tiles *t, const char *path, const uint8_t *p, size_t len)
{
    int fd;

    /* The directory is there but at a tile's first file (ENOENT). */
    fd = openat(
        t->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
    if (fd == -1 && errno == ENOENT) {
        if (make_parents(t, path) != 0) {
            tiles_fail(t, "make the directory of", path);
            return;
        }
        fd = openat(
            t->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
    }
    if (fd == -1 && errno == EEXIST) {
        /* Left by an earlier run (same content, unless it was cut). */
        if (file_equals(t->dirfd, path, p, len))
            return;
        if (unlinkat(t->dirfd, path, 0) != 0) {
            tiles_fail(t, "replace", path);
            return;
        }
        t->unlinked++;
        t->repaired++;
        fd = openat(
            t->dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, FILE_MODE);
    }
    if (fd == -1) {
        tiles_fail(t, "create", path);
        return;
    }
    t->created++;
    if (fileio_pwrite_all(fd, p, len, 0) != 0)
        tiles_fail(t, "write", path);
    close(fd);
}

/* A full tile or bundle: in check mode only rewritten when it differs. */
static void
put_full(struct audit_tiles *t, const char *path, const uint8_t *p, size_t len)
{
    if (!t->check && put_new(t, path, p, len))
        return;
    if (t->check) {
        struct stat st;

        /* Bundles are checked by size (the records were just verified),
         * hash tiles by content. */
        if (strncmp(path, "tile/entries/", 13) == 0 ?
                fstatat(t->dirfd, path, &st, 0) == 0 &&
                    (uint64_t)st.st_size == len :
                file_equals(t->dirfd, path, p, len))
            return;
        if (unlinkat(t->dirfd, path, 0) == 0)
            t->repaired++;
        else if (errno != ENOENT)
            tiles_fail(t, "replace", path);
    }
    put_file(t, path, p, len);
}

/*
 * Remove the partial files of tile `n` of `level` and their directory
 * "<N>.p/". With `pass_on` (its full tile was just written, on the
 * writer's hot path) the directory moves whole to tile-spare/, its
 * files to be written again (audit_tiles.h). Otherwise (the check at
 * open), or when that cannot be, each file is removed, and with
 * `pass_on` the emptied directory becomes tile n + 1's "<N+1>.p/".
 */
static void
drop_partials(struct audit_tiles *t, unsigned level, uint64_t n, bool pass_on)
{
    char path[AUDIT_TILES_PATH], sub[AUDIT_TILES_PATH + 8];
    char next[AUDIT_TILES_PATH];
    struct dirent *de;
    DIR *d;

    partial_dir(level, n, path);
    /* A directory may be gone: forget them all. */
    memset(t->madedir, 0, sizeof(t->madedir));
    if (pass_on && retire_dir(t, path))
        return;
    d = fileio_opendir_at(t->dirfd, path, 0);
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        char *end;
        unsigned long w = strtoul(de->d_name, &end, 10);

        /* Only the widths' names (1..): anything else is not ours. */
        if (de->d_name[0] == '.' || *end != '\0' || w == 0 ||
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
                sizeof(sub))
            continue;
        t->moved++;
        if (unlinkat(t->dirfd, sub, 0) != 0)
            tiles_fail(t, "remove", sub);
        else
            t->unlinked++;
    }
    closedir(d);
    partial_dir(level, n + 1, next);
    /* The emptied directory serves the next tile (no mkdir then). */
    if (!(pass_on &&
            renameat2(t->dirfd, path, t->dirfd, next, RENAME_NOREPLACE) == 0) &&
        unlinkat(t->dirfd, path, AT_REMOVEDIR) != 0 && errno != ENOENT)
        tiles_fail(t, "remove", path);
}

/* The root of the perfect subtree over hashes h[0..n) (n a power of 2). */
static void
subtree_root(const uint8_t (*h)[MERKLE_HASH_BYTES], size_t n,
    uint8_t out[MERKLE_HASH_BYTES])
{
    uint8_t tmp[AUDIT_TILES_WIDTH / 2][MERKLE_HASH_BYTES];

    if (n == 1) {
        memcpy(out, h[0], MERKLE_HASH_BYTES);
        return;
    }
    for (size_t i = 0; i < n / 2; i++)
        merkle_node_hash(h[2 * i], h[2 * i + 1], tmp[i]);
    for (n /= 2; n > 1; n /= 2) {
        for (size_t i = 0; i < n / 2; i++)
            merkle_node_hash(tmp[2 * i], tmp[2 * i + 1], tmp[i]);
    }
    memcpy(out, tmp[0], MERKLE_HASH_BYTES);
}

void
audit_tiles_append(struct audit_tiles *t, const uint8_t leaf[MERKLE_HASH_BYTES],
    const uint8_t *payload, size_t len)
{
    char path[AUDIT_TILES_PATH];
    uint8_t h[MERKLE_HASH_BYTES];
    unsigned w = (unsigned)(t->size % AUDIT_TILES_WIDTH);

    memcpy(t->part[0][w], leaf, MERKLE_HASH_BYTES);
    if (t->entcap - t->entlen < 2 + len) {
        t->entcap = BUNDLE_MAX;
        t->ent = xreallocarray(t->ent, 1, t->entcap);
    }
    t->ent[t->entlen] = (uint8_t)(len >> 8);
    t->ent[t->entlen + 1] = (uint8_t)len;
    memcpy(t->ent + t->entlen + 2, payload, len);
    t->entlen += 2 + len;
    t->size++;
    if (t->size % AUDIT_TILES_WIDTH != 0)
        return;

    /* Level-0 tile and bundle n are complete; carry the tile's hash up
     * through every level whose tile it completes. */
    audit_tiles_path(
        AUDIT_TILES_ENTRIES, t->size / AUDIT_TILES_WIDTH - 1, 0, path);
    put_full(t, path, t->ent, t->entlen);
    drop_partials(
        t, AUDIT_TILES_ENTRIES, t->size / AUDIT_TILES_WIDTH - 1, true);
    t->entlen = 0;
    for (unsigned l = 0; l < AUDIT_TILES_LEVELS; l++) {
        uint64_t below = t->size >> (8 * l); /* level-l hashes */
        uint64_t n;

        if (below == 0 || below % AUDIT_TILES_WIDTH != 0)
            break;
        n = below / AUDIT_TILES_WIDTH - 1;
        audit_tiles_path(l, n, 0, path);
        put_full(t, path, (const uint8_t *)t->part[l], TILE_BYTES);
        drop_partials(t, l, n, true);
        if (l + 1 == AUDIT_TILES_LEVELS)
            break;
        subtree_root((const uint8_t(*)[MERKLE_HASH_BYTES])t->part[l],
            AUDIT_TILES_WIDTH, h);
        memcpy(t->part[l + 1][n % AUDIT_TILES_WIDTH], h, MERKLE_HASH_BYTES);
    }
}

void
audit_tiles_flush(struct audit_tiles *t)
{
    char path[AUDIT_TILES_PATH];

    if (t->size == t->flushed && !t->check)
        return;
    for (unsigned l = 0; l < AUDIT_TILES_LEVELS; l++) {
        uint64_t hashes = t->size >> (8 * l);
        unsigned w = (unsigned)(hashes % AUDIT_TILES_WIDTH);
        uint64_t n = hashes / AUDIT_TILES_WIDTH;

        if (hashes == 0)
            break;
        /* At open every other width goes: wider ones describe a cut
         * past, narrower ones may be stale or altered (not synced, not
         * trusted); readers of an older size use this or the full one. */
        if (t->check)
            drop_partials(t, l, n, false);
        if (w == 0)
            continue;
        /* A width already written for an earlier size is unchanged. */
        if (!t->check && (t->flushed >> (8 * l)) == hashes)
            continue;
        audit_tiles_path(l, n, w, path);
        if (!put_spare(t, path, (const uint8_t *)t->part[l],
                (size_t)w * MERKLE_HASH_BYTES) &&
            !put_new(t, path, (const uint8_t *)t->part[l],
                (size_t)w * MERKLE_HASH_BYTES))
            put_file(t, path, (const uint8_t *)t->part[l],
                (size_t)w * MERKLE_HASH_BYTES);
    }
    if (t->size % AUDIT_TILES_WIDTH != 0) {
        uint64_t n = t->size / AUDIT_TILES_WIDTH;
        unsigned w = (unsigned)(t->size % AUDIT_TILES_WIDTH);

        if (t->check)
            drop_partials(t, AUDIT_TILES_ENTRIES, n, false);
        audit_tiles_path(AUDIT_TILES_ENTRIES, n, w, path);
        if (!put_spare(t, path, t->ent, t->entlen) &&
            !put_new(t, path, t->ent, t->entlen))
            put_file(t, path, t->ent, t->entlen);
    }
    t->flushed = t->size;
}

/* ------------------------------------------------------------- reader */

void
audit_tiles_reader_init(struct audit_tiles_reader *r, int dirfd, uint64_t size)
{
    memset(r, 0, sizeof(*r));
    r->dirfd = dirfd;
    r->size = size;
}

void
audit_tiles_reader_release(struct audit_tiles_reader *r)
{
    free(r->bundle);
    r->bundle = NULL;
    r->bundle_ok = false;
}

/*
 * Read file `path` into out[0..want) when it holds at least `want`
 * bytes (a wider partial tile holds the same first hashes). Returns 0,
 * ERR_NOTFOUND (missing or shorter) or ERR_IO.
 */
static int
read_prefix(int dirfd, const char *path, uint8_t *out, size_t want, size_t *got)
{
    struct stat st;
    ssize_t n;
    int fd;

    fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOMEM ? ERR_IO : ERR_NOTFOUND;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return ERR_IO;
    }
    if ((uint64_t)st.st_size < want) {
        close(fd);
        return ERR_NOTFOUND;
    }
    if (got != NULL) /* the whole file, up to the buffer's size `want` */
        want = (size_t)st.st_size < *got ? (size_t)st.st_size : *got;
    n = fileio_pread_full(fd, out, want, 0);
    close(fd);
    if (n != (ssize_t)want)
        return ERR_IO;
    if (got != NULL)
        *got = want;
    return 0;
}

/*
 * Read tile `n` of `level` (AUDIT_TILES_ENTRIES: the bundle) as it is
 * in the tree of r->size leaves: the full file when that tree has it
 * complete, else the partial of the tree's width, else any wider one or
 * the full file (the first `width` items are the same in all of them).
 * `unit` is the size of an item for hash tiles, 0 for bundles (then
 * `*len` is in/out: the buffer's size, then the bytes read).
 */
static int
read_tile(struct audit_tiles_reader *r, unsigned level, uint64_t n,
    unsigned width, uint8_t *out, size_t unit, size_t *len)
{
    char path[AUDIT_TILES_PATH], sub[AUDIT_TILES_PATH + 16];
    size_t want = unit * width, cap = len != NULL ? *len : 0;
    struct dirent *de;
    DIR *d;
    int rc;

    r->reads++;
    audit_tiles_path(level, n, width == AUDIT_TILES_WIDTH ? 0 : width, path);
    if (len != NULL)
        *len = cap;
    rc = read_prefix(r->dirfd, path, out, want, len);
    if (rc != ERR_NOTFOUND || width == AUDIT_TILES_WIDTH)
        return rc;
    audit_tiles_path(level, n, 0, path);
    if (len != NULL)
        *len = cap;
    rc = read_prefix(r->dirfd, path, out, want, len);
    if (rc != ERR_NOTFOUND)
        return rc;
    partial_dir(level, n, path);
    d = fileio_opendir_at(r->dirfd, path, 0);
    if (d == NULL)
        return errno == ENOMEM ? ERR_IO : ERR_NOTFOUND;
    rc = ERR_NOTFOUND;
    while (rc == ERR_NOTFOUND && (de = readdir(d)) != NULL) {
        char *end;
        unsigned long w = strtoul(de->d_name, &end, 10);

        if (de->d_name[0] == '.' || *end != '\0' || w <= width ||
            w >= AUDIT_TILES_WIDTH ||
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
                sizeof(sub))
            continue;
        if (len != NULL)
            *len = cap;
        rc = read_prefix(r->dirfd, sub, out, want, len);
    }
    closedir(d);
    return rc;
}

int
audit_tiles_resume(struct audit_tiles *t, int dirfd, uint64_t size, bool check,
    struct merkle_frontier *fr)
{
    struct audit_tiles_reader r;
    int rc = 0;

    audit_tiles_init(t, dirfd, check);
    merkle_frontier_init(fr);
    if (size % AUDIT_TILES_WIDTH != 0)
        return ERR_INVAL;
    audit_tiles_reader_init(&r, dirfd, size);
    /* Level 0 is empty (size is a multiple of the width); level l
     * holds the hashes of the 256^l-leaf subtrees not yet in a full
     * tile of level l + 1. */
    for (unsigned l = 1; l < AUDIT_TILES_LEVELS && rc == 0; l++) {
        uint64_t hashes = size >> (8 * l);
        unsigned w = (unsigned)(hashes % AUDIT_TILES_WIDTH);

        if (hashes == 0)
            break;
        if (w > 0)
            rc = read_tile(&r, l, hashes / AUDIT_TILES_WIDTH, w,
                (uint8_t *)t->part[l], MERKLE_HASH_BYTES, NULL);
    }
    audit_tiles_reader_release(&r);
    if (rc != 0) {
        audit_tiles_init(t, dirfd, check);
        return rc;
    }
    /* The frontier: the top level's subtrees cover the first leaves. */
    for (unsigned l = AUDIT_TILES_LEVELS; l-- > 1;) {
        unsigned w = (unsigned)((size >> (8 * l)) % AUDIT_TILES_WIDTH);

        for (unsigned i = 0; i < w; i++)
            merkle_frontier_append_subtree(fr, 8 * l, t->part[l][i]);
    }
    t->size = size;
    t->flushed = size;
    return 0;
}

int
audit_tiles_subtree(void *reader, unsigned level, uint64_t index,
    uint8_t out[MERKLE_HASH_BYTES])
{
    struct audit_tiles_reader *r = reader;
    unsigned tl = level / 8, h = level % 8;
    uint64_t first = index << h; /* its first hash at level tl */
    uint64_t n = first / AUDIT_TILES_WIDTH, hashes;
    unsigned off = (unsigned)(first % AUDIT_TILES_WIDTH), width;
    struct audit_tiles_cached *c;
    int rc;

    if (tl >= AUDIT_TILES_LEVELS)
        return ERR_NOTFOUND;
    hashes = r->size >> (8 * tl);
    if (n + 1 <= hashes / AUDIT_TILES_WIDTH)
        width = AUDIT_TILES_WIDTH;
    else
        width = (unsigned)(hashes % AUDIT_TILES_WIDTH);
    if (off + (1u << h) > width)
        return ERR_NOTFOUND; /* not inside the reader's tree */
    c = &r->cache[tl];
    if (!c->ok || c->n != n || c->width < off + (1u << h)) {
        c->ok = false;
        rc = read_tile(
            r, tl, n, width, (uint8_t *)c->h, MERKLE_HASH_BYTES, NULL);
        if (rc != 0)
            return rc;
        c->ok = true;
        c->n = n;
        c->width = width;
    }
    subtree_root(
        (const uint8_t(*)[MERKLE_HASH_BYTES])c->h + off, (size_t)1 << h, out);
    return 0;
}

int
audit_tiles_entry(struct audit_tiles_reader *r, uint64_t index, uint8_t *out,
    size_t cap, size_t *len)
{
    uint64_t n = index / AUDIT_TILES_WIDTH;
    unsigned k = (unsigned)(index % AUDIT_TILES_WIDTH), width;
    size_t off = 0;
    int rc;

    if (index >= r->size)
        return ERR_NOTFOUND;
    width = n + 1 <= r->size / AUDIT_TILES_WIDTH ?
        AUDIT_TILES_WIDTH :
        (unsigned)(r->size % AUDIT_TILES_WIDTH);
    if (!r->bundle_ok || r->bundle_n != n || r->bundle_w < width) {
        if (r->bundle == NULL)
            r->bundle = xmalloc(BUNDLE_MAX);
        r->bundle_ok = false;
        r->bundle_len = BUNDLE_MAX;
        /* A bundle's items vary in size: read whole files, at least 2
         * bytes per item. */
        rc = read_tile(
            r, AUDIT_TILES_ENTRIES, n, width, r->bundle, 2, &r->bundle_len);
        if (rc != 0)
            return rc;
        r->bundle_ok = true;
        r->bundle_n = n;
        r->bundle_w = width;
    }
    for (unsigned i = 0;; i++) {
        size_t l;

        if (r->bundle_len - off < 2)
            return ERR_CORRUPT;
        l = (size_t)r->bundle[off] << 8 | r->bundle[off + 1];
        if (l == 0 || l > AUDIT_MAX_RECORD_BYTES || r->bundle_len - off - 2 < l)
            return ERR_CORRUPT;
        if (i == k) {
            if (l > cap)
                return ERR_CORRUPT;
            memcpy(out, r->bundle + off + 2, l);
            *len = l;
            return 0;
        }
        off += 2 + l;
    }
}
