#include "dnsight/dns_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
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
void Header(Bytes& b, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
            uint16_t ar) {
  for (uint16_t v : {id, flags, qd, an, ns, ar}) U16(b, v);
}
// Dotted text to wire labels, root label included. No escapes: test names are plain.
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
void Pointer(Bytes& b, uint16_t offset) {
  U16(b, static_cast<uint16_t>(0xC000 | offset));
}
void Question(Bytes& b, std::string_view name, uint16_t qtype, uint16_t qclass = 1) {
  Name(b, name);
  U16(b, qtype);
  U16(b, qclass);
}
// A record whose owner name is a pointer to `owner`, with 4 bytes of rdata.
void ARecord(Bytes& b, uint16_t owner, uint32_t ttl) {
  Pointer(b, owner);
  U16(b, 1);
  U16(b, 1);
  U32(b, ttl);
  U16(b, 4);
  for (uint8_t x : {192, 0, 2, 1}) b.push_back(x);
}

Bytes Query(uint16_t id, std::string_view qname, uint16_t qtype) {
  Bytes b;
  Header(b, id, 0x0100, 1, 0, 0, 0);
  Question(b, qname, qtype);
  return b;
}

// www.example.com A, three answers with TTLs 300, 60, 3600 (owner compressed to the
// question), one authority NS record, and an EDNS OPT record.
Bytes Response() {
  Bytes b;
  Header(b, 0xBEEF, 0x8580, 1, 3, 1, 1);
  Question(b, "www.example.com", 1);
  ARecord(b, 12, 300);
  ARecord(b, 12, 60);
  ARecord(b, 12, 3600);
  // Authority: example.com NS ns1.example.com, owner points into the question.
  Pointer(b, 16);
  U16(b, 2);
  U16(b, 1);
  U32(b, 86400);
  Bytes rdata;
  rdata.push_back(3);
  rdata.insert(rdata.end(), {'n', 's', '1'});
  Pointer(rdata, 16);
  U16(b, static_cast<uint16_t>(rdata.size()));
  b.insert(b.end(), rdata.begin(), rdata.end());
  // OPT: root owner, type 41, class = UDP size, TTL = ext-rcode/version/flags.
  b.push_back(0);
  U16(b, 41);
  U16(b, 1232);
  U32(b, 0);
  U16(b, 0);
  return b;
}

Result<DnsMessageInfo> Parse(const Bytes& b) {
  return ParseDnsMessage(std::span(b));
}

std::string Reason(const Bytes& b) {
  auto r = Parse(b);
  return r.ok() ? "ok" : std::string(DnsParseReason(r.status()));
}

TEST(DnsWireTest, ParsesQuery) {
  const Bytes q = Query(0x1234, "www.Example.com", 28);
  auto r = Parse(q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->id, 0x1234);
  EXPECT_FALSE(r->qr);
  EXPECT_TRUE(r->rd);
  EXPECT_FALSE(r->aa);
  EXPECT_EQ(r->opcode, 0);
  EXPECT_EQ(r->rcode, 0);
  EXPECT_EQ(r->qdcount, 1);
  EXPECT_EQ(r->ancount, 0);
  EXPECT_TRUE(r->has_question);
  EXPECT_EQ(r->qname(), "www.Example.com");  // case preserved
  EXPECT_EQ(r->qtype, 28);
  EXPECT_EQ(r->qclass, 1);
  EXPECT_EQ(r->min_answer_ttl, -1);
  EXPECT_TRUE(r->answers_complete);
  EXPECT_EQ(r->size, q.size());
}

TEST(DnsWireTest, ParsesResponseWithAnswersAndMinTtl) {
  const Bytes m = Response();
  auto r = Parse(m);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->qr);
  EXPECT_TRUE(r->aa);
  EXPECT_TRUE(r->rd);
  EXPECT_TRUE(r->ra);
  EXPECT_EQ(r->id, 0xBEEF);
  EXPECT_EQ(r->ancount, 3);
  EXPECT_EQ(r->nscount, 1);
  EXPECT_EQ(r->arcount, 1);
  EXPECT_EQ(r->qname(), "www.example.com");
  EXPECT_TRUE(r->answers_complete);
  EXPECT_EQ(r->min_answer_ttl, 60);
  EXPECT_EQ(r->rcode, 0);
}

TEST(DnsWireTest, RootQname) {
  Bytes b;
  Header(b, 1, 0, 1, 0, 0, 0);
  Question(b, "", 2);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_question);
  EXPECT_EQ(r->qname(), "");
  EXPECT_EQ(r->qtype, 2);
}

TEST(DnsWireTest, EscapesNonPrintableDotAndBackslash) {
  Bytes b;
  Header(b, 1, 0, 1, 0, 0, 0);
  const Bytes label = {'a', '.', 'b', '\\', ' ', 0x00, 0xFF, '~', '!', 'Z'};
  b.push_back(static_cast<uint8_t>(label.size()));
  b.insert(b.end(), label.begin(), label.end());
  b.push_back(3);
  b.insert(b.end(), {'c', 'o', 'm', 0});
  U16(b, 16);
  U16(b, 1);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->qname(), "a\\046b\\092\\032\\000\\255~!Z.com");
}

TEST(DnsWireTest, CompressionChainsInAnswers) {
  Bytes b;
  Header(b, 7, 0x8180, 1, 2, 0, 0);
  Question(b, "example.com", 15);  // name at 12
  // Answer 1 owner: "mail" + pointer to 12; answer 2 owner: pointer to answer 1's owner.
  const uint16_t first_owner = static_cast<uint16_t>(b.size());
  b.push_back(4);
  b.insert(b.end(), {'m', 'a', 'i', 'l'});
  Pointer(b, 12);
  U16(b, 1);
  U16(b, 1);
  U32(b, 120);
  U16(b, 4);
  b.insert(b.end(), {1, 2, 3, 4});
  ARecord(b, first_owner, 30);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->answers_complete);
  EXPECT_EQ(r->min_answer_ttl, 30);
}

TEST(DnsWireTest, QdcountZeroHasNoQuestion) {
  Bytes b;
  Header(b, 9, 0x8000 | 0x2800 /* opcode 5 */, 0, 0, 0, 0);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_question);
  EXPECT_EQ(r->qname(), "");
  EXPECT_EQ(r->opcode, 5);
  EXPECT_TRUE(r->answers_complete);
}

TEST(DnsWireTest, SecondQuestionIsSkippedBeforeAnswers) {
  Bytes b;
  Header(b, 3, 0x8000, 2, 1, 0, 0);
  Question(b, "a.example", 1);
  Question(b, "b.example", 1);
  ARecord(b, 12, 42);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->qname(), "a.example");
  EXPECT_TRUE(r->answers_complete);
  EXPECT_EQ(r->min_answer_ttl, 42);
}

TEST(DnsWireTest, NxdomainAndExtendedRcodeFromOpt) {
  Bytes b;
  Header(b, 5, 0x8183, 1, 0, 0, 0);
  Question(b, "nope.example", 1);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rcode, 3);

  // BADVERS (16): header rcode 0, OPT extended rcode 1.
  Bytes e;
  Header(e, 5, 0x8180, 1, 0, 0, 1);
  Question(e, "x.example", 1);
  e.push_back(0);
  U16(e, 41);
  U16(e, 512);
  U32(e, 1u << 24);
  U16(e, 0);
  auto r2 = Parse(e);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->rcode, 16);
}

TEST(DnsWireTest, TtlWithTopBitCountsAsZero) {
  Bytes b;
  Header(b, 1, 0x8180, 1, 2, 0, 0);
  Question(b, "t.example", 1);
  ARecord(b, 12, 500);
  ARecord(b, 12, 0x80000001u);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->min_answer_ttl, 0);
}

TEST(DnsWireTest, ShortAnswerSectionKeepsHeaderAndQuestion) {
  Bytes b;
  Header(b, 1, 0x8180, 1, 2, 0, 0);  // claims two answers, holds one
  Question(b, "short.example", 1);
  ARecord(b, 12, 77);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->qname(), "short.example");
  EXPECT_FALSE(r->answers_complete);
  EXPECT_EQ(r->min_answer_ttl, -1);
}

TEST(DnsWireTest, LabelLengthLimits) {
  const std::string l63(63, 'a');
  EXPECT_EQ(Reason(Query(1, l63 + ".com", 1)), "ok");
  // 64 does not fit in 6 bits: the length byte 0x40 is the reserved extended label type.
  const std::string l64(64, 'a');
  EXPECT_EQ(Reason(Query(1, l64 + ".com", 1)), "bad_label");
  Bytes b;
  Header(b, 1, 0, 1, 0, 0, 0);
  b.push_back(0x80);  // reserved label type
  b.push_back(0);
  EXPECT_EQ(Reason(b), "bad_label");
}

TEST(DnsWireTest, NameLengthLimit) {
  // 3 * (1 + 63) + (1 + 61) + 1 = 255 wire bytes: the longest legal name.
  const std::string l63(63, 'x');
  const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'y');
  auto r = Parse(Query(1, longest, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->qname(), longest);
  EXPECT_EQ(Reason(Query(1, longest + "y", 1)), "name_too_long");
  // Many short labels: 128 * 2 + 1 = 257.
  std::string many;
  for (int i = 0; i < 128; ++i) many += i == 0 ? "a" : ".a";
  EXPECT_EQ(Reason(Query(1, many, 1)), "name_too_long");
}

TEST(DnsWireTest, LongestEscapedNameFitsBuffer) {
  // Every byte escaped: 4 labels of 63/63/63/61 bytes of 0xFF -> 4 chars per byte.
  Bytes b;
  Header(b, 1, 0, 1, 0, 0, 0);
  for (int len : {63, 63, 63, 61}) {
    b.push_back(static_cast<uint8_t>(len));
    b.insert(b.end(), static_cast<size_t>(len), 0xFF);
  }
  b.push_back(0);
  U16(b, 1);
  U16(b, 1);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->qname_len, 250 * 4 + 3);
}

TEST(DnsWireTest, PointerErrorsInQuestion) {
  {  // pointer to itself
    Bytes b;
    Header(b, 1, 0, 1, 0, 0, 0);
    Pointer(b, 12);
    U16(b, 1);
    U16(b, 1);
    EXPECT_EQ(Reason(b), "pointer_loop");
  }
  {  // label, then a pointer back to that label: a loop
    Bytes b;
    Header(b, 1, 0, 1, 0, 0, 0);
    b.insert(b.end(), {1, 'a'});
    Pointer(b, 12);
    U16(b, 1);
    U16(b, 1);
    EXPECT_EQ(Reason(b), "pointer_loop");
    auto r = Parse(b);
    EXPECT_NE(r.status().message().find("at offset 14"), std::string::npos) << r.status().message();
  }
  {  // forward pointer
    Bytes b;
    Header(b, 1, 0, 1, 0, 0, 0);
    Pointer(b, 20);
    U16(b, 1);
    U16(b, 1);
    b.insert(b.end(), {1, 'a', 0});
    EXPECT_EQ(Reason(b), "forward_pointer");
  }
  {  // pointer into the header
    Bytes b;
    Header(b, 1, 0, 1, 0, 0, 0);
    b.insert(b.end(), {1, 'a'});
    Pointer(b, 4);
    U16(b, 1);
    U16(b, 1);
    EXPECT_EQ(Reason(b), "bad_pointer");
  }
  {  // pointer cut in half
    Bytes b;
    Header(b, 1, 0, 1, 0, 0, 0);
    b.push_back(0xC0);
    EXPECT_EQ(Reason(b), "truncated_question");
  }
}

TEST(DnsWireTest, PointerLoopInAnswersLeavesAnswersIncomplete) {
  Bytes b;
  Header(b, 1, 0x8180, 1, 1, 0, 0);
  Question(b, "loop.example", 1);
  const uint16_t at = static_cast<uint16_t>(b.size());
  Pointer(b, at);  // owner name points to itself
  U16(b, 1);
  U16(b, 1);
  U32(b, 10);
  U16(b, 0);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->answers_complete);
  EXPECT_EQ(r->min_answer_ttl, -1);
}

TEST(DnsWireTest, LongBackwardPointerChainIsBounded) {
  // Answer 1 carries, as rdata, a root name followed by 2000 pointers, each to the one
  // before. Answer 2's owner name points at the last of them. Every hop goes backwards,
  // so only the hop limit stops the walk.
  Bytes b;
  Header(b, 1, 0x8180, 1, 2, 0, 0);
  Question(b, "chain.example", 1);
  Pointer(b, 12);
  U16(b, 10);  // NULL
  U16(b, 1);
  U32(b, 10);
  U16(b, static_cast<uint16_t>(1 + 2 * 2000));
  uint16_t prev = static_cast<uint16_t>(b.size());
  b.push_back(0);
  for (int i = 0; i < 2000; ++i) {
    const uint16_t here = static_cast<uint16_t>(b.size());
    Pointer(b, prev);
    prev = here;
  }
  Pointer(b, prev);
  U16(b, 1);
  U16(b, 1);
  U32(b, 10);
  U16(b, 0);
  auto r = Parse(b);
  ASSERT_TRUE(r.ok());  // the question is fine; the second owner name is not walkable
  EXPECT_EQ(r->qname(), "chain.example");
  EXPECT_FALSE(r->answers_complete);
}

TEST(DnsWireTest, TruncatedHeader) {
  for (size_t n = 0; n < 12; ++n) {
    Bytes b(n, 0);
    EXPECT_EQ(Reason(b), "truncated_header") << n;
  }
}

// Every prefix of a valid response parses or fails with the right token: the header
// before 12 bytes, the question before its end, and after that the answers are reported
// incomplete until the answer section ends.
TEST(DnsWireTest, TruncateAtEveryLength) {
  const Bytes m = Response();
  const size_t question_end = 12 + 17 + 4;           // "www.example.com" is 17 wire bytes
  const size_t answers_end = question_end + 3 * 16;  // three A records
  for (size_t n = 0; n <= m.size(); ++n) {
    const Bytes prefix(m.begin(), m.begin() + static_cast<ptrdiff_t>(n));
    auto r = Parse(prefix);
    if (n < 12) {
      EXPECT_EQ(DnsParseReason(r.status()), "truncated_header") << n;
    } else if (n < question_end) {
      EXPECT_EQ(DnsParseReason(r.status()), "truncated_question") << n;
    } else {
      ASSERT_TRUE(r.ok()) << n << " " << r.status().ToString();
      EXPECT_EQ(r->qname(), "www.example.com");
      EXPECT_EQ(r->answers_complete, n >= answers_end) << n;
      EXPECT_EQ(r->min_answer_ttl, n >= answers_end ? 60 : -1) << n;
      EXPECT_EQ(r->size, n);
    }
  }
}

const std::set<std::string>& KnownTokens() {
  static const std::set<std::string> k = {"ok",           "truncated_header",  "truncated_question",
                                          "bad_label",    "bad_pointer",       "forward_pointer",
                                          "pointer_loop", "too_many_pointers", "name_too_long"};
  return k;
}

TEST(DnsWireTest, FlipEveryByteNeverCrashes) {
  const Bytes m = Response();
  for (size_t i = 0; i < m.size(); ++i) {
    for (uint8_t x : {0x01, 0x40, 0x80, 0xC0, 0xFF}) {
      Bytes b = m;
      b[i] ^= x;
      auto r = Parse(b);
      const std::string token = r.ok() ? "ok" : std::string(DnsParseReason(r.status()));
      EXPECT_TRUE(KnownTokens().count(token)) << token;
      if (r.ok()) {
        EXPECT_LE(r->qname_len, sizeof r->qname_buf);
        EXPECT_GE(r->min_answer_ttl, -1);
      }
    }
  }
}

TEST(DnsWireTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 20000; ++iter) {
    Bytes b(rng() % 300);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    // Bias towards plausible headers so the name parser gets exercised.
    if (b.size() >= 12) {
      b[4] = 0;
      b[5] = static_cast<uint8_t>(rng() % 3);
      b[6] = 0;
      b[7] = static_cast<uint8_t>(rng() % 4);
    }
    auto r = Parse(b);
    const std::string token = r.ok() ? "ok" : std::string(DnsParseReason(r.status()));
    EXPECT_TRUE(KnownTokens().count(token)) << token;
  }
}

TEST(DnsWireTest, OversizedMessageOfPointers) {
  // 64 KiB of 0xC0 0x0C: the question is a self-pointer.
  Bytes b;
  Header(b, 1, 0, 1, 0xFFFF, 0, 0);
  while (b.size() < 65535) b.push_back(b.size() % 2 == 0 ? 0xC0 : 0x0C);
  EXPECT_EQ(Reason(b), "pointer_loop");
}

TEST(DnsWireTest, ParseIntoReusedStruct) {
  DnsMessageInfo info;
  const Bytes a = Response();
  ASSERT_TRUE(ParseDnsMessage(std::span(a), &info).ok());
  EXPECT_EQ(info.min_answer_ttl, 60);
  const Bytes q = Query(2, "b.example", 1);
  ASSERT_TRUE(ParseDnsMessage(std::span(q), &info).ok());
  EXPECT_EQ(info.qname(), "b.example");
  EXPECT_EQ(info.min_answer_ttl, -1);
  EXPECT_FALSE(info.qr);
}

TEST(DnsWireTest, ReasonOfOkStatusIsEmpty) {
  EXPECT_EQ(DnsParseReason(Status::Ok()), "");
  EXPECT_EQ(DnsParseReason(Status::InvalidArgument("bad_label: at offset 3")), "bad_label");
}

}  // namespace
}  // namespace dnsight
