// NameModel: how plausible a domain label is at this site, and a DGA score built on it.
//
// The model is a character trigram model (alphabet a-z, 0-9, '-', other, and a boundary
// symbol) learned online from the registered-domain labels the site actually resolves
// (the label left of the public suffix, e.g. "example" in www.example.co.uk), each
// domain learned once when it is first seen with a NOERROR answer. No external list of
// good or bad names is needed: what is normal is what this site's users look up.
//
// DgaScore(label) in [0, 1] combines the model's surprise (bits per character, add-k
// smoothed) with lexical features: length, digit ratio, character entropy, the longest
// consonant run and the vowel ratio. Until `warmup_domains` labels have been learned the
// surprise term is replaced by a neutral prior, so a fresh process does not flag
// everything. The weights are hand-set and documented in src/detect/README.md; they
// were checked on the simulator's DGA families and on real captures' names.
//
// Memory: 39^3 + 39^2 uint32 counts (~240 KB). Cost: one table lookup per character.
// Counts saturate; when the total passes `halve_after`, every count is halved so the
// model follows the site's drift with bounded weight.
//
// Thread-safety: not thread-safe; owned by the (single) normalizer. Deterministic for a
// given input order.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace dnsight {

struct NameModelOptions {
  uint32_t warmup_domains = 200;
  uint64_t halve_after = 1ull << 26;  // trigram observations before counts are halved
  double smoothing = 0.1;             // add-k
};

struct LabelFeatures {
  double length = 0;
  double digit_ratio = 0;
  double entropy = 0;  // bits per character
  double max_consonant_run = 0;
  double vowel_ratio = 0;
  double surprise = 0;  // mean -log2 P(c | two previous), bits per character
};

class NameModel {
 public:
  explicit NameModel(NameModelOptions options = {});

  // Learns one label (the registered domain's first label).
  void Learn(std::string_view label);
  LabelFeatures Features(std::string_view label) const;
  // 0 (plausible) .. 1 (looks algorithmically generated).
  double DgaScore(std::string_view label) const;

  // Also the model version: every change to the model (Learn) increments it.
  uint64_t labels_learned() const { return labels_learned_; }

  // The label left of the public suffix: "example" for registered domain "example.co.uk".
  static std::string_view RegisteredLabel(std::string_view registered_domain);

 private:
  static constexpr int kSymbols = 39;  // a-z, 0-9, '-', other, boundary
  static int Symbol(char c);
  double Surprise(std::string_view label) const;

  NameModelOptions opt_;
  std::vector<uint32_t> tri_;  // [a][b][c]
  std::vector<uint32_t> bi_;   // [a][b] contexts
  uint64_t observations_ = 0;
  uint64_t labels_learned_ = 0;
};

}  // namespace dnsight
