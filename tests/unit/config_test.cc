#include "engine/config.h"

#include <gtest/gtest.h>

namespace dnsight {
namespace {

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml, "t.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kView = R"(views:
  - name: c
    entity: client
    windows: [1m]
    aggregations:
      - {name: n, kind: count}
)";

TEST(Config, ValidViewGetsVersionAndFeatureNames) {
  const EngineConfig cfg = ParseConfig(kView, "t.yaml");
  ASSERT_EQ(cfg.views.size(), 1u);
  EXPECT_EQ(cfg.views[0].version.size(), 16u);
  EXPECT_EQ(cfg.views[0].feature_names, std::vector<std::string>{"n_1m"});
}

TEST(Config, VersionIgnoresFormattingButNotContent) {
  const std::string a = ParseConfig(kView, "a").views[0].version;
  const std::string reformatted = R"(views:
- {name: c, entity: client, windows: [60s], aggregations: [{kind: count, name: n}]}
)";
  EXPECT_EQ(ParseConfig(reformatted, "b").views[0].version, a);
  const std::string changed = R"(views:
- {name: c, entity: client, windows: [5m], aggregations: [{kind: count, name: n}]}
)";
  EXPECT_NE(ParseConfig(changed, "c").views[0].version, a);
}

TEST(Config, ErrorsNameFileLineAndField) {
  const std::string err = ErrorOf(R"(views:
  - name: c
    entity: client
    windows: [1m]
    aggregations:
      - {name: n, kind: cnt}
)");
  EXPECT_NE(err.find("t.yaml:6:"), std::string::npos) << err;
  EXPECT_NE(err.find("views[0].aggregations[0].kind"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown aggregation kind 'cnt'"), std::string::npos) << err;
}

TEST(Config, UnknownKeyIsAnError) {
  const std::string err = ErrorOf(R"(views:
  - name: c
    entity: client
    windwos: [1m]
    aggregations: [{name: n, kind: count}]
)");
  EXPECT_NE(err.find("t.yaml:4:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'windwos'"), std::string::npos) << err;
}

// Found by ops_config_fuzz: a key written as a list reached yaml-cpp's string conversion,
// which throws its own exception type instead of a config error.
TEST(Config, KeyThatIsNotANameIsAConfigError) {
  const std::string err = ErrorOf(R"(views:
  - name: c
    [entity]: client
)");
  EXPECT_NE(err.find("t.yaml:3:"), std::string::npos) << err;
  EXPECT_NE(err.find("a key must be a plain name"), std::string::npos) << err;
}

TEST(Config, RejectsBadValues) {
  EXPECT_NE(ErrorOf("views: [{name: c, entity: planet, windows: [1m], aggregations: [{name: n, "
                    "kind: count}]}]")
                .find("unknown entity 'planet'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("views: [{name: c, entity: client, windows: [15s], aggregations: [{name: n, "
                    "kind: count}]}]")
                .find("not a multiple"),
            std::string::npos);
  EXPECT_NE(ErrorOf("views: [{name: c, entity: client, windows: [1m], aggregations: [{name: n, "
                    "kind: mean, field: qname}]}]")
                .find("needs a numeric field"),
            std::string::npos);
  EXPECT_NE(ErrorOf("views: [{name: c, entity: client, windows: [1m], aggregations: [{name: n, "
                    "kind: ratio}]}]")
                .find("ratio needs a 'where'"),
            std::string::npos);
  EXPECT_NE(ErrorOf("engine: {pane: soon}\n").find("engine.pane"), std::string::npos);
  EXPECT_NE(ErrorOf("views: [\n").find("YAML syntax error"), std::string::npos);
  EXPECT_NE(ErrorOf("engine: {allowed_lateness: 100000d}\n").find("longer than 366d"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("redaction: {client: pseudonym, key: short}\nviews: []\n").find("at least 16 bytes"),
      std::string::npos);
}

TEST(Config, ExampleConfigLoads) {
  const EngineConfig cfg = LoadConfig(DNSIGHT_SOURCE_DIR "/examples/dnsight.yaml");
  EXPECT_GE(cfg.views.size(), 5u);
  for (const auto& v : cfg.views) EXPECT_FALSE(v.feature_names.empty()) << v.name;
}

}  // namespace
}  // namespace dnsight
