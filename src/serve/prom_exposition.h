// PromExposition: writes metrics in the Prometheus text exposition format (0.0.4).
//
// Each metric family is declared once with Family() (name, type, help) and its samples
// follow. Label values are escaped (backslash, quote, newline); names are taken as
// given, so callers use fixed, valid names. Non-finite values are written as NaN, +Inf
// or -Inf. The result is checked with `promtool check metrics` in the tests.
//
// Thread-safety: a value; build one per scrape.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dnsight {

using PromLabels = std::vector<std::pair<std::string, std::string>>;

class PromExposition {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // Starts a family. REQUIRES: name matches [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total.
  void Family(std::string_view name, Type type, std::string_view help);
  // One sample of the current family (name may carry a suffix such as _bucket).
  void Sample(std::string_view name, const PromLabels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  // A whole histogram: cumulative counts per upper bound (parallel to `bounds`, without
  // +Inf), plus the total count and sum. REQUIRES: the current family is a histogram.
  void Histogram(std::string_view name, const PromLabels& labels, std::span<const double> bounds,
                 std::span<const uint64_t> cumulative, uint64_t count, double sum);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace dnsight
