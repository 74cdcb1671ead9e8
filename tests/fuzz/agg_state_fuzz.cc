// libFuzzer target for AggState::Deserialize and everything an accepted state can do.
//
// Input: the first byte picks one of the specs below (every AggKind, each with default
// and with small parameters); the rest is handed to Deserialize. An accepted state is
// finalized, serialized, re-read (which must succeed and re-serialize to the same bytes),
// merged with that copy and with itself, merged with others in one step (MergeMany),
// reset, and so on. Invariant violations trap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/aggregator.h"

namespace {

using dnsight::AggKind;
using dnsight::AggregationSpec;
using dnsight::DnsField;

std::vector<AggregationSpec> MakeFuzzSpecs() {
  const AggKind kinds[] = {AggKind::kCount, AggKind::kSum,      AggKind::kMin,
                           AggKind::kMax,   AggKind::kMean,     AggKind::kVariance,
                           AggKind::kRatio, AggKind::kDistinct, AggKind::kQuantiles,
                           AggKind::kTopK,  AggKind::kEntropy};
  std::vector<AggregationSpec> specs;
  for (int small = 0; small < 2; ++small) {
    for (AggKind kind : kinds) {
      AggregationSpec s;
      s.name = "f";
      s.kind = kind;
      s.field = kind == AggKind::kQuantiles || kind == AggKind::kSum ? DnsField::kLatencyMs
                                                                     : DnsField::kQname;
      s.quantiles =
          small ? std::vector<double>{0, 0.5, 1} : std::vector<double>{0.5, 0.95, 0.99, 0.999};
      if (small) {
        s.hll_precision = 4;
        s.top_k = 2;
        s.max_categories = 2;
        s.relative_accuracy = 0.05;
      }
      specs.push_back(s);
    }
  }
  return specs;
}

const std::vector<AggregationSpec>& FuzzSpecs() {
  static const auto* specs = new std::vector<AggregationSpec>(MakeFuzzSpecs());
  return *specs;
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& specs = FuzzSpecs();
  const AggregationSpec& spec = specs[data[0] % specs.size()];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t n_out = spec.OutputNames().size();

  auto state = dnsight::MakeAggState(spec);
  if (!state->Deserialize(bytes).ok()) {
    Check(state->Empty());  // a rejected input leaves the state as it was
    return 0;
  }
  std::vector<double> out;
  state->Finalize(&out);
  Check(out.size() == n_out);
  (void)state->MemoryBytes();

  // What Serialize writes, Deserialize accepts, and re-serializes identically.
  std::string first;
  state->Serialize(&first);
  auto copy = dnsight::MakeAggState(spec);
  Check(copy->Deserialize(first).ok());
  std::string second;
  copy->Serialize(&second);
  Check(first == second);

  state->Merge(*copy);
  state->Merge(*state);
  out.clear();
  state->Finalize(&out);
  Check(out.size() == n_out);
  std::string merged;
  state->Serialize(&merged);
  auto reread = dnsight::MakeAggState(spec);
  const bool reread_ok = reread->Deserialize(merged).ok();
  // Integer and sketch states saturate instead of overflowing, and a sum merged with
  // copies of itself cannot become NaN, so those always re-read. Mean/variance of
  // adversarial magnitudes may overflow to inf, which validation rejects; no DNS field
  // produces such values.
  if (spec.kind != AggKind::kMean && spec.kind != AggKind::kVariance) Check(reread_ok);

  // Several parts at once, as a window merges its panes: any accepted states combine.
  auto many = dnsight::MakeAggState(spec);
  const dnsight::AggState* parts[] = {copy.get(), state.get(), copy.get()};
  many->MergeMany(parts);
  out.clear();
  many->Finalize(&out);
  Check(out.size() == n_out);
  // One part into an empty top-k summary is a copy of it.
  if (spec.kind == AggKind::kTopK) {
    auto one = dnsight::MakeAggState(spec);
    const dnsight::AggState* single[] = {copy.get()};
    one->MergeMany(single);
    std::string copied;
    one->Serialize(&copied);
    Check(copied == first);
  }

  state->Reset();
  Check(state->Empty());
  return 0;
}
