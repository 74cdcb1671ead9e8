// DnsSource: a producer of DNS observations (dnstap, pcap, live capture, JSON lines).
//
// Run() reads until its input ends (files), RequestStop() is called (sockets, live
// capture, followed files), or a fatal error occurs. Each observation and each malformed
// input is reported to the sink from the thread that called Run(). Malformed input is
// never fatal; only failures to open or read the input are returned as a Status.
//
// Thread-safety: Run() is called once, from one thread. RequestStop() may be called from
// any thread, at any time, and makes Run() return soon after.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dnsight/observation.h"
#include "dnsight/status.h"

namespace dnsight {

class DnsSource {
 public:
  virtual ~DnsSource() = default;
  virtual Status Run(ObservationSink& sink) = 0;
  virtual void RequestStop() = 0;
  // Human-readable identity, e.g. "pcap:/var/tmp/x.pcap", used in counters and logs.
  virtual std::string Describe() const = 0;
  // The source's own counters (packets, frames, unanswered queries, connections, ...) as
  // name/value pairs, for the counters report. Thread-safe; a snapshot.
  virtual std::vector<std::pair<std::string, uint64_t>> Counters() const { return {}; }
};

}  // namespace dnsight
