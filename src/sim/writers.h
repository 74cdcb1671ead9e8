// Writers of simulated transactions in dnsight's real input formats, and the pacer that
// replays them at a multiple of real time.
//
//   JSON lines  one transaction per line, in query-time order (docs/jsonl.md schema).
//   dnstap      a Frame Streams file (START, data frames, STOP) of CLIENT_QUERY and
//               CLIENT_RESPONSE messages, one pair per transaction, as a resolver's
//               dnstap-log-client-*-messages would write them.
//   pcap        nanosecond pcap, Ethernet/IPv4/UDP, one query and one response packet.
// dnstap and pcap frames are written in frame-time order, as a capture would be: each
// response waits in a queue until no earlier frame can follow. Flush(now) releases the
// responses due by `now` (the end of a tick), so a paced stream stays in order.
//
// Errors: I/O failures are returned as Status (IoError naming the path). Nothing throws.
// Thread-safety: not thread-safe; one writer per output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dnsight/clock.h"
#include "dnsight/status.h"
#include "sim/traffic.h"

namespace dnsight::sim {

// A buffered output file; "-" is standard output.
class OutputFile {
 public:
  static Result<std::unique_ptr<OutputFile>> Open(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Buffers; writes through once the buffer passes 1 MiB.
  Status Append(std::string_view bytes);
  Status Flush();
  Status Close();
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  OutputFile(std::string path, FILE* file, bool owned);
  std::string path_;
  FILE* file_;
  bool owned_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  Status error_;
};

class EventWriter : public EventSink {
 public:
  // Hands everything due by now_ns (event time) to the OS.
  virtual Status Flush(int64_t now_ns) = 0;
  // Writes what is still queued and any trailer, then closes the file.
  virtual Status Close() = 0;
  virtual uint64_t bytes() const = 0;
};

std::unique_ptr<EventWriter> MakeJsonlWriter(std::unique_ptr<OutputFile> file);
// identities[i]: the dnstap identity of resolver i (Fleet::resolvers order).
std::unique_ptr<EventWriter> MakeDnstapWriter(std::unique_ptr<OutputFile> file,
                                              std::vector<std::string> identities);
std::unique_ptr<EventWriter> MakePcapWriter(std::unique_ptr<OutputFile> file);

// Appends one JSON line for `e` (docs/jsonl.md). `cache` (optional) keeps the formatted
// second between calls. Exposed for tests.
struct SecondText {
  int64_t second = -1;
  std::string text;  // "2026-11-23T10:00:00"
};
void AppendEventJson(const SimEvent& e, std::string* out, SecondText* cache = nullptr);

// Paces a replay: WaitUntil(t) returns once wall time has reached
// wall_start + (t - sim_start) / speed, where wall_start is the clock at the first call.
// The clock and sleep function are injected so tests need not wait.
class Pacer {
 public:
  using SleepFn = std::function<void(int64_t ns)>;
  // REQUIRES: speed > 0. clock must outlive the pacer.
  Pacer(double speed, int64_t sim_start_ns, const Clock& clock, SleepFn sleep);
  void WaitUntil(int64_t sim_ns);

 private:
  double speed_;
  int64_t sim_start_ns_;
  const Clock& clock_;
  SleepFn sleep_;
  int64_t wall_start_ns_ = -1;
};

}  // namespace dnsight::sim
