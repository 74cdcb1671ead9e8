// Compact binary encoding for aggregation state: LEB128 varints, little-endian doubles,
// and a bounds-checked reader. Every read fails (returns false) rather than overrun, so
// Deserialize functions built on it are safe on any bytes.
//
// Thread-safety: values only. SerialReader holds a view; the bytes must outlive it.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace dnsight {

inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline void PutF64(std::string* out, double d) {
  const uint64_t v = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct SerialReader {
  std::string_view in;

  bool U8(uint8_t* v) {
    if (in.empty()) return false;
    *v = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!U8(&b)) return false;
      if (shift == 63 && b > 1) return false;  // would overflow 64 bits
      r |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  bool F64(double* d) {
    if (in.size() < 8) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
    in.remove_prefix(8);
    *d = std::bit_cast<double>(v);
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (in.size() < n) return false;
    *out = in.substr(0, n);
    in.remove_prefix(n);
    return true;
  }
};

}  // namespace dnsight
