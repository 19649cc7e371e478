#!/usr/bin/python3
"""integ.pii_scan - no raw identifier anywhere at rest, in any common
encoding (issue 9, item 4: minimum data).

Distinctive values for every direct identifier the storefront protocol
carries (emails, phones, names, street addresses, card numbers, card
fingerprints, IPv4 and IPv6 addresses, account, session, device and
order ids, a referrer URL carrying an email and a phone in its path and
query, update values) go through the real daemons over CURVE: signups,
logins, updates, visits, orders (with a full card number for some
shoppers, a fingerprint for others), payments; then analyst queries
about them; then a clean stop and a restart (journal and LMDB both
written). Afterwards every byte of the data directory, the keys
directory (except the secrets a key file must hold), and both daemons'
stderr is scanned for each value in these encodings: as sent, lower
case, upper case, digits only (phones and card numbers), base64 and hex
of the bytes (lower and upper case), and the binary form of each IP
address. Nothing may be found.

SPDX-License-Identifier: MIT
"""

import base64
import ipaddress
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, check, event, main,  # noqa
                       query, say)


def encodings(value):
    """The byte strings a careless store might keep `value` as."""
    forms = {value, value.lower(), value.upper()}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 8 and digits != value:
        forms.add(digits)
    out = set()
    for f in forms:
        b = f.encode()
        out.add(b)
        out.add(base64.b64encode(b).rstrip(b"="))
        out.add(base64.urlsafe_b64encode(b).rstrip(b"="))
        out.add(b.hex().encode())
        out.add(b.hex().upper().encode())
    try:
        out.add(ipaddress.ip_address(value).packed)
    except ValueError:
        pass
    # Very short forms would match by chance in binary files.
    return {o for o in out if len(o) >= 6}


def scan(paths, needles):
    """[(path, value, form)] for every needle form found."""
    hits = []
    for root in paths:
        for d, _, files in os.walk(root):
            for fn in files:
                p = os.path.join(d, fn)
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for value, forms in needles:
                    for form in forms:
                        if form in data:
                            hits.append((p, value, form[:40]))
    return hits


def shoppers():
    ps = []
    for n in range(3):
        p = Persona(900 + n, tag="scan")
        # Values nobody else in the suite uses, each a distinctive shape.
        p.email = "zelda.quartermaine%d@pii-scan.example" % n
        p.phone = "+44 7700 9%05d" % (31337 + n)
        p.name = "Zebulon Quixote-Vandermeer%d" % n
        p.address = {"name": p.name,
                     "street": "%d Xylophone Crescent" % (71 + n),
                     "city": "Kirkcudbright", "postal": "DG6 4%dQ" % n,
                     "country": "GB"}
        p.account = "acct-scan-%d-7f1e9d" % n
        p.session = "sess-scan-%d-c0ffee" % n
        p.device = "dev-scan-%d-b16b00b5" % n
        p.ip = ("203.0.113.%d" % (77 + n)) if n != 2 else \
            "2001:db8:feed:%x::42" % (0xbee0 + n)
        # Luhn-valid 16-digit numbers (4111 1111 1111 1111 style).
        p.card_number = ["4539578763621486", "5425233430109903",
                         "4916338506082832"][n]
        p.card = ({"number": p.card_number} if n != 1 else
                  {"fingerprint": "card_fp_scan_8c3d11", "bin": "542523"})
        ps.append(p)
    return ps


def body(args):
    ps = shoppers()
    referrer = ("https://mail.example.net/inbox/zelda.quartermaine0"
                "@pii-scan.example?phone=%2B447700931337")
    update_values = ["+44 7700 900777", "new.zelda.mail@pii-scan.example",
                     "Zebulon Renamed-Vandermeer"]
    with Service(args.bin) as svc:
        for i, p in enumerate(ps):
            svc.send_ok(p.visit("scan-v%d" % i))
            svc.send_ok(p.signup("scan-s%d" % i, referrer=referrer))
            svc.send_ok(p.login("scan-l%d" % i))
            svc.send_ok(p.update("scan-u%d" % i, field="phone",
                                 value=update_values[0]))
            svc.send_ok(p.update("scan-e%d" % i, field="email",
                                 value=update_values[1]))
            svc.send_ok(p.update("scan-n%d" % i, field="name",
                                 value=update_values[2]))
            svc.send_ok(p.order("scan-o%d" % i, order="ORD-SCAN-%d-5e1f" % i))
            svc.send_ok(p.payment("scan-p%d" % i, "ORD-SCAN-%d-5e1f" % i))
        say("the analyst asks about them (the answers are audited)")
        for i, p in enumerate(ps):
            r = query(svc, "score.get", "q-scan-o%d" % i,
                      order="ORD-SCAN-%d-5e1f" % i)
            check(r.get("ok") is True, "score.get answered", r)
            r = query(svc, "account.get", "q-scan-a%d" % i,
                      account=p.account)
            check(r.get("ok") is True, "account.get answered", r)
        say("restart: the journal is replayed into LMDB")
        svc.restart_scorer()
        svc.send_ok(event("device.seen", "scan-after"))
        svc.stop()

        values = [referrer, "zelda.quartermaine0@pii-scan.example",
                  "+447700931337"] + update_values
        for p in ps:
            values += [p.email, p.phone, p.name, p.address["street"],
                       p.address["postal"], p.account, p.session, p.device,
                       p.ip, p.card_number]
        for i in range(len(ps)):
            values.append("ORD-SCAN-%d-5e1f" % i)
        values.append("card_fp_scan_8c3d11")
        needles = [(v, encodings(v)) for v in values]

        say("scan %d values in %d forms" %
            (len(values), sum(len(f) for _, f in needles)))
        # The keys directory holds the pseudonym and signing keys on
        # purpose; it must still hold no identifier.
        hits = scan([svc.data_dir, svc.keys_dir], needles)
        check(not hits, "no identifier in the data or keys directory "
              "(journal, LMDB, audit log, vault, checkpoints)", hits[:20])
        logs = (svc.scorer.stderr_text() + svc.collector.stderr_text())
        leaked = [v for v, forms in needles
                  if any(f in logs.encode() for f in forms)]
        check(not leaked, "no identifier in either daemon's log", leaked)
        # The scan must be able to find something: the same value in a
        # file of our own is found (the test cannot pass vacuously).
        probe = os.path.join(svc.dir, "probe.bin")
        with open(probe, "wb") as f:
            f.write(b"xx" + base64.b64encode(ps[0].email.encode()) + b"yy")
        check(scan([probe.rsplit("/", 1)[0]], needles[:4]),
              "the scanner finds a planted base64 email")
        os.unlink(probe)


if __name__ == "__main__":
    main(__doc__, body)
