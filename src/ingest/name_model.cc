#include "ingest/name_model.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace dnsight {
namespace {

constexpr int kBoundary = 38;
// Surprise of a label before the model is warm: typical of English-like names.
constexpr double kPriorSurprise = 3.2;

bool IsVowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}
bool IsLetter(char c) {
  return c >= 'a' && c <= 'z';
}

}  // namespace

NameModel::NameModel(NameModelOptions options)
    : opt_(options),
      tri_(static_cast<size_t>(kSymbols) * kSymbols * kSymbols, 0),
      bi_(static_cast<size_t>(kSymbols) * kSymbols, 0) {}

int NameModel::Symbol(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '0' && c <= '9') return 26 + (c - '0');
  if (c == '-') return 36;
  return 37;
}

std::string_view NameModel::RegisteredLabel(std::string_view registered_domain) {
  const size_t dot = registered_domain.find('.');
  return dot == std::string_view::npos ? registered_domain : registered_domain.substr(0, dot);
}

void NameModel::Learn(std::string_view label) {
  if (label.empty()) return;
  int a = kBoundary, b = kBoundary;
  const auto add = [&](int c) {
    const size_t ab = static_cast<size_t>(a) * kSymbols + static_cast<size_t>(b);
    uint32_t& t = tri_[ab * kSymbols + static_cast<size_t>(c)];
    if (t < UINT32_MAX) ++t;
    if (bi_[ab] < UINT32_MAX) ++bi_[ab];
    a = b;
    b = c;
    ++observations_;
  };
  for (char ch : label) add(Symbol(ch));
  add(kBoundary);
  ++labels_learned_;
  if (observations_ >= opt_.halve_after) {
    for (auto& t : tri_) t /= 2;
    for (auto& t : bi_) t /= 2;
    observations_ /= 2;
  }
}

double NameModel::Surprise(std::string_view label) const {
  if (label.empty()) return 0;
  if (labels_learned_ < opt_.warmup_domains) return kPriorSurprise;
  const double k = opt_.smoothing;
  double bits = 0;
  int a = kBoundary, b = kBoundary, n = 0;
  const auto step = [&](int c) {
    const size_t ab = static_cast<size_t>(a) * kSymbols + static_cast<size_t>(b);
    const double p = (tri_[ab * kSymbols + static_cast<size_t>(c)] + k) / (bi_[ab] + k * kSymbols);
    bits -= std::log2(p);
    a = b;
    b = c;
    ++n;
  };
  for (char ch : label) step(Symbol(ch));
  step(kBoundary);
  return bits / n;
}

LabelFeatures NameModel::Features(std::string_view label) const {
  LabelFeatures f;
  if (label.empty()) return f;
  f.length = static_cast<double>(label.size());
  std::array<uint16_t, 256> counts{};
  int digits = 0, vowels = 0, run = 0, max_run = 0;
  for (char c : label) {
    ++counts[static_cast<uint8_t>(c)];
    if (c >= '0' && c <= '9') ++digits;
    if (IsVowel(c)) ++vowels;
    if (IsLetter(c) && !IsVowel(c)) {
      max_run = std::max(max_run, ++run);
    } else {
      run = 0;
    }
  }
  const double n = f.length;
  for (uint16_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    f.entropy -= p * std::log2(p);
  }
  f.digit_ratio = digits / n;
  f.vowel_ratio = vowels / n;
  f.max_consonant_run = max_run;
  f.surprise = Surprise(label);
  return f;
}

double NameModel::DgaScore(std::string_view label) const {
  // Short labels carry too little evidence either way.
  if (label.size() < 6) return 0;
  const LabelFeatures f = Features(label);
  // Logistic combination; each term is near 0 for typical names. Weights are hand-set:
  // surprise dominates, the lexical terms separate random-looking names when the site
  // model is still thin.
  double z = -4.0;
  z += 1.6 * (f.surprise - 3.0);
  z += 1.2 * std::max(0.0, f.entropy - 3.0) * std::min(1.0, (f.length - 5) / 7.0);
  z += 2.5 * f.digit_ratio;
  z += 0.6 * std::max(0.0, f.max_consonant_run - 3.0);
  z += 3.0 * std::max(0.0, 0.3 - f.vowel_ratio);
  z += 0.15 * std::max(0.0, f.length - 12.0);
  return 1.0 / (1.0 + std::exp(-z));
}

}  // namespace dnsight
