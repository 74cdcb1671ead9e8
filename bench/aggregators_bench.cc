// Update throughput per aggregation kind on a 4096-event batch, and merge costs of the
// HLL and DDSketch states. Items/s is events folded per second on one core.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dnsight/aggregator.h"
#include "dnsight/dns_event.h"
#include "features/ddsketch.h"
#include "features/hyperloglog.h"

namespace dnsight {
namespace {

constexpr size_t kBatch = 4096;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Resolver-like traffic: 2000 names over 50 registered domains, log-normal latencies,
// 5 % NXDOMAIN, 2 % unanswered.
const DnsEventBatch& Batch() {
  static const DnsEventBatch* batch = [] {
    auto* b = new DnsEventBatch;
    for (uint64_t i = 0; i < kBatch; ++i) {
      const uint64_t r = Mix(i);
      const std::string rd = "domain" + std::to_string(r % 50) + ".com";
      const std::string q = "host" + std::to_string((r >> 8) % 40) + "." + rd;
      DnsEvent e;
      e.ts_ns = static_cast<int64_t>(i) * 1000;
      e.qname_off = static_cast<uint32_t>(b->arena.size());
      e.qname_len = static_cast<uint16_t>(q.size());
      e.rd_len = static_cast<uint16_t>(rd.size());
      b->arena += q;
      const bool answered = (r >> 20) % 50 != 0;
      const double u = static_cast<double>((r >> 24) & 0xffff) / 65536.0 + 1e-6;
      e.latency_ns =
          answered ? static_cast<int64_t>(std::exp(14.5 + 1.2 * std::log(u / (1 - u)))) : -1;
      e.rcode = answered ? static_cast<int16_t>((r >> 40) % 20 == 0 ? 3 : 0) : -1;
      e.qtype = (r >> 44) % 3 == 0 ? 28 : 1;
      e.response_size = 60 + static_cast<uint32_t>((r >> 48) % 400);
      e.query_size = 40;
      e.answer_count = 1;
      e.label_count = 3;
      e.label_entropy = 2.5f;
      const uint8_t c[4] = {10, 1, static_cast<uint8_t>(r >> 52), static_cast<uint8_t>(r >> 56)};
      e.client = IpAddress::V4(c);
      b->events.push_back(e);
    }
    return b;
  }();
  return *batch;
}

const std::vector<uint32_t>& AllSelected() {
  static const auto* sel = [] {
    auto* v = new std::vector<uint32_t>(kBatch);
    for (uint32_t i = 0; i < kBatch; ++i) (*v)[i] = i;
    return v;
  }();
  return *sel;
}

AggregationSpec SpecFor(AggKind kind) {
  AggregationSpec s;
  s.name = "f";
  s.kind = kind;
  switch (kind) {
    case AggKind::kDistinct:
    case AggKind::kTopK:
      s.field = DnsField::kQname;
      break;
    case AggKind::kEntropy:
      s.field = DnsField::kRegisteredDomain;
      break;
    case AggKind::kRatio: {
      EventPredicate p;
      p.field = DnsField::kRcode;
      p.numbers = {3};
      s.predicate.push_back(p);
      break;
    }
    default:
      s.field = DnsField::kLatencyMs;
  }
  s.quantiles = {0.5, 0.95, 0.99};
  return s;
}

// One state fed the whole batch per iteration.
void BM_Update(benchmark::State& state) {
  const auto kind = static_cast<AggKind>(state.range(0));
  const AggregationSpec spec = SpecFor(kind);
  auto agg = MakeAggState(spec);
  const auto& batch = Batch();
  const auto& sel = AllSelected();
  for (auto _ : state) {
    agg->Update(batch, sel);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_Update)->ArgName("kind")->DenseRange(static_cast<int>(AggKind::kCount),
                                                  static_cast<int>(AggKind::kEntropy));

// Engine-shaped: the batch split over many entities, each state getting ~8 events.
void BM_UpdatePerEntity(benchmark::State& state) {
  const auto kind = static_cast<AggKind>(state.range(0));
  const AggregationSpec spec = SpecFor(kind);
  constexpr size_t kEntities = kBatch / 8;
  std::vector<std::unique_ptr<AggState>> states;
  for (size_t i = 0; i < kEntities; ++i) states.push_back(MakeAggState(spec));
  std::vector<std::vector<uint32_t>> sels(kEntities);
  for (uint32_t i = 0; i < kBatch; ++i) sels[Mix(i + 99) % kEntities].push_back(i);
  const auto& batch = Batch();
  for (auto _ : state) {
    for (size_t i = 0; i < kEntities; ++i) states[i]->Update(batch, sels[i]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_UpdatePerEntity)
    ->ArgName("kind")
    ->DenseRange(static_cast<int>(AggKind::kCount), static_cast<int>(AggKind::kEntropy));

void BM_HllMergeDense(benchmark::State& state) {
  HyperLogLog a(static_cast<int>(state.range(0))), b(static_cast<int>(state.range(0)));
  for (uint64_t i = 0; i < 100000; ++i) {
    a.AddHash(Mix(i));
    b.AddHash(Mix(i + 50000));
  }
  for (auto _ : state) {
    a.Merge(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_HllMergeDense)->Arg(12)->Arg(14)->Arg(16);

void BM_HllMergeSparse(benchmark::State& state) {
  HyperLogLog b(12);
  for (uint64_t i = 0; i < static_cast<uint64_t>(state.range(0)); ++i) b.AddHash(Mix(i));
  for (auto _ : state) {
    HyperLogLog a(12);
    a.Merge(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_HllMergeSparse)->Arg(10)->Arg(300);

void BM_HllEstimate(benchmark::State& state) {
  HyperLogLog a(12);
  for (uint64_t i = 0; i < 100000; ++i) a.AddHash(Mix(i));
  for (auto _ : state) benchmark::DoNotOptimize(a.Estimate());
}
BENCHMARK(BM_HllEstimate);

void BM_DdSketchMerge(benchmark::State& state) {
  DDSketch a(0.01), b(0.01);
  for (uint64_t i = 0; i < 100000; ++i) {
    // Latency-like spread over about four decades.
    a.Add(std::exp(static_cast<double>(Mix(i) % 10000) / 1000.0));
    b.Add(std::exp(static_cast<double>(Mix(i + 7) % 10000) / 1000.0));
  }
  state.counters["buckets"] = static_cast<double>(b.num_buckets());
  for (auto _ : state) {
    a.Merge(b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_DdSketchMerge);

}  // namespace
}  // namespace dnsight
