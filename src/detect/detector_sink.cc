#include "detect/detector_sink.h"

#include <xxhash.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>

#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr uint64_t kExpiryEveryRows = 20'000;

// The window a feature name ends with ("latency_ms_p95_5m" → 5m), or 0.
int64_t FeatureWindow(const std::string& name) {
  const size_t us = name.rfind('_');
  if (us == std::string::npos) return 0;
  return ParseDuration(std::string_view(name).substr(us + 1)).value_or(0);
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string Confidence(double score, double threshold) {
  const double r = threshold > 0 ? score / threshold : 1;
  return r >= 2 ? "high" : r >= 1.3 ? "medium" : "low";
}

// The training score deciles `dnsight train` writes beside a model (ScoreReferencePath):
// nine numbers on one line. Absent or malformed: the monitor falls back to its warm-up.
void LoadScoreReference(const std::string& model_path, double threshold, ScoreMonitor* monitor) {
  std::ifstream in(ScoreReferencePath(model_path));
  std::vector<double> edges;
  double v = 0;
  while (edges.size() < 10 && in >> v) edges.push_back(v);
  monitor->SetReference(edges, threshold);
}

}  // namespace

std::string ScoreReferencePath(const std::string& model_path) {
  return model_path + ".scores";
}

struct DetectorSink::Rule {
  const DetectRuleConfig* cfg = nullptr;
  std::vector<int> features;  // indices into the view's values
  std::vector<int> counts;    // parallel to features; empty when the rule has none
  int require = -1;
  BaselineOptions options;
  TunnelScorer tunnel;
  std::optional<IsolationForest> forest;
  std::optional<GbtModel> gbt;
  std::string model_name, model_version;
  int64_t evidence_ns = 0;
  std::string name;   // "<class>/<view>/<kind>", the metrics label
  uint32_t view = 0;  // index of the view it reads
  ScoreMonitor monitor;
  mutable std::mutex top_mu;
  std::map<std::string, uint64_t, std::less<>> top_feature_counts;
  struct Entity {
    std::unique_ptr<VectorBaseline> baseline;
    std::vector<BaselineScore> scores;
    bool active = false;
    int64_t last_notified = INT64_MIN;
    int64_t last_seen = 0;
  };
  std::unordered_map<std::string, Entity> entities;
};

DetectorSink::DetectorSink(const EngineConfig& cfg, const ChangeEvents* changes, RowSink* next,
                           Emit emit)
    : cfg_(cfg), changes_(changes), next_(next), emit_(std::move(emit)) {}

DetectorSink::~DetectorSink() = default;

Result<std::unique_ptr<DetectorSink>> DetectorSink::Create(const EngineConfig& cfg,
                                                           const ChangeEvents* changes,
                                                           RowSink* next, Emit emit) {
  std::unique_ptr<DetectorSink> sink(new DetectorSink(cfg, changes, next, std::move(emit)));
  sink->rules_by_view_.resize(cfg.views.size());
  sink->newest_by_view_.assign(cfg.views.size(), INT64_MIN);
  for (const auto& rc : cfg.detect.rules) {
    auto rule = std::make_unique<Rule>();
    rule->cfg = &rc;
    size_t vi = cfg.views.size();
    for (size_t i = 0; i < cfg.views.size(); ++i)
      if (cfg.views[i].name == rc.view) vi = i;
    if (vi == cfg.views.size())
      return Status::InvalidArgument(rc.where + ": no view '" + rc.view + "'");
    const FeatureView& view = cfg.views[vi];
    rule->name = rc.klass + '/' + rc.view + '/' + rc.kind;
    const auto index = [&](const std::string& f) {
      const auto it = std::find(view.feature_names.begin(), view.feature_names.end(), f);
      return it == view.feature_names.end() ? -1
                                            : static_cast<int>(it - view.feature_names.begin());
    };
    for (const auto& f : rc.features) {
      rule->features.push_back(index(f));
      if (rule->features.back() < 0)
        return Status::InvalidArgument(rc.where + ": view '" + rc.view + "' has no feature '" + f +
                                       "'");
      rule->evidence_ns = std::max(rule->evidence_ns, FeatureWindow(f));
    }
    if (rc.kind != "iforest" && rc.kind != "xgboost" && rule->features.size() > 64)
      return Status::InvalidArgument(rc.where + ": a rule reads at most 64 features");
    if (!rc.require_feature.empty()) rule->require = index(rc.require_feature);
    for (const auto& c : rc.counts) rule->counts.push_back(index(c));
    // A trained model names its inputs; map them onto the view's features.
    const auto bind_model = [&](const std::vector<std::string>& inputs) -> Status {
      rule->features.clear();
      for (const auto& f : inputs) {
        rule->features.push_back(index(f));
        if (rule->features.back() < 0)
          return Status::InvalidArgument(rc.where + ": model " + rc.model + " needs feature '" + f +
                                         "', which view '" + rc.view + "' does not have");
        rule->evidence_ns = std::max(rule->evidence_ns, FeatureWindow(f));
      }
      return Status::Ok();
    };
    if (rc.kind == "iforest") {
      auto model = IsolationForest::Load(rc.model);
      if (!model.ok()) return Status::InvalidArgument(rc.where + ": " + model.status().message());
      if (Status s = bind_model(model->features()); !s.ok()) return s;
      rule->model_name = "isolation_forest";
      LoadScoreReference(rc.model, rc.threshold, &rule->monitor);
      rule->model_version = model->version();
      rule->forest = std::move(model.value());
    } else if (rc.kind == "xgboost") {
      auto model = GbtModel::Load(rc.model);
      if (!model.ok()) return Status::InvalidArgument(rc.where + ": " + model.status().message());
      if (Status s = bind_model(model->features()); !s.ok()) return s;
      rule->model_name = "xgboost";
      LoadScoreReference(rc.model, rc.threshold, &rule->monitor);
      rule->model_version = model->version();
      rule->gbt.emplace(std::move(model.value()));
    } else if (rc.kind == "tunnelling") {
      if (Status s = rule->tunnel.Bind(view.feature_names, rc.window); !s.ok())
        return Status::InvalidArgument(rc.where + ": " + s.message());
      rule->evidence_ns = ParseDuration(rc.window).value_or(0);
      rule->model_name = "tunnel_scorer";
    } else if (rc.kind == "baseline") {
      BaselineOptions& o = rule->options;
      o.period_ns = rc.period_ns;
      o.slot_ns = rc.slot_ns;
      o.min_points = static_cast<uint32_t>(rc.min_points);
      o.threshold = rc.threshold;
      ParseScoreDirection(rc.direction, &o.direction);
      if (Status s = ValidateBaselineOptions(o); !s.ok())
        return Status::InvalidArgument(rc.where + ": " + s.message());
      rule->model_name = "robust_baseline";
    } else {
      rule->model_name = "threshold";
    }
    // The model version: a hash of everything that changes how this rule scores.
    const std::string canon = rc.klass + '|' + rc.view + '|' + rc.kind + '|' + rc.direction + '|' +
                              std::to_string(rc.threshold) + '|' + std::to_string(rc.min_delta) +
                              '|' + std::to_string(rc.min_count) +
                              (rc.binomial ? "|binomial" + std::to_string(rc.binomial_floor) : "") +
                              '|' + rc.window + '|' + std::to_string(rc.period_ns) + '|' +
                              std::to_string(rc.slot_ns) + '|' + std::to_string(rc.min_points);
    std::string all = canon;
    for (const auto& f : rc.features) all += '|' + f;
    if (rule->model_version.empty())
      rule->model_version = Hex64(XXH3_64bits(all.data(), all.size()));
    rule->view = static_cast<uint32_t>(vi);
    sink->rules_by_view_[vi].push_back(rule.get());
    sink->rules_.push_back(std::move(rule));
  }
  return sink;
}

void DetectorSink::Score(Rule& rule, const FeatureView& view, const FeatureRow& row,
                         const std::string& entity) {
  const DetectRuleConfig& rc = *rule.cfg;
  auto it = rule.entities.find(entity);
  if (it == rule.entities.end()) {
    if (rule.entities.size() >= cfg_.detect.max_entities_per_rule) {
      counters_.entities_skipped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = rule.entities.emplace(entity, Rule::Entity{}).first;
    if (rc.kind == "baseline") {
      it->second.baseline = std::make_unique<VectorBaseline>(rule.features.size(), &rule.options);
      it->second.scores.resize(rule.features.size());
    }
  }
  Rule::Entity& st = it->second;
  st.last_seen = row.window_end_ns;
  const int64_t ts = row.window_end_ns;

  double score = 0;
  double monitored = 0;  // the score distribution /metrics shows, anomalous or not
  bool anomalous = false;
  std::vector<FeatureContribution> top;
  if (rc.kind == "baseline") {
    double vals[64];
    const size_t n = std::min<size_t>(rule.features.size(), 64);
    for (size_t i = 0; i < n; ++i) vals[i] = row.values[static_cast<size_t>(rule.features[i])];
    st.baseline->Observe(ts, std::span<const double>(vals, n), st.scores);
    double total = 0;
    for (size_t i = 0; i < n; ++i) {
      const BaselineScore& s = st.scores[i];
      if (s.state != BaselineScore::State::kScored) continue;
      if (std::isfinite(s.score)) monitored = std::max(monitored, s.score);
      if (!s.anomaly || std::fabs(vals[i] - s.baseline) < rc.min_delta) continue;
      double z = s.score;
      if (!rule.counts.empty()) {
        const double events = row.values[static_cast<size_t>(rule.counts[i])];
        if (!(events >= rc.min_count)) continue;
        if (rc.binomial) {
          // A ratio over `events` events cannot be trusted beyond its sampling error.
          const double b = std::clamp(s.baseline, rc.binomial_floor, 1 - rc.binomial_floor);
          z = std::fabs(vals[i] - s.baseline) / std::max(s.scale, std::sqrt(b * (1 - b) / events));
          if (z < rc.threshold) continue;
        }
      }
      anomalous = true;
      score = std::max(score, z);
      total += z;
      top.push_back(
          {view.feature_names[static_cast<size_t>(rule.features[i])], vals[i], s.baseline, z});
    }
    for (auto& t : top) t.contribution = total > 0 ? t.contribution / total : 0;
  } else if (rc.kind == "threshold") {
    for (int f : rule.features) {
      const double v = row.values[static_cast<size_t>(f)];
      if (!std::isfinite(v)) continue;
      score = std::max(score, v);
      if (v >= rc.threshold) {
        anomalous = true;
        top.push_back({view.feature_names[static_cast<size_t>(f)], v, rc.threshold, 0});
      }
    }
    for (auto& t : top) t.contribution = 1.0 / static_cast<double>(top.size());
  } else if (rc.kind == "iforest") {
    std::vector<double> x(rule.features.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = row.values[static_cast<size_t>(rule.features[i])];
    score = rule.forest->Score(x);
    anomalous = score >= rc.threshold;
    if (anomalous) {
      const std::vector<double> share = rule.forest->Explain(x);
      for (size_t i = 0; i < x.size(); ++i)
        if (share[i] > 0.05)
          top.push_back({rule.forest->features()[i], x[i], rule.forest->medians()[i], share[i]});
    }
  } else if (rc.kind == "xgboost") {
    std::vector<double> x(rule.features.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = row.values[static_cast<size_t>(rule.features[i])];
    // A booster failure cannot be fixed by the row: count it as not anomalous.
    const Result<double> p = rule.gbt->Predict(x);
    if (!p.ok()) counters_.model_errors.fetch_add(1, std::memory_order_relaxed);
    score = p.ok() ? *p : 0;
    anomalous = p.ok() && score >= rc.threshold;
    if (anomalous) {
      if (const auto c = rule.gbt->Contributions(x); c.ok()) {
        double mass = 0;
        for (double v : c->values) mass += std::max(v, 0.0);
        for (size_t i = 0; i < x.size() && mass > 0; ++i)
          if (c->values[i] > 0 && c->values[i] / mass > 0.05)
            top.push_back(
                {rule.gbt->features()[i], x[i], rule.gbt->means()[i], c->values[i] / mass});
      }
    }
  } else {
    TunnelScore t = rule.tunnel.Score(row.values);
    score = t.score;
    anomalous = score >= rc.threshold;
    top = std::move(t.terms);
  }
  if (anomalous && rule.require >= 0) {
    const double v = row.values[static_cast<size_t>(rule.require)];
    if (!(v >= rc.require_min)) anomalous = false;
  }
  counters_.rows_scored.fetch_add(1, std::memory_order_relaxed);
  rule.monitor.Observe(rc.kind == "baseline" ? monitored : score, rc.threshold);
  if (!anomalous) {
    if (st.active) {
      st.active = false;
      // The alert is per class: it clears only when no rule of the class still holds.
      if (on_cleared_ && !ClassActive(rc.klass, row.view, entity))
        on_cleared_(rc.klass, view.name, entity, ts);
    }
    return;
  }
  if (st.active && ts - st.last_notified < cfg_.detect.renotify_ns) return;
  st.active = true;
  st.last_notified = ts;

  std::sort(top.begin(), top.end(),
            [](const auto& a, const auto& b) { return a.contribution > b.contribution; });
  if (top.size() > 5) top.resize(5);
  if (!top.empty()) {
    std::lock_guard lock(rule.top_mu);
    ++rule.top_feature_counts[top.front().name];
  }
  Decision d;
  d.ts_ns = ts;
  d.klass = rc.klass;
  d.score = score;
  d.threshold = rc.threshold;
  d.confidence = Confidence(score, rc.threshold);
  d.view = view.name;
  d.entity = entity;
  d.scope_kind = rc.scope_kind;
  d.failure_domain = rc.failure_domain;
  d.top_features = std::move(top);
  d.action = rc.action;
  d.severity = rc.severity;
  d.model_name = rule.model_name;
  d.model_version = rule.model_version;
  d.feature_version = view.version;
  d.evidence_from_ns = ts - rule.evidence_ns;
  d.evidence_to_ns = ts;
  d.alert = true;
  // The rule is part of the id: two rules of one class on one entity are two decisions.
  const std::string key = rule.name + '|' + entity + '|' + std::to_string(ts);
  d.id = "dec-" + Hex64(XXH3_64bits(key.data(), key.size()));
  if (changes_ != nullptr) {
    const std::string scope[] = {entity};
    if (auto w = changes_->MaintenanceAt(scope, ts)) {
      d.alert = false;
      d.downgraded = true;
      d.maintenance = true;
      d.severity = "info";
      d.reason = "inside maintenance window " + w->id + " on " + w->scope_kind + " " +
                 w->scope_value + (w->note.empty() ? "" : " (" + w->note + ")");
    }
    if (auto c = changes_->RecentChange(scope, ts, cfg_.detect.deploy_context_ns)) {
      if (!d.reason.empty()) d.reason += "; ";
      d.reason += "after " + c->kind + " " + c->id + " on " + c->scope_kind + " " + c->scope_value +
                  " at " + FormatRfc3339(c->ts_ns);
    }
  }
  counters_.decisions.fetch_add(1, std::memory_order_relaxed);
  if (d.alert) counters_.alerts.fetch_add(1, std::memory_order_relaxed);
  if (d.downgraded) counters_.downgraded.fetch_add(1, std::memory_order_relaxed);
  emit_(d);
}

std::vector<DetectorRuleReport> DetectorSink::RuleReports() const {
  std::vector<DetectorRuleReport> out;
  for (const auto& rule : rules_) {
    DetectorRuleReport r;
    r.name = rule->name;
    r.klass = rule->cfg->klass;
    r.kind = rule->cfg->kind;
    r.model = rule->model_name;
    r.version = rule->model_version;
    r.scores = rule->monitor.Snapshot();
    {
      std::lock_guard lock(rule->top_mu);
      r.top_feature_counts.assign(rule->top_feature_counts.begin(), rule->top_feature_counts.end());
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool DetectorSink::ClassActive(const std::string& klass, uint32_t view,
                               const std::string& entity) const {
  for (const Rule* r : rules_by_view_[view]) {
    if (r->cfg->klass != klass) continue;
    const auto it = r->entities.find(entity);
    if (it != r->entities.end() && it->second.active) return true;
  }
  return false;
}

void DetectorSink::Expire() {
  // Each rule against its own view's newest time: inputs run on different clocks (a
  // replayed DNS capture beside live scrapes).
  for (auto& rule : rules_) {
    const int64_t now_ns = newest_by_view_[rule->view];
    if (now_ns == INT64_MIN) continue;
    const int64_t idle = std::max<int64_t>(2 * rule->cfg->period_ns, 3'600'000'000'000);
    for (auto it = rule->entities.begin(); it != rule->entities.end();) {
      if (it->second.last_seen < now_ns - idle) {
        it = rule->entities.erase(it);
        counters_.entities_expired.fetch_add(1, std::memory_order_relaxed);
      } else {
        ++it;
      }
    }
  }
}

void DetectorSink::WriteRows(const std::vector<FeatureView>& views,
                             std::span<const FeatureRow> rows) {
  for (const FeatureRow& row : rows) {
    if (row.view >= rules_by_view_.size()) continue;
    newest_by_view_[row.view] = std::max(newest_by_view_[row.view], row.window_end_ns);
    const auto& rules = rules_by_view_[row.view];
    if (rules.empty()) continue;
    const std::string entity = views[row.view].EntityText(row.entity_key);
    for (Rule* rule : rules) Score(*rule, views[row.view], row, entity);
  }
  rows_since_expiry_ += rows.size();
  if (rows_since_expiry_ >= kExpiryEveryRows) {
    rows_since_expiry_ = 0;
    Expire();
  }
  if (next_ != nullptr) next_->WriteRows(views, rows);
}

void DetectorSink::WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) {
  if (next_ != nullptr) next_->WriteLate(batch, e, watermark_ns);
}

void DetectorSink::WriteDeadLetter(std::string_view source, std::string_view reason,
                                   std::span<const uint8_t> sample) {
  if (next_ != nullptr) next_->WriteDeadLetter(source, reason, sample);
}

}  // namespace dnsight
