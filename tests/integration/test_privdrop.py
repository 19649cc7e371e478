"""test_privdrop - started as root, the daemons become the service user,
keep their files to themselves, and refuse files they cannot trust.

Issue 9 ("Trusted files", "the daemons run as root"). As root, with
`user=nobody`:

 - both daemons run as nobody: /proc/PID/status shows every Uid and Gid
   field (real, effective, saved, filesystem) as nobody's, no
   supplementary group but nobody's own, NoNewPrivs 1 and no effective
   capability; an order is scored through them;
 - every directory under the data and keys directories is 0700 and every
   file (sockets included) has no group or other permission, all owned by
   nobody;
 - the scorer and the collector refuse to start, with an error naming the
   path and the reason, on a data directory owned by another user (also
   as root staying root: the finding's nobody-owned directory accepted by
   root's daemons), group-writable, world-writable, or given as a
   symbolic link; the scorer refuses a pseudonym.key or audit-signing.key (keys directory) that
   is a symbolic link.
Skipped (exit 77) when not run as root or when nobody does not exist.

See also: common/harden.h, scorer/vigil-scorer.8 (FILES), tests/README.md

SPDX-License-Identifier: MIT
"""

import os
import pwd
import shutil
import stat
import time

from vigiltest import (DEFAULT_CLIENTS, Daemon, Persona, Service, Skip,
                       TestFailure, check, check_eq, check_order_reply,
                       free_port,
                       main, say, vigilctl)

START_TIMEOUT_S = 15.0


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def check_ids(name, pid, uid, gid):
    st = proc_status(pid)
    check_eq(st["Uid"], [str(uid)] * 4, "%s: Uid (real, eff, saved, fs) "
             "are nobody's" % name)
    check_eq(st["Gid"], [str(gid)] * 4, "%s: Gid are nobody's" % name)
    check(set(st.get("Groups", [])) <= {str(gid)},
          "%s: no supplementary group" % name, st.get("Groups"))
    check_eq(st.get("NoNewPrivs"), ["1"], "%s: NoNewPrivs" % name)
    check(int(st["CapEff"][0], 16) == 0, "%s: no effective capability"
          % name, st["CapEff"])


def check_tree(root, uid):
    n = 0
    for d, dirs, files in os.walk(root):
        for p in [d] + [os.path.join(d, f) for f in files]:
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                ok = mode == 0o700
            else:
                ok = mode & 0o077 == 0 and not stat.S_ISLNK(st.st_mode)
            if not ok or st.st_uid != uid:
                raise TestFailure("%s: mode %04o uid %d (want 0700 dirs, "
                                  "no group/other bits, uid %d)"
                                  % (p, mode, st.st_uid, uid))
            n += 1
    check(n > 3, "%s: %d entries, directories 0700, files 0600 or "
          "tighter, all nobody's" % (root, n))


def refused(bindir, tmp, name, data_dir, keys_dir, user, want, what):
    """Start daemon `name` alone; it must exit non-zero within the
    timeout, printing a line that matches every string in `want`."""
    argv = [os.path.join(bindir, name), "-d", "-o", "data_dir=" + data_dir,
            "-o", "keys_dir=" + keys_dir, "-o", "user=" + user]
    if name == "vigil-collector":
        argv += ["-o", "events_endpoint=tcp://127.0.0.1:%d" % free_port()]
    else:
        argv += ["-o", "query_endpoint=tcp://127.0.0.1:%d" % free_port()]
    d = Daemon(name + "-refused", argv, tmp)
    d.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while d.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if d.alive():
        d.stop()
        raise TestFailure("%s started despite %s:\n%s"
                          % (name, what, d.tail()))
    rc = d.proc.returncode
    d.proc = None
    text = d.stderr_text()
    lines = [l for l in text.splitlines()
             if all(w in l for w in want)]
    check(rc != 0 and lines, "%s refuses %s (exit %d): %s"
          % (name, what, rc, lines[0].strip() if lines else "?"),
          text)


def body(args):
    if os.geteuid() != 0:
        raise Skip("needs root (the daemons drop from root to a user)")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    uid, gid = nobody.pw_uid, nobody.pw_gid
    svc = Service(args.bin, scorer_opts=["user=nobody"],
                  collector_opts=["user=nobody"], keep=args.keep)
    tmp = svc.dir
    try:
        # Fresh keys and data: the clients are admitted as nobody
        # (vigilctl as root becomes the service user), the daemons make
        # the data directory. The temp directory above them must be
        # traversable by nobody.
        shutil.rmtree(svc.keys_dir)
        shutil.rmtree(svc.data_dir)
        os.chmod(tmp, 0o711)
        for name, role in DEFAULT_CLIENTS:
            rc, out, err = vigilctl(args.bin, "client", "add", name,
                                    "--role", role, "--keys-dir",
                                    svc.keys_dir, "--user=nobody")
            check(rc == 0, "vigilctl client add %s as root for nobody"
                  % name, err)
        with svc:
            check_ids("vigil-scorer", svc.scorer.proc.pid, uid, gid)
            check_ids("vigil-collector", svc.collector.proc.pid, uid, gid)
            p = Persona(1, tag="pd")
            rep = svc.send_ok(p.order("pd-order-1"), "an order as nobody")
            check_order_reply(rep, "the order is scored")
            s, c = svc.stop()
            check_eq((s, c), (0, 0), "both exit 0 on SIGTERM")
            check_tree(svc.data_dir, uid)
            check_tree(svc.keys_dir, uid)

            bad = os.path.join(tmp, "bad")
            os.makedirs(bad, mode=0o700)
            os.chmod(bad, 0o711)
            other = uid + 1 if uid + 1 != 0 else uid + 2
            # Root's own keys (a copy), for daemons that stay root.
            rootkeys = os.path.join(bad, "rootkeys")
            shutil.copytree(svc.keys_dir, rootkeys, symlinks=True)
            for d, _, files in os.walk(rootkeys):
                for p in [d] + [os.path.join(d, f) for f in files]:
                    os.lchown(p, 0, 0)
            for daemon in ("vigil-scorer", "vigil-collector"):
                # Owned by another user.
                d = os.path.join(bad, "owned-" + daemon)
                os.mkdir(d, 0o700)
                os.chown(d, other, gid)
                refused(args.bin, tmp, daemon, d, svc.keys_dir, "nobody",
                        ["data_dir", d, "owned by uid %d" % other, "refused"],
                        "a data directory owned by another user")
                # The finding: root's daemons (user "") and nobody's directory.
                d = os.path.join(bad, "nobodys-" + daemon)
                os.mkdir(d, 0o700)
                os.chown(d, uid, gid)
                refused(args.bin, tmp, daemon, d, rootkeys, "",
                        ["data_dir", d, "owned by uid %d" % uid, "refused"],
                        "as root, a data directory owned by nobody")
                for mode, what in ((0o770, "group-writable"),
                                   (0o707, "world-writable"),
                                   (0o755, "world-readable")):
                    d = os.path.join(bad, "mode%o-%s" % (mode, daemon))
                    os.mkdir(d)
                    os.chown(d, uid, gid)
                    os.chmod(d, mode)
                    refused(args.bin, tmp, daemon, d, svc.keys_dir, "nobody",
                            ["data_dir", d, "mode %o" % mode, "refused"],
                            "a %s data directory" % what)
                link = os.path.join(bad, "link-" + daemon)
                os.symlink(svc.data_dir, link)
                refused(args.bin, tmp, daemon, link, svc.keys_dir, "nobody",
                        ["data_dir", link, "symbolic link", "refused"],
                        "a data directory given as a symbolic link")

            # Key files as symbolic links (to a copy the service user owns:
            # only the link is wrong).
            for key, path in (
                    ("pseudonym.key",
                     os.path.join(svc.keys_dir, "pseudonym.key")),
                    ("audit-signing.key",
                     os.path.join(svc.keys_dir, "audit-signing.key"))):
                if not os.path.exists(path):
                    say("  note: no %s in the keys directory" % key)
                    continue
                real = os.path.join(bad, key + ".real")
                shutil.copy2(path, real)
                os.chown(real, uid, gid)
                os.rename(path, path + ".orig")
                os.symlink(real, path)
                try:
                    refused(args.bin, tmp, "vigil-scorer", svc.data_dir,
                            svc.keys_dir, "nobody", [key],
                            "a %s that is a symbolic link" % key)
                finally:
                    os.unlink(path)
                    os.rename(path + ".orig", path)
    finally:
        svc.close()


if __name__ == "__main__":
    main("as root the daemons run as their user and refuse untrusted "
         "files", body)
