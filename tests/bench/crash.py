#!/usr/bin/python3
"""crash.py - the crash driver: SIGKILL the scorer or the collector at
random points under load, N times, and check after every restart that
nothing acknowledged was lost or applied twice and that the audit log
verifies (issue 12, point 5).

    tests/bench/crash.py --bin build/bin --kills 100 [--seed S] [--cover]

Each kill picks (from the seed, printed first so a run can be repeated):
 - a target: the scorer (3 in 4) or the collector;
 - a moment: a plain SIGKILL after a random 0.2-1.2 s of load, or a
   crash point (common/crashpoint.h): the target is restarted with
   VIGIL_CRASHPOINT=NAME:N and kills itself the Nth time it gets there.
   The scorer's points: lmdb.commit (inside an LMDB flush, before the
   commit), journal.trim (after the commit, before old journal segments
   are released), checkpoint (before an audit checkpoint is written),
   checkpoint.after, group.audited (a group's audit records written to
   the segments unsynced and journaled, the journal not yet synced),
   group.journaled (the one journal sync done, the replies not yet
   sent), audit.flush (before the segments are synced ahead of an LMDB
   commit), vault.cell (a new subject's slot and one of its two index
   cells written); the collector's: collector.sent (an event
   forwarded, its reply not yet back).
--cover makes the first kills go through every crash point once, then
one plain kill of each daemon (the ctest short version, integ.crash).

The load (tests/integration/test_audit_kill.py's sender and asker):
fresh events in batches on a DEALER socket, each resent until it is
acknowledged, beside account.get queries. After each kill, once the
service answers again:
 - the killed process died of SIGKILL (not of something else);
 - `vigilctl audit replay` verifies the log; every acknowledged event
   has its event.store record, exactly one if it was acknowledged on its
   first and only send; every answered query has its record;
 - up to SAMPLE acknowledged events (chosen from the seed), resent, get
   their first reply again from the dedup and add no event.store record.
At the end: every account's orders_total equals its distinct orders
(history applied each one exactly once), the scorer exits 0 on SIGTERM
and `vigilctl audit verify` passes. The figures (kills by target and
point, events, resends, time to the first acknowledgement after each
restart) are printed. Exit 0: all held; 1: a check failed.

SPDX-License-Identifier: MIT
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import test_audit_kill as ak  # noqa: E402
from vigiltest import (Service, TestFailure, check, check_eq,  # noqa: E402
                       query, reply_key, say)

SCORER_POINTS = ("lmdb.commit", "journal.trim", "checkpoint",
                 "checkpoint.after", "group.audited", "group.journaled",
                 "audit.flush", "vault.cell")
COLLECTOR_POINTS = ("collector.sent",)
COVER = [("scorer", p) for p in SCORER_POINTS] + \
    [("collector", p) for p in COLLECTOR_POINTS] + \
    [("scorer", None), ("collector", None)]
SAMPLE = 300
POINT_WAIT_S = 20.0


def plan(rng, k, cover):
    """(target, crash point or None, N) of kill number k (from 0)."""
    if cover and k < len(COVER):
        target, point = COVER[k]
    else:
        target = "scorer" if rng.random() < 0.75 else "collector"
        points = SCORER_POINTS if target == "scorer" else COLLECTOR_POINTS
        point = rng.choice(points) if rng.random() < 0.5 else None
    return target, point, rng.randint(1, 3)


def start_with_point(daemon, point, n):
    os.environ["VIGIL_CRASHPOINT"] = "%s:%d" % (point, n)
    try:
        daemon.start()
    finally:
        del os.environ["VIGIL_CRASHPOINT"]


def first_ack_s(svc, t0, deadline_s=30.0):
    """Seconds from t0 until the service acknowledges an event."""
    svc.wait_ready(timeout=deadline_s)
    return time.monotonic() - t0


def check_kill(svc, ledger, k, rng):
    acked = ledger.acked_ids()
    counts, refs, records = ak.store_counts(svc, svc.bindir, acked)
    missing = [i for i in acked if counts.get(i, 0) < 1]
    check(not missing, "kill %d: each of %d acknowledged events has its "
          "event.store record (%d missing, e.g. %s)"
          % (k, len(acked), len(missing), missing[:3]))
    once = [i for i in acked if ledger.sends[i] == 1]
    twice = [(i, counts[i]) for i in once if counts[i] != 1]
    check(not twice, "kill %d: the %d acknowledged on their only send have "
          "exactly one (%d do not, e.g. %s)"
          % (k, len(once), len(twice), twice[:3]))
    with ledger.lock:
        answered = list(ledger.answered)
        first = dict(ledger.first)
        byid = {e["id"]: e for e in ledger.events if e["id"] in first}
    missing_q = [q for q in answered if svc.query_ref(q) not in refs]
    check(not missing_q, "kill %d: each of %d answered queries has its "
          "record (%d missing)" % (k, len(answered), len(missing_q)))
    ids = sorted(first)
    sample = rng.sample(ids, min(SAMPLE, len(ids)))
    again = ak.send_until_acked(svc, [byid[i] for i in sample])
    diff = [i for i in sample if reply_key(first[i]) != reply_key(again[i])]
    check(not diff, "kill %d: %d acknowledged events resent get their "
          "first reply (%d differ, e.g. %s)"
          % (k, len(sample), len(diff),
             [(i, first[i], again.get(i)) for i in diff[:2]]))
    counts2, _, _ = ak.store_counts(svc, svc.bindir, sample)
    added = [i for i in sample if counts2[i] != counts[i]]
    check(not added, "kill %d: and add no event.store record (%d did)"
          % (k, len(added)))
    return len(records)


def run(bindir, kills, seed, cover=False):
    rng = random.Random(seed)
    say("crash driver: %d kills, seed %d%s" % (kills, seed,
                                               ", covering every point"
                                               if cover else ""))
    ledger = ak.Ledger()
    figures = {"by": {}, "first_ack_ms": [], "not_reached": 0}
    t_start = time.monotonic()
    with Service(bindir, scorer_opts=["commit_interval_ms=50",
                                      "checkpoint_interval_ms=300"],
                 collector_opts=["request_timeout_ms=1000"]) as svc:
        for k in range(1, kills + 1):
            target, point, n = plan(rng, k - 1, cover)
            daemon = getattr(svc, target)
            stop, errors = threading.Event(), []
            threads = [threading.Thread(target=f,
                                        args=(svc, ledger, stop, errors))
                       for f in (ak.sender, ak.asker)]
            for t in threads:
                t.start()
            try:
                if point is not None:
                    # Restart the target armed: it kills itself there.
                    rc = daemon.stop()
                    check_eq(rc, 0, "kill %d: %s stops with 0 before it is "
                             "armed" % (k, target))
                    start_with_point(daemon, point, n)
                    proc = daemon.proc
                    try:
                        proc.wait(POINT_WAIT_S)
                    except subprocess.TimeoutExpired:
                        figures["not_reached"] += 1
                        say("  note kill %d: %s did not reach %s:%d in "
                            "%.0f s: plain SIGKILL" % (k, target, point, n,
                                                       POINT_WAIT_S))
                        daemon.kill9()
                    daemon.proc = None
                else:
                    time.sleep(rng.uniform(0.2, 1.2))
                    check(ledger.busy.wait(10), "kill %d: events in flight"
                          % k)
                    proc = daemon.proc
                    daemon.kill9()
                check_eq(proc.returncode, -signal.SIGKILL,
                         "kill %d: the %s died of SIGKILL%s"
                         % (k, target, " at " + point if point else ""))
                key = "%s %s" % (target, point or "random")
                figures["by"][key] = figures["by"].get(key, 0) + 1
                t0 = time.monotonic()
                daemon.start()
                svc.close_socket()
                figures["first_ack_ms"].append(first_ack_s(svc, t0) * 1e3)
                time.sleep(0.3)
            finally:
                stop.set()
                for t in threads:
                    t.join()
            if errors:
                raise errors[0]
            svc.wait_ready()
            nrec = check_kill(svc, ledger, k, rng)
            say("  kill %d/%d: %s at %s: ok (%d events acknowledged, %d "
                "audit records, first ack %.0f ms after restart)"
                % (k, kills, target, point or "a random moment",
                   len(ledger.first), nrec, figures["first_ack_ms"][-1]))

        say("-- history holds every order once")
        want = {}
        for e in ledger.events:
            if e["type"] == "order.placed":
                want[e["account"]] = want.get(e["account"], 0) + 1
        bad = []
        for m, (account, orders) in enumerate(sorted(want.items())):
            rep = query(svc, "account.get", "final-%d" % m, account=account)
            if rep.get("ok") is not True or \
                    rep["result"]["orders_total"] != orders:
                bad.append((account, orders, rep))
        check(not bad, "each of %d accounts' orders_total equals its "
              "distinct orders (%d differ, e.g. %s)"
              % (len(want), len(bad), bad[:2]))
        rc_s, rc_c = svc.stop()
        check_eq((rc_s, rc_c), (0, 0), "both exit 0 on SIGTERM")
        audit = os.path.join(svc.data_dir, "audit")
        v = subprocess.run([os.path.join(bindir, "vigilctl"), "audit",
                            "verify", audit], capture_output=True, text=True,
                           timeout=300)
        check_eq(v.returncode, 0, "vigilctl audit verify passes (%s)"
                 % v.stdout.strip().replace("\n", " | "))
    resent = sum(1 for x in ledger.sends.values() if x > 1)
    acks = sorted(figures["first_ack_ms"])
    say("== figures (seed %d): %d kills in %.0f s" %
        (seed, kills, time.monotonic() - t_start))
    for key in sorted(figures["by"]):
        say("   %-28s %d" % (key, figures["by"][key]))
    say("   crash points not reached in time (plain kill instead): %d"
        % figures["not_reached"])
    say("   events acknowledged %d, of them resent %d; queries answered %d"
        % (len(ledger.first), resent, len(ledger.answered)))
    say("   lost acknowledged events 0, applied twice 0, audit records "
        "missing 0 (every check above held)")
    say("   first acknowledgement after a restart: median %.0f ms, max "
        "%.0f ms" % (acks[len(acks) // 2], acks[-1]))
    return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="build/bin")
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cover", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(
        1 << 31)
    print("seed %d (repeat with --seed %d)" % (seed, seed), flush=True)
    try:
        run(os.path.abspath(a.bin), a.kills, seed, a.cover)
    except TestFailure as e:
        print("FAIL crash.py (seed %d): %s" % (seed, e), flush=True)
        return 1
    print("PASS crash.py (seed %d)" % seed, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
