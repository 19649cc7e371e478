#!/usr/bin/python3
"""integ.retention - history older than its category's retention leaves
LMDB in small recorded steps; the dedup replies are bounded by the
dedup window.

The scorer runs with short retentions (orders 5 days, accounts,
devices, IPs, cards and emails 7 days), a dedup window of 3 s and
fast passes (retention_pass_ms=300, retention_step_keys=8, so a pass
takes several steps). Shopper OLD sends events whose event time is 10
days ago; shopper NEW sends events of today; shopper MID has an order 6
days old (older than the orders' retention, younger than the
accounts'). Then, within a bounded wait:
  - OLD's account and order are gone (account.get and score.get answer
    not_found), NEW's and MID's account are kept, MID's order is gone;
  - every purge is a "retention.purge" audit record (actor
    vigil-scorer, purpose retention) whose counts add up to at least
    what left, more than one step's worth of records over the run;
  - stored replies are bounded by the dedup window (measured from
    their arrival): a resend inside it gets the stored reply; after 3 s
    the replies are purged (the records' r counts) and a resend of the
    same id is taken as a new event;
  - `vigilctl audit verify` passes; a restart keeps the state.
The defaults (365 days, 24 hours) are checked with `vigil-scorer -n`.

SPDX-License-Identifier: MIT
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, now_ms, query, run, say, vigilctl)

DAY = 24 * 3600 * 1000


def counts(ref):
    """{letter: count} of a retention.purge record's ref."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"([a-z])(\d+)", ref)}


def body(args):
    rc, out, err = run([os.path.join(args.bin, "vigil-scorer"), "-n", "-v",
                        "-o", "data_dir=/nonexistent", "-o", "user="])
    for k, v in (("retention_days_account", "365"),
                 ("retention_days_order", "365"),
                 ("retention_days_contact", "365"),
                 ("dedup_window_s", "86400")):
        check(re.search(r"^%s\s*=?\s*%s\b" % (k, v), out, re.M),
              "default %s = %s" % (k, v), out[:2000])

    old = Persona(41, tag="rto")
    new = Persona(42, tag="rtn")
    mid = Persona(43, tag="rtm")
    t_old = now_ms() - 10 * DAY
    t_mid = now_ms() - 6 * DAY
    opts = ["retention_days_order=5", "retention_days_account=7",
            "retention_days_device=7", "retention_days_ip=7",
            "retention_days_payment=7", "retention_days_contact=7",
            "dedup_window_s=3", "retention_pass_ms=300",
            "retention_step_ms=20", "retention_step_keys=8",
            "checkpoint_interval_ms=50"]
    with Service(args.bin, scorer_opts=opts) as svc:
        say("events 10 days old, 6 days old and of today")
        for i, ev in enumerate((old.signup("rto-s1", ts=t_old),
                                old.order("rto-o1", order="RTO-ORD",
                                          ts=t_old + 1000),
                                mid.signup("rtm-s1", ts=now_ms() - 60000),
                                mid.order("rtm-o1", order="RTM-ORD",
                                          ts=t_mid),
                                new.signup("rtn-s1"),
                                new.order("rtn-o1", order="RTN-ORD"))):
            svc.send_ok(ev)

        say("the sweep purges what is older than its retention")
        deadline = time.monotonic() + 20
        gone = False
        while time.monotonic() < deadline and not gone:
            q1 = query(svc, "account.get", "q-old-%d" % time.monotonic_ns(),
                       account=old.account)
            q2 = query(svc, "score.get", "q-mid-%d" % time.monotonic_ns(),
                       order="RTM-ORD")
            gone = q1.get("code") == "not_found" and \
                q2.get("code") == "not_found"
            if not gone:
                time.sleep(0.2)
        check(gone, "OLD's account and MID's 6-day-old order are purged")
        check_eq(query(svc, "score.get", "q-old-ord", order="RTO-ORD")
                 .get("code"), "not_found", "OLD's order is purged")
        q = query(svc, "account.get", "q-new", account=new.account)
        check(q["ok"] and q["result"]["known"], "NEW's account is kept")
        q = query(svc, "score.get", "q-new-ord", order="RTN-ORD")
        check(q["ok"], "NEW's order is kept")
        q = query(svc, "account.get", "q-mid", account=mid.account)
        check(q["ok"] and q["result"]["known"],
              "MID's account (recent signup) is kept")

        say("each purge is recorded with its counts")
        time.sleep(0.5)
        recs = [r for r in audit_records(args.bin, svc.data_dir)
                if r["op"] == "retention.purge"]
        check(len(recs) >= 1, "retention.purge records", len(recs))
        check(all(r["actor"] == "vigil-scorer" and r["role"] == "system" and
                  r["purpose"] == "retention" for r in recs),
              "actor vigil-scorer, role system, purpose retention", recs[:2])
        tot = {}
        for r in recs:
            for k, v in counts(r["ref"]).items():
                tot[k] = tot.get(k, 0) + v
        say("  %d purge records, totals %s" % (len(recs), tot))
        check(tot.get("o", 0) >= 2, "two orders purged (OLD's, MID's)", tot)
        check(tot.get("a", 0) >= 1 and tot.get("d", 0) >= 1 and
              tot.get("i", 0) >= 1 and tot.get("c", 0) >= 1,
              "OLD's account, device, IP and email entities purged", tot)
        check(any("order" in r["cats"] for r in recs),
              "the records name the categories purged")

        say("the dedup window bounds stored replies")
        ev = new.login("rtn-l1")
        first = svc.send_ok(ev)
        again = svc.send_ok(ev)
        check_eq(again, first, "a resend inside the window: the stored reply")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            recs = [r for r in audit_records(args.bin, svc.data_dir)
                    if r["op"] == "retention.purge"]
            r_tot = sum(counts(r["ref"]).get("r", 0) for r in recs)
            if r_tot >= 7:
                break
            time.sleep(0.3)
        check(r_tot >= 7, "every reply older than 3 s is purged (the six "
              "events' and the login's)", r_tot)
        rep = svc.send_ok(ev)
        check(rep.get("ok") is True, "a resend after the window is taken "
              "as new", rep)

        rc, out, err = vigilctl(args.bin, "audit", "verify",
                                os.path.join(svc.data_dir, "audit"))
        check_eq(rc, 0, "audit verify passes")
        svc.restart_scorer()
        check_eq(query(svc, "account.get", "q-old-2", account=old.account)
                 .get("code"), "not_found", "after a restart: still purged")
        q = query(svc, "account.get", "q-new-2", account=new.account)
        check(q["ok"], "after a restart: NEW kept")


if __name__ == "__main__":
    main("retention: old history purged in recorded steps", body)
