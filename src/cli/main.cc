// The `dnsight` binary: subcommands over the engine.
//
//   dnsight run      --config dnsight.yaml [--threads N] [--source TYPE:PATH]... [--features PATH]
//   dnsight validate --config dnsight.yaml    check a config; print views, versions, features
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/run_command.h"

int main(int argc, char** argv) {
  CLI::App app{"dnsight: streaming features and anomaly detection for DNS telemetry"};
  app.require_subcommand(1);

  dnsight::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "ingest DNS telemetry and emit windowed features");
  run_cmd->add_option("-c,--config", run.config_path, "config file (YAML)")->required();
  run_cmd->add_option("-t,--threads", run.threads, "shard threads (overrides engine.threads)");
  run_cmd->add_option(
      "--source", run.extra_sources,
      "extra source TYPE:PATH, e.g. pcap_file:x.pcap, jsonl:-, dnstap_unix:/run/x.sock "
      "(replaces the config's sources)");
  run_cmd->add_option("--features", run.features_path,
                      "feature output (overrides output.features)");
  run_cmd->add_option("--counters", run.counters_path, "write counters JSON here at exit");

  std::string validate_path;
  auto* validate_cmd = app.add_subcommand("validate", "check a config and list its feature views");
  validate_cmd->add_option("-c,--config", validate_path, "config file (YAML)")->required();

  CLI11_PARSE(app, argc, argv);

  if (*run_cmd) return dnsight::RunCommand(run);
  if (*validate_cmd) return dnsight::ValidateCommand(validate_path);
  return 2;
}
