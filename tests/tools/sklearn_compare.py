#!/usr/bin/python3
"""sklearn_compare - check vigil-train against scikit-learn on one CSV.

Trains scikit-learn's model on the "train" rows of a vigil-train CSV with
the parameters vigil-train used, and compares with the C model:

  gbdt:   GradientBoostingClassifier(log_loss, n_estimators, max_depth,
          learning_rate, min_samples_leaf, random_state=0); tree by tree:
          identical structure (split features, thresholds, children),
          largest leaf-value difference, first tree that differs; raw
          log-odds on every row.
  logreg: StandardScaler + LogisticRegression(C, solver newton-cg, tight
          tolerance: lbfgs stops about 1e-4 short) on the same transforms;
          coefficients and raw log-odds.

Both: ROC AUC and PR AUC (average precision) on the "eval" rows, for the
C model (from vigil-train --scores-out) and for sklearn.

  sklearn_compare.py --csv X.csv --model M.vgm --scores S.csv
                     [--kind gbdt|logreg] [--trees 200] [--depth 3]
                     [--lr 0.05] [--min-leaf 50] [--C 0.01]

SPDX-License-Identifier: MIT
"""
import argparse
import math
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def read_model(path):
    """The C model file: columns, trees (list of node dicts) or weights."""
    cols, trees, lr = [], [], {}
    kind, cur = None, None
    for line in open(path):
        t = line.split()
        if not t or t[0].startswith("#"):
            continue
        if t[0] == "kind":
            kind = t[1]
        elif t[0] == "f":
            cols.append(t[2])
            if len(t) == 7:
                lr[t[2]] = (t[3], float(t[4]), float(t[5]), float(t[6]))
        elif t[0] == "tree":
            cur = []
            trees.append(cur)
        elif t[0] == "n":
            cur.append(dict(col=int(t[2]), thr=float(t[3]), left=int(t[4]),
                            right=int(t[5]), value=float(t[6])))
        elif t[0] == "l":
            cur.append(dict(col=-1, value=float(t[2])))
        elif t[0] == "intercept":
            lr["_b"] = float(t[1])
    return kind, cols, trees, lr


def transform(tf, x):
    if tf == "log1p":
        return np.log1p(np.maximum(x, 0))
    if tf == "gaplog":
        return np.log1p(np.where(x < 0, 1e8, x))
    if tf == "logit":
        p = np.clip(x, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))
    if tf == "decay30":
        return np.where(x < 0, 0.0, np.exp(-x / 30.0))
    return x


def compare_trees(ctrees, gb):
    same = 0
    first = None
    worst_leaf = 0.0
    for k, (ct, est) in enumerate(zip(ctrees, gb.estimators_[:, 0])):
        t = est.tree_
        ok = t.node_count == len(ct)
        if ok:
            for i, n in enumerate(ct):
                leaf = t.children_left[i] == -1
                if leaf != (n["col"] < 0):
                    ok = False
                    break
                if leaf:
                    worst_leaf = max(worst_leaf,
                                     abs(t.value[i, 0, 0] - n["value"]))
                elif (t.feature[i] != n["col"] or t.threshold[i] != n["thr"]
                      or t.children_left[i] != n["left"]
                      or t.children_right[i] != n["right"]):
                    ok = False
                    break
        if ok:
            same += 1
        elif first is None:
            first = k
    return same, first, worst_leaf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--kind", default="gbdt")
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--min-leaf", type=int, default=50)
    ap.add_argument("--C", type=float, default=0.01)
    a = ap.parse_args()

    kind, cols, ctrees, clr = read_model(a.model)
    d = pd.read_csv(a.csv)
    tr = (d["split"] != "eval").values if "split" in d else np.ones(len(d), bool)
    ev = ~tr
    X = d[cols].values.astype(float)
    y = d["label"].values
    cs = pd.read_csv(a.scores)
    craw = cs["raw"].values

    t0 = time.time()
    if a.kind == "gbdt":
        m = GradientBoostingClassifier(
            loss="log_loss", n_estimators=a.trees, max_depth=a.depth,
            learning_rate=a.lr, min_samples_leaf=a.min_leaf, subsample=1.0,
            max_features=None, criterion="friedman_mse", random_state=0)
        m.fit(X[tr], y[tr])
        fit_s = time.time() - t0
        sraw = m.decision_function(X)
        same, first, worst_leaf = compare_trees(ctrees, m)
        print("sklearn fit: %.2f s" % fit_s)
        print("trees identical in structure and thresholds: %d of %d"
              % (same, len(ctrees)))
        print("first tree that differs: %s" % first)
        print("largest leaf-value difference in identical trees: %.3g"
              % worst_leaf)
        init = m._raw_predict_init(X[:1])[0, 0]
        print("init log-odds: sklearn %.17g" % init)
    else:
        Xt = np.column_stack([transform(clr[c][0], X[:, j])
                              for j, c in enumerate(cols)])
        m = make_pipeline(StandardScaler(),
                          LogisticRegression(C=a.C, solver="newton-cg",
                                             max_iter=10000, tol=1e-12))
        m.fit(Xt[tr], y[tr])
        print("sklearn fit: %.2f s" % (time.time() - t0))
        sraw = m.decision_function(Xt)
        lrm = m[-1]
        sc = m[0]
        worst_w = 0.0
        for j, c in enumerate(cols):
            worst_w = max(worst_w, abs(lrm.coef_[0, j] - clr[c][3]))
            worst_w = max(worst_w, abs(sc.mean_[j] - clr[c][1]))
            worst_w = max(worst_w, abs(sc.scale_[j] - clr[c][2]))
        print("largest |weight, mean or scale difference|: %.3g" % worst_w)
        print("intercept: sklearn %.10g, C %.10g"
              % (lrm.intercept_[0], clr["_b"]))
    diff = np.abs(sraw - craw)
    print("raw log-odds |C - sklearn|: max %.3g (train %.3g, eval %.3g), "
          "mean %.3g" % (diff.max(), diff[tr].max(),
                         diff[ev].max() if ev.any() else math.nan,
                         diff.mean()))
    if ev.any():
        for name, s in (("C", craw), ("sklearn", sraw)):
            print("eval %-8s ROC AUC %.4f  PR AUC %.4f"
                  % (name, roc_auc_score(y[ev], s[ev]),
                     average_precision_score(y[ev], s[ev])))


if __name__ == "__main__":
    main()
