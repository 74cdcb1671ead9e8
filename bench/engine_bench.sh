#!/usr/bin/env bash
# Engine throughput per core: dnstap, pcap and JSON lines through the default feature set
# (examples/dnsight.yaml) and through a single count view (decode + normalize cost alone),
# beside tshark field extraction of the same pcap, and per-client 1-minute aggregates
# beside python3-pandas on the same JSON lines.
# Usage: bench/engine_bench.sh BUILD_DIR   (EVENTS=... DURATION_S=... to change the input)
set -euo pipefail
build=${1:-build}
events=${EVENTS:-1000000}
duration=${DURATION_S:-600}
dir="$build/bench"
py=${PYTHON:-/usr/bin/python3}  # Debian's python3, where python3-pandas lives
mkdir -p "$dir"
dnsight=$(realpath "$build/dnsight")

for fmt in pcap dnstap jsonl; do
  f="$dir/traffic.$fmt"
  if [ ! -s "$f" ] || [ "$(cat "$f.params" 2>/dev/null)" != "$events $duration" ]; then
    echo "generating $events transactions as $fmt ..."
    python3 tools/gen_traffic.py --format "$fmt" --events "$events" --duration-s "$duration" --out "$f"
    echo "$events $duration" >"$f.params"
  fi
done

# cpu_seconds CMD...: runs CMD, prints "user+sys wall" seconds. Every input is read once
# before each timed run (warm), so the kernel's copy from disk does not land in one run's
# system time and not another's.
warm() { for f in "$@"; do [ -f "$f" ] && cat "$f" >/dev/null; done; return 0; }
cpu_seconds() {
  /usr/bin/time -f "%U %S %e" -o "$dir/time.txt" "$@" >/dev/null 2>"$dir/stderr.txt" || {
    cat "$dir/stderr.txt"; return 1; }
  awk '{printf "%.3f %.3f\n", $1 + $2, $3}' "$dir/time.txt"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

printf '\n%-44s %10s %10s %14s\n' "run ($events DNS transactions)" "cpu s" "wall s" "events/s/core"
declare -A cpu
for fmt in dnstap pcap jsonl; do
  src="${fmt/pcap/pcap_file}"; src="${src/dnstap/dnstap_file}"
  for cfg in examples/dnsight.yaml bench/decode_only.yaml; do
    warm "$dir/traffic.$fmt"
    read -r c w < <(cpu_seconds "$dnsight" run --config "$cfg" --threads 1 \
      --source "$src:$dir/traffic.$fmt" --features /dev/null --counters "$dir/counters.json")
    cpu["$fmt $cfg"]=$c
    printf '%-44s %10s %10s %14s\n' "dnsight $fmt, $(basename "$cfg" .yaml)" "$c" "$w" "$(rate "$events" "$c")"
    if [ "$cfg" = examples/dnsight.yaml ] && [ "$fmt" = pcap ]; then
      python3 - "$dir/counters.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["engine"]
print("    default feature set state: %d entities, %d bytes, %.0f bytes/entity, %d rows" % (
    c["entities_live"], c["state_bytes"], c["state_bytes"] / max(c["entities_live"], 1), c["rows"]))
PY
    fi
  done
done

# The same number of transactions spread over other spans of event time, dnstap input:
#   1 s:  a stream at 1M events/s, the rate of the goal: can one core keep up with it?
#   6 s:  a stream at ~167k events/s. Every entity emits one row per pane, so the cost is
#         the per-event updates.
#   60 s: a live stream at a higher rate. Panes hold ten times more events, so fewer rows
#         are emitted per event and the per-event updates dominate.
#   2 h:  a low-rate stream (about one event per row) long enough for the 1h windows to
#         fill, so every coarse recompute covers a full hour of coarse panes.
for span in ${GOAL_DURATION_S:-1} ${FAST_DURATION_S:-6} ${DENSE_DURATION_S:-60} ${LONG_DURATION_S:-7200}; do
  f="$dir/traffic-${span}s.dnstap"
  if [ ! -s "$f" ] || [ "$(cat "$f.params" 2>/dev/null)" != "$events $span" ]; then
    echo "generating $events transactions in ${span}s as dnstap ..."
    python3 tools/gen_traffic.py --format dnstap --events "$events" --duration-s "$span" --out "$f"
    echo "$events $span" >"$f.params"
  fi
  warm "$f"
  read -r c w < <(cpu_seconds "$dnsight" run --config examples/dnsight.yaml --threads 1 \
    --source "dnstap_file:$f" --features /dev/null --counters "$dir/counters.json")
  rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["engine"]["rows"])' \
    "$dir/counters.json")
  printf '%-44s %10s %10s %14s\n' "dnsight dnstap over ${span}s ($rows rows)" "$c" "$w" \
    "$(rate "$events" "$c")"
done

if command -v tshark >/dev/null; then
  warm "$dir/traffic.pcap"
  read -r c w < <(cpu_seconds tshark -r "$dir/traffic.pcap" -n -T fields -e frame.time_epoch \
    -e ip.src -e ip.dst -e dns.id -e dns.qry.name -e dns.qry.type -e dns.flags.rcode -e dns.flags.response)
  printf '%-44s %10s %10s %14s\n' "tshark -T fields (same pcap, 2 packets each)" "$c" "$w" "$(rate "$events" "$c")"
  tshark_cpu=$c
  printf '  ratio tshark cpu / dnsight decode_only cpu (pcap): %.1fx\n' \
    "$(awk -v a="$tshark_cpu" -v b="${cpu["pcap bench/decode_only.yaml"]}" 'BEGIN{print a/b}')"
  printf '  ratio tshark cpu / dnsight default features cpu (pcap): %.1fx\n' \
    "$(awk -v a="$tshark_cpu" -v b="${cpu["pcap examples/dnsight.yaml"]}" 'BEGIN{print a/b}')"
fi

warm "$dir/traffic.jsonl"
read -r c w < <(cpu_seconds "$dnsight" run --config bench/client_1m.yaml --threads 1 \
  --source "jsonl:$dir/traffic.jsonl" --features "$dir/client_1m.jsonl")
dn_cpu=$c
dn_rows=$(wc -l <"$dir/client_1m.jsonl")
printf '%-44s %10s %10s %14s\n' "dnsight client 1m aggregates (jsonl)" "$c" "$w" "$(rate "$events" "$c")"
if "$py" -c "import pandas" 2>/dev/null; then
  warm "$dir/traffic.jsonl"
  read -r c w < <(cpu_seconds "$py" bench/pandas_client_1m.py "$dir/traffic.jsonl" "$dir/pandas.csv")
  printf '%-44s %10s %10s %14s\n' "pandas client 1m aggregates (jsonl)" "$c" "$w" "$(rate "$events" "$c")"
  pandas_rows=$(($(wc -l <"$dir/pandas.csv") - 1))
  echo "  rows: dnsight $dn_rows, pandas $pandas_rows"
  printf '  ratio pandas cpu / dnsight cpu: %.1fx\n' "$(awk -v a="$c" -v b="$dn_cpu" 'BEGIN{print a/b}')"
fi
