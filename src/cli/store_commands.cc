#include "cli/store_commands.h"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/api_setup.h"
#include "cli/store_setup.h"
#include "common/time_util.h"
#include "dnsight/clock.h"
#include "engine/row_writer.h"
#include "serve/feature_json.h"
#include "store/point_in_time.h"

namespace dnsight {
namespace {

// Loads the config and checks it names a store; prints the error and returns false.
bool LoadStoreConfig(const std::string& path, EngineConfig* cfg) {
  try {
    *cfg = LoadConfig(path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: config error: %s\n", e.what());
    return false;
  }
  if (cfg->store.path.empty()) {
    std::fprintf(stderr, "dnsight: %s has no 'store' section with a path\n", path.c_str());
    return false;
  }
  return true;
}

bool WriteOutput(const std::string& path, const std::string& text) {
  if (path == "-") return std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int HistoricalCommand(const HistoricalOptions& o) {
  EngineConfig cfg;
  if (!LoadStoreConfig(o.config_path, &cfg)) return 2;
  // Read in one piece, without a stringstream (which would copy the text twice).
  std::ifstream in(o.spine_path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "dnsight: cannot read spine %s\n", o.spine_path.c_str());
    return 2;
  }
  std::string text;
  if (in.seekg(0, std::ios::end)) {  // a regular file: reserve its size
    const std::streamoff size = in.tellg();
    if (size > 0) text.reserve(static_cast<size_t>(size));
    in.seekg(0);
  }
  in.clear();
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0)
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    std::fprintf(stderr, "dnsight: cannot read spine %s\n", o.spine_path.c_str());
    return 2;
  }
  auto spine = ParseSpineCsv(text);
  if (!spine.ok()) {
    std::fprintf(stderr, "dnsight: %s: %s\n", o.spine_path.c_str(),
                 spine.status().message().c_str());
    return 2;
  }
  std::vector<ViewSelector> views;
  std::istringstream names(o.views);
  for (std::string name; std::getline(names, name, ',');) {
    auto sel = ParseViewSelector(name);
    if (!sel.ok()) {
      std::fprintf(stderr, "dnsight: --views: %s\n", sel.status().message().c_str());
      return 2;
    }
    views.push_back(*sel);
  }
  if (views.empty())
    for (const auto& v : cfg.views) views.push_back({v.name, ""});
  auto store = OpenFeatureStore(cfg, /*want_online=*/false);
  if (!store.ok() || !store->offline) {
    std::fprintf(stderr, "dnsight: %s\n",
                 store.ok() ? "the offline store is disabled" : store.status().ToString().c_str());
    return 1;
  }
  PitStats stats;
  auto ts = PointInTimeJoin(*store->offline, *store->registry, *spine, views, &stats);
  if (!ts.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", ts.status().ToString().c_str());
    return 1;
  }
  std::string format = o.format;
  if (format.empty())
    format =
        o.output.size() > 6 && o.output.substr(o.output.size() - 6) == ".jsonl" ? "jsonl" : "csv";
  std::string out;
  if (format == "jsonl")
    AppendTrainingSetJsonl(*spine, *ts, &out);
  else if (format == "csv")
    AppendTrainingSetCsv(*spine, *ts, &out);
  else {
    std::fprintf(stderr, "dnsight: --format must be csv or jsonl\n");
    return 2;
  }
  if (!WriteOutput(o.output, out)) {
    std::fprintf(stderr, "dnsight: cannot write %s\n", o.output.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "dnsight: %llu spine rows; (row, view) pairs: %llu matched, %llu expired (TTL), "
               "%llu without history; scanned %llu blocks, %llu rows, %llu corrupt blocks\n",
               static_cast<unsigned long long>(stats.spine_rows),
               static_cast<unsigned long long>(stats.matched),
               static_cast<unsigned long long>(stats.expired),
               static_cast<unsigned long long>(stats.unmatched),
               static_cast<unsigned long long>(stats.scan.blocks),
               static_cast<unsigned long long>(stats.scan.rows),
               static_cast<unsigned long long>(stats.scan.corrupt_blocks));
  return 0;
}

int ExportCommand(const ExportOptions& o) {
  EngineConfig cfg;
  if (!LoadStoreConfig(o.config_path, &cfg)) return 2;
  int64_t from = INT64_MIN, to = INT64_MAX;
  if (!ParseBound(o.from, "--from", &from) || !ParseBound(o.to, "--to", &to)) return 2;
  auto store = OpenFeatureStore(cfg, /*want_online=*/false);
  if (!store.ok() || !store->offline) {
    std::fprintf(stderr, "dnsight: %s\n",
                 store.ok() ? "the offline store is disabled" : store.status().ToString().c_str());
    return 1;
  }
  std::string out;
  OfflineScanStats stats;
  Status s = store->offline->Scan(
      o.view, from, to,
      [&](const OfflineBlock& b) {
        for (size_t r = 0; r < b.rows(); ++r) {
          if (b.window_end_ns[r] < from || b.window_end_ns[r] >= to) continue;
          out += "{\"entity\":";
          AppendJsonString(b.entities[r], &out);
          out += ",\"window_end\":\"" + FormatRfc3339(b.window_end_ns[r]) + "\",\"version\":";
          AppendJsonString(b.version, &out);
          out += ",\"features\":{";
          for (size_t f = 0; f < b.feature_names.size(); ++f) {
            if (f) out.push_back(',');
            AppendJsonString(b.feature_names[f], &out);
            out.push_back(':');
            AppendJsonNumber(b.value(f, r), &out);
          }
          out += "}}\n";
        }
        return Status::Ok();
      },
      &stats);
  if (!s.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!WriteOutput(o.output, out)) {
    std::fprintf(stderr, "dnsight: cannot write %s\n", o.output.c_str());
    return 1;
  }
  std::fprintf(stderr, "dnsight: %llu rows in %llu blocks, %llu corrupt blocks skipped\n",
               static_cast<unsigned long long>(stats.rows),
               static_cast<unsigned long long>(stats.blocks),
               static_cast<unsigned long long>(stats.corrupt_blocks));
  return 0;
}

int GetCommand(const GetOptions& o) {
  EngineConfig cfg;
  if (!LoadStoreConfig(o.config_path, &cfg)) return 2;
  std::vector<std::string> views, entities = o.entities;
  std::istringstream names(o.views);
  for (std::string name; std::getline(names, name, ',');) views.push_back(name);
  if (!o.entities_file.empty()) {
    std::ifstream in(o.entities_file);
    if (!in) {
      std::fprintf(stderr, "dnsight: cannot read %s\n", o.entities_file.c_str());
      return 2;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) entities.push_back(line);
  }
  auto store = OpenFeatureStore(cfg, /*want_online=*/true);
  if (!store.ok() || !store->online) {
    std::fprintf(stderr, "dnsight: %s\n",
                 store.ok() ? "the online store is disabled" : store.status().ToString().c_str());
    return 1;
  }
  SystemClock clock;
  FeatureService service(*store->registry, *store->online, clock);
  FeatureResponse resp;
  if (Status s = service.GetFeatures(views, entities, &resp); !s.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", s.ToString().c_str());
    return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < entities.size(); ++i) {
    if (i) out += ",\n";
    AppendEntityFeaturesJson(entities[i], views, resp, i, &out);
  }
  out += "]}\n";
  if (!WriteOutput(o.output, out)) {
    std::fprintf(stderr, "dnsight: cannot write %s\n", o.output.c_str());
    return 1;
  }
  return 0;
}

int ServeCommand(const std::string& config_path) {
  EngineConfig cfg;
  if (!LoadStoreConfig(config_path, &cfg)) return 2;
  if (cfg.api.listen.empty()) {
    std::fprintf(stderr, "dnsight: %s has no api.listen\n", config_path.c_str());
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto store = OpenFeatureStore(cfg, /*want_online=*/true);
  if (!store.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", store.status().ToString().c_str());
    return 1;
  }
  SystemClock clock;
  auto api = RunningApi::Start(cfg, *store, clock);
  if (!api.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", api.status().ToString().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "dnsight: signal %d, stopping\n", sig);
  return 0;
}

int RegistryCommand(const RegistryOptions& o) {
  EngineConfig cfg;
  if (!LoadStoreConfig(o.config_path, &cfg)) return 2;
  auto reg = Registry::Open(cfg.store.path + "/registry");
  if (!reg.ok()) {
    std::fprintf(stderr, "dnsight: %s\n", reg.status().ToString().c_str());
    return 1;
  }
  Registry& r = **reg;
  if (o.action == "list") {
    std::printf("%-20s %-18s %-18s %-9s %-10s %s\n", "VIEW", "VERSION", "ENTITY", "FEATURES",
                "SENSITIVE", "VERSIONS");
    for (const auto& v : r.List())
      std::printf("%-20s %-18s %-18s %-9zu %-10s %zu\n", v.name.c_str(), v.version.c_str(),
                  v.entity.c_str(), v.feature_names.size(),
                  v.sensitivity == "sensitive" ? "yes" : "no", r.Versions(v.name).size());
    return 0;
  }
  if (o.action == "register") {
    if (Status s = SelectViews(o.view, &cfg); !s.ok()) {
      std::fprintf(stderr, "dnsight: %s\n", s.message().c_str());
      return 2;
    }
    SystemClock clock;
    if (Status s = RegisterConfigViews(r, cfg, clock.NowNs()); !s.ok()) {
      std::fprintf(stderr, "dnsight: %s\n", s.ToString().c_str());
      return 1;
    }
    for (const auto& v : cfg.views) std::printf("%s %s\n", v.name.c_str(), v.version.c_str());
    return 0;
  }
  if (o.view.empty()) {
    std::fprintf(stderr, "dnsight: registry %s needs a view name\n", o.action.c_str());
    return 2;
  }
  const auto versions = r.Versions(o.view);
  if (versions.empty()) {
    std::fprintf(stderr, "dnsight: unknown view '%s'\n", o.view.c_str());
    return 1;
  }
  if (o.action == "describe") {
    for (const auto& v : versions) std::printf("%s\n", RegisteredViewToJson(v).c_str());
    return 0;
  }
  if (o.action == "diff") {
    const auto pick = [&](const std::string& version, size_t fallback) -> Result<RegisteredView> {
      if (version.empty()) return versions[fallback];
      return r.Get(o.view, version);
    };
    auto from = pick(o.from_version, versions.size() >= 2 ? versions.size() - 2 : 0);
    auto to = pick(o.to_version, versions.size() - 1);
    if (!from.ok() || !to.ok()) {
      std::fprintf(stderr, "dnsight: %s\n",
                   (!from.ok() ? from.status() : to.status()).message().c_str());
      return 1;
    }
    std::printf("%s", DiffViews(*from, *to).c_str());
    return 0;
  }
  std::fprintf(stderr, "dnsight: unknown registry action '%s'\n", o.action.c_str());
  return 2;
}

}  // namespace dnsight
