// LockedRowSink: serializes calls into a RowSink chain that several producers share (the
// DNS engine's writer thread and the hosting runner's threads). The chain behind it
// (stores, detectors, output) is written for one caller at a time.
//
// Thread-safety: every method takes one mutex. Ownership: `next` is borrowed.
#pragma once

#include <mutex>

#include "engine/pipeline.h"

namespace dnsight {

class LockedRowSink : public RowSink {
 public:
  explicit LockedRowSink(RowSink& next) : next_(next) {}

  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> rows) override {
    std::lock_guard lock(mu_);
    next_.WriteRows(views, rows);
  }
  void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) override {
    std::lock_guard lock(mu_);
    next_.WriteLate(batch, e, watermark_ns);
  }
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override {
    std::lock_guard lock(mu_);
    next_.WriteDeadLetter(source, reason, sample);
  }

 private:
  std::mutex mu_;
  RowSink& next_;
};

}  // namespace dnsight
