// Feature-store subcommands: `features historical` and `registry …`. Each returns a
// process exit code: 0 success, 1 runtime failure, 2 bad config or usage.
#pragma once

#include <string>
#include <vector>

namespace dnsight {

struct HistoricalOptions {
  std::string config_path;
  std::string spine_path;    // CSV: entity,timestamp[,label]
  std::string views;         // comma-separated, each "name" or "name@version"
  std::string output = "-";  // file or stdout
  std::string format;        // csv | jsonl ("" = from the output's extension, else csv)
};
int HistoricalCommand(const HistoricalOptions& o);

struct ExportOptions {
  std::string config_path;
  std::string view;
  std::string from, to;  // RFC 3339 window-end bounds ("" = unbounded)
  std::string output = "-";
};
// Offline history of one view as JSON lines, one row per (entity, window end), in
// stored order: {"entity":…,"window_end":…,"version":…,"features":{…}}.
int ExportCommand(const ExportOptions& o);

struct GetOptions {
  std::string config_path;
  std::string views;                  // comma-separated
  std::vector<std::string> entities;  // --entity, repeatable
  std::string entities_file;          // one entity per line
  std::string output = "-";
};
// Online values with status and staleness, as the API's /v1/features/batch returns them.
int GetCommand(const GetOptions& o);

// Serves the HTTP API over the store until SIGINT/SIGTERM (no ingest).
int ServeCommand(const std::string& config_path);

struct RegistryOptions {
  std::string config_path;
  std::string action;  // list | describe | diff | register
  std::string view;
  std::string from_version, to_version;  // diff ("" = previous / latest)
};
int RegistryCommand(const RegistryOptions& o);

}  // namespace dnsight
