// Host features from two consecutive node_exporter scrapes of one node.
//
// DeriveHostFeatures() turns the previous and the current scrape into one row of the
// "host" feature view; the columns are HostFeatureNames(), in HostFeature order, and the
// formulas are in src/hosting/README.md. Rates divide counter increases by the time
// between the scrapes' ts_ns; they are NaN on the first scrape (prev == nullptr), when the
// time does not advance, when an input series is absent, and when any counter feeding a
// feature went down (a reset) — never negative. Series are matched between scrapes by
// name and label set; series present in only one scrape are left out.
//
// Lifetime: the snapshots are only read during the call. Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest/prom_text.h"

namespace dnsight {

struct HostSnapshot {
  int64_t ts_ns = 0;  // when the scrape was taken (UTC ns)
  std::vector<PromSample> samples;
};

// Column indexes into the feature row; kCount is the row's width.
enum class HostFeature : size_t {
  kCpuStealRatio,
  kCpuIowaitRatio,
  kLoad1PerCore,
  kMemoryPressure,
  kMemoryPsiWaitingRatio,
  kDiskIoBusyRatio,
  kDiskIoWaitS,
  kOpenFds,
  kOpenFdsRatio,
  kTcpRetransRatio,
  kNetDropsPerS,
  kRestarts,
  kCount,
};

// cpu_steal_ratio, cpu_iowait_ratio, load1_per_core, memory_pressure,
// memory_psi_waiting_ratio, disk_io_busy_ratio, disk_io_wait_s, open_fds, open_fds_ratio,
// tcp_retrans_ratio, net_drops_per_s, restarts. Stable: used as column names.
const std::vector<std::string>& HostFeatureNames();

// Replaces *out with one value per HostFeatureNames() entry (NaN when unknown).
void DeriveHostFeatures(const HostSnapshot* prev, const HostSnapshot& cur,
                        std::vector<double>* out);

}  // namespace dnsight
