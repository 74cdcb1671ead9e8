#!/usr/bin/env bash
# `dnsight detect` flags exactly the anomalous rows of a CSV, from a file and from stdin;
# malformed rows fail with the line named, or are skipped with --skip-bad; `dnsight eval`
# reports a hand-checked timeline.
#
# The series: two weeks of 10-minute points, a daily cycle (queries high in the afternoon,
# low at night) and a steady error ratio. Injected: a queries spike (row 1500), a queries
# value normal for 03:00 but placed at 15:00 (row 1818), an error-ratio rise (row 1900),
# and a few empty cells. Those three rows, and only those, must come out anomalous.
# Usage: detect_cli_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

python3 - "$dir/series.csv" <<'PY'
import math, random, sys
random.seed(7)
t0 = 1795392000  # 2026-11-23T00:00:00Z
with open(sys.argv[1], "w") as f:
    f.write("timestamp,queries,error_ratio\n")
    for i in range(14 * 144):
        t = t0 + 600 * i
        hour = (t % 86400) / 3600
        q = 1000 - 600 * math.cos(2 * math.pi * (hour - 3) / 24) + random.gauss(0, 15)
        e = 0.02 + random.gauss(0, 0.001)
        if i == 1500: q += 500           # spike
        if i == 1818: q = 400            # 03:00's level at 15:00 (day 12)
        if i == 1900: e = 0.08           # error ratio rise
        qs = "" if i % 97 == 5 else f"{q:.3f}"
        ts = f"{t}" if i % 2 else f"{t}.0"
        f.write(f"{ts},{qs},{e:.5f}\n")
PY

expected=$(python3 -c 'print("\n".join(str(1795392000 + 600 * i) for i in (1500, 1818, 1900)))')

"$dnsight" detect --input "$dir/series.csv" --output "$dir/out.csv" --threshold 5 2>"$dir/err"
head -1 "$dir/out.csv" | grep -qx 'timestamp,queries_score,queries_is_anomaly,error_ratio_score,error_ratio_is_anomaly,score,is_anomaly'
rows=$(($(wc -l <"$dir/out.csv") - 1))
[ "$rows" -eq $((14 * 144)) ] || { echo "FAIL: $rows output rows"; exit 1; }
got=$(awk -F, 'NR > 1 && $NF == 1 { split($1, t, "."); print t[1] }' "$dir/out.csv")
if [ "$got" != "$expected" ]; then
  echo "FAIL: anomalous rows"; echo "expected:"; echo "$expected"; echo "got:"; echo "$got"
  exit 1
fi
# Which series: the spike and the wrong-hour value are queries, the rise is error_ratio.
awk -F, 'NR > 1 && $NF == 1 { print $3 $5 }' "$dir/out.csv" | tr '\n' ' ' | grep -qx '10 10 01 ' ||
  { echo "FAIL: per-series flags"; exit 1; }
grep -q '2016 rows, 3 anomalous' "$dir/err" || { cat "$dir/err"; exit 1; }

# The same from stdin, byte for byte.
"$dnsight" detect --input - --threshold 5 <"$dir/series.csv" >"$dir/out-stdin.csv" 2>/dev/null
cmp "$dir/out.csv" "$dir/out-stdin.csv"

# A malformed row: the error names the line, and nothing is claimed about later rows.
sed '101s/.*/1795452000,12x,0.02/' "$dir/series.csv" >"$dir/bad.csv"
if "$dnsight" detect --input "$dir/bad.csv" -o "$dir/bad-out.csv" 2>"$dir/bad.err"; then
  echo "FAIL: malformed row accepted"; exit 1
fi
grep -q "line 101: column 'queries': '12x' is not a number" "$dir/bad.err" || { cat "$dir/bad.err"; exit 1; }
"$dnsight" detect --input "$dir/bad.csv" -o "$dir/skip-out.csv" --skip-bad --threshold 5 2>"$dir/skip.err"
grep -q '1 bad rows skipped' "$dir/skip.err" || { cat "$dir/skip.err"; exit 1; }
[ $(($(wc -l <"$dir/skip-out.csv") - 1)) -eq $((14 * 144 - 1)) ]

# Usage errors exit 2.
set +e
"$dnsight" detect --input "$dir/series.csv" --period 1d --slot 7m >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "FAIL: bad slot exit $rc"; exit 1; }

# eval: one incident detected 40 s in, one missed, one false alert, one benign alert.
cat >"$dir/incidents.jsonl" <<'EOF'
{"id":"inc-1","class":"latency_rise","benign":false,"scope":{"kind":"resolver","value":"192.0.2.11"},"start":"2026-11-24T03:10:00Z","end":"2026-11-24T03:40:00Z"}
{"id":"inc-2","class":"servfail_rise","benign":false,"scope":{"kind":"domain","value":"example.com"},"start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:30:00Z"}
{"id":"inc-3","class":"maintenance","benign":true,"scope":{"kind":"resolver","value":"192.0.2.12"},"start":"2026-11-24T06:00:00Z","end":"2026-11-24T12:00:00Z"}
EOF
cat >"$dir/decisions.jsonl" <<'EOF'
{"id":"d1","ts":"2026-11-24T00:00:00Z","class":"latency_rise","alert":false,"scope":{"entity":"192.0.2.11"}}
{"id":"d2","ts":"2026-11-24T03:10:40Z","class":"latency_rise","alert":true,"scope":{"entity":"192.0.2.11"}}
{"id":"d3","ts":"2026-11-24T04:00:00Z","class":"latency_rise","alert":true,"scope":{"entity":"192.0.2.11"}}
{"id":"d4","ts":"2026-11-24T07:00:00Z","class":"latency_rise","alert":true,"scope":{"entity":"192.0.2.12"}}
EOF
"$dnsight" eval --truth "$dir/incidents.jsonl" --decisions "$dir/decisions.jsonl" \
  --json "$dir/eval.json" >"$dir/eval.txt"
grep -q 'false alerts 2 (4.000 per day over 0.500 days); benign alerts 1' "$dir/eval.txt" ||
  { cat "$dir/eval.txt"; exit 1; }
grep -Eq '^all +2 +1 +0.500 +3 +1 +0.333 +40.0 +40.0$' "$dir/eval.txt" || { cat "$dir/eval.txt"; exit 1; }
python3 - "$dir/eval.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["false_alerts"] == 2 and r["benign_alerts"] == 1, r
assert r["all"]["recall"] == 0.5 and r["all"]["ttd_median_s"] == 40, r
PY
echo '{"ts":"2026-11-24T03:10:40Z","alert":"yes"}' >>"$dir/decisions.jsonl"
if "$dnsight" eval --truth "$dir/incidents.jsonl" --decisions "$dir/decisions.jsonl" 2>"$dir/eval.err"; then
  echo "FAIL: malformed decision accepted"; exit 1
fi
grep -q "decisions.jsonl:5: 'alert' is not a boolean" "$dir/eval.err" || { cat "$dir/eval.err"; exit 1; }
echo "detect_cli_test: ok"
