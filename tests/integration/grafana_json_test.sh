#!/usr/bin/env bash
# dashboards/dnsight.json is a Grafana dashboard that imports and queries only what dnsight's
# /metrics exports: schemaVersion >= 36, a ${DS_PROMETHEUS} datasource variable, every
# panel and annotation on that datasource, every target with a PromQL expr, every metric
# name in an expr on the list below (and every metric on the list shown somewhere), the
# rows, no overlapping panels, and the deploy and maintenance annotations. The checker then
# proves it can fail: broken copies of the dashboard must each be rejected for the right
# reason.
# Usage: grafana_json_test.sh [PATH_TO_DNSIGHT]  (the binary is not needed)
set -euo pipefail
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
cd "$(dirname "$0")/../.."

python3 - dashboards/dnsight.json <<'PY'
import copy
import json
import re
import sys

# What dnsight's /metrics exports (histograms add _bucket, _sum and _count).
METRICS = {
    "dnsight_ingest_events_total",
    "dnsight_ingest_malformed_total",
    "dnsight_ingest_late_events_total",
    "dnsight_data_freshness_seconds",
    "dnsight_ingest_lag_seconds",
    "dnsight_feature_rows_total",
    "dnsight_feature_null_ratio",
    "dnsight_detector_score",  # histogram
    "dnsight_detector_score_psi",
    "dnsight_model_info",
    "dnsight_top_feature_total",
    "dnsight_decisions_total",
    "dnsight_alerts_open",
    "dnsight_alert_transitions_total",
    "dnsight_alert_notifications_total",
    "dnsight_feedback_total",
    "dnsight_feedback_precision",
    "dnsight_remediation_actions_total",
    "dnsight_change_events_total",
    "dnsight_maintenance_active",
    "dnsight_web_requests_total",
    "dnsight_host_feature",
}
HISTOGRAMS = {"dnsight_detector_score"}
SERIES = (METRICS - HISTOGRAMS) | {h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")}

ROWS = ["Ingest", "Features", "Scores & model versions", "Top features", "Alerts & feedback",
        "Remediation actions"]
ANNOTATIONS = {
    'changes(dnsight_change_events_total{kind="deploy"}[1m]) > 0',
    "dnsight_maintenance_active > 0",
}

FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "delta", "deriv", "exp",
    "floor", "group", "histogram_quantile", "idelta", "increase", "irate", "label_replace",
    "last_over_time", "ln", "max", "max_over_time", "min", "min_over_time", "quantile",
    "quantile_over_time", "rate", "resets", "round", "scalar", "sort", "sort_desc", "sqrt",
    "stddev", "sum", "sum_over_time", "time", "timestamp", "topk", "vector",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
            "and", "or", "unless", "inf", "nan"}


def metric_names(expr):
    """The metric names an expression selects; raises ValueError on unknown functions."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)            # string literals
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)                  # dashboard variables
    e = re.sub(r"\{[^}]*\}", "", e)                          # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                         # range and subquery windows
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?\b", " ", e)       # numbers
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        if e[m.end():].lstrip().startswith("("):
            if word not in FUNCTIONS:
                raise ValueError(f"unknown function {word}()")
            continue
        if word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def check(d):
    """Returns the list of problems with dashboard d (empty when it is fine)."""
    problems = []
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        problems.append(f"schemaVersion {d.get('schemaVersion')!r} is below 36")
    for key in ("title", "uid"):
        if not d.get(key):
            problems.append(f"no {key}")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds_var = variables.get("DS_PROMETHEUS")
    if not ds_var or ds_var.get("type") != "datasource" or ds_var.get("query") != "prometheus":
        problems.append("no datasource variable DS_PROMETHEUS of type prometheus")

    def ds_ok(ds):
        return isinstance(ds, dict) and ds.get("uid") == "${DS_PROMETHEUS}" and \
            ds.get("type") == "prometheus" or ds == "${DS_PROMETHEUS}"

    used = set()

    def check_expr(where, expr):
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"{where}: no expr")
            return
        try:
            names = metric_names(expr)
        except ValueError as e:
            problems.append(f"{where}: {e} in {expr!r}")
            return
        if not names:
            problems.append(f"{where}: no metric in {expr!r}")
        for n in sorted(names - SERIES):
            problems.append(f"{where}: metric {n} is not exported by dnsight ({expr!r})")
        used.update(names & SERIES)

    panels = []
    for p in d.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))  # a collapsed row holds its panels
    if not panels:
        problems.append("no panels")
    ids = [p.get("id") for p in panels]
    if len(set(ids)) != len(ids) or None in ids:
        problems.append("panel ids are missing or repeated")
    rows = [p.get("title") for p in panels if p.get("type") == "row"]
    if rows != ROWS:
        problems.append(f"rows {rows} are not {ROWS}")
    cells = {}
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        grid = p.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")) or \
                grid.get("x", 0) + grid.get("w", 0) > 24:
            problems.append(f"{where}: bad gridPos {grid}")
        else:
            hits = {cells[(x, y)] for x in range(grid["x"], grid["x"] + grid["w"])
                    for y in range(grid["y"], grid["y"] + grid["h"]) if (x, y) in cells}
            for other in sorted(hits):
                problems.append(f"{where}: overlaps panel {other}")
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    cells[(x, y)] = p.get("id")
        if p.get("type") == "row":
            continue
        if not p.get("title"):
            problems.append(f"{where}: no title")
        if not ds_ok(p.get("datasource")):
            problems.append(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no targets")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs) or None in refs:
            problems.append(f"{where}: refIds missing or repeated")
        for t in targets:
            if "datasource" in t and not ds_ok(t["datasource"]):
                problems.append(f"{where}: target {t.get('refId')} datasource is not ${{DS_PROMETHEUS}}")
            check_expr(f"{where} target {t.get('refId')}", t.get("expr"))

    annotations = [a for a in d.get("annotations", {}).get("list", []) if not a.get("builtIn")]
    for a in annotations:
        where = f"annotation {a.get('name')!r}"
        if not ds_ok(a.get("datasource")):
            problems.append(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
        check_expr(where, a.get("expr"))
    missing = ANNOTATIONS - {a.get("expr") for a in annotations if a.get("enable")}
    for expr in sorted(missing):
        problems.append(f"no enabled annotation with expr {expr!r}")

    for v in variables.values():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\(\s*([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?\s*,\s*\w+\s*\)\s*", q or "")
        if not m:
            problems.append(f"variable {v.get('name')}: query {q!r} is not label_values(metric, label)")
        elif m.group(1) not in SERIES:
            problems.append(f"variable {v.get('name')}: metric {m.group(1)} is not exported by dnsight")
        if not ds_ok(v.get("datasource")):
            problems.append(f"variable {v.get('name')}: datasource is not ${{DS_PROMETHEUS}}")

    def family(name):
        for h in HISTOGRAMS:
            if name in (h + "_bucket", h + "_sum", h + "_count"):
                return h
        return name

    shown = {family(n) for n in used}
    for n in sorted(METRICS - shown):
        problems.append(f"metric {n} is on no panel")
    return problems


with open(sys.argv[1]) as f:
    dashboard = json.load(f)
problems = check(dashboard)
if problems:
    print(f"FAIL: {sys.argv[1]}:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
n_panels = sum(1 for p in dashboard["panels"] if p.get("type") != "row")
print(f"ok: {sys.argv[1]}: {n_panels} panels, {len(METRICS)} metrics, all known")


# The checker must be able to fail: each broken copy is rejected, for its own reason.
def first_panel(d):
    return next(p for p in d["panels"] if p.get("type") != "row")


def mutate(name, change, expect):
    d = copy.deepcopy(dashboard)
    change(d)
    found = check(d)
    if not any(expect in p for p in found):
        print(f"FAIL: checker accepted a dashboard with {name}; problems: {found}")
        sys.exit(1)


mutate("an unknown metric",
       lambda d: first_panel(d)["targets"][0].update(expr="rate(dnsight_made_up_total[5m])"),
       "dnsight_made_up_total is not exported")
mutate("a metric with a typo in a label_values variable",
       lambda d: d["templating"]["list"][1].update(query={"query": "label_values(dnsight_ingest_event_total, source)"}),
       "dnsight_ingest_event_total is not exported")
mutate("a panel without datasource", lambda d: first_panel(d).pop("datasource"),
       "datasource is not")
mutate("a target without expr", lambda d: first_panel(d)["targets"][0].pop("expr"), "no expr")
mutate("an unknown function",
       lambda d: first_panel(d)["targets"][0].update(expr="rte(dnsight_ingest_events_total[5m])"),
       "unknown function rte()")
mutate("an old schemaVersion", lambda d: d.update(schemaVersion=27), "schemaVersion")
mutate("no deploy annotation",
       lambda d: d["annotations"]["list"].pop(1), "no enabled annotation")
mutate("no datasource variable", lambda d: d["templating"]["list"].pop(0), "DS_PROMETHEUS")
mutate("a metric on no panel",
       lambda d: [t.update(expr="sum(dnsight_alerts_open)") for p in d["panels"]
                  for t in p.get("targets", []) if "dnsight_feedback_precision" in t.get("expr", "")],
       "dnsight_feedback_precision is on no panel")
mutate("overlapping panels", lambda d: first_panel(d)["gridPos"].update(w=24, h=40), "overlaps panel")
print("ok: the checker rejects 10 broken copies")
PY
echo "grafana_json_test: ok"
