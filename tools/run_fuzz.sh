#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time, each from its seed corpus.
# Usage: tools/run_fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
seconds=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for src in tests/fuzz/*_fuzz.cc; do
  name=$(basename "$src" .cc)
  corpus="$work/$name"
  mkdir -p "$corpus"
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  echo "== $name (${seconds}s)"
  if ! "$build/$name" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/" "$corpus" >"$work/$name.log" 2>&1; then
    tail -n 40 "$work/$name.log"
    echo "FAIL: $name (crash artifacts were in $work)"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $status
