// Time helpers: RFC 3339 timestamps and durations ("10s", "5m", "1h", "250ms") as UTC
// nanoseconds. Pure functions; no clock is read here (see clock.h for that).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnsight {

constexpr int64_t kNanosPerSecond = 1'000'000'000;

// "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123456789+01:00", "2026-11-23 10:00:00Z".
std::optional<int64_t> ParseRfc3339(std::string_view text);
// Always UTC with nanoseconds trimmed to the needed precision (at most 9 digits).
std::string FormatRfc3339(int64_t ns);
// "1h", "15m", "10s", "250ms", "1d", or a bare integer of seconds.
std::optional<int64_t> ParseDuration(std::string_view text);
// Shortest exact form: 3600 s -> "1h", 90 s -> "90s".
std::string FormatDuration(int64_t ns);

}  // namespace dnsight
