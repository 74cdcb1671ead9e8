// RowMonitor: watches feature rows on their way down the sink chain — rows, null values,
// schema errors and the newest window end per view (freshness for /metrics) — and reports
// the newest window end of each batch after the rest of the chain has taken it.
//
// Thread-safety: WriteRows runs under the shared LockedRowSink; the counters are atomics
// read by metrics threads. Ownership: `next` is borrowed and must outlive the monitor.
#pragma once

#include <atomic>
#include <cmath>
#include <functional>
#include <vector>

#include "engine/pipeline.h"

namespace dnsight {

class RowMonitor : public RowSink {
 public:
  struct PerView {
    std::atomic<uint64_t> rows{0}, values{0}, nulls{0}, schema_errors{0};
    std::atomic<int64_t> newest{0};
  };

  RowMonitor(RowSink& next, size_t views, std::function<void(int64_t)> after_rows)
      : next_(next), per_view_(views), after_rows_(std::move(after_rows)) {}

  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> rows) override {
    int64_t newest = INT64_MIN;
    for (const FeatureRow& r : rows) {
      newest = std::max(newest, r.window_end_ns);
      if (r.view >= per_view_.size()) continue;
      PerView& v = per_view_[r.view];
      v.rows.fetch_add(1, std::memory_order_relaxed);
      if (r.values.size() != views[r.view].feature_names.size())
        v.schema_errors.fetch_add(1, std::memory_order_relaxed);
      uint64_t nulls = 0;
      for (double x : r.values) nulls += std::isnan(x) ? 1 : 0;
      v.values.fetch_add(r.values.size(), std::memory_order_relaxed);
      v.nulls.fetch_add(nulls, std::memory_order_relaxed);
      if (r.window_end_ns > v.newest.load(std::memory_order_relaxed))
        v.newest.store(r.window_end_ns, std::memory_order_relaxed);  // one writer at a time
    }
    next_.WriteRows(views, rows);
    if (newest != INT64_MIN && after_rows_) after_rows_(newest);
  }
  void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) override {
    next_.WriteLate(batch, e, watermark_ns);
  }
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override {
    next_.WriteDeadLetter(source, reason, sample);
  }

  const std::vector<PerView>& per_view() const { return per_view_; }

 private:
  RowSink& next_;
  std::vector<PerView> per_view_;
  std::function<void(int64_t)> after_rows_;
};

}  // namespace dnsight
