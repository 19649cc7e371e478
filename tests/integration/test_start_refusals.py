#!/usr/bin/python3
"""integ.start_refusals - both daemons refuse to start, with a message
that names what is wrong, instead of starting half-way.

Each case runs the real vigil-collector or vigil-scorer (in the
foreground, with the Service's options plus the case's) and checks the
exit status 1 and the message on stderr:
 - the keys directory open to the group (both): "chmod 700";
 - a service user that does not exist, when run as root (both): the
   useradd hint;
 - a pseudonym key of the wrong size (both): "cannot load the
   pseudonym key";
 - the storefront endpoint (collector) or the query endpoint (scorer)
   already bound by another process: "cannot open the sockets" /
   "cannot bind the query endpoint";
 - the /metrics address already bound (both): "cannot serve metrics";
 - the audit signing key inside data_dir (scorer): refused, the key
   would travel with every copy of the data;
 - a data directory that held data but lost its subject vault
   (scorer): refused rather than starting with new tokens;
 - a features log that cannot be opened (scorer): refused, naming it;
and `-n -v` prints the configuration and says it is OK (exit 0); with
--insecure-dev the collector starts, warns that storefronts are not
authenticated, and stops cleanly on SIGTERM.

SPDX-License-Identifier: MIT
"""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Service, check, check_eq, free_port, main, run,  # noqa
                       say)


def refused(daemon, extra, want, what):
    """Run `daemon` (a vigiltest.Daemon) with `extra` options; check it
    exits 1 with `want` on stderr."""
    rc, out, err = run(daemon.argv + list(extra), timeout=20)
    check_eq(rc, 1, "%s: exit status" % what)
    check(want in err, "%s: stderr says %r" % (what, want), err[-600:])


def bound_tcp():
    """A listening TCP socket on a free 127.0.0.1 port (caller closes)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, "127.0.0.1:%d" % s.getsockname()[1]


def keys_dir_cases(svc):
    # The first start makes the keys (certificates, pseudonym key).
    rc, out, err = run(svc.collector.argv + ["-n"], timeout=20)
    check_eq(rc, 0, "collector -n on a new keys directory")
    os.chmod(svc.keys_dir, 0o750)
    try:
        refused(svc.collector, [], "chmod 700",
                "collector, keys_dir mode 0750")
        refused(svc.scorer, [], "chmod 700", "scorer, keys_dir mode 0750")
    finally:
        os.chmod(svc.keys_dir, 0o700)


def user_cases(svc):
    if os.geteuid() != 0:
        say("  note: not root: the service-user cases are not run")
        return
    for d in (svc.collector, svc.scorer):
        refused(d, ["-o", "user=no-such-user-vigil-test"],
                "useradd --system", "%s, unknown service user" % d.name)


def socket_cases(svc):
    s, addr = bound_tcp()
    try:
        refused(svc.collector,
                ["-o", "events_endpoint=tcp://" + addr],
                "cannot open the sockets", "collector, endpoint in use")
        refused(svc.scorer, ["-o", "query_endpoint=tcp://" + addr],
                "cannot bind the query endpoint", "scorer, endpoint in use")
        refused(svc.collector, ["-o", "collector_metrics=" + addr],
                "cannot serve metrics", "collector, metrics in use")
        refused(svc.scorer, ["-o", "scorer_metrics=" + addr],
                "cannot serve metrics", "scorer, metrics in use")
    finally:
        s.close()


def signing_key_case(svc):
    inside = os.path.join(svc.data_dir, "audit-signing.key")
    refused(svc.scorer, ["-o", "signing_key=" + inside],
            "is inside data_dir", "scorer, signing key inside data_dir")


def features_log_case(svc):
    bad = os.path.join(svc.dir, "no-such-dir", "features.log")
    refused(svc.scorer, ["-o", "features_log=" + bad],
            "features_log", "scorer, features log in a missing directory")


def pseudonym_key_case(svc):
    path = os.path.join(svc.keys_dir, "pseudonym.key")
    with open(path, "rb") as f:
        good = f.read()
    with open(path, "wb") as f:
        f.write(good[:5])
    try:
        for d in (svc.collector, svc.scorer):
            refused(d, [], "cannot load the pseudonym key",
                    "%s, a 5-byte pseudonym key" % d.name)
    finally:
        with open(path, "wb") as f:
            f.write(good)


def check_only_case(svc):
    rc, out, err = run(svc.collector.argv + ["-n", "-v"], timeout=20)
    check_eq(rc, 0, "collector -n -v: exit status")
    check("configuration OK" in err, "collector -n -v says OK", err[-300:])
    check("events_endpoint" in out and svc.events_endpoint in out,
          "collector -n -v prints the configuration", out[-300:])


def insecure_case(svc):
    argv = svc.collector.argv + ["--insecure-dev"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        seen = b""
        os.set_blocking(p.stderr.fileno(), False)
        while time.monotonic() < deadline and b"listening" not in seen:
            chunk = p.stderr.read()
            if chunk:
                seen += chunk
            elif p.poll() is not None:
                break
            else:
                time.sleep(0.05)
        text = seen.decode("utf-8", "replace")
        check("listening" in text, "insecure collector starts", text[-400:])
        check("are not authenticated" in text,
              "insecure collector warns of plain text", text[-400:])
        p.send_signal(signal.SIGTERM)
        check_eq(p.wait(10), 0, "insecure collector exit on SIGTERM")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)


def vault_case(args):
    with Service(args.bin) as svc:
        svc.send_ok(svc_event(svc), "one event before the vault goes")
        svc.stop()
        os.unlink(os.path.join(svc.data_dir, "subjects.vault"))
        refused(svc.scorer, [], "is missing from a data directory",
                "scorer, data directory without its vault")


def svc_event(svc):
    from vigiltest import Persona
    return Persona(1).visit("refusal-ev-1")


def body(args):
    svc = Service(args.bin)
    try:
        keys_dir_cases(svc)
        user_cases(svc)
        socket_cases(svc)
        signing_key_case(svc)
        features_log_case(svc)
        pseudonym_key_case(svc)
        check_only_case(svc)
        insecure_case(svc)
    finally:
        svc.close()
    vault_case(args)


if __name__ == "__main__":
    main("the daemons refuse a broken start with a message", body)
