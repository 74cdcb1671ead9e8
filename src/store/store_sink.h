// StoreRowSink: the engine's closed windows into the feature store.
//
// For each block of rows (one closed pane, all views), it appends one columnar block per
// view to the offline store, writes the latest vector per entity to the online store,
// and then hands the rows to the next sink (JSON lines), so anything that reached the
// feature output is already in the stores. Late events and dead letters pass straight
// through. Retention runs when a view's rows enter a new offline partition, against the
// event time of the newest window (so a backfill of old data keeps what it writes
// unless it is older than retention relative to the data itself).
//
// A store error is not fatal to ingest: it is counted, the first message is kept, and
// the rows still go to the next sink. Operators see it in the counters and in the log.
//
// Thread-safety: WriteRows is called from the pipeline's writer thread only; counters()
// may be called from any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "dnsight/online_store.h"
#include "engine/pipeline.h"
#include "store/offline_store.h"

namespace dnsight {

struct StoreSinkCounters {
  uint64_t offline_rows = 0;
  uint64_t offline_blocks = 0;
  uint64_t online_records = 0;
  uint64_t partitions_expired = 0;  // removed by retention
  uint64_t errors = 0;
  std::string first_error;
};

class StoreRowSink : public RowSink {
 public:
  // Any of offline, online and next may be null. They must outlive the sink.
  StoreRowSink(OfflineStore* offline, OnlineStore* online, RowSink* next,
               int64_t offline_partition_ns);

  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> rows) override;
  void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) override;
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override;

  StoreSinkCounters counters() const;

 private:
  void Fail(const Status& s);

  OfflineStore* offline_;
  OnlineStore* online_;
  RowSink* next_;
  int64_t partition_ns_;
  std::vector<int64_t> last_partition_;  // per view index
  OfflineBlock block_;                   // reused
  std::vector<OnlineRecord> records_;    // reused
  mutable std::mutex mu_;
  StoreSinkCounters counters_;
};

}  // namespace dnsight
