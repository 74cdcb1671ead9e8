// WebFeatureEngine: windowed per-service and per-node features from web access logs.
//
// Two built-in feature views (MakeWebViews) share one computation:
//   web_service  entity = the vhost (or the source's configured service name)
//   web_node     entity = the edge node (from the line, else the source's node name)
// For every window w (default 1m and 5m) each row holds, suffixed "_<w>":
//   requests, requests_per_s                 volume
//   status_4xx_ratio, status_5xx_ratio       errors
//   latency_ms_p50/p95/p99                   $request_time, as the client saw it (edge)
//   origin_latency_ms_p95                    $upstream_response_time (origin)
//   edge_latency_ms_p95                      request_time - upstream time: the edge's own
//   origin_latency_share                     sum upstream time / sum request time
//   upstream_timeout_ratio                   upstream 504s / requests that went upstream
//   cache_hit_ratio                          hits / (hits + misses); NaN without a cache
//   request_size_mean, request_size_p99      $request_length (anomalous request sizes)
//   response_size_mean                       body bytes sent
//   tls_failure_ratio                        handshake failures / (requests + failures),
//                                            from error logs or a field of the line
// Ratios over nothing are NaN. Latency quantiles come from DDSketch (1 % accuracy).
//
// Event time, as in the DNS engine: requests fall into panes (default 10 s); the
// watermark is the newest event time minus watermark_delay; when it passes a pane's end,
// every entity with data inside the longest window emits one row per view, windows
// merged from their panes. Windows up to 1m slide with every pane; longer ones hop once
// per minute (computed when a pane ends on a minute boundary, as the DNS engine's
// coarse windows do), which keeps a row's cost to about one 1m window of merges. A request for a
// pane already closed is late: it is counted (late_dropped) and not folded in. Entities with no
// pane inside the longest window are evicted. At most max_entities per view; requests for new ones
// beyond that are counted.
//
// The engine also remembers which nodes served each service recently (NodesFor), which
// the decision join uses to attach host features to a service's decisions.
//
// Thread-safety: none; one thread owns an engine (the hosting runner serializes sources).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "features/feature_view.h"
#include "ingest/web_log.h"

namespace dnsight {

struct FeatureRow;  // engine/view_shard.h

struct WebFeatureOptions {
  int64_t pane_ns = 10'000'000'000;
  std::vector<int64_t> windows_ns = {60'000'000'000, 300'000'000'000};
  int64_t watermark_delay_ns = 5'000'000'000;
  size_t max_entities = 100'000;  // per view; ~40 KB of sketches per busy entity
};

// The two views, in order web_service, web_node. Names and versions are stable for the
// same options.
std::vector<FeatureView> MakeWebViews(const WebFeatureOptions& options);
// Feature base names, without the window suffix, in row order within one window.
const std::vector<std::string>& WebFeatureBaseNames();

struct WebFeatureCounters {
  uint64_t requests = 0;
  uint64_t tls_errors = 0;  // handshake failures from error logs
  uint64_t late_dropped = 0;
  uint64_t entities_refused = 0;  // over max_entities
  uint64_t evictions = 0;
  uint64_t rows = 0;
};

class WebFeatureEngine {
 public:
  // service_view and node_view: the indices of MakeWebViews' views in the config's view
  // list (rows carry them).
  WebFeatureEngine(WebFeatureOptions options, uint32_t service_view, uint32_t node_view);
  ~WebFeatureEngine();
  WebFeatureEngine(const WebFeatureEngine&) = delete;
  WebFeatureEngine& operator=(const WebFeatureEngine&) = delete;

  // `service` and `node` are the names to use when the line has none (source config).
  void Add(const WebRequest& r, std::string_view service, std::string_view node);
  void AddError(const WebErrorEvent& e, std::string_view service, std::string_view node);
  // Closes every pane the watermark has passed; appends their rows, sorted by (view,
  // entity) within a pane.
  void Advance(std::vector<FeatureRow>* rows);
  // Processing-time advance for quiet input: moves the watermark to now - delay when no
  // request arrived since the last call with an older now (live tails go quiet).
  void IdleAdvance(int64_t now_ns, std::vector<FeatureRow>* rows);
  // End of input: closes every pane.
  void Finish(std::vector<FeatureRow>* rows);

  // Requests per service since start, for /metrics: at most kMaxCountedServices names,
  // the rest under "(other)".
  static constexpr size_t kMaxCountedServices = 1000;
  const std::map<std::string, uint64_t, std::less<>>& requests_by_service() const {
    return requests_by_service_;
  }
  // Nodes that served `service` within the longest window before the watermark.
  std::vector<std::string> NodesFor(std::string_view service) const;
  const WebFeatureCounters& counters() const { return counters_; }
  int64_t watermark_ns() const { return watermark_; }

 private:
  struct Pane;
  struct Entity;
  Entity* Find(int view, std::string_view key);
  // False when the entity was refused (max_entities).
  bool Fold(int view, std::string_view key, int64_t ts, const WebRequest* r, bool tls_error);
  void ClosePane(int64_t end_ns, std::vector<FeatureRow>* rows);
  void FillRow(Entity& e, int64_t end_ns, std::vector<double>* values);

  static constexpr int64_t kFineWindowLimitNs = 60'000'000'000;  // longer windows hop
  static constexpr int64_t kCoarseHopNs = 60'000'000'000;        // ... once per minute

  WebFeatureOptions options_;
  uint32_t view_index_[2];
  int64_t longest_ = 0;
  std::vector<std::pair<int64_t, size_t>> windows_by_length_;  // (window, its slot), shortest first
  int64_t max_ts_ = INT64_MIN;
  int64_t watermark_ = INT64_MIN;
  int64_t closed_through_ = INT64_MIN;  // every pane ending at or before this is closed
  int64_t last_idle_now_ = INT64_MIN;
  uint64_t adds_since_idle_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Entity>> entities_[2];
  std::unordered_map<std::string, std::map<std::string, int64_t, std::less<>>> nodes_by_service_;
  std::map<std::string, uint64_t, std::less<>> requests_by_service_;
  WebFeatureCounters counters_;
};

}  // namespace dnsight
