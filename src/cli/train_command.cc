#include "cli/train_command.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "cli/store_setup.h"
#include "common/time_util.h"
#include "detect/isolation_forest.h"

namespace dnsight {

int TrainCommand(const TrainOptions& o) {
  EngineConfig cfg;
  try {
    cfg = LoadConfig(o.config_path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: config error: %s\n", e.what());
    return 2;
  }
  if (o.kind != "iforest") {
    std::fprintf(stderr, "dnsight: train: unknown --kind '%s' (expected iforest)\n",
                 o.kind.c_str());
    return 2;
  }
  if (cfg.store.path.empty()) {
    std::fprintf(stderr, "dnsight: %s has no store to train from\n", o.config_path.c_str());
    return 2;
  }
  int64_t from = INT64_MIN, to = INT64_MAX;
  if (!o.from.empty() && !ParseRfc3339(o.from)) {
    std::fprintf(stderr, "dnsight: --from: bad RFC 3339 time\n");
    return 2;
  }
  if (!o.to.empty() && !ParseRfc3339(o.to)) {
    std::fprintf(stderr, "dnsight: --to: bad RFC 3339 time\n");
    return 2;
  }
  if (!o.from.empty()) from = *ParseRfc3339(o.from);
  if (!o.to.empty()) to = *ParseRfc3339(o.to);
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
  std::vector<double> rows;
  OfflineScanStats stats;
  Status s = store->offline->Scan(
      o.view, from, to,
      [&](const OfflineBlock& b) {
        if (b.version != def->version) return Status::Ok();
        for (size_t r = 0; r < b.rows(); ++r) {
          if (b.window_end_ns[r] < from || b.window_end_ns[r] >= to) continue;
          for (size_t c : columns) rows.push_back(b.value(c, r));
        }
        return Status::Ok();
      },
      &stats);
  if (!s.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", s.ToString().c_str());
    return 1;
  }
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
  forest->trained_range = (o.from.empty() ? std::string("-inf") : o.from) + " .. " +
                          (o.to.empty() ? std::string("+inf") : o.to);
  // Re-serialize so the version covers the metadata too.
  auto final_model = IsolationForest::Parse(forest->Serialize());
  if (!final_model.ok() || !(s = final_model->Save(o.output)).ok()) {
    std::fprintf(stderr, "dnsight: cannot save %s: %s\n", o.output.c_str(),
                 s.ok() ? final_model.status().message().c_str() : s.message().c_str());
    return 1;
  }
  std::printf("%s: isolation forest version %s, %zu features, trained on %llu rows of %s@%s\n",
              o.output.c_str(), final_model->version().c_str(), features.size(),
              static_cast<unsigned long long>(forest->training_rows), o.view.c_str(),
              def->version.c_str());
  return 0;
}

}  // namespace dnsight
