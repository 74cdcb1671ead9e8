// HostingRunner with real inputs: an access log read to its end (valid, malformed and
// oversize lines) and node_exporter-style targets served by a local HTTP server that
// answers well, with garbage, with a body over the limit, and with an error status.
#include "hosting/hosting_runner.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/time_util.h"
#include "dnsight/clock.h"
#include "engine/view_shard.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

struct CollectingSink : RowSink {
  void WriteRows(const std::vector<FeatureView>&, std::span<const FeatureRow> r) override {
    std::lock_guard lock(mu);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  void WriteLate(const DnsEventBatch&, const DnsEvent&, int64_t) override {}
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t>) override {
    std::lock_guard lock(mu);
    dead.push_back(std::string(source) + " " + std::string(reason));
  }
  std::mutex mu;
  std::vector<FeatureRow> rows;
  std::vector<std::string> dead;
};

const HostingSourceCounters* Find(const std::vector<HostingSourceCounters>& all,
                                  const std::string& name) {
  for (const auto& c : all)
    if (c.name == name) return &c;
  return nullptr;
}

TEST(HostingRunner, AccessLogRowsAndMalformedLinesAreCountedAndSampled) {
  test_support::TempDir dir;
  const std::string log = dir / "access.log";
  {
    std::ofstream out(log);
    for (int i = 0; i < 20; ++i)
      out << "192.0.2.1 - - [23/Nov/2026:10:00:0" << i % 10 << " +0000] \"GET / HTTP/1.1\" "
          << (i < 5 ? 503 : 200) << " 10 \"-\" \"ua\" rt=0.010 host=shop.example.com node=edge-1\n";
    out << "192.0.2.1 - - [99/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"ua\"\n";
    out << "complete garbage\n";
    out << std::string(100 * 1024, 'x') << "\n";  // over the 64 KiB line limit
    // Stamped years ahead of the (manual) wall clock: refused, so it cannot drag the
    // watermark along and make every real request late.
    out << "192.0.2.1 - - [01/Jan/2199:00:00:00 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"ua\"\n";
  }
  EngineConfig cfg = ParseConfig("web:\n  logs:\n    - {path: " + log + "}\nviews: []\n", "t.yaml");
  CollectingSink sink;
  ManualClock clock(*ParseRfc3339("2026-11-23T12:00:00Z"));
  HostingRunner runner(cfg, sink, clock);
  ASSERT_TRUE(runner.enabled());
  EXPECT_FALSE(runner.live());
  runner.Start();
  runner.WaitForFiles();
  runner.Finish();

  const auto counters = runner.counters();
  const HostingSourceCounters* c = Find(counters, "web:" + log);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->parsed, 20u);
  // The bad date, the garbage line (too short to be a log line), the oversize line and
  // the line from the future.
  const std::map<std::string, uint64_t, std::less<>> want = {
      {"bad_time", 1}, {"future_time", 1}, {"line_too_long", 1}, {"truncated", 1}};
  EXPECT_EQ(c->malformed, want);
  EXPECT_EQ(sink.dead.size(), 4u);
  // One pane (10:00:00-10:00:10) for one service and one node: one row each, 5/20 = 0.25.
  ASSERT_EQ(sink.rows.size(), 2u);
  const auto& names = cfg.views[sink.rows[0].view].feature_names;
  const size_t ratio = std::find(names.begin(), names.end(), "status_5xx_ratio_1m") - names.begin();
  EXPECT_DOUBLE_EQ(sink.rows[0].values[ratio], 0.25);
  EXPECT_EQ(runner.web_requests_by_service().at("shop.example.com"), 20u);
}

TEST(HostingRunner, ScrapesCountBadTargetsAndDeriveFeaturesFromGoodOnes) {
  httplib::Server server;
  int good_calls = 0;
  server.Get("/good", [&](const httplib::Request&, httplib::Response& res) {
    ++good_calls;
    const double t = good_calls * 10.0;
    res.set_content(
        "# TYPE node_cpu_seconds_total counter\n"
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} " +
            std::to_string(100 + t * 0.8) + "\nnode_cpu_seconds_total{cpu=\"0\",mode=\"steal\"} " +
            std::to_string(t * 0.2) + "\nnode_load1 0.5\n",
        "text/plain");
  });
  server.Get("/garbage", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("this is { not an exposition\n\xff\xfe\n", "text/plain");
  });
  server.Get("/huge", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(64 * 1024, '#'), "text/plain");
  });
  server.Get("/broken", [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  EngineConfig cfg = ParseConfig(
      "hosts:\n  interval: 1s\n  max_body_bytes: 16384\n  targets:\n"
      "    - {node: good, url: \"" +
          base +
          "/good\"}\n"
          "    - {node: garbage, url: \"" +
          base +
          "/garbage\"}\n"
          "    - {node: huge, url: \"" +
          base +
          "/huge\"}\n"
          "    - {node: broken, url: \"" +
          base +
          "/broken\"}\n"
          "    - {node: closed, url: \"http://127.0.0.1:1/metrics\"}\n"
          "views: []\n",
      "t.yaml");
  cfg.hosts.interval_ns = 100'000'000;  // below the config's floor, to keep the test short
  CollectingSink sink;
  SystemClock clock;
  HostingRunner runner(cfg, sink, clock);
  EXPECT_TRUE(runner.live());
  runner.Start();
  for (int i = 0; i < 100 && good_calls < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  runner.Finish();
  server.stop();
  serving.join();

  const auto counters = runner.counters();
  EXPECT_GE(Find(counters, "scrape:good")->parsed, 3u);
  EXPECT_TRUE(Find(counters, "scrape:good")->malformed.empty());
  EXPECT_GE(Find(counters, "scrape:garbage")->malformed.at("malformed_line"), 1u);
  EXPECT_GE(Find(counters, "scrape:huge")->malformed.at("body_too_large"), 1u);
  EXPECT_GE(Find(counters, "scrape:broken")->malformed.at("http_500"), 1u);
  EXPECT_GE(Find(counters, "scrape:closed")->malformed.at("unreachable"), 1u);
  // The good node's steal ratio: 0.2 of every CPU second between scrapes.
  const auto hosts = runner.AllHosts();
  bool found = false;
  for (const auto& h : hosts) {
    if (h.node != "good") continue;
    found = true;
    EXPECT_NEAR(h.values[static_cast<size_t>(HostFeature::kCpuStealRatio)], 0.2, 1e-9);
    EXPECT_DOUBLE_EQ(h.values[static_cast<size_t>(HostFeature::kLoad1PerCore)], 0.5);
  }
  EXPECT_TRUE(found);
  size_t good_rows = 0;
  for (const auto& r : sink.rows) good_rows += r.entity_key == "good";
  EXPECT_GE(good_rows, 3u);
}

}  // namespace
}  // namespace dnsight
