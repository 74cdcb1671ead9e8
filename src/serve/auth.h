// Auth: API tokens and the roles they carry, and who may read which view.
//
// Roles, from least to most: reader (online reads, view listing), trainer (also
// point-in-time retrieval), admin (also registering views). A view tagged sensitive is
// readable only by the roles listed in its allowed_roles (admin always); views that are
// not sensitive are readable by every role.
//
// Tokens are configured by their SHA-256 (hex), so the config holds no secret; a plain
// `token` is also accepted for local setups and hashed at load. Comparison is on the
// digest, in constant time.
//
// Thread-safety: immutable after construction; all methods are const and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "dnsight/status.h"
#include "engine/config.h"
#include "store/registry.h"

namespace dnsight {

enum class Role { kReader = 0, kTrainer = 1, kAdmin = 2 };

bool ParseRole(std::string_view name, Role* out);
std::string_view RoleName(Role r);

struct ApiToken {
  std::string name;  // who, for the audit log
  Role role = Role::kReader;
  std::string sha256;  // lowercase hex digest of the token
};

struct Principal {
  std::string name;
  Role role = Role::kReader;
};

// The config's api.tokens as ApiTokens. InvalidArgument naming the entry when a role is
// unknown, a name is missing or a digest is not 64 hex digits (upper case is folded).
Result<std::vector<ApiToken>> TokensFromConfig(const std::vector<ApiTokenConfig>& tokens);

class Authenticator {
 public:
  // With no tokens, authentication is off and every caller is the admin "anonymous"
  // (for a loopback-only setup); the server logs a warning when it starts so.
  explicit Authenticator(std::vector<ApiToken> tokens) : tokens_(std::move(tokens)) {}

  bool enabled() const { return !tokens_.empty(); }

  // `authorization` is the Authorization header value ("Bearer <token>").
  // Unauthenticated when missing or unknown.
  Result<Principal> Authenticate(std::string_view authorization) const;

  static bool AtLeast(const Principal& p, Role needed) {
    return static_cast<int>(p.role) >= static_cast<int>(needed);
  }
  static bool CanRead(const Principal& p, const RegisteredView& v);

 private:
  std::vector<ApiToken> tokens_;
};

}  // namespace dnsight
