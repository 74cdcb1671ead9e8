#!/usr/bin/env python3
"""Reference: point-in-time join with pandas.merge_asof over the same history and spine.

For each spine row (entity, timestamp, label), the latest history row of that entity with
window_end <= timestamp, absent when timestamp - window_end > TTL (merge_asof's tolerance
is inclusive, as is dnsight's TTL). Output: the spine's columns in spine order, then
"<view>__window_end" and the feature columns, like `dnsight features historical`.

Usage: pandas_pit.py SPINE.csv HIST.csv OUT.csv VIEW TTL (e.g. 10m)
Prints one line of timings (seconds since the script started, after `import pandas`).
"""
import sys
import time

t_start = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

spine_path, hist_path, out_path, view, ttl = sys.argv[1:6]
t0 = time.perf_counter()
spine = pd.read_csv(spine_path, dtype={"entity": str, "label": str, "timestamp": str})
spine["ts"] = pd.to_datetime(spine["timestamp"], utc=True)
# round_trip: the same doubles dnsight stores (the default parser was 1 ulp off on ~11% of
# the bench history's values; round_trip costs about 0.7 s there).
hist = pd.read_csv(hist_path, dtype={"entity": str}, float_precision="round_trip")
hist["ts"] = pd.to_datetime(hist["window_end"], unit="ns", utc=True)
hist = hist.drop(columns=["window_end"])
hist.insert(1, f"{view}__window_end", hist["ts"])
t_read = time.perf_counter()

spine["_row"] = np.arange(len(spine))
left = spine.sort_values("ts", kind="stable")
right = hist.sort_values("ts", kind="stable")  # stable: of equal window ends the last written wins
t_sort = time.perf_counter()
joined = pd.merge_asof(left, right, on="ts", by="entity", direction="backward",
                       allow_exact_matches=True, tolerance=pd.Timedelta(ttl))
t_merge = time.perf_counter()
joined = joined.sort_values("_row").drop(columns=["_row", "ts"])
t_join = time.perf_counter()

joined.to_csv(out_path, index=False)
t_end = time.perf_counter()
print(f"import {t0 - t_start:.3f} read+parse {t_read - t0:.3f} sort {t_sort - t_read:.3f} "
      f"merge_asof {t_merge - t_sort:.3f} reorder {t_join - t_merge:.3f} "
      f"write {t_end - t_join:.3f} total_after_import {t_end - t0:.3f} "
      f"join_only {t_join - t_read:.3f} rows {len(joined)}")
