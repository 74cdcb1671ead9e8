// Decision: what scoring concluded about one scope at one moment, with its explanation.
// The JSON form is specified in docs/decisions.md; AppendDecisionJson writes exactly it.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dnsight {

struct FeatureContribution {
  std::string name;
  double value = 0;
  double baseline = 0;      // what was expected (NaN when the scorer has none)
  double contribution = 0;  // share of the score this feature carried
};

// Host features of a node behind the decision's scope (the hosting join).
struct NodeContext {
  std::string node;
  int64_t ts_ns = 0;  // of the scrape; 0 when the node was never scraped
  bool degraded = false;
  std::string why;  // the features over their thresholds, e.g. "cpu_steal_ratio=0.31"
  std::vector<std::pair<std::string, double>> features;
};

struct Decision {
  std::string id;
  int64_t ts_ns = 0;  // event time: the window end that produced it
  std::string klass;  // incident class, docs/decisions.md
  bool alert = false;
  std::string severity;  // page | ticket | info
  double score = 0;
  double threshold = 0;
  std::string confidence;  // low | medium | high
  std::string view, entity, scope_kind, rollup;
  std::string failure_domain;  // dns_config | infrastructure | application | abuse
  std::vector<FeatureContribution> top_features;
  std::string action;
  std::string model_name, model_version, feature_version;
  int64_t evidence_from_ns = 0, evidence_to_ns = 0;
  bool maintenance = false;
  bool downgraded = false;
  std::string reason;
  std::vector<NodeContext> nodes;  // empty unless the hosting join attached some
};

// One JSON object (no trailing newline).
void AppendDecisionJson(const Decision& d, std::string* out);

}  // namespace dnsight
