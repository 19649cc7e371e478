#!/usr/bin/python3
"""ab.py - alternating A/B runs of the main path, two of issue 11's and
issue 7's comparisons, and issue 7's replay:

    tests/bench/ab.py audit --with build --without build-noaudit [--runs 3]
    tests/bench/ab.py model --build build [--runs 3]
    tests/bench/ab.py opts --build build --a K=V[,K=V] --b K=V[,K=V]
    tests/bench/ab.py replay --build build [--baseline OLD] [--runs 5]

audit: what the audit log costs on the event path (issue 11: "auditing
  on keeps at least 90% of the throughput of the same build with the
  event path's audit calls compiled out"). `--without` is a build of the
  same tree configured with -DVIGIL_BENCH_NO_EVENT_AUDIT=ON (no
  event.store records; that scorer refuses to start unless
  VIGIL_BENCH_NO_EVENT_AUDIT_OK=1, which this script sets for it alone).
model: what the model costs (issue 7: "scoring with the model keeps the
  main-path benchmark within 10% of the rule set's throughput"): the
  shipped model against model_file=none (the rule set alone), one build.
opts: one build under two sets of scorer options (e.g. a default's
  cost: --a overlay_max_entries=16384 --b overlay_max_entries=60000).
replay: issue 7's "vigil-replay of the shared file at least 30,000
  events/s": the replay scripts/model-eval.py runs (labels on the query
  endpoint, --connections, default 1), each on a fresh service, --runs
  times; with --baseline another build directory's, alternating. Prints
  each run's events/s (vigil-replay's own figure, from its first request
  to its last reply), the load average, how idle the machine was and
  how many bytes the scorer wrote during the run (/proc/PID/io: LMDB's
  pages are most of them), then the medians, their ratio and the
  target. Exit 77 without the shared data set.

The replay's figures swing by 10% between runs of one build on a
shared machine: compare medians of alternating runs, never two runs.

Each run starts a fresh service (CURVE on, the collector's
queue_wait_max_ms=0 so that flat out means flat out), sends batches of
100 over 4 connections flat out for --seconds, then orders at 2,000/s
over 4 connections for --seconds; A and B alternate, --runs times each.
Prints every run, then the medians and the ratio of acknowledged
events/s (A / B). Any error reply fails the run's row (exit 1):
throughput counts acknowledged events only. Figures only otherwise; not
part of ctest (timings are not tests).

SPDX-License-Identifier: MIT
"""

import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from vigiltest import (Service, replay_events_per_s,  # noqa: E402
                       replay_shared, shared_data_dir)
from ops_bench import load  # noqa: E402

OK_ENV = "VIGIL_BENCH_NO_EVENT_AUDIT_OK"


def one_run(side, seconds):
    """One fresh service of `side` (label, bindir, scorer_opts, env)."""
    _, bindir, sopts, env = side
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with Service(bindir, scorer_opts=sopts,
                     collector_opts=["queue_wait_max_ms=0"]) as svc:
            b = load(svc, "storefront", "--connections", 4, "--batch", 100,
                     seconds=seconds)
            o = load(svc, "storefront", "--orders-only", "--rate", 2000,
                     "--connections", 4, "--batch", 1, seconds=seconds)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return b, o


REPLAY_TARGET = 30000  # events/s, issue 7


def cpu_ticks():
    """(idle, total) jiffies of the whole machine (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[3] + v[4], sum(v)


def written_bytes(pid):
    """Bytes process `pid` has caused to be written to storage so far
    (/proc/PID/io write_bytes), or None where the kernel does not say."""
    try:
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("write_bytes:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def replay_run(bindir, data_dir, connections):
    """One replay of the shared data on a fresh service of `bindir`:
    (events/s, idle share of the machine during the replay, bytes the
    scorer wrote during it or None)."""
    with tempfile.TemporaryDirectory(prefix="vigil-ab-replay-") as tmp:
        with Service(bindir, scorer_opts=("quota_queries_per_s=0",),
                     collector_opts=("queue_wait_max_ms=0",)) as svc:
            pid = svc.scorer.proc.pid
            w0 = written_bytes(pid)
            i0, t0 = cpu_ticks()
            rc, stdout, err = replay_shared(
                svc, bindir, data_dir, os.path.join(tmp, "out.csv"),
                connections=connections)
            i1, t1 = cpu_ticks()
            w1 = written_bytes(pid)
            eps = replay_events_per_s(stdout)
            if rc != 0 or eps is None:
                sys.stderr.write(stdout + err)
                raise SystemExit("ab.py: the replay failed (exit %d)" % rc)
    written = w1 - w0 if w0 is not None and w1 is not None else None
    return eps, (i1 - i0) / max(t1 - t0, 1), written


def replay_main(a):
    d = shared_data_dir()
    if d is None:
        print("the shared data set is not on this machine "
              "(set VIGIL_SHARED_DATA)")
        return 77
    sides = [("build", os.path.join(a.build, "bin"))]
    if a.baseline:
        sides.append(("baseline", os.path.join(a.baseline, "bin")))
    res = {name: [] for name, _ in sides}
    wrote = {name: [] for name, _ in sides}
    print("replay of %s, %d connection(s), %d run(s) a side%s"
          % (d, a.connections, a.runs,
             ", alternating" if a.baseline else ""), flush=True)
    for i in range(a.runs):
        for name, bindir in sides:
            eps, idle, written = replay_run(bindir, d, a.connections)
            res[name].append(eps)
            if written is not None:
                wrote[name].append(written)
            print("run %d %-8s: %6d events/s; machine %2.0f%% idle; load %s; "
                  "scorer wrote %s MB"
                  % (i + 1, name, eps, 100 * idle,
                     open("/proc/loadavg").read().split()[0],
                     "?" if written is None else "%.0f" % (written / 1e6)),
                  flush=True)
    med = {name: statistics.median(v) for name, v in res.items()}
    line = "median: build %.0f events/s" % med["build"]
    if a.baseline:
        line += ", baseline %.0f: %.1f%%" % (
            med["baseline"], 100 * med["build"] / med["baseline"])
    print(line)
    if all(wrote[name] for name, _ in sides):
        print("median bytes the scorer wrote a replay: " + ", ".join(
            "%s %.0f MB" % (name, statistics.median(wrote[name]) / 1e6)
            for name, _ in sides))
    print("target (the build's median >= %d events/s): %s"
          % (REPLAY_TARGET, "met" if med["build"] >= REPLAY_TARGET
             else "NOT met"))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("audit", "model", "opts", "replay"))
    ap.add_argument("--with", dest="on",
                    help="audit: the product build directory (auditing on)")
    ap.add_argument("--without", dest="off",
                    help="audit: a build with -DVIGIL_BENCH_NO_EVENT_AUDIT=ON")
    ap.add_argument("--build",
                    help="model, opts, replay: the build directory")
    ap.add_argument("--baseline",
                    help="replay: a build directory to alternate with")
    ap.add_argument("--connections", type=int, default=1,
                    help="replay: vigil-replay's storefront connections")
    ap.add_argument("--a", default="", help="opts: side A's scorer options")
    ap.add_argument("--b", default="", help="opts: side B's scorer options")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    a = ap.parse_args()
    if a.what == "replay":
        if not a.build:
            ap.error("replay needs --build")
        return replay_main(a)
    if a.what == "audit":
        if not a.on or not a.off:
            ap.error("audit needs --with and --without")
        sides = (("audit on", os.path.join(a.on, "bin"), (), {}),
                 ("audit off", os.path.join(a.off, "bin"), (),
                  {OK_ENV: "1"}))
        goal = "auditing on keeps >= 90%"
    elif a.what == "opts":
        if not a.build or not a.a or not a.b:
            ap.error("opts needs --build, --a and --b")
        b = os.path.join(a.build, "bin")
        sides = (("A", b, tuple(a.a.split(",")), {}),
                 ("B", b, tuple(a.b.split(",")), {}))
        print("A: %s\nB: %s" % (a.a, a.b))
        goal = "A keeps >= 90% of B's"
    else:
        if not a.build:
            ap.error("model needs --build")
        b = os.path.join(a.build, "bin")
        sides = (("model", b, (), {}),
                 ("rules only", b, ("model_file=none",), {}))
        goal = "the model keeps >= 90% of the rule set's"
    res = {side[0]: [] for side in sides}
    failed = False
    for i in range(a.runs):
        for side in sides:
            b, o = one_run(side, a.seconds)
            eps = b["acked_ok"] / b["duration_s"]
            bad = b["errors"] + o["errors"]
            failed |= bad > 0
            res[side[0]].append((eps, o["order_p50_us"], o["order_p99_us"]))
            print("run %d %-10s: batches %8.0f ack/s; orders 2000/s p50 "
                  "%.2f ms p99 %.2f ms; errors %d%s; load %s"
                  % (i + 1, side[0], eps, o["order_p50_us"] / 1e3,
                     o["order_p99_us"] / 1e3, bad, " FAIL" if bad else "",
                     open("/proc/loadavg").read().split()[0]), flush=True)
    (na, ra), (nb, rb) = [(k, res[k]) for k in (sides[0][0], sides[1][0])]
    ma = [statistics.median(x[j] for x in ra) for j in range(3)]
    mb = [statistics.median(x[j] for x in rb) for j in range(3)]
    ratio = ma[0] / mb[0] if mb[0] else 0
    print("median batches: %s %.0f, %s %.0f ack/s: %.1f%% (%s: %s)"
          % (na, ma[0], nb, mb[0], 100 * ratio, goal,
             "met" if ratio >= 0.9 else "NOT met"))
    print("median orders p50/p99: %s %.2f/%.2f ms, %s %.2f/%.2f ms"
          % (na, ma[1] / 1e3, ma[2] / 1e3, nb, mb[1] / 1e3, mb[2] / 1e3))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
