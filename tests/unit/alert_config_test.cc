// The `alerts:` section: every key, and errors that name file, line and field.
#include "act/alert_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "engine/config.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

[[noreturn]] void Throw(const std::string& message) {
  throw ConfigError(message);
}

AlertConfig Parse(const std::string& yaml) {
  const YAML::Node root = YAML::Load(yaml);
  return ParseAlertConfig(YamlNode(root["alerts"], "dnsight.yaml", "alerts", Throw));
}

// The error message of parsing `yaml`, "" when it parses.
std::string ErrorOf(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(AlertConfigTest, DefaultsWhenEmpty) {
  const AlertConfig c = Parse("alerts: {}\n");
  EXPECT_EQ(c.options.group_wait_ns, 30'000'000'000);
  EXPECT_TRUE(c.options.group_by.klass && c.options.group_by.view && c.options.group_by.entity);
  EXPECT_FALSE(c.options.group_by.team);
  EXPECT_EQ(c.options.dedup_window_ns, 300'000'000'000);
  EXPECT_EQ(c.options.resolve_after_ns, 180'000'000'000);
  EXPECT_EQ(c.options.repeat_interval_ns, 3'600'000'000'000);
  EXPECT_EQ(c.options.min_notify_severity, AlertSeverity::kTicket);
  EXPECT_TRUE(c.sinks.empty());
}

TEST(AlertConfigTest, ParsesEveryKey) {
  ::setenv("DNSIGHT_TEST_HOOK_TOKEN", "s3cret", 1);
  const AlertConfig c = Parse(R"(
alerts:
  group_wait: 10s
  group_by: [class, team]
  dedup_window: 10m
  resolve_after: 20m
  repeat_interval: 2h
  refresh_interval: 30s
  min_notify_severity: page
  default_team: dns
  routes:
    - {team: edge, class: [latency_rise, servfail_spike], view: resolver, entity_suffix: .example.com}
    - team: abuse
      view: [client]
  budgets: {dns: 4, edge: 0}
  queue_capacity: 16
  max_attempts: 2
  retry_backoff: 250ms
  max_open_alerts: 500
  sinks:
    - {kind: alertmanager, url: "http://127.0.0.1:9093", resolve_timeout: 2m, timeout: 1s,
       read_timeout: 3s, dashboard_url: "https://dnsight.example.net"}
    - {kind: webhook, url: "https://hooks.example.net/x", token_env: DNSIGHT_TEST_HOOK_TOKEN,
       send_suppressed: true}
    - {kind: jsonl, path: /tmp/alerts.jsonl}
)");
  const AlertOptions& o = c.options;
  EXPECT_EQ(o.group_wait_ns, 10'000'000'000);
  EXPECT_TRUE(o.group_by.klass && o.group_by.team);
  EXPECT_FALSE(o.group_by.view || o.group_by.entity);
  EXPECT_EQ(o.dedup_window_ns, 600'000'000'000);
  EXPECT_EQ(o.resolve_after_ns, 1'200'000'000'000);
  EXPECT_EQ(o.repeat_interval_ns, 7'200'000'000'000);
  EXPECT_EQ(o.refresh_interval_ns, 30'000'000'000);
  EXPECT_EQ(o.min_notify_severity, AlertSeverity::kPage);
  EXPECT_EQ(o.default_team, "dns");
  ASSERT_EQ(o.routes.size(), 2u);
  EXPECT_EQ(o.routes[0].team, "edge");
  EXPECT_EQ(o.routes[0].classes, (std::vector<std::string>{"latency_rise", "servfail_spike"}));
  EXPECT_EQ(o.routes[0].views, (std::vector<std::string>{"resolver"}));
  EXPECT_EQ(o.routes[0].entity_suffix, ".example.com");
  EXPECT_EQ(o.routes[0].where, "dnsight.yaml:12");
  EXPECT_EQ(o.routes[1].views, (std::vector<std::string>{"client"}));
  EXPECT_TRUE(o.routes[1].classes.empty());
  EXPECT_EQ(o.page_budgets.at("dns"), 4);
  EXPECT_EQ(o.page_budgets.at("edge"), 0);
  EXPECT_EQ(o.max_open_alerts, 500u);
  EXPECT_EQ(c.dispatch.queue_capacity, 16u);
  EXPECT_EQ(c.dispatch.max_attempts, 2);
  EXPECT_EQ(c.dispatch.retry_backoff_ns, 250'000'000);
  ASSERT_EQ(c.sinks.size(), 3u);
  EXPECT_EQ(c.sinks[0].kind, "alertmanager");
  EXPECT_EQ(c.sinks[0].alertmanager.http.url, "http://127.0.0.1:9093");
  EXPECT_EQ(c.sinks[0].alertmanager.resolve_timeout_ns, 120'000'000'000);
  EXPECT_EQ(c.sinks[0].alertmanager.http.connect_timeout_ns, 1'000'000'000);
  EXPECT_EQ(c.sinks[0].alertmanager.http.read_timeout_ns, 3'000'000'000);
  EXPECT_EQ(c.sinks[0].alertmanager.dashboard_url, "https://dnsight.example.net");
  EXPECT_EQ(c.sinks[1].kind, "webhook");
  EXPECT_EQ(c.sinks[1].webhook.bearer_token, "s3cret");
  EXPECT_TRUE(c.sinks[1].webhook.send_suppressed);
  EXPECT_EQ(c.sinks[1].webhook.http.connect_timeout_ns, 2'000'000'000);
  EXPECT_EQ(c.sinks[2].kind, "jsonl");
  EXPECT_EQ(c.sinks[2].path, "/tmp/alerts.jsonl");
}

TEST(AlertConfigTest, ErrorsNameFileLineAndField) {
  EXPECT_EQ(ErrorOf("alerts:\n  group_wiat: 10s\n"),
            "dnsight.yaml:2:3: alerts.group_wiat: unknown key 'group_wiat' (expected one of: "
            "group_wait, group_by, dedup_window, resolve_after, repeat_interval, "
            "refresh_interval, min_notify_severity, default_team, routes, budgets, "
            "queue_capacity, max_attempts, retry_backoff, max_open_alerts, sinks)");
  EXPECT_EQ(ErrorOf("alerts:\n  resolve_after: soon\n"),
            "dnsight.yaml:2:18: alerts.resolve_after: expected a duration like 10s, 5m, 1h "
            "(got 'soon')");
  EXPECT_EQ(ErrorOf("alerts:\n  resolve_after: 0s\n"),
            "dnsight.yaml:2:18: alerts.resolve_after: expected a duration like 10s, 5m, 1h "
            "(got '0s')");
  EXPECT_EQ(ErrorOf("alerts:\n  group_by: [class, site]\n"),
            "dnsight.yaml:2:21: alerts.group_by[1]: unknown group_by field 'site' (expected "
            "class, view, entity or team)");
  EXPECT_EQ(ErrorOf("alerts:\n  min_notify_severity: urgent\n"),
            "dnsight.yaml:2:24: alerts.min_notify_severity: expected page, ticket or info (got "
            "'urgent')");
  EXPECT_EQ(ErrorOf("alerts:\n  routes:\n    - {class: [a]}\n"),
            "dnsight.yaml:3:7: alerts.routes[0]: a route needs 'team'");
  EXPECT_EQ(ErrorOf("alerts:\n  budgets: {dns: -1}\n"),
            "dnsight.yaml:2:18: alerts.budgets.dns: must be between 0 and 1000000");
  EXPECT_EQ(ErrorOf("alerts:\n  sinks:\n    - {kind: pager}\n"),
            "dnsight.yaml:3:14: alerts.sinks[0].kind: unknown sink kind 'pager' (expected "
            "alertmanager, webhook or jsonl)");
  EXPECT_EQ(ErrorOf("alerts:\n  sinks:\n    - {kind: webhook}\n"),
            "dnsight.yaml:3:7: alerts.sinks[0]: a webhook sink needs 'url'");
  EXPECT_EQ(ErrorOf("alerts:\n  sinks:\n    - {kind: webhook, url: 'ftp://x'}\n"),
            "dnsight.yaml:3:28: alerts.sinks[0].url: expected an http:// or https:// URL with "
            "a host (no user:password@) (got 'ftp://x')");
  EXPECT_EQ(ErrorOf("alerts:\n  sinks:\n    - {kind: jsonl, path: a, url: b}\n"),
            "dnsight.yaml:3:30: alerts.sinks[0].url: unknown key 'url' (expected one of: kind, "
            "path)");
  ::unsetenv("DNSIGHT_TEST_NO_SUCH_TOKEN");
  EXPECT_EQ(ErrorOf("alerts:\n  sinks:\n    - {kind: webhook, url: 'http://h/',\n"
                    "       token_env: DNSIGHT_TEST_NO_SUCH_TOKEN}\n"),
            "dnsight.yaml:4:19: alerts.sinks[0].token_env: environment variable "
            "'DNSIGHT_TEST_NO_SUCH_TOKEN' is not set or empty");
  EXPECT_EQ(ErrorOf("alerts:\n  refresh_interval: 5m\n  sinks:\n"
                    "    - {kind: alertmanager, url: 'http://h:9093', resolve_timeout: 5m}\n"),
            "dnsight.yaml:4:67: alerts.sinks[0].resolve_timeout: resolve_timeout (5m) must be "
            "longer than alerts.refresh_interval (5m), or Alertmanager expires firing alerts "
            "between re-sends");
}

TEST(AlertConfigTest, MakesTheSinks) {
  test_support::TempDir dir;
  const AlertConfig c = Parse(
      "alerts:\n  sinks:\n"
      "    - {kind: alertmanager, url: 'http://127.0.0.1:9093/am'}\n"
      "    - {kind: webhook, url: 'http://127.0.0.1:9/secret'}\n"
      "    - {kind: jsonl, path: '" +
      (dir / "alerts.jsonl") + "'}\n");
  ManualClock clock;
  auto sinks = MakeAlertSinks(c, clock);
  ASSERT_TRUE(sinks.ok()) << sinks.status().ToString();
  ASSERT_EQ(sinks->size(), 3u);
  EXPECT_EQ((*sinks)[0]->Describe(), "alertmanager http://127.0.0.1:9093/am");
  EXPECT_EQ((*sinks)[1]->Describe(), "webhook http://127.0.0.1:9");
  EXPECT_EQ((*sinks)[2]->Kind(), "jsonl");

  const AlertConfig bad = Parse("alerts:\n  sinks:\n    - {kind: jsonl, path: '" +
                                (dir / "no/such/dir.jsonl") + "'}\n");
  auto failed = MakeAlertSinks(bad, clock);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kIoError);
  EXPECT_EQ(failed.status().message().rfind("dnsight.yaml:3: cannot open alert log", 0), 0u)
      << failed.status().message();
}

}  // namespace
}  // namespace dnsight
