#include "engine/pane_states.h"

#include <memory>
#include <new>
#include <utility>

namespace dnsight {
namespace {

constexpr size_t kAlign = alignof(std::max_align_t);

size_t AlignUp(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

}  // namespace

PaneLayout::PaneLayout(const std::vector<AggregationSpec>& specs) : specs_(specs) {
  size_t at = AlignUp(specs.size() * sizeof(AggState*));
  offsets_.reserve(specs.size());
  for (const AggregationSpec& spec : specs) {
    offsets_.push_back(at);
    at += AlignUp(AggStateSize(spec));
  }
  bytes_ = at;
}

PaneStates::PaneStates(const PaneLayout& layout) : size_(layout.size()) {
  // operator new returns memory aligned for any fundamental type (kAlign).
  memory_ = static_cast<std::byte*>(::operator new(layout.bytes_));
  AggState** states = table();
  for (size_t i = 0; i < size_; ++i)
    states[i] = MakeAggStateAt(layout.specs_[i], memory_ + layout.offsets_[i]);
}

PaneStates::~PaneStates() {
  Destroy();
}

PaneStates::PaneStates(PaneStates&& other) noexcept
    : memory_(std::exchange(other.memory_, nullptr)), size_(std::exchange(other.size_, 0)) {}

PaneStates& PaneStates::operator=(PaneStates&& other) noexcept {
  if (this != &other) {
    Destroy();
    memory_ = std::exchange(other.memory_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void PaneStates::Destroy() {
  if (memory_ == nullptr) return;
  for (AggState* s : *this) std::destroy_at(s);
  ::operator delete(memory_);
  memory_ = nullptr;
  size_ = 0;
}

}  // namespace dnsight
