#include "store/registry.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/config.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using test_support::TempDir;

constexpr char kConfig[] = R"(
views:
  - name: client
    entity: client
    owner: dns-sre
    description: per client
    sensitivity: sensitive
    allowed_roles: [trainer]
    ttl: 5m
    retention: 30d
    filter: {qtype: [TXT, "NULL"]}
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
)";

FeatureView LoadView(const std::string& yaml) {
  return ParseConfig(yaml, "test.yaml").views[0];
}

TEST(Registry, DescribesAViewWithLineageAndMetadata) {
  const FeatureView v = LoadView(kConfig);
  const RegisteredView r = DescribeView(v, {"jsonl:in.jsonl"}, 42);
  EXPECT_EQ(r.name, "client");
  EXPECT_EQ(r.version, v.version);
  EXPECT_EQ(r.entity, "client");
  EXPECT_EQ(r.sensitivity, "sensitive");
  EXPECT_EQ(r.allowed_roles, std::vector<std::string>{"trainer"});
  EXPECT_EQ(r.ttl_ns, 300'000'000'000);
  EXPECT_EQ(r.retention_ns, 30 * 86400'000'000'000);
  EXPECT_EQ(r.feature_names, std::vector<std::string>{"queries_1m"});
  EXPECT_EQ(r.lineage.sources, std::vector<std::string>{"jsonl:in.jsonl"});
  EXPECT_EQ(r.lineage.filter, std::vector<std::string>{"qtype in [TXT, NULL]"});
  auto back = RegisteredViewFromJson(RegisteredViewToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(RegisteredViewToJson(*back), RegisteredViewToJson(r));
}

TEST(Registry, MetadataDoesNotChangeTheVersionButTheComputationDoes) {
  const FeatureView a = LoadView(kConfig);
  std::string other = kConfig;
  other.replace(other.find("dns-sre"), 7, "security");
  EXPECT_EQ(LoadView(other).version, a.version);
  std::string changed = kConfig;
  changed.replace(changed.find("[1m]"), 4, "[1m, 5m]");
  EXPECT_NE(LoadView(changed).version, a.version);
}

TEST(Registry, KeepsEveryVersionAcrossReopenAndDiffs) {
  TempDir dir;
  std::string changed = kConfig;
  changed.replace(changed.find("[1m]"), 4, "[1m, 5m]");
  const RegisteredView v1 = DescribeView(LoadView(kConfig), {}, 100);
  const RegisteredView v2 = DescribeView(LoadView(changed), {}, 200);
  {
    auto reg = std::move(Registry::Open(dir.path()).value());
    EXPECT_TRUE(reg->Register(v1).value());
    EXPECT_FALSE(reg->Register(v1).value());  // same version again: not new
    EXPECT_TRUE(reg->Register(v2).value());
  }
  auto reg = std::move(Registry::Open(dir.path()).value());
  EXPECT_EQ(reg->Latest("client")->version, v2.version);
  EXPECT_EQ(reg->Get("client", v1.version)->feature_names, v1.feature_names);
  ASSERT_EQ(reg->Versions("client").size(), 2u);
  EXPECT_EQ(reg->List().size(), 1u);
  EXPECT_EQ(reg->Latest("nope").status().code(), StatusCode::kNotFound);
  const std::string diff = DiffViews(v1, v2);
  EXPECT_NE(diff.find("+ queries_5m"), std::string::npos) << diff;
  EXPECT_NE(diff.find("- windows 1m"), std::string::npos) << diff;
  EXPECT_NE(diff.find("+ windows 1m 5m"), std::string::npos) << diff;
  EXPECT_EQ(diff.find("owner"), std::string::npos) << diff;
}

TEST(Registry, ReRegisteringUpdatesMetadataAndKeepsRegistrationTime) {
  TempDir dir;
  auto reg = std::move(Registry::Open(dir.path()).value());
  RegisteredView v = DescribeView(LoadView(kConfig), {}, 100);
  ASSERT_TRUE(reg->Register(v).ok());
  v.owner = "security";
  v.registered_at_ns = 500;
  ASSERT_TRUE(reg->Register(v).ok());
  EXPECT_EQ(reg->Latest("client")->owner, "security");
  EXPECT_EQ(reg->Latest("client")->registered_at_ns, 100);
}

TEST(Registry, RejectsBadDefinitionsAndNamesTheFile) {
  EXPECT_FALSE(RegisteredViewFromJson("[]").ok());
  EXPECT_EQ(
      RegisteredViewFromJson(R"({"name":"x","version":"v","entity":"client"})").status().message(),
      "missing field 'features'");
  EXPECT_EQ(
      RegisteredViewFromJson(R"({"name":"../x","version":"v","entity":"client","features":["a"]})")
          .status()
          .message(),
      "invalid view name '../x'");
  EXPECT_EQ(RegisteredViewFromJson(R"({"name":"x","version":"v","entity":"client","features":"a"})")
                .status()
                .message(),
            "field 'features' has the wrong type");
  TempDir dir;
  std::filesystem::create_directories(dir / "client");
  std::ofstream(dir / "client/v1.json") << "{not json";
  auto reg = Registry::Open(dir.path());
  ASSERT_FALSE(reg.ok());
  EXPECT_NE(reg.status().message().find("client/v1.json"), std::string::npos);
}

TEST(StoreConfig, ParsesStoreApiAndViewMetadataWithPositions) {
  const EngineConfig cfg = ParseConfig(std::string(R"(
store:
  path: /var/lib/dnsight
  online: redis
  redis: {host: 127.0.0.1, port: 6380, key_prefix: "x:"}
  offline_partition: 1d
api:
  listen: 127.0.0.1:0
  tokens:
    - {name: alice, role: trainer, token: secret}
)") + kConfig,
                                       "t.yaml");
  EXPECT_EQ(cfg.store.online, "redis");
  EXPECT_EQ(cfg.store.redis_port, 6380);
  EXPECT_EQ(cfg.store.offline_partition_ns, 86400'000'000'000);
  ASSERT_EQ(cfg.api.tokens.size(), 1u);
  // sha256("secret")
  EXPECT_EQ(cfg.api.tokens[0].sha256,
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  try {
    ParseConfig("store: {online: memcached, path: x}\nviews: []\n", "t.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "t.yaml:1:17: store.online: expected embedded, redis or none");
  }
  try {
    ParseConfig("api:\n  tokens:\n    - {name: a, role: root, token: x}\nviews: []\n", "t.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "t.yaml:3:23: api.tokens[0].role: unknown role 'root' (expected reader, trainer "
                 "or admin)");
  }
}

}  // namespace
}  // namespace dnsight
