// Operations subcommands:
//
//   dnsight audit verify <file>
//       Checks a hash-chained audit log. Exit 0 intact, 1 tampered or torn (the line, seq
//       and reason are printed), 2 when the file cannot be read.
//   dnsight remediate --policy policy.yaml --decisions decisions.jsonl --audit audit.jsonl
//                     [--changes changes.jsonl] [--execute]
//       Replays decisions through the remediation policy, one output line per decision.
//       Dry run unless --execute (and then only actions with dry_run: false run). Exit 0
//       when every decision was handled, 1 on unreadable input, malformed lines or audit
//       write errors, 2 on a bad policy or usage.
//
// AddActCommands registers both on app; each runs from its CLI11 callback and ends the
// parse with its exit code (CLI::RuntimeError), so main needs no dispatch for them.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace dnsight {

struct RemediateOptions {
  std::string policy;     // remediation policy YAML
  std::string decisions;  // decisions.jsonl ("-" = stdin)
  std::string audit;      // audit chain to append to (created when missing)
  std::string changes;    // optional changes.jsonl: maintenance and recent-change context
  bool execute = false;   // the process-wide execute switch
  bool no_fsync = false;  // skip fsync per audit record (faster replays; less durable)
};

int AuditVerifyCommand(const std::string& path);
int RemediateCommand(const RemediateOptions& options);

// Registers `audit verify` and `remediate`.
void AddActCommands(CLI::App& app);

}  // namespace dnsight
