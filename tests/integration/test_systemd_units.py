"""test_systemd_units - the systemd units in dist/ are valid and sandboxed.

The build configures dist/systemd/vigil-{scorer,collector}.service.in into
its dist/systemd/. This scenario:

 - runs `systemd-analyze verify` on both units, with ExecStart pointed at
   the built daemons: exit 0 and nothing printed (systemd only warns, on
   standard error, about an unknown key or a bad value, so any output
   fails);
 - checks each unit runs as the dedicated user with the promised
   sandbox: User=vigil, StateDirectory=vigil, ConfigurationDirectory=vigil
   (both 0700), UMask=0077, LimitCORE=0, NoNewPrivileges, ProtectSystem=
   strict, ProtectHome, PrivateTmp, an empty capability bounding set;
 - applies dist/sysusers.d/vigil.conf and dist/tmpfiles.d/vigil.conf to an
   empty root (systemd-sysusers/systemd-tmpfiles --root): the user vigil
   exists with no login shell, /etc/vigil and /var/lib/vigil are vigil's
   and 0700;
 - `cmake --install` into a temp prefix puts the units, the sysusers.d
   and tmpfiles.d files where systemd looks, ExecStart naming the
   installed daemon.
Skipped (exit 77) without systemd-analyze.

See also: dist/systemd/, CMakeLists.txt (install rules), README.md
(Installation)

SPDX-License-Identifier: MIT
"""

import os
import pwd
import shutil
import subprocess
import tempfile

from vigiltest import REPO, Skip, check, check_eq, main, say

UNITS = ("vigil-scorer", "vigil-collector")
REQUIRED = (
    ("User", "vigil"), ("Group", "vigil"), ("UMask", "0077"),
    ("LimitCORE", "0"), ("StateDirectory", "vigil"),
    ("StateDirectoryMode", "0700"), ("ConfigurationDirectory", "vigil"),
    ("ConfigurationDirectoryMode", "0700"), ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
    ("CapabilityBoundingSet", ""), ("RestrictSUIDSGID", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
)


def service_keys(text):
    """The [Service] section's key=value pairs (last one wins)."""
    keys, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]" and "=" in line:
            k, v = line.split("=", 1)
            keys[k.strip()] = v.strip()
    return keys


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=120, **kw)


def check_verify(args, builddir, tmp):
    paths = []
    for u in UNITS:
        with open(os.path.join(builddir, "dist", "systemd",
                               u + ".service"), encoding="utf-8") as f:
            text = f.read()
        keys = service_keys(text)
        for k, want in REQUIRED:
            check_eq(keys.get(k), want, "%s: %s=%s" % (u, k, want))
        exe = keys.get("ExecStart", "").split()[0]
        check(exe.endswith("/" + u), "%s: ExecStart runs %s" % (u, u), exe)
        local = text.replace(exe, os.path.join(os.path.abspath(args.bin), u))
        path = os.path.join(tmp, u + ".service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(local)
        paths.append(path)
    p = run(["systemd-analyze", "verify", "--man=no"] + paths)
    out = p.stdout.decode("utf-8", "replace").strip()
    check(p.returncode == 0 and out == "",
          "systemd-analyze verify: exit 0, no warning", out or p.returncode)


def check_sysusers_tmpfiles(tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    sysusers = os.path.join(REPO, "dist", "sysusers.d", "vigil.conf")
    tmpfiles = os.path.join(REPO, "dist", "tmpfiles.d", "vigil.conf")
    if shutil.which("systemd-sysusers") is None or \
            shutil.which("systemd-tmpfiles") is None:
        say("  note: no systemd-sysusers/systemd-tmpfiles: not applied")
        return
    p = run(["systemd-sysusers", "--root", root, sysusers])
    check(p.returncode == 0, "systemd-sysusers --root applies vigil.conf",
          p.stdout.decode("utf-8", "replace"))
    entry = None
    with open(os.path.join(root, "etc", "passwd"), encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(":")
            if fields[0] == "vigil":
                entry = fields
    check(entry is not None, "sysusers.d: the user vigil is created")
    check(int(entry[2]) < 1000, "sysusers.d: vigil is a system user",
          entry[2])
    check(entry[6].endswith("nologin"), "sysusers.d: vigil cannot log in",
          entry[6])
    p = run(["systemd-tmpfiles", "--root", root, "--create", tmpfiles])
    check(p.returncode == 0, "systemd-tmpfiles --root --create vigil.conf",
          p.stdout.decode("utf-8", "replace"))
    for d in ("etc/vigil", "var/lib/vigil"):
        st = os.stat(os.path.join(root, d))
        check_eq(oct(st.st_mode & 0o7777), "0o700", "/%s is 0700" % d)
        # The tool resolves the name in the root's passwd where the host
        # has no vigil; where the host has one, the ids agree by name.
        want = {str(st.st_uid)}
        try:
            want.add(str(pwd.getpwnam("vigil").pw_uid))
        except KeyError:
            pass
        check(entry[2] in want, "/%s belongs to vigil" % d,
              (st.st_uid, entry[2]))


def check_install(builddir, tmp):
    prefix = os.path.join(tmp, "prefix")
    p = run(["cmake", "--install", builddir, "--prefix", prefix])
    check(p.returncode == 0, "cmake --install into a temp prefix",
          p.stdout.decode("utf-8", "replace")[-2000:])
    for rel in ["lib/systemd/system/%s.service" % u for u in UNITS] + \
            ["lib/sysusers.d/vigil.conf", "lib/tmpfiles.d/vigil.conf"]:
        check(os.path.isfile(os.path.join(prefix, rel)),
              "installed %s" % rel)
    with open(os.path.join(prefix, "lib/systemd/system/"
                           "vigil-scorer.service"), encoding="utf-8") as f:
        exe = service_keys(f.read())["ExecStart"].split()[0]
    check(os.path.isabs(exe) and exe.endswith("/bin/vigil-scorer"),
          "installed unit's ExecStart is the installed bindir's daemon", exe)


def body(args):
    if shutil.which("systemd-analyze") is None:
        raise Skip("systemd-analyze is not installed")
    builddir = os.path.dirname(os.path.abspath(args.bin))
    tmp = tempfile.mkdtemp(prefix="vigil-units-")
    try:
        check_verify(args, builddir, tmp)
        check_sysusers_tmpfiles(tmp)
        check_install(builddir, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main("the systemd units verify, sandbox, install", body)
