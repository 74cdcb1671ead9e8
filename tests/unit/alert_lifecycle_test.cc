// AlertLifecycle on explicit event times: every test drives time with decisions and
// Advance, and reads what reached a recording sink through the real dispatcher.
#include "act/alert_lifecycle.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "act/alert_sinks.h"

namespace dnsight {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kMin = 60 * kS;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t T0 = 1'700'000'000 * kS;

// Keeps every change handed to it (it accepts all, so the tests see record-only ones too).
struct Recorded {
  std::mutex mu;
  std::vector<Alert> changes;
};

class RecordingAlertSink : public AlertSink {
 public:
  explicit RecordingAlertSink(Recorded* out) : out_(out) {}
  Status Deliver(const Alert& a) override {
    std::lock_guard lock(out_->mu);
    out_->changes.push_back(a);
    return Status::Ok();
  }
  std::string Describe() const override { return "recording"; }
  std::string_view Kind() const override { return "recording"; }
  bool Accepts(const Alert&) const override { return true; }

 private:
  Recorded* out_;
};

Decision MakeDecision(int64_t ts, const std::string& entity = "10.0.0.1",
                      const std::string& severity = "page", double score = 7,
                      const std::string& klass = "latency_rise",
                      const std::string& view = "resolver") {
  static int n = 0;
  Decision d;
  d.id = "dec-" + std::to_string(++n);
  d.ts_ns = ts;
  d.klass = klass;
  d.alert = true;
  d.severity = severity;
  d.score = score;
  d.threshold = 5;
  d.view = view;
  d.entity = entity;
  d.scope_kind = "resolver";
  d.failure_domain = "infrastructure";
  d.top_features = {{"latency_ms_p95_5m", 180 + score, 40, 0.8}};
  return d;
}

Decision Maintenance(int64_t ts, const std::string& entity = "10.0.0.1") {
  Decision d = MakeDecision(ts, entity, "info");
  d.alert = false;
  d.downgraded = true;
  d.maintenance = true;
  d.reason = "inside maintenance window mw-7 on resolver 10.0.0.1 (kernel upgrade)";
  return d;
}

class AlertLifecycleTest : public ::testing::Test {
 protected:
  void Make(AlertOptions options) {
    life_.reset();
    std::vector<std::unique_ptr<AlertSink>> sinks;
    sinks.push_back(std::make_unique<RecordingAlertSink>(&recorded_));
    dispatcher_ = std::make_unique<AlertDispatcher>(std::move(sinks));
    life_ = std::make_unique<AlertLifecycle>(std::move(options), dispatcher_.get());
  }

  static AlertOptions Defaults() {
    AlertOptions o;
    o.refresh_interval_ns = 0;  // most tests look at notifications only
    return o;
  }

  // Every change so far (and forgets them).
  std::vector<Alert> Take() {
    EXPECT_TRUE(dispatcher_->WaitIdle(std::chrono::seconds(10)));
    std::lock_guard lock(recorded_.mu);
    std::vector<Alert> out;
    out.swap(recorded_.changes);
    return out;
  }
  // Only what notifying sinks (Alertmanager, webhook) would get, refreshes apart.
  static std::vector<Alert> Notified(const std::vector<Alert>& all) {
    std::vector<Alert> out;
    for (const auto& a : all)
      if (a.notify && a.change != AlertChange::kRefresh) out.push_back(a);
    return out;
  }

  static std::vector<Alert> Opened(const std::vector<Alert>& all) {
    std::vector<Alert> out;
    for (const auto& a : all)
      if (a.change == AlertChange::kOpened) out.push_back(a);
    return out;
  }

  Recorded recorded_;
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<AlertLifecycle> life_;
};

TEST_F(AlertLifecycleTest, GroupsDecisionsWithinGroupWait) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0, "10.0.0.1", "ticket", 6));
  life_->OnDecision(MakeDecision(T0 + 5 * kS, "10.0.0.2", "ticket", 5));  // another group
  life_->OnDecision(MakeDecision(T0 + 10 * kS, "10.0.0.1", "page", 9));
  life_->Advance(T0 + 29 * kS);
  EXPECT_TRUE(Take().empty());
  ASSERT_EQ(life_->OpenAlerts().size(), 2u);  // listed while waiting

  life_->Advance(T0 + 30 * kS);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  const Alert& a = changes[0];
  EXPECT_EQ(a.change, AlertChange::kOpened);
  EXPECT_TRUE(a.notify);
  EXPECT_EQ(a.state, AlertState::kFiring);
  EXPECT_EQ(a.group_key, "latency_rise|resolver|10.0.0.1");
  EXPECT_EQ(a.decisions, 2u);
  EXPECT_EQ(a.severity, "page");  // the highest asked for while it waited
  EXPECT_EQ(a.score, 9);
  EXPECT_EQ(a.starts_ns, T0);
  EXPECT_EQ(a.last_seen_ns, T0 + 10 * kS);
  EXPECT_EQ(a.summary, "latency_rise on 10.0.0.1 (resolver): latency_ms_p95_5m=189 (baseline 40)");
  EXPECT_EQ(a.decision_ids.size(), 2u);
  EXPECT_EQ(a.id.rfind("al-", 0), 0u);
  EXPECT_EQ(a.id.size(), 19u);
  EXPECT_EQ(a.notifications, 1u);

  life_->Advance(T0 + 35 * kS);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].entity, "10.0.0.2");
  EXPECT_EQ(changes[0].severity, "ticket");
  EXPECT_EQ(life_->counters().opened.load(), 2u);
}

TEST_F(AlertLifecycleTest, FoldsDuplicatesIntoTheOpenAlert) {
  Make(Defaults());
  for (int i = 0; i <= 4; ++i) life_->OnDecision(MakeDecision(T0 + i * kMin));
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);  // opened at T0 + 30s, nothing new after
  EXPECT_EQ(changes[0].change, AlertChange::kOpened);
  auto open = life_->OpenAlerts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].decisions, 5u);
  EXPECT_EQ(open[0].id, changes[0].id);
  EXPECT_EQ(open[0].change, AlertChange::kNone);
  EXPECT_EQ(life_->counters().opened.load(), 1u);
  EXPECT_EQ(life_->counters().decisions.load(), 5u);
  EXPECT_EQ(life_->Find(open[0].id)->decisions, 5u);
}

TEST_F(AlertLifecycleTest, ReopensAFlapWithinTheDedupWindow) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0));
  life_->Advance(T0 + 30 * kS);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + kMin);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].change, AlertChange::kResolved);
  EXPECT_TRUE(changes[1].notify);
  const std::string id = changes[0].id;

  // Seen again 4 minutes after resolving (< dedup_window 5m): the same alert, at once.
  life_->OnDecision(MakeDecision(T0 + 5 * kMin));
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kReopened);
  EXPECT_TRUE(changes[0].notify);
  EXPECT_EQ(changes[0].id, id);
  EXPECT_EQ(changes[0].state, AlertState::kFiring);
  EXPECT_EQ(changes[0].ends_ns, 0);
  EXPECT_EQ(changes[0].starts_ns, T0);
  EXPECT_EQ(life_->counters().flaps.load(), 1u);
  EXPECT_EQ(life_->Recent(10).size(), 1u);

  // Cleared again; seen 6 minutes later: a new alert that waits group_wait again.
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + 6 * kMin);
  life_->OnDecision(MakeDecision(T0 + 12 * kMin));
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kResolved);
  life_->Advance(T0 + 12 * kMin + 30 * kS);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kOpened);
  EXPECT_NE(changes[0].id, id);
  EXPECT_EQ(life_->counters().flaps.load(), 1u);
  EXPECT_EQ(life_->counters().opened.load(), 2u);
  auto recent = life_->Recent(10);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].id, changes[0].id);  // newest start first
  EXPECT_EQ(recent[1].state, AlertState::kResolved);
}

TEST_F(AlertLifecycleTest, AutoResolvesWhenNotReconfirmed) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0));
  life_->OnDecision(MakeDecision(T0 + kMin));
  life_->Advance(T0 + 4 * kMin - 1);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  life_->Advance(T0 + 4 * kMin);  // last seen T0 + 1m, resolve_after 3m
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kAutoResolved);
  EXPECT_EQ(changes[0].state, AlertState::kResolved);
  EXPECT_EQ(changes[0].ends_ns, T0 + 4 * kMin);
  EXPECT_TRUE(changes[0].notify);
  EXPECT_TRUE(life_->OpenAlerts().empty());
  EXPECT_EQ(life_->counters().auto_resolved.load(), 1u);
  EXPECT_EQ(life_->counters().resolved.load(), 1u);
}

TEST_F(AlertLifecycleTest, OnClearedResolvesAtOnce) {
  Make(Defaults());
  // Cleared inside group_wait: nothing was announced, so nothing is announced now; the
  // record still gets the resolution.
  life_->OnDecision(MakeDecision(T0, "10.0.0.9"));
  life_->OnCleared("latency_rise", "resolver", "10.0.0.9", T0 + 10 * kS);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kResolved);
  EXPECT_FALSE(changes[0].notify);
  EXPECT_EQ(changes[0].notifications, 0u);
  EXPECT_EQ(changes[0].ends_ns, T0 + 10 * kS);

  // A clear older than the scope's newest decision does not resolve it.
  life_->OnDecision(MakeDecision(T0 + 20 * kMin));
  life_->Advance(T0 + 21 * kMin);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + 19 * kMin);
  EXPECT_EQ(life_->OpenAlerts().size(), 1u);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + 21 * kMin);
  EXPECT_TRUE(life_->OpenAlerts().empty());
  changes = Notified(Take());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].change, AlertChange::kResolved);
  EXPECT_EQ(changes[1].ends_ns, T0 + 21 * kMin);
}

TEST_F(AlertLifecycleTest, CoarseGroupResolvesWhenEveryScopeCleared) {
  AlertOptions o = Defaults();
  o.group_by = AlertGroupBy{true, true, false, false};
  Make(o);
  life_->OnDecision(MakeDecision(T0, "10.0.0.1"));
  life_->OnDecision(MakeDecision(T0 + kS, "10.0.0.2"));
  life_->Advance(T0 + 30 * kS);
  auto open = life_->OpenAlerts();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].group_key, "latency_rise|resolver|*");
  EXPECT_EQ(open[0].entity, "*");
  EXPECT_EQ(open[0].decisions, 2u);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + kMin);
  EXPECT_EQ(life_->OpenAlerts().size(), 1u);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.2", T0 + kMin);
  EXPECT_TRUE(life_->OpenAlerts().empty());
}

TEST_F(AlertLifecycleTest, RepeatsAFiringAlertAtMostEveryRepeatInterval) {
  AlertOptions o = Defaults();
  o.resolve_after_ns = 30 * kMin;
  Make(o);
  // Re-confirmed every 10 minutes for 2.5 hours, time advancing every minute.
  for (int64_t t = 0; t <= 150; ++t) {
    if (t % 10 == 0) life_->OnDecision(MakeDecision(T0 + t * kMin));
    life_->Advance(T0 + t * kMin + 30 * kS);
  }
  auto sent = Notified(Take());
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].change, AlertChange::kOpened);
  EXPECT_EQ(sent[1].change, AlertChange::kRepeat);
  EXPECT_EQ(sent[2].change, AlertChange::kRepeat);
  EXPECT_EQ(sent[2].notifications, 3u);
  EXPECT_EQ(life_->counters().notifications.load(), 3u);
}

TEST_F(AlertLifecycleTest, RefreshesKeepAlertmanagerAlive) {
  AlertOptions o = Defaults();
  o.refresh_interval_ns = kMin;
  Make(o);
  for (int64_t t = 0; t <= 150; t += 10) {
    if (t % 60 == 0) life_->OnDecision(MakeDecision(T0 + t * kS));
    life_->Advance(T0 + t * kS);
  }
  auto all = Take();
  int refreshes = 0;
  for (const auto& a : all) {
    if (a.change != AlertChange::kRefresh) continue;
    ++refreshes;
    EXPECT_TRUE(a.notify);
  }
  EXPECT_EQ(refreshes, 2);  // at 90s and 150s after the 30s notification
  EXPECT_EQ(life_->counters().refreshes.load(), 2u);
  EXPECT_EQ(Notified(all).size(), 1u);
  // Only sinks that expire alerts take refreshes.
  Alert r = all.back();
  ASSERT_EQ(r.change, AlertChange::kRefresh);
  ManualClock clock;
  EXPECT_TRUE(AlertmanagerSink(AlertmanagerSinkOptions{}, clock).Accepts(r));
  EXPECT_FALSE(WebhookSink(WebhookSinkOptions{}).Accepts(r));
}

TEST_F(AlertLifecycleTest, PageBudgetDowngradesToTicketAndFreesAfterAnHour) {
  AlertOptions o = Defaults();
  o.default_team = "dns";
  o.routes.push_back({{}, {"edge"}, "", "noc", ""});
  o.page_budgets["dns"] = 2;
  Make(o);
  for (int i = 0; i < 3; ++i) {  // pages sent at T0 + 30s, 1m 30s, 2m 30s
    life_->OnDecision(MakeDecision(T0 + i * kMin, "10.0.0." + std::to_string(i + 1)));
    life_->Advance(T0 + i * kMin + 30 * kS);
  }
  auto sent = Notified(Take());
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].severity, "page");
  EXPECT_EQ(sent[1].severity, "page");
  EXPECT_FALSE(sent[1].downgraded);
  EXPECT_EQ(sent[2].severity, "ticket");  // the third page in the hour: sent, as a ticket
  EXPECT_EQ(sent[2].original_severity, "page");
  EXPECT_TRUE(sent[2].downgraded);
  EXPECT_NE(sent[2].reason.find("team 'dns'"), std::string::npos) << sent[2].reason;
  EXPECT_NE(sent[2].reason.find("2 pages per hour"), std::string::npos) << sent[2].reason;
  EXPECT_EQ(life_->counters().downgraded_budget.load(), 1u);

  // Sliding hour: the first page (T0 + 30s) leaves it at T0 + 1h 30s, the second
  // (T0 + 1m 30s) at T0 + 1h 1m 30s.
  life_->OnDecision(MakeDecision(T0 + kHour, "10.0.0.4"));
  life_->Advance(T0 + kHour + 30 * kS);
  sent = Opened(Take());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].severity, "page");
  EXPECT_FALSE(sent[0].downgraded);
  life_->OnDecision(MakeDecision(T0 + kHour + 40 * kS, "10.0.0.5"));
  life_->Advance(T0 + kHour + 70 * kS);
  sent = Opened(Take());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].severity, "ticket");
  EXPECT_EQ(life_->counters().downgraded_budget.load(), 2u);
  life_->OnDecision(MakeDecision(T0 + kHour + 2 * kMin, "10.0.0.6"));
  life_->Advance(T0 + kHour + 2 * kMin + 30 * kS);
  sent = Opened(Take());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].severity, "page");

  // Teams without a budget page freely.
  for (int i = 0; i < 4; ++i)
    life_->OnDecision(
        MakeDecision(T0 + 2 * kHour, "e" + std::to_string(i), "page", 7, "latency_rise", "edge"));
  life_->Advance(T0 + 2 * kHour + 30 * kS);
  sent = Opened(Take());
  ASSERT_EQ(sent.size(), 4u);
  for (const auto& a : sent) {
    EXPECT_EQ(a.team, "noc");
    EXPECT_EQ(a.severity, "page");
  }
}

TEST_F(AlertLifecycleTest, EscalationToPageIsASeverityChange) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0, "10.0.0.1", "ticket"));
  life_->Advance(T0 + 30 * kS);
  life_->OnDecision(MakeDecision(T0 + kMin, "10.0.0.1", "page"));
  auto sent = Notified(Take());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].severity, "ticket");
  EXPECT_EQ(sent[1].change, AlertChange::kSeverity);
  EXPECT_EQ(sent[1].severity, "page");
}

TEST_F(AlertLifecycleTest, MaintenanceKeepsTheAlertSuppressed) {
  Make(Defaults());
  life_->OnDecision(Maintenance(T0));
  life_->Advance(T0 + 30 * kS);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kSuppressed);
  EXPECT_FALSE(changes[0].notify);
  EXPECT_EQ(changes[0].state, AlertState::kSuppressed);
  EXPECT_TRUE(changes[0].downgraded);
  EXPECT_NE(changes[0].reason.find("maintenance window mw-7"), std::string::npos);
  EXPECT_EQ(life_->OpenAlerts()[0].state, AlertState::kSuppressed);
  EXPECT_EQ(life_->counters().suppressed.load(), 1u);

  // More maintenance decisions fold in silently.
  life_->OnDecision(Maintenance(T0 + kMin));
  EXPECT_TRUE(Take().empty());
  // The window ended and the condition holds: firing, announced.
  life_->OnDecision(MakeDecision(T0 + 2 * kMin));
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kUnsuppressed);
  EXPECT_TRUE(changes[0].notify);
  EXPECT_EQ(changes[0].state, AlertState::kFiring);
  EXPECT_EQ(changes[0].severity, "page");
  EXPECT_FALSE(changes[0].downgraded);
  // A firing alert entering maintenance is suppressed, recorded only.
  life_->OnDecision(Maintenance(T0 + 3 * kMin));
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kSuppressed);
  EXPECT_FALSE(changes[0].notify);
  EXPECT_EQ(life_->counters().suppressed.load(), 2u);
}

TEST_F(AlertLifecycleTest, SilenceSuppressesUntilItEnds) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0));
  life_->Advance(T0 + 30 * kS);
  const std::string key = life_->OpenAlerts()[0].group_key;
  Take();
  life_->Silence(key, T0 + kHour, "false alarm, resolver restart");
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kSuppressed);
  EXPECT_FALSE(changes[0].notify);
  EXPECT_NE(changes[0].reason.find("false alarm, resolver restart"), std::string::npos);

  for (int i = 1; i <= 58; ++i) {
    life_->OnDecision(MakeDecision(T0 + i * kMin));
    life_->Advance(T0 + i * kMin + 30 * kS);
  }
  EXPECT_TRUE(Notified(Take()).empty());  // no repeats, no refreshes while silenced
  EXPECT_EQ(life_->OpenAlerts()[0].decisions, 59u);
  life_->Advance(T0 + kHour);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kUnsuppressed);
  EXPECT_TRUE(changes[0].notify);
  EXPECT_EQ(changes[0].reason.find("silenced"), std::string::npos);

  // A silence set before the group's next alert makes that alert open suppressed.
  Decision other = MakeDecision(T0 + 2 * kHour, "10.0.0.2");
  life_->Silence(life_->GroupKey(other), T0 + 3 * kHour, "known");
  life_->OnDecision(other);
  life_->Advance(T0 + 2 * kHour + 30 * kS);
  changes = Take();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().entity, "10.0.0.2");
  EXPECT_EQ(changes.back().change, AlertChange::kSuppressed);
  EXPECT_FALSE(changes.back().notify);
}

TEST_F(AlertLifecycleTest, MinNotifySeverityKeepsInfoAlertsOutOfNotifyingSinks) {
  Make(Defaults());
  life_->OnDecision(MakeDecision(T0, "10.0.0.1", "info"));
  Decision quiet = MakeDecision(T0, "10.0.0.2");
  quiet.alert = false;  // informational decision: left to the decision log
  life_->OnDecision(quiet);
  life_->Advance(T0 + 30 * kS);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].severity, "info");
  EXPECT_EQ(changes[0].change, AlertChange::kOpened);
  EXPECT_FALSE(changes[0].notify);
  EXPECT_EQ(life_->OpenAlerts().size(), 1u);
  EXPECT_EQ(life_->counters().ignored.load(), 1u);
  life_->OnCleared("latency_rise", "resolver", "10.0.0.1", T0 + kMin);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].notify);  // never announced, so its end is not either

  AlertOptions o = Defaults();
  o.min_notify_severity = AlertSeverity::kInfo;
  Make(o);
  life_->OnDecision(MakeDecision(T0, "10.0.0.1", "info"));
  life_->Advance(T0 + 30 * kS);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].notify);

  o.min_notify_severity = AlertSeverity::kPage;
  Make(o);
  life_->OnDecision(MakeDecision(T0, "10.0.0.1", "ticket"));
  life_->Advance(T0 + 30 * kS);
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].notify);
}

TEST_F(AlertLifecycleTest, RoutesToTeams) {
  AlertOptions o = Defaults();
  o.default_team = "dns";
  o.routes.push_back({{"latency_rise"}, {}, ".example.com", "edge", ""});
  o.routes.push_back({{}, {"client"}, "", "abuse", ""});
  o.group_by = AlertGroupBy{true, false, false, true};
  Make(o);
  EXPECT_EQ(life_->RouteTeam("latency_rise", "domain", "www.example.com"), "edge");
  EXPECT_EQ(life_->RouteTeam("latency_rise", "domain", "example.com"), "dns");
  EXPECT_EQ(life_->RouteTeam("nxdomain_spike", "domain", "www.example.com"), "dns");
  EXPECT_EQ(life_->RouteTeam("tunnelling", "client", "192.0.2.1"), "abuse");
  EXPECT_EQ(life_->RouteTeam("latency_rise", "client", "a.example.com"), "edge");  // first wins

  life_->OnDecision(MakeDecision(T0, "www.example.com", "page", 7, "latency_rise", "domain"));
  life_->OnDecision(MakeDecision(T0, "api.example.com", "page", 8, "latency_rise", "domain"));
  life_->OnDecision(MakeDecision(T0, "other.net", "page", 7, "latency_rise", "domain"));
  life_->Advance(T0 + 30 * kS);
  auto sent = Notified(Take());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].group_key, "latency_rise|*|*|dns");
  EXPECT_EQ(sent[0].team, "dns");
  EXPECT_EQ(sent[1].group_key, "latency_rise|*|*|edge");
  EXPECT_EQ(sent[1].team, "edge");
  EXPECT_EQ(sent[1].decisions, 2u);
  EXPECT_EQ(sent[1].summary.rfind("latency_rise on api.example.com (domain)", 0), 0u);
}

TEST_F(AlertLifecycleTest, LateDecisionsDoNotMoveTimeBack) {
  Make(Defaults());
  life_->Advance(T0 + kHour);
  life_->OnDecision(MakeDecision(T0 + kHour - 10 * kS));
  EXPECT_EQ(life_->now_ns(), T0 + kHour);
  life_->Advance(T0 + kHour + 20 * kS);
  auto changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].starts_ns, T0 + kHour - 10 * kS);
  // Far too late to matter: opened and auto-resolved straight away, never announced.
  life_->OnDecision(MakeDecision(T0, "10.0.0.3"));
  changes = Take();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, AlertChange::kAutoResolved);
  EXPECT_FALSE(changes[0].notify);
}

TEST_F(AlertLifecycleTest, WorksWithoutADispatcher) {
  AlertLifecycle life(Defaults(), nullptr);
  life.OnDecision(MakeDecision(T0));
  life.Advance(T0 + 30 * kS);
  ASSERT_EQ(life.OpenAlerts().size(), 1u);
  EXPECT_EQ(life.OpenAlerts()[0].notifications, 1u);
  EXPECT_EQ(life.counters().notifications.load(), 1u);
}

}  // namespace
}  // namespace dnsight
