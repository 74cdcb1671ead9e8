#!/usr/bin/env bash
# make bench: end-to-end throughput per core, beside reference tools on the same input.
#   - dnstap, pcap and JSON lines through the default feature set (examples/dnsight.yaml)
#   - the same inputs with a single count view (decode + normalize cost alone)
#   - tshark field extraction of the same pcap
#   - per-client 1-minute aggregates: dnsight vs python3-pandas on the same JSON lines
#   - point-in-time retrieval, 1M-row spine: dnsight vs pandas.merge_asof (bench/pit_bench.sh)
#   - feature serving: online get p50/p99 in process (vs unordered_map) and over HTTP at a
#     fixed rate (vs nginx serving the same bytes) (bench/serve_bench.sh)
#   - detection on a simulated 7-day fleet (dnsight eval) and the scoring cost per vector
#     (bench/detect_eval.sh)
#   - web access logs through the hosting views vs pandas per (vhost, minute) (bench/web_bench.sh)
# Usage: bench/run.sh BUILD_DIR   (EVENTS=... DURATION_S=... to change the input)
set -euo pipefail
build=${1:-build}
bash bench/engine_bench.sh "$build"
bash bench/pit_bench.sh "$build"
bash bench/serve_bench.sh "$build"
bash bench/detect_eval.sh "$build"
bash bench/web_bench.sh "$build"
