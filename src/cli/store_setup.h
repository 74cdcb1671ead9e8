// Opening the feature store a config describes, for the CLI commands.
//
// Layout under store.path:  registry/  offline/  online/ (RocksDB)  audit.jsonl
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dnsight/online_store.h"
#include "engine/config.h"
#include "store/offline_store.h"
#include "store/registry.h"

namespace dnsight {

struct FeatureStoreHandles {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<OfflineStore> offline;  // null when store.offline is false
  std::unique_ptr<OnlineStore> online;    // null when not wanted or store.online is none
};

// REQUIRES: !cfg.store.path.empty(). `want_online` false skips the online store (a
// backfill that writes history only, or `features historical`).
Result<FeatureStoreHandles> OpenFeatureStore(const EngineConfig& cfg, bool want_online);

// "<type>:<path or address>" for each configured source (registry lineage).
std::vector<std::string> SourceNames(const EngineConfig& cfg);

// Registers every view of cfg; prints a line for each new version.
Status RegisterConfigViews(Registry& registry, const EngineConfig& cfg, int64_t now_ns);

// An optional RFC 3339 time flag: empty leaves *out as it is; a bad one is reported on
// stderr naming the flag, and returns false.
bool ParseBound(const std::string& text, const char* flag, int64_t* out);

// Keeps only the named views (comma-separated); an unknown name is an error.
Status SelectViews(const std::string& names, EngineConfig* cfg);

}  // namespace dnsight
