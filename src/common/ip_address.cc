#include "dnsight/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace dnsight {

IpAddress IpAddress::V4(const uint8_t* b4) {
  IpAddress a;
  std::memcpy(a.bytes.data(), b4, 4);
  a.family = IpFamily::kV4;
  return a;
}

IpAddress IpAddress::V6(const uint8_t* b16) {
  IpAddress a;
  std::memcpy(a.bytes.data(), b16, 16);
  a.family = IpFamily::kV6;
  return a;
}

namespace {

// Dotted-quad IPv4 as inet_pton(AF_INET) accepts it: four decimal octets in [0, 255],
// no leading zeros, nothing else. False for anything else (the caller then falls back to
// inet_pton, so this only has to be right when it says true).
bool ParseDottedQuad(std::string_view t, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= t.size() || t[i] != '.') return false;
      ++i;
    }
    const size_t start = i;
    unsigned v = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - start < 3) {
      v = v * 10 + static_cast<unsigned>(t[i] - '0');
      ++i;
    }
    if (i == start || v > 255 || (i - start > 1 && t[start] == '0')) return false;
    out[part] = static_cast<uint8_t>(v);
  }
  return i == t.size();
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  uint8_t quad[4];
  if (text.size() <= 15 && ParseDottedQuad(text, quad)) return V4(quad);
  // inet_pton stops at a NUL: "1.2.3.4\0junk" must not pass as an address.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t out[16];
  if (inet_pton(AF_INET, buf, out) == 1) return V4(out);
  if (inet_pton(AF_INET6, buf, out) == 1) return V6(out);
  return std::nullopt;
}

IpAddress IpAddress::Masked(int bits) const {
  IpAddress a = *this;
  const int width = static_cast<int>(size()) * 8;
  if (bits < 0) bits = 0;
  if (bits >= width) return a;
  for (int i = 0; i < 16; ++i) {
    const int keep = bits - i * 8;
    if (keep >= 8) continue;
    a.bytes[static_cast<size_t>(i)] =
        keep <= 0 ? 0
                  : static_cast<uint8_t>(a.bytes[static_cast<size_t>(i)] & (0xFF << (8 - keep)));
  }
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family == IpFamily::kV4) {
    inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  } else if (family == IpFamily::kV6) {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace dnsight
