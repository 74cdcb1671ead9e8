#include "engine/row_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "common/dns_names.h"
#include "common/time_util.h"

namespace dnsight {
namespace {

FILE* OpenOutput(const std::string& path) {
  if (path.empty()) return nullptr;
  if (path == "-") return stdout;
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw ConfigError(path + ": cannot open for writing: " + std::strerror(errno));
  return f;
}

void CloseOutput(FILE* f) {
  if (f == nullptr) return;
  if (f == stdout) {
    std::fflush(f);
  } else {
    std::fclose(f);
  }
}

}  // namespace

void AppendJsonKey(std::string_view key, std::string* out) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

void AppendJsonMember(std::string_view key, std::string_view value, std::string* out) {
  AppendJsonKey(key, out);
  AppendJsonString(value, out);
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          // Non-ASCII bytes are not guaranteed to be UTF-8 here: escape them all.
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

char* WriteJsonNumber(double v, char* p) {
  if (!std::isfinite(v)) {
    std::memcpy(p, "null", 4);
    return p + 4;
  }
  char* const end = p + kMaxJsonNumberChars;
  // Counts are most of the values: an integral value prints as its digits, which is what
  // the shortest form below gives whenever it is no longer than the scientific form (below
  // 1e5, or no trailing zero). -0 keeps its sign through the general path.
  if (v == std::trunc(v) && std::fabs(v) < 1e15 && !(v == 0 && std::signbit(v))) {
    const auto n = static_cast<int64_t>(v);
    if ((n < 100000 && n > -100000) || n % 10 != 0) return std::to_chars(p, end, n).ptr;
  }
  return std::to_chars(p, end, v).ptr;
}

NumberTextCache::NumberTextCache() : slots_(4096) {}

char* NumberTextCache::Write(double v, char* p) {
  if (!std::isfinite(v) || v == std::trunc(v)) return WriteJsonNumber(v, p);
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  Slot& slot = slots_[(bits * 0x9E3779B97F4A7C15ull) >> 52];
  if (slot.len != 0 && slot.bits == bits) {
    std::memcpy(p, slot.text, slot.len);
    return p + slot.len;
  }
  char* const end = WriteJsonNumber(v, p);
  const auto len = static_cast<size_t>(end - p);
  if (len <= sizeof slot.text) {
    slot.bits = bits;
    slot.len = static_cast<uint8_t>(len);
    std::memcpy(slot.text, p, len);
  }
  return end;
}

void AppendJsonNumber(double v, std::string* out) {
  char buf[kMaxJsonNumberChars];
  out->append(buf, WriteJsonNumber(v, buf));
}

JsonLinesRowSink::JsonLinesRowSink(const std::string& features, const std::string& late,
                                   const std::string& dead_letter)
    : features_(OpenOutput(features)), late_(OpenOutput(late)), dead_(OpenOutput(dead_letter)) {}

JsonLinesRowSink::~JsonLinesRowSink() {
  CloseOutput(features_);
  CloseOutput(late_);
  CloseOutput(dead_);
}

void JsonLinesRowSink::Flush() {
  for (FILE* f : {features_, late_, dead_})
    if (f) std::fflush(f);
}

const std::vector<std::string>& JsonLinesRowSink::KeysFor(const FeatureView& v) {
  auto it = keys_.find(&v);
  if (it != keys_.end()) return it->second;
  std::vector<std::string> keys;
  for (size_t i = 0; i < v.feature_names.size(); ++i) {
    std::string k = i ? "," : "";
    AppendJsonString(v.feature_names[i], &k);
    k.push_back(':');
    keys.push_back(std::move(k));
  }
  return keys_.emplace(&v, std::move(keys)).first->second;
}

void JsonLinesRowSink::WriteRows(const std::vector<FeatureView>& views,
                                 std::span<const FeatureRow> rows) {
  if (features_ == nullptr) return;
  std::string& b = buf_;
  for (const FeatureRow& r : rows) {
    const FeatureView& v = views[r.view];
    b.clear();
    b.append("{\"view\":");
    AppendJsonString(v.name, &b);
    b.append(",\"version\":\"").append(v.version).append("\",\"entity\":");
    AppendJsonString(v.EntityText(r.entity_key), &b);
    if (r.window_end_ns != window_end_ns_) {
      window_end_ns_ = r.window_end_ns;
      window_end_text_ = ",\"window_end\":\"" + FormatRfc3339(r.window_end_ns) +
                         "\",\"window_end_ns\":" + std::to_string(r.window_end_ns);
    }
    b.append(window_end_text_);
    b.append(",\"features\":{");
    // The members go through a raw buffer sized for the widest case: no per-value checks.
    const std::vector<std::string>& keys = KeysFor(v);
    size_t need = 0;
    for (size_t i = 0; i < r.values.size(); ++i) need += keys[i].size() + kMaxJsonNumberChars;
    if (features_buf_.size() < need) features_buf_.resize(need);
    char* const start = features_buf_.data();
    char* p = start;
    for (size_t i = 0; i < r.values.size(); ++i) {
      std::memcpy(p, keys[i].data(), keys[i].size());
      p = numbers_.Write(r.values[i], p + keys[i].size());
    }
    b.append(start, p);
    b.append("}}\n");
    std::fwrite(b.data(), 1, b.size(), features_);
  }
  // One call per closed pane: readers of a live output see each pane as it closes.
  Flush();
}

void JsonLinesRowSink::WriteLate(const DnsEventBatch& batch, const DnsEvent& e,
                                 int64_t watermark_ns) {
  if (late_ == nullptr) return;
  std::string b;
  b.append("{\"ts\":\"").append(FormatRfc3339(e.ts_ns));
  b.append("\",\"watermark\":\"").append(FormatRfc3339(watermark_ns)).append("\",\"client\":");
  AppendJsonString(e.client.ToString(), &b);
  b.append(",\"qname\":");
  AppendJsonString(batch.qname(e), &b);
  b.append(",\"qtype\":");
  AppendJsonString(QtypeName(e.qtype), &b);
  b.append(",\"rcode\":");
  if (e.rcode < 0) {
    b.append("null");
  } else {
    AppendJsonString(RcodeName(e.rcode), &b);
  }
  b.append("}\n");
  std::fwrite(b.data(), 1, b.size(), late_);
}

void JsonLinesRowSink::WriteDeadLetter(std::string_view source, std::string_view reason,
                                       std::span<const uint8_t> sample) {
  if (dead_ == nullptr) return;
  constexpr size_t kMaxSample = 512;
  const size_t n = std::min(sample.size(), kMaxSample);
  bool printable = true;
  for (size_t i = 0; i < n; ++i) printable &= sample[i] >= 0x20 && sample[i] < 0x7f;
  std::string b;
  b.append("{\"source\":");
  AppendJsonString(source, &b);
  b.append(",\"reason\":");
  AppendJsonString(reason, &b);
  b.append(",\"size\":").append(std::to_string(sample.size()));
  if (printable) {
    b.append(",\"sample\":");
    AppendJsonString({reinterpret_cast<const char*>(sample.data()), n}, &b);
  } else {
    b.append(",\"sample_hex\":\"");
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; ++i) {
      b.push_back(kHex[sample[i] >> 4]);
      b.push_back(kHex[sample[i] & 15]);
    }
    b.push_back('"');
  }
  b.append("}\n");
  std::fwrite(b.data(), 1, b.size(), dead_);
}

}  // namespace dnsight
