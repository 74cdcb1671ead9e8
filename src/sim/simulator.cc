#include "sim/simulator.h"

#include <time.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "sim/writers.h"

namespace dnsight::sim {
namespace {

Status WriteWhole(const std::string& path, const std::string& text,
                  std::vector<std::pair<std::string, uint64_t>>* files) {
  auto file = OutputFile::Open(path);
  if (!file.ok()) return file.status();
  if (Status st = (*file)->Append(text); !st.ok()) return st;
  if (Status st = (*file)->Close(); !st.ok()) return st;
  files->emplace_back(path, text.size());
  return Status::Ok();
}

void SleepNs(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

// Fans each event out to every writer.
class Fanout : public EventSink {
 public:
  explicit Fanout(std::vector<std::unique_ptr<EventWriter>>* writers) : writers_(writers) {}
  Status Write(const SimEvent& e) override {
    for (auto& w : *writers_)
      if (Status st = w->Write(e); !st.ok()) return st;
    return Status::Ok();
  }

 private:
  std::vector<std::unique_ptr<EventWriter>>* writers_;
};

}  // namespace

World World::Build(Scenario scenario) {
  World w{std::move(scenario), {}, {}};
  w.fleet = Fleet::Build(w.scenario);
  w.timeline = PlanTimeline(w.scenario, w.fleet);
  return w;
}

Status GenerateTraffic(const World& world, EventSink& sink) {
  TrafficGenerator gen(world.scenario, world.fleet, world.timeline);
  return gen.Run(sink);
}

Result<SimulationSummary> RunSimulation(const World& world, const SimulationOptions& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  SimulationSummary summary;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return Status::IoError(o.out_dir + ": cannot create directory: " + ec.message());
  const auto in_dir = [&](const char* name) {
    return (std::filesystem::path(o.out_dir) / name).string();
  };

  std::string text;
  for (const Incident& inc : world.timeline.incidents) {
    AppendIncidentJson(inc, &text);
    ++summary.incidents_by_class[static_cast<size_t>(inc.cls)];
  }
  if (Status st = WriteWhole(in_dir("incidents.jsonl"), text, &summary.files); !st.ok()) return st;
  text.clear();
  for (const ChangeEvent& ch : world.timeline.changes) AppendChangeJson(ch, &text);
  summary.changes = world.timeline.changes.size();
  if (Status st = WriteWhole(in_dir("changes.jsonl"), text, &summary.files); !st.ok()) return st;
  if (Status st = WriteWhole(in_dir("fleet.json"), world.fleet.ToJson(), &summary.files); !st.ok())
    return st;

  std::vector<std::unique_ptr<EventWriter>> writers;
  const auto open = [&](const std::string& path) -> Result<std::unique_ptr<OutputFile>> {
    return OutputFile::Open(path);
  };
  if (o.jsonl) {
    auto f = open(o.jsonl_path.empty() ? in_dir("events.jsonl") : o.jsonl_path);
    if (!f.ok()) return f.status();
    writers.push_back(MakeJsonlWriter(std::move(*f)));
  }
  if (o.dnstap) {
    auto f = open(in_dir("events.dnstap"));
    if (!f.ok()) return f.status();
    std::vector<std::string> identities;
    for (const Resolver& r : world.fleet.resolvers) identities.push_back(r.name);
    writers.push_back(MakeDnstapWriter(std::move(*f), std::move(identities)));
  }
  if (o.pcap) {
    auto f = open(in_dir("events.pcap"));
    if (!f.ok()) return f.status();
    writers.push_back(MakePcapWriter(std::move(*f)));
  }

  SystemClock system_clock;
  std::unique_ptr<Pacer> pacer;
  if (o.realtime_speed > 0) {
    pacer = std::make_unique<Pacer>(o.realtime_speed, world.scenario.start_ns,
                                    o.clock ? *o.clock : system_clock,
                                    o.sleep ? o.sleep : Pacer::SleepFn(SleepNs));
  }
  Fanout fanout(&writers);
  TrafficGenerator gen(world.scenario, world.fleet, world.timeline);
  const auto on_tick = [&](int64_t tick_end) -> Status {
    if (!pacer) return Status::Ok();
    // The tick's events have happened once simulated time reaches its end.
    pacer->WaitUntil(tick_end);
    for (auto& w : writers)
      if (Status st = w->Flush(tick_end); !st.ok()) return st;
    return Status::Ok();
  };
  Status st = gen.Run(fanout, on_tick);
  for (auto& w : writers) {
    Status closed = w->Close();
    if (st.ok()) st = closed;
  }
  if (!st.ok()) return st;
  summary.events = gen.events();
  const std::vector<std::string> names = {
      o.jsonl ? (o.jsonl_path.empty() ? in_dir("events.jsonl") : o.jsonl_path) : "",
      o.dnstap ? in_dir("events.dnstap") : "", o.pcap ? in_dir("events.pcap") : ""};
  size_t k = 0;
  for (const std::string& n : names)
    if (!n.empty()) summary.files.emplace_back(n, writers[k++]->bytes());
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return summary;
}

}  // namespace dnsight::sim
