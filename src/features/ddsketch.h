// DDSketch: quantiles of non-negative values with a relative-accuracy guarantee
// (Masson, Rim, Lee: "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
// Relative-Error Guarantees", VLDB 2019).
//
// A value x > 0 falls in bucket i = ceil(log_gamma(x)), gamma = (1 + alpha) / (1 - alpha);
// the bucket answers 2 gamma^i / (gamma + 1), which is within relative error alpha of
// every value in it. Quantile(q) returns the bucket of the sorted element at rank
// floor(q * (count - 1)), clamped to the exact [min, max] seen; q = 0 and q = 1 return
// that exact min and max.
//
// Domain: DNS telemetry values (latency, sizes, TTLs) are never negative, so the sketch
// keeps only positive buckets plus a zero bucket. Negative values and values below the
// smallest normal double are counted in the zero bucket (they answer 0); NaN and
// infinities are ignored.
//
// Memory: buckets are a sorted vector of (index, count), 16 bytes per non-empty bucket,
// at most max_buckets (default 2048; at alpha = 1 % that spans a ratio of about e^41
// between the smallest and largest value). Beyond that the lowest buckets are collapsed
// into one, so only the lowest quantiles lose accuracy.
//
// Serialized form (version 1, little-endian): u8 version, f64 alpha, varint max_buckets,
// varint zero_count, f64 min, f64 max, varint n, then n pairs (index, varint count) where
// the first index is a zigzag varint and each later one a varint delta >= 1 from the
// previous. Deserialize validates all of it.
//
// Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

class DDSketch {
 public:
  static constexpr int kDefaultMaxBuckets = 2048;
  static constexpr double kMinRelativeAccuracy = 1e-6;
  static constexpr double kMaxRelativeAccuracy = 0.5;
  static constexpr uint8_t kFormatVersion = 1;

  // alpha is clamped into [kMinRelativeAccuracy, kMaxRelativeAccuracy] (NaN becomes the
  // default 0.01), max_buckets into [1, 1 << 20].
  explicit DDSketch(double relative_accuracy = 0.01, int max_buckets = kDefaultMaxBuckets);

  void Add(double value);

  // The q-quantile, q in [0, 1]; NaN when empty or q is outside [0, 1] or NaN.
  double Quantile(double q) const;

  // Folds `other` in. REQUIRES: same relative accuracy and max_buckets.
  void Merge(const DDSketch& other);

  void Serialize(std::string* out) const;
  // Replaces this sketch with one read from the front of *in and advances *in past it.
  // Alpha and max_buckets must equal this sketch's. On error returns InvalidArgument and
  // leaves this sketch unchanged.
  Status Deserialize(std::string_view* in);

  uint64_t count() const { return count_; }
  uint64_t zero_count() const { return zero_count_; }
  double min() const { return min_; }  // +inf when empty
  double max() const { return max_; }  // -inf when empty
  double relative_accuracy() const { return alpha_; }
  size_t num_buckets() const { return buckets_.size(); }
  bool empty() const { return count_ == 0; }
  size_t MemoryBytes() const;
  void Clear();

 private:
  struct Bucket {
    int32_t index;
    uint64_t count;
  };

  int32_t IndexOf(double v) const;
  double ValueOf(int32_t index) const;
  void CollapseLowest();

  double alpha_;
  double gamma_;
  double inv_log_gamma_;
  double log_gamma_;
  int32_t min_index_;  // bucket of the smallest normal double
  int32_t max_index_;  // bucket of the largest finite double
  uint32_t max_buckets_;
  uint64_t count_ = 0;
  uint64_t zero_count_ = 0;
  double min_;
  double max_;
  std::vector<Bucket> buckets_;  // sorted by index, counts > 0
  // The last value added and its bucket index: repeated values (TTLs, sizes) skip the log.
  double last_value_ = -1;
  int32_t last_index_ = 0;
};

}  // namespace dnsight
