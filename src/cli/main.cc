// The `dnsight` binary: subcommands over the engine and the feature store.
//
//   dnsight run       --config dnsight.yaml [--threads N] [--source TYPE:PATH]... [--features PATH]
//   dnsight backfill  --config dnsight.yaml --source TYPE:PATH... [--from T] [--to T] [--views a,b]
//   [--online] dnsight features historical --config dnsight.yaml --spine rows.csv [--views a,b]
//   [--output P] dnsight features export --config dnsight.yaml --view V [--from T] [--to T] dnsight
//   registry  list|describe|diff|register --config dnsight.yaml [--view V] ... dnsight validate
//   --config dnsight.yaml    check a config; print views, versions, features
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/act_commands.h"
#include "cli/detect_commands.h"
#include "cli/feedback_command.h"
#include "cli/run_command.h"
#include "cli/simulate_command.h"
#include "cli/store_commands.h"
#include "cli/train_command.h"

namespace {

void AddRunFlags(CLI::App* cmd, dnsight::RunOptions* run) {
  cmd->add_option("-c,--config", run->config_path, "config file (YAML)")->required();
  cmd->add_option("-t,--threads", run->threads, "shard threads (overrides engine.threads)");
  cmd->add_option("--source", run->extra_sources,
                  "source TYPE:PATH, e.g. pcap_file:x.pcap, dnstap_file:x.fstrm, jsonl:-, "
                  "dnstap_unix:/run/x.sock (replaces the config's sources)");
  cmd->add_option("--features", run->features_path, "feature output (overrides output.features)");
  cmd->add_option("--counters", run->counters_path, "write counters JSON here at exit");
  cmd->add_option("--views", run->views, "only these views (comma-separated)");
  cmd->add_option("--decisions", run->decisions_path,
                  "write detection decisions here (overrides detect.decisions)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dnsight: streaming features and anomaly detection for DNS telemetry"};
  app.require_subcommand(1);

  dnsight::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "ingest DNS telemetry and emit windowed features");
  AddRunFlags(run_cmd, &run);

  dnsight::RunOptions backfill;
  backfill.backfill = true;
  auto* backfill_cmd = app.add_subcommand(
      "backfill", "replay raw history through the same views into the offline store");
  AddRunFlags(backfill_cmd, &backfill);
  backfill_cmd->add_option("--from", backfill.from, "first event time (RFC 3339, inclusive)");
  backfill_cmd->add_option("--to", backfill.to, "end of event time (RFC 3339, exclusive)");
  backfill_cmd->add_flag("--online", backfill.backfill_online,
                         "also write the latest values to the online store");

  auto* features_cmd = app.add_subcommand("features", "read features from the store");
  features_cmd->require_subcommand(1);
  dnsight::HistoricalOptions hist;
  auto* hist_cmd = features_cmd->add_subcommand(
      "historical", "point-in-time training set for a spine of (entity, timestamp[, label])");
  hist_cmd->add_option("-c,--config", hist.config_path, "config file (YAML)")->required();
  hist_cmd->add_option("--spine", hist.spine_path, "CSV with entity,timestamp[,label]")->required();
  hist_cmd->add_option("--views", hist.views, "views to join, name or name@version (default all)");
  hist_cmd->add_option("-o,--output", hist.output, "output file (default stdout)");
  hist_cmd->add_option("--format", hist.format, "csv or jsonl (default from the extension)");

  dnsight::ExportOptions exp;
  auto* export_cmd =
      features_cmd->add_subcommand("export", "offline history of one view as JSON lines");
  export_cmd->add_option("-c,--config", exp.config_path, "config file (YAML)")->required();
  export_cmd->add_option("--view", exp.view, "view name")->required();
  export_cmd->add_option("--from", exp.from, "first window end (RFC 3339, inclusive)");
  export_cmd->add_option("--to", exp.to, "last window end (RFC 3339, exclusive)");
  export_cmd->add_option("-o,--output", exp.output, "output file (default stdout)");

  dnsight::GetOptions get;
  auto* get_cmd = features_cmd->add_subcommand(
      "get", "online values of entities, with status and staleness (as the API serves them)");
  get_cmd->add_option("-c,--config", get.config_path, "config file (YAML)")->required();
  get_cmd->add_option("--views", get.views, "views, comma-separated")->required();
  get_cmd->add_option("--entity", get.entities, "entity (repeatable)");
  get_cmd->add_option("--entities-file", get.entities_file, "file with one entity per line");
  get_cmd->add_option("-o,--output", get.output, "output file (default stdout)");

  std::string serve_path;
  auto* serve_cmd = app.add_subcommand("serve", "serve the HTTP API over the store (no ingest)");
  serve_cmd->add_option("-c,--config", serve_path, "config file (YAML)")->required();

  dnsight::RegistryOptions reg;
  dnsight::RunOptions reg_backfill;
  reg_backfill.backfill = true;
  auto* reg_cmd = app.add_subcommand("registry", "list, describe, diff and register feature views");
  reg_cmd->add_option("action", reg.action, "list | describe | diff | register")->required();
  reg_cmd->add_option("view", reg.view, "view name (register: comma-separated, default all)");
  reg_cmd->add_option("-c,--config", reg.config_path, "config file (YAML)")->required();
  reg_cmd->add_option("--from-version", reg.from_version, "diff: older version (default previous)");
  reg_cmd->add_option("--to-version", reg.to_version, "diff: newer version (default latest)");
  reg_cmd->add_option("--backfill-from", reg_backfill.from,
                      "register: then backfill the view(s) from this time (RFC 3339)");
  reg_cmd->add_option("--backfill-to", reg_backfill.to, "register: backfill up to this time");
  reg_cmd->add_option("--source", reg_backfill.extra_sources,
                      "register: raw history to backfill from (TYPE:PATH)");

  dnsight::TrainOptions train;
  auto* train_cmd = app.add_subcommand(
      "train",
      "fit a model (isolation forest or xgboost) on a view's offline history; save it versioned");
  train_cmd->add_option("-c,--config", train.config_path, "config file (YAML)")->required();
  train_cmd->add_option("--view", train.view, "view to train on")->required();
  train_cmd->add_option("-o,--output", train.output, "model file to write")->required();
  train_cmd->add_option("--kind", train.kind, "model kind: iforest (default) or xgboost");
  train_cmd->add_option("--features", train.features, "features (comma-separated; default all)");
  train_cmd->add_option("--from", train.from, "first window end (RFC 3339)");
  train_cmd->add_option("--to", train.to, "end of window ends (RFC 3339, exclusive)");
  train_cmd->add_option("--trees", train.trees, "trees (default 100)");
  train_cmd->add_option("--sample", train.sample, "rows per tree (default 256)");
  train_cmd->add_option("--seed", train.seed, "random seed (default 1)");
  train_cmd->add_option("--truth", train.truth, "xgboost: incident timeline for weak labels");
  train_cmd->add_option("--class", train.klass, "xgboost: incident class to learn");
  train_cmd->add_option("--rounds", train.rounds, "xgboost: boosting rounds (default 100)");
  train_cmd->add_option("--max-depth", train.max_depth, "xgboost: tree depth (default 4)");
  train_cmd->add_option("--eta", train.eta, "xgboost: learning rate (default 0.3)");

  std::string validate_path;
  auto* validate_cmd = app.add_subcommand("validate", "check a config and list its feature views");
  validate_cmd->add_option("-c,--config", validate_path, "config file (YAML)")->required();

  dnsight::DetectOptions det;
  auto* detect_cmd = app.add_subcommand(
      "detect", "score a CSV of time series with the robust baseline (timestamp + value columns)");
  detect_cmd->add_option("-i,--input", det.input, "CSV file, - for stdin")->required();
  detect_cmd->add_option("-o,--output", det.output, "output CSV (default stdout)");
  detect_cmd->add_option("--threshold", det.threshold, "anomalous at score >= this (default 4)");
  detect_cmd->add_option("--period", det.period, "season length, 0 = none (default 1d)");
  detect_cmd->add_option("--slot", det.slot, "season slot width (default 1h)");
  detect_cmd->add_option("--direction", det.direction, "up, down or both (default both)");
  detect_cmd->add_option("--min-points", det.min_points, "warm-up points per series (default 12)");
  detect_cmd->add_option("--min-scale", det.min_scale, "absolute scale floor (default 0.001)");
  detect_cmd->add_flag("--skip-bad", det.skip_bad, "skip and count malformed rows");

  dnsight::EvalCommandOptions ev;
  auto* eval_cmd =
      app.add_subcommand("eval", "precision, recall, false alerts and time to detect of decisions");
  eval_cmd->add_option("--truth", ev.truth, "incident timeline (incidents.jsonl)")->required();
  eval_cmd->add_option("--decisions", ev.decisions, "decisions.jsonl")->required();
  eval_cmd->add_option("--grace", ev.grace, "alerts up to this long after an incident's end match");
  eval_cmd->add_option("--span", ev.span, "span for false alerts per day (default: the inputs')");
  eval_cmd->add_option("--json", ev.json, "also write the report as JSON (- = stdout)");

  dnsight::SimulateOptions sim;
  auto* sim_cmd = dnsight::AddSimulateCommand(app, &sim);
  dnsight::AddActCommands(app);       // audit verify, remediate: each runs from its callback
  dnsight::AddFeedbackCommands(app);  // feedback give, export: the same way

  CLI11_PARSE(app, argc, argv);

  if (*run_cmd) return dnsight::RunCommand(run);
  if (*backfill_cmd) {
    if (backfill.extra_sources.empty()) {
      std::fprintf(stderr, "dnsight: backfill needs at least one --source\n");
      return 2;
    }
    return dnsight::RunCommand(backfill);
  }
  if (*hist_cmd) return dnsight::HistoricalCommand(hist);
  if (*export_cmd) return dnsight::ExportCommand(exp);
  if (*get_cmd) return dnsight::GetCommand(get);
  if (*serve_cmd) return dnsight::ServeCommand(serve_path);
  if (*reg_cmd) {
    const int rc = dnsight::RegistryCommand(reg);
    if (rc != 0 || reg.action != "register" || reg_backfill.from.empty()) return rc;
    if (reg_backfill.extra_sources.empty()) {
      std::fprintf(stderr, "dnsight: --backfill-from needs --source\n");
      return 2;
    }
    reg_backfill.config_path = reg.config_path;
    reg_backfill.views = reg.view;
    return dnsight::RunCommand(reg_backfill);
  }
  if (*validate_cmd) return dnsight::ValidateCommand(validate_path);
  if (*train_cmd) return dnsight::TrainCommand(train);
  if (*sim_cmd) return dnsight::SimulateCommand(sim);
  if (*detect_cmd) return dnsight::DetectCommand(det);
  if (*eval_cmd) return dnsight::EvalCommand(ev);
  return 2;
}
