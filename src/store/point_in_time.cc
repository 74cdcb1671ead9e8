#include "store/point_in_time.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "common/time_util.h"
#include "engine/row_writer.h"

namespace dnsight {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Splits one CSV line (RFC 4180 quoting, no embedded newlines). False on a bad quote.
bool SplitCsvLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string cur;
  size_t i = 0;
  while (true) {
    cur.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      while (i < line.size() && line[i] != ',') cur.push_back(line[i++]);
    }
    fields->push_back(cur);
    if (i >= line.size()) return true;
    ++i;  // comma
  }
}

std::optional<int64_t> ParseTimestamp(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
  }
  return ParseRfc3339(s);
}

// Splits an unquoted CSV line (no '"' in it) on commas: the same fields SplitCsvLine
// gives for such a line, as views into it.
void SplitPlainCsvLine(std::string_view line, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields->push_back(line.substr(start));
      return;
    }
    fields->push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

void AppendCsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

char* Put2(char* p, int64_t v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// Appends the same text as FormatRfc3339 (common/time_util.h) without snprintf or a
// temporary string. The date, the costly part, is taken from FormatRfc3339 once per day.
class Rfc3339Writer {
 public:
  void Append(int64_t ns, std::string* out) {
    // Floor division, as FormatRfc3339 does: the fraction and time of day are never negative.
    int64_t secs = ns / kNanosPerSecond;
    int64_t frac = ns % kNanosPerSecond;
    if (frac < 0) {
      frac += kNanosPerSecond;
      --secs;
    }
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) {
      rem += 86400;
      --days;
    }
    if (days != day_ || date_.empty()) {
      date_ = FormatRfc3339(ns);  // keep its "YYYY-MM-DDT"
      date_.resize(date_.find('T') + 1);
      day_ = days;
    }
    char buf[32];
    char* p = Put2(buf, rem / 3600);
    *p++ = ':';
    p = Put2(p, rem / 60 % 60);
    *p++ = ':';
    p = Put2(p, rem % 60);
    if (frac != 0) {
      *p++ = '.';
      char digits[9];
      for (int i = 8; i >= 0; --i) {
        digits[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      int len = 9;
      while (digits[len - 1] == '0') --len;  // frac != 0: some digit is not '0'
      std::copy_n(digits, len, p);
      p += len;
    }
    *p++ = 'Z';
    out->append(date_);
    out->append(buf, p);
  }

 private:
  int64_t day_ = 0;
  std::string date_;
};

// Appends the same text as AppendJsonNumber (engine/row_writer.h). Small non-negative
// integers (counts, zero ratios) take a shortcut: below 1e5 their shortest form is the
// plain integer (from 1e5 on, e.g. "1e+05" can be shorter), and -0 keeps the slow path.
void AppendNumber(double x, std::string* out) {
  if (x >= 0 && x < 1e5) {
    const auto n = static_cast<int64_t>(x);
    if (static_cast<double>(n) == x && !(n == 0 && std::signbit(x))) {
      char buf[8];
      auto r = std::to_chars(buf, buf + sizeof buf, n);
      out->append(buf, r.ptr);
      return;
    }
  }
  AppendJsonNumber(x, out);
}

// One view's rows for the spine's entities, sorted per entity by window end.
struct ViewHistory {
  RegisteredView def;
  // Per entity: (window_end, index of the row in `values` / feature count).
  std::unordered_map<std::string, std::vector<std::pair<int64_t, uint32_t>>> by_entity;
  std::vector<double> values;  // rows × features
};

}  // namespace

Result<Spine> ParseSpineCsv(std::string_view text) {
  Spine spine;
  std::vector<std::string> fields;     // a line with quotes, unquoted
  std::vector<std::string_view> cols;  // the current line's fields
  int entity_col = -1, ts_col = -1, label_col = -1;
  size_t need = 0;
  size_t line_no = 0, pos = 0;
  bool header = true;
  const auto where = [&line_no] { return "spine line " + std::to_string(line_no) + ": "; };
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.find('"') == std::string_view::npos) {
      SplitPlainCsvLine(line, &cols);
    } else {
      if (!SplitCsvLine(line, &fields)) return Status::InvalidArgument(where() + "bad quoting");
      cols.assign(fields.begin(), fields.end());
    }
    if (header) {
      for (size_t i = 0; i < cols.size(); ++i) {
        const int idx = static_cast<int>(i);
        if (cols[i] == "entity")
          entity_col = idx;
        else if (cols[i] == "timestamp")
          ts_col = idx;
        else if (cols[i] == "label")
          label_col = idx;
      }
      if (entity_col < 0 || ts_col < 0)
        return Status::InvalidArgument(where() + "header must name 'entity' and 'timestamp'");
      spine.has_label = label_col >= 0;
      need = static_cast<size_t>(std::max({entity_col, ts_col, label_col})) + 1;
      header = false;
      continue;
    }
    if (cols.size() < need)
      return Status::InvalidArgument(where() + "expected " + std::to_string(need) +
                                     " fields, got " + std::to_string(cols.size()));
    auto ts = ParseTimestamp(cols[ts_col]);
    if (!ts)
      return Status::InvalidArgument(where() + "bad timestamp '" + std::string(cols[ts_col]) + "'");
    SpineRow& row = spine.rows.emplace_back();
    row.entity = cols[entity_col];
    row.ts_ns = *ts;
    if (label_col >= 0) row.label = cols[label_col];
  }
  if (header) return Status::InvalidArgument("spine: empty (no header)");
  return spine;
}

Result<ViewSelector> ParseViewSelector(std::string_view text) {
  ViewSelector s;
  const size_t at = text.find('@');
  s.name = text.substr(0, at);
  if (at != std::string_view::npos) s.version = text.substr(at + 1);
  if (s.name.empty()) return Status::InvalidArgument("empty view name");
  return s;
}

Result<TrainingSet> PointInTimeJoin(const OfflineStore& store, const Registry& registry,
                                    const Spine& spine, const std::vector<ViewSelector>& views,
                                    PitStats* stats) {
  PitStats local;
  PitStats& st = stats ? *stats : local;
  st.spine_rows = spine.rows.size();
  TrainingSet out;
  out.has_label = spine.has_label;
  if (views.empty()) return Status::InvalidArgument("no views requested");

  int64_t min_ts = std::numeric_limits<int64_t>::max(),
          max_ts = std::numeric_limits<int64_t>::min();
  std::unordered_set<std::string_view> wanted;
  for (const auto& r : spine.rows) {
    min_ts = std::min(min_ts, r.ts_ns);
    max_ts = std::max(max_ts, r.ts_ns);
    wanted.insert(r.entity);
  }

  std::vector<ViewHistory> hist(views.size());
  for (size_t v = 0; v < views.size(); ++v) {
    auto def = views[v].version.empty() ? registry.Latest(views[v].name)
                                        : registry.Get(views[v].name, views[v].version);
    if (!def.ok()) return def.status();
    ViewHistory& h = hist[v];
    h.def = std::move(def.value());
    out.view_names.push_back(h.def.name);
    out.view_first_column.push_back(out.columns.size());
    for (const auto& f : h.def.feature_names) out.columns.push_back(h.def.name + "__" + f);
    if (spine.rows.empty()) continue;
    const size_t nf = h.def.feature_names.size();
    // Rows older than the TTL before the earliest timestamp can never be used.
    const int64_t from =
        h.def.ttl_ns > 0 ? min_ts - h.def.ttl_ns : std::numeric_limits<int64_t>::min();
    Status s = store.Scan(
        h.def.name, from, max_ts + 1,
        [&](const OfflineBlock& b) {
          if (b.version != h.def.version || b.feature_names.size() != nf) return Status::Ok();
          for (size_t r = 0; r < b.rows(); ++r) {
            if (b.window_end_ns[r] > max_ts) continue;
            auto w = wanted.find(b.entities[r]);
            if (w == wanted.end()) continue;
            const auto idx = static_cast<uint32_t>(h.values.size() / std::max<size_t>(nf, 1));
            for (size_t f = 0; f < nf; ++f) h.values.push_back(b.value(f, r));
            h.by_entity[b.entities[r]].emplace_back(b.window_end_ns[r], idx);
          }
          return Status::Ok();
        },
        &st.scan);
    if (!s.ok()) return s;
    // Stable: for equal window ends the row written last wins (see lookup below).
    for (auto& [entity, rows] : h.by_entity)
      std::stable_sort(rows.begin(), rows.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  out.view_first_column.push_back(out.columns.size());

  const size_t ncols = out.columns.size();
  out.values.assign(spine.rows.size() * ncols, kNaN);
  out.window_ends.assign(spine.rows.size() * views.size(), TrainingSet::kNoWindow);
  for (size_t i = 0; i < spine.rows.size(); ++i) {
    const SpineRow& row = spine.rows[i];
    for (size_t v = 0; v < views.size(); ++v) {
      const ViewHistory& h = hist[v];
      auto it = h.by_entity.find(row.entity);
      if (it == h.by_entity.end()) {
        ++st.unmatched;
        continue;
      }
      const auto& rows = it->second;
      // Last row with window_end <= ts: never look ahead.
      auto ub = std::upper_bound(rows.begin(), rows.end(), row.ts_ns,
                                 [](int64_t t, const auto& e) { return t < e.first; });
      if (ub == rows.begin()) {
        ++st.unmatched;
        continue;
      }
      const auto& [window_end, idx] = *(ub - 1);
      if (h.def.ttl_ns > 0 && row.ts_ns - window_end > h.def.ttl_ns) {
        ++st.expired;
        continue;
      }
      ++st.matched;
      out.window_ends[i * views.size() + v] = window_end;
      const size_t nf = h.def.feature_names.size();
      std::copy_n(
          h.values.begin() + static_cast<ptrdiff_t>(idx * nf), nf,
          out.values.begin() + static_cast<ptrdiff_t>(i * ncols + out.view_first_column[v]));
    }
  }
  return out;
}

void AppendTrainingSetCsv(const Spine& spine, const TrainingSet& ts, std::string* out) {
  const size_t nv = ts.view_names.size();
  out->append("entity,timestamp");
  if (ts.has_label) out->append(",label");
  for (size_t v = 0; v < nv; ++v) {
    out->append(",");
    AppendCsvField(ts.view_names[v] + "__window_end", out);
    for (size_t c = ts.view_first_column[v]; c < ts.view_first_column[v + 1]; ++c) {
      out->push_back(',');
      AppendCsvField(ts.columns[c], out);
    }
  }
  out->push_back('\n');
  const size_t ncols = ts.columns.size();
  const size_t n = spine.rows.size();
  // Once the first rows are written, reserve for the rest at their average size (plus a
  // margin), so a large training set is not copied over and over as it grows.
  constexpr size_t kSample = 1024;
  const size_t start = out->size();
  Rfc3339Writer time_text;
  for (size_t i = 0; i < n; ++i) {
    if (i == kSample && n > 2 * kSample) {
      const size_t per_row = (out->size() - start) / kSample + 1;
      out->reserve(out->size() + per_row * (n - i) / 16 * 17);
    }
    const SpineRow& row = spine.rows[i];
    AppendCsvField(row.entity, out);
    out->push_back(',');
    time_text.Append(row.ts_ns, out);
    if (ts.has_label) {
      out->push_back(',');
      AppendCsvField(row.label, out);
    }
    for (size_t v = 0; v < nv; ++v) {
      out->push_back(',');
      const int64_t w = ts.window_ends[i * nv + v];
      if (w != TrainingSet::kNoWindow) time_text.Append(w, out);
      for (size_t c = ts.view_first_column[v]; c < ts.view_first_column[v + 1]; ++c) {
        out->push_back(',');
        const double x = ts.values[i * ncols + c];
        if (std::isfinite(x)) AppendNumber(x, out);  // NaN and ±inf: empty
      }
    }
    out->push_back('\n');
  }
}

void AppendTrainingSetJsonl(const Spine& spine, const TrainingSet& ts, std::string* out) {
  const size_t nv = ts.view_names.size();
  const size_t ncols = ts.columns.size();
  for (size_t i = 0; i < spine.rows.size(); ++i) {
    const SpineRow& row = spine.rows[i];
    out->append("{\"entity\":");
    AppendJsonString(row.entity, out);
    out->append(",\"timestamp\":\"");
    out->append(FormatRfc3339(row.ts_ns));
    out->push_back('"');
    if (ts.has_label) {
      out->append(",\"label\":");
      AppendJsonString(row.label, out);
    }
    for (size_t v = 0; v < nv; ++v) {
      out->push_back(',');
      AppendJsonString(ts.view_names[v] + "__window_end", out);
      out->push_back(':');
      const int64_t w = ts.window_ends[i * nv + v];
      if (w == TrainingSet::kNoWindow) {
        out->append("null");
      } else {
        out->push_back('"');
        out->append(FormatRfc3339(w));
        out->push_back('"');
      }
      for (size_t c = ts.view_first_column[v]; c < ts.view_first_column[v + 1]; ++c) {
        out->push_back(',');
        AppendJsonString(ts.columns[c], out);
        out->push_back(':');
        const double x = ts.values[i * ncols + c];
        if (std::isnan(x))
          out->append("null");
        else
          AppendJsonNumber(x, out);
      }
    }
    out->append("}\n");
  }
}

}  // namespace dnsight
