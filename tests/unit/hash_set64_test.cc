// HashSet64 against std::unordered_set: random inserts and lookups over a small key range
// (so probes collide and wrap), the hashes 0 and 1 (which the set stores as one), growth
// from empty, and Clear.
#include "common/hash_set64.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_set>

namespace dnsight {
namespace {

TEST(HashSet64, AgreesWithUnorderedSet) {
  HashSet64 set;
  std::unordered_set<uint64_t> want;
  std::mt19937_64 rng(5);
  for (int round = 0; round < 3; ++round) {
    for (int step = 0; step < 20'000; ++step) {
      // Keys that share low bits, so they compete for the same slots (never 0 or 1,
      // which the set does not tell apart).
      const uint64_t key = (rng() % 5000 + 2) << (rng() % 2 == 0 ? 0 : 20);
      if (rng() % 2 == 0) {
        EXPECT_EQ(set.Insert(key), want.insert(key).second) << key;
      } else {
        EXPECT_EQ(set.Contains(key), want.count(key) > 0) << key;
      }
    }
    EXPECT_EQ(set.size(), want.size());
    for (uint64_t key : want) EXPECT_TRUE(set.Contains(key)) << key;
    set.Clear();
    want.clear();
    EXPECT_TRUE(set.empty());
    EXPECT_FALSE(set.Contains(7));
  }
}

TEST(HashSet64, ZeroIsStoredAsOne) {
  HashSet64 set;
  EXPECT_FALSE(set.Contains(0));
  EXPECT_TRUE(set.Insert(0));
  EXPECT_TRUE(set.Contains(0));
  EXPECT_TRUE(set.Contains(1));
  EXPECT_FALSE(set.Insert(1));
  EXPECT_EQ(set.size(), 1u);
}

TEST(HashSet64, SwapExchangesContents) {
  HashSet64 a, b;
  a.Insert(10);
  a.Insert(11);
  b.Insert(20);
  a.swap(b);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_TRUE(a.Contains(20));
  EXPECT_FALSE(a.Contains(10));
  EXPECT_EQ(b.size(), 2u);
  EXPECT_TRUE(b.Contains(11));
}

}  // namespace
}  // namespace dnsight
