#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ingest/jsonl_decoder.h"
#include "ingest/jsonl_source.h"

namespace dnsight {
namespace {

struct Collect : ObservationSink {
  std::vector<std::string> qnames;
  std::map<std::string, int> bad;
  void OnObservation(const RawDnsObservation& o) override { qnames.emplace_back(o.qname); }
  void OnMalformed(std::string_view r, std::span<const uint8_t>) override { ++bad[std::string(r)]; }
};

std::string Decode(const std::string& line, RawDnsObservation* obs) {
  static JsonLinesDecoder d;  // obs->qname points into it
  std::string_view reason;
  if (!d.Decode(line, 0, obs, &reason)) return std::string(reason);
  return "ok";
}

TEST(JsonLinesDecoder, ParsesAllFields) {
  RawDnsObservation o;
  ASSERT_EQ(Decode(R"({"ts":"2026-11-23T10:00:00.5Z","client":"2001:db8::1","client_port":5353,
    "server":"192.0.2.53","server_port":53,"qname":"Www.Example.COM.","qtype":"AAAA",
    "rcode":"NXDOMAIN","latency_ms":1.5,"query_size":40,"response_size":120,"ttl":300,
    "answers":2,"transport":"tcp","extra":{"ignored":[1,2]}})",
                   &o),
            "ok");
  EXPECT_EQ(o.query_time_ns, 1795428000500000000);
  EXPECT_EQ(o.latency_ns, 1500000);
  EXPECT_EQ(o.client.ToString(), "2001:db8::1");
  EXPECT_EQ(o.server.ToString(), "192.0.2.53");
  EXPECT_EQ(o.qname, "Www.Example.COM.");
  EXPECT_EQ(o.qtype, 28);
  EXPECT_EQ(o.rcode, 3);
  EXPECT_EQ(o.min_ttl, 300);
  EXPECT_EQ(o.answer_count, 2);
  EXPECT_EQ(o.transport, Transport::kTcp);
}

TEST(JsonLinesDecoder, EpochSecondsAndNumericCodes) {
  RawDnsObservation o;
  ASSERT_EQ(Decode(R"({"ts":1795428000.25,"qname":"a.b","qtype":16,"rcode":2})", &o), "ok");
  EXPECT_EQ(o.query_time_ns, 1795428000250000000);
  EXPECT_EQ(o.qtype, 16);
  EXPECT_EQ(o.rcode, 2);
}

TEST(JsonLinesDecoder, RejectsWithReasons) {
  RawDnsObservation o;
  EXPECT_EQ(Decode("", &o), "bad_json");
  EXPECT_EQ(Decode("not json", &o), "bad_json");
  EXPECT_EQ(Decode("[1,2]", &o), "bad_json");
  EXPECT_EQ(Decode(R"({"qname":"a.b"})", &o), "missing_ts");
  EXPECT_EQ(Decode(R"({"ts":"2026-11-23T10:00:00Z"})", &o), "missing_qname");
  EXPECT_EQ(Decode(R"({"ts":"yesterday","qname":"a"})", &o), "bad_ts");
  EXPECT_EQ(Decode(R"({"ts":"2026-13-23T10:00:00Z","qname":"a"})", &o), "bad_ts");
  // Times that would overflow int64 nanoseconds downstream.
  EXPECT_EQ(Decode(R"({"ts":"9999-01-01T00:00:00Z","qname":"a"})", &o), "bad_ts");
  EXPECT_EQ(Decode(R"({"ts_ns":9223372036854775807,"qname":"a"})", &o), "bad_ts");
  EXPECT_EQ(Decode(R"({"ts":1e300,"qname":"a"})", &o), "bad_ts");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","latency_ms":1e13})", &o), "bad_number");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","client":"999.1.1.1"})", &o), "bad_address");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","qtype":"BOGUS"})", &o), "bad_qtype");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","qtype":70000})", &o), "bad_qtype");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","rcode":"WHAT"})", &o), "bad_rcode");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","latency_ms":-3})", &o), "bad_number");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a","client_port":65536})", &o), "bad_number");
  EXPECT_EQ(Decode(R"({"ts":1,"qname":"a"} trailing)", &o), "bad_json");
}

TEST(JsonLinesDecoder, TruncationAtEveryOffsetNeverCrashes) {
  const std::string good =
      R"({"ts":"2026-11-23T10:00:00Z","client":"192.0.2.1","qname":"a.example.com","qtype":"A","rcode":"NOERROR","latency_ms":2})";
  JsonLinesDecoder d;
  RawDnsObservation o;
  std::string_view reason;
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(d.Decode(good.substr(0, n), 0, &o, &reason)) << n;
    EXPECT_FALSE(reason.empty());
  }
  EXPECT_TRUE(d.Decode(good, 0, &o, &reason));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string flipped = good;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x40);
    d.Decode(flipped, 0, &o, &reason);  // any outcome but a crash
  }
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dnsight-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& f) const { return path_ + "/" + f; }

 private:
  std::string path_;
};

TEST(JsonLinesSource, ReadsFileCountsBadLinesAndLongLines) {
  TempDir dir;
  {
    std::ofstream f(dir / "in.jsonl");
    f << R"({"ts":1,"qname":"a"})"
      << "\n\n";
    f << "garbage\n";
    f << R"({"ts":2,"qname":")" << std::string(3000, 'x') << "\"}\n";
    f << R"({"ts":3,"qname":"c"})"
      << "\r\n";
    f << R"({"ts":4,"qname":"d"})";  // no final newline
  }
  JsonLinesSourceOptions o;
  o.path = dir / "in.jsonl";
  o.max_line_bytes = 1000;
  JsonLinesSource src(o);
  Collect c;
  ASSERT_TRUE(src.Run(c).ok());
  EXPECT_EQ(c.qnames, (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(c.bad["bad_json"], 1);
  EXPECT_EQ(c.bad["line_too_long"], 1);
}

TEST(JsonLinesSource, MissingFileIsAnError) {
  JsonLinesSourceOptions o;
  o.path = "/nonexistent/dir/x.jsonl";
  JsonLinesSource src(o);
  Collect c;
  EXPECT_FALSE(src.Run(c).ok());
}

TEST(JsonLinesSource, FollowSurvivesRotationAndTruncation) {
  TempDir dir;
  const std::string path = dir / "log.jsonl";
  {
    std::ofstream(path) << R"({"ts":1,"qname":"one"})"
                        << "\n";
  }
  JsonLinesSourceOptions o;
  o.path = path;
  o.follow = true;
  o.poll_interval_ms = 10;
  JsonLinesSource src(o);
  Collect c;
  std::thread t([&] { ASSERT_TRUE(src.Run(c).ok()); });
  const auto wait_for = [&](size_t n) {
    for (int i = 0; i < 500 && src.counters().lines < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  wait_for(1);
  {
    std::ofstream(path, std::ios::app) << R"({"ts":2,"qname":"two"})"
                                       << "\n";
  }
  wait_for(2);
  // Rotate: rename away, write one more line to the old file, create a new one.
  std::filesystem::rename(path, dir / "log.jsonl.1");
  {
    std::ofstream(dir / "log.jsonl.1", std::ios::app) << R"({"ts":3,"qname":"three"})"
                                                      << "\n";
  }
  {
    std::ofstream(path) << R"({"ts":4,"qname":"four"})"
                        << "\n";
  }
  wait_for(4);
  // copytruncate-style: truncate in place and write again.
  {
    std::ofstream(path, std::ios::trunc) << R"({"ts":5,"qname":"5"})"
                                         << "\n";
  }
  wait_for(5);
  src.RequestStop();
  t.join();
  EXPECT_EQ(c.qnames, (std::vector<std::string>{"one", "two", "three", "four", "5"}));
  EXPECT_EQ(src.counters().rotations, 1u);
  EXPECT_EQ(src.counters().truncations, 1u);
}

}  // namespace
}  // namespace dnsight
