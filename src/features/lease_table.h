// LeaseTable: which device held a client address at a given time (DHCP / lease history).
//
// The `device` entity resolves each event's client address, as of the event's time, to
// the device that held the lease then, so a device keeps one feature history while its
// address changes, and two devices that shared an address over time are kept apart.
//
// Input is JSON lines, one lease per line:
//   {"ip":"192.0.2.7","device":"laptop-42","from":"2026-11-23T08:00:00Z","to":"2026-11-23T20:00:00Z"}
// `to` may be omitted or null for a lease that is still open. Times are RFC 3339 or
// integer nanoseconds. A lease covers [from, to). When leases for one address overlap,
// the one that started last wins. Malformed lines are counted and skipped (the first
// few are kept as samples), never fatal.
//
// Thread-safety: built single-threaded (Add*, then Seal); after Seal it is immutable and
// Resolve may be called from any number of threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dnsight/ip_address.h"
#include "dnsight/status.h"

namespace dnsight {

class LeaseTable {
 public:
  // Adds one JSON line. Returns the reason it was rejected, or OK.
  Status AddJsonLine(std::string_view line);
  // Reads a whole file of lines. Fails only when the file cannot be read.
  Status AddFile(const std::string& path);
  void Add(const IpAddress& ip, std::string_view device, int64_t from_ns, int64_t to_ns);
  // Sorts the leases; REQUIRES: called once, after the last Add.
  void Seal();

  // The device holding `ip` at ts_ns, or empty when no lease covers it.
  std::string_view Resolve(const IpAddress& ip, int64_t ts_ns) const;

  size_t leases() const { return leases_; }
  uint64_t rejected() const { return rejected_; }
  const std::vector<std::string>& rejected_samples() const { return samples_; }

 private:
  struct Lease {
    int64_t from_ns;
    int64_t to_ns;
    uint32_t device;  // index into devices_
  };
  using IpKey = std::array<uint8_t, 17>;  // family, then the address bytes
  struct IpKeyHash {
    size_t operator()(const IpKey& k) const;
  };
  static IpKey Key(const IpAddress& ip);

  std::unordered_map<IpKey, std::vector<Lease>, IpKeyHash> by_ip_;
  std::vector<std::string> devices_;
  std::unordered_map<std::string, uint32_t> device_ids_;
  size_t leases_ = 0;
  uint64_t rejected_ = 0;
  std::vector<std::string> samples_;
};

}  // namespace dnsight
