// RowMonitor: per-view counts of rows, values, nulls and schema errors, the newest window
// end, forwarding down the chain, and the after-rows callback.
#include "engine/row_monitor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "engine/view_shard.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Records what reaches it, in one log shared with the callback so the order shows.
struct NextSink : RowSink {
  explicit NextSink(std::vector<std::string>* out) : log(out) {}
  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> r) override {
    log->push_back("rows " + std::to_string(r.size()));
    views_seen = &views;
    rows.insert(rows.end(), r.begin(), r.end());
  }
  void WriteLate(const DnsEventBatch&, const DnsEvent& e, int64_t watermark_ns) override {
    log->push_back("late " + std::to_string(e.ts_ns) + " " + std::to_string(watermark_ns));
  }
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override {
    log->push_back("dead " + std::string(source) + " " + std::string(reason) + " " +
                   std::to_string(sample.size()));
  }
  std::vector<std::string>* log;
  const std::vector<FeatureView>* views_seen = nullptr;
  std::vector<FeatureRow> rows;
};

FeatureRow Row(uint32_t view, int64_t end, std::vector<double> values, std::string entity = "e") {
  FeatureRow r;
  r.view = view;
  r.window_end_ns = end;
  r.entity_key = std::move(entity);
  r.values = std::move(values);
  return r;
}

class RowMonitorTest : public ::testing::Test {
 protected:
  RowMonitorTest()
      : next_(&log_),
        monitor_(next_, 2, [this](int64_t t) { log_.push_back("after " + std::to_string(t)); }) {
    views_.resize(2);
    views_[0].name = "server";
    views_[0].feature_names = {"queries_1m", "latency_ms_p95_1m"};
    views_[1].name = "client";
    views_[1].feature_names = {"queries_1m", "nxdomain_ratio_1m", "entropy_1m"};
  }

  std::vector<std::string> log_;
  NextSink next_;
  RowMonitor monitor_;
  std::vector<FeatureView> views_;
};

TEST_F(RowMonitorTest, CountsRowsNullsAndSchemaErrorsPerView) {
  const std::vector<FeatureRow> rows = {
      Row(0, 300, {10, 4.5}), Row(0, 200, {kNaN, kNaN}, "f"),  // two nulls; an older window
      Row(1, 100, {3, kNaN, 0.5}),                             // one null
      Row(1, 100, {3, 0.1}, "g"),  // two values for three features: a schema error
  };
  monitor_.WriteRows(views_, rows);
  const auto& v = monitor_.per_view();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].rows.load(), 2u);
  EXPECT_EQ(v[0].values.load(), 4u);
  EXPECT_EQ(v[0].nulls.load(), 2u);
  EXPECT_EQ(v[0].schema_errors.load(), 0u);
  EXPECT_EQ(v[0].newest.load(), 300);  // the newest, not the last
  EXPECT_EQ(v[1].rows.load(), 2u);
  EXPECT_EQ(v[1].values.load(), 5u);  // 3 + 2
  EXPECT_EQ(v[1].nulls.load(), 1u);
  EXPECT_EQ(v[1].schema_errors.load(), 1u);
  EXPECT_EQ(v[1].newest.load(), 100);

  // A later batch adds to the counts; an older window end does not move newest back.
  monitor_.WriteRows(views_, std::vector<FeatureRow>{Row(0, 250, {1, 2}), Row(1, 400, {1, 2, 3})});
  EXPECT_EQ(v[0].rows.load(), 3u);
  EXPECT_EQ(v[0].newest.load(), 300);
  EXPECT_EQ(v[1].rows.load(), 3u);
  EXPECT_EQ(v[1].newest.load(), 400);
}

TEST_F(RowMonitorTest, ForwardsRowsThenReportsTheNewestWindowEnd) {
  const std::vector<FeatureRow> rows = {Row(1, 100, {1, 2, 3}), Row(0, 700, {1, 2}),
                                        Row(0, 400, {1, 2})};
  monitor_.WriteRows(views_, rows);
  // The chain takes the batch first, then the callback hears the batch's newest end.
  EXPECT_EQ(log_, (std::vector<std::string>{"rows 3", "after 700"}));
  ASSERT_EQ(next_.rows.size(), 3u);
  EXPECT_EQ(next_.rows[1].window_end_ns, 700);
  EXPECT_EQ(next_.views_seen, &views_);

  log_.clear();
  monitor_.WriteRows(views_, std::span<const FeatureRow>());  // nothing: no callback
  EXPECT_EQ(log_, (std::vector<std::string>{"rows 0"}));
}

TEST_F(RowMonitorTest, RowOfAViewItDoesNotTrackIsForwardedButNotCounted) {
  monitor_.WriteRows(views_, std::vector<FeatureRow>{Row(2, 900, {1})});
  EXPECT_EQ(monitor_.per_view()[0].rows.load() + monitor_.per_view()[1].rows.load(), 0u);
  EXPECT_EQ(next_.rows.size(), 1u);
  EXPECT_EQ(log_.back(), "after 900");
}

TEST_F(RowMonitorTest, LateEventsAndDeadLettersPassThrough) {
  DnsEventBatch batch;
  batch.events.resize(1);
  batch.events[0].ts_ns = 42;
  monitor_.WriteLate(batch, batch.events[0], 99);
  const uint8_t sample[] = {1, 2, 3};
  monitor_.WriteDeadLetter("tap0", "truncated", sample);
  EXPECT_EQ(log_, (std::vector<std::string>{"late 42 99", "dead tap0 truncated 3"}));
}

TEST(RowMonitor, WorksWithoutACallback) {
  std::vector<std::string> log;
  NextSink next(&log);
  RowMonitor monitor(next, 1, nullptr);
  std::vector<FeatureView> views(1);
  views[0].feature_names = {"x"};
  monitor.WriteRows(views, std::vector<FeatureRow>{Row(0, 5, {kNaN})});
  EXPECT_EQ(log, (std::vector<std::string>{"rows 1"}));
  EXPECT_EQ(monitor.per_view()[0].nulls.load(), 1u);
  EXPECT_EQ(monitor.per_view()[0].newest.load(), 5);
}

}  // namespace
}  // namespace dnsight
