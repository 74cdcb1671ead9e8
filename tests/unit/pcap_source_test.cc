#include "ingest/pcap_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "unit/recording_sink.h"

namespace dnsight {
namespace {

using CollectingSink = test_support::RecordingSink;

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

// ---- frame and message builders ----

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

void Name(Bytes& b, std::string_view dotted) {
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    b.push_back(static_cast<uint8_t>(label.size()));
    b.insert(b.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  b.push_back(0);
}

Bytes DnsQuery(uint16_t id, std::string_view qname, uint16_t qtype = 1) {
  Bytes b;
  for (uint16_t v : {id, uint16_t{0x0100}, uint16_t{1}, uint16_t{0}, uint16_t{0}, uint16_t{0}})
    U16(b, v);
  Name(b, qname);
  U16(b, qtype);
  U16(b, 1);
  return b;
}

Bytes DnsResponse(uint16_t id, std::string_view qname, uint16_t qtype, uint8_t rcode,
                  const std::vector<uint32_t>& ttls) {
  Bytes b;
  U16(b, id);
  U16(b, static_cast<uint16_t>(0x8180 | rcode));
  U16(b, 1);
  U16(b, static_cast<uint16_t>(ttls.size()));
  U16(b, 0);
  U16(b, 0);
  Name(b, qname);
  U16(b, qtype);
  U16(b, 1);
  for (uint32_t ttl : ttls) {
    U16(b, 0xC00C);
    U16(b, 1);
    U16(b, 1);
    U32(b, ttl);
    U16(b, 4);
    Append(b, {192, 0, 2, 7});
  }
  return b;
}

Bytes Ip4(const std::string& text) {
  in_addr a{};
  inet_pton(AF_INET, text.c_str(), &a);
  const auto* p = reinterpret_cast<const uint8_t*>(&a);
  return Bytes(p, p + 4);
}

Bytes Ipv4Packet(const std::string& src, const std::string& dst, uint8_t proto, const Bytes& l4,
                 uint16_t frag = 0) {
  Bytes b = {0x45, 0};
  U16(b, static_cast<uint16_t>(20 + l4.size()));
  U16(b, 1);
  U16(b, frag);
  b.push_back(64);
  b.push_back(proto);
  U16(b, 0);
  Append(b, Ip4(src));
  Append(b, Ip4(dst));
  Append(b, l4);
  return b;
}

Bytes Eth(uint16_t type, const Bytes& payload) {
  Bytes b = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  U16(b, type);
  Append(b, payload);
  return b;
}

Bytes UdpFrame(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
               const Bytes& payload) {
  Bytes u;
  U16(u, sport);
  U16(u, dport);
  U16(u, static_cast<uint16_t>(8 + payload.size()));
  U16(u, 0);
  Append(u, payload);
  return Eth(0x0800, Ipv4Packet(src, dst, 17, u));
}

Bytes TcpFrame(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
               uint32_t seq, uint8_t flags, const Bytes& payload) {
  Bytes t;
  U16(t, sport);
  U16(t, dport);
  U32(t, seq);
  U32(t, 0);
  t.push_back(0x50);
  t.push_back(flags);
  U16(t, 65535);
  U32(t, 0);
  Append(t, payload);
  return Eth(0x0800, Ipv4Packet(src, dst, 6, t));
}

Bytes TcpFramed(const Bytes& message) {
  Bytes b;
  U16(b, static_cast<uint16_t>(message.size()));
  Append(b, message);
  return b;
}

// ---- files ----

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "pcap_source_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

class PcapWriter {
 public:
  PcapWriter(const std::string& path, int dlt, bool nano) {
    dead_ = pcap_open_dead_with_tstamp_precision(
        dlt, 65535, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    dumper_ = pcap_dump_open(dead_, path.c_str());
    nano_ = nano;
  }
  ~PcapWriter() { Close(); }
  void Write(int64_t time_ns, const Bytes& frame, uint32_t wire_len = 0) {
    pcap_pkthdr h{};
    h.ts.tv_sec = time_ns / 1'000'000'000;
    const int64_t frac = time_ns % 1'000'000'000;
    h.ts.tv_usec = static_cast<suseconds_t>(nano_ ? frac : frac / 1000);
    h.caplen = static_cast<uint32_t>(frame.size());
    h.len = wire_len != 0 ? wire_len : h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, frame.data());
  }
  void Close() {
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
  }

 private:
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  bool nano_ = true;
};

Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void WriteAll(const std::string& path, const Bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// ---- sink ----

PcapSourceOptions FileOptions(const std::string& path) {
  PcapSourceOptions o;
  o.file_path = path;
  return o;
}

constexpr int64_t kT0 = 1'700'000'000'123'456'789;
constexpr int64_t kSec = 1'000'000'000;
const std::string kClient = "192.0.2.10";
const std::string kServer = "198.51.100.53";

// ---- tests ----

TEST(PcapSourceTest, MatchesUdpQueryAndResponseWithNanosecondLatency) {
  TempDir dir;
  const std::string path = dir.File("udp.pcap");
  const Bytes q = DnsQuery(0x4242, "www.Example.org", 28);
  const Bytes r = DnsResponse(0x4242, "www.Example.org", 28, 0, {300, 30});
  {
    PcapWriter w(path, DLT_EN10MB, /*nano=*/true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, q));
    w.Write(kT0 + 1'234'567, UdpFrame(kServer, 53, kClient, 41000, r));
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 1u);
  const RawDnsObservation& o = sink.seen[0].obs;
  EXPECT_EQ(o.query_time_ns, kT0);
  EXPECT_EQ(o.response_time_ns, kT0 + 1'234'567);
  EXPECT_EQ(o.client, *IpAddress::Parse(kClient));
  EXPECT_EQ(o.server, *IpAddress::Parse(kServer));
  EXPECT_EQ(o.client_port, 41000);
  EXPECT_EQ(o.server_port, 53);
  EXPECT_EQ(o.transport, Transport::kUdp);
  EXPECT_EQ(sink.seen[0].qname, "www.Example.org");
  EXPECT_EQ(o.qtype, 28);
  EXPECT_EQ(o.rcode, 0);
  EXPECT_EQ(o.answer_count, 2);
  EXPECT_EQ(o.min_ttl, 30);
  EXPECT_EQ(o.query_size, q.size());
  EXPECT_EQ(o.response_size, r.size());
  const PcapSourceCounters c = source.counters();
  EXPECT_EQ(c.packets, 2u);
  EXPECT_EQ(c.dns_messages, 2u);
  EXPECT_EQ(c.dns_queries, 1u);
  EXPECT_EQ(c.dns_responses, 1u);
  EXPECT_EQ(c.malformed, 0u);
  EXPECT_EQ(c.matcher.matched, 1u);
  EXPECT_TRUE(sink.malformed.empty());
  EXPECT_EQ(source.Describe(), "pcap:" + path);
}

TEST(PcapSourceTest, MicrosecondFile) {
  TempDir dir;
  const std::string path = dir.File("usec.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, /*nano=*/false);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + 2 * 1'000'000,
            UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "a.example", 1, 3, {})));
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 1u);
  const int64_t t0_usec = kT0 / 1000 * 1000;
  EXPECT_EQ(sink.seen[0].obs.query_time_ns, t0_usec);
  EXPECT_EQ(sink.seen[0].obs.response_time_ns, t0_usec + 2'000'000);
  EXPECT_EQ(sink.seen[0].obs.rcode, 3);
  EXPECT_EQ(sink.seen[0].obs.min_ttl, -1);
}

TEST(PcapSourceTest, CountsNonDnsFragmentsAndMalformed) {
  TempDir dir;
  const std::string path = dir.File("mixed.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, Eth(0x0806, Bytes(28, 0)));                                   // ARP
    w.Write(kT0 + 1, UdpFrame(kClient, 5000, kServer, 80, Bytes(10, 1)));      // not DNS port
    w.Write(kT0 + 2, Eth(0x0800, Ipv4Packet(kClient, kServer, 1, Bytes(8))));  // ICMP
    w.Write(kT0 + 3, UdpFrame(kClient, 5000, kServer, 53, Bytes(5, 0)));       // short DNS
    w.Write(kT0 + 4, Eth(0x0800, Ipv4Packet(kClient, kServer, 17, Bytes(16), 0x2000)));
    w.Write(kT0 + 5, Bytes(10, 0xFF));  // shorter than an Ethernet header
    Bytes loop = DnsQuery(9, "x");
    loop.resize(12);
    Append(loop, {0xC0, 0x0C, 0, 1, 0, 1});
    w.Write(kT0 + 6, UdpFrame(kClient, 5001, kServer, 53, loop));
    w.Write(kT0 + 7, UdpFrame(kClient, 5002, kServer, 53, DnsQuery(10, "ok.example")),
            /*wire_len=*/2000);
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  const PcapSourceCounters c = source.counters();
  EXPECT_EQ(c.packets, 8u);
  EXPECT_EQ(c.non_dns, 3u);
  EXPECT_EQ(c.ip_fragments, 1u);
  EXPECT_EQ(c.malformed, 3u);
  EXPECT_EQ(c.snaplen_truncated, 1u);
  EXPECT_EQ(c.malformed_by_reason.at("truncated_header"), 1u);
  EXPECT_EQ(c.malformed_by_reason.at("truncated_ethernet"), 1u);
  EXPECT_EQ(c.malformed_by_reason.at("pointer_loop"), 1u);
  EXPECT_EQ(sink.malformed,
            (std::vector<std::string>{"truncated_header", "truncated_ethernet", "pointer_loop"}));
  ASSERT_EQ(sink.seen.size(), 1u);  // the good query, flushed unanswered
  EXPECT_EQ(sink.seen[0].obs.rcode, -1);
}

TEST(PcapSourceTest, PacketTimeDrivesTimeouts) {
  TempDir dir;
  const std::string path = dir.File("timeout.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + kSec, UdpFrame(kClient, 41001, kServer, 53, DnsQuery(2, "b.example")));
    w.Write(kT0 + 2 * kSec, UdpFrame(kClient, 41002, kServer, 53, DnsQuery(3, "c.example")));
    w.Write(kT0 + 7 * kSec, UdpFrame(kClient, 1, kServer, 80, Bytes(4)));  // time passes
    w.Write(kT0 + 8 * kSec,
            UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "a.example", 1, 0, {5})));
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 4u);
  // At 7 s, a (0 s) and b (1 s) are older than the 5 s timeout; c (2 s) is not.
  EXPECT_EQ(sink.seen[0].qname, "a.example");
  EXPECT_EQ(sink.seen[0].obs.rcode, -1);
  EXPECT_EQ(sink.seen[1].qname, "b.example");
  EXPECT_EQ(sink.seen[1].obs.rcode, -1);
  // c expires at 8 s, before the late response for a is handled.
  EXPECT_EQ(sink.seen[2].qname, "c.example");
  EXPECT_EQ(sink.seen[3].qname, "a.example");
  EXPECT_EQ(sink.seen[3].obs.query_time_ns, -1);
  EXPECT_EQ(sink.seen[3].obs.rcode, 0);
  EXPECT_EQ(source.counters().matcher.unmatched_responses, 1u);
  EXPECT_EQ(source.counters().matcher.unanswered, 3u);
}

TEST(PcapSourceTest, ConfigurablePorts) {
  TempDir dir;
  const std::string path = dir.File("ports.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + 1, UdpFrame(kClient, 5353, "224.0.0.251", 5353, DnsQuery(0, "printer.local")));
  }
  PcapSourceOptions o = FileOptions(path);
  o.dns_ports = {5353};
  PcapSource source(o);
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].qname, "printer.local");
  EXPECT_EQ(source.counters().non_dns, 1u);
}

TEST(PcapSourceTest, DnsOverTcp) {
  TempDir dir;
  const std::string path = dir.File("tcp.pcap");
  const Bytes q = TcpFramed(DnsQuery(77, "tcp.example", 16));
  const Bytes r = TcpFramed(DnsResponse(77, "tcp.example", 16, 0, {60}));
  const Bytes q2 = TcpFramed(DnsQuery(78, "second.example", 1));
  const Bytes r2 = TcpFramed(DnsResponse(78, "second.example", 1, 2, {}));
  Bytes both_responses = r;
  Append(both_responses, r2);
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, TcpFrame(kClient, 42000, kServer, 53, 1000, 0x02, {}));      // SYN
    w.Write(kT0 + 1, TcpFrame(kServer, 53, kClient, 42000, 5000, 0x12, {}));  // SYN-ACK
    w.Write(kT0 + 2, TcpFrame(kClient, 42000, kServer, 53, 1001, 0x10, {}));  // ACK
    const Bytes first(q.begin(), q.begin() + 7);
    const Bytes rest(q.begin() + 7, q.end());
    w.Write(kT0 + 3, TcpFrame(kClient, 42000, kServer, 53, 1001, 0x18, first));
    w.Write(kT0 + 4, TcpFrame(kClient, 42000, kServer, 53, 1008, 0x18, rest));
    w.Write(kT0 + 5, TcpFrame(kClient, 42000, kServer, 53, 1001 + static_cast<uint32_t>(q.size()),
                              0x18, q2));
    w.Write(kT0 + 1000, TcpFrame(kServer, 53, kClient, 42000, 5001, 0x18, both_responses));
    w.Write(kT0 + 1001, TcpFrame(kServer, 53, kClient, 42000,
                                 5001 + static_cast<uint32_t>(both_responses.size()), 0x11, {}));
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 2u);
  EXPECT_EQ(sink.seen[0].qname, "tcp.example");
  EXPECT_EQ(sink.seen[0].obs.transport, Transport::kTcp);
  EXPECT_EQ(sink.seen[0].obs.query_time_ns, kT0 + 4);  // the segment completing the query
  EXPECT_EQ(sink.seen[0].obs.response_time_ns, kT0 + 1000);
  EXPECT_EQ(sink.seen[0].obs.min_ttl, 60);
  EXPECT_EQ(sink.seen[1].qname, "second.example");
  EXPECT_EQ(sink.seen[1].obs.rcode, 2);
  const PcapSourceCounters c = source.counters();
  EXPECT_EQ(c.tcp.messages, 4u);
  EXPECT_EQ(c.tcp.flows_closed, 1u);
  EXPECT_EQ(c.malformed, 0u);
}

// A valid file followed by junk: the good records are used, the junk is counted.
TEST(PcapSourceTest, GarbageAppended) {
  TempDir dir;
  const std::string path = dir.File("garbage.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + 5, UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "a.example", 1, 0, {})));
  }
  const Bytes good = ReadAll(path);
  for (int variant = 0; variant < 3; ++variant) {
    Bytes data = good;
    if (variant == 0) {
      data.insert(data.end(), 100, 0xAB);  // a record header claiming ~2.8 GB
    } else if (variant == 1) {
      // A plausible record header (caplen 20) with 20 bytes of junk, then a short tail.
      Bytes h(16, 0);
      h[8] = 20;   // caplen, little-endian as pcap_dump wrote it on this host
      h[12] = 20;  // len
      Append(data, h);
      data.insert(data.end(), 20, 0x5A);
      data.insert(data.end(), 7, 0x01);
    } else {
      data.insert(data.end(), 3, 0x00);  // a few stray bytes: not even a record header
    }
    WriteAll(path, data);
    PcapSource source(FileOptions(path));
    CollectingSink sink;
    ASSERT_TRUE(source.Run(sink).ok()) << variant;
    ASSERT_EQ(sink.seen.size(), 1u) << variant;
    EXPECT_EQ(sink.seen[0].obs.response_time_ns, kT0 + 5);
    const PcapSourceCounters c = source.counters();
    EXPECT_EQ(c.malformed_by_reason.count("pcap_bad_record"), 1u) << variant;
    if (variant == 1) {
      EXPECT_EQ(c.packets, 3u);  // the junk record was read and rejected
    }
  }
}

TEST(PcapSourceTest, TruncatedInsideARecord) {
  TempDir dir;
  const std::string path = dir.File("cut.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + 5, UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "a.example", 1, 0, {})));
  }
  Bytes data = ReadAll(path);
  data.resize(data.size() - 10);
  WriteAll(path, data);
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].obs.rcode, -1);  // the response was cut off
  EXPECT_EQ(source.counters().packets, 1u);
  EXPECT_EQ(sink.malformed, std::vector<std::string>{"pcap_bad_record"});
}

TEST(PcapSourceTest, CutAtEveryByteNeverCrashes) {
  TempDir dir;
  const std::string path = dir.File("full.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
    w.Write(kT0 + 5,
            UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "a.example", 1, 0, {1, 2})));
    w.Write(kT0 + 6, TcpFrame(kClient, 1, kServer, 53, 1, 0x18, TcpFramed(DnsQuery(2, "b"))));
  }
  const Bytes full = ReadAll(path);
  const std::string cut_path = dir.File("cut.pcap");
  for (size_t n = 0; n < full.size(); ++n) {
    WriteAll(cut_path, Bytes(full.begin(), full.begin() + static_cast<ptrdiff_t>(n)));
    PcapSource source(FileOptions(cut_path));
    CollectingSink sink;
    const Status s = source.Run(sink);
    if (n < 24) {
      EXPECT_FALSE(s.ok()) << n;  // no complete file header: cannot be opened
      continue;
    }
    ASSERT_TRUE(s.ok()) << n << " " << s.ToString();
    const PcapSourceCounters c = source.counters();
    EXPECT_LE(c.packets, 3u);
    EXPECT_LE(c.malformed, 1u) << n;
  }
}

// pcapng: Section Header, Interface Description (Ethernet, microseconds) and two
// Enhanced Packet blocks, written by hand.
TEST(PcapSourceTest, ReadsPcapng) {
  auto le32 = [](Bytes& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto le16 = [](Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v));
    b.push_back(static_cast<uint8_t>(v >> 8));
  };
  Bytes f;
  le32(f, 0x0A0D0D0A);
  le32(f, 28);
  le32(f, 0x1A2B3C4D);
  le16(f, 1);
  le16(f, 0);
  le32(f, 0xFFFFFFFF);
  le32(f, 0xFFFFFFFF);
  le32(f, 28);
  le32(f, 1);  // IDB
  le32(f, 20);
  le16(f, DLT_EN10MB);
  le16(f, 0);
  le32(f, 0);
  le32(f, 20);
  auto epb = [&](uint64_t usec, const Bytes& frame) {
    const uint32_t padded = static_cast<uint32_t>((frame.size() + 3) / 4 * 4);
    le32(f, 6);
    le32(f, 32 + padded);
    le32(f, 0);
    le32(f, static_cast<uint32_t>(usec >> 32));
    le32(f, static_cast<uint32_t>(usec));
    le32(f, static_cast<uint32_t>(frame.size()));
    le32(f, static_cast<uint32_t>(frame.size()));
    Append(f, frame);
    f.resize(f.size() + (padded - frame.size()), 0);
    le32(f, 32 + padded);
  };
  const uint64_t t_usec = 1'700'000'000'000'000;
  epb(t_usec, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(5, "ng.example")));
  epb(t_usec + 750, UdpFrame(kServer, 53, kClient, 41000, DnsResponse(5, "ng.example", 1, 0, {9})));
  TempDir dir;
  const std::string path = dir.File("x.pcapng");
  WriteAll(path, f);
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  const Status s = source.Run(sink);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].qname, "ng.example");
  EXPECT_EQ(sink.seen[0].obs.query_time_ns, static_cast<int64_t>(t_usec) * 1000);
  EXPECT_EQ(sink.seen[0].obs.response_time_ns - sink.seen[0].obs.query_time_ns, 750'000);
}

TEST(PcapSourceTest, LinuxCookedCapture) {
  TempDir dir;
  const std::string path = dir.File("sll.pcap");
  auto sll = [](const Bytes& eth_frame) {
    Bytes b = {0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00};
    b.insert(b.end(), eth_frame.begin() + 14, eth_frame.end());  // drop the Ethernet header
    return b;
  };
  {
    PcapWriter w(path, DLT_LINUX_SLL, true);
    w.Write(kT0, sll(UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "sll.example"))));
    w.Write(kT0 + 9,
            sll(UdpFrame(kServer, 53, kClient, 41000, DnsResponse(1, "sll.example", 1, 0, {}))));
  }
  PcapSource source(FileOptions(path));
  CollectingSink sink;
  ASSERT_TRUE(source.Run(sink).ok());
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].obs.response_time_ns - sink.seen[0].obs.query_time_ns, 9);
}

TEST(PcapSourceTest, SetupErrors) {
  TempDir dir;
  CollectingSink sink;
  {
    PcapSource source(FileOptions(dir.File("missing.pcap")));
    const Status s = source.Run(sink);
    EXPECT_EQ(s.code(), StatusCode::kIoError);
  }
  {
    const std::string path = dir.File("wifi.pcap");
    { PcapWriter w(path, DLT_IEEE802_11, true); }
    PcapSource source(FileOptions(path));
    const Status s = source.Run(sink);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("unsupported link type"), std::string::npos) << s.message();
  }
  {
    PcapSourceOptions o;
    PcapSource source(o);  // neither file nor interface
    EXPECT_EQ(source.Run(sink).code(), StatusCode::kInvalidArgument);
    o.file_path = "x";
    o.interface = "lo";
    PcapSource both(o);
    EXPECT_EQ(both.Run(sink).code(), StatusCode::kInvalidArgument);
  }
  {
    const std::string path = dir.File("ok.pcap");
    { PcapWriter w(path, DLT_EN10MB, true); }
    PcapSourceOptions o = FileOptions(path);
    o.bpf_filter = "this is not bpf";
    PcapSource source(o);
    EXPECT_EQ(source.Run(sink).code(), StatusCode::kInvalidArgument);
    o.bpf_filter = "udp port 53";
    PcapSource good(o);
    EXPECT_TRUE(good.Run(sink).ok());
    o.bpf_filter.reset();
    o.dns_ports.clear();
    PcapSource no_ports(o);
    EXPECT_EQ(no_ports.Run(sink).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(sink.seen.empty());
}

TEST(PcapSourceTest, StopBeforeRunReadsNothing) {
  TempDir dir;
  const std::string path = dir.File("stop.pcap");
  {
    PcapWriter w(path, DLT_EN10MB, true);
    w.Write(kT0, UdpFrame(kClient, 41000, kServer, 53, DnsQuery(1, "a.example")));
  }
  PcapSource source(FileOptions(path));
  source.RequestStop();
  CollectingSink sink;
  EXPECT_TRUE(source.Run(sink).ok());
  EXPECT_EQ(source.counters().packets, 0u);
}

// Live capture on the loopback interface, between two sockets bound to port 0. Needs
// CAP_NET_RAW; skipped without it.
TEST(PcapSourceLiveTest, CapturesLoopbackTraffic) {
  const int server = socket(AF_INET, SOCK_DGRAM, 0);
  const int client = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(server, 0);
  ASSERT_GE(client, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(addr.sin_port);
  timeval tv{0, 200'000};
  setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  PcapSourceOptions o;
  o.interface = "lo";
  o.dns_ports = {port};
  o.read_timeout_ms = 50;
  PcapSource source(o);
  CollectingSink sink;
  std::atomic<bool> done{false};
  Status run_status;
  std::thread runner([&] {
    run_status = source.Run(sink);
    done = true;
  });

  auto matched = [&] {
    std::lock_guard<std::mutex> lock(sink.mutex());
    for (const auto& s : sink.seen)
      if (s.obs.query_time_ns >= 0 && s.obs.response_time_ns >= 0) return true;
    return false;
  };
  // The capture starts asynchronously: keep exchanging transactions until one is seen.
  bool seen = false;
  for (uint16_t id = 1; id < 100 && !done && !seen; ++id) {
    const Bytes q = DnsQuery(id, "live.example");
    sendto(client, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    uint8_t buf[512];
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n =
        recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n > 0) {
      const Bytes r = DnsResponse(id, "live.example", 1, 0, {42});
      sendto(server, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len);
      recv(client, buf, sizeof buf, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    seen = matched();
  }
  source.RequestStop();
  runner.join();
  close(server);
  close(client);
  if (!run_status.ok()) GTEST_SKIP() << "live capture unavailable: " << run_status.ToString();
  EXPECT_TRUE(seen);
  EXPECT_EQ(source.Describe(), "pcap-live:lo");
  EXPECT_GE(source.counters().dns_responses, 1u);
}

}  // namespace
}  // namespace dnsight
