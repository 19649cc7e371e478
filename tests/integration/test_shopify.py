#!/usr/bin/python3
"""integ.shopify - the Shopify bridge in front of the real collector and
scorer, driven like Shopify drives it.

vigil-shopify runs as a child process beside the two daemons
(vigiltest.Service); every delivery is built from Shopify's documented
example payloads (shopify.dev/docs/api/webhooks, API 2026-10) and signed
as Shopify signs it: X-Shopify-Hmac-SHA256 = base64(HMAC-SHA256(raw
body, client secret)), with X-Shopify-Topic, X-Shopify-Shop-Domain,
X-Shopify-Webhook-Id and X-Shopify-Triggered-At. A local HTTP server
stands in for the shop's Admin GraphQL API. Checks:
 - refusals before the body: 405, 404, 415 (type, encoding), 413
   (declared and chunked), 401 (no signature, unknown shop), 400;
 - the bridge talks to the collector over CURVE as the shop (its own
   certificate, `vigilctl client add <shop> --role storefront`): signed
   deliveries of every mapped topic are answered 200 and stored under
   the shop's identity (one audit event.store record per event id, actor
   the shop, ref scoped by the shop); refunds store nothing; a shop
   without a certificate keeps the bridge from starting, and so does a
   dpo_cert or label_cert of the wrong role or missing (the message
   names the key, the role and `vigilctl client add`);
 - orders/create is scored: the risk assessment reaches the Admin API
   stand-in with the documented orderRiskAssessmentCreate shape, the
   access token, and the order's score (equal to the scorer's own
   score.get), after a retry when the API first answers 503;
 - a bad signature (wrong secret, altered body) gets 401 and stores
   nothing; the previous secret (rotation) is accepted;
 - a repeated webhook id is applied once: answered from the bridge's
   dedup file, also after a restart; with that file gone, Vigil's own
   dedup answers it with the first reply (same score, no new record);
 - the privacy topics, through the scorer's DPO operations as the
   bridge's dpo identity: customers/data_request's report files each
   pass `vigilctl audit check-proof`; customers/redact erases the
   customer and the listed order (a later report finds nothing, the
   log verifies); shop/redact erases the shop's data; each audited with
   the Shopify request id's keyed hash as its case reference;
 - malformed bodies 400/422;
 - Vigil down (collector stopped, then scorer stopped) gives 503 at
   once, and the retry after it is back gets 200, applied once;
 - examples/shopify/replay.py records a signed delivery and replays it
   (applied, then answered from the dedup file);
 - the shop over its collector quota (busy): 503 at once, the retry
   later 200, applied once;
 - every answer within Shopify's 5 s; SIGTERM exits 0; no personal
   value of any payload, no secret and no token in the bridge's log.

SPDX-License-Identifier: MIT
"""

import base64
import copy
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (REPO, Daemon, Service, TestFailure,  # noqa: E402
                       audit_records, check, check_eq, free_port, main,
                       query, run, say, vigilctl, wait_checkpoint)

SHOP = "vigil-test.myshopify.com"
DPO = "vigil-shopify"  # the bridge's certificate of role dpo
LABELER = "vigil-shopify-labels"  # its certificate of role analyst
SECRET = "shpss_1f2e3d4c5b6a79880123456789abcdef"
OLD_SECRET = "shpss_old_00112233445566778899aabbccdd"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"
API_VERSION = "2026-10"
MAX_BODY = 65536
SHOPIFY_TIMEOUT_S = 5.0
LEVELS = {"allow": "LOW", "review": "MEDIUM", "block": "HIGH"}

# ------------------------------------------------- Shopify's examples

# orders/create as documented (shopify.dev/docs/api/webhooks?reference=
# orders/create), with the browser fields an online-store order carries.
ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "app_id": None, "browser_ip": "216.191.105.146",
    "buyer_accepts_marketing": True, "cancel_reason": None,
    "cancelled_at": None, "cart_token": "68778783ad298f1c80c3bafcddeea02f",
    "checkout_id": 901414060,
    "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c",
    "client_details": {
        "accept_language": "en-US,en;q=0.9", "browser_height": 1080,
        "browser_ip": "216.191.105.146", "browser_width": 1920,
        "session_hash": None,
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
                      "AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.0.0 Safari/537.36"},
    "closed_at": None, "confirmation_number": "PQ1AV3YRH", "confirmed": True,
    "contact_email": "jon@example.com",
    "created_at": "2021-12-31T19:00:00-05:00", "currency": "USD",
    "current_subtotal_price": "398.00", "current_total_price": "403.00",
    "customer_locale": "en", "email": "jon@example.com",
    "financial_status": "paid", "name": "#9999", "order_number": 1234,
    "payment_gateway_names": ["visa", "bogus"], "phone": None,
    "presentment_currency": "USD",
    "processed_at": "2021-12-31T19:00:00-05:00",
    "subtotal_price": "388.00", "tags": "tag1, tag2", "test": True,
    "token": "123456abcd", "total_price": "403.00", "total_tax": "0.00",
    "updated_at": "2021-12-31T19:00:00-05:00",
    "billing_address": {
        "first_name": "Steve", "address1": "123 Shipping Street",
        "phone": "555-555-SHIP", "city": "Shippington", "zip": "40003",
        "province": "Kentucky", "country": "United States",
        "last_name": "Shipper", "address2": None,
        "company": "Shipping Company", "latitude": None, "longitude": None,
        "name": "Steve Shipper", "country_code": "US",
        "province_code": "KY"},
    "customer": {
        "id": 603851970716743426, "email": "john@example.com",
        "created_at": None, "updated_at": None, "first_name": "John",
        "last_name": "Smith", "state": "disabled", "note": None,
        "verified_email": True, "multipass_identifier": None,
        "tax_exempt": False, "phone": None, "currency": "USD",
        "admin_graphql_api_id": "gid://shopify/Customer/603851970716743426"},
    "line_items": [
        {"id": 866550311766439020, "quantity": 1, "price": "199.00",
         "title": "IPod Nano - 8GB", "sku": "IPOD2008PINK"},
        {"id": 141249953214522974, "quantity": 1, "price": "199.00",
         "title": "IPod Nano - 8GB", "sku": "IPOD2008PINK"}],
    "payment_details": {
        "credit_card_bin": "424242", "avs_result_code": "Y",
        "cvv_result_code": "M", "credit_card_number": "•••• •••• •••• 4242",
        "credit_card_company": "Visa"},
    "shipping_address": {
        "first_name": "Steve", "address1": "123 Shipping Street",
        "phone": "555-555-SHIP", "city": "Shippington", "zip": "40003",
        "province": "Kentucky", "country": "United States",
        "last_name": "Shipper", "address2": None,
        "company": "Shipping Company", "name": "Steve Shipper",
        "country_code": "US", "province_code": "KY"},
}

# customers/create as documented.
CUSTOMER = {
    "id": 706405506930370084, "email": "bob@biller.com",
    "created_at": "2021-12-31T19:00:00-05:00",
    "updated_at": "2021-12-31T19:00:00-05:00", "first_name": "Bob",
    "last_name": "Biller", "orders_count": 0, "state": "disabled",
    "total_spent": "0.00", "last_order_id": None,
    "note": "This customer loves ice cream", "verified_email": True,
    "multipass_identifier": None, "tax_exempt": False, "tags": "",
    "last_order_name": None, "currency": "USD", "phone": None,
    "addresses": [], "tax_exemptions": [], "email_marketing_consent": None,
    "sms_marketing_consent": None,
    "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
}

# disputes/create as documented.
DISPUTE = {
    "id": 285332461850802063, "order_id": 820982911946154508,
    "type": "chargeback", "amount": "11.50", "currency": "CAD",
    "reason": "fraudulent", "network_reason_code": "4837",
    "status": "under_review",
    "evidence_due_by": "2021-12-30T19:00:00-05:00",
    "evidence_sent_on": None, "finalized_on": None,
    "initiated_at": "2021-12-31T19:00:00-05:00",
}

# refunds/create as documented (line items shortened).
REFUND = {
    "id": 890088186047892319, "order_id": 820982911946154508,
    "created_at": "2021-12-31T19:00:00-05:00", "note": "Things were damaged",
    "user_id": 548380009, "processed_at": "2021-12-31T19:00:00-05:00",
    "restock": False, "duties": [], "return": None,
    "admin_graphql_api_id": "gid://shopify/Refund/890088186047892319",
    "refund_line_items": [], "order_adjustments": [],
    "transactions": [{"id": 245135271310201109,
                      "order_id": 820982911946154508, "kind": "refund",
                      "gateway": "bogus", "status": "success",
                      "amount": "0.00", "currency": "USD"}],
}

# The mandatory privacy topics, as documented.
PRIVACY = {
    "customers/data_request": {
        "shop_id": 954889, "shop_domain": SHOP,
        "orders_requested": [299938, 280263, 220458],
        "customer": {"id": 191167, "email": "john@example.com",
                     "phone": "555-625-1199"},
        "data_request": {"id": 9999}},
    "customers/redact": {
        "shop_id": 954889, "shop_domain": SHOP,
        "customer": {"id": 191167, "email": "john@example.com",
                     "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263, 220458]},
    "shop/redact": {"shop_id": 954889, "shop_domain": SHOP},
}

# Every raw value the payloads above carry that must never be logged.
PERSONAL = ["jon@example.com", "john@example.com", "bob@biller.com",
            "216.191.105.146", "Steve Shipper", "Shipping Street",
            "Shippington", "Biller", "555-625-1199", "820982911946154508",
            "603851970716743426", "706405506930370084", SECRET, OLD_SECRET,
            TOKEN]


def order(order_id, customer_id, email, ip, **kw):
    """The documented order with another order, customer, email and IP."""
    o = copy.deepcopy(ORDER)
    o["id"] = order_id
    o["admin_graphql_api_id"] = "gid://shopify/Order/%d" % order_id
    o["customer"]["id"] = customer_id
    o["email"] = o["contact_email"] = email
    o["browser_ip"] = o["client_details"]["browser_ip"] = ip
    PERSONAL.extend([email, ip, str(order_id), str(customer_id)])
    o.update(kw)
    return o


def sign(body, secret=SECRET):
    return base64.b64encode(
        hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# ---------------------------------------------------- Admin API stand-in

class AdminApi:
    """An HTTP server on 127.0.0.1 recording every request; the first
    `fail_first` are answered 503 (to exercise the bridge's retries)."""

    def __init__(self, fail_first=0):
        api = self
        self.lock = threading.Lock()
        self.requests = []
        self.fail_first = fail_first

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                with api.lock:
                    api.requests.append({"path": self.path,
                                         "headers": dict(self.headers),
                                         "body": raw})
                    fail = api.fail_first > 0
                    if fail:
                        api.fail_first -= 1
                if fail:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                level = json.loads(raw)["variables"]["input"]["riskLevel"]
                out = json.dumps({"data": {"orderRiskAssessmentCreate": {
                    "orderRiskAssessment": {"riskLevel": level},
                    "userErrors": []}}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def wait(self, n, timeout=15.0):
        """Wait (bounded) until at least n requests came; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.05)
        raise TestFailure("the Admin API stand-in got %d request(s) within "
                          "%.0f s, want %d" % (self.count(), timeout, n))

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------- the bridge

class Bridge:
    """vigil-shopify as a child process, with its files in svc.dir."""

    def __init__(self, args, svc, api, labels=True):
        self.bindir = args.bin
        self.port = free_port()
        self.secrets = os.path.join(svc.dir, "shopify.secrets")
        self.tokens = os.path.join(svc.dir, "shopify.tokens")
        self.seen = os.path.join(svc.dir, "shopify.seen")
        self.reports = os.path.join(svc.dir, "reports")
        for path, text in ((self.secrets, "# test shop, rotating\n%s %s %s\n"
                            % (SHOP, SECRET, OLD_SECRET)),
                           (self.tokens, "%s %s\n" % (SHOP, TOKEN))):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
        argv = [os.path.join(self.bindir, "vigil-shopify"), "-d", "-v",
                "-o", "shopify_listen=127.0.0.1:%d" % self.port,
                "-o", "collector_endpoint=" + svc.events_endpoint,
                "-o", "keys_dir=" + svc.keys_dir,
                "-o", "query_endpoint=" + svc.query_endpoint,
                "-o", "dpo_cert=" + svc.cert_path(DPO),
                "-o", "reports_dir=" + self.reports,
                "-o", "secrets_file=" + self.secrets,
                "-o", "admin_tokens_file=" + self.tokens,
                "-o", "admin_api_base=http://127.0.0.1:%d/{shop}" % api.port,
                "-o", "dedup_file=" + self.seen,
                "-o", "max_body=%d" % MAX_BODY]
        if labels:
            argv += ["-o", "label_cert=" + svc.cert_path(LABELER)]
        self.d = Daemon("shopify", argv, svc.dir)
        self.slowest = 0.0

    def start(self):
        self.d.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not self.d.alive():
                raise TestFailure("vigil-shopify exited at start-up:\n"
                                  + self.d.tail())
            try:
                if self.request("GET", "/webhooks", b"", {})[0] == 405:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TestFailure("vigil-shopify not answering:\n" + self.d.tail())

    def stop(self):
        return self.d.stop()

    def request(self, method, path, body, headers, chunked=False):
        """One HTTP request on a fresh connection: (status, text, s)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=SHOPIFY_TIMEOUT_S + 1)
        t0 = time.monotonic()
        try:
            if chunked:
                c.putrequest(method, path)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.putheader("Transfer-Encoding", "chunked")
                c.endheaders()
                try:
                    for i in range(0, len(body), 8192):
                        part = body[i:i + 8192]
                        c.send(b"%x\r\n%s\r\n" % (len(part), part))
                    c.send(b"0\r\n\r\n")
                except OSError:
                    pass  # the bridge may stop reading at its cap
            else:
                c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            text = r.read().decode("utf-8", "replace")
            status = r.status
        finally:
            c.close()
        dt = time.monotonic() - t0
        self.slowest = max(self.slowest, dt)
        return status, text, dt

    def deliver(self, topic, payload, wid=None, secret=SECRET, body=None,
                headers=None, drop=(), chunked=False):
        """POST one delivery as Shopify would; return (status, text, wid)."""
        wid = wid or str(uuid.uuid4())
        if body is None:
            body = json.dumps(payload).encode()
        h = {"Content-Type": "application/json",
             "X-Shopify-Hmac-Sha256": sign(body, secret),
             "X-Shopify-Topic": topic,
             "X-Shopify-Shop-Domain": SHOP,
             "X-Shopify-Webhook-Id": wid,
             "X-Shopify-Event-Id": str(uuid.uuid4()),
             "X-Shopify-Triggered-At": "2023-03-29T18:00:27.877041743Z",
             "X-Shopify-API-Version": API_VERSION}
        h.update(headers or {})
        for k in drop:
            h.pop(k, None)
        status, text, _ = self.request("POST", "/webhooks", body, h,
                                       chunked=chunked)
        return status, text, wid


# ----------------------------------------------------------------- checks

def stored(args, svc, ids):
    """{event id: number of event.store records} once a checkpoint
    covers the whole log, counting only records under the shop's own
    identity: actor SHOP, and the ref pseudonym scoped by SHOP (as the
    collector records a CURVE client's events). A record of one of
    these ids under any other identity fails the check."""
    wait_checkpoint(args.bin, svc.data_dir)
    mine = {svc.event_ref(i, SHOP): i for i in ids}
    other = {svc.event_ref(i): i for i in ids}  # scope "storefront"
    by_id = {i: 0 for i in ids}
    for rec in audit_records(args.bin, svc.data_dir):
        if rec["op"] != "event.store":
            continue
        ref = rec["ref"].split(" ")[0]  # an order's: + " model <v>"
        if ref in other or (ref in mine and rec["actor"] != SHOP):
            raise TestFailure("an event recorded under another identity "
                              "than the shop's: %r" % (rec,))
        if ref in mine:
            by_id[mine[ref]] += 1
    return by_id


def total_stored(args, svc):
    wait_checkpoint(args.bin, svc.data_dir)
    return sum(1 for r in audit_records(args.bin, svc.data_dir)
               if r["op"] == "event.store")


def check_assessment(req, order_id, what):
    """The documented orderRiskAssessmentCreate request; returns (level,
    score, decision) as the facts state them."""
    check_eq(req["path"], "/%s/admin/api/%s/graphql.json" % (SHOP,
                                                             API_VERSION),
             what + ": POST <base>/admin/api/<version>/graphql.json")
    hdr = {k.lower(): v for k, v in req["headers"].items()}
    check_eq(hdr.get("x-shopify-access-token"), TOKEN,
             what + ": X-Shopify-Access-Token is the shop's token")
    check(hdr.get("content-type", "").startswith("application/json"),
          what + ": Content-Type application/json", hdr)
    doc = json.loads(req["body"])
    check_eq(sorted(doc), ["query", "variables"], what + ": query, variables")
    q = " ".join(doc["query"].split())
    check("mutation OrderRiskAssessmentCreate($input: "
          "OrderRiskAssessmentCreateInput!)" in q and
          "orderRiskAssessmentCreate(orderRiskAssessmentInput: $input)" in q
          and "userErrors" in q,
          what + ": the documented mutation and argument", q)
    inp = doc["variables"]["input"]
    check_eq(sorted(inp), ["facts", "orderId", "riskLevel"],
             what + ": input holds orderId, riskLevel, facts")
    check_eq(inp["orderId"], "gid://shopify/Order/%d" % order_id,
             what + ": orderId is the order's GID")
    check(inp["riskLevel"] in ("LOW", "MEDIUM", "HIGH"),
          what + ": riskLevel %r is a RiskAssessmentResult" % inp["riskLevel"])
    facts = inp["facts"]
    check(isinstance(facts, list) and 1 <= len(facts) <= 20,
          what + ": 1..20 facts", facts)
    for f in facts:
        check(sorted(f) == ["description", "sentiment"]
              and isinstance(f["description"], str) and f["description"]
              and f["sentiment"] in ("NEGATIVE", "NEUTRAL", "POSITIVE"),
              what + ": fact %r has the documented shape" % (f,))
    m = re.match(r"^Vigil fraud score (\d+)/100: (allow|review|block)$",
                 facts[0]["description"])
    check(m is not None, what + ": the first fact states the score",
          facts[0])
    score, decision = int(m.group(1)), m.group(2)
    check_eq(inp["riskLevel"], LEVELS[decision],
             what + ": riskLevel follows the decision")
    return inp["riskLevel"], score, decision


def body(args):
    api = AdminApi(fail_first=1)
    svc = Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"],
                  keep=args.keep)
    # The shop's own CURVE identity, and the bridge's DPO identity for
    # the privacy webhooks, as the README's set-up makes them.
    svc.add_client(SHOP, "storefront")
    svc.add_client(DPO, "dpo")
    svc.add_client(LABELER, "analyst")
    with svc:
        br = Bridge(args, svc, api)
        try:
            br.start()
            scenario(args, svc, br, api)
        except BaseException:
            svc.failed = True
            say("  --- vigil-shopify stderr (tail) ---\n" + br.d.tail(30))
            raise
        finally:
            rc = br.stop()
            api.close()
        check_eq(rc, 0, "vigil-shopify exits 0 on SIGTERM")
        log = br.d.stderr_text()
        leaks = sorted({p for p in PERSONAL if p in log})
        check(not leaks, "the bridge's log holds no personal value, secret "
              "or token", leaks)
        check(br.slowest < SHOPIFY_TIMEOUT_S,
              "every answer came within Shopify's 5 s (slowest %.2f s)"
              % br.slowest)
        no_certificate(args, svc, br)
        wrong_certificates(svc, br)
    over_quota(args)


def over_quota(args):
    """The shop over its event quota at the collector (code busy): 503
    at once, so Shopify retries; nothing stored twice once it passes."""
    say("-- the shop over its quota: 503, then the retry passes")
    api = AdminApi()
    svc = Service(args.bin, collector_opts=[
        "quota_clients=%s:1:2:200:400" % SHOP], keep=args.keep)
    svc.add_client(SHOP, "storefront")
    svc.add_client(DPO, "dpo")
    with svc:
        br = Bridge(args, svc, api, labels=False)
        try:
            br.start()
            o = order(820982911946154700, 603851970716743500,
                      "quota@example.org", "198.51.100.99")
            st, _, _ = br.deliver("orders/create", o)
            check_eq(st, 200, "the first order (2 events, the burst): 200")
            body = json.dumps(dict(o, id=820982911946154701)).encode()
            t0 = time.monotonic()
            st, _, wid = br.deliver("orders/create", None, body=body)
            dt = time.monotonic() - t0
            check(st == 503 and dt < 1.0, "the next at once, over the "
                  "quota (busy): 503 within 1 s (%.2f s)" % dt, st)
            st = retry_until_200(br, "orders/create", body, wid)
            check_eq(st, 200, "retried as Shopify does: 200 once the quota "
                     "refilled")
            counts = stored(args, svc, [wid + ":1", wid + ":2"])
            check(all(v == 1 for v in counts.values()),
                  "and applied once", counts)
            say("-- without label_cert: labels withheld, and counted")
            st, text, _ = br.deliver("orders/cancelled", dict(
                o, cancel_reason="fraud",
                cancelled_at="2022-01-02T10:00:00-05:00"))
            check(st == 200 and "nothing for Vigil" in text,
                  "a fraud cancellation without label_cert: 200, not sent",
                  (st, text))
            wait_checkpoint(args.bin, svc.data_dir)
            check(not [r for r in audit_records(args.bin, svc.data_dir)
                       if r["op"] == "label"],
                  "no label reached the scorer")
        except BaseException:
            svc.failed = True
            say("  --- vigil-shopify stderr (tail) ---\n" + br.d.tail(30))
            raise
        finally:
            br.stop()
            api.close()
        log = br.d.stderr_text()
        check("labels withheld (no label_cert)" in log,
              "the bridge said at start that labels are withheld")
        check("labels_withheld=1 " in log,
              "and counted the withheld label (labels_withheld=1)",
              [ln for ln in log.splitlines() if "stats" in ln][-1:])


def labels_audited(args, svc, deliveries):
    """Each (webhook id, purpose) delivery left one allowed `label` audit
    record by the bridge's analyst identity, with the webhook id as its
    case reference (a keyed hash) and the request id derived from it."""
    wait_checkpoint(args.bin, svc.data_dir)
    recs = [r for r in audit_records(args.bin, svc.data_dir)
            if r["op"] == "label"]
    for wid, purpose in deliveries:
        case_h = svc.scoped("case", "shopify-webhook-" + wid, SHOP)
        req_h = svc.scoped("request", "shopify-label-" + wid, LABELER)
        mine = [r for r in recs if case_h in r["ref"]]
        check(len(mine) == 1 and (mine[0]["actor"], mine[0]["role"],
                                  mine[0]["purpose"], mine[0]["outcome"])
              == (LABELER, "analyst", purpose, "allowed")
              and mine[0]["ref"].startswith(req_h)
              and len(mine[0]["subj"]) >= 1,
              "audited: one label record by %s (analyst, %s) naming the "
              "order, case = the webhook id" % (LABELER, purpose), mine)


def no_certificate(args, svc, br):
    """A shop of the secrets file without its own certificate keeps the
    bridge from starting: never a shared or plain identity instead."""
    say("-- a shop without a certificate: the bridge does not start")
    other = "no-cert.myshopify.com"
    path = os.path.join(svc.dir, "two-shops.secrets")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("%s %s\n%s %s\n" % (SHOP, SECRET, other, SECRET))
    argv = list(br.d.argv)
    argv[argv.index("secrets_file=" + br.secrets)] = "secrets_file=" + path
    rc, _, err = run(argv, timeout=10)
    check(rc != 0 and other in err and "vigilctl client add" in err,
          "exit status %d, naming the shop and `vigilctl client add`" % rc,
          err[-400:])


def wrong_certificates(svc, br):
    """dpo_cert and label_cert must be readable certificates of the role
    their worker speaks as: otherwise the bridge does not start, and says
    which key, which role, and how to make the right one."""
    say("-- a worker certificate of the wrong role, or none: no start")
    missing = os.path.join(svc.dir, "no-such.cert")
    for key, cert, want in (
            ("dpo_cert", svc.cert_path(LABELER),
             ["dpo_cert '%s' has the role 'analyst', not dpo"
              % svc.cert_path(LABELER)]),
            ("label_cert", svc.cert_path(DPO),
             ["label_cert '%s' has the role 'dpo', not analyst"
              % svc.cert_path(DPO)]),
            ("label_cert", missing,
             ["label_cert: ", "(make one with `vigilctl client add "
              "vigil-shopify-labels --role analyst`)"]),
            ("dpo_cert", missing,
             ["dpo_cert: ", "(make one with `vigilctl client add "
              "vigil-shopify --role dpo`)"])):
        argv = list(br.d.argv)
        at = [i for i, a in enumerate(argv) if a.startswith(key + "=")]
        if at:
            argv[at[0]] = "%s=%s" % (key, cert)
        else:
            argv += ["-o", "%s=%s" % (key, cert)]
        rc, _, err = run(argv, timeout=20)
        check(rc != 0 and all(w in err for w in want),
              "%s=%s: exit status %d, stderr says %r"
              % (key, os.path.basename(cert), rc, want), err[-400:])


def scenario(args, svc, br, api):
    say("-- refused before the body is read")
    b = json.dumps(CUSTOMER).encode()
    good = {"Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": sign(b),
            "X-Shopify-Topic": "customers/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": str(uuid.uuid4())}
    check_eq(br.request("GET", "/webhooks", b"", {})[0], 405, "GET: 405")
    check_eq(br.request("POST", "/other", b, good)[0], 404, "other path: 404")
    for name, hdrs in (("no Content-Type", {"Content-Type": None}),
                       ("text/plain", {"Content-Type": "text/plain"}),
                       ("gzip", {"Content-Encoding": "gzip"})):
        h = dict(good, **{k: v for k, v in hdrs.items() if v})
        if hdrs.get("Content-Type", "x") is None:
            del h["Content-Type"]
        check_eq(br.request("POST", "/webhooks", b, h)[0], 415,
                 name + ": 415")
    st, _, _ = br.deliver("customers/create", None,
                          body=b" " * (MAX_BODY + 1))
    check_eq(st, 413, "a declared length over max_body: 413")
    st, _, _ = br.deliver("customers/create", None,
                          body=b" " * (MAX_BODY * 3), chunked=True)
    check_eq(st, 413, "a chunked body over max_body: 413 (capped while "
             "receiving)")
    st, _, _ = br.deliver("customers/create", CUSTOMER,
                          drop=("X-Shopify-Hmac-Sha256",))
    check_eq(st, 401, "no signature: 401")
    st, _, _ = br.deliver("customers/create", CUSTOMER,
                          headers={"X-Shopify-Shop-Domain":
                                   "other.myshopify.com"})
    check_eq(st, 401, "a shop without a secret here: 401")
    st, _, _ = br.deliver("customers/create", CUSTOMER,
                          drop=("X-Shopify-Webhook-Id",))
    check_eq(st, 400, "no X-Shopify-Webhook-Id: 400")

    say("-- customers/create and orders/create, signed like Shopify")
    records0 = total_stored(args, svc)
    st, text, w_cust = br.deliver("customers/create", CUSTOMER)
    check_eq(st, 200, "customers/create (documented example): 200")
    oid, cid = 820982911946154508, 603851970716743426
    o1 = order(oid, cid, "jon@example.com", "216.191.105.146")
    st, text, w_ord = br.deliver("orders/create", o1)
    check_eq(st, 200, "orders/create (documented example): 200 once "
             "acknowledged")
    counts = stored(args, svc, [w_cust + ":1", w_ord + ":1", w_ord + ":2"])
    check(all(v == 1 for v in counts.values()),
          "one event.store record per event (signup, device.seen, "
          "order.placed)", counts)

    say("-- the risk assessment reaches the Admin API, after one 503")
    reqs = api.wait(2)
    check_eq(len(reqs), 2, "the first POST got 503 and was retried once")
    check_eq(reqs[0]["body"], reqs[1]["body"], "the retry is the same request")
    level, score, decision = check_assessment(reqs[1], oid, "assessment")
    rep = query(svc, "score.get", "q-shopify-1", order=str(oid),
                storefront=SHOP)
    check(rep.get("ok") is True, "score.get finds the order by its "
          "Shopify id", rep)
    check_eq((score, decision), (rep["result"]["score"],
                                 rep["result"]["decision"]),
             "the posted score and decision are the scorer's")
    say("  note order %d scored %d (%s -> %s)" % (oid, score, decision, level))

    say("-- a repeated webhook id is applied once")
    st, text, _ = br.deliver("orders/create", o1, wid=w_ord)
    check(st == 200 and "already applied" in text,
          "the repeat gets 200 from the bridge's dedup file", (st, text))
    time.sleep(1.5)
    check_eq(api.count(), 2, "no second risk assessment for the repeat")

    say("-- bad signatures: 401 and nothing stored")
    before = total_stored(args, svc)
    o2 = order(820982911946154599, cid, "mallory@example.net",
               "203.0.113.66")
    st, _, w_bad1 = br.deliver("orders/create", o2,
                               secret="shpss_not_the_secret")
    check_eq(st, 401, "signed with another secret: 401")
    raw = json.dumps(o2).encode()
    st, _, w_bad2 = br.deliver(
        "orders/create", None, body=raw.replace(b"403.00", b"003.00"),
        headers={"X-Shopify-Hmac-Sha256": sign(raw)})
    check_eq(st, 401, "body altered after signing: 401")
    counts = stored(args, svc, [w_bad1 + ":1", w_bad1 + ":2",
                                w_bad2 + ":1", w_bad2 + ":2"])
    check(not any(counts.values()), "no event of a forged delivery is "
          "stored", counts)
    check_eq(total_stored(args, svc), before, "the audit log did not grow")
    st, _, w_old = br.deliver("orders/create", o2, secret=OLD_SECRET)
    check_eq(st, 200, "the previous secret (rotation window): 200")

    say("-- the other topics")
    st, _, w_paid = br.deliver("orders/paid", o1)
    check_eq(st, 200, "orders/paid: 200")
    canc = dict(o2, cancel_reason="fraud",
                cancelled_at="2022-01-02T10:00:00-05:00")
    acct0 = query(svc, "account.get", "q-shopify-acct0", account=str(cid),
                  storefront=SHOP)
    check(acct0.get("ok") is True and acct0["result"]["fraud"] is False,
          "before the labels: the customer's account is not fraud", acct0)
    st, text, w_canc = br.deliver("orders/cancelled", canc)
    check(st == 200 and "labelled" in text,
          "orders/cancelled (fraud): 200 once the scorer took the label "
          "from the bridge's analyst identity", (st, text))
    st, text, w_disp = br.deliver("disputes/create", DISPUTE)
    check(st == 200 and "labelled" in text,
          "disputes/create (documented example, a fraudulent chargeback): "
          "200 once labelled", (st, text))
    st, text, _ = br.deliver("disputes/create", DISPUTE, wid=w_disp)
    check(st == 200 and "already applied" in text,
          "the repeated dispute: answered from the dedup file", (st, text))
    labels_audited(args, svc, [(w_canc, "fraud-prevention"),
                               (w_disp, "chargeback-review")])
    acct1 = query(svc, "account.get", "q-shopify-acct1", account=str(cid),
                  storefront=SHOP)
    check(acct1.get("ok") is True and acct1["result"]["fraud"] is True,
          "after: the cancelled order's account is labelled fraud in "
          "history", acct1)
    st, text, w_unk = br.deliver("disputes/create",
                                 dict(DISPUTE, id=285332461850802999,
                                      order_id=820982911946159999))
    check(st == 200 and "unknown to Vigil" in text,
          "a chargeback of an order Vigil never saw: 200, nothing "
          "labelled (no retry storm)", (st, text))
    st, _, w_upd = br.deliver("customers/update", CUSTOMER)
    check_eq(st, 200, "customers/update: 200")
    st, text, w_ref = br.deliver("refunds/create", REFUND)
    check(st == 200 and "nothing for Vigil" in text,
          "refunds/create (documented example): 200, nothing for Vigil",
          (st, text))
    counts = stored(args, svc, [w_paid + ":1", w_canc + ":1", w_disp + ":1",
                                w_upd + ":1", w_upd + ":2", w_ref + ":1"])
    check_eq(counts, {w_paid + ":1": 1, w_canc + ":1": 0, w_disp + ":1": 0,
                      w_upd + ":1": 1, w_upd + ":2": 1, w_ref + ":1": 0},
             "payment.result and two account.update stored; the labels "
             "and the refund nothing")

    say("-- malformed bodies")
    st, _, _ = br.deliver("orders/create", None, body=b'{"id": 1,')
    check_eq(st, 400, "a body that is not JSON: 400")
    st, _, _ = br.deliver("orders/create", dict(o1, total_price=403))
    check_eq(st, 400, "total_price as a number (strict types): 400")
    st, _, _ = br.deliver("orders/create", dict(o1, total_price="403.001"))
    check_eq(st, 422, "403.001 USD (not exact in cents): 422")

    say("-- Vigil down: 503 at once, the retry later succeeds")
    o3 = order(820982911946154600, 603851970716743499, "amy@example.org",
               "198.51.100.23")
    body3 = json.dumps(o3).encode()
    svc.collector.stop()
    t0 = time.monotonic()
    st, _, w3 = br.deliver("orders/create", None, body=body3)
    check(st == 503 and time.monotonic() - t0 < 1.0,
          "collector stopped: 503 within 1 s (%.2f s)"
          % (time.monotonic() - t0), st)
    svc.collector.start()
    svc.wait_ready()
    st = retry_until_200(br, "orders/create", body3, w3)
    check_eq(st, 200, "collector back: the retry gets 200")
    svc.scorer.stop()
    st, _, _ = br.deliver("orders/create", None, body=body3, wid=w3)
    check_eq(st, 200, "a repeat of it is answered from the dedup file even "
             "while the scorer is down")
    o4 = order(820982911946154601, 603851970716743499, "amy@example.org",
               "198.51.100.23")
    body4 = json.dumps(o4).encode()
    t0 = time.monotonic()
    st, _, w4 = br.deliver("orders/create", None, body=body4)
    check(st == 503, "scorer stopped: 503 (%.2f s)"
          % (time.monotonic() - t0), st)
    svc.scorer.start()
    svc.wait_ready()
    st = retry_until_200(br, "orders/create", body4, w4)
    check_eq(st, 200, "scorer back: the retry gets 200")
    counts = stored(args, svc, [w3 + ":2", w4 + ":1", w4 + ":2"])
    check(all(v == 1 for v in counts.values()),
          "each retried order applied once", counts)

    say("-- examples/shopify/replay.py records and replays deliveries")
    replay = os.path.join(REPO, "examples", "shopify", "replay.py")
    folder = os.path.join(svc.dir, "recorded")
    pay = os.path.join(svc.dir, "customer.json")
    with open(pay, "w") as f:
        json.dump(dict(CUSTOMER, id=706405506930370099,
                       email="zoe@example.org"), f)
    PERSONAL.extend(["zoe@example.org", "706405506930370099"])
    rc, out, err = run(["/usr/bin/python3", replay, "record", "--secrets",
                        br.secrets, "--shop", SHOP, "--topic",
                        "customers/create", pay, folder])
    check(rc == 0, "replay.py record signs a payload", err)
    url = "http://127.0.0.1:%d/webhooks" % br.port
    rc, out, err = run(["/usr/bin/python3", replay, "send", folder, "--url",
                        url])
    check(rc == 0 and " 200 " in out and "ok\n" in out + "\n",
          "replay.py send: the recorded delivery is applied", out + err)
    rc, out, err = run(["/usr/bin/python3", replay, "send", folder, "--url",
                        url])
    check(rc == 0 and "already applied" in out,
          "replayed again: answered from the dedup file", out + err)

    say("-- dedup across a restart, and Vigil's own dedup behind it")
    check_eq(br.stop(), 0, "vigil-shopify exits 0 on SIGTERM")
    br.start()
    n_api = api.count()
    st, text, _ = br.deliver("orders/create", o1, wid=w_ord)
    check(st == 200 and "already applied" in text,
          "after a restart the repeat is still answered from the file",
          (st, text))
    check_eq(br.stop(), 0, "vigil-shopify exits 0 on SIGTERM")
    os.unlink(br.seen)
    br.start()
    st, text, _ = br.deliver("orders/create", o1, wid=w_ord)
    check(st == 200 and "already" not in text,
          "without the file the repeat goes to Vigil: 200", (st, text))
    reqs = api.wait(n_api + 1)
    _, score2, decision2 = check_assessment(reqs[-1], oid, "re-posted")
    check_eq((score2, decision2), (score, decision),
             "Vigil answered the repeat with the first reply (same score)")
    counts = stored(args, svc, [w_ord + ":1", w_ord + ":2"])
    check(all(v == 1 for v in counts.values()),
          "and stored nothing again (same event ids)", counts)
    check(total_stored(args, svc) > records0, "the log grew only with "
          "accepted deliveries")
    privacy(args, svc, br, oid, cid)


def verifier_key(args, svc):
    rc, out, err = vigilctl(args.bin, "audit", "pubkey", "--keys-dir",
                            svc.keys_dir)
    check_eq(rc, 0, "audit pubkey exits 0")
    return out.strip()


def read_report(br, case):
    d = os.path.join(br.reports, SHOP, case)
    with open(os.path.join(d, "report.json")) as f:
        return d, json.load(f)


def privacy(args, svc, br, oid, cid):
    """The three mandatory privacy topics, for the customer of order
    `oid` (account `cid`), whose events were stored above."""
    say("-- privacy webhooks: a bad signature is 401 first")
    for topic, payload in PRIVACY.items():
        st, _, _ = br.deliver(topic, payload, secret="wrong")
        check_eq(st, 401, topic + " with a bad signature: 401")

    say("-- customers/data_request: the subject report, for the merchant")
    key = verifier_key(args, svc)
    req = copy.deepcopy(PRIVACY["customers/data_request"])
    req["customer"]["id"] = cid
    req["orders_requested"] = [oid]
    st, text, w_dr = br.deliver("customers/data_request", req)
    check(st == 200 and "report written" in text,
          "customers/data_request: 200 once the report is written",
          (st, text))
    case = "shopify-data-request-9999"
    d, rep = read_report(br, case)
    check_eq([x["kind"] for x in rep["subjects"]],
             ["account", "email", "phone", "order"],
             "report.json: the account, the email and phone given, and the "
             "requested order")
    acct = rep["subjects"][0]
    check(acct["subject"] is not None and len(acct["records"]) >= 3,
          "the account's audited accesses are in the report (its events "
          "at least)", acct)
    check(len(rep["files"]) >= 3 and all(
        re.match(r"^record-\d+\.json$", f) for f in rep["files"]),
        "one proof file per record", rep["files"])
    raw = json.dumps(rep)
    check(str(cid) not in raw and str(oid) not in raw,
          "report.json names the subjects by token, not by id")
    for name in sorted(set(rep["files"])):
        rc, out, err = vigilctl(args.bin, "audit", "check-proof",
                                os.path.join(d, name), "--key", key)
        if rc != 0:
            raise TestFailure("check-proof %s: exit %d: %s%s"
                              % (name, rc, out, err))
    check(True, "vigilctl audit check-proof accepts every file of the "
          "report (%d)" % len(set(rep["files"])))
    st, text, _ = br.deliver("customers/data_request", req, wid=w_dr)
    check(st == 200 and "already applied" in text,
          "the same delivery again: answered from the dedup file", (st, text))

    recs = audit_records(args.bin, svc.data_dir)
    reps = [r for r in recs if r["op"] == "subject.report"]
    check(len(reps) >= 2 and all(
        (r["actor"], r["role"], r["purpose"], r["outcome"]) ==
        (DPO, "dpo", "access-request", "allowed") for r in reps),
        "audited: subject.report by the bridge's DPO identity, purpose "
        "access-request, allowed", reps)
    case_h = svc.scoped("case", case, SHOP)
    check(all(case_h in r["ref"] for r in reps),
          "each with the Shopify request id as its case reference (keyed "
          "hash)", [r["ref"] for r in reps])

    say("-- customers/redact: the customer and the listed orders erased")
    red = copy.deepcopy(PRIVACY["customers/redact"])
    red["customer"]["id"] = cid
    red["orders_to_redact"] = [oid]
    st, text, w_red = br.deliver("customers/redact", red)
    check(st == 200 and "erased" in text, "customers/redact: 200 once "
          "erased", (st, text))
    recs = audit_records(args.bin, svc.data_dir)  # verifies the whole log
    ers = [r for r in recs if r["op"] == "subject.erase"]
    check(len(ers) == 4 and all(
        (r["actor"], r["role"], r["purpose"], r["outcome"]) ==
        (DPO, "dpo", "erasure-request", "allowed") for r in ers),
        "audited: four subject.erase (account, email, phone, order) by the "
        "DPO identity", ers)
    case_h = svc.scoped("case", "shopify-webhook-" + w_red, SHOP)
    check(all(case_h in r["ref"] for r in ers),
          "each with the Shopify webhook id as its case reference", ers)
    check(True, "the audit log still verifies (audit replay)")
    rep2 = query(svc, "score.get", "q-shopify-2", order=str(oid),
                 storefront=SHOP)
    check(rep2.get("code") == "not_found", "score.get: the order is gone",
          rep2)
    req2 = dict(req, data_request={"id": 10000})
    st, _, _ = br.deliver("customers/data_request", req2)
    check_eq(st, 200, "a later data request: 200")
    _, rep3 = read_report(br, "shopify-data-request-10000")
    check(all(x["subject"] is None and x["records"] == []
              for x in rep3["subjects"]),
          "and its report finds no subject and no record: nothing links "
          "to the customer any more", rep3["subjects"])
    st, text, _ = br.deliver("customers/redact", red)
    check(st == 200, "a second redact of the same customer: 200 (nothing "
          "left to erase)", (st, text))

    st, _, _ = br.deliver("customers/redact", dict(red, shop_domain="x.io"))
    check_eq(st, 422, "a privacy payload naming another shop: 422")
    st, _, _ = br.deliver("customers/data_request", {"customer": {}})
    check_eq(st, 400, "a data request without data_request.id: 400")

    say("-- shop/redact: the whole shop's data erased")
    # A fresh order of another customer, dated now (the documented
    # examples' 2021 dates fall outside the scorer's retention).
    other = 820982911946154800
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    st, _, _ = br.deliver("orders/create", order(
        other, 603851970716743800, "late@example.org", "198.51.100.80",
        created_at=now))
    check_eq(st, 200, "another customer's order today: 200")
    check(query(svc, "score.get", "q-shopify-3", order=str(other),
                storefront=SHOP).get("ok") is True,
          "before: that order of the shop is there")
    st, text, w_shop = br.deliver("shop/redact", PRIVACY["shop/redact"])
    check(st == 200 and "erased" in text, "shop/redact: 200 once erased",
          (st, text))
    recs = audit_records(args.bin, svc.data_dir)  # verifies the whole log
    case_h = svc.scoped("case", "shopify-webhook-" + w_shop, SHOP)
    ers = [r for r in recs if r["op"] == "subject.erase"
           and case_h in r["ref"]]
    check(len(ers) == 1 and (ers[0]["actor"], ers[0]["purpose"],
                             ers[0]["outcome"]) ==
          (DPO, "erasure-request", "allowed"),
          "audited: one subject.erase by the DPO identity with the webhook "
          "id as its case reference; the log verifies", ers)
    rep4 = query(svc, "score.get", "q-shopify-4", order=str(other),
                 storefront=SHOP)
    check(rep4.get("code") == "not_found", "after: the shop's orders are "
          "gone", rep4)
    st, _, _ = br.deliver("shop/redact", PRIVACY["shop/redact"])
    check_eq(st, 200, "a second shop/redact: 200 (nothing left)")


def retry_until_200(br, topic, body, wid, timeout=15.0):
    """Redeliver as Shopify retries (here every 0.5 s, bounded)."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st, _, _ = br.deliver(topic, None, body=body, wid=wid)
        if st == 200:
            return st
        time.sleep(0.5)
    return st


if __name__ == "__main__":
    main("the Shopify bridge: signed webhooks in, scored events and risk "
         "assessments out", body)
