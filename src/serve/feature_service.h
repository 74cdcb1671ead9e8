// FeatureService: the in-process read path of the feature store. For each requested
// (view, entity) it reads the online record and says how fresh it is:
//
//   fresh    a record whose age (clock now - window end) is within the view's TTL
//   expired  a record older than the TTL: served with its version and window end, but its
//            values withheld (NaN, i.e. null), so an expired value counts as absent and is
//            marked so. The TTL is the one registered for the record's version; 0 = never
//            expires. Age == TTL is still fresh (as in the point-in-time join).
//   absent   no record for the entity
//   invalid  a record the registry cannot explain (its version is not registered, or it
//            holds a different number of values than that version has features); values
//            withheld and counted
//
// Feature names come from the registry entry of the record's version, so a record written
// by an older version is served with that version's names.
//
// Registry lookups are cached: one immutable snapshot per view (the latest definition and
// the names and TTL of every version), shared with the responses that use it. A record
// whose version is not in the snapshot triggers a reload of that view, at most once per
// kSnapshotReloadInterval (so a store full of unregistered versions cannot turn every
// read into a registry copy). Registering a
// view in this process must be followed by InvalidateView (HttpApi does this), otherwise
// metadata changes (TTL, sensitivity) are not seen until the snapshot is reloaded.
//
// Thread-safety: GetFeatures, Snapshot and InvalidateView may be called concurrently.
// Ownership: the service borrows the registry, the store and the clock; all three must
// outlive it. A FeatureResponse is owned by the caller and reused across calls to avoid
// allocation; each caller thread needs its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/online_store.h"
#include "dnsight/status.h"
#include "store/registry.h"

namespace dnsight {

enum class FeatureStatus : uint8_t { kFresh, kExpired, kAbsent, kInvalid };

// "fresh" | "expired" | "absent" | "invalid".
std::string_view FeatureStatusName(FeatureStatus s);

// What the service knows about one view, as of one registry read. Immutable.
struct ViewSnapshot {
  struct Version {
    std::string version;
    std::vector<std::string> feature_names;
    int64_t ttl_ns = 0;
  };
  RegisteredView latest;
  std::vector<Version> versions;  // oldest first
  int64_t loaded_at_ns = 0;       // clock reading when the registry was read

  const Version* Find(std::string_view version) const;
};

// The answer for one (view, entity).
struct EntityFeatures {
  FeatureStatus status = FeatureStatus::kAbsent;
  std::string version;  // "" when absent
  int64_t window_end_ns = 0;
  int64_t staleness_ns = 0;  // clock now - window_end_ns (0 when absent)
  // Names of `version`'s features; null when absent or invalid. Points into the
  // ViewFeatures' snapshot and stays valid as long as the response is not reused.
  const std::vector<std::string>* names = nullptr;
  // Parallel to *names. NaN = null: undefined (a mean of nothing) or withheld.
  std::vector<double> values;
};

struct ViewFeatures {
  std::shared_ptr<const ViewSnapshot> view;
  std::vector<EntityFeatures> entities;  // parallel to the requested entities
};

struct FeatureResponse {
  std::vector<ViewFeatures> views;  // parallel to the requested views
  int64_t now_ns = 0;               // the clock reading staleness is measured from

  // Scratch space kept between calls; not part of the answer.
  std::vector<std::optional<OnlineRecord>> scratch;
};

// Counted since construction; read with relaxed loads (monitoring only).
struct FeatureServiceCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> lookups{0};  // (view, entity) pairs
  std::atomic<uint64_t> fresh{0};
  std::atomic<uint64_t> expired{0};
  std::atomic<uint64_t> absent{0};
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> unknown_view{0};    // requests naming an unregistered view
  std::atomic<uint64_t> store_errors{0};    // MultiGet failures
  std::atomic<uint64_t> registry_loads{0};  // snapshot (re)loads
};

class FeatureService {
 public:
  static constexpr int64_t kSnapshotReloadInterval = 1'000'000'000;

  FeatureService(Registry& registry, OnlineStore& store, const Clock& clock)
      : registry_(registry), store_(store), clock_(clock) {}
  FeatureService(const FeatureService&) = delete;
  FeatureService& operator=(const FeatureService&) = delete;

  // Reads every entity of every view into *out. NotFound (naming the view) when a view is
  // not registered; InvalidArgument when `views` is empty; the store's error when a
  // lookup fails. On error *out is unspecified.
  Status GetFeatures(std::span<const std::string> views, std::span<const std::string> entities,
                     FeatureResponse* out);

  // The cached snapshot of `view`, loading it on first use. NotFound when not registered.
  Result<std::shared_ptr<const ViewSnapshot>> Snapshot(std::string_view view);

  // Drops the cached snapshot of `view` (after a registration changed it).
  void InvalidateView(std::string_view view);
  void InvalidateAll();

  const FeatureServiceCounters& counters() const { return counters_; }

 private:
  Result<std::shared_ptr<const ViewSnapshot>> Load(std::string_view view, int64_t now_ns);

  Registry& registry_;
  OnlineStore& store_;
  const Clock& clock_;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const ViewSnapshot>, std::less<>> snapshots_;

  FeatureServiceCounters counters_;
};

}  // namespace dnsight
