// `dnsight detect` generic mode: CSV splitting, timestamps, streaming scoring, bad rows.
#include "detect/series_csv.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace dnsight {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(SeriesCsvTest, SplitsQuotedAndPlainFields) {
  std::vector<std::string_view> f;
  std::string scratch;
  ASSERT_TRUE(SplitCsvLine(R"(a, b ,"c,d","e""f",,)", &f, &scratch));
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0], "a");
  EXPECT_EQ(f[1], "b");
  EXPECT_EQ(f[2], "c,d");
  EXPECT_EQ(f[3], "e\"f");
  EXPECT_EQ(f[4], "");
  EXPECT_EQ(f[5], "");
  ASSERT_TRUE(SplitCsvLine("x", &f, &scratch));
  EXPECT_EQ(f.size(), 1u);
  EXPECT_FALSE(SplitCsvLine(R"(a,"open)", &f, &scratch));
  EXPECT_FALSE(SplitCsvLine(R"("a"b,c)", &f, &scratch));
}

TEST(SeriesCsvTest, TimestampForms) {
  const int64_t t = 1795428310LL * kSecond;  // 2026-11-23T10:05:10Z
  EXPECT_EQ(ParseCsvTimestamp("2026-11-23T10:05:10Z"), t);
  EXPECT_EQ(ParseCsvTimestamp("2026-11-23 10:05:10.5+00:00"), t + kSecond / 2);
  EXPECT_EQ(ParseCsvTimestamp("1795428310"), t);                   // seconds
  EXPECT_EQ(ParseCsvTimestamp("1795428310.25"), t + kSecond / 4);  // seconds with fraction
  EXPECT_EQ(ParseCsvTimestamp("1795428310000"), t);                // milliseconds
  EXPECT_EQ(ParseCsvTimestamp("1795428310000000"), t);             // microseconds
  EXPECT_EQ(ParseCsvTimestamp("1795428310000000000"), t);          // nanoseconds
  EXPECT_EQ(ParseCsvTimestamp(" 60 "), 60 * kSecond);
  EXPECT_FALSE(ParseCsvTimestamp(""));
  EXPECT_FALSE(ParseCsvTimestamp("1.7e9"));
  EXPECT_FALSE(ParseCsvTimestamp("12:00"));
  EXPECT_FALSE(ParseCsvTimestamp("99999999999999999999"));
  EXPECT_FALSE(ParseCsvTimestamp("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseCsvTimestamp("1."));
}

// A minute series of two columns: `a` steady at 100 with a spike at row 40, `b` steady
// at 5 with a drop at row 50; the timestamp column is second and named `time`.
std::string Series(int rows) {
  std::string csv = "a,time,b\r\n";
  for (int i = 0; i < rows; ++i) {
    const double noise = ((i * 37 + 11) % 21 - 10) / 10.0;
    const double a = i == 40 ? 160 : 100 + noise;
    const double b = i == 50 ? 1 : 5 + noise / 10;
    csv += std::to_string(a) + "," + std::to_string(1795428000 + 60 * i) + "," +
           (i == 30 ? std::string() : std::to_string(b)) + "\r\n";
    if (i == 20) csv += "\r\n";  // a blank line is skipped
  }
  return csv;
}

CsvDetectOptions Options() {
  CsvDetectOptions o;
  o.baseline.period_ns = 0;
  return o;
}

TEST(SeriesCsvTest, FlagsExactlyTheAnomalousRows) {
  std::istringstream in(Series(80));
  std::ostringstream out;
  CsvDetectStats stats;
  ASSERT_TRUE(DetectCsv(in, out, Options(), &stats).ok());
  EXPECT_EQ(stats.rows, 80u);
  EXPECT_EQ(stats.anomalous_rows, 2u);
  EXPECT_EQ(stats.missing_values, 1u);
  EXPECT_EQ(stats.warming_values, 2u * 12);
  EXPECT_EQ(stats.series, (std::vector<std::string>{"a", "b"}));

  std::istringstream lines(out.str());
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "timestamp,a_score,a_is_anomaly,b_score,b_is_anomaly,score,is_anomaly");
  std::vector<std::string> flagged;
  int row = 0;
  while (std::getline(lines, line)) {
    if (row == 0) {  // warming
      EXPECT_EQ(line, "1795428000,,0,,0,,0");
    }
    if (row == 30) {  // b missing
      EXPECT_NE(line.find(",,0,"), std::string::npos) << line;
    }
    if (line.substr(line.size() - 2) == ",1") flagged.push_back(line.substr(0, line.find(',')));
    ++row;
  }
  EXPECT_EQ(row, 80);
  EXPECT_EQ(flagged, (std::vector<std::string>{std::to_string(1795428000 + 60 * 40),
                                               std::to_string(1795428000 + 60 * 50)}));
}

TEST(SeriesCsvTest, MalformedRowsNameTheLineOrAreSkipped) {
  const std::string head = "ts,x\n1795428000,1\n";
  const auto error = [](const std::string& csv) {
    std::istringstream in(csv);
    std::ostringstream out;
    CsvDetectStats stats;
    return DetectCsv(in, out, Options(), &stats).message();
  };
  EXPECT_EQ(error(head + "1795428060,abc\n"), "line 3: column 'x': 'abc' is not a number");
  EXPECT_EQ(error(head + "1795428060,1,2\n"), "line 3: expected 2 fields, got 3");
  EXPECT_EQ(error(head + "\n\nnoon,1\n"), "line 5: bad timestamp 'noon'");
  EXPECT_EQ(error(head + "1795428060,\"1\n"), "line 3: unterminated quote");
  EXPECT_EQ(error(""), "no header line: empty input");
  EXPECT_EQ(error("timestamp\n1,2\n"), "line 1: header: no value columns");

  CsvDetectOptions skip = Options();
  skip.skip_bad = true;
  std::istringstream in(head + "1795428060,abc\n1795428120,2\nx,y,z\n");
  std::ostringstream out;
  CsvDetectStats stats;
  ASSERT_TRUE(DetectCsv(in, out, skip, &stats).ok());
  EXPECT_EQ(stats.rows, 2u);
  EXPECT_EQ(stats.bad_rows, 2u);
  EXPECT_EQ(stats.first_bad, "line 3: column 'x': 'abc' is not a number");
  EXPECT_EQ(out.str(),
            "timestamp,x_score,x_is_anomaly,score,is_anomaly\n1795428000,,0,,0\n"
            "1795428120,,0,,0\n");
}

TEST(SeriesCsvTest, HeaderNamesAreQuotedWhenNeeded) {
  std::istringstream in("\xEF\xBB\xBFtime,\"p95, ms\"\n2026-11-23T10:00:00Z,1\n");
  std::ostringstream out;
  CsvDetectStats stats;
  ASSERT_TRUE(DetectCsv(in, out, Options(), &stats).ok());
  EXPECT_EQ(out.str(),
            "timestamp,\"p95, ms_score\",\"p95, ms_is_anomaly\",score,is_anomaly\n"
            "2026-11-23T10:00:00Z,,0,,0\n");
}

}  // namespace
}  // namespace dnsight
