#include "features/timeseries.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "common/int_math.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kEmptySample = std::numeric_limits<int64_t>::min();

struct KindName {
  TransformSpec::Kind kind;
  std::string_view name;
};

constexpr KindName kKindNames[] = {
    {TransformSpec::kEwma, "ewma"},
    {TransformSpec::kRollingMean, "rolling_mean"},
    {TransformSpec::kRollingStd, "rolling_std"},
    {TransformSpec::kMedian, "median"},
    {TransformSpec::kMad, "mad"},
    {TransformSpec::kPctChange, "pct_change"},
    {TransformSpec::kDelta, "delta_1d"},
    {TransformSpec::kSlope, "slope"},
};

// Median of v[0..n), reordering it.
double MedianInPlace(double* v, size_t n) {
  const size_t mid = n / 2;
  std::nth_element(v, v + mid, v + n);
  const double upper = v[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(v, v + mid);
  return lower + (upper - lower) / 2;
}

}  // namespace

bool ParseTransformSpec(std::string_view kind_name, TransformSpec* out) {
  for (const auto& k : kKindNames) {
    if (k.name == kind_name) {
      out->kind = k.kind;
      out->name = std::string(k.name);
      return true;
    }
  }
  return false;
}

std::string_view TransformKindName(TransformSpec::Kind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  return "?";
}

SeriesTransform::SeriesTransform(const TransformSpec& spec)
    : kind_(spec.kind),
      alpha_(spec.alpha > 0 && spec.alpha <= 1 ? spec.alpha : (spec.alpha > 1 ? 1.0 : 0.3)),
      window_(static_cast<uint32_t>(std::clamp(spec.window_points, 1, kMaxWindowPoints))),
      period_ns_(std::max<int64_t>(spec.period_ns, 1)),
      step_ns_(std::max<int64_t>(spec.step_ns, 1)) {
  // Bound the history: at most kMaxDeltaSamples steps per period.
  const int64_t min_step = period_ns_ / kMaxDeltaSamples + 1;
  if (period_ns_ / step_ns_ >= kMaxDeltaSamples) step_ns_ = min_step;
  delta_slots_ = static_cast<size_t>((period_ns_ + step_ns_ - 1) / step_ns_ + 3);
}

int64_t SeriesTransform::BucketOf(int64_t t_ns) const {
  return FloorDiv(t_ns, step_ns_);
}

size_t SeriesTransform::SlotOf(int64_t bucket) const {
  const auto n = static_cast<int64_t>(delta_slots_);
  return static_cast<size_t>(((bucket % n) + n) % n);
}

void SeriesTransform::Push(int64_t t_ns, double value) {
  if (std::isnan(value)) return;
  prev_ = last_;
  last_ = value;
  last_t_ = t_ns;
  ++pushed_;
  switch (kind_) {
    case TransformSpec::kEwma:
      ewma_ = pushed_ == 1 ? value : alpha_ * value + (1 - alpha_) * ewma_;
      break;
    case TransformSpec::kPctChange:
      break;
    case TransformSpec::kRollingMean:
    case TransformSpec::kRollingStd:
    case TransformSpec::kMedian:
    case TransformSpec::kMad:
    case TransformSpec::kSlope: {
      const bool timed = kind_ == TransformSpec::kSlope;
      if (ring_values_.size() < window_) {
        if (ring_values_.capacity() == 0) {
          ring_values_.reserve(window_);
          if (timed) ring_times_.reserve(window_);
        }
        ring_values_.push_back(value);
        if (timed) ring_times_.push_back(t_ns);
      } else {
        ring_values_[ring_head_] = value;
        if (timed) ring_times_[ring_head_] = t_ns;
        ring_head_ = (ring_head_ + 1) % window_;
      }
      break;
    }
    case TransformSpec::kDelta: {
      if (history_.empty()) history_.assign(delta_slots_, Sample{kEmptySample, 0});
      const int64_t bucket = BucketOf(t_ns);
      Sample& s = history_[SlotOf(bucket)];
      // Keep the first sample of each step; overwrite what is left from older laps.
      if (s.t_ns == kEmptySample || BucketOf(s.t_ns) != bucket) s = Sample{t_ns, value};
      break;
    }
  }
}

double SeriesTransform::Value() const {
  if (pushed_ == 0) return kNaN;
  switch (kind_) {
    case TransformSpec::kEwma:
      return ewma_;
    case TransformSpec::kRollingMean:
      return RollingMean();
    case TransformSpec::kRollingStd:
      return RollingStd();
    case TransformSpec::kMedian:
      return RollingMedian(false);
    case TransformSpec::kMad:
      return RollingMedian(true);
    case TransformSpec::kPctChange:
      if (pushed_ < 2 || prev_ == 0) return kNaN;
      return 100.0 * (last_ - prev_) / std::fabs(prev_);
    case TransformSpec::kDelta:
      return Delta();
    case TransformSpec::kSlope:
      return Slope();
  }
  return kNaN;
}

double SeriesTransform::RollingMean() const {
  if (ring_values_.empty()) return kNaN;
  double sum = 0;
  for (const double v : ring_values_) sum += v;
  return sum / static_cast<double>(ring_values_.size());
}

double SeriesTransform::RollingStd() const {
  if (ring_values_.empty()) return kNaN;
  const double mean = RollingMean();
  double m2 = 0;
  for (const double v : ring_values_) m2 += (v - mean) * (v - mean);
  return std::sqrt(m2 / static_cast<double>(ring_values_.size()));
}

double SeriesTransform::RollingMedian(bool mad) const {
  const size_t n = ring_values_.size();
  if (n == 0) return kNaN;
  // Value() runs once per emitted window, not per event; small windows stay on the stack.
  constexpr size_t kStackPoints = 256;
  std::array<double, kStackPoints> stack_buf;
  std::vector<double> heap_buf;
  double* buf = stack_buf.data();
  if (n > kStackPoints) {
    heap_buf.resize(n);
    buf = heap_buf.data();
  }
  std::copy(ring_values_.begin(), ring_values_.end(), buf);
  const double median = MedianInPlace(buf, n);
  if (!mad) return median;
  for (size_t i = 0; i < n; ++i) buf[i] = std::fabs(ring_values_[i] - median);
  return MedianInPlace(buf, n);
}

double SeriesTransform::Slope() const {
  const size_t n = ring_values_.size();
  if (n < 2) return kNaN;
  // Times relative to the latest point, in seconds, keep the sums well conditioned.
  double t_mean = 0, v_mean = 0;
  for (size_t i = 0; i < n; ++i) {
    t_mean += static_cast<double>(ring_times_[i] - last_t_) / 1e9;
    v_mean += ring_values_[i];
  }
  t_mean /= static_cast<double>(n);
  v_mean /= static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dt = static_cast<double>(ring_times_[i] - last_t_) / 1e9 - t_mean;
    sxy += dt * (ring_values_[i] - v_mean);
    sxx += dt * dt;
  }
  if (sxx == 0) return kNaN;
  return sxy / sxx;
}

double SeriesTransform::Delta() const {
  if (history_.empty()) return kNaN;
  if (last_t_ < std::numeric_limits<int64_t>::min() + period_ns_) return kNaN;
  const int64_t target = last_t_ - period_ns_;
  const int64_t bucket = BucketOf(target);
  const Sample* best = nullptr;
  int64_t best_dist = 0;
  for (int64_t b = bucket - 1; b <= bucket + 1; ++b) {
    const Sample& s = history_[SlotOf(b)];
    if (s.t_ns == kEmptySample || BucketOf(s.t_ns) != b) continue;
    const int64_t dist = s.t_ns > target ? s.t_ns - target : target - s.t_ns;
    if (dist > step_ns_) continue;
    if (best == nullptr || dist < best_dist) {
      best = &s;
      best_dist = dist;
    }
  }
  if (best == nullptr) return kNaN;
  return last_ - best->value;
}

size_t SeriesTransform::MemoryBytes() const {
  return sizeof(*this) + ring_values_.capacity() * sizeof(double) +
         ring_times_.capacity() * sizeof(int64_t) + history_.capacity() * sizeof(Sample);
}

void SeriesTransform::Reset() {
  pushed_ = 0;
  last_t_ = 0;
  last_ = prev_ = ewma_ = 0;
  ring_head_ = 0;
  std::vector<double>().swap(ring_values_);
  std::vector<int64_t>().swap(ring_times_);
  std::vector<Sample>().swap(history_);
}

}  // namespace dnsight
