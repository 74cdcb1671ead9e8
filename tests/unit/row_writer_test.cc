// AppendJsonNumber writes the shortest round-trip form of every finite double (the same
// text as std::to_chars) and null for NaN and infinities; integral values take a faster
// path that must print exactly the same text.
#include "engine/row_writer.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

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

// The cache writes what WriteJsonNumber writes, for repeated values (hits), for values
// that share a slot (a hit must compare the exact bits), and for every kind of value.
TEST(NumberTextCache, SameTextAsWriteJsonNumber) {
  std::mt19937_64 rng(3);
  std::vector<double> pool;
  for (int i = 0; i < 20000; ++i) {
    switch (i % 5) {
      case 0:
        pool.push_back(static_cast<double>(rng() % 50) / static_cast<double>(1 + rng() % 40));
        break;
      case 1:
        pool.push_back(static_cast<double>(rng() % 9) / 60.0);
        break;
      case 2:
        pool.push_back(
            std::ldexp(static_cast<double>(rng() % 100000), static_cast<int>(rng() % 120) - 60));
        break;
      case 3: {
        const uint64_t b = rng();
        double d;
        std::memcpy(&d, &b, sizeof d);
        pool.push_back(d);  // any bits: NaN, infinities, subnormals, huge values
        break;
      }
      default:
        pool.push_back(-static_cast<double>(rng() % 1000) / 7.0);
    }
  }
  for (double v : {0.0, -0.0, 1e15, 1e22, -1e-300, std::numeric_limits<double>::quiet_NaN()})
    pool.push_back(v);
  NumberTextCache cache;
  int checked = 0;
  for (int round = 0; round < 200000; ++round) {
    // Skewed draws so that some values repeat often and others rarely.
    const double v = pool[(rng() % pool.size()) % (1 + rng() % pool.size())];
    char want[kMaxJsonNumberChars], got[kMaxJsonNumberChars];
    const std::string a(want, WriteJsonNumber(v, want));
    const std::string b(got, cache.Write(v, got));
    ASSERT_EQ(a, b) << round;
    ++checked;
  }
  EXPECT_EQ(checked, 200000);
}

}  // namespace
}  // namespace dnsight
