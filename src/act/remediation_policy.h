// RemediationPolicy: which automatic action, if any, a decision may trigger.
//
// A policy file (YAML; example and reference: examples/remediation.yaml) has two parts.
//
//   actions:                        # name -> what to run and its guard rails
//     flush_zone:
//       kind: command               # command | http
//       command: [unbound-control, flush_zone, "{entity}"]   # argv; no shell
//       timeout: 10s                # default 10s
//       rate_limit: 6               # runs per hour of this action (default 6)
//       cooldown: 15m               # per entity (default 15m)
//       max_entities: 3             # distinct entities per hour (default 3)
//       dry_run: true               # default true; see Remediator for the execute switch
//       preconditions:              # in order; the first failure stops and escalates
//         - not_in_maintenance: true
//         - min_confidence: medium
//         - max_blast_radius: 2
//         - no_recent_change: 30m
//         - command: [/usr/local/bin/resolver-healthy, "{entity}"]   # exit 0 = pass
//           timeout: 5s
//         - http: "http://127.0.0.1:8080/health"
//           expect_status: 200
//   rules:                          # ordered; all are matched
//     - match: {class: [nxdomain_spike], severity: [page, ticket], min_confidence: medium,
//               max_blast_radius: 3, failure_domain: [dns_config]}
//       action: flush_zone          # an action name, or `escalate`
//
// HTTP actions take url, method (default POST), body and headers instead of command.
//
// Placeholders {entity}, {class}, {view}, {decision_id} and {severity} are substituted in
// each command argument, URL, body and header value. A substituted value must match the
// safe set (IsSafeArgumentValue); otherwise the step is refused, never run with a
// sanitised value. The program (argv[0]) and the URL's scheme, host and port cannot hold
// placeholders, so a decision can choose what an action acts on but not what it runs or
// where it connects.
//
// Matching (Evaluate) is deliberately conservative: every rule is tried; none matching
// means no policy; matching rules that name different targets (two actions, or an action
// and `escalate`) mean the policy is unclear. Both escalate to a human.
//
// Loading throws ConfigError naming file, line, column and field; unknown keys, unknown
// placeholders and rules naming undefined actions are errors. Exceptions are used only
// there (startup); Evaluate never throws.
//
// Thread-safety: immutable after load; Evaluate is const and safe from any thread.
// Ownership: PolicyVerdict::action points into the policy, which must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "act/runbook.h"
#include "detect/decision.h"
#include "dnsight/status.h"

namespace dnsight {

// Ordered: kUnknown (missing or unrecognised) ranks below low.
enum class Confidence : uint8_t { kUnknown = 0, kLow, kMedium, kHigh };
Confidence ParseConfidence(std::string_view text);
std::string_view ConfidenceName(Confidence c);

inline constexpr int64_t kDefaultActionTimeoutNs = 10'000'000'000;
inline constexpr int64_t kDefaultCooldownNs = 15 * 60 * 1'000'000'000LL;
inline constexpr uint32_t kDefaultRateLimitPerHour = 6;
inline constexpr uint32_t kDefaultMaxEntitiesPerHour = 3;

struct Precondition {
  enum class Kind : uint8_t {
    kCommand,           // argv exits 0 within the timeout
    kHttp,              // GET url answers expect_status within the timeout
    kNotInMaintenance,  // neither the decision nor the caller's context says maintenance
    kMinConfidence,     // the decision's confidence is at least min_confidence
    kMaxBlastRadius,    // the incident touches at most max_blast_radius entities
    kNoRecentChange,    // no known change within window_ns (fails when changes are unknown)
  };
  Kind kind = Kind::kNotInMaintenance;
  std::vector<std::string> argv;  // kCommand, with placeholders
  std::string url;                // kHttp, with placeholders
  int expect_status = 200;
  int64_t timeout_ns = kDefaultActionTimeoutNs;
  Confidence min_confidence = Confidence::kUnknown;
  uint64_t max_blast_radius = 0;
  int64_t window_ns = 0;
  std::string where;  // "file:line"

  // The YAML key: command | http | not_in_maintenance | min_confidence | ...
  std::string_view Name() const;
  // "min_confidence: medium", "command: /usr/bin/x {entity}": for the audit record.
  std::string Describe() const;
};

struct RemediationAction {
  std::string name;
  RunbookStep::Kind kind = RunbookStep::Kind::kCommand;
  std::vector<std::string> command;  // kCommand: argv with placeholders
  std::string method = "POST";       // kHttp
  std::string url;                   // kHttp, with placeholders after the authority
  std::string body;                  // kHttp, with placeholders
  std::vector<std::pair<std::string, std::string>> headers;  // values with placeholders
  int64_t timeout_ns = kDefaultActionTimeoutNs;
  uint32_t rate_limit_per_hour = kDefaultRateLimitPerHour;
  int64_t cooldown_ns = kDefaultCooldownNs;
  uint32_t max_entities_per_hour = kDefaultMaxEntitiesPerHour;
  bool dry_run = true;
  std::vector<Precondition> preconditions;
  std::string where;  // "file:line"
};

struct PolicyRule {
  size_t number = 0;  // 1-based position in `rules:`
  std::string where;  // "file:line"
  bool any_class = false;
  std::vector<std::string> classes;                  // when !any_class
  std::vector<std::string> severities;               // empty = any
  std::vector<std::string> failure_domains;          // empty = any
  Confidence min_confidence = Confidence::kUnknown;  // kUnknown = no requirement
  std::optional<uint64_t> max_blast_radius;
  std::string action;  // an action name, or "escalate"

  bool escalates() const { return action == "escalate"; }
  bool Matches(const Decision& d, uint64_t blast_radius) const;
};

struct PolicyVerdict {
  enum class Kind : uint8_t {
    kAction,    // exactly one action named by every matching rule
    kEscalate,  // every matching rule says `escalate`
    kNoPolicy,  // no rule matched
    kUnclear,   // matching rules name different targets
  };
  Kind kind = Kind::kNoPolicy;
  const RemediationAction* action = nullptr;  // kAction only
  std::vector<size_t> rules;                  // numbers of the matching rules
  std::string reason;                         // one sentence for humans and the audit log
};

// Values substituted into placeholders.
struct PlaceholderValues {
  std::string entity, klass, view, decision_id, severity;

  static PlaceholderValues From(const Decision& d);
};

// 1..253 characters of [A-Za-z0-9._:-], not starting with '-' (it would read as an
// option) and without ".." (path traversal in a URL). Covers domain names, IPv4 and
// IPv6 addresses, and the identifiers decisions carry.
bool IsSafeArgumentValue(std::string_view value);

// Substitutes placeholders in one template. InvalidArgument naming the placeholder when
// a value it needs is not safe. Text that is not a placeholder (such as JSON braces) is
// copied unchanged.
Result<std::string> SubstitutePlaceholders(std::string_view text, const PlaceholderValues& v);

// The concrete step of an action for one decision (all placeholders substituted).
Result<RunbookStep> BuildActionStep(const RemediationAction& action, const PlaceholderValues& v);
// The concrete step of a command or http precondition.
// REQUIRES: p.kind is kCommand or kHttp.
Result<RunbookStep> BuildPreconditionStep(const Precondition& p, const PlaceholderValues& v);

class RemediationPolicy {
 public:
  // Throws ConfigError (startup only).
  static RemediationPolicy LoadFile(const std::string& path);
  // `name` is used in error messages in place of a file name. Throws ConfigError.
  static RemediationPolicy Parse(const std::string& yaml_text, const std::string& name);

  // `blast_radius` is how many entities the incident currently touches.
  PolicyVerdict Evaluate(const Decision& d, uint64_t blast_radius) const;

  const RemediationAction* FindAction(std::string_view name) const;
  const std::map<std::string, RemediationAction, std::less<>>& actions() const { return actions_; }
  const std::vector<PolicyRule>& rules() const { return rules_; }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, RemediationAction, std::less<>> actions_;
  std::vector<PolicyRule> rules_;
};

}  // namespace dnsight
