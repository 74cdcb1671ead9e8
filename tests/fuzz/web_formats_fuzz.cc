// libFuzzer target for web and host telemetry: access logs, nginx error logs, Prometheus
// text and the host features derived from it.
//
// Input: the first byte picks the format (its value modulo 5); the rest is the bytes.
//   0  ParseAccessLine, combined format.
//   1  ParseAccessLine, JSON.
//   2  ParseNginxErrorLine, with a UTC offset taken from the first byte.
//   3  ParsePromText, with a small sample cap so the cap is reached too.
//   4  Two Prometheus bodies separated by a NUL byte, parsed as consecutive scrapes and
//      passed to DeriveHostFeatures.
// An accepted record that breaks a documented bound traps.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "hosting/host_metrics.h"
#include "ingest/prom_text.h"
#include "ingest/web_log.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr int64_t kYear2200Ns = int64_t{7'258'118'400} * 1'000'000'000;

bool IsHostText(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
                    c == '_' || c == '*' || c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return s.size() <= dnsight::kMaxHostNameBytes;
}

void AccessLine(std::string_view line, dnsight::WebLogFormat format) {
  dnsight::WebRequest r;
  const dnsight::Status s = dnsight::ParseAccessLine(line, format, &r);
  if (!s.ok()) {
    Check(s.code() == dnsight::StatusCode::kInvalidArgument && !s.message().empty());
    return;
  }
  Check(r.status >= 100 && r.status <= 599);
  Check(r.ts_ns >= 0 && r.ts_ns < kYear2200Ns);
  Check(IsHostText(r.vhost));
  Check(r.node.size() <= dnsight::kMaxHostNameBytes);
  Check(r.method.size() <= 32);
  Check(std::isnan(r.request_time_s) || (r.request_time_s >= 0 && std::isfinite(r.request_time_s)));
  Check(std::isnan(r.upstream_time_s) || r.upstream_time_s >= 0);
  Check(r.upstream_status == 0 || (r.upstream_status >= 100 && r.upstream_status <= 599));
  Check(r.bytes_sent >= -1);  // -1: a JSON line without a byte count
  Check(r.request_length >= -1);
}

void ErrorLine(std::string_view line, int64_t offset) {
  dnsight::WebErrorEvent e;
  const dnsight::Status s = dnsight::ParseNginxErrorLine(line, offset, &e);
  if (!s.ok()) return;
  Check(e.ts_ns >= 0 && e.ts_ns < kYear2200Ns);
  Check(IsHostText(e.vhost));
}

void PromBody(std::string_view body) {
  std::vector<dnsight::PromSample> out;
  dnsight::PromParseStats stats;
  const dnsight::Status s = dnsight::ParsePromText(body, &out, &stats, 64);
  Check(s.ok() || s.message() == "too_many_samples");
  Check(out.size() <= 64 && stats.samples == out.size());
  Check((stats.malformed_lines == 0) == stats.first_error.empty());
  for (const dnsight::PromSample& p : out) {
    Check(!p.name.empty() && p.name.size() <= dnsight::kMaxPromNameBytes);
    Check(p.labels.size() <= dnsight::kMaxPromLabels);
    for (const auto& [k, v] : p.labels) {
      Check(!k.empty());
      Check(v.size() <= dnsight::kMaxPromLabelValueBytes);
    }
  }
}

void HostScrapes(std::string_view bytes) {
  const size_t nul = bytes.find('\0');
  const std::string_view first = bytes.substr(0, nul);
  const std::string_view second = nul == std::string_view::npos ? first : bytes.substr(nul + 1);
  dnsight::HostSnapshot prev, cur;
  dnsight::PromParseStats stats;
  (void)dnsight::ParsePromText(first, &prev.samples, &stats, 4096);
  (void)dnsight::ParsePromText(second, &cur.samples, &stats, 4096);
  prev.ts_ns = 1'000'000'000;
  cur.ts_ns = 11'000'000'000;
  std::vector<double> row;
  dnsight::DeriveHostFeatures(&prev, cur, &row);
  Check(row.size() == static_cast<size_t>(dnsight::HostFeature::kCount));
  const auto at = [&](dnsight::HostFeature f) { return row[static_cast<size_t>(f)]; };
  for (auto f : {dnsight::HostFeature::kCpuStealRatio, dnsight::HostFeature::kCpuIowaitRatio}) {
    const double v = at(f);
    Check(std::isnan(v) || (v >= 0 && v <= 1));
  }
  for (auto f :
       {dnsight::HostFeature::kMemoryPsiWaitingRatio, dnsight::HostFeature::kDiskIoBusyRatio,
        dnsight::HostFeature::kDiskIoWaitS, dnsight::HostFeature::kTcpRetransRatio,
        dnsight::HostFeature::kNetDropsPerS, dnsight::HostFeature::kRestarts}) {
    const double v = at(f);
    Check(std::isnan(v) || v >= 0);  // rates are never negative
  }
  dnsight::DeriveHostFeatures(nullptr, cur, &row);
  Check(std::isnan(at(dnsight::HostFeature::kRestarts)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      AccessLine(bytes, dnsight::WebLogFormat::kCombined);
      break;
    case 1:
      AccessLine(bytes, dnsight::WebLogFormat::kJson);
      break;
    case 2:
      ErrorLine(bytes, (static_cast<int64_t>(data[0] / 5) - 25) * 1800);
      break;
    case 3:
      PromBody(bytes);
      break;
    default:
      HostScrapes(bytes);
      break;
  }
  return 0;
}
