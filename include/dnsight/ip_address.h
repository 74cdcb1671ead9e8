// IpAddress: an IPv4 or IPv6 address held by value in 16 bytes.
//
// IPv4 addresses are stored in the first 4 bytes with family kV4; the rest is zero, so a
// whole-object comparison or hash is well defined. Thread-safety: a value type.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnsight {

enum class IpFamily : uint8_t { kNone = 0, kV4 = 4, kV6 = 6 };

struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  IpFamily family = IpFamily::kNone;

  static IpAddress V4(const uint8_t* b4);
  static IpAddress V6(const uint8_t* b16);
  // Parses dotted-quad or RFC 4291 text; nullopt on anything else.
  static std::optional<IpAddress> Parse(std::string_view text);

  bool empty() const { return family == IpFamily::kNone; }
  size_t size() const { return family == IpFamily::kV4 ? 4 : family == IpFamily::kV6 ? 16 : 0; }
  // Zeroes every bit after the first `bits` (clamped to the family's width).
  IpAddress Masked(int bits) const;
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

}  // namespace dnsight
