#!/usr/bin/python3
"""integ.shop_erasure - erasing a whole storefront's data (Shopify's
shop/redact): `vigilctl subject erase SHOP --kind storefront
--storefront SHOP` (subject.erase, kind storefront; DPO only).

Two storefronts, "storefront" and "shop2" (each its own CURVE client).
Shopper C buys only at shop2; shopper D at both, with one device. The
DPO erases shop2. Afterwards: shop2's accounts and orders are gone
(queries answer not_found), C's salts are destroyed (no vault slot
names any subject only shop2's events named), D's device, also seen at
"storefront", keeps its salt and history, D's account at "storefront"
is untouched; the erasure is one audit record (op subject.erase, kind
in the request, the counts) and `vigilctl audit verify` passes; a
restart keeps it all. A storefront erasure whose value is not the
request's storefront is refused, and an analyst's is refused and
recorded as denied.

SPDX-License-Identifier: MIT
"""

import json
import os
import sys

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (RECV_TIMEOUT_MS, Persona, Service,  # noqa
                       TestFailure, audit_records, check, check_eq, main,
                       pack, query, say, vigilctl, wait_checkpoint)
import msgpack  # noqa: E402


def send_as(svc, client, ev):
    """Send one event as storefront client `client`; check it is ok."""
    s = svc.ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    try:
        svc.curve(s, client)
        s.connect(svc.events_endpoint)
        s.send(pack(ev))
        if not s.poll(RECV_TIMEOUT_MS, zmq.POLLIN):
            raise TestFailure("no reply to %s from %s" % (ev["id"], client))
        rep = msgpack.unpackb(s.recv(), raw=False)
    finally:
        s.close(0)
    if not (isinstance(rep, dict) and rep.get("ok") is True):
        raise TestFailure("event %s refused: %r" % (ev["id"], rep))


def erase_shop(bindir, svc, shop, value=None, client="dpo"):
    rc, out, err = vigilctl(bindir, "subject", "erase", value or shop,
                            "--kind", "storefront", "--storefront", shop,
                            "--purpose", "erasure-request", "--case",
                            "shop-redact-1", "--json", *svc.ctl_conn(client))
    return rc, json.loads(out) if out.strip() else None, err


def body(args):
    c = Persona(31, tag="shc")
    d = Persona(32, tag="shd")
    svc = Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"])
    svc.add_client("dpo", "dpo")
    svc.add_client("shop2", "storefront")
    with svc:
        say("C buys at shop2 only; D at both, with the same device")
        for ev in (c.signup("c-s1"), c.order("c-o1", order="C-ORD"),
                   d.signup("d2-s1"), d.order("d2-o1", order="D2-ORD")):
            send_as(svc, "shop2", ev)
        for ev in (d.signup("d1-s1"), d.order("d1-o1", order="D1-ORD")):
            svc.send_ok(ev)
        for st, acct, who in (("shop2", c.account, "C"),
                              ("shop2", d.account, "D at shop2"),
                              ("storefront", d.account, "D at storefront")):
            q = query(svc, "account.get", "pre-" + who, account=acct,
                      storefront=st)
            check(q["ok"] and q["result"]["known"], "before: %s known" % who)
        wait_checkpoint(args.bin, svc.data_dir)
        c_subjects = {t for r in audit_records(args.bin, svc.data_dir)
                      if r["actor"] == "shop2" and
                      r["ref"].split(" ")[0] in (svc.event_ref("c-s1",
                                                               "shop2"),
                                   svc.event_ref("c-o1", "shop2"))
                      for t in r["subj"]}
        vault = svc.vault()
        tokens = {v[2] for v in vault.values()}
        check(c_subjects and c_subjects <= tokens,
              "C's subjects have salts", len(c_subjects))
        d_dev_pseudo = [p for p, v in vault.items() if v[0] == 3]  # device
        check(len(d_dev_pseudo) >= 2, "device subjects in the vault")

        say("refusals")
        rc, doc, _ = erase_shop(args.bin, svc, "shop2", client="analyst")
        check_eq((rc, doc["code"]), (1, "denied"), "an analyst is refused")
        rc, doc, _ = erase_shop(args.bin, svc, "shop2", value="storefront")
        check_eq((rc, doc["code"]), (1, "invalid"),
                 "value must be the request's storefront")

        say("the DPO erases shop2")
        rc, doc, err = erase_shop(args.bin, svc, "shop2")
        check_eq(rc, 0, "storefront erase exits 0 (%s)" % err.strip())
        res = doc["result"]
        say("  counts: %s" % res)
        check(res["erased"] and res["orders"] == 2 and res["subjects"] >= 6,
              "shop2's subjects and both its orders erased", res)

        def after(what):
            for st, acct, who in (("shop2", c.account, "C"),
                                  ("shop2", d.account, "D at shop2")):
                q = query(svc, "account.get", "post-" + who, account=acct,
                          storefront=st)
                check_eq(q.get("code"), "not_found", what + ": " + who)
            q = query(svc, "score.get", "post-c-ord", order="C-ORD",
                      storefront="shop2")
            check_eq(q.get("code"), "not_found", what + ": C's order")
            q = query(svc, "account.get", "post-d1", account=d.account,
                      storefront="storefront")
            check(q["ok"] and q["result"]["known"] and
                  q["result"]["orders_total"] == 1,
                  what + ": D at the other storefront kept", q)
            q = query(svc, "score.get", "post-d1-ord", order="D1-ORD")
            check(q["ok"], what + ": D's order at the other storefront")
            left = {v[2] for v in svc.vault().values()}
            shared = {svc.token(p) for p in d_dev_pseudo} - {None}
            check(not (c_subjects - shared) & left,
                  what + ": no salt left of C's own subjects")
            check(d.device and any(
                svc.token(p) is not None for p in d_dev_pseudo),
                what + ": the device D used at both keeps its salt")
            rc, out, err = vigilctl(args.bin, "audit", "verify",
                                    os.path.join(svc.data_dir, "audit"))
            check_eq(rc, 0, what + ": audit verify passes")
        after("live")
        recs = [r for r in audit_records(args.bin, svc.data_dir)
                if r["op"] == "subject.erase" and r["outcome"] == "allowed"]
        check_eq(len(recs), 1, "one allowed subject.erase record")
        check(recs[0]["actor"] == "dpo" and recs[0]["subj"] == [] and
              (" o%d " % res["orders"]) in recs[0]["ref"],
              "its record: actor dpo, no subjects, the counts", recs[0])
        svc.restart_scorer()
        after("after a restart")


if __name__ == "__main__":
    main("erasure of a whole storefront's data (shop/redact)", body)
