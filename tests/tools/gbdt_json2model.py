#!/usr/bin/python3
"""gbdt_json2model - convert the issue-7 study's gbdt_reference.json (an
sklearn GradientBoostingClassifier export) into a Vigil model file
(format version 1, scorer/model.h).

The JSON holds, per tree, each node's feature, threshold, children and, for
leaves, the Newton-step value. The model file also wants, per node, its
cover (training rows reaching it) and, for internal nodes, the
cover-weighted mean of the leaf values below (for Saabas reasons). Those
come from passing a feature matrix through the trees (--matrix: a CSV with
a header of registry feature names, e.g. the study's matrix exported by
tests/tools/issue7_export.py); without it every row count is taken as 1
per leaf (plain means; evaluation is unaffected, only reasons are).

Numbers are written as C's model_format() writes them (the shortest of
%.15g/%.16g/%.17g that reads back exactly), so the C writer reproduces the
file byte for byte.

Usage:
  gbdt_json2model.py --json gbdt_reference.json [--matrix X.csv]
                     [--id ID] [--review 8] [--block 90] --out FILE

SPDX-License-Identifier: MIT
"""
import argparse
import csv
import hashlib
import json
import struct
import sys

# The study's column names -> the registry's (scorer/features.h).
NAMES = {"source=SEO": "source_seo", "source=Direct": "source_direct"}


def g(v):
    """C's fmt_double(): shortest %.{15,16,17}g that round-trips."""
    for prec in (15, 16, 17):
        s = "%.*g" % (prec, v)
        if float(s) == v:
            return s
    raise ValueError(v)


def f32(x):
    """x rounded to IEEE binary32, as sklearn's trees compare it."""
    return struct.unpack("f", struct.pack("f", x))[0]


def leaf_of(tree, x):
    i = 0
    while tree[i]["feature"] is not None:
        n = tree[i]
        i = n["left"] if x[n["col"]] <= n["threshold"] else n["right"]
    return i


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--matrix", help="CSV of training rows for covers")
    ap.add_argument("--id", default="issue7-gbdt-reference")
    ap.add_argument("--review", type=int, default=8)
    ap.add_argument("--block", type=int, default=90)
    ap.add_argument("--comment", action="append", default=[])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    m = json.load(open(a.json))
    feats = [NAMES.get(f, f) for f in m["features"]]
    col = {f: j for j, f in enumerate(m["features"])}
    trees = m["trees"]
    for t in trees:
        for n in t:
            n["col"] = col[n["feature"]] if n["feature"] is not None else -1
            n["cover"] = 0.0

    if a.matrix:
        with open(a.matrix) as f:
            r = csv.reader(f)
            hdr = next(r)
            idx = [hdr.index(c) for c in feats]
            for row in r:
                x = [f32(float(row[i])) for i in idx]
                for t in trees:
                    i = 0
                    while True:
                        t[i]["cover"] += 1.0
                        if t[i]["feature"] is None:
                            break
                        n = t[i]
                        i = n["left"] if x[n["col"]] <= n["threshold"] \
                            else n["right"]
    else:
        for t in trees:
            for n in t:
                n["cover"] = 1.0 if n["feature"] is None else 0.0

    def fill(t, i):
        """(sum of cover*value, cover) below node i; sets internal values."""
        n = t[i]
        if n["feature"] is None:
            return n["value"] * n["cover"], n["cover"]
        sl, cl = fill(t, n["left"])
        sr, cr = fill(t, n["right"])
        if not a.matrix:
            n["cover"] = cl + cr
        tot = cl + cr
        if tot > 0:
            n["value"] = (sl + sr) / tot
        else:
            n["value"] = (t[n["left"]]["value"] + t[n["right"]]["value"]) / 2
        return sl + sr, tot

    for t in trees:
        fill(t, 0)

    out = ["vigil-model 1 %s" % a.id]
    out += ["# %s" % c for c in a.comment]
    out += ["kind gbdt", "features %d" % len(feats)]
    out += ["f %d %s" % (j, f) for j, f in enumerate(feats)]
    out += ["init %s" % g(m["init_logodds"]),
            "learning_rate %s" % g(m["learning_rate"]),
            "trees %d" % len(trees)]
    for k, t in enumerate(trees):
        out.append("tree %d %d" % (k, len(t)))
        for i, n in enumerate(t):
            assert n["id"] == i
            if n["feature"] is None:
                out.append("l %d %s %s" % (i, g(n["value"]), g(n["cover"])))
            else:
                out.append("n %d %d %s %d %d %s %s" % (
                    i, n["col"], g(n["threshold"]), n["left"], n["right"],
                    g(n["value"]), g(n["cover"])))
    out += ["platt %s %s" % (g(m["platt_a"]), g(m["platt_b"])),
            "thresholds %d %d" % (a.review, a.block)]
    body = ("\n".join(out) + "\n").encode("ascii")
    body += b"sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n"
    with open(a.out, "wb") as f:
        f.write(body)
    print("%s: %d trees, %d bytes" % (a.out, len(trees), len(body)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
