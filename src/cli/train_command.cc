#include "cli/train_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include "cli/store_setup.h"
#include "common/time_util.h"
#include "detect/detector_sink.h"
#include "detect/gbt_model.h"
#include "detect/isolation_forest.h"
#include "detect/weak_labels.h"

namespace dnsight {
namespace {

constexpr uint64_t kMinPerLabel = 5;

// Saves the deciles of the model's scores on its own training rows, the reference its
// rule's drift (PSI on /metrics) is measured against. Best effort: a model without the
// file falls back to the live warm-up reference.
template <typename ScoreFn>
void SaveScoreReference(const std::string& model_path, const std::vector<double>& rows,
                        size_t width, ScoreFn score) {
  if (width == 0 || rows.size() < width * 10) return;
  std::vector<double> scores;
  const size_t n = rows.size() / width;
  const size_t step = std::max<size_t>(1, n / 20000);  // a sample is plenty for deciles
  for (size_t r = 0; r < n; r += step) {
    const double v = score(std::span<const double>(rows.data() + r * width, width));
    if (std::isfinite(v)) scores.push_back(v);
  }
  if (scores.size() < 10) return;
  std::sort(scores.begin(), scores.end());
  std::ofstream out(ScoreReferencePath(model_path));
  for (int q = 1; q <= 9; ++q) out << (q > 1 ? " " : "") << scores[scores.size() * q / 10];
  out << '\n';
}

int TrainGbt(const TrainOptions& o, const std::string& view_version,
             const std::vector<std::string>& features, const std::string& range,
             const std::vector<double>& rows, const std::vector<uint8_t>& labels,
             const WeakLabelCounts& counts) {
  std::printf("weak labels for %s: %llu positives, %llu negatives, %llu dropped (unlabelled)\n",
              o.klass.c_str(), static_cast<unsigned long long>(counts.positives),
              static_cast<unsigned long long>(counts.negatives),
              static_cast<unsigned long long>(counts.dropped));
  if (counts.positives < kMinPerLabel || counts.negatives < kMinPerLabel) {
    std::fprintf(stderr,
                 "dnsight: train: too few labelled rows to train (%llu positives, %llu "
                 "negatives; need at least %llu of each): check --class, --truth and the "
                 "--from/--to range against the view's history\n",
                 static_cast<unsigned long long>(counts.positives),
                 static_cast<unsigned long long>(counts.negatives),
                 static_cast<unsigned long long>(kMinPerLabel));
    return 1;
  }
  GbtOptions opts;
  opts.rounds = o.rounds;
  opts.max_depth = o.max_depth;
  opts.eta = o.eta;
  opts.seed = o.seed;
  auto model = GbtModel::Train(rows, labels, features, opts);
  if (!model.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", model.status().message().c_str());
    return 1;
  }
  model->view = o.view;
  model->view_version = view_version;
  model->klass = o.klass;
  model->label_source = "weak:" + o.truth + " class=" + o.klass + " quiet=1h";
  model->trained_range = range;
  if (Status s = model->Save(o.output); !s.ok()) {
    std::fprintf(stderr, "dnsight: cannot save %s: %s\n", o.output.c_str(), s.message().c_str());
    return 1;
  }
  SaveScoreReference(o.output, rows, features.size(), [&](std::span<const double> x) {
    const Result<double> p = model->Predict(x);
    return p.ok() ? *p : std::nan("");
  });
  std::printf(
      "%s: xgboost version %s, class %s, %zu features, trained on %llu rows (%llu "
      "positive) of %s@%s\n",
      o.output.c_str(), model->version().c_str(), o.klass.c_str(), features.size(),
      static_cast<unsigned long long>(model->training_rows),
      static_cast<unsigned long long>(model->positives), o.view.c_str(), view_version.c_str());
  return 0;
}

}  // namespace

int TrainCommand(const TrainOptions& o) {
  EngineConfig cfg;
  try {
    cfg = LoadConfig(o.config_path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: config error: %s\n", e.what());
    return 2;
  }
  if (o.kind != "iforest" && o.kind != "xgboost") {
    std::fprintf(stderr, "dnsight: train: unknown --kind '%s' (expected iforest or xgboost)\n",
                 o.kind.c_str());
    return 2;
  }
  const bool gbt = o.kind == "xgboost";
  if (gbt && (o.truth.empty() || o.klass.empty())) {
    std::fprintf(stderr, "dnsight: train: --kind xgboost needs --truth and --class\n");
    return 2;
  }
  if (cfg.store.path.empty()) {
    std::fprintf(stderr, "dnsight: %s has no store to train from\n", o.config_path.c_str());
    return 2;
  }
  int64_t from = INT64_MIN, to = INT64_MAX;
  if (!ParseBound(o.from, "--from", &from) || !ParseBound(o.to, "--to", &to)) return 2;
  auto store = OpenFeatureStore(cfg, /*want_online=*/false);
  if (!store.ok() || !store->offline) {
    std::fprintf(stderr, "dnsight: %s\n",
                 store.ok() ? "the offline store is disabled" : store.status().ToString().c_str());
    return 1;
  }
  auto def = store->registry->Latest(o.view);
  if (!def.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", def.status().message().c_str());
    return 2;
  }
  std::vector<std::string> features;
  if (o.features.empty()) {
    features = def->feature_names;
  } else {
    std::istringstream is(o.features);
    for (std::string f; std::getline(is, f, ',');) features.push_back(f);
  }
  std::vector<size_t> columns;
  for (const auto& f : features) {
    const auto it = std::find(def->feature_names.begin(), def->feature_names.end(), f);
    if (it == def->feature_names.end()) {
      std::fprintf(stderr, "dnsight: view %s@%s has no feature '%s'\n", o.view.c_str(),
                   def->version.c_str(), f.c_str());
      return 2;
    }
    columns.push_back(static_cast<size_t>(it - def->feature_names.begin()));
  }
  std::optional<WeakLabeler> labeler;
  if (gbt) {
    std::ifstream in(o.truth);
    if (!in) {
      std::fprintf(stderr, "dnsight: cannot read %s\n", o.truth.c_str());
      return 2;
    }
    auto incidents = ReadIncidents(in, o.truth);
    if (!incidents.ok()) {
      std::fprintf(stderr, "dnsight: %s\n", incidents.status().message().c_str());
      return 2;
    }
    labeler.emplace(*incidents, o.klass);
  }
  std::vector<double> rows;
  std::vector<uint8_t> labels;
  WeakLabelCounts counts;
  OfflineScanStats stats;
  Status s = store->offline->Scan(
      o.view, from, to,
      [&](const OfflineBlock& b) {
        if (b.version != def->version) return Status::Ok();
        for (size_t r = 0; r < b.rows(); ++r) {
          if (b.window_end_ns[r] < from || b.window_end_ns[r] >= to) continue;
          if (labeler) {
            const WeakLabel l = labeler->Label(b.entities[r], b.window_end_ns[r]);
            counts.Add(l);
            if (l == WeakLabel::kUnlabelled) continue;
            labels.push_back(l == WeakLabel::kPositive ? 1 : 0);
          }
          for (size_t c : columns) rows.push_back(b.value(c, r));
        }
        return Status::Ok();
      },
      &stats);
  if (!s.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string range = (o.from.empty() ? std::string("-inf") : o.from) + " .. " +
                            (o.to.empty() ? std::string("+inf") : o.to);
  if (gbt) return TrainGbt(o, def->version, features, range, rows, labels, counts);
  IsolationForestOptions opts;
  opts.trees = o.trees;
  opts.sample_size = o.sample;
  opts.seed = o.seed;
  auto forest = IsolationForest::Train(rows, features, opts);
  if (!forest.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", forest.status().message().c_str());
    return 1;
  }
  forest->view = o.view;
  forest->view_version = def->version;
  forest->trained_range = range;
  // Re-serialize so the version covers the metadata too.
  auto final_model = IsolationForest::Parse(forest->Serialize());
  if (!final_model.ok() || !(s = final_model->Save(o.output)).ok()) {
    std::fprintf(stderr, "dnsight: cannot save %s: %s\n", o.output.c_str(),
                 s.ok() ? final_model.status().message().c_str() : s.message().c_str());
    return 1;
  }
  SaveScoreReference(o.output, rows, features.size(),
                     [&](std::span<const double> x) { return final_model->Score(x); });
  std::printf("%s: isolation forest version %s, %zu features, trained on %llu rows of %s@%s\n",
              o.output.c_str(), final_model->version().c_str(), features.size(),
              static_cast<unsigned long long>(forest->training_rows), o.view.c_str(),
              def->version.c_str());
  return 0;
}

}  // namespace dnsight
