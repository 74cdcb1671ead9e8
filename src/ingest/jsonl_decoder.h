// JsonLinesDecoder: one DNS event per line of JSON (the schema is in docs/jsonl.md).
//
// Decode() parses one line into a RawDnsObservation. The observation's qname view points
// into the decoder's own storage and stays valid until the next Decode() call. Bad lines
// return a reason token ("bad_json", "missing_ts", "bad_ts", "missing_qname",
// "bad_address", "bad_qtype", "bad_rcode", "bad_number") and no observation.
//
// Thread-safety: not thread-safe (reuses a simdjson parser); one per source.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dnsight/observation.h"

namespace dnsight {

class JsonLinesDecoder {
 public:
  JsonLinesDecoder();
  ~JsonLinesDecoder();
  JsonLinesDecoder(const JsonLinesDecoder&) = delete;
  JsonLinesDecoder& operator=(const JsonLinesDecoder&) = delete;

  // `line` must stay readable for `padding_available` bytes past its end (simdjson reads
  // ahead); pass 0 and the decoder copies the line into a padded buffer.
  bool Decode(std::string_view line, size_t padding_available, RawDnsObservation* out,
              std::string_view* reason);

  static constexpr size_t kPadding = 64;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnsight
