// The `run` and `validate` subcommands. Each returns a process exit code:
// 0 success, 1 runtime failure (a source could not be read), 2 bad config or usage.
#pragma once

#include <string>
#include <vector>

namespace dnsight {

struct RunOptions {
  std::string config_path;
  int threads = 0;  // 0: from config
  std::vector<std::string> extra_sources;
  std::string features_path;
  std::string counters_path;
  std::string decisions_path;  // overrides detect.decisions
  std::string views;           // comma-separated subset of the config's views ("" = all)
  // Backfill: replay files in event time into the store (offline; online too with
  // backfill_online), with no idle advance and no API. from/to bound event time.
  bool backfill = false;
  bool backfill_online = false;
  std::string from;  // RFC 3339, inclusive
  std::string to;    // RFC 3339, exclusive
};

int RunCommand(const RunOptions& options);
int ValidateCommand(const std::string& config_path);

}  // namespace dnsight
