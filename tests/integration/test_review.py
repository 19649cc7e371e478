#!/usr/bin/python3
"""integ.review - the review queue through the scorer's query endpoint:
`review.list` and `review.decide` (`vigilctl review list|decide`).

Real daemons (vigiltest.Service) with review_threshold=0 and
block_threshold=100, so every order is scored `review`. Checks:
 - review.list shows the orders in review oldest first (by event time,
   not arrival), each by its token (`ref` = the order's token, the one
   its audit records name), with the order's score and reasons; paging
   (limit 2, `next`) returns the rest and nothing twice; no raw order or
   account id is in any reply;
 - who may: the analyst; the storefront, the DPO and the auditor get
   "denied" for review.list and review.decide (and learn nothing), each
   denial audited;
 - audit: every review.list and review.decide leaves one record (op,
   actor, purpose, outcome, the categories, the orders and accounts
   listed as subjects, the answer's size for a list);
 - review.decide reject by order id: the order leaves the queue and its
   account is labelled fraud (account.get); approve by `ref`
   (`vigilctl review decide --ref`): leaves the queue; a repeat answers
   was_queued false;
 - `vigilctl review list --json` shows the same page;
 - the queue survives a clean restart and a kill -9 (the journal
   replays it), and is kept in LMDB (no entry is lost or invented);
 - an erasure of an account (subject.erase by the DPO) takes its order
   out of the queue, and `queued` counts it out.

SPDX-License-Identifier: MIT
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, at, audit_records,  # noqa: E402
                       check, check_eq, main, query, say, vigilctl,
                       wait_checkpoint)

PURPOSE = "fraud-prevention"


def ref_of(svc, order):
    """The token (hex) of storefront order `order`: its review `ref`."""
    return svc.token(svc.scoped("order", order))


def review_list(svc, qid, client="analyst", **args):
    return query(svc, "review.list", qid, client=client, storefront=None,
                 **args)


def listed(rep):
    check(rep.get("ok") is True, "review.list ok", rep)
    return [it["ref"] for it in rep["result"]["items"]]


def erase(args, svc, account):
    rc, out, err = vigilctl(args.bin, "subject", "erase", account, "--json",
                            "--storefront", "storefront", "--purpose",
                            "erasure-request", "--case", "ERA-REVIEW",
                            *svc.ctl_conn("dpo"))
    check_eq(rc, 0, "subject erase exits 0 (%s)" % err.strip())
    return json.loads(out)


def body(args):
    people = [Persona(n, tag="rv") for n in range(1, 5)]
    orders = ["RV-ORD-%d" % n for n in range(1, 5)]
    svc = Service(args.bin, scorer_opts=["review_threshold=0",
                                         "block_threshold=100"],
                  keep=args.keep)
    svc.add_client("dpo", "dpo")
    svc.add_client("auditor", "auditor")
    with svc:

        say("-- four orders scored review, sent out of time order")
        # Arrival order 3, 1, 4, 2; event times 1 < 2 < 3 < 4.
        replies = {}
        for i in (2, 0, 3, 1):
            p = people[i]
            svc.send_ok(p.signup("rv-s%d" % i, ts=at(-900 + 10 * i)))
            replies[i] = svc.send_ok(p.order("rv-o%d" % i, order=orders[i],
                                             amount=2000 + i,
                                             ts=at(-600 + 60 * i)))
            check_eq(replies[i]["decision"], "review",
                     "order %d scored review" % i)
        refs = [ref_of(svc, o) for o in orders]
        check(all(refs), "each order has a token", refs)
        accts = [svc.token(svc.scoped("account", p.account))
                 for p in people]

        say("-- review.list: oldest first, by token, with score and reasons")
        rep = review_list(svc, "rl-1")
        got = listed(rep)
        check_eq(got, refs, "the queue in event-time order (not arrival)")
        res = rep["result"]
        check_eq((res["queued"], res["dropped"], res["count"]), (4, 0, 4),
                 "queued 4, dropped 0, count 4")
        for i, it in enumerate(res["items"]):
            check_eq((it["storefront"], it["score"], it["amount"]),
                     ("storefront", replies[i]["score"], 2000 + i),
                     "item %d: storefront, the order's score and amount" % i)
            check(it["reasons_known"] is True and
                  [r["code"] for r in it["reasons"]] ==
                  [r["code"] for r in replies[i].get("reasons", [])],
                  "item %d: the order's reasons" % i, it)
            check_eq(it["account_ref"],
                     svc.token(svc.scoped("account", people[i].account)),
                     "item %d: its account by token" % i)
        text = json.dumps(rep)
        leaked = [x for x in orders + [p.account for p in people]
                  if x in text]
        check(not leaked, "no raw order or account id in the reply", leaked)

        say("-- paging")
        p1 = review_list(svc, "rl-2", limit=2)
        check(listed(p1) == refs[:2] and "next" in p1["result"],
              "limit 2: the two oldest and a cursor", p1)
        p2 = review_list(svc, "rl-3", limit=2, after=p1["result"]["next"])
        check(listed(p2) == refs[2:], "after the cursor: the other two",
              p2)
        p3 = review_list(svc, "rl-4", limit=2, after=p2["result"]["next"]) \
            if "next" in p2["result"] else None
        check(p3 is None or listed(p3) == [],
              "and nothing after them", p3)
        bad = review_list(svc, "rl-5", after="not-a-cursor")
        check_eq(bad.get("code"), "invalid", "a bad cursor: invalid")
        big = review_list(svc, "rl-6", limit=9)
        check_eq(big.get("code"), "invalid", "limit over 8: invalid")

        say("-- who may: the analyst only")
        for client in ("storefront", "dpo", "auditor"):
            d = query(svc, "review.list", "rl-deny-" + client, client=client,
                      storefront=None)
            check(d.get("code") == "denied" and "result" not in d,
                  "review.list by %s: denied, nothing returned" % client, d)
            d = query(svc, "review.decide", "rd-deny-" + client,
                      client=client, order=orders[0], fraud=True)
            check(d.get("code") == "denied" and "result" not in d,
                  "review.decide by %s: denied" % client, d)
        check_eq(listed(review_list(svc, "rl-7")), refs,
                 "the denied decisions changed nothing")

        say("-- review.decide: reject by order id, approve by ref")
        a1 = query(svc, "account.get", "ag-1", account=people[1].account)
        check(a1["result"]["fraud"] is False, "before: account not fraud",
              a1)
        d = query(svc, "review.decide", "rd-1", order=orders[1], fraud=True)
        check(d.get("ok") is True and d["result"]["decision"] == "reject"
              and d["result"]["was_queued"] is True
              and d["result"]["source"] == "review.reject"
              and d["result"]["stored"] is True,
              "reject: stored as a label, was queued", d)
        a1 = query(svc, "account.get", "ag-2", account=people[1].account)
        check(a1["result"]["fraud"] is True,
              "the rejected order's account is labelled fraud", a1)
        rc, out, err = vigilctl(args.bin, "review", "decide", "--ref",
                                refs[0], "approve", "--note", "known-buyer",
                                "--purpose", PURPOSE, "--storefront",
                                "storefront", "--json", *svc.ctl_conn())
        check_eq(rc, 0, "vigilctl review decide --ref approve exits 0 (%s)"
                 % err.strip())
        dj = json.loads(out)["result"]
        check_eq((dj["decision"], dj["was_queued"], dj["fraud"],
                  dj["source"]),
                 ("approve", True, False, "review.approve.known-buyer"),
                 "approve by ref, with a reason code as the label's source")
        d = query(svc, "review.decide", "rd-2", order=orders[1], fraud=True)
        check(d.get("ok") is True and d["result"]["was_queued"] is False,
              "deciding it again: ok, no longer queued", d)
        d = query(svc, "review.decide", "rd-3", order="RV-NEVER", fraud=True)
        check_eq(d.get("code"), "not_found", "an order never seen: not_found")
        rc, out, err = vigilctl(args.bin, "review", "list", "--json",
                                "--purpose", PURPOSE, *svc.ctl_conn())
        check_eq(rc, 0, "vigilctl review list exits 0 (%s)" % err.strip())
        lj = json.loads(out)["result"]
        check_eq([it["ref"] for it in lj["items"]], [refs[2], refs[3]],
                 "vigilctl review list: the two undecided, oldest first")
        check_eq(lj["queued"], 2, "queued 2")
        rc, out, err = vigilctl(args.bin, "review", "list", "--purpose",
                                PURPOSE, *svc.ctl_conn("storefront"))
        check(rc == 1 and "denied" in err,
              "vigilctl review list as the storefront: exit 1, denied",
              (rc, err))

        say("-- the queue survives a restart and a kill -9")
        check_eq(svc.restart_scorer(), 0, "the scorer stops cleanly")
        check_eq(listed(review_list(svc, "rl-8")), [refs[2], refs[3]],
                 "after a restart: the same queue")
        # Queued and decided after the last commit: the journal replays.
        p = Persona(9, tag="rv")
        svc.send_ok(p.order("rv-o9", order="RV-ORD-9", ts=at(-30)))
        d = query(svc, "review.decide", "rd-4", order=orders[2], fraud=False)
        check(d.get("ok") is True, "approve order 3", d)
        svc.restart_scorer(kill=True)
        ref9 = ref_of(svc, "RV-ORD-9")
        check_eq(listed(review_list(svc, "rl-9")), [refs[3], ref9],
                 "after kill -9: the queue as acknowledged (a new order "
                 "in, the decided one out)")

        say("-- an erased account's order leaves the queue")
        er = erase(args, svc, people[3].account)
        check(er.get("ok") is True, "the DPO erased the account", er)
        rep = review_list(svc, "rl-10")
        check_eq(listed(rep), [ref9], "its order left the queue")
        check_eq(rep["result"]["queued"], 1, "queued counts it out")

        say("-- audit records")
        wait_checkpoint(args.bin, svc.data_dir)
        recs = audit_records(args.bin, svc.data_dir)
        by_ref = {}
        for r in recs:
            by_ref.setdefault(r["ref"].split(" ")[0], []).append(r)

        def one(qid, client="analyst"):
            got = by_ref.get(svc.query_ref(qid, client), [])
            check_eq(len(got), 1, "one audit record for %s" % qid)
            return got[0]

        r = one("rl-1")
        check_eq((r["op"], r["actor"], r["role"], r["purpose"],
                  r["outcome"]),
                 ("review.list", "analyst", "analyst", PURPOSE, "allowed"),
                 "review.list: op, actor, role, purpose, outcome")
        check(sorted(r["cats"]) == ["account", "order", "score"],
              "review.list: the categories returned", r["cats"])
        check_eq(sorted(r["subj"]), sorted(refs + accts),
                 "review.list: every order and account listed named")
        check(r["size"] > 0, "review.list: the answer's size (%d bytes)"
              % r["size"])
        for client in ("storefront", "dpo", "auditor"):
            r = one("rl-deny-" + client, client)
            check_eq((r["op"], r["outcome"], r["subj"]),
                     ("review.list", "denied", []),
                     "denied review.list by %s audited, naming nobody"
                     % client)
            r = one("rd-deny-" + client, client)
            check_eq((r["op"], r["outcome"]), ("review.decide", "denied"),
                     "denied review.decide by %s audited" % client)
        r = one("rd-1")
        check(r["op"] == "review.decide" and r["outcome"] == "allowed" and
              refs[1] in r["subj"] and accts[1] in r["subj"],
              "review.decide: audited naming the order and its account", r)
        r = one("rd-3")
        check_eq((r["op"], r["outcome"]), ("review.decide", "allowed"),
                 "review.decide of an unknown order: audited too")


if __name__ == "__main__":
    main("the review queue: review.list and review.decide, their "
         "authorization, audit, persistence and erasure", body)
