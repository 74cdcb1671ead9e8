// ChangeEvents: deploys, zone changes, certificate deploys and maintenance windows, as
// context for detectors (format: docs/decisions.md, changes.jsonl).
//
// Maintenance windows are built from maintenance_start / maintenance_end pairs (matched by
// id, else by scope); a start without an end stays open. A scope is a (kind, value) pair:
// a resolver address, a region, a domain, a service, or kind "global" for everything.
// Detectors ask whether a scope value was under maintenance at an event time, and which
// change most recently touched it.
//
// Malformed lines are counted and sampled, never fatal.
//
// Thread-safety: Add* and queries take one mutex, so the API may add events while the
// detector reads them.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

struct ChangeEvent {
  int64_t ts_ns = 0;
  std::string kind;  // deploy | zone_change | cert_deploy | maintenance_start | maintenance_end
  std::string scope_kind;
  std::string scope_value;
  std::string id;
  std::string note;
};

struct MaintenanceWindow {
  std::string id;
  std::string scope_kind, scope_value;
  int64_t start_ns = 0;
  int64_t end_ns = INT64_MAX;  // open until an end arrives
  std::string note;
};

class ChangeEvents {
 public:
  Status AddJsonLine(std::string_view line);
  // Reads every line of a file; fails only when it cannot be read.
  Status AddFile(const std::string& path);
  void Add(const ChangeEvent& e);

  // The maintenance window covering (any of) `scope_values` at ts, if any. A window on
  // scope kind "global" covers everything.
  std::optional<MaintenanceWindow> MaintenanceAt(std::span<const std::string> scope_values,
                                                 int64_t ts_ns) const;
  // The latest non-maintenance change on one of `scope_values` (or global) in
  // [ts - within, ts].
  std::optional<ChangeEvent> RecentChange(std::span<const std::string> scope_values, int64_t ts_ns,
                                          int64_t within_ns) const;

  uint64_t events() const;
  // Events by kind (deploy, zone_change, maintenance_start, ...), for /metrics.
  std::map<std::string, uint64_t> CountsByKind() const;
  // Maintenance windows open at ts.
  size_t ActiveMaintenance(int64_t ts_ns) const;
  uint64_t rejected() const;
  std::vector<std::string> rejected_samples() const;

 private:
  mutable std::mutex mu_;
  std::vector<ChangeEvent> changes_;  // non-maintenance events
  std::vector<MaintenanceWindow> windows_;
  uint64_t events_ = 0, rejected_ = 0;
  std::map<std::string, uint64_t> by_kind_;
  std::vector<std::string> samples_;
};

}  // namespace dnsight
