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
};

int RunCommand(const RunOptions& options);
int ValidateCommand(const std::string& config_path);

}  // namespace dnsight
