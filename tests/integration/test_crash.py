#!/usr/bin/python3
"""integ.crash - the crash driver's short version (issue 12, point 5).

tests/bench/crash.py --cover with as many kills as it has crash points
plus two: the scorer killed by its own crash points inside an LMDB flush
(lmdb.commit), a journal trim (journal.trim), before and after an audit
checkpoint, between a group's audit records and its journal sync, and
after that sync, before the audit segments' sync ahead of an LMDB
commit; the collector between forwarding an event and its
reply; then one plain SIGKILL of each daemon under load. After every
restart: every acknowledged event has its event.store record (exactly
one when acknowledged on its only send), every answered query its
record, the log verifies, a sample of acknowledged events resent gets
the first reply from the dedup; at the end each account's orders_total
equals its distinct orders. The seed is printed (random each run; repeat
one with tests/bench/crash.py --seed S --cover --kills 9).

SPDX-License-Identifier: MIT
"""

import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
import crash  # noqa: E402
from vigiltest import check_eq, main, say  # noqa: E402


def body(args):
    seed = random.SystemRandom().randrange(1 << 31)
    say("seed %d" % seed)
    fig = crash.run(args.bin, len(crash.COVER), seed, cover=True)
    for target, point in crash.COVER:
        if point is not None:
            check_eq(fig["by"].get("%s %s" % (target, point), 0), 1,
                     "%s was killed at %s" % (target, point))
    check_eq(fig["not_reached"], 0, "every crash point was reached")


if __name__ == "__main__":
    main(__doc__, body)
