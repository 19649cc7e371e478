/*
 * harden.c - process hardening and trust checks (see harden.h)
 *
 * SPDX-License-Identifier: MIT
 */
/* setresuid(2), setresgid(2) are GNU extensions in glibc. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/text.h"
#include "common/harden.h"
#include "common/log.h"

int
harden_process(void)
{
    struct rlimit rl = { 0, 0 };

    (void)umask(077);
    if (setrlimit(RLIMIT_CORE, &rl) != 0) {
        log_warn("setrlimit(RLIMIT_CORE)");
        return ERR_IO;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        log_warn("prctl(PR_SET_DUMPABLE)");
        return ERR_IO;
    }
    return 0;
}

/* The common rule of harden_dir() and harden_file() (`dir`): no link,
 * the kind asked for, the owner, no access for group or others. */
static int
check_stat(const char *path, const struct stat *st, bool dir, uid_t owner,
    char *err, size_t errlen)
{
    uid_t want = owner != (uid_t)-1 ? owner : geteuid();

    if (S_ISLNK(st->st_mode)) {
        text_fmt(err, errlen, "%s: a symbolic link: refused", path);
        return ERR_DENIED;
    }
    if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
        text_fmt(err, errlen, "%s: not a %s", path,
            dir ? "directory" : "regular file");
        return ERR_DENIED;
    }
    if (st->st_uid != want) {
        text_fmt(err, errlen,
            "%s: owned by uid %u, not by uid %u (the user this daemon runs "
            "as): refused; chown it",
            path, (unsigned)st->st_uid, (unsigned)want);
        return ERR_DENIED;
    }
    if ((st->st_mode & 077) != 0) {
        text_fmt(err, errlen,
            "%s: mode %03o gives group or others access: refused; chmod %s",
            path, (unsigned)(st->st_mode & 0777), dir ? "700" : "600");
        return ERR_DENIED;
    }
    return 0;
}

int
harden_dir(const char *path, bool create, uid_t owner, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            text_fmt(err, errlen, "%s: %s", path, strerror(errno));
            return ERR_IO;
        }
        if (!create) {
            text_fmt(err, errlen, "%s: no such directory", path);
            return ERR_NOTFOUND;
        }
        /* EEXIST: made this instant by another process; check it. */
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            text_fmt(
                err, errlen, "%s: cannot create: %s", path, strerror(errno));
            return errno == EACCES ? ERR_DENIED : ERR_IO;
        }
        if (lstat(path, &st) != 0) {
            text_fmt(err, errlen, "%s: %s", path, strerror(errno));
            return ERR_IO;
        }
    }
    return check_stat(path, &st, true, owner, err, errlen);
}

int
harden_user_resolve(
    const char *name, struct harden_user *u, char *err, size_t errlen)
{
    int rc;

    u->uid = geteuid();
    u->gid = getegid();
    u->drop = false;
    if (u->uid != 0 || name[0] == '\0')
        return 0;
    rc = harden_lookup_user(name, &u->uid, &u->gid);
    if (rc == ERR_NOTFOUND)
        text_fmt(err, errlen,
            "user '%s' does not exist: create it (useradd --system "
            "--no-create-home --shell /usr/sbin/nologin %s), or set user "
            "to \"\" to keep running as root (not recommended)",
            name, name);
    else if (rc != 0)
        text_fmt(err, errlen, "cannot look up user '%s'", name);
    if (rc == 0)
        u->drop = u->uid != 0;
    return rc;
}

/* How long harden_service_dir() waits for another process that just
 * made the directory to give it to the service's user. */
#define HARDEN_RACE_MS 2000

/* Wait up to `ms` for `path` to be owned by `uid` (polling every 5 ms). */
static void
wait_owner(const char *path, uid_t uid, unsigned ms)
{
    const struct timespec step = { 0, 5 * 1000 * 1000 };
    struct stat st;

    for (unsigned waited = 0; waited < ms; waited += 5) {
        if (lstat(path, &st) != 0 || st.st_uid == uid)
            return;
        nanosleep(&step, NULL);
    }
}

int
harden_service_dir(
    const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    bool root = geteuid() == 0 && uid != 0;
    struct stat st;
    int e;

    if (lstat(path, &st) == 0) {
        /* Root's: maybe made an instant ago by the other daemon of the
         * service (both start together), which gives it to uid right
         * after: wait for that; a directory of root's stays refused. */
        if (root && st.st_uid == 0)
            wait_owner(path, uid, HARDEN_RACE_MS);
        return harden_dir(path, false, uid, err, errlen);
    }
    if (errno != ENOENT)
        return harden_dir(path, false, uid, err, errlen);
    if (mkdir(path, 0700) != 0) {
        e = errno;
        if (e != EEXIST) {
            text_fmt(err, errlen, "%s: cannot create: %s", path, strerror(e));
            return e == EACCES ? ERR_DENIED : ERR_IO;
        }
        /* Made this instant by the other daemon: as above. */
        if (root)
            wait_owner(path, uid, HARDEN_RACE_MS);
    } else if (root && chown(path, uid, gid) != 0) {
        text_fmt(err, errlen, "%s: cannot give it to uid %u: %s", path,
            (unsigned)uid, strerror(errno));
        return ERR_IO;
    }
    return harden_dir(path, false, uid, err, errlen);
}

int
harden_file(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            text_fmt(err, errlen, "%s: no such file", path);
            return ERR_NOTFOUND;
        }
        text_fmt(err, errlen, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    return check_stat(path, &st, false, (uid_t)-1, err, errlen);
}

int
harden_lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    int rc;

    rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
    if (rc != 0) {
        log_warnx("cannot look up user '%s': %s", name, strerror(rc));
        return ERR_IO;
    }
    if (res == NULL)
        return ERR_NOTFOUND;
    *uid = pw.pw_uid;
    *gid = pw.pw_gid;
    return 0;
}

int
harden_drop(uid_t uid, gid_t gid)
{
    if (setgroups(1, &gid) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
        log_warn("cannot drop privileges to uid %u gid %u", (unsigned)uid,
            (unsigned)gid);
        return ERR_IO;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        log_warn("prctl(PR_SET_NO_NEW_PRIVS)");
        return ERR_IO;
    }
    /* The drop must be for good. */
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        log_warnx("regained root after dropping privileges");
        return ERR_IO;
    }
    /* Setting PR_SET_DUMPABLE again: a uid change re-enables it. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        log_warn("prctl(PR_SET_DUMPABLE)");
        return ERR_IO;
    }
    return 0;
}

int
harden_become_owner(const char *dir, const char *name, char *err, size_t errlen)
{
    struct harden_user u;
    struct passwd pw, *res = NULL;
    struct stat st;
    char buf[4096];
    int rc;

    if (geteuid() != 0)
        return 0;
    if (lstat(dir, &st) == 0) {
        if (st.st_uid == 0)
            return 0;
        if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &res) != 0 ||
            res == NULL) {
            text_fmt(err, errlen,
                "%s: owned by uid %u, which is no user: "
                "refused",
                dir, (unsigned)st.st_uid);
            return ERR_DENIED;
        }
        u.uid = pw.pw_uid;
        u.gid = pw.pw_gid;
    } else {
        if (name[0] == '\0' || harden_lookup_user(name, &u.uid, &u.gid) != 0 ||
            u.uid == 0)
            return 0;
        rc = harden_service_dir(dir, u.uid, u.gid, err, errlen);
        if (rc != 0)
            return rc;
    }
    if (harden_drop(u.uid, u.gid) != 0) {
        text_fmt(err, errlen, "cannot become uid %u, the owner of %s",
            (unsigned)u.uid, dir);
        return ERR_IO;
    }
    return 0;
}
