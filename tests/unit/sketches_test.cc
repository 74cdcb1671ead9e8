// Accuracy and guarantee tests for the sketches behind the aggregations.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "common/serial.h"
#include "features/categorical_counts.h"
#include "features/ddsketch.h"
#include "features/hyperloglog.h"
#include "features/space_saving.h"

namespace dnsight {
namespace {

// SplitMix64: a small deterministic generator, the same on every platform.
struct SplitMix {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
};

std::string Key(uint64_t i) {
  return "host-" + std::to_string(i) + ".example.net";
}

// ---- HyperLogLog --------------------------------------------------------------------------

class HllAccuracy : public ::testing::TestWithParam<std::tuple<int, uint64_t>> {};

TEST_P(HllAccuracy, WithinThreeStandardErrors) {
  const auto [p, n] = GetParam();
  HyperLogLog hll(p);
  for (uint64_t i = 0; i < n; ++i) hll.Add(Key(i));
  // Duplicates must not count.
  for (uint64_t i = 0; i < std::min<uint64_t>(n, 1000); ++i) hll.Add(Key(i));
  const double m = std::ldexp(1.0, p);
  const double est = hll.Estimate();
  const double rel = std::fabs(est - static_cast<double>(n)) / static_cast<double>(n);
  EXPECT_LE(rel, 3.0 / std::sqrt(m)) << "estimate " << est << " for " << n;
}

INSTANTIATE_TEST_SUITE_P(Sketch, HllAccuracy,
                         ::testing::Combine(::testing::Values(10, 12, 14),
                                            ::testing::Values(10u, 1000u, 100000u, 1000000u)));

TEST(HllSketch, SparseIsExactAndSmall) {
  HyperLogLog hll(12);
  EXPECT_TRUE(hll.empty());
  EXPECT_EQ(hll.Estimate(), 0);
  for (int i = 0; i < 10; ++i) hll.Add(Key(static_cast<uint64_t>(i)));
  hll.Add(Key(3));
  EXPECT_TRUE(hll.sparse());
  EXPECT_EQ(hll.Estimate(), 10);
  EXPECT_LT(hll.MemoryBytes(), 256u);  // 16 slots of 8 bytes plus the object
  // Sparse holds up to 3/32 of 2^p hashes exactly, then turns dense.
  EXPECT_EQ(HyperLogLog::MaxSparseSize(12), 384u);
  for (uint64_t i = 10; i < 384; ++i) hll.Add(Key(i));
  EXPECT_TRUE(hll.sparse());
  EXPECT_EQ(hll.Estimate(), 384);
  hll.Add(Key(384));
  EXPECT_FALSE(hll.sparse());
  EXPECT_NEAR(hll.Estimate(), 385, 385 * 3 / 64.0);
  EXPECT_EQ(hll.MemoryBytes(), sizeof(HyperLogLog) + 4096);
}

TEST(HllSketch, LowPrecisionStartsDense) {
  HyperLogLog hll(4);
  EXPECT_EQ(HyperLogLog::MaxSparseSize(4), 0u);
  hll.Add("a");
  EXPECT_FALSE(hll.sparse());
  EXPECT_NEAR(hll.Estimate(), 1, 0.5);
}

TEST(HllSketch, PrecisionIsClamped) {
  EXPECT_EQ(HyperLogLog(2).precision(), 4);
  EXPECT_EQ(HyperLogLog(30).precision(), 16);
}

TEST(HllSketch, MergeMatchesUnionInEveryMode) {
  // (a, b) sizes chosen to cover sparse+sparse (exact), sparse+dense and dense+dense.
  const std::pair<uint64_t, uint64_t> cases[] = {
      {5, 7}, {100, 200}, {50, 5000}, {5000, 50}, {20000, 30000}};
  for (const auto& [na, nb] : cases) {
    HyperLogLog a(12), b(12), u(12);
    for (uint64_t i = 0; i < na; ++i) a.Add(Key(i));
    for (uint64_t i = na / 2; i < na / 2 + nb; ++i) b.Add(Key(i));  // overlapping ranges
    for (uint64_t i = 0; i < std::max(na, na / 2 + nb); ++i) u.Add(Key(i));
    a.Merge(b);
    if (a.sparse() && u.sparse()) {
      EXPECT_EQ(a.Estimate(), u.Estimate());
    } else {
      // Dense registers are a max over the same hashes, so the union is identical.
      std::string sa, su;
      a.Serialize(&sa);
      u.Serialize(&su);
      if (!u.sparse()) {
        EXPECT_EQ(sa, su) << na << "+" << nb;
      }
    }
  }
}

TEST(HllSketch, SerializeRoundTripAndValidation) {
  for (uint64_t n : {0u, 3u, 300u, 50000u}) {
    HyperLogLog h(12);
    for (uint64_t i = 0; i < n; ++i) h.Add(Key(i));
    std::string bytes;
    h.Serialize(&bytes);
    HyperLogLog back(12);
    std::string_view in = bytes;
    ASSERT_TRUE(back.Deserialize(&in).ok());
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(back.Estimate(), h.Estimate());
    EXPECT_EQ(back.sparse(), h.sparse());
    HyperLogLog other_p(11);
    in = bytes;
    EXPECT_FALSE(other_p.Deserialize(&in).ok());
    for (size_t len = 0; len < bytes.size(); len += std::max<size_t>(1, bytes.size() / 64)) {
      std::string_view cut = std::string_view(bytes).substr(0, len);
      HyperLogLog t(12);
      EXPECT_FALSE(t.Deserialize(&cut).ok()) << len;
    }
  }
  // A register above 65 - p is impossible.
  std::string dense = {1, 4, 1};
  dense.append(16, '\0');
  dense[5] = 62;
  std::string_view in = dense;
  HyperLogLog h4(4);
  EXPECT_FALSE(h4.Deserialize(&in).ok());
  dense[5] = 61;
  in = dense;
  EXPECT_TRUE(h4.Deserialize(&in).ok());
  // Sparse hashes must strictly increase (a zero delta is a duplicate).
  std::string sparse = {1, 12, 0, 2, 5, 0};
  in = sparse;
  HyperLogLog h12(12);
  EXPECT_FALSE(h12.Deserialize(&in).ok());
}

// ---- DDSketch -----------------------------------------------------------------------------

void ExpectRelativeAccuracy(const DDSketch& s, std::vector<double> values, double alpha) {
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double exact =
        values[static_cast<size_t>(std::floor(q * static_cast<double>(values.size() - 1)))];
    const double got = s.Quantile(q);
    EXPECT_LE(std::fabs(got - exact), alpha * exact * (1 + 1e-9))
        << "q=" << q << " exact " << exact;
  }
}

TEST(DdSketchAccuracy, UniformIntegers) {
  DDSketch s(0.01);
  std::vector<double> v;
  for (int i = 1; i <= 10000; ++i) v.push_back(i);
  for (double x : v) s.Add(x);
  EXPECT_EQ(s.count(), 10000u);
  ExpectRelativeAccuracy(s, v, 0.01);
}

TEST(DdSketchAccuracy, ExponentialAndLogNormal) {
  for (double alpha : {0.01, 0.02, 0.05}) {
    SplitMix rng{42};
    DDSketch expo(alpha), logn(alpha);
    std::vector<double> ve, vl;
    for (int i = 0; i < 100000; ++i) {
      const double e = -std::log(1 - rng.Uniform()) * 25.0;  // mean 25 ms
      ve.push_back(e);
      expo.Add(e);
      // Box-Muller normal -> log-normal spanning several decades.
      const double n =
          std::sqrt(-2 * std::log(1 - rng.Uniform())) * std::cos(2 * M_PI * rng.Uniform());
      const double l = std::exp(2.0 + 2.0 * n);
      vl.push_back(l);
      logn.Add(l);
    }
    ExpectRelativeAccuracy(expo, ve, alpha);
    ExpectRelativeAccuracy(logn, vl, alpha);
    EXPECT_LT(logn.num_buckets(), 2048u);
  }
}

TEST(DdSketchAccuracy, ZeroNegativeAndNaN) {
  DDSketch s(0.01);
  s.Add(std::nan(""));
  s.Add(INFINITY);
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  // Zeros and negatives (clamped) share the zero bucket.
  s.Add(0);
  s.Add(-5);
  s.Add(1e-320);  // subnormal
  s.Add(100);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_EQ(s.zero_count(), 3u);
  EXPECT_EQ(s.Quantile(0.5), 0);  // rank floor(1.5) = 1 -> a zero
  EXPECT_EQ(s.Quantile(1), 100);
  EXPECT_EQ(s.min(), 0);
  EXPECT_TRUE(std::isnan(s.Quantile(1.5)));
  EXPECT_TRUE(std::isnan(s.Quantile(-0.1)));
}

TEST(DdSketchAccuracy, MergeEqualsUnion) {
  SplitMix rng{7};
  DDSketch a(0.01), b(0.01), u(0.01);
  for (int i = 0; i < 20000; ++i) {
    const double x = std::exp(rng.Uniform() * 10);
    (i % 3 == 0 ? a : b).Add(x);
    u.Add(x);
  }
  a.Merge(b);
  std::string sa, su;
  a.Serialize(&sa);
  u.Serialize(&su);
  EXPECT_EQ(sa, su);  // bucket-wise identical
  a.Merge(a);         // self-merge doubles every count
  EXPECT_EQ(a.count(), 40000u);
  EXPECT_EQ(a.Quantile(0.5), u.Quantile(0.5));
}

TEST(DdSketchAccuracy, CollapsingKeepsUpperQuantiles) {
  DDSketch s(0.01, 64);  // tiny bucket budget
  std::vector<double> v;
  for (int i = 0; i < 10000; ++i) v.push_back(std::pow(10.0, i / 1000.0));  // 1 .. 1e10
  for (double x : v) s.Add(x);
  EXPECT_EQ(s.num_buckets(), 64u);
  std::sort(v.begin(), v.end());
  for (double q : {0.99, 0.999}) {
    const double exact = v[static_cast<size_t>(q * (v.size() - 1))];
    EXPECT_LE(std::fabs(s.Quantile(q) - exact), 0.01 * exact * (1 + 1e-9));
  }
  EXPECT_EQ(s.Quantile(0), 1);  // exact min survives collapsing
}

// What a DDSketch of these values must hold, worked out from the documented bucket rule
// (i = ceil(log(x) / log(gamma))), zero bucket (values below the smallest normal double,
// which count as 0 in min and max) and collapse rule (beyond max_buckets, the lowest kept
// bucket holds everything below it), whatever form the sketch keeps its buckets in.
struct ReferenceDd {
  double alpha, gamma;
  int max_buckets;
  size_t count;
  std::map<int32_t, uint64_t> buckets;
  uint64_t zeros = 0;
  double mn = std::numeric_limits<double>::infinity(), mx = -mn;

  ReferenceDd(double a, int limit, const std::vector<double>& values)
      : alpha(a), gamma((1 + a) / (1 - a)), max_buckets(limit), count(values.size()) {
    for (double v : values) {
      const double kept = v < std::numeric_limits<double>::min() ? 0.0 : v;
      mn = std::min(mn, kept);
      mx = std::max(mx, kept);
      if (v < std::numeric_limits<double>::min()) {
        ++zeros;
      } else {
        ++buckets[static_cast<int32_t>(std::ceil(std::log(v) * (1.0 / std::log(gamma))))];
      }
    }
    while (buckets.size() > static_cast<size_t>(max_buckets)) {
      const auto lowest = buckets.begin();
      std::next(lowest)->second += lowest->second;
      buckets.erase(lowest);
    }
  }

  // The serialized form (version 1).
  std::string Serialized() const {
    std::string out;
    out.push_back(static_cast<char>(DDSketch::kFormatVersion));
    PutF64(&out, alpha);
    PutVarint(&out, static_cast<uint64_t>(max_buckets));
    PutVarint(&out, zeros);
    PutF64(&out, mn);
    PutF64(&out, mx);
    PutVarint(&out, buckets.size());
    int64_t prev = 0;
    bool first = true;
    for (const auto& [i, c] : buckets) {
      PutVarint(&out, first ? (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 31)
                            : static_cast<uint64_t>(i - prev));
      first = false;
      prev = i;
      PutVarint(&out, c);
    }
    return out;
  }

  // The q-quantile: the bucket of the element at rank floor(q * (count - 1)) (the zero
  // bucket answers 0), as 2 gamma^i / (gamma + 1), clamped to the exact min and max;
  // q = 0 and 1 answer the min and max.
  double Quantile(double q) const {
    if (q == 0) return mn;
    if (q == 1) return mx;
    const double rank = q * static_cast<double>(count - 1);
    if (static_cast<double>(zeros) > rank) return std::clamp(0.0, mn, mx);
    double cumulative = static_cast<double>(zeros);
    for (const auto& [i, c] : buckets) {
      cumulative += static_cast<double>(c);
      if (cumulative > rank) {
        const double v = 2.0 * std::exp(static_cast<double>(i) * std::log(gamma)) / (gamma + 1.0);
        return std::clamp(v, mn, mx);
      }
    }
    return mx;
  }
};

std::string ReferenceDdSketch(double alpha, int max_buckets, const std::vector<double>& values) {
  return ReferenceDd(alpha, max_buckets, values).Serialized();
}

double ReferenceQuantile(double alpha, int max_buckets, const std::vector<double>& values,
                         double q) {
  return ReferenceDd(alpha, max_buckets, values).Quantile(q);
}

std::string Serialized(const DDSketch& s) {
  std::string out;
  s.Serialize(&out);
  return out;
}

// Packed values switch a sketch to its dense form and a far outlier back; adds and every
// pairing of forms in a merge give exactly the reference buckets.
TEST(DdSketchAccuracy, DenseAndSparseFormsHoldTheSameBuckets) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> latency(1.0, 0.8);
  std::vector<double> packed, sparse_values = {0.5, 3.0, 700.0};
  for (int i = 0; i < 5000; ++i) packed.push_back(latency(rng));
  DDSketch dense(0.01);
  for (double v : packed) dense.Add(v);
  EXPECT_EQ(Serialized(dense), ReferenceDdSketch(0.01, DDSketch::kDefaultMaxBuckets, packed));
  // The dense form costs no more than the sorted vector would (16 bytes per bucket).
  EXPECT_LE(dense.MemoryBytes(), sizeof(DDSketch) + 16 * dense.num_buckets());

  DDSketch sparse(0.01);
  for (double v : sparse_values) sparse.Add(v);
  const auto check_merge = [&](const DDSketch& a, const std::vector<double>& va, const DDSketch& b,
                               const std::vector<double>& vb) {
    DDSketch m = a;
    m.Merge(b);
    std::vector<double> all = va;
    all.insert(all.end(), vb.begin(), vb.end());
    EXPECT_EQ(Serialized(m), ReferenceDdSketch(0.01, DDSketch::kDefaultMaxBuckets, all));
    DDSketch r(0.01);
    for (double v : all) r.Add(v);
    EXPECT_EQ(m.num_buckets(), r.num_buckets());
    for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) {
      EXPECT_EQ(m.Quantile(q), ReferenceQuantile(0.01, DDSketch::kDefaultMaxBuckets, all, q)) << q;
    }
  };
  std::vector<double> other(packed.begin(), packed.begin() + 2000);
  for (double& v : other) v *= 1.7;  // overlapping, shifted span
  DDSketch dense2(0.01);
  for (double v : other) dense2.Add(v);
  check_merge(dense, packed, dense2, other);
  check_merge(dense, packed, sparse, sparse_values);
  check_merge(sparse, sparse_values, dense, packed);
  std::vector<double> far = {1e-9, 1e12};  // disjoint spans: the merge goes sparse
  DDSketch far_sketch(0.01);
  for (double v : far) far_sketch.Add(v);
  check_merge(dense, packed, far_sketch, far);
  // A few buckets inside the dense span are added in place.
  std::vector<double> inside = {1.5, 2.5, 4.0, 0.0};
  DDSketch inside_sketch(0.01);
  for (double v : inside) inside_sketch.Add(v);
  check_merge(dense, packed, inside_sketch, inside);
  // Two dense sketches too far apart to stay dense together.
  std::vector<double> high = packed;
  for (double& v : high) v *= 1e9;
  DDSketch dense_high(0.01);
  for (double v : high) dense_high.Add(v);
  check_merge(dense, packed, dense_high, high);
  check_merge(dense_high, high, dense, packed);

  // A far outlier returns the sketch to the sorted vector, with the same buckets.
  std::vector<double> with_outliers = packed;
  for (double v : {1e-200, 1e200, 0.0, -1.0}) {
    dense.Add(v);
    with_outliers.push_back(v);
  }
  EXPECT_EQ(Serialized(dense),
            ReferenceDdSketch(0.01, DDSketch::kDefaultMaxBuckets, with_outliers));
}

// With a small bucket limit, dense adds and merges collapse the lowest buckets exactly as
// the sorted vector does.
TEST(DdSketchAccuracy, DenseFormRespectsTheBucketLimit) {
  std::vector<double> values;
  for (int i = 0; i < 400; ++i) values.push_back(1.0 + 0.02 * i);
  DDSketch s(0.01, 40);
  for (double v : values) s.Add(v);
  EXPECT_EQ(s.num_buckets(), 40u);
  EXPECT_EQ(Serialized(s), ReferenceDdSketch(0.01, 40, values));
  DDSketch a(0.01, 40), b(0.01, 40);
  for (size_t i = 0; i < values.size(); ++i) (i % 2 ? a : b).Add(values[i]);
  a.Merge(b);
  EXPECT_EQ(Serialized(a), ReferenceDdSketch(0.01, 40, values));
  // Two dense sketches of 30 buckets each (indices 0..29 and 20..49, one value in the
  // middle of each bucket) merge in place, then pass the limit and collapse.
  const double gamma = 1.01 / 0.99;
  std::vector<double> low_values, high_values;
  for (int i = 0; i < 30; ++i) low_values.push_back(std::pow(gamma, i - 0.5));
  for (int i = 20; i < 50; ++i) high_values.push_back(std::pow(gamma, i - 0.5));
  DDSketch low(0.01, 40), high(0.01, 40);
  for (double v : low_values) low.Add(v);
  for (double v : high_values) high.Add(v);
  EXPECT_LE(low.MemoryBytes(), sizeof(DDSketch) + 8 * 30);  // dense: 30 counts
  low.Merge(high);
  std::vector<double> all = low_values;
  all.insert(all.end(), high_values.begin(), high_values.end());
  EXPECT_EQ(low.num_buckets(), 40u);
  EXPECT_EQ(Serialized(low), ReferenceDdSketch(0.01, 40, all));
  for (double q : {0.0, 0.05, 0.3, 0.5, 0.95, 1.0})
    EXPECT_EQ(low.Quantile(q), ReferenceQuantile(0.01, 40, all, q)) << q;
}

TEST(DdSketchAccuracy, SerializeRoundTripAndValidation) {
  DDSketch s(0.01);
  for (int i = 0; i < 1000; ++i) s.Add(i * 0.37);
  std::string bytes;
  s.Serialize(&bytes);
  DDSketch back(0.01);
  std::string_view in = bytes;
  ASSERT_TRUE(back.Deserialize(&in).ok());
  EXPECT_TRUE(in.empty());
  for (double q : {0.0, 0.5, 0.99, 1.0}) EXPECT_EQ(back.Quantile(q), s.Quantile(q));
  DDSketch other(0.02);
  in = bytes;
  EXPECT_FALSE(other.Deserialize(&in).ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::string_view cut = std::string_view(bytes).substr(0, len);
    DDSketch t(0.01);
    EXPECT_FALSE(t.Deserialize(&cut).ok()) << len;
    EXPECT_TRUE(t.empty());
  }
}

// ---- SpaceSaving ----------------------------------------------------------------------------

// A Zipf-like stream: key i (1-based) appears floor(2000 / i) times, interleaved.
std::vector<std::string> SkewedStream(int keys, std::map<std::string, uint64_t>* truth) {
  std::vector<std::string> stream;
  for (int i = 1; i <= keys; ++i) {
    const int reps = 2000 / i;
    for (int r = 0; r < reps; ++r) stream.push_back("k" + std::to_string(i));
    (*truth)["k" + std::to_string(i)] = static_cast<uint64_t>(reps);
  }
  SplitMix rng{3};
  for (size_t i = stream.size(); i > 1; --i) std::swap(stream[i - 1], stream[rng.Next() % i]);
  return stream;
}

void ExpectSpaceSavingGuarantees(const SpaceSaving& ss,
                                 const std::map<std::string, uint64_t>& truth) {
  const uint64_t n = ss.total();
  const auto top = ss.TopK();
  std::map<std::string, uint64_t> tracked;
  for (const auto& c : top) {
    const uint64_t f = truth.at(c.key);
    EXPECT_LE(c.count - c.error, f) << c.key;
    EXPECT_GE(c.count, f) << c.key;
    EXPECT_LE(c.error, n / static_cast<uint64_t>(ss.capacity())) << c.key;
    tracked[c.key] = c.count;
  }
  for (const auto& [key, f] : truth) {
    if (f > ss.min_count()) {
      EXPECT_TRUE(tracked.count(key)) << key << " with " << f;
    }
  }
}

TEST(SpaceSavingGuarantees, SkewedStream) {
  std::map<std::string, uint64_t> truth;
  const auto stream = SkewedStream(2000, &truth);
  SpaceSaving ss(50);
  for (const auto& k : stream) ss.Add(k);
  EXPECT_EQ(ss.total(), stream.size());
  EXPECT_EQ(ss.size(), 50u);
  ExpectSpaceSavingGuarantees(ss, truth);
  // The heaviest keys come out in order.
  const auto top = ss.TopK();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(top[static_cast<size_t>(i)].key, "k" + std::to_string(i + 1));
  // Top share: k1 has 2000 of N; the guaranteed share never overshoots it and misses it
  // by at most min_count / N.
  EXPECT_LE(ss.TopShare(), 2000.0 / static_cast<double>(ss.total()));
  EXPECT_GE(ss.TopShare(),
            (2000.0 - static_cast<double>(ss.min_count())) / static_cast<double>(ss.total()));
  // HHI from lower bounds is a lower bound of the true HHI.
  double true_hhi = 0;
  for (const auto& [k, f] : truth)
    true_hhi += std::pow(static_cast<double>(f) / static_cast<double>(ss.total()), 2);
  EXPECT_LE(ss.Hhi(), true_hhi + 1e-12);
  EXPECT_GT(ss.Hhi(), 0.5 * true_hhi);
}

TEST(SpaceSavingGuarantees, MergeKeepsGuarantees) {
  std::map<std::string, uint64_t> truth;
  const auto stream = SkewedStream(2000, &truth);
  SpaceSaving a(50), b(50);
  for (size_t i = 0; i < stream.size(); ++i) (i % 2 ? a : b).Add(stream[i]);
  a.Merge(b);
  EXPECT_EQ(a.total(), stream.size());
  EXPECT_LE(a.size(), 50u);
  ExpectSpaceSavingGuarantees(a, truth);
  EXPECT_EQ(a.TopK()[0].key, "k1");
}

// Merging many summaries at once: the guarantees hold for the whole stream, the result
// does not depend on the order of the parts, two parts give exactly Merge, and without
// evictions the counts are exact.
TEST(SpaceSavingGuarantees, MergeManyKeepsGuaranteesInAnyOrder) {
  std::map<std::string, uint64_t> truth;
  const auto stream = SkewedStream(2000, &truth);
  std::vector<SpaceSaving> parts(6, SpaceSaving(20));
  for (size_t i = 0; i < stream.size(); ++i) parts[(i * 7 + i / 13) % parts.size()].Add(stream[i]);
  std::vector<const SpaceSaving*> ptrs;
  for (const auto& p : parts) ptrs.push_back(&p);
  SpaceSaving all(20);
  all.MergeMany(ptrs);
  EXPECT_EQ(all.total(), stream.size());
  EXPECT_EQ(all.size(), 20u);
  ExpectSpaceSavingGuarantees(all, truth);
  const auto key_counts = [](const SpaceSaving& s) {
    std::vector<std::tuple<std::string, uint64_t, uint64_t>> out;
    for (const auto& c : s.TopK()) out.emplace_back(c.key, c.count, c.error);
    return out;
  };
  std::reverse(ptrs.begin(), ptrs.end());
  SpaceSaving reversed(20);
  reversed.MergeMany(ptrs);
  EXPECT_EQ(key_counts(reversed), key_counts(all));
  // Into a non-empty summary: the same as having it among the parts.
  SpaceSaving first = parts[0];
  first.MergeMany(std::span<const SpaceSaving* const>(ptrs.data(), ptrs.size() - 1));
  EXPECT_EQ(key_counts(first), key_counts(all));
  // Two summaries: exactly Merge.
  SpaceSaving a = parts[1], b = parts[1];
  a.Merge(parts[2]);
  const SpaceSaving* two[] = {&parts[2]};
  b.MergeMany(two);
  EXPECT_EQ(key_counts(a), key_counts(b));
  // Nothing evicted anywhere: exact counts, no error.
  std::vector<SpaceSaving> small(4, SpaceSaving(10));
  std::map<std::string, uint64_t> exact;
  for (int i = 0; i < 40; ++i) {
    const std::string k = "k" + std::to_string(i % 7);
    small[static_cast<size_t>(i) % small.size()].Add(k);
    ++exact[k];
  }
  std::vector<const SpaceSaving*> small_ptrs;
  for (const auto& p : small) small_ptrs.push_back(&p);
  SpaceSaving merged(10);
  merged.MergeMany(small_ptrs);
  ASSERT_EQ(merged.size(), exact.size());
  for (const auto& c : merged.TopK()) {
    EXPECT_EQ(c.count, exact.at(c.key)) << c.key;
    EXPECT_EQ(c.error, 0u) << c.key;
  }
}

// Random small summaries, some empty, merged at once (into an empty summary, as a window
// is): every kept key's bounds hold against the exact counts.
TEST(SpaceSavingGuarantees, MergeManyBoundsOnRandomParts) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<SpaceSaving> parts(2 + rng() % 5, SpaceSaving(10));
    std::map<std::string, uint64_t> truth;
    const unsigned keys = 5 + rng() % 40;
    for (auto& p : parts) {
      for (unsigned n = rng() % 30; n > 0; --n) {
        const std::string k = "k" + std::to_string(rng() % keys);
        p.Add(k);
        ++truth[k];
      }
    }
    std::vector<const SpaceSaving*> ptrs;
    for (const auto& p : parts) ptrs.push_back(&p);
    SpaceSaving merged(10);
    merged.MergeMany(ptrs);
    uint64_t total = 0;
    for (const auto& [k, f] : truth) total += f;
    ASSERT_EQ(merged.total(), total) << trial;
    for (const auto& c : merged.TopK()) {
      ASSERT_LE(c.count - c.error, truth.at(c.key)) << trial << " " << c.key;
      ASSERT_GE(c.count, truth.at(c.key)) << trial << " " << c.key;
    }
  }
}

TEST(SpaceSavingGuarantees, ExactWithoutEviction) {
  SpaceSaving a(10), b(10);
  for (const char* k : {"x", "y", "x", "z"}) a.Add(k);
  for (const char* k : {"x", "w"}) b.Add(k);
  a.Merge(b);
  // x 3, y 1, z 1, w 1 of 6: share 3/6, HHI (9 + 1 + 1 + 1) / 36.
  EXPECT_DOUBLE_EQ(a.TopShare(), 0.5);
  EXPECT_DOUBLE_EQ(a.Hhi(), 12.0 / 36.0);
  const auto top = a.TopK();
  ASSERT_EQ(top.size(), 4u);
  EXPECT_EQ(top[0].key, "x");
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[1].key, "w");  // ties by key bytes
  a.Merge(a);
  EXPECT_EQ(a.total(), 12u);
  EXPECT_DOUBLE_EQ(a.TopShare(), 0.5);
}

TEST(SpaceSavingGuarantees, EvictionReusesCounters) {
  SpaceSaving ss(2);
  ss.Add("a");
  ss.Add("a");
  ss.Add("b");
  ss.Add("c");  // evicts b (count 1): c gets count 2, error 1
  const auto top = ss.TopK();
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[1].key, "c");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[1].error, 1u);
  // HHI uses count - error: (2/4)^2 + (1/4)^2.
  EXPECT_DOUBLE_EQ(ss.Hhi(), 0.25 + 0.0625);
}

TEST(SpaceSavingGuarantees, SerializeRoundTripAndValidation) {
  std::map<std::string, uint64_t> truth;
  const auto stream = SkewedStream(500, &truth);
  SpaceSaving ss(20);
  for (const auto& k : stream) ss.Add(k);
  std::string bytes;
  ss.Serialize(&bytes);
  SpaceSaving back(20);
  std::string_view in = bytes;
  ASSERT_TRUE(back.Deserialize(&in).ok());
  EXPECT_TRUE(in.empty());
  std::string again;
  back.Serialize(&again);
  EXPECT_EQ(bytes, again);
  EXPECT_EQ(back.min_count(), ss.min_count());
  // Adding to both keeps them in step (index and heap rebuilt correctly).
  for (int i = 0; i < 1000; ++i) {
    ss.Add("new" + std::to_string(i % 7));
    back.Add("new" + std::to_string(i % 7));
  }
  std::string s1, s2;
  ss.Serialize(&s1);
  back.Serialize(&s2);
  EXPECT_EQ(s1, s2);
  // Duplicate keys are rejected.
  const std::string dup = std::string{1, 20, 4, 2, 1, 'a', 2, 0, 1, 'a', 2, 0};
  in = dup;
  EXPECT_FALSE(back.Deserialize(&in).ok());
  // Error above count is rejected.
  const std::string err = std::string{1, 20, 4, 1, 1, 'a', 2, 3};
  in = err;
  EXPECT_FALSE(back.Deserialize(&in).ok());
}

// Eviction against a reference that scans every counter for the least (count, XXH3 hash,
// key) on each new key, as documented. Streams are flat (every new key evicts) and
// skewed; merges with an empty summary and a serialize round trip in between must not
// change what is evicted next.
TEST(SpaceSavingGuarantees, EvictsTheLeastCounterLikeAFullScan) {
  struct Ref {
    struct C {
      std::string key;
      uint64_t count, error, hash;
    };
    std::vector<C> slots;
    size_t capacity;
    void Add(const std::string& key) {
      const uint64_t hash = XXH3_64bits(key.data(), key.size());
      for (C& c : slots) {
        if (c.key == key) {
          ++c.count;
          return;
        }
      }
      if (slots.size() < capacity) {
        slots.push_back({key, 1, 0, hash});
        return;
      }
      C* least = &slots[0];
      for (C& c : slots)
        if (std::tie(c.count, c.hash, c.key) < std::tie(least->count, least->hash, least->key))
          least = &c;
      least->error = least->count;
      ++least->count;
      least->key = key;
      least->hash = hash;
    }
    std::vector<std::tuple<uint64_t, std::string, uint64_t>> Top() const {
      std::vector<std::tuple<uint64_t, std::string, uint64_t>> out;
      for (const C& c : slots) out.emplace_back(c.count, c.key, c.error);
      std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return std::get<0>(a) != std::get<0>(b) ? std::get<0>(a) > std::get<0>(b)
                                                : std::get<1>(a) < std::get<1>(b);
      });
      return out;
    }
  };
  std::mt19937_64 rng(21);
  for (const int capacity : {1, 2, 10, 32}) {
    for (const int keys : {5, 40, 5000}) {
      SpaceSaving ss(capacity);
      Ref ref{{}, static_cast<size_t>(capacity)};
      for (int i = 0; i < 20'000; ++i) {
        // Half the draws from a few hot keys when the key space is large (skewed).
        const uint64_t k = keys > 100 && rng() % 2 == 0 ? rng() % 8 : rng() % keys;
        const std::string key = "k" + std::to_string(k);
        ss.Add(key);
        ref.Add(key);
        if (i % 4999 == 4998) ss.Merge(SpaceSaving(capacity));
        if (i % 7001 == 7000) {
          std::string bytes;
          ss.Serialize(&bytes);
          std::string_view in = bytes;
          ASSERT_TRUE(ss.Deserialize(&in).ok());
        }
      }
      std::vector<std::tuple<uint64_t, std::string, uint64_t>> got;
      for (const auto& c : ss.TopK()) got.emplace_back(c.count, c.key, c.error);
      EXPECT_EQ(got, ref.Top()) << "capacity " << capacity << " keys " << keys;
    }
  }
}

// A merge changes counts and the order of the counters: the merged summary must evict as
// a copy restored from its serialized form does.
TEST(SpaceSavingGuarantees, EvictsAfterAMergeAsARestoredCopy) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    SpaceSaving ss(10), other(10);
    for (int i = 0; i < 300; ++i) ss.Add("a" + std::to_string(rng() % 40));
    // A few of its own keys, so most counters keep their (tied, least) counts while the
    // merge reorders them.
    const auto top = ss.TopK();
    for (int i = 0; i < 3; ++i) other.Add(top[rng() % top.size()].key);
    if (trial % 2 == 1)
      for (int i = 0; i < 300; ++i) other.Add("a" + std::to_string(rng() % 15));
    ss.Merge(other);
    std::string bytes;
    ss.Serialize(&bytes);
    SpaceSaving copy(10);
    std::string_view in = bytes;
    ASSERT_TRUE(copy.Deserialize(&in).ok());
    for (int i = 0; i < 200; ++i) {
      const std::string key = "b" + std::to_string(rng() % 1000);
      ss.Add(key);
      copy.Add(key);
    }
    std::string a, b;
    ss.Serialize(&a);
    copy.Serialize(&b);
    ASSERT_EQ(a, b) << trial;
  }
}

// ---- CategoricalCounts ----------------------------------------------------------------------

TEST(SketchEntropy, KnownValues) {
  CategoricalCounts c(64);
  EXPECT_TRUE(std::isnan(c.EntropyBits()));
  c.Add("only");
  EXPECT_EQ(c.EntropyBits(), 0);
  CategoricalCounts u(64);
  for (const char* k : {"a", "b", "c", "d"}) u.Add(k, 5);
  EXPECT_DOUBLE_EQ(u.EntropyBits(), 2.0);  // uniform over 4
  CategoricalCounts h(64);
  h.Add("heads");
  h.Add("tails");
  EXPECT_DOUBLE_EQ(h.EntropyBits(), 1.0);
  // p = (1/2, 1/4, 1/4): 0.5 * 1 + 2 * 0.25 * 2 = 1.5 bits.
  CategoricalCounts s(64);
  s.Add("a", 2);
  s.Add("b");
  s.Add("c");
  EXPECT_DOUBLE_EQ(s.EntropyBits(), 1.5);
}

TEST(SketchEntropy, OverflowLumpsIntoOther) {
  CategoricalCounts c(2);
  for (const char* k : {"a", "b", "c", "d"}) c.Add(k);
  // a, b tracked; c, d lumped: (1/4, 1/4, 1/2) -> 1.5 bits, below the true 2 bits.
  EXPECT_EQ(c.num_categories(), 2u);
  EXPECT_EQ(c.other(), 2u);
  EXPECT_DOUBLE_EQ(c.EntropyBits(), 1.5);
  EXPECT_EQ(c.CountOf("c"), 0u);
}

TEST(SketchEntropy, MergeAndRoundTrip) {
  CategoricalCounts a(3), b(3);
  a.Add("x", 2);
  a.Add("y");
  b.Add("y");
  b.Add("z", 4);
  b.Add("w");  // fourth key: a's room runs out when merged
  a.Merge(b);
  // Tracked: x 2, y 2, z 4; other: w 1 -> N = 9.
  EXPECT_EQ(a.total(), 9u);
  EXPECT_EQ(a.CountOf("y"), 2u);
  EXPECT_EQ(a.CountOf("z"), 4u);
  EXPECT_EQ(a.other(), 1u);
  std::string bytes;
  a.Serialize(&bytes);
  CategoricalCounts back(3);
  std::string_view in = bytes;
  ASSERT_TRUE(back.Deserialize(&in).ok());
  EXPECT_EQ(back.EntropyBits(), a.EntropyBits());
  CategoricalCounts wrong(4);
  in = bytes;
  EXPECT_FALSE(wrong.Deserialize(&in).ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::string_view cut = std::string_view(bytes).substr(0, len);
    CategoricalCounts t(3);
    EXPECT_FALSE(t.Deserialize(&cut).ok());
  }
}

}  // namespace
}  // namespace dnsight
