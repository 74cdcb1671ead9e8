#include "hosting/host_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>
#include <unordered_map>

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// node_boot_time_seconds is recomputed from the wall clock and can move by a second when
// the clock is adjusted; only a larger change is a reboot.
constexpr double kBootTimeToleranceS = 1.0;

// The samples of one scrape by metric name, and each series by name and label set.
class ScrapeIndex {
 public:
  explicit ScrapeIndex(const HostSnapshot& s) {
    for (const PromSample& sample : s.samples) {
      by_name_[sample.name].push_back(&sample);
      by_series_.emplace(SeriesKey(sample.name, LabelsKey(sample)), &sample);
    }
  }

  const std::vector<const PromSample*>& Series(std::string_view name) const {
    static const std::vector<const PromSample*> kNone;
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? kNone : it->second;
  }

  // The first series' value, or NaN.
  double Gauge(std::string_view name) const {
    const auto& series = Series(name);
    return series.empty() ? kNaN : series.front()->value;
  }

  // The series with the same name and labels as `s` (from another scrape), or nullptr.
  const PromSample* Match(const PromSample& s) const {
    const auto it = by_series_.find(SeriesKey(s.name, LabelsKey(s)));
    return it == by_series_.end() ? nullptr : it->second;
  }

  std::vector<std::string_view> Names() const {
    std::vector<std::string_view> names;
    names.reserve(by_name_.size());
    for (const auto& [name, unused] : by_name_) names.push_back(name);
    return names;
  }

 private:
  // Length-prefixed parts, so no label text can make two different series collide.
  static void Append(std::string_view part, std::string* key) {
    *key += std::to_string(part.size());
    key->push_back(':');
    *key += part;
  }
  // Label pairs sorted by name: exporters write them in a stable order, but need not.
  static std::string LabelsKey(const PromSample& s) {
    std::vector<const std::pair<std::string, std::string>*> sorted;
    sorted.reserve(s.labels.size());
    for (const auto& label : s.labels) sorted.push_back(&label);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    std::string key;
    for (const auto* label : sorted) {
      Append(label->first, &key);
      Append(label->second, &key);
    }
    return key;
  }
  static std::string SeriesKey(std::string_view name, const std::string& labels) {
    std::string key;
    Append(name, &key);
    key += labels;
    return key;
  }

  std::unordered_map<std::string_view, std::vector<const PromSample*>> by_name_;
  std::unordered_map<std::string, const PromSample*> by_series_;
};

// Counter increases of one metric over the series present in both scrapes.
struct Increase {
  double sum = 0;
  double max = 0;
  bool any = false;    // at least one series matched
  bool reset = false;  // some counter went down (or was not finite)
};

template <typename Keep>
Increase CounterIncrease(const ScrapeIndex& prev, const ScrapeIndex& cur, std::string_view name,
                         Keep keep) {
  Increase inc;
  for (const PromSample* c : cur.Series(name)) {
    if (!keep(*c)) continue;
    const PromSample* p = prev.Match(*c);
    if (p == nullptr) continue;
    const double d = c->value - p->value;
    if (!std::isfinite(d) || d < 0) {
      inc.reset = true;
      continue;
    }
    inc.max = inc.any ? std::max(inc.max, d) : d;
    inc.sum += d;
    inc.any = true;
  }
  return inc;
}

Increase CounterIncrease(const ScrapeIndex& prev, const ScrapeIndex& cur, std::string_view name) {
  return CounterIncrease(prev, cur, name, [](const PromSample&) { return true; });
}

double Rate(const Increase& inc, double dt_s, double amount) {
  if (!inc.any || inc.reset || !(dt_s > 0)) return kNaN;
  return amount / dt_s;
}

double Ratio(double num, double den) {
  return den > 0 ? num / den : kNaN;
}

// Increases of every counter named *_restarts_total, a reboot, and restarted processes.
double CountRestarts(const ScrapeIndex& prev, const ScrapeIndex& cur) {
  constexpr std::string_view kSuffix = "_restarts_total";
  double restarts = 0;
  for (std::string_view name : cur.Names()) {
    if (name.size() < kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix)
      continue;
    for (const PromSample* c : cur.Series(name)) {
      const PromSample* p = prev.Match(*c);
      if (p == nullptr || !std::isfinite(c->value) || !std::isfinite(p->value)) continue;
      // A counter that went down was reset: it has counted c->value since then.
      restarts += c->value >= p->value ? c->value - p->value : std::max(c->value, 0.0);
    }
  }
  const double boot_prev = prev.Gauge("node_boot_time_seconds");
  const double boot_cur = cur.Gauge("node_boot_time_seconds");
  if (std::fabs(boot_cur - boot_prev) > kBootTimeToleranceS) restarts += 1;  // false for NaN
  for (const PromSample* c : cur.Series("process_start_time_seconds")) {
    const PromSample* p = prev.Match(*c);
    if (p != nullptr && c->value != p->value && std::isfinite(c->value) && std::isfinite(p->value))
      restarts += 1;
  }
  return restarts;
}

}  // namespace

const std::vector<std::string>& HostFeatureNames() {
  static const std::vector<std::string> kNames = {
      "cpu_steal_ratio",          "cpu_iowait_ratio",   "load1_per_core",  "memory_pressure",
      "memory_psi_waiting_ratio", "disk_io_busy_ratio", "disk_io_wait_s",  "open_fds",
      "open_fds_ratio",           "tcp_retrans_ratio",  "net_drops_per_s", "restarts"};
  return kNames;
}

void DeriveHostFeatures(const HostSnapshot* prev, const HostSnapshot& cur,
                        std::vector<double>* out) {
  out->assign(static_cast<size_t>(HostFeature::kCount), kNaN);
  const auto set = [&](HostFeature f, double v) { (*out)[static_cast<size_t>(f)] = v; };
  const ScrapeIndex now(cur);

  // Gauges: from the current scrape alone.
  std::set<std::string_view> cpus;
  for (const PromSample* s : now.Series("node_cpu_seconds_total")) {
    const std::string_view cpu = s->Label("cpu");
    if (!cpu.empty()) cpus.insert(cpu);
  }
  if (!cpus.empty())
    set(HostFeature::kLoad1PerCore, now.Gauge("node_load1") / static_cast<double>(cpus.size()));
  set(HostFeature::kMemoryPressure, 1.0 - Ratio(now.Gauge("node_memory_MemAvailable_bytes"),
                                                now.Gauge("node_memory_MemTotal_bytes")));
  const double fds = now.Gauge("node_filefd_allocated");
  set(HostFeature::kOpenFds, fds);
  set(HostFeature::kOpenFdsRatio, Ratio(fds, now.Gauge("node_filefd_maximum")));

  if (prev == nullptr) return;
  const ScrapeIndex before(*prev);
  const double dt_s = static_cast<double>(cur.ts_ns - prev->ts_ns) / 1e9;
  set(HostFeature::kRestarts, CountRestarts(before, now));
  if (!(dt_s > 0)) return;

  // CPU: time in one mode over time in all modes, summed over cpus.
  const Increase all = CounterIncrease(before, now, "node_cpu_seconds_total");
  for (const auto& [feature, mode] : {std::pair{HostFeature::kCpuStealRatio, "steal"},
                                      std::pair{HostFeature::kCpuIowaitRatio, "iowait"}}) {
    const std::string_view wanted = mode;
    const Increase in_mode =
        CounterIncrease(before, now, "node_cpu_seconds_total",
                        [wanted](const PromSample& s) { return s.Label("mode") == wanted; });
    if (all.any && !all.reset && in_mode.any) set(feature, Ratio(in_mode.sum, all.sum));
  }

  const Increase psi = CounterIncrease(before, now, "node_pressure_memory_waiting_seconds_total");
  set(HostFeature::kMemoryPsiWaitingRatio, Rate(psi, dt_s, psi.sum));
  const Increase busy = CounterIncrease(before, now, "node_disk_io_time_seconds_total");
  set(HostFeature::kDiskIoBusyRatio, Rate(busy, dt_s, busy.max));
  const Increase weighted =
      CounterIncrease(before, now, "node_disk_io_time_weighted_seconds_total");
  set(HostFeature::kDiskIoWaitS, Rate(weighted, dt_s, weighted.max));

  const Increase retrans = CounterIncrease(before, now, "node_netstat_Tcp_RetransSegs");
  const Increase out_segs = CounterIncrease(before, now, "node_netstat_Tcp_OutSegs");
  if (retrans.any && !retrans.reset && out_segs.any && !out_segs.reset)
    set(HostFeature::kTcpRetransRatio, Ratio(retrans.sum, out_segs.sum));

  const auto not_loopback = [](const PromSample& s) { return s.Label("device") != "lo"; };
  const Increase rx = CounterIncrease(before, now, "node_network_receive_drop_total", not_loopback);
  const Increase tx =
      CounterIncrease(before, now, "node_network_transmit_drop_total", not_loopback);
  if (rx.any || tx.any) {
    Increase both;
    both.any = true;
    both.reset = rx.reset || tx.reset;
    set(HostFeature::kNetDropsPerS, Rate(both, dt_s, rx.sum + tx.sum));
  }
}

}  // namespace dnsight
