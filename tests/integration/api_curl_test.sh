#!/usr/bin/env bash
# The README's curl examples against a real `dnsight serve`: a store backfilled from
# generated traffic, tokens with roles, a sensitive view, the audit log.
# Usage: api_curl_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$dir"' EXIT

start_ns=$(( ($(date +%s) - 900) * 1000000000 ))
python3 tools/gen_traffic.py --format jsonl --events 5000 --clients 50 --duration-s 600 \
  --start-ns "$start_ns" --seed 9 --out "$dir/t.jsonl"
cat >"$dir/cfg.yaml" <<YAML
store: {path: $dir/store}
api:
  listen: 127.0.0.1:0
  tokens:
    - {name: alice, role: reader, token: reader-secret}
    - {name: bob, role: trainer, token: trainer-secret}
views:
  - name: client
    entity: client
    ttl: 1h
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
  - name: client_private
    entity: client
    sensitivity: sensitive
    allowed_roles: [trainer]
    ttl: 1h
    windows: [1m]
    aggregations:
      - {name: unique_qnames, kind: distinct, field: qname}
YAML
"$dnsight" backfill --config "$dir/cfg.yaml" --source "jsonl:$dir/t.jsonl" --online 2>/dev/null
"$dnsight" serve --config "$dir/cfg.yaml" 2>"$dir/serve.err" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/serve.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/serve.err"; exit 1; }
api="http://127.0.0.1:$port"
entity=$(head -n1 "$dir/t.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client"])')
R="Authorization: Bearer reader-secret"
T="Authorization: Bearer trainer-secret"
code() { curl -s -o "$dir/body" -w '%{http_code}' "$@"; }
expect() { # expect CODE curl-args...
  local want=$1; shift
  local got; got=$(code "$@")
  [ "$got" = "$want" ] || { echo "FAIL: $* -> $got, wanted $want: $(cat "$dir/body")"; exit 1; }
}

expect 200 "$api/v1/health"
expect 401 "$api/v1/views"
expect 200 -H "$R" "$api/v1/views"
python3 -c 'import json,sys; v={x["name"]:x for x in json.load(open(sys.argv[1]))["views"]}; assert v["client"]["readable"] and not v["client_private"]["readable"], v' "$dir/body"
expect 200 -H "$R" -d "{\"views\":[\"client\"],\"entity\":\"$entity\"}" "$api/v1/features/get"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); v=r["views"]["client"]; assert v["status"]=="fresh" and v["features"]["queries_1m"]["value"]>=1, r' "$dir/body"
expect 403 -H "$R" -d "{\"views\":[\"client_private\"],\"entity\":\"$entity\"}" "$api/v1/features/get"
expect 200 -H "$T" -d "{\"views\":[\"client_private\"],\"entity\":\"$entity\"}" "$api/v1/features/get"
expect 200 -H "$R" -d "{\"views\":[\"client\"],\"entities\":[\"$entity\",\"203.0.113.9\"]}" "$api/v1/features/batch"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; assert r[0]["found"] and not r[1]["found"], r' "$dir/body"
expect 404 -H "$R" -d '{"views":["nope"],"entity":"x"}' "$api/v1/features/get"
expect 400 -H "$R" -d '{"views":' "$api/v1/features/get"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
expect 403 -H "$R" -d "{\"views\":[\"client\"],\"rows\":[{\"entity\":\"$entity\",\"timestamp\":\"$now\"}]}" "$api/v1/features/historical"
expect 200 -H "$T" -d "{\"views\":[\"client\"],\"format\":\"csv\",\"rows\":[{\"entity\":\"$entity\",\"timestamp\":\"$now\",\"label\":1}]}" "$api/v1/features/historical"
head -n1 "$dir/body" | grep -q '^entity,timestamp,label,client__window_end,client__queries_1m' || { cat "$dir/body"; exit 1; }
expect 200 -H "$R" "$api/v1/views/client"

# One audit record per view per request: who, which view, how many entities.
python3 - "$dir/store/audit.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
batch = [r for r in recs if r["action"] == "batch_get"]
assert batch and batch[0]["who"] == "alice" and batch[0]["entities"] == 2 and batch[0]["view"] == "client", batch
denied = [r for r in recs if r["view"] == "client_private" and r["who"] == "alice"]
assert denied and denied[0]["status"] == 403, denied
hist = [r for r in recs if r["action"] == "historical" and r["who"] == "bob"]
assert hist and hist[0]["status"] == 200, hist
print(f"ok: {len(recs)} audit records")
PY
echo "ok: API answered every documented call on port $port"
