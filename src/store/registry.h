// Registry: versioned definitions of feature views, kept beside the stores.
//
// Each registered version is one JSON file, <dir>/<view>/<version>.json, written to a
// temporary file, synced and renamed into place, so a crash never leaves a half-written
// definition. A view's version is the hash of its computation (FeatureView::version):
// changing an aggregation, window, filter or transform makes a new version, and every
// older version stays readable (the offline store keeps rows written under it).
// Metadata (owner, description, sensitivity, TTL, retention) is not part of the
// computation; registering the same version again updates it in place.
//
// Thread-safety: all methods are thread-safe (one mutex; registry calls are rare).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"
#include "features/feature_view.h"

namespace dnsight {

struct Lineage {
  std::vector<std::string> sources;     // "dnstap_unix:/run/unbound/dnstap.sock", …
  std::vector<std::string> filter;      // one predicate per entry, e.g. "qtype in [TXT]"
  std::vector<std::string> transforms;  // "query_rate_1m_ewma", …
};

struct RegisteredView {
  std::string name;
  std::string version;
  std::string entity;  // entity kind name, e.g. "client", "registered_domain"
  std::string owner;
  std::string description;
  std::string sensitivity = "normal";      // normal | sensitive
  std::vector<std::string> allowed_roles;  // roles that may read it when sensitive
  int64_t ttl_ns = 0;                      // 0: values never expire at read time
  int64_t retention_ns = 0;                // offline retention; 0: keep forever
  std::vector<std::string> feature_names;
  std::string definition;  // FeatureView::CanonicalForm()
  Lineage lineage;
  int64_t registered_at_ns = 0;
};

// The registry record for a view as loaded from config. `sources` are the config's
// sources, written as "<type>:<path or address>".
RegisteredView DescribeView(const FeatureView& v, const std::vector<std::string>& sources,
                            int64_t now_ns);

std::string RegisteredViewToJson(const RegisteredView& r);
Result<RegisteredView> RegisteredViewFromJson(std::string_view json);

// Line diff of two versions: metadata fields that differ, then features and definition
// lines only in `from` ("- ") or only in `to` ("+ ").
std::string DiffViews(const RegisteredView& from, const RegisteredView& to);

class Registry {
 public:
  // Creates `dir` if needed and loads every definition under it. Files that do not parse
  // are reported as an error naming the file.
  static Result<std::unique_ptr<Registry>> Open(const std::string& dir);

  // Stores the definition. Returns true when the version is new for this view.
  Result<bool> Register(const RegisteredView& v);

  // The most recently registered version of a view.
  Result<RegisteredView> Latest(std::string_view view) const;
  Result<RegisteredView> Get(std::string_view view, std::string_view version) const;
  // Latest version of every view, sorted by name.
  std::vector<RegisteredView> List() const;
  // Every version of one view, oldest first.
  std::vector<RegisteredView> Versions(std::string_view view) const;

 private:
  explicit Registry(std::string dir) : dir_(std::move(dir)) {}
  Status WriteFile(const RegisteredView& v) const;

  std::string dir_;
  mutable std::mutex mu_;
  // view -> versions in registration order.
  std::map<std::string, std::vector<RegisteredView>, std::less<>> views_;
};

}  // namespace dnsight
