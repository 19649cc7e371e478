#!/usr/bin/python3
"""integ.replay_busy - vigil-replay resends what the service answers "busy".

The synthetic file of integ.replay (303 users, 1212 events), replayed
three times through the real daemons, each on a fresh service:

 1. a reference run that meets no busy reply (the collector's wait bound
    off, one request in flight): the scores of every order;
 2. the collector's event quota far below the replay's pace
    (quota_events_per_s=500, burst 40, batches of 20): requests are
    answered "busy" with a retry hint; vigil-replay waits that long and
    sends them again. Exit 0; the summary counts the busy replies and
    the events resent (both > 0), no rejection, no timeout, nothing
    overtaken (one request in flight); every order scored, with the
    same score and decision as in the reference run: resending kept
    every user's order (signup, visit, order) and the labels' delay;
 3. the collector's queue bound at its smallest (client_queue_max=1,
    collector_window_events=20) with 8 requests in flight: "busy" for
    the queue, resent; exit 0, every order scored, none rejected or
    timed out.

Before this, a busy reply was counted as a rejection and the order went
unscored (replays needed the collector's queue_wait_max_ms=0).

SPDX-License-Identifier: MIT
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import Service, check, check_eq, main, say  # noqa: E402
from test_replay import (make_rows, read_csv, replay,  # noqa: E402
                         write_ranges, write_rows)


def counts(stdout):
    """(busy replies, events resent, overtaken, rejected, timeouts)."""
    m = re.search(r"busy replies (\d+) \(events resent (\d+), overtaken "
                  r"(\d+)\)", stdout)
    n = re.search(r"rejected (\d+)\), timeouts (\d+)", stdout)
    check(m is not None and n is not None, "the summary counts busy "
          "replies, resends, rejections and timeouts", stdout)
    return tuple(int(x) for x in m.groups() + n.groups())


def scored(out, nrows):
    got = read_csv(out)
    check_eq(len(got), nrows, "--out: one line per input row")
    check(all(r["score"].isdigit() and
              r["decision"] in ("allow", "review", "block") for r in got),
          "--out: every order scored",
          [r for r in got if not r["score"].isdigit()][:3])
    return [(r["user_id"], r["score"], r["decision"]) for r in got]


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-integ-replay-busy-")
    try:
        rows = make_rows()
        data = os.path.join(tmp, "data.csv.gz")
        ranges = os.path.join(tmp, "ranges.csv.gz")
        write_rows(data, rows)
        write_ranges(ranges)
        common = ("--connections", "1", "--batch", "20")

        say("1. reference: no busy reply")
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",),
                     collector_opts=("queue_wait_max_ms=0",)) as svc:
            rc, stdout, _, out = replay(args, svc, tmp, data, ranges,
                                        *common, "--inflight", "1")
            check_eq(rc, 0, "vigil-replay exits 0")
            busy, resent, _, rej, tmo = counts(stdout)
            check_eq((busy, resent, rej, tmo), (0, 0, 0, 0),
                     "no busy reply, nothing resent, rejected or timed out")
            ref = scored(out, len(rows))

        say("2. over the collector's event quota: busy with a hint")
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",),
                     collector_opts=("queue_wait_max_ms=0",
                                     "quota_events_per_s=500",
                                     "quota_events_burst=40")) as svc:
            rc, stdout, stderr, out = replay(args, svc, tmp, data, ranges,
                                             *common, "--inflight", "1")
            check_eq(rc, 0, "vigil-replay exits 0")
            busy, resent, over, rej, tmo = counts(stdout)
            say("  busy replies %d, events resent %d" % (busy, resent))
            check(busy > 0 and resent > 0,
                  "busy replies were met and their events resent", stdout)
            check_eq((rej, tmo, over), (0, 0, 0),
                     "none rejected, timed out or overtaken")
            check_eq(scored(out, len(rows)), ref,
                     "every order has the reference run's score and "
                     "decision (the order of events kept)")

        say("3. the collector's queue bound at 1, 8 requests in flight")
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",),
                     collector_opts=("queue_wait_max_ms=0",
                                     "client_queue_max=1",
                                     "collector_window_events=20")) as svc:
            rc, stdout, stderr, out = replay(args, svc, tmp, data, ranges,
                                             *common, "--inflight", "8")
            check_eq(rc, 0, "vigil-replay exits 0")
            busy, resent, over, rej, tmo = counts(stdout)
            say("  busy replies %d, events resent %d, overtaken %d"
                % (busy, resent, over))
            check(busy > 0 and resent > 0,
                  "the queue bound answered busy and the events were resent",
                  stdout)
            check_eq((rej, tmo), (0, 0), "none rejected or timed out")
            scored(out, len(rows))
    finally:
        if args.keep:
            say("  kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main("vigil-replay resends requests answered busy, keeping the order",
         body)
