#include "store/store_sink.h"

#include <cstdio>

#include "common/int_math.h"

namespace dnsight {

StoreRowSink::StoreRowSink(OfflineStore* offline, OnlineStore* online, RowSink* next,
                           int64_t offline_partition_ns)
    : offline_(offline), online_(online), next_(next), partition_ns_(offline_partition_ns) {}

void StoreRowSink::Fail(const Status& s) {
  std::lock_guard lock(mu_);
  if (counters_.errors++ == 0) {
    counters_.first_error = s.ToString();
    std::fprintf(stderr, "dnsight: feature store write failed: %s\n", s.ToString().c_str());
  }
}

void StoreRowSink::WriteRows(const std::vector<FeatureView>& views,
                             std::span<const FeatureRow> rows) {
  if (last_partition_.size() < views.size()) last_partition_.resize(views.size(), INT64_MIN);
  // Rows arrive sorted by (view, entity): handle one run of a view at a time.
  size_t begin = 0;
  uint64_t offline_rows = 0, blocks = 0, online_records = 0, expired = 0;
  while (begin < rows.size()) {
    const uint32_t vi = rows[begin].view;
    size_t end = begin;
    while (end < rows.size() && rows[end].view == vi) ++end;
    const FeatureView& view = views[vi];
    const size_t n = end - begin, nf = view.feature_names.size();

    block_.view = view.name;
    block_.version = view.version;
    block_.feature_names = view.feature_names;
    block_.window_end_ns.resize(n);
    block_.entities.resize(n);
    block_.values.resize(n * nf);
    records_.resize(n);
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < n; ++i) {
      const FeatureRow& row = rows[begin + i];
      block_.window_end_ns[i] = row.window_end_ns;
      block_.entities[i] = view.EntityText(row.entity_key);
      for (size_t f = 0; f < nf && f < row.values.size(); ++f)
        block_.values[f * n + i] = row.values[f];
      newest = std::max(newest, row.window_end_ns);
      OnlineRecord& rec = records_[i];
      rec.view = view.name;
      rec.entity = block_.entities[i];
      rec.version = view.version;
      rec.window_end_ns = row.window_end_ns;
      rec.values = row.values;
    }
    if (offline_ != nullptr) {
      if (Status s = offline_->Append(block_); s.ok()) {
        offline_rows += n;
        ++blocks;
      } else {
        Fail(s);
      }
      const int64_t partition = FloorDiv(newest - 1, partition_ns_);
      if (view.retention_ns > 0 && partition != last_partition_[vi]) {
        last_partition_[vi] = partition;
        auto removed = offline_->EnforceRetention(view.name, view.retention_ns, newest);
        if (removed.ok())
          expired += static_cast<uint64_t>(*removed);
        else
          Fail(removed.status());
      }
    }
    if (online_ != nullptr) {
      if (Status s = online_->Put(records_); s.ok())
        online_records += n;
      else
        Fail(s);
    }
    begin = end;
  }
  {
    std::lock_guard lock(mu_);
    counters_.offline_rows += offline_rows;
    counters_.offline_blocks += blocks;
    counters_.online_records += online_records;
    counters_.partitions_expired += expired;
  }
  if (next_ != nullptr) next_->WriteRows(views, rows);
}

void StoreRowSink::WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) {
  if (next_ != nullptr) next_->WriteLate(batch, e, watermark_ns);
}

void StoreRowSink::WriteDeadLetter(std::string_view source, std::string_view reason,
                                   std::span<const uint8_t> sample) {
  if (next_ != nullptr) next_->WriteDeadLetter(source, reason, sample);
}

StoreSinkCounters StoreRowSink::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace dnsight
