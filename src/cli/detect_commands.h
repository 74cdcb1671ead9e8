// Detection subcommands: `detect` (generic CSV scoring) and `eval` (decisions against an
// incident timeline). Each returns a process exit code: 0 success, 1 bad input or I/O
// failure, 2 bad usage.
#pragma once

#include <string>

namespace dnsight {

struct DetectOptions {
  std::string input = "-";   // CSV file or stdin
  std::string output = "-";  // CSV file or stdout
  double threshold = 4.0;
  std::string period = "1d";  // "0" disables seasonality
  std::string slot = "1h";
  std::string direction = "both";
  int min_points = 12;
  double min_scale = 1e-3;
  bool skip_bad = false;
};
int DetectCommand(const DetectOptions& o);

struct EvalCommandOptions {
  std::string truth;      // incidents.jsonl
  std::string decisions;  // decisions.jsonl
  std::string grace = "5m";
  std::string span;  // "" = from the inputs
  std::string json;  // also write the report as JSON here ("-" = stdout)
};
int EvalCommand(const EvalCommandOptions& o);

}  // namespace dnsight
