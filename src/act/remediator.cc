#include "act/remediator.h"

#include <algorithm>

#include "common/time_util.h"
#include "engine/row_writer.h"  // AppendJsonString, AppendJsonNumber

namespace dnsight {
namespace {

constexpr int64_t kHourNs = 3600 * kNanosPerSecond;
// How much of a command's output a precondition detail keeps.
constexpr size_t kDetailOutputBytes = 200;

// `now - t` is inside a window of `width` ending now. A time after now (the clock went
// back) counts as inside: the conservative reading for limits.
bool Within(int64_t t, int64_t now, int64_t width) {
  return t > now || now - t < width;
}

std::string Ago(int64_t t, int64_t now) {
  if (t >= now) return "just now";
  const int64_t d = now - t;
  if (d < kNanosPerSecond) return std::to_string(d / 1'000'000) + "ms ago";
  return FormatDuration(d / kNanosPerSecond * kNanosPerSecond) + " ago";
}

std::string Excerpt(const std::string& s) {
  std::string e = s.substr(0, kDetailOutputBytes);
  while (!e.empty() && (e.back() == '\n' || e.back() == '\r' || e.back() == ' ')) e.pop_back();
  return e;
}

std::string StepResultDetail(const RunbookResult& r) {
  std::string s;
  if (!r.started) return "not started: " + r.error;
  if (r.timed_out) {
    s = r.error;
  } else if (r.http_status != 0) {
    s = "http " + std::to_string(r.http_status);
  } else if (r.term_signal != 0) {
    s = "killed by signal " + std::to_string(r.term_signal);
  } else if (!r.error.empty() && r.exit_code < 0) {
    s = r.error;
  } else {
    s = "exit " + std::to_string(r.exit_code);
  }
  const std::string out = Excerpt(r.output);
  if (!out.empty()) s += ": " + out;
  return s;
}

void AppendResultJson(const RunbookResult& r, std::string* out) {
  out->append("{\"started\":");
  out->append(r.started ? "true" : "false");
  out->append(",\"exit_code\":");
  out->append(std::to_string(r.exit_code));
  out->append(",\"term_signal\":");
  out->append(std::to_string(r.term_signal));
  out->append(",\"http_status\":");
  out->append(std::to_string(r.http_status));
  out->append(",\"timed_out\":");
  out->append(r.timed_out ? "true" : "false");
  out->append(",\"duration_ms\":");
  AppendJsonNumber(static_cast<double>(r.duration_ns / 1000) / 1000.0, out);
  out->append(",\"output\":");
  AppendJsonString(r.output, out);
  out->append(",\"output_truncated\":");
  out->append(r.output_truncated ? "true" : "false");
  out->append(",\"error\":");
  AppendJsonString(r.error, out);
  out->push_back('}');
}

}  // namespace

std::string_view RemediationOutcomeName(RemediationOutcome o) {
  switch (o) {
    case RemediationOutcome::kDryRun:
      return "dry_run";
    case RemediationOutcome::kSucceeded:
      return "succeeded";
    case RemediationOutcome::kFailed:
      return "failed";
    case RemediationOutcome::kTimedOut:
      return "timed_out";
    case RemediationOutcome::kEscalatedNoPolicy:
      return "escalated_no_policy";
    case RemediationOutcome::kEscalatedUnclear:
      return "escalated_unclear";
    case RemediationOutcome::kEscalatedByRule:
      return "escalated_by_rule";
    case RemediationOutcome::kEscalatedPrecondition:
      return "escalated_precondition";
    case RemediationOutcome::kEscalatedRateLimit:
      return "escalated_rate_limit";
    case RemediationOutcome::kEscalatedBlastRadius:
      return "escalated_blast_radius";
    case RemediationOutcome::kSkippedCooldown:
      return "skipped_cooldown";
    case RemediationOutcome::kSkippedNoAlert:
      return "skipped_no_alert";
  }
  return "unknown";
}

bool IsEscalation(RemediationOutcome o) {
  switch (o) {
    case RemediationOutcome::kEscalatedNoPolicy:
    case RemediationOutcome::kEscalatedUnclear:
    case RemediationOutcome::kEscalatedByRule:
    case RemediationOutcome::kEscalatedPrecondition:
    case RemediationOutcome::kEscalatedRateLimit:
    case RemediationOutcome::kEscalatedBlastRadius:
      return true;
    default:
      return false;
  }
}

Remediator::Remediator(const RemediationPolicy& policy, const Clock& clock, AuditChain& audit,
                       RunbookExecutor& executor, bool execute, EscalateFn escalate)
    : policy_(policy),
      clock_(clock),
      audit_(audit),
      executor_(executor),
      execute_(execute),
      escalate_(std::move(escalate)) {}

std::array<uint64_t, kRemediationOutcomeCount> Remediator::Counts() const {
  std::array<uint64_t, kRemediationOutcomeCount> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<std::string> Remediator::Recent(size_t limit) const {
  std::lock_guard<std::mutex> lock(recent_mu_);
  std::vector<std::string> out;
  for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < limit; ++it)
    out.push_back(*it);
  return out;
}

ActionOutcome Remediator::Handle(const Decision& d, const RemediationContext& ctx) {
  ActionOutcome out;
  if (!d.alert) {
    out.outcome = RemediationOutcome::kSkippedNoAlert;
    out.reason = "decision is not an alert";
    counts_[static_cast<size_t>(out.outcome)].fetch_add(1, std::memory_order_relaxed);
    return out;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    out = Decide(d, ctx, clock_.NowNs());
    Record(d, ctx, &out);
  }
  counts_[static_cast<size_t>(out.outcome)].fetch_add(1, std::memory_order_relaxed);
  const bool needs_human = IsEscalation(out.outcome) ||
                           out.outcome == RemediationOutcome::kFailed ||
                           out.outcome == RemediationOutcome::kTimedOut || !out.audit_status.ok();
  if (needs_human && escalate_) escalate_(d, out);
  return out;
}

ActionOutcome Remediator::Decide(const Decision& d, const RemediationContext& ctx, int64_t now) {
  ActionOutcome out;
  const PolicyVerdict verdict = policy_.Evaluate(d, ctx.blast_radius);
  out.rules = verdict.rules;
  out.reason = verdict.reason;
  switch (verdict.kind) {
    case PolicyVerdict::Kind::kNoPolicy:
      out.outcome = RemediationOutcome::kEscalatedNoPolicy;
      return out;
    case PolicyVerdict::Kind::kUnclear:
      out.outcome = RemediationOutcome::kEscalatedUnclear;
      return out;
    case PolicyVerdict::Kind::kEscalate:
      out.outcome = RemediationOutcome::kEscalatedByRule;
      return out;
    case PolicyVerdict::Kind::kAction:
      break;
  }
  const RemediationAction& a = *verdict.action;
  out.action = a.name;
  out.dry_run = a.dry_run || !execute_;

  ActionState& st = state_[a.name];
  while (!st.runs.empty() && !Within(st.runs.front(), now, kHourNs)) st.runs.pop_front();
  std::erase_if(st.touched, [&](const auto& kv) { return !Within(kv.second, now, kHourNs); });
  std::erase_if(st.last_run,
                [&](const auto& kv) { return !Within(kv.second, now, a.cooldown_ns); });

  if (st.runs.size() >= a.rate_limit_per_hour) {
    out.outcome = RemediationOutcome::kEscalatedRateLimit;
    out.reason = a.name + " already ran " + std::to_string(st.runs.size()) +
                 " times in the last hour (rate_limit " + std::to_string(a.rate_limit_per_hour) +
                 ")";
    return out;
  }
  if (const auto it = st.last_run.find(d.entity); it != st.last_run.end()) {
    out.outcome = RemediationOutcome::kSkippedCooldown;
    out.reason = a.name + " ran on " + d.entity + " " + Ago(it->second, now) + " (cooldown " +
                 FormatDuration(a.cooldown_ns) + ")";
    return out;
  }
  if (ctx.blast_radius > a.max_entities_per_hour) {
    out.outcome = RemediationOutcome::kEscalatedBlastRadius;
    out.reason = "the incident touches " + std::to_string(ctx.blast_radius) + " entities; " +
                 a.name + " may touch at most " + std::to_string(a.max_entities_per_hour) +
                 " per hour";
    return out;
  }
  if (!st.touched.count(d.entity) && st.touched.size() >= a.max_entities_per_hour) {
    std::vector<std::string> names;
    for (const auto& kv : st.touched) names.push_back(kv.first);
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    out.outcome = RemediationOutcome::kEscalatedBlastRadius;
    out.reason = a.name + " already touched " + std::to_string(st.touched.size()) +
                 " distinct entities in the last hour (" + list + "; max_entities " +
                 std::to_string(a.max_entities_per_hour) + ")";
    return out;
  }

  const PlaceholderValues values = PlaceholderValues::From(d);
  Result<RunbookStep> step = BuildActionStep(a, values);
  if (!step.ok()) {
    out.preconditions.push_back({"safe_arguments", false, step.status().message()});
    out.outcome = RemediationOutcome::kEscalatedPrecondition;
    out.reason = "precondition safe_arguments failed: " + step.status().message();
    return out;
  }
  out.step = step->Describe();
  out.preconditions.push_back({"safe_arguments", true, ""});
  if (!CheckPreconditions(a, d, ctx, now, &out)) {
    out.outcome = RemediationOutcome::kEscalatedPrecondition;
    const PreconditionResult& failed = out.preconditions.back();
    out.reason = "precondition " + failed.check + " failed: " + failed.detail;
    return out;
  }

  // From here the action counts as run, dry or not.
  st.runs.push_back(now);
  st.last_run[d.entity] = now;
  st.touched[d.entity] = now;
  if (out.dry_run) {
    out.outcome = RemediationOutcome::kDryRun;
    out.reason = "dry run (" +
                 std::string(a.dry_run ? "the action has dry_run: true" : "execution is off") +
                 "): would run " + out.step;
    return out;
  }
  out.executed = true;
  out.result = executor_.Run(*step, a.timeout_ns);
  if (out.result.timed_out) {
    out.outcome = RemediationOutcome::kTimedOut;
  } else if (out.result.ok()) {
    out.outcome = RemediationOutcome::kSucceeded;
  } else {
    out.outcome = RemediationOutcome::kFailed;
  }
  out.reason = a.name + " " + std::string(RemediationOutcomeName(out.outcome)) + ": " +
               StepResultDetail(out.result);
  return out;
}

bool Remediator::CheckPreconditions(const RemediationAction& a, const Decision& d,
                                    const RemediationContext& ctx, int64_t now,
                                    ActionOutcome* out) {
  // A run that cannot be recorded must not happen.
  if (!audit_.healthy()) {
    out->preconditions.push_back(
        {"audit_writable", false, "the audit chain " + audit_.path() + " failed a write"});
    return false;
  }
  out->preconditions.push_back({"audit_writable", true, ""});
  const PlaceholderValues values = PlaceholderValues::From(d);
  for (const Precondition& p : a.preconditions) {
    PreconditionResult r;
    r.check = std::string(p.Name());
    switch (p.kind) {
      case Precondition::Kind::kCommand:
      case Precondition::Kind::kHttp: {
        Result<RunbookStep> step = BuildPreconditionStep(p, values);
        if (!step.ok()) {
          r.detail = step.status().message();
          break;
        }
        const RunbookResult res = executor_.Run(*step, p.timeout_ns);
        if (p.kind == Precondition::Kind::kCommand) {
          r.passed = res.ok();
        } else {
          r.passed = res.started && !res.timed_out && res.http_status == p.expect_status;
        }
        r.detail = step->Describe() + " -> " + StepResultDetail(res);
        if (p.kind == Precondition::Kind::kHttp && !r.passed && res.http_status != 0)
          r.detail += " (expected " + std::to_string(p.expect_status) + ")";
        break;
      }
      case Precondition::Kind::kNotInMaintenance:
        r.passed = !d.maintenance && !ctx.in_maintenance;
        r.detail = r.passed ? "not in maintenance"
                            : (d.maintenance ? "the decision is inside a maintenance window"
                                             : "the scope is inside a maintenance window");
        break;
      case Precondition::Kind::kMinConfidence:
        r.passed = ParseConfidence(d.confidence) >= p.min_confidence;
        r.detail = "confidence " + (d.confidence.empty() ? std::string("(none)") : d.confidence) +
                   ", needs " + std::string(ConfidenceName(p.min_confidence));
        break;
      case Precondition::Kind::kMaxBlastRadius:
        r.passed = ctx.blast_radius <= p.max_blast_radius;
        r.detail = "blast radius " + std::to_string(ctx.blast_radius) + ", at most " +
                   std::to_string(p.max_blast_radius);
        break;
      case Precondition::Kind::kNoRecentChange:
        if (!ctx.changes_known) {
          r.detail = "no change information is available";
        } else if (ctx.last_change_ns != 0 && Within(ctx.last_change_ns, now, p.window_ns)) {
          r.detail = "change " +
                     (ctx.last_change.empty() ? std::string("(unnamed)") : ctx.last_change) + " " +
                     Ago(ctx.last_change_ns, now) + " (window " + FormatDuration(p.window_ns) + ")";
        } else {
          r.passed = true;
          r.detail = "no change within " + FormatDuration(p.window_ns);
        }
        break;
    }
    out->preconditions.push_back(std::move(r));
    if (!out->preconditions.back().passed) return false;
  }
  return true;
}

void Remediator::Record(const Decision& d, const RemediationContext& ctx, ActionOutcome* out) {
  AuditRecordBuilder b;
  b.Str("decision_id", d.id)
      .Str("decision_ts", FormatRfc3339(d.ts_ns))
      .Str("class", d.klass)
      .Str("severity", d.severity)
      .Str("confidence", d.confidence)
      .Str("view", d.view)
      .Str("entity", d.entity)
      .Uint("blast_radius", ctx.blast_radius);
  std::string rules = "[";
  for (size_t i = 0; i < out->rules.size(); ++i) {
    if (i) rules.push_back(',');
    rules += std::to_string(out->rules[i]);
  }
  rules.push_back(']');
  b.Raw("rules", rules).Str("action", out->action);
  b.Str("outcome", RemediationOutcomeName(out->outcome)).Str("reason", out->reason);
  b.Bool("dry_run", out->dry_run);
  std::string pre = "[";
  for (size_t i = 0; i < out->preconditions.size(); ++i) {
    const PreconditionResult& p = out->preconditions[i];
    if (i) pre.push_back(',');
    pre.append("{\"check\":");
    AppendJsonString(p.check, &pre);
    pre.append(",\"passed\":");
    pre.append(p.passed ? "true" : "false");
    pre.append(",\"detail\":");
    AppendJsonString(p.detail, &pre);
    pre.push_back('}');
  }
  pre.push_back(']');
  b.Raw("preconditions", pre).Str("step", out->step);
  if (out->executed) {
    std::string result;
    AppendResultJson(out->result, &result);
    b.Raw("result", result);
  }

  const int64_t ts = clock_.NowNs();
  Result<uint64_t> seq = audit_.Append(ts, b);
  if (seq.ok()) {
    out->audit_seq = *seq;
  } else {
    out->audit_status = seq.status();
    audit_errors_.fetch_add(1, std::memory_order_relaxed);
  }

  std::string json = "{\"ts\":";
  AppendJsonString(FormatRfc3339(ts), &json);
  json += ",\"audit_seq\":" + std::to_string(out->audit_seq) + "," + b.fields() + "}";
  std::lock_guard<std::mutex> lock(recent_mu_);
  recent_.push_back(std::move(json));
  while (recent_.size() > kRecentKept) recent_.pop_front();
}

}  // namespace dnsight
