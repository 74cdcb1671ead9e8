// PcapSource: DNS observations from a pcap / pcapng file or a live interface.
//
// Frames are decoded by PacketDecoder; a UDP or TCP packet whose source or destination
// port is one of dns_ports is DNS. UDP payloads are parsed as one message each; TCP
// payloads go through TcpDnsStream first. Queries (QR=0, client = sender) and responses
// (QR=1, client = receiver) are paired by DnsTransactionMatcher, so the sink receives one
// observation per transaction: matched, unanswered (after matcher.timeout_ns of packet
// time, or at the end of input) or an unmatched response.
//
// Time is packet time only (nanosecond precision where the file or the capture provides
// it): expiry of pending queries and idle TCP flows runs every expire_interval_ns of
// packet time, never on a wall clock. In a live capture a query therefore stays pending
// while no packets arrive; everything pending is flushed when Run() returns.
//
// Bad input is counted, never fatal: a broken frame, a broken DNS message and a corrupt
// or truncated pcap record each go to sink.OnMalformed() with a reason token (the
// PacketDecodeReason / DnsParseReason tokens, or "pcap_bad_record"); reading stops at a
// corrupt record since the rest of the file cannot be framed. Traffic that is not DNS
// (other ports, other protocols) and IP fragments are counted, not reported.
// Run() returns an error Status only when the input cannot be opened or set up (missing
// file, unsupported link type, bad filter, capture permission) or a live read fails.
//
// Thread-safety: as DnsSource. counters() may be called from any thread; it returns a
// snapshot refreshed every expire_interval_ns of packet time and when Run() returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dnsight/source.h"
#include "ingest/dns_matcher.h"
#include "ingest/tcp_dns_stream.h"

struct pcap;

namespace dnsight {

struct PcapSourceOptions {
  // Exactly one of these: a pcap or pcapng file, or a network interface ("any" works on
  // Linux and yields DLT_LINUX_SLL/SLL2 frames).
  std::string file_path;
  std::string interface;
  // BPF filter applied by libpcap. nullopt: live captures use "port P [or port Q...]" built
  // from dns_ports (cheap kernel-side drop of everything else; note it does not match
  // VLAN-tagged frames, use "port 53 or (vlan and port 53)" for trunks); files use none,
  // so non-DNS traffic is counted. An empty string means no filter.
  std::optional<std::string> bpf_filter;
  // Ports that mark a packet as DNS (either direction). Must not be empty.
  std::vector<uint16_t> dns_ports = {53};
  // Live only: bytes kept per packet. DNS over UDP rarely exceeds 4 KiB, but EDNS answers
  // and TCP segments can reach 64 KiB; a shorter snaplen truncates them (counted).
  int snaplen = 65535;
  bool promisc = false;  // live only
  // Live only: the longest Run() waits for packets before checking RequestStop(). Lower
  // costs wakeups; higher delays stopping (pcap_breakloop usually wakes it at once).
  int read_timeout_ms = 100;
  // Live only: kernel capture buffer in bytes; 0 keeps libpcap's default (2 MiB). Raise
  // it when pcap_dropped grows.
  int buffer_size_bytes = 0;
  // How often, in packet time, pending queries and idle TCP flows are expired.
  int64_t expire_interval_ns = 1'000'000'000;
  DnsTransactionMatcher::Options matcher;
  TcpDnsStream::Options tcp;
};

struct PcapSourceCounters {
  uint64_t packets = 0;            // frames read
  uint64_t bytes = 0;              // captured bytes of those frames
  uint64_t snaplen_truncated = 0;  // frames captured shorter than they were on the wire
  uint64_t non_dns = 0;            // non-IP, non-UDP/TCP, or not on a DNS port
  uint64_t ip_fragments = 0;       // skipped: fragments are not reassembled
  uint64_t dns_messages = 0;       // DNS messages parsed (UDP payloads + TCP messages)
  uint64_t dns_queries = 0;        // of those, QR=0
  uint64_t dns_responses = 0;      // of those, QR=1
  uint64_t malformed = 0;          // every OnMalformed() call
  std::map<std::string, uint64_t, std::less<>> malformed_by_reason;
  uint64_t pcap_received = 0;    // live only, from pcap_stats()
  uint64_t pcap_dropped = 0;     // live only: dropped by the kernel buffer
  uint64_t pcap_if_dropped = 0;  // live only: dropped by the interface
  TcpDnsStreamCounters tcp;
  DnsMatcherCounters matcher;
};

class PcapSource : public DnsSource {
 public:
  explicit PcapSource(PcapSourceOptions options);
  ~PcapSource() override;
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  Status Run(ObservationSink& sink) override;
  void RequestStop() override;
  std::string Describe() const override;

  PcapSourceCounters counters() const;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 private:
  class Session;
  Status Open(pcap** out);
  void Publish(const PcapSourceCounters& c);

  const PcapSourceOptions options_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  pcap* handle_ = nullptr;       // guarded by mu_; set while Run() reads
  PcapSourceCounters snapshot_;  // guarded by mu_
};

}  // namespace dnsight
