#include "ingest/dnstap_decoder.h"

#include <climits>
#include <string>

#include "dnsight/dns_wire.h"
#include "ingest/dnstap_wire.h"

namespace dnsight {
namespace {

constexpr std::string_view kTypeNames[kDnstapMaxMessageType + 1] = {
    "UNKNOWN",         "AUTH_QUERY",        "AUTH_RESPONSE",
    "RESOLVER_QUERY",  "RESOLVER_RESPONSE", "CLIENT_QUERY",
    "CLIENT_RESPONSE", "FORWARDER_QUERY",   "FORWARDER_RESPONSE",
    "STUB_QUERY",      "STUB_RESPONSE",     "TOOL_QUERY",
    "TOOL_RESPONSE",   "UPDATE_QUERY",      "UPDATE_RESPONSE",
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Transport TransportOf(const DnstapFields& m) {
  if (!m.has_socket_protocol) return Transport::kUnknown;
  switch (m.socket_protocol) {
    case DnstapSocketProtocol::kUdp:
    case DnstapSocketProtocol::kDnsCryptUdp:
      return Transport::kUdp;
    case DnstapSocketProtocol::kTcp:
    case DnstapSocketProtocol::kDnsCryptTcp:
      return Transport::kTcp;
    case DnstapSocketProtocol::kDot:
      return Transport::kDot;
    case DnstapSocketProtocol::kDoh:
      return Transport::kDoh;
    case DnstapSocketProtocol::kDoq:
      return Transport::kUnknown;  // no QUIC transport in the event model
  }
  return Transport::kUnknown;
}

// Reads a dnstap address field. An absent field leaves an empty address. The family, when
// given, must agree with the length; without it the length decides.
bool ReadAddress(bool present, std::span<const uint8_t> bytes, const DnstapFields& m,
                 IpAddress* out) {
  *out = IpAddress();
  if (!present) return true;
  const uint8_t* p = bytes.data();
  if (m.has_socket_family) {
    const size_t want = m.socket_family == DnstapSocketFamily::kInet ? 4 : 16;
    if (bytes.size() != want) return false;
  }
  if (bytes.size() == 4) {
    *out = IpAddress::V4(p);
    return true;
  }
  if (bytes.size() == 16) {
    *out = IpAddress::V6(p);
    return true;
  }
  return false;
}

// Converts a dnstap (seconds, nanoseconds) pair. False if out of range.
bool ToNanos(uint64_t sec, uint32_t nsec, int64_t* out) {
  constexpr uint64_t kMaxSec = static_cast<uint64_t>(INT64_MAX / 1'000'000'000) - 1;
  if (nsec >= 1'000'000'000u || sec > kMaxSec) return false;
  *out = static_cast<int64_t>(sec) * 1'000'000'000 + static_cast<int64_t>(nsec);
  return true;
}

}  // namespace

std::string_view DnstapMessageTypeName(int type) {
  if (type < 1 || type > kDnstapMaxMessageType) return kTypeNames[0];
  return kTypeNames[type];
}

Result<DnstapTypeMask> ParseDnstapTypeSet(std::string_view spec) {
  struct Set {
    std::string_view name;
    DnstapTypeMask mask;
  };
  static constexpr Set kSets[] = {
      {"client", kDnstapClientTypes},
      {"auth", kDnstapAuthTypes},
      {"resolver", kDnstapResolverTypes},
      {"forwarder", DnstapTypeBit(DnstapMessageType::kForwarderQuery) |
                        DnstapTypeBit(DnstapMessageType::kForwarderResponse)},
      {"stub", DnstapTypeBit(DnstapMessageType::kStubQuery) |
                   DnstapTypeBit(DnstapMessageType::kStubResponse)},
      {"tool", DnstapTypeBit(DnstapMessageType::kToolQuery) |
                   DnstapTypeBit(DnstapMessageType::kToolResponse)},
      {"update", DnstapTypeBit(DnstapMessageType::kUpdateQuery) |
                     DnstapTypeBit(DnstapMessageType::kUpdateResponse)},
      {"all", kDnstapAllTypes},
  };
  DnstapTypeMask mask = 0;
  while (true) {
    const size_t comma = spec.find(',');
    const std::string_view item = Trim(spec.substr(0, comma));
    if (item.empty()) {
      return Status::InvalidArgument("empty item in dnstap message type list");
    }
    bool found = false;
    for (const Set& s : kSets) {
      if (EqualsIgnoreCase(item, s.name)) {
        mask |= s.mask;
        found = true;
      }
    }
    for (int t = 1; t <= kDnstapMaxMessageType && !found; ++t) {
      if (EqualsIgnoreCase(item, kTypeNames[t])) {
        mask |= DnstapTypeMask{1} << t;
        found = true;
      }
    }
    if (!found) {
      return Status::InvalidArgument("unknown dnstap message type \"" + std::string(item) +
                                     "\" (want client, auth, resolver, forwarder, stub, tool, "
                                     "update, all or a name such as CLIENT_QUERY)");
    }
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return mask;
}

std::string_view DnstapMalformedName(DnstapMalformed reason) {
  switch (reason) {
    case DnstapMalformed::kBadProtobuf:
      return "bad_protobuf";
    case DnstapMalformed::kMissingMessage:
      return "missing_message";
    case DnstapMalformed::kBadMessageType:
      return "bad_message_type";
    case DnstapMalformed::kBadAddress:
      return "bad_address_length";
    case DnstapMalformed::kBadPort:
      return "bad_port";
    case DnstapMalformed::kMissingTime:
      return "missing_time";
    case DnstapMalformed::kBadTime:
      return "bad_time";
    case DnstapMalformed::kMissingDnsMessage:
      return "missing_dns_message";
    case DnstapMalformed::kBadDnsMessage:
      return "bad_dns_message";
  }
  return "unknown";
}

uint64_t DnstapDecoderCounters::malformed_total() const {
  uint64_t total = 0;
  for (uint64_t n : malformed) total += n;
  return total;
}

DnstapDecoder::DnstapDecoder(const Options& options, ObservationSink& sink)
    : options_(options), sink_(sink), matcher_(options.matcher, sink) {}

DnstapDecoder::~DnstapDecoder() = default;

bool DnstapDecoder::Malformed(DnstapMalformed reason, std::span<const uint8_t> sample) {
  ++counters_.malformed[static_cast<size_t>(reason)];
  sink_.OnMalformed(DnstapMalformedName(reason), sample);
  return false;
}

bool DnstapDecoder::Decode(std::span<const uint8_t> frame) {
  ++counters_.frames;
  // Views into the frame. Partial parsing: required fields are checked below, by name.
  DnstapFields m;
  if (!ParseDnstapFrame(frame, &m)) return Malformed(DnstapMalformed::kBadProtobuf, frame);
  // Dnstap.type is required by the schema but only MESSAGE exists, so a frame that
  // carries a message is taken even if a producer left the type out.
  if (!m.has_message) return Malformed(DnstapMalformed::kMissingMessage, frame);
  // An unknown enum value is not stored (proto2), so has_type covers both cases.
  if (!m.has_type) return Malformed(DnstapMalformed::kBadMessageType, frame);
  const int type = m.type;
  if (type < 1 || type > kDnstapMaxMessageType) {
    return Malformed(DnstapMalformed::kBadMessageType, frame);
  }

  ++counters_.by_message_type[type];
  // Unselected types are dropped before the (costlier) validation of their contents.
  if ((options_.message_types & (DnstapTypeMask{1} << type)) == 0) {
    ++counters_.filtered;
    return true;
  }

  const bool is_query = (type & 1) != 0;  // *_QUERY types are odd, *_RESPONSE even
  const bool has_wire = is_query ? m.has_query_message : m.has_response_message;
  const std::span<const uint8_t> wire_bytes = is_query ? m.query_message : m.response_message;
  IpAddress client, server;
  if (!ReadAddress(m.has_query_address, m.query_address, m, &client) ||
      !ReadAddress(m.has_response_address, m.response_address, m, &server)) {
    return Malformed(DnstapMalformed::kBadAddress, frame);
  }
  if (m.query_port > 65535 || m.response_port > 65535) {
    return Malformed(DnstapMalformed::kBadPort, frame);
  }
  int64_t query_time = -1, response_time = -1;
  if (m.has_query_time_sec && !ToNanos(m.query_time_sec, m.query_time_nsec, &query_time)) {
    return Malformed(DnstapMalformed::kBadTime, frame);
  }
  if (m.has_response_time_sec &&
      !ToNanos(m.response_time_sec, m.response_time_nsec, &response_time)) {
    return Malformed(DnstapMalformed::kBadTime, frame);
  }
  if (query_time < 0 && response_time < 0) return Malformed(DnstapMalformed::kMissingTime, frame);
  if (!has_wire) return Malformed(DnstapMalformed::kMissingDnsMessage, frame);

  // Into a reused struct: DnsMessageInfo is over 1 KiB, too big to return per message.
  if (!ParseDnsMessage(wire_bytes, &msg_).ok()) {
    return Malformed(DnstapMalformed::kBadDnsMessage, wire_bytes);
  }
  const DnsMessageInfo& info = msg_;

  const auto client_port = static_cast<uint16_t>(m.query_port);
  const auto server_port = static_cast<uint16_t>(m.response_port);
  const Transport transport = TransportOf(m);
  int64_t time_ns;
  if (is_query) {
    time_ns = query_time >= 0 ? query_time : response_time;
    ++counters_.queries;
    matcher_.OnQuery(time_ns, client, client_port, server, server_port, transport, info);
  } else {
    time_ns = response_time >= 0 ? response_time : query_time;
    // A response's own query time is only used when its query type is not ingested;
    // otherwise the matcher pairs the two messages (a hint would bypass that and leave
    // the query pending, to be emitted again as unanswered).
    const bool query_ingested = (options_.message_types & (DnstapTypeMask{1} << (type - 1))) != 0;
    const int64_t hint = (response_time >= 0 && !query_ingested) ? query_time : -1;
    ++counters_.responses;
    matcher_.OnResponse(time_ns, client, client_port, server, server_port, transport, info, hint);
  }
  if (time_ns > latest_time_ns_) latest_time_ns_ = time_ns;
  if (latest_time_ns_ >= next_expire_ns_) {
    if (next_expire_ns_ >= 0) matcher_.Expire(latest_time_ns_);
    if (__builtin_add_overflow(latest_time_ns_, options_.expire_interval_ns, &next_expire_ns_)) {
      next_expire_ns_ = INT64_MAX;
    }
  }
  return true;
}

void DnstapDecoder::Expire() {
  if (latest_time_ns_ >= 0) matcher_.Expire(latest_time_ns_);
}

void DnstapDecoder::Flush() {
  matcher_.Flush();
}

}  // namespace dnsight
