#include "detect/change_events.h"

#include <simdjson.h>

#include <algorithm>
#include <fstream>

#include "common/time_util.h"

namespace dnsight {
namespace {

constexpr size_t kMaxSamples = 5;
constexpr size_t kMaxFieldBytes = 512;

bool Covers(std::string_view scope_kind, std::string_view scope_value,
            std::span<const std::string> values) {
  if (scope_kind == "global") return true;
  return std::find(values.begin(), values.end(), scope_value) != values.end();
}

}  // namespace

std::map<std::string, uint64_t> ChangeEvents::CountsByKind() const {
  std::lock_guard lock(mu_);
  return by_kind_;
}

size_t ChangeEvents::ActiveMaintenance(int64_t ts_ns) const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& w : windows_) n += w.start_ns <= ts_ns && ts_ns < w.end_ns;
  return n;
}

void ChangeEvents::Add(const ChangeEvent& e) {
  std::lock_guard lock(mu_);
  ++events_;
  if (by_kind_.size() < 64 || by_kind_.count(e.kind)) ++by_kind_[e.kind];
  if (e.kind == "maintenance_start") {
    windows_.push_back({e.id, e.scope_kind, e.scope_value, e.ts_ns, INT64_MAX, e.note});
    return;
  }
  if (e.kind == "maintenance_end") {
    // Close the latest open window with this id (or, without an id, this scope).
    for (auto it = windows_.rbegin(); it != windows_.rend(); ++it) {
      const bool same = !e.id.empty()
                            ? it->id == e.id
                            : it->scope_kind == e.scope_kind && it->scope_value == e.scope_value;
      if (same && it->end_ns == INT64_MAX && it->start_ns <= e.ts_ns) {
        it->end_ns = e.ts_ns;
        return;
      }
    }
    return;  // an end without a start: nothing to close
  }
  changes_.push_back(e);
}

Status ChangeEvents::AddJsonLine(std::string_view line) {
  const auto reject = [&](const char* why) {
    std::lock_guard lock(mu_);
    ++rejected_;
    if (samples_.size() < kMaxSamples)
      samples_.push_back(std::string(why) + ": " + std::string(line.substr(0, 200)));
    return Status::InvalidArgument(why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return reject("bad_json");
  ChangeEvent e;
  std::string_view s;
  int64_t ns = 0;
  if (doc["ts_ns"].get_int64().get(ns) == simdjson::SUCCESS) {
    e.ts_ns = ns;
  } else if (doc["ts"].get_string().get(s) == simdjson::SUCCESS && ParseRfc3339(s)) {
    e.ts_ns = *ParseRfc3339(s);
  } else {
    return reject("bad_ts");
  }
  if (doc["kind"].get_string().get(s) != simdjson::SUCCESS) return reject("missing_kind");
  e.kind = s;
  if (e.kind != "deploy" && e.kind != "zone_change" && e.kind != "cert_deploy" &&
      e.kind != "maintenance_start" && e.kind != "maintenance_end")
    return reject("unknown_kind");
  simdjson::dom::element scope;
  if (doc["scope"].get(scope) == simdjson::SUCCESS && scope.is_object()) {
    if (scope["kind"].get_string().get(s) == simdjson::SUCCESS) e.scope_kind = s;
    if (scope["value"].get_string().get(s) == simdjson::SUCCESS) e.scope_value = s;
  }
  if (e.scope_kind.empty()) e.scope_kind = "global";
  if (doc["id"].get_string().get(s) == simdjson::SUCCESS) e.id = s;
  if (doc["note"].get_string().get(s) == simdjson::SUCCESS) e.note = s;
  if (e.scope_value.size() > kMaxFieldBytes || e.id.size() > kMaxFieldBytes ||
      e.note.size() > kMaxFieldBytes)
    return reject("field_too_long");
  Add(e);
  return Status::Ok();
}

Status ChangeEvents::AddFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read change events " + path);
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) (void)AddJsonLine(line);
  return Status::Ok();
}

std::optional<MaintenanceWindow> ChangeEvents::MaintenanceAt(std::span<const std::string> values,
                                                             int64_t ts_ns) const {
  std::lock_guard lock(mu_);
  for (const auto& w : windows_)
    if (ts_ns >= w.start_ns && ts_ns < w.end_ns && Covers(w.scope_kind, w.scope_value, values))
      return w;
  return std::nullopt;
}

std::optional<ChangeEvent> ChangeEvents::RecentChange(std::span<const std::string> values,
                                                      int64_t ts_ns, int64_t within_ns) const {
  std::lock_guard lock(mu_);
  const ChangeEvent* best = nullptr;
  for (const auto& c : changes_) {
    if (c.ts_ns > ts_ns || c.ts_ns < ts_ns - within_ns) continue;
    if (!Covers(c.scope_kind, c.scope_value, values)) continue;
    if (best == nullptr || c.ts_ns > best->ts_ns) best = &c;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

uint64_t ChangeEvents::events() const {
  std::lock_guard lock(mu_);
  return events_;
}
uint64_t ChangeEvents::rejected() const {
  std::lock_guard lock(mu_);
  return rejected_;
}
std::vector<std::string> ChangeEvents::rejected_samples() const {
  std::lock_guard lock(mu_);
  return samples_;
}

}  // namespace dnsight
