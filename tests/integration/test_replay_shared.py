#!/usr/bin/python3
"""integ.replay_shared - vigil-replay of the shared labelled data set.

Needs the shared data directory (train.csv.gz and
IpAddress_to_Country.csv.gz: $VIGIL_SHARED_DATA, ../shared/data beside
the repository, or /work/shared/data); without it the test is skipped
(exit 77, ctest's SKIP_RETURN_CODE). Nothing is copied into the
repository or the build tree.

Checks: every country name of the range file is in vigil-replay's table
(no range of an unknown name); the whole file replays through the real
daemons with no event refused, one CSV line per user, and the summary's
events/s (printed; only a pathological floor is asserted, since the
machine is shared); scored by the default model, the held-out users
(--holdout 0.4, the split the model was trained apart from) meet issue
7's targets: ROC AUC >= 0.775, PR AUC >= 0.62, block precision >= 0.95
with recall >= 0.45, review-or-block recall >= 0.55.

SPDX-License-Identifier: MIT
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Service, check, check_eq, main,  # noqa: E402
                       replay_events_per_s, replay_shared, run, say,
                       shared_data_dir)

SKIP = 77


def body(args):
    d = shared_data_dir()
    if d is None:
        say("SKIP the shared data set is not on this machine "
            "(set VIGIL_SHARED_DATA)")
        sys.exit(SKIP)
    exe = os.path.join(args.bin, "vigil-replay")
    data = os.path.join(d, "train.csv.gz")
    ranges = os.path.join(d, "IpAddress_to_Country.csv.gz")
    tmp = tempfile.mkdtemp(prefix="vigil-integ-replay-shared-")
    try:
        out = os.path.join(tmp, "out.csv")
        rc, stdout, err = run([exe, "--fraud-data", data, "--ip-country",
                               ranges, "--out", out, "--dry-run"], timeout=60)
        check_eq(rc, 0, "dry run exits 0")
        m = re.search(r"(\d+) in ranges of an unknown name", stdout)
        check(m is not None and m.group(1) == "0",
              "every country name of the range file is in the table", stdout)
        users = sum(1 for _ in open(out)) - 1
        # A replay is a bulk load: no query quota, no wait bound on the
        # collector's queue (queue_wait_max_ms answers busy on a loaded
        # machine).
        with Service(args.bin, keep=args.keep,
                     scorer_opts=("quota_queries_per_s=0",),
                     collector_opts=("queue_wait_max_ms=0",)) as svc:
            # Two connections: the ordering across connections on real
            # data (model-eval.py and the benchmark use one).
            rc, stdout, err = replay_shared(
                svc, args.bin, d, out, connections=2,
                extra=("--holdout", "0.4"), timeout=150)
            say("  " + stdout.replace("\n", "\n  "))
            check_eq(rc, 0, "the replay exits 0 (no event refused)")
            check_eq(sum(1 for _ in open(out)) - 1, users,
                     "one CSV line per user (%d)" % users)
            eps = replay_events_per_s(stdout)
            check(eps is not None and eps > 1000,
                  "events/s printed (%s)" % eps)
            # The default model (models/default.vgm) was trained on the
            # users this --holdout 0.4 does not hold out: on the held-out
            # ones, issue 7's targets (README "Accuracy on public data").
            m = re.search(r"holdout users: .*ROC AUC ([0-9.]+)  PR AUC "
                          r"([0-9.]+)\n  block +: precision ([0-9.]+) "
                          r"recall ([0-9.]+).*\n  review or block : "
                          r"precision ([0-9.]+) recall ([0-9.]+)", stdout)
            check(m is not None, "held-out metrics printed", stdout)
            roc, pr, bp, br, _, rr = (float(x) for x in m.groups())
            check(roc >= 0.775, "held-out ROC AUC %.3f >= 0.775" % roc)
            check(pr >= 0.62, "held-out PR AUC %.3f >= 0.62" % pr)
            check(bp >= 0.95 and br >= 0.45, "held-out block precision "
                  "%.3f >= 0.95, recall %.3f >= 0.45" % (bp, br))
            check(rr >= 0.55, "held-out review-or-block recall %.3f >= "
                  "0.55" % rr)
            s, c = svc.stop()
            check_eq((s, c), (0, 0), "both daemons exit 0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main("vigil-replay of the shared data set (skipped without it)", body)
