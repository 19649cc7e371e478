#!/usr/bin/python3
"""integ.status - `vigilctl status` and the Prometheus /metrics endpoints
(issue 12, point 4).

Through the real daemons (CURVE on), after some events, queries and
refusals:
 - `vigilctl status` as an admin answers every field the issue asks
   for: up (state), version, queue depths, events/s, errors by code and
   by client, LMDB map size and use, disk headroom per directory,
   journal and audit sizes, last checkpoint, model version; the human
   output prints them as outer.inner lines; an analyst is refused
   (`denied`), and each status request leaves an audit record (op
   status).
 - each daemon's /metrics (on 127.0.0.1) is Prometheus text format: a
   HELP and TYPE line per family, every name starts vigil_, counters end
   _total, histograms have _bucket (with le="+Inf"), _sum and _count,
   every other sample name ends with a unit (_seconds, _bytes, ...) or
   is a dimensionless count; the counters moved with the traffic.
 - no personal data in either: the account and order ids sent are in
   neither the status reply nor the metrics.

SPDX-License-Identifier: MIT
"""

import json
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vigiltest import (Persona, Service, audit_records, check,  # noqa
                       check_eq, main, query, say, vigilctl)

UNITS = ("_total", "_seconds", "_bytes", "_info", "_ratio", "_per_second",
         "_records", "_entries", "_events", "_requests", "_full",
         "_recovering", "_clients", "_bucket", "_sum", "_count")


def scrape(hostport):
    with urllib.request.urlopen("http://%s/metrics" % hostport,
                                timeout=5) as r:
        check(r.headers.get("Content-Type", "").startswith("text/plain"),
              "/metrics on %s is text/plain" % hostport,
              r.headers.get("Content-Type"))
        return r.read().decode()


def check_exposition(text, who):
    types = {}
    helps = set()
    samples = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
        elif line and not line.startswith("#"):
            m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$', line)
            check(m is not None, "%s: a valid sample line" % who, line) \
                if m is None else None
            samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
    check(len(types) >= 8, "%s: %d metric families" % (who, len(types)))
    check_eq(sorted(set(types) - helps), [], "%s: every family has HELP"
             % who)
    check_eq(sorted(n for n in types if not n.startswith("vigil_")), [],
             "%s: every name starts vigil_" % who)
    check_eq(sorted(n for n, k in types.items()
                    if k == "counter" and not n.endswith("_total")), [],
             "%s: every counter ends _total" % who)
    hists = [n for n, k in types.items() if k == "histogram"]
    check(len(hists) >= 1, "%s: latency histograms" % who, hists)
    for h in hists:
        check(h.endswith("_seconds"), "%s: histogram %s is in seconds"
              % (who, h))
        names = {n for n, _, _ in samples}
        check({h + "_bucket", h + "_sum", h + "_count"} <= names,
              "%s: %s has _bucket, _sum, _count" % (who, h))
        check(any(n == h + "_bucket" and 'le="+Inf"' in lab
                  for n, lab, _ in samples),
              "%s: %s has the +Inf bucket" % (who, h))
    bad = sorted({n for n, _, _ in samples
                  if not n.endswith(UNITS) and n not in types})
    check_eq(bad, [], "%s: every sample belongs to a declared family" % who)
    nounit = sorted(n for n, k in types.items() if k == "gauge" and
                    not n.endswith(UNITS))
    say("  %s gauges without a unit suffix (counts): %s" % (who, nounit))
    return samples


def value(samples, name, **labels):
    tot = 0.0
    for n, lab, v in samples:
        got = dict(re.findall(r'(\w+)="([^"]*)"', lab))
        if n == name and all(got.get(k) == x for k, x in labels.items()):
            tot += v
    return tot


def body(args):
    svc = Service(args.bin, scorer_opts=("overlay_max_entries=20000",))
    svc.add_client("ops", "admin")
    with svc:
        p = Persona(11, tag="st")
        svc.send_all_ok([p.signup("st-0")] +
                        [p.order("st-%d" % i, order="ST-ORD-%d" % i)
                         for i in range(1, 40)])
        bad = svc.send({"v": 1, "type": "order.placed", "id": "st-bad"})
        check(bad.get("ok") is False, "an invalid event is refused", bad)
        query(svc, "account.get", "st-q1", account=p.account)
        query(svc, "account.get", "st-q2", purpose="marketing",
              account=p.account)

        say("vigilctl status --json as admin")
        rc, out, err = vigilctl(svc.bindir, "status", "--json",
                                *svc.ctl_conn("ops"))
        check_eq(rc, 0, "vigilctl status exits 0")
        res = json.loads(out)["result"]
        for k in ("version", "uptime_s", "state", "events_per_s", "totals",
                  "latency_ms", "queues", "errors_by_code",
                  "errors_by_client", "lmdb", "disk", "journal", "audit",
                  "witness", "model_version", "quotas",
                  "resident_memory_bytes", "memory"):
            check(k in res, "status has %s" % k, sorted(res))
        # Issue 11 item 4: what holds the memory, beside its bound.
        mem = res["memory"]
        check(0 < mem["anonymous_bytes"] <= mem["resident_bytes"],
              "anonymous memory is part of the resident set", mem)
        check(mem["overlay_max_entries"] == 20000 and
              0 <= mem["overlay_entries"] <= mem["overlay_max_entries"],
              "overlay entries beside their bound", mem)
        check(mem["overlay_bytes"] > 0, "overlay bytes", mem)
        # One persona: account, device, IP, /24, /16, 40 orders, ...
        check(mem["vault_subjects"] >= 40 and
              mem["vault_bytes"] >= 64 * (mem["vault_subjects"] + 1) and
              mem["vault_index_bytes"] > 0,
              "the vault's subjects and its two files' sizes", mem)
        check_eq(res["state"], "ok", "state ok")
        check(res["totals"]["events_answered"] >= 40, "events counted",
              res["totals"])
        check(res["lmdb"]["map_bytes"] > 0 and
              0 <= res["lmdb"]["used_pct"] <= 100, "LMDB map size and use",
              res["lmdb"])
        check(all(res["disk"][d]["free_bytes"] > 0
                  for d in ("history", "journal", "audit")),
              "free disk per data directory", res["disk"])
        check(res["errors_by_code"].get("denied", 0) >= 1,
              "errors by code count the denial", res["errors_by_code"])
        check(any(c == "analyst" for c in res["errors_by_client"]),
              "errors by client name the analyst", res["errors_by_client"])
        check(res["audit"]["bytes"] > 0 and res["journal"]["bytes"] > 0,
              "journal and audit sizes", (res["audit"], res["journal"]))
        check(res["audit"]["last_checkpoint"] > 0 and
              res["audit"]["checkpoint_records"] > 0, "the last checkpoint",
              res["audit"])
        check(p.account not in out and "ST-ORD-1" not in out,
              "no account or order id in the status")

        rc, out, err = vigilctl(svc.bindir, "status", *svc.ctl_conn("ops"))
        check_eq(rc, 0, "human status exits 0")
        for k in ("state", "lmdb.map_bytes", "disk.history.free_bytes",
                  "queues.overlay_entries", "audit.last_checkpoint"):
            check(re.search(r"^%s\s" % re.escape(k), out, re.M) is not None,
                  "human output has a line %s" % k, out[:400])

        rc, out, err = vigilctl(svc.bindir, "status", "--json",
                                *svc.ctl_conn("analyst"))
        check_eq(rc, 1, "an analyst's status exits 1")
        check_eq(json.loads(out)["code"], "denied", "denied")
        recs = [r for r in audit_records(svc.bindir, svc.data_dir)
                if r.get("op") == "status"]
        check(len(recs) >= 3, "each status request is audited (op status)",
              len(recs))

        say("/metrics of both daemons")
        declared = {}
        for who, hp in (("scorer", svc.scorer_metrics),
                        ("collector", svc.collector_metrics)):
            check(hp.startswith("127.0.0.1:"), "%s metrics on loopback" % who)
            text = scrape(hp)
            s = check_exposition(text, who)
            for line in text.splitlines():
                if line.startswith("# TYPE "):
                    declared[line.split()[2]] = who
            check(p.account not in text and "ST-ORD-1" not in text,
                  "%s: no account or order id in the metrics" % who)
            if who == "scorer":
                check(value(s, "vigil_scorer_events_total") >= 40,
                      "scorer events counted")
                check(value(s, "vigil_scorer_lmdb_map_size_bytes") > 0,
                      "map size exposed")
                check(value(s, "vigil_scorer_disk_free_bytes") > 0,
                      "disk headroom exposed")
                for g in ("vigil_scorer_anonymous_memory_bytes",
                          "vigil_scorer_overlay_bytes",
                          "vigil_scorer_vault_bytes",
                          "vigil_scorer_vault_index_bytes"):
                    check(value(s, g) > 0, "%s exposed" % g)
                check(value(s, "vigil_scorer_anonymous_memory_bytes") <=
                      value(s, "vigil_scorer_resident_memory_bytes"),
                      "anonymous memory within the resident set")
            else:
                check(value(s, "vigil_collector_replies_total",
                            client="storefront") >= 41,
                      "collector replies counted per storefront")

        say("examples/grafana-vigil.json uses only metrics that exist")
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "..", "..", "examples",
                               "grafana-vigil.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
        names = set()
        for e in exprs:
            names |= set(re.findall(r"vigil_[a-z_]+", e))
        # A family with no series yet (e.g. busy queries) is not printed:
        # those must at least be registered in the daemons' sources.
        src = ""
        for d in ("scorer", "collector"):
            for fn in os.listdir(os.path.join(here, "..", "..", d)):
                if fn.endswith(".c"):
                    with open(os.path.join(here, "..", "..", d, fn)) as f:
                        src += f.read()
        unknown = sorted(n for n in names
                         if re.sub(r"_bucket$", "", n) not in declared and
                         '"%s"' % n not in src)
        check(len(exprs) >= 10, "the dashboard has %d queries" % len(exprs))
        check_eq(unknown, [], "every metric the dashboard queries is served")


if __name__ == "__main__":
    main(__doc__, body)
