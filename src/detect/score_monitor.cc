#include "detect/score_monitor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dnsight {

ScoreMonitor::ScoreMonitor(size_t reference_size, size_t window_size)
    : reference_size_(std::max<size_t>(reference_size, 10)),
      window_size_(std::max<size_t>(window_size, 10)) {}

int ScoreMonitor::Bin(double ratio) const {
  return static_cast<int>(std::upper_bound(edges_.begin(), edges_.end(), ratio) - edges_.begin());
}

void ScoreMonitor::SetReference(const std::vector<double>& raw_decile_edges, double threshold) {
  if (raw_decile_edges.size() != 9 || !(threshold > 0)) return;
  for (size_t i = 0; i < raw_decile_edges.size(); ++i) {
    if (!std::isfinite(raw_decile_edges[i])) return;
    if (i > 0 && raw_decile_edges[i] < raw_decile_edges[i - 1]) return;
  }
  std::lock_guard lock(mu_);
  edges_.clear();
  for (double e : raw_decile_edges) edges_.push_back(e / threshold);
  expected_.fill(0.1);
  reference_ = "training";
  warmup_.clear();
  warmup_.shrink_to_fit();
  window_.clear();
  window_next_ = 0;
  window_counts_.fill(0);
}

void ScoreMonitor::Observe(double score, double threshold) {
  if (!std::isfinite(score) || !(threshold > 0)) return;
  const double ratio = score / threshold;
  std::lock_guard lock(mu_);
  const auto& bounds = ScoreSnapshot::kBounds;
  const size_t b =
      static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), ratio) - bounds.begin());
  if (b < bounds.size()) ++buckets_[b];
  ++count_;
  sum_ += ratio;

  if (reference_.empty()) {
    warmup_.push_back(ratio);
    if (warmup_.size() < reference_size_) return;
    // Freeze: decile edges of the warm-up scores, and the share each bin actually holds
    // (ties make the shares uneven when many scores are equal, e.g. all zero).
    std::vector<double> sorted = warmup_;
    std::sort(sorted.begin(), sorted.end());
    edges_.clear();
    for (int q = 1; q <= 9; ++q) edges_.push_back(sorted[sorted.size() * q / 10]);
    expected_.fill(0);
    for (double r : sorted)
      expected_[static_cast<size_t>(Bin(r))] += 1.0 / static_cast<double>(sorted.size());
    reference_ = "warmup";
    warmup_.clear();
    warmup_.shrink_to_fit();
    return;
  }
  const auto bin = static_cast<uint8_t>(Bin(ratio));
  if (window_.size() < window_size_) {
    window_.push_back(bin);
  } else {
    --window_counts_[window_[window_next_]];
    window_[window_next_] = bin;
    window_next_ = (window_next_ + 1) % window_size_;
  }
  ++window_counts_[bin];
}

ScoreSnapshot ScoreMonitor::Snapshot() const {
  std::lock_guard lock(mu_);
  ScoreSnapshot s;
  uint64_t running = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    running += buckets_[i];
    s.cumulative[i] = running;
  }
  s.count = count_;
  s.sum = sum_;
  s.reference = reference_;
  s.psi = std::numeric_limits<double>::quiet_NaN();
  if (!reference_.empty() && !window_.empty()) {
    constexpr double kFloor = 1e-4;
    double psi = 0;
    for (size_t i = 0; i < window_counts_.size(); ++i) {
      const double a = std::max(
          kFloor, static_cast<double>(window_counts_[i]) / static_cast<double>(window_.size()));
      const double e = std::max(kFloor, expected_[i]);
      psi += (a - e) * std::log(a / e);
    }
    s.psi = psi;
  }
  return s;
}

}  // namespace dnsight
