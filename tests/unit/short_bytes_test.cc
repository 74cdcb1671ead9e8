// ShortEquals and ShortAssign against std::string for every length up to 40 (both sides of
// each word-size boundary) and a difference at every position.
#include "common/short_bytes.h"

#include <gtest/gtest.h>

#include <string>

namespace dnsight {
namespace {

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + 7 * i);
  return s;
}

TEST(ShortBytes, EqualsAgreesWithStringCompare) {
  for (size_t n = 0; n <= 40; ++n) {
    const std::string a = Pattern(n, 'a');
    EXPECT_TRUE(ShortEquals(a, Pattern(n, 'a'))) << n;
    EXPECT_FALSE(ShortEquals(a, Pattern(n + 1, 'a'))) << n;
    for (size_t pos = 0; pos < n; ++pos) {
      std::string b = a;
      b[pos] = static_cast<char>(b[pos] ^ 0x10);
      EXPECT_FALSE(ShortEquals(a, b)) << n << " at " << pos;
    }
  }
}

TEST(ShortBytes, AssignAgreesWithStringAssign) {
  for (size_t from = 0; from <= 40; from += 3) {
    for (size_t n = 0; n <= 40; ++n) {
      std::string dst = Pattern(from, 'x');
      const std::string src = Pattern(n, 'b');
      ShortAssign(&dst, src);
      EXPECT_EQ(dst, src) << from << " -> " << n;
      EXPECT_EQ(dst.size(), n);
      EXPECT_EQ(dst.c_str()[n], '\0');
    }
  }
}

// The source may be part of the destination (as std::string::assign allows).
TEST(ShortBytes, AssignFromItsOwnBytes) {
  for (size_t len = 0; len <= 15; ++len) {
    for (size_t from = 0; from + len <= 15; ++from) {
      std::string s = Pattern(15, 'k');
      const std::string want = s.substr(from, len);
      ShortAssign(&s, std::string_view(s).substr(from, len));
      EXPECT_EQ(s, want) << from << " " << len;
    }
  }
}

}  // namespace
}  // namespace dnsight
