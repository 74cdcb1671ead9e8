#include "detect/eval.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <unordered_map>

#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kNanosPerDay = 86'400 * kNanosPerSecond;

using simdjson::dom::element;

Status Bad(std::string what) {
  return Status::InvalidArgument(std::move(what));
}

// The time of `text_key`, or of `ns_key` (integer nanoseconds) when that is present.
Status ReadTime(element obj, const char* text_key, const char* ns_key, int64_t* out) {
  element v;
  if (obj[ns_key].get(v) == simdjson::SUCCESS) {
    if (v.is_int64()) {
      *out = v.get_int64().value();
      return Status::Ok();
    }
    return Bad(std::string("'") + ns_key + "' is not an integer");
  }
  std::string_view text;
  if (obj[text_key].get(v) != simdjson::SUCCESS)
    return Bad(std::string("missing '") + text_key + "'");
  if (v.get_string().get(text) != simdjson::SUCCESS)
    return Bad(std::string("'") + text_key + "' is not a string");
  const auto t = ParseRfc3339(text);
  if (!t) return Bad(std::string("'") + text_key + "' is not an RFC 3339 time");
  *out = *t;
  return Status::Ok();
}

// A required non-empty string member.
Status ReadString(element obj, const char* key, std::string* out) {
  std::string_view s;
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS) return Bad(std::string("missing '") + key + "'");
  if (v.get_string().get(s) != simdjson::SUCCESS || s.empty())
    return Bad(std::string("'") + key + "' is not a non-empty string");
  out->assign(s);
  return Status::Ok();
}

// An optional string member: absent leaves *out empty; present must be a string.
Status ReadOptionalString(element obj, const char* key, std::string* out) {
  out->clear();
  element v;
  if (obj[key].get(v) != simdjson::SUCCESS || v.is_null()) return Status::Ok();
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS)
    return Bad(std::string("'") + key + "' is not a string");
  out->assign(s);
  return Status::Ok();
}

Status ParseObject(simdjson::dom::parser& parser, std::string_view line, element* obj) {
  if (parser.parse(line.data(), line.size()).get(*obj) != simdjson::SUCCESS)
    return Bad("not valid JSON");
  if (!obj->is_object()) return Bad("not a JSON object");
  return Status::Ok();
}

Status ParseIncident(simdjson::dom::parser& parser, std::string_view line, EvalIncident* out) {
  element obj;
  Status st = ParseObject(parser, line, &obj);
  if (st.ok()) st = ReadOptionalString(obj, "id", &out->id);
  if (st.ok()) st = ReadString(obj, "class", &out->klass);
  if (!st.ok()) return st;
  element v;
  out->benign = IsBenignClass(out->klass);
  if (obj["benign"].get(v) == simdjson::SUCCESS) {
    if (!v.is_bool()) return Bad("'benign' is not a boolean");
    out->benign = v.get_bool().value();
  }
  element scope;
  if (obj["scope"].get(scope) != simdjson::SUCCESS || !scope.is_object())
    return Bad("missing 'scope' object");
  st = ReadOptionalString(scope, "kind", &out->scope_kind);
  if (st.ok()) st = ReadOptionalString(scope, "value", &out->scope_value);
  if (st.ok()) st = ReadTime(obj, "start", "start_ns", &out->start_ns);
  if (st.ok()) st = ReadTime(obj, "end", "end_ns", &out->end_ns);
  if (!st.ok()) return st;
  if (out->scope_value.empty() && out->scope_kind != "global")
    return Bad("'scope.value' is missing or empty");
  if (out->end_ns < out->start_ns) return Bad("'end' is before 'start'");
  return Status::Ok();
}

Status ParseDecision(simdjson::dom::parser& parser, std::string_view line, Decision* out) {
  element obj;
  Status st = ParseObject(parser, line, &obj);
  if (st.ok()) st = ReadTime(obj, "ts", "ts_ns", &out->ts_ns);
  if (!st.ok()) return st;
  element v;
  if (obj["alert"].get(v) != simdjson::SUCCESS) return Bad("missing 'alert'");
  if (!v.is_bool()) return Bad("'alert' is not a boolean");
  out->alert = v.get_bool().value();
  st = ReadOptionalString(obj, "id", &out->id);
  if (!st.ok()) return st;
  // A non-alert decision counts only for the span; its class and scope are optional.
  st = out->alert ? ReadString(obj, "class", &out->klass)
                  : ReadOptionalString(obj, "class", &out->klass);
  if (!st.ok()) return st;
  element scope;
  if (obj["scope"].get(scope) != simdjson::SUCCESS || !scope.is_object())
    return out->alert ? Bad("missing 'scope' object") : Status::Ok();
  st = out->alert ? ReadString(scope, "entity", &out->entity)
                  : ReadOptionalString(scope, "entity", &out->entity);
  if (st.ok()) st = ReadOptionalString(scope, "rollup", &out->rollup);
  if (st.ok()) st = ReadOptionalString(scope, "view", &out->view);
  if (!st.ok()) return Bad("scope: " + st.message());
  element evidence;
  if (obj["evidence"].get(evidence) == simdjson::SUCCESS && evidence.is_object()) {
    std::string from;
    if (ReadOptionalString(evidence, "from", &from).ok() && !from.empty())
      out->evidence_from_ns = ParseRfc3339(from).value_or(0);
  }
  return Status::Ok();
}

template <typename T, typename ParseFn>
Result<std::vector<T>> ReadLines(std::istream& in, std::string_view name, ParseFn parse) {
  simdjson::dom::parser parser;
  std::vector<T> out;
  std::string line;
  uint64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    T item;
    if (Status st = parse(parser, line, &item); !st.ok())
      return Status::InvalidArgument(std::string(name) + ":" + std::to_string(line_no) + ": " +
                                     st.message());
    out.push_back(std::move(item));
  }
  if (in.bad()) return Status::IoError(std::string(name) + ": read error");
  return out;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  return r;
}

bool BenignScopeContains(const EvalIncident& b, const Decision& d) {
  if (b.scope_kind == "global") return true;
  if (b.scope_value == d.entity) return true;
  return b.scope_kind == "region" && !d.rollup.empty() && b.scope_value == d.rollup;
}

void Finish(ClassEval* c, std::vector<double> ttd_s) {
  c->precision = c->alerts > 0
                     ? static_cast<double>(c->matched_alerts) / static_cast<double>(c->alerts)
                     : kNaN;
  c->recall = c->incidents > 0
                  ? static_cast<double>(c->detected) / static_cast<double>(c->incidents)
                  : kNaN;
  c->ttd_median_s = Quantile(ttd_s, 0.5);
  c->ttd_p95_s = Quantile(std::move(ttd_s), 0.95);
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(ch);
    }
  }
  out->push_back('"');
}

void AppendClassJson(std::string* out, const ClassEval& c) {
  out->append("{\"class\":");
  AppendJsonString(out, c.klass);
  out->append(",\"incidents\":" + std::to_string(c.incidents));
  out->append(",\"detected\":" + std::to_string(c.detected));
  out->append(",\"recall\":" + Number(c.recall));
  out->append(",\"alerts\":" + std::to_string(c.alerts));
  out->append(",\"matched_alerts\":" + std::to_string(c.matched_alerts));
  out->append(",\"precision\":" + Number(c.precision));
  out->append(",\"ttd_median_s\":" + Number(c.ttd_median_s));
  out->append(",\"ttd_p95_s\":" + Number(c.ttd_p95_s));
  out->push_back('}');
}

}  // namespace

bool IsBenignClass(std::string_view cls) {
  return cls == "traffic_surge" || cls == "maintenance" || cls == "ttl_change";
}

Status ParseIncidentLine(std::string_view line, EvalIncident* out) {
  simdjson::dom::parser parser;
  return ParseIncident(parser, line, out);
}

Status ParseDecisionLine(std::string_view line, Decision* out) {
  simdjson::dom::parser parser;
  return ParseDecision(parser, line, out);
}

Result<std::vector<EvalIncident>> ReadIncidents(std::istream& in, std::string_view name) {
  return ReadLines<EvalIncident>(in, name, ParseIncident);
}

Result<std::vector<Decision>> ReadDecisions(std::istream& in, std::string_view name) {
  return ReadLines<Decision>(in, name, ParseDecision);
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + frac * (values[hi] - values[lo]);
}

EvalReport Evaluate(const std::vector<EvalIncident>& incidents,
                    const std::vector<Decision>& decisions, const EvalOptions& options) {
  EvalReport report;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // Non-benign incidents by (class, scope value); benign ones in a list.
  std::unordered_map<std::string, std::vector<size_t>> targets;
  std::vector<const EvalIncident*> benign;
  std::vector<int64_t> first_alert(incidents.size(), kNever);
  int64_t lo = kNever, hi = std::numeric_limits<int64_t>::min();
  const auto key = [](std::string_view cls, std::string_view value) {
    std::string k(cls);
    k.push_back('\0');
    k.append(value);
    return k;
  };
  for (size_t i = 0; i < incidents.size(); ++i) {
    const EvalIncident& inc = incidents[i];
    lo = std::min(lo, inc.start_ns);
    hi = std::max(hi, inc.end_ns);
    if (inc.benign) {
      benign.push_back(&inc);
      ++report.benign_incidents;
    } else {
      targets[key(inc.klass, inc.scope_value)].push_back(i);
    }
  }

  std::map<std::string, ClassEval> by_class;
  for (const Decision& d : decisions) {
    ++report.decisions;
    lo = std::min(lo, d.ts_ns);
    hi = std::max(hi, d.ts_ns);
    if (!d.alert) continue;
    ++report.alerts;
    ClassEval& c = by_class[d.klass];
    ++c.alerts;
    bool matched = false;
    if (auto it = targets.find(key(d.klass, d.entity)); it != targets.end()) {
      for (const size_t i : it->second) {
        const EvalIncident& inc = incidents[i];
        if (d.ts_ns < inc.start_ns || d.ts_ns > SaturatingAdd(inc.end_ns, options.grace_ns))
          continue;
        matched = true;
        first_alert[i] = std::min(first_alert[i], d.ts_ns);
      }
    }
    if (matched) {
      ++c.matched_alerts;
      continue;
    }
    ++report.false_alerts;
    for (const EvalIncident* b : benign) {
      if (d.ts_ns >= b->start_ns && d.ts_ns <= SaturatingAdd(b->end_ns, options.grace_ns) &&
          BenignScopeContains(*b, d)) {
        ++report.benign_alerts;
        break;
      }
    }
  }

  std::map<std::string, std::vector<double>> ttd;
  std::vector<double> all_ttd;
  for (size_t i = 0; i < incidents.size(); ++i) {
    const EvalIncident& inc = incidents[i];
    if (inc.benign) continue;
    ClassEval& c = by_class[inc.klass];
    ++c.incidents;
    if (first_alert[i] == kNever) continue;
    ++c.detected;
    const double s = static_cast<double>(first_alert[i] - inc.start_ns) / kNanosPerSecond;
    ttd[inc.klass].push_back(s);
    all_ttd.push_back(s);
  }

  report.all.klass = "all";
  for (auto& [cls, c] : by_class) {
    c.klass = cls;
    Finish(&c, ttd[cls]);
    report.all.incidents += c.incidents;
    report.all.detected += c.detected;
    report.all.alerts += c.alerts;
    report.all.matched_alerts += c.matched_alerts;
    report.classes.push_back(c);
  }
  Finish(&report.all, std::move(all_ttd));

  report.span_ns = options.span_ns > 0 ? options.span_ns : (hi > lo ? hi - lo : 0);
  report.false_alerts_per_day = report.span_ns > 0
                                    ? static_cast<double>(report.false_alerts) /
                                          (static_cast<double>(report.span_ns) / kNanosPerDay)
                                    : kNaN;
  return report;
}

std::string FormatEvalTable(const EvalReport& r) {
  size_t width = 5;
  for (const ClassEval& c : r.classes) width = std::max(width, c.klass.size());
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%-*s %9s %8s %6s %7s %7s %9s %10s %10s\n",
                static_cast<int>(width), "class", "incidents", "detected", "recall", "alerts",
                "matched", "precision", "ttd_p50_s", "ttd_p95_s");
  out += buf;
  const auto row = [&](const ClassEval& c) {
    std::snprintf(buf, sizeof(buf), "%-*s %9llu %8llu %6s %7llu %7llu %9s %10s %10s\n",
                  static_cast<int>(width), c.klass.c_str(),
                  static_cast<unsigned long long>(c.incidents),
                  static_cast<unsigned long long>(c.detected), Fixed(c.recall, 3).c_str(),
                  static_cast<unsigned long long>(c.alerts),
                  static_cast<unsigned long long>(c.matched_alerts), Fixed(c.precision, 3).c_str(),
                  Fixed(c.ttd_median_s, 1).c_str(), Fixed(c.ttd_p95_s, 1).c_str());
    out += buf;
  };
  for (const ClassEval& c : r.classes) row(c);
  row(r.all);
  const double days = static_cast<double>(r.span_ns) / kNanosPerDay;
  std::snprintf(
      buf, sizeof(buf),
      "decisions %llu, alerts %llu; false alerts %llu (%s per day over %s days); "
      "benign alerts %llu (benign incidents: %llu)\n",
      static_cast<unsigned long long>(r.decisions), static_cast<unsigned long long>(r.alerts),
      static_cast<unsigned long long>(r.false_alerts), Fixed(r.false_alerts_per_day, 3).c_str(),
      Fixed(days, 3).c_str(), static_cast<unsigned long long>(r.benign_alerts),
      static_cast<unsigned long long>(r.benign_incidents));
  out += buf;
  return out;
}

std::string EvalReportJson(const EvalReport& r) {
  std::string out = "{\"classes\":[";
  for (size_t i = 0; i < r.classes.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendClassJson(&out, r.classes[i]);
  }
  out.append("],\"all\":");
  AppendClassJson(&out, r.all);
  out.append(",\"decisions\":" + std::to_string(r.decisions));
  out.append(",\"alerts\":" + std::to_string(r.alerts));
  out.append(",\"false_alerts\":" + std::to_string(r.false_alerts));
  out.append(",\"false_alerts_per_day\":" + Number(r.false_alerts_per_day));
  out.append(",\"benign_alerts\":" + std::to_string(r.benign_alerts));
  out.append(",\"benign_incidents\":" + std::to_string(r.benign_incidents));
  out.append(",\"span_s\":" +
             Number(static_cast<double>(r.span_ns) / static_cast<double>(kNanosPerSecond)));
  out.append("}\n");
  return out;
}

}  // namespace dnsight
