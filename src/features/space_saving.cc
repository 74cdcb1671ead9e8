#include "features/space_saving.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
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
  return key.size() > SpaceSaving::kMaxKeyBytes ? key.substr(0, SpaceSaving::kMaxKeyBytes) : key;
}

// The first 8 key bytes as a big-endian number, zero-padded: comparing two of these
// orders keys as their bytes do, except that equal prefixes need the full comparison.
uint64_t KeyPrefix(std::string_view key) {
  uint64_t p = 0;
  const size_t n = std::min<size_t>(key.size(), 8);
  for (size_t i = 0; i < n; ++i) p |= uint64_t{static_cast<uint8_t>(key[i])} << (56 - 8 * i);
  return p;
}

size_t IndexSizeFor(uint32_t capacity) {
  size_t n = 2;
  while (n < 2 * static_cast<size_t>(capacity)) n <<= 1;
  return n;
}

// Heaviest first; ties by key bytes so that results do not depend on insertion order.
template <typename T>
bool HeavierFirst(const T& a, const T& b) {
  if (a.count != b.count) return a.count > b.count;
  return a.key < b.key;
}

}  // namespace

SpaceSaving::SpaceSaving(int capacity)
    : capacity_(static_cast<uint32_t>(std::clamp(capacity, 1, kMaxCapacity))) {}

int32_t SpaceSaving::Find(std::string_view key, uint64_t hash) const {
  if (!indexed()) {
    // A few counters: a scan of their hashes beats the index and needs no upkeep.
    for (size_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      if (slot.hash == hash && ShortEquals(slot.key, key)) return static_cast<int32_t>(s);
    }
    return -1;
  }
  if (index_.empty()) return -1;
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const int32_t s = index_[i];
    if (s < 0) return -1;
    const Slot& slot = slots_[static_cast<size_t>(s)];
    if (slot.hash == hash && ShortEquals(slot.key, key)) return s;
  }
}

void SpaceSaving::IndexInsert(int32_t slot) {
  if (!indexed()) return;
  const size_t mask = index_.size() - 1;
  size_t i = slots_[static_cast<size_t>(slot)].hash & mask;
  while (index_[i] >= 0) i = (i + 1) & mask;
  index_[i] = slot;
}

void SpaceSaving::IndexErase(int32_t slot) {
  if (!indexed()) return;
  // Linear probing with backward-shift deletion (no tombstones).
  const size_t mask = index_.size() - 1;
  size_t i = slots_[static_cast<size_t>(slot)].hash & mask;
  while (index_[i] != slot) i = (i + 1) & mask;
  size_t j = i;
  for (;;) {
    j = (j + 1) & mask;
    const int32_t s = index_[j];
    if (s < 0) break;
    const size_t home = slots_[static_cast<size_t>(s)].hash & mask;
    // Leave s where it is if its home lies cyclically in (i, j].
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    index_[i] = s;
    i = j;
  }
  index_[i] = -1;
}

void SpaceSaving::HeapSwap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_pos_[static_cast<size_t>(heap_[a].slot)] = static_cast<int32_t>(a);
  heap_pos_[static_cast<size_t>(heap_[b].slot)] = static_cast<int32_t>(b);
}

// A total order, so the victim depends only on the counters, not on the heap's layout: a
// summary restored from its serialized form evicts exactly as the original would.
inline bool SpaceSaving::EvictsBefore(const HeapEntry& a, const HeapEntry& b) const {
  if (a.count != b.count) return a.count < b.count;
  if (a.hash != b.hash) return a.hash < b.hash;
  return slots_[static_cast<size_t>(a.slot)].key < slots_[static_cast<size_t>(b.slot)].key;
}

void SpaceSaving::HeapSiftUp(size_t pos) {
  while (pos > 0) {
    const size_t parent = (pos - 1) / 2;
    if (!EvictsBefore(heap_[pos], heap_[parent])) return;
    HeapSwap(pos, parent);
    pos = parent;
  }
}

void SpaceSaving::HeapSiftDown(size_t pos) {
  // Move the entry down through a hole instead of swapping at every level.
  const size_t n = heap_.size();
  const HeapEntry moving = heap_[pos];
  for (;;) {
    const size_t l = 2 * pos + 1;
    if (l >= n) break;
    size_t smallest = l;
    const size_t r = l + 1;
    if (r < n && EvictsBefore(heap_[r], heap_[l])) smallest = r;
    if (!EvictsBefore(heap_[smallest], moving)) break;
    heap_[pos] = heap_[smallest];
    heap_pos_[static_cast<size_t>(heap_[pos].slot)] = static_cast<int32_t>(pos);
    pos = smallest;
  }
  heap_[pos] = moving;
  heap_pos_[static_cast<size_t>(moving.slot)] = static_cast<int32_t>(pos);
}

void SpaceSaving::Add(std::string_view key) {
  key = Clip(key);
  AddHashed(key, HashKey(key));
}

void SpaceSaving::AddHashed(std::string_view key, uint64_t hash) {
  if (indexed() && index_.empty()) index_.assign(IndexSizeFor(capacity_), -1);
  if (heap_stale_) RebuildHeap();
  total_ = SatAdd(total_, 1);
  const int32_t found = Find(key, hash);
  if (found >= 0) {
    Slot& s = slots_[static_cast<size_t>(found)];
    s.count = SatAdd(s.count, 1);
    if (!indexed()) return;
    const auto pos = static_cast<size_t>(heap_pos_[static_cast<size_t>(found)]);
    heap_[pos].count = s.count;
    HeapSiftDown(pos);
    return;
  }
  if (slots_.size() < capacity_) {
    const auto slot = static_cast<int32_t>(slots_.size());
    ReserveSlot();
    slots_.push_back(Slot{std::string(key), 1, 0, hash});
    IndexInsert(slot);
    if (!indexed()) return;
    heap_.push_back(HeapEntry{1, hash, slot});
    heap_pos_.push_back(static_cast<int32_t>(heap_.size() - 1));
    HeapSiftUp(heap_.size() - 1);
    return;
  }
  // Replace the minimum; std::string::assign reuses the old key's buffer when it fits.
  const int32_t victim = indexed() ? heap_[0].slot : MinSlotByScan();
  IndexErase(victim);
  Slot& s = slots_[static_cast<size_t>(victim)];
  s.error = s.count;
  s.count = SatAdd(s.count, 1);
  ShortAssign(&s.key, key);  // reuses the old key's buffer
  s.hash = hash;
  IndexInsert(victim);
  if (!indexed()) return;
  heap_[0].count = s.count;
  heap_[0].hash = hash;
  HeapSiftDown(0);
}

int32_t SpaceSaving::MinSlotByScan() const {
  // The least counter under the same total order as the heap's: (count, hash, key). The
  // (count, hash) pairs are compared as one 128-bit number, without branches; only a
  // second slot with the same pair (a 64-bit hash collision) needs the key bytes.
  using Pair = unsigned __int128;
  const auto pair_of = [](const Slot& s) { return (Pair{s.count} << 64) | s.hash; };
  size_t best = 0;
  Pair least = pair_of(slots_[0]);
  for (size_t i = 1; i < slots_.size(); ++i) {
    const Pair p = pair_of(slots_[i]);
    const bool less = p < least;
    least = less ? p : least;
    best = less ? i : best;
  }
  for (size_t i = best + 1; i < slots_.size(); ++i) {
    if (pair_of(slots_[i]) == least && slots_[i].key < slots_[best].key) best = i;
  }
  return static_cast<int32_t>(best);
}

uint64_t SpaceSaving::min_count() const {
  if (slots_.size() < capacity_ || slots_.empty()) return 0;
  if (indexed() && !heap_stale_) return heap_[0].count;
  uint64_t m = slots_[0].count;
  for (const Slot& s : slots_) m = std::min(m, s.count);
  return m;
}

std::vector<SpaceSaving::Counter> SpaceSaving::TopK() const {
  std::vector<Counter> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(Counter{s.key, s.count, s.error});
  std::sort(out.begin(), out.end(), HeavierFirst<Counter>);
  return out;
}

double SpaceSaving::TopShare() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // Guaranteed count (count - error): a lower bound, consistent with Hhi(). The raw
  // counter would report ~1/k for any flat stream, which reads as false concentration.
  uint64_t top = 0;
  for (const Slot& s : slots_) top = std::max(top, s.count - s.error);
  return std::min(1.0, static_cast<double>(top) / static_cast<double>(total_));
}

double SpaceSaving::Hhi() const {
  if (total_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // Sum of squared guaranteed counts, exact in 128 bits (each is at most total, and they
  // sum to at most total), so the result does not depend on the order of the counters.
  unsigned __int128 squares = 0;
  for (const Slot& s : slots_) {
    const uint64_t c = s.count - s.error;
    squares += static_cast<unsigned __int128>(c) * c;
  }
  const double n = static_cast<double>(total_);
  return std::min(1.0, static_cast<double>(squares) / n / n);
}

void SpaceSaving::Rebuild(std::vector<Slot> slots) {
  slots_ = std::move(slots);
  RebuildIndex();
  RebuildHeap();
}

void SpaceSaving::RebuildIndex() {
  if (!indexed()) return;
  if (index_.size() != IndexSizeFor(capacity_)) {
    index_.assign(IndexSizeFor(capacity_), -1);
  } else {
    std::fill(index_.begin(), index_.end(), -1);
  }
  for (size_t i = 0; i < slots_.size(); ++i) IndexInsert(static_cast<int32_t>(i));
}

void SpaceSaving::RebuildHeap() {
  heap_stale_ = false;
  if (!indexed()) return;
  heap_.resize(slots_.size());
  heap_pos_.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    heap_[i] = HeapEntry{slots_[i].count, slots_[i].hash, static_cast<int32_t>(i)};
    heap_pos_[i] = static_cast<int32_t>(i);
  }
  for (size_t i = heap_.size() / 2; i-- > 0;) HeapSiftDown(i);
}

void SpaceSaving::Merge(const SpaceSaving& other) {
  if (&other == this) {
    const SpaceSaving copy = other;
    Merge(copy);
    return;
  }
  if (other.total_ == 0) return;
  if (total_ == 0) {
    // Merging into an empty summary (the first pane of a window) is a copy: the same
    // counters, and a heap that orders them by the same total order. Assignment reuses
    // this summary's buffers.
    *this = other;
    return;
  }
  const uint64_t m_this = min_count();
  const uint64_t m_other = other.min_count();
  // Counters already here take the other summary's count for their key, or its minimum,
  // in place; keys only the other summary has are appended with this summary's minimum.
  const size_t own = slots_.size();
  for (size_t i = 0; i < own; ++i) {
    Slot& s = slots_[i];
    const int32_t o = other.Find(s.key, s.hash);
    const Slot* t = o >= 0 ? &other.slots_[static_cast<size_t>(o)] : nullptr;
    s.count = SatAdd(s.count, t ? t->count : m_other);
    s.error = SatAdd(s.error, t ? t->error : m_other);
  }
  // The other summary's new keys are gathered in a per-thread buffer (whose key strings
  // keep their storage), so slots_ never grows past the capacity.
  thread_local std::vector<Slot> extra;
  size_t added = 0;
  for (const Slot& t : other.slots_) {
    if (Find(t.key, t.hash) >= 0) continue;
    if (added == extra.size()) extra.emplace_back();
    Slot& c = extra[added++];
    c.key.assign(t.key);
    c.count = SatAdd(t.count, m_this);
    c.error = SatAdd(t.error, m_this);
    c.hash = t.hash;
  }
  total_ = SatAdd(total_, other.total_);
  if (own + added <= capacity_) {
    for (size_t i = 0; i < added; ++i) {
      ReserveSlot();
      slots_.push_back(std::move(extra[i]));
    }
  } else {
    KeepHeaviest(extra, added);
  }
  RebuildIndex();
  heap_stale_ = true;  // merges usually come in runs; the next Add rebuilds the heap
}

void SpaceSaving::MergeMany(std::span<const SpaceSaving* const> parts) {
  thread_local std::vector<const SpaceSaving*> inputs;
  inputs.clear();
  if (total_ > 0) inputs.push_back(this);
  for (const SpaceSaving* p : parts)
    if (p->total_ > 0) inputs.push_back(p);
  if (inputs.empty()) return;
  if (inputs.size() == 1) {
    if (inputs[0] != this) *this = *inputs[0];
    return;
  }
  if (inputs.size() == 2) {
    // The same result as below, without the combining tables.
    if (inputs[0] != this) *this = *inputs[0];
    Merge(*inputs[1]);
    return;
  }
  // One combined counter per distinct key: up = sum over the summaries holding it of
  // (count - that summary's minimum), err = sum of their errors, mins = sum of their
  // minimums. Then count = all_mins + up and error = all_mins - mins + err.
  struct Combined {
    uint64_t hash;
    const std::string* key;
    uint64_t up, err, mins;
  };
  thread_local std::vector<Combined> keys;
  thread_local std::vector<int32_t> table;
  keys.clear();
  size_t slots = 0;
  for (const SpaceSaving* in : inputs) slots += in->slots_.size();
  size_t table_size = 16;
  while (table_size < 2 * slots) table_size <<= 1;
  table.assign(table_size, -1);
  uint64_t all_mins = 0, total = 0;
  for (const SpaceSaving* in : inputs) {
    const uint64_t m = in->min_count();
    all_mins = SatAdd(all_mins, m);
    total = SatAdd(total, in->total_);
    for (const Slot& t : in->slots_) {
      size_t i = t.hash & (table_size - 1);
      while (table[i] >= 0 && !(keys[static_cast<size_t>(table[i])].hash == t.hash &&
                                *keys[static_cast<size_t>(table[i])].key == t.key))
        i = (i + 1) & (table_size - 1);
      if (table[i] < 0) {
        table[i] = static_cast<int32_t>(keys.size());
        keys.push_back(Combined{t.hash, &t.key, 0, 0, 0});
      }
      Combined& c = keys[static_cast<size_t>(table[i])];
      c.up = SatAdd(c.up, t.count - m);
      c.err = SatAdd(c.err, t.error);
      c.mins = SatAdd(c.mins, m);
    }
  }
  const auto count_of = [&](const Combined& c) { return SatAdd(all_mins, c.up); };
  if (keys.size() > capacity_) {
    // The capacity heaviest under the usual total order (count, then key bytes).
    std::nth_element(keys.begin(), keys.begin() + capacity_, keys.end(),
                     [&](const Combined& a, const Combined& b) {
                       const uint64_t ca = count_of(a), cb = count_of(b);
                       if (ca != cb) return ca > cb;
                       return *a.key < *b.key;
                     });
    keys.resize(capacity_);
  }
  // Built aside (the keys point into this summary's slots too), then copied back, so
  // the counter array never grows past the capacity.
  thread_local std::vector<Slot> result;
  if (result.size() < keys.size()) result.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const Combined& c = keys[i];
    Slot& r = result[i];
    r.key.assign(*c.key);
    r.count = count_of(c);
    r.error = SatAdd(all_mins - c.mins, c.err);
    r.hash = c.hash;
  }
  if (slots_.capacity() < keys.size()) slots_.reserve(keys.size());
  slots_.resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) std::swap(slots_[i], result[i]);
  total_ = total;
  RebuildIndex();
  heap_stale_ = true;
}

void SpaceSaving::ReserveSlot() {
  // Grow by doubling, but never past the capacity: merged summaries stay at full size
  // for as long as their pane lives.
  if (slots_.size() < slots_.capacity()) return;
  slots_.reserve(std::min<size_t>(capacity_, std::max<size_t>(4, 2 * slots_.capacity())));
}

void SpaceSaving::KeepHeaviest(std::vector<Slot>& extra, size_t added) {
  // The `capacity` heaviest of slots_ and extra[0, added), ties by key bytes: a total
  // order, so the kept set does not depend on the order of the counters. Selection works
  // on indices (slots_ first, then extra), with each key's first 8 bytes compared as a
  // number before the bytes themselves. Kept extras then take the places of dropped slots.
  thread_local std::vector<uint64_t> prefix;
  thread_local std::vector<uint32_t> order;
  thread_local std::vector<uint8_t> kept;
  const size_t own = slots_.size();
  const size_t n = own + added;
  const auto at = [&](size_t i) -> Slot& { return i < own ? slots_[i] : extra[i - own]; };
  prefix.resize(n);
  order.resize(n);
  for (size_t i = 0; i < n; ++i) {
    prefix[i] = KeyPrefix(at(i).key);
    order[i] = static_cast<uint32_t>(i);
  }
  const auto heavier = [&](uint32_t a, uint32_t b) {
    const Slot& x = at(a);
    const Slot& y = at(b);
    if (x.count != y.count) return x.count > y.count;
    if (prefix[a] != prefix[b]) return prefix[a] < prefix[b];
    return x.key < y.key;
  };
  std::nth_element(order.begin(), order.begin() + capacity_, order.end(), heavier);
  kept.assign(n, 0);
  for (size_t i = 0; i < capacity_; ++i) kept[order[i]] = 1;
  size_t hole = 0;  // next dropped position in slots_
  for (size_t i = own; i < n; ++i) {
    if (!kept[i]) continue;
    while (hole < own && kept[hole]) ++hole;
    if (hole < own) {
      std::swap(slots_[hole++], extra[i - own]);
    } else {
      ReserveSlot();
      slots_.push_back(std::move(extra[i - own]));
    }
  }
}

void SpaceSaving::Serialize(std::string* out) const {
  out->push_back(static_cast<char>(kFormatVersion));
  PutVarint(out, capacity_);
  PutVarint(out, total_);
  PutVarint(out, slots_.size());
  std::vector<const Slot*> order;
  order.reserve(slots_.size());
  for (const Slot& s : slots_) order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const Slot* a, const Slot* b) { return HeavierFirst(*a, *b); });
  for (const Slot* s : order) {
    PutVarint(out, s->key.size());
    out->append(s->key);
    PutVarint(out, s->count);
    PutVarint(out, s->error);
  }
}

Status SpaceSaving::Deserialize(std::string_view* in) {
  SerialReader r{*in};
  uint8_t version;
  uint64_t capacity, total, n;
  if (!r.U8(&version)) return Status::InvalidArgument("topk: truncated header");
  if (version != kFormatVersion) return Status::InvalidArgument("topk: unknown version");
  if (!r.Varint(&capacity) || !r.Varint(&total) || !r.Varint(&n))
    return Status::InvalidArgument("topk: truncated header");
  if (capacity != capacity_) return Status::InvalidArgument("topk: capacity mismatch");
  if (n > capacity_) return Status::InvalidArgument("topk: too many counters");
  if (n > r.in.size() / 3) return Status::InvalidArgument("topk: counter count exceeds input");
  if ((n == 0) != (total == 0))
    return Status::InvalidArgument("topk: total inconsistent with counters");
  SpaceSaving fresh(static_cast<int>(capacity_));
  if (fresh.indexed()) fresh.index_.assign(IndexSizeFor(capacity_), -1);
  fresh.slots_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t len, count, error;
    std::string_view key;
    if (!r.Varint(&len)) return Status::InvalidArgument("topk: truncated key");
    if (len > kMaxKeyBytes) return Status::InvalidArgument("topk: key too long");
    if (!r.Bytes(len, &key)) return Status::InvalidArgument("topk: truncated key");
    if (!r.Varint(&count) || !r.Varint(&error))
      return Status::InvalidArgument("topk: truncated counter");
    if (count == 0 || error > count || count > total)
      return Status::InvalidArgument("topk: inconsistent counter");
    const uint64_t hash = HashKey(key);
    if (fresh.Find(key, hash) >= 0) return Status::InvalidArgument("topk: duplicate key");
    fresh.slots_.push_back(Slot{std::string(key), count, error, hash});
    fresh.IndexInsert(static_cast<int32_t>(fresh.slots_.size() - 1));
  }
  fresh.total_ = total;
  std::vector<Slot> slots = std::move(fresh.slots_);
  fresh.Rebuild(std::move(slots));
  *this = std::move(fresh);
  *in = r.in;
  return Status::Ok();
}

size_t SpaceSaving::MemoryBytes() const {
  size_t bytes = sizeof(*this) + slots_.capacity() * sizeof(Slot) +
                 (index_.capacity() + heap_pos_.capacity()) * sizeof(int32_t) +
                 heap_.capacity() * sizeof(HeapEntry);
  constexpr size_t kInlineKey = 15;  // libstdc++ small-string buffer
  for (const Slot& s : slots_)
    if (s.key.capacity() > kInlineKey) bytes += s.key.capacity() + 1;
  return bytes;
}

void SpaceSaving::Clear() {
  total_ = 0;
  heap_stale_ = false;
  ClearKeepingSmallBuffer(slots_);
  ClearKeepingSmallBuffer(index_);
  ClearKeepingSmallBuffer(heap_);
  ClearKeepingSmallBuffer(heap_pos_);
}

}  // namespace dnsight
