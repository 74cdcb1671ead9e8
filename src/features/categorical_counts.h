// CategoricalCounts: bounded per-category counts, for the Shannon entropy of a
// categorical field.
//
// The first max_categories distinct keys get their own exact counter; every later new key
// is counted in a single "other" bucket. EntropyBits() treats "other" as one more
// category. Lumping categories together can only lower entropy (the grouping property),
// so once keys overflow the result is a lower bound of the true entropy; it is exact
// while at most max_categories distinct keys were seen. Which keys are tracked depends
// on arrival order (and, after Merge, on merge order), so entropies of overflowing states
// are order dependent within that bound.
//
// Memory: about max_categories * (48 + key bytes) plus a 4-byte index of 2 *
// max_categories slots, allocated as keys arrive. Keys longer than kMaxKeyBytes are
// truncated to that many bytes.
//
// Serialized form (version 1): u8 version, varint max_categories, varint other, varint n,
// then n times (varint key length, key bytes, varint count >= 1).
//
// Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

class CategoricalCounts {
 public:
  static constexpr int kMaxCategories = 1 << 16;
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr uint8_t kFormatVersion = 1;

  // max_categories is clamped into [1, kMaxCategories].
  explicit CategoricalCounts(int max_categories = 64);

  void Add(std::string_view key, uint64_t n = 1);

  // Shannon entropy in bits over the tracked categories plus "other"; NaN when empty.
  double EntropyBits() const;

  // Folds `other` in: its categories are added to ours while there is room, the rest
  // (and its "other") go to our "other". REQUIRES: same max_categories.
  void Merge(const CategoricalCounts& other);

  void Serialize(std::string* out) const;
  // Replaces this state with one read from the front of *in and advances *in past it.
  // max_categories must equal this state's. On error returns InvalidArgument and leaves
  // this state unchanged.
  Status Deserialize(std::string_view* in);

  // Count of `key` if tracked, else 0.
  uint64_t CountOf(std::string_view key) const;
  uint64_t total() const { return total_; }
  uint64_t other() const { return other_; }
  size_t num_categories() const { return entries_.size(); }
  int max_categories() const { return static_cast<int>(max_categories_); }
  bool empty() const { return total_ == 0; }
  size_t MemoryBytes() const;
  void Clear();

 private:
  struct Entry {
    std::string key;
    uint64_t count;
    uint64_t hash;
  };

  int32_t Find(std::string_view key, uint64_t hash) const;
  void IndexInsert(int32_t entry);

  uint32_t max_categories_;
  uint64_t total_ = 0;
  uint64_t other_ = 0;
  std::vector<Entry> entries_;
  std::vector<int32_t> index_;  // open addressing, -1 empty; grows with entries_
};

}  // namespace dnsight
