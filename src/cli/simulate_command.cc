#include "cli/simulate_command.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/time_util.h"
#include "sim/simulator.h"

namespace dnsight {

CLI::App* AddSimulateCommand(CLI::App& app, SimulateOptions* o) {
  auto* cmd = app.add_subcommand(
      "simulate",
      "synthetic fleet telemetry (jsonl/dnstap/pcap) with a ground-truth incident "
      "timeline and change events");
  cmd->add_option("-s,--scenario", o->scenario_path,
                  "scenario YAML (default: the built-in fleet; see examples/sim/fleet.yaml)");
  cmd->add_option("--days", o->days, "simulated span in days (overrides the scenario)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "PRNG seed (overrides the scenario)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--start", o->start, "first simulated instant, RFC 3339");
  cmd->add_option("-o,--out", o->out_dir, "output directory (default sim-out)");
  cmd->add_option("--format", o->formats, "event formats, comma-separated: jsonl,dnstap,pcap");
  cmd->add_option("--jsonl", o->jsonl_path,
                  "JSON lines events to this path instead of <out>/events.jsonl; - = stdout");
  cmd->add_option("--realtime-speed", o->realtime_speed,
                  "pace writing at X times real time (e.g. 60); default: as fast as possible")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rate-scale", o->rate_scale, "multiply every query rate")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--auto-incidents", o->auto_incidents,
                  "place every incident class N more times at random (overrides the scenario)")
      ->check(CLI::Range(0, 100));
  return cmd;
}

int SimulateCommand(const SimulateOptions& o) {
  sim::SimulationOptions run;
  run.out_dir = o.out_dir;
  // JSON lines are always written: they are the reference the other formats mirror.
  run.jsonl = true;
  std::stringstream formats(o.formats);
  for (std::string f; std::getline(formats, f, ',');) {
    if (f == "jsonl" || f.empty()) {
      continue;
    } else if (f == "dnstap") {
      run.dnstap = true;
    } else if (f == "pcap") {
      run.pcap = true;
    } else {
      std::fprintf(stderr,
                   "dnsight simulate: --format: unknown format '%s' (jsonl, dnstap, pcap)\n",
                   f.c_str());
      return 2;
    }
  }
  run.jsonl_path = o.jsonl_path;
  if (o.realtime_speed < 0 || !std::isfinite(o.realtime_speed)) {
    std::fprintf(stderr, "dnsight simulate: --realtime-speed must be > 0\n");
    return 2;
  }
  run.realtime_speed = o.realtime_speed;

  sim::World world;
  try {
    sim::Scenario sc = o.scenario_path.empty() ? sim::ParseScenario("", "(default)")
                                               : sim::LoadScenario(o.scenario_path);
    if (o.days < 0 || o.days > 366) throw sim::ScenarioError("--days: must be between 0 and 366");
    if (o.days > 0) sc.span_ns = static_cast<int64_t>(std::llround(o.days * 86400.0 * 1e9));
    if (o.seed >= 0) sc.seed = static_cast<uint64_t>(o.seed);
    if (!o.start.empty()) {
      const auto t = ParseRfc3339(o.start);
      if (!t) throw sim::ScenarioError("--start: expected RFC 3339 (got '" + o.start + "')");
      sc.start_ns = *t;
    }
    if (o.rate_scale < 0 || o.rate_scale > 10000)
      throw sim::ScenarioError("--rate-scale: must be between 0 and 10000");
    if (o.rate_scale > 0) sc.rate_scale = o.rate_scale;
    if (o.auto_incidents > 100) throw sim::ScenarioError("--auto-incidents: at most 100");
    if (o.auto_incidents >= 0) sc.auto_incidents = o.auto_incidents;
    world = sim::World::Build(std::move(sc));
    for (const std::string& w : world.timeline.warnings)
      std::fprintf(stderr, "dnsight simulate: warning: %s\n", w.c_str());
  } catch (const sim::ScenarioError& e) {
    std::fprintf(stderr, "dnsight simulate: %s\n", e.what());
    return 2;
  }

  const Result<sim::SimulationSummary> r = sim::RunSimulation(world, run);
  if (!r.ok()) {
    std::fprintf(stderr, "dnsight simulate: %s\n", r.status().ToString().c_str());
    return 1;
  }
  const sim::SimulationSummary& s = *r;
  std::fprintf(stderr, "dnsight simulate: %s .. %s, seed %llu: %llu events in %.1f s\n",
               FormatRfc3339(world.scenario.start_ns).c_str(),
               FormatRfc3339(world.scenario.start_ns + world.scenario.span_ns).c_str(),
               static_cast<unsigned long long>(world.scenario.seed),
               static_cast<unsigned long long>(s.events), s.wall_seconds);
  std::string classes;
  for (size_t c = 0; c < sim::kIncidentClassCount; ++c) {
    if (!classes.empty()) classes += ", ";
    classes += std::string(sim::IncidentClassName(static_cast<sim::IncidentClass>(c))) + " " +
               std::to_string(s.incidents_by_class[c]);
  }
  std::fprintf(stderr, "  incidents: %s\n  change events: %zu\n", classes.c_str(), s.changes);
  for (const auto& [path, bytes] : s.files)
    std::fprintf(stderr, "  %s: %llu bytes\n", path.c_str(),
                 static_cast<unsigned long long>(bytes));
  return 0;
}

}  // namespace dnsight
