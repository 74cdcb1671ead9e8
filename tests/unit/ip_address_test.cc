// IpAddress::Parse agrees with inet_pton on every input (it rejects an embedded NUL,
// which inet_pton would stop at): hand-picked edges, then many random strings.
#include "dnsight/ip_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace dnsight {
namespace {

// What inet_pton says: V4 bytes, V6 bytes, or nothing.
std::optional<IpAddress> Reference(const std::string& text) {
  if (text.empty() || text.size() > 45 || text.find('\0') != std::string::npos) return {};
  uint8_t out[16];
  if (inet_pton(AF_INET, text.c_str(), out) == 1) return IpAddress::V4(out);
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) return IpAddress::V6(out);
  return {};
}

void ExpectSame(const std::string& text) {
  const auto got = IpAddress::Parse(text);
  const auto want = Reference(text);
  ASSERT_EQ(got.has_value(), want.has_value()) << "'" << text << "'";
  if (!got) return;
  EXPECT_EQ(got->family, want->family) << text;
  EXPECT_EQ(got->ToString(), want->ToString()) << text;
}

TEST(IpAddress, ParseAgreesWithInetPtonOnEdges) {
  for (const char* t : {"0.0.0.0",      "255.255.255.255", "256.1.1.1",      "1.2.3",
                        "1.2.3.4.5",    "01.2.3.4",        "1.2.3.04",       "1.2.3.4 ",
                        " 1.2.3.4",     "1..3.4",          "1.2.3.",         ".1.2.3",
                        "1.2.3.4a",     "1234.1.1.1",      "192.0.2.1",      "10.0.0.255",
                        "1.2.3.-1",     "+1.2.3.4",        "0x1.2.3.4",      "::",
                        "::1",          "2001:db8::53",    "::ffff:1.2.3.4", "1.2.3.4::",
                        "fe80::1%eth0", "999.999.999.999", "0.0.0.00",       "00.0.0.0",
                        "1.2.3.4\n"})
    ExpectSame(t);
  ExpectSame(std::string("1.2.3.4\0junk", 12));
}

TEST(IpAddress, ParseAgreesWithInetPtonOnRandomStrings) {
  std::mt19937_64 rng(42);
  const std::string chars = "0123456789..::abcdefABCDEF";
  for (int n = 0; n < 200'000; ++n) {
    std::string t(1 + rng() % 18, ' ');
    for (char& c : t) c = chars[rng() % chars.size()];
    ExpectSame(t);
    if (HasFatalFailure()) return;
  }
}

// Dotted quads take a fast path; these are mostly well-formed, with octets past 255,
// leading zeros, and an extra or missing part now and then.
TEST(IpAddress, ParseAgreesWithInetPtonOnDottedQuads) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 200'000; ++n) {
    std::string t;
    const int parts = 3 + static_cast<int>(rng() % 3);
    for (int p = 0; p < parts; ++p) {
      if (p > 0) t.push_back('.');
      if (rng() % 16 == 0) t.push_back('0');
      t += std::to_string(rng() % 300);
    }
    ExpectSame(t);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace dnsight
