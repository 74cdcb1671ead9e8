// Evaluation of detector decisions against an incident timeline (docs/decisions.md).
//
// An alert (a decision with alert true) matches an incident when the classes are equal,
// the decision's scope.entity equals the incident's scope.value, and the alert's ts lies in
// [start, end + grace]. From the matches:
//   recall per class     incidents with at least one matching alert / incidents
//   precision per class  alerts that match an incident / alerts of that class
//   false alerts         alerts that match no non-benign incident, per day of the span
//   benign alerts        those false alerts that lie in a benign incident's window
//                        [start, end + grace] and scope (the goal is zero)
//   time to detect       first matching alert ts - incident start: median and p95 over
//                        the detected incidents (linear interpolation between ranks)
// Benign incidents are never detection targets: only non-benign incidents are matched.
// A benign scope contains an alert when its value equals the alert's scope.entity, when it
// is kind "region" and its value equals the alert's scope.rollup, or when it is kind
// "global". The span is the earliest to the latest of every incident start and end and
// every decision ts (alerts or not), unless EvalOptions::span_ns is set.
//
// Parsing: one JSON object per line, blank lines skipped. Times are read from the `_ns`
// integer field when present, else from the RFC 3339 text. An incident's `benign` defaults
// from its class (traffic_surge, maintenance and ttl_change are benign). Decisions with
// alert false need only a time. Every error names the line.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "detect/decision.h"
#include "dnsight/status.h"

namespace dnsight {

// One line of incidents.jsonl, as far as evaluation needs it.
struct EvalIncident {
  std::string id;
  std::string klass;
  bool benign = false;
  std::string scope_kind;
  std::string scope_value;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
};

bool IsBenignClass(std::string_view cls);

// One line each; the Status message says what is wrong (without the line number). A
// decision fills id, ts_ns, alert and, for alerts, klass, entity and rollup.
Status ParseIncidentLine(std::string_view line, EvalIncident* out);
Status ParseDecisionLine(std::string_view line, Decision* out);

// Whole files; errors read "<name>:<line>: <what>". Blank lines are skipped.
Result<std::vector<EvalIncident>> ReadIncidents(std::istream& in, std::string_view name);
Result<std::vector<Decision>> ReadDecisions(std::istream& in, std::string_view name);

struct EvalOptions {
  int64_t grace_ns = 300'000'000'000;  // 5m after an incident's end
  int64_t span_ns = 0;                 // 0: from the inputs (see above)
};

struct ClassEval {
  std::string klass;  // "all" for the total row
  uint64_t incidents = 0;
  uint64_t detected = 0;
  uint64_t alerts = 0;
  uint64_t matched_alerts = 0;
  double precision = 0;     // NaN when there are no alerts
  double recall = 0;        // NaN when there are no incidents
  double ttd_median_s = 0;  // NaN when nothing was detected
  double ttd_p95_s = 0;
};

struct EvalReport {
  std::vector<ClassEval> classes;  // sorted by class name
  ClassEval all;
  uint64_t decisions = 0;
  uint64_t alerts = 0;
  uint64_t false_alerts = 0;
  uint64_t benign_alerts = 0;
  uint64_t benign_incidents = 0;
  int64_t span_ns = 0;
  double false_alerts_per_day = 0;  // NaN when the span is 0
};

EvalReport Evaluate(const std::vector<EvalIncident>& incidents,
                    const std::vector<Decision>& decisions, const EvalOptions& options);

// Linear-interpolation quantile (q in [0, 1]) of unsorted values; NaN when empty.
double Quantile(std::vector<double> values, double q);

// A fixed-width text table with the per-class rows, the total and the alert summary.
std::string FormatEvalTable(const EvalReport& report);
// The same as one JSON object (NaN as null).
std::string EvalReportJson(const EvalReport& report);

}  // namespace dnsight
