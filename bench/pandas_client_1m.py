#!/usr/bin/env python3
"""Reference: per-client 1-minute aggregates with pandas over the same JSON lines.

Computes, per (client, minute): query count, NXDOMAIN ratio, mean latency and distinct
qnames — the same as bench/client_1m.yaml — and prints rows and elapsed seconds.
Usage: pandas_client_1m.py events.jsonl out.csv
"""
import sys
import time

import pandas as pd

t0 = time.perf_counter()
df = pd.read_json(sys.argv[1], lines=True)
df["minute"] = df["ts_ns"] // 60_000_000_000
df["nx"] = (df["rcode"] == "NXDOMAIN").astype("int64")
g = df.groupby(["client", "minute"], sort=True)
out = pd.DataFrame({
    "queries": g.size(),
    "nxdomain_ratio": g["nx"].mean(),
    "latency_mean": g["latency_ms"].mean(),
    "unique_qnames": g["qname"].nunique(),
})
out.to_csv(sys.argv[2])
elapsed = time.perf_counter() - t0
print(f"pandas rows={len(out)} queries={int(out['queries'].sum())} seconds={elapsed:.3f}")
