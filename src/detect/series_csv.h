// Generic detection over a CSV of time series: `dnsight detect`.
//
// Input: a header line, then one row per time. The timestamp column is the one named
// `timestamp`, `time` or `ts` (any case), else the first column. A timestamp is RFC 3339,
// or a number of seconds since 1970 with an optional fraction ("1795428310.25"); a bare
// integer is read by magnitude: below 1e11 seconds, below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds. Every other column is a numeric series; an empty cell,
// "nan" or "NA" is missing. Fields may be double-quoted ("" escapes a quote); CRLF line
// ends and blank lines are accepted.
//
// Output: `timestamp` (the input text as given), then `<col>_score` and `<col>_is_anomaly`
// for each series, then `score` (the highest series score) and `is_anomaly` (1 if any
// series is anomalous). A score is empty while its series warms up or when its value is
// missing; is_anomaly is 0 or 1.
//
// Rows are read, scored and written one at a time: memory is one RobustBaseline per
// series plus one row. Each row is scored against the rows before it, in file order.
// A malformed row (wrong field count, bad timestamp, non-numeric value) stops the run with
// an error naming its line, or with skip_bad is counted and left out of the output.
//
// Thread-safety: DetectCsv is reentrant; the streams belong to the caller for the call.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "detect/robust_baseline.h"
#include "dnsight/status.h"

namespace dnsight {

struct CsvDetectOptions {
  BaselineOptions baseline;  // shared by every series
  bool skip_bad = false;     // count malformed rows instead of failing
};

struct CsvDetectStats {
  uint64_t rows = 0;            // data rows scored and written
  uint64_t bad_rows = 0;        // malformed rows skipped (skip_bad)
  uint64_t missing_values = 0;  // empty or NaN cells
  uint64_t warming_values = 0;  // cells without a score: warm-up
  uint64_t anomalous_rows = 0;
  uint64_t anomalous_values = 0;
  std::vector<std::string> series;  // value column names, in order
  std::string first_bad;            // the first skipped row's error ("" if none)
};

// REQUIRES: ValidateBaselineOptions(options.baseline).ok().
Status DetectCsv(std::istream& in, std::ostream& out, const CsvDetectOptions& options,
                 CsvDetectStats* stats);

// Splits one CSV line into fields (quotes removed, "" unescaped, surrounding spaces of
// unquoted fields trimmed). False on an unterminated quote. The views point into *line or
// into *scratch; both must outlive them and not change while they are used.
bool SplitCsvLine(std::string_view line, std::vector<std::string_view>* fields,
                  std::string* scratch);

// A CSV timestamp as described above; nullopt if it is none of those forms.
std::optional<int64_t> ParseCsvTimestamp(std::string_view text);

}  // namespace dnsight
