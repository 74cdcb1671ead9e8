// WebFeatureEngine on hand-made requests: the exact values of one row, pane boundaries,
// the watermark, lateness, eviction, the service fallback, the entity cap, row order, and
// the versions MakeWebViews gives the two built-in views.
#include "hosting/web_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "engine/view_shard.h"

namespace dnsight {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T00:00:00Z");  // a pane start (10 s)
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kServiceView = 0, kNodeView = 1;

// Index of a feature in a row: 16 base features per window, windows in option order.
size_t Col(const std::string& base, size_t window = 0) {
  const auto& names = WebFeatureBaseNames();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == base) return window * names.size() + i;
  ADD_FAILURE() << "no feature " << base;
  return 0;
}

// A successful GET at T0 + offset, without upstream, cache or size information.
WebRequest Req(int64_t offset_ns, std::string vhost = "shop.example", std::string node = "edge-1") {
  WebRequest r;
  r.ts_ns = kT0 + offset_ns;
  r.vhost = std::move(vhost);
  r.node = std::move(node);
  r.method = "GET";
  r.status = 200;
  r.request_time_s = 0.010;
  return r;
}

std::vector<const FeatureRow*> RowsFor(const std::vector<FeatureRow>& rows, uint32_t view,
                                       const std::string& entity) {
  std::vector<const FeatureRow*> out;
  for (const FeatureRow& r : rows)
    if (r.view == view && r.entity_key == entity) out.push_back(&r);
  return out;
}

const FeatureRow* RowAt(const std::vector<FeatureRow>& rows, uint32_t view,
                        const std::string& entity, int64_t end_ns) {
  for (const FeatureRow& r : rows)
    if (r.view == view && r.entity_key == entity && r.window_end_ns == end_ns) return &r;
  return nullptr;
}

TEST(WebFeatureEngine, OnePaneGivesExactRowValues) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  // Four requests in pane [T0, T0+10s) for shop.example on edge-1:
  //   t   status  request_time  upstream       cache    request_length  bytes_sent
  //   1s  200     100 ms        80 ms (200)    MISS     400             1000
  //   2s  200      20 ms        -              HIT      200             3000
  //   3s  404      10 ms        -              HIT      300              500
  //   4s  504    1200 ms        1000 ms (504)  -        600                0
  // plus one TLS handshake failure from the error log at 5s.
  WebRequest r1 = Req(1 * kSec);
  r1.request_time_s = 0.100;
  r1.upstream_time_s = 0.080;
  r1.upstream_status = 200;
  r1.cache = CacheStatus::kMiss;
  r1.request_length = 400;
  r1.bytes_sent = 1000;
  WebRequest r2 = Req(2 * kSec);
  r2.request_time_s = 0.020;
  r2.cache = CacheStatus::kHit;
  r2.request_length = 200;
  r2.bytes_sent = 3000;
  WebRequest r3 = Req(3 * kSec);
  r3.status = 404;
  r3.request_time_s = 0.010;
  r3.cache = CacheStatus::kHit;
  r3.request_length = 300;
  r3.bytes_sent = 500;
  WebRequest r4 = Req(4 * kSec);
  r4.status = 504;
  r4.request_time_s = 1.200;
  r4.upstream_time_s = 1.000;
  r4.upstream_status = 504;
  r4.upstream_timeout = true;
  r4.request_length = 600;
  r4.bytes_sent = 0;
  for (const WebRequest* r : {&r1, &r2, &r3, &r4}) engine.Add(*r, "fallback", "fallback-node");
  WebErrorEvent tls;
  tls.ts_ns = kT0 + 5 * kSec;
  tls.tls_handshake_failure = true;
  tls.vhost = "shop.example";  // error lines never name the node: edge-1 comes from the source
  engine.AddError(tls, "fallback", "edge-1");

  std::vector<FeatureRow> rows;
  engine.Advance(&rows);  // watermark T0+0s: nothing closes
  EXPECT_TRUE(rows.empty());
  engine.Finish(&rows);
  ASSERT_EQ(rows.size(), 2u);  // one pane, one row per view
  EXPECT_EQ(engine.counters().requests, 4u);
  EXPECT_EQ(engine.counters().tls_errors, 1u);
  EXPECT_EQ(engine.counters().rows, 2u);

  for (const FeatureRow& row : rows) {
    SCOPED_TRACE(row.entity_key);
    EXPECT_EQ(row.window_end_ns, kT0 + 10 * kSec);
    ASSERT_EQ(row.values.size(), 2 * WebFeatureBaseNames().size());  // 1m and 5m
    const auto v = [&](const char* base, size_t w = 0) { return row.values[Col(base, w)]; };
    EXPECT_EQ(v("requests"), 4);
    EXPECT_DOUBLE_EQ(v("requests_per_s"), 4.0 / 60);
    EXPECT_DOUBLE_EQ(v("status_4xx_ratio"), 0.25);  // the 404
    EXPECT_DOUBLE_EQ(v("status_5xx_ratio"), 0.25);  // the 504
    // Latency in ms, sorted 10, 20, 100, 1200; DDSketch answers the element at rank
    // floor(q * 3): p50 -> rank 1 (20), p95 and p99 -> rank 2 (100).
    EXPECT_NEAR(v("latency_ms_p50"), 20, 0.2);
    EXPECT_NEAR(v("latency_ms_p95"), 100, 1.0);
    EXPECT_NEAR(v("latency_ms_p99"), 100, 1.0);
    // Origin times 80 and 1000 ms: p95 -> rank floor(0.95) = 0 -> 80.
    EXPECT_NEAR(v("origin_latency_ms_p95"), 80, 0.8);
    // Edge time = request - upstream: 100 - 80 = 20 and 1200 - 1000 = 200: rank 0 -> 20.
    EXPECT_NEAR(v("edge_latency_ms_p95"), 20, 0.2);
    // (0.080 + 1.000) / (0.100 + 0.020 + 0.010 + 1.200) = 1.08 / 1.33.
    EXPECT_DOUBLE_EQ(v("origin_latency_share"), 1.08 / 1.33);
    // Two requests went upstream (r1, r4), one of them timed out.
    EXPECT_DOUBLE_EQ(v("upstream_timeout_ratio"), 0.5);
    // Hits 2, misses 1 (r4 has no cache status).
    EXPECT_DOUBLE_EQ(v("cache_hit_ratio"), 2.0 / 3);
    EXPECT_DOUBLE_EQ(v("request_size_mean"), (400 + 200 + 300 + 600) / 4.0);  // 375
    // Sizes sorted 200, 300, 400, 600: p99 -> rank floor(2.97) = 2 -> 400.
    EXPECT_NEAR(v("request_size_p99"), 400, 4.0);
    EXPECT_DOUBLE_EQ(v("response_size_mean"), (1000 + 3000 + 500 + 0) / 4.0);  // 1125
    // One handshake failure over 4 requests + 1 failure.
    EXPECT_DOUBLE_EQ(v("tls_failure_ratio"), 0.2);
    // The 5m window holds the same pane; only the rate's divisor differs.
    EXPECT_EQ(v("requests", 1), 4);
    EXPECT_DOUBLE_EQ(v("requests_per_s", 1), 4.0 / 300);
    EXPECT_DOUBLE_EQ(v("cache_hit_ratio", 1), 2.0 / 3);
  }
  EXPECT_EQ(rows[0].view, kServiceView);
  EXPECT_EQ(rows[0].entity_key, "shop.example");
  EXPECT_EQ(rows[1].view, kNodeView);
  EXPECT_EQ(rows[1].entity_key, "edge-1");
}

TEST(WebFeatureEngine, RatiosOverNothingAreNaN) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  // One request with no cache status, no upstream, no sizes.
  engine.Add(Req(1 * kSec), "", "");
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);
  ASSERT_EQ(rows.size(), 2u);
  const auto v = [&](const char* base) { return rows[0].values[Col(base)]; };
  EXPECT_EQ(v("requests"), 1);
  EXPECT_TRUE(std::isnan(v("cache_hit_ratio")));         // 0 / (0 + 0)
  EXPECT_TRUE(std::isnan(v("upstream_timeout_ratio")));  // nothing went upstream
  EXPECT_TRUE(std::isnan(v("origin_latency_ms_p95")));   // empty sketch
  EXPECT_TRUE(std::isnan(v("edge_latency_ms_p95")));
  EXPECT_TRUE(std::isnan(v("request_size_mean")));
  EXPECT_TRUE(std::isnan(v("request_size_p99")));
  EXPECT_TRUE(std::isnan(v("response_size_mean")));
  EXPECT_EQ(v("origin_latency_share"), 0);  // 0 s upstream / 0.010 s in all
  EXPECT_EQ(v("tls_failure_ratio"), 0);     // 0 / (1 + 0)
  EXPECT_EQ(v("status_4xx_ratio"), 0);
  EXPECT_NEAR(v("latency_ms_p50"), 10, 0.1);
}

TEST(WebFeatureEngine, RequestAtThePaneEndBelongsToTheNextPane) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  engine.Add(Req(10 * kSec - 1), "", "");  // last nanosecond of [T0, T0+10s)
  engine.Add(Req(10 * kSec), "", "");      // first nanosecond of [T0+10s, T0+20s)
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);
  const auto service = RowsFor(rows, kServiceView, "shop.example");
  ASSERT_EQ(service.size(), 2u);
  EXPECT_EQ(service[0]->window_end_ns, kT0 + 10 * kSec);
  EXPECT_EQ(service[0]->values[Col("requests")], 1);  // the pane ending at 10s: one request
  EXPECT_EQ(service[1]->window_end_ns, kT0 + 20 * kSec);
  EXPECT_EQ(service[1]->values[Col("requests")], 2);  // the 1m window ending at 20s: both
}

TEST(WebFeatureEngine, OneMinuteWindowMergesSixPanesAndDropsOlderOnes) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  // One request in each of panes 0..7 (at 1s, 11s, ..., 71s), request_time 10*(p+1) ms.
  for (int p = 0; p < 8; ++p) {
    WebRequest r = Req((10 * p + 1) * kSec);
    r.request_time_s = 0.010 * (p + 1);
    engine.Add(r, "", "");
  }
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);
  const auto service = RowsFor(rows, kServiceView, "shop.example");
  ASSERT_EQ(service.size(), 8u);  // window ends 10s .. 80s
  // requests_1m at end 10s..80s: 1 2 3 4 5 6, then 6 6 (the oldest pane leaves each time).
  const double expected_1m[] = {1, 2, 3, 4, 5, 6, 6, 6};
  // The 5m window hops once per minute: computed at the entity's first row (10s) and at
  // the minute boundary (60s), reused in between.
  const double expected_5m[] = {1, 1, 1, 1, 1, 6, 6, 6};
  for (size_t i = 0; i < service.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(service[i]->window_end_ns, kT0 + static_cast<int64_t>(i + 1) * 10 * kSec);
    EXPECT_EQ(service[i]->values[Col("requests")], expected_1m[i]);
    EXPECT_EQ(service[i]->values[Col("requests", 1)], expected_5m[i]);
  }
  // At end 80s the 1m window holds panes 2..7: latencies 30..80 ms, p50 -> rank
  // floor(0.5 * 5) = 2 -> 50 ms. The 5m window, as of 60s, holds 10..60 ms: rank
  // floor(0.5 * 5) = 2 -> 30 ms.
  EXPECT_NEAR(service[7]->values[Col("latency_ms_p50")], 50, 0.5);
  EXPECT_NEAR(service[7]->values[Col("latency_ms_p50", 1)], 30, 0.3);
}

TEST(WebFeatureEngine, RowsWaitForTheWatermarkToPassThePaneEnd) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);  // delay 5s
  std::vector<FeatureRow> rows;
  engine.Add(Req(1 * kSec), "", "");
  engine.Advance(&rows);  // watermark 1 - 5 = -4s
  EXPECT_TRUE(rows.empty());
  engine.Add(Req(14 * kSec), "", "");
  engine.Advance(&rows);  // watermark 9s: pane [0, 10s) still open
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(engine.watermark_ns(), kT0 + 9 * kSec);
  engine.Add(Req(15 * kSec), "", "");
  engine.Advance(&rows);  // watermark 10s: passes the pane end
  EXPECT_EQ(engine.watermark_ns(), kT0 + 10 * kSec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].window_end_ns, kT0 + 10 * kSec);
  EXPECT_EQ(rows[0].values[Col("requests")], 1);
  rows.clear();
  engine.Advance(&rows);  // nothing new
  EXPECT_TRUE(rows.empty());
  engine.Finish(&rows);  // closes [10s, 20s)
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].window_end_ns, kT0 + 20 * kSec);
  EXPECT_EQ(rows[0].values[Col("requests")], 3);
  EXPECT_EQ(engine.counters().rows, 4u);
}

TEST(WebFeatureEngine, RequestForAClosedPaneIsLateAndNotFolded) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  std::vector<FeatureRow> rows;
  engine.Add(Req(1 * kSec), "", "");
  engine.Add(Req(15 * kSec), "", "");
  engine.Advance(&rows);  // closes [0, 10s)
  ASSERT_EQ(rows.size(), 2u);
  engine.Add(Req(9 * kSec), "", "");  // for the closed pane
  WebErrorEvent tls;
  tls.ts_ns = kT0 + 9 * kSec;
  tls.tls_handshake_failure = true;
  engine.AddError(tls, "shop.example", "edge-1");  // late as well
  EXPECT_EQ(engine.counters().late_dropped, 2u);
  engine.Finish(&rows);
  const FeatureRow* row = RowAt(rows, kServiceView, "shop.example", kT0 + 20 * kSec);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->values[Col("requests")], 2);           // 1s and 15s, not 9s
  EXPECT_EQ(row->values[Col("tls_failure_ratio")], 0);  // the late failure is not in it
}

TEST(WebFeatureEngine, OlderRequestForAnOpenPaneIsNotLate) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  std::vector<FeatureRow> rows;
  engine.Add(Req(12 * kSec), "", "");
  engine.Advance(&rows);  // watermark 7s: no pane has closed yet
  EXPECT_TRUE(rows.empty());
  engine.Add(Req(8 * kSec), "", "");  // out of order, within the watermark delay
  EXPECT_EQ(engine.counters().late_dropped, 0u);
  engine.Finish(&rows);
  const auto service = RowsFor(rows, kServiceView, "shop.example");
  ASSERT_EQ(service.size(), 2u);
  EXPECT_EQ(service[0]->window_end_ns, kT0 + 10 * kSec);
  EXPECT_EQ(service[0]->values[Col("requests")], 1);
  EXPECT_EQ(service[1]->values[Col("requests")], 2);
}

TEST(WebFeatureEngine, EntityWithoutAPaneInTheLongestWindowIsEvicted) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);  // longest 5m
  std::vector<FeatureRow> rows;
  engine.Add(Req(1 * kSec, "old.example", "edge-old"), "", "");
  engine.Add(Req(400 * kSec, "new.example", "edge-new"), "", "");
  engine.Advance(&rows);  // watermark 395s: closes the panes ending 10s .. 390s
  // old.example's only pane [0, 10s) is inside every 5m window ending at 10s .. 300s;
  // at 310s it is not, and the entity goes.
  const auto old_rows = RowsFor(rows, kServiceView, "old.example");
  ASSERT_EQ(old_rows.size(), 30u);
  EXPECT_EQ(old_rows.back()->window_end_ns, kT0 + 300 * kSec);
  EXPECT_EQ(old_rows.back()->values[Col("requests")], 0);     // 1m: long gone
  EXPECT_EQ(old_rows.back()->values[Col("requests", 1)], 1);  // 5m: still there
  EXPECT_EQ(RowsFor(rows, kNodeView, "edge-old").size(), 30u);
  EXPECT_EQ(engine.counters().evictions, 2u);  // one per view
  // An entity whose data all lies in later panes has no row yet.
  EXPECT_TRUE(RowsFor(rows, kServiceView, "new.example").empty());
  EXPECT_TRUE(RowsFor(rows, kNodeView, "edge-new").empty());
  rows.clear();
  engine.Finish(&rows);
  ASSERT_EQ(rows.size(), 2u);  // only the new entity, at 410s
  EXPECT_EQ(rows[0].entity_key, "new.example");
  EXPECT_EQ(rows[0].window_end_ns, kT0 + 410 * kSec);
}

TEST(WebFeatureEngine, NewEntityGetsNoRowsForPanesBeforeItsFirstRequest) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  engine.Add(Req(1 * kSec, "a.example", "edge-1"), "", "");
  engine.Add(Req(25 * kSec, "b.example", "edge-1"), "", "");
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);  // closes the panes ending 10s, 20s, 30s
  // a.example: rows at 10, 20, 30. b.example's data starts in [20s, 30s): one row, at 30s,
  // and no zero-request rows at 10s and 20s (it has no data inside those windows).
  EXPECT_EQ(RowsFor(rows, kServiceView, "a.example").size(), 3u);
  const auto b = RowsFor(rows, kServiceView, "b.example");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]->window_end_ns, kT0 + 30 * kSec);
  EXPECT_EQ(b[0]->values[Col("requests")], 1);
  const FeatureRow* node_at_30 = RowAt(rows, kNodeView, "edge-1", kT0 + 30 * kSec);
  ASSERT_NE(node_at_30, nullptr);
  EXPECT_EQ(node_at_30->values[Col("requests")], 2);
}

TEST(WebFeatureEngine, EmptyVhostFallsBackToTheSourceServiceAndNodesAreRemembered) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  std::vector<FeatureRow> rows;
  engine.Add(Req(1 * kSec, "", ""), "svc-a", "edge-1");  // the line names neither
  engine.Add(Req(2 * kSec, "www.example", "edge-2"), "svc-a", "edge-1");
  engine.Add(Req(3 * kSec, "", "edge-3"), "svc-a", "edge-1");
  EXPECT_EQ(engine.NodesFor("svc-a"), (std::vector<std::string>{"edge-1", "edge-3"}));
  EXPECT_EQ(engine.NodesFor("www.example"), (std::vector<std::string>{"edge-2"}));
  EXPECT_TRUE(engine.NodesFor("unknown.example").empty());
  engine.Advance(&rows);
  engine.Add(Req(13 * kSec), "", "");
  engine.Advance(&rows);  // watermark 8s: still nothing
  engine.Add(Req(15 * kSec), "", "");
  engine.Advance(&rows);  // closes [0, 10s)
  const FeatureRow* svc = RowAt(rows, kServiceView, "svc-a", kT0 + 10 * kSec);
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->values[Col("requests")], 2);
  EXPECT_NE(RowAt(rows, kServiceView, "www.example", kT0 + 10 * kSec), nullptr);
  EXPECT_NE(RowAt(rows, kNodeView, "edge-1", kT0 + 10 * kSec), nullptr);
  // 400s later svc-a is served by edge-3 only (the line's node wins over the source's
  // edge-9): once the 5m window has moved past 3s, the older links are forgotten (edge-1
  // seen at 1s, edge-3 at 3s, then again at 400s).
  engine.Add(Req(400 * kSec, "", "edge-3"), "svc-a", "edge-9");
  engine.Advance(&rows);  // closes through 390s
  EXPECT_EQ(engine.NodesFor("svc-a"), (std::vector<std::string>{"edge-3"}));
  EXPECT_TRUE(engine.NodesFor("www.example").empty());
  EXPECT_TRUE(RowsFor(rows, kNodeView, "edge-9").empty());
}

TEST(WebFeatureEngine, EntitiesBeyondTheCapAreRefused) {
  WebFeatureOptions options;
  options.max_entities = 2;
  WebFeatureEngine engine(options, kServiceView, kNodeView);
  engine.Add(Req(1 * kSec, "a.example", "edge-1"), "", "");
  engine.Add(Req(2 * kSec, "b.example", "edge-1"), "", "");
  engine.Add(Req(3 * kSec, "c.example", "edge-1"), "", "");  // third service: refused
  engine.Add(Req(4 * kSec, "a.example", "edge-1"), "", "");  // a known one still counts
  EXPECT_EQ(engine.counters().entities_refused, 1u);
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);
  ASSERT_EQ(rows.size(), 3u);  // a, b, edge-1
  EXPECT_EQ(RowsFor(rows, kServiceView, "a.example")[0]->values[Col("requests")], 2);
  EXPECT_TRUE(RowsFor(rows, kServiceView, "c.example").empty());
  // The node view is under its own cap: it saw all four requests.
  EXPECT_EQ(RowsFor(rows, kNodeView, "edge-1")[0]->values[Col("requests")], 4);
}

TEST(WebFeatureEngine, RowsAreSortedByViewThenEntityAndCarryTheGivenIndices) {
  // The node view listed before the service view in the config: indices 3 and 2.
  WebFeatureEngine engine(WebFeatureOptions{}, /*service_view=*/3, /*node_view=*/2);
  engine.Add(Req(1 * kSec, "b.example", "n2"), "", "");
  engine.Add(Req(2 * kSec, "c.example", "n1"), "", "");
  engine.Add(Req(3 * kSec, "a.example", "n2"), "", "");
  engine.Add(Req(11 * kSec, "a.example", "n1"), "", "");
  std::vector<FeatureRow> rows;
  engine.Finish(&rows);
  std::vector<std::string> order;
  for (const FeatureRow& r : rows)
    order.push_back(std::to_string(r.window_end_ns - kT0) + " " + std::to_string(r.view) + " " +
                    r.entity_key);
  const std::string p10 = std::to_string(10 * kSec), p20 = std::to_string(20 * kSec);
  EXPECT_EQ(order, (std::vector<std::string>{p10 + " 2 n1", p10 + " 2 n2", p10 + " 3 a.example",
                                             p10 + " 3 b.example", p10 + " 3 c.example",
                                             p20 + " 2 n1", p20 + " 2 n2", p20 + " 3 a.example",
                                             p20 + " 3 b.example", p20 + " 3 c.example"}));
}

TEST(WebFeatureEngine, IdleAdvanceMovesTheWatermarkToNowMinusTheDelay) {
  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);  // delay 5s
  std::vector<FeatureRow> rows;
  engine.Add(Req(1 * kSec), "", "");
  engine.IdleAdvance(kT0 + 2 * kSec, &rows);  // a request arrived since: event time rules
  EXPECT_TRUE(rows.empty());
  engine.IdleAdvance(kT0 + 9 * kSec, &rows);  // quiet: watermark 9 - 5 = 4s
  EXPECT_EQ(engine.watermark_ns(), kT0 + 4 * kSec);
  EXPECT_TRUE(rows.empty());
  engine.IdleAdvance(kT0 + 15 * kSec + 500 * kMs, &rows);  // watermark 10.5s
  EXPECT_EQ(engine.watermark_ns(), kT0 + 10 * kSec + 500 * kMs);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].window_end_ns, kT0 + 10 * kSec);
}

TEST(WebFeatureEngine, FinishClosesEveryPaneAndNothingHappensWithoutInput) {
  WebFeatureEngine idle(WebFeatureOptions{}, kServiceView, kNodeView);
  std::vector<FeatureRow> rows;
  idle.Advance(&rows);
  idle.Finish(&rows);
  EXPECT_TRUE(rows.empty());

  WebFeatureEngine engine(WebFeatureOptions{}, kServiceView, kNodeView);
  engine.Add(Req(1 * kSec), "", "");
  engine.Add(Req(39 * kSec), "", "");
  engine.Finish(&rows);  // panes ending 10s .. 40s
  EXPECT_EQ(RowsFor(rows, kServiceView, "shop.example").size(), 4u);
  EXPECT_EQ(rows.back().window_end_ns, kT0 + 40 * kSec);
  EXPECT_EQ(rows.back().values[Col("requests")], 2);
  const size_t n = rows.size();
  engine.Advance(&rows);  // nothing left to close
  EXPECT_EQ(rows.size(), n);
}

TEST(MakeWebViews, NamesFeaturesAndStableVersions) {
  const auto views = MakeWebViews(WebFeatureOptions{});
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].name, "web_service");
  EXPECT_EQ(views[0].entity, EntityKind::kService);
  EXPECT_EQ(views[1].name, "web_node");
  EXPECT_EQ(views[1].entity, EntityKind::kNode);
  const size_t n = WebFeatureBaseNames().size();
  ASSERT_EQ(n, 16u);
  for (const FeatureView& v : views) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(v.builtin, "web");
    ASSERT_EQ(v.feature_names.size(), 2 * n);
    EXPECT_EQ(v.feature_names[0], "requests_1m");
    EXPECT_EQ(v.feature_names[1], "requests_per_s_1m");
    EXPECT_EQ(v.feature_names[n - 1], "tls_failure_ratio_1m");
    EXPECT_EQ(v.feature_names[n], "requests_5m");
    EXPECT_EQ(v.feature_names[2 * n - 1], "tls_failure_ratio_5m");
    EXPECT_EQ(v.version.size(), 16u);
    EXPECT_EQ(v.longest_window_ns, 300 * kSec);
  }
  EXPECT_NE(views[0].version, views[1].version);

  const auto again = MakeWebViews(WebFeatureOptions{});
  EXPECT_EQ(again[0].version, views[0].version);
  EXPECT_EQ(again[1].version, views[1].version);

  WebFeatureOptions one_window;
  one_window.windows_ns = {60 * kSec};
  const auto other = MakeWebViews(one_window);
  EXPECT_EQ(other[0].feature_names.size(), n);
  EXPECT_NE(other[0].version, views[0].version);
  EXPECT_NE(other[1].version, views[1].version);
}

}  // namespace
}  // namespace dnsight
