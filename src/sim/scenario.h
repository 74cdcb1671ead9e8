// Scenario: what `dnsight simulate` is told by a scenario YAML file (reference:
// src/sim/README.md): the fleet to model, its traffic shape, the change-event cadence and
// the operator's incident table.
//
// ParseScenario/LoadScenario validate everything that can be checked without building the
// fleet and throw ScenarioError otherwise (scenario load is config time, where exceptions
// are allowed). Messages name the file, line, column and field, e.g.
//   fleet.yaml:41:14: incidents[2].scope: unknown resolver '192.0.2.99'
// Unknown keys are errors. Every key has a default, so an empty file is a working fleet.
// Each IncidentSpec keeps its position (`where`) so that checks made later, once the span
// and the fleet are known (PlanTimeline), can name the entry too.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dnsight::sim {

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// docs/decisions.md, "Incident classes". The last three are benign.
enum class IncidentClass : uint8_t {
  kNxdomainSpike,
  kServfailRise,
  kLatencyRise,
  kDga,
  kTunnelling,
  kTrafficSurge,
  kMaintenance,
  kTtlChange,
};
inline constexpr size_t kIncidentClassCount = 8;
std::string_view IncidentClassName(IncidentClass c);
std::optional<IncidentClass> ParseIncidentClass(std::string_view name);
bool IsBenign(IncidentClass c);
// The magnitude used when an entry gives none (see README for each class's meaning).
double DefaultMagnitude(IncidentClass c);

struct PopSpec {
  std::string name;
  std::vector<uint32_t> resolvers;  // IPv4 server addresses, host byte order
  double hit_latency_ms = 0.4;      // median latency of a cache hit
};

struct RegionSpec {
  std::string name;
  int64_t utc_offset_ns = 0;  // local time = UTC + offset (drives the diurnal curve)
  double client_share = 1.0;  // relative share of the fleet's clients
  std::vector<PopSpec> pops;
};

struct ZoneSpec {
  std::string domain;                   // registered domain, lowercase, no trailing dot
  int64_t ttl_s = 300;                  // TTL of every record in the zone
  std::vector<std::string> subdomains;  // besides the apex (always present)
  bool has_ipv6 = true;                 // AAAA answers (else NODATA)
};

struct FleetSpec {
  std::vector<RegionSpec> regions;  // empty in the file: the built-in three regions
  int clients = 3000;               // addresses 198.18.0.1, 198.18.0.2, ... in order
  double client_rate_sigma = 1.3;   // lognormal spread of per-client rates (skew)
  std::vector<ZoneSpec> zones;      // named zones: the most popular ranks, in order
  int generated_zones = 400;        // further zones with generated names
  double zone_zipf = 1.1;           // popularity exponent over zone ranks
  int bots = 8;                     // steady clients at 198.19.200.1, .2, ...
};

struct TrafficSpec {
  double mean_qps = 11;           // client queries/s over the fleet, averaged over a week
  double bot_qps = 2;             // all bots together, constant
  double night_factor = 0.25;     // rate at the daily trough / rate at the peak
  double peak_hour = 14;          // local hour of the daily peak
  double weekend_factor = 0.7;    // Saturday and Sunday (local) rate multiplier
  double nxdomain_share = 0.02;   // baseline NXDOMAIN (typos, stale names)
  double servfail_share = 0.001;  // baseline SERVFAIL
  double favorite_share = 0.4;    // mean share of a client's queries to its own favourites
};

struct ChangeSpec {
  double deploys_per_day = 0.5;        // `deploy` change events (resolver-fleet)
  double cert_deploys_per_week = 1.0;  // `cert_deploy` change events
};

struct IncidentSpec {
  IncidentClass cls = IncidentClass::kLatencyRise;
  std::vector<std::string> scope;  // empty: chosen at random (seeded)
  bool start_is_offset = true;     // start_ns is an offset from the scenario start
  int64_t start_ns = 0;
  int64_t duration_ns = 0;
  std::optional<double> magnitude;
  std::string variant;  // nxdomain_spike: bad_delegation | random_subdomain ("" = random)
  std::string client;   // tunnelling: the tunnelling client ("" = random)
  int clients = 0;      // dga with a random scope: infected clients (0 = 1..3 at random)
  std::string note;     // maintenance: change-event note
  std::string where;    // "file:line:col: incidents[i]", for later errors
};

struct Scenario {
  std::string path;                              // for messages
  int64_t start_ns = 1'795'392'000'000'000'000;  // 2026-11-23T00:00:00Z, a Monday
  int64_t span_ns = 7 * 86'400'000'000'000;
  uint64_t seed = 1;
  double rate_scale = 1.0;  // multiplies mean_qps and bot_qps
  int auto_incidents = 0;   // per class, placed at random without overlap per scope
  FleetSpec fleet;
  TrafficSpec traffic;
  ChangeSpec changes;
  std::vector<IncidentSpec> incidents;
};

// The three regions of examples/sim/fleet.yaml (12 resolvers).
std::vector<RegionSpec> DefaultRegions();

Scenario ParseScenario(const std::string& text, const std::string& name);
Scenario LoadScenario(const std::string& path);

// "198.18.0.7" -> host-order u32; nullopt unless dotted-quad IPv4.
std::optional<uint32_t> ParseIpv4(std::string_view text);
std::string Ipv4Text(uint32_t address);
// Address of client i (0-based) and bot i.
uint32_t ClientAddress(size_t index);
uint32_t BotAddress(size_t index);

}  // namespace dnsight::sim
