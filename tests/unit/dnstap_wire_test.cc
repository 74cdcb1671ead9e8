// ParseDnstapFrame: hand-written wire-format edge cases, each checked both against the
// expected result and against libprotobuf; then a differential test that compares the
// reader with dnstap::Dnstap::ParsePartialFromArray on generated, mutated and random
// frames, field by field.
#include "ingest/dnstap_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dnstap.pb.h"

namespace dnsight {
namespace {

// --- wire builders -----------------------------------------------------------------

// `min_bytes` pads the encoding with 0x80 continuation bytes (non-canonical, but legal).
std::string Varint(uint64_t v, int min_bytes = 1) {
  std::string s;
  int n = 0;
  while (v >= 0x80 || n + 1 < min_bytes) {
    s.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
    ++n;
  }
  s.push_back(static_cast<char>(v));
  return s;
}

std::string Key(uint32_t field, uint32_t wire_type) {
  return Varint((uint64_t{field} << 3) | wire_type);
}
std::string VarintField(uint32_t field, uint64_t v) {
  return Key(field, 0) + Varint(v);
}
std::string Fixed32(uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}
std::string Fixed32Field(uint32_t field, uint32_t v) {
  return Key(field, 5) + Fixed32(v);
}
std::string Fixed64Field(uint32_t field, uint64_t v) {
  std::string s = Key(field, 1);
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}
std::string LenField(uint32_t field, const std::string& body) {
  return Key(field, 2) + Varint(body.size()) + body;
}
std::string Group(uint32_t field, const std::string& body) {
  return Key(field, 3) + body + Key(field, 4);
}
// Dnstap { message: Message{body} }.
std::string Msg(const std::string& body) {
  return LenField(14, body);
}

std::string Hex(const std::string& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// --- the two parsers, reduced to one comparable record --------------------------------

struct Decoded {
  bool ok = false;
  bool has_message = false;
  bool has_type = false;
  int type = 0;
  bool has_socket_family = false;
  int socket_family = 0;
  bool has_socket_protocol = false;
  int socket_protocol = 0;
  bool has_query_address = false;
  std::string query_address;
  bool has_response_address = false;
  std::string response_address;
  bool has_query_port = false;
  uint32_t query_port = 0;
  bool has_response_port = false;
  uint32_t response_port = 0;
  bool has_query_time_sec = false;
  uint64_t query_time_sec = 0;
  bool has_query_time_nsec = false;
  uint32_t query_time_nsec = 0;
  bool has_response_time_sec = false;
  uint64_t response_time_sec = 0;
  bool has_response_time_nsec = false;
  uint32_t response_time_nsec = 0;
  bool has_query_message = false;
  std::string query_message;
  bool has_response_message = false;
  std::string response_message;

  bool operator==(const Decoded&) const = default;
};

std::string Str(std::span<const uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

Decoded ByReader(const std::string& frame) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(frame.data()),
                                       frame.size());
  DnstapFields f;
  Decoded d;
  d.ok = ParseDnstapFrame(bytes, &f);
  if (!d.ok) return d;
  d.has_message = f.has_message;
  d.has_type = f.has_type;
  d.type = f.type;
  d.has_socket_family = f.has_socket_family;
  d.socket_family = static_cast<int>(f.socket_family);
  d.has_socket_protocol = f.has_socket_protocol;
  d.socket_protocol = static_cast<int>(f.socket_protocol);
  d.has_query_address = f.has_query_address;
  d.query_address = Str(f.query_address);
  d.has_response_address = f.has_response_address;
  d.response_address = Str(f.response_address);
  d.has_query_port = f.has_query_port;
  d.query_port = f.query_port;
  d.has_response_port = f.has_response_port;
  d.response_port = f.response_port;
  d.has_query_time_sec = f.has_query_time_sec;
  d.query_time_sec = f.query_time_sec;
  d.has_query_time_nsec = f.has_query_time_nsec;
  d.query_time_nsec = f.query_time_nsec;
  d.has_response_time_sec = f.has_response_time_sec;
  d.response_time_sec = f.response_time_sec;
  d.has_response_time_nsec = f.has_response_time_nsec;
  d.response_time_nsec = f.response_time_nsec;
  d.has_query_message = f.has_query_message;
  d.query_message = Str(f.query_message);
  d.has_response_message = f.has_response_message;
  d.response_message = Str(f.response_message);
  return d;
}

Decoded ByProtobuf(const std::string& frame, dnstap::Dnstap* scratch) {
  Decoded d;
  d.ok = scratch->ParsePartialFromArray(frame.data(), static_cast<int>(frame.size()));
  if (!d.ok) return d;
  d.has_message = scratch->has_message();
  const dnstap::Message& m = scratch->message();
  d.has_type = m.has_type();
  d.type = m.type();
  d.has_socket_family = m.has_socket_family();
  d.socket_family = m.socket_family();
  d.has_socket_protocol = m.has_socket_protocol();
  d.socket_protocol = m.socket_protocol();
  d.has_query_address = m.has_query_address();
  d.query_address = m.query_address();
  d.has_response_address = m.has_response_address();
  d.response_address = m.response_address();
  d.has_query_port = m.has_query_port();
  d.query_port = m.query_port();
  d.has_response_port = m.has_response_port();
  d.response_port = m.response_port();
  d.has_query_time_sec = m.has_query_time_sec();
  d.query_time_sec = m.query_time_sec();
  d.has_query_time_nsec = m.has_query_time_nsec();
  d.query_time_nsec = m.query_time_nsec();
  d.has_response_time_sec = m.has_response_time_sec();
  d.response_time_sec = m.response_time_sec();
  d.has_response_time_nsec = m.has_response_time_nsec();
  d.response_time_nsec = m.response_time_nsec();
  d.has_query_message = m.has_query_message();
  d.query_message = m.query_message();
  d.has_response_message = m.has_response_message();
  d.response_message = m.response_message();
  return d;
}

std::string Describe(const Decoded& d) {
  if (!d.ok) return "parse failure";
  std::string s = "ok message=" + std::to_string(d.has_message);
  auto add = [&s](const char* name, bool has, const std::string& value) {
    if (has) s += std::string(" ") + name + "=" + value;
  };
  add("type", d.has_type, std::to_string(d.type));
  add("family", d.has_socket_family, std::to_string(d.socket_family));
  add("protocol", d.has_socket_protocol, std::to_string(d.socket_protocol));
  add("qaddr", d.has_query_address, Hex(d.query_address));
  add("raddr", d.has_response_address, Hex(d.response_address));
  add("qport", d.has_query_port, std::to_string(d.query_port));
  add("rport", d.has_response_port, std::to_string(d.response_port));
  add("qsec", d.has_query_time_sec, std::to_string(d.query_time_sec));
  add("qnsec", d.has_query_time_nsec, std::to_string(d.query_time_nsec));
  add("rsec", d.has_response_time_sec, std::to_string(d.response_time_sec));
  add("rnsec", d.has_response_time_nsec, std::to_string(d.response_time_nsec));
  add("qmsg", d.has_query_message, Hex(d.query_message));
  add("rmsg", d.has_response_message, Hex(d.response_message));
  return s;
}

// Parses with both; on disagreement returns a description, else "".
std::string Disagreement(const std::string& frame, dnstap::Dnstap* scratch) {
  const Decoded mine = ByReader(frame);
  const Decoded theirs = ByProtobuf(frame, scratch);
  if (mine == theirs) return "";
  return "frame " + Hex(frame) + "\n  reader:   " + Describe(mine) +
         "\n  protobuf: " + Describe(theirs);
}

// Parses with the reader, checks that libprotobuf agrees, and returns the reader's result.
Decoded Parse(const std::string& frame) {
  dnstap::Dnstap scratch;
  EXPECT_EQ(Disagreement(frame, &scratch), "");
  return ByReader(frame);
}

bool Accepted(const std::string& frame) {
  return Parse(frame).ok;
}

// --- hand-written cases --------------------------------------------------------------

std::string GoodMessageBody() {
  return VarintField(1, 5) + VarintField(2, 1) + VarintField(3, 2) +
         LenField(4, std::string("\xc0\x00\x02\x0a", 4)) +
         LenField(5, std::string("\xc6\x33\x64\x01", 4)) + VarintField(6, 53000) +
         VarintField(7, 53) + VarintField(8, 1'700'000'000) + Fixed32Field(9, 123'456'789) +
         LenField(10, "query-bytes") + LenField(11, "zone") + VarintField(12, 1'700'000'001) +
         Fixed32Field(13, 5) + LenField(14, "response-bytes") +
         LenField(15, LenField(1, "RPZ") + VarintField(3, 1)) + VarintField(16, 2);
}

TEST(DnstapWireTest, ReadsEveryField) {
  const std::string frame =
      LenField(1, "server") + LenField(2, "1.0") + Msg(GoodMessageBody()) + VarintField(15, 1);
  const Decoded d = Parse(frame);
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.has_message);
  EXPECT_EQ(d.type, 5);
  EXPECT_EQ(d.socket_family, 1);
  EXPECT_EQ(d.socket_protocol, 2);
  EXPECT_EQ(d.query_address, std::string("\xc0\x00\x02\x0a", 4));
  EXPECT_EQ(d.response_address, std::string("\xc6\x33\x64\x01", 4));
  EXPECT_EQ(d.query_port, 53000u);
  EXPECT_EQ(d.response_port, 53u);
  EXPECT_EQ(d.query_time_sec, 1'700'000'000u);
  EXPECT_EQ(d.query_time_nsec, 123'456'789u);
  EXPECT_EQ(d.response_time_sec, 1'700'000'001u);
  EXPECT_EQ(d.response_time_nsec, 5u);
  EXPECT_EQ(d.query_message, "query-bytes");
  EXPECT_EQ(d.response_message, "response-bytes");

  // The views point into the frame: nothing is copied.
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(frame.data()),
                                       frame.size());
  DnstapFields f;
  ASSERT_TRUE(ParseDnstapFrame(bytes, &f));
  EXPECT_EQ(Str(f.query_message), "query-bytes");
  EXPECT_GE(f.query_message.data(), bytes.data());
  EXPECT_LE(f.query_message.data() + f.query_message.size(), bytes.data() + bytes.size());
}

TEST(DnstapWireTest, EmptyAndMissingFields) {
  Decoded d = Parse("");
  EXPECT_TRUE(d.ok);
  EXPECT_FALSE(d.has_message);
  d = Parse(Msg(""));  // an empty Message is still present
  EXPECT_TRUE(d.ok);
  EXPECT_TRUE(d.has_message);
  EXPECT_FALSE(d.has_type);
  EXPECT_EQ(d.type, 1);              // proto2 enum default: the first value
  d = Parse(Msg(LenField(10, "")));  // an empty bytes field is still present
  EXPECT_TRUE(d.has_query_message);
  EXPECT_EQ(d.query_message, "");
}

TEST(DnstapWireTest, WireTypesAndFieldNumbers) {
  // Wire types 6 and 7 fail anywhere, for known and unknown field numbers.
  EXPECT_FALSE(Accepted(Key(14, 6)));
  EXPECT_FALSE(Accepted(Key(99, 7) + "\x00"));
  EXPECT_FALSE(Accepted(Msg(Key(1, 7))));
  EXPECT_FALSE(Accepted(Msg(Key(50, 6) + "\x01")));
  // Field number 0 fails with every wire type (tag 0 included).
  for (uint32_t wire_type = 0; wire_type < 8; ++wire_type) {
    EXPECT_FALSE(Accepted(Key(0, wire_type) + std::string(8, '\0'))) << wire_type;
    EXPECT_FALSE(Accepted(Msg(Key(0, wire_type) + std::string(8, '\0')))) << wire_type;
  }
  // Every legal wire type of an unknown field is skipped, up to the largest field number.
  const std::string unknown = VarintField(20, 7) + Fixed64Field(21, 1) + LenField(22, "x") +
                              Group(23, VarintField(1, 1)) + Fixed32Field(24, 2) +
                              VarintField((1u << 29) - 1, 3);
  EXPECT_TRUE(Accepted(unknown + Msg(unknown + VarintField(1, 6)) + unknown));
  EXPECT_EQ(Parse(Msg(unknown + VarintField(1, 6))).type, 6);
}

TEST(DnstapWireTest, VarintLimits) {
  // 10 bytes is the longest varint; an 11th byte fails, for known and unknown fields.
  EXPECT_TRUE(Accepted(Key(20, 0) + Varint(1, 10)));
  EXPECT_FALSE(Accepted(Key(20, 0) + Varint(1, 11)));
  EXPECT_EQ(Parse(Msg(Key(6, 0) + Varint(53, 10))).query_port, 53u);
  EXPECT_FALSE(Accepted(Msg(Key(6, 0) + Varint(53, 11))));
  EXPECT_FALSE(Accepted(Msg(Key(1, 0) + Varint(5, 11))));
  // Bits past 64 in the 10th byte are dropped.
  EXPECT_EQ(Parse(Msg(Key(8, 0) + std::string(9, '\xff') + "\x7f")).query_time_sec, UINT64_MAX);
  // Truncated varints fail.
  EXPECT_FALSE(Accepted(Key(20, 0) + "\x80"));
  EXPECT_FALSE(Accepted(Msg(Key(8, 0) + "\xff\xff")));
}

TEST(DnstapWireTest, TagLimits) {
  // A tag is a varint of at most 5 bytes; the bits above 32 of the 5th byte are dropped.
  EXPECT_EQ(Parse(Msg(Varint(8, 5) + Varint(5))).type, 5);
  EXPECT_FALSE(Accepted(Msg(Varint(8, 6) + Varint(5))));
  // 0x1'0000'0008: field 1 varint once truncated to 32 bits.
  const Decoded d = Parse(Msg(Varint(0x1'0000'0008ull) + Varint(7)));
  EXPECT_TRUE(d.has_type);
  EXPECT_EQ(d.type, 7);
  EXPECT_FALSE(Accepted("\x8a"));  // truncated tag
}

TEST(DnstapWireTest, LengthLimits) {
  // A length is a varint of at most 5 bytes whose 5th byte is below 8.
  EXPECT_EQ(Parse(Key(14, 2) + Varint(2, 5) + VarintField(1, 3)).type, 3);
  EXPECT_FALSE(Accepted(Key(14, 2) + Varint(2, 6) + VarintField(1, 3)));
  EXPECT_FALSE(Accepted(Key(20, 2) + std::string("\x80\x80\x80\x80\x08", 5)));
  // Longer than what is left: fails, at the top level and inside a sub-message.
  EXPECT_FALSE(Accepted(Key(20, 2) + Varint(4) + "abc"));
  EXPECT_FALSE(Accepted(Msg(Key(10, 2) + Varint(4) + "abc")));
  EXPECT_FALSE(Accepted(Key(14, 2) + Varint(3) + VarintField(1, 5)));
}

TEST(DnstapWireTest, FieldsCannotRunPastTheirSubMessage) {
  // Message is 2 bytes long but its varint continues into the next (outer) byte.
  EXPECT_FALSE(Accepted(Key(14, 2) + Varint(2) + Key(8, 0) + "\x81" + "\x01"));
  // A fixed32 cut by the end of the Message.
  EXPECT_FALSE(Accepted(Key(14, 2) + Varint(3) + Key(9, 5) + "\x01\x02" + "\x03\x04"));
  // Policy longer than the Message that holds it.
  EXPECT_FALSE(Accepted(Msg(Key(15, 2) + Varint(5) + VarintField(3, 1)) + VarintField(20, 1)));
  // Every proper prefix of a good frame fails except at a field boundary of the top level.
  const std::string good = Msg(GoodMessageBody()) + VarintField(15, 1);
  for (size_t cut = 0; cut <= good.size(); ++cut) {
    const bool at_boundary = cut == 0 || cut == good.size() - 2 || cut == good.size();
    EXPECT_EQ(Accepted(good.substr(0, cut)), at_boundary) << cut;
  }
}

TEST(DnstapWireTest, WrongWireTypeIsAnUnknownField) {
  // Declared fields given with another wire type are skipped, not errors.
  Decoded d = Parse(Msg(Fixed32Field(1, 5) + VarintField(9, 7) + VarintField(4, 1) +
                        LenField(6, "xy") + Fixed64Field(8, 1) + Group(10, "")));
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(d.has_type);
  EXPECT_FALSE(d.has_query_time_nsec);
  EXPECT_FALSE(d.has_query_address);
  EXPECT_FALSE(d.has_query_port);
  EXPECT_FALSE(d.has_query_time_sec);
  EXPECT_FALSE(d.has_query_message);
  // The same for Dnstap.message: as a group it is an unknown group, not a Message.
  d = Parse(Group(14, VarintField(1, 5)) + VarintField(14, 1));
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(d.has_message);
  // And for Message.policy: garbage as a varint is fine, as a message it is not.
  EXPECT_TRUE(Accepted(Msg(VarintField(15, 3))));
  EXPECT_FALSE(Accepted(Msg(LenField(15, "\xff\xff"))));
}

TEST(DnstapWireTest, LastOccurrenceWinsAndMessagesMerge) {
  Decoded d = Parse(Msg(VarintField(6, 1) + VarintField(6, 2) + LenField(10, "a") +
                        LenField(10, "bb") + Fixed32Field(9, 1) + Fixed32Field(9, 3)));
  EXPECT_EQ(d.query_port, 2u);
  EXPECT_EQ(d.query_message, "bb");
  EXPECT_EQ(d.query_time_nsec, 3u);
  // A second Message merges into the first: fields it lacks keep their earlier values.
  d = Parse(Msg(VarintField(1, 5) + VarintField(6, 100) + LenField(10, "q")) +
            LenField(1, "between") +
            Msg(VarintField(6, 200) + LenField(4, std::string(4, '\x01'))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.type, 5);
  EXPECT_EQ(d.query_port, 200u);
  EXPECT_EQ(d.query_message, "q");
  EXPECT_EQ(d.query_address, std::string(4, '\x01'));
}

TEST(DnstapWireTest, UnknownEnumValuesLeaveTheFieldAsItWas) {
  Decoded d = Parse(Msg(VarintField(1, 99)));
  EXPECT_TRUE(d.ok);
  EXPECT_FALSE(d.has_type);
  d = Parse(Msg(VarintField(1, 6) + VarintField(1, 0) + VarintField(1, 15)));
  EXPECT_TRUE(d.has_type);
  EXPECT_EQ(d.type, 6);
  // Negative values (10-byte varints) are not declared values.
  d = Parse(
      Msg(VarintField(2, static_cast<uint64_t>(-1)) + VarintField(3, static_cast<uint64_t>(-2))));
  EXPECT_FALSE(d.has_socket_family);
  EXPECT_FALSE(d.has_socket_protocol);
  d = Parse(Msg(VarintField(2, 3) + VarintField(3, 8)));
  EXPECT_FALSE(d.has_socket_family);
  EXPECT_FALSE(d.has_socket_protocol);
  // The value is checked as an int32: bits above 32 are dropped, so 2^32 + 5 is type 5.
  d = Parse(Msg(VarintField(1, 0x1'0000'0005ull) + VarintField(2, 0xffff'ffff'0000'0002ull)));
  EXPECT_TRUE(d.has_type);
  EXPECT_EQ(d.type, 5);
  EXPECT_TRUE(d.has_socket_family);
  EXPECT_EQ(d.socket_family, 2);
}

TEST(DnstapWireTest, Uint32FieldsKeepTheLow32Bits) {
  const Decoded d = Parse(Msg(VarintField(6, 0x1'0000'0035ull) + VarintField(7, UINT64_MAX)));
  EXPECT_EQ(d.query_port, 0x35u);
  EXPECT_EQ(d.response_port, UINT32_MAX);
}

TEST(DnstapWireTest, Groups) {
  // Unknown groups are skipped, nested ones too, wherever they are.
  EXPECT_TRUE(Accepted(Group(20, Group(21, VarintField(1, 1)) + LenField(2, "x")) +
                       Msg(Group(30, Fixed32Field(1, 1)) + VarintField(1, 5))));
  // An end group for another field number fails; so does one with no start.
  EXPECT_FALSE(Accepted(Key(20, 3) + Key(21, 4)));
  EXPECT_FALSE(Accepted(Key(20, 4)));
  EXPECT_FALSE(Accepted(Msg(Key(20, 4))));
  EXPECT_FALSE(Accepted(Msg(VarintField(1, 5)) + Key(14, 4)));
  // A group left open at the end of the frame or of the Message fails.
  EXPECT_FALSE(Accepted(Key(20, 3) + VarintField(1, 1)));
  EXPECT_FALSE(Accepted(Msg(Key(20, 3)) + Key(20, 4)));
  // A tag of 0 inside a group fails.
  EXPECT_FALSE(Accepted(Key(20, 3) + std::string(1, '\0') + Key(20, 4)));
  // A matching end-group tag encoded in 5 bytes still matches.
  EXPECT_TRUE(Accepted(Key(20, 3) + Varint((20 << 3) | 4, 5)));
}

std::string NestedGroups(int n, const std::string& inner = "") {
  std::string s = inner;
  for (int i = 0; i < n; ++i) s = Group(20 + i % 3, s);
  return s;
}

TEST(DnstapWireTest, RecursionLimit) {
  // 100 levels below the top-level message: Dnstap.message and Message.policy count.
  EXPECT_TRUE(Accepted(NestedGroups(100)));
  EXPECT_FALSE(Accepted(NestedGroups(101)));
  EXPECT_TRUE(Accepted(Msg(NestedGroups(99))));
  EXPECT_FALSE(Accepted(Msg(NestedGroups(100))));
  EXPECT_TRUE(Accepted(Msg(LenField(15, NestedGroups(98)))));
  EXPECT_FALSE(Accepted(Msg(LenField(15, NestedGroups(99)))));
  // Length-delimited unknown fields are not parsed, so they do not count.
  std::string deep = VarintField(1, 1);
  for (int i = 0; i < 150; ++i) deep = LenField(20, deep);
  EXPECT_TRUE(Accepted(Msg(deep)));
  // The budget is per path, not per frame.
  EXPECT_TRUE(Accepted(NestedGroups(100) + NestedGroups(100) + Msg(NestedGroups(99))));
}

TEST(DnstapWireTest, PolicyIsValidatedButNotUtf8Checked) {
  EXPECT_TRUE(
      Accepted(Msg(LenField(15, LenField(1, "\xff\xfe") + LenField(2, "rule") + VarintField(3, 77) +
                                    VarintField(4, 2) + LenField(5, "v") + Group(9, "")))));
  EXPECT_FALSE(Accepted(Msg(LenField(15, Key(1, 2) + Varint(9) + "x"))));
  EXPECT_FALSE(Accepted(Msg(LenField(15, Key(3, 4)))));
  EXPECT_FALSE(Accepted(Msg(LenField(15, Key(3, 0) + "\x80"))));
  // Other declared bytes/enum fields are skipped without checks.
  EXPECT_TRUE(Accepted(LenField(3, "\xff") + VarintField(15, 12345) +
                       Msg(LenField(11, "\xff") + VarintField(16, 9))));
}

TEST(DnstapWireTest, TooLargeFrameFails) {
  // A span longer than INT_MAX cannot be given to ParsePartialFromArray; never read.
  static const uint8_t kByte = 0;
  DnstapFields f;
  EXPECT_FALSE(ParseDnstapFrame({&kByte, size_t{1} << 31}, &f));
}

// --- differential test ---------------------------------------------------------------

using Rng = std::mt19937_64;

bool OneIn(Rng& rng, uint64_t n) {
  return rng() % n == 0;
}
uint64_t Below(Rng& rng, uint64_t n) {
  return rng() % n;
}

std::string RandomBytes(Rng& rng, size_t max_len) {
  std::string s(Below(rng, max_len + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A frame built with the generated classes: a random subset of every field.
std::string GeneratedFrame(Rng& rng) {
  dnstap::Dnstap d;
  if (OneIn(rng, 3)) d.set_identity(RandomBytes(rng, 12));
  if (OneIn(rng, 4)) d.set_version(RandomBytes(rng, 6));
  if (OneIn(rng, 8)) d.set_extra(RandomBytes(rng, 6));
  if (!OneIn(rng, 5)) d.set_type(dnstap::Dnstap::MESSAGE);
  if (!OneIn(rng, 10)) {
    dnstap::Message* m = d.mutable_message();
    auto maybe = [&rng] { return !OneIn(rng, 3); };
    if (maybe()) m->set_type(static_cast<dnstap::Message::Type>(1 + Below(rng, 14)));
    if (maybe()) m->set_socket_family(static_cast<dnstap::SocketFamily>(1 + Below(rng, 2)));
    if (maybe()) m->set_socket_protocol(static_cast<dnstap::SocketProtocol>(1 + Below(rng, 7)));
    auto address = [&rng] {
      return OneIn(rng, 4) ? RandomBytes(rng, 20) : std::string(OneIn(rng, 2) ? 4 : 16, '\x7f');
    };
    auto port = [&rng] {
      return OneIn(rng, 5) ? static_cast<uint32_t>(rng())
                           : static_cast<uint32_t>(Below(rng, 65536));
    };
    if (maybe()) m->set_query_address(address());
    if (maybe()) m->set_response_address(address());
    if (maybe()) m->set_query_port(port());
    if (maybe()) m->set_response_port(port());
    if (maybe()) m->set_query_time_sec(OneIn(rng, 5) ? rng() : 1'700'000'000 + Below(rng, 1000));
    if (maybe()) m->set_query_time_nsec(static_cast<uint32_t>(rng()));
    if (maybe()) m->set_response_time_sec(OneIn(rng, 5) ? rng() : 1'700'000'000 + Below(rng, 1000));
    if (maybe()) m->set_response_time_nsec(static_cast<uint32_t>(rng()));
    if (maybe()) m->set_query_message(RandomBytes(rng, 40));
    if (OneIn(rng, 4)) m->set_query_zone(RandomBytes(rng, 10));
    if (maybe()) m->set_response_message(RandomBytes(rng, 60));
    if (OneIn(rng, 4)) {
      dnstap::Policy* p = m->mutable_policy();
      if (maybe()) p->set_type(RandomBytes(rng, 4));
      if (maybe()) p->set_rule(RandomBytes(rng, 8));
      if (maybe()) p->set_action(static_cast<dnstap::Policy::Action>(1 + Below(rng, 6)));
      if (maybe()) p->set_match(static_cast<dnstap::Policy::Match>(1 + Below(rng, 5)));
      if (maybe()) p->set_value(RandomBytes(rng, 4));
    }
    if (OneIn(rng, 4)) m->set_http_protocol(static_cast<dnstap::HttpProtocol>(1 + Below(rng, 3)));
  }
  std::string out;
  d.SerializePartialToString(&out);
  return out;
}

// A varint encoding of v: usually canonical, sometimes padded (up to 10 bytes, legal),
// rarely 11 bytes (illegal).
std::string RandomVarint(Rng& rng, uint64_t v) {
  if (!OneIn(rng, 6)) return Varint(v);
  return Varint(v, OneIn(rng, 8) ? 11 : static_cast<int>(1 + Below(rng, 10)));
}

uint64_t RandomValue(Rng& rng) {
  switch (Below(rng, 7)) {
    case 0:
      return Below(rng, 20);
    case 1:
      return Below(rng, 70000);
    case 2:
      return static_cast<uint32_t>(rng());
    case 3:
      return (uint64_t{1 + Below(rng, 3)} << 32) + Below(rng, 16);  // wide enum / port
    case 4:
      return static_cast<uint64_t>(-static_cast<int64_t>(Below(rng, 3) + 1));
    case 5:
      return rng();
    default:
      return 1'700'000'000 + Below(rng, 100);
  }
}

// A tag: usually canonical, sometimes padded to 5 bytes with junk above bit 32 (still
// the same tag), rarely 6 bytes (illegal).
std::string RandomTag(Rng& rng, uint32_t field, uint32_t wire_type) {
  const uint64_t tag = (uint64_t{field} << 3) | wire_type;
  if (!OneIn(rng, 10)) return Varint(tag);
  switch (Below(rng, 3)) {
    case 0:
      return Varint(tag, static_cast<int>(1 + Below(rng, 5)));
    case 1:
      return Varint(tag | (uint64_t{1 + Below(rng, 7)} << 32), 5);
    default:
      return Varint(tag, 6);
  }
}

std::string RandomLength(Rng& rng, size_t n) {
  if (!OneIn(rng, 10)) return Varint(n);
  if (OneIn(rng, 8)) return Varint(n + 1 + Below(rng, 3));  // overruns
  return Varint(n, static_cast<int>(1 + Below(rng, 6)));    // padded; 6 bytes is illegal
}

enum class Level { kTop, kMessage, kPolicy, kGroup };

// Declared (field, wire type) pairs of each message.
struct Declared {
  uint32_t field;
  uint32_t wire_type;
};
constexpr Declared kTopFields[] = {{1, 2}, {2, 2}, {3, 2}, {14, 2}, {15, 0}};
constexpr Declared kMessageFields[] = {{1, 0},  {2, 0},  {3, 0},  {4, 2},  {5, 2},  {6, 0},
                                       {7, 0},  {8, 0},  {9, 5},  {10, 2}, {11, 2}, {12, 0},
                                       {13, 5}, {14, 2}, {15, 2}, {16, 0}};
constexpr Declared kPolicyFields[] = {{1, 2}, {2, 2}, {3, 0}, {4, 0}, {5, 2}};

std::string RandomBody(Rng& rng, Level level, int depth);

// A field value for the given wire type. Length-delimited values at the top and in
// Message may be sub-messages when the field is the one holding Message or Policy.
std::string RandomFieldValue(Rng& rng, Level level, uint32_t field, uint32_t wire_type, int depth) {
  switch (wire_type) {
    case 0:
      return RandomVarint(rng, RandomValue(rng));
    case 1:
      return std::string(8, static_cast<char>(rng()));
    case 5:
      return Fixed32(static_cast<uint32_t>(OneIn(rng, 2) ? rng() : Below(rng, 2'000'000'000)));
    case 3: {
      // Usually closed with its own end tag; sometimes with another, or never.
      std::string s = RandomBody(rng, Level::kGroup, depth + 1);
      if (OneIn(rng, 12)) return s + RandomTag(rng, field + 1, 4);
      if (OneIn(rng, 20)) return s;
      return s + RandomTag(rng, field, 4);
    }
    default: {
      std::string body;
      if (level == Level::kTop && field == 14) {
        body = RandomBody(rng, Level::kMessage, depth + 1);
      } else if (level == Level::kMessage && field == 15) {
        body = OneIn(rng, 4) ? RandomBytes(rng, 6) : RandomBody(rng, Level::kPolicy, depth + 1);
      } else if (level == Level::kMessage && (field == 4 || field == 5)) {
        body = std::string(OneIn(rng, 2) ? 4 : 16, '\x0a');
      } else {
        body = OneIn(rng, 5) ? RandomBody(rng, Level::kGroup, depth + 1) : RandomBytes(rng, 12);
      }
      return RandomLength(rng, body.size()) + body;
    }
  }
}

std::string RandomField(Rng& rng, Level level, int depth) {
  std::span<const Declared> declared;
  if (level == Level::kTop) declared = kTopFields;
  if (level == Level::kMessage) declared = kMessageFields;
  if (level == Level::kPolicy) declared = kPolicyFields;
  uint32_t field;
  uint32_t wire_type;
  const uint64_t pick = Below(rng, 100);
  if (pick < 60 && !declared.empty()) {  // a declared field, usually with its own type
    const Declared& d = declared[Below(rng, declared.size())];
    field = d.field;
    wire_type = OneIn(rng, 6) ? static_cast<uint32_t>(Below(rng, 6)) : d.wire_type;
    if (wire_type == 4) wire_type = 3;
  } else if (pick < 92) {  // an unknown field
    static constexpr uint32_t kUnknown[] = {17, 18, 20, 100, 1000, (1u << 29) - 1};
    field = OneIn(rng, 2) ? kUnknown[Below(rng, 6)] : static_cast<uint32_t>(1 + Below(rng, 20));
    static constexpr uint32_t kTypes[] = {0, 1, 2, 3, 5};
    wire_type = kTypes[Below(rng, 5)];
  } else if (pick < 96) {  // stray end group, field 0, wire type 6/7
    switch (Below(rng, 3)) {
      case 0:
        return RandomTag(rng, static_cast<uint32_t>(Below(rng, 20)), 4);
      case 1:
        return RandomTag(rng, 0, static_cast<uint32_t>(Below(rng, 8))) + RandomBytes(rng, 4);
      default:
        return RandomTag(rng, static_cast<uint32_t>(1 + Below(rng, 20)),
                         static_cast<uint32_t>(6 + Below(rng, 2))) +
               RandomBytes(rng, 4);
    }
  } else {  // groups nested around the recursion limit
    const int n = 95 + static_cast<int>(Below(rng, 10)) - depth;
    return n > 0 ? NestedGroups(n) : Group(20, "");
  }
  return RandomTag(rng, field, wire_type) + RandomFieldValue(rng, level, field, wire_type, depth);
}

std::string RandomBody(Rng& rng, Level level, int depth) {
  if (depth > 6) return "";
  const uint64_t n = level == Level::kMessage ? Below(rng, 14) : Below(rng, 4);
  std::string s;
  for (uint64_t i = 0; i < n; ++i) s += RandomField(rng, level, depth);
  return s;
}

void Mutate(Rng& rng, std::string* s) {
  const size_t pos = s->empty() ? 0 : Below(rng, s->size());
  switch (Below(rng, 8)) {
    case 0:
      if (!s->empty()) (*s)[pos] = static_cast<char>((*s)[pos] ^ (1 << Below(rng, 8)));
      break;
    case 1:
      if (!s->empty()) (*s)[pos] = static_cast<char>(rng());
      break;
    case 2:
      s->resize(pos);
      break;
    case 3:
      s->insert(pos, RandomBytes(rng, 3));
      break;
    case 4:
      s->erase(pos, Below(rng, 5));
      break;
    case 5: {  // duplicate a slice (often a whole field) elsewhere
      const std::string slice = s->substr(pos, Below(rng, 24));
      s->insert(s->empty() ? 0 : Below(rng, s->size() + 1), slice);
      break;
    }
    case 6:
      *s += RandomField(rng, Level::kTop, 0);
      break;
    default:
      s->insert(0, RandomField(rng, Level::kTop, 0));
      break;
  }
}

std::string RandomNoise(Rng& rng) {
  static constexpr char kInteresting[] = {'\x00', '\x08', '\x0a', '\x72', '\x78', '\x80',
                                          '\xff', '\x03', '\x04', '\x0b', '\x0c', '\x01',
                                          '\x02', '\x05', '\x7a', '\x4d'};
  std::string s(Below(rng, 48), '\0');
  for (char& c : s) c = OneIn(rng, 2) ? static_cast<char>(rng()) : kInteresting[Below(rng, 16)];
  return s;
}

TEST(DnstapWireTest, AgreesWithLibprotobuf) {
  Rng rng(20240611);
  dnstap::Dnstap scratch;
  constexpr int kCases = 320'000;
  int accepted = 0, with_message = 0, failures = 0;
  for (int i = 0; i < kCases; ++i) {
    std::string frame;
    switch (i % 8) {
      case 0:
      case 1:
      case 2:  // valid frames from the generated code, mutated 3 times in 4
        frame = GeneratedFrame(rng);
        if (!OneIn(rng, 4)) {
          for (uint64_t m = 1 + Below(rng, 3); m > 0; --m) Mutate(rng, &frame);
        }
        break;
      case 3:
      case 4:
      case 5:
      case 6:  // structural frames: odd encodings, wrong types, groups, nesting
        frame = RandomBody(rng, Level::kTop, 0);
        if (OneIn(rng, 2)) frame += RandomField(rng, Level::kTop, 0);
        if (OneIn(rng, 4)) Mutate(rng, &frame);
        break;
      default:  // noise
        frame = RandomNoise(rng);
        break;
    }
    const std::string diff = Disagreement(frame, &scratch);
    if (!diff.empty()) {
      ADD_FAILURE() << "case " << i << ": " << diff;
      if (++failures >= 10) break;
    }
    const Decoded d = ByReader(frame);
    accepted += d.ok;
    with_message += d.ok && d.has_message && d.has_type;
  }
  // The generators must reach both outcomes often, or the comparison proves little.
  EXPECT_GT(accepted, kCases / 5);
  EXPECT_GT(kCases - accepted, kCases / 5);
  EXPECT_GT(with_message, kCases / 10);
}

}  // namespace
}  // namespace dnsight
