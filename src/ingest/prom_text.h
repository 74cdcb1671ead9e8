// Prometheus text exposition format 0.0.4 (what node_exporter serves at /metrics).
//
// ParsePromText() reads a whole body: one sample per line,
//   name[{label="value",...}] value [timestamp_ms]
// with `# HELP name text` and `# TYPE name type` comments, other `#` comments, blank lines
// and CRLF line ends. Label values unescape \\, \" and \n. Values are decimal floats or
// NaN, Inf, +Inf, -Inf (any case); a `+` sign is allowed. A malformed line is skipped and
// counted, never fatal; its reason token (a counter label) is one of:
//   bad_name              metric or label name empty, longer than kMaxPromNameBytes, or
//                         with characters outside [a-zA-Z0-9_:] ([a-zA-Z0-9_] for labels)
//   bad_labels            label set syntax: missing '=', quote, ',' or '}'
//   bad_escape            a backslash not followed by \, " or n
//   bad_utf8              a label value that is not UTF-8
//   label_value_too_long  a label value over kMaxPromLabelValueBytes (after unescaping)
//   too_many_labels       more than kMaxPromLabels labels
//   duplicate_label       the same label name twice in one sample
//   bad_value             missing or unparseable value, or beyond double's range
//   bad_timestamp         timestamp not an integer of milliseconds that fits int64
//   trailing_garbage      more text after the timestamp
//   bad_comment           `# TYPE` or `# HELP` without a valid name (or an unknown type)
//
// Lifetime: `body` is only read during the call; samples own their strings.
// Thread-safety: reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnsight/status.h"

namespace dnsight {

inline constexpr size_t kMaxPromLabels = 64;
inline constexpr size_t kMaxPromLabelValueBytes = 4096;
inline constexpr size_t kMaxPromNameBytes = 1024;

struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in the order written
  double value = 0;
  int64_t ts_ms = -1;  // -1 when the line has no timestamp

  // The value of label `name`, or "" when absent.
  std::string_view Label(std::string_view name) const;
};

struct PromParseStats {
  uint64_t samples = 0;           // samples stored in *out
  uint64_t malformed_lines = 0;   // lines skipped
  std::string first_error;        // reason token of the first skipped line; "" when none
  uint64_t first_error_line = 0;  // its 1-based line number; 0 when none
};

// Replaces *out with the samples of `body` and *stats with its counts. Returns Ok, or
// OutOfRange("too_many_samples") after storing max_samples samples when the body holds
// more (the rest is not read).
Status ParsePromText(std::string_view body, std::vector<PromSample>* out, PromParseStats* stats,
                     size_t max_samples = 1'000'000);

}  // namespace dnsight
