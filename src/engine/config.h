// EngineConfig: everything `dnsight run` is told by dnsight.yaml (reference: README).
//
// LoadConfig parses YAML into an EngineConfig and validates it completely. Errors are
// thrown as ConfigError (config load is the one place exceptions are allowed) and name
// the file, line, column and field path, e.g.
//   dnsight.yaml:42:15: views[1].aggregations[0].kind: unknown aggregation kind 'cnt'
// Unknown keys are errors too, so a typo never silently falls back to a default.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/yaml_node.h"
#include "features/feature_view.h"
#include "hosting/hosting_config.h"
#include "ingest/redactor.h"

namespace dnsight {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SourceConfig {
  std::string type;  // jsonl | dnstap_file | dnstap_unix | dnstap_tcp | pcap_file | pcap_live
  std::string path;  // file or socket path ("-" = stdin for jsonl)
  std::string address = "127.0.0.1";       // dnstap_tcp bind address
  int port = 0;                            // dnstap_tcp
  std::string interface;                   // pcap_live
  std::string bpf_filter;                  // pcap_live / pcap_file
  std::vector<int> dns_ports{53};          // pcap_*
  bool follow = false;                     // jsonl
  std::string dnstap_messages = "client";  // dnstap: client | resolver | auth | all
  std::string where;                       // "file:line" of the entry, for messages
};

struct EngineOptions {
  int threads = 1;
  int64_t pane_ns = 10'000'000'000;         // base pane; every window is a multiple
  int64_t coarse_pane_ns = 60'000'000'000;  // panes for windows above fine_window_limit
  int64_t fine_window_limit_ns = 300'000'000'000;
  // Coarse windows of 24 or more coarse panes merge cached blocks of 8 coarse panes (about
  // 1.75x faster when 1h windows are full, for up to ~50% more state). Off: pane by pane.
  bool coarse_blocks = true;
  int64_t watermark_delay_ns = 2'000'000'000;  // out-of-orderness tolerated before closing
  int64_t allowed_lateness_ns = 30'000'000'000;
  // Live input that goes quiet: when no event arrives for this long (wall clock), panes
  // close as if event time had moved on by the quiet time, so the last rows come out.
  // 0 disables. Only acts when the caller drives Pipeline::Tick (dnsight run does).
  int64_t idle_advance_ns = 5'000'000'000;
  // Events stamped more than this ahead of the wall clock are rejected (reason
  // "future_timestamp"): one corrupt timestamp would otherwise drag the watermark ahead and
  // make every later real event late. 0 (the default): no limit, for replays of data
  // stamped ahead of this machine's clock; the example config sets 1d.
  int64_t max_future_ns = 0;
  // Bound on live entities per view (split evenly over shards). When full, events of
  // new entities are aggregated into one overflow entity per view ("(overflow)") and
  // counted, so totals stay right and memory stays bounded under a cardinality attack
  // (e.g. spoofed client addresses). Cost: roughly 10-40 KB per entity with the default
  // feature set (see BENCHMARKS.md).
  size_t max_entities_per_view = 200'000;
  // Event-time range accepted (backfill --from/--to; not settable in YAML). Events outside
  // it are counted as out_of_range and not aggregated.
  int64_t accept_from_ns = INT64_MIN;
  int64_t accept_to_ns = INT64_MAX;
  // Larger batches give longer per-entity runs (fewer calls, fewer cold state loads); a
  // batch of 131072 events takes about 25 MB (events, names, key hashes, view selections),
  // and up to queue_batches of them can wait per shard.
  size_t batch_size = 131072;
  size_t queue_batches = 4;  // per shard; the reader blocks when a shard falls behind
};

struct OutputOptions {
  std::string features = "-";  // JSON lines of feature vectors; "-" = stdout
  std::string late_events;     // side output for events later than allowed lateness
  std::string dead_letter;     // sampled malformed inputs
  size_t dead_letter_samples_per_reason = 100;
  std::string counters;  // JSON counters written at exit ("" = stderr summary only)
};

// Feature store (README: "store"). Everything lives under `path` unless set otherwise.
struct StoreConfig {
  std::string path;                 // "" = no store: features go only to output.features
  std::string online = "embedded";  // embedded | redis | none
  std::string redis_host = "127.0.0.1";
  int redis_port = 6379;
  std::string redis_unix_socket;
  int redis_db = 0;
  std::string redis_key_prefix = "dnsight:";
  bool offline = true;  // append closed windows to <path>/offline
  int64_t offline_partition_ns = 3'600'000'000'000;
  bool offline_sync = false;  // fdatasync each block (power-loss safe, slower)
};

struct ApiTokenConfig {
  std::string name;
  std::string role;    // reader | trainer | admin
  std::string sha256;  // hex digest of the token (a plain `token:` in YAML is hashed at load)
};

// HTTP serving API (README: "api"). Served by `dnsight run` and `dnsight serve`.
struct ApiConfig {
  std::string listen;    // "127.0.0.1:8080"; "" = no API
  std::string tls_cert;  // PEM files; both set = HTTPS
  std::string tls_key;
  std::vector<ApiTokenConfig> tokens;  // none = no auth (loopback setups only)
  std::string audit_log;               // "" = <store.path>/audit.jsonl
  int threads = 4;
  // The web dashboard's files (web/ after `npm ci`), served at /ui/. "" = the source
  // tree's web/ directory as built in; a missing directory leaves /ui/ off with a warning.
  std::string dashboard_dir;
};

// DHCP / lease history for the `device` entity (README: "leases").
struct LeaseConfig {
  std::vector<std::string> files;  // JSON lines {"ip","device","from","to"}
};

// One detection rule (README: "detect"): which view's vectors it reads, how it scores
// them, and what a decision it raises says (the feature-to-action table).
struct DetectRuleConfig {
  std::string klass;  // incident class, e.g. latency_rise (docs/decisions.md)
  std::string view;
  std::string kind = "baseline";      // baseline | threshold | tunnelling | iforest | xgboost
  std::string model;                  // iforest, xgboost: model file from `dnsight train`
  std::vector<std::string> features;  // baseline / threshold inputs
  std::string direction = "up";       // baseline: up | down | both
  double threshold = 5;               // robust z (baseline), value (threshold), score (tunnelling)
                                      // probability (xgboost: default 0.5, in (0, 1])
  double min_delta = 0;               // baseline: also |value - baseline| >= this
  // baseline: the event count behind each feature (parallel to `features`, e.g.
  // queries_1m for nxdomain_ratio_1m). A feature whose count is below min_count is not
  // judged; with `binomial`, a ratio's score also divides by its sampling error
  // sqrt(b (1 - b) / n), so a few events cannot fake a spike.
  std::vector<std::string> counts;
  double min_count = 10;
  bool binomial = false;
  // The smallest rate the binomial error assumes: a per-entity median of a rare event
  // (2 % typos) is often 0, which would make one event look impossible.
  double binomial_floor = 0.05;
  std::string require_feature;             // a volume guard, e.g. queries_1m
  double require_min = 0;                  // ... which must be >= this
  std::string window = "5m";               // tunnelling: the window suffix it reads
  int64_t period_ns = 86'400'000'000'000;  // baseline seasonality (0 = none)
  int64_t slot_ns = 3'600'000'000'000;
  int min_points = 30;     // baseline warm-up, in vectors
  std::string scope_kind;  // resolver | domain | client | ... (default: entity kind)
  std::string failure_domain = "dns_config";
  std::string action = "investigate";
  std::string severity = "page";
  std::string where;  // file:line, for messages
};

struct DetectConfig {
  std::string decisions;             // JSON lines of decisions ("" = detection off, "-" stdout)
  std::vector<std::string> changes;  // change-event files (JSON lines) loaded at start
  int64_t renotify_ns = 900'000'000'000;          // while a condition lasts, one decision per this
  int64_t deploy_context_ns = 1'800'000'000'000;  // a change this recent is named in the reason
  size_t max_entities_per_rule = 200'000;
  std::vector<DetectRuleConfig> rules;
};

// Operations (README: "alerts", "remediation", "feedback"). The alerts section is parsed
// by the alert lifecycle's own parser (src/act), so it is kept as a located YAML node.
struct OperationsConfig {
  std::optional<YamlNode> alerts;
  std::string remediation_policy;    // a policy file (examples/remediation.yaml); "" = off
  std::string remediation_audit;     // the hash-chained audit log of every action
  bool remediation_execute = false;  // false: every action is a dry run, whatever the policy
  std::string feedback;              // JSON lines of operator feedback; "" = in memory
};

struct EngineConfig {
  std::string path;
  std::vector<SourceConfig> sources;
  RedactionOptions redaction;
  EngineOptions engine;
  OutputOptions output;
  StoreConfig store;
  ApiConfig api;
  LeaseConfig leases;
  DetectConfig detect;
  WebConfig web;      // access/error logs feeding the web_service and web_node views
  HostsConfig hosts;  // node_exporter targets feeding the host view
  OperationsConfig ops;
  // Loaded from leases.files; shared by every copy of the config and referenced by the
  // device views (FeatureView::leases). Immutable once loaded.
  std::shared_ptr<const LeaseTable> lease_table;
  std::vector<FeatureView> views;
};

// Throws ConfigError.
EngineConfig LoadConfig(const std::string& path);
EngineConfig ParseConfig(const std::string& yaml_text, const std::string& name_for_errors);

}  // namespace dnsight
