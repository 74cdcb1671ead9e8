#include "features/lease_table.h"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <fstream>

#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr size_t kMaxSamples = 5;
constexpr size_t kMaxDeviceBytes = 256;

// RFC 3339 text or integer nanoseconds.
bool ReadTime(simdjson::dom::element v, int64_t* out) {
  if (v.is_int64()) {
    *out = v.get_int64().value();
    return true;
  }
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return false;
  auto t = ParseRfc3339(s);
  if (!t) return false;
  *out = *t;
  return true;
}

}  // namespace

LeaseTable::IpKey LeaseTable::Key(const IpAddress& ip) {
  IpKey k{};
  k[0] = static_cast<uint8_t>(ip.family);
  std::copy_n(ip.bytes.begin(), ip.size(), k.begin() + 1);
  return k;
}

size_t LeaseTable::IpKeyHash::operator()(const IpKey& k) const {
  return static_cast<size_t>(XXH3_64bits(k.data(), k.size()));
}

void LeaseTable::Add(const IpAddress& ip, std::string_view device, int64_t from_ns, int64_t to_ns) {
  auto [it, added] =
      device_ids_.try_emplace(std::string(device), static_cast<uint32_t>(devices_.size()));
  if (added) devices_.emplace_back(device);
  by_ip_[Key(ip)].push_back({from_ns, to_ns, it->second});
  ++leases_;
}

Status LeaseTable::AddJsonLine(std::string_view line) {
  const auto reject = [&](const std::string& why) {
    ++rejected_;
    if (samples_.size() < kMaxSamples)
      samples_.push_back(why + ": " + std::string(line.substr(0, 200)));
    return Status::InvalidArgument(why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return reject("bad_json");
  std::string_view ip_text, device;
  if (doc["ip"].get_string().get(ip_text) != simdjson::SUCCESS) return reject("missing_ip");
  auto ip = IpAddress::Parse(ip_text);
  if (!ip) return reject("bad_ip");
  if (doc["device"].get_string().get(device) != simdjson::SUCCESS || device.empty() ||
      device.size() > kMaxDeviceBytes)
    return reject("bad_device");
  int64_t from = 0, to = INT64_MAX;
  simdjson::dom::element v;
  if (doc["from"].get(v) != simdjson::SUCCESS || !ReadTime(v, &from)) return reject("bad_from");
  if (doc["to"].get(v) == simdjson::SUCCESS && !v.is_null() && !ReadTime(v, &to))
    return reject("bad_to");
  if (to <= from) return reject("empty_interval");
  Add(*ip, device, from, to);
  return Status::Ok();
}

Status LeaseTable::AddFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read lease file " + path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    (void)AddJsonLine(line);  // counted and sampled
  }
  return Status::Ok();
}

void LeaseTable::Seal() {
  for (auto& [ip, leases] : by_ip_)
    std::stable_sort(leases.begin(), leases.end(),
                     [](const Lease& a, const Lease& b) { return a.from_ns < b.from_ns; });
}

std::string_view LeaseTable::Resolve(const IpAddress& ip, int64_t ts_ns) const {
  auto it = by_ip_.find(Key(ip));
  if (it == by_ip_.end()) return {};
  const auto& leases = it->second;
  // The last lease that started at or before ts; walk back past ones already ended
  // (an overlapping later lease wins, an earlier long one still counts if it covers ts).
  auto ub = std::upper_bound(leases.begin(), leases.end(), ts_ns,
                             [](int64_t t, const Lease& l) { return t < l.from_ns; });
  while (ub != leases.begin()) {
    --ub;
    if (ts_ns < ub->to_ns) return devices_[ub->device];
  }
  return {};
}

}  // namespace dnsight
