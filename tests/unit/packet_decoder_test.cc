#include "ingest/packet_decoder.h"

#include <gtest/gtest.h>
#include <pcap/dlt.h>

#include <random>
#include <string>
#include <vector>

namespace dnsight {
namespace {

using Bytes = std::vector<uint8_t>;

void U16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void U32(Bytes& b, uint32_t v) {
  U16(b, static_cast<uint16_t>(v >> 16));
  U16(b, static_cast<uint16_t>(v));
}
void Append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}
Bytes Addr(const char* text) {
  const IpAddress a = *IpAddress::Parse(text);
  return Bytes(a.bytes.begin(), a.bytes.begin() + static_cast<ptrdiff_t>(a.size()));
}

const Bytes kDns = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};

Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  U16(b, sport);
  U16(b, dport);
  U16(b, static_cast<uint16_t>(8 + payload.size()));
  U16(b, 0);
  Append(b, payload);
  return b;
}

Bytes Tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, const Bytes& payload,
          int option_words = 0) {
  Bytes b;
  U16(b, sport);
  U16(b, dport);
  U32(b, seq);
  U32(b, 0);
  b.push_back(static_cast<uint8_t>((5 + option_words) << 4));
  b.push_back(flags);
  U16(b, 65535);
  U32(b, 0);                                                  // checksum, urgent pointer
  for (int i = 0; i < option_words; ++i) U32(b, 0x01010101);  // NOPs
  Append(b, payload);
  return b;
}

Bytes Ipv4(const char* src, const char* dst, uint8_t proto, const Bytes& l4, int option_words = 0,
           uint16_t frag = 0) {
  Bytes b;
  const size_t header = 20 + 4 * static_cast<size_t>(option_words);
  b.push_back(static_cast<uint8_t>(0x40 | (header / 4)));
  b.push_back(0);
  U16(b, static_cast<uint16_t>(header + l4.size()));
  U16(b, 0x1234);
  U16(b, frag);
  b.push_back(64);
  b.push_back(proto);
  U16(b, 0);
  Append(b, Addr(src));
  Append(b, Addr(dst));
  for (int i = 0; i < option_words; ++i) U32(b, 0x01010101);
  Append(b, l4);
  return b;
}

// rest: extension headers (if any) followed by the transport segment.
Bytes Ipv6(const char* src, const char* dst, uint8_t next, const Bytes& rest) {
  Bytes b = {0x60, 0, 0, 0};
  U16(b, static_cast<uint16_t>(rest.size()));
  b.push_back(next);
  b.push_back(64);
  Append(b, Addr(src));
  Append(b, Addr(dst));
  Append(b, rest);
  return b;
}

// An 8-byte-unit extension header (hop-by-hop, routing, destination options).
Bytes ExtHeader(uint8_t next, int units = 0) {
  Bytes b = {next, static_cast<uint8_t>(units)};
  b.resize(8 * static_cast<size_t>(units + 1), 0);
  return b;
}

Bytes Eth(uint16_t type, const Bytes& payload, const std::vector<uint16_t>& tags = {}) {
  Bytes b = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  for (uint16_t tpid : tags) {
    U16(b, tpid);
    U16(b, 100);  // TCI: VLAN 100
  }
  U16(b, type);
  Append(b, payload);
  return b;
}

Bytes Sll(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  U16(b, 0);  // packet type: to us
  U16(b, 1);  // ARPHRD_ETHER
  U16(b, 6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i));
  U16(b, protocol);
  Append(b, payload);
  return b;
}

Bytes Sll2(uint16_t protocol, const Bytes& payload) {
  Bytes b;
  U16(b, protocol);
  U16(b, 0);
  U32(b, 2);  // ifindex
  U16(b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i));
  Append(b, payload);
  return b;
}

Bytes Null(uint32_t family, bool little_endian, const Bytes& payload) {
  Bytes b;
  if (little_endian) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(family >> (8 * i)));
  } else {
    U32(b, family);
  }
  Append(b, payload);
  return b;
}

// A decoded packet with its payload copied out, so a check may outlive the frame.
struct Decoded : DecodedPacket {
  Bytes payload_copy;
};

PacketDecodeStatus Decode(int dlt, const Bytes& frame, Decoded* out) {
  const PacketDecodeStatus s = PacketDecoder(dlt).Decode(std::span(frame), out);
  out->payload_copy.clear();
  if (s == PacketDecodeStatus::kOk)
    out->payload_copy.assign(out->payload.begin(), out->payload.end());
  return s;
}

std::string Reason(int dlt, const Bytes& frame) {
  Decoded p;
  return std::string(PacketDecodeReason(Decode(dlt, frame, &p)));
}

const Bytes kUdp4 = Ipv4("192.0.2.1", "198.51.100.53", 17, Udp(40000, 53, kDns));
const Bytes kUdp6 = Ipv6("2001:db8::1", "2001:db8::53", 17, Udp(40000, 53, kDns));

void ExpectUdp4(const Decoded& p) {
  EXPECT_EQ(p.src, *IpAddress::Parse("192.0.2.1"));
  EXPECT_EQ(p.dst, *IpAddress::Parse("198.51.100.53"));
  EXPECT_EQ(p.src_port, 40000);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.transport, Transport::kUdp);
  EXPECT_EQ(p.payload_copy, kDns);
}

void ExpectUdp6(const Decoded& p) {
  EXPECT_EQ(p.src, *IpAddress::Parse("2001:db8::1"));
  EXPECT_EQ(p.dst, *IpAddress::Parse("2001:db8::53"));
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.transport, Transport::kUdp);
  EXPECT_EQ(p.payload_copy, kDns);
}

TEST(PacketDecoderTest, EthernetIpv4Udp) {
  Decoded p;
  ASSERT_EQ(Decode(DLT_EN10MB, Eth(0x0800, kUdp4), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
}

TEST(PacketDecoderTest, EthernetPaddingIsCutOff) {
  Bytes f = Eth(0x0800, kUdp4);
  f.resize(f.size() + 20, 0xEE);  // trailer / padding after the IP datagram
  Decoded p;
  ASSERT_EQ(Decode(DLT_EN10MB, f, &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
}

TEST(PacketDecoderTest, VlanAndQinQ) {
  Decoded p;
  ASSERT_EQ(Decode(DLT_EN10MB, Eth(0x0800, kUdp4, {0x8100}), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  ASSERT_EQ(Decode(DLT_EN10MB, Eth(0x86DD, kUdp6, {0x88A8, 0x8100}), &p), PacketDecodeStatus::kOk);
  ExpectUdp6(p);
  ASSERT_EQ(Decode(DLT_EN10MB, Eth(0x0800, kUdp4, {0x9100, 0x8100}), &p), PacketDecodeStatus::kOk);
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, kUdp4, std::vector<uint16_t>(9, 0x8100))),
            "too_many_vlan_tags");
}

TEST(PacketDecoderTest, NonIpAndNonUdpTcp) {
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0806, Bytes(28, 0))), "non_ip");  // ARP
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, Ipv4("192.0.2.1", "192.0.2.2", 1, Bytes(8, 0)))),
            "non_udp_tcp");  // ICMP
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x86DD, Ipv6("::1", "::2", 58, Bytes(8, 0)))),
            "non_udp_tcp");  // ICMPv6
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x86DD, Ipv6("::1", "::2", 59, {}))), "non_udp_tcp");
  EXPECT_FALSE(IsMalformed(PacketDecodeStatus::kNonIp));
  EXPECT_FALSE(IsMalformed(PacketDecodeStatus::kNonUdpTcp));
  EXPECT_FALSE(IsMalformed(PacketDecodeStatus::kIpFragment));
  EXPECT_TRUE(IsMalformed(PacketDecodeStatus::kTruncatedIp));
}

TEST(PacketDecoderTest, Ipv4OptionsAreSkipped) {
  Decoded p;
  const Bytes ip = Ipv4("192.0.2.1", "198.51.100.53", 17, Udp(40000, 53, kDns), 3);
  ASSERT_EQ(Decode(DLT_EN10MB, Eth(0x0800, ip), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
}

TEST(PacketDecoderTest, Ipv4Fragments) {
  const Bytes l4 = Udp(40000, 53, kDns);
  // First fragment (MF set), a later fragment (offset 185 * 8), and DF alone (fine).
  EXPECT_EQ(Reason(DLT_RAW, Ipv4("192.0.2.1", "192.0.2.2", 17, l4, 0, 0x2000)), "ip_fragment");
  EXPECT_EQ(Reason(DLT_RAW, Ipv4("192.0.2.1", "192.0.2.2", 17, Bytes(40, 0), 0, 185)),
            "ip_fragment");
  EXPECT_EQ(Reason(DLT_RAW, Ipv4("192.0.2.1", "192.0.2.2", 17, l4, 0, 0x4000)), "ok");
}

TEST(PacketDecoderTest, Ipv6ExtensionHeaders) {
  // hop-by-hop -> routing -> destination options -> UDP
  Bytes rest = ExtHeader(43, 0);
  Append(rest, ExtHeader(60, 1));
  Append(rest, ExtHeader(17, 0));
  Append(rest, Udp(40000, 53, kDns));
  Decoded p;
  ASSERT_EQ(Decode(DLT_IPV6, Ipv6("2001:db8::1", "2001:db8::53", 0, rest), &p),
            PacketDecodeStatus::kOk);
  ExpectUdp6(p);
  // Nine destination-options headers in a row are refused.
  Bytes deep;
  for (int i = 0; i < 9; ++i) Append(deep, ExtHeader(60));
  Append(deep, Udp(1, 53, kDns));
  EXPECT_EQ(Reason(DLT_IPV6, Ipv6("::1", "::2", 60, deep)), "too_many_ipv6_ext_headers");
}

TEST(PacketDecoderTest, Ipv6Fragments) {
  auto frag = [](uint16_t off_flags) {
    Bytes b = {17, 0};
    U16(b, off_flags);
    U32(b, 0xABCD);
    Append(b, Udp(40000, 53, kDns));
    return b;
  };
  EXPECT_EQ(Reason(DLT_IPV6, Ipv6("::1", "::2", 44, frag(0x0001))), "ip_fragment");  // M set
  EXPECT_EQ(Reason(DLT_IPV6, Ipv6("::1", "::2", 44, frag(100 << 3))), "ip_fragment");
  // Atomic fragment (offset 0, M clear): the whole datagram.
  Decoded p;
  ASSERT_EQ(Decode(DLT_IPV6, Ipv6("2001:db8::1", "2001:db8::53", 44, frag(0)), &p),
            PacketDecodeStatus::kOk);
  ExpectUdp6(p);
}

TEST(PacketDecoderTest, TcpWithOptions) {
  const Bytes payload = {0, 19, 1, 2, 3};
  Decoded p;
  const Bytes f = Eth(
      0x0800, Ipv4("192.0.2.1", "192.0.2.53", 6, Tcp(40001, 53, 0xFFFFFFF0u, 0x18, payload, 3)));
  ASSERT_EQ(Decode(DLT_EN10MB, f, &p), PacketDecodeStatus::kOk);
  EXPECT_EQ(p.transport, Transport::kTcp);
  EXPECT_EQ(p.src_port, 40001);
  EXPECT_EQ(p.dst_port, 53);
  EXPECT_EQ(p.tcp_seq, 0xFFFFFFF0u);
  EXPECT_EQ(p.tcp_flags, 0x18);
  EXPECT_EQ(p.payload_copy, payload);
}

TEST(PacketDecoderTest, LinuxCookedV1AndV2) {
  Decoded p;
  ASSERT_EQ(Decode(DLT_LINUX_SLL, Sll(0x0800, kUdp4), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  ASSERT_EQ(Decode(DLT_LINUX_SLL2, Sll2(0x86DD, kUdp6), &p), PacketDecodeStatus::kOk);
  ExpectUdp6(p);
  Bytes vlan;  // SLL carrying a VLAN tag: TCI then the inner type
  U16(vlan, 100);
  U16(vlan, 0x0800);
  Append(vlan, kUdp4);
  ASSERT_EQ(Decode(DLT_LINUX_SLL, Sll(0x8100, vlan), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  EXPECT_EQ(Reason(DLT_LINUX_SLL, Sll(0x0004, Bytes(20, 0))), "non_ip");  // 802.2 LLC
}

TEST(PacketDecoderTest, RawIpLinkTypes) {
  Decoded p;
  for (int dlt : {DLT_RAW, 101}) {
    ASSERT_EQ(Decode(dlt, kUdp4, &p), PacketDecodeStatus::kOk);
    ExpectUdp4(p);
    ASSERT_EQ(Decode(dlt, kUdp6, &p), PacketDecodeStatus::kOk);
    ExpectUdp6(p);
  }
  ASSERT_EQ(Decode(DLT_IPV4, kUdp4, &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  ASSERT_EQ(Decode(DLT_IPV6, kUdp6, &p), PacketDecodeStatus::kOk);
  ExpectUdp6(p);
  EXPECT_EQ(Reason(DLT_IPV4, kUdp6), "bad_ip_header");
  EXPECT_EQ(Reason(DLT_IPV6, kUdp4), "bad_ip_header");
  EXPECT_EQ(Reason(DLT_RAW, Bytes{0x50, 0, 0, 0}), "bad_ip_header");
}

TEST(PacketDecoderTest, NullAndLoopback) {
  Decoded p;
  ASSERT_EQ(Decode(DLT_NULL, Null(2, true, kUdp4), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  ASSERT_EQ(Decode(DLT_NULL, Null(2, false, kUdp4), &p), PacketDecodeStatus::kOk);  // BE host
  ExpectUdp4(p);
  for (uint32_t af6 : {10u, 24u, 28u, 30u}) {
    ASSERT_EQ(Decode(DLT_NULL, Null(af6, true, kUdp6), &p), PacketDecodeStatus::kOk) << af6;
    ExpectUdp6(p);
  }
  ASSERT_EQ(Decode(DLT_LOOP, Null(2, false, kUdp4), &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  ASSERT_EQ(Decode(DLT_LOOP, Null(30, false, kUdp6), &p), PacketDecodeStatus::kOk);
  ExpectUdp6(p);
  EXPECT_EQ(Reason(DLT_NULL, Null(7, true, kUdp4)), "non_ip");
}

TEST(PacketDecoderTest, UnsupportedLinkType) {
  EXPECT_FALSE(PacketDecoder::IsSupportedLinkType(DLT_IEEE802_11));
  EXPECT_TRUE(PacketDecoder::IsSupportedLinkType(DLT_LINUX_SLL2));
  EXPECT_EQ(Reason(DLT_IEEE802_11, Eth(0x0800, kUdp4)), "unsupported_linktype");
}

TEST(PacketDecoderTest, BadHeaders) {
  Bytes v = kUdp4;
  v[0] = 0x55;  // version 5
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, v)), "bad_ip_header");
  v = kUdp4;
  v[0] = 0x44;  // IHL 4
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, v)), "bad_ip_header");
  v = kUdp4;
  v[2] = 0;
  v[3] = 12;  // total length shorter than the header
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, v)), "bad_ip_header");
  v = kUdp4;
  v[20 + 4] = 0;
  v[20 + 5] = 4;  // UDP length 4
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, v)), "bad_udp_length");
  v = kUdp4;
  v[20 + 5] = static_cast<uint8_t>(v[20 + 5] + 1);  // UDP length one past the datagram
  EXPECT_EQ(Reason(DLT_EN10MB, Eth(0x0800, v)), "truncated_udp");
  Bytes t = Ipv4("192.0.2.1", "192.0.2.2", 6, Tcp(1, 53, 0, 0x10, {}));
  t[20 + 12] = 0x40;  // data offset 4
  EXPECT_EQ(Reason(DLT_RAW, t), "bad_tcp_header");
  t[20 + 12] = 0xF0;  // data offset 15: 60 bytes, more than the segment
  EXPECT_EQ(Reason(DLT_RAW, t), "truncated_tcp");
}

TEST(PacketDecoderTest, ZeroLengthFieldsMeanRestOfFrame) {
  Bytes v = kUdp4;
  v[2] = v[3] = 0;  // IPv4 total length 0 (TSO capture)
  Decoded p;
  ASSERT_EQ(Decode(DLT_RAW, v, &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
  Bytes u = kUdp4;
  u[20 + 4] = u[20 + 5] = 0;  // UDP length 0 (jumbogram)
  ASSERT_EQ(Decode(DLT_RAW, u, &p), PacketDecodeStatus::kOk);
  ExpectUdp4(p);
}

struct Case {
  const char* name;
  int dlt;
  Bytes frame;
};

std::vector<Case> AllCases() {
  Bytes ext = ExtHeader(17, 1);
  Append(ext, Udp(5353, 53, kDns));
  return {
      {"eth_v4_udp", DLT_EN10MB, Eth(0x0800, kUdp4)},
      {"eth_vlan_v6_udp", DLT_EN10MB, Eth(0x86DD, kUdp6, {0x8100})},
      {"eth_v4_tcp", DLT_EN10MB,
       Eth(0x0800, Ipv4("192.0.2.1", "192.0.2.2", 6, Tcp(1, 53, 7, 0x18, kDns, 2)))},
      {"eth_v6_ext_udp", DLT_EN10MB, Eth(0x86DD, Ipv6("::1", "::2", 0, ext))},
      {"sll_v4", DLT_LINUX_SLL, Sll(0x0800, kUdp4)},
      {"sll2_v6", DLT_LINUX_SLL2, Sll2(0x86DD, kUdp6)},
      {"raw_v4_opts", DLT_RAW, Ipv4("192.0.2.1", "192.0.2.2", 17, Udp(1, 53, kDns), 2)},
      {"ipv6", DLT_IPV6, kUdp6},
      {"null_v6", DLT_NULL, Null(24, true, kUdp6)},
      {"loop_v4", DLT_LOOP, Null(2, false, kUdp4)},
  };
}

// Every proper prefix of a good frame is reported malformed: no length field may be
// trusted past the captured bytes.
TEST(PacketDecoderTest, TruncationAtEveryOffsetIsMalformed) {
  for (const Case& c : AllCases()) {
    Decoded p;
    ASSERT_EQ(Decode(c.dlt, c.frame, &p), PacketDecodeStatus::kOk) << c.name;
    for (size_t n = 0; n < c.frame.size(); ++n) {
      const Bytes prefix(c.frame.begin(), c.frame.begin() + static_cast<ptrdiff_t>(n));
      const PacketDecodeStatus s = Decode(c.dlt, prefix, &p);
      EXPECT_TRUE(IsMalformed(s)) << c.name << " cut at " << n << ": " << PacketDecodeReason(s);
    }
  }
}

TEST(PacketDecoderTest, FlippedBytesNeverEscapeTheFrame) {
  std::mt19937 rng(7);
  for (const Case& c : AllCases()) {
    for (int iter = 0; iter < 3000; ++iter) {
      Bytes f = c.frame;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < flips; ++i) f[rng() % f.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      Decoded p;
      const PacketDecodeStatus s = Decode(c.dlt, f, &p);
      EXPECT_NE(PacketDecodeReason(s), "unknown");
      if (s == PacketDecodeStatus::kOk && !p.payload.empty()) {
        EXPECT_GE(p.payload.data(), f.data());
        EXPECT_LE(p.payload.data() + p.payload.size(), f.data() + f.size()) << c.name;
      }
    }
  }
}

}  // namespace
}  // namespace dnsight
