// Robust baseline cost per feature vector (50 features, one point per minute, a daily
// cycle), against a naive reference that recomputes median and MAD over the full history
// of each feature at every point, on the same series.
//
//   BM_RobustBaselineLatency   steady state after a week of history: each Observe of a
//                              50-feature vector timed alone; counters p50_us, p99_us.
//   BM_RobustBaselineSeries/L  a fresh VectorBaseline over the first L vectors (warm-up
//                              and allocation included); items/s is vectors per second.
//   BM_NaiveFullHistory/L      the naive reference over the same L vectors.
//   BM_IsolationForestScore    a 100-tree forest trained on a day of the same vectors:
//                              each Score + Explain of one 50-feature vector timed alone;
//                              counters p50_us, p99_us (reference: the baseline above).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "detect/isolation_forest.h"
#include "detect/robust_baseline.h"

namespace dnsight {
namespace {

constexpr size_t kFeatures = 50;
constexpr int64_t kMinuteNs = 60'000'000'000;
constexpr int64_t kT0 = 1795392000LL * 1'000'000'000;  // 2026-11-23T00:00:00Z

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// values[i * kFeatures + f]: feature f at minute i. Each feature has its own level and
// amplitude, a daily cycle, noise, 1 % missing values and 0.1 % spikes.
const std::vector<double>& Series(size_t minutes) {
  static std::vector<double> values;
  if (values.size() >= minutes * kFeatures) return values;
  values.resize(minutes * kFeatures);
  for (size_t i = 0; i < minutes; ++i) {
    const double phase = 2 * M_PI * static_cast<double>(i % 1440) / 1440.0;
    for (size_t f = 0; f < kFeatures; ++f) {
      const uint64_t r = Mix(i * kFeatures + f);
      const double level = 10.0 * static_cast<double>(f + 1);
      const double noise = (static_cast<double>(r & 0xffff) / 65536.0 - 0.5) * 0.1 * level;
      double x = level * (1 + 0.5 * std::sin(phase + static_cast<double>(f))) + noise;
      if ((r >> 20) % 1000 == 0) x *= 5;
      if ((r >> 32) % 100 == 0) x = NAN;
      values[i * kFeatures + f] = x;
    }
  }
  return values;
}

void BM_RobustBaselineLatency(benchmark::State& state) {
  constexpr size_t kWeek = 7 * 1440;
  const std::vector<double>& values = Series(kWeek);
  const BaselineOptions options;
  VectorBaseline baselines(kFeatures, &options);
  std::vector<BaselineScore> out(kFeatures);
  for (size_t i = 0; i < kWeek; ++i)  // a week of history first
    baselines.Observe(kT0 + static_cast<int64_t>(i) * kMinuteNs,
                      std::span(values).subspan(i * kFeatures, kFeatures), out);
  std::vector<double> micros;
  micros.reserve(1 << 20);
  size_t i = kWeek;
  for (auto _ : state) {
    const size_t row = i % kWeek;
    const auto start = std::chrono::steady_clock::now();
    const double top =
        baselines.Observe(kT0 + static_cast<int64_t>(i) * kMinuteNs,
                          std::span(values).subspan(row * kFeatures, kFeatures), out);
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(top);
    if (micros.size() < micros.capacity())
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    ++i;
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[micros.size() * 99 / 100];
    state.counters["max_us"] = micros.back();
  }
  state.counters["bytes_per_vector"] = static_cast<double>(baselines.MemoryBytes());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RobustBaselineLatency);

void BM_RobustBaselineSeries(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<double>& values = Series(n);
  const BaselineOptions options;
  std::vector<BaselineScore> out(kFeatures);
  uint64_t anomalies = 0;
  for (auto _ : state) {
    VectorBaseline baselines(kFeatures, &options);
    for (size_t i = 0; i < n; ++i) {
      baselines.Observe(kT0 + static_cast<int64_t>(i) * kMinuteNs,
                        std::span(values).subspan(i * kFeatures, kFeatures), out);
      for (const BaselineScore& s : out) anomalies += s.anomaly ? 1 : 0;
    }
  }
  state.counters["anomalies_per_pass"] =
      static_cast<double>(anomalies) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_RobustBaselineSeries)->Arg(1440)->Arg(4320)->Unit(benchmark::kMillisecond);

// Median and MAD of a feature's whole history at every point: exact, and O(history).
void BM_NaiveFullHistory(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<double>& values = Series(n);
  uint64_t anomalies = 0;
  for (auto _ : state) {
    std::vector<std::vector<double>> history(kFeatures);
    std::vector<double> scratch;
    for (size_t i = 0; i < n; ++i) {
      for (size_t f = 0; f < kFeatures; ++f) {
        const double x = values[i * kFeatures + f];
        if (std::isnan(x)) continue;
        std::vector<double>& h = history[f];
        if (h.size() >= 12) {
          scratch.assign(h.begin(), h.end());
          auto mid = scratch.begin() + static_cast<ptrdiff_t>(scratch.size() / 2);
          std::nth_element(scratch.begin(), mid, scratch.end());
          const double median = *mid;
          for (double& v : scratch) v = std::fabs(v - median);
          std::nth_element(scratch.begin(), mid, scratch.end());
          const double scale = std::max(1.4826 * *mid, 1e-3);
          anomalies += std::fabs(x - median) / scale >= 4 ? 1 : 0;
        }
        h.push_back(x);
      }
    }
  }
  state.counters["anomalies_per_pass"] =
      static_cast<double>(anomalies) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_NaiveFullHistory)->Arg(1440)->Arg(4320)->Unit(benchmark::kMillisecond);

void BM_IsolationForestScore(benchmark::State& state) {
  const std::vector<double>& values = Series(1440);
  std::vector<std::string> names;
  for (size_t f = 0; f < kFeatures; ++f) names.push_back("f" + std::to_string(f));
  auto forest = IsolationForest::Train(std::span(values).first(1440 * kFeatures), names, {});
  if (!forest.ok()) {
    state.SkipWithError(forest.status().message().c_str());
    return;
  }
  std::vector<double> micros;
  micros.reserve(1 << 20);
  size_t i = 0;
  for (auto _ : state) {
    const auto x = std::span(values).subspan((i % 1440) * kFeatures, kFeatures);
    const auto start = std::chrono::steady_clock::now();
    const double s = forest->Score(x);
    const std::vector<double> share = forest->Explain(x);
    const auto end = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(share.data());
    if (micros.size() < micros.capacity())
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    ++i;
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IsolationForestScore);

}  // namespace
}  // namespace dnsight
