// WeakLabeler: training labels for one incident class from an incident timeline
// (incidents.jsonl, docs/decisions.md), for feature rows keyed by (entity, window end).
//
// A row (entity, t) is
//   positive     when t lies in [start, end] of an incident of the class whose scope value
//                equals the entity;
//   negative     when it is not positive and t lies in [start, end] of a benign incident
//                (`benign: true`, or class maintenance) on the entity, or when no incident
//                of any class lies within ±quiet of t on the entity (a quiet period);
//   unlabelled   otherwise (near or inside an incident of another class, or just outside
//                an incident of the class, where the truth's edges are uncertain).
// A benign or quiet check counts an incident "on the entity" when its scope value equals
// the entity or its scope kind is "global"; a positive needs the exact scope value.
// Region-scoped incidents cannot be tied to an entity without its rollup and are ignored.
//
// Thread-safety: Label is const and thread-safe after construction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detect/eval.h"

namespace dnsight {

enum class WeakLabel : int8_t { kUnlabelled = -1, kNegative = 0, kPositive = 1 };

struct WeakLabelOptions {
  int64_t quiet_ns = 3'600'000'000'000;  // no incident within this of t: a quiet negative
};

struct WeakLabelCounts {
  uint64_t positives = 0;
  uint64_t negatives = 0;
  uint64_t dropped = 0;  // unlabelled rows
  void Add(WeakLabel l) {
    (l == WeakLabel::kPositive ? positives : l == WeakLabel::kNegative ? negatives : dropped)++;
  }
};

class WeakLabeler {
 public:
  WeakLabeler(const std::vector<EvalIncident>& incidents, std::string klass,
              const WeakLabelOptions& options = {});

  WeakLabel Label(std::string_view entity, int64_t window_end_ns) const;

  const std::string& klass() const { return klass_; }

 private:
  struct Span {
    int64_t start_ns, end_ns;
    bool target;  // non-benign incident of klass_
    bool benign;
  };
  std::string klass_;
  WeakLabelOptions options_;
  std::unordered_map<std::string, std::vector<Span>> by_entity_;
  std::vector<Span> global_;
};

}  // namespace dnsight
