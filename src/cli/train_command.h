// `dnsight train`: fits a model from the offline store's history of one view and saves it
// as a versioned model file that a detection rule then scores online: an isolation forest
// (--kind iforest, unsupervised) or gradient-boosted trees (--kind xgboost, supervised by
// weak labels from an incident timeline: --truth incidents.jsonl --class C).
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
  uint32_t trees = 100;   // iforest
  uint32_t sample = 256;  // iforest
  uint64_t seed = 1;
  // xgboost: weak labels from an incident timeline for one class (detect/weak_labels.h).
  std::string truth;  // incidents.jsonl
  std::string klass;
  uint32_t rounds = 100;
  uint32_t max_depth = 4;
  double eta = 0.3;
};

int TrainCommand(const TrainOptions& o);

}  // namespace dnsight
