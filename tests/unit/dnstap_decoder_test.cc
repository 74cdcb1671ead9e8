// DnstapDecoder: dnstap protobufs built with the generated classes around hand-built DNS
// messages, checked field by field; then corruption of every kind the decoder names.
#include "ingest/dnstap_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dnstap.pb.h"
#include "unit/recording_sink.h"

namespace dnsight {
namespace {

using test_support::RecordingSink;

// --- DNS wire builders -------------------------------------------------------------

void Put16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}

void Put32(std::string* s, uint32_t v) {
  Put16(s, static_cast<uint16_t>(v >> 16));
  Put16(s, static_cast<uint16_t>(v));
}

void PutName(std::string* s, std::string_view dotted) {
  while (!dotted.empty()) {
    const size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    s->push_back(static_cast<char>(label.size()));
    s->append(label);
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  s->push_back('\0');
}

std::string DnsQuery(uint16_t id, std::string_view qname, uint16_t qtype) {
  std::string s;
  Put16(&s, id);
  Put16(&s, 0x0100);  // RD
  Put16(&s, 1);
  Put16(&s, 0);
  Put16(&s, 0);
  Put16(&s, 0);
  PutName(&s, qname);
  Put16(&s, qtype);
  Put16(&s, 1);
  return s;
}

// A response with `answers` A records (TTLs ttl, ttl+1, ...).
std::string DnsResponse(uint16_t id, std::string_view qname, uint16_t qtype, uint8_t rcode,
                        int answers, uint32_t ttl) {
  std::string s;
  Put16(&s, id);
  Put16(&s, static_cast<uint16_t>(0x8180 | rcode));  // QR RD RA
  Put16(&s, 1);
  Put16(&s, static_cast<uint16_t>(answers));
  Put16(&s, 0);
  Put16(&s, 0);
  PutName(&s, qname);
  Put16(&s, qtype);
  Put16(&s, 1);
  for (int i = 0; i < answers; ++i) {
    Put16(&s, 0xc00c);
    Put16(&s, 1);
    Put16(&s, 1);
    Put32(&s, ttl + static_cast<uint32_t>(i));
    Put16(&s, 4);
    s += std::string("\xc0\x00\x02", 3) + static_cast<char>(i + 1);
  }
  return s;
}

// --- dnstap builders ---------------------------------------------------------------

constexpr int64_t kT0 = 1'700'000'000'123'456'789;

const std::string kClient4("\xc0\x00\x02\x0a", 4);  // 192.0.2.10
const std::string kServer4("\xc6\x33\x64\x01", 4);  // 198.51.100.1
const std::string kClient6 = std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x05";
const std::string kServer6 = std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x35";

struct Tap {
  dnstap::Message::Type type = dnstap::Message::CLIENT_QUERY;
  dnstap::SocketFamily family = dnstap::INET;
  dnstap::SocketProtocol protocol = dnstap::UDP;
  std::string client = kClient4;
  std::string server = kServer4;
  uint32_t client_port = 53000;
  uint32_t server_port = 53;
  int64_t query_time = -1;
  int64_t response_time = -1;
  std::string wire;
};

dnstap::Dnstap Build(const Tap& t) {
  dnstap::Dnstap d;
  d.set_type(dnstap::Dnstap::MESSAGE);
  d.set_identity("test-server");
  dnstap::Message* m = d.mutable_message();
  m->set_type(t.type);
  m->set_socket_family(t.family);
  m->set_socket_protocol(t.protocol);
  m->set_query_address(t.client);
  m->set_response_address(t.server);
  m->set_query_port(t.client_port);
  m->set_response_port(t.server_port);
  if (t.query_time >= 0) {
    m->set_query_time_sec(static_cast<uint64_t>(t.query_time / 1'000'000'000));
    m->set_query_time_nsec(static_cast<uint32_t>(t.query_time % 1'000'000'000));
  }
  if (t.response_time >= 0) {
    m->set_response_time_sec(static_cast<uint64_t>(t.response_time / 1'000'000'000));
    m->set_response_time_nsec(static_cast<uint32_t>(t.response_time % 1'000'000'000));
  }
  if (t.type % 2 == 1) {
    m->set_query_message(t.wire);
  } else {
    m->set_response_message(t.wire);
  }
  return d;
}

std::string Serialize(const dnstap::Dnstap& d) {
  std::string out;
  EXPECT_TRUE(d.SerializePartialToString(&out));
  return out;
}

Tap Query(uint16_t id, std::string_view qname, uint16_t qtype, int64_t t) {
  Tap tap;
  tap.type = dnstap::Message::CLIENT_QUERY;
  tap.query_time = t;
  tap.wire = DnsQuery(id, qname, qtype);
  return tap;
}

Tap Response(uint16_t id, std::string_view qname, uint16_t qtype, uint8_t rcode, int64_t t) {
  Tap tap;
  tap.type = dnstap::Message::CLIENT_RESPONSE;
  tap.response_time = t;
  tap.wire = DnsResponse(id, qname, qtype, rcode, rcode == 0 ? 2 : 0, 300);
  return tap;
}

class DnstapDecoderTest : public ::testing::Test {
 protected:
  bool Decode(const std::string& bytes) {
    return decoder_->Decode({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  }
  bool Decode(const Tap& tap) { return Decode(Serialize(Build(tap))); }
  void Reset(DnstapDecoder::Options o) {
    decoder_.reset();
    sink_.Clear();
    decoder_ = std::make_unique<DnstapDecoder>(o, sink_);
  }
  // Decodes bytes expected to be rejected; returns the reason token.
  std::string Rejected(const std::string& bytes) {
    const size_t before = sink_.malformed.size();
    EXPECT_FALSE(Decode(bytes));
    if (sink_.malformed.size() != before + 1) return "not reported";
    return sink_.malformed.back();
  }
  std::string Rejected(const dnstap::Dnstap& d) { return Rejected(Serialize(d)); }

  RecordingSink sink_;
  std::unique_ptr<DnstapDecoder> decoder_ =
      std::make_unique<DnstapDecoder>(DnstapDecoder::Options{}, sink_);
};

TEST_F(DnstapDecoderTest, MatchesClientQueryAndResponseV4) {
  ASSERT_TRUE(Decode(Query(0x1234, "www.Example.com", 1, kT0)));
  EXPECT_TRUE(sink_.seen.empty());
  ASSERT_TRUE(Decode(Response(0x1234, "www.Example.com", 1, 0, kT0 + 1'234'567)));
  ASSERT_EQ(sink_.seen.size(), 1u);
  const RawDnsObservation& o = sink_.seen[0].obs;
  EXPECT_EQ(sink_.seen[0].qname, "www.Example.com");
  EXPECT_EQ(o.query_time_ns, kT0);
  EXPECT_EQ(o.response_time_ns, kT0 + 1'234'567);
  EXPECT_EQ(o.response_time_ns - o.query_time_ns, 1'234'567);
  EXPECT_EQ(o.qtype, 1);
  EXPECT_EQ(o.qclass, 1);
  EXPECT_EQ(o.rcode, 0);
  EXPECT_EQ(o.answer_count, 2);
  EXPECT_EQ(o.min_ttl, 300);
  EXPECT_EQ(o.client.ToString(), "192.0.2.10");
  EXPECT_EQ(o.server.ToString(), "198.51.100.1");
  EXPECT_EQ(o.client_port, 53000);
  EXPECT_EQ(o.server_port, 53);
  EXPECT_EQ(o.transport, Transport::kUdp);
  EXPECT_EQ(o.query_size, DnsQuery(0x1234, "www.Example.com", 1).size());
  EXPECT_GT(o.response_size, o.query_size);
  EXPECT_TRUE(sink_.malformed.empty());
  const DnstapDecoderCounters& c = decoder_->counters();
  EXPECT_EQ(c.frames, 2u);
  EXPECT_EQ(c.queries, 1u);
  EXPECT_EQ(c.responses, 1u);
  EXPECT_EQ(c.by_message_type[5], 1u);
  EXPECT_EQ(c.by_message_type[6], 1u);
  EXPECT_EQ(c.malformed_total(), 0u);
  EXPECT_EQ(decoder_->matcher_counters().matched, 1u);
  EXPECT_EQ(decoder_->latest_time_ns(), kT0 + 1'234'567);
}

TEST_F(DnstapDecoderTest, MatchesV6TcpNxdomain) {
  Tap q = Query(7, "nope.example.org", 28, kT0);
  Tap r = Response(7, "nope.example.org", 28, 3, kT0 + 50'000);
  for (Tap* t : {&q, &r}) {
    t->family = dnstap::INET6;
    t->protocol = dnstap::TCP;
    t->client = kClient6;
    t->server = kServer6;
    t->client_port = 40000;
    t->server_port = 853;
  }
  ASSERT_TRUE(Decode(q));
  ASSERT_TRUE(Decode(r));
  ASSERT_EQ(sink_.seen.size(), 1u);
  const RawDnsObservation& o = sink_.seen[0].obs;
  EXPECT_EQ(o.client.family, IpFamily::kV6);
  EXPECT_EQ(o.client.ToString(), "2001:db8::5");
  EXPECT_EQ(o.server.ToString(), "2001:db8::35");
  EXPECT_EQ(o.client_port, 40000);
  EXPECT_EQ(o.server_port, 853);
  EXPECT_EQ(o.transport, Transport::kTcp);
  EXPECT_EQ(o.rcode, 3);
  EXPECT_EQ(o.qtype, 28);
  EXPECT_EQ(o.answer_count, 0);
  EXPECT_EQ(o.min_ttl, -1);
  EXPECT_EQ(o.response_time_ns - o.query_time_ns, 50'000);
}

TEST_F(DnstapDecoderTest, TransportFromSocketProtocol) {
  const std::pair<dnstap::SocketProtocol, Transport> cases[] = {
      {dnstap::UDP, Transport::kUdp},         {dnstap::TCP, Transport::kTcp},
      {dnstap::DOT, Transport::kDot},         {dnstap::DOH, Transport::kDoh},
      {dnstap::DNSCryptUDP, Transport::kUdp}, {dnstap::DNSCryptTCP, Transport::kTcp},
      {dnstap::DOQ, Transport::kUnknown},
  };
  for (const auto& [protocol, transport] : cases) {
    Tap r = Response(1, "a.example", 1, 0, kT0);
    r.protocol = protocol;
    ASSERT_TRUE(Decode(r));
    EXPECT_EQ(sink_.seen.back().obs.transport, transport) << protocol;
  }
  dnstap::Dnstap d = Build(Response(1, "a.example", 1, 0, kT0));
  d.mutable_message()->clear_socket_protocol();
  ASSERT_TRUE(Decode(Serialize(d)));
  EXPECT_EQ(sink_.seen.back().obs.transport, Transport::kUnknown);
}

TEST_F(DnstapDecoderTest, UnansweredQueriesAreFlushedAndExpired) {
  DnstapDecoder::Options o;
  o.matcher.timeout_ns = 1'000'000'000;
  o.expire_interval_ns = 1;
  Reset(o);
  ASSERT_TRUE(Decode(Query(1, "lost.example", 1, kT0)));
  ASSERT_TRUE(Decode(Query(2, "later.example", 1, kT0 + 500'000'000)));
  EXPECT_TRUE(sink_.seen.empty());
  // Event time passes the timeout of the first query only.
  ASSERT_TRUE(Decode(Query(3, "much-later.example", 1, kT0 + 1'200'000'000)));
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].qname, "lost.example");
  EXPECT_EQ(sink_.seen[0].obs.rcode, -1);
  decoder_->Flush();
  EXPECT_EQ(sink_.seen.size(), 3u);
  EXPECT_EQ(decoder_->matcher_counters().unanswered, 3u);
}

TEST_F(DnstapDecoderTest, ResponseQueryTimeIsAHintOnlyWhenQueriesAreNotIngested) {
  // Responses only: the response's own query time gives the latency.
  DnstapDecoder::Options o;
  o.message_types = DnstapTypeBit(DnstapMessageType::kClientResponse);
  Reset(o);
  Tap r = Response(9, "hint.example", 1, 0, kT0 + 777);
  r.query_time = kT0;
  ASSERT_TRUE(Decode(Query(9, "hint.example", 1, kT0)));  // filtered
  ASSERT_TRUE(Decode(r));
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0);
  EXPECT_EQ(sink_.seen[0].obs.response_time_ns, kT0 + 777);
  EXPECT_EQ(decoder_->counters().filtered, 1u);
  decoder_->Flush();
  EXPECT_EQ(sink_.seen.size(), 1u);

  // Both ingested: the matcher pairs them, and nothing is left pending to be emitted again.
  Reset(DnstapDecoder::Options{});
  ASSERT_TRUE(Decode(Query(9, "hint.example", 1, kT0 + 5)));
  ASSERT_TRUE(Decode(r));
  decoder_->Flush();
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0 + 5);
  EXPECT_EQ(decoder_->matcher_counters().matched, 1u);
  EXPECT_EQ(decoder_->matcher_counters().unanswered, 0u);
}

TEST_F(DnstapDecoderTest, MessageTypeSelection) {
  Tap rq = Query(1, "x.example", 1, kT0);
  rq.type = dnstap::Message::RESOLVER_QUERY;
  Tap aq = Query(2, "y.example", 1, kT0);
  aq.type = dnstap::Message::AUTH_QUERY;
  ASSERT_TRUE(Decode(rq));
  ASSERT_TRUE(Decode(aq));
  EXPECT_EQ(decoder_->counters().filtered, 2u);
  EXPECT_EQ(decoder_->counters().by_message_type[3], 1u);
  EXPECT_EQ(decoder_->counters().by_message_type[1], 1u);
  EXPECT_EQ(decoder_->counters().queries, 0u);

  DnstapDecoder::Options o;
  o.message_types = kDnstapAuthTypes | kDnstapResolverTypes;
  Reset(o);
  ASSERT_TRUE(Decode(rq));
  ASSERT_TRUE(Decode(aq));
  ASSERT_TRUE(Decode(Query(3, "client.example", 1, kT0)));
  EXPECT_EQ(decoder_->counters().queries, 2u);
  EXPECT_EQ(decoder_->counters().filtered, 1u);
  decoder_->Flush();
  EXPECT_EQ(sink_.seen.size(), 2u);
}

TEST(DnstapTypeSetTest, Parse) {
  EXPECT_EQ(ParseDnstapTypeSet("client").value(), kDnstapClientTypes);
  EXPECT_EQ(ParseDnstapTypeSet("auth, resolver").value(), kDnstapAuthTypes | kDnstapResolverTypes);
  EXPECT_EQ(ParseDnstapTypeSet("ALL").value(), kDnstapAllTypes);
  EXPECT_EQ(ParseDnstapTypeSet("client_query,FORWARDER_RESPONSE").value(),
            DnstapTypeBit(DnstapMessageType::kClientQuery) |
                DnstapTypeBit(DnstapMessageType::kForwarderResponse));
  EXPECT_FALSE(ParseDnstapTypeSet("").ok());
  EXPECT_FALSE(ParseDnstapTypeSet("client,").ok());
  EXPECT_FALSE(ParseDnstapTypeSet("bogus").ok());
  EXPECT_EQ(DnstapMessageTypeName(6), "CLIENT_RESPONSE");
  EXPECT_EQ(DnstapMessageTypeName(15), "UNKNOWN");
  for (int t = 1; t <= kDnstapMaxMessageType; ++t) {
    EXPECT_EQ(ParseDnstapTypeSet(DnstapMessageTypeName(t)).value(), DnstapTypeMask{1} << t);
    EXPECT_EQ(DnstapMessageTypeName(t),
              dnstap::Message::Type_Name(static_cast<dnstap::Message::Type>(t)));
  }
}

TEST_F(DnstapDecoderTest, GarbageIsBadProtobuf) {
  EXPECT_EQ(Rejected(std::string("\xff\xff\xff\xff\xff", 5)), "bad_protobuf");
  EXPECT_EQ(Rejected(std::string("\x72\x10\x08", 3)), "bad_protobuf");  // length past the end
  EXPECT_EQ(decoder_->counters().malformed[static_cast<size_t>(DnstapMalformed::kBadProtobuf)], 2u);
}

TEST_F(DnstapDecoderTest, MissingFields) {
  EXPECT_EQ(Rejected(std::string()), "missing_message");
  dnstap::Dnstap d;
  d.set_type(dnstap::Dnstap::MESSAGE);
  EXPECT_EQ(Rejected(d), "missing_message");

  d = Build(Query(1, "a.example", 1, kT0));
  d.mutable_message()->clear_type();
  EXPECT_EQ(Rejected(d), "bad_message_type");
  // Message { type: 99 } (an unknown enum value), Dnstap.type = MESSAGE.
  EXPECT_EQ(Rejected(std::string("\x72\x02\x08\x63\x78\x01", 6)), "bad_message_type");

  d = Build(Query(1, "a.example", 1, kT0));
  d.mutable_message()->clear_query_message();
  EXPECT_EQ(Rejected(d), "missing_dns_message");
  d = Build(Response(1, "a.example", 1, 0, kT0));
  d.mutable_message()->clear_response_message();
  d.mutable_message()->set_query_message(DnsQuery(1, "a.example", 1));  // wrong side
  EXPECT_EQ(Rejected(d), "missing_dns_message");

  d = Build(Query(1, "a.example", 1, kT0));
  d.mutable_message()->clear_query_time_sec();
  d.mutable_message()->clear_query_time_nsec();
  EXPECT_EQ(Rejected(d), "missing_time");

  // Dnstap.type is left out but the message is there: taken.
  d = Build(Query(1, "a.example", 1, kT0));
  d.clear_type();
  EXPECT_TRUE(Decode(Serialize(d)));
  // No addresses at all: taken, with empty addresses.
  d = Build(Response(1, "a.example", 1, 0, kT0));
  d.mutable_message()->clear_query_address();
  d.mutable_message()->clear_response_address();
  d.mutable_message()->clear_socket_family();
  ASSERT_TRUE(Decode(Serialize(d)));
  EXPECT_TRUE(sink_.seen.back().obs.client.empty());
}

TEST_F(DnstapDecoderTest, BadAddressesPortsAndTimes) {
  Tap t = Query(1, "a.example", 1, kT0);
  t.client = "\x01\x02\x03\x04\x05";
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_address_length");
  t = Query(1, "a.example", 1, kT0);
  t.server = "";
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_address_length");
  t = Query(1, "a.example", 1, kT0);
  t.client = kClient6;  // 16 bytes with family INET
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_address_length");
  t.family = dnstap::INET6;  // now the server (4 bytes) disagrees
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_address_length");

  dnstap::Dnstap d = Build(Query(1, "a.example", 1, kT0));
  d.mutable_message()->clear_socket_family();
  d.mutable_message()->set_response_address(kServer6);  // mixed, but each length is valid
  EXPECT_TRUE(Decode(Serialize(d)));

  t = Query(1, "a.example", 1, kT0);
  t.client_port = 65536;
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_port");

  d = Build(Query(1, "a.example", 1, kT0));
  d.mutable_message()->set_query_time_nsec(1'000'000'000);
  EXPECT_EQ(Rejected(d), "bad_time");
  d.mutable_message()->set_query_time_nsec(0);
  d.mutable_message()->set_query_time_sec(UINT64_MAX);
  EXPECT_EQ(Rejected(d), "bad_time");
}

TEST_F(DnstapDecoderTest, BadDnsWireReportsTheWireBytes) {
  Tap t = Query(1, "a.example", 1, kT0);
  t.wire = std::string("\x01\x02\x03", 3);
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_dns_message");
  EXPECT_EQ(sink_.samples.back(), t.wire);
  t.wire = DnsQuery(1, "a.example", 1);
  t.wire.resize(t.wire.size() - 3);  // truncated question
  EXPECT_EQ(Rejected(Serialize(Build(t))), "bad_dns_message");
  EXPECT_EQ(decoder_->counters().malformed[static_cast<size_t>(DnstapMalformed::kBadDnsMessage)],
            2u);
  EXPECT_TRUE(sink_.seen.empty());
}

TEST_F(DnstapDecoderTest, TruncationAndBitFlipsNeverCrash) {
  const std::string good = Serialize(Build(Response(5, "flip.example", 1, 0, kT0)));
  for (size_t cut = 0; cut < good.size(); ++cut) Decode(good.substr(0, cut));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      Decode(bad);
    }
  }
  const DnstapDecoderCounters& c = decoder_->counters();
  EXPECT_EQ(c.frames, good.size() * 9);
  // Every frame is either malformed, filtered or ingested.
  EXPECT_EQ(c.malformed_total() + c.filtered + c.queries + c.responses, c.frames);
  EXPECT_EQ(sink_.malformed.size(), c.malformed_total());
}

TEST_F(DnstapDecoderTest, ReusesTheMessageAcrossFrames) {
  // Fields of one frame must not leak into the next (Clear() between frames).
  DnstapDecoder::Options o;
  o.message_types = DnstapTypeBit(DnstapMessageType::kClientResponse);
  Reset(o);
  Tap with_times = Response(1, "a.example", 1, 0, kT0);
  with_times.query_time = kT0 - 10;
  ASSERT_TRUE(Decode(with_times));
  dnstap::Dnstap bare = Build(Response(2, "b.example", 1, 0, kT0 + 1));
  bare.mutable_message()->clear_query_address();
  bare.mutable_message()->clear_socket_family();
  ASSERT_TRUE(Decode(Serialize(bare)));
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0 - 10);
  EXPECT_TRUE(sink_.seen[1].obs.client.empty());
  EXPECT_EQ(sink_.seen[1].obs.query_time_ns, -1);
}

}  // namespace
}  // namespace dnsight
