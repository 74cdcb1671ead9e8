// JsonLinesSource: DNS events as JSON lines from a file, a followed file, or stdin.
//
// path "-" reads standard input until EOF. With follow=true a file is read like
// `tail -F`: after reaching the end it polls every poll_interval for more data; when the
// path is renamed away and re-created (rotation) it drains the old file to its end and
// then opens the new one from the start; when the file shrinks (copytruncate) it
// restarts from offset 0. A missing file is waited for. Lines longer than max_line_bytes
// are skipped (counted as "line_too_long"); an unterminated last line is parsed at EOF
// unless following.
//
// Thread-safety: see DnsSource.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "dnsight/source.h"

namespace dnsight {

struct JsonLinesSourceOptions {
  std::string path;  // "-" for stdin
  bool follow = false;
  int64_t poll_interval_ms = 200;
  size_t max_line_bytes = 1 << 20;
};

struct JsonLinesSourceCounters {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t rotations = 0;
  uint64_t truncations = 0;
};

class JsonLinesSource : public DnsSource {
 public:
  explicit JsonLinesSource(JsonLinesSourceOptions options);
  Status Run(ObservationSink& sink) override;
  void RequestStop() override { stop_.store(true); }
  std::string Describe() const override;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;
  // REQUIRES: Run() has returned (or a racy read is acceptable, as in tests that poll).
  const JsonLinesSourceCounters& counters() const { return counters_; }

 private:
  JsonLinesSourceOptions options_;
  std::atomic<bool> stop_{false};
  JsonLinesSourceCounters counters_;
};

}  // namespace dnsight
