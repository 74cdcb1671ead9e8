#include "hosting/web_features.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/time_util.h"
#include "engine/view_shard.h"
#include "features/ddsketch.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t FloorTo(int64_t t, int64_t step) {
  const int64_t q = t / step;
  return (t % step != 0 && t < 0 ? q - 1 : q) * step;
}

double Ratio(double num, double den) {
  return den > 0 ? num / den : kNaN;
}

}  // namespace

struct WebFeatureEngine::Pane {
  uint64_t requests = 0, s4xx = 0, s5xx = 0, upstream = 0, upstream_timeouts = 0;
  uint64_t cache_hits = 0, cache_misses = 0, tls_failures = 0;
  uint64_t sized = 0;
  double request_time_sum = 0, upstream_time_sum = 0, request_size_sum = 0;
  double response_size_sum = 0;
  uint64_t response_sized = 0;
  DDSketch latency, origin, edge, request_size;

  void Merge(const Pane& o) {
    requests += o.requests;
    s4xx += o.s4xx;
    s5xx += o.s5xx;
    upstream += o.upstream;
    upstream_timeouts += o.upstream_timeouts;
    cache_hits += o.cache_hits;
    cache_misses += o.cache_misses;
    tls_failures += o.tls_failures;
    sized += o.sized;
    request_time_sum += o.request_time_sum;
    upstream_time_sum += o.upstream_time_sum;
    request_size_sum += o.request_size_sum;
    response_size_sum += o.response_size_sum;
    response_sized += o.response_sized;
    latency.Merge(o.latency);
    origin.Merge(o.origin);
    edge.Merge(o.edge);
    request_size.Merge(o.request_size);
  }

  // Appends the features of WebFeatureBaseNames() for a window of `seconds`.
  void Finalize(double seconds, std::vector<double>* out) const {
    const double n = static_cast<double>(requests);
    out->push_back(n);
    out->push_back(n / seconds);
    out->push_back(Ratio(static_cast<double>(s4xx), n));
    out->push_back(Ratio(static_cast<double>(s5xx), n));
    out->push_back(latency.Quantile(0.5));
    out->push_back(latency.Quantile(0.95));
    out->push_back(latency.Quantile(0.99));
    out->push_back(origin.Quantile(0.95));
    out->push_back(edge.Quantile(0.95));
    out->push_back(Ratio(upstream_time_sum, request_time_sum));
    out->push_back(Ratio(static_cast<double>(upstream_timeouts), static_cast<double>(upstream)));
    out->push_back(
        Ratio(static_cast<double>(cache_hits), static_cast<double>(cache_hits + cache_misses)));
    out->push_back(Ratio(request_size_sum, static_cast<double>(sized)));
    out->push_back(request_size.Quantile(0.99));
    out->push_back(Ratio(response_size_sum, static_cast<double>(response_sized)));
    out->push_back(Ratio(static_cast<double>(tls_failures), n + static_cast<double>(tls_failures)));
  }
};

struct WebFeatureEngine::Entity {
  std::map<int64_t, Pane> panes;     // by pane start
  std::vector<double> coarse_cache;  // values of the windows that hop once per minute
};

const std::vector<std::string>& WebFeatureBaseNames() {
  static const std::vector<std::string> names = {"requests",
                                                 "requests_per_s",
                                                 "status_4xx_ratio",
                                                 "status_5xx_ratio",
                                                 "latency_ms_p50",
                                                 "latency_ms_p95",
                                                 "latency_ms_p99",
                                                 "origin_latency_ms_p95",
                                                 "edge_latency_ms_p95",
                                                 "origin_latency_share",
                                                 "upstream_timeout_ratio",
                                                 "cache_hit_ratio",
                                                 "request_size_mean",
                                                 "request_size_p99",
                                                 "response_size_mean",
                                                 "tls_failure_ratio"};
  return names;
}

std::vector<FeatureView> MakeWebViews(const WebFeatureOptions& options) {
  std::vector<FeatureView> views(2);
  views[0].name = "web_service";
  views[0].entity = EntityKind::kService;
  views[0].description = "per service (vhost): rates, errors, latency, cache, TLS";
  views[1].name = "web_node";
  views[1].entity = EntityKind::kNode;
  views[1].description = "per edge node: rates, errors, latency, cache, TLS";
  for (FeatureView& v : views) {
    v.builtin = "web";
    v.owner = "dnsight";
    v.windows_ns = options.windows_ns;
    for (int64_t w : options.windows_ns)
      for (const auto& base : WebFeatureBaseNames())
        v.feature_names.push_back(base + "_" + FormatDuration(w));
    v.Finalize();
  }
  return views;
}

WebFeatureEngine::WebFeatureEngine(WebFeatureOptions options, uint32_t service_view,
                                   uint32_t node_view)
    : options_(std::move(options)), view_index_{service_view, node_view} {
  if (options_.pane_ns <= 0) options_.pane_ns = 10'000'000'000;
  for (int64_t w : options_.windows_ns) longest_ = std::max(longest_, w);
  for (size_t i = 0; i < options_.windows_ns.size(); ++i)
    windows_by_length_.emplace_back(options_.windows_ns[i], i);
  std::sort(windows_by_length_.begin(), windows_by_length_.end());
}

WebFeatureEngine::~WebFeatureEngine() = default;

WebFeatureEngine::Entity* WebFeatureEngine::Find(int view, std::string_view key) {
  auto& map = entities_[view];
  const auto it = map.find(std::string(key));
  if (it != map.end()) return it->second.get();
  if (map.size() >= options_.max_entities) {
    ++counters_.entities_refused;
    return nullptr;
  }
  return map.emplace(std::string(key), std::make_unique<Entity>()).first->second.get();
}

bool WebFeatureEngine::Fold(int view, std::string_view key, int64_t ts, const WebRequest* r,
                            bool tls_error) {
  Entity* e = Find(view, key);
  if (e == nullptr) return false;
  Pane& p = e->panes[FloorTo(ts, options_.pane_ns)];
  if (tls_error) {
    ++p.tls_failures;
    return true;
  }
  ++p.requests;
  if (r->status >= 400 && r->status < 500) ++p.s4xx;
  if (r->status >= 500) ++p.s5xx;
  if (r->tls_handshake_failed) ++p.tls_failures;
  const bool went_upstream = std::isfinite(r->upstream_time_s) || r->upstream_status != 0;
  if (went_upstream) ++p.upstream;
  if (r->upstream_timeout) ++p.upstream_timeouts;
  if (r->cache == CacheStatus::kHit) ++p.cache_hits;
  if (r->cache == CacheStatus::kMiss) ++p.cache_misses;
  if (std::isfinite(r->request_time_s) && r->request_time_s >= 0) {
    p.latency.Add(r->request_time_s * 1000);
    p.request_time_sum += r->request_time_s;
    if (std::isfinite(r->upstream_time_s) && r->upstream_time_s >= 0) {
      p.upstream_time_sum += r->upstream_time_s;
      p.edge.Add(std::max(0.0, r->request_time_s - r->upstream_time_s) * 1000);
    }
  }
  if (std::isfinite(r->upstream_time_s) && r->upstream_time_s >= 0)
    p.origin.Add(r->upstream_time_s * 1000);
  if (r->request_length >= 0) {
    ++p.sized;
    p.request_size_sum += static_cast<double>(r->request_length);
    p.request_size.Add(static_cast<double>(r->request_length));
  }
  if (r->bytes_sent >= 0) {
    ++p.response_sized;
    p.response_size_sum += static_cast<double>(r->bytes_sent);
  }
  return true;
}

void WebFeatureEngine::Add(const WebRequest& r, std::string_view service, std::string_view node) {
  ++counters_.requests;
  ++adds_since_idle_;
  const int64_t pane_end = FloorTo(r.ts_ns, options_.pane_ns) + options_.pane_ns;
  if (pane_end <= closed_through_) {
    ++counters_.late_dropped;
    return;
  }
  max_ts_ = std::max(max_ts_, r.ts_ns);
  const std::string_view svc = r.vhost.empty() ? service : std::string_view(r.vhost);
  const std::string_view nd = r.node.empty() ? node : std::string_view(r.node);
  if (!svc.empty()) {
    auto it = requests_by_service_.find(svc);
    if (it == requests_by_service_.end())
      it = requests_by_service_
               .emplace(
                   requests_by_service_.size() < kMaxCountedServices ? std::string(svc) : "(other)",
                   0)
               .first;
    ++it->second;
  }
  const bool svc_admitted = !svc.empty() && Fold(0, svc, r.ts_ns, &r, false);
  if (!nd.empty()) Fold(1, nd, r.ts_ns, &r, false);
  // Links only for admitted services: the Host header is the client's to choose.
  if (svc_admitted && !nd.empty()) {
    auto& nodes = nodes_by_service_[std::string(svc)];
    auto it = nodes.find(nd);
    if (it == nodes.end()) {
      if (nodes.size() < 256) nodes.emplace(std::string(nd), r.ts_ns);
    } else {
      it->second = std::max(it->second, r.ts_ns);
    }
  }
}

void WebFeatureEngine::AddError(const WebErrorEvent& e, std::string_view service,
                                std::string_view node) {
  if (!e.tls_handshake_failure) return;
  ++counters_.tls_errors;
  const int64_t pane_end = FloorTo(e.ts_ns, options_.pane_ns) + options_.pane_ns;
  if (pane_end <= closed_through_) {
    ++counters_.late_dropped;
    return;
  }
  max_ts_ = std::max(max_ts_, e.ts_ns);
  const std::string_view svc = e.vhost.empty() ? service : std::string_view(e.vhost);
  const std::string_view nd = e.node.empty() ? node : std::string_view(e.node);
  if (!svc.empty()) Fold(0, svc, e.ts_ns, nullptr, true);
  if (!nd.empty()) Fold(1, nd, e.ts_ns, nullptr, true);
}

void WebFeatureEngine::FillRow(Entity& e, int64_t end_ns, std::vector<double>* values) {
  const size_t width = WebFeatureBaseNames().size();
  values->assign(options_.windows_ns.size() * width, kNaN);
  // Windows nest (they all end at end_ns): one pass from the newest pane backwards serves
  // them all, each finalized when the pass reaches its start. Windows longer than
  // kFineWindowLimitNs hop once per minute: they are computed on a minute boundary (or
  // for an entity's first row) and their values reused until the next one.
  const bool coarse_due = end_ns % kCoarseHopNs == 0 || e.coarse_cache.empty();
  if (e.coarse_cache.empty()) e.coarse_cache.assign(values->size(), kNaN);
  Pane merged;
  auto pane = e.panes.lower_bound(end_ns);
  std::vector<double> finalized;
  for (const auto& [w, slot] : windows_by_length_) {
    const bool coarse = w > kFineWindowLimitNs;
    const auto first = static_cast<ptrdiff_t>(slot * width);
    if (coarse && !coarse_due) {
      std::copy_n(e.coarse_cache.begin() + first, width, values->begin() + first);
      continue;
    }
    while (pane != e.panes.begin() && std::prev(pane)->first >= end_ns - w) {
      --pane;
      merged.Merge(pane->second);
    }
    finalized.clear();
    merged.Finalize(static_cast<double>(w) / 1e9, &finalized);
    std::copy(finalized.begin(), finalized.end(), values->begin() + first);
    if (coarse) std::copy(finalized.begin(), finalized.end(), e.coarse_cache.begin() + first);
  }
}

void WebFeatureEngine::ClosePane(int64_t end_ns, std::vector<FeatureRow>* rows) {
  const size_t first = rows->size();
  for (int v = 0; v < 2; ++v) {
    auto& map = entities_[v];
    for (auto it = map.begin(); it != map.end();) {
      auto& panes = it->second->panes;
      // Drop panes no window ending at end_ns reaches.
      while (!panes.empty() && panes.begin()->first < end_ns - longest_) panes.erase(panes.begin());
      if (panes.empty()) {
        ++counters_.evictions;
        it = map.erase(it);
        continue;
      }
      if (panes.begin()->first >= end_ns) {  // all its data lies in later panes: no row yet
        ++it;
        continue;
      }
      FeatureRow row;
      row.view = view_index_[v];
      row.window_end_ns = end_ns;
      row.entity_key = it->first;
      FillRow(*it->second, end_ns, &row.values);
      rows->push_back(std::move(row));
      ++it;
    }
  }
  std::sort(rows->begin() + static_cast<ptrdiff_t>(first), rows->end(),
            [](const FeatureRow& a, const FeatureRow& b) {
              return a.view != b.view ? a.view < b.view : a.entity_key < b.entity_key;
            });
  counters_.rows += rows->size() - first;
  // Forget service-to-node links older than the longest window.
  for (auto s = nodes_by_service_.begin(); s != nodes_by_service_.end();) {
    std::erase_if(s->second, [&](const auto& kv) { return kv.second < end_ns - longest_; });
    s = s->second.empty() ? nodes_by_service_.erase(s) : std::next(s);
  }
}

void WebFeatureEngine::Advance(std::vector<FeatureRow>* rows) {
  if (max_ts_ == INT64_MIN) return;
  watermark_ = std::max(watermark_, max_ts_ - options_.watermark_delay_ns);
  const int64_t through = FloorTo(watermark_, options_.pane_ns);
  if (closed_through_ == INT64_MIN) {
    // The first pane to close is the oldest one holding data.
    int64_t oldest = INT64_MAX;
    for (const auto& map : entities_)
      for (const auto& [key, e] : map)
        if (!e->panes.empty()) oldest = std::min(oldest, e->panes.begin()->first);
    // Nothing closes before the watermark passes that pane's end; until then an older
    // request is not late.
    if (oldest == INT64_MAX || oldest >= through) return;
    closed_through_ = oldest;
  }
  while (closed_through_ < through) {
    const int64_t end = closed_through_ + options_.pane_ns;
    bool any = false;
    for (const auto& map : entities_) any = any || !map.empty();
    if (!any) {
      closed_through_ = through;  // nothing open: skip the quiet stretch at once
      break;
    }
    ClosePane(end, rows);
    closed_through_ = end;
  }
}

void WebFeatureEngine::IdleAdvance(int64_t now_ns, std::vector<FeatureRow>* rows) {
  if (adds_since_idle_ == 0 && last_idle_now_ != INT64_MIN && max_ts_ != INT64_MIN)
    max_ts_ = std::max(max_ts_, now_ns);  // Advance subtracts the delay
  adds_since_idle_ = 0;
  last_idle_now_ = now_ns;
  Advance(rows);
}

void WebFeatureEngine::Finish(std::vector<FeatureRow>* rows) {
  if (max_ts_ == INT64_MIN) return;
  max_ts_ += options_.watermark_delay_ns + options_.pane_ns;
  Advance(rows);
}

std::vector<std::string> WebFeatureEngine::NodesFor(std::string_view service) const {
  std::vector<std::string> out;
  const auto it = nodes_by_service_.find(std::string(service));
  if (it == nodes_by_service_.end()) return out;
  for (const auto& [node, ts] : it->second) out.push_back(node);
  return out;
}

}  // namespace dnsight
