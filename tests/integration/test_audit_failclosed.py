#!/usr/bin/python3
"""integ.audit_failclosed - a full audit disk refuses access, never
serves it unaudited, and the service recovers when space returns.

DATA_DIR/audit is a 2 MiB tmpfs. When this process may not mount one
(not root, no CAP_SYS_ADMIN, no mount(8)) nothing can be checked: the
scenario exits 77, which ctest reports as skipped, never as passed. Once a filler file has taken every free byte:
 - events are refused (ok false, code audit / io / full) and not
   acknowledged; queries are refused with code "audit" and no result;
 - both daemons stay up.
Then the filler is deleted and the service answers again: the refused
order, resent, is acknowledged and applied exactly once (the account's
order count grows by one, and a second resend is a duplicate), queries
answer, and `vigilctl audit verify` passes. The tmpfs is always
unmounted at the end.

SPDX-License-Identifier: MIT
"""

import errno
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, Skip, check, check_eq,  # noqa
                       main, query, say, vigilctl, wait_checkpoint)

TMPFS_SIZE = "2m"
REFUSED = ("audit", "io", "full")


def try_mount(path):
    """Mount a small tmpfs at path; return None, or why it could not."""
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%s,mode=0700" % TMPFS_SIZE, "tmpfs", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
    except OSError as e:  # no mount(8) on this machine
        return "cannot run mount: %s" % e
    if p.returncode != 0:
        return "mount -t tmpfs failed (status %d): %s" % (
            p.returncode, " ".join(p.stderr.decode(errors="replace").split()))
    return None


def umount(path):
    for _ in range(50):
        p = subprocess.run(["umount", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if p.returncode == 0:
            return True
        time.sleep(0.1)
    say("  WARNING could not unmount %s: %s"
        % (path, p.stderr.decode(errors="replace").strip()))
    return False


def fill(path):
    """Write zeros to path until the file system is full; return bytes."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while n < 64 * 1024 * 1024:
            try:
                n += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # Take the last partial block too.
        while True:
            try:
                if f.write(b"\0" * 512) == 0:
                    break
                n += 512
            except OSError:
                break
    return n


def orders_total(svc, account, qid):
    rep = query(svc, "account.get", qid, account=account)
    check(rep.get("ok") is True, "account.get %s answers" % qid, rep)
    return rep["result"]["orders_total"]


def body(args):
    a = Persona(21, tag="fc")
    # No headroom mark (disk_min_free_mb=0): this scenario is about the
    # last byte, where the audit write itself fails and must fail closed;
    # integ.full covers refusing events at the mark, before that.
    svc = Service(args.bin, scorer_opts=["checkpoint_interval_ms=50",
                                         "disk_min_free_mb=0"])
    audit_dir = os.path.join(svc.data_dir, "audit")
    os.makedirs(audit_dir)
    why = try_mount(audit_dir)
    if why is not None:
        svc.close()
        raise Skip("cannot mount a 2 MiB tmpfs for the audit log (%s); it "
                   "needs root or CAP_SYS_ADMIN. Nothing was checked: the "
                   "fail-closed path is untested on this machine" % why)
    mounted = True
    filler = os.path.join(audit_dir, "filler")
    try:
        svc.start()
        say("before: the service works")
        svc.send_ok(a.signup("fc-s1"))
        first = svc.send_ok(a.order("fc-o1", order="FC-ORD-1"))
        check_eq(orders_total(svc, a.account, "fc-q0"), 1, "one order")

        say("fill the audit file system")
        n = fill(filler)
        say("  filler took %d bytes" % n)
        # The last page of the current segment may still have room (tmpfs
        # allocates whole pages): other events use it up until one is
        # refused.
        pad = Persona(22, tag="fcpad")
        refused = None
        for i in range(300):
            rep = svc.send(pad.visit("fc-pad-%d" % i))
            if rep.get("ok") is not True:
                refused = rep
                break
        check(refused is not None, "an event is refused once the audit "
              "file system is full (after %d accepted)" % i, rep)

        say("while full: events refused, queries refused, daemons up")
        held = a.order("fc-o2", order="FC-ORD-2", amount=777)
        rep = svc.send(held)
        check(isinstance(rep, dict) and rep.get("ok") is False,
              "an order is not acknowledged", rep)
        check(rep.get("code") in REFUSED,
              "its code is audit/io/full (%r)" % rep.get("code"), rep)
        check("score" not in rep, "and it carries no score", rep)
        rep = svc.send(a.login("fc-l1"))
        check(rep.get("ok") is False and rep.get("code") in REFUSED,
              "a login is refused too", rep)
        # A query's record is smaller than a group of events': it may still
        # fit in the segment's last tmpfs page. Use that room up first
        # (each answered one is audited, so this is fail-closed too).
        for i in range(50):
            rep = query(svc, "score.get", "fc-qpad-%d" % i, order="FC-ORD-1")
            if rep.get("code") != "ok":
                break
        say("  %d queries answered and audited before the disk was full" % i)
        rep = query(svc, "score.get", "fc-q1", order="FC-ORD-1")
        check_eq(rep.get("code"), "audit", "score.get is refused: audit")
        check(rep.get("ok") is False and "result" not in rep,
              "and returns no data", rep)
        check("audit" in rep.get("msg", ""), "msg says why", rep)
        # An account.get record differs in size again: same padding.
        for j in range(50):
            rep = query(svc, "account.get", "fc-apad-%d" % j,
                        account=a.account)
            if rep.get("code") != "ok":
                break
        rep = query(svc, "account.get", "fc-q2", account=a.account)
        check_eq(rep.get("code"), "audit", "account.get is refused: audit")
        check("result" not in rep, "and returns no data", rep)
        # A denial's record is smaller still (and batched, scorer/qbatch.c):
        # use up what room is left for one the same way.
        for j in range(50):
            rep = query(svc, "account.get", "fc-dpad-%d" % j,
                        purpose="marketing", account=a.account)
            if rep.get("code") != "denied":
                break
        say("  %d denials audited before the disk was full" % j)
        rep = query(svc, "account.get", "fc-q3", purpose="marketing",
                    account=a.account)
        check_eq(rep.get("code"), "audit",
                 "even a denial that cannot be audited says audit")
        check(svc.scorer.alive() and svc.collector.alive(),
              "both daemons are still running")

        say("free the space: the service recovers")
        os.unlink(filler)
        deadline = time.monotonic() + 10
        rep = None
        while time.monotonic() < deadline:
            rep = svc.send(held)
            if rep.get("ok") is True:
                break
            time.sleep(0.2)
        check(rep.get("ok") is True, "the refused order, resent, is "
              "acknowledged", rep)
        check(rep.get("decision") in ("allow", "review", "block"),
              "and scored", rep)
        again = svc.send(held)
        check_eq((again.get("ok"), again.get("score"), again.get("decision")),
                 (True, rep.get("score"), rep.get("decision")),
                 "a second resend gets the same reply (duplicate)")
        check_eq(orders_total(svc, a.account, "fc-q4"), 2,
                 "the order was applied exactly once")
        rep = query(svc, "score.get", "fc-q5", order="FC-ORD-1")
        check(rep.get("ok") is True and
              rep["result"]["score"] == first["score"],
              "score.get answers again", rep)
        svc.send_ok(a.login("fc-l2"))
        wait_checkpoint(args.bin, svc.data_dir)
        rc, out, err = vigilctl(args.bin, "audit", "verify", audit_dir)
        check_eq(rc, 0, "vigilctl audit verify passes (%s)"
                 % (out.strip().splitlines() or [err.strip()])[-1])
        rc, out, err = vigilctl(args.bin, "audit", "replay", audit_dir)
        refs = [l.split("\t")[9] for l in out.splitlines()]
        stores = [l.split("\t")[9].split(" ")[0] for l in out.splitlines()
                  if "\tevent.store\t" in l]
        for r in ("fc-q1", "fc-q2", "fc-q3"):
            check(svc.query_ref(r) not in refs,
                  "no record of the refused query %s" % r)
        check_eq(stores.count(svc.event_ref("fc-o2")), 1,
                 "one event.store record for the resent order")
        check(svc.scorer.alive() and svc.collector.alive(),
              "both daemons are still running")
    except BaseException:
        svc.failed = True
        svc.dump_logs()
        raise
    finally:
        svc.stop()
        if mounted:
            umount(audit_dir)
        svc.close()


if __name__ == "__main__":
    main("a full audit disk fails closed and recovers", body)
