// Aggregations: the per-(entity, pane) states that feature views are built from.
//
// Every aggregation follows init / update(batch, selection) / merge / finalize /
// serialize. An AggregationSpec describes one aggregation of a view (kind, field,
// parameters); MakeAggState() creates an empty state for it (init). Update folds the
// selected events of a batch in; Merge folds another state of the same spec in (panes
// into windows, shards together, checkpoints). Finalize appends the finished feature
// values (one or more) to `out`, named after the spec's output names.
//
// Thread-safety: a state belongs to one shard thread. Specs are immutable after config
// load and shared read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/dns_event.h"
#include "dnsight/status.h"

namespace dnsight {

enum class AggKind : uint8_t {
  kCount,  // number of selected events
  kSum,    // sum of a numeric field
  kMin,
  kMax,
  kMean,       // Welford
  kVariance,   // Welford, population variance
  kRatio,      // events matching `predicate` / all selected events
  kDistinct,   // HyperLogLog distinct count of a categorical field
  kQuantiles,  // DDSketch over a numeric field; outputs one value per quantile
  kTopK,       // space-saving top-k of a categorical field; outputs top share and HHI
  kEntropy,    // Shannon entropy (bits) of a categorical field, bounded categories
};

// A simple event predicate used by ratio aggregations and view filters: field op values.
struct EventPredicate {
  DnsField field = DnsField::kRcode;
  enum class Op : uint8_t { kIn, kNotIn, kGe, kLe, kPresent } op = Op::kIn;
  std::vector<double> numbers;       // for numeric fields
  std::vector<std::string> strings;  // for categorical fields
  bool Matches(const DnsEventBatch& b, const DnsEvent& e) const;
};

struct AggregationSpec {
  std::string name;  // feature base name, e.g. "nxdomain_ratio"
  AggKind kind = AggKind::kCount;
  DnsField field = DnsField::kQname;      // ignored by count/ratio
  std::vector<EventPredicate> predicate;  // ratio numerator (all must match)
  std::vector<double> quantiles;          // kQuantiles, e.g. {0.5, 0.95, 0.99}
  int top_k = 10;                         // kTopK capacity
  int hll_precision = 12;                 // kDistinct: 2^p registers (p in [4,16])
  double relative_accuracy = 0.01;        // kQuantiles: DDSketch alpha
  int max_categories = 64;                // kEntropy: distinct categories tracked

  // Names of the values Finalize emits, in order (e.g. "latency_p50", "latency_p95").
  std::vector<std::string> OutputNames() const;
  // True when the aggregation reads `field` (count and ratio read only their predicates).
  bool ReadsField() const { return kind != AggKind::kCount && kind != AggKind::kRatio; }
};

class AggState {
 public:
  virtual ~AggState() = default;
  // REQUIRES: every index in sel < batch.size().
  virtual void Update(const DnsEventBatch& batch, std::span<const uint32_t> sel) = 0;
  // REQUIRES: other was made from the same spec.
  virtual void Merge(const AggState& other) = 0;
  // Folds every part in: by default Merge of each in turn. A sketch may combine them in
  // one step instead (top-k keeps the heaviest once, at the end).
  // REQUIRES: every part was made from the same spec, and none is this state.
  virtual void MergeMany(std::span<const AggState* const> parts) {
    for (const AggState* p : parts) Merge(*p);
  }
  // Appends exactly spec.OutputNames().size() values; NaN where undefined (e.g. a mean of
  // nothing).
  virtual void Finalize(std::vector<double>* out) const = 0;
  virtual void Serialize(std::string* out) const = 0;
  // Replaces this state with a serialized one; rejects malformed bytes.
  virtual Status Deserialize(std::string_view bytes) = 0;
  // Heap plus inline bytes held, for memory accounting.
  virtual size_t MemoryBytes() const = 0;
  virtual bool Empty() const = 0;
  virtual void Reset() = 0;
};

// init: an empty state for `spec`. `spec` must outlive the state.
std::unique_ptr<AggState> MakeAggState(const AggregationSpec& spec);

// init in place, for owners that keep many states in one allocation (src/engine's panes).
// `where` must hold AggStateSize(spec) bytes aligned to alignof(std::max_align_t). The
// state is destroyed with std::destroy_at (the destructor is virtual); the owner frees
// the memory.
size_t AggStateSize(const AggregationSpec& spec);
AggState* MakeAggStateAt(const AggregationSpec& spec, void* where);

}  // namespace dnsight
