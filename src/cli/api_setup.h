// The serving API as `dnsight run` and `dnsight serve` start it from a config: audit log,
// feature service and HTTP(S) server over an open feature store.
//
// Ownership: borrows the store handles and the clock, which must outlive it.
#pragma once

#include <memory>

#include "cli/store_setup.h"
#include "dnsight/clock.h"
#include "serve/audit_log.h"
#include "serve/feature_service.h"
#include "serve/http_api.h"

namespace dnsight {

class RunningApi {
 public:
  // REQUIRES: !cfg.api.listen.empty(). Needs an online store (store.online not none).
  // decisions and changes (may be null) back /v1/decisions and /v1/changes; ops (may be
  // null) backs alerts, actions, stats, /metrics and feedback.
  static Result<std::unique_ptr<RunningApi>> Start(const EngineConfig& cfg,
                                                   FeatureStoreHandles& store, const Clock& clock,
                                                   const DecisionLog* decisions = nullptr,
                                                   ChangeEvents* changes = nullptr,
                                                   OperationsView* ops = nullptr);
  const HttpApiCounters& counters() const { return http_->counters(); }
  ~RunningApi();

  int port() const { return http_->port(); }
  bool tls() const { return http_->tls(); }

 private:
  RunningApi() = default;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<FeatureService> service_;
  std::unique_ptr<HttpApi> http_;
};

}  // namespace dnsight
