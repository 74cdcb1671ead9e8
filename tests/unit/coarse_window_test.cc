// Long coarse windows against a brute-force recount.
//
// A 1h window over 1m coarse panes is built from merged blocks of coarse panes (see
// view_shard.cc). Here every row's 15m and 1h values of exactly mergeable aggregations
// (count, distinct while sparse, min, max) are recomputed from the raw events: the window
// at a row with end T covers [Tc - w, Tc), Tc = T rounded down to the minute. Entities are
// sparse (some minutes have no pane, some blocks have none at all), and late events land
// in coarse panes whose block was already built, which must rebuild it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "collecting_row_sink.h"
#include "engine/config.h"
#include "engine/pipeline.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kStart = 1'795'428'000 * kSec;  // a whole hour

struct Event {
  int64_t ts;
  int client;  // entity
  int qname;   // distinct field
  double ttl;  // min/max field
};

using CollectingSink = test_support::CollectingRowSink;

const char* kConfig = R"(
engine:
  pane: 10s
  coarse_pane: 1m
  fine_window_limit: 1m
  watermark_delay: 1s
  allowed_lateness: 50s
views:
  - name: c
    entity: client
    windows: [1m, 15m, 1h]
    aggregations:
      - {name: n, kind: count}
      - {name: names, kind: distinct, field: qname}
      - {name: ttl_min, kind: min, field: ttl}
      - {name: ttl_max, kind: max, field: ttl}
)";

std::vector<Event> MakeEvents() {
  std::mt19937_64 rng(17);
  std::vector<Event> events;
  int64_t t = kStart;
  // 3 hours; each client is active in bursts, idle for minutes to tens of minutes.
  while (t < kStart + 180 * kMin) {
    t += static_cast<int64_t>(rng() % (3 * kSec));
    const int client = static_cast<int>(rng() % 5);
    if ((t / (7 * kMin) + client) % 3 == 0) continue;  // idle stretches
    events.push_back(Event{t, client, static_cast<int>(rng() % 40), double(rng() % 5000)});
    if (rng() % 50 == 0) {
      // A late event, 20-45 s behind: within lateness, often into the previous minute.
      const int64_t late = t - 20 * kSec - static_cast<int64_t>(rng() % (25 * kSec));
      events.push_back(Event{late, client, static_cast<int>(rng() % 40), double(rng() % 5000)});
    }
  }
  return events;
}

void Check(int threads, bool blocks = true) {
  EngineConfig cfg = ParseConfig(kConfig, "coarse_window_test.yaml");
  cfg.engine.threads = threads;
  cfg.engine.coarse_blocks = blocks;
  const std::vector<Event> events = MakeEvents();
  CollectingSink sink;
  {
    Pipeline pipeline(cfg, sink);
    ObservationSink& source = pipeline.AddSource("test");
    for (const Event& e : events) {
      RawDnsObservation obs;
      obs.query_time_ns = e.ts;
      const uint8_t addr[4] = {192, 0, 2, static_cast<uint8_t>(e.client + 1)};
      obs.client = IpAddress::V4(addr);
      const std::string qname = "n" + std::to_string(e.qname) + ".example.com";
      obs.qname = qname;
      obs.qtype = 1;
      obs.rcode = 0;
      obs.min_ttl = static_cast<int64_t>(e.ttl);
      source.OnObservation(obs);
    }
    pipeline.Finish();
    ASSERT_GT(pipeline.counters().late_admitted, 10u);
    ASSERT_EQ(pipeline.counters().late_dropped, 0u);
  }
  const FeatureView& view = cfg.views[0];
  const auto col = [&](const std::string& name) {
    return static_cast<size_t>(
        std::find(view.feature_names.begin(), view.feature_names.end(), name) -
        view.feature_names.begin());
  };
  // A row's coarse values are computed at the entity's first row of that minute, from the
  // events that had arrived when that row's pane closed: the pane ending at T closes on
  // the first event with ts - watermark_delay >= T (that event itself is in a later pane).
  std::vector<int64_t> max_ts(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    max_ts[i] = std::max(events[i].ts, i ? max_ts[i - 1] : INT64_MIN);
  const auto arrived_by = [&](int64_t pane_end) {
    const auto it = std::lower_bound(max_ts.begin(), max_ts.end(), pane_end + kSec);
    return static_cast<size_t>(it - max_ts.begin()) + 1;  // events [0, n) were folded in
  };
  std::map<std::pair<std::string, int64_t>, int64_t> first_row_end;  // (entity, minute)
  for (const FeatureRow& r : sink.rows) {
    first_row_end.emplace(std::make_pair(r.entity_key, r.window_end_ns / kMin), r.window_end_ns);
  }
  size_t checked = 0;
  for (const FeatureRow& r : sink.rows) {
    const int client = static_cast<uint8_t>(r.entity_key.back()) - 1;
    const int64_t tc = r.window_end_ns / kMin * kMin;
    const size_t arrived =
        std::min(events.size(), arrived_by(first_row_end.at({r.entity_key, tc / kMin})));
    for (const int64_t w : {15 * kMin, 60 * kMin}) {
      const std::string s = w == 15 * kMin ? "_15m" : "_1h";
      uint64_t n = 0;
      std::set<int> names;
      double lo = INFINITY, hi = -INFINITY;
      for (size_t i = 0; i < arrived; ++i) {
        const Event& e = events[i];
        if (e.client != client || e.ts < tc - w || e.ts >= tc) continue;
        ++n;
        names.insert(e.qname);
        lo = std::min(lo, e.ttl);
        hi = std::max(hi, e.ttl);
      }
      ASSERT_EQ(r.values[col("n" + s)], static_cast<double>(n))
          << "client " << client << " end " << r.window_end_ns << s;
      if (n == 0) continue;
      EXPECT_EQ(r.values[col("names" + s)], static_cast<double>(names.size()));
      EXPECT_EQ(r.values[col("ttl_min" + s)], lo);
      EXPECT_EQ(r.values[col("ttl_max" + s)], hi);
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST(CoarseWindows, LongWindowsMatchARecountSingleThread) {
  Check(1);
}
TEST(CoarseWindows, LongWindowsMatchARecountFourShards) {
  Check(4);
}
TEST(CoarseWindows, LongWindowsMatchARecountPaneByPane) {
  Check(1, /*blocks=*/false);
}

}  // namespace
}  // namespace dnsight
