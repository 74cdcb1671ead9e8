#include "cli/api_setup.h"

#include <cstdio>

namespace dnsight {

Result<std::unique_ptr<RunningApi>> RunningApi::Start(const EngineConfig& cfg,
                                                      FeatureStoreHandles& store,
                                                      const Clock& clock,
                                                      const DecisionLog* decisions,
                                                      ChangeEvents* changes, OperationsView* ops) {
  if (!store.online)
    return Status::InvalidArgument("api: serving needs an online store (store.online is none)");
  auto tokens = TokensFromConfig(cfg.api.tokens);
  if (!tokens.ok()) return tokens.status();
  if (tokens->empty())
    std::fprintf(stderr,
                 "dnsight: api: no tokens configured, every caller is admin; keep the listen "
                 "address on loopback\n");
  std::unique_ptr<RunningApi> api(new RunningApi());
  auto audit = AuditLog::Open(cfg.api.audit_log.empty() ? cfg.store.path + "/audit.jsonl"
                                                        : cfg.api.audit_log);
  if (!audit.ok()) return audit.status();
  api->audit_ = std::move(audit.value());
  api->service_ = std::make_unique<FeatureService>(*store.registry, *store.online, clock);
  api->http_ =
      std::make_unique<HttpApi>(cfg.api, *api->service_, *store.registry, store.offline.get(),
                                Authenticator(std::move(*tokens)), *api->audit_, clock);
  api->http_->AttachDetection(decisions, changes);
  api->http_->AttachOperations(ops);
  if (Status s = api->http_->Start(); !s.ok()) return s;
  std::fprintf(stderr, "dnsight: api listening on %s://%s (port %d)\n",
               api->tls() ? "https" : "http", cfg.api.listen.c_str(), api->port());
  return api;
}

RunningApi::~RunningApi() {
  if (http_) http_->Stop();
}

}  // namespace dnsight
