// HostingRunner: runs the hosting telemetry inputs of a config and feeds their rows into
// the same sink chain as the DNS engine (stores, detectors, output).
//
//   web.logs      one LineFollower thread per file: access lines (combined / JSON) and
//                 nginx error lines are parsed and folded into a WebFeatureEngine;
//                 malformed lines are counted by reason and sampled to the dead letter
//   hosts.targets one scraper thread: every interval, GET each target's /metrics, parse
//                 the exposition, derive host features against the previous scrape, and
//                 write one "host" row per node
//   a ticker      every 250 ms closes the web panes the watermark passed (and, when a
//                 log is followed, advances a quiet watermark by processing time)
// Lines stamped more than a day ahead of the wall clock are refused ("future_time").
//
// The runner remembers the newest host features per node and which nodes served each
// service (HostContext), for the decision join.
//
// Thread-safety: Start/Finish from one thread. The sink must be safe to call from the
// runner's threads alongside the DNS engine's writer (wrap it in a LockedRowSink).
// Ownership: cfg, sink and clock are borrowed and must outlive the runner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/status.h"
#include "engine/config.h"
#include "engine/pipeline.h"
#include "hosting/host_metrics.h"
#include "hosting/web_features.h"

namespace dnsight {

struct HostingSourceCounters {
  std::string name;      // "web:<path>" or "scrape:<node>"
  uint64_t lines = 0;    // web: lines read; scrape: scrapes attempted
  uint64_t parsed = 0;   // web: requests/errors parsed; scrape: scrapes that succeeded
  uint64_t samples = 0;  // scrape: samples parsed
  std::map<std::string, uint64_t, std::less<>> malformed;  // by reason
  int64_t newest_event_ns = 0;  // for lag: the newest event (scrape) time seen
};

// The newest host features of one node.
struct NodeHostFeatures {
  std::string node;
  int64_t ts_ns = 0;
  std::vector<double> values;  // parallel to HostFeatureNames()
};

class HostingRunner {
 public:
  // REQUIRES: cfg.views holds the built-in views its web/hosts sections made.
  HostingRunner(const EngineConfig& cfg, RowSink& sink, const Clock& clock);
  ~HostingRunner();
  HostingRunner(const HostingRunner&) = delete;
  HostingRunner& operator=(const HostingRunner&) = delete;

  bool enabled() const { return !logs_.empty() || !cfg_.hosts.targets.empty(); }
  // True when it reads something that never ends by itself (followed logs, scrapes).
  bool live() const;
  void Start();
  // Waits for unfollowed logs to reach their end (returns at once if there are none).
  void WaitForFiles();
  // Makes every log reader return soon (a signal); WaitForFiles then returns. Thread-safe.
  void RequestStop();
  // Stops followers and the scraper, closes every web pane and writes the last rows.
  void Finish();

  std::vector<HostingSourceCounters> counters() const;
  WebFeatureCounters web_counters() const;
  std::map<std::string, uint64_t, std::less<>> web_requests_by_service() const;
  // Nodes that served `service` recently, with their newest host features (nodes never
  // scraped are listed with no values).
  std::vector<NodeHostFeatures> HostContext(const std::string& service) const;
  std::vector<NodeHostFeatures> AllHosts() const;

 private:
  struct LogSource;
  void RunLog(LogSource& src);
  void ScrapeLoop();
  void ScrapeOnce(size_t target);
  void Flush(std::vector<FeatureRow>& rows);

  const EngineConfig& cfg_;
  RowSink& sink_;
  const Clock& clock_;
  uint32_t service_view_ = 0, node_view_ = 0, host_view_ = 0;

  mutable std::mutex web_mu_;  // guards web_ and the log counters
  std::unique_ptr<WebFeatureEngine> web_;
  std::vector<std::unique_ptr<LogSource>> logs_;
  std::vector<std::thread> log_threads_;
  std::atomic<int> files_running_{0};  // unfollowed logs still reading
  bool followed_logs_ = false;         // some log is followed: quiet time advances the watermark
  // Access or error lines stamped further ahead of the wall clock are refused.
  static constexpr int64_t kMaxFutureNs = 86'400'000'000'000;

  mutable std::mutex host_mu_;  // guards hosts_ and the scrape counters
  std::map<std::string, NodeHostFeatures> hosts_;
  std::vector<HostingSourceCounters> scrape_counters_;
  std::vector<std::unique_ptr<HostSnapshot>> previous_;  // per target; null before the first

  std::atomic<bool> stop_{false};
  // Wakes the ticker and the scraper when stop_ is set, so stopping never waits out a sleep.
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  // Waits up to `d` or until stop_ is set; true when stopping.
  bool SleepUnlessStopped(std::chrono::nanoseconds d);
  std::mutex sink_mu_;  // one writer into the sink from this runner at a time
  std::thread ticker_, scraper_;
};

}  // namespace dnsight
