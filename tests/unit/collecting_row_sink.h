// CollectingRowSink: a RowSink for tests that keeps every feature row, counts late events
// and keeps each dead letter's reason. Not synchronized: read it after the pipeline has
// finished (threaded pipelines hand rows to their sink under a lock of their own).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "engine/pipeline.h"

namespace dnsight::test_support {

struct CollectingRowSink : RowSink {
  std::vector<FeatureRow> rows;
  size_t late = 0;
  std::vector<std::string> dead;  // reasons, in arrival order

  void WriteRows(const std::vector<FeatureView>&, std::span<const FeatureRow> r) override {
    rows.insert(rows.end(), r.begin(), r.end());
  }
  void WriteLate(const DnsEventBatch&, const DnsEvent&, int64_t) override { ++late; }
  void WriteDeadLetter(std::string_view, std::string_view reason,
                       std::span<const uint8_t>) override {
    dead.emplace_back(reason);
  }
};

}  // namespace dnsight::test_support
