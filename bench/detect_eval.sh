#!/usr/bin/env bash
# Detection on a simulated 7-day fleet, and the scoring cost per feature vector.
#   - dnsight simulate (examples/sim/fleet.yaml, seed 42, every incident class >= 3 times)
#   - dnsight run with examples/sim/detect.yaml over the simulated JSON lines
#   - dnsight eval: precision/recall per class, false alerts per day, time to detect
#   - scoring cost in process: robust baseline and isolation forest per 50-feature vector
#     (BM_RobustBaselineLatency, BM_IsolationForestScore), beside a naive full-history
#     median/MAD recomputation on the same series (BM_NaiveFullHistory)
# Usage: bench/detect_eval.sh BUILD_DIR   (DAYS=7 SEED=42 to change the scenario)
set -euo pipefail
build=${1:-build}
days=${DAYS:-7}
seed=${SEED:-42}
dnsight=$(realpath "$build/dnsight")
dir="$build/bench/detect"
mkdir -p "$dir"
echo
echo "== detection: simulated fleet, $days days, seed $seed"
# The simulated input is cached; a new binary or scenario regenerates it.
params="$days $seed $(cat "$dnsight" examples/sim/fleet.yaml | sha1sum | cut -c1-16)"
( cd "$dir"
  if [ "$(cat sim.params 2>/dev/null)" != "$params" ]; then
    "$dnsight" simulate --scenario "$OLDPWD/examples/sim/fleet.yaml" --days "$days" --seed "$seed" \
      --out sim >sim.log
    echo "$params" >sim.params
  fi
  /usr/bin/time -f "%U %S %e" -o time.txt "$dnsight" run -c "$OLDPWD/examples/sim/detect.yaml" \
    --source jsonl:sim/events.jsonl --features /dev/null --decisions sim/decisions.jsonl \
    --counters counters.json 2>run.log
  events=$(python3 -c 'import json; print(json.load(open("counters.json"))["engine"]["events"])')
  awk -v n="$events" '{printf "run: %d events, cpu %.1f s, wall %.1f s, %.0f events/s/core\n", n, $1+$2, $3, n/($1+$2)}' time.txt
  "$dnsight" eval --truth sim/incidents.jsonl --decisions sim/decisions.jsonl )
if [ -x "$build/dnsight_microbench" ]; then
  echo
  echo "== scoring cost per 50-feature vector (in process)"
  "$build/dnsight_microbench" \
    --benchmark_filter='RobustBaselineLatency|IsolationForestScore|RobustBaselineSeries/1440|NaiveFullHistory/1440' \
    --benchmark_min_time=0.5 2>/dev/null | grep -E "^BM_|^Benchmark"
fi
