#include "ingest/name_model.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace dnsight {
namespace {

// Word-like names as a site resolves them ("cloudshop", "newsmedia24") and random
// character strings as DGA families produce them.
class NameCorpus {
 public:
  explicit NameCorpus(uint32_t seed) : rng_(seed) {}
  std::string SiteName() {
    static const char* kWords[] = {"cloud", "shop",  "news",  "mail",   "bank",  "home",   "book",
                                   "tech",  "data",  "media", "online", "store", "travel", "music",
                                   "game",  "photo", "sport", "health", "food",  "world",  "city",
                                   "web",   "app",   "blog",  "secure", "login", "market", "design",
                                   "green", "north", "river", "light",  "smart", "fast",   "open"};
    const size_t n = sizeof kWords / sizeof kWords[0];
    std::string s = kWords[rng_() % n];
    s += kWords[rng_() % n];
    if (rng_() % 4 == 0) s += std::to_string(rng_() % 100);
    return s;
  }
  std::string DgaName() {
    std::string s;
    const size_t len = 10 + rng_() % 7;
    for (size_t i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + rng_() % 26));
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST(NameModel, LexicalFeatures) {
  NameModel m;
  const LabelFeatures f = m.Features("ab12xyzq");
  EXPECT_EQ(f.length, 8);
  EXPECT_DOUBLE_EQ(f.digit_ratio, 0.25);
  EXPECT_DOUBLE_EQ(f.entropy, 3.0);   // 8 distinct characters
  EXPECT_EQ(f.max_consonant_run, 2);  // "zq" (y counts as a vowel)
}

TEST(NameModel, RegisteredLabel) {
  EXPECT_EQ(NameModel::RegisteredLabel("example.co.uk"), "example");
  EXPECT_EQ(NameModel::RegisteredLabel("localhost"), "localhost");
}

TEST(NameModel, SeparatesGeneratedNamesFromTheSitesOwnOnceWarm) {
  NameCorpus corpus(7);
  NameModel m;
  // Before warm-up the model is neutral: a plausible name scores low.
  EXPECT_LT(m.DgaScore("cloudshop"), 0.2);
  for (int i = 0; i < 2000; ++i) m.Learn(corpus.SiteName());
  std::vector<double> good, bad;
  for (int i = 0; i < 500; ++i) {
    good.push_back(m.DgaScore(corpus.SiteName()));
    bad.push_back(m.DgaScore(corpus.DgaName()));
  }
  // AUC: the probability a DGA name outscores a site name.
  double wins = 0;
  for (double b : bad)
    for (double g : good) wins += b > g ? 1 : b == g ? 0.5 : 0;
  const double auc = wins / (bad.size() * good.size());
  EXPECT_GT(auc, 0.97);
  size_t flagged_good = 0, flagged_bad = 0;
  for (double g : good) flagged_good += g >= 0.7;
  for (double b : bad) flagged_bad += b >= 0.7;
  EXPECT_LT(flagged_good, good.size() / 50);  // < 2 % false positives at 0.7
  EXPECT_GT(flagged_bad, bad.size() * 9 / 10);
}

TEST(NameModel, ShortLabelsAreNeverFlagged) {
  NameModel m;
  EXPECT_EQ(m.DgaScore("xq7z"), 0);
  EXPECT_EQ(m.DgaScore(""), 0);
}

}  // namespace
}  // namespace dnsight
