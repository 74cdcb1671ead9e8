// Point-in-time retrieval on hand-made histories: every expected value below is worked
// out from the rows written in the test, not from the code under test.
#include "store/point_in_time.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/time_util.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using test_support::TempDir;

constexpr int64_t kSec = 1'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T10:00:00Z");

class PointInTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OfflineOptions o;
    o.dir = dir_ / "offline";
    offline_ = std::move(OfflineStore::Open(o).value());
    registry_ = std::move(Registry::Open(dir_ / "registry").value());
    RegisteredView v;
    v.name = "client";
    v.version = "v1";
    v.entity = "client";
    v.ttl_ns = 60 * kSec;
    v.feature_names = {"queries_1m"};
    v.registered_at_ns = 1;
    ASSERT_TRUE(registry_->Register(v).ok());
  }

  // One row: entity's queries_1m = value for the window ending at t.
  void Write(const std::string& entity, int64_t t, double value,
             const std::string& version = "v1") {
    OfflineBlock b;
    b.view = "client";
    b.version = version;
    b.feature_names = {"queries_1m"};
    b.window_end_ns = {t};
    b.entities = {entity};
    b.values = {value};
    ASSERT_TRUE(offline_->Append(b).ok());
  }

  TrainingSet Join(const std::string& csv, PitStats* stats = nullptr,
                   std::vector<ViewSelector> views = {{"client", ""}}) {
    spine_ = ParseSpineCsv(csv).value();
    auto ts = PointInTimeJoin(*offline_, *registry_, spine_, views, stats);
    EXPECT_TRUE(ts.ok()) << ts.status().ToString();
    return std::move(ts.value());
  }

  static std::string SpineCsv(std::initializer_list<std::pair<const char*, int64_t>> rows) {
    std::string s = "entity,timestamp,label\n";
    for (const auto& [e, t] : rows) s += std::string(e) + "," + std::to_string(t) + ",1\n";
    return s;
  }

  TempDir dir_;
  std::unique_ptr<OfflineStore> offline_;
  std::unique_ptr<Registry> registry_;
  dnsight::Spine spine_;
};

TEST_F(PointInTimeTest, EqualTimestampCountsAndNothingAfterIsSeen) {
  Write("a", kT0 + 10 * kSec, 1);
  Write("a", kT0 + 20 * kSec, 2);
  const auto ts = Join(SpineCsv({{"a", kT0 + 10 * kSec},
                                 {"a", kT0 + 19 * kSec},
                                 {"a", kT0 + 20 * kSec},
                                 {"a", kT0 + 10 * kSec - 1}}));
  EXPECT_EQ(ts.values[0], 1);  // window ended exactly at the timestamp: visible
  EXPECT_EQ(ts.values[1], 1);  // the 20 s window has not ended yet: never look ahead
  EXPECT_EQ(ts.values[2], 2);
  EXPECT_TRUE(std::isnan(ts.values[3]));  // before any window ended
  EXPECT_EQ(ts.window_ends[0], kT0 + 10 * kSec);
  EXPECT_EQ(ts.window_ends[3], TrainingSet::kNoWindow);
}

TEST_F(PointInTimeTest, GapsCarryTheLastValueUntilTheTtl) {
  Write("a", kT0 + 10 * kSec, 1);
  Write("a", kT0 + 200 * kSec, 7);  // nothing between 10 s and 200 s
  PitStats stats;
  const auto ts = Join(SpineCsv({{"a", kT0 + 50 * kSec},
                                 {"a", kT0 + 70 * kSec},
                                 {"a", kT0 + 71 * kSec},
                                 {"a", kT0 + 250 * kSec}}),
                       &stats);
  EXPECT_EQ(ts.values[0], 1);             // 40 s old, TTL 60 s
  EXPECT_EQ(ts.values[1], 1);             // exactly 60 s old: still within the TTL
  EXPECT_TRUE(std::isnan(ts.values[2]));  // 61 s old: expired, reads as absent
  EXPECT_EQ(ts.values[3], 7);
  EXPECT_EQ(stats.matched, 3u);
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.unmatched, 0u);
}

TEST_F(PointInTimeTest, EntitiesDoNotLeakIntoEachOther) {
  Write("a", kT0 + 10 * kSec, 1);
  Write("b", kT0 + 20 * kSec, 2);
  PitStats stats;
  const auto ts = Join(
      SpineCsv({{"b", kT0 + 15 * kSec}, {"c", kT0 + 30 * kSec}, {"b", kT0 + 30 * kSec}}), &stats);
  EXPECT_TRUE(std::isnan(ts.values[0]));  // b's first window ends at 20 s
  EXPECT_TRUE(std::isnan(ts.values[1]));  // no history for c
  EXPECT_EQ(ts.values[2], 2);
  EXPECT_EQ(stats.unmatched, 2u);
}

TEST_F(PointInTimeTest, LateRowForAnEarlierWindowIsUsedOnlyForLaterTimestamps) {
  // Written in this order, as a run with late data would: the 30 s row first, then a row
  // for the window ending at 20 s that reached the store afterwards.
  Write("a", kT0 + 30 * kSec, 3);
  Write("a", kT0 + 20 * kSec, 2);
  const auto ts = Join(SpineCsv({{"a", kT0 + 25 * kSec}, {"a", kT0 + 35 * kSec}}));
  EXPECT_EQ(ts.values[0], 2);
  EXPECT_EQ(ts.values[1], 3);
}

TEST_F(PointInTimeTest, SameWindowWrittenTwiceTakesTheLastWrite) {
  Write("a", kT0 + 10 * kSec, 1);
  Write("a", kT0 + 10 * kSec, 5);  // a re-emitted window (e.g. a backfill over live data)
  const auto ts = Join(SpineCsv({{"a", kT0 + 10 * kSec}}));
  EXPECT_EQ(ts.values[0], 5);
}

TEST_F(PointInTimeTest, RowsOfOtherVersionsAreNotMixedIn) {
  Write("a", kT0 + 10 * kSec, 1, "v1");
  Write("a", kT0 + 20 * kSec, 99, "v0");
  const auto ts = Join(SpineCsv({{"a", kT0 + 30 * kSec}}));
  EXPECT_EQ(ts.values[0], 1);
}

TEST_F(PointInTimeTest, OutputFormats) {
  Write("a", kT0 + 10 * kSec, 1.5);
  const auto ts =
      Join("entity,timestamp,label\na,2026-11-23T10:00:15Z,yes\nb,2026-11-23T10:00:15Z,no\n");
  std::string csv, jsonl;
  AppendTrainingSetCsv(spine_, ts, &csv);
  AppendTrainingSetJsonl(spine_, ts, &jsonl);
  EXPECT_EQ(csv,
            "entity,timestamp,label,client__window_end,client__queries_1m\n"
            "a,2026-11-23T10:00:15Z,yes,2026-11-23T10:00:10Z,1.5\n"
            "b,2026-11-23T10:00:15Z,no,,\n");
  EXPECT_EQ(jsonl,
            "{\"entity\":\"a\",\"timestamp\":\"2026-11-23T10:00:15Z\",\"label\":\"yes\","
            "\"client__window_end\":\"2026-11-23T10:00:10Z\",\"client__queries_1m\":1.5}\n"
            "{\"entity\":\"b\",\"timestamp\":\"2026-11-23T10:00:15Z\",\"label\":\"no\","
            "\"client__window_end\":null,\"client__queries_1m\":null}\n");
}

TEST_F(PointInTimeTest, UnknownViewIsAnError) {
  spine_ = ParseSpineCsv("entity,timestamp\na,1\n").value();
  auto ts = PointInTimeJoin(*offline_, *registry_, spine_, {{"nope", ""}});
  EXPECT_EQ(ts.status().code(), StatusCode::kNotFound);
}

TEST(SpineCsv, ParsesColumnsInAnyOrderAndQuotes) {
  auto s = ParseSpineCsv("label,timestamp,entity\r\n1,2026-11-23T10:00:00+01:00,\"x,\"\"y\"\"\"\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->rows.size(), 1u);
  EXPECT_TRUE(s->has_label);
  EXPECT_EQ(s->rows[0].entity, "x,\"y\"");
  EXPECT_EQ(s->rows[0].ts_ns, *ParseRfc3339("2026-11-23T09:00:00Z"));
}

TEST(SpineCsv, ErrorsNameTheLine) {
  EXPECT_EQ(ParseSpineCsv("").status().message(), "spine: empty (no header)");
  EXPECT_EQ(ParseSpineCsv("who,when\n").status().message(),
            "spine line 1: header must name 'entity' and 'timestamp'");
  EXPECT_EQ(ParseSpineCsv("entity,timestamp\na,1\nb,yesterday\n").status().message(),
            "spine line 3: bad timestamp 'yesterday'");
  EXPECT_EQ(ParseSpineCsv("entity,timestamp\n\"a,1\n").status().message(),
            "spine line 2: bad quoting");
  EXPECT_EQ(ParseSpineCsv("entity,timestamp,label\na\n").status().message(),
            "spine line 2: expected 3 fields, got 1");
}

}  // namespace
}  // namespace dnsight
