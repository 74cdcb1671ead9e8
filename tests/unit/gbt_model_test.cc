// GbtModel (XGBoost) on a hand-made separable dataset: probabilities, SHAP explanations,
// the model file's round trip and corruption handling; WeakLabeler on a hand-made
// incident timeline; an xgboost rule in DetectorSink.
#include "detect/gbt_model.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/time_util.h"
#include "detect/detector_sink.h"
#include "detect/weak_labels.h"
#include "unit/temp_dir.h"

namespace dnsight {
namespace {

const std::vector<std::string> kFeatures = {"noise_1m", "latency_ms_p95_1m", "queries_1m"};

// label = 1 when feature 1 > 3; features 0 and 2 are deterministic noise.
void Dataset(std::vector<double>* rows, std::vector<uint8_t>* labels) {
  for (int i = 0; i < 200; ++i) {
    const double f1 = (i % 40) / 8.0;  // 0 .. 4.875, exact in float
    rows->push_back(std::sin(i * 1.3) * 10);
    rows->push_back(f1);
    rows->push_back(100 + (i * 37) % 11);
    labels->push_back(f1 > 3 ? 1 : 0);
  }
}

GbtModel TrainSmall() {
  std::vector<double> rows;
  std::vector<uint8_t> labels;
  Dataset(&rows, &labels);
  GbtOptions o;
  o.rounds = 20;
  o.max_depth = 3;
  auto m = GbtModel::Train(rows, labels, kFeatures, o);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  m->view = "server";
  m->view_version = "v1";
  m->klass = "latency_rise";
  m->label_source = "test";
  return std::move(m.value());
}

TEST(GbtModel, SeparatesTheClassAndExplainsWithTheRightFeature) {
  const GbtModel m = TrainSmall();
  EXPECT_EQ(m.training_rows, 200u);
  EXPECT_EQ(m.positives, 75u);
  const double pos[] = {1.0, 5.0, 103};
  const double neg[] = {1.0, 1.0, 103};
  auto p = m.Predict(pos);
  auto n = m.Predict(neg);
  ASSERT_TRUE(p.ok() && n.ok());
  EXPECT_GT(*p, 0.9);
  EXPECT_LT(*n, 0.1);
  // Missing values are allowed.
  const double missing[] = {NAN, 5.0, NAN};
  ASSERT_TRUE(m.Predict(missing).ok());

  auto c = m.Contributions(pos);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->values.size(), 3u);
  EXPECT_GT(c->values[1], 0);
  EXPECT_GT(c->values[1], std::fabs(c->values[0]));
  EXPECT_GT(c->values[1], std::fabs(c->values[2]));
  // SHAP values and bias add up to the margin.
  const double margin = c->values[0] + c->values[1] + c->values[2] + c->bias;
  EXPECT_NEAR(1 / (1 + std::exp(-margin)), *p, 1e-4);

  const double wrong_size[] = {1.0, 2.0};
  EXPECT_FALSE(m.Predict(wrong_size).ok());
}

TEST(GbtModel, TrainRejectsBadInput) {
  std::vector<double> rows = {1, 2, 3, 4};
  std::vector<uint8_t> one_class = {1, 1};
  EXPECT_FALSE(GbtModel::Train(rows, one_class, {"a", "b"}, {}).ok());
  std::vector<uint8_t> bad_label = {0, 2};
  EXPECT_FALSE(GbtModel::Train(rows, bad_label, {"a", "b"}, {}).ok());
  std::vector<uint8_t> short_labels = {0};
  EXPECT_FALSE(GbtModel::Train(rows, short_labels, {"a", "b"}, {}).ok());
  std::vector<uint8_t> ok_labels = {0, 1};
  EXPECT_FALSE(GbtModel::Train(rows, ok_labels, {"a", "b", "c"}, {}).ok());
}

TEST(GbtModel, SaveLoadRoundTripKeepsPredictionsAndVersion) {
  test_support::TempDir dir;
  const GbtModel m = TrainSmall();
  ASSERT_TRUE(m.Save(dir / "m.dngbt").ok());
  auto back = GbtModel::Load(dir / "m.dngbt");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version(), m.version());
  EXPECT_EQ(back->features(), m.features());
  EXPECT_EQ(back->klass, "latency_rise");
  EXPECT_EQ(back->view_version, "v1");
  EXPECT_EQ(back->positives, 75u);
  for (int i = 0; i < 20; ++i) {
    const double x[] = {std::cos(i), i * 0.3, 100.0 + i};
    EXPECT_EQ(*back->Predict(x), *m.Predict(x)) << i;
  }
  // The model's mean of latency over the training rows is the reported baseline.
  EXPECT_NEAR(back->means()[1], 2.4375, 1e-9);
  // Metadata is part of the version.
  GbtModel moved = std::move(back.value());
  moved.klass = "other";
  EXPECT_NE(moved.version(), m.version());
}

TEST(GbtModel, CorruptFilesAreRejected) {
  const std::string good = TrainSmall().Serialize();
  ASSERT_TRUE(GbtModel::Parse(good).ok());
  // Every flipped byte fails the magic or the checksum (spot check across the file).
  for (size_t i = 0; i < good.size(); i += std::max<size_t>(1, good.size() / 97)) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_FALSE(GbtModel::Parse(bad).ok()) << "flip at " << i;
  }
  for (size_t n : {size_t{0}, size_t{3}, size_t{10}, good.size() / 2, good.size() - 1})
    EXPECT_FALSE(GbtModel::Parse(std::string_view(good).substr(0, n)).ok()) << "truncated to " << n;
  EXPECT_FALSE(GbtModel::Parse(good + "x").ok());
  EXPECT_FALSE(GbtModel::Load("/nonexistent/m.dngbt").ok());
}

TEST(GbtModel, GarbageModelBytesWithAValidChecksumAreAnErrorNotACrash) {
  // Rebuild a file whose XGBoost part is not a model, and fix up the checksum: the error
  // must come from XGBoost as a Status.
  const std::string good = TrainSmall().Serialize();
  const size_t json = good.find("{\"learner\"");
  ASSERT_NE(json, std::string::npos);
  std::string body = good.substr(0, good.size() - 8);
  for (size_t i = json + 1; i < body.size(); ++i) body[i] = 'z';
  const uint64_t sum = XXH3_64bits(body.data(), body.size());
  for (int i = 0; i < 8; ++i) body.push_back(static_cast<char>((sum >> (8 * i)) & 0xff));
  auto r = GbtModel::Parse(body);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("xgboost"), std::string::npos) << r.status().message();
}

constexpr int64_t kMin = 60'000'000'000;
const int64_t kT0 = *ParseRfc3339("2026-11-23T00:00:00Z");

EvalIncident Incident(std::string klass, std::string value, int64_t start_min, int64_t end_min,
                      std::string kind = "resolver") {
  EvalIncident i;
  i.id = "inc-" + klass;
  i.klass = klass;
  i.benign = IsBenignClass(i.klass);
  i.scope_kind = std::move(kind);
  i.scope_value = std::move(value);
  i.start_ns = kT0 + start_min * kMin;
  i.end_ns = kT0 + end_min * kMin;
  return i;
}

TEST(WeakLabels, PositiveInsideTheClassNegativeWhenBenignOrQuiet) {
  const std::vector<EvalIncident> timeline = {
      Incident("latency_rise", "10.0.0.1", 300, 330),   // 05:00 - 05:30
      Incident("maintenance", "10.0.0.1", 600, 660),    // 10:00 - 11:00
      Incident("servfail_rise", "10.0.0.1", 900, 920),  // another class
      Incident("latency_rise", "10.0.0.2", 300, 330),   // another entity
      Incident("traffic_surge", "*", 1200, 1230, "global"),
  };
  const WeakLabeler l(timeline, "latency_rise");
  const auto at = [&](const char* e, int64_t minute) { return l.Label(e, kT0 + minute * kMin); };
  // Inside the class's incident on this entity, edges included.
  EXPECT_EQ(at("10.0.0.1", 300), WeakLabel::kPositive);
  EXPECT_EQ(at("10.0.0.1", 315), WeakLabel::kPositive);
  EXPECT_EQ(at("10.0.0.1", 330), WeakLabel::kPositive);
  // Just outside it, within the hour: unlabelled.
  EXPECT_EQ(at("10.0.0.1", 331), WeakLabel::kUnlabelled);
  EXPECT_EQ(at("10.0.0.1", 250), WeakLabel::kUnlabelled);
  // More than an hour from any incident on the entity: quiet, negative.
  EXPECT_EQ(at("10.0.0.1", 100), WeakLabel::kNegative);
  EXPECT_EQ(at("10.0.0.1", 400), WeakLabel::kNegative);
  // Inside maintenance: negative; near it but outside: unlabelled.
  EXPECT_EQ(at("10.0.0.1", 630), WeakLabel::kNegative);
  EXPECT_EQ(at("10.0.0.1", 680), WeakLabel::kUnlabelled);
  // Inside or near another class's incident: unlabelled.
  EXPECT_EQ(at("10.0.0.1", 910), WeakLabel::kUnlabelled);
  EXPECT_EQ(at("10.0.0.1", 960), WeakLabel::kUnlabelled);
  // A global benign incident covers every entity; near it, nothing is quiet.
  EXPECT_EQ(at("10.0.0.3", 1215), WeakLabel::kNegative);
  EXPECT_EQ(at("10.0.0.3", 1250), WeakLabel::kUnlabelled);
  // Other entities are judged by their own incidents.
  EXPECT_EQ(at("10.0.0.2", 315), WeakLabel::kPositive);
  EXPECT_EQ(at("10.0.0.3", 315), WeakLabel::kNegative);

  WeakLabelCounts counts;
  for (int64_t m : {100, 315, 331}) counts.Add(at("10.0.0.1", m));
  EXPECT_EQ(counts.positives, 1u);
  EXPECT_EQ(counts.negatives, 1u);
  EXPECT_EQ(counts.dropped, 1u);
}

TEST(WeakLabels, BenignFlagOverridesTheClass) {
  EvalIncident i = Incident("latency_rise", "10.0.0.1", 300, 330);
  i.benign = true;  // e.g. a drill marked benign in the timeline
  const WeakLabeler l({i}, "latency_rise");
  EXPECT_EQ(l.Label("10.0.0.1", kT0 + 315 * kMin), WeakLabel::kNegative);
}

std::string ServerKey(const char* ip) {
  const IpAddress a = *IpAddress::Parse(ip);
  std::string k(1, static_cast<char>(a.family));
  k.append(reinterpret_cast<const char*>(a.bytes.data()), a.size());
  return k;
}

TEST(DetectorSinkGbt, XgboostRuleScoresProbabilityAndExplains) {
  test_support::TempDir dir;
  ASSERT_TRUE(TrainSmall().Save(dir / "m.dngbt").ok());
  const std::string config = R"(
engine: {pane: 10s}
views:
  - name: server
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.95]}
      - {name: noise, kind: count}
detect:
  decisions: "-"
  rules:
    - class: latency_rise
      view: server
      kind: xgboost
      model: )" + (dir / "m.dngbt") +
                             R"(
)";
  const EngineConfig cfg = ParseConfig(config, "t.yaml");
  ASSERT_EQ(cfg.detect.rules[0].threshold, 0.5);
  std::vector<Decision> out;
  auto sink =
      DetectorSink::Create(cfg, nullptr, nullptr, [&](const Decision& d) { out.push_back(d); });
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  const auto& names = cfg.views[0].feature_names;
  const auto row = [&](int pane, double latency) {
    FeatureRow r;
    r.view = 0;
    r.window_end_ns = kT0 + pane * 10'000'000'000;
    r.entity_key = ServerKey("192.0.2.11");
    r.values.assign(names.size(), 0);
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "queries_1m") r.values[i] = 103;
      if (names[i] == "latency_ms_p95_1m") r.values[i] = latency;
      if (names[i] == "noise_1m") r.values[i] = 1;
    }
    (*sink)->WriteRows(cfg.views, std::span<const FeatureRow>(&r, 1));
  };
  row(0, 1.0);
  EXPECT_TRUE(out.empty());
  row(1, 5.0);
  ASSERT_EQ(out.size(), 1u);
  const Decision& d = out[0];
  EXPECT_EQ(d.model_name, "xgboost");
  EXPECT_EQ(d.model_version, GbtModel::Load(dir / "m.dngbt")->version());
  EXPECT_GT(d.score, 0.9);
  ASSERT_FALSE(d.top_features.empty());
  EXPECT_EQ(d.top_features[0].name, "latency_ms_p95_1m");
  EXPECT_EQ(d.top_features[0].value, 5.0);
  EXPECT_NEAR(d.top_features[0].baseline, 2.4375, 1e-9);
  EXPECT_GT(d.top_features[0].contribution, 0.5);
  EXPECT_LE(d.top_features[0].contribution, 1.0);
  EXPECT_EQ((*sink)->counters().model_errors.load(), 0u);
}

TEST(DetectorSinkGbt, MissingFeatureIsNamed) {
  test_support::TempDir dir;
  ASSERT_TRUE(TrainSmall().Save(dir / "m.dngbt").ok());
  const std::string config = R"(
engine: {pane: 10s}
views:
  - name: server
    entity: server
    windows: [1m]
    aggregations:
      - {name: queries, kind: count}
      - {name: latency_ms, kind: quantiles, field: latency_ms, quantiles: [0.95]}
detect:
  rules:
    - {class: latency_rise, view: server, kind: xgboost, threshold: 0.8, model: )" +
                             (dir / "m.dngbt") + "}\n";
  const EngineConfig cfg = ParseConfig(config, "t.yaml");
  auto sink = DetectorSink::Create(cfg, nullptr, nullptr, [](const Decision&) {});
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("needs feature 'noise_1m'"), std::string::npos)
      << sink.status().message();
}

TEST(DetectorSinkGbt, ConfigNeedsModelAndAProbabilityThreshold) {
  const std::string base = R"(
engine: {pane: 10s}
views:
  - {name: server, entity: server, windows: [1m], aggregations: [{name: queries, kind: count}]}
detect:
  rules:
    - )";
  EXPECT_THROW(ParseConfig(base + "{class: c, view: server, kind: xgboost}\n", "t.yaml"),
               ConfigError);
  EXPECT_THROW(
      ParseConfig(base + "{class: c, view: server, kind: xgboost, model: m, threshold: 4}\n",
                  "t.yaml"),
      ConfigError);
}

}  // namespace
}  // namespace dnsight
