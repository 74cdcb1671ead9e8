// Small helpers for std::vector-backed state.
#pragma once

#include <cstddef>

namespace dnsight {

// Empties v. Keeps its buffer when small, so a recycled aggregation state does not
// reallocate on its next use; releases it when large, so a recycled state does not pin
// memory.
template <typename V>
void ClearKeepingSmallBuffer(V& v) {
  constexpr size_t kKeepBytes = 1024;
  if (v.capacity() * sizeof(typename V::value_type) <= kKeepBytes) {
    v.clear();
  } else {
    V().swap(v);
  }
}

}  // namespace dnsight
