// PacketDecoder: takes one captured frame apart down to its UDP or TCP payload.
//
// Link types (libpcap DLT_* values): DLT_EN10MB with any number (up to 8) of 802.1Q /
// 802.1ad VLAN tags, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW (and LINKTYPE_RAW, 101),
// DLT_IPV4, DLT_IPV6, DLT_NULL and DLT_LOOP. Network layer: IPv4 with options, IPv6 with
// hop-by-hop, routing, destination-options, fragment and AH extension headers.
// Transport: UDP and TCP. Fragments are not reassembled: a non-first fragment has no
// ports, and a first fragment holds only part of the message, so both are reported as
// kIpFragment and skipped (a DNS message of one fragment, i.e. the "atomic fragment" of
// RFC 6946, decodes normally).
//
// Lengths: the IP length fields decide where the payload ends (Ethernet padding is cut
// off); a frame shorter than its IP or UDP length says is reported truncated rather than
// decoded short. A zero IPv4 total length or IPv6 payload length (TSO captures,
// jumbograms) means "the rest of the frame".
//
// Decode() never allocates and never reads outside the frame. Results are status codes,
// not Status objects, because the non-DNS outcomes (ARP, ICMP, ...) are common and must
// stay cheap; PacketDecodeReason() gives each a stable counter token.
//
// Thread-safety: immutable after construction; Decode() may be called from any thread.
// Lifetime: DecodedPacket::payload points into the frame passed to Decode().
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "dnsight/ip_address.h"
#include "dnsight/observation.h"

namespace dnsight {

enum class PacketDecodeStatus : uint8_t {
  kOk = 0,
  // Well-formed traffic that cannot carry DNS over UDP/TCP: counted as non-DNS.
  kNonIp,      // "non_ip": ARP, LLDP, unknown ethertype or address family
  kNonUdpTcp,  // "non_udp_tcp": ICMP, ESP, SCTP, ...
  // Well-formed but not decodable without reassembly: counted, skipped.
  kIpFragment,  // "ip_fragment"
  // Malformed frames.
  kUnsupportedLinktype,    // "unsupported_linktype"
  kTruncatedLinkHeader,    // "truncated_link_header": SLL, SLL2, NULL/LOOP header cut off
  kTruncatedEthernet,      // "truncated_ethernet"
  kTooManyVlanTags,        // "too_many_vlan_tags"
  kTruncatedIp,            // "truncated_ip": header or payload shorter than its length field
  kBadIpHeader,            // "bad_ip_header": wrong version, IHL < 5, total length < IHL
  kTooManyIpv6ExtHeaders,  // "too_many_ipv6_ext_headers"
  kTruncatedUdp,           // "truncated_udp"
  kBadUdpLength,           // "bad_udp_length": UDP length < 8
  kTruncatedTcp,           // "truncated_tcp"
  kBadTcpHeader,           // "bad_tcp_header": data offset < 5
};

std::string_view PacketDecodeReason(PacketDecodeStatus s);
// True for the statuses that mean the frame is broken (as opposed to merely not DNS).
bool IsMalformed(PacketDecodeStatus s);

struct DecodedPacket {
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  Transport transport = Transport::kUnknown;  // kUdp or kTcp on success
  uint8_t tcp_flags = 0;                      // TCP only (FIN 0x01, SYN 0x02, RST 0x04, ...)
  uint32_t tcp_seq = 0;                       // TCP only
  std::span<const uint8_t> payload;           // UDP/TCP payload, a view into the frame
};

// TCP flag bits as in the header.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;

class PacketDecoder {
 public:
  // dlt: the value pcap_datalink() returns. An unsupported one is accepted here and makes
  // every Decode() return kUnsupportedLinktype; check IsSupportedLinkType() first.
  explicit PacketDecoder(int dlt) : dlt_(dlt) {}

  static bool IsSupportedLinkType(int dlt);
  int link_type() const { return dlt_; }

  // On kOk every field of *out is set; otherwise *out is unspecified.
  PacketDecodeStatus Decode(std::span<const uint8_t> frame, DecodedPacket* out) const;

 private:
  int dlt_;
};

}  // namespace dnsight
