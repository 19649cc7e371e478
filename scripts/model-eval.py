#!/usr/bin/python3
"""model-eval.py - replay the shared labelled data through the real service
and measure the fraud scores on held-out users (issue 7's evaluation).

Starts vigil-collector and vigil-scorer (tests/integration/vigiltest.py, in
a temporary directory, CURVE on loopback), replays train.csv.gz (with
IpAddress_to_Country.csv.gz) in event-time order with vigil-replay, labels
sent --label-delay days (30) after each purchase, users held out by a keyed
hash of user_id (--holdout 0.4, vigil-replay(1) HOLDOUT), and prints
vigil-replay's summary: events/s, then ROC AUC, PR AUC and precision /
recall at block and at review-or-block, for all, held-out and other users.

    scripts/model-eval.py [--model FILE|none] [--features-log FILE]
                          [--data DIR] [--bin BUILD/bin] [--holdout F]
                          [--connections N]

--model: the scorer's model_file ("" the default model, "none" the rule
set alone). --features-log: the scorer's features_log (what
scripts/model-table.py turns into vigil-train's table). --data: the
directory of train.csv.gz and IpAddress_to_Country.csv.gz (default
$VIGIL_SHARED_DATA, ../shared/data beside the repository, or
/work/shared/data). --connections: vigil-replay's storefront connections
(1, its default). Nothing is copied from it. Exit 0 when the replay
succeeded, 1 otherwise, 77 when the data are absent.

SPDX-License-Identifier: MIT
"""

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from vigiltest import (REPO, Service, replay_shared,  # noqa: E402
                       shared_data_dir)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="")
    ap.add_argument("--features-log", default="")
    ap.add_argument("--data", default=None)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"))
    ap.add_argument("--holdout", default="0.4")
    ap.add_argument("--label-delay", default="30")
    ap.add_argument("--out", default="")
    # vigil-replay's own default. One connection was 1.5-3% faster than
    # two in alternating runs on 2026-12-05 (12:15 UTC, five pairs): two
    # connections must hold the events' keys against each other, and the
    # collector serves both from one thread anyway.
    ap.add_argument("--connections", default="1")
    a = ap.parse_args()
    d = shared_data_dir(a.data)
    if d is None:
        print("the shared data set is not on this machine "
              "(set VIGIL_SHARED_DATA or --data)")
        return 77
    opts = ["quota_queries_per_s=0", "model_file=" + a.model]
    if a.features_log:
        opts.append("features_log=" + os.path.abspath(a.features_log))
    tmp = tempfile.mkdtemp(prefix="vigil-model-eval-")
    try:
        out = a.out or os.path.join(tmp, "out.csv")
        # A bulk load: no wait bound on the collector's queue.
        with Service(a.bin, scorer_opts=tuple(opts),
                     collector_opts=("queue_wait_max_ms=0",)) as svc:
            rc, stdout, err = replay_shared(
                svc, a.bin, d, out, connections=a.connections,
                extra=("--label-delay", a.label_delay,
                       "--holdout", a.holdout))
            sys.stdout.write(stdout)
            if rc != 0:
                sys.stderr.write(err)
            s, c = svc.stop()
            if (s, c) != (0, 0):
                print("daemons exited %d, %d" % (s, c))
                return 1
        return 0 if rc == 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
