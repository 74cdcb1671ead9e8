#include "serve/feature_json.h"

#include <charconv>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

void AppendJsonInt(int64_t v, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

// {"status":..., "version":..., "window_end":..., "staleness_ms":..., "features":{...}}
void AppendEntityView(const EntityFeatures& e, std::string* out) {
  out->append("{\"status\":\"");
  out->append(FeatureStatusName(e.status));
  out->push_back('"');
  if (e.status == FeatureStatus::kAbsent) {
    out->push_back('}');
    return;
  }
  out->append(",\"version\":");
  AppendJsonString(e.version, out);
  out->append(",\"window_end\":");
  AppendJsonString(FormatRfc3339(e.window_end_ns), out);
  out->append(",\"window_end_ns\":");
  AppendJsonInt(e.window_end_ns, out);
  // Milliseconds, with the nanoseconds kept as a fraction.
  char staleness[32];
  const auto end = std::to_chars(staleness, staleness + sizeof(staleness),
                                 static_cast<double>(e.staleness_ns) / 1e6);
  const std::string_view staleness_ms(staleness, static_cast<size_t>(end.ptr - staleness));
  out->append(",\"staleness_ms\":");
  out->append(staleness_ms);
  if (e.names != nullptr) {
    out->append(",\"features\":{");
    for (size_t f = 0; f < e.names->size(); ++f) {
      if (f) out->push_back(',');
      AppendJsonString((*e.names)[f], out);
      out->append(":{\"value\":");
      AppendJsonNumber(e.values[f], out);
      out->append(",\"staleness_ms\":");
      out->append(staleness_ms);
      out->push_back('}');
    }
    out->push_back('}');
  }
  out->push_back('}');
}

}  // namespace

void AppendEntityFeaturesJson(const std::string& entity, std::span<const std::string> views,
                              const FeatureResponse& resp, size_t ei, std::string* out) {
  bool found = false;
  for (const auto& vf : resp.views)
    found = found || vf.entities[ei].status != FeatureStatus::kAbsent;
  out->append("{\"entity\":");
  AppendJsonString(entity, out);
  out->append(",\"found\":");
  out->append(found ? "true" : "false");
  out->append(",\"views\":{");
  for (size_t vi = 0; vi < views.size(); ++vi) {
    if (vi) out->push_back(',');
    AppendJsonString(views[vi], out);
    out->push_back(':');
    AppendEntityView(resp.views[vi].entities[ei], out);
  }
  out->append("}}");
}

}  // namespace dnsight
