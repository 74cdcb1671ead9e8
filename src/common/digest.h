// Message digests used for identifiers and secrets (OpenSSL underneath).
#pragma once

#include <string>
#include <string_view>

namespace dnsight {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace dnsight
