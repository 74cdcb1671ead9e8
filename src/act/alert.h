// Alert: an operator-facing incident built from one or more decisions about one scope.
//
// The alert lifecycle (alert_lifecycle.h) turns decisions into alerts: decisions with the
// same group key (class and scope) within the dedup window fold into one alert, which
// stays open while its condition is re-confirmed and resolves when it clears. Sinks
// (Alertmanager, webhook, JSON lines) receive each state change.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dnsight {

enum class AlertState : uint8_t {
  kFiring,      // open and notified
  kSuppressed,  // open, but inside a maintenance window or silenced by feedback
  kResolved,    // closed: the condition cleared (or was not re-confirmed in time)
};

std::string_view AlertStateName(AlertState s);

// What happened to an alert when a copy of it is handed to the sinks (AlertLifecycle).
enum class AlertChange : uint8_t {
  kNone,          // a snapshot (OpenAlerts, Recent), not a change
  kOpened,        // first notification, after group_wait
  kRepeat,        // still firing; re-sent after repeat_interval
  kSeverity,      // severity rose, or a page was downgraded by the team's budget
  kReopened,      // resolved less than dedup_window ago and seen again (a flap)
  kSuppressed,    // entered the suppressed state (maintenance or silence)
  kUnsuppressed,  // left it: firing again
  kResolved,      // the detector said the condition cleared
  kAutoResolved,  // not re-confirmed for resolve_after
  kRefresh,       // keep-alive for sinks that expire firing alerts (Alertmanager)
};

std::string_view AlertChangeName(AlertChange c);

struct Alert {
  std::string id;         // stable for the alert's life: hash of the group key and start
  std::string group_key;  // "class|view|entity", what dedup and grouping use
  std::string klass;      // incident class of the decisions (docs/decisions.md)
  std::string view, entity, scope_kind;
  std::string team;               // owner, from the routing table; "" when unrouted
  std::string severity;           // page | ticket | info, after budget and maintenance downgrades
  std::string original_severity;  // what the decisions asked for
  std::string failure_domain;
  std::string summary;  // one line: class, scope and the top feature with its value
  AlertState state = AlertState::kFiring;
  bool downgraded = false;  // severity lowered (budget, maintenance); `reason` says why
  std::string reason;
  double score = 0;  // the highest score seen while open
  int64_t starts_ns = 0;
  int64_t last_seen_ns = 0;               // newest decision folded in
  int64_t ends_ns = 0;                    // 0 while open
  uint64_t decisions = 0;                 // decisions folded in
  std::vector<std::string> decision_ids;  // the newest few, oldest first
  uint64_t notifications = 0;             // changes sent to notifying sinks (Alertmanager, webhook)
  // Set on the copies handed to sinks:
  AlertChange change = AlertChange::kNone;
  bool notify = false;  // notifying sinks take this change; record sinks (JSON lines) take all
};

// One JSON object (no trailing newline): the alert with RFC 3339 times; "change" and
// "notify" only on the copies handed to sinks (change != kNone).
void AppendAlertJson(const Alert& a, std::string* out);

}  // namespace dnsight
