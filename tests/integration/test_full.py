#!/usr/bin/python3
"""integ.full - a full LMDB map or a full disk refuses new events with
`full`, keeps answering queries, shows the condition, grows the map in
steps, and recovers by itself when room returns (issue 12, point 2).

Through the real daemons (CURVE on):
 - map: a 16 MiB map that grows in 16 MiB steps (lmdb_map_grow_pct=30,
   lmdb_map_full_pct=60) up to lmdb_map_max_mb=32: events fill it; the map size seen by
   `vigilctl status` is always 16 or 32 MiB and reaches 32 (it grew a
   step without a restart); then events are answered `full` (a code of
   its own, not `io`, with retry_after_ms); a query on an order stored
   before is still answered; status says state "full" with the reason
   and /metrics vigil_scorer_full 1; refusals cost no recovery each
   (REFUSALS refused events take < 50 ms each at the median). Then
   lmdb_map_max_mb is raised in the configuration file and SIGHUP sent:
   an event is accepted within 1 s, with no restart, and status says ok.
 - disk: the data directory on a 48 MiB tmpfs with disk_min_free_mb=8
   and a 20 MiB ballast file: events fill it until `full` (reason disk);
   queries still answered; the ballast is deleted: an event is accepted
   within 1 s. Without the right to mount a tmpfs this part is SKIPPED
   (exit 77), never passed.

SPDX-License-Identifier: MIT
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, Skip, TestFailure, check,  # noqa
                       check_eq, main, query, say, vigilctl)

MiB = 1 << 20
REFUSALS = 50
FILL_DEADLINE_S = 120


def status(svc):
    rc, out, err = vigilctl(svc.bindir, "status", "--json",
                            *svc.ctl_conn("ops"))
    if rc != 0:
        raise TestFailure("vigilctl status exit %d: %s %s" % (rc, out, err))
    return json.loads(out)["result"]


def metric(svc, name):
    with urllib.request.urlopen("http://%s/metrics" % svc.scorer_metrics,
                                timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def fill_until_full(svc, p, tag, on_batch=None):
    """Send batches of orders until one is answered full; return
    (accepted orders, the full reply)."""
    deadline = time.monotonic() + FILL_DEADLINE_S
    n = 0
    accepted = []
    while time.monotonic() < deadline:
        batch = [p.order("%s-%d" % (tag, n + i), order="%s-O%d" % (tag, n + i),
                         amount=1000 + i)
                 for i in range(100)]
        n += 100
        reps = svc.send(batch, timeout_ms=10000)
        for e, r in zip(batch, reps):
            if r.get("ok") is True:
                accepted.append(e)
            elif r.get("code") == "full":
                return accepted, r
            else:
                raise TestFailure("event answered %r while filling" % r)
        if on_batch is not None:
            on_batch()
    raise TestFailure("not full after %d events in %d s"
                      % (n, FILL_DEADLINE_S))


def check_full_behaviour(svc, p, accepted, rep, tag, reason_rx):
    check(isinstance(rep.get("retry_after_ms"), int) and
          rep["retry_after_ms"] > 0, "`full` carries retry_after_ms", rep)
    st = status(svc)
    check_eq(st.get("state"), "full", "status says state full")
    check(re.search(reason_rx, st.get("full_reason", "")) is not None,
          "and why (%s)" % reason_rx, st.get("full_reason"))
    check_eq(metric(svc, "vigil_scorer_full"), 1.0, "/metrics "
             "vigil_scorer_full 1")
    first = accepted[0]
    q = query(svc, "score.get", "%s-q" % tag, order=first["order"])
    check(q.get("code") in ("ok", "not_found"),
          "a query is still answered while full", q)
    check_eq(q.get("code"), "ok", "with the stored order's score")
    times = []
    codes = set()
    for i in range(REFUSALS):
        t = time.monotonic()
        r = svc.send(p.order("%s-r%d" % (tag, i), order="%s-R%d" % (tag, i)))
        times.append(time.monotonic() - t)
        codes.add(r.get("code"))
    check_eq(codes, {"full"}, "every new event is answered `full`")
    times.sort()
    say("  %d refusals: median %.2f ms, max %.2f ms"
        % (REFUSALS, times[REFUSALS // 2] * 1e3, times[-1] * 1e3))
    check(times[REFUSALS // 2] < 0.05, "a refusal costs no recovery "
          "(median %.1f ms < 50 ms)" % (times[REFUSALS // 2] * 1e3))


def wait_accepted(svc, p, tag, t0, limit_s=1.0, deadline_s=5.0):
    """Send one event every 20 ms from t0 until one is ok; return the
    seconds from t0 to that acknowledgement."""
    i = 0
    while time.monotonic() < t0 + deadline_s:
        r = svc.send(p.order("%s-w%d" % (tag, i), order="%s-W%d" % (tag, i)))
        i += 1
        if r.get("ok") is True:
            return time.monotonic() - t0
        check_eq(r.get("code"), "full", "refusals before recovery are full")
        time.sleep(0.02)
    raise TestFailure("no event accepted within %.0f s of room returning"
                      % deadline_s)


def map_part(args):
    tmp = tempfile.mkdtemp(prefix="vigil-full-")
    conf = os.path.join(tmp, "scorer.conf")
    with open(conf, "w") as f:
        f.write("lmdb_map_max_mb = 32\n")
    svc = Service(args.bin, scorer_opts=[
        "lmdb_map_mb=16", "lmdb_map_step_mb=16", "lmdb_map_grow_pct=30",
        "lmdb_map_full_pct=60", "disk_min_free_mb=0",
        "commit_interval_ms=20"])
    svc.scorer.argv[1:1] = ["-f", conf]
    svc.add_client("ops", "admin")
    sizes = set()

    looks = [0]

    def look():
        looks[0] += 1
        if looks[0] % 3 == 1:  # a vigilctl run per 300 events is enough
            sizes.add(status(svc)["lmdb"]["map_bytes"])
    with svc:
        p = Persona(3, tag="fm")
        say("fill a 16 MiB map growing by 16 MiB up to 32 MiB")
        look()
        accepted, rep = fill_until_full(svc, p, "fm", look)
        look()
        say("  %d orders accepted; map sizes seen: %s MiB"
            % (len(accepted), sorted(s // MiB for s in sizes)))
        check(sizes <= {16 * MiB, 32 * MiB}, "the map only ever had a "
              "whole number of steps", sorted(sizes))
        check(32 * MiB in sizes, "the map grew a step while running")
        check(status(svc)["lmdb"].get("grows", 1) >= 1, "status counts "
              "the growth")
        check_full_behaviour(svc, p, accepted, rep, "fm", r"map")
        say("room returns: lmdb_map_max_mb = 64, SIGHUP")
        with open(conf, "w") as f:
            f.write("lmdb_map_max_mb = 64\n")
        t0 = time.monotonic()
        svc.scorer.proc.send_signal(signal.SIGHUP)
        dt = wait_accepted(svc, p, "fm", t0)
        say("  first event accepted %.0f ms after SIGHUP" % (dt * 1e3))
        check(dt < 1.0, "accepted within 1 s of room returning")
        st = status(svc)
        check_eq(st["state"], "ok", "status says ok again")
        mb = st["lmdb"]["map_bytes"]
        check(mb in (48 * MiB, 64 * MiB), "the map grew in 16 MiB steps "
              "up to the new maximum (%d MiB)" % (mb // MiB))
        check(svc.scorer.alive(), "without a restart")
        check(len(svc.grep(r"full", "scorer")) >= 2, "the scorer logged "
              "the condition's start and end")
    os.unlink(conf)
    os.rmdir(tmp)


def try_mount(path, size):
    try:
        p = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%s,mode=0700" % size, "tmpfs", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
    except OSError as e:
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
            return
        time.sleep(0.1)
    say("  WARNING could not unmount %s" % path)


def disk_part(args):
    tmp = tempfile.mkdtemp(prefix="vigil-fulldisk-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    why = try_mount(data, "48m")
    if why is not None:
        os.rmdir(data)
        os.rmdir(tmp)
        raise Skip("disk part: " + why)
    try:
        ballast = os.path.join(data, "ballast")
        with open(ballast, "wb") as f:
            f.write(b"\1" * (20 * MiB))
            f.flush()
            os.fsync(f.fileno())
        svc = Service(args.bin, data_dir=data, scorer_opts=[
            "lmdb_map_mb=64", "lmdb_map_step_mb=0", "disk_min_free_mb=8",
            "commit_interval_ms=20", "checkpoint_interval_ms=200"])
        svc.add_client("ops", "admin")
        with svc:
            p = Persona(4, tag="fd")
            say("fill a 48 MiB tmpfs (20 MiB ballast) down to 8 MiB free")
            accepted, rep = fill_until_full(svc, p, "fd")
            say("  %d orders accepted" % len(accepted))
            check_full_behaviour(svc, p, accepted, rep, "fd", r"free|disk")
            st = status(svc)
            check(any(d.get("free_bytes", 1 << 40) < 9 * MiB
                      for d in st["disk"].values() if isinstance(d, dict)),
                  "status shows the disk headroom", st["disk"])
            say("room returns: the ballast is deleted")
            t0 = time.monotonic()
            os.unlink(ballast)
            dt = wait_accepted(svc, p, "fd", t0)
            say("  first event accepted %.0f ms after the delete"
                % (dt * 1e3))
            check(dt < 1.0, "accepted within 1 s of room returning")
            check_eq(status(svc)["state"], "ok", "status says ok again")
            for i in range(20):
                svc.send_ok(p.order("fd-after-%d" % i, order="FD-A%d" % i))
            say("  ok   20 more events accepted after the episode")
            s_rc, _ = svc.stop()
            check_eq(s_rc, 0, "the scorer exits 0 on SIGTERM afterwards")
    finally:
        umount(data)
        try:
            os.rmdir(data)
            os.rmdir(tmp)
        except OSError:
            pass


def body(args):
    map_part(args)
    disk_part(args)


if __name__ == "__main__":
    main(__doc__, body)
