#!/usr/bin/python3
"""integ.persistence - history and dedup survive a restart and a kill -9.

Acknowledged means durable (DESIGN.md promise 1). Checks:
 - SIGTERM the scorer and start it again on the same data dir: an
   account's orders from before the restart still count (its next order
   gets the reply a control account got without any restart, and differs
   from a fresh account's), and a resent pre-restart event is answered
   from its first reply;
 - with the scorer down, the collector answers "unavailable" within
   request_timeout_ms, and the resent event is applied once it is back;
 - kill -9 the scorer right after acknowledgements, start it again:
   every acknowledged event is still deduplicated (same reply when
   resent: it was durable) and history holds each of them exactly once
   (each account's next order matches a control twin's reply).

SPDX-License-Identifier: MIT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, at, check, check_eq,  # noqa: E402
                       check_order_reply, find_reason, main,
                       reasons_by_code, reply_key, same_reply, say)

DAY = 86400
VELOCITY = r"^account_orders_(1h|24h)$"


def prior(p, tag, norders):
    """Signup a day ago, then `norders` orders a minute apart from t=0."""
    evs = [p.visit(tag + "-v", ts=at(-DAY)),
           p.signup(tag + "-s", ts=at(-DAY + 60))]
    for i in range(norders):
        evs.append(p.order("%s-o%d" % (tag, i), order="o-%s-%d" % (tag, i),
                           amount=3900 + 100 * i, ts=at(60 * i)))
    return evs


def next_order(p, tag, n):
    return p.order("%s-o%d" % (tag, n), order="o-%s-%d" % (tag, n),
                   amount=19900, ts=at(60 * n))


def sigterm_restart(svc):
    say("-- history and dedup across a SIGTERM restart")
    ctl = Persona(1, tag="control")
    acc = Persona(2, tag="restart")
    fresh = Persona(3, tag="fresh")
    svc.send_all_ok(prior(ctl, "c", 5))
    r_ctl = svc.send_ok(next_order(ctl, "c", 5))
    check_order_reply(r_ctl, "control's 6th order")
    first = svc.send_all_ok(prior(acc, "a", 5))
    r_a3 = first[2 + 3]
    check_order_reply(r_a3, "4th order before restart")

    rc = svc.restart_scorer()
    check_eq(rc, 0, "scorer exit status after SIGTERM")

    r_acc = svc.send_ok(next_order(acc, "a", 5))
    say("  control, no restart: score %d reasons %s"
        % (r_ctl["score"], reasons_by_code(r_ctl)))
    say("  after restart:       score %d reasons %s"
        % (r_acc["score"], reasons_by_code(r_acc)))
    same_reply(r_ctl, r_acc, "6th order after restart scores as the "
               "control's", with_id=False)
    svc.send_all_ok(prior(fresh, "f", 0))
    r_fresh = svc.send_ok(next_order(fresh, "f", 5))
    check(reasons_by_code(r_fresh) != reasons_by_code(r_acc)
          or r_fresh["score"] != r_acc["score"],
          "and differs from a fresh account's (the 5 orders count)",
          (r_fresh, r_acc))
    v = find_reason(r_acc, VELOCITY)
    check(v is not None, "an order-velocity reason is present",
          r_acc["reasons"])
    check_eq(v[1], 5, "%s counts the 5 orders from before the restart"
             % v[0])
    same_reply(r_a3, svc.send(prior(acc, "a", 5)[2 + 3]),
               "pre-restart order resent: its first reply")


def kill9_restart(svc):
    say("-- every acknowledged event survives kill -9 of the scorer")
    crowd = [Persona(100 + k, tag="crowd") for k in range(25)]
    evs = []
    for k, p in enumerate(crowd):
        evs += prior(p, "k%d" % k, 3)
    # Several frames, the last acknowledged just before the kill.
    acked = svc.send_all_ok(evs, chunk=25)
    check_eq(len(acked), len(evs), "%d events acknowledged" % len(evs))
    svc.kill9("scorer")
    say("  scorer killed with SIGKILL right after the last acknowledgement")
    svc.restart_scorer()
    check(svc.alive(), "scorer restarted on the same data dir")
    for line in svc.grep(r"replayed", "scorer")[-1:]:
        say("  note scorer after the kill: " + line.split(": ", 1)[-1])

    again = []
    for i in range(0, len(evs), 25):
        again += svc.send(evs[i:i + 25])
    lost = [e["id"] for e, r1, r2 in zip(evs, acked, again)
            if reply_key(r1) != reply_key(r2)]
    check(not lost, "all %d resent events answered from their first reply"
          % len(evs), "not durable: %s" % lost[:10])

    ctl = Persona(99, tag="crowdctl")
    svc.send_all_ok(prior(ctl, "kc", 3))
    r_ctl = svc.send_ok(next_order(ctl, "kc", 3))
    bad = []
    for k, p in enumerate(crowd):
        r = svc.send_ok(next_order(p, "k%d" % k, 3))
        if reply_key(r, False) != reply_key(r_ctl, False):
            bad.append((p.account, r["score"], reasons_by_code(r)))
    check(not bad, "history holds each account's 3 orders exactly once "
          "(next order matches the control: score %d %s)"
          % (r_ctl["score"], reasons_by_code(r_ctl)), bad[:5])


def scorer_down(svc):
    say("-- scorer down: the collector answers 'unavailable', a resend "
        "after the restart is applied")
    p = Persona(200, tag="down")
    svc.send_all_ok(prior(p, "d", 0))
    svc.kill9("scorer")
    ev = next_order(p, "d", 0)
    rep = svc.send(ev, timeout_ms=5000)
    check(isinstance(rep, dict) and rep.get("ok") is False
          and rep.get("code") == "unavailable" and rep.get("id") == ev["id"],
          "order while the scorer is down: ok false, code 'unavailable' "
          "(request_timeout_ms=1000)", rep)
    check(svc.collector.alive(), "collector still running")
    svc.restart_scorer()
    rep = svc.send_ok(ev, "the resent order is accepted after the restart")
    check_order_reply(rep, "resent order")
    same_reply(rep, svc.send(ev), "and answered from that reply again")


def body(args):
    with Service(args.bin, keep=args.keep,
                 collector_opts=["request_timeout_ms=1000"]) as svc:
        sigterm_restart(svc)
        kill9_restart(svc)
        scorer_down(svc)
        check(svc.alive(), "both daemons still running")
        s, c = svc.stop()
        check_eq((s, c), (0, 0), "both exit 0 on SIGTERM")
        # The tile writer's files are made ahead by the flusher thread
        # (audit_tiles.h, tile-new/), and a full tile was written.
        audit = os.path.join(svc.data_dir, "audit")
        made = os.listdir(os.path.join(audit, "tile-new")) \
            if os.path.isdir(os.path.join(audit, "tile-new")) else []
        check(len(made) > 0, "the flusher made files ahead in tile-new/ "
              "(%d there)" % len(made))
        check(os.path.isfile(os.path.join(audit, "tile", "0", "000")),
              "and the first full tile is there")


if __name__ == "__main__":
    main("history and dedup survive SIGTERM and kill -9 of the scorer",
         body)
