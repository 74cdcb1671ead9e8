#include "detect/decision.h"

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

void Key(const char* k, std::string* out) {
  AppendJsonKey(k, out);
}

void Str(const char* k, const std::string& v, std::string* out) {
  AppendJsonMember(k, v, out);
  out->push_back(',');
}

void Num(const char* k, double v, std::string* out) {
  Key(k, out);
  AppendJsonNumber(v, out);
  out->push_back(',');
}

void Time(const char* k, int64_t ns, std::string* out) {
  Key(k, out);
  out->push_back('"');
  out->append(FormatRfc3339(ns));
  out->append("\",");
}

}  // namespace

void AppendDecisionJson(const Decision& d, std::string* out) {
  out->push_back('{');
  Str("id", d.id, out);
  Time("ts", d.ts_ns, out);
  Key("ts_ns", out);
  out->append(std::to_string(d.ts_ns));
  out->push_back(',');
  Str("class", d.klass, out);
  Key("alert", out);
  out->append(d.alert ? "true," : "false,");
  Str("severity", d.severity, out);
  Num("score", d.score, out);
  Num("threshold", d.threshold, out);
  Str("confidence", d.confidence, out);
  Key("scope", out);
  out->push_back('{');
  Str("view", d.view, out);
  Str("entity", d.entity, out);
  Str("kind", d.scope_kind, out);
  Key("rollup", out);
  AppendJsonString(d.rollup, out);
  out->append("},");
  Str("failure_domain", d.failure_domain, out);
  Key("top_features", out);
  out->push_back('[');
  for (size_t i = 0; i < d.top_features.size(); ++i) {
    const auto& f = d.top_features[i];
    if (i) out->push_back(',');
    out->push_back('{');
    Str("name", f.name, out);
    Num("value", f.value, out);
    Num("baseline", f.baseline, out);
    Key("contribution", out);
    AppendJsonNumber(f.contribution, out);
    out->push_back('}');
  }
  out->append("],");
  Str("action", d.action, out);
  Key("model", out);
  out->push_back('{');
  Str("name", d.model_name, out);
  Key("version", out);
  AppendJsonString(d.model_version, out);
  out->append("},");
  Str("feature_version", d.feature_version, out);
  Key("evidence", out);
  out->push_back('{');
  Time("from", d.evidence_from_ns, out);
  Key("to", out);
  out->push_back('"');
  out->append(FormatRfc3339(d.evidence_to_ns));
  out->append("\"},");
  Key("context", out);
  out->append("{\"maintenance\":");
  out->append(d.maintenance ? "true" : "false");
  out->append(",\"downgraded\":");
  out->append(d.downgraded ? "true" : "false");
  out->append(",\"reason\":");
  AppendJsonString(d.reason, out);
  out->push_back('}');
  if (!d.nodes.empty()) {
    out->append(",\"nodes\":[");
    for (size_t i = 0; i < d.nodes.size(); ++i) {
      const NodeContext& n = d.nodes[i];
      if (i) out->push_back(',');
      out->append("{\"node\":");
      AppendJsonString(n.node, out);
      out->append(",\"degraded\":");
      out->append(n.degraded ? "true" : "false");
      out->append(",\"why\":");
      AppendJsonString(n.why, out);
      out->append(",\"scraped\":");
      if (n.ts_ns == 0) {
        out->append("null");
      } else {
        AppendJsonString(FormatRfc3339(n.ts_ns), out);
      }
      out->append(",\"features\":{");
      for (size_t f = 0; f < n.features.size(); ++f) {
        if (f) out->push_back(',');
        AppendJsonString(n.features[f].first, out);
        out->push_back(':');
        AppendJsonNumber(n.features[f].second, out);
      }
      out->append("}}");
    }
    out->push_back(']');
  }
  out->push_back('}');
}

}  // namespace dnsight
