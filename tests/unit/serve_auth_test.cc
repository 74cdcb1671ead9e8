#include <gtest/gtest.h>

#include "serve/auth.h"

namespace dnsight {
namespace {

TEST(Auth, TokensFromConfig) {
  const std::string digest = Sha256Hex("s3cret");
  std::string upper = digest;
  for (char& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  auto ok = TokensFromConfig({{"ci", "trainer", upper}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].sha256, digest);
  EXPECT_EQ((*ok)[0].role, Role::kTrainer);

  Authenticator auth(std::move(ok.value()));
  auto p = auth.Authenticate("Bearer s3cret");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "ci");
  EXPECT_FALSE(auth.Authenticate("Bearer s3cre").ok());
  EXPECT_FALSE(auth.Authenticate("s3cret").ok());

  EXPECT_EQ(TokensFromConfig({{"ci", "root", digest}}).status().message(),
            "api.tokens[0]: unknown role 'root' (reader, trainer or admin)");
  EXPECT_EQ(TokensFromConfig({{"ci", "reader", digest}, {"", "reader", digest}}).status().message(),
            "api.tokens[1]: missing name");
  EXPECT_EQ(TokensFromConfig({{"ci", "reader", "abc"}}).status().message(),
            "api.tokens[0]: sha256 must be 64 hex digits");
  EXPECT_EQ(TokensFromConfig({{"ci", "reader", std::string(64, 'g')}}).status().message(),
            "api.tokens[0]: sha256 is not hex");
}

TEST(Auth, NoTokensMeansAnonymousAdmin) {
  Authenticator auth({});
  EXPECT_FALSE(auth.enabled());
  auto p = auth.Authenticate("");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kAdmin);
}

TEST(Auth, SensitiveViewsNeedAnAllowedRole) {
  RegisteredView v;
  v.sensitivity = "sensitive";
  v.allowed_roles = {"trainer"};
  EXPECT_FALSE(Authenticator::CanRead({"r", Role::kReader}, v));
  EXPECT_TRUE(Authenticator::CanRead({"t", Role::kTrainer}, v));
  EXPECT_TRUE(Authenticator::CanRead({"a", Role::kAdmin}, v));
  v.sensitivity = "normal";
  EXPECT_TRUE(Authenticator::CanRead({"r", Role::kReader}, v));
}

}  // namespace
}  // namespace dnsight
