#include "cli/run_command.h"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "act/alert_config.h"
#include "act/remediation_policy.h"
#include "cli/api_setup.h"
#include "cli/store_setup.h"
#include "common/time_util.h"
#include "detect/detector_sink.h"
#include "dnsight/clock.h"
#include "engine/config.h"
#include "engine/locked_row_sink.h"
#include "engine/pipeline.h"
#include "engine/row_writer.h"
#include "engine/source_factory.h"
#include "hosting/hosting_runner.h"
#include "serve/ops_runtime.h"
#include "store/store_sink.h"

namespace dnsight {
namespace {

void AppendCounterMap(const std::map<std::string, uint64_t, std::less<>>& m, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : m) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(k, out);
    out->push_back(':');
    out->append(std::to_string(v));
  }
  out->push_back('}');
}

std::string CountersJson(const Pipeline& p, const std::vector<std::unique_ptr<DnsSource>>& sources,
                         const StoreRowSink* store, const DetectorSink* detector) {
  const PipelineCounters c = p.counters();
  std::string j = "{\"engine\":{";
  j += "\"observations\":" + std::to_string(c.observations);
  j += ",\"events\":" + std::to_string(c.events);
  j += ",\"late_admitted\":" + std::to_string(c.late_admitted);
  j += ",\"late_dropped\":" + std::to_string(c.late_dropped);
  j += ",\"out_of_range\":" + std::to_string(c.out_of_range);
  j += ",\"rows\":" + std::to_string(c.rows);
  j += ",\"evictions\":" + std::to_string(c.evictions);
  j += ",\"entities_created\":" + std::to_string(c.entities_created);
  j += ",\"overflow_events\":" + std::to_string(c.overflow_events);
  j += ",\"entities_live\":" + std::to_string(c.entities);
  j += ",\"state_bytes\":" + std::to_string(c.state_bytes);
  j += ",\"rejected\":";
  AppendCounterMap(c.rejected, &j);
  j += "},\"sources\":[";
  bool first = true;
  const auto all = p.source_counters();
  for (size_t i = 0; i < all.size(); ++i) {
    const SourceCounters& s = all[i];
    if (!first) j += ',';
    first = false;
    j += "{\"name\":";
    AppendJsonString(s.name, &j);
    j += ",\"events\":" + std::to_string(s.observations);
    j += ",\"late_admitted\":" + std::to_string(s.late_admitted);
    j += ",\"late_dropped\":" + std::to_string(s.late_dropped);
    j += ",\"dead_letter_samples\":" + std::to_string(s.dead_letter_samples);
    j += ",\"malformed\":";
    AppendCounterMap(s.malformed, &j);
    j += ",\"detail\":{";
    bool first_detail = true;
    for (const auto& [name, value] : sources[i]->Counters()) {
      if (!first_detail) j += ',';
      first_detail = false;
      AppendJsonString(name, &j);
      j += ':' + std::to_string(value);
    }
    j += "}}";
  }
  j += "]";
  if (store != nullptr) {
    const StoreSinkCounters sc = store->counters();
    j += ",\"store\":{\"offline_rows\":" + std::to_string(sc.offline_rows);
    j += ",\"offline_blocks\":" + std::to_string(sc.offline_blocks);
    j += ",\"online_records\":" + std::to_string(sc.online_records);
    j += ",\"partitions_expired\":" + std::to_string(sc.partitions_expired);
    j += ",\"errors\":" + std::to_string(sc.errors) + "}";
  }
  if (detector != nullptr) {
    const DetectorCounters& dc = detector->counters();
    j += ",\"detect\":{\"rows_scored\":" + std::to_string(dc.rows_scored.load());
    j += ",\"decisions\":" + std::to_string(dc.decisions.load());
    j += ",\"alerts\":" + std::to_string(dc.alerts.load());
    j += ",\"downgraded\":" + std::to_string(dc.downgraded.load());
    j += ",\"entities_skipped\":" + std::to_string(dc.entities_skipped.load());
    j += ",\"entities_expired\":" + std::to_string(dc.entities_expired.load());
    j += ",\"model_errors\":" + std::to_string(dc.model_errors.load()) + "}";
  }
  j += "}";
  return j;
}

SourceConfig ParseSourceFlag(const std::string& flag) {
  const size_t colon = flag.find(':');
  if (colon == std::string::npos) throw ConfigError("--source " + flag + ": expected TYPE:PATH");
  SourceConfig s;
  s.type = flag.substr(0, colon);
  s.where = "--source " + flag;
  const std::string rest = flag.substr(colon + 1);
  if (s.type == "pcap_live") {
    s.interface = rest;
  } else if (s.type == "dnstap_tcp") {
    const size_t c2 = rest.rfind(':');
    s.address = c2 == std::string::npos ? "127.0.0.1" : rest.substr(0, c2);
    s.port = std::stoi(c2 == std::string::npos ? rest : rest.substr(c2 + 1));
  } else if (s.type == "jsonl+follow") {
    s.type = "jsonl";
    s.follow = true;
    s.path = rest;
  } else {
    s.path = rest;
  }
  return s;
}

}  // namespace

int RunCommand(const RunOptions& options) {
  // SIGINT/SIGTERM stop the sources; the pipeline then drains and closes every pane.
  // Blocked before anything starts a thread (RocksDB, the API), so every thread inherits
  // the mask and only the signal thread below takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  SystemClock clock;  // first, so it outlives everything that borrows it
  EngineConfig cfg;
  std::vector<std::unique_ptr<DnsSource>> sources;
  std::unique_ptr<JsonLinesRowSink> json_sink;
  FeatureStoreHandles store;
  std::unique_ptr<StoreRowSink> store_sink;
  std::unique_ptr<RunningApi> api;
  ChangeEvents changes;
  DecisionLog decision_log;
  FILE* decisions_out = nullptr;
  std::unique_ptr<DetectorSink> detector;
  std::unique_ptr<OpsRuntime> ops;
  std::unique_ptr<LockedRowSink> locked;
  std::unique_ptr<HostingRunner> hosting;
  RowSink* sink = nullptr;
  try {
    cfg = LoadConfig(options.config_path);
    if (options.threads > 0) cfg.engine.threads = options.threads;
    if (Status s = SelectViews(options.views, &cfg); !s.ok()) throw ConfigError(s.message());
    if (options.backfill) {
      if (cfg.store.path.empty())
        throw ConfigError(options.config_path + ": backfill needs a 'store' section with a path");
      cfg.engine.idle_advance_ns = 0;  // pure event time
      cfg.output.features = "";        // history goes to the store unless --features is given
      const auto bound = [](const std::string& text, const char* flag) {
        auto t = ParseRfc3339(text);
        if (!t) throw ConfigError(std::string(flag) + ": bad RFC 3339 time '" + text + "'");
        return *t;
      };
      if (!options.from.empty()) cfg.engine.accept_from_ns = bound(options.from, "--from");
      if (!options.to.empty()) cfg.engine.accept_to_ns = bound(options.to, "--to");
    }
    if (!options.features_path.empty()) cfg.output.features = options.features_path;
    if (!options.decisions_path.empty()) cfg.detect.decisions = options.decisions_path;
    if (!options.counters_path.empty()) cfg.output.counters = options.counters_path;
    if (!options.extra_sources.empty()) {
      cfg.sources.clear();
      for (const auto& f : options.extra_sources) cfg.sources.push_back(ParseSourceFlag(f));
    }
    if (cfg.sources.empty() && cfg.web.logs.empty() && cfg.hosts.targets.empty())
      throw ConfigError(options.config_path + ": no sources configured");
    for (const auto& s : cfg.sources) sources.push_back(MakeSource(s));
    json_sink = std::make_unique<JsonLinesRowSink>(cfg.output.features, cfg.output.late_events,
                                                   cfg.output.dead_letter);
    sink = json_sink.get();
    {
      auto created = OpsRuntime::Create(cfg, clock);
      if (!created.ok()) throw std::runtime_error(created.status().ToString());
      ops = std::move(created.value());
    }
    if (!cfg.detect.decisions.empty()) {
      for (const auto& f : cfg.detect.changes)
        if (Status s = changes.AddFile(f); !s.ok()) throw ConfigError(s.message());
      if (changes.rejected() > 0)
        std::fprintf(stderr, "dnsight: change events: %llu malformed line(s) skipped, e.g. %s\n",
                     static_cast<unsigned long long>(changes.rejected()),
                     changes.rejected_samples().front().c_str());
      decisions_out =
          cfg.detect.decisions == "-" ? stdout : std::fopen(cfg.detect.decisions.c_str(), "w");
      if (decisions_out == nullptr)
        throw ConfigError(cfg.detect.decisions + ": cannot open for writing");
      OpsRuntime* o = ops.get();
      auto created = DetectorSink::Create(
          cfg, &changes, sink, [decisions_out, &decision_log, o](const Decision& raw) {
            Decision d = raw;
            o->Enrich(&d);  // the hosting join: host context and failure domain
            decision_log.Append(d);
            std::string line;
            AppendDecisionJson(d, &line);
            line.push_back('\n');
            std::fwrite(line.data(), 1, line.size(), decisions_out);
            std::fflush(decisions_out);
            o->OnDecision(d);  // alert lifecycle, then remediation
          });
      if (!created.ok()) throw ConfigError(created.status().message());
      detector = std::move(created.value());
      detector->SetOnCleared([o](const std::string& klass, const std::string& view,
                                 const std::string& entity,
                                 int64_t ts) { o->OnCleared(klass, view, entity, ts); });
      sink = detector.get();
    }
    if (!cfg.store.path.empty()) {
      auto opened = OpenFeatureStore(cfg, !options.backfill || options.backfill_online);
      if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
      store = std::move(opened.value());
      if (Status s = RegisterConfigViews(*store.registry, cfg, clock.NowNs()); !s.ok())
        throw std::runtime_error(s.ToString());
      store_sink = std::make_unique<StoreRowSink>(store.offline.get(), store.online.get(), sink,
                                                  cfg.store.offline_partition_ns);
      sink = store_sink.get();
    } else if (!cfg.api.listen.empty()) {
      throw ConfigError(options.config_path + ": api needs a 'store' section");
    }
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: config error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dnsight: %s\n", e.what());
    return 2;
  }

  // Every producer (the DNS engine's writer, the hosting threads) enters the chain
  // through one lock; the monitor watches rows first.
  sink = &ops->Monitor(*sink);
  locked = std::make_unique<LockedRowSink>(*sink);
  sink = locked.get();
  if (!options.backfill) {
    hosting = std::make_unique<HostingRunner>(cfg, *sink, clock);
    if (!hosting->enabled()) hosting.reset();
  }
  auto pipeline_owner = std::make_unique<Pipeline>(cfg, *sink);
  Pipeline& pipeline = *pipeline_owner;
  std::vector<ObservationSink*> sinks;
  for (const auto& s : sources) sinks.push_back(&pipeline.AddSource(s->Describe()));

  ops->Attach({&pipeline, &sources, store_sink.get(), detector.get(), hosting.get(),
               detector ? &changes : nullptr, detector ? &decision_log : nullptr});
  ops->Start();
  // The API starts last: its threads read everything wired above.
  if (store.registry && !options.backfill && !cfg.api.listen.empty()) {
    auto started = RunningApi::Start(cfg, store, clock, detector ? &decision_log : nullptr,
                                     detector ? &changes : nullptr, ops.get());
    if (!started.ok()) {
      std::fprintf(stderr, "dnsight: %s\n", started.status().ToString().c_str());
      ops->Stop();
      (void)pipeline_owner.release();
      return 2;
    }
    api = std::move(started.value());
    ops->AttachApiCounters(&api->counters());
  }
  if (hosting) hosting->Start();

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  bool done = false;
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    {
      std::lock_guard lock(stop_mu);
      if (done) return;
      std::fprintf(stderr, "dnsight: signal %d, stopping sources\n", sig);
      for (auto& s : sources) s->RequestStop();
      if (hosting) hosting->RequestStop();
      stop_requested = true;
      stop_cv.notify_all();
    }
    // A second signal while the first one's orderly shutdown runs ends the process now.
    sigwait(&signals, &sig);
    std::lock_guard lock(stop_mu);
    if (done) return;
    std::fprintf(stderr, "dnsight: second signal %d, exiting without draining\n", sig);
    std::_Exit(130);
  });

  // Processing-time ticks let quiet live input close its panes (engine.idle_advance).
  // It waits on a condition variable, so the end of the input stops it at once.
  std::mutex ticker_mu;
  std::condition_variable ticker_cv;
  bool sources_done = false;
  std::thread ticker([&] {
    std::unique_lock lock(ticker_mu);
    while (
        !ticker_cv.wait_for(lock, std::chrono::milliseconds(250), [&] { return sources_done; })) {
      lock.unlock();
      pipeline.Tick(clock.NowNs());
      lock.lock();
    }
  });

  int rc = 0;
  std::vector<std::thread> threads;
  std::vector<Status> results(sources.size());
  for (size_t i = 1; i < sources.size(); ++i)
    threads.emplace_back([&, i] { results[i] = sources[i]->Run(*sinks[i]); });
  if (!sources.empty()) results[0] = sources[0]->Run(*sinks[0]);
  for (auto& t : threads) t.join();
  if (hosting) {
    // Files are read to their end; followed logs and scrapes run until a signal.
    hosting->WaitForFiles();
    if (hosting->live()) {
      std::unique_lock lock(stop_mu);
      stop_cv.wait(lock, [&] { return stop_requested; });
    }
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    if (!results[i].ok()) {
      std::fprintf(stderr, "dnsight: %s: %s\n", sources[i]->Describe().c_str(),
                   results[i].ToString().c_str());
      rc = 1;
    }
  }
  {
    std::lock_guard lock(ticker_mu);
    sources_done = true;
  }
  ticker_cv.notify_all();
  ticker.join();
  pipeline.Finish();
  if (hosting) hosting->Finish();
  ops->Stop();
  json_sink->Flush();
  if (decisions_out != nullptr && decisions_out != stdout) std::fclose(decisions_out);
  {
    std::lock_guard lock(stop_mu);
    done = true;
  }
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();

  const std::string counters = CountersJson(pipeline, sources, store_sink.get(), detector.get());
  if (!cfg.output.counters.empty()) {
    std::ofstream out(cfg.output.counters);
    out << counters << '\n';
  }
  std::fprintf(stderr, "dnsight: counters %s\n", counters.c_str());
  // The API's threads read the operations runtime, the stores and the decision log:
  // stop serving before any of them is destroyed.
  api.reset();
  // The process ends right after this: freeing every entity's panes one by one would
  // cost seconds on a large state (measured ~19% of a short run), so the state is left
  // to the OS. Every thread has been joined and every output flushed by now.
  (void)pipeline_owner.release();
  return rc;
}

int ValidateCommand(const std::string& config_path) {
  try {
    const EngineConfig cfg = LoadConfig(config_path);
    // The operations sections are parsed by their own modules; check them here too.
    if (cfg.ops.alerts) ParseAlertConfig(*cfg.ops.alerts);
    if (!cfg.ops.remediation_policy.empty())
      RemediationPolicy::LoadFile(cfg.ops.remediation_policy);
    std::printf("%s: OK, %zu source(s), %zu view(s)\n", config_path.c_str(), cfg.sources.size(),
                cfg.views.size());
    for (const auto& v : cfg.views) {
      std::printf("view %s  entity=%s  version=%s  features=%zu\n", v.name.c_str(),
                  std::string(EntityKindName(v.entity)).c_str(), v.version.c_str(),
                  v.feature_names.size());
      for (const auto& f : v.feature_names) std::printf("  %s\n", f.c_str());
    }
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: config error: %s\n", e.what());
    return 2;
  }
}

}  // namespace dnsight
