#include "hosting/hosting_runner.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>

#include "ingest/line_follower.h"
#include "ingest/prom_text.h"
#include "ingest/web_log.h"

namespace dnsight {
namespace {

constexpr size_t kDeadLetterSampleBytes = 512;

uint32_t ViewIndex(const EngineConfig& cfg, const char* name) {
  for (size_t i = 0; i < cfg.views.size(); ++i)
    if (cfg.views[i].name == name && !cfg.views[i].builtin.empty()) return static_cast<uint32_t>(i);
  return UINT32_MAX;
}

// "http://host:port/path" → ("http://host:port", "/path").
void SplitUrl(const std::string& url, std::string* base, std::string* path) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  *base = slash == std::string::npos ? url : url.substr(0, slash);
  *path = slash == std::string::npos ? "/metrics" : url.substr(slash);
}

}  // namespace

struct HostingRunner::LogSource {
  WebLogConfig cfg;
  std::unique_ptr<LineFollower> follower;
  HostingSourceCounters counters;
};

HostingRunner::HostingRunner(const EngineConfig& cfg, RowSink& sink, const Clock& clock)
    : cfg_(cfg), sink_(sink), clock_(clock) {
  service_view_ = ViewIndex(cfg, "web_service");
  node_view_ = ViewIndex(cfg, "web_node");
  host_view_ = ViewIndex(cfg, "host");
  // Without its views (a config built by hand), an input has nowhere to write: it is off.
  const bool web_views = service_view_ != UINT32_MAX && node_view_ != UINT32_MAX;
  if (!cfg.web.logs.empty() && !web_views)
    std::fprintf(stderr, "dnsight: web logs ignored: the web_service/web_node views are missing\n");
  if (!cfg.web.logs.empty() && web_views)
    web_ = std::make_unique<WebFeatureEngine>(cfg.web.features, service_view_, node_view_);
  for (const auto& l : cfg.web.logs) {
    if (!web_) break;
    followed_logs_ = followed_logs_ || l.follow;
    auto src = std::make_unique<LogSource>();
    src->cfg = l;
    src->counters.name = "web:" + l.path;
    LineFollowerOptions o;
    o.path = l.path;
    o.follow = l.follow;
    o.max_line_bytes = 64 * 1024;
    src->follower = std::make_unique<LineFollower>(o);
    logs_.push_back(std::move(src));
  }
  for (const auto& t : cfg.hosts.targets) {
    HostingSourceCounters c;
    c.name = "scrape:" + t.node;
    scrape_counters_.push_back(std::move(c));
    previous_.emplace_back();
  }
}

HostingRunner::~HostingRunner() {
  Finish();
}

bool HostingRunner::live() const {
  if (!cfg_.hosts.targets.empty()) return true;
  return std::any_of(cfg_.web.logs.begin(), cfg_.web.logs.end(),
                     [](const WebLogConfig& l) { return l.follow; });
}

void HostingRunner::Start() {
  for (auto& src : logs_) {
    if (!src->cfg.follow) ++files_running_;
    log_threads_.emplace_back([this, s = src.get()] { RunLog(*s); });
  }
  if (web_) {
    ticker_ = std::thread([this] {
      while (!SleepUnlessStopped(std::chrono::milliseconds(250))) {
        std::vector<FeatureRow> rows;
        {
          std::lock_guard lock(web_mu_);
          if (followed_logs_) {
            web_->IdleAdvance(clock_.NowNs(), &rows);
          } else {
            web_->Advance(&rows);
          }
        }
        Flush(rows);
      }
    });
  }
  if (!cfg_.hosts.targets.empty()) scraper_ = std::thread([this] { ScrapeLoop(); });
}

void HostingRunner::RunLog(LogSource& src) {
  // The sink is called outside web_mu_: the decision join reads the web engine (under
  // web_mu_) from inside the sink chain.
  const auto dead_letter = [&](std::string_view reason, std::string_view sample) {
    const size_t len = std::min(sample.size(), kDeadLetterSampleBytes);
    sink_.WriteDeadLetter(src.counters.name, reason,
                          {reinterpret_cast<const uint8_t*>(sample.data()), len});
  };
  const auto on_line = [&](std::string_view line) {
    std::string reason;
    {
      std::lock_guard lock(web_mu_);
      ++src.counters.lines;
      Status s;
      int64_t ts = 0;
      // A time far ahead of the wall clock would drag the watermark with it and make
      // every real request late: refused and counted.
      const int64_t latest = clock_.NowNs() + kMaxFutureNs;
      if (src.cfg.error_log) {
        WebErrorEvent e;
        s = ParseNginxErrorLine(line, src.cfg.utc_offset_s, &e);
        if (s.ok() && e.ts_ns > latest) s = Status::InvalidArgument("future_time");
        if (s.ok()) {
          ts = e.ts_ns;
          web_->AddError(e, src.cfg.service, src.cfg.node);
        }
      } else {
        WebRequest r;
        s = ParseAccessLine(line, src.cfg.format, &r);
        if (s.ok() && r.ts_ns > latest) s = Status::InvalidArgument("future_time");
        if (s.ok()) {
          ts = r.ts_ns;
          web_->Add(r, src.cfg.service, src.cfg.node);
        }
      }
      if (s.ok()) {
        ++src.counters.parsed;
        src.counters.newest_event_ns = std::max(src.counters.newest_event_ns, ts);
        return;
      }
      const uint64_t n = ++src.counters.malformed[s.message()];
      if (n > 10 && n % 1000 != 0) return;  // sample: the first few per reason, then 1 in 1000
      reason = s.message();
    }
    dead_letter(reason, line);
  };
  const auto on_malformed = [&](std::string_view reason, std::string_view sample) {
    {
      std::lock_guard lock(web_mu_);
      ++src.counters.malformed[std::string(reason)];
    }
    dead_letter(reason, sample);
  };
  const Status s = src.follower->Run(on_line, on_malformed);
  if (!s.ok()) {
    std::lock_guard lock(web_mu_);
    ++src.counters.malformed["io_error"];
    std::fprintf(stderr, "dnsight: %s: %s\n", src.counters.name.c_str(), s.ToString().c_str());
  }
  if (!src.cfg.follow) --files_running_;
}

void HostingRunner::ScrapeLoop() {
  const auto interval = std::chrono::nanoseconds(cfg_.hosts.interval_ns);
  auto next = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    for (size_t i = 0; i < cfg_.hosts.targets.size() && !stop_.load(); ++i) ScrapeOnce(i);
    next += interval;
    const auto now = std::chrono::steady_clock::now();
    if (now < next && SleepUnlessStopped(next - now)) break;
  }
}

void HostingRunner::ScrapeOnce(size_t target) {
  const HostTargetConfig& t = cfg_.hosts.targets[target];
  std::string base, path;
  SplitUrl(t.url, &base, &path);
  httplib::Client client(base);
  const auto timeout = std::chrono::nanoseconds(cfg_.hosts.timeout_ns);
  client.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  client.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  std::string body;
  bool too_big = false;
  // A target that trickles its body must not hold the scraper (or shutdown) for long.
  const auto deadline = std::chrono::steady_clock::now() + 2 * timeout;
  bool too_slow = false;
  const auto res = client.Get(path, [&](const char* data, size_t len) {
    if (body.size() + len > cfg_.hosts.max_body_bytes) {
      too_big = true;
      return false;
    }
    if (stop_.load() || std::chrono::steady_clock::now() > deadline) {
      too_slow = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  const int64_t now = clock_.NowNs();
  auto fail = [&](const std::string& reason) {
    std::lock_guard lock(host_mu_);
    ++scrape_counters_[target].lines;
    ++scrape_counters_[target].malformed[reason];
  };
  if (too_big) return fail("body_too_large");
  if (too_slow) return fail(stop_.load() ? "stopped" : "too_slow");
  if (!res) return fail("unreachable");
  if (res->status != 200) return fail("http_" + std::to_string(res->status));
  auto snap = std::make_unique<HostSnapshot>();
  snap->ts_ns = now;
  PromParseStats stats;
  if (Status s = ParsePromText(body, &snap->samples, &stats); !s.ok())
    return fail("bad_exposition");
  std::vector<double> values;
  DeriveHostFeatures(previous_[target].get(), *snap, &values);
  previous_[target] = std::move(snap);
  {
    std::lock_guard lock(host_mu_);
    HostingSourceCounters& c = scrape_counters_[target];
    ++c.lines;
    ++c.parsed;
    c.samples += stats.samples;
    if (stats.malformed_lines > 0) c.malformed["malformed_line"] += stats.malformed_lines;
    c.newest_event_ns = now;
    NodeHostFeatures& h = hosts_[t.node];
    h.node = t.node;
    h.ts_ns = now;
    h.values = values;
  }
  if (host_view_ == UINT32_MAX) return;
  std::vector<FeatureRow> rows(1);
  rows[0].view = host_view_;
  rows[0].window_end_ns = now;
  rows[0].entity_key = t.node;
  rows[0].values = std::move(values);
  Flush(rows);
}

void HostingRunner::Flush(std::vector<FeatureRow>& rows) {
  if (rows.empty()) return;
  std::lock_guard lock(sink_mu_);
  sink_.WriteRows(cfg_.views, rows);
}

void HostingRunner::WaitForFiles() {
  while (files_running_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void HostingRunner::RequestStop() {
  for (auto& src : logs_) src->follower->RequestStop();
}

bool HostingRunner::SleepUnlessStopped(std::chrono::nanoseconds d) {
  std::unique_lock lock(wake_mu_);
  return wake_cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

void HostingRunner::Finish() {
  {
    std::lock_guard lock(wake_mu_);
    if (stop_.exchange(true)) return;
  }
  wake_cv_.notify_all();
  for (auto& src : logs_) src->follower->RequestStop();
  for (auto& t : log_threads_) t.join();
  if (ticker_.joinable()) ticker_.join();
  if (scraper_.joinable()) scraper_.join();
  if (web_) {
    std::vector<FeatureRow> rows;
    {
      std::lock_guard lock(web_mu_);
      web_->Finish(&rows);
    }
    Flush(rows);
  }
}

std::vector<HostingSourceCounters> HostingRunner::counters() const {
  std::vector<HostingSourceCounters> out;
  {
    std::lock_guard lock(web_mu_);
    for (const auto& src : logs_) out.push_back(src->counters);
  }
  std::lock_guard lock(host_mu_);
  for (const auto& c : scrape_counters_) out.push_back(c);
  return out;
}

WebFeatureCounters HostingRunner::web_counters() const {
  std::lock_guard lock(web_mu_);
  return web_ ? web_->counters() : WebFeatureCounters{};
}

std::map<std::string, uint64_t, std::less<>> HostingRunner::web_requests_by_service() const {
  std::lock_guard lock(web_mu_);
  return web_ ? web_->requests_by_service() : std::map<std::string, uint64_t, std::less<>>{};
}

std::vector<NodeHostFeatures> HostingRunner::HostContext(const std::string& service) const {
  std::vector<std::string> nodes;
  {
    std::lock_guard lock(web_mu_);
    if (web_) nodes = web_->NodesFor(service);
  }
  std::vector<NodeHostFeatures> out;
  std::lock_guard lock(host_mu_);
  for (const auto& n : nodes) {
    const auto it = hosts_.find(n);
    if (it != hosts_.end()) {
      out.push_back(it->second);
    } else {
      out.push_back(NodeHostFeatures{n, 0, {}});
    }
  }
  return out;
}

std::vector<NodeHostFeatures> HostingRunner::AllHosts() const {
  std::lock_guard lock(host_mu_);
  std::vector<NodeHostFeatures> out;
  for (const auto& [node, h] : hosts_) out.push_back(h);
  return out;
}

}  // namespace dnsight
