#include "detect/isolation_forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "unit/temp_dir.h"

namespace dnsight {
namespace {

// 2 000 rows of 3 features around (10, 100, 0.05), small noise.
std::vector<double> Normal(uint32_t seed, size_t n = 2000) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> a(10, 1), b(100, 5), c(0.05, 0.01);
  std::vector<double> rows;
  for (size_t i = 0; i < n; ++i) {
    rows.push_back(a(rng));
    rows.push_back(b(rng));
    rows.push_back(c(rng));
  }
  return rows;
}

const std::vector<std::string> kFeatures = {"latency", "queries", "nx_ratio"};

IsolationForest Trained() {
  auto f = IsolationForest::Train(Normal(1), kFeatures, {});
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f.value());
}

TEST(IsolationForest, OutliersScoreHighAndInliersLow) {
  const IsolationForest f = Trained();
  const std::vector<double> test = Normal(2, 500);
  size_t high = 0;
  for (size_t i = 0; i < 500; ++i)
    high += f.Score(std::span<const double>(test).subspan(i * 3, 3)) >= 0.7;
  EXPECT_LT(high, 5u);  // < 1 % of ordinary rows reach the default threshold
  const double outlier[] = {10, 100, 0.6};  // NXDOMAIN ratio 12x its usual
  EXPECT_GT(f.Score(outlier), 0.7);
  const double center[] = {10, 100, 0.05};
  EXPECT_LT(f.Score(center), 0.5);
}

TEST(IsolationForest, ExplainNamesTheFeatureThatStandsOut) {
  const IsolationForest f = Trained();
  const double outlier[] = {10, 100, 0.6};
  const std::vector<double> share = f.Explain(outlier);
  ASSERT_EQ(share.size(), 3u);
  EXPECT_GT(share[2], 0.5);
  EXPECT_NEAR(share[0] + share[1] + share[2], 1.0, 1e-9);
}

TEST(IsolationForest, DeterministicForASeedAndRoundTripsThroughAFile) {
  const IsolationForest a = Trained(), b = Trained();
  EXPECT_EQ(a.version(), b.version());
  test_support::TempDir dir;
  IsolationForest named = Trained();
  named.view = "server";
  const Status saved = named.Save(dir / "m.dnif");
  ASSERT_TRUE(saved.ok()) << saved.ToString();
  auto loaded = IsolationForest::Load(dir / "m.dnif");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->view, "server");
  EXPECT_EQ(loaded->features(), kFeatures);
  const double x[] = {13, 80, 0.2};
  EXPECT_EQ(loaded->Score(x), named.Score(x));
  EXPECT_EQ(loaded->version(), named.version());
}

TEST(IsolationForest, NaNFollowsTheMajorityBranch) {
  const IsolationForest f = Trained();
  const double x[] = {10, NAN, 0.05};
  const double s = f.Score(x);
  EXPECT_TRUE(std::isfinite(s));
  EXPECT_LT(s, 0.6);
}

TEST(IsolationForest, CorruptModelBytesAreRejected) {
  auto small = IsolationForest::Train(Normal(3, 50), kFeatures, {3, 16, 1});
  ASSERT_TRUE(small.ok());
  const std::string bytes = small->Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_FALSE(IsolationForest::Parse(bad).ok()) << "byte " << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(IsolationForest::Parse(bytes.substr(0, n)).ok());
  EXPECT_EQ(IsolationForest::Load("/nonexistent/m").status().code(), StatusCode::kIoError);
}

TEST(IsolationForest, RejectsUnusableTrainingData) {
  EXPECT_FALSE(IsolationForest::Train({}, kFeatures, {}).ok());
  const double one_row[] = {1, 2, 3};
  EXPECT_FALSE(IsolationForest::Train(one_row, kFeatures, {}).ok());
  const double ragged[] = {1, 2, 3, 4};
  EXPECT_FALSE(IsolationForest::Train(ragged, kFeatures, {}).ok());
}

}  // namespace
}  // namespace dnsight
