#include "ingest/tcp_dns_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace dnsight {
namespace {

using Bytes = std::vector<uint8_t>;

class Collector : public TcpDnsStream::Handler {
 public:
  void OnDnsMessage(std::span<const uint8_t> m) override {
    messages.emplace_back(m.begin(), m.end());
  }
  std::vector<Bytes> messages;
};

// A message of `len` bytes whose content identifies it.
Bytes Message(uint8_t tag, size_t len) {
  Bytes m(len);
  for (size_t i = 0; i < len; ++i) m[i] = static_cast<uint8_t>(tag + i);
  return m;
}

Bytes Framed(const std::vector<Bytes>& messages) {
  Bytes b;
  for (const Bytes& m : messages) {
    b.push_back(static_cast<uint8_t>(m.size() >> 8));
    b.push_back(static_cast<uint8_t>(m.size()));
    b.insert(b.end(), m.begin(), m.end());
  }
  return b;
}

class TcpDnsStreamTest : public ::testing::Test {
 protected:
  TcpDnsStreamTest() {
    client_ = *IpAddress::Parse("192.0.2.1");
    server_ = *IpAddress::Parse("192.0.2.53");
  }

  // Sends bytes [from, from + len) of `stream` as one client->server segment.
  void Send(const Bytes& stream, size_t from, size_t len, uint8_t flags = 0x18,
            uint16_t sport = 40000) {
    DecodedPacket p;
    p.src = client_;
    p.dst = server_;
    p.src_port = sport;
    p.dst_port = 53;
    p.transport = Transport::kTcp;
    p.tcp_flags = flags;
    p.tcp_seq = isn_ + 1 + static_cast<uint32_t>(from);
    p.payload = std::span<const uint8_t>(stream).subspan(from, len);
    stream_.OnSegment(time_++, p, out_);
  }
  void Control(uint8_t flags, uint32_t seq, uint16_t sport = 40000) {
    DecodedPacket p;
    p.src = client_;
    p.dst = server_;
    p.src_port = sport;
    p.dst_port = 53;
    p.transport = Transport::kTcp;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    stream_.OnSegment(time_++, p, out_);
  }

  IpAddress client_, server_;
  uint32_t isn_ = 1000;
  int64_t time_ = 1;
  TcpDnsStream::Options options_;
  TcpDnsStream stream_{options_};
  Collector out_;
};

TEST_F(TcpDnsStreamTest, OneMessageOneSegment) {
  const Bytes m = Message(1, 30);
  const Bytes s = Framed({m});
  Control(kTcpSyn, isn_);
  Send(s, 0, s.size());
  ASSERT_EQ(out_.messages.size(), 1u);
  EXPECT_EQ(out_.messages[0], m);
  EXPECT_EQ(stream_.counters().messages, 1u);
  EXPECT_EQ(stream_.buffered_bytes(), 0u);
}

TEST_F(TcpDnsStreamTest, MessageSplitAcrossSegmentsIncludingTheLengthPrefix) {
  const Bytes m = Message(2, 100);
  const Bytes s = Framed({m});
  Control(kTcpSyn, isn_);
  Send(s, 0, 1);  // half the length prefix
  Send(s, 1, 1);
  Send(s, 2, 50);
  EXPECT_TRUE(out_.messages.empty());
  EXPECT_EQ(stream_.buffered_bytes(), 52u);
  Send(s, 52, s.size() - 52);
  ASSERT_EQ(out_.messages.size(), 1u);
  EXPECT_EQ(out_.messages[0], m);
  EXPECT_EQ(stream_.buffered_bytes(), 0u);
}

TEST_F(TcpDnsStreamTest, SeveralMessagesPerSegment) {
  const std::vector<Bytes> ms = {Message(1, 20), Message(2, 0), Message(3, 45), Message(4, 12)};
  const Bytes s = Framed(ms);
  // The first segment holds two and a half messages; the second the rest.
  const size_t cut = 2 + 20 + 2 + 2 + 10;
  Send(s, 0, cut);  // no SYN seen: picked up mid-connection
  ASSERT_EQ(out_.messages.size(), 2u);
  Send(s, cut, s.size() - cut);
  ASSERT_EQ(out_.messages.size(), 4u);
  EXPECT_EQ(out_.messages, ms);
}

TEST_F(TcpDnsStreamTest, AnySegmentationGivesTheSameMessages) {
  std::mt19937 rng(3);
  std::vector<Bytes> ms;
  for (int i = 0; i < 40; ++i) ms.push_back(Message(static_cast<uint8_t>(i), rng() % 700));
  const Bytes s = Framed(ms);
  for (int round = 0; round < 50; ++round) {
    TcpDnsStream stream({});
    Collector out;
    uint32_t seq = static_cast<uint32_t>(rng());  // includes wrap-around of the 32-bit space
    size_t at = 0;
    while (at < s.size()) {
      const size_t len = std::min<size_t>(s.size() - at, 1 + rng() % (round < 10 ? 3 : 900));
      DecodedPacket p;
      p.src = client_;
      p.dst = server_;
      p.src_port = 1;
      p.dst_port = 53;
      p.transport = Transport::kTcp;
      p.tcp_seq = seq;
      p.payload = std::span<const uint8_t>(s).subspan(at, len);
      stream.OnSegment(round, p, out);
      seq += static_cast<uint32_t>(len);
      at += len;
    }
    EXPECT_EQ(out.messages, ms) << round;
    EXPECT_EQ(stream.counters().gaps, 0u);
  }
}

TEST_F(TcpDnsStreamTest, SequenceWrapAround) {
  isn_ = 0xFFFFFFF0u;
  const Bytes s = Framed({Message(9, 40), Message(8, 40)});
  Control(kTcpSyn, isn_);
  Send(s, 0, 20);
  Send(s, 20, s.size() - 20);
  EXPECT_EQ(out_.messages.size(), 2u);
  EXPECT_EQ(stream_.counters().gaps, 0u);
}

TEST_F(TcpDnsStreamTest, RetransmissionsAreIgnored) {
  const std::vector<Bytes> ms = {Message(1, 30), Message(2, 30)};
  const Bytes s = Framed(ms);
  Control(kTcpSyn, isn_);
  Send(s, 0, 20);
  Send(s, 0, 20);   // exact duplicate
  Send(s, 10, 30);  // overlaps: only bytes 20..40 are new
  Send(s, 40, s.size() - 40);
  Send(s, 0, s.size());  // everything again
  EXPECT_EQ(out_.messages, ms);
  EXPECT_EQ(stream_.counters().retransmissions, 3u);
  EXPECT_EQ(stream_.counters().gaps, 0u);
}

TEST_F(TcpDnsStreamTest, GapResetsTheFlow) {
  const std::vector<Bytes> ms = {Message(1, 30), Message(2, 30), Message(3, 30)};
  const Bytes s = Framed(ms);
  Control(kTcpSyn, isn_);
  Send(s, 0, 10);   // a partial first message
  Send(s, 32, 32);  // bytes 10..32 were lost; this segment starts message 2
  Send(s, 64, 32);
  EXPECT_EQ(stream_.counters().gaps, 1u);
  EXPECT_EQ(stream_.counters().incomplete_messages, 1u);
  ASSERT_EQ(out_.messages.size(), 2u);
  EXPECT_EQ(out_.messages[0], ms[1]);
  EXPECT_EQ(out_.messages[1], ms[2]);
}

TEST_F(TcpDnsStreamTest, FinAndRstCloseTheFlow) {
  const Bytes s = Framed({Message(1, 30), Message(2, 30)});
  Control(kTcpSyn, isn_);
  Send(s, 0, 32 + 5, 0x18 | kTcpFin);  // data and FIN together; the second message is cut
  EXPECT_EQ(out_.messages.size(), 1u);
  EXPECT_EQ(stream_.flow_count(), 0u);
  EXPECT_EQ(stream_.counters().flows_closed, 1u);
  EXPECT_EQ(stream_.counters().incomplete_messages, 1u);
  EXPECT_EQ(stream_.buffered_bytes(), 0u);

  Control(kTcpSyn, isn_, 40001);
  Send(s, 0, 5, 0x18, 40001);
  EXPECT_EQ(stream_.flow_count(), 1u);
  Control(kTcpRst, isn_ + 6, 40001);
  EXPECT_EQ(stream_.flow_count(), 0u);
  EXPECT_EQ(stream_.counters().incomplete_messages, 2u);
  EXPECT_EQ(stream_.buffered_bytes(), 0u);
}

TEST_F(TcpDnsStreamTest, DataOnSyn) {
  // TCP Fast Open: the SYN carries the first message right after its sequence number.
  const Bytes m = Message(5, 25);
  const Bytes s = Framed({m});
  DecodedPacket p;
  p.src = client_;
  p.dst = server_;
  p.src_port = 40000;
  p.dst_port = 53;
  p.transport = Transport::kTcp;
  p.tcp_flags = kTcpSyn;
  p.tcp_seq = isn_;
  p.payload = s;
  stream_.OnSegment(1, p, out_);
  ASSERT_EQ(out_.messages.size(), 1u);
  EXPECT_EQ(out_.messages[0], m);
  Send(Framed({Message(6, 3)}), 0, 0);  // a bare ACK does nothing
  EXPECT_EQ(stream_.counters().gaps, 0u);
}

TEST_F(TcpDnsStreamTest, LargestMessageSpanningManySegments) {
  const Bytes m = Message(7, 65535);
  const Bytes s = Framed({m});
  Control(kTcpSyn, isn_);
  for (size_t at = 0; at < s.size(); at += 1448) Send(s, at, std::min<size_t>(1448, s.size() - at));
  ASSERT_EQ(out_.messages.size(), 1u);
  EXPECT_EQ(out_.messages[0], m);
  EXPECT_EQ(stream_.buffered_bytes(), 0u);
}

TEST(TcpDnsStreamLimitsTest, LeastRecentlyUsedFlowIsEvicted) {
  TcpDnsStream::Options o;
  o.max_flows = 2;
  TcpDnsStream stream(o);
  Collector out;
  const Bytes s = Framed({Message(1, 10)});
  auto send = [&](uint16_t port, size_t from, size_t len) {
    DecodedPacket p;
    p.src = *IpAddress::Parse("192.0.2.1");
    p.dst = *IpAddress::Parse("192.0.2.53");
    p.src_port = port;
    p.dst_port = 53;
    p.transport = Transport::kTcp;
    p.tcp_seq = 100 + static_cast<uint32_t>(from);
    p.payload = std::span<const uint8_t>(s).subspan(from, len);
    stream.OnSegment(port, p, out);
  };
  send(1, 0, 4);
  send(2, 0, 4);
  send(1, 4, 2);  // flow 1 is now the most recently used
  send(3, 0, 4);  // evicts flow 2
  EXPECT_EQ(stream.flow_count(), 2u);
  EXPECT_EQ(stream.counters().flows_evicted, 1u);
  EXPECT_EQ(stream.counters().incomplete_messages, 1u);
  send(1, 6, s.size() - 6);
  EXPECT_EQ(out.messages.size(), 1u);  // flow 1 survived
  send(2, 4, s.size() - 4);            // flow 2 restarts mid-message: garbage, not a crash
  EXPECT_EQ(stream.flow_count(), 2u);
}

TEST(TcpDnsStreamLimitsTest, BufferBudgetEvictsOtherFlows) {
  TcpDnsStream::Options o;
  o.max_buffered_bytes = 1000;
  TcpDnsStream stream(o);
  Collector out;
  const Bytes s = Framed({Message(1, 2000)});
  auto send = [&](uint16_t port, size_t from, size_t len) {
    DecodedPacket p;
    p.src = *IpAddress::Parse("2001:db8::1");
    p.dst = *IpAddress::Parse("2001:db8::53");
    p.src_port = port;
    p.dst_port = 53;
    p.transport = Transport::kTcp;
    p.tcp_seq = static_cast<uint32_t>(from);
    p.payload = std::span<const uint8_t>(s).subspan(from, len);
    stream.OnSegment(1, p, out);
  };
  send(1, 0, 600);
  send(2, 0, 600);  // 1200 > 1000: flow 1 goes
  EXPECT_EQ(stream.counters().flows_evicted, 1u);
  EXPECT_LE(stream.buffered_bytes(), 1000u);
  send(2, 600, 600);  // flow 2 alone exceeds the budget: dropped
  EXPECT_EQ(stream.flow_count(), 0u);
  EXPECT_EQ(stream.buffered_bytes(), 0u);
}

TEST(TcpDnsStreamLimitsTest, IdleFlowsExpire) {
  TcpDnsStream::Options o;
  o.idle_timeout_ns = 100;
  TcpDnsStream stream(o);
  Collector out;
  const Bytes s = Framed({Message(1, 10)});
  DecodedPacket p;
  p.src = *IpAddress::Parse("192.0.2.1");
  p.dst = *IpAddress::Parse("192.0.2.53");
  p.src_port = 1;
  p.dst_port = 53;
  p.transport = Transport::kTcp;
  p.payload = std::span<const uint8_t>(s).first(5);
  stream.OnSegment(1000, p, out);
  p.src_port = 2;
  stream.OnSegment(1050, p, out);
  stream.ExpireIdle(1100);  // flow 1 idle since 1000 = cutoff: kept
  EXPECT_EQ(stream.flow_count(), 2u);
  stream.ExpireIdle(1101);
  EXPECT_EQ(stream.flow_count(), 1u);
  EXPECT_EQ(stream.counters().flows_expired, 1u);
  EXPECT_EQ(stream.buffered_bytes(), 5u);
}

TEST(TcpDnsStreamFuzzishTest, RandomSegmentsKeepInvariants) {
  std::mt19937 rng(11);
  TcpDnsStream::Options o;
  o.max_flows = 8;
  o.max_buffered_bytes = 5000;
  TcpDnsStream stream(o);
  Collector out;
  Bytes data(4000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (int i = 0; i < 50000; ++i) {
    DecodedPacket p;
    p.src = *IpAddress::Parse("192.0.2.1");
    p.dst = *IpAddress::Parse("192.0.2.53");
    p.src_port = static_cast<uint16_t>(rng() % 12);
    p.dst_port = 53;
    p.transport = Transport::kTcp;
    p.tcp_flags = static_cast<uint8_t>(rng() % 8 == 0 ? rng() & 0x07 : 0x10);
    p.tcp_seq = static_cast<uint32_t>(rng() % 64);
    const size_t from = rng() % data.size();
    p.payload = std::span<const uint8_t>(data).subspan(from, rng() % (data.size() - from));
    stream.OnSegment(i, p, out);
    ASSERT_LE(stream.flow_count(), 8u);
    ASSERT_LE(stream.buffered_bytes(), 5000u);
    out.messages.clear();
  }
}

}  // namespace
}  // namespace dnsight
