#include "serve/auth.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace dnsight {

bool ParseRole(std::string_view name, Role* out) {
  if (name == "reader")
    *out = Role::kReader;
  else if (name == "trainer")
    *out = Role::kTrainer;
  else if (name == "admin")
    *out = Role::kAdmin;
  else
    return false;
  return true;
}

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kReader:
      return "reader";
    case Role::kTrainer:
      return "trainer";
    case Role::kAdmin:
      return "admin";
  }
  return "reader";
}

Result<std::vector<ApiToken>> TokensFromConfig(const std::vector<ApiTokenConfig>& tokens) {
  std::vector<ApiToken> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const ApiTokenConfig& t = tokens[i];
    const std::string where = "api.tokens[" + std::to_string(i) + "]";
    ApiToken token;
    token.name = t.name;
    if (token.name.empty()) return Status::InvalidArgument(where + ": missing name");
    if (!ParseRole(t.role, &token.role))
      return Status::InvalidArgument(where + ": unknown role '" + t.role +
                                     "' (reader, trainer or admin)");
    for (char c : t.sha256) {
      if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return Status::InvalidArgument(where + ": sha256 is not hex");
      token.sha256.push_back(c);
    }
    if (token.sha256.size() != 64)
      return Status::InvalidArgument(where + ": sha256 must be 64 hex digits");
    out.push_back(std::move(token));
  }
  return out;
}

Result<Principal> Authenticator::Authenticate(std::string_view authorization) const {
  if (!enabled()) return Principal{"anonymous", Role::kAdmin};
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer)
    return Status::InvalidArgument("missing bearer token");
  const std::string digest = Sha256Hex(authorization.substr(kBearer.size()));
  for (const auto& t : tokens_) {
    if (t.sha256.size() == digest.size() &&
        CRYPTO_memcmp(t.sha256.data(), digest.data(), digest.size()) == 0)
      return Principal{t.name, t.role};
  }
  return Status::InvalidArgument("unknown token");
}

bool Authenticator::CanRead(const Principal& p, const RegisteredView& v) {
  if (v.sensitivity != "sensitive" || p.role == Role::kAdmin) return true;
  const std::string_view role = RoleName(p.role);
  return std::find(v.allowed_roles.begin(), v.allowed_roles.end(), role) != v.allowed_roles.end();
}

}  // namespace dnsight
