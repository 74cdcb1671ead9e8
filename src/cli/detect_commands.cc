#include "cli/detect_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "common/time_util.h"
#include "detect/eval.h"
#include "detect/series_csv.h"

namespace dnsight {
namespace {

bool ParseDurationFlag(const std::string& text, const char* flag, int64_t* out) {
  if (text == "0") {
    *out = 0;
    return true;
  }
  const auto d = ParseDuration(text);
  if (!d || *d < 0) {
    std::fprintf(stderr, "dnsight: %s: bad duration '%s'\n", flag, text.c_str());
    return false;
  }
  *out = *d;
  return true;
}

}  // namespace

int DetectCommand(const DetectOptions& o) {
  CsvDetectOptions opts;
  opts.skip_bad = o.skip_bad;
  BaselineOptions& b = opts.baseline;
  b.threshold = o.threshold;
  b.min_scale = o.min_scale;
  if (o.min_points < 1) {
    std::fprintf(stderr, "dnsight: --min-points must be at least 1\n");
    return 2;
  }
  b.min_points = static_cast<uint32_t>(o.min_points);
  if (!ParseDurationFlag(o.period, "--period", &b.period_ns) ||
      !ParseDurationFlag(o.slot, "--slot", &b.slot_ns))
    return 2;
  if (!ParseScoreDirection(o.direction, &b.direction)) {
    std::fprintf(stderr, "dnsight: --direction must be up, down or both\n");
    return 2;
  }
  if (Status st = ValidateBaselineOptions(b); !st.ok()) {
    std::fprintf(stderr, "dnsight: detect: %s\n", st.message().c_str());
    return 2;
  }

  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (o.input != "-") {
    in_file.open(o.input, std::ios::binary);
    if (!in_file) {
      std::fprintf(stderr, "dnsight: cannot read %s\n", o.input.c_str());
      return 1;
    }
    in = &in_file;
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (o.output != "-") {
    out_file.open(o.output, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      std::fprintf(stderr, "dnsight: cannot write %s\n", o.output.c_str());
      return 1;
    }
    out = &out_file;
  }
  std::ios::sync_with_stdio(false);

  CsvDetectStats stats;
  const Status st = DetectCsv(*in, *out, opts, &stats);
  const std::string name = o.input == "-" ? "stdin" : o.input;
  if (!st.ok()) {
    std::fprintf(stderr, "dnsight: detect: %s: %s\n", name.c_str(), st.message().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "dnsight: detect: %llu rows, %llu anomalous (%llu values), %llu series, "
               "%llu missing values, %llu bad rows skipped\n",
               static_cast<unsigned long long>(stats.rows),
               static_cast<unsigned long long>(stats.anomalous_rows),
               static_cast<unsigned long long>(stats.anomalous_values),
               static_cast<unsigned long long>(stats.series.size()),
               static_cast<unsigned long long>(stats.missing_values),
               static_cast<unsigned long long>(stats.bad_rows));
  if (stats.bad_rows > 0)
    std::fprintf(stderr, "dnsight: detect: first bad row: %s\n", stats.first_bad.c_str());
  return 0;
}

int EvalCommand(const EvalCommandOptions& o) {
  EvalOptions opts;
  if (!ParseDurationFlag(o.grace, "--grace", &opts.grace_ns)) return 2;
  if (!o.span.empty() && !ParseDurationFlag(o.span, "--span", &opts.span_ns)) return 2;

  std::ifstream truth_in(o.truth, std::ios::binary);
  if (!truth_in) {
    std::fprintf(stderr, "dnsight: cannot read %s\n", o.truth.c_str());
    return 1;
  }
  auto incidents = ReadIncidents(truth_in, o.truth);
  if (!incidents.ok()) {
    std::fprintf(stderr, "dnsight: eval: %s\n", incidents.status().message().c_str());
    return 1;
  }
  std::ifstream decisions_in(o.decisions, std::ios::binary);
  if (!decisions_in) {
    std::fprintf(stderr, "dnsight: cannot read %s\n", o.decisions.c_str());
    return 1;
  }
  auto decisions = ReadDecisions(decisions_in, o.decisions);
  if (!decisions.ok()) {
    std::fprintf(stderr, "dnsight: eval: %s\n", decisions.status().message().c_str());
    return 1;
  }

  const EvalReport report = Evaluate(*incidents, *decisions, opts);
  const std::string table = FormatEvalTable(report);
  std::fwrite(table.data(), 1, table.size(), stdout);
  if (!o.json.empty()) {
    const std::string json = EvalReportJson(report);
    if (o.json == "-") {
      std::fwrite(json.data(), 1, json.size(), stdout);
    } else {
      std::ofstream out(o.json, std::ios::binary | std::ios::trunc);
      out << json;
      if (!out) {
        std::fprintf(stderr, "dnsight: cannot write %s\n", o.json.c_str());
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace dnsight
