#include "act/alert_sinks.h"

#include <errno.h>
#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

void SetTimeouts(httplib::ClientImpl& cli, const HttpSinkOptions& o) {
  const auto split = [](int64_t ns, time_t* sec, time_t* usec) {
    *sec = static_cast<time_t>(ns / 1'000'000'000);
    *usec = static_cast<time_t>((ns % 1'000'000'000) / 1000);
  };
  time_t sec = 0, usec = 0;
  split(o.connect_timeout_ns, &sec, &usec);
  cli.set_connection_timeout(sec, usec);
  split(o.read_timeout_ns, &sec, &usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
}

std::string Authority(const HttpEndpoint& ep) {
  const bool v6 = ep.host.find(':') != std::string::npos;
  return std::string(ep.tls ? "https://" : "http://") + (v6 ? "[" + ep.host + "]" : ep.host) + ":" +
         std::to_string(ep.port);
}

// One POST of a JSON body. Transient failures (no connection, timeouts, 5xx, 408, 429)
// are kUnavailable so the dispatcher retries them; other statuses are permanent.
Status PostJson(const HttpEndpoint& ep, const HttpSinkOptions& o, const std::string& path,
                const httplib::Headers& headers, const std::string& body) {
  std::unique_ptr<httplib::ClientImpl> cli;
  if (ep.tls) {
    auto ssl = std::make_unique<httplib::SSLClient>(ep.host, ep.port);
    if (!o.ca_file.empty()) ssl->set_ca_cert_path(o.ca_file);
    ssl->enable_server_certificate_verification(true);
    cli = std::move(ssl);
  } else {
    cli = std::make_unique<httplib::ClientImpl>(ep.host, ep.port);
  }
  SetTimeouts(*cli, o);
  const std::string target = Authority(ep) + path;
  const httplib::Result r = cli->Post(path, headers, body, "application/json");
  if (!r) return Status::Unavailable("POST " + target + ": " + httplib::to_string(r.error()));
  const int code = r->status;
  if (code >= 200 && code < 300) return Status::Ok();
  std::string msg = "POST " + target + ": HTTP " + std::to_string(code);
  if (!r->body.empty()) msg += ": " + r->body.substr(0, 200);
  if (code >= 500 || code == 408 || code == 429) return Status::Unavailable(std::move(msg));
  return Status::InvalidArgument(std::move(msg));
}

std::string FormatScore(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// "key":"value", with a leading comma unless first; skipped when value is empty.
void Pair(const char* key, const std::string& value, bool* first, std::string* out) {
  if (value.empty()) return;
  if (!*first) out->push_back(',');
  *first = false;
  AppendJsonString(key, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

}  // namespace

std::optional<HttpEndpoint> ParseHttpEndpoint(std::string_view url) {
  HttpEndpoint ep;
  const auto starts = [&](std::string_view p) {
    if (url.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(url[i])) != p[i]) return false;
    return true;
  };
  if (starts("https://")) {
    ep.tls = true;
    url.remove_prefix(8);
  } else if (starts("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  if (const size_t hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);
  const size_t end = url.find_first_of("/?");
  std::string_view authority = url.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
  // Credentials in a URL end up in logs; tokens go in token_env instead.
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    ep.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    const size_t colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return std::nullopt;
    }
  }
  if (ep.host.empty()) return std::nullopt;
  ep.port = ep.tls ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    ep.port = std::stoi(std::string(port_text));
    if (ep.port < 1 || ep.port > 65535) return std::nullopt;
  }
  ep.path = std::string(rest);
  if (!ep.path.empty() && ep.path.front() == '?') ep.path.insert(0, "/");
  return ep;
}

// --- AlertmanagerSink

AlertmanagerSink::AlertmanagerSink(AlertmanagerSinkOptions options, const Clock& clock)
    : options_(std::move(options)),
      endpoint_(ParseHttpEndpoint(options_.http.url).value_or(HttpEndpoint{})),
      clock_(clock) {
  // A base URL: its path is a prefix (Alertmanager behind a reverse proxy).
  while (!endpoint_.path.empty() && endpoint_.path.back() == '/') endpoint_.path.pop_back();
}

std::string AlertmanagerSink::Describe() const {
  return "alertmanager " + Authority(endpoint_) + endpoint_.path;
}

bool AlertmanagerSink::Accepts(const Alert& alert) const {
  return alert.notify && alert.state != AlertState::kSuppressed;
}

std::string AlertmanagerSink::Body(const Alert& a, int64_t now_ns) const {
  int64_t ends_ns;
  if (a.state == AlertState::kResolved) {
    // Event time may run ahead of Alertmanager's clock; a resolved alert must not end in
    // its future, or it would stay firing until then.
    ends_ns = a.ends_ns != 0 ? std::min(a.ends_ns, now_ns) : now_ns;
  } else {
    ends_ns = now_ns + options_.resolve_timeout_ns;
  }
  ends_ns = std::max(ends_ns, a.starts_ns);  // Alertmanager rejects endsAt before startsAt

  std::string out = "[{\"labels\":{";
  bool first = true;
  Pair("alertname", "dnsight_" + a.klass, &first, &out);
  Pair("class", a.klass, &first, &out);
  Pair("severity", a.severity, &first, &out);
  Pair("team", a.team, &first, &out);
  Pair("view", a.view, &first, &out);
  Pair("entity", a.entity, &first, &out);
  Pair("failure_domain", a.failure_domain, &first, &out);
  out += "},\"annotations\":{";
  first = true;
  std::string ids;
  for (const auto& id : a.decision_ids) ids += (ids.empty() ? "" : ",") + id;
  Pair("summary", a.summary, &first, &out);
  Pair("reason", a.reason, &first, &out);
  Pair("score", FormatScore(a.score), &first, &out);
  Pair("decision_ids", ids, &first, &out);
  Pair("alert_id", a.id, &first, &out);
  out += "},\"startsAt\":";
  AppendJsonString(FormatRfc3339(a.starts_ns), &out);
  out += ",\"endsAt\":";
  AppendJsonString(FormatRfc3339(ends_ns), &out);
  if (!options_.dashboard_url.empty()) {
    std::string base = options_.dashboard_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    out += ",\"generatorURL\":";
    AppendJsonString(base + "/ui/#alert=" + a.id, &out);
  }
  out += "}]";
  return out;
}

Status AlertmanagerSink::Deliver(const Alert& alert) {
  if (endpoint_.host.empty()) return Status::InvalidArgument("alertmanager: bad url");
  return PostJson(endpoint_, options_.http, endpoint_.path + "/api/v2/alerts", {},
                  Body(alert, clock_.NowNs()));
}

// --- WebhookSink

WebhookSink::WebhookSink(WebhookSinkOptions options)
    : options_(std::move(options)),
      endpoint_(ParseHttpEndpoint(options_.http.url).value_or(HttpEndpoint{})) {
  if (endpoint_.path.empty()) endpoint_.path = "/";
}

std::string WebhookSink::Describe() const {
  // The path is left out: webhook URLs often carry their secret there.
  return "webhook " + Authority(endpoint_);
}

bool WebhookSink::Accepts(const Alert& alert) const {
  if (alert.change == AlertChange::kRefresh) return false;
  if (alert.state == AlertState::kSuppressed)
    return options_.send_suppressed && alert.change == AlertChange::kSuppressed;
  return alert.notify;
}

std::string WebhookSink::Body(const Alert& alert) {
  std::string out = "{\"event\":";
  AppendJsonString(AlertStateName(alert.state), &out);
  out.push_back(',');
  std::string json;
  AppendAlertJson(alert, &json);
  out.append(json, 1);  // without its '{'
  return out;
}

Status WebhookSink::Deliver(const Alert& alert) {
  if (endpoint_.host.empty()) return Status::InvalidArgument("webhook: bad url");
  httplib::Headers headers;
  if (!options_.bearer_token.empty())
    headers.emplace("Authorization", "Bearer " + options_.bearer_token);
  return PostJson(endpoint_, options_.http, endpoint_.path, headers, Body(alert));
}

// --- JsonLinesAlertSink

Result<std::unique_ptr<JsonLinesAlertSink>> JsonLinesAlertSink::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot open alert log " + path + ": " + std::strerror(errno));
  return std::unique_ptr<JsonLinesAlertSink>(new JsonLinesAlertSink(path, fd));
}

JsonLinesAlertSink::~JsonLinesAlertSink() {
  ::close(fd_);
}

Status JsonLinesAlertSink::Deliver(const Alert& alert) {
  line_.clear();
  AppendAlertJson(alert, &line_);
  line_.push_back('\n');
  size_t done = 0;
  while (done < line_.size()) {
    const ssize_t n = ::write(fd_, line_.data() + done, line_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("write " + path_ + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// --- AlertDispatcher

AlertDispatcher::AlertDispatcher(std::vector<std::unique_ptr<AlertSink>> sinks,
                                 AlertDispatcherOptions options)
    : options_(options) {
  std::map<std::string, int, std::less<>> per_kind;
  for (auto& s : sinks) {
    auto slot = std::make_unique<Slot>();
    const std::string kind(s->Kind());
    const int n = ++per_kind[kind];
    slot->label = n == 1 ? kind : kind + "_" + std::to_string(n);
    slot->sink = std::move(s);
    slots_.push_back(std::move(slot));
  }
  worker_ = std::thread([this] { Run(); });
}

AlertDispatcher::~AlertDispatcher() {
  Stop(std::chrono::nanoseconds(0));
}

void AlertDispatcher::Enqueue(Alert alert) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      dropped_stopped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (queue_.size() >= std::max<size_t>(options_.queue_capacity, 1)) {
      queue_.pop_front();
      dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    }
    queue_.push_back(std::move(alert));
    enqueued_.fetch_add(1, std::memory_order_relaxed);
  }
  work_cv_.notify_one();
}

bool AlertDispatcher::WaitIdle(std::chrono::nanoseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

void AlertDispatcher::Stop(std::chrono::nanoseconds drain) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = std::chrono::steady_clock::now() + drain;
    }
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void AlertDispatcher::Run() {
  for (;;) {
    Alert alert;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) break;  // stopping, and everything was delivered
      if (stopping_ && std::chrono::steady_clock::now() >= drain_deadline_) {
        dropped_stopped_.fetch_add(queue_.size(), std::memory_order_relaxed);
        queue_.clear();
        break;
      }
      alert = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    for (auto& slot : slots_)
      if (slot->sink->Accepts(alert)) DeliverOne(*slot, alert);
    {
      std::lock_guard lock(mu_);
      busy_ = false;
    }
    idle_cv_.notify_all();
  }
  {
    std::lock_guard lock(mu_);
    busy_ = false;
  }
  idle_cv_.notify_all();
}

void AlertDispatcher::DeliverOne(Slot& slot, const Alert& alert) {
  auto backoff = std::chrono::nanoseconds(options_.retry_backoff_ns);
  for (int attempt = 1;; ++attempt) {
    const Status st = slot.sink->Deliver(alert);
    if (st.ok()) {
      slot.delivered.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    {
      std::lock_guard lock(slot.error_mu);
      slot.last_error = st.ToString();
    }
    const bool transient =
        st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kIoError;
    if (!transient || attempt >= options_.max_attempts || !Backoff(backoff)) {
      slot.failed.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    slot.retried.fetch_add(1, std::memory_order_relaxed);
    backoff = std::min(backoff * 2, std::chrono::nanoseconds(options_.max_backoff_ns));
  }
}

bool AlertDispatcher::Backoff(std::chrono::nanoseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  std::unique_lock lock(mu_);
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (stopping_ && now >= drain_deadline_) return false;
    if (now >= until) return true;
    // Woken by Enqueue too; Stop wakes it so a shorter drain deadline takes effect.
    work_cv_.wait_until(lock, stopping_ ? std::min(until, drain_deadline_) : until);
  }
}

std::vector<AlertSinkStats> AlertDispatcher::SinkStats() const {
  std::vector<AlertSinkStats> out;
  for (const auto& slot : slots_) {
    AlertSinkStats s;
    s.sink = slot->label;
    s.describe = slot->sink->Describe();
    s.delivered = slot->delivered.load(std::memory_order_relaxed);
    s.failed = slot->failed.load(std::memory_order_relaxed);
    s.retried = slot->retried.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(slot->error_mu);
      s.last_error = slot->last_error;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace dnsight
