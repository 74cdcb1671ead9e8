// Alert sinks and the dispatcher that feeds them.
//
// AlertLifecycle hands each state change of an alert (a copy of the Alert with `change`
// and `notify` set) to an AlertDispatcher. The dispatcher queues it and, on its own
// worker thread, delivers it to every sink that Accepts() it, retrying transient
// failures. The sinks:
//
//   AlertmanagerSink    POST /api/v2/alerts (Prometheus Alertmanager), http or https
//   WebhookSink         POST the alert's JSON with an "event" field, optional bearer token
//   JsonLinesAlertSink  one JSON line per state change, appended to a file
//
// Which changes reach which sink: notifying sinks (Alertmanager, webhook) take changes
// with notify=true, i.e. firing and resolved alerts at or above min_notify_severity;
// suppressed alerts are never sent to them as firing. The JSON lines sink is the record:
// it takes every change, suppressed and info ones included, except keep-alive refreshes,
// which only Alertmanager takes (it expires a firing alert at its endsAt unless re-sent).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "act/alert.h"
#include "dnsight/clock.h"
#include "dnsight/status.h"

namespace dnsight {

// Where an alert is delivered.
//
// Thread-safety: the dispatcher calls Deliver from its one worker thread; Describe, Kind
// and Accepts may be called from any thread and must not touch mutable state.
class AlertSink {
 public:
  virtual ~AlertSink() = default;

  // OK when the receiver took the alert. kUnavailable (connection failure, timeout, HTTP
  // 5xx, 408, 429) and kIoError are transient and retried by the dispatcher; any other
  // code (e.g. kInvalidArgument for HTTP 4xx) is permanent and not retried.
  virtual Status Deliver(const Alert& alert) = 0;
  // For logs: the kind and where it sends, without paths or secrets that could carry
  // credentials (a webhook URL's path often does).
  virtual std::string Describe() const = 0;
  // "alertmanager", "webhook", "jsonl", ...: the sink label of the metrics.
  virtual std::string_view Kind() const = 0;
  // Whether this change is for this sink. Default: notifications only (notify=true and
  // not a keep-alive refresh).
  virtual bool Accepts(const Alert& alert) const {
    return alert.notify && alert.change != AlertChange::kRefresh;
  }
};

// An http(s) URL split for cpp-httplib.
struct HttpEndpoint {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  int port = 0;      // 80 / 443 when the URL has none
  std::string path;  // path and query as written ("" when the URL has none); no fragment
};

// "http://host[:port][/path]" or "https://...". nullopt for anything else.
std::optional<HttpEndpoint> ParseHttpEndpoint(std::string_view url);

// Options shared by the HTTP sinks.
struct HttpSinkOptions {
  std::string url;
  // Each attempt waits at most this long to connect and, separately, for the response.
  // A dead receiver holds the dispatcher's worker for connect_timeout per attempt.
  int64_t connect_timeout_ns = 2'000'000'000;
  int64_t read_timeout_ns = 2'000'000'000;
  // PEM file of CAs for https (default: the system store). Certificates are verified.
  std::string ca_file;
};

struct AlertmanagerSinkOptions {
  HttpSinkOptions http;  // base URL, e.g. http://127.0.0.1:9093; /api/v2/alerts is appended
  // A firing alert is posted with endsAt = wall now + resolve_timeout, so Alertmanager
  // keeps it firing while we keep re-sending it (AlertOptions::refresh_interval, which
  // must be shorter) and lets it lapse if we stop (e.g. the process died).
  int64_t resolve_timeout_ns = 300'000'000'000;
  // Dashboard base URL; generatorURL = dashboard_url + "/ui/#alert=<id>". "" = none.
  std::string dashboard_url;
};

// Prometheus Alertmanager API v2. Labels: alertname ("dnsight_<class>"), class, severity,
// team, view, entity, failure_domain (labels with empty values are left out: the same
// meaning for Alertmanager). Annotations: summary, reason, score, decision_ids (comma
// separated), alert_id. Takes notifications, refreshes, and nothing suppressed.
//
// Thread-safety: Deliver from one thread at a time. `clock` must outlive the sink.
class AlertmanagerSink : public AlertSink {
 public:
  // REQUIRES: options.http.url passes ParseHttpEndpoint (checked at config load).
  AlertmanagerSink(AlertmanagerSinkOptions options, const Clock& clock);

  Status Deliver(const Alert& alert) override;
  std::string Describe() const override;
  std::string_view Kind() const override { return "alertmanager"; }
  bool Accepts(const Alert& alert) const override;

  // The request body for `alert` at wall time now_ns: a JSON array of one alert.
  std::string Body(const Alert& alert, int64_t now_ns) const;

 private:
  AlertmanagerSinkOptions options_;
  HttpEndpoint endpoint_;
  const Clock& clock_;
};

struct WebhookSinkOptions {
  HttpSinkOptions http;      // the full URL posted to
  std::string bearer_token;  // "" = no Authorization header
  // Also post changes into the suppressed state (event "suppressed"). Off by default:
  // a receiver that pages on any event would page during maintenance.
  bool send_suppressed = false;
};

// POSTs AppendAlertJson with a leading "event":"firing|resolved|suppressed" (the alert's
// state) as application/json. Any 2xx is success.
//
// Thread-safety: Deliver from one thread at a time.
class WebhookSink : public AlertSink {
 public:
  // REQUIRES: options.http.url passes ParseHttpEndpoint (checked at config load).
  explicit WebhookSink(WebhookSinkOptions options);

  Status Deliver(const Alert& alert) override;
  std::string Describe() const override;
  std::string_view Kind() const override { return "webhook"; }
  bool Accepts(const Alert& alert) const override;

  static std::string Body(const Alert& alert);

 private:
  WebhookSinkOptions options_;
  HttpEndpoint endpoint_;
};

// Appends AppendAlertJson + '\n' per change to a file opened with O_APPEND, one write(2)
// per line, so lines from a crash are whole or absent and other appenders interleave by
// line. Takes every change except refreshes. Not fsynced: a power loss may lose the tail.
//
// Thread-safety: Deliver from one thread at a time. Owns the descriptor.
class JsonLinesAlertSink : public AlertSink {
 public:
  static Result<std::unique_ptr<JsonLinesAlertSink>> Open(const std::string& path);
  ~JsonLinesAlertSink() override;
  JsonLinesAlertSink(const JsonLinesAlertSink&) = delete;
  JsonLinesAlertSink& operator=(const JsonLinesAlertSink&) = delete;

  Status Deliver(const Alert& alert) override;
  std::string Describe() const override { return "jsonl " + path_; }
  std::string_view Kind() const override { return "jsonl"; }
  bool Accepts(const Alert& alert) const override { return alert.change != AlertChange::kRefresh; }

 private:
  JsonLinesAlertSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::string line_;
};

struct AlertDispatcherOptions {
  // Changes waiting for delivery. When full, Enqueue drops the OLDEST queued change
  // (counted dropped_queue_full): a newer change of an alert supersedes an older one,
  // and an Alertmanager alert whose update was lost lapses at its endsAt on its own.
  // Cost: about 1 KB per queued change.
  size_t queue_capacity = 1024;
  // Attempts per change and sink, the first included. Transient failures only.
  int max_attempts = 4;
  // Wait before the first retry; doubles per retry up to max_backoff. With the defaults a
  // dead receiver holds the worker about 7 s per change plus its timeouts (changes for
  // the other sinks wait behind it: one worker keeps every sink's changes in order).
  int64_t retry_backoff_ns = 1'000'000'000;
  int64_t max_backoff_ns = 30'000'000'000;
};

// Delivery counters of one sink; `sink` is its Kind(), suffixed "_2", "_3", ... when
// several sinks share a kind, so it can label dnsight_alert_notifications_total{sink,result}.
struct AlertSinkStats {
  std::string sink;
  std::string describe;
  uint64_t delivered = 0;  // changes the sink took
  uint64_t failed = 0;     // changes given up on (permanent error or attempts spent)
  uint64_t retried = 0;    // retries (attempts after the first)
  std::string last_error;  // of the newest failed attempt, "" if none
};

// Owns the sinks, a bounded queue and one worker thread.
//
// Thread-safety: Enqueue, WaitIdle and the counters may be called from any thread;
// Enqueue never blocks on delivery (it takes a short lock). Stop is called by the owner;
// a second call does nothing. The destructor stops without draining (what is still
// queued is counted dropped_stopped), so call Stop(drain) for an orderly shutdown.
class AlertDispatcher {
 public:
  // Starts the worker. Sinks are delivered to in the given order.
  explicit AlertDispatcher(std::vector<std::unique_ptr<AlertSink>> sinks,
                           AlertDispatcherOptions options = {});
  ~AlertDispatcher();
  AlertDispatcher(const AlertDispatcher&) = delete;
  AlertDispatcher& operator=(const AlertDispatcher&) = delete;

  // Queues a change for every sink that accepts it. After Stop: counted dropped_stopped.
  void Enqueue(Alert alert);
  // True once the queue is empty and nothing is being delivered; false on timeout.
  bool WaitIdle(std::chrono::nanoseconds timeout);
  // Stops taking changes and delivers what is queued for at most `drain`: after that no
  // more retries start and the changes still queued are counted dropped_stopped. A
  // delivery under way finishes (bounded by the sink's timeouts). Joins the worker.
  void Stop(std::chrono::nanoseconds drain = std::chrono::seconds(5));

  std::vector<AlertSinkStats> SinkStats() const;
  uint64_t enqueued() const { return enqueued_.load(std::memory_order_relaxed); }
  uint64_t dropped_queue_full() const {
    return dropped_queue_full_.load(std::memory_order_relaxed);
  }
  uint64_t dropped_stopped() const { return dropped_stopped_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::unique_ptr<AlertSink> sink;
    std::string label;
    std::atomic<uint64_t> delivered{0}, failed{0}, retried{0};
    std::mutex error_mu;
    std::string last_error;  // guarded by error_mu
  };
  void Run();
  void DeliverOne(Slot& slot, const Alert& alert);
  // Waits `d` or until the drain deadline passes; false when the deadline passed.
  bool Backoff(std::chrono::nanoseconds d);

  const AlertDispatcherOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // queue_ non-empty or stopping_
  std::condition_variable idle_cv_;  // queue_ empty and !busy_
  std::deque<Alert> queue_;          // guarded by mu_
  bool busy_ = false;                // guarded by mu_: the worker holds a change
  bool stopping_ = false;            // guarded by mu_
  std::chrono::steady_clock::time_point drain_deadline_;  // guarded by mu_
  std::thread worker_;

  std::atomic<uint64_t> enqueued_{0};
  std::atomic<uint64_t> dropped_queue_full_{0};
  std::atomic<uint64_t> dropped_stopped_{0};
};

}  // namespace dnsight
