/*
 * main.c - vigilctl: Vigil's command-line tool; the command table and
 *          dispatch
 *
 * Subcommands are rows of one table, `cmds[]`: a name of one or more
 * words ("audit verify"), the synopsis of its arguments, a handler and a
 * one-line help. main() finds the longest row whose words start argv and
 * calls its handler with the remaining arguments; "help", -h and a
 * partial name ("vigilctl audit") list the rows. The audit commands
 * (cmd_audit.c) read an audit directory (a copy, for verification)
 * directly and read-only (CONVENTIONS.md ownership rule 7); the query
 * and subject commands (cmd_query.c, cmd_subject.c) go through the
 * scorer's query endpoint, which audits them. No command opens LMDB.
 *
 * Invariants:
 *  - exit status 0 ok, 1 the data is bad (verification failed, a proof
 *    does not check), 2 usage or environment error.
 *  - every JSON output is one valid JSON value encoded by jansson, even
 *    when verification fails half-way (the failure is then part of it);
 *    long record lists are streamed one record at a time (out.c).
 *
 * See also: vigilctl.h, tools/vigilctl.1, tools/vigil-audit.5,
 *           common/audit.h
 *
 * SPDX-License-Identifier: MIT
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/qproto.h"
#include "tools/vigilctl/vigilctl.h"

static const struct cmd *find_cmd(int argc, char **argv, int *words);
static int cmd_help(const struct cmd *c, int argc, char **argv);

/*
 * Every command. Add a row (and a section in vigilctl.1) for a new one;
 * rows sharing a first word are listed together by "vigilctl help".
 */
static const struct cmd cmds[] = {
    { "help", "[COMMAND ...]", cmd_help,
        "show the commands, or one command's usage", 0, NULL },
    { "audit verify",
        "DIR [--key VERIFIER] [--checkpoint SAVED ...] [--strict] "
        "[--witness VKEY ...] [--quorum N]",
        cmd_audit_verify,
        "verify every record and signed checkpoint of the audit log", 0, NULL },
    { "audit replay",
        "DIR [--from T] [--to T] [--actor A] [--subject HEX] "
        "[--purpose P] [--json] [--key VERIFIER]",
        cmd_audit_replay,
        "list the records (verifying them) that pass the filters", 0, NULL },
    { "audit prove inclusion",
        "DIR N [--size M] [--key VERIFIER] [--format json|tlog-proof]",
        cmd_audit_prove_inclusion,
        "print the proof (JSON, or C2SP tlog-proof) that record N is in "
        "the tree of M records",
        0, NULL },
    { "audit prove consistency", "DIR OLD NEW [--key VERIFIER]",
        cmd_audit_prove_consistency,
        "print the JSON proof that the log of NEW extends the log of OLD", 0,
        NULL },
    { "audit check-proof",
        "PROOF|- --key VERIFIER [--checkpoint FILE ...] [--strict] "
        "[--witness VKEY ... [--quorum N]]",
        cmd_audit_check_proof,
        "check a proof with only the verifier key and signed checkpoints", 0,
        NULL },
    { "audit export", "--json DIR [--key VERIFIER]", cmd_audit_export,
        "print the whole log as one JSON object (verifying it)", 0, NULL },
    { "audit pubkey", "[--keys-dir DIR | --signing-key FILE]", cmd_audit_pubkey,
        "print the verifier key of the audit signing key (keys_dir), to "
        "hand to auditors",
        0, NULL },
    { "subject report",
        "IDENTIFIER --purpose access-request --case REF --key VERIFIER "
        "[--kind K] [--storefront S] [--proofs DIR] [CONNECTION] [--json]",
        cmd_subject_report,
        "ask the scorer for every audited access to one person, each "
        "with an inclusion proof checked here (DPO)",
        0, NULL },
    { "subject export",
        "IDENTIFIER --purpose access-request --case REF [--kind K] "
        "[--storefront S] [CONNECTION] [--json]",
        cmd_subject_simple,
        "ask the scorer for what it holds about one person (DPO)",
        QPROTO_OP_SUBJECT_EXPORT, NULL },
    { "subject erase",
        "IDENTIFIER --purpose erasure-request --case REF [--kind K] "
        "[--storefront S] [CONNECTION] [--json]",
        cmd_subject_simple,
        "erase one person's history and destroy their salts (DPO)",
        QPROTO_OP_SUBJECT_ERASE, NULL },
    { "score",
        "ORDER --purpose P [--storefront S] [--case REF] [CONNECTION] "
        "[--json]",
        cmd_query, "ask the scorer for an order's score (audited query)",
        QPROTO_OP_SCORE_GET, NULL },
    { "account",
        "ACCOUNT --purpose P --storefront S [--case REF] [CONNECTION] "
        "[--json]",
        cmd_query,
        "ask the scorer for an account's history summary (audited query)",
        QPROTO_OP_ACCOUNT_GET, NULL },
    { "label",
        "(--order ID | --account ID) (--fraud | --legit) --purpose P "
        "--storefront S [--source S] [--case REF] [CONNECTION] [--json]",
        cmd_query,
        "record the fraud team's verdict on an order or account (analyst)",
        QPROTO_OP_LABEL, NULL },
    { "review list",
        "--purpose P [--storefront S] [--limit N] [--after CURSOR] [--case "
        "REF] [CONNECTION] [--json]",
        cmd_query,
        "list the orders waiting in review, oldest first, with score and "
        "reasons (analyst)",
        QPROTO_OP_REVIEW_LIST, NULL },
    { "review decide",
        "(ORDER | --ref REF) approve|reject --purpose P --storefront S "
        "[--note CODE] [--case REF] [CONNECTION] [--json]",
        cmd_query,
        "decide an order in review: a label (reject: fraud) that takes it "
        "out of the queue (analyst)",
        QPROTO_OP_REVIEW_DECIDE, NULL },
    { "linked",
        "ACCOUNT --purpose P --storefront S [--case REF] [CONNECTION] "
        "[--json]",
        cmd_query,
        "list the accounts sharing devices, IPs, cards or emails with an "
        "account, and their labels (analyst)",
        QPROTO_OP_LINKED_GET, NULL },
    { "list add",
        "allow|block KIND VALUE --purpose P [--storefront S] [--case REF] "
        "[CONNECTION] [--json]",
        cmd_query,
        "put an account, device, ip, card or email on the allow or block "
        "list (analyst; audited)",
        QPROTO_OP_LIST_SET, "allow|block" },
    { "list remove",
        "KIND VALUE --purpose P [--storefront S] [--case REF] [CONNECTION] "
        "[--json]",
        cmd_query, "take an entity off the allow and block lists",
        QPROTO_OP_LIST_SET, "none" },
    { "list show",
        "KIND VALUE --purpose P [--storefront S] [--case REF] [CONNECTION] "
        "[--json]",
        cmd_query, "show which list an entity is on (analyst)",
        QPROTO_OP_LIST_GET, NULL },
    { "status", "[--purpose P] [CONNECTION] [--json]", cmd_query,
        "show the scorer's state: rates, errors, queues, disk, LMDB, "
        "audit (admin)",
        QPROTO_OP_STATUS, NULL },
    { "client add",
        "NAME --role ROLE [--keys-dir DIR] [--clients-dir DIR] [--user U]",
        cmd_client_add,
        "make a client's certificate and admit it (roles: storefront, "
        "analyst, auditor, dpo, admin)",
        0, NULL },
    { "client list", "[--keys-dir DIR] [--clients-dir DIR] [--user U] [--json]",
        cmd_client_list, "list the admitted clients: name, role, key", 0,
        NULL },
    { "client revoke", "NAME [--keys-dir DIR] [--clients-dir DIR] [--user U]",
        cmd_client_revoke, "remove a client's certificate from the allow-list",
        0, NULL },
    { "server-key", "[--keys-dir DIR] [--user U]", cmd_server_key,
        "print the servers' public CURVE key (clients pin it)", 0, NULL },
};

void
cmd_usage(const struct cmd *c, FILE *f)
{
    fprintf(f, "usage: %s %s %s\n  %s\n", PROGNAME, c->name, c->args, c->help);
}

int
cmd_usage_error(const struct cmd *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", PROGNAME);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cmd_usage(c, stderr);
    return EXIT_USAGE;
}

void
cmd_getopt_begin(void)
{
    opterr = 0;
    optind = 1;
}

int
cmd_getopt(int argc, char **argv, const struct option *longopts, bool *help)
{
    int ch;

    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) == 'h')
        *help = true;
    return ch;
}

int
cmd_operands(const struct cmd *c, bool help, int argc, int min, int max)
{
    if (help) {
        cmd_usage(c, stdout);
        return -1;
    }
    if (argc - optind < min || argc - optind > max)
        return cmd_usage_error(c, "wrong number of arguments");
    return 0;
}

int
cmd_exit_for(int rc)
{
    if (rc == 0)
        return EXIT_OK;
    return rc == ERR_CORRUPT ? EXIT_BAD : EXIT_USAGE;
}

static void
usage_all(FILE *f)
{
    fprintf(f,
        "usage: %s COMMAND [ARGS...]\n       %s -h | help "
        "[COMMAND]\n\ncommands:\n",
        PROGNAME, PROGNAME);
    for (size_t i = 0; i < ARRAY_LEN(cmds); i++)
        fprintf(
            f, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args, cmds[i].help);
    fprintf(f,
        "\nCONNECTION (requests to the scorer): [--endpoint E] [--cert "
        "FILE] [--server-key KEY|FILE] [--keys-dir DIR] [--insecure-dev];\n"
        "  defaults: tcp://127.0.0.1:7011, $VIGIL_CERT, $VIGIL_SERVER_KEY "
        "or DIR/server.key, $VIGIL_KEYS_DIR or /etc/vigil\n"
        "\nexit status: 0 ok, 1 the data is bad (e.g. verification "
        "failed, or the scorer refused), 2 usage or environment error\n"
        "see vigilctl(1), vigil-audit(5)\n");
}

/* Does `name` start with the words argv[0..argc)? (prefix listing) */
static bool
name_has_prefix(const char *name, int argc, char **argv)
{
    const char *p = name;

    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);

        if (strncmp(p, argv[i], n) != 0 || (p[n] != ' ' && p[n] != '\0'))
            return false;
        p += n;
        if (*p == ' ')
            p++;
        else if (i + 1 < argc)
            return false;
    }
    return true;
}

/* List the rows that start with argv's words; returns how many. */
static int
list_prefix(FILE *f, int argc, char **argv)
{
    int n = 0;

    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        if (name_has_prefix(cmds[i].name, argc, argv)) {
            cmd_usage(&cmds[i], f);
            n++;
        }
    }
    return n;
}

static int
cmd_help(const struct cmd *c, int argc, char **argv)
{
    const struct cmd *t;
    int words;

    (void)c;
    if (argc <= 1) {
        usage_all(stdout);
        return EXIT_OK;
    }
    t = find_cmd(argc - 1, argv + 1, &words);
    if (t != NULL && words == argc - 1) {
        cmd_usage(t, stdout);
        return EXIT_OK;
    }
    if (list_prefix(stdout, argc - 1, argv + 1) > 0)
        return EXIT_OK;
    fprintf(stderr, "%s: no command '%s'\n", PROGNAME, argv[1]);
    return EXIT_USAGE;
}

/* The longest row whose words start argv; *words gets its word count. */
static const struct cmd *
find_cmd(int argc, char **argv, int *words)
{
    const struct cmd *best = NULL;
    int bestw = 0;

    for (size_t i = 0; i < ARRAY_LEN(cmds); i++) {
        const char *p = cmds[i].name;
        int w = 0;

        while (*p != '\0' && w < argc) {
            size_t n = strcspn(p, " ");

            if (strlen(argv[w]) != n || strncmp(p, argv[w], n) != 0)
                break;
            p += n;
            w++;
            if (*p == ' ')
                p++;
            else if (*p != '\0')
                break;
        }
        if (*p == '\0' && w > bestw) {
            best = &cmds[i];
            bestw = w;
        }
    }
    *words = bestw;
    return best;
}

int
main(int argc, char **argv)
{
    const struct cmd *c;
    int words, status;

    log_init(PROGNAME, true);
    if (sodium_init() < 0) {
        fprintf(stderr, "%s: cannot initialise libsodium\n", PROGNAME);
        return EXIT_USAGE;
    }
    out_init();
    if (argc < 2) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage_all(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", PROGNAME, VIGIL_VERSION);
        return EXIT_OK;
    }
    c = find_cmd(argc - 1, argv + 1, &words);
    if (c == NULL) {
        if (list_prefix(stderr, argc - 1, argv + 1) == 0) {
            fprintf(stderr, "%s: unknown command '%s'\n", PROGNAME, argv[1]);
            usage_all(stderr);
        }
        return EXIT_USAGE;
    }
    /* The handler sees argv[0] = the command's last word. */
    status = c->handler(c, argc - words, argv + words);
    /* A --json document cut short (full disk, closed pipe) must not
     * exit 0: every write to stdout is checked here, once. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output\n", PROGNAME);
        return EXIT_USAGE;
    }
    return status;
}
