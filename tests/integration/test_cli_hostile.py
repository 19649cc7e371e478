#!/usr/bin/python3
"""integ.cli_hostile - `vigilctl audit check-proof` on hostile proof files.

A proof file comes from whoever hands it to the auditor, so vigilctl must
read any bytes at all without crashing. The regression that started this
test: a 64-byte file made the old hand-written JSON reader free the same
pointer twice (abort, exit 134). A real log is written with the test
helper gen_audit_log, a genuine inclusion proof is made from it (it
checks: exit 0), and then every file below must give exit 1 and exactly
one line of printable ASCII output, never a signal, a sanitizer report
or exit 2:

 - the 64-byte regression file, and its shape with 0..24 array items;
 - the genuine proof truncated at many points, and emptied;
 - each field of it with a value of every wrong JSON type;
 - numbers: negative, fractional, exponent, 2^63, 2^64, 400 digits;
 - a 10 MB file (over the 1 MiB cap), deep nesting of arrays and objects;
 - duplicate keys, unknown keys, a field of the other proof type;
 - NUL bytes raw and as \\u0000, invalid UTF-8, terminal escapes in a key;
 - hashes of the wrong length, too many hashes, an odd-length record;
 - the same through standard input ("-").

Files that are not valid proof files must say "not a valid proof file"
and name the field where there is one.

SPDX-License-Identifier: MIT
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import TestFailure, check, check_eq, main, run, say  # noqa

REGRESSION = (b'{"a":["s1","s2","s3","s4","s5","s6","s7","s8","s9"],'
              b'"b":{"c" x}}')
PRINTABLE = re.compile(r"^[\t\x20-\x7e]+$")
INVALID = "not a valid proof file"


class Ctx:
    def __init__(self, bindir, tmp):
        self.ctl = os.path.join(bindir, "vigilctl")
        self.gen = os.path.join(os.path.dirname(os.path.abspath(bindir)),
                                "tests", "gen_audit_log")
        self.tmp = tmp
        self.n = 0
        self.key = None

    def write(self, data):
        self.n += 1
        p = os.path.join(self.tmp, "hostile-%04d.json" % self.n)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def check_proof(self, data, stdin=False):
        """Run check-proof on `data`; (rc, out + err)."""
        if stdin:
            p = subprocess.run([self.ctl, "audit", "check-proof", "-",
                                "--key", self.key], input=data,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
            return p.returncode, (p.stdout + p.stderr).decode("latin-1")
        path = self.write(data)
        rc, out, err = run([self.ctl, "audit", "check-proof", path,
                            "--key", self.key], timeout=60)
        return rc, out + err

    def hostile(self, data, what, want=INVALID, stdin=False, one_line=True):
        """Exit 1 with one printable line (with `one_line` false: the
        last of a few) that matches the regex `want`."""
        rc, out = self.check_proof(data, stdin=stdin)
        lines = [ln for ln in out.splitlines() if ln.strip()]
        good = (rc == 1 and 0 < len(lines) <= (1 if one_line else 3) and
                all(PRINTABLE.match(ln) for ln in lines) and
                re.search(want, lines[-1]) is not None)
        check(good, "%s: exit 1, %s" % (what, "one line" if one_line else
                                        "a FAIL line"),
              "exit %d, output %r" % (rc, out[:600]))


def make_proof(c):
    d = os.path.join(c.tmp, "log")
    rc, out, err = run([c.gen, "gen", d, "40", "10"], timeout=60)
    check_eq(rc, 0, "gen_audit_log writes 40 records")
    c.key = out.strip()
    rc, out, err = run([c.ctl, "audit", "prove", "inclusion", d, "17"])
    check_eq(rc, 0, "prove inclusion of record 17")
    inc = out.encode()
    rc, out, err = run([c.ctl, "audit", "prove", "consistency", d, "10",
                        "40"])
    check_eq(rc, 0, "prove consistency 10 -> 40")
    cons = out.encode()
    for data, what in ((inc, "inclusion"), (cons, "consistency")):
        rc, out = c.check_proof(data)
        check_eq(rc, 0, "the genuine %s proof checks" % what)
    return inc, cons


def test_regression(c):
    say("-- the security review's file")
    check_eq(len(REGRESSION), 64, "the regression file is 64 bytes")
    c.hostile(REGRESSION, "the 64-byte double-free file",
              INVALID + r": line 1, column \d+")
    for n in (0, 1, 8, 9, 10, 24):
        items = ",".join('"s%d"' % i for i in range(n))
        c.hostile(('{"a":[%s],"b":{"c" x}}' % items).encode(),
                  "its shape with %d array items" % n)
        c.hostile(('{"a":[%s],"b":{"c":' % items).encode(),
                  "truncated after %d array items" % n)


def test_truncated(c, inc, cons):
    say("-- truncated")
    c.hostile(b"", "an empty file")
    c.hostile(b"\n", "a newline")
    for doc, name in ((inc, "inclusion"), (cons, "consistency")):
        # Every byte of the start (inside "type"), then 16 points spread
        # over the rest: inside keys, strings, numbers, arrays.
        step = max(1, (len(doc) - 2) // 16)
        cuts = sorted(set(list(range(1, 12)) +
                          list(range(12, len(doc) - 1, step))))
        for cut in cuts:
            c.hostile(doc[:cut], "%s proof cut at byte %d" % (name, cut))


def test_types(c, inc, cons):
    say("-- every field with every wrong type")
    # One value of each JSON type (7 is well-typed for the sizes and
    # index, [] for "proof"; both are checked to fail verification).
    wrong = {"null": None, "true": True, "int": 7, "neg": -1, "real": 1.5,
             "string": "x", "array": [], "object": {}}
    notes = ("checkpoint", "old_checkpoint")
    for doc, name in ((inc, "inclusion"), (cons, "consistency")):
        good = json.loads(doc)
        for field in good:
            for tname, value in wrong.items():
                bad = dict(good)
                bad[field] = value
                what = "%s: %s as %s" % (name, field, tname)
                if field in notes and tname == "null":
                    continue  # null is a valid "no checkpoint here"
                if field in notes and tname == "string":
                    # Well-typed: the signature check fails instead.
                    c.hostile(json.dumps(bad).encode(), what,
                              r"^FAIL: %s in the proof: " % field,
                              one_line=False)
                    continue
                if field == "proof" and tname == "array":
                    # Well-typed (no hashes): it does not verify.
                    c.hostile(json.dumps(bad).encode(), what,
                              r"^FAIL: the .* proof does not verify",
                              one_line=False)
                    continue
                if field in ("index", "size", "old_size") and tname == "int":
                    # Well-typed: no signed checkpoint has that size, or
                    # the record is not record 7.
                    for n in notes:
                        bad.pop(n, None)
                    c.hostile(json.dumps(bad).encode(), what, r"^FAIL: ",
                              one_line=False)
                    continue
                c.hostile(json.dumps(bad).encode(), what,
                          INVALID + r'.*"%s"' % field)
            if field in notes + ("root", "old_root", "record", "leaf_hash"):
                continue  # optional
            bad = dict(good)
            bad.pop(field)
            c.hostile(json.dumps(bad).encode(), "%s without %s"
                      % (name, field), INVALID + r'.*"%s"' % field)
    good = json.loads(inc)
    bad = dict(good)
    bad.pop("record")
    bad.pop("leaf_hash")
    c.hostile(json.dumps(bad).encode(), "inclusion without record and "
              "leaf_hash", INVALID + r'.*"record" or "leaf_hash"')
    for top in (b"[]", b"[1,2]", b'"proof"', b"42", b"null", b"true"):
        c.hostile(top, "top level %r" % top)


def test_numbers(c, inc):
    say("-- numbers")
    good = json.loads(inc)
    text = json.dumps(good)
    idx = '"index": %d' % good["index"]
    check(idx in text, "the proof text holds %s" % idx)
    for num in ("-1", "-0.0", "1.0", "17e0", "1E3", "0x11", "017",
                "9223372036854775808", "18446744073709551616",
                "1" + "0" * 400, "1e400", "-1e400", "NaN", "Infinity",
                "+17"):
        c.hostile(text.replace(idx, '"index": %s' % num).encode(),
                  "index %s" % num[:30])
    nock = dict(good)
    nock.pop("checkpoint")
    for size in (0, 2 ** 63 - 1):
        d = dict(nock)
        d["size"] = size
        c.hostile(json.dumps(d).encode(), "size %d (well-typed)" % size,
                  r"^FAIL: ", one_line=False)


def test_big_and_deep(c, inc):
    say("-- big and deep")
    c.hostile(inc + b" " * (10 * 1024 * 1024), "a 10 MB file",
              INVALID + r": larger than")
    c.hostile(b"[" * (1024 * 1024 + 1), "1 MiB + 1 of '['",
              INVALID + r": larger than")
    for depth in (100, 3000, 200000):
        c.hostile(b"[" * depth + b"]" * depth, "arrays %d deep" % depth)
        c.hostile(b'{"a":' * depth + b"1" + b"}" * depth,
                  "objects %d deep" % depth)
    good = json.loads(inc)
    d = dict(good)
    d["proof"] = [good["proof"][0]] * 65
    c.hostile(json.dumps(d).encode(), "65 hashes", INVALID + r'.*"proof"')
    d = dict(good)
    d["proof"] = [h[:-1] for h in good["proof"]]
    c.hostile(json.dumps(d).encode(), "hashes of 63 digits",
              INVALID + r'.*"proof"')
    d = dict(good)
    d["leaf_hash"] = "zz" * 32
    c.hostile(json.dumps(d).encode(), "a leaf hash that is not hex",
              INVALID + r'.*"leaf_hash"')
    for rec in (good["record"][:-1], "", "ab" * 1025, "g" + "0" * 63):
        d = dict(good)
        d["record"] = rec
        c.hostile(json.dumps(d).encode(), "a record of %d characters"
                  % len(rec), INVALID + r'.*"record"')


def test_keys_and_bytes(c, inc, cons):
    say("-- keys and bytes")
    text = inc.decode()
    c.hostile(text.replace('{"type": "inclusion"',
                           '{"type": "consistency", "type": "inclusion"', 1)
              .encode() if '{"type": "inclusion"' in text else
              text.replace('{"type":"inclusion"',
                           '{"type":"consistency","type":"inclusion"', 1)
              .encode(), "a duplicate key", INVALID + r".*duplicate")
    good = json.loads(inc)
    for key in ("colour", "old_size", "old_checkpoint", "Type", "",
                "\u00e9", "\x1b[31mred\x1b[0m", "a\nb"):
        d = dict(good)
        d[key] = 1
        c.hostile(json.dumps(d).encode(), "unknown key %r" % key,
                  INVALID + r".*unknown field")
    d = dict(json.loads(cons))
    d["index"] = 3
    c.hostile(json.dumps(d).encode(), "index in a consistency proof",
              INVALID + r'.*unknown field "index"')
    for t in ("Inclusion", "", "inclusion ", "proof"):
        d = dict(good)
        d["type"] = t
        c.hostile(json.dumps(d).encode(), "type %r" % t,
                  INVALID + r'.*"type"')
    c.hostile(inc[:20] + b"\x00" + inc[20:], "a raw NUL byte")
    c.hostile(b"{\x00}", "a NUL in an object")
    d = dict(good)
    d["checkpoint"] = "abc\u0000def"
    c.hostile(json.dumps(d).encode(), "\\u0000 in a string")
    c.hostile(inc.replace(b'"type"', b'"ty\xffpe"', 1), "invalid UTF-8")
    c.hostile(b'{"\x1b[2J\x1b[31m": 1}', "raw escapes in a key")
    c.hostile(b'{"a":"\x07\x1b"}', "raw control characters in a string")
    c.hostile(b"\xef\xbb\xbf" + inc, "a byte order mark")
    c.hostile(inc + b"{}", "trailing data")
    d = dict(good)
    d["checkpoint"] = "x" * 4097
    c.hostile(json.dumps(d).encode(), "a checkpoint over 4096 bytes",
              INVALID + r'.*"checkpoint"')


def test_stdin(c):
    say("-- standard input")
    c.hostile(REGRESSION, "the regression file on stdin", stdin=True)
    c.hostile(b"[" * 5000, "deep nesting on stdin", stdin=True)
    c.hostile(b" " * (2 * 1024 * 1024), "2 MB on stdin",
              INVALID + r": larger than", stdin=True)


def body(args):
    tmp = tempfile.mkdtemp(prefix="vigil-hostile-")
    c = Ctx(args.bin, tmp)
    for b in (c.ctl, c.gen):
        if not os.access(b, os.X_OK):
            shutil.rmtree(tmp, ignore_errors=True)
            raise TestFailure("%s is missing (build first)" % b)
    ok = False
    try:
        inc, cons = make_proof(c)
        test_regression(c)
        test_truncated(c, inc, cons)
        test_types(c, inc, cons)
        test_numbers(c, inc)
        test_big_and_deep(c, inc)
        test_keys_and_bytes(c, inc, cons)
        test_stdin(c)
        say("  %d hostile files" % c.n)
        ok = True
    finally:
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say("  kept %s" % tmp)


if __name__ == "__main__":
    main("vigilctl audit check-proof on hostile proof files", body)
