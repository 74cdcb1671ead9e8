#!/usr/bin/env bash
# The whole loop on embedded defaults (no Kafka, no Redis): simulated DNS traffic with
# incidents and an nginx access log with web incidents flow through `dnsight run`
# (examples/demo/dnsight.yaml); features land in the embedded store, detectors score
# them, alerts open and resolve, remediation runs dry and is audited, and the API serves
# the dashboard. A real prometheus-node-exporter is scraped for host features when it is
# installed. Everything is written to demo-out/.
#
# Usage: tools/demo.sh BUILD_DIR     (DEMO_PORT=8080 picks the API port)
# On a terminal it keeps serving the dashboard until Enter; otherwise it stops at the end.
set -euo pipefail
build=$(realpath "${1:-build}")
dnsight="$build/dnsight"
port=${DEMO_PORT:-8080}
out=demo-out
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
rm -rf "$out"
mkdir -p "$out"

start=$(date -u -d '-4 hours' +%Y-%m-%dT%H:00:00Z)
echo "== simulating 3.6 hours of a resolver fleet from $start (incidents in $out/sim/incidents.jsonl)"
"$dnsight" simulate --scenario examples/sim/fleet.yaml --days 0.15 --auto-incidents 1 \
  --start "$start" --out "$out/sim" 2>/dev/null | sed -n 's/^/   /; 1,3p'
cp "$out/sim/changes.jsonl" "$out/changes.jsonl"
echo "== writing an nginx access log for shop.example.com and api.example.com behind edge-1..3"
python3 tools/gen_weblog.py --start "$start" --hours 3.6 --out "$out/access.log" \
  --incidents "$out/web_incidents.jsonl"

sed "s|listen: 127.0.0.1:8080|listen: 127.0.0.1:$port|" examples/demo/dnsight.yaml >"$out/dnsight.yaml"
if command -v prometheus-node-exporter >/dev/null; then
  ne_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  prometheus-node-exporter --web.listen-address="127.0.0.1:$ne_port" >"$out/node-exporter.log" 2>&1 &
  pids+=($!)
  printf '\nhosts:\n  interval: 5s\n  targets:\n    - {node: edge-2, url: "http://127.0.0.1:%s/metrics"}\n' \
    "$ne_port" >>"$out/dnsight.yaml"
  echo "== scraping this machine's node_exporter as host edge-2 (127.0.0.1:$ne_port)"
fi

"$dnsight" run --config "$out/dnsight.yaml" --source "jsonl:$out/sim/events.jsonl" \
  --features "$out/features.jsonl" --counters "$out/counters.json" 2>"$out/run.log" &
run_pid=$!
pids+=($run_pid)
api="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf -o /dev/null "$api/v1/health" && break; sleep 0.2; done
curl -sf -o /dev/null "$api/v1/health" || { tail "$out/run.log"; echo "dnsight did not start"; exit 1; }
echo "== dashboard: $api/ui/    metrics: $api/metrics"

dns_lines=$(wc -l <"$out/sim/events.jsonl")
web_lines=$(wc -l <"$out/access.log")
printf '== replaying %d DNS events and %d web requests' "$dns_lines" "$web_lines"
python3 tools/wait_ingested.py --metrics "$api/metrics" --dns "$dns_lines" --web "$web_lines" \
  --progress
echo
sleep 6  # one more statistics sample and a scrape

python3 - "$api" "$out" <<'PY'
import collections, json, sys, urllib.request
api, out = sys.argv[1], sys.argv[2]
get = lambda path: json.load(urllib.request.urlopen(api + path))
stats = get("/v1/stats")["totals"]
print(f"== {stats['events']} events in, {stats['rows']} feature rows, {stats['decisions']} decisions")
decisions = [json.loads(l) for l in open(f"{out}/decisions.jsonl")]
for (cls, dom), n in sorted(collections.Counter((d["class"], d["failure_domain"]) for d in decisions).items()):
    print(f"   {cls:16s} {dom:15s} {n}")
web = [d for d in decisions if d["scope"]["view"] == "web_service"]
if web:
    d = web[0]
    f = d["top_features"][0]
    print(f"== an explained decision: {d['class']} on {d['scope']['entity']} at {d['ts']}, "
          f"score {d['score']:.1f} (threshold {d['threshold']:g}), confidence {d['confidence']}")
    print(f"   top feature {f['name']} = {f['value']:.3f} against a baseline of {f['baseline']:.3f}")
    print(f"   {d['context']['reason']}; nodes: " +
          ", ".join(n["node"] + (" (scraped)" if n["scraped"] else "") for n in d.get("nodes", [])))
alerts = get("/v1/alerts?state=all&limit=1000")["alerts"]
print(f"== {len(alerts)} alerts:")
for (cls, state, team), n in sorted(collections.Counter((a["class"], a["state"], a["team"]) for a in alerts).items()):
    print(f"   {cls:16s} {state:10s} team {team:9s} {n}")
actions = get("/v1/actions?limit=256")["actions"]
print(f"== {len(actions)} remediation decisions (all dry run or escalated), by outcome:")
for o, n in sorted(collections.Counter(a.get("outcome") for a in actions).items()):
    print(f"   {o:24s} {n}")
PY
echo "== audit chain: $("$dnsight" audit verify "$out/remediation-audit.jsonl" | head -1)"
first=$(python3 -c 'import json,sys; print(next(json.loads(l)["id"] for l in open(sys.argv[1]) if json.loads(l)["alert"]))' "$out/decisions.jsonl")
echo "== operator feedback: accepting $first"
"$dnsight" feedback give --api "$api" "$first" accept --note "confirmed in the demo" | sed 's/^/   /'
"$dnsight" feedback export --feedback "$out/feedback.jsonl" --out "$out/labels.jsonl" | sed 's/^/   /'

if [ -t 0 ]; then
  echo "== the dashboard stays up at $api/ui/ — press Enter to stop"
  read -r _
fi
kill -TERM "$run_pid"
wait "$run_pid" || true
echo "== done; outputs in $out/"
