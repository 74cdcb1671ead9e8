#include "ingest/web_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>

namespace dnsight {
namespace {

// 2026-11-23T09:00:00Z and 10:00:00Z, in seconds since the epoch.
constexpr int64_t k0900Utc = 1795424400;
constexpr int64_t k1000Utc = 1795428000;
constexpr int64_t kNs = 1'000'000'000;

const std::set<std::string>& AccessReasons() {
  static const std::set<std::string> kReasons = {
      "line_too_long",  "truncated",  "bad_time",     "bad_request_line",
      "bad_status",     "bad_number", "bad_address",  "bad_field",
      "field_too_long", "bad_json",   "missing_field"};
  return kReasons;
}

std::string Combined(const std::string& line, WebRequest* out) {
  const Status s = ParseAccessLine(line, WebLogFormat::kCombined, out);
  if (!s.ok()) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    return s.message();
  }
  return "ok";
}

std::string Json(const std::string& line, WebRequest* out) {
  const Status s = ParseAccessLine(line, WebLogFormat::kJson, out);
  if (!s.ok()) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    return s.message();
  }
  return "ok";
}

std::string Combined(const std::string& line) {
  WebRequest r;
  return Combined(line, &r);
}

std::string Json(const std::string& line) {
  WebRequest r;
  return Json(line, &r);
}

// What every accepted record must satisfy, whatever the input.
void ExpectSane(const WebRequest& r) {
  EXPECT_GE(r.status, 100);
  EXPECT_LE(r.status, 599);
  EXPECT_LE(r.vhost.size(), kMaxHostNameBytes);
  EXPECT_LE(r.node.size(), kMaxHostNameBytes);
  for (char c : r.vhost) {
    EXPECT_FALSE(c >= 'A' && c <= 'Z') << r.vhost;
  }
  EXPECT_TRUE(std::isnan(r.request_time_s) || r.request_time_s >= 0);
  EXPECT_TRUE(std::isnan(r.upstream_time_s) || r.upstream_time_s >= 0);
  EXPECT_GE(r.ts_ns, 0);
}

TEST(WebLogFormat, Names) {
  WebLogFormat f = WebLogFormat::kJson;
  EXPECT_TRUE(ParseWebLogFormat("combined", &f));
  EXPECT_EQ(f, WebLogFormat::kCombined);
  EXPECT_TRUE(ParseWebLogFormat("json", &f));
  EXPECT_EQ(f, WebLogFormat::kJson);
  EXPECT_FALSE(ParseWebLogFormat("Combined", &f));
  EXPECT_FALSE(ParseWebLogFormat("", &f));
  EXPECT_EQ(f, WebLogFormat::kJson);
}

TEST(WebLogCombined, NginxDefaultCombined) {
  WebRequest r;
  ASSERT_EQ(Combined("203.0.113.7 - - [23/Nov/2026:10:00:00 +0100] \"GET /index.html HTTP/1.1\" "
                     "200 5120 \"https://ref.example/\" \"Mozilla/5.0 (X11; Linux x86_64)\"",
                     &r),
            "ok");
  EXPECT_EQ(r.ts_ns, k0900Utc * kNs);  // 10:00 at +01:00
  EXPECT_EQ(r.client.ToString(), "203.0.113.7");
  EXPECT_EQ(r.vhost, "");
  EXPECT_EQ(r.node, "");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.bytes_sent, 5120);
  EXPECT_TRUE(std::isnan(r.request_time_s));
  EXPECT_TRUE(std::isnan(r.upstream_time_s));
  EXPECT_EQ(r.upstream_status, 0);
  EXPECT_FALSE(r.upstream_timeout);
  EXPECT_EQ(r.cache, CacheStatus::kUnknown);
  EXPECT_EQ(r.request_length, -1);
  EXPECT_FALSE(r.tls_handshake_failed);
}

TEST(WebLogCombined, ApacheCombinedWithUserAndNegativeOffset) {
  WebRequest r;
  ASSERT_EQ(Combined("192.0.2.10 - alice [23/Nov/2026:04:30:15 -0500] \"POST /login HTTP/1.1\" "
                     "302 0 \"-\" \"curl/8.5.0\"",
                     &r),
            "ok");
  EXPECT_EQ(r.ts_ns, (k0900Utc + 30 * 60 + 15) * kNs);  // 04:30:15 at -05:00
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.bytes_sent, 0);
}

TEST(WebLogCombined, ApacheCommonHasNoRefererOrAgent) {
  WebRequest r;
  ASSERT_EQ(Combined("192.0.2.11 - - [23/Nov/2026:10:00:00 +0000] \"HEAD / HTTP/1.0\" 200 -", &r),
            "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs);
  EXPECT_EQ(r.method, "HEAD");
  EXPECT_EQ(r.bytes_sent, 0);  // "-" is no body
}

TEST(WebLogCombined, ApacheVhostCombinedWithMicroseconds) {
  WebRequest r;
  ASSERT_EQ(Combined("www.Example.com:443 198.51.100.4 - - [23/Nov/2026:10:00:00 +0000] "
                     "\"GET / HTTP/2.0\" 200 - \"-\" \"-\" D=2345",
                     &r),
            "ok");
  EXPECT_EQ(r.vhost, "www.example.com");
  EXPECT_EQ(r.client.ToString(), "198.51.100.4");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs);
  EXPECT_DOUBLE_EQ(r.request_time_s, 0.002345);
  EXPECT_EQ(r.bytes_sent, 0);
}

TEST(WebLogCombined, NginxExtrasQuoted) {
  WebRequest r;
  ASSERT_EQ(Combined("2001:db8::5 - - [23/Nov/2026:10:00:01 +0000] \"GET /api/v1/items?id=7 "
                     "HTTP/1.1\" 504 167 \"-\" \"Go-http-client/1.1\" rt=60.002 "
                     "urt=\"30.001, 30.000\" us=\"504, 504\" cs=MISS host=\"API.Example.com:8443\" "
                     "node=edge-fra-1 rl=412 ssl=-",
                     &r),
            "ok");
  EXPECT_EQ(r.ts_ns, (k1000Utc + 1) * kNs);
  EXPECT_EQ(r.client.ToString(), "2001:db8::5");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.bytes_sent, 167);
  EXPECT_DOUBLE_EQ(r.request_time_s, 60.002);
  EXPECT_DOUBLE_EQ(r.upstream_time_s, 30.001 + 30.000);
  EXPECT_EQ(r.upstream_status, 504);
  EXPECT_TRUE(r.upstream_timeout);
  EXPECT_EQ(r.cache, CacheStatus::kMiss);
  EXPECT_EQ(r.vhost, "api.example.com");
  EXPECT_EQ(r.node, "edge-fra-1");
  EXPECT_EQ(r.request_length, 412);
  EXPECT_FALSE(r.tls_handshake_failed);
}

TEST(WebLogCombined, UnquotedUpstreamListsSplitBySpaces) {
  // nginx writes `urt=$upstream_response_time` unquoted as "urt=0.010, 0.020 : 0.030".
  WebRequest r;
  ASSERT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10 "
                     "\"-\" \"-\" urt=0.010, 0.020 : 0.030 us=502, 200 : 200 cs=HIT",
                     &r),
            "ok");
  EXPECT_NEAR(r.upstream_time_s, 0.060, 1e-12);
  EXPECT_EQ(r.upstream_status, 200);
  EXPECT_FALSE(r.upstream_timeout);
  EXPECT_EQ(r.cache, CacheStatus::kHit);
}

TEST(WebLogCombined, LongNamesAndTimeKeys) {
  WebRequest r;
  ASSERT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10 "
                     "\"-\" \"-\" request_time=0.5 upstream_response_time=0.25 "
                     "upstream_status=200 upstream_cache_status=EXPIRED vhost=shop.example.org. "
                     "request_length=77 ssl_handshake=FAIL",
                     &r),
            "ok");
  EXPECT_DOUBLE_EQ(r.request_time_s, 0.5);
  EXPECT_DOUBLE_EQ(r.upstream_time_s, 0.25);
  EXPECT_EQ(r.upstream_status, 200);
  EXPECT_EQ(r.cache, CacheStatus::kMiss);
  EXPECT_EQ(r.vhost, "shop.example.org");
  EXPECT_EQ(r.request_length, 77);
  EXPECT_TRUE(r.tls_handshake_failed);
  // Apache %T (whole seconds) under T=.
  ASSERT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 10 "
                     "\"-\" \"-\" T=3",
                     &r),
            "ok");
  EXPECT_DOUBLE_EQ(r.request_time_s, 3.0);
}

TEST(WebLogCombined, MainFormatWithForwardedForAndDashes) {
  WebRequest r;
  ASSERT_EQ(Combined("10.1.2.3 - - [23/Nov/2026:10:00:00 +0000] \"GET /slow HTTP/1.1\" 499 0 "
                     "\"-\" \"-\" \"10.0.0.1, 10.0.0.2\" rt=1.000 urt=- us=- cs=-",
                     &r),
            "ok");
  EXPECT_EQ(r.status, 499);
  EXPECT_DOUBLE_EQ(r.request_time_s, 1.0);
  EXPECT_TRUE(std::isnan(r.upstream_time_s));
  EXPECT_EQ(r.upstream_status, 0);
  EXPECT_FALSE(r.upstream_timeout);
  EXPECT_EQ(r.cache, CacheStatus::kUnknown);
}

TEST(WebLogCombined, UpstreamTimeout) {
  const std::string head = "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" ";
  WebRequest r;
  // 504 from nginx after an upstream took part.
  ASSERT_EQ(Combined(head + "504 0 \"-\" \"-\" urt=60.000", &r), "ok");
  EXPECT_TRUE(r.upstream_timeout);
  // 504 with no upstream at all (e.g. returned by config) is not an upstream timeout.
  ASSERT_EQ(Combined(head + "504 0 \"-\" \"-\" urt=-", &r), "ok");
  EXPECT_FALSE(r.upstream_timeout);
  // An upstream timed out and the next one answered.
  ASSERT_EQ(Combined(head + "200 0 \"-\" \"-\" us=\"504, 200\" urt=\"30.000, 0.010\"", &r), "ok");
  EXPECT_TRUE(r.upstream_timeout);
  EXPECT_EQ(r.upstream_status, 200);
  // A list ending in "-" keeps the last status given.
  ASSERT_EQ(Combined(head + "502 0 \"-\" \"-\" us=\"502, -\"", &r), "ok");
  EXPECT_EQ(r.upstream_status, 502);
}

TEST(WebLogCombined, CacheStatuses) {
  const std::string head =
      "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" cs=";
  const std::pair<const char*, CacheStatus> cases[] = {
      {"HIT", CacheStatus::kHit},      {"STALE", CacheStatus::kHit},
      {"UPDATING", CacheStatus::kHit}, {"REVALIDATED", CacheStatus::kHit},
      {"hit", CacheStatus::kHit},      {"MISS", CacheStatus::kMiss},
      {"EXPIRED", CacheStatus::kMiss}, {"BYPASS", CacheStatus::kMiss},
      {"SCARCE", CacheStatus::kOther}, {"-", CacheStatus::kUnknown},
      {"\"\"", CacheStatus::kUnknown},
  };
  for (const auto& [text, want] : cases) {
    WebRequest r;
    ASSERT_EQ(Combined(head + text, &r), "ok") << text;
    EXPECT_EQ(r.cache, want) << text;
  }
}

TEST(WebLogCombined, JunkRequestLinesStillCount) {
  WebRequest r;
  // TLS bytes sent to a plain-HTTP port, as nginx escapes them.
  ASSERT_EQ(
      Combined("198.51.100.9 - - [23/Nov/2026:10:00:00 +0000] "
               "\"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" 400 157 \"-\" \"-\"",
               &r),
      "ok");
  EXPECT_EQ(r.method, "");
  EXPECT_EQ(r.status, 400);
  ASSERT_EQ(Combined("198.51.100.9 - - [23/Nov/2026:10:00:00 +0000] \"-\" 400 0 \"-\" \"-\"", &r),
            "ok");
  EXPECT_EQ(r.method, "");
  // Apache escapes a quote inside the request as \".
  ASSERT_EQ(Combined("198.51.100.9 - - [23/Nov/2026:10:00:00 +0000] \"GET /a\\\"b HTTP/1.1\" 404 "
                     "9 \"-\" \"x\\\"y\"",
                     &r),
            "ok");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.status, 404);
}

TEST(WebLogCombined, UnknownExtrasIgnoredAndClientForms) {
  WebRequest r;
  ASSERT_EQ(Combined("- - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" "
                     "foo=bar zzz=\"a b c\" =odd bare words",
                     &r),
            "ok");
  EXPECT_TRUE(r.client.empty());
  ASSERT_EQ(Combined("unix: - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1", &r), "ok");
  EXPECT_TRUE(r.client.empty());
  ASSERT_EQ(
      Combined("::ffff:192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1", &r),
      "ok");
  EXPECT_EQ(r.client.family, IpFamily::kV6);
}

TEST(WebLogCombined, FractionalSecondsAndLeapDay) {
  WebRequest r;
  ASSERT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00.250 +0000] \"GET / HTTP/1.1\" 200 1", &r),
            "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs + 250'000'000);
  // 2028-02-29T00:00:00Z = 1835395200.
  ASSERT_EQ(Combined("192.0.2.1 - - [29/Feb/2028:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1", &r),
            "ok");
  EXPECT_EQ(r.ts_ns, int64_t{1835395200} * kNs);
  // Offset crossing midnight and the year: 00:30 at +01:00 is 23:30 the day before.
  // 2026-12-31T23:30:00Z = 1798759800.
  ASSERT_EQ(Combined("192.0.2.1 - - [01/Jan/2027:00:30:00 +0100] \"GET / HTTP/1.1\" 200 1", &r),
            "ok");
  EXPECT_EQ(r.ts_ns, int64_t{1798759800} * kNs);
}

TEST(WebLogCombined, RejectsWithReasons) {
  const std::string head = "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" ";
  EXPECT_EQ(Combined(""), "truncated");
  EXPECT_EQ(Combined("   "), "truncated");
  EXPECT_EQ(Combined("192.0.2.1 - -"), "truncated");
  EXPECT_EQ(Combined("192.0.2.1 - - 23/Nov/2026:10:00:00"), "truncated");
  EXPECT_EQ(Combined("a b c d e [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000"), "truncated");
  EXPECT_EQ(Combined("192.0.2.1 - - [32/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [29/Feb/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Foo/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:24:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/1969:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2300:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_time");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] GET / HTTP/1.1\" 200 1"),
            "bad_request_line");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1 200 1"),
            "truncated");
  EXPECT_EQ(Combined("192.0.2.1 - - [23/Nov/2026:10:00:00 +0000]"), "truncated");
  EXPECT_EQ(Combined(head), "truncated");
  EXPECT_EQ(Combined(head + "2OO 1"), "bad_status");
  EXPECT_EQ(Combined(head + "99 1"), "bad_status");
  EXPECT_EQ(Combined(head + "600 1"), "bad_status");
  EXPECT_EQ(Combined(head + "0200 1"), "bad_status");
  EXPECT_EQ(Combined(head + "200"), "truncated");
  EXPECT_EQ(Combined(head + "200 12x"), "bad_number");
  EXPECT_EQ(Combined(head + "200 -5"), "bad_number");
  EXPECT_EQ(Combined(head + "200 99999999999999999999"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 \"-\" \"unterminated"), "truncated");
  EXPECT_EQ(Combined(head + "200 1 rt=abc"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 rt=-1"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 rt=inf"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 rt=nan"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 rt=1e300"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 D=1.5"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 urt=\"0.1, x\""), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 urt=\"0.1,\""), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 us=5o4"), "bad_status");
  EXPECT_EQ(Combined(head + "200 1 rl=many"), "bad_number");
  EXPECT_EQ(Combined(head + "200 1 host=\"bad host\""), "bad_field");
  EXPECT_EQ(Combined(head + "200 1 host=a/b"), "bad_field");
  EXPECT_EQ(Combined(head + "200 1 host=a.example:99999"), "bad_field");
  EXPECT_EQ(Combined(head + "200 1 host=[::1"), "bad_field");
  EXPECT_EQ(Combined(head + "200 1 node=\"a b\""), "bad_field");
  EXPECT_EQ(Combined(head + "200 1 host=\"abc"), "truncated");
  EXPECT_EQ(Combined("not-an-ip - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_address");
  EXPECT_EQ(Combined("999.1.1.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_address");
  EXPECT_EQ(Combined(std::string("1.2.3.4\0x", 9) +
                     " - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1"),
            "bad_address");
  EXPECT_EQ(Combined("bad!vhost:80 192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / "
                     "HTTP/1.1\" 200 1"),
            "bad_field");
}

TEST(WebLogCombined, HostNormalization) {
  const std::string head =
      "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" host=";
  const std::pair<const char*, const char*> cases[] = {
      {"Example.COM", "example.com"},
      {"example.com:8080", "example.com"},
      {"example.com.", "example.com"},
      {"[2001:DB8::1]:443", "[2001:db8::1]"},
      {"[::1]", "[::1]"},
      {"2001:db8::1", "2001:db8::1"},
      {"-", ""},
      {"\"\"", ""},
      {"_", "_"},
      {"192.0.2.5:80", "192.0.2.5"},
  };
  for (const auto& [in, want] : cases) {
    WebRequest r;
    ASSERT_EQ(Combined(head + in, &r), "ok") << in;
    EXPECT_EQ(r.vhost, want) << in;
  }
}

TEST(WebLogCombined, OversizeFields) {
  const std::string head =
      "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" ";
  WebRequest r;
  const std::string max_host(kMaxHostNameBytes, 'a');
  ASSERT_EQ(Combined(head + "host=" + max_host, &r), "ok");
  EXPECT_EQ(r.vhost.size(), kMaxHostNameBytes);
  EXPECT_EQ(Combined(head + "host=" + max_host + "a"), "field_too_long");
  // The port does not count against the name.
  EXPECT_EQ(Combined(head + "host=" + max_host + ":443"), "ok");
  EXPECT_EQ(Combined(head + "node=" + std::string(kMaxHostNameBytes + 1, 'n')), "field_too_long");
  EXPECT_EQ(Combined(std::string(300, 'v') + " 192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] "
                                             "\"GET / HTTP/1.1\" 200 1"),
            "field_too_long");
  // A long URL is fine up to the line limit; one byte more is not.
  const std::string prefix = "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET /";
  const std::string suffix = " HTTP/1.1\" 200 1";
  std::string at_limit =
      prefix + std::string(kMaxWebLineBytes - prefix.size() - suffix.size(), 'u') + suffix;
  ASSERT_EQ(at_limit.size(), kMaxWebLineBytes);
  EXPECT_EQ(Combined(at_limit), "ok");
  at_limit.insert(prefix.size(), "u");
  EXPECT_EQ(Combined(at_limit), "line_too_long");
  EXPECT_EQ(Json(std::string(kMaxWebLineBytes + 1, ' ')), "line_too_long");
}

TEST(WebLogCombined, InvalidUtf8) {
  const std::string head = "192.0.2.1 - - [23/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 ";
  // Bytes the parser does not keep may be anything.
  EXPECT_EQ(Combined(head + "\"-\" \"agent \xff\xfe\xc0\x80\""), "ok");
  // Bytes it would keep must form a host name.
  EXPECT_EQ(Combined(head + "\"-\" \"-\" host=\"\xff.example\""), "bad_field");
  EXPECT_EQ(Combined(head + "\"-\" \"-\" node=\xc3\xa9t\xc3\xa9"), "bad_field");
}

TEST(WebLogCombined, TruncationAtEveryOffset) {
  const std::string good =
      "203.0.113.7 - - [23/Nov/2026:10:00:00 +0100] \"GET /index.html HTTP/1.1\" 200 5120 "
      "\"https://ref.example/\" \"Mozilla/5.0\"";
  const size_t status_at = good.find(" 200 ") + 1;
  const size_t bytes_at = status_at + 4;
  const size_t bytes_end = bytes_at + 4;
  for (size_t n = 0; n <= good.size(); ++n) {
    WebRequest r;
    const std::string got = Combined(good.substr(0, n), &r);
    std::string want;
    if (n <= status_at) {
      want = "truncated";
    } else if (n < status_at + 3) {
      want = "bad_status";  // "2" or "20"
    } else if (n <= bytes_at) {
      want = "truncated";  // no body byte count
    } else if (n <= bytes_end) {
      want = "ok";
    } else {
      // Inside the referer or the user agent the closing quote is missing.
      const std::string tail = good.substr(bytes_end, n - bytes_end);
      const auto quotes = std::count(tail.begin(), tail.end(), '"');
      want = quotes % 2 == 1 ? "truncated" : "ok";
    }
    EXPECT_EQ(got, want) << "cut at " << n << ": " << good.substr(0, n);
    if (got == "ok") {
      ExpectSane(r);
      if (n > bytes_end) {
        EXPECT_EQ(r.bytes_sent, 5120);
      }
    }
  }
}

TEST(WebLogCombined, FlippedBytesNeverCrash) {
  const std::string good =
      "www.example.com:443 2001:db8::5 - - [23/Nov/2026:10:00:01 +0000] \"GET /a HTTP/1.1\" 504 "
      "167 \"-\" \"Go\" rt=60.002 urt=\"30.001, 30.000\" us=\"504, 504\" cs=MISS host=\"a.b:1\" "
      "node=n1 rl=412 ssl=failed D=12";
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x20, 0x40, 0x80, 0xFF}) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      WebRequest r;
      const std::string got = Combined(flipped, &r);
      if (got == "ok") {
        ExpectSane(r);
      } else {
        EXPECT_TRUE(AccessReasons().count(got)) << got;
      }
    }
  }
  // Specific flips and their reasons.
  std::string s = good;
  s[good.find(" 504 ") + 1] = 'X';
  EXPECT_EQ(Combined(s), "bad_status");
  s = good;
  s[good.find('[')] = '(';
  EXPECT_EQ(Combined(s), "bad_time");
  s = good;
  s[good.find("Nov")] = 'n';
  EXPECT_EQ(Combined(s), "bad_time");
  s = good;
  s[good.find("\"GET")] = '\'';
  EXPECT_EQ(Combined(s), "bad_request_line");
  s = good;
  s[good.find("60.002")] = 'x';
  EXPECT_EQ(Combined(s), "bad_number");
}

TEST(WebLogCombined, GarbageNeverCrashes) {
  uint64_t x = 0x9E3779B97F4A7C15ull;
  const auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const char alphabet[] = " \"[]=:-,./0123456789abcxyzGETHIMS\\\t\xff";
  for (int round = 0; round < 3000; ++round) {
    std::string line(next() % 200, '\0');
    for (char& c : line) {
      const uint64_t r = next();
      c = r % 3 == 0 ? static_cast<char>(r >> 8) : alphabet[(r >> 8) % (sizeof alphabet - 1)];
    }
    for (WebLogFormat f : {WebLogFormat::kCombined, WebLogFormat::kJson}) {
      WebRequest r;
      const Status st = ParseAccessLine(line, f, &r);
      if (st.ok()) {
        ExpectSane(r);
      } else {
        EXPECT_TRUE(AccessReasons().count(st.message())) << st.message();
      }
    }
  }
}

TEST(WebLogJson, NginxEscapeJsonStrings) {
  WebRequest r;
  ASSERT_EQ(Json(R"({"time_iso8601":"2026-11-23T10:00:00+01:00","msec":"1795424400.123",)"
                 R"("host":"Shop.Example.org","hostname":"edge-ams-2","remote_addr":"192.0.2.44",)"
                 R"("request_method":"PUT","request":"PUT /cart HTTP/2.0","status":"201",)"
                 R"("request_time":"0.250","upstream_response_time":"0.100, 0.120",)"
                 R"("upstream_status":"502, 201","upstream_cache_status":"BYPASS",)"
                 R"("body_bytes_sent":"17","bytes_sent":"380","request_length":"900",)"
                 R"("ssl_handshake":"","http_user_agent":"x"})",
                 &r),
            "ok");
  EXPECT_EQ(r.ts_ns, k0900Utc * kNs + 123'000'000);  // msec is the most precise
  EXPECT_EQ(r.vhost, "shop.example.org");
  EXPECT_EQ(r.node, "edge-ams-2");
  EXPECT_EQ(r.client.ToString(), "192.0.2.44");
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.status, 201);
  EXPECT_DOUBLE_EQ(r.request_time_s, 0.25);
  EXPECT_DOUBLE_EQ(r.upstream_time_s, 0.100 + 0.120);
  EXPECT_EQ(r.upstream_status, 201);
  EXPECT_FALSE(r.upstream_timeout);
  EXPECT_EQ(r.cache, CacheStatus::kMiss);
  EXPECT_EQ(r.bytes_sent, 17);  // the body count wins over bytes_sent
  EXPECT_EQ(r.request_length, 900);
  EXPECT_FALSE(r.tls_handshake_failed);
}

TEST(WebLogJson, JsonNumbersAndFallbacks) {
  WebRequest r;
  ASSERT_EQ(
      Json(R"({"ts":1795428000.5,"status":200,"request_time":0.004,)"
           R"("upstream_response_time":null,"bytes_sent":300,"server_name":"www.example.net",)"
           R"("request":"DELETE /x HTTP/1.1","remote_addr":"-","upstream_status":504,)"
           R"("ssl_handshake":"failed","node":"edge-1","cache_status":"HIT"})",
           &r),
      "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs + 500'000'000);
  EXPECT_EQ(r.status, 200);
  EXPECT_DOUBLE_EQ(r.request_time_s, 0.004);
  EXPECT_TRUE(std::isnan(r.upstream_time_s));
  EXPECT_EQ(r.bytes_sent, 300);
  EXPECT_EQ(r.vhost, "www.example.net");
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_TRUE(r.client.empty());
  EXPECT_EQ(r.upstream_status, 504);
  EXPECT_TRUE(r.upstream_timeout);
  EXPECT_TRUE(r.tls_handshake_failed);
  EXPECT_EQ(r.node, "edge-1");
  EXPECT_EQ(r.cache, CacheStatus::kHit);

  ASSERT_EQ(Json(R"({"time_local":"23/Nov/2026:10:00:00 +0100","status":200})", &r), "ok");
  EXPECT_EQ(r.ts_ns, k0900Utc * kNs);
  ASSERT_EQ(Json(R"({"time":"2026-11-23T10:00:00Z","status":"404","host":"-",)"
                 R"("server_name":"fallback.example"})",
                 &r),
            "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs);
  EXPECT_EQ(r.vhost, "fallback.example");
  ASSERT_EQ(Json(R"({"msec":1795428000.123,"status":200})", &r), "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs + 123'000'000);
  ASSERT_EQ(Json(R"({"time":"1795428000","status":200,"body_bytes_sent":"-"})", &r), "ok");
  EXPECT_EQ(r.ts_ns, k1000Utc * kNs);
  EXPECT_EQ(r.bytes_sent, 0);
}

TEST(WebLogJson, RejectsWithReasons) {
  EXPECT_EQ(Json(""), "truncated");
  EXPECT_EQ(Json("not json"), "bad_json");
  EXPECT_EQ(Json("[1,2]"), "bad_json");
  EXPECT_EQ(Json(R"({"status":200)"), "bad_json");
  EXPECT_EQ(Json(R"({"status":200} trailing)"), "bad_json");
  EXPECT_EQ(Json("{\"time\":\"\xff\",\"status\":200}"), "bad_json");
  EXPECT_EQ(Json(R"({"status":200})"), "missing_field");
  EXPECT_EQ(Json(R"({"time":"2026-11-23T10:00:00Z"})"), "missing_field");
  const std::string t = R"({"time":"2026-11-23T10:00:00Z",)";
  EXPECT_EQ(Json(R"({"time":"yesterday","status":200})"), "bad_time");
  EXPECT_EQ(Json(R"({"time":true,"status":200})"), "bad_time");
  EXPECT_EQ(Json(R"({"msec":-5,"status":200})"), "bad_time");
  EXPECT_EQ(Json(R"({"msec":1e300,"status":200})"), "bad_time");
  EXPECT_EQ(Json(R"({"time":"9999-01-01T00:00:00Z","status":200})"), "bad_time");
  EXPECT_EQ(Json(t + R"("status":"OK"})"), "bad_status");
  EXPECT_EQ(Json(t + R"("status":700})"), "bad_status");
  EXPECT_EQ(Json(t + R"("status":-200})"), "bad_status");
  EXPECT_EQ(Json(t + R"("status":[200]})"), "bad_status");
  EXPECT_EQ(Json(t + R"("status":200,"request_time":"fast"})"), "bad_number");
  EXPECT_EQ(Json(t + R"("status":200,"request_time":-1})"), "bad_number");
  EXPECT_EQ(Json(t + R"("status":200,"request_time":1e300})"), "bad_number");
  EXPECT_EQ(Json(t + R"("status":200,"body_bytes_sent":1.5})"), "bad_number");
  EXPECT_EQ(Json(t + R"("status":200,"upstream_status":"200, x"})"), "bad_status");
  EXPECT_EQ(Json(t + R"("status":200,"host":5})"), "bad_field");
  EXPECT_EQ(Json(t + R"("status":200,"host":"exa mple.com"})"), "bad_field");
  EXPECT_EQ(Json(t + R"("status":200,"remote_addr":"999.0.0.1"})"), "bad_address");
  EXPECT_EQ(Json(t + R"("status":200,"host":")" + std::string(254, 'h') + "\"}"), "field_too_long");
  EXPECT_EQ(Json(t + R"("status":200,"host":")" + std::string(253, 'h') + "\"}"), "ok");
}

TEST(WebLogJson, TruncationAndFlipsNeverCrash) {
  const std::string good =
      R"({"msec":"1795424400.123","host":"a.example","status":"504","request_time":"1.5",)"
      R"("upstream_response_time":"0.5 : 1.0","upstream_status":"504 : 502",)"
      R"("remote_addr":"2001:db8::1","request_method":"GET","body_bytes_sent":"10"})";
  WebRequest r;
  ASSERT_EQ(Json(good, &r), "ok");
  EXPECT_EQ(r.upstream_status, 502);
  EXPECT_TRUE(r.upstream_timeout);
  EXPECT_DOUBLE_EQ(r.upstream_time_s, 1.5);
  for (size_t n = 0; n < good.size(); ++n) {
    // Every proper prefix is unfinished JSON (or empty).
    EXPECT_EQ(Json(good.substr(0, n)), n == 0 ? "truncated" : "bad_json") << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x40, 0x80}) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      const std::string got = Json(flipped, &r);
      if (got == "ok") {
        ExpectSane(r);
      } else {
        EXPECT_TRUE(AccessReasons().count(got)) << got;
      }
    }
  }
}

// --- nginx error log -----------------------------------------------------------------

std::string Error(const std::string& line, int64_t offset, WebErrorEvent* out) {
  const Status s = ParseNginxErrorLine(line, offset, out);
  return s.ok() ? "ok" : s.message();
}

std::string Error(const std::string& line) {
  WebErrorEvent e;
  return Error(line, 0, &e);
}

TEST(WebLogNginxError, HandshakeFailures) {
  WebErrorEvent e;
  ASSERT_EQ(Error("2026/11/23 10:00:00 [info] 1234#0: *5 SSL_do_handshake() failed (SSL: "
                  "error:0A00006C:SSL routines::bad key share) while SSL handshaking, client: "
                  "192.0.2.1, server: 0.0.0.0:443",
                  3600, &e),
            "ok");
  EXPECT_EQ(e.ts_ns, k0900Utc * kNs);
  EXPECT_TRUE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "");  // an address is not a vhost
  EXPECT_EQ(e.node, "");

  ASSERT_EQ(Error("2026/11/23 10:00:00 [crit] 1234#0: *7 SSL_do_handshake() failed (SSL: "
                  "error:0A000126:SSL routines::unexpected eof while reading) while SSL "
                  "handshaking, client: 2001:db8::9, server: WWW.example.com:443",
                  0, &e),
            "ok");
  EXPECT_EQ(e.ts_ns, k1000Utc * kNs);
  EXPECT_TRUE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "www.example.com");

  ASSERT_EQ(Error("2026/11/23 10:00:00 [info] 99#99: *9 peer closed connection in SSL handshake "
                  "while SSL handshaking, client: 198.51.100.2, server: [::]:443",
                  0, &e),
            "ok");
  EXPECT_TRUE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "");

  ASSERT_EQ(Error("2026/11/23 10:00:00 [info] 99#99: *10 recv() failed (104: Connection reset by "
                  "peer) while SSL handshaking, client: 198.51.100.2, server: _",
                  0, &e),
            "ok");
  EXPECT_TRUE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "");
}

TEST(WebLogNginxError, OtherErrorsAreNotHandshakeFailures) {
  WebErrorEvent e;
  ASSERT_EQ(Error("2026/11/23 10:00:00 [crit] 1234#0: *11 SSL_read() failed (SSL: "
                  "error:0A000119:SSL routines::decryption failed or bad record mac) while "
                  "processing HTTP/2 connection, client: 192.0.2.3, server: 0.0.0.0:443",
                  0, &e),
            "ok");
  EXPECT_FALSE(e.tls_handshake_failure);

  ASSERT_EQ(Error("2026/11/23 10:00:00 [error] 1234#0: *13 upstream timed out (110: Connection "
                  "timed out) while reading response header from upstream, client: 192.0.2.4, "
                  "server: shop.example.org, request: \"GET /cart HTTP/1.1\", upstream: "
                  "\"http://10.0.0.5:8080/cart\", host: \"Shop.Example.org:8443\"",
                  0, &e),
            "ok");
  EXPECT_FALSE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "shop.example.org");

  // The upstream side of a proxied TLS connection is not a client handshake.
  ASSERT_EQ(Error("2026/11/23 10:00:00 [error] 1234#0: *15 SSL_do_handshake() failed (SSL: "
                  "error:0A000086:SSL routines::certificate verify failed) while SSL handshaking "
                  "to upstream, client: 192.0.2.5, server: api.example.com, request: \"GET / "
                  "HTTP/1.1\", upstream: \"https://10.0.0.7:443/\", host: \"192.0.2.80\"",
                  0, &e),
            "ok");
  EXPECT_FALSE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "api.example.com");  // host: is an address, so server: names it

  ASSERT_EQ(Error("2026/11/23 10:00:00 [notice] 1#1: signal process started", 0, &e), "ok");
  EXPECT_FALSE(e.tls_handshake_failure);
  EXPECT_EQ(e.vhost, "");
}

TEST(WebLogNginxError, LocalTimeConversion) {
  WebErrorEvent e;
  // 00:30 on 1 Jan at +01:00 is 23:30 on 31 Dec UTC (1798759800).
  ASSERT_EQ(Error("2027/01/01 00:30:00 [warn] 1#1: x", 3600, &e), "ok");
  EXPECT_EQ(e.ts_ns, int64_t{1798759800} * kNs);
  ASSERT_EQ(Error("2026/12/31 18:30:00 [warn] 1#1: x", -5 * 3600, &e), "ok");
  EXPECT_EQ(e.ts_ns, int64_t{1798759800} * kNs);
  EXPECT_EQ(Error("1970/01/01 00:00:00 [warn] 1#1: x", 3600, &e), "bad_time");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [warn] 1#1: x", 2 * 86400, &e), "bad_time");
}

TEST(WebLogNginxError, RejectsWithReasons) {
  EXPECT_EQ(Error(""), "truncated");
  EXPECT_EQ(Error("2026/11/23"), "truncated");
  EXPECT_EQ(Error("2026/13/23 10:00:00 [info] 1#1: x"), "bad_time");
  EXPECT_EQ(Error("2026-11-23 10:00:00 [info] 1#1: x"), "bad_time");
  EXPECT_EQ(Error("2026/02/30 10:00:00 [info] 1#1: x"), "bad_time");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [loud] 1#1: x"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [info] x: y"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [info] 1#x: y"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [info] 1:1: x"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00 info 1#1: x"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00x[info] 1#1: x"), "bad_field");
  EXPECT_EQ(Error("2026/11/23 10:00:00 [info"), "truncated");
  EXPECT_EQ(Error(std::string(kMaxWebLineBytes + 1, '2')), "line_too_long");
}

TEST(WebLogNginxError, TruncationAtEveryOffset) {
  const std::string good =
      "2026/11/23 10:00:00 [info] 1234#0: *5 SSL_do_handshake() failed (SSL: error:0A00006C:SSL "
      "routines::bad key share) while SSL handshaking, client: 192.0.2.1, server: "
      "www.example.com:443, host: \"a.example\"";
  const size_t header_end = good.find(": ") + 1;  // just past "1234#0:"
  for (size_t n = 0; n <= good.size(); ++n) {
    WebErrorEvent e;
    const std::string got = Error(good.substr(0, n), 0, &e);
    if (n < header_end) {
      EXPECT_EQ(got, "truncated") << n << ": " << good.substr(0, n);
    } else {
      EXPECT_EQ(got, "ok") << n;
    }
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x20, 0x80}) {
      std::string flipped = good;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      WebErrorEvent e;
      const std::string got = Error(flipped, 0, &e);
      EXPECT_TRUE(got == "ok" || got == "truncated" || got == "bad_time" || got == "bad_field")
          << got;
      EXPECT_LE(e.vhost.size(), kMaxHostNameBytes);
    }
  }
}

}  // namespace
}  // namespace dnsight
