#!/usr/bin/python3
"""model-table.py - turn the scorer's features log into vigil-train's table.

    scripts/model-table.py FEATURES_LOG OUT.csv

FEATURES_LOG is what vigil-scorer wrote with features_log set
(scorer.conf(5), scorer/modelsvc.h): "o" lines (an order's point-in-time
features as the scorer computed them when it scored the order) and "l"
lines (labels as they arrived). Each order that got a label becomes one
row: its features, label (the order's last label: 1 fraud, 0 legitimate)
and split: "eval" when that label's source ends in "holdout"
(vigil-replay --holdout sends replay-holdout for held-out users), else
"train". vigil-train fits on the train rows only and reports on the eval
rows. Orders without a label are left out. Prints the row counts.

SPDX-License-Identifier: MIT
"""

import sys


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    names = None
    orders = {}
    labels = {}
    with open(src) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# o,"):
                names = line[2:].split(",")[6:]
                continue
            if line.startswith("#") or not line:
                continue
            p = line.split(",")
            key = (p[1], p[2])
            if p[0] == "o":
                if p[2]:
                    orders.setdefault(key, p[6:])
            elif p[0] == "l":
                labels[key] = (p[5], "eval" if p[4].endswith("holdout")
                               else "train")
    if names is None:
        sys.stderr.write("%s: no header line\n" % src)
        return 1
    n = {"train": 0, "eval": 0}
    with open(dst, "w") as out:
        out.write(",".join(names + ["label", "split"]) + "\n")
        for key, feats in orders.items():
            if key not in labels:
                continue
            lab, split = labels[key]
            n[split] += 1
            out.write(",".join(feats + [lab, split]) + "\n")
    print("%s: %d train rows, %d eval rows" % (dst, n["train"], n["eval"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
