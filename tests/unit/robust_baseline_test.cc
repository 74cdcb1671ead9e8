// RobustBaseline on hand-made series whose right answer is known: a step, a spike, a daily
// pattern, a constant, warm-up, missing values; and checkpoint round trips and corruption.
#include "detect/robust_baseline.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace dnsight {
namespace {

constexpr int64_t kMinute = 60 * BaselineOptions::kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 2026-11-23T00:00:00Z: a midnight, so hour h of day d is kT0 + d * kDay + h * kHour.
constexpr int64_t kT0 = 1795392000LL * BaselineOptions::kSecond;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Deterministic noise in [-1, 1].
double Noise(int i) {
  return static_cast<double>((i * 37 + 11) % 21 - 10) / 10.0;
}

BaselineOptions NoSeason() {
  BaselineOptions o;
  o.period_ns = 0;
  return o;
}

TEST(RobustBaselineTest, StepChangeIsFlaggedAtTheStepAndNotBefore) {
  const BaselineOptions o = NoSeason();
  RobustBaseline b(&o);
  for (int i = 0; i < 80; ++i) {
    const BaselineScore s = b.Observe(kT0 + i * kMinute, 100 + Noise(i));
    EXPECT_FALSE(s.anomaly) << "i=" << i << " score=" << s.score;
    if (i < static_cast<int>(o.min_points)) {
      EXPECT_EQ(s.state, BaselineScore::State::kWarming) << i;
    } else {
      EXPECT_EQ(s.state, BaselineScore::State::kScored) << i;
    }
  }
  const BaselineScore step = b.Observe(kT0 + 80 * kMinute, 130 + Noise(80));
  EXPECT_TRUE(step.anomaly);
  EXPECT_GT(step.score, 10);
  EXPECT_NEAR(step.baseline, 100, 1);
  // A shift that persists is absorbed gradually: flagged at first, normal after a while.
  int flagged = 1;
  for (int i = 81; i < 400; ++i) {
    const BaselineScore s = b.Observe(kT0 + i * kMinute, 130 + Noise(i));
    flagged += s.anomaly ? 1 : 0;
    if (i >= 300) {
      EXPECT_FALSE(s.anomaly) << "still flagged at " << i;
    }
    if (i == 81) {  // not absorbed at once
      EXPECT_TRUE(s.anomaly);
    }
  }
  EXPECT_LT(flagged, 100);
}

TEST(RobustBaselineTest, SingleSpikeIsFlaggedAndItsNeighboursAreNot) {
  const BaselineOptions o = NoSeason();
  RobustBaseline b(&o);
  for (int i = 0; i < 120; ++i) {
    const double x = i == 60 ? 150 : 100 + Noise(i);
    const BaselineScore s = b.Observe(kT0 + i * kMinute, x);
    if (i == 60) {
      EXPECT_TRUE(s.anomaly);
      EXPECT_GT(s.score, 20);
    } else {
      EXPECT_FALSE(s.anomaly) << "i=" << i << " score=" << s.score;
    }
    if (i == 61) {  // the spike did not drag the baseline
      EXPECT_NEAR(s.baseline, 100, 1.5);
    }
  }
}

TEST(RobustBaselineTest, BurstOfAnomaliesDoesNotPoisonTheBaseline) {
  const BaselineOptions o = NoSeason();
  RobustBaseline b(&o);
  for (int i = 0; i < 60; ++i) b.Observe(kT0 + i * kMinute, 100 + Noise(i));
  for (int i = 60; i < 65; ++i) EXPECT_TRUE(b.Observe(kT0 + i * kMinute, 1e6).anomaly) << i;
  const BaselineScore back = b.Observe(kT0 + 65 * kMinute, 100);
  EXPECT_FALSE(back.anomaly);
  EXPECT_LT(std::fabs(back.baseline - 100), 10);
  for (int i = 66; i < 100; ++i) EXPECT_FALSE(b.Observe(kT0 + i * kMinute, 100 + Noise(i)).anomaly);
}

// Hourly points with a daily cycle: low at 03:00 (10), high at 15:00 (90).
double Daily(int hour_of_day, int i) {
  return 50 - 40 * std::cos(2 * M_PI * (hour_of_day - 3) / 24.0) + Noise(i);
}

TEST(RobustBaselineTest, DailySeasonalityOnceTheSlotsAreWarm) {
  const BaselineOptions o;  // 1d period, 1h slots
  RobustBaseline b(&o);
  const int days = 10;
  for (int d = 0; d < days; ++d) {
    for (int h = 0; h < 24; ++h) {
      const int i = d * 24 + h;
      const BaselineScore s = b.Observe(kT0 + d * kDay + h * kHour, Daily(h, i));
      if (d >= 4) {  // slots are warm from the fourth day (3 completed cycles)
        EXPECT_TRUE(s.seasonal) << "d=" << d << " h=" << h;
        EXPECT_FALSE(s.anomaly) << "d=" << d << " h=" << h << " score=" << s.score;
      }
    }
  }
  const auto at = [&](int h, double x) {
    RobustBaseline copy = b;  // a what-if on a copy
    return copy.Observe(kT0 + days * kDay + h * kHour, x);
  };
  EXPECT_FALSE(at(3, 10).anomaly);  // low at night: normal
  EXPECT_TRUE(at(15, 10).anomaly);  // the same value in the afternoon: anomalous
  EXPECT_GT(at(15, 10).score, 10);
  EXPECT_FALSE(at(15, 90).anomaly);
  EXPECT_TRUE(at(3, 90).anomaly);
  EXPECT_NEAR(at(15, 90).baseline, 90, 2);
}

TEST(RobustBaselineTest, SeasonalSlotsNeedCompletedCycles) {
  BaselineOptions o;
  o.min_points = 1;
  RobustBaseline b(&o);
  // One point per day at 12:00: a slot's cycle closes when the next day's point arrives.
  for (int d = 0; d < 5; ++d) {
    const BaselineScore s = b.Observe(kT0 + d * kDay + 12 * kHour, 7);
    EXPECT_EQ(s.seasonal, d >= 3) << d;  // 3 completed cycles before day 3's point
  }
}

TEST(RobustBaselineTest, ConstantSeriesDoesNotExplode) {
  const BaselineOptions o = NoSeason();
  RobustBaseline b(&o);
  for (int i = 0; i < 200; ++i) {
    const BaselineScore s = b.Observe(kT0 + i * kMinute, 5.0);
    EXPECT_FALSE(s.anomaly);
    if (s.state == BaselineScore::State::kScored) {
      EXPECT_EQ(s.score, 0);
      EXPECT_DOUBLE_EQ(s.scale, 0.05);  // 1 % of the level
    }
  }
  RobustBaseline small = b, big = b;
  const BaselineScore s1 = small.Observe(kT0 + 200 * kMinute, 5.02);
  EXPECT_NEAR(s1.score, 0.4, 1e-9);
  EXPECT_FALSE(s1.anomaly);
  const BaselineScore s2 = big.Observe(kT0 + 200 * kMinute, 6.0);
  EXPECT_NEAR(s2.score, 20, 1e-9);
  EXPECT_TRUE(s2.anomaly);

  RobustBaseline zero(&o);
  for (int i = 0; i < 50; ++i) {
    const BaselineScore s = zero.Observe(kT0 + i * kMinute, 0.0);
    EXPECT_FALSE(s.anomaly);
    if (s.state == BaselineScore::State::kScored) {
      EXPECT_DOUBLE_EQ(s.scale, o.min_scale);
    }
  }
}

TEST(RobustBaselineTest, WarmUpEmitsNoAnomalies) {
  BaselineOptions o = NoSeason();
  o.min_points = 12;
  RobustBaseline b(&o);
  const double wild[] = {1, 1e9, -1e9, 0, 5, 1e-9, 42, 7, -3, 1e6, 2};
  for (int i = 0; i < 11; ++i) {
    const BaselineScore s = b.Observe(kT0 + i * kMinute, wild[i]);
    EXPECT_EQ(s.state, BaselineScore::State::kWarming) << i;
    EXPECT_FALSE(s.anomaly);
    EXPECT_TRUE(std::isnan(s.score));
  }
  EXPECT_FALSE(b.warm());
  EXPECT_EQ(b.Observe(kT0 + 11 * kMinute, 3).state, BaselineScore::State::kWarming);
  EXPECT_TRUE(b.warm());
  EXPECT_EQ(b.Observe(kT0 + 12 * kMinute, 3).state, BaselineScore::State::kScored);
}

TEST(RobustBaselineTest, MissingValuesAreCountedAndIgnored) {
  const BaselineOptions o = NoSeason();
  RobustBaseline with_gaps(&o), without(&o);
  for (int i = 0; i < 100; ++i) {
    const double x = 100 + Noise(i) + (i == 70 ? 40 : 0);
    if (i % 7 == 3) {
      for (const double m : {kNaN, std::numeric_limits<double>::infinity(), -1e301}) {
        const BaselineScore s = with_gaps.Observe(kT0 + i * kMinute, m);
        EXPECT_EQ(s.state, BaselineScore::State::kMissing);
        EXPECT_FALSE(s.anomaly);
        EXPECT_TRUE(std::isnan(s.score));
      }
    }
    const BaselineScore a = with_gaps.Observe(kT0 + i * kMinute, x);
    const BaselineScore b = without.Observe(kT0 + i * kMinute, x);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.anomaly, b.anomaly);
    if (a.state == BaselineScore::State::kScored) {
      EXPECT_DOUBLE_EQ(a.score, b.score);
    }
  }
  EXPECT_EQ(with_gaps.points(), 100u);
  EXPECT_EQ(with_gaps.missing(), 3u * 14);
  EXPECT_EQ(without.missing(), 0u);
  // Only missing values so far: nothing is allocated or learnt.
  RobustBaseline empty(&o);
  EXPECT_EQ(empty.Observe(kT0, kNaN).state, BaselineScore::State::kMissing);
  EXPECT_EQ(empty.points(), 0u);
  EXPECT_EQ(empty.MemoryBytes(), sizeof(RobustBaseline));
}

TEST(RobustBaselineTest, DirectionUpIgnoresDrops) {
  BaselineOptions o = NoSeason();
  o.direction = ScoreDirection::kUp;
  RobustBaseline b(&o);
  for (int i = 0; i < 50; ++i) b.Observe(kT0 + i * kMinute, 100 + Noise(i));
  RobustBaseline drop = b, rise = b;
  const BaselineScore d = drop.Observe(kT0 + 50 * kMinute, 50);
  EXPECT_FALSE(d.anomaly);
  EXPECT_EQ(d.score, 0);
  EXPECT_TRUE(rise.Observe(kT0 + 50 * kMinute, 150).anomaly);

  o.direction = ScoreDirection::kDown;  // the same baselines now read kDown
  RobustBaseline drop2 = b, rise2 = b;
  EXPECT_TRUE(drop2.Observe(kT0 + 50 * kMinute, 50).anomaly);
  EXPECT_FALSE(rise2.Observe(kT0 + 50 * kMinute, 150).anomaly);
}

TEST(RobustBaselineTest, MemoryIsBoundedAndAsDocumented) {
  const BaselineOptions seasonal;
  RobustBaseline a(&seasonal);
  a.Observe(kT0, 1);
  EXPECT_EQ(a.MemoryBytes(), 2360u);
  for (int i = 1; i < 24 * 60 * 20; ++i) a.Observe(kT0 + i * kMinute, i % 13);
  EXPECT_EQ(a.MemoryBytes(), 2360u);  // twenty days of minutes later: the same

  const BaselineOptions flat = NoSeason();
  RobustBaseline b(&flat);
  b.Observe(kT0, 1);
  EXPECT_EQ(b.MemoryBytes(), 248u);
}

TEST(RobustBaselineTest, OptionsAreValidated) {
  EXPECT_TRUE(ValidateBaselineOptions(BaselineOptions{}).ok());
  BaselineOptions o;
  o.slot_ns = 7 * kMinute;  // 1d is not a multiple of 7 minutes
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  o = {};
  o.period_ns = 30 * kDay;  // 720 slots: fine; 1-minute slots: too many
  EXPECT_TRUE(ValidateBaselineOptions(o).ok());
  o.slot_ns = kMinute;
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  o = {};
  o.min_slot_points = 9;  // more than slot_history
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  o = {};
  o.min_points = 0;
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  o = {};
  o.min_scale = 0;
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  o = {};
  o.threshold = kNaN;
  EXPECT_FALSE(ValidateBaselineOptions(o).ok());
  ScoreDirection d;
  EXPECT_TRUE(ParseScoreDirection("down", &d));
  EXPECT_EQ(d, ScoreDirection::kDown);
  EXPECT_FALSE(ParseScoreDirection("sideways", &d));
}

// A baseline with a few days of seasonal state, missing values and an open cycle.
RobustBaseline Trained(const BaselineOptions* o, int hours) {
  RobustBaseline b(o);
  for (int i = 0; i < hours * 4; ++i) {  // 15-minute points
    const int64_t t = kT0 + i * 15 * kMinute;
    b.Observe(t, i % 50 == 7 ? kNaN : Daily(static_cast<int>((i / 4) % 24), i));
  }
  return b;
}

TEST(RobustBaselineTest, SerializeRoundTripContinuesIdentically) {
  const BaselineOptions o;
  RobustBaseline a = Trained(&o, 24 * 5 + 7);
  const std::string bytes = a.Serialize();
  RobustBaseline b(&o);
  ASSERT_TRUE(b.Deserialize(bytes).ok());
  EXPECT_EQ(b.Serialize(), bytes);
  EXPECT_EQ(b.points(), a.points());
  EXPECT_EQ(b.missing(), a.missing());
  for (int i = 0; i < 300; ++i) {
    const int64_t t = kT0 + (24 * 5 + 7) * kHour + i * 15 * kMinute;
    const double x = Daily(static_cast<int>((t - kT0) / kHour % 24), i) + (i == 100 ? 30 : 0);
    const BaselineScore sa = a.Observe(t, x), sb = b.Observe(t, x);
    ASSERT_EQ(sa.state, sb.state);
    ASSERT_EQ(sa.anomaly, sb.anomaly) << i;
    ASSERT_EQ(sa.seasonal, sb.seasonal);
    if (sa.state == BaselineScore::State::kScored) {
      ASSERT_DOUBLE_EQ(sa.score, sb.score) << i;
    }
  }
  EXPECT_EQ(a.Serialize(), b.Serialize());

  // A fresh baseline round-trips too, and other non-shape options may change.
  RobustBaseline fresh(&o);
  BaselineOptions looser = o;
  looser.threshold = 6;
  looser.direction = ScoreDirection::kUp;
  RobustBaseline c(&looser);
  ASSERT_TRUE(c.Deserialize(fresh.Serialize()).ok());
  EXPECT_EQ(c.points(), 0u);
  ASSERT_TRUE(c.Deserialize(bytes).ok());
}

TEST(RobustBaselineTest, CorruptBytesAreRejectedAndLeaveTheStateAlone) {
  const BaselineOptions o;
  const std::string bytes = Trained(&o, 30).Serialize();
  RobustBaseline target = Trained(&o, 3);
  const std::string before = target.Serialize();

  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(target.Deserialize(std::string_view(bytes).substr(0, n)).ok()) << n;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      EXPECT_FALSE(target.Deserialize(flipped).ok()) << i << ":" << bit;
    }
  }
  EXPECT_FALSE(target.Deserialize(bytes + "x").ok());
  EXPECT_EQ(target.Serialize(), before);

  // Bodies with a valid checksum but bad content.
  const auto reframe = [](std::string body) {
    const uint64_t h = XXH3_64bits(body.data(), body.size());
    for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((h >> (8 * i)) & 0xff));
    return body;
  };
  std::string body = bytes.substr(0, bytes.size() - 8);
  std::string v2 = body;
  v2[1] = 2;
  Status st = target.Deserialize(reframe(v2));
  EXPECT_NE(st.message().find("unsupported version"), std::string::npos) << st.ToString();
  st = target.Deserialize(reframe(body + "\x01"));
  EXPECT_NE(st.message().find("trailing bytes"), std::string::npos) << st.ToString();
  st = target.Deserialize(reframe(body.substr(0, body.size() - 3)));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st.ToString();
  EXPECT_EQ(target.Serialize(), before);

  // Another shape: a weekly period, or no seasonality.
  BaselineOptions weekly;
  weekly.period_ns = 7 * kDay;
  RobustBaseline w(&weekly);
  st = w.Deserialize(bytes);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("shape"), std::string::npos);
  const BaselineOptions flat = NoSeason();
  RobustBaseline f(&flat);
  EXPECT_FALSE(f.Deserialize(bytes).ok());
}

TEST(VectorBaselineTest, ObservesEachFeatureAndRoundTrips) {
  BaselineOptions up = NoSeason();
  up.direction = ScoreDirection::kUp;
  const BaselineOptions both = NoSeason();
  const BaselineOptions* per_feature[] = {&up, &both, &both};
  VectorBaseline v(per_feature);
  ASSERT_EQ(v.size(), 3u);
  std::vector<BaselineScore> out(3);
  for (int i = 0; i < 40; ++i) {
    const double vals[] = {10 + Noise(i), 200 + Noise(i + 3), i % 5 == 0 ? kNaN : 1 + Noise(i)};
    EXPECT_EQ(v.Observe(kT0 + i * kMinute, vals, out) >= 4, false);
  }
  std::string bytes;
  v.SerializeTo(&bytes);
  VectorBaseline w(per_feature);
  ASSERT_TRUE(w.Deserialize(bytes).ok());
  const double vals[] = {5, 300, 1};  // a drop (ignored: up only), a rise, a normal value
  std::vector<BaselineScore> ow(3);
  const double top = w.Observe(kT0 + 40 * kMinute, vals, ow);
  v.Observe(kT0 + 40 * kMinute, vals, out);
  EXPECT_FALSE(ow[0].anomaly);
  EXPECT_TRUE(ow[1].anomaly);
  EXPECT_FALSE(ow[2].anomaly);
  EXPECT_DOUBLE_EQ(top, ow[1].score);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(out[i].score, ow[i].score);
  EXPECT_GT(v.MemoryBytes(), 3 * sizeof(RobustBaseline));

  VectorBaseline two(2, &both);
  EXPECT_FALSE(two.Deserialize(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(w.Deserialize(std::string_view(bytes).substr(0, n)).ok());
}

}  // namespace
}  // namespace dnsight
