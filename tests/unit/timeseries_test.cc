// Each transform on a hand-made series, expected values worked out by hand.
#include "features/timeseries.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TransformSpec Make(std::string_view kind, int points = 4) {
  TransformSpec s;
  EXPECT_TRUE(ParseTransformSpec(kind, &s)) << kind;
  s.window_points = points;
  return s;
}

// Pushes values one minute apart and returns Value() after each push.
std::vector<double> Feed(const TransformSpec& spec, const std::vector<double>& values) {
  SeriesTransform t(spec);
  std::vector<double> out;
  for (size_t i = 0; i < values.size(); ++i) {
    t.Push(static_cast<int64_t>(i) * kMin, values[i]);
    out.push_back(t.Value());
  }
  return out;
}

TEST(TimeseriesTransform, ParseNames) {
  TransformSpec s;
  for (std::string_view name : {"ewma", "rolling_mean", "rolling_std", "median", "mad",
                                "pct_change", "delta_1d", "slope"}) {
    ASSERT_TRUE(ParseTransformSpec(name, &s));
    EXPECT_EQ(s.name, name);
    EXPECT_EQ(TransformKindName(s.kind), name);
  }
  s.alpha = 0.7;
  EXPECT_FALSE(ParseTransformSpec("zscore", &s));
  EXPECT_EQ(s.name, "slope");  // unchanged
  EXPECT_EQ(s.alpha, 0.7);
}

TEST(TimeseriesTransform, EmptyIsNaN) {
  for (std::string_view name : {"ewma", "rolling_mean", "rolling_std", "median", "mad",
                                "pct_change", "delta_1d", "slope"}) {
    SeriesTransform t(Make(name));
    EXPECT_TRUE(std::isnan(t.Value())) << name;
    t.Push(0, kNaN);  // NaN is skipped
    EXPECT_TRUE(std::isnan(t.Value())) << name;
  }
}

TEST(TimeseriesTransform, Ewma) {
  TransformSpec s = Make("ewma");
  s.alpha = 0.5;
  // s1 = 10; s2 = 0.5*20 + 0.5*10 = 15; NaN skipped; s3 = 0.5*5 + 0.5*15 = 10;
  // s4 = 0.5*30 + 0.5*10 = 20.
  const auto v = Feed(s, {10, 20, kNaN, 5, 30});
  EXPECT_DOUBLE_EQ(v[0], 10);
  EXPECT_DOUBLE_EQ(v[1], 15);
  EXPECT_DOUBLE_EQ(v[2], 15);
  EXPECT_DOUBLE_EQ(v[3], 10);
  EXPECT_DOUBLE_EQ(v[4], 20);
}

TEST(TimeseriesTransform, RollingMeanAndStd) {
  // Window 3 over 2, 4, 6, 8:
  //   after 2: mean 2, std 0;  after 4: mean 3, std 1;
  //   after 6: mean 4, std sqrt((4 + 0 + 4) / 3) = sqrt(8/3);
  //   after 8 (2 leaves): 4, 6, 8 -> mean 6, std sqrt(8/3).
  const auto m = Feed(Make("rolling_mean", 3), {2, 4, 6, 8});
  EXPECT_DOUBLE_EQ(m[0], 2);
  EXPECT_DOUBLE_EQ(m[1], 3);
  EXPECT_DOUBLE_EQ(m[2], 4);
  EXPECT_DOUBLE_EQ(m[3], 6);
  const auto s = Feed(Make("rolling_std", 3), {2, 4, 6, 8});
  EXPECT_DOUBLE_EQ(s[0], 0);
  EXPECT_DOUBLE_EQ(s[1], 1);
  EXPECT_DOUBLE_EQ(s[2], std::sqrt(8.0 / 3.0));
  EXPECT_DOUBLE_EQ(s[3], std::sqrt(8.0 / 3.0));
}

TEST(TimeseriesTransform, MedianAndMad) {
  // Window 4 over 5, 1, 9, 3, 100:
  //   [5] -> 5;  [5,1] -> 3;  [5,1,9] -> 5;  [5,1,9,3] -> (3 + 5) / 2 = 4;
  //   [1,9,3,100] -> (3 + 9) / 2 = 6 (the outlier barely moves it).
  const auto med = Feed(Make("median", 4), {5, 1, 9, 3, 100});
  EXPECT_EQ(med, (std::vector<double>{5, 3, 5, 4, 6}));
  // MAD of the last window [1, 9, 3, 100] around 6: |dev| = 5, 3, 3, 94 -> median (3 + 5) / 2 = 4.
  // MAD of [5, 1, 9] around 5: 0, 4, 4 -> 4.
  const auto mad = Feed(Make("mad", 4), {5, 1, 9, 3, 100});
  EXPECT_DOUBLE_EQ(mad[0], 0);
  EXPECT_DOUBLE_EQ(mad[2], 4);
  EXPECT_DOUBLE_EQ(mad[4], 4);
}

TEST(TimeseriesTransform, MedianLargeWindow) {
  // Windows above the stack buffer use the heap path: 1..1001 -> median 501.
  std::vector<double> values;
  for (int i = 1; i <= 1001; ++i) values.push_back(1002 - i);
  const auto med = Feed(Make("median", 1001), values);
  EXPECT_EQ(med.back(), 501);
}

TEST(TimeseriesTransform, PctChange) {
  // 50 -> 75: +50 %;  75 -> 60: -20 %;  60 -> 0: -100 %;  0 -> 10: previous is 0 -> NaN.
  // A negative previous uses |previous|: -10 -> -5 is +50 %.
  const auto v = Feed(Make("pct_change"), {50, 75, 60, 0, 10, -10, -5});
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_DOUBLE_EQ(v[1], 50);
  EXPECT_DOUBLE_EQ(v[2], -20);
  EXPECT_DOUBLE_EQ(v[3], -100);
  EXPECT_TRUE(std::isnan(v[4]));
  EXPECT_DOUBLE_EQ(v[5], -200);  // 10 -> -10
  EXPECT_DOUBLE_EQ(v[6], 50);
}

TEST(TimeseriesTransform, Slope) {
  // Points one minute apart: 1, 3, 5 -> 2 per 60 s = 1/30 per second.
  const auto v = Feed(Make("slope", 3), {1, 3, 5, 5, 5, 5});
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_DOUBLE_EQ(v[1], 2.0 / 60.0);
  EXPECT_DOUBLE_EQ(v[2], 2.0 / 60.0);
  // Window [3, 5, 5] at t = 60, 120, 180: t mean 120, v mean 13/3;
  //   sxy = (-60)(3 - 13/3) + 0 + 60(5 - 13/3) = 80 + 40 = 120;  sxx = 7200 -> 1/60.
  EXPECT_DOUBLE_EQ(v[3], 1.0 / 60.0);
  EXPECT_DOUBLE_EQ(v[5], 0);
  // Uneven spacing: (0 s, 0), (10 s, 10), (30 s, 30) -> slope exactly 1.
  SeriesTransform t(Make("slope", 3));
  t.Push(0, 0);
  t.Push(10 * kSec, 10);
  t.Push(30 * kSec, 30);
  EXPECT_NEAR(t.Value(), 1.0, 1e-12);
  // Two points at the same time: no spread -> NaN.
  SeriesTransform same(Make("slope", 2));
  same.Push(5, 1);
  same.Push(5, 2);
  EXPECT_TRUE(std::isnan(same.Value()));
}

TEST(TimeseriesTransform, DeltaOneDay) {
  TransformSpec s = Make("delta_1d");
  s.step_ns = 15 * kMin;
  SeriesTransform t(s);
  const int64_t day0 = 1'700'000'000LL * kSec / kDay * kDay;  // a midnight
  // Day 0: one value per 5 minutes, value = minute of the day. The history keeps the first
  // value of each 15-minute step: 00:00, 00:15, 00:30, ...
  for (int m = 0; m < 24 * 60; m += 5) {
    t.Push(day0 + m * kMin, m);
    // Before 23:45 no sample lies within one step (15 min) of t - 1 day -> NaN.
    if (m < 23 * 60 + 45) {
      EXPECT_TRUE(std::isnan(t.Value())) << m;
    }
  }
  // Last point 23:55 (value 1435): t - 1 day is the previous day's 23:55, and the 00:00
  // sample (value 0) is only 5 min from it, within one step -> 1435 - 0.
  EXPECT_DOUBLE_EQ(t.Value(), 1435);
  // Day 1 at 12:07 with value 1000: t - 1 day = day0 12:07. Samples near it: 12:00 (value
  // 720, 7 min away) and 12:15 (value 735, 8 min away) -> 12:00 -> 1000 - 720 = 280.
  t.Push(day0 + kDay + 12 * kHour + 7 * kMin, 1000);
  EXPECT_DOUBLE_EQ(t.Value(), 280);
  // Day 1 at 12:13 with 1000: 12:15 (2 min) beats 12:00 (13 min) -> 1000 - 735 = 265.
  t.Push(day0 + kDay + 12 * kHour + 13 * kMin, 1000);
  EXPECT_DOUBLE_EQ(t.Value(), 265);
}

TEST(TimeseriesTransform, DeltaGapGivesNaN) {
  TransformSpec s = Make("delta_1d");
  s.step_ns = 10 * kMin;
  SeriesTransform t(s);
  t.Push(0, 5);
  // Exactly one day later: the sample is 0 ns away -> 7 - 5 = 2.
  t.Push(kDay, 7);
  EXPECT_DOUBLE_EQ(t.Value(), 2);
  // 3 hours further, nothing was pushed 3 hours after the first point -> NaN.
  t.Push(kDay + 3 * kHour, 9);
  EXPECT_TRUE(std::isnan(t.Value()));
  // Three days later the old laps are stale and must not be used.
  t.Push(3 * kDay + 3 * kHour, 11);
  EXPECT_TRUE(std::isnan(t.Value()));
}

TEST(TimeseriesTransform, MemoryIsBounded) {
  SeriesTransform ewma(Make("ewma"));
  const size_t empty = ewma.MemoryBytes();
  for (int i = 0; i < 10000; ++i) ewma.Push(i * kMin, i);
  EXPECT_EQ(ewma.MemoryBytes(), empty);
  SeriesTransform roll(Make("rolling_mean", 30));
  for (int i = 0; i < 10000; ++i) roll.Push(i * kMin, i);
  EXPECT_EQ(roll.MemoryBytes(), sizeof(SeriesTransform) + 30 * sizeof(double));
  TransformSpec d = Make("delta_1d");  // default 15 min step: 96 + 3 samples
  SeriesTransform delta(d);
  for (int i = 0; i < 10000; ++i) delta.Push(i * kMin, i);
  EXPECT_EQ(delta.MemoryBytes(), sizeof(SeriesTransform) + 99 * 16);
  // Absurd step settings are bounded too.
  d.step_ns = 1;
  SeriesTransform tiny_step(d);
  tiny_step.Push(0, 1);
  EXPECT_LE(tiny_step.MemoryBytes(),
            sizeof(SeriesTransform) + (SeriesTransform::kMaxDeltaSamples + 4) * 16);
  tiny_step.Reset();
  EXPECT_EQ(tiny_step.MemoryBytes(), sizeof(SeriesTransform));
}

}  // namespace
}  // namespace dnsight
