#!/usr/bin/python3
"""integ.main_path - every event type accepted; order replies scored.

Checks, against the real collector and scorer:
 - each event type (device.seen, account.signup, account.login,
   account.update, order.placed, payment.result) gets ok true, code
   "ok"; a single map gets a single reply map; a label from the
   storefront port is refused "denied" (labels are the fraud team's:
   the analyst's `label` query op stores them);
 - an order reply has score 0..100, a decision and well-formed reasons;
 - a batch gets an array of replies in the same order (ids match), and
   REQ, DEALER with an empty delimiter and bare DEALER clients all work;
 - a fraud-looking order (new account, new device shared by several
   accounts, big amount, IP country differing from billing and shipping)
   scores higher than a returning customer's usual order and carries the
   reason codes documented in scorer/REASONS.md;
 - no raw direct identifier reaches daemon stderr or the data directory;
 - SIGTERM stops both daemons with exit status 0.

SPDX-License-Identifier: MIT
"""

import os
import sys

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, at, check,  # noqa: E402
                       check_eq, check_order_reply, find_reason, main, pack,
                       query,
                       read_reason_codes, reasons_by_code, say,
                       scan_files_for)
import msgpack  # noqa: E402

DAY = 86400
# The scoring scenario's "now": 14:00 UTC yesterday, whatever the wall
# clock says. The model reads the order's UTC hour, so a scenario timed
# from the wall clock scored differently by time of day (at 22:00 UTC
# both orders of scoring() met the review floor, 8 > 8 failed).
SCORE_HOUR = int(os.environ.get("VIGIL_TEST_SCORE_HOUR", "14"))
SCORE_NOW = (at(0) // (DAY * 1000) - 1) * DAY * 1000 + SCORE_HOUR * 3600 * 1000


def at_score(seconds):
    """Event time `seconds` after the scoring scenario's fixed "now"."""
    return SCORE_NOW + int(seconds * 1000)

# What the fraud order must be flagged for: one regex per signal, matched
# against the reply's reason codes (exact names live in scorer/REASONS.md).
FRAUD_SIGNALS = {
    "new account": r"^account_new_1h$",
    "new device": r"^device_(new|unknown)$",
    "device shared by several accounts": r"^device_many_accounts$",
    "IP country differs from billing": r"^ip_billing_country_mismatch$",
    "IP country differs from shipping": r"^ip_shipping_country_mismatch$",
    "big first amount": r"^first_order_large$",
}
# The same order scored by the model (issue 7, the default): its reasons
# are the features that moved it (signup 10 minutes before: s2o_sec) and
# the hard rules kept on top (the account farm).
MODEL_SIGNALS = {
    "new account": r"^s2o_sec$",
    "device shared by several accounts": r"^device_many_accounts$",
}

# account.update values of each_type(), checked by no_pii().
UPDATE_VALUES = ["new.address@example-mail.com", "+4917612345678",
                 "Anna Schmidt-Berg", "12 Hauptstrasse, 10115 Berlin"]


def each_type(svc):
    say("-- each event type is accepted")
    p = Persona(1, tag="types")
    svc.send_ok(p.visit("t-visit", ts=at(-DAY)), "device.seen accepted")
    svc.send_ok(p.signup("t-signup", ts=at(-DAY + 10)),
                "account.signup accepted")
    svc.send_ok(p.login("t-login-ok", ok=True, ts=at(-DAY + 20)),
                "account.login ok=true accepted")
    svc.send_ok(p.login("t-login-bad", ok=False, ts=at(-DAY + 25),
                        method="otp"), "account.login ok=false accepted")
    for i, (field, value) in enumerate(zip(
            ("email", "phone", "name", "address"), UPDATE_VALUES)):
        svc.send_ok(p.update("t-update-" + field, field=field, value=value,
                             ts=at(-DAY + 30 + i)),
                    "account.update field=%s accepted" % field)
    svc.send_ok(p.update("t-update-password", field="password", value=None,
                         ts=at(-DAY + 40)),
                "account.update field=password (no value) accepted")
    rep = svc.send_ok(p.order("t-order", order="o-types-1", amount=4999,
                              ts=at(-DAY + 60)), "order.placed accepted")
    check_order_reply(rep, "order.placed reply")
    check_eq(rep["id"], "t-order", "reply id is the event id")
    svc.send_ok(p.payment("t-pay-ok", "o-types-1", ok=True,
                          ts=at(-DAY + 70)), "payment.result ok accepted")
    svc.send_ok(p.payment("t-pay-bad", "o-types-0", ok=False,
                          ts=at(-DAY + 71)),
                "payment.result ok=false reason=declined accepted")
    rep = svc.send(p.label("t-label-acct", fraud=False, ts=at(-DAY + 80)))
    check(rep.get("ok") is False and rep.get("code") == "denied" and
          "label" in rep.get("msg", ""),
          "a label from a storefront is refused: denied", rep)
    rep = query(svc, "label", "q-label-acct", account=p.account, fraud=False)
    check(rep.get("ok") is True and rep["result"].get("stored") is True,
          "label by account through the analyst's query op", rep)
    rep = query(svc, "label", "q-label-order", order="o-types-1", fraud=False,
                source="chargeback")
    check(rep.get("ok") is True and rep["result"].get("source") ==
          "chargeback", "label by order through the query op", rep)
    rep = query(svc, "label", "q-label-order", order="o-types-1", fraud=False,
                source="chargeback")
    check(rep.get("ok") is True and rep["result"].get("stored") is False,
          "the same label request again is not stored twice", rep)
    rep = query(svc, "label", "q-label-sf", order="o-types-1", fraud=True,
                client="storefront", storefront=None)
    check(rep.get("ok") is False and rep.get("code") == "denied",
          "a storefront cannot label through the query endpoint either", rep)
    rep = svc.send(p.visit("t-visit-2", ts=at(-DAY + 90)))
    check(isinstance(rep, dict), "a single event gets a single reply map",
          rep)
    check("score" not in rep and "decision" not in rep,
          "a non-order reply carries no score", rep)


def batches(svc):
    say("-- a batch gets an array of replies in order")
    p = Persona(2, tag="batch")
    evs = [p.visit("b-1", ts=at(-3600)), p.signup("b-2", ts=at(-3590)),
           p.login("b-3", ts=at(-3580)),
           p.order("b-4", order="o-batch-1", ts=at(-3500)),
           p.payment("b-5", "o-batch-1", ts=at(-3490))]
    reps = svc.send(evs)
    check(isinstance(reps, list) and len(reps) == len(evs),
          "batch of 5 gets an array of 5 replies", reps)
    check_eq([r.get("id") for r in reps], [e["id"] for e in evs],
             "replies are in the order of the events")
    check(all(r.get("ok") is True for r in reps), "all 5 ok", reps)
    check_order_reply(reps[3], "order reply inside a batch")
    check(all("score" not in r for i, r in enumerate(reps) if i != 3),
          "only the order reply carries a score")
    reps = svc.send([p.visit("b-6", ts=at(-3400))])
    check(isinstance(reps, list) and len(reps) == 1,
          "a batch of one gets an array of one", reps)


def client_kinds(svc):
    say("-- REQ, DEALER with delimiter and bare DEALER clients")
    p = Persona(3, tag="dealer")
    for kind, frames in (("DEALER with empty delimiter", True),
                         ("bare DEALER (one frame)", False)):
        s = svc.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        svc.curve(s, "storefront")
        s.connect(svc.events_endpoint)
        try:
            ev = p.visit("d-%d" % int(frames), ts=at(-600))
            body = pack(ev)
            s.send_multipart([b"", body] if frames else [body])
            if not s.poll(5000, zmq.POLLIN):
                raise TestFailure("%s: no reply within 5 s" % kind)
            parts = s.recv_multipart()
            if frames:
                check(len(parts) == 2 and parts[0] == b"",
                      kind + ": reply is [empty, body]", parts)
            else:
                check(len(parts) == 1, kind + ": reply is one frame", parts)
            rep = msgpack.unpackb(parts[-1], raw=False)
            check(rep.get("ok") is True and rep.get("id") == ev["id"],
                  kind + ": event acknowledged", rep)
        finally:
            s.close(0)


def returning_customer(svc):
    """A customer since 120 days, three past orders, a usual order now."""
    p = Persona(10, country="DE", tag="good")
    evs = [p.visit("g-v0", ts=at_score(-120 * DAY)),
           p.signup("g-s", ts=at_score(-120 * DAY + 60))]
    for i, days in enumerate((90, 60, 30)):
        o = "o-good-%d" % i
        evs += [p.visit("g-v%d" % (i + 1), ts=at_score(-days * DAY)),
                p.login("g-l%d" % i, ts=at_score(-days * DAY + 30)),
                p.order("g-o%d" % i, order=o, amount=5200 + 300 * i,
                        ts=at_score(-days * DAY + 300)),
                p.payment("g-p%d" % i, o, ok=True,
                          ts=at_score(-days * DAY + 310))]
    evs += [p.visit("g-vnow", ts=at_score(-300)), p.login("g-lnow", ts=at_score(-240))]
    svc.send_all_ok(evs)
    rep = svc.send_ok(p.order("g-order", order="o-good-now", amount=5500,
                              ts=at_score(0)))
    return p, rep


def fraudster(svc):
    """A brand-new account on a device first seen 9 minutes ago that four
    other fresh accounts used since, IP in another country than billing and
    shipping, a big amount on a new card."""
    fraud = Persona(20, country="US", ip_country="NG", tag="fraud")
    fraud.tz, fraud.lang = "Africa/Lagos", "en-NG"
    evs = []
    for k in range(4):
        mule = Persona(30 + k, country="US", ip_country="NG", tag="mule")
        mule.device, mule.ip = fraud.device, fraud.ip
        evs += [mule.visit("m-v%d" % k, ts=at_score(-540 + 60 * k)),
                mule.signup("m-s%d" % k, ts=at_score(-520 + 60 * k),
                            source="direct")]
    evs += [fraud.visit("f-v", ts=at_score(-200)),
            fraud.signup("f-s", ts=at_score(-180), source="direct", age=19)]
    svc.send_all_ok(evs)
    rep = svc.send_ok(fraud.order("f-order", order="o-fraud-1",
                                  amount=249900, items=6, ts=at_score(0)))
    return fraud, rep


def scoring(svc):
    say("-- a fraud-looking order scores higher than a usual one")
    good, rgood = returning_customer(svc)
    bad, rbad = fraudster(svc)
    check_order_reply(rgood, "returning customer's order")
    check_order_reply(rbad, "fraud-looking order")
    say("  returning customer: score %d %s reasons %s"
        % (rgood["score"], rgood["decision"], reasons_by_code(rgood)))
    say("  fraud-looking:      score %d %s reasons %s"
        % (rbad["score"], rbad["decision"], reasons_by_code(rbad)))
    check(rbad["score"] > rgood["score"],
          "fraud-looking order scores higher (%d > %d)"
          % (rbad["score"], rgood["score"]))
    check_eq(rgood["decision"], "allow", "returning customer is allowed")
    check(rbad["decision"] in ("review", "block"),
          "fraud-looking order goes to review or block (%s)"
          % rbad["decision"])
    signals = MODEL_SIGNALS if "model" in rbad else FRAUD_SIGNALS
    for what, rx in signals.items():
        check(find_reason(rbad, rx) is not None,
              "fraud order has a reason for %s (/%s/)" % (what, rx),
              [r["code"] for r in rbad["reasons"]])
    dev = find_reason(rbad, FRAUD_SIGNALS[
        "device shared by several accounts"])
    if dev is not None:
        check(dev[1] >= 4, "%s value %r counts the other accounts (>= 4)"
              % dev)
    documented = read_reason_codes()
    if documented is None:
        say("  note scorer/REASONS.md does not exist: codes not checked "
            "against it")
    else:
        for r in rgood["reasons"] + rbad["reasons"]:
            check(r["code"] in documented,
                  "reason code %r is documented in scorer/REASONS.md"
                  % r["code"], sorted(documented))
    return good, bad


def no_pii(svc, personas):
    say("-- no raw direct identifier in logs or at rest")
    needles = list(UPDATE_VALUES)
    for p in personas:
        needles += [p.email, p.phone, p.card_number, p.ip, p.device,
                    p.address["street"], p.name]
    logs = svc.scorer.stderr_text() + svc.collector.stderr_text()
    leaked = [n for n in needles if n in logs]
    check(not leaked, "daemon stderr holds no email/phone/card/ip/device/"
          "street/name", leaked)
    hits = scan_files_for(svc.data_dir, needles)
    check(not hits, "data directory holds none of them", hits)


def body(args):
    with Service(args.bin, keep=args.keep) as svc:
        each_type(svc)
        batches(svc)
        client_kinds(svc)
        good, bad = scoring(svc)
        check(svc.alive(), "both daemons still running")
        say("-- SIGTERM stops both cleanly")
        s, c = svc.stop()
        check_eq(c, 0, "collector exit status after SIGTERM")
        check_eq(s, 0, "scorer exit status after SIGTERM")
        no_pii(svc, [good, bad, Persona(1, tag="types")])


if __name__ == "__main__":
    main("accepted events, order scores and reasons, batches", body)
