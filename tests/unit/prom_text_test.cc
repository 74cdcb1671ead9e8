#include "ingest/prom_text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace dnsight {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

const std::set<std::string>& PromReasons() {
  static const std::set<std::string> kReasons = {
      "bad_name",        "bad_labels",      "bad_escape", "bad_utf8",      "label_value_too_long",
      "too_many_labels", "duplicate_label", "bad_value",  "bad_timestamp", "trailing_garbage",
      "bad_comment"};
  return kReasons;
}

// The reason a one-line body is rejected for, or "ok".
std::string LineReason(const std::string& line) {
  std::vector<PromSample> out;
  PromParseStats stats;
  EXPECT_TRUE(ParsePromText(line, &out, &stats).ok());
  if (stats.malformed_lines == 0) return "ok";
  EXPECT_EQ(stats.malformed_lines, 1u);
  EXPECT_TRUE(out.empty());
  return stats.first_error;
}

TEST(PromText, ParsesExpositionExample) {
  const std::string body =
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3   1395066363000\n"
      "\n"
      "# Escaping in label values:\n"
      "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
      "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
      "\r\n"
      "# Minimalistic line:\n"
      "metric_without_timestamp_and_labels 12.47\r\n"
      "# A weird metric from before the epoch:\n"
      "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
      "# TYPE rpc_duration_seconds summary\n"
      "rpc_duration_seconds{quantile=\"0.5\"} NaN\n"
      "negative -Inf\n"
      "trailing_comma{a=\"b\",} -1.5e-3\n"
      "  spaced_out \t{ a = \"x\" , b=\"\" }\t7  \n"
      "empty_labels{} 2\n"
      "colons:in:name 0x10p0\n"  // hex is not a Prometheus float
      "last_line_without_newline 42";
  std::vector<PromSample> out;
  PromParseStats stats;
  ASSERT_TRUE(ParsePromText(body, &out, &stats).ok());
  EXPECT_EQ(stats.malformed_lines, 1u);
  EXPECT_EQ(stats.first_error, "bad_value");
  EXPECT_EQ(stats.first_error_line, 19u);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(stats.samples, 11u);

  EXPECT_EQ(out[0].name, "http_requests_total");
  EXPECT_EQ(out[0].labels, (Labels{{"method", "post"}, {"code", "200"}}));
  EXPECT_EQ(out[0].value, 1027);
  EXPECT_EQ(out[0].ts_ms, 1395066363000);
  EXPECT_EQ(out[1].value, 3);
  EXPECT_EQ(out[1].Label("code"), "400");
  EXPECT_EQ(out[1].Label("absent"), "");

  EXPECT_EQ(out[2].labels,
            (Labels{{"path", "C:\\DIR\\FILE.TXT"}, {"error", "Cannot find file:\n\"FILE.TXT\""}}));
  EXPECT_EQ(out[2].value, 1.458255915e9);
  EXPECT_EQ(out[2].ts_ms, -1);

  EXPECT_EQ(out[3].name, "metric_without_timestamp_and_labels");
  EXPECT_TRUE(out[3].labels.empty());
  EXPECT_EQ(out[3].value, 12.47);

  EXPECT_TRUE(std::isinf(out[4].value) && out[4].value > 0);
  EXPECT_EQ(out[4].ts_ms, -3982045);
  EXPECT_TRUE(std::isnan(out[5].value));
  EXPECT_TRUE(std::isinf(out[6].value) && out[6].value < 0);
  EXPECT_EQ(out[7].labels, (Labels{{"a", "b"}}));
  EXPECT_EQ(out[7].value, -1.5e-3);
  EXPECT_EQ(out[8].name, "spaced_out");
  EXPECT_EQ(out[8].labels, (Labels{{"a", "x"}, {"b", ""}}));
  EXPECT_EQ(out[8].value, 7);
  EXPECT_EQ(out[9].name, "empty_labels");
  EXPECT_TRUE(out[9].labels.empty());
  EXPECT_EQ(out[10].name, "last_line_without_newline");
  EXPECT_EQ(out[10].value, 42);
}

TEST(PromText, ValueForms) {
  std::vector<PromSample> out;
  PromParseStats stats;
  ASSERT_TRUE(ParsePromText("a 1\nb +2.5\nc -0\nd .5\ne 1E3\nf nan\ng inf\nh +inf\ni -INF\n"
                            "j 9007199254740993\nk 1e-5",
                            &out, &stats)
                  .ok());
  ASSERT_EQ(stats.malformed_lines, 0u);
  ASSERT_EQ(out.size(), 11u);
  EXPECT_EQ(out[0].value, 1);
  EXPECT_EQ(out[1].value, 2.5);
  EXPECT_EQ(out[2].value, 0);
  EXPECT_EQ(out[3].value, 0.5);
  EXPECT_EQ(out[4].value, 1000);
  EXPECT_TRUE(std::isnan(out[5].value));
  EXPECT_EQ(out[6].value, INFINITY);
  EXPECT_EQ(out[7].value, INFINITY);
  EXPECT_EQ(out[8].value, -INFINITY);
  EXPECT_EQ(out[9].value, 9007199254740992.0);  // nearest double
  EXPECT_EQ(out[10].value, 1e-5);
}

TEST(PromText, MalformedLinesAreCountedWithReasons) {
  EXPECT_EQ(LineReason("bad-name 1"), "bad_name");
  EXPECT_EQ(LineReason("1abc 1"), "bad_name");
  EXPECT_EQ(LineReason("{a=\"b\"} 1"), "bad_name");
  EXPECT_EQ(LineReason(std::string(kMaxPromNameBytes + 1, 'm') + " 1"), "bad_name");
  EXPECT_EQ(LineReason("x{1a=\"b\"} 1"), "bad_name");
  EXPECT_EQ(LineReason("x{a:b=\"c\"} 1"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b\" 1"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b\""), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=b} 1"), "bad_labels");
  EXPECT_EQ(LineReason("x{a} 1"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b\" c=\"d\"} 1"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b\\"), "bad_labels");
  EXPECT_EQ(LineReason("x{a=\"b\\t\"} 1"), "bad_escape");
  EXPECT_EQ(LineReason("x{a=\"\xff\"} 1"), "bad_utf8");
  EXPECT_EQ(LineReason("x{a=\"\xc0\x80\"} 1"), "bad_utf8");      // overlong NUL
  EXPECT_EQ(LineReason("x{a=\"\xed\xa0\x80\"} 1"), "bad_utf8");  // a surrogate
  EXPECT_EQ(LineReason("x{a=\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"} 1"), "ok");
  EXPECT_EQ(LineReason("x{a=\"b\",a=\"c\"} 1"), "duplicate_label");
  EXPECT_EQ(LineReason("x"), "bad_value");
  EXPECT_EQ(LineReason("x{} "), "bad_value");
  EXPECT_EQ(LineReason("x abc"), "bad_value");
  EXPECT_EQ(LineReason("x 1e999"), "bad_value");
  EXPECT_EQ(LineReason("x infinity"), "bad_value");
  EXPECT_EQ(LineReason("x 1,5"), "bad_value");
  EXPECT_EQ(LineReason("x 1 12.5"), "bad_timestamp");
  EXPECT_EQ(LineReason("x 1 99999999999999999999"), "bad_timestamp");
  EXPECT_EQ(LineReason("x 1 2 3"), "trailing_garbage");
  EXPECT_EQ(LineReason("# TYPE x sometype"), "bad_comment");
  EXPECT_EQ(LineReason("# TYPE"), "bad_comment");
  EXPECT_EQ(LineReason("# TYPE x counter extra"), "bad_comment");
  EXPECT_EQ(LineReason("# HELP 9x help"), "bad_comment");
  EXPECT_EQ(LineReason("# HELP x any text at all"), "ok");
  EXPECT_EQ(LineReason("# EOF"), "ok");
  EXPECT_EQ(LineReason("#"), "ok");
}

TEST(PromText, Bounds) {
  std::string labels;
  for (size_t i = 0; i < kMaxPromLabels; ++i) labels += "l" + std::to_string(i) + "=\"v\",";
  EXPECT_EQ(LineReason("x{" + labels + "} 1"), "ok");
  EXPECT_EQ(LineReason("x{" + labels + "one_more=\"v\"} 1"), "too_many_labels");
  EXPECT_EQ(LineReason("x{a=\"" + std::string(kMaxPromLabelValueBytes, 'v') + "\"} 1"), "ok");
  EXPECT_EQ(LineReason("x{a=\"" + std::string(kMaxPromLabelValueBytes + 1, 'v') + "\"} 1"),
            "label_value_too_long");
  // Escapes count once unescaped: 4096 backslashes written as 8192 bytes fit.
  std::string escaped;
  for (size_t i = 0; i < kMaxPromLabelValueBytes; ++i) escaped += "\\\\";
  EXPECT_EQ(LineReason("x{a=\"" + escaped + "\"} 1"), "ok");

  std::vector<PromSample> out;
  PromParseStats stats;
  const Status s = ParsePromText("a 1\nb 2\n# c\nc 3\nd 4\ne 5\n", &out, &stats, 3);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.message(), "too_many_samples");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].name, "c");
  EXPECT_EQ(stats.samples, 3u);
  // Exactly max_samples is fine.
  EXPECT_TRUE(ParsePromText("a 1\nb 2\nc 3\n", &out, &stats, 3).ok());
  EXPECT_EQ(out.size(), 3u);
}

TEST(PromText, MalformedLinesDoNotStopTheBody) {
  std::vector<PromSample> out = {PromSample{"stale", {}, 1, -1}};
  PromParseStats stats;
  stats.samples = 99;
  ASSERT_TRUE(ParsePromText("good_one 1\nbad line here\n\xff\xfe\ngood_two{x=\"y\"} 2\nx{\n"
                            "good_three 3\n",
                            &out, &stats)
                  .ok());
  ASSERT_EQ(out.size(), 3u);  // replaced, not appended
  EXPECT_EQ(out[0].name, "good_one");
  EXPECT_EQ(out[1].name, "good_two");
  EXPECT_EQ(out[2].name, "good_three");
  EXPECT_EQ(stats.samples, 3u);
  EXPECT_EQ(stats.malformed_lines, 3u);
  EXPECT_EQ(stats.first_error, "bad_value");
  EXPECT_EQ(stats.first_error_line, 2u);
}

const char kNodeExporterSample[] =
    "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
    "# TYPE node_cpu_seconds_total counter\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1.23456789e+06\n"
    "node_cpu_seconds_total{cpu=\"0\",mode=\"steal\"} 12.5\n"
    "# HELP node_filesystem_avail_bytes Filesystem space available.\n"
    "# TYPE node_filesystem_avail_bytes gauge\n"
    "node_filesystem_avail_bytes{device=\"/dev/sda1\",fstype=\"ext4\",mountpoint=\"/\"} "
    "5.4e+10\n"
    "# HELP node_uname_info Labeled system information as provided by the uname system call.\n"
    "# TYPE node_uname_info gauge\n"
    "node_uname_info{domainname=\"(none)\",machine=\"x86_64\",nodename=\"edge-1\","
    "release=\"6.1.0-18-amd64\",sysname=\"Linux\",version=\"#1 SMP PREEMPT_DYNAMIC\"} 1\n"
    "# HELP go_gc_duration_seconds A summary of the pause duration.\n"
    "# TYPE go_gc_duration_seconds summary\n"
    "go_gc_duration_seconds{quantile=\"0\"} 2.1e-05\n"
    "go_gc_duration_seconds_sum 0.01\n"
    "go_gc_duration_seconds_count 12\n";

TEST(PromText, TruncationAtEveryOffset) {
  const std::string body = kNodeExporterSample;
  std::vector<PromSample> full;
  PromParseStats full_stats;
  ASSERT_TRUE(ParsePromText(body, &full, &full_stats).ok());
  ASSERT_EQ(full_stats.malformed_lines, 0u);
  ASSERT_EQ(full.size(), 7u);
  for (size_t n = 0; n <= body.size(); ++n) {
    std::vector<PromSample> out;
    PromParseStats stats;
    ASSERT_TRUE(ParsePromText(body.substr(0, n), &out, &stats).ok());
    // Only the cut line can be bad, and every complete line before it is kept.
    EXPECT_LE(stats.malformed_lines, 1u) << n;
    if (stats.malformed_lines == 1) {
      EXPECT_TRUE(PromReasons().count(stats.first_error));
    }
    const size_t complete_lines = static_cast<size_t>(
        std::count(body.begin(), body.begin() + static_cast<ptrdiff_t>(n), '\n'));
    size_t complete_samples = 0;
    size_t pos = 0;
    for (size_t line = 0; line < complete_lines; ++line) {
      const size_t nl = body.find('\n', pos);
      if (body[pos] != '#') ++complete_samples;
      pos = nl + 1;
    }
    EXPECT_GE(out.size(), complete_samples) << n;
    EXPECT_LE(out.size(), complete_samples + 1) << n;
    for (size_t i = 0; i < complete_samples; ++i) {
      EXPECT_EQ(out[i].name, full[i].name);
    }
  }
}

TEST(PromText, FlippedBytesAndGarbageNeverCrash) {
  const std::string body = kNodeExporterSample;
  for (size_t i = 0; i < body.size(); ++i) {
    for (uint8_t mask : {0x01, 0x20, 0x80}) {
      std::string flipped = body;
      flipped[i] = static_cast<char>(flipped[i] ^ mask);
      std::vector<PromSample> out;
      PromParseStats stats;
      ASSERT_TRUE(ParsePromText(flipped, &out, &stats).ok());
      // A flipped byte damages at most the lines it touches (a flipped '\n' joins two).
      EXPECT_LE(stats.malformed_lines, 2u);
      EXPECT_GE(out.size() + stats.malformed_lines, 6u);
      if (stats.malformed_lines > 0) {
        EXPECT_TRUE(PromReasons().count(stats.first_error));
      }
      for (const PromSample& s : out) {
        EXPECT_FALSE(s.name.empty());
        EXPECT_LE(s.labels.size(), kMaxPromLabels);
      }
    }
  }
  uint64_t x = 88172645463325252ull;
  const char alphabet[] = "ab_:{}=\",\\n 0123456789.+-eInfNa#\r\n\t\xff";
  for (int round = 0; round < 3000; ++round) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::string text(x % 300, ' ');
    for (char& c : text) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = alphabet[x % (sizeof alphabet - 1)];
    }
    std::vector<PromSample> out;
    PromParseStats stats;
    ASSERT_TRUE(ParsePromText(text, &out, &stats).ok());
    EXPECT_EQ(stats.samples, out.size());
    if (stats.malformed_lines > 0) {
      EXPECT_TRUE(PromReasons().count(stats.first_error));
    }
  }
}

}  // namespace
}  // namespace dnsight
