// libFuzzer target for the feature store's on-disk and wire formats: offline block
// payloads, online records, registry definitions and spine CSV.
//
// Input: the first byte picks the decoder; the rest is the untrusted bytes. Whatever a
// decoder accepts must re-encode and decode to the same thing. Violations trap.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dnsight/online_store.h"
#include "store/offline_store.h"
#include "store/point_in_time.h"
#include "store/registry.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool SameValues(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto b = dnsight::DecodeBlockPayload("v", bytes);
      if (!b.ok()) return 0;
      Check(b->values.size() == b->rows() * b->feature_names.size());
      auto again = dnsight::DecodeBlockPayload("v", dnsight::EncodeBlockPayload(*b));
      Check(again.ok() && again->entities == b->entities &&
            again->window_end_ns == b->window_end_ns && SameValues(again->values, b->values));
      break;
    }
    case 1: {
      auto r = dnsight::DecodeOnlineRecord("v", "e", bytes);
      if (!r.ok()) return 0;
      auto again = dnsight::DecodeOnlineRecord("v", "e", dnsight::EncodeOnlineRecord(*r));
      Check(again.ok() && again->version == r->version &&
            again->window_end_ns == r->window_end_ns && SameValues(again->values, r->values));
      break;
    }
    case 2: {
      auto v = dnsight::RegisteredViewFromJson(bytes);
      if (!v.ok()) return 0;
      auto again = dnsight::RegisteredViewFromJson(dnsight::RegisteredViewToJson(*v));
      Check(again.ok() && again->name == v->name && again->feature_names == v->feature_names);
      break;
    }
    case 3: {
      auto s = dnsight::ParseSpineCsv(bytes);
      if (!s.ok()) return 0;
      for (const auto& row : s->rows) Check(row.entity.size() <= bytes.size());
      break;
    }
  }
  return 0;
}
