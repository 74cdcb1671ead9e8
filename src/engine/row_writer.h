// JsonLinesRowSink: writes feature rows, late events and dead letters as JSON lines.
//
// Feature row:  {"view":"client","version":"9f3c…","entity":"192.0.2.7",
//                "window_end":"2026-11-23T10:00:10Z","window_end_ns":…,
//                "features":{"queries_1m":12,"nxdomain_ratio_1m":0.25,…}}
// Undefined values (a mean of nothing) are written as null.
// Late event:   {"ts":"…","watermark":"…","client":"…","qname":"…","qtype":"A","rcode":"NOERROR"}
// Dead letter:  {"source":"jsonl:x","reason":"bad_json","size":123,"sample":"<text or hex>"}
//
// Each output is its own file ("-" is stdout). All outputs are flushed after each block
// of rows (one closed pane), on Flush() and at destruction. Thread-safety: WriteRows may be called
// from a writer thread while WriteLate / WriteDeadLetter are called from the ingest thread; each
// output has its own buffer, and two outputs must not name the same file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/pipeline.h"

namespace dnsight {

// WriteJsonNumber with the text of recent non-integral values remembered, keyed by their
// exact bits: feature rows repeat a small set of fractions (k/n ratios, rates of k per
// window, sketch bucket values), and a hit copies the text instead of running the
// shortest-form conversion again. Same output as WriteJsonNumber. Direct-mapped, 128 KiB.
class NumberTextCache {
 public:
  NumberTextCache();
  // REQUIRES: kMaxJsonNumberChars bytes at p.
  char* Write(double v, char* p);

 private:
  struct Slot {
    uint64_t bits = 0;
    uint8_t len = 0;  // 0: empty
    char text[23];
  };
  static_assert(sizeof(Slot) == 32);
  std::vector<Slot> slots_;
};

class JsonLinesRowSink : public RowSink {
 public:
  // Empty paths disable that output (rows still go to features when set).
  // Throws ConfigError if a file cannot be opened (startup only).
  JsonLinesRowSink(const std::string& features, const std::string& late,
                   const std::string& dead_letter);
  ~JsonLinesRowSink() override;
  JsonLinesRowSink(const JsonLinesRowSink&) = delete;
  JsonLinesRowSink& operator=(const JsonLinesRowSink&) = delete;

  void WriteRows(const std::vector<FeatureView>& views, std::span<const FeatureRow> rows) override;
  void WriteLate(const DnsEventBatch& batch, const DnsEvent& e, int64_t watermark_ns) override;
  void WriteDeadLetter(std::string_view source, std::string_view reason,
                       std::span<const uint8_t> sample) override;
  void Flush();

 private:
  // "\"name\":" per feature, escaped once per view.
  const std::vector<std::string>& KeysFor(const FeatureView& v);

  std::unordered_map<const FeatureView*, std::vector<std::string>> keys_;
  FILE* features_ = nullptr;
  FILE* late_ = nullptr;
  FILE* dead_ = nullptr;
  std::string buf_;
  std::vector<char> features_buf_;  // one row's features object, grown to the widest row
  NumberTextCache numbers_;
  // `","window_end":"...","window_end_ns":...` of the last window end written: rows of
  // one closed pane share it.
  int64_t window_end_ns_ = INT64_MIN;
  std::string window_end_text_;
};

// JSON string escaping (RFC 8259), appended to *out with quotes.
void AppendJsonString(std::string_view s, std::string* out);
// Shortest round-trip form; NaN and infinities as null.
void AppendJsonNumber(double v, std::string* out);
// The same text written at p; returns the end. REQUIRES: kMaxJsonNumberChars bytes at p.
inline constexpr size_t kMaxJsonNumberChars = 32;
char* WriteJsonNumber(double v, char* p);
// `"key":` — the key is written as given (callers pass fixed names, never input).
void AppendJsonKey(std::string_view key, std::string* out);
// `"key":"value"` with the value escaped.
void AppendJsonMember(std::string_view key, std::string_view value, std::string* out);

}  // namespace dnsight
