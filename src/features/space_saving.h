// SpaceSaving: approximate top-k heavy hitters over string keys (Metwally, Agrawal,
// El Abbadi: "Efficient Computation of Frequent and Top-k Elements in Data Streams", 2005).
//
// Up to `capacity` counters, each holding the key bytes, an estimated count and an error.
// A new key, when every counter is taken, replaces the counter with the smallest count c
// and starts at c + 1 with error c. Guarantees, with N = total():
//   count - error <= true frequency <= count, and error <= N / capacity;
//   every key whose true frequency exceeds min_count() is tracked.
//
// Merge follows the mergeable-summaries construction (Agarwal et al., PODS 2012): a key
// missing from a full summary is credited that summary's minimum count (as both count and
// error), counts of keys present in both are added, and the `capacity` largest are kept.
// The guarantees above still hold for the merged stream. Ties are broken by key bytes,
// so merging is deterministic; among equal minimum counts the victim is chosen by key
// hash, so a restored summary evicts exactly as the original.
//
// Derived features:
//   TopShare() = max (count - error) / N: the guaranteed share of the heaviest key (a
//     lower bound; exact while fewer than capacity distinct keys were seen). The raw
//     counter is not used: on a flat stream it reports ~1/capacity for every key.
//   Hhi() = sum over tracked keys of ((count - error) / N)^2: the Herfindahl-Hirschman
//     index from the guaranteed lower bound of each tracked key's frequency. It is a lower
//     bound of the true HHI (untracked keys are left out, tracked ones are not
//     overestimated) and exact while fewer than capacity distinct keys were seen.
//
// Memory: about capacity * (84 + key bytes), plus a 4-byte index of 2 * capacity slots
// above kLinearFindMax counters.
// Keys longer than kMaxKeyBytes are truncated to that many bytes.
//
// Serialized form (version 1): u8 version, varint capacity, varint total, varint n, then
// n times (varint key length, key bytes, varint count, varint error).
//
// Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

class SpaceSaving {
 public:
  static constexpr int kMaxCapacity = 1 << 16;
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr uint8_t kFormatVersion = 1;

  struct Counter {
    std::string key;
    uint64_t count = 0;
    uint64_t error = 0;
  };

  // capacity is clamped into [1, kMaxCapacity].
  explicit SpaceSaving(int capacity = 10);

  void Add(std::string_view key);
  // Add with the key's hash already known.
  // REQUIRES: key.size() <= kMaxKeyBytes and hash == XXH3_64bits(key) (the hash Add uses).
  void AddHashed(std::string_view key, uint64_t hash);

  // Tracked counters, largest count first (ties by key).
  std::vector<Counter> TopK() const;
  double TopShare() const;  // NaN when empty
  double Hhi() const;       // NaN when empty

  // REQUIRES: other.capacity() == capacity().
  void Merge(const SpaceSaving& other);
  // Folds every part in at once: each key is credited, from every summary it is missing
  // from, that summary's minimum (as with Merge), and the `capacity` heaviest are kept
  // once at the end. With one part this is Merge; with more, no key is dropped between
  // parts (a key kept at the end has the sum of its counts from every part), and the
  // result does not depend on their order.
  // REQUIRES: every part has this capacity and is not this.
  void MergeMany(std::span<const SpaceSaving* const> parts);

  void Serialize(std::string* out) const;
  // Replaces this summary with one read from the front of *in and advances *in past it.
  // The capacity must equal this summary's. On error returns InvalidArgument and leaves
  // this summary unchanged.
  Status Deserialize(std::string_view* in);

  int capacity() const { return static_cast<int>(capacity_); }
  uint64_t total() const { return total_; }
  size_t size() const { return slots_.size(); }
  // The smallest tracked count once every counter is taken; 0 before.
  uint64_t min_count() const;
  bool empty() const { return total_ == 0; }
  size_t MemoryBytes() const;
  void Clear();

 private:
  struct Slot {
    std::string key;
    uint64_t count;
    uint64_t error;
    uint64_t hash;
  };

  int32_t Find(std::string_view key, uint64_t hash) const;
  void IndexInsert(int32_t slot);
  void IndexErase(int32_t slot);
  struct HeapEntry {
    uint64_t count;  // mirrors slots_[slot].count
    uint64_t hash;
    int32_t slot;
  };

  bool EvictsBefore(const HeapEntry& a, const HeapEntry& b) const;
  void HeapSiftUp(size_t pos);
  void HeapSiftDown(size_t pos);
  void HeapSwap(size_t a, size_t b);
  void Rebuild(std::vector<Slot> slots);
  // Keeps the capacity heaviest of slots_ and extra[0, added) in slots_.
  void KeepHeaviest(std::vector<Slot>& extra, size_t added);
  void ReserveSlot();   // room for one more slot, growing at most to the capacity
  void RebuildIndex();  // from slots_ (no-op when not indexed)
  void RebuildHeap();   // from slots_
  // The slot a new key replaces when the heap is not kept: the least by (count, hash, key).
  int32_t MinSlotByScan() const;
  // Up to kLinearFindMax counters are found by scanning their hashes and the victim by
  // scanning the counts; larger summaries keep the open-addressing index and the heap.
  static constexpr uint32_t kLinearFindMax = 32;
  bool indexed() const { return capacity_ > kLinearFindMax; }

  uint32_t capacity_;
  uint64_t total_ = 0;
  std::vector<Slot> slots_;
  // Open-addressing index from key hash to slot (-1 empty), sized 2 * capacity rounded to
  // a power of two; allocated with the first key.
  std::vector<int32_t> index_;
  // Min-heap of slots by (count, hash, key), and each slot's position in it (indexed
  // summaries only).
  std::vector<HeapEntry> heap_;
  std::vector<int32_t> heap_pos_;
  bool heap_stale_ = false;  // after a merge; rebuilt by the next Add
};

}  // namespace dnsight
