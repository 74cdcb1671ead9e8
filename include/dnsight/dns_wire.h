// DNS wire-format message parser (RFC 1035 header, question and answer TTLs).
//
// ParseDnsMessage reads a DNS message from a non-owning byte view. It never reads
// outside the view, never allocates (beyond the message of an error Status), follows
// compression pointers with a hop limit and loop protection, and reports malformed
// input as a Status whose message starts with a short, stable reason token (e.g.
// "truncated_header", "bad_label", "pointer_loop") that callers use as a counter label
// (see DnsParseReason()).
//
// Thread-safety: pure function. The returned DnsMessageInfo owns its data (the qname is
// copied into an inline buffer), so it stays valid after the input buffer is gone.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

struct DnsMessageInfo {
  uint16_t id = 0;
  bool qr = false;  // true for a response
  uint8_t opcode = 0;
  uint8_t rcode = 0;  // 4-bit header rcode (extended rcode bits from OPT are folded in)
  bool aa = false, tc = false, rd = false, ra = false;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  // First question. qname is presentation form without the trailing dot ("" for the
  // root), with labels as on the wire (case preserved); bytes outside [0x21,0x7e] and
  // '.' or '\\' inside a label are written as \DDD escapes.
  char qname_buf[1024];
  uint16_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool has_question = false;
  // Smallest TTL among answer-section records; -1 when there is none (or the answer
  // section could not be walked, see answers_complete).
  int64_t min_answer_ttl = -1;
  bool answers_complete = false;
  uint32_t size = 0;  // bytes of the whole message

  std::string_view qname() const { return {qname_buf, qname_len}; }
};

// REQUIRES: nothing; any bytes are accepted. The view need only live for the call.
Result<DnsMessageInfo> ParseDnsMessage(std::span<const uint8_t> wire);

// The same parse into a caller-owned struct, for hot loops that reuse one DnsMessageInfo
// (it is over 1 KiB, so returning it by value costs a copy per message). On failure *out
// holds whatever was parsed before the error and must not be used.
// REQUIRES: out != nullptr.
Status ParseDnsMessage(std::span<const uint8_t> wire, DnsMessageInfo* out);

// The reason token of a parse failure Status (text before the first ':').
std::string_view DnsParseReason(const Status& s);

}  // namespace dnsight
