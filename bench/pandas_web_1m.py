#!/usr/bin/env python3
"""The reference for bench/web_bench.sh: per (vhost, minute) request count, 5xx ratio and
p50/p95/p99 of $request_time from an nginx access log (combined plus key=value extras),
with pandas. Prints the number of rows it computed."""
import sys

import pandas as pd

PATTERN = (r'^\S+ \S+ \S+ \[(?P<time>[^\]]+)\] "[^"]*" (?P<status>\d{3}) \S+ "[^"]*" "[^"]*"'
           r'.*?\brt=(?P<rt>[\d.]+).*?\bhost=(?P<host>\S+)')


def main():
    lines = pd.read_csv(sys.argv[1], sep="\x01", header=None, names=["line"], dtype=str,
                        quoting=3, engine="c")["line"]
    f = lines.str.extract(PATTERN)
    f = f.dropna()
    f["ts"] = pd.to_datetime(f["time"], format="%d/%b/%Y:%H:%M:%S %z", utc=True)
    f["minute"] = f["ts"].dt.floor("1min")
    f["status"] = f["status"].astype(int)
    f["rt"] = f["rt"].astype(float)
    f["is5xx"] = f["status"] >= 500
    g = f.groupby(["host", "minute"])
    out = pd.DataFrame({
        "requests": g.size(),
        "status_5xx_ratio": g["is5xx"].mean(),
        "latency_p50": g["rt"].quantile(0.5),
        "latency_p95": g["rt"].quantile(0.95),
        "latency_p99": g["rt"].quantile(0.99),
    })
    out.to_csv("/dev/null")
    print(len(out))


if __name__ == "__main__":
    main()
