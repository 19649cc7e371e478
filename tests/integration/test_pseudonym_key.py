#!/usr/bin/python3
"""integ.pseudonym_key - a swapped pseudonym key is detected (issue 9).

Issue 9's review replaced `pseudonym.key` in a copy and got "accesses:
0, every proof verified" from a subject report. The scorer now binds its
data to the key's id at first start (a `key.pseudonym` audit record and
the id in LMDB); this scenario shows the binding holds:
  - the first start records exactly one `key.pseudonym` record naming
    the key id;
  - with another (valid) pseudonym key in the keys directory the scorer
    refuses to start, exits non-zero and says which key ids differ,
    and the audit log is not touched (same record count, still
    verifies);
  - with the original key back the service starts, serves, and does not
    record the binding a second time.

SPDX-License-Identifier: MIT
"""

import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, say, vigilctl)


def key_records(recs):
    return [r for r in recs if r.get("op") == "key.pseudonym"]


def body(args):
    shopper = Persona(51, tag="pk")
    with Service(args.bin) as other:
        # A second, valid key of the same format, made by a real start.
        other_key = other.key()

    with Service(args.bin) as svc:
        key_path = os.path.join(svc.keys_dir, "pseudonym.key")
        svc.send_ok(shopper.signup("pk-s1"))
        svc.send_ok(shopper.order("pk-o1", order="PK-ORD"))
        svc.stop()

        recs = audit_records(args.bin, svc.data_dir)
        bound = key_records(recs)
        check_eq(len(bound), 1, "one key.pseudonym record at first start")
        check(bound[0].get("ref", "").startswith("key-id "),
              "the binding names the key id", bound[0])
        check(other_key != svc.key(), "the two services' keys differ")

        say("another valid pseudonym key in the keys directory")
        saved = key_path + ".orig"
        shutil.copyfile(key_path, saved)
        os.chmod(saved, 0o600)
        with open(key_path, "wb") as f:
            f.write(other_key)
        os.chmod(key_path, 0o600)
        svc.scorer.start()
        deadline = time.monotonic() + 20
        while svc.scorer.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        check(not svc.scorer.alive(), "the scorer refuses to run")
        rc = svc.scorer.proc.returncode
        check(rc not in (0, None), "and exits non-zero", rc)
        err = svc.scorer.stderr_text()
        check("not the key this data was made with" in err,
              "the refusal says the key is not this data's", err[-1500:])
        recs2 = audit_records(args.bin, svc.data_dir)
        check_eq(len(recs2), len(recs), "the audit log is not touched")
        rc, out, err = vigilctl(args.bin, "audit", "verify",
                                os.path.join(svc.data_dir, "audit"))
        check_eq(rc, 0, "the log still verifies: " + out + err)

        say("the original key back: the service starts and serves")
        shutil.copyfile(saved, key_path)
        os.chmod(key_path, 0o600)
        os.unlink(saved)
        svc.start()
        svc.send_ok(shopper.order("pk-o2", order="PK-ORD2"))
        svc.stop()
        recs3 = audit_records(args.bin, svc.data_dir)
        check_eq(len(key_records(recs3)), 1,
                 "the binding is recorded once, not at every start")


if __name__ == "__main__":
    main(__doc__, body)
