// End to end against a real Prometheus Alertmanager (skipped when it is not installed):
// decisions -> AlertLifecycle -> AlertDispatcher -> AlertmanagerSink -> Alertmanager ->
// its webhook receiver, which is this test's own HTTP server. Everything binds to
// 127.0.0.1 on ports the kernel picked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "act/alert_lifecycle.h"
#include "act/alert_sinks.h"
#include "dnsight/clock.h"
#include "unit/temp_dir.h"

extern char** environ;

namespace dnsight {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";
constexpr int64_t kS = 1'000'000'000;

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `done` every 100 ms for up to `timeout`.
bool WaitFor(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// Alertmanager's webhook notifications, as parsed JSON.
class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      posts_.push_back(json::parse(req.body, nullptr, false));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) std::this_thread::sleep_for(1ms);
  }
  ~WebhookReceiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  // The newest notification with this status ("firing", "resolved"), or null.
  json Find(const std::string& status) {
    std::lock_guard lock(mu_);
    for (auto it = posts_.rbegin(); it != posts_.rend(); ++it)
      if (it->is_object() && it->value("status", "") == status) return *it;
    return nullptr;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<json> posts_;
};

// The Alertmanager process; killed (and reaped) when this goes out of scope, whether the
// test passed or not.
class AlertmanagerProcess {
 public:
  AlertmanagerProcess(const std::string& config, const std::string& storage, int port,
                      const std::string& log) {
    std::vector<std::string> args = {kAlertmanager,
                                     "--config.file=" + config,
                                     "--storage.path=" + storage,
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--cluster.listen-address=",
                                     "--log.level=info"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
    if (posix_spawn(&pid_, kAlertmanager, &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~AlertmanagerProcess() {
    if (pid_ <= 0 || exited_) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(100ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  AlertmanagerProcess(const AlertmanagerProcess&) = delete;
  AlertmanagerProcess& operator=(const AlertmanagerProcess&) = delete;

  bool started() const { return pid_ > 0; }
  bool Exited() {
    if (!exited_ && ::waitpid(pid_, nullptr, WNOHANG) == pid_) exited_ = true;
    return exited_;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

// Our alert in GET /api/v2/alerts (active ones), or null.
json ListedAlert(httplib::Client& am, const std::string& alert_id) {
  auto r = am.Get("/api/v2/alerts");
  if (!r || r->status != 200) return nullptr;
  const json list = json::parse(r->body, nullptr, false);
  if (!list.is_array()) return nullptr;
  for (const auto& a : list)
    if (a["annotations"].value("alert_id", "") == alert_id) return a;
  return nullptr;
}

TEST(AlertmanagerIntegrationTest, FiresAndResolvesThroughARealAlertmanager) {
  if (::access(kAlertmanager, X_OK) != 0) GTEST_SKIP() << kAlertmanager << " not installed";
  test_support::TempDir dir;
  WebhookReceiver receiver;
  const int am_port = FreePort();
  const std::string config = dir / "alertmanager.yml";
  {
    std::ofstream out(config);
    out << "route:\n"
           "  receiver: test\n"
           "  group_by: [alertname, entity]\n"
           "  group_wait: 1s\n"
           "  group_interval: 1s\n"
           "  repeat_interval: 1h\n"
           "receivers:\n"
           "  - name: test\n"
           "    webhook_configs:\n"
           "      - url: http://127.0.0.1:"
        << receiver.port()
        << "/hook\n"
           "        send_resolved: true\n";
  }
  ::mkdir((dir / "data").c_str(), 0755);
  const std::string log = dir / "alertmanager.log";
  AlertmanagerProcess process(config, dir / "data", am_port, log);
  ASSERT_TRUE(process.started());
  httplib::Client am("127.0.0.1", am_port);
  am.set_connection_timeout(1, 0);
  am.set_read_timeout(5, 0);
  const bool ready = WaitFor(30s, [&] {
    if (process.Exited()) return true;
    auto r = am.Get("/-/ready");
    return r && r->status == 200;
  });
  ASSERT_TRUE(ready && !process.Exited()) << "alertmanager did not become ready:\n"
                                          << ReadFile(log);

  // The lifecycle runs on event time; here event time is a minute behind the wall clock,
  // as a live pipeline's watermark would be (roughly).
  SystemClock clock;
  const int64_t t0 = clock.NowNs() - 60 * kS;
  AlertmanagerSinkOptions am_options;
  am_options.http.url = "http://127.0.0.1:" + std::to_string(am_port);
  am_options.dashboard_url = "http://dnsight.test";
  std::vector<std::unique_ptr<AlertSink>> sinks;
  sinks.push_back(std::make_unique<AlertmanagerSink>(am_options, clock));
  AlertDispatcher dispatcher(std::move(sinks));
  AlertOptions options;
  options.default_team = "dns";
  AlertLifecycle life(options, &dispatcher);

  Decision d;
  d.id = "dec-it-1";
  d.ts_ns = t0;
  d.klass = "latency_rise";
  d.alert = true;
  d.severity = "page";
  d.score = 12.5;
  d.view = "resolver";
  d.entity = "10.9.8.7";
  d.scope_kind = "resolver";
  d.failure_domain = "infrastructure";
  d.top_features = {{"latency_ms_p95_5m", 250, 40, 0.9}};
  life.OnDecision(d);
  life.Advance(t0 + 30 * kS);  // group_wait: the first notification
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  ASSERT_EQ(dispatcher.SinkStats()[0].delivered, 1u) << dispatcher.SinkStats()[0].last_error;
  const std::string alert_id = life.OpenAlerts().at(0).id;

  json listed;
  ASSERT_TRUE(WaitFor(10s, [&] { return !(listed = ListedAlert(am, alert_id)).is_null(); }))
      << ReadFile(log);
  EXPECT_EQ(listed["labels"], json({{"alertname", "dnsight_latency_rise"},
                                    {"class", "latency_rise"},
                                    {"severity", "page"},
                                    {"team", "dns"},
                                    {"view", "resolver"},
                                    {"entity", "10.9.8.7"},
                                    {"failure_domain", "infrastructure"}}));
  EXPECT_EQ(listed["annotations"]["summary"],
            "latency_rise on 10.9.8.7 (resolver): latency_ms_p95_5m=250 (baseline 40)");
  EXPECT_EQ(listed["annotations"]["decision_ids"], "dec-it-1");
  EXPECT_EQ(listed["status"]["state"], "active");
  EXPECT_EQ(listed["generatorURL"], "http://dnsight.test/ui/#alert=" + alert_id);

  // Alertmanager groups for group_wait (1s), then calls its webhook receiver: us.
  json firing;
  ASSERT_TRUE(WaitFor(15s, [&] { return !(firing = receiver.Find("firing")).is_null(); }))
      << ReadFile(log);
  ASSERT_EQ(firing["alerts"].size(), 1u);
  EXPECT_EQ(firing["alerts"][0]["labels"]["alertname"], "dnsight_latency_rise");
  EXPECT_EQ(firing["alerts"][0]["labels"]["entity"], "10.9.8.7");
  EXPECT_EQ(firing["alerts"][0]["annotations"]["alert_id"], alert_id);

  // The detector says it cleared: resolved at once, and Alertmanager says so too.
  life.OnCleared("latency_rise", "resolver", "10.9.8.7", t0 + 50 * kS);
  ASSERT_TRUE(dispatcher.WaitIdle(30s));
  ASSERT_EQ(dispatcher.SinkStats()[0].delivered, 2u) << dispatcher.SinkStats()[0].last_error;
  EXPECT_TRUE(WaitFor(10s, [&] { return ListedAlert(am, alert_id).is_null(); }))
      << "still active: " << ListedAlert(am, alert_id).dump();
  json resolved;
  ASSERT_TRUE(WaitFor(15s, [&] { return !(resolved = receiver.Find("resolved")).is_null(); }))
      << ReadFile(log);
  ASSERT_EQ(resolved["alerts"].size(), 1u);
  EXPECT_EQ(resolved["alerts"][0]["status"], "resolved");
  EXPECT_EQ(resolved["alerts"][0]["annotations"]["alert_id"], alert_id);
  dispatcher.Stop(5s);
  EXPECT_EQ(dispatcher.SinkStats()[0].failed, 0u);
}

}  // namespace
}  // namespace dnsight
