#!/usr/bin/python3
"""integ.erasure - `vigilctl subject erase`: one person's history leaves
LMDB and what stays in the audit log and the journal is unlinkable to
them (crypto-shredding), through the real daemons with CURVE on.

Shoppers A and B (sharing nothing) send events; the fraud team queries
both. An analyst's erase request is refused and recorded as denied, and
erases nothing. The DPO erases A (`subject erase ACCOUNT --purpose
erasure-request --case ...`). Then:
  - the erasure is its own audit record (op subject.erase, actor dpo,
    purpose, the case reference's keyed hash, the counts), written
    before anything went;
  - every salt of A's subjects is gone from the vault (its slots are
    zeros), so the tokens in the audit log point to nobody; no file of
    the data directory holds A's pseudonyms or salts, the journal holds
    nothing of A, and LMDB's live pages hold none of A's tokens (byte
    scan of a compacting copy, `mdb_copy -c`);
  - `vigilctl audit verify` still passes;
  - a later subject report finds nothing, account.get answers
    not_found; B's history and report are untouched;
  - after a clean restart and after a kill -9 with B's later events
    in the journal (replayed at start), A stays erased;
  - a second erase of A answers erased=false.

SPDX-License-Identifier: MIT
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, query, say, vigilctl, wait_checkpoint)


def erase(bindir, svc, ident, client="dpo", purpose="erasure-request",
          case="ERA-1", *opts):
    args = ["subject", "erase", ident, "--json", "--storefront",
            "storefront", "--purpose", purpose] + svc.ctl_conn(client)
    if case is not None:
        args += ["--case", case]
    rc, out, err = vigilctl(bindir, *(args + list(opts)))
    return rc, json.loads(out) if out.strip() else None, err


def report(bindir, svc, key, ident):
    rc, out, err = vigilctl(bindir, "subject", "report", ident, "--json",
                            "--storefront", "storefront", "--key", key,
                            "--purpose", "access-request", "--case", "R-1",
                            *svc.ctl_conn("dpo"))
    check_eq(rc, 0, "subject report exits 0 (%s)" % err.strip())
    return json.loads(out)


def files_holding(root, needles):
    """{needle hex: [paths]} of the byte strings found under root."""
    hits = {}
    for d, _, files in os.walk(root):
        for fn in files:
            p = os.path.join(d, fn)
            try:
                with open(p, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for n in needles:
                if n in data:
                    hits.setdefault(n.hex(), []).append(
                        os.path.relpath(p, root))
    return hits


def live_lmdb(svc, tag):
    """A compacting copy of the scorer's LMDB (`mdb_copy -c`, lmdb-utils:
    only the pages live data uses, no free page): the directory holding
    it. LMDB never zeroes the pages it frees, so raw data.mdb may keep a
    deleted row's bytes until a page is reused (scorer.8,
    CRYPTO-SHREDDING: those tokens are the ones the audit log keeps, and
    their salts are gone); what LMDB holds is what a compacted copy
    holds."""
    out = os.path.join(svc.dir, "lmdb-" + tag)
    os.makedirs(out)
    rc = subprocess.run(["mdb_copy", "-c",
                         os.path.join(svc.data_dir, "history"), out],
                        capture_output=True, timeout=30).returncode
    check_eq(rc, 0, "mdb_copy -c of the scorer's LMDB")
    return out


def verify(bindir, svc, what):
    rc, out, err = vigilctl(bindir, "audit", "verify",
                            os.path.join(svc.data_dir, "audit"))
    check_eq(rc, 0, "audit verify passes " + what + " " + (out + err)[-200:])


def body(args):
    a = Persona(21, tag="era")
    b = Persona(22, tag="erb")
    svc = Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"])
    svc.add_client("dpo", "dpo")
    with svc:
        say("events and queries for A and B")
        a_events = [a.signup("era-s1"), a.order("era-o1", order="ERA-ORD"),
                    a.login("era-l1", ok=False),
                    a.payment("era-p1", "ERA-ORD", ok=False)]
        b_events = [b.signup("erb-s1"), b.order("erb-o1", order="ERB-ORD")]
        for e in a_events + b_events:
            svc.send_ok(e)
        check(query(svc, "account.get", "qa-1", account=a.account)["ok"],
              "account.get of A")
        check(query(svc, "score.get", "qa-2", order="ERA-ORD")["ok"],
              "score.get of A's order")
        wait_checkpoint(args.bin, svc.data_dir)
        rc, key, _ = vigilctl(args.bin, "audit", "pubkey",
                              "--keys-dir", svc.keys_dir)
        key = key.strip()

        # A's subjects: every token A's event records name (B shares
        # none), and their pseudonyms and salts from the vault.
        a_refs = {svc.event_ref(e["id"]) for e in a_events}
        recs = audit_records(args.bin, svc.data_dir)
        a_tokens = set()
        for r in recs:
            if r["ref"].split(" ")[0] in a_refs:
                a_tokens.update(r["subj"])
        vault = svc.vault()
        by_token = {v[2]: (p, v[1]) for p, v in vault.items()}
        check(len(a_tokens) >= 5 and all(t in by_token for t in a_tokens),
              "A's records name several subjects, each with a salt",
              len(a_tokens))
        a_pseudo = [bytes.fromhex(by_token[t][0]) for t in a_tokens]
        a_salts = [by_token[t][1] for t in a_tokens]
        a_tok = [bytes.fromhex(t) for t in a_tokens]
        acct_tok = svc.token(svc.scoped("account", a.account))
        check(acct_tok in a_tokens, "A's account token is among them")
        for i in range(50):  # the next group commit (200 ms) brings them
            hits = files_holding(live_lmdb(svc, "before%d" % i), a_tok)
            if len(hits) == len(a_tok):
                break
            time.sleep(0.1)
        check(len(hits) == len(a_tok), "before: LMDB's live pages hold "
              "each of A's tokens (the scan can find them)", hits)

        say("the DPO's export: what history holds about A")
        rc, out, err = vigilctl(args.bin, "subject", "export", a.account,
                                "--json", "--storefront", "storefront",
                                "--purpose", "access-request", "--case",
                                "EXP-1", *svc.ctl_conn("dpo"))
        check_eq(rc, 0, "subject export exits 0 (%s)" % err.strip())
        ex = json.loads(out)["result"]
        check(len(ex["subjects"]) >= 5 and len(ex["orders"]) == 1 and
              ex["orders"][0]["amount"] == 4999 and
              len(ex["accounts"]) == 1 and ex["accounts"][0]["known"],
              "the export lists A's subjects, order and account", ex)
        check(a.account not in out and a.email not in out,
              "no raw identifier in the export")
        rc, out, _ = vigilctl(args.bin, "subject", "export", a.account,
                              "--json", "--storefront", "storefront",
                              "--purpose", "access-request", "--case",
                              "EXP-2", *svc.ctl_conn("analyst"))
        check_eq((rc, json.loads(out)["code"]), (1, "denied"),
                 "an analyst's export is refused")

        say("an analyst may not erase: refused, recorded, nothing erased")
        rc, doc, err = erase(args.bin, svc, a.account, client="analyst")
        check_eq((rc, doc["code"]), (1, "denied"), "analyst refused")
        rc, doc2, _ = erase(args.bin, svc, "acct-nobody-1", client="analyst")
        check_eq((doc2["code"], doc2["msg"]), (doc["code"], doc["msg"]),
                 "the same answer for a person Vigil does not know")
        check(svc.token(svc.scoped("account", a.account)) == acct_tok,
              "A's salt is still there")
        rc, doc, _ = erase(args.bin, svc, a.account, case=None)
        check_eq(rc, 1, "the DPO without a case reference is refused")

        say("the DPO erases A")
        rc, doc, err = erase(args.bin, svc, a.account)
        check_eq(rc, 0, "subject erase exits 0 (%s)" % err.strip())
        res = doc["result"]
        check(res["erased"] is True and res["subjects"] >= len(a_tokens) and
              res["orders"] >= 1 and res["entities"] >= 3 and
              res["index"] >= 1, "erased, with counts", res)
        say("  counts: %s" % res)

        say("the erasure is recorded: op, actor, purpose, case hash, counts")
        recs = audit_records(args.bin, svc.data_dir)
        er = [r for r in recs if r["op"] == "subject.erase"]
        allowed = [r for r in er if r["outcome"] == "allowed"]
        check_eq(len(allowed), 1, "one allowed subject.erase record")
        r = allowed[0]
        check_eq((r["actor"], r["role"], r["purpose"]),
                 ("dpo", "dpo", "erasure-request"), "actor, role, purpose")
        check(svc.scoped("case", "ERA-1", "storefront") in r["ref"] and
              " s%d " % res["subjects"] in r["ref"],
              "the case's keyed hash and the counts in ref", r["ref"])
        check(acct_tok in r["subj"], "the record names A's (old) token")
        check_eq(len([x for x in er if x["outcome"] == "denied"]), 2,
                 "the analyst's erasures are recorded as denied")

        say("crypto-shredding: salts gone, nothing of A in the data dir")
        vault = svc.vault()
        check(not any(p.hex() in vault for p in a_pseudo),
              "no vault slot for any of A's subjects")
        hits = files_holding(svc.data_dir, a_pseudo + a_salts)
        check_eq(hits, {}, "A's pseudonyms and salts in no file")
        live = live_lmdb(svc, "after")
        hits = files_holding(live, a_tok)
        check_eq(hits, {}, "A's tokens nowhere in LMDB's live pages (byte "
                 "scan of a compacting copy)")
        hits = files_holding(os.path.join(svc.data_dir, "journal"),
                             a_tok + a_pseudo + a_salts)
        check_eq(hits, {}, "nothing of A in the journal")
        verify(args.bin, svc, "after the erasure")

        def a_gone(what):
            d = report(args.bin, svc, key, a.account)
            check_eq((d["subject"], d["count"]), (None, 0),
                     what + ": a report of A finds nothing")
            d = report(args.bin, svc, key, a.email)
            check_eq(d["count"], 0, what + ": nor by A's email")
            q = query(svc, "account.get", "qa-after", account=a.account)
            check_eq(q.get("code"), "not_found", what + ": account.get of A")
            q = query(svc, "score.get", "qa-after2", order="ERA-ORD")
            check_eq(q.get("code"), "not_found", what + ": A's order")
            q = query(svc, "account.get", "qb-after", account=b.account)
            check(q["ok"] and q["result"]["known"], what + ": B is kept")
        a_gone("live")
        d = report(args.bin, svc, key, b.account)
        check(d["count"] >= len(b_events), "B's report still lists B's "
              "accesses", d["count"])

        say("a clean restart: A stays erased")
        svc.restart_scorer()
        a_gone("after a restart")
        verify(args.bin, svc, "after a restart")

        say("kill -9 with B's later events in the journal: replay keeps "
            "A erased")
        for i in range(5):
            svc.send_ok(b.login("erb-l%d" % i))
        svc.restart_scorer(kill=True)
        check(svc.grep("records replayed", ("scorer",)), "the scorer logs "
              "its replay")
        a_gone("after a replay")
        hits = files_holding(svc.data_dir, a_pseudo + a_salts)
        check_eq(hits, {}, "after the replay: A's salts in no file")
        wait_checkpoint(args.bin, svc.data_dir)
        verify(args.bin, svc, "after a replay")

        say("erasing again: nothing held")
        rc, doc, _ = erase(args.bin, svc, a.account, case="ERA-2")
        check_eq((rc, doc["result"]["erased"]), (0, False),
                 "a second erasure finds nothing")


if __name__ == "__main__":
    main("erasure: history removed, salts destroyed, log still verifies",
         body)
