#include "ingest/prom_text.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace dnsight {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsBlank(char c) {
  return c == ' ' || c == '\t';
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

// Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n > s.size() - i - 1) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// A reader over one line (without its line end).
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }  // '\0' at the end
  void Advance() { ++pos_; }
  void SkipBlanks() {
    while (pos_ < s_.size() && IsBlank(s_[pos_])) ++pos_;
  }
  // Characters while pred holds.
  template <typename Pred>
  std::string_view While(Pred pred) {
    const size_t start = pos_;
    while (pos_ < s_.size() && pred(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  std::string_view Rest() const { return s_.substr(pos_); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool IsMetricNameChar(char c) {
  return IsLetter(c) || IsDigit(c) || c == '_' || c == ':';
}
bool IsLabelNameChar(char c) {
  return IsLetter(c) || IsDigit(c) || c == '_';
}
bool IsTokenChar(char c) {
  return !IsBlank(c);
}

bool ValidMetricName(std::string_view n) {
  return !n.empty() && n.size() <= kMaxPromNameBytes && !IsDigit(n[0]);
}

// Decimal float (optionally signed) or NaN / Inf / +Inf / -Inf.
bool ParseValue(std::string_view s, double* out) {
  if (s.empty()) return false;
  if (EqualsIgnoreCase(s, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  bool negative = false;
  std::string_view digits = s;
  if (digits.front() == '+' || digits.front() == '-') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (EqualsIgnoreCase(digits, "inf")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  // from_chars would also take "inf", "nan" and "infinity"; only digits or '.' start here.
  if (digits.empty() || (!IsDigit(digits.front()) && digits.front() != '.')) return false;
  double v;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (end != digits.data() + digits.size()) return false;
  // Out-of-range values are rejected, as Prometheus itself rejects them.
  if (ec != std::errc()) return false;
  *out = negative ? -v : v;
  return true;
}

bool ParseTimestamp(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  *out = v;
  return true;
}

// Reads `"..."` at the cursor into *out, unescaping. Returns nullptr or a reason.
const char* ReadLabelValue(Cursor& c, std::string* out) {
  if (c.done() || c.peek() != '"') return "bad_labels";
  c.Advance();
  out->clear();
  while (true) {
    if (c.done()) return "bad_labels";
    const char ch = c.peek();
    c.Advance();
    if (ch == '"') break;
    if (ch == '\\') {
      if (c.done()) return "bad_labels";
      const char e = c.peek();
      c.Advance();
      if (e == '\\' || e == '"') {
        out->push_back(e);
      } else if (e == 'n') {
        out->push_back('\n');
      } else {
        return "bad_escape";
      }
    } else {
      out->push_back(ch);
    }
    if (out->size() > kMaxPromLabelValueBytes) return "label_value_too_long";
  }
  if (!ValidUtf8(*out)) return "bad_utf8";
  return nullptr;
}

// One sample line. Returns nullptr or a reason token.
const char* ParseSampleLine(std::string_view line, PromSample* s) {
  Cursor c(line);
  c.SkipBlanks();
  const std::string_view name = c.While(IsMetricNameChar);
  if (!ValidMetricName(name)) return "bad_name";
  if (!c.done() && !IsBlank(c.peek()) && c.peek() != '{') return "bad_name";
  s->name.assign(name);
  s->labels.clear();
  c.SkipBlanks();
  if (!c.done() && c.peek() == '{') {
    c.Advance();
    while (true) {
      c.SkipBlanks();
      if (c.done()) return "bad_labels";
      if (c.peek() == '}') {
        c.Advance();
        break;
      }
      const std::string_view label = c.While(IsLabelNameChar);
      if (label.empty()) return IsMetricNameChar(c.peek()) ? "bad_name" : "bad_labels";
      if (label.size() > kMaxPromNameBytes || IsDigit(label[0])) return "bad_name";
      c.SkipBlanks();
      if (c.done() || c.peek() != '=') return "bad_labels";
      c.Advance();
      c.SkipBlanks();
      for (const auto& [existing, unused] : s->labels)
        if (existing == label) return "duplicate_label";
      if (s->labels.size() == kMaxPromLabels) return "too_many_labels";
      std::string value;
      if (const char* bad = ReadLabelValue(c, &value)) return bad;
      s->labels.emplace_back(std::string(label), std::move(value));
      c.SkipBlanks();
      if (c.done()) return "bad_labels";
      if (c.peek() == ',') {
        c.Advance();
      } else if (c.peek() != '}') {
        return "bad_labels";
      }
    }
  }
  c.SkipBlanks();
  const std::string_view value = c.While(IsTokenChar);
  if (!ParseValue(value, &s->value)) return "bad_value";
  c.SkipBlanks();
  s->ts_ms = -1;
  if (!c.done()) {
    const std::string_view ts = c.While(IsTokenChar);
    if (!ParseTimestamp(ts, &s->ts_ms)) return "bad_timestamp";
    c.SkipBlanks();
    if (!c.done()) return "trailing_garbage";
  }
  return nullptr;
}

// `# HELP name text` and `# TYPE name type` must name a metric; other comments are free.
const char* CheckComment(std::string_view line) {
  Cursor c(line);
  c.SkipBlanks();
  c.Advance();  // '#'
  c.SkipBlanks();
  const std::string_view keyword = c.While(IsTokenChar);
  if (keyword != "HELP" && keyword != "TYPE") return nullptr;
  c.SkipBlanks();
  const std::string_view name = c.While(IsTokenChar);
  if (!ValidMetricName(name)) return "bad_comment";
  for (char ch : name)
    if (!IsMetricNameChar(ch)) return "bad_comment";
  if (keyword == "HELP") return nullptr;
  c.SkipBlanks();
  const std::string_view type = c.While(IsTokenChar);
  c.SkipBlanks();
  if (!c.done()) return "bad_comment";
  for (std::string_view known : {"counter", "gauge", "histogram", "summary", "untyped"})
    if (type == known) return nullptr;
  return "bad_comment";
}

}  // namespace

std::string_view PromSample::Label(std::string_view label_name) const {
  for (const auto& [k, v] : labels)
    if (k == label_name) return v;
  return {};
}

Status ParsePromText(std::string_view body, std::vector<PromSample>* out, PromParseStats* stats,
                     size_t max_samples) {
  out->clear();
  *stats = PromParseStats{};
  uint64_t line_no = 0;
  PromSample sample;
  while (!body.empty()) {
    const size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t first = 0;
    while (first < line.size() && IsBlank(line[first])) ++first;
    if (first == line.size()) continue;
    const char* bad;
    if (line[first] == '#') {
      bad = CheckComment(line);
    } else {
      if (out->size() == max_samples) return Status::OutOfRange("too_many_samples");
      bad = ParseSampleLine(line, &sample);
      if (bad == nullptr) {
        out->push_back(std::move(sample));
        sample = PromSample{};
        ++stats->samples;
      }
    }
    if (bad != nullptr) {
      ++stats->malformed_lines;
      if (stats->first_error.empty()) {
        stats->first_error = bad;
        stats->first_error_line = line_no;
      }
    }
  }
  return Status::Ok();
}

}  // namespace dnsight
