#include "common/hash_set64.h"

#include <algorithm>
#include <utility>

namespace dnsight {

bool HashSet64::Contains(uint64_t hash) const {
  if (slots_.empty()) return false;
  const uint64_t key = Stored(hash);
  const size_t mask = slots_.size() - 1;
  for (size_t i = key & mask;; i = (i + 1) & mask) {
    if (slots_[i] == key) return true;
    if (slots_[i] == 0) return false;
  }
}

bool HashSet64::Insert(uint64_t hash) {
  if (2 * (size_ + 1) > slots_.size()) Grow();
  const uint64_t key = Stored(hash);
  const size_t mask = slots_.size() - 1;
  for (size_t i = key & mask;; i = (i + 1) & mask) {
    if (slots_[i] == key) return false;
    if (slots_[i] == 0) {
      slots_[i] = key;
      ++size_;
      return true;
    }
  }
}

void HashSet64::Grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : 2 * old.size(), 0);
  const size_t mask = slots_.size() - 1;
  for (const uint64_t key : old) {
    if (key == 0) continue;
    size_t i = key & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = key;
  }
}

void HashSet64::Clear() {
  std::fill(slots_.begin(), slots_.end(), 0);
  size_ = 0;
}

void HashSet64::swap(HashSet64& other) noexcept {
  slots_.swap(other.slots_);
  std::swap(size_, other.size_);
}

}  // namespace dnsight
