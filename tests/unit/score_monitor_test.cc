// ScoreMonitor: the cumulative histogram of score / threshold, the warm-up reference, the
// training reference, and the population stability index against either.
#include "detect/score_monitor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// One PSI term: (a - e) ln(a / e).
double Term(double a, double e) {
  return (a - e) * std::log(a / e);
}

TEST(ScoreMonitor, HistogramIsCumulativeOverRatiosToTheThreshold) {
  ScoreMonitor m;
  // Threshold 2: scores 0.1, 0.2, 1, 2, 2.5, 30, -1 are ratios 0.05, 0.1, 0.5, 1, 1.25, 15,
  // -0.5. A ratio on a bound counts in that bound (<=); 15 is above every bound.
  for (double s : {0.1, 0.2, 1.0, 2.0, 2.5, 30.0, -1.0}) m.Observe(s, 2.0);
  // Not observed at all: non-finite scores and a threshold that is not positive.
  m.Observe(kNaN, 2.0);
  m.Observe(kInf, 2.0);
  m.Observe(1.0, 0.0);
  m.Observe(1.0, kNaN);
  const ScoreSnapshot s = m.Snapshot();
  // bounds:              0.1 0.25 0.5 0.75 1.0 1.5 2.0 3.0 5.0 10.0
  const uint64_t want[] = {3, 3, 4, 4, 5, 6, 6, 6, 6, 6};
  for (size_t i = 0; i < ScoreSnapshot::kBounds.size(); ++i)
    EXPECT_EQ(s.cumulative[i], want[i]) << "le " << ScoreSnapshot::kBounds[i];
  EXPECT_EQ(s.count, 7u);  // the +Inf bucket
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 1.0 + 1.25 + 15.0 - 0.5);
  EXPECT_EQ(s.reference, "");  // 7 of 2000 warm-up scores
  EXPECT_TRUE(std::isnan(s.psi));
}

TEST(ScoreMonitor, WarmUpReferenceFreezesAfterReferenceSizeScores) {
  ScoreMonitor m(/*reference_size=*/10, /*window_size=*/10);
  // Warm-up ratios 0.1, 0.2, ..., 1.0: sorted[n * q / 10] gives the edges 0.2 .. 1.0, so
  // each of the ten bins holds one score: expected share 0.1 each.
  for (int i = 1; i <= 9; ++i) m.Observe(i, 10.0);
  EXPECT_EQ(m.Snapshot().reference, "");
  m.Observe(10, 10.0);
  ScoreSnapshot s = m.Snapshot();
  EXPECT_EQ(s.reference, "warmup");
  EXPECT_TRUE(std::isnan(s.psi));  // no window yet
  EXPECT_EQ(s.count, 10u);         // warm-up scores are in the histogram all the same

  // The same ten ratios again: one per bin, PSI exactly 0.
  for (int i = 1; i <= 10; ++i) m.Observe(i, 10.0);
  s = m.Snapshot();
  EXPECT_NEAR(s.psi, 0.0, 1e-12);

  // Five scores at ratio 5 replace the five oldest (bins 0..4) in the ring: bins 5..8 keep
  // 0.1, bin 9 holds 6 of 10, bins 0..4 are empty (floored at 1e-4).
  for (int i = 0; i < 5; ++i) m.Observe(50, 10.0);
  s = m.Snapshot();
  EXPECT_NEAR(s.psi, 5 * Term(1e-4, 0.1) + Term(0.6, 0.1), 1e-9);  // 3.4504 + 0.8959
  // Five more fill the window with bin 9: (1 - 0.1) ln 10 + 9 (1e-4 - 0.1) ln(1e-3).
  for (int i = 0; i < 5; ++i) m.Observe(50, 10.0);
  s = m.Snapshot();
  EXPECT_NEAR(s.psi, Term(1.0, 0.1) + 9 * Term(1e-4, 0.1), 1e-9);  // about 8.28
  EXPECT_EQ(s.reference, "warmup");  // frozen: the shift did not move the reference
}

TEST(ScoreMonitor, TiedWarmUpScoresGiveUnevenExpectedShares) {
  ScoreMonitor m(10, 10);
  // Eight zeros and two ones (ratios): edges sorted[1..9] = 0 x7, 1, 1. Zeros fall in bin
  // 7 (upper_bound past the seven zero edges), ones in bin 9: expected 0.8 and 0.2.
  for (int i = 0; i < 8; ++i) m.Observe(0, 1.0);
  m.Observe(1, 1.0);
  m.Observe(1, 1.0);
  ASSERT_EQ(m.Snapshot().reference, "warmup");
  for (int i = 0; i < 8; ++i) m.Observe(0, 1.0);
  m.Observe(1, 1.0);
  m.Observe(1, 1.0);
  EXPECT_NEAR(m.Snapshot().psi, 0.0, 1e-12);  // the same mix: stable, not a false shift
}

// Ratios with an exponential distribution of the given mean, from a fixed seed.
std::vector<double> Exponential(uint32_t seed, double mean, int n) {
  std::mt19937 gen(seed);
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const double u = (static_cast<double>(gen()) + 0.5) / 4294967296.0;  // (0, 1)
    out.push_back(-mean * std::log(u));
  }
  return out;
}

TEST(ScoreMonitor, PsiIsSmallForTheSameDistributionAndLargeForAShift) {
  ScoreMonitor same, shifted;  // reference and window 2000 each
  for (double r : Exponential(1, 0.5, 2000)) {
    same.Observe(r, 1.0);
    shifted.Observe(r, 1.0);
  }
  for (double r : Exponential(2, 0.5, 2000)) same.Observe(r, 1.0);
  for (double r : Exponential(3, 1.5, 2000)) shifted.Observe(r, 1.0);  // scores tripled
  const double stable = same.Snapshot().psi;
  const double drift = shifted.Snapshot().psi;
  // Sampling noise alone: about (bins - 1) (1/2000 + 1/2000) = 0.009.
  EXPECT_LT(stable, 0.05);
  EXPECT_GE(stable, 0.0);
  EXPECT_GT(drift, 0.25);
}

TEST(ScoreMonitor, TrainingReferenceUsesTheDecilesInRatioUnits) {
  ScoreMonitor m(10, 10);
  m.Observe(3, 10.0);  // a warm-up score, dropped with the warm-up
  // Raw decile edges 1..9 at threshold 10: ratio edges 0.1 .. 0.9, each bin 0.1.
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8, 9}, 10.0);
  ScoreSnapshot s = m.Snapshot();
  EXPECT_EQ(s.reference, "training");
  EXPECT_TRUE(std::isnan(s.psi));
  EXPECT_EQ(s.count, 1u);  // the histogram keeps what it saw
  // Scores 0.5, 1.5, ..., 9.5: ratios 0.05 .. 0.95, one per bin.
  for (int i = 0; i < 10; ++i) m.Observe(i + 0.5, 10.0);
  EXPECT_NEAR(m.Snapshot().psi, 0.0, 1e-12);
  EXPECT_EQ(m.Snapshot().reference, "training");  // no warm-up freeze replaces it
  // Ten scores below the first edge: all in bin 0.
  for (int i = 0; i < 10; ++i) m.Observe(0.2, 10.0);
  EXPECT_NEAR(m.Snapshot().psi, Term(1.0, 0.1) + 9 * Term(1e-4, 0.1), 1e-9);
  // A new training reference starts a new window.
  m.SetReference({10, 20, 30, 40, 50, 60, 70, 80, 90}, 10.0);
  EXPECT_TRUE(std::isnan(m.Snapshot().psi));
}

TEST(ScoreMonitor, InvalidReferencesAreIgnored) {
  ScoreMonitor m(10, 10);
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8}, 10.0);         // 8 edges
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10.0);  // 10 edges
  m.SetReference({1, 2, 3, 4, kNaN, 6, 7, 8, 9}, 10.0);   // NaN
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8, kInf}, 10.0);   // infinite
  m.SetReference({1, 2, 3, 5, 4, 6, 7, 8, 9}, 10.0);      // decreasing
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8, 9}, 0.0);       // threshold 0
  m.SetReference({1, 2, 3, 4, 5, 6, 7, 8, 9}, kNaN);      // threshold NaN
  EXPECT_EQ(m.Snapshot().reference, "");
  // Non-decreasing with ties is valid.
  m.SetReference({0, 0, 0, 1, 1, 2, 3, 5, 8}, 1.0);
  EXPECT_EQ(m.Snapshot().reference, "training");
  for (int i = 0; i < 10; ++i) m.Observe(9, 1.0);  // bin 9
  const double psi = m.Snapshot().psi;
  m.SetReference({9, 8, 7, 6, 5, 4, 3, 2, 1}, 1.0);  // invalid: the old one stays
  EXPECT_EQ(m.Snapshot().psi, psi);
}

}  // namespace
}  // namespace dnsight
