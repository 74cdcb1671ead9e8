// ViewShard reads each event's pane from the batch's pane column when the pipeline filled
// it, and works it out from the timestamps otherwise: both must give the same rows, also
// when a run of an entity's events crosses panes and when events arrive late.
#include "engine/view_shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "common/int_math.h"
#include "engine/config.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;

std::vector<FeatureRow> RunShard(const EngineConfig& cfg, bool with_pane_column) {
  ViewShard shard(0, cfg.views[0], cfg.engine);
  std::mt19937_64 rng(9);
  std::vector<FeatureRow> rows;
  int64_t t = 1'795'428'000 * kSec;
  for (int round = 0; round < 40; ++round) {
    DnsEventBatch b;
    for (int i = 0; i < 300; ++i) {
      DnsEvent e;
      // Mostly forward in time, sometimes up to 20 s back (late, within lateness).
      t += static_cast<int64_t>(rng() % (kSec / 4));
      e.ts_ns = rng() % 40 == 0 ? t - static_cast<int64_t>(rng() % (20 * kSec)) : t;
      const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(rng() % 6)};
      e.client = IpAddress::V4(addr);
      e.min_ttl = static_cast<int64_t>(rng() % 1000);
      b.events.push_back(e);
      if (with_pane_column) b.panes.push_back(FloorDiv(e.ts_ns, cfg.engine.pane_ns));
    }
    std::vector<uint32_t> sel(b.size());
    for (uint32_t i = 0; i < sel.size(); ++i) sel[i] = i;
    shard.Add(b, sel);
    // Close what a 2 s watermark delay would close after this batch.
    shard.CloseThrough(FloorDiv(t - 2 * kSec, cfg.engine.pane_ns), &rows);
  }
  shard.CloseThrough(FloorDiv(t, cfg.engine.pane_ns) + 1, &rows);
  // Rows of one pane come in no particular order (the pipeline sorts them).
  std::sort(rows.begin(), rows.end(), [](const FeatureRow& a, const FeatureRow& b) {
    return std::tie(a.window_end_ns, a.entity_key) < std::tie(b.window_end_ns, b.entity_key);
  });
  return rows;
}

TEST(ViewShard, PaneColumnAndTimestampsGiveTheSameRows) {
  const EngineConfig cfg = ParseConfig(R"(
engine: {pane: 10s, coarse_pane: 1m, fine_window_limit: 1m, allowed_lateness: 30s}
views:
  - name: c
    entity: client
    windows: [10s, 1m, 5m]
    aggregations:
      - {name: n, kind: count}
      - {name: ttl_max, kind: max, field: ttl}
)",
                                       "t.yaml");
  const std::vector<FeatureRow> from_column = RunShard(cfg, true), from_ts = RunShard(cfg, false);
  ASSERT_GT(from_column.size(), 100u);
  ASSERT_EQ(from_column.size(), from_ts.size());
  for (size_t i = 0; i < from_column.size(); ++i) {
    EXPECT_EQ(from_column[i].entity_key, from_ts[i].entity_key) << i;
    EXPECT_EQ(from_column[i].window_end_ns, from_ts[i].window_end_ns) << i;
    // Bit for bit, so that NaN (an empty window's max) equals NaN.
    ASSERT_EQ(from_column[i].values.size(), from_ts[i].values.size());
    EXPECT_EQ(std::memcmp(from_column[i].values.data(), from_ts[i].values.data(),
                          from_ts[i].values.size() * sizeof(double)),
              0)
        << i;
  }
}

// Runs longer than the update chunk (a busy entity's events in one batch) are folded in
// whole: every event counted once, extremes and distinct counts exact, the mean within
// rounding.
TEST(ViewShard, LongRunsAreFoldedWhole) {
  const EngineConfig cfg = ParseConfig(R"(
views:
  - name: c
    entity: client
    windows: [10s]
    aggregations:
      - {name: n, kind: count}
      - {name: ttl_max, kind: max, field: ttl}
      - {name: ttl_mean, kind: mean, field: ttl}
      - {name: ttls, kind: distinct, field: ttl}
)",
                                       "t.yaml");
  ViewShard shard(0, cfg.views[0], cfg.engine);
  const int64_t t0 = 1'795'428'000 * kSec;
  const int sizes[] = {1, 255, 256, 257, 1000, 2049};
  DnsEventBatch b;
  for (int i = 0; i < 2049; ++i) {
    for (int c = 0; c < 6; ++c) {
      if (i >= sizes[c]) continue;
      DnsEvent e;
      e.ts_ns = t0 + i;
      const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(c)};
      e.client = IpAddress::V4(addr);
      e.min_ttl = (i * 37 + c) % 300;
      b.events.push_back(e);
    }
  }
  std::vector<uint32_t> sel(b.size());
  for (uint32_t i = 0; i < sel.size(); ++i) sel[i] = i;
  shard.Add(b, sel);
  std::vector<FeatureRow> rows;
  shard.CloseThrough(FloorDiv(t0, cfg.engine.pane_ns) + 1, &rows);
  ASSERT_EQ(rows.size(), 6u);
  for (const FeatureRow& r : rows) {
    const int c = static_cast<uint8_t>(r.entity_key.back());
    double max = 0, sum = 0;
    std::set<int64_t> distinct;
    for (int i = 0; i < sizes[c]; ++i) {
      const int64_t ttl = (i * 37 + c) % 300;
      max = std::max(max, static_cast<double>(ttl));
      sum += static_cast<double>(ttl);
      distinct.insert(ttl);
    }
    ASSERT_EQ(r.values.size(), 4u);
    EXPECT_EQ(r.values[0], sizes[c]) << c;
    EXPECT_EQ(r.values[1], max) << c;
    EXPECT_NEAR(r.values[2], sum / sizes[c], 1e-12 * max) << c;
    EXPECT_EQ(r.values[3], static_cast<double>(distinct.size())) << c;
  }
}

}  // namespace
}  // namespace dnsight
