#include "act/alert_lifecycle.h"

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "act/alert_sinks.h"
#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr int64_t kHourNs = 3'600'000'000'000;

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// "<class> on <entity> (<view>): <top feature>=<value> (baseline <b>)"
std::string Summary(const Decision& d) {
  std::string s = d.klass + " on " + d.entity + " (" + d.view + ")";
  if (!d.top_features.empty()) {
    const FeatureContribution& f = d.top_features.front();
    s += ": " + f.name + "=" + FormatValue(f.value);
    if (std::isfinite(f.baseline)) s += " (baseline " + FormatValue(f.baseline) + ")";
  }
  return s;
}

AlertSeverity SeverityOf(const Decision& d) {
  // Rules are validated at config load; anything else notifies without paging.
  return ParseAlertSeverity(d.severity).value_or(AlertSeverity::kTicket);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool Listed(const std::vector<std::string>& list, const std::string& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

std::string_view AlertSeverityName(AlertSeverity s) {
  switch (s) {
    case AlertSeverity::kPage:
      return "page";
    case AlertSeverity::kTicket:
      return "ticket";
    case AlertSeverity::kInfo:
      return "info";
  }
  return "info";
}

std::optional<AlertSeverity> ParseAlertSeverity(std::string_view s) {
  if (s == "page") return AlertSeverity::kPage;
  if (s == "ticket") return AlertSeverity::kTicket;
  if (s == "info") return AlertSeverity::kInfo;
  return std::nullopt;
}

struct AlertLifecycle::Entry {
  Alert alert;
  AlertSeverity asked = AlertSeverity::kInfo;  // highest severity the decisions asked for
  bool pending = true;                         // first notification not yet due (group_wait)
  int64_t notify_at_ns = 0;                    // when it is
  int64_t last_sent_ns = 0;                    // newest notification, for repeat_interval
  int64_t last_refresh_ns = 0;
  bool maintenance = false;             // the newest decision was a maintenance one
  bool maintenance_downgraded = false;  // ... and said it was downgraded
  bool page_counted = false;            // a page of this alert went against the budget
  bool budget_downgraded = false;
  std::string decision_reason;  // of the newest decision
  std::string budget_reason;
  // What the sinks were last told, to spot severity changes.
  std::string sent_severity;
  bool sent_downgraded = false;
  // "view|entity" of each scope that fed the alert -> its newest decision time.
  std::map<std::string, int64_t> scopes;
  bool scopes_overflow = false;
};

AlertLifecycle::AlertLifecycle(AlertOptions options, AlertDispatcher* dispatcher)
    : options_(std::move(options)), dispatcher_(dispatcher) {}

AlertLifecycle::~AlertLifecycle() = default;

std::string AlertLifecycle::RouteTeam(const std::string& klass, const std::string& view,
                                      const std::string& entity) const {
  for (const AlertRoute& r : options_.routes) {
    if (Listed(r.classes, klass) && Listed(r.views, view) && EndsWith(entity, r.entity_suffix))
      return r.team;
  }
  return options_.default_team;
}

std::string AlertLifecycle::GroupKey(const Decision& d) const {
  const AlertGroupBy& g = options_.group_by;
  std::string key = g.klass ? d.klass : "*";
  key += '|';
  key += g.view ? d.view : "*";
  key += '|';
  key += g.entity ? d.entity : "*";
  if (g.team) key += '|' + RouteTeam(d.klass, d.view, d.entity);
  return key;
}

int64_t AlertLifecycle::now_ns() const {
  std::lock_guard lock(mu_);
  return now_ns_;
}

const AlertLifecycle::SilenceEntry* AlertLifecycle::SilenceFor(const std::string& key) const {
  const auto it = silences_.find(key);
  return it != silences_.end() && it->second.until_ns > now_ns_ ? &it->second : nullptr;
}

AlertState AlertLifecycle::Desired(const Entry& e) const {
  return e.maintenance || SilenceFor(e.alert.group_key) != nullptr ? AlertState::kSuppressed
                                                                   : AlertState::kFiring;
}

bool AlertLifecycle::Notifiable(const Entry& e) const {
  // By what the decisions asked for: a page sent as a ticket over budget is still sent.
  return e.alert.state == AlertState::kFiring && e.asked >= options_.min_notify_severity;
}

void AlertLifecycle::RefreshDerived(Entry& e) {
  Alert& a = e.alert;
  AlertSeverity effective = e.asked;
  if (e.budget_downgraded && effective == AlertSeverity::kPage) effective = AlertSeverity::kTicket;
  a.severity = std::string(AlertSeverityName(effective));
  a.original_severity = std::string(AlertSeverityName(e.asked));
  a.downgraded = e.budget_downgraded || (e.maintenance && e.maintenance_downgraded);
  std::vector<std::string> parts;
  if (const SilenceEntry* s = SilenceFor(a.group_key))
    parts.push_back("silenced until " + FormatRfc3339(s->until_ns) +
                    (s->reason.empty() ? "" : ": " + s->reason));
  if (e.budget_downgraded) parts.push_back(e.budget_reason);
  if (!e.decision_reason.empty()) parts.push_back(e.decision_reason);
  a.reason.clear();
  for (const auto& p : parts) a.reason += (a.reason.empty() ? "" : "; ") + p;
}

void AlertLifecycle::Emit(Entry& e, AlertChange change, bool notify) {
  if (change == AlertChange::kRefresh) {
    counters_.refreshes.fetch_add(1, std::memory_order_relaxed);
  } else {
    if (notify) {
      counters_.notifications.fetch_add(1, std::memory_order_relaxed);
      ++e.alert.notifications;
    }
    e.sent_severity = e.alert.severity;
    e.sent_downgraded = e.alert.downgraded;
  }
  if (dispatcher_ == nullptr) return;
  Alert copy = e.alert;
  copy.change = change;
  copy.notify = notify;
  dispatcher_->Enqueue(std::move(copy));
}

void AlertLifecycle::ApplyBudget(Entry& e) {
  if (e.asked != AlertSeverity::kPage || e.page_counted || e.budget_downgraded ||
      e.alert.state != AlertState::kFiring)
    return;
  const auto budget = options_.page_budgets.find(e.alert.team);
  if (budget == options_.page_budgets.end()) {
    e.page_counted = true;
    return;
  }
  std::deque<int64_t>& times = page_times_[e.alert.team];
  while (!times.empty() && times.front() <= now_ns_ - kHourNs) times.pop_front();
  if (static_cast<int64_t>(times.size()) >= budget->second) {
    e.budget_downgraded = true;
    e.budget_reason = "page budget of team '" + e.alert.team + "' spent (" +
                      std::to_string(budget->second) + " pages per hour): sent as ticket";
    counters_.downgraded_budget.fetch_add(1, std::memory_order_relaxed);
  } else {
    times.push_back(now_ns_);
    e.page_counted = true;
  }
  RefreshDerived(e);
}

void AlertLifecycle::Notify(Entry& e, AlertChange change) {
  ApplyBudget(e);
  const bool notify = Notifiable(e);
  if (notify) {
    e.last_sent_ns = now_ns_;
    e.last_refresh_ns = now_ns_;
  }
  Emit(e, change, notify);
}

void AlertLifecycle::Reconcile(Entry& e) {
  RefreshDerived(e);
  const AlertState desired = Desired(e);
  if (e.pending) {
    e.alert.state = desired;  // nothing was sent yet; the first notification tells all
    return;
  }
  if (desired == AlertState::kSuppressed) {
    if (e.alert.state != AlertState::kSuppressed) {
      e.alert.state = AlertState::kSuppressed;
      counters_.suppressed.fetch_add(1, std::memory_order_relaxed);
      Emit(e, AlertChange::kSuppressed, false);
    }
    return;
  }
  if (e.alert.state == AlertState::kSuppressed) {
    e.alert.state = AlertState::kFiring;
    Notify(e, AlertChange::kUnsuppressed);
    return;
  }
  ApplyBudget(e);
  if (e.alert.severity != e.sent_severity || e.alert.downgraded != e.sent_downgraded)
    Notify(e, AlertChange::kSeverity);
}

void AlertLifecycle::Resolve(Entry& e, int64_t ends_ns, bool automatic) {
  Alert& a = e.alert;
  a.state = AlertState::kResolved;
  a.ends_ns = std::max(ends_ns, a.starts_ns);
  e.pending = false;
  e.scopes.clear();
  e.scopes_overflow = false;
  counters_.resolved.fetch_add(1, std::memory_order_relaxed);
  if (automatic) counters_.auto_resolved.fetch_add(1, std::memory_order_relaxed);
  // Notifying sinks hear of the end only of what they heard fire.
  Emit(e, automatic ? AlertChange::kAutoResolved : AlertChange::kResolved, a.notifications > 0);
  recent_resolved_.push_back(a);
  while (recent_resolved_.size() > options_.recent_capacity) recent_resolved_.pop_front();
}

AlertLifecycle::OpenMap::iterator AlertLifecycle::Close(OpenMap::iterator it) {
  // Kept for re-opening; beyond the open-alert bound a flap just opens a new alert.
  if (options_.dedup_window_ns > 0 && resolved_.size() < options_.max_open_alerts)
    resolved_[it->first] = std::move(it->second);
  return open_.erase(it);
}

bool AlertLifecycle::RunDue(Entry& e) {
  Reconcile(e);  // a silence may have expired
  const int64_t resolve_at = e.alert.last_seen_ns + options_.resolve_after_ns;
  // An alert whose condition lapsed before it was due is never announced (a decision that
  // arrived very late, or time that jumped).
  if (e.pending && now_ns_ >= e.notify_at_ns && now_ns_ < resolve_at) {
    e.pending = false;
    if (e.alert.state == AlertState::kSuppressed) {
      counters_.suppressed.fetch_add(1, std::memory_order_relaxed);
      Emit(e, AlertChange::kSuppressed, false);
    } else {
      Notify(e, AlertChange::kOpened);
    }
  }
  if (now_ns_ >= resolve_at) {
    Resolve(e, resolve_at, true);
    return true;
  }
  if (e.pending || !Notifiable(e)) return false;
  if (now_ns_ - e.last_sent_ns >= options_.repeat_interval_ns) {
    Notify(e, AlertChange::kRepeat);
  } else if (options_.refresh_interval_ns > 0 &&
             now_ns_ - e.last_refresh_ns >= options_.refresh_interval_ns) {
    e.last_refresh_ns = now_ns_;
    Emit(e, AlertChange::kRefresh, true);
  }
  return false;
}

void AlertLifecycle::AdvanceLocked(int64_t now_ns) {
  if (now_ns <= now_ns_) return;
  now_ns_ = now_ns;
  for (auto it = silences_.begin(); it != silences_.end();)
    it = it->second.until_ns <= now_ns_ ? silences_.erase(it) : std::next(it);
  for (auto it = resolved_.begin(); it != resolved_.end();) {
    const bool expired = it->second->alert.ends_ns + options_.dedup_window_ns <= now_ns_;
    it = expired ? resolved_.erase(it) : std::next(it);
  }
  for (auto it = open_.begin(); it != open_.end();)
    it = RunDue(*it->second) ? Close(it) : std::next(it);
}

void AlertLifecycle::Advance(int64_t now_ns) {
  std::lock_guard lock(mu_);
  AdvanceLocked(now_ns);
}

void AlertLifecycle::OnDecision(const Decision& d) {
  std::lock_guard lock(mu_);
  counters_.decisions.fetch_add(1, std::memory_order_relaxed);
  AdvanceLocked(d.ts_ns);
  const bool maintenance = d.maintenance || (d.downgraded && !d.alert);
  if (!d.alert && !maintenance) {
    counters_.ignored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::string key = GroupKey(d);
  auto it = open_.find(key);
  bool reopened = false;
  if (it == open_.end()) {
    auto old = resolved_.find(key);
    if (old != resolved_.end() && old->second->alert.ends_ns + options_.dedup_window_ns > now_ns_) {
      // A flap: the same alert again, announced at once (its group already waited).
      it = open_.emplace(key, std::move(old->second)).first;
      resolved_.erase(old);
      const std::string& id = it->second->alert.id;
      std::erase_if(recent_resolved_, [&](const Alert& a) { return a.id == id; });
      it->second->alert.ends_ns = 0;
      counters_.flaps.fetch_add(1, std::memory_order_relaxed);
      reopened = true;
    } else {
      if (old != resolved_.end()) resolved_.erase(old);
      if (open_.size() >= options_.max_open_alerts) {
        counters_.over_capacity.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      auto e = std::make_unique<Entry>();
      Alert& a = e->alert;
      const AlertGroupBy& g = options_.group_by;
      a.group_key = key;
      a.klass = g.klass ? d.klass : "*";
      a.view = g.view ? d.view : "*";
      a.entity = g.entity ? d.entity : "*";
      a.scope_kind = d.scope_kind;
      a.team = RouteTeam(d.klass, d.view, d.entity);
      a.starts_ns = d.ts_ns;
      a.score = d.score;
      const std::string id_key = key + '|' + std::to_string(d.ts_ns);
      a.id = "al-" + Hex64(XXH3_64bits(id_key.data(), id_key.size()));
      e->notify_at_ns = d.ts_ns + options_.group_wait_ns;
      it = open_.emplace(key, std::move(e)).first;
      counters_.opened.fetch_add(1, std::memory_order_relaxed);
    }
  }
  Entry& e = *it->second;
  Alert& a = e.alert;

  // Fold the decision in.
  ++a.decisions;
  a.last_seen_ns = std::max(a.last_seen_ns, d.ts_ns);
  if (!d.id.empty()) {
    a.decision_ids.push_back(d.id);
    if (a.decision_ids.size() > options_.max_decision_ids)
      a.decision_ids.erase(
          a.decision_ids.begin(),
          a.decision_ids.end() - static_cast<ptrdiff_t>(options_.max_decision_ids));
  }
  if (maintenance) {
    e.maintenance = true;
    e.maintenance_downgraded = d.downgraded;
  } else {
    e.maintenance = false;
    e.maintenance_downgraded = false;
    e.asked = std::max(e.asked, SeverityOf(d));
  }
  if (a.decisions == 1 || d.score >= a.score || a.summary.empty()) {
    a.score = std::max(a.score, d.score);
    a.summary = Summary(d);
    if (!d.failure_domain.empty()) a.failure_domain = d.failure_domain;
  }
  e.decision_reason = d.reason;  // the newest decision's word, even when it has none
  if (!e.scopes_overflow) {
    int64_t& seen = e.scopes[d.view + '|' + d.entity];
    seen = std::max(seen, d.ts_ns);
    if (e.scopes.size() > options_.max_scopes_per_alert) {
      e.scopes.clear();
      e.scopes_overflow = true;
    }
  }

  if (reopened) {
    e.pending = false;
    RefreshDerived(e);
    e.alert.state = Desired(e);
    if (e.alert.state == AlertState::kSuppressed) {
      counters_.suppressed.fetch_add(1, std::memory_order_relaxed);
      Emit(e, AlertChange::kSuppressed, false);
    } else {
      Notify(e, AlertChange::kReopened);
    }
  }
  // A late decision may already be past group_wait, or even resolve_after.
  if (RunDue(e)) Close(it);
}

void AlertLifecycle::OnCleared(const std::string& klass, const std::string& view,
                               const std::string& entity, int64_t ts_ns) {
  std::lock_guard lock(mu_);
  AdvanceLocked(ts_ns);
  Decision probe;
  probe.klass = klass;
  probe.view = view;
  probe.entity = entity;
  const auto it = open_.find(GroupKey(probe));
  if (it == open_.end()) return;
  Entry& e = *it->second;
  if (e.scopes_overflow) return;  // cannot tell which scopes still hold; resolve_after will
  const auto scope = e.scopes.find(view + '|' + entity);
  if (scope == e.scopes.end()) return;
  if (ts_ns < scope->second) return;  // a newer decision re-confirmed this scope
  e.scopes.erase(scope);
  if (!e.scopes.empty()) return;
  Resolve(e, ts_ns, false);
  Close(it);
}

void AlertLifecycle::Silence(const std::string& group_key, int64_t until_ns,
                             const std::string& reason) {
  std::lock_guard lock(mu_);
  if (until_ns <= now_ns_) {
    silences_.erase(group_key);
  } else {
    silences_[group_key] = SilenceEntry{until_ns, reason};
  }
  const auto it = open_.find(group_key);
  if (it != open_.end()) Reconcile(*it->second);
}

namespace {

bool NewestFirst(const Alert& x, const Alert& y) {
  return x.starts_ns != y.starts_ns ? x.starts_ns > y.starts_ns : x.id < y.id;
}

}  // namespace

std::vector<Alert> AlertLifecycle::OpenAlerts() const {
  std::vector<Alert> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(open_.size());
    for (const auto& [key, e] : open_) out.push_back(e->alert);
  }
  std::sort(out.begin(), out.end(), NewestFirst);
  return out;
}

std::vector<Alert> AlertLifecycle::Recent(size_t limit) const {
  std::vector<Alert> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(open_.size() + recent_resolved_.size());
    for (const auto& [key, e] : open_) out.push_back(e->alert);
    out.insert(out.end(), recent_resolved_.begin(), recent_resolved_.end());
  }
  std::sort(out.begin(), out.end(), NewestFirst);
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<Alert> AlertLifecycle::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, e] : open_)
    if (e->alert.id == id) return e->alert;
  for (auto it = recent_resolved_.rbegin(); it != recent_resolved_.rend(); ++it)
    if (it->id == id) return *it;
  return std::nullopt;
}

}  // namespace dnsight
