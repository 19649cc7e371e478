#!/usr/bin/python3
"""integ.query - the scorer's query endpoint, end to end, and its audit.

Real daemons (vigiltest.Service). An order is placed; then score.get and
account.get answer from history (the score and decision equal the
order's reply), a purpose outside the analyst's row is denied, a missing
purpose, an unknown op, an unknown key, a wrong type, trailing bytes and
undecodable bytes are refused with a message naming the field, unknown
ids are not_found, and `vigilctl score/account` give the same answers
with the documented exit codes. Then the audit log verifies and holds
exactly one record per decoded query (op, purpose, outcome, ref = the
request id; none for refused requests) and one "event.store" record per
stored event.

SPDX-License-Identifier: MIT
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, pack, query, query_raw, say,
                       vigilctl, wait_checkpoint)


def check_refused(rep, what, code, field, qid):
    check(isinstance(rep, dict) and rep.get("ok") is False,
          what + ": ok false", rep)
    check_eq(rep.get("code"), code, what + ": code")
    check("result" not in rep, what + ": no result", rep)
    check(isinstance(rep.get("msg"), str) and field in rep["msg"],
          what + ": msg names %r (%r)" % (field, rep.get("msg")))
    if qid is not None:
        check_eq(rep.get("id"), qid, what + ": id echoed")


def body(args):
    a = Persona(1, tag="qa")
    with Service(args.bin) as svc:
        ep = svc.query_endpoint
        say("events")
        sent = [a.signup("qa-s1"), a.login("qa-l1"),
                a.order("qa-o1", order="QA-ORD-1", amount=12345)]
        replies = [svc.send_ok(e) for e in sent]
        orep = replies[-1]
        check(orep.get("decision") in ("allow", "review", "block"),
              "the order was scored", orep)

        say("score.get")
        rep = query(svc, "score.get", "q-score", order="QA-ORD-1")
        check(rep.get("ok") is True and rep.get("code") == "ok",
              "score.get ok", rep)
        check_eq(rep.get("id"), "q-score", "score.get echoes the id")
        res = rep.get("result", {})
        check_eq(res.get("order"), "QA-ORD-1", "result names the order")
        check_eq(res.get("score"), orep["score"],
                 "score equals the order's reply")
        check_eq(res.get("decision"), orep["decision"],
                 "decision equals the order's reply")
        # Vigil keeps the account id only as a pseudonym: never in a result.
        check("account" not in res, "the result holds no raw account id", res)
        check_eq(res.get("amount"), 12345, "result carries the amount")
        check_eq(res.get("ts"), sent[-1]["ts"], "result carries the event time")
        check(res.get("reasons_known") is True, "score.get knows the "
              "reasons of an order stored now", res)
        check([(r["code"], r["value"]) for r in res.get("reasons", [])] ==
              [(r["code"], r["value"]) for r in orep["reasons"]],
              "score.get gives the order's reasons, codes and values", res)
        rep = query(svc, "score.get", "q-score-cb", purpose="chargeback-review",
                    order="QA-ORD-1", case="CB-2026-0042")
        check(rep.get("ok") is True, "chargeback-review is allowed too", rep)
        rep = query(svc, "score.get", "q-score-nocase",
                    purpose="chargeback-review", order="QA-ORD-1")
        check_refused(rep, "chargeback-review without a case reference",
                      "invalid", "case", "q-score-nocase")
        rep = query(svc, "score.get", "q-nosf", order="QA-ORD-1",
                    storefront=None)
        check_refused(rep, "an analyst query naming no storefront",
                      "invalid", "storefront", "q-nosf")

        say("account.get")
        rep = query(svc, "account.get", "q-acct", account=a.account)
        check(rep.get("ok") is True, "account.get ok", rep)
        res = rep.get("result", {})
        check_eq(res.get("account"), a.account,
                 "result echoes the account asked about")
        check(res.get("known") is True, "the account is known", res)
        check_eq(res.get("orders_total"), 1, "one order in total")
        check_eq(res.get("orders_1h"), 1, "one order in the last hour")
        check_eq(res.get("failed_logins_1h"), 0, "no failed login")
        check_eq(res.get("fraud"), False, "no fraud flag")
        check(isinstance(res.get("first_seen_age_ms"), int) and
              res["first_seen_age_ms"] >= 0, "first seen age given", res)

        say("refusals")
        rep = query(svc, "account.get", "q-denied", purpose="marketing",
                    account=a.account)
        check_refused(rep, "purpose outside the role's row", "denied",
                      "purpose", "q-denied")
        rep = query(svc, "score.get", "q-nopurpose", purpose=None,
                    order="QA-ORD-1")
        check_refused(rep, "missing purpose", "invalid", "purpose",
                      "q-nopurpose")
        rep = query(svc, "order.delete", "q-badop", order="QA-ORD-1")
        check_refused(rep, "unknown op", "invalid", "op", "q-badop")
        rep = query(svc, "score.get", "q-badkey", order="QA-ORD-1",
                    colour="blue")
        check_refused(rep, "unknown key", "invalid", "colour", "q-badkey")
        rep = query(svc, "score.get", "q-badtype", order=42)
        check_refused(rep, "order of the wrong type", "invalid", "order",
                      "q-badtype")
        rep = query(svc, "account.get", "q-wrongarg", order="QA-ORD-1")
        check_refused(rep, "an argument of another op", "invalid", "order",
                      "q-wrongarg")
        rep = query_raw(svc, pack({"v": 2, "op": "score.get", "id": "q-trail",
                                   "purpose": "fraud-prevention",
                                   "storefront": "storefront",
                                   "order": "QA-ORD-1"}) + b"\xc0")
        check_refused(rep, "trailing bytes", "malformed", "trailing",
                      "q-trail")
        rep = query_raw(svc, b"\xc1\x00garbage")
        check_refused(rep, "undecodable bytes", "malformed", "request", "")
        rep = query_raw(svc, pack(["v", 1]))
        check_refused(rep, "not a map", "malformed", "map", "")
        rep = query_raw(svc, b"\x80" + b"\x00" * (70 * 1024))
        check_refused(rep, "an oversized frame", "too_big", "bytes", "")
        rep = query(svc, "score.get", "q-nf-order", order="NO-SUCH-ORDER")
        check_refused(rep, "unknown order", "not_found", "order", "q-nf-order")
        rep = query(svc, "account.get", "q-nf-acct", account="no-such-account")
        check_refused(rep, "unknown account", "not_found", "account",
                      "q-nf-acct")

        say("vigilctl score / account")
        conn = svc.ctl_conn("analyst") + ["--storefront", "storefront"]
        rc, out, err = vigilctl(args.bin, "score", "QA-ORD-1", "--purpose",
                                "fraud-prevention", *conn)
        check_eq(rc, 0, "vigilctl score exits 0")
        check(re.search(r"^score +%d$" % orep["score"], out, re.M) and
              orep["decision"] in out, "human output shows score and decision",
              out)
        rc, out, err = vigilctl(args.bin, "account", a.account, "--purpose",
                                "fraud-prevention", "--json", *conn)
        check_eq(rc, 0, "vigilctl account --json exits 0")
        doc = json.loads(out)
        check(doc["ok"] is True and doc["result"]["orders_total"] == 1,
              "JSON output carries the result", doc)
        ctl_ids = [doc["id"]]
        rc, out, err = vigilctl(args.bin, "score", "QA-ORD-1", "--purpose",
                                "marketing", "--json", *conn)
        check_eq(rc, 1, "vigilctl score with a denied purpose exits 1")
        doc = json.loads(out)
        check_eq(doc["code"], "denied", "and says denied")
        ctl_denied = doc["id"]
        rc, out, err = vigilctl(args.bin, "score", "QA-ORD-1", *conn)
        check_eq(rc, 2, "vigilctl score without --purpose exits 2")
        rc, out, err = vigilctl(args.bin, "score", "QA-ORD-1", "--purpose",
                                "fraud-prevention", "--endpoint", ep,
                                "--keys-dir", svc.keys_dir)
        check(rc == 2 and "--cert" in err,
              "vigilctl score without a certificate exits 2 naming --cert",
              (rc, err))
        check(all(s.alive() for s in (svc.scorer, svc.collector)),
              "both daemons are still up")

        say("audit log")
        n = wait_checkpoint(args.bin, svc.data_dir)
        rc, out, err = vigilctl(args.bin, "audit", "verify",
                                os.path.join(svc.data_dir, "audit"))
        check_eq(rc, 0, "vigilctl audit verify exits 0 (%d records)" % n)
        recs = audit_records(args.bin, svc.data_dir)
        queries = [r for r in recs if r["actor"] == "analyst"]
        # A query's ref is the keyed hash of its id (never the id), then
        # "case" and the keyed hash of its case reference when it has one.
        ids = {}
        by_ref = {}
        for r in queries:
            by_ref.setdefault(r["ref"].split()[0], []).append(r)
        cb = by_ref.get(svc.query_ref("q-score-cb"), [{"ref": ""}])[0]
        check_eq(cb["ref"].split()[1:],
                 ["case", svc.scoped("case", "CB-2026-0042", "storefront")],
                 "a case reference is recorded as its keyed hash")

        def q_recs(qid):
            return by_ref.get(svc.query_ref(qid), [])
        want = {
            "q-score": ("score.get", "fraud-prevention", "allowed"),
            "q-score-cb": ("score.get", "chargeback-review", "allowed"),
            "q-acct": ("account.get", "fraud-prevention", "allowed"),
            "q-denied": ("account.get", "marketing", "denied"),
            "q-nf-order": ("score.get", "fraud-prevention", "allowed"),
            "q-nf-acct": ("account.get", "fraud-prevention", "allowed"),
            ctl_ids[0]: ("account.get", "fraud-prevention", "allowed"),
            ctl_denied: ("score.get", "marketing", "denied"),
        }
        for ref, (op, purpose, outcome) in sorted(want.items()):
            got = q_recs(ref)
            check(len(got) == 1, "one audit record for query %s" % ref, got)
            r = got[0]
            check_eq((r["op"], r["purpose"], r["outcome"], r["role"]),
                     (op, purpose, outcome, "analyst"),
                     "record of %s: op, purpose, outcome, role" % ref)
        for ref in ("q-nopurpose", "q-badop", "q-badkey", "q-badtype",
                    "q-wrongarg", "q-trail", "q-score-nocase", "q-nosf"):
            check(not q_recs(ref), "no record for refused request %s" % ref)
        # 8 above + the first vigilctl score (allowed).
        check_eq(len(queries), len(want) + 1, "no other query records")
        q = q_recs("q-score")[0]
        check_eq(q["cats"], ["order", "score"], "score.get categories")
        check_eq(q["subj"], [svc.token(svc.scoped("order", "QA-ORD-1")),
                             svc.token(svc.scoped("account", a.account))],
                 "score.get names the order and its account (tokens)")
        check_eq(q_recs("q-acct")[0]["subj"],
                 [svc.token(svc.scoped("account", a.account))],
                 "account.get names the account (its token)")
        check(svc.scoped("account", a.account) not in
              json.dumps(recs), "no record holds the account's pseudonym")
        check_eq(q_recs("q-nf-order")[0]["subj"], [],
                 "an order never seen has no token: no subject is named")
        # Issue 8: the true categories of what account.get returns
        # (orders, failed payments, country, the fraud flag), and the
        # size of every answer that was given.
        check_eq(q_recs("q-acct")[0]["cats"],
                 ["address", "payment", "account", "order", "score"],
                 "account.get declares every category it returns")
        for ref in ("q-score", "q-score-cb", "q-acct"):
            check(q_recs(ref)[0]["size"] > 20,
                  "record of %s carries the answer's size (%d bytes)"
                  % (ref, q_recs(ref)[0]["size"]))
        for ref in ("q-denied", "q-nf-order", "q-nf-acct"):
            check_eq(q_recs(ref)[0]["size"], 0,
                     "record of %s: nothing returned, size 0" % ref)
        stores = [r for r in recs if r["op"] == "event.store"]
        refs = [r["ref"].split(" ")[0] for r in stores]
        sent_refs = [svc.event_ref(e["id"]) for e in sent]
        for e, ref in zip(sent, sent_refs):
            check_eq(refs.count(ref), 1,
                     "one event.store record for event %s" % e["id"])
        check_eq(len(refs), len(set(refs)),
                 "one event.store record per stored event (%d)" % len(refs))
        for r in stores:
            if r["ref"].split(" ")[0] in sent_refs:
                check(r["role"] == "storefront" and
                      r["purpose"] == "fraud-prevention" and
                      r["outcome"] == "allowed",
                      "event.store %s: storefront, fraud-prevention, allowed"
                      % r["ref"], r)


if __name__ == "__main__":
    main("query endpoint: answers, refusals, and one audit record each", body)
