// Golden tests for every AggKind: hand-built events, expected values worked out by hand.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "dnsight/aggregator.h"
#include "dnsight/dns_event.h"
#include "features/categorical_counts.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Ev {
  std::string qname;
  uint16_t rd_len;
  int64_t latency_ns;
  int16_t rcode;
  uint16_t qtype;
  uint32_t response_size;
  uint32_t query_size;
  int64_t ttl;
  uint16_t answers;
  uint16_t labels;
  float label_entropy;
  uint8_t client_last_octet;
};

void AddEvent(DnsEventBatch* b, const Ev& ev) {
  DnsEvent e;
  e.ts_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(b->size()) * 1'000'000;
  e.qname_off = static_cast<uint32_t>(b->arena.size());
  e.qname_len = static_cast<uint16_t>(ev.qname.size());
  e.rd_len = ev.rd_len;
  b->arena += ev.qname;
  e.latency_ns = ev.latency_ns;
  e.rcode = ev.rcode;
  e.qtype = ev.qtype;
  e.response_size = ev.response_size;
  e.query_size = ev.query_size;
  e.min_ttl = ev.ttl;
  e.answer_count = ev.answers;
  e.label_count = ev.labels;
  e.label_entropy = ev.label_entropy;
  const uint8_t c[4] = {10, 0, 0, ev.client_last_octet};
  e.client = IpAddress::V4(c);
  const uint8_t s[4] = {192, 0, 2, 53};
  e.server = IpAddress::V4(s);
  e.transport = Transport::kUdp;
  b->events.push_back(e);
}

// The six events every golden test uses.
//        qname           rd           latency  rcode qtype resp qsize ttl  ans lbl  lent client
//   e0   a.example.com   example.com  10 ms    0     1     100  40    300  1   3    1.5  .1
//   e1   b.example.com   example.com  20 ms    3     1     80   40    -    0   3    1.0  .1
//   e2   example.com     example.com  30 ms    0     28    120  30    60   2   2    2.0  .2
//   e3   x.y.test.org    test.org     -        -     16    -    50    -    -   4    0.5  .3
//   e4   a.example.com   example.com  40 ms    3     1     90   40    -    0   3    1.5  .1
//   e5   c.test.org      test.org     0 ms     2     1     50   42    -    0   3    1.0  .2
// e3 has no response: latency, rcode, response size and answer count are absent (NaN).
DnsEventBatch GoldenBatch() {
  DnsEventBatch b;
  AddEvent(&b, {"a.example.com", 11, 10'000'000, 0, 1, 100, 40, 300, 1, 3, 1.5f, 1});
  AddEvent(&b, {"b.example.com", 11, 20'000'000, 3, 1, 80, 40, -1, 0, 3, 1.0f, 1});
  AddEvent(&b, {"example.com", 11, 30'000'000, 0, 28, 120, 30, 60, 2, 2, 2.0f, 2});
  AddEvent(&b, {"x.y.test.org", 8, -1, -1, 16, 0, 50, -1, 0, 4, 0.5f, 3});
  AddEvent(&b, {"a.example.com", 11, 40'000'000, 3, 1, 90, 40, -1, 0, 3, 1.5f, 1});
  AddEvent(&b, {"c.test.org", 8, 0, 2, 1, 50, 42, -1, 0, 3, 1.0f, 2});
  return b;
}

const std::vector<uint32_t> kAll = {0, 1, 2, 3, 4, 5};
const std::vector<uint32_t> kFirstHalf = {0, 1, 2};
const std::vector<uint32_t> kSecondHalf = {3, 4, 5};

AggregationSpec Spec(AggKind kind, DnsField field, std::string name = "f") {
  AggregationSpec s;
  s.name = std::move(name);
  s.kind = kind;
  s.field = field;
  return s;
}

AggregationSpec NxdomainRatio() {
  AggregationSpec s = Spec(AggKind::kRatio, DnsField::kRcode, "nxdomain_ratio");
  EventPredicate p;
  p.field = DnsField::kRcode;
  p.op = EventPredicate::Op::kIn;
  p.numbers = {3};
  s.predicate.push_back(p);
  return s;
}

AggregationSpec LatencyQuantiles() {
  AggregationSpec s = Spec(AggKind::kQuantiles, DnsField::kLatencyMs, "latency");
  s.quantiles = {0.5, 0.95, 0.99, 0.999, 0.0, 1.0};
  return s;
}

std::vector<double> RunAll(const AggregationSpec& spec, const DnsEventBatch& b,
                           const std::vector<uint32_t>& sel) {
  auto st = MakeAggState(spec);
  st->Update(b, sel);
  std::vector<double> out;
  st->Finalize(&out);
  EXPECT_EQ(out.size(), spec.OutputNames().size());
  return out;
}

double RunOne(const AggregationSpec& spec, const DnsEventBatch& b,
              const std::vector<uint32_t>& sel) {
  const auto v = RunAll(spec, b, sel);
  return v.empty() ? -12345 : v[0];
}

// Every kind with a spec that exercises it on the golden batch.
std::vector<AggregationSpec> AllKindSpecs() {
  std::vector<AggregationSpec> v;
  v.push_back(Spec(AggKind::kCount, DnsField::kQname, "queries"));
  v.push_back(Spec(AggKind::kSum, DnsField::kLatencyMs, "latency_sum"));
  v.push_back(Spec(AggKind::kMin, DnsField::kLatencyMs, "latency_min"));
  v.push_back(Spec(AggKind::kMax, DnsField::kLatencyMs, "latency_max"));
  v.push_back(Spec(AggKind::kMean, DnsField::kLatencyMs, "latency_mean"));
  v.push_back(Spec(AggKind::kVariance, DnsField::kLatencyMs, "latency_var"));
  v.push_back(NxdomainRatio());
  v.push_back(Spec(AggKind::kDistinct, DnsField::kQname, "distinct_qnames"));
  v.push_back(LatencyQuantiles());
  v.push_back(Spec(AggKind::kTopK, DnsField::kQname, "qname"));
  v.push_back(Spec(AggKind::kEntropy, DnsField::kRegisteredDomain, "rd_entropy"));
  return v;
}

// ---- Golden values ------------------------------------------------------------------------

TEST(AggGolden, Count) {
  const auto b = GoldenBatch();
  const auto spec = Spec(AggKind::kCount, DnsField::kQname);
  EXPECT_EQ(RunOne(spec, b, kAll), 6);       // every selected event, absent fields or not
  EXPECT_EQ(RunOne(spec, b, {1, 3, 5}), 3);  // selection only
  EXPECT_EQ(RunOne(spec, b, {}), 0);
}

TEST(AggGolden, Sum) {
  const auto b = GoldenBatch();
  // latency_ms: 10 + 20 + 30 + (e3 absent) + 40 + 0 = 100
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kLatencyMs), b, kAll), 100);
  // response_size: 100 + 80 + 120 + (e3 absent: no response) + 90 + 50 = 440
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kResponseSize), b, kAll), 440);
  // query_size: 40 + 40 + 30 + 50 + 40 + 42 = 242
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kQuerySize), b, kAll), 242);
  // ttl: 300 + 60 (others have no answer) = 360
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kTtl), b, kAll), 360);
  // label_entropy over {1,3,5}: 1.0 + 0.5 + 1.0 = 2.5
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kLabelEntropy), b, {1, 3, 5}), 2.5);
  // subdomain_length: "a"=1, "b"=1, ""=0, "x.y"=3, "a"=1, "c"=1 -> 7
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kSubdomainLength), b, kAll), 7);
  // Sum of nothing (and of only absent values) is 0.
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kLatencyMs), b, {}), 0);
  EXPECT_EQ(RunOne(Spec(AggKind::kSum, DnsField::kLatencyMs), b, {3}), 0);
}

TEST(AggGolden, MinMax) {
  const auto b = GoldenBatch();
  // latency_ms present: 10, 20, 30, 40, 0 -> min 0, max 40
  EXPECT_EQ(RunOne(Spec(AggKind::kMin, DnsField::kLatencyMs), b, kAll), 0);
  EXPECT_EQ(RunOne(Spec(AggKind::kMax, DnsField::kLatencyMs), b, kAll), 40);
  // qtype over {1,2,3}: 1, 28, 16 -> min 1, max 28
  EXPECT_EQ(RunOne(Spec(AggKind::kMin, DnsField::kQtype), b, {1, 2, 3}), 1);
  EXPECT_EQ(RunOne(Spec(AggKind::kMax, DnsField::kQtype), b, {1, 2, 3}), 28);
  // qname_length: 13, 13, 11, 12, 13, 10 -> min 10, max 13
  EXPECT_EQ(RunOne(Spec(AggKind::kMin, DnsField::kQnameLength), b, kAll), 10);
  EXPECT_EQ(RunOne(Spec(AggKind::kMax, DnsField::kQnameLength), b, kAll), 13);
  // Nothing present -> NaN.
  EXPECT_TRUE(std::isnan(RunOne(Spec(AggKind::kMin, DnsField::kLatencyMs), b, {3})));
  EXPECT_TRUE(std::isnan(RunOne(Spec(AggKind::kMax, DnsField::kLatencyMs), b, {})));
}

TEST(AggGolden, MeanVariance) {
  const auto b = GoldenBatch();
  // latency_ms present: 10, 20, 30, 40, 0 -> n = 5, mean = 100 / 5 = 20.
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kMean, DnsField::kLatencyMs), b, kAll), 20);
  // deviations -10, 0, 10, 20, -20 -> squares 100 + 0 + 100 + 400 + 400 = 1000;
  // population variance 1000 / 5 = 200.
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kVariance, DnsField::kLatencyMs), b, kAll), 200);
  // ttl: 300 and 60 -> mean 180, variance ((120)^2 + (120)^2) / 2 = 14400.
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kMean, DnsField::kTtl), b, kAll), 180);
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kVariance, DnsField::kTtl), b, kAll), 14400);
  // A single value: mean is that value, variance 0.
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kMean, DnsField::kLatencyMs), b, {4}), 40);
  EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kVariance, DnsField::kLatencyMs), b, {4}), 0);
  // Mean / variance of nothing -> NaN.
  EXPECT_TRUE(std::isnan(RunOne(Spec(AggKind::kMean, DnsField::kLatencyMs), b, {})));
  EXPECT_TRUE(std::isnan(RunOne(Spec(AggKind::kVariance, DnsField::kLatencyMs), b, {3})));
}

TEST(AggGolden, MeanVarianceAcrossUpdates) {
  const auto b = GoldenBatch();
  // Same data fed as three Updates ({0,1}, {2,3}, {4,5}) must match one Update.
  for (AggKind kind : {AggKind::kMean, AggKind::kVariance}) {
    const auto spec = Spec(kind, DnsField::kLatencyMs);
    auto st = MakeAggState(spec);
    st->Update(b, std::vector<uint32_t>{0, 1});
    st->Update(b, std::vector<uint32_t>{2, 3});
    st->Update(b, std::vector<uint32_t>{4, 5});
    std::vector<double> out;
    st->Finalize(&out);
    EXPECT_DOUBLE_EQ(out[0], kind == AggKind::kMean ? 20 : 200);
  }
}

TEST(AggGolden, Ratio) {
  const auto b = GoldenBatch();
  // rcode in {3}: e1, e4 match out of 6 selected -> 2 / 6.
  EXPECT_DOUBLE_EQ(RunOne(NxdomainRatio(), b, kAll), 2.0 / 6.0);
  // Over {0,2,3}: none match -> 0 / 3 = 0.
  EXPECT_EQ(RunOne(NxdomainRatio(), b, {0, 2, 3}), 0);
  // Ratio of nothing -> NaN.
  EXPECT_TRUE(std::isnan(RunOne(NxdomainRatio(), b, {})));
  // Two predicates are AND-ed: rcode in {3} and qname_length >= 13: e1 (13), e4 (13) -> 2/6;
  // with qname_length <= 12 instead: none.
  AggregationSpec s = NxdomainRatio();
  EventPredicate len;
  len.field = DnsField::kQnameLength;
  len.op = EventPredicate::Op::kGe;
  len.numbers = {13};
  s.predicate.push_back(len);
  EXPECT_DOUBLE_EQ(RunOne(s, b, kAll), 2.0 / 6.0);
  s.predicate.back().op = EventPredicate::Op::kLe;
  s.predicate.back().numbers = {12};
  EXPECT_EQ(RunOne(s, b, kAll), 0);
  // No predicate: every event is in the numerator -> 1.
  EXPECT_EQ(RunOne(Spec(AggKind::kRatio, DnsField::kRcode), b, kAll), 1);
}

TEST(AggGolden, Distinct) {
  const auto b = GoldenBatch();
  // qnames: a.example.com (twice), b.example.com, example.com, x.y.test.org, c.test.org -> 5.
  // Small sets are held sparse and counted exactly.
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kQname), b, kAll), 5);
  // registered domains: example.com, test.org -> 2.
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kRegisteredDomain), b, kAll), 2);
  // subdomains: a, b, (e2 has none: skipped), x.y, a, c -> {a, b, x.y, c} = 4.
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kSubdomain), b, kAll), 4);
  // clients: 10.0.0.1, .2, .3 -> 3.
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kClient), b, kAll), 3);
  // rcode as a category: "0", "3", "0", (absent), "3", "2" -> 3.
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kRcode), b, kAll), 3);
  EXPECT_EQ(RunOne(Spec(AggKind::kDistinct, DnsField::kQname), b, {}), 0);
}

TEST(AggGolden, Quantiles) {
  const auto b = GoldenBatch();
  const auto spec = LatencyQuantiles();
  EXPECT_EQ(spec.OutputNames(),
            (std::vector<std::string>{"latency_p50", "latency_p95", "latency_p99", "latency_p999",
                                      "latency_p0", "latency_p100"}));
  const auto v = RunAll(spec, b, kAll);
  // Present values sorted: [0, 10, 20, 30, 40], n = 5; rank = floor(q * (n - 1)):
  //   p50: floor(2.0) = 2 -> 20;  p95: floor(3.8) = 3 -> 30;  p99: floor(3.96) = 3 -> 30;
  //   p999: floor(3.996) = 3 -> 30;  p0 -> 0 (zero bucket);  p100 -> 40 (clamped to max).
  // The sketch answers within relative accuracy alpha = 0.01.
  ASSERT_EQ(v.size(), 6u);
  EXPECT_NEAR(v[0], 20, 20 * 0.01);
  EXPECT_NEAR(v[1], 30, 30 * 0.01);
  EXPECT_NEAR(v[2], 30, 30 * 0.01);
  EXPECT_NEAR(v[3], 30, 30 * 0.01);
  EXPECT_EQ(v[4], 0);
  EXPECT_EQ(v[5], 40);
  // Nothing present -> NaN for every quantile.
  for (double x : RunAll(spec, b, {3})) EXPECT_TRUE(std::isnan(x));
}

TEST(AggGolden, TopK) {
  const auto b = GoldenBatch();
  const auto spec = Spec(AggKind::kTopK, DnsField::kQname, "qname");
  EXPECT_EQ(spec.OutputNames(), (std::vector<std::string>{"qname_top_share", "qname_hhi"}));
  const auto v = RunAll(spec, b, kAll);
  // Counts: a.example.com 2, the other four 1 each; N = 6.
  //   top share = 2 / 6;  HHI = (2^2 + 4 * 1^2) / 6^2 = 8 / 36.
  EXPECT_DOUBLE_EQ(v[0], 2.0 / 6.0);
  EXPECT_DOUBLE_EQ(v[1], 8.0 / 36.0);
  // registered_domain: example.com 4, test.org 2 -> share 4/6, HHI (16 + 4) / 36.
  const auto rd = RunAll(Spec(AggKind::kTopK, DnsField::kRegisteredDomain), b, kAll);
  EXPECT_DOUBLE_EQ(rd[0], 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(rd[1], 20.0 / 36.0);
  for (double x : RunAll(spec, b, {})) EXPECT_TRUE(std::isnan(x));
}

TEST(AggGolden, TopKWithEviction) {
  // k = 2 over qnames a, b, example.com, x.y.test.org, a, c (the golden order):
  //   a -> {a:1}; b -> {a:1, b:1}; example.com evicts a min (count 1) -> count 2 err 1;
  //   ... the exact victims depend on tie order, but the total stays 6 and every tracked
  //   count is an upper bound. HHI uses count - error, so it is a lower bound of the true
  //   HHI (8/36), and the top share (also from count - error) is a lower bound of the
  //   true top share 2/6.
  const auto b = GoldenBatch();
  auto spec = Spec(AggKind::kTopK, DnsField::kQname, "qname");
  spec.top_k = 2;
  const auto v = RunAll(spec, b, kAll);
  EXPECT_LE(v[1], 8.0 / 36.0 + 1e-12);
  EXPECT_LE(v[0], 2.0 / 6.0 + 1e-12);
  EXPECT_GE(v[0], 0.0);
}

TEST(AggGolden, Entropy) {
  const auto b = GoldenBatch();
  // registered_domain: example.com 4, test.org 2 of 6:
  //   H = -(4/6 log2(4/6) + 2/6 log2(2/6)) = log2(3) - 2/3 = 0.9182958340544896
  EXPECT_NEAR(RunOne(Spec(AggKind::kEntropy, DnsField::kRegisteredDomain), b, kAll),
              0.9182958340544896, 1e-12);
  // rcode as category (e3 absent, skipped): "0" 2, "3" 2, "2" 1 of 5:
  //   H = -(2 * 0.4 log2 0.4 + 0.2 log2 0.2) = 1.5219280948873621
  EXPECT_NEAR(RunOne(Spec(AggKind::kEntropy, DnsField::kRcode), b, kAll), 1.5219280948873621,
              1e-12);
  // One category only -> 0 bits; nothing -> NaN.
  EXPECT_EQ(RunOne(Spec(AggKind::kEntropy, DnsField::kRegisteredDomain), b, {0, 1, 2}), 0);
  EXPECT_TRUE(std::isnan(RunOne(Spec(AggKind::kEntropy, DnsField::kRegisteredDomain), b, {})));
  // max_categories = 2 over qnames (a 2, b 1, example.com 1, x.y.test.org 1, c 1):
  //   tracked a (2), b (1); other = 3 -> counts 2, 1, 3 of 6:
  //   H = -(1/3 log2 1/3 + 1/6 log2 1/6 + 1/2 log2 1/2) = 1.4591479170272448
  //   (the true entropy, 2.2516291673878226, is higher: lumping only lowers it).
  auto capped = Spec(AggKind::kEntropy, DnsField::kQname);
  capped.max_categories = 2;
  EXPECT_NEAR(RunOne(capped, b, kAll), 1.4591479170272448, 1e-12);
  EXPECT_NEAR(RunOne(Spec(AggKind::kEntropy, DnsField::kQname), b, kAll), 2.2516291673878226,
              1e-12);
}

// Entropy of a numeric field counts small values in a histogram: it must leave the same
// state as one add per event of CategoryField's key, in event order. Values mix small ones
// with qtypes of 64 and above (which take the other path), absent ones and runs that
// overflow max_categories, so the order categories are taken in shows.
TEST(AggGolden, NumericEntropyEqualsOneAddPerEvent) {
  std::mt19937 rng(3);
  const uint16_t qtypes[] = {1, 28, 16, 65, 255, 2, 64, 63, 0, 99, 12};
  for (int trial = 0; trial < 200; ++trial) {
    DnsEventBatch b;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      Ev ev{"a.example.com", 11, 1'000'000, static_cast<int16_t>(rng() % 7) - 1};
      ev.qtype = qtypes[rng() % (trial % 2 == 0 ? 4 : 11)];
      AddEvent(&b, ev);
    }
    std::vector<uint32_t> sel;
    for (uint32_t i = 0; i < b.size(); ++i)
      if (rng() % 4 != 0) sel.push_back(i);
    for (const DnsField field : {DnsField::kRcode, DnsField::kQtype}) {
      auto spec = Spec(AggKind::kEntropy, field);
      spec.max_categories = 1 + static_cast<int>(rng() % 5);
      auto st = MakeAggState(spec);
      st->Update(b, std::span<const uint32_t>(sel).first(sel.size() / 2));
      st->Update(b, std::span<const uint32_t>(sel).subspan(sel.size() / 2));
      CategoricalCounts want(spec.max_categories);
      std::string scratch;
      for (const uint32_t i : sel) {
        const std::string_view key = CategoryField(b, b.events[i], field, &scratch);
        if (!key.empty()) want.Add(key);
      }
      std::string got_bytes, want_bytes;
      st->Serialize(&got_bytes);
      want.Serialize(&want_bytes);
      // The state's payload is the sketch's serialized form after the two header bytes.
      ASSERT_GE(got_bytes.size(), 2u);
      EXPECT_EQ(got_bytes.substr(2), want_bytes) << trial << " field " << static_cast<int>(field);
    }
  }
}

TEST(AggGolden, OutputNamesSingleValued) {
  for (const auto& spec : AllKindSpecs()) {
    if (spec.kind == AggKind::kQuantiles || spec.kind == AggKind::kTopK) continue;
    EXPECT_EQ(spec.OutputNames(), std::vector<std::string>{spec.name});
  }
  AggregationSpec q = Spec(AggKind::kQuantiles, DnsField::kLatencyMs, "lat");
  q.quantiles = {0.05, 0.25, 0.75, 0.9, 0.9999};
  EXPECT_EQ(q.OutputNames(),
            (std::vector<std::string>{"lat_p05", "lat_p25", "lat_p75", "lat_p90", "lat_p9999"}));
}

// Every numeric field must read the same through the aggregators' specialised loops as
// through NumericField().
TEST(AggGolden, NumericFieldsAgreeWithNumericField) {
  const auto b = GoldenBatch();
  const DnsField fields[] = {DnsField::kQnameLength,
                             DnsField::kLabelCount,
                             DnsField::kLabelEntropy,
                             DnsField::kLatencyMs,
                             DnsField::kTtl,
                             DnsField::kResponseSize,
                             DnsField::kQuerySize,
                             DnsField::kAnswerCount,
                             DnsField::kRcode,
                             DnsField::kQtype,
                             DnsField::kSubdomainLength,
                             DnsField::kTransport,
                             DnsField::kQname};
  for (DnsField f : fields) {
    double sum = 0, mn = INFINITY, mx = -INFINITY;
    int n = 0;
    for (const auto& e : b.events) {
      const double v = NumericField(b, e, f);
      if (std::isnan(v)) continue;
      sum += v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      ++n;
    }
    SCOPED_TRACE(std::string(DnsFieldName(f)));
    EXPECT_DOUBLE_EQ(RunOne(Spec(AggKind::kSum, f), b, kAll), sum);
    const double got_min = RunOne(Spec(AggKind::kMin, f), b, kAll);
    const double got_max = RunOne(Spec(AggKind::kMax, f), b, kAll);
    if (n == 0) {
      EXPECT_TRUE(std::isnan(got_min));
      EXPECT_TRUE(std::isnan(got_max));
    } else {
      EXPECT_EQ(got_min, mn);
      EXPECT_EQ(got_max, mx);
    }
  }
}

TEST(AggPredicate, Ops) {
  const auto b = GoldenBatch();
  const auto& e1 = b.events[1];  // rcode 3, qname b.example.com
  const auto& e3 = b.events[3];  // no response
  EventPredicate p;
  p.field = DnsField::kRcode;
  p.op = EventPredicate::Op::kIn;
  p.numbers = {2, 3};
  EXPECT_TRUE(p.Matches(b, e1));
  EXPECT_FALSE(p.Matches(b, e3));  // absent is in no set
  p.op = EventPredicate::Op::kNotIn;
  EXPECT_FALSE(p.Matches(b, e1));
  EXPECT_TRUE(p.Matches(b, e3));
  p.op = EventPredicate::Op::kPresent;
  EXPECT_TRUE(p.Matches(b, e1));
  EXPECT_FALSE(p.Matches(b, e3));
  p.op = EventPredicate::Op::kGe;
  p.numbers = {3};
  EXPECT_TRUE(p.Matches(b, e1));
  EXPECT_FALSE(p.Matches(b, e3));
  p.op = EventPredicate::Op::kLe;
  p.numbers = {2};
  EXPECT_FALSE(p.Matches(b, e1));
  // Strings on a numeric field compare with its decimal text.
  p.op = EventPredicate::Op::kIn;
  p.numbers.clear();
  p.strings = {"3"};
  EXPECT_TRUE(p.Matches(b, e1));
  // Categorical field.
  EventPredicate q;
  q.field = DnsField::kRegisteredDomain;
  q.op = EventPredicate::Op::kIn;
  q.strings = {"example.com"};
  EXPECT_TRUE(q.Matches(b, e1));
  EXPECT_FALSE(q.Matches(b, e3));
  q.op = EventPredicate::Op::kNotIn;
  EXPECT_TRUE(q.Matches(b, e3));
  q.field = DnsField::kSubdomain;
  q.op = EventPredicate::Op::kPresent;
  EXPECT_TRUE(q.Matches(b, e1));
  EXPECT_FALSE(q.Matches(b, b.events[2]));  // apex query: no subdomain
  q.op = EventPredicate::Op::kGe;           // no order on categories
  EXPECT_FALSE(q.Matches(b, e1));
}

// ---- Empty states ---------------------------------------------------------------------------

TEST(AggEmpty, FinalizeOfNothing) {
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    auto st = MakeAggState(spec);
    EXPECT_TRUE(st->Empty());
    std::vector<double> out;
    st->Finalize(&out);
    ASSERT_EQ(out.size(), spec.OutputNames().size());
    switch (spec.kind) {
      case AggKind::kCount:
      case AggKind::kSum:
      case AggKind::kDistinct:
        EXPECT_EQ(out[0], 0);
        break;
      default:
        for (double x : out) EXPECT_TRUE(std::isnan(x));
    }
  }
}

TEST(AggEmpty, ResetReturnsToEmpty) {
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    auto st = MakeAggState(spec);
    st->Update(b, kAll);
    EXPECT_FALSE(st->Empty());
    st->Reset();
    EXPECT_TRUE(st->Empty());
    std::string a, e;
    st->Serialize(&a);
    MakeAggState(spec)->Serialize(&e);
    EXPECT_EQ(a, e);
  }
}

// ---- Merge ------------------------------------------------------------------------------

void ExpectSameValues(const std::vector<double>& a, const std::vector<double>& b, double rel_tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << i;
    } else if (rel_tol == 0) {
      EXPECT_EQ(a[i], b[i]) << i;
    } else {
      EXPECT_NEAR(a[i], b[i], rel_tol * std::max(1.0, std::fabs(a[i]))) << i;
    }
  }
}

TEST(AggMerge, MergeEqualsUpdateOverUnion) {
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    auto whole = MakeAggState(spec);
    whole->Update(b, kAll);
    auto left = MakeAggState(spec);
    left->Update(b, kFirstHalf);
    auto right = MakeAggState(spec);
    right->Update(b, kSecondHalf);
    left->Merge(*right);
    std::vector<double> expect, got;
    whole->Finalize(&expect);
    left->Finalize(&got);
    // Mean/variance go through floating-point reassociation; everything else is exact on
    // this data (sparse HLL counts exactly, top-k/entropy do not overflow, DDSketch buckets
    // add up identically).
    const bool fp = spec.kind == AggKind::kMean || spec.kind == AggKind::kVariance;
    ExpectSameValues(expect, got, fp ? 1e-12 : 0);
    // Merging an empty state changes nothing.
    left->Merge(*MakeAggState(spec));
    got.clear();
    left->Finalize(&got);
    ExpectSameValues(expect, got, fp ? 1e-12 : 0);
  }
}

TEST(AggMerge, EmptyMergedWithFull) {
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    auto full = MakeAggState(spec);
    full->Update(b, kAll);
    auto empty = MakeAggState(spec);
    empty->Merge(*full);
    std::vector<double> expect, got;
    full->Finalize(&expect);
    empty->Finalize(&got);
    ExpectSameValues(expect, got, 0);
  }
}

// ---- Serialization --------------------------------------------------------------------------

TEST(AggSerialize, RoundTripEveryKind) {
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    for (const auto* sel : {&kAll, &kFirstHalf}) {
      auto st = MakeAggState(spec);
      st->Update(b, *sel);
      std::string bytes;
      st->Serialize(&bytes);
      auto back = MakeAggState(spec);
      ASSERT_TRUE(back->Deserialize(bytes).ok());
      std::vector<double> expect, got;
      st->Finalize(&expect);
      back->Finalize(&got);
      ExpectSameValues(expect, got, 0);
      std::string again;
      back->Serialize(&again);
      EXPECT_EQ(bytes, again);
      EXPECT_GT(back->MemoryBytes(), 0u);
    }
    // Empty states round-trip too.
    auto empty = MakeAggState(spec);
    std::string bytes;
    empty->Serialize(&bytes);
    auto back = MakeAggState(spec);
    back->Update(b, kAll);
    ASSERT_TRUE(back->Deserialize(bytes).ok());
    EXPECT_TRUE(back->Empty());
  }
}

TEST(AggSerialize, MergeAfterRoundTrip) {
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    auto left = MakeAggState(spec);
    left->Update(b, kFirstHalf);
    auto right = MakeAggState(spec);
    right->Update(b, kSecondHalf);
    std::string lb, rb;
    left->Serialize(&lb);
    right->Serialize(&rb);
    auto l2 = MakeAggState(spec);
    auto r2 = MakeAggState(spec);
    ASSERT_TRUE(l2->Deserialize(lb).ok());
    ASSERT_TRUE(r2->Deserialize(rb).ok());
    l2->Merge(*r2);
    left->Merge(*right);
    std::vector<double> expect, got;
    left->Finalize(&expect);
    l2->Finalize(&got);
    ExpectSameValues(expect, got, 0);
  }
}

// ---- Corruption ---------------------------------------------------------------------------

std::string Serialized(const AggregationSpec& spec, const std::vector<uint32_t>& sel) {
  const auto b = GoldenBatch();
  auto st = MakeAggState(spec);
  st->Update(b, sel);
  std::string bytes;
  st->Serialize(&bytes);
  return bytes;
}

TEST(AggCorruption, EveryTruncationIsRejected) {
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    const std::string bytes = Serialized(spec, kAll);
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto st = MakeAggState(spec);
      const Status s = st->Deserialize(std::string_view(bytes).substr(0, len));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "prefix " << len;
      EXPECT_TRUE(st->Empty()) << "a failed Deserialize must leave the state unchanged";
    }
  }
}

TEST(AggCorruption, TrailingBytesAreRejected) {
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    std::string bytes = Serialized(spec, kAll);
    bytes.push_back('\0');
    EXPECT_EQ(MakeAggState(spec)->Deserialize(bytes).code(), StatusCode::kInvalidArgument);
    bytes.append(1000, '\xff');
    EXPECT_EQ(MakeAggState(spec)->Deserialize(bytes).code(), StatusCode::kInvalidArgument);
  }
}

TEST(AggCorruption, HeaderFlipsAreRejected) {
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    const std::string bytes = Serialized(spec, kAll);
    for (size_t pos : {size_t{0}, size_t{1}}) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = bytes;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
        EXPECT_EQ(MakeAggState(spec)->Deserialize(bad).code(), StatusCode::kInvalidArgument)
            << "byte " << pos << " bit " << bit;
      }
    }
  }
}

TEST(AggCorruption, BitFlipsNeverCrash) {
  // A flip inside a payload may still decode to a valid (different) state; what must hold
  // is that decoding never crashes or over-allocates, and that an accepted state behaves.
  const auto b = GoldenBatch();
  for (const auto& spec : AllKindSpecs()) {
    SCOPED_TRACE(spec.name);
    const std::string bytes = Serialized(spec, kAll);
    for (size_t pos = 0; pos < bytes.size(); ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = bytes;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
        auto st = MakeAggState(spec);
        if (st->Deserialize(bad).ok()) {
          std::vector<double> out;
          st->Finalize(&out);
          EXPECT_EQ(out.size(), spec.OutputNames().size());
          auto other = MakeAggState(spec);
          other->Update(b, kAll);
          st->Merge(*other);
          std::string again;
          st->Serialize(&again);
        }
      }
    }
  }
}

TEST(AggCorruption, WrongKindIsRejected) {
  const auto specs = AllKindSpecs();
  for (const auto& from : specs) {
    const std::string bytes = Serialized(from, kAll);
    for (const auto& to : specs) {
      if (to.kind == from.kind) continue;
      if ((to.kind == AggKind::kMean && from.kind == AggKind::kVariance) ||
          (to.kind == AggKind::kVariance && from.kind == AggKind::kMean))
        continue;  // distinct kinds, but still checked below
      EXPECT_EQ(MakeAggState(to)->Deserialize(bytes).code(), StatusCode::kInvalidArgument)
          << from.name << " -> " << to.name;
    }
  }
  EXPECT_FALSE(MakeAggState(Spec(AggKind::kMean, DnsField::kLatencyMs))
                   ->Deserialize(Serialized(Spec(AggKind::kVariance, DnsField::kLatencyMs), kAll))
                   .ok());
}

TEST(AggCorruption, SketchParameterMismatchIsRejected) {
  auto hll12 = Spec(AggKind::kDistinct, DnsField::kQname);
  auto hll10 = hll12;
  hll10.hll_precision = 10;
  EXPECT_FALSE(MakeAggState(hll10)->Deserialize(Serialized(hll12, kAll)).ok());
  auto q1 = LatencyQuantiles();
  auto q2 = q1;
  q2.relative_accuracy = 0.02;
  EXPECT_FALSE(MakeAggState(q2)->Deserialize(Serialized(q1, kAll)).ok());
  auto t10 = Spec(AggKind::kTopK, DnsField::kQname);
  auto t5 = t10;
  t5.top_k = 5;
  EXPECT_FALSE(MakeAggState(t5)->Deserialize(Serialized(t10, kAll)).ok());
  auto e64 = Spec(AggKind::kEntropy, DnsField::kQname);
  auto e3 = e64;
  e3.max_categories = 3;
  EXPECT_FALSE(MakeAggState(e3)->Deserialize(Serialized(e64, kAll)).ok());
}

TEST(AggCorruption, OversizedCountsAreRejectedWithoutAllocating) {
  auto varint = [](uint64_t v) {
    std::string s;
    while (v >= 0x80) {
      s.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    s.push_back(static_cast<char>(v));
    return s;
  };
  const std::string v1 = "\x01";
  // distinct: sparse mode claiming 2^60 hashes.
  {
    std::string b = v1 + static_cast<char>(AggKind::kDistinct);
    b += '\x01';  // hll version
    b += '\x0c';  // precision 12
    b += '\x00';  // sparse
    b += varint(1ull << 60);
    EXPECT_EQ(MakeAggState(Spec(AggKind::kDistinct, DnsField::kQname))->Deserialize(b).code(),
              StatusCode::kInvalidArgument);
  }
  // topk: 10 counters claimed, first key 2^40 bytes long.
  {
    std::string b = v1 + static_cast<char>(AggKind::kTopK) + "\x01" + varint(10) + varint(100) +
                    varint(10) + varint(1ull << 40);
    b.append(40, 'x');
    EXPECT_FALSE(MakeAggState(Spec(AggKind::kTopK, DnsField::kQname))->Deserialize(b).ok());
  }
  // quantiles: 2^50 buckets claimed.
  {
    auto spec = LatencyQuantiles();
    std::string good = Serialized(spec, {});
    // Header (2) + version (1) + alpha (8) + max_buckets varint (2) + zero (1) + min/max (16),
    // then the bucket count (0 for an empty sketch) is the last byte.
    ASSERT_EQ(good.back(), '\0');
    good.pop_back();
    const std::string bad = good + varint(1ull << 50);
    EXPECT_FALSE(MakeAggState(spec)->Deserialize(bad).ok());
  }
  // ratio: numerator above denominator.
  {
    const std::string b = v1 + static_cast<char>(AggKind::kRatio) + varint(5) + varint(4);
    EXPECT_FALSE(MakeAggState(NxdomainRatio())->Deserialize(b).ok());
  }
  // variance: negative M2.
  {
    auto spec = Spec(AggKind::kVariance, DnsField::kLatencyMs);
    std::string b = Serialized(spec, kAll);
    b[b.size() - 1] = static_cast<char>(b[b.size() - 1] | 0x80);  // sign bit of M2
    EXPECT_FALSE(MakeAggState(spec)->Deserialize(b).ok());
  }
  // Empty input and a lone header.
  for (const auto& spec : AllKindSpecs()) {
    EXPECT_FALSE(MakeAggState(spec)->Deserialize("").ok());
    EXPECT_FALSE(MakeAggState(spec)->Deserialize(v1 + static_cast<char>(spec.kind)).ok());
  }
}

TEST(AggMemory, SmallStatesStaySmall) {
  const auto b = GoldenBatch();
  // A distinct state for an entity with a handful of keys stays in sparse mode.
  auto st = MakeAggState(Spec(AggKind::kDistinct, DnsField::kQname));
  st->Update(b, kAll);
  EXPECT_LT(st->MemoryBytes(), 256u);
  EXPECT_LE(MakeAggState(Spec(AggKind::kCount, DnsField::kQname))->MemoryBytes(), 16u);
}

}  // namespace
}  // namespace dnsight

namespace dnsight {
namespace {

// A batch of many distinct names and clients, with or without the normalizer's hash
// columns for the fields distinct counts and top-k read.
DnsEventBatch KeyedBatch(bool with_hashes, bool corrupt_hashes = false) {
  DnsEventBatch b;
  for (int i = 0; i < 3000; ++i) {
    // Every other event is one heavy hitter (name and client): top-k keeps counting it.
    const bool heavy = i % 2 == 0;
    const std::string name =
        heavy ? "h.d.heavy.com"
              : "h" + std::to_string(i * 7 % 911) + ".d" + std::to_string(i % 37) + ".com";
    AddEvent(&b, {name, static_cast<uint16_t>(name.size() - name.find(".d") - 1), 1'000'000, 0, 1,
                  80, 40, 60, 1, 3, 1.0f, static_cast<uint8_t>(heavy ? 7 : i % 200)});
  }
  if (with_hashes) {
    for (DnsField f :
         {DnsField::kQname, DnsField::kRegisteredDomain, DnsField::kSubdomain, DnsField::kClient}) {
      auto& column = b.field_hashes[static_cast<size_t>(HashedFieldSlot(f))];
      for (const DnsEvent& e : b.events) {
        std::string scratch;
        const std::string_view key = CategoryField(b, e, f, &scratch);
        // Corrupt: a different hash for each event, even of the same key.
        const uint64_t h = XXH3_64bits(key.data(), key.size());
        column.push_back(corrupt_hashes ? h ^ ((column.size() + 1) * 0x9E3779B97F4A7C15ull) : h);
      }
    }
  }
  return b;
}

// Distinct counts and top-k take each key's hash from the batch's column when it has one:
// the states are byte-for-byte those built by hashing every key, and the column is used
// (a column that hashes the same key differently from event to event changes them).
TEST(AggHashColumns, SameStatesAsHashingEachKey) {
  const DnsEventBatch plain = KeyedBatch(false), hashed = KeyedBatch(true),
                      corrupt = KeyedBatch(true, true);
  ASSERT_EQ(plain.FieldHashes(DnsField::kQname), nullptr);
  ASSERT_NE(hashed.FieldHashes(DnsField::kQname), nullptr);
  // A selection with gaps, as a view's is: the column is read by event index, not by
  // position in the selection.
  std::vector<uint32_t> sel;
  for (uint32_t i = 0; i < plain.size(); ++i)
    if (i % 3 != 1) sel.push_back(i);
  const auto state_of = [&](const AggregationSpec& spec, const DnsEventBatch& b) {
    auto st = MakeAggState(spec);
    st->Update(b, sel);
    std::string bytes;
    st->Serialize(&bytes);
    return bytes;
  };
  for (AggKind kind : {AggKind::kDistinct, AggKind::kTopK}) {
    for (DnsField f :
         {DnsField::kQname, DnsField::kRegisteredDomain, DnsField::kSubdomain, DnsField::kClient}) {
      AggregationSpec spec = Spec(kind, f);
      spec.hll_precision = 8;  // 3000 keys: past the sparse set, into the registers
      const std::string want = state_of(spec, plain);
      EXPECT_EQ(state_of(spec, hashed), want) << static_cast<int>(kind) << " " << DnsFieldName(f);
      EXPECT_NE(state_of(spec, corrupt), want) << static_cast<int>(kind) << " " << DnsFieldName(f);
    }
  }
  // A batch whose column lags its events (an event added without a hash) is not trusted.
  DnsEventBatch lagging = KeyedBatch(true);
  AddEvent(&lagging, {"late.example.com", 11, 0, 0, 1, 0, 0, -1, 0, 3, 1.0f, 1});
  EXPECT_EQ(lagging.FieldHashes(DnsField::kQname), nullptr);
}

}  // namespace
}  // namespace dnsight
