// Fleet: the simulated world. Regions hold points of presence (PoPs), PoPs hold resolvers
// (the server addresses telemetry is observed at); authoritative zones are registered
// domains with a TTL, a set of names and an upstream latency; clients live in a PoP, send
// to a primary resolver, follow their region's local-time seasonality and have skewed
// rates and a few favourite zones; bots are steady high-rate clients with a narrow set of
// names.
//
// Fleet::Build derives everything from the scenario and its seed, so the same scenario
// always yields the same fleet. It cannot fail: ParseScenario has checked what it needs.
// After Build the fleet is immutable; incidents change behaviour through the traffic
// generator, not by editing the fleet.
//
// Thread-safety: immutable after Build; safe to share between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/random.h"
#include "sim/scenario.h"

namespace dnsight::sim {

struct Resolver {
  uint32_t address = 0;  // IPv4, host order
  std::string address_text;
  std::string name;  // "<pop>-r<n>", the dnstap identity
  int region = 0;
  int pop = 0;
  double hit_latency_ms = 0.4;  // median latency of a cache hit
};

struct Pop {
  std::string name;
  int region = 0;
  std::vector<int> resolvers;
};

struct Region {
  std::string name;
  int64_t utc_offset_ns = 0;
  std::vector<int> pops;
  std::vector<int> clients;
  AliasTable client_picker;  // over `clients`, by rate weight
  double rate_share = 0;     // this region's share of all client queries
};

struct Zone {
  std::string domain;
  int64_t ttl_s = 300;
  std::vector<std::string> names;  // full qnames; names[0] is the apex
  AliasTable name_picker;
  bool has_ipv6 = true;
  bool has_https = false;
  uint16_t a_records = 1;
  double auth_latency_ms = 25;  // median upstream (cache-miss) latency
  double share = 0;             // expected share of client queries
  double popularity = 0;        // rank weight (Zipf), before favourites
};

struct Client {
  uint32_t address = 0;
  int region = 0;
  int pop = 0;
  int primary_resolver = 0;
  double rate_weight = 1;  // relative rate (lognormal: a few clients dominate)
  double favorite_share = 0.4;
  std::vector<int> favorites;  // zone indexes
};

struct Bot {
  uint32_t address = 0;
  int pop = 0;
  int resolver = 0;
  int zone = 0;
  std::vector<std::string> names;
  uint16_t qtype = 1;
  double period_s = 1;  // steady cadence (small jitter)
  double phase_s = 0;   // first query at start + phase
};

class Fleet {
 public:
  // REQUIRES: scenario came from ParseScenario (so it is valid).
  static Fleet Build(const Scenario& scenario);

  // Rate multiplier of region r at time ts: diurnal curve times the weekend dip, with
  // mean 1 over a week (so mean_qps is the weekly mean).
  double Seasonality(int region, int64_t ts_ns) const;
  // Client queries/s of region r at ts (before incidents).
  double RegionRate(int region, int64_t ts_ns) const;
  // Probability that a query for zone z is answered from a resolver's cache, given the
  // zone's current TTL (a higher TTL or a more popular zone hits more).
  double CacheHitProbability(int zone, int64_t ttl_s) const;

  // -1 when absent.
  int FindResolver(uint32_t address) const;
  int FindZone(const std::string& domain) const;
  int FindRegion(const std::string& name) const;
  int FindClient(uint32_t address) const;

  // The world as JSON (fleet.json): regions, PoPs, resolvers, zones, bots.
  std::string ToJson() const;

  std::vector<Region> regions;
  std::vector<Pop> pops;
  std::vector<Resolver> resolvers;
  std::vector<Zone> zones;  // by popularity rank
  std::vector<Client> clients;
  std::vector<Bot> bots;
  AliasTable zone_picker;  // Zipf over ranks

 private:
  TrafficSpec traffic_;
  double client_qps_ = 0;  // mean_qps * rate_scale
  double season_norm_ = 1;
  std::map<uint32_t, int> resolver_index_;
  std::map<std::string, int> zone_index_;
};

}  // namespace dnsight::sim
