#include "engine/view_shard.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/int_math.h"

namespace dnsight {
namespace {

constexpr size_t kMaxFreeAggVectors = 4096;
// Coarse panes per block: complete, aligned blocks of this many coarse panes keep their
// merged states, so a long coarse window merges a few blocks instead of every pane
// (a 1h window over 1m panes: about 8 + 7 merges instead of 60).
constexpr int64_t kBlockPanes = 8;

}  // namespace

struct ViewShard::Pane {
  int64_t index = 0;
  AggVector aggs;
};

// The merged states of the coarse panes [index * kBlockPanes, (index + 1) * kBlockPanes),
// newest merged first, for blocks of two or more panes. Built on first use once the block
// is complete; a change to any of its panes (a late event, a rollup) clears `valid`.
struct ViewShard::Block {
  int64_t index = 0;
  bool valid = false;
  AggVector aggs;
};

struct ViewShard::Entity {
  std::string key;
  uint64_t hash = 0;  // FeatureView::EntityHash(key)
  std::deque<Pane> fine;
  std::deque<Pane> coarse;
  std::deque<Block> blocks;                                 // sorted by index
  int64_t last_pane = std::numeric_limits<int64_t>::min();  // latest on-time pane
  int64_t dirty_pane = std::numeric_limits<int64_t>::min();
  // The expiry bucket of the entity's newest expiry entry; only that entry may evict it
  // (older entries for the same last_pane can exist and must not).
  int64_t expiry_at = std::numeric_limits<int64_t>::min();
  std::vector<uint32_t> pending;  // selection being gathered in Add()
  // Values of the coarse windows as of coarse_cache_end: they only change when a coarse
  // pane completes, so rows within one coarse pane share them.
  std::vector<double> coarse_cache;
  int64_t coarse_cache_end = std::numeric_limits<int64_t>::min();
  std::vector<SeriesTransform> transforms;
};

ViewShard::ViewShard(uint32_t view_index, const FeatureView& view, const EngineOptions& options)
    : view_index_(view_index),
      view_(view),
      layout_(view.aggregations),
      pane_ns_(options.pane_ns),
      coarse_ns_(options.coarse_pane_ns),
      max_entities_(std::max<size_t>(
          1, options.max_entities_per_view / static_cast<size_t>(std::max(options.threads, 1)))) {
  int64_t longest_fine = 0, longest_coarse = 0;
  for (int64_t w : view.windows_ns) {
    if (w > options.fine_window_limit_ns) {
      has_coarse_ = true;
      longest_coarse = std::max(longest_coarse, w);
    } else {
      longest_fine = std::max(longest_fine, w);
    }
  }
  fine_panes_kept_ = std::max(CeilDiv(longest_fine, pane_ns_), int64_t{1});
  coarse_panes_kept_ = CeilDiv(longest_coarse, coarse_ns_) + 1;
  // Blocks pay off once the longest coarse window spans a few of them.
  use_blocks_ = options.coarse_blocks && coarse_panes_kept_ >= 3 * kBlockPanes;
  evict_after_panes_ =
      CeilDiv(view.longest_window_ns + options.allowed_lateness_ns + coarse_ns_, pane_ns_) + 1;
  scratch_ = NewAggs();
  for (size_t a = 0; a < view.aggregations.size(); ++a) {
    const size_t outputs = view.aggregations[a].OutputNames().size();
    outputs_per_window_ += outputs;
    per_second_output_.insert(per_second_output_.end(), outputs, view.per_second[a]);
  }
  for (int64_t w : view.windows_ns)
    if (has_coarse_ && w > fine_panes_kept_ * pane_ns_) coarse_windows_.emplace_back(w, 0);
  for (size_t i = 0; i < coarse_windows_.size(); ++i) coarse_windows_[i].second = i;
  std::sort(coarse_windows_.begin(), coarse_windows_.end());
}

ViewShard::~ViewShard() = default;

ViewShard::AggVector ViewShard::NewAggs() {
  if (!free_aggs_.empty()) {
    AggVector v = std::move(free_aggs_.back());
    free_aggs_.pop_back();
    return v;
  }
  return AggVector(layout_);
}

void ViewShard::Recycle(AggVector&& aggs) {
  if (free_aggs_.size() >= kMaxFreeAggVectors) return;
  for (auto& a : aggs) a->Reset();
  free_aggs_.push_back(std::move(aggs));
}

ViewShard::Entity& ViewShard::FindOrCreate(const std::string& key, uint64_t hash) {
  if (Entity* e = entities_.Find(key, hash)) return *e;
  if (entities_.size() >= max_entities_ && key != kOverflowEntityKey) {
    ++counters_.overflow_events;
    const uint64_t overflow_hash = view_.EntityHash(kOverflowEntityKey);
    if (Entity* o = entities_.Find(kOverflowEntityKey, overflow_hash)) return *o;
    return Create(std::string(kOverflowEntityKey), overflow_hash);
  }
  return Create(key, hash);
}

ViewShard::Entity& ViewShard::Create(const std::string& key, uint64_t hash) {
  auto e = std::make_unique<Entity>();
  e->key = key;
  e->hash = hash;
  e->transforms.reserve(view_.transforms.size());
  for (const auto& t : view_.transforms) e->transforms.emplace_back(t.spec);
  ++counters_.entities_created;
  return entities_.Insert(std::move(e), hash);
}

ViewShard::Pane& ViewShard::PaneFor(std::deque<Pane>& panes, int64_t index) {
  // Panes are sorted by index; new events almost always hit the last one.
  auto it = panes.end();
  while (it != panes.begin() && std::prev(it)->index > index) --it;
  if (it != panes.begin() && std::prev(it)->index == index) return *std::prev(it);
  Pane p;
  p.index = index;
  p.aggs = NewAggs();
  return *panes.insert(it, std::move(p));
}

void ViewShard::Add(const DnsEventBatch& batch, std::span<const uint32_t> sel) {
  // Group the selection by entity first, so each aggregation sees runs of events.
  touched_.clear();
  const uint64_t* hashes = view_.EntityHashes(batch);
  for (uint32_t i : sel) {
    view_.EntityKey(batch, batch.events[i], &key_);
    Entity& e = FindOrCreate(key_, hashes != nullptr ? hashes[i] : view_.EntityHash(key_));
    if (e.pending.empty()) touched_.push_back(&e);
    e.pending.push_back(i);
  }
  counters_.events += sel.size();
  const int64_t coarse_ratio = coarse_ns_ / pane_ns_;
  // The pipeline's pane column is small and stays in cache; the events' timestamps are
  // spread over the whole batch. A batch without one (not from the pipeline) gets one here.
  const int64_t* panes = batch.panes.data();
  if (batch.panes.size() != batch.size()) {
    local_panes_.clear();
    for (const DnsEvent& ev : batch.events) local_panes_.push_back(FloorDiv(ev.ts_ns, pane_ns_));
    panes = local_panes_.data();
  }
  for (Entity* e : touched_) {
    auto& pending = e->pending;
    size_t start = 0;
    while (start < pending.size()) {
      // The run: following events in the same pane.
      const int64_t pane = panes[pending[start]];
      size_t end = start + 1;
      while (end < pending.size() && panes[pending[end]] == pane) ++end;
      const std::span<const uint32_t> run(pending.data() + start, end - start);
      if (pane < first_open_pane_) {
        // Late but admitted: the base pane was already emitted and rolled up, so update
        // the coarse pane too (if the view has coarse windows).
        counters_.late_admitted += run.size();
        if (e->expiry_at == std::numeric_limits<int64_t>::min()) {
          // An entity first seen through a late event emits no row; it must still expire.
          e->expiry_at = pane + evict_after_panes_;
          expiry_[e->expiry_at].emplace_back(e, e->last_pane);
        }
        if (pane >= first_open_pane_ - fine_panes_kept_) {
          UpdateStates(PaneFor(e->fine, pane).aggs, batch, run);
        }
        if (has_coarse_) {
          const int64_t coarse = FloorDiv(pane, coarse_ratio);
          UpdateStates(PaneFor(e->coarse, coarse).aggs, batch, run);
          InvalidateBlock(*e, coarse);
        }
      } else {
        UpdateStates(PaneFor(e->fine, pane).aggs, batch, run);
        e->last_pane = std::max(e->last_pane, pane);
        if (e->dirty_pane != pane) {
          // An entity can be dirty in several open panes; each gets one row.
          auto& list = dirty_[pane];
          if (list.empty() || list.back() != e) list.push_back(e);
          e->dirty_pane = pane;
        }
      }
      start = end;
    }
    pending.clear();
  }
}

void ViewShard::UpdateStates(const AggVector& aggs, const DnsEventBatch& batch,
                             std::span<const uint32_t> run) {
  // Chunks small enough that their events stay in the first-level cache while every
  // aggregation reads them; an aggregation over a whole long run (a server's, 65k events
  // a batch) would stream them all from memory again for each aggregation.
  constexpr size_t kChunk = 256;
  for (size_t lo = 0; lo < run.size(); lo += kChunk) {
    const std::span<const uint32_t> chunk = run.subspan(lo, std::min(kChunk, run.size() - lo));
    for (const auto& a : aggs) a->Update(batch, chunk);
  }
}

const ViewShard::AggVector* ViewShard::MergeRange(const std::deque<Pane>& panes, int64_t lo,
                                                  int64_t hi) {
  // Most windows of a sparse entity hold one non-empty pane: finalize it in place rather
  // than copying it into the scratch states.
  const Pane* only = nullptr;
  size_t count = 0;
  for (const Pane& p : panes) {
    if (p.index < lo) continue;
    if (p.index >= hi) break;
    only = &p;
    if (++count > 1) break;
  }
  if (count == 1) return &only->aggs;
  for (auto& s : scratch_) s->Reset();
  if (count == 0) return &scratch_;
  range_tables_.clear();
  for (const Pane& p : panes) {
    if (p.index < lo) continue;
    if (p.index >= hi) break;
    range_tables_.push_back(p.aggs.begin());
  }
  MergeTables(range_tables_, scratch_);
  return &scratch_;
}

void ViewShard::MergeTables(std::span<AggState* const* const> tables, const AggVector& into) {
  if (tables.empty()) return;
  for (size_t a = 0; a < into.size(); ++a) {
    parts_.clear();
    for (AggState* const* t : tables) parts_.push_back(t[a]);
    into[a]->MergeMany(parts_);
  }
}

void ViewShard::InvalidateBlock(Entity& e, int64_t coarse_index) {
  const int64_t block = FloorDiv(coarse_index, kBlockPanes);
  for (auto it = e.blocks.rbegin(); it != e.blocks.rend() && it->index >= block; ++it) {
    if (it->index == block) it->valid = false;
  }
}

const ViewShard::AggVector* ViewShard::BlockStates(Entity& e, int64_t block) {
  auto it = std::lower_bound(e.blocks.begin(), e.blocks.end(), block,
                             [](const Block& b, int64_t i) { return b.index < i; });
  if (it != e.blocks.end() && it->index == block && it->valid) return &it->aggs;
  // The block's panes, newest first. None or one: no merged copy is kept (the pane's own
  // states stand in for the block), so sparse entities pay no memory for blocks.
  const int64_t lo = block * kBlockPanes;
  const Pane* newest = nullptr;
  size_t panes = 0;
  for (auto p = e.coarse.rbegin(); p != e.coarse.rend() && p->index >= lo; ++p) {
    if (p->index >= lo + kBlockPanes) continue;
    if (newest == nullptr) newest = &*p;
    ++panes;
  }
  if (panes <= 1) {
    if (it != e.blocks.end() && it->index == block) {
      Recycle(std::move(it->aggs));
      e.blocks.erase(it);
    }
    return newest == nullptr ? nullptr : &newest->aggs;
  }
  if (it == e.blocks.end() || it->index != block) {
    Block fresh;
    fresh.index = block;
    fresh.aggs = NewAggs();
    it = e.blocks.insert(it, std::move(fresh));
  }
  Block& b = *it;
  // Newest pane first, as the pane-by-pane walk merges them.
  for (auto& a : b.aggs) a->Reset();
  block_tables_.clear();
  for (auto p = e.coarse.rbegin(); p != e.coarse.rend() && p->index >= lo; ++p) {
    if (p->index >= lo + kBlockPanes) continue;
    block_tables_.push_back(p->aggs.begin());
  }
  MergeTables(block_tables_, b.aggs);
  b.valid = true;
  return &b.aggs;
}

void ViewShard::Emit(Entity& e, int64_t pane_index, std::vector<FeatureRow>* out) {
  const int64_t coarse_ratio = coarse_ns_ / pane_ns_;
  const int64_t end_ns = (pane_index + 1) * pane_ns_;
  // Roll the closing base pane into its coarse pane.
  if (has_coarse_) {
    for (const Pane& p : e.fine) {
      if (p.index != pane_index) continue;
      Pane& c = PaneFor(e.coarse, FloorDiv(pane_index, coarse_ratio));
      for (size_t a = 0; a < c.aggs.size(); ++a) c.aggs[a]->Merge(*p.aggs[a]);
      InvalidateBlock(e, c.index);
    }
  }
  FeatureRow row;
  row.view = view_index_;
  row.window_end_ns = end_ns;
  row.entity_key = e.key;
  row.values.reserve(view_.feature_names.size());
  const int64_t coarse_end = FloorDiv(end_ns, coarse_ns_);  // first coarse pane not complete
  // A window's values: every aggregation finalized, per-second ones divided by its length.
  const auto finalize_raw = [&](const AggVector& aggs) {
    finalized_.clear();
    for (const auto& a : aggs) a->Finalize(&finalized_);
  };
  const auto scale = [&](int64_t w, std::vector<double>* values) {
    const double seconds = static_cast<double>(w) / 1e9;
    for (size_t k = 0; k < finalized_.size(); ++k)
      values->push_back(per_second_output_[k] ? finalized_[k] / seconds : finalized_[k]);
  };
  const auto is_fine = [&](int64_t w) { return !has_coarse_ || w <= fine_panes_kept_ * pane_ns_; };
  if (has_coarse_ && e.coarse_cache_end != coarse_end) {
    // Coarse windows all end at coarse_end and nest, so one pass from the newest pane
    // backwards serves them all: finalize each window when the pass reaches its start.
    // Where a whole aligned block lies inside the window, its merged states stand in for
    // its panes.
    e.coarse_cache.assign(coarse_windows_.size() * outputs_per_window_, 0.0);
    for (auto& s : scratch_) s->Reset();
    // Each window's new panes and blocks are gathered, then merged in one step per
    // aggregation (a state table stays put when its pane or block moves).
    pending_tables_.clear();
    const auto merge = [&](const AggVector& aggs) { pending_tables_.push_back(aggs.begin()); };
    auto pane = e.coarse.rbegin();
    bool finalized = false;                          // finalized_ holds scratch_'s values
    int64_t cursor = coarse_end;                     // panes below cursor are still to be merged
    for (const auto& [w, slot] : coarse_windows_) {  // shortest first
      const int64_t lo = coarse_end - w / coarse_ns_;
      while (cursor > lo) {
        const int64_t block_lo = FloorDiv(cursor - 1, kBlockPanes) * kBlockPanes;
        if (use_blocks_ && cursor == block_lo + kBlockPanes && block_lo >= lo) {
          if (const AggVector* b = BlockStates(e, block_lo / kBlockPanes)) merge(*b);
          cursor = block_lo;
          while (pane != e.coarse.rend() && pane->index >= cursor) ++pane;
        } else {
          --cursor;  // the pane to merge now
          while (pane != e.coarse.rend() && pane->index > cursor) ++pane;
          if (pane != e.coarse.rend() && pane->index == cursor) merge((pane++)->aggs);
        }
      }
      // A window with no pane beyond the shorter one's (an entity seen only recently)
      // has its states, so it reuses their finalized values.
      if (!pending_tables_.empty() || !finalized) {
        MergeTables(pending_tables_, scratch_);
        pending_tables_.clear();
        finalize_raw(scratch_);
        finalized = true;
      }
      window_values_.clear();
      scale(w, &window_values_);
      std::copy(window_values_.begin(), window_values_.end(),
                e.coarse_cache.begin() + static_cast<long>(slot * outputs_per_window_));
    }
    e.coarse_cache_end = coarse_end;
  }
  size_t cached = 0;
  for (int64_t w : view_.windows_ns) {
    if (is_fine(w)) {
      finalize_raw(*MergeRange(e.fine, pane_index + 1 - w / pane_ns_, pane_index + 1));
      scale(w, &row.values);
    } else {
      const size_t n = outputs_per_window_;
      row.values.insert(row.values.end(), e.coarse_cache.begin() + static_cast<long>(cached),
                        e.coarse_cache.begin() + static_cast<long>(cached + n));
      cached += n;
    }
  }
  for (size_t t = 0; t < e.transforms.size(); ++t) {
    e.transforms[t].Push(end_ns, row.values[static_cast<size_t>(view_.transform_source_index[t])]);
    row.values.push_back(e.transforms[t].Value());
  }
  out->push_back(std::move(row));
  ++counters_.rows;

  // Drop panes no window or late event can need any more.
  while (!e.fine.empty() && e.fine.front().index <= pane_index - fine_panes_kept_) {
    Recycle(std::move(e.fine.front().aggs));
    e.fine.pop_front();
  }
  while (!e.coarse.empty() && e.coarse.front().index < coarse_end - coarse_panes_kept_) {
    Recycle(std::move(e.coarse.front().aggs));
    e.coarse.pop_front();
  }
  while (!e.blocks.empty() &&
         (e.blocks.front().index + 1) * kBlockPanes <= coarse_end - coarse_panes_kept_) {
    Recycle(std::move(e.blocks.front().aggs));
    e.blocks.pop_front();
  }
  e.expiry_at = pane_index + evict_after_panes_;
  expiry_[e.expiry_at].emplace_back(&e, e.last_pane);
}

void ViewShard::CloseThrough(int64_t first_open_pane, std::vector<FeatureRow>* out) {
  if (first_open_pane <= first_open_pane_) return;
  while (!dirty_.empty() && dirty_.begin()->first < first_open_pane) {
    const int64_t pane = dirty_.begin()->first;
    // An entity can be listed twice when it came back to an open pane in a later batch.
    // Output order does not depend on this order: rows are sorted before writing.
    auto& entities = dirty_.begin()->second;
    std::sort(entities.begin(), entities.end());
    entities.erase(std::unique(entities.begin(), entities.end()), entities.end());
    for (Entity* e : entities) Emit(*e, pane, out);
    dirty_.erase(dirty_.begin());
  }
  while (!expiry_.empty() && expiry_.begin()->first < first_open_pane) {
    const int64_t bucket = expiry_.begin()->first;
    for (auto [e, scheduled_last] : expiry_.begin()->second) {
      // Active since, or a newer entry exists: that one decides. An entity with events in
      // a pane that is still open is not idle either: that pane's row reschedules it (the
      // watermark can jump past the expiry of its older rows in one step, e.g. on an event
      // stamped far ahead).
      if (e->expiry_at != bucket || e->last_pane != scheduled_last) continue;
      if (e->last_pane >= first_open_pane) continue;
      ++counters_.evictions;
      for (auto& p : e->fine) Recycle(std::move(p.aggs));
      for (auto& p : e->coarse) Recycle(std::move(p.aggs));
      for (auto& b : e->blocks) Recycle(std::move(b.aggs));
      const std::string key = e->key;
      entities_.Erase(key, e->hash);  // destroys *e
    }
    expiry_.erase(expiry_.begin());
  }
  first_open_pane_ = first_open_pane;
}

size_t ViewShard::MemoryBytes() const {
  // The table: a hash and an owning pointer per slot.
  size_t total = entities_.capacity() * (sizeof(uint64_t) + sizeof(void*));
  entities_.ForEach([&](const Entity& e) {
    total += sizeof(Entity) + e.key.capacity();
    for (const auto* panes : {&e.fine, &e.coarse}) {
      for (const Pane& p : *panes) {
        total += sizeof(Pane);
        for (const auto& a : p.aggs) total += a->MemoryBytes();
      }
    }
    for (const Block& b : e.blocks) {
      total += sizeof(Block);
      for (const auto& a : b.aggs) total += a->MemoryBytes();
    }
    for (const auto& t : e.transforms) total += t.MemoryBytes();
  });
  return total;
}

}  // namespace dnsight
