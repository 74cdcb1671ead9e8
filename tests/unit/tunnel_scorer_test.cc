// The tunnelling scorer on real tunnelling tools' traffic (../shared/data/pcap; skipped
// when absent) and on ordinary traffic built here.
#include "detect/tunnel_scorer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "collecting_row_sink.h"
#include "engine/config.h"
#include "engine/pipeline.h"
#include "engine/source_factory.h"

namespace dnsight {
namespace {

namespace fs = std::filesystem;

constexpr char kConfig[] = R"(
engine: {pane: 10s, watermark_delay: 2s, idle_advance: 0s}
views:
  - name: domain
    entity: registered_domain
    windows: [1m, 5m]
    aggregations:
      - {name: queries, kind: count}
      - {name: unique_subdomains, kind: distinct, field: subdomain}
      - {name: unique_clients, kind: distinct, field: client}
      - {name: subdomain_length_mean, kind: mean, field: subdomain_length}
      - {name: label_entropy_mean, kind: mean, field: label_entropy}
      - {name: txt_ratio, kind: ratio, where: {qtype: [TXT]}}
      - {name: null_ratio, kind: ratio, where: {qtype: ["NULL"]}}
      - {name: response_size_mean, kind: mean, field: response_size}
      - {name: query_size_mean, kind: mean, field: query_size}
)";

using Collect = test_support::CollectingRowSink;

// Max score and row count per registered domain over every closed window.
struct DomainScores {
  std::map<std::string, double> max_score;
  std::map<std::string, double> max_queries;
};

DomainScores ScoreRows(const EngineConfig& cfg, const std::vector<FeatureRow>& rows) {
  TunnelScorer scorer;
  EXPECT_TRUE(scorer.Bind(cfg.views[0].feature_names, "5m").ok());
  DomainScores out;
  for (const auto& r : rows) {
    const std::string d = cfg.views[0].EntityText(r.entity_key);
    out.max_score[d] = std::max(out.max_score[d], scorer.Score(r.values).score);
    out.max_queries[d] = std::max(out.max_queries[d], r.values[9]);  // queries_5m
  }
  return out;
}

TEST(TunnelScorer, BindNamesTheMissingFeature) {
  TunnelScorer s;
  EXPECT_EQ(s.Bind({"queries_5m"}, "5m").message(),
            "tunnelling scorer needs feature 'unique_subdomains_5m'");
}

TEST(TunnelScorer, FlagsRealTunnellingToolsDomains) {
  const fs::path dir = fs::path(DNSIGHT_SOURCE_DIR) / ".." / "shared" / "data" / "pcap";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no shared captures at " << dir;
  const EngineConfig cfg = ParseConfig(kConfig, "t.yaml");
  ASSERT_EQ(cfg.views[0].feature_names[9], "queries_5m");
  int checked = 0;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() != ".pcap") continue;
    Collect sink;
    Pipeline p(cfg, sink);
    SourceConfig sc;
    sc.type = "pcap_file";
    sc.path = f.path().string();
    auto src = MakeSource(sc);
    ASSERT_TRUE(src->Run(p.AddSource(src->Describe())).ok());
    p.Finish();
    const DomainScores s = ScoreRows(cfg, sink.rows);
    ASSERT_FALSE(s.max_queries.empty()) << f.path();
    // The tunnel's domain carries the capture's traffic; it must score as a tunnel.
    const auto busiest =
        std::max_element(s.max_queries.begin(), s.max_queries.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    EXPECT_GT(s.max_score.at(busiest->first), TunnelScorer::kDefaultThreshold)
        << f.path().filename() << ": domain " << busiest->first;
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(TunnelScorer, OrdinaryTrafficScoresLow) {
  const EngineConfig cfg = ParseConfig(kConfig, "t.yaml");
  Collect sink;
  Pipeline p(cfg, sink);
  ObservationSink& in = p.AddSource("test");
  const char* kHosts[] = {"www", "mail", "api", "cdn", "static", "img", "login", ""};
  const char* kDomains[] = {"cloudshop.com", "newsmedia.org", "example.net", "bankhome.co.uk"};
  for (int i = 0; i < 5000; ++i) {
    RawDnsObservation o;
    o.query_time_ns = 1'795'428'000'000'000'000 + static_cast<int64_t>(i) * 50'000'000;
    o.response_time_ns = o.query_time_ns + 2'000'000;
    std::string q = kHosts[i % 8];
    if (!q.empty()) q += ".";
    q += kDomains[(i / 8) % 4];
    o.qname = q;
    o.qtype = i % 10 == 0 ? 28 : 1;
    o.rcode = 0;
    o.client = *IpAddress::Parse("198.18.0." + std::to_string(1 + i % 200));
    o.server = *IpAddress::Parse("192.0.2.1");
    o.query_size = 40;
    o.response_size = 90;
    in.OnObservation(o);
  }
  p.Finish();
  const DomainScores s = ScoreRows(cfg, sink.rows);
  ASSERT_EQ(s.max_score.size(), 4u);
  for (const auto& [domain, score] : s.max_score) EXPECT_LT(score, 0.2) << domain;
}

}  // namespace
}  // namespace dnsight
