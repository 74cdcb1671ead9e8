// FeatureView: a declarative definition of per-entity windowed features.
//
// A view names its entity (what the features are about), a filter (which events count),
// aggregations, windows, and time-series transforms. Feature names are
// "<aggregation output>_<window>", e.g. "nxdomain_ratio_5m" or "latency_p99_1m";
// transform outputs append the transform, e.g. "queries_1m_ewma". The version is a hash
// of the canonical definition (not of the YAML text), so reformatting the file does not
// change it, but changing any field does.
//
// Views are immutable after config load and shared read-only by all shards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/aggregator.h"
#include "dnsight/dns_event.h"
#include "features/lease_table.h"
#include "features/timeseries.h"

namespace dnsight {

enum class EntityKind : uint8_t {
  kClient,
  kClientPrefix,  // client address masked to prefix_v4 / prefix_v6 bits
  kQname,
  kRegisteredDomain,
  kServer,
  kQtype,
  kGlobal,  // one entity for all events ("*")
  kDevice,  // the device leasing the client address at the event's time (LeaseTable)
  // Entities of the built-in hosting views (src/hosting): the key is the text itself.
  kService,  // a vhost or service name from web access logs
  kNode,     // an edge or host node name (web logs, host metrics)
};

// DNS view entities only: service and node belong to the built-in hosting views.
bool ParseEntityKind(std::string_view name, EntityKind* out);
std::string_view EntityKindName(EntityKind k);

struct FeatureTransform {
  std::string source_feature;  // e.g. "queries_1m"
  TransformSpec spec;
};

struct FeatureView {
  std::string name;
  EntityKind entity = EntityKind::kClient;
  int prefix_v4 = 24;
  int prefix_v6 = 48;
  std::vector<EventPredicate> filter;  // all must match
  std::vector<AggregationSpec> aggregations;
  std::vector<bool> per_second;  // parallel to aggregations: divide by window seconds
  std::vector<int64_t> windows_ns;
  std::vector<FeatureTransform> transforms;
  // For EntityKind::kDevice: the lease history (owned by the EngineConfig; immutable).
  const LeaseTable* leases = nullptr;
  // Metadata: not part of the computation, so not part of the version.
  std::string owner;
  std::string description;
  std::string sensitivity = "normal";      // normal | sensitive
  std::vector<std::string> allowed_roles;  // roles that may read a sensitive view
  int64_t ttl_ns = 0;        // online/PIT values older than this read as absent; 0 = longest window
  int64_t retention_ns = 0;  // offline history kept; 0 = forever
  // "" for views over DNS events (declared in YAML, computed by the engine). "web" or
  // "host" for the built-in hosting views (src/hosting), whose feature_names are set by
  // their maker and whose rows come from the hosting engines; the DNS engine skips them.
  std::string builtin;

  // Derived at load (Finalize()).
  std::string version;                      // 16 hex digits
  std::vector<std::string> feature_names;   // windows × aggregation outputs, then transforms
  std::vector<int> transform_source_index;  // index into feature_names for each transform
  int64_t longest_window_ns = 0;

  // Computes the derived fields. Returns an error message, or "" if the view is valid.
  // For a built-in view, feature_names must be set and aggregations left empty.
  std::string Finalize();
  // The canonical text the version hashes.
  std::string CanonicalForm() const;
  bool Accepts(const DnsEventBatch& b, const DnsEvent& e) const;
  // True when the filter, an aggregation or an aggregation's `where` reads field f.
  bool UsesField(DnsField f) const;
  // Entity key bytes for the event (appended to *key after clearing it).
  void EntityKey(const DnsEventBatch& b, const DnsEvent& e, std::string* key) const;
  // The hash entities are looked up by: XXH3_64bits of the key's bytes after its family
  // tag for client and server entities, of the whole key otherwise. It equals the batch
  // hash of the field named by EntityHashField().
  uint64_t EntityHash(std::string_view key) const;
  // The categorical field whose batch hash column (DnsEventBatch::FieldHashes) holds
  // EntityHash of each event's key, or nullopt when no column does.
  std::optional<DnsField> EntityHashField() const;
  // That column of `b` (one EntityHash per event), or nullptr when b has none.
  const uint64_t* EntityHashes(const DnsEventBatch& b) const;
  // Human-readable entity for output ("192.0.2.0/24", "example.com", "TXT").
  std::string EntityText(std::string_view key) const;
};

}  // namespace dnsight
