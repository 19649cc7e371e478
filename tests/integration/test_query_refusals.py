#!/usr/bin/python3
"""integ.query_refusals - query requests the scorer must refuse, and how.

Real daemons (vigiltest.Service), a storefront, an analyst and an admin:

- a request of two frames is refused `malformed` ("exactly one frame")
  and the connection still answers the next request;
- `status` (an op that reads no storefront's data) with a storefront is
  refused `invalid` naming the storefront; without it, answered;
- `review.decide` by `ref`: a ref that is not 32 hex digits is
  `invalid`, the token of an account (not an order) and a token never
  handed out are `not_found`; the token of a real order decides that
  order (reject: stored as a fraud label);
- one request id used for two different labels: the second is refused
  `conflict` ("used for a different label") and not applied; the same
  label sent again is answered again without being stored twice
  (stored false).

- the data-protection officer: an account without its storefront, an
  IP that does not parse, a storefront erasure naming another storefront
  are `invalid`; a storefront erasure by an analyst `denied`; export of
  an email never seen `not_found`, its erasure answered with nothing
  erased; a report by address (fields joined with '|') answered; the
  account is still held afterwards.

Each refusal is one the scorer makes after reading the request, so the
audit log must still verify at the end.

SPDX-License-Identifier: MIT
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, pack, query, query_raw, say,
                       wait_checkpoint)


def refused(rep, what, code, needle):
    check(isinstance(rep, dict) and rep.get("ok") is False,
          what + ": refused", rep)
    check_eq(rep.get("code"), code, "%s: code (%r)" % (what, rep.get("msg")))
    check(needle in (rep.get("msg") or ""),
          "%s: msg names %r (%r)" % (what, needle, rep.get("msg")))


def body(args):
    a = Persona(1, tag="qr")
    b = Persona(2, tag="qr")
    svc = Service(args.bin)
    svc.add_client("ops", "admin")
    svc.add_client("dpo", "dpo")
    with svc:
        say("events")
        svc.send_ok(a.signup("qr-s1"))
        svc.send_ok(a.order("qr-o1", order="QR-ORD-1", amount=2500))
        svc.send_ok(b.order("qr-o2", order="QR-ORD-2", amount=900))

        say("two frames")
        req = pack({"v": 2, "op": "score.get", "id": "qr-2f",
                    "purpose": "fraud-prevention", "storefront": "storefront",
                    "order": "QR-ORD-1"})
        rep = query_raw(svc, [req, req])
        refused(rep, "a request of two frames", "malformed",
                "exactly one frame")
        rep = query_raw(svc, req)
        check(rep.get("ok") is True, "one frame is answered", rep)

        say("status with a storefront")
        rep = query(svc, "status", "qr-st", client="ops",
                    purpose="operations", storefront=None)
        check(rep.get("ok") is True, "status without a storefront", rep)
        rep = query(svc, "status", "qr-st-sf", client="ops",
                    purpose="operations")
        refused(rep, "status with a storefront", "invalid", "storefront")
        check("leave it out" in rep.get("msg", ""),
              "the message says to leave it out", rep)

        say("review.decide by ref")
        rep = query(svc, "review.decide", "qr-ref-bad", ref="not-hex", fraud=True)
        refused(rep, "a ref that is not hex", "invalid", "hex digits")
        rep = query(svc, "review.decide", "qr-ref-short", ref="ab" * 15, fraud=True)
        refused(rep, "a ref of 15 bytes", "invalid", "hex digits")
        acct_tok = svc.token(svc.scoped("account", a.account))
        check(acct_tok is not None, "the account has a token", acct_tok)
        rep = query(svc, "review.decide", "qr-ref-acct", ref=acct_tok, fraud=True)
        refused(rep, "the token of an account", "not_found", "ref")
        rep = query(svc, "review.decide", "qr-ref-none", ref="5a" * 16, fraud=True)
        refused(rep, "a token never handed out", "not_found", "ref")
        order_tok = svc.token(svc.scoped("order", "QR-ORD-1"))
        check(order_tok is not None, "the order has a token")
        rep = query(svc, "review.decide", "qr-ref-ok", ref=order_tok, fraud=True,
                    source="chargeback")
        check(rep.get("ok") is True, "the order's token decides it", rep)
        res = rep.get("result", {})
        check_eq((res.get("ref"), res.get("decision"), res.get("fraud"),
                  res.get("stored")), (order_tok, "reject", True, True),
                 "ref, decision, fraud, stored")

        say("one request id, two labels")
        rep = query(svc, "label", "qr-same", order="QR-ORD-2", fraud=True)
        check(rep.get("ok") is True and rep["result"]["stored"] is True,
              "first label stored", rep)
        rep = query(svc, "label", "qr-same", order="QR-ORD-2", fraud=False)
        refused(rep, "the same id for another label", "conflict",
                "different label")
        rep = query(svc, "label", "qr-same", order="QR-ORD-2", fraud=True)
        check(rep.get("ok") is True and rep["result"]["stored"] is False,
              "the same label again: answered, not stored twice", rep)
        rep = query(svc, "account.get", "qr-acct-b", account=b.account)
        check(rep.get("ok") is True, "account.get of B", rep)
        check(rep.get("result", {}).get("fraud") is True,
              "B stays labelled fraud (the conflicting label was not "
              "applied)", rep.get("result"))

        say("data-protection officer")
        dpo = dict(client="dpo", case="CASE-QR-1")
        rep = query(svc, "subject.report", "qr-dpo-nosf",
                    purpose="access-request", storefront=None,
                    kind="account", value=a.account, **dpo)
        refused(rep, "an account without its storefront", "invalid",
                "storefront: required")
        rep = query(svc, "subject.export", "qr-dpo-ip",
                    purpose="access-request", kind="ip", value="not-an-ip",
                    **dpo)
        refused(rep, "an IP that does not parse", "invalid",
                "not a usable identifier")
        rep = query(svc, "subject.erase", "qr-dpo-shop",
                    purpose="erasure-request", kind="storefront",
                    value="another-shop", **dpo)
        refused(rep, "a storefront erasure naming another storefront",
                "invalid", "value equal to storefront")
        rep = query(svc, "subject.erase", "qr-dpo-analyst",
                    purpose="erasure-request", kind="storefront",
                    value="storefront", case="CASE-QR-1")
        refused(rep, "a storefront erasure by an analyst", "denied", "")
        rep = query(svc, "subject.export", "qr-dpo-unknown",
                    purpose="access-request", kind="email",
                    value="nobody@example.org", **dpo)
        refused(rep, "export of an email never seen", "not_found",
                "subject")
        rep = query(svc, "subject.erase", "qr-dpo-unknown-e",
                    purpose="erasure-request", kind="email",
                    value="nobody@example.org", **dpo)
        check(rep.get("ok") is True, "erasure of an email never seen: "
              "answered", rep)
        res = rep.get("result", {})
        check_eq((res.get("erased"), res.get("subjects"), res.get("orders")),
                 (False, 0, 0), "nothing held, nothing erased")
        addr = "|".join(a.address[k] for k in
                        ("name", "street", "city", "postal", "country")
                        if k in a.address)
        rep = query(svc, "subject.report", "qr-dpo-addr",
                    purpose="access-request", kind="address", value=addr,
                    **dpo)
        check(rep.get("ok") is True, "a report by address ('|' joined) is "
              "answered", rep)
        rep = query(svc, "account.get", "qr-acct-a", account=a.account)
        check(rep.get("ok") is True, "A is still held after the refusals",
              rep)

        say("audit log")
        wait_checkpoint(args.bin, svc.data_dir)
        recs = audit_records(args.bin, svc.data_dir)
        ops = [(r["op"], r["outcome"]) for r in recs
               if r["op"] in ("label", "review.decide")]
        check(("review.decide", "allowed") in ops and
              ops.count(("label", "allowed")) >= 1,
              "the requests read are audited, and the log verifies", ops)

if __name__ == "__main__":
    main("query refusals: frames, scope, refs, request id reuse", body)
