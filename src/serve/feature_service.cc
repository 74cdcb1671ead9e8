#include "serve/feature_service.h"

#include <algorithm>
#include <limits>
#include <mutex>

namespace dnsight {
namespace {

// Moves one record into *e and judges it against `snap`.
void Resolve(const ViewSnapshot& snap, OnlineRecord& rec, int64_t now_ns, EntityFeatures* e) {
  e->version.swap(rec.version);
  e->window_end_ns = rec.window_end_ns;
  e->staleness_ns = now_ns - rec.window_end_ns;
  e->values.swap(rec.values);
  const ViewSnapshot::Version* v = snap.Find(e->version);
  if (v == nullptr || v->feature_names.size() != e->values.size()) {
    e->status = FeatureStatus::kInvalid;
    e->names = nullptr;
    std::fill(e->values.begin(), e->values.end(), std::numeric_limits<double>::quiet_NaN());
  } else if (v->ttl_ns > 0 && e->staleness_ns > v->ttl_ns) {
    e->status = FeatureStatus::kExpired;
    e->names = &v->feature_names;
    std::fill(e->values.begin(), e->values.end(), std::numeric_limits<double>::quiet_NaN());
  } else {
    e->status = FeatureStatus::kFresh;
    e->names = &v->feature_names;
  }
}

}  // namespace

std::string_view FeatureStatusName(FeatureStatus s) {
  switch (s) {
    case FeatureStatus::kFresh:
      return "fresh";
    case FeatureStatus::kExpired:
      return "expired";
    case FeatureStatus::kAbsent:
      return "absent";
    case FeatureStatus::kInvalid:
      return "invalid";
  }
  return "invalid";
}

const ViewSnapshot::Version* ViewSnapshot::Find(std::string_view version) const {
  // Newest first: records are usually written by the latest version.
  for (auto it = versions.rbegin(); it != versions.rend(); ++it)
    if (it->version == version) return &*it;
  return nullptr;
}

Result<std::shared_ptr<const ViewSnapshot>> FeatureService::Load(std::string_view view,
                                                                 int64_t now_ns) {
  counters_.registry_loads.fetch_add(1, std::memory_order_relaxed);
  auto latest = registry_.Latest(view);
  if (!latest.ok()) return latest.status();
  auto snap = std::make_shared<ViewSnapshot>();
  snap->latest = std::move(latest.value());
  snap->loaded_at_ns = now_ns;
  for (auto& v : registry_.Versions(view))
    snap->versions.push_back({std::move(v.version), std::move(v.feature_names), v.ttl_ns});
  std::shared_ptr<const ViewSnapshot> out = std::move(snap);
  std::unique_lock lock(mu_);
  auto it = snapshots_.find(view);
  if (it == snapshots_.end())
    snapshots_.emplace(std::string(view), out);
  else
    it->second = out;
  return out;
}

Result<std::shared_ptr<const ViewSnapshot>> FeatureService::Snapshot(std::string_view view) {
  {
    std::shared_lock lock(mu_);
    auto it = snapshots_.find(view);
    if (it != snapshots_.end()) return it->second;
  }
  return Load(view, clock_.NowNs());
}

void FeatureService::InvalidateView(std::string_view view) {
  std::unique_lock lock(mu_);
  auto it = snapshots_.find(view);
  if (it != snapshots_.end()) snapshots_.erase(it);
}

void FeatureService::InvalidateAll() {
  std::unique_lock lock(mu_);
  snapshots_.clear();
}

Status FeatureService::GetFeatures(std::span<const std::string> views,
                                   std::span<const std::string> entities, FeatureResponse* out) {
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  if (views.empty()) return Status::InvalidArgument("no views requested");
  out->views.resize(views.size());
  out->now_ns = clock_.NowNs();
  uint64_t by_status[4] = {0, 0, 0, 0};
  for (size_t vi = 0; vi < views.size(); ++vi) {
    ViewFeatures& vf = out->views[vi];
    auto snap = Snapshot(views[vi]);
    if (!snap.ok()) {
      counters_.unknown_view.fetch_add(1, std::memory_order_relaxed);
      return snap.status();
    }
    vf.view = std::move(snap.value());
    if (Status s = store_.MultiGet(views[vi], entities, &out->scratch); !s.ok()) {
      counters_.store_errors.fetch_add(1, std::memory_order_relaxed);
      return s;
    }
    if (out->scratch.size() != entities.size())
      return Status::Internal("online store returned " + std::to_string(out->scratch.size()) +
                              " results for " + std::to_string(entities.size()) + " entities");
    // A version missing from the snapshot may have been registered since it was taken:
    // reload (rate-limited), then resolve everything against the new snapshot.
    const int64_t age = out->now_ns - vf.view->loaded_at_ns;
    if (age >= kSnapshotReloadInterval || age < 0) {
      for (auto& rec : out->scratch) {
        if (!rec || vf.view->Find(rec->version) != nullptr) continue;
        auto reloaded = Load(views[vi], out->now_ns);
        if (!reloaded.ok()) return reloaded.status();
        vf.view = std::move(reloaded.value());
        break;
      }
    }
    vf.entities.resize(entities.size());
    for (size_t ei = 0; ei < entities.size(); ++ei) {
      EntityFeatures& e = vf.entities[ei];
      std::optional<OnlineRecord>& rec = out->scratch[ei];
      if (rec) {
        Resolve(*vf.view, *rec, out->now_ns, &e);
      } else {
        e.status = FeatureStatus::kAbsent;
        e.version.clear();
        e.window_end_ns = 0;
        e.staleness_ns = 0;
        e.names = nullptr;
        e.values.clear();
      }
      ++by_status[static_cast<int>(e.status)];
    }
  }
  counters_.lookups.fetch_add(views.size() * entities.size(), std::memory_order_relaxed);
  if (by_status[0]) counters_.fresh.fetch_add(by_status[0], std::memory_order_relaxed);
  if (by_status[1]) counters_.expired.fetch_add(by_status[1], std::memory_order_relaxed);
  if (by_status[2]) counters_.absent.fetch_add(by_status[2], std::memory_order_relaxed);
  if (by_status[3]) counters_.invalid.fetch_add(by_status[3], std::memory_order_relaxed);
  return Status::Ok();
}

}  // namespace dnsight
