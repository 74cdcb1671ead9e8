// DetectorSink on hand-made feature rows: when it raises a decision, what the decision
// says, and what maintenance windows and volume guards do to it.
#include "detect/detector_sink.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T00:00:00Z");

constexpr char kConfig[] = R"(
engine: {pane: 10s}
views:
  - name: server
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.95]}
      - {name: servfail_ratio, kind: ratio, where: {rcode: [SERVFAIL]}}
detect:
  decisions: "-"
  renotify: 15m
  rules:
    - class: latency_rise
      view: server
      features: [latency_ms_p95_1m]
      direction: up
      threshold: 6
      min_delta: 5
      period: 0s
      min_points: 30
      require: {feature: queries_1m, min: 20}
      scope: resolver
      failure_domain: infrastructure
      action: drain_resolver
    - class: servfail_rise
      view: server
      kind: threshold
      features: [servfail_ratio_1m]
      threshold: 0.2
      severity: ticket
)";

std::string ServerKey(const char* ip) {
  const IpAddress a = *IpAddress::Parse(ip);
  std::string k(1, static_cast<char>(a.family));
  k.append(reinterpret_cast<const char*>(a.bytes.data()), a.size());
  return k;
}

class DetectorSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = ParseConfig(kConfig, "t.yaml");
    auto s = DetectorSink::Create(cfg_, &changes_, nullptr,
                                  [this](const Decision& d) { decisions_.push_back(d); });
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    sink_ = std::move(s.value());
  }
  // One pane's row for server 192.0.2.11: queries, latency p95, servfail ratio.
  void Row(int pane, double queries, double latency, double servfail = 0) {
    FeatureRow r;
    r.view = 0;
    r.window_end_ns = kT0 + pane * 10 * kSec;
    r.entity_key = ServerKey("192.0.2.11");
    r.values = {queries, latency, servfail};
    sink_->WriteRows(cfg_.views, std::span<const FeatureRow>(&r, 1));
  }
  // Normal latency with a little deterministic jitter.
  static double Normal(int pane) { return 5.0 + 0.3 * std::sin(pane * 0.7); }

  EngineConfig cfg_;
  ChangeEvents changes_;
  std::unique_ptr<DetectorSink> sink_;
  std::vector<Decision> decisions_;
};

TEST_F(DetectorSinkTest, RaisesOneExplainedDecisionWhenLatencyStepsUp) {
  for (int p = 0; p < 100; ++p) Row(p, 100, Normal(p));
  EXPECT_TRUE(decisions_.empty());
  for (int p = 100; p < 106; ++p) Row(p, 100, 40);  // the incident: 8x latency for a minute
  ASSERT_EQ(decisions_.size(), 1u);                 // once, not every pane (renotify 15m)
  const Decision& d = decisions_[0];
  EXPECT_EQ(d.ts_ns, kT0 + 100 * 10 * kSec);  // the first pane that showed it
  EXPECT_EQ(d.klass, "latency_rise");
  EXPECT_TRUE(d.alert);
  EXPECT_EQ(d.entity, "192.0.2.11");
  EXPECT_EQ(d.scope_kind, "resolver");
  EXPECT_EQ(d.failure_domain, "infrastructure");
  EXPECT_EQ(d.action, "drain_resolver");
  EXPECT_EQ(d.model_name, "robust_baseline");
  EXPECT_EQ(d.feature_version, cfg_.views[0].version);
  EXPECT_EQ(d.evidence_to_ns - d.evidence_from_ns, 60 * kSec);
  ASSERT_EQ(d.top_features.size(), 1u);
  EXPECT_EQ(d.top_features[0].name, "latency_ms_p95_1m");
  EXPECT_EQ(d.top_features[0].value, 40);
  EXPECT_NEAR(d.top_features[0].baseline, 5.0, 0.5);
  EXPECT_GE(d.score, 6);
  EXPECT_EQ(d.confidence, "high");
  std::string json;
  AppendDecisionJson(d, &json);
  EXPECT_NE(json.find("\"class\":\"latency_rise\",\"alert\":true"), std::string::npos) << json;
}

TEST_F(DetectorSinkTest, NoDecisionDuringWarmUpOrBelowTheVolumeGuard) {
  for (int p = 0; p < 20; ++p) Row(p, 100, p == 10 ? 80 : Normal(p));  // warming up
  for (int p = 20; p < 100; ++p) Row(p, 100, Normal(p));
  for (int p = 100; p < 106; ++p) Row(p, 5, 40);  // only 5 queries: too little to page
  EXPECT_TRUE(decisions_.empty());
}

TEST_F(DetectorSinkTest, SmallMovesUnderMinDeltaDoNotAlert) {
  for (int p = 0; p < 100; ++p) Row(p, 100, 5.0);  // perfectly flat: a tiny scale
  Row(100, 100, 8.0);                              // z is huge, but 3 ms < min_delta 5 ms
  EXPECT_TRUE(decisions_.empty());
}

TEST_F(DetectorSinkTest, MaintenanceWindowDowngradesAndSaysWhy) {
  ASSERT_TRUE(
      changes_
          .AddJsonLine(
              R"({"ts":"2026-11-23T00:16:00Z","kind":"maintenance_start",)"
              R"("scope":{"kind":"resolver","value":"192.0.2.11"},"id":"mw-3","note":"kernel upgrade"})")
          .ok());
  ASSERT_TRUE(changes_
                  .AddJsonLine(R"({"ts":"2026-11-23T00:30:00Z","kind":"maintenance_end",)"
                               R"("scope":{"kind":"resolver","value":"192.0.2.11"},"id":"mw-3"})")
                  .ok());
  for (int p = 0; p < 100; ++p) Row(p, 100, Normal(p));
  for (int p = 100; p < 106; ++p) Row(p, 100, 40);  // 00:16:40, inside the window
  ASSERT_EQ(decisions_.size(), 1u);
  EXPECT_FALSE(decisions_[0].alert);
  EXPECT_TRUE(decisions_[0].downgraded);
  EXPECT_EQ(decisions_[0].severity, "info");
  EXPECT_EQ(decisions_[0].reason,
            "inside maintenance window mw-3 on resolver 192.0.2.11 (kernel upgrade)");
  EXPECT_EQ(sink_->counters().downgraded.load(), 1u);
}

TEST_F(DetectorSinkTest, ThresholdRuleAndRenotifyWhileTheConditionLasts) {
  for (int p = 0; p < 200; ++p) Row(p, 100, Normal(p), p >= 50 ? 0.5 : 0.0);  // 150 panes = 25 min
  // Starts at pane 50, renotified every 15 min (90 panes) while it lasts: 50 and 140.
  ASSERT_EQ(decisions_.size(), 2u);
  EXPECT_EQ(decisions_[0].klass, "servfail_rise");
  EXPECT_EQ(decisions_[0].ts_ns, kT0 + 500 * kSec);
  EXPECT_EQ(decisions_[1].ts_ns, kT0 + 1400 * kSec);
  EXPECT_EQ(decisions_[0].severity, "ticket");
  EXPECT_EQ(decisions_[0].top_features[0].baseline, 0.2);
}

TEST(DetectConfig, RuleErrorsNameTheField) {
  try {
    ParseConfig(std::string(kConfig).replace(std::string(kConfig).find("latency_ms_p95_1m]"), 17,
                                             "latency_ms_p99_1m"),
                "t.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("detect.rules[0].features[0]: view 'server' has no "
                                         "feature 'latency_ms_p99_1m'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dnsight

namespace dnsight {
namespace {

TEST(ChangeEvents, GarbageIsCountedByReasonAndSampled) {
  ChangeEvents c;
  EXPECT_EQ(c.AddJsonLine("{").message(), "bad_json");
  EXPECT_EQ(c.AddJsonLine("[1,2]").message(), "bad_json");
  EXPECT_EQ(c.AddJsonLine(R"({"kind":"deploy"})").message(), "bad_ts");
  EXPECT_EQ(c.AddJsonLine(R"({"ts":"2026-11-23T00:00:00Z"})").message(), "missing_kind");
  EXPECT_EQ(c.AddJsonLine(R"({"ts":"2026-11-23T00:00:00Z","kind":"reboot"})").message(),
            "unknown_kind");
  EXPECT_EQ(c.AddJsonLine(R"({"ts":"2026-11-23T00:00:00Z","kind":"deploy","note":")" +
                          std::string(600, 'x') + "\"}")
                .message(),
            "field_too_long");
  EXPECT_EQ(c.rejected(), 6u);
  EXPECT_EQ(c.rejected_samples().size(), 5u);  // a bounded sample
  EXPECT_EQ(c.events(), 0u);
  // Every truncation of a valid line is either accepted whole or rejected, never a crash.
  const std::string good =
      R"({"ts":"2026-11-23T00:00:00Z","kind":"maintenance_start","scope":{"kind":"resolver","value":"192.0.2.11"},"id":"mw-1"})";
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(c.AddJsonLine(good.substr(0, n)).ok());
  EXPECT_TRUE(c.AddJsonLine(good).ok());
  EXPECT_EQ(c.events(), 1u);
}

}  // namespace
}  // namespace dnsight
