// OpsRuntime: the operations loop of `dnsight run` — what happens after a decision.
//
//   decision ──► Enrich (hosting join: host features of the nodes behind a service, and
//                the failure-domain hint) ──► AlertLifecycle (dedup, grouping, budgets,
//                maintenance, auto-resolve) ──► AlertDispatcher ──► Alertmanager /
//                webhook / JSON lines
//            └─► Remediator (policy, preconditions, limits, dry run) ──► audit chain;
//                escalations page a human through the same dispatcher
//   feedback (API) ──► FeedbackStore; "suppress" silences the alert's group
//   rows ──► RowMonitor (rows, nulls, freshness per view; moves the lifecycle's event
//                time) ──► the rest of the sink chain
//
// It also serves the API's operations endpoints (OperationsView): alerts, actions, live
// statistics sampled every 5 s for the dashboard, and /metrics.
//
// Thread-safety: the decision path (Enrich, OnDecision, OnCleared, the monitor sink) runs
// on whichever thread holds the shared LockedRowSink; API methods run on API threads;
// every shared structure has its own lock or is atomic.
// Ownership: borrows cfg, clock and everything given to Attach; all must outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "act/alert_config.h"
#include "act/alert_lifecycle.h"
#include "act/alert_sinks.h"
#include "act/audit_chain.h"
#include "act/feedback.h"
#include "act/remediation_policy.h"
#include "act/remediator.h"
#include "act/runbook.h"
#include "detect/change_events.h"
#include "detect/decision_log.h"
#include "detect/detector_sink.h"
#include "dnsight/clock.h"
#include "dnsight/source.h"
#include "engine/config.h"
#include "engine/pipeline.h"
#include "engine/row_monitor.h"
#include "hosting/hosting_runner.h"
#include "serve/http_api.h"
#include "serve/operations_view.h"
#include "store/store_sink.h"

namespace dnsight {

// What the runtime reads for statistics and metrics. Any pointer may be null.
struct OpsInputs {
  const Pipeline* pipeline = nullptr;
  const std::vector<std::unique_ptr<DnsSource>>* dns_sources = nullptr;
  const StoreRowSink* store = nullptr;
  const DetectorSink* detector = nullptr;
  const HostingRunner* hosting = nullptr;
  const ChangeEvents* changes = nullptr;
  const DecisionLog* decisions = nullptr;
};

class OpsRuntime : public OperationsView {
 public:
  // Builds the lifecycle, sinks, remediator and feedback store the config asks for.
  // Throws ConfigError (startup) for a bad alerts section or policy file; returns an
  // error for files that cannot be opened (audit chain, feedback, alert JSON lines).
  static Result<std::unique_ptr<OpsRuntime>> Create(const EngineConfig& cfg, const Clock& clock);
  ~OpsRuntime() override;

  // REQUIRES: before Start.
  void Attach(const OpsInputs& inputs) { in_ = inputs; }
  // The API's request counters, once it runs (it starts after everything else).
  void AttachApiCounters(const HttpApiCounters* counters) { api_counters_.store(counters); }
  // Starts the statistics sampler.
  void Start();
  // End of input: releases every held decision, lets the remediation worker finish its
  // queue, stops sampling and drains alert deliveries (bounded).
  void Stop();

  // A RowSink that watches rows on their way to `next` (see the header comment).
  RowSink& Monitor(RowSink& next);

  // Decision path.
  void Enrich(Decision* d) const;
  void OnDecision(const Decision& d);
  void OnCleared(const std::string& klass, const std::string& view, const std::string& entity,
                 int64_t ts_ns);

  // OperationsView.
  std::string AlertsJson(bool open_only, size_t limit) const override;
  std::string ActionsJson(size_t limit) const override;
  std::string StatsJson() const override;
  std::string MetricsText() const override;
  Status Feedback(std::string_view decision_id, std::string_view body, std::string_view user,
                  std::string* out) override;

  const AlertLifecycle& lifecycle() const { return *lifecycle_; }
  const FeedbackStore& feedback() const { return *feedback_; }

 private:
  struct Totals {  // cumulative counts read at ts_ns
    int64_t ts_ns = 0;
    uint64_t events = 0, rows = 0, decisions = 0, malformed = 0, late = 0, actions = 0;
    uint64_t alerts_open = 0;
  };
  struct Sample {  // rates over one sampling interval
    int64_t ts_ns = 0;
    double events_per_s = 0, rows_per_s = 0, decisions_per_min = 0, malformed_per_s = 0,
           late_per_s = 0, max_score = 0;
    uint64_t alerts_open = 0;
  };
  OpsRuntime(const EngineConfig& cfg, const Clock& clock);
  Totals ReadTotals() const;
  void SampleLoop();
  void Escalate(const Decision& d, const ActionOutcome& o);
  void AdvanceLifecycle();
  // Tallies every lifecycle change by class and change kind for /metrics. It rides the
  // dispatcher like any sink, so counts follow deliveries by at most the queue's delay.
  class TransitionCounter : public AlertSink {
   public:
    Status Deliver(const Alert& a) override {
      std::lock_guard lock(mu_);
      ++counts_[{a.klass, std::string(AlertChangeName(a.change))}];
      return Status::Ok();
    }
    std::string Describe() const override { return "transition counter"; }
    std::string_view Kind() const override { return "transitions"; }
    bool Accepts(const Alert& a) const override {
      return a.change != AlertChange::kNone && a.change != AlertChange::kRefresh;
    }
    std::map<std::pair<std::string, std::string>, uint64_t> counts() const {
      std::lock_guard lock(mu_);
      return counts_;
    }

   private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, std::string>, uint64_t> counts_;
  };
  TransitionCounter* transitions_ = nullptr;  // owned by the dispatcher
  void Release(const Decision& d);            // into the lifecycle and the remediation queue
  void RemediationLoop();
  void DrainPending();

  const EngineConfig& cfg_;
  const Clock& clock_;
  OpsInputs in_;
  std::atomic<const HttpApiCounters*> api_counters_{nullptr};
  std::unique_ptr<AlertDispatcher> dispatcher_;
  std::unique_ptr<AlertLifecycle> lifecycle_;
  std::unique_ptr<FeedbackStore> feedback_;
  std::unique_ptr<RemediationPolicy> policy_;
  std::unique_ptr<AuditChain> audit_;
  std::unique_ptr<SystemRunbookExecutor> executor_;
  std::unique_ptr<Remediator> remediator_;
  std::unique_ptr<RowMonitor> monitor_;

  // Decision tallies for /metrics and the dashboard.
  mutable std::mutex tally_mu_;
  std::map<std::pair<std::string, bool>, uint64_t> decisions_by_class_;
  double max_score_since_sample_ = 0;
  uint64_t escalations_ = 0;
  std::map<std::pair<std::string, std::string>, uint64_t> actions_by_kind_;  // action, outcome
  std::map<std::string, int64_t> last_escalation_;  // class|entity -> decision time
  struct Pending {
    Decision decision;  // for a clear: klass, view, entity and ts_ns only
    bool cleared = false;
  };
  std::mutex producers_mu_;                              // guards the producer times and pending_
  std::multimap<int64_t, Pending> pending_;              // by event time
  static constexpr int kProducers = 3;                   // DNS, web, host views
  int64_t producer_newest_[kProducers] = {0, 0, 0};      // newest row time seen
  int64_t producer_moved_wall_[kProducers] = {0, 0, 0};  // wall time it last moved

  // Remediation runs on its own worker (runbooks take seconds).
  static constexpr size_t kRemediationQueueCapacity = 1000;
  mutable std::mutex remediation_mu_;
  std::condition_variable remediation_cv_;
  std::deque<std::pair<Decision, RemediationContext>> remediation_queue_;
  bool remediation_stop_ = false;
  uint64_t remediation_dropped_ = 0;  // queue full; guarded by remediation_mu_
  std::thread remediation_worker_;

  // Live statistics: one sample per interval, the last hour.
  static constexpr int kSampleIntervalS = 5;
  static constexpr size_t kSamplesKept = 720;
  mutable std::mutex stats_mu_;
  std::deque<Sample> samples_;
  std::unique_ptr<Totals> last_totals_;
  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::thread sampler_;
};

}  // namespace dnsight
