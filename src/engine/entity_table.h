// EntityTable<T>: owns the entities of one view shard, found by key.
//
// An open-addressing table (linear probing, at most half full, backward-shift deletion,
// no tombstones) of (64-bit key hash, owned T). T must have a `std::string key` member.
// Compared with std::unordered_map<std::string, std::unique_ptr<T>>, a lookup is one hash
// of the key, a masked index and, on a hash match, one key comparison: no modulo, no node
// chain, and the key is not stored twice.
//
// Pointers to entities stay valid until that entity is erased (the table moves only the
// owning pointers when it grows or shifts).
//
// Thread-safety: none; one owner.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/short_bytes.h"

namespace dnsight {

template <typename T>
class EntityTable {
 public:
  static uint64_t Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

  // The entity with this key, or nullptr. hash: the one the entity was inserted with
  // (callers pick the function; Hash() is one).
  T* Find(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return nullptr;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (!s.entity) return nullptr;
      if (s.hash == hash && ShortEquals(s.entity->key, key)) return s.entity.get();
    }
  }

  // Takes ownership. REQUIRES: no entity with the same key is present.
  T& Insert(std::unique_ptr<T> entity, uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    T& out = *entity;
    Place(Slot{hash, std::move(entity)});
    ++size_;
    return out;
  }

  // Destroys the entity with this key, if present.
  void Erase(std::string_view key, uint64_t hash) {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      if (!slots_[i].entity) return;
      if (slots_[i].hash == hash && slots_[i].entity->key == key) break;
    }
    slots_[i].entity.reset();
    --size_;
    // Backward shift: move later members of the probe run into the hole when their home
    // slot does not lie cyclically in (hole, j].
    for (size_t j = (i + 1) & mask; slots_[j].entity; j = (j + 1) & mask) {
      const size_t home = slots_[j].hash & mask;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = std::move(slots_[j]);
      i = j;
    }
  }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

  // Calls fn(const T&) for every entity, in no particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_)
      if (s.entity) fn(*s.entity);
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    std::unique_ptr<T> entity;  // null: empty
  };

  void Place(Slot s) {
    const size_t mask = slots_.size() - 1;
    size_t i = s.hash & mask;
    while (slots_[i].entity) i = (i + 1) & mask;
    slots_[i] = std::move(s);
  }

  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_ = std::vector<Slot>(old.empty() ? 64 : old.size() * 2);
    for (Slot& s : old)
      if (s.entity) Place(std::move(s));
  }

  std::vector<Slot> slots_;  // power of two
  size_t size_ = 0;
};

}  // namespace dnsight
