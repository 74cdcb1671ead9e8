// Timeline: the ground truth of a simulation. PlanTimeline turns the scenario's incident
// table (and auto_incidents) into concrete incidents with resolved scopes, times and
// magnitudes, plus the change events (maintenance start/end, zone changes, deploys, cert
// deploys). The traffic generator reads the same Timeline, so what is written to
// incidents.jsonl is exactly what shaped the traffic.
//
// Records follow docs/decisions.md: one incident record per affected scope value (a DGA
// entry with three infected clients is three records sharing `entry`), sorted by start,
// with ids inc-0001, inc-0002, ... in that order. Randomly placed incidents never overlap
// another incident on the same scope (a region covers its resolvers; a tunnelling
// incident also holds its client), with a gap between them.
//
// PlanTimeline throws ScenarioError (naming the table entry's file:line) for entries that
// start before the span, and when auto_incidents cannot be placed. Entries past the end of
// the span are skipped or cut, with a warning.
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/fleet.h"
#include "sim/scenario.h"

namespace dnsight::sim {

struct IncidentScope {
  std::string kind;         // domain | resolver | client | global | region
  std::string value;        // registered domain, server address, client address, "*", region
  std::string region, pop;  // resolver and client scopes: where it lives
  std::string client;       // tunnelling: the tunnelling client
};

enum class NxdomainVariant : uint8_t { kBadDelegation, kRandomSubdomain };

struct Incident {
  std::string id;
  IncidentClass cls = IncidentClass::kLatencyRise;
  IncidentScope scope;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // exclusive
  double magnitude = 1;
  int entry = 0;  // table entry (then auto entries) it came from
  bool auto_placed = false;
  // Resolved against the fleet, for the traffic generator.
  std::vector<int> resolvers;  // latency_rise, maintenance
  int zone = -1;               // nxdomain_spike, servfail_rise, ttl_change, domain traffic_surge
  int client = -1;             // dga, tunnelling
  std::string domain;          // tunnelling: the tunnel's registered domain
  NxdomainVariant variant = NxdomainVariant::kBadDelegation;
  uint64_t seed = 0;  // per entry: a DGA family, a tunnel's payload
};

struct ChangeEvent {
  int64_t ts_ns = 0;
  std::string kind;  // maintenance_start | maintenance_end | deploy | zone_change | cert_deploy
  std::string scope_kind, scope_value;
  std::string id;
  std::string note;  // "" = none
};

struct Timeline {
  std::vector<Incident> incidents;   // by start
  std::vector<ChangeEvent> changes;  // by ts
  // Table entries skipped or cut because they fall past the end of the span (e.g. with a
  // shorter --days), with their file:line.
  std::vector<std::string> warnings;
};

Timeline PlanTimeline(const Scenario& scenario, const Fleet& fleet);

// One JSON line each (with the trailing newline), in the docs/decisions.md formats.
void AppendIncidentJson(const Incident& incident, std::string* out);
void AppendChangeJson(const ChangeEvent& change, std::string* out);

}  // namespace dnsight::sim
