// DetectorSink: streaming detection over the engine's feature vectors.
//
// It sits in the pipeline's sink chain (after the stores, before the JSON output) and,
// for each closed-pane row of a view that a rule reads, scores the row:
//
//   baseline    a RobustBaseline per (rule, entity, feature): robust z of each feature
//               against its seasonal median/MAD + EWMA; anomalous when a feature's score
//               reaches `threshold` and it moved at least `min_delta` from its baseline
//   threshold   a feature value at or above `threshold`
//   tunnelling  the TunnelScorer over the view's `window` features
//   iforest     an IsolationForest model file; score = its anomaly score
//   xgboost     a GbtModel file (gradient-boosted trees); score = the class probability,
//               explained by the features with the largest positive SHAP values
//
// A rule may require a volume (`require: {feature, min}`) before it can alert, so sparse
// entities do not page. When an entity's condition starts, and every `renotify` while it
// lasts, the sink emits a Decision (docs/decisions.md) with the top contributing
// features, their values and baselines, the scope, the failure domain and the action
// from the rule (the config's feature-to-action table), the model and feature versions
// and the evidence window. A decision inside a maintenance window on its scope (change
// events) is downgraded: alert false, with the window named in the reason; a recent
// deploy or zone change on the scope is named too.
//
// State per (rule, entity) is a VectorBaseline (about 2.3 KB per feature with a daily
// period) plus a few bytes; entities idle for two periods are dropped, and at most
// max_entities_per_rule are tracked (new ones beyond are counted and skipped).
//
// Thread-safety: WriteRows is called by one thread at a time (the pipeline's writer, or
// the hosting threads, serialized by a LockedRowSink); counters() and RuleReports() may
// be read from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "detect/change_events.h"
#include "detect/decision.h"
#include "detect/gbt_model.h"
#include "detect/isolation_forest.h"
#include "detect/robust_baseline.h"
#include "detect/score_monitor.h"
#include "detect/tunnel_scorer.h"
#include "engine/config.h"
#include "engine/pipeline.h"

namespace dnsight {

// What /metrics reports per rule.
struct DetectorRuleReport {
  std::string name;  // "<class>/<view>/<kind>"
  std::string klass, kind, model, version;
  ScoreSnapshot scores;
  std::vector<std::pair<std::string, uint64_t>> top_feature_counts;  // top contributor tallies
};

// Where `dnsight train` saves the decile edges of a model's scores on its training rows
// (the reference for the rule's PSI drift): "<model>.scores".
std::string ScoreReferencePath(const std::string& model_path);

struct DetectorCounters {
  std::atomic<uint64_t> rows_scored{0};
  std::atomic<uint64_t> decisions{0};
  std::atomic<uint64_t> alerts{0};
  std::atomic<uint64_t> downgraded{0};
  std::atomic<uint64_t> entities_skipped{0};  // over max_entities_per_rule
  std::atomic<uint64_t> entities_expired{0};
  std::atomic<uint64_t> model_errors{0};  // a trained model failed to score a row (skipped)
};

class DetectorSink : public RowSink {
 public:
  using Emit = std::function<void(const Decision&)>;

  // Binds cfg.detect.rules to cfg.views (indices must match the pipeline's). `changes`
  // and `next` may be null; emit is called on the writer thread for each decision.
  // cfg and changes must outlive the sink.
  static Result<std::unique_ptr<DetectorSink>> Create(const EngineConfig& cfg,
                                                      const ChangeEvents* changes, RowSink* next,
                                                      Emit emit);
  ~DetectorSink() override;

  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> rows) override;
  void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) override;
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override;

  const DetectorCounters& counters() const { return counters_; }
  // Called (writer thread) when an entity's active condition clears: the first scored row
  // that is no longer anomalous after one that was. REQUIRES: set before rows arrive.
  using Cleared = std::function<void(const std::string& klass, const std::string& view,
                                     const std::string& entity, int64_t ts_ns)>;
  void SetOnCleared(Cleared cleared) { on_cleared_ = std::move(cleared); }
  // Score distributions, drift and top-feature tallies per rule. Thread-safe.
  std::vector<DetectorRuleReport> RuleReports() const;

 private:
  struct Rule;
  DetectorSink(const EngineConfig& cfg, const ChangeEvents* changes, RowSink* next, Emit emit);
  // `entity` is view.EntityText(row.entity_key), computed once per row for all its rules.
  void Score(Rule& rule, const FeatureView& view, const FeatureRow& row, const std::string& entity);
  void Expire();
  bool ClassActive(const std::string& klass, uint32_t view, const std::string& entity) const;

  const EngineConfig& cfg_;
  const ChangeEvents* changes_;
  RowSink* next_;
  Emit emit_;
  Cleared on_cleared_;
  std::vector<std::unique_ptr<Rule>> rules_;
  std::vector<std::vector<Rule*>> rules_by_view_;
  std::vector<int64_t> newest_by_view_;  // newest window end seen per view (expiry clock)
  uint64_t rows_since_expiry_ = 0;
  DetectorCounters counters_;
};

}  // namespace dnsight
