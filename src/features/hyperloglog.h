// HyperLogLog: approximate distinct counting over 64-bit hashes (XXH3_64bits of the key).
//
// A sketch has precision p in [4, 16]: 2^p one-byte registers once dense, a standard
// error of about 1.04 / sqrt(2^p) (p = 12: 1.6 %, 4 KiB).
//
// Sparse mode: a new sketch keeps the distinct hashes themselves in a small
// open-addressing set, so an entity that sees few distinct keys costs a few dozen bytes
// and is counted exactly (up to 64-bit hash collisions). When the set would grow past the
// size of the dense registers (2^p bytes, i.e. about 3 * 2^p / 32 hashes: 384 at p = 12),
// it converts to dense. Precisions below 5 start dense.
//
// Estimate (dense): Ertl's improved raw estimator ("New cardinality estimation algorithms
// for HyperLogLog sketches", 2017). It works on the register histogram, corrects both the
// small-range bias (its sigma term is the linear-counting regime: with many empty
// registers it behaves like m * ln(m / empty)) and the large-range bias, without
// empirical bias tables.
//
// Serialized form (version 1, little-endian):
//   u8 version, u8 precision, u8 mode (0 sparse, 1 dense),
//   sparse: varint n, then n varints: the first hash, then strictly positive deltas,
//   dense:  2^p bytes, each register in [0, 65 - p].
// Deserialize validates every field and never allocates more than the precision allows.
//
// Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 16;
  static constexpr uint8_t kFormatVersion = 1;

  // Precisions outside [kMinPrecision, kMaxPrecision] are clamped into it.
  explicit HyperLogLog(int precision = 12);

  // The hash every key goes through (XXH3_64bits).
  static uint64_t Hash(std::string_view key);

  void Add(std::string_view key) { AddHash(Hash(key)); }
  void AddHash(uint64_t hash);

  // Exact distinct count while sparse; the estimate once dense. 0 when empty.
  double Estimate() const;

  // Folds `other` in: the result estimates the distinct count of the union.
  // REQUIRES: other.precision() == precision().
  void Merge(const HyperLogLog& other);

  // Appends the serialized sketch to *out.
  void Serialize(std::string* out) const;
  // Replaces this sketch with one read from the front of *in and advances *in past it.
  // The precision must equal this sketch's precision. On error returns InvalidArgument
  // and leaves this sketch unchanged.
  Status Deserialize(std::string_view* in);

  int precision() const { return precision_; }
  bool sparse() const { return registers_.empty(); }
  bool empty() const { return registers_.empty() && sparse_size_ == 0; }
  size_t MemoryBytes() const;
  void Clear();

  // Largest number of hashes kept in sparse mode at this precision (0: always dense).
  static size_t MaxSparseSize(int precision);

 private:
  void SparseInsert(uint64_t hash);
  void GrowSparse();
  void ToDense();
  void DenseAdd(uint64_t hash) {
    const uint32_t idx = static_cast<uint32_t>(hash >> (64 - precision_));
    const uint64_t w = hash << precision_;
    const uint8_t rank = w == 0 ? static_cast<uint8_t>(65 - precision_)
                                : static_cast<uint8_t>(__builtin_clzll(w) + 1);
    if (registers_[idx] < rank) registers_[idx] = rank;
  }
  size_t SparseCapacityLimit() const { return (size_t{1} << precision_) / 8; }

  int precision_;
  // Sparse: an open-addressing set of hashes (0 marks an empty slot; a hash of 0 is
  // stored as 1). Empty once dense.
  std::vector<uint64_t> sparse_;
  uint32_t sparse_size_ = 0;
  // Dense: 2^p registers; empty while sparse.
  std::vector<uint8_t> registers_;
};

}  // namespace dnsight
