// AlertLifecycle: turns the detector's decisions into alerts and their state changes.
//
// Decisions whose group key (by default class|view|entity) matches an open alert fold
// into it; a new group waits group_wait before its first notification so related
// decisions fold in too. An alert stays open while decisions re-confirm it and resolves
// when the detector says the condition cleared (OnCleared) or when nothing re-confirmed it
// for resolve_after. A group seen again less than dedup_window after its alert resolved
// re-opens the same alert (a flap). Pages are routed to a team and limited per team by a
// sliding-hour budget (over budget: sent as a ticket, never dropped). Maintenance
// decisions and operator silences keep an alert suppressed: listed, recorded, not sent
// as firing. Each state change goes to the AlertDispatcher (alert_sinks.h), which hands
// it to the sinks that want it. See src/act/README.md, "Alert lifecycle".
//
// Time: the lifecycle never reads a clock. It runs on event time: decisions carry their
// ts_ns, and Advance(now_ns) moves time on (the engine calls it with the watermark).
// Time never goes back; a late decision folds in without moving it. Timers due at time
// t run before a decision at t.
//
// Thread-safety: every method takes one mutex, so the detector thread (OnDecision,
// OnCleared, Advance), API threads (OpenAlerts, Recent, Silence) and metrics (counters)
// may call concurrently. Changes are enqueued under that mutex, in order. The dispatcher,
// if any, must outlive the lifecycle.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "act/alert.h"
#include "detect/decision.h"

namespace dnsight {

class AlertDispatcher;

// Severity tiers, ordered: page > ticket > info.
enum class AlertSeverity : uint8_t { kInfo = 0, kTicket = 1, kPage = 2 };
std::string_view AlertSeverityName(AlertSeverity s);
// "page", "ticket", "info"; nullopt otherwise.
std::optional<AlertSeverity> ParseAlertSeverity(std::string_view s);

// Which scope fields make up the group key. Fields left out are written "*" in the key
// and in the alert's view/entity, so one alert covers every value of them.
struct AlertGroupBy {
  bool klass = true;
  bool view = true;
  bool entity = true;
  bool team = false;
};

// First matching route (in order) names the owning team. Empty lists match anything.
struct AlertRoute {
  std::vector<std::string> classes;
  std::vector<std::string> views;
  // The entity ends with this (plain suffix: ".example.com" matches "a.example.com", not
  // "example.com"). "" matches any entity.
  std::string entity_suffix;
  std::string team;
  std::string where;  // config file:line, for messages
};

struct AlertOptions {
  // A new group's first notification waits this long so related decisions fold into
  // it. Cost: every first notification is this much later.
  int64_t group_wait_ns = 30'000'000'000;
  // Group key fields (default class + view + entity). Coarser grouping means fewer,
  // broader alerts; an alert without entity lists the concrete scope only in its summary.
  AlertGroupBy group_by;
  // A decision of a group whose alert resolved less than this ago re-opens that alert
  // (counted as a flap) instead of opening a new one. Cost: a resolved alert's state is
  // kept this long. 0 = never re-open.
  int64_t dedup_window_ns = 300'000'000'000;
  // An open alert not re-confirmed by a decision for this long auto-resolves. Set it
  // above the detector's renotify interval (detect.renotify, default 15m), or an ongoing
  // condition resolves between its decisions and comes back as a new alert; OnCleared
  // normally resolves first. Cost: a condition that stopped without a clear signal keeps
  // its alert open this long.
  int64_t resolve_after_ns = 180'000'000'000;
  // A firing alert is re-sent to the sinks at most this often while it lasts.
  int64_t repeat_interval_ns = 3'600'000'000'000;
  // A firing alert is re-sent to sinks that expire alerts (Alertmanager, whose endsAt is
  // now + resolve_timeout) this often. Must be well below their resolve_timeout. Cost:
  // one POST per firing alert per interval. 0 = off.
  int64_t refresh_interval_ns = 60'000'000'000;
  // Alerts below this severity are kept and listed (and recorded by the JSON lines sink)
  // but not sent to notifying sinks.
  AlertSeverity min_notify_severity = AlertSeverity::kTicket;
  std::vector<AlertRoute> routes;
  std::string default_team;  // when no route matches ("" = unrouted)
  // team -> pages per sliding hour. A page over budget is sent as a ticket, downgraded
  // with a reason naming the team and the budget. Teams not listed have no limit.
  std::map<std::string, int64_t> page_budgets;
  // Bounds. Decisions of new groups beyond max_open_alerts are counted (over_capacity)
  // and not tracked; as many resolved alerts at most are kept for re-opening. Cost: about
  // 2 KB per open (or recently resolved) alert.
  size_t max_open_alerts = 10'000;
  size_t recent_capacity = 1'000;       // resolved alerts kept for Recent()
  size_t max_decision_ids = 10;         // newest decision ids kept per alert
  size_t max_scopes_per_alert = 1'000;  // see OnCleared
};

// Counters; readable from any thread.
struct AlertLifecycleCounters {
  std::atomic<uint64_t> decisions{0};          // decisions offered
  std::atomic<uint64_t> ignored{0};            // alert=false and neither maintenance nor downgraded
  std::atomic<uint64_t> opened{0};             // new alerts
  std::atomic<uint64_t> resolved{0};           // every resolution, auto_resolved included
  std::atomic<uint64_t> auto_resolved{0};      // not re-confirmed for resolve_after
  std::atomic<uint64_t> flaps{0};              // resolved alerts re-opened within dedup_window
  std::atomic<uint64_t> downgraded_budget{0};  // pages sent as tickets (team budget spent)
  std::atomic<uint64_t> suppressed{0};         // changes into the suppressed state
  std::atomic<uint64_t> notifications{0};      // changes sent with notify=true (refreshes apart)
  std::atomic<uint64_t> refreshes{0};          // keep-alive re-sends
  std::atomic<uint64_t> over_capacity{0};      // decisions of new groups past max_open_alerts
};

class AlertLifecycle {
 public:
  // `dispatcher` may be null: alerts are then kept and listed but sent nowhere.
  explicit AlertLifecycle(AlertOptions options, AlertDispatcher* dispatcher = nullptr);
  ~AlertLifecycle();
  AlertLifecycle(const AlertLifecycle&) = delete;
  AlertLifecycle& operator=(const AlertLifecycle&) = delete;

  // Folds a decision in (after Advance(d.ts_ns)). Kinds of decision:
  //   alert=true                       opens or re-confirms a firing alert at d.severity
  //   maintenance, or downgraded with
  //   alert=false                      opens or keeps the alert suppressed, d.reason shown
  //   any other alert=false            ignored (counted): the detector's informational
  //                                    output stays in the decision log
  // An alert=true decision with severity "info" makes an info alert: kept, listed and
  // recorded, not notified (below min_notify_severity). Unknown severities count as ticket.
  void OnDecision(const Decision& d);
  // The detector says the condition of (klass, view, entity) cleared at ts_ns: its alert
  // resolves at once. When the group key leaves out view or entity, the alert resolves
  // once every scope that fed it has cleared (an alert fed by more than
  // max_scopes_per_alert scopes waits for resolve_after instead).
  void OnCleared(const std::string& klass, const std::string& view, const std::string& entity,
                 int64_t ts_ns);
  // Moves time on to now_ns (no-op if not later) and runs what is due: first
  // notifications after group_wait, repeats, refreshes, auto-resolves, expired silences.
  // O(open alerts) per call.
  void Advance(int64_t now_ns);
  // Operator silence: decisions of this group fold into a suppressed alert until
  // until_ns; an open alert of the group is suppressed at once. A silence whose until_ns
  // is not after now lifts an earlier one at once.
  void Silence(const std::string& group_key, int64_t until_ns, const std::string& reason);

  // The group key a decision belongs to, e.g. "latency_rise|resolver|10.0.0.1".
  std::string GroupKey(const Decision& d) const;
  // The team a scope routes to.
  std::string RouteTeam(const std::string& klass, const std::string& view,
                        const std::string& entity) const;

  // Snapshots (copies, change = kNone). Open: firing and suppressed, newest start first.
  std::vector<Alert> OpenAlerts() const;
  // Open and recently resolved alerts, newest start first, at most `limit`.
  std::vector<Alert> Recent(size_t limit) const;
  // An open or recently resolved alert by id.
  std::optional<Alert> Find(const std::string& id) const;
  // The lifecycle's time: the newest time seen (0 before any).
  int64_t now_ns() const;

  const AlertLifecycleCounters& counters() const { return counters_; }
  const AlertOptions& options() const { return options_; }

 private:
  struct Entry;
  struct SilenceEntry {
    int64_t until_ns;
    std::string reason;
  };

  // All private methods REQUIRE mu_ held.
  void AdvanceLocked(int64_t now_ns);
  using OpenMap = std::map<std::string, std::unique_ptr<Entry>>;
  // Runs what is due for one open alert; true when it resolved (the caller closes it).
  bool RunDue(Entry& e);
  // Brings state and severity in line with maintenance, silences and severity, sending
  // what changed.
  void Reconcile(Entry& e);
  void Notify(Entry& e, AlertChange change);
  void Emit(Entry& e, AlertChange change, bool notify);
  void Resolve(Entry& e, int64_t ends_ns, bool automatic);
  // Moves a resolved alert from open_ to resolved_ (for re-opening).
  OpenMap::iterator Close(OpenMap::iterator it);
  void ApplyBudget(Entry& e);
  void RefreshDerived(Entry& e);
  bool Notifiable(const Entry& e) const;
  AlertState Desired(const Entry& e) const;
  const SilenceEntry* SilenceFor(const std::string& key) const;

  const AlertOptions options_;
  AlertDispatcher* const dispatcher_;
  AlertLifecycleCounters counters_;

  mutable std::mutex mu_;
  int64_t now_ns_ = 0;  // guarded by mu_
  OpenMap open_;        // by group key; guarded by mu_
  // Resolved less than dedup_window ago, by group key, for re-opening; guarded by mu_.
  OpenMap resolved_;
  std::deque<Alert> recent_resolved_;  // newest last, at most recent_capacity; guarded by mu_
  std::map<std::string, SilenceEntry> silences_;           // guarded by mu_
  std::map<std::string, std::deque<int64_t>> page_times_;  // per team; guarded by mu_
};

}  // namespace dnsight
