#!/usr/bin/python3
"""integ.audit_heal - one durable write per group commit (issue 11 item 1)
keeps "no record, no access" across a crash.

A group's audit records are made durable in the journal by the same
fdatasync as its events, and written to the audit segments without a
sync (synced before every LMDB commit and checkpoint). On the real
daemons:

 1. the scorer is killed (VIGIL_CRASHPOINT=group.journaled) right after
    a group's journal sync; the group's records are then cut from the
    segment, as a power cut would lose the unsynced write (a kill -9
    alone loses nothing the page cache holds). The restarted scorer
    restores them from the journal (logged, and a log.repair record
    says how many); `vigilctl audit verify` passes; the log holds every
    record it held before the cut, in order, with the same fields, none
    missing and none doubled; the killed group's event was applied by
    the restart's replay (its resend is answered). Then again with the
    scorer also killed while restoring (VIGIL_CRASHPOINT=audit.heal,
    after the restored records are written, before their sync): the
    next start appends none of them twice;
 2. records that were durable (synced: here by queries' own commits)
    and are then cut after a kill -9, below the size the journal says
    was synced but above the LMDB anchor: the scorer refuses to start
    and names both sizes.

SPDX-License-Identifier: MIT
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, Timeout, TestFailure,  # noqa: E402
                       audit_records, check, check_eq, main, query, say,
                       vigilctl, wait_checkpoint)
from test_audit_verify import frames, read, write  # noqa: E402

START_TIMEOUT_S = 20


def wait_log(daemon, text, timeout=START_TIMEOUT_S):
    """Wait (bounded) until the daemon's stderr contains text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in daemon.stderr_text():
            return
        if not daemon.alive():
            raise TestFailure("%s exited: %s" % (daemon.name, daemon.tail()))
        time.sleep(0.05)
    raise TestFailure("%s did not log %r in %d s" % (daemon.name, text,
                                                     timeout))


def start_with_point(svc, point):
    os.environ["VIGIL_CRASHPOINT"] = point
    try:
        svc.scorer.start()
    finally:
        del os.environ["VIGIL_CRASHPOINT"]
    wait_log(svc.scorer, "ready (review")


def wait_dead(daemon, timeout=10):
    deadline = time.monotonic() + timeout
    while daemon.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not daemon.alive(), "the scorer died at its crash point")
    rc = daemon.proc.returncode
    daemon.proc = None
    return rc


def ref(r):
    """A record's ref's first word (a scored order's ends with its
    model)."""
    return (r.get("ref") or "").split(" ")[0]


def fields(r):
    """A record's fields as `audit replay --json` shows them."""
    return json.dumps(r, sort_keys=True)


def start_fails(svc, want):
    d = svc.scorer
    before = len(d.stderr_text())
    d.start()
    t0 = time.monotonic()
    while d.alive() and time.monotonic() - t0 < START_TIMEOUT_S:
        time.sleep(0.05)
    if d.alive():
        d.stop()
        raise TestFailure("the scorer started on a log cut below its "
                          "durable size")
    rc = d.proc.returncode
    d.proc = None
    text = d.stderr_text()[before:]
    check(rc != 0, "the scorer refuses to start (exit %d)" % rc)
    for w in want:
        check(w in text, "its error says %r" % w, text.strip()[-700:])


def heal_scenario(args, svc, rnd, crash_in_heal):
    audit = os.path.join(svc.data_dir, "audit")
    say("-- 1%s. kill -9 after the combined sync; the unsynced segment "
        "write lost%s" % ("ab"[rnd], "; killed again while restoring"
                          if crash_in_heal else ""))
    acked = []
    for i in range(6):
        p = Persona(400 + 10 * rnd + i, tag="h%d" % rnd)
        eid = "h%d-s%d" % (rnd, i)
        svc.send_ok(p.signup(eid))
        acked.append(eid)
    svc.scorer.stop()
    start_with_point(svc, "group.journaled:1")
    veid = "h%d-victim" % rnd
    victim = Persona(450 + rnd, tag="h%d" % rnd).signup(veid)
    try:
        rep = svc.send(victim, timeout_ms=3000)
        # The collector may tell that the scorer went away.
        check(rep.get("ok") is False, "the victim is not acknowledged", rep)
    except Timeout:
        pass
    svc.close_socket()
    check_eq(wait_dead(svc.scorer), -9, "it died of SIGKILL")
    before = audit_records(args.bin, svc.data_dir)
    vref = svc.event_ref(veid)
    mine = [r["index"] for r in before if ref(r) == vref]
    check(len(mine) >= 1, "the killed group's records were written "
          "(%d)" % len(mine))
    k = mine[0]
    check_eq(mine, list(range(k, len(before))),
             "they are the last records of the log")
    # The power cut: the write that was never synced is gone.
    fr = frames(audit)
    _, path, off, _ = fr[k]
    write(path, read(path)[:off])
    for _, p2, _, _ in fr[k:]:
        if p2 != path and os.path.exists(p2):
            os.unlink(p2)
    lost = len(before) - k
    say("   cut records %d..%d (the killed group's)" % (k, len(before) - 1))

    if crash_in_heal:
        # Killed after writing the restored records, before syncing
        # them: the next start finds them and appends nothing twice.
        os.environ["VIGIL_CRASHPOINT"] = "audit.heal:1"
        try:
            svc.scorer.start()
        finally:
            del os.environ["VIGIL_CRASHPOINT"]
        check_eq(wait_dead(svc.scorer), -9,
                 "the scorer died while restoring (audit.heal)")
        check_eq(len(frames(audit)), len(before),
                 "the restored records were written before it died")
    svc.scorer.start()
    svc.wait_ready()
    if not crash_in_heal:
        check(svc.grep("restored %d records" % lost, "scorer") != [],
              "the scorer restored the %d records from the journal" % lost)
    after = audit_records(args.bin, svc.data_dir)
    check(len(after) > len(before), "the log grew")
    check_eq([fields(r) for r in after[:len(before)]],
             [fields(r) for r in before],
             "every record before the cut is back, the same, in order")
    check_eq(sum(1 for r in after if ref(r) == vref
                 and r.get("op") == "event.store"), 1,
             "the killed group's event.store record is there once")
    for eid in acked:
        eref = svc.event_ref(eid)
        check_eq(sum(1 for r in after if ref(r) == eref
                     and r.get("op") == "event.store"), 1,
                 "one event.store record for %s" % eid)
    if not crash_in_heal:
        repairs = [r for r in after if r.get("op") == "log.repair"]
        check(any("restored %d records" % lost in r.get("ref", "")
                  for r in repairs), "a log.repair record says so", repairs)
    rep = svc.send(victim)
    check(rep.get("ok") is True, "the killed group's event was journaled: "
          "its resend is answered", rep)
    wait_checkpoint(args.bin, svc.data_dir)
    rc, out, err = vigilctl(args.bin, "audit", "verify", audit)
    check_eq(rc, 0, "vigilctl audit verify passes after healing (%s)"
             % (out + err).strip().splitlines()[-1:])


def floor_scenario(args, svc):
    audit = os.path.join(svc.data_dir, "audit")
    say("-- 2. records synced, then cut below that size after a kill -9")
    p = Persona(460, tag="f")
    svc.send_ok(p.signup("f-s1"))
    svc.send_ok(p.order("f-o1", order="F-ORD-1"))
    time.sleep(0.8)  # an LMDB commit (commit_interval_ms 200): the anchor
    n_anchor = len(audit_records(args.bin, svc.data_dir))
    for i in range(3):  # each query syncs the segments on its own
        rep = query(svc, "score.get", "f-q%d" % i, order="F-ORD-1")
        check(rep.get("ok") is True, "score.get answers", rep)
    # This group's journal record says how many records were synced.
    svc.send_ok(p.login("f-l1"))
    svc.kill9("scorer")
    svc.close_socket()
    n = len(frames(audit))
    check(n >= n_anchor + 4, "%d records, %d under the anchor"
          % (n, n_anchor))
    keep = n_anchor + 1
    fr = frames(audit)
    _, path, off, _ = fr[keep]
    write(path, read(path)[:off])
    for _, p2, _, _ in fr[keep:]:
        if p2 != path and os.path.exists(p2):
            os.unlink(p2)
    for name in ("checkpoint", "checkpoints.log"):
        f = os.path.join(audit, name)
        if os.path.exists(f):
            os.unlink(f)
    start_fails(svc, [str(keep), "refusing to start"])


def body(args):
    with Service(args.bin, keep=args.keep) as svc:
        heal_scenario(args, svc, 0, False)
        heal_scenario(args, svc, 1, True)
        floor_scenario(args, svc)


if __name__ == "__main__":
    main("one durable write per group: a crash's lost audit tail is "
         "restored from the journal; a cut below the synced size is "
         "refused", body)
