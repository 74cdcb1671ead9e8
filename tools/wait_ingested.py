#!/usr/bin/env python3
"""Waits until a running dnsight has taken in every line of its inputs, by reading
dnsight_ingest_events_total from /metrics: the DNS JSON-lines source(s) must reach
--dns events and the web log source(s) --web requests.

  wait_ingested.py --metrics http://127.0.0.1:8080/metrics --dns 282149 --web 129805

Exit 0 when both are reached, 1 at --timeout (printing what was seen)."""
import argparse
import re
import sys
import time
import urllib.request

PATTERN = re.compile(r'dnsight_ingest_events_total\{source="(jsonl|web):[^"]*"\} (\d+)')


def counts(url):
    seen = {"jsonl": 0, "web": 0}
    try:
        for line in urllib.request.urlopen(url, timeout=5).read().decode().splitlines():
            m = PATTERN.match(line)
            if m:
                seen[m.group(1)] += int(m.group(2))
    except OSError:
        pass
    return seen["jsonl"], seen["web"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--dns", type=int, required=True)
    ap.add_argument("--web", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--progress", action="store_true", help="print a dot per second")
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    while True:
        got = counts(a.metrics)
        if got == (a.dns, a.web):
            return 0
        if time.time() > deadline:
            print(f"ingested (dns, web) = {got}, wanted {(a.dns, a.web)}", file=sys.stderr)
            return 1
        if a.progress:
            print(".", end="", flush=True)
        time.sleep(1 if a.progress else 0.5)


if __name__ == "__main__":
    sys.exit(main())
