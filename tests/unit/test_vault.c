/*
 * test_vault.c - unit tests of scorer/vault: per-subject salts, tokens
 *                and their destruction (crypto-shredding)
 *
 * Works on a vault file in a fresh mkdtemp() directory. Tokens are
 * checked against BLAKE2b-128(key = salt, pseudonym) computed here from
 * the slot bytes the file holds (the layout in vault.h), erasure by
 * reading the file back: the slot is zero and neither the salt nor the
 * pseudonym is anywhere in it. Also: reopening keeps every subject,
 * many subjects (index growth, erase and reuse), restore (replay), a
 * damaged slot, a torn tail, a file that is not a vault, tokenizing an
 * event; refused at open: a directory or a symbolic link where the file
 * should be, a file holding one pseudonym in two slots (each slot
 * intact), a missing file without create. The flusher's sync
 * (vault_sync_file()) leaves the index's mapped pages writable between
 * index syncs: counted in page faults, and what an open re-reads then.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/crashpoint.h"
#include "common/crc32c.h"
#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "scorer/vault.h"
#include "tests/harness/test.h"

static char root[] = "/tmp/vigil-test-vault-XXXXXX";
static char path[256];
static char idx_path[300];

static void
rm_rf(const char *dir)
{
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    rc = system(cmd);
    (void)rc;
}

static struct pseudo
pseudo_n(uint32_t n)
{
    struct pseudo p;

    /* Pseudonyms are keyed hashes: make these look like ones. */
    crypto_generichash(
        p.b, sizeof(p.b), (const uint8_t *)&n, sizeof(n), NULL, 0);
    return p;
}

static bool
all_zero_at(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* The whole file `name` into a heap buffer; *len its size. */
static uint8_t *
slurp_file(const char *name, size_t *len)
{
    FILE *f = fopen(name, "rb");
    uint8_t *b;
    long n;

    ASSERT(f != NULL);
    ASSERT(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    ASSERT(n >= 0);
    rewind(f);
    b = malloc((size_t)n + 1);
    ASSERT(b != NULL);
    ASSERT(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The vault file. */
static uint8_t *
slurp(size_t *len)
{
    return slurp_file(path, len);
}

static bool
contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

static void
test_create_token_reopen(void)
{
    struct vault *v;
    struct pseudo p = pseudo_n(1), t, t2, back;
    enum vault_kind kind;
    uint8_t salt[VAULT_SALT_BYTES], want[PSEUDO_BYTES], *file;
    size_t len;
    bool created;

    ASSERT_EQ(vault_open(path, false, &v), ERR_NOTFOUND);
    ASSERT_OK(vault_open(path, true, &v));
    ASSERT_EQ(vault_count(v), 0);
    ASSERT_EQ(vault_token(v, &p, VAULT_KIND_EMAIL, false, &t, &created),
        ERR_NOTFOUND);
    ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, &created));
    ASSERT(created);
    ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t2, &created));
    ASSERT(!created);
    ASSERT_MEM_EQ(t.b, t2.b, PSEUDO_BYTES);
    ASSERT(memcmp(t.b, p.b, PSEUDO_BYTES) != 0);

    /* Written in place at once (the page cache; synced before the next
     * LMDB commit), as vault.h specifies it; the token from its salt. The
     * file grows in steps of zero slots. */
    file = slurp(&len);
    ASSERT(len > 2 * VAULT_SLOT_BYTES);
    ASSERT_EQ(len % VAULT_SLOT_BYTES, 0);
    ASSERT(
        all_zero_at(file + 2 * VAULT_SLOT_BYTES, len - 2 * VAULT_SLOT_BYTES));
    ASSERT_MEM_EQ(file, "VIGILVLT", 8);
    ASSERT_EQ(file[8], 2); /* version 2: with an id and an index file */
    ASSERT_EQ(file[64 + 4], 1);
    ASSERT_EQ(file[64 + 5], VAULT_KIND_EMAIL);
    ASSERT_MEM_EQ(file + 64 + 8, p.b, PSEUDO_BYTES);
    crypto_generichash(
        want, sizeof(want), p.b, PSEUDO_BYTES, file + 64 + 24, 16);
    ASSERT_MEM_EQ(want, t.b, PSEUDO_BYTES);
    ASSERT_MEM_EQ(file + 64 + 40, t.b, PSEUDO_BYTES);
    free(file);

    ASSERT_OK(vault_lookup_token(v, &t, &back, &kind));
    ASSERT_MEM_EQ(back.b, p.b, PSEUDO_BYTES);
    ASSERT_EQ(kind, VAULT_KIND_EMAIL);
    ASSERT_OK(vault_salt(v, &p, salt, &kind));
    ASSERT_OK(vault_sync(v));
    vault_close(v);

    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, false, &t2, NULL));
    ASSERT_MEM_EQ(t.b, t2.b, PSEUDO_BYTES);
    /* Restoring the same salt is a no-op; another one is a conflict. */
    ASSERT_OK(vault_restore(v, &p, VAULT_KIND_EMAIL, salt));
    salt[0] ^= 1;
    ASSERT_EQ(vault_restore(v, &p, VAULT_KIND_EMAIL, salt), ERR_CORRUPT);
    vault_close(v);
}

static void
test_erase(void)
{
    struct vault *v;
    struct pseudo a = pseudo_n(10), b = pseudo_n(11), ta, tb, tc, c;
    uint8_t salt[VAULT_SALT_BYTES], *file;
    enum vault_kind kind;
    size_t len;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    ASSERT_OK(vault_token(v, &a, VAULT_KIND_ACCOUNT, true, &ta, NULL));
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_ACCOUNT, true, &tb, NULL));
    ASSERT_OK(vault_salt(v, &a, salt, &kind));
    ASSERT_OK(vault_erase(v, &ta));
    ASSERT_EQ(vault_erase(v, &ta), ERR_NOTFOUND);
    ASSERT_OK(vault_sync(v));
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_EQ(vault_lookup_token(v, &ta, NULL, NULL), ERR_NOTFOUND);
    ASSERT_EQ(
        vault_token(v, &a, VAULT_KIND_ACCOUNT, false, &tc, NULL), ERR_NOTFOUND);
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_ACCOUNT, false, &tc, NULL));
    ASSERT_MEM_EQ(tc.b, tb.b, PSEUDO_BYTES);

    /* Nothing of a is left in the file: not its pseudonym, salt or token. */
    file = slurp(&len);
    ASSERT(!contains(file, len, a.b, PSEUDO_BYTES));
    ASSERT(!contains(file, len, salt, VAULT_SALT_BYTES));
    ASSERT(!contains(file, len, ta.b, PSEUDO_BYTES));
    ASSERT(contains(file, len, b.b, PSEUDO_BYTES));
    for (size_t i = 64; i < 128; i++)
        ASSERT_EQ(file[i], 0);
    free(file);

    /* A new salt for a is another token, in a new slot (an erased slot
     * is never reused: the index's tail rule, vault.h). */
    ASSERT_OK(vault_token(v, &a, VAULT_KIND_ACCOUNT, true, &tc, NULL));
    ASSERT(memcmp(tc.b, ta.b, PSEUDO_BYTES) != 0);
    vault_close(v);
    file = slurp(&len);
    ASSERT(all_zero_at(file + 64, 64));
    ASSERT_MEM_EQ(file + 3 * 64 + 8, a.b, PSEUDO_BYTES);
    free(file);

    /* Reopened, an erased slot stays unknown; erased without a sync
     * before the close ("erasing" on disk), the index is rebuilt. */
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_OK(vault_erase(v, &tc));
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_open_scanned(v), 16384); /* every slot of the file */
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_EQ(vault_lookup_token(v, &tc, NULL, NULL), ERR_NOTFOUND);
    c = pseudo_n(12);
    ASSERT_OK(vault_token(v, &c, VAULT_KIND_DEVICE, true, &tc, NULL));
    ASSERT_OK(vault_sync(v));
    vault_close(v);
    file = slurp(&len);
    /* (The rebuild ended the slots at the last one not zero.) */
    ASSERT_MEM_EQ(file + 3 * 64 + 8, c.b, PSEUDO_BYTES);
    free(file);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 2);
    ASSERT(vault_open_scanned(v) < 16384); /* the index held */
    vault_close(v);
}

/*
 * Salts come from a pooled random block (VAULT_RANDOM_BYTES at a time):
 * across several refills every salt is distinct and none is zero; an
 * erased slot is zeros at once, and a new subject after it takes the
 * next slot.
 */
static void
test_salts_and_writes(void)
{
    enum { N = 300 };
    static uint8_t salts[N][VAULT_SALT_BYTES];
    static const uint8_t zero[VAULT_SALT_BYTES];
    struct pseudo tok[N], t;
    enum vault_kind kind;
    struct vault *v;
    uint8_t *file;
    size_t len;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    for (uint32_t i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(50000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_DEVICE, true, &tok[i], NULL));
        ASSERT_OK(vault_salt(v, &p, salts[i], &kind));
        ASSERT(memcmp(salts[i], zero, sizeof(zero)) != 0);
        for (uint32_t j = 0; j < i; j++)
            ASSERT(memcmp(salts[i], salts[j], VAULT_SALT_BYTES) != 0);
    }
    ASSERT_OK(vault_erase(v, &tok[7]));
    {
        struct pseudo p = pseudo_n(90000);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
    }
    file = slurp(&len);
    ASSERT(!contains(file, len, salts[7], VAULT_SALT_BYTES));
    ASSERT(contains(file, len, salts[8], VAULT_SALT_BYTES));
    ASSERT(all_zero_at(file + VAULT_SLOT_BYTES * 8, 64)); /* slot 7 */
    ASSERT_EQ(file[VAULT_SLOT_BYTES * (N + 1) + 5], VAULT_KIND_EMAIL);
    free(file);
    ASSERT_OK(vault_sync(v));
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N);
    ASSERT_OK(vault_lookup_token(v, &t, NULL, &kind));
    ASSERT_EQ(kind, VAULT_KIND_EMAIL);
    ASSERT_OK(vault_lookup_token(v, &tok[N - 1], NULL, NULL));
    ASSERT_EQ(vault_lookup_token(v, &tok[7], NULL, NULL), ERR_NOTFOUND);
    vault_close(v);
}

static void
test_many(void)
{
    enum { N = 20000 };
    static struct pseudo tok[N];
    struct vault *v;
    struct pseudo t, back;
    uint32_t i;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    for (i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(1000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_ORDER, true, &tok[i], NULL));
    }
    /* Erase every third one; the rest are still found both ways. */
    for (i = 0; i < N; i += 3)
        ASSERT_OK(vault_erase(v, &tok[i]));
    for (i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(1000 + i);
        int rc = vault_token(v, &p, VAULT_KIND_ORDER, false, &t, NULL);

        if (i % 3 == 0) {
            ASSERT_EQ(rc, ERR_NOTFOUND);
            ASSERT_EQ(vault_lookup_token(v, &tok[i], NULL, NULL), ERR_NOTFOUND);
            continue;
        }
        ASSERT_OK(rc);
        ASSERT_MEM_EQ(t.b, tok[i].b, PSEUDO_BYTES);
        ASSERT_OK(vault_lookup_token(v, &tok[i], &back, NULL));
        ASSERT_MEM_EQ(back.b, p.b, PSEUDO_BYTES);
    }
    ASSERT_EQ(vault_count(v), N - (N + 2) / 3);
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N - (N + 2) / 3);
    for (i = 1; i < N; i += 3) {
        struct pseudo p = pseudo_n(1000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_ORDER, false, &t, NULL));
        ASSERT_MEM_EQ(t.b, tok[i].b, PSEUDO_BYTES);
    }
    vault_close(v);
}

static void
test_damage(void)
{
    struct vault *v;
    struct pseudo a = pseudo_n(21), b = pseudo_n(22), t;
    uint8_t byte;
    int fd;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    ASSERT_OK(vault_token(v, &a, VAULT_KIND_EMAIL, true, &t, NULL));
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_EMAIL, true, &t, NULL));
    vault_close(v);

    /* A flipped salt byte: slot 0 is damaged (counted, treated as free). */
    fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    ASSERT(pread(fd, &byte, 1, 64 + 24) == 1);
    byte ^= 0x40;
    ASSERT(pwrite(fd, &byte, 1, 64 + 24) == 1);
    /* And a torn append: 10 bytes of a slot. */
    ASSERT(pwrite(fd, "0123456789", 10, 3 * 64) == 10);
    close(fd);
    /* With the index: slot 0 is not read at open; a lookup checks the
     * slot's CRC and does not take it. The torn append is wiped. */
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_damaged(v), 0);
    ASSERT_EQ(
        vault_token(v, &a, VAULT_KIND_EMAIL, false, &t, NULL), ERR_NOTFOUND);
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_EMAIL, false, &t, NULL));
    vault_close(v);
    /* Index gone: rebuilt from every slot, the damage counted. */
    ASSERT(unlink(idx_path) == 0);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_damaged(v), 1);
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_EQ(
        vault_token(v, &a, VAULT_KIND_EMAIL, false, &t, NULL), ERR_NOTFOUND);
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_EMAIL, false, &t, NULL));
    vault_close(v);
    fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    {
        uint8_t torn[VAULT_SLOT_BYTES];

        ASSERT(pread(fd, torn, sizeof(torn), 3 * 64) == (ssize_t)sizeof(torn));
        ASSERT(all_zero_at(torn, sizeof(torn)));
    }
    close(fd);

    /* Not a vault. */
    fd = open(path, O_RDWR | O_TRUNC);
    ASSERT(fd >= 0);
    ASSERT(write(fd, "not a vault, just some text of more than 64 bytes .....",
               56) == 56);
    ASSERT(write(fd, "12345678", 8) == 8);
    close(fd);
    ASSERT_EQ(vault_open(path, false, &v), ERR_CORRUPT);
}

/* Files the vault refuses to open. */
static void
test_refused_files(void)
{
    struct vault *v;
    struct pseudo a = pseudo_n(31), t;
    char other[300];
    uint8_t slot[VAULT_SLOT_BYTES];
    int fd;

    /* A directory in its place. */
    unlink(path);
    ASSERT(mkdir(path, 0700) == 0);
    ASSERT_EQ(vault_open(path, true, &v), ERR_IO);
    ASSERT(v == NULL);
    ASSERT(rmdir(path) == 0);

    /* One subject, then its slot copied after it: the pseudonym twice. */
    ASSERT_OK(vault_open(path, true, &v));
    ASSERT_OK(vault_token(v, &a, VAULT_KIND_PHONE, true, &t, NULL));
    vault_close(v);
    fd = open(path, O_RDWR);
    ASSERT(fd >= 0);
    ASSERT(pread(fd, slot, sizeof(slot), VAULT_SLOT_BYTES) ==
        (ssize_t)sizeof(slot));
    ASSERT(pwrite(fd, slot, sizeof(slot), 2 * VAULT_SLOT_BYTES) ==
        (ssize_t)sizeof(slot));
    close(fd);
    ASSERT_EQ(vault_open(path, false, &v), ERR_CORRUPT);
    ASSERT(v == NULL);

    /* A symbolic link to a good vault: not followed. */
    snprintf(other, sizeof(other), "%s/real.vault", root);
    ASSERT(rename(path, other) == 0);
    ASSERT(truncate(other, 2 * VAULT_SLOT_BYTES) == 0);
    ASSERT(symlink(other, path) == 0);
    ASSERT_EQ(vault_open(path, false, &v), ERR_IO);
    ASSERT(unlink(path) == 0);
    ASSERT(rename(other, path) == 0);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 1);
    vault_close(v);
    unlink(path);
    ASSERT_EQ(vault_open(path, false, &v), ERR_NOTFOUND);
}

static void
test_tokenize(void)
{
    struct vault *v;
    struct event ev, out, out2;
    struct vault_made made;
    struct pseudo t;
    uint32_t named;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    memset(&ev, 0, sizeof(ev));
    ev.type = EVENT_ORDER_PLACED;
    ev.has = EVENT_HAS_ACCOUNT | EVENT_HAS_ORDER | EVENT_HAS_IP |
        EVENT_HAS_EMAIL | EVENT_HAS_SESSION | EVENT_HAS_CARD;
    ev.id = pseudo_n(100);
    ev.account = pseudo_n(101);
    ev.order = pseudo_n(102);
    ev.ip = pseudo_n(103);
    ev.ip24 = pseudo_n(104);
    ev.ip16 = pseudo_n(105);
    ev.email = pseudo_n(106);
    ev.session = pseudo_n(107);
    ev.card = pseudo_n(108);

    /* Without create: nothing named, tokens zero. */
    ASSERT_OK(vault_tokenize(v, &ev, false, &out, &named, &made));
    ASSERT_EQ(named, 0);
    ASSERT_EQ(made.n, 0);
    ASSERT_EQ(made.kinds, 0);

    ASSERT_OK(vault_tokenize(v, &ev, true, &out, &named, &made));
    ASSERT_EQ(made.n, 7); /* account order ip ip24 ip16 email card */
    /* ... by kind: what history may skip looking up (history.h fresh) */
    ASSERT_EQ(made.kinds,
        1u << VAULT_KIND_ACCOUNT | 1u << VAULT_KIND_ORDER |
            1u << VAULT_KIND_IP | 1u << VAULT_KIND_IP24 |
            1u << VAULT_KIND_IP16 | 1u << VAULT_KIND_EMAIL |
            1u << VAULT_KIND_CARD);
    ASSERT_EQ(named,
        EVENT_HAS_ACCOUNT | EVENT_HAS_ORDER | EVENT_HAS_IP | EVENT_HAS_EMAIL |
            EVENT_HAS_CARD);
    ASSERT_MEM_EQ(out.id.b, ev.id.b, PSEUDO_BYTES); /* the dedup key stays */
    ASSERT_OK(vault_token(v, &ev.account, VAULT_KIND_ACCOUNT, false, &t, NULL));
    ASSERT_MEM_EQ(out.account.b, t.b, PSEUDO_BYTES);
    ASSERT_OK(vault_token(v, &ev.ip24, VAULT_KIND_IP24, false, &t, NULL));
    ASSERT_MEM_EQ(out.ip24.b, t.b, PSEUDO_BYTES);
    /* The /16 is kept in history (the model's ip16 features) as a token,
     * like the /24, and named in no record. */
    ASSERT_OK(vault_token(v, &ev.ip16, VAULT_KIND_IP16, false, &t, NULL));
    ASSERT_MEM_EQ(out.ip16.b, t.b, PSEUDO_BYTES);
    ASSERT(memcmp(out.ip16.b, out.ip24.b, PSEUDO_BYTES) != 0);
    ASSERT(memcmp(out.email.b, ev.email.b, PSEUDO_BYTES) != 0);
    for (size_t i = 0; i < PSEUDO_BYTES; i++)
        ASSERT_EQ(out.session.b[i], 0);
    /* Again: the same tokens, nothing made. */
    ASSERT_OK(vault_tokenize(v, &ev, true, &out2, &named, &made));
    ASSERT_EQ(made.n, 0);
    ASSERT_EQ(made.kinds, 0);
    ASSERT_MEM_EQ(&out, &out2, sizeof(out));
    vault_close(v);
}


/* ------------------------------------------------- issue 12: open cost */

/*
 * Opening costs the slots past what the index covers, not the subjects:
 * 100,000 subjects synced, reopened: fewer slots read than one growth
 * step (16,384, the zero slots at the end); 3,000 more not synced (a
 * kill -9: the process ends without vault_close()): those and the zero
 * slots after them, still fewer than the subjects by far.
 */
static void
test_open_cost(void)
{
    enum { N = 100000, M = 3000 };
    struct vault *v;
    struct pseudo t;
    pid_t pid;
    int st;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    for (uint32_t i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(200000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_ORDER, true, &t, NULL));
    }
    ASSERT_OK(vault_sync(v));
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N);
    ASSERT(vault_open_scanned(v) < 16384);
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        for (uint32_t i = 0; i < M; i++) {
            struct pseudo p = pseudo_n(400000 + i);

            if (vault_token(v, &p, VAULT_KIND_ORDER, true, &t, NULL) != 0)
                _exit(2);
        }
        (void)raise(SIGKILL);
        _exit(3);
    }
    ASSERT(waitpid(pid, &st, 0) == pid);
    ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* The parent's copy never wrote anything after the sync. */
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N + M);
    ASSERT(vault_open_scanned(v) >= M);
    ASSERT(vault_open_scanned(v) < M + 16384);
    for (uint32_t i = 0; i < M; i += 7) {
        struct pseudo p = pseudo_n(400000 + i), back;

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_ORDER, false, &t, NULL));
        ASSERT_OK(vault_lookup_token(v, &t, &back, NULL));
        ASSERT_MEM_EQ(back.b, p.b, PSEUDO_BYTES);
    }
    vault_close(v);
}

/* ------------------------------------------ issue 12: kill -9 and tears */

/* Every subject 0..n-1 of base `base` is found both ways; returns how
 * many were. */
static uint32_t
found_both_ways(struct vault *v, uint32_t base, uint32_t n)
{
    uint32_t got = 0;

    for (uint32_t i = 0; i < n; i++) {
        struct pseudo p = pseudo_n(base + i), t, back;

        if (vault_token(v, &p, VAULT_KIND_EMAIL, false, &t, NULL) != 0)
            continue;
        ASSERT_OK(vault_lookup_token(v, &t, &back, NULL));
        ASSERT_MEM_EQ(back.b, p.b, PSEUDO_BYTES);
        got++;
    }
    return got;
}

/* Minor page faults of this process so far (write faults on a shared
 * map count here). */
static long
minflt_now(void)
{
    struct rusage ru;

    ASSERT(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_minflt;
}

/*
 * The flusher syncs the vault before every LMDB commit. When that sync
 * took the index too (vault.c's first version), every synced page of the
 * shared map was write-protected again and the next cell store into it
 * faulted: with the cells on random pages, about one fault a new
 * subject (40,000 subjects, a sync every 100: ~40,000 faults; new-
 * subject-heavy replays ran ~15% slower, issue 7). vault_sync_file()
 * syncs the index once per 65,536 new slots, and the growth past
 * 32,768 subjects (a new index file) syncs nothing on the main thread:
 * the faults are about the index's pages once plus the vault's own.
 * Then a "kill -9" (the child ends without closing) and an open: the
 * slots the index header did not cover are re-read (at most 65,536
 * plus one growth step) and every subject is found.
 */
static void
test_index_sync_faults(void)
{
    enum { N = 40000, EVERY = 100 };
    struct vault *v;
    struct pseudo t;
    long before, faults;
    uint64_t syncs;
    pid_t pid;
    int st;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    syncs = vault_index_syncs(v);
    before = minflt_now();
    for (uint32_t i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(700000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_DEVICE, true, &t, NULL));
        if (i % EVERY == EVERY - 1)
            ASSERT_OK(vault_sync_file(v));
    }
    faults = minflt_now() - before;
    printf("  %d subjects, a vault_sync_file() every %d: %ld page faults, "
           "%" PRIu64 " index syncs\n",
        N, EVERY, faults, vault_index_syncs(v) - syncs);
    ASSERT(faults < 2000);
    ASSERT_EQ(vault_index_syncs(v), syncs); /* fewer than 65,536 new,
                                               and the growth */
    vault_close(v);

    /* Past 65,536 new slots the flusher's sync takes the index. */
    ASSERT_OK(vault_open(path, false, &v));
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        for (uint32_t i = 0; i < 70000; i++) {
            struct pseudo p = pseudo_n(800000 + i);

            if (vault_token(v, &p, VAULT_KIND_DEVICE, true, &t, NULL) != 0 ||
                (i % 1000 == 999 && vault_sync_file(v) != 0))
                _exit(2);
        }
        (void)raise(SIGKILL);
        _exit(3);
    }
    ASSERT(waitpid(pid, &st, 0) == pid);
    ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N + 70000);
    /* The growth past 65,536 subjects left a header claiming nothing,
     * and the next flusher sync made the index durable: what is re-read
     * is what came since (under 65,536 plus a growth step), not the
     * 110,000 subjects. */
    ASSERT(vault_open_scanned(v) < 65536 + 16384);
    ASSERT_EQ(found_both_ways(v, 800000, 70000), 70000);
    ASSERT_EQ(found_both_ways(v, 700000, N), N);
    vault_close(v);
}

/* In a child: open, add subjects base.. until the crash point `cp`
 * (VIGIL_CRASHPOINT syntax) kills it; erase the first `erase` subjects
 * first (synced). The parent checks the child died of SIGKILL. */
static void
child_killed_at(const char *cp, uint32_t base, uint32_t n, uint32_t erase)
{
    pid_t pid = fork();
    int st;

    ASSERT(pid >= 0);
    if (pid == 0) {
        struct vault *v;
        struct pseudo t;

        if (setenv("VIGIL_CRASHPOINT", cp, 1) != 0)
            _exit(2);
        crashpoint_init();
        if (vault_open(path, false, &v) != 0)
            _exit(2);
        for (uint32_t i = 0; i < erase; i++) {
            struct pseudo p = pseudo_n(base + i);

            if (vault_token(v, &p, VAULT_KIND_EMAIL, false, &t, NULL) != 0 ||
                vault_erase(v, &t) != 0)
                _exit(2);
        }
        for (uint32_t i = erase; i < n; i++) {
            struct pseudo p = pseudo_n(base + i);

            if (vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL) != 0)
                _exit(2);
        }
        _exit(3); /* the crash point was never reached */
    }
    ASSERT(waitpid(pid, &st, 0) == pid);
    ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/*
 * kill -9 inside an index update: between a slot's two cells
 * (vault.cell), right after a slot was written (vault.slot), inside an
 * erasure's cell deletions (vault.erase), and after a rehash built its
 * new index but before it replaced the old one (vault.rehash). Each
 * time every subject whose slot was written is found both ways after
 * reopening, none twice, and the count agrees.
 */
static void
test_kill_in_index_update(void)
{
    struct vault *v;
    struct pseudo t;

    unlink(path);
    ASSERT_OK(vault_open(path, true, &v));
    for (uint32_t i = 0; i < 1000; i++) {
        struct pseudo p = pseudo_n(600000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
    }
    ASSERT_OK(vault_sync(v));
    vault_close(v);

    /* The 500th new subject: its slot and by-pseudonym cell written, its
     * by-token cell not. */
    child_killed_at("vault.cell:500", 700000, 2000, 0);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) < 16384);
    ASSERT_EQ(vault_count(v), 1500);
    ASSERT_EQ(found_both_ways(v, 600000, 1000), 1000);
    ASSERT_EQ(found_both_ways(v, 700000, 2000), 500);
    vault_close(v);

    /* The 10th: slot written, no cell. */
    child_killed_at("vault.slot:10", 710000, 2000, 0);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 1510);
    ASSERT_EQ(found_both_ways(v, 710000, 2000), 10);
    vault_close(v);

    /* An erasure of subject 600000 killed between its two cells'
     * deletions: the index says "erasing" and is rebuilt; the slot was
     * not yet zeroed, so the subject is still there (erase.c finishes a
     * pending erasure at start-up), and everything else too. */
    child_killed_at("vault.erase:1", 600000, 1, 1);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) >= 1510);
    ASSERT_EQ(vault_count(v), 1510);
    ASSERT_EQ(found_both_ways(v, 600000, 1000), 1000);
    ASSERT_EQ(found_both_ways(v, 700000, 2000), 500);
    {
        struct pseudo p = pseudo_n(600000);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, false, &t, NULL));
        ASSERT_OK(vault_erase(v, &t));
        ASSERT_OK(vault_sync(v));
    }
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) < 16384);
    ASSERT_EQ(vault_count(v), 1509);
    ASSERT_EQ(found_both_ways(v, 600000, 1000), 999);
    vault_close(v);

    /* Growing past half the index (65,536 cells a table): killed after
     * the new index was built, before it replaced the old one. */
    child_killed_at("vault.rehash:1", 800000, 40000, 0);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 1509 + 32768 - 1510);
    ASSERT_EQ(found_both_ways(v, 800000, 40000), 32768 - 1510);
    ASSERT(vault_open_scanned(v) <= 32768 - 1510 + 16384);
    /* The next growth replaces it (and the leftover). */
    for (uint32_t i = 0; i < 2000; i++) {
        struct pseudo p = pseudo_n(900000 + i);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
    }
    ASSERT_OK(vault_sync(v));
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) < 16384);
    ASSERT_EQ(found_both_ways(v, 900000, 2000), 2000);
    ASSERT_EQ(found_both_ways(v, 800000, 40000), 32768 - 1510);
    vault_close(v);
}

/* Write `len` bytes of `b` to `name` (replacing it). */
static void
spill(const char *name, const uint8_t *b, size_t len)
{
    FILE *f = fopen(name, "wb");

    ASSERT(f != NULL);
    ASSERT(fwrite(b, 1, len, f) == len);
    ASSERT(fclose(f) == 0);
}

/*
 * A power cut: what was written after the last sync reaches the disk
 * in any part, page by page, in any order. Made here from two images of
 * each file, the synced one and the one the process left: every 4 KiB
 * page of the index and of the vault taken from one or the other at
 * random, and the vault's last page torn (half of it old). Whatever the
 * mix: the subjects synced are found both ways, every slot the vault
 * file holds intact is found, nothing twice, and new subjects work.
 */
static void
test_power_cut(void)
{
    struct vault *v;
    struct pseudo t;
    uint8_t *vs, *is, *vn, *in;
    size_t vsl, isl, vnl, inl;

    for (unsigned round = 0; round < 6; round++) {
        uint32_t base = 1000000 + round * 100000;
        pid_t pid;
        int st;

        unlink(path);
        ASSERT_OK(vault_open(path, true, &v));
        for (uint32_t i = 0; i < 5000; i++) {
            struct pseudo p = pseudo_n(base + i);

            ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
        }
        ASSERT_OK(vault_sync(v));
        vault_close(v);
        vs = slurp_file(path, &vsl);
        is = slurp_file(idx_path, &isl);
        /* 3,000 more, never synced (a child killed: the page cache). */
        pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            if (vault_open(path, false, &v) != 0)
                _exit(2);
            for (uint32_t i = 5000; i < 8000; i++) {
                struct pseudo p = pseudo_n(base + i);

                if (vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL) != 0)
                    _exit(2);
            }
            (void)raise(SIGKILL);
            _exit(3);
        }
        ASSERT(waitpid(pid, &st, 0) == pid);
        ASSERT(WIFSIGNALED(st));
        vn = slurp_file(path, &vnl);
        in = slurp_file(idx_path, &inl);
        ASSERT_EQ(isl, inl); /* no rehash in between */
        ASSERT(vnl >= vsl);
        srand(round + 1);
        for (size_t off = 0; off < inl; off += 4096)
            if (rand() % 2 == 0)
                memcpy(in + off, is + off, 4096);
        for (size_t off = 0; off < vsl; off += 4096) {
            size_t n = vsl - off < 4096 ? vsl - off : 4096;

            if (rand() % 2 == 0)
                memcpy(vn + off, vs + off, n);
        }
        {
            /* The slots 5000..8000 end near byte 64 * 8001: tear the
             * page holding the last one in half (old half is zeros). */
            size_t last = 64 * 8000, page = last & ~(size_t)4095;

            memset(vn + page + 2048, 0, 2048);
        }
        spill(path, vn, vnl);
        spill(idx_path, in, inl);
        ASSERT_OK(vault_open(path, false, &v));
        ASSERT(vault_open_scanned(v) < 3000 + 16384);
        ASSERT_EQ(found_both_ways(v, base, 5000), 5000);
        {
            /* Every intact slot of the file is found, by its own key. */
            uint32_t intact = 0;

            for (size_t i = 0; 64 * (i + 2) <= vnl; i++) {
                const uint8_t *sl = vn + 64 * (i + 1);

                if (sl[4] != 1)
                    continue;
                intact++;
            }
            ASSERT_EQ(found_both_ways(v, base, 8000), vault_count(v));
            ASSERT(intact >= vault_count(v));
        }
        /* The lost ones come back new (the journal's replay). */
        for (uint32_t i = 0; i < 8000; i++) {
            struct pseudo p = pseudo_n(base + i);

            ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
        }
        ASSERT_EQ(vault_count(v), 8000);
        ASSERT_OK(vault_sync(v));
        vault_close(v);
        ASSERT_OK(vault_open(path, false, &v));
        ASSERT_EQ(vault_count(v), 8000);
        ASSERT_EQ(found_both_ways(v, base, 8000), 8000);
        vault_close(v);
        free(vs);
        free(is);
        free(vn);
        free(in);
    }
}

/*
 * A version 1 vault (no id, no index) is migrated at open: every slot
 * read once, the header made version 2, the index built; the next open
 * is fast. An index made for another vault is rebuilt, not trusted.
 */
static void
test_migrate_v1(void)
{
    enum { N = 3000 };
    uint8_t h[64], *file, slot[64];
    struct vault *v;
    struct pseudo t;
    size_t len;
    int fd;

    unlink(path);
    unlink(idx_path);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT(fd >= 0);
    memset(h, 0, sizeof(h));
    memcpy(h, "VIGILVLT", 8);
    bytes_put_le32(h + 8, 1);
    bytes_put_le32(h + 12, 64);
    bytes_put_le32(h + 60, crc32c(0, h, 60));
    ASSERT(pwrite(fd, h, 64, 0) == 64);
    for (uint32_t i = 0; i < N; i++) {
        struct pseudo p = pseudo_n(1700000 + i);

        memset(slot, 0, sizeof(slot));
        if (i % 10 != 3) { /* every tenth one erased (zeros) */
            slot[4] = 1;
            slot[5] = VAULT_KIND_CARD;
            memcpy(slot + 8, p.b, 16);
            randombytes_buf(slot + 24, 16);
            crypto_generichash(slot + 40, 16, p.b, 16, slot + 24, 16);
            bytes_put_le32(slot, crc32c(0, slot + 4, 60));
        }
        ASSERT(pwrite(fd, slot, 64, 64 * (i + 1)) == 64);
    }
    close(fd);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_open_scanned(v), N);
    ASSERT_EQ(vault_count(v), N - N / 10);
    ASSERT_EQ(found_both_ways(v, 1700000, N), N - N / 10);
    vault_close(v);
    file = slurp(&len);
    ASSERT_EQ(file[8], 2);
    free(file);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) < 16384);
    ASSERT_EQ(vault_count(v), N - N / 10);
    {
        struct pseudo p = pseudo_n(1700000 + N);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_CARD, true, &t, NULL));
        ASSERT_OK(vault_sync(v));
    }
    vault_close(v);

    /* Another vault's index in its place: not trusted. */
    {
        char other[300], oidx[310];
        struct vault *o;

        snprintf(other, sizeof(other), "%s/other.vault", root);
        snprintf(oidx, sizeof(oidx), "%s.idx", other);
        ASSERT_OK(vault_open(other, true, &o));
        vault_close(o);
        ASSERT(rename(oidx, idx_path) == 0);
        unlink(other);
    }
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT(vault_open_scanned(v) >= N);
    ASSERT_EQ(vault_count(v), N - N / 10 + 1);
    ASSERT_EQ(found_both_ways(v, 1700000, N + 1), N - N / 10 + 1);
    vault_close(v);
}

int
main(void)
{
    log_init("test_vault", true);
    ASSERT(sodium_init() >= 0);
    ASSERT(mkdtemp(root) != NULL);
    snprintf(path, sizeof(path), "%s/%s", root, VAULT_FILE);
    snprintf(idx_path, sizeof(idx_path), "%s.idx", path);
    RUN(test_create_token_reopen);
    RUN(test_erase);
    RUN(test_salts_and_writes);
    RUN(test_many);
    RUN(test_damage);
    RUN(test_refused_files);
    RUN(test_tokenize);
    RUN(test_open_cost);
    RUN(test_index_sync_faults);
    RUN(test_kill_in_index_update);
    RUN(test_power_cut);
    RUN(test_migrate_v1);
    rm_rf(root);
    return 0;
}
