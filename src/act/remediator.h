// Remediator: takes alerting decisions through the remediation policy and runs, dry-runs,
// skips or escalates the selected action, writing one hash-chained audit record for each.
//
// Handle() goes through these steps and stops at the first that does not pass:
//
//   1. alert        decisions with alert=false are not remediated   -> skipped_no_alert
//   2. policy       no rule / rules disagree / rule says escalate    -> escalated_no_policy,
//                                                                       escalated_unclear,
//                                                                       escalated_by_rule
//   3. rate limit   runs of this action in the last hour             -> escalated_rate_limit
//   4. cooldown     a run of this action on this entity too recently -> skipped_cooldown
//   5. blast radius the incident is wider than max_entities, or this
//                   would be a new distinct entity beyond
//                   max_entities in the last hour                    -> escalated_blast_radius
//   6. preconditions built-in safe_arguments (every placeholder value
//                   is in the safe set) and audit_writable, then the
//                   action's own list, in order                      -> escalated_precondition
//   7. run          dry run unless the action says dry_run: false
//                   AND the Remediator was built with execute=true   -> dry_run, succeeded,
//                                                                       failed, timed_out
//
// Anything not clearly allowed escalates. A dry run counts against the rate limit,
// cooldown and blast radius exactly as a real run would, so replaying decisions in dry-run
// mode shows what executing them would have done. Precondition checks (commands, HTTP
// probes) run in dry-run mode too: they are meant to be read-only.
//
// Every decision that reaches step 2 appends exactly one audit record (fields listed in
// src/act/README.md); a skipped_no_alert decision writes none. Escalations, failed and
// timed-out runs, and records that could not be written call the Escalate callback (after
// the internal lock is released) so the caller can page a human.
//
// Windows (rate limit, cooldown, distinct entities) are judged on Clock::NowNs(): "the last
// hour" is the hour before now.
//
// Thread-safety: Handle is serialized by one mutex held for the whole call, including the
// runbook step (up to the action's timeout); concurrent callers wait. Counters and Recent
// are safe from any thread at any time.
// Ownership: the policy, clock, audit chain and executor are borrowed and must outlive
// the Remediator.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "act/audit_chain.h"
#include "act/remediation_policy.h"
#include "act/runbook.h"
#include "detect/decision.h"
#include "dnsight/clock.h"

namespace dnsight {

// Stable names (metric labels, audit records): see RemediationOutcomeName.
enum class RemediationOutcome : uint8_t {
  kDryRun,
  kSucceeded,
  kFailed,
  kTimedOut,
  kEscalatedNoPolicy,
  kEscalatedUnclear,
  kEscalatedByRule,
  kEscalatedPrecondition,
  kEscalatedRateLimit,
  kEscalatedBlastRadius,
  kSkippedCooldown,
  kSkippedNoAlert,
};
inline constexpr size_t kRemediationOutcomeCount = 12;

// dry_run | succeeded | failed | timed_out | escalated_no_policy | escalated_unclear |
// escalated_by_rule | escalated_precondition | escalated_rate_limit |
// escalated_blast_radius | skipped_cooldown | skipped_no_alert
std::string_view RemediationOutcomeName(RemediationOutcome o);
bool IsEscalation(RemediationOutcome o);

// What the caller knows about the incident beyond the decision itself.
struct RemediationContext {
  // How many entities the incident currently touches (the caller computes it).
  uint64_t blast_radius = 1;
  // The scope is under a maintenance window (besides Decision::maintenance).
  bool in_maintenance = false;
  // Whether the caller has a change feed at all. When false, no_recent_change fails:
  // "no known change" is not the same as "no change".
  bool changes_known = false;
  int64_t last_change_ns = 0;  // newest change touching the scope; 0 = none
  std::string last_change;     // what it was ("deploy d-12"), for the audit record
};

struct PreconditionResult {
  std::string check;  // safe_arguments | audit_writable | the policy key (min_confidence...)
  bool passed = false;
  std::string detail;
};

struct ActionOutcome {
  RemediationOutcome outcome = RemediationOutcome::kSkippedNoAlert;
  std::string action;         // selected action; "" when none was
  std::vector<size_t> rules;  // matching rule numbers
  std::string reason;
  bool dry_run = false;   // the selected action would not run for real
  bool executed = false;  // a runbook step was run for real
  std::string step;       // the concrete step (after substitution), when one was built
  std::vector<PreconditionResult> preconditions;
  RunbookResult result;    // meaningful when executed
  uint64_t audit_seq = 0;  // 0 when no record was written
  Status audit_status;     // why the record could not be written
};

using EscalateFn = std::function<void(const Decision&, const ActionOutcome&)>;

class Remediator {
 public:
  // execute: the process-wide switch; false means every action is a dry run whatever the
  // policy says.
  Remediator(const RemediationPolicy& policy, const Clock& clock, AuditChain& audit,
             RunbookExecutor& executor, bool execute, EscalateFn escalate = {});
  Remediator(const Remediator&) = delete;
  Remediator& operator=(const Remediator&) = delete;

  ActionOutcome Handle(const Decision& d, const RemediationContext& ctx);

  uint64_t count(RemediationOutcome o) const {
    return counts_[static_cast<size_t>(o)].load(std::memory_order_relaxed);
  }
  std::array<uint64_t, kRemediationOutcomeCount> Counts() const;
  // Audit records that could not be written.
  uint64_t audit_errors() const { return audit_errors_.load(std::memory_order_relaxed); }

  // The newest `limit` handled decisions (no skipped_no_alert), newest first, each a JSON
  // object: {"ts":..., "audit_seq":N, <the audit record fields>}. At most kRecentKept.
  std::vector<std::string> Recent(size_t limit) const;
  static constexpr size_t kRecentKept = 256;

 private:
  struct ActionState {
    std::deque<int64_t> runs;                           // run times, last hour
    std::unordered_map<std::string, int64_t> last_run;  // entity -> time (cooldown)
    std::unordered_map<std::string, int64_t> touched;   // entity -> time, last hour
  };

  ActionOutcome Decide(const Decision& d, const RemediationContext& ctx, int64_t now);
  bool CheckPreconditions(const RemediationAction& a, const Decision& d,
                          const RemediationContext& ctx, int64_t now, ActionOutcome* out);
  void Record(const Decision& d, const RemediationContext& ctx, ActionOutcome* out);

  const RemediationPolicy& policy_;
  const Clock& clock_;
  AuditChain& audit_;
  RunbookExecutor& executor_;
  const bool execute_;
  const EscalateFn escalate_;

  std::mutex mu_;                                          // serializes Handle
  std::map<std::string, ActionState, std::less<>> state_;  // guarded by mu_

  mutable std::mutex recent_mu_;
  std::deque<std::string> recent_;  // guarded by recent_mu_; newest at the back

  std::array<std::atomic<uint64_t>, kRemediationOutcomeCount> counts_{};
  std::atomic<uint64_t> audit_errors_{0};
};

}  // namespace dnsight
