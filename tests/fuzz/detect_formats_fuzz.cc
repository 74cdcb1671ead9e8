// libFuzzer target for the detection inputs: baseline checkpoints, incident and decision
// JSON lines, and detect's CSV.
//
// Input: the first byte picks the format; the rest is the bytes.
//   0  RobustBaseline::Deserialize (seasonal options). An accepted state must round-trip
//      through Serialize and keep scoring with finite results.
//   1  the same without seasonality.
//   2  VectorBaseline::Deserialize over three features.
//   3  ParseIncidentLine and ParseDecisionLine on each line, then Evaluate.
//   4  DetectCsv (and so SplitCsvLine and ParseCsvTimestamp), with skip_bad on and off.
//   5  IsolationForest::Parse: an accepted model scores any vector to a finite value.
//   6  GbtModel::Parse (model files are input like any other).
//   7  ChangeEvents and LeaseTable lines: accepted or counted, never a crash.
// Invariant violations trap.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "detect/change_events.h"
#include "detect/eval.h"
#include "detect/gbt_model.h"
#include "detect/isolation_forest.h"
#include "detect/robust_baseline.h"
#include "detect/series_csv.h"
#include "features/lease_table.h"

namespace {

using dnsight::BaselineOptions;
using dnsight::BaselineScore;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const BaselineOptions& Seasonal() {
  static const BaselineOptions options;
  return options;
}

const BaselineOptions& Flat() {
  static const BaselineOptions* options = [] {
    auto* o = new BaselineOptions;
    o->period_ns = 0;
    return o;
  }();
  return *options;
}

void Baseline(const BaselineOptions& options, std::string_view bytes) {
  dnsight::RobustBaseline b(&options);
  if (!b.Deserialize(bytes).ok()) return;
  // Re-reading what it writes gives the same bytes (the input itself may hold non-minimal
  // varints, so it is not compared).
  const std::string again = b.Serialize();
  dnsight::RobustBaseline c(&options);
  Check(c.Deserialize(again).ok() && c.Serialize() == again);
  for (int i = 0; i < 4; ++i) {
    const BaselineScore s = b.Observe(int64_t{i} * 60'000'000'000, 1.5 * i);
    Check(s.state != BaselineScore::State::kScored ||
          (std::isfinite(s.score) && std::isfinite(s.scale) && s.scale > 0));
  }
}

void Vector(std::string_view bytes) {
  dnsight::VectorBaseline v(3, &Flat());
  if (!v.Deserialize(bytes).ok()) return;
  std::string again, twice;
  v.SerializeTo(&again);
  dnsight::VectorBaseline w(3, &Flat());
  Check(w.Deserialize(again).ok());
  w.SerializeTo(&twice);
  Check(twice == again);
}

void Jsonl(std::string_view bytes) {
  std::vector<dnsight::EvalIncident> incidents;
  std::vector<dnsight::Decision> decisions;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    dnsight::EvalIncident inc;
    if (dnsight::ParseIncidentLine(line, &inc).ok()) {
      Check(inc.end_ns >= inc.start_ns);
      incidents.push_back(inc);
    }
    dnsight::Decision d;
    if (dnsight::ParseDecisionLine(line, &d).ok()) decisions.push_back(d);
  }
  const dnsight::EvalReport r = dnsight::Evaluate(incidents, decisions, dnsight::EvalOptions{});
  Check(r.false_alerts <= r.alerts && r.benign_alerts <= r.false_alerts);
  Check(r.all.detected <= r.all.incidents && r.all.matched_alerts <= r.all.alerts);
  dnsight::FormatEvalTable(r);
  dnsight::EvalReportJson(r);
}

void Csv(std::string_view bytes, bool skip_bad) {
  dnsight::CsvDetectOptions options;
  options.skip_bad = skip_bad;
  options.baseline.min_points = 2;
  std::istringstream in{std::string(bytes)};
  std::ostringstream out;
  dnsight::CsvDetectStats stats;
  const dnsight::Status st = dnsight::DetectCsv(in, out, options, &stats);
  Check(st.ok() || !skip_bad || st.message().find("header") != std::string::npos ||
        st.message().find("no header") != std::string::npos);
  Check(stats.anomalous_rows <= stats.rows);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 8) {
    case 0:
      Baseline(Seasonal(), bytes);
      break;
    case 1:
      Baseline(Flat(), bytes);
      break;
    case 2:
      Vector(bytes);
      break;
    case 3:
      Jsonl(bytes);
      break;
    case 5: {
      auto f = dnsight::IsolationForest::Parse(bytes);
      if (f.ok()) {
        std::vector<double> x(f->features().size(), 1.0);
        Check(std::isfinite(f->Score(x)));
        x.assign(x.size(), NAN);
        Check(std::isfinite(f->Score(x)));
      }
      break;
    }
    case 6: {
      auto m = dnsight::GbtModel::Parse(bytes);
      (void)m;
      break;
    }
    case 7: {
      dnsight::ChangeEvents changes;
      dnsight::LeaseTable leases;
      std::istringstream lines{std::string(bytes)};
      uint64_t n = 0;
      for (std::string line; std::getline(lines, line); ++n) {
        (void)changes.AddJsonLine(line);
        (void)leases.AddJsonLine(line);
      }
      leases.Seal();
      Check(changes.events() + changes.rejected() == n);
      Check(leases.leases() + leases.rejected() == n);
      break;
    }
    default:
      Csv(bytes, false);
      Csv(bytes, true);
      break;
  }
  return 0;
}
