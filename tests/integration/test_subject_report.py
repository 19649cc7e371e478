#!/usr/bin/python3
"""integ.subject_report - `vigilctl subject report`: who accessed one
person's data, answered by the scorer as an audited operation, each
access with an inclusion proof.

Two shoppers, A and B, send events; the fraud team queries both (one
query about A is denied). The DPO then asks the scorer's query endpoint
(`vigilctl subject report ACCOUNT --purpose access-request --case ...`,
CURVE, role dpo). The report must list exactly A's accesses (A's
event.store records and the queries about A, denied included) and
nothing of B's; each proof is checked here again with independent RFC
9162 code against the signed checkpoint, and every proof file written
with --proofs is accepted by `vigilctl audit check-proof`. The report is
itself recorded (op subject.report, actor dpo, purpose, the case
reference as a keyed hash). An analyst, a storefront and the DPO with a
wrong purpose or no case reference are refused with the same answer
whether the person exists or not, and each refusal is recorded as
denied. vigilctl has no offline report any more: it opens no file of
the data directory (the old `audit subject report` is gone).

SPDX-License-Identifier: MIT
"""

import base64
import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, TestFailure, audit_records,  # noqa
                       check, check_eq, main, query, say, vigilctl,
                       wait_checkpoint)


# ------------------------------------------- RFC 9162 2.1.3.2, independent

def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2; True when the path leads to root."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def checkpoint_root(note):
    """(size, root bytes) of a C2SP checkpoint note's text."""
    lines = note.split("\n")
    return int(lines[1]), base64.b64decode(lines[2])


def verifier_key(bindir, svc):
    rc, out, err = vigilctl(bindir, "audit", "pubkey",
                            "--keys-dir", svc.keys_dir)
    check_eq(rc, 0, "audit pubkey exits 0")
    return out.strip()


def report(bindir, svc, key, ident, *opts, client="dpo", case="DSAR-1",
           purpose="access-request", want_rc=0):
    args = ["subject", "report", ident, "--json", "--key", key] + \
        svc.ctl_conn(client)
    if purpose is not None:
        args += ["--purpose", purpose]
    if case is not None:
        args += ["--case", case]
    rc, out, err = vigilctl(bindir, *(args + list(opts)))
    if rc != want_rc:
        raise TestFailure("subject report %s exited %d (want %d): %s"
                          % (opts, rc, want_rc, err.strip()))
    return json.loads(out) if out.strip() else None, err


def check_proofs(doc, what):
    for a in doc["accesses"]:
        pr = a["proof"]
        size, root = checkpoint_root(pr["checkpoint"])
        check_eq(pr["size"], size, what + ": proof size is the checkpoint's")
        leaf = bytes.fromhex(a["leaf_hash"])
        good = verify_inclusion(a["index"], size, leaf,
                                [bytes.fromhex(h) for h in pr["hashes"]],
                                root)
        check(good and pr["verified"] is True,
              what + ": record %d: signed proof verifies here too"
              % a["index"], pr)


def body(args):
    a = Persona(11, tag="sra")
    b = Persona(12, tag="srb")
    svc = Service(args.bin, scorer_opts=["checkpoint_interval_ms=50"])
    svc.add_client("dpo", "dpo")
    with svc:
        say("events for A and B")
        a_events = [a.signup("sra-s1"), a.order("sra-o1", order="SRA-ORD"),
                    a.login("sra-l1", ok=False)]
        b_events = [b.signup("srb-s1"), b.order("srb-o1", order="SRB-ORD")]
        for e in (a_events[0], b_events[0], a_events[1], b_events[1],
                  a_events[2]):
            svc.send_ok(e)

        say("queries")
        a_queries = ["qa-score", "qa-acct", "qa-denied"]
        b_queries = ["qb-score", "qb-acct"]
        check(query(svc, "score.get", "qa-score", order="SRA-ORD")["ok"],
              "score.get of A's order")
        check(query(svc, "account.get", "qa-acct", account=a.account)["ok"],
              "account.get of A")
        check_eq(query(svc, "account.get", "qa-denied", purpose="marketing",
                       account=a.account)["code"], "denied",
                 "a denied query about A")
        check(query(svc, "score.get", "qb-score", order="SRB-ORD")["ok"],
              "score.get of B's order")
        check(query(svc, "account.get", "qb-acct", account=b.account,
                    purpose="chargeback-review", case="CB-7")["ok"],
              "account.get of B")
        wait_checkpoint(args.bin, svc.data_dir)
        key = verifier_key(args.bin, svc)

        def erefs(evs):
            return [svc.event_ref(e["id"]) for e in evs]

        def qrefs(ids):
            return [svc.query_ref(q) for q in ids]

        say("report for account A, through the query endpoint")
        proofs = os.path.join(svc.dir, "proofs-a")
        doc, err = report(args.bin, svc, key, a.account, "--storefront",
                          "storefront", "--proofs", proofs)
        check(doc["ok"] and doc["proofs_ok"] is True,
              "the report verifies (vigilctl)", doc)
        # The report's own record names A too (it is an access): it is
        # the last one listed.
        own = doc["accesses"][-1]
        check_eq((own["op"], own["actor"]), ("subject.report", "dpo"),
                 "the report lists its own record last")
        refs = sorted(x["ref"].split()[0] for x in doc["accesses"][:-1])
        want = sorted(erefs(a_events) + qrefs(a_queries))
        check_eq(refs, want, "exactly A's accesses, B's absent")
        check_eq(doc["count"], len(want) + 1, "count")
        check_proofs(doc, "A")
        denied = [x for x in doc["accesses"]
                  if x["ref"] == svc.query_ref("qa-denied")]
        check_eq((denied[0]["op"], denied[0]["outcome"], denied[0]["purpose"]),
                 ("account.get", "denied", "marketing"),
                 "the denied access is listed as denied")
        check(all(doc["subject"] in x["subj"] for x in doc["accesses"]),
              "every listed record names A's token")
        tok = svc.token(svc.scoped("account", a.account))
        check_eq(doc["subject"], tok, "the subject is A's vault token")

        say("every proof file passes vigilctl audit check-proof")
        files = sorted(glob.glob(os.path.join(proofs, "record-*.json")))
        check_eq(len(files), len(want) + 1, "one proof file per access")
        for f in files:
            rc, out, err = vigilctl(args.bin, "audit", "check-proof", f,
                                    "--key", key)
            check(rc == 0 and "OK: record" in out,
                  "check-proof accepts %s" % os.path.basename(f), out + err)
        # A tampered proof file is refused.
        with open(files[0]) as fh:
            pf = json.load(fh)
        del pf["record"]
        leaf = bytearray.fromhex(pf["leaf_hash"])
        leaf[0] ^= 1
        pf["leaf_hash"] = leaf.hex()
        bad = os.path.join(svc.dir, "bad-proof.json")
        with open(bad, "w") as fh:
            json.dump(pf, fh)
        rc, _, _ = vigilctl(args.bin, "audit", "check-proof", bad,
                            "--key", key)
        check_eq(rc, 1, "check-proof refuses a tampered proof file")

        say("the report itself is an audited op: actor, purpose, case")
        recs = [r for r in audit_records(args.bin, svc.data_dir)
                if r["op"] == "subject.report"]
        check(len(recs) >= 1, "a subject.report record", recs)
        r = recs[-1]
        check_eq((r["actor"], r["role"], r["purpose"], r["outcome"]),
                 ("dpo", "dpo", "access-request", "allowed"),
                 "the report's record: actor, role, purpose, outcome")
        case_h = svc.scoped("case", "DSAR-1", "storefront")
        check(case_h in r["ref"], "the case reference as a keyed hash",
              r["ref"])
        check("DSAR-1" not in json.dumps(recs), "the case ref not verbatim")
        check_eq(r["subj"], [tok], "the record names A's token")

        say("report for account B and for A's email")
        docb, _ = report(args.bin, svc, key, b.account, "--storefront",
                         "storefront")
        check_eq(sorted(x["ref"].split()[0] for x in docb["accesses"][:-1]),
                 sorted(erefs(b_events) + qrefs(b_queries)),
                 "exactly B's accesses")
        check_proofs(docb, "B")
        doce, _ = report(args.bin, svc, key, a.email.upper(), "--kind",
                         "email")
        refs = [x["ref"].split()[0] for x in doce["accesses"]]
        check(svc.event_ref("sra-s1") in refs,
              "the signup's record is found by email", refs)
        check(not set(refs) & set(erefs(b_events) + qrefs(b_queries)),
              "none of B's", refs)
        check_proofs(doce, "A by email")

        say("human output names the token, never the identifier")
        rc, out, err = vigilctl(args.bin, "subject", "report", a.account,
                                "--storefront", "storefront", "--key", key,
                                "--purpose", "access-request", "--case",
                                "DSAR-1", *svc.ctl_conn("dpo"))
        check_eq(rc, 0, "human report exits 0")
        check(a.account not in out + err, "the identifier appears nowhere")
        check("every proof verified" in out, "says the proofs verified",
              out[-300:])

        say("refusals: same answer whether the person exists or not")
        unknown = "acct-nobody-00000"
        for client, purpose, case in (("analyst", "access-request", "C1"),
                                      ("storefront", "access-request", "C1"),
                                      ("dpo", "fraud-prevention", "C1"),
                                      ("dpo", "access-request", None)):
            answers = []
            for ident in (a.account, unknown):
                d, err = report(args.bin, svc, key, ident, "--storefront",
                                "storefront", client=client, case=case,
                                purpose=purpose, want_rc=1)
                answers.append((d["code"], d["msg"]))
            check_eq(answers[0], answers[1],
                     "%s/%s/%s: known and unknown answered alike"
                     % (client, purpose, case))
            check(answers[0][0] in ("denied", "invalid"),
                  "%s/%s refused" % (client, purpose), answers)
        recs = [r for r in audit_records(args.bin, svc.data_dir)
                if r["op"] == "subject.report" and r["outcome"] == "denied"]
        check(len(recs) >= 6, "the refused reports are recorded as denied",
              len(recs))
        d, _ = report(args.bin, svc, key, unknown, "--storefront",
                      "storefront")
        check_eq((d["count"], d["subject"]), (0, None),
                 "the DPO's report of an unknown account: nothing")

        say("no offline report any more: vigilctl does not read LMDB")
        rc, _, _ = vigilctl(args.bin, "audit", "subject", "report",
                            svc.data_dir, "--account", a.account)
        check_eq(rc, 2, "the offline 'audit subject report' is gone")
        rc, _, err = vigilctl(args.bin, "subject", "report", a.account,
                              "--purpose", "access-request", "--case", "x",
                              *svc.ctl_conn("dpo"))
        check_eq(rc, 2, "--key is required")


if __name__ == "__main__":
    main("subject report through the scorer: one person's accesses with "
         "proofs", body)
