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
// A sketch whose buckets lie close together (at least kMinDenseBuckets of them, spanning
// at most kDenseSpanPerBucket indices per non-empty bucket) keeps them instead as an
// array of counts over that span: an Add is one index, not a binary search and an
// insert, and it costs no more memory (8 bytes per index of the span). It returns to
// the sorted vector when a value far outside the span would break that bound. The two
// forms hold the same buckets, so results do not depend on the form.
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
  static constexpr size_t kMinDenseBuckets = 16;
  static constexpr int64_t kDenseSpanPerBucket = 2;

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
  size_t num_buckets() const { return dense() ? dense_nonempty_ : buckets_.size(); }
  bool empty() const { return count_ == 0; }
  size_t MemoryBytes() const;
  void Clear();

 private:
  struct Bucket {
    int32_t index;
    uint64_t count;
  };

  bool dense() const { return !dense_.empty(); }
  // Counts one more value in bucket idx of the dense form; false (nothing changed) when
  // idx lies so far outside the span that the sketch should be sparse.
  bool DenseAdd(int32_t idx);
  // Folds other's buckets (either form) into this dense sketch's counts; false (nothing
  // changed) when the union of the spans is too wide for their buckets.
  bool DenseMerge(const DDSketch& other);
  void ToDense();   // REQUIRES: sparse, with at least one bucket
  void ToSparse();  // REQUIRES: dense
  // Switches a sparse sketch to the dense form when its buckets are close enough.
  void MaybeDense();
  // Appends the non-empty buckets, lowest first, whatever the form.
  void AppendBuckets(std::vector<Bucket>* out) const;
  int32_t IndexOf(double v) const;
  double ValueOf(int32_t index) const;
  void CollapseLowest();

  // Derived from alpha_ where needed: gamma and log(gamma) for ValueOf, the index bounds
  // for Deserialize (each sketch of a pane costs memory, so only the hot factor is kept).
  double Gamma() const { return (1 + alpha_) / (1 - alpha_); }

  double alpha_;
  double inv_log_gamma_;  // 1 / log(gamma), for IndexOf
  uint64_t count_ = 0;
  uint64_t zero_count_ = 0;
  double min_;
  double max_;
  // The last value added and its bucket index: repeated values (TTLs, sizes) skip the log.
  double last_value_ = -1;
  std::vector<Bucket> buckets_;  // sorted by index, counts > 0; empty while dense
  // Dense form: dense_[i] counts bucket dense_lo_ + i; the first and last are non-zero and
  // dense_nonempty_ of them are. Empty while sparse.
  std::vector<uint64_t> dense_;
  uint32_t max_buckets_;
  int32_t dense_lo_ = 0;
  uint32_t dense_nonempty_ = 0;
  int32_t last_index_ = 0;
};

}  // namespace dnsight
