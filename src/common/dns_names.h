// Mnemonics for DNS codes: qtype and rcode names <-> numbers (RFC 1035, 3596, 6891 and
// the IANA registry for the common types). Unknown numbers print as "TYPE123" /
// "RCODE23" and those forms parse back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnsight {

std::optional<uint16_t> ParseQtype(std::string_view name);  // "A", "txt", "TYPE65", "28"
std::string QtypeName(uint16_t qtype);
std::optional<uint16_t> ParseRcode(std::string_view name);  // "NXDOMAIN", "3"
std::string RcodeName(int rcode);

}  // namespace dnsight
