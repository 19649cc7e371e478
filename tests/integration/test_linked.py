#!/usr/bin/python3
"""integ.linked - `linked.get` (`vigilctl linked ACCOUNT`): the accounts
sharing devices, IPs, cards or emails with one account.

Real daemons (vigiltest.Service). A constructed ring around account A:
B orders from A's device, C from A's IP with A's card, D shares nothing,
and E is another storefront's account on A's device. B is labelled
fraud, C legitimate. Checks:
 - linked.get A lists B first (labelled fraud), then C and E, never D:
   for each its storefront, its token (`ref`), its label and how it
   links (B: device 1; C: ip, ip_prefix and card, shared 3; E: device
   1); A's own entities by kind; no raw identifier in the reply;
 - `vigilctl linked A --json` gives the same;
 - bounded fan-out: 20 more accounts on A's device give at most 15
   linked accounts (every one named in the audit record);
 - who may: the analyst; the storefront, the DPO and the auditor are
   denied (audited as denied);
 - the audit record of each allowed linked.get names A and every
   linked account returned, the categories and the answer's size;
 - an erased account (subject.erase) is no longer listed.

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


def linked(svc, qid, account, client="analyst", storefront="storefront"):
    return query(svc, "linked.get", qid, client=client, account=account,
                 storefront=storefront)


def body(args):
    a, b, c, d, e = (Persona(n, tag="lk") for n in range(1, 6))
    svc = Service(args.bin, keep=args.keep)
    svc.add_client("dpo", "dpo")
    svc.add_client("auditor", "auditor")
    svc.add_client("shop-two", "storefront")
    with svc:

        say("-- a ring around A")
        svc.send_ok(a.order("lk-a1", order="LK-A1", ts=at(-900)))
        svc.send_ok(b.order("lk-b1", order="LK-B1", ts=at(-800),
                            device=a.device))
        svc.send_ok(c.order("lk-c1", order="LK-C1", ts=at(-700), ip=a.ip,
                            card=dict(a.card)))
        svc.send_ok(d.order("lk-d1", order="LK-D1", ts=at(-600)))
        # Another storefront's customer on A's device.
        svc.close_socket()
        ev = e.order("lk-e1", order="LK-E1", ts=at(-500), device=a.device)
        rep = query(svc, "label", "lb-b", account=b.account, fraud=True,
                    source="chargeback")
        check(rep.get("ok") is True, "B labelled fraud", rep)
        rep = query(svc, "label", "lb-c", account=c.account, fraud=False,
                    source="manual-review")
        check(rep.get("ok") is True, "C labelled legitimate", rep)
        tok = {p.account: svc.token(svc.scoped("account", p.account))
               for p in (a, b, c, d)}
        sock_rep = send_as(svc, "shop-two", ev)
        check(sock_rep.get("ok") is True, "E's order as shop-two", sock_rep)
        tok[e.account] = svc.token(svc.scoped("account", e.account,
                                              "shop-two"))

        say("-- linked.get A")
        rep = linked(svc, "lk-1", a.account)
        check(rep.get("ok") is True, "linked.get ok", rep)
        res = rep["result"]
        check_eq((res["account"], res["ref"], res["label"]),
                 (a.account, tok[a.account], "none"),
                 "the account asked about, its token and label")
        check(res["entities"].get("device") == 1 and
              res["entities"].get("ip") == 1 and
              res["entities"].get("card") == 1,
              "its own entities by kind", res["entities"])
        got = [(x["storefront"], x["ref"], x["label"], x["shared"], x["via"])
               for x in res["linked"]]
        want_b = ("storefront", tok[b.account], "fraud", 1, {"device": 1})
        want_c = ("storefront", tok[c.account], "legitimate", 3,
                  {"ip": 1, "ip_prefix": 1, "card": 1})
        want_e = ("shop-two", tok[e.account], "none", 1, {"device": 1})
        check_eq(got[0], want_b, "B first: labelled fraud, via the device")
        check_eq(sorted(got[1:], key=lambda x: -x[3]), [want_c, want_e],
                 "then C (ip, ip prefix, card: 3) and E (the other shop's, "
                 "device)")
        check(tok[d.account] not in [x[1] for x in got],
              "D, who shares nothing, is not listed")
        check_eq((res["linked_total"], res["count"]), (3, 3),
                 "linked_total 3, count 3")
        text = json.dumps(rep["result"]["linked"])
        raw = [x for x in (a.device, a.ip, a.card["fingerprint"], b.account,
                           c.account, e.account) if x in text]
        check(not raw, "no raw identifier among the linked", raw)

        rc, out, err = vigilctl(args.bin, "linked", a.account, "--json",
                                "--purpose", PURPOSE, "--storefront",
                                "storefront", *svc.ctl_conn())
        check_eq(rc, 0, "vigilctl linked exits 0 (%s)" % err.strip())
        check_eq([x["ref"] for x in json.loads(out)["result"]["linked"]],
                 [x[1] for x in got], "vigilctl linked: the same accounts")
        rc, out, err = vigilctl(args.bin, "linked", a.account, "--purpose",
                                PURPOSE, "--storefront", "storefront",
                                *svc.ctl_conn("storefront"))
        check(rc == 1 and "denied" in err,
              "vigilctl linked as the storefront: exit 1, denied", (rc, err))

        say("-- who may: the analyst only")
        for client in ("storefront", "dpo", "auditor"):
            r = linked(svc, "lk-deny-" + client, a.account, client=client)
            check(r.get("code") == "denied" and "result" not in r,
                  "linked.get by %s: denied" % client, r)
        r = linked(svc, "lk-2", "LK-NEVER-SEEN")
        check_eq(r.get("code"), "not_found", "an unknown account: not_found")

        say("-- bounded fan-out")
        crowd = [Persona(n, tag="lkc") for n in range(20, 40)]
        svc.send_all_ok([p.order("lkc-%d" % p.n, order="LKC-%d" % p.n,
                                 ts=at(-400 + p.n), device=a.device)
                         for p in crowd])
        rep = linked(svc, "lk-3", a.account)
        res = rep["result"]
        check(res["count"] == 15 and len(res["linked"]) == 15 and
              res["linked_total"] >= 15,
              "20 more on A's device: 15 listed of %s" % res["linked_total"],
              res["count"])
        check(all(x["via"].get("device", 0) >= 1 or
                  x["ref"] == tok[c.account] for x in res["linked"]),
              "each listed is C or shares A's device (the device keeps "
              "its last 16 accounts: the crowd)", res["linked"][:2])
        check_eq(res["linked"][0]["ref"], tok[c.account],
                 "C (3 shared) first now that the crowd pushed B off the "
                 "device's list")

        say("-- an erased account is no longer listed")
        rc, out, err = vigilctl(args.bin, "subject", "erase", c.account,
                                "--json", "--storefront", "storefront",
                                "--purpose", "erasure-request", "--case",
                                "ERA-LINKED", *svc.ctl_conn("dpo"))
        check_eq(rc, 0, "C erased (%s)" % err.strip())
        rep = linked(svc, "lk-4", a.account)
        check(tok[c.account] not in [x["ref"] for x in
                                     rep["result"]["linked"]],
              "C is gone from A's linked accounts", rep["result"]["count"])

        say("-- audit records")
        wait_checkpoint(args.bin, svc.data_dir)
        recs = audit_records(args.bin, svc.data_dir)

        def one(qid, client="analyst"):
            ref = svc.query_ref(qid, client)
            got = [r for r in recs if r["ref"].split(" ")[0] == ref]
            check_eq(len(got), 1, "one audit record for %s" % qid)
            return got[0]

        r = one("lk-1")
        check_eq((r["op"], r["actor"], r["role"], r["purpose"],
                  r["outcome"]),
                 ("linked.get", "analyst", "analyst", PURPOSE, "allowed"),
                 "linked.get: op, actor, role, purpose, outcome")
        check_eq(sorted(r["subj"]),
                 sorted([tok[a.account], tok[b.account], tok[c.account],
                         tok[e.account]]),
                 "names A and every linked account returned")
        check(set(["account", "device", "ip", "payment", "contact"]) <=
              set(r["cats"]), "the categories", r["cats"])
        check(r["size"] > 0, "the answer's size (%d bytes)" % r["size"])
        check_eq(len(one("lk-3")["subj"]), 16,
                 "the bounded answer: A and the 15 listed named")
        for client in ("storefront", "dpo", "auditor"):
            r = one("lk-deny-" + client, client)
            check_eq((r["op"], r["outcome"]), ("linked.get", "denied"),
                     "denied linked.get by %s audited" % client)


def send_as(svc, client, ev):
    """Send one event as storefront client `client` (its own socket)."""
    import zmq
    import msgpack
    from vigiltest import pack
    s = svc.ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        svc.curve(s, client)
        s.connect(svc.events_endpoint)
        s.send(pack(ev))
        if not s.poll(10000, zmq.POLLIN):
            return {"ok": False, "msg": "no reply"}
        rep = msgpack.unpackb(s.recv(), raw=False, strict_map_key=True)
    finally:
        s.close(0)
    return rep


if __name__ == "__main__":
    main("linked accounts: linked.get through the query endpoint, its "
         "authorization, audit, fan-out bound and erasure", body)
