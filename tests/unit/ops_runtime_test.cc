// OpsRuntime: decisions reach the alert lifecycle in event-time order merged over the
// producers, everything held is released at Stop, and suppressions from the feedback file
// hold across a restart.
#include "serve/ops_runtime.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/time_util.h"
#include "engine/view_shard.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;

struct NullSink : RowSink {
  void WriteRows(const std::vector<FeatureView>&, std::span<const FeatureRow>) override {}
  void WriteLate(const DnsEventBatch&, const DnsEvent&, int64_t) override {}
  void WriteDeadLetter(std::string_view, std::string_view, std::span<const uint8_t>) override {}
};

constexpr const char* kConfig = R"(web:
  logs: [{path: unused.log}]
alerts:
  group_wait: 0s
  resolve_after: 3h
views:
  - name: domain
    entity: registered_domain
    windows: [1m]
    aggregations: [{name: queries, kind: count}]
)";

Decision Alerting(const std::string& view, const std::string& entity, int64_t ts) {
  Decision d;
  d.id = "dec-" + entity + "-" + std::to_string(ts);
  d.klass = "origin_errors";
  d.view = view;
  d.entity = entity;
  d.ts_ns = ts;
  d.alert = true;
  d.severity = "page";
  d.score = 9;
  d.threshold = 6;
  return d;
}

FeatureRow Row(uint32_t view, int64_t end) {
  FeatureRow r;
  r.view = view;
  r.window_end_ns = end;
  r.entity_key = "k";
  return r;
}

TEST(OpsRuntime, DecisionsWaitForTheSlowerProducerThenAllAreReleasedAtStop) {
  EngineConfig cfg = ParseConfig(kConfig, "t.yaml");
  ASSERT_EQ(cfg.views[1].name, "web_service");
  const int64_t t0 = *ParseRfc3339("2026-11-23T10:00:00Z");
  ManualClock clock(t0);
  auto ops = OpsRuntime::Create(cfg, clock);
  ASSERT_TRUE(ops.ok()) << ops.status().ToString();
  NullSink null;
  RowSink& monitor = (*ops)->Monitor(null);
  // The web input is an hour ahead of the DNS input.
  const FeatureRow dns[] = {Row(0, t0)};
  const FeatureRow web[] = {Row(1, t0 + 3600 * kSec)};
  monitor.WriteRows(cfg.views, dns);
  monitor.WriteRows(cfg.views, web);
  (*ops)->OnDecision(Alerting("web_service", "api.example.com", t0 + 3600 * kSec));
  monitor.WriteRows(cfg.views, web);  // any rows: the merged clock is still at t0
  EXPECT_TRUE((*ops)->lifecycle().OpenAlerts().empty());
  // The DNS input catches up: the web decision goes in.
  const FeatureRow dns_later[] = {Row(0, t0 + 3600 * kSec)};
  monitor.WriteRows(cfg.views, dns_later);
  ASSERT_EQ((*ops)->lifecycle().OpenAlerts().size(), 1u);
  // A decision the clock has not reached yet is released at Stop, not lost.
  (*ops)->OnDecision(Alerting("domain", "example.org", t0 + 7200 * kSec));
  EXPECT_EQ((*ops)->lifecycle().OpenAlerts().size(), 1u);
  (*ops)->Stop();
  EXPECT_EQ((*ops)->lifecycle().OpenAlerts().size(), 2u);
}

TEST(OpsRuntime, SuppressionsFromTheFeedbackFileHoldAfterARestart) {
  test_support::TempDir dir;
  const int64_t t0 = *ParseRfc3339("2026-11-23T10:00:00Z");
  {
    std::ofstream out(dir / "feedback.jsonl");
    Feedback f;
    f.decision_id = "dec-1";
    f.verdict = Verdict::kSuppress;
    f.user = "alice";
    f.suppress_for_ns = 2 * 3600 * kSec;
    f.ts_ns = t0;
    f.klass = "origin_errors";
    f.view = "web_service";
    f.entity = "api.example.com";
    f.decision_ts_ns = t0;
    std::string line;
    AppendFeedbackJson(f, &line);
    out << line << '\n';
  }
  EngineConfig cfg = ParseConfig(
      std::string(kConfig) + "feedback: {path: " + (dir / "feedback.jsonl") + "}\n", "t.yaml");
  for (const int64_t wall : {t0 + 3600 * kSec, t0 + 3 * 3600 * kSec}) {
    SCOPED_TRACE(wall);
    ManualClock clock(wall);
    auto ops = OpsRuntime::Create(cfg, clock);
    ASSERT_TRUE(ops.ok()) << ops.status().ToString();
    NullSink null;
    (*ops)->Monitor(null);
    (*ops)->OnDecision(Alerting("web_service", "api.example.com", t0 + 1800 * kSec));
    (*ops)->Stop();
    const auto open = (*ops)->lifecycle().OpenAlerts();
    ASSERT_EQ(open.size(), 1u);
    // Within the two hours the scope is still silenced; after them it is not.
    const bool within = wall < t0 + 2 * 3600 * kSec;
    EXPECT_EQ(open[0].state == AlertState::kSuppressed, within);
    if (within) {
      EXPECT_NE(open[0].reason.find("suppressed by alice"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace dnsight
