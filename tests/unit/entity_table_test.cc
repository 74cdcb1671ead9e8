// EntityTable against std::map under random inserts, finds and erases, with hashes drawn
// from a tiny range so that long probe runs, wrap-around and backward shifts all occur.
#include "engine/entity_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace dnsight {
namespace {

struct Item {
  std::string key;
  int value = 0;
};

TEST(EntityTable, AgreesWithMapUnderCollisions) {
  EntityTable<Item> table;
  std::map<std::string, int> want;
  std::mt19937_64 rng(11);
  // Hash of a key: a few bits only, and near the top of a small table to wrap around.
  const auto hash_of = [](const std::string& k) { return (std::hash<std::string>{}(k) % 7) + 60; };
  for (int step = 0; step < 50'000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 300);
    const uint64_t h = hash_of(key);
    switch (rng() % 3) {
      case 0:
        if (!want.count(key)) {
          auto item = std::make_unique<Item>();
          item->key = key;
          item->value = step;
          table.Insert(std::move(item), h);
          want[key] = step;
        }
        break;
      case 1:
        table.Erase(key, h);
        want.erase(key);
        break;
      default: {
        const Item* got = table.Find(key, h);
        auto it = want.find(key);
        ASSERT_EQ(got != nullptr, it != want.end()) << key << " at step " << step;
        if (got) {
          EXPECT_EQ(got->value, it->second);
        }
      }
    }
    ASSERT_EQ(table.size(), want.size());
  }
  // Every remaining key is still found, and ForEach visits exactly them.
  size_t visited = 0;
  table.ForEach([&](const Item& item) {
    ++visited;
    EXPECT_EQ(want.at(item.key), item.value);
  });
  EXPECT_EQ(visited, want.size());
  for (const auto& [key, value] : want) ASSERT_NE(table.Find(key, hash_of(key)), nullptr) << key;
}

TEST(EntityTable, PointersSurviveGrowth) {
  EntityTable<Item> table;
  auto first = std::make_unique<Item>();
  first->key = "first";
  Item* p = &table.Insert(std::move(first), EntityTable<Item>::Hash("first"));
  for (int i = 0; i < 10'000; ++i) {
    auto item = std::make_unique<Item>();
    item->key = std::to_string(i);
    table.Insert(std::move(item), EntityTable<Item>::Hash(std::to_string(i)));
  }
  EXPECT_EQ(table.Find("first", EntityTable<Item>::Hash("first")), p);
  EXPECT_EQ(table.size(), 10'001u);
}

}  // namespace
}  // namespace dnsight
