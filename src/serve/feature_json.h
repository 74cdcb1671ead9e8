// JSON for feature reads, shared by the HTTP API and `dnsight features get`:
//
//   {"entity":"192.0.2.7","found":true,"views":{"client":{"status":"fresh","version":"…",
//    "window_end":"2026-11-23T10:00:10Z","window_end_ns":…,"staleness_ms":812.5,
//    "features":{"queries_1m":{"value":12,"staleness_ms":812.5},…}}}}
//
// An absent view is {"status":"absent"}; an expired or invalid one has no values (null).
#pragma once

#include <span>
#include <string>

#include "serve/feature_service.h"

namespace dnsight {

// Appends the object above for entity `ei` of `resp` (views in request order).
void AppendEntityFeaturesJson(const std::string& entity, std::span<const std::string> views,
                              const FeatureResponse& resp, size_t ei, std::string* out);

}  // namespace dnsight
