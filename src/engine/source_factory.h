// MakeSource: builds the DnsSource a SourceConfig describes. Throws ConfigError for
// settings that only make sense once the type is known (startup only).
#pragma once

#include <memory>

#include "dnsight/source.h"
#include "engine/config.h"

namespace dnsight {

std::unique_ptr<DnsSource> MakeSource(const SourceConfig& cfg);

}  // namespace dnsight
