#include "features/categorical_counts.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/serial.h"
#include "common/short_bytes.h"
#include "common/vector_util.h"

namespace dnsight {
namespace {

uint64_t SatAdd(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s < a ? std::numeric_limits<uint64_t>::max() : s;
}

uint64_t HashKey(std::string_view key) {
  return XXH3_64bits(key.data(), key.size());
}

std::string_view Clip(std::string_view key) {
  return key.size() > CategoricalCounts::kMaxKeyBytes
             ? key.substr(0, CategoricalCounts::kMaxKeyBytes)
             : key;
}

// c * log2(c), 0 for c = 0.
double CLogC(uint64_t c) {
  if (c == 0) return 0.0;
  const double d = static_cast<double>(c);
  return d * std::log2(d);
}

}  // namespace

CategoricalCounts::CategoricalCounts(int max_categories)
    : max_categories_(static_cast<uint32_t>(std::clamp(max_categories, 1, kMaxCategories))) {}

int32_t CategoricalCounts::Find(std::string_view key, uint64_t hash) const {
  if (index_.empty()) return -1;
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const int32_t e = index_[i];
    if (e < 0) return -1;
    const Entry& entry = entries_[static_cast<size_t>(e)];
    if (entry.hash == hash && ShortEquals(entry.key, key)) return e;
  }
}

void CategoricalCounts::IndexInsert(int32_t entry) {
  // Keep the load at or below 1/2; the index grows with the entries, up to
  // 2 * max_categories slots.
  if (index_.size() < 2 * (entries_.size())) {
    size_t n = index_.empty() ? 4 : index_.size();
    while (n < 2 * entries_.size()) n <<= 1;
    index_.assign(n, -1);
    const size_t mask = n - 1;
    for (size_t e = 0; e < entries_.size(); ++e) {
      size_t i = entries_[e].hash & mask;
      while (index_[i] >= 0) i = (i + 1) & mask;
      index_[i] = static_cast<int32_t>(e);
    }
    return;  // `entry` is among entries_ already
  }
  const size_t mask = index_.size() - 1;
  size_t i = entries_[static_cast<size_t>(entry)].hash & mask;
  while (index_[i] >= 0) i = (i + 1) & mask;
  index_[i] = entry;
}

void CategoricalCounts::Add(std::string_view key, uint64_t n) {
  if (n == 0) return;
  key = Clip(key);
  total_ = SatAdd(total_, n);
  const uint64_t hash = HashKey(key);
  const int32_t found = Find(key, hash);
  if (found >= 0) {
    Entry& e = entries_[static_cast<size_t>(found)];
    e.count = SatAdd(e.count, n);
    return;
  }
  if (entries_.size() < max_categories_) {
    entries_.push_back(Entry{std::string(key), n, hash});
    IndexInsert(static_cast<int32_t>(entries_.size() - 1));
    return;
  }
  other_ = SatAdd(other_, n);
}

uint64_t CategoricalCounts::CountOf(std::string_view key) const {
  key = Clip(key);
  const int32_t found = Find(key, HashKey(key));
  return found >= 0 ? entries_[static_cast<size_t>(found)].count : 0;
}

double CategoricalCounts::EntropyBits() const {
  // H = log2 N - (1/N) sum c log2 c, with N the sum of the counts used (saturated
  // totals cannot make it inconsistent).
  uint64_t n = other_;
  double sum = CLogC(other_);
  for (const Entry& e : entries_) {
    n = SatAdd(n, e.count);
    sum += CLogC(e.count);
  }
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const double dn = static_cast<double>(n);
  return std::max(0.0, std::log2(dn) - sum / dn);
}

void CategoricalCounts::Merge(const CategoricalCounts& other) {
  if (&other == this) {
    const CategoricalCounts copy = other;
    Merge(copy);
    return;
  }
  for (const Entry& e : other.entries_) Add(e.key, e.count);
  if (other.other_ > 0) {
    other_ = SatAdd(other_, other.other_);
    total_ = SatAdd(total_, other.other_);
  }
}

void CategoricalCounts::Serialize(std::string* out) const {
  out->push_back(static_cast<char>(kFormatVersion));
  PutVarint(out, max_categories_);
  PutVarint(out, other_);
  PutVarint(out, entries_.size());
  // Entries in arrival order: that order decides which keys a later merge keeps.
  for (const Entry& e : entries_) {
    PutVarint(out, e.key.size());
    out->append(e.key);
    PutVarint(out, e.count);
  }
}

Status CategoricalCounts::Deserialize(std::string_view* in) {
  SerialReader r{*in};
  uint8_t version;
  uint64_t max_categories, other, n;
  if (!r.U8(&version)) return Status::InvalidArgument("entropy: truncated header");
  if (version != kFormatVersion) return Status::InvalidArgument("entropy: unknown version");
  if (!r.Varint(&max_categories) || !r.Varint(&other) || !r.Varint(&n))
    return Status::InvalidArgument("entropy: truncated header");
  if (max_categories != max_categories_)
    return Status::InvalidArgument("entropy: max_categories mismatch");
  if (n > max_categories_) return Status::InvalidArgument("entropy: too many categories");
  if (n > r.in.size() / 2) return Status::InvalidArgument("entropy: category count exceeds input");
  if (other > 0 && n < max_categories_)
    return Status::InvalidArgument("entropy: overflow before categories are full");
  CategoricalCounts fresh(static_cast<int>(max_categories_));
  fresh.entries_.reserve(n);
  uint64_t total = other;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len, count;
    std::string_view key;
    if (!r.Varint(&len)) return Status::InvalidArgument("entropy: truncated key");
    if (len > kMaxKeyBytes) return Status::InvalidArgument("entropy: key too long");
    if (!r.Bytes(len, &key) || !r.Varint(&count))
      return Status::InvalidArgument("entropy: truncated entry");
    if (count == 0) return Status::InvalidArgument("entropy: empty category");
    const uint64_t hash = HashKey(key);
    if (fresh.Find(key, hash) >= 0) return Status::InvalidArgument("entropy: duplicate key");
    total = SatAdd(total, count);
    fresh.entries_.push_back(Entry{std::string(key), count, hash});
    fresh.IndexInsert(static_cast<int32_t>(fresh.entries_.size() - 1));
  }
  fresh.total_ = total;
  fresh.other_ = other;
  *this = std::move(fresh);
  *in = r.in;
  return Status::Ok();
}

size_t CategoricalCounts::MemoryBytes() const {
  size_t bytes =
      sizeof(*this) + entries_.capacity() * sizeof(Entry) + index_.capacity() * sizeof(int32_t);
  constexpr size_t kInlineKey = 15;  // libstdc++ small-string buffer
  for (const Entry& e : entries_)
    if (e.key.capacity() > kInlineKey) bytes += e.key.capacity() + 1;
  return bytes;
}

void CategoricalCounts::Clear() {
  total_ = 0;
  other_ = 0;
  ClearKeepingSmallBuffer(entries_);
  ClearKeepingSmallBuffer(index_);
}

}  // namespace dnsight
