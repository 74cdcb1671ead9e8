#!/usr/bin/env bash
# The operations loop end to end, against real servers on loopback:
#   simulated DNS traffic with incidents and an nginx access log with a web incident flow
#   through `dnsight run` (web log followed, host metrics scraped from a real
#   prometheus-node-exporter); alerts go to a real prometheus-alertmanager and to JSON
#   lines; remediation runs dry and is audited; feedback goes through the API and the CLI
#   and is exported as labels; /metrics passes `promtool check metrics` and a real
#   prometheus server scrapes it.
# Usage: ops_loop_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
for tool in curl prometheus promtool prometheus-alertmanager prometheus-node-exporter; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done
repo=$(pwd)
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # wait_http URL [tries]
  for _ in $(seq "${2:-100}"); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "FAIL: $1 never answered"; return 1
}
fail() { echo "FAIL: $*"; exit 1; }

# Inputs: 3.6 simulated hours ending now, so wall-clock freshness and Alertmanager agree.
start=$(date -u -d '-4 hours' +%Y-%m-%dT%H:00:00Z)
"$dnsight" simulate --scenario examples/sim/fleet.yaml --days 0.15 --auto-incidents 1 \
  --start "$start" --out "$dir/sim" >/dev/null 2>&1
python3 tools/gen_weblog.py --start "$start" --hours 3.6 --out "$dir/access.log" \
  --incidents "$dir/web_incidents.jsonl"
# Bad input in both: counted by reason, never fatal, nothing valid lost.
dns_valid=$(wc -l <"$dir/sim/events.jsonl")
web_valid=$(wc -l <"$dir/access.log")
printf '{"ts":"not a time"}\n\x00\xff garbage\n' >>"$dir/sim/events.jsonl"
printf '127.0.0.1 - - [99/Foo/2026:25:61:61 +0000] "GET / HTTP/1.1" 200 1\nnot a log line\n' >>"$dir/access.log"

# Real servers.
ne_port=$(free_port)
prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" >"$dir/ne.log" 2>&1 &
pids+=($!)
am_port=$(free_port)
cat >"$dir/am.yml" <<YAML
route: {receiver: devnull, group_wait: 1s, group_interval: 1s}
receivers: [{name: devnull}]
YAML
prometheus-alertmanager --config.file="$dir/am.yml" --storage.path="$dir/am" \
  --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= >"$dir/am.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$ne_port/metrics"
wait_http "http://127.0.0.1:$am_port/-/ready"

sed -e "s|demo-out/changes.jsonl|$dir/sim/changes.jsonl|; s|demo-out/|$dir/out/|g" \
  -e "s|listen: 127.0.0.1:8080|listen: 127.0.0.1:0\n  tokens:\n    - {name: ops, role: trainer, token: ops-secret}\n    - {name: viewer, role: reader, token: view-secret}|" \
  -e "s|{kind: jsonl, path: $dir/out/alerts.jsonl}|{kind: jsonl, path: $dir/out/alerts.jsonl}\n    - {kind: alertmanager, url: \"http://127.0.0.1:$am_port\"}|" \
  -e "s|{path: $dir/out/access.log, format: combined, follow: true}|{path: $dir/access.log, format: combined, follow: true}|" \
  -e "s|^remediation:|hosts:\n  interval: 1s\n  targets:\n    - {node: edge-2, url: \"http://127.0.0.1:$ne_port/metrics\"}\n\nremediation:|" \
  -e "s|policy: examples/remediation.yaml|policy: $repo/examples/remediation.yaml|" \
  examples/demo/dnsight.yaml >"$dir/cfg.yaml"
mkdir -p "$dir/out"
"$dnsight" validate --config "$dir/cfg.yaml" >/dev/null || fail "config"

"$dnsight" run --config "$dir/cfg.yaml" --source "jsonl:$dir/sim/events.jsonl" \
  --features /dev/null 2>"$dir/run.err" &
run_pid=$!
pids+=($run_pid)
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/run.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/run.err"; fail "no API port"; }
api="http://127.0.0.1:$port"
T="Authorization: Bearer ops-secret"
R="Authorization: Bearer view-secret"

# Every DNS event and access line gets in (the web log is followed, so the run stays up).
dns_lines=$dns_valid
web_lines=$web_valid
python3 tools/wait_ingested.py --metrics "$api/metrics" --dns "$dns_lines" --web "$web_lines" \
  || fail "not every event got in"
want=$((dns_lines + web_lines))
sleep 3  # a few scrapes of the node exporter

# Alerts: the web incident opened and resolved; DNS alerts too.
curl -sf -H "$R" "$api/v1/alerts?state=all&limit=1000" >"$dir/alerts.json"
python3 - "$dir/alerts.json" <<'PY' || fail "alerts"
import json, sys
alerts = json.load(open(sys.argv[1]))["alerts"]
by = {(a["class"], a["entity"]): a for a in alerts}
a = by.get(("origin_errors", "api.example.com"))
assert a, f"no origin_errors alert on api.example.com in {sorted(by)}"
assert a["state"] == "resolved" and a["ends_at"], a
assert a["team"] == "web", a
dns = [x for x in alerts if x["view"] in ("server", "domain", "client")]
assert dns, "no DNS alerts"
print(f"alerts: {len(alerts)} ({len(dns)} DNS); origin_errors resolved after {a['decisions']} decision(s)")
PY
grep -q '"state":"firing"' "$dir/out/alerts.jsonl" || fail "no firing change in alerts.jsonl"
grep -q '"state":"resolved"' "$dir/out/alerts.jsonl" || fail "no resolved change in alerts.jsonl"

# Alertmanager received them (escalations stay firing; others may already be resolved).
curl -sf "http://127.0.0.1:$am_port/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true" >"$dir/am.json"
python3 - "$dir/am.json" <<'PY' || { curl -s "$api/metrics" | grep notifications; cat "$dir/am.json"; fail "alertmanager"; }
import json, sys
names = {a["labels"]["alertname"] for a in json.load(open(sys.argv[1]))}
assert any(n.startswith("dnsight_") for n in names), names
print("alertmanager has:", sorted(names))
PY

# The hosting join: a decision on a web service names its nodes, and edge-2 carries the
# real node exporter's features.
python3 - "$dir/out/decisions.jsonl" <<'PY' || fail "join"
import json, sys
ds = [json.loads(l) for l in open(sys.argv[1])]
web = [d for d in ds if d["scope"]["view"] == "web_service"]
assert web, "no web_service decision"
nodes = {n["node"]: n for n in web[-1]["nodes"]}
assert set(nodes) == {"edge-1", "edge-2", "edge-3"}, nodes
assert nodes["edge-2"]["features"].get("load1_per_core") is not None, nodes["edge-2"]
assert web[-1]["failure_domain"] in ("application", "infrastructure"), web[-1]
print("join: web decision", web[-1]["class"], "->", web[-1]["failure_domain"])
PY

# Remediation: every record is audited, the chain verifies, tampering is caught.
[ -s "$dir/out/remediation-audit.jsonl" ] || fail "no remediation records"
"$dnsight" audit verify "$dir/out/remediation-audit.jsonl" >/dev/null || fail "audit chain broken"
curl -sf -H "$R" "$api/v1/actions?limit=5" | grep -q '"outcome"' || fail "/v1/actions empty"

# Feedback: API (trainer), refused for a reader, CLI, then labels.
ids=$(python3 -c 'import json,sys; ds=[json.loads(l) for l in open(sys.argv[1])]; print(" ".join(d["id"] for d in ds if d["alert"])[:2000])' "$dir/out/decisions.jsonl")
set -- $ids
[ $# -ge 2 ] || fail "fewer than two alert decisions"
code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$R" -d '{"verdict":"accept"}' "$api/v1/decisions/$1/feedback")
[ "$code" = 403 ] || fail "reader feedback -> $code"
code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$T" -d '{"verdict":"accept","note":"real"}' "$api/v1/decisions/$1/feedback")
[ "$code" = 200 ] || fail "feedback -> $code $(cat "$dir/body")"
DNSIGHT_TOKEN=ops-secret "$dnsight" feedback give --api "$api" "$2" reclassify --class traffic_surge >/dev/null \
  || fail "feedback give"
code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$T" -d '{"verdict":"accept"}' "$api/v1/decisions/dec-0000000000000000/feedback")
[ "$code" = 404 ] || fail "unknown decision -> $code"
# Garbage at the operations endpoints: a clear 400, nothing stored.
for req in "$api/v1/alerts?state=bogus" "$api/v1/alerts?limit=abc" "$api/v1/actions?limit=-1"; do
  code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$R" "$req")
  [ "$code" = 400 ] && grep -q '"error"' "$dir/body" || fail "$req -> $code $(cat "$dir/body")"
done
for body in 'not json' '{"verdict":"maybe"}' '{"verdict":"reclassify"}' '{"verdict":"suppress","suppress_for":"999d"}'; do
  code=$(curl -s -o "$dir/body" -w '%{http_code}' -H "$T" -d "$body" "$api/v1/decisions/$1/feedback")
  [ "$code" = 400 ] && grep -q '"error"' "$dir/body" || fail "feedback '$body' -> $code $(cat "$dir/body")"
done
[ "$(wc -l <"$dir/out/feedback.jsonl")" -eq 2 ] || fail "feedback file"

# /metrics: valid exposition, with the families the dashboards use.
curl -sf "$api/metrics" >"$dir/metrics.txt"
promtool check metrics <"$dir/metrics.txt" || fail "promtool check metrics"
for m in dnsight_ingest_events_total dnsight_data_freshness_seconds dnsight_feature_null_ratio \
  dnsight_detector_score_bucket dnsight_model_info dnsight_alerts_open \
  dnsight_alert_notifications_total dnsight_remediation_actions_total dnsight_host_feature; do
  grep -q "^$m" "$dir/metrics.txt" || fail "metric $m missing"
done
grep -q '^dnsight_ingest_malformed_total{source="web:.*",reason="bad_time"} 1$' "$dir/metrics.txt" \
  || fail "malformed web line not counted: $(grep malformed_total "$dir/metrics.txt")"
grep -q '^dnsight_feedback_precision 0.5$' "$dir/metrics.txt" || fail "precision: $(grep precision "$dir/metrics.txt")"
# Every metric the Grafana dashboard queries is exported, with the labels it groups by.
python3 - dashboards/dnsight.json "$dir/metrics.txt" <<'PY' || fail "dashboard metrics"
import json, re, sys
exprs = []
def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            (exprs.append(v) if k == "expr" and isinstance(v, str) else walk(v))
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(open(sys.argv[1])))
text = open(sys.argv[2]).read()
exported = {}
for line in text.splitlines():
    m = re.match(r"([a-z_:]+)(\{([^}]*)\})? ", line)
    if m and not line.startswith("#"):
        labels = set(re.findall(r'([a-z_]+)="', m.group(3) or ""))
        exported.setdefault(m.group(1), set()).update(labels)
missing = []
for e in exprs:
    for name in set(re.findall(r"dnsight_[a-z_]+", e)):
        if name not in exported:
            missing.append(name); continue
        for by in re.findall(r"by \(([^)]*)\)", e):
            for label in (l.strip() for l in by.split(",")):
                if label and label != "le" and label not in exported[name]:
                    missing.append(f"{name}{{{label}}}")
assert not missing, sorted(set(missing))
print(f"dashboard: {len(exprs)} queries, every metric and label exported")
PY

# A real prometheus scrapes it.
prom_port=$(free_port)
cat >"$dir/prom.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: dnsight
    static_configs: [{targets: ["127.0.0.1:$port"]}]
YAML
prometheus --config.file="$dir/prom.yml" --storage.tsdb.path="$dir/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$dir/prom.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$prom_port/-/ready" 150
ok=""
for _ in $(seq 60); do
  if curl -sf "http://127.0.0.1:$prom_port/api/v1/query?query=dnsight_feature_rows_total%7Bview%3D%22web_service%22%7D" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and float(r[0]["value"][1])>0 else 1)'; then
    ok=1; break
  fi
  sleep 0.5
done
[ -n "$ok" ] || { tail "$dir/prom.log"; fail "prometheus did not scrape dnsight"; }

# Labels for retraining.
kill -TERM "$run_pid"
wait "$run_pid" || fail "dnsight run exited non-zero: $(tail -3 "$dir/run.err")"
"$dnsight" feedback export --feedback "$dir/out/feedback.jsonl" --out "$dir/labels.jsonl" >/dev/null
python3 - "$dir/labels.jsonl" <<'PY' || fail "labels"
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert len(ls) == 2 and {l["verdict"] for l in ls} == {"accept", "reclassify"}, ls
assert any(l["class"] == "traffic_surge" for l in ls), ls
PY
# Tamper with one audit record: verify must say where.
python3 - "$dir/out/remediation-audit.jsonl" <<'PY'
import sys
p = sys.argv[1]; lines = open(p).read().splitlines(True)
lines[0] = lines[0].replace('"outcome":"', '"outcome":"x', 1)
open(p, "w").writelines(lines)
PY
if "$dnsight" audit verify "$dir/out/remediation-audit.jsonl" >"$dir/verify.out"; then
  fail "tampered audit log verified"
fi
grep -q "seq 1\|line 1" "$dir/verify.out" || fail "verify did not name the record: $(cat "$dir/verify.out")"
echo "ops loop: OK ($want events, port $port)"
