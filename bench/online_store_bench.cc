// In-process read latency of the embedded online store (100k entities × 50 features) and
// of FeatureService::GetFeatures over it (the path the HTTP API calls: registry snapshot,
// TTL and staleness per entity), next to a reference: a plain
// std::unordered_map<std::string, std::vector<double>> lookup plus a copy of the values,
// the least any in-process store has to do.
//
// Every call is timed on its own with steady_clock; the counters p50_us and p99_us are
// per call: one Get / one GetFeatures of 1 entity (entities:1), or one MultiGet /
// GetFeatures of 100 entities (entities:100). The reference benchmarks also report
// store_over_ref_p50/p99 and service_over_ref_p50/p99, the ratios of the store and
// service benchmarks of the same shape to the reference, when those ran first (they do in
// the default order, and under --benchmark_filter='BM_(EmbeddedLookup|FeatureService|Ref)').
// Entities are drawn uniformly at random, so the working set is the whole store, as for a
// scoring service.
//
// Setup writes the store once into a temporary directory (removed at exit) and reopens it,
// so reads run against the index as loaded at open. Records end at the wall-clock time of
// setup and the view's TTL is 1 h, so every GetFeatures answer is `fresh` with all 50
// values (the check fails the benchmark otherwise).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/online_store.h"
#include "serve/feature_service.h"
#include "store/registry.h"

namespace dnsight {
namespace {

constexpr size_t kEntities = 100'000;
constexpr size_t kFeatures = 50;
constexpr char kView[] = "client";
constexpr char kVersion[] = "fc37609342a29496";
constexpr int64_t kTtlNs = 3600'000'000'000;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "dnsight-online-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Fixture {
  std::unique_ptr<TempDir> dir;  // declared first: removed after the store is closed
  std::unique_ptr<OnlineStore> store;
  std::unique_ptr<Registry> registry;
  SystemClock clock;
  std::unique_ptr<FeatureService> service;
  std::unordered_map<std::string, std::vector<double>> reference;
  std::vector<std::string> entities;
};

Fixture BuildFixture() {
  Fixture f;
  f.dir = std::make_unique<TempDir>();
  for (size_t i = 0; i < kEntities; ++i) {
    const uint64_t r = Mix(i);
    f.entities.push_back("10." + std::to_string((i >> 16) & 0xff) + "." +
                         std::to_string((i >> 8) & 0xff) + "." + std::to_string(i & 0xff));
    std::vector<double> values(kFeatures);
    for (size_t j = 0; j < kFeatures; ++j) values[j] = static_cast<double>((r >> j) & 0xffff);
    f.reference.emplace(f.entities.back(), std::move(values));
  }
  const std::string path = f.dir->path() + "/online";
  const int64_t window_end_ns = SystemClock().NowNs();
  {
    auto writer = OpenEmbeddedOnlineStore(path);
    if (!writer.ok()) {
      std::fprintf(stderr, "open: %s\n", writer.status().ToString().c_str());
      std::abort();
    }
    std::vector<OnlineRecord> batch;
    for (size_t i = 0; i < kEntities; ++i) {
      batch.push_back(
          OnlineRecord{kView, f.entities[i], kVersion, window_end_ns, f.reference[f.entities[i]]});
      if (batch.size() == 1000 || i + 1 == kEntities) {
        if (Status s = (*writer)->Put(batch); !s.ok()) {
          std::fprintf(stderr, "put: %s\n", s.ToString().c_str());
          std::abort();
        }
        batch.clear();
      }
    }
  }
  auto reopened = OpenEmbeddedOnlineStore(path);
  if (!reopened.ok()) std::abort();
  f.store = std::move(reopened).value();

  auto registry = Registry::Open(f.dir->path() + "/registry");
  if (!registry.ok()) {
    std::fprintf(stderr, "registry: %s\n", registry.status().ToString().c_str());
    std::abort();
  }
  f.registry = std::move(registry).value();
  RegisteredView view;
  view.name = kView;
  view.version = kVersion;
  view.entity = "client";
  view.ttl_ns = kTtlNs;
  for (size_t j = 0; j < kFeatures; ++j) view.feature_names.push_back("f" + std::to_string(j));
  view.registered_at_ns = window_end_ns;
  if (!f.registry->Register(view).ok()) std::abort();
  f.service = std::make_unique<FeatureService>(*f.registry, *f.store, f.clock);
  return f;
}

// Built once, on first use. The static is initialised only after RocksDB has created its
// own statics (during Open), so at exit it is destroyed before them: the store closes while
// RocksDB is still whole, then the directory is removed.
Fixture* GetFixture() {
  static Fixture fixture = BuildFixture();
  return &fixture;
}

struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
};

// Results of the store and service benchmarks by batch size, for the reference ratios.
std::map<int64_t, Percentiles>& StoreResults() {
  static std::map<int64_t, Percentiles> results;
  return results;
}
std::map<int64_t, Percentiles>& ServiceResults() {
  static std::map<int64_t, Percentiles> results;
  return results;
}

Percentiles Report(benchmark::State& state, std::vector<double>* ns) {
  Percentiles p;
  if (ns->empty()) return p;
  std::sort(ns->begin(), ns->end());
  const auto at = [&](double q) {
    return (
        *ns)[std::min(ns->size() - 1, static_cast<size_t>(q * static_cast<double>(ns->size())))];
  };
  p.p50_us = at(0.50) / 1000.0;
  p.p99_us = at(0.99) / 1000.0;
  state.counters["p50_us"] = p.p50_us;
  state.counters["p99_us"] = p.p99_us;
  return p;
}

// Draws `n` entities at random into `picked`.
void Pick(const Fixture& f, uint64_t* seed, size_t n, std::vector<std::string>* picked) {
  picked->resize(n);
  for (size_t i = 0; i < n; ++i) (*picked)[i] = f.entities[Mix((*seed)++) % kEntities];
}

void BM_EmbeddedLookup(benchmark::State& state) {
  Fixture& f = *GetFixture();
  const size_t batch = static_cast<size_t>(state.range(0));
  std::vector<double> ns;
  ns.reserve(1 << 20);
  std::vector<std::string> picked;
  std::vector<std::optional<OnlineRecord>> out;
  uint64_t seed = 1;
  size_t found = 0;
  for (auto _ : state) {
    Pick(f, &seed, batch, &picked);
    auto t0 = std::chrono::steady_clock::now();
    auto t1 = t0;
    if (batch == 1) {  // the single-entity path that callers use: Get
      t0 = std::chrono::steady_clock::now();
      const Result<std::optional<OnlineRecord>> r = f.store->Get(kView, picked[0]);
      t1 = std::chrono::steady_clock::now();
      found += r.ok() && r->has_value() ? 1 : 0;
    } else {
      t0 = std::chrono::steady_clock::now();
      const Status s = f.store->MultiGet(kView, picked, &out);
      t1 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(s);
      found += static_cast<size_t>(
          std::count_if(out.begin(), out.end(), [](const auto& r) { return r.has_value(); }));
    }
    ns.push_back(static_cast<double>(std::chrono::nanoseconds(t1 - t0).count()));
  }
  if (found != batch * static_cast<size_t>(state.iterations())) state.SkipWithError("missing");
  state.SetItemsProcessed(state.iterations() * state.range(0));
  StoreResults()[state.range(0)] = Report(state, &ns);
}
BENCHMARK(BM_EmbeddedLookup)->ArgName("entities")->Arg(1)->Arg(100);

// FeatureService::GetFeatures: one view of 50 features, 1 or 100 entities per call; the
// response is reused across calls, as each HTTP worker thread does.
void BM_FeatureServiceGet(benchmark::State& state) {
  Fixture& f = *GetFixture();
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::vector<std::string> views{kView};
  std::vector<double> ns;
  ns.reserve(1 << 20);
  std::vector<std::string> picked;
  FeatureResponse resp;
  uint64_t seed = 1;
  size_t fresh = 0;
  bool failed = false;
  for (auto _ : state) {
    Pick(f, &seed, batch, &picked);
    const auto t0 = std::chrono::steady_clock::now();
    const Status s = f.service->GetFeatures(views, picked, &resp);
    const auto t1 = std::chrono::steady_clock::now();
    ns.push_back(static_cast<double>(std::chrono::nanoseconds(t1 - t0).count()));
    if (!s.ok()) {
      failed = true;
      continue;
    }
    for (const EntityFeatures& e : resp.views[0].entities)
      fresh += e.status == FeatureStatus::kFresh && e.values.size() == kFeatures ? 1 : 0;
  }
  if (failed || fresh != batch * static_cast<size_t>(state.iterations()))
    state.SkipWithError("not every entity was fresh with 50 values");
  state.SetItemsProcessed(state.iterations() * state.range(0));
  ServiceResults()[state.range(0)] = Report(state, &ns);
}
BENCHMARK(BM_FeatureServiceGet)->ArgName("entities")->Arg(1)->Arg(100);

void BM_ReferenceLookup(benchmark::State& state) {
  Fixture& f = *GetFixture();
  const size_t batch = static_cast<size_t>(state.range(0));
  std::vector<double> ns;
  ns.reserve(1 << 20);
  std::vector<std::string> picked;
  std::vector<std::optional<std::vector<double>>> out;
  uint64_t seed = 1;
  for (auto _ : state) {
    Pick(f, &seed, batch, &picked);
    const auto t0 = std::chrono::steady_clock::now();
    out.clear();
    out.resize(batch);
    for (size_t i = 0; i < batch; ++i) {
      const auto it = f.reference.find(picked[i]);
      if (it != f.reference.end()) out[i] = it->second;
    }
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(out.data());
    ns.push_back(static_cast<double>(std::chrono::nanoseconds(t1 - t0).count()));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  const Percentiles p = Report(state, &ns);
  if (p.p50_us <= 0 || p.p99_us <= 0) return;
  if (const auto it = StoreResults().find(state.range(0)); it != StoreResults().end()) {
    state.counters["store_over_ref_p50"] = it->second.p50_us / p.p50_us;
    state.counters["store_over_ref_p99"] = it->second.p99_us / p.p99_us;
  }
  if (const auto it = ServiceResults().find(state.range(0)); it != ServiceResults().end()) {
    state.counters["service_over_ref_p50"] = it->second.p50_us / p.p50_us;
    state.counters["service_over_ref_p99"] = it->second.p99_us / p.p99_us;
  }
}
BENCHMARK(BM_ReferenceLookup)->ArgName("entities")->Arg(1)->Arg(100);

}  // namespace
}  // namespace dnsight
