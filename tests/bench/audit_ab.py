#!/usr/bin/python3
"""audit_ab.py - what the audit log costs on the event path (issue 11:
"auditing on keeps at least 90% of the throughput of the same build with
the event path's audit calls compiled out, measured in alternating runs").

    tests/bench/audit_ab.py --with build --without build-noaudit [--runs 3]

`--without` is a build of the same tree configured with
-DVIGIL_BENCH_NO_EVENT_AUDIT=ON (no event.store records; that scorer
refuses to start unless VIGIL_BENCH_NO_EVENT_AUDIT_OK=1, which this
script sets for it alone). Each run starts a fresh service (CURVE on,
the collector's queue_wait_max_ms=0 so that flat out means flat out),
sends batches of 100 over 4 connections flat out for --seconds, then
orders at 2,000/s over 4 connections for --seconds; the builds
alternate, --runs times each. Prints every run, then the medians and the
ratio of acknowledged events/s (with / without). Any error reply fails
the run's row (exit 1): throughput counts acknowledged events only.
Figures only otherwise; not part of ctest (timings are not tests).

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


def one_run(bindir, seconds, audit_off):
    if audit_off:
        os.environ[OK_ENV] = "1"
    else:
        os.environ.pop(OK_ENV, None)
    try:
        with Service(bindir, collector_opts=["queue_wait_max_ms=0"]) as svc:
            b = load(svc, "storefront", "--connections", 4, "--batch", 100,
                     seconds=seconds)
            o = load(svc, "storefront", "--orders-only", "--rate", 2000,
                     "--connections", 4, "--batch", 1, seconds=seconds)
    finally:
        os.environ.pop(OK_ENV, None)
    return b, o


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--with", dest="on", required=True,
                    help="build directory of the product (auditing on)")
    ap.add_argument("--without", dest="off", required=True,
                    help="build directory with -DVIGIL_BENCH_NO_EVENT_AUDIT=ON")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=6)
    a = ap.parse_args()
    res = {"on": [], "off": []}
    failed = False
    for i in range(a.runs):
        for name, d in (("on", a.on), ("off", a.off)):
            b, o = one_run(os.path.join(d, "bin"), a.seconds, name == "off")
            eps = b["acked_ok"] / b["duration_s"]
            bad = b["errors"] + o["errors"]
            failed |= bad > 0
            res[name].append((eps, o["order_p50_us"], o["order_p99_us"]))
            print("run %d audit %-3s: batches %8.0f ack/s; orders 2000/s p50 "
                  "%.2f ms p99 %.2f ms; errors %d%s; load %s"
                  % (i + 1, name, eps, o["order_p50_us"] / 1e3,
                     o["order_p99_us"] / 1e3, bad,
                     " FAIL" if bad else "",
                     open("/proc/loadavg").read().split()[0]), flush=True)
    med = {k: [statistics.median(x[j] for x in v) for j in range(3)]
           for k, v in res.items()}
    ratio = med["on"][0] / med["off"][0] if med["off"][0] else 0
    print("median batches: audit on %.0f, off %.0f ack/s: on keeps %.1f%% "
          "(target >= 90%%: %s)" % (med["on"][0], med["off"][0], 100 * ratio,
                                    "met" if ratio >= 0.9 else "NOT met"))
    print("median orders p50/p99: on %.2f/%.2f ms, off %.2f/%.2f ms"
          % (med["on"][1] / 1e3, med["on"][2] / 1e3, med["off"][1] / 1e3,
             med["off"][2] / 1e3))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
