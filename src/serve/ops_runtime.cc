#include "serve/ops_runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/time_util.h"
#include "detect/eval.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

// Threshold test for one host feature; appends "name=value" to *why when crossed.
void Check(const std::vector<std::string>& names, const std::vector<double>& values,
           const char* feature, double limit, std::string* why) {
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (names[i] != feature || !std::isfinite(values[i]) || values[i] < limit) continue;
    if (!why->empty()) *why += ", ";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s=%.3g (>= %.3g)", feature, values[i], limit);
    *why += buf;
  }
}

NodeContext MakeNodeContext(const NodeHostFeatures& h, const HostDegradedThresholds& t) {
  NodeContext n;
  n.node = h.node;
  n.ts_ns = h.ts_ns;
  const auto& names = HostFeatureNames();
  for (size_t i = 0; i < names.size() && i < h.values.size(); ++i)
    n.features.emplace_back(names[i], h.values[i]);
  Check(names, h.values, "cpu_steal_ratio", t.cpu_steal_ratio, &n.why);
  Check(names, h.values, "cpu_iowait_ratio", t.cpu_iowait_ratio, &n.why);
  Check(names, h.values, "load1_per_core", t.load1_per_core, &n.why);
  Check(names, h.values, "memory_pressure", t.memory_pressure, &n.why);
  Check(names, h.values, "disk_io_busy_ratio", t.disk_io_busy_ratio, &n.why);
  Check(names, h.values, "tcp_retrans_ratio", t.tcp_retrans_ratio, &n.why);
  Check(names, h.values, "net_drops_per_s", t.net_drops_per_s, &n.why);
  Check(names, h.values, "restarts", t.restarts, &n.why);
  n.degraded = !n.why.empty();
  return n;
}

bool IsBuiltinView(const EngineConfig& cfg, const std::string& name, const char* builtin) {
  for (const auto& v : cfg.views)
    if (v.name == name) return v.builtin == builtin;
  return false;
}

constexpr int64_t kDefaultSuppressNs = 4 * 3'600'000'000'000;  // feedback.h: "default 4h"

}  // namespace

OpsRuntime::OpsRuntime(const EngineConfig& cfg, const Clock& clock) : cfg_(cfg), clock_(clock) {}

OpsRuntime::~OpsRuntime() {
  Stop();
}

Result<std::unique_ptr<OpsRuntime>> OpsRuntime::Create(const EngineConfig& cfg,
                                                       const Clock& clock) {
  std::unique_ptr<OpsRuntime> ops(new OpsRuntime(cfg, clock));
  AlertConfig alerts;
  if (cfg.ops.alerts) alerts = ParseAlertConfig(*cfg.ops.alerts);
  auto sinks = MakeAlertSinks(alerts, clock);
  if (!sinks.ok()) return sinks.status();
  auto counter = std::make_unique<TransitionCounter>();
  ops->transitions_ = counter.get();
  sinks->push_back(std::move(counter));
  ops->dispatcher_ = std::make_unique<AlertDispatcher>(std::move(sinks.value()), alerts.dispatch);
  ops->lifecycle_ = std::make_unique<AlertLifecycle>(alerts.options, ops->dispatcher_.get());
  auto feedback = FeedbackStore::Open(cfg.ops.feedback);
  if (!feedback.ok()) return feedback.status();
  ops->feedback_ = std::move(feedback.value());
  // Suppressions given before a restart still hold: re-apply those not yet over, in the
  // event time of the decision they judged.
  for (const dnsight::Feedback& f : ops->feedback_->All()) {
    if (f.verdict != Verdict::kSuppress || f.entity.empty()) continue;
    const int64_t for_ns = f.suppress_for_ns > 0 ? f.suppress_for_ns : kDefaultSuppressNs;
    if (f.ts_ns + for_ns <= clock.NowNs()) continue;
    Decision key;
    key.klass = f.klass;
    key.view = f.view;
    key.entity = f.entity;
    ops->lifecycle_->Silence(ops->lifecycle_->GroupKey(key), f.decision_ts_ns + for_ns,
                             "suppressed by " + f.user + (f.note.empty() ? "" : ": " + f.note));
  }
  if (!cfg.ops.remediation_policy.empty()) {
    ops->policy_ = std::make_unique<RemediationPolicy>(
        RemediationPolicy::LoadFile(cfg.ops.remediation_policy));
    auto audit = AuditChain::Open(cfg.ops.remediation_audit);
    if (!audit.ok())
      return Status(audit.status().code(), "remediation audit " + cfg.ops.remediation_audit + ": " +
                                               audit.status().message());
    ops->audit_ = std::move(audit.value());
    ops->executor_ = std::make_unique<SystemRunbookExecutor>();
    OpsRuntime* self = ops.get();
    ops->remediator_ = std::make_unique<Remediator>(
        *ops->policy_, clock, *ops->audit_, *ops->executor_, cfg.ops.remediation_execute,
        [self](const Decision& d, const ActionOutcome& o) { self->Escalate(d, o); });
  }
  return ops;
}

RowSink& OpsRuntime::Monitor(RowSink& next) {
  // After rows were scored (their decisions are in), timers may run.
  monitor_ = std::make_unique<RowMonitor>(next, cfg_.views.size(),
                                          [this](int64_t) { AdvanceLifecycle(); });
  return *monitor_;
}

void OpsRuntime::Enrich(Decision* d) const {
  if (in_.hosting == nullptr) return;
  const HostDegradedThresholds& t = cfg_.hosts.degraded;
  if (IsBuiltinView(cfg_, d->view, "web")) {
    std::vector<NodeHostFeatures> hosts;
    if (d->view == "web_service") {
      hosts = in_.hosting->HostContext(d->entity);
    } else {
      for (auto& h : in_.hosting->AllHosts())
        if (h.node == d->entity) hosts.push_back(std::move(h));
    }
    bool degraded = false;
    size_t scraped = 0;
    for (const auto& h : hosts) {
      d->nodes.push_back(MakeNodeContext(h, t));
      degraded = degraded || d->nodes.back().degraded;
      scraped += h.ts_ns > 0 ? 1 : 0;
    }
    // The hint: sick hosts point at infrastructure; a DNS alert open on the service's
    // name points at DNS config; otherwise the application itself.
    std::string dns_alert;
    for (const Alert& a : lifecycle_->OpenAlerts()) {
      if (IsBuiltinView(cfg_, a.view, "web") || IsBuiltinView(cfg_, a.view, "host")) continue;
      const bool covers =
          a.entity == d->entity ||
          (d->entity.size() > a.entity.size() &&
           d->entity.compare(d->entity.size() - a.entity.size(), a.entity.size(), a.entity) == 0 &&
           d->entity[d->entity.size() - a.entity.size() - 1] == '.');
      if (covers) dns_alert = a.klass + " on " + a.entity;
    }
    std::string hint;
    if (degraded) {
      d->failure_domain = "infrastructure";
      hint = "nodes behind it are degraded";
    } else if (!dns_alert.empty()) {
      d->failure_domain = "dns_config";
      hint = "DNS alert open: " + dns_alert;
    } else {
      d->failure_domain = "application";
      hint = scraped == 0 ? "no host data for its nodes" : "its nodes look healthy";
    }
    if (!d->reason.empty()) d->reason += "; ";
    d->reason += "failure domain " + d->failure_domain + ": " + hint;
  } else if (IsBuiltinView(cfg_, d->view, "host")) {
    d->failure_domain = "infrastructure";
  }
}

void OpsRuntime::OnDecision(const Decision& d) {
  {
    std::lock_guard lock(tally_mu_);
    ++decisions_by_class_[{d.klass, d.alert}];
    max_score_since_sample_ =
        std::max(max_score_since_sample_, d.threshold > 0 ? d.score / d.threshold : 0);
  }
  std::lock_guard lock(producers_mu_);
  pending_.emplace(d.ts_ns, Pending{d, false});
}

void OpsRuntime::Release(const Decision& d) {
  lifecycle_->OnDecision(d);
  if (remediator_ == nullptr || !d.alert) return;
  RemediationContext ctx;
  ctx.blast_radius = 0;
  for (const Alert& a : lifecycle_->OpenAlerts())
    if (a.klass == d.klass && a.state != AlertState::kResolved) ++ctx.blast_radius;
  ctx.blast_radius = std::max<uint64_t>(ctx.blast_radius, 1);
  ctx.in_maintenance = d.maintenance;
  if (in_.changes != nullptr) {
    ctx.changes_known = true;
    const std::string scope[] = {d.entity};
    if (auto c = in_.changes->RecentChange(scope, d.ts_ns, 86'400'000'000'000)) {
      ctx.last_change_ns = c->ts_ns;
      ctx.last_change = c->kind + " " + c->id;
    }
  }
  // Runbooks and their precondition probes take seconds: they run on the remediation
  // worker, never on the row path (which holds the ingest lock).
  std::lock_guard lock(remediation_mu_);
  if (remediation_queue_.size() >= kRemediationQueueCapacity) {
    ++remediation_dropped_;  // counted on /metrics; the alert itself still fires
    return;
  }
  remediation_queue_.emplace_back(d, std::move(ctx));
  remediation_cv_.notify_one();
}

void OpsRuntime::RemediationLoop() {
  while (true) {
    std::pair<Decision, RemediationContext> job;
    {
      std::unique_lock lock(remediation_mu_);
      remediation_cv_.wait(lock, [&] { return remediation_stop_ || !remediation_queue_.empty(); });
      if (remediation_queue_.empty()) return;  // stopping, and drained
      job = std::move(remediation_queue_.front());
      remediation_queue_.pop_front();
    }
    const ActionOutcome o = remediator_->Handle(job.first, job.second);
    std::lock_guard lock(tally_mu_);
    ++actions_by_kind_[{o.action.empty() ? "none" : o.action,
                        std::string(RemediationOutcomeName(o.outcome))}];
  }
}

void OpsRuntime::DrainPending() {
  // End of input: every producer is done, so every held decision goes in, in order.
  std::lock_guard lock(producers_mu_);
  int64_t newest = 0;
  for (int64_t t : producer_newest_) newest = std::max(newest, t);
  for (auto& [ts, p] : pending_) {
    newest = std::max(newest, ts);
    if (p.cleared) {
      lifecycle_->OnCleared(p.decision.klass, p.decision.view, p.decision.entity, p.decision.ts_ns);
    } else {
      Release(p.decision);
    }
  }
  pending_.clear();
  if (newest > 0) lifecycle_->Advance(newest);
}

void OpsRuntime::AdvanceLifecycle() {
  // The lifecycle's clock is event time merged over the producers, like a watermark: the
  // oldest of the DNS engine's and the web engine's newest rows, so a replay in which one
  // input runs ahead cannot resolve the other's alerts before they were announced.
  // Decisions wait in pending_ until the merged time reaches them. A producer that has
  // not moved for kIdleWallNs of wall time (ended, or quiet) stops holding the clock back.
  constexpr int64_t kIdleWallNs = 30'000'000'000;
  const int64_t wall = clock_.NowNs();
  std::lock_guard lock(producers_mu_);
  int64_t newest[kProducers] = {0, 0, 0};  // dns, web, host
  const auto& per = monitor_->per_view();
  for (size_t v = 0; v < per.size(); ++v) {
    const std::string& b = cfg_.views[v].builtin;
    const int idx = b.empty() ? 0 : b == "web" ? 1 : 2;
    if (idx >= 0)
      newest[idx] = std::max(newest[idx], per[v].newest.load(std::memory_order_relaxed));
  }
  int64_t t = INT64_MAX, any = 0;
  for (int i = 0; i < kProducers; ++i) {
    if (newest[i] == 0) continue;
    if (newest[i] != producer_newest_[i]) {
      producer_newest_[i] = newest[i];
      producer_moved_wall_[i] = wall;
    }
    any = std::max(any, newest[i]);
    if (wall - producer_moved_wall_[i] < kIdleWallNs) t = std::min(t, newest[i]);
  }
  if (any == 0) return;
  // Decisions and clears up to the merged time go in, in event-time order, then timers.
  const int64_t now = t == INT64_MAX ? any : t;
  while (!pending_.empty() && pending_.begin()->first <= now) {
    const Pending p = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    if (p.cleared) {
      lifecycle_->OnCleared(p.decision.klass, p.decision.view, p.decision.entity, p.decision.ts_ns);
    } else {
      Release(p.decision);
    }
  }
  lifecycle_->Advance(now);
}

void OpsRuntime::OnCleared(const std::string& klass, const std::string& view,
                           const std::string& entity, int64_t ts_ns) {
  Pending p;
  p.cleared = true;
  p.decision.klass = klass;
  p.decision.view = view;
  p.decision.entity = entity;
  p.decision.ts_ns = ts_ns;
  std::lock_guard lock(producers_mu_);
  pending_.emplace(ts_ns, std::move(p));
}

void OpsRuntime::Escalate(const Decision& d, const ActionOutcome& o) {
  {
    // One page per scope and class per hour: the audit log keeps every escalation.
    std::lock_guard lock(tally_mu_);
    ++escalations_;
    if (last_escalation_.size() >= 10'000)  // forget scopes quiet for an hour
      std::erase_if(last_escalation_,
                    [&](const auto& kv) { return d.ts_ns - kv.second >= 3'600'000'000'000; });
    int64_t& last = last_escalation_[d.klass + "|" + d.entity];
    if (last != 0 && d.ts_ns - last < 3'600'000'000'000) return;
    last = d.ts_ns;
  }
  if (dispatcher_ == nullptr) return;
  Alert a;
  a.group_key = "escalation|" + d.klass + "|" + d.entity;
  a.id = "esc-" + d.id;
  a.klass = "remediation_escalated";
  a.view = d.view;
  a.entity = d.entity;
  a.scope_kind = d.scope_kind;
  a.team = lifecycle_->RouteTeam(d.klass, d.view, d.entity);
  a.severity = a.original_severity = "page";
  a.failure_domain = d.failure_domain;
  a.summary = "remediation needs a human: " + d.klass + " on " + d.entity;
  a.reason = std::string(RemediationOutcomeName(o.outcome)) + ": " + o.reason;
  a.score = d.score;
  a.starts_ns = a.last_seen_ns = d.ts_ns;
  a.decisions = 1;
  a.decision_ids = {d.id};
  a.change = AlertChange::kOpened;
  a.notify = true;
  dispatcher_->Enqueue(std::move(a));
}

std::string OpsRuntime::AlertsJson(bool open_only, size_t limit) const {
  std::vector<Alert> alerts = open_only ? lifecycle_->OpenAlerts() : lifecycle_->Recent(limit);
  if (alerts.size() > limit) alerts.resize(limit);
  std::string out = "{\"alerts\":[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    if (i) out += ",\n";
    AppendAlertJson(alerts[i], &out);
  }
  out += "]}\n";
  return out;
}

std::string OpsRuntime::ActionsJson(size_t limit) const {
  std::string out = "{\"actions\":[";
  if (remediator_ != nullptr) {
    const auto recent = remediator_->Recent(limit);
    for (size_t i = 0; i < recent.size(); ++i) {
      if (i) out += ",\n";
      out += recent[i];
    }
  }
  out += "]}\n";
  return out;
}

Status OpsRuntime::Feedback(std::string_view decision_id, std::string_view body,
                            std::string_view user, std::string* out) {
  dnsight::Feedback f;
  if (Status s = ParseFeedbackJson(body, decision_id, &f); !s.ok()) return s;
  f.user = std::string(user);  // the authenticated caller, whatever the body says
  f.ts_ns = clock_.NowNs();
  // Tie the verdict to the decision, so its label outlives the decision log's ring.
  std::optional<Decision> decision;
  if (in_.decisions != nullptr) {
    if (const auto json = in_.decisions->FindJson(f.decision_id)) {
      Decision d;
      if (ParseDecisionLine(*json, &d).ok()) decision = d;
    }
  }
  if (!decision) return Status::NotFound("no recent decision " + f.decision_id);
  f.klass = decision->klass;
  f.view = decision->view;
  f.entity = decision->entity;
  f.decision_ts_ns = decision->ts_ns;
  f.evidence_from_ns = decision->evidence_from_ns;
  if (Status s = feedback_->Record(f); !s.ok()) return s;
  if (f.verdict == Verdict::kSuppress) {
    Decision key = *decision;
    const int64_t for_ns = f.suppress_for_ns > 0 ? f.suppress_for_ns : kDefaultSuppressNs;
    const int64_t from = std::max(lifecycle_->now_ns(), decision->ts_ns);
    lifecycle_->Silence(lifecycle_->GroupKey(key), from + for_ns,
                        "suppressed by " + f.user + (f.note.empty() ? "" : ": " + f.note));
  }
  AppendFeedbackJson(f, out);
  out->push_back('\n');
  return Status::Ok();
}

}  // namespace dnsight
