// The simulation as a whole: World (scenario + fleet + timeline, built once at startup)
// and RunSimulation, which writes the outputs of `dnsight simulate` into a directory:
//
//   incidents.jsonl  ground truth, one record per incident scope (docs/decisions.md)
//   changes.jsonl    change events (docs/decisions.md)
//   fleet.json       the world: regions, PoPs, resolvers, zones, bots
//   events.jsonl     transactions as JSON lines (always; or to another path or stdout)
//   events.dnstap    Frame Streams / dnstap, when asked for
//   events.pcap      pcap, when asked for
//
// The same World and options always produce byte-identical files. World::Build throws
// ScenarioError (startup); RunSimulation reports I/O failures as Status.
// Thread-safety: a World is immutable after Build; RunSimulation uses it read-only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/status.h"
#include "sim/fleet.h"
#include "sim/scenario.h"
#include "sim/timeline.h"
#include "sim/traffic.h"

namespace dnsight::sim {

struct World {
  Scenario scenario;
  Fleet fleet;
  Timeline timeline;

  static World Build(Scenario scenario);
};

struct SimulationOptions {
  std::string out_dir;  // created if missing
  bool jsonl = true;
  bool dnstap = false;
  bool pcap = false;
  std::string jsonl_path;  // "" = <out_dir>/events.jsonl; "-" = standard output
  // 0: write as fast as possible. X > 0: pace writing at X times real time (60 = one
  // simulated minute per second), flushing every simulated second.
  double realtime_speed = 0;
  const Clock* clock = nullptr;           // pacing clock; nullptr = the system clock
  std::function<void(int64_t ns)> sleep;  // pacing sleep; empty = nanosleep
};

struct SimulationSummary {
  uint64_t events = 0;
  std::array<size_t, kIncidentClassCount> incidents_by_class{};
  size_t changes = 0;
  std::vector<std::pair<std::string, uint64_t>> files;  // path, bytes
  double wall_seconds = 0;
};

Result<SimulationSummary> RunSimulation(const World& world, const SimulationOptions& options);

// Runs only the traffic generator into `sink` (tests, tools).
Status GenerateTraffic(const World& world, EventSink& sink);

}  // namespace dnsight::sim
