// The `web` and `hosts` config sections: what they set, the built-in views they add, and
// errors that name file, line, column and field.
#include "hosting/hosting_config.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/config.h"

namespace dnsight {
namespace {

constexpr int64_t kSec = 1'000'000'000;

// Six lines, so a section appended after it starts on line 7.
constexpr char kViews[] = R"(views:
  - name: server
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
)";

std::string ErrorOf(const std::string& sections) {
  try {
    ParseConfig(kViews + sections, "t.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HostingConfig, SectionsSetOptionsAndAddBuiltInViews) {
  const EngineConfig cfg = ParseConfig(std::string(kViews) + R"(web:
  pane: 10s
  windows: [1m, 10m]
  watermark_delay: 2s
  max_entities: 500
  logs:
    - {path: /var/log/nginx/access.log, follow: true, node: edge-1}
    - {path: /var/log/nginx/shop.json, format: json, service: shop.example}
    - {path: /var/log/nginx/error.log, format: nginx_error, utc_offset: 3600}
hosts:
  interval: 30s
  timeout: 2s
  max_body_bytes: 4096
  targets:
    - {node: edge-1, url: "http://192.0.2.1:9100/metrics"}
    - {node: edge-2, url: "https://192.0.2.2:9100/metrics"}
  degraded: {cpu_steal_ratio: 0.2, restarts: 3}
)",
                                       "t.yaml");
  const WebFeatureOptions& f = cfg.web.features;
  EXPECT_EQ(f.pane_ns, 10 * kSec);
  EXPECT_EQ(f.windows_ns, (std::vector<int64_t>{60 * kSec, 600 * kSec}));
  EXPECT_EQ(f.watermark_delay_ns, 2 * kSec);
  EXPECT_EQ(f.max_entities, 500u);
  ASSERT_EQ(cfg.web.logs.size(), 3u);
  EXPECT_EQ(cfg.web.logs[0].path, "/var/log/nginx/access.log");
  EXPECT_TRUE(cfg.web.logs[0].follow);
  EXPECT_EQ(cfg.web.logs[0].format, WebLogFormat::kCombined);  // the default
  EXPECT_EQ(cfg.web.logs[0].node, "edge-1");
  EXPECT_EQ(cfg.web.logs[1].format, WebLogFormat::kJson);
  EXPECT_EQ(cfg.web.logs[1].service, "shop.example");
  EXPECT_FALSE(cfg.web.logs[1].error_log);
  EXPECT_TRUE(cfg.web.logs[2].error_log);
  EXPECT_EQ(cfg.web.logs[2].utc_offset_s, 3600);

  EXPECT_EQ(cfg.hosts.interval_ns, 30 * kSec);
  EXPECT_EQ(cfg.hosts.timeout_ns, 2 * kSec);
  EXPECT_EQ(cfg.hosts.max_body_bytes, 4096u);
  ASSERT_EQ(cfg.hosts.targets.size(), 2u);
  EXPECT_EQ(cfg.hosts.targets[1].node, "edge-2");
  EXPECT_EQ(cfg.hosts.targets[1].url, "https://192.0.2.2:9100/metrics");
  EXPECT_EQ(cfg.hosts.degraded.cpu_steal_ratio, 0.2);
  EXPECT_EQ(cfg.hosts.degraded.restarts, 3);
  EXPECT_EQ(cfg.hosts.degraded.cpu_iowait_ratio, 0.20);  // untouched default

  // The user's view first, then web_service, web_node and host.
  ASSERT_EQ(cfg.views.size(), 4u);
  EXPECT_EQ(cfg.views[0].name, "server");
  EXPECT_EQ(cfg.views[0].builtin, "");
  EXPECT_EQ(cfg.views[1].name, "web_service");
  EXPECT_EQ(cfg.views[1].builtin, "web");
  EXPECT_EQ(cfg.views[2].name, "web_node");
  EXPECT_EQ(cfg.views[2].builtin, "web");
  EXPECT_EQ(cfg.views[3].name, "host");
  EXPECT_EQ(cfg.views[3].builtin, "host");
  // The web views follow web.windows; the host view's window is the scrape interval.
  EXPECT_EQ(cfg.views[1].feature_names.front(), "requests_1m");
  EXPECT_EQ(cfg.views[1].feature_names.back(), "tls_failure_ratio_10m");
  EXPECT_EQ(cfg.views[1].version, MakeWebViews(f)[0].version);
  EXPECT_EQ(cfg.views[3].windows_ns, std::vector<int64_t>{30 * kSec});
  EXPECT_EQ(cfg.views[3].ttl_ns, 120 * kSec);  // four intervals
}

TEST(HostingConfig, NoSectionsNoBuiltInViews) {
  const EngineConfig cfg = ParseConfig(kViews, "t.yaml");
  ASSERT_EQ(cfg.views.size(), 1u);
  EXPECT_TRUE(cfg.web.logs.empty());
  EXPECT_TRUE(cfg.hosts.targets.empty());
}

TEST(HostingConfig, WindowNotAMultipleOfThePaneIsRefused) {
  // Line 9, column 17 is the "45s".
  EXPECT_EQ(ErrorOf("web:\n"
                    "  pane: 10s\n"
                    "  windows: [1m, 45s]\n"
                    "  logs: [{path: a.log}]\n"),
            "t.yaml:9:17: web.windows[1]: window 45s is not a multiple of the pane (10s)");
  // Order in the mapping does not matter: the pane is read first.
  EXPECT_EQ(ErrorOf("web:\n"
                    "  windows: [50s]\n"
                    "  pane: 20s\n"
                    "  logs: [{path: a.log}]\n"),
            "t.yaml:8:13: web.windows[0]: window 50s is not a multiple of the pane (20s)");
  // Windows over 1m hop on minute boundaries, so the pane must divide 1m; this also keeps
  // the default windows (1m, 5m) multiples of it.
  EXPECT_EQ(ErrorOf("web:\n"
                    "  pane: 7s\n"
                    "  logs: [{path: a.log}]\n"),
            "t.yaml:8:9: web.pane: the pane must divide 1m (e.g. 5s, 10s, 15s, 30s, 1m)");
  // A pane that divides them is fine.
  EXPECT_EQ(ErrorOf("web:\n"
                    "  pane: 15s\n"
                    "  logs: [{path: a.log}]\n"),
            "(no error)");
}

TEST(HostingConfig, WebErrorsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"web: {pane: 10s}\n", "t.yaml:7:6: web: missing 'logs'"},
      {"web:\n  panes: 10s\n  logs: []\n",
       "t.yaml:8:3: web.panes: unknown key 'panes' (expected one of: logs, pane, windows, "
       "watermark_delay, max_entities)"},
      {"web:\n  pane: 0s\n  logs: []\n",
       "t.yaml:8:9: web.pane: expected a duration like 10s, 5m, 1h (got '0s')"},
      {"web:\n  windows: []\n  logs: []\n", "t.yaml:8:12: web.windows: at least one window"},
      {"web:\n  max_entities: 0\n  logs: []\n",
       "t.yaml:8:17: web.max_entities: must be between 1 and 10000000"},
      {"web:\n  logs: {path: a.log}\n", "t.yaml:8:9: web.logs: expected a list"},
      {"web:\n  logs:\n    - {format: json}\n", "t.yaml:9:7: web.logs[0]: missing 'path'"},
      {"web:\n  logs:\n    - path: a.log\n      format: apache\n",
       "t.yaml:10:15: web.logs[0].format: unknown format 'apache' (expected combined, json or "
       "nginx_error)"},
      {"web:\n  logs:\n    - path: a.log\n      utc_offset: 99999\n",
       "t.yaml:10:19: web.logs[0].utc_offset: must be between -50400 and 50400"},
      {"web:\n  logs:\n    - path: a.log\n      follow: maybe\n",
       "t.yaml:10:15: web.logs[0].follow: "},
  };
  for (const auto& [section, want] : cases) {
    SCOPED_TRACE(section);
    const std::string got = ErrorOf(section);
    EXPECT_EQ(got.substr(0, want.size()), want);
  }
}

TEST(HostingConfig, HostsErrorsNameTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"hosts: {interval: 15s}\n", "t.yaml:7:8: hosts: missing 'targets'"},
      {"hosts:\n  targets:\n    - {node: edge-1}\n",
       "t.yaml:9:7: hosts.targets[0]: a target needs 'node' and 'url'"},
      {"hosts:\n  targets:\n    - {node: edge-1, url: \"ftp://192.0.2.1/metrics\"}\n",
       "t.yaml:9:27: hosts.targets[0].url: expected an http:// or https:// URL"},
      {"hosts:\n  interval: 0s\n  targets: []\n",
       "t.yaml:8:13: hosts.interval: expected a duration like 10s, 5m, 1h (got '0s')"},
      {"hosts:\n  max_body_bytes: 10\n  targets: []\n",
       "t.yaml:8:19: hosts.max_body_bytes: must be between 1024 and 1073741824"},
      {"hosts:\n  targets: []\n  degraded: {cpu_theft: 0.1}\n",
       "t.yaml:9:14: hosts.degraded.cpu_theft: unknown key 'cpu_theft'"},
  };
  for (const auto& [section, want] : cases) {
    SCOPED_TRACE(section);
    const std::string got = ErrorOf(section);
    EXPECT_EQ(got.substr(0, want.size()), want);
  }
}

TEST(HostingConfig, BuiltInViewNamesAreReserved) {
  const std::string web_service = R"(views:
  - name: web_service
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
web:
  logs: [{path: a.log}]
)";
  try {
    ParseConfig(web_service, "t.yaml");
    FAIL() << "a user view named web_service was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "view name 'web_service' is reserved for the built-in hosting views"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("t.yaml:", 0), 0u) << e.what();
  }
  const std::string host = R"(views:
  - name: host
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
hosts:
  targets: [{node: n1, url: "http://192.0.2.1:9100/metrics"}]
)";
  try {
    ParseConfig(host, "t.yaml");
    FAIL() << "a user view named host was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("view name 'host' is reserved"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dnsight
