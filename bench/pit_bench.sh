#!/usr/bin/env bash
# Point-in-time retrieval: `dnsight features historical` vs pandas.merge_asof, same data.
#   1. history from the real engine: generated JSON lines -> `dnsight backfill` of one
#      client view (1m window, 14 features, ttl 10m) into a fresh store;
#   2. `dnsight features export` -> CSV for pandas (not timed);
#   3. a spine of SPINE_ROWS rows (fixed seed; see bench/pit_tools.py);
#   4. PIT_RUNS timed runs of each side, end to end as a process (wall time: read the
#      spine, read the history, join, write the CSV training set);
#   5. a row-by-row cross-check of the two outputs (not timed); fails the bench if they differ.
# Usage: bench/pit_bench.sh BUILD_DIR
#   (PIT_EVENTS, PIT_CLIENTS, PIT_DURATION_S, SPINE_ROWS, PIT_RUNS change the sizes;
#    DNSIGHT=path times another dnsight binary on the same data)
set -euo pipefail
build=${1:-build}
events=${PIT_EVENTS:-600000}
clients=${PIT_CLIENTS:-3000}
duration=${PIT_DURATION_S:-3600}
spine_rows=${SPINE_ROWS:-1000000}
runs=${PIT_RUNS:-3}
ttl=10m
ttl_ns=600000000000
py=${PYTHON:-/usr/bin/python3}  # Debian's python3, where python3-pandas lives
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/bench/pit"
dir=$(realpath "$build/bench/pit")
dnsight=$(realpath "${DNSIGHT:-$build/dnsight}")  # DNSIGHT=path: time another binary

if ! "$py" -c "import pandas" 2>/dev/null; then
  echo "point-in-time bench: $py has no pandas; skipped"
  exit 0
fi

traffic="$dir/traffic.jsonl"
params="$events $clients $duration"
if [ ! -s "$traffic" ] || [ "$(cat "$traffic.params" 2>/dev/null)" != "$params" ]; then
  echo "generating $events transactions, $clients clients, ${duration}s as jsonl ..."
  python3 "$here/../tools/gen_traffic.py" --format jsonl --events "$events" --clients "$clients" \
    --duration-s "$duration" --seed 7 --out "$traffic"
  echo "$params" >"$traffic.params"
fi

cfg="$dir/pit.yaml"
cat >"$cfg" <<EOF
# Written by bench/pit_bench.sh: one client view, from examples/dnsight.yaml's.
store:
  path: $dir/store
  online: none
engine:
  threads: 1
  pane: 10s
  watermark_delay: 2s
views:
  - name: client
    entity: client
    windows: [1m]
    ttl: $ttl
    aggregations:
      - {name: queries, kind: count}
      - {name: query_rate, kind: rate}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
      - {name: servfail_ratio, kind: ratio, where: {rcode: [SERVFAIL]}}
      - {name: rcode_entropy, kind: entropy, field: rcode}
      - {name: unique_qnames, kind: distinct, field: qname}
      - {name: unique_domains, kind: distinct, field: registered_domain}
      - {name: qname_length_mean, kind: mean, field: qname_length}
      - {name: qname_length_var, kind: variance, field: qname_length}
      - {name: label_entropy_mean, kind: mean, field: label_entropy}
      - {name: label_count_mean, kind: mean, field: label_count}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.5, 0.95]}
      - {name: txt_ratio, kind: ratio, where: {qtype: [TXT]}}
EOF

rm -rf "$dir/store"  # a second backfill into the same store would append the rows again
"$dnsight" backfill --config "$cfg" --source "jsonl:$traffic" 2>"$dir/backfill.err" || {
  cat "$dir/backfill.err"; exit 1; }
"$dnsight" features export --config "$cfg" --view client -o "$dir/hist.jsonl" 2>/dev/null
"$py" "$here/pit_tools.py" convert "$dir/hist.jsonl" "$dir/hist.csv" client
"$py" "$here/pit_tools.py" spine "$dir/hist.csv" "$dir/spine.csv" "$spine_rows" 42 "$ttl_ns"

# wall_cpu CMD...: runs CMD (stdout to $dir/last.out), prints "wall user+sys maxrss_kb".
wall_cpu() {
  /usr/bin/time -f "%e %U %S %M" -o "$dir/time.txt" "$@" >"$dir/last.out" 2>"$dir/stderr.txt" || {
    cat "$dir/stderr.txt"; return 1; }
  awk '{printf "%.2f %.2f %d\n", $1, $2 + $3, $4}' "$dir/time.txt"
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

printf '\npoint-in-time join, %d spine rows x 1 view (%s)\n' "$spine_rows" \
  "$(wc -l <"$dir/hist.csv" | awk '{print $1 - 1}') history rows"
printf '%-6s %-9s %8s %8s %8s %11s\n' run side "wall s" "cpu s" "RSS MB" "rows/s"
for r in $(seq 1 "$runs"); do
  read -r dw dc dm < <(wall_cpu "$dnsight" features historical --config "$cfg" \
    --spine "$dir/spine.csv" --views client -o "$dir/dnsight.csv")
  [ -n "$dw" ] || exit 1
  [ "$r" = 1 ] && cp "$dir/stderr.txt" "$dir/historical.err"
  printf '%-6s %-9s %8s %8s %8d %11s\n' "$r" dnsight "$dw" "$dc" $((dm / 1024)) \
    "$(rate "$spine_rows" "$dw")"
  read -r pw pc pm < <(wall_cpu "$py" "$here/pandas_pit.py" "$dir/spine.csv" "$dir/hist.csv" \
    "$dir/pandas.csv" client "$ttl")
  [ -n "$pw" ] || exit 1
  printf '%-6s %-9s %8s %8s %8d %11s\n' "$r" pandas "$pw" "$pc" $((pm / 1024)) \
    "$(rate "$spine_rows" "$pw")"
  echo "       pandas in-script seconds: $(cat "$dir/last.out")"
  printf '       ratio dnsight rows/s / pandas rows/s (wall): %.1fx\n' \
    "$(awk -v a="$pw" -v b="$dw" 'BEGIN{print a/b}')"
done
sed 's/^/  /' "$dir/historical.err"
"$py" "$here/pit_tools.py" verify "$dir/spine.csv" "$dir/hist.csv" "$dir/dnsight.csv" \
  "$dir/pandas.csv" client "$ttl_ns"
