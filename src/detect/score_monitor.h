// ScoreMonitor: the distribution of one detector rule's scores, for /metrics, and its
// drift from a reference distribution as a population stability index (PSI).
//
// Scores are recorded as multiples of the rule's threshold (score / threshold), so one
// set of histogram bounds fits every detector kind: 1.0 is "at the threshold". The
// reference distribution is either
//   - the training distribution of a model rule: the decile edges of the model's scores
//     on its training rows, saved next to the model by `dnsight train` (SetReference), or
//   - for rules without training (baselines, thresholds), the first `reference_size`
//     scores the rule produced after start (frozen once full).
// PSI compares the bin shares of the latest `window_size` scores with the reference's,
// over the reference's deciles: sum (a - e) ln(a / e), shares floored at 1e-4. Below 0.1
// is usually read as stable, above 0.25 as a shift worth a look.
//
// Thread-safety: Observe (detector thread) and Snapshot (metrics readers) take one mutex.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace dnsight {

struct ScoreSnapshot {
  static constexpr std::array<double, 10> kBounds = {0.1, 0.25, 0.5, 0.75, 1.0,
                                                     1.5, 2.0,  3.0, 5.0,  10.0};
  std::array<uint64_t, kBounds.size()> cumulative{};  // scores <= bound
  uint64_t count = 0;
  double sum = 0;
  double psi = 0;         // NaN until the reference and the window both exist
  std::string reference;  // "training" | "warmup" | "" (none yet)
};

class ScoreMonitor {
 public:
  explicit ScoreMonitor(size_t reference_size = 2000, size_t window_size = 2000);

  // Replaces the reference with a training distribution: ascending decile edges of the
  // raw scores (9 values). Ignored unless edges are finite and non-decreasing.
  void SetReference(const std::vector<double>& raw_decile_edges, double threshold);
  // REQUIRES: threshold > 0.
  void Observe(double score, double threshold);
  ScoreSnapshot Snapshot() const;

 private:
  int Bin(double ratio) const;  // index into the reference deciles, 0..9

  mutable std::mutex mu_;
  size_t reference_size_, window_size_;
  std::array<uint64_t, ScoreSnapshot::kBounds.size()> buckets_{};  // non-cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
  std::vector<double> warmup_;         // ratios until the reference freezes
  std::vector<double> edges_;          // 9 decile edges of the reference, in ratio units
  std::array<double, 10> expected_{};  // reference share per decile bin
  std::string reference_;
  std::vector<uint8_t> window_;  // ring of bin indices of the latest scores
  size_t window_next_ = 0;
  std::array<uint64_t, 10> window_counts_{};
};

}  // namespace dnsight
