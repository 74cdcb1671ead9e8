#!/usr/bin/env bash
# Feature store serving: online get latency in process and over HTTP, each beside a
# reference on the same input in the same run.
#   1. data: generated JSON lines (SERVE_CLIENTS clients, the last 10 minutes of wall-clock
#      time) -> `dnsight backfill --online` of one client view with exactly 50 features
#      (25 aggregations x windows [1m, 5m], ttl 1h), so every vector is fresh when read;
#   2. in process (dnsight_microbench, Google Benchmark): FeatureService::GetFeatures and the
#      embedded store's Get/MultiGet for 1 and 100 entities x 50 features over 100k entities,
#      beside a std::unordered_map lookup + copy (bench/online_store_bench.cc);
#   3. over HTTP: `dnsight serve` on a free loopback port, driven open loop by
#      dnsight_http_load from a second process at a fixed rate: /v1/features/get (1 entity)
#      at GET_QPS and /v1/features/batch (100 entities) at BATCH_QPS, entities from the store
#      in shuffled order, with a reader token (auth and the audit log are on, as deployed);
#   4. reference: nginx on another free loopback port, its own prefix and config in a
#      temporary directory, serving as static files one captured /get and one /batch
#      response (the same bytes), driven by the same dnsight_http_load at the same rate
#      over the same number of connections (access log on, as dnsight's audit log is).
# Ratios: dnsight p99 / reference p99 for each shape.
# Usage: bench/serve_bench.sh BUILD_DIR
#   (SERVE_CLIENTS, SERVE_EVENTS, GET_QPS, BATCH_QPS, LOAD_SECONDS, CONNECTIONS, API_THREADS
#    change the sizes)
set -euo pipefail
build=${1:-build}
clients=${SERVE_CLIENTS:-10000}
events=${SERVE_EVENTS:-200000}
get_qps=${GET_QPS:-5000}
batch_qps=${BATCH_QPS:-200}
seconds=${LOAD_SECONDS:-20}
conns=${CONNECTIONS:-4}
api_threads=${API_THREADS:-8}  # >= CONNECTIONS: one request thread per keep-alive connection
batch=100
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/bench/serve"
dir=$(realpath "$build/bench/serve")
dnsight=$(realpath "$build/dnsight")
load=$(realpath "$build/dnsight_http_load")
micro="$build/dnsight_microbench"

serve_pid="" ngx_pid="" ngx_dir=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  [ -n "$ngx_pid" ] && kill -QUIT "$ngx_pid" 2>/dev/null && wait "$ngx_pid" 2>/dev/null
  [ -n "$ngx_dir" ] && rm -rf "$ngx_dir"
  return 0
}
trap cleanup EXIT

echo
echo "== feature store serving: $clients clients x 50 features =="

# 1. Data, regenerated every run: values must be fresh at read time.
start_ns=$(( ($(date +%s) - 660) * 1000000000 ))
python3 "$here/../tools/gen_traffic.py" --format jsonl --events "$events" --clients "$clients" \
  --duration-s 600 --start-ns "$start_ns" --seed 11 --out "$dir/traffic.jsonl"
cfg="$dir/serve.yaml"
cat >"$cfg" <<EOF
# Written by bench/serve_bench.sh: one client view, 25 aggregations x 2 windows = 50 features.
store: {path: $dir/store}
api:
  listen: 127.0.0.1:0
  threads: $api_threads
  tokens:
    - {name: bench, role: reader, token: bench-secret}
engine: {threads: 1, pane: 10s, watermark_delay: 2s}
views:
  - name: client
    entity: client
    ttl: 1h
    windows: [1m, 5m]
    aggregations:
      - {name: queries, kind: count}
      - {name: query_rate, kind: rate}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
      - {name: servfail_ratio, kind: ratio, where: {rcode: [SERVFAIL]}}
      - {name: noerror_ratio, kind: ratio, where: {rcode: [NOERROR]}}
      - {name: txt_ratio, kind: ratio, where: {qtype: [TXT]}}
      - {name: aaaa_ratio, kind: ratio, where: {qtype: [AAAA]}}
      - {name: https_ratio, kind: ratio, where: {qtype: [HTTPS]}}
      - {name: rcode_entropy, kind: entropy, field: rcode}
      - {name: qtype_entropy, kind: entropy, field: qtype}
      - {name: unique_qnames, kind: distinct, field: qname}
      - {name: unique_domains, kind: distinct, field: registered_domain}
      - {name: qname_length_mean, kind: mean, field: qname_length}
      - {name: qname_length_var, kind: variance, field: qname_length}
      - {name: qname_length_max, kind: max, field: qname_length}
      - {name: label_entropy_mean, kind: mean, field: label_entropy}
      - {name: label_entropy_max, kind: max, field: label_entropy}
      - {name: label_count_mean, kind: mean, field: label_count}
      - {name: latency_ms_mean, kind: mean, field: latency_ms}
      - {name: latency_ms_max, kind: max, field: latency_ms}
      - {name: ttl_min, kind: min, field: ttl}
      - {name: ttl_mean, kind: mean, field: ttl}
      - {name: subdomain_length_mean, kind: mean, field: subdomain_length}
      - {name: new_domain_sum, kind: sum, field: new_domain}
      - {name: answer_count_mean, kind: mean, field: answer_count}
EOF
rm -rf "$dir/store"
"$dnsight" backfill --config "$cfg" --source "jsonl:$dir/traffic.jsonl" --online \
  --features /dev/null 2>"$dir/backfill.err" || { cat "$dir/backfill.err"; exit 1; }
# Every client of the input, shuffled (fixed seed): the load walks this list.
python3 - "$dir/traffic.jsonl" "$dir/entities.txt" <<'PY'
import json, random, sys
clients = sorted({json.loads(line)["client"] for line in open(sys.argv[1])})
random.Random(5).shuffle(clients)
open(sys.argv[2], "w").write("\n".join(clients) + "\n")
PY
echo "store: $(wc -l <"$dir/entities.txt") entities, $("$dnsight" registry list --config "$cfg" \
  2>/dev/null | awk '$1 == "client" {print $4}') features in view client"

# 2. In process.
if [ -x "$micro" ]; then
  "$micro" --benchmark_filter='BM_(EmbeddedLookup|FeatureServiceGet|ReferenceLookup)' \
    --benchmark_out="$dir/inprocess.json" --benchmark_out_format=json >/dev/null 2>"$dir/micro.err" ||
    { cat "$dir/micro.err"; exit 1; }
  python3 - "$dir/inprocess.json" <<'PY'
import json, sys
rows = {b["name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
print("\n%-58s %9s %9s" % ("in process, 100k entities x 50 features (per call)", "p50 us", "p99 us"))
label = {"BM_FeatureServiceGet": "FeatureService::GetFeatures",
         "BM_EmbeddedLookup": "embedded online store Get / MultiGet",
         "BM_ReferenceLookup": "reference: unordered_map find + copy"}
for n in (1, 100):
    for bm in ("BM_FeatureServiceGet", "BM_EmbeddedLookup", "BM_ReferenceLookup"):
        r = rows.get("%s/entities:%d" % (bm, n))
        if r is None or r.get("error_occurred"):
            print("%-58s %s" % ("%s, %d entit%s" % (label[bm], n, "y" if n == 1 else "ies"),
                                r.get("error_message", "missing") if r else "missing"))
            continue
        print("%-58s %9.2f %9.2f" % ("%s, %d entit%s" % (label[bm], n, "y" if n == 1 else "ies"),
                                    r["p50_us"], r["p99_us"]))
    ref = rows.get("BM_ReferenceLookup/entities:%d" % n, {})
    if "service_over_ref_p99" in ref:
        print("  ratio FeatureService / reference, %d entit%s: p50 %.2fx, p99 %.2fx" % (
            n, "y" if n == 1 else "ies", ref["service_over_ref_p50"], ref["service_over_ref_p99"]))
svc = rows.get("BM_FeatureServiceGet/entities:1")
if svc and not svc.get("error_occurred"):
    print("  goal: in-process p99 < 20 us (1 entity): %s (%.2f us)" % (
        "met" if svc["p99_us"] < 20 else "NOT met", svc["p99_us"]))
PY
else
  echo "in process: $micro not built (needs libbenchmark-dev); skipped"
fi

# 3. and 4. Over HTTP.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
"$dnsight" serve --config "$cfg" 2>"$dir/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/serve.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/serve.err"; exit 1; }
api="http://127.0.0.1:$port"
auth="Authorization: Bearer bench-secret"
# The reference serves these exact bytes: one /get and one /batch answer from this store.
head -n1 "$dir/entities.txt" | python3 -c 'import json, sys; print(json.dumps({"views": ["client"], "entity": sys.stdin.read().strip()}))' >"$dir/get_req.json"
head -n "$batch" "$dir/entities.txt" | python3 -c 'import json, sys; print(json.dumps({"views": ["client"], "entities": sys.stdin.read().split()}))' >"$dir/batch_req.json"
curl -sf -H "$auth" -d @"$dir/get_req.json" "$api/v1/features/get" >"$dir/get.json"
curl -sf -H "$auth" -d @"$dir/batch_req.json" "$api/v1/features/batch" >"$dir/batch.json"
python3 - "$dir/get.json" "$dir/batch.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["views"]["client"]
b = json.load(open(sys.argv[2]))["results"]
assert g["status"] == "fresh" and len(g["features"]) == 50, g
assert len(b) == 100 and all(r["views"]["client"]["status"] == "fresh" for r in b), "batch not fresh"
PY

ngx_port=""
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  ngx=$(command -v nginx || echo /usr/sbin/nginx)
  ngx_dir=$(mktemp -d /tmp/dnsight-bench-nginx-XXXXXX)
  chmod 755 "$ngx_dir"  # run as root, nginx's workers are nobody: they must read html/
  mkdir -p "$ngx_dir/html" "$ngx_dir/logs"
  cp "$dir/get.json" "$dir/batch.json" "$ngx_dir/html/"
  ngx_port=$(free_port)
  cat >"$ngx_dir/nginx.conf" <<EOF
worker_processes auto;
pid $ngx_dir/nginx.pid;
error_log $ngx_dir/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log $ngx_dir/logs/access.log;
  client_body_temp_path $ngx_dir/tmp_body;
  proxy_temp_path $ngx_dir/tmp_proxy;
  fastcgi_temp_path $ngx_dir/tmp_fastcgi;
  uwsgi_temp_path $ngx_dir/tmp_uwsgi;
  scgi_temp_path $ngx_dir/tmp_scgi;
  default_type application/json;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$ngx_port;
    root $ngx_dir/html;
  }
}
EOF
  "$ngx" -p "$ngx_dir" -c "$ngx_dir/nginx.conf" -g 'daemon off;' 2>"$ngx_dir/stderr" &
  ngx_pid=$!
  for _ in $(seq 50); do
    cmp -s <(curl -s "http://127.0.0.1:$ngx_port/get.json") "$dir/get.json" && break
    sleep 0.1
  done
  if ! cmp -s <(curl -s "http://127.0.0.1:$ngx_port/get.json") "$dir/get.json"; then
    echo "nginx did not start:"; cat "$ngx_dir/stderr" "$ngx_dir/logs/error.log" 2>/dev/null
    ngx_port=""
  fi
else
  echo "nginx is not installed (Debian package nginx; make setup installs it): no HTTP reference"
fi

# run_load NAME ARGS...: one dnsight_http_load run; output kept in $dir/NAME.txt.
run_load() {
  local name=$1; shift
  "$load" --connections "$conns" --seconds "$seconds" "$@" >"$dir/$name.txt" 2>"$dir/$name.err" || true
}
# field NAME KEY: a figure from a run's output (p50, p99, p99.9, achieved, errors, body).
field() {
  awk -v k="$2" '
    /^sent / { for (i = 1; i <= NF; i++) if ($i == "achieved") a = $(i + 1) }
    /^status:/ { gsub(",", ""); e = $6 + $9 + $12 }
    /^response body:/ { b = $3 }
    /^latency/ { for (i = 1; i < NF; i++) l[$i] = $(i + 1) }
    END {
      if (k == "achieved") print a; else if (k == "errors") print e; else if (k == "body") print b
      else print l[k] }' \
    "$dir/$1.txt"
}
row() {  # row NAME LABEL TARGET
  printf '%-52s %7s %8s %9s %9s %9s %7s\n' "$2" "$3" "$(field "$1" achieved)" \
    "$(field "$1" p50)" "$(field "$1" p99)" "$(field "$1" p99.9)" "$(field "$1" errors)"
}
ratio() { awk -v a="$(field "$1" "$3")" -v b="$(field "$2" "$3")" 'BEGIN { printf "%.2f", a / b }'; }

run_load dnsight_get --url "$api" --qps "$get_qps" --token bench-secret \
  --entities-file "$dir/entities.txt"
[ -n "$ngx_port" ] && run_load nginx_get --url "http://127.0.0.1:$ngx_port" --qps "$get_qps" \
  --method GET --path /get.json
run_load dnsight_batch --url "$api" --qps "$batch_qps" --token bench-secret --batch "$batch" \
  --entities-file "$dir/entities.txt"
[ -n "$ngx_port" ] && run_load nginx_batch --url "http://127.0.0.1:$ngx_port" --qps "$batch_qps" \
  --method GET --path /batch.json

printf '\n%-52s %7s %8s %9s %9s %9s %7s\n' \
  "HTTP, ${seconds} s open loop each, $conns connections" "target" "req/s" "p50 us" "p99 us" \
  "p99.9 us" "non-200"
# Bodies: dnsight's average over the run; nginx's one captured dnsight answer.
row dnsight_get "dnsight /v1/features/get, 1 entity ($(field dnsight_get body) B)" "$get_qps"
[ -n "$ngx_port" ] && row nginx_get "nginx, static copy of one answer ($(field nginx_get body) B)" \
  "$get_qps"
row dnsight_batch "dnsight /v1/features/batch, $batch ent. ($(field dnsight_batch body) B)" \
  "$batch_qps"
[ -n "$ngx_port" ] && row nginx_batch "nginx, static copy of one answer ($(field nginx_batch body) B)" \
  "$batch_qps"
if [ -n "$ngx_port" ]; then
  echo "  ratio dnsight p99 / nginx p99: 1 entity $(ratio dnsight_get nginx_get p99)x," \
    "$batch entities $(ratio dnsight_batch nginx_batch p99)x"
  echo "  ratio dnsight p50 / nginx p50: 1 entity $(ratio dnsight_get nginx_get p50)x," \
    "$batch entities $(ratio dnsight_batch nginx_batch p50)x"
fi
p99=$(field dnsight_get p99)
printf '  goal: HTTP 1-entity p99 < 1 ms at %s req/s: %s (%s us, %s errors, %s req/s achieved)\n' \
  "$get_qps" "$(awk -v p="$p99" -v e="$(field dnsight_get errors)" \
    'BEGIN { print (p < 1000 && e == 0) ? "met" : "NOT met" }')" "$p99" \
  "$(field dnsight_get errors)" "$(field dnsight_get achieved)"
for f in dnsight_get nginx_get dnsight_batch nginx_batch; do
  [ -s "$dir/$f.err" ] && { echo "  $f stderr:"; head -n 5 "$dir/$f.err"; }
done
exit 0
