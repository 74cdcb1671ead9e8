#!/usr/bin/env bash
# End to end with a real resolver: unbound answers queries on loopback and streams dnstap
# to `dnsight run` over a unix socket; kdig sends a known mix of queries; the features
# dnsight writes must add up to exactly that mix.
# Usage: unbound_features_test.sh PATH_TO_DNSIGHT   (exit 77 = skipped)
set -euo pipefail
dnsight=$(realpath "$1")
command -v unbound >/dev/null || { echo "unbound not installed: skip"; exit 77; }
command -v kdig >/dev/null || { echo "kdig not installed: skip"; exit 77; }

dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >"$dir/dnsight.yaml" <<YAML
engine:
  pane: 2s
  fine_window_limit: 1h
  watermark_delay: 1s
  idle_advance: 2s
views:
  - name: domain
    entity: registered_domain
    windows: [1h]
    aggregations:
      - {name: queries, kind: count}
      - {name: nxdomain_ratio, kind: ratio, where: {rcode: [NXDOMAIN]}}
      - {name: txt_ratio, kind: ratio, where: {qtype: [TXT]}}
      - {name: unique_subdomains, kind: distinct, field: subdomain}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.5, 0.99]}
      - {name: ttl_min, kind: min, field: ttl}
  - name: client
    entity: client
    windows: [1h]
    aggregations:
      - {name: queries, kind: count}
      - {name: unique_domains, kind: distinct, field: registered_domain}
YAML

cat >"$dir/unbound.conf" <<CONF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$dir"
  pidfile: "$dir/unbound.pid"
  use-syslog: no
  logfile: "$dir/unbound.log"
  verbosity: 1
  module-config: "iterator"
  access-control: 127.0.0.0/8 allow
  local-zone: "ready.test." static
  local-data: "probe.ready.test. 60 IN A 192.0.2.1"
  local-zone: "example.test." static
  local-data: "www.example.test. 300 IN A 192.0.2.10"
  local-data: "mail.example.test. 120 IN A 192.0.2.11"
  local-data: "example.test. 300 IN TXT \"v=test\""
  local-zone: "nx.test." always_nxdomain
dnstap:
  dnstap-enable: yes
  dnstap-socket-path: "$dir/dnstap.sock"
  dnstap-send-identity: yes
  dnstap-log-client-query-messages: yes
  dnstap-log-client-response-messages: yes
remote-control:
  control-enable: no
CONF

"$dnsight" run --config "$dir/dnsight.yaml" --source "dnstap_unix:$dir/dnstap.sock" \
  --features "$dir/features.jsonl" --counters "$dir/counters.json" 2>"$dir/dnsight.log" &
dnsight_pid=$!
pids+=("$dnsight_pid")
for _ in $(seq 100); do [ -S "$dir/dnstap.sock" ] && break; sleep 0.1; done
[ -S "$dir/dnstap.sock" ] || { echo "dnsight did not create its socket"; cat "$dir/dnsight.log"; exit 1; }

unbound -d -c "$dir/unbound.conf" 2>"$dir/unbound.stderr" &
pids+=("$!")
probes=0
for _ in $(seq 100); do
  probes=$((probes + 1))
  if kdig @127.0.0.1 -p "$port" +notcp +retry=0 +timeout=1 probe.ready.test A 2>/dev/null | grep -q "192.0.2.1"; then
    break
  fi
  sleep 0.1
done

q() { kdig @127.0.0.1 -p "$port" +notcp +retry=0 +timeout=2 "$@" >/dev/null; }
for i in $(seq 20); do q www.example.test A; done
for i in $(seq 5); do q mail.example.test A; done
for i in $(seq 5); do q example.test TXT; done
for i in $(seq 10); do q "host$i.nx.test" A; done

# unbound's dnstap thread writes in the background: give it time to drain before it is
# stopped, then stop dnsight (it closes every pane).
sleep 2
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
# Live input has gone quiet: idle_advance must close the last panes while dnsight is
# still running, so the rows are there before it stops.
for _ in $(seq 100); do
  grep '"entity":"nx.test"' "$dir/features.jsonl" 2>/dev/null | grep -q '"queries_1h":10' && break
  sleep 0.1
done
cp "$dir/features.jsonl" "$dir/features_live.jsonl"
kill "$dnsight_pid"; wait "$dnsight_pid" || { echo "dnsight exited non-zero"; cat "$dir/dnsight.log"; exit 1; }

python3 - "$dir/features_live.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = {}
for r in rows:
    last[(r["view"], r["entity"])] = r["features"]
ex, nx = last.get(("domain", "example.test")), last.get(("domain", "nx.test"))
if not ex or not nx or ex["queries_1h"] != 30 or nx["queries_1h"] != 10:
    print("FAIL: rows written while running are incomplete:", ex, nx)
    sys.exit(1)
print("ok: %d rows written while dnsight was still running" % len(rows))
PY

python3 - "$dir/features.jsonl" "$dir/counters.json" "$probes" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
counters = json.load(open(sys.argv[2]))
probes = int(sys.argv[3])
last = {}
for r in rows:
    last[(r["view"], r["entity"])] = r["features"]
def check(cond, msg):
    if not cond:
        print("FAIL:", msg)
        print(json.dumps({'%s/%s' % k: v for k, v in last.items()}, indent=1)[:4000])
        print(json.dumps(counters))
        sys.exit(1)
ex = last.get(("domain", "example.test"))
nx = last.get(("domain", "nx.test"))
ready = last.get(("domain", "ready.test"))
cl = last.get(("client", "127.0.0.1"))
check(ex and nx and ready and cl, "missing entities")
check(ex["queries_1h"] == 30, "example.test queries %s != 30" % ex["queries_1h"])
check(ex["txt_ratio_1h"] == 5 / 30, "txt ratio %s" % ex["txt_ratio_1h"])
check(ex["nxdomain_ratio_1h"] == 0, "example.test nxdomain ratio")
check(ex["unique_subdomains_1h"] == 2, "subdomains www, mail: %s" % ex["unique_subdomains_1h"])
check(ex["ttl_min_1h"] == 120, "ttl min %s" % ex["ttl_min_1h"])
check(ex["latency_ms_p50_1h"] is not None and ex["latency_ms_p50_1h"] >= 0, "latency")
check(nx["queries_1h"] == 10 and nx["nxdomain_ratio_1h"] == 1, "nx.test %s" % nx)
check(nx["unique_subdomains_1h"] == 10, "nx.test subdomains %s" % nx["unique_subdomains_1h"])
check(1 <= ready["queries_1h"] <= probes, "probe count %s of %d" % (ready["queries_1h"], probes))
check(cl["queries_1h"] == 40 + ready["queries_1h"], "client total %s" % cl["queries_1h"])
check(cl["unique_domains_1h"] == 3, "client domains %s" % cl["unique_domains_1h"])
src = counters["sources"][0]
check(src["malformed"] == {}, "malformed %s" % src["malformed"])
print("ok: %d rows; example.test %s" % (len(rows), {k: ex[k] for k in sorted(ex)}))
PY
