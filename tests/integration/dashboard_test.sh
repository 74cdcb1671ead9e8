#!/usr/bin/env bash
# The web dashboard in a real headless browser, against a real `dnsight run`: generated
# fleet traffic with incidents, paced into a followed JSON lines file, goes through the
# detection rules of examples/sim/detect.yaml while the API serves the dashboard from
# web/ (api.dashboard_dir) behind a token. Checks that the page's files are served (and
# nothing beside them), then that the page, opened with #token=..., loaded every endpoint
# (body data-ready="1", no panel in error, no token banner), lists decisions, drew both
# charts, and that the screenshot is not blank: the chart band has many colours and the
# events/s line's colour.
# Skips (77) without chromium, web/node_modules/uplot (npm ci in web/), curl or python3 PIL.
# Usage: dashboard_test.sh PATH_TO_DNSIGHT
set -euo pipefail
dnsight=$(realpath "$1")
cd "$(dirname "$0")/../.."
repo=$(pwd)

browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "skip: chromium not installed"; exit 77; }
[ -f web/node_modules/uplot/dist/uPlot.iife.min.js ] ||
  { echo "skip: web/node_modules/uplot missing (run: npm ci --prefix web)"; exit 77; }
command -v curl >/dev/null || { echo "skip: curl not installed"; exit 77; }
py=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import PIL' 2>/dev/null; then
    py=$candidate
    break
  fi
done
[ -n "$py" ] || { echo "skip: python3 PIL not installed (Debian: python3-pil)"; exit 77; }

dir=$(mktemp -d)
pid=""
simpid=""
cleanup() {
  local rc=$?
  if [ -n "$simpid" ]; then kill "$simpid" 2>/dev/null || true; fi
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit "$rc"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  echo "--- dnsight stderr:"; tail -n 30 "$dir/run.err" 2>/dev/null || true
  exit 1
}

# 90 simulated minutes of the default fleet with incidents early on; written at 450x real
# time (about 12 s), so the engine sees a live stream and the rates are not one spike.
cat >"$dir/scenario.yaml" <<'YAML'
span: 90m
seed: 11
incidents:
  - {class: dga, scope: [198.18.0.42, 198.18.1.7], start: 10m, duration: 70m, magnitude: 20}
  - {class: tunnelling, scope: auto, client: 198.18.2.100, start: 15m, duration: 60m, magnitude: 2}
  - {class: maintenance, scope: 192.0.2.11, start: 30m, duration: 20m}
YAML
# A first, unpaced run writes the change events (maintenance) the detectors read at start;
# the paced run writes the same events again, to a directory of its own.
"$dnsight" simulate --scenario "$dir/scenario.yaml" --out "$dir/sim" --jsonl /dev/null \
  >"$dir/sim-plan.log" 2>&1 || { cat "$dir/sim-plan.log"; fail "simulate"; }
: >"$dir/events.jsonl"
"$dnsight" simulate --scenario "$dir/scenario.yaml" --out "$dir/sim-live" \
  --jsonl "$dir/events.jsonl" --realtime-speed 450 >"$dir/sim.log" 2>&1 &
simpid=$!

# The detection config of examples/sim/detect.yaml with its change events, a store, and the
# API with the dashboard and one reader token.
sed "s#sim/changes.jsonl#$dir/sim/changes.jsonl#" examples/sim/detect.yaml >"$dir/cfg.yaml"
grep -q "$dir/sim/changes.jsonl" "$dir/cfg.yaml" || fail "examples/sim/detect.yaml: no changes path"
cat >>"$dir/cfg.yaml" <<YAML

store: {path: $dir/store}
api:
  listen: 127.0.0.1:0
  dashboard_dir: $repo/web
  tokens:
    - {name: wallboard, role: reader, token: dashboard-secret}
YAML

"$dnsight" run --config "$dir/cfg.yaml" --source "jsonl+follow:$dir/events.jsonl" \
  --decisions "$dir/decisions.jsonl" --features /dev/null 2>"$dir/run.err" &
pid=$!
port=""
for _ in $(seq 150); do
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$dir/run.err")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || fail "dnsight run exited before serving"
  sleep 0.1
done
[ -n "$port" ] || fail "dnsight run did not report its API port"
base="http://127.0.0.1:$port"
H="Authorization: Bearer dashboard-secret"

# The dashboard's files, and nothing beside them.
status() { curl -s -o "$dir/body" -D "$dir/headers" -w '%{http_code}' "$@"; }
header() { tr -d '\r' <"$dir/headers" | sed -n "s/^$1: //Ip" | head -n1; }
[ "$(status "$base/ui/")" = 200 ] || fail "GET /ui/ -> $(cat "$dir/body")"
[ "$(header Content-Type)" = "text/html; charset=utf-8" ] || fail "/ui/ Content-Type $(header Content-Type)"
[ "$(header Cache-Control)" = "no-cache" ] || fail "/ui/ Cache-Control $(header Cache-Control)"
grep -q 'vendor/uPlot.iife.min.js' "$dir/body" || fail "/ui/ does not load uPlot from vendor/"
[ "$(status "$base/ui/vendor/uPlot.iife.min.js")" = 200 ] || fail "GET /ui/vendor/uPlot.iife.min.js"
[ "$(header Content-Type)" = "text/javascript; charset=utf-8" ] || fail "uPlot Content-Type"
[ "$(status "$base/ui/vendor/uPlot.min.css")" = 200 ] || fail "GET /ui/vendor/uPlot.min.css"
[ "$(status "$base/")" = 302 ] || fail "GET / is not a redirect"
[ "$(header Location)" = "/ui/" ] || fail "GET / redirects to $(header Location)"
for path in /ui/../CMakeLists.txt /ui/%2e%2e/CMakeLists.txt /ui/vendor/ /ui/package.json; do
  [ "$(status --path-as-is "$base$path")" = 404 ] || fail "GET $path was not 404"
done

# Wait for the API to have what the page shows: a few samples of non-zero event rates and
# at least one decision.
ready=""
for _ in $(seq 90); do
  kill -0 "$pid" 2>/dev/null || fail "dnsight run exited"
  if [ "$(status -H "$H" "$base/v1/stats")" = 200 ] && cp "$dir/body" "$dir/stats.json" &&
    [ "$(status -H "$H" "$base/v1/decisions?limit=5")" = 200 ] &&
    "$py" - "$dir/stats.json" "$dir/body" <<'PY'; then
import json, sys
stats = json.load(open(sys.argv[1]))
decisions = json.load(open(sys.argv[2]))["decisions"]
rates = stats["series"]["events_per_s"]
busy = [v for v in rates if isinstance(v, (int, float)) and v > 0]
sys.exit(0 if len(busy) >= 2 and decisions else 1)
PY
    ready=1
    break
  fi
  sleep 1
done
[ -n "$ready" ] || fail "no decisions or event rates from the API in 90 s: $(head -c 600 "$dir/stats.json" 2>/dev/null)"
open_alerts() {
  curl -sf -H "$H" "$base/v1/alerts?state=open&limit=200" |
    "$py" -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]))'
}
alerts_before=$(open_alerts) || fail "GET /v1/alerts?state=open"

chrome() { # chrome PROFILE ARGS...: the page, with the token in the fragment
  local profile=$1; shift
  timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --disable-extensions --disable-quic --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$dir/$profile" \
    --window-size=1400,1000 --virtual-time-budget=8000 "$@" "$base/ui/#token=dashboard-secret"
}
chrome profile-dom --dump-dom >"$dir/dom.html" 2>"$dir/chrome-dom.err" ||
  { tail -n 20 "$dir/chrome-dom.err"; fail "chromium --dump-dom"; }
chrome profile-shot --screenshot="$dir/page.png" >/dev/null 2>"$dir/chrome-shot.err" ||
  { tail -n 20 "$dir/chrome-shot.err"; fail "chromium --screenshot"; }
alerts_after=$(open_alerts) || fail "GET /v1/alerts?state=open"

"$py" - "$dir/dom.html" "$dir/page.png" "$alerts_before" "$alerts_after" <<'PY'
import sys
from html.parser import HTMLParser
from PIL import Image

dom_path, png_path, alerts_before, alerts_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []  # ids of the open elements
        self.body = {}
        self.decisions = self.alerts = 0
        self.canvases = {}
        self.errors = []
        self.banner_hidden = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if "data-decision-id" in a:
            self.decisions += 1
        if "data-alert-id" in a:
            self.alerts += 1
        if tag == "canvas":
            for chart in ("chart-rates", "chart-scores"):
                if chart in self.stack:
                    self.canvases[chart] = self.canvases.get(chart, 0) + 1
        classes = (a.get("class") or "").split()
        if "note" in classes and "error" in classes:
            self.errors.append(a.get("data-note"))
        if a.get("id") == "auth-banner":
            self.banner_hidden = "hidden" in a
        if tag not in VOID:
            self.stack.append(a.get("id"))

    def handle_endtag(self, tag):
        if tag not in VOID and self.stack:
            self.stack.pop()


page = Page()
page.feed(open(dom_path, encoding="utf-8").read())
problems = []
if page.body.get("data-ready") != "1":
    problems.append(f"body data-ready is {page.body.get('data-ready')!r}, not '1'")
if page.decisions < 1:
    problems.append("no decision rows (data-decision-id)")
for chart in ("chart-rates", "chart-scores"):
    if not page.canvases.get(chart):
        problems.append(f"no canvas in #{chart}")
if page.errors:
    problems.append(f"panels in error: {page.errors}")
if page.banner_hidden is not True:
    problems.append("the token banner is shown")
if alerts_before and alerts_after and page.alerts < 1:
    problems.append(f"the API has {alerts_after} open alerts, the page shows none")

img = Image.open(png_path).convert("RGB")
if img.size != (1400, 1000):
    problems.append(f"screenshot is {img.size}, not 1400x1000")
colors = img.getcolors(maxcolors=1 << 20) or []
if len(colors) < 2 or max(c for c, _ in colors) > 0.95 * img.size[0] * img.size[1]:
    problems.append(f"screenshot is blank: {len(colors)} colours")
# The two charts sit side by side below the header and the totals.
band = img.crop((0, 100, img.size[0], 480))
band_colors = band.getcolors(maxcolors=1 << 20) or []
if len(band_colors) < 64:
    problems.append(f"chart band has only {len(band_colors)} colours")
# The events/s line (#1f5fbf in web/app.js): a drawn line covers hundreds of pixels, its
# legend marker alone a few dozen.
blue = (0x1F, 0x5F, 0xBF)
near = sum(n for n, (r, g, b) in band_colors
           if abs(r - blue[0]) + abs(g - blue[1]) + abs(b - blue[2]) <= 60)
if near < 150:
    problems.append(f"the events/s line is not drawn ({near} pixels of its colour)")

if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: page ready, {page.decisions} decisions, {page.alerts} alerts, "
      f"{len(band_colors)} colours in the chart band, {near} pixels of the events/s line")
PY
echo "dashboard_test: ok"
