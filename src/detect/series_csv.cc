#include "detect/series_csv.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/time_util.h"

namespace dnsight {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsMissing(std::string_view s) {
  return s.empty() || EqualsIgnoreCase(s, "nan") || EqualsIgnoreCase(s, "na") ||
         EqualsIgnoreCase(s, "null");
}

// A number, or NaN for a missing cell; false if the cell is neither.
bool ParseValue(std::string_view s, double* out) {
  if (IsMissing(s)) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void AppendCsvField(std::string* out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (const char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendScore(std::string* out, double score) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), score, std::chars_format::fixed, 3);
  out->append(buf, r.ptr);
}

}  // namespace

bool SplitCsvLine(std::string_view line, std::vector<std::string_view>* fields,
                  std::string* scratch) {
  fields->clear();
  scratch->clear();
  scratch->reserve(line.size());  // unescaped text is never longer: no reallocation below
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      const size_t begin = scratch->size();
      ++i;
      while (true) {
        if (i >= line.size()) return false;  // unterminated quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            scratch->push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        scratch->push_back(line[i++]);
      }
      fields->push_back(std::string_view(*scratch).substr(begin));
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') return false;  // text after the closing quote
    } else {
      const size_t end = std::min(line.find(',', i), line.size());
      fields->push_back(Trim(line.substr(i, end - i)));
      i = end;
    }
    if (i >= line.size()) return true;
    ++i;  // the comma
    if (i == line.size()) {
      fields->push_back(std::string_view());  // a trailing comma: one more empty field
      return true;
    }
  }
}

std::optional<int64_t> ParseCsvTimestamp(std::string_view text) {
  text = Trim(text);
  if (text.size() >= 10 && text[4] == '-') return ParseRfc3339(text);
  bool negative = false;
  std::string_view s = text;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (whole.empty()) return std::nullopt;
  int64_t w = 0;
  const auto r = std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (r.ec != std::errc() || r.ptr != whole.data() + whole.size()) return std::nullopt;

  int64_t ns;
  if (dot != std::string_view::npos) {  // seconds with a fraction
    const std::string_view frac = s.substr(dot + 1);
    if (frac.empty()) return std::nullopt;
    int64_t f = 0;
    int digits = 0;
    for (const char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      if (digits < 9) {
        f = f * 10 + (c - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) f *= 10;
    if (__builtin_mul_overflow(w, kNanosPerSecond, &ns) || __builtin_add_overflow(ns, f, &ns))
      return std::nullopt;
  } else {
    int64_t unit;
    if (w < 100'000'000'000) {
      unit = kNanosPerSecond;
    } else if (w < 100'000'000'000'000) {
      unit = 1'000'000;  // milliseconds
    } else if (w < 100'000'000'000'000'000) {
      unit = 1'000;  // microseconds
    } else {
      unit = 1;
    }
    if (__builtin_mul_overflow(w, unit, &ns)) return std::nullopt;
  }
  return negative ? -ns : ns;
}

Status DetectCsv(std::istream& in, std::ostream& out, const CsvDetectOptions& options,
                 CsvDetectStats* stats) {
  std::string line, scratch;
  std::vector<std::string_view> fields;
  uint64_t line_no = 0;
  const auto at = [&](const std::string& what) {
    return "line " + std::to_string(line_no) + ": " + what;
  };

  // Header: the first non-blank line.
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // UTF-8 BOM
    if (Trim(line).empty()) continue;
    have_header = true;
    break;
  }
  if (!have_header) return Status::InvalidArgument("no header line: empty input");
  if (!SplitCsvLine(line, &fields, &scratch))
    return Status::InvalidArgument(at("header: unterminated quote"));
  const size_t columns = fields.size();
  size_t ts_col = 0;
  for (size_t i = 0; i < columns; ++i) {
    if (EqualsIgnoreCase(fields[i], "timestamp") || EqualsIgnoreCase(fields[i], "time") ||
        EqualsIgnoreCase(fields[i], "ts")) {
      ts_col = i;
      break;
    }
  }
  std::vector<size_t> value_cols;
  stats->series.clear();
  for (size_t i = 0; i < columns; ++i) {
    if (i == ts_col) continue;
    value_cols.push_back(i);
    stats->series.emplace_back(fields[i]);
  }
  if (value_cols.empty()) return Status::InvalidArgument(at("header: no value columns"));

  std::string row = "timestamp";
  for (const std::string& name : stats->series) {
    row.push_back(',');
    AppendCsvField(&row, name + "_score");
    row.push_back(',');
    AppendCsvField(&row, name + "_is_anomaly");
  }
  row.append(",score,is_anomaly\n");
  out.write(row.data(), static_cast<std::streamsize>(row.size()));

  VectorBaseline baselines(value_cols.size(), &options.baseline);
  std::vector<double> values(value_cols.size());
  std::vector<BaselineScore> scores(value_cols.size());
  std::string error;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;

    error.clear();
    std::optional<int64_t> ts;
    if (!SplitCsvLine(line, &fields, &scratch)) {
      error = at("unterminated quote");
    } else if (fields.size() != columns) {
      error = at("expected " + std::to_string(columns) + " fields, got " +
                 std::to_string(fields.size()));
    } else if (!(ts = ParseCsvTimestamp(fields[ts_col]))) {
      error = at("bad timestamp '" + std::string(fields[ts_col]) + "'");
    } else {
      for (size_t j = 0; j < value_cols.size(); ++j) {
        if (!ParseValue(fields[value_cols[j]], &values[j])) {
          error = at("column '" + stats->series[j] + "': '" + std::string(fields[value_cols[j]]) +
                     "' is not a number");
          break;
        }
      }
    }
    if (!error.empty()) {
      if (!options.skip_bad) return Status::InvalidArgument(error);
      if (stats->bad_rows++ == 0) stats->first_bad = error;
      continue;
    }

    const double top = baselines.Observe(*ts, values, scores);
    row.clear();
    AppendCsvField(&row, fields[ts_col]);
    bool any_scored = false, any_anomaly = false;
    for (const BaselineScore& s : scores) {
      row.push_back(',');
      if (s.state == BaselineScore::State::kScored) {
        AppendScore(&row, s.score);
        any_scored = true;
      } else if (s.state == BaselineScore::State::kMissing) {
        ++stats->missing_values;
      } else {
        ++stats->warming_values;
      }
      row.append(s.anomaly ? ",1" : ",0");
      any_anomaly |= s.anomaly;
      stats->anomalous_values += s.anomaly ? 1 : 0;
    }
    row.push_back(',');
    if (any_scored) AppendScore(&row, top);
    row.append(any_anomaly ? ",1\n" : ",0\n");
    out.write(row.data(), static_cast<std::streamsize>(row.size()));
    if (!out) return Status::IoError("write failed");
    ++stats->rows;
    stats->anomalous_rows += any_anomaly ? 1 : 0;
  }
  if (in.bad()) return Status::IoError("read failed");
  out.flush();
  if (!out) return Status::IoError("write failed");
  return Status::Ok();
}

}  // namespace dnsight
