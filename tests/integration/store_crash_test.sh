#!/usr/bin/env bash
# kill -9 in the middle of writing must lose no acknowledged data.
#
# dnsight follows a JSON-lines file that grows while it runs, writing the feature store
# (embedded online + offline) and the feature output. The feature output is written
# only after the stores have taken the rows, so every row that reached it counts as
# acknowledged. After kill -9: every acknowledged row is in the offline history with the
# same values, the online store opens and holds each entity's newest acknowledged window
# or a newer one, and a restarted run repairs any torn block and appends cleanly.
# Usage: store_crash_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$dir"' EXIT

cat >"$dir/cfg.yaml" <<YAML
engine: {pane: 10s, watermark_delay: 0s, allowed_lateness: 0s, idle_advance: 1s}
store: {path: $dir/store, online: embedded}
views:
  - name: client
    entity: client
    ttl: 366d
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
      - {name: unique_qnames, kind: distinct, field: qname}
YAML
python3 tools/gen_traffic.py --format jsonl --events 40000 --clients 300 --duration-s 1200 \
  --seed 11 --out "$dir/all.jsonl"
head -n 20000 "$dir/all.jsonl" >"$dir/first.jsonl"
tail -n +20001 "$dir/all.jsonl" >"$dir/rest.jsonl"
: >"$dir/in.jsonl"

"$dnsight" run --config "$dir/cfg.yaml" --source "jsonl+follow:$dir/in.jsonl" \
  --features "$dir/f1.jsonl" 2>"$dir/run1.err" &
pid=$!
# Feed the first half in slices, so panes close (and the stores are written) while
# input is still arriving; kill -9 without warning while the feeder is still going.
python3 - "$dir/first.jsonl" "$dir/in.jsonl" <<'PY' &
import sys, time
lines = open(sys.argv[1]).readlines()
with open(sys.argv[2], "a") as out:
    for i in range(0, len(lines), 500):
        out.writelines(lines[i:i + 500]); out.flush(); time.sleep(0.1)
PY
feeder=$!
for _ in $(seq 100); do
  [ "$(cat "$dir/f1.jsonl" 2>/dev/null | wc -l)" -gt 2000 ] && break
  sleep 0.1
done
kill -9 $pid
kill $feeder 2>/dev/null || true
wait $feeder 2>/dev/null || true
wait $pid 2>/dev/null || true
pid=""
acked=$(grep -c '}$' "$dir/f1.jsonl" || true)
[ "$acked" -gt 1000 ] || { echo "FAIL: only $acked rows before the crash"; cat "$dir/run1.err"; exit 1; }

"$dnsight" features export --config "$dir/cfg.yaml" --view client -o "$dir/offline1.jsonl" \
  2>"$dir/export1.err"
python3 -c 'import json,sys; print("\n".join(sorted({json.loads(l)["entity"] for l in open(sys.argv[1]) if l.endswith("}\n")})))' \
  "$dir/f1.jsonl" >"$dir/entities.txt"
"$dnsight" features get --config "$dir/cfg.yaml" --views client --entities-file "$dir/entities.txt" \
  -o "$dir/online1.json" 2>"$dir/get1.err"
python3 - "$dir/f1.jsonl" "$dir/offline1.jsonl" "$dir/online1.json" <<'PY'
import json, sys
acked = []
for line in open(sys.argv[1]):
    if line.endswith("}\n"):
        acked.append(json.loads(line))
offline = {}
for line in open(sys.argv[2]):
    r = json.loads(line)
    offline[(r["entity"], r["window_end"])] = r["features"]
missing = [a for a in acked if (a["entity"], a["window_end"]) not in offline]
assert not missing, f"{len(missing)} acknowledged rows missing from the offline store, e.g. {missing[0]}"
for a in acked:
    got = offline[(a["entity"], a["window_end"])]
    for k, v in a["features"].items():
        assert got[k] == v or (v is None and got[k] is None), (a, got)
newest = {}
for a in acked:
    newest[a["entity"]] = max(newest.get(a["entity"], ""), a["window_end"])
online = json.load(open(sys.argv[3]))
by_entity = {r["entity"]: r for r in online["results"]}
for e, w in newest.items():
    r = by_entity.get(e, {}).get("views", {}).get("client")
    assert r and r.get("window_end", "") >= w, f"online store lost {e} at {w}: {r}"
print(f"ok: {len(acked)} acknowledged rows all in the offline store; "
      f"{len(newest)} entities current in the online store")
PY

# Restart on the rest of the input: the torn tail (if any) is cut, appends are readable.
"$dnsight" run --config "$dir/cfg.yaml" --source "jsonl:$dir/rest.jsonl" \
  --features "$dir/f2.jsonl" 2>"$dir/run2.err"
"$dnsight" features export --config "$dir/cfg.yaml" --view client -o "$dir/offline2.jsonl" \
  2>"$dir/export2.err"
grep -q " 0 corrupt blocks skipped" "$dir/export2.err" || { cat "$dir/export2.err"; exit 1; }
rows1=$(wc -l <"$dir/offline1.jsonl")
rows2=$(wc -l <"$dir/offline2.jsonl")
new=$(wc -l <"$dir/f2.jsonl")
[ "$rows2" -eq $((rows1 + new)) ] || { echo "FAIL: $rows1 + $new != $rows2"; exit 1; }
echo "ok: restart appended $new rows; $rows2 rows readable, no corrupt blocks"
