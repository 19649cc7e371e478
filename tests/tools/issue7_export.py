#!/usr/bin/python3
"""issue7_export - write the issue-7 study's point-in-time feature matrix
as a vigil-train CSV (header: registry feature names, label, split).

It uses the study's own code (notes/issue7/common.py and models.py, which
replay /work/shared/data/train.csv.gz and cache the features in
/tmp/issue7_cache), so the C trainer can be checked against sklearn on the
exact matrix the study used. The output holds derived data of the shared
file: write it under /tmp, never into the repository.

  issue7_export.py --notes /work/notes/issue7 --out /tmp/issue7_X.csv \
                   [--seed 0] [--all-columns]

split is "eval" for the study's hash-split eval users of --seed (40 %),
"train" for the others. The default columns are the recommended 9
(REPORT.md section 7); --all-columns adds every numeric feature the study
computed whose name the registry knows.

SPDX-License-Identifier: MIT
"""
import argparse
import os
import sys

NAMES = {"source=SEO": "source_seo", "source=Direct": "source_direct",
         "browser=IE": "browser_ie", "browser=Safari": "browser_safari",
         "browser=FireFox": "browser_firefox",
         "browser=Opera": "browser_opera"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--notes", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all-columns", action="store_true")
    a = ap.parse_args()
    if os.path.realpath(a.out).startswith(os.path.realpath(
            os.path.join(os.path.dirname(__file__), "..", ".."))):
        sys.exit("issue7_export: refusing to write derived data into the "
                 "repository; use /tmp")
    sys.path.insert(0, a.notes)
    os.chdir(a.notes)
    import common as C  # noqa: E402
    import models as M  # noqa: E402

    d, F = C.features()
    X = M.tree_matrix(F)
    cols = list(M.COMPACT)
    if a.all_columns:
        cols += [c for c in X.columns if c not in cols and c != "age"]
    X = X[cols].rename(columns=NAMES)
    X["label"] = d["class"].values
    ev = C.split_eval(d.user_id.values, a.seed)
    X["split"] = ["eval" if e else "train" for e in ev]
    X.to_csv(a.out, index=False, float_format="%.17g")
    print("%s: %d rows, %d features, %d eval" % (
        a.out, len(X), len(cols), int(ev.sum())), file=sys.stderr)


if __name__ == "__main__":
    main()
