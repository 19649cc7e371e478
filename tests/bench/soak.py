#!/usr/bin/python3
"""soak.py - hold half the measured maximum for a set time and print
throughput, p99 and resident memory every minute (issue 12, point 5).

    tests/bench/soak.py --bin build/bin [--minutes 30] [--rate R]

Starts the real daemons (CURVE on) in a temporary directory, measures
the maximum for 10 s flat out (vigil-load, 4 connections, batches of 20)
unless --rate is given, then runs vigil-load at half of it on a fixed
schedule, one 60-second run per minute, and prints after each: accepted
events/s, p50 and p99 latency (from the scheduled send, so a stall is
not hidden), errors, and the resident memory of the scorer and the
collector and the data directory's size. Exit 1 if a daemon died or a
minute had error replies; growth is for the reader to judge (the last
line gives the RSS change from the first minute to the last).

SPDX-License-Identifier: MIT
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from vigiltest import Service  # noqa: E402
from ops_bench import du_mb, load, rss_mb  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--rate", type=int, default=0,
                    help="events/s to hold (default: half the maximum)")
    a = ap.parse_args()
    flat = ["--connections", 4, "--batch", 20, "--inflight", 8]
    bad = 0
    with Service(os.path.abspath(a.bin)) as svc:
        rate = a.rate
        if rate <= 0:
            m = load(svc, "storefront", *flat, seconds=10)
            mx = m["acked_ok"] / m["duration_s"]
            rate = int(mx / 2)
            print("maximum %.0f events/s: holding %d/s for %d min"
                  % (mx, rate, a.minutes), flush=True)
        first = None
        print("min  accepted/s  p50_ms   p99_ms  errors  scorer_MiB "
              "(anon)  collector_MiB (anon)  data_MiB", flush=True)
        for minute in range(1, a.minutes + 1):
            r = load(svc, "storefront", "--rate", rate, *flat, seconds=60)
            rs = (rss_mb(svc.scorer.proc), rss_mb(svc.collector.proc),
                  rss_mb(svc.scorer.proc, "RssAnon"),
                  rss_mb(svc.collector.proc, "RssAnon"))
            first = first or rs
            print("%3d  %10.0f  %6.2f  %7.2f  %6d  %10.0f  %6.0f  %13.0f %6.0f"
                  "  %8.0f" %
                  (minute, r["acked_ok"] / r["duration_s"],
                   r["p50_us"] / 1e3, r["p99_us"] / 1e3, r["errors"], rs[0],
                   rs[2], rs[1], rs[3], du_mb(svc.data_dir)), flush=True)
            bad += r["errors"] > 0
            if not svc.alive():
                print("a daemon died", flush=True)
                return 1
        print("RSS change first->last minute: scorer %+.0f MiB (anonymous "
              "%+.0f), collector %+.0f MiB (anonymous %+.0f); minutes with "
              "errors: %d"
              % (rs[0] - first[0], rs[2] - first[2], rs[1] - first[1],
                 rs[3] - first[3], bad), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
