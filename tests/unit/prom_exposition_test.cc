// PromExposition: the exact text of families, samples and histograms, label escaping,
// non-finite values, and (when promtool is installed) promtool's verdict on the result.
#include "serve/prom_exposition.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>

#include "unit/temp_dir.h"

namespace dnsight {
namespace {

using T = PromExposition::Type;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(PromExposition, CounterWithEscapedLabels) {
  PromExposition p;
  p.Family("dnsight_rows_total", T::kCounter, "Rows written.\nPer view \\ sink");
  // Label values hold a backslash, quotes and a newline; each is escaped with a backslash.
  p.Sample("dnsight_rows_total", {{"view", "a\\b"}, {"note", "say \"hi\"\nbye"}}, 42);
  p.Sample("dnsight_rows_total", {{"view", "plain"}}, 0);
  EXPECT_EQ(p.text(),
            "# HELP dnsight_rows_total Rows written.\\nPer view \\\\ sink\n"
            "# TYPE dnsight_rows_total counter\n"
            "dnsight_rows_total{view=\"a\\\\b\",note=\"say \\\"hi\\\"\\nbye\"} 42\n"
            "dnsight_rows_total{view=\"plain\"} 0\n");
}

TEST(PromExposition, GaugeValuesIncludingNonFinite) {
  PromExposition p;
  p.Family("dnsight_psi", T::kGauge, "Drift.");
  p.Sample("dnsight_psi", {{"rule", "nan"}}, kNaN);
  p.Sample("dnsight_psi", {{"rule", "up"}}, kInf);
  p.Sample("dnsight_psi", {{"rule", "down"}}, -kInf);
  p.Sample("dnsight_psi", {{"rule", "quarter"}}, 0.25);
  p.Sample("dnsight_psi", {{"rule", "negative"}}, -3);
  p.Sample("dnsight_psi", 1e20);  // no labels: no braces
  EXPECT_EQ(p.text(),
            "# HELP dnsight_psi Drift.\n"
            "# TYPE dnsight_psi gauge\n"
            "dnsight_psi{rule=\"nan\"} NaN\n"
            "dnsight_psi{rule=\"up\"} +Inf\n"
            "dnsight_psi{rule=\"down\"} -Inf\n"
            "dnsight_psi{rule=\"quarter\"} 0.25\n"
            "dnsight_psi{rule=\"negative\"} -3\n"
            "dnsight_psi 1e+20\n");
}

TEST(PromExposition, ValuesReadBackExactly) {
  // A scraper must see the value that was set: a growing _sum that printed with too few
  // digits would stop moving between scrapes.
  for (double v : {0.1, 1.0 / 3, 1234567890.5, 123456.789012, 1e-7, 2.5e17, 9007199254740993.0}) {
    PromExposition p;
    p.Sample("x", v);
    const std::string& text = p.text();
    ASSERT_EQ(text.rfind("x ", 0), 0u) << text;
    EXPECT_EQ(std::strtod(text.c_str() + 2, nullptr), v) << text;
  }
}

TEST(PromExposition, HistogramHasBucketsInfSumAndCount) {
  PromExposition p;
  p.Family("dnsight_detector_score", T::kHistogram, "Score over threshold.");
  const std::array<double, 3> bounds = {0.1, 0.5, 1.0};
  const std::array<uint64_t, 3> cumulative = {1, 3, 4};
  p.Histogram("dnsight_detector_score", {{"rule", "r\"1"}}, bounds, cumulative, 5, 7.25);
  p.Histogram("dnsight_detector_score", {}, bounds, cumulative, 4, 2);
  EXPECT_EQ(p.text(),
            "# HELP dnsight_detector_score Score over threshold.\n"
            "# TYPE dnsight_detector_score histogram\n"
            "dnsight_detector_score_bucket{rule=\"r\\\"1\",le=\"0.1\"} 1\n"
            "dnsight_detector_score_bucket{rule=\"r\\\"1\",le=\"0.5\"} 3\n"
            "dnsight_detector_score_bucket{rule=\"r\\\"1\",le=\"1\"} 4\n"
            "dnsight_detector_score_bucket{rule=\"r\\\"1\",le=\"+Inf\"} 5\n"
            "dnsight_detector_score_sum{rule=\"r\\\"1\"} 7.25\n"
            "dnsight_detector_score_count{rule=\"r\\\"1\"} 5\n"
            "dnsight_detector_score_bucket{le=\"0.1\"} 1\n"
            "dnsight_detector_score_bucket{le=\"0.5\"} 3\n"
            "dnsight_detector_score_bucket{le=\"1\"} 4\n"
            "dnsight_detector_score_bucket{le=\"+Inf\"} 4\n"
            "dnsight_detector_score_sum 2\n"
            "dnsight_detector_score_count 4\n");
}

TEST(PromExposition, PromtoolAcceptsTheOutput) {
  constexpr char kPromtool[] = "/usr/bin/promtool";
  if (::access(kPromtool, X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  PromExposition p;
  p.Family("dnsight_feature_rows_total", T::kCounter, "Feature rows written, per view.");
  p.Sample("dnsight_feature_rows_total", {{"view", "web\\service \"x\"\nnext"}}, 12);
  p.Sample("dnsight_feature_rows_total", {{"view", "host"}}, 1234567890.5);
  p.Family("dnsight_detector_score_psi", T::kGauge, "PSI against the reference.\nNaN before.");
  p.Sample("dnsight_detector_score_psi", {{"rule", "a"}}, kNaN);
  p.Sample("dnsight_detector_score_psi", {{"rule", "b"}}, kInf);
  p.Sample("dnsight_detector_score_psi", {{"rule", "c"}}, -kInf);
  p.Sample("dnsight_detector_score_psi", {{"rule", "d"}}, 0.0123);
  p.Family("dnsight_detector_score", T::kHistogram, "Score over threshold.");
  const std::array<double, 4> bounds = {0.1, 0.25, 1.0, 10.0};
  const std::array<uint64_t, 4> cumulative = {0, 2, 2, 7};
  p.Histogram("dnsight_detector_score", {{"rule", "a"}}, bounds, cumulative, 9, 31.5);

  test_support::TempDir dir;
  const std::string file = dir / "metrics.prom";
  std::ofstream(file) << p.text();
  const std::string command = std::string(kPromtool) + " check metrics < " + file + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n" << p.text();
}

}  // namespace
}  // namespace dnsight
