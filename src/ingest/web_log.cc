#include "ingest/web_log.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>

#include "common/time_util.h"

namespace dnsight {
namespace {

// Telemetry outside 1970..2200 is bad input; nanoseconds in int64 end in 2262.
constexpr int64_t kMaxEpochSeconds = 7'258'118'400;
// Durations above this (about 115 days) are not request times.
constexpr double kMaxDurationS = 1e7;
constexpr uint64_t kMaxByteCount = uint64_t{1} << 62;
constexpr size_t kMaxMethodBytes = 32;

Status Fail(const char* reason) {
  return Status::InvalidArgument(reason);
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsUpper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool IsAlnum(char c) {
  return IsDigit(c) || IsUpper(c) || (c >= 'a' && c <= 'z');
}
char Lower(char c) {
  return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool FixedDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 in the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Local civil time minus the zone's offset, as UTC nanoseconds; nullopt when a field is
// out of range or the result falls outside 1970..2200.
std::optional<int64_t> CivilToUtcNs(int y, int mo, int d, int h, int mi, int s, int64_t frac_ns,
                                    int64_t utc_offset_s) {
  if (y < 1969 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 ||
      mi > 59 || s > 60)
    return std::nullopt;
  const int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - utc_offset_s;
  if (secs < 0 || secs >= kMaxEpochSeconds) return std::nullopt;
  return secs * kNanosPerSecond + frac_ns;
}

// Digits after a '.', as nanoseconds (extra digits beyond 9 are dropped). Advances *pos.
bool Fraction(std::string_view s, size_t* pos, int64_t* ns) {
  size_t i = *pos;
  int digits = 0;
  int64_t frac = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (digits < 9) {
      frac = frac * 10 + (s[i] - '0');
      ++digits;
    }
    ++i;
  }
  if (i == *pos) return false;
  for (; digits < 9; ++digits) frac *= 10;
  *pos = i;
  *ns = frac;
  return true;
}

// Common Log Format time: "23/Nov/2026:10:00:00 +0100", optionally with ".123" seconds.
std::optional<int64_t> ParseClfTime(std::string_view s) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int d, y, h, mi, sec;
  if (!FixedDigits(s, 0, 2, &d) || s.size() < 20 || s[2] != '/' || s[6] != '/' ||
      !FixedDigits(s, 7, 4, &y) || s[11] != ':' || !FixedDigits(s, 12, 2, &h) || s[14] != ':' ||
      !FixedDigits(s, 15, 2, &mi) || s[17] != ':' || !FixedDigits(s, 18, 2, &sec))
    return std::nullopt;
  int mo = 0;
  for (int i = 0; i < 12; ++i)
    if (s.substr(3, 3) == kMonths[i]) mo = i + 1;
  if (mo == 0) return std::nullopt;
  size_t pos = 20;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    if (!Fraction(s, &pos, &frac)) return std::nullopt;
  }
  int oh, om;
  if (pos + 6 != s.size() || s[pos] != ' ' || (s[pos + 1] != '+' && s[pos + 1] != '-') ||
      !FixedDigits(s, pos + 2, 2, &oh) || !FixedDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59)
    return std::nullopt;
  const int64_t offset = (oh * 3600 + om * 60) * (s[pos + 1] == '+' ? 1 : -1);
  return CivilToUtcNs(y, mo, d, h, mi, sec, frac, offset);
}

// "1795428000" or "1795428000.123" (nginx $msec) exactly, as nanoseconds.
std::optional<int64_t> ParseEpochText(std::string_view s) {
  size_t pos = 0;
  int64_t secs = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    secs = secs * 10 + (s[pos] - '0');
    if (secs >= kMaxEpochSeconds) return std::nullopt;
    ++pos;
  }
  if (pos == 0) return std::nullopt;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    if (!Fraction(s, &pos, &frac)) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return secs * kNanosPerSecond + frac;
}

std::optional<int64_t> EpochSecondsToNs(double secs) {
  if (!std::isfinite(secs) || secs < 0 || secs >= static_cast<double>(kMaxEpochSeconds))
    return std::nullopt;
  // Microsecond precision is what a double holds exactly at this magnitude.
  return std::llround(secs * 1e6) * 1000;
}

// A time written as RFC 3339, CLF, or epoch seconds text.
std::optional<int64_t> ParseAnyTimeText(std::string_view s) {
  if (auto t = ParseEpochText(s)) return t;
  if (auto t = ParseClfTime(s)) return t;
  if (auto t = ParseRfc3339(s)) {
    if (*t >= 0 && *t < kMaxEpochSeconds * kNanosPerSecond) return t;
  }
  return std::nullopt;
}

bool ParseUint(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

// A non-negative decimal duration in seconds ("0.123", "2", "1e-3").
bool ParseSeconds(std::string_view s, double* out) {
  if (s.empty() || !IsDigit(s[0])) return false;  // no sign, "inf" or "nan"
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  if (!std::isfinite(v) || v > kMaxDurationS) return false;
  *out = v;
  return true;
}

bool ParseHttpStatus(std::string_view s, uint16_t* out) {
  uint64_t v;
  if (s.size() != 3 || !ParseUint(s, 599, &v) || v < 100) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

// "0.1, 0.2" or "0.1 : 0.2" (nginx joins upstreams with ", " and internal redirects with
// " : "). Elements of "-" are upstreams that gave no time. Returns the sum, NaN when no
// element had a time; false when an element is not a duration.
bool SumUpstreamTimes(std::string_view list, double* out) {
  double sum = 0;
  bool any = false;
  while (true) {
    const size_t sep = list.find_first_of(",:");
    const std::string_view item = Trim(list.substr(0, sep));
    if (item != "-") {
      double v;
      if (!ParseSeconds(item, &v)) return false;
      sum += v;
      any = true;
    }
    if (sep == std::string_view::npos) break;
    list.remove_prefix(sep + 1);
  }
  *out = any ? sum : std::numeric_limits<double>::quiet_NaN();
  return true;
}

struct UpstreamStatuses {
  uint16_t last = 0;
  bool any = false;
  bool timeout = false;
};

bool ParseUpstreamStatuses(std::string_view list, UpstreamStatuses* out) {
  *out = {};
  while (true) {
    const size_t sep = list.find_first_of(",:");
    const std::string_view item = Trim(list.substr(0, sep));
    if (item != "-") {
      uint16_t st;
      if (!ParseHttpStatus(item, &st)) return false;
      out->last = st;
      out->any = true;
      out->timeout = out->timeout || st == 504;
    }
    if (sep == std::string_view::npos) break;
    list.remove_prefix(sep + 1);
  }
  return true;
}

CacheStatus ParseCacheStatus(std::string_view s) {
  if (s.empty() || s == "-") return CacheStatus::kUnknown;
  for (std::string_view hit : {"HIT", "STALE", "UPDATING", "REVALIDATED"})
    if (EqualsIgnoreCase(s, hit)) return CacheStatus::kHit;
  for (std::string_view miss : {"MISS", "EXPIRED", "BYPASS"})
    if (EqualsIgnoreCase(s, miss)) return CacheStatus::kMiss;
  return CacheStatus::kOther;
}

bool IsHandshakeFailedValue(std::string_view s) {
  return EqualsIgnoreCase(s, "failed") || EqualsIgnoreCase(s, "fail");
}

// A Host header or server name: "" or "-" for none; lowercased with the port and one
// trailing dot removed. Returns nullptr on success or a reason token.
const char* NormalizeHost(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty() || in == "-") return nullptr;
  std::string_view host = in;
  std::string_view port;
  if (in.front() == '[') {
    const size_t close = in.find(']');
    if (close == std::string_view::npos) return "bad_field";
    host = in.substr(0, close + 1);
    port = in.substr(close + 1);
    if (!port.empty() && port.front() != ':') return "bad_field";
  } else if (const size_t colon = in.find(':');
             colon != std::string_view::npos && in.find(':', colon + 1) == std::string_view::npos) {
    host = in.substr(0, colon);
    port = in.substr(colon);
  }
  if (!port.empty()) {
    uint64_t p;
    if (!ParseUint(port.substr(1), 65535, &p)) return "bad_field";
  }
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  for (char c : host) {
    if (!IsAlnum(c) && c != '.' && c != '-' && c != '_' && c != '*' && c != ':' && c != '[' &&
        c != ']')
      return "bad_field";
  }
  if (host.size() > kMaxHostNameBytes) return "field_too_long";
  out->reserve(host.size());
  for (char c : host) out->push_back(Lower(c));
  return nullptr;
}

const char* NormalizeNode(std::string_view in, std::string* out) {
  out->clear();
  if (in.empty() || in == "-") return nullptr;
  for (char c : in)
    if (!IsAlnum(c) && c != '.' && c != '-' && c != '_' && c != ':') return "bad_field";
  if (in.size() > kMaxHostNameBytes) return "field_too_long";
  out->assign(in);
  return nullptr;
}

// The method is the request's first word when that is an HTTP method token; junk requests
// (TLS on a plain port, scanners) keep an empty method but still count as requests.
std::string MethodOf(std::string_view request) {
  const std::string_view word = request.substr(0, request.find(' '));
  if (word.empty() || word.size() > kMaxMethodBytes || !IsUpper(word[0])) return {};
  for (char c : word)
    if (!IsUpper(c) && c != '-' && c != '_') return {};
  return std::string(word);
}

const char* ParseClient(std::string_view s, IpAddress* out) {
  *out = IpAddress{};
  if (s.empty() || s == "-" || s.substr(0, 5) == "unix:") return nullptr;
  if (s.find('\0') != std::string_view::npos) return "bad_address";
  auto a = IpAddress::Parse(s);
  if (!a) return "bad_address";
  *out = *a;
  return nullptr;
}

// Fields from the key=value extras (combined) or the JSON keys, gathered as text first
// and interpreted once the line has been read.
struct Extras {
  std::optional<std::string_view> request_time;     // seconds
  std::optional<std::string_view> request_time_us;  // Apache %D
  std::string upstream_time;                        // list; may be assembled from several words
  std::string upstream_status;                      // list
  bool has_upstream_time = false;
  bool has_upstream_status = false;
  std::optional<std::string_view> cache;
  std::optional<std::string_view> host;
  std::optional<std::string_view> node;
  std::optional<std::string_view> request_length;
  std::optional<std::string_view> ssl;
};

Status ApplyExtras(const Extras& x, WebRequest* out) {
  if (x.request_time && *x.request_time != "-" && !x.request_time->empty()) {
    if (!ParseSeconds(*x.request_time, &out->request_time_s)) return Fail("bad_number");
  }
  if (x.request_time_us && *x.request_time_us != "-" && !x.request_time_us->empty()) {
    uint64_t us;
    if (!ParseUint(*x.request_time_us, static_cast<uint64_t>(kMaxDurationS * 1e6), &us))
      return Fail("bad_number");
    out->request_time_s = static_cast<double>(us) / 1e6;
  }
  if (x.has_upstream_time && !x.upstream_time.empty()) {
    if (!SumUpstreamTimes(x.upstream_time, &out->upstream_time_s)) return Fail("bad_number");
  }
  UpstreamStatuses us;
  if (x.has_upstream_status && !x.upstream_status.empty()) {
    if (!ParseUpstreamStatuses(x.upstream_status, &us)) return Fail("bad_status");
    out->upstream_status = us.last;
  }
  const bool upstream_involved = us.any || !std::isnan(out->upstream_time_s);
  out->upstream_timeout = us.timeout || (out->status == 504 && upstream_involved);
  if (x.cache) out->cache = ParseCacheStatus(*x.cache);
  if (x.host) {
    if (const char* bad = NormalizeHost(*x.host, &out->vhost)) return Fail(bad);
  }
  if (x.node) {
    if (const char* bad = NormalizeNode(*x.node, &out->node)) return Fail(bad);
  }
  if (x.request_length && *x.request_length != "-" && !x.request_length->empty()) {
    uint64_t n;
    if (!ParseUint(*x.request_length, kMaxByteCount, &n)) return Fail("bad_number");
    out->request_length = static_cast<int64_t>(n);
  }
  if (x.ssl) out->tls_handshake_failed = IsHandshakeFailedValue(*x.ssl);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Combined-style text.

// A bounds-checked reader over one line.
class LineCursor {
 public:
  explicit LineCursor(std::string_view s) : s_(s) {}
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }  // '\0' at the end
  size_t pos() const { return pos_; }
  void SkipSpaces() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  // Up to the next space (or the end).
  std::string_view Word() {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ') ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // Up to (not including) `stop` or a space.
  std::string_view WordUntil(char stop) {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != stop) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  // REQUIRES: peek() == '"'. The raw text between the quotes (escapes left in place; a
  // backslash hides the next byte, as Apache writes \" and nginx writes \x22). False when
  // the closing quote is missing.
  bool Quoted(std::string_view* out) {
    size_t i = pos_ + 1;
    while (i < s_.size() && s_[i] != '"') i += s_[i] == '\\' ? 2 : 1;
    if (i >= s_.size()) return false;
    *out = s_.substr(pos_ + 1, i - pos_ - 1);
    pos_ = i + 1;
    return true;
  }
  // The text up to `close`, consuming it; false when absent.
  bool Until(char close, std::string_view* out) {
    const size_t end = s_.find(close, pos_);
    if (end == std::string_view::npos) return false;
    *out = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }
  void Advance() { ++pos_; }
  void Skip(size_t n) { pos_ = n < s_.size() - pos_ ? pos_ + n : s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool IsListKey(std::string_view key) {
  return key == "urt" || key == "upstream_response_time" || key == "us" || key == "upstream_status";
}

void SetExtra(std::string_view key, std::string_view value, Extras* x) {
  if (key == "rt" || key == "request_time" || key == "T") {
    x->request_time = value;
  } else if (key == "D") {
    x->request_time_us = value;
  } else if (key == "urt" || key == "upstream_response_time") {
    x->upstream_time.assign(value);
    x->has_upstream_time = true;
  } else if (key == "us" || key == "upstream_status") {
    x->upstream_status.assign(value);
    x->has_upstream_status = true;
  } else if (key == "cs" || key == "upstream_cache_status" || key == "cache") {
    x->cache = value;
  } else if (key == "host" || key == "vhost") {
    x->host = value;
  } else if (key == "node") {
    x->node = value;
  } else if (key == "rl" || key == "request_length") {
    x->request_length = value;
  } else if (key == "ssl" || key == "ssl_handshake") {
    x->ssl = value;
  }
}

// An unquoted upstream list written without quotes is split by spaces into words:
// `urt=0.1, 0.2` or `us=502 : 200`. A bare word continues the list when the list so far
// ends with a separator or the word starts with one.
bool ContinuesList(const std::string& so_far, std::string_view word) {
  if (so_far.empty() || word.empty()) return false;
  const char last = so_far.back();
  return last == ',' || last == ':' || word.front() == ':' || word.front() == ',';
}

Status ParseCombined(std::string_view line, WebRequest* out) {
  LineCursor c(line);
  // Three words (client ident user) or four (vhost:port client ident user) before the
  // bracketed time.
  std::string_view words[4];
  size_t n = 0;
  while (true) {
    c.SkipSpaces();
    if (c.done()) return Fail("truncated");
    if (c.peek() == '[' && n >= 3) break;
    if (n == 4) return Fail("bad_time");
    words[n++] = c.Word();
  }
  const std::string_view client = words[n - 3];
  if (n == 4) {
    if (const char* bad = NormalizeHost(words[0], &out->vhost)) return Fail(bad);
  }
  if (const char* bad = ParseClient(client, &out->client)) return Fail(bad);

  c.Advance();  // '['
  std::string_view time_text;
  if (!c.Until(']', &time_text)) return Fail("truncated");
  const auto ts = ParseClfTime(time_text);
  if (!ts) return Fail("bad_time");
  out->ts_ns = *ts;

  c.SkipSpaces();
  if (c.done()) return Fail("truncated");
  if (c.peek() != '"') return Fail("bad_request_line");
  std::string_view request;
  if (!c.Quoted(&request)) return Fail("truncated");
  out->method = MethodOf(request);

  c.SkipSpaces();
  if (c.done()) return Fail("truncated");
  if (!ParseHttpStatus(c.Word(), &out->status)) return Fail("bad_status");

  c.SkipSpaces();
  if (c.done()) return Fail("truncated");
  const std::string_view bytes = c.Word();
  uint64_t body = 0;
  if (bytes != "-" && !ParseUint(bytes, kMaxByteCount, &body)) return Fail("bad_number");
  out->bytes_sent = static_cast<int64_t>(body);

  // Quoted fields (referer, user agent, x-forwarded-for, ...), bare words, key=value.
  Extras x;
  std::string* open_list = nullptr;
  while (true) {
    c.SkipSpaces();
    if (c.done()) break;
    if (c.peek() == '"') {
      std::string_view ignored;
      if (!c.Quoted(&ignored)) return Fail("truncated");
      open_list = nullptr;
      continue;
    }
    const size_t word_start = c.pos();
    const std::string_view key = c.WordUntil('=');
    if (!c.done() && c.peek() == '=' && !key.empty()) {
      c.Advance();
      std::string_view value;
      if (!c.done() && c.peek() == '"') {
        if (!c.Quoted(&value)) return Fail("truncated");
      } else {
        value = c.Word();
      }
      SetExtra(key, value, &x);
      open_list = !IsListKey(key)                                     ? nullptr
                  : (key == "urt" || key == "upstream_response_time") ? &x.upstream_time
                                                                      : &x.upstream_status;
      continue;
    }
    // A bare word, such as a value split off an unquoted list.
    c.Word();
    const std::string_view word = line.substr(word_start, c.pos() - word_start);
    if (open_list != nullptr && ContinuesList(*open_list, word)) {
      open_list->push_back(' ');
      open_list->append(word);
    } else {
      open_list = nullptr;
    }
  }
  return ApplyExtras(x, out);
}

// ---------------------------------------------------------------------------------------
// JSON.

using simdjson::dom::element;

struct JsonState {
  simdjson::dom::parser parser;
  std::string padded;
};

JsonState& ThreadJsonState() {
  thread_local JsonState state;
  return state;
}

// A string field's text; "" for JSON null. False for other types.
bool AsText(element v, std::string_view* out) {
  if (v.is_null()) {
    *out = {};
    return true;
  }
  return !v.get_string().get(*out);
}

// A numeric field that may also be written as a string: the number as text for the shared
// text parsers. Integers and doubles are printed back exactly enough for their use.
bool NumberOrText(element v, std::string_view* text, std::string* storage) {
  if (AsText(v, text)) return true;
  char buf[64];
  uint64_t u;
  double d;
  if (!v.get_uint64().get(u)) {
    const auto r = std::to_chars(buf, buf + sizeof buf, u);
    storage->assign(buf, r.ptr);
  } else if (!v.get_double().get(d) && std::isfinite(d) && d >= 0) {
    const auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    if (r.ec != std::errc()) return false;
    storage->assign(buf, r.ptr);
  } else {
    return false;
  }
  *text = *storage;
  return true;
}

bool JsonTime(element v, int64_t* out) {
  std::string_view s;
  std::optional<int64_t> t;
  if (!v.get_string().get(s)) {
    t = ParseAnyTimeText(s);
  } else if (double d; v.is_number() && !v.get_double().get(d)) {
    t = EpochSecondsToNs(d);
  }
  if (!t) return false;
  *out = *t;
  return true;
}

Status ParseJson(std::string_view line, WebRequest* out) {
  JsonState& st = ThreadJsonState();
  st.padded.assign(line);
  st.padded.append(simdjson::SIMDJSON_PADDING, ' ');
  element doc;
  simdjson::dom::object obj;
  if (st.parser.parse(st.padded.data(), line.size(), false).get(doc) || doc.get_object().get(obj))
    return Fail("bad_json");

  Extras x;
  // Text storage for numbers given as JSON numbers; one per field that can need it.
  std::string rt_text, urt_text, us_text, rl_text;
  int time_rank = 0;  // higher is more precise: msec > ts > time strings
  bool have_status = false;
  std::string_view host, server_name, method, request;
  bool have_host = false, have_server_name = false, have_method = false, have_request = false;
  bool have_body_bytes = false;
  for (auto field : obj) {
    const std::string_view key = field.key;
    const element v = field.value;
    if (key == "time" || key == "time_iso8601" || key == "time_local" || key == "msec" ||
        key == "ts" || key == "timestamp") {
      int64_t t;
      if (!JsonTime(v, &t)) return Fail("bad_time");
      const int rank = key == "msec" ? 3 : key == "ts" ? 2 : 1;
      if (rank >= time_rank) {
        out->ts_ns = t;
        time_rank = rank;
      }
    } else if (key == "status") {
      std::string_view s;
      std::string storage;
      if (!NumberOrText(v, &s, &storage) || !ParseHttpStatus(s, &out->status))
        return Fail("bad_status");
      have_status = true;
    } else if (key == "request_time") {
      std::string_view s;
      if (!NumberOrText(v, &s, &rt_text)) return Fail("bad_number");
      x.request_time = s;
    } else if (key == "upstream_response_time") {
      std::string_view s;
      if (!NumberOrText(v, &s, &urt_text)) return Fail("bad_number");
      x.upstream_time.assign(s);
      x.has_upstream_time = true;
    } else if (key == "upstream_status") {
      std::string_view s;
      if (!NumberOrText(v, &s, &us_text)) return Fail("bad_status");
      x.upstream_status.assign(s);
      x.has_upstream_status = true;
    } else if (key == "request_length") {
      std::string_view s;
      if (!NumberOrText(v, &s, &rl_text)) return Fail("bad_number");
      x.request_length = s;
    } else if (key == "body_bytes_sent" || key == "bytes_sent") {
      // Both are accepted; the body count wins when a line has both.
      std::string_view s;
      std::string storage;
      uint64_t n = 0;
      if (!NumberOrText(v, &s, &storage) ||
          (s != "-" && !s.empty() && !ParseUint(s, kMaxByteCount, &n)))
        return Fail("bad_number");
      if (s.empty()) continue;
      if (key == "body_bytes_sent" || !have_body_bytes) out->bytes_sent = static_cast<int64_t>(n);
      have_body_bytes = have_body_bytes || key == "body_bytes_sent";
    } else {
      std::string_view s;
      const bool is_text_key = key == "host" || key == "vhost" || key == "server_name" ||
                               key == "node" || key == "hostname" || key == "request_method" ||
                               key == "method" || key == "request" || key == "remote_addr" ||
                               key == "upstream_cache_status" || key == "cache_status" ||
                               key == "ssl_handshake";
      if (!is_text_key) continue;  // unknown keys are ignored
      if (!AsText(v, &s)) return Fail("bad_field");
      if (key == "host" || key == "vhost") {
        host = s;
        have_host = true;
      } else if (key == "server_name") {
        server_name = s;
        have_server_name = true;
      } else if (key == "node" || key == "hostname") {
        x.node = s;
      } else if (key == "request_method" || key == "method") {
        method = s;
        have_method = true;
      } else if (key == "request") {
        request = s;
        have_request = true;
      } else if (key == "remote_addr") {
        if (const char* bad = ParseClient(s, &out->client)) return Fail(bad);
      } else if (key == "upstream_cache_status" || key == "cache_status") {
        x.cache = s;
      } else {
        x.ssl = s;
      }
    }
  }
  if (time_rank == 0 || !have_status) return Fail("missing_field");
  if (have_host && !host.empty() && host != "-") {
    x.host = host;
  } else if (have_server_name) {
    x.host = server_name;
  }
  if (have_method) {
    out->method = MethodOf(method);
  } else if (have_request) {
    out->method = MethodOf(request);
  }
  return ApplyExtras(x, out);
}

// ---------------------------------------------------------------------------------------
// nginx error log.

bool IsNginxLevel(std::string_view s) {
  for (std::string_view level :
       {"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"})
    if (s == level) return true;
  return false;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// A usable vhost from an error-log context value: a name, not an address or "_".
std::string VhostFromContext(std::string_view value) {
  std::string host;
  if (NormalizeHost(value, &host) != nullptr || host.empty() || host == "_") return {};
  std::string_view bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  if (IpAddress::Parse(bare)) return {};
  if (bare.find(':') != std::string_view::npos) return {};
  return host;
}

// nginx appends `, client: A, server: B, request: "R", upstream: "U", host: "H", ...`.
// Returns the vhost it names, preferring host over server.
std::string VhostFromErrorContext(std::string_view context) {
  std::string from_server;
  LineCursor c(context);
  while (!c.done()) {
    std::string_view name;
    if (!c.Until(':', &name)) break;
    name = Trim(name);
    if (c.done() || c.peek() != ' ') break;
    c.Advance();
    std::string_view value;
    if (!c.done() && c.peek() == '"') {
      if (!c.Quoted(&value)) break;
    } else {
      const std::string_view rest = context.substr(c.pos());
      const size_t comma = rest.find(", ");
      value = rest.substr(0, comma);
      c.Skip(value.size());
    }
    if (name == "host") {
      std::string v = VhostFromContext(value);
      if (!v.empty()) return v;
    } else if (name == "server" && from_server.empty()) {
      from_server = VhostFromContext(value);
    }
    // Next field: ", name: value".
    if (c.done()) break;
    if (c.peek() != ',') break;
    c.Advance();
  }
  return from_server;
}

}  // namespace

bool ParseWebLogFormat(std::string_view name, WebLogFormat* out) {
  if (name == "combined") {
    *out = WebLogFormat::kCombined;
  } else if (name == "json") {
    *out = WebLogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

Status ParseAccessLine(std::string_view line, WebLogFormat format, WebRequest* out) {
  *out = WebRequest{};
  if (line.size() > kMaxWebLineBytes) return Fail("line_too_long");
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (Trim(line).empty()) return Fail("truncated");
  return format == WebLogFormat::kJson ? ParseJson(line, out) : ParseCombined(line, out);
}

Status ParseNginxErrorLine(std::string_view line, int64_t utc_offset_s, WebErrorEvent* out) {
  *out = WebErrorEvent{};
  if (line.size() > kMaxWebLineBytes) return Fail("line_too_long");
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "2026/11/23 10:00:00 [info] 1234#0: "
  if (line.size() < 19) return Fail("truncated");
  int y, mo, d, h, mi, s;
  if (!FixedDigits(line, 0, 4, &y) || line[4] != '/' || !FixedDigits(line, 5, 2, &mo) ||
      line[7] != '/' || !FixedDigits(line, 8, 2, &d) || line[10] != ' ' ||
      !FixedDigits(line, 11, 2, &h) || line[13] != ':' || !FixedDigits(line, 14, 2, &mi) ||
      line[16] != ':' || !FixedDigits(line, 17, 2, &s))
    return Fail("bad_time");
  if (utc_offset_s < -86400 || utc_offset_s > 86400) return Fail("bad_time");
  const auto ts = CivilToUtcNs(y, mo, d, h, mi, s, 0, utc_offset_s);
  if (!ts) return Fail("bad_time");
  out->ts_ns = *ts;

  LineCursor c(line.substr(19));
  if (c.done()) return Fail("truncated");
  if (c.peek() != ' ') return Fail("bad_field");
  c.Advance();
  if (c.done()) return Fail("truncated");
  if (c.peek() != '[') return Fail("bad_field");
  c.Advance();
  std::string_view level;
  if (!c.Until(']', &level)) return Fail("truncated");
  if (!IsNginxLevel(level)) return Fail("bad_field");
  if (c.done()) return Fail("truncated");
  if (c.peek() != ' ') return Fail("bad_field");
  c.Advance();
  // pid#tid:
  const std::string_view ids = c.WordUntil(':');
  if (c.done()) return Fail("truncated");
  const size_t hash = ids.find('#');
  uint64_t ignored;
  if (c.peek() != ':' || hash == std::string_view::npos ||
      !ParseUint(ids.substr(0, hash), UINT64_MAX, &ignored) ||
      !ParseUint(ids.substr(hash + 1), UINT64_MAX, &ignored))
    return Fail("bad_field");
  c.Advance();
  const std::string_view rest = line.substr(19 + c.pos());

  const size_t context_at = rest.find(", client: ");
  const std::string_view message = rest.substr(0, context_at);
  if (!Contains(message, "SSL handshaking to upstream")) {
    out->tls_handshake_failure = Contains(message, "SSL_do_handshake() failed") ||
                                 Contains(message, "peer closed connection in SSL handshake") ||
                                 Contains(message, "while SSL handshaking");
  }
  if (context_at != std::string_view::npos)
    out->vhost = VhostFromErrorContext(rest.substr(context_at + 2));
  return Status::Ok();
}

}  // namespace dnsight
