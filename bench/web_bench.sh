#!/usr/bin/env bash
# Web access logs: dnsight's hosting path (parse, per-service and per-node panes and
# windows, 2 views x 2 windows x 16 features) beside python3-pandas computing per
# (vhost, minute) counts, 5xx ratio and latency quantiles from the same file.
# Usage: bench/web_bench.sh BUILD_DIR   (WEB_HOURS=24 sets the log's span)
set -euo pipefail
build=${1:-build}
hours=${WEB_HOURS:-24}
dir="$build/bench"
py=${PYTHON:-/usr/bin/python3}
mkdir -p "$dir"
dnsight=$(realpath "$build/dnsight")
log="$dir/access.log"
if [ ! -s "$log" ] || [ "$(cat "$log.params" 2>/dev/null)" != "$hours" ]; then
  echo "generating $hours hours of access log ..."
  python3 tools/gen_weblog.py --start 2026-11-23T00:00:00Z --hours "$hours" --out "$log"
  echo "$hours" >"$log.params"
fi
lines=$(wc -l <"$log")
cat >"$dir/web.yaml" <<YAML
web:
  logs: [{path: $log}]
views: []
YAML
cpu_seconds() {
  /usr/bin/time -f "%U %S %e" -o "$dir/time.txt" "$@" >"$dir/stdout.txt" 2>"$dir/stderr.txt" || {
    cat "$dir/stderr.txt"; return 1; }
  awk '{printf "%.3f %.3f\n", $1 + $2, $3}' "$dir/time.txt"
}
read -r d_cpu d_wall < <(cpu_seconds "$dnsight" run -c "$dir/web.yaml" --features "$dir/web_features.jsonl")
rows=$(wc -l <"$dir/web_features.jsonl")
read -r p_cpu p_wall < <(cpu_seconds "$py" bench/pandas_web_1m.py "$log")
prows=$(cat "$dir/stdout.txt")
printf '\n%-44s %10s %10s %14s\n' "run ($lines access-log lines)" "cpu s" "wall s" "lines/s/core"
printf '%-44s %10s %10s %14.0f\n' "dnsight web views ($rows rows)" "$d_cpu" "$d_wall" "$(echo "$lines / $d_cpu" | bc -l)"
printf '%-44s %10s %10s %14.0f\n' "pandas vhost x minute ($prows rows)" "$p_cpu" "$p_wall" "$(echo "$lines / $p_cpu" | bc -l)"
printf '  ratio pandas cpu / dnsight cpu: %.1fx\n' "$(echo "$p_cpu / $d_cpu" | bc -l)"
