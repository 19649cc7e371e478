/*
 * main.c - vigil-witness: a C2SP tlog-witness for Vigil's audit log (or
 *          any log whose checkpoints are Ed25519 signed notes)
 *
 * An auditor runs it on their own machine: the scorer pushes each new
 * checkpoint with a consistency proof (POST <prefix>/add-checkpoint) and
 * gets back a timestamped cosignature; the witness refuses anything that
 * is not consistent with what it cosigned before, so a log rewritten or
 * cut back on the server can never be cosigned again. Start-up
 * checklist: arguments, configuration, process hardening, the witness
 * key (made 0600 at first start), the state (LMDB), then the HTTP server
 * (libmicrohttpd, its own thread; 127.0.0.1 unless configured).
 *
 * Invariants:
 *  - the witness key file is the effective user's and mode 0600 (or
 *    stricter); anything else is refused at start.
 *  - every request body is capped (WITNESS_MAX_BODY) while it arrives.
 *
 * See also: witness.h, tools/vigil-witness.1, c2sp.org/tlog-witness
 *
 * SPDX-License-Identifier: MIT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "common/clock.h"
#include "common/cosig.h"
#include "common/err.h"
#include "common/harden.h"
#include "common/log.h"
#include "common/sig.h"
#include "common/store.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "tools/vigil-witness/witness.h"

#define PROGNAME        "vigil-witness"
#define DEFAULT_CONF    "/etc/vigil/vigil-witness.conf"
#define DEFAULT_LISTEN  "127.0.0.1:7380"
#define DEFAULT_STATE   "/var/lib/vigil-witness"
#define KEY_FILE        "witness.key"
#define STATE_MAP_BYTES (64u * 1024 * 1024)
#define PATH_MAX_LEN    1024

/* The configuration file, as read. */
struct conf {
    char name[NOTE_MAX_NAME + 1]; /* key name at creation */
    char listen[64];              /* "a.b.c.d:port" */
    char state[PATH_MAX_LEN];     /* the state directory */
    char key[PATH_MAX_LEN];       /* the key file ("" = state/witness.key) */
    char prefix[128];             /* submission and monitoring prefix */
};

static void
usage(void)
{
    fprintf(stderr, "usage: %s [-dknvV] [-f file]\n", PROGNAME);
    exit(1);
}

/* ------------------------------------------------------------ config */

/* Split `line` into at most 3 whitespace-separated words. */
static int
split_words(char *line, char *w[3])
{
    int n = 0;
    char *p = line;

    while (*p != '\0' && n < 4) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n == 3)
            return -1;
        w[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
    return n;
}

static int
conf_add_log(struct witness *w, const char *vkey, const char *origin)
{
    struct note_verifier v;
    struct witness_log *lg = NULL;
    size_t i;

    if (note_verifier_parse(vkey, &v) != 0)
        return ERR_MALFORMED;
    if (origin == NULL)
        origin = v.name;
    if (strlen(origin) > NOTE_MAX_ORIGIN)
        return ERR_TOOBIG;
    for (i = 0; i < w->nlogs; i++) {
        if (strcmp(w->logs[i].origin, origin) == 0)
            lg = &w->logs[i];
    }
    if (lg == NULL) {
        if (w->nlogs == WITNESS_MAX_LOGS)
            return ERR_FULL;
        lg = &w->logs[w->nlogs++];
        text_copy(lg->origin, sizeof(lg->origin), origin);
    }
    if (lg->nkeys == sizeof(lg->keys) / sizeof(lg->keys[0]))
        return ERR_FULL;
    lg->keys[lg->nkeys++] = v;
    return 0;
}

/* Read the configuration; exits 1 with file:line on any error. */
static void
conf_load(const char *path, struct conf *c, struct witness *w)
{
    char line[1024], host[256];
    FILE *f;
    unsigned lineno = 0;

    memset(c, 0, sizeof(*c));
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        text_copy(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    text_fmt(c->name, sizeof(c->name), "%s/vigil-witness", host);
    text_copy(c->listen, sizeof(c->listen), DEFAULT_LISTEN);
    text_copy(c->state, sizeof(c->state), DEFAULT_STATE);
    f = fopen(path, "r");
    if (f == NULL)
        fatal("cannot open '%s'", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *wd[3];
        int n;
        size_t len = strlen(line);

        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f))
            fatalx("%s:%u: line too long", path, lineno);
        if (line[0] == '#' || strspn(line, " \t") == len)
            continue;
        n = split_words(line, wd);
        if (n < 2)
            fatalx("%s:%u: expected 'key value'", path, lineno);
        if (strcmp(wd[0], "log") == 0) {
            int rc = conf_add_log(w, wd[1], n == 3 ? wd[2] : NULL);

            if (rc != 0)
                fatalx("%s:%u: bad log entry (want 'log <vkey> "
                       "[origin]'): %s",
                    path, lineno, err_str(rc));
            continue;
        }
        if (n != 2)
            fatalx("%s:%u: '%s' takes one value", path, lineno, wd[0]);
        if (strcmp(wd[0], "name") == 0) {
            if (!note_name_is_valid(wd[1]))
                fatalx("%s:%u: bad key name", path, lineno);
            text_copy(c->name, sizeof(c->name), wd[1]);
        } else if (strcmp(wd[0], "listen") == 0) {
            text_copy(c->listen, sizeof(c->listen), wd[1]);
        } else if (strcmp(wd[0], "state") == 0) {
            text_copy(c->state, sizeof(c->state), wd[1]);
        } else if (strcmp(wd[0], "key") == 0) {
            text_copy(c->key, sizeof(c->key), wd[1]);
        } else if (strcmp(wd[0], "prefix") == 0) {
            if (wd[1][0] != '/' || strlen(wd[1]) >= sizeof(c->prefix) - 1)
                fatalx("%s:%u: prefix must start with '/'", path, lineno);
            text_copy(c->prefix, sizeof(c->prefix), wd[1]);
            if (c->prefix[strlen(c->prefix) - 1] == '/')
                c->prefix[strlen(c->prefix) - 1] = '\0';
        } else {
            fatalx("%s:%u: unknown key '%s'", path, lineno, wd[0]);
        }
    }
    (void)fclose(f);
    if (c->key[0] == '\0')
        text_fmt(c->key, sizeof(c->key), "%s/%s", c->state, KEY_FILE);
}

/* Parse "a.b.c.d:port" into `sa`. */
static int
parse_listen(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end = NULL;
    long port;

    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return ERR_INVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 ||
        port > 65535)
        return ERR_INVAL;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return ERR_INVAL;
    return 0;
}

/* ------------------------------------------------------------ key */

/*
 * Load the witness key from `path`, creating it (0600, name `name`) if it
 * does not exist. Exits on any problem (bad start-up configuration).
 */
static void
key_load(const char *path, const char *name, struct cosig_signer *out)
{
    char buf[NOTE_MAX_KEY + 2], vkey[NOTE_MAX_KEY];
    struct stat stt;
    ssize_t n;
    int fd, rc;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        rc = cosig_key_generate(name, buf, sizeof(buf) - 1, vkey, sizeof(vkey));
        if (rc != 0)
            fatalx(
                "cannot make a witness key named '%s': %s", name, err_str(rc));
        fd = open(
            path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            fatal("cannot create '%s'", path);
        buf[strlen(buf) + 1] = '\0';
        buf[strlen(buf)] = '\n';
        if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) ||
            fsync(fd) != 0)
            fatal("cannot write '%s'", path);
        close(fd);
        log_info("made a new witness key in '%s': %s", path, vkey);
        sodium_memzero(buf, sizeof(buf));
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        fatal("cannot open '%s'", path);
    if (fstat(fd, &stt) != 0)
        fatal("cannot stat '%s'", path);
    if (!S_ISREG(stt.st_mode) || stt.st_uid != geteuid() ||
        (stt.st_mode & 077) != 0)
        fatalx("'%s': must be a regular file of this user with mode 0600 "
               "(chmod 600 '%s')",
            path, path);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        fatal("cannot read '%s'", path);
    buf[n] = '\0';
    rc = cosig_signer_parse(buf, out);
    sodium_memzero(buf, sizeof(buf));
    if (rc != 0)
        fatalx("'%s': not a cosignature key (PRIVATE+KEY+name+id+base64 of "
               "0x04 and a seed)",
            path);
}

/* ------------------------------------------------------------ HTTP */

/* One request being received. */
struct conn {
    char *buf; /* the body so far (owned) */
    size_t len;
    bool toobig;
};

/* Who handles requests. */
struct server {
    struct witness *w;
    const char *prefix;
};

static enum MHD_Result
send_reply(struct MHD_Connection *c, const struct witness_reply *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(
        r->len, (void *)(uintptr_t)r->body, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(
        resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void
simple(struct witness_reply *r, unsigned status, const char *msg)
{
    memset(r, 0, sizeof(*r));
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->len = (size_t)snprintf(r->body, sizeof(r->body), "%s\n", msg);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
    struct server *srv = cls;
    struct conn *cn = *con_cls;
    struct witness_reply *r;
    size_t plen = strlen(srv->prefix);
    enum MHD_Result ret;

    (void)version;
    if (cn == NULL) {
        cn = xcalloc(1, sizeof(*cn));
        *con_cls = cn;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!cn->toobig && cn->len + *upload_size <= WITNESS_MAX_BODY) {
            cn->buf = xreallocarray(cn->buf, cn->len + *upload_size + 1, 1);
            memcpy(cn->buf + cn->len, upload, *upload_size);
            cn->len += *upload_size;
        } else {
            cn->toobig = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    r = xmalloc(sizeof(*r));
    if (strncmp(url, srv->prefix, plen) != 0) {
        simple(r, 404, "not found");
    } else if (strcmp(url + plen, "/add-checkpoint") == 0) {
        if (strcmp(method, "POST") != 0)
            simple(r, 405, "use POST");
        else if (cn->toobig)
            simple(r, 413, "request too large");
        else
            witness_add_checkpoint(srv->w, cn->buf != NULL ? cn->buf : "",
                cn->len, clock_wall_ms() / 1000, r);
    } else {
        /* <prefix>/<64 hex>/checkpoint */
        const char *p = url + plen;
        char hex[65];

        if (strlen(p) == 1 + 64 + strlen("/checkpoint") && p[0] == '/' &&
            strcmp(p + 65, "/checkpoint") == 0 && strcmp(method, "GET") == 0) {
            memcpy(hex, p + 1, 64);
            hex[64] = '\0';
            witness_get_checkpoint(srv->w, hex, r);
        } else {
            simple(r, 404, "not found");
        }
    }
    ret = send_reply(c, r);
    free(r);
    return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    struct conn *cn = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (cn != NULL) {
        free(cn->buf);
        free(cn);
        *con_cls = NULL;
    }
}

/* ------------------------------------------------------------ main */

int
main(int argc, char **argv)
{
    const char *conf_path = DEFAULT_CONF;
    bool foreground = false, check_only = false, print_key = false;
    int verbose = 0, ch, rc;
    struct conf c;
    static struct witness w;
    struct server srv;
    struct sockaddr_in sa;
    struct store_txn *txn = NULL;
    struct MHD_Daemon *d;
    char vkey[NOTE_MAX_KEY], err[512];

    while ((ch = getopt(argc, argv, "df:knvV")) != -1) {
        switch (ch) {
        case 'd':
            foreground = true;
            break;
        case 'f':
            conf_path = optarg;
            break;
        case 'k':
            print_key = true;
            break;
        case 'n':
            check_only = true;
            break;
        case 'v':
            verbose++;
            break;
        case 'V':
            printf("%s %s\n", PROGNAME, VIGIL_VERSION);
            return 0;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();
    log_init(PROGNAME, foreground || check_only || print_key);
    log_setverbose(verbose);
    if (sodium_init() < 0)
        fatalx("sodium_init failed");

    conf_load(conf_path, &c, &w);
    if (parse_listen(c.listen, &sa) != 0)
        fatalx("%s: listen '%s': want an IPv4 address and a port", conf_path,
            c.listen);
    if (w.nlogs == 0)
        fatalx("%s: no 'log <vkey>' line: nothing to witness", conf_path);
    if (check_only)
        return 0;

    if (harden_process() != 0)
        fatalx("cannot harden the process");
    rc = harden_dir(c.state, true, (uid_t)-1, err, sizeof(err));
    if (rc != 0)
        fatalx("state directory: %s", err);
    key_load(c.key, c.name, &w.key);
    if (cosig_signer_vkey(&w.key, vkey, sizeof(vkey)) != 0)
        fatalx("invariant: the witness vkey does not fit");
    if (print_key) {
        printf("%s\n", vkey);
        cosig_signer_wipe(&w.key);
        return 0;
    }

    rc = store_open(c.state, STATE_MAP_BYTES, 2, &w.st);
    if (rc == 0)
        rc = store_txn_begin(w.st, true, &txn);
    if (rc == 0)
        rc = store_dbi(w.st, txn, "logs", true, &w.dbi);
    if (rc == 0) {
        rc = store_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        store_txn_abort(txn);
        fatalx("cannot open the state in '%s': %s", c.state, err_str(rc));
    }

    srv.w = &w;
    srv.prefix = c.prefix;
    sig_install(false);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (d == NULL)
        fatalx("cannot listen on %s", c.listen);
    log_info("%s %s listening on %s%s, witnessing %zu log(s), key %s", PROGNAME,
        VIGIL_VERSION, c.listen, c.prefix, w.nlogs, vkey);

    while (!sig_stop)
        (void)poll(NULL, 0, 1000);

    log_info("stopping");
    MHD_stop_daemon(d);
    store_close(w.st);
    cosig_signer_wipe(&w.key);
    return 0;
}
