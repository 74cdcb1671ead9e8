// The `alerts:` section of dnsight.yaml: lifecycle options, delivery options and sinks.
//
//   alerts:
//     group_wait: 30s            # first notification of a new group waits this long
//     group_by: [class, view, entity]   # any of class, view, entity, team
//     dedup_window: 5m           # a group seen again this soon after resolving re-opens
//     resolve_after: 3m          # auto-resolve when not re-confirmed this long
//     repeat_interval: 1h        # re-send a firing alert at most this often
//     refresh_interval: 1m       # keep-alive to Alertmanager (0 = off)
//     min_notify_severity: ticket   # page | ticket | info
//     default_team: dns
//     routes:                    # first match wins; empty/missing lists match anything
//       - {team: edge, class: [latency_rise], view: [resolver], entity_suffix: .example.com}
//     budgets: {dns: 4}          # team -> pages per sliding hour; over budget: ticket
//     queue_capacity: 1024       # dispatcher queue (oldest dropped when full)
//     max_attempts: 4            # per change and sink, transient failures only
//     retry_backoff: 1s          # first retry wait, doubling
//     max_open_alerts: 10000
//     sinks:
//       - {kind: alertmanager, url: http://127.0.0.1:9093, resolve_timeout: 5m, timeout: 2s,
//          dashboard_url: https://dnsight.example.net}
//       - {kind: webhook, url: https://hooks.example.net/x, token_env: HOOK_TOKEN, timeout: 2s}
//       - {kind: jsonl, path: /var/lib/dnsight/alerts.jsonl}
//
// HTTP sinks also take connect_timeout and read_timeout (each overrides `timeout`) and
// ca_file; webhooks take send_suppressed (bool). Parsing validates completely and raises
// errors through the node's Thrower (ConfigError for dnsight.yaml) naming file, line and
// field; it runs at startup only. A webhook's token is read from the environment
// variable named by token_env at parse time, so it never sits in the config file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "act/alert_lifecycle.h"
#include "act/alert_sinks.h"
#include "common/yaml_node.h"
#include "dnsight/clock.h"
#include "dnsight/status.h"

namespace dnsight {

struct AlertSinkSpec {
  std::string kind;  // alertmanager | webhook | jsonl
  AlertmanagerSinkOptions alertmanager;
  WebhookSinkOptions webhook;
  std::string path;   // jsonl
  std::string where;  // file:line of the entry, for messages
};

struct AlertConfig {
  AlertOptions options;
  AlertDispatcherOptions dispatch;
  std::vector<AlertSinkSpec> sinks;
};

// `node` is the value of the `alerts:` key (a mapping).
AlertConfig ParseAlertConfig(const YamlNode& node);

// The sinks of `config`, in order (JSON lines files are opened here). `clock` gives
// Alertmanager its wall time and must outlive the sinks.
Result<std::vector<std::unique_ptr<AlertSink>>> MakeAlertSinks(const AlertConfig& config,
                                                               const Clock& clock);

}  // namespace dnsight
