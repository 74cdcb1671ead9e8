// Hosting telemetry config (README: "web" and "hosts"): which access and error logs to
// read, which node_exporter endpoints to scrape, and the built-in views they feed.
//
// Parsed at startup; errors are thrown by the YamlNode's thrower and name file, line and
// field. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/yaml_node.h"
#include "features/feature_view.h"
#include "hosting/web_features.h"
#include "ingest/web_log.h"

namespace dnsight {

struct WebLogConfig {
  std::string path;
  bool error_log = false;  // format: nginx_error
  WebLogFormat format = WebLogFormat::kCombined;
  bool follow = false;
  std::string service;       // used when a line names no vhost
  std::string node;          // used when a line names no node
  int64_t utc_offset_s = 0;  // error logs are written in local time
};

struct WebConfig {
  std::vector<WebLogConfig> logs;
  WebFeatureOptions features;
};

struct HostTargetConfig {
  std::string node;
  std::string url;  // http(s)://host:port/metrics
};

// When a node's host feature crosses one of these, the decision join calls the node
// degraded and points the failure domain at infrastructure.
struct HostDegradedThresholds {
  double cpu_steal_ratio = 0.10;
  double cpu_iowait_ratio = 0.20;
  double load1_per_core = 2.0;
  double memory_pressure = 0.95;
  double disk_io_busy_ratio = 0.90;
  double tcp_retrans_ratio = 0.02;
  double net_drops_per_s = 10;
  double restarts = 1;
};

struct HostsConfig {
  std::vector<HostTargetConfig> targets;
  int64_t interval_ns = 15'000'000'000;
  int64_t timeout_ns = 5'000'000'000;
  size_t max_body_bytes = 16u << 20;  // larger scrape bodies are refused and counted
  HostDegradedThresholds degraded;
};

// `web` and `hosts` sections; either node may be absent (pass nullptr).
void ParseWebConfig(const YamlNode& n, WebConfig* out);
void ParseHostsConfig(const YamlNode& n, HostsConfig* out);

// The built-in "host" view (entity node; one row per scrape, window = the interval).
FeatureView MakeHostView(const HostsConfig& hosts);

}  // namespace dnsight
