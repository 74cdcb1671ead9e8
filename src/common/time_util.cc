#include "common/time_util.h"

#include <charconv>
#include <cstdio>

namespace dnsight {
namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (mm <= 2));
  *m = static_cast<int>(mm);
  *d = static_cast<int>(dd);
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!Digits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Nanoseconds since 1970 in int64 run out in 2262; telemetry outside 1970..2200 is bad
  // input, not a time to compute with.
  if (y < 1970 || y > 2200) return std::nullopt;
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) frac *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om))
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;  // RFC 3339 requires an offset
  }
  if (pos != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kNanosPerSecond + frac;
}

std::string FormatRfc3339(int64_t ns) {
  int64_t secs = ns / kNanosPerSecond;
  int64_t frac = ns % kNanosPerSecond;
  if (frac < 0) {
    frac += kNanosPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", y, m, d,
                        static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                        static_cast<int>(rem % 60));
  if (frac != 0) {
    char fb[16];
    std::snprintf(fb, sizeof fb, "%09lld", static_cast<long long>(frac));
    int len = 9;
    while (len > 0 && fb[len - 1] == '0') --len;
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%.*s", len, fb);
  }
  std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "Z");
  return buf;
}

std::optional<int64_t> ParseDuration(std::string_view s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || v < 0) return std::nullopt;
  const std::string_view unit(r.ptr, static_cast<size_t>(s.data() + s.size() - r.ptr));
  int64_t mult;
  if (unit.empty() || unit == "s")
    mult = kNanosPerSecond;
  else if (unit == "ms")
    mult = 1'000'000;
  else if (unit == "us")
    mult = 1'000;
  else if (unit == "ns")
    mult = 1;
  else if (unit == "m")
    mult = 60 * kNanosPerSecond;
  else if (unit == "h")
    mult = 3600 * kNanosPerSecond;
  else if (unit == "d")
    mult = 86400 * kNanosPerSecond;
  else
    return std::nullopt;
  if (v > INT64_MAX / mult) return std::nullopt;
  return v * mult;
}

std::string FormatDuration(int64_t ns) {
  struct Unit {
    int64_t ns;
    const char* suffix;
  };
  static constexpr Unit kUnits[] = {{86400 * kNanosPerSecond, "d"},
                                    {3600 * kNanosPerSecond, "h"},
                                    {60 * kNanosPerSecond, "m"},
                                    {kNanosPerSecond, "s"},
                                    {1'000'000, "ms"},
                                    {1'000, "us"}};
  for (const auto& u : kUnits)
    if (ns != 0 && ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
  return std::to_string(ns) + "ns";
}

}  // namespace dnsight
