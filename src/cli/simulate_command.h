// The `simulate` subcommand: synthetic fleet telemetry with a ground-truth incident
// timeline (src/sim/README.md). Returns a process exit code: 0 success, 1 an output could
// not be written, 2 bad scenario or usage.
#pragma once

#include <cstdint>
#include <string>

namespace CLI {
class App;
}

namespace dnsight {

struct SimulateOptions {
  std::string scenario_path;  // "" = the built-in default fleet
  double days = 0;            // 0 = the scenario's span
  int64_t seed = -1;          // -1 = the scenario's seed
  std::string start;          // RFC 3339; "" = the scenario's start
  std::string out_dir = "sim-out";
  std::string formats = "jsonl";  // comma-separated: jsonl, dnstap, pcap
  std::string jsonl_path;         // "" = <out>/events.jsonl; "-" = stdout
  double realtime_speed = 0;      // 0 = as fast as possible
  double rate_scale = 0;          // 0 = the scenario's
  int auto_incidents = -1;        // -1 = the scenario's
};

// Registers `simulate` and its flags on app; the options are filled when it is parsed.
CLI::App* AddSimulateCommand(CLI::App& app, SimulateOptions* options);
int SimulateCommand(const SimulateOptions& options);

}  // namespace dnsight
