// Equality and copy for short byte strings (addresses, entity keys, DNS names) without a
// libc call: up to 16 bytes take two overlapping word loads, longer ones memcmp/memcpy.
// The hot loops compare and copy keys of 4 to 16 bytes per event, where a call's fixed
// cost exceeds the work.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dnsight {

namespace short_bytes_detail {
template <typename Word>
inline Word Load(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);  // fixed size: compiled to one load
  return w;
}
}  // namespace short_bytes_detail

// a == b, byte for byte.
inline bool ShortEquals(std::string_view a, std::string_view b) {
  using short_bytes_detail::Load;
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    return ((Load<uint64_t>(x) ^ Load<uint64_t>(y)) |
            (Load<uint64_t>(x + n - 8) ^ Load<uint64_t>(y + n - 8))) == 0;
  }
  if (n >= 4) {
    return ((Load<uint32_t>(x) ^ Load<uint32_t>(y)) |
            (Load<uint32_t>(x + n - 4) ^ Load<uint32_t>(y + n - 4))) == 0;
  }
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

// *dst = src, reusing dst's buffer. src may point into *dst: its bytes are read before
// dst is resized.
inline void ShortAssign(std::string* dst, std::string_view src) {
  using short_bytes_detail::Load;
  const size_t n = src.size();
  if (n > 16 || n > dst->capacity()) {
    dst->assign(src);
    return;
  }
  const char* s = src.data();
  if (n >= 8) {
    const uint64_t head = Load<uint64_t>(s), tail = Load<uint64_t>(s + n - 8);
    dst->resize(n);
    std::memcpy(dst->data(), &head, 8);
    std::memcpy(dst->data() + n - 8, &tail, 8);
  } else if (n >= 4) {
    const uint32_t head = Load<uint32_t>(s), tail = Load<uint32_t>(s + n - 4);
    dst->resize(n);
    std::memcpy(dst->data(), &head, 4);
    std::memcpy(dst->data() + n - 4, &tail, 4);
  } else {
    char bytes[3] = {};
    for (size_t i = 0; i < n; ++i) bytes[i] = s[i];
    dst->resize(n);
    for (size_t i = 0; i < n; ++i) (*dst)[i] = bytes[i];
  }
}

}  // namespace dnsight
