// libFuzzer target: ParseDnsMessage on arbitrary bytes.
//
// Checks, beyond "no crash / no out-of-bounds read" (ASan, UBSan): both overloads agree,
// a failure carries a known reason token, and a success keeps its invariants.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "dnsight/dns_wire.h"

namespace {

bool KnownToken(std::string_view t) {
  for (std::string_view k :
       {"truncated_header", "truncated_question", "bad_label", "bad_pointer", "forward_pointer",
        "pointer_loop", "too_many_pointers", "name_too_long"}) {
    if (t == k) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> wire(data, size);
  dnsight::Result<dnsight::DnsMessageInfo> r = dnsight::ParseDnsMessage(wire);
  dnsight::DnsMessageInfo reused;
  const dnsight::Status s = dnsight::ParseDnsMessage(wire, &reused);
  if (r.ok() != s.ok()) std::abort();
  if (!r.ok()) {
    if (!KnownToken(dnsight::DnsParseReason(r.status()))) std::abort();
    return 0;
  }
  const dnsight::DnsMessageInfo& m = r.value();
  if (m.qname_len > sizeof m.qname_buf) std::abort();
  if (m.qname() != reused.qname() || m.min_answer_ttl != reused.min_answer_ttl) std::abort();
  if (m.size != size) std::abort();
  if (m.has_question != (m.qdcount > 0)) std::abort();
  if (m.min_answer_ttl < -1 || m.min_answer_ttl > INT32_MAX) std::abort();
  if (!m.answers_complete && m.min_answer_ttl != -1) std::abort();
  for (char c : m.qname()) {
    if (c < 0x21 || c > 0x7e) std::abort();  // everything else is escaped
  }
  return 0;
}
