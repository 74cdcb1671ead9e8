#!/usr/bin/env python3
"""Writes a synthetic nginx access log (combined format plus key=value extras) for a
small hosting fleet, with labelled incidents, for the demo and the hosting tests.

  gen_weblog.py --start 2026-11-23T10:00:00Z --hours 6 --out access.log \
      --incidents incidents.jsonl

Services shop.example.com and api.example.com sit behind edge-1..edge-3. Incidents:
  origin_errors  api.example.com answers 5xx for 30 minutes (an application fault)
  edge_latency   edge-2 adds latency to everything it serves for 20 minutes
Deterministic for a given --seed.
"""
import argparse
import datetime as dt
import json
import random

SERVICES = {"shop.example.com": 6.0, "api.example.com": 4.0}  # requests/s
NODES = ["edge-1", "edge-2", "edge-3"]
PATHS = {"shop.example.com": ["/", "/cart", "/img/logo.png", "/checkout"],
         "api.example.com": ["/v1/items", "/v1/users/me", "/v1/orders"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", required=True)
    ap.add_argument("--hours", type=float, default=6)
    ap.add_argument("--out", required=True)
    ap.add_argument("--incidents", default="")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    start = dt.datetime.fromisoformat(a.start.replace("Z", "+00:00"))
    span = a.hours * 3600
    # Incidents after a warm-up of a third of the span.
    err_from, err_to = span * 0.45, span * 0.45 + 1800
    lat_from, lat_to = span * 0.70, span * 0.70 + 1200
    incidents = [
        ("origin_errors", "api.example.com", err_from, err_to),
        ("edge_latency", "edge-2", lat_from, lat_to),
    ]
    with open(a.out, "w") as out:
        t = 0.0
        total = sum(SERVICES.values())
        while t < span:
            t += rnd.expovariate(total)
            svc = rnd.choices(list(SERVICES), weights=list(SERVICES.values()))[0]
            node = rnd.choice(NODES)
            up = rnd.lognormvariate(-3.5, 0.5)  # origin seconds, ~30 ms
            status = 200 if rnd.random() > 0.01 else rnd.choice([404, 404, 403, 500])
            if svc == "api.example.com" and err_from <= t < err_to and rnd.random() < 0.35:
                status = rnd.choice([500, 502, 503])
            edge = rnd.lognormvariate(-6, 0.4)
            if node == "edge-2" and lat_from <= t < lat_to:
                edge += rnd.uniform(0.2, 0.6)
            cache = rnd.choice(["HIT", "HIT", "HIT", "MISS"]) if svc == "shop.example.com" else "-"
            if cache == "HIT":
                up_text, rt = "-", edge
            else:
                up_text, rt = "%.3f" % up, up + edge
            when = start + dt.timedelta(seconds=t)
            stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
            path = rnd.choice(PATHS[svc])
            size = rnd.randint(200, 40000) if status == 200 else rnd.randint(100, 600)
            rl = rnd.randint(300, 900)
            client = "203.0.113.%d" % rnd.randint(1, 250)
            out.write(
                f'{client} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} "-" '
                f'"Mozilla/5.0" rt={rt:.3f} urt={up_text} us={"-" if up_text == "-" else status} '
                f'cs={cache} host={svc} node={node} rl={rl}\n')
    if a.incidents:
        with open(a.incidents, "w") as f:
            for i, (cls, scope, t0, t1) in enumerate(incidents):
                s = start + dt.timedelta(seconds=t0)
                e = start + dt.timedelta(seconds=t1)
                f.write(json.dumps({
                    "id": f"web-{i + 1}", "class": cls, "benign": False,
                    "scope": {"kind": "service" if "." in scope else "node", "value": scope},
                    "start": s.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "start_ns": int(s.timestamp()) * 10**9,
                    "end": e.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "end_ns": int(e.timestamp()) * 10**9}) + "\n")


if __name__ == "__main__":
    main()
