#include "features/hyperloglog.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "common/serial.h"
#include "common/vector_util.h"

namespace dnsight {
namespace {

constexpr size_t kMinSparseCapacity = 4;
constexpr uint8_t kModeSparse = 0;
constexpr uint8_t kModeDense = 1;

size_t SlotOf(uint64_t hash, size_t capacity) {
  // The low bits: the dense register index uses the high bits, so the two stay independent.
  return static_cast<size_t>(hash) & (capacity - 1);
}

// sigma and tau from Ertl (2017), section "Improved raw estimator".
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1.0;
  double z = x;
  for (;;) {
    x *= x;
    const double z_old = z;
    z += x * y;
    y += y;
    if (z == z_old) return z;
  }
}

double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0;
  double z = 1.0 - x;
  for (;;) {
    x = std::sqrt(x);
    const double z_old = z;
    y *= 0.5;
    z -= (1.0 - x) * (1.0 - x) * y;
    if (z == z_old) return z / 3.0;
  }
}

}  // namespace

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)) {}

uint64_t HyperLogLog::Hash(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

size_t HyperLogLog::MaxSparseSize(int precision) {
  const size_t limit = (size_t{1} << std::clamp(precision, kMinPrecision, kMaxPrecision)) / 8;
  return limit < kMinSparseCapacity ? 0 : limit * 3 / 4;
}

void HyperLogLog::AddHash(uint64_t hash) {
  if (!registers_.empty()) {
    DenseAdd(hash);
    return;
  }
  SparseInsert(hash);
}

void HyperLogLog::SparseInsert(uint64_t hash) {
  if (hash == 0) hash = 1;
  if (sparse_.empty()) {
    if (SparseCapacityLimit() < kMinSparseCapacity) {
      ToDense();
      DenseAdd(hash);
      return;
    }
    sparse_.assign(kMinSparseCapacity, 0);
  }
  const size_t mask = sparse_.size() - 1;
  size_t i = SlotOf(hash, sparse_.size());
  while (sparse_[i] != 0) {
    if (sparse_[i] == hash) return;
    i = (i + 1) & mask;
  }
  if ((sparse_size_ + 1) * 4 > sparse_.size() * 3) {
    if (sparse_.size() * 2 > SparseCapacityLimit()) {
      ToDense();
      DenseAdd(hash);
      return;
    }
    GrowSparse();
    SparseInsert(hash);
    return;
  }
  sparse_[i] = hash;
  ++sparse_size_;
}

void HyperLogLog::GrowSparse() {
  std::vector<uint64_t> old = std::move(sparse_);
  sparse_.assign(old.size() * 2, 0);
  const size_t mask = sparse_.size() - 1;
  for (uint64_t h : old) {
    if (h == 0) continue;
    size_t i = SlotOf(h, sparse_.size());
    while (sparse_[i] != 0) i = (i + 1) & mask;
    sparse_[i] = h;
  }
}

void HyperLogLog::ToDense() {
  registers_.assign(size_t{1} << precision_, 0);
  for (uint64_t h : sparse_)
    if (h != 0) DenseAdd(h);
  std::vector<uint64_t>().swap(sparse_);
  sparse_size_ = 0;
}

double HyperLogLog::Estimate() const {
  if (registers_.empty()) return static_cast<double>(sparse_size_);
  const int q = 64 - precision_;
  std::array<uint32_t, 64> hist{};  // register values are in [0, q + 1] <= 61
  for (uint8_t r : registers_) ++hist[r];
  const double m = static_cast<double>(registers_.size());
  double z = m * Tau(1.0 - static_cast<double>(hist[static_cast<size_t>(q + 1)]) / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + static_cast<double>(hist[static_cast<size_t>(k)]));
  z += m * Sigma(static_cast<double>(hist[0]) / m);
  if (std::isinf(z)) return 0.0;                        // every register empty
  constexpr double kAlphaInf = 0.72134752044448170368;  // 1 / (2 ln 2)
  return kAlphaInf * m * m / z;
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (&other == this || other.empty()) return;  // union with itself changes nothing
  if (empty()) {
    *this = other;  // the first pane of a window: a copy, reusing this sketch's storage
    return;
  }
  if (other.registers_.empty()) {
    for (uint64_t h : other.sparse_)
      if (h != 0) AddHash(h);
    return;
  }
  if (registers_.empty()) ToDense();
  const size_t n = std::min(registers_.size(), other.registers_.size());
  uint8_t* a = registers_.data();
  const uint8_t* b = other.registers_.data();
  for (size_t i = 0; i < n; ++i) a[i] = std::max(a[i], b[i]);
}

void HyperLogLog::Serialize(std::string* out) const {
  out->push_back(static_cast<char>(kFormatVersion));
  out->push_back(static_cast<char>(precision_));
  if (registers_.empty()) {
    out->push_back(static_cast<char>(kModeSparse));
    std::vector<uint64_t> hashes;
    hashes.reserve(sparse_size_);
    for (uint64_t h : sparse_)
      if (h != 0) hashes.push_back(h);
    std::sort(hashes.begin(), hashes.end());
    PutVarint(out, hashes.size());
    uint64_t prev = 0;
    for (uint64_t h : hashes) {
      PutVarint(out, h - prev);
      prev = h;
    }
  } else {
    out->push_back(static_cast<char>(kModeDense));
    out->append(reinterpret_cast<const char*>(registers_.data()), registers_.size());
  }
}

Status HyperLogLog::Deserialize(std::string_view* in) {
  SerialReader r{*in};
  uint8_t version, precision, mode;
  if (!r.U8(&version) || !r.U8(&precision) || !r.U8(&mode))
    return Status::InvalidArgument("hll: truncated header");
  if (version != kFormatVersion) return Status::InvalidArgument("hll: unknown version");
  if (precision != precision_) return Status::InvalidArgument("hll: precision mismatch");
  HyperLogLog fresh(precision_);
  if (mode == kModeSparse) {
    uint64_t n;
    if (!r.Varint(&n)) return Status::InvalidArgument("hll: truncated sparse count");
    if (n > MaxSparseSize(precision_))
      return Status::InvalidArgument("hll: sparse count too large");
    if (n > r.in.size()) return Status::InvalidArgument("hll: sparse count exceeds input");
    uint64_t prev = 0;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t delta;
      if (!r.Varint(&delta)) return Status::InvalidArgument("hll: truncated sparse hash");
      if (delta == 0) return Status::InvalidArgument("hll: sparse hashes not strictly increasing");
      if (delta > std::numeric_limits<uint64_t>::max() - prev)
        return Status::InvalidArgument("hll: sparse hash overflow");
      prev += delta;
      fresh.SparseInsert(prev);
    }
    // MaxSparseSize items always fit below the growth limit, so this never went dense.
  } else if (mode == kModeDense) {
    const size_t m = size_t{1} << precision_;
    if (r.in.size() < m) return Status::InvalidArgument("hll: truncated registers");
    const int max_rank = 65 - precision_;
    for (size_t i = 0; i < m; ++i)
      if (static_cast<uint8_t>(r.in[i]) > max_rank)
        return Status::InvalidArgument("hll: register out of range");
    fresh.registers_.assign(reinterpret_cast<const uint8_t*>(r.in.data()),
                            reinterpret_cast<const uint8_t*>(r.in.data()) + m);
    r.in.remove_prefix(m);
  } else {
    return Status::InvalidArgument("hll: unknown mode");
  }
  *this = std::move(fresh);
  *in = r.in;
  return Status::Ok();
}

size_t HyperLogLog::MemoryBytes() const {
  return sizeof(*this) + sparse_.capacity() * sizeof(uint64_t) + registers_.capacity();
}

void HyperLogLog::Clear() {
  ClearKeepingSmallBuffer(sparse_);
  ClearKeepingSmallBuffer(registers_);
  sparse_size_ = 0;
}

}  // namespace dnsight
