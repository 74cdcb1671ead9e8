// RawDnsObservation and ObservationSink: what every DNS decoder hands to the pipeline.
//
// A decoder (dnstap, pcap, JSON lines) turns its input into observations: one per DNS
// transaction (a query, a response, or a matched query+response pair). The pipeline then
// normalizes each into a DnsEvent. Decoders report bad input through on_malformed, with a
// short reason token and a sample of the offending bytes; they never throw.
//
// Lifetime: string views inside an observation are valid only during the on_observation
// call. Thread-safety: a sink is called from one decoder thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dnsight/ip_address.h"

namespace dnsight {

enum class Transport : uint8_t { kUnknown = 0, kUdp = 1, kTcp = 2, kDot = 3, kDoh = 4 };

struct RawDnsObservation {
  int64_t query_time_ns = -1;     // UTC ns when the query was seen; -1 if unknown
  int64_t response_time_ns = -1;  // UTC ns when the response was seen; -1 if none
  IpAddress client;
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  Transport transport = Transport::kUnknown;
  std::string_view qname;  // as decoded: any case, trailing dot or not
  uint16_t qtype = 0;
  uint16_t qclass = 1;
  int rcode = -1;  // -1: no response observed
  uint32_t query_size = 0;
  uint32_t response_size = 0;
  uint16_t answer_count = 0;
  int64_t min_ttl = -1;  // smallest answer TTL; -1 if none
  // Set when the producer already knows latency but not both timestamps (JSON lines).
  int64_t latency_ns = -1;
};

class ObservationSink {
 public:
  virtual ~ObservationSink() = default;
  virtual void OnObservation(const RawDnsObservation& obs) = 0;
  // reason: short stable token, used as a counter label. sample: the bad bytes (may be
  // truncated by the sink).
  virtual void OnMalformed(std::string_view reason, std::span<const uint8_t> sample) = 0;
};

}  // namespace dnsight
