#include "features/ddsketch.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "common/serial.h"
#include "common/vector_util.h"

namespace dnsight {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr uint32_t kMaxBucketsLimit = 1u << 20;

uint64_t SatAdd(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s < a ? std::numeric_limits<uint64_t>::max() : s;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace

DDSketch::DDSketch(double relative_accuracy, int max_buckets)
    : alpha_(std::isnan(relative_accuracy)
                 ? 0.01
                 : std::clamp(relative_accuracy, kMinRelativeAccuracy, kMaxRelativeAccuracy)),
      inv_log_gamma_(1.0 / std::log(Gamma())),
      min_(kInf),
      max_(-kInf),
      max_buckets_(static_cast<uint32_t>(std::clamp<int64_t>(max_buckets, 1, kMaxBucketsLimit))) {}

int32_t DDSketch::IndexOf(double v) const {
  return static_cast<int32_t>(std::ceil(std::log(v) * inv_log_gamma_));
}

double DDSketch::ValueOf(int32_t index) const {
  // log(gamma) of the last accuracy used on this thread (sketches of a view share one).
  thread_local double cached_alpha = kNaN, cached_log_gamma = 0;
  const double gamma = Gamma();
  if (alpha_ != cached_alpha) {
    cached_alpha = alpha_;
    cached_log_gamma = std::log(gamma);
  }
  return 2.0 * std::exp(static_cast<double>(index) * cached_log_gamma) / (gamma + 1.0);
}

void DDSketch::Add(double value) {
  if (!(value >= std::numeric_limits<double>::min())) {
    if (std::isnan(value)) return;
    // Zero, negative, or subnormal: the zero bucket.
    ++zero_count_;
    ++count_;
    min_ = std::min(min_, 0.0);
    max_ = std::max(max_, 0.0);
    return;
  }
  if (value == kInf) return;
  if (value != last_value_) {
    last_value_ = value;
    last_index_ = IndexOf(value);
  }
  const int32_t idx = last_index_;
  if (dense()) {
    if (DenseAdd(idx)) {
      ++count_;
      min_ = std::min(min_, value);
      max_ = std::max(max_, value);
      return;
    }
    ToSparse();
  }
  auto it = std::lower_bound(buckets_.begin(), buckets_.end(), idx,
                             [](const Bucket& b, int32_t i) { return b.index < i; });
  if (it != buckets_.end() && it->index == idx) {
    ++it->count;
  } else {
    buckets_.insert(it, Bucket{idx, 1});
    if (buckets_.size() > max_buckets_) CollapseLowest();
    MaybeDense();
  }
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

bool DDSketch::DenseAdd(int32_t idx) {
  int64_t off = int64_t{idx} - dense_lo_;
  if (off < 0 || off >= static_cast<int64_t>(dense_.size())) {
    const int64_t lo = std::min<int64_t>(idx, dense_lo_);
    const int64_t hi = std::max<int64_t>(idx, dense_lo_ + static_cast<int64_t>(dense_.size()) - 1);
    if (hi - lo + 1 > kDenseSpanPerBucket * (int64_t{dense_nonempty_} + 1)) return false;
    if (dense_nonempty_ + 1 > max_buckets_) return false;  // the sparse form collapses
    // Exactly the new span: growth is rare once the range of values has been seen, and
    // the vector's doubling would cost up to twice the memory.
    dense_.reserve(static_cast<size_t>(hi - lo + 1));
    if (off < 0) {
      dense_.insert(dense_.begin(), static_cast<size_t>(-off), 0);
      dense_lo_ = idx;
      off = 0;
    } else {
      dense_.resize(static_cast<size_t>(off) + 1, 0);
    }
  }
  uint64_t& c = dense_[static_cast<size_t>(off)];
  if (c == 0) {
    if (dense_nonempty_ + 1 > max_buckets_) return false;  // the sparse form collapses
    ++dense_nonempty_;
  }
  c = SatAdd(c, 1);
  return true;
}

bool DDSketch::DenseMerge(const DDSketch& other) {
  if (other.num_buckets() == 0) return true;  // only zeros: nothing to add here
  const int64_t other_lo = other.dense() ? other.dense_lo_ : other.buckets_.front().index;
  const int64_t other_hi = other.dense()
                               ? other.dense_lo_ + static_cast<int64_t>(other.dense_.size()) - 1
                               : other.buckets_.back().index;
  const int64_t lo = std::min<int64_t>(dense_lo_, other_lo);
  const int64_t hi =
      std::max<int64_t>(dense_lo_ + static_cast<int64_t>(dense_.size()) - 1, other_hi);
  // The merged sketch has at least as many non-empty buckets as the larger part.
  const int64_t floor_nonempty =
      std::max<int64_t>(dense_nonempty_, static_cast<int64_t>(other.num_buckets()));
  if (hi - lo + 1 > kDenseSpanPerBucket * floor_nonempty) return false;
  dense_.reserve(static_cast<size_t>(hi - lo + 1));
  if (lo < dense_lo_) {
    dense_.insert(dense_.begin(), static_cast<size_t>(dense_lo_ - lo), 0);
    dense_lo_ = static_cast<int32_t>(lo);
  }
  if (hi - lo + 1 > static_cast<int64_t>(dense_.size()))
    dense_.resize(static_cast<size_t>(hi - lo + 1), 0);
  uint32_t added = 0;
  const auto add = [&](int64_t index, uint64_t count) {
    uint64_t& c = dense_[static_cast<size_t>(index - dense_lo_)];
    added += c == 0;
    c = SatAdd(c, count);
  };
  if (other.dense()) {
    for (size_t i = 0; i < other.dense_.size(); ++i)
      if (other.dense_[i] != 0) add(other.dense_lo_ + static_cast<int64_t>(i), other.dense_[i]);
  } else {
    for (const Bucket& b : other.buckets_) add(b.index, b.count);
  }
  dense_nonempty_ += added;
  if (dense_nonempty_ > max_buckets_) {
    ToSparse();
    CollapseLowest();
  }
  return true;
}

void DDSketch::ToDense() {
  const int32_t lo = buckets_.front().index;
  dense_.assign(static_cast<size_t>(buckets_.back().index - lo + 1), 0);
  for (const Bucket& b : buckets_) dense_[static_cast<size_t>(b.index - lo)] = b.count;
  dense_lo_ = lo;
  dense_nonempty_ = static_cast<uint32_t>(buckets_.size());
  std::vector<Bucket>().swap(buckets_);
}

void DDSketch::ToSparse() {
  buckets_.clear();
  buckets_.reserve(dense_nonempty_ + 1);
  AppendBuckets(&buckets_);
  std::vector<uint64_t>().swap(dense_);
  dense_nonempty_ = 0;
}

void DDSketch::MaybeDense() {
  const size_t n = buckets_.size();
  // At the bucket limit the sparse form collapses; switching there would flap.
  if (n < kMinDenseBuckets || n >= max_buckets_) return;
  const int64_t span = int64_t{buckets_.back().index} - buckets_.front().index + 1;
  if (span <= kDenseSpanPerBucket * static_cast<int64_t>(n)) ToDense();
}

void DDSketch::AppendBuckets(std::vector<Bucket>* out) const {
  if (!dense()) {
    out->insert(out->end(), buckets_.begin(), buckets_.end());
    return;
  }
  for (size_t i = 0; i < dense_.size(); ++i) {
    if (dense_[i] != 0) out->push_back(Bucket{dense_lo_ + static_cast<int32_t>(i), dense_[i]});
  }
}

void DDSketch::CollapseLowest() {
  if (buckets_.size() <= max_buckets_) return;
  const size_t excess = buckets_.size() - max_buckets_;
  uint64_t sum = 0;
  for (size_t i = 0; i <= excess; ++i) sum = SatAdd(sum, buckets_[i].count);
  buckets_[excess].count = sum;
  buckets_.erase(buckets_.begin(), buckets_.begin() + static_cast<std::ptrdiff_t>(excess));
}

double DDSketch::Quantile(double q) const {
  if (count_ == 0 || !(q >= 0.0 && q <= 1.0)) return kNaN;
  if (q == 0.0) return min_;  // the extremes are tracked exactly
  if (q == 1.0) return max_;
  const double rank = q * static_cast<double>(count_ - 1);
  double result = max_;
  if (static_cast<double>(zero_count_) > rank) {
    result = 0.0;
  } else {
    double cumulative = static_cast<double>(zero_count_);
    if (dense()) {
      for (size_t i = 0; i < dense_.size(); ++i) {
        cumulative += static_cast<double>(dense_[i]);
        if (dense_[i] != 0 && cumulative > rank) {
          result = ValueOf(dense_lo_ + static_cast<int32_t>(i));
          break;
        }
      }
    } else {
      for (const Bucket& b : buckets_) {
        cumulative += static_cast<double>(b.count);
        if (cumulative > rank) {
          result = ValueOf(b.index);
          break;
        }
      }
    }
  }
  return std::clamp(result, min_, max_);
}

void DDSketch::Merge(const DDSketch& other) {
  if (&other == this) {
    const DDSketch copy = other;
    Merge(copy);
    return;
  }
  if (other.count_ == 0) return;
  if (count_ == 0) {
    // Merging into an empty sketch (the first pane of a window) is a copy; assignment
    // reuses this sketch's bucket storage.
    *this = other;
    return;
  }
  if (!(dense() && DenseMerge(other))) {
    // Sparse: the two sorted bucket lists merged into a per-thread buffer.
    if (dense()) ToSparse();
    thread_local std::vector<Bucket> theirs;
    const std::vector<Bucket>* b = &other.buckets_;
    if (other.dense()) {
      theirs.clear();
      other.AppendBuckets(&theirs);
      b = &theirs;
    }
    thread_local std::vector<Bucket> merged;
    merged.clear();
    merged.reserve(buckets_.size() + b->size());
    size_t i = 0, j = 0;
    while (i < buckets_.size() || j < b->size()) {
      if (j == b->size() || (i < buckets_.size() && buckets_[i].index < (*b)[j].index)) {
        merged.push_back(buckets_[i++]);
      } else if (i == buckets_.size() || (*b)[j].index < buckets_[i].index) {
        merged.push_back((*b)[j++]);
      } else {
        merged.push_back(Bucket{buckets_[i].index, SatAdd(buckets_[i].count, (*b)[j].count)});
        ++i;
        ++j;
      }
    }
    // Copied back rather than swapped: a swap would hand this sketch the buffer's
    // capacity, which follows the largest merge this thread has done.
    buckets_.assign(merged.begin(), merged.end());
    CollapseLowest();
    MaybeDense();
  }
  count_ = SatAdd(count_, other.count_);
  zero_count_ = SatAdd(zero_count_, other.zero_count_);
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void DDSketch::Serialize(std::string* out) const {
  out->push_back(static_cast<char>(kFormatVersion));
  PutF64(out, alpha_);
  PutVarint(out, max_buckets_);
  PutVarint(out, zero_count_);
  PutF64(out, min_);
  PutF64(out, max_);
  thread_local std::vector<Bucket> dense_buckets;
  const std::vector<Bucket>* buckets = &buckets_;
  if (dense()) {
    dense_buckets.clear();
    AppendBuckets(&dense_buckets);
    buckets = &dense_buckets;
  }
  PutVarint(out, buckets->size());
  int64_t prev = 0;
  for (size_t i = 0; i < buckets->size(); ++i) {
    const Bucket& b = (*buckets)[i];
    PutVarint(out, i == 0 ? ZigZag(b.index) : static_cast<uint64_t>(b.index - prev));
    prev = b.index;
    PutVarint(out, b.count);
  }
}

Status DDSketch::Deserialize(std::string_view* in) {
  SerialReader r{*in};
  uint8_t version;
  double alpha, mn, mx;
  uint64_t max_buckets, zero_count, n;
  if (!r.U8(&version)) return Status::InvalidArgument("ddsketch: truncated header");
  if (version != kFormatVersion) return Status::InvalidArgument("ddsketch: unknown version");
  if (!r.F64(&alpha) || !r.Varint(&max_buckets) || !r.Varint(&zero_count) || !r.F64(&mn) ||
      !r.F64(&mx) || !r.Varint(&n))
    return Status::InvalidArgument("ddsketch: truncated header");
  if (alpha != alpha_) return Status::InvalidArgument("ddsketch: relative accuracy mismatch");
  if (max_buckets != max_buckets_) return Status::InvalidArgument("ddsketch: max_buckets mismatch");
  if (n > max_buckets_) return Status::InvalidArgument("ddsketch: too many buckets");
  if (n > r.in.size() / 2) return Status::InvalidArgument("ddsketch: bucket count exceeds input");
  DDSketch fresh(alpha_, static_cast<int>(max_buckets_));
  // Buckets of the smallest normal and the largest finite double.
  const int32_t min_index = IndexOf(std::numeric_limits<double>::min());
  const int32_t max_index = IndexOf(std::numeric_limits<double>::max());
  fresh.buckets_.reserve(n);
  uint64_t total = zero_count;
  int64_t idx = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t raw, count;
    if (!r.Varint(&raw) || !r.Varint(&count))
      return Status::InvalidArgument("ddsketch: truncated bucket");
    if (i == 0) {
      idx = UnZigZag(raw);
      if (idx < min_index || idx > max_index)
        return Status::InvalidArgument("ddsketch: bucket index out of range");
    } else {
      if (raw == 0) return Status::InvalidArgument("ddsketch: bucket indices not increasing");
      if (raw > static_cast<uint64_t>(max_index - idx))
        return Status::InvalidArgument("ddsketch: bucket index out of range");
      idx += static_cast<int64_t>(raw);
    }
    if (count == 0) return Status::InvalidArgument("ddsketch: empty bucket");
    total = SatAdd(total, count);  // Merge saturates the same way
    fresh.buckets_.push_back(Bucket{static_cast<int32_t>(idx), count});
  }
  if (total > 0) {
    if (!std::isfinite(mn) || !std::isfinite(mx) || mn < 0 || mn > mx)
      return Status::InvalidArgument("ddsketch: bad min/max");
    fresh.min_ = mn;
    fresh.max_ = mx;
  }
  fresh.count_ = total;
  fresh.zero_count_ = zero_count;
  *this = std::move(fresh);
  *in = r.in;
  return Status::Ok();
}

size_t DDSketch::MemoryBytes() const {
  return sizeof(*this) + buckets_.capacity() * sizeof(Bucket) +
         dense_.capacity() * sizeof(uint64_t);
}

void DDSketch::Clear() {
  ClearKeepingSmallBuffer(buckets_);
  std::vector<uint64_t>().swap(dense_);  // a recycled sketch starts sparse
  dense_nonempty_ = 0;
  count_ = 0;
  zero_count_ = 0;
  min_ = kInf;
  max_ = -kInf;
}

}  // namespace dnsight
