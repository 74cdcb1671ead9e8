// Rng and AliasTable: the simulator's own seeded randomness.
//
// Rng is xoshiro256** seeded through splitmix64, so a (seed, stream) pair always yields the
// same sequence on every platform and build: no std::random_device, no std::*_distribution
// (whose output differs between standard libraries). Every draw helper below is written
// out here for the same reason. Derive() makes an independent generator for a
// sub-component (an incident, a day of DGA names), so one component's draws never shift
// another's.
//
// AliasTable samples an index from fixed weights in O(1) (Walker's alias method).
//
// Thread-safety: values; one owner each.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace dnsight::sim {

// splitmix64 step: also a good 64-bit mixer for hashing seeds together.
uint64_t SplitMix64(uint64_t* state);
uint64_t Mix64(uint64_t a, uint64_t b);
// FNV-1a of text, for seeding from names.
uint64_t HashText(std::string_view text);

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next();
  // A generator for sub-stream `stream`, independent of this one's future draws.
  Rng Derive(uint64_t stream) const;

  // [0, 1) with 53 random bits.
  double Uniform();
  // [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n);
  // [lo, hi]. REQUIRES: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi);
  double UniformIn(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Chance(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller; no cached second value, so the draw count is fixed).
  double Normal();
  // exp(N(log(median), sigma)).
  double LogNormal(double median, double sigma);
  double Exponential(double mean);
  // Poisson(lambda): exact (Knuth) below 30, normal approximation above.
  uint64_t Poisson(double lambda);

 private:
  Rng() = default;
  uint64_t s_[4] = {0, 0, 0, 0};
};

class AliasTable {
 public:
  AliasTable() = default;
  // REQUIRES: weights non-empty, all >= 0, sum > 0.
  explicit AliasTable(std::span<const double> weights);

  size_t Sample(Rng& rng) const;
  size_t size() const { return prob_.size(); }
  bool empty() const { return prob_.empty(); }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

}  // namespace dnsight::sim
