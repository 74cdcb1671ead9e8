// DNS wire messages for simulated transactions: a query (with an EDNS OPT record, as
// stub resolvers send) and its response, whose answer section holds `answers` records of
// the query type with the given TTL. NXDOMAIN and NODATA responses carry the zone's SOA
// in the authority section. Record data is derived from a hash of the name, so the same
// transaction always encodes to the same bytes.
//
// The output is plain RFC 1035 that dnsight's own parser (and Wireshark) reads back.
// Pure functions; the caller owns the output buffers, which are cleared first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dnsight::sim {

struct ResponsePlan {
  uint16_t qtype = 1;
  uint8_t rcode = 0;
  uint16_t answers = 0;
  uint32_t ttl = 0;
  uint16_t payload_len = 0;  // TXT/NULL rdata bytes (0: a short default)
  uint64_t data_seed = 0;    // varies addresses and payload bytes
  size_t apex_len = 0;       // length of the zone apex at the end of qname (SOA owner)
};

// REQUIRES: qname is lowercase presentation form without the trailing dot, labels of
// 1..63 bytes, at most 253 bytes in all.
void BuildQuery(std::string_view qname, uint16_t id, uint16_t qtype, std::string* out);
void BuildResponse(std::string_view qname, uint16_t id, const ResponsePlan& plan, std::string* out);

}  // namespace dnsight::sim
