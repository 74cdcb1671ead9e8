#include "cli/act_commands.h"

#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "act/audit_chain.h"
#include "act/remediation_policy.h"
#include "act/remediator.h"
#include "act/runbook.h"
#include "common/time_util.h"
#include "detect/change_events.h"
#include "dnsight/clock.h"
#include "engine/config.h"  // ConfigError

namespace dnsight {
namespace {

using simdjson::dom::element;

// The incident's blast radius, as replay sees it: distinct entities with an alert of the
// same class in the hour before the decision (the decision's own entity included).
constexpr int64_t kBlastWindowNs = 3600 * kNanosPerSecond;
// How far back a change is looked up; each no_recent_change precondition then applies
// its own window to it.
constexpr int64_t kChangeLookbackNs = 7 * 86400 * kNanosPerSecond;

bool GetString(element obj, const char* key, std::string* out) {
  std::string_view s;
  if (obj[key].get_string().get(s) != simdjson::SUCCESS) return false;
  out->assign(s);
  return true;
}

// One line of decisions.jsonl (docs/decisions.md) with the fields remediation uses.
Status ParseDecision(simdjson::dom::parser& parser, std::string_view line, Decision* d) {
  element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return Status::InvalidArgument("not a JSON object");
  if (doc["alert"].get_bool().get(d->alert) != simdjson::SUCCESS)
    return Status::InvalidArgument("missing boolean 'alert'");
  GetString(doc, "id", &d->id);
  int64_t ts_ns = 0;
  std::string ts;
  if (doc["ts_ns"].get_int64().get(ts_ns) == simdjson::SUCCESS) {
    d->ts_ns = ts_ns;
  } else if (GetString(doc, "ts", &ts) && ParseRfc3339(ts)) {
    d->ts_ns = *ParseRfc3339(ts);
  } else {
    return Status::InvalidArgument("missing 'ts' / 'ts_ns'");
  }
  if (!GetString(doc, "class", &d->klass) && d->alert)
    return Status::InvalidArgument("missing string 'class'");
  GetString(doc, "severity", &d->severity);
  GetString(doc, "confidence", &d->confidence);
  GetString(doc, "failure_domain", &d->failure_domain);
  GetString(doc, "action", &d->action);
  element scope;
  if (doc["scope"].get(scope) == simdjson::SUCCESS && scope.is_object()) {
    GetString(scope, "view", &d->view);
    GetString(scope, "entity", &d->entity);
    GetString(scope, "kind", &d->scope_kind);
    GetString(scope, "rollup", &d->rollup);
  } else if (d->alert) {
    return Status::InvalidArgument("missing 'scope' object");
  }
  element context;
  if (doc["context"].get(context) == simdjson::SUCCESS && context.is_object()) {
    bool b = false;
    if (context["maintenance"].get_bool().get(b) == simdjson::SUCCESS) d->maintenance = b;
    if (context["downgraded"].get_bool().get(b) == simdjson::SUCCESS) d->downgraded = b;
    GetString(context, "reason", &d->reason);
  }
  return Status::Ok();
}

// Tracks alerting entities per class for the blast radius.
class BlastRadius {
 public:
  uint64_t Observe(const Decision& d) {
    auto& seen = by_class_[d.klass];
    seen[d.entity] = d.ts_ns;
    std::erase_if(seen, [&](const auto& kv) { return d.ts_ns - kv.second >= kBlastWindowNs; });
    return seen.size();
  }

 private:
  std::map<std::string, std::map<std::string, int64_t>> by_class_;
};

std::string RuleNumbers(const std::vector<size_t>& rules) {
  std::string s;
  for (size_t r : rules) s += (s.empty() ? "" : ",") + std::to_string(r);
  return s.empty() ? "-" : s;
}

}  // namespace

int AuditVerifyCommand(const std::string& path) {
  Result<AuditVerifyReport> r = VerifyAuditChain(path);
  if (!r.ok()) {
    std::fprintf(stderr, "dnsight: audit verify: %s\n", r.status().message().c_str());
    return 2;
  }
  if (r->ok) {
    std::printf("%s: intact: %llu records, last hash %s\n", path.c_str(),
                static_cast<unsigned long long>(r->records), r->last_hash.c_str());
    return 0;
  }
  std::printf("%s: NOT INTACT at line %llu (seq %llu", path.c_str(),
              static_cast<unsigned long long>(r->line),
              static_cast<unsigned long long>(r->expected_seq));
  if (r->seq != 0 && r->seq != r->expected_seq)
    std::printf(", the line says seq %llu", static_cast<unsigned long long>(r->seq));
  std::printf("): %s: %s\n", std::string(r->reason()).c_str(), r->detail.c_str());
  std::printf("%s: %llu records verified before it, last good hash %s\n", path.c_str(),
              static_cast<unsigned long long>(r->records), r->last_hash.c_str());
  return 1;
}

int RemediateCommand(const RemediateOptions& o) {
  std::unique_ptr<RemediationPolicy> policy;
  try {
    policy = std::make_unique<RemediationPolicy>(RemediationPolicy::LoadFile(o.policy));
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "dnsight: remediate: %s\n", e.what());
    return 2;
  }

  ChangeEvents changes;
  if (!o.changes.empty()) {
    if (Status st = changes.AddFile(o.changes); !st.ok()) {
      std::fprintf(stderr, "dnsight: remediate: %s\n", st.message().c_str());
      return 1;
    }
    if (changes.rejected() > 0)
      std::fprintf(stderr, "dnsight: remediate: %s: %llu malformed change lines skipped\n",
                   o.changes.c_str(), static_cast<unsigned long long>(changes.rejected()));
  }

  std::ifstream in_file;
  std::istream* in = &std::cin;
  if (o.decisions != "-") {
    in_file.open(o.decisions, std::ios::binary);
    if (!in_file) {
      std::fprintf(stderr, "dnsight: remediate: cannot read %s\n", o.decisions.c_str());
      return 1;
    }
    in = &in_file;
  }

  AuditChainOptions audit_options;
  audit_options.fsync = !o.no_fsync;
  Result<std::unique_ptr<AuditChain>> audit = AuditChain::Open(o.audit, audit_options);
  if (!audit.ok()) {
    std::fprintf(stderr, "dnsight: remediate: %s\n", audit.status().message().c_str());
    return 1;
  }
  AuditChain& chain = **audit;
  if (chain.open_report().repaired_torn_tail)
    std::fprintf(stderr, "dnsight: remediate: %s: repaired a torn last line (%llu bytes cut)\n",
                 o.audit.c_str(), static_cast<unsigned long long>(chain.open_report().torn_bytes));

  // Replay judges rate limits, cooldowns and change windows in decision time, so a day of
  // decisions replays as the day would have gone.
  ManualClock clock;
  SystemRunbookExecutor executor;
  Remediator remediator(*policy, clock, chain, executor, o.execute);
  BlastRadius blast;
  simdjson::dom::parser parser;
  const std::string name = o.decisions == "-" ? "stdin" : o.decisions;
  uint64_t line_no = 0, bad = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    Decision d;
    if (Status st = ParseDecision(parser, line, &d); !st.ok()) {
      ++bad;
      std::fprintf(stderr, "dnsight: remediate: %s:%llu: %s\n", name.c_str(),
                   static_cast<unsigned long long>(line_no), st.message().c_str());
      continue;
    }
    if (d.ts_ns > clock.NowNs()) clock.Set(d.ts_ns);
    RemediationContext ctx;
    if (d.alert) ctx.blast_radius = blast.Observe(d);
    if (!o.changes.empty()) {
      const std::vector<std::string> scope{d.entity, d.rollup};
      ctx.changes_known = true;
      ctx.in_maintenance = changes.MaintenanceAt(scope, d.ts_ns).has_value();
      if (auto c = changes.RecentChange(scope, d.ts_ns, kChangeLookbackNs)) {
        ctx.last_change_ns = c->ts_ns;
        ctx.last_change = c->kind + (c->id.empty() ? "" : " " + c->id);
      }
    }
    const ActionOutcome out = remediator.Handle(d, ctx);
    std::printf("%s\t%s\t%s\t%s\taction=%s\trules=%s\t%s\n", d.id.empty() ? "-" : d.id.c_str(),
                std::string(RemediationOutcomeName(out.outcome)).c_str(), d.klass.c_str(),
                d.entity.c_str(), out.action.empty() ? "-" : out.action.c_str(),
                RuleNumbers(out.rules).c_str(), out.reason.c_str());
    if (!out.audit_status.ok())
      std::fprintf(stderr, "dnsight: remediate: audit record not written: %s\n",
                   out.audit_status.message().c_str());
  }
  if (in->bad()) {
    std::fprintf(stderr, "dnsight: remediate: %s: read error\n", name.c_str());
    return 1;
  }
  std::fflush(stdout);

  std::string summary;
  const auto counts = remediator.Counts();
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    summary += (summary.empty() ? "" : ", ") +
               std::string(RemediationOutcomeName(static_cast<RemediationOutcome>(i))) + " " +
               std::to_string(counts[i]);
  }
  std::fprintf(stderr, "dnsight: remediate: %s (%s); %s now holds %llu records, last hash %s\n",
               summary.empty() ? "no decisions" : summary.c_str(),
               o.execute ? "execute" : "dry run", o.audit.c_str(),
               static_cast<unsigned long long>(chain.records()), chain.last_hash().c_str());
  if (bad > 0)
    std::fprintf(stderr, "dnsight: remediate: %llu malformed decision lines skipped\n",
                 static_cast<unsigned long long>(bad));
  return bad > 0 || remediator.audit_errors() > 0 ? 1 : 0;
}

void AddActCommands(CLI::App& app) {
  auto audit_path = std::make_shared<std::string>();
  auto* audit = app.add_subcommand("audit", "check the hash-chained remediation audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify", "verify an audit log: exit 0 intact, 1 tampered or torn, 2 unreadable");
  verify->add_option("file", *audit_path, "audit log (JSON lines)")->required();
  verify->callback([audit_path] { throw CLI::RuntimeError(AuditVerifyCommand(*audit_path)); });

  auto o = std::make_shared<RemediateOptions>();
  auto* cmd = app.add_subcommand(
      "remediate",
      "replay decisions through a remediation policy, with a hash-chained audit log "
      "(dry run unless --execute)");
  cmd->add_option("--policy", o->policy, "remediation policy (YAML)")->required();
  cmd->add_option("--decisions", o->decisions, "decisions.jsonl (- for stdin)")->required();
  cmd->add_option("--audit", o->audit, "audit log to append to (created when missing)")->required();
  cmd->add_option("--changes", o->changes,
                  "changes.jsonl: maintenance windows and recent changes as context");
  cmd->add_flag("--execute", o->execute,
                "really run actions whose policy says dry_run: false (default: dry run)");
  cmd->add_flag("--no-fsync", o->no_fsync, "do not fsync each audit record");
  cmd->callback([o] { throw CLI::RuntimeError(RemediateCommand(*o)); });
}

}  // namespace dnsight
