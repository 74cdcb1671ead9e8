// Point-in-time retrieval: training sets that never look ahead.
//
// A spine is a list of (entity, timestamp[, label]) rows. For each spine row and each
// requested view, the join takes the latest offline row of that entity whose window
// ended at or before the row's timestamp (window_end <= ts; equal counts). If that row
// is older than the view's TTL (ts - window_end > ttl), the values are absent: the
// training set then sees what the online store would have served at that moment.
//
// Spine CSV: a header naming at least `entity` and `timestamp` (and optionally `label`),
// in any order; timestamps are RFC 3339 (UTC or with an offset) or integer nanoseconds.
// A malformed line is an error naming the line.
//
// Output columns: entity, timestamp, [label,] then per view "<view>__window_end" and
// "<view>__<feature>" for each feature of the chosen version. Absent values are empty
// (CSV) or null (JSONL).
#pragma once

#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnsight/status.h"
#include "store/offline_store.h"
#include "store/registry.h"

namespace dnsight {

struct SpineRow {
  std::string entity;
  int64_t ts_ns = 0;
  std::string label;
};

struct Spine {
  bool has_label = false;
  std::vector<SpineRow> rows;
};

Result<Spine> ParseSpineCsv(std::string_view text);

// A view to join: name, and the version to read ("" = the latest registered).
struct ViewSelector {
  std::string name;
  std::string version;
};
// "client" or "client@9f3c0a…".
Result<ViewSelector> ParseViewSelector(std::string_view text);

struct TrainingSet {
  bool has_label = false;
  std::vector<std::string> view_names;  // one per requested view, in request order
  // Feature columns, "<view>__<feature>", grouped by view in request order;
  // view_first_column[v] is the first column of view v (and view_first_column.back()
  // == columns.size()).
  std::vector<std::string> columns;
  std::vector<size_t> view_first_column;
  // Row-major, spine rows × columns.size(); NaN = absent or undefined.
  std::vector<double> values;
  // Row-major, spine rows × views: the matched window end, or kNoWindow when absent.
  std::vector<int64_t> window_ends;
  static constexpr int64_t kNoWindow = INT64_MIN;
};

struct PitStats {
  uint64_t spine_rows = 0;
  uint64_t matched = 0;    // (row, view) pairs with values
  uint64_t expired = 0;    // found, but older than the TTL
  uint64_t unmatched = 0;  // no row at or before the timestamp
  OfflineScanStats scan;
};

Result<TrainingSet> PointInTimeJoin(const OfflineStore& store, const Registry& registry,
                                    const Spine& spine, const std::vector<ViewSelector>& views,
                                    PitStats* stats = nullptr);

// Writers. Timestamps are written as RFC 3339 with nanoseconds.
void AppendTrainingSetCsv(const Spine& spine, const TrainingSet& ts, std::string* out);
void AppendTrainingSetJsonl(const Spine& spine, const TrainingSet& ts, std::string* out);

}  // namespace dnsight
