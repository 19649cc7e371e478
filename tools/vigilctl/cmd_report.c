/*
 * cmd_report.c - `vigilctl audit subject report`: every audited access
 *                to one data subject, each with a verified inclusion proof
 *
 * For a data-protection officer answering an access request. The
 * identifier typed is turned into its keyed pseudonym with the data
 * directory's pseudonym key (pseudo_identifier(), the same bytes the
 * scorer records); the subject index (common/subjidx) names the records
 * to expect; one verifying pass over the whole log (audit_replay())
 * cross-checks each record's subjects and keeps every leaf hash
 * (merkle_levels, about 64 bytes per record), so that each access then
 * gets its RFC 9162 inclusion proof in O(log n) and is verified before
 * it is printed. A missing or lagging index only costs a warning.
 *
 * Invariants:
 *  - the identifier typed appears only on the human header line; the
 *    records, the JSON and stderr hold pseudonyms only.
 *  - every listed record holds the subject (the scan decides; index
 *    entries that disagree are ignored with a warning).
 *
 * See also: vigilctl.h, tools/vigilctl.1, common/subjidx.h,
 *           common/pseudo.h, common/merkle.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <sodium.h>

#include "common/audit.h"
#include "common/err.h"
#include "common/merkle.h"
#include "common/pseudo.h"
#include "common/qproto.h"
#include "common/subjidx.h"
#include "common/utctime.h"
#include "common/xmalloc.h"
#include "common/zclient.h"
#include "tools/vigilctl/vigilctl.h"

/* Options of the subject report. */
struct ropts {
    const char *key;        /* --key VERIFIER, or NULL */
    const char *kind;       /* "account", "email", ... */
    const char *ident;      /* the identifier typed */
    const char *storefront; /* whose account or order id it is */
    const char *keys_dir;   /* holds pseudonym.key */
    bool json;
    bool help;
};

enum {
    ROPT_KEY = 256,
    ROPT_JSON,
    ROPT_STOREFRONT,
    ROPT_KEYS_DIR,
    ROPT_ACCOUNT, /* the identifier options, in the order of kinds[] */
    ROPT_EMAIL,
    ROPT_PHONE,
    ROPT_CARD,
    ROPT_DEVICE,
    ROPT_IP,
};

/* Parse the report's options; leaves the operands in argv[optind..argc).
 * Returns 0 or EXIT_USAGE (after printing why). */
static int
get_ropts(const struct cmd *c, int argc, char **argv, struct ropts *o)
{
    static const struct option longopts[] = {
        { "key", required_argument, NULL, ROPT_KEY },
        { "json", no_argument, NULL, ROPT_JSON },
        { "storefront", required_argument, NULL, ROPT_STOREFRONT },
        { "keys-dir", required_argument, NULL, ROPT_KEYS_DIR },
        { "account", required_argument, NULL, ROPT_ACCOUNT },
        { "email", required_argument, NULL, ROPT_EMAIL },
        { "phone", required_argument, NULL, ROPT_PHONE },
        { "card", required_argument, NULL, ROPT_CARD },
        { "device", required_argument, NULL, ROPT_DEVICE },
        { "ip", required_argument, NULL, ROPT_IP },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* pseudo_identifier() kinds, one per identifier option. */
    static const char *const kinds[] = { "account", "email", "phone", "card",
        "device", "ip" };
    int ch;

    memset(o, 0, sizeof(*o));
    o->keys_dir = getenv("VIGIL_KEYS_DIR");
    if (o->keys_dir == NULL || o->keys_dir[0] == '\0')
        o->keys_dir = ZCLIENT_DEFAULT_KEYS_DIR;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'h':
            o->help = true;
            break;
        case ROPT_KEY:
            o->key = optarg;
            break;
        case ROPT_JSON:
            o->json = true;
            break;
        case ROPT_STOREFRONT:
            o->storefront = optarg;
            break;
        case ROPT_KEYS_DIR:
            o->keys_dir = optarg;
            break;
        case ROPT_ACCOUNT:
        case ROPT_EMAIL:
        case ROPT_PHONE:
        case ROPT_CARD:
        case ROPT_DEVICE:
        case ROPT_IP:
            if (o->kind != NULL)
                return cmd_usage_error(c, "give exactly one identifier option");
            o->kind = kinds[ch - ROPT_ACCOUNT];
            o->ident = optarg;
            break;
        default:
            return cmd_usage_error(
                c, "unknown or misplaced option '%s'", argv[optind - 1]);
        }
    }
    return 0;
}

/* One access found for the subject. */
struct subj_hit {
    struct audit_record rec;
    uint8_t leaf[MERKLE_HASH_BYTES];
    bool in_index; /* the index named it */
    bool in_scan;  /* the scan found the subject in it */
};

struct subj_ctx {
    uint8_t subject[AUDIT_SUBJECT_BYTES];
    const uint64_t *idx; /* sorted record indices from the index */
    size_t nidx;
    size_t next;                 /* first idx entry not yet passed */
    struct merkle_levels levels; /* every leaf: proofs without re-reading */
    struct subj_hit *hits;
    size_t nhits;
    size_t cap;
};

static int
subject_cb(void *arg, const struct audit_entry *e)
{
    struct subj_ctx *x = arg;
    const struct audit_record *r = e->rec;
    bool in_index = false, in_scan = false;
    struct subj_hit *h;

    merkle_levels_append(&x->levels, e->leaf_hash);
    while (x->next < x->nidx && x->idx[x->next] < r->index)
        x->next++;
    if (x->next < x->nidx && x->idx[x->next] == r->index)
        in_index = true;
    for (unsigned i = 0; i < r->nsubj; i++)
        if (memcmp(r->subj[i], x->subject, AUDIT_SUBJECT_BYTES) == 0)
            in_scan = true;
    if (!in_index && !in_scan)
        return 0;
    if (x->nhits == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->hits = xreallocarray(x->hits, x->cap, sizeof(*x->hits));
    }
    h = &x->hits[x->nhits++];
    h->rec = *r;
    memcpy(h->leaf, e->leaf_hash, MERKLE_HASH_BYTES);
    h->in_index = in_index;
    h->in_scan = in_scan;
    return 0;
}

/* Compute the subject of `kind` ("account", "email", ...) and `ident`
 * with the pseudonym key in `keys_dir`; says why not on stderr. Returns
 * EXIT_OK or EXIT_USAGE. */
static int
subject_compute(const char *keys_dir, const char *kind, const char *ident,
    const char *storefront, uint8_t out[AUDIT_SUBJECT_BYTES])
{
    struct pseudo_key *pk = NULL;
    struct pseudo p;
    char path[4096];
    int rc;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", keys_dir,
            PSEUDO_KEY_FILE) >= sizeof(path)) {
        fprintf(stderr, "%s: %s: path too long\n", PROGNAME, keys_dir);
        return EXIT_USAGE;
    }
    rc = pseudo_key_open(path, false, &pk);
    if (rc != 0) {
        fprintf(stderr, "%s: %s: cannot load the pseudonym key: %s\n", PROGNAME,
            path, err_str(rc));
        return EXIT_USAGE;
    }
    /* An account id is the storefront's own: scoped to it (pseudo.h). */
    if (strcmp(kind, "account") == 0)
        rc = pseudo_scoped(pk, kind, storefront, ident, &p);
    else
        rc = pseudo_identifier(pk, kind, ident, &p);
    pseudo_key_close(pk);
    if (rc == 0)
        memcpy(out, p.b, AUDIT_SUBJECT_BYTES);
    sodium_memzero(&p, sizeof(p));
    if (rc != 0) {
        fprintf(stderr,
            "%s: --%s: not a usable %s identifier (%s): nothing is left "
            "after normalization, or it does not parse\n",
            PROGNAME, kind, kind, err_str(rc));
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int
cmd_audit_subject_report(const struct cmd *c, int argc, char **argv)
{
    struct audit_verify_result *res = NULL;
    struct subj_ctx x;
    struct out_stream js;
    struct ropts o;
    char dir[4096], origin[AUDIT_MAX_ORIGIN + 1], t[UTCTIME_TEXT_MAX];
    char cats[OUT_CATS_MAX];
    char subjhex[2 * AUDIT_SUBJECT_BYTES + 1];
    uint8_t root[MERKLE_HASH_BYTES];
    uint8_t(*proof)[MERKLE_HASH_BYTES] = NULL;
    uint64_t *idx = NULL, ck_size = 0;
    size_t nidx = 0, only_scan = 0, only_index = 0, nproof;
    const char *why = NULL, *index_state;
    const char *data_dir;
    bool have_ckpt = false;
    int rc, status = EXIT_OK;

    memset(&x, 0, sizeof(x));
    rc = get_ropts(c, argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.help) {
        cmd_usage(c, stdout);
        return EXIT_OK;
    }
    if (argc - optind != 1)
        return cmd_usage_error(c, "wrong number of arguments");
    if (o.kind == NULL || o.ident == NULL)
        return cmd_usage_error(c,
            "name the subject: --account, --email, --phone, --card, "
            "--device or --ip");
    data_dir = argv[optind];
    if (strcmp(o.kind, "account") == 0 && o.storefront == NULL)
        return cmd_usage_error(c, "--account needs --storefront (whose id)");
    rc = subject_compute(o.keys_dir, o.kind, o.ident,
        o.storefront != NULL ? o.storefront : "", x.subject);
    if (rc != EXIT_OK)
        return rc;
    for (size_t i = 0; i < AUDIT_SUBJECT_BYTES; i++)
        snprintf(subjhex + 2 * i, 3, "%02x", x.subject[i]);
    if ((size_t)snprintf(dir, sizeof(dir), "%s/audit", data_dir) >= sizeof(dir))
        return cmd_usage_error(c, "data directory path too long");

    /* 1. The index: which records name the subject. */
    rc = subjidx_read(data_dir, x.subject, &idx, &nidx);
    if (rc == 0) {
        index_state = "used";
    } else {
        index_state = "missing";
        fprintf(stderr,
            "%s: warning: the subject index in %s/%s cannot be read "
            "(%s): falling back to a full scan of the log\n",
            PROGNAME, data_dir, SUBJIDX_ENV_DIR, err_str(rc));
    }
    x.idx = idx;
    x.nidx = nidx;

    /*
     * 2. One verifying pass over the whole log: it collects the records
     * (from the index, cross-checked by subject) and keeps every leaf
     * hash (merkle_levels, about 64 bytes per record), so that each
     * inclusion proof is then O(log n) lookups, not a rebuild.
     */
    merkle_levels_init(&x.levels);
    res = xmalloc(sizeof(*res));
    rc = audit_replay(dir, o.key, NULL, subject_cb, &x, res);
    if (rc != 0) {
        out_verify_failure(dir, rc, res);
        status = cmd_exit_for(rc);
        goto out;
    }
    for (size_t i = 0; i < x.nhits; i++) {
        if (!x.hits[i].in_index)
            only_scan++;
        if (!x.hits[i].in_scan)
            only_index++;
    }
    if (rc == 0 && strcmp(index_state, "used") == 0 && only_scan > 0) {
        index_state = "behind";
        fprintf(stderr,
            "%s: warning: the subject index is behind the log (%zu "
            "record(s) found only by the scan): they are listed too\n",
            PROGNAME, only_scan);
    }
    if (only_index > 0)
        fprintf(stderr,
            "%s: warning: %zu index entr%s name records that do not hold "
            "the subject: ignored (the index is rebuilt by the scorer)\n",
            PROGNAME, only_index, only_index == 1 ? "y" : "ies");

    /* 3. The latest signed checkpoint (verified by the pass). */
    if (res->note_len > 0) {
        rc = audit_checkpoint_open(res->key, (const uint8_t *)res->note,
            res->note_len, origin, &ck_size, root, &why);
        if (rc != 0) {
            fprintf(stderr, "%s: %s: latest checkpoint: %s\n", PROGNAME, dir,
                why ? why : err_str(rc));
            status = EXIT_BAD;
            goto out;
        }
        have_ckpt = true;
    }

    if (o.json) {
        json_t *head = json_object();

        out_set(head, "kind", out_str(o.kind));
        out_set(head, "subject", out_str(subjhex));
        out_set(head, "index", out_str(index_state));
        out_set(head, "records_verified", out_u64(res->records));
        out_set(head, "checkpoint_size", out_u64(ck_size));
        out_set(head, "checkpoint",
            have_ckpt ? out_strn(res->note, res->note_len) : json_null());
        out_stream_open(&js, stdout, head, "accesses");
    } else {
        printf("subject report for %s '%s' (subject %s)\n", o.kind, o.ident,
            subjhex);
        printf("log: %s: %" PRIu64 " records verified; ", dir, res->records);
        out_key_source(res, stdout);
        if (have_ckpt)
            printf("latest signed checkpoint: size %" PRIu64 "\n", ck_size);
        else
            printf("warning: no signed checkpoint yet\n");
        printf("index: %s\n", index_state);
        printf("INDEX\tTIME\tACTOR\tROLE\tOP\tCATS\tPURPOSE\tOUTCOME\tREF"
               "\tPROOF\n");
    }
    proof = xcalloc(MERKLE_MAX_PROOF, sizeof(*proof));
    size_t shown = 0;
    for (size_t i = 0; i < x.nhits; i++) {
        const struct subj_hit *h = &x.hits[i];
        const struct audit_record *r = &h->rec;
        uint64_t size;
        const uint8_t *against;
        bool signed_ck, ok;

        if (!h->in_scan)
            continue;
        /* Against the signed checkpoint when it covers the record, else
         * against the (unsigned) root of every verified record. */
        signed_ck = have_ckpt && r->index < ck_size;
        size = signed_ck ? ck_size : res->records;
        against = signed_ck ? root : res->root;
        rc = merkle_inclusion_proof(
            merkle_levels_subtree, &x.levels, r->index, size, proof, &nproof);
        ok = rc == 0 &&
            merkle_verify_inclusion(r->index, size, h->leaf,
                (const uint8_t(*)[MERKLE_HASH_BYTES])proof, nproof,
                against) == 0;
        if (!ok)
            status = EXIT_BAD;
        if (o.json) {
            json_t *a = out_record_json(r), *pr = json_object();
            json_t *hashes = json_array();

            out_set(a, "leaf_hash", out_hex(h->leaf, MERKLE_HASH_BYTES));
            out_set(pr, "size", out_u64(size));
            out_set(pr, "signed", json_boolean(signed_ck));
            out_set(pr, "verified", json_boolean(ok));
            for (size_t j = 0; ok && j < nproof; j++)
                out_push(hashes, out_hex(proof[j], MERKLE_HASH_BYTES));
            out_set(pr, "hashes", hashes);
            out_set(a, "proof", pr);
            out_stream_item(&js, a);
        } else {
            out_time(r->ts_ms, t, sizeof(t));
            out_cats(r->cats, cats, sizeof(cats));
            printf("%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", r->index, t,
                r->actor, audit_role_name(r->role), r->op, cats[0] ? cats : "-",
                r->purpose, audit_outcome_name(r->outcome),
                r->ref[0] ? r->ref : "-");
            if (!ok)
                printf("FAILED\n");
            else if (signed_ck)
                printf(
                    "ok (%zu hashes, checkpoint %" PRIu64 ")\n", nproof, size);
            else
                printf("ok (%zu hashes, unsigned root of %" PRIu64
                       ": no checkpoint covers it yet)\n",
                    nproof, size);
        }
        shown++;
    }
    if (o.json) {
        json_t *tail = json_object();

        out_set(tail, "count", out_u64(shown));
        out_set(tail, "proofs_ok", json_boolean(status == EXIT_OK));
        out_stream_close(&js, tail);
    } else
        printf("accesses: %zu%s\n", shown,
            status == EXIT_OK ? ", every proof verified" :
                                "; SOME PROOFS FAILED");
out:
    free(proof);
    free(res);
    free(idx);
    if (x.hits != NULL) {
        sodium_memzero(x.hits, x.cap * sizeof(*x.hits));
        free(x.hits);
    }
    merkle_levels_release(&x.levels);
    sodium_memzero(x.subject, sizeof(x.subject));
    return status;
}
