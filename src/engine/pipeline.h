// Pipeline: from observations to feature rows — normalize, route, window, emit.
//
//   sources ──► SourceSink (per source: counters, dead letter) ──► Pipeline::Accept
//     ──► normalize ──► watermark / lateness check ──► batch ──► route by entity key
//     ──► N shards (ViewShard per view) ──► rows, sorted per closed pane ──► RowSink
//
// The watermark is max event time seen minus watermark_delay. A pane closes when the
// watermark passes its end. An event whose pane is closed is late: within
// allowed_lateness it is still folded in (counted as late_admitted); beyond it, it goes
// to the late side output (counted as late_dropped) and is not aggregated.
//
// With threads > 1, each shard runs on its own thread and owns the entities whose key
// hashes to it; batches reach shards over bounded SPSC queues (no locks on the data
// path, backpressure when full). Rows of one closed pane are sorted by (view, entity)
// before they are written, so output is identical for any thread count.
//
// Thread-safety: the sinks from AddSource() and Tick() may be called from different
// threads (they share an uncontended mutex). Finish() is called once, after the sources
// have stopped.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/observation.h"
#include "engine/config.h"
#include "engine/view_shard.h"

namespace dnsight {

// Where rows and rejected input go. Implementations: JSON-lines files (row_writer.h),
// and collectors in tests.
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void WriteRows(const std::vector<FeatureView>& views,
                         std::span<const FeatureRow> rows) = 0;
  // A late event (beyond allowed lateness), for the side output.
  virtual void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) = 0;
  // A sampled malformed input.
  virtual void WriteDeadLetter(std::string_view source, std::string_view reason,
                               std::span<const uint8_t> sample) = 0;
};

struct PipelineCounters {
  uint64_t observations = 0;
  uint64_t events = 0;  // normalized and routed
  uint64_t late_admitted = 0;
  uint64_t late_dropped = 0;
  uint64_t out_of_range = 0;  // outside engine.accept_from/to (backfill ranges)
  uint64_t rows = 0;
  uint64_t evictions = 0;
  uint64_t entities = 0;  // live at the end
  uint64_t entities_created = 0;
  uint64_t overflow_events = 0;  // view events folded into an overflow entity
  uint64_t state_bytes = 0;      // at the end
  std::map<std::string, uint64_t, std::less<>> rejected;  // normalization failures by reason
};

struct SourceCounters {
  std::string name;
  uint64_t observations = 0;
  uint64_t late_admitted = 0;
  uint64_t late_dropped = 0;
  std::map<std::string, uint64_t, std::less<>> malformed;
  uint64_t dead_letter_samples = 0;
};

class Pipeline {
 public:
  // cfg and sink must outlive the pipeline.
  // `clock` (the wall clock, for engine.max_future) defaults to the system clock; when
  // given it must outlive the pipeline.
  Pipeline(const EngineConfig& cfg, RowSink& sink, const Clock* clock = nullptr);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // An ObservationSink for one source; counts and samples its malformed input.
  ObservationSink& AddSource(const std::string& name);
  // Processing-time tick (see EngineOptions::idle_advance_ns): if no observation arrived
  // since the previous ticks for idle_advance, closes the panes the quiet time covers.
  // Thread-safe with respect to the source sinks.
  void Tick(int64_t wall_now_ns);
  // Flushes all batches and closes every pane (end of input).
  void Finish();

  // Everything, shard state included. REQUIRES: Finish() has returned (the shards' state
  // is read without synchronization).
  PipelineCounters counters() const;
  // Per source. Thread-safe: takes the sources' mutex, so any thread may call it live.
  std::vector<SourceCounters> source_counters() const;
  // The ingest-side counters only (observations, events, late, out of range, rejected):
  // thread-safe, for live monitoring; rows, entities and state are left at zero.
  PipelineCounters IngestCounters() const;

 private:
  class SourceSink;
  class Shard;
  void Accept(const RawDnsObservation& obs, SourceCounters& source);
  void Malformed(std::string_view reason, std::span<const uint8_t> sample, SourceCounters& source);
  void FlushBatch();
  std::shared_ptr<DnsEventBatch> NextBatch();
  void AdvanceWatermark(int64_t first_open_pane);
  void CollectRows(std::vector<FeatureRow>& rows);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsight
