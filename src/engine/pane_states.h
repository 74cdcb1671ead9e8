// PaneStates: the aggregation states of one pane (or block, or merge target), every
// aggregation's state in one allocation.
//
// A view has about twenty aggregations; as separate heap objects a pane cost twenty-one
// allocations, and every merge of two panes chased forty pointers to scattered objects.
// Here a pane is one allocation: a table of state pointers, then the states at offsets
// fixed per view (PaneLayout). Sketch states still keep their own buffers (registers,
// bins, counters) on the heap.
//
// Thread-safety: a value type; one owner at a time. The layout, and the views' specs it
// points to, must outlive every PaneStates made from it.
#pragma once

#include <cstddef>
#include <vector>

#include "dnsight/aggregator.h"

namespace dnsight {

// Where each state of a view's aggregations sits in a PaneStates allocation.
class PaneLayout {
 public:
  explicit PaneLayout(const std::vector<AggregationSpec>& specs);
  size_t size() const { return specs_.size(); }

 private:
  friend class PaneStates;
  const std::vector<AggregationSpec>& specs_;
  std::vector<size_t> offsets_;  // of each state from the start of the allocation
  size_t bytes_ = 0;             // the whole allocation
};

class PaneStates {
 public:
  PaneStates() = default;
  // Fresh (empty) states for every aggregation of the layout.
  explicit PaneStates(const PaneLayout& layout);
  ~PaneStates();
  PaneStates(PaneStates&& other) noexcept;
  PaneStates& operator=(PaneStates&& other) noexcept;
  PaneStates(const PaneStates&) = delete;
  PaneStates& operator=(const PaneStates&) = delete;

  size_t size() const { return size_; }
  // The state of aggregation i (in the view's order). REQUIRES: i < size().
  AggState* operator[](size_t i) const { return table()[i]; }
  AggState* const* begin() const { return table(); }
  AggState* const* end() const { return table() + size_; }

 private:
  AggState** table() const { return reinterpret_cast<AggState**>(memory_); }
  void Destroy();

  std::byte* memory_ = nullptr;  // state pointers, then the states
  size_t size_ = 0;
};

}  // namespace dnsight
