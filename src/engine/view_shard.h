// ViewShard: one shard's windowed state for one feature view.
//
// Holds, per entity, the panes that are still needed: base panes (engine pane size) for
// windows up to fine_window_limit, coarse panes for longer windows. Each event updates
// one base pane. When the watermark closes a pane, every entity that had events in it
// emits one FeatureRow: the base pane is rolled into its coarse pane, each window is
// merged from its panes, and transforms are applied.
//
// Window semantics at emission time T (the closed pane's end):
//   window w <= fine_window_limit: events in [T - w, T);
//   window w  > fine_window_limit: events in [Tc - w, Tc), Tc = T rounded down to the
//   coarse pane (a hopping window that advances once per coarse pane). Their values
//   are computed once per coarse pane and entity; a late event folded into a coarse
//   pane shows from the next coarse pane on.
// Long coarse windows: complete, aligned blocks of 8 coarse panes keep their merged
// states, so a window merges whole blocks where it covers them and single panes at its
// ends (a 1h window: ~15 merges instead of 60). A change to a pane of a built block
// (a late event) rebuilds it on next use. Grouping does not change counts, distinct
// counts, quantiles or extremes; sums and moments may differ in the last bits, and top-k
// lower bounds depend on the merge tree (a balanced one loses less than a long chain).
// A coarse window that holds no pane beyond the next shorter one's has the same states, so
// it reuses that window's finalized values (per-second outputs rescaled to its length).
// Events are folded into a pane in chunks of 256 per run (same results, up to the last
// bits of sums and moments, which depend on grouping).
// Merges go one step per aggregation (AggState::MergeMany): a fine window's base panes,
// a block's panes, and each coarse window's panes and blocks beyond the next shorter
// window's. Top-k then keeps the heaviest once per step, not after every pane.
// All of it is deterministic and independent of the thread count.
// Late events (pane already closed, but within allowed lateness) update their panes, so
// windows emitted later include them; rows already emitted are not revised.
// An entity with no event for longest window + allowed lateness is evicted. At most
// max_entities_per_view / threads entities live per shard; beyond that, new entities'
// events go to one overflow entity (so, unlike everything else, overflow rows depend on
// the thread count).
//
// Thread-safety: none; a ViewShard belongs to one shard thread. The view must outlive it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dnsight/aggregator.h"
#include "engine/config.h"
#include "engine/entity_table.h"
#include "engine/pane_states.h"
#include "features/feature_view.h"

namespace dnsight {

struct FeatureRow {
  uint32_t view = 0;
  int64_t window_end_ns = 0;
  std::string entity_key;
  std::vector<double> values;  // parallel to FeatureView::feature_names
};

struct ViewShardCounters {
  uint64_t events = 0;
  uint64_t late_admitted = 0;
  uint64_t rows = 0;
  uint64_t evictions = 0;
  uint64_t entities_created = 0;
  uint64_t overflow_events = 0;  // events folded into the overflow entity
};

// Entity key of the per-view overflow entity (no real key starts with 0xff 0xff).
inline constexpr std::string_view kOverflowEntityKey = "\xff\xff(overflow)";

class ViewShard {
 public:
  ViewShard(uint32_t view_index, const FeatureView& view, const EngineOptions& options);
  ~ViewShard();
  ViewShard(const ViewShard&) = delete;
  ViewShard& operator=(const ViewShard&) = delete;

  // Folds the selected events in. REQUIRES: every selected event is accepted by the view
  // and not later than allowed lateness (the router diverts those).
  void Add(const DnsEventBatch& batch, std::span<const uint32_t> sel);
  // Closes every pane that ends at or before `first_open_pane * pane`, appending rows.
  void CloseThrough(int64_t first_open_pane, std::vector<FeatureRow>* out);

  size_t entity_count() const { return entities_.size(); }
  size_t MemoryBytes() const;
  const ViewShardCounters& counters() const { return counters_; }

 private:
  struct Pane;
  struct Block;
  struct Entity;
  using AggVector = PaneStates;

  // hash: view_.EntityHash(key).
  Entity& FindOrCreate(const std::string& key, uint64_t hash);
  Entity& Create(const std::string& key, uint64_t hash);
  Pane& PaneFor(std::deque<Pane>& panes, int64_t index);
  AggVector NewAggs();
  // Folds the run's events into every state of aggs, in chunks of events (same result up
  // to rounding of sums and moments).
  void UpdateStates(const AggVector& aggs, const DnsEventBatch& batch,
                    std::span<const uint32_t> run);
  void Recycle(AggVector&& aggs);
  void Emit(Entity& e, int64_t pane_index, std::vector<FeatureRow>* out);
  // The states of panes [lo, hi) merged: the single pane's own states when only one is
  // in range, else scratch_. Valid until the next call.
  const AggVector* MergeRange(const std::deque<Pane>& panes, int64_t lo, int64_t hi);
  // The merged states of a complete coarse block (built or rebuilt on demand), the states
  // of its only pane, or nullptr when it has no pane.
  const AggVector* BlockStates(Entity& e, int64_t block);
  // Merges aggregation a of every table into into[a], in one step (AggState::MergeMany).
  void MergeTables(std::span<AggState* const* const> tables, const AggVector& into);
  // Marks the block holding coarse pane `coarse_index` as needing a rebuild.
  void InvalidateBlock(Entity& e, int64_t coarse_index);

  uint32_t view_index_;
  const FeatureView& view_;
  PaneLayout layout_;  // of view_.aggregations' states in a pane
  int64_t pane_ns_, coarse_ns_;
  int64_t fine_panes_kept_ = 0;    // base panes a fine window or lateness may need
  int64_t coarse_panes_kept_ = 0;  // coarse panes the longest coarse window needs
  bool has_coarse_ = false;
  bool use_blocks_ = false;  // long coarse windows merge whole blocks of coarse panes
  size_t outputs_per_window_ = 0;
  std::vector<bool> per_second_output_;  // per output of a window: divided by its seconds
  // Coarse windows, shortest first, with their position among the coarse windows in
  // view order (where their values sit in an entity's coarse cache).
  std::vector<std::pair<int64_t, size_t>> coarse_windows_;
  std::vector<double> window_values_;
  size_t max_entities_;
  int64_t evict_after_panes_;
  int64_t first_open_pane_ = INT64_MIN;

  EntityTable<Entity> entities_;
  std::map<int64_t, std::vector<Entity*>> dirty_;  // pane index -> entities with events
  std::map<int64_t, std::vector<std::pair<Entity*, int64_t>>> expiry_;
  std::vector<AggVector> free_aggs_;
  AggVector scratch_;                   // per-aggregation merge target for window values
  std::vector<const AggState*> parts_;  // one aggregation's states of the panes merged
  // State tables (PaneStates::begin()) gathered for one merge: a fine window's panes, a
  // block's panes, and a coarse window's new panes and blocks. Separate, because a
  // coarse window's gathering may build a block.
  std::vector<AggState*const*> range_tables_, block_tables_, pending_tables_;
  std::vector<double> finalized_;
  std::string key_;
  std::vector<Entity*> touched_;
  std::vector<int64_t> local_panes_;  // Add(): the pane column of a batch that has none
  ViewShardCounters counters_;
};

}  // namespace dnsight
