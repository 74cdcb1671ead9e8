#include "ingest/dns_matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "unit/recording_sink.h"

namespace dnsight {
namespace {

using test_support::RecordingSink;

DnsMessageInfo Msg(uint16_t id, std::string_view qname, uint16_t qtype, bool qr, uint8_t rcode = 0,
                   uint32_t size = 40) {
  DnsMessageInfo m;
  m.id = id;
  m.qr = qr;
  m.rcode = rcode;
  m.qdcount = 1;
  m.has_question = true;
  std::memcpy(m.qname_buf, qname.data(), qname.size());
  m.qname_len = static_cast<uint16_t>(qname.size());
  m.qtype = qtype;
  m.qclass = 1;
  m.size = size;
  if (qr) {
    m.ancount = 2;
    m.min_answer_ttl = 300;
    m.answers_complete = true;
  }
  return m;
}

const IpAddress kClient = *IpAddress::Parse("192.0.2.10");
const IpAddress kServer = *IpAddress::Parse("2001:db8::53");
constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kMs = 1'000'000;

class DnsMatcherTest : public ::testing::Test {
 protected:
  void Query(int64_t t, uint16_t id, std::string_view qname, uint16_t qtype = 1,
             uint16_t port = 40000) {
    matcher_.OnQuery(t, kClient, port, kServer, 53, Transport::kUdp, Msg(id, qname, qtype, false));
  }
  void Response(int64_t t, uint16_t id, std::string_view qname, uint16_t qtype = 1,
                uint8_t rcode = 0, uint16_t port = 40000) {
    matcher_.OnResponse(t, kClient, port, kServer, 53, Transport::kUdp,
                        Msg(id, qname, qtype, true, rcode, 120));
  }

  DnsTransactionMatcher::Options options_;
  RecordingSink sink_;
  DnsTransactionMatcher matcher_{options_, sink_};
};

TEST_F(DnsMatcherTest, MatchesQueryWithResponse) {
  Query(kT0, 7, "www.example.com", 28);
  EXPECT_TRUE(sink_.seen.empty());
  Response(kT0 + 3 * kMs, 7, "www.example.com", 28, 3);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const auto& o = sink_.seen[0].obs;
  EXPECT_EQ(o.query_time_ns, kT0);
  EXPECT_EQ(o.response_time_ns, kT0 + 3 * kMs);
  EXPECT_EQ(o.client, kClient);
  EXPECT_EQ(o.server, kServer);
  EXPECT_EQ(o.client_port, 40000);
  EXPECT_EQ(o.server_port, 53);
  EXPECT_EQ(o.transport, Transport::kUdp);
  EXPECT_EQ(sink_.seen[0].qname, "www.example.com");
  EXPECT_EQ(o.qtype, 28);
  EXPECT_EQ(o.qclass, 1);
  EXPECT_EQ(o.rcode, 3);
  EXPECT_EQ(o.query_size, 40u);
  EXPECT_EQ(o.response_size, 120u);
  EXPECT_EQ(o.answer_count, 2);
  EXPECT_EQ(o.min_ttl, 300);
  EXPECT_EQ(matcher_.counters().matched, 1u);
  matcher_.Flush();
  EXPECT_EQ(sink_.seen.size(), 1u);
}

TEST_F(DnsMatcherTest, QnameMatchIgnoresCase) {
  Query(kT0, 1, "WwW.ExAmple.COM");
  Response(kT0 + kMs, 1, "www.example.com");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0);
  EXPECT_EQ(sink_.seen[0].qname, "WwW.ExAmple.COM");  // the query's spelling
}

TEST_F(DnsMatcherTest, EveryKeyFieldMustMatch) {
  Query(kT0, 1, "a.example", 1, 40000);
  Response(kT0 + kMs, 2, "a.example", 1, 0, 40000);   // other id
  Response(kT0 + kMs, 1, "b.example", 1, 0, 40000);   // other qname
  Response(kT0 + kMs, 1, "a.example", 28, 0, 40000);  // other qtype
  Response(kT0 + kMs, 1, "a.example", 1, 0, 40001);   // other client port
  matcher_.OnResponse(kT0 + kMs, kClient, 40000, kServer, 53, Transport::kTcp,
                      Msg(1, "a.example", 1, true));  // other transport
  matcher_.OnResponse(kT0 + kMs, *IpAddress::Parse("192.0.2.11"), 40000, kServer, 53,
                      Transport::kUdp, Msg(1, "a.example", 1, true));  // other client
  EXPECT_EQ(matcher_.counters().unmatched_responses, 6u);
  EXPECT_EQ(matcher_.counters().matched, 0u);
  for (const auto& s : sink_.seen) {
    EXPECT_EQ(s.obs.query_time_ns, -1);
    EXPECT_GE(s.obs.response_time_ns, 0);
  }
  Response(kT0 + 2 * kMs, 1, "a.example");
  EXPECT_EQ(matcher_.counters().matched, 1u);
}

TEST_F(DnsMatcherTest, TimeoutEmitsUnanswered) {
  Query(kT0, 1, "slow.example");
  matcher_.Expire(kT0 + options_.timeout_ns);  // not yet: pending since exactly the cutoff
  EXPECT_TRUE(sink_.seen.empty());
  matcher_.Expire(kT0 + options_.timeout_ns + 1);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const auto& o = sink_.seen[0].obs;
  EXPECT_EQ(o.rcode, -1);
  EXPECT_EQ(o.query_time_ns, kT0);
  EXPECT_EQ(o.response_time_ns, -1);
  EXPECT_EQ(o.response_size, 0u);
  EXPECT_EQ(o.min_ttl, -1);
  EXPECT_EQ(matcher_.counters().unanswered, 1u);
  // The late response no longer has a query to pair with.
  Response(kT0 + options_.timeout_ns + 2, 1, "slow.example");
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[1].obs.query_time_ns, -1);
  EXPECT_EQ(matcher_.counters().unmatched_responses, 1u);
}

TEST_F(DnsMatcherTest, ExpireKeepsRecentQueries) {
  Query(kT0, 1, "old.example");
  Query(kT0 + 4000 * kMs, 2, "new.example");
  matcher_.Expire(kT0 + 5001 * kMs);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].qname, "old.example");
  Response(kT0 + 5002 * kMs, 2, "new.example");
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[1].obs.query_time_ns, kT0 + 4000 * kMs);
}

TEST_F(DnsMatcherTest, UnmatchedResponseIsEmittedAlone) {
  Response(kT0, 99, "orphan.example", 1, 2);
  ASSERT_EQ(sink_.seen.size(), 1u);
  const auto& o = sink_.seen[0].obs;
  EXPECT_EQ(o.query_time_ns, -1);
  EXPECT_EQ(o.response_time_ns, kT0);
  EXPECT_EQ(o.rcode, 2);
  EXPECT_EQ(o.query_size, 0u);
  EXPECT_EQ(sink_.seen[0].qname, "orphan.example");
}

TEST_F(DnsMatcherTest, FlushEmitsPendingOldestFirst) {
  Query(kT0, 1, "one.example");
  Query(kT0 + 1, 2, "two.example");
  Query(kT0 + 2, 3, "three.example");
  Response(kT0 + 3, 2, "two.example");
  matcher_.Flush();
  ASSERT_EQ(sink_.seen.size(), 3u);
  EXPECT_EQ(sink_.seen[1].qname, "one.example");
  EXPECT_EQ(sink_.seen[2].qname, "three.example");
  EXPECT_EQ(matcher_.counters().unanswered, 2u);
}

TEST_F(DnsMatcherTest, RetransmittedQueriesMatchInOrder) {
  Query(kT0, 5, "retry.example");
  Query(kT0 + 1000 * kMs, 5, "retry.example");
  Response(kT0 + 1001 * kMs, 5, "retry.example");
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0);
  Response(kT0 + 1002 * kMs, 5, "retry.example");
  ASSERT_EQ(sink_.seen.size(), 2u);
  EXPECT_EQ(sink_.seen[1].obs.query_time_ns, kT0 + 1000 * kMs);
}

TEST_F(DnsMatcherTest, KnownQueryTimeSkipsLookup) {
  matcher_.OnResponse(kT0 + 9 * kMs, kClient, 1, kServer, 53, Transport::kUdp,
                      Msg(1, "dnstap.example", 1, true), kT0);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].obs.query_time_ns, kT0);
  EXPECT_EQ(sink_.seen[0].obs.response_time_ns, kT0 + 9 * kMs);
  EXPECT_EQ(matcher_.counters().matched, 1u);
}

TEST(DnsMatcherOverflowTest, OldestIsEvictedWhenFull) {
  RecordingSink sink;
  DnsTransactionMatcher::Options o;
  o.max_pending = 2;
  DnsTransactionMatcher m(o, sink);
  for (uint16_t id = 1; id <= 3; ++id)
    m.OnQuery(kT0 + id, kClient, 1000, kServer, 53, Transport::kUdp,
              Msg(id, "q" + std::to_string(id), 1, false));
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].qname, "q1");
  EXPECT_EQ(sink.seen[0].obs.rcode, -1);
  EXPECT_EQ(m.counters().pending_overflow, 1u);
  EXPECT_EQ(m.counters().unanswered, 1u);  // overflow evictions are unanswered too
  m.OnResponse(kT0 + 10, kClient, 1000, kServer, 53, Transport::kUdp, Msg(3, "q3", 1, true));
  EXPECT_EQ(m.counters().matched, 1u);
  m.Flush();
  EXPECT_EQ(sink.seen.size(), 3u);
}

TEST(DnsMatcherOverflowTest, ZeroCapacityEmitsAtOnce) {
  RecordingSink sink;
  DnsTransactionMatcher::Options o;
  o.max_pending = 0;
  DnsTransactionMatcher m(o, sink);
  m.OnQuery(kT0, kClient, 1000, kServer, 53, Transport::kUdp, Msg(1, "z.example", 1, false));
  ASSERT_EQ(sink.seen.size(), 1u);
  EXPECT_EQ(sink.seen[0].qname, "z.example");
  EXPECT_EQ(sink.seen[0].obs.rcode, -1);
  EXPECT_EQ(m.counters().pending_overflow, 1u);
}

// Many transactions answered in random order: every one is matched with its own query,
// through table growth and slot reuse.
TEST(DnsMatcherScaleTest, ManyTransactionsInRandomOrder) {
  RecordingSink sink;
  DnsTransactionMatcher m({}, sink);
  constexpr int kN = 20000;
  std::vector<int> order(kN);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kN; ++i) {
      m.OnQuery(kT0 + i, kClient, static_cast<uint16_t>(1024 + i % 50000), kServer, 53,
                Transport::kUdp,
                Msg(static_cast<uint16_t>(i), "n" + std::to_string(i) + ".example", 1, false));
      order[i] = i;
    }
    std::shuffle(order.begin(), order.end(), std::mt19937(round));
    for (int i : order)
      m.OnResponse(kT0 + kN + i, kClient, static_cast<uint16_t>(1024 + i % 50000), kServer, 53,
                   Transport::kUdp,
                   Msg(static_cast<uint16_t>(i), "N" + std::to_string(i) + ".EXAMPLE", 1, true));
  }
  EXPECT_EQ(m.counters().matched, 2u * kN);
  EXPECT_EQ(m.counters().unmatched_responses, 0u);
  for (const auto& s : sink.seen) {
    const int i = std::stoi(s.qname.substr(1));
    EXPECT_EQ(s.obs.query_time_ns, kT0 + i);
    EXPECT_EQ(s.obs.response_time_ns, kT0 + kN + i);
  }
  m.Flush();
  EXPECT_EQ(m.counters().unanswered, 0u);
}

}  // namespace
}  // namespace dnsight
