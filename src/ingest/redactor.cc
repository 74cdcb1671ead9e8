#include "ingest/redactor.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <xxhash.h>

#include <cstring>

namespace dnsight {

ClientRedactor::ClientRedactor(RedactionOptions options) : options_(std::move(options)) {}

size_t ClientRedactor::AddrHash::operator()(const IpAddress& a) const {
  return XXH3_64bits_withSeed(a.bytes.data(), a.bytes.size(), static_cast<uint64_t>(a.family));
}

IpAddress ClientRedactor::Apply(const IpAddress& addr) {
  switch (options_.mode) {
    case RedactionOptions::Mode::kNone:
      return addr;
    case RedactionOptions::Mode::kTruncate:
      return addr.Masked(addr.family == IpFamily::kV4 ? options_.v4_bits : options_.v6_bits);
    case RedactionOptions::Mode::kPseudonym: {
      if (addr.empty()) return addr;
      auto it = cache_.find(addr);
      if (it != cache_.end()) return it->second;
      IpAddress out = Pseudonymize(addr);
      if (cache_.size() >= options_.cache_entries) cache_.clear();
      cache_.emplace(addr, out);
      return out;
    }
  }
  return addr;
}

IpAddress ClientRedactor::Pseudonymize(const IpAddress& addr) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  uint8_t input[17];
  input[0] = static_cast<uint8_t>(addr.family);
  std::memcpy(input + 1, addr.bytes.data(), 16);
  HMAC(EVP_sha256(), options_.key.data(), static_cast<int>(options_.key.size()), input,
       sizeof input, mac, &mac_len);
  IpAddress out;
  out.family = addr.family;
  std::memcpy(out.bytes.data(), mac, addr.size());
  if (addr.family == IpFamily::kV6) {
    // Keep pseudonyms inside the unique-local range so they can't be mistaken for real
    // routable addresses.
    out.bytes[0] = 0xfd;
  } else {
    // 240.0.0.0/4 is reserved: a pseudonymized v4 address is recognisable as such.
    out.bytes[0] = static_cast<uint8_t>(0xf0 | (out.bytes[0] & 0x0f));
  }
  return out;
}

}  // namespace dnsight
