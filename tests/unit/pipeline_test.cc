#include "engine/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "collecting_row_sink.h"
#include "engine/config.h"
#include "ingest/normalizer.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;

using Sink = test_support::CollectingRowSink;

EngineConfig Config() {
  return ParseConfig(R"(
engine: {pane: 10s, watermark_delay: 2s, idle_advance: 5s}
output: {dead_letter_samples: 2}
views:
  - {name: g, entity: global, windows: [10s], aggregations: [{name: n, kind: count}]}
)",
                     "t.yaml");
}

RawDnsObservation Obs(int64_t t) {
  RawDnsObservation o;
  o.query_time_ns = t;
  o.qname = "a.example.com";
  return o;
}

TEST(Pipeline, QuietLiveInputClosesPanesAfterIdleAdvance) {
  const EngineConfig cfg = Config();
  Sink sink;
  Pipeline p(cfg, sink);
  ObservationSink& in = p.AddSource("live");
  in.OnObservation(Obs(1 * kSec));
  in.OnObservation(Obs(3 * kSec));
  p.Tick(100 * kSec);  // first tick: records activity
  p.Tick(104 * kSec);  // quiet 4 s < 5 s
  EXPECT_TRUE(sink.rows.empty());
  p.Tick(110 * kSec);  // quiet 10 s: watermark 3 + 10 - 2 = 11 closes pane [0,10)
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].window_end_ns, 10 * kSec);
  EXPECT_EQ(sink.rows[0].values[0], 2);
  // New input resets the quiet period.
  in.OnObservation(Obs(12 * kSec));
  p.Tick(111 * kSec);
  p.Tick(115 * kSec);
  EXPECT_EQ(sink.rows.size(), 1u);
  p.Finish();
  EXPECT_EQ(sink.rows.size(), 2u);
}

TEST(Pipeline, IdleAdvanceOffByDefaultWithoutTicks) {
  const EngineConfig cfg = Config();
  Sink sink;
  Pipeline p(cfg, sink);
  p.AddSource("file").OnObservation(Obs(1 * kSec));
  EXPECT_TRUE(sink.rows.empty());
  p.Finish();
  EXPECT_EQ(sink.rows.size(), 1u);
}

TEST(Pipeline, MalformedInputIsCountedAndSampledPerReason) {
  const EngineConfig cfg = Config();
  Sink sink;
  Pipeline p(cfg, sink);
  ObservationSink& in = p.AddSource("s");
  const uint8_t bytes[] = {1, 2, 3};
  for (int i = 0; i < 5; ++i) in.OnMalformed("bad_json", bytes);
  in.OnMalformed("bad_ts", bytes);
  RawDnsObservation no_time;
  no_time.qname = "x";
  in.OnObservation(no_time);
  p.Finish();
  const auto sc = p.source_counters();
  ASSERT_EQ(sc.size(), 1u);
  EXPECT_EQ(sc[0].malformed.at("bad_json"), 5u);
  EXPECT_EQ(sc[0].malformed.at("bad_ts"), 1u);
  EXPECT_EQ(sc[0].malformed.at("missing_timestamp"), 1u);
  // dead_letter_samples: 2 per reason
  EXPECT_EQ(sink.dead,
            (std::vector<std::string>{"bad_json", "bad_json", "bad_ts", "missing_timestamp"}));
  EXPECT_EQ(p.counters().rejected.at("missing_timestamp"), 1u);
}

TEST(Pipeline, FilterOnClientAddressText) {
  EngineConfig cfg = ParseConfig(R"(
engine: {pane: 10s, watermark_delay: 0s}
views:
  - name: c
    entity: global
    filter: {client: [192.0.2.1, "2001:db8::1"]}
    windows: [10s]
    aggregations: [{name: n, kind: count}]
)",
                                 "t.yaml");
  Sink sink;
  Pipeline p(cfg, sink);
  ObservationSink& in = p.AddSource("s");
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"}) {
    RawDnsObservation o = Obs(1 * kSec);
    o.client = *IpAddress::Parse(ip);
    in.OnObservation(o);
  }
  p.Finish();
  ASSERT_EQ(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].values[0], 2);
  EXPECT_THROW(ParseConfig("views: [{name: c, entity: global, filter: {client: [not-an-ip]}, "
                           "windows: [10s], aggregations: [{name: n, kind: count}]}]",
                           "t.yaml"),
               ConfigError);
}

// Feeds (client, second) pairs as JSON-less observations.
PipelineCounters Feed(const std::string& yaml, std::vector<std::pair<const char*, int64_t>> events,
                      Sink* sink) {
  const EngineConfig cfg = ParseConfig(yaml, "t.yaml");
  Pipeline p(cfg, *sink);
  ObservationSink& in = p.AddSource("s");
  for (const auto& [ip, sec] : events) {
    RawDnsObservation o = Obs(sec * kSec);
    o.client = *IpAddress::Parse(ip);
    in.OnObservation(o);
  }
  p.Finish();
  return p.counters();
}

constexpr const char* kClientView = R"(
  - {name: c, entity: client, windows: [10s], aggregations: [{name: n, kind: count}]}
)";

// Names are scored only where a view can read the score (here: NXDOMAIN events of the
// ratio). The ratio must equal the one computed when every event is scored.
TEST(Pipeline, NameScoresOnlyWhereReadGiveTheSameFeatures) {
  const std::string ratio_view =
      "  - {name: d, entity: global, windows: [10s], aggregations: [{name: dga_nx, kind: ratio,"
      " where: {dga_score: {ge: 0.5}, rcode: [NXDOMAIN]}}]}\n";
  const std::string gated = "engine: {pane: 10s, watermark_delay: 2s}\nviews:\n" + ratio_view;
  // A second view reading every score turns the gating off.
  const std::string all = gated +
                          "  - {name: m, entity: global, windows: [10s], aggregations: [{name: "
                          "top, kind: max, field: dga_score}]}\n";
  const auto run = [](const std::string& yaml) {
    const EngineConfig cfg = ParseConfig(yaml, "t.yaml");
    Sink sink;
    Pipeline p(cfg, sink);
    ObservationSink& in = p.AddSource("s");
    for (int i = 0; i < 4000; ++i) {
      RawDnsObservation o = Obs(i * kSec / 50);
      const std::string name = "www." +
                               (i % 5 == 0 ? "qz" + std::to_string(i * 7919) + "xkv"
                                           : "shop" + std::to_string(i % 300)) +
                               ".com";
      o.qname = name;
      o.rcode = i % 5 == 0 || i % 11 == 0 ? 3 : 0;
      in.OnObservation(o);
    }
    p.Finish();
    std::vector<double> ratios;
    for (const auto& r : sink.rows)
      if (r.view == 0) ratios.push_back(r.values[0]);
    return ratios;
  };
  const std::vector<double> g = run(gated), a = run(all);
  EXPECT_EQ(g, a);
  ASSERT_FALSE(g.empty());
  EXPECT_GT(*std::max_element(g.begin(), g.end()), 0.05);
}

TEST(Pipeline, EntityClosedInTwoPanesWithSameLastPaneIsEvictedOnce) {
  // A@51 and A@61 share a batch; A@61 closes pane 5 after both are in, so A's rows for
  // panes 5 and 6 both see last_pane 6: two expiry entries, one eviction.
  Sink sink;
  const auto c = Feed(std::string("engine: {pane: 10s, coarse_pane: 10s, fine_window_limit: 10s, "
                                  "watermark_delay: 0s, allowed_lateness: 0s}\nviews:") +
                          kClientView,
                      {{"192.0.2.1", 51},
                       {"192.0.2.1", 61},
                       {"192.0.2.2", 71},
                       {"192.0.2.3", 200},
                       {"192.0.2.4", 400}},
                      &sink);
  EXPECT_EQ(c.evictions, 3u);  // .1, .2, .3; .4 is still live
  EXPECT_EQ(c.entities, 1u);
}

TEST(Pipeline, EntityWithAnEventInAnOpenPaneSurvivesAWatermarkJump) {
  // A@51 and A@100000 share a batch: the far event moves the watermark past the expiry of
  // A's row for pane 5 in one step, while A still has an event in the open pane 10000.
  // A must not be evicted then (its open pane would be emitted from freed state).
  Sink sink;
  const auto c = Feed(std::string("engine: {pane: 10s, coarse_pane: 10s, fine_window_limit: 10s, "
                                  "watermark_delay: 0s, allowed_lateness: 0s}\nviews:") +
                          kClientView,
                      {{"192.0.2.1", 51}, {"192.0.2.1", 100000}}, &sink);
  ASSERT_EQ(sink.rows.size(), 2u);
  for (const FeatureRow& r : sink.rows) {
    EXPECT_EQ(r.values[0], 1);
    EXPECT_EQ(r.entity_key, sink.rows[0].entity_key);
  }
  EXPECT_EQ(sink.rows[1].window_end_ns, 100010 * kSec);
  EXPECT_EQ(c.evictions, 0u);  // never while it had an event in an open pane
}

TEST(Pipeline, EventsStampedFarAheadOfTheWallClockAreRejected) {
  const EngineConfig cfg = ParseConfig(R"(
engine: {pane: 10s, watermark_delay: 2s, max_future: 1h}
output: {dead_letter_samples: 5}
views:
  - {name: g, entity: global, windows: [10s], aggregations: [{name: n, kind: count}]}
)",
                                       "t.yaml");
  const int64_t now = 1'795'428'000 * kSec;
  ManualClock clock(now);
  Sink sink;
  PipelineCounters counters;
  {
    Pipeline p(cfg, sink, &clock);
    ObservationSink& in = p.AddSource("s");
    in.OnObservation(Obs(now - 30 * kSec));
    in.OnObservation(Obs(now + 2 * 3600 * kSec));  // corrupt: would make the rest late
    in.OnObservation(Obs(now - 25 * kSec));
    in.OnObservation(Obs(now + 30 * 60 * kSec));  // within max_future: accepted
    clock.Advance(3 * 3600 * kSec);
    in.OnObservation(Obs(now + 2 * 3600 * kSec));  // the clock caught up: accepted
    p.Finish();
    counters = p.counters();
  }
  EXPECT_EQ(counters.rejected.at("future_timestamp"), 1u);
  EXPECT_EQ(counters.events, 4u);
  EXPECT_EQ(counters.late_dropped, 0u);
  ASSERT_EQ(sink.dead.size(), 1u);
  EXPECT_EQ(sink.dead[0], "future_timestamp");
  ASSERT_GE(sink.rows.size(), 1u);
  EXPECT_EQ(sink.rows[0].values[0], 2);  // both early events in one pane, none lost
}

TEST(Pipeline, EntityBackInAnOpenPaneFromALaterBatchGetsOneRow) {
  Sink sink;
  Feed(
      std::string("engine: {pane: 10s, watermark_delay: 30s, batch_size: 3}\nviews:") + kClientView,
      {{"192.0.2.1", 51}, {"192.0.2.2", 52}, {"192.0.2.1", 61}, {"192.0.2.1", 53}}, &sink);
  // .1 in panes 5 (two events) and 6, .2 in pane 5.
  ASSERT_EQ(sink.rows.size(), 3u);
  EXPECT_EQ(sink.rows[0].values[0] + sink.rows[1].values[0] + sink.rows[2].values[0], 4);
}

TEST(Pipeline, EntityFirstSeenLateIsStillEvicted) {
  Sink sink;
  const auto c = Feed(
      std::string("engine: {pane: 10s, coarse_pane: 10s, fine_window_limit: 10s, "
                  "watermark_delay: 0s, allowed_lateness: 30s}\nviews:") +
          kClientView,
      {{"192.0.2.1", 100}, {"192.0.2.2", 200}, {"192.0.2.9", 185}, {"192.0.2.3", 1000}}, &sink);
  EXPECT_EQ(c.late_admitted, 1u);
  EXPECT_EQ(c.entities, 1u);  // only .3 is left
  EXPECT_EQ(c.evictions, 3u);
}

// Views look entities up by the batch hash column of their entity's field: it must equal
// FeatureView::EntityHash of the key EntityKey builds, for every kind that has a column,
// IPv4 and IPv6, with and without a registered domain.
TEST(Pipeline, EntityHashEqualsTheFieldsHashColumn) {
  const EngineConfig cfg = ParseConfig(R"(
views:
  - {name: c, entity: client, windows: [10s], aggregations: [{name: n, kind: count}]}
  - {name: s, entity: server, windows: [10s], aggregations: [{name: n, kind: count}]}
  - {name: d, entity: registered_domain, windows: [10s], aggregations: [{name: n, kind: count}]}
  - {name: q, entity: qname, windows: [10s], aggregations: [{name: n, kind: count}]}
  - {name: t, entity: qtype, windows: [10s], aggregations: [{name: n, kind: count}]}
)",
                                       "t.yaml");
  NormalizerOptions o;
  o.registered_domain = true;
  for (const auto& v : cfg.views)
    if (const auto f = v.EntityHashField()) o.hashed_fields.push_back(*f);
  EventNormalizer n(o);
  DnsEventBatch b;
  std::string_view reason;
  int k = 0;
  for (const char* name : {"www.example.com", "com", "x.y.example.co.uk"}) {
    for (const char* addr : {"192.0.2.7", "2001:db8::9"}) {
      RawDnsObservation obs;
      obs.query_time_ns = ++k;
      obs.qname = name;
      obs.client = *IpAddress::Parse(addr);
      obs.server = *IpAddress::Parse(k % 2 ? "2001:db8::53" : "198.51.100.53");
      ASSERT_TRUE(n.Append(obs, &b, &reason));
    }
  }
  std::string key;
  int checked = 0;
  for (const auto& v : cfg.views) {
    const auto field = v.EntityHashField();
    if (!field) {
      EXPECT_EQ(v.name, "t");
      continue;
    }
    const uint64_t* column = b.FieldHashes(*field);
    ASSERT_NE(column, nullptr) << v.name;
    for (size_t i = 0; i < b.size(); ++i) {
      v.EntityKey(b, b.events[i], &key);
      EXPECT_EQ(column[i], v.EntityHash(key)) << v.name << " " << i;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 * 6);
}

TEST(Pipeline, EntityCapFoldsNewEntitiesIntoOverflow) {
  EngineConfig cfg = ParseConfig(R"(
engine: {pane: 10s, watermark_delay: 0s, max_entities_per_view: 2}
views:
  - {name: c, entity: client, windows: [10s], aggregations: [{name: n, kind: count}]}
)",
                                 "t.yaml");
  Sink sink;
  PipelineCounters counters;
  {
    Pipeline p(cfg, sink);
    ObservationSink& in = p.AddSource("s");
    for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.1"}) {
      RawDnsObservation o = Obs(1 * kSec);
      o.client = *IpAddress::Parse(ip);
      in.OnObservation(o);
    }
    p.Finish();
    counters = p.counters();
  }
  EXPECT_EQ(counters.overflow_events, 2u);
  EXPECT_EQ(counters.entities, 3u);  // two real clients and the overflow entity
  ASSERT_EQ(sink.rows.size(), 3u);
  double total = 0;
  bool saw_overflow = false;
  for (const auto& r : sink.rows) {
    total += r.values[0];
    if (cfg.views[0].EntityText(r.entity_key) == "(overflow)") {
      saw_overflow = true;
      EXPECT_EQ(r.values[0], 2);
    }
  }
  EXPECT_TRUE(saw_overflow);
  EXPECT_EQ(total, 5);  // every event is still counted somewhere
}

}  // namespace
}  // namespace dnsight
