/*
 * test_harden.c - unit tests of process hardening and trust checks
 *                 (common/harden.c)
 *
 * Directories and files on a real temp directory: created 0700, refused
 * when open to group or others, when a symbolic link, when of the wrong
 * type or owner; the process has no core limit and is not dumpable after
 * harden_process(); as root, a forked child drops to "nobody" and cannot
 * get root back (skipped, with a message, when not root).
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/harden.h"
#include "common/log.h"
#include "tests/harness/test.h"

static char root[64];

static void
test_dirs_and_files(void)
{
    char p[128], q[160], err[256];
    struct stat st;
    FILE *f;

    snprintf(p, sizeof(p), "%s/data", root);
    ASSERT_EQ(harden_dir(p, false, (uid_t)-1, err, sizeof(err)), ERR_NOTFOUND);
    ASSERT_OK(harden_dir(p, true, (uid_t)-1, err, sizeof(err)));
    ASSERT(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    ASSERT_OK(harden_dir(p, false, (uid_t)-1, err, sizeof(err)));
    ASSERT(chmod(p, 0755) == 0);
    ASSERT_EQ(harden_dir(p, false, (uid_t)-1, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "755") != NULL && strstr(err, "chmod 700") != NULL);
    ASSERT(chmod(p, 0700) == 0);
    ASSERT_EQ(
        harden_dir(p, false, geteuid() + 1, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "owned by uid") != NULL);
    snprintf(q, sizeof(q), "%s/link", root);
    ASSERT(symlink(p, q) == 0);
    ASSERT_EQ(harden_dir(q, false, (uid_t)-1, err, sizeof(err)), ERR_DENIED);
    ASSERT(strstr(err, "symbolic link") != NULL);

    snprintf(q, sizeof(q), "%s/key", p);
    f = fopen(q, "w");
    ASSERT(f != NULL);
    ASSERT(fclose(f) == 0);
    ASSERT(chmod(q, 0600) == 0);
    ASSERT_OK(harden_file(q, err, sizeof(err)));
    ASSERT_EQ(harden_dir(q, false, (uid_t)-1, err, sizeof(err)), ERR_DENIED);
    ASSERT(chmod(q, 0644) == 0);
    ASSERT_EQ(harden_file(q, err, sizeof(err)), ERR_DENIED);
    ASSERT_EQ(harden_file(p, err, sizeof(err)), ERR_DENIED);
    snprintf(q, sizeof(q), "%s/none", p);
    ASSERT_EQ(harden_file(q, err, sizeof(err)), ERR_NOTFOUND);
}

static void
test_process(void)
{
    struct rlimit rl;
    mode_t old;

    ASSERT_OK(harden_process());
    ASSERT(getrlimit(RLIMIT_CORE, &rl) == 0);
    ASSERT_EQ(rl.rlim_cur, 0);
    ASSERT_EQ(rl.rlim_max, 0);
    ASSERT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    old = umask(0);
    ASSERT_EQ(old, 077);
    (void)umask(old);
}

static void
test_drop(void)
{
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int status = 0;

    ASSERT_EQ(harden_lookup_user("no-such-user-vigil-test", &uid, &gid),
        ERR_NOTFOUND);
    if (geteuid() != 0 || harden_lookup_user("nobody", &uid, &gid) != 0) {
        printf("# SKIP the privilege drop: needs root and a 'nobody' user\n");
        return;
    }
    pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        if (harden_drop(uid, gid) != 0)
            _exit(2);
        if (getuid() != uid || geteuid() != uid || getgid() != gid)
            _exit(3);
        if (setuid(0) == 0)
            _exit(4);
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
            _exit(5);
        _exit(0);
    }
    ASSERT(waitpid(pid, &status, 0) == pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

int
main(void)
{
    char cmd[128];

    log_init("test_harden", true);
    snprintf(root, sizeof(root), "/tmp/test-harden-XXXXXX");
    ASSERT(mkdtemp(root) != NULL);
    RUN(test_dirs_and_files);
    RUN(test_process);
    RUN(test_drop);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ASSERT(system(cmd) == 0);
    return 0;
}
