// DnstapDecoder: turns dnstap data frames (serialized dnstap.Dnstap protobufs) into DNS
// observations.
//
// Each frame holds one DNS message seen at one vantage point. *_QUERY messages go to the
// transaction matcher as queries (client = query_address/port, server =
// response_address/port, time = query time); *_RESPONSE messages as responses (time =
// response time). The matcher pairs them and emits one observation per transaction to
// the sink. A response that carries its own query time (some producers set it; unbound
// 1.17 does not) is passed to the matcher as a latency hint, but only when the matching
// query type is not ingested: otherwise the query would be emitted twice (once
// unanswered).
//
// Which message types are ingested is a mask (DnstapTypeMask); the default is the
// client-facing view of a resolver, CLIENT_QUERY + CLIENT_RESPONSE. Bad frames are
// counted and reported to sink.OnMalformed(reason, bytes); they are never fatal.
//
// Frames are read in place by ParseDnstapFrame (dnstap_wire.h), which accepts exactly
// what libprotobuf would; nothing is copied out of the frame.
//
// Thread-safety: not thread-safe; one decoder per Run() thread. The sink must outlive
// the decoder. Decoding allocates nothing per frame (the matcher may).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "dnsight/observation.h"
#include "dnsight/status.h"
#include "ingest/dns_matcher.h"

namespace dnsight {

// Values of dnstap.Message.Type.
enum class DnstapMessageType : uint8_t {
  kAuthQuery = 1,
  kAuthResponse = 2,
  kResolverQuery = 3,
  kResolverResponse = 4,
  kClientQuery = 5,
  kClientResponse = 6,
  kForwarderQuery = 7,
  kForwarderResponse = 8,
  kStubQuery = 9,
  kStubResponse = 10,
  kToolQuery = 11,
  kToolResponse = 12,
  kUpdateQuery = 13,
  kUpdateResponse = 14,
};
inline constexpr int kDnstapMaxMessageType = 14;
// "CLIENT_QUERY", ...; "UNKNOWN" outside 1..14.
std::string_view DnstapMessageTypeName(int type);

// Bit t set: ingest Message.Type t.
using DnstapTypeMask = uint32_t;
constexpr DnstapTypeMask DnstapTypeBit(DnstapMessageType t) {
  return DnstapTypeMask{1} << static_cast<int>(t);
}
inline constexpr DnstapTypeMask kDnstapClientTypes =
    DnstapTypeBit(DnstapMessageType::kClientQuery) |
    DnstapTypeBit(DnstapMessageType::kClientResponse);
inline constexpr DnstapTypeMask kDnstapAuthTypes =
    DnstapTypeBit(DnstapMessageType::kAuthQuery) | DnstapTypeBit(DnstapMessageType::kAuthResponse);
inline constexpr DnstapTypeMask kDnstapResolverTypes =
    DnstapTypeBit(DnstapMessageType::kResolverQuery) |
    DnstapTypeBit(DnstapMessageType::kResolverResponse);
inline constexpr DnstapTypeMask kDnstapAllTypes = 0x7ffe;  // types 1..14

// Parses a comma-separated list of sets ("client", "auth", "resolver", "forwarder",
// "stub", "tool", "update", "all") and/or type names ("CLIENT_QUERY", any case), e.g.
// "client,RESOLVER_RESPONSE". Unknown names and an empty list are errors.
Result<DnstapTypeMask> ParseDnstapTypeSet(std::string_view spec);

// Why a frame was rejected. Names (DnstapMalformedName) are the reason tokens passed to
// ObservationSink::OnMalformed.
enum class DnstapMalformed : uint8_t {
  kBadProtobuf,        // "bad_protobuf": not a dnstap.Dnstap protobuf
  kMissingMessage,     // "missing_message": Dnstap without a Message
  kBadMessageType,     // "bad_message_type": Message.type missing or unknown
  kBadAddress,         // "bad_address_length": not 4/16 bytes or not matching the family
  kBadPort,            // "bad_port": port above 65535
  kMissingTime,        // "missing_time": neither query nor response time
  kBadTime,            // "bad_time": nanoseconds >= 1e9 or seconds out of range
  kMissingDnsMessage,  // "missing_dns_message": no query_message/response_message
  kBadDnsMessage,      // "bad_dns_message": the DNS wire message does not parse
};
inline constexpr size_t kDnstapMalformedCount = 9;
std::string_view DnstapMalformedName(DnstapMalformed reason);

struct DnstapDecoderCounters {
  uint64_t frames = 0;     // frames passed to Decode()
  uint64_t queries = 0;    // query messages handed to the matcher
  uint64_t responses = 0;  // response messages handed to the matcher
  uint64_t filtered = 0;   // messages of a type not selected (not validated further)
  // Messages by Message.Type (index 1..14; 0 unused), selected or not.
  std::array<uint64_t, kDnstapMaxMessageType + 1> by_message_type{};
  std::array<uint64_t, kDnstapMalformedCount> malformed{};

  uint64_t malformed_total() const;
};

class DnstapDecoder {
 public:
  struct Options {
    // Message types to ingest; others are counted in `filtered` and dropped.
    DnstapTypeMask message_types = kDnstapClientTypes;
    DnsTransactionMatcher::Options matcher;
    // The matcher's Expire() runs when event time has advanced this much since the last
    // run. Smaller reports unanswered queries sooner at a little CPU cost.
    int64_t expire_interval_ns = 100'000'000;
  };

  DnstapDecoder(const Options& options, ObservationSink& sink);
  ~DnstapDecoder();
  DnstapDecoder(const DnstapDecoder&) = delete;
  DnstapDecoder& operator=(const DnstapDecoder&) = delete;

  // Decodes one data frame. The bytes need only live for the call. Returns false if the
  // frame was malformed (already counted and reported to the sink).
  bool Decode(std::span<const uint8_t> frame);

  // Expires pending queries against the latest event time seen.
  void Expire();
  // End of input: emits every pending query.
  void Flush();

  // Latest query/response time seen in a decoded message; -1 before the first.
  int64_t latest_time_ns() const { return latest_time_ns_; }
  const DnstapDecoderCounters& counters() const { return counters_; }
  const DnsMatcherCounters& matcher_counters() const { return matcher_.counters(); }

 private:
  bool Malformed(DnstapMalformed reason, std::span<const uint8_t> sample);

  Options options_;
  ObservationSink& sink_;
  DnsTransactionMatcher matcher_;
  DnsMessageInfo msg_;  // the message being decoded (reused: it is over 1 KiB)
  int64_t latest_time_ns_ = -1;
  int64_t next_expire_ns_ = -1;
  DnstapDecoderCounters counters_;
};

}  // namespace dnsight
