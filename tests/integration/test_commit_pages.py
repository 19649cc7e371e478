#!/usr/bin/python3
"""integ.commit_pages - the pages one LMDB commit writes stay under
lmdb_commit_max_pages (issue 11, "memory flat").

Without a write map LMDB mallocs one heap page for every page a write
transaction dirties and keeps each one after the commit, never freed:
the scorer's heap holds as many pages as its largest commit ever wrote,
and that grew with the database (121 MB at 0.4M events, 212 MB at
~2.9M). The scorer now sizes each generation by the pages per entry the
last commit wrote (scorer.h, COMMIT PAGES).

Through the real daemons (CURVE on), each fed the same vigil-load run
(4 connections, batches of 20, 20,000 events, fixed seed):
 - lmdb_commit_max_pages=0 (no page bound, overlay_max_entries only):
   the largest commit, from `vigilctl status` memory.lmdb_commit_pages_max,
   writes more than LIMIT + SLACK pages (so the bound below is what
   holds it, and this test can fail);
 - lmdb_commit_max_pages=LIMIT: no commit writes more than LIMIT + SLACK
   pages (SLACK, half of LIMIT: the messages of the group that crossed
   the cap, and on this young database a page rate that climbs from
   commit to commit while the next generation fills: 1,600 pages at
   steady state, 2,034 at most in a run of 2026-12-05), and commits do
   reach half of LIMIT
   (the bound is not met by committing next to nothing); status shows
   the entries cap it chose below overlay_max_entries.

SPDX-License-Identifier: MIT
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Service, TestFailure, check, check_eq,  # noqa
                       main, run, say, vigilctl)

LIMIT = 1500
SLACK = LIMIT // 2
EVENTS = 20000


def fill_and_read(args, limit):
    svc = Service(args.bin, scorer_opts=(
        "lmdb_commit_max_pages=%d" % limit,),
        collector_opts=("queue_wait_max_ms=0",), keep=args.keep)
    svc.add_client("ops", "admin")
    with svc:
        argv = [os.path.join(args.bin, "vigil-load"), "--endpoint",
                svc.events_endpoint, "--cert", svc.cert_path("storefront"),
                "--keys-dir", svc.keys_dir, "--connections", "4",
                "--batch", "20", "--inflight", "4", "--events", str(EVENTS),
                "--duration", "120", "--seed", "11", "--json", "--quiet"]
        rc, out, err = run(argv, timeout=150)
        check_eq(rc, 0, "vigil-load exits 0 (%s)" % err[-300:])
        res = json.loads(out.strip().splitlines()[-1])
        check(res["acked_ok"] >= EVENTS * 9 // 10,
              "most events acknowledged", res)
        rc, out, err = vigilctl(svc.bindir, "status", "--json",
                                *svc.ctl_conn("ops"))
        check_eq(rc, 0, "vigilctl status exits 0 (%s)" % err)
        mem = json.loads(out)["result"]["memory"]
        say("  lmdb_commit_max_pages=%d: %s" % (limit, json.dumps(
            {k: mem[k] for k in mem if "commit" in k or "overlay_max" in k},
            sort_keys=True)))
        return mem


def body(args):
    say("-- no page bound")
    free = fill_and_read(args, 0)
    check(free["lmdb_commit_pages_max"] > LIMIT + SLACK,
          "without the bound a commit writes more than %d pages"
          % (LIMIT + SLACK), free)
    say("-- lmdb_commit_max_pages=%d" % LIMIT)
    mem = fill_and_read(args, LIMIT)
    check(mem["lmdb_commit_pages_max"] <= LIMIT + SLACK,
          "no commit wrote more than %d pages" % (LIMIT + SLACK), mem)
    check(mem["lmdb_commit_pages_max"] >= LIMIT // 2,
          "commits reach half the bound", mem)
    check(mem["commit_max_entries"] < mem["overlay_max_entries"],
          "the entries cap comes from the page bound", mem)


if __name__ == "__main__":
    main(__doc__, body)
