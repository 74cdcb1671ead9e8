// OpsRuntime's statistics: the 5-second samples behind /v1/stats and the /metrics text.
#include <cmath>

#include "common/time_util.h"
#include "engine/row_writer.h"
#include "serve/ops_runtime.h"
#include "serve/prom_exposition.h"

namespace dnsight {

OpsRuntime::Totals OpsRuntime::ReadTotals() const {
  Totals t;
  t.ts_ns = clock_.NowNs();
  if (in_.pipeline != nullptr) {
    for (const SourceCounters& s : in_.pipeline->source_counters()) {
      t.events += s.observations;
      t.late += s.late_dropped + s.late_admitted;
      for (const auto& [reason, n] : s.malformed) t.malformed += n;
    }
  }
  if (in_.hosting != nullptr) {
    for (const auto& c : in_.hosting->counters()) {
      t.events += c.parsed;
      for (const auto& [reason, n] : c.malformed) t.malformed += n;
    }
    t.late += in_.hosting->web_counters().late_dropped;
  }
  if (monitor_ != nullptr)
    for (const auto& v : monitor_->per_view()) t.rows += v.rows.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(tally_mu_);
    for (const auto& [k, n] : decisions_by_class_) t.decisions += n;
  }
  if (remediator_ != nullptr)
    for (uint64_t n : remediator_->Counts()) t.actions += n;
  if (remediator_ != nullptr) t.actions -= remediator_->count(RemediationOutcome::kSkippedNoAlert);
  t.alerts_open = lifecycle_->OpenAlerts().size();
  return t;
}

void OpsRuntime::Start() {
  last_totals_ = std::make_unique<Totals>(ReadTotals());
  sampler_ = std::thread([this] { SampleLoop(); });
  if (remediator_ != nullptr) remediation_worker_ = std::thread([this] { RemediationLoop(); });
}

void OpsRuntime::Stop() {
  if (stop_.exchange(true)) return;
  if (monitor_ != nullptr) DrainPending();
  {
    std::lock_guard lock(remediation_mu_);
    remediation_stop_ = true;
  }
  remediation_cv_.notify_all();
  if (remediation_worker_.joinable()) remediation_worker_.join();
  { std::lock_guard lock(sleep_mu_); }
  sleep_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  if (dispatcher_) dispatcher_->Stop(std::chrono::seconds(5));
}

void OpsRuntime::SampleLoop() {
  while (true) {
    {
      std::unique_lock lock(sleep_mu_);
      sleep_cv_.wait_for(lock, std::chrono::seconds(kSampleIntervalS),
                         [&] { return stop_.load(); });
      if (stop_.load()) return;
    }
    if (monitor_ != nullptr) AdvanceLifecycle();  // quiet inputs: let timers run
    const Totals now = ReadTotals();
    const Totals& prev = *last_totals_;
    const double dt = static_cast<double>(now.ts_ns - prev.ts_ns) / 1e9;
    if (dt <= 0) continue;
    Sample s;
    s.ts_ns = now.ts_ns;
    const auto rate = [&](uint64_t a, uint64_t b) { return static_cast<double>(a - b) / dt; };
    s.events_per_s = rate(now.events, prev.events);
    s.rows_per_s = rate(now.rows, prev.rows);
    s.decisions_per_min = rate(now.decisions, prev.decisions) * 60;
    s.malformed_per_s = rate(now.malformed, prev.malformed);
    s.late_per_s = rate(now.late, prev.late);
    s.alerts_open = now.alerts_open;
    {
      std::lock_guard lock(tally_mu_);
      s.max_score = max_score_since_sample_;
      max_score_since_sample_ = 0;
    }
    *last_totals_ = now;
    std::lock_guard lock(stats_mu_);
    samples_.push_back(s);
    if (samples_.size() > kSamplesKept) samples_.pop_front();
  }
}

std::string OpsRuntime::StatsJson() const {
  const Totals totals = ReadTotals();
  std::string out = "{\"now\":\"" + FormatRfc3339(totals.ts_ns) + "\"";
  out += ",\"interval_s\":" + std::to_string(kSampleIntervalS) + ",\"series\":{";
  {
    std::lock_guard lock(stats_mu_);
    const auto series = [&](const char* name, auto get, bool last = false) {
      out += "\"";
      out += name;
      out += "\":[";
      for (size_t i = 0; i < samples_.size(); ++i) {
        if (i) out += ',';
        AppendJsonNumber(get(samples_[i]), &out);
      }
      out += last ? "]" : "],";
    };
    series("t", [](const Sample& s) { return static_cast<double>(s.ts_ns / 1'000'000'000); });
    series("events_per_s", [](const Sample& s) { return s.events_per_s; });
    series("rows_per_s", [](const Sample& s) { return s.rows_per_s; });
    series("decisions_per_min", [](const Sample& s) { return s.decisions_per_min; });
    series("alerts_open", [](const Sample& s) { return static_cast<double>(s.alerts_open); });
    series("max_score", [](const Sample& s) { return s.max_score; });
    series("malformed_per_s", [](const Sample& s) { return s.malformed_per_s; });
    series(
        "late_per_s", [](const Sample& s) { return s.late_per_s; }, true);
  }
  out += "},\"totals\":{\"events\":" + std::to_string(totals.events) +
         ",\"rows\":" + std::to_string(totals.rows) +
         ",\"decisions\":" + std::to_string(totals.decisions) +
         ",\"alerts_open\":" + std::to_string(totals.alerts_open) +
         ",\"actions\":" + std::to_string(totals.actions) +
         ",\"malformed\":" + std::to_string(totals.malformed) + "},\"models\":[";
  if (in_.detector != nullptr) {
    bool first = true;
    for (const auto& r : in_.detector->RuleReports()) {
      if (!first) out += ',';
      first = false;
      out += "{\"rule\":";
      AppendJsonString(r.name, &out);
      out += ",\"kind\":";
      AppendJsonString(r.kind, &out);
      out += ",\"model\":";
      AppendJsonString(r.model, &out);
      out += ",\"version\":";
      AppendJsonString(r.version, &out);
      out += ",\"psi\":";
      AppendJsonNumber(r.scores.psi, &out);
      out += '}';
    }
  }
  out += "]}\n";
  return out;
}

std::string OpsRuntime::MetricsText() const {
  using T = PromExposition::Type;
  PromExposition m;
  const int64_t now = clock_.NowNs();
  const auto age_s = [&](int64_t ts) { return ts > 0 ? static_cast<double>(now - ts) / 1e9 : NAN; };

  m.Family("dnsight_ingest_events_total", T::kCounter, "Events accepted per source.");
  if (in_.pipeline != nullptr)
    for (const auto& s : in_.pipeline->source_counters())
      m.Sample("dnsight_ingest_events_total", {{"source", s.name}},
               static_cast<double>(s.observations));
  std::vector<HostingSourceCounters> hosting;
  if (in_.hosting != nullptr) hosting = in_.hosting->counters();
  for (const auto& c : hosting)
    m.Sample("dnsight_ingest_events_total", {{"source", c.name}}, static_cast<double>(c.parsed));

  m.Family("dnsight_ingest_malformed_total", T::kCounter,
           "Malformed inputs per source and reason.");
  if (in_.pipeline != nullptr)
    for (const auto& s : in_.pipeline->source_counters())
      for (const auto& [reason, n] : s.malformed)
        m.Sample("dnsight_ingest_malformed_total", {{"source", s.name}, {"reason", reason}},
                 static_cast<double>(n));
  for (const auto& c : hosting)
    for (const auto& [reason, n] : c.malformed)
      m.Sample("dnsight_ingest_malformed_total", {{"source", c.name}, {"reason", reason}},
               static_cast<double>(n));

  m.Family("dnsight_ingest_late_events_total", T::kCounter,
           "Events behind the watermark: admitted within lateness, or dropped to the side output.");
  if (in_.pipeline != nullptr) {
    for (const auto& s : in_.pipeline->source_counters()) {
      m.Sample("dnsight_ingest_late_events_total",
               {{"source", s.name}, {"disposition", "admitted"}},
               static_cast<double>(s.late_admitted));
      m.Sample("dnsight_ingest_late_events_total", {{"source", s.name}, {"disposition", "dropped"}},
               static_cast<double>(s.late_dropped));
    }
  }
  if (in_.hosting != nullptr)
    m.Sample("dnsight_ingest_late_events_total", {{"source", "web"}, {"disposition", "dropped"}},
             static_cast<double>(in_.hosting->web_counters().late_dropped));

  m.Family(
      "dnsight_ingest_lag_seconds", T::kGauge,
      "Wall time minus the newest event time seen, per hosting source and for the DNS engine.");
  for (const auto& c : hosting)
    if (c.newest_event_ns > 0)
      m.Sample("dnsight_ingest_lag_seconds", {{"source", c.name}}, age_s(c.newest_event_ns));

  if (monitor_ != nullptr) {
    const auto& per = monitor_->per_view();
    int64_t dns_newest = 0;
    for (size_t v = 0; v < per.size(); ++v)
      if (cfg_.views[v].builtin.empty())
        dns_newest = std::max(dns_newest, per[v].newest.load(std::memory_order_relaxed));
    if (dns_newest > 0)
      m.Sample("dnsight_ingest_lag_seconds", {{"source", "dns"}}, age_s(dns_newest));
    m.Family("dnsight_data_freshness_seconds", T::kGauge,
             "Age of the newest feature row per view (wall time minus its window end).");
    for (size_t v = 0; v < per.size(); ++v)
      if (const int64_t t = per[v].newest.load(std::memory_order_relaxed); t > 0)
        m.Sample("dnsight_data_freshness_seconds", {{"view", cfg_.views[v].name}}, age_s(t));
    m.Family("dnsight_feature_rows_total", T::kCounter, "Feature rows emitted per view.");
    for (size_t v = 0; v < per.size(); ++v)
      m.Sample("dnsight_feature_rows_total", {{"view", cfg_.views[v].name}},
               static_cast<double>(per[v].rows.load(std::memory_order_relaxed)));
    m.Family("dnsight_feature_null_ratio", T::kGauge,
             "Share of feature values that were null (NaN) per view, since start.");
    for (size_t v = 0; v < per.size(); ++v) {
      const double values = static_cast<double>(per[v].values.load(std::memory_order_relaxed));
      m.Sample("dnsight_feature_null_ratio", {{"view", cfg_.views[v].name}},
               values > 0
                   ? static_cast<double>(per[v].nulls.load(std::memory_order_relaxed)) / values
                   : 0);
    }
    m.Family("dnsight_feature_schema_errors_total", T::kCounter,
             "Rows whose width did not match their view's feature list.");
    for (size_t v = 0; v < per.size(); ++v)
      m.Sample("dnsight_feature_schema_errors_total", {{"view", cfg_.views[v].name}},
               static_cast<double>(per[v].schema_errors.load(std::memory_order_relaxed)));
  }

  if (in_.pipeline != nullptr) {
    // Live: only the ingest side (the shards' state belongs to their threads).
    const PipelineCounters c = in_.pipeline->IngestCounters();
    m.Family("dnsight_engine_rejected_total", T::kCounter, "Events rejected at normalization.");
    for (const auto& [reason, n] : c.rejected)
      m.Sample("dnsight_engine_rejected_total", {{"reason", reason}}, static_cast<double>(n));
    m.Family("dnsight_engine_out_of_range_total", T::kCounter,
             "Events outside engine.accept_from/to (backfill ranges).");
    m.Sample("dnsight_engine_out_of_range_total", static_cast<double>(c.out_of_range));
  }
  if (in_.store != nullptr) {
    const StoreSinkCounters s = in_.store->counters();
    m.Family("dnsight_store_errors_total", T::kCounter, "Feature store write errors.");
    m.Sample("dnsight_store_errors_total", static_cast<double>(s.errors));
    m.Family("dnsight_store_offline_rows_total", T::kCounter,
             "Rows appended to the offline store.");
    m.Sample("dnsight_store_offline_rows_total", static_cast<double>(s.offline_rows));
  }

  if (in_.detector != nullptr) {
    const auto reports = in_.detector->RuleReports();
    m.Family("dnsight_detector_score", T::kHistogram,
             "Detector scores as multiples of their rule's threshold (1 = at the threshold).");
    for (const auto& r : reports)
      m.Histogram("dnsight_detector_score", {{"rule", r.name}}, ScoreSnapshot::kBounds,
                  r.scores.cumulative, r.scores.count, r.scores.sum);
    m.Family("dnsight_detector_score_psi", T::kGauge,
             "Population stability index of recent scores against the reference distribution.");
    for (const auto& r : reports)
      if (std::isfinite(r.scores.psi))
        m.Sample("dnsight_detector_score_psi",
                 {{"rule", r.name}, {"reference", r.scores.reference}}, r.scores.psi);
    m.Family("dnsight_model_info", T::kGauge, "The model and version behind each rule (value 1).");
    for (const auto& r : reports)
      m.Sample("dnsight_model_info",
               {{"rule", r.name}, {"kind", r.kind}, {"model", r.model}, {"version", r.version}}, 1);
    m.Family("dnsight_top_feature_total", T::kCounter,
             "Decisions whose top contributing feature was this one.");
    for (const auto& r : reports)
      for (const auto& [feature, n] : r.top_feature_counts)
        m.Sample("dnsight_top_feature_total", {{"rule", r.name}, {"feature", feature}},
                 static_cast<double>(n));
  }
  {
    std::lock_guard lock(tally_mu_);
    m.Family("dnsight_decisions_total", T::kCounter, "Decisions per class and alert flag.");
    for (const auto& [k, n] : decisions_by_class_)
      m.Sample("dnsight_decisions_total",
               {{"class", k.first}, {"alert", k.second ? "true" : "false"}},
               static_cast<double>(n));
    m.Family("dnsight_remediation_escalations_total", T::kCounter,
             "Remediations that failed closed and paged a human.");
    m.Sample("dnsight_remediation_escalations_total", static_cast<double>(escalations_));
  }

  m.Family("dnsight_alerts_open", T::kGauge, "Open alerts by severity and state.");
  std::map<std::pair<std::string, std::string>, uint64_t> open;
  for (const Alert& a : lifecycle_->OpenAlerts())
    ++open[{a.severity, std::string(AlertStateName(a.state))}];
  for (const char* sev : {"page", "ticket", "info"})
    for (const char* st : {"firing", "suppressed"})
      m.Sample("dnsight_alerts_open", {{"severity", sev}, {"state", st}},
               static_cast<double>(open[{sev, st}]));
  m.Family("dnsight_alert_transitions_total", T::kCounter,
           "Alert lifecycle changes by class; state is the change (opened, repeat, severity, "
           "reopened, suppressed, unsuppressed, resolved, auto_resolved).");
  if (transitions_ != nullptr)
    for (const auto& [k, n] : transitions_->counts())
      m.Sample("dnsight_alert_transitions_total", {{"class", k.first}, {"state", k.second}},
               static_cast<double>(n));
  const AlertLifecycleCounters& lc = lifecycle_->counters();
  m.Family("dnsight_alert_budget_downgrades_total", T::kCounter,
           "Pages sent as tickets because their team's page budget was spent.");
  m.Sample("dnsight_alert_budget_downgrades_total",
           static_cast<double>(lc.downgraded_budget.load()));
  m.Family("dnsight_alert_notifications_total", T::kCounter,
           "Alert deliveries per sink and result.");
  if (dispatcher_ != nullptr) {
    for (const auto& s : dispatcher_->SinkStats()) {
      if (s.sink == "transitions") continue;  // the metrics' own tally, not a delivery
      m.Sample("dnsight_alert_notifications_total", {{"sink", s.sink}, {"result", "delivered"}},
               static_cast<double>(s.delivered));
      m.Sample("dnsight_alert_notifications_total", {{"sink", s.sink}, {"result", "failed"}},
               static_cast<double>(s.failed));
      m.Sample("dnsight_alert_notifications_total", {{"sink", s.sink}, {"result", "retried"}},
               static_cast<double>(s.retried));
    }
    m.Sample(
        "dnsight_alert_notifications_total", {{"sink", "queue"}, {"result", "dropped"}},
        static_cast<double>(dispatcher_->dropped_queue_full() + dispatcher_->dropped_stopped()));
  }

  const FeedbackCounts fc = feedback_->counts();
  m.Family("dnsight_feedback_total", T::kCounter, "Operator verdicts (the latest per decision).");
  m.Sample("dnsight_feedback_total", {{"verdict", "accept"}}, static_cast<double>(fc.accepted));
  m.Sample("dnsight_feedback_total", {{"verdict", "suppress"}}, static_cast<double>(fc.suppressed));
  m.Sample("dnsight_feedback_total", {{"verdict", "reclassify"}},
           static_cast<double>(fc.reclassified));
  m.Family("dnsight_feedback_precision", T::kGauge,
           "Accepted verdicts over all verdicts: how often judged decisions were right.");
  m.Sample("dnsight_feedback_precision", fc.Precision());

  if (remediator_ != nullptr) {
    m.Family("dnsight_remediation_actions_total", T::kCounter,
             "Remediation decisions by action (none: no action selected) and outcome.");
    std::lock_guard lock(tally_mu_);
    for (const auto& [k, n] : actions_by_kind_)
      m.Sample("dnsight_remediation_actions_total", {{"action", k.first}, {"outcome", k.second}},
               static_cast<double>(n));
    {
      std::lock_guard queue_lock(remediation_mu_);
      m.Family("dnsight_remediation_queue_dropped_total", T::kCounter,
               "Alerting decisions not offered to remediation because its queue was full.");
      m.Sample("dnsight_remediation_queue_dropped_total",
               static_cast<double>(remediation_dropped_));
    }
    m.Family("dnsight_remediation_audit_errors_total", T::kCounter, "Audit records not written.");
    m.Sample("dnsight_remediation_audit_errors_total",
             static_cast<double>(remediator_->audit_errors()));
  }

  if (in_.changes != nullptr) {
    m.Family("dnsight_change_events_total", T::kCounter, "Change events received, by kind.");
    for (const auto& [kind, n] : in_.changes->CountsByKind())
      m.Sample("dnsight_change_events_total", {{"kind", kind}}, static_cast<double>(n));
    m.Family("dnsight_maintenance_active", T::kGauge, "Maintenance windows open now (event time).");
    m.Sample("dnsight_maintenance_active",
             static_cast<double>(in_.changes->ActiveMaintenance(lifecycle_->now_ns())));
  }

  if (in_.hosting != nullptr) {
    const WebFeatureCounters w = in_.hosting->web_counters();
    m.Family("dnsight_web_requests_total", T::kCounter,
             "Web access-log requests parsed, per service (vhost).");
    for (const auto& [vhost, n] : in_.hosting->web_requests_by_service())
      m.Sample("dnsight_web_requests_total", {{"vhost", vhost}}, static_cast<double>(n));
    m.Family("dnsight_web_tls_errors_total", T::kCounter,
             "TLS handshake failures read from error logs.");
    m.Sample("dnsight_web_tls_errors_total", static_cast<double>(w.tls_errors));
    m.Family("dnsight_host_feature", T::kGauge, "The newest host features per scraped node.");
    const auto& names = HostFeatureNames();
    for (const auto& h : in_.hosting->AllHosts())
      for (size_t i = 0; i < names.size() && i < h.values.size(); ++i)
        if (std::isfinite(h.values[i]))
          m.Sample("dnsight_host_feature", {{"node", h.node}, {"feature", names[i]}}, h.values[i]);
  }
  if (const HttpApiCounters* api = api_counters_.load()) {
    m.Family("dnsight_api_requests_total", T::kCounter, "HTTP API requests served.");
    m.Sample("dnsight_api_requests_total", static_cast<double>(api->requests.load()));
  }
  return m.text();
}

}  // namespace dnsight
