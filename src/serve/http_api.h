// HttpApi: the feature store's HTTP(S) serving API (cpp-httplib), JSON in and out.
//
//   GET  /v1/health                          {"status":"ok"}; no token needed
//   GET  /v1/views                           latest version of every view; views the caller
//                                            may not read are listed with "readable": false
//   GET  /v1/views/{name}                    every version with lineage
//   GET  /v1/views/{name}/diff?from=&to=     text diff of two versions (defaults: the
//                                            version before the latest, and the latest)
//   POST /v1/views                           admin: register a RegisteredView JSON body
//   POST /v1/features/get                    {"views":[..],"entity":".."}
//   POST /v1/features/batch                  {"views":[..],"entities":[..]}
//   GET  /v1/decisions?since=&class=&limit=  recent decisions (newest last)
//   POST /v1/changes                         admin: one change event, or {"events":[...]}
//   GET  /v1/alerts?state=open|all&limit=    alerts (open by default), newest first
//   GET  /v1/actions?limit=                  recent remediation actions, newest first
//   GET  /v1/stats                           live rates and totals for the dashboard
//   POST /v1/decisions/{id}/feedback         trainer: accept | suppress | reclassify
//   GET  /metrics                            Prometheus exposition; no token needed
//   GET  /ui/                                the web dashboard (static files; no token)
//   POST /v1/features/historical             trainer: point-in-time join of a spine (JSON
//                                            rows, or a CSV body with ?views=a,b)
//
// Any role may list and describe every view (definitions and lineage are not feature
// values); reading values of a sensitive view needs a role in its allowed_roles (or admin).
//
// Every error is a 4xx/5xx with {"error": message}: 400 malformed request, 401 missing or
// unknown token, 403 role too low or sensitive view not allowed, 404 unknown view (or an
// entity absent from every requested view in /get), 413 body or batch over the limits,
// 503 no offline store. Every request but /v1/health, a 401 included, writes one audit
// record per view it names (see audit_log.h). If a feature read's audit record
// cannot be written, the read fails with 500: no feature leaves unaudited.
//
// Requests are served by a pool of ApiConfig::threads threads; a keep-alive connection
// holds a thread while it is open, so threads bounds the concurrent connections.
//
// Thread-safety: Start and Stop are called from one thread; handlers run on the pool.
// Ownership: the API borrows the service, registry, offline store, audit log and clock;
// all must outlive it (or at least its Stop()). The destructor stops the server.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "detect/change_events.h"
#include "detect/decision_log.h"
#include "dnsight/clock.h"
#include "dnsight/status.h"
#include "engine/config.h"
#include "serve/audit_log.h"
#include "serve/auth.h"
#include "serve/feature_service.h"
#include "serve/operations_view.h"
#include "store/offline_store.h"
#include "store/registry.h"

namespace dnsight {

struct HttpApiLimits {
  size_t max_body_bytes = 16u << 20;       // larger bodies get 413 before being read whole
  size_t max_batch_entities = 1000;        // /batch: more entities get 413
  size_t max_views_per_request = 64;       // more views get 400
  size_t max_spine_rows = 1'000'000;       // /historical: more rows get 413
  size_t keep_alive_max_requests = 10000;  // per connection, then the server closes it
  int keep_alive_timeout_s = 5;            // idle connections are closed after this
};

// Counted since Start; relaxed atomics, for monitoring.
struct HttpApiCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> unauthenticated{0};  // 401
  std::atomic<uint64_t> forbidden{0};        // 403
  std::atomic<uint64_t> bad_requests{0};     // 400 and 413 from handlers
  std::atomic<uint64_t> audit_failures{0};
};

// Splits "host:port" or "[v6]:port". Port 0 means any free port.
Status ParseListenAddress(const std::string& listen, std::string* host, int* port);

class HttpApi {
 public:
  HttpApi(ApiConfig config, FeatureService& service, Registry& registry, OfflineStore* offline,
          Authenticator auth, AuditLog& audit, const Clock& clock, HttpApiLimits limits = {});
  ~HttpApi();
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Serves GET /v1/decisions (recent decisions, any role) and POST /v1/changes (change
  // events, admin) from these. Either may be null (the endpoint then answers 503).
  // REQUIRES: called before Start; both outlive the API.
  void AttachDetection(const DecisionLog* decisions, ChangeEvents* changes) {
    decisions_ = decisions;
    changes_ = changes;
  }

  // Serves alerts, actions, stats, /metrics and feedback from `ops` (may be null: those
  // endpoints then answer 503). REQUIRES: called before Start; ops outlives the API.
  void AttachOperations(OperationsView* ops) { ops_ = ops; }

  // Binds config.listen (HTTPS when tls_cert and tls_key are both set) and serves on a
  // background thread. Returns once the socket is bound: port() is then the bound port.
  // Errors: bad listen address, unreadable certificate or key, address in use.
  Status Start();
  // Stops accepting, waits for in-flight requests and joins the threads. Idempotent.
  void Stop();

  int port() const { return port_; }
  bool tls() const;
  const HttpApiCounters& counters() const { return counters_; }

 private:
  struct Impl;  // holds the httplib server, so httplib.h stays out of this header

  ApiConfig config_;
  FeatureService& service_;
  Registry& registry_;
  const DecisionLog* decisions_ = nullptr;
  ChangeEvents* changes_ = nullptr;
  OperationsView* ops_ = nullptr;
  OfflineStore* offline_;
  Authenticator auth_;
  AuditLog& audit_;
  const Clock& clock_;
  HttpApiLimits limits_;
  HttpApiCounters counters_;

  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dnsight
