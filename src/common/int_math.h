// Integer division that rounds toward negative / positive infinity (C++ `/` truncates
// toward zero). Pane arithmetic needs this so that negative event times land in the right
// pane. REQUIRES: b != 0.
#pragma once

#include <cstdint>

namespace dnsight {

inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

}  // namespace dnsight
