#!/usr/bin/env bash
# End to end on real tunnelling tools' traffic (../shared/data/pcap: dns2tcp, dnscat2,
# DNSExfiltrator, iodine, sods): the example config's detection must raise a tunnelling
# decision for the domain that carries each capture, and nothing else.
# Skips when the shared captures are absent.
# Usage: tunnel_captures_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
data=../shared/data/pcap
[ -d "$data" ] || { echo "skip: no shared captures at $data"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
n=0
for f in "$data"/*.pcap; do
  name=$(basename "$f" .pcap)
  "$dnsight" run --config examples/dnsight.yaml --source "pcap_file:$f" \
    --features "$dir/$name.rows" --decisions "$dir/$name.decisions" 2>/dev/null
  python3 - "$dir/$name.rows" "$dir/$name.decisions" "$name" <<'PY'
import collections, json, sys
rows, decisions, name = sys.argv[1:]
queries = collections.Counter()
for line in open(rows):
    r = json.loads(line)
    if r["view"] == "domain":
        queries[r["entity"]] = max(queries[r["entity"]], r["features"]["queries_1m"])
tunnel_domain = queries.most_common(1)[0][0]
ds = [json.loads(l) for l in open(decisions)]
assert ds, f"{name}: no decision"
for d in ds:
    assert d["class"] == "tunnelling" and d["alert"], f"{name}: unexpected decision {d}"
    assert d["scope"]["entity"] == tunnel_domain, f"{name}: {d['scope']} != {tunnel_domain}"
    assert d["top_features"] and d["action"] == "block_domain" and d["failure_domain"] == "abuse", d
print(f"ok: {name}: tunnelling via {tunnel_domain}, score {ds[0]['score']:.2f}")
PY
  n=$((n + 1))
done
[ "$n" -ge 5 ] || { echo "FAIL: only $n captures"; exit 1; }
