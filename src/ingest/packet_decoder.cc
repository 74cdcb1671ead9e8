#include "ingest/packet_decoder.h"

#include <pcap/dlt.h>

#include <cstring>

#include "ingest/byte_cursor.h"

namespace dnsight {
namespace {

constexpr int kLinktypeRaw = 101;  // LINKTYPE_RAW, as some writers leave it
constexpr int kMaxVlanTags = 8;
constexpr int kMaxIpv6ExtHeaders = 8;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kEtherTypeQinQ = 0x88A8;
constexpr uint16_t kEtherTypeQinQOld = 0x9100;

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

using St = PacketDecodeStatus;

inline void SetV4(IpAddress* a, const uint8_t* b) {
  a->bytes = {};
  std::memcpy(a->bytes.data(), b, 4);
  a->family = IpFamily::kV4;
}

inline void SetV6(IpAddress* a, const uint8_t* b) {
  std::memcpy(a->bytes.data(), b, 16);
  a->family = IpFamily::kV6;
}

St DecodeUdp(std::span<const uint8_t> seg, DecodedPacket* out) {
  ByteCursor c(seg);
  uint16_t length = 0, checksum = 0;
  if (!c.ReadU16(&out->src_port) || !c.ReadU16(&out->dst_port) || !c.ReadU16(&length) ||
      !c.ReadU16(&checksum)) {
    return St::kTruncatedUdp;
  }
  out->transport = Transport::kUdp;
  out->tcp_flags = 0;
  out->tcp_seq = 0;
  if (length == 0) {  // jumbogram (RFC 2675) or offloaded: the rest of the packet
    out->payload = c.rest();
    return St::kOk;
  }
  if (length < 8) return St::kBadUdpLength;
  if (length > seg.size()) return St::kTruncatedUdp;
  out->payload = seg.subspan(8, length - 8u);
  return St::kOk;
}

St DecodeTcp(std::span<const uint8_t> seg, DecodedPacket* out) {
  ByteCursor c(seg);
  uint32_t ack = 0;
  uint8_t offset_byte = 0;
  if (!c.ReadU16(&out->src_port) || !c.ReadU16(&out->dst_port) || !c.ReadU32(&out->tcp_seq) ||
      !c.ReadU32(&ack) || !c.ReadU8(&offset_byte) || !c.ReadU8(&out->tcp_flags)) {
    return St::kTruncatedTcp;
  }
  const size_t header_len = static_cast<size_t>(offset_byte >> 4) * 4;
  if (header_len < 20) return St::kBadTcpHeader;
  if (header_len > seg.size()) return St::kTruncatedTcp;
  out->transport = Transport::kTcp;
  out->payload = seg.subspan(header_len);
  return St::kOk;
}

St DecodeTransport(uint8_t protocol, std::span<const uint8_t> seg, DecodedPacket* out) {
  if (protocol == kProtoUdp) return DecodeUdp(seg, out);
  if (protocol == kProtoTcp) return DecodeTcp(seg, out);
  return St::kNonUdpTcp;
}

St DecodeIpv4(std::span<const uint8_t> pkt, DecodedPacket* out) {
  if (pkt.size() < 20) return St::kTruncatedIp;
  const uint8_t* h = pkt.data();
  if ((h[0] >> 4) != 4) return St::kBadIpHeader;
  const size_t header_len = static_cast<size_t>(h[0] & 0x0F) * 4;
  if (header_len < 20) return St::kBadIpHeader;
  if (header_len > pkt.size()) return St::kTruncatedIp;
  size_t total_len = (static_cast<size_t>(h[2]) << 8) | h[3];
  if (total_len == 0) {
    total_len = pkt.size();  // TSO capture: the length field was left for the NIC
  } else if (total_len < header_len) {
    return St::kBadIpHeader;
  } else if (total_len > pkt.size()) {
    return St::kTruncatedIp;
  }
  const uint16_t frag = static_cast<uint16_t>((h[6] << 8) | h[7]);
  SetV4(&out->src, h + 12);
  SetV4(&out->dst, h + 16);
  if ((frag & 0x3FFF) != 0) return St::kIpFragment;  // MF set or offset != 0
  return DecodeTransport(h[9], pkt.subspan(header_len, total_len - header_len), out);
}

St DecodeIpv6(std::span<const uint8_t> pkt, DecodedPacket* out) {
  if (pkt.size() < 40) return St::kTruncatedIp;
  const uint8_t* h = pkt.data();
  if ((h[0] >> 4) != 6) return St::kBadIpHeader;
  const size_t payload_len = (static_cast<size_t>(h[4]) << 8) | h[5];
  std::span<const uint8_t> rest = pkt.subspan(40);
  if (payload_len != 0) {  // 0: jumbogram or TSO, the rest of the frame
    if (payload_len > rest.size()) return St::kTruncatedIp;
    rest = rest.first(payload_len);
  }
  SetV6(&out->src, h + 8);
  SetV6(&out->dst, h + 24);
  uint8_t next = h[6];
  for (int i = 0;; ++i) {
    switch (next) {
      case 0:     // hop-by-hop options
      case 43:    // routing
      case 60: {  // destination options
        if (i >= kMaxIpv6ExtHeaders) return St::kTooManyIpv6ExtHeaders;
        if (rest.size() < 2) return St::kTruncatedIp;
        const size_t len = (static_cast<size_t>(rest[1]) + 1) * 8;
        if (len > rest.size()) return St::kTruncatedIp;
        next = rest[0];
        rest = rest.subspan(len);
        break;
      }
      case 51: {  // authentication header: length in 4-byte units, minus 2
        if (i >= kMaxIpv6ExtHeaders) return St::kTooManyIpv6ExtHeaders;
        if (rest.size() < 2) return St::kTruncatedIp;
        const size_t len = (static_cast<size_t>(rest[1]) + 2) * 4;
        if (len > rest.size()) return St::kTruncatedIp;
        next = rest[0];
        rest = rest.subspan(len);
        break;
      }
      case 44: {  // fragment
        if (i >= kMaxIpv6ExtHeaders) return St::kTooManyIpv6ExtHeaders;
        if (rest.size() < 8) return St::kTruncatedIp;
        const uint16_t off_flags = static_cast<uint16_t>((rest[2] << 8) | rest[3]);
        if ((off_flags & 0xFFF9) != 0) return St::kIpFragment;  // offset != 0 or M set
        next = rest[0];
        rest = rest.subspan(8);
        break;
      }
      default:
        return DecodeTransport(next, rest, out);
    }
  }
}

St DecodeByVersion(std::span<const uint8_t> pkt, DecodedPacket* out) {
  if (pkt.empty()) return St::kTruncatedIp;
  switch (pkt[0] >> 4) {
    case 4:
      return DecodeIpv4(pkt, out);
    case 6:
      return DecodeIpv6(pkt, out);
    default:
      return St::kBadIpHeader;
  }
}

// The network layer after an ethertype, skipping VLAN tags (tag control info, then the
// inner ethertype). truncated: the status for a tag cut short.
St DecodeEthertype(uint16_t type, ByteCursor c, St truncated, DecodedPacket* out) {
  for (int tags = 0; type == kEtherTypeVlan || type == kEtherTypeQinQ || type == kEtherTypeQinQOld;
       ++tags) {
    if (tags >= kMaxVlanTags) return St::kTooManyVlanTags;
    uint16_t tci = 0;
    if (!c.ReadU16(&tci) || !c.ReadU16(&type)) return truncated;
  }
  if (type == kEtherTypeIpv4) return DecodeIpv4(c.rest(), out);
  if (type == kEtherTypeIpv6) return DecodeIpv6(c.rest(), out);
  return St::kNonIp;
}

St DecodeEthernet(std::span<const uint8_t> frame, DecodedPacket* out) {
  ByteCursor c(frame);
  uint16_t type = 0;
  if (!c.Skip(12) || !c.ReadU16(&type)) return St::kTruncatedEthernet;
  return DecodeEthertype(type, c, St::kTruncatedEthernet, out);
}

St DecodeSll(std::span<const uint8_t> frame, DecodedPacket* out) {
  // packet type, ARPHRD type, address length, 8 address bytes, protocol.
  ByteCursor c(frame);
  uint16_t protocol = 0;
  if (!c.Skip(14) || !c.ReadU16(&protocol)) return St::kTruncatedLinkHeader;
  return DecodeEthertype(protocol, c, St::kTruncatedLinkHeader, out);
}

St DecodeSll2(std::span<const uint8_t> frame, DecodedPacket* out) {
  // protocol, reserved, interface index, ARPHRD type, packet type, address length, address.
  ByteCursor c(frame);
  uint16_t protocol = 0;
  if (!c.ReadU16(&protocol) || !c.Skip(18)) return St::kTruncatedLinkHeader;
  return DecodeEthertype(protocol, c, St::kTruncatedLinkHeader, out);
}

// DLT_NULL holds the address family in the capturing host's byte order, DLT_LOOP in
// network order; both are small numbers, so a value with high bits set is byte-swapped.
St DecodeNullLoop(std::span<const uint8_t> frame, bool network_order, DecodedPacket* out) {
  ByteCursor c(frame);
  uint32_t family = 0;
  if (!(network_order ? c.ReadU32(&family) : c.ReadU32Le(&family))) return St::kTruncatedLinkHeader;
  if ((family & 0xFFFF0000u) != 0) family = __builtin_bswap32(family);
  switch (family) {
    case 2:  // AF_INET everywhere
      return DecodeIpv4(c.rest(), out);
    case 10:  // AF_INET6: Linux
    case 24:  // NetBSD, OpenBSD, BSD/OS
    case 28:  // FreeBSD, DragonFly
    case 30:  // Darwin
      return DecodeIpv6(c.rest(), out);
    default:
      return St::kNonIp;
  }
}

}  // namespace

std::string_view PacketDecodeReason(PacketDecodeStatus s) {
  switch (s) {
    case St::kOk:
      return "ok";
    case St::kNonIp:
      return "non_ip";
    case St::kNonUdpTcp:
      return "non_udp_tcp";
    case St::kIpFragment:
      return "ip_fragment";
    case St::kUnsupportedLinktype:
      return "unsupported_linktype";
    case St::kTruncatedLinkHeader:
      return "truncated_link_header";
    case St::kTruncatedEthernet:
      return "truncated_ethernet";
    case St::kTooManyVlanTags:
      return "too_many_vlan_tags";
    case St::kTruncatedIp:
      return "truncated_ip";
    case St::kBadIpHeader:
      return "bad_ip_header";
    case St::kTooManyIpv6ExtHeaders:
      return "too_many_ipv6_ext_headers";
    case St::kTruncatedUdp:
      return "truncated_udp";
    case St::kBadUdpLength:
      return "bad_udp_length";
    case St::kTruncatedTcp:
      return "truncated_tcp";
    case St::kBadTcpHeader:
      return "bad_tcp_header";
  }
  return "unknown";
}

bool IsMalformed(PacketDecodeStatus s) {
  return s != St::kOk && s != St::kNonIp && s != St::kNonUdpTcp && s != St::kIpFragment;
}

bool PacketDecoder::IsSupportedLinkType(int dlt) {
  switch (dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case kLinktypeRaw:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
      return true;
    default:
      return false;
  }
}

PacketDecodeStatus PacketDecoder::Decode(std::span<const uint8_t> frame, DecodedPacket* out) const {
  switch (dlt_) {
    case DLT_EN10MB:
      return DecodeEthernet(frame, out);
    case DLT_LINUX_SLL:
      return DecodeSll(frame, out);
    case DLT_LINUX_SLL2:
      return DecodeSll2(frame, out);
    case DLT_RAW:
    case kLinktypeRaw:
      return DecodeByVersion(frame, out);
    case DLT_IPV4:
      if (!frame.empty() && (frame[0] >> 4) != 4) return St::kBadIpHeader;
      return DecodeIpv4(frame, out);
    case DLT_IPV6:
      if (!frame.empty() && (frame[0] >> 4) != 6) return St::kBadIpHeader;
      return DecodeIpv6(frame, out);
    case DLT_NULL:
      return DecodeNullLoop(frame, /*network_order=*/false, out);
    case DLT_LOOP:
      return DecodeNullLoop(frame, /*network_order=*/true, out);
    default:
      return St::kUnsupportedLinktype;
  }
}

}  // namespace dnsight
