// RobustBaseline: a streaming, outlier-resistant baseline for one (entity, feature) series,
// and the robust z-score of each new point against it.
//
// For every point x at time t, Observe() first scores x against the baseline learnt from
// the points before it, then learns from x. The baseline has three parts:
//
//   reference  the seasonal profile when the point's season slot is warm: the median of the
//              slot's last `slot_history` cycles (each cycle contributes the mean of its
//              points in that slot), with 1.4826 * MAD across those cycles as its spread.
//              Otherwise the median and 1.4826 * MAD of the last `recent_points` points.
//   level      an EWMA of the residual x - reference: fast adaptation to a shift that the
//              slow seasonal profile has not seen yet, or to the lag of the recent median
//              behind a trend. Each kind of reference has its own level, so that a slot
//              turning seasonal does not inherit the other's correction.
//   deviation  an EWMA of |x - baseline| * sqrt(pi/2): a normal-consistent sigma of the
//              one-step error.
//
//   baseline = reference + level
//   scale    = max(deviation, reference spread, min_scale, relative_min_scale * |baseline|)
//   z        = (x - baseline) / scale; score = z (up), -z (down) or |z| (both), floored at 0
//
// The floor keeps a constant series from producing infinite scores. A point learns only
// its value clipped to baseline +- clip * scale, so an anomaly moves the baseline by at
// most alpha * clip * scale and a long-lasting shift is absorbed gradually, never at once.
// The first `min_points` points are warm-up: they are learnt unclipped and get no score.
// NaN, infinite and |x| > 1e300 values are missing: counted, neither scored nor learnt.
//
// Season slots are UTC: slot = (t mod period) / slot_width, cycle = floor(t / period).
// period 0 disables the seasonal term. Points need not arrive in time order, but a point
// from a cycle older than a slot's open cycle is not added to that slot's profile.
//
// Memory: allocated on the first finite point and fixed after that: 8 bytes per recent
// point plus, per season slot, 8 bytes per remembered cycle and 24 bytes of open-cycle
// state, on top of a 120-byte object. With the defaults (1d period, 1h slots, 8 cycles,
// 16 recent points) that is 120 + 16 * 8 + 24 * (8 * 8 + 24) = 2360 bytes, about 2.3 KiB;
// without seasonality, 248 bytes. MemoryBytes() reports the exact figure.
//
// Thread-safety: a RobustBaseline is a value owned by one thread (one shard). It keeps a
// pointer to its options, which are shared read-only by every baseline built from them.
// REQUIRES: the BaselineOptions outlive every RobustBaseline (and VectorBaseline) built
// from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

enum class ScoreDirection : uint8_t {
  kBoth,  // |z|: a rise or a fall is anomalous
  kUp,    // only a rise (error ratios, latency)
  kDown,  // only a fall (traffic drops)
};

// "both", "up", "down"; false for anything else.
bool ParseScoreDirection(std::string_view text, ScoreDirection* out);
std::string_view ScoreDirectionName(ScoreDirection d);

struct BaselineOptions {
  static constexpr int64_t kSecond = 1'000'000'000;
  static constexpr uint32_t kMaxSlots = 2016;  // one week of 5-minute slots
  static constexpr uint32_t kMaxSlotHistory = 64;
  static constexpr uint32_t kMaxRecentPoints = 64;

  // Season length; 0 disables the seasonal term. Must be a multiple of slot_ns.
  // Cost: period_ns / slot_ns slots of (8 * slot_history + 24) bytes each.
  int64_t period_ns = 86'400 * kSecond;
  // Width of one season slot (hour-of-day with the defaults; 1h with a 7d period is
  // hour-of-week).
  int64_t slot_ns = 3'600 * kSecond;
  // Cycles remembered per slot (N). More is steadier and slower to follow a change.
  uint32_t slot_history = 8;
  // Completed cycles a slot needs before its profile is used (k); until then the recent
  // points are the reference.
  uint32_t min_slot_points = 3;
  // Points in the recent ring (G): the non-seasonal reference. Cost 8 bytes each, and a
  // sort of G values per point while it is the reference.
  uint32_t recent_points = 16;
  // Warm-up: points learnt before any score is given.
  uint32_t min_points = 12;
  // EWMA weight of the residual level: higher follows shifts faster, and lets a sustained
  // anomaly be absorbed sooner.
  double level_alpha = 0.1;
  // EWMA weight of the error scale.
  double scale_alpha = 0.1;
  // Learnt values are clipped to baseline +- clip * scale.
  double clip = 3.0;
  // A point is anomalous when its score >= threshold.
  double threshold = 4.0;
  ScoreDirection direction = ScoreDirection::kBoth;
  // Scale floors: absolute, and relative to |baseline|. They bound the score of a
  // (nearly) constant series: a 5 % move of a constant 100 scores 5 with the defaults.
  double min_scale = 1e-3;
  double relative_min_scale = 0.01;
};

// OK, or InvalidArgument naming the first bad field.
Status ValidateBaselineOptions(const BaselineOptions& o);

struct BaselineScore {
  enum class State : uint8_t {
    kScored,   // score, baseline and scale are set
    kWarming,  // fewer than min_points learnt: no score (baseline may be set)
    kMissing,  // the value was NaN or infinite: ignored
  };
  State state = State::kMissing;
  bool anomaly = false;   // kScored and score >= threshold
  bool seasonal = false;  // the reference was the seasonal profile
  double score = 0;       // directional robust z, >= 0; NaN unless kScored
  double baseline = 0;    // expected value; NaN when there is none yet
  double scale = 0;       // the scale the score divided by (floors applied)
};

class RobustBaseline {
 public:
  // REQUIRES: ValidateBaselineOptions(*options).ok(), and *options outlives this object.
  explicit RobustBaseline(const BaselineOptions* options);

  // Scores x at t against what was learnt so far, then learns x (clipped).
  BaselineScore Observe(int64_t t_ns, double x);

  // Points learnt (finite values) and missing values seen.
  uint64_t points() const { return points_; }
  uint64_t missing() const { return missing_; }
  bool warm() const { return points_ >= options_->min_points; }
  // Heap plus inline bytes held.
  size_t MemoryBytes() const;
  void Reset();

  // Checkpoint: a versioned, checksummed encoding of the learnt state (not the options).
  void SerializeTo(std::string* out) const;
  std::string Serialize() const;
  // Restores state written by SerializeTo under options with the same period, slot width,
  // slot_history and recent_points (the other options may differ). Any other bytes give
  // InvalidArgument or OutOfRange and leave this baseline unchanged.
  Status Deserialize(std::string_view bytes);

 private:
  struct Reference {
    double center;  // NaN when nothing has been learnt
    double spread;  // 1.4826 * MAD of the values the center came from
    bool seasonal;
  };
  // One season slot: its ring of cycle means lives in values_; this is the ring's fill and
  // head, and the open cycle (the current pass through the slot) being accumulated.
  struct SlotState {
    int64_t open_cycle = 0;
    double open_sum = 0;
    uint32_t open_count = 0;
    uint8_t fill = 0;
    uint8_t head = 0;  // next ring position to overwrite
  };

  void Allocate();
  // Closes a slot's open cycle into its ring when `cycle` is a later one.
  void CloseStaleCycle(uint32_t slot, int64_t cycle);
  Reference ReferenceFor(uint32_t slot) const;
  Reference RecentReference() const;
  void Learn(int64_t cycle, uint32_t slot, double value);
  double* recent() { return values_.data(); }
  const double* recent() const { return values_.data(); }
  double* SlotRing(uint32_t slot) {
    return values_.data() + recent_cap_ + size_t{slot} * slot_cap_;
  }
  const double* SlotRing(uint32_t slot) const {
    return values_.data() + recent_cap_ + size_t{slot} * slot_cap_;
  }

  const BaselineOptions* options_;
  uint32_t slots_;     // period / slot width; 0 without seasonality
  uint32_t slot_cap_;  // slot_history
  uint32_t recent_cap_;

  uint64_t points_ = 0;
  uint64_t missing_ = 0;
  double level_recent_ = 0;    // residual level against the recent median
  double level_seasonal_ = 0;  // residual level against the seasonal profile
  double deviation_ = 0;

  uint32_t recent_fill_ = 0;
  uint32_t recent_head_ = 0;  // next recent position to overwrite

  // One allocation: the recent ring (recent_cap_ values), then each slot's ring of
  // slot_cap_ cycle means. Empty until the first finite point.
  std::vector<double> values_;
  std::vector<SlotState> slot_state_;
};

// The baselines of one entity's feature vector: one RobustBaseline per feature, in a fixed
// feature order. A value type owned by one shard thread, like RobustBaseline.
class VectorBaseline {
 public:
  // One options object per feature (directions and thresholds usually differ per feature).
  // REQUIRES: every pointer is valid and outlives this object.
  explicit VectorBaseline(std::span<const BaselineOptions* const> per_feature);
  // `features` baselines sharing one options object.
  VectorBaseline(size_t features, const BaselineOptions* options);

  size_t size() const { return series_.size(); }
  const RobustBaseline& series(size_t i) const { return series_[i]; }

  // Scores and learns one vector; values[i] belongs to feature i (NaN = missing).
  // Returns the highest score among scored features (0 if none was scored).
  // REQUIRES: values.size() == out.size() == size().
  double Observe(int64_t t_ns, std::span<const double> values, std::span<BaselineScore> out);

  size_t MemoryBytes() const;
  void SerializeTo(std::string* out) const;
  // Restores every feature's state; the feature count must match. On error this vector is
  // left unchanged.
  Status Deserialize(std::string_view bytes);

 private:
  std::vector<RobustBaseline> series_;
};

}  // namespace dnsight
