// Alert sinks against a real local HTTP server (cpp-httplib on 127.0.0.1, port 0), the
// JSON lines sink on a temporary file, and the dispatcher's retries and queue bound.
#include "act/alert_sinks.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/time_util.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using namespace std::chrono_literals;

int64_t At(const char* rfc3339) {
  return *ParseRfc3339(rfc3339);
}

// A port nothing listens on: bound, read back, closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Received {
  std::string path;
  std::string query_x;
  std::string authorization;
  std::string content_type;
  std::string body;
};

// An HTTP receiver on 127.0.0.1, any free port, answering every POST with `status`.
class LocalReceiver {
 public:
  explicit LocalReceiver(httplib::Server* server = nullptr)
      : server_(server != nullptr ? server : &own_) {
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      requests_.push_back({req.path, req.get_param_value("x"),
                           req.get_header_value("Authorization"),
                           req.get_header_value("Content-Type"), req.body});
      res.status = status_;
      res.set_content(status_ < 300 ? "" : "receiver says no", "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) std::this_thread::sleep_for(1ms);
  }
  ~LocalReceiver() {
    server_->stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string base(bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  void set_status(int s) {
    std::lock_guard lock(mu_);
    status_ = s;
  }
  std::vector<Received> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  httplib::Server own_;
  httplib::Server* server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int status_ = 200;
  std::vector<Received> requests_;
};

Alert SampleAlert() {
  Alert a;
  a.id = "al-0123456789abcdef";
  a.group_key = "latency_rise|resolver|10.0.0.1";
  a.klass = "latency_rise";
  a.view = "resolver";
  a.entity = "10.0.0.1";
  a.scope_kind = "resolver";
  a.team = "dns";
  a.severity = "page";
  a.original_severity = "page";
  a.failure_domain = "infrastructure";
  a.summary = "latency_rise on 10.0.0.1 (resolver): latency_ms_p95_5m=189 (baseline 40)";
  a.reason = "after deploy d-1";
  a.score = 9.5;
  a.starts_ns = At("2026-11-23T10:00:00Z");
  a.last_seen_ns = At("2026-11-23T10:01:00Z");
  a.decisions = 2;
  a.decision_ids = {"dec-1", "dec-2"};
  a.notifications = 1;
  a.change = AlertChange::kOpened;
  a.notify = true;
  return a;
}

TEST(AlertSinksTest, ParsesHttpEndpoints) {
  auto e = ParseHttpEndpoint("http://127.0.0.1:9093");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 9093);
  EXPECT_EQ(e->path, "");
  e = ParseHttpEndpoint("HTTPS://hooks.example.net/a/b?x=1#frag");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->path, "/a/b?x=1");
  e = ParseHttpEndpoint("http://[::1]:8080?q");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->path, "/?q");
  for (const char* bad : {"", "ftp://x", "http://", "http://:80", "http://h:0", "http://h:70000",
                          "http://h:", "http://u:p@h/", "http://[::1", "http://h:8a"})
    EXPECT_FALSE(ParseHttpEndpoint(bad)) << bad;
}

TEST(AlertSinksTest, WebhookPostsTheAlertJsonWithItsEvent) {
  LocalReceiver rx;
  WebhookSinkOptions o;
  o.http.url = rx.base() + "/hooks/s3cret?x=1";
  o.bearer_token = "tok-123";
  WebhookSink sink(o);
  EXPECT_EQ(sink.Describe(), "webhook " + rx.base());  // no path: it may hold a secret
  ASSERT_TRUE(sink.Deliver(SampleAlert()).ok());
  auto got = rx.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/hooks/s3cret");
  EXPECT_EQ(got[0].query_x, "1");
  EXPECT_EQ(got[0].authorization, "Bearer tok-123");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(
      got[0].body,
      R"({"event":"firing","id":"al-0123456789abcdef",)"
      R"("group_key":"latency_rise|resolver|10.0.0.1","class":"latency_rise",)"
      R"("view":"resolver","entity":"10.0.0.1","scope_kind":"resolver","team":"dns",)"
      R"("severity":"page","original_severity":"page","failure_domain":"infrastructure",)"
      R"j("summary":"latency_rise on 10.0.0.1 (resolver): latency_ms_p95_5m=189 (baseline 40)",)j"
      R"("state":"firing","downgraded":false,"reason":"after deploy d-1","score":9.5,)"
      R"("starts_at":"2026-11-23T10:00:00Z","last_seen":"2026-11-23T10:01:00Z",)"
      R"("ends_at":null,"decisions":2,"decision_ids":["dec-1","dec-2"],)"
      R"("notifications":1,"change":"opened","notify":true})");

  Alert resolved = SampleAlert();
  resolved.state = AlertState::kResolved;
  resolved.ends_ns = At("2026-11-23T10:03:00Z");
  resolved.change = AlertChange::kResolved;
  o.bearer_token.clear();
  WebhookSink anonymous(o);
  ASSERT_TRUE(anonymous.Deliver(resolved).ok());
  got = rx.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].authorization, "");
  EXPECT_EQ(got[1].body.rfind(R"({"event":"resolved","id":)", 0), 0u) << got[1].body;
  EXPECT_NE(got[1].body.find(R"("ends_at":"2026-11-23T10:03:00Z")"), std::string::npos);
}

TEST(AlertSinksTest, WebhookTakesSuppressedOnlyWhenAskedTo) {
  Alert s = SampleAlert();
  s.state = AlertState::kSuppressed;
  s.change = AlertChange::kSuppressed;
  s.notify = false;
  WebhookSinkOptions o;
  o.http.url = "http://127.0.0.1:1/";
  EXPECT_FALSE(WebhookSink(o).Accepts(s));
  o.send_suppressed = true;
  EXPECT_TRUE(WebhookSink(o).Accepts(s));
  EXPECT_EQ(WebhookSink::Body(s).rfind(R"({"event":"suppressed",)", 0), 0u);
  ManualClock clock;
  EXPECT_FALSE(AlertmanagerSink(AlertmanagerSinkOptions{}, clock).Accepts(s));
  Alert info = SampleAlert();
  info.notify = false;  // below min_notify_severity
  EXPECT_FALSE(WebhookSink(o).Accepts(info));
  EXPECT_FALSE(AlertmanagerSink(AlertmanagerSinkOptions{}, clock).Accepts(info));
}

TEST(AlertSinksTest, AlertmanagerPostsApiV2Alerts) {
  LocalReceiver rx;
  ManualClock clock(At("2026-11-23T10:02:00Z"));
  AlertmanagerSinkOptions o;
  o.http.url = rx.base() + "/prefix/";
  o.dashboard_url = "https://dnsight.example.net/";
  AlertmanagerSink sink(o, clock);
  ASSERT_TRUE(sink.Deliver(SampleAlert()).ok());
  auto got = rx.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/prefix/api/v2/alerts");
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(
      got[0].body,
      R"([{"labels":{"alertname":"dnsight_latency_rise","class":"latency_rise",)"
      R"("severity":"page","team":"dns","view":"resolver","entity":"10.0.0.1",)"
      R"("failure_domain":"infrastructure"},"annotations":{)"
      R"j("summary":"latency_rise on 10.0.0.1 (resolver): latency_ms_p95_5m=189 (baseline 40)",)j"
      R"("reason":"after deploy d-1","score":"9.5","decision_ids":"dec-1,dec-2",)"
      R"("alert_id":"al-0123456789abcdef"},"startsAt":"2026-11-23T10:00:00Z",)"
      R"("endsAt":"2026-11-23T10:07:00Z",)"
      R"("generatorURL":"https://dnsight.example.net/ui/#alert=al-0123456789abcdef"}])");

  // Resolved: endsAt is when it ended. Empty labels are left out; no dashboard, no URL.
  Alert r = SampleAlert();
  r.state = AlertState::kResolved;
  r.ends_ns = At("2026-11-23T10:03:00Z");
  r.team.clear();
  r.reason.clear();
  clock.Set(At("2026-11-23T10:04:00Z"));
  o.dashboard_url.clear();
  AlertmanagerSink plain(o, clock);
  ASSERT_TRUE(plain.Deliver(r).ok());
  got = rx.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(
      got[1].body,
      R"([{"labels":{"alertname":"dnsight_latency_rise","class":"latency_rise",)"
      R"("severity":"page","view":"resolver","entity":"10.0.0.1",)"
      R"("failure_domain":"infrastructure"},"annotations":{)"
      R"j("summary":"latency_rise on 10.0.0.1 (resolver): latency_ms_p95_5m=189 (baseline 40)",)j"
      R"("score":"9.5","decision_ids":"dec-1,dec-2",)"
      R"("alert_id":"al-0123456789abcdef"},"startsAt":"2026-11-23T10:00:00Z",)"
      R"("endsAt":"2026-11-23T10:03:00Z"}])");
  // An end in Alertmanager's future is clamped to now, so it does resolve.
  r.ends_ns = At("2026-11-23T11:00:00Z");
  EXPECT_NE(plain.Body(r, At("2026-11-23T10:04:00Z")).find(R"("endsAt":"2026-11-23T10:04:00Z")"),
            std::string::npos);
}

TEST(AlertSinksTest, AlertmanagerOverHttpsVerifiesTheServer) {
  test_support::TempDir dir;
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
      " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system("command -v openssl >/dev/null 2>&1") != 0 || std::system(cmd.c_str()) != 0)
    GTEST_SKIP() << "openssl CLI not available";
  httplib::SSLServer tls(cert.c_str(), key.c_str());
  ASSERT_TRUE(tls.is_valid());
  LocalReceiver rx(&tls);
  ManualClock clock(At("2026-11-23T10:02:00Z"));
  AlertmanagerSinkOptions o;
  o.http.url = rx.base(true);
  o.http.ca_file = cert;
  EXPECT_TRUE(AlertmanagerSink(o, clock).Deliver(SampleAlert()).ok());
  ASSERT_EQ(rx.requests().size(), 1u);
  EXPECT_EQ(rx.requests()[0].path, "/api/v2/alerts");
  // Without the CA the self-signed certificate is refused.
  o.http.ca_file.clear();
  const Status st = AlertmanagerSink(o, clock).Deliver(SampleAlert());
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(rx.requests().size(), 1u);
}

TEST(AlertSinksTest, FailingEndpointsGiveNonOkStatus) {
  LocalReceiver rx;
  WebhookSinkOptions o;
  o.http.url = rx.base() + "/hook";
  rx.set_status(500);
  Status st = WebhookSink(o).Deliver(SampleAlert());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("HTTP 500: receiver says no"), std::string::npos) << st.ToString();
  rx.set_status(429);
  EXPECT_EQ(WebhookSink(o).Deliver(SampleAlert()).code(), StatusCode::kUnavailable);
  rx.set_status(400);
  EXPECT_EQ(WebhookSink(o).Deliver(SampleAlert()).code(), StatusCode::kInvalidArgument);
  rx.set_status(204);
  EXPECT_TRUE(WebhookSink(o).Deliver(SampleAlert()).ok());

  ManualClock clock;
  AlertmanagerSinkOptions am;
  am.http.url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  am.http.connect_timeout_ns = 500'000'000;
  st = AlertmanagerSink(am, clock).Deliver(SampleAlert());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("POST http://127.0.0.1:"), std::string::npos) << st.ToString();
}

TEST(AlertSinksTest, JsonLinesAppendsOneLinePerChange) {
  test_support::TempDir dir;
  const std::string path = dir / "alerts.jsonl";
  {
    std::ofstream pre(path);
    pre << "{\"earlier\":true}\n";
  }
  auto sink = JsonLinesAlertSink::Open(path);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Alert a = SampleAlert();
  ASSERT_TRUE((*sink)->Deliver(a).ok());
  a.state = AlertState::kSuppressed;
  a.change = AlertChange::kSuppressed;
  a.notify = false;
  EXPECT_TRUE((*sink)->Accepts(a));
  ASSERT_TRUE((*sink)->Deliver(a).ok());
  a.change = AlertChange::kRefresh;
  EXPECT_FALSE((*sink)->Accepts(a));

  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  std::string expected;
  AppendAlertJson(SampleAlert(), &expected);
  EXPECT_EQ(lines[1], expected);
  EXPECT_NE(lines[2].find(R"("state":"suppressed")"), std::string::npos);
  EXPECT_NE(lines[2].find(R"("change":"suppressed","notify":false})"), std::string::npos);

  auto bad = JsonLinesAlertSink::Open(dir / "missing/alerts.jsonl");
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
}

TEST(AlertDispatcherTest, RetriesTransientFailuresThenCountsFailed) {
  LocalReceiver rx;
  rx.set_status(500);
  WebhookSinkOptions o;
  o.http.url = rx.base() + "/hook";
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<WebhookSink>(o));
  o.http.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/hook";
  sinks.push_back(std::make_unique<WebhookSink>(o));
  AlertDispatcherOptions d;
  d.max_attempts = 3;
  d.retry_backoff_ns = 1'000'000;
  AlertDispatcher dispatcher(std::move(sinks), d);
  dispatcher.Enqueue(SampleAlert());
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  EXPECT_EQ(rx.requests().size(), 3u);
  auto stats = dispatcher.SinkStats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].sink, "webhook");
  EXPECT_EQ(stats[1].sink, "webhook_2");
  for (const auto& s : stats) {
    EXPECT_EQ(s.delivered, 0u) << s.sink;
    EXPECT_EQ(s.retried, 2u) << s.sink;
    EXPECT_EQ(s.failed, 1u) << s.sink;
    EXPECT_FALSE(s.last_error.empty());
  }

  // Permanent errors are not retried; a recovered receiver counts delivered.
  rx.set_status(404);
  Alert a = SampleAlert();
  dispatcher.Enqueue(a);
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  EXPECT_EQ(rx.requests().size(), 4u);
  rx.set_status(200);
  dispatcher.Enqueue(a);
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  stats = dispatcher.SinkStats();
  EXPECT_EQ(stats[0].failed, 2u);
  EXPECT_EQ(stats[0].retried, 2u);
  EXPECT_EQ(stats[0].delivered, 1u);
  // Changes a sink does not take are not counted against it.
  a.notify = false;
  dispatcher.Enqueue(a);
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  EXPECT_EQ(dispatcher.SinkStats()[0].delivered, 1u);
  EXPECT_EQ(dispatcher.enqueued(), 4u);
  dispatcher.Stop(1s);
}

// Blocks in Deliver until released, so the queue can fill behind it.
class GateSink : public AlertSink {
 public:
  Status Deliver(const Alert& a) override {
    std::unique_lock lock(mu_);
    seen_.push_back(a.id);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return Status::Ok();
  }
  std::string Describe() const override { return "gate"; }
  std::string_view Kind() const override { return "gate"; }
  bool Accepts(const Alert&) const override { return true; }

  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
  std::vector<std::string> seen_;
};

TEST(AlertDispatcherTest, FullQueueDropsTheOldest) {
  auto gate = std::make_unique<GateSink>();
  GateSink* g = gate.get();
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::move(gate));
  AlertDispatcherOptions d;
  d.queue_capacity = 2;
  AlertDispatcher dispatcher(std::move(sinks), d);
  const auto with_id = [](const std::string& id) {
    Alert a = SampleAlert();
    a.id = id;
    return a;
  };
  dispatcher.Enqueue(with_id("a1"));
  g->WaitEntered();  // a1 is being delivered; the queue is empty
  const auto start = std::chrono::steady_clock::now();
  for (const char* id : {"a2", "a3", "a4"}) dispatcher.Enqueue(with_id(id));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);  // never blocks
  EXPECT_EQ(dispatcher.dropped_queue_full(), 1u);
  g->Open();
  ASSERT_TRUE(dispatcher.WaitIdle(10s));
  EXPECT_EQ(g->seen(), (std::vector<std::string>{"a1", "a3", "a4"}));
  EXPECT_EQ(dispatcher.SinkStats()[0].delivered, 3u);
}

TEST(AlertDispatcherTest, StopDrainsWithinItsDeadline) {
  test_support::TempDir dir;
  auto sink = JsonLinesAlertSink::Open(dir / "a.jsonl");
  ASSERT_TRUE(sink.ok());
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::move(sink).value());
  AlertDispatcher dispatcher(std::move(sinks));
  for (int i = 0; i < 50; ++i) dispatcher.Enqueue(SampleAlert());
  dispatcher.Stop(10s);
  EXPECT_EQ(dispatcher.SinkStats()[0].delivered, 50u);
  EXPECT_EQ(dispatcher.dropped_stopped(), 0u);
  dispatcher.Enqueue(SampleAlert());  // after Stop: counted, not queued
  EXPECT_EQ(dispatcher.dropped_stopped(), 1u);
  dispatcher.Stop();  // again: nothing

  // A dead receiver with a zero drain: queued changes are counted, not waited for.
  auto gate = std::make_unique<GateSink>();
  GateSink* g = gate.get();
  std::vector<std::unique_ptr<AlertSink>> gated;
  gated.push_back(std::move(gate));
  AlertDispatcher stuck(std::move(gated));
  for (int i = 0; i < 5; ++i) stuck.Enqueue(SampleAlert());
  g->WaitEntered();
  std::thread opener([g] {
    std::this_thread::sleep_for(50ms);
    g->Open();
  });
  stuck.Stop(0s);
  opener.join();
  EXPECT_EQ(stuck.SinkStats()[0].delivered, 1u);
  EXPECT_EQ(stuck.dropped_stopped(), 4u);
}

}  // namespace
}  // namespace dnsight
