// HashSet64: a set of 64-bit hashes in one flat open-addressing table (linear probing).
//
// Meant for keys that are already good hashes (XXH3): the low bits pick the slot. The
// value 0 marks an empty slot, so a hash of 0 is stored as 1 (two keys whose hashes are 0
// and 1 count as one, as two keys with equal hashes do). The table starts at 64 slots and
// doubles when it would be more than half full, so memory is 8 to 32 bytes per element.
//
// Thread-safety: a value type; one owner at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dnsight {

class HashSet64 {
 public:
  bool Contains(uint64_t hash) const;
  // Adds hash; returns false when it was already present.
  bool Insert(uint64_t hash);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Drops every element; keeps the table's memory.
  void Clear();
  void swap(HashSet64& other) noexcept;
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(uint64_t); }

 private:
  static uint64_t Stored(uint64_t hash) { return hash == 0 ? 1 : hash; }
  void Grow();

  std::vector<uint64_t> slots_;  // power-of-two size, or empty
  size_t size_ = 0;
};

}  // namespace dnsight
