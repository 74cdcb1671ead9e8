// OperationsView: what the HTTP API serves about operations — alerts, remediation
// actions, live statistics, Prometheus metrics — and where operator feedback goes. The
// runtime that owns the alert lifecycle, the remediator and the feedback store
// implements it (src/serve/ops_runtime.h); the API only formats requests and answers.
//
// Thread-safety: every method is called from API threads, concurrently with the engine.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "dnsight/status.h"

namespace dnsight {

class OperationsView {
 public:
  virtual ~OperationsView() = default;
  // {"alerts":[...]}: open alerts only, or open and recently resolved; newest first.
  virtual std::string AlertsJson(bool open_only, size_t limit) const = 0;
  // {"actions":[...]}: the newest remediation records, newest first.
  virtual std::string ActionsJson(size_t limit) const = 0;
  // {"now":..,"interval_s":..,"series":{...},"totals":{...},"models":[...]}.
  virtual std::string StatsJson() const = 0;
  // Prometheus text exposition (version 0.0.4).
  virtual std::string MetricsText() const = 0;
  // Records a verdict on a decision (body: see act/feedback.h); returns the stored
  // feedback as JSON in *out. NotFound when the decision is unknown; InvalidArgument for
  // a malformed body.
  virtual Status Feedback(std::string_view decision_id, std::string_view body,
                          std::string_view user, std::string* out) = 0;
};

}  // namespace dnsight
