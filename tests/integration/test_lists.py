#!/usr/bin/python3
"""integ.lists - the fraud team's allow and block lists: `list.set` and
`list.get` (`vigilctl list add|remove|show`) through the scorer's query
endpoint, and what they do to scores.

Real daemons (vigiltest.Service), the rule set (model_file=none) with
review_threshold=0 and block_threshold=50, so that every order is at
least `review` and three failed payments on a card (card testing, 35 +
15 points) reach `block` by the hard rules alone. Checks:
 - who may: the analyst; the storefront, the DPO and the auditor get
   "denied" for list.set and list.get (nothing returned, nothing
   changed), each denial audited (naming the entity's token when Vigil
   holds one, as a denied label does);
 - a device put on the block list: the next order from it is `block`,
   score 100, reason `block_listed` first, naming the kind ("device")
   and never the value; the reply to list.set gives the entity's token
   (`ref`), never the value;
 - every list change leaves one audit record: op list.set, the analyst,
   the purpose, the entity's token as subject, its category only, and
   "list block was none" in the ref; list.get is audited with the
   answer's size;
 - allow list (an account, storefront named): an order that scored
   `review` is `allow` with reason `allow_listed` first; but card
   testing on an allow-listed account stays `block` (the hard rules
   win; `allow_listed` still given); block beats allow when an order
   names one entity on each list;
 - an account needs its storefront; an identifier that is not one is
   `invalid`; an entity never seen can be listed (it gets a salt) and
   is blocked at its first order;
 - the lists survive a clean restart and a kill -9 (committed to LMDB
   before the reply);
 - `vigilctl list add|show|remove` with --json; remove flips the
   decision back;
 - the lists are kept in LMDB by token: no raw identifier in the data
   directory's files.

SPDX-License-Identifier: MIT
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, at, audit_records,  # noqa: E402
                       check, check_eq, main, pseudo_hex, query, say,
                       scan_files_for, vigilctl, wait_checkpoint)

PURPOSE = "fraud-prevention"


def list_set(svc, qid, entity, value, lst, client="analyst",
             storefront=None):
    return query(svc, "list.set", qid, client=client, storefront=storefront,
                 entity=entity, value=value, list=lst)


def list_get(svc, qid, entity, value, client="analyst", storefront=None):
    return query(svc, "list.get", qid, client=client, storefront=storefront,
                 entity=entity, value=value)


def codes(rep):
    return [r["code"] for r in rep.get("reasons", [])]


def ctl(args, svc, *argv):
    rc, out, err = vigilctl(args.bin, "list", *argv, "--purpose", PURPOSE,
                            "--json", *svc.ctl_conn("analyst"))
    check_eq(rc, 0, "vigilctl list %s exits 0 (%s)" % (argv[0], err.strip()))
    doc = json.loads(out)
    check(doc.get("ok") is True, "vigilctl list %s: ok" % argv[0], doc)
    return doc["result"]


def body(args):
    a, b, c, d, e = (Persona(n, tag="ls") for n in range(1, 6))
    svc = Service(args.bin, scorer_opts=["model_file=none",
                                         "review_threshold=0",
                                         "block_threshold=50"],
                  keep=args.keep)
    svc.add_client("dpo", "dpo")
    svc.add_client("auditor", "auditor")
    with svc:
        say("-- baseline: orders from A and B")
        for p in (a, b, c, d):
            svc.send_ok(p.signup("ls-s%d" % p.n, ts=at(-86400 * 20)))
        r0 = svc.send_ok(a.order("ls-a1", ts=at(-3000)))
        check(r0["decision"] in ("allow", "review"),
              "A's first order is not blocked (%s)" % r0["decision"])
        dev_tok_before = svc.token(pseudo_hex(svc.key(), "device", a.device))

        say("-- who may: the analyst only")
        for client in ("storefront", "dpo", "auditor"):
            rep = list_set(svc, "ls-deny-" + client, "device", a.device,
                           "block", client=client,
                           storefront="storefront" if client ==
                           "storefront" else None)
            check(rep.get("code") == "denied" and "result" not in rep,
                  "list.set by %s: denied, nothing returned" % client, rep)
            rep = list_get(svc, "lg-deny-" + client, "device", a.device,
                           client=client)
            check(rep.get("code") == "denied" and "result" not in rep,
                  "list.get by %s: denied" % client, rep)
        r = svc.send_ok(a.order("ls-a2", ts=at(-2900)))
        check(r["decision"] != "block" and "block_listed" not in codes(r),
              "after the denied requests A's device is on no list", r)

        say("-- block list: A's device")
        rep = list_set(svc, "ls-1", "device", a.device, "block")
        check(rep.get("ok") is True, "list.set block device: ok", rep)
        res = rep["result"]
        dev_tok = svc.token(pseudo_hex(svc.key(), "device", a.device))
        check_eq(dev_tok, dev_tok_before, "the device's token is the one "
                 "its events have")
        check_eq((res["entity"], res["list"], res["was"], res["changed"],
                  res["ref"]), ("device", "block", "none", True, dev_tok),
                 "the reply: entity, list, was, changed, ref = the token")
        check(a.device not in json.dumps(rep), "no raw device id in the "
              "reply")
        r = svc.send_ok(a.order("ls-a3", ts=at(-2800)))
        check_eq((r["decision"], r["score"]), ("block", 100),
                 "A's next order: block, score 100")
        check_eq(codes(r)[0], "block_listed", "reason block_listed first")
        why = r["reasons"][0]
        check("device" in why["text"] and a.device not in json.dumps(r),
              "the reason names the kind, not the value", why)
        rep = list_set(svc, "ls-2", "device", a.device, "block")
        check_eq((rep["result"]["was"], rep["result"]["changed"]),
                 ("block", False), "setting it again: unchanged")
        rep = list_get(svc, "lg-1", "device", a.device)
        check_eq((rep["result"]["list"], rep["result"]["known"]),
                 ("block", True), "list.get: block, known")

        say("-- allow list: B's account (storefront named)")
        rb = svc.send_ok(b.order("ls-b1", ts=at(-2700)))
        check_eq(rb["decision"], "review", "B's order: review (threshold 0)")
        rep = list_set(svc, "ls-3", "account", b.account, "allow")
        check_eq(rep.get("code"), "invalid",
                 "an account without its storefront: invalid")
        rep = list_set(svc, "ls-4", "account", b.account, "allow",
                       storefront="storefront")
        check(rep.get("ok") is True, "list.set allow account: ok", rep)
        rb = svc.send_ok(b.order("ls-b2", ts=at(-2600)))
        check_eq((rb["decision"], codes(rb)[0]), ("allow", "allow_listed"),
                 "B's next order: allow, reason allow_listed first")
        check("account" in rb["reasons"][0]["text"], "names the account "
              "kind", rb["reasons"][0])

        say("-- card testing beats the allow list")
        svc.send_ok(b.payment("ls-bp1", "ord-ls-b2", ok=False, ts=at(-2550)))
        svc.send_ok(b.payment("ls-bp2", "ord-ls-b2", ok=False, ts=at(-2540)))
        svc.send_ok(b.payment("ls-bp3", "ord-ls-b2", ok=False, ts=at(-2530)))
        rb = svc.send_ok(b.order("ls-b3", ts=at(-2500)))
        check_eq(rb["decision"], "block", "card testing on an allow-listed "
                 "account: block")
        check("allow_listed" in codes(rb) and
              "card_failed_payments_1h" in codes(rb),
              "reasons: allow_listed and card_failed_payments_1h", codes(rb))

        say("-- block beats allow")
        rc_ = svc.send_ok(c.order("ls-c1", ts=at(-2400)))
        check(rc_["decision"] != "block", "C's order is not blocked")
        check(list_set(svc, "ls-5", "account", c.account, "allow",
                       storefront="storefront").get("ok") is True,
              "C's account allow-listed")
        check(list_set(svc, "ls-6", "email", c.email.upper(), "block")
              .get("ok") is True, "C's email block-listed (normalized: "
              "upper case given)")
        rc_ = svc.send_ok(c.order("ls-c2", ts=at(-2300)))
        check_eq((rc_["decision"], codes(rc_)[0]), ("block", "block_listed"),
                 "an order naming one of each: block")

        say("-- never seen, invalid")
        rep = list_set(svc, "ls-7", "ip", "not an ip", "block")
        check_eq(rep.get("code"), "invalid", "an ip that is not one: invalid")
        rep = list_get(svc, "lg-2", "card", "fp-never-seen-0000")
        check(rep.get("ok") is True and rep["result"]["list"] == "none" and
              "ref" not in rep["result"], "list.get of a card never seen: "
              "none, no token", rep)
        rep = list_set(svc, "ls-8", "card", e.card["fingerprint"], "block")
        check(rep.get("ok") is True and rep["result"]["changed"] is True,
              "a card never seen block-listed", rep)
        re_ = svc.send_ok(e.order("ls-e1", ts=at(-2200)))
        check_eq((re_["decision"], codes(re_)[0]), ("block", "block_listed"),
                 "its first order: block")

        say("-- restart and kill -9: the lists stay")
        svc.restart_scorer()
        r = svc.send_ok(a.order("ls-a4", ts=at(-2100)))
        check_eq(r["decision"], "block", "after a restart: A still blocked")
        check(list_set(svc, "ls-9", "ip", d.ip, "block").get("ok") is True,
              "D's IP block-listed")
        svc.restart_scorer(kill=True)
        r = svc.send_ok(d.order("ls-d1", ts=at(-2000)))
        check_eq((r["decision"], codes(r)[0]), ("block", "block_listed"),
                 "after kill -9 right after the change: D blocked")
        rb = svc.send_ok(b.order("ls-b4", ts=at(+7200)))
        check_eq((rb["decision"], codes(rb)[0]), ("allow", "allow_listed"),
                 "after both: B still allowed (an hour past the card "
                 "testing)")

        say("-- vigilctl list add|show|remove")
        res = ctl(args, svc, "show", "device", a.device)
        check_eq(res["list"], "block", "list show: block")
        res = ctl(args, svc, "remove", "device", a.device)
        check_eq((res["list"], res["was"], res["changed"]),
                 ("none", "block", True), "list remove: was block")
        r = svc.send_ok(a.order("ls-a5", ts=at(-1900)))
        check(r["decision"] != "block" and "block_listed" not in codes(r),
              "removed: A's order is not blocked", r)
        res = ctl(args, svc, "add", "block", "device", a.device)
        check_eq((res["list"], res["changed"]), ("block", True),
                 "list add block again")
        r = svc.send_ok(a.order("ls-a6", ts=at(-1800)))
        check_eq(r["decision"], "block", "and blocked again")
        rc, out, err = vigilctl(args.bin, "list", "add", "maybe", "device",
                                "x", "--purpose", PURPOSE,
                                *svc.ctl_conn("analyst"))
        check_eq(rc, 2, "list add with a list that is not allow|block: "
                 "usage error")

        say("-- audit records")
        wait_checkpoint(args.bin, svc.data_dir)
        recs = audit_records(args.bin, svc.data_dir)

        def one(qid, client="analyst"):
            ref = svc.query_ref(qid, client)
            got = [x for x in recs if x["ref"].split(" ")[0] == ref]
            check_eq(len(got), 1, "one audit record for %s" % qid)
            return got[0]

        x = one("ls-1")
        check_eq((x["op"], x["actor"], x["role"], x["purpose"],
                  x["outcome"], x["subj"], x["cats"]),
                 ("list.set", "analyst", "analyst", PURPOSE, "allowed",
                  [dev_tok], ["device"]),
                 "list.set: op, actor, role, purpose, outcome, the device's "
                 "token, its category")
        check(x["ref"].endswith("list block was none"),
              "the change in the ref", x["ref"])
        check(one("ls-4")["ref"].endswith("list allow was none") and
              one("ls-4")["cats"] == ["account"], "the account's change")
        check(one("ls-2")["ref"].endswith("list block was block"),
              "an unchanged set is audited too")
        x = one("lg-1")
        check((x["op"], x["outcome"]) == ("list.get", "allowed") and
              x["size"] > 0, "list.get audited with its size", x)
        for client in ("storefront", "dpo", "auditor"):
            x = one("ls-deny-" + client, client)
            check_eq((x["op"], x["outcome"], x["subj"]),
                     ("list.set", "denied", [dev_tok]),
                     "denied list.set by %s audited, naming the device it "
                     "tried (as a denied label names its account)" % client)
            x = one("lg-deny-" + client, client)
            check_eq((x["op"], x["outcome"]), ("list.get", "denied"),
                     "denied list.get by %s audited" % client)

        say("-- no raw identifier at rest")
        svc.stop()
        found = scan_files_for(svc.data_dir,
                               [a.device, b.account, c.email,
                                e.card["fingerprint"]])
        check(not found, "no listed identifier in the data directory",
              found)


if __name__ == "__main__":
    main("allow and block lists: list.set / list.get, their authorization "
         "and audit, and the decisions they make", body)
