// `dnsight train`: fits a model from the offline store's history of one view and saves it
// as a versioned model file that a detection rule then scores online.
// Returns a process exit code: 0 success, 1 runtime failure, 2 bad config or usage.
#pragma once

#include <cstdint>
#include <string>

namespace dnsight {

struct TrainOptions {
  std::string config_path;
  std::string kind = "iforest";
  std::string view;
  std::string features;  // comma-separated; default: every feature of the view
  std::string from, to;  // RFC 3339 window-end range ("" = all history)
  std::string output;
  uint32_t trees = 100;
  uint32_t sample = 256;
  uint64_t seed = 1;
};

int TrainCommand(const TrainOptions& o);

}  // namespace dnsight
