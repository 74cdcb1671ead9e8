#!/usr/bin/env bash
# The main job on embedded defaults: generate ten minutes of DNS traffic as a pcap,
# run the engine with examples/dnsight.yaml over it, and show what came out.
# Usage: tools/demo.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
out="$build/demo"
mkdir -p "$out"
echo "== generating 200000 DNS transactions (pcap) into $out/traffic.pcap"
python3 tools/gen_traffic.py --format pcap --events 200000 --duration-s 600 --out "$out/traffic.pcap"
echo "== dnsight run --config examples/dnsight.yaml --source pcap_file:$out/traffic.pcap"
"$build/dnsight" run --config examples/dnsight.yaml --source "pcap_file:$out/traffic.pcap" \
  --features "$out/features.jsonl" --counters "$out/counters.json" \
  --decisions "$out/decisions.jsonl" 2>"$out/run.log"
rows=$(wc -l <"$out/features.jsonl")
echo "== $rows feature rows in $out/features.jsonl; per view:"
python3 - "$out/features.jsonl" <<'PY'
import collections, json, sys
views = collections.Counter()
last = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    views[r["view"]] += 1
    last[r["view"]] = r
for v, n in sorted(views.items()):
    print(f"  {v:12s} {n:8d} rows, version {last[v]['version']}")
r = max((json.loads(l) for l in open(sys.argv[1]) if '"view":"server"' in l),
        key=lambda r: r["window_end_ns"])
print("== last row of view 'server' (entity %s, window end %s):" % (r["entity"], r["window_end"]))
for k, v in list(r["features"].items())[:24]:
    print(f"  {k:28s} {v}")
PY
echo "== $(wc -l <"$out/decisions.jsonl") detection decisions in $out/decisions.jsonl (by class):"
python3 - "$out/decisions.jsonl" <<'PY'
import collections, json, sys
c = collections.Counter(json.loads(l)["class"] for l in open(sys.argv[1]))
for k, n in sorted(c.items()):
    print(f"  {k:16s} {n}")
PY
echo "== counters ($out/counters.json):"
python3 -m json.tool "$out/counters.json"
