// Time-series transforms over one feature's series of window values for one entity.
//
// Each time a window value of the source feature is emitted for an entity, the engine
// calls Push(window_end_ns, value) and then Value() for the transformed feature. NaN
// values are skipped: they are not stored and do not advance anything.
//
// Kinds (Value() is NaN until the transform has what it needs):
//   ewma          s = alpha * x + (1 - alpha) * s, seeded with the first value.
//   rolling_mean  mean of the last window_points values.
//   rolling_std   population standard deviation of the last window_points values.
//   median        median of the last window_points values (mean of the middle two when
//                 even).
//   mad           median absolute deviation from that median over the same values
//                 (unscaled; multiply by 1.4826 for a normal-consistent sigma).
//   pct_change    100 * (x - previous) / |previous|; NaN when previous is 0.
//   delta_1d      x minus the value one period_ns earlier (default one day): a history
//                 of one sample per step_ns (the first value pushed in each step) is
//                 kept, and the sample nearest to t - period_ns, at most step_ns away, is
//                 used; NaN if there is none.
//   slope         least-squares slope, in value units per second, of the last
//                 window_points (t, x) points; NaN with fewer than 2 points or no time
//                 spread.
//
// Memory is bounded and allocated on the first Push: ewma and pct_change hold a few
// scalars; rolling_mean/rolling_std/median/mad hold window_points doubles (8 bytes
// each), slope 16 bytes per point; delta_1d holds ceil(period_ns / step_ns) + 3 samples of
// 16 bytes (1 day at the default 15 min step: 99 samples, about 1.6 KiB).
// window_points is clamped into [1, kMaxWindowPoints], alpha into (0, 1], and step_ns is
// raised so that a delta history never exceeds kMaxDeltaSamples samples.
//
// Thread-safety: a SeriesTransform is a value owned by one shard thread. It copies what
// it needs from the spec, so the spec need not outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dnsight {

struct TransformSpec {
  enum Kind : uint8_t {
    kEwma,
    kRollingMean,
    kRollingStd,
    kMedian,
    kMad,
    kPctChange,
    kDelta,
    kSlope
  };

  Kind kind = kEwma;
  // Suffix of the output feature ("<source>_<name>"); ParseTransformSpec sets it to the
  // kind's name.
  std::string name = "ewma";
  double alpha = 0.3;                      // ewma smoothing factor
  int window_points = 12;                  // rolling kinds and slope
  int64_t period_ns = 86'400'000'000'000;  // delta_1d: one day
  int64_t step_ns = 900'000'000'000;       // delta_1d history resolution: 15 min
};

// Sets out->kind and out->name from a kind name ("ewma", "rolling_mean", "rolling_std",
// "median", "mad", "pct_change", "delta_1d", "slope"); the other fields are left as they
// are. Returns false (leaving *out unchanged) for any other name.
bool ParseTransformSpec(std::string_view kind_name, TransformSpec* out);
std::string_view TransformKindName(TransformSpec::Kind kind);

class SeriesTransform {
 public:
  static constexpr int kMaxWindowPoints = 10000;
  static constexpr int64_t kMaxDeltaSamples = 100000;

  explicit SeriesTransform(const TransformSpec& spec);

  // Appends a point. NaN values are ignored. Times should not decrease; an earlier time
  // is accepted but only matters to slope and to delta_1d's history.
  void Push(int64_t t_ns, double value);
  // The transformed value after the last Push; NaN when undefined.
  double Value() const;
  // Heap plus inline bytes held.
  size_t MemoryBytes() const;
  void Reset();

  TransformSpec::Kind kind() const { return kind_; }

 private:
  struct Sample {
    int64_t t_ns;
    double value;
  };

  double RollingMean() const;
  double RollingStd() const;
  double RollingMedian(bool mad) const;
  double Slope() const;
  double Delta() const;
  size_t SlotOf(int64_t bucket) const;
  int64_t BucketOf(int64_t t_ns) const;

  TransformSpec::Kind kind_;
  double alpha_;
  uint32_t window_;
  int64_t period_ns_;
  int64_t step_ns_;
  size_t delta_slots_;

  uint64_t pushed_ = 0;  // non-NaN points seen
  int64_t last_t_ = 0;
  double last_ = 0;
  double prev_ = 0;  // pct_change: the point before last
  double ewma_ = 0;

  // Rolling kinds and slope: a ring of the last window_ points (times only for slope).
  std::vector<double> ring_values_;
  std::vector<int64_t> ring_times_;
  size_t ring_head_ = 0;  // next slot to overwrite once the ring is full

  // delta_1d: slot bucket % delta_slots_ holds the first sample of that step.
  std::vector<Sample> history_;
};

}  // namespace dnsight
