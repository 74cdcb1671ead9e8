// Declarative golden feature tests: tests/golden/*.test.
//
// File format (sections separated by a line of four dashes):
//   YAML config (engine + views; no sources)
//   ----
//   input events, one JSON line each (docs/jsonl.md schema)
//   ----
//   expected rows, one per line, in output order:
//     <window_end RFC 3339> <view> <entity> [feature=value ...]
//   Every emitted row must be listed, in order; only the features named are compared
//   (value "null" for undefined; numbers within 1e-9 relative). Lines starting with
//   "counter" check a pipeline counter: "counter late_dropped=1".
// A test whose file name ends in "_slow.test" is skipped unless DNSIGHT_SLOW=1.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "collecting_row_sink.h"
#include "common/time_util.h"
#include "engine/config.h"
#include "engine/pipeline.h"
#include "ingest/jsonl_decoder.h"

namespace dnsight {
namespace {

using CollectingSink = test_support::CollectingRowSink;

std::vector<std::string> SplitSections(const std::string& text) {
  std::vector<std::string> out(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "----") {
      out.emplace_back();
    } else {
      out.back() += line + "\n";
    }
  }
  return out;
}

uint64_t CounterValue(const PipelineCounters& c, const std::string& name) {
  if (name == "late_dropped") return c.late_dropped;
  if (name == "late_admitted") return c.late_admitted;
  if (name == "events") return c.events;
  if (name == "evictions") return c.evictions;
  if (name == "rows") return c.rows;
  if (name == "entities") return c.entities;
  ADD_FAILURE() << "unknown counter " << name;
  return 0;
}

void RunGolden(const std::filesystem::path& file, int threads) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto sections = SplitSections(ss.str());
  ASSERT_EQ(sections.size(), 3u) << file << ": expected config, input and expected sections";
  EngineConfig cfg = ParseConfig(sections[0], file.filename().string());
  cfg.engine.threads = threads;
  CollectingSink sink;
  PipelineCounters counters;
  {
    Pipeline pipeline(cfg, sink);
    ObservationSink& obs_sink = pipeline.AddSource("golden");
    JsonLinesDecoder decoder;
    std::istringstream input(sections[1]);
    std::string line;
    while (std::getline(input, line)) {
      if (line.empty() || line[0] == '#') continue;
      RawDnsObservation obs;
      std::string_view reason;
      ASSERT_TRUE(decoder.Decode(line, 0, &obs, &reason)) << line << ": " << reason;
      obs_sink.OnObservation(obs);
    }
    pipeline.Finish();
    counters = pipeline.counters();
  }
  std::istringstream expected(sections[2]);
  std::string line;
  size_t row = 0;
  while (std::getline(expected, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "counter") {
      std::string kv;
      while (words >> kv) {
        const auto eq = kv.find('=');
        EXPECT_EQ(CounterValue(counters, kv.substr(0, eq)), std::stoull(kv.substr(eq + 1)))
            << file << ": " << line;
      }
      continue;
    }
    ASSERT_LT(row, sink.rows.size()) << file << ": missing row: " << line;
    const FeatureRow& r = sink.rows[row++];
    const FeatureView& view = cfg.views[r.view];
    std::string view_name, entity;
    words >> view_name >> entity;
    const std::string got =
        FormatRfc3339(r.window_end_ns) + " " + view.name + " " + view.EntityText(r.entity_key);
    ASSERT_EQ(got, first + " " + view_name + " " + entity) << file << " row " << row;
    std::string kv;
    while (words >> kv) {
      const auto eq = kv.find('=');
      const std::string name = kv.substr(0, eq), want = kv.substr(eq + 1);
      auto it = std::find(view.feature_names.begin(), view.feature_names.end(), name);
      ASSERT_NE(it, view.feature_names.end()) << file << ": no feature " << name;
      const double v = r.values[static_cast<size_t>(it - view.feature_names.begin())];
      if (want == "null") {
        EXPECT_TRUE(std::isnan(v)) << file << " row " << row << " " << name << " = " << v;
      } else {
        const double w = std::stod(want);
        EXPECT_NEAR(v, w, 1e-9 * std::max(1.0, std::fabs(w)))
            << file << " row " << row << " (" << got << ") " << name;
      }
    }
  }
  EXPECT_EQ(row, sink.rows.size()) << file << ": more rows than expected";
}

std::vector<std::filesystem::path> GoldenFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(DNSIGHT_SOURCE_DIR "/tests/golden"))
    if (e.path().extension() == ".test") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

class GoldenFeatures : public ::testing::TestWithParam<std::filesystem::path> {};

TEST_P(GoldenFeatures, SingleThread) {
  const auto& f = GetParam();
  if (f.filename().string().ends_with("_slow.test") && !std::getenv("DNSIGHT_SLOW")) GTEST_SKIP();
  RunGolden(f, 1);
}

TEST_P(GoldenFeatures, FourShardsGiveTheSameRows) {
  const auto& f = GetParam();
  if (f.filename().string().ends_with("_slow.test") && !std::getenv("DNSIGHT_SLOW")) GTEST_SKIP();
  RunGolden(f, 4);
}

INSTANTIATE_TEST_SUITE_P(Files, GoldenFeatures, ::testing::ValuesIn(GoldenFiles()),
                         [](const auto& test_param) {
                           std::string n = test_param.param.stem().string();
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace dnsight
