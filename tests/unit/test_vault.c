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
 * intact), a missing file without create.
 *
 * SPDX-License-Identifier: MIT
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/event.h"
#include "common/log.h"
#include "scorer/vault.h"
#include "tests/harness/test.h"

static char root[] = "/tmp/vigil-test-vault-XXXXXX";
static char path[256];

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

/* The whole file into a heap buffer; *len its size. */
static uint8_t *
slurp(size_t *len)
{
    FILE *f = fopen(path, "rb");
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

    /* Not written yet (the journal carries the salt until then)... */
    file = slurp(&len);
    ASSERT_EQ(len, VAULT_SLOT_BYTES);
    free(file);
    ASSERT_OK(vault_write(v));
    /* ...then the slot as vault.h specifies it; the token from its salt. */
    file = slurp(&len);
    ASSERT_EQ(len, 2 * VAULT_SLOT_BYTES);
    ASSERT_MEM_EQ(file, "VIGILVLT", 8);
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

    /* A new salt for a is another token; the freed slot is reused. */
    ASSERT_OK(vault_token(v, &a, VAULT_KIND_ACCOUNT, true, &tc, NULL));
    ASSERT(memcmp(tc.b, ta.b, PSEUDO_BYTES) != 0);
    vault_close(v);
    file = slurp(&len);
    ASSERT_EQ(len, 3 * VAULT_SLOT_BYTES);
    free(file);

    /* Reopened, an erased slot is free and stays unknown. */
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_OK(vault_erase(v, &tc));
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_EQ(vault_lookup_token(v, &tc, NULL, NULL), ERR_NOTFOUND);
    c = pseudo_n(12);
    ASSERT_OK(vault_token(v, &c, VAULT_KIND_DEVICE, true, &tc, NULL));
    vault_close(v);
    file = slurp(&len);
    ASSERT_EQ(len, 3 * VAULT_SLOT_BYTES);
    free(file);
}

/*
 * Salts come from a pooled random block (VAULT_RANDOM_BYTES at a time):
 * across several refills every salt is distinct and none is zero; the
 * slots are written in runs by vault_write(), an erased one as zeros,
 * and a slot reused before the write holds the new subject.
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
    /* Erase slot 7 before it was ever written, and reuse it. */
    ASSERT_OK(vault_erase(v, &tok[7]));
    {
        struct pseudo p = pseudo_n(90000);

        ASSERT_OK(vault_token(v, &p, VAULT_KIND_EMAIL, true, &t, NULL));
    }
    file = slurp(&len);
    ASSERT(len < (N + 1) * VAULT_SLOT_BYTES); /* not written yet */
    free(file);
    ASSERT_OK(vault_write(v));
    file = slurp(&len);
    ASSERT_EQ(len, (N + 1) * VAULT_SLOT_BYTES);
    ASSERT(!contains(file, len, salts[7], VAULT_SALT_BYTES));
    ASSERT(contains(file, len, salts[8], VAULT_SALT_BYTES));
    ASSERT_EQ(file[VAULT_SLOT_BYTES * 8 + 5], VAULT_KIND_EMAIL); /* slot 7 */
    free(file);
    ASSERT_OK(vault_write(v)); /* nothing left: a no-op */
    vault_close(v);
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_count(v), N);
    ASSERT_OK(vault_lookup_token(v, &t, NULL, &kind));
    ASSERT_EQ(kind, VAULT_KIND_EMAIL);
    ASSERT_OK(vault_lookup_token(v, &tok[N - 1], NULL, NULL));
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
    ASSERT_OK(vault_open(path, false, &v));
    ASSERT_EQ(vault_damaged(v), 1);
    ASSERT_EQ(vault_count(v), 1);
    ASSERT_EQ(
        vault_token(v, &a, VAULT_KIND_EMAIL, false, &t, NULL), ERR_NOTFOUND);
    ASSERT_OK(vault_token(v, &b, VAULT_KIND_EMAIL, false, &t, NULL));
    vault_close(v);

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

    ASSERT_OK(vault_tokenize(v, &ev, true, &out, &named, &made));
    ASSERT_EQ(made.n, 7); /* account order ip ip24 ip16 email card */
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
    ASSERT_MEM_EQ(&out, &out2, sizeof(out));
    vault_close(v);
}

int
main(void)
{
    log_init("test_vault", true);
    ASSERT(sodium_init() >= 0);
    ASSERT(mkdtemp(root) != NULL);
    snprintf(path, sizeof(path), "%s/%s", root, VAULT_FILE);
    RUN(test_create_token_reopen);
    RUN(test_erase);
    RUN(test_salts_and_writes);
    RUN(test_many);
    RUN(test_damage);
    RUN(test_refused_files);
    RUN(test_tokenize);
    rm_rf(root);
    return 0;
}
