#!/usr/bin/python3
"""ab.py - alternating A/B runs of the main path, two of issue 11's and
issue 7's comparisons:

    tests/bench/ab.py audit --with build --without build-noaudit [--runs 3]
    tests/bench/ab.py model --build build [--runs 3]
    tests/bench/ab.py opts --build build --a K=V[,K=V] --b K=V[,K=V]

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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from vigiltest import Service  # noqa: E402
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("audit", "model", "opts"))
    ap.add_argument("--with", dest="on",
                    help="audit: the product build directory (auditing on)")
    ap.add_argument("--without", dest="off",
                    help="audit: a build with -DVIGIL_BENCH_NO_EVENT_AUDIT=ON")
    ap.add_argument("--build", help="model, opts: the build directory")
    ap.add_argument("--a", default="", help="opts: side A's scorer options")
    ap.add_argument("--b", default="", help="opts: side B's scorer options")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    a = ap.parse_args()
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
