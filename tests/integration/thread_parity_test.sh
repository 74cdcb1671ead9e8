#!/usr/bin/env bash
# Sharding must not change results: the default feature set over generated traffic with
# 1, 2 and 3 shard threads must produce byte-identical feature output.
# Usage: thread_parity_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 tools/gen_traffic.py --format pcap --events 30000 --duration-s 900 --seed 7 --out "$dir/t.pcap"
for n in 1 2 3; do
  "$dnsight" run --config examples/dnsight.yaml --source "pcap_file:$dir/t.pcap" --threads "$n" \
    --features "$dir/f$n.jsonl" 2>/dev/null
done
rows=$(wc -l <"$dir/f1.jsonl")
[ "$rows" -gt 1000 ] || { echo "too few rows: $rows"; exit 1; }
cmp "$dir/f1.jsonl" "$dir/f2.jsonl"
cmp "$dir/f1.jsonl" "$dir/f3.jsonl"
echo "ok: $rows identical rows for 1, 2 and 3 threads"
