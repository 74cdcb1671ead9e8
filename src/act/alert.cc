#include "act/alert.h"

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

void Field(const char* key, const std::string& value, std::string* out) {
  AppendJsonMember(key, value, out);
  out->push_back(',');
}

void TimeField(const char* key, int64_t ns, std::string* out) {
  AppendJsonKey(key, out);
  if (ns == 0) {
    out->append("null,");
    return;
  }
  AppendJsonString(FormatRfc3339(ns), out);
  out->push_back(',');
}

}  // namespace

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kFiring:
      return "firing";
    case AlertState::kSuppressed:
      return "suppressed";
    case AlertState::kResolved:
      return "resolved";
  }
  return "firing";
}

std::string_view AlertChangeName(AlertChange c) {
  switch (c) {
    case AlertChange::kNone:
      return "none";
    case AlertChange::kOpened:
      return "opened";
    case AlertChange::kRepeat:
      return "repeat";
    case AlertChange::kSeverity:
      return "severity";
    case AlertChange::kReopened:
      return "reopened";
    case AlertChange::kSuppressed:
      return "suppressed";
    case AlertChange::kUnsuppressed:
      return "unsuppressed";
    case AlertChange::kResolved:
      return "resolved";
    case AlertChange::kAutoResolved:
      return "auto_resolved";
    case AlertChange::kRefresh:
      return "refresh";
  }
  return "none";
}

void AppendAlertJson(const Alert& a, std::string* out) {
  out->push_back('{');
  Field("id", a.id, out);
  Field("group_key", a.group_key, out);
  Field("class", a.klass, out);
  Field("view", a.view, out);
  Field("entity", a.entity, out);
  Field("scope_kind", a.scope_kind, out);
  Field("team", a.team, out);
  Field("severity", a.severity, out);
  Field("original_severity", a.original_severity, out);
  Field("failure_domain", a.failure_domain, out);
  Field("summary", a.summary, out);
  Field("state", std::string(AlertStateName(a.state)), out);
  out->append(a.downgraded ? "\"downgraded\":true," : "\"downgraded\":false,");
  Field("reason", a.reason, out);
  out->append("\"score\":");
  AppendJsonNumber(a.score, out);
  out->push_back(',');
  TimeField("starts_at", a.starts_ns, out);
  TimeField("last_seen", a.last_seen_ns, out);
  TimeField("ends_at", a.ends_ns, out);
  out->append("\"decisions\":");
  out->append(std::to_string(a.decisions));
  out->append(",\"decision_ids\":[");
  for (size_t i = 0; i < a.decision_ids.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(a.decision_ids[i], out);
  }
  out->append("],\"notifications\":");
  out->append(std::to_string(a.notifications));
  if (a.change != AlertChange::kNone) {
    out->append(",\"change\":\"");
    out->append(AlertChangeName(a.change));
    out->append(a.notify ? "\",\"notify\":true" : "\",\"notify\":false");
  }
  out->push_back('}');
}

}  // namespace dnsight
