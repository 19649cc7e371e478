#!/usr/bin/python3
"""integ.dedup - a repeated event id gets the first reply, applied once.

Storefronts resend events they saw no acknowledgement for, so the scorer
drops repeats by event id (DESIGN.md promise 1). Checks:
 - resending an order 4 more times (alone, in a batch, with a changed
   body) returns the identical first reply (same score, decision,
   reasons);
 - the orders were applied once: the account's 4th order counts 3
   previous orders (account_orders_1h) and gets exactly the reply of a
   twin account that sent each order once (same event times, nothing
   shared);
 - the same id twice inside one batch is applied once as well (three
   such batches, then the 4th order counts 3);
 - a repeated non-order event gets the same ok reply;
 - every resend answered from the stored reply is audited (issue 8):
   event.resend records with the order's subjects, event.conflict for
   the changed body, one event.store.

SPDX-License-Identifier: MIT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, at, audit_records,  # noqa: E402
                       check, check_eq, check_order_reply, find_reason, main,
                       reasons_by_code, same_reply, say)

DAY = 86400
VELOCITY = r"^account_orders_(1h|24h)$"


def history(p, tag):
    """Signup a day ago and a visit; the same times for every persona."""
    return [p.visit(tag + "-v", ts=at(-DAY)),
            p.signup(tag + "-s", ts=at(-DAY + 60)),
            p.visit(tag + "-v2", ts=at(-120))]


def body(args):
    with Service(args.bin, keep=args.keep) as svc:
        a = Persona(1, tag="dup")
        b = Persona(2, tag="twin")
        svc.send_all_ok(history(a, "a"))
        svc.send_all_ok(history(b, "b"))

        say("-- resending an order returns the first reply")
        o1 = a.order("a-o1", order="o-a-1", amount=12900, ts=at(0))
        r1 = svc.send_ok(o1)
        check_order_reply(r1, "first reply")
        for i in range(2):
            same_reply(r1, svc.send(o1), "resend %d: identical reply" % (i + 1))
        reps = svc.send([a.visit("a-v3", ts=at(5)), o1])
        check(isinstance(reps, list) and len(reps) == 2,
              "batch holding the repeat gets 2 replies", reps)
        same_reply(r1, reps[1], "resend inside a batch: identical reply")
        # Issue 9's dedup poisoning: a small order sent first under an id
        # must not make the real order under the same id come back with
        # the first reply, unstored. The id carrying another event is a
        # conflict, and nothing of it is applied.
        changed = dict(o1, amount=99900, items=9)
        rep = svc.send(changed)
        check(rep.get("ok") is False and rep.get("code") == "conflict",
              "resend with the same id but another body: conflict", rep)
        check("score" not in rep, "a conflict carries no score", rep)
        check_eq(rep.get("id"), o1["id"], "the conflict names the id")
        same_reply(r1, svc.send(o1),
                   "the original, resent after the conflict: first reply")

        # Issue 8: "resending an existing event id returns that order's
        # score and reasons" and left no record of that read. Each resend
        # answered from the stored reply is an event.resend record (the
        # event's ref, its subjects), the changed body an event.conflict;
        # the order itself one event.store.
        recs = [r for r in audit_records(svc.bindir, svc.data_dir)
                if r["ref"].split(" ")[0] == svc.event_ref(o1["id"])]
        ops = [r["op"] for r in recs]
        check_eq((ops.count("event.store"), ops.count("event.resend"),
                  ops.count("event.conflict")), (1, 4, 1),
                 "one event.store, 4 event.resend (each resend answered), "
                 "1 event.conflict: %s" % ops)
        store = [r for r in recs if r["op"] == "event.store"][0]
        check(all(r["subj"] == store["subj"] and r["subj"]
                  for r in recs if r["op"] == "event.resend"),
              "each event.resend names the order's subjects", recs)

        say("-- the order was applied once")
        # Two more orders, each sent twice: with dedup, the 4th order sees
        # 3 previous orders in the last hour (account_orders_1h fires at
        # 3); without, it would see 9.
        for n in (2, 3):
            ev = a.order("a-o%d" % n, order="o-a-%d" % n, amount=8900,
                         ts=at(60 * (n - 1)))
            first = svc.send_ok(ev)
            same_reply(first, svc.send(ev), "order %d resent: same reply" % n)
        r4 = svc.send_ok(a.order("a-o4", order="o-a-4", amount=8900,
                                 ts=at(180)))
        svc.send_ok(b.order("b-o1", order="o-b-1", amount=12900, ts=at(0)))
        svc.send_ok(b.visit("b-v3", ts=at(5)))
        for n in (2, 3):
            svc.send_ok(b.order("b-o%d" % n, order="o-b-%d" % n,
                                amount=8900, ts=at(60 * (n - 1))))
        t4 = svc.send_ok(b.order("b-o4", order="o-b-4", amount=8900,
                                 ts=at(180)))
        say("  after 9 sends of 3 orders: score %d reasons %s"
            % (r4["score"], reasons_by_code(r4)))
        say("  twin, 3 sends:             score %d reasons %s"
            % (t4["score"], reasons_by_code(t4)))
        v = find_reason(r4, VELOCITY)
        check(v is not None, "an account order-velocity reason is present",
              r4["reasons"])
        check_eq(v[1], 3, "%s counts 3 previous orders, not 9" % v[0])
        same_reply(r4, t4, "4th order scores as the twin's (each order sent "
                   "once)", with_id=False)

        say("-- the same id twice in one batch is applied once")
        c = Persona(3, tag="inbatch")
        d = Persona(4, tag="inbatch-twin")
        svc.send_all_ok(history(c, "c"))
        svc.send_all_ok(history(d, "d"))
        for n in range(1, 4):
            oc = c.order("c-o%d" % n, order="o-c-%d" % n, amount=4500,
                         ts=at(60 * (n - 1)))
            reps = svc.send([oc, oc])
            check(isinstance(reps, list) and len(reps) == 2,
                  "2 replies for [X%d, X%d]" % (n, n), reps)
            check_order_reply(reps[0], "first X%d" % n)
            same_reply(reps[0], reps[1], "second X%d gets the first's reply"
                       % n)
            svc.send_ok(d.order("d-o%d" % n, order="o-d-%d" % n,
                                amount=4500, ts=at(60 * (n - 1))))
        rc4 = svc.send_ok(c.order("c-o4", order="o-c-4", amount=4500,
                                  ts=at(180)))
        rd4 = svc.send_ok(d.order("d-o4", order="o-d-4", amount=4500,
                                  ts=at(180)))
        v = find_reason(rc4, VELOCITY)
        check(v is not None and v[1] == 3,
              "4th order counts 3 previous orders, not 6", rc4["reasons"])
        same_reply(rc4, rd4, "4th order scores as the twin's",
                   with_id=False)

        say("-- a repeated non-order event")
        ev = a.login("a-login", ts=at(120))
        first = svc.send_ok(ev)
        again = svc.send(ev)
        check(again.get("ok") is True and again.get("id") == "a-login",
              "repeated login gets ok with its id", again)
        check_eq(again.get("code"), first.get("code"), "same code")
        check(svc.alive(), "both daemons still running")
        s, c = svc.stop()
        check_eq((s, c), (0, 0), "both exit 0 on SIGTERM")


if __name__ == "__main__":
    main("repeated event ids are answered from the first reply", body)
