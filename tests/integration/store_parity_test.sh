#!/usr/bin/env bash
# Streaming and backfill agree exactly.
#
# The same dnstap capture is (A) streamed live into `dnsight run` over a Frame Streams
# unix socket by fstrm_replay, and (B) backfilled from the file with `dnsight backfill
# --online`, each into its own store. Then:
#   - the offline history of every view is identical, row for row and value for value;
#   - the online store holds the same latest vector (version, window end, values) for
#     every entity;
#   - point-in-time retrieval over the same spine gives the same training set, and at a
#     timestamp after the last window it returns exactly the online values.
# Usage: store_parity_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
command -v fstrm_replay >/dev/null || { echo "skip: fstrm_replay (fstrm-bin) not installed"; exit 77; }
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT

# Recent event times, so nothing is expired when the online store is read.
start_ns=$(( ($(date +%s) - 1800) * 1000000000 ))
python3 tools/gen_traffic.py --format dnstap --events 30000 --clients 400 --duration-s 1200 \
  --start-ns "$start_ns" --seed 5 --out "$dir/t.fstrm"

for side in live backfill; do
  cat >"$dir/$side.yaml" <<YAML
engine: {pane: 10s, watermark_delay: 2s, allowed_lateness: 10s, idle_advance: 0s}
store: {path: $dir/store-$side, online: embedded}
views:
  - name: client
    entity: client
    ttl: 1d
    windows: [1m, 5m]
    aggregations:
      - {name: queries, kind: count}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
      - {name: unique_qnames, kind: distinct, field: qname}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.5, 0.99]}
      - {name: qname_length_mean, kind: mean, field: qname_length}
      - {name: top_domain, kind: topk, field: registered_domain, k: 5}
  - name: domain
    entity: registered_domain
    ttl: 1d
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: unique_subdomains, kind: distinct, field: qname}
      - {name: rcode_entropy, kind: entropy, field: rcode}
YAML
done

# A: live, over a unix socket.
"$dnsight" run --config "$dir/live.yaml" --source "dnstap_unix:$dir/dnstap.sock" \
  --features "$dir/live-rows.jsonl" 2>"$dir/live.err" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/dnstap.sock" ] && break; sleep 0.1; done
fstrm_replay -t protobuf:dnstap.Dnstap -u "$dir/dnstap.sock" -r "$dir/t.fstrm"
# Wait until every message has been taken in (the output stops growing), then stop:
# end of input closes the remaining panes, as at the end of the backfill's file.
prev=-1
for _ in $(seq 60); do
  sleep 1
  size=$(stat -c %s "$dir/live-rows.jsonl" 2>/dev/null || echo 0)
  [ "$size" -gt 0 ] && [ "$size" -eq "$prev" ] && break
  prev=$size
done
kill -TERM $pid
wait $pid || { echo "FAIL: live run exited $?"; cat "$dir/live.err"; exit 1; }
pid=""

# B: backfill from the file, into history and the online store.
"$dnsight" backfill --config "$dir/backfill.yaml" --source "dnstap_file:$dir/t.fstrm" --online \
  --features "$dir/backfill-rows.jsonl" 2>"$dir/backfill.err"

cmp "$dir/live-rows.jsonl" "$dir/backfill-rows.jsonl"
rows=$(wc -l <"$dir/live-rows.jsonl")
[ "$rows" -gt 1000 ] || { echo "FAIL: only $rows rows"; exit 1; }

for view in client domain; do
  for side in live backfill; do
    "$dnsight" features export --config "$dir/$side.yaml" --view $view -o "$dir/$side-$view.jsonl" 2>/dev/null
    python3 -c 'import json,sys; print("\n".join(sorted({json.loads(l)["entity"] for l in open(sys.argv[1])})))' \
      "$dir/$side-$view.jsonl" >"$dir/$side-$view.entities"
    "$dnsight" features get --config "$dir/$side.yaml" --views $view \
      --entities-file "$dir/$side-$view.entities" -o "$dir/$side-$view-online.json" 2>/dev/null
  done
  cmp "$dir/live-$view.jsonl" "$dir/backfill-$view.jsonl"
  cmp "$dir/live-$view.entities" "$dir/backfill-$view.entities"
done

# A spine over the capture's time range, plus one row per entity after the last window.
python3 - "$dir" "$start_ns" <<'PY'
import json, random, sys
d, start = sys.argv[1], int(sys.argv[2])
random.seed(3)
ents = open(f"{d}/live-client.entities").read().split()
last = max(json.loads(l)["window_end"] for l in open(f"{d}/live-client.jsonl"))
with open(f"{d}/spine.csv", "w") as f:
    f.write("entity,timestamp,label\n")
    for i in range(5000):
        f.write(f"{random.choice(ents + ['203.0.113.1'])},{start + random.randrange(1300 * 10**9)},{i % 2}\n")
with open(f"{d}/spine-latest.csv", "w") as f:
    f.write("entity,timestamp\n")
    for e in ents:
        f.write(f"{e},{last}\n")
PY
for side in live backfill; do
  "$dnsight" features historical --config "$dir/$side.yaml" --spine "$dir/spine.csv" \
    --views client,domain -o "$dir/$side-pit.csv" 2>/dev/null
  "$dnsight" features historical --config "$dir/$side.yaml" --spine "$dir/spine-latest.csv" \
    --views client -o "$dir/$side-pit-latest.jsonl" 2>/dev/null
done
cmp "$dir/live-pit.csv" "$dir/backfill-pit.csv"
cmp "$dir/live-pit-latest.jsonl" "$dir/backfill-pit-latest.jsonl"

python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
def online(side, view):
    out = {}
    for r in json.load(open(f"{d}/{side}-{view}-online.json"))["results"]:
        v = r["views"][view]
        assert v["status"] == "fresh", (side, r)
        out[r["entity"]] = (v["version"], v["window_end"],
                            {k: f["value"] for k, f in v["features"].items()})
    return out
for view in ("client", "domain"):
    a, b = online("live", view), online("backfill", view)
    assert a == b, f"online stores differ for {view}"
    assert len(a) > 50, len(a)
# Point-in-time at the last window end equals what the online store serves.
a = online("live", "client")
n = 0
for line in open(f"{d}/live-pit-latest.jsonl"):
    r = json.loads(line)
    version, window_end, feats = a[r["entity"]]
    assert r["client__window_end"] == window_end, (r["entity"], r["client__window_end"], window_end)
    for k, v in feats.items():
        assert r["client__" + k] == v, (r["entity"], k, r["client__" + k], v)
    n += 1
assert n > 0
print(f"ok: offline, online and point-in-time agree; {n} entities checked online == PIT")
PY
echo "ok: $rows identical rows live and backfilled"
