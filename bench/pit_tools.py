#!/usr/bin/env python3
"""Helpers for bench/pit_bench.sh (point-in-time retrieval). None of this is timed.

  pit_tools.py convert HIST.jsonl HIST.csv VIEW
      `dnsight features export` JSON lines -> CSV: entity, window_end (integer ns), then
      "<view>__<feature>" columns. Floats are written with repr(), which round-trips.
  pit_tools.py spine HIST.csv SPINE.csv ROWS SEED TTL_NS
      A spine of exactly ROWS rows (entity,timestamp,label), in random order:
        - per history entity, four edge rows, labelled by kind:
            edge_before  first window end - 1 ns   (no row at or before: absent)
            edge_exact   first window end           (equal counts: matched)
            edge_ttl     last window end + TTL      (TTL is inclusive: matched)
            edge_expired last window end + TTL + 1 ns (expired: absent)
        - the rest: entity drawn uniformly from the history's entities, about 5% from
          entities with no history; timestamp uniform (ns) over [first, last] window end of
          the whole history; label 0/1.
      Timestamps are RFC 3339 with 9 fractional digits and Z.
  pit_tools.py verify SPINE.csv HIST.csv DNSIGHT.csv PANDAS.csv VIEW TTL_NS
      Checks, row by row, that both training sets agree (see verify()). Exits 1 if not.
"""
import bisect
import json
import sys

import numpy as np
import pandas as pd


def to_ns(series):
    """RFC 3339 strings (or NaN/empty) -> int64 ns, with INT64_MIN for absent."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(series, dtype=object), utc=True))
    return idx.tz_localize(None).asi8.copy()  # NaT is INT64_MIN


def convert(src, dst, view):
    entities, ends, rows = [], [], []
    names = None
    with open(src) as f:
        for line in f:
            o = json.loads(line)
            feats = o["features"]
            if names is None:
                names = list(feats)
            elif list(feats) != names:
                sys.exit(f"convert: feature names differ at entity {o['entity']}")
            entities.append(o["entity"])
            ends.append(o["window_end"])
            rows.append([np.nan if feats[n] is None else float(feats[n]) for n in names])
    df = pd.DataFrame(np.array(rows, dtype="float64"), columns=[f"{view}__{n}" for n in names])
    df.insert(0, "window_end", to_ns(pd.Series(ends)))
    df.insert(0, "entity", entities)
    # float_format=None writes repr(float): shortest text that parses back to the same double.
    df.to_csv(dst, index=False)
    dup = df.duplicated(["entity", "window_end"]).sum()
    print(f"history: {len(df)} rows, {df['entity'].nunique()} entities, {len(names)} features, "
          f"{dup} duplicate (entity, window_end)")


def spine(hist_csv, dst, n_rows, seed, ttl_ns):
    h = pd.read_csv(hist_csv, usecols=["entity", "window_end"], dtype={"entity": str})
    g = h.groupby("entity")["window_end"]
    first, last = g.min(), g.max()
    ents = first.index.to_numpy()
    rng = np.random.default_rng(seed)
    edge_e = np.concatenate([ents] * 4)
    edge_t = np.concatenate([first.to_numpy() - 1, first.to_numpy(), last.to_numpy() + ttl_ns,
                             last.to_numpy() + ttl_ns + 1])
    edge_l = np.repeat(np.array(["edge_before", "edge_exact", "edge_ttl", "edge_expired"]),
                       len(ents))
    n_rand = n_rows - len(edge_e)
    assert n_rand > 0
    unknown = rng.random(n_rand) < 0.05
    e = ents[rng.integers(0, len(ents), n_rand)].astype(object)
    e[unknown] = np.array([f"10.{a}.{b}.{c}" for a, b, c in
                           rng.integers(0, 256, (int(unknown.sum()), 3))], dtype=object)
    lo, hi = int(h["window_end"].min()), int(h["window_end"].max())
    t = rng.integers(lo, hi + 1, n_rand, dtype=np.int64)
    lab = rng.integers(0, 2, n_rand).astype(str).astype(object)
    all_e = np.concatenate([edge_e.astype(object), e])
    all_t = np.concatenate([edge_t, t])
    all_l = np.concatenate([edge_l.astype(object), lab])
    order = rng.permutation(n_rows)
    ts_text = np.char.add(np.datetime_as_string(all_t[order].astype("datetime64[ns]"), unit="ns"),
                          "Z")
    pd.DataFrame({"entity": all_e[order], "timestamp": ts_text, "label": all_l[order]}).to_csv(
        dst, index=False)
    print(f"spine: {n_rows} rows ({len(edge_e)} edge rows over {len(ents)} entities, "
          f"{int(unknown.sum())} rows of unknown entities)")


def read_out(path, view):
    """A training set CSV -> DataFrame with exact floats and window_end as int ns."""
    df = pd.read_csv(path, dtype={"entity": str, "label": str, "timestamp": str},
                     keep_default_na=False, na_values=[""],  # only "" is absent
                     float_precision="round_trip", low_memory=False)
    we = f"{view}__window_end"
    df[we] = to_ns(df[we])
    return df


def verify(spine_csv, hist_csv, dn_csv, pd_csv, view, ttl_ns):
    fail = []
    sp = pd.read_csv(spine_csv, dtype=str, keep_default_na=False)
    sp_ts = to_ns(sp["timestamp"])
    hist = pd.read_csv(hist_csv, dtype={"entity": str}, float_precision="round_trip")
    feats = [c for c in hist.columns if c.startswith(view + "__")]
    we = f"{view}__window_end"
    dn = read_out(dn_csv, view)
    pn = read_out(pd_csv, view)
    n = len(sp)
    for name, df in (("dnsight", dn), ("pandas", pn)):
        if len(df) != n:
            fail.append(f"{name}: {len(df)} rows, spine has {n}")
            continue
        missing = [c for c in feats + [we] if c not in df.columns]
        if missing:
            fail.append(f"{name}: missing columns {missing[:5]}")
            continue
        for c in ("entity", "label"):
            if not (df[c].to_numpy() == sp[c].to_numpy()).all():
                fail.append(f"{name}: column {c} differs from the spine (order or text)")
        if not (to_ns(df["timestamp"]) == sp_ts).all():
            fail.append(f"{name}: timestamps differ from the spine")
        # Numeric columns must be numbers or empty, nothing else (e.g. no "null" text).
        for c in feats:
            if df[c].dtype.kind != "f":
                fail.append(f"{name}: column {c} is not numeric (dtype {df[c].dtype})")
    if fail:
        print("VERIFY FAILED:\n  " + "\n  ".join(fail))
        sys.exit(1)

    # 1. Same matched row for every spine row.
    dn_we, pn_we = dn[we].to_numpy(), pn[we].to_numpy()
    bad = np.flatnonzero(dn_we != pn_we)
    if len(bad):
        fail.append(f"{len(bad)} rows with a different matched window end, e.g. rows "
                    f"{bad[:5].tolist()}: dnsight {dn_we[bad[:5]].tolist()} "
                    f"pandas {pn_we[bad[:5]].tolist()}")
    absent = dn_we == np.iinfo(np.int64).min
    # 2. Semantics on every matched row: window_end <= ts and ts - window_end <= TTL.
    m = ~absent
    if (dn_we[m] > sp_ts[m]).any():
        fail.append("dnsight matched a window ending after the spine timestamp (look-ahead)")
    if (sp_ts[m] - dn_we[m] > ttl_ns).any():
        fail.append("dnsight matched a window older than the TTL")
    # 3. Values: dnsight's must be exactly the history row's (entity, window_end); pandas'
    # exactly dnsight's. NaN where absent, on both sides.
    key = hist[["entity", "window_end"]].copy()
    key["_h"] = np.arange(len(hist))
    key = key.drop_duplicates(["entity", "window_end"], keep="last")
    j = pd.DataFrame({"entity": dn["entity"], "window_end": dn_we}).merge(
        key, on=["entity", "window_end"], how="left")["_h"].to_numpy()
    if np.isnan(j[m]).any():
        fail.append("dnsight matched a (entity, window_end) that is not in the history")
    hv = hist[feats].to_numpy()
    dv, pv = dn[feats].to_numpy(), pn[feats].to_numpy()
    expect = np.full_like(dv, np.nan)
    ok_rows = m & ~np.isnan(j)
    expect[ok_rows] = hv[j[ok_rows].astype(np.int64)]
    ne_d = ~((dv == expect) | (np.isnan(dv) & np.isnan(expect)))
    ne_p = ~((pv == dv) | (np.isnan(pv) & np.isnan(dv)))
    if ne_d.any():
        r, c = np.nonzero(ne_d)
        fail.append(f"{ne_d.sum()} dnsight values differ from the history row, e.g. row {r[0]} "
                    f"{feats[c[0]]}: {dv[r[0], c[0]]!r} vs {expect[r[0], c[0]]!r}")
    if ne_p.any():
        r, c = np.nonzero(ne_p)
        fail.append(f"{ne_p.sum()} pandas values differ from dnsight's, e.g. row {r[0]} "
                    f"{feats[c[0]]}: {pv[r[0], c[0]]!r} vs {dv[r[0], c[0]]!r}")
    if np.isnan(dv[absent]).sum() != absent.sum() * len(feats):
        fail.append("dnsight has values on rows without a matched window")
    # 4. Edge rows: the expected outcome by construction.
    lab = sp["label"].to_numpy()
    for kind, want_match in (("edge_before", False), ("edge_exact", True), ("edge_ttl", True),
                             ("edge_expired", False)):
        sel = lab == kind
        got = (~absent[sel]).sum()
        if got != (sel.sum() if want_match else 0):
            fail.append(f"{kind}: {got} of {sel.sum()} rows matched, expected "
                        f"{'all' if want_match else 'none'}")
        if kind == "edge_exact" and (dn_we[sel] != sp_ts[sel]).any():
            fail.append("edge_exact rows did not match the window ending at their timestamp")
    # 5. An independent brute-force join (bisect per row) on a sample of 20,000 rows.
    idx = {}
    for e, w, h in zip(hist["entity"].to_numpy(), hist["window_end"].to_numpy(),
                       range(len(hist))):
        idx.setdefault(e, []).append((int(w), h))
    for v in idx.values():
        v.sort(key=lambda p: p[0])  # stable: the last written of equal ends stays last
    rng = np.random.default_rng(0)
    sample = rng.choice(n, size=min(n, 20000), replace=False)
    brute_bad = 0
    for i in sample:
        rows = idx.get(sp["entity"].iat[i], [])
        t = int(sp_ts[i])
        k = bisect.bisect_right([w for w, _ in rows], t)
        want = rows[k - 1][0] if k and t - rows[k - 1][0] <= ttl_ns else np.iinfo(np.int64).min
        if want != dn_we[i]:
            brute_bad += 1
    if brute_bad:
        fail.append(f"brute-force join disagrees with dnsight on {brute_bad} of {len(sample)} "
                    "sampled rows")
    known = np.isin(sp["entity"].to_numpy(), hist["entity"].unique())
    print(f"verify: {n} rows x {len(feats)} features; matched {int(m.sum())}, absent "
          f"{int(absent.sum())} (of which {int((~known).sum())} unknown entities, "
          f"{int((absent & known).sum())} known but nothing at/before or older than the TTL); "
          f"brute-force sample {len(sample)} rows")
    if fail:
        print("VERIFY FAILED:\n  " + "\n  ".join(fail))
        sys.exit(1)
    print("verify: OK: dnsight and pandas agree on every row and value")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "convert":
        convert(args[0], args[1], args[2])
    elif cmd == "spine":
        spine(args[0], args[1], int(args[2]), int(args[3]), int(args[4]))
    elif cmd == "verify":
        verify(args[0], args[1], args[2], args[3], args[4], int(args[5]))
    else:
        sys.exit(__doc__)
