// JsonLinesSource: DNS events as JSON lines from a file, a followed file, or stdin.
//
// Reading is LineFollower's (line_follower.h): path "-" reads standard input until EOF;
// with follow=true a file is read like `tail -F` (rotation drains the old file first,
// copytruncate restarts at offset 0, a missing file is waited for). Lines longer than
// max_line_bytes are skipped (counted as "line_too_long"); an unterminated last line is
// parsed at EOF unless following. Each line goes through JsonLinesDecoder in place.
//
// Thread-safety: see DnsSource; counters() may be read while Run() runs.
#pragma once

#include <cstdint>
#include <string>

#include "dnsight/source.h"
#include "ingest/line_follower.h"

namespace dnsight {

struct JsonLinesSourceOptions {
  std::string path;  // "-" for stdin
  bool follow = false;
  int64_t poll_interval_ms = 200;
  size_t max_line_bytes = 1 << 20;
};

using JsonLinesSourceCounters = LineFollowerCounters;

class JsonLinesSource : public DnsSource {
 public:
  explicit JsonLinesSource(JsonLinesSourceOptions options);
  Status Run(ObservationSink& sink) override;
  void RequestStop() override { follower_.RequestStop(); }
  std::string Describe() const override;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;
  // A snapshot; safe to call while Run() runs.
  JsonLinesSourceCounters counters() const { return follower_.counters(); }

 private:
  JsonLinesSourceOptions options_;
  LineFollower follower_;
};

}  // namespace dnsight
