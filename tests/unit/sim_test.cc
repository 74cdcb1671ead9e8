// dnsight simulate: scenario errors, determinism, the incident table and auto placement,
// seasonality, the effect of each incident on the generated transactions, and the
// written formats read back through dnsight's own sources. Small fleets, short spans.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/time_util.h"
#include "ingest/dnstap_source.h"
#include "ingest/jsonl_source.h"
#include "ingest/pcap_source.h"
#include "sim/simulator.h"
#include "sim/writers.h"
#include "unit/recording_sink.h"
#include "unit/temp_dir.h"

namespace dnsight::sim {
namespace {

using test_support::RecordingSink;
using test_support::TempDir;

constexpr int64_t kMinute = 60 * kNanosPerSecond;
constexpr int64_t kHour = 60 * kMinute;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ScenarioError(const std::string& yaml) {
  try {
    World::Build(ParseScenario(yaml, "s.yaml"));
  } catch (const sim::ScenarioError& e) {
    return e.what();
  }
  return "";
}

class Collect : public EventSink {
 public:
  Status Write(const SimEvent& e) override {
    events.push_back(e);
    events.back().query_wire.clear();
    events.back().response_wire.clear();
    return Status::Ok();
  }
  std::vector<SimEvent> events;
};

// A small fleet: two regions of one PoP each.
const char* kSmallFleet = R"(
fleet:
  regions:
    - name: east
      pops: [{name: e1, resolvers: [192.0.2.11, 192.0.2.12]}]
    - name: west
      utc_offset: -8h
      pops: [{name: w1, resolvers: [198.51.100.11]}]
  clients: 200
  zones:
    - {domain: popular.com, ttl: 300, subdomains: [www, api]}
    - {domain: second.com, ttl: 3600, subdomains: [www]}
  generated_zones: 30
  bots: 2
)";

// --- Scenario errors --------------------------------------------------------------

TEST(SimScenario, ErrorsNameFileLineAndField) {
  EXPECT_EQ(ScenarioError("fleet:\n  clients: 10\n  colour: blue\n"),
            "s.yaml:3:3: fleet.colour: unknown key 'colour' (expected one of: regions, clients, "
            "client_rate_sigma, zones, generated_zones, zone_zipf, bots)");
  const std::string bad_class = ScenarioError(
      "incidents:\n  - {class: latency_rise, start: 1h, duration: 5m}\n"
      "  - {class: dns_fire, start: 1h, duration: 5m}\n");
  EXPECT_NE(bad_class.find("s.yaml:3:13: incidents[1].class: unknown incident class 'dns_fire'"),
            std::string::npos)
      << bad_class;
  const std::string bad_scope = ScenarioError(
      "incidents:\n  - {class: latency_rise, scope: 192.0.2.99, start: 1h, duration: 5m}\n");
  EXPECT_NE(bad_scope.find("s.yaml:2:34: incidents[0].scope: unknown resolver '192.0.2.99'"),
            std::string::npos)
      << bad_scope;
  const std::string bad_zone = ScenarioError(
      "incidents:\n  - {class: servfail_rise, scope: nowhere.com, start: 1h, duration: 5m}\n");
  EXPECT_NE(bad_zone.find("incidents[0].scope: unknown zone 'nowhere.com'"), std::string::npos);
  const std::string bad_duration =
      ScenarioError("incidents:\n  - {class: dga, start: 1h, duration: soon}\n");
  EXPECT_NE(bad_duration.find("s.yaml:2:39: incidents[0].duration: expected a duration"),
            std::string::npos)
      << bad_duration;
  // Found only once the span is known: still names the entry.
  const std::string early = ScenarioError(
      "incidents:\n  - {class: latency_rise, start: 2026-11-22T00:00:00Z, duration: 5m}\n");
  EXPECT_NE(early.find("s.yaml:2:5: incidents[0]: incident starts at 2026-11-22T00:00:00Z, "
                       "before the simulated span"),
            std::string::npos)
      << early;
  // A shorter span cuts the table, with a warning per entry.
  const World cut = World::Build(
      ParseScenario("days: 1\nincidents:\n  - {class: latency_rise, start: 30h, duration: 5m}\n"
                    "  - {class: latency_rise, start: 23h, duration: 2h}\n",
                    "s.yaml"));
  ASSERT_EQ(cut.timeline.incidents.size(), 1u);
  EXPECT_EQ(cut.timeline.incidents[0].end_ns, cut.scenario.start_ns + 24 * kHour);
  ASSERT_EQ(cut.timeline.warnings.size(), 2u);
  EXPECT_NE(cut.timeline.warnings[0].find("s.yaml:3:5: incidents[0]: starts at "
                                          "2026-11-24T06:00:00Z, after the simulated span"),
            std::string::npos)
      << cut.timeline.warnings[0];
  EXPECT_NE(cut.timeline.warnings[1].find("incidents[1]: ends at"), std::string::npos);
  EXPECT_NE(ScenarioError("traffic: {night_factor: 2}\n").find("traffic.night_factor: must be"),
            std::string::npos);
  EXPECT_NE(ScenarioError("fleet: [1, 2\n").find("YAML syntax error"), std::string::npos);
}

TEST(SimScenario, ExampleFleetPlansEveryClassAtLeastThreeTimes) {
  World w =
      World::Build(LoadScenario(std::string(DNSIGHT_SOURCE_DIR) + "/examples/sim/fleet.yaml"));
  EXPECT_EQ(w.scenario.span_ns, 7 * 24 * kHour);
  EXPECT_EQ(w.fleet.resolvers.size(), 12u);
  std::map<IncidentClass, int> count;
  for (const Incident& inc : w.timeline.incidents) ++count[inc.cls];
  for (size_t c = 0; c < kIncidentClassCount; ++c)
    EXPECT_GE(count[static_cast<IncidentClass>(c)], 3)
        << IncidentClassName(static_cast<IncidentClass>(c));
  // Table entries keep their scope and time.
  const auto it = std::find_if(
      w.timeline.incidents.begin(), w.timeline.incidents.end(),
      [](const Incident& i) { return !i.auto_placed && i.cls == IncidentClass::kLatencyRise; });
  ASSERT_NE(it, w.timeline.incidents.end());
  EXPECT_EQ(it->scope.value, "192.0.2.11");
  EXPECT_EQ(it->scope.region, "us-east");
  EXPECT_EQ(it->scope.pop, "iad1");
  EXPECT_EQ(it->start_ns, w.scenario.start_ns + 36 * kHour);
  EXPECT_EQ(it->end_ns - it->start_ns, 30 * kMinute);
}

// --- Timeline -----------------------------------------------------------------------

TEST(SimTimeline, AutoIncidentsPlaceEveryClassWithoutOverlapPerScope) {
  Scenario sc = ParseScenario(std::string(kSmallFleet) + "days: 2\nauto_incidents: 3\n", "s.yaml");
  World w = World::Build(sc);
  std::map<IncidentClass, std::set<int>> entries;
  std::map<IncidentClass, int> records;
  for (const Incident& inc : w.timeline.incidents) {
    entries[inc.cls].insert(inc.entry);
    ++records[inc.cls];
    EXPECT_TRUE(inc.auto_placed);
    EXPECT_GE(inc.start_ns, w.scenario.start_ns);
    EXPECT_LE(inc.end_ns, w.scenario.start_ns + w.scenario.span_ns);
    EXPECT_EQ(inc.start_ns % kMinute, 0);
    EXPECT_EQ((inc.end_ns - inc.start_ns) % kMinute, 0);
  }
  for (size_t c = 0; c < kIncidentClassCount; ++c) {
    const auto cls = static_cast<IncidentClass>(c);
    EXPECT_EQ(entries[cls].size(), 3u) << IncidentClassName(cls);
    if (cls == IncidentClass::kDga) {
      EXPECT_GE(records[cls], 3);  // one record per infected client
    } else {
      EXPECT_EQ(records[cls], 3) << IncidentClassName(cls);
    }
  }
  // Ids follow start order; no two incidents overlap on one scope value.
  for (size_t i = 0; i < w.timeline.incidents.size(); ++i) {
    const Incident& a = w.timeline.incidents[i];
    char id[32];
    std::snprintf(id, sizeof id, "inc-%04zu", i + 1);
    EXPECT_EQ(a.id, id);
    if (i > 0) {
      EXPECT_LE(w.timeline.incidents[i - 1].start_ns, a.start_ns);
    }
    for (size_t j = i + 1; j < w.timeline.incidents.size(); ++j) {
      const Incident& b = w.timeline.incidents[j];
      if (a.scope.value != b.scope.value) continue;
      EXPECT_FALSE(a.start_ns < b.end_ns && b.start_ns < a.end_ns)
          << a.id << " and " << b.id << " overlap on " << a.scope.value;
    }
  }
  // Maintenance and TTL changes come with their change events.
  int maintenance_starts = 0, zone_changes = 0;
  for (const ChangeEvent& ch : w.timeline.changes) {
    maintenance_starts += ch.kind == "maintenance_start";
    zone_changes += ch.kind == "zone_change";
  }
  EXPECT_EQ(maintenance_starts, 3);
  EXPECT_EQ(zone_changes, 6);
}

TEST(SimTimeline, RecordsFollowTheDocumentedFormat) {
  Incident inc;
  inc.id = "inc-0007";
  inc.cls = IncidentClass::kLatencyRise;
  inc.scope = {"resolver", "192.0.2.11", "eu-west", "ams1", ""};
  inc.start_ns = *ParseRfc3339("2026-11-24T03:10:00Z");
  inc.end_ns = *ParseRfc3339("2026-11-24T03:40:00Z");
  std::string line;
  AppendIncidentJson(inc, &line);
  EXPECT_EQ(line,
            "{\"id\":\"inc-0007\",\"class\":\"latency_rise\",\"benign\":false,\"scope\":{\"kind\":"
            "\"resolver\",\"value\":\"192.0.2.11\",\"region\":\"eu-west\",\"pop\":\"ams1\"},"
            "\"start\":\"2026-11-24T03:10:00Z\",\"start_ns\":1795489800000000000,"
            "\"end\":\"2026-11-24T03:40:00Z\",\"end_ns\":1795491600000000000}\n");
  ChangeEvent ch{*ParseRfc3339("2026-11-24T02:00:00Z"),
                 "maintenance_start",
                 "resolver",
                 "192.0.2.11",
                 "mw-3",
                 "kernel upgrade"};
  line.clear();
  AppendChangeJson(ch, &line);
  EXPECT_EQ(line,
            "{\"ts\":\"2026-11-24T02:00:00Z\",\"ts_ns\":1795485600000000000,\"kind\":"
            "\"maintenance_start\",\"scope\":{\"kind\":\"resolver\",\"value\":\"192.0.2.11\"},"
            "\"id\":\"mw-3\",\"note\":\"kernel upgrade\"}\n");
}

// --- Determinism ----------------------------------------------------------------------

SimulationSummary RunTo(const std::string& dir, uint64_t seed) {
  Scenario sc = ParseScenario(
      std::string(kSmallFleet) + "span: 90m\nauto_incidents: 1\ntraffic: {mean_qps: 6}\n",
      "s.yaml");
  sc.seed = seed;
  const World w = World::Build(std::move(sc));
  SimulationOptions o;
  o.out_dir = dir;
  o.dnstap = true;
  o.pcap = true;
  auto r = RunSimulation(w, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : SimulationSummary{};
}

TEST(SimDeterminism, SameSeedSameBytesDifferentSeedDifferentBytes) {
  TempDir a, b, c;
  const SimulationSummary sa = RunTo(a.path(), 7);
  RunTo(b.path(), 7);
  RunTo(c.path(), 8);
  EXPECT_GT(sa.events, 20000u);
  for (const char* f : {"events.jsonl", "events.dnstap", "events.pcap", "incidents.jsonl",
                        "changes.jsonl", "fleet.json"}) {
    const std::string x = ReadAll(a / f);
    EXPECT_FALSE(x.empty()) << f;
    EXPECT_TRUE(x == ReadAll(b / f)) << f << " differs between two runs with seed 7";
    EXPECT_FALSE(x == ReadAll(c / f)) << f << " is the same for seeds 7 and 8";
  }
}

TEST(SimDeterminism, AnIncidentThatChangesAnswersLeavesOtherTrafficAlone) {
  const auto run = [](const std::string& incidents) {
    Collect c;
    const World w = World::Build(ParseScenario(
        std::string(kSmallFleet) + "span: 1h\ntraffic: {mean_qps: 5}\n" + incidents, "s.yaml"));
    EXPECT_TRUE(GenerateTraffic(w, c).ok());
    return c.events;
  };
  const auto plain = run("");
  const auto hit =
      run("incidents:\n  - {class: latency_rise, scope: 192.0.2.11, start: 20m, duration: 10m}\n"
          "  - {class: nxdomain_spike, scope: popular.com, start: 20m, duration: 10m}\n");
  ASSERT_EQ(plain.size(), hit.size());
  const int64_t from = *ParseRfc3339("2026-11-23T00:20:00Z"), to = from + 10 * kMinute;
  size_t changed = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    const SimEvent &a = plain[i], &b = hit[i];
    ASSERT_EQ(a.ts_ns, b.ts_ns);
    ASSERT_EQ(a.client, b.client);
    const bool same = a.qname == b.qname && a.rcode == b.rcode && a.latency_ns == b.latency_ns;
    if (a.ts_ns < from || a.ts_ns >= to) {
      EXPECT_TRUE(same) << i;
    } else {
      changed += !same;
    }
  }
  EXPECT_GT(changed, 100u);
}

// --- Seasonality ------------------------------------------------------------------

TEST(SimTraffic, DiurnalAndWeeklySeasonality) {
  Scenario sc = ParseScenario(R"(
days: 7
fleet:
  regions: [{name: utc, pops: [{name: p1, resolvers: [192.0.2.1]}]}]
  clients: 300
  generated_zones: 20
  bots: 0
traffic: {mean_qps: 0.25, night_factor: 0.2, peak_hour: 14, weekend_factor: 0.6}
)",
                              "s.yaml");
  const World w = World::Build(std::move(sc));
  // The curve itself: the 04:00 trough against the 14:00 peak, Saturday against Monday.
  const int64_t monday = w.scenario.start_ns;
  EXPECT_NEAR(
      w.fleet.Seasonality(0, monday + 2 * kHour) / w.fleet.Seasonality(0, monday + 14 * kHour), 0.2,
      0.02);
  EXPECT_NEAR(w.fleet.Seasonality(0, monday + 5 * 24 * kHour + 14 * kHour) /
                  w.fleet.Seasonality(0, monday + 14 * kHour),
              0.6, 1e-9);

  struct Counter : EventSink {
    std::map<int, uint64_t> by_hour, by_day;
    int64_t start = 0;
    Status Write(const SimEvent& e) override {
      const int64_t off = e.ts_ns - start;
      ++by_hour[static_cast<int>((off / kHour) % 24)];
      ++by_day[static_cast<int>(off / (24 * kHour))];
      return Status::Ok();
    }
  } counter;
  counter.start = w.scenario.start_ns;
  ASSERT_TRUE(GenerateTraffic(w, counter).ok());
  uint64_t night = 0, day = 0, weekday = 0, weekend = 0;
  for (int h = 1; h <= 4; ++h) night += counter.by_hour[h];
  for (int h = 12; h <= 15; ++h) day += counter.by_hour[h];
  for (int d = 0; d < 5; ++d) weekday += counter.by_day[d];
  for (int d = 5; d < 7; ++d) weekend += counter.by_day[d];
  EXPECT_LT(static_cast<double>(night), 0.45 * static_cast<double>(day));
  EXPECT_LT(static_cast<double>(weekend) / 2, 0.8 * static_cast<double>(weekday) / 5);
  // The weekly mean is mean_qps.
  EXPECT_NEAR(static_cast<double>(weekday + weekend) / (7 * 86400.0), 0.25, 0.02);
}

// --- Incident effects -----------------------------------------------------------------

class SimEffects : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Scenario sc = ParseScenario(std::string(kSmallFleet) + R"(
span: 4h
traffic: {mean_qps: 25, night_factor: 1, weekend_factor: 1}
incidents:
  - {class: latency_rise, scope: 192.0.2.11, start: 1h, duration: 30m, magnitude: 5}
  - {class: nxdomain_spike, scope: popular.com, start: 2h, duration: 30m, magnitude: 0.5, variant: random_subdomain}
  - {class: servfail_rise, scope: second.com, start: 2h, duration: 30m, magnitude: 0.6}
  - {class: ttl_change, scope: second.com, start: 3h, duration: 30m, magnitude: 30}
  - {class: dga, scope: [198.18.0.5, 198.18.0.6], start: 1h, duration: 1h, magnitude: 20}
  - {class: tunnelling, scope: tun-test.net, client: 198.18.0.9, start: 3h, duration: 30m, magnitude: 2}
  - {class: traffic_surge, scope: popular.com, start: 1h, duration: 30m, magnitude: 3}
  - {class: maintenance, scope: west, start: 3h, duration: 30m, magnitude: 2}
)",
                                "s.yaml");
    world_ = new World(World::Build(std::move(sc)));
    collect_ = new Collect();
    ASSERT_TRUE(GenerateTraffic(*world_, *collect_).ok());
  }
  static void TearDownTestSuite() {
    delete collect_;
    delete world_;
  }
  static int64_t At(int64_t offset) { return world_->scenario.start_ns + offset; }
  static bool InZone(const SimEvent& e, const std::string& zone) {
    return e.qname == zone || (e.qname.size() > zone.size() && e.qname.ends_with("." + zone));
  }

  static World* world_;
  static Collect* collect_;
};
World* SimEffects::world_ = nullptr;
Collect* SimEffects::collect_ = nullptr;

TEST_F(SimEffects, LatencyRiseMultipliesOneResolversLatency) {
  const uint32_t resolver = *ParseIpv4("192.0.2.11"), other = *ParseIpv4("192.0.2.12");
  double before = 0, during = 0, other_during = 0;
  int nb = 0, nd = 0, no = 0;
  for (const SimEvent& e : collect_->events) {
    const double ms = static_cast<double>(e.latency_ns) / 1e6;
    if (e.ts_ns >= At(30 * kMinute) && e.ts_ns < At(60 * kMinute) && e.server == resolver) {
      before += ms, ++nb;
    } else if (e.ts_ns >= At(60 * kMinute) && e.ts_ns < At(90 * kMinute)) {
      if (e.server == resolver) during += ms, ++nd;
      if (e.server == other) other_during += ms, ++no;
    }
  }
  ASSERT_GT(nb, 1000);
  ASSERT_GT(nd, 1000);
  EXPECT_GT(during / nd, 3.0 * before / nb);
  EXPECT_LT(other_during / no, 2.0 * before / nb);
}

TEST_F(SimEffects, NxdomainSpikeRaisesTheRatioAtStableVolume) {
  int before = 0, during = 0, nx_before = 0, nx_during = 0;
  std::set<std::string> random_names;
  for (const SimEvent& e : collect_->events) {
    if (!InZone(e, "popular.com") || e.origin == EventOrigin::kSurge) continue;
    if (e.ts_ns >= At(90 * kMinute) && e.ts_ns < At(120 * kMinute)) {
      ++before;
      nx_before += e.rcode == 3;
    } else if (e.ts_ns >= At(120 * kMinute) && e.ts_ns < At(150 * kMinute)) {
      ++during;
      nx_during += e.rcode == 3;
      if (e.rcode == 3) random_names.insert(e.qname);
    }
  }
  ASSERT_GT(before, 2000);
  const double r_before = static_cast<double>(nx_before) / before;
  const double r_during = static_cast<double>(nx_during) / during;
  EXPECT_LT(r_before, 0.05);
  EXPECT_GT(r_during, 0.4);
  EXPECT_NEAR(static_cast<double>(during) / before, 1.0, 0.3);
  // Random-subdomain abuse: almost every NXDOMAIN name is different.
  EXPECT_GT(random_names.size(), static_cast<size_t>(nx_during * 0.9));
}

TEST_F(SimEffects, ServfailRiseTtlChangeAndSurge) {
  int sf_n = 0, sf = 0, ttl_n = 0, ttl_over = 0, surge_extra = 0, base = 0;
  for (const SimEvent& e : collect_->events) {
    if (InZone(e, "second.com") && e.ts_ns >= At(120 * kMinute) && e.ts_ns < At(150 * kMinute)) {
      ++sf_n;
      sf += e.rcode == 2;
    }
    if (InZone(e, "second.com") && e.ts_ns >= At(181 * kMinute) && e.ts_ns < At(210 * kMinute) &&
        e.ttl >= 0) {
      ++ttl_n;
      ttl_over += e.ttl > 30;
    }
    if (InZone(e, "popular.com") && e.ts_ns >= At(60 * kMinute) && e.ts_ns < At(90 * kMinute))
      (e.origin == EventOrigin::kSurge ? surge_extra : base)++;
  }
  ASSERT_GT(sf_n, 200);
  EXPECT_GT(static_cast<double>(sf) / sf_n, 0.5);
  ASSERT_GT(ttl_n, 200);
  EXPECT_EQ(ttl_over, 0);
  // Magnitude 3: twice the baseline volume again, on top.
  EXPECT_NEAR(static_cast<double>(surge_extra) / base, 2.0, 0.3);
}

TEST_F(SimEffects, DgaClientsQueryManyAlgorithmicDomainsMostlyNxdomain) {
  std::map<uint32_t, std::set<std::string>> names;
  int total = 0, nx = 0;
  for (const SimEvent& e : collect_->events) {
    if (e.origin != EventOrigin::kDga) continue;
    ++total;
    nx += e.rcode == 3;
    names[e.client].insert(e.qname);
    EXPECT_GE(e.ts_ns, At(60 * kMinute));
    EXPECT_LT(e.ts_ns, At(120 * kMinute));
    // The name is itself a registered domain: one label under a TLD.
    EXPECT_EQ(std::count(e.qname.begin(), e.qname.end(), '.'), 1) << e.qname;
  }
  ASSERT_EQ(names.size(), 2u);
  EXPECT_GT(static_cast<double>(nx) / total, 0.9);
  // ~20 a minute for an hour, in bursts, cycling through the family's 400 names of the day.
  for (const auto& [client, set] : names) EXPECT_GE(set.size(), 350u);
  EXPECT_EQ(std::count_if(world_->timeline.incidents.begin(), world_->timeline.incidents.end(),
                          [](const Incident& i) { return i.cls == IncidentClass::kDga; }),
            2);
}

TEST_F(SimEffects, TunnellingUsesLongHighEntropyLabelsAtASteadyCadence) {
  std::vector<int64_t> times;
  for (const SimEvent& e : collect_->events) {
    if (e.origin != EventOrigin::kTunnel) continue;
    times.push_back(e.ts_ns);
    EXPECT_EQ(e.client, *ParseIpv4("198.18.0.9"));
    EXPECT_TRUE(e.qtype == 16 || e.qtype == 10);
    EXPECT_TRUE(e.qname.ends_with(".tun-test.net"));
    const size_t a = e.qname.find('.') + 1, b = e.qname.find('.', a);
    const std::string label = e.qname.substr(a, b - a);
    EXPECT_GE(label.size(), 52u);
    EXPECT_GT(CharEntropy(label), 4.0) << label;
    EXPECT_GE(e.qname.size(), 100u);
  }
  ASSERT_NEAR(static_cast<double>(times.size()), 3600.0, 100.0);
  double mean = 0, var = 0;
  for (size_t i = 1; i < times.size(); ++i) mean += static_cast<double>(times[i] - times[i - 1]);
  mean /= static_cast<double>(times.size() - 1);
  for (size_t i = 1; i < times.size(); ++i)
    var += std::pow(static_cast<double>(times[i] - times[i - 1]) - mean, 2);
  EXPECT_LT(std::sqrt(var / static_cast<double>(times.size() - 1)) / mean, 0.1);  // steady
}

TEST_F(SimEffects, MaintenanceWindowHasChangeEventsAndDegradation) {
  int starts = 0, ends = 0;
  for (const ChangeEvent& ch : world_->timeline.changes) {
    if (ch.scope_value != "west") continue;
    starts += ch.kind == "maintenance_start" && ch.ts_ns == At(3 * kHour);
    ends += ch.kind == "maintenance_end" && ch.ts_ns == At(3 * kHour + 30 * kMinute);
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(ends, 1);
  const uint32_t west = *ParseIpv4("198.51.100.11");
  double before = 0, during = 0;
  int nb = 0, nd = 0;
  for (const SimEvent& e : collect_->events) {
    if (e.server != west || e.origin == EventOrigin::kTunnel) continue;
    if (e.ts_ns >= At(150 * kMinute) && e.ts_ns < At(180 * kMinute))
      before += static_cast<double>(e.latency_ns), ++nb;
    if (e.ts_ns >= At(180 * kMinute) && e.ts_ns < At(210 * kMinute))
      during += static_cast<double>(e.latency_ns), ++nd;
  }
  ASSERT_GT(nb, 500);
  EXPECT_GT(during / nd, 1.5 * before / nb);
}

// --- Formats read back ------------------------------------------------------------

TEST(SimFormats, OurSourcesReadEveryTransactionBack) {
  TempDir dir;
  Scenario sc = ParseScenario(std::string(kSmallFleet) +
                                  "span: 20m\ntraffic: {mean_qps: 10}\n"
                                  "incidents:\n  - {class: tunnelling, start: 5m, duration: 10m}\n",
                              "s.yaml");
  const World w = World::Build(std::move(sc));
  SimulationOptions o;
  o.out_dir = dir.path();
  o.dnstap = true;
  o.pcap = true;
  const auto r = RunSimulation(w, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT(r->events, 5000u);

  RecordingSink tap;
  DnstapFileSource dnstap(dir / "events.dnstap");
  ASSERT_TRUE(dnstap.Run(tap).ok());
  EXPECT_TRUE(tap.malformed.empty());
  ASSERT_EQ(tap.seen.size(), r->events);
  EXPECT_EQ(dnstap.counters().matcher.matched, r->events);
  EXPECT_EQ(dnstap.counters().data_frames, 2 * r->events);

  RecordingSink pcap_sink;
  PcapSourceOptions po;
  po.file_path = dir / "events.pcap";
  PcapSource pcap(po);
  ASSERT_TRUE(pcap.Run(pcap_sink).ok());
  EXPECT_TRUE(pcap_sink.malformed.empty());
  EXPECT_EQ(pcap_sink.seen.size(), r->events);
  EXPECT_EQ(pcap.counters().matcher.matched, r->events);

  RecordingSink json;
  JsonLinesSourceOptions jo;
  jo.path = dir / "events.jsonl";
  JsonLinesSource jsonl(jo);
  ASSERT_TRUE(jsonl.Run(json).ok());
  EXPECT_TRUE(json.malformed.empty());
  ASSERT_EQ(json.seen.size(), r->events);

  // The same transactions: compare as multisets of (qname, rcode, latency, ttl, sizes).
  const auto key = [](const test_support::Seen& s) {
    const int64_t latency =
        s.obs.latency_ns >= 0 ? s.obs.latency_ns : s.obs.response_time_ns - s.obs.query_time_ns;
    return s.qname + "|" + std::to_string(s.obs.rcode) + "|" + std::to_string(latency / 1000) +
           "|" + std::to_string(s.obs.min_ttl) + "|" + std::to_string(s.obs.response_size) + "|" +
           std::to_string(s.obs.client.bytes[3]) + "|" + std::to_string(s.obs.answer_count);
  };
  std::multiset<std::string> a, b, c;
  for (const auto& s : json.seen) a.insert(key(s));
  for (const auto& s : tap.seen) b.insert(key(s));
  for (const auto& s : pcap_sink.seen) c.insert(key(s));
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == c);
}

TEST(SimFormats, PacerSleepsInProportionToSimulatedTime) {
  ManualClock clock(1'000 * kNanosPerSecond);
  int64_t slept = 0;
  Pacer pacer(60, 0, clock, [&](int64_t ns) {
    slept += ns;
    clock.Advance(ns);
  });
  pacer.WaitUntil(0);
  EXPECT_EQ(slept, 0);
  pacer.WaitUntil(60 * kNanosPerSecond);
  EXPECT_EQ(slept, kNanosPerSecond);
  clock.Advance(5 * kNanosPerSecond);  // writing fell behind: no sleep until caught up
  pacer.WaitUntil(240 * kNanosPerSecond);
  EXPECT_EQ(slept, kNanosPerSecond);
  pacer.WaitUntil(600 * kNanosPerSecond);
  EXPECT_EQ(slept, 5 * kNanosPerSecond);
}

}  // namespace
}  // namespace dnsight::sim
