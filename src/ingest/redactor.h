// ClientRedactor: hides client addresses at ingest, before anything is stored.
//
// Modes:
//   kNone      — addresses pass through.
//   kTruncate  — keep the first v4_bits / v6_bits bits (e.g. /24 and /48), zero the rest.
//                Cheap; keeps network-level features meaningful.
//   kPseudonym — replace the address with HMAC-SHA256(key, address) folded into an
//                address of the same family. Stable for a given key, so per-client
//                features still work, but not reversible without the key. Costs one HMAC
//                per distinct address; results are cached (bounded, `cache_entries`).
//
// Thread-safety: not thread-safe (the cache); one per ingest thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "dnsight/ip_address.h"

namespace dnsight {

struct RedactionOptions {
  enum class Mode : uint8_t { kNone, kTruncate, kPseudonym } mode = Mode::kNone;
  int v4_bits = 24;
  int v6_bits = 48;
  std::string key;  // kPseudonym: secret key (required, non-empty)
  size_t cache_entries = 1 << 16;
};

class ClientRedactor {
 public:
  explicit ClientRedactor(RedactionOptions options);
  IpAddress Apply(const IpAddress& addr);

 private:
  struct AddrHash {
    size_t operator()(const IpAddress& a) const;
  };
  IpAddress Pseudonymize(const IpAddress& addr) const;

  RedactionOptions options_;
  std::unordered_map<IpAddress, IpAddress, AddrHash> cache_;
};

}  // namespace dnsight
