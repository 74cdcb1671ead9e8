// AppendJsonNumber writes the shortest round-trip form of every finite double (the same
// text as std::to_chars) and null for NaN and infinities; integral values take a faster
// path that must print exactly the same text.
#include "engine/row_writer.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace dnsight {
namespace {

std::string Reference(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string Written(double v) {
  std::string out;
  AppendJsonNumber(v, &out);
  return out;
}

TEST(AppendJsonNumber, NonFiniteIsNull) {
  EXPECT_EQ(Written(std::numeric_limits<double>::quiet_NaN()), "null");
  EXPECT_EQ(Written(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Written(-std::numeric_limits<double>::infinity()), "null");
}

TEST(AppendJsonNumber, IntegralValuesMatchShortestForm) {
  EXPECT_EQ(Written(-0.0), "-0");
  EXPECT_EQ(Written(100000.0), "1e+05");
  EXPECT_EQ(Written(99999.0), "99999");
  EXPECT_EQ(Written(123456.0), "123456");
  for (int64_t n = -200000; n <= 200000; ++n) {
    const double v = static_cast<double>(n);
    ASSERT_EQ(Written(v), Reference(v)) << n;
  }
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200000; ++i) {
    // Integers of every magnitude up to 2^60, many with trailing zeros.
    int64_t n = static_cast<int64_t>(rng() >> (4 + rng() % 60));
    if (rng() % 3 == 0) n -= n % 1000;
    if (rng() % 2) n = -n;
    const double v = static_cast<double>(n);
    ASSERT_EQ(Written(v), Reference(v)) << n;
  }
}

TEST(AppendJsonNumber, FractionsMatchShortestForm) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  for (int i = 0; i < 100000; ++i) {
    const double v = u(rng);
    ASSERT_EQ(Written(v), Reference(v));
  }
  EXPECT_EQ(Written(0.15), "0.15");
}

}  // namespace
}  // namespace dnsight
